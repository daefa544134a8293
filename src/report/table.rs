//! `zombies list` for people: one row per parent, its zombies under it, a summary and a hint
//! per parent with the command that fixes it.

use std::io::{self, Write};

use tabled::builder::Builder;
use tabled::settings::Style as TableStyle;

use super::{age, container, exit_text, named, printable};
use crate::diagnose::{Diagnosis, Remedy};
use crate::proc::PidsSource;
use crate::style::Style;

pub fn write(
    out: &mut impl Write,
    diag: &Diagnosis,
    now_unix: u64,
    style: Style,
) -> io::Result<()> {
    if diag.parents.is_empty() {
        // A scan that could not see everything (hidepid: then pids_in_use is not the scan's
        // own count) cannot say there are none; stderr says what it could not see.
        let s = &diag.summary;
        let partial = s.unreadable > 0 || s.pids_in_use_source != PidsSource::Scan;
        let text = if partial {
            "No zombies among the processes you can see."
        } else {
            "No zombies."
        };
        writeln!(out, "{}", style.green(text))?;
        return write_summary(out, diag, style);
    }
    // Where each parent runs; the column only when some parent runs somewhere named.
    let places: Vec<Option<String>> = diag
        .parents
        .iter()
        .map(|p| p.container.as_ref().and_then(container::compact))
        .collect();
    let with_places = places.iter().any(Option::is_some);
    let mut b = Builder::default();
    let mut header = vec![
        "PID", "PPID", "COMMAND", "STATE", "SIGCHLD", "ZOMBIES", "AGE", "EXIT", "REMEDY",
    ];
    if with_places {
        header.push("CONTAINER");
    }
    b.push_record(header);
    for (p, place) in diag.parents.iter().zip(&places) {
        let oldest = p.zombies.iter().filter_map(|z| z.started_unix).min();
        let sigchld = if p.sigchld_blocked {
            format!("{} (blocked)", p.sigchld.as_str())
        } else {
            p.sigchld.as_str().to_string()
        };
        let mut row = vec![
            style.bold(&p.pid.to_string()),
            String::new(),
            style.bold(&printable(&p.comm)),
            p.state.clone(),
            sigchld,
            style.red(&p.zombies.len().to_string()),
            oldest
                .map(|t| age(now_unix.saturating_sub(t)))
                .unwrap_or_default(),
            String::new(),
            remedy_colored(p.recommended, style),
        ];
        if with_places {
            row.push(place.clone().unwrap_or_default());
        }
        b.push_record(row);
        for z in &p.zombies {
            let mut row = vec![
                format!("  └ {}", z.pid),
                z.ppid.to_string(),
                printable(&z.comm),
                "Z".to_string(),
                String::new(),
                String::new(),
                z.started_unix
                    .map(|t| age(now_unix.saturating_sub(t)))
                    .unwrap_or_default(),
                exit_text(z.exit_code, z.exit_signal),
                z.held_by_tracer
                    .as_ref()
                    .map(|t| style.yellow(&format!("held by tracer {}", named(t))))
                    .unwrap_or_default(),
            ];
            if with_places {
                row.push(String::new());
            }
            b.push_record(row);
        }
    }
    let mut table = b.build();
    table.with(TableStyle::blank());
    super::write_table(out, &table)?;
    writeln!(out)?;
    for p in &diag.parents {
        // The reason starts with the command name: "4242 nginx has a SIGCHLD handler ...".
        writeln!(
            out,
            "{} {}.",
            style.bold(&p.pid.to_string()),
            printable(&super::findings::reason(p))
        )?;
        let todo = match p.recommended {
            Remedy::FixInit => format!(
                "{}; to clear them now without a restart: zombies fix --reap --parent {}   (details: zombies explain {})",
                printable(&super::findings::init_todo(p.container.as_ref())),
                p.pid,
                p.pid
            ),
            Remedy::DetachTracer => {
                let tracers = p.holding_tracers();
                let pids = tracers
                    .iter()
                    .map(|(t, _)| t.pid.to_string())
                    .collect::<Vec<_>>()
                    .join(" ");
                format!(
                    "make {} let go: quit or detach that debugger or strace, or kill {pids}   (details: zombies explain {})",
                    tracers
                        .iter()
                        .map(|(t, _)| named(t))
                        .collect::<Vec<_>>()
                        .join(", "),
                    p.pid
                )
            }
            // Asleep in wait(): it may yet reap them, so killing it is not the first advice.
            Remedy::Ignore if p.in_wait => format!(
                "give it time; if they stay: zombies fix --kill-parent --parent {}   (details: zombies explain {})",
                p.pid, p.pid
            ),
            r => format!(
                "zombies fix --{} --parent {}   (details: zombies explain {})",
                r.as_str(),
                p.pid,
                p.pid
            ),
        };
        writeln!(out, "    {} {todo}", style.dim("→"))?;
    }
    writeln!(out)?;
    write_pid_limits(out, diag, style)?;
    write_summary(out, diag, style)
}

/// The cgroup PID limits the parents run under: zombies count against them until reaped.
fn write_pid_limits(out: &mut impl Write, diag: &Diagnosis, style: Style) -> io::Result<()> {
    if diag.pid_limits.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{}",
        style.bold(
            "PID limits (a fork fails with \"Resource temporarily unavailable\" when one is full):"
        )
    )?;
    for u in &diag.pid_limits {
        writeln!(out, "  {}", container::limit_line(u))?;
    }
    writeln!(out)
}

fn remedy_colored(r: Remedy, style: Style) -> String {
    match r {
        Remedy::SignalParent | Remedy::Reap => style.green(r.as_str()),
        Remedy::KillParent | Remedy::FixInit | Remedy::DetachTracer => style.yellow(r.as_str()),
        Remedy::Ignore => style.dim(r.as_str()),
    }
}

/// One line of system context: the PID budget is what a zombie flood exhausts.
fn write_summary(out: &mut impl Write, diag: &Diagnosis, style: Style) -> io::Result<()> {
    let s = &diag.summary;
    let mut line = format!(
        "{} zombie{} under {} parent{}; {} processes scanned",
        s.zombies,
        if s.zombies == 1 { "" } else { "s" },
        s.parents,
        if s.parents == 1 { "" } else { "s" },
        s.processes
    );
    if let Some(max) = s.pid_max {
        line.push_str(&match s.pids_in_use_source {
            PidsSource::Scan => format!("; PIDs in use {}/{}", s.pids_in_use, max),
            // Every thread takes a PID: the kernel's count is of tasks, and so is ours.
            PidsSource::Loadavg => format!(
                "; PIDs in use {}/{} (the kernel's count of all tasks, from loadavg)",
                s.pids_in_use, max
            ),
            PidsSource::VisibleOnly => format!(
                "; PIDs in use unknown ({} visible to you)/{}",
                s.pids_in_use, max
            ),
        });
    }
    if let Some(limit) = s.pids_limit {
        line.push_str(&format!(" (cgroup pids.max {limit})"));
    }
    if s.filtered_out > 0 {
        line.push_str(&format!("; {} zombies filtered out", s.filtered_out));
    }
    if s.ignored > 0 {
        line.push_str(&format!(
            "; {} zombies of ignored parents hidden (--all shows them)",
            s.ignored
        ));
    }
    writeln!(out, "{}", style.dim(&line))?;
    Ok(())
}

/// `list --pids`: zombie PIDs, one per line.
pub fn write_pids(out: &mut impl Write, diag: &Diagnosis) -> io::Result<()> {
    for p in &diag.parents {
        for z in &p.zombies {
            writeln!(out, "{}", z.pid)?;
        }
    }
    Ok(())
}

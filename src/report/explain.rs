//! `zombies explain PID` for people: the verdict, the /proc evidence behind it, the remedies.

use std::io::{self, Write};

use super::{age, container, exit_text, named, printable};
use crate::diagnose::{
    AdopterVerdict, Disposition, Explanation, ParentFinding, Remedy, SubjectKind, is_wait_wchan,
};
use crate::style::Style;

pub fn write(out: &mut impl Write, e: &Explanation, now_unix: u64, style: Style) -> io::Result<()> {
    let name = printable(&e.comm);
    match e.kind {
        SubjectKind::Zombie => {
            let z = e.zombie.as_ref();
            let exit = z.map_or("?".into(), |z| exit_text(z.exit_code, z.exit_signal));
            let started = z
                .and_then(|z| z.started_unix)
                .map(|t| format!(", started {} ago", age(now_unix.saturating_sub(t))))
                .unwrap_or_default();
            match z.and_then(|z| z.held_by_tracer.as_ref()) {
                Some(t) => writeln!(
                    out,
                    "{} {} {name} is a zombie: it has exited ({exit}{started}) and is held by its tracer {}: until the tracer waits for it or lets go, only the tracer can reap it, and its parent {} cannot, not even in wait().",
                    style.red("●"),
                    e.pid,
                    named(t),
                    e.ppid
                )?,
                None => writeln!(
                    out,
                    "{} {} {name} is a zombie: it has exited ({exit}{started}) and its parent {} has not reaped it with wait().",
                    style.red("●"),
                    e.pid,
                    e.ppid
                )?,
            }
            writeln!(
                out,
                "  It has released its memory and files and keeps only its PID, exit status and kernel task_struct; it cannot be killed, because it is already dead."
            )?;
        }
        SubjectKind::ExitedMainThread => {
            let run = match e.live_threads {
                Some(1) => "1 thread still runs".to_string(),
                Some(n) => format!("{n} threads still run"),
                None => "other threads still run".to_string(),
            };
            writeln!(
                out,
                "{} {} {name} is NOT a zombie: its main thread has exited but {run} (ps shows Zl).",
                style.green("●"),
                e.pid,
            )?;
            writeln!(
                out,
                "  The process is alive; it becomes a zombie only when its last thread exits. See /proc/{}/task.",
                e.pid
            )?;
        }
        SubjectKind::Parent => {
            let n = e.parent.as_ref().map_or(0, |p| p.zombies.len());
            let held = e.parent.as_ref().map_or(0, |p| p.held_by_tracers());
            let unreaped = if held == n {
                "that a tracer holds: it cannot reap them until the tracer lets go"
            } else {
                "it has not reaped"
            };
            writeln!(
                out,
                "{} {} {name} (state {}) holds {n} zombie child{} {unreaped}.",
                style.yellow("●"),
                e.pid,
                e.state,
                if n == 1 { "" } else { "ren" }
            )?;
        }
        SubjectKind::NoZombies => {
            writeln!(
                out,
                "{} {} {name} (state {}) is alive and holds no zombie children. Nothing to do.",
                style.green("●"),
                e.pid,
                e.state
            )?;
        }
    }
    if let Some(p) = &e.parent {
        writeln!(out)?;
        write_parent(out, p, style)?;
        write_pid_limits(out, e, p, style)?;
    }
    if !e.remedies.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", style.bold("Remedies"))?;
        for r in &e.remedies {
            let tag = if r.recommended {
                style.green(" (recommended)")
            } else {
                String::new()
            };
            writeln!(out, "  {}{tag}", style.bold(r.remedy.as_str()))?;
            if let Some(f) = &e.parent {
                let effect = super::findings::remedy_effect(f, r.remedy);
                let command = super::findings::remedy_command(f, r.remedy);
                writeln!(out, "      effect:  {}", printable(&effect))?;
                writeln!(out, "      command: {}", printable(&command))?;
            }
        }
    }
    Ok(())
}

fn write_parent(out: &mut impl Write, p: &ParentFinding, style: Style) -> io::Result<()> {
    let user = p
        .user
        .clone()
        .or(p.uid.map(|u| u.to_string()))
        .unwrap_or("?".into());
    writeln!(
        out,
        "{} {} {} (user {user}), holding {} zombie{}: {}",
        style.bold("Parent"),
        p.pid,
        printable(&p.comm),
        p.zombies.len(),
        if p.zombies.len() == 1 { "" } else { "s" },
        p.zombies
            .iter()
            .map(|z| z.pid.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    if let Some(c) = &p.cmdline {
        writeln!(out, "  cmdline: {}", printable(c))?;
    }
    writeln!(
        out,
        "{}",
        style.bold(&format!("Evidence from /proc/{}", p.pid))
    )?;
    let row = |out: &mut dyn Write, file: &str, field: &str, value: &str, meaning: &str| {
        writeln!(out, "  {file:<7} {field:<10} {value:<18} {meaning}")
    };
    row(out, "stat", "state", &p.state, state_meaning(&p.state))?;
    match &p.details {
        Some(d) => {
            let chld = libc::SIGCHLD;
            row(out, "status", "SigCgt", &d.sig_caught.hex(), if d.sig_caught.has(chld) {
                "SIGCHLD caught: a handler is installed"
            } else {
                "SIGCHLD not caught: no handler"
            })?;
            row(out, "status", "SigIgn", &d.sig_ignored.hex(), if d.sig_ignored.has(chld) {
                "SIGCHLD ignored: new children are auto-reaped, older zombies stay"
            } else {
                "SIGCHLD not ignored"
            })?;
            row(out, "status", "SigBlk", &d.sig_blocked.hex(), if d.sig_blocked.has(chld) {
                "SIGCHLD BLOCKED: it stays pending, no handler runs (unless the program reads it with signalfd or sigwaitinfo)"
            } else {
                "SIGCHLD not blocked"
            })?;
            let pending = d.sig_pending.has(chld) || d.sig_shared_pending.has(chld);
            row(
                out,
                "status",
                "SigPnd/Shd",
                &format!("{}/{}", short_hex(d.sig_pending.0), short_hex(d.sig_shared_pending.0)),
                if pending {
                    "SIGCHLD pending: generated but not yet delivered (blocked, or about to be)"
                } else {
                    "SIGCHLD not pending"
                },
            )?;
            let traced = p.tracer.as_ref().map(|t| {
                format!("traced by {}: it sees each signal first and may hold it (never SIGKILL)", named(t))
            });
            row(
                out,
                "status",
                "TracerPid",
                &d.tracer_pid.to_string(),
                traced.as_deref().unwrap_or("not traced"),
            )?;
            let nspid = d.nspid.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" ");
            row(out, "status", "NSpid", &nspid, if p.pid_ns_init {
                "PID 1 of its PID namespace: it adopts orphans and must reap them"
            } else {
                "not the init of its PID namespace"
            })?;
            row(out, "wchan", "", p.wchan.as_deref().unwrap_or("-"), wchan_meaning(p.wchan.as_deref()))?;
            row(out, "cgroup", "", &printable(p.cgroup.as_deref().unwrap_or("-")), &container::describe(p.container.as_ref()))?;
        }
        None => writeln!(
            out,
            "  {}",
            style.yellow("status unreadable (permission denied, or the parent exited): run as root for the evidence")
        )?,
    }
    let disposition = match p.sigchld {
        Disposition::Caught => "caught",
        Disposition::Ignored => "ignored",
        Disposition::Default => "default",
        Disposition::Unknown => "unknown",
    };
    writeln!(out, "{}", style.bold("Diagnosis"))?;
    writeln!(
        out,
        "  SIGCHLD {disposition}: {}.",
        printable(&super::findings::reason(p))
    )?;
    let adopter = match (p.adopter.pid, &p.adopter.comm) {
        (Some(pid), Some(c)) => format!("{pid} ({})", printable(c)),
        (Some(pid), None) => pid.to_string(),
        _ => "unknown".into(),
    };
    writeln!(
        out,
        "  If the parent died, the adopter would be {adopter}: {}.",
        super::findings::adopter_note(&p.adopter)
    )?;
    // A parent told to fix-init for its adopter's sake already says so in its reason.
    if p.adopter.verdict == AdopterVerdict::NotReaping && p.recommended != Remedy::FixInit {
        writeln!(
            out,
            "  That adopter is not reaping its own zombies, so killing the parent would only move these there."
        )?;
    }
    // The reason already says it when a tracer holds them all.
    let held = p.held_by_tracers();
    if held > 0 && held < p.zombies.len() {
        let tracers = p
            .holding_tracers()
            .iter()
            .map(|(t, _)| named(t))
            .collect::<Vec<_>>()
            .join(", ");
        writeln!(
            out,
            "  {held} of its zombies {} traced by {tracers}: no adopter could reap {} either until the tracer lets go.",
            if held == 1 { "is" } else { "are" },
            if held == 1 { "it" } else { "them" }
        )?;
    }
    Ok(())
}

/// The limits a fork of the parent runs into, how full each is and how many zombies take part:
/// a fork fails with EAGAIN ("Resource temporarily unavailable") when any is full, which is
/// often taken for a memory problem.
fn write_pid_limits(
    out: &mut impl Write,
    e: &Explanation,
    p: &ParentFinding,
    style: Style,
) -> io::Result<()> {
    let s = &e.summary;
    writeln!(
        out,
        "{}",
        style.bold("PID limits (a fork fails with EAGAIN, \"Resource temporarily unavailable\", when one is full)")
    )?;
    let row = |out: &mut dyn Write, what: &str, used: &str, share: &str, meaning: &str| {
        writeln!(out, "  {what:<18} {used:<16} {share:<6} {meaning}")
    };
    // (what, percent full) of each limit measured, for the verdict.
    let mut fullest: Vec<(String, f64)> = Vec::new();
    for u in &e.pid_limits {
        let who = container::compact_list(&u.containers);
        let held = format!(
            "{}{}; {} of them zombie{}",
            printable(&u.limit.cgroup),
            if who.is_empty() {
                String::new()
            } else {
                format!(" ({who})")
            },
            u.zombies,
            if u.zombies == 1 { "" } else { "s" }
        );
        match u.limit.current {
            Some(cur) => {
                row(
                    out,
                    "cgroup pids.max",
                    &format!("{cur}/{}", u.limit.max),
                    &container::pct(cur, u.limit.max),
                    &held,
                )?;
                fullest.push((
                    format!("the pids.max of cgroup {}", printable(&u.limit.cgroup)),
                    crate::diagnose::percent(cur, u.limit.max).unwrap_or(0.0),
                ));
            }
            None => row(
                out,
                "cgroup pids.max",
                &format!("?/{}", u.limit.max),
                "?",
                &held,
            )?,
        }
    }
    if e.pid_limits.is_empty() && p.pid_limit_unknown {
        row(
            out,
            "cgroup pids.max",
            "?",
            "?",
            "unknown: its cgroup path is relative to this cgroup namespace, which could not be placed under --sys (the warning on stderr says why)",
        )?;
    } else if e.pid_limits.is_empty() {
        row(
            out,
            "cgroup pids.max",
            "-",
            "",
            "none set at or above its cgroup, or none readable (--sys names the sysfs to read)",
        )?;
    }
    let tasks = match s.pids_in_use_source {
        crate::proc::PidsSource::VisibleOnly => format!("{}+", s.pids_in_use),
        _ => s.pids_in_use.to_string(),
    };
    let zombies = format!(
        "{} zombie{} among them",
        s.zombies,
        if s.zombies == 1 { "" } else { "s" }
    );
    for (name, max, scope) in [
        (
            "kernel.threads-max",
            s.threads_max,
            "every task (thread) of the machine",
        ),
        ("kernel.pid_max", s.pid_max, "the PIDs of its PID namespace"),
    ] {
        match max {
            Some(max) => {
                row(
                    out,
                    name,
                    &format!("{tasks}/{max}"),
                    &container::pct(s.pids_in_use, max),
                    &format!("{scope}; {zombies}"),
                )?;
                fullest.push((
                    name.to_string(),
                    crate::diagnose::percent(s.pids_in_use, max).unwrap_or(0.0),
                ));
            }
            None => row(out, name, "?", "", &format!("{scope}; not readable"))?,
        }
    }
    let limits = format!("/proc/{}/limits", p.pid);
    row(
        out,
        "RLIMIT_NPROC",
        "",
        "",
        &format!(
            "the tasks of its user (ulimit -u, \"Max processes\" in {limits}; root and CAP_SYS_RESOURCE are exempt); not counted here"
        ),
    )?;
    // Half full is where a limit deserves a sentence; below, the rows say enough.
    match fullest.iter().max_by(|a, b| a.1.total_cmp(&b.1)) {
        Some((what, pct)) if *pct >= NEAR_FULL_PCT => writeln!(
            out,
            "  The fullest is {what}, at {}. When a limit is full, fork() and clone() fail with EAGAIN, which shells print as \"fork: Resource temporarily unavailable\" (bash: \"fork: retry\"): no memory is missing. Each zombie holds one PID of each limit until it is reaped.",
            container::pct_text(*pct)
        )?,
        Some((what, pct)) => writeln!(
            out,
            "  None is near full (the fullest, {what}, is at {}): these zombies cost PIDs, but no fork fails for them yet.",
            container::pct_text(*pct)
        )?,
        None => {}
    }
    Ok(())
}

/// How full a PID limit must be for explain to single it out.
const NEAR_FULL_PCT: f64 = 50.0;

fn short_hex(v: u64) -> String {
    format!("{v:x}")
}

fn state_meaning(s: &str) -> &'static str {
    match s {
        "R" => "running",
        "S" => "sleeping (interruptible): signals are delivered to it at once",
        "D" => "uninterruptible sleep (usually I/O): signals wait until it wakes",
        "T" => "STOPPED (SIGSTOP/SIGTSTP): it cannot reap until continued with SIGCONT",
        "t" => "stopped by a tracer (debugger): it cannot reap until the tracer lets go",
        "Z" => "itself a zombie",
        "I" => "idle kernel thread",
        _ => "",
    }
}

fn wchan_meaning(w: Option<&str>) -> &'static str {
    match w {
        Some(w) if is_wait_wchan(w) => {
            "sleeping in wait(): it reaps each child it waits for, unless a tracer holds it"
        }
        Some(w) if w.contains("sigsuspend") || w.contains("sigtimedwait") => "waiting for a signal",
        Some(w) if w.contains("poll") || w.contains("select") => {
            "waiting in poll/select/epoll, not in wait()"
        }
        Some(w) if w.contains("nanosleep") => "sleeping on a timer, not in wait()",
        Some(_) => "the kernel function it sleeps in; not a wait() call",
        None => "running, or hidden from this user",
    }
}

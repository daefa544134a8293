//! `zombies watch` in words and as JSON Lines: one line per event, as it happens, then the
//! summary. Times are UTC, to the millisecond: the JSON's `time` is unix seconds.
//!
//! JSON Lines, one object per line, each with `"schema": 1` (the version of every JSON zombies
//! prints), `"version": 1` (watch's own, older, kept) and `"event"` (fields are only ever
//! added):
//!
//! ```text
//! {"version":1,"event":"start","time":T,"mode":"connector|scan","events":"exits-only|all"|null,
//!  "precision_ms":N,"why_scan":string|null}
//! {"version":1,"event":"zombie","time":T,"pid","comm","ppid","parent_comm","uid","user",
//!  "exit_code":int|null,"signal":"SIGKILL"|null,"core_dumped":bool,"existing":bool,"age_ms":int|null,
//!  "container":{"runtime","id","pod_uid","pod_namespace","pod_name","unit"}|null}
//! {"version":1,"event":"reparented","time":T,"pid","from","from_comm","to","to_comm"}
//! {"version":1,"event":"reaped","time":T,"pid","by":int|null,"by_comm","zombie_ms","existing":bool}
//! {"version":1,"event":"exit","time":T,"pid","exit_code","signal"}        (--all-exits)
//! {"version":1,"event":"lost","time":T}       (events were lost; /proc was read again)
//! {"version":1,"event":"summary","time":T,"seconds","seen","reaped","remaining",
//!  "slowest":{"pid","by","by_comm","zombie_ms"}|null,
//!  "parents":[{"pid","comm","zombies","reaped","per_minute"}]}
//! ```

use std::io::{self, Write};

use serde_json::{Value, json};

use super::{duration, plural, printable};
use crate::proc::connector::{self, Unavailable};
use crate::proc::signals;
use crate::proc::stat::ExitStatus;
use crate::style::Style;
use crate::watch::{Event, Mode, Named, StateError, Summary};

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::Refused(r) => write!(f, "--state: {}", super::state::refusal(r)),
            StateError::Trouble(t) => {
                write!(
                    f,
                    "--state: death times not kept: {}",
                    super::state::trouble(t)
                )
            }
        }
    }
}

/// Writes one event as a line of text.
pub fn write_text(out: &mut impl Write, e: &Event, style: Style) -> io::Result<()> {
    match e {
        Event::Start { time, mode } => writeln!(
            out,
            "{} {} (times are UTC); Ctrl-C to stop",
            date_time(*time),
            style.dim(&mode_text(mode))
        )?,
        Event::Zombie {
            time,
            zombie,
            parent,
            user,
            status,
            existing,
            age,
            container,
            ..
        } => {
            let what = if *existing {
                "zombie (already one when the watch began)".to_string()
            } else {
                "zombie".to_string()
            };
            let age = age
                .map(|a| format!(", a zombie for {}", duration(a)))
                .unwrap_or_default();
            let user = user
                .as_deref()
                .map(|u| format!(", user {}", printable(u)))
                .unwrap_or_default();
            let place = container
                .as_ref()
                .and_then(super::container::compact)
                .map(|c| format!(", in {c}"))
                .unwrap_or_default();
            writeln!(
                out,
                "{} {} {} of {}, {}{user}{place}{age}",
                clock(*time),
                style.red(&format!("● {what}")),
                style.bold(&named(zombie)),
                named(parent),
                exit_text(*status)
            )?
        }
        Event::Reparented { time, pid, from, to } => writeln!(
            out,
            "{} {} {pid}: its parent {} died; adopted by {}",
            clock(*time),
            style.yellow("↪ adopted"),
            named(from),
            named(to)
        )?,
        Event::Reaped {
            time,
            pid,
            by,
            zombie_for,
            existing,
        } => writeln!(
            out,
            "{} {} {pid} by {} after {}{}",
            clock(*time),
            style.green("✔ reaped"),
            by.as_ref()
                .map(named)
                .unwrap_or_else(|| "its adopter".to_string()),
            duration(*zombie_for),
            if *existing {
                " at least (it was a zombie before the watch began)"
            } else {
                ""
            }
        )?,
        Event::Exited { time, pid, status } => writeln!(
            out,
            "{} {} {pid}, {}, reaped at once",
            clock(*time),
            style.dim("· exit"),
            exit_text(Some(*status))
        )?,
        Event::Lost { time } => writeln!(
            out,
            "{} {}",
            clock(*time),
            style.yellow(
                "! exit events were lost (the kernel's buffer overflowed); /proc was read again, so zombies found now are dated when found"
            )
        )?,
        Event::Summary(s) => write_summary(out, s, style)?,
    }
    Ok(())
}

fn write_summary(out: &mut impl Write, s: &Summary, style: Style) -> io::Result<()> {
    writeln!(
        out,
        "{} {}: {} seen, {} reaped, {} still there",
        clock(s.time),
        style.bold(&format!("watched for {}", duration(s.watched))),
        plural(s.seen, "zombie", "zombies"),
        s.reaped,
        s.remaining
    )?;
    if let Some((pid, by, d)) = &s.slowest {
        writeln!(
            out,
            "  slowest reap: {pid} by {}, after {}",
            by.as_ref()
                .map(named)
                .unwrap_or_else(|| "its adopter".to_string()),
            duration(*d)
        )?;
    }
    for p in &s.parents {
        writeln!(
            out,
            "  {}: {}, {} reaped ({:.1} a minute)",
            named(&p.parent),
            plural(p.zombies, "zombie", "zombies"),
            p.reaped,
            per_minute(p.zombies, s)
        )?;
    }
    Ok(())
}

/// Writes one event as a JSON line.
pub fn write_json(out: &mut impl Write, e: &Event) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &json_of(e))?;
    writeln!(out)
}

fn json_of(e: &Event) -> Value {
    let mut v = match e {
        Event::Start { time, mode } => {
            let (name, events, precision, why) = match mode {
                Mode::Connector(m) => (
                    "connector",
                    Some(match m {
                        connector::Mode::ExitsOnly => "exits-only",
                        connector::Mode::AllEvents => "all",
                    }),
                    1,
                    None,
                ),
                Mode::Scan { interval, why } => (
                    "scan",
                    None,
                    interval.as_millis() as u64,
                    why.as_ref().map(unavailable),
                ),
            };
            json!({"event": "start", "time": time, "mode": name, "events": events,
                   "precision_ms": precision, "why_scan": why})
        }
        Event::Zombie {
            time,
            zombie,
            parent,
            uid,
            user,
            status,
            existing,
            age,
            container,
        } => {
            let (code, signal, core) = status_fields(*status);
            json!({"event": "zombie", "time": time, "pid": zombie.pid, "comm": zombie.comm,
                   "ppid": parent.pid, "parent_comm": parent.comm, "uid": uid, "user": user,
                   "exit_code": code, "signal": signal, "core_dumped": core,
                   "existing": existing, "age_ms": age.map(|a| a.as_millis() as u64),
                   "container": container})
        }
        Event::Reparented {
            time,
            pid,
            from,
            to,
        } => {
            json!({"event": "reparented", "time": time, "pid": pid, "from": from.pid,
                   "from_comm": from.comm, "to": to.pid, "to_comm": to.comm})
        }
        Event::Reaped {
            time,
            pid,
            by,
            zombie_for,
            existing,
        } => json!({"event": "reaped", "time": time, "pid": pid,
                    "by": by.as_ref().map(|b| b.pid),
                    "by_comm": by.as_ref().and_then(|b| b.comm.clone()),
                    "zombie_ms": zombie_for.as_millis() as u64, "existing": existing}),
        Event::Exited { time, pid, status } => {
            let (code, signal, core) = status_fields(Some(*status));
            json!({"event": "exit", "time": time, "pid": pid, "exit_code": code,
                   "signal": signal, "core_dumped": core})
        }
        Event::Lost { time } => json!({"event": "lost", "time": time}),
        Event::Summary(s) => json!({
            "event": "summary", "time": s.time, "seconds": s.watched.as_secs_f64(),
            "seen": s.seen, "reaped": s.reaped, "remaining": s.remaining,
            "slowest": s.slowest.as_ref().map(|(pid, by, d)| json!({
                "pid": pid, "by": by.as_ref().map(|b| b.pid),
                "by_comm": by.as_ref().and_then(|b| b.comm.clone()),
                "zombie_ms": d.as_millis() as u64})),
            "parents": s.parents.iter().map(|p| json!({
                "pid": p.parent.pid, "comm": p.parent.comm, "zombies": p.zombies,
                "reaped": p.reaped, "per_minute": per_minute(p.zombies, s)})).collect::<Vec<_>>(),
        }),
    };
    if let Value::Object(m) = &mut v {
        m.insert("version".into(), json!(1));
        m.insert("schema".into(), json!(crate::report::json::SCHEMA));
    }
    v
}

/// (exit code, signal name, core dumped) of a status.
fn status_fields(s: Option<ExitStatus>) -> (Option<i32>, Option<String>, bool) {
    match s {
        Some(ExitStatus::Code(c)) => (Some(c), None, false),
        Some(ExitStatus::Signal { signal, core }) => (None, Some(signals::name(signal)), core),
        None => (None, None, false),
    }
}

fn exit_text(s: Option<ExitStatus>) -> String {
    match s {
        Some(ExitStatus::Code(c)) => format!("exit {c}"),
        Some(ExitStatus::Signal { signal, core }) => format!(
            "killed by {}{}",
            signals::name(signal),
            if core { " (core dumped)" } else { "" }
        ),
        None => "exit status unknown".to_string(),
    }
}

/// Zombies a minute, over the time watched.
fn per_minute(n: usize, s: &Summary) -> f64 {
    let minutes = s.watched.as_secs_f64() / 60.0;
    if minutes > 0.0 {
        (n as f64 / minutes * 10.0).round() / 10.0
    } else {
        0.0
    }
}

/// How the watch works, for its first line.
fn mode_text(m: &Mode) -> String {
    match m {
        Mode::Connector(_) => {
            "watching the kernel's exit events (proc connector): death and reap times are exact"
                .to_string()
        }
        Mode::Scan { interval, why } => format!(
            "watching by scanning /proc every {}: times are within {}{}",
            duration(*interval),
            duration(*interval),
            why.as_ref()
                .map(|w| format!(" ({})", unavailable(w)))
                .unwrap_or_default()
        ),
    }
}

/// Why the kernel's exit events cannot be had here.
fn unavailable(u: &Unavailable) -> String {
    match u {
        Unavailable::NotInKernel(_) => {
            "this kernel has no proc connector (CONFIG_PROC_EVENTS)".to_string()
        }
        Unavailable::NeedsCapNetAdmin => {
            "exit events need CAP_NET_ADMIN on kernels before 6.6: run as root for exact times"
                .to_string()
        }
        Unavailable::Ignored => {
            "the kernel sends exit events only to the initial PID and user namespace: run watch on the host for exact times".to_string()
        }
        Unavailable::Failed(call, e) => format!("{call} failed: {}", e.desc()),
    }
}

fn named(n: &Named) -> String {
    match &n.comm {
        Some(c) => format!("{} ({})", n.pid, printable(c)),
        None => n.pid.to_string(),
    }
}

/// HH:MM:SS.mmm, UTC.
fn clock(unix: f64) -> String {
    let ms = (unix * 1000.0).round() as i64;
    let secs = ms.div_euclid(1000);
    let day = secs.rem_euclid(86400);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day / 3600,
        day % 3600 / 60,
        day % 60,
        ms.rem_euclid(1000)
    )
}

/// YYYY-MM-DD HH:MM:SS.mmm UTC (the days-to-civil algorithm of H. Hinnant).
fn date_time(unix: f64) -> String {
    let days = (unix / 86400.0).floor() as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {}", clock(unix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc() {
        assert_eq!(date_time(0.0), "1970-01-01 00:00:00.000");
        assert_eq!(date_time(1_795_950_245.123), "2026-11-29 11:04:05.123");
        assert_eq!(clock(86_399.999_6), "00:00:00.000");
    }

    #[test]
    fn every_line_has_the_version_and_the_event() {
        let line = json_of(&Event::Lost { time: 1.5 });
        assert_eq!(line["version"], 1);
        assert_eq!(line["event"], "lost");
    }
}

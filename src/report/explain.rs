//! `zombies explain PID` for people: the verdict, the /proc evidence behind it, the remedies.

use std::io::{self, Write};

use super::{age, exit_text, named, printable};
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
            row(out, "cgroup", "", p.cgroup.as_deref().unwrap_or("-"), "the service or container it belongs to")?;
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

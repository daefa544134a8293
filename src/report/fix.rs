//! `zombies fix` for people: the plan (for --dry-run and the confirmation question), and the
//! result, one block per parent with what was sent, what happened and what to try next.

use std::io::{self, Write};

use serde::ser::{Serialize, SerializeStruct, Serializer};

use super::findings::{adopter_outcome, reason as finding_reason};
use super::{duration, plural, printable};
use crate::diagnose::{AdopterVerdict, Disposition, ParentFinding, Remedy};
use crate::remedy::{
    ActError, Advice, Choice, FixReport, NextStep, Note, ObservedAdopter, Outcome, ParentResult,
    Refusal, TargetError,
};
use crate::style::Style;

/// The plan: what will be sent to whom, and what is refused and why.
pub fn write_plan(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    if r.parents.is_empty() {
        return write_nothing(out, r, style);
    }
    let acting: Vec<&ParentResult> = r.parents.iter().filter(|p| p.acts()).collect();
    let zombies: usize = acting.iter().map(|p| p.total).sum();
    if acting.is_empty() {
        writeln!(
            out,
            "{} {}: nothing to send or write; {} holding {}:",
            style.bold("Plan:"),
            r.remedy.as_str(),
            plural(r.parents.len(), "parent", "parents"),
            plural(r.summary.zombies, "zombie", "zombies"),
        )?;
    } else {
        writeln!(
            out,
            "{} {} on {} holding {} (verify within {})",
            style.bold("Plan:"),
            r.remedy.as_str(),
            plural(acting.len(), "parent", "parents"),
            plural(zombies, "zombie", "zombies"),
            duration(std::time::Duration::from_millis(r.timeout_ms))
        )?;
    }
    for p in &r.parents {
        let owner = match (&p.user, p.uid) {
            (Some(u), _) => format!(", user {u}"),
            (None, Some(uid)) => format!(", uid {uid}"),
            _ => String::new(),
        };
        let head = format!(
            "{}{owner}, {}",
            who(p),
            plural(p.total, "zombie", "zombies")
        );
        let reason = note(p, r).unwrap_or_default();
        match p.outcome {
            Outcome::Planned => {
                // With --auto the remedy differs from parent to parent: name it.
                let remedy = if r.remedy == Choice::Auto {
                    format!("{}: ", p.remedy.as_str())
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "  {} {}: {remedy}{reason}",
                    style.green("→"),
                    style.bold(&head)
                )?;
                write_also_hides(out, p, "the entry also hides", style)?;
            }
            Outcome::Refused => writeln!(
                out,
                "  {} {}: {} {}",
                style.red("✘"),
                style.bold(&head),
                style.red("refused:"),
                reason
            )?,
            Outcome::Advised => writeln!(
                out,
                "  {} {}: {} {}",
                style.yellow("•"),
                style.bold(&head),
                style.yellow("not acted on:"),
                reason
            )?,
            Outcome::Ignored => writeln!(
                out,
                "  {} {}: {}",
                style.dim("="),
                style.bold(&head),
                reason
            )?,
            Outcome::Cleared | Outcome::Remaining => {}
        }
    }
    write_skipped(out, r, style)
}

/// The footer of a dry run: always there, so a dry run never ends without saying it was one.
pub fn write_dry_run_footer(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    if r.has_actions() {
        writeln!(
            out,
            "{} nothing was sent or written. Run the same command without --dry-run to apply it (add --yes when not on a terminal).",
            style.bold("Dry run:")
        )
    } else if !r.parents.is_empty() {
        writeln!(
            out,
            "{} nothing was sent or written, and fix would not act on any of these parents: follow the advice above.",
            style.bold("Dry run:")
        )
    } else {
        writeln!(
            out,
            "{} nothing was sent or written.",
            style.bold("Dry run:")
        )
    }
}

/// The result, after acting.
pub fn write(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    if r.parents.is_empty() {
        return write_nothing(out, r, style);
    }
    for p in &r.parents {
        write_parent(out, p, r, style)?;
    }
    write_skipped(out, r, style)?;
    let s = &r.summary;
    let mut line = if s.zombies > 0 && r.parents.iter().any(|p| p.outcome != Outcome::Ignored) {
        format!(
            "Cleared {} of {}",
            s.cleared,
            plural(s.zombies, "zombie", "zombies")
        )
    } else {
        String::new()
    };
    if s.remaining > 0 && !line.is_empty() {
        line.push_str(&format!(
            "; {} {}",
            s.remaining,
            if s.remaining == 1 {
                "remains"
            } else {
                "remain"
            }
        ));
    }
    if s.refused > 0 {
        if !line.is_empty() {
            line.push_str("; ");
        }
        line.push_str(&format!(
            "{} refused",
            plural(s.refused, "parent", "parents")
        ));
    }
    let ignored = r
        .parents
        .iter()
        .filter(|p| p.outcome == Outcome::Ignored)
        .count();
    if ignored > 0 {
        if !line.is_empty() {
            line.push_str("; ");
        }
        line.push_str(&format!(
            "{} on the ignore list",
            plural(ignored, "parent", "parents")
        ));
    }
    if !line.is_empty() {
        line.push('.');
        let line = if r.success {
            style.green(&line)
        } else {
            style.red(&line)
        };
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn write_parent(
    out: &mut impl Write,
    p: &ParentResult,
    r: &FixReport,
    style: Style,
) -> io::Result<()> {
    let who = style.bold(&who(p));
    let reason = note(p, r).unwrap_or_default();
    match p.outcome {
        Outcome::Cleared if p.reaped_on_its_own => {
            writeln!(
                out,
                "{} {who}: reaped its {} on its own within the --settle time ({}); nothing was sent",
                style.green("✔"),
                plural(p.total, "zombie", "zombies"),
                duration(ms(r.settle_ms))
            )?;
            return Ok(());
        }
        Outcome::Cleared => writeln!(
            out,
            "{} {who}: {} {} {} of {} in {}",
            style.green("✔"),
            p.remedy.as_str(),
            style.green("cleared"),
            p.cleared,
            plural(p.total, "zombie", "zombies"),
            took(p.elapsed_ms.unwrap_or(0))
        )?,
        Outcome::Remaining => writeln!(
            out,
            "{} {who}: {} cleared {} of {}; {}",
            style.red("✘"),
            p.remedy.as_str(),
            style.red(&p.cleared.to_string()),
            plural(p.total, "zombie", "zombies"),
            if p.signals.is_empty() {
                "nothing was sent".to_string()
            } else {
                format!("gave up after {}", duration(ms(r.timeout_ms)))
            }
        )?,
        Outcome::Refused => {
            writeln!(
                out,
                "{} {who}: {} {reason}",
                style.red("✘"),
                style.red("refused:")
            )?;
            return Ok(());
        }
        Outcome::Advised => {
            writeln!(
                out,
                "{} {who}: {} {reason}",
                style.yellow("•"),
                style.yellow("not acted on:")
            )?;
            return Ok(());
        }
        Outcome::Ignored => {
            writeln!(out, "{} {who}: {reason}", style.green("✔"))?;
            write_also_hides(out, p, "the entry also hides", style)?;
            return Ok(());
        }
        Outcome::Planned => {
            writeln!(out, "{} {who}: {reason}", style.dim("→"))?;
            return Ok(());
        }
    }
    if !p.signals.is_empty() {
        let sent: Vec<String> = p
            .signals
            .iter()
            .map(|s| {
                if s.at_ms == 0 {
                    s.signal.to_string()
                } else {
                    format!("{} at {}", s.signal, duration(ms(s.at_ms)))
                }
            })
            .collect();
        writeln!(out, "    sent {}", sent.join(", "))?;
    }
    if let Some(paused) = p.paused_ms {
        writeln!(
            out,
            "    held by ptrace for {}; it carries on (a later waitpid() of these children gets ECHILD)",
            took(paused)
        )?;
    }
    if let Some(w) = p.warning {
        writeln!(out, "    {} {}", style.yellow("note:"), warning(w))?;
    }
    if let Some(e) = &p.exited {
        writeln!(
            out,
            "    it exited on {} after {}",
            e.signal,
            took(e.after_ms)
        )?;
    }
    if let Some(a) = &p.adopter {
        let name = match &a.comm {
            Some(c) => format!("{} ({})", a.pid, printable(c)),
            None => a.pid.to_string(),
        };
        let what = if a.namespace_init {
            "PID 1 of its namespace"
        } else {
            "a child subreaper"
        };
        let verdict = if a.reaped {
            style.green("and it reaped them")
        } else {
            style.red("and it did not reap them")
        };
        writeln!(out, "    adopted by {name}, {what}, {verdict}")?;
    }
    if p.adopter.is_none() && p.exited.is_some() && p.outcome == Outcome::Cleared {
        writeln!(
            out,
            "    its zombies were reaped at once, before fix could see who adopted them"
        )?;
    }
    if let Some(e) = &p.error {
        writeln!(out, "    {} {}", style.red("error:"), error(p, e))?;
    }
    if p.outcome == Outcome::Remaining {
        let left: Vec<String> = p
            .zombies
            .iter()
            .filter(|z| !z.cleared)
            .map(|z| z.pid.to_string())
            .collect();
        writeln!(out, "    still zombies: {}", left.join(" "))?;
    }
    if let Some(n) = &p.next {
        writeln!(out, "    {} {}", style.bold("next:"), next(p, n, r))?;
    }
    Ok(())
}

/// The other parents an ignore-list entry hides: "4243 (nginx, 2 zombies), ...".
fn write_also_hides(
    out: &mut impl Write,
    p: &ParentResult,
    lead: &str,
    style: Style,
) -> io::Result<()> {
    if p.also_hides.is_empty() {
        return Ok(());
    }
    let others = p
        .also_hides
        .iter()
        .map(|h| {
            format!(
                "{} ({}, {})",
                h.pid,
                printable(&h.comm),
                plural(h.zombies, "zombie", "zombies")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    writeln!(out, "    {} {lead}: {others}", style.yellow("!"))
}

/// "<1ms" rather than a surprising "0ms".
fn took(v: u64) -> String {
    match v {
        0 => "<1ms".to_string(),
        v => duration(ms(v)),
    }
}

fn ms(v: u64) -> std::time::Duration {
    std::time::Duration::from_millis(v)
}

fn write_nothing(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    writeln!(out, "{}", style.green("No zombies to fix."))?;
    write_skipped(out, r, style)
}

fn write_skipped(out: &mut impl Write, r: &FixReport, style: Style) -> io::Result<()> {
    if r.summary.skipped_ignored > 0 {
        writeln!(
            out,
            "{}",
            style.dim(&format!(
                "{} on the ignore list {} left alone (`zombies list --all` shows them).",
                plural(r.summary.skipped_ignored, "parent", "parents"),
                r.ignore_file.as_deref().unwrap_or("")
            ))
        )?;
    }
    Ok(())
}

// The words of fix: every sentence the plan and the result say about a parent, for people
// and in the JSON (`reason`, `error`, `next`).

/// "4242 (nginx)", with the name made safe for a terminal.
fn who(p: &ParentResult) -> String {
    format!("{} ({})", p.pid, printable(&p.comm))
}

/// "4242 (gdb)" for a process that may have no known name.
fn named(pid: i32, comm: Option<&str>) -> String {
    match comm {
        Some(c) => format!("{pid} ({})", printable(c)),
        None => pid.to_string(),
    }
}

/// The JSON `reason`: why refused, the advice, what will be sent, or what ignore did.
fn note(p: &ParentResult, r: &FixReport) -> Option<String> {
    let list = r.ignore_file.as_deref().unwrap_or("");
    let f = &p.finding;
    Some(match p.note.as_ref()? {
        Note::Plan => plan(f, p.remedy, r),
        Note::Refused(refusal) => refusal_text(*refusal, f),
        Note::Advice(Advice::IgnoreForNow) => {
            format!("recommended: ignore for now. {}", finding_reason(f))
        }
        Note::Advice(Advice::Ignore) => format!(
            "recommended: ignore. {}; to stop alerting on it: zombies fix --ignore --parent {}",
            finding_reason(f),
            f.pid
        ),
        Note::Advice(Advice::FixInit) => {
            format!("recommended: fix-init. {}", finding_reason(f))
        }
        Note::Advice(Advice::DetachTracer) => format!(
            "recommended: detach-tracer. {}",
            refusal_text(Refusal::HeldByTracer, f)
        ),
        Note::AlreadyIgnored => format!("{} is already on the ignore list {list}", who(p)),
        Note::WillIgnore { key } => format!(
            "add {} to the ignore list {list}; no signal is sent",
            printable(key)
        ),
        Note::Ignored { key } => format!("added {} to the ignore list {list}", printable(key)),
        Note::ReapedOnItsOwn => format!(
            "its parent reaped them on its own within the --settle time ({}): nothing was sent",
            duration(ms(r.settle_ms))
        ),
    })
}

/// What will be sent, in one line.
fn plan(f: &ParentFinding, remedy: Remedy, r: &FixReport) -> String {
    let stopped = matches!(f.state.as_str(), "T" | "t");
    let mut s = match remedy {
        Remedy::Reap => {
            let young = r_young(f, r);
            let mut s = format!(
                "held by ptrace, it calls wait4() for each zombie{} and carries on; its own later waitpid() of them gets ECHILD",
                if young > 0 {
                    format!(
                        " older than --min-age {} ({young} younger left alone)",
                        duration(ms(r.min_age_ms))
                    )
                } else {
                    String::new()
                }
            );
            if f.pid_ns_init {
                s.push_str("; PID 1 of its namespace is not killed: the container stays up");
            }
            s
        }
        Remedy::SignalParent => {
            let mut s = if stopped {
                "SIGCONT (it is stopped), then SIGCHLD".to_string()
            } else {
                "SIGCHLD".to_string()
            };
            if f.sigchld != Disposition::Caught || f.sigchld_blocked {
                s.push_str(&format!(
                    "; unlikely to help: SIGCHLD is {} in it",
                    if f.sigchld_blocked {
                        "blocked"
                    } else {
                        f.sigchld.as_str()
                    }
                ));
            }
            s
        }
        _ => {
            let mut s = format!(
                "SIGTERM{}, SIGKILL if still alive after {}; {}",
                if stopped { " and SIGCONT" } else { "" },
                duration(ms(r.grace_ms)),
                printable(&adopter_outcome(&f.adopter))
            );
            if f.adopter.verdict == AdopterVerdict::ShouldReap {
                s.push_str(", unless a subreaper is closer");
            }
            s
        }
    };
    let held = f.held_by_tracers();
    if held > 0 {
        let tracers = f
            .holding_tracers()
            .iter()
            .map(|(t, _)| t.pid.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        s.push_str(&format!(
            "; {held} of its zombies {} traced by {tracers} and will stay until it lets go",
            if held == 1 { "is" } else { "are" }
        ));
    }
    s
}

/// How many of `f`'s zombies --reap leaves alone for --min-age.
fn r_young(f: &ParentFinding, r: &FixReport) -> usize {
    r.parents.iter().find(|p| p.pid == f.pid).map_or(0, |p| {
        p.zombies.iter().filter(|z| z.skipped.is_some()).count()
    })
}

/// What went wrong holding a parent for --reap.
fn reap_error(who: &str, e: &crate::sys::ptrace::InjectError) -> String {
    use crate::sys::ptrace::InjectError as E;
    let left = "; it was left as it was";
    match e {
        E::Unsupported => format!("--reap works only on x86_64 for now; nothing was done to {who}"),
        E::Not64Bit { cs } => {
            format!("{who} is not a 64-bit x86 process (code segment {cs:#x}); nothing was done")
        }
        E::Seize(e) => format!(
            "cannot hold {who} with ptrace: {}; nothing was done",
            e.desc()
        ),
        E::NoStop => format!(
            "{who} did not stop within 2s (uninterruptible sleep, or a frozen cgroup){left}"
        ),
        E::NoSyscallInstruction => {
            format!("no syscall instruction found in the vDSO of {who}{left}")
        }
        E::Failed {
            call,
            errno,
            restored: true,
        } => format!("{call} failed on {who}: {}{left}", errno.desc()),
        E::Failed {
            call,
            errno,
            restored: false,
        } => format!(
            "{call} failed on {who}: {}; it may not have been put back exactly as it was: check it (`zombies explain {}`)",
            errno.desc(),
            who.split(' ').next().unwrap_or("")
        ),
        E::Exited => format!("{who} exited while it was held"),
        E::NotOurs => format!(
            "{who} exited and its PID went to another process before it could be held; that process was let go untouched"
        ),
        E::GroupStop => format!(
            "{who} was stopped by a signal while it was held; it was let go, stopped, as it was told"
        ),
    }
}

/// Yama's ptrace_scope, when it forbids more than root does.
fn yama_hint(scope: Option<u8>) -> String {
    match scope {
        Some(0) | None => String::new(),
        Some(3) => " (Yama's ptrace_scope is 3: ptrace is off on this machine until reboot)".into(),
        Some(n) => format!(" (Yama's ptrace_scope is {n}: the same user is not enough)"),
    }
}

/// What --reap wants the user to know about a parent it held.
fn warning(w: crate::remedy::ReapWarning) -> String {
    match w {
        crate::remedy::ReapWarning::EpollEintr => {
            "it was waiting in epoll_wait, which returns EINTR to the program after a ptrace stop; well-written programs retry".to_string()
        }
    }
}

/// Why fix refuses a parent, and what to do instead.
pub fn refusal_text(refusal: Refusal, p: &ParentFinding) -> String {
    let who = format!("{} ({})", p.pid, printable(&p.comm));
    match refusal {
        Refusal::NamespaceInit => format!(
            "{who} is PID 1 of its PID namespace: killing it kills every process in it (the whole container), so fix never signals it; to clear its zombies without a restart: `zombies fix --reap --parent {}`; for good, {}",
            p.pid,
            super::findings::init_advice(p.container.as_ref())
        ),
        Refusal::KernelThread => format!(
            "{who} is a kernel thread: it cannot be signalled; its zombies are harmless unless they pile up (`zombies fix --ignore --parent {}`)",
            p.pid
        ),
        Refusal::ThisTool => format!("{who} is this zombies process itself"),
        Refusal::Ancestor => format!(
            "{who} is an ancestor of this zombies process (your shell, terminal, tmux, sshd or cron): acting on it could end your own session; restart it when convenient, or ignore it (`zombies fix --ignore --parent {}`)",
            p.pid
        ),
        Refusal::SessionLeader => format!(
            "{who} leads this terminal session (your login shell): acting on it could end your session; restart it when convenient"
        ),
        Refusal::Unverified => format!(
            "{who}: its /proc/{}/status could not be read (permission, or it changed as we looked), so fix cannot rule out that it is PID 1 of a container; run as root, or check it with `zombies explain {}`",
            p.pid, p.pid
        ),
        Refusal::HeldByTracer => {
            let tracers = p.holding_tracers();
            let names = tracers
                .iter()
                .map(|(t, _)| named(t.pid, t.comm.as_deref()))
                .collect::<Vec<_>>()
                .join(", ");
            let pids = tracers
                .iter()
                .map(|(t, _)| t.pid.to_string())
                .collect::<Vec<_>>()
                .join(" ");
            let (them, are) = if p.held_by_tracers() == 1 {
                ("it", "its zombie is")
            } else {
                ("them", "its zombies are")
            };
            format!(
                "{are} traced by {names}, which alone can reap {them} until it lets go: nothing sent to {who} can clear {them} (its adopter could not reap {them} either); quit or detach that debugger or strace, or `kill {pids}`, and the kernel hands {them} back to {}",
                p.pid
            )
        }
        Refusal::ParentTraced => format!(
            "{who} is traced{}: a second tracer cannot hold it, and its tracer must not be surprised; detach that debugger first",
            p.tracer
                .as_ref()
                .map(|t| format!(" by {}", named(t.pid, t.comm.as_deref())))
                .unwrap_or_default()
        ),
        Refusal::ParentStopped => format!(
            "{who} is stopped: holding it would mean continuing it behind the back of whoever stopped it; `kill -CONT {}` first if it should run",
            p.pid
        ),
        Refusal::ParentUninterruptible => format!(
            "{who} is in uninterruptible sleep (state D, e.g. vfork or slow storage): it cannot be held until it wakes; try again"
        ),
        Refusal::Seccomp => format!(
            "{who} runs under a seccomp filter (Seccomp: 2), which may answer wait4 by killing it with SIGSYS; add --force if you know the filter allows wait4"
        ),
        Refusal::TooYoung => format!(
            "every targeted zombie of {who} is younger than --min-age: its parent may yet wait for them and would then get ECHILD; wait, or pass --min-age 0s"
        ),
        Refusal::Critical => format!(
            "{who} is a critical service: killing or signalling it can take the machine or your login down; add --force if you are sure, or ignore it (`zombies fix --ignore --parent {}`)",
            p.pid
        ),
    }
}

/// What went wrong while acting on a parent.
fn error(p: &ParentResult, e: &ActError) -> String {
    let who = who(p);
    match e {
        ActError::ExitedBeforeFix => format!(
            "{who} exited before fix acted; nothing was sent (its zombies went to an adopter)"
        ),
        ActError::Recycled => format!(
            "PID {} is no longer {} (it exited and the PID was reused); nothing was sent",
            p.pid,
            printable(&p.comm)
        ),
        ActError::CannotOpen(e) => format!("cannot open {who}: {}; nothing was sent", e.desc()),
        ActError::NotPermitted => {
            let owner = match (p.uid, &p.user) {
                (Some(u), Some(name)) => format!(" or as uid {u} ({name})"),
                (Some(u), None) => format!(" or as uid {u}"),
                _ => String::new(),
            };
            format!("cannot signal {who}: operation not permitted; run as root{owner}")
        }
        ActError::ExitedBefore(sig) => format!("{who} exited before {sig} could be sent"),
        ActError::SendFailed(sig, e) => format!("cannot send {sig} to {who}: {}", e.desc()),
        ActError::Reap(e) => reap_error(&who, e),
        ActError::ReapDenied { yama_scope } => format!(
            "cannot hold {who} with ptrace: operation not permitted; run as root (CAP_SYS_PTRACE){}; nothing was done",
            yama_hint(*yama_scope)
        ),
        ActError::NoLiveThread => format!("{who} has no live thread to hold; nothing was done"),
        ActError::ParentDied => {
            format!("{who} died while or after it was held; its zombies went to its adopter")
        }
        ActError::Stuck { state, wchan } => format!(
            "{who} did not exit after SIGKILL (state {}{}): it is stuck in the kernel, usually on storage or NFS; its zombies go when it does",
            state.unwrap_or('?'),
            wchan
                .as_deref()
                .map(|w| format!(", in {w}"))
                .unwrap_or_default()
        ),
    }
}

/// What to try when zombies remain.
fn next(p: &ParentResult, n: &NextStep, r: &FixReport) -> String {
    let who = who(p);
    let pid = p.pid;
    let kill = format!("zombies fix --kill-parent --parent {pid}");
    let timeout = duration(ms(r.timeout_ms));
    let adopter = |a: &Option<ObservedAdopter>| {
        a.as_ref()
            .map(|a| (named(a.pid, a.comm.as_deref()), a.pid))
            .unwrap_or_else(|| ("?".to_string(), 0))
    };
    match n {
        NextStep::HeldByTracers { held, tracers } => {
            let mut names: Vec<String> = tracers
                .iter()
                .map(|t| named(t.pid, t.comm.as_deref()))
                .collect();
            names.sort();
            names.dedup();
            format!(
                "{held} of them {} traced by {}, which alone can reap them until it lets go: quit or detach that debugger or strace, or kill it",
                if *held == 1 { "is" } else { "are" },
                names.join(", ")
            )
        }
        NextStep::StoppedByTracer => {
            let by = p
                .finding
                .traced_by
                .map(|t| format!(" (PID {t})"))
                .unwrap_or_default();
            format!(
                "{who} is stopped by its tracer{by}, which holds the signals: detach the debugger, or try `{kill}`"
            )
        }
        NextStep::SigchldBlocked => {
            format!("SIGCHLD is blocked in {who}, so the nudge stays pending: try `{kill}`")
        }
        NextStep::HandlerDidNotReap => format!(
            "{who} ran its SIGCHLD handler but did not reap them (or not within {timeout}): try `{kill}`"
        ),
        NextStep::SigchldIgnored => format!(
            "{who} ignores SIGCHLD, which does not reap zombies made before it did, so the nudge did nothing: try `{kill}`"
        ),
        NextStep::SigchldDefault => format!(
            "{who} leaves SIGCHLD at its default (discard) and has not called wait(), so the nudge did nothing: try `{kill}`"
        ),
        NextStep::StillAlive => format!(
            "{who} is still alive: see the error above; `zombies explain {pid}` shows its state"
        ),
        NextStep::FixInit => {
            let (name, apid) = adopter(&p.adopter);
            let now = if apid > 0 {
                format!("`zombies fix --reap --parent {apid}` clears them without a restart; ")
            } else {
                String::new()
            };
            format!(
                "fix-init: the adopter {name} is PID 1 of its namespace and does not reap: {now}for good, {}",
                super::findings::init_advice(p.finding.container.as_ref())
            )
        }
        NextStep::FixSubreaper => {
            let (name, apid) = adopter(&p.adopter);
            format!(
                "the adopter {name} is a child subreaper that does not reap them (or not within {timeout}): `zombies explain {apid}` and fix that process"
            )
        }
        NextStep::SeeList => "`zombies list` shows who holds them now".to_string(),
        NextStep::TooYoung(n) => format!(
            "{} younger than --min-age {} and left alone: its parent may yet wait for them; wait, or pass --min-age 0s",
            plural(*n, "zombie is", "zombies are"),
            duration(ms(r.min_age_ms))
        ),
        NextStep::ReapFailed => format!(
            "{who} was left as it was; `{kill}` ends it instead (or fix-init for a container's PID 1)"
        ),
    }
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::NoProcess {
                pid,
                zombie_wanted: false,
            } => write!(
                f,
                "no process with PID {pid} (it may have exited); `zombies list` shows the parents of zombies there are now"
            ),
            TargetError::NoProcess {
                pid,
                zombie_wanted: true,
            } => write!(
                f,
                "no process with PID {pid} (it may have been reaped already); `zombies list --pids` shows the zombies there are now"
            ),
            TargetError::IsZombie { pid, comm, ppid } => write!(
                f,
                "{pid} ({}) is a zombie, not a parent of zombies: use --pid {pid} to act on its parent {ppid}",
                printable(comm)
            ),
            TargetError::NoZombies { pid, comm } => write!(
                f,
                "{pid} ({}) holds no zombies: nothing to fix; `zombies list` shows the parents that do",
                printable(comm)
            ),
            TargetError::ExitedLeader {
                pid,
                comm,
                live_threads,
            } => write!(
                f,
                "{pid} ({}) is not a zombie: its main thread exited but {} (ps shows Zl)",
                printable(comm),
                match live_threads {
                    Some(1) => "1 thread still runs".to_string(),
                    Some(n) => format!("{n} threads still run"),
                    None => "other threads still run".to_string(),
                }
            ),
            TargetError::IsParent { pid, comm, zombies } => write!(
                f,
                "{pid} ({}) is not a zombie but holds {zombies} of them: use --parent {pid}",
                printable(comm)
            ),
            TargetError::NotZombie { pid, comm, state } => write!(
                f,
                "{pid} ({}) is not a zombie (state {state}); `zombies list --pids` shows the zombies there are",
                printable(comm)
            ),
        }
    }
}

// JSON: the documented shape (README, and remedy/mod.rs), with the words of this module.

/// One parent of the JSON, with the report it belongs to (for the durations and the list).
struct ParentJson<'a> {
    p: &'a ParentResult,
    r: &'a FixReport,
}

impl Serialize for ParentJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (p, r) = (self.p, self.r);
        let mut m = s.serialize_struct("ParentResult", 22)?;
        m.serialize_field("pid", &p.pid)?;
        m.serialize_field("comm", &p.comm)?;
        m.serialize_field("exe", &p.exe)?;
        m.serialize_field("uid", &p.uid)?;
        m.serialize_field("user", &p.user)?;
        m.serialize_field("state", &p.state)?;
        m.serialize_field("sigchld", &p.sigchld)?;
        m.serialize_field("remedy", &p.remedy)?;
        m.serialize_field("outcome", &p.outcome)?;
        m.serialize_field("refusal", &p.refusal)?;
        m.serialize_field("reason", &note(p, r))?;
        m.serialize_field("signals", &p.signals)?;
        m.serialize_field("exited", &p.exited)?;
        m.serialize_field("adopter", &p.adopter)?;
        m.serialize_field("zombies", &p.zombies)?;
        m.serialize_field("total", &p.total)?;
        m.serialize_field("cleared", &p.cleared)?;
        m.serialize_field("elapsed_ms", &p.elapsed_ms)?;
        m.serialize_field("error", &p.error.as_ref().map(|e| error(p, e)))?;
        m.serialize_field("next", &p.next.as_ref().map(|n| next(p, n, r)))?;
        m.serialize_field("reaped_on_its_own", &p.reaped_on_its_own)?;
        m.serialize_field("also_hides", &p.also_hides)?;
        m.serialize_field("paused_ms", &p.paused_ms)?;
        m.serialize_field("warning", &p.warning)?;
        m.end()
    }
}

impl Serialize for FixReport {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let parents: Vec<ParentJson> = self
            .parents
            .iter()
            .map(|p| ParentJson { p, r: self })
            .collect();
        let mut m = s.serialize_struct("FixReport", 10)?;
        m.serialize_field("remedy", &self.remedy)?;
        m.serialize_field("dry_run", &self.dry_run)?;
        m.serialize_field("executed", &self.executed)?;
        m.serialize_field("grace_ms", &self.grace_ms)?;
        m.serialize_field("timeout_ms", &self.timeout_ms)?;
        m.serialize_field("settle_ms", &self.settle_ms)?;
        m.serialize_field("min_age_ms", &self.min_age_ms)?;
        m.serialize_field("ignore_file", &self.ignore_file)?;
        m.serialize_field("parents", &parents)?;
        m.serialize_field("summary", &self.summary)?;
        m.serialize_field("success", &self.success)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_critical_refusal_says_how_to_force() {
        let p = ParentFinding::for_test(800, "sshd");
        let text = refusal_text(Refusal::Critical, &p);
        assert!(
            text.starts_with("800 (sshd) is a critical service"),
            "{text}"
        );
        assert!(text.contains("--force"), "{text}");
    }

    #[test]
    fn target_errors_say_what_to_use_instead() {
        let e = TargetError::IsZombie {
            pid: 5,
            comm: "a\nb".into(),
            ppid: 4,
        };
        assert_eq!(
            e.to_string(),
            "5 (a\\nb) is a zombie, not a parent of zombies: use --pid 5 to act on its parent 4"
        );
    }
}

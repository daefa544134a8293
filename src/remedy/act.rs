//! Carrying out a confirmed plan, and checking it worked: open every process first (pidfds
//! tied to the diagnosed start times), send the signals, wait for killed parents to die, see
//! who adopted their zombies, then wait until the zombies are reaped or the timeout passes.

use std::time::Instant;

use anyhow::Result;
use nix::errno::Errno;
use nix::sys::signal::Signal;

use super::plan::entry_for;
use super::{
    ActError, FixReport, NextStep, Note, ObservedAdopter, Outcome, ParentResult, Request, Sent, ms,
};
use crate::diagnose::{Disposition, ProcessRef, Remedy};
use crate::ignore::IgnoreList;
use crate::proc::handle::{Event, Handle, OpenError, wait};
use crate::proc::{Pid, ProcFs};

/// Gives the parents `req.settle` to reap on their own before anything is sent. Zombies reaped
/// meanwhile count as cleared; a parent whose zombies all went is left alone: it was about to
/// call wait(), and killing it would have been wrong.
fn settle(fs: &ProcFs, req: &Request, report: &mut FixReport, live: &mut [Live]) {
    if req.settle.is_zero() {
        return;
    }
    let watched: Vec<(usize, usize)> = live
        .iter()
        .enumerate()
        .filter(|(_, l)| l.parent.is_some())
        .flat_map(|(li, l)| {
            l.zombies
                .iter()
                .enumerate()
                .filter(|(_, (_, h))| h.is_some())
                .map(move |(k, _)| (li, k))
        })
        .collect();
    if watched.is_empty() {
        return;
    }
    let start = Instant::now();
    let done = {
        let handles: Vec<&Handle> = watched
            .iter()
            .filter_map(|&(li, k)| live[li].zombies[k].1.as_ref())
            .collect();
        crate::proc::handle::wait_all(fs, &handles, Event::Reaped, start, start + req.settle)
    };
    for (&(li, k), d) in watched.iter().zip(&done) {
        if d.is_some() {
            let l = &mut live[li];
            let zi = l.zombies[k].0;
            l.zombies[k].1 = None;
            let z = &mut report.parents[l.idx].zombies[zi];
            z.cleared = true;
            z.after_ms = Some(0);
        }
    }
    for l in live.iter_mut() {
        if l.parent.is_some() && l.zombies.iter().all(|(_, h)| h.is_none()) {
            l.parent = None;
            report.parents[l.idx].reaped_on_its_own = true;
            report.parents[l.idx].note = Some(Note::ReapedOnItsOwn);
        }
    }
}

/// One parent being acted on.
struct Live {
    /// Index into `report.parents`.
    idx: usize,
    parent: Option<Handle>,
    /// Whether it was stopped (T or t) when opened.
    stopped: bool,
    /// It exited before fix acted: its zombies went to an adopter, which may reap them.
    parent_gone: bool,
    /// Its zombies: (index into the result's zombies, handle); None when already gone.
    zombies: Vec<(usize, Option<Handle>)>,
}

/// Carries out every planned action of `report` and fills in what happened. Signals go only to
/// processes whose start time still matches the diagnosis. Errors are per parent and end up in
/// the report; only failing to write the ignore list is returned as an error.
pub fn execute(
    report: &mut FixReport,
    fs: &ProcFs,
    req: &Request,
    ignore: &mut IgnoreList,
) -> Result<()> {
    report.executed = true;
    let mut list_changed = false;
    let mut live: Vec<Live> = Vec::new();
    for (idx, r) in report.parents.iter_mut().enumerate() {
        if !r.acts() {
            continue;
        }
        if r.remedy == Remedy::Ignore {
            let entry = entry_for(&r.finding, req);
            let key = entry.key();
            list_changed |= ignore.add(entry);
            r.outcome = Outcome::Ignored;
            r.note = Some(Note::Ignored { key });
            continue;
        }
        live.push(open(fs, idx, r));
    }
    if list_changed {
        ignore.save()?;
    }
    if live.is_empty() {
        report.finish();
        return Ok(());
    }

    settle(fs, req, report, &mut live);

    // Act. One clock for everything: the signals go out within microseconds of each other.
    let clock = Instant::now();
    for l in &mut live {
        let r = &mut report.parents[l.idx];
        if l.parent.is_none() {
            continue;
        }
        if r.remedy == Remedy::Reap {
            reap(fs, l, r, clock);
            continue;
        }
        let Some(h) = &l.parent else { continue };
        let signals: &[Signal] = match (r.remedy, l.stopped) {
            (Remedy::SignalParent, true) => &[Signal::SIGCONT, Signal::SIGCHLD],
            (Remedy::SignalParent, false) => &[Signal::SIGCHLD],
            // A stopped process only acts on SIGTERM once continued.
            (_, true) => &[Signal::SIGTERM, Signal::SIGCONT],
            (_, false) => &[Signal::SIGTERM],
        };
        for &sig in signals {
            if !send(fs, h, sig, r, clock) {
                l.parent = None;
                break;
            }
        }
    }

    // What to watch: every zombie until it is reaped, every parent being killed until it dies.
    let mut items: Vec<(&Handle, Event)> = Vec::new();
    let mut what: Vec<Watched> = Vec::new();
    for (li, l) in live.iter().enumerate() {
        // Nothing sent and the parent still there (permission denied, PID reused): nothing will
        // change, so look once instead of waiting out the timeout.
        let watch = l.parent_gone || !report.parents[l.idx].signals.is_empty();
        for (zi, h) in &l.zombies {
            match h {
                Some(h) if !watch => {
                    if h.happened(fs, Event::Reaped) {
                        let z = &mut report.parents[l.idx].zombies[*zi];
                        z.cleared = true;
                        z.after_ms = Some(0);
                    }
                }
                Some(h) => {
                    items.push((h, Event::Reaped));
                    what.push(Watched::Zombie(li, *zi));
                }
                None => {
                    let z = &mut report.parents[l.idx].zombies[*zi];
                    z.cleared = true;
                    z.after_ms = Some(0);
                }
            }
        }
        if let Some(h) = &l.parent {
            if report.parents[l.idx].remedy == Remedy::KillParent {
                items.push((h, Event::Exited));
                what.push(Watched::Parent(li));
            }
        }
    }
    let mut done = vec![None; items.len()];
    let parents_dead = |d: &[Option<std::time::Duration>]| {
        what.iter()
            .zip(d)
            .all(|(w, t)| !matches!(w, Watched::Parent(_)) || t.is_some())
    };
    // A parent just died: its zombies now show their adopter as PPid, until it reaps them.
    let mut adopters: Vec<Option<ObservedAdopter>> = vec![None; live.len()];
    let mut on_event = |i: usize| {
        if let Watched::Parent(li) = what[i] {
            adopters[li] = observe_adopter(fs, &live[li]);
        }
    };

    // Kill: wait out the grace time, SIGKILL the survivors, wait for them to die.
    if what.iter().any(|w| matches!(w, Watched::Parent(_))) {
        wait(
            fs,
            &items,
            &mut done,
            clock,
            clock + req.grace,
            parents_dead,
            &mut on_event,
        );
        for (i, w) in what.iter().enumerate() {
            if let (Watched::Parent(li), None) = (w, done[i]) {
                let l = &live[*li];
                if let Some(h) = &l.parent {
                    send(fs, h, Signal::SIGKILL, &mut report.parents[l.idx], clock);
                }
            }
        }
        let now = Instant::now();
        wait(
            fs,
            &items,
            &mut done,
            clock,
            now + req.timeout,
            parents_dead,
            &mut on_event,
        );
    }

    // Verify: wait until every targeted zombie is reaped, or the timeout.
    let zombies_gone = |d: &[Option<std::time::Duration>]| {
        what.iter()
            .zip(d)
            .all(|(w, t)| !matches!(w, Watched::Zombie(..)) || t.is_some())
    };
    let now = Instant::now();
    wait(
        fs,
        &items,
        &mut done,
        clock,
        now + req.timeout,
        zombies_gone,
        &mut on_event,
    );

    for (i, w) in what.iter().enumerate() {
        match *w {
            Watched::Zombie(li, zi) => {
                if let Some(at) = done[i] {
                    let z = &mut report.parents[live[li].idx].zombies[zi];
                    z.cleared = true;
                    z.after_ms = Some(ms(at));
                }
            }
            Watched::Parent(li) => {
                let r = &mut report.parents[live[li].idx];
                match done[i] {
                    Some(at) => {
                        r.exited = Some(super::Exited {
                            after_ms: ms(at),
                            signal: if r.signals.iter().any(|s| s.signal == "SIGKILL") {
                                "SIGKILL"
                            } else {
                                "SIGTERM"
                            },
                        });
                        r.adopter = adopters[li].take();
                    }
                    None => {
                        if r.error.is_none() {
                            r.error = Some(stuck(fs, r));
                        }
                    }
                }
            }
        }
    }
    for l in &live {
        conclude(&mut report.parents[l.idx]);
    }
    report.finish();
    Ok(())
}

/// What an item of the wait is.
#[derive(Clone, Copy)]
enum Watched {
    /// (index into `live`, index into that parent's zombies)
    Zombie(usize, usize),
    /// Index into `live`.
    Parent(usize),
}

/// Opens the parent and its zombies before anything is sent: once a zombie is reaped its PID
/// may be reused at once, and only a pidfd opened while it was still ours can tell.
fn open(fs: &ProcFs, idx: usize, r: &mut ParentResult) -> Live {
    let mut zombies = Vec::new();
    for (zi, z) in r.zombies.iter().enumerate() {
        // Left alone (--reap's --min-age): not a target, so not watched either.
        if z.skipped.is_some() {
            continue;
        }
        let h = match Handle::open(fs, z.pid, z.start_ticks) {
            Ok((h, _)) => Some(h),
            // Reaped since the scan (and maybe reused): not there any more.
            Err(OpenError::Gone | OpenError::Recycled) => None,
            // Cannot open a pidfd (EMFILE, ...): fall back to watching the start time.
            Err(OpenError::Other(_)) => Some(Handle::Legacy {
                pid: z.pid,
                start_ticks: z.start_ticks,
            }),
        };
        zombies.push((zi, h));
    }
    let mut parent_gone = false;
    let (parent, stopped) = match Handle::open(fs, r.pid, r.finding.start_ticks) {
        Ok((h, st)) => (Some(h), matches!(st.state, b'T' | b't')),
        Err(OpenError::Gone) => {
            parent_gone = true;
            r.error = Some(ActError::ExitedBeforeFix);
            (None, false)
        }
        Err(OpenError::Recycled) => {
            r.error = Some(ActError::Recycled);
            (None, false)
        }
        Err(OpenError::Other(e)) => {
            r.error = Some(ActError::CannotOpen(e));
            (None, false)
        }
    };
    Live {
        idx,
        parent,
        stopped,
        parent_gone,
        zombies,
    }
}

/// Sends one signal and records it; on failure records the error and returns false.
fn send(fs: &ProcFs, h: &Handle, sig: Signal, r: &mut ParentResult, start: Instant) -> bool {
    match h.send(fs, sig) {
        Ok(()) => {
            r.signals.push(Sent {
                signal: sig.as_str(),
                at_ms: ms(start.elapsed()),
            });
            true
        }
        Err(Errno::EPERM) => {
            r.error = Some(ActError::NotPermitted);
            false
        }
        Err(Errno::ESRCH) => {
            // Exited on its own between two signals (or after the SIGTERM): not an error for
            // kill-parent, whose exit is noticed by the wait.
            if r.remedy != Remedy::KillParent {
                r.error = Some(ActError::ExitedBefore(sig));
            }
            r.remedy == Remedy::KillParent
        }
        Err(e) => {
            r.error = Some(ActError::SendFailed(sig, e));
            false
        }
    }
}

/// How long fix waits for each stop of a parent it holds for --reap.
const REAP_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// --reap: makes the parent call wait4() for each targeted zombie (sys/ptrace.rs), then sees
/// which are gone and whether the parent lives on.
fn reap(fs: &ProcFs, l: &mut Live, r: &mut ParentResult, clock: Instant) {
    // The zombies' PIDs as the parent's PID namespace numbers them (NSpid, at its depth).
    let depth = r
        .finding
        .details
        .as_ref()
        .map_or(1, |d| d.nspid.len().max(1));
    let mut targets: Vec<(usize, Pid)> = Vec::new();
    for (k, (zi, h)) in l.zombies.iter().enumerate() {
        if h.is_none() {
            continue;
        }
        let pid = r.zombies[*zi].pid;
        let inner = fs
            .nspid(pid)
            .and_then(|ns| ns.get(depth - 1).copied())
            .unwrap_or(pid);
        targets.push((k, inner));
    }
    if targets.is_empty() {
        return;
    }
    let Some(tid) = live_thread(fs, r.pid) else {
        r.error = Some(ActError::NoLiveThread);
        return;
    };
    if in_epoll_wait(fs, r.pid, tid) {
        r.warning = Some(super::ReapWarning::EpollEintr);
    }
    let inner: Vec<Pid> = targets.iter().map(|&(_, p)| p).collect();
    let parent = &l.parent;
    let still_ours = || {
        parent
            .as_ref()
            .is_some_and(|p| !p.happened(fs, Event::Exited))
    };
    match crate::sys::ptrace::inject_wait4(r.pid, tid, &inner, REAP_STOP_TIMEOUT, &still_ours) {
        Ok(done) => r.paused_ms = Some(ms(done.paused)),
        Err(crate::sys::ptrace::InjectError::Seize(Errno::EPERM)) => {
            r.error = Some(ActError::ReapDenied {
                yama_scope: std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
                    .ok()
                    .and_then(|s| s.trim().parse().ok()),
            })
        }
        Err(e) => r.error = Some(ActError::Reap(e)),
    }
    let at = ms(clock.elapsed());
    for &(k, _) in &targets {
        let (zi, h) = &mut l.zombies[k];
        if h.as_ref().is_some_and(|h| h.happened(fs, Event::Reaped)) {
            let z = &mut r.zombies[*zi];
            z.cleared = true;
            z.after_ms = Some(at);
            *h = None;
        }
    }
    if l.parent
        .as_ref()
        .is_some_and(|p| p.happened(fs, Event::Exited))
        && r.error.is_none()
    {
        r.error = Some(ActError::ParentDied);
    }
}

/// A thread of `pid` that has not exited (the main thread may have, `Zl`).
fn live_thread(fs: &ProcFs, pid: Pid) -> Option<Pid> {
    let tasks = std::fs::read_dir(fs.root().join(format!("{pid}/task"))).ok()?;
    let mut tids: Vec<Pid> = tasks
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    tids.sort_unstable();
    tids.into_iter().find(|tid| {
        fs.read(&format!("{pid}/task/{tid}/stat"))
            .ok()
            .and_then(|b| crate::proc::stat::parse(&b))
            .is_some_and(|st| !matches!(st.state, b'Z' | b'X' | b'x'))
    })
}

/// Whether the thread sits in epoll_wait (232), epoll_pwait (281) or epoll_pwait2 (441) on
/// x86_64, by /proc/PID/task/TID/syscall: a ptrace stop makes that call return EINTR.
fn in_epoll_wait(fs: &ProcFs, pid: Pid, tid: Pid) -> bool {
    fs.read(&format!("{pid}/task/{tid}/syscall"))
        .ok()
        .and_then(|b| {
            String::from_utf8_lossy(&b)
                .split_whitespace()
                .next()?
                .parse::<i64>()
                .ok()
        })
        .is_some_and(|nr| matches!(nr, 232 | 281 | 441))
}

/// Why a parent outlived SIGKILL: it is stuck in the kernel, in this state and wait channel.
fn stuck(fs: &ProcFs, r: &ParentResult) -> ActError {
    ActError::Stuck {
        state: fs.stat(r.pid).ok().map(|s| s.state as char),
        wchan: fs
            .read(&format!("{}/wchan", r.pid))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            .filter(|w| !w.is_empty() && w != "0"),
    }
}

/// Reads the PPid of the zombies still there right after their parent's death: the kernel
/// re-parents them before the parent becomes a zombie, so this is the adopter.
fn observe_adopter(fs: &ProcFs, l: &Live) -> Option<ObservedAdopter> {
    for (_, h) in &l.zombies {
        let Some(h) = h else { continue };
        let Ok(st) = fs.stat(h.pid()) else { continue };
        // The stat read is the zombie's only if it was not reaped before we looked.
        if h.happened(fs, Event::Reaped) {
            continue;
        }
        let pid: Pid = st.ppid;
        let comm = fs
            .stat(pid)
            .ok()
            .map(|s| String::from_utf8_lossy(&s.comm).into_owned());
        let namespace_init = pid == 1 || fs.nspid(pid).is_some_and(|ns| ns.last() == Some(&1));
        return Some(ObservedAdopter {
            pid,
            comm,
            namespace_init,
            reaped: false,
        });
    }
    None
}

/// Sets the outcome, the counts and, when zombies remain, what to try next.
fn conclude(r: &mut ParentResult) {
    r.cleared = r.zombies.iter().filter(|z| z.cleared).count();
    let all = r.cleared == r.total;
    r.outcome = if all {
        Outcome::Cleared
    } else {
        Outcome::Remaining
    };
    if all {
        r.elapsed_ms = r
            .zombies
            .iter()
            .filter_map(|z| z.after_ms)
            .max()
            .or(Some(0));
    }
    if let Some(a) = &mut r.adopter {
        a.reaped = all;
    }
    // --reap succeeds only with the parent alive and no error: the zombies gone with the
    // parent would be a kill, not a reap.
    if r.remedy == Remedy::Reap && r.error.is_some() {
        r.outcome = Outcome::Remaining;
        r.elapsed_ms = None;
    }
    if (all && r.outcome == Outcome::Cleared) || r.error == Some(ActError::NotPermitted) {
        return;
    }
    let f = &r.finding;
    // Zombies a tracer holds stay whatever was sent: name the tracer, not the parent.
    let held: Vec<&ProcessRef> = r
        .zombies
        .iter()
        .filter(|z| !z.cleared)
        .filter_map(|z| f.zombies.iter().find(|x| x.pid == z.pid))
        .filter_map(|z| z.held_by_tracer.as_ref())
        .collect();
    if !held.is_empty() {
        let mut tracers: Vec<ProcessRef> = Vec::new();
        for t in &held {
            if !tracers.iter().any(|x| x.pid == t.pid) {
                tracers.push((*t).clone());
            }
        }
        r.next = Some(NextStep::HeldByTracers {
            held: held.len(),
            tracers,
        });
        return;
    }
    let young = r.zombies.iter().filter(|z| z.skipped.is_some()).count();
    r.next = Some(match r.remedy {
        Remedy::Reap if r.error.is_some() => NextStep::ReapFailed,
        Remedy::Reap if young > 0 => NextStep::TooYoung(young),
        Remedy::Reap => NextStep::ReapFailed,
        Remedy::SignalParent if f.state == "t" => NextStep::StoppedByTracer,
        Remedy::SignalParent if f.sigchld_blocked => NextStep::SigchldBlocked,
        Remedy::SignalParent if f.sigchld == Disposition::Caught => NextStep::HandlerDidNotReap,
        Remedy::SignalParent if f.sigchld == Disposition::Ignored => NextStep::SigchldIgnored,
        Remedy::SignalParent => NextStep::SigchldDefault,
        _ => match (&r.exited, &r.adopter) {
            (None, _) => NextStep::StillAlive,
            (Some(_), Some(a)) if a.namespace_init => NextStep::FixInit,
            (Some(_), Some(_)) => NextStep::FixSubreaper,
            (Some(_), None) => NextStep::SeeList,
        },
    });
}

//! From a diagnosis and a request to a plan: which parents, which remedy for each, and which
//! are refused and why. Pure: nothing is read or sent here.

use anyhow::{Result, bail};

use super::Refusal;
use super::safety;
use super::{
    Choice, FixReport, FixSummary, HiddenParent, Outcome, ParentResult, Request, Target,
    ZombieResult, ms,
};
use crate::diagnose::{AdopterVerdict, Context, Diagnosis, ParentFinding, Remedy, adopter_outcome};
use crate::ignore::{Entry, IgnoreList};
use crate::proc::{Pid, Snapshot};
use crate::report::{duration, printable};

/// Resolves the target and decides, parent by parent, what fix will do. Bad targets (no such
/// process, a process with no zombies) are errors that say what to use instead.
pub fn plan(
    snap: &Snapshot,
    diag: &Diagnosis,
    ctx: &Context,
    req: &Request,
    ignore: &IgnoreList,
) -> Result<FixReport> {
    let mut skipped_ignored = 0;
    let findings: Vec<ParentFinding> = match req.target {
        Target::Parent(pid) => match diag.parent(pid) {
            Some(f) => vec![f.clone()],
            None => bail!(not_a_parent(snap, pid)),
        },
        Target::Zombie(pid) => match diag.parent_of_zombie(pid) {
            Some(f) => vec![f.clone()],
            None => bail!(not_a_zombie(snap, diag, pid)),
        },
        Target::All => {
            let mut d = diag.clone();
            ignore.apply(&mut d);
            skipped_ignored = diag.parents.len() - d.parents.len();
            d.parents
        }
    };
    let target_zombie = match req.target {
        Target::Zombie(z) => Some(z),
        _ => None,
    };
    let parents = findings
        .into_iter()
        .map(|f| plan_parent(f, ctx, req, ignore, target_zombie, &diag.parents))
        .collect();
    let uses_list = req.choice == Choice::Ignore || req.target == Target::All;
    let mut report = FixReport {
        remedy: req.choice,
        dry_run: false,
        executed: false,
        grace_ms: ms(req.grace),
        timeout_ms: ms(req.timeout),
        settle_ms: ms(req.settle),
        ignore_file: uses_list.then(|| ignore.path.display().to_string()),
        parents,
        summary: FixSummary {
            skipped_ignored,
            ..FixSummary::default()
        },
        success: false,
    };
    report.finish();
    Ok(report)
}

fn plan_parent(
    f: ParentFinding,
    ctx: &Context,
    req: &Request,
    ignore: &IgnoreList,
    target_zombie: Option<Pid>,
    all: &[ParentFinding],
) -> ParentResult {
    let mut also_hides = Vec::new();
    // Zombies a tracer holds are the tracer's to release: nothing sent to their parent clears
    // them. That decides for the zombie fix was pointed at, or for a parent all of whose
    // zombies are held; a parent with some free zombies is still worth acting on for those.
    let held_target = match target_zombie {
        Some(z) => f
            .zombies
            .iter()
            .any(|x| x.pid == z && x.held_by_tracer.is_some()),
        None => !f.zombies.is_empty() && f.held_by_tracers() == f.zombies.len(),
    };
    let remedy = match req.choice {
        Choice::SignalParent => Remedy::SignalParent,
        Choice::KillParent => Remedy::KillParent,
        Choice::Ignore => Remedy::Ignore,
        Choice::Auto if held_target => Remedy::DetachTracer,
        Choice::Auto => f.recommended,
    };
    let who = format!("{} ({})", f.pid, printable(&f.comm));
    let (outcome, refusal, reason) = match remedy {
        Remedy::Ignore if req.choice == Choice::Ignore => {
            let entry = entry_for(&f, req);
            if ignore.entries.contains(&entry) || ignore.is_ignored(&f) {
                (
                    Outcome::Ignored,
                    None,
                    Some(format!(
                        "{who} is already on the ignore list {}",
                        ignore.path.display()
                    )),
                )
            } else {
                also_hides = ignore
                    .newly_hidden(&entry, &f, all)
                    .into_iter()
                    .map(|o| HiddenParent {
                        pid: o.pid,
                        comm: o.comm.clone(),
                        zombies: o.zombies.len(),
                    })
                    .collect();
                (
                    Outcome::Planned,
                    None,
                    Some(format!(
                        "add {} to the ignore list {}; no signal is sent",
                        printable(&entry.key()),
                        ignore.path.display()
                    )),
                )
            }
        }
        // --auto reports these recommendations; it does not change the ignore list (that is a
        // decision about monitoring) and cannot install an init.
        // Asleep in wait(): it may yet reap them; the advice is to give it time, not to
        // silence it for good.
        Remedy::Ignore if f.in_wait => (
            Outcome::Advised,
            None,
            Some(format!("recommended: ignore for now. {}", f.reason)),
        ),
        Remedy::Ignore => (
            Outcome::Advised,
            None,
            Some(format!(
                "recommended: ignore. {}; to stop alerting on it: zombies fix --ignore --parent {}",
                f.reason, f.pid
            )),
        ),
        Remedy::FixInit => (
            Outcome::Advised,
            None,
            Some(format!("recommended: fix-init. {}", f.reason)),
        ),
        // A tracer is most often a debugger someone is using: fix names it, never kills it.
        Remedy::DetachTracer => (
            Outcome::Advised,
            None,
            Some(format!(
                "recommended: detach-tracer. {}",
                Refusal::HeldByTracer.explain(&f)
            )),
        ),
        Remedy::SignalParent | Remedy::KillParent => {
            match safety::check(&f, ctx, req.force).or(held_target.then_some(Refusal::HeldByTracer))
            {
                Some(r) => (Outcome::Refused, Some(r), Some(r.explain(&f))),
                None => (Outcome::Planned, None, Some(describe(&f, remedy, req))),
            }
        }
    };
    let zombies: Vec<ZombieResult> = f
        .zombies
        .iter()
        .map(|z| ZombieResult {
            pid: z.pid,
            comm: z.comm.clone(),
            cleared: false,
            after_ms: None,
            start_ticks: z.start_ticks,
        })
        .collect();
    ParentResult {
        pid: f.pid,
        comm: f.comm.clone(),
        exe: f.exe.clone(),
        uid: f.uid,
        user: f.user.clone(),
        state: f.state.clone(),
        sigchld: f.sigchld,
        remedy,
        outcome,
        refusal,
        reason,
        signals: Vec::new(),
        exited: None,
        adopter: None,
        total: zombies.len(),
        cleared: 0,
        zombies,
        elapsed_ms: None,
        error: None,
        next: None,
        reaped_on_its_own: false,
        also_hides,
        finding: f,
    }
}

/// The ignore-list entry --ignore records for a parent.
pub(super) fn entry_for(f: &ParentFinding, req: &Request) -> Entry {
    let mut e = Entry::for_parent(f, req.ignore_same_user);
    e.note = req.ignore_note.clone();
    e
}

/// What will be sent, in one line.
fn describe(f: &ParentFinding, remedy: Remedy, req: &Request) -> String {
    let stopped = matches!(f.state.as_str(), "T" | "t");
    let mut s = match remedy {
        Remedy::SignalParent => {
            let mut s = if stopped {
                "SIGCONT (it is stopped), then SIGCHLD".to_string()
            } else {
                "SIGCHLD".to_string()
            };
            if f.sigchld != crate::diagnose::Disposition::Caught || f.sigchld_blocked {
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
                duration(req.grace),
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

fn not_a_parent(snap: &Snapshot, pid: i32) -> String {
    match snap.get(pid) {
        None => format!(
            "no process with PID {pid} (it may have exited); `zombies list` shows the parents of zombies there are now"
        ),
        Some(p) if p.is_zombie() => format!(
            "{pid} ({}) is a zombie, not a parent of zombies: use --pid {pid} to act on its parent {}",
            printable(&p.comm),
            p.ppid
        ),
        Some(p) => format!(
            "{pid} ({}) holds no zombies: nothing to fix; `zombies list` shows the parents that do",
            printable(&p.comm)
        ),
    }
}

fn not_a_zombie(snap: &Snapshot, diag: &Diagnosis, pid: i32) -> String {
    match snap.get(pid) {
        None => format!(
            "no process with PID {pid} (it may have been reaped already); `zombies list --pids` shows the zombies there are now"
        ),
        Some(p) if p.is_exited_leader() => format!(
            "{pid} ({}) is not a zombie: its main thread exited but {} (ps shows Zl)",
            printable(&p.comm),
            match snap.live_threads(p) {
                Some(1) => "1 thread still runs".to_string(),
                Some(n) => format!("{n} threads still run"),
                None => "other threads still run".to_string(),
            }
        ),
        Some(p) => match diag.parent(pid) {
            Some(f) => format!(
                "{pid} ({}) is not a zombie but holds {} of them: use --parent {pid}",
                printable(&p.comm),
                f.zombies.len()
            ),
            None => format!(
                "{pid} ({}) is not a zombie (state {}); `zombies list --pids` shows the zombies there are",
                printable(&p.comm),
                p.state
            ),
        },
    }
}

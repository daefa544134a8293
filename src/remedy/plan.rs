//! From a diagnosis and a request to a plan: which parents, which remedy for each, and which
//! are refused and why. Pure: nothing is read or sent here.

use super::Refusal;
use super::safety;
use super::{
    Advice, Choice, FirstSeen, FixReport, FixSummary, HiddenParent, Note, Outcome, ParentResult,
    Request, Skip, Target, ZombieResult, ms,
};
use crate::diagnose::{Context, Diagnosis, ParentFinding, Remedy};
use crate::ignore::{Entry, IgnoreList};
use crate::proc::{Pid, Snapshot};

/// Why a target names no parent to act on. report/fix.rs says it (and what to use instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetError {
    /// --parent or --pid: no such process (it exited, or was reaped).
    NoProcess { pid: Pid, zombie_wanted: bool },
    /// --parent on a zombie.
    IsZombie { pid: Pid, comm: String, ppid: Pid },
    /// --parent on a live process with no zombies.
    NoZombies { pid: Pid, comm: String },
    /// --pid on a process whose main thread exited while others run (`Zl`).
    ExitedLeader {
        pid: Pid,
        comm: String,
        live_threads: Option<u64>,
    },
    /// --pid on a parent of zombies.
    IsParent {
        pid: Pid,
        comm: String,
        zombies: usize,
    },
    /// --pid on a live process that is no zombie.
    NotZombie { pid: Pid, comm: String, state: char },
}

impl std::error::Error for TargetError {}

/// Resolves the target and decides, parent by parent, what fix will do. Bad targets (no such
/// process, a process with no zombies) are errors that say what to use instead.
pub fn plan(
    snap: &Snapshot,
    diag: &Diagnosis,
    ctx: &Context,
    req: &Request,
    ignore: &IgnoreList,
    first_seen: &FirstSeen,
) -> Result<FixReport, TargetError> {
    let mut skipped_ignored = 0;
    let findings: Vec<ParentFinding> = match req.target {
        Target::Parent(pid) => match diag.parent(pid) {
            Some(f) => vec![f.clone()],
            None => return Err(not_a_parent(snap, pid)),
        },
        Target::Zombie(pid) => match diag.parent_of_zombie(pid) {
            Some(f) => vec![f.clone()],
            None => return Err(not_a_zombie(snap, diag, pid)),
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
        .map(|f| {
            plan_parent(
                f,
                ctx,
                req,
                ignore,
                first_seen,
                target_zombie,
                &diag.parents,
            )
        })
        .collect();
    let uses_list = req.choice == Choice::Ignore || req.target == Target::All;
    let mut report = FixReport {
        remedy: req.choice,
        dry_run: false,
        executed: false,
        grace_ms: ms(req.grace),
        timeout_ms: ms(req.timeout),
        settle_ms: ms(req.settle),
        min_age_ms: ms(req.min_age),
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
    first_seen: &FirstSeen,
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
        Choice::Reap => Remedy::Reap,
        Choice::Auto if held_target => Remedy::DetachTracer,
        // --prefer-reap: a parent that would be killed, or an init that would need a restart,
        // is made to reap instead.
        Choice::Auto
            if req.prefer_reap && matches!(f.recommended, Remedy::KillParent | Remedy::FixInit) =>
        {
            Remedy::Reap
        }
        Choice::Auto => f.recommended,
    };
    // --reap leaves the zombies younger than --min-age (unless --force): their parent may yet
    // ask for their exit status, and would then get ECHILD.
    let too_young = |z: &crate::diagnose::Zombie| {
        if remedy != Remedy::Reap || req.force {
            return false;
        }
        let since = first_seen
            .get(&(z.pid, z.start_ticks))
            .copied()
            .or(z.started_unix)
            .unwrap_or(0);
        ctx.now_unix.saturating_sub(since) < req.min_age.as_secs()
    };
    let young = f
        .zombies
        .iter()
        .filter(|z| target_zombie.is_none_or(|t| t == z.pid) && too_young(z))
        .count();
    let targeted = match target_zombie {
        Some(_) => 1,
        None => f.zombies.len(),
    };
    let (outcome, refusal, note) = match remedy {
        Remedy::Ignore if req.choice == Choice::Ignore => {
            let entry = entry_for(&f, req);
            if ignore.entries.contains(&entry) || ignore.is_ignored(&f) {
                (Outcome::Ignored, None, Note::AlreadyIgnored)
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
                    Note::WillIgnore { key: entry.key() },
                )
            }
        }
        // --auto reports these recommendations; it does not change the ignore list (that is a
        // decision about monitoring) and cannot install an init.
        // Asleep in wait(): it may yet reap them; the advice is to give it time, not to
        // silence it for good.
        Remedy::Ignore if f.in_wait => (Outcome::Advised, None, Note::Advice(Advice::IgnoreForNow)),
        Remedy::Ignore => (Outcome::Advised, None, Note::Advice(Advice::Ignore)),
        Remedy::FixInit => (Outcome::Advised, None, Note::Advice(Advice::FixInit)),
        // A tracer is most often a debugger someone is using: fix names it, never kills it.
        Remedy::DetachTracer => (Outcome::Advised, None, Note::Advice(Advice::DetachTracer)),
        Remedy::Reap => match safety::check_reap(&f, ctx, req.force)
            .or(held_target.then_some(Refusal::HeldByTracer))
            .or((young == targeted).then_some(Refusal::TooYoung))
        {
            Some(r) => (Outcome::Refused, Some(r), Note::Refused(r)),
            None => (Outcome::Planned, None, Note::Plan),
        },
        Remedy::SignalParent | Remedy::KillParent => {
            match safety::check(&f, ctx, req.force).or(held_target.then_some(Refusal::HeldByTracer))
            {
                Some(r) => (Outcome::Refused, Some(r), Note::Refused(r)),
                None => (Outcome::Planned, None, Note::Plan),
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
            skipped: too_young(z).then_some(Skip::TooYoung),
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
        note: Some(note),
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
        paused_ms: None,
        warning: None,
        finding: f,
    }
}

/// The ignore-list entry --ignore records for a parent.
pub(super) fn entry_for(f: &ParentFinding, req: &Request) -> Entry {
    let mut e = Entry::for_parent(f, req.ignore_same_user);
    e.note = req.ignore_note.clone();
    e
}

fn not_a_parent(snap: &Snapshot, pid: Pid) -> TargetError {
    match snap.get(pid) {
        None => TargetError::NoProcess {
            pid,
            zombie_wanted: false,
        },
        Some(p) if p.is_zombie() => TargetError::IsZombie {
            pid,
            comm: p.comm.clone(),
            ppid: p.ppid,
        },
        Some(p) => TargetError::NoZombies {
            pid,
            comm: p.comm.clone(),
        },
    }
}

fn not_a_zombie(snap: &Snapshot, diag: &Diagnosis, pid: Pid) -> TargetError {
    match snap.get(pid) {
        None => TargetError::NoProcess {
            pid,
            zombie_wanted: true,
        },
        Some(p) if p.is_exited_leader() => TargetError::ExitedLeader {
            pid,
            comm: p.comm.clone(),
            live_threads: snap.live_threads(p),
        },
        Some(p) => match diag.parent(pid) {
            Some(f) => TargetError::IsParent {
                pid,
                comm: p.comm.clone(),
                zombies: f.zombies.len(),
            },
            None => TargetError::NotZombie {
                pid,
                comm: p.comm.clone(),
                state: p.state,
            },
        },
    }
}

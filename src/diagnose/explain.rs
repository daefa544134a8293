//! What `explain` knows about one PID: what it is, the parent that holds it (or that it is),
//! and which remedies apply, the recommended one marked. report/explain.rs says it.

use serde::Serialize;

use super::{AdopterVerdict, Diagnosis, ParentFinding, PidLimitUse, Remedy, Summary, Zombie};
use crate::proc::{Pid, Snapshot};

/// What `explain` says about one PID.
#[derive(Clone, Debug)]
pub struct Explanation {
    pub pid: Pid,
    pub kind: SubjectKind,
    pub comm: String,
    pub state: String,
    pub ppid: Pid,
    /// stat's thread count. For a process whose main thread exited (`Zl`), it still counts
    /// that dead thread: `live_threads` does not.
    pub threads: i64,
    /// The threads that have not exited; null when its task directory could not be read.
    pub live_threads: Option<u64>,
    /// Set when the PID is a zombie.
    pub zombie: Option<Zombie>,
    /// The parent that holds the zombie, or the PID itself when it holds zombies.
    pub parent: Option<ParentFinding>,
    /// Each remedy that applies, in the order to present them.
    pub remedies: Vec<RemedyChoice>,
    /// The cgroup PID limits the parent runs under, nearest first, with the zombies below.
    pub pid_limits: Vec<PidLimitUse>,
    /// The scan's figures: the host's PIDs in use, pid_max, threads-max, zombies.
    pub summary: Summary,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubjectKind {
    /// A dead process waiting to be reaped.
    Zombie,
    /// A live process holding zombie children.
    Parent,
    /// A live process with no zombie children.
    NoZombies,
    /// The main thread exited while other threads run (`Zl`): alive, not a zombie.
    ExitedMainThread,
}

/// A remedy that applies to a parent, and whether it is the one recommended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemedyChoice {
    pub remedy: Remedy,
    pub recommended: bool,
}

/// Explains one PID. None when no such process is in the snapshot.
pub fn explain(snap: &Snapshot, diag: &Diagnosis, pid: Pid) -> Option<Explanation> {
    let p = snap.get(pid)?;
    let (kind, zombie, parent) = if p.is_zombie() {
        let parent = diag.parent_of_zombie(pid).cloned();
        let zombie = parent
            .as_ref()
            .and_then(|f| f.zombies.iter().find(|z| z.pid == pid).cloned());
        (SubjectKind::Zombie, zombie, parent)
    } else if p.is_exited_leader() {
        (
            SubjectKind::ExitedMainThread,
            None,
            diag.parent(pid).cloned(),
        )
    } else if let Some(f) = diag.parent(pid) {
        (SubjectKind::Parent, None, Some(f.clone()))
    } else {
        (SubjectKind::NoZombies, None, None)
    };
    // A zombie a tracer holds is the tracer's to release, whatever its siblings need.
    let recommended = match &zombie {
        Some(z) if z.held_by_tracer.is_some() => Some(Remedy::DetachTracer),
        _ => parent.as_ref().map(|f| f.recommended),
    };
    let remedies = parent
        .as_ref()
        .zip(recommended)
        .map(|(f, r)| remedy_choices(f, r))
        .unwrap_or_default();
    // The limits that hold the parent, nearest (deepest) first.
    let mut pid_limits: Vec<PidLimitUse> = parent
        .as_ref()
        .map(|f| {
            diag.pid_limits
                .iter()
                .filter(|u| u.parents.contains(&f.pid))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    pid_limits.sort_by_key(|u| std::cmp::Reverse(u.limit.cgroup.len()));
    Some(Explanation {
        pid,
        kind,
        comm: p.comm.clone(),
        state: p.state.to_string(),
        ppid: p.ppid,
        threads: p.num_threads,
        live_threads: snap.live_threads(p),
        zombie,
        parent,
        remedies,
        pid_limits,
        summary: diag.summary.clone(),
    })
}

/// Every remedy that applies to a parent; `recommended` is marked. Detaching the tracer comes
/// first when one holds zombies; fix-init comes last when the parent is an init or its
/// adopter does not reap.
pub fn remedy_choices(f: &ParentFinding, recommended: Remedy) -> Vec<RemedyChoice> {
    let mut out = Vec::new();
    if f.held_by_tracers() > 0 {
        out.push(Remedy::DetachTracer);
    }
    out.extend([Remedy::SignalParent, Remedy::KillParent]);
    // Only where fix --reap would not refuse outright: a tracer already holds a traced
    // parent, and a stopped one would be seen moving by its job control.
    let traced = f.details.as_ref().is_some_and(|d| d.tracer_pid > 0);
    let stopped = matches!(f.state.as_str(), "T" | "t");
    if !f.kernel_thread && !traced && !stopped {
        out.push(Remedy::Reap);
    }
    out.push(Remedy::Ignore);
    if f.pid_ns_init || f.adopter.verdict == AdopterVerdict::NotReaping {
        out.push(Remedy::FixInit);
    }
    out.into_iter()
        .map(|remedy| RemedyChoice {
            remedy,
            recommended: remedy == recommended,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::ParentDetails;

    fn offers_reap(f: &ParentFinding) -> bool {
        remedy_choices(f, Remedy::KillParent)
            .iter()
            .any(|c| c.remedy == Remedy::Reap)
    }

    #[test]
    fn reap_is_offered_only_where_fix_would_try_it() {
        let mut f = ParentFinding::for_test(40, "worker");
        f.details = Some(ParentDetails::default());
        assert!(offers_reap(&f));
        f.state = "t".into();
        assert!(!offers_reap(&f), "a stopped parent");
        f.state = "S".into();
        f.details = Some(ParentDetails {
            tracer_pid: 39,
            ..ParentDetails::default()
        });
        assert!(!offers_reap(&f), "a traced parent");
        f.details = None;
        f.kernel_thread = true;
        assert!(!offers_reap(&f), "a kernel thread");
    }
}

//! Who would adopt a parent's zombies if it died, and whether that adopter would reap them.

use serde::Serialize;

use crate::proc::{ParentDetails, Pid, Snapshot};

/// Who would adopt the zombies if the parent died.
#[derive(Clone, Debug)]
pub struct Adopter {
    /// The likely adopter, as this procfs numbers it; null when it cannot be known.
    pub pid: Option<Pid>,
    pub comm: Option<String>,
    /// How it was found, which says how sure that is.
    pub basis: AdopterBasis,
    /// Whether it would reap them: decided once here, so that every sentence about the
    /// adopter (the diagnosis, the kill-parent remedy, fix's plan) says the same.
    pub verdict: AdopterVerdict,
}

/// How the adopter was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdopterBasis {
    /// The parent is PID 1 of its namespace: there is no adopter, the namespace ends.
    ParentIsInit,
    /// A well-known child subreaper among the parent's ancestors.
    KnownSubreaper,
    /// The init of the parent's PID namespace (unless an unknown subreaper is closer).
    NamespaceInit,
    /// The init of the parent's namespace is not visible from this procfs.
    NotVisible,
}

/// What would become of the zombies in their adopter's hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdopterVerdict {
    /// An init or a subreaper with no sign of trouble: it should reap them.
    ShouldReap,
    /// PID 1 of the namespace, itself holding zombies it has not reaped: they would only
    /// move there.
    NotReaping,
    /// The parent is PID 1 of its namespace: its death ends the whole namespace.
    NamespaceEnds,
    /// The adopter is not visible from this procfs.
    Unknown,
}

/// Who adopts the zombies when the parent (the whole process: kill-parent kills every thread)
/// dies: the nearest child subreaper above it, else the init of its PID namespace. Its
/// other threads do not count: they die with it.
pub(super) fn adopter(
    snap: &Snapshot,
    pid: Pid,
    details: Option<&ParentDetails>,
    pid_ns_init: bool,
) -> Adopter {
    let found = |p: Pid, basis| Adopter {
        pid: Some(p),
        comm: snap.get(p).map(|p| p.comm.clone()),
        basis,
        verdict: AdopterVerdict::ShouldReap,
    };
    if pid_ns_init {
        return Adopter {
            pid: None,
            comm: None,
            basis: AdopterBasis::ParentIsInit,
            verdict: AdopterVerdict::NamespaceEnds,
        };
    }
    let ns_init = details.and_then(|d| d.ns_init);
    // The kernel hands orphans to the nearest child subreaper below the namespace's init.
    // /proc does not flag subreapers, but a few well-known programs always are one.
    let known = snap
        .ancestors(pid)
        .into_iter()
        .take_while(|&a| Some(a) != ns_init)
        .find(|&a| snap.get(a).is_some_and(|p| is_known_subreaper(&p.comm, a)));
    if let Some(sub) = known {
        return found(sub, AdopterBasis::KnownSubreaper);
    }
    match ns_init {
        Some(init) => found(init, AdopterBasis::NamespaceInit),
        None => Adopter {
            pid: None,
            comm: None,
            basis: AdopterBasis::NotVisible,
            verdict: AdopterVerdict::Unknown,
        },
    }
}

/// Programs that make themselves child subreapers: systemd's user manager (any systemd
/// that is not PID 1), container shims and monitors.
fn is_known_subreaper(comm: &str, pid: Pid) -> bool {
    (comm == "systemd" && pid != 1)
        || comm.starts_with("containerd-shim")
        || matches!(comm, "conmon" | "tini" | "catatonit")
}

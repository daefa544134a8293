//! `zombies demo`: lifecycle demos that make the real system calls on the live kernel and
//! narrate numbered steps with the evidence read from /proc. One file per demo; this one
//! registers them and holds the evidence rows several of them show. Names and summaries are
//! in [`crate::teach::catalog`]; the dispatcher, the narration, the runtime and the /proc
//! reads are shared with the IPC demos in [`crate::teach`].

mod autoreap;
mod clone;
mod exec;
mod exit;
mod fork;
mod orphan;
mod sched;
mod vfork;
mod zombie;

use nix::sys::wait::WaitStatus;

use crate::teach::lab::Demo;
use crate::teach::narrate::Evidence;
use crate::teach::runtime;

/// Every demo, in the order `demo all` runs them: birth, life, death (the order of
/// [`crate::teach::catalog::lifecycle::DEMOS`]).
pub(crate) const REGISTRY: &[Demo] = &[
    fork::DEMO,
    vfork::DEMO,
    clone::DEMO,
    exec::DEMO,
    sched::DEMO,
    exit::DEMO,
    zombie::DEMO,
    autoreap::DEMO,
    orphan::DEMO,
];

/// waitpid's status for a reaped child, as the proof that it is the one `expected`.
fn status_evidence(ws: WaitStatus, expected: WaitStatus, meaning: &str) -> Evidence {
    Evidence::new("waitpid", "status", runtime::describe(ws), meaning).check(ws == expected)
}

/// Whether /proc/PID still exists after the reap (`gone`: it does not, or holds another
/// process), as the proof that nothing is left behind.
fn gone_evidence(pid: i32, gone: bool, meaning: &str) -> Evidence {
    Evidence::new(
        format!("/proc/{pid}"),
        "exists",
        if gone { "no" } else { "yes" },
        meaning,
    )
    .check(gone)
}

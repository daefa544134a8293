//! The decision: from the facts about one parent to one remedy and the grounds for it. The
//! grounds are data; report/findings.rs puts them into words.

use super::{Disposition, Remedy};

/// Why a parent has not reaped, from its SIGCHLD disposition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A handler is installed but SIGCHLD is blocked.
    CaughtButBlocked,
    /// A handler runs and has not reaped them.
    HandlerDidNotReap,
    /// SIGCHLD is ignored now, which does not reap zombies made before.
    IgnoredTooLate,
    /// SIGCHLD at its default but blocked: a signalfd or sigwaitinfo loop might collect them.
    DefaultButBlocked,
    /// SIGCHLD at its default and no wait() for them.
    NoWait,
    /// The parent's status could not be read.
    Uninspectable,
}

impl Cause {
    pub fn of(sigchld: Disposition, blocked: bool) -> Cause {
        match (sigchld, blocked) {
            (Disposition::Caught, true) => Cause::CaughtButBlocked,
            (Disposition::Caught, false) => Cause::HandlerDidNotReap,
            (Disposition::Ignored, _) => Cause::IgnoredTooLate,
            (Disposition::Default, true) => Cause::DefaultButBlocked,
            (Disposition::Default, false) => Cause::NoWait,
            (Disposition::Unknown, _) => Cause::Uninspectable,
        }
    }
}

/// What the parent does with zombies a tracer hands back: the kernel gives them back to it as
/// if they had just died (do_notify_parent), so its usual way of reaping decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterRelease {
    /// It sleeps in wait(): reaps them at once.
    WaitReaps,
    /// It ignores SIGCHLD: the kernel reaps them at once.
    KernelReaps,
    /// Its SIGCHLD handler should reap them.
    HandlerReaps,
    /// Nothing reaps them: it still has to.
    StillHasTo(Cause),
}

impl AfterRelease {
    pub fn of(in_wait: bool, sigchld: Disposition, blocked: bool) -> AfterRelease {
        if in_wait {
            AfterRelease::WaitReaps
        } else if sigchld == Disposition::Ignored {
            AfterRelease::KernelReaps
        } else if sigchld == Disposition::Caught && !blocked {
            AfterRelease::HandlerReaps
        } else {
            AfterRelease::StillHasTo(Cause::of(sigchld, blocked))
        }
    }
}

/// The grounds of a recommendation. Details a sentence needs beyond these (the tracers, a
/// traced parent, a critical name, a stopped state, an adopter that does not reap) are facts
/// of the finding itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grounds {
    /// A kernel thread: nothing can be sent to it. (ignore)
    KernelThread,
    /// Tracers hold every zombie; what follows once they let go. (detach-tracer)
    AllHeld(AfterRelease),
    /// PID 1 of its namespace. (fix-init)
    NamespaceInit,
    /// An unblocked SIGCHLD handler: a nudge should make it reap. (signal-parent)
    HandlerShouldReap,
    /// It is our own ancestor or session leader. (ignore)
    OwnSession(Cause),
    /// It sleeps in wait() for other children. (ignore for now)
    WaitsForOthers,
    /// Only its death gets them adopted and reaped. (kill-parent, or fix-init when the
    /// adopter does not reap)
    OnlyDeath(Cause),
}

/// The facts a recommendation rests on.
pub struct Facts {
    pub sigchld: Disposition,
    pub blocked: bool,
    pub pid_ns_init: bool,
    pub kernel_thread: bool,
    /// The parent sleeps in wait().
    pub in_wait: bool,
    /// Its zombies, and how many of them other processes trace.
    pub zombies: usize,
    pub held: usize,
    pub is_ancestor: bool,
    pub is_session_leader: bool,
}

/// Picks one remedy, with its grounds.
pub fn recommend(f: &Facts) -> (Remedy, Grounds) {
    if f.kernel_thread {
        return (Remedy::Ignore, Grounds::KernelThread);
    }
    // A zombie traced by another process is reaped by that tracer, or handed back to its
    // parent when the tracer waits for it, detaches or dies (ptrace has worked so on every
    // kernel this tool supports): nothing done to the parent frees it.
    if f.held > 0 && f.held == f.zombies {
        let then = AfterRelease::of(f.in_wait, f.sigchld, f.blocked);
        return (Remedy::DetachTracer, Grounds::AllHeld(then));
    }
    if f.pid_ns_init {
        return (Remedy::FixInit, Grounds::NamespaceInit);
    }
    if f.sigchld == Disposition::Caught && !f.blocked {
        return (Remedy::SignalParent, Grounds::HandlerShouldReap);
    }
    let cause = Cause::of(f.sigchld, f.blocked);
    if f.is_ancestor || f.is_session_leader {
        return (Remedy::Ignore, Grounds::OwnSession(cause));
    }
    // A parent asleep in wait() reaps whatever it waits for: these are children it does not
    // wait for now (waitpid() on one PID or a process group), or ones that died a moment ago.
    if f.in_wait {
        return (Remedy::Ignore, Grounds::WaitsForOthers);
    }
    (Remedy::KillParent, Grounds::OnlyDeath(cause))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(sigchld: Disposition) -> Facts {
        Facts {
            sigchld,
            blocked: false,
            pid_ns_init: false,
            kernel_thread: false,
            in_wait: false,
            zombies: 1,
            held: 0,
            is_ancestor: false,
            is_session_leader: false,
        }
    }

    #[test]
    fn caught_and_unblocked_is_signal_parent() {
        assert_eq!(
            recommend(&facts(Disposition::Caught)),
            (Remedy::SignalParent, Grounds::HandlerShouldReap)
        );
    }

    #[test]
    fn blocked_or_default_is_kill_parent() {
        let blocked = Facts {
            blocked: true,
            ..facts(Disposition::Caught)
        };
        assert_eq!(
            recommend(&blocked),
            (
                Remedy::KillParent,
                Grounds::OnlyDeath(Cause::CaughtButBlocked)
            )
        );
        assert_eq!(
            recommend(&facts(Disposition::Default)),
            (Remedy::KillParent, Grounds::OnlyDeath(Cause::NoWait))
        );
        assert_eq!(
            recommend(&facts(Disposition::Ignored)),
            (
                Remedy::KillParent,
                Grounds::OnlyDeath(Cause::IgnoredTooLate)
            )
        );
    }

    #[test]
    fn init_is_fix_init_never_kill() {
        for d in [Disposition::Caught, Disposition::Default] {
            let f = Facts {
                pid_ns_init: true,
                ..facts(d)
            };
            assert_eq!(recommend(&f), (Remedy::FixInit, Grounds::NamespaceInit));
        }
    }

    #[test]
    fn own_session_and_kernel_threads_are_ignored() {
        let f = Facts {
            is_session_leader: true,
            ..facts(Disposition::Default)
        };
        assert_eq!(recommend(&f).0, Remedy::Ignore);
        let f = Facts {
            is_ancestor: true,
            ..facts(Disposition::Default)
        };
        assert_eq!(
            recommend(&f),
            (Remedy::Ignore, Grounds::OwnSession(Cause::NoWait))
        );
        let f = Facts {
            kernel_thread: true,
            ..facts(Disposition::Caught)
        };
        assert_eq!(recommend(&f), (Remedy::Ignore, Grounds::KernelThread));
    }

    #[test]
    fn a_waiting_parent_is_never_told_to_die() {
        for d in [
            Disposition::Default,
            Disposition::Ignored,
            Disposition::Unknown,
        ] {
            let f = Facts {
                in_wait: true,
                ..facts(d)
            };
            assert_eq!(recommend(&f), (Remedy::Ignore, Grounds::WaitsForOthers));
        }
        let blocked = Facts {
            in_wait: true,
            blocked: true,
            ..facts(Disposition::Caught)
        };
        assert_ne!(recommend(&blocked).0, Remedy::KillParent);
    }

    #[test]
    fn zombies_held_by_a_tracer_point_at_the_tracer() {
        let all = Facts {
            zombies: 2,
            held: 2,
            in_wait: true,
            ..facts(Disposition::Default)
        };
        assert_eq!(
            recommend(&all),
            (
                Remedy::DetachTracer,
                Grounds::AllHeld(AfterRelease::WaitReaps)
            )
        );
        // Not waiting: once the tracer lets go the parent still has to reap.
        let idle = Facts {
            in_wait: false,
            ..all
        };
        assert_eq!(
            recommend(&idle),
            (
                Remedy::DetachTracer,
                Grounds::AllHeld(AfterRelease::StillHasTo(Cause::NoWait))
            )
        );
        // Some free, some held: the parent is at fault for the free ones.
        let some = Facts {
            zombies: 3,
            held: 1,
            ..facts(Disposition::Default)
        };
        assert_eq!(recommend(&some).0, Remedy::KillParent);
    }
}

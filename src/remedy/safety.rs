//! Who fix must never signal, decided from the diagnosis alone (pure, unit-tested). The
//! recycled-PID rule lives in proc/handle.rs, where the signal is sent.

use serde::Serialize;

use crate::diagnose::{Context, ParentFinding, is_critical_name};

/// Why a parent is not signalled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Refusal {
    /// PID 1 of its PID namespace: its death takes the whole namespace (container) down.
    NamespaceInit,
    /// kthreadd or another kernel thread: signals do not apply.
    KernelThread,
    /// The zombies process itself.
    ThisTool,
    /// An ancestor of this process: the user's shell, terminal, tmux, sshd or cron daemon.
    Ancestor,
    /// The leader of this process's session: the user's login shell.
    SessionLeader,
    /// On the critical list and --force was not given.
    Critical,
    /// Its /proc/PID/status could not be read, so nothing proves it is not PID 1 of a
    /// namespace (NSpid) or what it does with SIGCHLD: never act blind.
    Unverified,
    /// The targeted zombies are traced by another process, which alone can reap them until it
    /// lets go: signalling or killing their parent cannot clear them (its adopter could not
    /// reap them either), so fix does not hurt a parent for nothing.
    HeldByTracer,
    /// --reap: the parent is traced; a second tracer cannot attach, and its tracer must not
    /// be surprised.
    ParentTraced,
    /// --reap: the parent is stopped (T, t): ptrace would have to continue it.
    ParentStopped,
    /// --reap: the parent is in uninterruptible sleep (D, e.g. vfork): it cannot be stopped
    /// until it wakes.
    ParentUninterruptible,
    /// --reap: a seccomp filter (Seccomp: 2) may answer wait4 by killing the parent (SIGSYS).
    Seccomp,
    /// --reap: every targeted zombie is younger than --min-age.
    TooYoung,
}

impl Refusal {
    /// Whether --force lifts it: the critical list, and a seccomp filter for --reap.
    pub fn forceable(self) -> bool {
        matches!(
            self,
            Refusal::Critical | Refusal::Seccomp | Refusal::TooYoung
        )
    }
}

/// The first rule that forbids `fix --reap` on `p`, or None. Unlike a signal, a reap does not
/// end the parent: PID 1 of a namespace may be reaped for (it is the one remedy that clears a
/// container without restarting it), and critical services too. Kernel threads, this tool and
/// its ancestors never; a parent ptrace cannot hold safely neither.
pub fn check_reap(p: &ParentFinding, ctx: &Context, force: bool) -> Option<Refusal> {
    if p.kernel_thread || p.comm == "kthreadd" {
        return Some(Refusal::KernelThread);
    }
    let Some(d) = &p.details else {
        return Some(Refusal::Unverified);
    };
    if p.pid == ctx.self_pid {
        return Some(Refusal::ThisTool);
    }
    if ctx.ancestors.contains(&p.pid) || (ctx.session > 0 && p.pid == ctx.session) {
        return Some(Refusal::Ancestor);
    }
    if d.tracer_pid > 0 {
        return Some(Refusal::ParentTraced);
    }
    match p.state.as_str() {
        "T" | "t" => return Some(Refusal::ParentStopped),
        "D" => return Some(Refusal::ParentUninterruptible),
        _ => {}
    }
    if !force && d.seccomp == Some(2) {
        return Some(Refusal::Seccomp);
    }
    None
}

/// The first rule that forbids signalling `p`, or None when it may be signalled. `--force`
/// lifts only the critical list; PID 1, kernel threads, this tool, its ancestors and its
/// session leader stay refused.
pub fn check(p: &ParentFinding, ctx: &Context, force: bool) -> Option<Refusal> {
    if p.kernel_thread || p.comm == "kthreadd" {
        return Some(Refusal::KernelThread);
    }
    if p.pid == 1 || p.pid_ns_init {
        return Some(Refusal::NamespaceInit);
    }
    if p.details.is_none() {
        return Some(Refusal::Unverified);
    }
    if p.pid == ctx.self_pid {
        return Some(Refusal::ThisTool);
    }
    if ctx.ancestors.contains(&p.pid) {
        return Some(Refusal::Ancestor);
    }
    if ctx.session > 0 && p.pid == ctx.session {
        return Some(Refusal::SessionLeader);
    }
    if !force && is_critical_name(&p.comm) {
        return Some(Refusal::Critical);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn finding(pid: i32, comm: &str) -> ParentFinding {
        ParentFinding {
            start_ticks: 1,
            details: Some(Default::default()),
            ..ParentFinding::for_test(pid, comm)
        }
    }

    #[test]
    fn unreadable_status_is_refused_even_with_force() {
        let blind = ParentFinding {
            details: None,
            ..finding(4242, "srv")
        };
        assert_eq!(check(&blind, &ctx(), true), Some(Refusal::Unverified));
    }

    fn ctx() -> Context {
        Context {
            self_pid: 500,
            ancestors: vec![400, 300, 1],
            session: 300,
            now_unix: 0,
            euid: 0,
        }
    }

    #[test]
    fn reap_allows_a_namespace_init_but_never_a_kernel_thread_or_an_ancestor() {
        let init = ParentFinding {
            pid_ns_init: true,
            ..finding(600, "node")
        };
        assert_eq!(check_reap(&init, &ctx(), false), None);
        let kthread = ParentFinding {
            kernel_thread: true,
            ..finding(77, "kworker/0:1")
        };
        assert_eq!(
            check_reap(&kthread, &ctx(), true),
            Some(Refusal::KernelThread)
        );
        assert_eq!(
            check_reap(&finding(2, "kthreadd"), &ctx(), true),
            Some(Refusal::KernelThread)
        );
        assert_eq!(
            check_reap(&finding(400, "bash"), &ctx(), true),
            Some(Refusal::Ancestor)
        );
        assert_eq!(
            check_reap(&finding(500, "zombies"), &ctx(), true),
            Some(Refusal::ThisTool)
        );
        let filtered = ParentFinding {
            details: Some(crate::proc::ParentDetails {
                seccomp: Some(2),
                ..Default::default()
            }),
            ..finding(4242, "srv")
        };
        assert_eq!(check_reap(&filtered, &ctx(), false), Some(Refusal::Seccomp));
        assert_eq!(check_reap(&filtered, &ctx(), true), None, "--force");
    }

    #[test]
    fn ordinary_parent_is_allowed() {
        assert_eq!(check(&finding(4242, "srv"), &ctx(), false), None);
    }

    #[test]
    fn pid_one_of_any_namespace_even_with_force() {
        assert_eq!(
            check(&finding(1, "systemd"), &ctx(), true),
            Some(Refusal::NamespaceInit)
        );
        let container_init = ParentFinding {
            pid_ns_init: true,
            ..finding(7000, "node")
        };
        assert_eq!(
            check(&container_init, &ctx(), true),
            Some(Refusal::NamespaceInit)
        );
    }

    #[test]
    fn kernel_threads_and_kthreadd() {
        let kt = ParentFinding {
            kernel_thread: true,
            ..finding(90, "kworker/0:1")
        };
        assert_eq!(check(&kt, &ctx(), true), Some(Refusal::KernelThread));
        assert_eq!(
            check(&finding(2, "kthreadd"), &ctx(), true),
            Some(Refusal::KernelThread)
        );
    }

    #[test]
    fn self_ancestors_and_session_leader_even_with_force() {
        assert_eq!(
            check(&finding(500, "zombies"), &ctx(), true),
            Some(Refusal::ThisTool)
        );
        assert_eq!(
            check(&finding(400, "bash"), &ctx(), true),
            Some(Refusal::Ancestor)
        );
        // A session leader that is not an ancestor (we were started with setsid elsewhere).
        let c = Context {
            ancestors: vec![1],
            ..ctx()
        };
        assert_eq!(
            check(&finding(300, "bash"), &c, true),
            Some(Refusal::SessionLeader)
        );
    }

    #[test]
    fn critical_names_need_force_and_say_so() {
        let p = finding(800, "sshd");
        let r = check(&p, &ctx(), false);
        assert_eq!(r, Some(Refusal::Critical));
        assert!(r.unwrap().forceable());
        assert_eq!(check(&p, &ctx(), true), None);
        assert!(!Refusal::Ancestor.forceable());
    }
}

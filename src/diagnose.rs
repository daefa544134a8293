//! From a snapshot to findings: zombies grouped by the parent that is not reaping them, why,
//! and which remedy to apply. Pure: everything it needs is in the snapshot and the context.

use serde::Serialize;

use crate::proc::stat::ExitStatus;
use crate::proc::users::Users;
use crate::proc::{ParentDetails, Pid, Process, Snapshot};

/// Who is asking: the remedies must never hurt the tool's own ancestors or session.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub self_pid: Pid,
    /// Our ancestors, nearest first (our shell, its terminal, sshd, ...).
    pub ancestors: Vec<Pid>,
    /// Our session id: its leader is the user's login shell.
    pub session: Pid,
    /// Seconds since the epoch, to turn start times into ages.
    pub now_unix: u64,
    /// Our effective uid: a zombie's exit status is readable as root or as its owner.
    pub euid: u32,
}

impl Context {
    /// The context of the running process, as the snapshot sees it.
    pub fn current(snap: &Snapshot) -> Context {
        let self_pid = std::process::id() as Pid;
        Context {
            self_pid,
            ancestors: snap.ancestors(self_pid),
            session: nix::unistd::getsid(None).map(|p| p.as_raw()).unwrap_or(0),
            now_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            euid: nix::unistd::geteuid().as_raw(),
        }
    }
}

/// What the parent does with SIGCHLD.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// A handler is installed (SigCgt).
    Caught,
    /// SIG_IGN (SigIgn): new children are reaped by the kernel, old zombies stay.
    Ignored,
    /// SIG_DFL: the signal is discarded; only an explicit wait() reaps.
    Default,
    /// The parent's status could not be read.
    Unknown,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Caught => "caught",
            Disposition::Ignored => "ignored",
            Disposition::Default => "default",
            Disposition::Unknown => "unknown",
        }
    }
}

/// The four remedies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Remedy {
    /// Send SIGCHLD so the parent's handler runs and reaps.
    SignalParent,
    /// Terminate the parent: its zombies are adopted by init or a subreaper, which reaps them.
    KillParent,
    /// Live with them: each costs one PID and a task_struct (a few KiB of kernel memory).
    Ignore,
    /// The parent is PID 1 of its namespace and does not reap: run a real init.
    FixInit,
}

impl Remedy {
    pub fn as_str(self) -> &'static str {
        match self {
            Remedy::SignalParent => "signal-parent",
            Remedy::KillParent => "kill-parent",
            Remedy::Ignore => "ignore",
            Remedy::FixInit => "fix-init",
        }
    }
}

/// Who would adopt the zombies if the parent died.
#[derive(Clone, Debug, Serialize)]
pub struct Adopter {
    /// The likely adopter, as this procfs numbers it; null when it cannot be known.
    pub pid: Option<Pid>,
    pub comm: Option<String>,
    /// Why we think so, and what could make it otherwise.
    pub note: String,
}

/// One zombie.
#[derive(Clone, Debug, Serialize)]
pub struct Zombie {
    pub pid: Pid,
    pub ppid: Pid,
    pub comm: String,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// When the process started (the kernel does not record when it died).
    pub started_unix: Option<u64>,
    /// exit(code), when it exited normally and we may read field 52 (root or same uid).
    pub exit_code: Option<i32>,
    /// The signal that killed it, by the same rule.
    pub exit_signal: Option<i32>,
    /// Start time in clock ticks after boot: with the PID, names this zombie for good.
    pub start_ticks: u64,
}

/// A process that holds zombies, with the evidence and the advice.
#[derive(Clone, Debug, Serialize)]
pub struct ParentFinding {
    pub pid: Pid,
    pub comm: String,
    pub cmdline: Option<String>,
    /// The executable path, when readable (the ignore list keys on it).
    pub exe: Option<String>,
    pub uid: Option<u32>,
    pub user: Option<String>,
    /// One letter from stat.
    pub state: String,
    pub sigchld: Disposition,
    pub sigchld_blocked: bool,
    pub sigchld_pending: bool,
    pub wchan: Option<String>,
    /// TracerPid when traced.
    pub traced_by: Option<Pid>,
    pub pid_ns_init: bool,
    pub kernel_thread: bool,
    pub cgroup: Option<String>,
    pub adopter: Adopter,
    pub recommended: Remedy,
    pub reason: String,
    pub start_ticks: u64,
    pub zombies: Vec<Zombie>,
    /// The raw status masks, for `explain`.
    #[serde(skip)]
    pub details: Option<ParentDetails>,
}

impl ParentFinding {
    /// A parent with neutral facts (SIGCHLD default, state S, no zombies), for unit tests.
    #[cfg(test)]
    pub fn for_test(pid: Pid, comm: &str) -> ParentFinding {
        ParentFinding {
            pid,
            comm: comm.into(),
            cmdline: None,
            exe: None,
            uid: Some(0),
            user: None,
            state: "S".into(),
            sigchld: Disposition::Default,
            sigchld_blocked: false,
            sigchld_pending: false,
            wchan: None,
            traced_by: None,
            pid_ns_init: false,
            kernel_thread: false,
            cgroup: None,
            adopter: Adopter {
                pid: None,
                comm: None,
                note: String::new(),
            },
            recommended: Remedy::KillParent,
            reason: String::new(),
            start_ticks: 0,
            zombies: Vec::new(),
            details: None,
        }
    }
}

/// System-wide figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub processes: usize,
    pub zombies: usize,
    pub parents: usize,
    /// Threads count too: each takes a PID.
    pub pids_in_use: u64,
    /// Where pids_in_use comes from: "scan", "loadavg" (hidepid hid processes; the kernel's
    /// count of all tasks) or "visible-only" (a lower bound).
    pub pids_in_use_source: crate::proc::PidsSource,
    pub pid_max: Option<u64>,
    /// pids.max of our cgroup, when limited.
    pub pids_limit: Option<u64>,
    /// /proc entries we could not read (hidepid).
    pub unreadable: usize,
    /// Zombies left out by --parent or --user.
    pub filtered_out: usize,
    /// Zombies left out because their parent is on the ignore list.
    pub ignored: usize,
}

/// The findings of one scan.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Diagnosis {
    pub summary: Summary,
    pub parents: Vec<ParentFinding>,
}

/// Names of processes whose death takes a machine or a login down; fix needs --force for them.
pub const CRITICAL_NAMES: &[&str] = &[
    "systemd",
    "init",
    "sshd",
    "containerd",
    "containerd-shim",
    "containerd-shim-runc-v2",
    "dockerd",
    "runc",
    "crio",
    "conmon",
    "kubelet",
    "tini",
    "dumb-init",
    "s6-svscan",
    "runsvdir",
    "supervisord",
    "login",
    "agetty",
    "cron",
    "crond",
    "polkitd",
    "NetworkManager",
    "rsyslogd",
    "udevd",
    "podman",
    "kube-proxy",
];

/// Whole families: every systemd-* daemon, every OpenSSH helper (sshd-session since 9.8),
/// every containerd shim.
const CRITICAL_PREFIXES: &[&str] = &["systemd", "sshd", "containerd", "dbus-"];

pub fn is_critical_name(comm: &str) -> bool {
    CRITICAL_NAMES.contains(&comm) || CRITICAL_PREFIXES.iter().any(|p| comm.starts_with(p))
}

/// Groups the zombies by parent and diagnoses each parent.
pub fn diagnose(snap: &Snapshot, ctx: &Context, users: &mut Users) -> Diagnosis {
    let mut parents: Vec<ParentFinding> = Vec::new();
    for z in snap.zombies() {
        let zombie = zombie_of(snap, ctx, z, users);
        match parents.iter_mut().find(|p| p.pid == z.ppid) {
            Some(p) => p.zombies.push(zombie),
            None => {
                let mut f = parent_finding(snap, ctx, z.ppid, users);
                f.zombies.push(zombie);
                parents.push(f);
            }
        }
    }
    // Killing a parent hands its zombies to its adopter; when that adopter is an init that is
    // itself holding zombies it has not reaped, kill-parent would only move them there.
    let stuck_inits: Vec<(Pid, String)> = parents
        .iter()
        .filter(|p| p.pid_ns_init && p.recommended == Remedy::FixInit)
        .map(|p| (p.pid, p.comm.clone()))
        .collect();
    for p in &mut parents {
        if p.recommended != Remedy::KillParent {
            continue;
        }
        if let Some((init, name)) = stuck_inits.iter().find(|(i, _)| p.adopter.pid == Some(*i)) {
            p.recommended = Remedy::FixInit;
            p.reason = format!(
                "{}; but its adopter {init} ({name}) is PID 1 of the namespace and is not reaping its own zombies, so killing it would only move these there: fix the init first",
                p.reason
            );
        }
    }
    // Most zombies first: the worst offender leads the report.
    parents.sort_by(|a, b| {
        b.zombies
            .len()
            .cmp(&a.zombies.len())
            .then(a.pid.cmp(&b.pid))
    });
    let zombies = parents.iter().map(|p| p.zombies.len()).sum();
    Diagnosis {
        summary: Summary {
            processes: snap.processes.len(),
            zombies,
            parents: parents.len(),
            pids_in_use: snap.pids_in_use.count,
            pids_in_use_source: snap.pids_in_use.source,
            pid_max: snap.pid_max,
            pids_limit: snap.pids_limit,
            unreadable: snap.unreadable,
            filtered_out: 0,
            ignored: 0,
        },
        parents,
    }
}

impl Diagnosis {
    /// Keeps only what `keep` accepts, zombie by zombie, and counts what it dropped.
    pub fn retain_zombies(&mut self, mut keep: impl FnMut(&ParentFinding, &Zombie) -> bool) {
        let before = self.summary.zombies;
        for p in &mut self.parents {
            let parent = p.clone();
            p.zombies.retain(|z| keep(&parent, z));
        }
        self.parents.retain(|p| !p.zombies.is_empty());
        self.summary.zombies = self.parents.iter().map(|p| p.zombies.len()).sum();
        self.summary.parents = self.parents.len();
        self.summary.filtered_out += before - self.summary.zombies;
    }

    pub fn parent(&self, pid: Pid) -> Option<&ParentFinding> {
        self.parents.iter().find(|p| p.pid == pid)
    }

    /// The parent finding that holds zombie `pid`.
    pub fn parent_of_zombie(&self, pid: Pid) -> Option<&ParentFinding> {
        self.parents
            .iter()
            .find(|p| p.zombies.iter().any(|z| z.pid == pid))
    }
}

fn zombie_of(snap: &Snapshot, ctx: &Context, z: &Process, users: &mut Users) -> Zombie {
    // Field 52 reads as 0 without ptrace access, so trust it only as root or as the owner.
    let readable = ctx.euid == 0 || z.uid == Some(ctx.euid);
    let exit = z
        .exit_status
        .filter(|_| readable)
        .map(ExitStatus::from_wait_status);
    Zombie {
        pid: z.pid,
        ppid: z.ppid,
        comm: z.comm.clone(),
        uid: z.uid,
        user: z.uid.and_then(|u| users.name(u)),
        started_unix: snap.started_unix(z.start_ticks),
        exit_code: match exit {
            Some(ExitStatus::Code(c)) => Some(c),
            _ => None,
        },
        exit_signal: match exit {
            Some(ExitStatus::Signal { signal, .. }) => Some(signal),
            _ => None,
        },
        start_ticks: z.start_ticks,
    }
}

fn parent_finding(snap: &Snapshot, ctx: &Context, pid: Pid, users: &mut Users) -> ParentFinding {
    let proc_ = snap.get(pid);
    let details = snap.parent_details.get(&pid).cloned();
    let chld = libc::SIGCHLD;
    let sigchld = match &details {
        None => Disposition::Unknown,
        Some(d) if d.sig_ignored.has(chld) => Disposition::Ignored,
        Some(d) if d.sig_caught.has(chld) => Disposition::Caught,
        Some(_) => Disposition::Default,
    };
    let blocked = details.as_ref().is_some_and(|d| d.sig_blocked.has(chld));
    let pending = details
        .as_ref()
        .is_some_and(|d| d.sig_pending.has(chld) || d.sig_shared_pending.has(chld));
    let state = proc_.map_or('?', |p| p.state);
    let kernel_thread = proc_.is_some_and(|p| p.is_kernel_thread());
    let pid_ns_init = pid == 1 || details.as_ref().is_some_and(|d| d.nspid.last() == Some(&1));
    let traced_by = details.as_ref().map(|d| d.tracer_pid).filter(|&t| t > 0);
    let comm = proc_.map_or_else(|| "?".to_string(), |p| p.comm.clone());
    let uid = details.as_ref().map(|d| d.uid);
    let (recommended, reason) = recommend(&Facts {
        comm: &comm,
        state,
        sigchld,
        blocked,
        pid_ns_init,
        kernel_thread,
        traced_by,
        is_ancestor: ctx.ancestors.contains(&pid) || pid == ctx.self_pid,
        is_session_leader: pid == ctx.session,
    });
    ParentFinding {
        pid,
        comm,
        cmdline: details.as_ref().and_then(|d| d.cmdline.clone()),
        exe: details.as_ref().and_then(|d| d.exe.clone()),
        uid,
        user: uid.and_then(|u| users.name(u)),
        state: state.to_string(),
        sigchld,
        sigchld_blocked: blocked,
        sigchld_pending: pending,
        wchan: details
            .as_ref()
            .and_then(|d| d.wchan.clone())
            .filter(|w| !w.is_empty() && w != "0"),
        traced_by,
        pid_ns_init,
        kernel_thread,
        cgroup: details.as_ref().and_then(|d| d.cgroup.clone()),
        adopter: adopter(snap, pid, details.as_ref(), pid_ns_init),
        recommended,
        reason,
        start_ticks: proc_.map_or(0, |p| p.start_ticks),
        zombies: Vec::new(),
        details,
    }
}

/// The facts a recommendation rests on.
pub struct Facts<'a> {
    pub comm: &'a str,
    pub state: char,
    pub sigchld: Disposition,
    pub blocked: bool,
    pub pid_ns_init: bool,
    pub kernel_thread: bool,
    pub traced_by: Option<Pid>,
    pub is_ancestor: bool,
    pub is_session_leader: bool,
}

/// Picks one remedy and says why in one sentence.
pub fn recommend(f: &Facts) -> (Remedy, String) {
    if f.kernel_thread {
        return (
            Remedy::Ignore,
            format!(
                "{} is a kernel thread: it cannot be signalled or killed; the zombies are harmless unless they pile up",
                f.comm
            ),
        );
    }
    if f.pid_ns_init {
        return (
            Remedy::FixInit,
            format!(
                "{} is PID 1 of its PID namespace and has not reaped these children; a real init (systemd, tini) reaps within moments, so if they persist it is not one: in a container, run a real init (`docker run --init`, tini); killing PID 1 would stop everything in the namespace",
                f.comm
            ),
        );
    }
    if f.sigchld == Disposition::Caught && !f.blocked {
        let mut why = format!(
            "{} has a SIGCHLD handler that is not blocked, so a nudge with SIGCHLD should make it reap",
            f.comm
        );
        if f.state == 'T' || f.state == 't' {
            why.push_str("; it is stopped, so the fix sends SIGCONT first");
        }
        if let Some(t) = f.traced_by {
            why.push_str(&format!(
                "; it is traced by PID {t}, which may hold the signal"
            ));
        }
        return (Remedy::SignalParent, why);
    }
    let cause = match (f.sigchld, f.blocked) {
        (Disposition::Caught, true) => "catches SIGCHLD but blocks it",
        (Disposition::Ignored, _) => {
            "ignores SIGCHLD now, which does not reap zombies made before it did"
        }
        (Disposition::Default, true) => {
            "blocks SIGCHLD, which has no handler, and has not reaped them (a program that collects children with signalfd or sigwaitinfo may yet)"
        }
        (Disposition::Default, false) => {
            "leaves SIGCHLD at its default and has not called wait() for them"
        }
        _ => "could not be inspected",
    };
    if f.is_ancestor || f.is_session_leader {
        return (
            Remedy::Ignore,
            format!(
                "{} {cause}, but it is an ancestor of this shell or its session leader: killing it would end your own session; restart it when convenient",
                f.comm
            ),
        );
    }
    let mut why = format!(
        "{} {cause}: only its death will get the zombies adopted and reaped",
        f.comm
    );
    if is_critical_name(f.comm) {
        why.push_str(&format!(
            "; {} is a critical service, so fix needs --force (or choose ignore)",
            f.comm
        ));
    }
    (Remedy::KillParent, why)
}

fn adopter(
    snap: &Snapshot,
    pid: Pid,
    details: Option<&ParentDetails>,
    pid_ns_init: bool,
) -> Adopter {
    let comm = |p: Pid| snap.get(p).map(|p| p.comm.clone());
    if pid_ns_init {
        return Adopter {
            pid: None,
            comm: None,
            note: "the parent is PID 1 of its namespace: if it dies the kernel kills every process in the namespace and the zombies go with it".into(),
        };
    }
    if let Some(d) = details {
        if d.threads > 1 {
            return Adopter {
                pid: Some(pid),
                comm: comm(pid),
                note: "another thread of the same process would inherit them, so killing one thread does not help; kill the whole process".into(),
            };
        }
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
        return Adopter {
            pid: Some(sub),
            comm: comm(sub),
            note: "likely: it is a well-known child subreaper (PR_SET_CHILD_SUBREAPER) between the parent and init; observe after the fact".into(),
        };
    }
    match ns_init {
        Some(init) => Adopter {
            pid: Some(init),
            comm: comm(init),
            note: "the init of its PID namespace, unless an ancestor is a child subreaper (PR_SET_CHILD_SUBREAPER, which /proc does not show): observe after the fact".into(),
        },
        None => Adopter {
            pid: None,
            comm: None,
            note: "cannot be known: the init of the parent's PID namespace is not visible from this procfs".into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(sigchld: Disposition) -> Facts<'static> {
        Facts {
            comm: "srv",
            state: 'S',
            sigchld,
            blocked: false,
            pid_ns_init: false,
            kernel_thread: false,
            traced_by: None,
            is_ancestor: false,
            is_session_leader: false,
        }
    }

    #[test]
    fn caught_and_unblocked_is_signal_parent() {
        assert_eq!(
            recommend(&facts(Disposition::Caught)).0,
            Remedy::SignalParent
        );
        let stopped = Facts {
            state: 'T',
            ..facts(Disposition::Caught)
        };
        let (r, why) = recommend(&stopped);
        assert_eq!(r, Remedy::SignalParent);
        assert!(why.contains("SIGCONT"), "{why}");
    }

    #[test]
    fn blocked_or_default_is_kill_parent() {
        let blocked = Facts {
            blocked: true,
            ..facts(Disposition::Caught)
        };
        assert_eq!(recommend(&blocked).0, Remedy::KillParent);
        assert_eq!(
            recommend(&facts(Disposition::Default)).0,
            Remedy::KillParent
        );
        assert_eq!(
            recommend(&facts(Disposition::Ignored)).0,
            Remedy::KillParent
        );
    }

    #[test]
    fn init_is_fix_init_never_kill() {
        for d in [Disposition::Caught, Disposition::Default] {
            let f = Facts {
                pid_ns_init: true,
                ..facts(d)
            };
            assert_eq!(recommend(&f).0, Remedy::FixInit);
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
        assert_eq!(recommend(&f).0, Remedy::Ignore);
        let f = Facts {
            kernel_thread: true,
            ..facts(Disposition::Caught)
        };
        assert_eq!(recommend(&f).0, Remedy::Ignore);
    }

    #[test]
    fn critical_families_by_prefix() {
        for name in [
            "sshd-session",
            "systemd-journal",
            "dbus-daemon",
            "containerd-shim",
        ] {
            assert!(is_critical_name(name), "{name}");
        }
        assert!(!is_critical_name("nginx") && !is_critical_name("ssh"));
    }

    #[test]
    fn critical_names_need_force() {
        let f = Facts {
            comm: "sshd",
            ..facts(Disposition::Default)
        };
        let (r, why) = recommend(&f);
        assert_eq!(r, Remedy::KillParent);
        assert!(why.contains("--force"), "{why}");
    }
}

/// What `explain` says about one PID.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub pid: Pid,
    pub kind: SubjectKind,
    pub comm: String,
    pub state: String,
    pub ppid: Pid,
    pub threads: i64,
    /// Set when the PID is a zombie.
    pub zombie: Option<Zombie>,
    /// The parent that holds the zombie, or the PID itself when it holds zombies.
    pub parent: Option<ParentFinding>,
    /// Each remedy that applies, with its predicted effect and the command to apply it.
    pub remedies: Vec<RemedyOption>,
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

#[derive(Clone, Debug, Serialize)]
pub struct RemedyOption {
    pub remedy: Remedy,
    pub recommended: bool,
    pub effect: String,
    pub command: String,
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
    let remedies = parent.as_ref().map(remedy_options).unwrap_or_default();
    Some(Explanation {
        pid,
        kind,
        comm: p.comm.clone(),
        state: p.state.to_string(),
        ppid: p.ppid,
        threads: p.num_threads,
        zombie,
        parent,
        remedies,
    })
}

/// Every remedy that applies to a parent, with what it would do.
pub fn remedy_options(f: &ParentFinding) -> Vec<RemedyOption> {
    let cmd = |flag: &str| format!("zombies fix --{flag} --parent {}", f.pid);
    let signal_effect = match (f.sigchld, f.sigchld_blocked) {
        (Disposition::Caught, false) => {
            "its SIGCHLD handler runs; the zombies go if the handler calls wait()".to_string()
        }
        (Disposition::Caught, true) => {
            "SIGCHLD stays pending while it is blocked: no effect until the parent unblocks it"
                .to_string()
        }
        (Disposition::Unknown, _) => "unknown: the parent's status could not be read".to_string(),
        _ => format!(
            "none: SIGCHLD is {} by the parent, so it is discarded",
            if f.sigchld == Disposition::Ignored {
                "ignored"
            } else {
                "left at its default"
            }
        ),
    };
    let adopter = match (f.adopter.pid, &f.adopter.comm) {
        (Some(p), Some(c)) => format!("{c} ({p})"),
        (Some(p), None) => format!("PID {p}"),
        _ => "an adopter that cannot be known".to_string(),
    };
    let kill_effect = if f.pid_ns_init {
        "refused: it is PID 1 of its namespace; killing it kills the whole container".to_string()
    } else {
        format!(
            "SIGTERM, then SIGKILL after the grace time; the zombies are adopted by {adopter}, which should reap them"
        )
    };
    let mut out = vec![
        RemedyOption {
            remedy: Remedy::SignalParent,
            recommended: false,
            effect: signal_effect,
            command: cmd("signal-parent"),
        },
        RemedyOption {
            remedy: Remedy::KillParent,
            recommended: false,
            effect: kill_effect,
            command: cmd("kill-parent"),
        },
        RemedyOption {
            remedy: Remedy::Ignore,
            recommended: false,
            effect: "nothing changes; list and check stop reporting this parent".to_string(),
            command: cmd("ignore"),
        },
    ];
    if f.pid_ns_init {
        out.push(RemedyOption {
            remedy: Remedy::FixInit,
            recommended: false,
            effect: "restart the container with an init that reaps: `docker run --init`, tini or dumb-init as PID 1".to_string(),
            command: "docker run --init ... (or ENTRYPOINT [\"tini\", \"--\"])".to_string(),
        });
    }
    for o in &mut out {
        o.recommended = o.remedy == f.recommended;
    }
    out
}

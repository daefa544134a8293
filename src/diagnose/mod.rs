//! From a snapshot to findings: zombies grouped by the parent that is not reaping them, why,
//! and which remedy to apply. Pure: everything it needs is in the snapshot and the context.
//! It returns data and enums; report/ says them in words and as JSON.

mod adopter;
mod container;
mod explain;
mod recommend;

use std::collections::HashMap;

use serde::Serialize;

pub use adopter::{Adopter, AdopterBasis, AdopterVerdict};
#[cfg(test)]
pub use container::pid_limits;
pub use container::{ContainerFilter, PidLimitUse, percent};
pub use explain::{Explanation, RemedyChoice, SubjectKind, explain};
pub use recommend::{AfterRelease, Cause, Facts, Grounds, recommend};

use crate::proc::cgroup::Container;
use crate::proc::cgroupns::NsRoot;
use crate::proc::headroom::PidLimit;
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

/// The remedies.
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
    /// The zombies are traced by another process, which alone can reap them until it lets
    /// go: quit or detach that debugger (or kill it), and the kernel hands them back to
    /// their parent. fix reports this but does not act on tracers.
    DetachTracer,
    /// Make the parent itself call wait4() for them (through ptrace, a Linux `preap`): it
    /// goes on as it was. Never recommended on its own (`fix --auto --prefer-reap` picks it):
    /// it takes an exit status the program may still ask for.
    Reap,
}

impl Remedy {
    pub fn as_str(self) -> &'static str {
        match self {
            Remedy::SignalParent => "signal-parent",
            Remedy::KillParent => "kill-parent",
            Remedy::Ignore => "ignore",
            Remedy::FixInit => "fix-init",
            Remedy::DetachTracer => "detach-tracer",
            Remedy::Reap => "reap",
        }
    }
}

/// A process named by PID and, when visible, its command name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcessRef {
    pub pid: Pid,
    pub comm: Option<String>,
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
    /// The process tracing it (TracerPid), when that is not its parent: until the tracer
    /// waits for it or lets go, only the tracer can reap it, whatever the parent does.
    pub held_by_tracer: Option<ProcessRef>,
}

/// A process that holds zombies, with the evidence and the advice.
#[derive(Clone, Debug)]
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
    /// The process that traces it (the thread group of `traced_by`), with its name.
    pub tracer: Option<ProcessRef>,
    /// Blocked in wait(), waitpid() or waitid() (wchan do_wait): it reaps any child it waits
    /// for as soon as that child can be reaped.
    pub in_wait: bool,
    pub pid_ns_init: bool,
    pub kernel_thread: bool,
    pub cgroup: Option<String>,
    /// The container, pod or systemd unit its cgroup names; None when not read.
    pub container: Option<Container>,
    /// The nearest cgroup pids.max at or above it, when one is set and readable.
    pub pid_limit: Option<PidLimit>,
    /// Its cgroup path is relative to a cgroup namespace of ours that could not be placed
    /// under --sys: its PID limit is unknown (`pid_limit` None says nothing).
    pub pid_limit_unknown: bool,
    pub adopter: Adopter,
    pub recommended: Remedy,
    /// Why that remedy: report/findings.rs says it in words (the JSON `reason`).
    pub grounds: Grounds,
    pub start_ticks: u64,
    pub zombies: Vec<Zombie>,
    /// The raw status masks, for `explain`.
    pub details: Option<ParentDetails>,
}

impl Zombie {
    /// A zombie of `ppid` that exited with 0, for unit tests.
    #[cfg(test)]
    pub fn for_test(pid: Pid, ppid: Pid) -> Zombie {
        Zombie {
            pid,
            ppid,
            comm: "z".into(),
            uid: Some(0),
            user: None,
            started_unix: None,
            exit_code: Some(0),
            exit_signal: None,
            start_ticks: pid as u64 * 10,
            held_by_tracer: None,
        }
    }
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
            tracer: None,
            in_wait: false,
            pid_ns_init: false,
            kernel_thread: false,
            cgroup: None,
            container: None,
            pid_limit: None,
            pid_limit_unknown: false,
            adopter: Adopter {
                pid: None,
                comm: None,
                basis: AdopterBasis::NotVisible,
                verdict: AdopterVerdict::Unknown,
            },
            recommended: Remedy::KillParent,
            grounds: Grounds::OnlyDeath(Cause::NoWait),
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
    /// /proc/sys/kernel/threads-max: the kernel's limit on tasks (read when there are
    /// zombies).
    pub threads_max: Option<u64>,
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
    /// The cgroup PID limits the parents run under, with the zombies below each, fullest
    /// first. Kept in step with `parents` by every filter.
    pub pid_limits: Vec<PidLimitUse>,
    /// Where our cgroup namespace's root lies under --sys, or why it was not found, when some
    /// parent's cgroup path started above it; None otherwise.
    pub cgroup_namespace: Option<NsRoot>,
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
    // Group first: the advice for a parent depends on its zombies (a tracer may hold them).
    // One map lookup a zombie, in the order parents are first seen.
    let mut groups: Vec<(Pid, Vec<Zombie>)> = Vec::new();
    let mut index: HashMap<Pid, usize> = HashMap::new();
    for z in snap.zombies() {
        let zombie = zombie_of(snap, ctx, z, users);
        let i = *index.entry(z.ppid).or_insert_with(|| {
            groups.push((z.ppid, Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(zombie);
    }
    let mut parents: Vec<ParentFinding> = groups
        .into_iter()
        .map(|(pid, zombies)| parent_finding(snap, ctx, pid, zombies, users))
        .collect();
    // Killing a parent hands its zombies to its adopter; when that adopter is an init that is
    // itself holding zombies it has not reaped, kill-parent would only move them there.
    let stuck_inits: Vec<Pid> = parents
        .iter()
        .filter(|p| p.pid_ns_init && p.recommended == Remedy::FixInit)
        .map(|p| p.pid)
        .collect();
    for p in &mut parents {
        if !stuck_inits
            .iter()
            .any(|&i| p.adopter.pid == Some(i) && p.pid != i)
        {
            continue;
        }
        p.adopter.verdict = AdopterVerdict::NotReaping;
        if p.recommended == Remedy::KillParent {
            p.recommended = Remedy::FixInit;
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
            threads_max: snap.threads_max,
            pids_limit: snap.pids_limit,
            unreadable: snap.unreadable,
            filtered_out: 0,
            ignored: 0,
        },
        pid_limits: container::pid_limits(&parents),
        parents,
        cgroup_namespace: snap.cgroup_ns.clone(),
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
        self.pid_limits = container::pid_limits(&self.parents);
    }

    /// Keeps the zombies of parent `parent` and of user `uid` (each when given): --parent
    /// and --user.
    pub fn only(&mut self, parent: Option<Pid>, uid: Option<u32>) {
        if parent.is_some() || uid.is_some() {
            self.retain_zombies(|p, z| {
                parent.is_none_or(|want| p.pid == want)
                    && uid.is_none_or(|want| z.uid == Some(want))
            });
        }
    }

    /// Keeps the zombies of parents in the container or pod asked for: --container, --pod.
    pub fn only_in(&mut self, filter: &ContainerFilter) {
        if !filter.is_empty() {
            self.retain_zombies(|p, _| filter.matches(p.container.as_ref()));
        }
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

impl ParentFinding {
    /// The tracers that hold some of its zombies, each with how many, in order of first sight.
    pub fn holding_tracers(&self) -> Vec<(ProcessRef, usize)> {
        let mut out: Vec<(ProcessRef, usize)> = Vec::new();
        for t in self
            .zombies
            .iter()
            .filter_map(|z| z.held_by_tracer.as_ref())
        {
            match out.iter_mut().find(|(r, _)| r.pid == t.pid) {
                Some((_, n)) => *n += 1,
                None => out.push((t.clone(), 1)),
            }
        }
        out
    }

    /// How many of its zombies a tracer holds.
    pub fn held_by_tracers(&self) -> usize {
        self.zombies
            .iter()
            .filter(|z| z.held_by_tracer.is_some())
            .count()
    }
}

/// Whether a wchan value means sleeping in wait(), waitpid() or waitid(): all of them sleep
/// in the kernel's do_wait().
pub fn is_wait_wchan(wchan: &str) -> bool {
    wchan.contains("do_wait") || wchan.contains("wait4") || wchan.contains("waitid")
}

fn process_ref(snap: &Snapshot, pid: Pid) -> ProcessRef {
    ProcessRef {
        pid,
        comm: snap.get(pid).map(|p| p.comm.clone()),
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
        held_by_tracer: snap
            .zombie_tracers
            .get(&z.pid)
            .map(|&t| process_ref(snap, t)),
    }
}

fn parent_finding(
    snap: &Snapshot,
    ctx: &Context,
    pid: Pid,
    zombies: Vec<Zombie>,
    users: &mut Users,
) -> ParentFinding {
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
    let tracer = details
        .as_ref()
        .filter(|d| d.tracer_pid > 0)
        .map(|d| process_ref(snap, d.tracer_process.unwrap_or(d.tracer_pid)));
    let wchan = details
        .as_ref()
        .and_then(|d| d.wchan.clone())
        .filter(|w| !w.is_empty() && w != "0");
    let in_wait = wchan.as_deref().is_some_and(is_wait_wchan);
    let comm = proc_.map_or_else(|| "?".to_string(), |p| p.comm.clone());
    let uid = details.as_ref().map(|d| d.uid);
    let mut f = ParentFinding {
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
        wchan,
        traced_by,
        tracer,
        in_wait,
        pid_ns_init,
        kernel_thread,
        cgroup: details.as_ref().and_then(|d| d.cgroup.clone()),
        container: details.as_ref().and_then(|d| d.container.clone()),
        pid_limit: details.as_ref().and_then(|d| d.pid_limit.clone()),
        pid_limit_unknown: details.as_ref().is_some_and(|d| d.cgroup_unplaced),
        adopter: adopter::adopter(snap, pid, details.as_ref(), pid_ns_init),
        recommended: Remedy::Ignore,
        grounds: Grounds::KernelThread,
        start_ticks: proc_.map_or(0, |p| p.start_ticks),
        zombies,
        details,
    };
    (f.recommended, f.grounds) = recommend(&Facts {
        sigchld,
        blocked,
        pid_ns_init,
        kernel_thread,
        in_wait,
        zombies: f.zombies.len(),
        held: f.held_by_tracers(),
        is_ancestor: ctx.ancestors.contains(&pid) || pid == ctx.self_pid,
        is_session_leader: pid == ctx.session,
    });
    f
}

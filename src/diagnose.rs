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
}

impl Remedy {
    pub fn as_str(self) -> &'static str {
        match self {
            Remedy::SignalParent => "signal-parent",
            Remedy::KillParent => "kill-parent",
            Remedy::Ignore => "ignore",
            Remedy::FixInit => "fix-init",
            Remedy::DetachTracer => "detach-tracer",
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
    /// Whether it would reap them: decided once here, so that every sentence about the
    /// adopter (the diagnosis, the kill-parent remedy, fix's plan) says the same.
    pub verdict: AdopterVerdict,
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
    /// The process that traces it (the thread group of `traced_by`), with its name.
    pub tracer: Option<ProcessRef>,
    /// Blocked in wait(), waitpid() or waitid() (wchan do_wait): it reaps any child it waits
    /// for as soon as that child can be reaped.
    pub in_wait: bool,
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
            tracer: None,
            in_wait: false,
            pid_ns_init: false,
            kernel_thread: false,
            cgroup: None,
            adopter: Adopter {
                pid: None,
                comm: None,
                note: String::new(),
                verdict: AdopterVerdict::Unknown,
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
    // Group first: the advice for a parent depends on its zombies (a tracer may hold them).
    let mut groups: Vec<(Pid, Vec<Zombie>)> = Vec::new();
    for z in snap.zombies() {
        let zombie = zombie_of(snap, ctx, z, users);
        match groups.iter_mut().find(|(p, _)| *p == z.ppid) {
            Some((_, zs)) => zs.push(zombie),
            None => groups.push((z.ppid, vec![zombie])),
        }
    }
    let mut parents: Vec<ParentFinding> = groups
        .into_iter()
        .map(|(pid, zombies)| parent_finding(snap, ctx, pid, zombies, users))
        .collect();
    // Killing a parent hands its zombies to its adopter; when that adopter is an init that is
    // itself holding zombies it has not reaped, kill-parent would only move them there.
    let stuck_inits: Vec<(Pid, String)> = parents
        .iter()
        .filter(|p| p.pid_ns_init && p.recommended == Remedy::FixInit)
        .map(|p| (p.pid, p.comm.clone()))
        .collect();
    for p in &mut parents {
        let Some((init, name)) = stuck_inits
            .iter()
            .find(|(i, _)| p.adopter.pid == Some(*i) && p.pid != *i)
        else {
            continue;
        };
        p.adopter.verdict = AdopterVerdict::NotReaping;
        if p.recommended == Remedy::KillParent {
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

/// "4242 (gdb)", or "4242" when its name is unknown.
fn named(r: &ProcessRef) -> String {
    match &r.comm {
        Some(c) => format!("{} ({c})", r.pid),
        None => r.pid.to_string(),
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
        adopter: adopter(snap, pid, details.as_ref(), pid_ns_init),
        recommended: Remedy::Ignore,
        reason: String::new(),
        start_ticks: proc_.map_or(0, |p| p.start_ticks),
        zombies,
        details,
    };
    let holders = f
        .holding_tracers()
        .iter()
        .map(|(t, _)| named(t))
        .collect::<Vec<_>>()
        .join(", ");
    let parent_tracer = f.tracer.as_ref().map(named);
    (f.recommended, f.reason) = recommend(&Facts {
        comm: &f.comm,
        state,
        sigchld,
        blocked,
        pid_ns_init,
        kernel_thread,
        tracer: parent_tracer.as_deref(),
        in_wait,
        zombies: f.zombies.len(),
        held: f.held_by_tracers(),
        holders: &holders,
        is_ancestor: ctx.ancestors.contains(&pid) || pid == ctx.self_pid,
        is_session_leader: pid == ctx.session,
    });
    f
}

/// The facts a recommendation rests on.
pub struct Facts<'a> {
    pub comm: &'a str,
    pub state: char,
    pub sigchld: Disposition,
    pub blocked: bool,
    pub pid_ns_init: bool,
    pub kernel_thread: bool,
    /// The process tracing the parent, named ("4242 (gdb)").
    pub tracer: Option<&'a str>,
    /// The parent sleeps in wait().
    pub in_wait: bool,
    /// Its zombies, and how many of them other processes trace (`holders`, named).
    pub zombies: usize,
    pub held: usize,
    pub holders: &'a str,
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
    let them = if f.held == 1 { "it" } else { "them" };
    // A zombie traced by another process is reaped by that tracer, or handed back to its
    // parent when the tracer waits for it, detaches or dies (ptrace has worked so on every
    // kernel this tool supports): nothing done to the parent frees it.
    if f.held > 0 && f.held == f.zombies {
        let then = if f.in_wait
            || f.sigchld == Disposition::Ignored
            || (f.sigchld == Disposition::Caught && !f.blocked)
        {
            format!(
                "then {}",
                after_release(f.comm, f.in_wait, f.sigchld, f.blocked, them)
            )
        } else {
            format!("then {} still has to reap {them}: it {}", f.comm, cause(f))
        };
        return (
            Remedy::DetachTracer,
            format!(
                "{}'s {} traced by {}: a traced child that exits can be reaped only by its tracer until the tracer waits for it or lets go, not by its parent, even in wait(); killing the parent would not help, since its adopter could not reap {them} either; {then}",
                f.comm,
                if f.held == 1 {
                    "zombie is"
                } else {
                    "zombies are"
                },
                f.holders
            ),
        );
    }
    let (remedy, mut why) = recommend_untraced(f);
    if f.held > 0 {
        why.push_str(&format!(
            "; {} of them {} traced by {}, which must let go of {them} first: killing the parent does not free {them}, since the adopter could not reap {them} either",
            f.held,
            if f.held == 1 { "is" } else { "are" },
            f.holders
        ));
    }
    if let Some(t) = f.tracer {
        match remedy {
            Remedy::SignalParent => why.push_str(&format!(
                "; it is traced by {t}, which may hold the signal until it lets it run"
            )),
            Remedy::KillParent => why.push_str(&format!(
                "; it is traced by {t}, which may hold the SIGTERM until it lets it run (the SIGKILL after the grace time is never held)"
            )),
            _ => {}
        }
    }
    (remedy, why)
}

/// Why the parent has not reaped, in a few words, from its SIGCHLD disposition.
fn cause(f: &Facts) -> &'static str {
    match (f.sigchld, f.blocked) {
        (Disposition::Caught, true) => "catches SIGCHLD but blocks it",
        (Disposition::Caught, false) => "has a SIGCHLD handler that has not reaped them",
        (Disposition::Ignored, _) => {
            "ignores SIGCHLD now, which does not reap zombies made before it did"
        }
        (Disposition::Default, true) => {
            "blocks SIGCHLD, which has no handler, and has not reaped them (a program that collects children with signalfd or sigwaitinfo may yet)"
        }
        (Disposition::Default, false) => {
            "leaves SIGCHLD at its default and has not called wait() for them"
        }
        (Disposition::Unknown, _) => "could not be inspected",
    }
}

/// The recommendation for zombies no tracer holds.
fn recommend_untraced(f: &Facts) -> (Remedy, String) {
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
        return (Remedy::SignalParent, why);
    }
    let cause = cause(f);
    if f.is_ancestor || f.is_session_leader {
        return (
            Remedy::Ignore,
            format!(
                "{} {cause}, but it is an ancestor of this shell or its session leader: killing it would end your own session; restart it when convenient",
                f.comm
            ),
        );
    }
    // A parent asleep in wait() reaps whatever it waits for: these are children it does not
    // wait for now (waitpid() on one PID or a process group), or ones that died a moment ago.
    if f.in_wait {
        return (
            Remedy::Ignore,
            format!(
                "{} is blocked in wait() but has not reaped them: it waits for other children (waitpid() on one PID, or a process group) and may reap these when that wait returns; if they stay, only its death gets them adopted and reaped (kill-parent)",
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

/// Who adopts the zombies when the parent (the whole process: kill-parent kills every thread)
/// dies: the nearest child subreaper above it, else the init of its PID namespace. Its
/// other threads do not count: they die with it.
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
        return Adopter {
            pid: Some(sub),
            comm: comm(sub),
            note: "likely: it is a well-known child subreaper (PR_SET_CHILD_SUBREAPER) between the parent and init; observe after the fact".into(),
            verdict: AdopterVerdict::ShouldReap,
        };
    }
    match ns_init {
        Some(init) => Adopter {
            pid: Some(init),
            comm: comm(init),
            note: "the init of its PID namespace, unless an ancestor is a child subreaper (PR_SET_CHILD_SUBREAPER, which /proc does not show): observe after the fact".into(),
            verdict: AdopterVerdict::ShouldReap,
        },
        None => Adopter {
            pid: None,
            comm: None,
            note: "cannot be known: the init of the parent's PID namespace is not visible from this procfs".into(),
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
            tracer: None,
            in_wait: false,
            zombies: 1,
            held: 0,
            holders: "",
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
            let (r, why) = recommend(&f);
            assert_ne!(r, Remedy::KillParent, "{why}");
            assert!(why.contains("wait()"), "{why}");
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
            holders: "77 (gdb)",
            in_wait: true,
            ..facts(Disposition::Default)
        };
        let (r, why) = recommend(&all);
        assert_eq!(r, Remedy::DetachTracer);
        assert!(
            why.contains("77 (gdb)") && why.contains("reaps them"),
            "{why}"
        );
        // Not waiting: once the tracer lets go the parent still has to reap.
        let idle = Facts {
            in_wait: false,
            ..all
        };
        let (r, why) = recommend(&idle);
        assert_eq!(r, Remedy::DetachTracer);
        assert!(why.contains("still has to reap"), "{why}");
        // Some free, some held: the parent is at fault for the free ones.
        let some = Facts {
            zombies: 3,
            held: 1,
            holders: "77 (gdb)",
            ..facts(Disposition::Default)
        };
        let (r, why) = recommend(&some);
        assert_eq!(r, Remedy::KillParent);
        assert!(why.contains("1 of them is traced by 77 (gdb)"), "{why}");
    }

    #[test]
    fn a_traced_parent_names_its_tracer_and_the_held_sigterm() {
        let f = Facts {
            tracer: Some("88 (strace)"),
            ..facts(Disposition::Default)
        };
        let (r, why) = recommend(&f);
        assert_eq!(r, Remedy::KillParent);
        assert!(
            why.contains("88 (strace)") && why.contains("SIGTERM"),
            "{why}"
        );
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
    /// stat's thread count. For a process whose main thread exited (`Zl`), it still counts
    /// that dead thread: `live_threads` does not.
    pub threads: i64,
    /// The threads that have not exited; null when its task directory could not be read.
    pub live_threads: Option<u64>,
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
    // A zombie a tracer holds is the tracer's to release, whatever its siblings need.
    let recommended = match &zombie {
        Some(z) if z.held_by_tracer.is_some() => Some(Remedy::DetachTracer),
        _ => parent.as_ref().map(|f| f.recommended),
    };
    let remedies = parent
        .as_ref()
        .zip(recommended)
        .map(|(f, r)| remedy_options(f, r))
        .unwrap_or_default();
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
    })
}

/// What the parent does with zombies a tracer hands back: the kernel gives them back to it
/// as if they had just died (do_notify_parent), so its usual way of reaping decides.
fn after_release(
    comm: &str,
    in_wait: bool,
    sigchld: Disposition,
    blocked: bool,
    them: &str,
) -> String {
    if in_wait {
        format!("{comm} is in wait() and reaps {them} at once")
    } else if sigchld == Disposition::Ignored {
        format!("{comm} ignores SIGCHLD, so the kernel reaps {them} at once")
    } else if sigchld == Disposition::Caught && !blocked {
        format!("{comm} should reap {them} in its SIGCHLD handler")
    } else {
        format!("{comm} still has to reap {them} (see kill-parent)")
    }
}

/// "sleep (1)": how the remedies name the adopter.
fn adopter_name(a: &Adopter) -> String {
    match (a.pid, &a.comm) {
        (Some(p), Some(c)) => format!("{c} ({p})"),
        (Some(p), None) => format!("PID {p}"),
        _ => "an adopter that cannot be known".to_string(),
    }
}

/// What happens to the zombies in the adopter's hands, from its verdict: the one sentence
/// explain and fix both use.
pub fn adopter_outcome(a: &Adopter) -> String {
    let name = adopter_name(a);
    match a.verdict {
        AdopterVerdict::ShouldReap => {
            format!("the zombies are adopted by {name}, which should reap them")
        }
        AdopterVerdict::NotReaping => format!(
            "the zombies would be adopted by {name}, PID 1 of the namespace, which is not reaping its own zombies: they would only move there"
        ),
        AdopterVerdict::NamespaceEnds => {
            "the whole PID namespace ends with it, and its zombies with it".to_string()
        }
        AdopterVerdict::Unknown => {
            "the zombies are adopted by an init or subreaper that cannot be seen from this procfs"
                .to_string()
        }
    }
}

/// Every remedy that applies to a parent, with what it would do; `recommended` is marked.
pub fn remedy_options(f: &ParentFinding, recommended: Remedy) -> Vec<RemedyOption> {
    let cmd = |flag: &str| format!("zombies fix --{flag} --parent {}", f.pid);
    let tracers = f.holding_tracers();
    let held = f.held_by_tracers();
    let all_held = held > 0 && held == f.zombies.len();
    let them = if held == 1 { "it" } else { "them" };
    let holders = tracers
        .iter()
        .map(|(t, _)| named(t))
        .collect::<Vec<_>>()
        .join(", ");
    let mut signal_effect = match (f.sigchld, f.sigchld_blocked) {
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
    let mut kill_effect = if f.pid_ns_init {
        "refused: it is PID 1 of its namespace; killing it kills the whole container".to_string()
    } else if all_held {
        format!(
            "no use: the zombies are traced by {holders}, so their adopter could not reap them either until it lets go; it would only end {}",
            f.comm
        )
    } else {
        format!(
            "SIGTERM, then SIGKILL after the grace time; {}",
            adopter_outcome(&f.adopter)
        )
    };
    if all_held {
        signal_effect = format!(
            "none: the zombies are traced by {holders}, which alone can reap them until it lets go"
        );
    } else if held > 0 {
        let note = format!("; not the {held} traced by {holders}, which stay until it lets go");
        signal_effect.push_str(&note);
        if !f.pid_ns_init {
            kill_effect.push_str(&note);
        }
    }
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
    if held > 0 {
        let pids = tracers
            .iter()
            .map(|(t, _)| t.pid.to_string())
            .collect::<Vec<_>>()
            .join(" ");
        out.insert(
            0,
            RemedyOption {
                remedy: Remedy::DetachTracer,
                recommended: false,
                effect: format!(
                    "{holders} lets go of {them} (the debugger or strace detaches or quits, or it is killed): the kernel hands {them} back to {}, and {}",
                    f.pid,
                    after_release(&f.comm, f.in_wait, f.sigchld, f.sigchld_blocked, them)
                ),
                command: format!(
                    "quit or detach the debugger or strace running as {pids}, or: kill {pids}   (fix does not act on tracers)"
                ),
            },
        );
    }
    if f.pid_ns_init {
        out.push(RemedyOption {
            remedy: Remedy::FixInit,
            recommended: false,
            effect: "restart the container with an init that reaps: `docker run --init`, tini or dumb-init as PID 1".to_string(),
            command: "docker run --init ... (or ENTRYPOINT [\"tini\", \"--\"])".to_string(),
        });
    } else if f.adopter.verdict == AdopterVerdict::NotReaping {
        out.push(RemedyOption {
            remedy: Remedy::FixInit,
            recommended: false,
            effect: format!(
                "make {} reap first: restart the container with an init that reaps (`docker run --init`, tini or dumb-init as PID 1); then kill-parent works",
                adopter_name(&f.adopter)
            ),
            command: "docker run --init ... (or ENTRYPOINT [\"tini\", \"--\"])".to_string(),
        });
    }
    for o in &mut out {
        o.recommended = o.remedy == recommended;
    }
    out
}

//! `zombies probe-init PID`: does PID 1 of PID's namespace (a container's init) reap orphans?
//! Asked the only way that proves it: give it an orphan and watch. The orphan is made in the
//! namespace (sys/pidns.rs), adopted by its PID 1 (checked in /proc), let exit, and its reap
//! awaited through a pidfd (proc/handle.rs) for `timeout`. "Reaps" is only ever said after
//! the reap was seen; a PID 1 that does not reap keeps exactly that one zombie.
//!
//! Returns data (`Outcome`); report/probe_init.rs says it in words and JSON.
//!
//! Kernel versions: /proc/PID/ns/pid and setns(2) on it since 3.8 (before: untested, the
//! file is missing); NSpid in /proc/PID/status (how PID 1 of the namespace is found) since
//! 4.1 (before: untested, "cannot find its PID 1"); pidfd_open(2) since 5.3 (before: the
//! reap is seen as the PID leaving /proc, re-checked every 1-20 ms, as `fix` does); poll(2)
//! woken by the reap since 6.9 (before: the pidfd is asked every 1-20 ms).

use std::fs::File;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::diagnose::Disposition;
use crate::exit::Exit;
use crate::proc::handle::{self, Event, Handle};
use crate::proc::scan::ReadError;
use crate::proc::stat::{PF_EXITING, PF_KTHREAD};
use crate::proc::{Detail, Pid, ProcFs};
use crate::sys::pidns::{self, SpawnError};

/// What to probe, and how long to give PID 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Any process of the namespace, as our procfs numbers it.
    pub pid: Pid,
    /// How long after the orphan's exit PID 1 has to reap it.
    pub timeout: Duration,
}

/// PID 1 of the namespace, as evidence: what it is and what it does with SIGCHLD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Init {
    /// As our procfs numbers it (the host PID, seen from the host).
    pub pid: Pid,
    pub comm: String,
    /// The state letter of /proc/PID/stat (S, R, T, D...).
    pub state: char,
    pub sigchld: Disposition,
    pub sigchld_blocked: bool,
    /// Where it sleeps (`do_wait` in wait()), when readable.
    pub wchan: Option<String>,
    /// Its start time (stat field 22): the same PID 1 still, after the wait.
    pub start: u64,
}

/// The orphan the probe made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Orphan {
    /// As our procfs numbers it.
    pub pid: Pid,
    /// As its namespace numbers it.
    pub ns_pid: Pid,
    /// Who adopted it when its parent exited (our numbering).
    pub adopter: Pid,
}

/// How the reap was watched for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observer {
    /// A pidfd, poll(2) woken by the reap (Linux 6.9+).
    PidfdPoll,
    /// A pidfd, asked with signal 0 every 1-20 ms (ESRCH once reaped; 5.3+).
    PidfdSignal,
    /// No pidfd (before 5.3, or ZOMBIES_NO_PIDFD): its PID leaving /proc, every 1-20 ms.
    Proc,
}

/// Why the probe could not answer. Nothing is left behind by any of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Untested {
    /// --proc is not the procfs of our own PID namespace: PIDs would name other processes.
    ProcfsNotOurs,
    /// No process has that PID (it never existed, or exited and was reaped).
    NoSuchProcess,
    /// Its /proc files may not be read (hidepid, or not root).
    Unreadable,
    /// A kernel thread: it lives in the initial namespace and belongs to no container.
    KernelThread,
    /// /proc/PID/ns/pid could not be opened: EACCES/EPERM without ptrace access to PID (not
    /// root; or, as root, Yama, a security module or a user namespace), ENOENT before 3.8.
    NamespaceFile { errno: Errno, as_root: bool },
    /// No NSpid line in its status (Linux before 4.1): PID 1 of its namespace cannot be told.
    NoNspid,
    /// PID 1 of its namespace is not among the processes we can see.
    NoInit,
    /// setns(2) refused: EPERM without CAP_SYS_ADMIN, EINVAL when the namespace is not ours
    /// or below ours.
    Enter(Errno),
    /// fork(2) into the namespace failed with ENOMEM: its PID 1 has exited and it is ending.
    NamespaceEnding,
    /// fork(2) failed otherwise (EAGAIN: a PID limit).
    Fork(Errno),
    /// The helper in the namespace failed or went silent.
    Helper,
    /// The orphan could not be found in /proc, or vanished before it was let exit (killed).
    OrphanLost,
    /// Another process adopted the orphan: a subreaper among our ancestors, when the
    /// namespace is our own.
    AdoptedByOther { pid: Pid, comm: Option<String> },
    /// The orphan did not exit within the timeout once told to (stopped, frozen).
    NoExit,
    /// PID 1 exited while the probe waited: the kernel reaps every process of a namespace
    /// whose init dies (zap_pid_ns_processes), so a reap then says nothing of PID 1.
    InitExited,
    /// SIGINT or SIGTERM came while the probe waited; `zombie_left` when the orphan was
    /// still a zombie under PID 1 then (it stays there, as after a "does not reap").
    Interrupted { zombie_left: bool },
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The orphan was reaped `after` its exit.
    Reaps {
        after: Duration,
    },
    /// The orphan is still a zombie under PID 1 after the timeout: it is left there.
    DoesNotReap,
    Untested(Untested),
}

/// Everything the probe found, for the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub request: Request,
    /// The name of the process given, when it could be read.
    pub comm: Option<String>,
    pub init: Option<Init>,
    pub orphan: Option<Orphan>,
    pub observer: Option<Observer>,
    pub verdict: Verdict,
}

impl Outcome {
    /// An outcome with nothing found but why.
    pub fn untested(request: Request, why: Untested) -> Outcome {
        Outcome {
            request,
            comm: None,
            init: None,
            orphan: None,
            observer: None,
            verdict: Verdict::Untested(why),
        }
    }

    /// Whether the probe's orphan was left a zombie under PID 1 (the report says how to
    /// remove it).
    pub fn zombie_left(&self) -> bool {
        matches!(
            self.verdict,
            Verdict::DoesNotReap | Verdict::Untested(Untested::Interrupted { zombie_left: true })
        )
    }

    /// The exit code of the verdict: 0 reaps, 1 does not, 3 untested.
    pub fn exit(&self) -> Exit {
        match self.verdict {
            Verdict::Reaps { .. } => Exit::PROBE_REAPS,
            Verdict::DoesNotReap => Exit::PROBE_DOES_NOT_REAP,
            Verdict::Untested(_) => Exit::PROBE_UNTESTED,
        }
    }
}

/// Runs the probe against the live procfs `fs` (the one of our own PID namespace);
/// `stopped` tells whether SIGINT or SIGTERM came (asked between short waits).
pub fn probe(fs: &ProcFs, request: Request, stopped: &dyn Fn() -> bool) -> Outcome {
    let mut out = Outcome::untested(request, Untested::NoSuchProcess);
    out.verdict = match run(fs, &mut out, stopped) {
        Ok(v) => v,
        Err(why) => Verdict::Untested(why),
    };
    out
}

fn run(fs: &ProcFs, out: &mut Outcome, stopped: &dyn Fn() -> bool) -> Result<Verdict, Untested> {
    let Request { pid, timeout } = out.request;
    if !fs.is_live() || !crate::remedy::same_pid_namespace(fs.root()) {
        return Err(Untested::ProcfsNotOurs);
    }
    let target = fs.stat(pid).map_err(unreadable)?;
    out.comm = Some(String::from_utf8_lossy(&target.comm).into_owned());
    if target.flags & PF_KTHREAD != 0 {
        return Err(Untested::KernelThread);
    }
    let nspid = fs.nspid(pid).ok_or(Untested::NoNspid)?;
    let init = find_init(fs, pid, &nspid).ok_or(Untested::NoInit)?;
    out.init = Some(evidence(fs, init).ok_or(Untested::NoInit)?);
    // Opened, then the start time checked again: the file is that of the process named.
    let ns = File::open(fs.root().join(format!("{pid}/ns/pid")));
    if !fs
        .stat(pid)
        .is_ok_and(|st| st.starttime == target.starttime)
    {
        return Err(Untested::NoSuchProcess);
    }
    let namespace_file = |e: std::io::Error| Untested::NamespaceFile {
        errno: errno_of(&e),
        as_root: nix::unistd::geteuid().is_root(),
    };
    let ns = ns.map_err(namespace_file)?;
    let own = File::open(fs.root().join("self/ns/pid")).map_err(namespace_file)?;

    let mut orphan = pidns::spawn(ns.as_fd(), own.as_fd()).map_err(|e| match e {
        SpawnError::Enter(errno) => Untested::Enter(errno),
        SpawnError::Fork(Errno::ENOMEM) => Untested::NamespaceEnding,
        SpawnError::Fork(errno) => Untested::Fork(errno),
        SpawnError::HelperFork(errno) => Untested::Fork(errno),
        SpawnError::HelperSilent | SpawnError::Restore(_) => Untested::Helper,
    })?;
    // The helper's one child whose innermost PID is the one it told us.
    let helper = orphan.helper().ok_or(Untested::Helper)?;
    let ns_pid = orphan.ns_pid();
    let found = fs
        .children(helper)
        .into_iter()
        .find(|&c| fs.nspid(c).is_some_and(|n| n.last() == Some(&ns_pid)))
        .ok_or(Untested::OrphanLost)?;
    let start = fs.stat(found).map_err(|_| Untested::OrphanLost)?.starttime;
    let (handle, _) = Handle::open(fs, found, start).map_err(|_| Untested::OrphanLost)?;
    orphan.orphan().map_err(|_| Untested::Helper)?;
    let adopter = fs.stat(found).map_err(|_| Untested::OrphanLost)?.ppid;
    out.orphan = Some(Orphan {
        pid: found,
        ns_pid,
        adopter,
    });
    if adopter != init {
        let comm = fs
            .stat(adopter)
            .ok()
            .map(|st| String::from_utf8_lossy(&st.comm).into_owned());
        return Err(Untested::AdoptedByOther { pid: adopter, comm });
    }
    out.observer = Some(match &handle {
        Handle::Legacy { .. } => Observer::Proc,
        h if h.reap_pollable().is_some() => Observer::PidfdPoll,
        Handle::Pidfd { .. } => Observer::PidfdSignal,
    });

    orphan.release();
    let init_start = out.init.as_ref().map_or(0, |i| i.start);
    // A reap counts only while PID 1 lives on: when it dies, the kernel reaps for it.
    let init_alive = || {
        fs.stat(init).is_ok_and(|st| {
            st.starttime == init_start
                && !matches!(st.state, b'Z' | b'X')
                && st.flags & PF_EXITING == 0
        })
    };
    let still_zombie = || {
        fs.stat(found)
            .is_ok_and(|st| st.starttime == start && st.state == b'Z' && st.ppid == init)
    };
    let clock = Instant::now();
    let interrupted = || Untested::Interrupted {
        zombie_left: still_zombie(),
    };
    let exited = wait_for(fs, &handle, Event::Exited, clock, clock + timeout, stopped)
        .map_err(|()| interrupted())?
        .ok_or(Untested::NoExit)?;
    let reaped = wait_for(
        fs,
        &handle,
        Event::Reaped,
        clock,
        clock + exited + timeout,
        stopped,
    )
    .map_err(|()| interrupted())?;
    if let Some(at) = reaped {
        return match init_alive() {
            true => Ok(Verdict::Reaps {
                after: at.saturating_sub(exited),
            }),
            false => Err(Untested::InitExited),
        };
    }
    // Not reaped in time: /proc must show it still a zombie under PID 1.
    if still_zombie() {
        return Ok(Verdict::DoesNotReap);
    }
    // Reaped in the instant between the deadline and this look: seen, so said.
    match handle.happened(fs, Event::Reaped) {
        true if init_alive() => Ok(Verdict::Reaps {
            after: clock.elapsed().saturating_sub(exited),
        }),
        true => Err(Untested::InitExited),
        false => Err(Untested::OrphanLost),
    }
}

/// How long one wait lasts at most before SIGINT/SIGTERM are looked for: an interrupted
/// probe still reports, and says what it left behind.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// `handle::wait_all` for one handle, in slices of STOP_CHECK; Err when `stopped`.
fn wait_for(
    fs: &ProcFs,
    handle: &Handle,
    event: Event,
    clock: Instant,
    deadline: Instant,
    stopped: &dyn Fn() -> bool,
) -> Result<Option<Duration>, ()> {
    loop {
        let until = deadline.min(Instant::now() + STOP_CHECK);
        if let Some(at) = handle::wait_all(fs, &[handle], event, clock, until)[0] {
            return Ok(Some(at));
        }
        if stopped() {
            return Err(());
        }
        if until >= deadline {
            return Ok(None);
        }
    }
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(0))
}

fn unreadable(e: ReadError) -> Untested {
    match e {
        ReadError::Vanished => Untested::NoSuchProcess,
        _ => Untested::Unreadable,
    }
}

/// How far up the process tree PID 1 is looked for before every process is.
const MAX_ANCESTORS: usize = 4096;

/// PID 1 of the namespace of `pid`, whose NSpid is `nspid`: the process at the same depth
/// whose innermost PID is 1. Usually an ancestor (it, or a process it started, started the
/// others); a process that entered from outside (nsenter, `docker exec`) has its parents
/// outside, and then every process of the namespace is looked at.
fn find_init(fs: &ProcFs, pid: Pid, nspid: &[Pid]) -> Option<Pid> {
    let depth = nspid.len();
    if nspid.last() == Some(&1) {
        return Some(pid);
    }
    let is_init = |n: &[Pid]| n.len() == depth && n.last() == Some(&1);
    // An ancestor at the same depth is in the same namespace: a child is born in its
    // parent's namespace or one below it, never beside it.
    let mut p = pid;
    for _ in 0..MAX_ANCESTORS {
        let Ok(st) = fs.stat(p) else { break };
        p = st.ppid;
        // A parent is never deeper than its child: once out of the namespace, stop.
        let Some(n) = (p > 0).then(|| fs.nspid(p)).flatten() else {
            break;
        };
        if n.len() < depth {
            break;
        }
        if is_init(&n) {
            return Some(p);
        }
    }
    // Elsewhere several namespaces may have that depth: the namespace links must match.
    let ns = fs.pid_ns_of(pid)?;
    fs.pids()
        .into_iter()
        .find(|&p| fs.nspid(p).is_some_and(|n| is_init(&n)) && fs.pid_ns_of(p) == Some(ns))
}

/// What PID 1 is and does with SIGCHLD.
fn evidence(fs: &ProcFs, pid: Pid) -> Option<Init> {
    let st = fs.stat(pid).ok()?;
    let d = fs.parent_details(pid, Detail::Decide).ok();
    let chld = libc::SIGCHLD;
    // As diagnose reads a parent's masks: SIG_IGN first (the kernel reaps for it), then a
    // handler, else the default (discarded: only an explicit wait() reaps).
    let sigchld = match &d {
        None => Disposition::Unknown,
        Some(d) if d.sig_ignored.has(chld) => Disposition::Ignored,
        Some(d) if d.sig_caught.has(chld) => Disposition::Caught,
        Some(_) => Disposition::Default,
    };
    Some(Init {
        pid,
        comm: String::from_utf8_lossy(&st.comm).into_owned(),
        state: st.state as char,
        sigchld,
        sigchld_blocked: d.as_ref().is_some_and(|d| d.sig_blocked.has(chld)),
        wchan: d.and_then(|d| d.wchan),
        start: st.starttime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(pid: Pid) -> Request {
        Request {
            pid,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_copied_procfs_is_refused_before_anything_is_read() {
        let dir = std::env::temp_dir();
        let fs = ProcFs::open(&dir).unwrap();
        let out = probe(&fs, request(1), &|| false);
        assert_eq!(out.verdict, Verdict::Untested(Untested::ProcfsNotOurs));
        assert_eq!(out.exit(), Exit::PROBE_UNTESTED);
    }

    #[test]
    fn pid_1_of_our_own_namespace_is_found_from_any_process() {
        let fs = ProcFs::open(std::path::Path::new("/proc")).unwrap();
        let me = std::process::id() as Pid;
        let nspid = fs.nspid(me).unwrap();
        let init = find_init(&fs, me, &nspid).unwrap();
        assert_eq!(fs.nspid(init).unwrap().last(), Some(&1));
        assert_eq!(fs.nspid(init).unwrap().len(), nspid.len());
    }
}

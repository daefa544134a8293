//! The ground every demo stands on: termination signals read from a signalfd, waits that an
//! interruption cuts short, the child subreaper role and the final sweep. Children live in
//! [`children`], the pipes that talk to them in [`channel`], temporary directories and the
//! programs the demos exec in [`files`].
//!
//! Ctrl-C without threads: SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked and read from a
//! signalfd that every wait polls, so the process stays single-threaded and fork stays safe.
//! A termination signal becomes an [`Interrupted`] error: it unwinds through the demo, every
//! guard's Drop cleans up, and the dispatcher exits 130. SIGCHLDs are kept (the last 64) for
//! the demos that show what the kernel told the parent.
//!
//! The rule every demo follows: the demo process never blocks in a system call it cannot
//! leave. Whatever may block for long (opening a FIFO, msgrcv, semop, a vfork) happens in a
//! child; the demo waits for the child by polling the signalfd, so Ctrl-C always reaches the
//! cleanup code.

mod channel;
mod children;
mod files;

pub(crate) use channel::{Channel, Gate, Pipe, Sender, channel};
pub(crate) use children::{Child, child_reset_signals, child_setup, describe, fork_child};
pub(crate) use files::{TempDir, find_program};

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{self, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::narrate::Traced;
use super::trace::{self, Sink};
use crate::proc::ProcFs;
use crate::sys::process;

/// A termination signal arrived: the demo stops, cleans up and the tool exits 130.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interrupted(pub Signal);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", self.0.as_str())
    }
}

impl std::error::Error for Interrupted {}

/// What a SIGCHLD read from the signalfd said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChildSignal {
    pub pid: i32,
    /// CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, ...
    pub code: i32,
    /// The exit code, or the signal number.
    pub status: i32,
}

impl ChildSignal {
    pub(crate) fn code_name(&self) -> &'static str {
        match self.code {
            libc::CLD_EXITED => "CLD_EXITED",
            libc::CLD_KILLED => "CLD_KILLED",
            libc::CLD_DUMPED => "CLD_DUMPED",
            libc::CLD_STOPPED => "CLD_STOPPED",
            libc::CLD_TRAPPED => "CLD_TRAPPED",
            libc::CLD_CONTINUED => "CLD_CONTINUED",
            _ => "?",
        }
    }
}

/// The signals a demo turns into events instead of letting them act.
fn watched() -> SigSet {
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    set
}

/// How many SIGCHLD reports are kept.
const SIGCHLD_KEPT: usize = 64;

/// Owns the signalfd and the subreaper role while demos run. Dropping it (on every path,
/// unwinding included) kills and reaps whatever children are left.
pub(crate) struct Runtime {
    /// None in a forked child, which closes its copy first thing (see [`Runtime::spawn`]).
    signals: RefCell<Option<SignalFd>>,
    pid: Pid,
    /// The live /proc (demos always read the running system's).
    pub procfs: ProcFs,
    /// A termination signal read from the signalfd, remembered so later checks see it too.
    stop: Cell<Option<Signal>>,
    /// SIGCHLDs read while waiting for something else, oldest first.
    sigchld: RefCell<VecDeque<ChildSignal>>,
    /// The records of `--trace`, when on.
    trace: RefCell<Option<Sink>>,
    /// How this C library's fork() reads in a trace (`clone(...)` with the flags it was seen
    /// to pass), found out once by watching it; None when it could not be watched.
    fork_call: OnceCell<Option<String>>,
    /// Set while the runtime runs its own probe, whose plumbing is not part of any step.
    quiet: Cell<bool>,
}

impl Runtime {
    /// Blocks the watched signals, opens the signalfd, and makes this process a child
    /// subreaper so that orphans of the demos come back here to be reaped.
    ///
    /// Refuses to start in a process with more than one thread: the signals are blocked for
    /// the calling thread only, so another thread would take Ctrl-C with its default action
    /// and no cleanup would run (and the demos' forks would be unsafe; see
    /// [`crate::sys::process::fork`]).
    pub(crate) fn start() -> Result<Runtime> {
        process::single_threaded().context("cannot start the demo")?;
        let set = watched();
        signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .context("cannot block SIGINT/SIGTERM/SIGHUP/SIGCHLD for the demo")?;
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .context("cannot create a signalfd (is this Linux 2.6.27 or later?)")?;
        nix::sys::prctl::set_child_subreaper(true)
            .context("prctl(PR_SET_CHILD_SUBREAPER) failed")?;
        Ok(Runtime {
            signals: RefCell::new(Some(signals)),
            pid: nix::unistd::getpid(),
            procfs: ProcFs::open(Path::new("/proc"))?,
            stop: Cell::new(None),
            sigchld: RefCell::new(VecDeque::new()),
            trace: RefCell::new(None),
            fork_call: OnceCell::new(),
            quiet: Cell::new(false),
        })
    }

    /// Starts recording the system calls the demos make (`--trace`), in this process and in
    /// every child it forks from now on.
    pub(crate) fn start_tracing(&self) -> Result<()> {
        *self.trace.borrow_mut() = Some(Sink::open()?);
        Ok(())
    }

    /// The calls recorded since the last call (empty when not tracing).
    pub(crate) fn drain_trace(&self) -> Vec<Traced> {
        self.trace
            .borrow_mut()
            .as_mut()
            .map(Sink::drain)
            .unwrap_or_default()
    }

    /// The PID of the demo process.
    pub(crate) fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Reads every pending signal: SIGCHLDs are kept, a termination signal is remembered.
    /// Never fails: a signalfd that cannot be read is treated as quiet.
    fn read_signals(&self) {
        let signals = self.signals.borrow();
        let Some(signals) = signals.as_ref() else {
            return;
        };
        loop {
            match signals.read_signal() {
                Ok(Some(info)) => {
                    let sig = Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGTERM);
                    if sig == Signal::SIGCHLD {
                        let report = ChildSignal {
                            pid: info.ssi_pid as i32,
                            code: info.ssi_code,
                            status: info.ssi_status,
                        };
                        if !self.quiet.get() {
                            trace::record(
                                "read",
                                format!(
                                    "{}, {{ssi_signo=SIGCHLD, ssi_code={}, ssi_pid={}, ssi_status={}}}, 128",
                                    signals.as_fd().as_raw_fd(),
                                    report.code_name(),
                                    report.pid,
                                    report.status
                                ),
                                "128",
                            );
                        }
                        let mut q = self.sigchld.borrow_mut();
                        q.push_back(report);
                        if q.len() > SIGCHLD_KEPT {
                            q.pop_front();
                        }
                    } else if self.stop.get().is_none() {
                        self.stop.set(Some(sig));
                    }
                }
                Ok(None) => return,
                Err(Errno::EINTR) => {}
                Err(_) => return,
            }
        }
    }

    /// The termination signal that arrived, if any (reads the signalfd without blocking).
    pub(crate) fn pending(&self) -> Option<Signal> {
        self.read_signals();
        self.stop.get()
    }

    /// Fails with [`Interrupted`] when a termination signal arrived.
    pub(crate) fn check(&self) -> Result<()> {
        match self.pending() {
            Some(sig) => Err(Interrupted(sig).into()),
            None => Ok(()),
        }
    }

    /// Forgets the SIGCHLDs seen so far (before starting the child a step will watch).
    pub(crate) fn clear_sigchld(&self) -> Result<()> {
        self.check()?;
        self.sigchld.borrow_mut().clear();
        Ok(())
    }

    /// The first SIGCHLD seen from `pid` since the last clear. Standard signals do not queue:
    /// while one SIGCHLD is pending, another child's is merged into it.
    pub(crate) fn sigchld_from(&self, pid: i32) -> Option<ChildSignal> {
        self.read_signals();
        self.sigchld.borrow().iter().find(|s| s.pid == pid).copied()
    }

    /// Polls the signalfd (and `fd`) for at most `timeout` (None: forever). Returns whether
    /// `fd` is readable (or hung up); a termination signal is returned as [`Interrupted`].
    fn poll_with(&self, fd: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> Result<bool> {
        self.check()?;
        let t = match timeout {
            None => PollTimeout::NONE,
            Some(d) => {
                PollTimeout::try_from(d.max(Duration::from_millis(1))).unwrap_or(PollTimeout::MAX)
            }
        };
        let signals = self.signals.borrow();
        let mut fds = Vec::with_capacity(2);
        if let Some(fd) = fd {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        if let Some(s) = signals.as_ref() {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, t) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll failed"),
        }
        // POLLNVAL counts as ready too, so that the caller's read reports the bad
        // descriptor instead of this loop spinning on it.
        let ready = fd.is_some()
            && fds.first().and_then(|f| f.revents()).is_some_and(|r| {
                r.intersects(
                    PollFlags::POLLIN
                        | PollFlags::POLLHUP
                        | PollFlags::POLLERR
                        | PollFlags::POLLNVAL,
                )
            });
        drop(fds);
        drop(signals);
        self.check()?;
        Ok(ready)
    }

    /// Sleeps, unless interrupted.
    pub(crate) fn sleep(&self, d: Duration) -> Result<()> {
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return self.check();
            }
            self.poll_with(None, Some(left))?;
        }
    }

    /// Waits until `fd` is readable (or hung up, or not open): true, or the timeout passed:
    /// false.
    /// `None` waits as long as it takes; a termination signal always ends the wait.
    pub(crate) fn wait_readable(
        &self,
        fd: BorrowedFd<'_>,
        timeout: Option<Duration>,
    ) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                self.check()?;
                return Ok(false);
            }
            if self.poll_with(Some(fd), left)? {
                return Ok(true);
            }
        }
    }

    /// Calls `check` until it returns a value, waking on signals and every 10 ms, for at most
    /// `timeout`. `what` names the thing awaited in the timeout error.
    pub(crate) fn wait_until<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&Runtime) -> Result<Option<T>>,
    ) -> Result<T> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(v) = check(self)? {
                return Ok(v);
            }
            let Some(left) = end.checked_duration_since(Instant::now()) else {
                self.check()?;
                bail!(
                    "timed out after {timeout:?} waiting for {what}; the machine may be overloaded, try again"
                );
            };
            self.poll_with(None, Some(left.min(Duration::from_millis(10))))?;
        }
    }

    /// Kills and reaps every child this process still has (its own and adopted orphans):
    /// the last line of defence, run after each demo and when the runtime is dropped.
    /// Termination signals are left pending meanwhile: we are cleaning up already.
    /// Returns the PIDs reaped.
    pub(crate) fn sweep(&self) -> Vec<i32> {
        let mut reaped = Vec::new();
        let end = Instant::now() + Duration::from_secs(5);
        loop {
            // Kill what is alive, then reap whatever has ended.
            for pid in self.children() {
                let _ = signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
            loop {
                match waitpid(None::<Pid>, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) => break,
                    Ok(s) => {
                        if let Some(p) = s.pid() {
                            reaped.push(p.as_raw());
                        }
                    }
                    Err(Errno::EINTR) => {}
                    Err(_) => return reaped, // ECHILD: nothing left
                }
            }
            if Instant::now() > end {
                return reaped;
            }
            // Wait for the next SIGCHLD.
            if let Some(s) = self.signals.borrow().as_ref() {
                let mut fds = [PollFd::new(s.as_fd(), PollFlags::POLLIN)];
                let _ = poll(&mut fds, PollTimeout::from(20u8));
            }
            self.read_signals();
        }
    }

    /// The PIDs whose parent is this process, from /proc.
    fn children(&self) -> Vec<i32> {
        match self.procfs.scan() {
            Ok(snap) => snap
                .processes
                .iter()
                .filter(|p| p.ppid == self.pid())
                .map(|p| p.pid)
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Only the demo process sweeps: a child holding a copy must not.
        if nix::unistd::getpid() == self.pid {
            self.sweep();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_start_in_a_multi_threaded_process() {
        // A second thread that lives until the start was tried.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        let started = Runtime::start();
        drop(tx);
        let _ = other.join();
        let err = format!(
            "{:#}",
            started.err().expect("a runtime in a threaded process")
        );
        assert!(err.contains("threads"), "{err}");
    }
}

//! The ground every demo stands on: termination signals read from a signalfd, the child
//! subreaper role, child processes owned by guards that kill and reap them, pipes and gates to
//! talk to children, waits that an interruption cuts short, private temporary directories, and
//! the final sweep.
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
//!
//! Children start clean: the blocked signals are unblocked again (a blocked mask survives fork
//! and exec), SIGPIPE is back at its default (Rust ignores it, and an ignored disposition
//! survives exec too), and PR_SET_PDEATHSIG kills them if the demo itself is killed outright.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::ffi::CString;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{self, SigHandler, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use crate::proc::ProcFs;

/// A termination signal arrived: the demo stops, cleans up and the tool exits 130.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted(pub Signal);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "interrupted by {}", self.0.as_str())
    }
}

impl std::error::Error for Interrupted {}

/// What a SIGCHLD read from the signalfd said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildSignal {
    pub pid: i32,
    /// CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, ...
    pub code: i32,
    /// The exit code, or the signal number.
    pub status: i32,
}

impl ChildSignal {
    pub fn code_name(&self) -> &'static str {
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
pub struct Runtime {
    signals: SignalFd,
    pid: Pid,
    /// The live /proc (demos always read the running system's).
    pub procfs: ProcFs,
    /// A termination signal read from the signalfd, remembered so later checks see it too.
    stop: Cell<Option<Signal>>,
    /// SIGCHLDs read while waiting for something else, oldest first.
    sigchld: RefCell<VecDeque<ChildSignal>>,
}

impl Runtime {
    /// Blocks the watched signals, opens the signalfd, and makes this process a child
    /// subreaper so that orphans of the demos come back here to be reaped.
    pub fn start() -> Result<Runtime> {
        let set = watched();
        signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .context("cannot block SIGINT/SIGTERM/SIGHUP/SIGCHLD for the demo")?;
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .context("cannot create a signalfd (is this Linux 2.6.27 or later?)")?;
        nix::sys::prctl::set_child_subreaper(true)
            .context("prctl(PR_SET_CHILD_SUBREAPER) failed")?;
        Ok(Runtime {
            signals,
            pid: nix::unistd::getpid(),
            procfs: ProcFs::open(Path::new("/proc"))?,
            stop: Cell::new(None),
            sigchld: RefCell::new(VecDeque::new()),
        })
    }

    /// The PID of the demo process.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Reads every pending signal: SIGCHLDs are kept, a termination signal is remembered.
    /// Never fails: a signalfd that cannot be read is treated as quiet.
    fn read_signals(&self) {
        loop {
            match self.signals.read_signal() {
                Ok(Some(info)) => {
                    let sig = Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGTERM);
                    if sig == Signal::SIGCHLD {
                        let mut q = self.sigchld.borrow_mut();
                        q.push_back(ChildSignal {
                            pid: info.ssi_pid as i32,
                            code: info.ssi_code,
                            status: info.ssi_status,
                        });
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
    pub fn pending(&self) -> Option<Signal> {
        self.read_signals();
        self.stop.get()
    }

    /// Fails with [`Interrupted`] when a termination signal arrived.
    pub fn check(&self) -> Result<()> {
        match self.pending() {
            Some(sig) => Err(Interrupted(sig).into()),
            None => Ok(()),
        }
    }

    /// Forgets the SIGCHLDs seen so far (before starting the child a step will watch).
    pub fn clear_sigchld(&self) -> Result<()> {
        self.check()?;
        self.sigchld.borrow_mut().clear();
        Ok(())
    }

    /// The first SIGCHLD seen from `pid` since the last clear. Standard signals do not queue:
    /// while one SIGCHLD is pending, another child's is merged into it.
    pub fn sigchld_from(&self, pid: i32) -> Option<ChildSignal> {
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
        let mut fds = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
        if let Some(fd) = fd {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        match poll(&mut fds, t) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e).context("poll failed"),
        }
        // POLLNVAL counts as ready too, so that the caller's read reports the bad
        // descriptor instead of this loop spinning on it.
        let ready = fds.get(1).and_then(|f| f.revents()).is_some_and(|r| {
            r.intersects(
                PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL,
            )
        });
        drop(fds);
        self.check()?;
        Ok(ready)
    }

    /// Sleeps, unless interrupted.
    pub fn sleep(&self, d: Duration) -> Result<()> {
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
    pub fn wait_readable(&self, fd: BorrowedFd<'_>, timeout: Option<Duration>) -> Result<bool> {
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
    pub fn wait_until<T>(
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

    /// Forks a child that runs `body` and exits with the code it returns. The child never
    /// returns into the caller's code: it cannot drop the parent's guards (which would remove
    /// the demo's objects) and it ends with `_exit`, even when `body` panics (code 101).
    /// `label` names the child in error messages ("pipe reader").
    pub fn spawn(&self, label: &str, body: impl FnOnce() -> i32) -> Result<Child> {
        // Nothing buffered may be written twice; children never write to stdout.
        let _ = io::stdout().flush();
        // SAFETY: the demo process is single-threaded (no threads are ever started: Ctrl-C
        // comes through the signalfd), so the child may run ordinary code.
        match unsafe { fork() }.with_context(|| {
            format!("cannot fork the {label} (too many processes? see ulimit -u)")
        })? {
            ForkResult::Child => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    child_setup(self.pid);
                    // SAFETY: closes this child's copy of the signalfd; the demo's stays open.
                    unsafe { libc::close(self.signals.as_raw_fd()) };
                    body()
                }))
                .unwrap_or(101);
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => Ok(self.track(child.as_raw(), label)),
        }
    }

    /// Takes charge of a child forked by the demo itself (for demos that show fork's raw
    /// return values; the child must call [`child_setup`] first), or of a process adopted as
    /// subreaper (the caller must have checked that its parent is now this process).
    pub fn track(&self, pid: i32, label: &str) -> Child {
        Child {
            pid: Pid::from_raw(pid),
            label: label.to_string(),
            status: None,
            owner: self.pid,
        }
    }

    /// Waits for a child to end (up to `timeout`) and reaps it.
    pub fn reap(&self, child: &mut Child, timeout: Duration) -> Result<WaitStatus> {
        if let Some(s) = child.status {
            return Ok(s);
        }
        let pid = child.pid;
        let status = self.wait_until(
            timeout,
            &format!("the {} (PID {pid}) to exit", child.label),
            |_| match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => Ok(Some(s)),
                Ok(_) | Err(Errno::EINTR) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("waitpid({pid}) failed")),
            },
        )?;
        child.status = Some(status);
        Ok(status)
    }

    /// Kills a child with SIGKILL and reaps it.
    pub fn reap_killed(&self, child: &mut Child) -> Result<WaitStatus> {
        child.signal(Signal::SIGKILL)?;
        self.reap(child, Duration::from_secs(5))
    }

    /// Waits for a stop or continue report (waitpid with WUNTRACED|WCONTINUED).
    pub fn wait_stop_change(&self, child: &mut Child, timeout: Duration) -> Result<WaitStatus> {
        let pid = child.pid;
        let what = format!("the {} (PID {pid}) to stop or continue", child.label);
        let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED | WaitPidFlag::WCONTINUED;
        self.wait_until(timeout, &what, |_| match waitpid(pid, Some(flags)) {
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => Ok(None),
            Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                child.status = Some(s);
                bail!("the {} (PID {pid}) ended: {}", child.label, describe(s));
            }
            Ok(s) => Ok(Some(s)),
            Err(e) => Err(e).with_context(|| format!("waitpid({pid}) failed")),
        })
    }

    /// Waits until a child has exited, without reaping it (waitid with WNOWAIT): it stays a
    /// zombie for us to look at.
    pub fn wait_exited_nowait(&self, pid: Pid, timeout: Duration) -> Result<WaitStatus> {
        self.wait_until(
            timeout,
            &format!("process {pid} to exit"),
            |_| match waitid(
                Id::Pid(pid),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG,
            ) {
                Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => Ok(None),
                Ok(s) => Ok(Some(s)),
                Err(e) => Err(e).with_context(|| format!("waitid({pid}) failed")),
            },
        )
    }

    /// Kills and reaps every child this process still has (its own and adopted orphans):
    /// the last line of defence, run after each demo and when the runtime is dropped.
    /// Termination signals are left pending meanwhile: we are cleaning up already.
    /// Returns the PIDs reaped.
    pub fn sweep(&self) -> Vec<i32> {
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
            let mut fds = [PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(20u8));
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

/// How a child ended, in words: "exited with code 42", "killed by SIGKILL".
pub fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with code {code}"),
        WaitStatus::Signaled(_, sig, core) => {
            format!(
                "killed by {}{}",
                sig.as_str(),
                if core { " (core dumped)" } else { "" }
            )
        }
        WaitStatus::Stopped(_, sig) => format!("stopped by {}", sig.as_str()),
        WaitStatus::Continued(_) => "continued (SIGCONT)".to_string(),
        other => format!("{other:?}"),
    }
}

/// Forks; the child runs `f` and `_exit`s with its result. With `die_with_parent` the child
/// gets SIGKILL when its parent dies (PR_SET_PDEATHSIG). Usable inside children too.
pub fn fork_child(die_with_parent: bool, f: impl FnOnce() -> i32) -> nix::Result<Pid> {
    let parent = nix::unistd::getpid();
    // SAFETY: the demo process is single-threaded (signals come through a signalfd, not a
    // thread), so the child may allocate; it never returns into the caller's frames.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => {
            if die_with_parent {
                child_setup(parent);
            } else {
                child_reset_signals();
            }
            let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
            // SAFETY: _exit skips atexit handlers and destructors, which belong to the parent.
            unsafe { libc::_exit(code) }
        }
    }
}

/// In a new child of `parent`: reset signals, and die with SIGKILL when the parent dies
/// (PR_SET_PDEATHSIG), so that even a SIGKILLed demo leaves no live children behind.
pub fn child_setup(parent: Pid) {
    child_reset_signals();
    // SAFETY: plain prctl; the getppid check closes the race with a parent that died first.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
        if libc::getppid() != parent.as_raw() {
            libc::_exit(1);
        }
    }
}

/// In a new child: unblock every signal and give SIGPIPE its default action back, so the
/// child (and any program it execs) behaves like a normally started process.
pub fn child_reset_signals() {
    let _ = signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: setting a default disposition installs no handler.
    unsafe {
        let _ = signal::signal(Signal::SIGPIPE, SigHandler::SigDfl);
    }
}

/// A child process of the demo. Drop kills it (SIGKILL) and reaps it unless it was reaped
/// already: its PID cannot be reused before it is reaped, so the kill is safe.
#[derive(Debug)]
pub struct Child {
    pub pid: Pid,
    label: String,
    status: Option<WaitStatus>,
    /// The process that may reap it (a forked copy of the guard must not).
    owner: Pid,
}

impl Child {
    /// The PID as a number.
    pub fn raw(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Sends a signal; only to a child not yet reaped, so its PID is still ours.
    pub fn signal(&self, sig: Signal) -> Result<()> {
        if self.status.is_some() {
            bail!(
                "the {} (PID {}) has already been reaped",
                self.label,
                self.pid
            );
        }
        signal::kill(self.pid, sig)
            .with_context(|| format!("cannot send {} to {}", sig.as_str(), self.pid))
    }

    /// Records that the child was reaped by other means (its status collected elsewhere).
    pub fn set_reaped(&mut self, status: WaitStatus) {
        self.status = Some(status);
    }

    /// Kills and reaps now (idempotent): the guard's cleanup, also usable early.
    pub fn kill_and_reap(&mut self) -> Option<WaitStatus> {
        if self.status.is_none() {
            let _ = signal::kill(self.pid, Signal::SIGKILL);
            loop {
                match waitpid(self.pid, None) {
                    Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                        self.status = Some(s);
                        break;
                    }
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(_) => break,
                }
            }
        }
        self.status
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.owner == nix::unistd::getpid() {
            self.kill_and_reap();
        }
    }
}

/// The reading end of a pipe children report on: lines of text (or JSON), read with a
/// timeout that Ctrl-C cuts short.
pub struct Receiver {
    fd: OwnedFd,
    buf: Vec<u8>,
}

/// The writing end, for the children.
pub struct Sender {
    fd: OwnedFd,
}

/// A one-way message pipe from children to the demo (both ends close on exec, which is how
/// a parent learns that an exec succeeded).
pub fn channel() -> Result<(Sender, Receiver)> {
    let (r, w) = pipe()?;
    Ok((
        Sender { fd: w },
        Receiver {
            fd: r,
            buf: Vec::new(),
        },
    ))
}

impl Receiver {
    /// Reads one line without its newline, waiting up to `timeout`; None when every writer
    /// closed the pipe (or exec'd).
    pub fn line(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Ok(Some(
                    String::from_utf8_lossy(&line[..line.len() - 1]).into_owned(),
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !rt.wait_readable(self.fd.as_fd(), Some(left))? {
                bail!(
                    "no message from a child process within {timeout:?}; the machine may be overloaded, try again"
                );
            }
            let mut chunk = [0u8; 4096];
            match nix::unistd::read(&self.fd, &mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => return Err(e).context("cannot read from a child's pipe"),
            }
        }
    }

    /// Reads one JSON message, or None at end of file.
    pub fn json_or_eof(
        &mut self,
        rt: &Runtime,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>> {
        match self.line(rt, timeout)? {
            None => Ok(None),
            Some(line) => serde_json::from_str(&line)
                .map(Some)
                .with_context(|| format!("bad message from a child: {line}")),
        }
    }

    /// Reads one JSON message a child must send.
    pub fn json(&mut self, rt: &Runtime, timeout: Duration) -> Result<serde_json::Value> {
        match self.json_or_eof(rt, timeout)? {
            Some(v) => Ok(v),
            None => bail!("a child closed its pipe before sending its message (did it crash?)"),
        }
    }

    /// A line if one arrives within `timeout` (None on silence or EOF).
    pub fn quiet_for(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        match self.line(rt, timeout) {
            Ok(line) => Ok(line),
            Err(e) if e.downcast_ref::<Interrupted>().is_some() => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// The raw descriptor, for a child to close.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl Sender {
    /// Sends one JSON message (from a child; errors are ignored: the parent notices the
    /// silence).
    pub fn send(&self, v: &serde_json::Value) {
        send_line(self.fd.as_raw_fd(), &v.to_string());
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A report pipe the demo keeps both ends of until it has forked the children that write:
/// then `close_write`, so that the read end sees EOF when they are all gone.
pub struct Channel {
    rx: Receiver,
    tx: Option<Sender>,
}

impl Channel {
    pub fn new() -> Result<Channel> {
        let (tx, rx) = channel()?;
        Ok(Channel { rx, tx: Some(tx) })
    }

    /// The write end, for a child to report on (-1 once closed).
    pub fn writer(&self) -> RawFd {
        self.tx.as_ref().map_or(-1, Sender::raw_fd)
    }

    /// The read end, for a child to close.
    pub fn reader(&self) -> RawFd {
        self.rx.raw_fd()
    }

    /// Closes the demo's copy of the write end.
    pub fn close_write(&mut self) {
        self.tx = None;
    }

    /// Reads one line (see [`Receiver::line`]).
    pub fn recv(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        self.rx.line(rt, timeout)
    }

    /// A line if one arrives within `timeout` (None on silence or EOF).
    pub fn quiet_for(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        self.rx.quiet_for(rt, timeout)
    }
}

/// Writes one line to a raw fd, all of it (one write(2) below PIPE_BUF, so lines from
/// several children do not mix). For children; errors are ignored.
pub fn send_line(fd: RawFd, line: &str) {
    let mut msg = line.as_bytes().to_vec();
    msg.push(b'\n');
    let mut off = 0;
    while off < msg.len() {
        match write_fd(fd, &msg[off..]) {
            Ok(n) => off += n,
            Err(Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// A one-shot gate: children block in `wait` until the demo calls `open` (or dies).
pub struct Gate {
    rd: OwnedFd,
    wr: Option<OwnedFd>,
}

impl Gate {
    pub fn new() -> Result<Gate> {
        let (rd, wr) = pipe()?;
        Ok(Gate { rd, wr: Some(wr) })
    }

    /// In a child: blocks until the gate opens. Returns at EOF too, i.e. when every holder
    /// of the writing end (the demo above all) has closed it or died.
    pub fn wait(&self) {
        let mut b = [0u8; 1];
        while let Err(Errno::EINTR) = nix::unistd::read(&self.rd, &mut b) {}
    }

    /// In a child: closes this copy of the writing end, so that the demo's death is seen
    /// as EOF. Call it first thing in a child that will wait on the gate.
    pub fn child_side(&mut self) {
        self.wr = None;
    }

    /// Opens the gate for `waiters` processes.
    pub fn open(&mut self, waiters: usize) -> Result<()> {
        if let Some(w) = &self.wr {
            for _ in 0..waiters {
                nix::unistd::write(w, b"x").context("cannot write to a gate pipe")?;
            }
        }
        self.wr = None;
        Ok(())
    }

    pub fn read_fd(&self) -> i32 {
        self.rd.as_raw_fd()
    }
}

/// A private temporary directory (mkdtemp, mode 0700) removed with its contents on Drop,
/// by the process that made it only.
pub struct TempDir {
    path: PathBuf,
    owner: Pid,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir> {
        let template = std::env::temp_dir().join(format!("{prefix}.XXXXXX"));
        let path = nix::unistd::mkdtemp(&template).with_context(|| {
            format!(
                "cannot create a private directory like {}; set TMPDIR to a writable directory",
                template.display()
            )
        })?;
        Ok(TempDir {
            path,
            owner: nix::unistd::getpid(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.owner == nix::unistd::getpid() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Finds a program in PATH (or the usual bin directories) and returns its full path.
pub fn find_program(name: &str) -> Result<CString> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/bin", "/bin"].map(PathBuf::from));
    for d in dirs {
        let p = d.join(name);
        if nix::unistd::access(&p, nix::unistd::AccessFlags::X_OK).is_ok() {
            return CString::new(p.into_os_string().into_encoded_bytes())
                .context("program path holds a NUL byte");
        }
    }
    bail!("cannot find the `{name}` program in PATH, /usr/bin or /bin; install coreutils")
}

/// Closes a descriptor in a child (the demo's copy stays open).
pub fn close_fd(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: in a forked child, closing its copy of an inherited descriptor.
        unsafe { libc::close(fd) };
    }
}

/// pipe2(O_CLOEXEC).
pub fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 failed")
}

/// read(2) on a raw descriptor (children hold raw copies of the demo's descriptors).
pub fn read_fd(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(Errno::last())
    } else {
        Ok(n as usize)
    }
}

/// write(2) on a raw descriptor.
pub fn write_fd(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: buf is valid for buf.len() bytes.
    let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(Errno::last())
    } else {
        Ok(n as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempdir_is_private_and_removed() {
        let p = {
            let t = TempDir::new("zombies-test").unwrap();
            let meta = std::fs::metadata(t.path()).unwrap();
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o700);
            std::fs::write(t.path().join("f"), b"x").unwrap();
            t.path().to_path_buf()
        };
        assert!(!p.exists(), "{} left behind", p.display());
    }

    #[test]
    fn finds_sh() {
        assert!(find_program("sh").is_ok());
        assert!(find_program("no-such-program-zombies").is_err());
    }
}

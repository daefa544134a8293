//! The ground the demos stand on: Ctrl-C, SIGTERM and SIGHUP read from a signalfd (so the demo
//! stays single-threaded and fork stays safe), the child subreaper, child processes owned by
//! guards that kill and reap them, and waits that an interruption cuts short.
//!
//! The rule every demo follows: the demo process never blocks in a system call it cannot leave.
//! Whatever may block for long (opening a FIFO, msgrcv, semop) happens in a child; the demo
//! waits for the child with `poll` on the signalfd, so Ctrl-C always reaches the cleanup code.

use std::fmt;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

/// The demo was stopped by a signal from the user; the cleanup has run. Exits 130.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted(pub Signal);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "interrupted by {}", self.0.as_str())
    }
}

impl std::error::Error for Interrupted {}

/// The signals that end a demo early, cleanly.
fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGHUP);
    set
}

/// Owns the signalfd and the subreaper role for the length of one demo.
pub struct Runtime {
    sfd: SignalFd,
    pid: Pid,
    /// A stop signal read from the signalfd, remembered so later checks see it too.
    seen: std::cell::Cell<Option<Signal>>,
}

impl Runtime {
    /// Blocks SIGINT, SIGTERM and SIGHUP, opens a signalfd for them and becomes a child
    /// subreaper, so that whatever our children leave behind comes back to us to be reaped.
    pub fn start() -> Result<Runtime> {
        stop_signals()
            .thread_block()
            .context("cannot block SIGINT/SIGTERM/SIGHUP")?;
        let sfd = SignalFd::with_flags(
            &stop_signals(),
            SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC,
        )
        .context("cannot create a signalfd")?;
        nix::sys::prctl::set_child_subreaper(true).context("prctl(PR_SET_CHILD_SUBREAPER)")?;
        Ok(Runtime {
            sfd,
            pid: nix::unistd::getpid(),
            seen: std::cell::Cell::new(None),
        })
    }

    /// The PID of the demo process.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    /// A stop signal that arrived, if any (reads the signalfd without blocking).
    pub fn pending(&self) -> Option<Signal> {
        if let Some(s) = self.seen.get() {
            return Some(s);
        }
        if let Ok(Some(info)) = self.sfd.read_signal() {
            let sig = Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGINT);
            self.seen.set(Some(sig));
            return Some(sig);
        }
        None
    }

    /// Fails with `Interrupted` when a stop signal arrived.
    pub fn check(&self) -> Result<()> {
        match self.pending() {
            Some(sig) => Err(Interrupted(sig).into()),
            None => Ok(()),
        }
    }

    /// Sleeps, unless interrupted.
    pub fn sleep(&self, d: Duration) -> Result<()> {
        let deadline = Instant::now() + d;
        loop {
            self.check()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.poll_with(None, Some(left))?;
        }
    }

    /// Waits until `fd` is readable (or hung up): true, or the timeout passed: false.
    /// `None` waits as long as it takes; a stop signal always ends the wait.
    pub fn wait_readable(&self, fd: BorrowedFd<'_>, timeout: Option<Duration>) -> Result<bool> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            self.check()?;
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(false);
            }
            if self.poll_with(Some(fd), left)? {
                return Ok(true);
            }
        }
    }

    /// Polls the signalfd and maybe one more fd; true when that fd is ready.
    fn poll_with(&self, fd: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> Result<bool> {
        let mut fds = vec![PollFd::new(self.sfd.as_fd(), PollFlags::POLLIN)];
        if let Some(fd) = fd {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        let ms = timeout.map_or(-1, |t| t.as_millis().clamp(1, 60_000) as i32);
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::NONE),
        ) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(io::Error::from(e)).context("poll"),
        }
        Ok(fds.get(1).and_then(|f| f.any()).unwrap_or(false))
    }

    /// Forks a child that runs `body` and exits with the code it returns. The child never
    /// returns into the caller's code: it cannot drop the parent's guards (which would remove
    /// the demo's objects) and it ends with `_exit`, even when `body` panics.
    ///
    /// In the child: the stop signals are unblocked again (a blocked mask is inherited), the
    /// signalfd is closed, and PR_SET_PDEATHSIG makes it die with the demo if the demo is
    /// killed outright.
    pub fn spawn(&self, label: &str, body: impl FnOnce() -> i32) -> Result<Child> {
        // Nothing buffered may be written twice; children never write to stdout.
        let _ = io::stdout().flush();
        // SAFETY: the demo process is single-threaded (no threads are ever started: Ctrl-C
        // comes through the signalfd), so the child may run ordinary code.
        match unsafe { fork() }.with_context(|| format!("cannot fork the {label}"))? {
            ForkResult::Child => {
                let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.child_prelude();
                    body()
                }))
                .unwrap_or(101);
                // SAFETY: ends the child without running the parent's destructors.
                unsafe { libc::_exit(code) }
            }
            ForkResult::Parent { child } => Ok(Child {
                pid: child,
                label: label.to_string(),
                status: None,
                owner: self.pid,
            }),
        }
    }

    fn child_prelude(&self) {
        let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
        if nix::unistd::getppid() != self.pid {
            // The demo died between fork and prctl.
            unsafe { libc::_exit(1) };
        }
        let _ = SigSet::empty().thread_set_mask();
        // SAFETY: closes our copy of the signalfd; the parent's stays open.
        unsafe { libc::close(self.sfd.as_raw_fd()) };
    }

    /// Reaps whatever the demo adopted as subreaper (descendants of its children), killing any
    /// that still run. Call it after every `Child` guard is gone.
    pub fn reap_adopted(&self) {
        for _ in 0..50 {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {
                    for pid in children_of(self.pid.as_raw()) {
                        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(_) => {}
                Err(_) => return, // ECHILD: nothing left
            }
        }
    }
}

/// PIDs whose parent is `ppid`, from /proc.
fn children_of(ppid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let stat = std::fs::read(format!("/proc/{pid}/stat")).unwrap_or_default();
        if crate::proc::stat::parse(&stat).map(|s| s.ppid) == Some(ppid) {
            out.push(pid);
        }
    }
    out
}

/// A child process of the demo. Drop kills it (SIGKILL) and reaps it unless it was reaped.
pub struct Child {
    pid: Pid,
    label: String,
    status: Option<WaitStatus>,
    owner: Pid,
}

impl Child {
    pub fn pid(&self) -> i32 {
        self.pid.as_raw()
    }

    pub fn label(&self) -> &str {
        &self.label
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
        nix::sys::signal::kill(self.pid, sig)
            .map_err(io::Error::from)
            .with_context(|| format!("kill({}, {})", self.pid, sig.as_str()))
    }

    /// Waits for the child to end (up to `timeout`), reaping it.
    pub fn wait(&mut self, rt: &Runtime, timeout: Duration) -> Result<WaitStatus> {
        if let Some(s) = self.status {
            return Ok(s);
        }
        let deadline = Instant::now() + timeout;
        loop {
            match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    self.status = Some(s);
                    return Ok(s);
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(io::Error::from(e))
                        .with_context(|| format!("waitpid({})", self.pid));
                }
            }
            if Instant::now() > deadline {
                rt.check()?;
                bail!(
                    "the {} (PID {}) did not finish within {:?}",
                    self.label,
                    self.pid,
                    timeout
                );
            }
            rt.sleep(Duration::from_millis(3))?;
        }
    }

    /// Waits for a stop or continue report (waitpid with WUNTRACED|WCONTINUED).
    pub fn wait_stop_change(&mut self, rt: &Runtime, timeout: Duration) -> Result<WaitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED | WaitPidFlag::WCONTINUED;
            match waitpid(self.pid, Some(flags)) {
                Ok(WaitStatus::StillAlive) => {}
                Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    self.status = Some(s);
                    bail!("the {} (PID {}) ended: {s:?}", self.label, self.pid);
                }
                Ok(s) => return Ok(s),
                Err(e) => return Err(io::Error::from(e)).context("waitpid"),
            }
            if Instant::now() > deadline {
                bail!("the {} (PID {}) did not change state", self.label, self.pid);
            }
            rt.sleep(Duration::from_millis(3))?;
        }
    }

    /// Kills and reaps now (idempotent).
    pub fn kill_and_reap(&mut self) -> Option<WaitStatus> {
        if self.status.is_none() {
            let _ = nix::sys::signal::kill(self.pid, Signal::SIGKILL);
            loop {
                match waitpid(self.pid, None) {
                    Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                        self.status = Some(s);
                        break;
                    }
                    Ok(_) => continue,
                    Err(Errno::EINTR) => continue,
                    Err(_) => break,
                }
            }
        }
        self.status
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Only the process that forked it may reap it.
        if self.owner == nix::unistd::getpid() {
            self.kill_and_reap();
        }
    }
}

/// How a reaped child ended, in words: "exited with status 0", "killed by SIGPIPE".
pub fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
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

/// A pipe on which children report to the demo: lines of text, read with a timeout. The
/// demo keeps the read end; after forking the children that write, it closes its write end
/// so that the read end sees EOF when they are all gone.
pub struct Channel {
    rd: OwnedFd,
    wr: Option<OwnedFd>,
    buf: Vec<u8>,
}

impl Channel {
    pub fn new() -> Result<Channel> {
        let (rd, wr) = pipe()?;
        Ok(Channel {
            rd,
            wr: Some(wr),
            buf: Vec::new(),
        })
    }

    /// The write end, for a child to report on (-1 once closed).
    pub fn writer(&self) -> RawFd {
        self.wr.as_ref().map_or(-1, |w| w.as_raw_fd())
    }

    /// The read end, for a child to close.
    pub fn reader(&self) -> RawFd {
        self.rd.as_raw_fd()
    }

    /// Closes the demo's copy of the write end.
    pub fn close_write(&mut self) {
        self.wr = None;
    }

    /// Reads one line, waiting up to `timeout`; None when the writers closed the pipe.
    pub fn recv(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Ok(Some(
                    String::from_utf8_lossy(&line[..line.len() - 1]).into_owned(),
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !rt.wait_readable(self.rd.as_fd(), Some(left))? {
                bail!("no answer from the child process within {timeout:?}");
            }
            let mut chunk = [0u8; 512];
            match nix::unistd::read(&self.rd, &mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => return Err(io::Error::from(e)).context("read from a child"),
            }
        }
    }

    /// A line if one arrives within `timeout` (None on silence or EOF).
    pub fn quiet_for(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        match self.recv(rt, timeout) {
            Ok(line) => Ok(line),
            Err(e) if e.downcast_ref::<Interrupted>().is_some() => Err(e),
            Err(_) => Ok(None),
        }
    }
}

/// Writes one line to a raw fd in one write(2) (atomic below PIPE_BUF). For children.
pub fn send_line(fd: RawFd, line: &str) {
    let mut msg = line.as_bytes().to_vec();
    msg.push(b'\n');
    // SAFETY: writing a buffer we own.
    unsafe { libc::write(fd, msg.as_ptr().cast(), msg.len()) };
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
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(io::Error::from)
        .context("pipe2")
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

//! The demos' runtime, shared with the IPC demos: the child processes a demo starts (guards
//! that kill and reap on Drop), pipes to talk to them, waits that Ctrl-C can cut short, and
//! private temporary directories.
//!
//! Ctrl-C without threads: SIGINT, SIGTERM, SIGHUP and SIGCHLD are blocked and read from a
//! signalfd that every wait polls, so the process stays single-threaded and fork stays
//! safe. A termination signal becomes an [`Interrupted`] error: it unwinds through the demo,
//! every guard's Drop cleans up, and the dispatcher exits 130. Children unblock those signals
//! again (a blocked mask survives fork and exec) and get SIGPIPE back to its default (Rust
//! ignores it, and an ignored disposition survives exec too).

use std::ffi::CString;
use std::io::Write as _;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
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

use super::narrate::{Narrator, Step};
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

/// Options every demo honours.
#[derive(Clone, Debug)]
pub struct Options {
    /// Pause after each step until Enter is pressed.
    pub step: bool,
    /// How long `demo zombie` holds its zombie.
    pub hold: Duration,
    /// The exit code of the children of `demo exit` and `demo zombie`.
    pub code: u8,
}

/// The running demo's world: narration, signals, the processes it started.
pub struct Lab {
    pub narrator: Narrator,
    pub opts: Options,
    /// The live /proc (demos always read the running system's).
    pub procfs: ProcFs,
    /// This process.
    pub me: i32,
    signals: SignalFd,
    /// SIGCHLDs read while waiting for something else, oldest first.
    sigchld: Vec<ChildSignal>,
    /// Every PID a demo reported starting, for the record.
    pub created: Vec<i32>,
    /// Set once stdin reached EOF in --step mode: pausing is then pointless.
    stdin_closed: bool,
    /// Whether the running demo is the last one asked for (no pause after its last step).
    pub last_demo: bool,
}

impl Lab {
    /// Blocks the watched signals, opens the signalfd, and makes this process a child
    /// subreaper so that orphans of the demos come back here to be reaped.
    pub fn new(narrator: Narrator, opts: Options) -> Result<Lab> {
        let set = watched();
        signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .context("cannot block SIGINT/SIGTERM/SIGCHLD for the demo")?;
        let signals = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .context("cannot create a signalfd (is this Linux 2.6.27 or later?)")?;
        nix::sys::prctl::set_child_subreaper(true)
            .context("prctl(PR_SET_CHILD_SUBREAPER) failed")?;
        Ok(Lab {
            narrator,
            opts,
            procfs: ProcFs::open(Path::new("/proc"))?,
            me: std::process::id() as i32,
            signals,
            sigchld: Vec::new(),
            created: Vec::new(),
            stdin_closed: false,
            last_demo: true,
        })
    }

    /// Writes a step, then in --step mode waits for Enter.
    pub fn step(&mut self, step: Step) -> Result<()> {
        self.narrator.step(&step)?;
        if self.opts.step {
            self.pause()?;
        }
        Ok(())
    }

    /// Writes a demo's last step: in --step mode it pauses only when another demo follows.
    pub fn conclude(&mut self, step: Step) -> Result<()> {
        self.narrator.step(&step)?;
        if self.opts.step && !self.last_demo {
            self.pause()?;
        }
        Ok(())
    }

    /// Takes charge of a child forked by the demo itself (for demos that show fork's raw
    /// return values); the child must call [`child_setup`] first.
    pub fn track(&mut self, pid: i32) -> Child {
        self.created.push(pid);
        Child::new(Pid::from_raw(pid))
    }

    /// Waits for a line on stdin (or EOF), watching for Ctrl-C meanwhile.
    fn pause(&mut self) -> Result<()> {
        if self.stdin_closed {
            return Ok(());
        }
        let _ = write!(
            std::io::stderr(),
            "   [step {} of {}: press Enter to go on, Ctrl-C to stop and clean up] ",
            self.narrator.step_number(),
            self.narrator.demo()
        );
        let stdin = std::io::stdin();
        let fd = stdin.as_fd();
        loop {
            if self.poll_with(Some(fd), None)? {
                let mut b = [0u8; 1];
                match nix::unistd::read(fd, &mut b) {
                    Ok(0) => {
                        self.stdin_closed = true;
                        let _ = writeln!(std::io::stderr());
                        return Ok(());
                    }
                    Ok(_) if b[0] == b'\n' => return Ok(()),
                    Ok(_) | Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                    Err(e) => {
                        self.stdin_closed = true;
                        let _ = writeln!(
                            std::io::stderr(),
                            "(cannot read stdin: {}; not pausing)",
                            e.desc()
                        );
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Polls the signalfd (and `fd`) for at most `timeout` (None: forever). Returns whether
    /// `fd` is readable; a termination signal is returned as [`Interrupted`].
    fn poll_with(&mut self, fd: Option<BorrowedFd>, timeout: Option<Duration>) -> Result<bool> {
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
        let ready = fds.get(1).and_then(|f| f.revents()).is_some_and(|r| {
            r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
        });
        drop(fds);
        self.drain_signals()?;
        Ok(ready)
    }

    /// Reads every pending signal; termination signals become [`Interrupted`].
    pub fn drain_signals(&mut self) -> Result<()> {
        loop {
            match self.signals.read_signal() {
                Ok(Some(info)) => {
                    let sig = Signal::try_from(info.ssi_signo as i32).unwrap_or(Signal::SIGTERM);
                    if sig == Signal::SIGCHLD {
                        self.sigchld.push(ChildSignal {
                            pid: info.ssi_pid as i32,
                            code: info.ssi_code,
                            status: info.ssi_status,
                        });
                        if self.sigchld.len() > 64 {
                            self.sigchld.remove(0);
                        }
                    } else {
                        return Err(Interrupted(sig).into());
                    }
                }
                Ok(None) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e).context("cannot read the signalfd"),
            }
        }
    }

    /// Forgets the SIGCHLDs seen so far (before starting the child a step will watch).
    pub fn clear_sigchld(&mut self) -> Result<()> {
        self.drain_signals()?;
        self.sigchld.clear();
        Ok(())
    }

    /// The first SIGCHLD seen from `pid` since the last clear. Standard signals do not queue:
    /// SIGCHLDs from children exiting together merge into one, so this may be None.
    pub fn sigchld_from(&self, pid: i32) -> Option<ChildSignal> {
        self.sigchld.iter().copied().find(|s| s.pid == pid)
    }

    /// Sleeps for `d`, cut short only by a termination signal.
    pub fn sleep(&mut self, d: Duration) -> Result<()> {
        let end = Instant::now() + d;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            self.poll_with(None, Some(left))?;
        }
        Ok(())
    }

    /// Polls `check` until it gives a value, waking on signals and every 10 ms, for at most
    /// `timeout`. `what` names the thing awaited in the timeout error.
    pub fn wait_until<T>(
        &mut self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&mut Lab) -> Result<Option<T>>,
    ) -> Result<T> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(v) = check(self)? {
                return Ok(v);
            }
            let Some(left) = end.checked_duration_since(Instant::now()) else {
                bail!(
                    "timed out after {:?} waiting for {what}; the machine may be overloaded, try again",
                    timeout
                );
            };
            self.poll_with(None, Some(left.min(Duration::from_millis(10))))?;
        }
    }

    /// Forks a child that runs `f` and exits with its return value, never returning into
    /// the demo (no destructors run in the child). The child starts with the watched signals
    /// unblocked, SIGPIPE at its default, and dies with SIGKILL if this process dies.
    pub fn fork(&mut self, f: impl FnOnce() -> i32) -> Result<Child> {
        self.narrator.flush()?;
        let pid = fork_child(true, f).context("fork failed (too many processes? see ulimit -u)")?;
        self.created.push(pid.as_raw());
        Ok(Child::new(pid))
    }

    /// Waits for a child to end and reaps it.
    pub fn reap(&mut self, child: &mut Child, timeout: Duration) -> Result<WaitStatus> {
        let pid = child.pid;
        let status = self.wait_until(
            timeout,
            &format!("process {pid} to exit"),
            |_| match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => Ok(None),
                Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => Ok(Some(s)),
                Ok(_) => Ok(None),
                Err(Errno::EINTR) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("waitpid({pid}) failed")),
            },
        )?;
        child.reaped = true;
        Ok(status)
    }

    /// Kills a child with SIGKILL and reaps it.
    pub fn reap_killed(&mut self, child: &mut Child) -> Result<WaitStatus> {
        child.kill(Signal::SIGKILL)?;
        self.reap(child, Duration::from_secs(5))
    }

    /// Waits until a child has exited, without reaping it (waitid with WNOWAIT): it stays a
    /// zombie for us to look at.
    pub fn wait_exited_nowait(&mut self, pid: Pid, timeout: Duration) -> Result<WaitStatus> {
        self.wait_until(
            timeout,
            &format!("process {pid} to exit"),
            |_| match waitid(
                Id::Pid(pid),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG,
            ) {
                Ok(WaitStatus::StillAlive) => Ok(None),
                Ok(s) => Ok(Some(s)),
                Err(Errno::EINTR) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("waitid({pid}) failed")),
            },
        )
    }

    /// Reads one message a child sent on `rx`.
    pub fn recv(&mut self, rx: &mut Receiver, timeout: Duration) -> Result<serde_json::Value> {
        match self.recv_or_eof(rx, timeout)? {
            Some(v) => Ok(v),
            None => bail!("a child closed its pipe before sending its message (did it crash?)"),
        }
    }

    /// Reads one message, or None when every writer closed the pipe (or exec'd: the pipes
    /// are O_CLOEXEC, which is how a parent learns that an exec succeeded).
    pub fn recv_or_eof(
        &mut self,
        rx: &mut Receiver,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(pos) = rx.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = rx.buf.drain(..=pos).collect();
                return serde_json::from_slice(&line).map(Some).with_context(|| {
                    format!(
                        "bad message from a child: {}",
                        String::from_utf8_lossy(&line)
                    )
                });
            }
            let Some(left) = end.checked_duration_since(Instant::now()) else {
                bail!(
                    "timed out after {timeout:?} waiting for a child's message; the machine may be overloaded, try again"
                );
            };
            if self.poll_with(Some(rx.fd.as_fd()), Some(left))? {
                let mut chunk = [0u8; 4096];
                match nix::unistd::read(&rx.fd, &mut chunk) {
                    Ok(0) => return Ok(None),
                    Ok(n) => rx.buf.extend_from_slice(&chunk[..n]),
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    Err(e) => return Err(e).context("cannot read from a child's pipe"),
                }
            }
        }
    }

    /// Kills and reaps every child this process still has (its own and adopted orphans):
    /// the last line of defence, run after each demo on every path. Returns their PIDs.
    pub fn sweep(&mut self) -> Vec<i32> {
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
            // Wait for the next SIGCHLD (ignoring Ctrl-C here: we are already cleaning up).
            let mut fds = [PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut fds, PollTimeout::from(20u8));
            while let Ok(Some(_)) = self.signals.read_signal() {}
        }
    }

    /// The PIDs whose parent is this process, from /proc.
    fn children(&self) -> Vec<i32> {
        match self.procfs.scan() {
            Ok(snap) => snap
                .processes
                .iter()
                .filter(|p| p.ppid == self.me)
                .map(|p| p.pid)
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

/// A wait status for people: "exited with code 42", "killed by SIGKILL".
pub fn wait_text(ws: &WaitStatus) -> String {
    match ws {
        WaitStatus::Exited(_, c) => format!("exited with code {c}"),
        WaitStatus::Signaled(_, s, core) => {
            format!(
                "killed by {}{}",
                s.as_str(),
                if *core { " (core dumped)" } else { "" }
            )
        }
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

/// A child process this demo started. Drop kills (SIGKILL) and reaps it unless it was
/// reaped already: its PID cannot be reused before it is reaped, so the kill is safe.
#[derive(Debug)]
pub struct Child {
    pub pid: Pid,
    reaped: bool,
}

impl Child {
    fn new(pid: Pid) -> Child {
        Child { pid, reaped: false }
    }

    /// Takes charge of a process that became our child by adoption (we are a subreaper).
    /// The caller must have checked that its parent is now this process.
    pub fn adopt(pid: i32) -> Child {
        Child::new(Pid::from_raw(pid))
    }

    pub fn raw(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Sends a signal to this child (only while it is not reaped).
    pub fn kill(&self, sig: Signal) -> Result<()> {
        if self.reaped {
            bail!("process {} was already reaped", self.pid);
        }
        signal::kill(self.pid, sig)
            .with_context(|| format!("cannot send {} to {}", sig.as_str(), self.pid))
    }

    /// Marks the child as reaped by someone else (e.g. its exit status was collected).
    pub fn set_reaped(&mut self) {
        self.reaped = true;
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            let _ = signal::kill(self.pid, Signal::SIGKILL);
            while let Err(Errno::EINTR) = waitpid(self.pid, None) {}
        }
    }
}

/// The reading end of a pipe a child writes JSON lines to.
pub struct Receiver {
    fd: OwnedFd,
    buf: Vec<u8>,
}

/// The writing end, for the child.
pub struct Sender {
    fd: OwnedFd,
}

/// A one-way message pipe from a child to the demo (both ends close on exec).
pub fn channel() -> Result<(Sender, Receiver)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 failed")?;
    Ok((
        Sender { fd: w },
        Receiver {
            fd: r,
            buf: Vec::new(),
        },
    ))
}

impl Sender {
    /// Sends one message (from a child; errors are ignored: the parent notices the silence).
    pub fn send(&self, v: &serde_json::Value) {
        let mut line = v.to_string().into_bytes();
        line.push(b'\n');
        let mut off = 0;
        while off < line.len() {
            match nix::unistd::write(&self.fd, &line[off..]) {
                Ok(n) => off += n,
                Err(Errno::EINTR) => {}
                Err(_) => return,
            }
        }
    }

    pub fn raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

/// A one-shot gate: children block in `wait` until the demo calls `open` (or dies).
pub struct Gate {
    rd: OwnedFd,
    wr: Option<OwnedFd>,
}

impl Gate {
    pub fn new() -> Result<Gate> {
        let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 failed")?;
        Ok(Gate { rd, wr: Some(wr) })
    }

    /// In a child: blocks until the gate opens. Returns at EOF too, i.e. when every holder
    /// of the writing end (the demo above all) has closed it or died.
    pub fn wait(&self) {
        let mut b = [0u8; 1];
        loop {
            match nix::unistd::read(&self.rd, &mut b) {
                Err(Errno::EINTR) => continue,
                _ => return,
            }
        }
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

/// A private temporary directory (mkdtemp, mode 0700) removed with its contents on Drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir> {
        let template = std::env::temp_dir().join(format!("{prefix}.XXXXXX"));
        let path = nix::unistd::mkdtemp(&template).with_context(|| {
            format!(
                "cannot create a temporary directory like {}",
                template.display()
            )
        })?;
        Ok(TempDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
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

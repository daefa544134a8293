//! The demo's children: forking one that runs a closure, waiting for it in ways Ctrl-C cuts
//! short, and the [`Child`] guard that kills and reaps it on every path. Children start clean:
//! the blocked signals are unblocked again (a blocked mask survives fork and exec), SIGPIPE is
//! back at its default (Rust ignores it, and an ignored disposition survives exec too), and
//! PR_SET_PDEATHSIG kills them if the demo itself is killed outright.

use std::io::{self, Write as _};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::signal::{self, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::Pid;

use super::Runtime;
use crate::sys::process::{self, ForkResult};
use crate::teach::{syscalls, trace};

impl Runtime {
    /// Forks a child that runs `body` and exits with the code it returns. The child never
    /// returns into the caller's code: it cannot drop the parent's guards (which would remove
    /// the demo's objects) and it ends with `_exit`, even when `body` panics (code 101).
    /// `label` names the child in error messages ("pipe reader").
    pub(crate) fn spawn(&self, label: &str, body: impl FnOnce() -> i32) -> Result<Child> {
        // Nothing buffered may be written twice; children never write to stdout.
        let _ = io::stdout().flush();
        match process::fork().with_context(|| {
            format!("cannot fork the {label} (too many processes? see ulimit -u)")
        })? {
            ForkResult::Child => process::run_child(|| {
                child_setup(self.pid);
                // This child's copy of the signalfd: the demo's own stays open.
                self.signals.borrow_mut().take();
                body()
            }),
            ForkResult::Parent { child } => {
                if trace::on() && !self.quiet.get() {
                    let call = self.fork_call();
                    match call {
                        Some(args) => trace::record("clone", args, child.to_string()),
                        None => trace::record("fork", "", child.to_string()),
                    }
                }
                Ok(self.track(child.as_raw(), label))
            }
        }
    }

    /// The arguments of the clone system call this C library's fork() makes, as strace
    /// prints them, found out once by watching fork() in a probe (see
    /// [`crate::teach::syscalls`]); None when that could not be watched.
    pub(crate) fn fork_call(&self) -> Option<String> {
        if let Some(c) = self.fork_call.get() {
            return c.clone();
        }
        self.quiet.set(true);
        let seen =
            syscalls::watch(
                self,
                &[libc::SYS_clone, libc::SYS_clone3],
                || match process::fork() {
                    Ok(ForkResult::Child) => process::exit_now(0),
                    Ok(ForkResult::Parent { child }) => {
                        let _ = waitpid(child, None);
                        0
                    }
                    Err(_) => 1,
                },
            );
        self.quiet.set(false);
        let call = match seen {
            Ok(Ok(calls)) => calls.first().map(|c| {
                let (args, _) = c.strace();
                // The address of the TID word differs in each process: not part of the lesson.
                match args.split_once(", child_tidptr=") {
                    Some((head, _)) => format!("{head}, child_tidptr=…"),
                    None => args,
                }
            }),
            _ => None,
        };
        let _ = self.fork_call.set(call.clone());
        call
    }

    /// Takes charge of a child forked by the demo itself (for demos that show fork's raw
    /// return values; the child must call [`child_setup`] first), or of a process adopted as
    /// subreaper (the caller must have checked that its parent is now this process).
    pub(crate) fn track(&self, pid: i32, label: &str) -> Child {
        Child {
            pid: Pid::from_raw(pid),
            label: label.to_string(),
            status: None,
            owner: self.pid,
        }
    }

    /// Waits for a child to end (up to `timeout`) and reaps it.
    pub(crate) fn reap(&self, child: &mut Child, timeout: Duration) -> Result<WaitStatus> {
        if let Some(s) = child.status {
            return Ok(s);
        }
        let pid = child.pid;
        let status = self.wait_until(
            timeout,
            &format!("the {} (PID {pid}) to exit", child.label),
            |_| match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(s @ (WaitStatus::Exited(..) | WaitStatus::Signaled(..))) => {
                    if !self.quiet.get() {
                        trace::record(
                            "wait4",
                            format!("{pid}, {}, WNOHANG, NULL", trace::status(s)),
                            pid.to_string(),
                        );
                    }
                    Ok(Some(s))
                }
                Ok(_) | Err(Errno::EINTR) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("waitpid({pid}) failed")),
            },
        )?;
        child.status = Some(status);
        Ok(status)
    }

    /// Waits for a child to end (up to `timeout`) and reaps it with wait4, which also returns
    /// the resources it used: the kernel keeps them with the zombie.
    pub(crate) fn reap_with_usage(
        &self,
        child: &mut Child,
        timeout: Duration,
    ) -> Result<(WaitStatus, process::Usage)> {
        let pid = child.pid;
        let got = self.wait_until(
            timeout,
            &format!("the {} (PID {pid}) to exit", child.label),
            |_| match process::wait4_nohang(pid.as_raw()) {
                Ok(Some(got)) => Ok(Some(got)),
                Ok(None) => Ok(None),
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => Ok(None),
                Err(e) => Err(e).with_context(|| format!("wait4({pid}) failed")),
            },
        )?;
        let (status, usage) = got;
        trace::record(
            "wait4",
            format!(
                "{pid}, {}, WNOHANG, {{ru_utime={{tv_sec={}, tv_usec={}}}, ru_stime={{tv_sec={}, tv_usec={}}}, ru_maxrss={}, ...}}",
                trace::status(status),
                usage.utime.as_secs(),
                usage.utime.subsec_micros(),
                usage.stime.as_secs(),
                usage.stime.subsec_micros(),
                usage.maxrss_kb
            ),
            pid.to_string(),
        );
        child.status = Some(status);
        Ok((status, usage))
    }

    /// Runs `program` with `argv` (argv[0] included) in a child, its stdout into a pipe and
    /// its stderr to /dev/null, and returns how it ended and what it wrote (up to 64 KiB),
    /// waiting at most `timeout`: a program that hangs is killed and reaped.
    pub(crate) fn capture(
        &self,
        program: &std::ffi::CStr,
        argv: &[std::ffi::CString],
        timeout: Duration,
    ) -> Result<(WaitStatus, String)> {
        let mut pipe = super::Pipe::new()?;
        let name = program.to_string_lossy().into_owned();
        let mut child = self.spawn(&name, || {
            use std::os::fd::AsFd;
            pipe.close_read();
            let Some(w) = pipe.writer() else { return 126 };
            let mut stdout = std::io::stdout();
            if nix::unistd::dup2_stdout(w).is_err() {
                return 126;
            }
            if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
                let _ = nix::unistd::dup2_stderr(null.as_fd());
            }
            let _ = stdout.flush();
            let env: [std::ffi::CString; 0] = [];
            let _ = nix::unistd::execve(program, argv, &env);
            127
        })?;
        trace::record(
            "execve",
            format!(
                "\"{name}\", [{}], [] /* 0 vars */",
                argv.iter()
                    .map(|a| format!("\"{}\"", a.to_string_lossy()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "0",
        );
        pipe.close_write();
        let reader = pipe
            .reader()
            .context("the capture pipe's read end is closed")?;
        let deadline = std::time::Instant::now() + timeout;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || !self.wait_readable(reader, Some(left))? {
                let _ = child.kill_and_reap();
                bail!("{name} did not finish within {timeout:?}");
            }
            match nix::unistd::read(reader, &mut buf) {
                Ok(0) => break,
                Ok(n) if out.len() < 65536 => out.extend_from_slice(&buf[..n]),
                Ok(_) | Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => return Err(e).with_context(|| format!("cannot read what {name} wrote")),
            }
        }
        let status = self.reap(&mut child, timeout)?;
        Ok((status, String::from_utf8_lossy(&out).into_owned()))
    }

    /// Kills a child with SIGKILL and reaps it.
    pub(crate) fn reap_killed(&self, child: &mut Child) -> Result<WaitStatus> {
        child.signal(Signal::SIGKILL)?;
        self.reap(child, Duration::from_secs(5))
    }

    /// Waits for a stop or continue report (waitpid with WUNTRACED|WCONTINUED).
    pub(crate) fn wait_stop_change(
        &self,
        child: &mut Child,
        timeout: Duration,
    ) -> Result<WaitStatus> {
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
    pub(crate) fn wait_exited_nowait(&self, pid: Pid, timeout: Duration) -> Result<WaitStatus> {
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
}

/// How a child ended, in words: "exited with code 42", "killed by SIGKILL".
pub(crate) fn describe(status: WaitStatus) -> String {
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
pub(crate) fn fork_child(die_with_parent: bool, f: impl FnOnce() -> i32) -> io::Result<Pid> {
    let parent = nix::unistd::getpid();
    match process::fork()? {
        ForkResult::Parent { child } => Ok(child),
        ForkResult::Child => process::run_child(|| {
            if die_with_parent {
                child_setup(parent);
            } else {
                child_reset_signals();
            }
            f()
        }),
    }
}

/// In a new child of `parent`: reset signals, and die with SIGKILL when the parent dies
/// (PR_SET_PDEATHSIG), so that even a SIGKILLed demo leaves no live children behind.
pub(crate) fn child_setup(parent: Pid) {
    child_reset_signals();
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    // A parent that died before the prctl sent nothing: the getppid check closes that race.
    // getppid() is 0 in the first process of a new PID namespace, whose parent lives
    // outside it: there the check cannot be made.
    let ppid = nix::unistd::getppid();
    if ppid != parent && ppid.as_raw() != 0 {
        process::exit_now(1);
    }
}

/// In a new child: unblock every signal and give SIGPIPE its default action back, so the
/// child (and any program it execs) behaves like a normally started process.
pub(crate) fn child_reset_signals() {
    let _ = signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    let _ = process::default_action(Signal::SIGPIPE);
}

/// A child process of the demo. Drop kills it (SIGKILL) and reaps it unless it was reaped
/// already: its PID cannot be reused before it is reaped, so the kill is safe.
#[derive(Debug)]
pub(crate) struct Child {
    pub pid: Pid,
    label: String,
    status: Option<WaitStatus>,
    /// The process that may reap it (a forked copy of the guard must not).
    owner: Pid,
}

impl Child {
    /// The PID as a number.
    pub(crate) fn raw(&self) -> i32 {
        self.pid.as_raw()
    }

    /// Sends a signal; only to a child not yet reaped, so its PID is still ours.
    pub(crate) fn signal(&self, sig: Signal) -> Result<()> {
        if self.status.is_some() {
            bail!(
                "the {} (PID {}) has already been reaped",
                self.label,
                self.pid
            );
        }
        let r = signal::kill(self.pid, sig);
        trace::record(
            "kill",
            format!("{}, {}", self.pid, sig.as_str()),
            trace::ret(&r.map(|()| 0)),
        );
        r.with_context(|| format!("cannot send {} to {}", sig.as_str(), self.pid))
    }

    /// Kills and reaps now (idempotent): the guard's cleanup, also usable early.
    pub(crate) fn kill_and_reap(&mut self) -> Option<WaitStatus> {
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

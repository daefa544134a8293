//! pidfds: a descriptor naming one process for good, immune to PID reuse.
//!
//! Kernel history that decides how we use them (each measured, see the README's kernel table):
//! - 5.1: pidfd_send_signal(2); 5.3: pidfd_open(2) and poll(2) on a pidfd, POLLIN once the
//!   process has exited (it may still be a zombie).
//! - 6.9: poll(2) also reports POLLHUP once the process is reaped, and the reap wakes a poll
//!   waiting for it. Before 6.9 a reaped process still shows only POLLIN and nothing wakes a
//!   waiter at the reap, so "reaped" must be asked, not awaited.
//! - Always (5.1+): pidfd_send_signal(fd, 0) fails with ESRCH exactly when the process has
//!   been reaped; on a zombie it succeeds (or EPERM when we may not signal it).
//!
//! rustix wraps pidfd_open and pidfd_send_signal, but its `Signal` cannot be 0, so the
//! liveness probe is the one raw syscall here.

#![allow(unsafe_code)] // pidfd_send_signal(fd, 0), which rustix cannot express, and fork for the probe.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

/// An open pidfd (O_CLOEXEC, as pidfd_open always makes them).
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// pidfd_open(pid, 0): works on a zombie and on another process's child. ESRCH once the PID
    /// is free, ENOSYS before Linux 5.3, EINVAL for a thread that is not a leader (before 6.9's
    /// PIDFD_THREAD, which we do not use).
    pub fn open(pid: i32) -> Result<PidFd, Errno> {
        let pid = rustix::process::Pid::from_raw(pid).ok_or(Errno::ESRCH)?;
        rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
            .map(PidFd)
            .map_err(|e| Errno::from_raw(e.raw_os_error()))
    }

    /// pidfd_send_signal(fd, sig, NULL, 0): delivered to the process this pidfd names; ESRCH
    /// once it has been reaped.
    pub fn send(&self, sig: Signal) -> Result<(), Errno> {
        let sig = rustix::process::Signal::from_named_raw(sig as i32).ok_or(Errno::EINVAL)?;
        rustix::process::pidfd_send_signal(&self.0, sig)
            .map_err(|e| Errno::from_raw(e.raw_os_error()))
    }

    /// Whether the process has been reaped (its task released), on every kernel with pidfds.
    /// Signal 0 checks existence only; EPERM means it exists but is not ours to signal.
    pub fn is_reaped(&self) -> bool {
        // SAFETY: pidfd_send_signal takes a descriptor we own, signal 0, a null siginfo (the
        // kernel then fills in a kill()-like one) and no flags; it touches no memory of ours.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                0,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        r < 0 && Errno::last() == Errno::ESRCH
    }

    /// Whether the process has exited (POLLIN, Linux 5.3+): true for a zombie and after the
    /// reap alike.
    pub fn has_exited(&self) -> bool {
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        matches!(nix::poll::poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// Whether this kernel reports a reap on a pidfd with POLLHUP and wakes poll(2) for it (Linux
/// 6.9+). Found out once per run by watching it happen: a child that exits at once is reaped
/// and its pidfd polled. Any doubt (no fork, no pidfd, SIGCHLD ignored so the child reaped
/// itself) answers false, which costs only re-checks, never a wrong answer.
pub fn pollhup_on_reap() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| probe_pollhup_on_reap().unwrap_or(false))
}

fn probe_pollhup_on_reap() -> Option<bool> {
    use nix::sys::wait::{WaitPidFlag, waitpid};
    use nix::unistd::{ForkResult, fork};
    // SAFETY: the child calls only _exit(2), which is async-signal-safe, so forking from a
    // process that may have other threads is sound.
    let child = match unsafe { fork() }.ok()? {
        ForkResult::Child => unsafe { libc::_exit(0) },
        ForkResult::Parent { child } => child,
    };
    let fd = PidFd::open(child.as_raw());
    // Reap it whatever happened above, so the probe never leaves a zombie of its own.
    let reaped = waitpid(child, Some(WaitPidFlag::empty())).is_ok();
    let fd = fd.ok()?;
    if !reaped || !fd.is_reaped() {
        return None;
    }
    let mut fds = [PollFd::new(fd.as_fd(), PollFlags::empty())];
    let n = nix::poll::poll(&mut fds, PollTimeout::ZERO).ok()?;
    Some(
        n > 0
            && fds[0]
                .revents()
                .is_some_and(|r| r.contains(PollFlags::POLLHUP)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pidfd_tells_exited_and_reaped_apart() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let fd = PidFd::open(child.id() as i32).unwrap();
        assert!(!fd.has_exited() && !fd.is_reaped(), "running");
        fd.send(Signal::SIGKILL).unwrap();
        // Exited but not reaped: a zombie until we wait.
        let t = std::time::Instant::now();
        while !fd.has_exited() {
            assert!(t.elapsed().as_secs() < 5, "no POLLIN after SIGKILL");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(!fd.is_reaped(), "a zombie is not reaped");
        child.wait().unwrap();
        assert!(fd.is_reaped() && fd.has_exited(), "reaped");
        assert_eq!(fd.send(Signal::SIGKILL), Err(Errno::ESRCH));
    }

    #[test]
    fn the_pollhup_probe_agrees_with_the_kernel_version() {
        // Cross-check the run-time probe against the version it was introduced in (6.9): the
        // tool never uses the version, this test does, so a wrong probe cannot pass silently.
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        let mut nums = release
            .trim()
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let v = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
        assert_eq!(pollhup_on_reap(), v >= (6, 9), "kernel {}", release.trim());
    }
}

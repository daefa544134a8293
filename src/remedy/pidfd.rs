//! A handle on one process that cannot be fooled by PID reuse: a pidfd (pidfd_open(2) +
//! pidfd_send_signal(2), Linux 5.3+), or, where the kernel has none, a PID plus the start time
//! we re-check before every signal. nix 0.32 has no pidfd calls; this is the small safe wrapper
//! over libc::syscall that spares us another crate.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::proc::scan::ReadError;
use crate::proc::{Pid, ProcFs};

/// An open pidfd: it keeps naming the same process even after its PID is reused.
#[derive(Debug)]
pub struct PidFd(OwnedFd);

impl PidFd {
    /// pidfd_open(pid, 0). Works on a zombie, also on another process's child; ESRCH once the
    /// PID is free, ENOSYS on kernels before 5.3.
    pub fn open(pid: Pid) -> Result<PidFd, Errno> {
        // SAFETY: pidfd_open takes a PID and flags and returns a new descriptor or -1; it
        // touches no memory of ours.
        let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if r < 0 {
            return Err(Errno::last());
        }
        // SAFETY: the kernel just gave us this descriptor (O_CLOEXEC); nothing else owns it.
        Ok(PidFd(unsafe { OwnedFd::from_raw_fd(r as RawFd) }))
    }

    /// pidfd_send_signal(fd, sig, NULL, 0): delivered to the process this pidfd names, or ESRCH
    /// when it has exited.
    pub fn send(&self, sig: Signal) -> Result<(), Errno> {
        // SAFETY: a valid descriptor, a signal number, a null siginfo (the kernel fills in a
        // kill()-like one) and no flags.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                sig as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if r < 0 { Err(Errno::last()) } else { Ok(()) }
    }
}

impl AsFd for PidFd {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// What to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The process exited (it may now be a zombie): pidfd POLLIN.
    Exited,
    /// The process was reaped and its PID freed: pidfd POLLHUP.
    Reaped,
}

/// One process we act on or watch.
#[derive(Debug)]
pub enum Handle {
    Pidfd {
        pid: Pid,
        fd: PidFd,
    },
    /// No pidfd on this kernel: the PID and the start time that names the process.
    Legacy {
        pid: Pid,
        start_ticks: u64,
    },
}

/// Why a process could not be opened.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenError {
    /// The PID is free: the process exited and was reaped.
    Gone,
    /// The PID now names another process (its start time differs).
    Recycled,
    /// Anything else, e.g. EMFILE.
    Other(Errno),
}

/// Whether pidfds may be used; `ZOMBIES_NO_PIDFD=1` forces the start-time fallback (a test seam
/// for the path old kernels take).
pub fn pidfd_allowed() -> bool {
    std::env::var_os("ZOMBIES_NO_PIDFD").is_none_or(|v| v.is_empty() || v == "0")
}

impl Handle {
    /// Opens the process `pid` if it is still the one that started at `start_ticks`, and
    /// returns it with its current stat (state, ppid). The pidfd is opened first and the start
    /// time checked after, so once the check passes the pidfd names the diagnosed process.
    pub fn open(
        fs: &ProcFs,
        pid: Pid,
        start_ticks: u64,
    ) -> Result<(Handle, crate::proc::stat::Stat), OpenError> {
        let handle = if pidfd_allowed() {
            match PidFd::open(pid) {
                Ok(fd) => Handle::Pidfd { pid, fd },
                Err(Errno::ESRCH) => return Err(OpenError::Gone),
                // ENOSYS: before Linux 5.3. EPERM: an old container seccomp profile that denies
                // syscalls it does not know (pidfd_open itself needs no permission).
                Err(Errno::ENOSYS | Errno::EPERM) => Handle::Legacy { pid, start_ticks },
                Err(e) => return Err(OpenError::Other(e)),
            }
        } else {
            Handle::Legacy { pid, start_ticks }
        };
        match fs.stat(pid) {
            Ok(st) if st.starttime == start_ticks => Ok((handle, st)),
            Ok(_) => Err(OpenError::Recycled),
            Err(ReadError::Vanished) => Err(OpenError::Gone),
            Err(ReadError::Denied) => Err(OpenError::Other(Errno::EACCES)),
            Err(ReadError::Other(e)) => Err(OpenError::Other(e)),
            Err(ReadError::NotAFile) => Err(OpenError::Other(Errno::EINVAL)),
        }
    }

    pub fn pid(&self) -> Pid {
        match self {
            Handle::Pidfd { pid, .. } | Handle::Legacy { pid, .. } => *pid,
        }
    }

    /// Sends `sig` to this very process; ESRCH when it is gone (or, without a pidfd, when the
    /// PID was reused: the start time is checked right before kill(2)).
    pub fn send(&self, fs: &ProcFs, sig: Signal) -> Result<(), Errno> {
        match self {
            Handle::Pidfd { fd, .. } => fd.send(sig),
            Handle::Legacy { pid, start_ticks } => {
                match fs.stat(*pid) {
                    Ok(st) if st.starttime == *start_ticks => {}
                    _ => return Err(Errno::ESRCH),
                }
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), sig)
            }
        }
    }

    /// Whether `event` has happened, without waiting.
    pub fn happened(&self, fs: &ProcFs, event: Event) -> bool {
        match self {
            Handle::Pidfd { fd, .. } => {
                let mut fds = [PollFd::new(fd.as_fd(), poll_events(event))];
                matches!(nix::poll::poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
                    && fired(&fds[0], event)
            }
            Handle::Legacy { pid, start_ticks } => match fs.stat(*pid) {
                Ok(st) if st.starttime == *start_ticks => {
                    event == Event::Exited && (st.state == b'Z' || st.state == b'X')
                }
                // Gone or reused: it was reaped (which implies it exited).
                _ => true,
            },
        }
    }
}

fn poll_events(event: Event) -> PollFlags {
    match event {
        Event::Exited => PollFlags::POLLIN,
        // POLLHUP is always reported; asking for nothing waits for it alone.
        Event::Reaped => PollFlags::empty(),
    }
}

fn fired(fd: &PollFd, event: Event) -> bool {
    let r = fd.revents().unwrap_or(PollFlags::empty());
    match event {
        Event::Exited => r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP),
        Event::Reaped => r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR),
    }
}

/// Waits for events on many processes at once: `items[i].1` happening to `items[i].0`.
/// `done[i]` is set to the time (since `clock`) when item i's event was seen; items already
/// done are not watched. Returns when `stop(done)` holds or `deadline` passes; `on_event(i)` runs
/// as soon as item i's event is seen (e.g. to read who adopted a dead parent's zombies before
/// they are reaped). Pidfds are waited on with poll(2); legacy handles are checked every 10 ms.
pub fn wait(
    fs: &ProcFs,
    items: &[(&Handle, Event)],
    done: &mut [Option<Duration>],
    clock: Instant,
    deadline: Instant,
    mut stop: impl FnMut(&[Option<Duration>]) -> bool,
    mut on_event: impl FnMut(usize),
) {
    loop {
        for (i, (h, ev)) in items.iter().enumerate() {
            if done[i].is_none() && h.happened(fs, *ev) {
                done[i] = Some(clock.elapsed());
                on_event(i);
            }
        }
        let now = Instant::now();
        if stop(done) || now >= deadline {
            return;
        }
        let pending: Vec<usize> = (0..items.len())
            .filter(|&i| done[i].is_none() && matches!(items[i].0, Handle::Pidfd { .. }))
            .collect();
        let legacy_left = (0..items.len())
            .any(|i| done[i].is_none() && matches!(items[i].0, Handle::Legacy { .. }));
        let mut left = deadline - now;
        if legacy_left {
            left = left.min(Duration::from_millis(10));
        }
        // At most a second per poll(): the loop re-checks everything in between.
        let ms = left.as_millis().clamp(1, 1000) as u16;
        if pending.is_empty() {
            std::thread::sleep(Duration::from_millis(u64::from(ms)));
            continue;
        }
        let mut fds: Vec<PollFd> = pending
            .iter()
            .filter_map(|&i| match items[i].0 {
                Handle::Pidfd { fd, .. } => Some(PollFd::new(fd.as_fd(), poll_events(items[i].1))),
                Handle::Legacy { .. } => None,
            })
            .collect();
        match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
            Ok(_) | Err(Errno::EINTR) => {
                let at = clock.elapsed();
                for (k, &i) in pending.iter().enumerate() {
                    if fired(&fds[k], items[i].1) {
                        done[i] = Some(at);
                        on_event(i);
                    }
                }
            }
            // poll() itself failing is not expected; the loop checks each handle instead.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Waits until `event` has happened to every handle or `deadline` passes; for each, when.
pub fn wait_all(
    fs: &ProcFs,
    handles: &[&Handle],
    event: Event,
    clock: Instant,
    deadline: Instant,
) -> Vec<Option<Duration>> {
    let items: Vec<(&Handle, Event)> = handles.iter().map(|h| (*h, event)).collect();
    let mut done = vec![None; items.len()];
    wait(
        fs,
        &items,
        &mut done,
        clock,
        deadline,
        |d| d.iter().all(Option::is_some),
        |_| {},
    );
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pidfd_on_self_signals_nothing_and_waits() {
        let me = std::process::id() as Pid;
        let fd = PidFd::open(me).expect("pidfd_open on self");
        // Signal 0 does not exist for pidfd_send_signal's enum; check liveness by poll.
        let h = Handle::Pidfd { pid: me, fd };
        let fs = ProcFs::open(std::path::Path::new("/proc")).unwrap();
        assert!(!h.happened(&fs, Event::Exited));
        assert!(!h.happened(&fs, Event::Reaped));
    }

    #[test]
    fn a_child_is_seen_exit_then_reaped() {
        let fs = ProcFs::open(std::path::Path::new("/proc")).unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as Pid;
        let start = fs.stat(pid).unwrap().starttime;
        let (h, _) = Handle::open(&fs, pid, start).unwrap();
        assert_eq!(
            Handle::open(&fs, pid, start + 1).err(),
            Some(OpenError::Recycled)
        );
        h.send(&fs, Signal::SIGKILL).unwrap();
        let t = Instant::now();
        let exited = wait_all(&fs, &[&h], Event::Exited, t, t + Duration::from_secs(5));
        assert!(exited[0].is_some());
        assert!(!h.happened(&fs, Event::Reaped), "not reaped yet");
        child.wait().unwrap();
        let reaped = wait_all(&fs, &[&h], Event::Reaped, t, t + Duration::from_secs(5));
        assert!(reaped[0].is_some());
        assert_eq!(h.send(&fs, Signal::SIGKILL), Err(Errno::ESRCH));
        // Gone, or on a busy machine already reused by another process.
        assert!(matches!(
            Handle::open(&fs, pid, start).err(),
            Some(OpenError::Gone | OpenError::Recycled)
        ));
    }
}

//! A handle on one process that cannot be fooled by PID reuse: a pidfd (Linux 5.3+, see
//! sys/pidfd.rs for what each kernel reports), or, where the kernel has none, a PID plus the
//! start time we re-check before every signal; and waiting for many of them at once.
//!
//! "Exited" is awaited with poll(2) (POLLIN, 5.3+). "Reaped" is asked with signal 0 (ESRCH),
//! which is right on every kernel; poll(2) only wakes for it from 6.9 on (POLLHUP), which is
//! found out at run time. Before that, and for legacy handles, the pending ones are re-checked
//! on a short backing-off tick.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;

use crate::proc::scan::ReadError;
use crate::proc::{Pid, ProcFs};
pub use crate::sys::pidfd::PidFd;
use crate::sys::pidfd::pollhup_on_reap;

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
            Handle::Pidfd { fd, .. } => match event {
                Event::Exited => fd.has_exited(),
                Event::Reaped => fd.is_reaped(),
            },
            Handle::Legacy { pid, start_ticks } => match fs.stat(*pid) {
                Ok(st) if st.starttime == *start_ticks => {
                    event == Event::Exited && (st.state == b'Z' || st.state == b'X')
                }
                // Gone or reused: it was reaped (which implies it exited).
                _ => true,
            },
        }
    }

    /// The pidfd poll(2) wakes on at the reap (Linux 6.9+, asked with no events: POLLHUP is
    /// always reported); None where the reap must be re-checked instead.
    pub fn reap_pollable(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.pollable(Event::Reaped).map(|(fd, _)| fd.as_fd())
    }

    /// The pidfd to poll(2) for `event`, with the events to ask for, when the kernel wakes a
    /// poll for it; None when the handle must be re-checked instead.
    fn pollable(&self, event: Event) -> Option<(&PidFd, PollFlags)> {
        match (self, event) {
            (Handle::Pidfd { fd, .. }, Event::Exited) => Some((fd, PollFlags::POLLIN)),
            // POLLHUP is always reported, so asking for nothing waits for it alone (6.9+).
            (Handle::Pidfd { fd, .. }, Event::Reaped) if pollhup_on_reap() => {
                Some((fd, PollFlags::empty()))
            }
            _ => None,
        }
    }
}

/// The longest pause between two re-checks of handles poll(2) cannot wait for: a reap is seen
/// at most this late on kernels before 6.9 (and without pidfds).
const RECHECK_MAX: Duration = Duration::from_millis(20);

/// Waits for events on many processes at once: `items[i].1` happening to `items[i].0`.
/// `done[i]` is set to the time (since `clock`) when item i's event was seen; items already
/// done are not watched. Returns when `stop(done)` holds or `deadline` passes; `on_event(i)` runs
/// as soon as item i's event is seen (e.g. to read who adopted a dead parent's zombies before
/// they are reaped). Whatever poll(2) can wait for is waited on; the rest is re-checked every
/// 1 ms at first, backing off to `RECHECK_MAX`. A poll wake-up is only a hint: every event is
/// confirmed by `happened` before it counts.
pub fn wait(
    fs: &ProcFs,
    items: &[(&Handle, Event)],
    done: &mut [Option<Duration>],
    clock: Instant,
    deadline: Instant,
    mut stop: impl FnMut(&[Option<Duration>]) -> bool,
    mut on_event: impl FnMut(usize),
) {
    let mut tick = Duration::from_millis(1);
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
        let pending = (0..items.len()).filter(|&i| done[i].is_none());
        let mut fds: Vec<PollFd> = Vec::new();
        let mut recheck = false;
        for i in pending {
            match items[i].0.pollable(items[i].1) {
                Some((fd, events)) => fds.push(PollFd::new(fd.as_fd(), events)),
                None => recheck = true,
            }
        }
        let mut left = deadline - now;
        if recheck {
            left = left.min(tick);
            tick = (tick * 2).min(RECHECK_MAX);
        }
        // At most a second per poll(): the loop re-checks everything in between.
        let ms = left.as_millis().clamp(1, 1000) as u16;
        if fds.is_empty() {
            std::thread::sleep(Duration::from_millis(u64::from(ms)));
            continue;
        }
        if let Err(e) = nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
            // EINTR is a normal wake-up; poll() failing otherwise is not expected, and the
            // loop checks each handle itself after a pause.
            if e != Errno::EINTR {
                std::thread::sleep(Duration::from_millis(10));
            }
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
        // Running: neither exited nor reaped.
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

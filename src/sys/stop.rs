//! SIGINT and SIGTERM as data: blocked, and read from a signalfd (Linux 2.6.22) that a loop
//! polls beside its other descriptors, so a long-running command (watch, check --every)
//! ends between two steps, with its summary or its last file whole, never in the middle.

use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// SIGINT and SIGTERM, blocked for this thread and waiting in a signalfd.
pub struct StopSignals {
    fd: SignalFd,
}

impl StopSignals {
    /// Blocks SIGINT and SIGTERM (call it before starting any thread, which would inherit
    /// the mask otherwise not) and opens the signalfd that receives them.
    pub fn new() -> Result<StopSignals, Errno> {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGINT);
        mask.add(Signal::SIGTERM);
        mask.thread_block()?;
        let fd = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(StopSignals { fd })
    }

    /// Whether one of them came (and takes it).
    pub fn received(&self) -> bool {
        self.fd.read_signal().ok().flatten().is_some()
    }

    /// Sleeps up to `timeout` (None: for ever), or until one of them comes: true then.
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool, Errno> {
        let mut fds = [PollFd::new(self.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(&mut fds, poll_timeout(timeout)) {
            Ok(_) | Err(Errno::EINTR) => Ok(self.received()),
            Err(e) => Err(e),
        }
    }
}

impl AsFd for StopSignals {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A poll(2) timeout: at least 1 ms (0 would spin), at most what an i32 of ms holds.
pub fn poll_timeout(timeout: Option<Duration>) -> PollTimeout {
    match timeout {
        None => PollTimeout::NONE,
        Some(d) => PollTimeout::try_from(d.as_millis().clamp(1, i32::MAX as u128) as i32)
            .unwrap_or(PollTimeout::MAX),
    }
}

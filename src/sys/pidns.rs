//! Making an orphan inside another PID namespace, for `zombies probe-init`: the only way to
//! ask a namespace's PID 1 whether it reaps is to give it an orphan and watch.
//!
//! The steps, and the kernel versions they need:
//! 1. setns(2) on /proc/PID/ns/pid (Linux 3.8; before it the file does not exist and there is
//!    no way into a PID namespace). For a PID namespace it changes only where this thread's
//!    NEXT child is born (`/proc/self/ns/pid_for_children`), never this process itself.
//! 2. fork(2) a helper: it is born in the target namespace (fork there fails with ENOMEM
//!    once the namespace's PID 1 has exited and the namespace is ending). We then setns back
//!    to our own namespace at once, which is always allowed (our active namespace).
//! 3. The helper forks the orphan-to-be, which blocks on a pipe, and reports its PID (as the
//!    namespace numbers it). The caller finds it in its own /proc and opens it (a pidfd).
//! 4. The helper exits (`orphan`): the kernel hands the orphan to the namespace's PID 1. A
//!    subreaper is never chosen across namespaces here: find_new_reaper() only walks
//!    ancestors at the exiting parent's own depth, and the helper's parent (us) is outside.
//!    When the target namespace is our own, a subreaper among our ancestors would adopt it
//!    instead: the caller checks who did.
//! 5. `release` closes the pipe: the orphan exits, and it is up to its adopter to reap it.
//!
//! The children make only async-signal-safe calls (prctl, read, write, kill, waitpid, close,
//! _exit), so forking is sound even from a process with several threads.
#![allow(unsafe_code)] // fork(2) and the raw calls the forked children make.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sched::CloneFlags;
use nix::unistd::{ForkResult, Pid};

/// The name the orphan runs (and, when not reaped, stays a zombie) under: it says whose it is.
pub const ORPHAN_NAME: &str = "zombies-probe";
const ORPHAN_NAME_C: &std::ffi::CStr = c"zombies-probe";

/// How long the helper may take to fork the orphan and say so.
const HELPER_REPLY: Duration = Duration::from_secs(5);

/// Why no orphan could be made. Nothing is left behind in any of these cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// setns(2) refused: EPERM without CAP_SYS_ADMIN, EINVAL when the namespace is not ours
    /// or below ours (or the file is not a PID namespace).
    Enter(Errno),
    /// fork(2) into the namespace failed: ENOMEM once its PID 1 has exited.
    Fork(Errno),
    /// The helper in the namespace could not fork the orphan.
    HelperFork(Errno),
    /// The helper died or did not answer in time.
    HelperSilent,
    /// setns(2) back into our own namespace failed (the helper was cleaned up).
    Restore(Errno),
}

/// An orphan-to-be in another PID namespace, blocked until [`Orphan::release`]. Dropped
/// before [`Orphan::orphan`], the helper kills and reaps it, and is reaped: nothing is left.
#[derive(Debug)]
pub struct Orphan {
    /// The helper, as our namespace numbers it; None once it has exited and been reaped.
    helper: Option<Pid>,
    /// The orphan's PID in the target namespace (the innermost).
    ns_pid: i32,
    /// Writing `o` tells the helper to exit and leave the orphan; `k` or EOF to kill and
    /// reap it first.
    helper_go: Option<OwnedFd>,
    /// Closing it (EOF) lets the orphan exit.
    orphan_go: Option<OwnedFd>,
}

/// Forks, in the PID namespace `ns` (an open /proc/PID/ns/pid), a helper that forks an
/// orphan-to-be; returns once the orphan exists. `own` is our own namespace
/// (/proc/self/ns/pid, opened before), to come back to.
pub fn spawn(ns: BorrowedFd<'_>, own: BorrowedFd<'_>) -> Result<Orphan, SpawnError> {
    let pipe = || nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(SpawnError::Fork);
    let (ready_r, ready_w) = pipe()?;
    let (helper_r, helper_w) = pipe()?;
    let (orphan_r, orphan_w) = pipe()?;
    nix::sched::setns(ns, CloneFlags::CLONE_NEWPID).map_err(SpawnError::Enter)?;
    // SAFETY: the child runs `helper_main`, which makes only async-signal-safe calls and
    // ends in _exit, never returning into our frames.
    let forked = unsafe { nix::unistd::fork() };
    // Back at once, whatever happened: our next children must be born in our namespace.
    let restored = nix::sched::setns(own, CloneFlags::CLONE_NEWPID);
    let helper = match forked {
        Ok(ForkResult::Child) => helper_main(
            [
                ready_r.as_raw_fd(),
                helper_w.as_raw_fd(),
                orphan_w.as_raw_fd(),
            ],
            ready_w.as_raw_fd(),
            helper_r.as_raw_fd(),
            orphan_r.as_raw_fd(),
        ),
        Ok(ForkResult::Parent { child }) => child,
        Err(e) => return Err(SpawnError::Fork(e)),
    };
    drop((ready_w, helper_r, orphan_r));
    let mut orphan = Orphan {
        helper: Some(helper),
        ns_pid: 0,
        helper_go: Some(helper_w),
        orphan_go: Some(orphan_w),
    };
    if let Err(e) = restored {
        return Err(SpawnError::Restore(e)); // Drop kills the orphan and reaps the helper
    }
    orphan.ns_pid = read_reply(&ready_r)?;
    Ok(orphan)
}

/// The helper's answer: the orphan's PID, or the fork's errno negated.
fn read_reply(ready: &OwnedFd) -> Result<i32, SpawnError> {
    let mut fds = [PollFd::new(ready.as_fd(), PollFlags::POLLIN)];
    let ms = HELPER_REPLY.as_millis() as u16;
    match nix::poll::poll(&mut fds, PollTimeout::from(ms)) {
        Ok(n) if n > 0 => {}
        _ => return Err(SpawnError::HelperSilent),
    }
    let mut buf = [0u8; 4];
    match nix::unistd::read(ready, &mut buf) {
        Ok(4) => {}
        _ => return Err(SpawnError::HelperSilent),
    }
    match i32::from_ne_bytes(buf) {
        pid if pid > 0 => Ok(pid),
        errno => Err(SpawnError::HelperFork(Errno::from_raw(-errno))),
    }
}

/// The helper, in the target namespace: forks the orphan, says its PID, then waits for the
/// word: `o` to exit and leave it to the namespace's PID 1, anything else (EOF included: the
/// caller died) to kill and reap it first.
fn helper_main(ours: [i32; 3], ready: i32, helper_go: i32, orphan_go: i32) -> ! {
    // SAFETY: every call below is async-signal-safe and takes plain integers or a pointer to
    // a local buffer; the function ends in _exit.
    unsafe {
        // The caller's ends: with them open here, EOF would never come.
        for fd in ours {
            libc::close(fd);
        }
        let orphan = libc::fork();
        if orphan == 0 {
            libc::close(ready);
            libc::close(helper_go);
            orphan_main(orphan_go);
        }
        libc::close(orphan_go);
        let reply = if orphan > 0 {
            orphan
        } else {
            -*libc::__errno_location()
        };
        let bytes = reply.to_ne_bytes();
        libc::write(ready, bytes.as_ptr().cast(), bytes.len());
        libc::close(ready);
        if orphan < 0 {
            libc::_exit(1);
        }
        let mut word = 0u8;
        let n = loop {
            let n = libc::read(helper_go, (&raw mut word).cast(), 1);
            if n >= 0 || *libc::__errno_location() != libc::EINTR {
                break n;
            }
        };
        if n != 1 || word != b'o' {
            libc::kill(orphan, libc::SIGKILL);
            libc::waitpid(orphan, std::ptr::null_mut(), 0);
        }
        libc::_exit(0)
    }
}

/// The orphan: named for whoever finds it, blocked until the pipe says go (or closes).
fn orphan_main(go: i32) -> ! {
    // SAFETY: as in helper_main; the name is a NUL-terminated constant.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, ORPHAN_NAME_C.as_ptr());
        let mut b = 0u8;
        while libc::read(go, (&raw mut b).cast(), 1) < 0 && *libc::__errno_location() == libc::EINTR
        {
        }
        libc::_exit(0)
    }
}

impl Orphan {
    /// The helper, as our namespace numbers it, until it has exited.
    pub fn helper(&self) -> Option<i32> {
        self.helper.map(Pid::as_raw)
    }

    /// The orphan's PID in the target namespace.
    pub fn ns_pid(&self) -> i32 {
        self.ns_pid
    }

    /// Lets the helper exit without the orphan, and reaps the helper: when this returns, the
    /// orphan has its adopter (the kernel reparents before the helper becomes a zombie).
    pub fn orphan(&mut self) -> Result<(), Errno> {
        let go = self.helper_go.take();
        if let Some(go) = &go {
            nix::unistd::write(go, b"o")?;
        }
        drop(go);
        self.reap_helper();
        Ok(())
    }

    /// Lets the orphan exit.
    pub fn release(&mut self) {
        self.orphan_go = None;
    }

    fn reap_helper(&mut self) {
        if let Some(helper) = self.helper.take() {
            // It exits at once after its word; ECHILD when our SIGCHLD is ignored (the
            // kernel reaped it for us).
            let _ = nix::sys::wait::waitpid(helper, None);
        }
    }
}

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(go) = self.helper_go.take() {
            let _ = nix::unistd::write(&go, b"k");
        }
        self.reap_helper();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own_ns() -> std::fs::File {
        std::fs::File::open("/proc/self/ns/pid").unwrap()
    }

    #[test]
    fn the_orphan_has_its_name_and_dropping_it_leaves_nothing() {
        // Our own namespace, entered again: the orphan is then our grandchild in /proc as
        // we number it. setns needs CAP_SYS_ADMIN even for that; without it, EPERM.
        let own = own_ns();
        match spawn(own.as_fd(), own.as_fd()) {
            Err(SpawnError::Enter(e)) => assert_eq!(e, Errno::EPERM, "not root"),
            Err(e) => panic!("{e:?}"),
            Ok(orphan) => {
                let helper = orphan.helper().unwrap();
                let pid = orphan.ns_pid();
                // It names itself once it runs, which may be after spawn returns.
                let named = || {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.trim() == ORPHAN_NAME)
                };
                let start = std::time::Instant::now();
                while !named() {
                    assert!(start.elapsed() < Duration::from_secs(5), "never named");
                    std::thread::sleep(Duration::from_millis(1));
                }
                assert_eq!(
                    std::fs::read_to_string(format!("/proc/{pid}/stat"))
                        .unwrap()
                        .rsplit(')')
                        .next()
                        .unwrap()
                        .split_whitespace()
                        .nth(1),
                    Some(helper.to_string().as_str()),
                    "the orphan is the helper's child"
                );
                drop(orphan);
                // The helper killed and reaped it, and was reaped: both PIDs are free (or
                // reused by a stranger, which would not be our helper's child).
                for p in [pid, helper] {
                    let stat = std::fs::read_to_string(format!("/proc/{p}/stat"));
                    assert!(
                        stat.is_err() || !stat.unwrap().contains("zombies-probe"),
                        "{p} is still there"
                    );
                }
            }
        }
    }
}

//! Making processes for the teaching demos: `fork` made safe by refusing it in a process
//! with more than one thread, the `_exit` a forked child ends with, and the default signal
//! disposition a child gets back. The demos that teach fork, vfork and clone themselves
//! (src/demo/clone.rs, src/demo/vfork.rs) make their own raw calls; everything else forks here.
#![allow(unsafe_code)]

use std::io;

use nix::sys::signal::Signal;
pub(crate) use nix::unistd::ForkResult;

/// fork(2), refused unless this process has exactly one thread.
///
/// After a fork in a multi-threaded process the child may only make async-signal-safe calls
/// (another thread could have held the allocator's lock at the moment of the fork). With one
/// thread nothing can be held, so the child may run ordinary Rust code, allocation included:
/// that is what makes this function safe to call. The thread count is read from
/// /proc/self/status; nothing can start a thread between that read and the fork, since the
/// only thread is the one making both calls.
pub(crate) fn fork() -> io::Result<ForkResult> {
    single_threaded()?;
    // SAFETY: the process is single-threaded (checked just above), so the child inherits no
    // lock held by another thread and may run any code.
    unsafe { nix::unistd::fork() }.map_err(io::Error::from)
}

/// Makes a child that exits at once, reaps it, and returns its PID: for a probe that must see
/// an exit happen (the proc connector's). Sound in any process: the child only calls _exit(2),
/// which is async-signal-safe.
pub(crate) fn exit_a_child() -> Option<i32> {
    // SAFETY: the child calls nothing but _exit.
    match unsafe { nix::unistd::fork() }.ok()? {
        ForkResult::Child => unsafe { libc::_exit(0) },
        ForkResult::Parent { child } => {
            let _ = nix::sys::wait::waitpid(child, None);
            Some(child.as_raw())
        }
    }
}

/// Fails unless this process has exactly one thread. The demos never start one (Ctrl-C comes
/// through a signalfd); a thread would break their forks and their signal handling.
pub(crate) fn single_threaded() -> io::Result<()> {
    match thread_count()? {
        1 => Ok(()),
        n => Err(io::Error::other(format!(
            "this process has {n} threads, and the demos need a single-threaded one (a child \
             forked from a multi-threaded process may deadlock, and only one thread has the \
             demo's signals blocked); please report this bug"
        ))),
    }
}

/// The `Threads:` line of /proc/self/status.
fn thread_count() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot read /proc/self/status to make sure this process is single-threaded before it forks: {e}; is /proc mounted?"
            ),
        )
    })?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| io::Error::other("/proc/self/status has no Threads: line"))
}

/// In a forked child: runs `body` and ends the process with the code it returns (101 when it
/// panics), never returning into the caller's frames, whose guards belong to the parent.
pub(crate) fn run_child(body: impl FnOnce() -> i32) -> ! {
    let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(101);
    exit_now(code)
}

/// _exit(2): ends the process at once, without atexit handlers, destructors or flushing
/// stdout, all of which belong to the parent a forked child was copied from.
pub(crate) fn exit_now(code: i32) -> ! {
    // SAFETY: _exit has no preconditions and does not return.
    unsafe { libc::_exit(code) }
}

/// Gives `sig` its default action back (SIG_DFL): in a child, so that it and any program it
/// execs behave like a normally started process (Rust ignores SIGPIPE, and an ignored
/// disposition survives fork and exec).
pub(crate) fn default_action(sig: Signal) -> nix::Result<()> {
    disposition(sig, libc::SIG_DFL)
}

/// Ignores `sig` (SIG_IGN). The kernel refuses it for SIGKILL and SIGSTOP with EINVAL.
pub(crate) fn ignore(sig: Signal) -> nix::Result<()> {
    disposition(sig, libc::SIG_IGN)
}

/// signal(2) with SIG_DFL or SIG_IGN; the previous disposition is not looked at.
fn disposition(sig: Signal, action: libc::sighandler_t) -> nix::Result<()> {
    // SAFETY: SIG_DFL and SIG_IGN install no handler, so no code of ours can run in a signal
    // context; the previous handler returned is compared with SIG_ERR only, never called.
    let previous = unsafe { libc::signal(sig as libc::c_int, action) };
    if previous == libc::SIG_ERR {
        Err(nix::errno::Errno::last())
    } else {
        Ok(())
    }
}

/// How a parent can ask the kernel to reap its children itself, so they never become zombies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Autoreap {
    /// signal(SIGCHLD, SIG_IGN): the kernel sends no SIGCHLD at all.
    Ignore,
    /// sigaction(SIGCHLD, {SIG_DFL, SA_NOCLDWAIT}): SIGCHLD is still sent (its default action
    /// is to discard it).
    NoCldWait,
}

/// Sets SIGCHLD's disposition so that this process's children are reaped by the kernel as
/// they exit (see [`Autoreap`]).
pub(crate) fn autoreap_children(how: Autoreap) -> nix::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet};
    match how {
        Autoreap::Ignore => ignore(Signal::SIGCHLD),
        Autoreap::NoCldWait => {
            let action = SigAction::new(SigHandler::SigDfl, SaFlags::SA_NOCLDWAIT, SigSet::empty());
            // SAFETY: SIG_DFL installs no handler, so no code of ours runs in a signal
            // context; the previous action returned is dropped, never called.
            unsafe { nix::sys::signal::sigaction(Signal::SIGCHLD, &action) }.map(drop)
        }
    }
}

/// Makes a real memory fault: a write to a page mapped with no access (PROT_NONE). The kernel
/// answers with SIGSEGV (SEGV_ACCERR) forced on the process: if SIGSEGV is ignored or
/// blocked, the kernel resets it to its default action first, and the process dies. For a
/// child whose death the demo shows; it never returns (if the write somehow did not fault,
/// it exits with 125).
pub(crate) fn fault_with_sigsegv() -> ! {
    use nix::sys::mman::{MapFlags, ProtFlags};
    let len = std::num::NonZeroUsize::new(crate::sys::mman::page_size())
        .unwrap_or(std::num::NonZeroUsize::MIN.saturating_add(4095));
    // SAFETY: a new mapping at an address the kernel picks: no memory of ours changes.
    if let Ok(page) = unsafe {
        nix::sys::mman::mmap_anonymous(None, len, ProtFlags::PROT_NONE, MapFlags::MAP_PRIVATE)
    } {
        // SAFETY: the write faults (the page has no access), so it never completes; the
        // kernel delivers SIGSEGV, which kills the process. Nothing else points to the page.
        unsafe { std::ptr::write_volatile(page.as_ptr().cast::<u8>(), 1) };
    }
    exit_now(125)
}

/// Forks a child that asks for `pdeath` when its parent thread dies (PR_SET_PDEATHSIG),
/// blocks that signal so that it stays pending where /proc shows it, writes one byte to
/// `ready`, and waits until `gate` is readable (or closed); then it exits 0. Returns the
/// child's PID.
///
/// Sound from any thread of a multi-threaded process: the child makes only
/// async-signal-safe system calls (prctl, sigprocmask, write, read, _exit), the only calls a
/// child forked from a process with other threads may make.
pub(crate) fn fork_pdeath_child(
    pdeath: Signal,
    ready: std::os::fd::BorrowedFd<'_>,
    gate: std::os::fd::BorrowedFd<'_>,
) -> io::Result<i32> {
    use std::os::fd::AsRawFd;
    let (ready, gate, sig) = (ready.as_raw_fd(), gate.as_raw_fd(), pdeath as libc::c_int);
    // SAFETY: see above: the child only makes async-signal-safe calls on integers and a stack
    // buffer, then _exit; the parent returns the PID.
    match unsafe { libc::fork() } {
        -1 => Err(io::Error::last_os_error()),
        0 => unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, sig);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            libc::write(ready, b"r".as_ptr().cast(), 1);
            let mut b = 0u8;
            while libc::read(gate, (&mut b as *mut u8).cast(), 1) < 0 {}
            libc::_exit(0)
        },
        pid => Ok(pid),
    }
}

/// What wait4(2) says of a child's resources: the part of `struct rusage` the demos show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Usage {
    /// ru_maxrss: the largest resident set, in KiB.
    pub maxrss_kb: i64,
    /// ru_utime: CPU time in user mode.
    pub utime: std::time::Duration,
    /// ru_stime: CPU time in the kernel.
    pub stime: std::time::Duration,
}

/// wait4(pid, &status, WNOHANG, &rusage): None while the child has not ended; its status and
/// resource usage once it has (it is reaped then).
pub(crate) fn wait4_nohang(pid: i32) -> io::Result<Option<(nix::sys::wait::WaitStatus, Usage)>> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: status and ru are valid for writes for the duration of the call.
    let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
    match r {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => {
            let ws = nix::sys::wait::WaitStatus::from_raw(nix::unistd::Pid::from_raw(pid), status)
                .map_err(io::Error::from)?;
            let tv = |t: libc::timeval| {
                std::time::Duration::from_secs(t.tv_sec.max(0) as u64)
                    + std::time::Duration::from_micros(t.tv_usec.max(0) as u64)
            };
            Ok(Some((
                ws,
                Usage {
                    maxrss_kb: ru.ru_maxrss,
                    utime: tv(ru.ru_utime),
                    stime: tv(ru.ru_stime),
                },
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_threads_of_this_process() {
        // The test harness runs tests on threads of their own: at least this one and main.
        let n = thread_count().unwrap();
        assert!(n >= 1, "{n}");
        let extra = std::thread::spawn(thread_count);
        let seen = extra.join().unwrap().unwrap();
        assert!(seen > 1, "a spawned thread was not counted: {seen}");
    }

    #[test]
    fn refuses_to_fork_with_threads() {
        // A second thread that lives until the fork was tried.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || rx.recv());
        let result = fork();
        drop(tx);
        let _ = other.join();
        match result {
            Err(e) => assert!(e.to_string().contains("threads"), "{e}"),
            Ok(ForkResult::Child) => exit_now(0),
            Ok(ForkResult::Parent { child }) => {
                let _ = nix::sys::wait::waitpid(child, None);
                panic!("forked with two threads");
            }
        }
    }
}

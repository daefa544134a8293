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

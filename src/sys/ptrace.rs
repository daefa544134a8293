//! Making a process call wait4() for its own zombies, and leaving it as it was: the ptrace
//! method of `zombies fix --reap` (a safe `preap`). x86_64 only for now.
//!
//! The steps, each checked by hand on 6.18 before this was written (see issue 13):
//! 1. PTRACE_SEIZE one live thread (never PTRACE_O_EXITKILL: our death must not kill it),
//!    PTRACE_INTERRUPT it, wait for that stop; a real signal that stops it first is passed on.
//! 2. Save its registers and signal mask; block every signal for the injection window (a
//!    signal delivered in the window would run a handler on our registers).
//! 3. Find a `syscall` instruction in its vDSO: no memory of the process is written.
//! 4. Point it there with wait4's number and arguments (orig_rax = -1, so that the syscall it
//!    was interrupted in is not restarted under us); PTRACE_SYSCALL to the entry, then the
//!    exit, and read the result. Once per zombie.
//! 5. Stop it again inside the signal path (PTRACE_INTERRUPT + PTRACE_CONT) and restore its
//!    registers and mask THERE: the kernel then restarts the system call it was in as if
//!    nothing happened. Restoring at the syscall exit instead would hand it -ERESTARTSYS.
//! 6. PTRACE_DETACH with no signal.
//!
//! While this runs the caller blocks its own SIGINT/SIGTERM/SIGHUP, so that Ctrl-C cannot
//! leave the process stopped or with our registers.
#![allow(unsafe_code)] // PTRACE_GETSIGMASK and PTRACE_SETSIGMASK, which nix does not wrap.

use std::io::Read;
use std::os::unix::fs::FileExt;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::ptrace;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// The x86_64 user code segment: a 64-bit process (0x23 would be 32-bit compatibility mode).
#[cfg(target_arch = "x86_64")]
const USER_CS_64: u64 = 0x33;
/// wait4 on x86_64.
#[cfg(target_arch = "x86_64")]
const SYS_WAIT4: u64 = 61;

/// Why the injection could not be done. Nothing was changed in the process unless said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InjectError {
    /// This tool was built for another architecture.
    Unsupported,
    /// The process is not a 64-bit x86 process (its code segment).
    Not64Bit { cs: u64 },
    /// PTRACE_SEIZE was refused: EPERM (no CAP_SYS_PTRACE, Yama, another tracer) or ESRCH.
    Seize(Errno),
    /// It did not stop within the time allowed (uninterruptible sleep, a frozen cgroup).
    NoStop,
    /// Its vDSO holds no `syscall` instruction, or cannot be read.
    NoSyscallInstruction,
    /// A ptrace call failed midway; `restored` says whether it was put back as it was.
    Failed {
        call: &'static str,
        errno: Errno,
        restored: bool,
    },
    /// It exited while we held it.
    Exited,
    /// A SIGSTOP stopped it while we held it: it was let go, stopped, as it was told.
    GroupStop,
    /// Once held, the process with that PID was not the one the caller meant (it had exited
    /// and the PID was reused): it was let go untouched.
    NotOurs,
}

/// What the injection did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Injected {
    /// wait4's result for each zombie, in order: its PID when reaped, or the errno.
    pub results: Vec<Result<i32, Errno>>,
    /// How long the process was held.
    pub paused: Duration,
}

/// Blocks the signals that end this tool for as long as it lives, restoring the mask on
/// Drop: the tool must not die between seizing a process and letting it go.
struct HoldOurSignals(SigSet);

impl HoldOurSignals {
    fn new() -> HoldOurSignals {
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        set.add(Signal::SIGHUP);
        set.add(Signal::SIGQUIT);
        let mut old = SigSet::empty();
        let _ = sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old));
        HoldOurSignals(old)
    }
}

impl Drop for HoldOurSignals {
    fn drop(&mut self) {
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
    }
}

/// Waits for the next stop of `tid` until `deadline`; None when it did not come.
fn wait_stop(tid: Pid, deadline: Instant) -> Result<Option<WaitStatus>, Errno> {
    loop {
        match waitpid(tid, Some(WaitPidFlag::__WALL | WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(s) => return Ok(Some(s)),
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Waits for a ptrace-stop of the wanted kind, passing on every real signal that stops the
/// thread first (unchanged, as if we were not there).
fn wait_for(
    tid: Pid,
    deadline: Instant,
    want: impl Fn(&WaitStatus) -> bool,
) -> Result<WaitStatus, InjectError> {
    loop {
        let status = match wait_stop(tid, deadline) {
            Ok(Some(s)) => s,
            Ok(None) => return Err(InjectError::NoStop),
            Err(Errno::ECHILD | Errno::ESRCH) => return Err(InjectError::Exited),
            Err(e) => {
                return Err(InjectError::Failed {
                    call: "waitpid",
                    errno: e,
                    restored: false,
                });
            }
        };
        match status {
            WaitStatus::Exited(..) | WaitStatus::Signaled(..) => return Err(InjectError::Exited),
            s if want(&s) => return Ok(s),
            WaitStatus::PtraceEvent(_, sig, ev)
                if ev == libc::PTRACE_EVENT_STOP && sig != Signal::SIGTRAP =>
            {
                return Err(InjectError::GroupStop);
            }
            // A signal meant for it: deliver it and keep waiting for our stop.
            WaitStatus::Stopped(_, sig) => {
                ptrace::cont(tid, sig).map_err(|e| InjectError::Failed {
                    call: "PTRACE_CONT",
                    errno: e,
                    restored: false,
                })?;
            }
            // Any other stop (a syscall stop we did not ask for yet): go on.
            _ => {
                ptrace::cont(tid, None).map_err(|e| InjectError::Failed {
                    call: "PTRACE_CONT",
                    errno: e,
                    restored: false,
                })?;
            }
        }
    }
}

/// The stop PTRACE_INTERRUPT makes: an event stop reported with SIGTRAP (a group-stop is
/// reported with the stop signal instead).
fn is_interrupt_stop(s: &WaitStatus) -> bool {
    matches!(s, WaitStatus::PtraceEvent(_, Signal::SIGTRAP, ev) if *ev == libc::PTRACE_EVENT_STOP)
}

fn is_syscall_stop(s: &WaitStatus) -> bool {
    matches!(s, WaitStatus::PtraceSyscall(_))
}

fn get_sigmask(tid: Pid) -> Result<u64, Errno> {
    let mut mask: u64 = 0;
    // SAFETY: PTRACE_GETSIGMASK writes 8 bytes (the size passed) to the address given, which
    // is a live u64 of ours; the tracee is stopped under our ptrace.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_GETSIGMASK,
            tid.as_raw(),
            std::mem::size_of::<u64>(),
            &mut mask as *mut u64,
        )
    };
    if r < 0 { Err(Errno::last()) } else { Ok(mask) }
}

fn set_sigmask(tid: Pid, mask: u64) -> Result<(), Errno> {
    // SAFETY: PTRACE_SETSIGMASK reads 8 bytes from the address given, a live u64 of ours.
    let r = unsafe {
        libc::ptrace(
            libc::PTRACE_SETSIGMASK,
            tid.as_raw(),
            std::mem::size_of::<u64>(),
            &mask as *const u64,
        )
    };
    if r < 0 { Err(Errno::last()) } else { Ok(()) }
}

/// The address of a `syscall` instruction (0f 05) in the vDSO of process `pid`.
fn vdso_syscall(pid: i32) -> Option<u64> {
    let mut maps = String::new();
    std::fs::File::open(format!("/proc/{pid}/maps"))
        .ok()?
        .read_to_string(&mut maps)
        .ok()?;
    let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
    let (range, _) = line.split_once(' ')?;
    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    let len = usize::try_from(end.checked_sub(start)?)
        .ok()?
        .min(64 * 1024);
    let mem = std::fs::File::open(format!("/proc/{pid}/mem")).ok()?;
    let mut code = vec![0u8; len];
    mem.read_exact_at(&mut code, start).ok()?;
    let at = code.windows(2).position(|w| w == [0x0f, 0x05])?;
    Some(start + at as u64)
}

/// Makes thread `tid` of process `pid` call wait4(zombie, NULL, WNOHANG|__WALL, NULL) for
/// each of `zombies` (their PIDs as its own PID namespace numbers them), then lets it go on
/// as it was. `timeout` bounds each wait for a stop. ptrace attaches by PID, so once the
/// thread is held (and its PID can no longer change hands) `still_ours` must confirm it is
/// the process the caller diagnosed, through a pidfd or its start time; if not, it is let go
/// untouched.
#[cfg(target_arch = "x86_64")]
pub fn inject_wait4(
    pid: i32,
    tid: i32,
    zombies: &[i32],
    timeout: Duration,
    still_ours: &dyn Fn() -> bool,
) -> Result<Injected, InjectError> {
    let _held = HoldOurSignals::new();
    let t = Pid::from_raw(tid);
    let deadline = || Instant::now() + timeout;
    ptrace::seize(t, ptrace::Options::PTRACE_O_TRACESYSGOOD).map_err(InjectError::Seize)?;
    let started = Instant::now();
    // From here every path ends in detach: the process must never stay held by us.
    let result = inject_seized(pid, t, zombies, deadline, still_ours);
    let detached = ptrace::detach(t, None);
    let paused = started.elapsed();
    match (result, detached) {
        (Ok(results), Ok(())) => Ok(Injected { results, paused }),
        (Ok(_), Err(e)) => Err(InjectError::Failed {
            call: "PTRACE_DETACH",
            errno: e,
            restored: true,
        }),
        (Err(e), _) => Err(e),
    }
}

#[cfg(target_arch = "x86_64")]
fn inject_seized(
    pid: i32,
    t: Pid,
    zombies: &[i32],
    deadline: impl Fn() -> Instant,
    still_ours: &dyn Fn() -> bool,
) -> Result<Vec<Result<i32, Errno>>, InjectError> {
    let failed = |call: &'static str, restored: bool| {
        move |errno: Errno| InjectError::Failed {
            call,
            errno,
            restored,
        }
    };
    ptrace::interrupt(t).map_err(failed("PTRACE_INTERRUPT", true))?;
    wait_for(t, deadline(), is_interrupt_stop)?;
    if !still_ours() {
        return Err(InjectError::NotOurs);
    }
    let saved = ptrace::getregs(t).map_err(failed("PTRACE_GETREGS", true))?;
    if saved.cs != USER_CS_64 {
        return Err(InjectError::Not64Bit { cs: saved.cs });
    }
    let saved_mask = get_sigmask(t).map_err(failed("PTRACE_GETSIGMASK", true))?;
    let syscall_at = vdso_syscall(pid).ok_or(InjectError::NoSyscallInstruction)?;
    set_sigmask(t, !0).map_err(failed("PTRACE_SETSIGMASK", true))?;

    let mut results = Vec::with_capacity(zombies.len());
    let mut broken = None;
    for &z in zombies {
        match call_wait4(t, &saved, syscall_at, z, &deadline) {
            Ok(r) => results.push(r),
            Err(e) => {
                broken = Some(e);
                break;
            }
        }
    }

    // Back into the signal path, and restore there (see the module's step 5).
    let restore = (|| -> Result<(), InjectError> {
        ptrace::interrupt(t).map_err(failed("PTRACE_INTERRUPT", false))?;
        ptrace::cont(t, None).map_err(failed("PTRACE_CONT", false))?;
        wait_for(t, deadline(), is_interrupt_stop)?;
        ptrace::setregs(t, saved).map_err(failed("PTRACE_SETREGS", false))?;
        set_sigmask(t, saved_mask).map_err(failed("PTRACE_SETSIGMASK", false))?;
        Ok(())
    })();
    restore?;
    match broken {
        Some(e) => Err(e),
        None => Ok(results),
    }
}

/// One wait4 in the stopped thread: from the current stop to the syscall's exit.
#[cfg(target_arch = "x86_64")]
fn call_wait4(
    t: Pid,
    saved: &libc::user_regs_struct,
    syscall_at: u64,
    zombie: i32,
    deadline: &impl Fn() -> Instant,
) -> Result<Result<i32, Errno>, InjectError> {
    let failed = |call: &'static str| {
        move |errno: Errno| InjectError::Failed {
            call,
            errno,
            restored: false,
        }
    };
    let mut regs = *saved;
    regs.rip = syscall_at;
    regs.orig_rax = u64::MAX; // -1: not in a system call, so nothing is restarted under us
    regs.rax = SYS_WAIT4;
    regs.rdi = zombie as u32 as u64;
    regs.rsi = 0; // no status: the program's memory is not touched
    regs.rdx = (libc::WNOHANG | libc::__WALL) as u32 as u64;
    regs.r10 = 0; // no rusage
    ptrace::setregs(t, regs).map_err(failed("PTRACE_SETREGS"))?;
    ptrace::syscall(t, None).map_err(failed("PTRACE_SYSCALL"))?;
    wait_for(t, deadline(), is_syscall_stop)?; // entry
    ptrace::syscall(t, None).map_err(failed("PTRACE_SYSCALL"))?;
    wait_for(t, deadline(), is_syscall_stop)?; // exit
    let after = ptrace::getregs(t).map_err(failed("PTRACE_GETREGS"))?;
    let ret = after.rax as i64;
    Ok(if ret < 0 {
        Err(Errno::from_raw(-ret as i32))
    } else {
        Ok(ret as i32)
    })
}

#[cfg(not(target_arch = "x86_64"))]
pub fn inject_wait4(
    _pid: i32,
    _tid: i32,
    _zombies: &[i32],
    _timeout: Duration,
    _still_ours: &dyn Fn() -> bool,
) -> Result<Injected, InjectError> {
    Err(InjectError::Unsupported)
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    /// A child that makes one zombie child, then blocks in read(2) on a pipe; every line it
    /// reads it writes back on a second pipe, and "q" makes it exit 0.
    fn reading_parent() -> (i32, i32, std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
        let (in_r, in_w) = nix::unistd::pipe().unwrap();
        let (out_r, out_w) = nix::unistd::pipe().unwrap();
        let (ir, ow) = (in_r.as_raw_fd(), out_w.as_raw_fd());
        // SAFETY: the child makes only async-signal-safe calls (fork, read, write, _exit).
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => unsafe {
                let z = libc::fork();
                if z == 0 {
                    libc::_exit(3);
                }
                libc::write(ow, (&z as *const i32).cast(), 4);
                let mut buf = [0u8; 64];
                loop {
                    let n = libc::read(ir, buf.as_mut_ptr().cast(), buf.len());
                    if n <= 0 {
                        libc::_exit(2);
                    }
                    libc::write(ow, buf.as_ptr().cast(), n as usize);
                    if buf[0] == b'q' {
                        libc::_exit(0);
                    }
                }
            },
            nix::unistd::ForkResult::Parent { child } => {
                drop(in_r);
                drop(out_w);
                let mut z = [0u8; 4];
                nix::unistd::read(&out_r, &mut z).unwrap();
                (child.as_raw(), i32::from_ne_bytes(z), in_w, out_r)
            }
        }
    }

    fn state(pid: i32) -> Option<u8> {
        let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
        let close = stat.iter().rposition(|&b| b == b')')?;
        stat.get(close + 2).copied()
    }

    #[test]
    fn a_parent_blocked_in_read_reaps_and_reads_on() {
        let (parent, zombie, input, output) = reading_parent();
        let deadline = Instant::now() + Duration::from_secs(5);
        while state(zombie) != Some(b'Z') || state(parent) != Some(b'S') {
            assert!(
                Instant::now() < deadline,
                "no zombie, or the parent is not asleep"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let done =
            inject_wait4(parent, parent, &[zombie], Duration::from_secs(2), &|| true).unwrap();
        assert_eq!(done.results, vec![Ok(zombie)]);
        assert_eq!(state(zombie), None, "the zombie is still in /proc");
        // The read it was in restarted: the next line is read whole, and it exits 0.
        nix::unistd::write(&input, b"hello\n").unwrap();
        let mut back = [0u8; 16];
        let n = nix::unistd::read(&output, &mut back).unwrap();
        assert_eq!(&back[..n], b"hello\n");
        nix::unistd::write(&input, b"q\n").unwrap();
        let status = waitpid(Pid::from_raw(parent), None).unwrap();
        assert_eq!(status, WaitStatus::Exited(Pid::from_raw(parent), 0));
    }

    #[test]
    fn a_process_that_is_not_ours_is_let_go_untouched() {
        let (parent, zombie, input, output) = reading_parent();
        let deadline = Instant::now() + Duration::from_secs(5);
        while state(zombie) != Some(b'Z') || state(parent) != Some(b'S') {
            assert!(
                Instant::now() < deadline,
                "no zombie, or no sleeping parent"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let r = inject_wait4(parent, parent, &[zombie], Duration::from_secs(2), &|| false);
        assert_eq!(r, Err(InjectError::NotOurs));
        assert_eq!(
            state(zombie),
            Some(b'Z'),
            "the zombie was reaped all the same"
        );
        nix::unistd::write(&input, b"q\n").unwrap();
        let mut back = [0u8; 4];
        let n = nix::unistd::read(&output, &mut back).unwrap();
        assert_eq!(&back[..n], b"q\n");
        let status = waitpid(Pid::from_raw(parent), None).unwrap();
        assert_eq!(status, WaitStatus::Exited(Pid::from_raw(parent), 0));
        let _ = waitpid(Pid::from_raw(zombie), None);
    }
}

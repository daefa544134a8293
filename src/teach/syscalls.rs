//! What the C library really asks the kernel for: a probe process runs a few C library calls
//! (fork, vfork, posix_spawn, pthread_create, exit) while a tracer child watches its system
//! calls with ptrace, as strace does, and reports each call with its arguments decoded: the
//! exact clone flags of glibc's fork(), that vfork() is a system call of its own, that
//! posix_spawn() and pthread_create() use clone3 (glibc 2.34 and later).
//!
//! Only a probe made for the purpose is traced, never a process whose behaviour a demo
//! shows: a tracer changes what wait() and /proc report about its tracee. The tracer is a
//! child of the demo, so the demo itself only waits on a pipe (Ctrl-C stays prompt), and the
//! probe's children are not traced (no PTRACE_O_TRACEFORK): they run as they would.
//! x86_64 only (the system call's number and arguments are read from its registers by name).

use std::time::Duration;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use super::runtime::{Runtime, channel};

/// One system call of the probe.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct RawCall {
    /// Its number (libc::SYS_*).
    pub nr: i64,
    /// Its six argument registers.
    pub args: [u64; 6],
    /// What it returned (a negative errno on failure); None for a call that did not return.
    pub ret: Option<i64>,
    /// For clone3: the fields of its `struct clone_args` that say what it makes.
    pub clone3: Option<CloneArgs>,
}

/// The fields of clone3's `struct clone_args` (include/uapi/linux/sched.h) the demos show.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct CloneArgs {
    pub flags: u64,
    pub exit_signal: u64,
    pub stack: u64,
    pub stack_size: u64,
}

/// Why the calls could not be watched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Unwatched {
    /// ptrace is refused here (a seccomp filter, Yama's ptrace_scope 3, a container).
    Refused(String),
    /// Not on this architecture.
    Architecture,
}

impl std::fmt::Display for Unwatched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unwatched::Refused(why) => write!(f, "ptrace is refused here ({why})"),
            Unwatched::Architecture => {
                write!(f, "watching system calls is implemented for x86_64 only")
            }
        }
    }
}

/// The system calls numbered `keep` that `probe` made, in order, watched from a tracer child.
/// `probe` runs in a fresh child of the tracer; it must end by returning (the probe then
/// `_exit`s with what it returned) or by exiting.
pub(crate) fn watch(
    rt: &Runtime,
    keep: &[i64],
    probe: impl FnOnce() -> i32,
) -> Result<Result<Vec<RawCall>, Unwatched>> {
    if !cfg!(target_arch = "x86_64") {
        return Ok(Err(Unwatched::Architecture));
    }
    let (tx, mut rx) = channel()?;
    let mut tracer = rt.spawn("system call tracer", || {
        let answer = match imp::trace(keep, probe) {
            Ok(calls) => serde_json::json!({ "calls": calls }),
            Err(why) => serde_json::json!({ "refused": why }),
        };
        tx.send(&answer);
        0
    })?;
    drop(tx);
    let answer = rx.json(rt, Duration::from_secs(10))?;
    rt.reap(&mut tracer, Duration::from_secs(5))?;
    if let Some(why) = answer["refused"].as_str() {
        return Ok(Err(Unwatched::Refused(why.to_string())));
    }
    match serde_json::from_value::<Vec<RawCall>>(answer["calls"].clone()) {
        Ok(calls) => Ok(Ok(calls)),
        Err(e) => bail!("the system call tracer sent an unreadable answer: {e}"),
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::{CloneArgs, RawCall};
    use crate::sys::process::{self, ForkResult};
    use nix::sys::ptrace::{self, Options};
    use nix::sys::signal::Signal;
    use nix::sys::wait::{WaitStatus, waitpid};
    use nix::unistd::Pid;

    /// In the tracer: forks the probe, follows its system calls until it exits, and returns
    /// the ones numbered `keep`; or why ptrace could not be used.
    pub(super) fn trace(keep: &[i64], probe: impl FnOnce() -> i32) -> Result<Vec<RawCall>, String> {
        let pid = match process::fork() {
            Err(e) => return Err(format!("fork: {e}")),
            Ok(ForkResult::Child) => process::run_child(|| {
                if ptrace::traceme().is_err() {
                    return 3;
                }
                // Stop until the tracer is ready: it then starts us with PTRACE_SYSCALL.
                if nix::sys::signal::raise(Signal::SIGSTOP).is_err() {
                    return 3;
                }
                probe()
            }),
            Ok(ForkResult::Parent { child }) => child,
        };
        match waitpid(pid, None) {
            Ok(WaitStatus::Stopped(_, Signal::SIGSTOP)) => {}
            Ok(WaitStatus::Exited(_, 3)) => return Err("PTRACE_TRACEME failed".into()),
            other => return Err(format!("the probe did not stop for its tracer: {other:?}")),
        }
        if let Err(e) = ptrace::setoptions(
            pid,
            Options::PTRACE_O_TRACESYSGOOD | Options::PTRACE_O_EXITKILL,
        ) {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return Err(format!("PTRACE_SETOPTIONS: {}", e.desc()));
        }
        let mut calls = Vec::new();
        let mut entering: Option<RawCall> = None;
        let mut inject: Option<Signal> = None;
        loop {
            if ptrace::syscall(pid, inject.take()).is_err() {
                break;
            }
            match waitpid(pid, None) {
                Ok(WaitStatus::PtraceSyscall(_)) => {
                    let Ok(regs) = ptrace::getregs(pid) else {
                        break;
                    };
                    match entering.take() {
                        None => {
                            let nr = regs.orig_rax as i64;
                            let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
                            let clone3 = (nr == libc::SYS_clone3).then(|| clone_args(pid, args[0]));
                            let call = RawCall {
                                nr,
                                args,
                                ret: None,
                                clone3: clone3.flatten(),
                            };
                            // exit and exit_group never come back for their exit stop.
                            if nr == libc::SYS_exit_group || nr == libc::SYS_exit {
                                if keep.contains(&nr) {
                                    calls.push(call);
                                }
                            } else {
                                entering = Some(call);
                            }
                        }
                        Some(mut call) => {
                            call.ret = Some(regs.rax as i64);
                            if keep.contains(&call.nr) {
                                calls.push(call);
                            }
                        }
                    }
                }
                // A signal for the probe (SIGCHLD from its own children): deliver it.
                Ok(WaitStatus::Stopped(_, sig)) => inject = Some(sig),
                Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) => break,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        Ok(calls)
    }

    /// The fields of the `struct clone_args` at `addr` in the tracee.
    fn clone_args(pid: Pid, addr: u64) -> Option<CloneArgs> {
        let word = |off: u64| -> Option<u64> {
            ptrace::read(pid, (addr + off) as ptrace::AddressType)
                .ok()
                .map(|w| w as u64)
        };
        Some(CloneArgs {
            flags: word(0)?,
            exit_signal: word(32)?,
            stack: word(40)?,
            stack_size: word(48)?,
        })
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::RawCall;
    pub(super) fn trace(_: &[i64], _: impl FnOnce() -> i32) -> Result<Vec<RawCall>, String> {
        Err("not on this architecture".into())
    }
}

/// The clone flags (include/uapi/linux/sched.h), in the order strace prints them.
const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x0000_0100, "CLONE_VM"),
    (0x0000_0200, "CLONE_FS"),
    (0x0000_0400, "CLONE_FILES"),
    (0x0000_0800, "CLONE_SIGHAND"),
    (0x0000_1000, "CLONE_PIDFD"),
    (0x0000_2000, "CLONE_PTRACE"),
    (0x0000_4000, "CLONE_VFORK"),
    (0x0000_8000, "CLONE_PARENT"),
    (0x0001_0000, "CLONE_THREAD"),
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0004_0000, "CLONE_SYSVSEM"),
    (0x0008_0000, "CLONE_SETTLS"),
    (0x0010_0000, "CLONE_PARENT_SETTID"),
    (0x0020_0000, "CLONE_CHILD_CLEARTID"),
    (0x0040_0000, "CLONE_DETACHED"),
    (0x0080_0000, "CLONE_UNTRACED"),
    (0x0100_0000, "CLONE_CHILD_SETTID"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
];

/// `CLONE_VM|CLONE_VFORK`: the named flags of `flags` (bits without a name stay a number).
pub(crate) fn clone_flags(flags: u64) -> String {
    let mut names: Vec<String> = CLONE_FLAGS
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known: u64 = CLONE_FLAGS.iter().map(|(b, _)| b).sum();
    let rest = flags & !known & !0xff;
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    if names.is_empty() {
        "0".to_string()
    } else {
        names.join("|")
    }
}

/// A signal number as strace names it in clone's flags and clone3's exit_signal: `SIGCHLD`,
/// `0` for none.
pub(crate) fn exit_signal(n: u64) -> String {
    match i32::try_from(n)
        .ok()
        .and_then(|n| nix::sys::signal::Signal::try_from(n).ok())
    {
        Some(s) => s.as_str().to_string(),
        None => n.to_string(),
    }
}

impl RawCall {
    /// The call's name, for the numbers the demos watch.
    pub(crate) fn name(&self) -> &'static str {
        match self.nr {
            libc::SYS_clone => "clone",
            libc::SYS_clone3 => "clone3",
            #[cfg(target_arch = "x86_64")]
            libc::SYS_fork => "fork",
            #[cfg(target_arch = "x86_64")]
            libc::SYS_vfork => "vfork",
            libc::SYS_execve => "execve",
            libc::SYS_wait4 => "wait4",
            libc::SYS_write => "write",
            libc::SYS_exit => "exit",
            libc::SYS_exit_group => "exit_group",
            _ => "syscall",
        }
    }

    /// The flags that say what a clone or clone3 made: clone's first argument without its low
    /// byte (the exit signal), or clone_args.flags.
    pub(crate) fn flags(&self) -> Option<u64> {
        match self.nr {
            libc::SYS_clone => Some(self.args[0] & !0xff),
            libc::SYS_clone3 => self.clone3.map(|a| a.flags),
            _ => None,
        }
    }

    /// The call as strace prints it, without the PID: `clone(child_stack=NULL,
    /// flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f..) = 4242`.
    pub(crate) fn strace(&self) -> (String, String) {
        let a = self.args;
        let args = match self.nr {
            libc::SYS_clone => {
                let sig = a[0] & 0xff;
                let mut flags = clone_flags(a[0] & !0xff);
                if sig != 0 {
                    flags = if flags == "0" {
                        exit_signal(sig)
                    } else {
                        format!("{flags}|{}", exit_signal(sig))
                    };
                }
                let stack = if a[1] == 0 {
                    "NULL".to_string()
                } else {
                    format!("{:#x}", a[1])
                };
                // x86_64's clone: flags, stack, parent_tid, child_tid, tls.
                let mut s = format!("child_stack={stack}, flags={flags}");
                if a[0] & 0x0120_0000 != 0 {
                    s.push_str(&format!(", child_tidptr={:#x}", a[3]));
                }
                s
            }
            libc::SYS_clone3 => match self.clone3 {
                Some(c) => format!(
                    "{{flags={}, exit_signal={}, stack={:#x}, stack_size={:#x}}}, {}",
                    clone_flags(c.flags),
                    exit_signal(c.exit_signal),
                    c.stack,
                    c.stack_size,
                    a[1]
                ),
                None => format!("{:#x}, {}", a[0], a[1]),
            },
            libc::SYS_write => format!("{}, {:#x}, {}", a[0], a[1], a[2]),
            libc::SYS_exit | libc::SYS_exit_group => format!("{}", a[0] as i32),
            _ => String::new(),
        };
        let ret = match self.ret {
            None => "?".to_string(),
            Some(r) if (-4095..0).contains(&r) => {
                super::narrate::errno_text(nix::errno::Errno::from_raw(-r as i32))
            }
            Some(r) => r.to_string(),
        };
        (args, ret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_flags_read_as_strace_prints_them() {
        assert_eq!(
            clone_flags(0x0120_0000),
            "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID"
        );
        assert_eq!(clone_flags(0x4100), "CLONE_VM|CLONE_VFORK");
        assert_eq!(clone_flags(0), "0");
        let fork = RawCall {
            nr: libc::SYS_clone,
            args: [0x0120_0011, 0, 0, 0x7f00, 0, 0],
            ret: Some(42),
            clone3: None,
        };
        assert_eq!(
            fork.strace(),
            (
                "child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f00".to_string(),
                "42".to_string()
            )
        );
        assert_eq!(fork.flags(), Some(0x0120_0000));
    }
}

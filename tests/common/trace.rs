//! Following the system calls of one run of the binary with ptrace, without strace (a fresh
//! machine has only the Rust toolchain): fork, PTRACE_TRACEME, exec, then PTRACE_SYSCALL
//! stops, each read with PTRACE_GETREGS (orig_rax is the call, rax its result). Every call
//! comes with the file it works on (the path opened, or what its fd argument was opened as),
//! so a test can say which /proc/PID a call was for. Only the one process is followed: when
//! every call must be counted, a run that forks or starts a thread fails the trace.
//!
//! x86_64 only (the registers are read by name).

use std::collections::HashMap;
use std::ffi::{CString, OsString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use nix::sys::ptrace;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};

use super::{Cmd, Run};

/// One system call of the traced process.
#[derive(Clone, Debug)]
pub struct Call {
    /// The call's number (libc::SYS_*).
    pub nr: i64,
    pub args: [u64; 6],
    /// What it returned (a negative errno on failure); None when it never returned (exit).
    pub ret: Option<i64>,
    /// The file it works on: the path it names, resolved against its directory fd, or the
    /// path its fd argument was opened with.
    pub file: Option<String>,
}

impl Call {
    /// The group the call belongs to, for budgets: open, read, close, stat, readlink,
    /// getdents, ubcheck (see below) or other.
    pub fn category(&self) -> &'static str {
        match self.nr {
            libc::SYS_open | libc::SYS_openat | libc::SYS_openat2 => "open",
            libc::SYS_read | libc::SYS_pread64 | libc::SYS_readv => "read",
            libc::SYS_close => "close",
            libc::SYS_fstat
            | libc::SYS_newfstatat
            | libc::SYS_statx
            | libc::SYS_stat
            | libc::SYS_lstat
            | libc::SYS_fstatfs => "stat",
            libc::SYS_readlink | libc::SYS_readlinkat => "readlink",
            libc::SYS_getdents64 => "getdents",
            // A debug build checks that each fd it closes is open (fcntl F_GETFD, Rust std's
            // debug_assert_fd_is_open): a cost of how `cargo test` builds, not of the tool.
            libc::SYS_fcntl if self.args[1] == libc::F_GETFD as u64 => "ubcheck",
            _ => "other",
        }
    }

    /// The /proc/PID this call is for, when its file is under `/proc/PID/`.
    pub fn proc_pid(&self) -> Option<i32> {
        let rest = self.file.as_deref()?.strip_prefix("/proc/")?;
        rest.split('/').next()?.parse().ok()
    }

    /// Whether the call waits for time or for file descriptors (poll, sleep): how fix waits
    /// for the processes it watches. Waits for its own children (wait4) are not counted, nor
    /// a poll with a zero timeout, which only looks (fix asks a pidfd whether it has exited
    /// that way, between two real waits).
    pub fn is_wait(&self) -> bool {
        if self.nr == libc::SYS_poll && self.args[2] as i32 == 0 {
            return false;
        }
        matches!(
            self.nr,
            libc::SYS_poll
                | libc::SYS_ppoll
                | libc::SYS_epoll_wait
                | libc::SYS_epoll_pwait
                | libc::SYS_epoll_pwait2
                | libc::SYS_nanosleep
                | libc::SYS_clock_nanosleep
                | libc::SYS_select
                | libc::SYS_pselect6
        )
    }

    /// Whether the call makes a new process or thread.
    pub fn is_fork(&self) -> bool {
        matches!(
            self.nr,
            libc::SYS_fork | libc::SYS_vfork | libc::SYS_clone | libc::SYS_clone3
        )
    }
}

/// A stop of the traced process, handed to the caller while the process is stopped.
pub enum Stop<'a> {
    /// It is entering this call (its result is not known yet).
    Entry(&'a Call),
    /// This call returned.
    Exit(&'a Call),
}

/// A finished trace.
pub struct Trace {
    /// Every call, in order.
    pub calls: Vec<Call>,
    /// The exit code; None when a signal ended the process.
    pub code: Option<i32>,
    /// The signal that ended the process, if one did.
    pub signal: Option<i32>,
}

impl Trace {
    /// How many calls of each category were made for `pid`'s /proc directory.
    pub fn for_pid(&self, pid: i32) -> Counts {
        Counts::of(self.calls.iter().filter(|c| c.proc_pid() == Some(pid)))
    }

    /// How many calls of each category in all.
    pub fn counts(&self) -> Counts {
        Counts::of(self.calls.iter())
    }
}

/// Calls per category.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts(pub std::collections::BTreeMap<&'static str, i64>);

impl Counts {
    pub fn of<'a>(calls: impl Iterator<Item = &'a Call>) -> Counts {
        let mut c = Counts::default();
        for call in calls {
            *c.0.entry(call.category()).or_default() += 1;
        }
        c
    }

    /// The calls of `category`.
    pub fn get(&self, category: &str) -> i64 {
        self.0.get(category).copied().unwrap_or(0)
    }

    /// These counts less `other`'s, category by category.
    pub fn minus(&self, other: &Counts) -> Counts {
        let mut c = self.clone();
        for (k, v) in &other.0 {
            *c.0.entry(k).or_default() -= v;
        }
        c.0.retain(|_, v| *v != 0);
        c
    }

    /// These counts times `n`.
    pub fn times(&self, n: i64) -> Counts {
        Counts(self.0.iter().map(|(k, v)| (*k, v * n)).collect())
    }

    /// These counts divided by `n`, when every category divides exactly.
    pub fn div_exact(&self, n: i64) -> Option<Counts> {
        self.0
            .iter()
            .map(|(k, v)| (v % n == 0).then_some((*k, v / n)))
            .collect::<Option<_>>()
            .map(Counts)
    }

    /// Every call but the debug build's fd checks: what a release build makes.
    pub fn total(&self) -> i64 {
        self.0
            .iter()
            .filter(|(k, _)| **k != "ubcheck")
            .map(|(_, v)| v)
            .sum()
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.total())?;
        let parts: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} {v}")).collect();
        write!(f, " ({})", parts.join(", "))
    }
}

/// Kills and reaps the tracee when the trace ends early (a failed assertion in a callback).
struct Tracee(Pid);

impl Drop for Tracee {
    fn drop(&mut self) {
        let _ = signal::kill(self.0, Signal::SIGKILL);
        let _ = waitpid(self.0, None);
    }
}

fn cstring(s: impl AsRef<std::ffi::OsStr>) -> CString {
    CString::new(s.as_ref().as_bytes()).expect("no NUL in arguments")
}

/// Namespaces the traced run enters: a PID namespace (for its children: the tracer thread
/// enters it before fork and leaves it right after) and a mount namespace (the child enters
/// it, alone: a thread sharing its filesystem data may not).
struct Namespaces {
    pid: OwnedFd,
    mnt: OwnedFd,
    home: OwnedFd,
}

fn open_ns(path: &str) -> OwnedFd {
    std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("open {path}: {e}"))
        .into()
}

/// Whether a traced run may start processes or threads (whose calls are not followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Children {
    /// Every call must be counted: a fork or a thread fails the trace.
    Forbidden,
    /// Only the calls of the process itself matter.
    Untraced,
}

/// Runs `cmd` (without a wrapper) under ptrace, its stdout and stderr going to the files
/// given, calling `on_stop` at every system-call stop, and returns every call it made. Inside
/// `cmd`'s PID namespace when it has one (root only), as nsenter would run it.
pub fn trace(
    cmd: &Cmd,
    stdout: &std::fs::File,
    stderr: &std::fs::File,
    children: Children,
    mut on_stop: impl FnMut(Stop<'_>),
) -> Trace {
    let argv: Vec<CString> = cmd.bin_argv().iter().map(cstring).collect();
    let envp: Vec<CString> = cmd
        .envs()
        .iter()
        .map(|(k, v)| {
            let mut kv = OsString::from(k);
            kv.push("=");
            kv.push(v);
            cstring(kv)
        })
        .collect();
    let mut argv_p: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_p.push(std::ptr::null());
    let mut envp_p: Vec<*const libc::c_char> = envp.iter().map(|a| a.as_ptr()).collect();
    envp_p.push(std::ptr::null());
    let null = std::fs::File::open("/dev/null").expect("/dev/null");
    let ns = cmd.ns_init().map(|init| Namespaces {
        pid: open_ns(&format!("/proc/{init}/ns/pid")),
        mnt: open_ns(&format!("/proc/{init}/ns/mnt")),
        home: open_ns("/proc/thread-self/ns/pid_for_children"),
    });
    if let Some(ns) = &ns {
        // Per thread: the other threads of the test runner fork into our namespace as before.
        nix::sched::setns(&ns.pid, nix::sched::CloneFlags::CLONE_NEWPID)
            .expect("setns into the PID namespace");
    }
    // SAFETY: the child makes only async-signal-safe calls (setns, dup2, ptrace, execve,
    // _exit) on data prepared before the fork.
    let forked = unsafe { fork() };
    if let (Ok(ForkResult::Parent { .. }) | Err(_), Some(ns)) = (&forked, &ns) {
        nix::sched::setns(&ns.home, nix::sched::CloneFlags::CLONE_NEWPID)
            .expect("setns back to our own PID namespace");
    }
    let child = match forked.expect("fork") {
        ForkResult::Child => unsafe {
            if let Some(ns) = &ns {
                if libc::setns(ns.mnt.as_raw_fd(), libc::CLONE_NEWNS) != 0 {
                    libc::_exit(126);
                }
            }
            libc::dup2(null.as_raw_fd(), 0);
            libc::dup2(stdout.as_raw_fd(), 1);
            libc::dup2(stderr.as_raw_fd(), 2);
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                libc::_exit(125);
            }
            libc::execve(argv_p[0], argv_p.as_ptr(), envp_p.as_ptr());
            libc::_exit(127)
        },
        ForkResult::Parent { child } => child,
    };
    let _guard = Tracee(child);
    // After a successful exec a tracee stops with SIGTRAP, before its first instruction.
    match waitpid(child, None).expect("waitpid") {
        WaitStatus::Stopped(_, Signal::SIGTRAP) => {}
        WaitStatus::Exited(_, 125) => panic!(
            "PTRACE_TRACEME refused: is ptrace allowed here? (kernel.yama.ptrace_scope 2 needs CAP_SYS_PTRACE, 3 forbids it)"
        ),
        WaitStatus::Exited(_, 126) => panic!("setns into the mount namespace failed"),
        other => panic!("{} did not start under ptrace: {other:?}", cmd.describe()),
    }
    ptrace::setoptions(
        child,
        ptrace::Options::PTRACE_O_TRACESYSGOOD | ptrace::Options::PTRACE_O_EXITKILL,
    )
    .expect("PTRACE_SETOPTIONS");

    let mut fds: HashMap<i64, String> = HashMap::new();
    let mut calls: Vec<Call> = Vec::new();
    let mut pending: Option<Call> = None;
    let mut deliver: Option<Signal> = None;
    let code = loop {
        ptrace::syscall(child, deliver.take()).expect("PTRACE_SYSCALL");
        match waitpid(child, None).expect("waitpid") {
            WaitStatus::PtraceSyscall(_) => {
                let regs = ptrace::getregs(child).expect("PTRACE_GETREGS");
                match pending.take() {
                    None => {
                        // On x86_64 the kernel sets rax to -ENOSYS at every entry: a stop
                        // that lacks it is an exit we took for an entry.
                        assert_eq!(
                            regs.rax as i64,
                            -(libc::ENOSYS as i64),
                            "lost track of syscall entries and exits"
                        );
                        let args = [regs.rdi, regs.rsi, regs.rdx, regs.r10, regs.r8, regs.r9];
                        let mut call = Call {
                            nr: regs.orig_rax as i64,
                            args,
                            ret: None,
                            file: None,
                        };
                        call.file = file_of(child, &call, &fds);
                        assert!(
                            children == Children::Untraced || !call.is_fork(),
                            "{} started a process or thread (syscall {}): its calls would go uncounted",
                            cmd.describe(),
                            call.nr
                        );
                        on_stop(Stop::Entry(&call));
                        pending = Some(call);
                    }
                    Some(mut call) => {
                        let ret = regs.rax as i64;
                        call.ret = Some(ret);
                        track_fds(&call, ret, &mut fds);
                        on_stop(Stop::Exit(&call));
                        calls.push(call);
                    }
                }
            }
            // A signal for the tracee: pass it on.
            WaitStatus::Stopped(_, sig) => deliver = Some(sig),
            WaitStatus::Exited(_, code) => break Ok(code),
            WaitStatus::Signaled(_, sig, _) => break Err(sig as i32),
            _ => {}
        }
    };
    // exit_group never returns.
    calls.extend(pending);
    std::mem::forget(_guard); // reaped: it exited
    Trace {
        calls,
        code: code.ok(),
        signal: code.err(),
    }
}

/// [`trace`], with stdout and stderr kept in files under `dir`: the trace and the run.
pub fn run_traced(
    cmd: &Cmd,
    dir: &std::path::Path,
    children: Children,
    on_stop: impl FnMut(Stop<'_>),
) -> (Trace, Run) {
    use std::os::unix::process::ExitStatusExt;
    let (out, err) = (dir.join("traced.stdout"), dir.join("traced.stderr"));
    let t = trace(
        cmd,
        &std::fs::File::create(&out).expect("create stdout file"),
        &std::fs::File::create(&err).expect("create stderr file"),
        children,
        on_stop,
    );
    // A wait status: the code in the second byte, or the signal in the first.
    let status = match (t.code, t.signal) {
        (Some(code), _) => code << 8,
        (None, sig) => sig.unwrap_or(libc::SIGKILL),
    };
    let run = Run::new(
        cmd.describe(),
        std::process::Output {
            status: std::process::ExitStatus::from_raw(status),
            stdout: std::fs::read(&out).expect("read stdout file"),
            stderr: std::fs::read(&err).expect("read stderr file"),
        },
    );
    (t, run)
}

/// Reads a NUL-terminated string from the tracee's memory (at most 4 KiB).
fn read_string(pid: Pid, addr: u64) -> Option<String> {
    let mut bytes = Vec::new();
    let mut at = addr;
    while bytes.len() < 4096 {
        let word = ptrace::read(pid, at as ptrace::AddressType).ok()?;
        for b in word.to_ne_bytes() {
            if b == 0 {
                return Some(String::from_utf8_lossy(&bytes).into_owned());
            }
            bytes.push(b);
        }
        at += std::mem::size_of::<libc::c_long>() as u64;
    }
    None
}

/// `path` resolved against directory fd `dirfd` (AT_FDCWD: kept as given).
fn resolve(dirfd: i64, path: &str, fds: &HashMap<i64, String>) -> String {
    if path.starts_with('/') || dirfd == libc::AT_FDCWD as i64 {
        return path.to_string();
    }
    let base = fds
        .get(&dirfd)
        .cloned()
        .unwrap_or_else(|| format!("<fd {dirfd}>"));
    if path.is_empty() {
        base
    } else {
        format!("{}/{path}", base.trim_end_matches('/'))
    }
}

/// The file a call works on (see [`Call::file`]).
fn file_of(pid: Pid, call: &Call, fds: &HashMap<i64, String>) -> Option<String> {
    let a = &call.args;
    // Directory fds and fds are ints: sign-extend from 32 bits (AT_FDCWD is -100).
    let fd = |i: usize| a[i] as i32 as i64;
    let path = |i: usize| read_string(pid, a[i]);
    match call.nr {
        libc::SYS_open | libc::SYS_stat | libc::SYS_lstat | libc::SYS_readlink => path(0),
        libc::SYS_openat
        | libc::SYS_openat2
        | libc::SYS_readlinkat
        | libc::SYS_newfstatat
        | libc::SYS_statx => Some(resolve(fd(0), &path(1)?, fds)),
        libc::SYS_read
        | libc::SYS_pread64
        | libc::SYS_readv
        | libc::SYS_close
        | libc::SYS_fstat
        | libc::SYS_fstatfs
        | libc::SYS_fcntl
        | libc::SYS_getdents64
        | libc::SYS_lseek
        | libc::SYS_ioctl => fds.get(&fd(0)).cloned(),
        _ => None,
    }
}

/// Keeps the fd table up to date after a call returned `ret`.
fn track_fds(call: &Call, ret: i64, fds: &mut HashMap<i64, String>) {
    let fd = |i: usize| call.args[i] as i32 as i64;
    let opened = matches!(
        call.nr,
        libc::SYS_open | libc::SYS_openat | libc::SYS_openat2
    );
    let dup = matches!(call.nr, libc::SYS_dup | libc::SYS_dup2 | libc::SYS_dup3)
        || (call.nr == libc::SYS_fcntl
            && [libc::F_DUPFD, libc::F_DUPFD_CLOEXEC]
                .iter()
                .any(|&c| call.args[1] == c as u64));
    if ret >= 0 && opened {
        if let Some(f) = &call.file {
            fds.insert(ret, f.clone());
        }
    } else if ret >= 0 && dup {
        if let Some(f) = fds.get(&fd(0)).cloned() {
            fds.insert(ret, f);
        }
    } else if call.nr == libc::SYS_close {
        fds.remove(&fd(0));
    }
}

//! `--trace`: the system calls each step makes, recorded by the demo where it makes them, in
//! the demo process and in its children alike, and shown under the step as `strace -f`
//! would print them.
//!
//! Why a recorder and not ptrace: a traced process is no longer the process the demo teaches
//! about. Its tracer is told of its stops and exits before its parent, wait() and /proc see
//! it differently (TracerPid, state `t`), and the zombie and orphan demos would show the
//! tracer's effects instead of the kernel's rules. So each demo reports its own calls: what
//! it called, with which arguments, and what came back. What is left out is the plumbing: the
//! reads of /proc that make the evidence, the pipes the demo talks to its children over, and
//! its signalfd polls (the SIGCHLDs it reads from the signalfd are shown: they are how it
//! learns a child exited), and calls made in loops of thousands (the semaphore demo's races),
//! which the step's call line sums up.
//!
//! A C library function is recorded as the system calls it makes (glibc 2.36, checked with
//! `strace -f`): mq_send is mq_timedsend, mq_close a close, shm_open an openat of the file in
//! /dev/shm, sem_open an openat, an mmap when this process has no mapping of the semaphore
//! yet, and for a new one a link from a temporary name into place. The names glibc keeps to
//! itself are read back where the kernel shows them (the temporary name is the deleted file
//! /proc/self/maps shows mapped; the descriptor is the lowest free one, as open returns);
//! what cannot be known is left out, never guessed. sem_wait and sem_post are not recorded:
//! without contention they are atomic instructions in user space and make no system call,
//! and with it they are futex calls inside the races' loops of thousands.
//!
//! Every record is one line of JSON written with one write(2) to a pipe the runtime made
//! ([`Sink`]), shorter than PIPE_BUF so that lines from several processes never mix; the write
//! end is non-blocking, so a full pipe drops a record rather than stalling a child. The
//! narrator drains the pipe as it writes each step. Without `--trace` there is no pipe and
//! recording costs a load of one atomic.

use std::fs::File;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag};
use nix::sys::wait::WaitStatus;

use super::narrate::Traced;

/// The write end of the trace pipe, None when not tracing. Process-wide because the children
/// the demos fork record too, deep inside their own code: they inherit it (the memory and the
/// descriptor) with the fork. The demo process is single-threaded, so no fork can happen while
/// another thread holds the lock.
static SINK: Mutex<Option<File>> = Mutex::new(None);

/// Whether SINK is set, read without taking the lock.
static ON: AtomicBool = AtomicBool::new(false);

/// The longest arguments recorded (a record longer than PIPE_BUF could mix with another
/// process's): longer ones are cut.
const MAX_ARGS: usize = 3000;

/// The trace pipe's read end, owned by the runtime; dropping it stops the recording.
pub(crate) struct Sink {
    read: OwnedFd,
    /// Bytes read but not yet a whole line.
    partial: Vec<u8>,
}

impl Sink {
    /// Makes the pipe and starts recording in this process and every child forked after.
    pub(crate) fn open() -> Result<Sink> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
            .context("cannot make the pipe that --trace records into")?;
        // A larger buffer (up to fs.pipe-max-size, 1 MiB by default) drops fewer records
        // between two steps; the default 64 KiB works too.
        let _ = nix::fcntl::fcntl(&write, FcntlArg::F_SETPIPE_SZ(1 << 20));
        *SINK.lock().unwrap_or_else(|e| e.into_inner()) = Some(File::from(write));
        ON.store(true, Ordering::Relaxed);
        Ok(Sink {
            read,
            partial: Vec::new(),
        })
    }

    /// Every record written since the last call, in the order written.
    pub(crate) fn drain(&mut self) -> Vec<Traced> {
        let mut chunk = [0u8; 16384];
        loop {
            match nix::unistd::read(&self.read, &mut chunk) {
                Ok(0) | Err(Errno::EAGAIN) => break,
                Ok(n) => self.partial.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let whole: Vec<u8> = self.partial.drain(..=end).collect();
        in_strace_order(
            whole
                .split(|&b| b == b'\n')
                .filter_map(|l| serde_json::from_slice(l).ok())
                .collect(),
        )
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        ON.store(false, Ordering::Relaxed);
        *SINK.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Whether calls are being recorded (`--trace`).
pub(crate) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Records a call made by this process: its name, arguments and result, as strace prints
/// them.
pub(crate) fn record(call: &str, args: impl AsRef<str>, result: impl AsRef<str>) {
    record_for(std::process::id() as i32, call, args, result);
}

/// Records a call made by process `pid`, for calls the demo learns of from outside (a
/// successful execve, which never returns to say so).
pub(crate) fn record_for(pid: i32, call: &str, args: impl AsRef<str>, result: impl AsRef<str>) {
    if !on() {
        return;
    }
    let mut args = args.as_ref().to_string();
    if args.len() > MAX_ARGS {
        let mut cut = MAX_ARGS;
        while !args.is_char_boundary(cut) {
            cut -= 1;
        }
        args.truncate(cut);
        args.push_str("...");
    }
    let t = Traced {
        pid,
        call: call.to_string(),
        args,
        result: result.as_ref().to_string(),
    };
    let Ok(mut line) = serde_json::to_vec(&t) else {
        return;
    };
    line.push(b'\n');
    let sink = SINK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(mut f) = sink.as_ref() {
        // One write(2): a pipe takes up to PIPE_BUF bytes whole or not at all; when it is
        // full (EAGAIN) the record is dropped.
        let _ = f.write(&line);
    }
}

/// This process's PID as the demo sees it, for records made inside a PID namespace of the
/// demo's making, where getpid() gives the PID inside (1 for its init). strace -f run where
/// the demo runs prints that outer PID; /proc/self names it, because the /proc mounted here
/// is the demo's own (the namespace's processes mount no /proc of theirs) and a procfs shows
/// every PID as its own namespace numbers it.
pub(crate) fn outer_pid() -> i32 {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|l| l.to_str()?.parse().ok())
        .unwrap_or_else(|| std::process::id() as i32)
}

/// A PID that a process inside a PID namespace passed or got back (`inner`), with the PID
/// the demo knows it by (`outer`), as `strace -f --pidns-translation` prints it:
/// `2 /* 10625 in strace's PID NS */`. Plain when the two are the same.
pub(crate) fn ns_pid(inner: i32, outer: i32) -> String {
    if inner == outer {
        inner.to_string()
    } else {
        format!("{inner} /* {outer} in strace's PID NS */")
    }
}

/// The PID a clone's result names as the demo sees it: the number, or the translated one
/// of [`ns_pid`].
fn result_pid(result: &str) -> Option<i32> {
    match result.split_once(" /* ") {
        Some((_, rest)) => rest.split_once(' ')?.0.parse().ok(),
        None => result.parse().ok(),
    }
}

/// The calls that create a process and return its PID to the parent.
const CREATES: [&str; 4] = ["clone", "clone3", "fork", "vfork"];

/// Records in the order `strace -f` could have seen them: a child's first call never before
/// the clone that created it. The records arrive in the order they were written, and a child
/// often runs (and records) before its parent returns from clone and records that; so each
/// clone whose result is a PID that already has a record is moved, stably, to just before
/// that PID's first record, and again for its own creator when that move put it ahead of the
/// clone that made its caller (grandchildren). Everything else keeps its order.
pub(crate) fn in_strace_order(mut records: Vec<Traced>) -> Vec<Traced> {
    let created = |t: &Traced| {
        CREATES
            .contains(&t.call.as_str())
            .then(|| result_pid(&t.result))
            .flatten()
            .filter(|&p| p > 0 && p != t.pid)
    };
    // Each move takes a record strictly earlier, so this ends; the bound guards against
    // records that contradict themselves (two processes each claiming to have made the other).
    for _ in 0..records.len() * records.len() + 1 {
        let misplaced = records.iter().enumerate().find_map(|(j, t)| {
            let child = created(t)?;
            let first = records[..j].iter().position(|r| r.pid == child)?;
            Some((j, first))
        });
        let Some((from, to)) = misplaced else {
            break;
        };
        let clone = records.remove(from);
        records.insert(to, clone);
    }
    records
}

/// A result as strace prints it: the value, or `-1 ENAME (description)`.
pub(crate) fn ret<T: std::fmt::Display>(r: &Result<T, Errno>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => errno(*e),
    }
}

/// An error as strace prints it: `-1 EPIPE (Broken pipe)`.
pub(crate) fn errno(e: Errno) -> String {
    super::narrate::errno_text(e)
}

/// A buffer as strace prints it with its default `-s 32`: the first 32 bytes, quoted and
/// escaped as C would, then `...` when there were more.
pub(crate) fn bytes(data: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in data.iter().take(32) {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b' '..=b'~' => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:o}")),
        }
    }
    out.push('"');
    if data.len() > 32 {
        out.push_str("...");
    }
    out
}

/// A wait status as strace prints it: `[{WIFEXITED(s) && WEXITSTATUS(s) == 42}]`.
pub(crate) fn status(ws: WaitStatus) -> String {
    match ws {
        WaitStatus::Exited(_, code) => format!("[{{WIFEXITED(s) && WEXITSTATUS(s) == {code}}}]"),
        WaitStatus::Signaled(_, sig, core) => format!(
            "[{{WIFSIGNALED(s) && WTERMSIG(s) == {}{}}}]",
            sig.as_str(),
            if core { " && WCOREDUMP(s)" } else { "" }
        ),
        WaitStatus::Stopped(_, sig) => {
            format!("[{{WIFSTOPPED(s) && WSTOPSIG(s) == {}}}]", sig.as_str())
        }
        WaitStatus::Continued(_) => "[{WIFCONTINUED(s)}]".to_string(),
        other => format!("[{other:?}]"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pid: i32, call: &str, result: &str) -> Traced {
        Traced {
            pid,
            call: call.to_string(),
            args: String::new(),
            result: result.to_string(),
        }
    }

    fn lines(records: &[Traced]) -> Vec<String> {
        records
            .iter()
            .map(|r| format!("{} {} {}", r.pid, r.call, r.result))
            .collect()
    }

    #[test]
    fn a_clone_goes_before_the_first_call_of_its_child() {
        let got = in_strace_order(vec![
            t(10, "mq_open", "7"),
            t(11, "mq_open", "3"),
            t(11, "mq_timedsend", "0"),
            t(10, "clone", "11"),
            t(10, "wait4", "11"),
        ]);
        assert_eq!(
            lines(&got),
            [
                "10 mq_open 7",
                "10 clone 11",
                "11 mq_open 3",
                "11 mq_timedsend 0",
                "10 wait4 11"
            ]
        );
    }

    #[test]
    fn grandchildren_follow_their_parents_clone_in_turn() {
        // 11 runs before 10 records its clone, and 12 before 11 records its own.
        let got = in_strace_order(vec![
            t(12, "kill", "0"),
            t(11, "clone", "12"),
            t(10, "clone", "11"),
            t(10, "wait4", "11"),
        ]);
        assert_eq!(
            lines(&got),
            ["10 clone 11", "11 clone 12", "12 kill 0", "10 wait4 11"]
        );
    }

    #[test]
    fn what_is_already_in_order_stays_as_it_is() {
        let calls = vec![
            t(10, "vfork", "11"),
            t(11, "execve", "0"),
            t(10, "clone3", "12"),
            t(12, "write", "1"),
            t(11, "exit_group", "?"),
            // A clone with no record of its child, one that failed, and a child's record
            // from an earlier step whose clone is not here: left where they are.
            t(10, "clone", "13"),
            t(10, "clone", "-1 EAGAIN (Resource temporarily unavailable)"),
            t(14, "read", "3"),
        ];
        assert_eq!(in_strace_order(calls.clone()), calls);
    }

    #[test]
    fn a_clone_inside_a_pid_namespace_is_placed_by_the_outer_pid() {
        let inner = ns_pid(2, 12);
        assert_eq!(inner, "2 /* 12 in strace's PID NS */");
        let got = in_strace_order(vec![
            t(12, "kill", "0"),
            t(11, "clone", &inner),
            t(10, "clone", "11"),
        ]);
        assert_eq!(
            lines(&got),
            [
                "10 clone 11",
                "11 clone 2 /* 12 in strace's PID NS */",
                "12 kill 0"
            ]
        );
        assert_eq!(ns_pid(7, 7), "7");
    }

    #[test]
    fn buffers_are_quoted_and_cut_as_strace_prints_them() {
        assert_eq!(bytes(b"hi \"x\"\n"), r#""hi \"x\"\n""#);
        assert_eq!(bytes(&[b'x'; 33]), format!("\"{}\"...", "x".repeat(32)));
        assert_eq!(bytes(&[0, 7]), r#""\0\7""#);
    }

    #[test]
    fn records_that_contradict_themselves_do_not_hang() {
        let got = in_strace_order(vec![t(10, "clone", "11"), t(11, "clone", "10")]);
        assert_eq!(got.len(), 2);
    }
}

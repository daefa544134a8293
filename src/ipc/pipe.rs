//! `ipc demo pipe`: an unnamed pipe between a parent and its child. Both ends are the same
//! kernel object (one `pipe:[inode]` in both processes' /proc/PID/fd); the reader sees EOF
//! when the last write end closes; a writer without readers gets SIGPIPE, or EPIPE when it
//! ignores SIGPIPE (as every Rust program does).

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag};
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use crate::sys::process;
use crate::teach::lab::Lab;
use crate::teach::narrate::{Narrator, Step, errno_text};
use crate::teach::probe;
use crate::teach::runtime::{Channel, Gate, Pipe, Runtime, Sender, describe, find_program};
use crate::teach::trace;

const MESSAGE: &str = "hello through the pipe";

/// What the SIGPIPE writer writes.
const VOID: &[u8] = b"into the void";

/// Its write's arguments, as strace prints them.
fn void_args(fd: i32) -> String {
    format!("{fd}, {}, {}", trace::bytes(VOID), VOID.len())
}

/// Records the pipe2(O_CLOEXEC) that [`Pipe::new`] made; returns its ends' numbers.
fn record_pipe2(pipe: &Pipe) -> (i32, i32) {
    let (r, w) = (
        pipe.reader().map_or(-1, |f| f.as_raw_fd()),
        pipe.writer().map_or(-1, |f| f.as_raw_fd()),
    );
    trace::record("pipe2", format!("[{r}, {w}], O_CLOEXEC"), "0");
    (r, w)
}

/// Records a read of pipe end `fd` into `buf` (what it got, as strace shows it).
fn record_read(fd: i32, buf: &[u8], got: &Result<usize, Errno>) {
    let data = &buf[..*got.as_ref().unwrap_or(&0)];
    trace::record(
        "read",
        format!("{fd}, {}, {}", trace::bytes(data), buf.len()),
        trace::ret(&got.map(|n| n as i64)),
    );
}

/// Where descriptor number `fd` of `pid` points, as the proof that it is `want` (a `pipe:[inode]`),
/// or closed when `want` is None.
fn fd_fact(step: &mut Step, pid: i32, fd: i32, want: Option<&str>, meaning: &str) {
    let target = probe::fd_target(pid, fd);
    let meaning = match probe::fd_access(pid, fd) {
        Some(access) => format!("{meaning} ({access})"),
        None => meaning.to_string(),
    };
    step.fact_mut(
        format!("/proc/{pid}/fd/{fd}"),
        "link",
        target.clone().unwrap_or_else(|| "(closed)".into()),
        meaning,
        target.as_deref() == want,
    );
}

/// The reader child: closes its copy of the write end, then reports every read until EOF.
fn reader(pipe: &mut Pipe, report: Sender) -> i32 {
    if let Some(w) = pipe.writer().map(|f| f.as_raw_fd()) {
        pipe.close_write();
        trace::record("close", w.to_string(), "0");
    }
    report.line("ready");
    let r = pipe.reader().map_or(-1, |f| f.as_raw_fd());
    let mut buf = [0u8; 256];
    loop {
        let got = pipe.read(&mut buf);
        trace::record(
            "read",
            format!(
                "{r}, {}, {}",
                trace::bytes(&buf[..*got.as_ref().unwrap_or(&0)]),
                buf.len()
            ),
            trace::ret(&got),
        );
        match got {
            Ok(0) => {
                report.line("eof");
                return 0;
            }
            Ok(n) => report.line(&format!("data {n} {}", String::from_utf8_lossy(&buf[..n]))),
            Err(e) => {
                report.line(&format!("error {e:?}"));
                return 1;
            }
        }
    }
}

/// Polls until `pid` no longer has descriptor `fd` open.
fn wait_closed(rt: &Runtime, pid: i32, fd: i32) -> Result<()> {
    let start = Instant::now();
    while probe::fd_target(pid, fd).is_some() {
        if start.elapsed() > Duration::from_secs(2) {
            bail!("PID {pid} did not close descriptor {fd}");
        }
        rt.sleep(Duration::from_millis(2))?;
    }
    Ok(())
}

pub(super) fn run(lab: &mut Lab) -> Result<String> {
    let (rt, n) = (lab.rt, &mut lab.narrator);
    let me = rt.pid();
    n.begin(
        "an unnamed pipe between a parent and its child",
        "The notes: pipes are unnamed, set up by the shell with | to route the output of one \
         program to the input of another. Here the demo makes one with pipe(2), forks, and the \
         two processes talk through it while we watch /proc/PID/fd.",
    )?;

    // 1. The pipe.
    let (rd, wr) = nix::unistd::pipe()
        .map_err(std::io::Error::from)
        .context("pipe")?;
    let (r, w) = (rd.as_raw_fd(), wr.as_raw_fd());
    let mut pipe = Pipe::from_ends(rd, wr);
    let inode = probe::fd_target(me, r).unwrap_or_default();
    let pipe_inode = inode.starts_with("pipe:[").then_some(inode.as_str());
    let mut s = Step::new("Create a pipe")
        .call("pipe([r, w])", format!("0, r = {r}, w = {w}"))
        .explain(
            "Two descriptors for one kernel buffer: bytes written to w come out of r. The pipe \
             has no name in any directory; /proc shows it as pipe:[inode] on a hidden \
             filesystem (pipefs).",
        );
    s = s.pid("demo", me).try_it(format!(
        "ls -l /proc/{me}/fd; grep -E '^(pos|flags)' /proc/{me}/fdinfo/{r}"
    ));
    trace::record("pipe2", format!("[{r}, {w}], 0"), "0");
    fd_fact(&mut s, me, r, pipe_inode, "read end: a pipe");
    fd_fact(
        &mut s,
        me,
        w,
        pipe_inode,
        "write end: the same inode, the same pipe",
    );
    n.step(s)?;

    // 2. Fork the reader.
    let mut rep = Channel::new()?;
    let mut child = rt.spawn("pipe reader", || {
        let report = rep.child_side();
        reader(&mut pipe, report)
    })?;
    rep.close_write();
    let cpid = child.raw();
    if rep.recv(rt, Duration::from_secs(5))?.as_deref() != Some("ready") {
        bail!("the reader child (PID {cpid}) did not start");
    }
    pipe.close_read();
    trace::record("close", r.to_string(), "0");
    wait_closed(rt, cpid, w)?;
    let mut s = Step::new("Fork a reader; each side closes the end it does not use")
        .call("fork()", cpid.to_string())
        .explain(
            "fork copies the descriptor table, so both processes hold both ends. The child \
             closes its write end and the parent its read end; the pipe now goes one way, \
             parent to child. (Another pipe, not shown, carries the child's reports back.)",
        )
        .pid("parent", me)
        .pid("reader", cpid)
        .try_it(format!("ls -l /proc/{me}/fd /proc/{cpid}/fd"));
    fd_fact(
        &mut s,
        cpid,
        r,
        pipe_inode,
        "the child's read end: the same inode",
    );
    fd_fact(&mut s, cpid, w, None, "the child closed its write end");
    fd_fact(
        &mut s,
        me,
        w,
        pipe_inode,
        "the parent's write end: the same inode",
    );
    fd_fact(&mut s, me, r, None, "the parent closed its read end");
    n.step(s)?;

    // 3. The reader blocks.
    super::signal::wait_state(rt, cpid, 'S', Duration::from_secs(2))?;
    let mut s = Step::new("The child reads from the empty pipe and blocks")
        .call(format!("read({r}) in the child"), "(blocks)")
        .explain("Nothing to read yet: the kernel puts the reader to sleep until data comes.")
        .pid("reader", cpid)
        .try_it(format!(
            "cat /proc/{cpid}/wchan; echo; cut -d' ' -f1 /proc/{cpid}/syscall"
        ));
    let st = probe::state(cpid);
    s.fact_mut(
        format!("/proc/{cpid}/stat"),
        "state (3)",
        st.map(String::from).unwrap_or_default(),
        "S: sleeping",
        st == Some('S'),
    );
    s.show_mut(
        format!("/proc/{cpid}/wchan"),
        "wchan",
        probe::wchan(cpid).unwrap_or_else(|| "?".into()),
        "the kernel function it sleeps in: a pipe read (its name varies between kernels)",
    );
    n.step(s)?;

    // 4. Write.
    let written = nix::unistd::write(
        pipe.writer().context("the pipe's write end is closed")?,
        MESSAGE.as_bytes(),
    )
    .map_err(std::io::Error::from)
    .context("write to the pipe")?;
    trace::record(
        "write",
        format!(
            "{w}, {}, {}",
            trace::bytes(MESSAGE.as_bytes()),
            MESSAGE.len()
        ),
        written.to_string(),
    );
    let got = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    let mut s = Step::new("The parent writes; the child wakes up with the bytes")
        .call(format!("write({w}, \"{MESSAGE}\")"), written.to_string())
        .explain("The child's read returned what the parent wrote, byte for byte.")
        .pid("writer", me)
        .pid("reader", cpid)
        .try_it("echo hello | cat");
    let (count, text) = got
        .strip_prefix("data ")
        .and_then(|d| d.split_once(' '))
        .unwrap_or(("?", got.as_str()));
    s.fact_mut(
        format!("read({r}) in PID {cpid}"),
        "return",
        count.to_string(),
        format!("bytes read: \"{text}\", the {written} bytes written"),
        count == written.to_string() && text == MESSAGE,
    );
    n.step(s)?;

    // 5. EOF.
    pipe.close_write();
    trace::record("close", w.to_string(), "0");
    let eof = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    let st = rt.reap(&mut child, Duration::from_secs(5))?;
    let mut s = Step::new("The parent closes the write end: the reader sees end of file")
        .call(format!("close({w})"), "0")
        .explain(
            "With no write end open anywhere, read returns 0: end of file. Had the child kept its \
             own copy of the write end, it would wait forever: that is why each side closes the \
             end it does not use.",
        )
        .pid("reader", cpid)
        .try_it("(echo one; echo two) | wc -l   # wc ends when the writer closes: EOF");
    s.fact_mut(
        format!("read({r}) in PID {cpid}"),
        "return",
        if eof == "eof" { "0" } else { eof.as_str() }.to_string(),
        "0 bytes: end of file",
        eof == "eof",
    );
    s.fact_mut(
        format!("waitpid({cpid}, &status, WNOHANG)"),
        "status",
        describe(st),
        "the reader finished",
        st == WaitStatus::Exited(child.pid, 0),
    );
    n.step(s)?;

    // 6. Capacity.
    capacity_step(n, me)?;
    blocked_writer_step(rt, n)?;
    atomic_step(rt, n)?;

    // 7. SIGPIPE.
    let (rd2, wr2) = nix::unistd::pipe()
        .map_err(std::io::Error::from)
        .context("pipe")?;
    let (r2, w2) = (rd2.as_raw_fd(), wr2.as_raw_fd());
    trace::record("pipe2", format!("[{r2}, {w2}], 0"), "0");
    let mut pipe2 = Pipe::from_ends(rd2, wr2);
    let mut go = Gate::new()?;
    let mut writer = rt.spawn("pipe writer", || writer(&mut pipe2, &mut go))?;
    go.parent_side();
    let wpid = writer.raw();
    pipe2.close_read();
    trace::record("close", r2.to_string(), "0");
    wait_closed(rt, wpid, r2)?;
    let sigign = probe::sigmask(wpid, "SigIgn");
    go.send().context("write to the writer child")?;
    // The writer dies on its way back from write(2), before it could record the call:
    // strace shows `write(...) = -1 EPIPE (Broken pipe)`, then `+++ killed by SIGPIPE +++`
    // (pipe_write sends SIGPIPE and returns -EPIPE; the signal kills on the return to user
    // space). The demo records the write for the child once the child's end says so.
    if let Some(Signal::SIGPIPE) = killed_by(writer.pid, Duration::from_secs(5)) {
        trace::record_for(wpid, "write", void_args(w2), errno_text(Errno::EPIPE));
    }
    let st = rt.reap(&mut writer, Duration::from_secs(5))?;
    let mut s = Step::new("A writer with no reader left dies of SIGPIPE")
        .call(
            format!(
                "pipe([{r2}, {w2}]); fork() → {wpid}; close({r2}) in both; write({w2}) in PID {wpid}"
            ),
            "(killed)",
        )
        .explain(
            "Another pipe; this time the parent closes its read end and a child writes. With \
             no reader, the kernel sends the writer SIGPIPE, whose default action terminates \
             it. (Rust ignores SIGPIPE and children inherit that; this child restored the \
             default first.)",
        )
        .pid("writer", wpid)
        .try_it(
            "yes | head -1; echo \"yes ended with ${PIPESTATUS[0]}: 128 + 13 (SIGPIPE)\"   # bash",
        );
    s.fact_mut(
        format!("/proc/{wpid}/status"),
        "SigIgn",
        sigign.map_or("(unreadable)".into(), |m| m.hex()),
        "SIGPIPE (bit 12) not ignored: default action",
        sigign.is_some_and(|m| !m.has(libc::SIGPIPE)),
    );
    s.fact_mut(
        format!("waitpid({wpid}, &status, WNOHANG)"),
        "status",
        describe(st),
        "the writer was killed by the kernel's signal",
        matches!(st, WaitStatus::Signaled(_, Signal::SIGPIPE, _)),
    );
    drop(pipe2);
    trace::record("close", w2.to_string(), "0");
    n.step(s)?;

    // 8. EPIPE.
    let (rd3, wr3) = nix::unistd::pipe()
        .map_err(std::io::Error::from)
        .context("pipe")?;
    let (r3, w3) = (rd3.as_raw_fd(), wr3.as_raw_fd());
    trace::record("pipe2", format!("[{r3}, {w3}], 0"), "0");
    drop(rd3);
    trace::record("close", r3.to_string(), "0");
    let r = nix::unistd::write(&wr3, b"x");
    let mine = probe::sigmask(me, "SigIgn");
    let mut s = Step::new("A writer that ignores SIGPIPE gets EPIPE instead")
        .call(
            format!("pipe([{r3}, {w3}]); close({r3}); write({w3}) in the demo (PID {me})"),
            match r {
                Ok(n) => n.to_string(),
                Err(e) => errno_text(e),
            },
        )
        .explain(
            "The demo itself ignores SIGPIPE, like every Rust program, so the same situation \
             is an error return, EPIPE, and the process goes on.",
        )
        .pid("writer", me)
        .try_it("grep SigIgn /proc/self/status");
    trace::record(
        "write",
        format!("{}, \"x\", 1", wr3.as_raw_fd()),
        trace::ret(&r.map(|n| n as i64)),
    );
    s.fact_mut(
        format!("/proc/{me}/status"),
        "SigIgn",
        mine.map_or("(unreadable)".into(), |m| m.hex()),
        "SIGPIPE (bit 12) ignored",
        mine.is_some_and(|m| m.has(libc::SIGPIPE)),
    );
    s.fact_mut(
        "write(w, \"x\", 1)",
        "return",
        match r {
            Ok(n) => n.to_string(),
            Err(e) => errno_text(e),
        },
        "EPIPE: no reader, and no signal",
        r == Err(Errno::EPIPE),
    );
    drop(wr3);
    trace::record("close", w3.to_string(), "0");
    n.step(s)?;

    pipeline_step(rt, n)?;

    Ok(String::from(
        "One pipe, one inode, two processes; EOF when the last writer closed; a buffer of a \
         fixed size, where a writer waits; writes up to PIPE_BUF whole; SIGPIPE or EPIPE for a \
         writer without readers; and a shell's `|` built from pipe, dup2 and exec. Every child \
         was reaped.",
    ))
}

/// A writer that fills the pipe sleeps in pipe_write until the reader makes room.
fn blocked_writer_step(rt: &Runtime, n: &mut Narrator) -> Result<()> {
    let mut pipe = Pipe::new()?;
    let (r, w) = record_pipe2(&pipe);
    let size = nix::fcntl::fcntl(
        pipe.writer().context("the new pipe has no write end")?,
        FcntlArg::F_GETPIPE_SZ,
    )
    .map_err(std::io::Error::from)
    .context("fcntl(F_GETPIPE_SZ)")?;
    let total = usize::try_from(size).unwrap_or(65536) + 4096;
    let mut rep = Channel::new()?;
    let mut child = rt.spawn("blocked writer", || {
        pipe.close_read();
        trace::record("close", r.to_string(), "0");
        let report = rep.child_side();
        let data = vec![b'w'; total];
        let Some(fd) = pipe.writer() else { return 1 };
        // One write(2) of more than the pipe holds: it fills the pipe, then sleeps.
        let r = nix::unistd::write(fd, &data);
        trace::record(
            "write",
            format!("{}, {}, {total}", fd.as_raw_fd(), trace::bytes(&data)),
            trace::ret(&r.map(|n| n as i64)),
        );
        report.line(&format!("wrote {}", r.map_or(-1, |n| n as i64)));
        0
    })?;
    pipe.close_write();
    trace::record("close", w.to_string(), "0");
    rep.close_write();
    let wpid = child.raw();
    let rt_ref = rt;
    let blocked = rt.wait_until(Duration::from_secs(5), "the writer to block", |_| {
        let st = probe::state(wpid);
        let sc = probe::in_syscall(wpid);
        Ok((st == Some('S')
            && matches!(
                sc,
                probe::InSyscall::Call(libc::SYS_write) | probe::InSyscall::Unknown
            ))
        .then_some(sc))
    })?;
    let _ = rt_ref;
    let wchan = probe::wchan(wpid);
    let mut s = Step::new("A writer that fills the pipe sleeps in the kernel's pipe_write until the reader makes room")
        .call(
            format!(
                "pipe2([{r}, {w}], O_CLOEXEC); fork() → {wpid}; write({w}, {total} bytes) in PID {wpid}: {size} fit, then it waits; the parent's read({r}) drains it"
            ),
            "(blocks)",
        )
        .explain(
            "Without O_NONBLOCK, a write that does not fit copies what does and puts the writer \
             to sleep inside the kernel's pipe_write() until a reader frees room; it returns \
             only when every byte is in. Here the parent reads the pipe empty, and the writer finishes.",
        )
        .pid("writer", wpid)
        .try_it("yes | sleep 30 & sleep 1; cat /proc/$(pgrep -n yes)/wchan; echo; kill %1");
    s.fact_mut(
        format!("/proc/{wpid}/stat"),
        "state (3)",
        probe::state(wpid).map(String::from).unwrap_or_default(),
        "S: asleep",
        probe::state(wpid) == Some('S'),
    );
    match blocked {
        probe::InSyscall::Call(nr) => s.fact_mut(
            format!("/proc/{wpid}/syscall"),
            "number",
            format!("{nr} ({})", probe::syscall_name(nr)),
            "inside write(2)",
            nr == libc::SYS_write,
        ),
        _ => s.show_mut(
            format!("/proc/{wpid}/syscall"),
            "number",
            "(unreadable)",
            "the system call it sleeps in; reading it needs ptrace access",
        ),
    }
    match wchan {
        Some(w) => s.fact_mut(
            format!("/proc/{wpid}/wchan"),
            "wchan",
            &w,
            "the kernel function it waits in: pipe_write (named anon_pipe_write for unnamed pipes on newer kernels)",
            w.ends_with("pipe_write"),
        ),
        None => s.show_mut(
            format!("/proc/{wpid}/wchan"),
            "wchan",
            "(hidden)",
            "where it waits; hidden here",
        ),
    }
    // Drain: the writer wakes and finishes.
    let reader = pipe.reader().context("the pipe's read end is closed")?;
    let mut got = 0usize;
    let mut buf = vec![0u8; 65536];
    while got < total {
        if !rt.wait_readable(reader, Some(Duration::from_secs(5)))? {
            bail!("the blocked writer stopped writing");
        }
        let read = nix::unistd::read(reader, &mut buf);
        record_read(r, &buf, &read);
        match read {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(e).context("read from the pipe"),
        }
    }
    let said = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    let st = rt.reap(&mut child, Duration::from_secs(5))?;
    pipe.close_read();
    trace::record("close", r.to_string(), "0");
    s.fact_mut(
        format!("write() in PID {wpid}"),
        "return",
        said.trim_start_matches("wrote ").to_string(),
        format!("all {total} bytes, once the reader made room"),
        said == format!("wrote {total}"),
    );
    s.fact_mut(
        format!("waitpid({wpid}, &status, WNOHANG)"),
        "status",
        describe(st),
        "the writer finished",
        matches!(st, WaitStatus::Exited(_, 0)),
    );
    n.step(s)?;
    Ok(())
}

/// Writes of at most PIPE_BUF bytes are atomic: two writers' records never interleave.
fn atomic_step(rt: &Runtime, n: &mut Narrator) -> Result<()> {
    const RECORDS: usize = 64;
    const BIG: usize = 256 * 1024;
    let pipe_buf = libc::PIPE_BUF;
    let run = |size: usize, count: usize| -> Result<(Vec<u8>, [i32; 2], [i32; 2])> {
        let mut pipe = Pipe::new()?;
        let (r, w) = record_pipe2(&pipe);
        let mut kids = Vec::new();
        for letter in [b'A', b'B'] {
            kids.push(rt.spawn("pipe writer", || {
                pipe.close_read();
                trace::record("close", r.to_string(), "0");
                let Some(fd) = pipe.writer() else { return 1 };
                let record = vec![letter; size];
                for _ in 0..count {
                    // Each write(2) recorded: a write cut short (only a large one can be)
                    // goes on with the rest, as write_all would.
                    let mut off = 0;
                    while off < size {
                        let wrote = nix::unistd::write(fd, &record[off..]);
                        trace::record(
                            "write",
                            format!("{w}, {}, {}", trace::bytes(&record[off..]), size - off),
                            trace::ret(&wrote.map(|n| n as i64)),
                        );
                        match wrote {
                            Ok(n) => off += n,
                            Err(Errno::EINTR) => {}
                            Err(_) => return 1,
                        }
                    }
                }
                0
            })?);
        }
        pipe.close_write();
        trace::record("close", w.to_string(), "0");
        let reader = pipe.reader().context("the pipe's read end is closed")?;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        loop {
            if !rt.wait_readable(reader, Some(Duration::from_secs(5)))? {
                bail!("the pipe writers stopped writing");
            }
            let read = nix::unistd::read(reader, &mut buf);
            record_read(r, &buf, &read);
            match read {
                Ok(0) => break,
                Ok(k) => out.extend_from_slice(&buf[..k]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => return Err(e).context("read from the pipe"),
            }
        }
        let mut pids = [0; 2];
        for (i, k) in kids.iter_mut().enumerate() {
            pids[i] = k.raw();
            rt.reap(k, Duration::from_secs(5))?;
        }
        pipe.close_read();
        trace::record("close", r.to_string(), "0");
        Ok((out, pids, [r, w]))
    };
    let (small, pids, [r, w]) = run(pipe_buf, RECORDS)?;
    let whole = small.len() == 2 * RECORDS * pipe_buf
        && small.chunks(pipe_buf).all(|c| c.iter().all(|&b| b == c[0]));
    let switches = |v: &[u8]| v.windows(2).filter(|w| w[0] != w[1]).count();
    let (big, _, _) = run(BIG, 1)?;
    let mut s = Step::new("Writes of up to PIPE_BUF bytes arrive whole, never mixed with another writer's")
        .call(
            format!(
                "pipe2([{r}, {w}], O_CLOEXEC); fork() → {}, fork() → {}: write({w}, {pipe_buf} bytes) × {RECORDS} each ('A'×{pipe_buf}, 'B'×{pipe_buf}); the parent's read({r}) until end of file; then a new pipe and one write each of {BIG} bytes",
                pids[0], pids[1]
            ),
            format!("{} bytes read, then {}", small.len(), big.len()),
        )
        .explain(
            "POSIX guarantees that a write of at most PIPE_BUF bytes to a pipe is atomic: it \
             lands in one piece, never interleaved with another writer's. That is what lets \
             many processes log lines into one pipe. A larger write is copied as room appears, \
             and other writers' data can land in between.",
        )
        .pid("writer_a", pids[0])
        .pid("writer_b", pids[1])
        .try_it("getconf PIPE_BUF /");
    s.show_mut(
        "<limits.h>",
        "PIPE_BUF",
        pipe_buf,
        "the size up to which a pipe write is atomic (4096 on Linux)",
    );
    s.fact_mut(
        format!("{pipe_buf}-byte records read"),
        "mixed records",
        if whole {
            "none".to_string()
        } else {
            "some".to_string()
        },
        format!("every {pipe_buf}-byte block is all A or all B: no write was split"),
        whole,
    );
    s.show_mut(
        format!("{BIG}-byte writes read"),
        "A/B switches",
        switches(&big),
        "where one large write was cut by the other (1 means none was)",
    );
    n.step(s)?;
    Ok(())
}

/// A shell pipeline `cat | wc -l`, made the way a shell makes it: pipe, fork, dup2, exec.
fn pipeline_step(rt: &Runtime, n: &mut Narrator) -> Result<()> {
    let cat = find_program("cat")?;
    let wc = find_program("wc")?;
    let mut p = Pipe::new()?;
    let mut feed = Pipe::new()?;
    let mut out = Pipe::new()?;
    let (pr, pw) = (
        p.reader().map_or(-1, |f| f.as_raw_fd()),
        p.writer().map_or(-1, |f| f.as_raw_fd()),
    );
    trace::record("pipe2", format!("[{pr}, {pw}], O_CLOEXEC"), "0");
    let exec = |prog: &std::ffi::CString, argv: &[&str]| -> i32 {
        let argv: Vec<std::ffi::CString> = argv
            .iter()
            .filter_map(|a| std::ffi::CString::new(*a).ok())
            .collect();
        let env: [std::ffi::CString; 0] = [];
        let _ = nix::unistd::execve(prog, &argv, &env);
        127
    };
    let mut a = rt.spawn("cat", || {
        let (Some(input), Some(output)) = (feed.reader(), p.writer()) else {
            return 126;
        };
        let r0 = nix::unistd::dup2_stdin(input);
        let r1 = nix::unistd::dup2_stdout(output);
        trace::record(
            "dup2",
            format!("{}, 0", input.as_raw_fd()),
            trace::ret(&r0.map(|()| 0)),
        );
        trace::record("dup2", format!("{pw}, 1"), trace::ret(&r1.map(|()| 1)));
        exec(&cat, &["cat"])
    })?;
    let mut b = rt.spawn("wc", || {
        let (Some(input), Some(output)) = (p.reader(), out.writer()) else {
            return 126;
        };
        let r0 = nix::unistd::dup2_stdin(input);
        let r1 = nix::unistd::dup2_stdout(output);
        trace::record("dup2", format!("{pr}, 0"), trace::ret(&r0.map(|()| 0)));
        trace::record(
            "dup2",
            format!("{}, 1", output.as_raw_fd()),
            trace::ret(&r1.map(|()| 1)),
        );
        exec(&wc, &["wc", "-l"])
    })?;
    // The demo keeps only its ends: the feed's writer and the output's reader. Every other
    // copy must close, or wc would never see the end of its input.
    p.close_read();
    trace::record("close", pr.to_string(), "0");
    p.close_write();
    trace::record("close", pw.to_string(), "0");
    feed.close_read();
    out.close_write();
    let (apid, bpid) = (a.raw(), b.raw());
    rt.wait_until(Duration::from_secs(5), "cat and wc to start", |_| {
        Ok(
            (probe::comm(&rt.procfs, apid) == "cat" && probe::comm(&rt.procfs, bpid) == "wc")
                .then_some(()),
        )
    })?;
    trace::record_for(
        apid,
        "execve",
        format!("\"{}\", [\"cat\"], [] /* 0 vars */", cat.to_string_lossy()),
        "0",
    );
    trace::record_for(
        bpid,
        "execve",
        format!(
            "\"{}\", [\"wc\", \"-l\"], [] /* 0 vars */",
            wc.to_string_lossy()
        ),
        "0",
    );
    let a_out = probe::fd_target(apid, 1);
    let b_in = probe::fd_target(bpid, 0);
    let mut s = Step::new("A shell's `cat | wc -l`, built by hand: pipe, fork, dup2, exec")
        .call(
            format!(
                "pipe([{pr}, {pw}]); fork() → {apid}: dup2({pw}, 1), execve(cat); fork() → {bpid}: dup2({pr}, 0), execve(wc -l); close({pr}), close({pw})"
            ),
            "cat and wc run, joined by the pipe",
        )
        .explain(
            "This is what a shell does for `a | b`: one pipe, two forks; in the first child dup2 \
             puts the write end on descriptor 1 (stdout), in the second the read end on 0 \
             (stdin), and each execs its program, which simply reads 0 and writes 1 without \
             knowing about the pipe. Every other copy of the ends is closed, the shell's too, \
             or wc would never see end of file.",
        )
        .pid("cat", apid)
        .pid("wc", bpid)
        .try_it("sleep 30 | sleep 31 & sleep 1; ls -l /proc/$(pgrep -nx sleep)/fd; kill %1");
    s.fact_mut(
        format!("/proc/{apid}/fd/1"),
        "link",
        a_out.clone().unwrap_or_else(|| "(closed)".into()),
        "cat's stdout: a pipe",
        a_out.as_deref().is_some_and(|t| t.starts_with("pipe:[")),
    );
    s.fact_mut(
        format!("/proc/{bpid}/fd/0"),
        "link",
        b_in.clone().unwrap_or_else(|| "(closed)".into()),
        "wc's stdin: the same pipe",
        b_in.is_some() && b_in == a_out,
    );
    let lines = "one\ntwo\nthree\n";
    feed.write_all(lines.as_bytes())
        .map_err(std::io::Error::from)
        .context("write to cat")?;
    feed.close_write();
    let reader = out
        .reader()
        .context("the output pipe's read end is closed")?;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        if !rt.wait_readable(reader, Some(Duration::from_secs(5)))? {
            bail!("wc printed nothing within 5 s");
        }
        match nix::unistd::read(reader, &mut buf) {
            Ok(0) => break,
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(Errno::EINTR | Errno::EAGAIN) => {}
            Err(e) => return Err(e).context("read wc's output"),
        }
    }
    let sa = rt.reap(&mut a, Duration::from_secs(5))?;
    let sb = rt.reap(&mut b, Duration::from_secs(5))?;
    let printed = String::from_utf8_lossy(&got).trim().to_string();
    s.fact_mut(
        format!("stdout of wc ({bpid})"),
        "line",
        &printed,
        "3: the three lines the demo fed cat, counted by wc through the pipe",
        printed == "3",
    );
    s.fact_mut(
        "waitpid(cat), waitpid(wc)",
        "status",
        format!("{}; {}", describe(sa), describe(sb)),
        "both ended when their input did",
        matches!(sa, WaitStatus::Exited(_, 0)) && matches!(sb, WaitStatus::Exited(_, 0)),
    );
    n.step(s)?;
    Ok(())
}

/// How many bytes a pipe holds: what F_GETPIPE_SZ says (Linux 2.6.35 and later), and what
/// non-blocking writes fit before EAGAIN. They are the same number.
fn capacity_step(n: &mut Narrator, me: i32) -> Result<()> {
    let (rd, wr) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)
        .map_err(std::io::Error::from)
        .context("pipe2(O_NONBLOCK)")?;
    let (r, w) = (rd.as_raw_fd(), wr.as_raw_fd());
    trace::record("pipe2", format!("[{r}, {w}], O_NONBLOCK|O_CLOEXEC"), "0");
    let size = nix::fcntl::fcntl(&wr, FcntlArg::F_GETPIPE_SZ);
    trace::record("fcntl", format!("{w}, F_GETPIPE_SZ"), trace::ret(&size));
    let size = size
        .map_err(std::io::Error::from)
        .context("fcntl(F_GETPIPE_SZ)")?;
    let chunk = [b'x'; 4096];
    let mut filled: usize = 0;
    let stop = loop {
        let wrote = nix::unistd::write(&wr, &chunk);
        trace::record(
            "write",
            format!("{w}, {}, {}", trace::bytes(&chunk), chunk.len()),
            trace::ret(&wrote),
        );
        match wrote {
            Ok(n) => filled += n,
            Err(Errno::EINTR) => {}
            Err(e) => break Some(e),
        }
        // Far past any pipe size (pipe-max-size is 1 MiB by default): a guard, not a limit.
        if filled > 1 << 30 {
            break None;
        }
    };
    drop(rd);
    trace::record("close", r.to_string(), "0");
    let page = crate::sys::mman::page_size();
    let pages = usize::try_from(size).unwrap_or(0) / page;
    let mut s = Step::new("A pipe holds a fixed number of bytes: fill one")
        .call(
            "pipe2(O_NONBLOCK); fcntl(w, F_GETPIPE_SZ); write(w, 4096 bytes) until it fails",
            format!(
                "{size}; {filled} bytes, then {}",
                stop.map_or("no error".to_string(), errno_text)
            ),
        )
        .explain(
            "The kernel keeps a pipe's bytes in a ring of pages. When they are full a writer \
             waits, or with O_NONBLOCK gets EAGAIN, until the reader makes room. A writer that \
             waits for its reader while the reader waits for it is the classic pipe deadlock.",
        )
        .pid("demo", me)
        .try_it("cat /proc/sys/fs/pipe-max-size /proc/sys/fs/pipe-user-pages-soft");
    s.show_mut(
        "fcntl(w, F_GETPIPE_SZ)",
        "return",
        size.to_string(),
        format!("the capacity the kernel gave this pipe: {pages} pages of {page} bytes"),
    );
    s.fact_mut(
        "write(w, 4096 bytes) until it fails",
        "bytes written",
        filled.to_string(),
        "exactly the capacity F_GETPIPE_SZ reports",
        i64::try_from(filled).ok() == Some(i64::from(size)),
    );
    s.fact_mut(
        "write(w, 4096 bytes) until it fails",
        "the write that did not fit",
        stop.map_or("(none)".to_string(), errno_text),
        "EAGAIN: full, and O_NONBLOCK forbids waiting",
        stop == Some(Errno::EAGAIN),
    );
    // PIPE_DEF_BUFFERS (16 pages) since Linux 2.6.11. Since 4.5 an unprivileged user who
    // already holds more than fs.pipe-user-pages-soft pages in pipes gets
    // PIPE_MIN_DEF_BUFFERS instead (1 page at first, 2 since a 2021 fix), and the page size
    // is not 4096 everywhere: the default is shown, not asserted.
    s.show_mut(
        "PIPE_DEF_BUFFERS",
        "default capacity",
        format!("16 × {page} = {}", 16 * page),
        if pages == 16 {
            "this pipe has the default size (PIPE_DEF_BUFFERS, 16 pages)".to_string()
        } else {
            format!(
                "this pipe got {pages} pages: a user holding more than fs.pipe-user-pages-soft \
                 pages in pipes gets fewer; F_SETPIPE_SZ changes a pipe's size up to \
                 fs.pipe-max-size"
            )
        },
    );
    drop(wr);
    trace::record("close", w.to_string(), "0");
    n.step(s)?;
    Ok(())
}

/// The signal that killed child `pid`, looked at without reaping it (waitid with WNOWAIT, left
/// out of the trace like the reads of /proc); None when it was not killed within `timeout`.
/// It polls instead of waiting on the runtime's signalfd: that would read (and record) the
/// child's SIGCHLD before the call the caller records for the child, which came first.
fn killed_by(pid: nix::unistd::Pid, timeout: Duration) -> Option<Signal> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        match waitid(
            Id::Pid(pid),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT | WaitPidFlag::WNOHANG,
        ) {
            Ok(WaitStatus::Signaled(_, sig, _)) => return Some(sig),
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => {
                std::thread::sleep(Duration::from_millis(1));
            }
            _ => return None,
        }
    }
    None
}

/// The SIGPIPE writer: default SIGPIPE, closes the read end, waits for "go", writes.
fn writer(pipe: &mut Pipe, go: &mut Gate) -> i32 {
    let _ = process::default_action(Signal::SIGPIPE);
    go.child_side();
    if let Some(r) = pipe.reader().map(|f| f.as_raw_fd()) {
        pipe.close_read();
        trace::record("close", r.to_string(), "0");
    }
    if !go.wait() {
        return 2;
    }
    let Some(w) = pipe.writer() else { return 3 };
    // Killed by SIGPIPE on its way back from the call, this child records nothing: the
    // parent records the write for it (see the SIGPIPE step). Were it not killed, it would.
    let r = nix::unistd::write(w, VOID);
    trace::record("write", void_args(w.as_raw_fd()), trace::ret(&r));
    3
}

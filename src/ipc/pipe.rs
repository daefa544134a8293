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
use crate::teach::runtime::{Channel, Gate, Pipe, Runtime, Sender, describe};

const MESSAGE: &str = "hello through the pipe";

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
        target.clone().unwrap_or_else(|| "(closed)".into()),
        meaning,
        target.as_deref() == want,
    );
}

/// The reader child: closes its copy of the write end, then reports every read until EOF.
fn reader(pipe: &mut Pipe, report: Sender) -> i32 {
    pipe.close_write();
    report.line("ready");
    let mut buf = [0u8; 256];
    loop {
        match pipe.read(&mut buf) {
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
    wait_closed(rt, cpid, w)?;
    let mut s = Step::new("Fork a reader; each side closes the end it does not use")
        .call("fork()", cpid.to_string())
        .explain(
            "fork copies the descriptor table, so both processes hold both ends. The child \
             closes its write end and the parent its read end; the pipe now goes one way, \
             parent to child. (Another pipe, not shown, carries the child's reports back.)",
        );
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
        .explain("Nothing to read yet: the kernel puts the reader to sleep until data comes.");
    let st = probe::state(cpid);
    s.fact_mut(
        format!("/proc/{cpid}/stat state"),
        st.map(String::from).unwrap_or_default(),
        "S: sleeping",
        st == Some('S'),
    );
    s.ev_mut(
        format!("/proc/{cpid}/wchan"),
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
    let got = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    let mut s = Step::new("The parent writes; the child wakes up with the bytes")
        .call(format!("write({w}, \"{MESSAGE}\")"), written.to_string())
        .explain("The child's read returned what the parent wrote, byte for byte.");
    let (count, text) = got
        .strip_prefix("data ")
        .and_then(|d| d.split_once(' '))
        .unwrap_or(("?", got.as_str()));
    s.fact_mut(
        format!("read({r}) in PID {cpid}"),
        count.to_string(),
        format!("bytes read: \"{text}\", the {written} bytes written"),
        count == written.to_string() && text == MESSAGE,
    );
    n.step(s)?;

    // 5. EOF.
    pipe.close_write();
    let eof = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    let st = rt.reap(&mut child, Duration::from_secs(5))?;
    let mut s = Step::new("The parent closes the write end: the reader sees end of file")
        .call(format!("close({w})"), "0")
        .explain(
            "With no write end open anywhere, read returns 0: end of file. Had the child kept its \
             own copy of the write end, it would wait forever: that is why each side closes the \
             end it does not use.",
        );
    s.fact_mut(
        format!("read({r}) in PID {cpid}"),
        if eof == "eof" { "0" } else { eof.as_str() }.to_string(),
        "0 bytes: end of file",
        eof == "eof",
    );
    s.fact_mut(
        format!("waitpid({cpid})"),
        describe(st),
        "the reader finished",
        st == WaitStatus::Exited(child.pid, 0),
    );
    n.step(s)?;

    // 6. Capacity.
    capacity_step(n)?;

    // 7. SIGPIPE.
    let (rd2, wr2) = nix::unistd::pipe()
        .map_err(std::io::Error::from)
        .context("pipe")?;
    let (r2, w2) = (rd2.as_raw_fd(), wr2.as_raw_fd());
    let mut pipe2 = Pipe::from_ends(rd2, wr2);
    let mut go = Gate::new()?;
    let mut writer = rt.spawn("pipe writer", || writer(&mut pipe2, &mut go))?;
    go.parent_side();
    let wpid = writer.raw();
    pipe2.close_read();
    wait_closed(rt, wpid, r2)?;
    let sigign = probe::sigmask(wpid, "SigIgn");
    go.send().context("write to the writer child")?;
    let st = rt.reap(&mut writer, Duration::from_secs(5))?;
    let mut s = Step::new("A writer with no reader left dies of SIGPIPE")
        .call(format!("write({w2}) in PID {wpid}"), "(killed)")
        .explain(
            "A second pipe; this time the parent closes its read end and a child writes. With \
             no reader, the kernel sends the writer SIGPIPE, whose default action terminates \
             it. (Rust ignores SIGPIPE and children inherit that; this child restored the \
             default first.)",
        );
    s.fact_mut(
        format!("/proc/{wpid}/status SigIgn"),
        sigign.map_or("(unreadable)".into(), |m| m.hex()),
        "SIGPIPE (bit 12) not ignored: default action",
        sigign.is_some_and(|m| !m.has(libc::SIGPIPE)),
    );
    s.fact_mut(
        format!("waitpid({wpid})"),
        describe(st),
        "the writer was killed by the kernel's signal",
        matches!(st, WaitStatus::Signaled(_, Signal::SIGPIPE, _)),
    );
    n.step(s)?;
    drop(pipe2);

    // 8. EPIPE.
    let (rd3, wr3) = nix::unistd::pipe()
        .map_err(std::io::Error::from)
        .context("pipe")?;
    drop(rd3);
    let r = nix::unistd::write(&wr3, b"x");
    let mine = probe::sigmask(me, "SigIgn");
    let mut s = Step::new("A writer that ignores SIGPIPE gets EPIPE instead")
        .call(
            format!("write({}) in the demo (PID {me})", wr3.as_raw_fd()),
            match r {
                Ok(n) => n.to_string(),
                Err(e) => errno_text(e),
            },
        )
        .explain(
            "The demo itself ignores SIGPIPE, like every Rust program, so the same situation \
             is an error return, EPIPE, and the process goes on.",
        );
    s.fact_mut(
        format!("/proc/{me}/status SigIgn"),
        mine.map_or("(unreadable)".into(), |m| m.hex()),
        "SIGPIPE (bit 12) ignored",
        mine.is_some_and(|m| m.has(libc::SIGPIPE)),
    );
    s.fact_mut(
        "write",
        match r {
            Ok(n) => n.to_string(),
            Err(e) => errno_text(e),
        },
        "EPIPE: no reader, and no signal",
        r == Err(Errno::EPIPE),
    );
    n.step(s)?;
    drop(wr3);

    Ok(String::from(
        "One pipe, one inode, two processes; EOF when the last writer closed; a buffer of a \
         fixed size; SIGPIPE or EPIPE for a writer without readers. Every child was reaped.",
    ))
}

/// How many bytes a pipe holds: what F_GETPIPE_SZ says (Linux 2.6.35 and later), and what
/// non-blocking writes fit before EAGAIN. They are the same number.
fn capacity_step(n: &mut Narrator) -> Result<()> {
    let (rd, wr) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)
        .map_err(std::io::Error::from)
        .context("pipe2(O_NONBLOCK)")?;
    let size = nix::fcntl::fcntl(&wr, FcntlArg::F_GETPIPE_SZ)
        .map_err(std::io::Error::from)
        .context("fcntl(F_GETPIPE_SZ)")?;
    let chunk = [b'x'; 4096];
    let mut filled: usize = 0;
    let stop = loop {
        match nix::unistd::write(&wr, &chunk) {
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
        );
    s.ev_mut(
        "fcntl(F_GETPIPE_SZ)",
        size.to_string(),
        format!("the capacity the kernel gave this pipe: {pages} pages of {page} bytes"),
    );
    s.fact_mut(
        "bytes written before the pipe was full",
        filled.to_string(),
        "exactly the capacity F_GETPIPE_SZ reports",
        i64::try_from(filled).ok() == Some(i64::from(size)),
    );
    s.fact_mut(
        "the write that did not fit",
        stop.map_or("(none)".to_string(), errno_text),
        "EAGAIN: full, and O_NONBLOCK forbids waiting",
        stop == Some(Errno::EAGAIN),
    );
    // PIPE_DEF_BUFFERS (16 pages) since Linux 2.6.11. Since 4.5 an unprivileged user who
    // already holds more than fs.pipe-user-pages-soft pages in pipes gets
    // PIPE_MIN_DEF_BUFFERS instead (1 page at first, 2 since a 2021 fix), and the page size
    // is not 4096 everywhere: the default is shown, not asserted.
    s.ev_mut(
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
    n.step(s)?;
    drop(wr);
    Ok(())
}

/// The SIGPIPE writer: default SIGPIPE, closes the read end, waits for "go", writes.
fn writer(pipe: &mut Pipe, go: &mut Gate) -> i32 {
    let _ = process::default_action(Signal::SIGPIPE);
    go.child_side();
    pipe.close_read();
    if !go.wait() {
        return 2;
    }
    match pipe.write_all(b"into the void") {
        Ok(()) => 0,
        Err(_) => 3,
    }
}

//! `ipc demo fifo`: a named pipe. mkfifo makes a permanent file of type `p`; a process that
//! opens it for reading blocks until another opens it for writing (the wait is measured); the
//! reader and writer are separate processes that only share the path. With `--path` the FIFO
//! is made where the user says and the writer is the user, from another shell.
//!
//! The FIFO and the private directory are owned by guards that remove them; a guard removes a
//! path only while it is still the very file the demo created (same device and inode), so a
//! path the tool did not create is never removed.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::{Mode, SFlag};
use nix::sys::wait::WaitStatus;

use crate::exit::UsageError;
use crate::teach::lab::Lab;
use crate::teach::narrate::{Object, Step, errno_text};
use crate::teach::probe;
use crate::teach::runtime::{Channel, Gate, Runtime, Sender, TempDir, describe};
use crate::teach::trace;

const MESSAGE: &str = "hello through the FIFO";

/// A FIFO this process created; Drop unlinks it if the path still names that same file.
pub(crate) struct FifoGuard {
    path: PathBuf,
    dev: u64,
    ino: u64,
    owner: u32,
    removed: bool,
}

impl FifoGuard {
    /// mkfifo(path, mode) (or mknod with S_IFIFO), remembering which file it made.
    pub(crate) fn create(path: &Path, mode: u32, with_mknod: bool) -> Result<FifoGuard, Errno> {
        let perm = Mode::from_bits_truncate(mode);
        let made = if with_mknod {
            nix::sys::stat::mknod(path, SFlag::S_IFIFO, perm, 0)
        } else {
            nix::unistd::mkfifo(path, perm)
        };
        // glibc makes both mknodat calls; strace shows no device number for a FIFO.
        trace::record(
            "mknodat",
            format!("AT_FDCWD, \"{}\", S_IFIFO|{mode:04o}", path.display()),
            trace::ret(&made.map(|()| 0)),
        );
        made?;
        let md = std::fs::symlink_metadata(path).map_err(|_| Errno::ENOENT)?;
        Ok(FifoGuard {
            path: path.to_path_buf(),
            dev: md.dev(),
            ino: md.ino(),
            owner: std::process::id(),
            removed: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Unlinks the FIFO if the path still names the file we made; true when removed.
    pub(crate) fn remove(&mut self) -> bool {
        if self.removed {
            return true;
        }
        match std::fs::symlink_metadata(&self.path) {
            // Inode numbers are reused at once: a replacement must also be a FIFO to be ours.
            Ok(md) if md.dev() == self.dev && md.ino() == self.ino && md.file_type().is_fifo() => {
                self.removed = std::fs::remove_file(&self.path).is_ok();
            }
            _ => self.removed = true, // gone or replaced: not ours to remove
        }
        self.removed
    }
}

impl Drop for FifoGuard {
    fn drop(&mut self) {
        if self.owner == std::process::id() {
            self.remove();
        }
    }
}

/// `ls -l`'s first column for a mode: "prw-------".
fn ls_mode(md: &std::fs::Metadata) -> String {
    let ft = md.file_type();
    let t = if ft.is_fifo() {
        'p'
    } else if ft.is_dir() {
        'd'
    } else if ft.is_file() {
        '-'
    } else {
        '?'
    };
    format!("{t}{}", crate::ipcs::sysvipc::rwx(md.mode() & 0o777))
}

/// `lstat PATH` as the proof that it is a file of type `kind` (`ls`'s letter), and, for a
/// FIFO, that its size is 0.
fn file_fact(step: &mut Step, path: &Path, kind: char, meaning: &str) {
    match std::fs::symlink_metadata(path) {
        Ok(md) => {
            let mode = ls_mode(&md);
            step.fact_mut(
                format!("lstat {}", path.display()),
                "mode",
                format!("{mode} {:04o}", md.mode() & 0o7777),
                meaning.to_string(),
                mode.starts_with(kind),
            );
            if kind == 'p' {
                step.fact_mut(
                    format!("lstat {}", path.display()),
                    "st_ino, st_size",
                    format!("{}, {}", md.ino(), md.size()),
                    "inode number; a FIFO's size is always 0: data never touches the disk",
                    md.size() == 0,
                );
            }
        }
        Err(e) => step.fact_mut(
            format!("lstat {}", path.display()),
            "mode",
            format!("{e}"),
            meaning.to_string(),
            false,
        ),
    }
}

/// Whether `pid`'s descriptor `fd` is the FIFO `fifo` made (same device and inode).
fn is_the_fifo(pid: i32, fd: i32, fifo: &FifoGuard) -> bool {
    std::fs::metadata(format!("/proc/{pid}/fd/{fd}"))
        .is_ok_and(|md| md.dev() == fifo.dev && md.ino() == fifo.ino)
}

/// Whether `pid` has any descriptor open on the FIFO.
fn holds_the_fifo(pid: i32, fifo: &FifoGuard) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten().any(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|f| f.parse().ok())
                    .is_some_and(|fd| is_the_fifo(pid, fd, fifo))
            })
        })
        .unwrap_or(false)
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

/// open(2) of the FIFO, blocking as the demo shows: a FIFO's open waits for the other end.
fn open(path: &CString, flags: OFlag) -> Result<OwnedFd, Errno> {
    let r = loop {
        match nix::fcntl::open(path.as_c_str(), flags | OFlag::O_CLOEXEC, Mode::empty()) {
            Err(Errno::EINTR) => {}
            r => break r,
        }
    };
    let access = if flags.contains(OFlag::O_WRONLY) {
        "O_WRONLY"
    } else {
        "O_RDONLY"
    };
    trace::record(
        "openat",
        format!(
            "AT_FDCWD, \"{}\", {access}|O_CLOEXEC",
            path.to_string_lossy()
        ),
        match &r {
            Ok(fd) => fd.as_raw_fd().to_string(),
            Err(e) => errno_text(*e),
        },
    );
    r
}

/// The reader child: open (blocks until a writer opens), report the wait, wait for "go"
/// (unless the writer is the user), then read until EOF.
fn reader(path: &CString, report: Sender, go: Option<&Gate>) -> i32 {
    let t0 = Instant::now();
    let fd = open(path, OFlag::O_RDONLY);
    let waited = t0.elapsed();
    let fd = match fd {
        Ok(fd) => fd,
        Err(e) => {
            report.line(&format!("error open {e:?}"));
            return 1;
        }
    };
    report.line(&format!("opened {} {}", waited.as_millis(), fd.as_raw_fd()));
    if go.is_some_and(|g| !g.wait()) {
        return 2;
    }
    let mut buf = [0u8; 256];
    loop {
        let got = nix::unistd::read(&fd, &mut buf);
        trace::record(
            "read",
            format!(
                "{}, {}, {}",
                fd.as_raw_fd(),
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
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]);
                report.line(&format!("data {n} {}", text.escape_debug()));
            }
            Err(Errno::EINTR) => {}
            Err(e) => {
                report.line(&format!("error read {e:?}"));
                return 1;
            }
        }
    }
}

/// The writer child: open for writing, report, wait for "go", write, close.
fn writer(path: &CString, report: Sender, go: &Gate) -> i32 {
    let fd = match open(path, OFlag::O_WRONLY) {
        Ok(fd) => fd,
        Err(e) => {
            report.line(&format!("error open {e:?}"));
            return 1;
        }
    };
    report.line(&format!("wopened {}", fd.as_raw_fd()));
    if !go.wait() {
        return 2;
    }
    let sent = format!("{MESSAGE}\n");
    let r = nix::unistd::write(&fd, sent.as_bytes());
    let raw = fd.as_raw_fd();
    trace::record(
        "write",
        format!("{raw}, {}, {}", trace::bytes(sent.as_bytes()), sent.len()),
        trace::ret(&r),
    );
    drop(fd);
    trace::record("close", raw.to_string(), "0");
    if r.is_ok() { 0 } else { 3 }
}

/// The system call `pid` is in, from /proc/PID/syscall's first field (Linux 2.6.27 and
/// later, on architectures with tracehook support such as x86_64 and arm64): Some(true) for
/// open/openat, Some(false) for another or none ("running"), None when it cannot be read
/// (it needs ptrace access: a Yama ptrace_scope of 2 or 3 refuses it to non-root users).
fn in_open(pid: i32) -> Option<bool> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    let nr: i64 = match s.split_whitespace().next()?.parse() {
        Ok(nr) => nr,
        Err(_) => return Some(false), // "running"
    };
    #[cfg(target_arch = "x86_64")]
    if nr == libc::SYS_open {
        return Some(true);
    }
    Some(nr == libc::SYS_openat)
}

/// Waits until the reader sleeps in the FIFO's open: asleep (S) and, where /proc/PID/syscall
/// can be read, inside open(2) or openat(2).
fn wait_blocked_in_open(rt: &Runtime, pid: i32) -> Result<()> {
    rt.wait_until(
        Duration::from_secs(5),
        &format!("the FIFO reader (PID {pid}) to block in open"),
        |_| Ok((probe::state(pid) == Some('S') && in_open(pid) != Some(false)).then_some(())),
    )
}

/// /proc/PID/syscall's system call, as the proof that the reader is blocked in open; shown
/// without a verdict when the file cannot be read.
fn syscall_fact(step: &mut Step, pid: i32) {
    let source = format!("/proc/{pid}/syscall");
    let meaning = "the system call it is blocked in: open, so it has no descriptor yet";
    match std::fs::read_to_string(&source) {
        Ok(text) => {
            let nr = text
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            let open = in_open(pid) == Some(true);
            let name = match nr.parse::<i64>() {
                Ok(libc::SYS_openat) => " (openat)",
                #[cfg(target_arch = "x86_64")]
                Ok(libc::SYS_open) => " (open)",
                _ => "",
            };
            let value = format!("{nr}{name}");
            step.fact_mut(source, "number", value, meaning, open);
        }
        Err(e) => step.show_mut(source, "number", format!("(unreadable: {e})"), meaning),
    }
}

pub(super) fn run(lab: &mut Lab) -> Result<String> {
    let (rt, n) = (lab.rt, &mut lab.narrator);
    let user_path = lab.opts.path.as_deref();
    n.begin(
        "a named pipe (FIFO)",
        "The notes: FIFOs are permanent objects created with mkfifo() or mknod(), then opened \
         and read or written just like a normal file; reading normally blocks. Unlike a pipe, a \
         FIFO has a name in the filesystem, so unrelated processes can find it.",
    )?;

    // 1. Where the FIFO lives.
    let dir;
    let fifo_path = match user_path {
        Some(p) => {
            if std::fs::symlink_metadata(p).is_ok() {
                bail!(UsageError(format!(
                    "{} already exists; give --path a name that does not exist yet (zombies \
                     never removes a file it did not create)",
                    p.display()
                )));
            }
            p.to_path_buf()
        }
        None => {
            dir = TempDir::new(&super::demo_name("fifo"))?;
            // glibc's mkdtemp is a mkdir of the name it made up (again on EEXIST, rare).
            trace::record("mkdir", format!("\"{}\", 0700", dir.path().display()), "0");
            let mut s = Step::new("A private directory for the FIFO")
                .call(
                    format!("mkdtemp(\"{}\")", dir.path().display()),
                    "the new path, mode 0700",
                )
                .explain("Only our user can reach what we create inside it.")
                .pid("demo", rt.pid())
                .try_it(format!("ls -ld {}", dir.path().display()));
            let md = std::fs::symlink_metadata(dir.path());
            s.fact_mut(
                format!("lstat {}", dir.path().display()),
                "mode",
                match &md {
                    Ok(md) => format!("{} {:04o}", ls_mode(md), md.mode() & 0o7777),
                    Err(e) => e.to_string(),
                },
                "a directory, rwx for the owner only",
                md.is_ok_and(|md| md.is_dir() && md.mode() & 0o777 == 0o700),
            );
            n.step(s)?;
            dir.path().join("fifo")
        }
    };

    // 2. mkfifo.
    let mut fifo = FifoGuard::create(&fifo_path, 0o600, false)
        .map_err(std::io::Error::from)
        .with_context(|| {
            format!(
                "cannot create a FIFO at {}; is its directory there and writable?",
                fifo_path.display()
            )
        })?;
    let object = Object::named("fifo", fifo_path.display().to_string());
    n.object("created", &object)?;
    let mut s = Step::new("Create the FIFO")
        .call(format!("mkfifo(\"{}\", 0600)", fifo_path.display()), "0")
        .explain(
            "A new kind of file: type p. It is permanent: it stays in the directory, like any \
             file, until it is unlinked, whether or not a process has it open.",
        )
        .pid("demo", rt.pid())
        .try_it(format!(
            "ls -l {}; stat -c '%F %s' {}",
            shell_quote(&fifo_path),
            shell_quote(&fifo_path)
        ));
    file_fact(
        &mut s,
        &fifo_path,
        'p',
        "p: a FIFO, readable and writable by its owner (less what the umask removes)",
    );
    n.step(s)?;

    if user_path.is_none() {
        let twin_path = fifo_path.with_file_name("fifo-by-mknod");
        let mut twin = FifoGuard::create(&twin_path, 0o600, true)
            .map_err(std::io::Error::from)
            .context("mknod(S_IFIFO)")?;
        let mut s = Step::new("mknod makes the same kind of file")
            .call(
                format!("mknod(\"{}\", S_IFIFO|0600, 0)", twin_path.display()),
                "0",
            )
            .explain("mkfifo(3) is a library wrapper around mknod(2) with S_IFIFO.")
            .pid("demo", rt.pid())
            .try_it("mknod /tmp/fifo-try p && ls -l /tmp/fifo-try && rm /tmp/fifo-try");
        file_fact(&mut s, &twin_path, 'p', "p again");
        s.evidence.truncate(1);
        twin.remove();
        let after = std::fs::symlink_metadata(&twin_path);
        s.fact_mut(
            format!("unlink(\"{}\")", twin_path.display()),
            "lstat afterwards",
            match &after {
                Ok(_) => "still there".to_string(),
                Err(e) => errno_text(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
            },
            "removed again: we keep only the first one",
            after.is_err(),
        );
        n.step(s)?;
    }

    let cp = cpath(&fifo_path);
    if user_path.is_none() {
        n.step(nonblocking_step(&cp, &fifo_path, rt.pid())?)?;
    }

    // 3. The reader blocks in open.
    let mut rep = Channel::new()?;
    let mut go = Gate::new()?;
    let user_mode = user_path.is_some();
    let mut rd_child = rt.spawn("FIFO reader", || {
        let report = rep.child_side();
        go.child_side();
        reader(&cp, report, (!user_mode).then_some(&go))
    })?;
    let rpid = rd_child.raw();
    if user_mode {
        rep.close_write();
    }
    wait_blocked_in_open(rt, rpid)?;
    let mut s = Step::new("A reader opens the FIFO and blocks")
        .call(
            format!("open(\"{}\", O_RDONLY) in PID {rpid}", fifo_path.display()),
            "(blocks)",
        )
        .explain(
            "Opening a FIFO for reading waits until some process opens it for writing. The \
             reader is asleep inside open itself: it has no descriptor for the FIFO yet.",
        )
        .pid("reader", rpid)
        .try_it(format!(
            "cut -d' ' -f1 /proc/{rpid}/syscall; ls -l /proc/{rpid}/fd"
        ));
    let st = probe::state(rpid);
    s.fact_mut(
        format!("/proc/{rpid}/stat"),
        "state (3)",
        st.map(String::from).unwrap_or_default(),
        "S: sleeping",
        st == Some('S'),
    );
    syscall_fact(&mut s, rpid);
    let holds = holds_the_fifo(rpid, &fifo);
    s.fact_mut(
        format!("/proc/{rpid}/fd"),
        "entries",
        if holds {
            "the FIFO is open"
        } else {
            "no descriptor for the FIFO"
        },
        "open has not returned",
        !holds,
    );
    s.show_mut(
        format!("/proc/{rpid}/wchan"),
        "wchan",
        probe::wchan(rpid).unwrap_or_else(|| "?".into()),
        "where in the kernel it waits for the other end (the name varies between kernels)",
    );
    n.step(s)?;

    if user_mode {
        n.say(&format!(
            "Now, in another shell, type:  echo hi > {}   (Ctrl-C here to stop)",
            shell_quote(&fifo_path)
        ))?;
        let opened = rep.recv(rt, Duration::from_secs(u64::from(u32::MAX)))?;
        let (ms, fd) = parse_opened(opened.as_deref())?;
        let mut lines = Vec::new();
        loop {
            match rep.recv(rt, Duration::from_secs(u64::from(u32::MAX)))? {
                Some(l) if l.starts_with("data ") => lines.push(l),
                _ => break,
            }
        }
        let st = rt.reap(&mut rd_child, Duration::from_secs(5))?;
        let mut s = Step::new("Your writer opened it: the reader wakes up and reads")
            .call(
                format!("open(...) in PID {rpid} returned fd {fd}"),
                format!("after {ms} ms"),
            )
            .explain(
                "The shell's `>` opened the FIFO for writing; that completed the reader's open. \
                 echo wrote its line and the shell closed the FIFO: end of file for the reader.",
            )
            .pid("reader", rpid);
        s.show_mut(
            "clock",
            "time blocked in open",
            format!("{ms} ms"),
            "measured by the reader",
        );
        for l in &lines {
            let (count, text) = split_data(l);
            s.show_mut(
                format!("read({fd}) in PID {rpid}"),
                "return",
                count,
                format!("\"{text}\""),
            );
        }
        s.fact_mut(
            format!("waitpid({rpid}, &status, WNOHANG)"),
            "status",
            describe(st),
            "the reader saw EOF and exited",
            st == WaitStatus::Exited(rd_child.pid, 0),
        );
        n.step(s)?;
    } else {
        // The reader stays blocked for as long as no writer comes: wait a visible while,
        // then make sure it still is.
        const WRITER_AFTER: Duration = Duration::from_millis(300);
        rt.sleep(WRITER_AFTER)?;
        let still = probe::state(rpid) == Some('S')
            && in_open(rpid) != Some(false)
            && !holds_the_fifo(rpid, &fifo);
        let mut wr_child = rt.spawn("FIFO writer", || {
            let report = rep.child_side();
            go.child_side();
            writer(&cp, report, &go)
        })?;
        rep.close_write();
        go.parent_side();
        let wpid = wr_child.raw();
        let mut got = Vec::new();
        while got.len() < 2 {
            match rep.recv(rt, Duration::from_secs(5))? {
                Some(l) => got.push(l),
                None => bail!("the FIFO children stopped reporting"),
            }
        }
        let opened = got.iter().find(|l| l.starts_with("opened ")).cloned();
        let wopened = got.iter().find(|l| l.starts_with("wopened ")).cloned();
        let (ms, rfd) = parse_opened(opened.as_deref())?;
        let wfd: i32 = wopened
            .as_deref()
            .and_then(|l| l.strip_prefix("wopened "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1);
        let mut s = Step::new("A writer opens it: both opens complete")
            .call(
                format!("open(\"{}\", O_WRONLY) in PID {wpid}", fifo_path.display()),
                wfd.to_string(),
            )
            .explain(
                "A second, separate process opened the FIFO by its path, 300 ms later. That \
                 released the reader. Unlike a pipe's pipe:[inode], /proc shows the FIFO's path.",
            )
            .pid("reader", rpid)
            .pid("writer", wpid)
            .try_it(format!("ls -l /proc/{rpid}/fd /proc/{wpid}/fd"));
        s.fact_mut(
            format!("/proc/{rpid}/syscall"),
            format!("after {} ms", WRITER_AFTER.as_millis()),
            if still {
                "still blocked in open"
            } else {
                "no longer blocked"
            },
            "no writer yet: the reader waits",
            still,
        );
        s.fact_mut(
            "clock",
            "time the reader was blocked in open",
            format!("{ms} ms"),
            format!(
                "measured by the reader around open(2): at least the {} ms before a writer came",
                WRITER_AFTER.as_millis()
            ),
            u128::from(ms) >= WRITER_AFTER.as_millis(),
        );
        s.fact_mut(
            format!("/proc/{rpid}/fd/{rfd}"),
            "link",
            probe::fd_target(rpid, rfd).unwrap_or_default(),
            "the reader's descriptor: the FIFO",
            is_the_fifo(rpid, rfd, &fifo),
        );
        s.fact_mut(
            format!("/proc/{wpid}/fd/{wfd}"),
            "link",
            probe::fd_target(wpid, wfd).unwrap_or_default(),
            "the writer's descriptor: the same file",
            is_the_fifo(wpid, wfd, &fifo),
        );
        n.step(s)?;

        go.send().context("write to the FIFO children")?;
        go.send().context("write to the FIFO children")?;
        let mut data = Vec::new();
        let mut eof = false;
        loop {
            match rep.recv(rt, Duration::from_secs(5))? {
                Some(l) if l.starts_with("data ") => data.push(l),
                Some(l) if l == "eof" => {
                    eof = true;
                    break;
                }
                Some(l) => bail!("the FIFO reader said: {l}"),
                None => break,
            }
        }
        let wst = rt.reap(&mut wr_child, Duration::from_secs(5))?;
        let rst = rt.reap(&mut rd_child, Duration::from_secs(5))?;
        let sent = format!("{MESSAGE}\n");
        let mut s = Step::new("Write, read, close: end of file")
            .call(
                format!("write({wfd}, \"{MESSAGE}\\n\"); close({wfd}) in PID {wpid}"),
                sent.len().to_string(),
            )
            .explain(
                "The bytes went through the kernel's pipe buffer, first in, first out; when the \
                 writer closed its end the reader's read returned 0, end of file.",
            )
            .pid("reader", rpid)
            .pid("writer", wpid)
            .try_it("mkfifo /tmp/fifo-try; cat /tmp/fifo-try & echo hello > /tmp/fifo-try; wait; rm /tmp/fifo-try");
        let received: String = data.iter().map(|l| split_data(l).1).collect();
        for l in &data {
            let (count, text) = split_data(l);
            s.fact_mut(
                format!("read({rfd}) in PID {rpid}"),
                "return",
                count,
                format!("\"{text}\""),
                received == sent.escape_debug().to_string(),
            );
        }
        if data.is_empty() {
            s.fact_mut(
                format!("read({rfd}) in PID {rpid}"),
                "return",
                "(nothing)",
                "the writer's line",
                false,
            );
        }
        s.fact_mut(
            format!("read({rfd}) in PID {rpid}"),
            "return",
            if eof { "0" } else { "(no end of file)" },
            "0 bytes: end of file, the writer closed",
            eof,
        );
        s.fact_mut(
            format!("waitpid({wpid}, &status, WNOHANG)"),
            "status",
            describe(wst),
            "the writer is done",
            wst == WaitStatus::Exited(wr_child.pid, 0),
        );
        s.fact_mut(
            format!("waitpid({rpid}, &status, WNOHANG)"),
            "status",
            describe(rst),
            "the reader saw EOF",
            rst == WaitStatus::Exited(rd_child.pid, 0),
        );
        n.step(s)?;
    }

    // The FIFO outlives its users; then we remove it.
    let mut s = Step::new("The FIFO outlives the processes; remove it")
        .call(format!("unlink(\"{}\")", fifo_path.display()), "0")
        .explain(
            "Both processes are gone and the FIFO is still there: a permanent object. It goes \
             only when unlinked, which the demo does now (it removes only the file it created).",
        )
        .pid("demo", rt.pid())
        .try_it(format!("ls -l {}", shell_quote(&fifo_path)));
    file_fact(
        &mut s,
        &fifo_path,
        'p',
        "still a FIFO, with no process using it",
    );
    s.evidence.truncate(1);
    let removed = fifo.remove();
    trace::record(
        "unlink",
        format!("\"{}\"", fifo_path.display()),
        if removed { "0" } else { "-1" },
    );
    let after = std::fs::symlink_metadata(fifo.path());
    s.fact_mut(
        format!("lstat {}", fifo_path.display()),
        "mode",
        match &after {
            Ok(_) => "still there".to_string(),
            Err(e) => errno_text(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
        },
        if removed { "removed" } else { "not removed" },
        after.is_err(),
    );
    n.step(s)?;
    n.object("removed", &object)?;

    Ok(String::from(
        "A FIFO is a file of type p: opening it waits for the other end, then it behaves like \
         a pipe between processes that only share its name. Removed; children reaped.",
    ))
}

/// O_NONBLOCK changes both opens: the reader's returns at once, the writer's fails with
/// ENXIO while no reader has the FIFO open; and a read with nothing to read does not wait.
fn nonblocking_step(path: &CString, shown: &Path, me: i32) -> Result<Step> {
    let p = shown.display();
    let open_nb = |flags: OFlag| {
        nix::fcntl::open(
            path.as_c_str(),
            flags | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
    };
    let text = |r: &Result<OwnedFd, Errno>| match r {
        Ok(fd) => fd.as_raw_fd().to_string(),
        Err(e) => errno_text(*e),
    };
    let w1 = open_nb(OFlag::O_WRONLY);
    trace::record(
        "openat",
        format!("AT_FDCWD, \"{p}\", O_WRONLY|O_NONBLOCK|O_CLOEXEC"),
        text(&w1),
    );
    let r = open_nb(OFlag::O_RDONLY);
    trace::record(
        "openat",
        format!("AT_FDCWD, \"{p}\", O_RDONLY|O_NONBLOCK|O_CLOEXEC"),
        text(&r),
    );
    let mut buf = [0u8; 16];
    let read_alone = r.as_ref().ok().map(|fd| nix::unistd::read(fd, &mut buf));
    trace_read(&r, &read_alone, buf.len());
    let w2 = open_nb(OFlag::O_WRONLY);
    trace::record(
        "openat",
        format!("AT_FDCWD, \"{p}\", O_WRONLY|O_NONBLOCK|O_CLOEXEC"),
        text(&w2),
    );
    let read_with_writer = r.as_ref().ok().map(|fd| nix::unistd::read(fd, &mut buf));
    trace_read(&r, &read_with_writer, buf.len());
    let read_text = |x: &Option<nix::Result<usize>>| match x {
        Some(Ok(k)) => k.to_string(),
        Some(Err(e)) => errno_text(*e),
        None => "(not opened)".to_string(),
    };
    let mut s = Step::new("With O_NONBLOCK: the reader's open returns at once, a writer's fails with ENXIO")
        .call(
            format!("open(\"{p}\", O_WRONLY|O_NONBLOCK); open(O_RDONLY|O_NONBLOCK); read; open(O_WRONLY|O_NONBLOCK); read"),
            format!("{}, {}, {}, {}, {}", text(&w1), text(&r), read_text(&read_alone), text(&w2), read_text(&read_with_writer)),
        )
        .explain(
            "The notes: a FIFO is normally in blocking mode when reading. O_NONBLOCK changes \
             open and read: a reader's open returns at once, even with no writer; a writer's \
             open fails with ENXIO while no process has the FIFO open for reading, rather than \
             wait (there would be nobody to read what it writes). A read with no writer at all \
             returns 0, end of file; with a writer but no data, EAGAIN instead of waiting.",
        )
        .pid("demo", me)
        .try_it("mkfifo /tmp/fifo-try && dd if=/dev/null of=/tmp/fifo-try oflag=nonblock; dd if=/tmp/fifo-try iflag=nonblock count=1; rm /tmp/fifo-try");
    s.fact_mut(
        "open(O_WRONLY|O_NONBLOCK)",
        "with no reader",
        text(&w1),
        "ENXIO: no process has it open for reading",
        matches!(w1, Err(Errno::ENXIO)),
    );
    s.fact_mut(
        "open(O_RDONLY|O_NONBLOCK)",
        "with no writer",
        text(&r),
        "a descriptor, at once: no waiting for a writer",
        r.is_ok(),
    );
    s.fact_mut(
        "read",
        "with no writer",
        read_text(&read_alone),
        "0: end of file, since no process has it open for writing",
        matches!(read_alone, Some(Ok(0))),
    );
    s.fact_mut(
        "open(O_WRONLY|O_NONBLOCK)",
        "with a reader",
        text(&w2),
        "now it opens: a reader exists",
        w2.is_ok(),
    );
    s.fact_mut(
        "read",
        "with a writer, no data",
        read_text(&read_with_writer),
        "EAGAIN: there will be data, later; O_NONBLOCK refuses to wait",
        matches!(read_with_writer, Some(Err(Errno::EAGAIN))),
    );
    for fd in [w2, r].into_iter().flatten() {
        let n = fd.as_raw_fd();
        drop(fd);
        trace::record("close", n.to_string(), "0");
    }
    Ok(s)
}

/// A read of the non-blocking step, as strace shows it: what came (nothing here: "" at end
/// of file), or the buffer's address, elided, when the read failed.
fn trace_read(fd: &Result<OwnedFd, Errno>, r: &Option<nix::Result<usize>>, len: usize) {
    let (Ok(fd), Some(r)) = (fd, r) else {
        return;
    };
    let buf = if matches!(r, Ok(0)) { "\"\"" } else { "0x…" };
    trace::record(
        "read",
        format!("{}, {buf}, {len}", fd.as_raw_fd()),
        trace::ret(r),
    );
}

fn parse_opened(line: Option<&str>) -> Result<(u64, i32)> {
    let l = line.unwrap_or("");
    if let Some(rest) = l.strip_prefix("opened ") {
        let mut it = rest.split_whitespace();
        let ms = it.next().and_then(|v| v.parse().ok()).unwrap_or(0);
        let fd = it.next().and_then(|v| v.parse().ok()).unwrap_or(-1);
        return Ok((ms, fd));
    }
    bail!("the FIFO reader could not open the FIFO: {l}")
}

fn split_data(l: &str) -> (String, String) {
    let rest = l.strip_prefix("data ").unwrap_or(l);
    match rest.split_once(' ') {
        Some((c, t)) => (c.to_string(), t.to_string()),
        None => (rest.to_string(), String::new()),
    }
}

/// Quotes a path for a POSIX shell when it needs it.
fn shell_quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(Path::new("/tmp/f")), "/tmp/f");
        assert_eq!(shell_quote(Path::new("/tmp/a b")), "'/tmp/a b'");
        assert_eq!(shell_quote(Path::new("/tmp/it's")), "'/tmp/it'\\''s'");
    }

    #[test]
    fn guard_never_removes_a_replaced_path() {
        let dir = TempDir::new("zombies-test-fifo-guard").unwrap();
        let p = dir.path().join("f");
        let mut g = FifoGuard::create(&p, 0o600, false).unwrap();
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, b"not ours").unwrap();
        assert!(g.remove());
        assert!(p.exists(), "a file the guard did not create was removed");
        std::fs::remove_file(&p).unwrap();
    }
}

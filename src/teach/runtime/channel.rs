//! Pipes between the demo and its children: a [`Channel`] (or a [`Sender`] and a
//! [`Receiver`]) for the lines children report, a [`Gate`] that holds children until the demo
//! lets them go, and a [`Pipe`] whose ends the processes close one by one.
//!
//! Every end is an `OwnedFd`. After fork each process holds its own copy of every end and
//! closes the copies it must not keep by dropping them (`child_side`, `close_read`,
//! `close_write`): a reader sees end of file only once every copy of the write end is closed,
//! so a child that kept one would make its parent wait forever.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::{Interrupted, Runtime};

/// A pipe whose two ends are closed one at a time, each by dropping it.
pub(crate) struct Pipe {
    rd: Option<OwnedFd>,
    wr: Option<OwnedFd>,
}

impl Pipe {
    /// pipe2(O_CLOEXEC): both ends close on exec, which is how a parent learns that a child's
    /// exec succeeded.
    pub(crate) fn new() -> Result<Pipe> {
        let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 failed")?;
        Ok(Pipe::from_ends(rd, wr))
    }

    /// A pipe made by the caller (the pipe demo makes its own, to show the call).
    pub(crate) fn from_ends(rd: OwnedFd, wr: OwnedFd) -> Pipe {
        Pipe {
            rd: Some(rd),
            wr: Some(wr),
        }
    }

    /// The read end, unless this process closed it.
    pub(crate) fn reader(&self) -> Option<BorrowedFd<'_>> {
        self.rd.as_ref().map(AsFd::as_fd)
    }

    /// The write end, unless this process closed it.
    pub(crate) fn writer(&self) -> Option<BorrowedFd<'_>> {
        self.wr.as_ref().map(AsFd::as_fd)
    }

    /// Closes this process's copy of the read end.
    pub(crate) fn close_read(&mut self) {
        self.rd = None;
    }

    /// Closes this process's copy of the write end.
    pub(crate) fn close_write(&mut self) {
        self.wr = None;
    }

    /// Reads into `buf`, retrying when a signal interrupts the read. Blocks: for children.
    pub(crate) fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let fd = self.reader().ok_or(Errno::EBADF)?;
        loop {
            match nix::unistd::read(fd, buf) {
                Err(Errno::EINTR) => {}
                r => return r,
            }
        }
    }

    /// Writes all of `bytes` (one write(2) below PIPE_BUF: lines from several writers do not
    /// mix).
    pub(crate) fn write_all(&self, bytes: &[u8]) -> Result<(), Errno> {
        let fd = self.writer().ok_or(Errno::EBADF)?;
        let mut off = 0;
        while off < bytes.len() {
            match nix::unistd::write(fd, &bytes[off..]) {
                Ok(n) => off += n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The reading end of a pipe children report on: lines of text (or JSON), read with a
/// timeout that Ctrl-C cuts short.
pub(crate) struct Receiver {
    fd: OwnedFd,
    buf: Vec<u8>,
}

/// The writing end, for the children. Writing is best effort: a parent that stopped reading
/// notices the silence instead.
pub(crate) struct Sender {
    /// None for a sender whose end was closed already: it sends nothing.
    fd: Option<OwnedFd>,
}

/// A one-way message pipe from children to the demo (both ends close on exec, which is how
/// a parent learns that an exec succeeded).
pub(crate) fn channel() -> Result<(Sender, Receiver)> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 failed")?;
    Ok((
        Sender { fd: Some(w) },
        Receiver {
            fd: r,
            buf: Vec::new(),
        },
    ))
}

impl Receiver {
    /// Reads one line without its newline, waiting up to `timeout`; None when every writer
    /// closed the pipe (or exec'd).
    pub(crate) fn line(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Ok(Some(
                    String::from_utf8_lossy(&line[..line.len() - 1]).into_owned(),
                ));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !rt.wait_readable(self.fd.as_fd(), Some(left))? {
                bail!(
                    "no message from a child process within {timeout:?}; the machine may be overloaded, try again"
                );
            }
            let mut chunk = [0u8; 4096];
            match nix::unistd::read(&self.fd, &mut chunk) {
                Ok(0) => return Ok(None),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Err(e) => return Err(e).context("cannot read from a child's pipe"),
            }
        }
    }

    /// Reads one JSON message, or None at end of file.
    pub(crate) fn json_or_eof(
        &mut self,
        rt: &Runtime,
        timeout: Duration,
    ) -> Result<Option<serde_json::Value>> {
        match self.line(rt, timeout)? {
            None => Ok(None),
            Some(line) => serde_json::from_str(&line)
                .map(Some)
                .with_context(|| format!("bad message from a child: {line}")),
        }
    }

    /// Reads one JSON message a child must send.
    pub(crate) fn json(&mut self, rt: &Runtime, timeout: Duration) -> Result<serde_json::Value> {
        match self.json_or_eof(rt, timeout)? {
            Some(v) => Ok(v),
            None => bail!("a child closed its pipe before sending its message (did it crash?)"),
        }
    }

    /// A line if one arrives within `timeout` (None on silence or EOF).
    pub(crate) fn quiet_for(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        match self.line(rt, timeout) {
            Ok(line) => Ok(line),
            Err(e) if e.downcast_ref::<Interrupted>().is_some() => Err(e),
            Err(_) => Ok(None),
        }
    }
}

impl Sender {
    /// Sends one JSON message.
    pub(crate) fn send(&self, v: &serde_json::Value) {
        self.line(&v.to_string());
    }

    /// Sends one line of text, all of it in one write(2) (below PIPE_BUF, so lines from
    /// several children do not mix).
    pub(crate) fn line(&self, line: &str) {
        let Some(fd) = &self.fd else { return };
        let mut msg = line.as_bytes().to_vec();
        msg.push(b'\n');
        let mut off = 0;
        while off < msg.len() {
            match nix::unistd::write(fd, &msg[off..]) {
                Ok(n) => off += n,
                Err(Errno::EINTR) => {}
                Err(_) => return,
            }
        }
    }

    /// The descriptor, for code that must make the raw write(2) itself (a signal handler,
    /// a thread made with a raw clone).
    pub(crate) fn as_fd(&self) -> Option<BorrowedFd<'_>> {
        self.fd.as_ref().map(AsFd::as_fd)
    }
}

/// A report pipe the demo keeps both ends of until it has forked the children that write:
/// then `close_write`, so that the read end sees EOF when they are all gone.
pub(crate) struct Channel {
    rx: Option<Receiver>,
    tx: Option<Sender>,
}

impl Channel {
    pub(crate) fn new() -> Result<Channel> {
        let (tx, rx) = channel()?;
        Ok(Channel {
            rx: Some(rx),
            tx: Some(tx),
        })
    }

    /// In a child: closes this copy of the read end and takes the write end to report on.
    pub(crate) fn child_side(&mut self) -> Sender {
        self.rx = None;
        self.tx.take().unwrap_or(Sender { fd: None })
    }

    /// Closes the demo's copy of the write end.
    pub(crate) fn close_write(&mut self) {
        self.tx = None;
    }

    fn rx(&mut self) -> Result<&mut Receiver> {
        self.rx
            .as_mut()
            .context("the report pipe's read end is closed in this process")
    }

    /// Reads one line (see [`Receiver::line`]).
    pub(crate) fn recv(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        self.rx()?.line(rt, timeout)
    }

    /// A line if one arrives within `timeout` (None on silence or EOF).
    pub(crate) fn quiet_for(&mut self, rt: &Runtime, timeout: Duration) -> Result<Option<String>> {
        self.rx()?.quiet_for(rt, timeout)
    }
}

/// Holds children until the demo lets them go: a child calls `child_side` first thing, then
/// `wait`s; the demo `send`s one byte per waiter and step, or `open`s the gate for good. A
/// demo that dies closes its end too, so its children never wait for ever.
pub(crate) struct Gate {
    pipe: Pipe,
}

impl Gate {
    pub(crate) fn new() -> Result<Gate> {
        Ok(Gate { pipe: Pipe::new()? })
    }

    /// In a child: blocks until the demo sends a byte (true) or the gate is closed, by the
    /// demo or by its death (false).
    pub(crate) fn wait(&self) -> bool {
        let mut b = [0u8; 1];
        self.pipe.read(&mut b) == Ok(1)
    }

    /// In a child: closes this copy of the writing end, so that the demo's death is seen
    /// as EOF. Call it first thing in a child that will wait on the gate.
    pub(crate) fn child_side(&mut self) {
        self.pipe.close_write();
    }

    /// In the demo, once the children are forked: closes its copy of the reading end.
    pub(crate) fn parent_side(&mut self) {
        self.pipe.close_read();
    }

    /// Lets one waiting child through one `wait`, keeping the gate for the next.
    pub(crate) fn send(&self) -> Result<()> {
        self.pipe
            .write_all(b"g")
            .map_err(std::io::Error::from)
            .context("cannot write to a gate pipe")
    }

    /// Opens the gate for `waiters` processes, then closes it: any later `wait` returns.
    pub(crate) fn open(&mut self, waiters: usize) -> Result<()> {
        for _ in 0..waiters {
            self.send()?;
        }
        self.pipe.close_write();
        Ok(())
    }

    /// The reading end, for code that must make the raw read(2) itself (a thread made with
    /// a raw clone, which may not touch Rust's thread-local state).
    pub(crate) fn reader(&self) -> Option<BorrowedFd<'_>> {
        self.pipe.reader()
    }
}

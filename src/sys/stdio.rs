//! The C library's stdio, for the demo of exit(3) against _exit(2): a line left in a `FILE`'s
//! buffer is written by whoever flushes it, so a process that forks with unflushed output and
//! then has both copies call exit(3) writes it twice.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::os::fd::{IntoRawFd, OwnedFd};

/// Opens `fd` as a C `FILE` (fdopen, fully buffered as stdio buffers a pipe) and puts `text`
/// in its buffer without flushing it. The `FILE` is left open on purpose: exit(3) flushes
/// every open stream, _exit(2) throws the buffer away.
pub(crate) fn leave_in_stdio_buffer(fd: OwnedFd, text: &CStr) -> io::Result<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: raw is an open descriptor whose ownership passes to the FILE (fdopen takes it
    // over; on failure we close it ourselves); the mode is a NUL-terminated literal.
    let file = unsafe { libc::fdopen(raw, c"w".as_ptr()) };
    if file.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopen failed, so raw is still ours to close.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    // SAFETY: file is a valid FILE from fdopen; text is NUL-terminated. The FILE is never
    // closed here: stdio keeps it on its list of open streams, which exit(3) flushes.
    if unsafe { libc::fputs(text.as_ptr(), file) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// exit(3): runs the atexit handlers, flushes and closes every stdio stream, then makes the
/// exit_group system call. In a forked child this flushes the copy of the buffers it
/// inherited.
pub(crate) fn exit_flushing(code: i32) -> ! {
    // SAFETY: exit has no preconditions and does not return; it is called in a forked child
    // of a single-threaded process, so no other thread can hold a stdio lock.
    unsafe { libc::exit(code) }
}

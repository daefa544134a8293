//! What the POSIX variants of the demos share: the name of an object this process created
//! (a queue, a semaphore or a shared memory object), unlinked on Drop, and the lstat evidence
//! of a file in /dev/shm.

use std::ffi::CString;

use nix::errno::Errno;

use crate::ipcs::sysvipc;
use crate::teach::narrate::{Step, errno_text};
use crate::teach::trace;

/// Which unlink call of the POSIX IPC API removes a name.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unlink {
    /// mq_unlink
    Queue,
    /// sem_unlink
    Semaphore,
    /// shm_unlink
    Shm,
}

/// A POSIX IPC name this process created, unlinked once, by `unlink` or on Drop. Like the
/// System V guards it does nothing in a forked child, which would otherwise unlink the name
/// from under the parent.
pub(crate) struct Name {
    name: CString,
    unlink: Unlink,
    owner: u32,
    unlinked: bool,
}

impl Name {
    /// The name as C wants it; EINVAL when it holds a NUL.
    pub(crate) fn c_string(name: &str) -> Result<CString, Errno> {
        CString::new(name).map_err(|_| Errno::EINVAL)
    }

    /// Takes charge of a name the caller has just created (never before: a failed O_EXCL
    /// open means the name belongs to someone else).
    pub(crate) fn created(name: CString, unlink: Unlink) -> Name {
        Name {
            name,
            unlink,
            owner: std::process::id(),
            unlinked: false,
        }
    }

    /// Whether this is the process that created the name (not a forked copy).
    pub(crate) fn is_owner(&self) -> bool {
        self.owner == std::process::id()
    }

    pub(crate) fn unlink(&mut self) -> Result<(), Errno> {
        if !self.unlinked {
            let name = self.name.as_c_str();
            let shown = name.to_string_lossy();
            // What strace shows: mq_unlink is a system call; sem_unlink and shm_unlink are the
            // C library's unlink of the file in /dev/shm.
            let (call, args, r) = match self.unlink {
                Unlink::Queue => (
                    "mq_unlink",
                    format!("\"{}\"", shown.trim_start_matches('/')),
                    nix::mqueue::mq_unlink(name),
                ),
                Unlink::Semaphore => (
                    "unlink",
                    format!("\"/dev/shm/sem.{}\"", shown.trim_start_matches('/')),
                    crate::sys::semaphore::unlink(name),
                ),
                Unlink::Shm => (
                    "unlink",
                    format!("\"/dev/shm{shown}\""),
                    nix::sys::mman::shm_unlink(name),
                ),
            };
            trace::record(call, args, trace::ret(&r.map(|()| 0)));
            r?;
            self.unlinked = true;
        }
        Ok(())
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        if self.is_owner() {
            let _ = self.unlink();
        }
    }
}

/// `lstat PATH` of a file in /dev/shm as a checked fact: `present` expects a regular file of
/// `size` bytes (any size when None), else ENOENT.
pub(crate) fn shm_file_fact(
    s: &mut Step,
    path: &str,
    present: bool,
    size: Option<u64>,
    meaning: &str,
) {
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::symlink_metadata(path);
    let holds = match &md {
        Ok(md) => present && md.is_file() && size.is_none_or(|n| md.size() == n),
        Err(e) => !present && e.kind() == std::io::ErrorKind::NotFound,
    };
    let value = match &md {
        Ok(md) => format!("-{} {} bytes", sysvipc::rwx(md.mode() & 0o777), md.size()),
        Err(e) => errno_text(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
    };
    s.fact_mut(
        format!("lstat {path}"),
        "mode",
        value,
        meaning.to_string(),
        holds,
    );
}

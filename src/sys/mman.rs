//! Memory mappings for the demos: anonymous pages (private, to show copy-on-write; shared, to
//! share a counter with children) and shared mappings of a file (POSIX shared memory), each
//! unmapped on Drop. Other processes write shared pages at any time, so their bytes are handed
//! out as atomics: reading memory another process writes is then never a data race.
#![allow(unsafe_code)]

use std::num::NonZeroUsize;
use std::os::fd::BorrowedFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};

/// A mapping made by this process, unmapped on Drop by that process only (a forked child
/// holds a copy of the guard, and its own copy of the mapping, which `_exit` unmaps).
pub(crate) struct Mapping {
    ptr: NonNull<libc::c_void>,
    len: usize,
    owner: u32,
}

/// Whether writes to an anonymous mapping are seen by the children forked after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// MAP_PRIVATE: a child's write makes the kernel copy the page (copy-on-write).
    Private,
    /// MAP_SHARED: one page for the parent and every child.
    Shared,
}

impl Mapping {
    /// mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_ANONYMOUS|sharing, -1, 0).
    pub(crate) fn anonymous(len: usize, sharing: Sharing) -> Result<Mapping, Errno> {
        let size = Mapping::size(len)?;
        let flags = match sharing {
            Sharing::Private => MapFlags::MAP_PRIVATE,
            Sharing::Shared => MapFlags::MAP_SHARED,
        };
        // SAFETY: a new mapping at an address the kernel picks: no memory of ours changes.
        let ptr = unsafe {
            nix::sys::mman::mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                flags,
            )
        }?;
        Ok(Mapping::new(ptr, len))
    }

    /// mmap(NULL, len, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0) of a file at least `len`
    /// bytes long.
    pub(crate) fn shared_file(fd: BorrowedFd<'_>, len: usize) -> Result<Mapping, Errno> {
        let size = Mapping::size(len)?;
        // Pages past the end of the file would raise SIGBUS when touched.
        if (nix::sys::stat::fstat(fd)?.st_size as u64) < len as u64 {
            return Err(Errno::EINVAL);
        }
        // SAFETY: a new mapping at an address the kernel picks: no memory of ours changes.
        let ptr = unsafe {
            nix::sys::mman::mmap(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
                fd,
                0,
            )
        }?;
        Ok(Mapping::new(ptr, len))
    }

    /// Every mapping holds at least a [`Mapping::word`].
    fn size(len: usize) -> Result<NonZeroUsize, Errno> {
        NonZeroUsize::new(len)
            .filter(|n| n.get() >= 8)
            .ok_or(Errno::EINVAL)
    }

    fn new(ptr: NonNull<libc::c_void>, len: usize) -> Mapping {
        Mapping {
            ptr,
            len,
            owner: std::process::id(),
        }
    }

    /// madvise(MADV_NOHUGEPAGE): keeps the mapping in 4 KiB pages, each with its own page
    /// table entry, even where transparent huge pages are enabled (a demo counts the page
    /// tables it needs).
    pub(crate) fn no_huge_pages(&self) -> Result<(), Errno> {
        // SAFETY: advice about a range this guard mapped and still owns; it changes how the
        // kernel backs the pages, not their contents.
        unsafe {
            nix::sys::mman::madvise(
                self.ptr,
                self.len,
                nix::sys::mman::MmapAdvise::MADV_NOHUGEPAGE,
            )
        }
    }

    /// Where the mapping starts in this process's memory.
    pub(crate) fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// The mapping's bytes, as atomics (see the module documentation).
    pub(crate) fn bytes(&self) -> &[AtomicU8] {
        // SAFETY: the mapping is len bytes, readable and writable, until Drop unmaps it, which
        // cannot happen while this borrow of self lives; AtomicU8 has the layout of u8.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<AtomicU8>(), self.len) }
    }

    /// The first eight bytes as one number (a counter several processes share).
    pub(crate) fn word(&self) -> &AtomicU64 {
        // SAFETY: mappings start on a page boundary, so the pointer is aligned for u64, and
        // they are at least 8 bytes long (Mapping::size); AtomicU64 has the layout of u64.
        unsafe { &*self.ptr.as_ptr().cast::<AtomicU64>() }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if self.owner == std::process::id() {
            // SAFETY: unmapping exactly what we mapped; no borrow of it outlives self.
            let _ = unsafe { nix::sys::mman::munmap(self.ptr, self.len) };
        }
    }
}

/// Writes `data` and a terminating NUL at the start of shared memory (cut to fit).
pub(crate) fn write_text(bytes: &[AtomicU8], data: &[u8]) {
    let n = data.len().min(bytes.len().saturating_sub(1));
    for (cell, &b) in bytes.iter().zip(&data[..n]) {
        cell.store(b, Ordering::Relaxed);
    }
    if let Some(end) = bytes.get(n) {
        end.store(0, Ordering::Release);
    }
}

/// The NUL-terminated text at the start of shared memory.
pub(crate) fn read_text(bytes: &[AtomicU8]) -> String {
    let text: Vec<u8> = bytes
        .iter()
        .map(|c| c.load(Ordering::Acquire))
        .take_while(|&b| b != 0)
        .collect();
    String::from_utf8_lossy(&text).into_owned()
}

/// The size of a memory page (sysconf(_SC_PAGESIZE)).
pub(crate) fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|&n| n > 0)
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_is_cut_to_fit() {
        let m = Mapping::anonymous(page_size(), Sharing::Private).unwrap();
        write_text(m.bytes(), b"hello");
        assert_eq!(read_text(m.bytes()), "hello");
        assert_eq!(m.word().load(Ordering::Relaxed) & 0xff, u64::from(b'h'));
        let tiny: Vec<AtomicU8> = (0..3).map(|_| AtomicU8::new(1)).collect();
        write_text(&tiny, b"hello");
        assert_eq!(read_text(&tiny), "he");
    }

    #[test]
    fn a_short_file_cannot_be_mapped_past_its_end() {
        let f = std::fs::File::open("/proc/self/status").unwrap();
        use std::os::fd::AsFd;
        assert!(Mapping::shared_file(f.as_fd(), 1 << 20).is_err());
    }
}

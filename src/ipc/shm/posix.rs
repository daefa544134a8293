//! The POSIX backend of the shared memory story: shm_open and ftruncate make a file in
//! /dev/shm (a tmpfs), mmap(MAP_SHARED) puts it in memory, shm_unlink removes the name.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::{SIZE, maps_fact};
use crate::ipc::posix::{Name, Unlink, shm_file_fact};
use crate::ipc::sysv::io_err;
use crate::sys::mman::Mapping;
use crate::teach::narrate::{Object, Step};
use crate::teach::{probe, trace};

pub(super) struct Segment {
    /// "/zombies-demo-PID-shm"
    name: String,
    /// Its file: /dev/shm/zombies-demo-PID-shm.
    file: String,
    obj: Option<PosixShm>,
}

impl Segment {
    /// The descriptor number, for the narration.
    fn fd(&self) -> i32 {
        self.obj.as_ref().map_or(-1, |o| o.fd.as_raw_fd())
    }
}

impl super::Segment for Segment {
    const TITLE: &'static str = "POSIX shared memory";
    const INTRO: &'static str = "shm_open opens a named object, a file in /dev/shm (a tmpfs: memory, not disk); \
         ftruncate sets its size and mmap(MAP_SHARED) puts it in memory. Any process that \
         knows the name and has permission can map the same pages.";
    const SUMMARY: &'static str =
        "A named object in /dev/shm mapped by two processes, then unlinked; children reaped.";
    const FORKS_FIRST: bool = true;
    const CHILD_UNMAPS: bool = false;

    type Mapped = Mapping;

    fn new() -> Segment {
        let short = crate::ipc::demo_name("shm");
        Segment {
            name: format!("/{short}"),
            file: format!("/dev/shm/{short}"),
            obj: None,
        }
    }

    fn create(&mut self) -> Result<()> {
        let name = &self.name;
        let obj = PosixShm::create(name, SIZE)
            .map_err(io_err)
            .with_context(|| format!("shm_open({name}, O_CREAT|O_EXCL); is /dev/shm mounted?"))?;
        self.obj = Some(obj);
        Ok(())
    }

    fn object(&self) -> Object {
        Object::named("posix-shm", self.name.clone())
    }

    fn created(&self, me: i32) -> Step {
        let (name, fd) = (&self.name, self.fd());
        let mut s = Step::new("Create a named object and size it")
            .call(
                format!("shm_open(\"{name}\", O_CREAT|O_EXCL|O_RDWR, 0600); ftruncate({fd}, 4096)"),
                format!("{fd}, 0"),
            )
            .explain("A file in /dev/shm, opened like any file.");
        shm_file_fact(
            &mut s,
            &self.file,
            true,
            Some(SIZE as u64),
            "the object: 4096 bytes after ftruncate",
        );
        let target = probe::fd_target(me, fd);
        s.fact_mut(
            format!("/proc/{me}/fd/{fd}"),
            "link",
            target.clone().unwrap_or_default(),
            "our descriptor: the file in /dev/shm",
            target.as_deref() == Some(self.file.as_str()),
        );
        s
    }

    fn map(&self) -> Result<Mapping> {
        let obj = self.obj.as_ref().context("the object was not made")?;
        map_traced(obj.fd.as_fd()).map_err(io_err).context("mmap")
    }

    fn mapped(&self, m: &Mapping, me: i32) -> Step {
        let mut s = Step::new("Map it")
            .call(
                format!(
                    "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, {}, 0)",
                    self.fd()
                ),
                format!("{:#x}", m.addr()),
            )
            .explain("MAP_SHARED: writes go to the object, where every mapper sees them.");
        maps_fact(
            &mut s,
            me,
            &self.file,
            false,
            "the object in our address space (s: shared)",
        );
        s
    }

    fn map_in_child(&self) -> Result<Mapping, String> {
        let fd = nix::sys::mman::shm_open(self.name.as_str(), OFlag::O_RDWR, Mode::empty());
        trace::record(
            "openat",
            format!("AT_FDCWD, \"{}\", O_RDWR|O_NOFOLLOW|O_CLOEXEC", self.file),
            trace::ret(&fd.as_ref().map(|f| f.as_raw_fd()).map_err(|e| *e)),
        );
        let fd = fd.map_err(|e| format!("error shm_open {e:?}"))?;
        map_traced(fd.as_fd()).map_err(|_| "error mmap".to_string())
    }

    fn child_wrote(&self, cpid: i32, _message: &str) -> Step {
        let mut s = Step::new("A child opens it by name, maps it and writes; the demo reads")
            .call(
                format!(
                    "shm_open(\"{}\", O_RDWR); mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0); strcpy in PID {cpid}",
                    self.name
                ),
                "0",
            )
            .explain(
                "The child was forked before the object existed; it found it by name. Two \
                 mappings of one object: the demo reads the child's words directly.",
            );
        maps_fact(
            &mut s,
            cpid,
            &self.file,
            false,
            "the same object in the child",
        );
        s
    }

    fn remove(&mut self) -> Result<()> {
        if let Some(obj) = &mut self.obj {
            obj.unlink().map_err(io_err).context("shm_unlink")?;
        }
        Ok(())
    }

    fn removed(&self) -> Step {
        Step::new("Unlink it while mapped")
            .call(format!("shm_unlink(\"{}\")", self.name), "0")
            .explain(
                "The name leaves /dev/shm at once; the memory lives until the last mapping and \
                 descriptor go (the maps line now says deleted).",
            )
            .explain(crate::ipc::POSIX_LIFETIME)
    }

    fn removed_evidence(&self, s: &mut Step, me: i32) {
        shm_file_fact(s, &self.file, false, None, "the name is gone");
        maps_fact(
            s,
            me,
            &self.file,
            true,
            "still mapped here, its name deleted",
        );
    }
}

/// mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0), recorded. (The fstat that
/// checks the file is long enough first is left out: a safety check of the demo's own.)
fn map_traced(fd: std::os::fd::BorrowedFd<'_>) -> Result<Mapping, Errno> {
    let m = Mapping::shared_file(fd, SIZE);
    trace::record(
        "mmap",
        format!(
            "NULL, {SIZE}, PROT_READ|PROT_WRITE, MAP_SHARED, {}, 0",
            fd.as_raw_fd()
        ),
        trace::ret(
            &m.as_ref()
                .map(|m| format!("{:#x}", m.addr()))
                .map_err(|e| *e),
        ),
    );
    m
}

/// A POSIX shared memory object this process created: Drop unlinks it.
struct PosixShm {
    /// Declared first: unlinked before the descriptor closes.
    name: Name,
    fd: OwnedFd,
}

impl PosixShm {
    fn create(name: &str, len: usize) -> Result<PosixShm, Errno> {
        let cname = Name::c_string(name)?;
        // shm_open sets FD_CLOEXEC itself.
        let fd = nix::sys::mman::shm_open(
            cname.as_c_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
            Mode::from_bits_truncate(0o600),
        );
        // glibc's shm_open is an open of the file in /dev/shm (2.36, seen with strace).
        trace::record(
            "openat",
            format!(
                "AT_FDCWD, \"/dev/shm{name}\", O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600"
            ),
            trace::ret(&fd.as_ref().map(|f| f.as_raw_fd()).map_err(|e| *e)),
        );
        let me = PosixShm {
            name: Name::created(cname, Unlink::Shm),
            fd: fd?,
        };
        let r = nix::unistd::ftruncate(&me.fd, len as libc::off_t);
        trace::record(
            "ftruncate",
            format!("{}, {len}", me.fd.as_raw_fd()),
            trace::ret(&r.map(|()| 0)),
        );
        r?;
        Ok(me)
    }

    fn unlink(&mut self) -> Result<(), Errno> {
        self.name.unlink()
    }
}

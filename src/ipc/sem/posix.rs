//! The POSIX backend of the semaphore story: a named semaphore (sem_open), its file in
//! /dev/shm and the mapping of it in our memory, sem_wait and sem_post around each
//! increment, sem_getvalue.

use std::ffi::CString;

use anyhow::{Context, Result};
use nix::errno::Errno;

use super::{ROUNDS, Said, Take};
use crate::ipc::posix::{Name, Unlink, shm_file_fact};
use crate::ipc::sysv::io_err;
use crate::sys::semaphore::NamedSemaphore;
use crate::teach::narrate::{Object, Step};
use crate::teach::{probe, trace};

pub(super) struct Semaphore {
    /// "/zombies-demo-PID-sem"
    name: String,
    /// The file glibc keeps it in: /dev/shm/sem.zombies-demo-PID-sem.
    file: String,
    /// Closed before `unlink` drops and removes the name.
    sem: NamedSemaphore,
    unlink: Name,
}

impl Take for NamedSemaphore {
    fn take(&self) -> Result<(), Errno> {
        self.wait()
    }
    fn give(&self) -> Result<(), Errno> {
        self.post()
    }
}

impl super::Semaphore for Semaphore {
    const TITLE: &'static str = "a POSIX named semaphore";
    const INTRO: &'static str = "sem_open finds a semaphore by name; glibc keeps it in a small file in /dev/shm that \
         every user maps. The same race as the System V demo, guarded by sem_wait and sem_post.";
    const SHOWS_MAPPING: bool = false;
    const UNGUARDED: Said = Said {
        title: "Two processes increment a shared counter without it",
        explain: "Each increment reads the counter and writes it back plus one. Both processes are \
             pinned to one CPU and call sched_yield() between the read and the write of every \
             increment, so the other one runs inside that window: both read the same value, one \
             write overwrites the other, and an update is lost, on every run.",
    };
    const DEAD_HOLDER: Said = Said {
        title: "A holder dies: the named semaphore stays taken",
        explain: "POSIX semaphores have no SEM_UNDO: the value stays 0 and later sem_waits would \
             block forever. The demo posts it back.",
    };
    const REPAIRED: &'static str = "free after sem_post";
    const SUMMARY_END: &'static str =
        "a dead holder keeps a POSIX semaphore. Unlinked; children reaped.";

    type InChild = NamedSemaphore;

    fn create(_me: i32) -> Result<Semaphore> {
        let short = crate::ipc::demo_name("sem");
        let name = format!("/{short}");
        let cname = Name::c_string(&name)
            .map_err(io_err)
            .context("a semaphore name")?;
        let file = format!("/dev/shm/sem.{short}");
        let fd = next_fd();
        let sem = NamedSemaphore::create(&cname, 0o600, 1)
            .map_err(io_err)
            .with_context(|| format!("sem_open({name}, O_CREAT|O_EXCL); is /dev/shm mounted?"))?;
        trace_create(&sem, fd, &file);
        Ok(Semaphore {
            file,
            name,
            sem,
            unlink: Name::created(cname, Unlink::Semaphore),
        })
    }

    fn object(&self) -> Object {
        Object::named("posix-sem", self.name.clone())
    }

    fn created(&self, me: i32) -> Step {
        let mut s = Step::new("Create a named semaphore, value 1")
            .call(
                format!("sem_open(\"{}\", O_CREAT|O_EXCL, 0600, 1)", self.name),
                "a sem_t *",
            )
            .explain("The name becomes a file in /dev/shm, mapped into our memory.");
        shm_file_fact(&mut s, &self.file, true, None, "the semaphore's file");
        for l in probe::maps_lines(me, "/dev/shm/sem.") {
            s.show_mut(
                format!("/proc/{me}/maps"),
                "mapping",
                l,
                "mapped shared; glibc built the file under a temporary name and linked it into \
                 place, so the mapping shows that name, deleted",
            );
        }
        s
    }

    fn value_fact(&self, s: &mut Step, want: i32, meaning: &str) {
        let v = self.sem.value().unwrap_or(-1);
        s.fact_mut(
            "sem_getvalue",
            "value",
            v.to_string(),
            meaning.to_string(),
            v == want,
        );
    }

    fn in_child(&self) -> Result<NamedSemaphore, Errno> {
        self.open_traced()
    }

    fn guarded(&self, pids: [i32; 2]) -> Step {
        Step::new("With sem_wait and sem_post around each increment")
            .syscall(format!(
                "sched_setaffinity(0, {{one CPU}}); sem_open(\"{}\", 0), then {ROUNDS} times: sem_wait; v = counter; sched_yield(); counter = v + 1; sem_post, in PIDs {} and {}",
                self.name, pids[0], pids[1]
            ))
            .explain(
                "Each child opened the semaphore by name. No update is lost. An uncontended \
                 sem_wait is an atomic instruction in user space; only waiting enters the kernel \
                 (futex).",
            )
    }

    fn hold(&self) -> bool {
        // Closing it again would not give it back: only sem_post does.
        self.open_traced().is_ok_and(|s| s.wait().is_ok())
    }

    fn hold_call(&self, pid: i32) -> String {
        format!("sem_wait in PID {pid}")
    }

    fn repair(&self) -> Result<()> {
        self.sem.post().map_err(io_err).context("sem_post")
    }

    fn remove(&mut self) -> Result<Step> {
        self.unlink.unlink().map_err(io_err).context("sem_unlink")?;
        let mut s = Step::new("Unlink the semaphore")
            .call(format!("sem_unlink(\"{}\")", self.name), "0")
            .explain("The file leaves /dev/shm at once; our mapping goes with sem_close.")
            .explain(crate::ipc::POSIX_LIFETIME);
        shm_file_fact(&mut s, &self.file, false, None, "gone");
        Ok(s)
    }
}

impl Semaphore {
    fn c_name(&self) -> CString {
        CString::new(self.name.as_str()).unwrap_or_default()
    }

    /// sem_open(name, 0), with the system calls glibc makes for it (2.36, seen with strace):
    /// it opens the file, and maps it only when this process has no mapping of it yet (glibc
    /// keeps a table of the semaphores it mapped, which a forked child inherits with the
    /// memory), then closes the descriptor.
    fn open_traced(&self) -> Result<NamedSemaphore, Errno> {
        let fd = next_fd();
        let r = NamedSemaphore::open(&self.c_name());
        let Some(fd) = fd else {
            return r;
        };
        let opened = r.as_ref().map(|_| fd).map_err(|e| *e);
        trace::record(
            "openat",
            format!("AT_FDCWD, \"{}\", O_RDWR|O_NOFOLLOW", self.file),
            trace::ret(&opened),
        );
        if let Ok(sem) = &r {
            if sem.addr() != self.sem.addr() {
                trace::record(
                    "mmap",
                    format!("NULL, {SEM_T}, PROT_READ|PROT_WRITE, MAP_SHARED, {fd}, 0"),
                    format!("{:#x}", sem.addr()),
                );
            }
            trace::record("close", fd.to_string(), "0");
        }
        r
    }
}

/// The size glibc maps for a semaphore: its file holds one sem_t.
const SEM_T: usize = std::mem::size_of::<libc::sem_t>();

/// The descriptor the next open will return: the lowest free one (POSIX has open return
/// it), found by opening /dev/null once (plumbing, not recorded). glibc's sem_open closes
/// the descriptor it opens before returning, so the demo cannot ask it afterwards.
fn next_fd() -> Option<i32> {
    use std::os::fd::AsRawFd;
    std::fs::File::open("/dev/null").ok().map(|f| f.as_raw_fd())
}

/// The system calls of glibc's sem_open(O_CREAT|O_EXCL) (2.36, seen with strace): the
/// semaphore is built in a file with a random name, mapped, and linked into place under its
/// own name, so that no process ever opens a half-made one; the random name is unlinked and
/// the descriptor closed. The random name is the one /proc/self/maps shows for the mapping
/// (deleted); `fd` was the lowest free descriptor. Where either is unknown nothing is
/// recorded rather than a guess. (Before that, glibc also writes the initial sem_t into the
/// file and fstats it; those are left out.)
fn trace_create(sem: &NamedSemaphore, fd: Option<i32>, file: &str) {
    if !trace::on() {
        return;
    }
    let me = std::process::id() as i32;
    let temp = probe::maps_lines(me, "/dev/shm/sem.")
        .into_iter()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let start = f.next()?.split('-').next()?;
            let path = f.nth(4)?.to_string();
            (usize::from_str_radix(start, 16).ok()? == sem.addr()).then_some(path)
        });
    let (Some(fd), Some(temp)) = (fd, temp) else {
        return;
    };
    trace::record(
        "openat",
        format!("AT_FDCWD, \"{temp}\", O_RDWR|O_CREAT|O_EXCL, 0600"),
        fd.to_string(),
    );
    trace::record(
        "mmap",
        format!("NULL, {SEM_T}, PROT_READ|PROT_WRITE, MAP_SHARED, {fd}, 0"),
        format!("{:#x}", sem.addr()),
    );
    trace::record("link", format!("\"{temp}\", \"{file}\""), "0");
    trace::record("unlink", format!("\"{temp}\""), "0");
    trace::record("close", fd.to_string(), "0");
}

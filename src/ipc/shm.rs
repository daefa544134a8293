//! `ipc demo shm`: a System V shared memory segment attached by a parent and a child: the
//! child writes, the parent reads, nattch in /proc/sysvipc/shm goes 1, 2, 1, and IPC_RMID
//! while attached marks it for destruction (SHM_DEST). `--posix`: shm_open and mmap, a file
//! in /dev/shm.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::sys::wait::WaitStatus;

use super::posix::{Name, Unlink, shm_file_fact};
use super::sysv::{ShmSegment, io_err, key_hex};
use super::sysvipc::{self, SHM_DEST};
use super::{Want, is, removed_fact, row_facts};
use crate::sys::mman::{self, Mapping};
use crate::sys::sysv::ShmAttach;
use crate::teach::lab::Lab;
use crate::teach::narrate::{Narrator, Object, Step};
use crate::teach::probe;
use crate::teach::runtime::{Channel, Gate, Runtime, Sender, describe};

const SIZE: usize = 4096;

fn row_ev(s: &mut Step, id: i32, wants: &[(&str, Want)]) {
    let me = std::process::id() as i32;
    let who = |pid: i32| {
        if pid == 0 {
            "nobody yet".to_string()
        } else if pid == me {
            "this demo".to_string()
        } else if probe::state(pid).is_some() {
            format!("PID {pid}, alive")
        } else {
            format!("PID {pid}, exited")
        }
    };
    let row = sysvipc::shm_row(id);
    let field = row.as_ref().map(|r| {
        move |f: &str| match f {
            "key" => (
                r.key.to_string(),
                if r.key == 0 {
                    "0 = IPC_PRIVATE: removed, no longer found by key".to_string()
                } else {
                    format!("the key ({})", key_hex(r.key))
                },
            ),
            "shmid" => (r.id.to_string(), "the identifier".to_string()),
            "perms" => (
                format!("{:o}", r.perms),
                if r.perms & SHM_DEST != 0 {
                    format!(
                        "{}, plus 1000 = SHM_DEST: destroyed at the last detach",
                        sysvipc::rwx(r.perms)
                    )
                } else {
                    format!("{}: set by the creator", sysvipc::rwx(r.perms))
                },
            ),
            "size" => (r.size.to_string(), "bytes".to_string()),
            "cpid" => (r.cpid.to_string(), format!("creator: {}", who(r.cpid))),
            "lpid" => (
                r.lpid.to_string(),
                format!("last shmat/shmdt: {}", who(r.lpid)),
            ),
            "nattch" => (r.nattch.to_string(), "processes attached".to_string()),
            _ => (String::new(), String::new()),
        }
    });
    row_facts(s, "shm", "shmid", id, field, wants);
}

/// The lines of /proc/PID/maps naming `needle`, as the proof that the object is mapped
/// there shared (`s` in the permissions), or, with `deleted`, mapped under a name that was
/// unlinked.
fn maps_fact(s: &mut Step, pid: i32, needle: &str, deleted: bool, meaning: &str) {
    let lines = probe::maps_lines(pid, needle);
    if lines.is_empty() {
        s.fact_mut(
            format!("/proc/{pid}/maps"),
            format!("no {needle}"),
            meaning.to_string(),
            false,
        );
    }
    for l in lines {
        let shared = l
            .split_whitespace()
            .nth(1)
            .is_some_and(|p| p.ends_with('s'));
        let holds = shared && (!deleted || l.ends_with("(deleted)"));
        s.fact_mut(format!("/proc/{pid}/maps"), l, meaning.to_string(), holds);
    }
}

/// What the demo read from shared memory, as the proof that it is `want`.
fn memory_fact(s: &mut Step, addr: usize, got: &str, want: &str, meaning: &str) {
    s.fact_mut(
        format!("memory at {addr:#x}"),
        format!("\"{got}\""),
        meaning.to_string(),
        got == want,
    );
}

/// The child: attach by id, write, report, wait for "go", detach.
fn sysv_child(id: i32, report: Sender, go: &Gate) -> i32 {
    if !go.wait() {
        return 2;
    }
    let a = match ShmAttach::attach(id, SIZE) {
        Ok(a) => a,
        Err(e) => {
            report.line(&format!("error shmat {e:?}"));
            return 1;
        }
    };
    mman::write_text(
        a.bytes(),
        format!("hello from PID {}", std::process::id()).as_bytes(),
    );
    report.line("written");
    go.wait();
    // Detach explicitly (exit would too) so the demo can show lpid change.
    let _ = a.detach();
    report.line("detached");
    go.wait();
    0
}

pub(super) fn run(lab: &mut Lab) -> Result<String> {
    let (rt, n) = (lab.rt, &mut lab.narrator);
    if lab.posix {
        run_posix(rt, n)
    } else {
        run_sysv(rt, n)
    }
}

fn run_sysv(rt: &Runtime, n: &mut Narrator) -> Result<String> {
    let me = rt.pid();
    n.begin(
        "System V shared memory",
        "The notes: shared memory maps one memory area into several processes. What one writes \
         the others read at once, with no copy and no system call. A segment is found by its \
         identifier and guarded by its creator's permissions, like queues and semaphores.",
    )?;
    let mut seg = ShmSegment::create(SIZE, 0o600)
        .map_err(io_err)
        .context("shmget(IPC_CREAT|IPC_EXCL|0600); is kernel.shmmni exhausted? (ipcs -m)")?;
    let id = seg.id;
    let needle = format!("/SYSV{:08x}", seg.key as u32);
    let object = Object::sysv("sysv-shm", id, key_hex(seg.key));
    n.object("created", &object)?;
    let mut s = Step::new("Create a 4 KiB segment")
        .call(
            format!(
                "shmget({}, 4096, IPC_CREAT|IPC_EXCL|0600)",
                key_hex(seg.key)
            ),
            id.to_string(),
        )
        .explain("It exists, but no process has it in its address space yet.");
    row_ev(
        &mut s,
        id,
        &[
            ("key", is(seg.key)),
            ("shmid", is(id)),
            ("perms", is("600")),
            ("size", is(SIZE)),
            ("cpid", is(me)),
            ("nattch", is(0)),
        ],
    );
    n.step(s)?;

    let mut rep = Channel::new()?;
    let mut go = Gate::new()?;
    let mut child = rt.spawn("shm child", || {
        let report = rep.child_side();
        go.child_side();
        sysv_child(id, report, &go)
    })?;
    rep.close_write();
    go.parent_side();
    let cpid = child.raw();
    let mine = ShmAttach::attach(id, SIZE)
        .map_err(io_err)
        .context("shmat")?;
    let mut s = Step::new("The demo attaches it")
        .call(
            format!("shmat({id}, NULL, 0)"),
            format!("{:#x}", mine.addr()),
        )
        .explain(
            "Now mapped into our memory; /proc/PID/maps names it after its key. It shows as \
             (deleted) because the kernel file behind it is not linked into any directory.",
        );
    row_ev(&mut s, id, &[("nattch", is(1)), ("lpid", is(me))]);
    maps_fact(
        &mut s,
        me,
        &needle,
        false,
        "the segment in our address space (s: shared)",
    );
    n.step(s)?;

    go.send().context("write to the child")?;
    let said = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    if said != "written" {
        bail!("the child could not attach the segment: {said}");
    }
    let message = format!("hello from PID {cpid}");
    let mut s = Step::new("A child attaches it by id and writes")
        .call(
            format!("shmat({id}, NULL, 0); strcpy(addr, \"{message}\") in PID {cpid}"),
            "0",
        )
        .explain(
            "The child was forked before the demo attached, so it starts without the segment: \
             it attaches by identifier, as an unrelated process would.",
        );
    row_ev(&mut s, id, &[("nattch", is(2)), ("lpid", is(cpid))]);
    maps_fact(
        &mut s,
        cpid,
        &needle,
        false,
        "the same segment in the child",
    );
    n.step(s)?;

    let text = mman::read_text(mine.bytes());
    let mut s = Step::new("The demo reads what the child wrote")
        .call(
            format!("read {:#x} in PID {me}", mine.addr()),
            format!("\"{text}\""),
        )
        .explain(
            "The demo made no system call to get this: both mappings are the same physical \
             page.",
        );
    memory_fact(&mut s, mine.addr(), &text, &message, "written by the child");
    n.step(s)?;

    go.send().context("write to the child")?;
    let said = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    if said != "detached" {
        bail!("the child did not detach: {said}");
    }
    let mut s = Step::new("The child detaches")
        .call(format!("shmdt(addr) in PID {cpid}"), "0")
        .explain("Detaching does not destroy the segment, nor its contents.");
    row_ev(&mut s, id, &[("nattch", is(1)), ("lpid", is(cpid))]);
    n.step(s)?;
    drop(go);
    let st = rt.reap(&mut child, Duration::from_secs(5))?;

    seg.remove().map_err(io_err).context("shmctl(IPC_RMID)")?;
    let mut s = Step::new("Remove it while still attached")
        .call(format!("shmctl({id}, IPC_RMID)"), "0")
        .explain(
            "The segment is only marked for destruction (SHM_DEST) and its key is set to \
             IPC_PRIVATE, so nobody new finds it by key; it lives on while attached.",
        );
    s.fact_mut(
        format!("waitpid({cpid})"),
        describe(st),
        "the child is gone",
        st == WaitStatus::Exited(child.pid, 0),
    );
    row_ev(
        &mut s,
        id,
        &[("key", is(0)), ("perms", is("1600")), ("nattch", is(1))],
    );
    memory_fact(
        &mut s,
        mine.addr(),
        &mman::read_text(mine.bytes()),
        &message,
        "still readable",
    );
    n.step(s)?;

    mine.detach().map_err(io_err).context("shmdt")?;
    let mut s = Step::new("The last detach destroys it")
        .call("shmdt(addr)", "0")
        .explain("nattch reached 0 on a segment marked SHM_DEST: the kernel freed it.");
    removed_fact(&mut s, "shm", "shmid", id, sysvipc::shm_row(id).is_some());
    n.step(s)?;
    n.object("removed", &object)?;
    Ok(String::from(
        "One segment, two processes, nattch 1, 2, 1; IPC_RMID while attached, gone at the \
         last detach. Nothing is left in /proc/sysvipc/shm.",
    ))
}

// ---------------------------------------------------------------- POSIX

/// A POSIX shared memory object this process created: Drop unlinks it.
pub struct PosixShm {
    /// Declared first: unlinked before the descriptor closes.
    name: Name,
    pub fd: OwnedFd,
}

impl PosixShm {
    pub fn create(name: &str, len: usize) -> Result<PosixShm, Errno> {
        let cname = Name::c_string(name)?;
        // shm_open sets FD_CLOEXEC itself.
        let fd = nix::sys::mman::shm_open(
            cname.as_c_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
            Mode::from_bits_truncate(0o600),
        )?;
        let me = PosixShm {
            name: Name::created(cname, Unlink::Shm),
            fd,
        };
        nix::unistd::ftruncate(&me.fd, len as libc::off_t)?;
        Ok(me)
    }

    pub fn unlink(&mut self) -> Result<(), Errno> {
        self.name.unlink()
    }
}

fn run_posix(rt: &Runtime, n: &mut Narrator) -> Result<String> {
    let me = rt.pid();
    n.begin(
        "POSIX shared memory",
        "shm_open opens a named object, a file in /dev/shm (a tmpfs: memory, not disk); \
         ftruncate sets its size and mmap(MAP_SHARED) puts it in memory. Any process that \
         knows the name and has permission can map the same pages.",
    )?;
    let short = super::demo_name("shm");
    let name = format!("/{short}");
    let file = format!("/dev/shm/{short}");
    let mut rep = Channel::new()?;
    let mut go = Gate::new()?;
    let cname = name.clone();
    let mut child = rt.spawn("shm child", || {
        let w = rep.child_side();
        go.child_side();
        if !go.wait() {
            return 2;
        }
        let cfd = match nix::sys::mman::shm_open(cname.as_str(), OFlag::O_RDWR, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => {
                w.line(&format!("error shm_open {e:?}"));
                return 1;
            }
        };
        let Ok(m) = Mapping::shared_file(cfd.as_fd(), SIZE) else {
            w.line("error mmap");
            return 1;
        };
        mman::write_text(
            m.bytes(),
            format!("hello from PID {}", std::process::id()).as_bytes(),
        );
        w.line("written");
        go.wait();
        0
    })?;
    rep.close_write();
    go.parent_side();
    let cpid = child.raw();
    let mut obj = PosixShm::create(&name, SIZE)
        .map_err(io_err)
        .with_context(|| format!("shm_open({name}, O_CREAT|O_EXCL); is /dev/shm mounted?"))?;
    let object = Object::named("posix-shm", name.clone());
    n.object("created", &object)?;
    let fd = obj.fd.as_raw_fd();
    let mut s = Step::new("Create a named object and size it")
        .call(
            format!("shm_open(\"{name}\", O_CREAT|O_EXCL|O_RDWR, 0600); ftruncate({fd}, 4096)"),
            format!("{fd}, 0"),
        )
        .explain("A file in /dev/shm, opened like any file.");
    shm_file_fact(
        &mut s,
        &file,
        true,
        Some(SIZE as u64),
        "the object: 4096 bytes after ftruncate",
    );
    let target = probe::fd_target(me, fd);
    s.fact_mut(
        format!("/proc/{me}/fd/{fd}"),
        target.clone().unwrap_or_default(),
        "our descriptor: the file in /dev/shm",
        target.as_deref() == Some(file.as_str()),
    );
    n.step(s)?;

    let map = Mapping::shared_file(obj.fd.as_fd(), SIZE)
        .map_err(io_err)
        .context("mmap")?;
    let mut s = Step::new("Map it")
        .call(
            format!("mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, {fd}, 0)"),
            format!("{:#x}", map.addr()),
        )
        .explain("MAP_SHARED: writes go to the object, where every mapper sees them.");
    maps_fact(
        &mut s,
        me,
        &file,
        false,
        "the object in our address space (s: shared)",
    );
    n.step(s)?;

    go.send().context("write to the child")?;
    let said = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    if said != "written" {
        bail!("the child could not map the object: {said}");
    }
    let text = mman::read_text(map.bytes());
    let message = format!("hello from PID {cpid}");
    let mut s = Step::new("A child opens it by name, maps it and writes; the demo reads")
        .call(
            format!("shm_open(\"{name}\", O_RDWR); mmap; strcpy in PID {cpid}"),
            "0",
        )
        .explain(
            "The child was forked before the object existed; it found it by name. Two \
             mappings of one object: the demo reads the child's words directly.",
        );
    maps_fact(&mut s, cpid, &file, false, "the same object in the child");
    memory_fact(&mut s, map.addr(), &text, &message, "written by the child");
    n.step(s)?;
    drop(go);
    let st = rt.reap(&mut child, Duration::from_secs(5))?;

    obj.unlink().map_err(io_err).context("shm_unlink")?;
    let mut s = Step::new("Unlink it while mapped")
        .call(format!("shm_unlink(\"{name}\")"), "0")
        .explain(
            "The name leaves /dev/shm at once; the memory lives until the last mapping and \
             descriptor go (the maps line now says deleted). Without shm_unlink it would stay \
             until reboot.",
        );
    s.fact_mut(
        format!("waitpid({cpid})"),
        describe(st),
        "the child is gone",
        st == WaitStatus::Exited(child.pid, 0),
    );
    shm_file_fact(&mut s, &file, false, None, "the name is gone");
    maps_fact(
        &mut s,
        me,
        &file,
        true,
        "still mapped here, its name deleted",
    );
    memory_fact(
        &mut s,
        map.addr(),
        &mman::read_text(map.bytes()),
        &message,
        "still readable",
    );
    n.step(s)?;
    drop(map);
    drop(obj);
    n.object("removed", &object)?;
    Ok(String::from(
        "A named object in /dev/shm mapped by two processes, then unlinked; children reaped.",
    ))
}

//! The System V backend of the shared memory story: shmget, shmat and shmdt, the segment's
//! row in /proc/sysvipc/shm (nattch 1, 2, 1; lpid; SHM_DEST once removed while attached).

use anyhow::{Context, Result};

use super::{SIZE, maps_fact};
use crate::ipc::sysv::{ShmSegment, io_err, key_hex};
use crate::ipc::{Want, is, removed_fact, row_facts};
use crate::ipcs::sysvipc::{self, SHM_DEST};
use crate::sys::sysv::ShmAttach;
use crate::teach::narrate::{Object, Step};
use crate::teach::probe;
use crate::teach::trace;

pub(super) struct Segment {
    seg: Option<ShmSegment>,
}

impl Segment {
    fn id(&self) -> i32 {
        self.seg.as_ref().map_or(-1, |s| s.id)
    }

    fn key(&self) -> i32 {
        self.seg.as_ref().map_or(0, |s| s.key)
    }

    /// How /proc/PID/maps names the segment: after its key.
    fn needle(&self) -> String {
        format!("/SYSV{:08x}", self.key() as u32)
    }
}

impl super::Segment for Segment {
    const TITLE: &'static str = "System V shared memory";
    const INTRO: &'static str = "The notes: shared memory maps one memory area into several processes. What one writes \
         the others read at once, with no copy and no system call. A segment is found by its \
         identifier and guarded by its creator's permissions, like queues and semaphores.";
    const SUMMARY: &'static str = "One segment, two processes, nattch 1, 2, 1; IPC_RMID while attached, gone at the \
         last detach. Nothing is left in /proc/sysvipc/shm.";
    const FORKS_FIRST: bool = false;
    const CHILD_UNMAPS: bool = true;

    type Mapped = ShmAttach;

    fn new() -> Segment {
        Segment { seg: None }
    }

    fn create(&mut self) -> Result<()> {
        let seg = ShmSegment::create(SIZE, 0o600)
            .map_err(io_err)
            .context("shmget(IPC_CREAT|IPC_EXCL|0600); is kernel.shmmni exhausted? (ipcs -m)")?;
        self.seg = Some(seg);
        Ok(())
    }

    fn object(&self) -> Object {
        Object::sysv("sysv-shm", self.id(), key_hex(self.key()))
    }

    fn created(&self, me: i32) -> Step {
        let id = self.id();
        let mut s = Step::new("Create a 4 KiB segment")
            .call(
                format!(
                    "shmget({}, 4096, IPC_CREAT|IPC_EXCL|0600)",
                    key_hex(self.key())
                ),
                id.to_string(),
            )
            .explain("It exists, but no process has it in its address space yet.");
        row_ev(
            &mut s,
            id,
            &[
                ("key", is(self.key())),
                ("shmid", is(id)),
                ("perms", is("600")),
                ("size", is(SIZE)),
                ("cpid", is(me)),
                ("nattch", is(0)),
            ],
        );
        s
    }

    fn map(&self) -> Result<ShmAttach> {
        let m = ShmAttach::attach(self.id(), SIZE)
            .map_err(io_err)
            .context("shmat")?;
        trace::record(
            "shmat",
            format!("{}, NULL, 0", self.id()),
            format!("{:#x}", m.addr()),
        );
        Ok(m)
    }

    fn mapped(&self, m: &ShmAttach, me: i32) -> Step {
        let id = self.id();
        let mut s = Step::new("The demo attaches it")
            .call(format!("shmat({id}, NULL, 0)"), format!("{:#x}", m.addr()))
            .explain(
                "Now mapped into our memory; /proc/PID/maps names it after its key. It shows as \
                 (deleted) because the kernel file behind it is not linked into any directory.",
            );
        row_ev(&mut s, id, &[("nattch", is(1)), ("lpid", is(me))]);
        maps_fact(
            &mut s,
            me,
            &self.needle(),
            false,
            "the segment in our address space (s: shared)",
        );
        s
    }

    fn map_in_child(&self) -> Result<ShmAttach, String> {
        let m = ShmAttach::attach(self.id(), SIZE).map_err(|e| format!("error shmat {e:?}"))?;
        trace::record(
            "shmat",
            format!("{}, NULL, 0", self.id()),
            format!("{:#x}", m.addr()),
        );
        Ok(m)
    }

    fn unmap_in_child(&self, m: ShmAttach) {
        let addr = m.addr();
        let r = m.detach();
        trace::record("shmdt", format!("{addr:#x}"), trace::ret(&r.map(|()| 0)));
    }

    fn child_wrote(&self, cpid: i32, message: &str) -> Step {
        let id = self.id();
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
            &self.needle(),
            false,
            "the same segment in the child",
        );
        s
    }

    fn child_unmapped(&self, cpid: i32) -> Option<Step> {
        let id = self.id();
        let mut s = Step::new("The child detaches")
            .call(format!("shmdt(addr) in PID {cpid}"), "0")
            .explain("Detaching does not destroy the segment, nor its contents.");
        row_ev(&mut s, id, &[("nattch", is(1)), ("lpid", is(cpid))]);
        Some(s)
    }

    fn remove(&mut self) -> Result<()> {
        if let Some(seg) = &mut self.seg {
            seg.remove().map_err(io_err).context("shmctl(IPC_RMID)")?;
        }
        Ok(())
    }

    fn removed(&self) -> Step {
        Step::new("Remove it while still attached")
            .call(format!("shmctl({}, IPC_RMID)", self.id()), "0")
            .explain(
                "The segment is only marked for destruction (SHM_DEST) and its key is set to \
                 IPC_PRIVATE, so nobody new finds it by key; it lives on while attached.",
            )
    }

    fn removed_evidence(&self, s: &mut Step, _me: i32) {
        row_ev(
            s,
            self.id(),
            &[("key", is(0)), ("perms", is("1600")), ("nattch", is(1))],
        );
    }

    fn last_unmap(&mut self, m: ShmAttach) -> Result<Option<Step>> {
        let id = self.id();
        let addr = m.addr();
        m.detach().map_err(io_err).context("shmdt")?;
        trace::record("shmdt", format!("{addr:#x}"), "0");
        let mut s = Step::new("The last detach destroys it")
            .call("shmdt(addr)", "0")
            .explain("nattch reached 0 on a segment marked SHM_DEST: the kernel freed it.")
            .explain(crate::ipc::SYSV_LIFETIME);
        removed_fact(&mut s, "shm", "shmid", id, sysvipc::shm_row(id).is_some());
        Ok(Some(s))
    }
}

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

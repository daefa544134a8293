//! The System V backend of the semaphore story: semget and semctl(SETVAL), semop around each
//! increment, the set's row in /proc/sysvipc/sem and semctl's queries; and SEM_UNDO, which
//! only System V semaphores have.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use super::{ROUNDS, Said, T, Take, holder};
use crate::ipc::sysv::{SemSet, io_err, key_hex};
use crate::ipc::{Want, is, removed_fact, row_facts, state_fact};
use crate::ipcs::sysvipc;
use crate::sys::sysv::{self, SemQuery};
use crate::teach::narrate::{Narrator, Object, Step, errno_text};
use crate::teach::runtime::{Channel, Runtime, describe};
use crate::teach::trace;

pub(super) struct Semaphore {
    set: SemSet,
}

/// A racer's semop -1 and +1, with SEM_UNDO.
pub(super) struct Undoable(i32);

impl Take for Undoable {
    fn take(&self) -> Result<(), Errno> {
        sysv::sem_op(self.0, 0, -1, libc::SEM_UNDO)
    }
    fn give(&self) -> Result<(), Errno> {
        sysv::sem_op(self.0, 0, 1, libc::SEM_UNDO)
    }
}

impl super::Semaphore for Semaphore {
    const TITLE: &'static str = "a System V semaphore";
    const INTRO: &'static str = "The notes: semaphores are counters that control access to shared resources, a locking \
         mechanism that keeps more than one process from using the resource at a time. Two \
         processes add to one counter in shared memory, first without, then with a semaphore.";
    const SHOWS_MAPPING: bool = true;
    const UNGUARDED: Said = Said {
        title: "Two processes increment it without the semaphore",
        explain: "Each increment reads the counter and writes it back plus one. Both processes are \
             pinned to one CPU and call sched_yield() between the read and the write of every \
             increment, so the other one runs inside that window: both read the same value, one \
             write overwrites the other, and an update is lost, on every run. (Unpinned, on \
             several CPUs, the same happens by chance, less often.)",
    };
    const DEAD_HOLDER: Said = Said {
        title: "Without SEM_UNDO, a dead holder keeps it forever",
        explain: "Nothing gives this one back: every later semop -1 would wait forever. The demo \
             repairs it with SETVAL (as an administrator would) before removing the set.",
    };
    const REPAIRED: &'static str = "free after semctl(SETVAL, 1)";
    const SUMMARY_END: &'static str =
        "SEM_UNDO freed a dead holder's semaphore. The set is removed and every child reaped.";

    type InChild = Undoable;

    fn create(_me: i32) -> Result<Semaphore> {
        let set = SemSet::create(1, 0o600)
            .map_err(io_err)
            .context("semget(IPC_CREAT|IPC_EXCL|0600); is kernel.sem exhausted? (ipcs -s)")?;
        setval(set.id)?;
        Ok(Semaphore { set })
    }

    fn object(&self) -> Object {
        Object::sysv("sysv-sem", self.set.id, key_hex(self.set.key))
    }

    fn created(&self, _me: i32) -> Step {
        let id = self.set.id;
        let mut s = Step::new("Create a semaphore set with one semaphore, value 1")
            .call(
                format!(
                    "semget({}, 1, IPC_CREAT|IPC_EXCL|0600); semctl({id}, 0, SETVAL, 1)",
                    key_hex(self.set.key)
                ),
                format!("{id}, 0"),
            )
            .explain(
                "Value 1 means free: one process may pass. semop -1 waits while the value is 0 \
                 (P, take) and +1 gives it back (V, release).",
            );
        row_ev(
            &mut s,
            id,
            &[
                ("key", is(self.set.key)),
                ("semid", is(id)),
                ("perms", is("600")),
                ("nsems", is(1)),
            ],
        );
        s
    }

    fn value_fact(&self, s: &mut Step, want: i32, meaning: &str) {
        semctl_ev(s, self.set.id, &[(SemQuery::Val, meaning, is(want))]);
    }

    fn in_child(&self) -> Result<Undoable, Errno> {
        Ok(Undoable(self.set.id))
    }

    fn guarded(&self, pids: [i32; 2]) -> Step {
        let id = self.set.id;
        Step::new("The same, each increment between semop -1 and semop +1")
            .syscall(format!(
                "sched_setaffinity(0, {{one CPU}}); {ROUNDS} times: semop({id}, -1, SEM_UNDO); v = counter; sched_yield(); counter = v + 1; semop({id}, +1, SEM_UNDO), in PIDs {} and {}",
                pids[0], pids[1]
            ))
            .explain(
                "Only one process at a time is between the two semops: no update is lost. The \
                 price is two system calls per increment.",
            )
    }

    fn after_guarded(&self, s: &mut Step, pids: [i32; 2]) {
        let id = self.set.id;
        let last = sysv::sem_get(id, 0, SemQuery::Pid);
        s.fact_mut(
            format!("semctl({id}, 0, GETPID)"),
            "return",
            match last {
                Ok(p) => p.to_string(),
                Err(e) => errno_text(e),
            },
            "the last process to semop: one of the two",
            last.is_ok_and(|p| pids.contains(&p)),
        );
    }

    /// SEM_UNDO: a holder that dies is undone by the kernel, and a waiter gets through.
    fn only_here(&self, rt: &Runtime, n: &mut Narrator) -> Result<()> {
        let id = self.set.id;
        let mut rep = Channel::new()?;
        let mut h = rt.spawn("semaphore holder", || {
            let report = rep.child_side();
            holder(report, || {
                let r = sysv::sem_op(id, 0, -1, libc::SEM_UNDO);
                trace::record(
                    "semop",
                    format!("{id}, [{{0, -1, SEM_UNDO}}], 1"),
                    trace::ret(&r.map(|()| 0)),
                );
                r.is_ok()
            })
        })?;
        if rep.recv(rt, T)?.as_deref() != Some("holding") {
            bail!("the holder (PID {}) did not take the semaphore", h.raw());
        }
        let mut w = rt.spawn("semaphore waiter", || {
            let report = rep.child_side();
            let r = sysv::sem_op(id, 0, -1, libc::SEM_UNDO);
            trace::record(
                "semop",
                format!("{id}, [{{0, -1, SEM_UNDO}}], 1"),
                trace::ret(&r.map(|()| 0)),
            );
            if r.is_err() {
                return 1;
            }
            report.line("acquired");
            0
        })?;
        rep.close_write();
        let (hpid, wpid) = (h.raw(), w.raw());
        wait_for(rt, || sysv::sem_get(id, 0, SemQuery::Ncnt).ok() == Some(1))?;
        let mut s = Step::new("One process holds it, another waits")
            .call(
                format!("semop({id}, -1, SEM_UNDO) in PID {hpid}, then in PID {wpid}"),
                "0, (blocks)",
            )
            .explain(
                "The holder took the semaphore (value 0); the waiter sleeps in semop. SEM_UNDO asks \
                 the kernel to reverse the operation if the process exits without doing so.",
            )
            .pid("holder", hpid)
            .pid("waiter", wpid)
            .try_it(format!("ipcs -s -i {id}; cut -d' ' -f1 /proc/{wpid}/syscall"));
        semctl_ev(
            &mut s,
            id,
            &[
                (SemQuery::Val, "taken", is(0)),
                (SemQuery::Pid, "the holder", is(hpid)),
                (SemQuery::Ncnt, "processes waiting for it to rise", is(1)),
            ],
        );
        state_fact(rt, &mut s, wpid, Some('S'), "S: the waiter sleeps in semop")?;
        n.step(s)?;

        h.signal(Signal::SIGKILL)?;
        let hst = rt.reap(&mut h, T)?;
        let got = rep.recv(rt, T)?.unwrap_or_default();
        let wst = rt.reap(&mut w, T)?;
        let mut s = Step::new("The holder dies: SEM_UNDO releases the semaphore")
            .call(format!("kill({hpid}, SIGKILL)"), "0")
            .explain(
                "The holder never ran its semop +1, but the kernel undid its -1 when it died; the \
                 waiter got the semaphore, and released it the same way when it exited.",
            )
            .pid("holder", hpid)
            .pid("waiter", wpid)
            .try_it(format!("ipcs -s -i {id}"));
        s.fact_mut(
            format!("waitpid({hpid}, &status, WNOHANG)"),
            "status",
            describe(hst),
            "died holding it",
            hst == WaitStatus::Signaled(h.pid, Signal::SIGKILL, false),
        );
        s.fact_mut(
            format!("report pipe of PID {wpid}"),
            "line",
            got.clone(),
            "the waiter got through",
            got == "acquired",
        );
        s.fact_mut(
            format!("waitpid({wpid}, &status, WNOHANG)"),
            "status",
            describe(wst),
            "the waiter is done, without a semop +1",
            wst == WaitStatus::Exited(w.pid, 0),
        );
        semctl_ev(
            &mut s,
            id,
            &[(SemQuery::Val, "free again: both exits undone", is(1))],
        );
        n.step(s)
    }

    fn hold(&self) -> bool {
        let r = sysv::sem_op(self.set.id, 0, -1, 0);
        trace::record(
            "semop",
            format!("{}, [{{0, -1, 0}}], 1", self.set.id),
            trace::ret(&r.map(|()| 0)),
        );
        r.is_ok()
    }

    fn hold_call(&self, pid: i32) -> String {
        format!("semop({}, -1, 0) in PID {pid}", self.set.id)
    }

    fn repair(&self) -> Result<()> {
        setval(self.set.id)
    }

    fn remove(&mut self) -> Result<Step> {
        let id = self.set.id;
        self.set
            .remove()
            .map_err(io_err)
            .context("semctl(IPC_RMID)")?;
        let mut s = Step::new("Remove the semaphore set")
            .call(format!("semctl({id}, 0, IPC_RMID)"), "0")
            .explain(crate::ipc::SYSV_LIFETIME);
        removed_fact(&mut s, "sem", "semid", id, sysvipc::sem_row(id).is_some());
        Ok(s)
    }
}

fn row_ev(s: &mut Step, id: i32, wants: &[(&str, Want)]) {
    let row = sysvipc::sem_row(id);
    let field = row.as_ref().map(|r| {
        move |f: &str| match f {
            "key" => (r.key.to_string(), format!("the key ({})", key_hex(r.key))),
            "semid" => (r.id.to_string(), "the identifier".to_string()),
            "perms" => (
                format!("{:o}", r.perms),
                format!("{}: set by the creator", sysvipc::rwx(r.perms)),
            ),
            "nsems" => (r.nsems.to_string(), "semaphores in the set".to_string()),
            _ => (String::new(), String::new()),
        }
    });
    row_facts(s, "sem", "semid", id, field, wants);
}

/// semctl queries of semaphore 0; an expected value makes the row a checked fact.
fn semctl_ev(s: &mut Step, id: i32, cmds: &[(SemQuery, &str, Want)]) {
    for (q, meaning, want) in cmds {
        let v = match sysv::sem_get(id, 0, *q) {
            Ok(v) => v.to_string(),
            Err(e) => errno_text(e),
        };
        let source = format!("semctl({id}, 0, {})", q.name());
        match want {
            Some(w) => {
                let holds = &v == w;
                s.fact_mut(source, "return", v, meaning.to_string(), holds);
            }
            None => s.show_mut(source, "return", v, meaning.to_string()),
        }
    }
}

/// Polls `cond` every 2 ms for up to 5 s.
fn wait_for(rt: &Runtime, mut cond: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > Duration::from_secs(5) {
            bail!("timed out waiting for the semaphore's state to change");
        }
        rt.sleep(Duration::from_millis(2))?;
    }
    Ok(())
}

/// semctl(id, 0, SETVAL, 1): the semaphore free, recorded as strace shows it (the value is
/// the union semun argument, printed in hex).
fn setval(id: libc::c_int) -> Result<()> {
    let r = sysv::sem_setval(id, 0, 1);
    trace::record(
        "semctl",
        format!("{id}, 0, SETVAL, 0x1"),
        trace::ret(&r.map(|()| 0)),
    );
    r.map_err(io_err).context("semctl(SETVAL)")
}

//! `ipc demo sem`: a System V semaphore guards a counter that two processes increment in
//! shared memory. Without it updates are lost; with it none are; SEM_UNDO gives back the
//! semaphore of a process that dies holding it. `--posix`: a named semaphore (sem_open),
//! which lives in /dev/shm and has no SEM_UNDO.

use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use super::posix::{Name, Unlink, shm_file_fact};
use super::sysv::{SemSet, io_err, key_hex};
use super::sysvipc;
use super::{Want, is, removed_fact, row_facts, state_fact};
use crate::sys::mman::{Mapping, Sharing};
use crate::sys::semaphore::NamedSemaphore;
use crate::sys::sysv::{self, SemQuery};
use crate::teach::lab::Lab;
use crate::teach::narrate::{Narrator, Object, Step, errno_text};
use crate::teach::probe;
use crate::teach::runtime::{Channel, Gate, Runtime, Sender, describe};

/// Increments per process in each race.
const ROUNDS: u64 = 20_000;

/// One read-modify-write of the shared counter, with a sched_yield in the middle: the window
/// in which another process's update is overwritten. Both racers run on one CPU (see `racer`),
/// so the yield hands the CPU to the other one inside the window, and the race shows on any
/// machine, however many CPUs it has and however fast or slow (a VM under emulation) they are.
/// A load and a store, not one atomic add: the lost update is the point.
fn bump(counter: &AtomicU64) {
    let v = counter.load(Ordering::Relaxed);
    let _ = nix::sched::sched_yield();
    counter.store(v + 1, Ordering::Relaxed);
}

/// Pins the calling process to the first CPU it may run on, so that both racers share it.
fn pin_to_one_cpu() {
    use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
    let me = nix::unistd::Pid::from_raw(0);
    let Ok(allowed) = sched_getaffinity(me) else {
        return;
    };
    if let Some(cpu) = (0..CpuSet::count()).find(|&c| allowed.is_set(c).unwrap_or(false)) {
        let mut one = CpuSet::new();
        if one.set(cpu).is_ok() {
            let _ = sched_setaffinity(me, &one);
        }
    }
}

/// How a racer protects its increments.
#[derive(Clone, Copy)]
enum Guard {
    None,
    SysV(i32),
    Posix,
}

/// A racer child: waits for the start signal (EOF on `go`), then does ROUNDS increments.
fn racer(counter: &AtomicU64, guard: Guard, go: &Gate, posix_name: &CString) -> i32 {
    pin_to_one_cpu();
    go.wait();
    let sem = match guard {
        Guard::Posix => match NamedSemaphore::open(posix_name) {
            Ok(sem) => Some(sem),
            Err(_) => return 3,
        },
        _ => None,
    };
    for _ in 0..ROUNDS {
        let taken = match (guard, &sem) {
            (Guard::SysV(id), _) => sysv::sem_op(id, 0, -1, libc::SEM_UNDO).is_ok(),
            (_, Some(sem)) => sem.wait().is_ok(),
            _ => true,
        };
        if !taken {
            return 2;
        }
        bump(counter);
        let given = match (guard, &sem) {
            (Guard::SysV(id), _) => sysv::sem_op(id, 0, 1, libc::SEM_UNDO).is_ok(),
            (_, Some(sem)) => sem.post().is_ok(),
            _ => true,
        };
        if !given {
            return 2;
        }
    }
    0
}

/// Runs two racers and returns the final counter and the time taken.
fn race(
    rt: &Runtime,
    map: &Mapping,
    guard: Guard,
    posix_name: &CString,
) -> Result<(u64, Duration, [i32; 2])> {
    let counter = map.word();
    counter.store(0, Ordering::Relaxed);
    let mut go = Gate::new()?;
    let mut kids = Vec::new();
    for _ in 0..2 {
        kids.push(rt.spawn("counter process", || {
            go.child_side();
            racer(counter, guard, &go, posix_name)
        })?);
    }
    let t0 = Instant::now();
    go.open(0)?; // EOF: both start together
    for k in &mut kids {
        let st = rt.reap(k, Duration::from_secs(60))?;
        if !matches!(st, nix::sys::wait::WaitStatus::Exited(_, 0)) {
            bail!("counter process {} {}", k.raw(), describe(st));
        }
    }
    let took = t0.elapsed();
    let v = counter.load(Ordering::Relaxed);
    Ok((v, took, [kids[0].raw(), kids[1].raw()]))
}

/// The race's outcome: `guarded` makes "no update lost" a checked fact. Without a guard the
/// count depends on timing and is only shown.
fn race_ev(s: &mut Step, v: u64, guarded: bool) {
    let expected = 2 * ROUNDS;
    s.ev_mut(
        "expected",
        expected.to_string(),
        format!("2 processes × {ROUNDS} increments"),
    );
    s.ev_mut("counter", v.to_string(), "what the shared memory holds");
    let lost = expected.saturating_sub(v).to_string();
    let meaning = "increments overwritten by the other process";
    if guarded {
        s.fact_mut("lost updates", lost, meaning, v == expected);
    } else {
        // Both racers share one CPU and yield inside the window (see `bump`), so the scheduler
        // interleaves them there: updates are lost on every machine, not only by luck.
        s.fact_mut("lost updates", lost, meaning, v < expected);
    }
}

fn sem_row_ev(s: &mut Step, id: i32, wants: &[(&str, Want)]) {
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
        let field = format!("semctl({id}, 0, {})", q.name());
        match want {
            Some(w) => {
                let holds = &v == w;
                s.fact_mut(field, v, meaning.to_string(), holds);
            }
            None => s.ev_mut(field, v, meaning.to_string()),
        }
    }
}

/// A child that takes the semaphore, says so, and sleeps holding it.
fn holder(id: i32, flags: i32, report: Sender) -> i32 {
    if sysv::sem_op(id, 0, -1, flags).is_err() {
        return 1;
    }
    report.line("holding");
    loop {
        nix::unistd::pause();
    }
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
    n.begin(
        "a System V semaphore",
        "The notes: semaphores are counters that control access to shared resources, a locking \
         mechanism that keeps more than one process from using the resource at a time. Two \
         processes add to one counter in shared memory, first without, then with a semaphore.",
    )?;

    let mut set = SemSet::create(1, 0o600)
        .map_err(io_err)
        .context("semget(IPC_CREAT|IPC_EXCL|0600); is kernel.sem exhausted? (ipcs -s)")?;
    let id = set.id;
    let object = Object::sysv("sysv-sem", id, key_hex(set.key));
    n.object("created", &object)?;
    sysv::sem_setval(id, 0, 1)
        .map_err(io_err)
        .context("semctl(SETVAL)")?;
    let mut s = Step::new("Create a semaphore set with one semaphore, value 1")
        .call(
            format!(
                "semget({}, 1, IPC_CREAT|IPC_EXCL|0600); semctl({id}, 0, SETVAL, 1)",
                key_hex(set.key)
            ),
            format!("{id}, 0"),
        )
        .explain(
            "Value 1 means free: one process may pass. semop -1 waits while the value is 0 \
             (P, take) and +1 gives it back (V, release).",
        );
    sem_row_ev(
        &mut s,
        id,
        &[
            ("key", is(set.key)),
            ("semid", is(id)),
            ("perms", is("600")),
            ("nsems", is(1)),
        ],
    );
    semctl_ev(&mut s, id, &[(SemQuery::Val, "free", is(1))]);
    n.step(s)?;

    let map = Mapping::anonymous(4096, Sharing::Shared)
        .map_err(io_err)
        .context("mmap(MAP_SHARED|MAP_ANONYMOUS)")?;
    let me = rt.pid();
    let mut s = Step::new("A counter in memory shared with the children")
        .call(
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS)",
            format!("{:#x}", map.addr()),
        )
        .explain(
            "A shared mapping stays shared across fork: parent and children see the same page \
             (the s in rw-s).",
        );
    shared_map_fact(&mut s, me, map.addr());
    n.step(s)?;

    let none = CString::default();
    let (v, took, pids) = race(rt, &map, Guard::None, &none)?;
    let mut s = Step::new("Two processes increment it without the semaphore")
        .call(
            format!(
                "sched_setaffinity(0, {{one CPU}}); {ROUNDS} times: v = counter; sched_yield(); counter = v + 1, in PIDs {} and {}",
                pids[0], pids[1]
            ),
            format!("done in {} ms", took.as_millis()),
        )
        .explain(
            "Each increment reads the counter and writes it back plus one. Both processes are \
             pinned to one CPU and call sched_yield() between the read and the write, so the \
             other one runs inside that window: both read the same value, one write overwrites \
             the other, and an update is lost. On several CPUs the same happens by chance.",
        );
    race_ev(&mut s, v, false);
    n.step(s)?;

    let (v2, took2, pids2) = race(rt, &map, Guard::SysV(id), &none)?;
    let mut s = Step::new("The same, each increment between semop -1 and semop +1")
        .call(
            format!(
                "semop({id}, -1, SEM_UNDO); v = counter; sched_yield(); counter = v + 1; semop({id}, +1, SEM_UNDO), in PIDs {} and {}",
                pids2[0], pids2[1]
            ),
            format!("done in {} ms", took2.as_millis()),
        )
        .explain(
            "Only one process at a time is between the two semops: no update is lost. The \
             price is two system calls per increment.",
        );
    race_ev(&mut s, v2, true);
    semctl_ev(&mut s, id, &[(SemQuery::Val, "free again", is(1))]);
    let last = sysv::sem_get(id, 0, SemQuery::Pid);
    s.fact_mut(
        format!("semctl({id}, 0, GETPID)"),
        match last {
            Ok(p) => p.to_string(),
            Err(e) => errno_text(e),
        },
        "the last process to semop: one of the two",
        last.is_ok_and(|p| pids2.contains(&p)),
    );
    n.step(s)?;

    // SEM_UNDO.
    let mut rep = Channel::new()?;
    let mut h = rt.spawn("semaphore holder", || {
        holder(id, libc::SEM_UNDO, rep.child_side())
    })?;
    if rep.recv(rt, Duration::from_secs(5))?.as_deref() != Some("holding") {
        bail!("the holder (PID {}) did not take the semaphore", h.raw());
    }
    let mut w = rt.spawn("semaphore waiter", || {
        let report = rep.child_side();
        if sysv::sem_op(id, 0, -1, libc::SEM_UNDO).is_err() {
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
        );
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
    let hst = rt.reap(&mut h, Duration::from_secs(5))?;
    let got = rep.recv(rt, Duration::from_secs(5))?.unwrap_or_default();
    let wst = rt.reap(&mut w, Duration::from_secs(5))?;
    let mut s = Step::new("The holder dies: SEM_UNDO releases the semaphore")
        .call(format!("kill({hpid}, SIGKILL)"), "0")
        .explain(
            "The holder never ran its semop +1, but the kernel undid its -1 when it died; the \
             waiter got the semaphore, and released it the same way when it exited.",
        );
    s.fact_mut(
        format!("waitpid({hpid})"),
        describe(hst),
        "died holding it",
        hst == WaitStatus::Signaled(h.pid, Signal::SIGKILL, false),
    );
    s.fact_mut(
        format!("PID {wpid} says"),
        got.clone(),
        "the waiter got through",
        got == "acquired",
    );
    s.fact_mut(
        format!("waitpid({wpid})"),
        describe(wst),
        "the waiter is done, without a semop +1",
        wst == WaitStatus::Exited(w.pid, 0),
    );
    semctl_ev(
        &mut s,
        id,
        &[(SemQuery::Val, "free again: both exits undone", is(1))],
    );
    n.step(s)?;

    // Without SEM_UNDO.
    let mut rep = Channel::new()?;
    let mut x = rt.spawn("semaphore holder", || holder(id, 0, rep.child_side()))?;
    rep.close_write();
    if rep.recv(rt, Duration::from_secs(5))?.as_deref() != Some("holding") {
        bail!("the holder (PID {}) did not take the semaphore", x.raw());
    }
    let xpid = x.raw();
    x.signal(Signal::SIGKILL)?;
    let xst = rt.reap(&mut x, Duration::from_secs(5))?;
    let mut s = Step::new("Without SEM_UNDO, a dead holder keeps it forever")
        .call(
            format!("semop({id}, -1, 0) in PID {xpid}; kill({xpid}, SIGKILL)"),
            "0, 0",
        )
        .explain(
            "Nothing gives this one back: every later semop -1 would wait forever. The demo \
             repairs it with SETVAL (as an administrator would) before removing the set.",
        );
    s.fact_mut(
        format!("waitpid({xpid})"),
        describe(xst),
        "died holding it",
        xst == WaitStatus::Signaled(x.pid, Signal::SIGKILL, false),
    );
    semctl_ev(
        &mut s,
        id,
        &[(SemQuery::Val, "still taken: nothing undone", is(0))],
    );
    sysv::sem_setval(id, 0, 1)
        .map_err(io_err)
        .context("semctl(SETVAL)")?;
    semctl_ev(
        &mut s,
        id,
        &[(SemQuery::Val, "free after semctl(SETVAL, 1)", is(1))],
    );
    n.step(s)?;

    set.remove().map_err(io_err).context("semctl(IPC_RMID)")?;
    let mut s = Step::new("Remove the semaphore set")
        .call(format!("semctl({id}, 0, IPC_RMID)"), "0")
        .explain("Like every System V object it would otherwise stay until reboot.");
    removed_fact(&mut s, "sem", "semid", id, sysvipc::sem_row(id).is_some());
    n.step(s)?;
    n.object("removed", &object)?;
    Ok(format!(
        "{} updates lost without the semaphore, none with it; SEM_UNDO freed a dead holder's \
         semaphore. The set is removed and every child reaped.",
        (2 * ROUNDS).saturating_sub(v)
    ))
}

/// The line of /proc/PID/maps for the mapping at `addr`, as the proof that it is shared
/// (`rw-s`: a write is seen by every process that maps it, not copied).
fn shared_map_fact(s: &mut Step, pid: i32, addr: usize) {
    let lines = probe::maps_lines(pid, &format!("{addr:x}-"));
    let line = lines.first().cloned();
    let perms = line
        .as_deref()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("");
    s.fact_mut(
        format!("/proc/{pid}/maps"),
        line.clone().unwrap_or_else(|| "(no such mapping)".into()),
        "rw-s: shared, not copied on write",
        perms == "rw-s",
    );
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

// ---------------------------------------------------------------- POSIX

/// A named POSIX semaphore this process created: Drop closes and unlinks it.
pub struct PosixSem {
    sem: Option<NamedSemaphore>,
    /// Unlinked when it drops, after Drop below has closed the semaphore.
    name: Name,
}

impl PosixSem {
    pub fn create(name: &str, value: u32) -> Result<PosixSem, Errno> {
        let cname = Name::c_string(name)?;
        let sem = NamedSemaphore::create(&cname, 0o600, value)?;
        Ok(PosixSem {
            sem: Some(sem),
            name: Name::created(cname, Unlink::Semaphore),
        })
    }

    pub fn value(&self) -> i32 {
        self.sem.as_ref().and_then(|s| s.value().ok()).unwrap_or(-1)
    }

    pub fn post(&self) {
        if let Some(s) = &self.sem {
            let _ = s.post();
        }
    }

    pub fn unlink(&mut self) -> Result<(), Errno> {
        self.name.unlink()
    }
}

impl Drop for PosixSem {
    fn drop(&mut self) {
        // Closed before `name` drops and unlinks it.
        self.sem = None;
    }
}

fn run_posix(rt: &Runtime, n: &mut Narrator) -> Result<String> {
    let me = rt.pid();
    n.begin(
        "a POSIX named semaphore",
        "sem_open finds a semaphore by name; glibc keeps it in a small file in /dev/shm that \
         every user maps. The same race as the System V demo, guarded by sem_wait and sem_post.",
    )?;
    let short = super::demo_name("sem");
    let name = format!("/{short}");
    let file = format!("/dev/shm/sem.{short}");
    let mut sem = PosixSem::create(&name, 1)
        .map_err(io_err)
        .with_context(|| format!("sem_open({name}, O_CREAT|O_EXCL); is /dev/shm mounted?"))?;
    let object = Object::named("posix-sem", name.clone());
    n.object("created", &object)?;
    let mut s = Step::new("Create a named semaphore, value 1")
        .call(
            format!("sem_open(\"{name}\", O_CREAT|O_EXCL, 0600, 1)"),
            "a sem_t *",
        )
        .explain("The name becomes a file in /dev/shm, mapped into our memory.");
    shm_file_fact(&mut s, &file, true, None, "the semaphore's file");
    for l in probe::maps_lines(me, "/dev/shm/sem.") {
        s.ev_mut(
            format!("/proc/{me}/maps"),
            l,
            "mapped shared; glibc built the file under a temporary name and linked it into \
             place, so the mapping shows that name, deleted",
        );
    }
    value_fact(&mut s, &sem, 1, "free");
    n.step(s)?;

    let map = Mapping::anonymous(4096, Sharing::Shared)
        .map_err(io_err)
        .context("mmap(MAP_SHARED|MAP_ANONYMOUS)")?;
    let cname = CString::new(name.clone()).unwrap_or_default();
    let (v, _, pids) = race(rt, &map, Guard::None, &cname)?;
    let mut s = Step::new("Two processes increment a shared counter without it")
        .call(
            format!(
                "sched_setaffinity(0, {{one CPU}}); {ROUNDS} times: v = counter; sched_yield(); counter = v + 1, in PIDs {} and {}",
                pids[0], pids[1]
            ),
            "",
        )
        .explain(
            "Unprotected read-modify-write on one CPU, yielding inside the window: updates are \
             lost.",
        );
    race_ev(&mut s, v, false);
    n.step(s)?;

    let (v2, took2, pids2) = race(rt, &map, Guard::Posix, &cname)?;
    let mut s = Step::new("With sem_wait and sem_post around each increment")
        .call(
            format!(
                "sem_open(\"{name}\", 0); sem_wait; v = counter; sched_yield(); counter = v + 1; sem_post, in PIDs {} and {}",
                pids2[0], pids2[1]
            ),
            format!("done in {} ms", took2.as_millis()),
        )
        .explain(
            "Each child opened the semaphore by name. No update is lost. An uncontended \
             sem_wait is an atomic instruction in user space; only waiting enters the kernel \
             (futex).",
        );
    race_ev(&mut s, v2, true);
    value_fact(&mut s, &sem, 1, "free again");
    n.step(s)?;

    let mut rep = Channel::new()?;
    let cn = &cname;
    let mut h = rt.spawn("semaphore holder", || {
        let report = rep.child_side();
        let Ok(s) = NamedSemaphore::open(cn) else {
            return 1;
        };
        if s.wait().is_err() {
            return 1;
        }
        report.line("holding");
        loop {
            nix::unistd::pause();
        }
    })?;
    rep.close_write();
    if rep.recv(rt, Duration::from_secs(5))?.as_deref() != Some("holding") {
        bail!("the holder did not take the semaphore");
    }
    let hpid = h.raw();
    h.signal(Signal::SIGKILL)?;
    let hst = rt.reap(&mut h, Duration::from_secs(5))?;
    let mut s = Step::new("A holder dies: the named semaphore stays taken")
        .call(
            format!("sem_wait in PID {hpid}; kill({hpid}, SIGKILL)"),
            "0, 0",
        )
        .explain(
            "POSIX semaphores have no SEM_UNDO: the value stays 0 and later sem_waits would \
             block forever. The demo posts it back.",
        );
    s.fact_mut(
        format!("waitpid({hpid})"),
        describe(hst),
        "died holding it",
        hst == WaitStatus::Signaled(h.pid, Signal::SIGKILL, false),
    );
    value_fact(&mut s, &sem, 0, "still taken: nothing undone");
    sem.post();
    value_fact(&mut s, &sem, 1, "free after sem_post");
    n.step(s)?;

    sem.unlink().map_err(io_err).context("sem_unlink")?;
    let mut s = Step::new("Unlink the semaphore")
        .call(format!("sem_unlink(\"{name}\")"), "0")
        .explain(
            "The file leaves /dev/shm at once; our mapping goes with sem_close. Without \
             sem_unlink it would stay until reboot (/dev/shm is memory).",
        );
    shm_file_fact(&mut s, &file, false, None, "gone");
    n.step(s)?;
    n.object("removed", &object)?;
    drop(sem);
    Ok(format!(
        "{} updates lost without the semaphore, none with it; a dead holder keeps a POSIX \
         semaphore. Unlinked; children reaped.",
        (2 * ROUNDS).saturating_sub(v)
    ))
}

/// sem_getvalue as the proof that the semaphore's value is `want`.
fn value_fact(s: &mut Step, sem: &PosixSem, want: i32, meaning: &str) {
    let v = sem.value();
    s.fact_mut(
        "sem_getvalue",
        v.to_string(),
        meaning.to_string(),
        v == want,
    );
}

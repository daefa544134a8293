//! `ipc demo sem`: one story of a semaphore, told with either backend. A semaphore with value
//! 1 guards a counter that two processes increment in shared memory: without it updates are
//! lost, with it none are; a process that dies holding it keeps it taken until someone
//! repairs the value; the semaphore is removed. [`sysv`] tells it with semget and semop (and
//! adds SEM_UNDO, which gives back the semaphore of a process that dies holding it),
//! [`posix`] with a named semaphore (sem_open), which lives in /dev/shm and has no SEM_UNDO.
//! Each supplies the calls and the evidence, this file the story.

mod posix;
mod sysv;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;

use crate::ipc::sysv::io_err;
use crate::sys::mman::{Mapping, Sharing};
use crate::teach::lab::Lab;
use crate::teach::narrate::{Narrator, Object, Step};
use crate::teach::probe;
use crate::teach::runtime::{Channel, Gate, Runtime, Sender, describe};

/// Increments per process in each race.
pub(super) const ROUNDS: u64 = 20_000;

/// How long the demo waits for a child's answer or exit.
const T: Duration = Duration::from_secs(5);

/// A step's words that depend on the backend: its title and why it matters.
struct Said {
    title: &'static str,
    explain: &'static str,
}

/// What a racer child does around each increment: take the semaphore, give it back.
trait Take {
    fn take(&self) -> Result<(), Errno>;
    fn give(&self) -> Result<(), Errno>;
}

/// One kind of semaphore: the calls each step of the story makes, and what the kernel shows
/// of it.
trait Semaphore: Sized {
    /// The narration's heading and opening paragraph.
    const TITLE: &'static str;
    const INTRO: &'static str;
    /// Whether the story shows the shared counter's mmap as a step of its own.
    const SHOWS_MAPPING: bool;
    /// The race without the semaphore.
    const UNGUARDED: Said;
    /// A holder that dies: the semaphore stays taken.
    const DEAD_HOLDER: Said;
    /// What the value means once [`Semaphore::repair`] set it back to 1.
    const REPAIRED: &'static str;
    /// The end of the closing summary, after the count of lost updates.
    const SUMMARY_END: &'static str;

    /// What a racer child opens to take and give the semaphore.
    type InChild: Take;

    /// Makes the semaphore, value 1.
    fn create(me: i32) -> Result<Self>;
    /// The semaphore as an object event.
    fn object(&self) -> Object;
    /// Step 1: the calls that made it, why it matters, and what the kernel shows of it
    /// (its value is added by the story).
    fn created(&self, me: i32) -> Step;
    /// The semaphore's value as a fact: it is `want`.
    fn value_fact(&self, s: &mut Step, want: i32, meaning: &str);
    /// In a racer child: opens the semaphore.
    fn in_child(&self) -> Result<Self::InChild, Errno>;
    /// The race with the semaphore: its title, calls and explanation.
    fn guarded(&self, pids: [i32; 2]) -> Step;
    /// More facts after the guarded race.
    fn after_guarded(&self, _s: &mut Step, _pids: [i32; 2]) {}
    /// Steps only this backend has (System V: SEM_UNDO), after the races.
    fn only_here(&self, _rt: &Runtime, _n: &mut Narrator) -> Result<()> {
        Ok(())
    }
    /// In a child: takes the semaphore in a way nothing undoes when the child dies.
    fn hold(&self) -> bool;
    /// The call a dead holder made, for its step.
    fn hold_call(&self, pid: i32) -> String;
    /// Sets the value back to 1, as an administrator would after a holder died.
    fn repair(&self) -> Result<()>;
    /// The last step: removes the semaphore and proves it gone.
    fn remove(&mut self) -> Result<Step>;
}

pub(super) fn run(lab: &mut Lab) -> Result<String> {
    if lab.posix {
        story::<posix::Semaphore>(lab)
    } else {
        story::<sysv::Semaphore>(lab)
    }
}

fn story<S: Semaphore>(lab: &mut Lab) -> Result<String> {
    let (rt, n) = (lab.rt, &mut lab.narrator);
    let me = rt.pid();
    n.begin(S::TITLE, S::INTRO)?;

    let mut sem = S::create(me)?;
    let object = sem.object();
    let look = super::look(&object);
    n.object("created", &object)?;
    let mut s = sem.created(me).pid("demo", me).try_it(look.clone());
    sem.value_fact(&mut s, 1, "free");
    n.step(s)?;

    let map = Mapping::anonymous(4096, Sharing::Shared);
    crate::teach::trace::record(
        "mmap",
        "NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0",
        crate::teach::trace::ret(
            &map.as_ref()
                .map(|m| format!("{:#x}", m.addr()))
                .map_err(|e| *e),
        ),
    );
    let map = map
        .map_err(io_err)
        .context("mmap(MAP_SHARED|MAP_ANONYMOUS)")?;
    if S::SHOWS_MAPPING {
        let mut s = Step::new("A counter in memory shared with the children")
            .call(
                "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_ANONYMOUS, -1, 0)",
                format!("{:#x}", map.addr()),
            )
            .explain(
                "A shared mapping stays shared across fork: parent and children see the same page \
                 (the s in rw-s).",
            )
            .pid("demo", me)
            .try_it(format!("grep rw-s /proc/{me}/maps"));
        shared_map_fact(&mut s, me, map.addr());
        n.step(s)?;
    }

    let (lost, took, pids) = race::<S>(rt, map.word(), None)?;
    let mut s = Step::new(S::UNGUARDED.title)
        .call(
            format!(
                "sched_setaffinity(0, {{one CPU}}); {ROUNDS} times: v = counter; sched_yield(); counter = v + 1, in PIDs {} and {}",
                pids[0], pids[1]
            ),
            format!("done in {} ms", took.as_millis()),
        )
        .explain(S::UNGUARDED.explain)
        .pid("racer_a", pids[0])
        .pid("racer_b", pids[1])
        .try_it("taskset -c 0 sh -c 'for i in 1 2; do (for j in $(seq 200); do n=$(cat /tmp/n 2>/dev/null || echo 0); echo $((n+1)) > /tmp/n; done) & done; wait; cat /tmp/n; rm /tmp/n'   # fewer than 400");
    race_ev(&mut s, lost, false);
    n.step(s)?;

    let (v, took, pids) = race(rt, map.word(), Some(&sem))?;
    let mut s = sem
        .guarded(pids)
        .result(format!("done in {} ms", took.as_millis()))
        .pid("racer_a", pids[0])
        .pid("racer_b", pids[1])
        .try_it(look.clone());
    race_ev(&mut s, v, true);
    sem.value_fact(&mut s, 1, "free again");
    sem.after_guarded(&mut s, pids);
    n.step(s)?;

    sem.only_here(rt, n)?;

    // A holder dies, and nothing gives the semaphore back.
    let mut rep = Channel::new()?;
    let mut h = rt.spawn("semaphore holder", || {
        let report = rep.child_side();
        holder(report, || sem.hold())
    })?;
    rep.close_write();
    if rep.recv(rt, T)?.as_deref() != Some("holding") {
        bail!("the holder (PID {}) did not take the semaphore", h.raw());
    }
    let hpid = h.raw();
    h.signal(Signal::SIGKILL)?;
    let hst = rt.reap(&mut h, T)?;
    let mut s = Step::new(S::DEAD_HOLDER.title)
        .call(
            format!("{}; kill({hpid}, SIGKILL)", sem.hold_call(hpid)),
            "0, 0",
        )
        .explain(S::DEAD_HOLDER.explain)
        .pid("holder", hpid)
        .try_it(look.clone());
    s.fact_mut(
        format!("waitpid({hpid}, &status, WNOHANG)"),
        "status",
        describe(hst),
        "died holding it",
        hst == WaitStatus::Signaled(h.pid, Signal::SIGKILL, false),
    );
    sem.value_fact(&mut s, 0, "still taken: nothing undone");
    sem.repair()?;
    sem.value_fact(&mut s, 1, S::REPAIRED);
    n.step(s)?;

    n.step(sem.remove()?.pid("demo", me).try_it(look))?;
    n.object("removed", &object)?;
    drop(sem);
    Ok(format!(
        "{} updates lost without the semaphore, none with it; {}",
        (2 * ROUNDS).saturating_sub(lost),
        S::SUMMARY_END
    ))
}

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
            let r = sched_setaffinity(me, &one);
            crate::teach::trace::record(
                "sched_setaffinity",
                format!("0, {}, [{cpu}]", std::mem::size_of::<CpuSet>()),
                crate::teach::trace::ret(&r.map(|()| 0)),
            );
        }
    }
}

/// A racer child: waits for the start (EOF on `go`), then does ROUNDS increments, each
/// between a take and a give of `guard` when there is one.
fn racer<S: Semaphore>(counter: &AtomicU64, guard: Option<&S>, go: &Gate) -> i32 {
    pin_to_one_cpu();
    go.wait();
    let lock = match guard.map(S::in_child).transpose() {
        Ok(lock) => lock,
        Err(_) => return 3,
    };
    for _ in 0..ROUNDS {
        if lock.as_ref().is_some_and(|l| l.take().is_err()) {
            return 2;
        }
        bump(counter);
        if lock.as_ref().is_some_and(|l| l.give().is_err()) {
            return 2;
        }
    }
    0
}

/// Runs two racers and returns the final counter, the time taken and their PIDs.
fn race<S: Semaphore>(
    rt: &Runtime,
    counter: &AtomicU64,
    guard: Option<&S>,
) -> Result<(u64, Duration, [i32; 2])> {
    counter.store(0, Ordering::Relaxed);
    let mut go = Gate::new()?;
    let mut kids = Vec::new();
    for _ in 0..2 {
        kids.push(rt.spawn("counter process", || {
            go.child_side();
            racer(counter, guard, &go)
        })?);
    }
    let t0 = Instant::now();
    go.open(0)?; // EOF: both start together
    for k in &mut kids {
        let st = rt.reap(k, Duration::from_secs(60))?;
        if !matches!(st, WaitStatus::Exited(_, 0)) {
            bail!("counter process {} {}", k.raw(), describe(st));
        }
    }
    let took = t0.elapsed();
    Ok((
        counter.load(Ordering::Relaxed),
        took,
        [kids[0].raw(), kids[1].raw()],
    ))
}

/// The race's outcome: `guarded` makes "no update lost" a checked fact. Without a guard the
/// count depends on timing and is only shown.
fn race_ev(s: &mut Step, v: u64, guarded: bool) {
    let expected = 2 * ROUNDS;
    s.show_mut(
        "arithmetic",
        "expected",
        expected.to_string(),
        format!("2 processes × {ROUNDS} increments"),
    );
    s.show_mut(
        "shared memory",
        "counter",
        v.to_string(),
        "what the shared memory holds",
    );
    let lost = expected.saturating_sub(v).to_string();
    let meaning = "increments overwritten by the other process";
    if guarded {
        s.fact_mut(
            "shared memory",
            "lost updates",
            lost,
            meaning,
            v == expected,
        );
    } else {
        // Both racers share one CPU and yield inside the window (see `bump`), so the scheduler
        // interleaves them there: updates are lost on every machine, not only by luck.
        s.fact_mut("shared memory", "lost updates", lost, meaning, v < expected);
    }
}

/// A child that takes the semaphore with `take`, says so, and sleeps holding it until it is
/// killed.
fn holder(report: Sender, take: impl FnOnce() -> bool) -> i32 {
    if !take() {
        return 1;
    }
    report.line("holding");
    loop {
        nix::unistd::pause();
    }
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
        "mapping",
        line.clone().unwrap_or_else(|| "(no such mapping)".into()),
        "rw-s: shared, not copied on write",
        perms == "rw-s",
    );
}

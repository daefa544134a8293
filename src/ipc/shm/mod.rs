//! `ipc demo shm`: one story of shared memory, told with either backend. An object is made;
//! the demo maps it; a child maps it too and writes, and the demo reads the child's words
//! with no system call; the object is removed while still mapped, and lives on until the
//! last mapping goes. [`sysv`] tells it with shmget and shmat (nattch in /proc/sysvipc/shm
//! going 1, 2, 1, SHM_DEST), [`posix`] with shm_open, ftruncate and mmap (a file in /dev/shm).
//! Each supplies the calls and the evidence, this file the story.

mod posix;
mod sysv;

use std::sync::atomic::AtomicU8;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::wait::WaitStatus;

use crate::sys::mman::{self, Mapping};
use crate::sys::sysv::ShmAttach;
use crate::teach::lab::Lab;
use crate::teach::narrate::{Object, Step};
use crate::teach::probe;
use crate::teach::runtime::{Channel, Gate, Sender, describe};

/// The size of the object: one page on every machine the demo runs on.
const SIZE: usize = 4096;

/// How long the demo waits for a child's answer or exit.
const T: Duration = Duration::from_secs(5);

/// Shared memory mapped into this process.
trait Memory {
    /// Where it is in this process's memory.
    fn addr(&self) -> usize;
    /// Its bytes (atomics: another process writes them).
    fn bytes(&self) -> &[AtomicU8];
}

impl Memory for ShmAttach {
    fn addr(&self) -> usize {
        ShmAttach::addr(self)
    }
    fn bytes(&self) -> &[AtomicU8] {
        ShmAttach::bytes(self)
    }
}

impl Memory for Mapping {
    fn addr(&self) -> usize {
        Mapping::addr(self)
    }
    fn bytes(&self) -> &[AtomicU8] {
        Mapping::bytes(self)
    }
}

/// One kind of shared memory: the calls each step of the story makes, and what the kernel
/// shows of it.
trait Segment: Sized {
    /// The narration's heading and opening paragraph.
    const TITLE: &'static str;
    const INTRO: &'static str;
    /// The closing summary.
    const SUMMARY: &'static str;
    /// Whether the child is forked before the object exists (it finds it by name), rather
    /// than after it was made and before the demo maps it (it finds it by identifier).
    const FORKS_FIRST: bool;
    /// Whether the child unmaps it on its own, as a step, before it exits.
    const CHILD_UNMAPS: bool;

    /// The memory as mapped into a process.
    type Mapped: Memory;

    /// Names the object, without making it yet.
    fn new() -> Self;
    /// Makes it.
    fn create(&mut self) -> Result<()>;
    /// The object as an object event.
    fn object(&self) -> Object;
    /// Step 1: the calls that made it, why it matters, and what the kernel shows of it.
    fn created(&self, me: i32) -> Step;
    /// Maps it into the demo.
    fn map(&self) -> Result<Self::Mapped>;
    /// Step 2: the demo's mapping, and what the kernel shows of it.
    fn mapped(&self, m: &Self::Mapped, me: i32) -> Step;
    /// In the child: maps it, or says why not (a line for the report pipe).
    fn map_in_child(&self) -> Result<Self::Mapped, String>;
    /// In the child: unmaps it explicitly, when [`Segment::CHILD_UNMAPS`].
    fn unmap_in_child(&self, m: Self::Mapped) {
        drop(m);
    }
    /// Step 3: the child's calls, and what the kernel shows of its mapping. The demo's read
    /// of what the child wrote follows in the same step, or in one of its own when the child
    /// unmaps on its own (the story then has a step per move).
    fn child_wrote(&self, cpid: i32, message: &str) -> Step;
    /// The step after the child unmapped it, when [`Segment::CHILD_UNMAPS`].
    fn child_unmapped(&self, _cpid: i32) -> Option<Step> {
        None
    }
    /// Removes the object while the demo still maps it.
    fn remove(&mut self) -> Result<()>;
    /// The removal's step: calls and explanation (the story adds the facts that are the same
    /// for every backend).
    fn removed(&self) -> Step;
    /// What the kernel shows of the removed but still mapped object.
    fn removed_evidence(&self, s: &mut Step, me: i32);
    /// Unmaps the demo's mapping: the object's end. A step when the backend shows it.
    fn last_unmap(&mut self, m: Self::Mapped) -> Result<Option<Step>> {
        drop(m);
        Ok(None)
    }
}

pub(super) fn run(lab: &mut Lab) -> Result<String> {
    if lab.posix {
        story::<posix::Segment>(lab)
    } else {
        story::<sysv::Segment>(lab)
    }
}

fn story<S: Segment>(lab: &mut Lab) -> Result<String> {
    let (rt, n) = (lab.rt, &mut lab.narrator);
    let me = rt.pid();
    n.begin(S::TITLE, S::INTRO)?;

    let mut seg = S::new();
    let mut rep = Channel::new()?;
    let mut go = Gate::new()?;
    let mut fork = |seg: &S| {
        let child = rt.spawn("shm child", || {
            let report = rep.child_side();
            go.child_side();
            child(seg, report, &go)
        });
        rep.close_write();
        go.parent_side();
        child
    };
    let early = if S::FORKS_FIRST {
        Some(fork(&seg)?)
    } else {
        None
    };
    seg.create()?;
    let object = seg.object();
    let look = super::look(&object);
    n.object("created", &object)?;
    n.step(seg.created(me).pid("demo", me).try_it(look.clone()))?;
    let mut child = match early {
        Some(c) => c,
        None => fork(&seg)?,
    };
    let cpid = child.raw();

    let mine = seg.map()?;
    n.step(
        seg.mapped(&mine, me)
            .pid("demo", me)
            .try_it(format!("grep -E 'SYSV|/dev/shm' /proc/{me}/maps")),
    )?;

    go.send().context("write to the child")?;
    let said = rep.recv(rt, T)?.unwrap_or_default();
    if said != "written" {
        bail!("the child could not map the shared memory: {said}");
    }
    let message = format!("hello from PID {cpid}");
    let text = mman::read_text(mine.bytes());
    let mut s = seg
        .child_wrote(cpid, &message)
        .pid("child", cpid)
        .try_it(look.clone());
    if S::CHILD_UNMAPS {
        n.step(s)?;
        s = Step::new("The demo reads what the child wrote")
            .call(
                format!("read {:#x} in PID {me}", mine.addr()),
                format!("\"{text}\""),
            )
            .explain(
                "The demo made no system call to get this: both mappings are the same physical \
                 page.",
            )
            .pid("demo", me)
            .pid("child", cpid)
            .try_it(format!("grep -E 'SYSV|/dev/shm' /proc/{me}/maps"));
    }
    memory_fact(&mut s, mine.addr(), &text, &message, "written by the child");
    n.step(s)?;

    if S::CHILD_UNMAPS {
        go.send().context("write to the child")?;
        let said = rep.recv(rt, T)?.unwrap_or_default();
        if said != "detached" {
            bail!("the child did not detach: {said}");
        }
        if let Some(s) = seg.child_unmapped(cpid) {
            n.step(s.pid("child", cpid).try_it(look.clone()))?;
        }
    }
    drop(go);
    let st = rt.reap(&mut child, T)?;

    seg.remove()?;
    let mut s = seg.removed().pid("demo", me).try_it(look.clone());
    s.fact_mut(
        format!("waitpid({cpid}, &status, WNOHANG)"),
        "status",
        describe(st),
        "the child is gone",
        st == WaitStatus::Exited(child.pid, 0),
    );
    seg.removed_evidence(&mut s, me);
    memory_fact(
        &mut s,
        mine.addr(),
        &mman::read_text(mine.bytes()),
        &message,
        "still readable",
    );
    n.step(s)?;

    if let Some(s) = seg.last_unmap(mine)? {
        n.step(s.pid("demo", me).try_it(look))?;
    }
    drop(seg);
    n.object("removed", &object)?;
    Ok(S::SUMMARY.to_string())
}

/// The child: waits for its cue, maps the memory and writes into it, reports, and waits for
/// the next cue; a backend whose child unmaps on its own does it then, and waits once more.
fn child<S: Segment>(seg: &S, report: Sender, go: &Gate) -> i32 {
    if !go.wait() {
        return 2;
    }
    let m = match seg.map_in_child() {
        Ok(m) => m,
        Err(why) => {
            report.line(&why);
            return 1;
        }
    };
    mman::write_text(
        m.bytes(),
        format!("hello from PID {}", std::process::id()).as_bytes(),
    );
    report.line("written");
    go.wait();
    if S::CHILD_UNMAPS {
        // Explicitly (exit would too), so that the demo can show it.
        seg.unmap_in_child(m);
        report.line("detached");
        go.wait();
    }
    0
}

/// The lines of /proc/PID/maps naming `needle`, as the proof that the object is mapped
/// there shared (`s` in the permissions), or, with `deleted`, mapped under a name that was
/// unlinked.
fn maps_fact(s: &mut Step, pid: i32, needle: &str, deleted: bool, meaning: &str) {
    let lines = probe::maps_lines(pid, needle);
    if lines.is_empty() {
        s.fact_mut(
            format!("/proc/{pid}/maps"),
            "mapping",
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
        s.fact_mut(
            format!("/proc/{pid}/maps"),
            "mapping",
            l,
            meaning.to_string(),
            holds,
        );
    }
}

/// What the demo read from shared memory, as the proof that it is `want`.
fn memory_fact(s: &mut Step, addr: usize, got: &str, want: &str, meaning: &str) {
    s.fact_mut(
        "memory",
        format!("{addr:#x}"),
        format!("\"{got}\""),
        meaning.to_string(),
        got == want,
    );
}

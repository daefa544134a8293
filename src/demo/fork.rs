//! `demo fork`: fork returns twice, the child's parent is the caller, private memory is copied
//! on write (shown with the page frames from /proc/PID/pagemap when we may read them) while
//! shared memory stays shared, and page tables are copied only where they must be.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::json;

use super::gone_evidence;
use crate::sys::mman::{self, Mapping, Sharing};
use crate::sys::process::{self, ForkResult};
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe::{self, PF_FORKNOEXEC};
use crate::teach::runtime::{self, channel};
use crate::teach::trace;

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::FORK,
    run,
};

/// The heading of its narration.
const TITLE: &str = "fork() returns twice, and the child is a copy-on-write copy of the parent";

/// What it shows, before the steps.
const INTRO: &str = "The notes: copy_process() creates the new process as a copy of the parent. \
     Here the demo forks, and both copies report what they see: fork's two return values, the \
     child's parent, and what \"a copy\" means for memory: private pages shared until one side \
     writes, shared pages never copied, page tables copied only where they cannot be rebuilt.";

const T: Duration = Duration::from_secs(5);

/// The size of the file-backed shared area whose page tables fork does not copy: 16 MiB, eight
/// page-table pages of 4 KiB (one per 2 MiB) on x86_64 and arm64 with 4 KiB pages.
const FILE_AREA: usize = 16 << 20;

/// One anonymous page, unmapped on Drop: the variable the child changes lives alone in it,
/// so nothing else the parent does touches that page.
struct Page(Mapping);

impl Page {
    fn new(sharing: Sharing) -> Result<Page> {
        Mapping::anonymous(mman::page_size(), sharing)
            .map(Page)
            .map_err(std::io::Error::from)
            .context("mmap of one page failed")
    }
    fn get(&self) -> u64 {
        self.0.word().load(Ordering::Relaxed)
    }
    fn set(&self, v: u64) {
        self.0.word().store(v, Ordering::Relaxed)
    }
    fn addr(&self) -> usize {
        self.0.addr()
    }
}

/// A memfd mapped MAP_SHARED and filled, page by page: file-backed memory whose page tables
/// fork leaves behind (there is no anonymous page in it to protect).
struct FileArea(Mapping);

impl FileArea {
    /// Made before step 1's fork: its calls are recorded there, before the clone, where
    /// strace -f shows them.
    fn new() -> Result<FileArea> {
        let fd = nix::sys::memfd::memfd_create(
            c"zombies-demo-fork",
            nix::sys::memfd::MFdFlags::MFD_CLOEXEC,
        )
        .context("memfd_create failed")?;
        let raw = fd.as_raw_fd();
        trace::record(
            "memfd_create",
            "\"zombies-demo-fork\", MFD_CLOEXEC",
            raw.to_string(),
        );
        nix::unistd::ftruncate(&fd, FILE_AREA as i64).context("ftruncate of the memfd failed")?;
        trace::record("ftruncate", format!("{raw}, {FILE_AREA}"), "0");
        let m = Mapping::shared_file(std::os::fd::AsFd::as_fd(&fd), FILE_AREA)
            .map_err(std::io::Error::from)
            .context("mmap of the memfd failed")?;
        trace::record(
            "mmap",
            format!("NULL, {FILE_AREA}, PROT_READ|PROT_WRITE, MAP_SHARED, {raw}, 0"),
            format!("{:#x}", m.addr()),
        );
        // 4 KiB pages, so each 2 MiB needs a page-table page, even where shmem THP is enabled.
        let advised = m.no_huge_pages();
        trace::record(
            "madvise",
            format!("{:#x}, {FILE_AREA}, MADV_NOHUGEPAGE", m.addr()),
            trace::ret(&advised.map(|()| 0)),
        );
        // The mapping keeps the memory; the descriptor is no longer needed.
        drop(fd);
        trace::record("close", raw.to_string(), "0");
        let page = mman::page_size();
        for (i, cell) in m.bytes().iter().step_by(page).enumerate() {
            cell.store((i % 251) as u8, Ordering::Relaxed);
        }
        Ok(FileArea(m))
    }

    /// Reads every page (in the child: each read faults its page table entry back in) and
    /// says whether each holds what the parent wrote.
    fn verify(&self) -> bool {
        let page = mman::page_size();
        self.0
            .bytes()
            .iter()
            .step_by(page)
            .enumerate()
            .all(|(i, cell)| cell.load(Ordering::Relaxed) == (i % 251) as u8)
    }
}

fn frame_text(f: Option<u64>) -> String {
    match f {
        Some(0) => "hidden".into(),
        Some(f) => format!("{f:#x}"),
        None => "not present".into(),
    }
}

/// VmPTE of /proc/self/status in kB.
fn own_pte() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    probe::field(&s, "VmPTE")?
        .trim_end_matches(" kB")
        .trim()
        .parse()
        .ok()
}

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, INTRO)?;
    let private = Page::new(Sharing::Private)?;
    private.set(42);
    let shared = Page::new(Sharing::Shared)?;
    shared.set(42);
    let area = FileArea::new()?;
    let frame_before = probe::page_frame("self", private.addr());
    let shared_frame = probe::page_frame("self", shared.addr());
    let parent_pte = own_pte();
    let (tx, mut rx) = channel()?;
    let mut gate = runtime::Gate::new()?;
    let parent = nix::unistd::getpid();

    lab.narrator.flush()?;
    // fork itself, to show both of its return values: the child's PID in the parent, 0 in
    // the child.
    let forked = process::fork().context("fork failed")?;
    let ret = match forked {
        ForkResult::Parent { child } => child.as_raw(),
        ForkResult::Child => 0,
    };
    if ret == 0 {
        // The child: it only reads /proc, writes its pages and the pipe, and never returns
        // into the demo's frames.
        process::run_child(|| {
            runtime::child_setup(parent);
            gate.child_side();
            let pte_forked = own_pte();
            let before = probe::page_frame("self", private.addr());
            let seen = private.get();
            private.set(7); // the write that makes the kernel copy the page for the child
            let after = probe::page_frame("self", private.addr());
            let shared_before = probe::page_frame("self", shared.addr());
            shared.set(9); // a write to a MAP_SHARED page: no copy, the parent sees it
            let shared_after = probe::page_frame("self", shared.addr());
            let intact = area.verify();
            let pte_touched = own_pte();
            tx.send(&json!({
                "fork_returned": ret,
                "getpid": nix::unistd::getpid().as_raw(),
                "getppid": nix::unistd::getppid().as_raw(),
                "seen": seen,
                "value": private.get(),
                "frame_before": before,
                "frame_after": after,
                "shared_before": shared_before,
                "shared_after": shared_after,
                "area_intact": intact,
                "pte_forked": pte_forked,
                "pte_touched": pte_touched,
            }));
            gate.wait();
            0
        });
    }
    if trace::on() {
        match lab.fork_call() {
            Some(args) => trace::record("clone", args, ret.to_string()),
            None => trace::record("fork", "", ret.to_string()),
        }
    }
    let mut child = lab.track(ret, "child");
    drop(tx);
    let msg = rx.json(lab.rt, T)?;
    let pid = child.raw();
    let me = lab.pid();
    let num = |k: &str| msg[k].as_i64().unwrap_or(-1);

    lab.step(
        Step::new("fork() returns twice: the child's PID in the parent, 0 in the child")
            .syscall("fork()")
            .result(format!(
                "parent: {ret} (the new child's PID); child: {} (reported through a pipe)",
                num("fork_returned")
            ))
            .explain("One call, two returns: the kernel made the child as a copy of the calling process (copy_process) and both copies resume from the same fork() call, told apart only by its return value.")
            .evidence(
                Evidence::new("fork() in the parent", "return", ret, "the child's PID")
                    .check(ret > 0),
            )
            .evidence(
                Evidence::new("fork() in the child", "return", num("fork_returned"), "0 means \"you are the child\"")
                    .check(num("fork_returned") == 0),
            )
            .evidence(
                Evidence::new("getpid() in the child", "pid", num("getpid"), "the same number the parent got")
                    .check(num("getpid") == i64::from(pid)),
            )
            .diagram({
                let head = format!("demo {me} ── fork() ──");
                let pad = " ".repeat(head.chars().count());
                format!(
                    "{head}┬── returns {pid} in the parent: the child's PID\n\
                     {pad}└── returns 0 in the child {pid}: a copy, resuming at the same point"
                )
            })
            .pid("child", pid)
            .pid("parent", me)
            .try_it("strace -f -e trace=clone,clone3,fork,vfork sh -c 'true & wait'"),
    )?;

    let status = probe::status(&lab.procfs, pid)?;
    let ppid = probe::field(&status, "PPid").unwrap_or_default();
    let st = probe::stat(&lab.procfs, pid)?;
    let my_exe = probe::exe(me);
    let child_exe = probe::exe(pid);
    lab.step(
        Step::new("The child's parent is the process that called fork()")
            .syscall(format!("read /proc/{pid}/status and /proc/{pid}/stat"))
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/status"),
                    "PPid",
                    &ppid,
                    format!("its parent is this demo ({me})"),
                )
                .check(ppid == me.to_string()),
            )
            .evidence(
                Evidence::new(
                    "getppid() in the child",
                    "ppid",
                    num("getppid"),
                    "what the child itself sees",
                )
                .check(num("getppid") == i64::from(me)),
            )
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/stat"),
                    "flags (9)",
                    probe::flags_text(st.flags),
                    "PF_FORKNOEXEC: forked, has not called exec",
                )
                .check(st.flags & PF_FORKNOEXEC != 0),
            )
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/exe"),
                    "link",
                    &child_exe,
                    "the same program as the parent: it is a copy",
                )
                .check(child_exe == my_exe),
            )
            .pid("child", pid)
            .pid("parent", me)
            .try_it(format!(
                "grep -E 'State|PPid' /proc/{pid}/status; ps -o pid,ppid,stat,comm -p {pid}"
            )),
    )?;

    let value_parent = private.get();
    let frame_parent = probe::page_frame("self", private.addr());
    let child_before = msg["frame_before"].as_u64();
    let child_after = msg["frame_after"].as_u64();
    let shared_parent = shared.get();
    let frames_visible = frame_parent.is_some_and(|f| f != 0);
    let mut step = Step::new("Copy-on-write: the child's write to a private page did not reach the parent; to a shared page it did")
        .syscall(format!(
            "child: *{:#x} = 7 (MAP_PRIVATE); *{:#x} = 9 (MAP_SHARED); parent reads both",
            private.addr(),
            shared.addr()
        ))
        .result(format!(
            "private: child sees {}, parent still sees {value_parent}; shared: parent sees {shared_parent}",
            msg["value"]
        ))
        .explain("fork() copies no memory up front. Private pages (MAP_PRIVATE: the heap, the stack, written data) become read-only in both processes, and the first write to one makes the kernel copy that page for the writer (copy-on-write). Shared pages (MAP_SHARED) are not write-protected: both processes keep writing the one page.")
        .evidence(
            Evidence::new(
                "child memory",
                format!("*{:#x}", private.addr()),
                msg["value"].to_string(),
                "the child wrote 7 over 42 in its private page",
            )
            .check(msg["seen"] == 42 && msg["value"] == 7),
        )
        .evidence(
            Evidence::new(
                "parent memory",
                format!("*{:#x}", private.addr()),
                value_parent,
                "unchanged: same address, different memory",
            )
            .check(value_parent == 42),
        )
        .evidence(
            Evidence::new(
                "parent memory",
                format!("*{:#x}", shared.addr()),
                shared_parent,
                "the child's 9 in the MAP_SHARED page: one page for both",
            )
            .check(shared_parent == 9),
        );
    let shared_before = msg["shared_before"].as_u64();
    let present = |f: Option<u64>| {
        if f.is_some() {
            "present"
        } else {
            "not present"
        }
    };
    step = step
        .evidence(
            Evidence::new(
                format!("/proc/{pid}/pagemap"),
                "private page after fork",
                present(child_before),
                "its page table entry was copied, write-protected",
            )
            .check(child_before.is_some()),
        )
        .evidence(
            Evidence::new(
                format!("/proc/{pid}/pagemap"),
                "shared page after fork",
                present(shared_before),
                "no entry at all: fork copied none for a shared area (see the next step)",
            )
            .check(shared_before.is_none()),
        );
    if frames_visible {
        let shared_after = msg["shared_after"].as_u64();
        step = step
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/pagemap"),
                    "private frame before write",
                    frame_text(child_before),
                    "the same physical page as the parent's: shared after fork",
                )
                .check(child_before == frame_parent && child_before == frame_before),
            )
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/pagemap"),
                    "private frame after write",
                    frame_text(child_after),
                    "a new page: the kernel copied it on the child's write",
                )
                .check(child_after.is_some() && child_after != frame_parent),
            )
            .evidence(Evidence::new(
                format!("/proc/{me}/pagemap"),
                "parent's private frame",
                frame_text(frame_parent),
                "the parent kept the original page",
            ))
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/pagemap"),
                    "shared frame after write",
                    frame_text(shared_after),
                    "the parent's frame: the write faulted the entry in, and nothing was copied",
                )
                .check(shared_after.is_some() && shared_after == shared_frame),
            );
    } else {
        step = step.explain("Physical page frames in /proc/PID/pagemap are hidden without CAP_SYS_ADMIN: run as root to see the private page split into two on the write, and the shared one stay one.");
    }
    lab.step(step.pid("child", pid).pid("parent", me).try_it(format!(
        "grep -E '^(Rss|Shared_|Private_)' /proc/{pid}/smaps_rollup"
    )))?;

    let pte_forked = msg["pte_forked"].as_u64();
    let pte_touched = msg["pte_touched"].as_u64();
    let grew = match (pte_forked, pte_touched) {
        (Some(a), Some(b)) => b.saturating_sub(a),
        _ => 0,
    };
    // One page-table page of 4 KiB maps 2 MiB: the 16 MiB area needs 8 of them (9 when it
    // straddles a 2 MiB boundary). Allow one fewer, for a table shared with a neighbour.
    let tables = (FILE_AREA / (2 << 20)) as u64 * 4;
    let kb = |v: Option<u64>| v.map_or("(unreadable)".to_string(), |v| format!("{v} kB"));
    lab.step(
        Step::new("Page tables: fork copies them only where a page fault could not rebuild them")
            .syscall(
                "before step 1's fork, in the demo: memfd_create, ftruncate, mmap(16 MiB, MAP_SHARED), a write to every page; right after that fork, in the child: a read of every page (page faults, no system call)",
            )
            .result(format!(
                "the child read what the parent wrote: {}",
                if msg["area_intact"] == true { "every page" } else { "NOT every page" }
            ))
            .explain("fork() copies the page tables of areas that hold anonymous pages (their entries must be write-protected for copy-on-write); areas with none, such as this shared file-backed one, get empty tables and are refilled on the first fault in each page (copy_page_range skips them: vma_needs_copy). So VmPTE, the size of the page tables, is an upper bound of what fork copied.")
            .evidence(Evidence::new(
                format!("/proc/{me}/status"),
                "VmPTE",
                kb(parent_pte),
                "the parent's page tables, the 16 MiB area's included",
            ))
            .evidence(Evidence::new(
                format!("/proc/{pid}/status"),
                "VmPTE after fork",
                kb(pte_forked),
                "the child's, read first thing: without the area's tables",
            ))
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/status"),
                    "VmPTE after reading",
                    kb(pte_touched),
                    format!("+{grew} kB: the area's tables, rebuilt by the child's own faults (about {tables} kB)"),
                )
                .check(grew + 4 >= tables),
            )
            .evidence(
                Evidence::new(
                    "child memory",
                    "16 MiB area",
                    if msg["area_intact"] == true { "as written" } else { "different" },
                    "the same file pages, reached through the new tables",
                )
                .check(msg["area_intact"] == true),
            )
            .pid("child", pid)
            .pid("parent", me)
            .try_it(format!("grep VmPTE /proc/{me}/status /proc/{pid}/status")),
    )?;
    drop(area);

    gate.open(1)?;
    let ws = lab.reap(&mut child, T)?;
    let gone = probe::gone(&lab.procfs, pid, st.starttime);
    lab.conclude(
        Step::new("The child exits and its parent reaps it")
            .syscall(format!("read(signalfd) → SIGCHLD from {pid}; wait4({pid}, &status, WNOHANG, NULL)"))
            .result(runtime::describe(ws))
            .explain("The demo blocks SIGCHLD and reads it from a signalfd, so it can wait for a child and for Ctrl-C in one poll(); when SIGCHLD says a child exited, wait4 with WNOHANG collects it without ever blocking. Every child a process forks must be waited for; the `exit` and `zombie` demos show what happens in between.")
            .evidence(gone_evidence(pid, gone, "reaped: the PID is free again"))
            .pid("child", pid)
            .try_it(format!("ps -p {pid} || echo 'no process {pid}: reaped'")),
    )?;
    Ok(String::new())
}

//! `demo fork`: fork returns twice, the child's parent is the caller, and memory is copied
//! on write (shown with the page frames from /proc/PID/pagemap when we may read them).

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

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::FORK,
    run,
};

/// The heading of its narration.
const TITLE: &str = "fork() returns twice, and the child is a copy-on-write copy of the parent";

const T: Duration = Duration::from_secs(5);

/// One private anonymous page, unmapped on Drop: the variable the child changes lives
/// alone in it, so nothing else the parent does touches that page.
struct Page(Mapping);

impl Page {
    fn new() -> Result<Page> {
        Mapping::anonymous(mman::page_size(), Sharing::Private)
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

fn frame_text(f: Option<u64>) -> String {
    match f {
        Some(0) => "hidden".into(),
        Some(f) => format!("{f:#x}"),
        None => "not present".into(),
    }
}

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, "")?;
    let page = Page::new()?;
    page.set(42);
    let frame_before = probe::page_frame("self", page.addr());
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
        // The child: it only reads /proc, writes its page and the pipe, and never returns
        // into the demo's frames.
        process::run_child(|| {
            runtime::child_setup(parent);
            gate.child_side();
            let before = probe::page_frame("self", page.addr());
            let seen = page.get();
            page.set(7); // the write that makes the kernel copy the page for the child
            let after = probe::page_frame("self", page.addr());
            tx.send(&json!({
                "fork_returned": ret,
                "getpid": nix::unistd::getpid().as_raw(),
                "getppid": nix::unistd::getppid().as_raw(),
                "seen": seen,
                "value": page.get(),
                "frame_before": before,
                "frame_after": after,
            }));
            gate.wait();
            0
        });
    }
    let mut child = lab.track(ret, "child");
    drop(tx);
    let msg = rx.json(lab.rt, T)?;
    let pid = child.raw();
    let num = |k: &str| msg[k].as_i64().unwrap_or(-1);

    lab.step(
        Step::new("fork() returns twice: the child's PID in the parent, 0 in the child")
            .syscall("fork()")
            .result(format!(
                "parent: {ret} (the new child's PID); child: {} (reported through a pipe)",
                num("fork_returned")
            ))
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
            .pid("child", pid)
            .pid("parent", lab.pid())
            .note("One call, two returns: the kernel copied the calling process (copy_process) and both copies resume from the same fork() call, told apart only by its return value."),
    )?;

    let status = probe::status(&lab.procfs, pid)?;
    let ppid = probe::field(&status, "PPid").unwrap_or_default();
    let st = probe::stat(&lab.procfs, pid)?;
    let my_exe = probe::exe(lab.pid());
    let child_exe = probe::exe(pid);
    lab.step(
        Step::new("The child's parent is the process that called fork()")
            .syscall(format!("read /proc/{pid}/status and /proc/{pid}/stat"))
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/status"),
                    "PPid",
                    &ppid,
                    format!("its parent is this demo ({})", lab.pid()),
                )
                .check(ppid == lab.pid().to_string()),
            )
            .evidence(
                Evidence::new(
                    "getppid() in the child",
                    "ppid",
                    num("getppid"),
                    "what the child itself sees",
                )
                .check(num("getppid") == i64::from(lab.pid())),
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
            .pid("child", pid),
    )?;

    let value_parent = page.get();
    let frame_parent = probe::page_frame("self", page.addr());
    let child_before = msg["frame_before"].as_u64();
    let child_after = msg["frame_after"].as_u64();
    let frames_visible = frame_parent.is_some_and(|f| f != 0);
    let mut step = Step::new("Copy-on-write: the child's write did not change the parent's memory")
        .syscall(format!(
            "child: *{:#x} = 7; parent reads *{:#x}",
            page.addr(),
            page.addr()
        ))
        .result(format!(
            "child sees {}, parent still sees {value_parent}",
            msg["value"]
        ))
        .evidence(
            Evidence::new(
                "child memory",
                format!("*{:#x}", page.addr()),
                msg["value"].to_string(),
                "the child wrote 7 over 42",
            )
            .check(msg["seen"] == 42 && msg["value"] == 7),
        )
        .evidence(
            Evidence::new(
                "parent memory",
                format!("*{:#x}", page.addr()),
                value_parent,
                "unchanged: same address, different memory",
            )
            .check(value_parent == 42),
        );
    if frames_visible {
        step = step
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/pagemap"),
                    "frame before write",
                    frame_text(child_before),
                    "the same physical page as the parent's: shared after fork",
                )
                .check(child_before == frame_parent && child_before == frame_before),
            )
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/pagemap"),
                    "frame after write",
                    frame_text(child_after),
                    "a new page: the kernel copied it on the child's write",
                )
                .check(child_after.is_some() && child_after != frame_parent),
            )
            .evidence(Evidence::new(
                format!("/proc/{}/pagemap", lab.pid()),
                "parent's frame",
                frame_text(frame_parent),
                "the parent kept the original page",
            ));
    } else {
        step = step.note("Physical page frames in /proc/PID/pagemap are hidden without CAP_SYS_ADMIN: run as root to see the shared page split into two on the write.");
    }
    lab.step(step.pid("child", pid).note(
        "fork() copies no memory up front: parent and child share every page read-only, and the kernel copies a page only when one of them writes to it (copy-on-write). What fork still copies is the page tables.",
    ))?;

    gate.open(1)?;
    let ws = lab.reap(&mut child, T)?;
    let gone = probe::gone(&lab.procfs, pid, st.starttime);
    lab.conclude(
        Step::new("The child exits and its parent reaps it")
            .syscall(format!("waitpid({pid}, 0)"))
            .result(runtime::describe(ws))
            .evidence(gone_evidence(pid, gone, "reaped: the PID is free again"))
            .pid("child", pid)
            .note("Every child a process forks must be waited for; the `exit` and `zombie` demos show what happens in between."),
    )?;
    Ok(String::new())
}

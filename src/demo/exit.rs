//! `demo exit`: what do_exit leaves behind. Between its exit and its parent's wait, a child
//! is a zombie: state Z, PF_EXITING set, its memory gone (exit_mm), only its exit status
//! kept (stat field 52); waitpid collects the status and the process is gone.

use std::time::Duration;

use anyhow::Result;
use nix::sys::wait::WaitStatus;

use super::gone_evidence;
use crate::proc::stat::{ExitStatus, PF_EXITING};
use crate::sys::process;
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe;
use crate::teach::runtime::{self, Gate, channel};

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::EXIT,
    run,
};

/// The heading of its narration.
const TITLE: &str =
    "exit() and do_exit(): a dead child keeps only its exit status until its parent waits";

const T: Duration = Duration::from_secs(5);
/// Memory the child touches so that its VmRSS is visibly large while it lives.
const BALLAST: usize = 16 << 20;

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, "")?;
    let code = i32::from(lab.opts.code);
    let mut gate = Gate::new()?;
    let (tx, mut rx) = channel()?;
    let mut child = lab.spawn("child", || {
        gate.child_side();
        let ballast = vec![1u8; BALLAST];
        tx.send(&serde_json::json!({ "ready": ballast.len() }));
        gate.wait();
        std::hint::black_box(&ballast);
        // The process ends here with our chosen code; nothing of the parent's runs.
        process::exit_now(code)
    })?;
    drop(tx);
    let pid = child.raw();
    rx.json(lab.rt, T)?;
    let st = probe::stat(&lab.procfs, pid)?;
    let status = probe::status(&lab.procfs, pid)?;
    let rss = probe::field(&status, "VmRSS").unwrap_or_else(|| "(absent)".into());
    lab.step(
        Step::new("A live child holding 16 MiB of memory")
            .syscall("fork(); the child fills a 16 MiB buffer")
            .evidence(Evidence::new(
                format!("/proc/{pid}/stat"),
                "state (3)",
                st.state as char,
                probe::state_name(st.state),
            ))
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/stat"),
                    "flags (9)",
                    probe::flags_text(st.flags),
                    "no PF_EXITING: alive",
                )
                .check(st.flags & PF_EXITING == 0),
            )
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/status"),
                    "VmRSS",
                    &rss,
                    "resident memory: the 16 MiB are there",
                )
                .check(probe::field(&status, "VmRSS").is_some()),
            )
            .pid("child", pid),
    )?;

    lab.clear_sigchld()?;
    gate.open(1)?;
    // Wait for the death without collecting it: WNOWAIT leaves the zombie in place.
    lab.wait_exited_nowait(child.pid, T)?;
    lab.check()?;
    let z = probe::stat(&lab.procfs, pid)?;
    let zstatus = probe::status(&lab.procfs, pid)?;
    let vm_lines: Vec<&str> = zstatus.lines().filter(|l| l.starts_with("Vm")).collect();
    let decoded = z.exit_code.map(ExitStatus::from_wait_status);
    let mut step = Step::new(format!(
        "_exit({code}): the child is dead but not gone, a zombie"
    ))
    .syscall(format!(
        "child: _exit({code}); parent: waitid(P_PID, {pid}, WEXITED|WNOWAIT)"
    ))
    .result("the parent knows the child died, but WNOWAIT left it unreaped")
    .evidence(
        Evidence::new(
            format!("/proc/{pid}/stat"),
            "state (3)",
            z.state as char,
            probe::state_name(z.state),
        )
        .check(z.state == b'Z'),
    )
    .evidence(
        Evidence::new(
            format!("/proc/{pid}/stat"),
            "flags (9)",
            probe::flags_text(z.flags),
            "PF_EXITING (0x4): set by do_exit as it began",
        )
        .check(z.flags & PF_EXITING != 0),
    )
    .evidence(
        Evidence::new(
            format!("/proc/{pid}/status"),
            "Vm* lines",
            if vm_lines.is_empty() {
                "none".to_string()
            } else {
                vm_lines.join("; ")
            },
            "exit_mm released the address space: no VmRSS, no memory",
        )
        .check(vm_lines.is_empty()),
    )
    .evidence(
        Evidence::new(
            format!("/proc/{pid}/stat"),
            "exit_code (52)",
            z.exit_code.map_or("(unreadable)".into(), |c| c.to_string()),
            format!("the wait status kept for the parent: {code} << 8 = exit({code})"),
        )
        .check(decoded == Some(ExitStatus::Code(code))),
    );
    if let Some(sig) = lab.sigchld_from(pid) {
        step = step.evidence(
            Evidence::new(
                "signalfd",
                "SIGCHLD",
                format!("pid {} {} status {}", sig.pid, sig.code_name(), sig.status),
                "the kernel told the parent (exit_notify)",
            )
            .check(sig.code == libc::CLD_EXITED && sig.status == code),
        );
    }
    lab.step(
        step.pid("child", pid)
            .note("The path: _exit() makes the exit_group system call (sys_exit_group → do_group_exit → do_exit); a fatal signal reaches do_exit through do_group_exit as well. do_exit, completed from the notes: exit_signals() sets PF_EXITING; exit_mm() drops the memory; exit_files(), exit_fs() and the other exit_*() calls release files, cwd, semaphores and namespaces; exit_notify() reparents any children, signals SIGCHLD to the parent and makes the task a zombie; do_task_dead() schedules it away for good. (exit_mm is inlined on most kernels, so /proc/kallsyms may not list it.)")
            .note("Field 52 needs ptrace read access (root or the same user); others read 0."),
    )?;

    let ws = lab.reap(&mut child, T)?;
    let gone = probe::gone(&lab.procfs, pid, z.starttime);
    lab.conclude(
        Step::new("The parent waits: it collects the status and the zombie is gone")
            .syscall(format!("waitpid({pid}, &status, 0)"))
            .result(runtime::describe(ws))
            .evidence(
                Evidence::new("waitpid", "WEXITSTATUS", match ws {
                    WaitStatus::Exited(_, c) => c.to_string(),
                    other => format!("{other:?}"),
                }, "the code the child passed to _exit")
                .check(ws == WaitStatus::Exited(child.pid, code)),
            )
            .evidence(gone_evidence(pid, gone, "release_task freed the PID; the task_struct goes once its last reference is dropped"))
            .pid("child", pid)
            .note("A zombie is simply the time between exit_notify and the parent's wait: the exit status must live somewhere until the parent asks for it."),
    )?;
    Ok(String::new())
}

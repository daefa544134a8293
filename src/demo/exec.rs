//! `demo exec`: execve replaces the program but keeps the process: same PID, parent and
//! start time; new exe, comm and cmdline.

use std::ffi::CString;
use std::time::Duration;

use anyhow::{Result, bail};
use nix::sys::signal::Signal;

use super::gone_evidence;
use crate::proc::signals::SigMask;
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe::{self, PF_FORKNOEXEC};
use crate::teach::runtime::{self, Gate, channel, find_program};
use crate::teach::trace;

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::EXEC,
    run,
};

/// The heading of its narration.
const TITLE: &str = "execve() replaces the program, not the process";

/// What it shows, before the steps.
const INTRO: &str = "The notes list exec beside fork. fork() makes the process; execve() \
     gives it a new program: the demo forks a copy of itself, then has it exec `sleep`, and \
     compares what /proc says of the process before and after.";

const T: Duration = Duration::from_secs(5);

/// What /proc says about a process's identity and program.
struct Identity {
    pid: String,
    ppid: String,
    start: u64,
    exe: String,
    comm: String,
    cmdline: String,
    flags: u32,
}

fn identity(lab: &Lab, pid: i32) -> Result<Identity> {
    let st = probe::stat(&lab.procfs, pid)?;
    let status = probe::status(&lab.procfs, pid)?;
    Ok(Identity {
        pid: probe::field(&status, "Pid").unwrap_or_default(),
        ppid: probe::field(&status, "PPid").unwrap_or_default(),
        start: st.starttime,
        exe: probe::exe(pid),
        comm: probe::comm(&lab.procfs, pid),
        cmdline: probe::cmdline(&lab.procfs, pid),
        flags: st.flags,
    })
}

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, INTRO)?;
    let sleep = find_program("sleep")?;
    let argv = [CString::new("sleep")?, CString::new("30")?];
    let env: [CString; 0] = [];
    let mut gate = Gate::new()?;
    // Closed by a successful exec (O_CLOEXEC): EOF on it means the exec happened; a message
    // on it means it failed.
    let (tx, mut rx) = channel()?;
    let mut child = lab.spawn("child", || {
        gate.child_side();
        gate.wait();
        let e = nix::unistd::execve(&sleep, &argv, &env).unwrap_err();
        tx.send(&serde_json::json!({ "exec_error": e.desc() }));
        127
    })?;
    drop(tx);
    let pid = child.raw();
    let before = identity(lab, pid)?;
    let cgt_before = probe::sigmask(pid, "SigCgt").unwrap_or_default();
    lab.step(
        Step::new("Before exec: a forked copy of this demo")
            .syscall("fork()")
            .result(format!("child {pid}, waiting on a pipe before it execs"))
            .evidence(Evidence::new(
                format!("/proc/{pid}/exe"),
                "link",
                &before.exe,
                "the program file: still ours",
            ))
            .evidence(Evidence::new(
                format!("/proc/{pid}/comm"),
                "comm",
                &before.comm,
                "the name, inherited from the parent",
            ))
            .evidence(Evidence::new(
                format!("/proc/{pid}/cmdline"),
                "argv",
                &before.cmdline,
                "the arguments, inherited too",
            ))
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/stat"),
                    "flags (9)",
                    probe::flags_text(before.flags),
                    "PF_FORKNOEXEC: forked, no exec yet",
                )
                .check(before.flags & PF_FORKNOEXEC != 0),
            )
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/status"),
                    "SigCgt",
                    cgt_before.hex(),
                    "caught: the handlers for SIGSEGV and SIGBUS the Rust runtime installed in the demo, inherited through fork",
                )
                .check(cgt_before.has(libc::SIGSEGV) && cgt_before.has(libc::SIGBUS)),
            )
            .pid("child", pid)
            .pid("parent", lab.pid())
            .try_it(format!("ls -l /proc/{pid}/exe; cat /proc/{pid}/comm; grep SigCgt /proc/{pid}/status")),
    )?;

    gate.open(1)?;
    // A successful exec closes the O_CLOEXEC pipe: recv then fails with EOF.
    if let Some(msg) = rx.json_or_eof(lab.rt, T)? {
        bail!(
            "the child could not exec {}: {}",
            sleep.to_string_lossy(),
            msg["exec_error"]
        );
    }
    trace::record_for(
        pid,
        "execve",
        format!(
            "\"{}\", [\"sleep\", \"30\"], [] /* 0 vars */",
            sleep.to_string_lossy()
        ),
        "0",
    );
    let after = identity(lab, pid)?;
    let astatus = probe::status(&lab.procfs, pid)?;
    let cgt_after = probe::field(&astatus, "SigCgt").unwrap_or_default();
    let cgt = SigMask::parse(&cgt_after).unwrap_or_default();
    let sigblk = probe::field(&astatus, "SigBlk").unwrap_or_default();
    let sigign = probe::field(&astatus, "SigIgn").unwrap_or_default();
    let blk = SigMask::parse(&sigblk).unwrap_or_default();
    let ign = SigMask::parse(&sigign).unwrap_or_default();
    let shown = sleep.to_string_lossy().into_owned();
    lab.step(
        Step::new("After exec: same process, new program")
            .syscall(format!("execve(\"{shown}\", [\"sleep\", \"30\"], [])"))
            .result("did not return: on success execve never does (the O_CLOEXEC pipe closed instead)")
            .evidence(
                Evidence::new(format!("/proc/{pid}/status"), "Pid", &after.pid, "unchanged: exec keeps the process")
                    .check(after.pid == before.pid && after.pid == pid.to_string()),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/status"), "PPid", &after.ppid, "unchanged: same parent")
                    .check(after.ppid == before.ppid),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/stat"), "starttime (22)", after.start, "unchanged: not a new process")
                    .check(after.start == before.start),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/exe"), "link", &after.exe, "changed: the new program file")
                    .check(after.exe != before.exe),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/comm"), "comm", &after.comm, "changed: the new program's file name")
                    .check(after.comm == "sleep"),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/cmdline"), "argv", &after.cmdline, "changed: the argv given to execve")
                    .check(after.cmdline == "sleep 30"),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/stat"), "flags (9)", probe::flags_text(after.flags), "PF_FORKNOEXEC cleared by exec")
                    .check(after.flags & PF_FORKNOEXEC == 0),
            )
            .evidence(Evidence::new(
                format!("/proc/{}/status", lab.pid()),
                "SigBlk / SigIgn",
                format!(
                    "{} / {}",
                    probe::status_field(&lab.procfs, lab.pid(), "SigBlk"),
                    probe::status_field(&lab.procfs, lab.pid(), "SigIgn")
                ),
                "the demo itself: INT, HUP, TERM, CHLD blocked (for its signalfd); SIGPIPE ignored (Rust)",
            ))
            .evidence(
                Evidence::new(format!("/proc/{pid}/status"), "SigBlk", &sigblk, "no signal blocked: the demo's blocked mask was cleared before exec")
                    .check(!blk.has(libc::SIGINT) && !blk.has(libc::SIGTERM) && !blk.has(libc::SIGCHLD)),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/status"), "SigIgn", &sigign, "SIGPIPE not ignored: Rust's SIG_IGN was reset before exec")
                    .check(!ign.has(libc::SIGPIPE)),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/status"), "SigCgt", &cgt_after, "no handler left: exec reset the caught signals to their default")
                    .check(!cgt.has(libc::SIGSEGV) && !cgt.has(libc::SIGBUS)),
            )
            .pid("child", pid)
            .explain("execve() throws away the old memory image and loads the new program into the same process: PID, parent, open files without O_CLOEXEC, the signal mask, pending signals and ignored signals all carry over. Caught signals cannot: their handlers were code in the old image, so exec resets them to the default action (SigCgt empties). That is why this demo unblocks signals and restores SIGPIPE in the child before exec: Rust ignores SIGPIPE, and a blocked or ignored signal stays so in the new program.")
            .explain("fork() then exec() is how a shell runs a command: fork makes the process, exec gives it its program.")
            .try_it(format!("ls -l /proc/{pid}/exe; tr '\\0' ' ' < /proc/{pid}/cmdline; grep -E 'Sig(Cgt|Ign|Blk)' /proc/{pid}/status")),
    )?;

    child.signal(Signal::SIGTERM)?;
    let ws = lab.reap(&mut child, T)?;
    let gone = probe::gone(&lab.procfs, pid, after.start);
    lab.conclude(
        Step::new("The program ends and its parent reaps it")
            .syscall(format!("kill({pid}, SIGTERM); read(signalfd) → SIGCHLD; wait4({pid}, &status, WNOHANG, NULL)"))
            .result(runtime::describe(ws))
            .evidence(gone_evidence(pid, gone, "reaped"))
            .pid("child", pid)
            .try_it("sleep 30 & kill $!; wait $!; echo \"status $?: 128 + 15 (SIGTERM)\""),
    )?;
    Ok(String::new())
}

//! `demo zombie`: a parent that never waits, the zombie it leaves, how `zombies list` sees
//! it, why kill cannot remove it, and the fix: kill the parent, and the adopter reaps.

use std::time::Duration;

use anyhow::Result;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use serde_json::json;

use super::{gone_evidence, status_evidence};
use crate::diagnose::{self, Context};
use crate::proc::users::Users;
use crate::report;
use crate::style::Style;
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe;
use crate::teach::runtime::{self, Gate, channel};

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::ZOMBIE,
    run,
};

/// The heading of its narration.
const TITLE: &str =
    "a real zombie, as `zombies list` shows it, held for you to inspect, then reaped";

const T: Duration = Duration::from_secs(5);

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, "")?;
    let code = i32::from(lab.opts.code);
    let (tx, mut rx) = channel()?;
    let mut gate = Gate::new()?;
    // The careless parent: forks, never waits, sleeps.
    let mut parent = lab.spawn("child", || {
        gate.child_side();
        let _ = nix::sys::prctl::set_name(c"careless-parent");
        let z = runtime::fork_child(false, || {
            let _ = nix::sys::prctl::set_name(c"demo-zombie");
            code
        });
        let Ok(z) = z else { return 1 };
        // Wait until it is dead, without reaping it (the point of the demo).
        let _ = nix::sys::wait::waitid(
            nix::sys::wait::Id::Pid(z),
            nix::sys::wait::WaitPidFlag::WEXITED | nix::sys::wait::WaitPidFlag::WNOWAIT,
        );
        tx.send(&json!({ "zombie": z.as_raw() }));
        gate.wait(); // until the demo ends (never opened: EOF or SIGTERM ends it)
        0
    })?;
    drop(tx);
    let msg = rx.json(lab.rt, T)?;
    let p = parent.raw();
    let z = msg["zombie"].as_i64().unwrap_or(0) as i32;
    let zst = probe::stat(&lab.procfs, z)?;
    let pstatus = probe::status(&lab.procfs, p)?;
    let sigcgt = probe::field(&pstatus, "SigCgt").unwrap_or_default();
    let chld_caught =
        crate::proc::signals::SigMask::parse(&sigcgt).is_some_and(|m| m.has(libc::SIGCHLD));
    lab.step(
        Step::new("A parent that never calls wait() leaves a zombie")
            .syscall(format!("careless-parent {p}: fork(); child: _exit({code}); careless-parent: no wait()"))
            .evidence(
                Evidence::new(format!("/proc/{z}/stat"), "state (3)", zst.state as char, probe::state_name(zst.state))
                    .check(zst.state == b'Z'),
            )
            .evidence(
                Evidence::new(format!("/proc/{z}/stat"), "ppid (4)", zst.ppid, "its parent is careless-parent, which must reap it")
                    .check(zst.ppid == p),
            )
            .evidence(
                Evidence::new(format!("/proc/{p}/status"), "SigCgt", &sigcgt, "SIGCHLD bit (0x10000) clear: no handler; and it never calls wait()")
                    .check(!chld_caught),
            )
            .pid("zombie", z)
            .pid("parent", p)
            .note("Almost every process passes through this state when it dies (the exception: a parent that sets SIGCHLD to SIG_IGN or uses SA_NOCLDWAIT has its children reaped by the kernel at once). The zombie holds no memory and no files, only its PID, its task_struct and its exit status, kept for its parent."),
    )?;

    // `zombies list --parent P`, computed in-process with the same scanner and diagnosis.
    let snap = lab.procfs.scan()?;
    let ctx = Context::current(&snap);
    let mut diag = diagnose::diagnose(&snap, &ctx, &mut Users::default());
    diag.only(Some(p), None);
    let mut table = Vec::new();
    report::table::write(&mut table, &diag, ctx.now_unix, Style::default())?;
    let listed = diag
        .parent(p)
        .is_some_and(|f| f.zombies.iter().any(|zz| zz.pid == z));
    let recommended = diag
        .parent(p)
        .map(|f| f.recommended.as_str())
        .unwrap_or("-");
    lab.step(
        Step::new(format!("How `zombies list --parent {p}` shows it"))
            .syscall("scan /proc, diagnose, render (the code behind `zombies list`)")
            .evidence(
                Evidence::new(
                    "zombies list",
                    "zombie listed",
                    if listed { "yes" } else { "no" },
                    "found under its parent",
                )
                .check(listed),
            )
            .evidence(Evidence::new(
                "zombies list",
                "remedy",
                recommended,
                "what zombies recommends for this parent",
            ))
            .block(String::from_utf8_lossy(&table).into_owned())
            .data(serde_json::to_value(&diag)?)
            .pid("zombie", z)
            .pid("parent", p),
    )?;

    let kill_result = nix::sys::signal::kill(nix::unistd::Pid::from_raw(z), Signal::SIGKILL);
    lab.sleep(Duration::from_millis(50))?;
    let after_kill = probe::stat(&lab.procfs, z)?;
    let mut step = Step::new("You cannot kill the dead: SIGKILL does nothing to a zombie")
        .syscall(format!("kill({z}, SIGKILL)"))
        .result(match kill_result {
            Ok(()) => "0: the signal was accepted...".to_string(),
            Err(e) => format!("failed: {}", e.desc()),
        })
        .evidence(
            Evidence::new(
                format!("/proc/{z}/stat"),
                "state (3)",
                after_kill.state as char,
                "...and it is still a zombie: there is nothing left to kill",
            )
            .check(after_kill.state == b'Z'),
        );
    if let Some(size) = task_struct_size() {
        step = step.evidence(Evidence::new(
            "/proc/slabinfo",
            "task_struct objsize",
            format!("{size} bytes"),
            "the kernel memory each zombie keeps, with its PID",
        ));
    }
    lab.step(
        step.pid("zombie", z)
            .note("This is the notes' \"I kill them but they don't go away!\". The three real choices: fix the parent so it waits, kill the parent (its zombies are adopted and reaped), or live with it: a zombie costs a PID, its task_struct and a few small kernel structures (signal_struct, struct pid, credentials); its memory and kernel stack are already gone."),
    )?;

    let hold = lab.opts.hold;
    lab.step(
        Step::new(format!(
            "Holding the zombie for {hold:?}: inspect it from another shell"
        ))
        .note(format!(
            "From another shell: ps -o pid,ppid,stat,comm -p {z},{p}"
        ))
        .note(format!("or: zombies explain {z}"))
        .note(format!("or: grep -E 'State|PPid|Vm' /proc/{z}/status"))
        .pid("zombie", z)
        .pid("parent", p),
    )?;
    lab.sleep(hold)?;

    parent.signal(Signal::SIGTERM)?;
    let pws = lab.reap(&mut parent, T)?;
    let adopted = lab.wait_until(T, "the zombie's adoption", |lab| {
        Ok(probe::stat(&lab.procfs, z)
            .ok()
            .filter(|s| s.ppid == lab.pid()))
    })?;
    let mut zombie = lab.track(z, "adopted process");
    lab.step(
        Step::new("Kill the parent (the recommended remedy): the zombie is adopted")
            .syscall(format!("kill({p}, SIGTERM); waitpid({p}, 0)"))
            .result(runtime::describe(pws))
            .evidence(
                Evidence::new(
                    format!("/proc/{z}/stat"),
                    "ppid (4)",
                    adopted.ppid,
                    format!("adopted by this demo ({}), a child subreaper", lab.pid()),
                )
                .check(adopted.ppid == lab.pid()),
            )
            .evidence(
                Evidence::new(
                    format!("/proc/{z}/stat"),
                    "state (3)",
                    adopted.state as char,
                    "still a zombie: adoption alone reaps nothing",
                )
                .check(adopted.state == b'Z'),
            )
            .pid("zombie", z),
    )?;

    let ws = lab.reap(&mut zombie, T)?;
    let gone = probe::gone(&lab.procfs, z, zst.starttime);
    lab.conclude(
        Step::new("The adopter waits: the zombie is reaped")
            .syscall(format!("waitpid({z}, &status, 0)"))
            .result(runtime::describe(ws))
            .evidence(status_evidence(
                ws,
                WaitStatus::Exited(zombie.pid, code),
                &format!("the exit code {code} it kept all along"),
            ))
            .evidence(gone_evidence(z, gone, "gone for good"))
            .pid("zombie", z),
    )?;
    Ok(String::new())
}

/// The size of one task_struct from /proc/slabinfo (root only; None elsewhere).
fn task_struct_size() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("task_struct "))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

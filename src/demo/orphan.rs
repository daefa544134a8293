//! `demo orphan`: a parent dies before its child; the child is re-parented to the nearest
//! child subreaper (this demo) or else to PID 1 of its namespace, and the adopter must reap
//! it. Corrects the notes: init is not "always waiting"; it reaps only if its code waits.

use std::time::Duration;

use anyhow::Result;
use nix::sys::wait::WaitStatus;
use serde_json::json;

use super::{gone_evidence, status_evidence};
use crate::proc::signals::SigMask;
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe;
use crate::teach::runtime::{self, Gate, channel};

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::ORPHAN,
    run,
};

/// The heading of its narration.
const TITLE: &str = "orphans: when a parent dies first, who adopts the child and who reaps it";

const T: Duration = Duration::from_secs(5);

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, "")?;
    let subreaper = nix::sys::prctl::get_child_subreaper().unwrap_or(false);
    let init_comm = probe::comm(&lab.procfs, 1);
    let init_cgt = probe::status_field(&lab.procfs, 1, "SigCgt");
    let init_catches = SigMask::parse(&init_cgt).is_some_and(|m| m.has(libc::SIGCHLD));
    lab.step(
        Step::new("Who adopts orphans here")
            .syscall("prctl(PR_GET_CHILD_SUBREAPER)")
            .result(if subreaper { "1: this demo is a child subreaper" } else { "0" })
            .evidence(
                Evidence::new("prctl(2)", "PR_GET_CHILD_SUBREAPER", u8::from(subreaper), "orphaned descendants of this demo are re-parented to it, not to PID 1")
                    .check(subreaper),
            )
            .evidence(Evidence::new("/proc/1/comm", "comm", &init_comm, "PID 1 of this PID namespace: the adopter of last resort"))
            .evidence(Evidence::new(
                "/proc/1/status",
                "SigCgt",
                &init_cgt,
                if init_catches { "PID 1 has a SIGCHLD handler (it likely reaps)" } else { "PID 1 does not catch SIGCHLD: it reaps only if its code calls wait()" },
            ))
            .pid("demo", lab.pid())
            .note("The notes say init is always waiting for children. Not so: PID 1 reaps adopted zombies only if its program calls wait(). systemd and tini do; a shell script or an application run as PID 1 in a container often does not, and its orphans' zombies pile up (`zombies list` recommends fix-init for that). And a subreaper between the orphan and PID 1 (systemd --user, a container runtime, this demo) adopts it instead."),
    )?;

    let (tx, mut rx) = channel()?;
    let mut child_gate = Gate::new()?;
    let mut parent_gate = Gate::new()?;
    let mut parent = lab.spawn("child", || {
        parent_gate.child_side();
        let _ = nix::sys::prctl::set_name(c"orphan-parent");
        // No PR_SET_PDEATHSIG for the orphan: it must outlive its parent.
        let c = runtime::fork_child(false, || {
            child_gate.child_side();
            let _ = nix::sys::prctl::set_name(c"orphan-child");
            child_gate.wait(); // until the demo lets it go (or dies: EOF)
            0
        });
        let Ok(c) = c else { return 1 };
        tx.send(&json!({ "child": c.as_raw() }));
        parent_gate.wait();
        0
    })?;
    drop(tx);
    let p = parent.raw();
    let msg = rx.json(lab.rt, T)?;
    let c = msg["child"].as_i64().unwrap_or(0) as i32;
    let cst = probe::stat(&lab.procfs, c)?;
    lab.step(
        Step::new("A parent and its child")
            .syscall(format!(
                "fork() twice: demo {} → orphan-parent {p} → orphan-child {c}",
                lab.pid()
            ))
            .evidence(
                Evidence::new(
                    format!("/proc/{c}/status"),
                    "PPid",
                    probe::status_field(&lab.procfs, c, "PPid"),
                    "the child's parent is orphan-parent",
                )
                .check(cst.ppid == p),
            )
            .evidence(
                Evidence::new(
                    format!("/proc/{p}/status"),
                    "PPid",
                    probe::status_field(&lab.procfs, p, "PPid"),
                    "whose parent is this demo",
                )
                .check(probe::status_field(&lab.procfs, p, "PPid") == lab.pid().to_string()),
            )
            .pid("parent", p)
            .pid("child", c),
    )?;

    parent_gate.open(1)?;
    lab.wait_exited_nowait(parent.pid, T)?;
    // The parent is dead (a zombie, not reaped yet): the child was re-parented already,
    // by exit_notify() -> forget_original_parent() during the parent's exit.
    let adopted = lab.wait_until(T, "the orphan's adoption", |lab| {
        Ok(probe::stat(&lab.procfs, c).ok().filter(|s| s.ppid != p))
    })?;
    let pst = probe::stat(&lab.procfs, p)?;
    let mut child = lab.track(c, "adopted process");
    lab.step(
        Step::new("The parent exits first: the orphan is adopted at once")
            .syscall(format!("orphan-parent {p}: _exit(0)"))
            .evidence(
                Evidence::new(format!("/proc/{p}/stat"), "state (3)", pst.state as char, "the parent is dead (a zombie: we have not reaped it yet)")
                    .check(pst.state == b'Z'),
            )
            .evidence(
                Evidence::new(format!("/proc/{c}/stat"), "ppid (4)", adopted.ppid, format!("re-parented to this demo ({}), the nearest child subreaper", lab.pid()))
                    .check(adopted.ppid == lab.pid()),
            )
            .evidence(Evidence::new(format!("/proc/{c}/stat"), "state (3)", adopted.state as char, "the orphan itself lives on"))
            .pid("parent", p)
            .pid("child", c)
            .note("Re-parenting happens inside the parent's exit (exit_notify → forget_original_parent), before anyone waits for the parent. Without a subreaper among its ancestors the new PPid would be 1 (or the PID 1 of its container)."),
    )?;

    let pws = lab.reap(&mut parent, T)?;
    child_gate.open(1)?;
    let dead = lab.wait_exited_nowait(child.pid, T);
    dead?;
    let zst = probe::stat(&lab.procfs, c)?;
    lab.step(
        Step::new("The orphan exits: now its adopter must reap it")
            .syscall(format!("waitpid({p}) → {}; orphan-child {c}: _exit(0)", runtime::describe(pws)))
            .evidence(
                Evidence::new(format!("/proc/{c}/stat"), "state (3)", zst.state as char, "a zombie of its adopter until the adopter waits")
                    .check(zst.state == b'Z'),
            )
            .evidence(
                Evidence::new(format!("/proc/{c}/stat"), "ppid (4)", zst.ppid, "the adopter, which now owes it a wait()")
                    .check(zst.ppid == lab.pid()),
            )
            .pid("child", c)
            .note("Adoption moves the duty to reap; it does not do the reaping. An adopter that never waits (a careless subreaper, or a PID 1 that is not a real init) collects zombies."),
    )?;

    let ws = lab.reap(&mut child, T)?;
    let gone = probe::gone(&lab.procfs, c, zst.starttime);
    lab.conclude(
        Step::new("The adopter reaps the orphan")
            .syscall(format!("waitpid({c}, &status, 0)"))
            .result(runtime::describe(ws))
            .evidence(status_evidence(
                ws,
                WaitStatus::Exited(child.pid, 0),
                "the adopter collects what the original parent would have",
            ))
            .evidence(gone_evidence(c, gone, "reaped: nothing left behind"))
            .pid("child", c),
    )?;
    Ok(String::new())
}

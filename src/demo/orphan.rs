//! `demo orphan`: a parent dies before its child; the child is re-parented to the nearest
//! child subreaper (this demo) or else to PID 1 of its namespace, and the adopter must reap
//! it. Corrects the notes: init is not "always waiting"; it reaps only if its code waits.

use std::time::Duration;

use anyhow::Result;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use serde_json::json;

use super::{gone_evidence, status_evidence};
use crate::sys::process;
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe;
use crate::teach::runtime::{self, Gate, Pipe, channel};

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::ORPHAN,
    run,
};

/// The heading of its narration.
const TITLE: &str = "orphans: when a parent dies first, who adopts the child and who reaps it";

/// What it shows, before the steps.
const INTRO: &str = "The notes: when a process dies, its children become children of process \
     number 1, the init process, which is always waiting for children to die. Not quite: the \
     kernel first looks for a live thread of the dead parent's own process, then for the \
     nearest ancestor that declared itself a child subreaper, and only then takes PID 1 of \
     the PID namespace; and PID 1 reaps only if its program waits.";

/// The order in which exit_notify() → forget_original_parent() → find_new_reaper() looks
/// for an adopter (kernel/exit.c, the same since Linux 3.4 added subreapers).
const REAPER_ORDER: &str = "\
the parent thread dies: exit_notify() -> forget_original_parent() -> find_new_reaper():
  1 a live thread of its own thread group ..... PPid unchanged, PR_SET_PDEATHSIG still fires
  2 the nearest ancestor that is a child subreaper, in the same PID namespace
  3 PID 1 of that PID namespace (which must call wait() to reap)
each child then gets PR_SET_PDEATHSIG's signal, if it asked for one";

const T: Duration = Duration::from_secs(5);

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, INTRO)?;
    let subreaper = nix::sys::prctl::get_child_subreaper().unwrap_or(false);
    let init_comm = probe::comm(&lab.procfs, 1);
    let init_wchan = probe::wchan(1);
    let init_zombies: Vec<i32> = lab
        .procfs
        .scan()
        .map(|s| {
            s.processes
                .iter()
                .filter(|p| p.ppid == 1 && p.is_zombie())
                .map(|p| p.pid)
                .collect()
        })
        .unwrap_or_default();
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
                "/proc/1/wchan",
                "wchan",
                init_wchan.clone().unwrap_or_else(|| "(unknown)".into()),
                "where PID 1 sleeps now: do_wait means it is in wait(); an event loop (ep_poll, do_sigtimedwait) may reap on SIGCHLD",
            ))
            .evidence(Evidence::new(
                "/proc/*/stat",
                "zombies whose parent is PID 1",
                if init_zombies.is_empty() { "none".to_string() } else { format!("{} ({})", init_zombies.len(), init_zombies.iter().take(5).map(|p| p.to_string()).collect::<Vec<_>>().join(" ")) },
                "the real test: a PID 1 that reaps leaves none behind for long",
            ))
            .pid("demo", lab.pid())
            .pid("init", 1)
            .explain("The notes say init is always waiting for children. Not so: PID 1 reaps adopted zombies only if its program calls wait(). systemd and tini do; a shell script or an application run as PID 1 in a container often does not, and its orphans' zombies pile up (`zombies list` recommends fix-init for that). Whether PID 1 has a SIGCHLD handler (SigCgt) proves nothing: a handler may not wait. What proves it is whether adopted zombies go away. And a subreaper between the orphan and PID 1 (systemd --user, a container runtime, this demo) adopts it first.")
            .diagram(REAPER_ORDER)
            .try_it("cat /proc/1/wchan; echo; ps -o pid,stat,comm --ppid 1 | grep -w Z"),
    )?;

    thread_parent_step(lab)?;

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
            .pid("child", c)
            .try_it(format!("ps -o pid,ppid,comm -p {},{p},{c}", lab.pid())),
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
            .pid("adopter", lab.pid())
            .explain("Re-parenting happens inside the parent's exit (exit_notify → forget_original_parent), before anyone waits for the parent. orphan-parent had no other thread, so the kernel looked up the ancestors for a child subreaper and found this demo. Without one in its PID namespace the new PPid would be 1 (or the PID 1 of its container).")
            .try_it(format!("grep PPid /proc/{c}/status")),
    )?;

    let pws = lab.reap(&mut parent, T)?;
    child_gate.open(1)?;
    let dead = lab.wait_exited_nowait(child.pid, T);
    dead?;
    let zst = probe::stat(&lab.procfs, c)?;
    lab.step(
        Step::new("The orphan exits: now its adopter must reap it")
            .syscall(format!("wait4({p}, &status, WNOHANG, NULL) → {}; orphan-child {c}: _exit(0)", runtime::describe(pws)))
            .evidence(
                Evidence::new(format!("/proc/{c}/stat"), "state (3)", zst.state as char, "a zombie of its adopter until the adopter waits")
                    .check(zst.state == b'Z'),
            )
            .evidence(
                Evidence::new(format!("/proc/{c}/stat"), "ppid (4)", zst.ppid, "the adopter, which now owes it a wait()")
                    .check(zst.ppid == lab.pid()),
            )
            .pid("child", c)
            .pid("adopter", lab.pid())
            .explain("Adoption moves the duty to reap; it does not do the reaping. An adopter that never waits (a careless subreaper, or a PID 1 that is not a real init) collects zombies.")
            .try_it(format!("ps -o pid,ppid,stat,comm -p {c}")),
    )?;

    let ws = lab.reap(&mut child, T)?;
    let gone = probe::gone(&lab.procfs, c, zst.starttime);
    lab.conclude(
        Step::new("The adopter reaps the orphan")
            .syscall(format!("read(signalfd) → SIGCHLD; wait4({c}, &status, WNOHANG, NULL)"))
            .result(runtime::describe(ws))
            .evidence(status_evidence(
                ws,
                WaitStatus::Exited(child.pid, 0),
                "the adopter collects what the original parent would have",
            ))
            .evidence(gone_evidence(c, gone, "reaped: nothing left behind"))
            .pid("child", c)
            .pid("adopter", lab.pid())
            .try_it("sh -c 'sleep 1 & exit' ; sleep 0.2; ps -o pid,ppid,comm -C sleep   # an orphan, adopted"),
    )?;
    Ok(String::new())
}

/// The first place the kernel looks: another thread of the dead parent's process. A thread
/// forks a child and exits; the child stays with the thread group (PPid unchanged) and yet
/// gets the signal it asked for with PR_SET_PDEATHSIG, which watches the parent thread.
fn thread_parent_step(lab: &mut Lab) -> Result<()> {
    let (tx, mut rx) = channel()?;
    let mut thread_gate = Gate::new()?;
    let mut main_gate = Gate::new()?;
    let mut ready = Pipe::new()?;
    let mut c_gate = Pipe::new()?;
    let mut parent = lab.spawn("two-thread parent", || {
        thread_gate.child_side();
        main_gate.child_side();
        let _ = nix::sys::prctl::set_name(c"thread-parent");
        let child = std::thread::scope(|s| {
            s.spawn(|| {
                let (Some(r_w), Some(g_r)) = (ready.writer(), c_gate.reader()) else {
                    return None;
                };
                let c = process::fork_pdeath_child(Signal::SIGUSR1, r_w, g_r).ok()?;
                let mut b = [0u8; 1];
                ready.read(&mut b).ok()?;
                tx.send(&json!({ "child": c, "thread": nix::unistd::gettid().as_raw() }));
                thread_gate.wait();
                Some(c)
            })
            .join()
            .ok()
            .flatten()
        });
        // The thread has exited; the main thread waits for the demo, then reaps the child.
        main_gate.wait();
        if let Some(c) = child {
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(c), None);
        }
        0
    })?;
    drop(tx);
    ready.close_write();
    c_gate.close_read();
    let p = parent.raw();
    let msg = rx.json(lab.rt, T)?;
    let c = msg["child"].as_i64().unwrap_or(0) as i32;
    let t = msg["thread"].as_i64().unwrap_or(0) as i32;
    if c <= 0 || t <= 0 {
        anyhow::bail!("the two-thread parent (PID {p}) could not fork its child");
    }
    let before = probe::status_field(&lab.procfs, c, "PPid");
    let threads_before = probe::status_field(&lab.procfs, p, "Threads");
    thread_gate.open(1)?;
    lab.wait_until(T, "the parent thread's exit", |_| {
        Ok(std::fs::metadata(format!("/proc/{p}/task/{t}"))
            .is_err()
            .then_some(()))
    })?;
    // The pdeath signal is sent inside the thread's exit, before its task is gone.
    let pending = lab.wait_until(T, "the parent-death signal", |_| {
        Ok(probe::sigmask(c, "ShdPnd").filter(|m| m.has(libc::SIGUSR1)))
    });
    let pending = match pending {
        Ok(m) => m,
        Err(e)
            if e.downcast_ref::<crate::teach::runtime::Interrupted>()
                .is_some() =>
        {
            return Err(e);
        }
        Err(_) => probe::sigmask(c, "ShdPnd").unwrap_or_default(),
    };
    let after = probe::status_field(&lab.procfs, c, "PPid");
    let threads_after = probe::status_field(&lab.procfs, p, "Threads");
    let cstate = probe::state(c);
    lab.step(
        Step::new("A thread that forked a child exits: the child stays with the process")
            .syscall(format!("in process {p}, thread {t}: fork() → {c}; child: prctl(PR_SET_PDEATHSIG, SIGUSR1), SIGUSR1 blocked; thread {t} exits"))
            .result("the thread is gone, the process lives")
            .explain("The kernel records as a child's parent the thread that forked it. When that thread exits, another live thread of the same process adopts the child first: PPid (the process ID) does not change. But PR_SET_PDEATHSIG watches the parent thread, not the process, so the child gets its parent-death signal all the same, a well-known trap for programs that fork from a worker thread.")
            .evidence(
                Evidence::new(format!("/proc/{p}/status"), "Threads", format!("{threads_before} → {threads_after}"), "the thread that forked the child exited; the process lives on")
                    .check(threads_before == "2" && threads_after == "1"),
            )
            .evidence(
                Evidence::new(format!("/proc/{c}/status"), "PPid", format!("{before} → {after}"), format!("unchanged: adopted by process {p}'s other thread"))
                    .check(before == p.to_string() && after == p.to_string()),
            )
            .evidence(
                Evidence::new(format!("/proc/{c}/status"), "ShdPnd", pending.hex(), "SIGUSR1 (0x200) pending: the parent-death signal fired, and the block kept it")
                    .check(pending.has(libc::SIGUSR1)),
            )
            .evidence(
                Evidence::new(format!("/proc/{c}/stat"), "state (3)", cstate.map(String::from).unwrap_or_else(|| "gone".into()), "alive: it blocked the signal, which would otherwise have killed it")
                    .check(matches!(cstate, Some('S' | 'R'))),
            )
            .pid("parent", p)
            .pid("thread", t)
            .pid("child", c)
            .try_it(format!("grep -E 'PPid|ShdPnd|SigBlk' /proc/{c}/status")),
    )?;
    c_gate.write_all(b"g").map_err(std::io::Error::from)?;
    main_gate.open(1)?;
    lab.reap(&mut parent, T)?;
    Ok(())
}

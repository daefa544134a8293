//! `demo autoreap`: the exception to "every process becomes a zombie". A parent that sets
//! SIGCHLD to SIG_IGN, or asks for SA_NOCLDWAIT, tells the kernel it will never wait: its
//! children are reaped the moment they exit (exit_notify makes them EXIT_DEAD and
//! release_task frees them), and its wait() blocks until they are gone, then fails with
//! ECHILD. With SA_NOCLDWAIT the SIGCHLD is still sent (with the exit status in it); with
//! SIG_IGN not even that.

use std::time::Duration;

use anyhow::{Result, bail};
use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use serde_json::json;

use crate::sys::process::{self, Autoreap};
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe::{self, InSyscall};
use crate::teach::runtime::{self, Gate, channel};
use crate::teach::trace;

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::AUTOREAP,
    run,
};

/// The heading of its narration.
const TITLE: &str = "SIGCHLD ignored: the kernel reaps the children at once, and wait() finds none";

/// What it shows, before the steps.
const INTRO: &str = "The notes: all processes eventually die, and when they do they become \
     zombies. Not when the parent told the kernel it will never wait: with SIGCHLD set to \
     SIG_IGN, or the SA_NOCLDWAIT flag, a child that exits is reaped at once. Two parents try \
     it, each with a child of its own.";

const T: Duration = Duration::from_secs(5);

/// The exit code of the children, which nobody gets to wait for.
const CODE: i32 = 7;

/// How exit_notify() decides, on every kernel since 2.6.
const DECISION: &str = "\
child: exit_group() -> do_exit() -> exit_notify() -> do_notify_parent():
  parent's SIGCHLD is SIG_IGN ........... no SIGCHLD sent; autoreap
  parent's SIGCHLD has SA_NOCLDWAIT ..... SIGCHLD sent (with the status); autoreap
  otherwise ............................. SIGCHLD sent; state Z until the parent waits
autoreap: state X (EXIT_DEAD) and release_task() at once: no zombie, the status is lost";

fn how_name(how: Autoreap) -> &'static str {
    match how {
        Autoreap::Ignore => "signal(SIGCHLD, SIG_IGN)",
        Autoreap::NoCldWait => "sigaction(SIGCHLD, {SIG_DFL, SA_NOCLDWAIT})",
    }
}

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, INTRO)?;
    parent_story(lab, Autoreap::Ignore)?;
    parent_story(lab, Autoreap::NoCldWait)?;
    Ok(String::new())
}

/// One parent, set up with `how`, one child, two steps: the child alive under a parent
/// blocked in wait(), then the child gone, with no zombie and ECHILD.
fn parent_story(lab: &mut Lab, how: Autoreap) -> Result<()> {
    let (tx, mut rx) = channel()?;
    let mut child_gate = Gate::new()?;
    let mut parent_gate = Gate::new()?;
    let label = match how {
        Autoreap::Ignore => c"sigign-parent",
        Autoreap::NoCldWait => c"nocldwait-parent",
    };
    let mut parent = lab.spawn("parent", || {
        parent_gate.child_side();
        let _ = nix::sys::prctl::set_name(label);
        // SIGCHLD blocked, so that a SIGCHLD the kernel sends stays pending where /proc
        // shows it (a blocked signal is never discarded, whatever its disposition).
        let mut chld = SigSet::empty();
        chld.add(Signal::SIGCHLD);
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&chld), None);
        let set = process::autoreap_children(how);
        trace::record(
            "rt_sigaction",
            match how {
                Autoreap::Ignore => "SIGCHLD, {sa_handler=SIG_IGN, ...}, NULL, 8",
                Autoreap::NoCldWait => "SIGCHLD, {sa_handler=SIG_DFL, sa_flags=SA_NOCLDWAIT|..., ...}, NULL, 8",
            },
            trace::ret(&set.map(|()| 0)),
        );
        if set.is_err() {
            return 1;
        }
        let c = runtime::fork_child(true, || {
            child_gate.child_side();
            let _ = nix::sys::prctl::set_name(c"autoreaped");
            child_gate.wait();
            CODE
        });
        let Ok(c) = c else { return 1 };
        tx.send(&json!({ "child": c.as_raw() }));
        let r = nix::sys::wait::wait();
        let result = match &r {
            Ok(ws) => format!("{ws:?}"),
            Err(e) => trace::errno(*e),
        };
        trace::record("wait4", "-1, NULL, 0, NULL", &result);
        tx.send(&json!({
            "wait": result,
            "echild": r == Err(Errno::ECHILD),
        }));
        parent_gate.wait();
        // With SA_NOCLDWAIT the SIGCHLD came, blocked: read it to see what it carried.
        if let Ok(sfd) = nix::sys::signalfd::SignalFd::with_flags(
            &chld,
            nix::sys::signalfd::SfdFlags::SFD_NONBLOCK,
        ) {
            let info = sfd.read_signal().ok().flatten();
            tx.send(&json!({
                "sigchld": info.map(|i| json!({"pid": i.ssi_pid, "code": i.ssi_code, "status": i.ssi_status})),
            }));
        }
        0
    })?;
    drop(tx);
    child_gate.parent_side();
    let p = parent.raw();
    let msg = rx.json(lab.rt, T)?;
    let c = msg["child"].as_i64().unwrap_or(0) as i32;
    if c <= 0 {
        bail!("the parent (PID {p}) could not fork its child");
    }
    // The parent is blocked in wait() once it sleeps in wait4.
    let blocked =
        lab.wait_until(T, "the parent to block in wait()", |_| {
            let st = probe::state(p);
            let sc = probe::in_syscall(p);
            Ok((st == Some('S')
                && matches!(sc, InSyscall::Call(libc::SYS_wait4) | InSyscall::Unknown))
            .then_some(sc))
        })?;
    let ign = probe::sigmask(p, "SigIgn").unwrap_or_default();
    let cst = probe::stat(&lab.procfs, c)?;
    let (title, meaning) = match how {
        Autoreap::Ignore => (
            "A parent sets SIGCHLD to SIG_IGN, forks a child and calls wait()",
            "SIGCHLD (bit 17, 0x10000) ignored",
        ),
        Autoreap::NoCldWait => (
            "Another parent keeps SIGCHLD's default but sets SA_NOCLDWAIT, forks and calls wait()",
            "SIGCHLD not ignored: SA_NOCLDWAIT is a flag, which /proc does not show",
        ),
    };
    let mut step = Step::new(title)
        .syscall(format!(
            "parent {p}: {}; sigprocmask(SIG_BLOCK, {{SIGCHLD}}); fork() → {c}; wait(NULL)",
            how_name(how)
        ))
        .result("wait() blocks: the child lives")
        .evidence(
            Evidence::new(format!("/proc/{p}/status"), "SigIgn", ign.hex(), meaning)
                .check(ign.has(libc::SIGCHLD) == (how == Autoreap::Ignore)),
        )
        .evidence(
            Evidence::new(
                format!("/proc/{c}/stat"),
                "ppid (4)",
                cst.ppid,
                "the child's parent is that process",
            )
            .check(cst.ppid == p),
        )
        .evidence(
            Evidence::new(
                format!("/proc/{p}/stat"),
                "state (3)",
                probe::state(p).map(String::from).unwrap_or_default(),
                "the parent sleeps in wait(): a child is alive, so there is something to wait for",
            )
            .check(probe::state(p) == Some('S')),
        );
    match blocked {
        InSyscall::Call(nr) => {
            step = step.evidence(
                Evidence::new(
                    format!("/proc/{p}/syscall"),
                    "number",
                    format!("{nr} ({})", probe::syscall_name(nr)),
                    "blocked in wait4: glibc's wait() is wait4(-1, ...)",
                )
                .check(nr == libc::SYS_wait4),
            );
        }
        _ => {
            step = step.evidence(Evidence::new(
                format!("/proc/{p}/syscall"),
                "number",
                "(unreadable)",
                "the system call it sleeps in; reading it needs ptrace access",
            ));
        }
    }
    if how == Autoreap::Ignore {
        step = step.explain("SIGCHLD's default action is to do nothing, so ignoring it looks like a no-op; for SIGCHLD it is not. POSIX gives SIG_IGN on SIGCHLD a meaning of its own: this parent will never wait, so no child of it should become a zombie.");
    } else {
        step = step.explain("SA_NOCLDWAIT (a sigaction flag for SIGCHLD) asks for the same without ignoring the signal: SIGCHLD keeps its default action, or a handler; the children are still never zombies.");
    }
    lab.step(step.pid("parent", p).pid("child", c).try_it(format!(
        "grep -E 'SigIgn|SigBlk|ShdPnd' /proc/{p}/status; cat /proc/{p}/wchan; echo"
    )))?;

    child_gate.open(1)?;
    let done = rx.json(lab.rt, T)?;
    // The child exited (wait() returned): it left no zombie behind.
    let child_gone = probe::stat(&lab.procfs, c).map_or(true, |s| s.starttime != cst.starttime);
    let pending = probe::sigmask(p, "ShdPnd").unwrap_or_default();
    let echild = done["echild"] == true;
    let mut step = Step::new(match how {
        Autoreap::Ignore => "The child exits: no zombie, no SIGCHLD, and wait() fails with ECHILD",
        Autoreap::NoCldWait => "The child exits: no zombie, yet a SIGCHLD, and wait() fails with ECHILD",
    })
    .syscall(format!("child {c}: _exit({CODE}); parent {p}: wait(NULL) returns"))
    .result(format!("wait(NULL) = {}", done["wait"].as_str().unwrap_or("?")))
    .evidence(
        Evidence::new(format!("/proc/{c}"), "exists", if child_gone { "no" } else { "yes" }, "reaped by the kernel as it exited: it never showed Z")
            .check(child_gone),
    )
    .evidence(
        Evidence::new(format!("wait() in PID {p}"), "return", done["wait"].as_str().unwrap_or("?"), "ECHILD: no child to wait for, once the last one was gone; it blocked while the child lived")
            .check(echild),
    );
    match how {
        Autoreap::Ignore => {
            step = step
                .evidence(
                    Evidence::new(format!("/proc/{p}/status"), "ShdPnd", pending.hex(), "no SIGCHLD pending although it is blocked: with SIG_IGN the kernel sends none")
                        .check(!pending.has(libc::SIGCHLD)),
                )
                .explain(format!("Exit code {CODE} is lost: there is no zombie to keep it and no signal to carry it. And SIG_IGN is inherited by fork and kept by exec on Linux: a program started with SIGCHLD ignored finds that its own wait() calls fail with ECHILD, a classic surprise for shells and job runners started that way."));
        }
        Autoreap::NoCldWait => {
            parent_gate.open(1)?;
            let info = rx.json(lab.rt, T)?;
            let sig = &info["sigchld"];
            step = step
                .evidence(
                    Evidence::new(format!("/proc/{p}/status"), "ShdPnd", pending.hex(), "SIGCHLD (0x10000) pending: the kernel sent it, and the block kept it")
                        .check(pending.has(libc::SIGCHLD)),
                )
                .evidence(
                    Evidence::new(format!("signalfd in PID {p}"), "SIGCHLD", if sig.is_null() { "(none)".to_string() } else { format!("pid {} status {}", sig["pid"], sig["status"]) }, format!("the signal carries the child and its exit code {CODE}: the only place it survives"))
                        .check(sig["pid"] == c && sig["status"] == CODE),
                )
                .explain("With SA_NOCLDWAIT the parent is still told of each death (a handler runs, if it has one) and the signal's siginfo holds the exit status, but there is no zombie to wait for: wait() fails with ECHILD all the same.");
        }
    }
    lab.step(
        step.diagram(DECISION)
            .pid("parent", p)
            .pid("child", c)
            .try_it(r#"printf '%s\n' 'int main(){signal(SIGCHLD,SIG_IGN);if(!fork())_exit(7);sleep(1);if(wait(0)<0)perror("wait");return 0;}' | cc -x c -include signal.h -include unistd.h -include sys/wait.h -include stdio.h -o /tmp/ign - && /tmp/ign"#),
    )?;
    if how == Autoreap::Ignore {
        parent_gate.open(1)?;
    }
    let ws = lab.reap(&mut parent, T)?;
    if !matches!(ws, nix::sys::wait::WaitStatus::Exited(_, 0)) {
        bail!("the parent (PID {p}) {}", runtime::describe(ws));
    }
    Ok(())
}

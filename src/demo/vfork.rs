//! `demo vfork`: the parent is suspended until its child execs or exits, because the child
//! runs in the parent's own memory. Rust cannot return twice on a shared stack, so the demo
//! makes the same request as the vfork system call (CLONE_VM|CLONE_VFORK, SIGCHLD) with
//! clone() and a stack of the child's own, as glibc's posix_spawn does; a watcher process
//! observes the suspended parent from outside, since the parent cannot look at itself.
//!
//! The clone(CLONE_VM|CLONE_VFORK) is what this demo teaches, and no safe wrapper can make it:
//! the child runs in our memory, on a stack we hand it, and may only make raw system calls
//! before it execs. That `unsafe` block stays here, in the open.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::fcntl::OFlag;
use nix::sched::CloneFlags;
use nix::sys::wait::WaitStatus;
use serde_json::json;

use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe;
use crate::teach::runtime::{self, Gate, channel, find_program};
use crate::teach::trace;

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::VFORK,
    run,
};

/// The heading of its narration.
const TITLE: &str = "vfork(): the child borrows the parent's memory, so the parent waits";

/// What it shows, before the steps.
const INTRO: &str = "The notes name vfork() beside fork(). vfork(2) is a system call of its \
     own: the child runs in the parent's memory, on the parent's stack, and the parent sleeps \
     until the child execs or exits. Here the demo contrasts fork with a vfork-style clone and \
     watches the sleeping parent from a third process.";

const T: Duration = Duration::from_secs(5);
/// How long the watcher keeps the child from exec'ing, so the suspension can be seen.
const HOLD: Duration = Duration::from_millis(200);

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, INTRO)?;
    let pte = probe::status_field(&lab.procfs, lab.pid(), "VmPTE");
    let vmsize = probe::status_field(&lab.procfs, lab.pid(), "VmSize");
    // First, plain fork, for contrast: it returns at once while the child waits.
    let mut gate = Gate::new()?;
    lab.narrator.flush()?;
    let t0 = Instant::now();
    let mut forked = lab.spawn("child", || {
        gate.child_side();
        gate.wait();
        0
    })?;
    let fork_took = t0.elapsed();
    let f = forked.raw();
    let fstate = probe::stat(&lab.procfs, f).map(|s| s.state).unwrap_or(b'?');
    lab.step(
        Step::new("fork() returns at once: parent and child run independently")
            .syscall("fork()")
            .result(format!(
                "{f} after {:.3} ms",
                fork_took.as_secs_f64() * 1000.0
            ))
            .evidence(Evidence::new(
                format!("/proc/{f}/stat"),
                "state (3)",
                fstate as char,
                "the child exists and runs on its own: the parent did not wait for it",
            ))
            .evidence(Evidence::new(
                format!("/proc/{}/status", lab.pid()),
                "VmPTE",
                &pte,
                format!("the page tables of VmSize {vmsize}: at most this much for fork to copy"),
            ))
            .explain("fork() copies no memory, but it does copy page tables: those of every area that holds anonymous pages (the others are refilled on fault, see `demo fork`). VmPTE is an upper bound of that work, which grows with the parent's memory.")
            .pid("child", f)
            .pid("parent", lab.pid())
            .try_it(format!("grep -E 'VmSize|VmPTE' /proc/{}/status", lab.pid())),
    )?;
    gate.open(1)?;
    lab.reap(&mut forked, T)?;

    let truth = find_program("true")?;
    let argv = [truth.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null::<libc::c_char>()];
    // The watcher releases the child; we hold no copy of the release pipe's writing end, so
    // if the watcher dies the child sees EOF and execs anyway: the parent cannot hang.
    let (rel_rd, rel_wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("pipe2 failed")?;
    let (tx, mut rx) = channel()?;
    let me = lab.pid();
    let mut watcher = lab.spawn("child", || {
        let _ = nix::sys::prctl::set_name(c"vfork-watcher");
        let fs = match crate::proc::ProcFs::open(std::path::Path::new("/proc")) {
            Ok(fs) => fs,
            Err(_) => return 1,
        };
        // Wait until the parent sits in an uninterruptible wait for a while (not just a
        // page fault): that is the vfork.
        let start = Instant::now();
        let mut since: Option<Instant> = None;
        while start.elapsed() < Duration::from_secs(3) {
            match fs.stat(me).map(|s| s.state) {
                Ok(b'D') => {
                    let s = *since.get_or_insert_with(Instant::now);
                    if s.elapsed() >= Duration::from_millis(5) {
                        break;
                    }
                }
                _ => since = None,
            }
            std::thread::sleep(Duration::from_micros(500));
        }
        let seen = fs
            .stat(me)
            .map(|s| (s.state as char).to_string())
            .unwrap_or_default();
        let wchan = fs
            .read(&format!("{me}/wchan"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let stack = fs
            .read(&format!("{me}/stack"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .lines()
                    .filter_map(|l| l.split_whitespace().nth(1))
                    .map(|f| f.split('+').next().unwrap_or(f).to_string())
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(" ← ")
            })
            .unwrap_or_default();
        std::thread::sleep(HOLD);
        let still = fs
            .stat(me)
            .map(|s| (s.state as char).to_string())
            .unwrap_or_default();
        let _ = nix::unistd::write(&rel_wr, b"x");
        tx.send(&json!({"state": seen, "still": still, "wchan": wchan, "stack": stack}));
        0
    })?;
    drop(rel_wr);
    drop(tx);

    // Written by the child into our memory: proof that it runs in our address space.
    let child_wrote_pid = AtomicI32::new(0);
    let exec_errno = AtomicI32::new(0);
    let mut stack = vec![0u8; 64 * 1024];
    let rel_fd = {
        use std::os::fd::AsRawFd;
        rel_rd.as_raw_fd()
    };
    lab.narrator.flush()?;
    let t0 = Instant::now();
    // SAFETY: the child runs on its own stack in our memory and makes only system calls
    // (no allocation, no locks) before execve or _exit, like glibc's posix_spawn child.
    let pid = unsafe {
        nix::sched::clone(
            Box::new(|| {
                runtime::child_reset_signals();
                child_wrote_pid.store(libc::getpid(), Ordering::SeqCst);
                let mut b = 0u8;
                libc::read(rel_fd, (&mut b as *mut u8).cast(), 1);
                libc::execve(argv[0], argv.as_ptr(), envp.as_ptr());
                exec_errno.store(*libc::__errno_location(), Ordering::SeqCst);
                libc::_exit(127)
            }),
            &mut stack,
            CloneFlags::CLONE_VM | CloneFlags::CLONE_VFORK,
            Some(libc::SIGCHLD),
        )
    }
    .context("clone(CLONE_VM|CLONE_VFORK) failed")?;
    let waited = t0.elapsed();
    trace::record(
        "clone",
        format!(
            "child_stack={:#x}, flags=CLONE_VM|CLONE_VFORK|SIGCHLD",
            stack.as_ptr() as usize + stack.len()
        ),
        pid.to_string(),
    );
    let mut child = lab.track(pid.as_raw(), "child");
    drop(rel_rd);
    let c = pid.as_raw();
    let report = rx.json(lab.rt, T)?;
    lab.reap(&mut watcher, T)?;
    let errno = exec_errno.load(Ordering::SeqCst);
    if errno != 0 {
        bail!(
            "the vfork child could not exec {}: {}",
            truth.to_string_lossy(),
            std::io::Error::from_raw_os_error(errno)
        );
    }
    let state = report["state"].as_str().unwrap_or("?").to_string();
    let wchan = report["wchan"].as_str().unwrap_or("").to_string();
    let kstack = report["stack"].as_str().unwrap_or("").to_string();
    trace::record_for(
        c,
        "execve",
        format!(
            "\"{}\", [\"true\"], [] /* 0 vars */",
            truth.to_string_lossy()
        ),
        "0",
    );
    let mut step = Step::new("vfork: the parent is suspended until the child execs")
        .syscall("clone(child_stack=<a stack of its own>, flags=CLONE_VM|CLONE_VFORK|SIGCHLD)")
        .result(format!(
            "{c}, returned only after {:.1} ms",
            waited.as_secs_f64() * 1000.0
        ))
        .evidence(
            Evidence::new(
                format!("/proc/{}/stat", lab.pid()),
                "state (3)",
                &state,
                "seen by the watcher: D, an uninterruptible sleep that a fatal signal still ends (TASK_KILLABLE)",
            )
            .check(state == "D"),
        )
        .evidence(
            Evidence::new(
                "clock",
                "time in clone()",
                format!("{:.1} ms", waited.as_secs_f64() * 1000.0),
                format!(
                    "the parent waited while the watcher held the child back {} ms",
                    HOLD.as_millis()
                ),
            )
            .check(waited >= HOLD),
        )
        .evidence(
            Evidence::new(
                "our memory",
                "written by the child",
                child_wrote_pid.load(Ordering::SeqCst),
                "the child stored its PID in our variable: one address space (CLONE_VM)",
            )
            .check(child_wrote_pid.load(Ordering::SeqCst) == c),
        );
    if !wchan.is_empty() && wchan != "0" {
        step = step.evidence(Evidence::new(
            format!("/proc/{}/wchan", lab.pid()),
            "wchan",
            &wchan,
            "where the parent slept in the kernel",
        ));
    }
    if !kstack.is_empty() {
        step = step.evidence(Evidence::new(
            format!("/proc/{}/stack", lab.pid()),
            "kernel stack",
            &kstack,
            "the parent inside the vfork, innermost first",
        ));
    }
    lab.step(
        step.pid("child", c)
            .pid("parent", lab.pid())
            .pid("watcher", watcher.raw())
            .explain("These are the flags of the vfork system call (the kernel's sys_vfork asks kernel_clone() for CLONE_VM|CLONE_VFORK with SIGCHLD), made with clone() because Rust code cannot run on a stack it shares with its parent: here the child has a stack of its own, as posix_spawn's child does, and runs in the parent's memory all the same.")
            .explain("The child waited on a pipe (a plain read(), touching none of the parent's memory) until the watcher let it exec `true`; a real vfork child execs or exits at once. The parent resumed the moment the exec released its memory.")
            .try_it(format!("while :; do grep State /proc/{}/status; sleep 0.05; done   # during the demo", lab.pid())),
    )?;

    let ws = lab.reap(&mut child, T)?;
    lab.conclude(
        Step::new("Why vfork exists, and why posix_spawn uses it")
            .syscall(format!("read(signalfd) → SIGCHLD from {c}; wait4({c}, &status, WNOHANG, NULL)"))
            .result(runtime::describe(ws))
            .evidence(
                Evidence::new("waitpid", "status", runtime::describe(ws), "the exec'd `true` ran and exited 0")
                    .check(ws == WaitStatus::Exited(pid, 0)),
            )
            .pid("child", c)
            .explain("Before copy-on-write, fork() copied all of the parent's memory only for the child to throw it away at exec; vfork() lends the child the parent's memory instead and suspends the parent so they cannot trample each other. fork() is copy-on-write today but still copies the page tables of the parent's anonymous memory, costly for a large parent; that is why glibc's posix_spawn() asks for CLONE_VM|CLONE_VFORK too, with a stack it maps for the child (clone3 since glibc 2.34: `zombies demo clone` shows the call). The rule stays: the child may only exec or _exit.")
            .try_it("strace -f -e trace=vfork,clone,clone3 sh -c 'true & wait'"),
    )?;
    Ok(String::new())
}

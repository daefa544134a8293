//! `demo exit`: what do_exit leaves behind. Between its exit and its parent's wait, a child
//! is a zombie: state Z, PF_EXITING set, its memory gone (exit_mm), only its exit status and
//! resource usage kept; wait4 collects both and the process is gone. And the difference
//! between the C library's exit(3), which flushes stdio, and _exit(2), which does not.

use std::ffi::CStr;
use std::time::Duration;

use anyhow::{Context, Result};
use nix::sys::wait::WaitStatus;

use super::gone_evidence;
use crate::proc::stat::{ExitStatus, PF_EXITING};
use crate::sys::process::{self, ForkResult};
use crate::sys::stdio;
use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe;
use crate::teach::runtime::{self, Gate, Pipe, channel};
use crate::teach::syscalls;

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::EXIT,
    run,
};

/// The heading of its narration.
const TITLE: &str =
    "exit() and do_exit(): a dead child keeps only its exit status until its parent waits";

/// What it shows, before the steps.
const INTRO: &str = "The notes: however a process ends, by a signal or by calling exit(), it \
     ends in the kernel's do_exit(), which sets PF_EXITING and frees the memory with exit_mm. \
     Here a child holding 16 MiB exits; the demo looks at what is left of it before and after \
     its parent waits, and shows what the C library's exit() does before it reaches the \
     kernel.";

const T: Duration = Duration::from_secs(5);
/// Memory the child touches so that its VmRSS is visibly large while it lives.
const BALLAST: usize = 16 << 20;
/// CPU time the child burns in user mode before it exits, in clock ticks (USER_HZ is 100 on
/// every Linux architecture we run on: 50 ms).
const BURN_TICKS: u64 = 5;

/// PF_POSTCOREDUMP (include/linux/sched.h): set first thing in do_exit (Linux 5.16+).
const PF_POSTCOREDUMP: u32 = 0x0000_0008;
/// PF_NOFREEZE: set by do_task_dead(), the last thing a dying task does.
const PF_NOFREEZE: u32 = 0x0000_8000;

/// Where on do_exit's path a step stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Zombie,
    Reaped,
}

/// do_exit's order on Linux 6.x, and the parent's wait after it, with the step's place.
fn timeline(at: Mark, code: i32) -> String {
    let here = |m: Mark| if at == m { "   <== here" } else { "" };
    format!(
        "child:  _exit({code}) -> exit_group({code}) -> do_group_exit() -> do_exit():\n\
         \x20 1 PF_POSTCOREDUMP (coredump sync)  2 PTRACE_EVENT_EXIT  3 io_uring cancelled\n\
         \x20 4 exit_signals(): PF_EXITING     5 exit_mm(): the memory is released\n\
         \x20 6 exit_sem, exit_shm, exit_files, exit_fs, namespaces, ... released\n\
         \x20 7 exit_notify(): children reparented, SIGCHLD to the parent, state Z (EXIT_ZOMBIE)\n\
         \x20 8 do_task_dead(): PF_NOFREEZE, scheduled away for good{}\n\
         parent: wait4() -> wait_task_zombie(): state X (EXIT_DEAD), status and rusage copied\n\
         \x20       -> release_task(): the PID is freed, the task_struct goes with its last reference{}",
        here(Mark::Zombie),
        here(Mark::Reaped)
    )
}

/// The child's CPU time in clock ticks (utime + stime from /proc/self/stat).
fn own_ticks() -> u64 {
    std::fs::read("/proc/self/stat")
        .ok()
        .and_then(|b| crate::proc::stat::parse(&b))
        .map_or(0, |s| s.utime + s.stime)
}

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, INTRO)?;
    let code = i32::from(lab.opts.code);
    let mut gate = Gate::new()?;
    let (tx, mut rx) = channel()?;
    let mut child = lab.spawn("child", || {
        gate.child_side();
        let ballast = vec![1u8; BALLAST];
        // Some CPU time of its own, for wait4 to report.
        let mut x = 0u64;
        while own_ticks() < BURN_TICKS {
            for _ in 0..100_000 {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }
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
            .syscall("fork(); the child fills a 16 MiB buffer and spins for 50 ms of CPU")
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
            .pid("child", pid)
            .try_it(format!("grep -E 'State|VmRSS' /proc/{pid}/status")),
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
        "child: _exit({code}), that is exit_group({code}); parent: read(signalfd) → SIGCHLD; waitid(P_PID, {pid}, WEXITED|WNOWAIT|WNOHANG)"
    ))
    .result("the parent knows the child died, but WNOWAIT left it unreaped")
    .explain("The C library's _exit() makes the exit_group system call (sys_exit_group → do_group_exit → do_exit); a fatal signal reaches do_exit through do_group_exit as well. The notes' \"exit() → sys_exit()\" needs two corrections: exit(3) first runs the atexit handlers and flushes stdio (the next step), then makes exit_group; and sys_exit is the call that ends one thread only (`demo clone` shows it).")
    .explain("do_exit, completed from the notes, on this kernel: PF_POSTCOREDUMP is set first (so a core dump in progress knows this thread is past it), then a tracer gets PTRACE_EVENT_EXIT, io_uring requests are cancelled, exit_signals() sets PF_EXITING; exit_mm() releases the memory; exit_sem, exit_shm, exit_files, exit_fs and the namespaces follow; exit_notify() reparents any children, sends SIGCHLD to the parent and makes the task a zombie; do_task_dead() sets PF_NOFREEZE and schedules it away for good. (Some of these are inlined, so /proc/kallsyms may not list them.)")
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
            "PF_EXITING (0x4): set by exit_signals() in do_exit",
        )
        .check(z.flags & PF_EXITING != 0),
    )
    .evidence(
        Evidence::new(
            format!("/proc/{pid}/stat"),
            "PF_NOFREEZE (0x8000)",
            if z.flags & PF_NOFREEZE != 0 { "set" } else { "clear" },
            "set by do_task_dead(), the last thing the task did",
        )
        .check(z.flags & PF_NOFREEZE != 0),
    )
    .evidence(Evidence::new(
        format!("/proc/{pid}/stat"),
        "PF_POSTCOREDUMP (0x8)",
        if z.flags & PF_POSTCOREDUMP != 0 { "set" } else { "clear" },
        if z.flags & PF_POSTCOREDUMP != 0 {
            "set first thing in do_exit on this kernel (Linux 5.16 and later)"
        } else {
            "not set: this kernel has no such step (before Linux 5.16)"
        },
    ))
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
            format!("the wait status kept for the parent: {code} << 8 = exit({code}); needs ptrace access (root or the same user), others read 0"),
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
    let cpu_ticks = z.utime + z.stime;
    lab.step(
        step.pid("child", pid)
            .diagram(timeline(Mark::Zombie, code))
            .try_it(format!(
                "grep -E 'State|Vm' /proc/{pid}/status; cut -d' ' -f9,52 /proc/{pid}/stat"
            )),
    )?;

    lab.step(exit_or_underscore_exit(lab)?.pid("demo", lab.pid()))?;

    let (ws, usage) = lab.reap_with_usage(&mut child, T)?;
    let gone = probe::gone(&lab.procfs, pid, z.starttime);
    let hz = crate::proc::scan::ticks_per_second() as f64;
    let cpu = usage.utime + usage.stime;
    let stat_cpu = cpu_ticks as f64 / hz;
    lab.conclude(
        Step::new("The parent waits: wait4 collects the status and the resource usage, and the zombie is gone")
            .syscall(format!("read(signalfd) → SIGCHLD; wait4({pid}, &status, WNOHANG, &rusage)"))
            .result(runtime::describe(ws))
            .explain("This is the notes' \"exit status and resource usage statistics\": the zombie kept its peak memory (the maximum resident set, recorded as the memory was released) and its CPU times, and wait4 hands them to the parent with the status. wait_task_zombie() marks the task EXIT_DEAD (state X) so that no other waiter takes it, copies them out, and release_task() frees the PID.")
            .evidence(
                Evidence::new("wait4", "WEXITSTATUS", match ws {
                    WaitStatus::Exited(_, c) => c.to_string(),
                    other => format!("{other:?}"),
                }, "the code the child passed to _exit")
                .check(ws == WaitStatus::Exited(child.pid, code)),
            )
            .evidence(
                Evidence::new("wait4", "ru_maxrss", format!("{} kB", usage.maxrss_kb), "its peak memory: the 16 MiB it held, long after exit_mm freed them")
                    .check(usage.maxrss_kb >= (BALLAST / 1024) as i64),
            )
            .evidence(
                Evidence::new("wait4", "ru_utime + ru_stime", format!("{:.3} s", cpu.as_secs_f64()), "the CPU time it used: at least the 50 ms it spun")
                    .check(cpu >= Duration::from_millis(BURN_TICKS * 10 - 10)),
            )
            .evidence(
                Evidence::new(format!("/proc/{pid}/stat"), "utime+stime (14, 15)", format!("{cpu_ticks} ticks = {stat_cpu:.2} s"), "the same time, read from the zombie before the wait, in clock ticks")
                    .check((cpu.as_secs_f64() - stat_cpu).abs() <= 2.0 / hz + 0.005),
            )
            .evidence(gone_evidence(pid, gone, "release_task freed the PID"))
            .diagram(timeline(Mark::Reaped, code))
            .pid("child", pid)
            .try_it("/usr/bin/time -v true 2>&1 | grep -E 'Maximum resident|User time'   # GNU time prints wait4's rusage"),
    )?;
    Ok(String::new())
}

/// exit(3) against _exit(2) after fork: a line left in a stdio buffer is written by each
/// process that flushes its copy; and what each call asks the kernel for.
fn exit_or_underscore_exit(lab: &Lab) -> Result<Step> {
    const LINE: &CStr = c"one line, buffered before fork\n";
    let twice = flushes(lab, true)?;
    let once = flushes(lab, false)?;
    let lines = |(n, _): &(usize, String)| n.to_string();
    let mut step = Step::new("exit(3) flushes stdio before it ends the process; _exit(2) does not")
        .syscall("child: fputs(line) into a pipe's stdio buffer; fork(); both copies exit(0) — then again with the copy calling _exit(0)")
        .result(format!("the line arrived {} times, then {} time", twice.0, once.0))
        .explain("fork() copied the unwritten stdio buffer along with the rest of memory. exit(3) runs the atexit handlers and flushes every open stdio stream, so each copy wrote the line; _exit(2) goes straight to the kernel and the copy's buffer is lost. That is why a forked child should end with _exit() (or exec) and leave flushing to its parent.")
        .evidence(
            Evidence::new("pipe", "lines read, both exit()", lines(&twice), "the buffer was flushed by both processes")
                .check(twice.0 == 2),
        )
        .evidence(
            Evidence::new("pipe", "lines read, child _exit()", lines(&once), "flushed by the parent only")
                .check(once.0 == 1),
        )
        .try_it(r#"printf '%s\n' 'int main(){printf("one line\n");fork();return 0;}' | cc -x c -include stdio.h -include unistd.h -o /tmp/twice - && /tmp/twice | cat"#)
        .try_it(r#"printf '%s\n' 'int main(){printf("one line\n");if(!fork())_exit(0);return 0;}' | cc -x c -include stdio.h -include unistd.h -o /tmp/once - && /tmp/once | cat"#);
    // What exit(3) and _exit(2) ask the kernel for, watched in a probe.
    let keep = [libc::SYS_write, libc::SYS_exit_group, libc::SYS_exit];
    let probe = |flush: bool| {
        syscalls::watch(lab.rt, &keep, move || {
            let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") else {
                return 1;
            };
            if stdio::leave_in_stdio_buffer(null.into(), LINE).is_err() {
                return 1;
            }
            if flush {
                stdio::exit_flushing(0)
            } else {
                process::exit_now(0)
            }
        })
    };
    let show = |calls: &[syscalls::RawCall]| {
        calls
            .iter()
            .map(|c| {
                let (args, ret) = c.strace();
                format!("{}({args}) = {ret}", c.name())
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    match (probe(true)?, probe(false)?) {
        (Ok(ex), Ok(under)) => {
            let names = |c: &[syscalls::RawCall]| c.iter().map(|c| c.name()).collect::<Vec<_>>();
            step = step
                .evidence(
                    Evidence::new(
                        "ptrace",
                        "exit(0)",
                        show(&ex),
                        "the buffered line written, then exit_group",
                    )
                    .check(names(&ex) == ["write", "exit_group"]),
                )
                .evidence(
                    Evidence::new(
                        "ptrace",
                        "_exit(0)",
                        show(&under),
                        "exit_group at once: the buffer is never written",
                    )
                    .check(names(&under) == ["exit_group"]),
                );
        }
        (Err(why), _) | (_, Err(why)) => {
            step = step.explain(format!(
                "The system calls themselves could not be watched here: {why}."
            ));
        }
    }
    Ok(step)
}

/// A child leaves a line in a stdio buffer and forks; its copy exits with exit(3) (`both`) or
/// _exit(2), the child itself with exit(3). Returns how many lines came out of the pipe and
/// what they were.
fn flushes(lab: &Lab, both: bool) -> Result<(usize, String)> {
    let mut pipe = Pipe::new()?;
    let mut writer = lab.spawn("stdio child", || {
        pipe.close_read();
        let Some(fd) = pipe.writer().and_then(|w| w.try_clone_to_owned().ok()) else {
            return 1;
        };
        pipe.close_write();
        if stdio::leave_in_stdio_buffer(fd, c"one line, buffered before fork\n").is_err() {
            return 1;
        }
        match process::fork() {
            Ok(ForkResult::Child) => {
                if both {
                    stdio::exit_flushing(0)
                } else {
                    process::exit_now(0)
                }
            }
            Ok(ForkResult::Parent { child }) => {
                let _ = nix::sys::wait::waitpid(child, None);
                stdio::exit_flushing(0)
            }
            Err(_) => 1,
        }
    })?;
    pipe.close_write();
    let reader = pipe
        .reader()
        .context("the stdio pipe's read end is closed")?;
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        if !lab.wait_readable(reader, Some(T))? {
            anyhow::bail!("the stdio child wrote nothing within {T:?}");
        }
        match nix::unistd::read(reader, &mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
            Err(e) => return Err(e).context("cannot read the stdio child's pipe"),
        }
    }
    lab.reap(&mut writer, T)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    Ok((text.lines().count(), text))
}

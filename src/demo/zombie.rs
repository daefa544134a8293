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
use crate::teach::runtime::{self, Gate, channel, find_program};
use crate::teach::trace;

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::ZOMBIE,
    run,
};

/// The heading of its narration.
const TITLE: &str =
    "a real zombie, as `zombies list` shows it, held for you to inspect, then reaped";

/// What it shows, before the steps.
const INTRO: &str = "The notes: \"I kill them but they don't go away!\" A zombie is a dead \
     process its parent has not waited for; ps -l shows it as Z and <defunct>. Here a careless \
     parent leaves one, and the demo shows it the ways you would find it, tries to kill it, \
     and applies the remedy.";

/// The process states /proc/PID/stat and ps show, and how a process moves between them.
const STATES: &str = "\
fork() --> R  running, or runnable on a run queue <-------------------+
           |  waits for an event                                    | woken: the event, or a signal
           +--> S  sleeping, interruptible (any signal wakes it) ---+
           +--> D  sleeping, uninterruptible (signals wait: only a TASK_KILLABLE
           |       sleep, such as a vfork parent's, wakes for SIGKILL)
           +--> T  stopped by SIGSTOP/SIGTSTP (t: stopped by its tracer) -- SIGCONT --> R
           |  exit_group(), or a fatal signal: do_exit()
           +--> Z  zombie: dead, its status kept -- the parent's wait() --> X  being reaped --> gone";

const T: Duration = Duration::from_secs(5);

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, INTRO)?;
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
            .explain("Almost every process passes through this state when it dies. The exception, which the notes miss: a parent that sets SIGCHLD to SIG_IGN or uses SA_NOCLDWAIT has its children reaped by the kernel at once (`zombies demo autoreap`). The zombie holds no memory and no files, only its PID, its task_struct, its exit status and its resource usage, kept for its parent.")
            .try_it(format!("ps -o pid,ppid,stat,comm -p {z},{p}")),
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
            .pid("parent", p)
            .try_it(format!("zombies list --parent {p}; zombies explain {z}")),
    )?;

    let kill_result = nix::sys::signal::kill(nix::unistd::Pid::from_raw(z), Signal::SIGKILL);
    trace::record(
        "kill",
        format!("{z}, SIGKILL"),
        trace::ret(&kill_result.map(|()| 0)),
    );
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
            .explain("This is the notes' \"I kill them but they don't go away!\". The signal is accepted and does nothing: the process already went through do_exit, and there is nothing left to kill. The three real choices: fix the parent so it waits, kill the parent (its zombies are adopted and reaped), or live with it: a zombie costs a PID, its task_struct and a few small kernel structures (signal_struct, struct pid, credentials); its memory and kernel stack are already gone.")
            .try_it(format!("kill -9 {z}; grep State /proc/{z}/status")),
    )?;

    let hold = lab.opts.hold;
    lab.step(ps_step(lab, z, p, hold)?)?;
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
            .syscall(format!("kill({p}, SIGTERM); read(signalfd) → SIGCHLD; wait4({p}, &status, WNOHANG, NULL)"))
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
            .explain("The parent's exit reparented its zombie child to the nearest subreaper, this demo (or else PID 1), and the kernel's exit_notify() told the new parent at once: an adopted zombie gets a SIGCHLD for its new parent, which can reap it right away.")
            .pid("zombie", z)
            .pid("parent", p)
            .try_it(format!("grep PPid /proc/{z}/status")),
    )?;

    let ws = lab.reap(&mut zombie, T)?;
    let gone = probe::gone(&lab.procfs, z, zst.starttime);
    lab.conclude(
        Step::new("The adopter waits: the zombie is reaped")
            .syscall(format!(
                "read(signalfd) → SIGCHLD; wait4({z}, &status, WNOHANG, NULL)"
            ))
            .result(runtime::describe(ws))
            .evidence(status_evidence(
                ws,
                WaitStatus::Exited(zombie.pid, code),
                &format!("the exit code {code} it kept all along"),
            ))
            .evidence(gone_evidence(z, gone, "gone for good"))
            .pid("zombie", z)
            .try_it(format!("ps -p {z} || echo 'no process {z}: reaped'")),
    )?;
    Ok(String::new())
}

/// The step that holds the zombie: how `ps -l` shows it (where ps is procps's), or the /proc
/// fields ps reads, and the states a process goes through.
fn ps_step(lab: &Lab, z: i32, p: i32, hold: Duration) -> Result<Step> {
    let mut step = Step::new(format!(
        "Holding the zombie for {hold:?}: what `ps -lf` shows, and the process states"
    ))
    .syscall(format!("ps -lf -p {z},{p}"))
    .explain("The notes: look at the PPID that ps -l displays. ps reads /proc/PID/stat: the state letter (the S column), the parent (PPID). A zombie has no memory left, so no command line either (/proc/PID/cmdline is empty): ps -f shows its name in brackets and marks it <defunct> (procps's ps -l alone shows the bare name).")
    .diagram(STATES)
    .pid("zombie", z)
    .pid("parent", p)
    .try_it(format!("ps -lf -p {z},{p}"))
    .try_it(format!("grep -E 'State|PPid|Vm' /proc/{z}/status; tr '\\0' ' ' < /proc/{z}/cmdline | wc -c"))
    .try_it(format!("zombies explain {z}"));
    let ps = find_program("ps").ok().and_then(|prog| {
        let argv = [
            std::ffi::CString::new("ps").ok()?,
            std::ffi::CString::new("-lf").ok()?,
            std::ffi::CString::new("-p").ok()?,
            std::ffi::CString::new(format!("{z},{p}")).ok()?,
        ];
        lab.capture(&prog, &argv, T).ok()
    });
    let row = ps.as_ref().and_then(|(_, out)| PsRow::find(out, z));
    match (&ps, row) {
        (Some((_, out)), Some(row)) => {
            step = step
                .result("procps's ps: the columns F S UID PID PPID ... CMD")
                .block(out.trim_end().to_string())
                .evidence(
                    Evidence::new(format!("ps -lf -p {z}"), "S", &row.state, "Z: a zombie")
                        .check(row.state == "Z"),
                )
                .evidence(
                    Evidence::new(
                        format!("ps -lf -p {z}"),
                        "PPID",
                        &row.ppid,
                        "the parent that has not waited: the one to fix or kill",
                    )
                    .check(row.ppid == p.to_string()),
                )
                .evidence(
                    Evidence::new(
                        format!("ps -lf -p {z}"),
                        "CMD",
                        &row.cmd,
                        "<defunct>: ps's word for a zombie",
                    )
                    .check(row.cmd.ends_with("<defunct>")),
                );
        }
        _ => {
            step = step.result(match &ps {
                None => "ps is not installed here: these are the /proc fields it would read".to_string(),
                Some(_) => "this ps does not print procps's `ps -lf` columns: these are the /proc fields it reads".to_string(),
            });
            if let Some((_, out)) = &ps {
                if !out.trim().is_empty() {
                    step = step.block(out.trim_end().to_string());
                }
            }
        }
    }
    let zst = probe::stat(&lab.procfs, z)?;
    let cmdline = std::fs::read(format!("/proc/{z}/cmdline")).ok();
    step = step
        .evidence(
            Evidence::new(
                format!("/proc/{z}/stat"),
                "state (3)",
                zst.state as char,
                "the S column",
            )
            .check(zst.state == b'Z'),
        )
        .evidence(
            Evidence::new(
                format!("/proc/{z}/stat"),
                "ppid (4)",
                zst.ppid,
                "the PPID column",
            )
            .check(zst.ppid == p),
        )
        .evidence(
            Evidence::new(
                format!("/proc/{z}/cmdline"),
                "bytes",
                cmdline
                    .as_ref()
                    .map_or("(unreadable)".to_string(), |c| c.len().to_string()),
                "no memory, no argv: ps shows the name from /proc/PID/comm, and <defunct>",
            )
            .check(cmdline.is_some_and(|c| c.is_empty())),
        );
    Ok(step)
}

/// The zombie's line of `ps -l`, by the columns its header names.
struct PsRow {
    state: String,
    ppid: String,
    cmd: String,
}

impl PsRow {
    fn find(out: &str, pid: i32) -> Option<PsRow> {
        let mut lines = out.lines();
        let header: Vec<&str> = lines.next()?.split_whitespace().collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (s, p, pp, cmd) = (col("S")?, col("PID")?, col("PPID")?, col("CMD")?);
        lines.find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(p)? == &pid.to_string().as_str()).then(|| PsRow {
                state: f.get(s).copied().unwrap_or("").to_string(),
                ppid: f.get(pp).copied().unwrap_or("").to_string(),
                cmd: f.get(cmd..).map(|c| c.join(" ")).unwrap_or_default(),
            })
        })
    }
}

/// The size of one task_struct from /proc/slabinfo (root only; None elsewhere).
fn task_struct_size() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/slabinfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("task_struct "))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

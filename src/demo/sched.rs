//! `demo sched`: the notes' empty "process scheduling" section. Two busy children pinned to
//! one CPU, at nice 0 and nice 10: the fair scheduler gives each CPU time in proportion to
//! its weight, measured from utime+stime in /proc/PID/stat.

use std::time::Duration;

use anyhow::{Context, Result};
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

use crate::teach::catalog;
use crate::teach::lab::{Demo, Lab};
use crate::teach::narrate::{Evidence, Step};
use crate::teach::probe;
use crate::teach::runtime::{self, Gate, channel};

pub(super) const DEMO: Demo = Demo {
    about: catalog::lifecycle::SCHED,
    run,
};

/// The heading of its narration.
const TITLE: &str =
    "scheduling: two busy processes share one CPU by weight (nice 0 against nice 10)";

const T: Duration = Duration::from_secs(5);
const MEASURE: Duration = Duration::from_millis(1500);

/// The kernel's sched_prio_to_weight table (kernel/sched/core.c), nice -20 to 19.
const WEIGHTS: [u32; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];

fn weight(nice: i64) -> u32 {
    WEIGHTS[(nice.clamp(-20, 19) + 20) as usize]
}

fn policy_name(p: u64) -> &'static str {
    match p {
        0 => "SCHED_OTHER (normal, fair-share)",
        1 => "SCHED_FIFO",
        2 => "SCHED_RR",
        3 => "SCHED_BATCH",
        5 => "SCHED_IDLE",
        6 => "SCHED_DEADLINE",
        _ => "?",
    }
}

fn run(lab: &mut Lab) -> Result<String> {
    lab.begin(TITLE, "")?;
    let allowed = sched_getaffinity(Pid::from_raw(0)).context("sched_getaffinity failed")?;
    let cpu = (0..CpuSet::count())
        .find(|&c| allowed.is_set(c).unwrap_or(false))
        .context("this process may run on no CPU at all?")?;
    let mut set = CpuSet::new();
    set.set(cpu)?;
    let base = i64::from(
        rustix::process::getpriority_process(None).context("getpriority(PRIO_PROCESS) failed")?,
    );
    let mut gate = Gate::new()?;
    let mut spawn = |lab: &mut Lab, want: i64| -> Result<runtime::Child> {
        let (tx, mut rx) = channel()?;
        let gate = &mut gate;
        let child = lab.spawn("child", || {
            gate.child_side();
            let pinned = sched_setaffinity(Pid::from_raw(0), &set).is_ok();
            // Lowering nice below the inherited one needs CAP_SYS_NICE: then keep it.
            if rustix::process::setpriority_process(None, want as i32).is_err() {
                let _ = rustix::process::setpriority_process(None, base.max(want - 10) as i32);
            }
            tx.send(&serde_json::json!({ "pinned": pinned }));
            gate.wait();
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        })?;
        drop(tx);
        rx.json(lab.rt, T)?;
        Ok(child)
    };
    let mut a = spawn(lab, 0)?;
    let mut b = spawn(lab, 10)?;
    let (pa, pb) = (a.raw(), b.raw());
    let sa = probe::stat(&lab.procfs, pa)?;
    let sb = probe::stat(&lab.procfs, pb)?;
    let list_a = probe::status_field(&lab.procfs, pa, "Cpus_allowed_list");
    let list_b = probe::status_field(&lab.procfs, pb, "Cpus_allowed_list");
    let mut step = Step::new(format!(
        "Two busy children pinned to CPU {cpu}, at nice {} and nice {}",
        sa.nice, sb.nice
    ))
    .syscall(format!(
        "fork() ×2; each: sched_setaffinity(0, {{{cpu}}}), setpriority(PRIO_PROCESS, 0, nice)"
    ))
    .evidence(
        Evidence::new(
            format!("/proc/{pa}/status"),
            "Cpus_allowed_list",
            &list_a,
            "A may run only on this CPU",
        )
        .check(list_a == cpu.to_string()),
    )
    .evidence(
        Evidence::new(
            format!("/proc/{pb}/status"),
            "Cpus_allowed_list",
            &list_b,
            "so may B: they must share it",
        )
        .check(list_b == cpu.to_string()),
    );
    for (name, pid, st) in [("A", pa, &sa), ("B", pb, &sb)] {
        step = step
            .evidence(Evidence::new(
                format!("/proc/{pid}/stat"),
                "policy (41)",
                st.policy,
                format!("{name}: {}", policy_name(st.policy)),
            ))
            .evidence(Evidence::new(
                format!("/proc/{pid}/stat"),
                "nice (19)",
                st.nice,
                format!("{name}: weight {} in the kernel's table", weight(st.nice)),
            ))
            .evidence(
                Evidence::new(
                    format!("/proc/{pid}/stat"),
                    "priority (18)",
                    st.priority,
                    format!("{name}: for normal tasks 20 + nice (kernel prio 100 + that)"),
                )
                .check(st.priority == 20 + st.nice),
            )
            .evidence(Evidence::new(
                format!("/proc/{pid}/stat"),
                "rt_priority (40)",
                st.rt_priority,
                format!("{name}: 0, real-time priorities are for SCHED_FIFO/RR"),
            ));
    }
    lab.step(step.pid("a", pa).pid("b", pb))?;

    gate.open(2)?;
    // Let both start spinning, then measure.
    lab.sleep(Duration::from_millis(100))?;
    let cpu_time = |lab: &Lab, pid: i32| probe::stat(&lab.procfs, pid).map(|s| s.utime + s.stime);
    let (a0, b0) = (cpu_time(lab, pa)?, cpu_time(lab, pb)?);
    lab.sleep(MEASURE)?;
    let (a1, b1) = (cpu_time(lab, pa)?, cpu_time(lab, pb)?);
    let on_a = probe::stat(&lab.procfs, pa)
        .map(|s| s.processor)
        .unwrap_or(-1);
    let on_b = probe::stat(&lab.procfs, pb)
        .map(|s| s.processor)
        .unwrap_or(-1);
    let ctx_b = probe::status_field(&lab.procfs, pb, "nonvoluntary_ctxt_switches");
    let hz = crate::proc::scan::ticks_per_second() as f64;
    let (da, db) = ((a1 - a0) as f64, (b1 - b0) as f64);
    let total = (da + db).max(1.0);
    let (wa, wb) = (f64::from(weight(sa.nice)), f64::from(weight(sb.nice)));
    let expect_a = wa / (wa + wb) * 100.0;
    let scheduler = probe::fair_scheduler();
    lab.step(
        Step::new(format!("Measured over {:.1} s: CPU time follows the weights", MEASURE.as_secs_f64()))
            .syscall("read utime (14) + stime (15) from /proc/PID/stat before and after")
            .result(format!("A got {:.0}% of CPU {cpu}, B {:.0}% (expected by weight: {expect_a:.0}% and {:.0}%)", da / total * 100.0, db / total * 100.0, 100.0 - expect_a))
            .evidence(
                Evidence::new(format!("/proc/{pa}/stat"), "utime+stime", format!("+{:.2} s", da / hz), format!("A (nice {}): {:.0}% of the time the two got", sa.nice, da / total * 100.0))
                    .check(da > db),
            )
            .evidence(Evidence::new(format!("/proc/{pb}/stat"), "utime+stime", format!("+{:.2} s", db / hz), format!("B (nice {}): {:.0}%", sb.nice, db / total * 100.0)))
            .evidence(
                Evidence::new(format!("/proc/{pa}/stat, /proc/{pb}/stat"), "processor (39)", format!("{on_a}, {on_b}"), "both ran on the pinned CPU")
                    .check(on_a == cpu as i64 && on_b == cpu as i64),
            )
            .evidence(Evidence::new(format!("/proc/{pb}/status"), "nonvoluntary_ctxt_switches", &ctx_b, "B was preempted this often: it never gave up the CPU by itself"))
            .evidence(Evidence::new("/proc/kallsyms", probe::EEVDF_SYMBOL, match scheduler {
                probe::FairScheduler::Eevdf => "present",
                probe::FairScheduler::Cfs => "absent",
                probe::FairScheduler::Unknown => "unreadable",
            }, "EEVDF's average vruntime, which CFS does not have: it tells the two schedulers apart"))
            .pid("a", pa)
            .pid("b", pb)
            .note(format!(
                "Nice does not set a time slice; it sets a weight (nice 0 = 1024, each nice step ≈ 1.25× less). {} Either way, runnable tasks share a CPU in proportion to their weights. Other load on CPU {cpu} and CPU times counted in clock ticks (USER_HZ = {hz:.0}) make the measurement approximate.",
                match scheduler {
                    probe::FairScheduler::Eevdf => "This kernel's scheduler is EEVDF (Linux 6.6+): among the tasks that have not received more than their weighted share, it runs the one with the earliest virtual deadline (CFS, before 6.6, ran the one with the least weighted runtime).",
                    probe::FairScheduler::Cfs => "This kernel's scheduler is CFS: it runs the task with the least weighted runtime (vruntime); Linux 6.6 replaced it with EEVDF.",
                    probe::FairScheduler::Unknown => "Which fair scheduler this kernel runs cannot be told here (/proc/kallsyms is unreadable): CFS runs the task with the least weighted runtime, EEVDF (Linux 6.6+) the eligible one with the earliest virtual deadline.",
                }
            )),
    )?;

    let wa_s = lab.reap_killed(&mut a)?;
    let wb_s = lab.reap_killed(&mut b)?;
    lab.conclude(
        Step::new("Stop and reap both")
            .syscall(format!(
                "kill({pa}, SIGKILL); kill({pb}, SIGKILL); waitpid() ×2"
            ))
            .result(format!(
                "{}; {}",
                runtime::describe(wa_s),
                runtime::describe(wb_s)
            ))
            .pid("a", pa)
            .pid("b", pb),
    )?;
    Ok(String::new())
}

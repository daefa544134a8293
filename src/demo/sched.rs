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

/// What it shows, before the steps.
const INTRO: &str = "The notes leave \"process scheduling\" empty. Two busy children share one \
     CPU, one at nice 0 and one at nice 10: the kernel's fair scheduler gives each CPU time in \
     proportion to its weight, which /proc/PID/sched shows with the virtual runtime the \
     scheduler keeps even.";

const T: Duration = Duration::from_secs(5);
const MEASURE: Duration = Duration::from_millis(1000);

/// What /proc/PID/sched shows of a weight: the table's value shifted left by this on 64-bit
/// kernels (scale_load(), SCHED_FIXEDPOINT_SHIFT), for precision in the arithmetic.
#[cfg(target_pointer_width = "64")]
const WEIGHT_SHIFT: u32 = 10;
#[cfg(not(target_pointer_width = "64"))]
const WEIGHT_SHIFT: u32 = 0;

/// The lines of /proc/PID/sched the demo reads (present with CONFIG_SCHED_DEBUG, which
/// distribution kernels enable).
struct SchedLine {
    weight: u64,
    vruntime_ms: f64,
    sum_exec_ms: f64,
    /// EEVDF's slice (Linux 6.6+), in ns.
    slice_ns: Option<u64>,
}

impl SchedLine {
    fn read(pid: i32) -> Option<SchedLine> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/sched")).ok()?;
        let get = |name: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == name).then(|| v.trim().to_string())
            })
        };
        Some(SchedLine {
            weight: get("se.load.weight")?.parse().ok()?,
            vruntime_ms: get("se.vruntime")?.parse().ok()?,
            sum_exec_ms: get("se.sum_exec_runtime")?.parse().ok()?,
            slice_ns: get("se.slice").and_then(|v| v.parse().ok()),
        })
    }
}

/// The autogroup warning: with autogroup on, nice ranks tasks within their session only.
fn autogroup_step(pa: i32, pb: i32) -> Step {
    let enabled = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
        .map(|s| s.trim().to_string())
        .ok();
    let group = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/autogroup"))
            .map(|s| s.trim().to_string())
            .ok()
    };
    let (ga, gb) = (group(pa), group(pb));
    // The cgroup line of each (the v2 one, "0::PATH", is the last), None when unreadable.
    let cg = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
            .ok()
            .and_then(|s| s.lines().last().map(str::to_string))
    };
    let mut step = Step::new("Why `nice` may seem to do nothing on a desktop: autogroups")
        .syscall("read /proc/sys/kernel/sched_autogroup_enabled, /proc/PID/autogroup, /proc/PID/cgroup")
        .explain("The weights compete only among tasks of the same group. With sched_autogroup_enabled=1 the kernel puts each session (a terminal, a login) in an autogroup of its own, and the groups share the CPU by their own weight first: a nice 10 job started in another terminal still gets about half the CPU against a nice 0 job here. Nice then only ranks tasks within one session; writing a nice value to /proc/PID/autogroup ranks the sessions themselves. Autogroups apply to tasks in the root cpu cgroup; where the cpu controller is in use (systemd slices with CPU accounting, containers), cgroups divide the CPU the same way, by cpu.weight. A and B share a session and a cgroup, so their nice values met head on.")
        .pid("a", pa)
        .pid("b", pb)
        .try_it(format!("cat /proc/sys/kernel/sched_autogroup_enabled /proc/{pa}/autogroup /proc/$$/autogroup"));
    step = step.evidence(Evidence::new(
        "/proc/sys/kernel/sched_autogroup_enabled",
        "value",
        enabled.clone().unwrap_or_else(|| "(absent)".into()),
        match enabled.as_deref() {
            Some("1") => "on: nice ranks tasks within a session only",
            Some("0") => "off: nice ranks every task against every other (within a cgroup)",
            _ => "absent: a kernel built without CONFIG_SCHED_AUTOGROUP",
        },
    ));
    if enabled.as_deref() == Some("1") {
        step = step.evidence(
            Evidence::new(
                format!("/proc/{pa}/autogroup, /proc/{pb}/autogroup"),
                "group",
                format!(
                    "{}; {}",
                    ga.clone().unwrap_or_default(),
                    gb.clone().unwrap_or_default()
                ),
                "the same autogroup (inherited with the session): the weights met head on",
            )
            .check(ga.is_some() && ga == gb),
        );
    }
    match (cg(pa), cg(pb)) {
        (Some(a), Some(b)) => step.evidence(
            Evidence::new(
                format!("/proc/{pa}/cgroup, /proc/{pb}/cgroup"),
                "last line",
                &a,
                "the same control group for both",
            )
            .check(a == b),
        ),
        _ => step.evidence(Evidence::new(
            format!("/proc/{pa}/cgroup"),
            "last line",
            "(none)",
            "no control group listed here",
        )),
    }
}

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
    lab.begin(TITLE, INTRO)?;
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
        match SchedLine::read(pid) {
            Some(line) => {
                let want = u64::from(weight(st.nice)) << WEIGHT_SHIFT;
                step = step.evidence(
                    Evidence::new(
                        format!("/proc/{pid}/sched"),
                        "se.load.weight",
                        line.weight,
                        format!(
                            "{name}: {} × {} (the table's weight for nice {}, scaled up for precision on 64-bit)",
                            weight(st.nice),
                            1u64 << WEIGHT_SHIFT,
                            st.nice
                        ),
                    )
                    .check(line.weight == want),
                );
            }
            None => {
                step = step.evidence(Evidence::new(
                    format!("/proc/{pid}/sched"),
                    "se.load.weight",
                    "(absent)",
                    "this kernel has no /proc/PID/sched (built without CONFIG_SCHED_DEBUG)",
                ));
            }
        }
    }
    lab.step(
        step.pid("a", pa)
            .pid("b", pb)
            .try_it(format!("grep se.load.weight /proc/{pa}/sched /proc/{pb}/sched; ps -o pid,ni,pri,psr,comm -p {pa},{pb}")),
    )?;

    gate.open(2)?;
    // Let both start spinning, then measure.
    lab.sleep(Duration::from_millis(100))?;
    let cpu_time = |lab: &Lab, pid: i32| probe::stat(&lab.procfs, pid).map(|s| s.utime + s.stime);
    let (a0, b0) = (cpu_time(lab, pa)?, cpu_time(lab, pb)?);
    let (sa0, sb0) = (SchedLine::read(pa), SchedLine::read(pb));
    lab.sleep(MEASURE)?;
    let (a1, b1) = (cpu_time(lab, pa)?, cpu_time(lab, pb)?);
    let (sa1, sb1) = (SchedLine::read(pa), SchedLine::read(pb));
    let on_a = probe::stat(&lab.procfs, pa)
        .map(|s| s.processor)
        .unwrap_or(-1);
    let on_b = probe::stat(&lab.procfs, pb)
        .map(|s| s.processor)
        .unwrap_or(-1);
    let ctx_b = probe::status_field(&lab.procfs, pb, "nonvoluntary_ctxt_switches");
    let hz = crate::proc::scan::ticks_per_second() as f64;
    let (wa, wb) = (f64::from(weight(sa.nice)), f64::from(weight(sb.nice)));
    let expect_a = wa / (wa + wb) * 100.0;
    let scheduler = probe::fair_scheduler();
    // The CPU time each got: from /proc/PID/sched in nanoseconds where the kernel has it,
    // else from utime+stime in clock ticks.
    let exec = match (&sa0, &sa1, &sb0, &sb1) {
        (Some(x0), Some(x1), Some(y0), Some(y1)) => Some((
            x1.sum_exec_ms - x0.sum_exec_ms,
            y1.sum_exec_ms - y0.sum_exec_ms,
            x1.vruntime_ms - x0.vruntime_ms,
            y1.vruntime_ms - y0.vruntime_ms,
        )),
        _ => None,
    };
    let (da, db) = match exec {
        Some((ea, eb, _, _)) => (ea / 1000.0, eb / 1000.0),
        None => ((a1 - a0) as f64 / hz, (b1 - b0) as f64 / hz),
    };
    let total = (da + db).max(1e-9);
    let mut step = Step::new(format!(
        "Measured over {:.1} s: CPU time follows the weights, virtual runtime advances alike",
        MEASURE.as_secs_f64()
    ))
    .syscall("read /proc/PID/sched (se.sum_exec_runtime, se.vruntime) and /proc/PID/stat before and after")
    .result(format!(
        "A got {:.0}% of CPU {cpu}, B {:.0}% (expected by weight: {expect_a:.0}% and {:.0}%)",
        da / total * 100.0,
        db / total * 100.0,
        100.0 - expect_a
    ))
    .explain(format!(
        "Nice does not set a time slice; it sets a weight (nice 0 = 1024, each nice step ≈ 1.25× less). {} Either way, runnable tasks share a CPU in proportion to their weights: a task's virtual runtime is its CPU time scaled by 1024/weight, and the scheduler keeps the virtual runtimes of the tasks it runs close together. So B's vruntime advances about as fast as A's while it gets about a tenth of the CPU. Other load on CPU {cpu} makes the measurement approximate.",
        match scheduler {
            probe::FairScheduler::Eevdf => "This kernel's scheduler is EEVDF (Linux 6.6+): among the tasks that have not received more than their weighted share, it runs the one with the earliest virtual deadline (CFS, before 6.6, ran the one with the least weighted runtime).",
            probe::FairScheduler::Cfs => "This kernel's scheduler is CFS: it runs the task with the least weighted runtime (vruntime); Linux 6.6 replaced it with EEVDF.",
            probe::FairScheduler::Unknown => "Which fair scheduler this kernel runs cannot be told here (/proc/kallsyms is unreadable): CFS runs the task with the least weighted runtime, EEVDF (Linux 6.6+) the eligible one with the earliest virtual deadline.",
        }
    ));
    match exec {
        Some((ea, eb, va, vb)) => {
            let ratio = if vb > 0.0 { va / vb } else { f64::INFINITY };
            step = step
                .evidence(
                    Evidence::new(
                        format!("/proc/{pa}/sched"),
                        "se.sum_exec_runtime",
                        format!("+{ea:.0} ms"),
                        format!(
                            "A (nice {}): {:.0}% of the time the two got",
                            sa.nice,
                            da / total * 100.0
                        ),
                    )
                    .check(da > db),
                )
                .evidence(Evidence::new(
                    format!("/proc/{pb}/sched"),
                    "se.sum_exec_runtime",
                    format!("+{eb:.0} ms"),
                    format!("B (nice {}): {:.0}%", sb.nice, db / total * 100.0),
                ))
                .evidence(Evidence::new(
                    format!("/proc/{pa}/sched"),
                    "se.vruntime",
                    format!("+{va:.0} ms"),
                    "A's virtual runtime: its CPU time × 1024/1024",
                ))
                .evidence(
                    Evidence::new(
                        format!("/proc/{pb}/sched"),
                        "se.vruntime",
                        format!("+{vb:.0} ms"),
                        format!(
                            "B's: its CPU time × 1024/{}, about as much as A's (ratio {ratio:.2})",
                            weight(sb.nice)
                        ),
                    )
                    // Alike within 3x: other load on the CPU (or an emulated one, as
                    // in CI's VM) skews a one-second window, while unscaled CPU times
                    // would differ by the weights' ratio, about 9x.
                    .check((1.0 / 3.0..=3.0).contains(&ratio)),
                );
        }
        None => {
            step = step
                .evidence(
                    Evidence::new(format!("/proc/{pa}/stat"), "utime+stime", format!("+{da:.2} s"), format!("A (nice {}): {:.0}% of the time the two got", sa.nice, da / total * 100.0))
                        .check(da > db),
                )
                .evidence(Evidence::new(format!("/proc/{pb}/stat"), "utime+stime", format!("+{db:.2} s"), format!("B (nice {}): {:.0}%", sb.nice, db / total * 100.0)))
                .explain(format!("/proc/PID/sched is absent (a kernel built without CONFIG_SCHED_DEBUG), so CPU time comes from /proc/PID/stat in clock ticks (USER_HZ = {hz:.0}) and the virtual runtimes cannot be shown."));
        }
    }
    if let Some(slice) = sa1.as_ref().and_then(|s| s.slice_ns) {
        step = step.evidence(Evidence::new(
            format!("/proc/{pa}/sched"),
            "se.slice",
            format!("{slice} ns"),
            "EEVDF's request size: how much CPU a task asks for before its deadline",
        ));
    }
    lab.step(
        step.evidence(
            Evidence::new(
                format!("/proc/{pa}/stat, /proc/{pb}/stat"),
                "processor (39)",
                format!("{on_a}, {on_b}"),
                "both ran on the pinned CPU",
            )
            .check(on_a == cpu as i64 && on_b == cpu as i64),
        )
        .evidence(Evidence::new(
            format!("/proc/{pb}/status"),
            "nonvoluntary_ctxt_switches",
            &ctx_b,
            "B was preempted this often: it never gave up the CPU by itself",
        ))
        .evidence(Evidence::new(
            "/proc/kallsyms",
            probe::EEVDF_SYMBOL,
            match scheduler {
                probe::FairScheduler::Eevdf => "present",
                probe::FairScheduler::Cfs => "absent",
                probe::FairScheduler::Unknown => "unreadable",
            },
            "EEVDF's average vruntime, which CFS does not have: it tells the two schedulers apart",
        ))
        .pid("a", pa)
        .pid("b", pb)
        .try_it(format!(
            "grep -E 'se.(vruntime|sum_exec_runtime|load.weight)' /proc/{pa}/sched /proc/{pb}/sched"
        )),
    )?;

    lab.step(autogroup_step(pa, pb))?;

    let wa_s = lab.reap_killed(&mut a)?;
    let wb_s = lab.reap_killed(&mut b)?;
    lab.conclude(
        Step::new("Stop and reap both")
            .syscall(format!(
                "kill({pa}, SIGKILL); kill({pb}, SIGKILL); wait4() ×2"
            ))
            .result(format!(
                "{}; {}",
                runtime::describe(wa_s),
                runtime::describe(wb_s)
            ))
            .pid("a", pa)
            .pid("b", pb)
            .try_it(format!("ps -p {pa},{pb} || echo 'both reaped'")),
    )?;
    Ok(String::new())
}

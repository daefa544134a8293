//! `zombies fix --reap`: the parent itself calls wait4() for its zombies, held by ptrace for
//! a moment, and carries on as if nothing happened. Every scenario is a real process; each
//! test proves the parent still works afterwards, not only that the zombies are gone.

mod common;

use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{self, Signal};
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use serde_json::Value;

/// `zombies fix --reap ARGS --yes --min-age 0s --format json`: the exit code and the report.
fn reap(env: &TestEnv, args: &[&str]) -> (Option<i32>, Value) {
    let out = env
        .command()
        .args([
            "fix",
            "--reap",
            "--yes",
            "--min-age",
            "0s",
            "--format",
            "json",
        ])
        .args(args)
        .run();
    let v = out.json();
    (out.code(), v)
}

fn tracer_of(pid: i32) -> Option<i64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("TracerPid:"))?
        .trim()
        .parse()
        .ok()
}

#[test]
fn a_parent_blocked_in_read_reaps_and_reads_on() {
    if !can_reap_as_this_user() {
        return;
    }
    let env = TestEnv::new("reap");
    let mut p = ReadingParent::spawn();
    let zombies = [p.make_zombie(), p.make_zombie(), p.make_zombie()];
    let (code, v) = reap(&env, &["--parent", &p.pid.to_string()]);
    assert_eq!(code, Some(0), "{v:#}");
    let r = &v["parents"][0];
    assert_eq!(r["remedy"], "reap");
    assert_eq!(r["outcome"], "cleared", "{r:#}");
    assert_eq!(r["cleared"], 3);
    assert!(r["paused_ms"].as_u64().unwrap() < 2000, "{r:#}");
    assert!(
        r["signals"].as_array().unwrap().is_empty(),
        "reap sends no signal"
    );
    for z in zombies {
        assert_eq!(proc_state(z), None, "zombie {z} is still there");
    }
    assert_untouched(p.pid);
    assert_eq!(tracer_of(p.pid), Some(0), "still traced");
    // The read it was in restarted: it reads on, and ends as told.
    assert_eq!(p.ask("still here"), "still here");
    let pid = p.pid;
    assert_eq!(p.quit(), WaitStatus::Exited(Pid::from_raw(pid), 0));
}

#[test]
fn a_multithreaded_parent_is_reaped_and_lives_on() {
    if !can_reap_as_this_user() {
        return;
    }
    let env = TestEnv::new("reap");
    let p = ThreadedParent::spawn();
    let (code, v) = reap(&env, &["--parent", &p.pid.to_string()]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["parents"][0]["outcome"], "cleared");
    assert_eq!(proc_state(p.zombie), None);
    assert_untouched(p.pid);
}

#[test]
fn the_pid_target_reaps_through_its_parent() {
    if !can_reap_as_this_user() {
        return;
    }
    let env = TestEnv::new("reap");
    let mut p = ReadingParent::spawn();
    let z = p.make_zombie();
    let (code, v) = reap(&env, &["--pid", &z.to_string()]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(proc_state(z), None);
    assert_eq!(p.ask("ok"), "ok");
}

/// An event loop in epoll_wait: epoll_wait is never restarted after a stop, so the program
/// sees one EINTR. fix says so, and the fixture's count proves the warning true.
#[test]
fn a_parent_in_epoll_wait_is_warned_of_its_eintr() {
    if !can_reap_as_this_user() {
        return;
    }
    let env = TestEnv::new("reap");
    let mut p = ReadingParent::spawn_in_epoll();
    let z = p.make_zombie();
    assert_eq!(p.ask("e"), "E 0");
    // Let it go back into epoll_wait after answering.
    assert!(wait_until(Duration::from_secs(5), || proc_state(p.pid) == Some('S')));
    let (code, v) = reap(&env, &["--pid", &z.to_string()]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["parents"][0]["warning"], "epoll-eintr", "{v:#}");
    assert_eq!(proc_state(z), None);
    assert_eq!(p.ask("e"), "E 1", "epoll_wait did not return EINTR once");
    assert_eq!(p.ask("on"), "on");
}

/// A container's PID 1 that never reaps: --reap clears its zombies without killing it, the
/// one remedy that keeps the container up.
#[test]
#[ignore = "needs root"]
fn pid_one_of_a_namespace_is_reaped_not_killed() {
    needs_root();
    let env = TestEnv::new("reap");
    let ns = PidNs::spawn("sleep 0 & sleep 0 & exec sleep 60");
    let init = ns.init;
    assert!(wait_until(Duration::from_secs(5), || {
        children_of(init)
            .iter()
            .filter(|&&c| proc_state(c) == Some('Z'))
            .count()
            == 2
    }));
    let zombies: Vec<i32> = children_of(init);
    let (code, v) = reap(&env, &["--parent", &init.to_string()]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["parents"][0]["outcome"], "cleared", "{v:#}");
    for z in zombies {
        assert_eq!(proc_state(z), None, "zombie {z}");
    }
    assert_untouched(init);
}

#[test]
fn refusals_change_nothing() {
    let env = TestEnv::new("reap");
    // A stopped parent.
    let stopped = ZombieParent::spawn(Spec {
        stopped: true,
        ..Spec::default()
    });
    let (code, v) = reap(&env, &["--parent", &stopped.pid.to_string()]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["parents"][0]["refusal"], "parent-stopped", "{v:#}");
    assert_eq!(proc_state(stopped.pid), Some('T'));
    assert!(ZombieParent::is_zombie(stopped.zombies[0]));
    // A traced parent.
    let traced = Traced::spawn(TraceTarget::Parent);
    let (code, v) = reap(&env, &["--parent", &traced.parent.to_string()]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["parents"][0]["refusal"], "parent-traced", "{v:#}");
    // A zombie its tracer holds: the tracer is named.
    let held = Traced::spawn(TraceTarget::Zombie);
    let (code, v) = reap(&env, &["--pid", &held.zombie.to_string()]);
    assert_eq!(code, Some(1), "{v:#}");
    let p = &v["parents"][0];
    assert_eq!(p["refusal"], "held-by-tracer", "{v:#}");
    assert!(
        p["reason"]
            .as_str()
            .unwrap()
            .contains(&held.tracer.to_string()),
        "{p:#}"
    );
    assert!(ZombieParent::is_zombie(held.zombie));
    // Too young for the default --min-age (60s).
    let mut young = ReadingParent::spawn();
    let z = young.make_zombie();
    let out = env
        .command()
        .args([
            "fix",
            "--reap",
            "--yes",
            "--format",
            "json",
            "--pid",
            &z.to_string(),
        ])
        .run();
    let v = out.json();
    assert_eq!(out.code(), Some(1), "{v:#}");
    assert_eq!(v["parents"][0]["refusal"], "too-young", "{v:#}");
    assert!(ZombieParent::is_zombie(z));
    // A dry run changes nothing.
    let (code, v) = reap(&env, &["--pid", &z.to_string(), "--dry-run"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["parents"][0]["outcome"], "planned");
    assert!(ZombieParent::is_zombie(z));
    assert_eq!(young.ask("fine"), "fine");
}

/// Without CAP_SYS_PTRACE another user's process cannot be held: said, nothing changed.
#[test]
#[ignore = "needs root"]
fn another_users_parent_needs_cap_sys_ptrace() {
    needs_root();
    let env = TestEnv::new("reap");
    let mut p = ReadingParent::spawn();
    let z = p.make_zombie();
    let out = env
        .command()
        .wrapper(&[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .args([
            "fix",
            "--reap",
            "--yes",
            "--min-age",
            "0s",
            "--format",
            "json",
        ])
        .args(["--pid", &z.to_string()])
        .run();
    let v = out.json();
    assert_eq!(out.code(), Some(1), "{v:#}");
    let err = v["parents"][0]["error"].as_str().unwrap_or("");
    assert!(err.contains("CAP_SYS_PTRACE"), "{v:#}");
    assert!(ZombieParent::is_zombie(z));
    assert_eq!(p.ask("fine"), "fine");
}

/// Ctrl-C while fix holds a parent with many zombies: fix ends only once it has let go,
/// so the parent is neither stopped nor traced, and works.
#[test]
fn ctrl_c_during_a_reap_leaves_the_parent_running() {
    if !can_reap_as_this_user() {
        return;
    }
    let env = TestEnv::new("reap");
    let mut p = ReadingParent::spawn();
    for _ in 0..150 {
        p.make_zombie();
    }
    let mut fix = env
        .command()
        .args([
            "fix",
            "--reap",
            "--yes",
            "--min-age",
            "0s",
            "--settle",
            "0s",
        ])
        .args(["--parent", &p.pid.to_string()])
        .command()
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // As soon as it holds the parent (or is done), interrupt it.
    let fix_pid = fix.id() as i32;
    let started = Instant::now();
    while tracer_of(p.pid) != Some(i64::from(fix_pid))
        && fix.try_wait().unwrap().is_none()
        && started.elapsed() < Duration::from_secs(10)
    {
        std::hint::spin_loop();
    }
    let _ = signal::kill(Pid::from_raw(fix_pid), Signal::SIGINT);
    let _ = fix.wait();
    assert_eq!(tracer_of(p.pid), Some(0), "left traced");
    assert_untouched(p.pid);
    assert_eq!(p.ask("alive"), "alive");
}

/// A parent under a storm of signals, reaped 200 times in a row, keeps working: its handler
/// ran, its reads go on, it exits as told.
#[test]
fn two_hundred_reaps_under_a_signal_storm() {
    if !can_reap_as_this_user() {
        return;
    }
    let env = TestEnv::new("reap");
    let mut p = ReadingParent::spawn();
    let target = p.pid;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let storm = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = signal::kill(Pid::from_raw(target), Signal::SIGUSR1);
                std::thread::sleep(Duration::from_micros(200));
            }
        })
    };
    for i in 0..200 {
        let z = p.make_zombie();
        let (code, v) = reap(&env, &["--pid", &z.to_string(), "--settle", "0s"]);
        assert_eq!(code, Some(0), "reap {i}: {v:#}");
        assert_eq!(proc_state(z), None, "reap {i}: zombie {z} is still there");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    storm.join().unwrap();
    let counted: u64 = p.ask("c").trim_start_matches("C ").parse().unwrap();
    assert!(counted > 0, "the handler never ran");
    assert_eq!(p.ask("after the storm"), "after the storm");
    assert_eq!(p.quit(), WaitStatus::Exited(Pid::from_raw(target), 0));
}

#[test]
fn auto_prefers_reap_only_when_asked() {
    if !can_reap_as_this_user() {
        return;
    }
    let env = TestEnv::new("reap");
    let mut p = ReadingParent::spawn();
    let z = p.make_zombie();
    let pid = p.pid.to_string();
    // --auto alone keeps its choice: kill-parent for a parent that never waits.
    let v = env
        .zombies(&[
            "fix",
            "--auto",
            "--parent",
            &pid,
            "--dry-run",
            "--format",
            "json",
        ])
        .assert_json(Exit::SUCCESS);
    assert_eq!(v["parents"][0]["remedy"], "kill-parent", "{v:#}");
    let out = env
        .command()
        .args(["fix", "--auto", "--prefer-reap", "--yes", "--min-age", "0s"])
        .args(["--parent", &pid, "--format", "json"])
        .run();
    let v = out.json();
    assert_eq!(out.code(), Some(0), "{v:#}");
    assert_eq!(v["parents"][0]["remedy"], "reap", "{v:#}");
    assert_eq!(proc_state(z), None);
    assert_eq!(p.ask("here"), "here");
}

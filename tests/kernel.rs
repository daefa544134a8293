//! The kernel matrix: what must hold on every kernel we support. These run on the host kernel
//! in `cargo test`, and unchanged in a VM booting Debian 12's Linux 6.1 (.ci/kernel-matrix),
//! where PID 1 is a real init that reaps. Before 6.9 a pidfd does not report the reap
//! (no POLLHUP, no wake-up), which is what these scenarios caught: fix must see reaps anyway.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// Runs `zombies ARGS` in `env`, asserting its exit code: stdout parsed as JSON, and the
/// whole run as text for messages.
fn run_json(env: &TestEnv, args: &[&str], want: Exit) -> (Value, String) {
    let out = env.zombies(args).assert_exit(want);
    (out.json(), out.report())
}

fn sorted_pids(v: &Value) -> Vec<i64> {
    let mut p: Vec<i64> = v
        .as_array()
        .map(|a| a.iter().filter_map(|z| z["pid"].as_i64()).collect())
        .unwrap_or_default();
    p.sort_unstable();
    p
}

fn as_i64(pids: &[i32]) -> Vec<i64> {
    let mut p: Vec<i64> = pids.iter().map(|&p| i64::from(p)).collect();
    p.sort_unstable();
    p
}

#[test]
#[ignore = "needs root: a PID namespace with its own init"]
fn kill_parent_under_a_reaping_init_reports_cleared() {
    needs_root();
    let env = TestEnv::new("kernel");
    let ns = ReapingInit::spawn(3);
    let (v, text) = run_json(
        &env,
        &[
            "fix",
            "--kill-parent",
            "--parent",
            &ns.parent.to_string(),
            "--yes",
            "--grace",
            "1s",
            "--timeout",
            "5s",
            "--format",
            "json",
        ],
        Exit::SUCCESS,
    );
    let p = &v["parents"][0];
    assert_eq!(p["outcome"], "cleared", "{text}");
    assert_eq!(
        (p["cleared"].as_u64(), p["total"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(sorted_pids(&p["zombies"]), as_i64(&ns.zombies));
    assert_eq!(p["exited"]["signal"], "SIGTERM", "{text}");
    assert_eq!(p["reaped_on_its_own"], false);
    // The adopter, when fix saw it before the reap, is the namespace's init, and it reaped.
    if p["adopter"].is_object() {
        assert_eq!(p["adopter"]["pid"], ns.init, "{text}");
        assert_eq!(p["adopter"]["namespace_init"], true);
        assert_eq!(p["adopter"]["reaped"], true);
    }
    for &z in &ns.zombies {
        assert_eq!(proc_state(z), None, "zombie {z} is still in /proc");
    }
    assert_eq!(proc_state(ns.parent), None, "the parent is still in /proc");
}

#[test]
fn signal_parent_on_a_handler_that_reaps_reports_cleared() {
    let env = TestEnv::new("kernel").with_parent(Spec {
        sigchld: Sigchld::CaughtReaps,
        zombies: 2,
        ..Spec::default()
    });
    let zp = env.parent();
    let (v, text) = run_json(
        &env,
        &[
            "fix",
            "--signal-parent",
            "--parent",
            &zp.pid.to_string(),
            "--yes",
            "--format",
            "json",
        ],
        Exit::SUCCESS,
    );
    let p = &v["parents"][0];
    assert_eq!(p["pid"], zp.pid);
    assert_eq!(p["outcome"], "cleared", "{text}");
    assert_eq!(p["signals"].as_array().map(Vec::len), Some(1), "{text}");
    assert_eq!(p["signals"][0]["signal"], "SIGCHLD");
    assert_eq!(
        (p["cleared"].as_u64(), p["total"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(sorted_pids(&p["zombies"]), as_i64(&zp.zombies));
    assert_eq!(p["next"], Value::Null, "no advice after a success: {text}");
    assert!(p["elapsed_ms"].as_u64().unwrap() < 5000);
    assert_eq!(v["success"], true);
    for &z in &zp.zombies {
        assert!(!ZombieParent::is_zombie(z), "{z} still a zombie");
    }
    assert_eq!(
        proc_state(zp.pid),
        Some('S'),
        "the nudge must not kill the parent"
    );
}

#[test]
fn a_parent_that_reaps_during_settle_is_left_alone_and_credited() {
    for format in ["json", "text"] {
        let env = TestEnv::new("kernel").with_parent(Spec {
            zombies: 2,
            reap_on: Some(Signal::SIGUSR1),
            ..Spec::default()
        });
        let zp = env.parent();
        let pid = zp.pid.to_string();
        let cmd = env
            .command()
            .args(["fix", "--kill-parent", "--parent", &pid, "--yes"])
            .args(["--grace", "100ms", "--settle", "5s", "--color", "never"])
            .args(["--format", format]);
        let fix = cmd
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zombies fix");
        // fix opens a pidfd on the parent and on each zombie before it settles: once it holds
        // them, the parent reaps (as if its own wait() came a moment late).
        let fix_pid = fix.id() as i32;
        assert!(
            wait_until(Duration::from_secs(20), || pidfds_held(fix_pid) == 3),
            "fix did not open its pidfds"
        );
        signal::kill(Pid::from_raw(zp.pid), Signal::SIGUSR1).unwrap();
        let out = Run::new(cmd.describe(), fix.wait_with_output().unwrap()).assert_success();
        let text = out.report();
        assert_eq!(
            proc_state(zp.pid),
            Some('S'),
            "the parent was signalled: {text}"
        );
        for &z in &zp.zombies {
            assert!(!ZombieParent::is_zombie(z), "{z} still a zombie");
        }
        if format == "json" {
            let v = out.json();
            let p = &v["parents"][0];
            assert_eq!(p["signals"].as_array().map(Vec::len), Some(0), "{text}");
            assert_eq!(p["reaped_on_its_own"], true, "{text}");
            assert_eq!(p["exited"], Value::Null);
            assert_eq!(p["cleared"], 2);
            assert!(
                p["reason"].as_str().unwrap_or("").contains("on its own"),
                "{text}"
            );
        } else {
            assert!(text.contains("reaped its 2 zombies on its own"), "{text}");
            assert!(text.contains("nothing was sent"), "{text}");
            assert!(
                !text.contains("kill-parent cleared"),
                "credited a remedy: {text}"
            );
        }
    }
}

#[test]
fn check_counts_exactly_the_zombies_made() {
    let env = TestEnv::new("kernel").with_parent(Spec {
        zombies: 3,
        ..Spec::default()
    });
    let zp = env.parent();
    let pid = zp.pid.to_string();
    // WARNING: 3 is above 2.
    let (v, text) = run_json(
        &env,
        &[
            "check", "--parent", &pid, "--warn", "2", "--crit", "5", "--format", "json",
        ],
        Exit::CHECK_WARNING,
    );
    assert_eq!(v["status"], "warning", "{text}");
    assert_eq!(v["zombies"], 3, "{text}");
    assert_eq!(v["parents"], 1, "{text}");
    let parents = v["list"]["parents"].as_array().expect("list.parents");
    assert_eq!(parents.len(), 1, "{text}");
    assert_eq!(sorted_pids(&parents[0]["zombies"]), as_i64(&zp.zombies));
    let out = env
        .zombies(&["check", "--parent", &pid, "--warn", "5"])
        .assert_exit(Exit::CHECK_OK);
    assert!(
        out.stdout().starts_with("ZOMBIES OK: 3 zombie processes"),
        "{}",
        out.report()
    );
}

/// Every `end` event of a demo's JSON Lines: each must say ok with no failed fact.
fn assert_demo_passes(args: &[&str]) {
    let env = TestEnv::new("kernel-demo");
    let out = env
        .command()
        .args(args)
        .args(["--format", "json"])
        .run()
        .assert_success();
    let text = out.report();
    let ends: Vec<Value> = out
        .stdout()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "end")
        .collect();
    assert!(!ends.is_empty(), "zombies {args:?} ended no demo: {text}");
    for e in &ends {
        assert_eq!(e["ok"], true, "zombies {args:?}: {e}");
        assert_eq!(e["facts_failed"], 0, "zombies {args:?}: {e}");
    }
}

#[test]
fn every_lifecycle_demo_passes() {
    assert_demo_passes(&["demo", "all", "--hold", "10ms"]);
}

#[test]
fn every_ipc_demo_passes() {
    for demo in ["signal", "pipe", "fifo", "mqueue", "sem", "shm"] {
        assert_demo_passes(&["ipc", "demo", demo]);
    }
    for demo in ["mqueue", "sem", "shm"] {
        assert_demo_passes(&["ipc", "demo", demo, "--posix"]);
    }
}

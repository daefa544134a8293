//! `zombies watch`, on real processes: it runs in the background printing JSON Lines, the
//! test makes zombies, nudges, kills and reaps, and waits for each event it expects (never
//! for a fixed time). Every watch is ended with SIGTERM or SIGINT, which must give a summary
//! and exit 0.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use serde_json::Value;

/// A `zombies watch --format json` running in the background; its lines arrive on a channel.
/// Drop kills it (the test has failed by then) and reaps it.
struct Watching {
    child: Child,
    lines: Receiver<Value>,
    /// Every event seen so far.
    seen: Vec<Value>,
}

impl Watching {
    fn start(env: &TestEnv, args: &[&str]) -> Watching {
        let mut child = env
            .command()
            .args(["watch", "--format", "json"])
            .args(args)
            .command()
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn zombies watch");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let mut w = Watching {
            child,
            lines: rx,
            seen: Vec::new(),
        };
        let start = w.next_where(|e| e["event"] == "start");
        assert_eq!(start["version"], 1, "{start}");
        w
    }

    /// Waits (at most 20 s) for the next event that satisfies `want`, keeping every event.
    fn next_where(&mut self, want: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if want(&v) {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no such event within 20 s; seen: {:#?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("watch ended; seen: {:#?}", self.seen)
                }
            }
        }
    }

    /// The event `event` about `pid`.
    fn event(&mut self, event: &str, pid: i32) -> Value {
        self.next_where(|e| e["event"] == event && e["pid"] == pid)
    }

    /// Ends it with `sig`: its summary, and its exit code.
    fn stop(mut self, sig: Signal) -> (Value, Option<i32>) {
        signal::kill(Pid::from_raw(self.child.id() as i32), sig).unwrap();
        let summary = self.next_where(|e| e["event"] == "summary");
        let code = self.child.wait().unwrap().code();
        (summary, code)
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_new_zombie_and_its_reap_are_dated_by_the_kernel() {
    let env = TestEnv::new("watch");
    let mut w = Watching::start(&env, &[]);
    let zp = ZombieParent::spawn(Spec {
        sigchld: Sigchld::CaughtReaps,
        zombies: 1,
        exit_code: Some(7),
        ..Spec::default()
    });
    let z = zp.zombies[0];
    let born = w.event("zombie", z);
    assert_eq!(born["ppid"], zp.pid, "{born}");
    assert_eq!(born["exit_code"], 7);
    assert_eq!(born["signal"], Value::Null);
    assert_eq!(born["existing"], false);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let t = born["time"].as_f64().unwrap();
    assert!(t <= now && now - t < 10.0, "death time {t}, now {now}");
    // A zombie for about a second, then the nudge: its handler reaps it.
    std::thread::sleep(Duration::from_secs(1));
    let nudged = Instant::now();
    signal::kill(Pid::from_raw(zp.pid), Signal::SIGCHLD).unwrap();
    let reaped = w.event("reaped", z);
    let waited = nudged.elapsed();
    assert_eq!(reaped["by"], zp.pid, "{reaped}");
    let ms = reaped["zombie_ms"].as_u64().unwrap();
    assert!(
        ms >= 1000 && ms <= 1000 + waited.as_millis() as u64 + 500,
        "zombie for {ms} ms"
    );
    let (summary, code) = w.stop(Signal::SIGTERM);
    assert_eq!(code, Some(0));
    assert!(summary["seen"].as_u64().unwrap() >= 1, "{summary}");
    assert!(summary["reaped"].as_u64().unwrap() >= 1, "{summary}");
}

#[test]
fn a_zombie_that_was_there_before_is_existing() {
    let env = TestEnv::new("watch").with_parent(Spec {
        zombies: 1,
        ..Spec::default()
    });
    let z = env.parent().zombies[0];
    let mut w = Watching::start(&env, &["--parent", &env.parent().pid.to_string()]);
    let e = w.event("zombie", z);
    assert_eq!(e["existing"], true, "{e}");
    assert_eq!(e["ppid"], env.parent().pid);
    let (summary, code) = w.stop(Signal::SIGINT);
    assert_eq!(code, Some(0), "SIGINT must end the watch cleanly");
    assert_eq!(summary["seen"], 1, "only the zombie of --parent: {summary}");
    assert_eq!(summary["remaining"], 1, "{summary}");
}

#[test]
fn a_zombie_killed_by_a_signal_names_it() {
    let env = TestEnv::new("watch");
    let mut w = Watching::start(&env, &[]);
    let zp = ZombieParent::spawn(Spec {
        exit_code: None, // killed with SIGKILL
        ..Spec::default()
    });
    let e = w.event("zombie", zp.zombies[0]);
    assert_eq!(e["signal"], "SIGKILL", "{e}");
    assert_eq!(e["exit_code"], Value::Null);
    drop(zp);
    let (_, code) = w.stop(Signal::SIGTERM);
    assert_eq!(code, Some(0));
}

/// The parent dies; its zombies go to their adopter (this test process, a subreaper), which
/// reaps them once the watch has said so.
#[test]
fn an_orphaned_zombie_is_adopted_then_reaped() {
    let env = TestEnv::new("watch");
    let mut w = Watching::start(&env, &[]);
    let zp = ZombieParent::spawn(Spec::default());
    let z = zp.zombies[0];
    w.event("zombie", z);
    let me = std::process::id() as i32;
    kill_and_reap(zp.pid);
    let moved = w.event("reparented", z);
    assert_eq!(moved["from"], zp.pid, "{moved}");
    assert_eq!(moved["to"], me, "{moved}");
    reap_if_ours(z);
    let reaped = w.event("reaped", z);
    assert_eq!(reaped["by"], me, "{reaped}");
    let (summary, code) = w.stop(Signal::SIGTERM);
    assert_eq!(code, Some(0));
    // Counted for the parent it died under, reaped by whoever did it.
    let parent = summary["parents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == zp.pid)
        .unwrap_or_else(|| panic!("{summary}"))
        .clone();
    assert_eq!(
        (parent["zombies"].as_u64(), parent["reaped"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn min_age_reports_only_zombies_that_lived_that_long() {
    let env = TestEnv::new("watch");
    let mut w = Watching::start(&env, &["--min-age", "300ms"]);
    // Reaped at once by its handler: never reported.
    let quick = ZombieParent::spawn(Spec {
        sigchld: Sigchld::CaughtReaps,
        ..Spec::default()
    });
    signal::kill(Pid::from_raw(quick.pid), Signal::SIGCHLD).unwrap();
    let slow = ZombieParent::spawn(Spec::default());
    let e = w.event("zombie", slow.zombies[0]);
    assert!(e["age_ms"].as_u64().unwrap() >= 300, "{e}");
    assert!(
        !w.seen
            .iter()
            .any(|e| e["event"] == "zombie" && e["pid"] == quick.zombies[0]),
        "a zombie reaped before --min-age was reported: {:#?}",
        w.seen
    );
    let (_, code) = w.stop(Signal::SIGTERM);
    assert_eq!(code, Some(0));
}

#[test]
fn for_ends_the_watch_with_a_summary() {
    let env = TestEnv::new("watch");
    let mut w = Watching::start(&env, &["--for", "200ms"]);
    let summary = w.next_where(|e| e["event"] == "summary");
    assert!(summary["seconds"].as_f64().unwrap() >= 0.2, "{summary}");
    assert_eq!(w.child.wait().unwrap().code(), Some(0));
}

#[test]
fn scan_mode_says_so_and_still_sees_zombies_and_reaps() {
    let env = TestEnv::new("watch");
    let mut w = Watching::start(&env, &["--scan", "--interval", "100ms"]);
    let start = w.seen[0].clone();
    assert_eq!(start["mode"], "scan", "{start}");
    assert_eq!(start["precision_ms"], 100);
    let zp = ZombieParent::spawn(Spec {
        sigchld: Sigchld::CaughtReaps,
        ..Spec::default()
    });
    let z = zp.zombies[0];
    let e = w.event("zombie", z);
    assert_eq!(e["ppid"], zp.pid);
    signal::kill(Pid::from_raw(zp.pid), Signal::SIGCHLD).unwrap();
    let r = w.event("reaped", z);
    assert_eq!(r["by"], zp.pid, "{r}");
    let (_, code) = w.stop(Signal::SIGTERM);
    assert_eq!(code, Some(0));
}

#[test]
fn text_output_is_one_line_per_event_and_a_summary() {
    let env = TestEnv::new("watch");
    let zp = ZombieParent::spawn(Spec::default());
    let out = env
        .command()
        .args(["watch", "--for", "300ms", "--color", "never"])
        .args(["--parent", &zp.pid.to_string()])
        .run()
        .assert_success();
    let text = out.stdout();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].contains("watching"), "{text}");
    assert!(
        lines.iter().any(|l| l.contains("● zombie")
            && l.contains(&format!("{} (", zp.zombies[0]))
            && l.contains("already one")),
        "{text}"
    );
    assert!(
        text.contains("watched for") && text.contains("1 zombie seen"),
        "{text}"
    );
}

/// Inside a PID namespace the kernel sends no exit events: watch says why and scans.
#[test]
#[ignore = "needs root"]
fn in_a_pid_namespace_it_scans_and_says_why() {
    needs_root();
    let env = TestEnv::new("watch");
    let out = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
        .arg(bin())
        .args(["watch", "--for", "200ms", "--format", "json"])
        .output()
        .expect("unshare");
    drop(env);
    let text = String::from_utf8_lossy(&out.stdout);
    let start: Value = serde_json::from_str(text.lines().next().unwrap_or("{}")).unwrap();
    assert_eq!(start["mode"], "scan", "{text}");
    assert!(
        start["why_scan"]
            .as_str()
            .unwrap_or("")
            .contains("namespace"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0));
}

/// Scans cannot see a process that lived and died between two of them: --all-exits needs
/// the kernel's exit events (root, or anyone on Linux 6.6+).
#[test]
#[ignore = "needs the proc connector: root, or Linux 6.6+"]
fn all_exits_reports_processes_reaped_at_once() {
    let env = TestEnv::new("watch");
    let mut w = Watching::start(&env, &["--all-exits"]);
    assert_eq!(w.seen[0]["mode"], "connector", "{}", w.seen[0]);
    let mut child = std::process::Command::new("sh")
        .args(["-c", "exit 5"])
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    child.wait().unwrap();
    let e = w.event("exit", pid);
    assert_eq!(e["exit_code"], 5, "{e}");
    let (_, code) = w.stop(Signal::SIGTERM);
    assert_eq!(code, Some(0));
}

/// watch --state gives check the zombie's death time, to the second: check's --max-age then
/// measures from the death, not from the first check that saw it.
#[test]
fn check_uses_the_death_times_watch_keeps() {
    let env = TestEnv::new("watch");
    let state = env.arg("state.json");
    let mut w = Watching::start(&env, &["--state", &state]);
    let zp = ZombieParent::spawn(Spec::default());
    let z = zp.zombies[0];
    let born = w.event("zombie", z);
    let died = born["time"].as_f64().unwrap().floor() as i64;
    // watch wrote the file before it said the event.
    let kept = std::fs::read_to_string(&state).expect("watch wrote no state file");
    assert!(kept.contains(&format!("\"pid\": {z},")), "{kept}");
    // Let the clock pass the second of the death, so that a first sighting by check itself
    // would differ from it.
    let unix = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
    };
    assert!(wait_until(Duration::from_secs(3), || unix() > died));
    let v = env
        .zombies(&[
            "check",
            "--state",
            &state,
            "--parent",
            &zp.pid.to_string(),
            "--format",
            "json",
        ])
        .json();
    let seen = v["seen"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["pid"] == z)
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert_eq!(seen["first_seen_unix"].as_i64(), Some(died), "{seen}");
    let (_, code) = w.stop(Signal::SIGTERM);
    assert_eq!(code, Some(0));
    // The reap left the state without it.
    drop(zp);
}

#[test]
fn a_state_path_that_is_not_a_state_file_stops_the_watch() {
    let env = TestEnv::new("watch");
    let foreign = env.path("hosts");
    std::fs::write(&foreign, "127.0.0.1 localhost\n").unwrap();
    let zp = ZombieParent::spawn(Spec::default());
    let out = env
        .command()
        .args(["watch", "--for", "5s", "--state"])
        .arg(&foreign)
        .args(["--parent", &zp.pid.to_string()])
        .run()
        .assert_exit(Exit::FAILURE);
    assert!(
        out.stderr().contains("not a state file"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(&foreign).unwrap(),
        "127.0.0.1 localhost\n",
        "the file was changed"
    );
}

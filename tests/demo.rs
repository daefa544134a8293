//! Issue 5: the lifecycle demos. Each runs on the live kernel; the tests check the evidence
//! the demo reports and, where a demo can be paused (--step), look at /proc themselves.
//! They assert only on PIDs the demo reported, never on machine-wide counts.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

const NAMES: [&str; 9] = [
    "fork", "vfork", "clone", "exec", "sched", "exit", "zombie", "autoreap", "orphan",
];

/// Runs `zombies demo ARGS --format json` to the end and returns its events, after checking
/// that no process it reported was left behind: the test process is a child subreaper, so a
/// leaked one would now be its child.
fn events(args: &[&str]) -> Vec<Value> {
    become_subreaper();
    let mut all = vec!["demo"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let out = run(zombies().args(&all).stdin(Stdio::null()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "zombies {all:?}: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    let ev: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let me = std::process::id() as i32;
    for p in reported_pids(&ev) {
        if proc_ppid(p) == Some(me) {
            kill_and_reap(p);
            panic!("zombies {all:?} left process {p} behind");
        }
    }
    ev
}

fn steps(ev: &[Value]) -> Vec<&Value> {
    ev.iter().filter(|e| e["event"] == "step").collect()
}

/// The evidence rows named `field` (in any step), with their step.
fn rows<'a>(ev: &'a [Value], field: &str) -> Vec<&'a Value> {
    steps(ev)
        .into_iter()
        .flat_map(|s| s["evidence"].as_array().into_iter().flatten())
        .filter(|r| r["field"] == field)
        .collect()
}

/// The value of the only (or first) evidence row named `field` whose source ends with `src`.
fn value(ev: &[Value], src: &str, field: &str) -> String {
    rows(ev, field)
        .into_iter()
        .find(|r| r["source"].as_str().unwrap_or("").ends_with(src))
        .unwrap_or_else(|| panic!("no evidence {src} {field} in {ev:#?}"))["value"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Every checked fact held, and the stream is well formed: start, steps 1..n, end.
fn assert_well_formed(ev: &[Value], demo: &str) {
    assert_eq!(ev.first().unwrap()["event"], "start", "{ev:#?}");
    assert_eq!(ev.first().unwrap()["demo"], demo);
    let end = ev.last().unwrap();
    assert_eq!(end["event"], "end", "{ev:#?}");
    assert_eq!(end["facts_failed"], 0, "{ev:#?}");
    assert!(end["facts_checked"].as_u64().unwrap() >= 3, "{end}");
    let s = steps(ev);
    assert_eq!(s.len() as u64, end["steps"].as_u64().unwrap());
    for (i, step) in s.iter().enumerate() {
        assert_eq!(step["step"], i as u64 + 1);
        assert_eq!(step["demo"], demo);
        assert!(step["title"].as_str().is_some_and(|t| !t.is_empty()));
        for r in step["evidence"].as_array().unwrap() {
            assert_ne!(r["holds"], false, "a fact did not hold: {r}");
            for k in ["source", "field", "value", "meaning"] {
                assert!(r[k].is_string(), "{k} in {r}");
            }
        }
    }
}

fn demo_pid(ev: &[Value]) -> i64 {
    ev[0]["pid"].as_i64().unwrap()
}

/// Every PID the demo named in its steps.
fn reported_pids(ev: &[Value]) -> Vec<i32> {
    let mut v: Vec<i32> = steps(ev)
        .iter()
        .flat_map(|s| s["pids"].as_object().into_iter().flatten())
        .filter_map(|(_, p)| p.as_i64().map(|p| p as i32))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Start time (stat field 22) of a live process, to tell it from a later one with its PID.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = String::from_utf8_lossy(&stat[close + 2..]).into_owned();
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the process that had this start time is gone (reaped, not even a zombie).
fn gone(pid: i32, started: Option<u64>) -> bool {
    started.is_none() || start_time(pid) != started
}

// ---------------------------------------------------------------------------------------
// A demo run we can pause, inspect and interrupt.

struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<Value>,
}

impl Live {
    fn spawn(args: &[&str]) -> Live {
        Live::spawn_with(args, false)
    }

    /// With `own_group`, the demo leads a new process group, as a shell job does: a
    /// terminal's Ctrl-C reaches the whole group, the demo's children included.
    fn spawn_with(args: &[&str], own_group: bool) -> Live {
        use std::os::unix::process::CommandExt;
        become_subreaper();
        let mut all = vec!["demo"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        let mut cmd = zombies();
        if own_group {
            cmd.process_group(0);
        }
        let mut child = cmd
            .args(&all)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn zombies");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Live {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Reads events until one matches, failing after 20 s.
    fn until(&mut self, mut want: impl FnMut(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("event not seen; so far: {:#?}", self.seen));
            let v: Value = serde_json::from_str(&line).expect("JSON event");
            self.seen.push(v.clone());
            if want(&v) {
                return v;
            }
        }
    }

    fn step(&mut self, n: u64) -> Value {
        self.until(|e| e["event"] == "step" && e["step"] == n)
    }

    /// Presses Enter.
    fn next(&mut self) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.child.id() as i32), sig).unwrap();
    }

    /// Waits for the exit code, reading the remaining events.
    fn finish(mut self) -> (Option<i32>, Vec<Value>, String) {
        drop(self.stdin.take());
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(serde_json::from_str(&line).unwrap());
        }
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (status.code(), std::mem::take(&mut self.seen), err)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // A failed test: let the demo clean up (SIGTERM) before forcing it.
        if let Ok(None) = self.child.try_wait() {
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            if !wait_until(Duration::from_secs(5), || {
                matches!(self.child.try_wait(), Ok(Some(_)))
            }) {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------

#[test]
fn no_name_lists_every_demo_one_line_each() {
    let out = run(zombies().args(["demo", "--color", "never"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for name in NAMES {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not listed: {text}"));
        assert!(line.len() > name.len() + 10, "no summary: {line}");
    }
    let out = run(zombies().args(["demo", "--format", "json"]));
    let listed: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        listed
            .iter()
            .map(|d| d["demo"].as_str().unwrap())
            .collect::<Vec<_>>(),
        NAMES
    );
}

#[test]
fn unknown_demo_exits_2_naming_the_valid_ones() {
    let out = run(zombies().args(["demo", "frok"]));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for name in NAMES.iter().chain(&["all"]) {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
    assert!(stdout(&out).is_empty());
    // Bad option values are usage errors too.
    let out = run(zombies().args(["demo", "zombie", "--hold", "soon"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn every_demo_in_text_checks_its_facts() {
    for name in NAMES {
        let out = run(zombies()
            .args(["demo", name, "--color", "never", "--hold", "100ms"])
            .stdin(Stdio::null()));
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}\n{text}",
            stderr(&out)
        );
        assert!(text.starts_with(&format!("── demo {name}:")), "{text}");
        assert!(text.contains(" 1. ") && text.contains("✓ /proc/"), "{text}");
        assert!(text.contains("facts checked held on this kernel"), "{text}");
        assert!(!text.contains('✗'), "{text}");
        assert!(!text.contains("\x1b["), "colour with --color never");
        assert!(stderr(&out).is_empty(), "{name}: {}", stderr(&out));
    }
}

#[test]
fn fork_returns_twice_and_copies_on_write() {
    let ev = events(&["fork"]);
    assert_well_formed(&ev, "fork");
    let s = steps(&ev);
    let child = s[0]["pids"]["child"].as_i64().unwrap();
    assert_eq!(value(&ev, "in the parent", "return"), child.to_string());
    assert_eq!(value(&ev, "in the child", "return"), "0");
    assert_eq!(value(&ev, "/status", "PPid"), demo_pid(&ev).to_string());
    let cow = &s[2]["evidence"];
    assert_eq!(
        (cow[0]["source"].as_str(), cow[0]["value"].as_str()),
        (Some("child memory"), Some("7"))
    );
    assert_eq!(
        (cow[1]["source"].as_str(), cow[1]["value"].as_str()),
        (Some("parent memory"), Some("42"))
    );
    assert_eq!(cow[0]["field"], cow[1]["field"], "not the same address");
    // As root the frames are visible: the child's page changed on its write.
    if nix::unistd::geteuid().is_root() {
        let before = value(&ev, "pagemap", "private frame before write");
        let after = value(&ev, "pagemap", "private frame after write");
        assert_ne!(before, after);
        assert_eq!(before, value(&ev, "pagemap", "parent's private frame"));
    }
    let flags = value(&ev, "/stat", "flags (9)");
    assert!(flags.contains("PF_FORKNOEXEC"), "{flags}");
    assert_eq!(value(&ev, &format!("/proc/{child}"), "exists"), "no");
}

#[test]
fn vfork_suspends_the_parent() {
    let ev = events(&["vfork"]);
    assert_well_formed(&ev, "vfork");
    let me = demo_pid(&ev);
    assert_eq!(value(&ev, &format!("/proc/{me}/stat"), "state (3)"), "D");
    let ms: f64 = value(&ev, "clock", "time in clone()")
        .trim_end_matches(" ms")
        .parse()
        .unwrap();
    assert!(ms >= 200.0, "{ms}");
    let child = steps(&ev)[1]["pids"]["child"].as_i64().unwrap();
    assert_eq!(
        value(&ev, "our memory", "written by the child"),
        child.to_string()
    );
}

#[test]
fn clone_thread_shares_the_pid_fork_does_not() {
    let ev = events(&["clone"]);
    assert_well_formed(&ev, "clone");
    let s = steps(&ev);
    let pid = s[0]["pids"]["process"].as_i64().unwrap();
    let tid = s[0]["pids"]["thread"].as_i64().unwrap();
    assert_ne!(pid, tid);
    assert_eq!(value(&ev, "in the thread", "pid"), pid.to_string());
    assert_eq!(value(&ev, "/task", "entries"), format!("{pid} {tid}"));
    assert_eq!(value(&ev, "/status", "Threads"), "2");
    assert_eq!(
        value(&ev, &format!("/task/{tid}/status"), "Tgid"),
        pid.to_string()
    );
    let forked = s
        .iter()
        .find(|s| s["title"].as_str().unwrap().starts_with("A fork"))
        .unwrap()["pids"]["child"]
        .as_i64()
        .unwrap();
    assert_eq!(
        value(&ev, &format!("/proc/{forked}/status"), "Tgid"),
        forked.to_string()
    );
    // The kernel path is named as this kernel names it.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut v = release.split(|c: char| !c.is_ascii_digit());
    let (maj, min): (u32, u32) = (
        v.next().unwrap().parse().unwrap(),
        v.next().unwrap().parse().unwrap(),
    );
    let readable = std::fs::read_to_string("/proc/kallsyms").is_ok_and(|s| !s.is_empty());
    if readable {
        let new = (maj, min) >= (5, 10);
        assert_eq!(
            value(&ev, "kallsyms", "kernel_clone"),
            if new { "present" } else { "absent" }
        );
    }
    // Kernel threads under kthreadd, when this PID namespace shows them.
    if std::fs::read_to_string("/proc/2/comm").is_ok_and(|c| c.trim() == "kthreadd") {
        let kt = rows(&ev, "flags (9)")
            .into_iter()
            .filter(|r| r["value"].as_str().unwrap().contains("PF_KTHREAD"))
            .count();
        assert!(kt >= 1, "no kernel thread shown");
    }
}

#[test]
fn exec_keeps_the_pid_and_changes_the_program() {
    let ev = events(&["exec"]);
    assert_well_formed(&ev, "exec");
    let s = steps(&ev);
    let pid = s[0]["pids"]["child"].as_i64().unwrap();
    assert_eq!(s[1]["pids"]["child"].as_i64().unwrap(), pid);
    assert_eq!(value(&ev, "/status", "Pid"), pid.to_string());
    let exe: Vec<&str> = rows(&ev, "link")
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(exe.len(), 2);
    assert_ne!(exe[0], exe[1]);
    assert!(exe[1].ends_with("/sleep"), "{exe:?}");
    let comm: Vec<&str> = rows(&ev, "comm")
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(comm, ["zombies", "sleep"]);
    let argv: Vec<&str> = rows(&ev, "argv")
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert!(argv[0].contains("demo exec"), "{argv:?}");
    assert_eq!(argv[1], "sleep 30");
    // Signals blocked or ignored by the demo did not leak into the exec'd program.
    assert_eq!(
        value(&ev, &format!("/proc/{pid}/status"), "SigBlk"),
        "0000000000000000"
    );
    let ign =
        u64::from_str_radix(&value(&ev, &format!("/proc/{pid}/status"), "SigIgn"), 16).unwrap();
    assert_eq!(ign & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE still ignored");
}

#[test]
fn exit_leaves_a_zombie_with_pf_exiting_and_no_memory_until_waited() {
    let ev = events(&["exit", "--code", "7"]);
    assert_well_formed(&ev, "exit");
    let s = steps(&ev);
    let pid = s[0]["pids"]["child"].as_i64().unwrap();
    assert!(value(&ev, "/status", "VmRSS").ends_with("kB"));
    let z = s[1]["evidence"].as_array().unwrap();
    let get = |f: &str| {
        z.iter()
            .find(|r| r["field"] == f)
            .unwrap_or_else(|| panic!("{f}"))["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(get("state (3)"), "Z");
    let flags = u32::from_str_radix(
        get("flags (9)")
            .split_whitespace()
            .next()
            .unwrap()
            .trim_start_matches("0x"),
        16,
    )
    .unwrap();
    assert_eq!(flags & 0x4, 0x4, "PF_EXITING");
    assert_eq!(get("Vm* lines"), "none");
    if nix::unistd::geteuid().is_root() {
        assert_eq!(get("exit_code (52)"), (7 << 8).to_string());
    }
    assert_eq!(value(&ev, "wait4", "WEXITSTATUS"), "7");
    assert_eq!(value(&ev, &format!("/proc/{pid}"), "exists"), "no");
}

#[test]
fn zombie_is_real_while_paused_and_gone_after() {
    // --step: the demo waits for Enter after each step, so we can look at /proc ourselves.
    let mut live = Live::spawn(&["zombie", "--step", "--hold", "10ms"]);
    let start = live.until(|e| e["event"] == "start");
    let me = start["pid"].as_i64().unwrap() as i32;
    let s1 = live.step(1);
    let z = s1["pids"]["zombie"].as_i64().unwrap() as i32;
    let p = s1["pids"]["parent"].as_i64().unwrap() as i32;
    assert_eq!(
        proc_state(z),
        Some('Z'),
        "the demo's zombie is not a zombie"
    );
    assert_eq!(proc_ppid(z), Some(p));
    assert_eq!(proc_ppid(p), Some(me));
    let (zt, pt) = (start_time(z), start_time(p));
    live.next();
    let s2 = live.step(2);
    // As `zombies list` shows it: the JSON diagnosis holds the zombie under its parent.
    let parent = s2["data"]["parents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["pid"] == p)
        .expect("parent in the diagnosis");
    assert!(
        parent["zombies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["pid"] == z)
    );
    // Killing it hands the zombie to PID 1 (the demo's subreaper role is not in /proc): the
    // advice is kill-parent, unless this shared machine's PID 1 holds zombies of its own
    // right now, which makes it fix-init. Both follow the adopter's verdict.
    let want = match parent["adopter"]["verdict"].as_str() {
        Some("not-reaping") => "fix-init",
        _ => "kill-parent",
    };
    assert_eq!(parent["recommended"], want, "{parent:#}");
    // And `zombies list` run from outside agrees.
    let out = stdout(&run(zombies().args([
        "list",
        "--pids",
        "--parent",
        &p.to_string(),
    ])));
    assert!(out.lines().any(|l| l == z.to_string()), "{out}");
    live.next();
    live.step(3);
    assert_eq!(proc_state(z), Some('Z'), "SIGKILL removed a zombie?");
    live.next();
    live.step(4);
    live.next();
    live.step(5);
    assert_eq!(proc_ppid(z), Some(me), "not adopted by the demo");
    assert_eq!(proc_state(z), Some('Z'));
    live.next();
    let (code, ev, err) = live.finish();
    assert_eq!(code, Some(0), "{err}");
    assert_well_formed(&ev, "zombie");
    assert!(
        gone(z, zt) && gone(p, pt),
        "zombie {z} or parent {p} left behind"
    );
}

#[test]
fn orphan_is_adopted_by_the_subreaper_which_reaps_it() {
    let mut live = Live::spawn(&["orphan", "--step"]);
    let start = live.until(|e| e["event"] == "start");
    let me = start["pid"].as_i64().unwrap() as i32;
    let s1 = live.step(1);
    assert_eq!(s1["evidence"][0]["value"], "1", "not a subreaper: {s1}");
    live.next();
    live.step(2);
    live.next();
    let s3 = live.step(3);
    let (p, c) = (
        s3["pids"]["parent"].as_i64().unwrap() as i32,
        s3["pids"]["child"].as_i64().unwrap() as i32,
    );
    assert_eq!(proc_ppid(c), Some(p));
    let (pt, ct) = (start_time(p), start_time(c));
    live.next();
    live.step(4);
    assert_eq!(
        proc_ppid(c),
        Some(me),
        "the orphan's PPid did not change to the subreaper"
    );
    assert_ne!(proc_state(c), Some('Z'));
    live.next();
    live.step(5);
    assert_eq!(
        proc_state(c),
        Some('Z'),
        "the adopter must reap: zombie until then"
    );
    assert_eq!(proc_ppid(c), Some(me));
    live.next();
    let (code, ev, err) = live.finish();
    assert_eq!(code, Some(0), "{err}");
    assert_well_formed(&ev, "orphan");
    assert!(gone(p, pt) && gone(c, ct));
}

#[test]
fn sched_gives_the_nice_0_process_more_cpu() {
    let ev = events(&["sched"]);
    assert_well_formed(&ev, "sched");
    // CPU time from /proc/PID/sched where the kernel has it, else from /proc/PID/stat.
    let field = if rows(&ev, "se.sum_exec_runtime").is_empty() {
        "utime+stime"
    } else {
        "se.sum_exec_runtime"
    };
    let secs = |i: usize| -> f64 {
        rows(&ev, field)[i]["value"]
            .as_str()
            .unwrap()
            .trim_start_matches('+')
            .trim_end_matches(" s")
            .trim_end_matches(" ms")
            .parse()
            .unwrap()
    };
    let (a, b) = (secs(0), secs(1));
    assert!(a > b, "nice 0 got {a} s, nice 10 got {b} s");
    let nice: Vec<&str> = rows(&ev, "nice (19)")
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(nice.len(), 2);
    let (na, nb): (i64, i64) = (nice[0].parse().unwrap(), nice[1].parse().unwrap());
    assert!(nb > na, "{nice:?}");
    for r in rows(&ev, "policy (41)") {
        assert_eq!(r["value"], "0");
    }
    // The demo tells EEVDF from CFS by the kernel's code; cross-check it with the version
    // EEVDF arrived in (6.6), which only this test uses.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut v = release.trim().split(|c: char| !c.is_ascii_digit());
    let version: (u32, u32) = (
        v.next().unwrap().parse().unwrap(),
        v.next().unwrap().parse().unwrap(),
    );
    let expected = if version >= (6, 6) {
        "present"
    } else {
        "absent"
    };
    assert_eq!(
        value(&ev, "/proc/kallsyms", "avg_vruntime"),
        expected,
        "{release}"
    );
}

#[test]
fn all_runs_every_demo_in_order() {
    let ev = events(&["all", "--hold", "10ms"]);
    let starts: Vec<&str> = ev
        .iter()
        .filter(|e| e["event"] == "start")
        .map(|e| e["demo"].as_str().unwrap())
        .collect();
    assert_eq!(starts, NAMES);
    assert_eq!(
        ev.iter().filter(|e| e["event"] == "end").count(),
        NAMES.len()
    );
    assert!(
        ev.iter()
            .all(|e| e["facts_failed"] != 1 && e["holds"] != false)
    );
    for p in reported_pids(&ev) {
        assert_ne!(proc_ppid(p), Some(demo_pid(&ev) as i32));
    }
}

#[test]
fn interrupted_zombie_hold_exits_130_and_leaves_nothing() {
    let mut live = Live::spawn(&["zombie", "--hold", "30s"]);
    let hold =
        live.until(|e| e["event"] == "step" && e["title"].as_str().unwrap().starts_with("Holding"));
    let (z, p) = (
        hold["pids"]["zombie"].as_i64().unwrap() as i32,
        hold["pids"]["parent"].as_i64().unwrap() as i32,
    );
    assert_eq!(proc_state(z), Some('Z'));
    let (zt, pt) = (start_time(z), start_time(p));
    let t = Instant::now();
    live.signal(nix::sys::signal::Signal::SIGINT);
    let (code, ev, err) = live.finish();
    assert_eq!(code, Some(130), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "did not stop promptly"
    );
    assert!(err.contains("interrupted by SIGINT"), "{err}");
    let last = ev.last().unwrap();
    assert_eq!(last["event"], "interrupted");
    assert_eq!(last["signal"], "SIGINT");
    assert!(gone(z, zt), "zombie {z} left behind");
    assert!(gone(p, pt), "parent {p} left behind");
}

#[test]
fn interrupted_orphan_exits_130_and_leaves_nothing() {
    // Stop it at its most fragile point: the orphan adopted, its old parent not yet reaped.
    let mut live = Live::spawn(&["orphan", "--step"]);
    for n in 1..=3 {
        live.step(n);
        live.next();
    }
    let s4 = live.step(4);
    let (p, c) = (
        s4["pids"]["parent"].as_i64().unwrap() as i32,
        s4["pids"]["child"].as_i64().unwrap() as i32,
    );
    assert_eq!(proc_state(p), Some('Z'));
    assert!(matches!(proc_state(c), Some('S' | 'R')));
    let (pt, ct) = (start_time(p), start_time(c));
    live.signal(nix::sys::signal::Signal::SIGTERM);
    let (code, ev, err) = live.finish();
    assert_eq!(code, Some(130), "{err}");
    assert_eq!(ev.last().unwrap()["signal"], "SIGTERM");
    assert!(gone(p, pt), "old parent {p} left behind");
    assert!(gone(c, ct), "orphan {c} left behind");
}

#[test]
fn ctrl_c_to_the_whole_process_group_still_cleans_up() {
    // Like Ctrl-C in a terminal: SIGINT reaches the demo and its busy children at once.
    let mut live = Live::spawn_with(&["sched", "--step"], true);
    let s1 = live.step(1);
    let pids: Vec<i32> = ["a", "b"]
        .iter()
        .map(|k| s1["pids"][k].as_i64().unwrap() as i32)
        .collect();
    let starts: Vec<Option<u64>> = pids.iter().map(|&p| start_time(p)).collect();
    assert!(starts.iter().all(Option::is_some));
    let group = nix::unistd::Pid::from_raw(live.child.id() as i32);
    nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGINT).unwrap();
    let (code, ev, err) = live.finish();
    assert_eq!(code, Some(130), "{err}");
    assert_eq!(ev.last().unwrap()["event"], "interrupted");
    for (p, t) in pids.iter().zip(starts) {
        assert!(gone(*p, t), "{p} left behind");
    }
}

#[test]
fn sighup_also_interrupts_cleanly() {
    let mut live = Live::spawn(&["exit", "--step"]);
    let s1 = live.step(1);
    let c = s1["pids"]["child"].as_i64().unwrap() as i32;
    let t = start_time(c);
    live.signal(nix::sys::signal::Signal::SIGHUP);
    let (code, ev, err) = live.finish();
    assert_eq!(code, Some(130), "{err}");
    assert_eq!(ev.last().unwrap()["signal"], "SIGHUP");
    assert!(gone(c, t), "{c} left behind");
}

#[test]
fn step_mode_with_stdin_at_eof_runs_through() {
    let out = run(zombies()
        .args(["demo", "exit", "--step", "--format", "json"])
        .stdin(Stdio::null()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).lines().last().unwrap().contains("\"end\""));
}

#[test]
fn closed_stdout_exits_quietly() {
    let mut child = zombies()
        .args(["demo", "fork"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

/// The test seam shared with the IPC demos: a panic mid-demo unwinds through the guards and
/// the runtime, so every process the demo reported is killed and reaped before it exits. A
/// release binary has no seam: there the variable must change nothing.
#[test]
fn panic_mid_demo_reaps_everything() {
    if !binary_has_test_seam() {
        let out = run(zombies()
            .args(["demo", "zombie", "--hold", "100ms", "--format", "json"])
            .env("ZOMBIES_TEST_PANIC_AFTER_STEP", "4")
            .stdin(Stdio::null()));
        assert_eq!(
            out.status.code(),
            Some(0),
            "a binary without the seam obeyed it: {}",
            stderr(&out)
        );
        return;
    }
    let out = run(zombies()
        .args(["demo", "zombie", "--hold", "10s", "--format", "json"])
        .env("ZOMBIES_TEST_PANIC_AFTER_STEP", "4")
        .stdin(Stdio::null()));
    assert_eq!(out.status.code(), Some(101), "{}", stderr(&out));
    assert!(stderr(&out).contains("ZOMBIES_TEST_PANIC_AFTER_STEP"));
    let ev: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = steps(&ev).last().copied().expect("steps before the panic");
    assert_eq!(last["step"], 4);
    let pids: Vec<i32> = steps(&ev)
        .iter()
        .flat_map(|s| s["pids"].as_object().into_iter().flatten())
        .filter_map(|(_, p)| p.as_i64().map(|p| p as i32))
        .collect();
    assert!(!pids.is_empty());
    for p in pids {
        assert_eq!(
            start_time(p),
            None,
            "process {p} outlived the panicking demo"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Issue 16: kernel-exact facts, the classic experiments, and what lets a student re-check.

/// The evidence row of step `step` (1-based) whose source ends with `src` and whose field is
/// `field`.
fn row<'a>(ev: &'a [Value], step: usize, src: &str, field: &str) -> &'a Value {
    let s = steps(ev)[step - 1];
    s["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == field && r["source"].as_str().unwrap().ends_with(src))
        .unwrap_or_else(|| panic!("no {src} {field} in step {step}: {s:#}"))
}

/// The step whose title starts with `title`.
fn titled<'a>(ev: &'a [Value], title: &str) -> &'a Value {
    steps(ev)
        .into_iter()
        .find(|s| s["title"].as_str().unwrap().starts_with(title))
        .unwrap_or_else(|| panic!("no step titled {title:?}"))
}

/// The C library's version, asked here independently of the binary under test.
fn glibc_minor() -> u32 {
    // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
    let v = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
    v.to_str()
        .unwrap()
        .strip_prefix("2.")
        .and_then(|m| m.split('.').next())
        .and_then(|m| m.parse().ok())
        .expect("glibc 2.x")
}

#[test]
fn fork_keeps_shared_pages_shared_and_rebuilds_page_tables_on_fault() {
    let ev = events(&["fork"]);
    assert_well_formed(&ev, "fork");
    let cow = titled(&ev, "Copy-on-write");
    let child = cow["pids"]["child"].as_i64().unwrap();
    let shared = cow["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "shared page after fork")
        .unwrap();
    assert_eq!(shared["value"], "not present", "{shared}");
    assert_eq!(shared["holds"], true);
    let private = cow["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "private page after fork")
        .unwrap();
    assert_eq!(private["value"], "present");
    // The child's write to the MAP_SHARED page reached the parent.
    let parent_reads: Vec<&str> = cow["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["source"] == "parent memory")
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(parent_reads, ["42", "9"]);
    let kb = |v: &Value| -> u64 {
        v["value"]
            .as_str()
            .unwrap()
            .trim_end_matches(" kB")
            .parse()
            .unwrap()
    };
    let tables = titled(&ev, "Page tables");
    let forked = tables["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "VmPTE after fork")
        .unwrap();
    let read = tables["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "VmPTE after reading")
        .unwrap();
    assert_eq!(
        forked["source"].as_str().unwrap(),
        format!("/proc/{child}/status")
    );
    // 16 MiB in 4 KiB pages need 8 page-table pages of 4 KiB: rebuilt in the child.
    assert!(kb(read) >= kb(forked) + 28, "{forked} {read}");
}

#[test]
fn clone_shows_the_calls_the_c_library_makes() {
    let ev = events(&["clone"]);
    assert_well_formed(&ev, "clone");
    let libc = titled(&ev, "What the C library");
    let get = |f: &str| {
        libc["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == f)
            .unwrap_or_else(|| panic!("no {f} in {libc:#}"))["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let fork = get("fork()");
    assert!(
        fork.starts_with(
            "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
        ),
        "{fork}"
    );
    assert!(
        get("vfork()").starts_with("vfork() = "),
        "{}",
        get("vfork()")
    );
    let spawn = get("posix_spawn()");
    let thread = get("pthread_create()");
    assert!(spawn.contains("CLONE_VM|CLONE_VFORK"), "{spawn}");
    assert!(
        thread.contains("CLONE_THREAD") && thread.contains("CLONE_SETTLS"),
        "{thread}"
    );
    // clone3 from glibc 2.34 on, as the demo found out from the running C library.
    let clone3 = glibc_minor() >= 34;
    assert_eq!(spawn.starts_with("clone3("), clone3, "{spawn}");
    assert_eq!(thread.starts_with("clone3("), clone3, "{thread}");
    // The thread's own exit: one task gone, the process alive.
    let exit = titled(&ev, "The thread ends");
    let pid = exit["pids"]["process"].as_i64().unwrap();
    let tasks = exit["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "entries")
        .unwrap();
    assert_eq!(tasks["value"], pid.to_string());
    // The old names are gone from this kernel's symbols (when they can be read).
    let path = titled(&ev, "The kernel path");
    if let Some(r) = path["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "_do_fork")
    {
        let has = |name: &str| {
            std::fs::read_to_string("/proc/kallsyms")
                .is_ok_and(|k| k.lines().any(|l| l.split_whitespace().nth(2) == Some(name)))
        };
        assert_eq!(
            r["value"],
            if has("_do_fork") { "present" } else { "absent" }
        );
    }
}

#[test]
fn exit_shows_stdio_flushed_twice_and_the_zombies_rusage() {
    let ev = events(&["exit"]);
    assert_well_formed(&ev, "exit");
    let stdio = titled(&ev, "exit(3) flushes stdio");
    let v = |f: &str| {
        stdio["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == f)
            .unwrap_or_else(|| panic!("no {f}"))["value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(v("lines read, both exit()"), "2");
    assert_eq!(v("lines read, child _exit()"), "1");
    if cfg!(target_arch = "x86_64") {
        assert!(v("exit(0)").starts_with("write("), "{}", v("exit(0)"));
        assert!(v("exit(0)").ends_with("exit_group(0) = ?"));
        assert_eq!(v("_exit(0)"), "exit_group(0) = ?");
    }
    let last = steps(&ev).last().copied().unwrap();
    let maxrss: i64 = last["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["field"] == "ru_maxrss")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .trim_end_matches(" kB")
        .parse()
        .unwrap();
    assert!(maxrss >= 16 * 1024, "{maxrss}");
    // The zombie still held PF_NOFREEZE, set by do_task_dead.
    let z = titled(&ev, "_exit(");
    assert!(
        z["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["field"] == "PF_NOFREEZE (0x8000)" && r["value"] == "set")
    );
    assert!(z["diagram"].as_str().unwrap().contains("<== here"));
}

#[test]
fn autoreap_leaves_no_zombie_and_wait_fails_with_echild() {
    let ev = events(&["autoreap"]);
    assert_well_formed(&ev, "autoreap");
    let s = steps(&ev);
    assert_eq!(s.len(), 4);
    for (i, chld_sent) in [(1, false), (3, true)] {
        let gone = s[i]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == "exists")
            .unwrap();
        assert_eq!(gone["value"], "no");
        let child = s[i]["pids"]["child"].as_i64().unwrap() as i32;
        assert_eq!(
            proc_state(child),
            None,
            "the autoreaped child {child} is still there"
        );
        let wait = s[i]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == "return")
            .unwrap();
        assert!(wait["value"].as_str().unwrap().contains("ECHILD"), "{wait}");
        let pnd = s[i]["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["field"] == "ShdPnd")
            .unwrap();
        let mask = u64::from_str_radix(pnd["value"].as_str().unwrap(), 16).unwrap();
        assert_eq!(mask & (1 << (libc::SIGCHLD - 1)) != 0, chld_sent, "{pnd}");
    }
}

#[test]
fn zombie_shows_what_ps_reads() {
    let ev = events(&["zombie", "--hold", "10ms"]);
    assert_well_formed(&ev, "zombie");
    let ps = titled(&ev, "Holding the zombie");
    let z = ps["pids"]["zombie"].as_i64().unwrap();
    assert_eq!(
        row(&ev, 4, &format!("/proc/{z}/cmdline"), "bytes")["value"],
        "0"
    );
    let procps = std::process::Command::new("ps")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("procps"));
    if procps {
        let cmd = row(&ev, 4, &format!("ps -lf -p {z}"), "CMD");
        assert!(
            cmd["value"].as_str().unwrap().ends_with("<defunct>"),
            "{cmd}"
        );
    }
    assert!(ps["diagram"].as_str().unwrap().contains("Z  zombie"));
}

#[test]
fn orphan_of_a_thread_stays_with_its_process_and_still_gets_pdeathsig() {
    let ev = events(&["orphan"]);
    assert_well_formed(&ev, "orphan");
    let t = titled(&ev, "A thread that forked");
    let (p, c) = (
        t["pids"]["parent"].as_i64().unwrap(),
        t["pids"]["child"].as_i64().unwrap(),
    );
    assert_eq!(
        row(&ev, 2, &format!("/proc/{c}/status"), "PPid")["value"],
        format!("{p} → {p}")
    );
    let pnd = row(&ev, 2, &format!("/proc/{c}/status"), "ShdPnd");
    let mask = u64::from_str_radix(pnd["value"].as_str().unwrap(), 16).unwrap();
    assert_ne!(mask & (1 << (libc::SIGUSR1 - 1)), 0, "{pnd}");
}

#[test]
fn sched_reads_the_weights_the_kernel_uses() {
    let ev = events(&["sched"]);
    assert_well_formed(&ev, "sched");
    let weights: Vec<&str> = rows(&ev, "se.load.weight")
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    if std::path::Path::new("/proc/self/sched").exists() {
        // 64-bit kernels scale the table's 1024 and 110 by 1024.
        assert_eq!(weights, ["1048576", "112640"]);
    }
    let auto = titled(&ev, "Why `nice`");
    assert!(
        auto["explanation"]
            .as_str()
            .unwrap()
            .contains("sched_autogroup_enabled")
    );
}

#[test]
fn trace_shows_the_calls_each_step_made() {
    let ev = events(&["fork", "--trace"]);
    assert_well_formed(&ev, "fork");
    let me = demo_pid(&ev);
    let s = steps(&ev);
    let child = s[0]["pids"]["child"].as_i64().unwrap();
    let first = s[0]["trace"].as_array().unwrap();
    assert!(
        first.iter().any(|c| c["pid"] == me
            && c["call"] == "clone"
            && c["result"].as_str() == Some(&child.to_string())),
        "{first:#?}"
    );
    let last = s.last().unwrap()["trace"].as_array().unwrap();
    assert!(
        last.iter().any(|c| c["call"] == "wait4"
            && c["args"].as_str().unwrap().starts_with(&child.to_string())
            && c["args"].as_str().unwrap().contains("WNOHANG")),
        "{last:#?}"
    );
    // Without --trace the member is there, and empty.
    let plain = events(&["fork"]);
    assert!(
        steps(&plain)
            .iter()
            .all(|s| s["trace"] == serde_json::json!([]))
    );
    // In text, as strace -f prints it.
    let out = run(zombies()
        .args(["demo", "exec", "--trace", "--color", "never"])
        .stdin(Stdio::null()));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("trace  [pid ")
                && l.contains("] execve(\"")
                && l.ends_with(" = 0")),
        "{text}"
    );
}

/// The fork demo's page-table step reports what the child did right after step 1's fork: its
/// line must not read as a fork of its own unless its trace holds one, and the memfd it
/// reads is made (and recorded) before step 1's clone, where strace -f shows it.
#[test]
fn trace_fork_page_tables_step_names_only_what_ran() {
    let ev = events(&["fork", "--trace"]);
    assert_well_formed(&ev, "fork");
    let pt = titled(&ev, "Page tables");
    let line = pt["syscall"].as_str().unwrap();
    let trace = pt["trace"].as_array().unwrap();
    if line.contains("fork()") && !line.contains("step 1") {
        assert!(
            trace.iter().any(|c| c["call"] == "clone"),
            "the line names a fork the step did not make: {line}\n{trace:#?}"
        );
    }
    let first = steps(&ev)[0]["trace"].as_array().unwrap();
    let at = |call: &str| first.iter().position(|c| c["call"] == call);
    let clone = at("clone").expect("step 1 records its clone");
    for call in ["memfd_create", "ftruncate", "mmap"] {
        assert!(
            at(call).is_some_and(|i| i < clone),
            "{call} not recorded before step 1's clone: {first:#?}"
        );
    }
}

/// Every lifecycle demo with --trace, as strace -f would show it: no process's record comes
/// before the clone (fork, vfork, clone3) that made it, in any step.
#[test]
fn trace_puts_no_child_before_the_call_that_made_it() {
    let mut wrong = Vec::new();
    for name in NAMES {
        let ev = events(&[name, "--trace", "--hold", "10ms"]);
        assert_well_formed(&ev, name);
        for (i, s) in steps(&ev).iter().enumerate() {
            let trace = s["trace"].as_array().unwrap();
            for (j, t) in trace.iter().enumerate() {
                if !["clone", "clone3", "fork", "vfork"].contains(&t["call"].as_str().unwrap()) {
                    continue;
                }
                let Ok(child) = t["result"].as_str().unwrap().parse::<i64>() else {
                    continue;
                };
                if trace[..j].iter().any(|r| r["pid"] == child) {
                    wrong.push(format!(
                        "demo {name} step {}: PID {child} recorded before the {} that made it: {}",
                        i + 1,
                        t["call"],
                        serde_json::to_string_pretty(trace).unwrap()
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn every_event_has_the_schema_version_and_every_step_pids_and_a_command_to_try() {
    let ev = events(&["all", "--hold", "10ms"]);
    for e in &ev {
        assert_eq!(e["version"], 1, "{e}");
    }
    for start in ev.iter().filter(|e| e["event"] == "start") {
        assert!(
            start["intro"].as_str().is_some_and(|i| i.len() > 40),
            "{start}"
        );
    }
    for s in steps(&ev) {
        assert!(
            s["pids"].as_object().is_some_and(|p| !p.is_empty()),
            "no pids: {s}"
        );
        assert!(
            s["try"].as_array().is_some_and(|t| !t.is_empty()),
            "nothing to try: {s}"
        );
        assert_eq!(s["notes"], serde_json::json!([]));
        for r in s["evidence"].as_array().unwrap() {
            assert!(r["source"].is_string(), "{r}");
        }
    }
}

/// The processes of process group `pgrp` still in /proc (zombies included).
fn group_members(pgrp: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| {
            std::fs::read(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                let close = stat.iter().rposition(|&b| b == b')').unwrap_or(0);
                String::from_utf8_lossy(&stat[close + 2..])
                    .split_whitespace()
                    .nth(2)
                    .and_then(|g| g.parse::<i32>().ok())
                    == Some(pgrp)
            })
        })
        .collect()
}

/// The new demos stopped at random moments, with and without --trace: each cleans up, exits
/// 130 (or had finished, or died of the signal before its signalfd existed), and no process
/// of its process group is left.
#[test]
fn new_demos_interrupted_at_random_moments_leave_nothing() {
    use std::os::unix::process::CommandExt;
    for (i, (demo, trace)) in [
        ("clone", false),
        ("exit", true),
        ("autoreap", false),
        ("orphan", true),
        ("fork", false),
        ("clone", true),
        ("autoreap", true),
        ("exit", false),
    ]
    .into_iter()
    .enumerate()
    {
        for sig in [
            nix::sys::signal::Signal::SIGINT,
            nix::sys::signal::Signal::SIGTERM,
        ] {
            let mut args = vec!["demo", demo, "--format", "json"];
            if trace {
                args.push("--trace");
            }
            let child = zombies()
                .args(&args)
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let pid = child.id() as i32;
            std::thread::sleep(Duration::from_millis(3 + 17 * i as u64));
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
            let out = child.wait_with_output().unwrap();
            use std::os::unix::process::ExitStatusExt;
            assert!(
                matches!(out.status.code(), Some(0) | Some(130))
                    || out.status.signal() == Some(sig as i32),
                "{demo} after {sig}: {:?} {}",
                out.status,
                stderr(&out)
            );
            let left = wait_until(Duration::from_secs(3), || group_members(pid).is_empty());
            let members = group_members(pid);
            for p in &members {
                kill_and_reap(*p);
            }
            assert!(left, "{demo} after {sig} left {members:?}");
        }
    }
}

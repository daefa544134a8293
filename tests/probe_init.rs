//! `zombies probe-init PID`: does PID 1 of PID's namespace reap orphans? Each verdict against
//! a real PID namespace made for the test: a PID 1 that reaps (exit 0), one that never does
//! (exit 1, exactly one zombie left, removed the way the report says, then the namespace ends
//! with its init), and the cases it cannot test (exit 3, saying why).

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

/// `zombies probe-init ARGS --format json` in `env`, asserting the exit code.
fn probe(env: &TestEnv, args: &[&str], want: Exit) -> (Value, String) {
    let run = env
        .command()
        .arg("probe-init")
        .args(args)
        .args(["--format", "json"])
        .run()
        .assert_exit(want);
    (run.json(), run.report())
}

/// A namespace whose PID 1 is `sleep`, which never waits: returns once it has exec'd.
fn sleeping_init() -> PidNs {
    let ns = PidNs::spawn("exec sleep 120");
    assert!(
        wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(format!("/proc/{}/comm", ns.init))
                .is_ok_and(|c| c.trim() == "sleep")
        }),
        "PID 1 {} did not exec sleep",
        ns.init
    );
    ns
}

/// The orphan the report names, as a host PID.
#[track_caller]
fn orphan_pid(v: &Value) -> i32 {
    v["orphan"]["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("no orphan.pid in {v:#}")) as i32
}

#[test]
#[ignore = "needs root"]
fn a_pid_1_that_reaps_is_seen_reaping() {
    needs_root();
    let init = ReapingInit::spawn(0);
    let env = TestEnv::new("probe-reaps");
    // Given PID 1 itself, and given another process of the namespace (found through its
    // ancestors): the same PID 1, and the same answer.
    for target in [init.init, init.parent] {
        let (v, report) = probe(&env, &[&target.to_string()], Exit::PROBE_REAPS);
        assert_eq!(v["verdict"], "reaps", "{report}");
        assert_eq!(v["init"]["pid"], init.init, "{report}");
        assert_eq!(v["orphan"]["adopted_by"], init.init, "{report}");
        assert!(v["reaped_after_ms"].as_f64().is_some(), "{report}");
        assert!(
            ["pidfd-poll", "pidfd-signal"].contains(&v["observed_by"].as_str().unwrap()),
            "{report}"
        );
        assert_eq!(v["zombie_left"], Value::Null, "{report}");
        assert_eq!(v["remove"], Value::Null, "{report}");
        // Reaped indeed: the orphan is gone from /proc, and PID 1 holds no zombie.
        let orphan = orphan_pid(&v);
        assert!(proc_state(orphan).is_none() || proc_ppid(orphan) != Some(init.init));
        assert!(zombie_children(init.init).is_empty(), "{report}");
    }
}

/// The path of kernels before 5.3: no pidfd, the reap seen as the PID leaving /proc.
#[test]
#[ignore = "needs root"]
fn without_a_pidfd_the_reap_is_seen_in_proc() {
    needs_root();
    let init = ReapingInit::spawn(0);
    let env = TestEnv::new("probe-nopidfd");
    let run = env
        .command()
        .env("ZOMBIES_NO_PIDFD", "1")
        .args(["probe-init", &init.init.to_string(), "--format", "json"])
        .run()
        .assert_exit(Exit::PROBE_REAPS);
    let v = run.json();
    assert_eq!(v["observed_by"], "proc", "{}", run.report());
    assert!(zombie_children(init.init).is_empty());
}

#[test]
#[ignore = "needs root"]
fn a_pid_1_that_never_reaps_keeps_exactly_one_zombie() {
    needs_root();
    let ns = sleeping_init();
    let env = TestEnv::new("probe-noreap");
    let init = ns.init.to_string();

    // For people: the verdict, the evidence, the zombie left and how to remove it.
    let run = env
        .zombies(&["probe-init", &init, "--timeout", "300ms"])
        .assert_exit(Exit::PROBE_DOES_NOT_REAP);
    let remove = format!("zombies fix --reap --parent {init} --min-age 0s");
    let run = run.assert_stdout_contains(&[
        "PID 1 does not reap orphans",
        &format!("{init} (sleep)"),
        "SIGCHLD  default (no handler)",
        "exactly one zombie",
        "zombies-probe",
        &remove,
        "restart the container",
    ]);
    let left = zombie_children(ns.init);
    assert_eq!(
        left.len(),
        1,
        "not exactly one zombie: {left:?}\n{}",
        run.report()
    );
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{}/comm", left[0]))
            .unwrap()
            .trim(),
        "zombies-probe"
    );

    // The advice works: fix --reap empties PID 1 of its zombie and leaves it running.
    #[cfg(target_arch = "x86_64")]
    {
        let words: Vec<&str> = remove.split(' ').skip(1).collect();
        env.command()
            .args(&words)
            .arg("--yes")
            .run()
            .assert_success();
        assert!(
            zombie_children(ns.init).is_empty(),
            "fix --reap left a zombie"
        );
        assert_untouched(ns.init);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = left;

    // As JSON: the same verdict, with the zombie named; again exactly one is left.
    let before = zombie_children(ns.init).len();
    let (v, report) = probe(
        &env,
        &[&init, "--timeout", "300ms"],
        Exit::PROBE_DOES_NOT_REAP,
    );
    assert_eq!(v["verdict"], "does-not-reap", "{report}");
    assert_eq!(v["init"]["comm"], "sleep", "{report}");
    assert_eq!(v["init"]["sigchld"], "default", "{report}");
    assert_eq!(v["timeout_ms"], 300, "{report}");
    assert_eq!(v["remove"], remove.as_str(), "{report}");
    let zombie = v["zombie_left"]["pid"].as_i64().expect("zombie_left.pid") as i32;
    assert_eq!(zombie, orphan_pid(&v));
    assert_eq!(v["zombie_left"]["parent"], ns.init);
    assert_eq!(
        proc_stat(zombie).map(|s| (s.state, s.ppid)),
        Some(('Z', ns.init))
    );
    assert_eq!(
        v["zombie_left"]["ns_pid"].as_i64(),
        ns_pid(zombie).map(i64::from),
        "{report}"
    );
    assert_eq!(zombie_children(ns.init).len(), before + 1, "{report}");

    // The namespace ends with its PID 1, and the zombie with it.
    drop(ns);
    assert!(
        wait_until(Duration::from_secs(5), || proc_state(zombie).is_none()),
        "zombie {zombie} outlived its namespace"
    );
}

#[test]
fn a_pid_that_names_no_process_is_untested() {
    let env = TestEnv::new("probe-nosuch");
    let pid_max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (v, report) = probe(&env, &[&(pid_max + 1).to_string()], Exit::PROBE_UNTESTED);
    assert_eq!(v["verdict"], "untested", "{report}");
    assert_eq!(v["untested"], "no-such-process", "{report}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("no process has PID")
    );

    // One that existed a moment ago: started, killed and reaped by this test.
    let mut child = Command::new("sleep")
        .arg("30")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let gone = child.id().to_string();
    child.kill().unwrap();
    child.wait().unwrap();
    let run = env
        .zombies(&["probe-init", &gone])
        .assert_exit(Exit::PROBE_UNTESTED);
    run.assert_stdout_contains(&["Could not test", &format!("no process has PID {gone}")]);
}

#[test]
fn a_kernel_thread_is_untested() {
    let env = TestEnv::new("probe-kthread");
    let kthread = all_pids()
        .into_iter()
        .find(|&p| proc_stat(p).is_some_and(|s| s.flags & 0x0020_0000 != 0))
        .expect("a kernel thread");
    let (v, report) = probe(&env, &[&kthread.to_string()], Exit::PROBE_UNTESTED);
    assert_eq!(v["untested"], "kernel-thread", "{report}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("is a kernel thread"),
        "{report}"
    );
    assert_eq!(v["orphan"], Value::Null);
}

#[test]
fn usage_errors_are_usage_errors() {
    let env = TestEnv::new("probe-usage");
    env.zombies(&["probe-init", "abc"]).assert_exit(Exit::USAGE);
    env.zombies(&["probe-init"]).assert_exit(Exit::USAGE);
    env.zombies(&["probe-init", "1", "--timeout", "0s"])
        .assert_exit(Exit::USAGE)
        .assert_stderr_contains(&["--timeout 0"]);
}

#[test]
fn another_procfs_is_untested() {
    let env = TestEnv::new("probe-fakeproc").with_fake_proc();
    env.proc().process(1, b"init", 'S', 0, 0, 1);
    let (v, report) = probe(&env, &["1"], Exit::PROBE_UNTESTED);
    assert_eq!(v["untested"], "procfs-not-ours", "{report}");
}

/// Without root: the namespace of a process of one's own cannot be entered (no
/// CAP_SYS_ADMIN), that of another user's cannot even be opened.
#[test]
#[ignore = "needs root"]
fn without_root_it_says_why() {
    needs_root();
    let env = TestEnv::new("probe-nobody");
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let mut theirs = Command::new(nobody[0])
        .args(&nobody[1..])
        .args(["sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = theirs.id() as i32;
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "sleep")
    }));
    let own = env
        .command()
        .wrapper(&nobody)
        .args(["probe-init", &pid.to_string(), "--format", "json"])
        .run()
        .assert_exit(Exit::PROBE_UNTESTED);
    let v = own.json();
    let _ = theirs.kill();
    let _ = theirs.wait();
    assert_eq!(v["untested"], "setns-refused", "{}", own.report());
    assert!(v["message"].as_str().unwrap().contains("CAP_SYS_ADMIN"));

    let init = env
        .command()
        .wrapper(&nobody)
        .args(["probe-init", "1", "--format", "json"])
        .run()
        .assert_exit(Exit::PROBE_UNTESTED);
    assert_eq!(
        init.json()["untested"],
        "namespace-file",
        "{}",
        init.report()
    );
    assert!(init.stdout().contains("needs root"), "{}", init.report());
}

/// In the tool's own namespace, a subreaper among its ancestors (this test process) adopts
/// the orphan before PID 1 could: the probe says so instead of testing the wrong process.
#[test]
#[ignore = "needs root"]
fn an_orphan_adopted_by_a_subreaper_is_not_taken_for_pid_1s() {
    needs_root();
    become_subreaper();
    let env = TestEnv::new("probe-subreaper");
    let me = std::process::id() as i32;
    let (v, report) = probe(&env, &[&me.to_string()], Exit::PROBE_UNTESTED);
    let orphan = orphan_pid(&v);
    // Ours now: it exits once the probe has ended; reap it.
    assert!(wait_until(Duration::from_secs(5), || proc_state(orphan) != Some('S')));
    reap_if_ours(orphan);
    assert_eq!(v["untested"], "adopted-by-other", "{report}");
    assert_eq!(v["orphan"]["adopted_by"], me, "{report}");
    assert!(
        v["message"].as_str().unwrap().contains("subreaper"),
        "{report}"
    );
}

/// `zombies probe-init ARGS --format json` started in the background, for a test that acts
/// while it waits.
fn probe_in_background(env: &TestEnv, args: &[&str]) -> std::process::Child {
    env.command()
        .arg("probe-init")
        .args(args)
        .args(["--format", "json"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zombies probe-init")
}

/// The probe's orphan, once it is a zombie under `init`.
fn probe_zombie_under(init: i32) -> i32 {
    let mut found = None;
    assert!(
        wait_until(Duration::from_secs(10), || {
            found = zombie_children(init).into_iter().find(|&z| {
                std::fs::read_to_string(format!("/proc/{z}/comm"))
                    .is_ok_and(|c| c.trim() == "zombies-probe")
            });
            found.is_some()
        }),
        "no zombies-probe zombie appeared under {init}"
    );
    found.unwrap()
}

fn finish(child: std::process::Child) -> (Option<i32>, Value, String) {
    let out = child.wait_with_output().expect("probe-init");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), v, text)
}

/// A PID 1 that dies while the probe waits has its orphan reaped by the kernel as the
/// namespace is torn down: that is no evidence that PID 1 reaps, so no "reaps".
#[test]
#[ignore = "needs root"]
fn a_pid_1_that_exits_during_the_probe_is_not_said_to_reap() {
    needs_root();
    let ns = sleeping_init();
    let env = TestEnv::new("probe-initexit");
    let child = probe_in_background(&env, &[&ns.init.to_string(), "--timeout", "20s"]);
    probe_zombie_under(ns.init);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(ns.init),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let (code, v, text) = finish(child);
    assert_eq!(code, Some(Exit::PROBE_UNTESTED.0), "{text}");
    assert_eq!(v["verdict"], "untested", "{text}");
    assert_eq!(v["untested"], "init-exited", "{text}");
    assert_eq!(v["reaped_after_ms"], Value::Null, "{text}");
}

/// Ctrl-C or a CI timeout's SIGTERM while the probe waits: it still reports, as JSON too,
/// and names the zombie it leaves and how to remove it.
#[test]
#[ignore = "needs root"]
fn an_interrupted_probe_says_what_it_left_behind() {
    needs_root();
    let ns = sleeping_init();
    let env = TestEnv::new("probe-interrupt");
    let init = ns.init.to_string();
    let child = probe_in_background(&env, &[&init, "--timeout", "30s"]);
    let zombie = probe_zombie_under(ns.init);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (code, v, text) = finish(child);
    assert_eq!(code, Some(Exit::PROBE_UNTESTED.0), "{text}");
    assert_eq!(v["untested"], "interrupted", "{text}");
    assert_eq!(v["zombie_left"]["pid"], zombie, "{text}");
    assert_eq!(
        v["remove"],
        format!("zombies fix --reap --parent {init} --min-age 0s").as_str(),
        "{text}"
    );
    assert_eq!(
        proc_stat(zombie).map(|s| (s.state, s.ppid)),
        Some(('Z', ns.init))
    );
    drop(ns);
    assert!(wait_until(Duration::from_secs(5), || proc_state(zombie).is_none()));
}

/// A stopped PID 1 reaps nothing, whatever it is: the advice is to continue it (fix --reap
/// refuses a stopped parent), and once continued this one does reap.
#[test]
#[ignore = "needs root"]
fn a_stopped_pid_1_is_told_to_be_continued() {
    needs_root();
    let init = ReapingInit::spawn(0);
    let env = TestEnv::new("probe-stopped");
    let pid = nix::unistd::Pid::from_raw(init.init);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    assert!(wait_until(Duration::from_secs(5), || proc_state(init.init)
        == Some('T')));
    let target = init.init.to_string();
    let run = env
        .zombies(&["probe-init", &target, "--timeout", "300ms"])
        .assert_exit(Exit::PROBE_DOES_NOT_REAP)
        .assert_stdout_contains(&["exactly one zombie", &format!("kill -CONT {target}")]);
    assert!(
        !run.stdout().contains("fix --reap") && !run.stdout().contains("docker run --init"),
        "{}",
        run.report()
    );
    let (v, report) = probe(
        &env,
        &[&target, "--timeout", "300ms"],
        Exit::PROBE_DOES_NOT_REAP,
    );
    assert_eq!(v["init"]["state"], "T", "{report}");
    assert_eq!(v["remove"], Value::Null, "{report}");
    assert!(v["zombie_left"]["pid"].is_i64(), "{report}");
    assert_eq!(zombie_children(init.init).len(), 2, "{report}");
    // The advice works: continued, it reaps both.
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || zombie_children(init.init)
            .is_empty()),
        "the continued init did not reap"
    );
}

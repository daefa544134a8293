//! Issue: diagnosis. Real zombies on the live kernel, checked through list, tree and explain.

mod common;

use common::*;
use serde_json::Value;

/// The `list --format json` entry for `parent`, if listed.
fn parent_entry(env: &TestEnv, parent: i32) -> Option<Value> {
    let v = json(
        env,
        &["list", "--format", "json", "--parent", &parent.to_string()],
    );
    v["parents"]
        .as_array()?
        .iter()
        .find(|p| p["pid"] == parent)
        .cloned()
}

/// `zombies ARGS` in `env`, which must succeed: its JSON.
fn json(env: &TestEnv, args: &[&str]) -> Value {
    env.zombies(args).assert_json(Exit::SUCCESS)
}

#[test]
fn default_disposition_is_kill_parent_with_exit_codes() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        zombies: 2,
        exit_code: Some(7),
        ..Spec::default()
    });
    let zp = env.parent();
    let p = parent_entry(&env, zp.pid).expect("parent listed");
    assert_eq!(p["sigchld"], "default");
    assert_eq!(p["sigchld_blocked"], false);
    assert_eq!(p["recommended"], "kill-parent");
    assert_eq!(p["state"], "S");
    let zs = p["zombies"].as_array().unwrap();
    let mut pids: Vec<i64> = zs.iter().map(|z| z["pid"].as_i64().unwrap()).collect();
    pids.sort();
    let mut want: Vec<i64> = zp.zombies.iter().map(|&z| z as i64).collect();
    want.sort();
    assert_eq!(pids, want);
    for z in zs {
        assert_eq!(z["ppid"], zp.pid);
        assert_eq!(z["exit_code"], 7);
        assert_eq!(z["exit_signal"], Value::Null);
        assert_eq!(z["uid"], nix::unistd::geteuid().as_raw());
        assert!(z["started_unix"].as_u64().unwrap() > 1_600_000_000);
    }
}

#[test]
fn killed_zombie_reports_signal() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        exit_code: None,
        ..Spec::default()
    });
    let zp = env.parent();
    let p = parent_entry(&env, zp.pid).unwrap();
    assert_eq!(p["zombies"][0]["exit_signal"], 9);
    assert_eq!(p["zombies"][0]["exit_code"], Value::Null);
}

#[test]
fn caught_sigchld_is_signal_parent() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        sigchld: Sigchld::CaughtNoReap,
        ..Spec::default()
    });
    let zp = env.parent();
    let p = parent_entry(&env, zp.pid).unwrap();
    assert_eq!(p["sigchld"], "caught");
    assert_eq!(p["recommended"], "signal-parent");
}

#[test]
fn blocked_sigchld_is_pending_and_kill_parent() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        sigchld: Sigchld::Blocked,
        zombies: 3,
        ..Spec::default()
    });
    let zp = env.parent();
    let p = parent_entry(&env, zp.pid).unwrap();
    assert_eq!(p["sigchld"], "caught");
    assert_eq!(p["sigchld_blocked"], true);
    assert_eq!(p["sigchld_pending"], true);
    assert_eq!(p["recommended"], "kill-parent");
    assert_eq!(p["zombies"].as_array().unwrap().len(), 3);
}

#[test]
fn ignored_sigchld_after_the_fact() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        sigchld: Sigchld::Ignored,
        ..Spec::default()
    });
    let zp = env.parent();
    let p = parent_entry(&env, zp.pid).unwrap();
    assert_eq!(p["sigchld"], "ignored");
    assert_eq!(p["recommended"], "kill-parent");
}

#[test]
fn stopped_parent_gets_sigcont_first() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        sigchld: Sigchld::CaughtReaps,
        stopped: true,
        ..Spec::default()
    });
    let zp = env.parent();
    let p = parent_entry(&env, zp.pid).unwrap();
    assert_eq!(p["state"], "T");
    assert_eq!(p["recommended"], "signal-parent");
    assert!(
        p["reason"].as_str().unwrap().contains("SIGCONT"),
        "{}",
        p["reason"]
    );
}

#[test]
fn exited_main_thread_is_not_a_zombie() {
    let env = TestEnv::new("diagnose");
    let leader = ExitedLeader::spawn();
    let out = env.zombies(&["list", "--pids"]).assert_success();
    let pids: Vec<String> = out.stdout().lines().map(str::to_string).collect();
    assert!(
        !pids.contains(&leader.pid.to_string()),
        "Zl counted as a zombie"
    );
    let e = json(
        &env,
        &["explain", &leader.pid.to_string(), "--format", "json"],
    );
    assert_eq!(e["kind"], "exited-main-thread");
    assert_eq!(e["threads"], 2);
    let text = env.zombies(&["explain", &leader.pid.to_string()]).stdout();
    assert!(text.contains("NOT a zombie"), "{text}");
}

#[test]
fn odd_names_survive_parsing_and_rendering() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        name: Some(c"a) Z (b\nc"),
        ..Spec::default()
    });
    let zp = env.parent();
    let p = parent_entry(&env, zp.pid).unwrap();
    assert_eq!(p["zombies"][0]["comm"], "a) Z (b\nc");
    assert_eq!(p["zombies"][0]["ppid"], zp.pid);
    // In text the newline is escaped so it cannot forge a line of the table.
    let text = env
        .zombies(&["list", "--parent", &zp.pid.to_string()])
        .stdout();
    assert!(text.contains("a) Z (b\\nc"), "{text}");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with('c')),
        "{text}"
    );
}

#[test]
fn explain_zombie_cites_evidence_and_commands() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        sigchld: Sigchld::CaughtNoReap,
        ..Spec::default()
    });
    let zp = env.parent();
    let z = zp.zombies[0].to_string();
    let out = env
        .zombies(&["explain", &z, "--color", "never"])
        .assert_success();
    let text = out.stdout();
    assert!(
        text.contains(&format!("{z} ")) && text.contains("is a zombie"),
        "{text}"
    );
    assert!(
        text.contains("SigCgt") && text.contains("SIGCHLD caught"),
        "{text}"
    );
    assert!(
        text.contains(&format!("zombies fix --signal-parent --parent {}", zp.pid)),
        "{text}"
    );
    let e = json(&env, &["explain", &z, "--format", "json"]);
    assert_eq!(e["kind"], "zombie");
    assert_eq!(e["parent"]["pid"], zp.pid);
    let rec: Vec<&Value> = e["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["recommended"] == true)
        .collect();
    assert_eq!(rec.len(), 1);
    assert_eq!(rec[0]["remedy"], "signal-parent");
}

#[test]
fn explain_parent_and_live_process() {
    let env = TestEnv::new("diagnose").with_parent(Spec::default());
    let zp = env.parent();
    let e = json(&env, &["explain", &zp.pid.to_string(), "--format", "json"]);
    assert_eq!(e["kind"], "parent");
    assert_eq!(e["parent"]["zombies"].as_array().unwrap().len(), 1);
    // A live process with no children at all.
    let mut sleeper = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let e = json(
        &env,
        &["explain", &sleeper.id().to_string(), "--format", "json"],
    );
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    assert_eq!(e["kind"], "no-zombies");
    assert_eq!(e["remedies"].as_array().unwrap().len(), 0);
}

#[test]
fn explain_missing_pid_fails_clearly() {
    let env = TestEnv::new("diagnose");
    // PIDs above pid_max never exist.
    let out = env
        .zombies(&["explain", "2147483647"])
        .assert_exit(Exit::FAILURE);
    assert!(
        out.stderr().contains("no process with PID 2147483647"),
        "{}",
        out.stderr()
    );
    for bad in ["abc", "0", "-5"] {
        env.zombies(&["explain", bad]).assert_exit(Exit::USAGE);
    }
}

#[test]
fn tree_marks_zombies_and_parents() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        zombies: 2,
        ..Spec::default()
    });
    let zp = env.parent();
    let out = env
        .zombies(&["tree", "--zombies-only", "--color", "never"])
        .assert_success();
    let text = out.stdout();
    let parent_line = text
        .lines()
        .find(|l| l.contains(&format!("{} ", zp.pid)) && l.contains("zombies not reaped"))
        .unwrap_or_else(|| panic!("parent not marked: {text}"));
    assert!(parent_line.contains("kill-parent"), "{parent_line}");
    for z in &zp.zombies {
        assert!(
            text.lines()
                .any(|l| l.contains(&format!("{z} ")) && l.contains("<defunct>")),
            "{text}"
        );
    }
    // The test process itself is an ancestor of the parent, so it is on the branch.
    assert!(text.contains(&format!("{} ", std::process::id())), "{text}");
    // Rooted at the parent: only its subtree.
    let sub = env.zombies(&["tree", &zp.pid.to_string()]).stdout();
    assert_eq!(sub.lines().count(), 3, "{sub}");
}

#[test]
fn user_filter_and_pids_output() {
    let env = TestEnv::new("diagnose").with_parent(Spec::default());
    let zp = env.parent();
    let me = nix::unistd::geteuid().as_raw().to_string();
    let out = env.zombies(&["list", "--pids", "--user", &me]).stdout();
    assert!(out.lines().any(|l| l == zp.zombies[0].to_string()), "{out}");
    // A uid nobody uses filters everything out.
    let out = env
        .zombies(&["list", "--pids", "--user", "4000000000"])
        .stdout();
    assert!(
        !out.lines().any(|l| l == zp.zombies[0].to_string()),
        "{out}"
    );
    env.zombies(&["list", "--user", "no-such-user-here"])
        .assert_exit(Exit::USAGE);
}

#[test]
fn closed_stdout_exits_quietly() {
    let env = TestEnv::new("diagnose").with_parent(Spec {
        zombies: 3,
        ..Spec::default()
    });
    let cmd = env.command().arg("tree");
    let mut child = cmd
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before the first write
    let out =
        Run::new(cmd.describe(), child.wait_with_output().unwrap()).assert_exit(Exit::SUCCESS);
    assert!(out.stderr().is_empty(), "{}", out.stderr());
}

#[test]
fn missing_procfs_is_an_error_with_advice() {
    let env = TestEnv::new("diagnose");
    let out = env
        .zombies(&["list", "--proc", "/nonexistent"])
        .assert_exit(Exit::FAILURE);
    assert!(out.stderr().contains("--proc"), "{}", out.stderr());
    env.command()
        .env("ZOMBIES_PROC", "/nonexistent")
        .arg("list")
        .run()
        .assert_exit(Exit::FAILURE);
}

// ---------------------------------------------------------------------------------------
// Issue 17: tracers, waiting parents, live threads

/// A child traced by a sibling dies while its parent blocks in waitpid(): only the tracer can
/// reap it. The culprit is the tracer; killing the waiting parent would help nobody.
#[test]
fn a_zombie_held_by_a_tracer_blames_the_tracer_not_the_waiting_parent() {
    let env = TestEnv::new("diagnose");
    let mut t = Traced::spawn(TraceTarget::Zombie);
    let p = parent_entry(&env, t.parent).expect("parent listed");
    assert_eq!(p["in_wait"], true, "{p:#}");
    assert_eq!(p["recommended"], "detach-tracer", "{p:#}");
    let z = &p["zombies"][0];
    assert_eq!(z["pid"], t.zombie);
    assert_eq!(z["held_by_tracer"]["pid"], t.tracer, "{z:#}");
    assert!(z["held_by_tracer"]["comm"].is_string(), "{z:#}");

    let list = env
        .zombies(&[
            "list",
            "--parent",
            &t.parent.to_string(),
            "--color",
            "never",
        ])
        .stdout();
    let tracer = t.tracer.to_string();
    assert!(
        list.contains(&format!("held by tracer {tracer}")),
        "list does not name the tracer: {list}"
    );
    assert!(
        !list.contains("--kill-parent"),
        "list recommends killing a parent that is waiting: {list}"
    );
    assert!(list.contains(&format!("kill {tracer}")), "{list}");

    let tree = env
        .zombies(&["tree", &t.parent.to_string(), "--color", "never"])
        .stdout();
    assert!(
        tree.lines().any(|l| l.contains(&t.zombie.to_string())
            && l.contains(&format!("held by tracer {tracer}"))),
        "{tree}"
    );

    let text = env
        .zombies(&["explain", &t.zombie.to_string(), "--color", "never"])
        .stdout();
    assert!(text.contains("sleeping in wait()"), "{text}");
    assert!(
        !text.contains("has not called wait()") && !text.contains("not reaped it with wait()"),
        "explain contradicts its own evidence: {text}"
    );
    assert!(
        text.contains(&format!("held by its tracer {tracer}")),
        "{text}"
    );
    let e = json(
        &env,
        &["explain", &t.zombie.to_string(), "--format", "json"],
    );
    let rec: Vec<&Value> = e["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["recommended"] == true)
        .collect();
    assert_eq!(rec.len(), 1, "{e:#}");
    assert_eq!(rec[0]["remedy"], "detach-tracer");
    assert!(rec[0]["command"].as_str().unwrap().contains(&tracer));

    // The advice holds: once the tracer is gone, the waiting parent reaps its child at once.
    t.kill_tracer();
    assert!(
        wait_until(std::time::Duration::from_secs(5), || proc_state(t.zombie)
            .is_none()),
        "the parent did not reap its child once the tracer died"
    );
}

/// A traced parent: list and tree name its tracer and warn that a SIGTERM may be held.
#[test]
fn a_traced_parent_names_its_tracer() {
    let env = TestEnv::new("diagnose");
    let t = Traced::spawn(TraceTarget::Parent);
    let p = parent_entry(&env, t.parent).expect("parent listed");
    assert_eq!(p["tracer"]["pid"], t.tracer, "{p:#}");
    assert_eq!(p["zombies"][0]["held_by_tracer"], Value::Null);
    let tracer = t.tracer.to_string();
    let list = env
        .zombies(&[
            "list",
            "--parent",
            &t.parent.to_string(),
            "--color",
            "never",
        ])
        .stdout();
    assert!(
        list.contains(&format!("traced by {tracer} (")) && list.contains("SIGTERM"),
        "{list}"
    );
    let tree = env
        .zombies(&["tree", &t.parent.to_string(), "--color", "never"])
        .stdout();
    let line = tree
        .lines()
        .find(|l| l.contains("not reaped"))
        .unwrap_or_else(|| panic!("{tree}"));
    assert!(
        line.contains(&format!("traced by {tracer} (")) && line.contains("SIGTERM"),
        "{line}"
    );
}

/// `Threads:` still counts a main thread that has exited: explain, tree and fix count the
/// threads that run.
#[test]
fn an_exited_main_thread_counts_only_live_threads() {
    let env = TestEnv::new("diagnose");
    let leader = ExitedLeader::spawn();
    let pid = leader.pid.to_string();
    assert_eq!(status_number(leader.pid, "Threads"), Some(2));
    let e = json(&env, &["explain", &pid, "--format", "json"]);
    assert_eq!(e["live_threads"], 1, "{e:#}");
    let text = env.zombies(&["explain", &pid, "--color", "never"]).stdout();
    assert!(text.contains("1 thread still runs"), "{text}");
    let tree = env.zombies(&["tree", &pid, "--color", "never"]).stdout();
    assert!(tree.contains("1 thread lives"), "{tree}");
    let out = env
        .zombies(&["fix", "--kill-parent", "--pid", &pid, "--yes"])
        .assert_exit(Exit::FAILURE);
    assert!(
        out.stderr().contains("1 thread still runs"),
        "{}",
        out.stderr()
    );
}

/// kill-parent kills every thread of a process: its other threads never adopt the zombies,
/// so the adopter named is never the parent itself.
#[test]
fn a_multithreaded_parent_is_not_its_own_adopter() {
    let env = TestEnv::new("diagnose");
    let tp = ThreadedParent::spawn();
    let p = parent_entry(&env, tp.pid).expect("parent listed");
    assert_ne!(p["adopter"]["pid"], tp.pid, "{p:#}");
    assert_eq!(p["recommended"], "kill-parent");
    let e = json(&env, &["explain", &tp.pid.to_string(), "--format", "json"]);
    let kill = e["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["remedy"] == "kill-parent")
        .unwrap();
    let effect = kill["effect"].as_str().unwrap();
    assert!(!effect.contains(&format!("({})", tp.pid)), "{effect}");
}

/// A zombie's owner comes from its status (Uid): its /proc stat file belongs to root once its
/// memory is gone, so it cannot tell.
#[test]
#[ignore = "needs root"]
fn a_zombie_of_another_user_is_that_users() {
    needs_root();
    let env = TestEnv::new("diagnose");
    let sp = ShParent::spawn_under(
        &[
            "setpriv",
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
        ],
        "sleep 0 & exec sleep 30",
        1,
    );
    let zombie = sp.zombies[0];
    let p = parent_entry(&env, sp.pid).expect("parent listed");
    let pids = env.zombies(&["list", "--pids", "--user", "65534"]).stdout();
    assert_eq!(p["zombies"][0]["uid"], 65534, "{p:#}");
    assert!(pids.lines().any(|l| l == zombie.to_string()), "{pids}");
}

/// A parent asleep in waitpid() for another child has not reaped this zombie yet, but it is
/// waiting: it may reap it when that wait returns. Never advise killing it.
#[test]
fn a_parent_blocked_in_wait_is_never_told_to_die() {
    let env = TestEnv::new("diagnose");
    let wp = WaitingParent::spawn();
    let p = parent_entry(&env, wp.pid).expect("parent listed");
    assert_eq!(p["in_wait"], true, "{p:#}");
    assert_eq!(p["zombies"][0]["pid"], wp.zombie);
    assert_ne!(p["recommended"], "kill-parent", "{p:#}");
    let list = env
        .zombies(&["list", "--parent", &wp.pid.to_string(), "--color", "never"])
        .stdout();
    assert!(list.contains("blocked in wait()"), "{list}");
    let e = json(
        &env,
        &["explain", &wp.zombie.to_string(), "--format", "json"],
    );
    let rec: Vec<&Value> = e["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["recommended"] == true)
        .collect();
    assert_eq!(rec.len(), 1, "{e:#}");
    assert_ne!(rec[0]["remedy"], "kill-parent");
    let text = env
        .zombies(&["explain", &wp.zombie.to_string(), "--color", "never"])
        .stdout();
    assert!(!text.contains("has not called wait()"), "{text}");
}

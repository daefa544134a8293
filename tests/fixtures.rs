//! Diagnosis cases the live system cannot produce on demand, read from fixture /proc trees
//! (`--proc PATH`), and PID-namespace cases run inside a fresh namespace when root.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

/// An environment with an empty fake procfs, to fill with [`FakeProc::process`].
fn fake(tag: &str) -> TestEnv {
    TestEnv::new(tag).with_fake_proc()
}

/// `zombies list --format json` over the environment's fake procfs.
fn list(env: &TestEnv) -> Value {
    env.zombies(&["list", "--format", "json"])
        .assert_json(Exit::SUCCESS)
}

const NONE: &str = NO_SIGNALS;
const CHLD: &str = SIGCHLD_MASK;

fn parent(v: &Value, pid: i64) -> Value {
    v["parents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .cloned()
        .unwrap_or_else(|| panic!("parent {pid} missing: {v}"))
}

#[test]
fn container_init_that_does_not_reap_is_fix_init() {
    let env = fake("init");
    env.proc()
        .process(1, b"systemd", 'S', 0, 0, 1)
        .process(500, b"containerd-shim", 'S', 1, 0, 1)
        .process(600, b"node", 'S', 500, 0, 1)
        .status(600, CHLD, NONE, "600\t1", 0)
        .process(601, b"sh", 'Z', 600, 0x4, 1)
        .process(602, b"sh", 'Z', 600, 0x4, 1);
    let v = list(&env);
    let p = parent(&v, 600);
    // Even though it catches SIGCHLD: killing a container's init kills the container.
    assert_eq!(p["pid_ns_init"], true);
    assert_eq!(p["recommended"], "fix-init");
    assert_eq!(p["cgroup"], "/docker/abc123");
    assert_eq!(v["summary"]["zombies"], 2);
    assert_eq!(v["summary"]["pid_max"], 4194304);
    let zs = p["zombies"].as_array().unwrap();
    assert_eq!(zs[0]["started_unix"], 1700000000 + 5);
}

#[test]
fn kernel_thread_parent_is_ignore() {
    let env = fake("kthread");
    env.proc()
        .process(2, b"kthreadd", 'S', 0, 0x0020_0040, 1)
        .status(2, NONE, NONE, "2", 0)
        .process(70, b"kworker/0:1", 'Z', 2, 0x0020_0044, 1);
    let p = parent(&list(&env), 2);
    assert_eq!(p["kernel_thread"], true);
    assert_eq!(p["recommended"], "ignore");
}

#[test]
fn traced_and_blocked_parent() {
    let env = fake("traced");
    env.proc()
        .process(1, b"init", 'S', 0, 0, 1)
        .process(40, b"gdb", 'S', 1, 0, 1)
        .process(41, b"app", 't', 40, 0, 1)
        .status(41, CHLD, CHLD, "41", 40)
        .process(42, b"child", 'Z', 41, 0x4, 1);
    let p = parent(&list(&env), 41);
    assert_eq!(p["traced_by"], 40);
    assert_eq!(p["sigchld"], "caught");
    assert_eq!(p["sigchld_blocked"], true);
    assert_eq!(p["recommended"], "kill-parent");
    assert_eq!(p["adopter"]["pid"], 1);
}

#[test]
fn unreadable_or_vanished_parent_and_garbage_do_not_crash() {
    let env = fake("garbage");
    env.proc()
        .process(1, b"init", 'S', 0, 0, 1)
        // Parent 300 has a stat but no status (vanished mid-scan, or hidepid).
        .process(300, b"svc", 'S', 1, 0, 1)
        .process(301, b"\xff\xfe odd) Z (name", 'Z', 300, 0x4, 1)
        // Zombie whose parent is not in /proc at all.
        .process(400, b"lost", 'Z', 399, 0x4, 1);
    std::fs::create_dir_all(env.proc().root().join("500")).unwrap();
    std::fs::write(env.proc().root().join("500/stat"), b"500 (broken").unwrap();
    std::fs::create_dir_all(env.proc().root().join("501")).unwrap(); // no stat at all
    let v = list(&env);
    let p = parent(&v, 300);
    assert_eq!(p["sigchld"], "unknown");
    assert_eq!(p["zombies"][0]["comm"], "\u{fffd}\u{fffd} odd) Z (name");
    let lost = parent(&v, 399);
    assert_eq!(lost["comm"], "?");
    assert_eq!(v["summary"]["zombies"], 2);
    for args in [
        vec!["list"],
        vec!["tree"],
        vec!["explain", "301"],
        vec!["explain", "399"],
    ] {
        let out = env.zombies(&args);
        assert!(out.code().is_some(), "{args:?} crashed");
        assert!(!out.stderr().contains("panicked"), "{}", out.report());
    }
    // A PID with no /proc entry is a clean error.
    env.zombies(&["explain", "399"]).assert_exit(Exit::FAILURE);
}

#[test]
fn zl_leader_in_fixture_is_not_counted() {
    let env = fake("zl");
    env.proc()
        .process(1, b"init", 'S', 0, 0, 1)
        .process(90, b"java", 'Z', 1, 0x4, 12);
    let v = list(&env);
    assert_eq!(v["summary"]["zombies"], 0);
    let e = env
        .zombies(&["explain", "90", "--format", "json"])
        .assert_json(Exit::SUCCESS);
    assert_eq!(e["kind"], "exited-main-thread");
    assert_eq!(e["threads"], 12);
}

/// In a fresh PID namespace, PID 1 is `sleep`, which never reaps: its two `true` children stay
/// zombies, and `zombies list` (run inside) must call for a real init. Everything dies with
/// the namespace.
#[test]
#[ignore = "needs root"]
fn pid1_of_a_namespace_that_does_not_reap_is_fix_init() {
    needs_root();
    let env =
        TestEnv::new("pid1").with_pid_ns(PidNs::spawn("/bin/true & /bin/true & exec sleep 60"));
    let init = env.ns().init;
    assert!(
        wait_until(Duration::from_secs(5), || zombie_children(init).len() == 2),
        "PID 1 of the namespace did not get its two zombies"
    );
    let v = env
        .zombies(&["list", "--format", "json"])
        .assert_json(Exit::SUCCESS);
    let p = parent(&v, 1);
    assert_eq!(p["comm"], "sleep");
    assert_eq!(p["pid_ns_init"], true);
    assert_eq!(p["recommended"], "fix-init");
    assert_eq!(p["zombies"].as_array().unwrap().len(), 2, "{v}");
    assert!(
        p["zombies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|z| z["comm"] == "true")
    );
    // Alone in the namespace: sleep, zombies itself and the two zombies.
    assert_eq!(v["summary"]["processes"], 4, "{v}");
}

/// Runs the binary as nobody (with `groups`), in a private mount namespace where a procfs with
/// `options` is mounted on the environment's `proc` directory, and `--proc` that directory.
/// The mount dies with the command.
fn as_nobody_under(env: &TestEnv, options: &str, groups: &str, args: &[&str]) -> Run {
    let dir = env.path("proc");
    std::fs::create_dir_all(&dir).unwrap();
    let groups = if groups.is_empty() {
        "--clear-groups".to_string()
    } else {
        format!("--groups={groups}")
    };
    let script = format!(
        "mount -t proc -o {options} proc {d} && exec setpriv --reuid=65534 --regid=65534 {groups} \"$@\"",
        d = dir.display()
    );
    env.command()
        .wrapper(&["unshare", "--mount", "sh", "-c", &script, "sh"])
        .arg("--proc")
        .arg(&dir)
        .args(args)
        .limit(Duration::from_secs(20))
        .run()
}

fn zombie_pids(list: &Value) -> Vec<i64> {
    list["parents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["zombies"].as_array().unwrap().iter())
        .map(|z| z["pid"].as_i64().unwrap())
        .collect()
}

/// With hidepid, a user outside the mount's gid= group cannot see (invisible) or read
/// (noaccess) other users' processes. A root-owned zombie then disappears from their view:
/// check must not say OK but UNKNOWN with the reason and the remedy, list must say on stderr
/// what it cannot see, and "PIDs in use" must not be the count of what is visible. A member of
/// the group sees the zombie again.
#[test]
#[ignore = "needs root: mounts a procfs in a private mount namespace and runs as nobody"]
fn hidepid_makes_check_unknown_and_list_say_what_it_cannot_see() {
    needs_root();
    let env = TestEnv::new("hidepid").with_parent(Spec::default());
    let zombie = i64::from(env.parent().zombies[0]);
    for mode in ["invisible", "noaccess", "2", "ptraceable"] {
        let opts = format!("hidepid={mode},gid=4321");
        let out = as_nobody_under(
            &env,
            &opts,
            "",
            &["check", "--state", "/nonexistent/s.json"],
        );
        let out = out.assert_exit(Exit::CHECK_UNKNOWN);
        let line = out.stdout();
        assert!(
            line.starts_with("ZOMBIES UNKNOWN: cannot see every process: ")
                && line.contains(&format!(
                    "hidepid={}",
                    if mode == "2" { "invisible" } else { mode }
                ))
                && line.contains("uid 65534")
                && line.contains("run the check as root"),
            "{mode}: {line}"
        );
        if mode != "ptraceable" {
            assert!(
                line.contains("add the user to group 4321"),
                "{mode}: {line}"
            );
        }

        let out = as_nobody_under(&env, &opts, "", &["list", "--format", "json"])
            .assert_exit(Exit::SUCCESS);
        let v = out.json();
        assert!(
            !zombie_pids(&v).contains(&zombie),
            "{mode}: root's zombie visible?"
        );
        let err = out.stderr();
        assert_eq!(err.matches("note: ").count(), 1, "{mode}: {err}");
        assert!(
            err.contains("hidepid=") && err.contains("not shown"),
            "{mode}: {err}"
        );
        // nobody has no zombies of its own: the table cannot say there are none at all.
        let out = as_nobody_under(&env, &opts, "", &["list"]);
        assert!(
            out.stdout()
                .starts_with("No zombies among the processes you can see."),
            "{mode}: {}",
            out.stdout()
        );
        // The kernel's count of every task, not the few processes nobody can see.
        let s = &v["summary"];
        assert_eq!(s["pids_in_use_source"], "loadavg", "{mode}: {s}");
        assert!(
            s["pids_in_use"].as_u64().unwrap() > s["processes"].as_u64().unwrap(),
            "{mode}: {s}"
        );

        if mode != "ptraceable" {
            // A member of gid= sees everything: root's zombie is back, check judges.
            let v = as_nobody_under(&env, &opts, "4321", &["list", "--format", "json"]).json();
            assert!(zombie_pids(&v).contains(&zombie), "{mode}: {v}");
            assert_eq!(v["summary"]["pids_in_use_source"], "scan");
            let out = as_nobody_under(
                &env,
                &opts,
                "4321",
                &["check", "--state", "/nonexistent/s.json"],
            );
            assert_ne!(out.code(), Some(3), "{mode}: {}", out.report());
        }
    }
}

#[test]
fn known_subreaper_ancestor_is_the_likely_adopter() {
    let env = fake("subreaper");
    env.proc()
        .process(1, b"systemd", 'S', 0, 0, 1)
        .process(900, b"systemd", 'S', 1, 0, 1) // a user manager: a subreaper
        .process(950, b"bash", 'S', 900, 0, 1)
        .process(960, b"app", 'S', 950, 0, 1)
        .status(960, NONE, NONE, "960", 0)
        .process(961, b"job", 'Z', 960, 0x4, 1);
    let p = parent(&list(&env), 960);
    assert_eq!(p["adopter"]["pid"], 900);
    assert!(p["adopter"]["note"].as_str().unwrap().contains("subreaper"));
}

/// When PID 1 itself sits on zombies it has not reaped, killing another parent would only
/// move that parent's zombies to it: the advice is to fix the init, not to kill.
#[test]
fn kill_parent_gives_way_when_the_adopter_is_a_stuck_init() {
    let env = fake("stuckinit");
    env.proc()
        .process(1, b"app-init", 'S', 0, 0, 1)
        .status(1, NONE, NONE, "1", 0)
        .process(5, b"orphan-z", 'Z', 1, 0x4, 1)
        .process(2, b"worker", 'S', 1, 0, 1)
        .status(2, NONE, NONE, "2", 0)
        .process(3, b"job", 'Z', 2, 0x4, 1)
        .process(4, b"job", 'Z', 2, 0x4, 1);
    let v = list(&env);
    assert_eq!(parent(&v, 1)["recommended"], "fix-init");
    let w = parent(&v, 2);
    assert_eq!(w["adopter"]["pid"], 1);
    assert_eq!(w["recommended"], "fix-init", "{w:#}");
    assert!(
        w["reason"].as_str().unwrap().contains("fix the init first"),
        "{w:#}"
    );
}

/// A --proc tree that is not a live procfs (a copy, a bind mount someone else can write to)
/// may hold a FIFO where `PID/stat` should be, or a symlink to a device: list and check must
/// still finish, skip those entries unread and say so, and check must not say OK.
#[test]
fn fifo_or_device_in_a_proc_tree_never_blocks() {
    let env = fake("fifo");
    env.proc()
        .process(1, b"init", 'S', 0, 0, 1)
        .process(300, b"svc", 'S', 1, 0, 1)
        .status(300, NONE, NONE, "300", 0)
        .process(301, b"job", 'Z', 300, 0x4, 1);
    for pid in ["7", "8", "9"] {
        std::fs::create_dir_all(env.proc().root().join(pid)).unwrap();
    }
    nix::unistd::mkfifo(
        &env.proc().root().join("7/stat"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/zero", env.proc().root().join("8/stat")).unwrap();
    std::fs::create_dir(env.proc().root().join("9/stat")).unwrap();
    // The parent's status read by list is a FIFO too.
    std::fs::remove_file(env.proc().root().join("300/status")).unwrap();
    nix::unistd::mkfifo(
        &env.proc().root().join("300/status"),
        nix::sys::stat::Mode::S_IRWXU,
    )
    .unwrap();
    let within = |args: &[&str]| {
        env.command()
            .args(args)
            .limit(Duration::from_secs(10))
            .run()
    };

    let out = within(&["list", "--format", "json"]).assert_exit(Exit::SUCCESS);
    let v = out.json();
    assert_eq!(v["summary"]["zombies"], 1, "{v}");
    assert_eq!(parent(&v, 300)["sigchld"], "unknown");
    let err = out.stderr();
    assert!(
        err.contains("3 process entries under")
            && err.contains("/7/stat")
            && err.contains("not a live procfs"),
        "{err}"
    );

    for args in [vec!["tree"], vec!["explain", "301"]] {
        within(&args).assert_exit(Exit::SUCCESS);
    }

    let out = within(&["check", "--state", "/nonexistent/zombies-tests/state.json"])
        .assert_exit(Exit::CHECK_UNKNOWN);
    let line = out.stdout();
    assert!(
        line.starts_with("ZOMBIES UNKNOWN: 3 process entries under ")
            && line.contains("not a live procfs"),
        "{line}"
    );
}

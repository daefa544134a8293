//! Diagnosis cases the live system cannot produce on demand, read from fixture /proc trees
//! (`--proc PATH`), and PID-namespace cases run inside a fresh namespace when root.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// A fixture procfs in a temporary directory, removed on Drop.
struct FakeProc {
    root: PathBuf,
}

impl FakeProc {
    fn new(tag: &str) -> FakeProc {
        let root =
            std::env::temp_dir().join(format!("zombies-fakeproc-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("sys/kernel")).unwrap();
        std::fs::write(root.join("sys/kernel/pid_max"), "4194304\n").unwrap();
        std::fs::write(root.join("stat"), "cpu  1 2 3\nbtime 1700000000\n").unwrap();
        FakeProc { root }
    }

    /// Adds a process: its stat line from the main fields, and optional status lines.
    fn process(
        &self,
        pid: i32,
        comm: &[u8],
        state: char,
        ppid: i32,
        flags: u32,
        threads: i64,
    ) -> &Self {
        let dir = self.root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let mut line = format!("{pid} (").into_bytes();
        line.extend_from_slice(comm);
        line.extend_from_slice(
            format!(
                ") {state} {ppid} {pid} {pid} 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 {threads} 0 500 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 256\n"
            )
            .as_bytes(),
        );
        std::fs::write(dir.join("stat"), line).unwrap();
        self
    }

    fn status(&self, pid: i32, sigcgt: &str, sigblk: &str, nspid: &str, tracer: i32) -> &Self {
        let status = format!(
            "Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t1\nTracerPid:\t{tracer}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nNStgid:\t{nspid}\nNSpid:\t{nspid}\nNSpgid:\t{nspid}\nNSsid:\t{nspid}\nThreads:\t1\nSigQ:\t0/1000\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t{sigblk}\nSigIgn:\t0000000000000000\nSigCgt:\t{sigcgt}\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nSpeculation_Store_Bypass:\tvulnerable\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n"
        );
        std::fs::write(self.root.join(pid.to_string()).join("status"), status).unwrap();
        std::fs::write(
            self.root.join(pid.to_string()).join("cgroup"),
            "0::/docker/abc123\n",
        )
        .unwrap();
        self
    }

    fn list(&self) -> Value {
        json(&[
            "list",
            "--format",
            "json",
            "--proc",
            self.root.to_str().unwrap(),
        ])
    }

    fn path(&self) -> &Path {
        &self.root
    }
}

impl Drop for FakeProc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

const NONE: &str = "0000000000000000";
const CHLD: &str = "0000000000010000";

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
    let f = FakeProc::new("init");
    f.process(1, b"systemd", 'S', 0, 0, 1)
        .process(500, b"containerd-shim", 'S', 1, 0, 1)
        .process(600, b"node", 'S', 500, 0, 1)
        .status(600, CHLD, NONE, "600\t1", 0)
        .process(601, b"sh", 'Z', 600, 0x4, 1)
        .process(602, b"sh", 'Z', 600, 0x4, 1);
    let v = f.list();
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
    let f = FakeProc::new("kthread");
    f.process(2, b"kthreadd", 'S', 0, 0x0020_0040, 1)
        .status(2, NONE, NONE, "2", 0)
        .process(70, b"kworker/0:1", 'Z', 2, 0x0020_0044, 1);
    let p = parent(&f.list(), 2);
    assert_eq!(p["kernel_thread"], true);
    assert_eq!(p["recommended"], "ignore");
}

#[test]
fn traced_and_blocked_parent() {
    let f = FakeProc::new("traced");
    f.process(1, b"init", 'S', 0, 0, 1)
        .process(40, b"gdb", 'S', 1, 0, 1)
        .process(41, b"app", 't', 40, 0, 1)
        .status(41, CHLD, CHLD, "41", 40)
        .process(42, b"child", 'Z', 41, 0x4, 1);
    let p = parent(&f.list(), 41);
    assert_eq!(p["traced_by"], 40);
    assert_eq!(p["sigchld"], "caught");
    assert_eq!(p["sigchld_blocked"], true);
    assert_eq!(p["recommended"], "kill-parent");
    assert_eq!(p["adopter"]["pid"], 1);
}

#[test]
fn unreadable_or_vanished_parent_and_garbage_do_not_crash() {
    let f = FakeProc::new("garbage");
    f.process(1, b"init", 'S', 0, 0, 1)
        // Parent 300 has a stat but no status (vanished mid-scan, or hidepid).
        .process(300, b"svc", 'S', 1, 0, 1)
        .process(301, b"\xff\xfe odd) Z (name", 'Z', 300, 0x4, 1)
        // Zombie whose parent is not in /proc at all.
        .process(400, b"lost", 'Z', 399, 0x4, 1);
    std::fs::create_dir_all(f.path().join("500")).unwrap();
    std::fs::write(f.path().join("500/stat"), b"500 (broken").unwrap();
    std::fs::create_dir_all(f.path().join("501")).unwrap(); // no stat at all
    let v = f.list();
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
        let out = run(zombies().args(&args).arg("--proc").arg(f.path()));
        assert!(out.status.code().is_some(), "{args:?} crashed");
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    // A PID with no /proc entry is a clean error.
    let out = run(zombies()
        .args(["explain", "399"])
        .arg("--proc")
        .arg(f.path()));
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn zl_leader_in_fixture_is_not_counted() {
    let f = FakeProc::new("zl");
    f.process(1, b"init", 'S', 0, 0, 1)
        .process(90, b"java", 'Z', 1, 0x4, 12);
    let v = f.list();
    assert_eq!(v["summary"]["zombies"], 0);
    let e = json(&[
        "explain",
        "90",
        "--format",
        "json",
        "--proc",
        f.path().to_str().unwrap(),
    ]);
    assert_eq!(e["kind"], "exited-main-thread");
    assert_eq!(e["threads"], 12);
}

/// In a fresh PID namespace, PID 1 is `sleep`, which never reaps: its two `true` children stay
/// zombies, and `zombies list` (another child) must call for a real init. Everything dies with
/// the namespace when the sleep ends.
#[test]
#[ignore = "needs root"]
fn pid1_of_a_namespace_that_does_not_reap_is_fix_init() {
    needs_root();
    become_subreaper();
    let bin = env!("CARGO_BIN_EXE_zombies");
    let dir = TempDir::new("pid1");
    // PID 1 (sleep) keeps the namespace alive and cannot be signalled from inside, so the test
    // reads list's one JSON object (no EOF comes while unshare holds the pipe), then ends it
    // all by killing unshare (--kill-child).
    let mut ns = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c"])
        .arg(format!(
            "(\"$W\" 1 2 && exec {bin} list --format json) & /bin/true & /bin/true & exec sleep 60 >/dev/null"
        ))
        .env("W", wait_zombies_script(&dir))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("run unshare");
    let first = serde_json::Deserializer::from_reader(ns.stdout.take().unwrap())
        .into_iter::<Value>()
        .next();
    // The namespace's PID 1 dies with unshare and comes to us, the subreaper: reap it too.
    let init = children_of(ns.id() as i32);
    let _ = ns.kill();
    let _ = ns.wait();
    for pid in init {
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    }
    let v = first
        .expect("list printed nothing")
        .expect("list printed bad JSON");
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
/// `options` is mounted on `dir`, and `--proc dir`. The mount dies with the command.
fn as_nobody_under(options: &str, dir: &Path, groups: &str, args: &[&str]) -> std::process::Output {
    let bin = env!("CARGO_BIN_EXE_zombies");
    let groups = if groups.is_empty() {
        "--clear-groups".to_string()
    } else {
        format!("--groups={groups}")
    };
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--mount", "sh", "-c"])
        .arg(format!(
            "mount -t proc -o {options} proc {d} && exec setpriv --reuid=65534 --regid=65534 {groups} \"$@\"",
            d = dir.display()
        ))
        .args(["sh", bin, "--proc"])
        .arg(dir)
        .args(["--ignore-file", "/nonexistent/zombies-tests/ignore.toml"])
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    output_within(cmd, std::time::Duration::from_secs(20))
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
    let zp = ZombieParent::spawn(Spec::default());
    let zombie = i64::from(zp.zombies[0]);
    let tmp = TempDir::new("hidepid");
    for mode in ["invisible", "noaccess", "2", "ptraceable"] {
        let opts = format!("hidepid={mode},gid=4321");
        let out = as_nobody_under(
            &opts,
            tmp.dir(),
            "",
            &["check", "--state", "/nonexistent/s.json"],
        );
        let line = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{mode}: {line} {}",
            stderr(&out)
        );
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

        let out = as_nobody_under(&opts, tmp.dir(), "", &["list", "--format", "json"]);
        assert_eq!(out.status.code(), Some(0), "{mode}: {}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            !zombie_pids(&v).contains(&zombie),
            "{mode}: root's zombie visible?"
        );
        let err = stderr(&out);
        assert_eq!(err.matches("note: ").count(), 1, "{mode}: {err}");
        assert!(
            err.contains("hidepid=") && err.contains("not shown"),
            "{mode}: {err}"
        );
        // nobody has no zombies of its own: the table cannot say there are none at all.
        let out = as_nobody_under(&opts, tmp.dir(), "", &["list"]);
        assert!(
            stdout(&out).starts_with("No zombies among the processes you can see."),
            "{mode}: {}",
            stdout(&out)
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
            let out = as_nobody_under(&opts, tmp.dir(), "4321", &["list", "--format", "json"]);
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(zombie_pids(&v).contains(&zombie), "{mode}: {v}");
            assert_eq!(v["summary"]["pids_in_use_source"], "scan");
            let out = as_nobody_under(
                &opts,
                tmp.dir(),
                "4321",
                &["check", "--state", "/nonexistent/s.json"],
            );
            assert_ne!(out.status.code(), Some(3), "{mode}: {}", stdout(&out));
        }
    }
}

#[test]
fn known_subreaper_ancestor_is_the_likely_adopter() {
    let f = FakeProc::new("subreaper");
    f.process(1, b"systemd", 'S', 0, 0, 1)
        .process(900, b"systemd", 'S', 1, 0, 1) // a user manager: a subreaper
        .process(950, b"bash", 'S', 900, 0, 1)
        .process(960, b"app", 'S', 950, 0, 1)
        .status(960, NONE, NONE, "960", 0)
        .process(961, b"job", 'Z', 960, 0x4, 1);
    let p = parent(&f.list(), 960);
    assert_eq!(p["adopter"]["pid"], 900);
    assert!(p["adopter"]["note"].as_str().unwrap().contains("subreaper"));
}

/// When PID 1 itself sits on zombies it has not reaped, killing another parent would only
/// move that parent's zombies to it: the advice is to fix the init, not to kill.
#[test]
fn kill_parent_gives_way_when_the_adopter_is_a_stuck_init() {
    let f = FakeProc::new("stuckinit");
    f.process(1, b"app-init", 'S', 0, 0, 1)
        .status(1, NONE, NONE, "1", 0)
        .process(5, b"orphan-z", 'Z', 1, 0x4, 1)
        .process(2, b"worker", 'S', 1, 0, 1)
        .status(2, NONE, NONE, "2", 0)
        .process(3, b"job", 'Z', 2, 0x4, 1)
        .process(4, b"job", 'Z', 2, 0x4, 1);
    let v = f.list();
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
    let f = FakeProc::new("fifo");
    f.process(1, b"init", 'S', 0, 0, 1)
        .process(300, b"svc", 'S', 1, 0, 1)
        .status(300, NONE, NONE, "300", 0)
        .process(301, b"job", 'Z', 300, 0x4, 1);
    for pid in ["7", "8", "9"] {
        std::fs::create_dir_all(f.path().join(pid)).unwrap();
    }
    nix::unistd::mkfifo(&f.path().join("7/stat"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    std::os::unix::fs::symlink("/dev/zero", f.path().join("8/stat")).unwrap();
    std::fs::create_dir(f.path().join("9/stat")).unwrap();
    // The parent's status read by list is a FIFO too.
    std::fs::remove_file(f.path().join("300/status")).unwrap();
    nix::unistd::mkfifo(&f.path().join("300/status"), nix::sys::stat::Mode::S_IRWXU).unwrap();
    let root = f.path().to_str().unwrap();
    let within = |args: &[&str]| {
        let mut cmd = zombies();
        cmd.args(args).args(["--proc", root]);
        output_within(cmd, std::time::Duration::from_secs(10))
    };

    let out = within(&["list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["summary"]["zombies"], 1, "{v}");
    assert_eq!(parent(&v, 300)["sigchld"], "unknown");
    let err = stderr(&out);
    assert!(
        err.contains("3 process entries under")
            && err.contains("/7/stat")
            && err.contains("not a live procfs"),
        "{err}"
    );

    for args in [vec!["tree"], vec!["explain", "301"]] {
        let out = within(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }

    let out = within(&["check", "--state", "/nonexistent/zombies-tests/state.json"]);
    let line = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(
        line.starts_with("ZOMBIES UNKNOWN: 3 process entries under ")
            && line.contains("not a live procfs"),
        "{line}"
    );
}

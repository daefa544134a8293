//! Safety rules found in review: a hostile process name must not switch off a refusal, and a
//! zombie whose parent reaps it a moment later must not get that parent killed.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::time::Duration;

use common::*;

/// A fresh PID namespace whose PID 1 is named `ini\xfft` (sleep run through a symlink of that
/// name) and holds two zombies, in a TestEnv. Needs root.
fn odd_init() -> TestEnv {
    let env = TestEnv::new("safety");
    let odd = env.root().join(std::ffi::OsStr::from_bytes(b"ini\xfft"));
    let sleep = ["/usr/bin/sleep", "/bin/sleep"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("sleep(1) installed");
    std::os::unix::fs::symlink(sleep, &odd).unwrap();
    let ns = PidNs::spawn_with(
        "/bin/true & /bin/true & exec \"$ODD\" 60",
        &[("ODD", odd.as_os_str())],
    );
    let init = ns.init;
    assert!(
        wait_until(Duration::from_secs(5), || {
            std::fs::read(format!("/proc/{init}/comm")).is_ok_and(|c| c == b"ini\xfft\n")
                && zombie_children(init).len() == 2
        }),
        "PID 1 of the namespace did not become ini\\xfft with two zombies"
    );
    env.with_pid_ns(ns)
}

#[test]
#[ignore = "needs root"]
fn container_init_with_a_non_utf8_name_is_still_refused() {
    needs_root();
    let env = odd_init();
    let init = env.ns().init;
    let pid = init.to_string();
    // Seen from the host, as the machine's monitoring would.
    let host = TestEnv::new("safety");
    let v = host
        .zombies(&["list", "--format", "json", "--parent", &pid])
        .assert_json(Exit::SUCCESS);
    assert_eq!(
        v["summary"]["zombies"], 2,
        "the namespace init's two zombies never showed"
    );
    let p = &v["parents"][0];
    assert_eq!(p["comm"], "ini\u{fffd}t");
    assert_eq!(p["pid_ns_init"], true, "{p:#}");
    assert_eq!(p["recommended"], "fix-init");
    assert_ne!(p["sigchld"], "unknown", "status was lost: {p:#}");

    let out = host.zombies(&[
        "fix",
        "--kill-parent",
        "--parent",
        &pid,
        "--yes",
        "--grace",
        "100ms",
        "--timeout",
        "200ms",
        "--force",
        "--format",
        "json",
    ]);
    let r = out.assert_json(Exit::FAILURE);
    assert_eq!(r["parents"][0]["refusal"], "namespace-init", "{r:#}");
    assert_untouched(init);
    assert_eq!(
        proc_state(init),
        Some('S'),
        "the namespace init was signalled"
    );
}

/// A monitor must never read "no zombies" from a directory that is not a procfs (a missing
/// bind mount of the host's /proc), nor a result it could not deliver.
#[test]
fn check_is_unknown_when_it_cannot_see_or_say() {
    let env = TestEnv::new("notproc");
    let empty = env.path("empty");
    std::fs::create_dir(&empty).unwrap();
    let empty = empty.to_str().unwrap();
    let out = env
        .zombies(&["check", "--proc", empty])
        .assert_exit(Exit::CHECK_UNKNOWN);
    assert!(
        out.stdout().starts_with("ZOMBIES UNKNOWN: no processes in"),
        "{}",
        out.stdout()
    );
    let out = env
        .zombies(&["list", "--proc", empty])
        .assert_exit(Exit::FAILURE);
    assert!(out.stderr().contains("not a procfs"), "{}", out.stderr());

    // stdout that cannot be written: the monitor got nothing, so UNKNOWN, not WARNING (1).
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let cmd = env.command().arg("check");
    let out = cmd.command().stdout(full).output().expect("run zombies");
    Run::new(cmd.describe(), out).assert_exit(Exit::CHECK_UNKNOWN);

    // --output into a directory that does not exist: an error, not a new directory.
    let missing = env.path("empty/no/such/dir/zombies.prom");
    env.command()
        .args(["check", "--format", "prometheus", "--output"])
        .arg(&missing)
        .run()
        .assert_exit(Exit::CHECK_UNKNOWN);
    assert!(
        !env.path("empty/no").exists(),
        "check created the missing directory"
    );
}

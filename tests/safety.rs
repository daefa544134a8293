//! Safety rules found in review: a hostile process name must not switch off a refusal, and a
//! zombie whose parent reaps it a moment later must not get that parent killed.

mod common;

use std::time::Duration;

use common::*;
use nix::unistd::{ForkResult, Pid, fork};
use serde_json::Value;

/// A fresh PID namespace whose PID 1 is named `ini\xfft` and holds two zombies. Drop kills
/// that init, which takes the namespace and its zombies with it, and reaps the helper.
struct OddInit {
    helper: i32,
    init: i32,
}

impl OddInit {
    fn spawn() -> OddInit {
        become_subreaper();
        let (rd, wr) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        // SAFETY: the helper and the init make only raw system calls until they exit.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => unsafe {
                if nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWPID).is_err() {
                    libc::_exit(2);
                }
                match fork() {
                    Ok(ForkResult::Child) => {
                        libc::prctl(libc::PR_SET_NAME, c"ini\xfft".as_ptr());
                        for _ in 0..2 {
                            if let Ok(ForkResult::Child) = fork() {
                                libc::_exit(3);
                            }
                        }
                        let _ = nix::unistd::write(&wr, &[1u8]);
                        loop {
                            libc::pause();
                        }
                    }
                    Ok(ForkResult::Parent { child }) => {
                        let _ = nix::unistd::write(&wr, &child.as_raw().to_ne_bytes());
                        let _ = nix::sys::wait::waitpid(child, None);
                        libc::_exit(0)
                    }
                    Err(_) => libc::_exit(1),
                }
            },
            ForkResult::Parent { child } => {
                drop(wr);
                let mut buf = [0u8; 5];
                let mut got = 0;
                while got < 5 {
                    match nix::unistd::read(&rd, &mut buf[got..]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                }
                let init = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let guard = OddInit {
                    helper: child.as_raw(),
                    init,
                };
                assert_eq!(got, 5, "the namespace helper did not start");
                guard
            }
        }
    }
}

impl Drop for OddInit {
    fn drop(&mut self) {
        // The helper reaps the init and exits. Killing the helper first would hand the dying
        // init to the host's PID 1 (subreapers are not searched across PID namespaces).
        let _ = nix::sys::signal::kill(Pid::from_raw(self.init), nix::sys::signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(Pid::from_raw(self.helper), None);
    }
}

#[test]
#[ignore = "needs root"]
fn container_init_with_a_non_utf8_name_is_still_refused() {
    needs_root();
    let ns = OddInit::spawn();
    let pid = ns.init.to_string();
    let listed = wait_until(Duration::from_secs(5), || {
        let v = json(&["list", "--format", "json", "--parent", &pid]);
        v["summary"]["zombies"] == 2
    });
    assert!(listed, "the namespace init's two zombies never showed");
    let v = json(&["list", "--format", "json", "--parent", &pid]);
    let p = &v["parents"][0];
    assert_eq!(p["comm"], "ini\u{fffd}t");
    assert_eq!(p["pid_ns_init"], true, "{p:#}");
    assert_eq!(p["recommended"], "fix-init");
    assert_ne!(p["sigchld"], "unknown", "status was lost: {p:#}");

    let out = run(zombies().args([
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
    ]));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(r["parents"][0]["refusal"], "namespace-init", "{r:#}");
    assert_eq!(
        proc_state(ns.init),
        Some('S'),
        "the namespace init was signalled"
    );
}

/// A monitor must never read "no zombies" from a directory that is not a procfs (a missing
/// bind mount of the host's /proc), nor a result it could not deliver.
#[test]
fn check_is_unknown_when_it_cannot_see_or_say() {
    let empty = TempDir::new("notproc");
    let out = run(zombies().args(["check", "--proc", &empty.arg("")]));
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("ZOMBIES UNKNOWN: no processes in"),
        "{}",
        stdout(&out)
    );
    let out = run(zombies().args(["list", "--proc", &empty.arg("")]));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not a procfs"), "{}", stderr(&out));

    // stdout that cannot be written: the monitor got nothing, so UNKNOWN, not WARNING (1).
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = run(zombies().arg("check").stdout(full));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));

    // --output into a directory that does not exist: an error, not a new directory.
    let missing = empty.path("no/such/dir/zombies.prom");
    let out = run(zombies()
        .args(["check", "--format", "prometheus", "--output"])
        .arg(&missing));
    assert_eq!(out.status.code(), Some(3));
    assert!(
        !empty.path("no").exists(),
        "check created the missing directory"
    );
}

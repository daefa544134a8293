//! Issue 3: `zombies fix` and `zombies ignore`, on real processes. A test only ever targets
//! processes it made with --parent or --pid; every scenario that could touch other processes
//! (--all, PID 1) runs in its own PID namespace (unshare/nsenter, as root).

mod common;

use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::*;
use nix::sys::wait::waitpid;
use serde_json::Value;

/// `zombies fix ARGS --format json` in `env`, asserting its exit code: the parsed report.
fn fix_json(env: &TestEnv, args: &[&str], want: Exit) -> Value {
    fix_json_cmd(env.command(), args, want)
}

/// The same, through `cmd` (another environment, a namespace).
fn fix_json_cmd(cmd: Cmd, args: &[&str], want: Exit) -> Value {
    cmd.arg("fix")
        .args(args)
        .args(["--format", "json"])
        .run()
        .assert_json(want)
}

/// `zombies fix ARGS` for people.
fn fix_text(env: &TestEnv, args: &[&str]) -> Run {
    env.command()
        .arg("fix")
        .args(args)
        .args(["--color", "never"])
        .run()
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

/// The PIDs of `v["parents"][0]["zombies"]` that fix reports cleared.
fn cleared_pids(p: &Value) -> Vec<i64> {
    sorted(
        p["zombies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|z| z["cleared"] == true)
            .map(|z| z["pid"].as_i64().unwrap())
            .collect(),
    )
}

/// The signals fix reports sending to a parent, in order.
fn signals_sent(p: &Value) -> Vec<&str> {
    p["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signal"].as_str().unwrap())
        .collect()
}

/// Reaps `pids` as soon as they have been adopted by this test process (the subreaper).
/// Reaps nothing else: never waitpid(-1), which would steal other tests' children.
fn reap_when_adopted(pids: Vec<i32>) -> JoinHandle<Vec<i32>> {
    std::thread::spawn(move || {
        let me = std::process::id() as i32;
        let mut reaped = Vec::new();
        wait_until(Duration::from_secs(20), || {
            for &z in &pids {
                if !reaped.contains(&z)
                    && proc_ppid(z) == Some(me)
                    && waitpid(nix::unistd::Pid::from_raw(z), None).is_ok()
                {
                    reaped.push(z);
                }
            }
            reaped.len() == pids.len()
        });
        reaped
    })
}

/// An environment whose commands run in `ns` (root only).
fn ns_env(ns: PidNs) -> TestEnv {
    TestEnv::new("fix").with_pid_ns(ns)
}

// ---------------------------------------------------------------------------------------
// --signal-parent

#[test]
fn nudge_fails_honestly_when_the_parent_never_reaps() {
    let env = TestEnv::new("fix").with_parent(Spec {
        zombies: 2,
        ..Spec::default()
    });
    let zp = env.parent();
    let pid = zp.pid.to_string();
    let start = Instant::now();
    let v = fix_json(
        &env,
        &[
            "--signal-parent",
            "--parent",
            &pid,
            "--yes",
            "--timeout",
            "300ms",
        ],
        Exit::FAILURE,
    );
    assert!(start.elapsed() >= Duration::from_millis(300));
    let p = &v["parents"][0];
    assert_eq!(p["outcome"], "remaining");
    assert_eq!(p["cleared"], 0);
    assert_eq!(p["elapsed_ms"], Value::Null);
    let next = p["next"].as_str().unwrap();
    assert!(
        next.contains(&format!("zombies fix --kill-parent --parent {pid}")),
        "{next}"
    );
    assert!(next.contains("default"), "{next}");
    for &z in &zp.zombies {
        assert!(ZombieParent::is_zombie(z));
    }
    // For people: the count, the PIDs still there, and the next step.
    let out = fix_text(
        &env,
        &[
            "--signal-parent",
            "--parent",
            &pid,
            "--yes",
            "--timeout",
            "100ms",
        ],
    )
    .assert_exit(Exit::FAILURE);
    let text = out.stdout();
    assert!(text.contains("cleared 0 of 2 zombies"), "{text}");
    assert!(
        text.contains("next:") && text.contains("--kill-parent"),
        "{text}"
    );
    assert!(text.contains(&zp.zombies[0].to_string()), "{text}");
}

#[test]
fn nudge_on_blocked_sigchld_says_so() {
    let env = TestEnv::new("fix").with_parent(Spec {
        sigchld: Sigchld::Blocked,
        ..Spec::default()
    });
    let zp = env.parent();
    let v = fix_json(
        &env,
        &[
            "--signal-parent",
            "--parent",
            &zp.pid.to_string(),
            "--yes",
            "--timeout",
            "200ms",
        ],
        Exit::FAILURE,
    );
    let next = v["parents"][0]["next"].as_str().unwrap();
    assert!(
        next.contains("blocked") && next.contains("--kill-parent"),
        "{next}"
    );
}

#[test]
fn stopped_parent_is_continued_then_cleared() {
    let env = TestEnv::new("fix").with_parent(Spec {
        sigchld: Sigchld::CaughtReaps,
        stopped: true,
        ..Spec::default()
    });
    let zp = env.parent();
    assert_eq!(proc_state(zp.pid), Some('T'));
    let v = fix_json(
        &env,
        &["--signal-parent", "--parent", &zp.pid.to_string(), "--yes"],
        Exit::SUCCESS,
    );
    let p = &v["parents"][0];
    let sent = signals_sent(p);
    assert_eq!(sent, ["SIGCONT", "SIGCHLD"]);
    assert_eq!(p["outcome"], "cleared");
    assert!(!ZombieParent::is_zombie(zp.zombies[0]));
    assert!(
        wait_until(Duration::from_secs(2), || proc_state(zp.pid) == Some('S')),
        "parent not running again"
    );
}

#[test]
fn pid_target_acts_on_the_zombies_parent_and_auto_picks_the_nudge() {
    let env = TestEnv::new("fix").with_parent(Spec {
        sigchld: Sigchld::CaughtReaps,
        zombies: 2,
        ..Spec::default()
    });
    let zp = env.parent();
    let v = fix_json(
        &env,
        &["--auto", "--pid", &zp.zombies[1].to_string(), "--yes"],
        Exit::SUCCESS,
    );
    assert_eq!(v["remedy"], "auto");
    let p = &v["parents"][0];
    assert_eq!(p["pid"], zp.pid);
    assert_eq!(p["remedy"], "signal-parent");
    assert_eq!(p["cleared"], 2, "all of the parent's zombies are targeted");
}

#[test]
fn without_pidfds_the_start_time_check_still_works() {
    let env = TestEnv::new("fix").with_parent(Spec {
        sigchld: Sigchld::CaughtReaps,
        ..Spec::default()
    });
    let zp = env.parent();
    let v = fix_json_cmd(
        env.command().env("ZOMBIES_NO_PIDFD", "1"),
        &["--signal-parent", "--yes", "--parent", &zp.pid.to_string()],
        Exit::SUCCESS,
    );
    assert_eq!(v["parents"][0]["outcome"], "cleared");
}

// ---------------------------------------------------------------------------------------
// --kill-parent

/// fix reports who adopted the zombies of the parent it killed (here this test process, a
/// subreaper) and that the adopter reaped them. The test reaps them only once fix has looked:
/// fix runs under ptrace, and once a wait of fix has returned after the parent's death, fix
/// has checked every process it watches and read the adopter before its next wait begins,
/// which is when the test reaps. A pause would only guess how long fix takes to look.
#[test]
#[cfg(target_arch = "x86_64")]
fn kill_parent_hands_the_zombies_to_a_subreaper_that_reaps() {
    use common::trace::{Children, Stop, run_traced};
    let env = TestEnv::new("fix").with_parent(Spec {
        zombies: 2,
        ..Spec::default()
    });
    let zp = env.parent();
    let me = std::process::id() as i32;
    let cmd = env.command().args([
        "fix",
        "--kill-parent",
        "--parent",
        &zp.pid.to_string(),
        "--yes",
        "--format",
        "json",
    ]);
    let mut parent_seen_dead = false;
    let mut reaped: Vec<i32> = Vec::new();
    let (_, out) = run_traced(&cmd, env.root(), Children::Untraced, |stop| match stop {
        Stop::Exit(c) if c.is_wait() => {
            parent_seen_dead |= proc_state(zp.pid) == Some('Z');
        }
        Stop::Entry(c) if c.is_wait() && parent_seen_dead => {
            for &z in &zp.zombies {
                if !reaped.contains(&z)
                    && proc_ppid(z) == Some(me)
                    && waitpid(nix::unistd::Pid::from_raw(z), None).is_ok()
                {
                    reaped.push(z);
                }
            }
        }
        _ => {}
    });
    let v = out.assert_json(Exit::SUCCESS);
    let p = &v["parents"][0];
    assert_eq!(p["outcome"], "cleared");
    assert_eq!(p["exited"]["signal"], "SIGTERM");
    assert_eq!(p["signals"][0]["signal"], "SIGTERM");
    assert_eq!(
        p["adopter"]["pid"], me,
        "the test process adopted them: {p:#}"
    );
    assert_eq!(p["adopter"]["namespace_init"], false);
    assert_eq!(p["adopter"]["reaped"], true);
    assert_eq!(
        sorted(reaped.iter().map(|&z| z as i64).collect()),
        cleared_pids(p)
    );
    assert_eq!(
        proc_state(zp.pid),
        Some('Z'),
        "the parent died (and awaits our wait)"
    );
}

#[test]
fn kill_parent_escalates_to_sigkill_after_the_grace_time() {
    // The shell ignores SIGTERM; exec keeps it ignored in sleep.
    let sp = ShParent::spawn("trap '' TERM; sleep 0 & sleep 0 & exec sleep 60", 2);
    let env = TestEnv::new("fix");
    let reaper = reap_when_adopted(sp.zombies.clone());
    let start = Instant::now();
    let v = fix_json(
        &env,
        &[
            "--kill-parent",
            "--parent",
            &sp.pid.to_string(),
            "--yes",
            "--grace",
            "300ms",
        ],
        Exit::SUCCESS,
    );
    reaper.join().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300));
    let p = &v["parents"][0];
    let sent = signals_sent(p);
    assert_eq!(sent, ["SIGTERM", "SIGKILL"]);
    assert_eq!(p["exited"]["signal"], "SIGKILL");
    assert!(p["signals"][1]["at_ms"].as_u64().unwrap() >= 300);
    assert_eq!(p["outcome"], "cleared");
}

#[test]
#[ignore = "needs root"]
fn kill_parent_with_an_adopter_that_never_reaps_says_fix_init() {
    needs_root();
    let (ns, victim) = PidNs::with_a_victim();
    let env = ns_env(ns);
    let inner = ns_pid(victim).unwrap().to_string();
    let v = fix_json(
        &env,
        &[
            "--kill-parent",
            "--parent",
            &inner,
            "--yes",
            "--timeout",
            "300ms",
        ],
        Exit::FAILURE,
    );
    let p = &v["parents"][0];
    assert_eq!(p["outcome"], "remaining");
    assert_eq!(p["exited"]["signal"], "SIGTERM");
    assert_eq!(p["adopter"]["pid"], 1);
    assert_eq!(p["adopter"]["comm"], "sleep");
    assert_eq!(p["adopter"]["namespace_init"], true);
    assert_eq!(p["adopter"]["reaped"], false);
    let next = p["next"].as_str().unwrap();
    assert!(next.contains("fix-init"), "{next}");
    // And for people.
    let text = fix_text(&env, &["--auto", "--all", "--yes"]).stdout();
    assert!(text.contains("fix-init"), "{text}");
    // The advice clears them now, without killing that PID 1.
    let now = "zombies fix --reap --parent 1";
    assert!(next.contains(now), "{next}");
    let v = fix_json(
        &env,
        &["--reap", "--parent", "1", "--yes", "--min-age", "0s"],
        Exit::SUCCESS,
    );
    assert_eq!(v["parents"][0]["outcome"], "cleared", "{v:#}");
    assert_eq!(
        v["parents"][0]["cleared"], v["parents"][0]["total"],
        "{v:#}"
    );
}

// ---------------------------------------------------------------------------------------
// Safety

#[test]
fn dry_run_changes_nothing() {
    let env = TestEnv::new("fix").with_parent(Spec {
        zombies: 2,
        ..Spec::default()
    });
    let zp = env.parent();
    let pid = zp.pid.to_string();
    let v = fix_json(
        &env,
        &["--kill-parent", "--parent", &pid, "--dry-run"],
        Exit::SUCCESS,
    );
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["executed"], false);
    assert_eq!(v["parents"][0]["outcome"], "planned");
    assert_eq!(v["parents"][0]["signals"].as_array().unwrap().len(), 0);
    let out = fix_text(
        &env,
        &["--kill-parent", "--parent", &pid, "--dry-run", "--yes"],
    )
    .assert_exit(Exit::SUCCESS);
    let text = out.stdout();
    assert!(
        text.contains("SIGTERM") && text.contains("Dry run"),
        "{text}"
    );
    assert_untouched(zp.pid);
    for &z in &zp.zombies {
        assert!(ZombieParent::is_zombie(z));
    }
}

#[test]
fn no_terminal_and_no_yes_refuses() {
    let env = TestEnv::new("fix").with_parent(Spec::default());
    let zp = env.parent();
    let out = fix_text(&env, &["--kill-parent", "--parent", &zp.pid.to_string()])
        .assert_exit(Exit::USAGE);
    let err = out.stderr();
    assert!(
        err.contains("not a terminal") && err.contains("--yes"),
        "{err}"
    );
    assert!(out.stdout().is_empty());
    assert_untouched(zp.pid);
}

/// Opens a pseudo-terminal and runs fix with it as stdin, answering `answer`.
fn fix_on_terminal(env: &TestEnv, args: &[&str], answer: &str) -> Run {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    let slave: OwnedFd = pty.slave;
    let cmd = env
        .command()
        .arg("fix")
        .args(args)
        .args(["--color", "never"]);
    let child = cmd
        .command()
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    nix::unistd::write(&pty.master, answer.as_bytes()).expect("answer");
    let out = child.wait_with_output().expect("wait");
    drop(pty.master);
    Run::new(cmd.describe(), out)
}

#[test]
fn on_a_terminal_it_shows_the_plan_and_asks() {
    let env = TestEnv::new("fix").with_parent(Spec {
        sigchld: Sigchld::CaughtReaps,
        ..Spec::default()
    });
    let zp = env.parent();
    let pid = zp.pid.to_string();
    let out = fix_on_terminal(&env, &["--signal-parent", "--parent", &pid], "n\n")
        .assert_exit(Exit::FAILURE);
    let err = out.stderr();
    assert!(err.contains("Plan:") && err.contains("SIGCHLD"), "{err}");
    assert!(
        err.contains("Proceed? [y/N]") && err.contains("Nothing done"),
        "{err}"
    );
    assert!(
        ZombieParent::is_zombie(zp.zombies[0]),
        "answered no, yet acted"
    );

    let out = fix_on_terminal(&env, &["--signal-parent", "--parent", &pid], "y\n")
        .assert_exit(Exit::SUCCESS);
    assert!(
        out.stdout().contains("cleared 1 of 1 zombie"),
        "{}",
        out.stdout()
    );
    assert!(!ZombieParent::is_zombie(zp.zombies[0]));
}

#[test]
fn a_recycled_pid_is_never_signalled() {
    use zombies::testing::{
        self as remedy, Choice, Context, IgnoreList, ProcFs, Request, Target, diagnose,
    };

    let env = TestEnv::new("fix").with_parent(Spec::default());
    let zp = env.parent();
    let fs = ProcFs::open(std::path::Path::new("/proc")).unwrap();
    let snap = fs.scan().unwrap();
    let ctx = Context::current(&snap);
    let diag = diagnose(&snap, &ctx, &mut Default::default());
    let req = Request {
        choice: Choice::KillParent,
        target: Target::Parent(zp.pid),
        force: false,
        grace: Duration::from_millis(100),
        timeout: Duration::from_millis(100),
        settle: Duration::ZERO,
        ignore_same_user: false,
        ignore_note: None,
        prefer_reap: false,
        min_age: Duration::ZERO,
    };
    let mut ignore = IgnoreList::default();
    let mut plan = remedy::plan(&snap, &diag, &ctx, &req, &ignore, &Default::default()).unwrap();
    // As if the diagnosed process had died and another had taken its PID.
    plan.parents[0].finding.start_ticks += 1;
    remedy::execute(&mut plan, &fs, &req, &mut ignore).unwrap();
    let p = &plan.parents[0];
    assert!(p.signals.is_empty(), "{:?}", p.signals);
    // The error as fix reports it (its JSON says it in words).
    let v = serde_json::to_value(&plan).unwrap();
    let err = v["parents"][0]["error"].as_str().unwrap();
    assert!(
        err.contains("no longer") && err.contains("nothing was sent"),
        "{err}"
    );
    assert!(!plan.success);
    assert!(alive(zp.pid), "the process now on that PID was signalled");
}

#[test]
fn force_never_unlocks_an_ancestor() {
    become_subreaper();
    // `timeout` holds two zombies and runs (through sh) the zombies process that targets it.
    let env = TestEnv::new("ancestor");
    let script = "sleep 0 & sleep 0 & exec timeout 20 sh -c '\"$W\" $PPID 2 && exec \"$Z\" fix --kill-parent --parent $PPID --yes --force --format json'";
    let mut sh = Command::new("sh");
    sh.args(["-c", script])
        .env_clear()
        .envs(env.command().envs().iter().map(|(k, v)| (k, v)))
        .env("W", wait_zombies_script(env.dir()))
        .env("Z", bin());
    let v = Run::new(
        "sh (timeout (zombies fix --parent timeout))",
        output_within(sh, Duration::from_secs(30)),
    )
    .assert_json(Exit::FAILURE);
    let p = &v["parents"][0];
    assert_eq!(p["comm"], "timeout");
    assert_eq!(p["outcome"], "refused");
    assert_eq!(p["refusal"], "ancestor");
    assert!(p["reason"].as_str().unwrap().contains("ancestor"));
    // timeout exited with its command; its zombies came to us: reap them.
    for c in children_of(std::process::id() as i32) {
        if proc_state(c) == Some('Z')
            && p["zombies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|z| z["pid"] == c)
        {
            let _ = waitpid(nix::unistd::Pid::from_raw(c), None);
        }
    }
}

#[test]
fn critical_services_need_force() {
    let env = TestEnv::new("fix-critical");
    let cron = env.path("cron");
    std::os::unix::fs::symlink("/usr/bin/sleep", &cron).unwrap();
    let sp = ShParent::spawn(
        &format!("sleep 0 & sleep 0 & exec {} 60", cron.display()),
        2,
    );
    let pid = sp.pid.to_string();
    let v = fix_json(
        &env,
        &["--kill-parent", "--parent", &pid, "--yes"],
        Exit::FAILURE,
    );
    let p = &v["parents"][0];
    assert_eq!(p["comm"], "cron");
    assert_eq!(p["refusal"], "critical");
    assert!(p["reason"].as_str().unwrap().contains("--force"));
    assert!(alive(sp.pid));

    let reaper = reap_when_adopted(sp.zombies.clone());
    let v = fix_json(
        &env,
        &["--kill-parent", "--parent", &pid, "--yes", "--force"],
        Exit::SUCCESS,
    );
    reaper.join().unwrap();
    assert_eq!(v["parents"][0]["outcome"], "cleared");
}

#[test]
#[ignore = "needs root"]
fn pid_one_is_refused_even_with_force() {
    needs_root();
    let env = ns_env(PidNs::spawn("sleep 0 & sleep 0 & exec sleep 60"));
    let init = env.ns().init;
    let two_zombies = || zombie_children(init).len() == 2;
    assert!(wait_until(Duration::from_secs(5), two_zombies));
    for remedy in ["--kill-parent", "--signal-parent"] {
        let v = fix_json(
            &env,
            &[remedy, "--parent", "1", "--yes", "--force"],
            Exit::FAILURE,
        );
        let p = &v["parents"][0];
        assert_eq!(p["pid"], 1);
        assert_eq!(p["outcome"], "refused");
        assert_eq!(p["refusal"], "namespace-init");
        assert!(p["reason"].as_str().unwrap().contains("PID 1"));
    }
    // --all skips it too and says why.
    let out = fix_text(&env, &["--kill-parent", "--all", "--yes"]).assert_exit(Exit::FAILURE);
    let text = out.stdout();
    assert!(
        text.contains("refused") && text.contains("PID 1 of its PID namespace"),
        "{text}"
    );
    // A signal fix had sent it would be pending, or acted on: no pause needed to see it.
    assert_untouched(init);
    assert_eq!(
        proc_state(init),
        Some('S'),
        "PID 1 of the namespace was hurt"
    );
}

#[test]
#[ignore = "needs root"]
fn all_skips_its_own_ancestor_and_fixes_the_rest() {
    needs_root();
    // In a fresh namespace: PID 1 is a shell that reaps. Its child (the victim) holds two
    // zombies and never reaps. Another child, `timeout`, holds two zombies and is an ancestor
    // of the zombies process that runs --all.
    let script = r#"
        (sleep 0 & sleep 0 & exec sleep 60) &
        "$W" $! 2 || exit 1
        sh -c 'sleep 0 & sleep 0 & exec timeout 20 sh -c "\"\$W\" \$PPID 2 && exec $Z fix --all --kill-parent --yes --format json"'
        exit $?
    "#;
    become_subreaper();
    let env = TestEnv::new("all-ancestor");
    let mut cmd = unshare(script);
    cmd.envs(env.command().envs().iter().map(|(k, v)| (k, v)))
        .env("Z", bin())
        .env("W", wait_zombies_script(env.dir()));
    let v = Run::new(
        "unshare (timeout (zombies fix --all))",
        output_within(cmd, Duration::from_secs(60)),
    )
    .assert_json(Exit::FAILURE);
    let parents = v["parents"].as_array().unwrap();
    let by_comm = |c: &str| {
        parents
            .iter()
            .find(|p| p["comm"] == c)
            .unwrap_or_else(|| panic!("no {c} in {v:#}"))
    };
    let victim = by_comm("sleep");
    assert_eq!(victim["outcome"], "cleared", "{victim:#}");
    assert_eq!(victim["total"], 2);
    let ancestor = by_comm("timeout");
    assert_eq!(ancestor["outcome"], "refused");
    assert_eq!(ancestor["refusal"], "ancestor");
    assert_eq!(ancestor["signals"].as_array().unwrap().len(), 0);
    assert_eq!(v["summary"]["refused"], 1);
}

#[test]
fn bad_targets_are_explained() {
    let env = TestEnv::new("fix");
    // PIDs above pid_max never exist.
    let out = fix_text(
        &env,
        &["--signal-parent", "--parent", "2147483647", "--yes"],
    )
    .assert_exit(Exit::FAILURE);
    assert!(
        out.stderr().contains("no process with PID 2147483647"),
        "{}",
        out.stderr()
    );
    let me = std::process::id().to_string();
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let sl = sleeper.id().to_string();
    let out =
        fix_text(&env, &["--signal-parent", "--parent", &sl, "--yes"]).assert_exit(Exit::FAILURE);
    assert!(
        out.stderr().contains("holds no zombies"),
        "{}",
        out.stderr()
    );
    let out =
        fix_text(&env, &["--signal-parent", "--pid", &sl, "--yes"]).assert_exit(Exit::FAILURE);
    assert!(out.stderr().contains("is not a zombie"), "{}", out.stderr());
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    for args in [
        &["--signal-parent", "--parent", "abc"][..],
        &["--signal-parent", "--parent", &me, "--kill-parent"],
        &["--signal-parent"],
        &["--kill-parent", "--all", "--grace", "5"],
        &["--kill-parent", "--all", "--note", "x"],
    ] {
        fix_text(&env, args).assert_exit(Exit::USAGE);
    }
}

#[test]
#[ignore = "needs root"]
fn permission_denied_names_the_process_and_the_uid() {
    needs_root();
    let env = TestEnv::new("fix").with_parent(Spec::default());
    let zp = env.parent();
    let start = Instant::now();
    let out = env
        .command()
        .wrapper(&[
            "setpriv",
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
        ])
        .env("PATH", "/usr/bin:/bin")
        .args([
            "fix",
            "--kill-parent",
            "--yes",
            "--color",
            "never",
            "--parent",
        ])
        .arg(zp.pid.to_string())
        .run();
    let out = out.assert_exit(Exit::FAILURE);
    let text = out.stdout();
    assert!(
        text.contains(&format!("cannot signal {} (", zp.pid))
            && text.contains("operation not permitted; run as root or as uid 0"),
        "{text}"
    );
    assert!(alive(zp.pid));
    assert!(
        text.contains("nothing was sent") && start.elapsed() < Duration::from_secs(4),
        "waited out the timeout although nothing was sent: {text}"
    );
}

// ---------------------------------------------------------------------------------------
// --ignore and `zombies ignore`

#[test]
fn ignore_records_the_parent_and_list_honours_it() {
    let env = TestEnv::new("fix").with_parent(Spec::default());
    let zp = env.parent();
    let file = env.ignore_file();
    let file_s = file.to_str().unwrap();
    let pid = zp.pid.to_string();
    let listed = |extra: &[&str]| -> bool {
        let v = env
            .zombies(
                &[
                    &[
                        "list",
                        "--format",
                        "json",
                        "--parent",
                        &pid,
                        "--ignore-file",
                        file_s,
                    ],
                    extra,
                ]
                .concat(),
            )
            .assert_json(Exit::SUCCESS);
        !v["parents"].as_array().unwrap().is_empty()
    };
    assert!(listed(&[]));

    let v = fix_json(
        &env,
        &[
            "--ignore",
            "--parent",
            &pid,
            "--yes",
            "--note",
            "test fixture",
            "--ignore-file",
            file_s,
        ],
        Exit::SUCCESS,
    );
    assert_eq!(v["parents"][0]["outcome"], "ignored");
    assert_eq!(v["ignore_file"], file_s);
    assert!(
        alive(zp.pid) && ZombieParent::is_zombie(zp.zombies[0]),
        "ignore sent a signal"
    );
    assert!(!listed(&[]), "list still shows an ignored parent");
    assert!(listed(&["--all"]), "list --all must show ignored parents");

    // Again: already there, nothing to confirm, still success.
    let v = fix_json(
        &env,
        &["--ignore", "--parent", &pid, "--ignore-file", file_s],
        Exit::SUCCESS,
    );
    assert!(
        v["parents"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("already")
    );

    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    let exe = exe.to_str().unwrap();
    let v = env
        .zombies(&[
            "ignore",
            "list",
            "--format",
            "json",
            "--ignore-file",
            file_s,
        ])
        .assert_json(Exit::SUCCESS);
    assert_eq!(v["file"], file_s);
    assert_eq!(v["entries"][0]["exe"], exe);
    assert_eq!(v["entries"][0]["note"], "test fixture");
    let text = env
        .zombies(&[
            "ignore",
            "list",
            "--color",
            "never",
            "--ignore-file",
            file_s,
        ])
        .stdout();
    assert!(
        text.contains(exe) && text.contains("test fixture"),
        "{text}"
    );

    let out = env
        .zombies(&["ignore", "remove", "no-such-entry", "--ignore-file", file_s])
        .assert_exit(Exit::FAILURE);
    assert!(
        out.stderr().contains("zombies ignore list"),
        "{}",
        out.stderr()
    );
    let out = env
        .zombies(&["ignore", "remove", exe, "--ignore-file", file_s])
        .assert_exit(Exit::SUCCESS);
    assert!(out.stdout().contains("Removed 1 entry"), "{}", out.stdout());
    assert!(listed(&[]));
    let text = env
        .zombies(&["ignore", "list", "--ignore-file", file_s])
        .stdout();
    assert!(text.contains("is empty"), "{text}");
}

#[test]
#[ignore = "needs root"]
fn all_leaves_ignored_parents_alone() {
    needs_root();
    let (ns, victim) = PidNs::with_a_victim();
    let env = ns_env(ns);
    let file = env.ignore_file();
    std::fs::write(&file, "[[ignore]]\ncomm = \"sleep\"\n").unwrap();
    let v = fix_json(
        &env,
        &[
            "--kill-parent",
            "--all",
            "--yes",
            "--ignore-file",
            file.to_str().unwrap(),
        ],
        Exit::SUCCESS,
    );
    assert_eq!(v["parents"].as_array().unwrap().len(), 0);
    assert_eq!(v["summary"]["skipped_ignored"], 1);
    assert!(alive(victim));
}

// ---------------------------------------------------------------------------------------
// Issue 17

/// A zombie its tracer holds cannot be cleared through its parent, which here is even
/// waiting for it: fix refuses to signal that parent and names the tracer instead.
#[test]
fn a_zombie_held_by_a_tracer_is_refused_and_the_tracer_named() {
    let env = TestEnv::new("fix");
    let t = Traced::spawn(TraceTarget::Zombie);
    let (z, p, tracer) = (
        t.zombie.to_string(),
        t.parent.to_string(),
        t.tracer.to_string(),
    );
    for remedy in ["--kill-parent", "--signal-parent"] {
        let v = fix_json(
            &env,
            &[remedy, "--pid", &z, "--yes", "--settle", "0s"],
            Exit::FAILURE,
        );
        let r = &v["parents"][0];
        assert_eq!(r["outcome"], "refused", "{r:#}");
        assert_eq!(r["refusal"], "held-by-tracer", "{r:#}");
        assert!(r["reason"].as_str().unwrap().contains(&tracer), "{r:#}");
        assert_eq!(r["signals"].as_array().unwrap().len(), 0);
    }
    let v = fix_json(
        &env,
        &["--auto", "--parent", &p, "--yes", "--settle", "0s"],
        Exit::FAILURE,
    );
    let r = &v["parents"][0];
    assert_eq!(r["remedy"], "detach-tracer", "{r:#}");
    assert_eq!(r["outcome"], "advised", "{r:#}");
    assert_eq!(r["signals"].as_array().unwrap().len(), 0);
    let text = fix_text(&env, &["--auto", "--pid", &z, "--dry-run"]).stdout();
    assert!(
        text.contains(&format!("kill {tracer}")) && !text.contains("SIGTERM"),
        "{text}"
    );
    assert_eq!(
        proc_state(t.parent),
        Some('S'),
        "the waiting parent was hurt"
    );
    assert!(ZombieParent::is_zombie(t.zombie));
}

/// In a namespace whose PID 1 sits on a zombie it never reaps, explain's diagnosis and its
/// kill-parent remedy agree: the adopter does not reap (one verdict, said everywhere).
#[test]
#[ignore = "needs root"]
fn explain_agrees_with_itself_about_an_init_that_does_not_reap() {
    let env = ns_env(PidNs::spawn(
        "sleep 0 & (sleep 0 & sleep 0 & exec sleep 60) & exec sleep 60",
    ));
    let init = env.ns().init;
    let mut victim = 0;
    assert!(wait_until(Duration::from_secs(5), || {
        victim = children_of(init)
            .into_iter()
            .find(|&c| proc_state(c) == Some('S'))
            .unwrap_or(0);
        victim > 0 && zombie_children(victim).len() == 2 && zombie_children(init).len() == 1
    }));
    let inner = ns_pid(victim).unwrap().to_string();
    let text = env
        .zombies(&["explain", &inner, "--color", "never"])
        .stdout();
    assert!(
        text.contains("not reaping") && !text.contains("should reap"),
        "explain contradicts itself: {text}"
    );
    let e = env.zombies(&["explain", &inner, "--format", "json"]).json();
    assert_eq!(e["parent"]["adopter"]["pid"], 1, "{e:#}");
    assert_eq!(e["parent"]["adopter"]["verdict"], "not-reaping", "{e:#}");
    assert_eq!(e["parent"]["recommended"], "fix-init", "{e:#}");
    let kill = e["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["remedy"] == "kill-parent")
        .unwrap();
    let effect = kill["effect"].as_str().unwrap();
    assert!(
        effect.contains("not reaping") && !effect.contains("should reap"),
        "{effect}"
    );
    let recommended: Vec<&Value> = e["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["recommended"] == true)
        .collect();
    assert_eq!(recommended.len(), 1, "{e:#}");
    assert_eq!(recommended[0]["remedy"], "fix-init");
    // fix's plan says the same.
    let plan = fix_text(&env, &["--kill-parent", "--parent", &inner, "--dry-run"]).stdout();
    assert!(
        plan.contains("not reaping") && !plan.contains("should then be adopted and reaped"),
        "{plan}"
    );
}

/// A zombie child of this test process, reaped on Drop.
struct OwnZombie(i32);

impl OwnZombie {
    fn spawn() -> OwnZombie {
        // SAFETY: the child only exits.
        match unsafe { nix::unistd::fork() }.expect("fork") {
            nix::unistd::ForkResult::Child => unsafe { libc::_exit(0) },
            nix::unistd::ForkResult::Parent { child } => {
                let pid = child.as_raw();
                assert!(wait_until(Duration::from_secs(5), || proc_state(pid) == Some('Z')));
                OwnZombie(pid)
            }
        }
    }
}

impl Drop for OwnZombie {
    fn drop(&mut self) {
        let _ = waitpid(nix::unistd::Pid::from_raw(self.0), None);
    }
}

/// A dry run whose plan is only advice (here: the parent is this test, an ancestor of the
/// zombies process, so the advice is ignore) exits 0 and still says it was a dry run.
#[test]
fn a_dry_run_with_only_advice_succeeds_and_says_so() {
    let env = TestEnv::new("fix");
    let z = OwnZombie::spawn();
    let me = std::process::id().to_string();
    let v = fix_json(
        &env,
        &["--auto", "--parent", &me, "--dry-run"],
        Exit::SUCCESS,
    );
    let p = &v["parents"][0];
    assert_eq!(p["outcome"], "advised", "{v:#}");
    assert_eq!(v["success"], true);
    let out = fix_text(&env, &["--auto", "--parent", &me, "--dry-run"]).assert_exit(Exit::SUCCESS);
    let text = out.stdout();
    assert!(
        text.contains("not acted on") && text.contains("Dry run:"),
        "{text}"
    );
    assert!(!text.contains("on 0 parents"), "{text}");
    // A refusal still fails the dry run.
    let out =
        fix_text(&env, &["--kill-parent", "--parent", &me, "--dry-run"]).assert_exit(Exit::FAILURE);
    assert!(out.stdout().contains("refused"), "{}", out.stdout());
    assert!(ZombieParent::is_zombie(z.0));
}

/// The ignore-list entries in `file`, as `zombies ignore list --format json` gives them.
fn ignore_entries(env: &TestEnv, file: &str) -> Vec<Value> {
    env.zombies(&["ignore", "list", "--format", "json", "--ignore-file", file])
        .assert_json(Exit::SUCCESS)["entries"]
        .as_array()
        .unwrap()
        .clone()
}

/// An entry keyed by executable hides every parent running it: fix says which other parents
/// there are now that the entry would also hide, before writing it (and in a dry run).
#[test]
fn ignore_names_the_other_parents_its_entry_also_hides() {
    let env = TestEnv::new("ignore-also").with_parent(Spec::default());
    let a = env.parent();
    let b = ZombieParent::spawn(Spec {
        zombies: 2,
        ..Spec::default()
    });
    let file = env.arg("ignore.toml");
    let pid = a.pid.to_string();
    let v = fix_json(
        &env,
        &[
            "--ignore",
            "--parent",
            &pid,
            "--dry-run",
            "--ignore-file",
            &file,
        ],
        Exit::SUCCESS,
    );
    let also = v["parents"][0]["also_hides"]
        .as_array()
        .unwrap_or_else(|| panic!("no also_hides: {v:#}"));
    let other = also
        .iter()
        .find(|h| h["pid"] == b.pid)
        .unwrap_or_else(|| panic!("{} not named: {v:#}", b.pid));
    assert_eq!(other["zombies"], 2);
    assert!(other["comm"].is_string());
    assert!(also.iter().all(|h| h["pid"] != a.pid), "{v:#}");
    let text = fix_text(
        &env,
        &[
            "--ignore",
            "--parent",
            &pid,
            "--dry-run",
            "--ignore-file",
            &file,
        ],
    )
    .stdout();
    assert!(
        text.contains("also hides") && text.contains(&format!("{} (", b.pid)),
        "{text}"
    );
    assert!(!env.ignore_file().exists(), "a dry run wrote the list");
    // And when it writes the entry, it says so again.
    let text = fix_text(
        &env,
        &[
            "--ignore",
            "--parent",
            &pid,
            "--yes",
            "--ignore-file",
            &file,
        ],
    )
    .stdout();
    assert!(
        text.contains("also hides") && text.contains(&format!("{} (", b.pid)),
        "{text}"
    );
}

/// Interpreters are keyed by command line: a second script of the same shell gets its own
/// entry, and removing one script's entry leaves the other's alone.
#[test]
fn ignore_keeps_one_entry_per_script_of_an_interpreter() {
    // The child exits once the shell has stopped ($$ names the shell in a subshell too), so
    // no shell can reap it first: a stopped shell stays, holding one zombie.
    let script = |tag: &str| {
        format!("(until grep -q ') T ' /proc/$$/stat; do sleep 0.01; done) & kill -STOP $$ # {tag}")
    };
    let a = ShParent::spawn(&script("script a"), 1);
    let b = ShParent::spawn(&script("script b"), 1);
    let env = TestEnv::new("ignore-scripts");
    let file = env.arg("ignore.toml");
    let listed = |pid: i32| -> bool {
        let v = env
            .zombies(&[
                "list",
                "--format",
                "json",
                "--parent",
                &pid.to_string(),
                "--ignore-file",
                &file,
            ])
            .assert_json(Exit::SUCCESS);
        !v["parents"].as_array().unwrap().is_empty()
    };
    for p in [a.pid, b.pid] {
        let v = fix_json(
            &env,
            &[
                "--ignore",
                "--parent",
                &p.to_string(),
                "--yes",
                "--ignore-file",
                &file,
            ],
            Exit::SUCCESS,
        );
        assert_eq!(v["parents"][0]["outcome"], "ignored", "{v:#}");
        // The other script is not hidden by this script's entry.
        let also = v["parents"][0]["also_hides"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            also.iter().all(|h| h["pid"] != a.pid && h["pid"] != b.pid),
            "{v:#}"
        );
    }
    let entries = ignore_entries(&env, &file);
    assert_eq!(entries.len(), 2, "second script not written: {entries:#?}");
    assert!(!listed(a.pid) && !listed(b.pid));

    let exe = entries[0]["exe"].as_str().unwrap().to_string();
    let cmdline_a = entries
        .iter()
        .find_map(|e| e["cmdline"].as_str().filter(|c| c.contains("script a")))
        .unwrap()
        .to_string();
    // The executable alone names both scripts' entries: refuse and say how to pick one.
    let out = env
        .zombies(&["ignore", "remove", &exe, "--ignore-file", &file])
        .assert_exit(Exit::USAGE);
    assert!(out.stderr().contains("--cmdline"), "{}", out.stderr());
    assert_eq!(ignore_entries(&env, &file).len(), 2);
    let out = env
        .zombies(&[
            "ignore",
            "remove",
            &exe,
            "--cmdline",
            &cmdline_a,
            "--ignore-file",
            &file,
        ])
        .assert_exit(Exit::SUCCESS);
    assert!(out.stdout().contains("Removed 1 entry"), "{}", out.stdout());
    assert!(listed(a.pid), "script a still hidden");
    assert!(
        !listed(b.pid),
        "removing script a's entry also removed script b's"
    );
}

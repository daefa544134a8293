//! The JSON contract's version: every JSON document and every JSON line zombies prints carries
//! `"schema": 1` at its top level (documents: as their first field). Each command is run for
//! real, with something to report where it needs one (a parent holding a zombie).

mod common;

use common::*;
use serde_json::Value;

/// Asserts that a pretty-printed document opens with the schema, and returns it parsed.
#[track_caller]
fn document(run: Run) -> Value {
    let out = run.stdout();
    assert!(
        out.starts_with("{\n  \"schema\": 1,\n"),
        "the document does not open with \"schema\": 1: {}",
        run.report()
    );
    let v = run.json();
    assert_eq!(v["schema"], 1);
    v
}

/// Asserts that every line is a JSON object with `"schema": 1`; returns the lines.
#[track_caller]
fn lines(run: Run) -> Vec<Value> {
    let out = run.stdout();
    let parsed: Vec<Value> = out
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}\n{}", run.report()))
        })
        .collect();
    assert!(!parsed.is_empty(), "no lines: {}", run.report());
    for v in &parsed {
        assert_eq!(v["schema"], 1, "a line without \"schema\": 1: {v}");
    }
    parsed
}

/// The PID of a kernel thread (PF_KTHREAD): something probe-init refuses without root.
fn a_kernel_thread() -> i32 {
    all_pids()
        .into_iter()
        .find(|&p| proc_stat(p).is_some_and(|s| s.flags & 0x0020_0000 != 0))
        .expect("a kernel thread in /proc")
}

#[test]
fn every_json_document_carries_the_schema_version() {
    let env = TestEnv::new("schema").with_parent(Spec::default());
    let parent = env.parent().pid.to_string();
    let zombie = env.parent().zombies[0].to_string();

    let list = document(env.zombies(&["list", "--format", "json"]).assert_success());
    assert!(list["summary"].is_object(), "{list}");
    let explain = document(
        env.zombies(&["explain", &zombie, "--format", "json"])
            .assert_success(),
    );
    assert_eq!(
        explain["zombie"]["pid"].as_i64(),
        Some(zombie.parse().unwrap())
    );
    let plan = document(env.zombies(&[
        "fix",
        "--signal-parent",
        "--parent",
        &parent,
        "--dry-run",
        "--format",
        "json",
    ]));
    assert!(plan["parents"].is_array(), "{plan}");
    let check = document(env.zombies(&["check", "--format", "json"]));
    // The list inside check is `zombies list --format json`; the version is said once, at
    // the top.
    assert!(
        check["list"].is_object() && check["status"].is_string(),
        "{check}"
    );
    document(
        env.zombies(&["ignore", "list", "--format", "json"])
            .assert_success(),
    );
    document(
        env.zombies(&["ipc", "list", "--format", "json"])
            .assert_success(),
    );
    let probe = document(
        env.zombies(&[
            "probe-init",
            &a_kernel_thread().to_string(),
            "--format",
            "json",
        ])
        .assert_exit(Exit::PROBE_UNTESTED),
    );
    assert_eq!(probe["untested"], "kernel-thread", "{probe}");
}

#[test]
fn every_json_line_carries_the_schema_version() {
    let env = TestEnv::new("schema-lines");
    let watch = lines(
        env.zombies(&["watch", "--scan", "--for", "100ms", "--format", "json"])
            .assert_success(),
    );
    assert_eq!(watch.first().unwrap()["event"], "start");
    assert_eq!(watch.last().unwrap()["event"], "summary");
    let demo = lines(
        env.zombies(&["demo", "exit", "--format", "json"])
            .assert_success(),
    );
    assert_eq!(demo.last().unwrap()["event"], "end");
    for family in [&["demo"][..], &["ipc", "demo"][..]] {
        let listing = lines(
            env.command()
                .args(family)
                .args(["--format", "json"])
                .run()
                .assert_success(),
        );
        assert!(listing.iter().all(|l| l["event"] == "demo"));
    }
}

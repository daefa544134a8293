//! Issue 4: `zombies check`. Exact counts need a process table of our own: each scenario runs
//! in a fresh PID namespace (unshare, as root) where shell subshells hold a known number of
//! zombies, and `zombies check` runs inside it with nsenter. Other test suites share this
//! machine, so nothing here asserts on the host's own zombies.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// How a namespace test starts: an environment whose commands run in a fresh PID namespace
/// holding `parents`. These tests are `#[ignore = "needs root"]`; run by hand without root,
/// they say so.
fn ns_env(parents: &[Holder]) -> TestEnv {
    needs_root();
    TestEnv::new("check").with_pid_ns(PidNs::holding(parents))
}

/// `zombies --ignore-file IGNORE check --state STATE ARGS` in `env` (inside its namespace, if
/// any), the ignore list and the state kept in its directory.
fn check(env: &TestEnv, args: &[&str]) -> Run {
    check_cmd(env, env.command(), args)
}

/// The same, inside another namespace than the environment's.
fn check_in(env: &TestEnv, ns: &PidNs, args: &[&str]) -> Run {
    check_cmd(env, env.command().inside(ns), args)
}

fn check_cmd(env: &TestEnv, cmd: Cmd, args: &[&str]) -> Run {
    cmd.args(["--ignore-file", &env.arg("ignore.toml"), "check", "--state"])
        .arg(env.state_file())
        .args(args)
        .limit(Duration::from_secs(20))
        .run()
}

/// `zombies --proc /nonexistent check --state STATE ARGS`: a check with no process table to
/// read.
fn check_without_proc(env: &TestEnv, state: &str, args: &[&str]) -> Run {
    env.command()
        .args(["--proc", "/nonexistent", "check", "--state", state])
        .args(args)
        .run()
}

/// The `list --format json --all` of the environment's namespace.
fn list(env: &TestEnv) -> Value {
    env.zombies(&["list", "--format", "json", "--all"])
        .assert_json(Exit::SUCCESS)
}

/// The PID of the (only) parent of zombies in a namespace's list.
fn parent_pids(list: &Value) -> Vec<i64> {
    list["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_i64().unwrap())
        .collect()
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn thresholds_follow_check_procs_boundaries() {
    needs_root();
    // --warn 2 --crit 4: OK at 2, WARNING at 3 and 4, CRITICAL at 5; zero is OK.
    for (count, word, exit) in [
        (0, "OK", Exit::CHECK_OK),
        (2, "OK", Exit::CHECK_OK),
        (3, "WARNING", Exit::CHECK_WARNING),
        (4, "WARNING", Exit::CHECK_WARNING),
        (5, "CRITICAL", Exit::CHECK_CRITICAL),
    ] {
        let counts = if count == 0 { vec![] } else { vec![count] };
        let env = ns_env(&holders(&counts));
        let out = check(&env, &["--warn", "2", "--crit", "4"]);
        let line = out.stdout();
        let text = if count == 0 {
            "0 zombie processes".to_string()
        } else {
            let parent = parent_pids(&list(&env))[0];
            format!("{count} zombie processes: {count} zombies under sleep ({parent})")
        };
        assert_eq!(
            line,
            format!(
                "ZOMBIES {word}: {text} | zombies={count};2;4;0; parents={};;;0; oldest_seen=0s;;;0; max_per_parent={count};;;0;\n",
                usize::from(count > 0)
            ),
            "stderr: {}",
            out.stderr()
        );
        out.assert_exit(exit);
    }
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn zero_zombies_is_ok_even_when_the_range_alerts_on_zero() {
    let env = ns_env(&[]);
    // "3:" alerts below 3, which includes 0.
    let out = check(&env, &["--warn", "3:", "--crit", "2:"]).assert_exit(Exit::CHECK_OK);
    assert!(
        out.stdout()
            .starts_with("ZOMBIES OK: 0 zombie processes | zombies=0;3:;2:;0;")
    );
    // No zombies, nothing to remember: no state file is created.
    assert!(!env.state_file().exists());
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn defaults_names_parents_and_per_parent_warning() {
    let env = ns_env(&[
        Holder {
            zombies: 3,
            name: Some("reaperless"),
        },
        Holder {
            zombies: 1,
            name: None,
        },
    ]);
    let pids = parent_pids(&list(&env));
    // Defaults (5 / 20): 4 zombies are OK.
    let out = check(&env, &[]).assert_exit(Exit::CHECK_OK);
    assert_eq!(
        out.stdout(),
        format!(
            "ZOMBIES OK: 4 zombie processes: 3 zombies under reaperless ({}), 1 zombie under sleep ({}) | zombies=4;5;20;0; parents=2;;;0; oldest_seen=0s;;;0; max_per_parent=3;;;0;\n",
            pids[0], pids[1]
        )
    );
    let out = check(&env, &["--warn-per-parent", "2"]).assert_exit(Exit::CHECK_WARNING);
    assert!(
        out.stdout()
            .starts_with("ZOMBIES WARNING: 4 zombie processes: ")
            && out.stdout().contains(&format!(
                "; reaperless ({}) holds 3, over --warn-per-parent 2 | ",
                pids[0]
            ))
            && out.stdout().contains(" max_per_parent=3;2;;0;"),
        "{}",
        out.stdout()
    );
    // Filters as in list.
    let out = check(&env, &["--parent", &pids[1].to_string(), "--warn", "0"])
        .assert_exit(Exit::CHECK_WARNING);
    assert!(
        out.stdout()
            .starts_with("ZOMBIES WARNING: 1 zombie process: 1 zombie under sleep")
    );
    // nobody owns no zombie.
    check(&env, &["--user", "nobody", "--warn", "0"]).assert_exit(Exit::CHECK_OK);
    let v = check(&env, &["--user", "nobody", "--format", "json"]).json();
    assert_eq!(v["filtered_out"], 4);
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn ignore_list_is_honoured_and_counted() {
    let env = ns_env(&[
        Holder {
            zombies: 4,
            name: Some("tolerated"),
        },
        Holder {
            zombies: 1,
            name: None,
        },
    ]);
    std::fs::write(
        env.ignore_file(),
        "[[ignore]]\ncomm = \"tolerated\"\nnote = \"test\"\n",
    )
    .unwrap();
    let out = check(&env, &["--warn", "2", "--crit", "4"]).assert_exit(Exit::CHECK_OK);
    let line = out.stdout();
    assert!(
        line.contains("1 zombie process: 1 zombie under sleep ("),
        "{line}"
    );
    assert!(line.contains("; 4 ignored | zombies=1;2;4;0;"), "{line}");
    let prom = check(&env, &["--format", "prometheus"]).stdout();
    assert!(prom.contains("\nzombies_ignored_processes 4\n"), "{prom}");
    assert!(prom.contains("\nzombies_processes 1\n"), "{prom}");
}

/// Checks the exposition format rules we rely on, line by line.
fn assert_valid_exposition(text: &str) {
    assert!(text.ends_with('\n'), "must end with a newline");
    let mut declared: Vec<(String, bool, bool)> = Vec::new(); // name, help, type
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(
                !declared.iter().any(|d| d.0 == name),
                "HELP for {name} twice or after its samples"
            );
            declared.push((name.to_string(), true, false));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge");
            let d = declared.last_mut().expect("TYPE after HELP");
            assert_eq!(d.0, name, "TYPE must follow its HELP");
            d.2 = true;
        } else {
            assert!(!line.starts_with('#'), "unexpected comment {line}");
            let name_end = line.find(['{', ' ']).expect("name");
            let name = &line[..name_end];
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "bad metric name {name}"
            );
            let d = declared.last().expect("sample before its TYPE");
            assert!(
                d.0 == name && d.1 && d.2,
                "sample {line} not under its own family"
            );
            let rest = &line[name_end..];
            let value = if let Some(labels) = rest.strip_prefix('{') {
                // Walk the label set honouring escapes.
                let mut chars = labels.char_indices();
                let mut in_value = false;
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match (in_value, c) {
                        (true, '\\') => {
                            let (_, e) = chars.next().expect("escape");
                            assert!(matches!(e, '\\' | '"' | 'n'), "bad escape \\{e}");
                        }
                        (true, '"') => in_value = false,
                        (true, '\n') => panic!("raw newline in label value"),
                        (false, '"') => in_value = true,
                        (false, '}') => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.expect("closing brace");
                labels[end + 1..]
                    .strip_prefix(' ')
                    .expect("space before value")
            } else {
                rest.strip_prefix(' ').unwrap()
            };
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value in {line}"));
        }
    }
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn prometheus_textfile_written_atomically_with_escaped_labels() {
    // A hostile process name: quote, backslash, pipe and newline (15 bytes at most).
    let nasty = "q\"b\\s|n\nx";
    let env = ns_env(&[
        Holder {
            zombies: 2,
            name: None,
        },
        Holder {
            zombies: 1,
            name: Some(nasty),
        },
    ]);
    let pids = parent_pids(&list(&env));
    let textfiles = env.path("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    let prom = textfiles.join("zombies.prom");
    std::fs::write(&prom, "stale\n").unwrap();
    let out = check(
        &env,
        &[
            "--format",
            "prometheus",
            "--warn",
            "2",
            "--output",
            prom.to_str().unwrap(),
        ],
    )
    .assert_exit(Exit::CHECK_WARNING);
    assert_eq!(out.stdout(), "", "--output writes nothing to stdout");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_valid_exposition(&text);
    // Both holders run in this test's cgroup, whatever it names: one series for the three.
    let by_container: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("zombies_by_container{"))
        .collect();
    assert_eq!(by_container.len(), 1, "{text}");
    assert!(by_container[0].ends_with("} 3"), "{text}");
    // The host's limits hold every zombie; how full they are depends on the machine.
    let host =
        "cgroup=\"\",runtime=\"\",container_id=\"\",pod_namespace=\"\",pod_name=\"\",unit=\"\"";
    for limit in ["pid_max", "threads_max"] {
        assert!(
            text.contains(&format!(
                "zombies_pid_limit_zombies{{limit=\"{limit}\",{host}}} 3\n"
            )),
            "{text}"
        );
    }
    let samples: Vec<&str> = text
        .lines()
        .filter(|l| {
            !l.starts_with('#')
                && !l.starts_with("zombies_by_container{")
                && !l.starts_with("zombies_pid_limit_used_ratio{")
                && !l.starts_with("zombies_pid_limit_zombies{")
        })
        .collect();
    assert_eq!(
        samples,
        vec![
            "zombies_processes 3".to_string(),
            "zombies_parents 2".to_string(),
            "zombies_ignored_processes 0".to_string(),
            "zombies_oldest_seen_seconds 0".to_string(),
            format!(
                "zombies_by_parent{{parent_pid=\"{}\",parent_comm=\"sleep\"}} 2",
                pids[0]
            ),
            format!(
                "zombies_by_parent{{parent_pid=\"{}\",parent_comm=\"q\\\"b\\\\s|n\\nx\"}} 1",
                pids[1]
            ),
            // Seen from our own cgroup namespace: every limit could be looked up.
            "zombies_pid_limit_unknown_parents 0".to_string(),
            "zombies_check_status 1".to_string(),
        ]
    );
    for family in [
        "zombies_processes",
        "zombies_parents",
        "zombies_oldest_seen_seconds",
        "zombies_by_parent",
        "zombies_by_container",
        "zombies_check_status",
    ] {
        assert!(text.contains(&format!("# HELP {family} ")), "{family}");
        assert!(
            text.contains(&format!("# TYPE {family} gauge\n")),
            "{family}"
        );
    }
    // Only the target is left: the temporary file was renamed over it.
    let names: Vec<String> = std::fs::read_dir(&textfiles)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["zombies.prom"]);

    // The same hostile name stays on one Nagios line and cannot forge performance data.
    let line = check(&env, &[]).stdout();
    assert_eq!(line.lines().count(), 1, "{line:?}");
    assert_eq!(line.matches('|').count(), 1, "{line:?}");
    assert!(line.contains("under q\"b\\s\\x7cn\\nx ("), "{line:?}");
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn quiet_prints_only_problems() {
    let env = ns_env(&holders(&[3]));
    let out = check(&env, &["--quiet"]).assert_exit(Exit::CHECK_OK);
    assert_eq!(out.stdout(), "");
    let out = check(&env, &["--quiet", "--warn", "2"]).assert_exit(Exit::CHECK_WARNING);
    assert!(
        out.stdout()
            .starts_with("ZOMBIES WARNING: 3 zombie processes")
    );
    // --quiet silences stdout only: the textfile is still refreshed when OK.
    let prom = env.path("q.prom");
    let out = check(
        &env,
        &[
            "--quiet",
            "--format",
            "prometheus",
            "-o",
            prom.to_str().unwrap(),
        ],
    )
    .assert_exit(Exit::CHECK_OK);
    assert_eq!(out.stdout(), "");
    assert!(
        std::fs::read_to_string(prom)
            .unwrap()
            .contains("\nzombies_processes 3\n")
    );
}

/// `check --format json ARGS` in `env`, asserting its exit code: the parsed report.
fn check_json(env: &TestEnv, args: &[&str], want: Exit) -> Value {
    check_json_in(env, env.ns(), args, want)
}

/// The same, inside another namespace than the environment's.
fn check_json_in(env: &TestEnv, ns: &PidNs, args: &[&str], want: Exit) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    check_in(env, ns, &all).assert_json(want)
}

/// A section of a state file: its PID namespace and its (pid, start_ticks, first_seen_unix).
type Section = (Option<u64>, Vec<(i64, u64, u64)>);

/// The sections of a state file, each as its PID namespace and its (pid, start_ticks,
/// first_seen_unix) entries, sorted. A version 1 file (before sections) reads as one section
/// with no namespace, so tests can also run against older code.
fn state_sections(path: &Path) -> Vec<Section> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let sections = match v["version"].as_u64() {
        Some(1) => vec![v.clone()],
        _ => {
            assert_eq!(v["format"], "zombies-check-state", "{v}");
            assert_eq!(v["version"], 2, "{v}");
            v["namespaces"].as_array().unwrap().clone()
        }
    };
    let mut out: Vec<Section> = sections
        .iter()
        .map(|s| {
            let mut z: Vec<(i64, u64, u64)> = s["zombies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|z| {
                    (
                        z["pid"].as_i64().unwrap(),
                        z["start_ticks"].as_u64().unwrap(),
                        z["first_seen_unix"].as_u64().unwrap(),
                    )
                })
                .collect();
            z.sort();
            (s["pid_ns"].as_u64(), z)
        })
        .collect();
    out.sort();
    out
}

/// The entries of a state file that holds one namespace's section.
fn state_entries(path: &Path) -> Vec<(i64, u64, u64)> {
    let mut sections = state_sections(path);
    assert_eq!(sections.len(), 1, "{sections:?}");
    sections.remove(0).1
}

/// Moves every first sighting in a state file `secs` into the past: the state file is the
/// check's only clock, so this ages zombies without the test waiting for it.
fn backdate(path: &Path, secs: u64) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let sections: Vec<&mut Value> = if v.get("namespaces").is_some() {
        v["namespaces"].as_array_mut().unwrap().iter_mut().collect()
    } else {
        vec![&mut v] // version 1
    };
    for section in sections {
        for z in section["zombies"].as_array_mut().unwrap() {
            let t = z["first_seen_unix"].as_u64().unwrap();
            z["first_seen_unix"] = Value::from(t - secs);
        }
    }
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// The inode of a namespace's PID namespace (of its init).
fn ns_inode(ns: &PidNs) -> u64 {
    pid_ns_of(ns.init).expect("the namespace's init is gone")
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn state_file_ages_zombies_across_runs_and_knows_reused_pids() {
    needs_root();
    let env = TestEnv::new("check");
    let state = env.state_file();
    let first_pids;
    {
        let ns = PidNs::holding(&holders(&[2]));
        let v = check_json_in(&env, &ns, &["--max-age", "1h"], Exit::CHECK_OK);
        assert_eq!(v["status"], "ok", "{v}");
        assert_eq!(v["oldest_seen_seconds"], 0);
        assert_eq!(state_sections(&state)[0].0, Some(ns_inode(&ns)));
        let saved = state_entries(&state);
        assert_eq!(saved.len(), 2, "{saved:?}");

        // Two hours later, as far as the state file knows.
        backdate(&state, 7200);
        let saved = state_entries(&state);
        first_pids = saved.clone();
        let v = check_json_in(&env, &ns, &["--max-age", "1h"], Exit::CHECK_CRITICAL);
        assert_eq!(v["status"], "critical", "{v}");
        assert!(v["oldest_seen_seconds"].as_u64().unwrap() >= 7200, "{v}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("2 zombies seen longer than --max-age 1h"),
            "{v}"
        );
        assert_eq!(v["thresholds"]["max_age_seconds"], 3600.0);
        assert_eq!(state_entries(&state), saved, "first sightings are kept");
        let nagios = check_in(&env, &ns, &["--max-age", "1h"]).stdout();
        assert!(nagios.starts_with("ZOMBIES CRITICAL: "), "{nagios}");
        assert!(nagios.contains(" oldest_seen="), "{nagios}");
        assert!(nagios.contains("s;;3600;0; "), "{nagios}");
        // Without --max-age the same zombies are fine.
        check_in(&env, &ns, &[]).assert_exit(Exit::CHECK_OK);
    }
    // A new namespace numbers its processes the same way: same PIDs, new start times. They
    // are new zombies and must not inherit the old ages.
    let ns = PidNs::holding(&holders(&[2]));
    let out = check_in(&env, &ns, &["--format", "json", "--max-age", "1h"]);
    let v = out.json();
    let sections = state_sections(&state);
    let now = &sections
        .iter()
        .find(|s| s.0 == Some(ns_inode(&ns)))
        .expect("a section for the new namespace")
        .1;
    let pids = |e: &[(i64, u64, u64)]| e.iter().map(|z| z.0).collect::<Vec<_>>();
    assert_eq!(pids(now), pids(&first_pids), "PIDs were reused");
    for (new, old) in now.iter().zip(&first_pids) {
        assert_ne!(new.1, old.1, "start times differ");
        assert!(new.2 > old.2, "first seen again: {new:?} vs {old:?}");
    }
    out.assert_exit(Exit::CHECK_OK);
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["oldest_seen_seconds"], 0);
}

/// Two PID namespaces (a host and a container sharing /var/lib) on one state file: each keeps
/// its own first sightings, so --max-age still fires in the first after the second has run.
#[test]
#[ignore = "needs root: a PID namespace"]
fn each_pid_namespace_keeps_its_own_ages_in_a_shared_state_file() {
    needs_root();
    let env = TestEnv::new("check");
    let state = env.state_file();
    let a = PidNs::holding(&holders(&[2]));
    let b = PidNs::holding(&holders(&[1]));
    check_json_in(&env, &a, &["--max-age", "1h"], Exit::CHECK_OK);
    backdate(&state, 7200);
    // B's zombies are new to B, whatever A remembers under the same PIDs.
    let v = check_json_in(&env, &b, &["--max-age", "1h"], Exit::CHECK_OK);
    assert_eq!(v["oldest_seen_seconds"].as_u64(), Some(0), "{v}");
    // A's two hours survived B's save.
    let v = check_json_in(&env, &a, &["--max-age", "1h"], Exit::CHECK_CRITICAL);
    assert_eq!(v["status"], "critical", "{v}");
    assert!(v["oldest_seen_seconds"].as_u64().unwrap() >= 7200, "{v}");
    let sections = state_sections(&state);
    let mut want = vec![Some(ns_inode(&a)), Some(ns_inode(&b))];
    want.sort();
    assert_eq!(sections.iter().map(|s| s.0).collect::<Vec<_>>(), want);
    check_json_in(&env, &b, &["--max-age", "1h"], Exit::CHECK_OK);
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn corrupt_state_is_reset_with_a_warning() {
    let env = ns_env(&holders(&[1]));
    std::fs::write(env.state_file(), b"{\"version\": 1, \"zombies\": [tru\xff").unwrap();
    let out = check(&env, &["--max-age", "1h"]).assert_exit(Exit::CHECK_OK);
    assert!(out.stdout().starts_with("ZOMBIES OK: 1 zombie process"));
    let err = out.stderr();
    assert!(
        err.contains("warning") && err.contains("corrupt") && err.contains("state.json"),
        "{err}"
    );
    assert_eq!(state_entries(&env.path("state.json")).len(), 1);
    // The next run is quiet on stderr: the file was replaced.
    assert_eq!(check(&env, &[]).stderr(), "");
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn unwritable_state_with_max_age_is_unknown_not_silently_ok() {
    let env = ns_env(&holders(&[1]));
    // The directory is root's (0755): nobody may not write there.
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let check = |args: &[&str]| check_cmd(&env, env.command().wrapper(&nobody), args);
    let out = check(&["--max-age", "1h"]).assert_exit(Exit::CHECK_UNKNOWN);
    let line = out.stdout();
    assert!(
        line.starts_with("ZOMBIES UNKNOWN: 1 zombie process: "),
        "{line}"
    );
    assert!(
        line.contains("--max-age cannot be checked: cannot write ")
            && line.contains("state.json")
            && line.contains("--state"),
        "{line}"
    );
    // Without --max-age ages are not needed.
    let out = check(&["--quiet"]).assert_exit(Exit::CHECK_OK);
    assert_eq!(out.stdout(), "");
    let out = check(&[]);
    assert!(
        out.stdout().contains("; zombie ages not kept: "),
        "{}",
        out.stdout()
    );
    assert!(!env.state_file().exists());
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn json_shape() {
    let env = ns_env(&holders(&[3]));
    let v = check_json(
        &env,
        &["--warn", "1", "--crit", "@3:4"],
        Exit::CHECK_CRITICAL,
    );
    assert_eq!(v["status"], "critical");
    assert_eq!(v["exit_code"], 2);
    assert_eq!(v["zombies"], 3);
    assert_eq!(v["parents"], 1);
    assert_eq!(v["ignored"], 0);
    assert_eq!(v["thresholds"]["warn"], "1");
    assert_eq!(v["thresholds"]["crit"], "@3:4");
    assert_eq!(v["thresholds"]["warn_per_parent"], Value::Null);
    assert_eq!(v["seen"].as_array().unwrap().len(), 3);
    let detail = &v["list"]["parents"][0];
    assert_eq!(detail["comm"], "sleep");
    assert_eq!(detail["zombies"].as_array().unwrap().len(), 3);
    assert_eq!(detail["recommended"], "kill-parent");
    assert_eq!(v["list"]["summary"]["zombies"], 3);
}

#[test]
fn invalid_options_are_unknown_exit_3() {
    let env = TestEnv::new("check");
    let state = env.arg("state.json");
    for (args, says) in [
        (
            vec!["--warn", "10", "--crit", "5"],
            "--warn 10 is above --crit 5",
        ),
        (vec!["--warn", "abc"], "'abc' is not a threshold range"),
        (vec!["--crit", "5:3"], "starts above its end"),
        (vec!["--max-age", "10"], "without a unit"),
        (vec!["--format", "xml"], "invalid value 'xml'"),
        (vec!["--bogus"], "unexpected argument '--bogus'"),
        (vec!["--parent", "0"], "not a valid PID"),
        (vec!["--user", "no-such-user-here"], "no such user"),
        (vec!["--every", "1s"], "not provided: --output <FILE>"),
    ] {
        let out = env
            .command()
            .args(["check", "--state", &state])
            .args(&args)
            .run()
            .assert_exit(Exit::CHECK_UNKNOWN);
        let line = out.stdout();
        assert!(line.starts_with("ZOMBIES UNKNOWN: "), "{args:?}: {line}");
        assert!(line.contains(says), "{args:?}: {line}");
        assert_eq!(line.lines().count(), 1, "{args:?}: {line}");
    }
    // Help still works and exits 0; other subcommands keep clap's usual exit code.
    env.zombies(&["check", "--help"]).assert_exit(Exit::SUCCESS);
    env.zombies(&["list", "--bogus"]).assert_exit(Exit::USAGE);
    assert!(!env.state_file().exists());
}

#[test]
fn unreadable_proc_is_unknown_in_every_format() {
    let env = TestEnv::new("check");
    let state = env.arg("state.json");
    let out = check_without_proc(&env, &state, &[]).assert_exit(Exit::CHECK_UNKNOWN);
    let line = out.stdout();
    assert!(
        line.starts_with("ZOMBIES UNKNOWN: cannot open /nonexistent") && !line.contains(" | "),
        "{line}"
    );
    let out = check_without_proc(&env, &state, &["--format", "prometheus"])
        .assert_exit(Exit::CHECK_UNKNOWN);
    let text = out.stdout();
    assert_valid_exposition(&text);
    assert!(text.ends_with("\nzombies_check_status 3\n"), "{text}");
    assert!(
        !text.contains("\nzombies_processes "),
        "no made-up zero: {text}"
    );
    let out =
        check_without_proc(&env, &state, &["--format", "json"]).assert_exit(Exit::CHECK_UNKNOWN);
    let v = out.json();
    assert_eq!(v["status"], "unknown");
    assert_eq!(v["zombies"], Value::Null);
    // --quiet never hides UNKNOWN.
    let out = check_without_proc(&env, &state, &["-q"]);
    assert!(out.stdout().starts_with("ZOMBIES UNKNOWN"));
}

#[test]
fn output_that_cannot_be_written_is_unknown() {
    let env = TestEnv::new("check");
    std::fs::write(env.path("file"), "").unwrap();
    let target = env.arg("file/zombies.prom");
    let out = check_without_proc(
        &env,
        &env.arg("state.json"),
        &["--format", "prometheus", "--output", &target],
    )
    .assert_exit(Exit::CHECK_UNKNOWN);
    assert!(out.stderr().contains("zombies.prom"), "{}", out.stderr());
    // And an unknown result still lands in a writable textfile, for the alert on status 3.
    let good = env.path("ok.prom");
    check_without_proc(
        &env,
        &env.arg("state.json"),
        &["--format", "prometheus", "--output", good.to_str().unwrap()],
    )
    .assert_exit(Exit::CHECK_UNKNOWN);
    assert!(
        std::fs::read_to_string(good)
            .unwrap()
            .contains("zombies_check_status 3")
    );
}

/// An environment with a procfs tree holding PID 1 and a parent with one zombie, enough for
/// check to judge. The live system cannot be used: other suites' zombies would change the
/// verdict.
fn fixture_env() -> TestEnv {
    let env = TestEnv::new("check").with_fake_proc();
    env.proc()
        .process(1, b"init", 'S', 0, 0, 1)
        .process(40, b"app", 'S', 1, 0, 1)
        .process(41, b"job", 'Z', 40, 0, 1);
    env
}

/// `zombies --proc FIXTURE check ARGS`, killed if it blocks.
fn check_fixture(env: &TestEnv, args: &[&str]) -> Run {
    env.command()
        .arg("check")
        .args(args)
        .limit(Duration::from_secs(10))
        .run()
}

/// `--state /etc/hosts` (a typo, or --state and --output swapped) must not replace the file.
#[test]
fn a_state_path_that_is_not_ours_is_refused_and_left_alone() {
    let env = fixture_env();
    for foreign in [
        "127.0.0.1 localhost\n::1 localhost\n",
        "# HELP zombies_processes x\nzombies_processes 0\n",
        "{\"status\": \"ok\"}\n",
    ] {
        let path = env.path("hosts");
        std::fs::write(&path, foreign).unwrap();
        let out = check_fixture(&env, &["--state", path.to_str().unwrap()])
            .assert_exit(Exit::CHECK_UNKNOWN);
        let line = out.stdout();
        assert!(
            line.starts_with("ZOMBIES UNKNOWN: ")
                && line.contains("hosts is not a state file of zombies check")
                && line.contains("--state"),
            "{line}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);
    }
    // A FIFO there is refused too, at once.
    let fifo = env.path("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let out =
        check_fixture(&env, &["--state", fifo.to_str().unwrap()]).assert_exit(Exit::CHECK_UNKNOWN);
    assert!(
        out.stdout().contains("is a FIFO, not a file"),
        "{}",
        out.stdout()
    );
}

#[test]
fn a_typed_state_path_never_creates_a_directory() {
    let env = fixture_env();
    let path = env.path("no/such/dir/state.json");
    let out = check_fixture(&env, &["--state", path.to_str().unwrap()]).assert_exit(Exit::CHECK_OK);
    let line = out.stdout();
    assert!(
        line.starts_with("ZOMBIES OK: 1 zombie process: 1 zombie under app (40); zombie ages not kept: no directory ")
            && line.contains("no/such/dir for the state file"),
        "{line}"
    );
    assert!(!env.path("no").exists(), "check created the directory");
    // With --max-age the same is UNKNOWN: the ages it needs cannot be kept.
    check_fixture(
        &env,
        &["--state", path.to_str().unwrap(), "--max-age", "1h"],
    )
    .assert_exit(Exit::CHECK_UNKNOWN);
    assert!(!env.path("no").exists());
}

/// As root, a symlink planted at the state or output path must not lead the check to write
/// (or read) another file.
#[test]
fn symlinks_at_the_state_and_output_paths_are_never_followed() {
    let env = fixture_env();
    let secret = env.path("secret");
    std::fs::write(&secret, "do not touch\n").unwrap();
    let link = env.path("state.json");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let out =
        check_fixture(&env, &["--state", link.to_str().unwrap()]).assert_exit(Exit::CHECK_UNKNOWN);
    let line = out.stdout();
    assert!(line.contains("state.json is a symbolic link"), "{line}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "do not touch\n");

    // At --output the link itself is replaced by the report; its target is left alone.
    let output = env.path("zombies.prom");
    std::os::unix::fs::symlink(&secret, &output).unwrap();
    check_fixture(
        &env,
        &[
            "--state",
            &env.arg("real-state.json"),
            "--format",
            "prometheus",
            "--output",
            output.to_str().unwrap(),
        ],
    )
    .assert_exit(Exit::CHECK_OK);
    let meta = std::fs::symlink_metadata(&output).unwrap();
    assert!(meta.file_type().is_file(), "the link was replaced");
    assert!(
        std::fs::read_to_string(&output)
            .unwrap()
            .contains("zombies_processes 1\n")
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "do not touch\n");
}

/// --state and --output swapped: neither file is replaced.
#[test]
fn swapped_state_and_output_replace_nothing() {
    let env = fixture_env();
    let state = env.path("state.json");
    let prom = env.path("zombies.prom");
    check_fixture(
        &env,
        &[
            "--state",
            state.to_str().unwrap(),
            "--format",
            "prometheus",
            "--output",
            prom.to_str().unwrap(),
        ],
    )
    .assert_exit(Exit::CHECK_OK);
    let (state_before, prom_before) = (
        std::fs::read(&state).unwrap(),
        std::fs::read(&prom).unwrap(),
    );
    let out = check_fixture(
        &env,
        &[
            "--state",
            prom.to_str().unwrap(),
            "--format",
            "prometheus",
            "--output",
            state.to_str().unwrap(),
        ],
    )
    .assert_exit(Exit::CHECK_UNKNOWN);
    assert!(
        out.stderr()
            .contains("state.json is the state file of zombies check"),
        "{}",
        out.stderr()
    );
    assert_eq!(std::fs::read(&state).unwrap(), state_before);
    assert_eq!(std::fs::read(&prom).unwrap(), prom_before);
}

/// A running `zombies check --every`, killed and reaped if the test fails midway.
struct Repeating(std::process::Child);

impl Drop for Repeating {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `check --every` is a textfile exporter in one process: it rewrites the file at each tick
/// (a zombie made after it started shows up without a restart), and SIGTERM ends it at once
/// with 0 and the file whole, as a container's PID 1 must end.
#[test]
fn every_rewrites_the_file_until_sigterm() {
    let env = TestEnv::new("check");
    let prom = env.path("zombies.prom");
    let mut run = Repeating(
        env.command()
            .args(["check", "--state", &env.arg("state.json")])
            .args(["--format", "prometheus", "--warn", "1000000", "--crit"])
            .args(["1000000", "--every", "1s", "--output"])
            .arg(prom.to_str().unwrap())
            .command()
            .spawn()
            .expect("spawn zombies check --every"),
    );
    assert!(
        wait_until(Duration::from_secs(10), || prom.exists()),
        "no first file"
    );
    let zp = ZombieParent::spawn(Spec::default());
    let series = format!("zombies_by_parent{{parent_pid=\"{}\"", zp.pid);
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(&prom)
            .is_ok_and(|t| t.contains(&series))),
        "a later tick did not see parent {}: {:?}",
        zp.pid,
        std::fs::read_to_string(&prom)
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(run.0.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let asked = std::time::Instant::now();
    let status = loop {
        if let Some(s) = run.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "still running after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(0), "SIGTERM must end it with 0");
    assert_valid_exposition(&std::fs::read_to_string(&prom).unwrap());
}

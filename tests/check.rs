//! Issue 4: `zombies check`. Exact counts need a process table of our own: each scenario runs
//! in a fresh PID namespace (unshare, as root) where shell subshells hold a known number of
//! zombies, and `zombies check` runs inside it with nsenter. Other test suites share this
//! machine, so nothing here asserts on the host's own zombies.

mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TempDir, needs_root, output_within, run, stderr, stdout, wait_until, zombies};
use serde_json::Value;

const ZOMBIES: &str = env!("CARGO_BIN_EXE_zombies");

/// A child that exits once its parent, a subshell of `sh`, has exec'd: it reads its parent's
/// PID (stat field 4), then polls the parent's name in /proc until it is no longer `sh` (no
/// holder is named sh).
const WAIT_FOR_EXEC: &str = r#"'read -r _ _ _ p _ < /proc/$$/stat; while [ "$(cat /proc/$p/comm 2>/dev/null)" = sh ]; do sleep 0.01; done'"#;

/// How a namespace test starts: the directory that keeps its state file and ignore list.
/// These tests are `#[ignore = "needs root"]`; run by hand without root, they say so.
fn ns_test() -> TempDir {
    needs_root();
    TempDir::new("check")
}

/// `zombies --proc /nonexistent check --state STATE ARGS`: a check with no process table to
/// read.
fn check_without_proc(state: &str, args: &[&str]) -> Output {
    run(zombies()
        .args(["--proc", "/nonexistent", "check", "--state", state])
        .args(args))
}

/// A parent in the namespace: how many zombies it holds and, optionally, the name it runs
/// under (a symlink to sleep, so its comm is that name).
#[derive(Clone, Copy)]
struct Holder<'a> {
    zombies: usize,
    name: Option<&'a str>,
}

fn holders(counts: &[usize]) -> Vec<Holder<'static>> {
    counts
        .iter()
        .map(|&zombies| Holder {
            zombies,
            name: None,
        })
        .collect()
}

/// A fresh PID namespace whose PID 1 sleeps, with subshells holding zombies. Drop kills its
/// PID 1, which makes the kernel kill and reap everything inside; unshare runs with
/// --kill-child and a parent-death signal, so a test process that dies takes it along.
struct PidNs {
    unshare: Child,
    /// PID 1 of the namespace, as the host numbers it.
    init: i32,
    /// Holds the symlinks that name the holders.
    _bin: TempDir,
}

impl PidNs {
    fn spawn(parents: &[Holder]) -> PidNs {
        let bin = TempDir::new("check");
        let mut script = String::new();
        for (i, h) in parents.iter().enumerate() {
            let exe = match h.name {
                Some(name) => {
                    let link = bin.path(name);
                    std::os::unix::fs::symlink(which_sleep(), &link).expect("symlink sleep");
                    let var = format!("HOLDER{i}");
                    script.push_str(&format!("{var}='{}'\n", link.display()));
                    format!("\"${var}\"")
                }
                None => "sleep".to_string(),
            };
            // The subshell forks its children, then becomes a process that never waits. A
            // shell may reap a background job that ends before it execs, which would leave a
            // zombie short: so each child waits for that exec itself, watching its parent's
            // name in /proc change from the shell's, then exits.
            script.push_str(&format!(
                "( i=0; while [ $i -lt {} ]; do sh -c {WAIT_FOR_EXEC} & i=$((i+1)); done; exec {exe} 120 ) &\n",
                h.zombies
            ));
        }
        script.push_str("exec sleep 120\n");
        let mut cmd = Command::new("unshare");
        cmd.args([
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            "-c",
        ])
        .arg(&script)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        // util-linux 2.38 says "sigprocmask unblock failed" when its child is SIGKILLed,
        // which is how Drop ends the namespace (util-linux issue #2614): not ours to show.
        .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let unshare = cmd.spawn().expect("spawn unshare");
        let mut ns = PidNs {
            unshare,
            init: 0,
            _bin: bin,
        };
        let parent = ns.unshare.id() as i32;
        assert!(
            wait_until(Duration::from_secs(5), || {
                ns.init = child_of(parent).unwrap_or(0);
                ns.init > 0
            }),
            "unshare did not start the namespace"
        );
        // Watch from the host: a check from inside would take PIDs in the namespace and make
        // its numbering depend on timing.
        let want: usize = parents.iter().map(|h| h.zombies).sum();
        let mut last = (0, 0);
        let ready = wait_until(Duration::from_secs(10), || {
            let family = descendants(ns.init);
            let zombies = family
                .iter()
                .filter(|&&p| common::proc_state(p) == Some('Z'))
                .count();
            last = (family.len(), zombies);
            zombies == want && family.len() == parents.len() + want
        });
        assert!(
            ready,
            "namespace did not reach {want} zombies: (processes, zombies) = {last:?}"
        );
        ns
    }

    /// Runs zombies with `args` inside the namespace.
    fn run(&self, args: &[&str]) -> Output {
        self.run_as(&[], args)
    }

    /// Runs zombies with `args` inside the namespace, under the command `wrapper` (setpriv).
    fn run_as(&self, wrapper: &[&str], args: &[&str]) -> Output {
        let mut cmd = Command::new("nsenter");
        cmd.arg("--target")
            .arg(self.init.to_string())
            .args(["--pid", "--mount", "--"])
            .args(wrapper)
            .arg(ZOMBIES)
            .args(args)
            .env_clear();
        for keep in ["PATH", "HOME", "LANG"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        output_within(cmd, Duration::from_secs(20))
    }

    /// `zombies check` inside, with the state and ignore list kept in `dir`.
    fn check(&self, dir: &TempDir, args: &[&str]) -> Output {
        let state = dir.arg("state.json");
        let ignore = dir.arg("ignore.toml");
        let mut all = vec!["--ignore-file", ignore.as_str(), "check", "--state", &state];
        all.extend_from_slice(args);
        self.run(&all)
    }

    /// The `list --format json` of the namespace.
    fn list(&self) -> Value {
        let out = self.run(&["list", "--format", "json", "--all"]);
        serde_json::from_slice(&out.stdout).expect("list JSON")
    }
}

impl Drop for PidNs {
    fn drop(&mut self) {
        if self.init > 0 {
            // PID 1 of a namespace dies: the kernel kills and reaps every process inside.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.init),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.unshare.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

fn which_sleep() -> PathBuf {
    ["/usr/bin/sleep", "/bin/sleep"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("sleep(1) installed")
}

/// Every process below `root` in the host's /proc.
fn descendants(root: i32) -> Vec<i32> {
    let all: Vec<(i32, i32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| Some((pid, common::proc_ppid(pid)?)))
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(child, _) in all.iter().filter(|&&(_, ppid)| ppid == p) {
            out.push(child);
            frontier.push(child);
        }
    }
    out
}

/// A child of `parent` in the host's /proc.
fn child_of(parent: i32) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .find(|&pid| common::proc_ppid(pid) == Some(parent))
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
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
        (0, "OK", 0),
        (2, "OK", 0),
        (3, "WARNING", 1),
        (4, "WARNING", 1),
        (5, "CRITICAL", 2),
    ] {
        let dir = TempDir::new("check");
        let counts = if count == 0 { vec![] } else { vec![count] };
        let ns = PidNs::spawn(&holders(&counts));
        let out = ns.check(&dir, &["--warn", "2", "--crit", "4"]);
        let line = stdout(&out);
        let text = if count == 0 {
            "0 zombie processes".to_string()
        } else {
            let parent = parent_pids(&ns.list())[0];
            format!("{count} zombie processes: {count} zombies under sleep ({parent})")
        };
        assert_eq!(
            line,
            format!(
                "ZOMBIES {word}: {text} | zombies={count};2;4;0; parents={};;;0; oldest_seen=0s;;;0; max_per_parent={count};;;0;\n",
                usize::from(count > 0)
            ),
            "stderr: {}",
            stderr(&out)
        );
        assert_eq!(code(&out), exit, "{line}");
    }
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn zero_zombies_is_ok_even_when_the_range_alerts_on_zero() {
    let dir = ns_test();
    let ns = PidNs::spawn(&[]);
    // "3:" alerts below 3, which includes 0.
    let out = ns.check(&dir, &["--warn", "3:", "--crit", "2:"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).starts_with("ZOMBIES OK: 0 zombie processes | zombies=0;3:;2:;0;"));
    // No zombies, nothing to remember: no state file is created.
    assert!(!dir.path("state.json").exists());
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn defaults_names_parents_and_per_parent_warning() {
    let dir = ns_test();
    let ns = PidNs::spawn(&[
        Holder {
            zombies: 3,
            name: Some("reaperless"),
        },
        Holder {
            zombies: 1,
            name: None,
        },
    ]);
    let list = ns.list();
    let pids = parent_pids(&list);
    // Defaults (5 / 20): 4 zombies are OK.
    let out = ns.check(&dir, &[]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        stdout(&out),
        format!(
            "ZOMBIES OK: 4 zombie processes: 3 zombies under reaperless ({}), 1 zombie under sleep ({}) | zombies=4;5;20;0; parents=2;;;0; oldest_seen=0s;;;0; max_per_parent=3;;;0;\n",
            pids[0], pids[1]
        )
    );
    let out = ns.check(&dir, &["--warn-per-parent", "2"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("ZOMBIES WARNING: 4 zombie processes: ")
            && stdout(&out).contains(&format!(
                "; reaperless ({}) holds 3, over --warn-per-parent 2 | ",
                pids[0]
            ))
            && stdout(&out).contains(" max_per_parent=3;2;;0;"),
        "{}",
        stdout(&out)
    );
    // Filters as in list.
    let out = ns.check(&dir, &["--parent", &pids[1].to_string(), "--warn", "0"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).starts_with("ZOMBIES WARNING: 1 zombie process: 1 zombie under sleep"));
    let out = ns.check(&dir, &["--user", "nobody", "--warn", "0"]);
    assert_eq!(code(&out), 0, "nobody owns no zombie: {}", stdout(&out));
    let v: Value = serde_json::from_slice(
        &ns.check(&dir, &["--user", "nobody", "--format", "json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(v["filtered_out"], 4);
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn ignore_list_is_honoured_and_counted() {
    let dir = ns_test();
    std::fs::write(
        dir.path("ignore.toml"),
        "[[ignore]]\ncomm = \"tolerated\"\nnote = \"test\"\n",
    )
    .unwrap();
    let ns = PidNs::spawn(&[
        Holder {
            zombies: 4,
            name: Some("tolerated"),
        },
        Holder {
            zombies: 1,
            name: None,
        },
    ]);
    let out = ns.check(&dir, &["--warn", "2", "--crit", "4"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let line = stdout(&out);
    assert!(
        line.contains("1 zombie process: 1 zombie under sleep ("),
        "{line}"
    );
    assert!(line.contains("; 4 ignored | zombies=1;2;4;0;"), "{line}");
    let prom = stdout(&ns.check(&dir, &["--format", "prometheus"]));
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
    let dir = ns_test();
    // A hostile process name: quote, backslash, pipe and newline (15 bytes at most).
    let nasty = "q\"b\\s|n\nx";
    let ns = PidNs::spawn(&[
        Holder {
            zombies: 2,
            name: None,
        },
        Holder {
            zombies: 1,
            name: Some(nasty),
        },
    ]);
    let pids = parent_pids(&ns.list());
    let textfiles = dir.path("textfile");
    std::fs::create_dir_all(&textfiles).unwrap();
    let prom = textfiles.join("zombies.prom");
    std::fs::write(&prom, "stale\n").unwrap();
    let out = ns.check(
        &dir,
        &[
            "--format",
            "prometheus",
            "--warn",
            "2",
            "--output",
            prom.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "--output writes nothing to stdout");
    let text = std::fs::read_to_string(&prom).unwrap();
    assert_valid_exposition(&text);
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
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
            "zombies_check_status 1".to_string(),
        ]
    );
    for family in [
        "zombies_processes",
        "zombies_parents",
        "zombies_oldest_seen_seconds",
        "zombies_by_parent",
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
    let line = stdout(&ns.check(&dir, &[]));
    assert_eq!(line.lines().count(), 1, "{line:?}");
    assert_eq!(line.matches('|').count(), 1, "{line:?}");
    assert!(line.contains("under q\"b\\s\\x7cn\\nx ("), "{line:?}");
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn quiet_prints_only_problems() {
    let dir = ns_test();
    let ns = PidNs::spawn(&holders(&[3]));
    let out = ns.check(&dir, &["--quiet"]);
    assert_eq!((code(&out), stdout(&out).as_str()), (0, ""));
    let out = ns.check(&dir, &["--quiet", "--warn", "2"]);
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).starts_with("ZOMBIES WARNING: 3 zombie processes"));
    // --quiet silences stdout only: the textfile is still refreshed when OK.
    let prom = dir.path("q.prom");
    let out = ns.check(
        &dir,
        &[
            "--quiet",
            "--format",
            "prometheus",
            "-o",
            prom.to_str().unwrap(),
        ],
    );
    assert_eq!((code(&out), stdout(&out).as_str()), (0, ""));
    assert!(
        std::fs::read_to_string(prom)
            .unwrap()
            .contains("\nzombies_processes 3\n")
    );
}

fn check_json(ns: &PidNs, dir: &TempDir, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = ns.check(dir, &all);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout(&out)));
    (code(&out), v)
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

/// The inode of a process's PID namespace, as /proc/PID/ns/pid names it.
fn pid_ns_of(pid: i32) -> u64 {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap();
    let s = link.to_str().unwrap();
    s["pid:[".len()..s.len() - 1].parse().unwrap()
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn state_file_ages_zombies_across_runs_and_knows_reused_pids() {
    let dir = ns_test();
    let state = dir.path("state.json");
    let first_pids;
    {
        let ns = PidNs::spawn(&holders(&[2]));
        let (exit, v) = check_json(&ns, &dir, &["--max-age", "1h"]);
        assert_eq!((exit, v["status"].as_str()), (0, Some("ok")), "{v}");
        assert_eq!(v["oldest_seen_seconds"], 0);
        assert_eq!(state_sections(&state)[0].0, Some(pid_ns_of(ns.init)));
        let saved = state_entries(&state);
        assert_eq!(saved.len(), 2, "{saved:?}");

        // Two hours later, as far as the state file knows.
        backdate(&state, 7200);
        let saved = state_entries(&state);
        first_pids = saved.clone();
        let (exit, v) = check_json(&ns, &dir, &["--max-age", "1h"]);
        assert_eq!((exit, v["status"].as_str()), (2, Some("critical")), "{v}");
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
        let nagios = stdout(&ns.check(&dir, &["--max-age", "1h"]));
        assert!(nagios.starts_with("ZOMBIES CRITICAL: "), "{nagios}");
        assert!(nagios.contains(" oldest_seen="), "{nagios}");
        assert!(nagios.contains("s;;3600;0; "), "{nagios}");
        // Without --max-age the same zombies are fine.
        assert_eq!(code(&ns.check(&dir, &[])), 0);
    }
    // A new namespace numbers its processes the same way: same PIDs, new start times. They
    // are new zombies and must not inherit the old ages.
    let ns = PidNs::spawn(&holders(&[2]));
    let (exit, v) = check_json(&ns, &dir, &["--max-age", "1h"]);
    let sections = state_sections(&state);
    let now = &sections
        .iter()
        .find(|s| s.0 == Some(pid_ns_of(ns.init)))
        .expect("a section for the new namespace")
        .1;
    let pids = |e: &[(i64, u64, u64)]| e.iter().map(|z| z.0).collect::<Vec<_>>();
    assert_eq!(pids(now), pids(&first_pids), "PIDs were reused");
    for (new, old) in now.iter().zip(&first_pids) {
        assert_ne!(new.1, old.1, "start times differ");
        assert!(new.2 > old.2, "first seen again: {new:?} vs {old:?}");
    }
    assert_eq!((exit, v["status"].as_str()), (0, Some("ok")), "{v}");
    assert_eq!(v["oldest_seen_seconds"], 0);
}

/// Two PID namespaces (a host and a container sharing /var/lib) on one state file: each keeps
/// its own first sightings, so --max-age still fires in the first after the second has run.
#[test]
#[ignore = "needs root: a PID namespace"]
fn each_pid_namespace_keeps_its_own_ages_in_a_shared_state_file() {
    let dir = ns_test();
    let state = dir.path("state.json");
    let a = PidNs::spawn(&holders(&[2]));
    let b = PidNs::spawn(&holders(&[1]));
    let (exit, v) = check_json(&a, &dir, &["--max-age", "1h"]);
    assert_eq!(exit, 0, "{v}");
    backdate(&state, 7200);
    // B's zombies are new to B, whatever A remembers under the same PIDs.
    let (exit, v) = check_json(&b, &dir, &["--max-age", "1h"]);
    assert_eq!(
        (exit, v["oldest_seen_seconds"].as_u64()),
        (0, Some(0)),
        "{v}"
    );
    // A's two hours survived B's save.
    let (exit, v) = check_json(&a, &dir, &["--max-age", "1h"]);
    assert_eq!((exit, v["status"].as_str()), (2, Some("critical")), "{v}");
    assert!(v["oldest_seen_seconds"].as_u64().unwrap() >= 7200, "{v}");
    let sections = state_sections(&state);
    let mut want = vec![Some(pid_ns_of(a.init)), Some(pid_ns_of(b.init))];
    want.sort();
    assert_eq!(sections.iter().map(|s| s.0).collect::<Vec<_>>(), want);
    let (exit, _) = check_json(&b, &dir, &["--max-age", "1h"]);
    assert_eq!(exit, 0);
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn corrupt_state_is_reset_with_a_warning() {
    let dir = ns_test();
    std::fs::write(
        dir.path("state.json"),
        b"{\"version\": 1, \"zombies\": [tru\xff",
    )
    .unwrap();
    let ns = PidNs::spawn(&holders(&[1]));
    let out = ns.check(&dir, &["--max-age", "1h"]);
    assert_eq!(code(&out), 0, "{} / {}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("ZOMBIES OK: 1 zombie process"));
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains("corrupt") && err.contains("state.json"),
        "{err}"
    );
    assert_eq!(state_entries(&dir.path("state.json")).len(), 1);
    // The next run is quiet on stderr: the file was replaced.
    assert_eq!(stderr(&ns.check(&dir, &[])), "");
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn unwritable_state_with_max_age_is_unknown_not_silently_ok() {
    let dir = ns_test();
    let ns = PidNs::spawn(&holders(&[1]));
    // The directory is root's (0755): nobody may not write there.
    let state = dir.arg("state.json");
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let ignore = dir.arg("ignore.toml");
    let check = |args: &[&str]| {
        let mut all = vec!["--ignore-file", &ignore, "check", "--state", &state];
        all.extend_from_slice(args);
        ns.run_as(&nobody, &all)
    };
    let out = check(&["--max-age", "1h"]);
    let line = stdout(&out);
    assert_eq!(code(&out), 3, "{line} {}", stderr(&out));
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
    let out = check(&["--quiet"]);
    assert_eq!(code(&out), 0, "without --max-age ages are not needed");
    assert_eq!(stdout(&out), "");
    let out = check(&[]);
    assert!(
        stdout(&out).contains("; zombie ages not kept: "),
        "{}",
        stdout(&out)
    );
    assert!(!dir.path("state.json").exists());
}

#[test]
#[ignore = "needs root: a PID namespace"]
fn json_shape() {
    let dir = ns_test();
    let ns = PidNs::spawn(&holders(&[3]));
    let (exit, v) = check_json(&ns, &dir, &["--warn", "1", "--crit", "@3:4"]);
    assert_eq!(exit, 2);
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
    let dir = TempDir::new("check");
    let state = dir.arg("state.json");
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
    ] {
        let mut cmd = zombies();
        cmd.args(["check", "--state", &state]).args(&args);
        let out = run(&mut cmd);
        let line = stdout(&out);
        assert_eq!(code(&out), 3, "{args:?}: {line} {}", stderr(&out));
        assert!(line.starts_with("ZOMBIES UNKNOWN: "), "{args:?}: {line}");
        assert!(line.contains(says), "{args:?}: {line}");
        assert_eq!(line.lines().count(), 1, "{args:?}: {line}");
    }
    // Help still works and exits 0; other subcommands keep clap's usual exit code.
    assert_eq!(code(&run(zombies().args(["check", "--help"]))), 0);
    assert_eq!(code(&run(zombies().args(["list", "--bogus"]))), 2);
    assert!(!dir.path("state.json").exists());
}

#[test]
fn unreadable_proc_is_unknown_in_every_format() {
    let dir = TempDir::new("check");
    let state = dir.arg("state.json");
    let out = check_without_proc(&state, &[]);
    assert_eq!(code(&out), 3);
    let line = stdout(&out);
    assert!(
        line.starts_with("ZOMBIES UNKNOWN: cannot open /nonexistent") && !line.contains(" | "),
        "{line}"
    );
    let out = check_without_proc(&state, &["--format", "prometheus"]);
    assert_eq!(code(&out), 3);
    let text = stdout(&out);
    assert_valid_exposition(&text);
    assert!(text.ends_with("\nzombies_check_status 3\n"), "{text}");
    assert!(
        !text.contains("\nzombies_processes "),
        "no made-up zero: {text}"
    );
    let out = check_without_proc(&state, &["--format", "json"]);
    assert_eq!(code(&out), 3);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "unknown");
    assert_eq!(v["zombies"], Value::Null);
    // --quiet never hides UNKNOWN.
    let out = check_without_proc(&state, &["-q"]);
    assert!(stdout(&out).starts_with("ZOMBIES UNKNOWN"));
}

#[test]
fn output_that_cannot_be_written_is_unknown() {
    let dir = TempDir::new("check");
    std::fs::write(dir.path("file"), "").unwrap();
    let target = dir.arg("file/zombies.prom");
    let out = check_without_proc(
        &dir.arg("state.json"),
        &["--format", "prometheus", "--output", &target],
    );
    assert_eq!(code(&out), 3);
    assert!(stderr(&out).contains("zombies.prom"), "{}", stderr(&out));
    // And an unknown result still lands in a writable textfile, for the alert on status 3.
    let good = dir.path("ok.prom");
    let out = check_without_proc(
        &dir.arg("state.json"),
        &["--format", "prometheus", "--output", good.to_str().unwrap()],
    );
    assert_eq!(code(&out), 3);
    assert!(
        std::fs::read_to_string(good)
            .unwrap()
            .contains("zombies_check_status 3")
    );
}

/// A procfs tree in `dir`: PID 1 and a parent holding one zombie, enough for check to judge.
/// The live system cannot be used: other suites' zombies would change the verdict.
fn fixture_proc(dir: &TempDir) -> String {
    let line = |pid: i32, comm: &str, state: char, ppid: i32| {
        format!(
            "{pid} ({comm}) {state} {ppid} {pid} {pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {pid}00 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        )
    };
    for (pid, comm, state, ppid) in [
        (1, "init", 'S', 0),
        (40, "app", 'S', 1),
        (41, "job", 'Z', 40),
    ] {
        let d = dir.path(&format!("proc/{pid}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("stat"), line(pid, comm, state, ppid)).unwrap();
    }
    dir.arg("proc")
}

/// `zombies --proc FIXTURE check ARGS`, killed if it blocks.
fn check_fixture(dir: &TempDir, args: &[&str]) -> Output {
    let proc = fixture_proc(dir);
    let mut cmd = zombies();
    cmd.args([
        "--proc",
        &proc,
        "--ignore-file",
        &dir.arg("ignore.toml"),
        "check",
    ])
    .args(args);
    output_within(cmd, Duration::from_secs(10))
}

/// `--state /etc/hosts` (a typo, or --state and --output swapped) must not replace the file.
#[test]
fn a_state_path_that_is_not_ours_is_refused_and_left_alone() {
    let dir = TempDir::new("check");
    for foreign in [
        "127.0.0.1 localhost\n::1 localhost\n",
        "# HELP zombies_processes x\nzombies_processes 0\n",
        "{\"status\": \"ok\"}\n",
    ] {
        let path = dir.path("hosts");
        std::fs::write(&path, foreign).unwrap();
        let out = check_fixture(&dir, &["--state", path.to_str().unwrap()]);
        let line = stdout(&out);
        assert_eq!(code(&out), 3, "{line} {}", stderr(&out));
        assert!(
            line.starts_with("ZOMBIES UNKNOWN: ")
                && line.contains("hosts is not a state file of zombies check")
                && line.contains("--state"),
            "{line}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), foreign);
    }
    // A FIFO there is refused too, at once.
    let fifo = dir.path("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let out = check_fixture(&dir, &["--state", fifo.to_str().unwrap()]);
    assert_eq!(code(&out), 3);
    assert!(
        stdout(&out).contains("is a FIFO, not a file"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_typed_state_path_never_creates_a_directory() {
    let dir = TempDir::new("check");
    let path = dir.path("no/such/dir/state.json");
    let out = check_fixture(&dir, &["--state", path.to_str().unwrap()]);
    let line = stdout(&out);
    assert_eq!(code(&out), 0, "{line}");
    assert!(
        line.starts_with("ZOMBIES OK: 1 zombie process: 1 zombie under app (40); zombie ages not kept: no directory ")
            && line.contains("no/such/dir for the state file"),
        "{line}"
    );
    assert!(!dir.path("no").exists(), "check created the directory");
    // With --max-age the same is UNKNOWN: the ages it needs cannot be kept.
    let out = check_fixture(
        &dir,
        &["--state", path.to_str().unwrap(), "--max-age", "1h"],
    );
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    assert!(!dir.path("no").exists());
}

/// As root, a symlink planted at the state or output path must not lead the check to write
/// (or read) another file.
#[test]
fn symlinks_at_the_state_and_output_paths_are_never_followed() {
    let dir = TempDir::new("check");
    let secret = dir.path("secret");
    std::fs::write(&secret, "do not touch\n").unwrap();
    let link = dir.path("state.json");
    std::os::unix::fs::symlink(&secret, &link).unwrap();
    let out = check_fixture(&dir, &["--state", link.to_str().unwrap()]);
    let line = stdout(&out);
    assert_eq!(code(&out), 3, "{line}");
    assert!(line.contains("state.json is a symbolic link"), "{line}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), "do not touch\n");

    // At --output the link itself is replaced by the report; its target is left alone.
    let output = dir.path("zombies.prom");
    std::os::unix::fs::symlink(&secret, &output).unwrap();
    let out = check_fixture(
        &dir,
        &[
            "--state",
            &dir.arg("real-state.json"),
            "--format",
            "prometheus",
            "--output",
            output.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
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
    let dir = TempDir::new("check");
    let state = dir.path("state.json");
    let prom = dir.path("zombies.prom");
    let out = check_fixture(
        &dir,
        &[
            "--state",
            state.to_str().unwrap(),
            "--format",
            "prometheus",
            "--output",
            prom.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (state_before, prom_before) = (
        std::fs::read(&state).unwrap(),
        std::fs::read(&prom).unwrap(),
    );
    let out = check_fixture(
        &dir,
        &[
            "--state",
            prom.to_str().unwrap(),
            "--format",
            "prometheus",
            "--output",
            state.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 3);
    assert!(
        stderr(&out).contains("state.json is the state file of zombies check"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&state).unwrap(), state_before);
    assert_eq!(std::fs::read(&prom).unwrap(), prom_before);
}

//! The files shipped for fleets: the systemd units and the NRPE snippet in deploy/ run the
//! commands the README documents, and those commands work. (CI also runs `systemd-analyze
//! verify` on the units: .ci/run.)

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A unit file: section -> key -> every value given, in order (continuation lines joined).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse_unit(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = String::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        if pending.is_empty() && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
        {
            continue;
        }
        if let Some(cont) = line.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        let line = std::mem::take(&mut pending) + line;
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not a key=value line: {line:?}"));
        unit.entry(section.clone())
            .or_default()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    unit
}

/// The one value of `section`.`key`; an empty assignment resets the list, as in systemd.
#[track_caller]
fn value<'a>(unit: &'a Unit, section: &str, key: &str) -> &'a str {
    let values = &unit[section][key];
    let from = values.iter().rposition(|v| v.is_empty()).map_or(0, |i| i + 1);
    assert_eq!(values.len() - from, 1, "{section}.{key}: {values:?}");
    &values[from]
}

/// The words of an ExecStart= line, its prefixes (-, @, +, !, :) dropped.
fn exec_words(exec: &str) -> Vec<String> {
    assert!(
        !exec.contains(['"', '\'', '$', '%']),
        "ExecStart with quotes, variables or specifiers: extend this parser: {exec}"
    );
    let exec = exec.trim_start_matches(['-', '@', '+', '!', ':']);
    exec.split_whitespace().map(String::from).collect()
}

/// The first line of the ```sh block that follows `marker` in the README.
fn readme_command_after(marker: &str) -> String {
    let readme = read("README.md");
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("the README no longer says {marker:?}"));
    let block = &readme[at..];
    let start = block.find("```sh\n").expect("a ```sh block after it") + 6;
    block[start..].lines().next().unwrap().to_string()
}

/// Runs `words` (program name first) with the binary under test, and `--output` and `--state`
/// moved into `env`; returns the run and where the output went.
fn run_relocated(env: &TestEnv, words: &[String]) -> (Run, Option<PathBuf>) {
    let mut args: Vec<String> = Vec::new();
    let mut output = None;
    let mut it = words[1..].iter();
    while let Some(w) = it.next() {
        args.push(w.clone());
        if w == "--output" || w == "--state" {
            let original = it.next().expect("a value");
            let name = Path::new(original).file_name().unwrap();
            let moved = env.root().join(name);
            if w == "--output" {
                output = Some(moved.clone());
            }
            args.push(moved.display().to_string());
        }
    }
    (env.command().args(&args).run(), output)
}

#[test]
fn the_textfile_service_runs_the_command_the_readme_documents() {
    let unit = parse_unit(&read("deploy/systemd/zombies-textfile.service"));
    let exec = exec_words(value(&unit, "Service", "ExecStart"));
    let documented = readme_command_after(
        "[`zombies-textfile.service`](deploy/systemd/zombies-textfile.service) runs",
    );
    assert_eq!(
        exec.join(" "),
        documented,
        "the unit and the README disagree"
    );
    assert_eq!(
        Path::new(&exec[0]).file_name().unwrap(),
        "zombies",
        "{exec:?}"
    );
    assert_eq!(value(&unit, "Service", "Type"), "oneshot");
    // WARNING and CRITICAL are results; UNKNOWN (3) is the unit failing.
    assert_eq!(value(&unit, "Service", "SuccessExitStatus"), "1 2");
    // ProtectSystem=strict makes everything read-only: the directory the file goes to must
    // be one the unit makes writable.
    assert_eq!(value(&unit, "Service", "ProtectSystem"), "strict");
    let out = exec
        .iter()
        .position(|w| w == "--output")
        .map(|i| Path::new(&exec[i + 1]).parent().unwrap().to_path_buf())
        .expect("--output");
    let writable: Vec<PathBuf> = unit["Service"]["ReadWritePaths"]
        .iter()
        .flat_map(|v| v.split_whitespace())
        .map(|p| PathBuf::from(p.trim_start_matches('-')))
        .collect();
    assert!(writable.contains(&out), "{out:?} not in {writable:?}");

    // And it works: the same arguments, the files moved into a temporary directory.
    let env = TestEnv::new("deploy-textfile");
    let (run, output) = run_relocated(&env, &exec);
    assert!(
        matches!(run.code(), Some(0..=2)),
        "a run the unit counts as failed: {}",
        run.report()
    );
    let text = std::fs::read_to_string(output.unwrap()).expect("the textfile was written");
    assert!(
        text.contains("\nzombies_processes ") && text.contains("\nzombies_check_status "),
        "{text}"
    );
}

#[test]
fn the_timer_starts_the_service_and_installs_disabled() {
    let timer = parse_unit(&read("deploy/systemd/zombies-textfile.timer"));
    // A timer starts the service of its own name unless Unit= says otherwise.
    assert!(!timer["Timer"].contains_key("Unit"), "{timer:?}");
    assert_eq!(value(&timer, "Install", "WantedBy"), "timers.target");
    assert!(timer["Timer"].contains_key("OnUnitActiveSec"));
    let service = parse_unit(&read("deploy/systemd/zombies-textfile.service"));
    // The timer is what gets enabled; the service has nothing to install.
    assert!(!service.contains_key("Install"), "{service:?}");
}

#[test]
fn the_nrpe_command_is_the_readmes_and_a_working_check() {
    let cfg = read("deploy/nrpe/zombies.cfg");
    let line = cfg
        .lines()
        .find(|l| l.starts_with("command[check_zombies]="))
        .expect("command[check_zombies]");
    assert!(
        read("README.md").contains(&format!("```ini\n{line}\n```")),
        "the README shows another NRPE command than deploy/nrpe/zombies.cfg: {line}"
    );
    let words = exec_words(line.strip_prefix("command[check_zombies]=").unwrap());
    assert!(Path::new(&words[0]).is_absolute(), "NRPE wants a path: {words:?}");
    let env = TestEnv::new("deploy-nrpe");
    let (run, _) = run_relocated(&env, &words);
    // OK, WARNING or CRITICAL, whatever this machine holds; UNKNOWN would be a broken command.
    assert!(matches!(run.code(), Some(0..=2)), "{}", run.report());
    assert!(run.stdout().starts_with("ZOMBIES "), "{}", run.report());
}

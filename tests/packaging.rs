//! The files shipped for hosts: the systemd units and the NRPE snippet in deploy/ run the
//! commands the README documents, and those commands work; the Debian package metadata in
//! Cargo.toml installs files that exist, where Debian looks for them. (CI also runs
//! `systemd-analyze verify` on the units: .ci/run.)

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
    let from = values
        .iter()
        .rposition(|v| v.is_empty())
        .map_or(0, |i| i + 1);
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
    assert!(
        Path::new(&words[0]).is_absolute(),
        "NRPE wants a path: {words:?}"
    );
    let env = TestEnv::new("deploy-nrpe");
    let (run, _) = run_relocated(&env, &words);
    // OK, WARNING or CRITICAL, whatever this machine holds; UNKNOWN would be a broken command.
    assert!(matches!(run.code(), Some(0..=2)), "{}", run.report());
    assert!(run.stdout().starts_with("ZOMBIES "), "{}", run.report());
}

/// `[package.metadata.deb]` for cargo-deb: every asset exists and goes where Debian's tools
/// look; the systemd units are installed, neither enabled nor started.
#[test]
fn the_debian_package_installs_what_exists_where_debian_looks() {
    let manifest: toml::Table = read("Cargo.toml").parse().expect("Cargo.toml");
    let package = manifest["package"].as_table().unwrap();
    assert_eq!(package["name"].as_str(), Some("zombies"));
    let deb = package["metadata"]["deb"]
        .as_table()
        .expect("[package.metadata.deb]");
    for key in ["maintainer", "section", "priority", "extended-description"] {
        assert!(deb[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
    }
    let mut installed: BTreeMap<String, String> = BTreeMap::new();
    for asset in deb["assets"].as_array().expect("assets") {
        let a: Vec<&str> = asset
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let [src, dest, mode] = a[..] else {
            panic!("an asset is [source, destination, mode]: {a:?}")
        };
        assert!(
            !dest.starts_with('/'),
            "cargo-deb destinations are relative: {dest}"
        );
        if src == "target/release/zombies" {
            // The binary cargo-deb builds itself.
            assert_eq!((dest, mode), ("usr/bin/", "755"));
            installed.insert("usr/bin/zombies".into(), src.into());
            continue;
        }
        assert_eq!(mode, "644", "{src}");
        let sources: Vec<PathBuf> = match src.split_once('*') {
            Some((dir_prefix, suffix)) => {
                let dir = repo(dir_prefix);
                let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
                    .unwrap()
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with(suffix))
                    .collect();
                found.sort();
                assert!(!found.is_empty(), "{src} matches nothing");
                found
            }
            None => vec![repo(src)],
        };
        for s in sources {
            assert!(s.is_file(), "asset {} does not exist", s.display());
            let to = match dest.strip_suffix('/') {
                Some(dir) => format!("{dir}/{}", s.file_name().unwrap().to_string_lossy()),
                None => dest.to_string(),
            };
            let from = s.strip_prefix(repo("")).unwrap().display().to_string();
            installed.insert(to, from);
        }
    }
    let want = [
        ("usr/bin/zombies", "target/release/zombies"),
        (
            "usr/share/bash-completion/completions/zombies",
            "completions/zombies.bash",
        ),
        (
            "usr/share/zsh/vendor-completions/_zombies",
            "completions/_zombies",
        ),
        (
            "usr/share/fish/vendor_completions.d/zombies.fish",
            "completions/zombies.fish",
        ),
        (
            "usr/share/bash-completion/completions/ipc",
            "completions/ipc.bash",
        ),
        ("usr/share/zsh/vendor-completions/_ipc", "completions/_ipc"),
        (
            "usr/share/fish/vendor_completions.d/ipc.fish",
            "completions/ipc.fish",
        ),
        ("usr/share/man/man1/zombies.1", "man/zombies.1"),
        (
            "usr/share/man/man1/zombies-probe-init.1",
            "man/zombies-probe-init.1",
        ),
    ];
    for (to, from) in want {
        assert_eq!(
            installed.get(to).map(String::as_str),
            Some(from),
            "{to}: {installed:#?}"
        );
    }
    // Every man page, not only those named above.
    for page in std::fs::read_dir(repo("man")).unwrap().flatten() {
        let name = page.file_name().to_string_lossy().into_owned();
        assert!(
            installed.contains_key(&format!("usr/share/man/man1/{name}")),
            "man/{name} is not installed"
        );
    }

    // The units: cargo-deb installs <unit-name>.<suffix> from unit-scripts, and with
    // enable = false and start = false its maintainer scripts only tell systemd they exist.
    let units = deb["systemd-units"].as_table().expect("systemd-units");
    assert_eq!(units["enable"].as_bool(), Some(false));
    assert_eq!(units["start"].as_bool(), Some(false));
    let name = units["unit-name"].as_str().unwrap();
    let dir = units["unit-scripts"].as_str().unwrap();
    for suffix in ["service", "timer"] {
        let unit = repo(dir).join(format!("{name}.{suffix}"));
        assert!(unit.is_file(), "{} does not exist", unit.display());
    }
    // cargo-deb requires maintainer-scripts with systemd-units; any script of ours there
    // must carry #DEBHELPER# for the generated fragments.
    let scripts = repo(deb["maintainer-scripts"].as_str().unwrap());
    assert!(scripts.is_dir());
    for script in ["preinst", "postinst", "prerm", "postrm"] {
        if let Ok(text) = std::fs::read_to_string(scripts.join(script)) {
            assert!(text.contains("#DEBHELPER#"), "{script} lacks #DEBHELPER#");
        }
    }
}

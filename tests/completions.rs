//! Shell completion of PIDs (`--parent`, `--pid`, `explain PID`, `tree PID`, `probe-init
//! PID`): numbers read from /proc, never file names, the processes that matter first. Bash
//! runs the committed script for real; zsh and fish are asserted on their text, and run for
//! real too where they are installed.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("completions")
        .join(name)
}

/// What bash's `_zombies` offers for `words`, the last one being completed, run from `cwd`.
fn bash_complete(words: &[&str], cwd: &Path) -> Vec<String> {
    bash_complete_as("zombies", words, cwd)
}

/// The same for the completion script of `name` (zombies, or ipc for the `ipc` link).
fn bash_complete_as(name: &str, words: &[&str], cwd: &Path) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let program = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\n_{name} {name} '{}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script(&format!("{name}.bash")).display(),
        quoted.join(" "),
        words[cword],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[track_caller]
fn position(offered: &[String], pid: i32) -> usize {
    offered
        .iter()
        .position(|w| *w == pid.to_string())
        .unwrap_or_else(|| panic!("{pid} not offered: {offered:?}"))
}

/// A child that holds no zombie: it must come after the zombies and their parents.
struct Sleeper(std::process::Child);

impl Sleeper {
    fn spawn() -> Sleeper {
        Sleeper(
            Command::new("sleep")
                .arg("60")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn bash_offers_zombies_and_their_parents_first_and_never_file_names() {
    let env = TestEnv::new("complete-bash").with_parent(Spec::default());
    let parent = env.parent().pid;
    let zombie = env.parent().zombies[0];
    let other = Sleeper::spawn();
    // A file that file-name completion would offer for any prefix of ours.
    std::fs::write(env.path(&format!("{zombie}.txt")), "").unwrap();
    let cwd = env.root();

    for words in [
        &["zombies", "explain", ""][..],
        &["zombies", "fix", "--pid", ""],
        &["zombies", "--color", "never", "explain", ""],
    ] {
        let offered = bash_complete(words, cwd);
        assert!(
            position(&offered, zombie) < position(&offered, other.pid()),
            "{words:?}: the zombie is not offered before other processes: {offered:?}"
        );
        assert!(
            offered.iter().all(|w| w.parse::<u32>().is_ok()),
            "{words:?}: not only PIDs: {offered:?}"
        );
    }
    for sub in ["list", "fix", "check", "watch"] {
        let offered = bash_complete(&["zombies", sub, "--parent", ""], cwd);
        assert!(
            position(&offered, parent) < position(&offered, other.pid()),
            "{sub} --parent: the parent is not offered before other processes: {offered:?}"
        );
    }
    let offered = bash_complete(&["zombies", "tree", ""], cwd);
    assert!(position(&offered, parent) < position(&offered, other.pid()));
    // The other processes come last, in numeric order (not 1 10 100 2): the ascending run
    // that ends the list holds them all, the sleeper among them. (Other tests' zombies and
    // parents may come before it.)
    let pids: Vec<u32> = offered.iter().map(|w| w.parse().unwrap()).collect();
    let run = pids.windows(2).rev().take_while(|w| w[0] < w[1]).count() + 1;
    let tail = &pids[pids.len() - run..];
    assert!(
        tail.contains(&(other.pid() as u32)) && tail.len() > 10,
        "the other processes are not in numeric order: {pids:?}"
    );

    // A prefix narrows the PIDs, and never brings in the file.
    let prefix = &zombie.to_string()[..1];
    let offered = bash_complete(&["zombies", "explain", prefix], cwd);
    position(&offered, zombie);
    assert!(offered.iter().all(|w| w.starts_with(prefix)), "{offered:?}");
    assert!(!offered.iter().any(|w| w.contains(".txt")), "{offered:?}");
    // Options when the word starts with a dash, values after an option.
    let offered = bash_complete(&["zombies", "explain", "--f"], cwd);
    assert_eq!(offered, ["--format"]);
    let offered = bash_complete(&["zombies", "explain", "--format", ""], cwd);
    assert_eq!(offered, ["text", "json"]);
}

/// probe-init offers the PID 1 of each container first.
#[test]
#[ignore = "needs root"]
fn bash_offers_namespace_inits_first_to_probe_init() {
    needs_root();
    let ns = PidNs::spawn("exec sleep 60");
    let other = Sleeper::spawn();
    let env = TestEnv::new("complete-inits");
    let offered = bash_complete(&["zombies", "probe-init", ""], env.root());
    assert!(
        position(&offered, ns.init) < position(&offered, other.pid()),
        "{offered:?}"
    );
}

/// A link named `ipc` runs `zombies ipc`: its own scripts complete the ipc subcommands, the
/// demo names and the options `zombies` declares for every command.
#[test]
fn the_ipc_name_completes_as_zombies_ipc() {
    let dir = std::env::temp_dir();
    let first = bash_complete_as("ipc", &["ipc", ""], &dir);
    for word in ["demo", "list", "--proc", "--color"] {
        assert!(first.iter().any(|w| w == word), "ipc: {word}: {first:?}");
    }
    assert!(!first.iter().any(|w| w == "ipc"), "ipc ipc: {first:?}");
    let demos = bash_complete_as("ipc", &["ipc", "demo", ""], &dir);
    for word in [
        "signal", "pipe", "fifo", "mqueue", "sem", "shm", "--posix", "--color",
    ] {
        assert!(
            demos.iter().any(|w| w == word),
            "ipc demo: {word}: {demos:?}"
        );
    }
    let zsh = std::fs::read_to_string(script("_ipc")).unwrap();
    assert!(zsh.starts_with("#compdef ipc\n"), "{}", &zsh[..40]);
    let fish = std::fs::read_to_string(script("ipc.fish")).unwrap();
    assert!(fish.contains("complete -c ipc -n \"__fish_ipc_using_subcommand demo\" -l posix"));
}

fn installed(shell: &str) -> bool {
    Command::new(shell)
        .args(["-c", "exit 0"])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The fish script asks the helper for every PID argument; where fish is installed, fish's
/// own completer (`complete -C`) runs it and offers the zombie, named.
#[test]
fn fish_completes_pids_from_proc() {
    let fish = std::fs::read_to_string(script("zombies.fish")).unwrap();
    assert!(fish.contains("function __fish_zombies_pids") && fish.contains("/proc/*/stat"));
    for sub in ["list", "fix", "check", "watch"] {
        let line =
            format!("complete -c zombies -n \"__fish_zombies_using_subcommand {sub}\" -l parent");
        let at = fish.find(&line).unwrap_or_else(|| panic!("fish: {line}"));
        let end = at + fish[at..].find('\n').unwrap();
        assert!(
            fish[at..end].ends_with("-r -k -f -a \"(__fish_zombies_pids parents)\""),
            "fish {sub} --parent: {}",
            &fish[at..end]
        );
    }
    for (sub, kind) in [
        ("explain", "zombies"),
        ("tree", "parents"),
        ("probe-init", "inits"),
    ] {
        let line = format!(
            "complete -c zombies -n \"__fish_zombies_using_subcommand {sub}\" -k -f -a \"(__fish_zombies_pids {kind})\"\n"
        );
        assert!(fish.contains(&line), "fish: {line}");
    }
    if !installed("fish") {
        eprintln!("fish is not installed: its script was checked as text only");
        return;
    }
    let env = TestEnv::new("complete-fish").with_parent(Spec::default());
    let zombie = env.parent().zombies[0];
    let program = format!(
        "source '{}'; complete -C 'zombies explain '",
        script("zombies.fish").display()
    );
    let out = Command::new("fish")
        .args(["--no-config", "-c", &program])
        .current_dir(env.root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("{zombie}\t")) && l.ends_with("(zombie)")),
        "{text}"
    );
}

/// The zsh script asks the helper for every PID argument; where zsh is installed, its
/// completion system, driven through a pseudo-terminal (zsh/zpty), lists the zombie in its
/// group, before the other processes.
#[test]
fn zsh_completes_pids_from_proc() {
    let zsh = std::fs::read_to_string(script("_zombies")).unwrap();
    assert!(zsh.contains("_zombies_pids() {") && zsh.contains("/proc/<->/stat(Nn)"));
    // Every PID argument's action is the helper, none is left to _default (files).
    let pid_specs: Vec<&str> = zsh
        .lines()
        .filter(|l| {
            l.contains(":PID:") || l.starts_with("':pid -- ") || l.starts_with("'::pid -- ")
        })
        .collect();
    assert_eq!(pid_specs.len(), 8, "{pid_specs:#?}");
    for l in &pid_specs {
        assert!(l.contains(":_zombies_pids "), "zsh: {l}");
    }
    assert!(
        pid_specs.iter().any(
            |l| l.starts_with("':pid -- A zombie") && l.ends_with(":_zombies_pids zombies' \\")
        )
    );
    if !installed("zsh") {
        eprintln!("zsh is not installed: its script was checked as text only");
        return;
    }
    let env = TestEnv::new("complete-zsh").with_parent(Spec::default());
    let zombie = env.parent().zombies[0];
    // Reads the listing until its last group has come, or 10 s.
    let harness = format!(
        r#"zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "PS1='%% '; fpath=({dir} \$fpath); autoload -U compinit; compinit -u -D; zstyle ':completion:*' format 'GROUP:%d'; zstyle ':completion:*' group-name ''; LISTMAX=100000"
zpty -w -n z $'zombies explain \t'
out=
integer deadline=$(( SECONDS + 10 ))
while (( SECONDS < deadline )) && [[ $out != *GROUP:processes* ]]; do
    if zpty -r -t z chunk; then out+=$chunk; else sleep 0.02; fi
done
zpty -d z
print -r -- "$out"
"#,
        dir = script("").display()
    );
    let out = Command::new("zsh")
        .args(["-f", "-c", &harness])
        .current_dir(env.root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let zombies_group = text
        .find("GROUP:zombies")
        .unwrap_or_else(|| panic!("{text}"));
    let others = text
        .find("GROUP:processes")
        .unwrap_or_else(|| panic!("{text}"));
    let listed = text[zombies_group..others]
        .split(|c: char| !c.is_ascii_digit())
        .any(|w| w == zombie.to_string());
    assert!(listed && zombies_group < others, "{text}");
}

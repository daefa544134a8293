//! Man pages and shell completions, generated from the clap definition so they never drift.
//! `zombies generate man man/` and `zombies generate completions completions/` rewrite the
//! committed copies; a test fails when those differ from what the code generates.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Writes zombies.1 and one page per subcommand (zombies-list.1, zombies-ipc-demo.1, ...).
pub fn man_pages(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();
    write_page(&cmd, dir, &mut written)?;
    Ok(written)
}

fn write_page(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_page(sub, dir, written)?;
    }
    let man = clap_mangen::Man::new(cmd.clone()).manual("zombies manual");
    let mut page = Vec::new();
    man.render(&mut page)?;
    let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
    page.extend_from_slice(extra_sections(&name).as_bytes());
    let path = dir.join(man.get_filename());
    std::fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    written.push(path);
    Ok(())
}

/// Writes zombies.bash, _zombies and zombies.fish: clap_complete's scripts, with PID
/// completion added where an argument takes a PID (value name `PID`); and ipc.bash, _ipc and
/// ipc.fish for the `ipc` name.
pub fn completions(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let pids = pid_args(&Cli::command());
    for shell in SHELLS {
        let script = script(shell, Cli::command(), BIN)?;
        let script = with_pid_completion(shell, &script, &pids)
            .map_err(|e| anyhow::anyhow!("{shell} completions: {e}; update src/generate.rs"))?;
        written.push(write_script(dir, shell, BIN, &script)?);
    }
    // A link named `ipc` runs `zombies ipc` (cli::with_applet); it completes as that subcommand.
    // The options declared global above it (--color, --proc, ...) are carried down by hand:
    // clap only propagates them when it builds the whole tree.
    let cli = Cli::command();
    let mut ipc = cli
        .find_subcommand(IPC)
        .context("the CLI has no ipc subcommand")?
        .clone();
    for global in cli.get_arguments().filter(|a| a.is_global_set()) {
        ipc = ipc.arg(global.clone());
    }
    for shell in SHELLS {
        let script = script(shell, ipc.clone(), IPC)?;
        written.push(write_script(dir, shell, IPC, &script)?);
    }
    Ok(written)
}

const SHELLS: [Shell; 3] = [Shell::Bash, Shell::Zsh, Shell::Fish];

/// clap_complete's script of `cmd` for `shell`, completing the command `name`.
fn script(shell: Shell, mut cmd: clap::Command, name: &str) -> Result<String> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut script);
    String::from_utf8(script).context("clap_complete wrote no UTF-8")
}

/// Writes `script` where `shell` looks for the completions of `name`; returns that path.
fn write_script(dir: &Path, shell: Shell, name: &str, script: &str) -> Result<PathBuf> {
    let path = dir.join(clap_complete::Generator::file_name(&shell, name));
    std::fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

const BIN: &str = "zombies";
const IPC: &str = "ipc";

/// Which processes a PID argument offers first (the order people pick from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PidKind {
    /// Zombies, then their parents (explain, fix --pid).
    Zombies,
    /// Parents of zombies (--parent, tree).
    Parents,
    /// PID 1 of each nested PID namespace: containers (probe-init).
    Inits,
}

impl PidKind {
    fn word(self) -> &'static str {
        match self {
            PidKind::Zombies => "zombies",
            PidKind::Parents => "parents",
            PidKind::Inits => "inits",
        }
    }
}

/// An argument that takes a PID: the subcommand it belongs to, its long name (None for a
/// positional argument), and what to offer first.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PidArg {
    subcommand: String,
    long: Option<String>,
    kind: PidKind,
}

/// Every argument named `PID` of the subcommands (one level down: no nested command takes
/// one today; pid_args_are_found fails when one does).
fn pid_args(cli: &clap::Command) -> Vec<PidArg> {
    let mut out = Vec::new();
    for sub in cli.get_subcommands() {
        for arg in sub.get_arguments() {
            if arg.get_value_names().is_none_or(|n| n != ["PID"]) {
                continue;
            }
            let long = arg.get_long().map(str::to_string);
            let kind = match (long.as_deref(), sub.get_name()) {
                (Some("parent"), _) | (None, "tree") => PidKind::Parents,
                (None, "probe-init") => PidKind::Inits,
                _ => PidKind::Zombies,
            };
            out.push(PidArg {
                subcommand: sub.get_name().to_string(),
                long,
                kind,
            });
        }
    }
    out
}

/// `script` with PID completion for `pids`: a helper reading /proc (src/generate/pids.*)
/// and the places clap_complete left file-name completion pointed at it. Every edit must
/// find its place exactly once, so that a new clap_complete cannot silently undo it.
fn with_pid_completion(shell: Shell, script: &str, pids: &[PidArg]) -> Result<String, String> {
    match shell {
        Shell::Bash => bash_pids(script, pids),
        Shell::Zsh => zsh_pids(script, pids),
        Shell::Fish => fish_pids(script, pids),
        _ => Ok(script.to_string()),
    }
}

/// Replaces the one occurrence of `from` in `text` with `to`.
fn replace_once(text: &str, from: &str, to: &str, what: &str) -> Result<String, String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => Err(format!("{n} places for {what}, expected one")),
    }
}

fn bash_pids(script: &str, pids: &[PidArg]) -> Result<String, String> {
    let mut out = script.to_string();
    for p in pids {
        // The subcommand's case block: `cmd="LABEL"` follows `zombies,NAME)`.
        let head = format!(
            "            {BIN},{})\n                cmd=\"",
            p.subcommand
        );
        let at = out
            .find(&head)
            .ok_or_else(|| format!("no case for {}", p.subcommand))?
            + head.len();
        let label = out[at..].split('"').next().unwrap_or_default().to_string();
        let start = out
            .find(&format!("\n        {label})\n"))
            .ok_or_else(|| format!("no block {label}"))?;
        let end = start
            + out[start..]
                .find("\n            ;;\n")
                .ok_or_else(|| format!("block {label} has no end"))?;
        let block = &out[start..end];
        let offer = format!(
            "compopt +o default +o bashdefault 2>/dev/null\n                    COMPREPLY=( $(compgen -W \"$(_zombies_pids {})\" -- \"${{cur}}\") )",
            p.kind.word()
        );
        let new = match &p.long {
            Some(long) => replace_once(
                block,
                &format!(
                    "                --{long})\n                    COMPREPLY=($(compgen -f \"${{cur}}\"))"
                ),
                &format!("                --{long})\n                    {offer}"),
                &format!("--{long} of {}", p.subcommand),
            )?,
            None => {
                // Options when the word starts with -, PIDs otherwise (clap offers options
                // for the first word, then file names).
                let cond = block
                    .find(" || ${COMP_CWORD} -eq ")
                    .ok_or_else(|| format!("no first-word test in {label}"))?;
                let cond_end = cond + block[cond..].find(" ]]").unwrap_or(0);
                let block = format!("{}{}", &block[..cond], &block[cond_end..]);
                replace_once(
                    &block,
                    "            esac\n            COMPREPLY=( $(compgen -W \"${opts}\" -- \"${cur}\") )",
                    &format!(
                        "            esac\n            {}",
                        offer.replace("\n                    ", "\n            ")
                    ),
                    &format!("the PID of {}", p.subcommand),
                )?
            }
        };
        out.replace_range(start..end, &new);
    }
    // The helper, before the function that uses it.
    let at = out.find("_zombies() {").ok_or("no _zombies function")?;
    out.insert_str(at, &format!("{}\n", include_str!("generate/pids.bash")));
    Ok(out)
}

fn zsh_pids(script: &str, pids: &[PidArg]) -> Result<String, String> {
    let mut lines: Vec<String> = script.lines().map(str::to_string).collect();
    let mut subcommand = String::new();
    let mut done = 0;
    for line in &mut lines {
        // `(NAME)` opens the arguments of subcommand NAME (help's copies take no PID).
        if let Some(name) = line
            .trim()
            .strip_prefix('(')
            .and_then(|l| l.strip_suffix(')'))
        {
            subcommand = name.to_string();
            continue;
        }
        for p in pids.iter().filter(|p| p.subcommand == subcommand) {
            let hit = match &p.long {
                Some(long) => {
                    line.starts_with(&format!("'--{long}=[")) && line.ends_with(":PID:_default' \\")
                }
                None => {
                    (line.starts_with("':pid -- ") || line.starts_with("'::pid -- "))
                        && line.ends_with(":_default' \\")
                }
            };
            if hit {
                let cut = line.len() - ":_default' \\".len();
                *line = format!("{}:_zombies_pids {}' \\", &line[..cut], p.kind.word());
                done += 1;
            }
        }
    }
    if done != pids.len() {
        return Err(format!("{done} of {} PID arguments found", pids.len()));
    }
    let mut out = lines.join("\n") + "\n";
    let at = out
        .find("\nif [ \"$funcstack[1]\" = \"_zombies\" ]; then")
        .ok_or("no closing compdef")?;
    out.insert_str(at + 1, &format!("{}\n", include_str!("generate/pids.zsh")));
    Ok(out)
}

fn fish_pids(script: &str, pids: &[PidArg]) -> Result<String, String> {
    let mut out = format!("{script}\n{}", include_str!("generate/pids.fish"));
    for p in pids {
        // -k: keep the helper's order (fish 3.1+), zombies or parents first.
        let offer = format!("-k -f -a \"(__fish_zombies_pids {})\"", p.kind.word());
        let using = format!(
            "complete -c {BIN} -n \"__fish_zombies_using_subcommand {}\"",
            p.subcommand
        );
        match &p.long {
            Some(long) => {
                let head = format!("{using} -l {long} -d '");
                let at = out
                    .find(&head)
                    .ok_or_else(|| format!("no --{long} of {}", p.subcommand))?;
                let eol = at + out[at..].find('\n').unwrap_or(out.len() - at);
                if !out[at..eol].ends_with(" -r") {
                    return Err(format!("--{long} of {} does not end in -r", p.subcommand));
                }
                out.insert_str(eol, &format!(" {offer}"));
            }
            None => out.push_str(&format!("{using} {offer}\n")),
        }
    }
    Ok(out)
}

/// The sections clap cannot write: exit codes, files, environment, examples, see also.
fn extra_sections(page: &str) -> String {
    let mut s = String::new();
    if page == "zombies" {
        s.push_str(EXIT_STATUS);
        s.push_str(FILES);
        s.push_str(ENVIRONMENT);
        s.push_str(EXAMPLES);
    }
    s.push_str(".SH \"SEE ALSO\"\n");
    if page != "zombies" {
        s.push_str(".BR zombies (1),\n");
    }
    s.push_str(
        ".BR ps (1),\n.BR pstree (1),\n.BR kill (1),\n.BR ipcs (1),\n.BR wait (2),\n.BR prctl (2),\n.BR proc (5)\n",
    );
    s
}

const EXIT_STATUS: &str = r#".SH "EXIT STATUS"
.TP
.B 0
Success. For \fBlist\fR, \fBtree\fR and \fBexplain\fR the scan worked, whether or not there are zombies; \fBwatch\fR ended with its summary (Ctrl-C and SIGTERM included).
.TP
.B 1
Failure: /proc could not be read, no such process, a fix that left zombies or refused a target, or a demo whose checked fact did not hold on this kernel.
.TP
.B 2
Usage error: an unknown option, a malformed PID or duration, an unknown demo name.
.TP
.B 130
A demo interrupted by Ctrl-C, SIGTERM or SIGHUP, after cleaning up.
.PP
\fBzombies check\fR speaks the monitoring-plugins protocol instead: 0 OK, 1 WARNING, 2 CRITICAL,
3 UNKNOWN (/proc unreadable or hiding processes from the user with hidepid, invalid options, a
state path that is not a state file of zombies check, output not writable).
.PP
\fBzombies probe\-init\fR answers its question instead: 0 the namespace's PID 1 reaps orphans,
1 it does not (one zombie is left, and the report says how to remove it), 3 the probe could not be
made (no such process, a kernel thread, not root, a namespace not below this tool's; the report
says why), 2 a usage error.
"#;

const FILES: &str = r#".SH FILES
.TP
.I /proc
The process information pseudo-filesystem read by every command (see \fB\-\-proc\fR).
.TP
.I /sys/fs/cgroup
The cgroup filesystem: the \fBpids.max\fR and \fBpids.current\fR of the cgroups that parents of zombies run in (see \fB\-\-sys\fR).
.TP
.I /var/log/pods
The kubelet's pod log directories, \fINAMESPACE_POD_UID\fR: the names of the pods that parents of zombies run in (see \fB\-\-pods\-dir\fR).
.TP
.I $XDG_CONFIG_HOME/zombies/ignore.toml
The ignore list (\fI/etc/zombies/ignore.toml\fR for root), written by \fBzombies fix \-\-ignore\fR.
.TP
.I $XDG_STATE_HOME/zombies/check-state.json
When \fBzombies check\fR first saw each zombie, per PID namespace and boot
(\fI/var/lib/zombies/check-state.json\fR for root; see \fB\-\-state\fR).
"#;

const ENVIRONMENT: &str = r#".SH ENVIRONMENT
.TP
.B NO_COLOR
When set and not empty, \fB\-\-color auto\fR prints no colour.
.TP
.B ZOMBIES_PROC
The procfs to read, as \fB\-\-proc\fR.
.TP
.B ZOMBIES_SYS
The sysfs to read cgroup PID limits from, as \fB\-\-sys\fR.
.TP
.B ZOMBIES_PODS_DIR
The kubelet's pod log directory, as \fB\-\-pods\-dir\fR.
.TP
.B ZOMBIES_IGNORE_FILE
The ignore list to use, as \fB\-\-ignore\-file\fR.
.TP
.B ZOMBIES_NO_PIDFD
When set to anything but 0, \fBfix\fR does not use pidfds and re-checks each process's start time before kill(2), as on kernels before 5.3.
.TP
.B ZOMBIES_STATE
The state file of \fBzombies check\fR, as \fB\-\-state\fR.
"#;

const EXAMPLES: &str = r#".SH EXAMPLES
.TP
.B zombies list
Zombies grouped by the parent that is not reaping them, with the remedy for each.
.TP
.B zombies explain 4242
Why zombie 4242 has not been reaped, with the evidence from /proc and the command to fix it.
.TP
.B zombies tree \-\-zombies\-only
The branches of the process tree that lead to zombies.
.TP
.B zombies check \-\-warn 5 \-\-crit 20 \-\-max\-age 30m
A Nagios/Icinga check: one line with performance data, exit 0 to 3.
.TP
.B zombies watch \-\-min\-age 30s \-\-format json
Every zombie that lives 30 seconds or more, with its exact death time, as JSON Lines.
.TP
.B zombies check \-\-format prometheus \-\-output /var/lib/node_exporter/textfile_collector/zombies.prom
Metrics for the node_exporter textfile collector, written atomically.
.TP
.B zombies probe\-init 4242
Whether PID 1 of the PID namespace of 4242 (a container's process, as the host numbers it) reaps
orphans: it is given one, and watched. Exit 0 reaps, 1 does not, 3 untested.
.TP
.B zombies list \-\-proc /host/proc
From a container, the host's processes (with the host's /proc mounted at /host/proc).
.TP
.B zombies list \-\-pod web\-0
The zombies whose parents run in Kubernetes pod web\-0, with its containers and the pids.max they count against.
.TP
.B zombies check \-\-warn\-pids 80 \-\-crit\-pids 95
WARNING or CRITICAL when a PID limit that zombies take part of (a container's pids.max, kernel.pid_max, kernel.threads-max) is that full: forks there are about to fail with EAGAIN.
.TP
.B zombies fix \-\-auto \-\-all \-\-dry\-run
The remedy each parent of zombies would get, and which would be refused and why; nothing is sent.
.TP
.B zombies fix \-\-kill\-parent \-\-parent 4242 \-\-yes
Terminate 4242 (SIGTERM, SIGKILL after 5s) so that its zombies are adopted and reaped, and check that they were.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_args_are_found() {
        let found: Vec<(String, Option<String>, PidKind)> = pid_args(&Cli::command())
            .into_iter()
            .map(|p| (p.subcommand, p.long, p.kind))
            .collect();
        let want = |s: &str, l: Option<&str>, k| (s.to_string(), l.map(str::to_string), k);
        let mut want = vec![
            want("list", Some("parent"), PidKind::Parents),
            want("tree", None, PidKind::Parents),
            want("explain", None, PidKind::Zombies),
            want("fix", Some("parent"), PidKind::Parents),
            want("fix", Some("pid"), PidKind::Zombies),
            want("check", Some("parent"), PidKind::Parents),
            want("watch", Some("parent"), PidKind::Parents),
            want("probe-init", None, PidKind::Inits),
        ];
        let mut found_sorted = found.clone();
        found_sorted.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        want.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        assert_eq!(found_sorted, want);
        // Only subcommands one level down are looked at: a PID deeper down would be missed.
        fn deeper(cmd: &clap::Command, depth: usize) -> Vec<String> {
            let mut out = Vec::new();
            for sub in cmd.get_subcommands() {
                if depth >= 1
                    && sub
                        .get_arguments()
                        .any(|a| a.get_value_names().is_some_and(|n| n == ["PID"]))
                {
                    out.push(sub.get_name().to_string());
                }
                out.extend(deeper(sub, depth + 1));
            }
            out
        }
        assert!(deeper(&Cli::command(), 0).is_empty());
    }

    #[test]
    fn a_changed_clap_complete_fails_loudly() {
        let pids = pid_args(&Cli::command());
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            assert!(
                with_pid_completion(shell, "nothing to patch\n", &pids).is_err(),
                "{shell}"
            );
        }
    }
}

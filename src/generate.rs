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

/// Writes zombies.bash, _zombies and zombies.fish.
pub fn completions(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let mut cmd = Cli::command();
        let path = clap_complete::generate_to(shell, &mut cmd, "zombies", dir)
            .with_context(|| format!("cannot write {shell} completions to {}", dir.display()))?;
        written.push(path);
    }
    Ok(written)
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
.B zombies fix \-\-auto \-\-all \-\-dry\-run
The remedy each parent of zombies would get, and which would be refused and why; nothing is sent.
.TP
.B zombies fix \-\-kill\-parent \-\-parent 4242 \-\-yes
Terminate 4242 (SIGTERM, SIGKILL after 5s) so that its zombies are adopted and reaped, and check that they were.
"#;

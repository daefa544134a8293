//! The command-line interface: clap types only. Their doc comments become --help and the man
//! pages; nothing below the app layer sees clap.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::proc::Pid;

/// Find zombie processes, explain why their parents do not reap them, and fix it safely.
///
/// A zombie is a process that has exited but whose parent has not yet collected its exit
/// status with wait(2). zombies reads /proc, finds them, names the parent responsible, says
/// why it is not reaping (SIGCHLD ignored, blocked or never handled, parent stopped or traced,
/// a container's PID 1 that is not an init) and what to do about it. It also checks for them
/// from cron and monitoring, and teaches how processes are born, die and talk with demos that
/// run on the live system.
#[derive(Debug, Parser)]
#[command(
    name = "zombies",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Read another procfs, e.g. the host's /proc mounted in a container.
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "ZOMBIES_PROC",
        default_value = "/proc"
    )]
    pub proc: PathBuf,

    /// When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List zombies grouped by the parent that is not reaping them (the default command).
    List(ListArgs),
    /// Show the process tree with zombies and their parents marked.
    Tree(TreeArgs),
    /// Explain why a zombie has not been reaped, citing /proc, and how to fix it.
    Explain(ExplainArgs),
    /// Learn how processes are born, scheduled and die: demos that make the real system
    /// calls on this machine and show the evidence from /proc.
    ///
    /// Each demo narrates numbered steps: the system call made, what it returned, and the
    /// evidence read live from /proc (file, field, value, meaning; ✓ marks a fact checked on
    /// this kernel). Demos make this process a child subreaper and kill and reap every
    /// process they start, also on Ctrl-C, SIGTERM or SIGHUP (then exit 130). They always
    /// read the running system's /proc, whatever --proc says. Exit status 1 means a fact
    /// taught did not hold on this kernel.
    Demo(DemoArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Output format of list and explain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// One JSON object (the documented, stable contract).
    Json,
}

#[derive(Debug, Default, Args)]
pub struct ListArgs {
    /// Only the zombies of this parent.
    #[arg(long, value_name = "PID", value_parser = parse_pid)]
    pub parent: Option<Pid>,

    /// Only zombies owned by this user (name or uid).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Print only the zombie PIDs, one per line.
    #[arg(long, conflicts_with = "format")]
    pub pids: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    /// Start the tree at this process (default: every root).
    #[arg(value_name = "PID", value_parser = parse_pid)]
    pub pid: Option<Pid>,

    /// Keep only the branches that lead to zombies.
    #[arg(long, short = 'z')]
    pub zombies_only: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A zombie, a parent of zombies, or any process.
    #[arg(value_name = "PID", value_parser = parse_pid)]
    pub pid: Pid,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `zombies demo [NAME]` (documented on `Command::Demo`).
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo to run, or `all` for every one in order; without it, list the demos.
    #[arg(value_name = "NAME", value_parser = demo_names())]
    pub name: Option<String>,

    /// Pause after each step until Enter is pressed (to read, or to inspect from another shell).
    #[arg(long)]
    pub step: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DemoFormat::Text)]
    pub format: DemoFormat,

    /// How long `demo zombie` keeps its zombie for you to inspect: 500ms, 3s, 2m.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = crate::demo::parse_duration)]
    pub hold: std::time::Duration,

    /// The exit code of the dying child in `demo exit` and `demo zombie`.
    #[arg(long, value_name = "CODE", default_value_t = 42)]
    pub code: u8,
}

/// Output format of `zombies demo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DemoFormat {
    /// Numbered steps for people.
    #[default]
    Text,
    /// JSON Lines: one event object per line (start, step, end, interrupted), each step with
    /// its syscall, result and evidence rows.
    Json,
}

/// The demo names, each with its one-line summary for --help.
fn demo_names() -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    let mut values: Vec<PossibleValue> = crate::demo::DEMOS
        .iter()
        .map(|d| PossibleValue::new(d.name).help(d.summary))
        .collect();
    values.push(PossibleValue::new(crate::demo::ALL).help("every demo above, in this order"));
    clap::builder::PossibleValuesParser::new(values)
}

/// Parses a PID: a positive whole number.
pub fn parse_pid(s: &str) -> Result<Pid, String> {
    match s.trim().parse::<i64>() {
        Ok(n) if n > 0 && n <= i64::from(i32::MAX) => Ok(n as Pid),
        Ok(_) => Err(format!(
            "'{s}' is not a valid PID: PIDs are whole numbers from 1"
        )),
        Err(_) => Err(format!(
            "'{s}' is not a PID: give a process ID such as 4242"
        )),
    }
}

/// Parses the command line. Started under the name `ipc` (a link to this binary), it behaves
/// as `zombies ipc`, busybox-style.
pub fn parse() -> Cli {
    Cli::parse_from(with_applet(std::env::args_os().collect()))
}

/// Inserts the applet name as subcommand when argv[0] names one.
pub fn with_applet(mut args: Vec<OsString>) -> Vec<OsString> {
    let applet = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_os_string());
    if applet.as_deref() == Some(std::ffi::OsStr::new("ipc")) {
        args.insert(1, "ipc".into());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn pids_are_validated() {
        assert_eq!(parse_pid("42"), Ok(42));
        assert!(parse_pid("0").is_err());
        assert!(parse_pid("-3").is_err());
        assert!(parse_pid("abc").is_err());
        assert!(parse_pid("99999999999").is_err());
    }

    #[test]
    fn ipc_applet_name() {
        let a = with_applet(vec!["/usr/local/bin/ipc".into(), "list".into()]);
        assert_eq!(
            a,
            vec![
                OsString::from("/usr/local/bin/ipc"),
                "ipc".into(),
                "list".into()
            ]
        );
        let b = with_applet(vec!["zombies".into(), "list".into()]);
        assert_eq!(b.len(), 2);
    }
}

//! The command-line interface: clap types only. Their doc comments become --help and the man
//! pages; nothing below the app layer sees clap.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::check::Range;
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

    /// The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or
    /// /etc/zombies/ignore.toml for root).
    #[arg(long, global = true, value_name = "PATH", env = "ZOMBIES_IGNORE_FILE")]
    pub ignore_file: Option<PathBuf>,

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
    /// Check for zombies from cron or monitoring: a Nagios/Icinga plugin, a Prometheus
    /// textfile, or JSON.
    ///
    /// Exits 0 OK, 1 WARNING, 2 CRITICAL or 3 UNKNOWN, as Nagios and Icinga plugins do; UNKNOWN
    /// when /proc cannot be read or an option is invalid. Zero zombies is always OK, whatever
    /// the thresholds. Parents on the ignore list are left out and counted as ignored.
    ///
    /// RANGE is the monitoring-plugins threshold syntax, as in check_procs: N alerts above N,
    /// N: below N, ~:N above N, N:M outside N..M, @N:M inside N..M. So --warn 2 --crit 4 is OK
    /// at 2 zombies, WARNING at 3 and 4, CRITICAL from 5.
    Check(CheckArgs),
    /// Write the man pages or shell completions (for packagers and this repository).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to generate.
    #[arg(value_enum)]
    pub what: Generated,
    /// The directory to write into.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// man/zombies.1 and one page per subcommand.
    Man,
    /// Bash, zsh and fish completions.
    Completions,
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

    /// Also show the parents on the ignore list.
    #[arg(long)]
    pub all: bool,

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

/// Output format of check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// One line for Nagios, Icinga and NRPE: status, text and performance data.
    #[default]
    Nagios,
    /// Prometheus text exposition format, for the node_exporter textfile collector.
    Prometheus,
    /// One JSON object: status, counts, thresholds and the per-parent detail of list.
    Json,
}

/// Thresholds, state and output of `zombies check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// WARNING when the zombie count is in this alert range; the default 5 means more than 5.
    #[arg(long, short = 'w', value_name = "RANGE", value_parser = parse_range, default_value = "5")]
    pub warn: Range,

    /// CRITICAL when the zombie count is in this alert range; the default 20 means more than 20.
    #[arg(long, short = 'c', value_name = "RANGE", value_parser = parse_range, default_value = "20")]
    pub crit: Range,

    /// CRITICAL when a zombie has been seen for longer than this: 500ms, 30s, 10m, 2h, 1d.
    /// The kernel does not record when a process died, so ages are measured from the first
    /// check that saw the zombie (see --state); run the check at least this often.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub max_age: Option<Duration>,

    /// WARNING when one parent holds more than N zombies.
    #[arg(long, value_name = "N")]
    pub warn_per_parent: Option<usize>,

    /// Where to remember when each zombie was first seen [default:
    /// $XDG_STATE_HOME/zombies/check-state.json (~/.local/state/...), or
    /// /var/lib/zombies/check-state.json for root]. Written only when it changes.
    #[arg(long, value_name = "PATH", env = "ZOMBIES_STATE")]
    pub state: Option<PathBuf>,

    /// Only the zombies of this parent.
    #[arg(long, value_name = "PID", value_parser = parse_pid)]
    pub parent: Option<Pid>,

    /// Only zombies owned by this user (name or uid).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Nagios)]
    pub format: CheckFormat,

    /// Write the report to FILE instead of stdout, atomically (a temporary file in the same
    /// directory, then rename), as the node_exporter textfile collector needs.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print nothing when the status is OK (cron mails only problems); the exit code still
    /// tells.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

fn parse_range(s: &str) -> Result<Range, String> {
    Range::parse(s)
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
    let args = with_applet(std::env::args_os().collect());
    match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        // Help and --version print and exit 0 as usual.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) if subcommand(&args) == Some("check") => check_usage_error(&e),
        Err(e) => e.exit(),
    }
}

/// The subcommand named on a command line: the first word that is not an option or the value
/// of a global option.
pub fn subcommand(args: &[OsString]) -> Option<&str> {
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    while let Some(word) = words.next() {
        match word? {
            "--proc" | "--color" | "--ignore-file" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => return Some(w),
        }
    }
    None
}

/// An invalid `zombies check` command line. Nagios reads clap's exit code 2 as CRITICAL, so
/// say UNKNOWN, on one line of stdout where the monitoring system looks, and exit 3.
fn check_usage_error(e: &clap::Error) -> ! {
    let text = e.render().to_string();
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "ZOMBIES UNKNOWN: invalid arguments: {first} (see zombies check --help)"
    );
    let _ = out.flush();
    std::process::exit(crate::exit::Exit::CHECK_UNKNOWN.0.into())
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
    fn finds_the_subcommand_past_global_options() {
        let words = |s: &str| -> Vec<OsString> { s.split(' ').map(OsString::from).collect() };
        assert_eq!(subcommand(&words("zombies check --warn 3")), Some("check"));
        assert_eq!(
            subcommand(&words("zombies --proc /p --color never check")),
            Some("check")
        );
        assert_eq!(
            subcommand(&words("zombies --proc=/p --ignore-file f check")),
            Some("check")
        );
        assert_eq!(
            subcommand(&words("zombies --proc check list")),
            Some("list")
        );
        assert_eq!(subcommand(&words("zombies --quiet")), None);
    }

    #[test]
    fn check_defaults() {
        let cli = Cli::try_parse_from(["zombies", "check"]).unwrap();
        let Some(Command::Check(args)) = cli.command else {
            panic!("not check")
        };
        assert_eq!(args.warn, crate::check::DEFAULT_WARN);
        assert_eq!(args.crit, crate::check::DEFAULT_CRIT);
        assert_eq!(args.format, CheckFormat::Nagios);
        assert!(Cli::try_parse_from(["zombies", "check", "--warn", "5:3"]).is_err());
        assert!(Cli::try_parse_from(["zombies", "check", "--max-age", "10"]).is_err());
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

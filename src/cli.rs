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
    /// Learn inter-process communication with live demos, and find leaked IPC objects.
    ///
    /// Also answers to the name `ipc`: make a link with
    /// `ln -s "$(command -v zombies)" ~/.local/bin/ipc` and type `ipc demo fifo`.
    Ipc(IpcArgs),
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

#[derive(Debug, Args)]
pub struct IpcArgs {
    /// Without a subcommand: `list`.
    #[command(subcommand)]
    pub command: Option<IpcCommand>,
}

#[derive(Debug, Subcommand)]
pub enum IpcCommand {
    /// Run a demo: real processes use one IPC primitive while the kernel's view of it
    /// (/proc, /dev/shm, /dev/mqueue) is shown step by step.
    ///
    /// Every object a demo creates is removed when it ends, also on error and on Ctrl-C or
    /// SIGTERM (then it exits 130); every child process is killed and reaped.
    Demo(IpcDemoArgs),
    /// List System V message queues, semaphore sets and shared memory segments
    /// (/proc/sysvipc) and POSIX queues, shared memory and named semaphores (/dev/mqueue,
    /// /dev/shm), with their owners and whether the processes that used them still live.
    List(IpcListArgs),
}

#[derive(Debug, Args)]
pub struct IpcDemoArgs {
    /// The demo to run; without a name, list the demos.
    #[arg(value_enum, value_name = "NAME")]
    pub name: Option<DemoName>,

    /// Pause after each step until Enter is pressed, to look around in /proc meanwhile.
    #[arg(long)]
    pub step: bool,

    /// Output format: text, or json for one event per line.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// mqueue, sem, shm: the POSIX variant (mq_open, sem_open, shm_open) instead of System V.
    #[arg(long)]
    pub posix: bool,

    /// fifo: create the FIFO at PATH (which must not exist) and wait for a writer from
    /// another shell, e.g. `echo hi > PATH`. It is removed at the end.
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
}

/// The IPC demos.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DemoName {
    /// Catch, ignore and block signals; SIGKILL and SIGSTOP cannot be; stop and continue.
    Signal,
    /// pipe(2) between a parent and a child: shared inode, EOF, EPIPE and SIGPIPE.
    Pipe,
    /// A named pipe made with mkfifo: open blocks until both ends are open.
    Fifo,
    /// A message queue: typed messages and the permissions its creator set.
    Mqueue,
    /// A semaphore: lost updates without it, none with it, SEM_UNDO.
    Sem,
    /// Shared memory: one segment attached by two processes.
    Shm,
}

#[derive(Debug, Default, Args)]
pub struct IpcListArgs {
    /// Only objects whose creator and last users are all gone and that nobody has attached
    /// or open: the leaks that survive until reboot.
    #[arg(long)]
    pub orphaned: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
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

//! The command-line interface: clap types only. Their doc comments become --help and the man
//! pages; config.rs turns them into the typed requests the rest of the program takes, and
//! nothing else sees clap. It uses only leaf modules of values (durations, threshold ranges,
//! the demo catalog), never a domain module.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

use crate::catalog;
use crate::range::Range;

/// A process ID as the options take it (validated by `parse_pid`).
pub type Pid = i32;

/// Find zombie processes, explain why their parents do not reap them, and fix it safely.
///
/// A zombie is a process that has exited but whose parent has not yet collected its exit
/// status with wait(2). zombies reads /proc, finds them, names the parent responsible, says
/// why it is not reaping (SIGCHLD ignored, blocked or never handled, parent stopped or traced,
/// a container's PID 1 that is not an init) and what to do about it. It also checks for them
/// from cron and monitoring, and teaches how processes are born, die and talk with demos that
/// run on the live system.
/// The heading the options every command takes stand under, apart from its own.
const GLOBAL: &str = "Global options";

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
        global = true, help_heading = GLOBAL,
        value_name = "PATH",
        env = "ZOMBIES_PROC",
        default_value = "/proc"
    )]
    pub proc: PathBuf,

    /// When to use colour: auto means when stdout is a terminal and NO_COLOR is unset or empty.
    #[arg(long, global = true, help_heading = GLOBAL, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// The ignore list to use instead of the default ($XDG_CONFIG_HOME/zombies/ignore.toml, or
    /// /etc/zombies/ignore.toml for root).
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "PATH", env = "ZOMBIES_IGNORE_FILE")]
    pub ignore_file: Option<PathBuf>,

    /// Read the cgroup PID limits (pids.max, pids.current under fs/cgroup) from this sysfs,
    /// e.g. the host's /sys mounted in a container [default: /sys, when --proc is a mounted
    /// procfs]. Inside a cgroup namespace (cgroup paths starting /..) it must hold the whole
    /// hierarchy, where the container's own /sys/fs/cgroup is found to place those paths.
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "PATH", env = "ZOMBIES_SYS")]
    pub sys: Option<PathBuf>,

    /// Where the kubelet keeps pod logs, one directory NAMESPACE_POD_UID per pod: it names the
    /// pods of Kubernetes containers, with no API server [default: /var/log/pods; a missing
    /// directory leaves pods unnamed].
    #[arg(long, global = true, help_heading = GLOBAL, value_name = "PATH", env = "ZOMBIES_PODS_DIR")]
    pub pods_dir: Option<PathBuf>,

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
    /// Fix zombies: nudge their parent, kill it, make it reap them (--reap), or ignore it
    ///
    /// Exactly one remedy and one target per call. fix shows its plan and asks before it acts
    /// (with no terminal, as under cron, it refuses unless --yes), then checks the result: it
    /// waits until the targeted zombies are gone or --timeout passes and reports, per parent,
    /// how many were cleared and what to try next when they were not.
    ///
    /// Safety: fix never signals PID 1 of any PID namespace, kthreadd or a kernel thread,
    /// itself, its own ancestors or its session leader (that would end your shell, your tmux or
    /// the cron daemon); --all skips them and says why. Critical services (systemd, sshd,
    /// container runtimes, cron, ...) need --force, which never unlocks PID 1 or ancestors.
    /// Signals go through a pidfd opened on the process whose start time matches the diagnosis,
    /// so a PID recycled in the meantime is never hit. Zombies a tracer holds (a debugger,
    /// strace) cannot be cleared through their parent: fix refuses to signal it and names the
    /// tracer, and --auto reports detach-tracer without acting on the tracer.
    ///
    /// --reap sends no signal: it attaches to the parent with ptrace for about a millisecond,
    /// has it call wait4() for each targeted zombie and lets it carry on where it was. It is
    /// the one remedy that works on PID 1 of a container. It refuses a parent that is traced,
    /// stopped, in uninterruptible sleep or under seccomp (--force for seccomp), and zombies
    /// younger than --min-age, whose parent may still be about to wait for them.
    ///
    /// Exit status: 0 when every targeted zombie is gone (for --ignore: when every parent is on
    /// the list; for --dry-run: when nothing would be refused), 1 when some remain, a target was
    /// refused or the answer was no, 2 for usage errors (including no terminal and no --yes).
    #[command(verbatim_doc_comment)]
    Fix(FixArgs),
    /// Show or edit the ignore list: parents whose zombies list and check do not report.
    ///
    /// Entries are added with `zombies fix --ignore`. The list lives in
    /// $XDG_CONFIG_HOME/zombies/ignore.toml (/etc/zombies/ignore.toml for root), or wherever
    /// --ignore-file says.
    Ignore(IgnoreArgs),
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
    /// Watch zombies live: when each became one (its exact death time), who adopted it when
    /// its parent died, and when it was reaped; a summary at the end.
    ///
    /// As root, or as anyone on Linux 6.6+, watch listens to the kernel's exit events (the
    /// proc connector) and dates each zombie at its exit, to the millisecond; processes
    /// reaped at once make no event (see --all-exits), so the stream stays about zombies.
    /// Elsewhere (CAP_NET_ADMIN missing before 6.6, or inside a container's PID namespace)
    /// it scans /proc every --interval and says so in its first line. Zombies already there
    /// when it starts are reported as existing, dated when found. With nothing to watch it
    /// sleeps in the kernel and costs nothing.
    ///
    /// Ctrl-C or SIGTERM (or --for) ends it after a summary: zombies seen, reaped and still
    /// there, the slowest reap, and per parent its zombies and their rate.
    ///
    /// Exit status: 0 after the summary (Ctrl-C, SIGTERM or the end of --for), 1 when watching
    /// failed, 2 for usage errors.
    Watch(WatchArgs),
    /// Test whether a container's PID 1 reaps orphans, by giving it one and watching
    ///
    /// PID is any process of the container, usually its PID 1 as the host numbers it. probe-init
    /// enters that process's PID namespace (setns on /proc/PID/ns/pid), forks a process there
    /// whose parent exits at once, so that the namespace's PID 1 adopts it, lets it exit, and
    /// watches through a pidfd whether PID 1 reaps it within --timeout. The evidence shown is
    /// PID 1's name, state and SIGCHLD disposition. "Reaps" is only said after the reap was
    /// seen. A PID 1 that does not reap keeps exactly that one zombie (named zombies-probe):
    /// the report says how to remove it (`zombies fix --reap`, or restarting the container).
    ///
    /// Needs root (CAP_SYS_ADMIN to enter the namespace), the procfs of this tool's own PID
    /// namespace, and a namespace at or below it: run it on the host.
    ///
    /// Exit status: 0 PID 1 reaps, 1 it does not, 3 the probe could not be made (no such
    /// process, a kernel thread, not root, PID 1 exited meanwhile...: the report says why;
    /// also after Ctrl-C or SIGTERM, which end the wait, not the report), 2 for usage errors.
    #[command(verbatim_doc_comment)]
    ProbeInit(ProbeInitArgs),
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
    /// Learn inter-process communication with live demos, and find leaked IPC objects.
    ///
    /// Also answers to the name `ipc`: make a link with
    /// `ln -s "$(command -v zombies)" ~/.local/bin/ipc` and type `ipc demo fifo`.
    Ipc(IpcArgs),
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

/// Which zombies list, check and watch look at; all given must hold.
#[derive(Debug, Default, Args)]
pub struct Select {
    /// Only the zombies of this parent.
    #[arg(long, value_name = "PID", value_parser = parse_pid)]
    pub parent: Option<Pid>,

    /// Only zombies owned by this user (name or uid).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Only zombies whose parent runs in the container whose ID starts with this (as `docker
    /// ps` or `crictl ps` shows it; an LXC container's name).
    #[arg(long, value_name = "ID-PREFIX")]
    pub container: Option<String>,

    /// Only zombies whose parent runs in this Kubernetes pod: its name, NAMESPACE/NAME or UID
    /// (names come from --pods-dir).
    #[arg(long, value_name = "NAME")]
    pub pod: Option<String>,
}

#[derive(Debug, Default, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub select: Select,

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

/// `zombies fix`: one remedy, one target, and the safety switches.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("remedy").required(true).args(["signal_parent", "kill_parent", "ignore", "reap", "auto"])))]
#[command(group(ArgGroup::new("target").required(true).args(["parent", "pid", "all"])))]
pub struct FixArgs {
    /// Remedy: send SIGCHLD to the parent (SIGCONT first when it is stopped), so a handler
    /// that reaps runs. Works when `explain` says the parent catches SIGCHLD unblocked.
    #[arg(long, help_heading = "Remedy (choose one)")]
    pub signal_parent: bool,

    /// Remedy: SIGTERM the parent, SIGKILL it after --grace; its zombies are adopted by PID 1
    /// of its namespace or the nearest subreaper, which should reap them. Reports the adopter.
    #[arg(long, help_heading = "Remedy (choose one)")]
    pub kill_parent: bool,

    /// Remedy: add the parent to the ignore list (by executable, else by name) so list and
    /// check stop reporting it. Sends no signal.
    #[arg(long, help_heading = "Remedy (choose one)")]
    pub ignore: bool,

    /// Remedy: make the parent itself call wait4() for its zombies (through ptrace, paused for
    /// about a millisecond), and let it carry on: no signal, no restart; also for PID 1 of a
    /// container. Its own later waitpid() of those children gets ECHILD, so only zombies
    /// older than --min-age are reaped. Needs CAP_SYS_PTRACE (root) and an x86_64 parent.
    #[arg(long, help_heading = "Remedy (choose one)")]
    pub reap: bool,

    /// Remedy: each parent's recommended remedy, as `list` shows it. fix-init and ignore
    /// recommendations are reported with the command to apply them, never acted on.
    #[arg(long, help_heading = "Remedy (choose one)")]
    pub auto: bool,

    /// With --auto: reap instead of killing a parent or advising fix-init.
    #[arg(long, requires = "auto")]
    pub prefer_reap: bool,

    /// With --reap: leave zombies younger than this alone (their parent may yet wait for
    /// them): 0s to reap all. Ages come from check's state file (exact with `zombies watch
    /// --state`), else from when the zombie started, an upper bound.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse, default_value = "60s")]
    pub min_age: Duration,

    /// Target: this parent of zombies.
    #[arg(long, value_name = "PID", value_parser = parse_pid, help_heading = "Target (choose one)")]
    pub parent: Option<Pid>,

    /// Target: the parent of this zombie (all of that parent's zombies are targeted).
    #[arg(long, value_name = "PID", value_parser = parse_pid, help_heading = "Target (choose one)")]
    pub pid: Option<Pid>,

    /// Target: every parent with zombies that is not on the ignore list.
    #[arg(long, help_heading = "Target (choose one)")]
    pub all: bool,

    /// Also act on critical services (systemd, sshd, dockerd, cron, ...). Never unlocks PID 1,
    /// kernel threads, or this tool's ancestors and session leader.
    #[arg(long)]
    pub force: bool,

    /// Act without asking. Needed when stdin is not a terminal (cron, scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print the plan and change nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,

    /// With --kill-parent: how long to wait after SIGTERM before SIGKILL (e.g. 500ms, 5s, 1m).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse, default_value = "5s")]
    pub grace: Duration,

    /// How long to wait for the zombies to be reaped before reporting failure.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse, default_value = "5s")]
    pub timeout: Duration,

    /// Before sending anything, give the parents this long to reap on their own: a parent
    /// whose zombies go away meanwhile was about to wait() and is left alone (0s to skip).
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse, default_value = "1s")]
    pub settle: Duration,

    /// With --ignore: only when the parent runs as the same user (records its uid).
    #[arg(long)]
    pub same_user: bool,

    /// With --ignore: why, for the next person reading the list.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct IgnoreArgs {
    #[command(subcommand)]
    pub action: IgnoreAction,
}

#[derive(Debug, Subcommand)]
pub enum IgnoreAction {
    /// Show the entries and the file they live in.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Remove the entries whose executable path or command name is ENTRY.
    ///
    /// An interpreter (python, node, a shell, ...) has one entry per script, told apart by
    /// its command line: when ENTRY names several, pick one with --cmdline.
    Remove {
        /// An executable path or a command name, as `zombies ignore list` shows it.
        #[arg(value_name = "ENTRY")]
        entry: String,
        /// Only the entry for this command line, as `zombies ignore list` shows it after
        /// "running".
        #[arg(long, value_name = "CMDLINE")]
        cmdline: Option<String>,
    },
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

/// `zombies watch`: which zombies to follow, for how long, and how to say it.
#[derive(Debug, Args)]
#[command(mut_arg("parent", |a| a.help("Only the zombies of this parent (as it was when they died)")))]
pub struct WatchArgs {
    #[command(flatten)]
    pub select: Select,

    /// Report a zombie only once it has been one this long (its event then says how long):
    /// 500ms, 30s, 10m, 2h. Zombies reaped sooner make no event.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse)]
    pub min_age: Option<Duration>,

    /// Stop after this long, with the summary.
    #[arg(long = "for", value_name = "DURATION", value_parser = crate::duration::parse)]
    pub run_for: Option<Duration>,

    /// Also report every process reaped at once (the normal case), not only zombies.
    #[arg(long)]
    pub all_exits: bool,

    /// Scan /proc every --interval instead of listening to the kernel's exit events (what
    /// runs anyway where those cannot be had).
    #[arg(long)]
    pub scan: bool,

    /// How often to scan /proc when scanning.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse, default_value = "1s")]
    pub interval: Duration,

    /// Keep each zombie's death time in this state file of `zombies check` (the one its
    /// --state names), so that `check --max-age` measures from the death instead of from its
    /// first sighting. Both may write it: the earlier time always wins.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,

    /// Output format: text for people, json for one JSON object per line (JSON Lines).
    // The shared values say "one JSON object", which watch prints per line: the line above
    // names them instead.
    #[arg(long, value_enum, default_value_t = Format::Text, hide_possible_values = true)]
    pub format: Format,
}

/// `zombies probe-init PID` (documented on `Command::ProbeInit`).
#[derive(Debug, Args)]
pub struct ProbeInitArgs {
    /// Any process of the container, usually its PID 1 as the host numbers it.
    #[arg(value_name = "PID", value_parser = parse_pid)]
    pub pid: Pid,

    /// How long PID 1 has to reap the orphan after it exits: 500ms, 5s, 1m.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse, default_value = "5s")]
    pub timeout: Duration,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

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

    /// WARNING when a PID limit that counted zombies take part of is at least PCT percent full:
    /// the pids.max of a cgroup they run under, kernel.pid_max or kernel.threads-max. A fork
    /// fails with "Resource temporarily unavailable" when one is full.
    #[arg(long, value_name = "PCT", value_parser = parse_pct)]
    pub warn_pids: Option<f64>,

    /// CRITICAL when such a limit is at least PCT percent full.
    #[arg(long, value_name = "PCT", value_parser = parse_pct)]
    pub crit_pids: Option<f64>,

    /// Where to remember when each zombie was first seen [default:
    /// $XDG_STATE_HOME/zombies/check-state.json (~/.local/state/...), or
    /// /var/lib/zombies/check-state.json for root]. Written only when it changes. Only a state
    /// file of zombies check is ever replaced: any other file, a symbolic link or a FIFO there
    /// makes the check UNKNOWN. The directory of a path given here is never created.
    #[arg(long, value_name = "PATH", env = "ZOMBIES_STATE")]
    pub state: Option<PathBuf>,

    #[command(flatten)]
    pub select: Select,

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

    /// With --output: check again every DURATION and rewrite the file, until SIGTERM or
    /// SIGINT (then exit 0): a textfile exporter in one process, for a container with no
    /// cron and no shell (the Kubernetes DaemonSet). A failed check writes UNKNOWN and
    /// goes on.
    #[arg(long, value_name = "DURATION", value_parser = crate::duration::parse, requires = "output")]
    pub every: Option<Duration>,
}

fn parse_range(s: &str) -> Result<Range, String> {
    Range::parse(s)
}

/// Parses a percentage: 80, 80% or 92.5, from 0 to 100.
pub fn parse_pct(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let t = t.strip_suffix('%').unwrap_or(t);
    match t.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!(
            "'{s}' is not a percentage: give a number from 0 to 100, such as 90"
        )),
    }
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
    /// Each step shows the evidence read from the kernel; ✓ marks a fact checked against
    /// it, ✗ one that did not hold, and then the demo exits with status 1. Every object a
    /// demo creates is removed when it ends, also on error and on Ctrl-C or SIGTERM (then it
    /// exits 130); every child process is killed and reaped.
    Demo(IpcDemoArgs),
    /// List System V message queues, semaphore sets and shared memory segments
    /// (/proc/sysvipc) and POSIX queues, shared memory and named semaphores (/dev/mqueue,
    /// /dev/shm), with their owners and whether the processes that used them still live.
    List(IpcListArgs),
}

#[derive(Debug, Args)]
pub struct IpcDemoArgs {
    /// The demo to run; without a name, list the demos.
    #[arg(value_name = "NAME", value_parser = demo_names(catalog::ipc::DEMOS, false))]
    pub name: Option<String>,

    /// Pause after each step until Enter is pressed, to look around in /proc meanwhile.
    #[arg(long)]
    pub step: bool,

    /// Output format: text, or json for one event per line (start, step, object, say, end,
    /// interrupted), in the same schema as `zombies demo --format json`.
    #[arg(long, value_enum, default_value_t = DemoFormat::Text)]
    pub format: DemoFormat,

    /// mqueue, sem, shm: the POSIX variant (mq_open, sem_open, shm_open) instead of System V.
    #[arg(long)]
    pub posix: bool,

    /// Show the system calls each step made, with their arguments and results, as `strace -f`
    /// prints them (recorded by the demo where it makes each call; its own plumbing, such as
    /// reading /proc for the evidence, is left out).
    #[arg(long)]
    pub trace: bool,

    /// fifo: create the FIFO at PATH (which must not exist) and wait for a writer from
    /// another shell, e.g. `echo hi > PATH`. It is removed at the end.
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Default, Args)]
pub struct IpcListArgs {
    /// Only objects whose creator and last users are all gone (an unreaped zombie counts as
    /// gone: it will never remove them) and that nobody has attached or open: the leaks that
    /// survive until reboot.
    #[arg(long)]
    pub orphaned: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `zombies demo [NAME]` (documented on `Command::Demo`).
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The demo to run, or `all` for every one in order; without it, list the demos.
    #[arg(value_name = "NAME", value_parser = demo_names(catalog::lifecycle::DEMOS, true))]
    pub name: Option<String>,

    /// Pause after each step until Enter is pressed (to read, or to inspect from another shell).
    #[arg(long)]
    pub step: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DemoFormat::Text)]
    pub format: DemoFormat,

    /// How long `demo zombie` keeps its zombie for you to inspect: 500ms, 3s, 2m.
    #[arg(long, value_name = "DURATION", default_value = "3s", value_parser = crate::duration::parse)]
    pub hold: std::time::Duration,

    /// The exit code of the dying child in `demo exit` and `demo zombie`.
    #[arg(long, value_name = "CODE", default_value_t = 42)]
    pub code: u8,

    /// Show the system calls each step made, with their arguments and results, as `strace -f`
    /// prints them (recorded by the demo where it makes each call; its own plumbing, such as
    /// reading /proc for the evidence, is left out).
    #[arg(long)]
    pub trace: bool,
}

/// Output format of `zombies demo`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum DemoFormat {
    /// Numbered steps for people.
    #[default]
    Text,
    /// JSON Lines: one event object per line (start, step, object, say, end, interrupted), each
    /// step with its syscall, result and evidence rows; one schema for `zombies demo` and
    /// `zombies ipc demo`.
    Json,
}

/// The demo names, each with its one-line summary for --help.
/// The demos of a family as clap's possible values, with their summaries for --help: both
/// come from the catalog, the one list of demos.
fn demo_names(demos: &[catalog::Entry], all: bool) -> clap::builder::PossibleValuesParser {
    use clap::builder::PossibleValue;
    let mut values: Vec<PossibleValue> = demos
        .iter()
        .map(|d| PossibleValue::new(d.name).help(d.summary))
        .collect();
    if all {
        values.push(PossibleValue::new(catalog::ALL).help(catalog::ALL_SUMMARY));
    }
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
/// The subcommand the arguments name, past the global options: `check` answers a usage
/// error in its own protocol.
pub fn subcommand(args: &[OsString]) -> Option<&str> {
    let mut words = args.iter().skip(1).map(|a| a.to_str());
    while let Some(word) = words.next() {
        match word? {
            "--proc" | "--color" | "--ignore-file" | "--sys" | "--pods-dir" => {
                words.next();
            }
            w if w.starts_with('-') => {}
            w => return Some(w),
        }
    }
    None
}

/// Makes a link named `ipc` behave as `zombies ipc`.
pub fn with_applet(mut args: Vec<OsString>) -> Vec<OsString> {
    let applet = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map(|n| n.to_os_string());
    if applet.as_deref() == Some(std::ffi::OsStr::new("ipc")) {
        // Help and errors then say `zombies ipc ...`, which is what runs, not `ipc ipc ...`.
        args[0] = "zombies".into();
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
    fn every_ipc_demo_is_offered_under_its_own_name_in_order() {
        let cmd = Cli::command();
        let demo = cmd
            .find_subcommand("ipc")
            .and_then(|c| c.find_subcommand("demo"))
            .expect("ipc demo");
        let name = demo
            .get_arguments()
            .find(|a| a.get_id() == "name")
            .expect("NAME");
        let offered: Vec<String> = name
            .get_possible_values()
            .iter()
            .map(|p| p.get_name().to_string())
            .collect();
        let demos: Vec<&str> = catalog::ipc::DEMOS.iter().map(|d| d.name).collect();
        assert_eq!(offered, demos);
    }

    #[test]
    fn percentages_are_validated() {
        assert_eq!(parse_pct("80"), Ok(80.0));
        assert_eq!(parse_pct("92.5%"), Ok(92.5));
        assert!(parse_pct("101").is_err());
        assert!(parse_pct("-1").is_err());
        assert!(parse_pct("lots").is_err());
        assert!(parse_pct("NaN").is_err());
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
    fn fix_needs_exactly_one_remedy_and_one_target() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|_| ());
        assert!(parse(&["zombies", "fix", "--signal-parent", "--parent", "5"]).is_ok());
        assert!(parse(&["zombies", "fix", "--parent", "5"]).is_err());
        assert!(parse(&["zombies", "fix", "--signal-parent"]).is_err());
        assert!(parse(&["zombies", "fix", "--auto", "--kill-parent", "--all"]).is_err());
        assert!(parse(&["zombies", "fix", "--auto", "--all", "--pid", "3"]).is_err());
        assert!(parse(&["zombies", "fix", "--auto", "--all", "--grace", "5"]).is_err());
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
        assert_eq!(args.warn, Range::above(5.0));
        assert_eq!(args.crit, Range::above(20.0));
        assert_eq!(args.format, CheckFormat::Nagios);
        assert!(Cli::try_parse_from(["zombies", "check", "--warn", "5:3"]).is_err());
        assert!(Cli::try_parse_from(["zombies", "check", "--max-age", "10"]).is_err());
    }

    #[test]
    fn ipc_applet_name() {
        let a = with_applet(vec!["/usr/local/bin/ipc".into(), "list".into()]);
        assert_eq!(
            a,
            vec![OsString::from("zombies"), "ipc".into(), "list".into()]
        );
        let b = with_applet(vec!["zombies".into(), "list".into()]);
        assert_eq!(b.len(), 2);
    }
}

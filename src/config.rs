//! From the parsed command line to what each command needs: typed requests, with every
//! usage error found here and returned as a value (`UsageError`), so that the commands never
//! see clap and never meet a malformed option halfway through their work.

use std::path::PathBuf;
use std::time::Duration;

use crate::check::Thresholds;
use crate::cli::{
    CheckArgs, CheckFormat, Cli, ColorChoice as ColorArg, Command, DemoArgs, DemoFormat,
    ExplainArgs, FixArgs, Format, GenerateArgs, IgnoreAction, IgnoreArgs, IpcArgs, IpcCommand,
    IpcListArgs, ListArgs, ProbeInitArgs, Select, TreeArgs, WatchArgs,
};
use crate::diagnose::ContainerFilter;
use crate::exit::UsageError;
use crate::proc::Pid;
use crate::proc::users;
use crate::remedy::{self, Choice, Target};
use crate::style::{ColorChoice, Style};
use crate::teach;

/// Settings every command shares.
#[derive(Clone, Debug)]
pub struct Globals {
    pub proc_root: PathBuf,
    pub style: Style,
    /// --ignore-file, when given (else the default path).
    pub ignore_file: Option<PathBuf>,
    /// --sys, when given: where the cgroup PID limits are read (else /sys, and only for a
    /// mounted procfs: the cgroups of a copied tree are not this machine's).
    pub sys_root: Option<PathBuf>,
    /// --pods-dir, when given (else `proc::pods::DEFAULT_DIR`, whose absence is normal).
    pub pods_dir: Option<PathBuf>,
}

/// Which zombies a command looks at: --parent and --user, the user resolved to a uid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub parent: Option<Pid>,
    pub uid: Option<u32>,
}

/// Output for people or for scripts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Clone, Debug, Default)]
pub struct ListConfig {
    pub filter: Filter,
    /// --container and --pod.
    pub place: ContainerFilter,
    /// Also the parents on the ignore list.
    pub all: bool,
    /// Only the zombies' PIDs, one a line.
    pub pids: bool,
    pub output: Output,
}

#[derive(Clone, Debug)]
pub struct TreeConfig {
    pub root: Option<Pid>,
    pub zombies_only: bool,
}

#[derive(Clone, Debug)]
pub struct ExplainConfig {
    pub pid: Pid,
    pub output: Output,
}

#[derive(Clone, Debug)]
pub struct FixConfig {
    pub request: remedy::Request,
    /// Check's state file, for the ages of zombies --reap needs (None: the default path).
    pub state: Option<PathBuf>,
    pub dry_run: bool,
    /// Act without asking.
    pub yes: bool,
    pub output: Output,
}

#[derive(Clone, Debug)]
pub enum IgnoreConfig {
    List(Output),
    Remove {
        entry: String,
        cmdline: Option<String>,
    },
}

/// The formats of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckOutput {
    Nagios,
    Prometheus,
    Json,
}

#[derive(Clone, Debug)]
pub struct CheckConfig {
    pub thresholds: Thresholds,
    pub filter: Filter,
    /// --container and --pod.
    pub place: ContainerFilter,
    /// --state as typed (a typed path never creates a directory); None for the default.
    pub state: Option<PathBuf>,
    pub output: CheckOutput,
    /// Write the report there instead of stdout.
    pub file: Option<PathBuf>,
    /// Nothing on stdout when OK.
    pub quiet: bool,
    /// --every: check again at this interval until told to stop.
    pub every: Option<std::time::Duration>,
    /// A usage error: `check` reports it in its own protocol (UNKNOWN), so it comes as a
    /// value with everything the report needs.
    pub invalid: Option<UsageError>,
}

/// Which demos to run, and how.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    pub selection: teach::Selection,
    pub options: teach::Options,
}

#[derive(Clone, Debug)]
pub struct WatchConfig {
    pub watch: crate::watch::Config,
    pub output: Output,
    /// --state: where check keeps its first sightings, to be given exact death times.
    pub state: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct ProbeInitConfig {
    pub request: crate::probe_init::Request,
    pub output: Output,
}

#[derive(Clone, Debug)]
pub struct IpcListConfig {
    pub orphaned: bool,
    pub output: Output,
}

#[derive(Clone, Debug)]
pub struct GenerateConfig {
    pub man: bool,
    pub dir: PathBuf,
}

/// What to do.
#[derive(Clone, Debug)]
pub enum Request {
    List(ListConfig),
    Tree(TreeConfig),
    Explain(ExplainConfig),
    Fix(FixConfig),
    Ignore(IgnoreConfig),
    Check(CheckConfig),
    Watch(WatchConfig),
    ProbeInit(ProbeInitConfig),
    Demo(DemoConfig),
    IpcList(IpcListConfig),
    Generate(GenerateConfig),
}

/// Resolves the command line. The default command is `list`.
pub fn resolve(cli: Cli) -> Result<(Globals, Request), UsageError> {
    let globals = Globals {
        proc_root: cli.proc,
        style: Style::decide(match cli.color {
            ColorArg::Auto => ColorChoice::Auto,
            ColorArg::Always => ColorChoice::Always,
            ColorArg::Never => ColorChoice::Never,
        }),
        ignore_file: cli.ignore_file,
        sys_root: cli.sys,
        pods_dir: cli.pods_dir,
    };
    let request = match cli.command.unwrap_or(Command::List(ListArgs::default())) {
        Command::List(a) => Request::List(list(&a)?),
        Command::Tree(a) => Request::Tree(tree(&a)),
        Command::Explain(a) => Request::Explain(explain(&a)),
        Command::Fix(a) => Request::Fix(fix(&a)?),
        Command::Ignore(a) => Request::Ignore(ignore(a)),
        Command::Check(a) => Request::Check(check(&a)),
        Command::Watch(a) => Request::Watch(watch(&a)?),
        Command::ProbeInit(a) => Request::ProbeInit(probe_init(&a)?),
        Command::Demo(a) => Request::Demo(demo(a, globals.style)),
        Command::Ipc(a) => ipc(a, globals.style),
        Command::Generate(a) => Request::Generate(generate(a)),
    };
    Ok((globals, request))
}

fn output(f: Format) -> Output {
    match f {
        Format::Text => Output::Text,
        Format::Json => Output::Json,
    }
}

/// --parent and --user, the user resolved now so that a typo is a usage error.
fn filter(s: &Select) -> Result<Filter, UsageError> {
    let uid = s
        .user
        .as_deref()
        .map(|u| {
            users::resolve(u).ok_or_else(|| {
                UsageError(format!(
                    "no such user '{u}': give a user name or a numeric uid"
                ))
            })
        })
        .transpose()?;
    Ok(Filter {
        parent: s.parent,
        uid,
    })
}

/// --container and --pod; an empty value would match every container, or none.
fn place(s: &Select) -> Result<ContainerFilter, UsageError> {
    let given = |flag: &str, v: &Option<String>| match v.as_deref().map(str::trim) {
        Some("") => Err(UsageError(format!(
            "{flag} is empty: give a container ID prefix (as docker ps or crictl ps shows it) or a pod name"
        ))),
        v => Ok(v.map(str::to_string)),
    };
    Ok(ContainerFilter {
        container: given("--container", &s.container)?,
        pod: given("--pod", &s.pod)?,
    })
}

fn list(a: &ListArgs) -> Result<ListConfig, UsageError> {
    Ok(ListConfig {
        filter: filter(&a.select)?,
        place: place(&a.select)?,
        all: a.all,
        pids: a.pids,
        output: output(a.format),
    })
}

fn tree(a: &TreeArgs) -> TreeConfig {
    TreeConfig {
        root: a.pid,
        zombies_only: a.zombies_only,
    }
}

fn explain(a: &ExplainArgs) -> ExplainConfig {
    ExplainConfig {
        pid: a.pid,
        output: output(a.format),
    }
}

fn fix(a: &FixArgs) -> Result<FixConfig, UsageError> {
    // clap's `requires` counts a flag's default (false) as given, so check by hand.
    if !a.ignore && (a.same_user || a.note.is_some()) {
        return Err(UsageError(
            "--same-user and --note describe the ignore-list entry: use them with --ignore".into(),
        ));
    }
    let choice = if a.signal_parent {
        Choice::SignalParent
    } else if a.kill_parent {
        Choice::KillParent
    } else if a.ignore {
        Choice::Ignore
    } else if a.reap {
        Choice::Reap
    } else {
        Choice::Auto
    };
    let target = match (a.parent, a.pid) {
        (Some(p), _) => Target::Parent(p),
        (None, Some(z)) => Target::Zombie(z),
        (None, None) => Target::All,
    };
    Ok(FixConfig {
        request: remedy::Request {
            choice,
            target,
            force: a.force,
            grace: a.grace,
            timeout: a.timeout,
            settle: a.settle,
            ignore_same_user: a.same_user,
            ignore_note: a.note.clone(),
            prefer_reap: a.prefer_reap,
            min_age: a.min_age,
        },
        state: None,
        dry_run: a.dry_run,
        yes: a.yes,
        output: output(a.format),
    })
}

fn watch(a: &WatchArgs) -> Result<WatchConfig, UsageError> {
    let f = filter(&a.select)?;
    if a.interval.is_zero() {
        return Err(UsageError(
            "--interval 0 would scan without a pause: give a duration such as 1s".into(),
        ));
    }
    Ok(WatchConfig {
        watch: crate::watch::Config {
            parent: f.parent,
            uid: f.uid,
            min_age: a.min_age,
            run_for: a.run_for,
            all_exits: a.all_exits,
            interval: a.interval,
            connector: !a.scan,
            state: None,
            place: place(&a.select)?,
            pods_dir: None,
        },
        output: output(a.format),
        state: a.state.clone(),
    })
}

fn probe_init(a: &ProbeInitArgs) -> Result<ProbeInitConfig, UsageError> {
    if a.timeout.is_zero() {
        return Err(UsageError(
            "--timeout 0 gives PID 1 no time to reap: give a duration such as 5s".into(),
        ));
    }
    Ok(ProbeInitConfig {
        request: crate::probe_init::Request {
            pid: a.pid,
            timeout: a.timeout,
        },
        output: output(a.format),
    })
}

fn ignore(a: IgnoreArgs) -> IgnoreConfig {
    match a.action {
        IgnoreAction::List { format } => IgnoreConfig::List(output(format)),
        IgnoreAction::Remove { entry, cmdline } => IgnoreConfig::Remove { entry, cmdline },
    }
}

fn check(a: &CheckArgs) -> CheckConfig {
    let thresholds = Thresholds {
        warn: a.warn,
        crit: a.crit,
        max_age: a.max_age,
        warn_per_parent: a.warn_per_parent,
        warn_pids: a.warn_pids,
        crit_pids: a.crit_pids,
    };
    let filter = filter(&a.select);
    let place = place(&a.select);
    let invalid = match (thresholds.validate(), &filter, &place) {
        (Err(e), _, _) => Some(UsageError(e)),
        (Ok(()), Err(e), _) | (Ok(()), _, Err(e)) => Some(UsageError(e.0.clone())),
        _ if a
            .every
            .is_some_and(|d| d < std::time::Duration::from_secs(1)) =>
        {
            Some(UsageError(
                "--every must be at least 1s: a check reads all of /proc".to_string(),
            ))
        }
        _ => None,
    };
    CheckConfig {
        thresholds,
        filter: filter.unwrap_or_default(),
        place: place.unwrap_or_default(),
        state: a.state.clone(),
        output: match a.format {
            CheckFormat::Nagios => CheckOutput::Nagios,
            CheckFormat::Prometheus => CheckOutput::Prometheus,
            CheckFormat::Json => CheckOutput::Json,
        },
        file: a.output.clone(),
        quiet: a.quiet,
        every: a.every,
        invalid,
    }
}

fn demo_options(
    style: Style,
    format: DemoFormat,
    step: bool,
    trace: bool,
    path: Option<PathBuf>,
    hold_code: Option<(Duration, u8)>,
) -> teach::Options {
    let (hold, code) = hold_code.unwrap_or((Duration::from_secs(3), 42));
    teach::Options {
        format: match format {
            DemoFormat::Text => teach::Format::Text,
            DemoFormat::Json => teach::Format::Json,
        },
        style,
        step,
        trace,
        hold,
        code,
        path,
    }
}

fn demo(a: DemoArgs, style: Style) -> DemoConfig {
    DemoConfig {
        selection: teach::Selection {
            family: teach::Family::Lifecycle,
            demos: crate::demo::REGISTRY,
            name: a.name,
            posix: false,
        },
        options: demo_options(
            style,
            a.format,
            a.step,
            a.trace,
            None,
            Some((a.hold, a.code)),
        ),
    }
}

fn ipc(a: IpcArgs, style: Style) -> Request {
    match a
        .command
        .unwrap_or(IpcCommand::List(IpcListArgs::default()))
    {
        IpcCommand::Demo(d) => Request::Demo(DemoConfig {
            selection: teach::Selection {
                family: teach::Family::Ipc,
                demos: crate::ipc::REGISTRY,
                name: d.name,
                posix: d.posix,
            },
            options: demo_options(style, d.format, d.step, d.trace, d.path, None),
        }),
        IpcCommand::List(l) => Request::IpcList(IpcListConfig {
            orphaned: l.orphaned,
            output: output(l.format),
        }),
    }
}

fn generate(a: GenerateArgs) -> GenerateConfig {
    GenerateConfig {
        man: a.what == crate::cli::Generated::Man,
        dir: a.dir,
    }
}

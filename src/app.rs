//! One function per subcommand, wiring scan -> diagnose -> report together.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::check::state::{self, State};
use crate::check::{self as checks, Outcome, Status, Thresholds};
use crate::cli::{
    CheckArgs, CheckFormat, Cli, Command, DemoArgs, DemoFormat, ExplainArgs, FixArgs, Format,
    GenerateArgs, Generated, IgnoreAction, IgnoreArgs, IpcArgs, IpcCommand, IpcDemoArgs,
    IpcListArgs, ListArgs, TreeArgs,
};
use crate::diagnose::{self, Context, Diagnosis};
use crate::exit::{Exit, UsageError};
use crate::ignore::{IgnoreList, Removal};
use crate::ipc;
use crate::proc::users::{self, Users};
use crate::proc::{ProcFs, Snapshot};
use crate::remedy::{self, Choice, Request, Target};
use crate::report;
use crate::style::Style;
use crate::teach;

/// Settings every subcommand shares, resolved from the global options.
pub struct Globals {
    pub proc_root: PathBuf,
    pub style: Style,
    /// --ignore-file, when given (else the default path).
    pub ignore_file: Option<PathBuf>,
}

pub fn run(cli: Cli) -> Result<Exit> {
    let g = Globals {
        proc_root: cli.proc,
        style: Style::decide(cli.color),
        ignore_file: cli.ignore_file,
    };
    match cli.command.unwrap_or(Command::List(ListArgs::default())) {
        Command::List(args) => list(&g, &args),
        Command::Tree(args) => tree(&g, &args),
        Command::Explain(args) => explain(&g, &args),
        Command::Fix(args) => fix(&g, &args),
        Command::Ignore(args) => ignore(&g, &args),
        Command::Generate(args) => generate(&args),
        Command::Check(args) => check(&g, &args),
        Command::Ipc(args) => ipc(&g, args),
        Command::Demo(args) => demo(&g, args),
    }
}

/// Buffered stdout: one write(2) per 8 KiB instead of one per line (a 1,000-zombie JSON
/// report is 12,000 lines). Callers flush at the end, or after each step when interactive.
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Scans and diagnoses; the first step of list, tree, explain, fix and check.
pub fn scan_and_diagnose(g: &Globals) -> Result<(Snapshot, Context, Diagnosis)> {
    let snap = ProcFs::open(&g.proc_root)?.scan()?;
    for note in report::visibility::notes(&snap, &g.proc_root) {
        crate::exit::warn(&note);
    }
    let (ctx, diag) = diagnose_snapshot(&snap);
    Ok((snap, ctx, diag))
}

/// The diagnosis of a scan. `check` scans on its own: it reports what it could not see in its
/// output, since under cron a stderr line every minute is a mail every minute.
fn diagnose_snapshot(snap: &Snapshot) -> (Context, Diagnosis) {
    let ctx = Context::current(snap);
    let diag = diagnose::diagnose(snap, &ctx, &mut Users::default());
    (ctx, diag)
}

/// Applies --parent and --user.
pub fn filter(diag: &mut Diagnosis, parent: Option<i32>, user: Option<&str>) -> Result<()> {
    let uid = match user {
        Some(u) => Some(users::resolve(u).ok_or_else(|| {
            UsageError(format!(
                "no such user '{u}': give a user name or a numeric uid"
            ))
        })?),
        None => None,
    };
    if parent.is_some() || uid.is_some() {
        diag.retain_zombies(|p, z| {
            parent.is_none_or(|want| p.pid == want) && uid.is_none_or(|want| z.uid == Some(want))
        });
    }
    Ok(())
}

fn list(g: &Globals, args: &ListArgs) -> Result<Exit> {
    let (_snap, ctx, mut diag) = scan_and_diagnose(g)?;
    filter(&mut diag, args.parent, args.user.as_deref())?;
    if !args.all {
        // An unreadable ignore list must not hide zombies: warn and show everything.
        match IgnoreList::load(g.ignore_file.as_deref()) {
            Ok(list) => {
                list.apply(&mut diag);
            }
            Err(e) => crate::exit::warn(&format!("warning: {e:#}; showing every parent")),
        }
    }
    let mut out = stdout();
    if args.pids {
        report::table::write_pids(&mut out, &diag)?;
    } else {
        match args.format {
            Format::Json => report::json::write(&mut out, &diag)?,
            Format::Text => report::table::write(&mut out, &diag, ctx.now_unix, g.style)?,
        }
    }
    out.flush()?;
    Ok(Exit::SUCCESS)
}

fn tree(g: &Globals, args: &TreeArgs) -> Result<Exit> {
    let (snap, _ctx, diag) = scan_and_diagnose(g)?;
    if let Some(pid) = args.pid {
        if snap.get(pid).is_none() {
            bail!("no process with PID {pid} in {}", g.proc_root.display());
        }
    }
    let opts = report::tree::TreeOptions {
        root: args.pid,
        zombies_only: args.zombies_only,
    };
    let mut out = stdout();
    report::tree::write(&mut out, &snap, &diag, &opts, g.style)?;
    out.flush()?;
    Ok(Exit::SUCCESS)
}

fn explain(g: &Globals, args: &ExplainArgs) -> Result<Exit> {
    let (snap, ctx, diag) = scan_and_diagnose(g)?;
    let Some(e) = diagnose::explain(&snap, &diag, args.pid) else {
        bail!(
            "no process with PID {} in {} (it may have exited or been reaped); `zombies list` shows the zombies there are now",
            args.pid,
            g.proc_root.display()
        );
    };
    let mut out = stdout();
    match args.format {
        Format::Json => report::json::write(&mut out, &e)?,
        Format::Text => report::explain::write(&mut out, &e, ctx.now_unix, g.style)?,
    }
    out.flush()?;
    Ok(Exit::SUCCESS)
}

fn generate(args: &GenerateArgs) -> Result<Exit> {
    let written = match args.what {
        Generated::Man => crate::generate::man_pages(&args.dir)?,
        Generated::Completions => crate::generate::completions(&args.dir)?,
    };
    let mut out = stdout();
    for path in written {
        writeln!(out, "{}", path.display())?;
    }
    out.flush()?;
    Ok(Exit::SUCCESS)
}

/// Resolves the clap arguments of fix into the request the remedy module takes.
fn fix_request(args: &FixArgs) -> Result<Request> {
    // clap's `requires` counts a flag's default (false) as given, so check by hand.
    if !args.ignore && (args.same_user || args.note.is_some()) {
        return Err(UsageError(
            "--same-user and --note describe the ignore-list entry: use them with --ignore".into(),
        )
        .into());
    }
    let choice = if args.signal_parent {
        Choice::SignalParent
    } else if args.kill_parent {
        Choice::KillParent
    } else if args.ignore {
        Choice::Ignore
    } else {
        Choice::Auto
    };
    let target = match (args.parent, args.pid) {
        (Some(p), _) => Target::Parent(p),
        (None, Some(z)) => Target::Zombie(z),
        (None, None) => Target::All,
    };
    Ok(Request {
        choice,
        target,
        force: args.force,
        grace: args.grace,
        timeout: args.timeout,
        settle: args.settle,
        ignore_same_user: args.same_user,
        ignore_note: args.note.clone(),
    })
}

fn fix(g: &Globals, args: &FixArgs) -> Result<Exit> {
    let req = fix_request(args)?;
    if !remedy::same_pid_namespace(&g.proc_root) {
        return Err(UsageError(format!(
            "fix signals processes by PID, but {} is not the procfs of this PID namespace; run zombies fix inside that namespace (e.g. nsenter -t PID -p -m zombies fix ...), or use list/explain with --proc",
            g.proc_root.display()
        ))
        .into());
    }
    let (snap, ctx, diag) = scan_and_diagnose(g)?;
    // Only --ignore and --all use the list: a broken or unreadable list must not stand in the
    // way of fixing one named parent.
    let mut ignore = if req.choice == Choice::Ignore || req.target == Target::All {
        IgnoreList::load(g.ignore_file.as_deref())?
    } else {
        IgnoreList::default()
    };
    let mut plan = remedy::plan(&snap, &diag, &ctx, &req, &ignore)?;
    let mut out = stdout();
    if args.dry_run {
        plan.dry_run = true;
        match args.format {
            Format::Json => report::json::write(&mut out, &plan)?,
            Format::Text => {
                report::fix::write_plan(&mut out, &plan, g.style)?;
                report::fix::write_dry_run_footer(&mut out, &plan, g.style)?;
            }
        }
        out.flush()?;
        return Ok(exit_of(plan.success));
    }
    if plan.has_actions() && !args.yes && !confirm(&plan, g.style)? {
        return Ok(Exit::FAILURE);
    }
    let fs = ProcFs::open(&g.proc_root)?;
    remedy::execute(&mut plan, &fs, &req, &mut ignore)?;
    match args.format {
        Format::Json => report::json::write(&mut out, &plan)?,
        Format::Text => report::fix::write(&mut out, &plan, g.style)?,
    }
    out.flush()?;
    Ok(exit_of(plan.success))
}

fn exit_of(success: bool) -> Exit {
    if success {
        Exit::SUCCESS
    } else {
        Exit::FAILURE
    }
}

/// On a terminal, shows the plan on stderr and asks; without one (cron, scripts) refuses, since
/// nobody saw what would be signalled. Returns whether to go ahead.
fn confirm(plan: &remedy::FixReport, style: Style) -> Result<bool> {
    if !io::stdin().is_terminal() {
        return Err(UsageError(
            "refusing to act without confirmation: stdin is not a terminal (cron, a script or a pipe); check the plan with --dry-run, then add --yes".to_string(),
        )
        .into());
    }
    let mut err = io::stderr().lock();
    report::fix::write_plan(&mut err, plan, style)?;
    write!(err, "Proceed? [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    let yes = matches!(answer.trim(), "y" | "Y" | "yes" | "Yes" | "YES");
    if !yes {
        writeln!(err, "Nothing done.")?;
    }
    Ok(yes)
}

fn ignore(g: &Globals, args: &IgnoreArgs) -> Result<Exit> {
    let mut list = IgnoreList::load(g.ignore_file.as_deref())?;
    let mut out = stdout();
    match &args.action {
        IgnoreAction::List { format } => match format {
            Format::Json => report::json::write(&mut out, &report::ignore::Listing::of(&list))?,
            Format::Text => report::ignore::write(&mut out, &list, g.style)?,
        },
        IgnoreAction::Remove { entry, cmdline } => {
            let n = match list.remove(entry, cmdline.as_deref()) {
                Removal::Removed(n) => n,
                Removal::NoSuchEntry => bail!(
                    "no entry '{entry}'{} in the ignore list {}; `zombies ignore list` shows the entries",
                    cmdline
                        .as_deref()
                        .map(|c| format!(" running `{}`", report::printable(c)))
                        .unwrap_or_default(),
                    list.path.display()
                ),
                Removal::Ambiguous(entries) => {
                    return Err(UsageError(report::ignore::ambiguous(entry, &entries)).into());
                }
            };
            list.save()?;
            writeln!(
                out,
                "Removed {n} {} for {}{} from {}.",
                if n == 1 { "entry" } else { "entries" },
                report::printable(entry),
                cmdline
                    .as_deref()
                    .map(|c| format!(" running `{}`", report::printable(c)))
                    .unwrap_or_default(),
                list.path.display()
            )?;
        }
    }
    out.flush()?;
    Ok(Exit::SUCCESS)
}

/// `zombies check`: every failure becomes an UNKNOWN report (exit 3), never the usual exit
/// codes, which a monitoring system would misread.
fn check(g: &Globals, args: &CheckArgs) -> Result<Exit> {
    let thresholds = Thresholds {
        warn: args.warn,
        crit: args.crit,
        max_age: args.max_age,
        warn_per_parent: args.warn_per_parent,
    };
    let outcome = check_once(g, args, &thresholds)
        .unwrap_or_else(|e| Outcome::unknown(thresholds.clone(), format!("{e:#}")));
    let mut report = Vec::new();
    match args.format {
        CheckFormat::Nagios => report::nagios::write(&mut report, &outcome)?,
        CheckFormat::Prometheus => report::prometheus::write(&mut report, &outcome)?,
        CheckFormat::Json => report::json::write(&mut report, &outcome)?,
    }
    if let Some(path) = &args.output {
        if state::is_state_file(path) {
            let _ = writeln!(
                io::stderr(),
                "zombies: --output {} is the state file of zombies check; refusing to replace it with the report (were --state and --output swapped?)",
                path.display()
            );
            return Ok(Exit::CHECK_UNKNOWN);
        }
        // Written to a temporary file, then renamed over the path: a symlink planted there is
        // replaced, never written through.
        if let Err(e) = crate::atomic::write_existing_dir(path, &report) {
            let _ = writeln!(
                io::stderr(),
                "zombies: {e}; the check result was not saved: make the directory writable or pass another --output"
            );
            return Ok(Exit::CHECK_UNKNOWN);
        }
    } else if !(args.quiet && outcome.status == Status::Ok) {
        // A monitor that did not get the line did not get the result: UNKNOWN, never the
        // usual failure code 1, which it would read as WARNING.
        let mut out = io::stdout().lock();
        if let Err(e) = out.write_all(&report).and_then(|()| out.flush()) {
            crate::exit::warn(&format!("cannot write the check result to stdout: {e}"));
            return Ok(Exit::CHECK_UNKNOWN);
        }
    }
    Ok(outcome.status.exit())
}

/// Scan, remember, filter, judge.
fn check_once(g: &Globals, args: &CheckArgs, t: &Thresholds) -> Result<Outcome> {
    // Refuse bad options before anything is scanned or written.
    t.validate().map_err(anyhow::Error::msg)?;
    filter(&mut Diagnosis::default(), None, args.user.as_deref())?;
    let fs = ProcFs::open(&g.proc_root)?;
    let snap = fs.scan()?;
    if let Some(why) = report::visibility::check_blind(&snap, &g.proc_root) {
        return Ok(Outcome::unknown(t.clone(), why));
    }
    let (ctx, mut diag) = diagnose_snapshot(&snap);

    // Ages are kept for every zombie of the scan, before any filter (see check::state).
    // A path the user typed (--state, ZOMBIES_STATE) never creates a directory.
    let typed = args.state.is_some();
    let path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_path(&g.proc_root));
    let key = state::Key {
        boot_id: fs
            .read("sys/kernel/random/boot_id")
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string()),
        pid_ns: fs.pid_ns(),
    };
    let (mut memory, warning) =
        State::load(&path, !typed, key).map_err(|r| anyhow::anyhow!(report::state::refusal(&r)))?;
    if let Some(w) = warning {
        let _ = writeln!(
            io::stderr(),
            "zombies: warning: {}",
            report::state::warning(&w)
        );
    }
    let ids = diag
        .parents
        .iter()
        .flat_map(|p| p.zombies.iter().map(|z| (z.pid, z.start_ticks)));
    let first_seen = memory.update(ids, ctx.now_unix);
    // Said in the report, not on stderr: under cron a warning every minute would be mail
    // every minute, and the report is where the monitoring engineer looks.
    let age_problem = memory.save().err().map(|t| report::state::trouble(&t));
    drop(memory); // releases the lock on the state's directory

    filter(&mut diag, args.parent, args.user.as_deref())?;
    IgnoreList::load(g.ignore_file.as_deref())?.apply(&mut diag);
    Ok(checks::evaluate(
        diag,
        &first_seen,
        ctx.now_unix,
        t,
        age_problem,
    ))
}

fn ipc(g: &Globals, args: IpcArgs) -> Result<Exit> {
    match args
        .command
        .unwrap_or(IpcCommand::List(IpcListArgs::default()))
    {
        IpcCommand::Demo(a) => ipc_demo(g, a),
        IpcCommand::List(a) => ipc_list(g, &a),
    }
}

fn ipc_demo(g: &Globals, a: IpcDemoArgs) -> Result<Exit> {
    use clap::ValueEnum;
    let name = a
        .name
        .and_then(|n| n.to_possible_value())
        .map(|v| v.get_name().to_string());
    teach::run(
        &teach::Selection {
            family: teach::Family::Ipc,
            name,
            posix: a.posix,
        },
        demo_options(g, a.format, a.step, a.path, None),
    )
}

fn ipc_list(g: &Globals, a: &IpcListArgs) -> Result<Exit> {
    let src = ipc::list::Sources::system(&g.proc_root);
    let mut listing = ipc::list::collect(&src, &mut Users::default())?;
    if a.orphaned {
        ipc::list::only_orphaned(&mut listing);
    }
    let mut out = stdout();
    match a.format {
        Format::Json => report::ipc_list::write_json(&mut out, &listing)?,
        Format::Text => report::ipc_list::write_text(&mut out, &listing, a.orphaned, g.style)?,
    }
    out.flush()?;
    Ok(Exit::SUCCESS)
}

fn demo(g: &Globals, args: DemoArgs) -> Result<Exit> {
    teach::run(
        &teach::Selection {
            family: teach::Family::Lifecycle,
            name: args.name,
            posix: false,
        },
        demo_options(
            g,
            args.format,
            args.step,
            None,
            Some((args.hold, args.code)),
        ),
    )
}

/// The options of both `zombies demo` and `zombies ipc demo`; `hold_code` only for the first.
fn demo_options(
    g: &Globals,
    format: DemoFormat,
    step: bool,
    path: Option<PathBuf>,
    hold_code: Option<(std::time::Duration, u8)>,
) -> teach::Options {
    let (hold, code) = hold_code.unwrap_or((std::time::Duration::from_secs(3), 42));
    teach::Options {
        format: match format {
            DemoFormat::Text => teach::Format::Text,
            DemoFormat::Json => teach::Format::Json,
        },
        style: g.style,
        step,
        hold,
        code,
        path,
    }
}

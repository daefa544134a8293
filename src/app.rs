//! One function per subcommand, wiring scan -> diagnose -> report together.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::check::state::{self, State};
use crate::check::{self as checks, Outcome, Status, Thresholds};
use crate::cli::{
    CheckArgs, CheckFormat, Cli, Command, ExplainArgs, Format, GenerateArgs, Generated, ListArgs,
    TreeArgs,
};
use crate::diagnose::{self, Context, Diagnosis};
use crate::exit::{Exit, UsageError};
use crate::ignore::IgnoreList;
use crate::proc::users::{self, Users};
use crate::proc::{ProcFs, Snapshot};
use crate::report;
use crate::style::Style;

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
        Command::Generate(args) => generate(&args),
        Command::Check(args) => check(&g, &args),
    }
}

/// Buffered stdout: one write(2) per 8 KiB instead of one per line (a 1,000-zombie JSON
/// report is 12,000 lines). Callers flush at the end, or after each step when interactive.
pub fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Scans and diagnoses; the first step of list, tree, explain, fix and check.
pub fn scan_and_diagnose(g: &Globals) -> Result<(Snapshot, Context, Diagnosis)> {
    let fs = ProcFs::open(&g.proc_root)?;
    let snap = fs.scan()?;
    let ctx = Context::current(&snap);
    let diag = diagnose::diagnose(&snap, &ctx, &mut Users::default());
    if snap.unreadable > 0 {
        eprintln!(
            "zombies: note: {} processes in {} could not be read (hidepid or permissions); run as root to see them",
            snap.unreadable,
            g.proc_root.display()
        );
    }
    Ok((snap, ctx, diag))
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
            Err(e) => eprintln!("zombies: warning: {e:#}; showing every parent"),
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
        if let Err(e) = crate::atomic::write(path, &report) {
            let _ = writeln!(
                io::stderr(),
                "zombies: {e}; the check result was not saved: make the directory writable or pass another --output"
            );
            return Ok(Exit::CHECK_UNKNOWN);
        }
    } else if !(args.quiet && outcome.status == Status::Ok) {
        let mut out = io::stdout().lock();
        out.write_all(&report)?;
        out.flush()?;
    }
    Ok(outcome.status.exit())
}

/// Scan, remember, filter, judge.
fn check_once(g: &Globals, args: &CheckArgs, t: &Thresholds) -> Result<Outcome> {
    // Refuse bad options before anything is scanned or written.
    t.validate().map_err(anyhow::Error::msg)?;
    filter(&mut Diagnosis::default(), None, args.user.as_deref())?;
    // Not scan_and_diagnose: its note about unreadable processes on stderr would make cron
    // mail every minute under --quiet; the check reports them in its own output instead.
    let snap = ProcFs::open(&g.proc_root)?.scan()?;
    let ctx = Context::current(&snap);
    let mut diag = diagnose::diagnose(&snap, &ctx, &mut Users::default());

    // Ages are kept for every zombie of the scan, before any filter (see check::state).
    let path = args
        .state
        .clone()
        .unwrap_or_else(|| state::default_path(&g.proc_root));
    let boot_id = std::fs::read_to_string(g.proc_root.join("sys/kernel/random/boot_id"))
        .ok()
        .map(|s| s.trim().to_string());
    let (mut memory, warning) = State::load(&path, boot_id.as_deref());
    if let Some(w) = warning {
        let _ = writeln!(io::stderr(), "zombies: warning: {w}");
    }
    let ids = diag
        .parents
        .iter()
        .flat_map(|p| p.zombies.iter().map(|z| (z.pid, z.start_ticks)));
    let first_seen = memory.update(ids, ctx.now_unix);
    // Said in the report, not on stderr: under cron a warning every minute would be mail
    // every minute, and the report is where the monitoring engineer looks.
    let age_problem = memory
        .save()
        .err()
        .map(|e| format!("{e}; pass --state with a writable path"));

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

//! One function per subcommand, wiring scan -> diagnose -> report together.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::cli::{Cli, Command, DemoArgs, DemoFormat, ExplainArgs, Format, ListArgs, TreeArgs};
use crate::diagnose::{self, Context, Diagnosis};
use crate::exit::{Exit, UsageError};
use crate::proc::users::{self, Users};
use crate::proc::{ProcFs, Snapshot};
use crate::report;
use crate::style::Style;

/// Settings every subcommand shares, resolved from the global options.
pub struct Globals {
    pub proc_root: PathBuf,
    pub style: Style,
}

pub fn run(cli: Cli) -> Result<Exit> {
    let g = Globals {
        proc_root: cli.proc,
        style: Style::decide(cli.color),
    };
    match cli.command.unwrap_or(Command::List(ListArgs::default())) {
        Command::List(args) => list(&g, &args),
        Command::Tree(args) => tree(&g, &args),
        Command::Explain(args) => explain(&g, &args),
        Command::Demo(args) => demo(&g, args),
    }
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
    let mut out = io::stdout().lock();
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
    let mut out = io::stdout().lock();
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
    let mut out = io::stdout().lock();
    match args.format {
        Format::Json => report::json::write(&mut out, &e)?,
        Format::Text => report::explain::write(&mut out, &e, ctx.now_unix, g.style)?,
    }
    out.flush()?;
    Ok(Exit::SUCCESS)
}

fn demo(g: &Globals, args: DemoArgs) -> Result<Exit> {
    use crate::demo::{self, lab::Options, narrate::Format as Narration};
    demo::run(demo::Request {
        name: args.name,
        format: match args.format {
            DemoFormat::Text => Narration::Text,
            DemoFormat::Json => Narration::Json,
        },
        style: g.style,
        opts: Options {
            step: args.step,
            hold: args.hold,
            code: args.code,
        },
    })
}

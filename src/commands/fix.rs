//! `zombies fix`: plan, confirm (on a terminal) or require --yes, act, verify, report.

use std::io::{self, IsTerminal, Write};

use anyhow::Result;

use super::{emit, scan_and_diagnose};
use crate::config::{FixConfig, Globals};
use crate::exit::{Exit, UsageError};
use crate::ignore::IgnoreList;
use crate::proc::{Detail, ProcFs};
use crate::remedy::{self, Choice, FixReport, Target};
use crate::report;
use crate::style::Style;

pub fn run(g: &Globals, c: &FixConfig) -> Result<Exit> {
    let req = &c.request;
    if !remedy::same_pid_namespace(&g.proc_root) {
        return Err(UsageError(format!(
            "fix signals processes by PID, but {} is not the procfs of this PID namespace; run zombies fix inside that namespace (e.g. nsenter -t PID -p -m zombies fix ...), or use list/explain with --proc",
            g.proc_root.display()
        ))
        .into());
    }
    let (snap, ctx, diag) = scan_and_diagnose(g, Detail::Full)?;
    // Only --ignore and --all use the list: a broken or unreadable list must not stand in the
    // way of fixing one named parent.
    let mut ignore = if req.choice == Choice::Ignore || req.target == Target::All {
        IgnoreList::load(g.ignore_file.as_deref())?
    } else {
        IgnoreList::default()
    };
    let first_seen = if req.choice == Choice::Reap || req.prefer_reap {
        first_sightings(g, c)
    } else {
        remedy::FirstSeen::new()
    };
    let mut plan = remedy::plan(&snap, &diag, &ctx, req, &ignore, &first_seen)?;
    if c.dry_run {
        plan.dry_run = true;
        emit(c.output, &plan, |out| {
            report::fix::write_plan(out, &plan, g.style)?;
            report::fix::write_dry_run_footer(out, &plan, g.style)
        })?;
        return Ok(exit_of(plan.success));
    }
    if plan.has_actions() && !c.yes && !confirm(&plan, g.style)? {
        return Ok(Exit::FAILURE);
    }
    let fs = ProcFs::open(&g.proc_root)?;
    remedy::execute(&mut plan, &fs, req, &mut ignore)?;
    emit(c.output, &plan, |out| {
        report::fix::write(out, &plan, g.style)
    })?;
    Ok(exit_of(plan.success))
}

/// When check (or `zombies watch --state`) first saw each zombie, from the state file, read
/// only; nothing when it cannot be read: --reap then bounds ages by the zombies' start times.
fn first_sightings(g: &Globals, c: &FixConfig) -> remedy::FirstSeen {
    let path = c
        .state
        .clone()
        .unwrap_or_else(|| crate::check::state::default_path(&g.proc_root));
    let Ok(fs) = ProcFs::open(&g.proc_root) else {
        return remedy::FirstSeen::new();
    };
    match crate::check::state::State::load(&path, false, crate::check::state::Key::of(&fs)) {
        Ok((state, _)) => state.first_seen().clone(),
        Err(_) => remedy::FirstSeen::new(),
    }
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
fn confirm(plan: &FixReport, style: Style) -> Result<bool> {
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

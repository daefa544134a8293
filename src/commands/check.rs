//! `zombies check`: scan, remember first sightings, filter, judge, report. Every failure is
//! an UNKNOWN report (exit 3), never the usual exit codes, which a monitoring system would
//! misread (2 would be CRITICAL).

use std::io::{self, Write};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::check::state::{self, State};
use crate::check::{self as checks, Outcome, Status};
use crate::config::{CheckConfig, CheckOutput, Globals};
use crate::exit::Exit;
use crate::ignore::IgnoreList;
use crate::proc::{Detail, ProcFs};
use crate::report;
use crate::sys::stop::StopSignals;

/// Runs the check and writes its report; the exit status is the verdict's. With --every,
/// again and again until SIGTERM or SIGINT.
pub fn run(g: &Globals, c: &CheckConfig) -> Exit {
    match c.every {
        Some(every) if c.invalid.is_none() => repeat(g, c, every),
        _ => once(g, c),
    }
}

/// --every: one check per tick, on a fixed cadence (a slow scan does not push the next one
/// later), each written whole to --output. The file's own status says how each went, so a
/// failed check is not the end: the next tick may succeed. Ends with 0 on SIGTERM or SIGINT,
/// as a container's PID 1 must on `kubectl delete`.
fn repeat(g: &Globals, c: &CheckConfig, every: Duration) -> Exit {
    let stop = match StopSignals::new() {
        Ok(s) => s,
        Err(e) => {
            crate::exit::warn(&format!(
                "cannot receive SIGTERM and SIGINT: {}; run check without --every, from a timer",
                e.desc()
            ));
            return Exit::CHECK_UNKNOWN;
        }
    };
    let mut tick = Instant::now();
    loop {
        once(g, c);
        tick += every;
        let now = Instant::now();
        if tick <= now {
            // Behind (the machine was suspended, or a scan took longer than --every):
            // start again from now rather than run the missed ticks back to back.
            tick = now + every;
        }
        match stop.wait(Some(tick - now)) {
            Ok(false) => {}
            Ok(true) => return Exit::SUCCESS,
            Err(e) => {
                crate::exit::warn(&format!("cannot wait for the next check: {}", e.desc()));
                return Exit::CHECK_UNKNOWN;
            }
        }
    }
}

fn once(g: &Globals, c: &CheckConfig) -> Exit {
    let outcome = match &c.invalid {
        Some(e) => Outcome::unknown(c.thresholds.clone(), e.0.clone()),
        None => check_once(g, c)
            .unwrap_or_else(|e| Outcome::unknown(c.thresholds.clone(), format!("{e:#}"))),
    };
    write(&outcome, c.output, c.file.as_deref(), c.quiet)
}

/// A command line clap refused, for `check`: an UNKNOWN line on stdout, exit 3.
pub fn usage_error(clap_text: &str) -> Exit {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", report::check::usage_error(clap_text));
    let _ = out.flush();
    Exit::CHECK_UNKNOWN
}

fn write(
    outcome: &Outcome,
    output: CheckOutput,
    file: Option<&std::path::Path>,
    quiet: bool,
) -> Exit {
    let mut text = Vec::new();
    let rendered = match output {
        CheckOutput::Nagios => report::nagios::write(&mut text, outcome),
        CheckOutput::Prometheus => report::prometheus::write(&mut text, outcome),
        CheckOutput::Json => report::json::write(&mut text, outcome),
    };
    if rendered.is_err() {
        return Exit::CHECK_UNKNOWN;
    }
    if let Some(path) = file {
        if state::is_state_file(path) {
            crate::exit::warn(&report::check::output_is_state(path));
            return Exit::CHECK_UNKNOWN;
        }
        // Written to a temporary file, then renamed over the path: a symlink planted there is
        // replaced, never written through.
        if let Err(e) = crate::atomic::write_existing_dir(path, &text) {
            crate::exit::warn(&report::check::output_failed(&e));
            return Exit::CHECK_UNKNOWN;
        }
    } else if !(quiet && outcome.status == Status::Ok) {
        // A monitor that did not get the line did not get the result: UNKNOWN, never the
        // usual failure code 1, which it would read as WARNING.
        let mut out = io::stdout().lock();
        if let Err(e) = out.write_all(&text).and_then(|()| out.flush()) {
            crate::exit::warn(&format!("cannot write the check result to stdout: {e}"));
            return Exit::CHECK_UNKNOWN;
        }
    }
    outcome.status.exit()
}

/// Scan, remember, filter, judge.
fn check_once(g: &Globals, c: &CheckConfig) -> Result<Outcome> {
    let fs = ProcFs::open(&g.proc_root)?;
    // The Nagios line and the Prometheus text name no command line or executable: read them
    // only for JSON or to match the ignore list. They name containers, from the cgroup.
    let ignore = IgnoreList::load(g.ignore_file.as_deref())?;
    let detail = if c.output == CheckOutput::Json || !ignore.entries.is_empty() {
        Detail::Full
    } else {
        Detail::Attribute
    };
    let mut snap = fs.scan_with(detail)?;
    super::place(g, &fs, &mut snap);
    if let Some(why) = report::visibility::check_blind(&snap, &g.proc_root) {
        return Ok(Outcome::unknown(c.thresholds.clone(), why));
    }
    let (ctx, mut diag) = super::diagnose_snapshot(&snap);

    // Ages are kept for every zombie of the scan, before any filter (see check::state).
    // A path the user typed (--state, ZOMBIES_STATE) never creates a directory.
    let typed = c.state.is_some();
    let path = c
        .state
        .clone()
        .unwrap_or_else(|| state::default_path(&g.proc_root));
    let key = state::Key::of(&fs);
    let (mut memory, warning) =
        State::load(&path, !typed, key).map_err(|r| anyhow::anyhow!(report::state::refusal(&r)))?;
    if let Some(w) = warning {
        crate::exit::warn(&format!("warning: {}", report::state::warning(&w)));
    }
    let ids = diag
        .parents
        .iter()
        .flat_map(|p| p.zombies.iter().map(|z| (z.pid, z.start_ticks)));
    let first_seen = memory.update(ids, ctx.now_unix);
    // Said in the report, not on stderr: under cron a warning every minute would be mail
    // every minute, and the report is where the monitoring engineer looks.
    let age_problem = memory.save().err();
    drop(memory); // releases the lock on the state's directory

    diag.only(c.filter.parent, c.filter.uid);
    diag.only_in(&c.place);
    ignore.apply(&mut diag);
    Ok(checks::evaluate(
        diag,
        &first_seen,
        ctx.now_unix,
        &c.thresholds,
        age_problem,
    ))
}

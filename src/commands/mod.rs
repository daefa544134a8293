//! The use cases: one module per command, each wiring scan -> diagnose -> (remedy, check) ->
//! report for one typed request from config.rs. The only layer that does the I/O a command
//! needs beyond /proc: stdout, the terminal, the state file, the ignore list.

mod check;
mod demo;
mod explain;
mod fix;
mod generate;
mod ignore;
mod ipc_list;
mod list;
mod probe_init;
mod tree;
mod watch;

use std::ffi::OsString;
use std::io::{self, Write};

use anyhow::Result;
use serde::Serialize;

use crate::config::{Globals, Output, Request};
use crate::diagnose::{self, Context, Diagnosis};
use crate::exit::Exit;
use crate::proc::users::Users;
use crate::proc::{Detail, ProcFs, Snapshot, headroom, pods};
use crate::report;

/// Runs one request.
pub fn run(globals: &Globals, request: Request) -> Result<Exit> {
    match request {
        Request::List(c) => list::run(globals, &c),
        Request::Tree(c) => tree::run(globals, &c),
        Request::Explain(c) => explain::run(globals, &c),
        Request::Fix(c) => fix::run(globals, &c),
        Request::Ignore(c) => ignore::run(globals, c),
        Request::Check(c) => Ok(check::run(globals, &c)),
        Request::Watch(c) => watch::run(globals, &c),
        Request::ProbeInit(c) => probe_init::run(globals, &c),
        Request::Demo(c) => demo::run(c),
        Request::IpcList(c) => ipc_list::run(globals, &c),
        Request::Generate(c) => generate::run(&c),
    }
}

/// A command line clap refused: help and --version print and succeed; `check` answers in
/// its own protocol (UNKNOWN on stdout, exit 3); everything else is a usage error (2).
pub fn refused(err: &clap::Error, args: &[OsString]) -> Exit {
    if !err.use_stderr() {
        let _ = err.print();
        return Exit::SUCCESS;
    }
    if crate::cli::subcommand(args) == Some("check") {
        return check::usage_error(&err.render().to_string());
    }
    let _ = err.print();
    Exit::USAGE
}

/// Buffered stdout: one write(2) per 64 KiB instead of one per line (a 1,000-zombie JSON
/// report is 12,000 lines). Callers flush at the end, or after each step when interactive.
type Stdout = io::BufWriter<io::StdoutLock<'static>>;

fn stdout() -> Stdout {
    io::BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

/// Writes `value` to stdout as JSON, or for people with `text`: the one place a command's
/// output format is decided.
fn emit<T: Serialize>(
    output: Output,
    value: &T,
    text: impl FnOnce(&mut Stdout) -> io::Result<()>,
) -> Result<()> {
    emit_with(output, |out| report::json::write(out, value), text)
}

/// `emit` for a value whose JSON has a writer of its own.
fn emit_with(
    output: Output,
    json: impl FnOnce(&mut Stdout) -> io::Result<()>,
    text: impl FnOnce(&mut Stdout) -> io::Result<()>,
) -> Result<()> {
    let mut out = stdout();
    match output {
        Output::Json => json(&mut out)?,
        Output::Text => text(&mut out)?,
    }
    out.flush()?;
    Ok(())
}

/// Scans and diagnoses; the first step of list, tree, explain and fix. What the scan could not
/// see is said on stderr (check says it in its report instead).
fn scan_and_diagnose(g: &Globals, detail: Detail) -> Result<(Snapshot, Context, Diagnosis)> {
    let fs = ProcFs::open(&g.proc_root)?;
    let mut snap = fs.scan_with(detail)?;
    if detail >= Detail::Attribute {
        place(g, &fs, &mut snap);
    }
    for note in report::visibility::notes(&snap, &g.proc_root) {
        crate::exit::warn(&note);
    }
    let (ctx, diag) = diagnose_snapshot(&snap);
    Ok((snap, ctx, diag))
}

/// Completes where the parents of zombies run: their cgroups' PID limits from --sys (by
/// default /sys, only for a mounted procfs: a copied tree's cgroups are not this machine's),
/// which first places the cgroup paths from outside our cgroup namespace and so may name a
/// parent's pod; then their pods' names from --pods-dir.
fn place(g: &Globals, fs: &ProcFs, snap: &mut Snapshot) {
    let sys = match &g.sys_root {
        Some(s) => Some(s.clone()),
        None => fs.is_live().then(|| "/sys".into()),
    };
    if let Some(sys) = sys {
        headroom::attach_limits(&sys, fs, snap);
    }
    let dir = g
        .pods_dir
        .clone()
        .unwrap_or_else(|| pods::DEFAULT_DIR.into());
    if let Some(e) = pods::name_pods(&dir, snap) {
        // The default directory is there only on a Kubernetes node; a path given is meant.
        if g.pods_dir.is_some() {
            crate::exit::warn(&report::container::pods_dir_unreadable(&dir, &e));
        }
    }
}

fn diagnose_snapshot(snap: &Snapshot) -> (Context, Diagnosis) {
    let ctx = Context::current(snap);
    let diag = diagnose::diagnose(snap, &ctx, &mut Users::default());
    (ctx, diag)
}

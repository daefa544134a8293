//! `zombies explain PID`: why a zombie is not reaped, with the evidence and the remedies.

use anyhow::{Result, bail};

use super::{emit, scan_and_diagnose};
use crate::config::{ExplainConfig, Globals};
use crate::diagnose;
use crate::exit::Exit;
use crate::proc::Detail;
use crate::report;

pub fn run(g: &Globals, c: &ExplainConfig) -> Result<Exit> {
    let (snap, ctx, diag) = scan_and_diagnose(g, Detail::Full)?;
    let Some(e) = diagnose::explain(&snap, &diag, c.pid) else {
        bail!(
            "no process with PID {} in {} (it may have exited or been reaped); `zombies list` shows the zombies there are now",
            c.pid,
            g.proc_root.display()
        );
    };
    emit(c.output, &e, |out| {
        report::explain::write(out, &e, ctx.now_unix, g.style)
    })?;
    Ok(Exit::SUCCESS)
}

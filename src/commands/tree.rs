//! `zombies tree`: the process tree with zombies and their parents marked.

use anyhow::{Result, bail};

use super::{emit, scan_and_diagnose};
use crate::config::{Globals, Output, TreeConfig};
use crate::exit::Exit;
use crate::proc::Detail;
use crate::report;

pub fn run(g: &Globals, c: &TreeConfig) -> Result<Exit> {
    // The tree shows no command line or executable, and applies no ignore list; it shows
    // the container, from the cgroup.
    let (snap, _ctx, diag) = scan_and_diagnose(g, Detail::Attribute)?;
    if let Some(pid) = c.root {
        if snap.get(pid).is_none() {
            bail!("no process with PID {pid} in {}", g.proc_root.display());
        }
    }
    let opts = report::tree::TreeOptions {
        root: c.root,
        zombies_only: c.zombies_only,
    };
    emit(Output::Text, &(), |out| {
        report::tree::write(out, &snap, &diag, &opts, g.style)
    })?;
    Ok(Exit::SUCCESS)
}

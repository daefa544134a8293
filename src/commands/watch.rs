//! `zombies watch`: the events, written and flushed one by one as they happen.

use std::io::Write;

use anyhow::Result;

use crate::config::{Globals, Output, WatchConfig};
use crate::exit::Exit;
use crate::proc::ProcFs;
use crate::report;
use crate::watch::Watch;

pub fn run(g: &Globals, c: &WatchConfig) -> Result<Exit> {
    let fs = ProcFs::open(&g.proc_root)?;
    let mut config = c.watch.clone();
    config.pods_dir = g.pods_dir.clone();
    // Exit events carry the PIDs of our own namespace: they name the processes of another
    // procfs (--proc /host/proc) only by chance.
    if !crate::remedy::same_pid_namespace(&g.proc_root) {
        config.connector = false;
    }
    if let Some(path) = &c.state {
        config.state = Some((path.clone(), crate::check::state::Key::of(&fs)));
    }
    let mut watch = Watch::new(&fs, config)?;
    let mut out = std::io::stdout().lock();
    watch.run(|e| {
        match c.output {
            Output::Json => report::watch::write_json(&mut out, e)?,
            Output::Text => report::watch::write_text(&mut out, e, g.style)?,
        }
        // Each event as it happens: a pipeline or a person is waiting for it.
        out.flush()
    })?;
    Ok(Exit::SUCCESS)
}

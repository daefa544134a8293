//! `zombies probe-init PID`: does the PID 1 of PID's namespace reap orphans? Probe, report,
//! and exit with the verdict (0 reaps, 1 does not, 3 untested), whatever stdout did.

use anyhow::Result;

use super::emit;
use crate::config::{Globals, ProbeInitConfig};
use crate::exit::Exit;
use crate::probe_init::{self, Outcome, Untested};
use crate::proc::ProcFs;
use crate::report;
use crate::sys::stop::StopSignals;

pub fn run(g: &Globals, c: &ProbeInitConfig) -> Result<Exit> {
    // Ctrl-C or SIGTERM (a CI timeout) ends the wait, not the process: the report still says
    // what the probe left behind. Without a signalfd they keep their default action.
    let stop = StopSignals::new().ok();
    let stopped = || stop.as_ref().is_some_and(StopSignals::received);
    let outcome = match ProcFs::open(&g.proc_root) {
        Ok(fs) => probe_init::probe(&fs, c.request, &stopped),
        Err(_) => Outcome::untested(c.request, Untested::ProcfsNotOurs),
    };
    let written = emit(c.output, &outcome, |out| {
        report::probe_init::write(out, &outcome, g.style)
    });
    match written {
        Ok(()) => Ok(outcome.exit()),
        // A closed stdout (`| head -1`) does not change what was found.
        Err(e) if crate::exit::report(&e) == Exit::SUCCESS => Ok(outcome.exit()),
        // The verdict was not delivered: the caller cannot tell, so untested.
        Err(_) => Ok(Exit::PROBE_UNTESTED),
    }
}

//! Exit codes: part of the interface, documented in the README and the man page.

/// An exit code this tool returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit(pub u8);

impl Exit {
    /// Everything asked was done (for list: the scan worked, zombies or not).
    pub const SUCCESS: Exit = Exit(0);
    /// The work could not be done or did not fully succeed: /proc unreadable, no such
    /// process, a fix that left zombies or refused a target.
    pub const FAILURE: Exit = Exit(1);
    /// Invalid usage: an unknown option, a malformed PID or duration, an unknown demo.
    pub const USAGE: Exit = Exit(2);
    /// Interrupted by Ctrl-C or SIGTERM, after cleaning up.
    pub const INTERRUPTED: Exit = Exit(130);
}

/// `zombies check` speaks the monitoring-plugins protocol instead: Nagios, Icinga and NRPE
/// read its exit code as the service state, so it has its own four codes, and an invalid
/// option is UNKNOWN (3), never clap's usual 2, which would read as CRITICAL.
impl Exit {
    /// OK: no zombies, or fewer than the thresholds.
    pub const CHECK_OK: Exit = Exit(0);
    /// WARNING: the count is in the --warn range, or a parent holds more than
    /// --warn-per-parent.
    pub const CHECK_WARNING: Exit = Exit(1);
    /// CRITICAL: the count is in the --crit range, or a zombie was seen longer than --max-age.
    pub const CHECK_CRITICAL: Exit = Exit(2);
    /// UNKNOWN: the check could not be done: /proc unreadable, invalid options, the output
    /// file not writable.
    pub const CHECK_UNKNOWN: Exit = Exit(3);
}

/// `zombies probe-init` answers one question, "does this namespace's PID 1 reap orphans?",
/// the way a test suite reads it: 0 yes, 1 no, 3 when it could not be asked (2 stays a usage
/// error).
impl Exit {
    /// PID 1 reaped the orphan the probe gave it, within --timeout.
    pub const PROBE_REAPS: Exit = Exit(0);
    /// PID 1 left the orphan a zombie for --timeout (it stays there: one zombie).
    pub const PROBE_DOES_NOT_REAP: Exit = Exit(1);
    /// The probe could not be made: no such process, a kernel thread, not root, a namespace
    /// that is not below ours, ... (the report says why).
    pub const PROBE_UNTESTED: Exit = Exit(3);
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e.0)
    }
}

/// An error caused by how the tool was called: reported as such and exits with USAGE.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Turns an error into a message on stderr and an exit code. A closed stdout (`zombies list |
/// head`) is not an error worth a word.
pub fn report(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return Exit::SUCCESS;
            }
        }
    }
    warn(&format!("{err:#}"));
    if err.downcast_ref::<UsageError>().is_some() {
        Exit::USAGE
    } else {
        Exit::FAILURE
    }
}

/// Writes `zombies: MSG` to stderr. Unlike eprintln!, a stderr that is gone (a closed pipe)
/// is not a reason to panic.
pub fn warn(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "zombies: {msg}");
}

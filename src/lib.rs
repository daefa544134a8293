//! zombies as a library: the binary in main.rs is a thin shell around `commands::run`. Only
//! what main needs is public, so that rustc sees dead code everywhere else; the integration
//! tests that must drive the core in-process go through `testing`.

// unsafe lives behind one border: src/sys/, and the demo sites that make a raw call to teach
// it; each of those files says so with #![allow(unsafe_code)] and SAFETY comments.
#![deny(unsafe_code)]

pub(crate) mod atomic;
pub(crate) mod catalog;
pub(crate) mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub(crate) mod demo;
pub(crate) mod diagnose;
pub(crate) mod duration;
pub mod exit;
pub(crate) mod generate;
pub(crate) mod ignore;
pub(crate) mod ipc;
pub(crate) mod ipcs;
pub(crate) mod paths;
pub(crate) mod probe_init;
pub(crate) mod proc;
pub(crate) mod range;
pub(crate) mod remedy;
pub(crate) mod report;
pub(crate) mod style;
pub(crate) mod sys;
pub(crate) mod teach;
pub(crate) mod watch;

/// What the integration tests drive in-process, because no command line can arrange it: a PID
/// reused between fix's plan and its act, and the scan benchmark's in-process line. Not an API.
#[doc(hidden)]
pub mod testing {
    pub use crate::diagnose::{Context, diagnose};
    pub use crate::ignore::IgnoreList;
    pub use crate::proc::ProcFs;
    pub use crate::remedy::{Choice, Request, Target, execute, plan};
    pub use crate::report::json::write as write_json;
}

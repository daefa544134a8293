//! Everything that reads /proc: the scanner, the stat parser, signal masks and the model.

pub mod connector;
pub mod handle;
pub mod model;
pub mod mount;
pub mod scan;
pub mod signals;
pub mod stat;
pub mod users;

pub use model::{Hidden, ParentDetails, Pid, PidsSource, Process, Snapshot};
pub use scan::{Detail, ProcFs};

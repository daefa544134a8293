//! Everything that reads /proc: the scanner, the stat parser, signal masks and the model; and
//! what places a process: its cgroup's container or unit (made absolute when it lies outside
//! our cgroup namespace), the pod names the kubelet keeps, the PID limits of the cgroup
//! filesystem.

pub mod cgroup;
pub mod cgroupns;
pub mod connector;
pub mod handle;
pub mod headroom;
pub mod model;
pub mod mount;
pub mod pods;
pub mod scan;
pub mod signals;
pub mod stat;
pub mod users;

pub use model::{Hidden, ParentDetails, Pid, PidsSource, Process, Snapshot};
pub use scan::{Detail, ProcFs};

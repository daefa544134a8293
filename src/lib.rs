//! zombies as a library: the binary in main.rs is a thin shell around `app::run`. Integration
//! tests and the demos reuse the /proc reader from here.

pub mod app;
pub mod cli;
pub mod demo;
pub mod diagnose;
pub mod exit;
pub mod proc;
pub mod report;
pub mod style;

//! zombies as a library: the binary in main.rs is a thin shell around `app::run`. Integration
//! tests and the demos reuse the /proc reader from here.

pub mod atomic;
pub mod catalog;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod demo;
pub mod diagnose;
pub mod duration;
pub mod exit;
pub mod generate;
pub mod ignore;
pub mod ipc;
pub mod paths;
pub mod proc;
pub mod range;
pub mod remedy;
pub mod report;
pub mod style;
pub mod sys;
pub mod teach;

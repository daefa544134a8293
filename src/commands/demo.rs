//! `zombies demo` and `zombies ipc demo`: the teaching demos of both families, through the
//! one dispatcher of teach/.

use anyhow::Result;

use crate::config::DemoConfig;
use crate::exit::Exit;
use crate::teach;

pub fn run(c: DemoConfig) -> Result<Exit> {
    teach::run(&c.selection, c.options)
}

//! `zombies generate man|completions DIR`: the committed man pages and completions.

use std::io::Write;

use anyhow::Result;

use crate::config::GenerateConfig;
use crate::exit::Exit;

pub fn run(c: &GenerateConfig) -> Result<Exit> {
    let written = if c.man {
        crate::generate::man_pages(&c.dir)?
    } else {
        crate::generate::completions(&c.dir)?
    };
    let mut out = super::stdout();
    for path in written {
        writeln!(out, "{}", path.display())?;
    }
    out.flush()?;
    Ok(Exit::SUCCESS)
}

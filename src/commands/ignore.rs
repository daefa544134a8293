//! `zombies ignore list|remove`: the ignore list, shown or edited.

use std::io::Write;

use anyhow::{Result, bail};

use super::emit;
use crate::config::{Globals, IgnoreConfig, Output};
use crate::exit::{Exit, UsageError};
use crate::ignore::{IgnoreList, Removal};
use crate::report;

pub fn run(g: &Globals, c: IgnoreConfig) -> Result<Exit> {
    let mut list = IgnoreList::load(g.ignore_file.as_deref())?;
    match c {
        IgnoreConfig::List(output) => emit(output, &report::ignore::Listing::of(&list), |out| {
            report::ignore::write(out, &list, g.style)
        })?,
        IgnoreConfig::Remove { entry, cmdline } => {
            let n = match list.remove(&entry, cmdline.as_deref()) {
                Removal::Removed(n) => n,
                Removal::NoSuchEntry => bail!(report::ignore::no_such_entry(
                    &entry,
                    cmdline.as_deref(),
                    &list.path
                )),
                Removal::Ambiguous(entries) => {
                    return Err(UsageError(report::ignore::ambiguous(&entry, &entries)).into());
                }
            };
            list.save()?;
            emit(Output::Text, &(), |out| {
                writeln!(
                    out,
                    "{}",
                    report::ignore::removed(n, &entry, cmdline.as_deref(), &list.path)
                )
            })?;
        }
    }
    Ok(Exit::SUCCESS)
}

//! `zombies list`: the zombies, grouped by the parent that is not reaping them.

use anyhow::Result;

use super::{emit, scan_and_diagnose};
use crate::config::{Globals, ListConfig, Output};
use crate::exit::Exit;
use crate::ignore::IgnoreList;
use crate::proc::Detail;
use crate::report;

pub fn run(g: &Globals, c: &ListConfig) -> Result<Exit> {
    // An unreadable ignore list must not hide zombies: warn and show everything.
    let ignore = match c.all {
        true => None,
        false => match IgnoreList::load(g.ignore_file.as_deref()) {
            Ok(list) => Some(list),
            Err(e) => {
                crate::exit::warn(&format!("warning: {e:#}; showing every parent"));
                None
            }
        },
    };
    // The table shows no command line or executable: read them only for JSON, or to match
    // the ignore list's entries. It shows the container, from the cgroup.
    let matches_entries = ignore.as_ref().is_some_and(|l| !l.entries.is_empty());
    let detail = if c.output == Output::Json || matches_entries {
        Detail::Full
    } else {
        Detail::Attribute
    };
    let (_snap, ctx, mut diag) = scan_and_diagnose(g, detail)?;
    diag.only(c.filter.parent, c.filter.uid);
    diag.only_in(&c.place);
    if let Some(list) = ignore {
        list.apply(&mut diag);
    }
    if c.pids {
        return emit(Output::Text, &(), |out| {
            report::table::write_pids(out, &diag)
        })
        .map(|()| Exit::SUCCESS);
    }
    emit(c.output, &diag, |out| {
        report::table::write(out, &diag, ctx.now_unix, g.style)
    })?;
    Ok(Exit::SUCCESS)
}

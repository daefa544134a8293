//! `zombies ignore list`: the ignore list's entries and where it lives.

use std::io::{self, Write};

use serde::Serialize;

use super::printable;
use crate::ignore::{Entry, IgnoreList};
use crate::style::Style;

/// The JSON shape of `zombies ignore list --format json`.
#[derive(Serialize)]
pub struct Listing<'a> {
    pub file: String,
    pub entries: &'a [Entry],
}

impl<'a> Listing<'a> {
    pub fn of(list: &'a IgnoreList) -> Listing<'a> {
        Listing {
            file: list.path.display().to_string(),
            entries: &list.entries,
        }
    }
}

pub fn write(out: &mut impl Write, list: &IgnoreList, style: Style) -> io::Result<()> {
    if list.entries.is_empty() {
        writeln!(
            out,
            "The ignore list {} is empty: list and check report every parent.",
            list.path.display()
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{} ({} {}):",
        style.bold(&list.path.display().to_string()),
        list.entries.len(),
        if list.entries.len() == 1 {
            "entry"
        } else {
            "entries"
        }
    )?;
    for e in &list.entries {
        let what = match (&e.exe, &e.comm) {
            (Some(exe), Some(comm)) => format!("exe {} named {}", printable(exe), printable(comm)),
            (Some(exe), None) => format!("exe {}", printable(exe)),
            (None, Some(comm)) => format!("name {}", printable(comm)),
            (None, None) => "(empty entry: matches nothing)".to_string(),
        };
        let cmdline = e
            .cmdline
            .as_deref()
            .map(|c| format!(" running `{}`", printable(c)))
            .unwrap_or_default();
        let uid = e.uid.map(|u| format!(", uid {u}")).unwrap_or_default();
        let note = e
            .note
            .as_deref()
            .map(|n| format!("  {}", style.dim(&format!("# {}", printable(n)))))
            .unwrap_or_default();
        writeln!(out, "  {what}{cmdline}{uid}{note}")?;
    }
    writeln!(
        out,
        "Remove one with `zombies ignore remove EXE-OR-NAME`; `zombies list --all` shows ignored parents."
    )
}

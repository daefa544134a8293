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
    let per_script = if list.entries.iter().any(|e| e.cmdline.is_some()) {
        " (add --cmdline CMDLINE for one script's entry)"
    } else {
        ""
    };
    writeln!(
        out,
        "Remove one with `zombies ignore remove EXE-OR-NAME`{per_script}; `zombies list --all` shows ignored parents."
    )
}

/// Why `ignore remove ENTRY` removed nothing: ENTRY names the entries of several scripts.
pub fn ambiguous(key: &str, entries: &[Entry]) -> String {
    let each = entries
        .iter()
        .map(|e| match &e.cmdline {
            Some(c) => format!("--cmdline {}", shell_quoted(&printable(c))),
            None => "(an entry for every command line: edit the file to remove it)".to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "'{}' names {} entries, one per command line (the scripts of one interpreter); remove one with `zombies ignore remove {} --cmdline CMDLINE`: {each}",
        printable(key),
        entries.len(),
        printable(key)
    )
}

/// A word the shell passes on as it is: in single quotes, each ' written as '\''.
fn shell_quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `ignore remove` found no such entry.
pub fn no_such_entry(entry: &str, cmdline: Option<&str>, list: &std::path::Path) -> String {
    format!(
        "no entry '{entry}'{} in the ignore list {}; `zombies ignore list` shows the entries",
        running(cmdline),
        list.display()
    )
}

/// `ignore remove` removed `n` entries.
pub fn removed(n: usize, entry: &str, cmdline: Option<&str>, list: &std::path::Path) -> String {
    format!(
        "Removed {n} {} for {}{} from {}.",
        if n == 1 { "entry" } else { "entries" },
        printable(entry),
        running(cmdline),
        list.display()
    )
}

/// " running `CMDLINE`", or nothing.
fn running(cmdline: Option<&str>) -> String {
    cmdline
        .map(|c| format!(" running `{}`", printable(c)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_for_the_shell() {
        assert_eq!(shell_quoted("sh -c a b"), "'sh -c a b'");
        assert_eq!(shell_quoted("it's"), r"'it'\''s'");
    }
}

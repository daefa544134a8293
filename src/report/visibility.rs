//! What a scan could not see, in words: the notes `list`, `tree`, `explain` and `fix` print on
//! stderr, and the reason `check` gives when it cannot say OK.

use std::path::Path;

use crate::proc::Snapshot;

/// How many refused paths a message names before "and N more".
const NAMED: usize = 3;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `2/stat` -> `/tmp/tree/2/stat`, the first few of them.
fn named_paths(root: &Path, rel: &[String]) -> String {
    let mut names: Vec<String> = rel
        .iter()
        .take(NAMED)
        .map(|r| root.join(r).display().to_string())
        .collect();
    if rel.len() > NAMED {
        names.push(format!("and {} more", rel.len() - NAMED));
    }
    names.join(", ")
}

fn not_files(snap: &Snapshot, root: &Path) -> Option<String> {
    (!snap.not_files.is_empty()).then(|| {
        format!(
            "{} under {} {} not a regular file and {} skipped unread ({}): {} is not a live procfs, and reading a FIFO or a device there could block for ever",
            plural(snap.not_files.len(), "process entry", "process entries"),
            root.display(),
            if snap.not_files.len() == 1 { "is" } else { "are" },
            if snap.not_files.len() == 1 { "was" } else { "were" },
            named_paths(root, &snap.not_files),
            root.display(),
        )
    })
}

/// Notes for stderr: each thing the scan could not see, one line each, with what to do.
pub fn notes(snap: &Snapshot, root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if snap.unreadable > 0 {
        out.push(format!(
            "note: {} processes in {} could not be read (hidepid or permissions); run as root to see them",
            snap.unreadable,
            root.display()
        ));
    }
    if let Some(n) = not_files(snap, root) {
        out.push(format!("note: {n}; point --proc at a mounted procfs"));
    }
    out
}

/// Why `check` cannot give a verdict from this scan, when it cannot: a check that did not
/// see every process must not say OK.
pub fn check_blind(snap: &Snapshot, root: &Path) -> Option<String> {
    not_files(snap, root).map(|n| format!("{n}; point --proc at a mounted procfs"))
}

//! The words for what can go wrong with `check`'s state file (check::state returns the facts).

use crate::check::state::{MARKER, Refusal, Trouble, Warning};

/// Why the check refuses the state path: the message of its UNKNOWN.
pub fn refusal(r: &Refusal) -> String {
    match r {
        Refusal::Symlink(p) => format!(
            "state file {} is a symbolic link; zombies does not follow one there (a link planted at the state path could point a root check at any file): pass --state with the path of the file itself",
            p.display()
        ),
        Refusal::NotAFile { path, kind } => format!(
            "state file {} is {kind}, not a file: pass --state with the path of a file",
            path.display()
        ),
        Refusal::NotOurs(p) => format!(
            "{} is not a state file of zombies check (no \"format\": \"{MARKER}\"), so it is left as it is: pass --state with a path of its own (were --state and --output swapped?)",
            p.display()
        ),
    }
}

/// Why ages are not kept this run.
pub fn trouble(t: &Trouble) -> String {
    match t {
        Trouble::NoDirectory { path, dir } => format!(
            "no directory {} for the state file {} (the directory of a --state path is never created): create it, or pass another --state",
            dir.display(),
            path.display()
        ),
        Trouble::Unreadable { path, error } => format!(
            "cannot read state file {}: {error}; it is left as it is: check its permissions, or pass another --state",
            path.display()
        ),
        Trouble::Unwritable { error } => format!("{error}; pass --state with a writable path"),
    }
}

/// A warning for stderr.
pub fn warning(w: &Warning) -> String {
    match w {
        Warning::Corrupt { path, error } => format!(
            "state file {} is corrupt ({error}); starting it afresh: zombie ages start again from now",
            path.display()
        ),
    }
}

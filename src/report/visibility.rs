//! What a scan could not see, in words: the notes `list`, `tree`, `explain` and `fix` print on
//! stderr, and the reason `check` gives when it cannot say OK.

use std::path::Path;

use crate::proc::mount::{HidePid, ProcMount};
use crate::proc::{Hidden, Snapshot};

use super::plural;

/// How many refused paths a message names before "and N more".
const NAMED: usize = 3;

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

/// What hidepid does to other users' processes, for `uid`.
fn hidepid_effect(mount: &ProcMount, uid: u32) -> String {
    let effect = match mount.hidepid {
        HidePid::NoAccess => format!("uid {uid} cannot read the processes of other users"),
        HidePid::Ptraceable => format!("only the processes uid {uid} may ptrace are visible to it"),
        _ => format!("the processes of other users are invisible to uid {uid}"),
    };
    format!(
        "{} is mounted with hidepid={}: {effect}",
        mount.mount_point,
        mount.hidepid.as_str()
    )
}

/// What to do about hidepid.
fn hidepid_remedy(mount: &ProcMount, who: &str) -> String {
    match mount.hidepid {
        // has_pid_permissions: gid= exempts from noaccess and invisible only.
        HidePid::Ptraceable | HidePid::Other(_) => {
            format!(
                "run {who} as root (with CAP_SYS_PTRACE; gid= does not lift hidepid={})",
                mount.hidepid.as_str()
            )
        }
        // gid 0 is the default: nobody asked for a group, and root's is no group to join.
        _ if mount.gid == 0 => format!(
            "run {who} as root, or remount with a group that may see all (mount -o remount,hidepid={},gid=GROUP {}) and add the user to GROUP",
            mount.hidepid.as_str(),
            mount.mount_point
        ),
        _ => format!(
            "run {who} as root, or add the user to group {} (the mount's gid=)",
            mount.gid
        ),
    }
}

/// Notes for stderr: each thing the scan could not see, one line each, with what to do.
pub fn notes(snap: &Snapshot, root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    match &snap.hidden {
        Some(Hidden::HidePid { mount, uid }) => out.push(format!(
            "note: {}, so their zombies are not shown; {}",
            hidepid_effect(mount, *uid),
            hidepid_remedy(mount, "zombies")
        )),
        Some(Hidden::NoPid1) => out.push(format!(
            "note: PID 1 is not visible in {}, so processes are hidden from you (hidepid?) and their zombies are not shown; run as root to see them all",
            root.display()
        )),
        None => {}
    }
    // Under hidepid the note above already says why.
    if snap.unreadable > 0 && snap.hidden.is_none() {
        out.push(format!(
            "note: {} processes in {} could not be read (hidepid or permissions); run as root to see them",
            snap.unreadable,
            root.display()
        ));
    }
    if let Some(n) = not_files(snap, root) {
        out.push(format!("note: {n}; point --proc at a mounted procfs"));
    }
    let mut unplaced: Vec<crate::proc::Pid> = snap
        .parent_details
        .iter()
        .filter(|(_, d)| d.cgroup_unplaced)
        .map(|(&pid, _)| pid)
        .collect();
    if !unplaced.is_empty() {
        unplaced.sort_unstable();
        out.push(format!(
            "warning: {}",
            super::container::limits_unknown(&unplaced, snap.cgroup_ns.as_ref())
        ));
    }
    out
}

/// Why `check` cannot give a verdict from this scan, when it cannot: a check that did not
/// see every process must not say OK.
pub fn check_blind(snap: &Snapshot, root: &Path) -> Option<String> {
    if let Some(n) = not_files(snap, root) {
        return Some(format!("{n}; point --proc at a mounted procfs"));
    }
    let mut why = match &snap.hidden {
        Some(Hidden::HidePid { mount, uid }) => format!(
            "cannot see every process: {}, so their zombies cannot be counted; {}",
            hidepid_effect(mount, *uid),
            hidepid_remedy(mount, "the check")
        ),
        Some(Hidden::NoPid1) => format!(
            "cannot see every process: PID 1 is not visible in {} (hidepid?), so zombies of hidden processes cannot be counted; run the check as root",
            root.display()
        ),
        None if snap.unreadable > 0 => format!(
            "cannot see every process: {} in {} could not be read (permission denied), so their zombies cannot be counted; run the check as root",
            plural(snap.unreadable, "process", "processes"),
            root.display()
        ),
        None => return None,
    };
    let visible = snap.zombies().count();
    if visible > 0 {
        why.push_str(&format!(
            "; {} among the processes it can see",
            plural(visible, "zombie", "zombies")
        ));
    }
    Some(why)
}

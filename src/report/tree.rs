//! `zombies tree`: the process tree like pstree, with zombies and their parents marked.

use std::collections::HashSet;
use std::io::{self, Write};

use super::{exit_text, named, printable};
use crate::diagnose::Diagnosis;
use crate::proc::{Pid, Snapshot};
use crate::style::Style;

/// Which part of the tree to draw.
pub struct TreeOptions {
    pub root: Option<Pid>,
    pub zombies_only: bool,
}

pub fn write(
    out: &mut impl Write,
    snap: &Snapshot,
    diag: &Diagnosis,
    opts: &TreeOptions,
    style: Style,
) -> io::Result<()> {
    let children = snap.children_map();
    let keep: Option<HashSet<Pid>> = opts.zombies_only.then(|| {
        let mut set = HashSet::new();
        for z in snap.zombies() {
            set.insert(z.pid);
            set.extend(snap.ancestors(z.pid));
        }
        set
    });
    let roots: Vec<Pid> = match opts.root {
        Some(r) => vec![r],
        None => snap
            .processes
            .iter()
            .filter(|p| p.ppid == 0 || snap.get(p.ppid).is_none())
            .map(|p| p.pid)
            .collect(),
    };
    let shown = |pid: &Pid| keep.as_ref().is_none_or(|k| k.contains(pid));
    let mut drew = false;
    for root in roots.into_iter().filter(shown) {
        // Depth-first with an explicit stack: (pid, prefix for its children, its own branch).
        let mut stack: Vec<(Pid, String, String)> = vec![(root, String::new(), String::new())];
        let mut seen = HashSet::new();
        while let Some((pid, prefix, branch)) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            writeln!(out, "{branch}{}", label(snap, diag, pid, style))?;
            drew = true;
            let kids: Vec<Pid> = children
                .get(&pid)
                .map(|k| {
                    k.iter()
                        .copied()
                        .filter(|c| *c != pid)
                        .filter(shown)
                        .collect()
                })
                .unwrap_or_default();
            for (i, kid) in kids.iter().enumerate().rev() {
                let last = i + 1 == kids.len();
                let branch = format!("{prefix}{}", if last { "└─ " } else { "├─ " });
                let next = format!("{prefix}{}", if last { "   " } else { "│  " });
                stack.push((*kid, next, branch));
            }
        }
    }
    if !drew && opts.zombies_only {
        writeln!(out, "{}", style.green("No zombies."))?;
    }
    Ok(())
}

fn label(snap: &Snapshot, diag: &Diagnosis, pid: Pid, style: Style) -> String {
    let Some(p) = snap.get(pid) else {
        return format!("{pid} (gone)");
    };
    let name = printable(&p.comm);
    if p.is_zombie() {
        let z = diag
            .parent_of_zombie(pid)
            .and_then(|f| f.zombies.iter().find(|z| z.pid == pid));
        let exit = z
            .map(|z| exit_text(z.exit_code, z.exit_signal))
            .unwrap_or_else(|| "?".into());
        let held = z
            .and_then(|z| z.held_by_tracer.as_ref())
            .map(|t| format!(", held by tracer {}", named(t)))
            .unwrap_or_default();
        return style.red(&format!("{pid} {name} <defunct> [zombie, {exit}{held}]"));
    }
    if p.is_exited_leader() {
        let live = match snap.live_threads(p) {
            Some(1) => "1 thread lives".to_string(),
            Some(n) => format!("{n} threads live"),
            None => "other threads live".to_string(),
        };
        return style.dim(&format!(
            "{pid} {name} [main thread exited, {live}: not a zombie]"
        ));
    }
    match diag.parent(pid) {
        Some(f) => {
            // A traced parent acts on a signal only when its tracer lets it: say who that is.
            let traced = f
                .tracer
                .as_ref()
                .map(|t| {
                    format!(
                        ", traced by {}: a SIGTERM may be held until it lets it run",
                        named(t)
                    )
                })
                .unwrap_or_default();
            let place = f
                .container
                .as_ref()
                .and_then(super::container::compact)
                .map(|c| format!(" in {c}"))
                .unwrap_or_default();
            style.yellow(&format!(
                "{pid} {name} [{} zombie{} not reaped, SIGCHLD {}{}{traced} → {}]{place}",
                f.zombies.len(),
                if f.zombies.len() == 1 { "" } else { "s" },
                f.sigchld.as_str(),
                if f.sigchld_blocked { " (blocked)" } else { "" },
                f.recommended.as_str()
            ))
        }
        None => format!("{pid} {name}"),
    }
}

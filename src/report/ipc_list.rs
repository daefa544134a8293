//! `zombies ipc list`: the table of IPC objects for people, and the JSON for scripts, from
//! what `crate::ipcs` collected. Every sentence of the listing is here.

use std::io::{self, Write};

use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style as TableStyle;

use crate::ipcs::sysvipc::rwx;
use crate::ipcs::{IpcObject, Listing, Liveness, Note};
use crate::report::printable;
use crate::style::Style;

/// The JSON document: the listing, its notes as sentences.
#[derive(Serialize)]
struct Json<'a> {
    /// Whether an mqueue filesystem is mounted at /dev/mqueue (else POSIX queues cannot be
    /// listed).
    mqueue_mounted: bool,
    /// Whether every process's maps and fds could be read (else `holders` may miss some and
    /// POSIX objects are never called orphaned).
    complete: bool,
    objects: &'a [IpcObject],
    /// Things the reader should know (an unmounted /dev/mqueue, unreadable processes).
    notes: Vec<String>,
}

/// The listing as one JSON object (see [`Json`]).
pub(crate) fn write_json(out: &mut impl Write, l: &Listing) -> io::Result<()> {
    let doc = Json {
        mqueue_mounted: l.mqueue_mounted,
        complete: l.complete,
        objects: &l.objects,
        notes: l.notes.iter().map(note).collect(),
    };
    crate::report::json::write(out, &doc)
}

/// A note, in words.
fn note(n: &Note) -> String {
    match n {
        Note::MqueueUnmounted { path } => format!(
            "{} is not mounted, so POSIX message queues cannot be listed; mount it with: mount -t mqueue none {}",
            path.display(),
            path.display()
        ),
        Note::Unreadable {
            count,
            pids,
            as_root,
        } => {
            let mut shown: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
            if *count > pids.len() {
                shown.push("…".into());
            }
            format!(
                "cannot read the memory maps or descriptors of {count} process{} (PID {}), so a POSIX object nobody else holds shows as unknown, never orphaned{}",
                if *count == 1 { "" } else { "es" },
                shown.join(", "),
                if *as_root {
                    ""
                } else {
                    "; run as root to see them"
                }
            )
        }
    }
}

fn size_text(o: &IpcObject) -> String {
    match o.kind {
        "sysv-msg" => format!(
            "{} msg, {} B",
            o.messages.unwrap_or(0),
            o.size_bytes.unwrap_or(0)
        ),
        "sysv-sem" => {
            let n = o.nsems.unwrap_or(0);
            format!("{n} sem{}", if n == 1 { "" } else { "s" })
        }
        _ => o.size_bytes.map(|b| format!("{b} B")).unwrap_or_default(),
    }
}

fn pids_text(o: &IpcObject) -> String {
    let mut parts: Vec<String> = o
        .pids
        .iter()
        .map(|p| {
            let state = match p.state {
                Liveness::Alive if p.zombie => "zombie",
                Liveness::Alive => "alive",
                Liveness::Gone => "gone",
                Liveness::Reused => "gone, PID reused",
            };
            format!("{} {} ({state})", p.role, p.pid)
        })
        .collect();
    if parts.is_empty() && o.kind.starts_with("sysv") {
        parts.push("no PID recorded".into());
    }
    parts.join(", ")
}

fn users_text(o: &IpcObject) -> String {
    let what = match o.kind {
        "sysv-shm" => "attached",
        "posix-mq" => "open",
        "posix-shm" | "posix-sem" => "mapped/open",
        "sysv-sem" => {
            return match o.waiters {
                Some(0) => "no waiters".into(),
                Some(n) => format!("{n} waiting"),
                None => "?".into(),
            };
        }
        _ => return String::new(),
    };
    let mut s = match o.nattch {
        Some(n) => format!("nattch {n}"),
        None => String::new(),
    };
    if !o.holders.is_empty() {
        let list: Vec<String> = o.holders.iter().take(4).map(|p| p.to_string()).collect();
        let more = if o.holders.len() > 4 { ", …" } else { "" };
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&format!("{what} by {}{more}", list.join(", ")));
    } else if s.is_empty() {
        s = format!("not {what}");
    }
    s
}

/// The table for people.
pub(crate) fn write_text(
    out: &mut impl Write,
    l: &Listing,
    orphaned_only: bool,
    style: Style,
) -> io::Result<()> {
    if l.objects.is_empty() {
        writeln!(
            out,
            "{}",
            style.green(if orphaned_only {
                "No orphaned IPC objects."
            } else {
                "No IPC objects."
            })
        )?;
    } else {
        let mut b = Builder::default();
        b.push_record([
            "KIND", "ID", "KEY/NAME", "OWNER", "PERMS", "SIZE", "USERS", "PIDS", "STATUS",
        ]);
        for o in &l.objects {
            let owner = o.owner.clone().unwrap_or_else(|| o.owner_uid.to_string());
            let perms = format!(
                "{} {}{}",
                o.perms.trim_start_matches('0'),
                rwx(u32::from_str_radix(&o.perms, 8).unwrap_or(0)),
                if o.removed { " (removed)" } else { "" }
            );
            let status = if o.orphaned {
                style.red("orphaned")
            } else if o.kind.starts_with("posix") && !l.complete && o.holders.is_empty() {
                style.dim("unknown")
            } else {
                style.green("in use")
            };
            b.push_record([
                o.kind.to_string(),
                o.id.map(|i| i.to_string()).unwrap_or_else(|| "-".into()),
                printable(o.key.as_deref().or(o.name.as_deref()).unwrap_or("")),
                printable(&owner),
                perms,
                size_text(o),
                users_text(o),
                pids_text(o),
                status,
            ]);
        }
        let mut table = b.build();
        table.with(TableStyle::blank());
        crate::report::write_table(out, &table)?;
    }
    let orphans = l.objects.iter().filter(|o| o.orphaned).count();
    let summary = format!(
        "{} object{}, {} orphaned",
        l.objects.len(),
        if l.objects.len() == 1 { "" } else { "s" },
        orphans
    );
    writeln!(out, "{}", style.dim(&summary))?;
    if orphans > 0 {
        writeln!(
            out,
            "{}",
            style.dim(
                "Orphaned: nobody holds it and no process it records still lives (a zombie is dead: it will never remove the object, and reaping it frees only its PID). Remove one with ipcrm -q/-s/-m ID (System V) or rm PATH (POSIX), once sure no program will come back to it."
            )
        )?;
    }
    for n in &l.notes {
        writeln!(out, "{} {}", style.yellow("note:"), note(n))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_in_words() {
        let unreadable = Note::Unreadable {
            count: 7,
            pids: vec![1, 2, 3, 4, 5],
            as_root: false,
        };
        assert_eq!(
            note(&unreadable),
            "cannot read the memory maps or descriptors of 7 processes (PID 1, 2, 3, 4, 5, …), so a POSIX object nobody else holds shows as unknown, never orphaned; run as root to see them"
        );
        let one = Note::Unreadable {
            count: 1,
            pids: vec![1],
            as_root: true,
        };
        assert!(
            note(&one).contains("1 process (PID 1), so"),
            "{}",
            note(&one)
        );
        let mq = Note::MqueueUnmounted {
            path: "/dev/mqueue".into(),
        };
        assert!(note(&mq).ends_with("mount -t mqueue none /dev/mqueue"));
    }
}

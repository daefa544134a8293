//! `ipc list`: every IPC object the kernel keeps for us, like ipcs/lsipc but with the POSIX
//! objects too, and with the question that matters for leaks: are the processes that created
//! and last used it still alive, and does anyone still have it attached, open or mapped?
//!
//! Sources: /proc/sysvipc/{msg,sem,shm} (System V), /dev/mqueue (POSIX queues; only when an
//! mqueue filesystem is mounted there), /dev/shm (POSIX shared memory, and named semaphores as
//! `sem.NAME`). Who holds a POSIX object or a System V segment comes from every process's
//! /proc/PID/maps and /proc/PID/fd; unreadable processes make that answer incomplete, which
//! the listing says.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style as TableStyle;

use super::sysv::key_hex;
use super::sysvipc::{self, SHM_DEST, rwx};
use crate::proc::model::Process;
use crate::proc::users::Users;
use crate::report::printable;
use crate::style::Style;
use crate::sys::sysv::{self, SemQuery};

/// Where to look; tests and containers point these elsewhere.
#[derive(Clone, Debug)]
pub struct Sources {
    pub proc_root: PathBuf,
    pub dev_shm: PathBuf,
    pub dev_mqueue: PathBuf,
}

impl Sources {
    pub fn system(proc_root: &Path) -> Sources {
        Sources {
            proc_root: proc_root.to_path_buf(),
            dev_shm: PathBuf::from("/dev/shm"),
            dev_mqueue: PathBuf::from("/dev/mqueue"),
        }
    }
}

/// Whether a process recorded on an object still lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Liveness {
    /// A process with that PID exists and started before it last used the object. It may be
    /// an unreaped zombie: [`PidRef::zombie`] says so.
    Alive,
    /// No process has that PID.
    Gone,
    /// The PID belongs to a newer process (it started after the recorded use): the original
    /// is gone.
    Reused,
}

/// A PID an object records, with its role and whether it still lives.
#[derive(Clone, Debug, Serialize)]
pub struct PidRef {
    /// `creator`, `last-sender`, `last-receiver`, `last-attach` (shmat/shmdt), `last-op`
    /// (semop, per semaphore).
    pub role: &'static str,
    pub pid: i32,
    pub state: Liveness,
    /// The process is an unreaped zombie: dead, its PID kept only for its parent's wait(). It
    /// will never use or remove the object again, so it counts as gone for `orphaned`.
    pub zombie: bool,
}

impl PidRef {
    /// Whether the process is alive and not a zombie: it may still use or remove the object.
    pub fn lives(&self) -> bool {
        self.state == Liveness::Alive && !self.zombie
    }
}

/// One IPC object.
#[derive(Clone, Debug, Serialize)]
pub struct IpcObject {
    /// `sysv-msg`, `sysv-sem`, `sysv-shm`, `posix-mq`, `posix-shm`, `posix-sem`.
    pub kind: &'static str,
    /// System V identifier.
    pub id: Option<i32>,
    /// System V key, 0x%08x (0x00000000 is IPC_PRIVATE).
    pub key: Option<String>,
    /// POSIX name, with its leading slash.
    pub name: Option<String>,
    /// The file behind a POSIX object.
    pub path: Option<String>,
    pub owner_uid: u32,
    pub owner: Option<String>,
    pub creator_uid: Option<u32>,
    /// Permission bits, octal ("0600").
    pub perms: String,
    /// shm: the segment was removed (IPC_RMID) and dies at its last detach.
    pub removed: bool,
    /// Segment or file size; queued bytes for queues.
    pub size_bytes: Option<u64>,
    /// Messages waiting (System V queues).
    pub messages: Option<u64>,
    /// Semaphores in the set.
    pub nsems: Option<u64>,
    /// Processes waiting on a semaphore of the set.
    pub waiters: Option<u64>,
    /// nattch of a segment.
    pub nattch: Option<u64>,
    /// Processes that have it attached, mapped or open now.
    pub holders: Vec<i32>,
    /// Recorded PIDs, with whether they live.
    pub pids: Vec<PidRef>,
    /// Last change or use, seconds since the epoch.
    pub last_used_unix: Option<i64>,
    /// Nobody holds it and no recorded PID lives (an unreaped zombie does not): a leak,
    /// unless a program means to come back to it. Never true when the answer is incomplete.
    pub orphaned: bool,
}

/// What `ipc list` found.
#[derive(Debug, Serialize)]
pub struct Listing {
    /// Whether an mqueue filesystem is mounted at /dev/mqueue (else POSIX queues cannot be
    /// listed).
    pub mqueue_mounted: bool,
    /// Whether every process's maps and fds could be read (else `holders` may miss some and
    /// POSIX objects are never called orphaned).
    pub complete: bool,
    pub objects: Vec<IpcObject>,
    /// Things the reader should know (an unmounted /dev/mqueue, unreadable processes).
    pub notes: Vec<String>,
}

/// Processes' view: start times and what each holds.
struct Procs {
    root: PathBuf,
    btime: Option<u64>,
    ticks: u64,
    /// (dev, inode) of files mapped or open -> PIDs.
    by_inode: HashMap<(u64, u64), HashSet<i32>>,
    /// SysV segment id -> PIDs that have it attached.
    sysv_attached: HashMap<i32, HashSet<i32>>,
    /// fd link target -> PIDs (POSIX queues show as "/name").
    by_link: HashMap<String, HashSet<i32>>,
    /// PIDs whose maps or fds could not be read.
    unreadable: Vec<i32>,
}

impl Procs {
    fn scan(root: &Path) -> Procs {
        let mut p = Procs {
            root: root.to_path_buf(),
            btime: crate::teach::probe::boot_time(root),
            ticks: crate::proc::scan::ticks_per_second(),
            by_inode: HashMap::new(),
            sysv_attached: HashMap::new(),
            by_link: HashMap::new(),
            unreadable: Vec::new(),
        };
        let Ok(dir) = fs::read_dir(root) else {
            return p;
        };
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                continue;
            };
            let mut base = root.join(pid.to_string());
            let maps = fs::read_to_string(base.join("maps"));
            // A leader that exited while other threads run (`Zl`) has no memory or files of
            // its own any more: what the process holds is seen through a live thread.
            let maps = match maps {
                Ok(m) if m.is_empty() => match live_thread(&base) {
                    Some(task) => {
                        base = task;
                        fs::read_to_string(base.join("maps"))
                    }
                    None => Ok(m),
                },
                other => other,
            };
            match maps {
                Ok(maps) => p.add_maps(pid, &maps),
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue, // exited
                Err(_) => {
                    p.unreadable.push(pid);
                    continue;
                }
            }
            match fs::read_dir(base.join("fd")) {
                Ok(fds) => {
                    for fd in fds.flatten() {
                        if let Ok(t) = fs::read_link(fd.path()) {
                            let t = t.to_string_lossy().into_owned();
                            if t.starts_with("/dev/shm/")
                                || (t.starts_with('/') && t[1..].find('/').is_none())
                            {
                                if let Ok(md) = fs::metadata(fd.path()) {
                                    p.by_inode
                                        .entry((md.dev(), md.ino()))
                                        .or_default()
                                        .insert(pid);
                                }
                                p.by_link.entry(t).or_default().insert(pid);
                            }
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(_) => p.unreadable.push(pid),
            }
        }
        p
    }

    fn add_maps(&mut self, pid: i32, maps: &str) {
        for line in maps.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 6 {
                continue;
            }
            let (dev, ino, path) = (f[3], f[4], f[5]);
            let Ok(ino) = ino.parse::<u64>() else {
                continue;
            };
            if path.starts_with("/SYSV") {
                self.sysv_attached
                    .entry(ino as i32)
                    .or_default()
                    .insert(pid);
            } else if path.starts_with("/dev/shm/") {
                if let Some((maj, min)) = dev.split_once(':') {
                    let (Ok(maj), Ok(min)) =
                        (u64::from_str_radix(maj, 16), u64::from_str_radix(min, 16))
                    else {
                        continue;
                    };
                    let dev = libc::makedev(maj as u32, min as u32);
                    self.by_inode.entry((dev, ino)).or_default().insert(pid);
                }
            }
        }
    }

    /// Whether `pid` lives and is the process that used the object at `used` (epoch secs),
    /// and whether it is an unreaped zombie.
    fn liveness(&self, pid: i32, used: Option<i64>) -> (Liveness, bool) {
        let stat = self.root.join(pid.to_string()).join("stat");
        let Ok(text) = fs::read(&stat) else {
            return (Liveness::Gone, false);
        };
        let Some(stat) = crate::proc::stat::parse(&text) else {
            return (Liveness::Alive, false);
        };
        let started = self.btime.map(|b| b + stat.starttime / self.ticks);
        match (started, used) {
            // Times are whole seconds (btime too): allow one second of slack.
            (Some(started), Some(used)) if used > 0 && started as i64 > used + 1 => {
                (Liveness::Reused, false)
            }
            // The same rule as `zombies list`: a `Zl` leader whose threads run is alive.
            _ => (Liveness::Alive, Process::from_stat(stat).is_zombie()),
        }
    }

    fn pid_ref(&self, role: &'static str, pid: i32, used: Option<i64>) -> Option<PidRef> {
        (pid > 0).then(|| {
            let (state, zombie) = self.liveness(pid, used);
            PidRef {
                role,
                pid,
                state,
                zombie,
            }
        })
    }
}

/// /proc/PID/task/TID of a thread that has not exited, when `pid_dir`'s leader is dead but
/// its process is not (`Zl`); None for anything else.
fn live_thread(pid_dir: &Path) -> Option<PathBuf> {
    let leader = crate::proc::stat::parse(&fs::read(pid_dir.join("stat")).ok()?)?;
    if leader.state != b'Z' || leader.num_threads <= 1 {
        return None;
    }
    fs::read_dir(pid_dir.join("task"))
        .ok()?
        .flatten()
        .map(|t| t.path())
        .find(|t| {
            fs::read(t.join("stat"))
                .ok()
                .and_then(|b| crate::proc::stat::parse(&b))
                .is_some_and(|s| !matches!(s.state, b'Z' | b'X'))
        })
}

fn sorted(set: Option<&HashSet<i32>>) -> Vec<i32> {
    let mut v: Vec<i32> = set.map(|s| s.iter().copied().collect()).unwrap_or_default();
    v.sort_unstable();
    v
}

fn nonzero(t: i64) -> Option<i64> {
    (t > 0).then_some(t)
}

/// Collects every object. Fails only when /proc/sysvipc cannot be read at all.
pub fn collect(src: &Sources, users: &mut Users) -> Result<Listing> {
    let procs = Procs::scan(&src.proc_root);
    let complete = procs.unreadable.is_empty();
    let mut objects = Vec::new();
    let mut notes = Vec::new();

    let msgs = sysvipc::read_msg(&src.proc_root).with_context(|| {
        format!(
            "cannot read {}/sysvipc/msg; is this kernel built with System V IPC?",
            src.proc_root.display()
        )
    })?;
    for r in msgs {
        let pids: Vec<PidRef> = [
            procs.pid_ref("last-sender", r.lspid, nonzero(r.stime)),
            procs.pid_ref("last-receiver", r.lrpid, nonzero(r.rtime)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let orphaned = !pids.iter().any(PidRef::lives);
        objects.push(IpcObject {
            size_bytes: Some(r.cbytes),
            messages: Some(r.qnum),
            pids,
            last_used_unix: [r.stime, r.rtime, r.ctime].into_iter().max(),
            orphaned,
            ..sysv_object("sysv-msg", r.id, r.key, r.perms, r.uid, r.cuid, users)
        });
    }

    for r in sysvipc::read_sem(&src.proc_root).unwrap_or_default() {
        let mut pids = Vec::new();
        let mut waiters = 0u64;
        let mut known = true;
        for num in 0..r.nsems.min(4096) as i32 {
            match sysv::sem_get(r.id, num, SemQuery::Pid) {
                Ok(pid) => pids.extend(procs.pid_ref("last-op", pid, nonzero(r.otime))),
                Err(_) => known = false,
            }
            for cmd in [SemQuery::Ncnt, SemQuery::Zcnt] {
                if let Ok(n) = sysv::sem_get(r.id, num, cmd) {
                    waiters += n as u64;
                }
            }
        }
        pids.sort_by_key(|p| p.pid);
        pids.dedup_by_key(|p| p.pid);
        let orphaned = known && waiters == 0 && !pids.iter().any(PidRef::lives);
        objects.push(IpcObject {
            nsems: Some(r.nsems),
            waiters: known.then_some(waiters),
            pids,
            last_used_unix: [r.otime, r.ctime].into_iter().max(),
            orphaned,
            ..sysv_object("sysv-sem", r.id, r.key, r.perms, r.uid, r.cuid, users)
        });
    }

    for r in sysvipc::read_shm(&src.proc_root).unwrap_or_default() {
        let pids: Vec<PidRef> = [
            procs.pid_ref("creator", r.cpid, nonzero(r.ctime)),
            procs.pid_ref("last-attach", r.lpid, nonzero(r.atime.max(r.dtime))),
        ]
        .into_iter()
        .flatten()
        .collect();
        let holders = sorted(procs.sysv_attached.get(&r.id));
        let orphaned = r.nattch == 0 && !pids.iter().any(PidRef::lives);
        objects.push(IpcObject {
            removed: r.perms & SHM_DEST != 0,
            size_bytes: Some(r.size),
            nattch: Some(r.nattch),
            holders,
            pids,
            last_used_unix: [r.atime, r.dtime, r.ctime].into_iter().max(),
            orphaned,
            ..sysv_object("sysv-shm", r.id, r.key, r.perms, r.uid, r.cuid, users)
        });
    }

    // POSIX message queues.
    let mqueue_mounted = is_mqueue(&src.dev_mqueue);
    if mqueue_mounted {
        for (name, md) in files(&src.dev_mqueue) {
            let path = src.dev_mqueue.join(&name);
            let qsize = fs::read_to_string(&path).ok().and_then(|t| {
                t.split_whitespace()
                    .find_map(|w| w.strip_prefix("QSIZE:"))
                    .and_then(|v| v.parse().ok())
            });
            let holders = sorted(procs.by_link.get(&format!("/{name}")));
            objects.push(posix_object(
                "posix-mq", &name, &path, &md, qsize, holders, complete, users,
            ));
        }
    } else {
        notes.push(format!(
            "{} is not mounted, so POSIX message queues cannot be listed; mount it with: mount -t mqueue none {}",
            src.dev_mqueue.display(),
            src.dev_mqueue.display()
        ));
    }

    // POSIX shared memory and named semaphores.
    for (file, md) in files(&src.dev_shm) {
        let path = src.dev_shm.join(&file);
        let holders = sorted(procs.by_inode.get(&(md.dev(), md.ino())));
        let (kind, name) = match file.strip_prefix("sem.") {
            Some(n) => ("posix-sem", n.to_string()),
            None => ("posix-shm", file.clone()),
        };
        objects.push(posix_object(
            kind,
            &name,
            &path,
            &md,
            Some(md.size()),
            holders,
            complete,
            users,
        ));
    }

    if !complete {
        let mut pids: Vec<String> = procs
            .unreadable
            .iter()
            .take(5)
            .map(|p| p.to_string())
            .collect();
        if procs.unreadable.len() > 5 {
            pids.push("…".into());
        }
        notes.push(format!(
            "cannot read the memory maps or descriptors of {} process{} (PID {}), so a POSIX object nobody else holds shows as unknown, never orphaned{}",
            procs.unreadable.len(),
            if procs.unreadable.len() == 1 { "" } else { "es" },
            pids.join(", "),
            if nix::unistd::geteuid().is_root() { "" } else { "; run as root to see them" }
        ));
    }
    Ok(Listing {
        mqueue_mounted,
        complete,
        objects,
        notes,
    })
}

/// What a System V row says about any kind of object: who owns it and with which
/// permissions. The kind's own counts, its PIDs and its verdict are left empty for the
/// caller to fill in.
fn sysv_object(
    kind: &'static str,
    id: i32,
    key: i32,
    perms: u32,
    uid: u32,
    cuid: u32,
    users: &mut Users,
) -> IpcObject {
    IpcObject {
        kind,
        id: Some(id),
        key: Some(key_hex(key)),
        name: None,
        path: None,
        owner_uid: uid,
        owner: users.name(uid),
        creator_uid: Some(cuid),
        perms: format!("{:04o}", perms & 0o777),
        removed: false,
        size_bytes: None,
        messages: None,
        nsems: None,
        waiters: None,
        nattch: None,
        holders: Vec::new(),
        pids: Vec::new(),
        last_used_unix: None,
        orphaned: false,
    }
}

#[allow(clippy::too_many_arguments)]
fn posix_object(
    kind: &'static str,
    name: &str,
    path: &Path,
    md: &fs::Metadata,
    size: Option<u64>,
    holders: Vec<i32>,
    complete: bool,
    users: &mut Users,
) -> IpcObject {
    let orphaned = complete && holders.is_empty();
    IpcObject {
        kind,
        id: None,
        key: None,
        name: Some(format!("/{name}")),
        path: Some(path.display().to_string()),
        owner_uid: md.uid(),
        owner: users.name(md.uid()),
        creator_uid: None,
        perms: format!("{:04o}", md.mode() & 0o777),
        removed: false,
        size_bytes: size,
        messages: None,
        nsems: None,
        waiters: None,
        nattch: None,
        holders,
        pids: Vec::new(),
        last_used_unix: Some(md.mtime().max(md.ctime())),
        orphaned,
    }
}

/// Regular files of a directory, sorted by name; nothing when it is missing.
fn files(dir: &Path) -> Vec<(String, fs::Metadata)> {
    let mut v: Vec<(String, fs::Metadata)> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let md = e.path().symlink_metadata().ok()?;
                    let ft = md.file_type();
                    (ft.is_file() && !ft.is_symlink())
                        .then(|| (e.file_name().to_string_lossy().into_owned(), md))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// MQUEUE_MAGIC from linux/magic.h (nix does not name it).
const MQUEUE_MAGIC: nix::sys::statfs::FsType = nix::sys::statfs::FsType(0x1980_0202);

/// Whether `dir` is an mqueue mount (its filesystem magic is MQUEUE_MAGIC).
fn is_mqueue(dir: &Path) -> bool {
    nix::sys::statfs::statfs(dir)
        .map(|s| s.filesystem_type() == MQUEUE_MAGIC)
        .unwrap_or(false)
}

/// Keeps only the orphaned objects.
pub fn only_orphaned(listing: &mut Listing) {
    listing.objects.retain(|o| o.orphaned);
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
pub fn write_text(
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
        writeln!(out, "{} {n}", style.yellow("note:"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_of_missing_pid_is_gone() {
        let p = Procs::scan(Path::new("/nonexistent-proc"));
        assert_eq!(p.liveness(12345, Some(1)), (Liveness::Gone, false));
    }

    #[test]
    fn own_process_is_alive_and_not_reused() {
        let p = Procs {
            root: PathBuf::from("/proc"),
            btime: crate::teach::probe::boot_time(Path::new("/proc")),
            ticks: crate::proc::scan::ticks_per_second(),
            by_inode: HashMap::new(),
            sysv_attached: HashMap::new(),
            by_link: HashMap::new(),
            unreadable: Vec::new(),
        };
        let me = std::process::id() as i32;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert_eq!(p.liveness(me, Some(now)), (Liveness::Alive, false));
        // A use recorded long before this process started: its PID was reused.
        assert_eq!(p.liveness(me, Some(1_000_000)), (Liveness::Reused, false));
    }
}

//! The IPC objects of the system, like ipcs/lsipc but with the POSIX objects too (`zombies ipc
//! list`), and with the question that matters for leaks: are the processes that created
//! and last used it still alive, and does anyone still have it attached, open or mapped?
//!
//! Sources: /proc/sysvipc/{msg,sem,shm} (System V), /dev/mqueue (POSIX queues; only when an
//! mqueue filesystem is mounted there), /dev/shm (POSIX shared memory, and named semaphores as
//! `sem.NAME`). Who holds a POSIX object or a System V segment comes from every process's
//! /proc/PID/maps and /proc/PID/fd, read through the scanner's [`ProcFs`] (every file opened
//! without blocking, relative to the procfs's directory); unreadable processes make that
//! answer incomplete, which the listing says. This module collects; the text and the JSON
//! are written by `crate::report::ipc_list`.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::Mode;
use serde::Serialize;

pub mod sysvipc;

use crate::proc::scan::ReadError;
use crate::proc::users::Users;
use crate::proc::{ProcFs, Snapshot};
use crate::sys::sysv::{self, SemQuery};
use sysvipc::{SHM_DEST, key_hex};

/// Where to look; tests and containers point these elsewhere.
#[derive(Clone, Debug)]
pub(crate) struct Sources {
    pub proc_root: PathBuf,
    pub dev_shm: PathBuf,
    pub dev_mqueue: PathBuf,
}

impl Sources {
    pub(crate) fn system(proc_root: &Path) -> Sources {
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
pub(crate) enum Liveness {
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
pub(crate) struct PidRef {
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
    pub(crate) fn lives(&self) -> bool {
        self.state == Liveness::Alive && !self.zombie
    }
}

/// One IPC object.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct IpcObject {
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
#[derive(Debug)]
pub(crate) struct Listing {
    /// Whether an mqueue filesystem is mounted at /dev/mqueue (else POSIX queues cannot be
    /// listed).
    pub mqueue_mounted: bool,
    /// Whether every process's maps and fds could be read (else `holders` may miss some and
    /// POSIX objects are never called orphaned).
    pub complete: bool,
    pub objects: Vec<IpcObject>,
    /// Things the reader should know.
    pub notes: Vec<Note>,
}

/// Something the reader of a listing should know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Note {
    /// No mqueue filesystem is mounted at `path`: POSIX queues cannot be listed.
    MqueueUnmounted { path: PathBuf },
    /// The maps or descriptors of `count` processes could not be read (the first PIDs in
    /// `pids`), so a POSIX object nobody else holds is never called orphaned; `as_root` says
    /// whether running as root would not help.
    Unreadable {
        count: usize,
        pids: Vec<i32>,
        as_root: bool,
    },
}

/// Processes' view: which live, since when, and what each holds.
struct Procs {
    /// Every process of the scan (none when the procfs could not be scanned).
    snap: Snapshot,
    /// Boot time, Unix seconds.
    btime: Option<u64>,
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
    fn scan(fs: Option<&ProcFs>) -> Procs {
        let snap = fs.and_then(|f| f.scan().ok()).unwrap_or_default();
        let mut p = Procs {
            btime: fs
                .and_then(|f| f.read("stat").ok())
                .and_then(|b| crate::proc::scan::btime(&b)),
            snap,
            by_inode: HashMap::new(),
            sysv_attached: HashMap::new(),
            by_link: HashMap::new(),
            unreadable: Vec::new(),
        };
        let Some(fs) = fs else { return p };
        let pids: Vec<(i32, bool)> = p
            .snap
            .processes
            .iter()
            .map(|q| (q.pid, q.is_exited_leader()))
            .collect();
        for (pid, exited_leader) in pids {
            let mut base = pid.to_string();
            let maps = fs.read(&format!("{base}/maps"));
            // A leader that exited while other threads run (`Zl`) has no memory or files of
            // its own any more: what the process holds is seen through a live thread.
            let maps = match maps {
                Ok(m) if m.is_empty() && exited_leader => match live_thread(fs, pid) {
                    Some(task) => {
                        base = task;
                        fs.read(&format!("{base}/maps"))
                    }
                    None => Ok(m),
                },
                other => other,
            };
            match maps {
                Ok(maps) => p.add_maps(pid, &String::from_utf8_lossy(&maps)),
                Err(ReadError::Vanished) => continue, // exited
                Err(_) => {
                    p.unreadable.push(pid);
                    continue;
                }
            }
            match entries(fs, &format!("{base}/fd")) {
                Ok(fds) => {
                    for fd in fds {
                        p.add_fd(fs, pid, &format!("{base}/fd/{fd}"));
                    }
                }
                Err(ReadError::Vanished) => {}
                Err(_) => p.unreadable.push(pid),
            }
        }
        p
    }

    /// One open descriptor (`rel` is PID/fd/N): a POSIX queue shows as "/name", a shared
    /// memory object or a named semaphore as a file in /dev/shm.
    fn add_fd(&mut self, fs: &ProcFs, pid: i32, rel: &str) {
        let Ok(t) = nix::fcntl::readlinkat(fs.dir(), rel) else {
            return;
        };
        let t = t.to_string_lossy().into_owned();
        if t.starts_with("/dev/shm/") || (t.starts_with('/') && t[1..].find('/').is_none()) {
            // stat follows the link to the object itself (never opened, so never blocking).
            if let Ok(st) = nix::sys::stat::fstatat(fs.dir(), rel, AtFlags::empty()) {
                self.by_inode
                    .entry((st.st_dev, st.st_ino))
                    .or_default()
                    .insert(pid);
            }
            self.by_link.entry(t).or_default().insert(pid);
        }
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
        let Some(p) = self.snap.get(pid) else {
            return (Liveness::Gone, false);
        };
        let ticks = self.snap.ticks_per_second.max(1);
        let started = self.btime.map(|b| b + p.start_ticks / ticks);
        match (started, used) {
            // Times are whole seconds (btime too): allow one second of slack.
            (Some(started), Some(used)) if used > 0 && started as i64 > used + 1 => {
                (Liveness::Reused, false)
            }
            // The same rule as `zombies list`: a `Zl` leader whose threads run is alive.
            _ => (Liveness::Alive, p.is_zombie()),
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

/// The names in directory `rel` of the procfs, opened relative to its directory without
/// following a symlink.
fn entries(fs: &ProcFs, rel: &str) -> Result<Vec<String>, ReadError> {
    let mut dir = Dir::openat(
        fs.dir(),
        rel,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    Ok(dir
        .iter()
        .flatten()
        .filter_map(|e| e.file_name().to_str().ok().map(str::to_string))
        .filter(|n| n != "." && n != "..")
        .collect())
}

/// PID/task/TID of a thread of `pid` that has not exited (its leader has: `Zl`).
fn live_thread(fs: &ProcFs, pid: i32) -> Option<String> {
    entries(fs, &format!("{pid}/task"))
        .ok()?
        .into_iter()
        .map(|tid| format!("{pid}/task/{tid}"))
        .find(|task| {
            fs.read(&format!("{task}/stat"))
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
pub(crate) fn collect(src: &Sources, users: &mut Users) -> Result<Listing> {
    let fs = ProcFs::open(&src.proc_root).ok();
    let procs = Procs::scan(fs.as_ref());
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
        notes.push(Note::MqueueUnmounted {
            path: src.dev_mqueue.clone(),
        });
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
        notes.push(Note::Unreadable {
            count: procs.unreadable.len(),
            pids: procs.unreadable.iter().take(5).copied().collect(),
            as_root: nix::unistd::geteuid().is_root(),
        });
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
pub(crate) fn only_orphaned(listing: &mut Listing) {
    listing.objects.retain(|o| o.orphaned);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_of_missing_pid_is_gone() {
        let p = Procs::scan(ProcFs::open(Path::new("/nonexistent-proc")).ok().as_ref());
        assert_eq!(p.liveness(12345, Some(1)), (Liveness::Gone, false));
    }

    #[test]
    fn own_process_is_alive_and_not_reused() {
        let fs = ProcFs::open(Path::new("/proc")).unwrap();
        let p = Procs::scan(Some(&fs));
        let me = std::process::id() as i32;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert_eq!(p.liveness(me, Some(now)), (Liveness::Alive, false));
        // A use recorded long before this process started: its PID was reused.
        assert_eq!(p.liveness(me, Some(1_000_000)), (Liveness::Reused, false));
    }

    #[test]
    fn own_descriptors_and_maps_are_read() {
        let fs = ProcFs::open(Path::new("/proc")).unwrap();
        let p = Procs::scan(Some(&fs));
        let me = std::process::id() as i32;
        assert!(!p.unreadable.contains(&me), "{:?}", p.unreadable);
    }
}

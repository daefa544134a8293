//! Reading /proc: one pass over every process's stat file, then a few files for each parent of
//! zombies. System calls are the whole cost of a scan, so the hot path opens each stat file
//! relative to one directory fd and reads it once into a stack buffer (3 calls a process).
//!
//! `--proc` may name any directory: a copy of a procfs, a bind mount someone else can write to.
//! No read may block there, or a monitoring check would never end: every file is opened with
//! O_NONBLOCK (a FIFO then opens and reads at once), O_NOFOLLOW (a planted symlink cannot lead
//! to /dev/zero or a tty) and O_NOCTTY, reads stop at `MAX_FILE`, and outside a real procfs
//! every opened file must be a regular one (one fstat each; a procfs only holds its own files,
//! so the live scan keeps its 3 calls a process). Each zombie's status is read once more (its
//! owner and its tracer: 3 calls a zombie).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;

use super::model::{Hidden, ParentDetails, Pid, PidsInUse, PidsSource, Process, Snapshot};
use super::mount::{self, ProcMount, Viewer};
use super::signals::SigMask;
use super::{cgroup, stat};

/// How much the scan reads of each parent of zombies. Deciding a remedy needs its status and
/// wait channel (2 files, 6 system calls); saying which container or service it belongs to
/// needs its cgroup too (9 calls); showing it in JSON or explain, or matching it against the
/// ignore list, needs its command line and executable as well (13 calls).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Detail {
    /// status and wchan.
    Decide,
    /// status, wchan and cgroup: the table, tree and check.
    Attribute,
    /// status, wchan, cgroup, cmdline and exe.
    Full,
}

/// An open procfs (the real /proc, or another one given with --proc).
pub struct ProcFs {
    root: PathBuf,
    dir: OwnedFd,
    /// The root is a mounted procfs (statfs magic), not a tree of ordinary files.
    live: bool,
}

/// No file of /proc is near this size (a command line is at most 6 MiB, a quarter of the
/// largest stack); a read that gets this far is reading a device or a trap, and stops.
const MAX_FILE: usize = 16 << 20;

/// Flags for every file read under a --proc tree (see the module comment).
const READ_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_CLOEXEC)
    .union(OFlag::O_NONBLOCK)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_NOCTTY);

/// Why a per-process read failed.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The process is gone (it exited, or was reaped, mid-scan).
    Vanished,
    /// We may not read it (hidepid, or another user's private file).
    Denied,
    /// Not a regular file (a FIFO, a device, a directory): refused unread, since reading it
    /// could block forever or never end. Only outside a live procfs.
    NotAFile,
    /// Anything else.
    Other(Errno),
}

impl From<Errno> for ReadError {
    fn from(e: Errno) -> Self {
        match e {
            Errno::ENOENT | Errno::ESRCH => ReadError::Vanished,
            Errno::EACCES | Errno::EPERM => ReadError::Denied,
            e => ReadError::Other(e),
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Vanished => f.write_str("no such process (it exited)"),
            ReadError::Denied => f.write_str("permission denied"),
            ReadError::NotAFile => f.write_str("not a regular file"),
            ReadError::Other(e) => write!(f, "{}", e.desc()),
        }
    }
}

impl std::error::Error for ReadError {}

impl ProcFs {
    /// Opens the procfs at `root`, with an error that says what to do when it is missing.
    pub fn open(root: &Path) -> Result<ProcFs> {
        let dir = openat(
            nix::fcntl::AT_FDCWD,
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(io::Error::from)
        .with_context(|| {
            format!(
                "cannot open {}; is procfs mounted there? (mount -t proc proc {0}, or pass --proc PATH)",
                root.display()
            )
        })?;
        let live = nix::sys::statfs::fstatfs(&dir)
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC);
        Ok(ProcFs {
            root: root.to_path_buf(),
            dir,
            live,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the root is a mounted procfs rather than a directory of ordinary files.
    pub fn is_live(&self) -> bool {
        self.live
    }

    /// The directory fd of the root, for callers that stat it.
    pub fn dir(&self) -> std::os::fd::BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// Opens a file under the procfs without ever blocking (see the module comment).
    fn open_file<P: ?Sized + nix::NixPath>(&self, rel: &P) -> Result<OwnedFd, ReadError> {
        open_regular(&self.dir, rel, !self.live)
    }

    /// Reads a whole file under the procfs, relative to its directory fd.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, ReadError> {
        let fd = self.open_file(rel)?;
        let mut out = Vec::new();
        read_to_end(&fd, &mut out, 4096)?;
        Ok(out)
    }

    /// Reads /proc/PID/stat of one process.
    pub fn stat(&self, pid: Pid) -> Result<stat::Stat, ReadError> {
        let buf = self.read(&format!("{pid}/stat"))?;
        stat::parse(&buf).ok_or(ReadError::Other(Errno::EINVAL))
    }

    /// Reads /proc/PID/status with procfs's parser. The Name line holds the raw command name,
    /// which any process may set to bytes that are not UTF-8; convert lossily first, or the
    /// whole file (NSpid, the signal masks) would be lost with it.
    pub fn status(&self, pid: Pid) -> Result<procfs::process::Status, ReadError> {
        use procfs::FromRead;
        let buf = self.read(&format!("{pid}/status"))?;
        let text = String::from_utf8_lossy(&buf);
        procfs::process::Status::from_read(text.as_bytes())
            .map_err(|_| ReadError::Other(Errno::EINVAL))
    }

    /// /proc/PID/cmdline with NULs turned into spaces; None for kernel threads and zombies.
    pub fn cmdline(&self, pid: Pid) -> Result<Option<String>, ReadError> {
        let buf = self.read(&format!("{pid}/cmdline"))?;
        Ok(join_cmdline(&buf))
    }

    /// One pass over every process, then every detail of each parent of zombies.
    pub fn scan(&self) -> Result<Snapshot> {
        self.scan_with(Detail::Full)
    }

    /// One pass over every process, then `detail` of each parent of zombies.
    pub fn scan_with(&self, detail: Detail) -> Result<Snapshot> {
        let mut processes = Vec::with_capacity(512);
        let mut unreadable = 0;
        let mut not_files = Vec::new();
        let entries = fs::read_dir(&self.root)
            .with_context(|| format!("cannot list {}", self.root.display()))?;
        let mut path = [0u8; 32];
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.as_encoded_bytes();
            if name.is_empty() || !name.iter().all(u8::is_ascii_digit) || name.len() > 20 {
                continue;
            }
            path[..name.len()].copy_from_slice(name);
            path[name.len()..name.len() + 6].copy_from_slice(b"/stat\0");
            let cpath = std::ffi::CStr::from_bytes_with_nul(&path[..name.len() + 6])
                .expect("digits and a NUL form a C string");
            match self.read_stat_fast(cpath) {
                Ok(Some(p)) => processes.push(p),
                Ok(None) | Err(ReadError::Vanished) | Err(ReadError::Other(_)) => {}
                Err(ReadError::Denied) => unreadable += 1,
                Err(ReadError::NotAFile) => {
                    not_files.push(String::from_utf8_lossy(&path[..name.len() + 5]).into_owned())
                }
            }
        }
        if processes.is_empty() && unreadable == 0 && not_files.is_empty() {
            // Every procfs lists at least the reader itself: this is an empty directory or a
            // missing bind mount, and "no zombies" would be a lie a monitor trusts forever.
            anyhow::bail!(
                "no processes in {}: it is not a procfs; mount one there (mount -t proc proc {0}) or pass the right --proc PATH",
                self.root.display()
            );
        }
        let mut snap = Snapshot::new(processes);
        snap.unreadable = unreadable;
        snap.not_files = not_files;
        snap.ticks_per_second = ticks_per_second();
        snap.pid_max = self.read_u64("sys/kernel/pid_max");
        if snap.zombies().next().is_some() {
            snap.boot_time = self.boot_time();
            snap.threads_max = self.read_u64("sys/kernel/threads-max");
            let parents: Vec<Pid> = {
                let mut v: Vec<Pid> = snap.zombies().map(|z| z.ppid).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            snap.parent_details = parents
                .into_iter()
                .filter_map(|pid| {
                    let mut d = self.parent_details(pid, detail).ok()?;
                    d.ns_init = self.find_ns_init(&snap, pid, &d.nspid);
                    d.tracer_process =
                        (d.tracer_pid > 0).then(|| self.process_of_thread(&snap, d.tracer_pid));
                    Some((pid, d))
                })
                .collect::<HashMap<_, _>>();
            for (pid, uid, tracer) in self.zombie_status(&snap) {
                if let Ok(i) = snap.processes.binary_search_by_key(&pid, |p| p.pid) {
                    snap.processes[i].uid = uid;
                }
                if let Some(t) = tracer {
                    snap.zombie_tracers.insert(pid, t);
                }
            }
        }
        snap.live_threads = snap
            .processes
            .iter()
            .filter(|p| p.is_exited_leader())
            .filter_map(|p| Some((p.pid, self.count_live_threads(p.pid)?)))
            .collect();
        snap.pids_limit = self.pids_limit();
        snap.hidden = self.hidden(&snap);
        snap.pids_in_use = self.pids_in_use(&snap);
        Ok(snap)
    }

    /// Why this scan cannot see every process, when it cannot. Only a live procfs hides.
    fn hidden(&self, snap: &Snapshot) -> Option<Hidden> {
        if !self.live {
            return None;
        }
        if let Some(mount) = self.mount() {
            let status = self.read("self/status").ok().or_else(|| {
                open_regular(nix::fcntl::AT_FDCWD, "/proc/self/status", true)
                    .ok()
                    .and_then(|fd| {
                        let mut v = Vec::new();
                        read_to_end(&fd, &mut v, 4096).ok().map(|()| v)
                    })
            });
            let viewer = Viewer::current(status.as_deref());
            if mount::hides_from(&mount, &viewer) {
                return Some(Hidden::HidePid {
                    mount,
                    uid: viewer.uid,
                });
            }
            return None;
        }
        // No mount options to go by (no readable mountinfo): every live PID namespace has a
        // PID 1, so not seeing it means something hides processes from us.
        snap.get(1).is_none().then_some(Hidden::NoPid1)
    }

    /// The procfs mount this tree is, from our mountinfo, matched by device.
    pub fn mount(&self) -> Option<ProcMount> {
        let st = nix::sys::stat::fstat(self.dir.as_fd()).ok()?;
        let (major, minor) = (
            nix::sys::stat::major(st.st_dev),
            nix::sys::stat::minor(st.st_dev),
        );
        // Our own mount table: through /proc when it is mounted, else through this procfs.
        let info = open_regular(nix::fcntl::AT_FDCWD, "/proc/self/mountinfo", true)
            .ok()
            .and_then(|fd| {
                let mut v = Vec::new();
                read_to_end(&fd, &mut v, 64 * 1024).ok().map(|()| v)
            })
            .or_else(|| self.read("self/mountinfo").ok())?;
        mount::find(&String::from_utf8_lossy(&info), major, minor)
    }

    /// A file of the reader's own (`self/…`, at most `max` bytes): for a mounted procfs ours,
    /// through /proc when it is mounted, else through this procfs; for a copied tree, the copy
    /// of whoever read it, whose view its paths show.
    pub fn own_file(&self, rel: &str, max: usize) -> Option<Vec<u8>> {
        let ours = || {
            let fd = open_regular(nix::fcntl::AT_FDCWD, &*format!("/proc/{rel}"), true).ok()?;
            let mut v = Vec::new();
            read_to_end(&fd, &mut v, max).ok().map(|()| v)
        };
        if self.live {
            ours().or_else(|| self.read(rel).ok())
        } else {
            self.read(rel).ok()
        }
    }

    /// The inode of the PID namespace this procfs shows: that of our own when we live in it
    /// (NSpid has one entry), else that of its PID 1 (which needs ptrace access to it).
    pub fn pid_ns(&self) -> Option<u64> {
        let ours = self
            .read("self/status")
            .ok()
            .and_then(|b| status_nspid_len(&b))
            == Some(1);
        let link = if ours { "self/ns/pid" } else { "1/ns/pid" };
        self.ns_inode(link)
    }

    /// The inode of the PID namespace `pid` lives in (/proc/PID/ns/pid, Linux 3.8+; reading
    /// it needs ptrace access to the process).
    pub fn pid_ns_of(&self, pid: Pid) -> Option<u64> {
        self.ns_inode(&format!("{pid}/ns/pid"))
    }

    fn ns_inode(&self, link: &str) -> Option<u64> {
        let target = nix::fcntl::readlinkat(&self.dir, link).ok()?;
        // "pid:[4026531836]"
        target
            .to_str()?
            .strip_prefix("pid:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    }

    /// The children of `pid`, from one pass over every stat file: task/PID/children would be
    /// cheaper, but needs CONFIG_PROC_CHILDREN, which not every kernel has.
    pub fn children(&self, pid: Pid) -> Vec<Pid> {
        self.pids()
            .into_iter()
            .filter(|&p| self.stat(p).is_ok_and(|st| st.ppid == pid))
            .collect()
    }

    /// Every PID this procfs lists now (none when it cannot be listed), for the lookups that
    /// need no scan; the scan itself reads the entries its own, cheaper way.
    pub fn pids(&self) -> Vec<Pid> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<Pid>().ok())
            .collect()
    }

    /// PIDs in use: the scan's own count when it saw everything; under hidepid, the kernel's
    /// count from /proc/loadavg when this procfs is the initial PID namespace's (loadavg counts
    /// the whole machine); else the visible count, said to be only that.
    fn pids_in_use(&self, snap: &Snapshot) -> PidsInUse {
        let scanned = snap.tasks();
        if snap.hidden.is_none() && snap.unreadable == 0 {
            return PidsInUse {
                count: scanned,
                source: PidsSource::Scan,
            };
        }
        let kernel = (self.pid_ns() == Some(PROC_PID_INIT_INO))
            .then(|| self.read("loadavg").ok())
            .flatten()
            .and_then(|b| loadavg_tasks(&b));
        match kernel {
            Some(count) => PidsInUse {
                count,
                source: PidsSource::Loadavg,
            },
            None => PidsInUse {
                count: scanned,
                source: PidsSource::VisibleOnly,
            },
        }
    }

    /// Each zombie's owner (effective uid, as `ps` shows it) and, when another process than
    /// its parent traces it, that tracer: one read of its status (Uid, TracerPid), and one more
    /// for a tracer that is not a main thread.
    fn zombie_status(&self, snap: &Snapshot) -> Vec<(Pid, Option<u32>, Option<Pid>)> {
        snap.zombies()
            .filter_map(|z| {
                let status = self.read(&format!("{}/status", z.pid)).ok()?;
                let uid = status_line(&status, b"Uid:")
                    .and_then(|v| v.split_whitespace().nth(1)?.parse().ok());
                let tracer = status_pid(&status, b"TracerPid:")
                    .filter(|&t| t > 0)
                    .map(|tid| self.process_of_thread(snap, tid))
                    // Traced by its own parent (strace or gdb running a command), the
                    // parent's wait() reaps it as usual.
                    .filter(|&t| t != z.ppid);
                Some((z.pid, uid, tracer))
            })
            .collect()
    }

    /// The process (thread group) a thread belongs to: the scan lists only main threads, so a
    /// TID it does not know is looked up in /proc/TID/status (Tgid).
    fn process_of_thread(&self, snap: &Snapshot, tid: Pid) -> Pid {
        if snap.get(tid).is_some() {
            return tid;
        }
        self.read(&format!("{tid}/status"))
            .ok()
            .and_then(|s| status_pid(&s, b"Tgid:"))
            .filter(|&t| t > 0)
            .unwrap_or(tid)
    }

    /// The threads of `pid` that have not exited, from the states in task/*/stat.
    fn count_live_threads(&self, pid: Pid) -> Option<u64> {
        let tasks = fs::read_dir(self.root.join(format!("{pid}/task"))).ok()?;
        let mut live = 0;
        for t in tasks.flatten() {
            let name = t.file_name();
            let Some(tid) = name.to_str().and_then(|n| n.parse::<Pid>().ok()) else {
                continue;
            };
            let Ok(buf) = self.read(&format!("{pid}/task/{tid}/stat")) else {
                continue;
            };
            if stat::parse(&buf).is_some_and(|st| !matches!(st.state, b'Z' | b'X' | b'x')) {
                live += 1;
            }
        }
        Some(live)
    }

    /// openat + read + close: the hot path of the scan.
    fn read_stat_fast(&self, path: &std::ffi::CStr) -> Result<Option<Process>, ReadError> {
        let fd = self.open_file(path)?;
        let mut buf = [0u8; 1024];
        let n = nix::unistd::read(&fd, &mut buf)?;
        let parsed = if n == buf.len() {
            // A line longer than the buffer (a kernel with many more fields): read the rest.
            let mut long = buf.to_vec();
            read_to_end(&fd, &mut long, 1024)?;
            stat::parse(&long)
        } else {
            stat::parse(&buf[..n])
        };
        let Some(st) = parsed else { return Ok(None) };
        Ok(Some(Process::from_stat(st)))
    }

    /// status and wchan of a parent of zombies, from `Detail::Attribute` its cgroup, and with
    /// `Detail::Full` its cmdline and executable.
    pub fn parent_details(&self, pid: Pid, detail: Detail) -> Result<ParentDetails, ReadError> {
        let full = detail == Detail::Full;
        let attribute = detail >= Detail::Attribute;
        let st = self.status(pid)?;
        let mask = |v: u64| SigMask(v);
        let wchan = self
            .read(&format!("{pid}/wchan"))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
            // "0" on kernels and configurations that hide the wait channel: unknown.
            .filter(|w| !w.is_empty() && w != "0");
        let cgroup_text = attribute
            .then(|| self.read(&format!("{pid}/cgroup")).ok())
            .flatten()
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let cgroup = cgroup_text.as_deref().and_then(|text| {
            let line = text.lines().next()?.to_string();
            // "0::/system.slice/foo.service" -> "/system.slice/foo.service"
            Some(line.splitn(3, ':').nth(2).unwrap_or(&line).to_string())
        });
        let cgroups = cgroup_text.as_deref().map(cgroup::parse_lines);
        let container = cgroups.as_ref().and_then(|l| l.container());
        Ok(ParentDetails {
            uid: st.ruid,
            threads: st.threads,
            sig_pending: mask(st.sigpnd),
            sig_shared_pending: mask(st.shdpnd),
            sig_blocked: mask(st.sigblk),
            sig_ignored: mask(st.sigign),
            sig_caught: mask(st.sigcgt),
            tracer_pid: st.tracerpid,
            seccomp: st.seccomp,
            tracer_process: None,
            nspid: st.nspid.unwrap_or_default(),
            wchan,
            cgroup,
            cgroups,
            container,
            pids_cgroup: None,
            cgroup_unplaced: false,
            pid_limit: None,
            cmdline: full.then(|| self.cmdline(pid).ok().flatten()).flatten(),
            exe: full.then(|| self.exe(pid)).flatten(),
            ns_init: None,
        })
    }

    /// The init of the PID namespace `pid` lives in: itself when its innermost PID is 1, PID 1
    /// when it lives in this procfs's own namespace, else the nearest ancestor that is PID 1 at
    /// the same depth (a container's init; only then are ancestors' status files read).
    fn find_ns_init(&self, snap: &Snapshot, pid: Pid, nspid: &[Pid]) -> Option<Pid> {
        if nspid.last() == Some(&1) {
            return Some(pid);
        }
        if nspid.len() <= 1 {
            return snap.get(1).map(|p| p.pid);
        }
        snap.ancestors(pid).into_iter().find(|&a| {
            self.nspid(a)
                .is_some_and(|ns| ns.len() == nspid.len() && ns.last() == Some(&1))
        })
    }

    /// The target of /proc/PID/exe; None for kernel threads or without permission.
    pub fn exe(&self, pid: Pid) -> Option<String> {
        let target = nix::fcntl::readlinkat(&self.dir, format!("{pid}/exe").as_str()).ok()?;
        Some(target.to_string_lossy().into_owned())
    }

    /// The NSpid line of a process: its PID in each nested namespace, outermost first.
    pub fn nspid(&self, pid: Pid) -> Option<Vec<Pid>> {
        self.status(pid).ok()?.nspid
    }

    fn read_u64(&self, rel: &str) -> Option<u64> {
        let b = self.read(rel).ok()?;
        std::str::from_utf8(&b).ok()?.trim().parse().ok()
    }

    fn boot_time(&self) -> Option<u64> {
        btime(&self.read("stat").ok()?)
    }

    /// pids.max of our own cgroup (v2), the limit a zombie flood runs into in a container.
    /// Only for a live procfs: the cgroup path of a copied tree names nothing on this machine,
    /// and could be made to name any file (`0::/../../tmp/x`).
    fn pids_limit(&self) -> Option<u64> {
        if !self.live {
            return None;
        }
        let b = self.read("self/cgroup").ok()?;
        let text = String::from_utf8_lossy(&b);
        let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
        let file = Path::new("/sys/fs/cgroup")
            .join(path.trim_start_matches('/'))
            .join("pids.max");
        let fd = open_regular(nix::fcntl::AT_FDCWD, &file, true).ok()?;
        let mut v = Vec::new();
        read_to_end(&fd, &mut v, 64).ok()?;
        std::str::from_utf8(&v).ok()?.trim().parse().ok() // "max" means no limit
    }
}

/// Opens `path` (relative to `dir`) for reading without blocking; with `check`, refuses
/// anything that is not a regular file.
pub(super) fn open_regular<Fd: std::os::fd::AsFd, P: ?Sized + nix::NixPath>(
    dir: Fd,
    path: &P,
    check: bool,
) -> Result<OwnedFd, ReadError> {
    let fd = openat(dir, path, READ_FLAGS, Mode::empty()).map_err(|e| match e {
        // O_NOFOLLOW met a symlink as the last component: not a file of ours to follow.
        Errno::ELOOP => ReadError::NotAFile,
        e => ReadError::from(e),
    })?;
    if check {
        let st = nix::sys::stat::fstat(fd.as_fd())?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(ReadError::NotAFile);
        }
    }
    Ok(fd)
}

/// Reads until EOF into `out`, `chunk` bytes at a time, and at most `MAX_FILE` bytes.
pub(super) fn read_to_end(fd: &OwnedFd, out: &mut Vec<u8>, chunk: usize) -> Result<(), Errno> {
    loop {
        let len = out.len();
        if len >= MAX_FILE {
            return Err(Errno::EFBIG);
        }
        out.resize(len + chunk, 0);
        let n = match nix::unistd::read(fd, &mut out[len..]) {
            Ok(n) => n,
            // O_NONBLOCK on a FIFO with a writer but no data: nothing to read now, and
            // waiting is not an option.
            Err(Errno::EAGAIN) => 0,
            Err(e) => {
                out.truncate(len);
                return Err(e);
            }
        };
        out.truncate(len + n);
        if n == 0 || n < chunk {
            // /proc files return their whole content in one read when it fits.
            return Ok(());
        }
    }
}

/// The inode number of the initial PID namespace: a constant since Linux 3.8
/// (PROC_PID_INIT_INO in include/linux/proc_ns.h).
pub const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;

/// How many namespaces the NSpid line of a status file lists.
fn status_nspid_len(status: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(status);
    let line = text.lines().find_map(|l| l.strip_prefix("NSpid:"))?;
    Some(line.split_whitespace().count())
}

/// The 4th field of /proc/loadavg, "running/total": the total is the kernel's nr_threads,
/// every task on the machine (threads and zombies included), whatever hidepid hides.
fn loadavg_tasks(loadavg: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(loadavg).ok()?;
    let field = text.split_whitespace().nth(3)?;
    field.split_once('/')?.1.parse().ok()
}

/// Joins NUL-separated arguments with spaces; None when there are none.
pub fn join_cmdline(buf: &[u8]) -> Option<String> {
    let args: Vec<String> = buf
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    (!args.is_empty()).then(|| args.join(" "))
}

/// The value of a `Name:\tvalue` line of a status file, such as `Uid:` or `TracerPid:`.
fn status_line<'a>(status: &'a [u8], name: &[u8]) -> Option<&'a str> {
    status
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// The number on a status line, such as `TracerPid:` or `Tgid:`.
fn status_pid(status: &[u8], name: &[u8]) -> Option<Pid> {
    status_line(status, name)?.trim().parse().ok()
}

/// Boot time in Unix seconds, from the `btime` line of /proc/stat.
pub fn btime(proc_stat: &[u8]) -> Option<u64> {
    String::from_utf8_lossy(proc_stat)
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// Clock ticks per second (USER_HZ), from the kernel's auxiliary vector (AT_CLKTCK).
pub fn ticks_per_second() -> u64 {
    match rustix::param::clock_ticks_per_second() {
        0 => 100,
        t => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cmdline_joins_and_handles_empty() {
        assert_eq!(join_cmdline(b"a\0b c\0"), Some("a b c".to_string()));
        assert_eq!(join_cmdline(b""), None);
        assert_eq!(join_cmdline(b"\xff\0"), Some("\u{fffd}".to_string()));
    }

    #[test]
    fn status_numbers_by_name() {
        let s = b"Name:\tTracerPid: x\nTgid:\t42\nTracerPid:\t7\nUid:\t0\t33\t0\t0\n";
        assert_eq!(status_pid(s, b"TracerPid:"), Some(7));
        assert_eq!(status_line(s, b"Uid:"), Some("\t0\t33\t0\t0"));
        assert_eq!(status_pid(s, b"Tgid:"), Some(42));
        assert_eq!(status_pid(s, b"NSpid:"), None);
    }

    #[test]
    fn scans_the_live_system_and_finds_itself() {
        let fs = ProcFs::open(Path::new("/proc")).unwrap();
        let snap = fs.scan().unwrap();
        let me = snap
            .get(std::process::id() as Pid)
            .expect("own process in scan");
        assert_eq!(me.ppid, nix::unistd::getppid().as_raw());
        assert!(snap.pid_max.unwrap() > 0);
    }

    #[test]
    fn loadavg_and_nspid_fields() {
        assert_eq!(loadavg_tasks(b"0.32 0.41 0.26 1/107 15343\n"), Some(107));
        assert_eq!(loadavg_tasks(b"0.32 0.41"), None);
        assert_eq!(loadavg_tasks(b"a b c d/ e"), None);
        assert_eq!(status_nspid_len(b"Pid:\t5\nNSpid:\t5\t1\n"), Some(2));
        assert_eq!(status_nspid_len(b"Pid:\t5\n"), None);
    }

    #[test]
    fn the_live_procfs_is_found_in_mountinfo() {
        let fs = ProcFs::open(Path::new("/proc")).unwrap();
        assert!(fs.is_live());
        let m = fs.mount().expect("/proc in our mountinfo");
        assert_eq!(m.mount_point, "/proc");
        assert!(fs.pid_ns().is_some());
    }

    #[test]
    fn a_directory_without_processes_is_not_a_procfs() {
        let dir = std::env::temp_dir().join(format!("zombies-notproc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sys")).unwrap();
        let err = ProcFs::open(&dir)
            .unwrap()
            .scan()
            .err()
            .map(|e| format!("{e:#}"));
        std::fs::remove_dir_all(&dir).unwrap();
        let err = err.expect("an empty directory must not scan as 'no zombies'");
        assert!(err.contains("not a procfs"), "{err}");
    }

    #[test]
    fn missing_procfs_is_a_clear_error() {
        let err = ProcFs::open(Path::new("/nonexistent/proc")).err().unwrap();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("/nonexistent/proc") && msg.contains("--proc"),
            "{msg}"
        );
    }
}

//! Reading /proc: one pass over every process's stat file, then a few files for each parent of
//! zombies. System calls are the whole cost of a scan, so the hot path opens each stat file
//! relative to one directory fd and reads it once into a stack buffer (3 calls a process),
//! and each zombie's status once more (its owner and tracer: 3 calls a zombie).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::errno::Errno;
use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;

use super::model::{ParentDetails, Pid, Process, Snapshot};
use super::signals::SigMask;
use super::stat;

/// An open procfs (the real /proc, or another one given with --proc).
pub struct ProcFs {
    root: PathBuf,
    dir: OwnedFd,
}

/// Why a per-process read failed.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The process is gone (it exited, or was reaped, mid-scan).
    Vanished,
    /// We may not read it (hidepid, or another user's private file).
    Denied,
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
        Ok(ProcFs {
            root: root.to_path_buf(),
            dir,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads a whole file under the procfs, relative to its directory fd.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, ReadError> {
        let fd = openat(
            &self.dir,
            rel,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
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

    /// One pass over every process, then the details of each parent of zombies.
    pub fn scan(&self) -> Result<Snapshot> {
        let mut processes = Vec::with_capacity(512);
        let mut unreadable = 0;
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
            }
        }
        if processes.is_empty() && unreadable == 0 {
            // Every procfs lists at least the reader itself: this is an empty directory or a
            // missing bind mount, and "no zombies" would be a lie a monitor trusts forever.
            anyhow::bail!(
                "no processes in {}: it is not a procfs; mount one there (mount -t proc proc {0}) or pass the right --proc PATH",
                self.root.display()
            );
        }
        let mut snap = Snapshot::new(processes);
        snap.unreadable = unreadable;
        snap.ticks_per_second = ticks_per_second();
        snap.pid_max = self.read_u64("sys/kernel/pid_max");
        if snap.zombies().next().is_some() {
            snap.boot_time = self.boot_time();
            let parents: Vec<Pid> = {
                let mut v: Vec<Pid> = snap.zombies().map(|z| z.ppid).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            snap.parent_details = parents
                .into_iter()
                .filter_map(|pid| {
                    let mut d = self.parent_details(pid).ok()?;
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
        Ok(snap)
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
        let fd = openat(
            &self.dir,
            path,
            OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
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

    /// status, wchan, cgroup and cmdline of a parent of zombies.
    pub fn parent_details(&self, pid: Pid) -> Result<ParentDetails, ReadError> {
        let st = self.status(pid)?;
        let mask = |v: u64| SigMask(v);
        let wchan = self
            .read(&format!("{pid}/wchan"))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).trim().to_string());
        let cgroup = self.read(&format!("{pid}/cgroup")).ok().and_then(|b| {
            let text = String::from_utf8_lossy(&b).into_owned();
            let line = text.lines().next()?.to_string();
            // "0::/system.slice/foo.service" -> "/system.slice/foo.service"
            Some(line.splitn(3, ':').nth(2).unwrap_or(&line).to_string())
        });
        Ok(ParentDetails {
            uid: st.ruid,
            threads: st.threads,
            sig_pending: mask(st.sigpnd),
            sig_shared_pending: mask(st.shdpnd),
            sig_blocked: mask(st.sigblk),
            sig_ignored: mask(st.sigign),
            sig_caught: mask(st.sigcgt),
            tracer_pid: st.tracerpid,
            tracer_process: None,
            nspid: st.nspid.unwrap_or_default(),
            wchan,
            cgroup,
            cmdline: self.cmdline(pid).ok().flatten(),
            exe: self.exe(pid),
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
    fn pids_limit(&self) -> Option<u64> {
        let b = self.read("self/cgroup").ok()?;
        let text = String::from_utf8_lossy(&b);
        let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
        let file = Path::new("/sys/fs/cgroup")
            .join(path.trim_start_matches('/'))
            .join("pids.max");
        let v = fs::read_to_string(file).ok()?;
        v.trim().parse().ok() // "max" means no limit
    }
}

/// Reads until EOF into `out`, `chunk` bytes at a time.
fn read_to_end(fd: &OwnedFd, out: &mut Vec<u8>, chunk: usize) -> Result<(), Errno> {
    loop {
        let len = out.len();
        out.resize(len + chunk, 0);
        let n = nix::unistd::read(fd, &mut out[len..])?;
        out.truncate(len + n);
        if n == 0 || n < chunk {
            // /proc files return their whole content in one read when it fits.
            return Ok(());
        }
    }
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

/// Clock ticks per second (USER_HZ).
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
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

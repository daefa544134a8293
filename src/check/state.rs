//! The memory of `zombies check` across runs: when each zombie was first seen. The kernel
//! records when a process started, not when it died, so a zombie's age can only be measured
//! by watching it.
//!
//! A zombie is named by its PID and its start time in clock ticks after boot: a PID the kernel
//! hands out again is a new process with another start time, hence a new zombie. PIDs and start
//! times mean something only within one PID namespace and one boot, so the file keeps one
//! section per (boot id, PID namespace): a check in a container that shares the host's
//! /var/lib keeps its own section and leaves the host's intact. Sections of another boot are
//! dropped at the next save, since their start times mean nothing any more.
//!
//! The file is small JSON, written atomically and only when its content changes. Version 2:
//!
//! ```json
//! {
//!   "format": "zombies-check-state",
//!   "version": 2,
//!   "namespaces": [
//!     { "boot_id": "6f1c...", "pid_ns": 4026531836,
//!       "zombies": [ { "pid": 4243, "start_ticks": 812345, "first_seen_unix": 1767225600 } ] }
//!   ]
//! }
//! ```
//!
//! Version 1 (`{"version": 1, "boot_id": ..., "zombies": [...]}`, one section with no
//! namespace) is still read, as the section of the namespace that reads it first.
//!
//! The `format` marker is how a file is recognised as ours: only such a file (or a version 1
//! file, or an empty one) is ever replaced. Anything else at the state path, a symbolic link,
//! a FIFO or someone's /etc/hosts, is refused and the check is UNKNOWN.
//!
//! Every zombie of the scan is recorded, before --user, --parent and the ignore list, so that
//! checks with different filters can share one file without resetting each other's ages.
//! Runs that share the file take an exclusive flock on its directory from load to save, so
//! two of them (the host's and a container's, both at the top of the minute) never write
//! back a section the other has just changed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::proc::Pid;

/// The format version this code writes.
const VERSION: u32 = 2;

/// The value of the `format` field that marks a file as ours.
pub const MARKER: &str = "zombies-check-state";

/// A state file is small; anything bigger is not one of ours.
const MAX_SIZE: u64 = 64 << 20;

/// How long to wait for another check holding the lock before going on without it.
const LOCK_WAIT: Duration = Duration::from_secs(2);

/// A zombie, for good: its PID and its start time.
pub type ZombieId = (Pid, u64);

/// One remembered zombie.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub pid: Pid,
    pub start_ticks: u64,
    pub first_seen_unix: u64,
}

/// Which PID numbering a section of the file belongs to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Key {
    /// /proc/sys/kernel/random/boot_id; None when unreadable.
    pub boot_id: Option<String>,
    /// The inode of the PID namespace the procfs shows; None when unknown (a copied tree).
    pub pid_ns: Option<u64>,
}

impl Key {
    /// The section of the procfs `fs` reads: its boot and its PID namespace.
    pub fn of(fs: &crate::proc::ProcFs) -> Key {
        Key {
            boot_id: fs
                .read("sys/kernel/random/boot_id")
                .ok()
                .map(|b| String::from_utf8_lossy(&b).trim().to_string()),
            pid_ns: fs.pid_ns(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Section {
    #[serde(default)]
    boot_id: Option<String>,
    #[serde(default)]
    pid_ns: Option<u64>,
    zombies: Vec<Seen>,
}

impl Section {
    /// Same boot, or a boot we cannot tell.
    fn same_boot(&self, key: &Key) -> bool {
        match (&self.boot_id, &key.boot_id) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct FileV2 {
    format: String,
    version: u32,
    namespaces: Vec<Section>,
}

#[derive(Deserialize)]
struct FileV1 {
    version: u32,
    #[serde(default)]
    boot_id: Option<String>,
    zombies: Vec<Seen>,
}

/// A state path the check will not touch: the check is UNKNOWN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A symbolic link: followed as root it could lead to any file.
    Symlink(PathBuf),
    /// A directory, FIFO, device or socket.
    NotAFile { path: PathBuf, kind: &'static str },
    /// A regular file that is not a state file of ours (no marker, not version 1's shape).
    NotOurs(PathBuf),
}

/// Why ages cannot be kept this run: --max-age cannot be judged (UNKNOWN), other checks go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trouble {
    /// The directory of a --state path does not exist (it is never created for a typed path).
    NoDirectory { path: PathBuf, dir: PathBuf },
    /// The file exists but cannot be read: it is not replaced, since it could not be
    /// recognised as ours.
    Unreadable { path: PathBuf, error: String },
    /// The save failed.
    Unwritable { error: String },
}

/// Said on stderr, the check goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// A file of ours that cannot be parsed, or of a version this code does not know: it is
    /// started afresh.
    Corrupt { path: PathBuf, error: String },
}

/// The state as loaded, and how to save it.
#[derive(Debug)]
pub struct State {
    pub path: PathBuf,
    /// Whether a save may create the directory (the default path; never a typed one).
    create_dir: bool,
    /// What was on disk, byte for byte (None when there was no file): saves are skipped when
    /// nothing changed, so a quiet machine never writes.
    on_disk: Option<Vec<u8>>,
    /// Set when the file must not be written this run (see Trouble).
    trouble: Option<Trouble>,
    key: Key,
    /// The sections of other PID namespaces of this boot, kept as they were.
    others: Vec<Section>,
    seen: HashMap<ZombieId, u64>,
    /// Held from load to save.
    _lock: Option<Flock<File>>,
}

/// The documented default location: `/var/lib/zombies/check-state.json` for root, else
/// `$XDG_STATE_HOME/zombies/check-state.json` (`~/.local/state/zombies/...` when unset; the
/// home directory from the password database when $HOME is unset too, as under some NRPE
/// setups).
///
/// Another procfs (`--proc /host/proc`) numbers processes differently, so it gets a file of
/// its own (`check-state-host_proc.json`): two views sharing one file would keep forgetting
/// each other's zombies and --max-age would never fire.
pub fn default_path(proc_root: &Path) -> PathBuf {
    let file = file_name_for(proc_root);
    if nix::unistd::geteuid().is_root() {
        return Path::new("/var/lib/zombies").join(file);
    }
    let base = crate::paths::xdg_dir("XDG_STATE_HOME", ".local/state");
    base.join("zombies").join(file)
}

/// `check-state.json` for /proc, `check-state-<path>.json` for any other procfs.
fn file_name_for(proc_root: &Path) -> String {
    let trimmed = proc_root.to_string_lossy();
    let trimmed = trimmed.trim_end_matches('/');
    if trimmed == "/proc" {
        return "check-state.json".to_string();
    }
    let tag: String = trimmed
        .trim_start_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("check-state-{tag}.json")
}

impl State {
    /// Loads the state at `path` for the namespace `key`. `create_dir` is for the default
    /// path only: a path the user typed never creates a directory.
    ///
    /// A missing file is an empty state; a corrupt file of ours is an empty state and a
    /// warning (it is replaced at the next save); a file that cannot be read, or a missing
    /// directory, is an empty state that is never saved (see `trouble`). Only what is not ours
    /// is refused.
    pub fn load(
        path: &Path,
        create_dir: bool,
        key: Key,
    ) -> Result<(State, Option<Warning>), Refusal> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut state = State {
            path: path.to_path_buf(),
            create_dir,
            on_disk: None,
            trouble: None,
            key,
            others: Vec::new(),
            seen: HashMap::new(),
            _lock: lock_dir(&dir),
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path);
        let mut file = match file {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) && is_symlink(path) => {
                return Err(Refusal::Symlink(path.to_path_buf()));
            }
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                if !create_dir && !dir.is_dir() {
                    state.trouble = Some(Trouble::NoDirectory {
                        path: path.to_path_buf(),
                        dir,
                    });
                }
                return Ok((state, None));
            }
            Err(e) => {
                state.trouble = Some(Trouble::Unreadable {
                    path: path.to_path_buf(),
                    error: e.to_string(),
                });
                return Ok((state, None));
            }
        };
        let meta = file
            .metadata()
            .map_err(|_| Refusal::NotOurs(path.to_path_buf()))?;
        let ft = meta.file_type();
        if !ft.is_file() {
            let kind = if ft.is_dir() {
                "a directory"
            } else if ft.is_fifo() {
                "a FIFO"
            } else if ft.is_socket() {
                "a socket"
            } else {
                "a device"
            };
            return Err(Refusal::NotAFile {
                path: path.to_path_buf(),
                kind,
            });
        }
        if meta.len() > MAX_SIZE {
            return Err(Refusal::NotOurs(path.to_path_buf()));
        }
        let mut bytes = Vec::new();
        if let Err(e) = (&mut file).take(MAX_SIZE + 1).read_to_end(&mut bytes) {
            state.trouble = Some(Trouble::Unreadable {
                path: path.to_path_buf(),
                error: e.to_string(),
            });
            return Ok((state, None));
        }
        let parsed = parse(&bytes, &state.key);
        state.on_disk = Some(bytes);
        match parsed {
            Parsed::Sections(sections) => {
                for s in sections {
                    if !s.same_boot(&state.key) {
                        // Another boot: its start times mean nothing now.
                        continue;
                    }
                    if s.pid_ns == state.key.pid_ns {
                        state.seen.extend(
                            s.zombies
                                .iter()
                                .map(|z| ((z.pid, z.start_ticks), z.first_seen_unix)),
                        );
                    } else {
                        state.others.push(s);
                    }
                }
                Ok((state, None))
            }
            Parsed::Corrupt(error) => Ok((
                state,
                Some(Warning::Corrupt {
                    path: path.to_path_buf(),
                    error,
                }),
            )),
            Parsed::NotOurs => Err(Refusal::NotOurs(path.to_path_buf())),
        }
    }

    /// Records the zombies of this scan: the new ones are first seen `now`, those no longer
    /// there are forgotten. Returns when each was first seen.
    pub fn update(
        &mut self,
        zombies: impl IntoIterator<Item = ZombieId>,
        now: u64,
    ) -> HashMap<ZombieId, u64> {
        let mut next = HashMap::new();
        for id in zombies {
            let first = self.seen.get(&id).copied().unwrap_or(now);
            // A clock set back must not give a zombie a first sighting in the future.
            next.insert(id, first.min(now));
        }
        self.seen = next;
        self.seen.clone()
    }

    /// When each zombie of this section was first seen.
    pub fn first_seen(&self) -> &HashMap<ZombieId, u64> {
        &self.seen
    }

    /// Records the zombies `zombies watch` tracks, each with its death time (or when watch
    /// found it): the section then holds exactly these, each first seen at the earlier of
    /// that time and what the file said. Earliest-wins makes watch and check commute: either
    /// may write first, and an exact death time is never replaced by a later sighting.
    pub fn record_deaths(&mut self, zombies: impl IntoIterator<Item = (ZombieId, u64)>) {
        let mut next = HashMap::new();
        for (id, died) in zombies {
            let first = self.seen.get(&id).copied().unwrap_or(died).min(died);
            next.insert(id, first);
        }
        self.seen = next;
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut zombies: Vec<Seen> = self
            .seen
            .iter()
            .map(|(&(pid, start_ticks), &first_seen_unix)| Seen {
                pid,
                start_ticks,
                first_seen_unix,
            })
            .collect();
        zombies.sort_by_key(|s| (s.pid, s.start_ticks));
        let mut namespaces = self.others.clone();
        if !zombies.is_empty() {
            namespaces.push(Section {
                boot_id: self.key.boot_id.clone(),
                pid_ns: self.key.pid_ns,
                zombies,
            });
        }
        // Only sections with something to remember; in a stable order, so an unchanged
        // state gives the same bytes and is not written again.
        namespaces.retain(|s| !s.zombies.is_empty());
        namespaces.sort_by(|a, b| (a.pid_ns, &a.boot_id).cmp(&(b.pid_ns, &b.boot_id)));
        let file = FileV2 {
            format: MARKER.to_string(),
            version: VERSION,
            namespaces,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Writes the state atomically when it changed, and never when it could not be read or
    /// its directory is missing. No file is created while there is nothing to remember.
    /// Returns whether it wrote.
    pub fn save(&mut self) -> Result<bool, Trouble> {
        if let Some(t) = &self.trouble {
            return Err(t.clone());
        }
        let bytes = self.to_bytes();
        let needed = match &self.on_disk {
            Some(old) => *old != bytes,
            None => !self.seen.is_empty() || !self.others.is_empty(),
        };
        if needed {
            let written = if self.create_dir {
                crate::atomic::write(&self.path, &bytes)
            } else {
                crate::atomic::write_existing_dir(&self.path, &bytes)
            };
            written.map_err(|e| Trouble::Unwritable {
                error: e.to_string(),
            })?;
            self.on_disk = Some(bytes);
        }
        Ok(needed)
    }
}

/// What a state file's bytes turned out to be.
enum Parsed {
    Sections(Vec<Section>),
    /// Ours, but not readable as a state: why.
    Corrupt(String),
    NotOurs,
}

fn parse(bytes: &[u8], key: &Key) -> Parsed {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        // Empty: created ahead for us (`install -m 600 /dev/null state.json`). Nothing to lose.
        return Parsed::Sections(Vec::new());
    }
    let value: serde_json::Value = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) if looks_like_ours(bytes) => return Parsed::Corrupt(e.to_string()),
        Err(_) => return Parsed::NotOurs,
    };
    let Some(obj) = value.as_object() else {
        return Parsed::NotOurs;
    };
    if obj.get("format").and_then(|f| f.as_str()) == Some(MARKER) {
        return match serde_json::from_value::<FileV2>(value) {
            Ok(f) if f.version == VERSION => Parsed::Sections(f.namespaces),
            Ok(f) => Parsed::Corrupt(format!("unknown version {}", f.version)),
            Err(e) => Parsed::Corrupt(e.to_string()),
        };
    }
    if obj.contains_key("version") && obj.contains_key("zombies") {
        // Version 1, written before the marker existed: one section, no namespace, which
        // becomes the section of whoever reads it first.
        return match serde_json::from_value::<FileV1>(value) {
            Ok(f) if f.version == 1 => Parsed::Sections(vec![Section {
                boot_id: f.boot_id,
                pid_ns: key.pid_ns,
                zombies: f.zombies,
            }]),
            Ok(f) => Parsed::Corrupt(format!("unknown version {}", f.version)),
            Err(e) => Parsed::Corrupt(e.to_string()),
        };
    }
    Parsed::NotOurs
}

/// Text that is not JSON but still ours: our marker, or the start of a version 1 file cut
/// short (a full disk, an editor).
fn looks_like_ours(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.contains(MARKER)
        || (text.trim_start().starts_with('{')
            && text.contains("\"version\"")
            && text.contains("\"zombies"))
}

/// Whether `path` holds a state file of ours (a valid one: version 2 with the marker, or
/// version 1's shape). `check --output` will not replace one: --state and --output swapped
/// would otherwise overwrite the state with a report.
pub fn is_state_file(path: &Path) -> bool {
    let Ok(file) = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    else {
        return false;
    };
    if !file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > 0 && m.len() <= MAX_SIZE)
    {
        return false;
    }
    let mut bytes = Vec::new();
    if file.take(MAX_SIZE).read_to_end(&mut bytes).is_err() {
        return false;
    }
    matches!(parse(&bytes, &Key::default()), Parsed::Sections(_))
        && !bytes.iter().all(u8::is_ascii_whitespace)
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// An exclusive flock on the state's directory, waiting up to LOCK_WAIT for another check.
/// None when the directory does not exist yet, cannot be opened, cannot be locked (NFS before
/// Linux 2.6.12) or stays locked: the check then goes on unlocked rather than hang a monitor.
fn lock_dir(dir: &Path) -> Option<Flock<File>> {
    let mut file = File::open(dir).ok()?;
    let start = Instant::now();
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Some(lock),
            Err((f, nix::errno::Errno::EWOULDBLOCK)) if start.elapsed() < LOCK_WAIT => {
                file = f;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let d =
                std::env::temp_dir().join(format!("zombies-state-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            std::fs::create_dir_all(&d).unwrap();
            TempDir(d)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn key(boot: &str, ns: u64) -> Key {
        Key {
            boot_id: Some(boot.to_string()),
            pid_ns: Some(ns),
        }
    }

    /// Loads, expecting no refusal and no warning.
    fn load(path: &Path, create_dir: bool, k: Key) -> State {
        let (s, warn) = State::load(path, create_dir, k).expect("not refused");
        assert!(warn.is_none(), "{warn:?}");
        s
    }

    #[test]
    fn remembers_first_sighting_and_forgets_the_gone() {
        let dir = TempDir::new("remember");
        let path = dir.0.join("sub").join("state.json");
        let k = || key("boot-a", 7);
        let mut s = load(&path, true, k());
        let seen = s.update([(10, 500), (11, 501)], 1000);
        assert_eq!(seen[&(10, 500)], 1000);
        assert!(s.save().unwrap(), "first save writes");
        drop(s);

        let mut s = load(&path, true, k());
        // 11 was reaped; 10 is still there; 12 is new; 10 with another start time is new.
        let seen = s.update([(10, 500), (12, 502), (13, 9)], 1060);
        assert_eq!(seen[&(10, 500)], 1000);
        assert_eq!(seen[&(12, 502)], 1060);
        assert!(!seen.contains_key(&(11, 501)));
        assert!(s.save().unwrap());
        drop(s);
        let mut s = load(&path, true, k());
        let seen = s.update([(10, 777)], 1100);
        assert_eq!(seen[&(10, 777)], 1100, "a reused PID is a new zombie");
        drop(s);

        // Unchanged state is not written again.
        let mut s = load(&path, true, k());
        s.update([(10, 500), (12, 502), (13, 9)], 1200);
        assert!(!s.save().unwrap());
        drop(s);

        // Another boot: the old start times mean nothing.
        let mut s = load(&path, true, key("boot-b", 7));
        assert_eq!(s.update([(10, 500)], 1300)[&(10, 500)], 1300);
    }

    #[test]
    fn each_pid_namespace_keeps_its_own_section() {
        let dir = TempDir::new("ns");
        let path = dir.0.join("state.json");
        let mut host = load(&path, false, key("b", 1));
        host.update([(10, 500)], 1000);
        host.save().unwrap();
        drop(host);
        // A container on the same file numbers its own processes: the same PID 10 and start
        // time are another process there, and its sightings must not replace the host's.
        let mut ct = load(&path, false, key("b", 2));
        assert_eq!(ct.update([(10, 500), (11, 9)], 1500)[&(10, 500)], 1500);
        ct.save().unwrap();
        drop(ct);
        let mut host = load(&path, false, key("b", 1));
        assert_eq!(
            host.update([(10, 500)], 2000)[&(10, 500)],
            1000,
            "host's age kept"
        );
        host.save().unwrap();
        drop(host);
        let mut ct = load(&path, false, key("b", 2));
        assert_eq!(
            ct.update([(11, 9)], 2100)[&(11, 9)],
            1500,
            "container's age kept"
        );
        ct.save().unwrap();
        drop(ct);
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["format"], MARKER);
        assert_eq!(v["version"], 2);
        assert_eq!(v["namespaces"].as_array().unwrap().len(), 2, "{v}");
        // After a reboot, every namespace's section goes at the next save.
        let mut s = load(&path, false, key("c", 1));
        s.update([(3, 3)], 3000);
        s.save().unwrap();
        drop(s);
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(v["namespaces"].as_array().unwrap().len(), 1, "{v}");
    }

    #[test]
    fn version_1_files_are_read_and_rewritten_as_version_2() {
        let dir = TempDir::new("v1");
        let path = dir.0.join("state.json");
        std::fs::write(
            &path,
            r#"{"version":1,"boot_id":"b","zombies":[{"pid":10,"start_ticks":500,"first_seen_unix":900}]}"#,
        )
        .unwrap();
        let mut s = load(&path, false, key("b", 5));
        assert_eq!(s.update([(10, 500)], 1000)[&(10, 500)], 900);
        assert!(s.save().unwrap(), "migrated");
        drop(s);
        let mut s = load(&path, false, key("b", 5));
        assert_eq!(s.update([(10, 500)], 1100)[&(10, 500)], 900);
        // A version 1 file of another boot is forgotten like any other.
        std::fs::write(&path, r#"{"version":1,"boot_id":"old","zombies":[{"pid":10,"start_ticks":500,"first_seen_unix":900}]}"#).unwrap();
        drop(s);
        let mut s = load(&path, false, key("b", 5));
        assert_eq!(s.update([(10, 500)], 1200)[&(10, 500)], 1200);
    }

    #[test]
    fn each_procfs_has_its_own_default_file() {
        assert_eq!(file_name_for(Path::new("/proc")), "check-state.json");
        assert_eq!(file_name_for(Path::new("/proc/")), "check-state.json");
        assert_eq!(
            file_name_for(Path::new("/host/proc")),
            "check-state-host_proc.json"
        );
        assert_eq!(
            file_name_for(Path::new("rel/p r.oc")),
            "check-state-rel_p_r_oc.json"
        );
        assert!(default_path(Path::new("/proc")).ends_with("zombies/check-state.json"));
    }

    #[test]
    fn nothing_to_remember_writes_nothing() {
        let dir = TempDir::new("empty");
        let path = dir.0.join("state.json");
        let mut s = load(&path, false, Key::default());
        s.update([], 5);
        assert!(!s.save().unwrap());
        assert!(!path.exists());
    }

    #[test]
    fn corrupt_state_of_ours_is_reset_with_a_warning() {
        let dir = TempDir::new("corrupt");
        let path = dir.0.join("state.json");
        for garbage in [
            &br#"{"version": 1, "zombies": [tru"#[..],
            br#"{"format":"zombies-check-state","version":2,"namespaces":[{"zom"#,
            br#"{"version":99,"zombies":[]}"#,
            br#"{"format":"zombies-check-state","version":3,"namespaces":[]}"#,
            br#"{"version":1,"zombies":[{"pid":"x"}]}"#,
        ] {
            std::fs::write(&path, garbage).unwrap();
            let (mut s, warn) = State::load(&path, false, Key::default()).unwrap();
            let Some(Warning::Corrupt { path: p, .. }) = warn else {
                panic!("no warning for {:?}", String::from_utf8_lossy(garbage));
            };
            assert_eq!(p, path);
            assert_eq!(s.update([(1, 2)], 50)[&(1, 2)], 50);
            assert!(s.save().unwrap(), "a corrupt file is replaced");
            drop(s);
            load(&path, false, Key::default());
        }
        // Even with nothing to remember, the corrupt file is replaced by a valid one.
        std::fs::write(&path, r#"{"version": 1, "zombies"#).unwrap();
        let (mut s, _) = State::load(&path, false, Key::default()).unwrap();
        s.update([], 60);
        assert!(s.save().unwrap());
        drop(s);
        load(&path, false, Key::default());
        // An empty file (created ahead for the monitoring user) is an empty state, silently.
        std::fs::write(&path, "").unwrap();
        load(&path, false, Key::default());
    }

    #[test]
    fn a_file_that_is_not_ours_is_refused_and_left_alone() {
        let dir = TempDir::new("foreign");
        let path = dir.0.join("hosts");
        for foreign in [
            &b"127.0.0.1 localhost\n"[..],
            b"{not json",
            b"\xff\xfe\0\0",
            br#"[1,2,3]"#,
            br#"{"zombies_processes": 3}"#,
            b"zombies_processes 3\nzombies_check_status 0\n",
        ] {
            std::fs::write(&path, foreign).unwrap();
            let err = State::load(&path, false, Key::default()).unwrap_err();
            assert_eq!(err, Refusal::NotOurs(path.clone()));
            assert_eq!(std::fs::read(&path).unwrap(), foreign, "left as it was");
        }
        let err = State::load(&dir.0, false, Key::default()).unwrap_err();
        assert!(
            matches!(
                err,
                Refusal::NotAFile {
                    kind: "a directory",
                    ..
                }
            ),
            "{err:?}"
        );
        let fifo = dir.0.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let err = State::load(&fifo, false, Key::default()).unwrap_err();
        assert!(
            matches!(err, Refusal::NotAFile { kind: "a FIFO", .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_symlink_at_the_state_path_is_never_followed() {
        let dir = TempDir::new("symlink");
        let target = dir.0.join("target.json");
        // Even a link to a valid state file of ours: a link is refused as such.
        std::fs::write(
            &target,
            r#"{"format":"zombies-check-state","version":2,"namespaces":[]}"#,
        )
        .unwrap();
        let link = dir.0.join("state.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(
            State::load(&link, false, Key::default()).unwrap_err(),
            Refusal::Symlink(link.clone())
        );
        // A dangling one too: it would create its target.
        let dangling = dir.0.join("dangling.json");
        std::os::unix::fs::symlink(dir.0.join("nowhere"), &dangling).unwrap();
        assert!(State::load(&dangling, false, Key::default()).is_err());
        assert!(!dir.0.join("nowhere").exists());
    }

    #[test]
    fn a_typed_path_never_creates_its_directory() {
        let dir = TempDir::new("nodir");
        let path = dir.0.join("no").join("such").join("state.json");
        let (mut s, _) = State::load(&path, false, Key::default()).unwrap();
        assert!(matches!(
            s.trouble.as_ref(),
            Some(Trouble::NoDirectory { .. })
        ));
        s.update([(1, 1)], 5);
        assert!(matches!(s.save(), Err(Trouble::NoDirectory { .. })));
        assert!(!dir.0.join("no").exists());
        // The default path may.
        let (mut s, _) = State::load(&path, true, Key::default()).unwrap();
        assert!(s.trouble.as_ref().is_none());
        s.update([(1, 1)], 5);
        assert!(s.save().unwrap());
        assert!(path.exists());
    }

    #[test]
    fn output_refuses_only_real_state_files() {
        let dir = TempDir::new("isstate");
        let p = dir.0.join("f");
        assert!(!is_state_file(&p), "missing");
        std::fs::write(
            &p,
            r#"{"format":"zombies-check-state","version":2,"namespaces":[]}"#,
        )
        .unwrap();
        assert!(is_state_file(&p));
        std::fs::write(&p, r#"{"version":1,"boot_id":null,"zombies":[]}"#).unwrap();
        assert!(is_state_file(&p));
        // A check's own JSON report, even naming a process "version", is not one.
        std::fs::write(
            &p,
            r#"{"status":"ok","zombies":0,"list":{"parents":[{"comm":"version"}]}}"#,
        )
        .unwrap();
        assert!(!is_state_file(&p));
        std::fs::write(&p, "").unwrap();
        assert!(!is_state_file(&p));
    }

    #[test]
    fn clock_set_back_never_gives_a_future_sighting() {
        let dir = TempDir::new("clock");
        let path = dir.0.join("state.json");
        let mut s = load(&path, false, Key::default());
        s.update([(1, 1)], 1000);
        assert_eq!(s.update([(1, 1)], 900)[&(1, 1)], 900);
    }
}

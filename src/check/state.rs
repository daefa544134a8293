//! The memory of `zombies check` across runs: when each zombie was first seen. The kernel
//! records when a process started, not when it died, so a zombie's age can only be measured
//! by watching it.
//!
//! A zombie is named by its PID and its start time in clock ticks after boot: a PID the kernel
//! hands out again is a new process with another start time, hence a new zombie. The boot id
//! is kept too, because start times begin again at every boot.
//!
//! The file is small JSON, written atomically and only when its content changes:
//!
//! ```json
//! {
//!   "version": 1,
//!   "boot_id": "6f1c...",
//!   "zombies": [ { "pid": 4243, "start_ticks": 812345, "first_seen_unix": 1767225600 } ]
//! }
//! ```
//!
//! Every zombie of the scan is recorded, before --user, --parent and the ignore list, so that
//! checks with different filters can share one file without resetting each other's ages.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::proc::Pid;

/// The format version this code writes and reads.
const VERSION: u32 = 1;

/// A zombie, for good: its PID and its start time.
pub type ZombieId = (Pid, u64);

/// One remembered zombie.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub pid: Pid,
    pub start_ticks: u64,
    pub first_seen_unix: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct File {
    version: u32,
    #[serde(default)]
    boot_id: Option<String>,
    zombies: Vec<Seen>,
}

/// The state as loaded, and how to save it.
#[derive(Debug)]
pub struct State {
    pub path: PathBuf,
    /// What was on disk, byte for byte (None when there was no file): saves are skipped when
    /// nothing changed, so a quiet machine never writes.
    on_disk: Option<Vec<u8>>,
    boot_id: Option<String>,
    seen: HashMap<ZombieId, u64>,
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
    /// Loads the state. Never fails: a missing file is an empty state; an unreadable or corrupt
    /// one is an empty state plus a warning for stderr (it is replaced at the next save).
    pub fn load(path: &Path, boot_id: Option<&str>) -> (State, Option<String>) {
        let mut state = State {
            path: path.to_path_buf(),
            on_disk: None,
            boot_id: boot_id.map(str::to_string),
            seen: HashMap::new(),
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return (state, None),
            Err(e) => {
                let warning = format!(
                    "cannot read state file {}: {e}; zombie ages start again from now (check its permissions, or pass --state PATH)",
                    path.display()
                );
                // Pretend there was something, so the next save tries to replace it.
                state.on_disk = Some(Vec::new());
                return (state, Some(warning));
            }
        };
        let parsed = serde_json::from_slice::<File>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|f| {
                if f.version == VERSION {
                    Ok(f)
                } else {
                    Err(format!("unknown version {}", f.version))
                }
            });
        state.on_disk = Some(bytes);
        match parsed {
            Ok(f) => {
                // After a reboot start times begin again: nothing recorded still means anything.
                let same_boot = match (&f.boot_id, boot_id) {
                    (Some(old), Some(new)) => old == new,
                    _ => true,
                };
                if same_boot {
                    state.seen = f
                        .zombies
                        .into_iter()
                        .map(|s| ((s.pid, s.start_ticks), s.first_seen_unix))
                        .collect();
                }
                (state, None)
            }
            Err(e) => (
                state,
                Some(format!(
                    "state file {} is corrupt ({e}); starting it afresh: zombie ages start again from now",
                    path.display()
                )),
            ),
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
        let file = File {
            version: VERSION,
            boot_id: self.boot_id.clone(),
            zombies,
        };
        let mut bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Writes the state atomically when it changed. No file is created while there is
    /// nothing to remember.
    pub fn save(&self) -> io::Result<bool> {
        let bytes = self.to_bytes();
        let needed = match &self.on_disk {
            Some(old) => *old != bytes,
            None => !self.seen.is_empty(),
        };
        if needed {
            crate::atomic::write(&self.path, &bytes)?;
        }
        Ok(needed)
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

    #[test]
    fn remembers_first_sighting_and_forgets_the_gone() {
        let dir = TempDir::new("remember");
        let path = dir.0.join("sub").join("state.json");
        let (mut s, warn) = State::load(&path, Some("boot-a"));
        assert!(warn.is_none());
        let seen = s.update([(10, 500), (11, 501)], 1000);
        assert_eq!(seen[&(10, 500)], 1000);
        assert!(s.save().unwrap(), "first save writes");

        let (mut s, warn) = State::load(&path, Some("boot-a"));
        assert!(warn.is_none());
        // 11 was reaped; 10 is still there; 12 is new; 10 with another start time is new.
        let seen = s.update([(10, 500), (12, 502), (13, 9)], 1060);
        assert_eq!(seen[&(10, 500)], 1000);
        assert_eq!(seen[&(12, 502)], 1060);
        assert!(!seen.contains_key(&(11, 501)));
        assert!(s.save().unwrap());
        let (mut s, _) = State::load(&path, Some("boot-a"));
        let seen = s.update([(10, 777)], 1100);
        assert_eq!(seen[&(10, 777)], 1100, "a reused PID is a new zombie");

        // Unchanged state is not written again.
        let (mut s, _) = State::load(&path, Some("boot-a"));
        s.update([(10, 500), (12, 502), (13, 9)], 1200);
        assert!(!s.save().unwrap());

        // Another boot: the old start times mean nothing.
        let (mut s, warn) = State::load(&path, Some("boot-b"));
        assert!(warn.is_none());
        assert_eq!(s.update([(10, 500)], 1300)[&(10, 500)], 1300);
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
        let (mut s, _) = State::load(&path, None);
        s.update([], 5);
        assert!(!s.save().unwrap());
        assert!(!path.exists());
    }

    #[test]
    fn corrupt_state_is_reset_with_a_warning() {
        let dir = TempDir::new("corrupt");
        let path = dir.0.join("state.json");
        for garbage in [
            &b"{not json"[..],
            b"",
            b"\xff\xfe\0\0",
            br#"{"version":99,"zombies":[]}"#,
            br#"{"version":1,"zombies":[{"pid":"x"}]}"#,
            br#"[1,2,3]"#,
        ] {
            std::fs::write(&path, garbage).unwrap();
            let (mut s, warn) = State::load(&path, None);
            let warn = warn.expect("a warning");
            assert!(
                warn.contains("corrupt") && warn.contains("state.json"),
                "{warn}"
            );
            assert_eq!(s.update([(1, 2)], 50)[&(1, 2)], 50);
            assert!(s.save().unwrap(), "a corrupt file is replaced");
            let (_, warn) = State::load(&path, None);
            assert!(warn.is_none(), "the replacement is valid");
        }
        // Even with nothing to remember, the corrupt file is replaced by a valid one.
        std::fs::write(&path, "garbage").unwrap();
        let (mut s, _) = State::load(&path, None);
        s.update([], 60);
        assert!(s.save().unwrap());
        assert!(State::load(&path, None).1.is_none());
    }

    #[test]
    fn clock_set_back_never_gives_a_future_sighting() {
        let dir = TempDir::new("clock");
        let path = dir.0.join("state.json");
        let (mut s, _) = State::load(&path, None);
        s.update([(1, 1)], 1000);
        assert_eq!(s.update([(1, 1)], 900)[&(1, 1)], 900);
    }
}

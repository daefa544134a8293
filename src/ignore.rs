//! The ignore list: parents whose zombies the user chose to live with. Keyed by what survives
//! a restart (executable path or command name, optionally a uid), never by PID.
//!
//! File format (TOML), at `$XDG_CONFIG_HOME/zombies/ignore.toml`, or `/etc/zombies/ignore.toml`
//! for root, or wherever `--ignore-file` says:
//!
//! ```toml
//! [[ignore]]
//! exe = "/usr/sbin/nginx"   # or: comm = "nginx"
//! uid = 33                  # optional: only this user's processes
//! note = "reaps on reload"  # optional
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::diagnose::{Diagnosis, ParentFinding};

/// One ignored kind of parent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Absolute path of the executable (/proc/PID/exe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// Command name (/proc/PID/comm), when the executable is unknown or varies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    /// The whole command line, for interpreters: every Python script shares one executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
    /// Only processes of this user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Why it is ignored, for the next person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Entry {
    /// The entry that ignores this parent: by executable when known, else by name; for an
    /// interpreter (python, node, java, a shell, ...) also by its command line, so ignoring
    /// one script does not hide every other program of that interpreter.
    pub fn for_parent(p: &ParentFinding, with_uid: bool) -> Entry {
        let interpreted = p.exe.as_deref().is_some_and(is_interpreter);
        Entry {
            exe: p.exe.clone(),
            comm: if p.exe.is_none() {
                Some(p.comm.clone())
            } else {
                None
            },
            cmdline: if interpreted { p.cmdline.clone() } else { None },
            uid: if with_uid { p.uid } else { None },
            note: None,
        }
    }

    pub fn matches(&self, p: &ParentFinding) -> bool {
        if self.exe.is_none() && self.comm.is_none() {
            return false;
        }
        self.exe.as_ref().is_none_or(|e| p.exe.as_ref() == Some(e))
            && self.comm.as_ref().is_none_or(|c| &p.comm == c)
            && self
                .cmdline
                .as_ref()
                .is_none_or(|c| p.cmdline.as_ref() == Some(c))
            && self.uid.is_none_or(|u| p.uid == Some(u))
    }

    /// Whether both entries hide the same parents (they may differ in their note).
    pub fn same_key(&self, other: &Entry) -> bool {
        self.exe == other.exe
            && self.comm == other.comm
            && self.cmdline == other.cmdline
            && self.uid == other.uid
    }

    /// How the entry is named on the command line: its exe or comm (with the command line of
    /// an interpreter), plus the uid when set.
    pub fn key(&self) -> String {
        let mut base = self.exe.clone().or(self.comm.clone()).unwrap_or_default();
        if let Some(c) = &self.cmdline {
            base = format!("{base} running `{c}`");
        }
        match self.uid {
            Some(u) => format!("{base} (uid {u})"),
            None => base,
        }
    }
}

/// Executables that run other programs: their path says nothing about which program it is.
fn is_interpreter(exe: &str) -> bool {
    let name = exe.rsplit('/').next().unwrap_or(exe);
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    matches!(
        stem,
        "python"
            | "pypy"
            | "perl"
            | "ruby"
            | "node"
            | "nodejs"
            | "deno"
            | "bun"
            | "java"
            | "php"
            | "php-fpm"
            | "lua"
            | "luajit"
            | "Rscript"
            | "tclsh"
            | "sh"
            | "bash"
            | "dash"
            | "zsh"
            | "ksh"
            | "mksh"
            | "fish"
            | "busybox"
            | "dotnet"
            | "mono"
    )
}

/// What `remove` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Removal {
    /// This many entries are gone.
    Removed(usize),
    /// No entry has that key (and command line).
    NoSuchEntry,
    /// The key names entries for different command lines; these, untouched.
    Ambiguous(Vec<Entry>),
}

/// The list and where it lives.
#[derive(Clone, Debug, Default)]
pub struct IgnoreList {
    pub path: PathBuf,
    pub entries: Vec<Entry>,
}

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    ignore: Vec<Entry>,
}

/// The documented default location.
pub fn default_path() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/etc/zombies/ignore.toml");
    }
    let config = crate::paths::xdg_dir("XDG_CONFIG_HOME", ".config");
    config.join("zombies").join("ignore.toml")
}

impl IgnoreList {
    /// Loads the list; a missing file is an empty list, a malformed one an error that names it.
    pub fn load(path: Option<&Path>) -> Result<IgnoreList> {
        let path = path.map(Path::to_path_buf).unwrap_or_else(default_path);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(IgnoreList {
                    path,
                    entries: Vec::new(),
                });
            }
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read ignore list {}", path.display()));
            }
        };
        let file: File = toml::from_str(&text).with_context(|| {
            format!(
                "ignore list {} is not valid: fix or remove it",
                path.display()
            )
        })?;
        Ok(IgnoreList {
            path,
            entries: file.ignore,
        })
    }

    pub fn is_ignored(&self, p: &ParentFinding) -> bool {
        self.entries.iter().any(|e| e.matches(p))
    }

    /// Adds an entry unless one with the same key (the note aside) exists; returns whether it
    /// was added. The command line is part of the key: each script of an interpreter has its
    /// own entry.
    pub fn add(&mut self, entry: Entry) -> bool {
        if self.entries.iter().any(|e| e.same_key(&entry)) {
            return false;
        }
        self.entries.push(entry);
        true
    }

    /// Removes the entries whose exe or comm is `key` and, when given, whose command line is
    /// `cmdline`. Without `cmdline`, a key shared by entries for different command lines (the
    /// scripts of one interpreter) is ambiguous and nothing is removed.
    pub fn remove(&mut self, key: &str, cmdline: Option<&str>) -> Removal {
        let named = |e: &Entry| e.exe.as_deref() == Some(key) || e.comm.as_deref() == Some(key);
        let candidates: Vec<&Entry> = self.entries.iter().filter(|e| named(e)).collect();
        if candidates.is_empty() {
            return Removal::NoSuchEntry;
        }
        if cmdline.is_none()
            && candidates
                .iter()
                .any(|e| e.cmdline != candidates[0].cmdline)
        {
            return Removal::Ambiguous(candidates.into_iter().cloned().collect());
        }
        let before = self.entries.len();
        self.entries
            .retain(|e| !(named(e) && cmdline.is_none_or(|c| e.cmdline.as_deref() == Some(c))));
        match before - self.entries.len() {
            0 => Removal::NoSuchEntry,
            n => Removal::Removed(n),
        }
    }

    /// The parents among `parents` other than `p` that `entry` would hide and that no entry
    /// hides yet: adding it hides them too.
    pub fn newly_hidden<'a>(
        &self,
        entry: &Entry,
        p: &ParentFinding,
        parents: &'a [ParentFinding],
    ) -> Vec<&'a ParentFinding> {
        parents
            .iter()
            .filter(|o| o.pid != p.pid && entry.matches(o) && !self.is_ignored(o))
            .collect()
    }

    /// Writes the list atomically (see `atomic::write`).
    pub fn save(&self) -> Result<()> {
        let text = format!(
            "# zombies ignore list: parents whose zombies `zombies list` and `zombies check` do not report.\n# Managed by `zombies fix --ignore` and `zombies ignore list|remove`.\n\n{}",
            toml::to_string(&File {
                ignore: self.entries.clone()
            })?
        );
        crate::atomic::write(&self.path, text.as_bytes())
            .with_context(|| format!("cannot write ignore list {}", self.path.display()))
    }

    /// Drops ignored parents from a diagnosis and counts their zombies in `summary.ignored`.
    pub fn apply(&self, diag: &mut Diagnosis) -> usize {
        let before = diag.summary.zombies;
        let filtered = diag.summary.filtered_out;
        diag.retain_zombies(|p, _| !self.is_ignored(p));
        let dropped = before - diag.summary.zombies;
        diag.summary.filtered_out = filtered;
        diag.summary.ignored += dropped;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(exe: Option<&str>, comm: &str, uid: u32) -> ParentFinding {
        ParentFinding {
            exe: exe.map(str::to_string),
            uid: Some(uid),
            ..ParentFinding::for_test(10, comm)
        }
    }

    #[test]
    fn matches_by_exe_comm_and_uid() {
        let nginx = parent(Some("/usr/sbin/nginx"), "nginx", 33);
        let by_exe = Entry {
            exe: Some("/usr/sbin/nginx".into()),
            ..Entry::default()
        };
        assert!(by_exe.matches(&nginx));
        let by_comm = Entry {
            comm: Some("nginx".into()),
            uid: Some(33),
            ..Entry::default()
        };
        assert!(by_comm.matches(&nginx));
        let other_uid = Entry {
            comm: Some("nginx".into()),
            uid: Some(0),
            ..Entry::default()
        };
        assert!(!other_uid.matches(&nginx));
        assert!(
            !Entry::default().matches(&nginx),
            "an empty entry must match nothing"
        );
    }

    #[test]
    fn interpreters_are_keyed_by_command_line() {
        let script = |cmd: &str| ParentFinding {
            cmdline: Some(cmd.into()),
            ..parent(Some("/usr/bin/python3.11"), "python3", 0)
        };
        let e = Entry::for_parent(&script("python3 /srv/a.py"), false);
        assert_eq!(e.cmdline.as_deref(), Some("python3 /srv/a.py"));
        assert!(e.matches(&script("python3 /srv/a.py")));
        assert!(!e.matches(&script("python3 /srv/b.py")));
        assert!(e.key().contains("/srv/a.py"), "{}", e.key());
        // A compiled program keeps its plain executable key.
        let nginx = Entry::for_parent(&parent(Some("/usr/sbin/nginx"), "nginx", 0), false);
        assert_eq!(nginx.cmdline, None);
        assert!(is_interpreter("/usr/bin/python3.11") && is_interpreter("/bin/bash"));
        assert!(!is_interpreter("/usr/sbin/nginx"));
    }

    #[test]
    fn scripts_of_one_interpreter_are_added_and_removed_one_by_one() {
        let script = |cmd: &str| ParentFinding {
            cmdline: Some(cmd.into()),
            ..parent(Some("/usr/bin/python3.11"), "python3", 0)
        };
        let mut list = IgnoreList::default();
        assert!(list.add(Entry::for_parent(&script("python3 a.py"), false)));
        assert!(list.add(Entry::for_parent(&script("python3 b.py"), false)));
        assert!(!list.add(Entry::for_parent(&script("python3 b.py"), false)));
        assert_eq!(list.entries.len(), 2);
        match list.remove("/usr/bin/python3.11", None) {
            Removal::Ambiguous(e) => assert_eq!(e.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            list.remove("/usr/bin/python3.11", Some("python3 c.py")),
            Removal::NoSuchEntry
        );
        assert_eq!(
            list.remove("/usr/bin/python3.11", Some("python3 a.py")),
            Removal::Removed(1)
        );
        assert!(list.is_ignored(&script("python3 b.py")));
        assert!(!list.is_ignored(&script("python3 a.py")));
        // One script left: the executable alone is enough.
        assert_eq!(
            list.remove("/usr/bin/python3.11", None),
            Removal::Removed(1)
        );
    }

    #[test]
    fn round_trips_through_the_file_and_rejects_garbage() {
        let dir = std::env::temp_dir().join(format!("zombies-ignore-test-{}", std::process::id()));
        let path = dir.join("sub").join("ignore.toml");
        let mut list = IgnoreList::load(Some(&path)).unwrap();
        assert!(list.entries.is_empty());
        assert!(list.add(Entry::for_parent(&parent(Some("/bin/srv"), "srv", 5), true)));
        assert!(!list.add(Entry::for_parent(&parent(Some("/bin/srv"), "srv", 5), true)));
        list.save().unwrap();
        let back = IgnoreList::load(Some(&path)).unwrap();
        assert_eq!(back.entries, list.entries);
        assert_eq!(back.entries[0].uid, Some(5));
        let mut back = back;
        assert_eq!(back.remove("/bin/srv", None), Removal::Removed(1));
        assert_eq!(back.remove("/bin/srv", None), Removal::NoSuchEntry);
        std::fs::write(&path, "[[ignore]\nexe = 3").unwrap();
        let err = format!("{:#}", IgnoreList::load(Some(&path)).unwrap_err());
        assert!(err.contains("not valid"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! PID headroom: the limit a fork runs into first. Every thread and every zombie takes a PID
//! and counts against its cgroup's `pids.max` (the pids controller uncharges a task only
//! when it is reaped, in release_task), so a container whose zombies pile up fails to fork
//! with EAGAIN long before the host runs out. This module reads `pids.max` and
//! `pids.current` from the cgroup filesystem under a sysfs root (`--sys`, default /sys):
//! for each parent of zombies, the nearest cgroup at or above its own that sets a limit.
//!
//! Where the pids controller lives differs by host: the unified (v2) hierarchy at
//! `/sys/fs/cgroup` (pids since Linux 4.5), the v1 `pids` hierarchy at `/sys/fs/cgroup/pids`
//! on v1 and hybrid hosts (since 4.3), rarely the hybrid's `unified` mount. The same
//! non-blocking, no-symlink reads as the procfs scan; outside a mounted cgroupfs (a copied
//! tree) each file must be a regular one.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::fcntl::{OFlag, openat};
use nix::sys::stat::Mode;

use super::cgroup::CgroupLines;
use super::cgroupns::{self, Kind, NsRoot};
use super::model::Snapshot;
use super::scan::{ProcFs, open_regular, read_to_end};

/// A cgroup's limit on tasks: the nearest one, at or above a process's own cgroup.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PidLimit {
    /// The cgroup that sets it, as /proc/PID/cgroup names cgroups of its hierarchy; from the
    /// hierarchy's root when that path started above our cgroup namespace's (`/..`).
    pub cgroup: String,
    /// Its pids.current: the tasks (threads and zombies) in it and below; None when it could
    /// not be read.
    pub current: Option<u64>,
    /// Its pids.max.
    pub max: u64,
}

/// Which hierarchy holds the pids controller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hierarchy {
    /// cgroup v2: the `0::` line's path.
    Unified,
    /// cgroup v1: the `pids` line's path.
    V1,
}

/// What a cgroup's pids.max says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Max {
    Unlimited,
    Limit(u64),
}

/// The pids hierarchy of a cgroup filesystem, opened once per run.
pub struct CgroupFs {
    dir: OwnedFd,
    hierarchy: Hierarchy,
    /// A mounted cgroupfs, whose files need no check that they are regular.
    live: bool,
    /// pids.max by cgroup (relative path), None where it cannot be read.
    max: HashMap<String, Option<Max>>,
    /// The limit found for each cgroup (relative path).
    limits: HashMap<String, Option<PidLimit>>,
}

fn open_dir<Fd: AsFd>(at: Fd, path: &Path) -> Option<OwnedFd> {
    openat(
        at,
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .ok()
}

fn is_cgroupfs(fd: &OwnedFd) -> bool {
    use nix::sys::statfs::{CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, fstatfs};
    fstatfs(fd).is_ok_and(|s| {
        s.filesystem_type() == CGROUP2_SUPER_MAGIC || s.filesystem_type() == CGROUP_SUPER_MAGIC
    })
}

/// Reads a small file under `dir` (at most a page).
fn read_small(dir: &OwnedFd, rel: &str, check: bool) -> Option<String> {
    let fd = open_regular(dir, rel, check).ok()?;
    let mut v = Vec::new();
    read_to_end(&fd, &mut v, 4096).ok()?;
    String::from_utf8(v).ok()
}

/// Whether a v2 hierarchy's root offers the pids controller.
fn offers_pids(dir: &OwnedFd, live: bool) -> bool {
    read_small(dir, "cgroup.controllers", !live)
        .is_some_and(|c| c.split_whitespace().any(|w| w == "pids"))
}

impl CgroupFs {
    /// The pids hierarchy under `sys`/fs/cgroup, where there is one.
    pub fn open(sys: &Path) -> Option<CgroupFs> {
        let root = open_dir(nix::fcntl::AT_FDCWD, &sys.join("fs/cgroup"))?;
        let found = |dir: OwnedFd, hierarchy| {
            let live = is_cgroupfs(&dir);
            Some(CgroupFs {
                dir,
                hierarchy,
                live,
                max: HashMap::new(),
                limits: HashMap::new(),
            })
        };
        let live = is_cgroupfs(&root);
        if offers_pids(&root, live) {
            return found(root, Hierarchy::Unified);
        }
        if let Some(v1) = open_dir(&root, Path::new("pids")) {
            return found(v1, Hierarchy::V1);
        }
        let unified = open_dir(&root, Path::new("unified"))?;
        let live = is_cgroupfs(&unified);
        offers_pids(&unified, live).then(|| found(unified, Hierarchy::Unified))?
    }

    /// The kind of cgroup mount that shows this hierarchy.
    fn kind(&self) -> Kind {
        match self.hierarchy {
            Hierarchy::Unified => Kind::Unified,
            Hierarchy::V1 => Kind::V1("pids"),
        }
    }

    /// The line of /proc/PID/cgroup that names a cgroup of this hierarchy.
    fn line_mut<'a>(&self, lines: &'a mut CgroupLines) -> &'a mut Option<String> {
        match self.hierarchy {
            Hierarchy::Unified => &mut lines.unified,
            Hierarchy::V1 => &mut lines.pids,
        }
    }

    /// When some parent's cgroup path of this hierarchy starts above our cgroup namespace's
    /// root (`/..`, see proc/cgroupns.rs), makes every one absolute and names their
    /// containers again from the whole path. The kernel writes `..` only for a reader in a
    /// namespace of its own, where the paths without it are relative to the same root (our
    /// own container's processes read `/`): they are placed too, or their limits would be
    /// looked up in a cgroup of the same name at the hierarchy's root. A path that cannot be
    /// placed marks its parent's limit unknown. Costs nothing when no path starts with `/..`.
    /// Our mount table comes from `proc`: our own for a mounted procfs, the `self/mountinfo`
    /// of a copied tree (that of whoever read it).
    pub fn place_outside(&self, proc: &ProcFs, snap: &mut Snapshot) {
        let mut ups = 0;
        for d in snap.parent_details.values_mut() {
            if let Some(lines) = d.cgroups.as_mut() {
                if let Some(n) = self
                    .line_mut(lines)
                    .as_deref()
                    .and_then(cgroupns::leading_ups)
                {
                    ups = ups.max(n);
                }
            }
        }
        if ups == 0 {
            return;
        }
        let mountinfo = proc.own_file("self/mountinfo", 1 << 20);
        let fdinfo = |rel: &str| {
            std::fs::read_to_string(Path::new("/proc").join(rel))
                .ok()
                .or_else(|| {
                    proc.is_live()
                        .then(|| proc.read(rel).ok())
                        .flatten()
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                })
        };
        let root = cgroupns::locate(
            self.dir.as_fd(),
            self.kind(),
            mountinfo.as_deref().map(String::from_utf8_lossy).as_deref(),
            fdinfo,
            ups + cgroupns::EXTRA_DEPTH,
        );
        for d in snap.parent_details.values_mut() {
            let Some(lines) = d.cgroups.as_mut() else {
                continue;
            };
            let line = self.line_mut(lines);
            let Some(path) = line.as_deref() else {
                continue;
            };
            match &root {
                NsRoot::Found(r) => match cgroupns::absolute(r, path) {
                    Some(abs) => {
                        *line = Some(abs);
                        d.container = lines.container();
                    }
                    None => d.cgroup_unplaced = true,
                },
                NsRoot::Unplaced(_) => d.cgroup_unplaced = true,
            }
        }
        snap.cgroup_ns = Some(root);
    }

    /// The nearest limit at or above the cgroup `lines` put a process in, and that cgroup's
    /// path in the pids hierarchy.
    pub fn limit_of(&mut self, lines: &CgroupLines) -> (Option<String>, Option<PidLimit>) {
        let path = match self.hierarchy {
            Hierarchy::Unified => lines.unified.as_deref(),
            Hierarchy::V1 => lines.pids.as_deref(),
        };
        let Some(path) = path else {
            return (None, None);
        };
        let Some(rel) = relative(path) else {
            return (Some(path.to_string()), None);
        };
        if let Some(found) = self.limits.get(&rel) {
            return (Some(path.to_string()), found.clone());
        }
        let found = self.walk(&rel);
        self.limits.insert(rel, found.clone());
        (Some(path.to_string()), found)
    }

    /// From `rel` up to the hierarchy's root (which never has a pids.max), the first cgroup
    /// whose pids.max is a number. A cgroup without the file (the controller not enabled for
    /// it, in v2) passes the question to its parent.
    fn walk(&mut self, rel: &str) -> Option<PidLimit> {
        let mut cur = rel;
        while !cur.is_empty() {
            if let Some(Max::Limit(max)) = self.max_of(cur) {
                let current = read_small(&self.dir, &format!("{cur}/pids.current"), !self.live)
                    .and_then(|s| s.trim().parse().ok());
                return Some(PidLimit {
                    cgroup: format!("/{cur}"),
                    current,
                    max,
                });
            }
            cur = cur.rsplit_once('/').map_or("", |(up, _)| up);
        }
        None
    }

    fn max_of(&mut self, rel: &str) -> Option<Max> {
        if let Some(m) = self.max.get(rel) {
            return *m;
        }
        let m = read_small(&self.dir, &format!("{rel}/pids.max"), !self.live).and_then(|s| match s
            .trim()
        {
            "max" => Some(Max::Unlimited),
            n => n.parse().ok().map(Max::Limit),
        });
        self.max.insert(rel.to_string(), m);
        m
    }
}

/// A cgroup path as a path relative to the hierarchy's root: None for anything that could
/// lead elsewhere (`..`, `.`, a NUL) or is not absolute. Paths outside our cgroup namespace
/// start with `/..` and are refused with them.
fn relative(path: &str) -> Option<String> {
    if !path.starts_with('/') || path.contains('\0') {
        return None;
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return None;
    }
    Some(parts.join("/"))
}

/// Finds each parent's nearest PID limit under `sys`, after placing the cgroup paths from
/// outside our cgroup namespace (which names their containers again). Reads nothing when no
/// parent's cgroup was read; each cgroup is read once, however many parents it holds.
pub fn attach_limits(sys: &Path, proc: &ProcFs, snap: &mut Snapshot) {
    if !snap.parent_details.values().any(|d| d.cgroups.is_some()) {
        return;
    }
    let Some(mut fs) = CgroupFs::open(sys) else {
        return;
    };
    fs.place_outside(proc, snap);
    for d in snap.parent_details.values_mut() {
        if let Some(lines) = &d.cgroups {
            (d.pids_cgroup, d.pid_limit) = fs.limit_of(lines);
        }
    }
}

/// Whether cgroup `inner` is `outer` or lies below it.
pub fn is_within(inner: &str, outer: &str) -> bool {
    let outer = outer.trim_end_matches('/');
    inner == outer
        || outer.is_empty()
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_never_leave_the_hierarchy() {
        assert_eq!(
            relative("/a/b.slice/c.scope").as_deref(),
            Some("a/b.slice/c.scope")
        );
        assert_eq!(relative("/").as_deref(), Some(""));
        assert_eq!(relative("/../../etc"), None);
        assert_eq!(relative("/a/./b"), None);
        assert_eq!(relative("a/b"), None);
    }

    #[test]
    fn within() {
        assert!(is_within("/a/b/c", "/a/b"));
        assert!(is_within("/a/b", "/a/b"));
        assert!(!is_within("/a/bc", "/a/b"));
        assert!(is_within("/a", "/"));
    }

    /// A fixture tree: limits at two levels, an unlimited one between, a level without the
    /// controller's files (v2 enables it top-down), and garbage.
    #[test]
    fn the_nearest_limit_walking_up() {
        let dir = std::env::temp_dir().join(format!("zombies-headroom-{}", std::process::id()));
        let cg = dir.join("fs/cgroup");
        let write = |rel: &str, file: &str, text: &str| {
            std::fs::create_dir_all(cg.join(rel)).unwrap();
            std::fs::write(cg.join(rel).join(file), text).unwrap();
        };
        std::fs::create_dir_all(&cg).unwrap();
        std::fs::write(cg.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        write("pod", "pids.max", "100\n");
        write("pod", "pids.current", "42\n");
        write("pod/mid", "pids.max", "max\n");
        std::fs::create_dir_all(cg.join("pod/mid/leaf")).unwrap();
        write("own", "pids.max", "7\n");
        write("own", "pids.current", "garbage\n");
        write("bad", "pids.max", "lots\n");
        let lines = |p: &str| CgroupLines {
            unified: Some(p.to_string()),
            ..CgroupLines::default()
        };
        let result = std::panic::catch_unwind(|| {
            let mut fs = CgroupFs::open(&dir).expect("a v2 hierarchy with pids");
            assert_eq!(
                fs.limit_of(&lines("/pod/mid/leaf")),
                (
                    Some("/pod/mid/leaf".to_string()),
                    Some(PidLimit {
                        cgroup: "/pod".into(),
                        current: Some(42),
                        max: 100
                    })
                )
            );
            assert_eq!(
                fs.limit_of(&lines("/own")).1,
                Some(PidLimit {
                    cgroup: "/own".into(),
                    current: None,
                    max: 7
                })
            );
            assert_eq!(fs.limit_of(&lines("/bad")).1, None);
            assert_eq!(fs.limit_of(&lines("/nowhere/at/all")).1, None);
            assert_eq!(fs.limit_of(&lines("/../pod")).1, None);
            // No v2 line on a v2 host: nothing to go by.
            assert_eq!(fs.limit_of(&CgroupLines::default()), (None, None));
        });
        std::fs::remove_dir_all(&dir).unwrap();
        result.unwrap();
    }
}

//! Cgroup paths from outside our cgroup namespace, made absolute in the `--sys` hierarchy.
//!
//! Since Linux 4.6 a process can live in a cgroup namespace (Kubernetes gives every container
//! on a cgroup v2 host its own; Docker does since 20.10 on v2). The kernel then shows every
//! cgroup path in /proc/PID/cgroup relative to the *reader's* namespace root
//! (proc_cgroup_show -> cgroup_path_ns, current's cgroup_ns): a host service in
//! `/system.slice/foo.service` reads as `/../../../../system.slice/foo.service` from a
//! container four levels down, a sibling container as `/../cri-containerd-P.scope` (up to the
//! lowest common ancestor, then down). Such a path names nothing below `--sys` as it stands.
//!
//! Where that root R lies is visible without privileges:
//! - The root field of mountinfo is, for a cgroup filesystem, also relative to the reader's
//!   namespace root (cgroup_show_path, since 4.6): a cgroup mount whose root is `/` is mounted
//!   exactly at R. Runtimes mount one at the container's /sys/fs/cgroup (runc does, in the
//!   container's cgroup namespace).
//! - A cgroup directory's inode number is its kernfs node ID (kernfs_init_inode: `i_ino =
//!   kernfs_ino(kn)`, 64-bit since 5.5, before a 32-bit ID unique among the live nodes), and
//!   every mount of one hierarchy shares one superblock (cgroup passes no namespace tag to
//!   kernfs_get_tree; a mount in a cgroup namespace only starts at another dentry), so R has
//!   the same device and inode under every mount, the host's `--sys` one included. readdir
//!   reports that same number as d_ino (kernfs_fop_readdir), so the search below needs no
//!   stat but of the one match. Checked on 6.18 and 6.1 by tests/containers.rs.
//!
//! So: stat R through our own mount, find the directory with that device and inode under
//! `--sys` (breadth first, bounded), and join. A path that would climb above the hierarchy's
//! root is refused, as is every step of this that cannot be verified: a path is made absolute
//! exactly, or not at all. Nothing here runs unless some path starts with `/..`.

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::Path;

use nix::dir::{Dir, Type};
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{FileStat, Mode, fstat, fstatat, major, minor};

use super::mount::unescape;

/// How far below the deepest level the paths prove R to be the search still looks. A path
/// with K leading `..` puts R at least K levels deep (its lowest common ancestor with the path's
/// cgroup is at depth 0 or more); paths of processes near R (a sibling container: K = 1) say
/// little, so the search goes on below K: a Kubernetes container is 3 to 5 levels deep.
pub const EXTRA_DEPTH: usize = 8;

/// How many directories the search reads at most: a node with 110 pods has about a thousand
/// cgroups; a bound keeps a pathological `--sys` from costing minutes.
pub const MAX_DIRS: usize = 50_000;

/// Where our cgroup namespace's root lies in the `--sys` hierarchy, when some cgroup path
/// started above it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NsRoot {
    /// Its path from the hierarchy's root (`/kubepods.slice/…/cri-containerd-<id>.scope`).
    Found(String),
    /// It could not be found: the paths outside it stay unplaced.
    Unplaced(Unplaced),
}

/// Why our cgroup namespace's root could not be found in the `--sys` hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unplaced {
    /// Our mount table (/proc/self/mountinfo) could not be read.
    NoMountTable,
    /// No cgroup filesystem of the hierarchy is mounted at our namespace's root: the
    /// container has no /sys/fs/cgroup of its own, or only a part of one.
    NoMount,
    /// One is mounted at `mount_point`, but that path does not lead to it: another mount
    /// covers it (a host directory mounted over /sys/fs/cgroup), or it cannot be opened.
    Covered { mount_point: String },
    /// The hierarchy under `--sys` is not the one mounted at `mount_point` (another device):
    /// `--sys` is a copy, or another machine's.
    OtherHierarchy { mount_point: String },
    /// No directory under `--sys` is the one at `mount_point`, `depth` levels down: `--sys`
    /// holds only a part of the hierarchy.
    NotFound { mount_point: String, depth: usize },
}

/// The number of `..` a cgroup path starts with, when it starts with one: the levels from our
/// namespace's root up to where the path turns down.
pub fn leading_ups(path: &str) -> Option<usize> {
    let n = path.split('/').skip(1).take_while(|p| *p == "..").count();
    (path.starts_with('/') && n > 0).then_some(n)
}

/// `path` (as /proc/PID/cgroup shows it, relative to our namespace's root) from the
/// hierarchy's root, given that root `root` (`/a/b`, or `/`). None when it would climb above
/// the hierarchy's root, or holds a `.`, an empty name inside or a NUL: the kernel writes
/// none of these, so a path that does is not one to follow.
pub fn absolute(root: &str, path: &str) -> Option<String> {
    if !root.starts_with('/') || !path.starts_with('/') || path.contains('\0') {
        return None;
    }
    let mut parts: Vec<&str> = root.split('/').filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == "." || *p == "..") {
        return None;
    }
    let rest = path.trim_end_matches('/');
    for part in rest.split('/').skip(1) {
        match part {
            ".." => {
                parts.pop()?;
            }
            "" | "." => return None,
            name => parts.push(name),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Which cgroup filesystem to look for in the mount table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// cgroup2, the unified hierarchy.
    Unified,
    /// A cgroup v1 hierarchy with this controller (`pids`).
    V1(&'static str),
}

/// A cgroup mount of ours rooted at our namespace's root, from mountinfo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootMount {
    /// The mount ID (mountinfo's first field, fdinfo's `mnt_id`).
    pub id: u64,
    pub major: u64,
    pub minor: u64,
    /// Where it is mounted, relative to our root.
    pub mount_point: String,
}

/// The mounts of `kind` in a mountinfo text whose root is `/`: mounted at our cgroup
/// namespace's root.
pub fn root_mounts(mountinfo: &str, kind: Kind) -> Vec<RootMount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
            let (before, after) = line.split_once(" - ")?;
            let f: Vec<&str> = before.split(' ').collect();
            let a: Vec<&str> = after.split(' ').collect();
            let wanted = match kind {
                Kind::Unified => a.first() == Some(&"cgroup2"),
                Kind::V1(controller) => {
                    a.first() == Some(&"cgroup")
                        && a.get(2)
                            .is_some_and(|o| o.split(',').any(|o| o == controller))
                }
            };
            if !wanted || f.get(3) != Some(&"/") {
                return None;
            }
            let (major, minor) = f.get(2)?.split_once(':')?;
            Some(RootMount {
                id: f.first()?.parse().ok()?,
                major: major.parse().ok()?,
                minor: minor.parse().ok()?,
                mount_point: unescape(f.get(4)?),
            })
        })
        .collect()
}

/// A directory's identity: its device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirId {
    pub dev: u64,
    pub ino: u64,
}

impl DirId {
    fn of(st: &FileStat) -> DirId {
        DirId {
            dev: st.st_dev,
            ino: st.st_ino,
        }
    }
}

/// The `mnt_id` of an open file, from an fdinfo text (since 3.15).
fn mnt_id(fdinfo: &str) -> Option<u64> {
    fdinfo
        .lines()
        .find_map(|l| l.strip_prefix("mnt_id:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Opens `m`'s mount point and checks it reaches that very mount: the device mountinfo gives,
/// and, read from our fdinfo through `fdinfo` (a reader of `self/fdinfo/N`), its mount ID,
/// which no other mount has (a mount covering it, of the same filesystem or not, has its
/// own). The identity of its root directory, when it does.
pub fn verify(m: &RootMount, fdinfo: impl Fn(&str) -> Option<String>) -> Option<DirId> {
    let fd = openat(
        nix::fcntl::AT_FDCWD,
        Path::new(&m.mount_point),
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_NONBLOCK,
        Mode::empty(),
    )
    .ok()?;
    let st = fstat(fd.as_fd()).ok()?;
    if major(st.st_dev) != m.major || minor(st.st_dev) != m.minor {
        return None;
    }
    let info = fdinfo(&format!("self/fdinfo/{}", fd.as_raw_fd()))?;
    (mnt_id(&info)? == m.id).then(|| DirId::of(&st))
}

/// What the search under `--sys` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Search {
    /// The directory's path from the root, `/` for the root itself.
    Found(String),
    /// `root` is on another device: not the same hierarchy.
    OtherDevice,
    /// Not found within `depth` levels (fewer when MAX_DIRS directories were read first).
    NotFound { depth: usize },
}

/// Breadth first from `root`, at most `max_depth` levels down and MAX_DIRS directories, the
/// directory that is `want`. Only directories are listed (getdents) and only a candidate
/// whose d_ino matches is stat'ed: no file is opened, no symbolic link followed.
pub fn find_dir(root: BorrowedFd<'_>, want: DirId, max_depth: usize) -> Search {
    let Ok(st) = fstat(root) else {
        return Search::NotFound { depth: 0 };
    };
    if st.st_dev != want.dev {
        return Search::OtherDevice;
    }
    if st.st_ino == want.ino {
        return Search::Found("/".into());
    }
    // Paths relative to root, with their depth; a cgroup name that is not UTF-8 is skipped,
    // as the paths it would lead to could not be joined with those of /proc/PID/cgroup.
    let mut queue: VecDeque<(String, usize)> = VecDeque::from([(String::new(), 0)]);
    let mut read = 0;
    while let Some((rel, depth)) = queue.pop_front() {
        if read >= MAX_DIRS {
            // The levels above this one were searched whole.
            return Search::NotFound { depth };
        }
        read += 1;
        let dir = if rel.is_empty() { "." } else { rel.as_str() };
        let Ok(mut d) = Dir::openat(
            root,
            dir,
            OFlag::O_RDONLY
                | OFlag::O_DIRECTORY
                | OFlag::O_NOFOLLOW
                | OFlag::O_CLOEXEC
                | OFlag::O_NONBLOCK,
            Mode::empty(),
        ) else {
            continue;
        };
        let entries: Vec<nix::dir::Entry> = d.iter().flatten().collect();
        let mut children = Vec::new();
        for e in &entries {
            let Ok(name) = e.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            let is_dir = match e.file_type() {
                Some(Type::Directory) => true,
                Some(_) => false,
                // DT_UNKNOWN (some filesystems of a copied tree): ask.
                None => fstatat(d.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW)
                    .is_ok_and(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR),
            };
            if !is_dir {
                continue;
            }
            let child = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            if e.ino() == want.ino
                && fstatat(d.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW)
                    .is_ok_and(|s| DirId::of(&s) == want)
            {
                return Search::Found(format!("/{child}"));
            }
            if depth + 1 < max_depth {
                children.push((child, depth + 1));
            }
        }
        queue.extend(children);
    }
    Search::NotFound { depth: max_depth }
}

/// Finds our namespace's root in the hierarchy open at `hierarchy`: through the mounts of
/// `kind` in `mountinfo` rooted at it, each verified, searched for at most `max_depth` levels
/// down.
pub fn locate(
    hierarchy: BorrowedFd<'_>,
    kind: Kind,
    mountinfo: Option<&str>,
    fdinfo: impl Fn(&str) -> Option<String>,
    max_depth: usize,
) -> NsRoot {
    let Some(info) = mountinfo else {
        return NsRoot::Unplaced(Unplaced::NoMountTable);
    };
    let mounts = root_mounts(info, kind);
    let Some(first) = mounts.first() else {
        return NsRoot::Unplaced(Unplaced::NoMount);
    };
    // Every verified one is the same directory; the first that verifies will do.
    let Some((m, id)) = mounts
        .iter()
        .find_map(|m| verify(m, &fdinfo).map(|id| (m, id)))
    else {
        return NsRoot::Unplaced(Unplaced::Covered {
            mount_point: first.mount_point.clone(),
        });
    };
    let mount_point = m.mount_point.clone();
    match find_dir(hierarchy, id, max_depth) {
        Search::Found(path) => NsRoot::Found(path),
        Search::OtherDevice => NsRoot::Unplaced(Unplaced::OtherHierarchy { mount_point }),
        Search::NotFound { depth } => NsRoot::Unplaced(Unplaced::NotFound { mount_point, depth }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_ups_count_only_a_leading_run() {
        assert_eq!(leading_ups("/../../system.slice/a.service"), Some(2));
        assert_eq!(leading_ups("/.."), Some(1));
        assert_eq!(leading_ups("/../cri-containerd-x.scope"), Some(1));
        assert_eq!(leading_ups("/system.slice"), None);
        assert_eq!(leading_ups("/"), None);
        assert_eq!(leading_ups("/..x/a"), None);
        assert_eq!(leading_ups("../a"), None);
    }

    #[test]
    fn absolute_joins_and_never_climbs_above_the_root() {
        let r = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podA.slice/cri-containerd-X.scope";
        assert_eq!(
            absolute(r, "/../../../../system.slice/foo.service").as_deref(),
            Some("/system.slice/foo.service")
        );
        assert_eq!(
            absolute(r, "/../cri-containerd-P.scope").as_deref(),
            Some(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podA.slice/cri-containerd-P.scope"
            )
        );
        assert_eq!(
            absolute(
                r,
                "/../../kubepods-besteffort-podB.slice/cri-containerd-Y.scope"
            )
            .as_deref(),
            Some(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podB.slice/cri-containerd-Y.scope"
            )
        );
        // Our own root, and a path to the hierarchy's root.
        assert_eq!(absolute(r, "/").as_deref(), Some(r));
        assert_eq!(absolute(r, "/../../../..").as_deref(), Some("/"));
        assert_eq!(absolute("/", "/a/b").as_deref(), Some("/a/b"));
        assert_eq!(absolute("/a/", "/../b/").as_deref(), Some("/b"));
        // One level too many: above the hierarchy's root.
        assert_eq!(absolute(r, "/../../../../../etc"), None);
        assert_eq!(absolute("/", "/../a"), None);
        assert_eq!(absolute("/a", "/../../a"), None);
        // What no kernel writes.
        assert_eq!(absolute("/a", "/../b/./c"), None);
        assert_eq!(absolute("/a", "/../b//c"), None);
        assert_eq!(absolute("/a", "/../b\0"), None);
        assert_eq!(absolute("/a", "../b"), None);
        assert_eq!(absolute("a", "/b"), None);
        assert_eq!(absolute("/a/../..", "/b"), None);
        // `..` after a name still counts (never written, but never a way out either).
        assert_eq!(absolute("/a", "/b/../../..").as_deref(), None);
        assert_eq!(absolute("/a", "/b/..").as_deref(), Some("/a"));
    }

    const INFO: &str = "24 1 0:22 / /proc rw - proc proc rw\n\
        30 24 0:26 /../../.. /host/sys/fs/cgroup ro,relatime - cgroup2 cgroup2 rw\n\
        31 24 0:26 / /sys/fs/cgroup ro,nosuid - cgroup2 cgroup rw,nsdelegate\n\
        32 24 0:26 /sub /elsewhere rw - cgroup2 cgroup rw\n\
        40 24 0:40 / /sys/fs/cgroup/pids rw shared:7 - cgroup cgroup rw,pids\n\
        41 24 0:41 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
        42 24 0:26 / /my\\040cgroup rw - cgroup2 cgroup2 rw\n";

    #[test]
    fn the_mounts_rooted_at_our_namespace_root() {
        let v2 = root_mounts(INFO, Kind::Unified);
        assert_eq!(
            v2,
            vec![
                RootMount {
                    id: 31,
                    major: 0,
                    minor: 26,
                    mount_point: "/sys/fs/cgroup".into()
                },
                RootMount {
                    id: 42,
                    major: 0,
                    minor: 26,
                    mount_point: "/my cgroup".into()
                }
            ]
        );
        let v1 = root_mounts(INFO, Kind::V1("pids"));
        assert_eq!(v1.len(), 1);
        assert_eq!(v1[0].mount_point, "/sys/fs/cgroup/pids");
        assert_eq!(root_mounts(INFO, Kind::V1("memory")), vec![]);
        assert_eq!(
            root_mounts("garbage\n - \n1 2 x / /a - cgroup2", Kind::Unified),
            vec![]
        );
        assert_eq!(
            mnt_id("pos:\t0\nflags:\t02\nmnt_id:\t31\nino:\t1\n"),
            Some(31)
        );
        assert_eq!(mnt_id("pos:\t0\n"), None);
    }

    /// A temporary tree standing for a hierarchy: the search finds a directory by its inode
    /// alone, breadth first, within its depth, and never through a symbolic link.
    #[test]
    fn the_search_finds_a_directory_by_device_and_inode() {
        let dir = std::env::temp_dir().join(format!("zombies-cgroupns-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let deep = dir.join("a.slice/b.slice/c.slice/d.scope");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir_all(dir.join("z.slice/y.service")).unwrap();
        std::fs::write(dir.join("a.slice/pids.max"), "max\n").unwrap();
        let outside =
            std::env::temp_dir().join(format!("zombies-cgroupns-outside-{}", std::process::id()));
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("z.slice/link.scope")).unwrap();
        let id = |p: &Path| {
            let m = std::fs::metadata(p).unwrap();
            use std::os::unix::fs::MetadataExt;
            DirId {
                dev: m.dev(),
                ino: m.ino(),
            }
        };
        let result = std::panic::catch_unwind(|| {
            let root = nix::fcntl::open(
                &dir,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .unwrap();
            let want = id(&deep);
            assert_eq!(
                find_dir(root.as_fd(), want, 4),
                Search::Found("/a.slice/b.slice/c.slice/d.scope".into())
            );
            // Three levels down it is not.
            assert_eq!(
                find_dir(root.as_fd(), want, 3),
                Search::NotFound { depth: 3 }
            );
            assert_eq!(
                find_dir(root.as_fd(), id(&dir.join("z.slice/y.service")), 2),
                Search::Found("/z.slice/y.service".into())
            );
            assert_eq!(
                find_dir(root.as_fd(), id(&dir), 2),
                Search::Found("/".into())
            );
            // Behind a symbolic link: not in the hierarchy.
            assert_eq!(
                find_dir(root.as_fd(), id(&outside), 9),
                Search::NotFound { depth: 9 }
            );
            // Another device: not searched.
            let other = DirId {
                dev: want.dev ^ 1,
                ino: want.ino,
            };
            assert_eq!(find_dir(root.as_fd(), other, 9), Search::OtherDevice);
        });
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
        result.unwrap();
    }

    /// Our own mount table: the cgroup2 or v1 pids mount rooted at our namespace's root, when
    /// there is one, verifies (the device, and the mount ID through fdinfo); a made-up one
    /// does not.
    #[test]
    fn a_mount_of_ours_verifies_and_a_made_up_one_does_not() {
        let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let fdinfo = |rel: &str| std::fs::read_to_string(format!("/proc/{rel}")).ok();
        let mounts: Vec<RootMount> = [Kind::Unified, Kind::V1("pids")]
            .into_iter()
            .flat_map(|k| root_mounts(&info, k))
            .collect();
        for m in &mounts {
            let id = verify(m, fdinfo).unwrap_or_else(|| panic!("{m:?} does not verify"));
            let st = nix::sys::stat::stat(Path::new(&m.mount_point)).unwrap();
            assert_eq!(id, DirId::of(&st));
            // Another mount's ID, or another device: refused.
            let wrong_id = RootMount {
                id: m.id + 100_000,
                ..m.clone()
            };
            assert_eq!(verify(&wrong_id, fdinfo), None);
            let wrong_dev = RootMount {
                minor: m.minor + 100_000,
                ..m.clone()
            };
            assert_eq!(verify(&wrong_dev, fdinfo), None);
        }
        let absent = RootMount {
            id: 1,
            major: 0,
            minor: 1,
            mount_point: "/nonexistent/zombies".into(),
        };
        assert_eq!(verify(&absent, fdinfo), None);
    }
}

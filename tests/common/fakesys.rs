//! `FakeSys` and `FakePods`: fixture trees for `--sys` (the cgroup filesystem's pids files)
//! and `--pods-dir` (the kubelet's pod log directories), for the container hosts this machine
//! is not. They live inside a [`super::TestEnv`]'s directory, which removes them.

use std::path::{Path, PathBuf};

/// A fixture sysfs: `fs/cgroup` laid out as a cgroup v2 host (pids in the root's
/// cgroup.controllers) or a v1 host (a `pids` hierarchy), with pids.max and pids.current
/// where the test puts them.
pub struct FakeSys {
    root: PathBuf,
    /// The directory of the pids hierarchy: fs/cgroup (v2) or fs/cgroup/pids (v1).
    pids: PathBuf,
}

impl FakeSys {
    /// A cgroup v2 host at `root` (what `--sys` names).
    pub fn v2(root: PathBuf) -> FakeSys {
        let pids = root.join("fs/cgroup");
        std::fs::create_dir_all(&pids).unwrap();
        std::fs::write(
            pids.join("cgroup.controllers"),
            "cpuset cpu io memory pids\n",
        )
        .unwrap();
        FakeSys { root, pids }
    }

    /// A cgroup v1 host at `root`: fs/cgroup is a directory of hierarchies, pids one of them.
    pub fn v1(root: PathBuf) -> FakeSys {
        let pids = root.join("fs/cgroup/pids");
        std::fs::create_dir_all(&pids).unwrap();
        std::fs::create_dir_all(root.join("fs/cgroup/memory")).unwrap();
        FakeSys { root, pids }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of a cgroup (as /proc/PID/cgroup names it), created if missing.
    pub fn cgroup(&self, cgroup: &str) -> PathBuf {
        let dir = self.pids.join(cgroup.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A mountinfo line for a reader whose cgroup namespace's root is `cgroup`: a cgroup2
    /// mount rooted there (root field `/`), whose mount point is that very directory of the
    /// tree, with the device and the mount ID (from our fdinfo) that the directory really has.
    pub fn root_mount_line(&self, cgroup: &str) -> String {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::MetadataExt;
        let dir = self.cgroup(cgroup);
        let f = std::fs::File::open(&dir).unwrap();
        let dev = f.metadata().unwrap().dev();
        let fdinfo =
            std::fs::read_to_string(format!("/proc/self/fdinfo/{}", f.as_raw_fd())).unwrap();
        let id: u64 = fdinfo
            .lines()
            .find_map(|l| l.strip_prefix("mnt_id:"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let path = dir.to_str().unwrap().replace(' ', "\\040");
        format!(
            "{id} 1 {}:{} / {path} ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate\n",
            nix::sys::stat::major(dev),
            nix::sys::stat::minor(dev)
        )
    }

    /// Sets a cgroup's pids.max (`"max"` for none) and, when given, pids.current. `cgroup` is
    /// the path as /proc/PID/cgroup shows it.
    pub fn limit(&self, cgroup: &str, max: &str, current: Option<u64>) -> &Self {
        let dir = self.pids.join(cgroup.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pids.max"), format!("{max}\n")).unwrap();
        if let Some(c) = current {
            std::fs::write(dir.join("pids.current"), format!("{c}\n")).unwrap();
        }
        self
    }
}

/// A fixture `/var/log/pods`: one directory per pod, `<namespace>_<name>_<uid>`.
pub struct FakePods {
    root: PathBuf,
}

impl FakePods {
    pub fn new(root: PathBuf) -> FakePods {
        std::fs::create_dir_all(&root).unwrap();
        FakePods { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Adds a pod's log directory.
    pub fn pod(&self, namespace: &str, name: &str, uid: &str) -> &Self {
        std::fs::create_dir_all(self.root.join(format!("{namespace}_{name}_{uid}"))).unwrap();
        self
    }
}

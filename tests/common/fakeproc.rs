//! `FakeProc`: a fixture procfs tree (`--proc PATH`) for the cases the live system cannot
//! produce on demand (a container's init, a kernel thread holding zombies, garbage in stat).
//! It lives inside a [`super::TestEnv`]'s directory, which removes it.

use std::path::{Path, PathBuf};

/// A fixture procfs: PID directories with stat and status files, plus the few system-wide
/// files a scan reads (pid_max, btime).
pub struct FakeProc {
    root: PathBuf,
}

impl FakeProc {
    /// A tree at `root` with pid_max and /proc/stat's btime, and no process yet.
    pub fn new(root: PathBuf) -> FakeProc {
        std::fs::create_dir_all(root.join("sys/kernel")).unwrap();
        std::fs::write(root.join("sys/kernel/pid_max"), "4194304\n").unwrap();
        std::fs::write(root.join("stat"), "cpu  1 2 3\nbtime 1700000000\n").unwrap();
        FakeProc { root }
    }

    /// The root of the tree (what `--proc` names).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the tree.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Adds a process: its stat line from the main fields.
    pub fn process(
        &self,
        pid: i32,
        comm: &[u8],
        state: char,
        ppid: i32,
        flags: u32,
        threads: i64,
    ) -> &Self {
        let dir = self.root.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let mut line = format!("{pid} (").into_bytes();
        line.extend_from_slice(comm);
        line.extend_from_slice(
            format!(
                ") {state} {ppid} {pid} {pid} 0 -1 {flags} 0 0 0 0 0 0 0 0 20 0 {threads} 0 500 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 256\n"
            )
            .as_bytes(),
        );
        std::fs::write(dir.join("stat"), line).unwrap();
        self
    }

    /// Adds the status file of a process (signal masks, NSpid, tracer) and its cgroup.
    pub fn status(&self, pid: i32, sigcgt: &str, sigblk: &str, nspid: &str, tracer: i32) -> &Self {
        let status = format!(
            "Name:\tx\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t1\nTracerPid:\t{tracer}\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t\nNStgid:\t{nspid}\nNSpid:\t{nspid}\nNSpgid:\t{nspid}\nNSsid:\t{nspid}\nThreads:\t1\nSigQ:\t0/1000\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t{sigblk}\nSigIgn:\t0000000000000000\nSigCgt:\t{sigcgt}\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\nSpeculation_Store_Bypass:\tvulnerable\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t1\nnonvoluntary_ctxt_switches:\t1\n"
        );
        let dir = self.root.join(pid.to_string());
        std::fs::write(dir.join("status"), status).unwrap();
        std::fs::write(dir.join("cgroup"), "0::/docker/abc123\n").unwrap();
        self
    }
}

impl FakeProc {
    /// Replaces the cgroup file of a process (written by [`FakeProc::status`] as
    /// `0::/docker/abc123`) with `text`, as bytes: any content a kernel or a copy could hold.
    pub fn cgroup(&self, pid: i32, text: impl AsRef<[u8]>) -> &Self {
        std::fs::write(self.root.join(pid.to_string()).join("cgroup"), text).unwrap();
        self
    }

    /// Writes a system-wide file of the tree, such as `sys/kernel/threads-max`.
    pub fn file(&self, rel: &str, text: &str) -> &Self {
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }
}

/// SigCgt/SigBlk masks for [`FakeProc::status`]: none, and SIGCHLD (17).
pub const NO_SIGNALS: &str = "0000000000000000";
pub const SIGCHLD_MASK: &str = "0000000000010000";

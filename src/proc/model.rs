//! What one scan of /proc knows: processes, their parent links and the details read for the
//! parents of zombies. No I/O here.

use std::collections::HashMap;

use serde::Serialize;

use super::cgroup::{CgroupLines, Container};
use super::cgroupns::NsRoot;
use super::headroom::PidLimit;
use super::mount::ProcMount;
use super::signals::SigMask;
use super::stat::{PF_KTHREAD, Stat};

/// A process ID as the kernel reports it.
pub type Pid = i32;

/// One process (thread-group leader) from /proc/PID/stat.
#[derive(Clone, Debug)]
pub struct Process {
    pub pid: Pid,
    pub ppid: Pid,
    /// The command name, converted lossily when it is not UTF-8.
    pub comm: String,
    /// The one-letter state from stat field 3.
    pub state: char,
    pub pgrp: Pid,
    pub session: Pid,
    pub flags: u32,
    pub num_threads: i64,
    /// Start time in clock ticks after boot: with the PID, it names a process for good.
    pub start_ticks: u64,
    /// Raw wait(2) status from stat field 52 (meaningful for zombies we may ptrace-read).
    pub exit_status: Option<i32>,
    /// Owner (effective uid, from the status file); only filled in for zombies.
    pub uid: Option<u32>,
}

impl Process {
    pub fn from_stat(stat: Stat) -> Process {
        Process {
            pid: stat.pid,
            ppid: stat.ppid,
            comm: String::from_utf8_lossy(&stat.comm).into_owned(),
            state: stat.state as char,
            pgrp: stat.pgrp,
            session: stat.session,
            flags: stat.flags,
            num_threads: stat.num_threads,
            start_ticks: stat.starttime,
            exit_status: stat.exit_code,
            uid: None,
        }
    }

    /// A real zombie: dead and waiting to be reaped. A leader in state Z whose other threads
    /// still run (`ps` shows `Zl`) is a live process, not a zombie.
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z' && self.num_threads <= 1
    }

    /// The main thread exited but other threads live on.
    pub fn is_exited_leader(&self) -> bool {
        self.state == 'Z' && self.num_threads > 1
    }

    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }
}

/// What /proc/PID/status (plus wchan, cgroup and cmdline) says about a parent of zombies.
#[derive(Clone, Debug, Default)]
pub struct ParentDetails {
    pub uid: u32,
    pub threads: u64,
    pub sig_pending: SigMask,
    pub sig_shared_pending: SigMask,
    pub sig_blocked: SigMask,
    pub sig_ignored: SigMask,
    pub sig_caught: SigMask,
    pub tracer_pid: Pid,
    /// Seccomp mode: 0 none, 1 strict, 2 filter (a filter may kill it for a system call).
    pub seccomp: Option<u32>,
    /// The process (thread group) of that tracer: TracerPid names the tracing thread.
    pub tracer_process: Option<Pid>,
    /// The PID in each nested PID namespace, outermost first.
    pub nspid: Vec<Pid>,
    /// Kernel function the process sleeps in ("0" or empty when running or hidden).
    pub wchan: Option<String>,
    /// The first line of /proc/PID/cgroup, without the hierarchy number.
    pub cgroup: Option<String>,
    /// The lines of /proc/PID/cgroup that say where it belongs (v2, v1 pids, name=systemd).
    pub cgroups: Option<CgroupLines>,
    /// The container, pod or unit they name; None when the file was not read or said nothing
    /// usable. Pod names come from proc/pods.rs.
    pub container: Option<Container>,
    /// Its own cgroup in the hierarchy of the pids controller (proc/headroom.rs).
    pub pids_cgroup: Option<String>,
    /// Its cgroup path in that hierarchy is relative to our cgroup namespace's root (some
    /// path started with `/..`) and could not be placed in the `--sys` hierarchy
    /// (proc/cgroupns.rs): its PID limit is unknown, not absent.
    pub cgroup_unplaced: bool,
    /// The nearest pids.max at or above that cgroup, when one is set.
    pub pid_limit: Option<PidLimit>,
    /// The command line, arguments joined with spaces, converted lossily.
    pub cmdline: Option<String>,
    /// The executable (/proc/PID/exe), when we may read it.
    pub exe: Option<String>,
    /// PID (as this procfs numbers it) of the init of the parent's PID namespace, when found.
    pub ns_init: Option<Pid>,
}

/// Why a scan cannot see every process of its procfs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hidden {
    /// The mount's hidepid= hides other users' processes from `uid`.
    HidePid { mount: ProcMount, uid: u32 },
    /// PID 1 is missing from a live procfs, which every PID namespace has while it lives:
    /// something the mount options did not explain hides processes.
    NoPid1,
}

/// Where the count of PIDs in use comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PidsSource {
    /// The scan saw every process and added up their threads.
    #[default]
    Scan,
    /// The scan could not see everything; the kernel's count of every task (threads
    /// included) from the 4th field of /proc/loadavg, which hidepid does not filter. It
    /// counts the whole machine, so it is used only for the initial PID namespace.
    Loadavg,
    /// Neither: the count is only of the tasks this user can see, a lower bound.
    VisibleOnly,
}

/// PIDs in use: every thread takes one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PidsInUse {
    pub count: u64,
    pub source: PidsSource,
}

/// Everything one scan found.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Sorted by PID.
    pub processes: Vec<Process>,
    /// Details for each process that has zombie children, by PID. A parent that vanished or
    /// that we may not read has no entry.
    pub parent_details: HashMap<Pid, ParentDetails>,
    /// /proc entries we could not read (hidepid, permissions).
    pub unreadable: usize,
    /// `PID/stat` paths (relative to the root) that are not regular files, refused unread:
    /// only a tree that is not a live procfs has them.
    pub not_files: Vec<String>,
    /// Why the scan cannot see every process, when it cannot (hidepid).
    pub hidden: Option<Hidden>,
    /// Tasks counted against pid_max, and where the count comes from.
    pub pids_in_use: PidsInUse,
    /// /proc/sys/kernel/pid_max.
    pub pid_max: Option<u64>,
    /// /proc/sys/kernel/threads-max: the kernel's limit on tasks; read only when there are
    /// zombies.
    pub threads_max: Option<u64>,
    /// The `pids.max` limit of our own cgroup, when one is set.
    pub pids_limit: Option<u64>,
    /// Where our cgroup namespace's root lies in the `--sys` hierarchy, or why it could not
    /// be found; None when no parent's cgroup path started above it (the usual case).
    pub cgroup_ns: Option<NsRoot>,
    /// Boot time, Unix seconds (from /proc/stat btime); read only when there are zombies.
    pub boot_time: Option<u64>,
    /// Clock ticks per second (for stat's time fields).
    pub ticks_per_second: u64,
    /// Zombies traced by a process other than their parent, with that tracer's PID (of its
    /// thread group). Until the tracer waits for such a zombie or lets go of it, only the
    /// tracer can reap it: the parent's wait() does not see it.
    pub zombie_tracers: HashMap<Pid, Pid>,
    /// For each process whose main thread exited while others run (`Zl`), how many of its
    /// threads are alive, from task/*/stat: stat's thread count still counts the dead leader.
    pub live_threads: HashMap<Pid, u64>,
}

impl Snapshot {
    /// Builds a snapshot from processes in any order.
    pub fn new(mut processes: Vec<Process>) -> Snapshot {
        processes.sort_by_key(|p| p.pid);
        Snapshot {
            processes,
            ticks_per_second: 100,
            ..Snapshot::default()
        }
    }

    pub fn get(&self, pid: Pid) -> Option<&Process> {
        self.processes
            .binary_search_by_key(&pid, |p| p.pid)
            .ok()
            .map(|i| &self.processes[i])
    }

    pub fn zombies(&self) -> impl Iterator<Item = &Process> {
        self.processes.iter().filter(|p| p.is_zombie())
    }

    /// Tasks counted against pid_max: every thread takes a PID.
    pub fn tasks(&self) -> u64 {
        self.processes
            .iter()
            .map(|p| p.num_threads.max(1) as u64)
            .sum()
    }

    /// The chain of ancestors of `pid`, nearest first (stops at a missing link or a loop).
    pub fn ancestors(&self, pid: Pid) -> Vec<Pid> {
        let mut out = Vec::new();
        let mut cur = pid;
        while let Some(p) = self.get(cur) {
            if p.ppid <= 0 || out.contains(&p.ppid) || p.ppid == pid {
                break;
            }
            out.push(p.ppid);
            cur = p.ppid;
        }
        out
    }

    /// Children of every process, by parent PID, each list sorted.
    pub fn children_map(&self) -> HashMap<Pid, Vec<Pid>> {
        let mut map: HashMap<Pid, Vec<Pid>> = HashMap::new();
        for p in &self.processes {
            map.entry(p.ppid).or_default().push(p.pid);
        }
        map
    }

    /// The threads of a process that have not exited: for a `Zl` process the count read from
    /// its task directory (None when it could not be read), else stat's thread count.
    pub fn live_threads(&self, p: &Process) -> Option<u64> {
        if p.is_exited_leader() {
            self.live_threads.get(&p.pid).copied()
        } else {
            Some(p.num_threads.max(1) as u64)
        }
    }

    /// Unix time at which a process with this start time started.
    pub fn started_unix(&self, start_ticks: u64) -> Option<u64> {
        Some(self.boot_time? + start_ticks / self.ticks_per_second.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: Pid, ppid: Pid, state: char, threads: i64) -> Process {
        Process {
            pid,
            ppid,
            comm: format!("p{pid}"),
            state,
            pgrp: pid,
            session: pid,
            flags: 0,
            num_threads: threads,
            start_ticks: 0,
            exit_status: None,
            uid: None,
        }
    }

    #[test]
    fn zombie_versus_exited_leader() {
        assert!(p(5, 1, 'Z', 1).is_zombie());
        assert!(!p(5, 1, 'Z', 3).is_zombie());
        assert!(p(5, 1, 'Z', 3).is_exited_leader());
        assert!(!p(5, 1, 'S', 1).is_zombie());
    }

    #[test]
    fn ancestors_stop_on_loops_and_gaps() {
        let s = Snapshot::new(vec![p(1, 0, 'S', 1), p(10, 1, 'S', 1), p(20, 10, 'S', 1)]);
        assert_eq!(s.ancestors(20), vec![10, 1]);
        assert_eq!(s.ancestors(99), Vec::<Pid>::new());
        let looped = Snapshot::new(vec![p(3, 4, 'S', 1), p(4, 3, 'S', 1)]);
        assert_eq!(looped.ancestors(3), vec![4]);
        assert_eq!(s.tasks(), 3);
    }
}

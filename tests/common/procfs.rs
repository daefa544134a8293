//! The tests' own reader of /proc: the one place a test looks at a process without asking the
//! tool under test. It is deliberately independent of the crate's reader (`zombies::proc`): a
//! test that checks the tool's view of /proc with the tool's own parser would agree with a
//! parser bug instead of catching it. So it stays small, and there is only this one copy.

use std::time::Duration;

use super::wait_until;

/// The fields of /proc/PID/stat the tests look at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stat {
    /// The state letter (R, S, D, T, t, Z, X, I...).
    pub state: char,
    pub ppid: i32,
    /// The kernel's PF_* flags (PF_EXITING is 0x4).
    pub flags: u64,
}

/// Parses a stat line. The command name may hold anything, `) ` and newlines included, so the
/// fields are what follows the last `)`.
pub fn parse_stat(line: &[u8]) -> Option<Stat> {
    let close = line.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(line.get(close + 2..)?).ok()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        flags: fields.get(6)?.parse().ok()?,
    })
}

/// /proc/PID/stat, or None when the process is gone.
pub fn proc_stat(pid: i32) -> Option<Stat> {
    parse_stat(&std::fs::read(format!("/proc/{pid}/stat")).ok()?)
}

/// The state letter of a process in /proc, or None when it is gone.
pub fn proc_state(pid: i32) -> Option<char> {
    proc_stat(pid).map(|s| s.state)
}

/// The parent of a process in /proc (as this test's PID namespace numbers it).
pub fn proc_ppid(pid: i32) -> Option<i32> {
    proc_stat(pid).map(|s| s.ppid)
}

/// The value of a `Name:` line of /proc/PID/status, trimmed. The file is read as bytes: its
/// Name line holds the raw command name, which need not be UTF-8.
pub fn status_field(pid: i32, name: &str) -> Option<String> {
    let status = std::fs::read(format!("/proc/{pid}/status")).ok()?;
    String::from_utf8_lossy(&status)
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}

/// The number on a `Name:` line of /proc/PID/status.
pub fn status_number(pid: i32, name: &str) -> Option<i64> {
    status_field(pid, name)?.parse().ok()
}

/// The PID a process has in the innermost PID namespace it lives in (last field of NSpid).
pub fn ns_pid(pid: i32) -> Option<i32> {
    status_field(pid, "NSpid")?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// The inode of a process's PID namespace, as /proc/PID/ns/pid names it (`pid:[N]`).
pub fn pid_ns_of(pid: i32) -> Option<u64> {
    let link = std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()?;
    link.to_str()?
        .strip_prefix("pid:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The wait channel of a process (`do_wait` while it sleeps in wait()), if readable.
pub fn wchan(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/wchan")).ok()
}

/// The children of `pid` as this test's /proc numbers them.
pub fn children_of(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The children of `pid` that are zombies.
pub fn zombie_children(pid: i32) -> Vec<i32> {
    children_of(pid)
        .into_iter()
        .filter(|&c| proc_state(c) == Some('Z'))
        .collect()
}

/// Every PID in /proc.
pub fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Every process below `root` (children, their children...), from one pass over /proc.
pub fn descendants(root: i32) -> Vec<i32> {
    let all: Vec<(i32, i32)> = all_pids()
        .into_iter()
        .filter_map(|pid| Some((pid, proc_ppid(pid)?)))
        .collect();
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for &(child, _) in all.iter().filter(|&&(_, ppid)| ppid == p) {
            out.push(child);
            frontier.push(child);
        }
    }
    out
}

/// Whether `pid` runs (is neither a zombie nor gone).
pub fn alive(pid: i32) -> bool {
    matches!(proc_state(pid), Some(s) if s != 'Z' && s != 'X')
}

/// Waits up to `limit` for `pid` to be in `state`.
pub fn wait_state(pid: i32, state: char, limit: Duration) -> bool {
    wait_until(limit, || proc_state(pid) == Some(state))
}

/// Asserts that `pid` was left alone: not exiting, no signal pending. A signal sent to it
/// before this call is either pending (SigPnd/ShdPnd) or was acted on (the process is exiting:
/// PF_EXITING, or already a zombie), so no pause is needed to see it.
#[track_caller]
pub fn assert_untouched(pid: i32) {
    let stat = proc_stat(pid).unwrap_or_else(|| panic!("{pid} is gone"));
    assert!(
        !matches!(stat.state, 'Z' | 'X' | 'x'),
        "{pid} is {}",
        stat.state
    );
    assert_eq!(stat.flags & 0x4, 0, "{pid} is exiting (PF_EXITING)");
    for name in ["SigPnd", "ShdPnd"] {
        let mask = status_field(pid, name).unwrap_or_else(|| panic!("{pid}: no {name}"));
        assert_eq!(
            u64::from_str_radix(&mask, 16).expect("mask"),
            0,
            "{pid} has a signal pending: {name}: {mask}"
        );
    }
}

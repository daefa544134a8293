//! Small reads of the live /proc the demos cite as evidence: a process's state, its signal
//! masks, where it sleeps, its open descriptors and its memory map. Every reader returns None
//! when the process or the file is gone instead of failing: the demos report what is there.

use std::fs;

use crate::proc::signals::SigMask;

/// The state letter from /proc/PID/stat (S, R, T, Z, ...).
pub fn state(pid: i32) -> Option<char> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    stat.get(close + 2).map(|&b| b as char)
}

/// The parent PID from /proc/PID/stat.
pub fn ppid(pid: i32) -> Option<i32> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Start time of a process in clock ticks after boot (stat field 22).
pub fn start_ticks(pid: i32) -> Option<u64> {
    let stat = fs::read(format!("/proc/{pid}/stat")).ok()?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The value of one `Name:\tvalue` line of /proc/PID/status.
pub fn status_field(pid: i32, name: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == name).then(|| v.trim().to_string())
    })
}

/// A signal mask line of /proc/PID/status (SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt).
pub fn sigmask(pid: i32, name: &str) -> Option<SigMask> {
    SigMask::parse(&status_field(pid, name)?)
}

/// The kernel function a sleeping process waits in (/proc/PID/wchan).
pub fn wchan(pid: i32) -> Option<String> {
    let w = fs::read_to_string(format!("/proc/{pid}/wchan")).ok()?;
    let w = w.trim();
    (!w.is_empty() && w != "0").then(|| w.to_string())
}

/// Where descriptor `fd` of `pid` points (`pipe:[1234]`, a path, `/mq-name`).
pub fn fd_target(pid: i32, fd: i32) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// Every open descriptor of `pid` and its target, sorted by number.
pub fn fds(pid: i32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    if let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in dir.flatten() {
            if let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) {
                if let Some(t) = fd_target(pid, n) {
                    out.push((n, t));
                }
            }
        }
    }
    out.sort();
    out
}

/// The `flags:` of /proc/PID/fdinfo/FD as an access mode: "read-only", "write-only", ...
pub fn fd_access(pid: i32, fd: i32) -> Option<&'static str> {
    let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?.trim();
    let bits = u32::from_str_radix(flags, 8).ok()?;
    Some(match bits & 3 {
        0 => "opened read-only",
        1 => "opened write-only",
        _ => "opened read-write",
    })
}

/// Lines of /proc/PID/maps that mention `needle` (a path or `/SYSV...`).
pub fn maps_lines(pid: i32, needle: &str) -> Vec<String> {
    fs::read_to_string(format!("/proc/{pid}/maps"))
        .map(|m| {
            m.lines()
                .filter(|l| l.contains(needle))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        })
        .unwrap_or_default()
}

/// Clock ticks per second, for start times.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as u64 } else { 100 }
}

/// Boot time in seconds since the epoch (btime in /proc/stat).
pub fn boot_time(proc_root: &std::path::Path) -> Option<u64> {
    let stat = fs::read_to_string(proc_root.join("stat")).ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

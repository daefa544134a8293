//! Reading the evidence: small, named reads of the live /proc that the demos (lifecycle and
//! IPC) cite, each returning the raw value so the narration can show exactly what the kernel
//! said. Two kinds: reads through [`ProcFs`] that say why they failed (the lifecycle demos
//! show the error in place of the value), and plain reads that return None when the process or
//! the file is gone (the IPC demos report what is there).

use std::fs;

use crate::proc::ProcFs;
use crate::proc::scan::ReadError;
use crate::proc::signals::SigMask;
use crate::proc::stat::{self, Stat};

/// PF_FORKNOEXEC (include/linux/sched.h): forked but has not called exec.
pub(crate) const PF_FORKNOEXEC: u32 = 0x0000_0040;

/// /proc/PID/status as text.
pub(crate) fn status(fs: &ProcFs, pid: i32) -> Result<String, ReadError> {
    Ok(String::from_utf8_lossy(&fs.read(&format!("{pid}/status"))?).into_owned())
}

/// The value of one `Name:\tvalue` line of a status text.
pub(crate) fn field(status: &str, name: &str) -> Option<String> {
    status.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == name).then(|| v.trim().to_string())
    })
}

/// One status field of a live process, or a note saying why it is not there.
pub(crate) fn status_field(fs: &ProcFs, pid: i32, name: &str) -> String {
    match status(fs, pid) {
        Ok(s) => field(&s, name).unwrap_or_else(|| "(absent)".into()),
        Err(e) => format!("({e})"),
    }
}

/// /proc/PID/stat, parsed.
pub(crate) fn stat(fs: &ProcFs, pid: i32) -> Result<Stat, ReadError> {
    fs.stat(pid)
}

/// Where /proc/PID/exe points.
pub(crate) fn exe(pid: i32) -> String {
    match fs::read_link(format!("/proc/{pid}/exe")) {
        Ok(p) => p.display().to_string(),
        Err(e) => format!("({e})"),
    }
}

/// /proc/PID/comm without its newline.
pub(crate) fn comm(fs: &ProcFs, pid: i32) -> String {
    match fs.read(&format!("{pid}/comm")) {
        Ok(b) => String::from_utf8_lossy(&b)
            .trim_end_matches('\n')
            .to_string(),
        Err(e) => format!("({e})"),
    }
}

/// /proc/PID/cmdline with NULs shown as spaces ("" for zombies and kernel threads).
pub(crate) fn cmdline(fs: &ProcFs, pid: i32) -> String {
    match fs.cmdline(pid) {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => format!("({e})"),
    }
}

/// The one-letter state with its meaning, as proc(5) names it.
pub(crate) fn state_name(state: u8) -> &'static str {
    match state {
        b'R' => "running or runnable",
        b'S' => "sleeping, interruptible",
        b'D' => "uninterruptible (or killable) wait",
        b'Z' => "zombie: dead, not yet reaped",
        b'T' => "stopped",
        b't' => "stopped by a tracer",
        b'X' => "dead",
        b'I' => "idle kernel thread",
        _ => "?",
    }
}

/// Whether a process is gone: no /proc entry, or the PID now names a newer process.
pub(crate) fn gone(fs: &ProcFs, pid: i32, start_ticks: u64) -> bool {
    match fs.stat(pid) {
        Ok(s) => s.starttime != start_ticks,
        Err(_) => true,
    }
}

/// The physical page frame behind a virtual address of process `pid`, from
/// /proc/PID/pagemap: Some(0) when the kernel hides frames (without CAP_SYS_ADMIN), None
/// when the page is not present or the file cannot be read.
pub(crate) fn page_frame(pid: &str, addr: usize) -> Option<u64> {
    use std::os::unix::fs::FileExt;
    let page = crate::sys::mman::page_size();
    let f = fs::File::open(format!("/proc/{pid}/pagemap")).ok()?;
    let mut b = [0u8; 8];
    f.read_exact_at(&mut b, (addr / page * 8) as u64).ok()?;
    let entry = u64::from_ne_bytes(b);
    if entry & (1 << 63) == 0 {
        return None;
    }
    Some(entry & ((1 << 55) - 1))
}

/// The running kernel's release, e.g. "6.8.0-45-generic".
pub(crate) fn kernel_release() -> String {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// (major, minor) of a kernel release string.
pub(crate) fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Which of `names` the kernel's symbol table holds; None when it cannot be read.
pub(crate) fn kernel_symbols(names: &[&str]) -> Option<Vec<String>> {
    let text = std::fs::read_to_string("/proc/kallsyms").ok()?;
    if text.is_empty() {
        return None;
    }
    let mut found: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2))
        .filter(|s| names.contains(s))
        .map(str::to_string)
        .collect();
    found.sort();
    found.dedup();
    Some(found)
}

/// The fair scheduler this kernel runs, told by its code rather than its version (a distribution
/// kernel may carry a backport): EEVDF (Linux 6.6+) keeps the load-weighted average vruntime
/// that eligibility is measured against, `avg_vruntime()`, which CFS never had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FairScheduler {
    Eevdf,
    Cfs,
    /// /proc/kallsyms is unreadable or empty.
    Unknown,
}

/// The symbol whose presence tells EEVDF from CFS.
pub(crate) const EEVDF_SYMBOL: &str = "avg_vruntime";

pub(crate) fn fair_scheduler() -> FairScheduler {
    match kernel_symbols(&[EEVDF_SYMBOL]) {
        Some(found) if !found.is_empty() => FairScheduler::Eevdf,
        Some(_) => FairScheduler::Cfs,
        None => FairScheduler::Unknown,
    }
}

/// The PF_* task flags of include/linux/sched.h (Linux 6.x), so a student sees every bit named.
const PF_NAMES: &[(u32, &str)] = &[
    (0x0000_0001, "PF_VCPU"),
    (0x0000_0002, "PF_IDLE"),
    (0x0000_0004, "PF_EXITING"),
    (0x0000_0008, "PF_POSTCOREDUMP"),
    (0x0000_0010, "PF_IO_WORKER"),
    (0x0000_0020, "PF_WQ_WORKER"),
    (0x0000_0040, "PF_FORKNOEXEC"),
    (0x0000_0080, "PF_MCE_PROCESS"),
    (0x0000_0100, "PF_SUPERPRIV"),
    (0x0000_0200, "PF_DUMPCORE"),
    (0x0000_0400, "PF_SIGNALED"),
    (0x0000_0800, "PF_MEMALLOC"),
    (0x0000_1000, "PF_NPROC_EXCEEDED"),
    (0x0000_2000, "PF_USED_MATH"),
    (0x0000_4000, "PF_USER_WORKER"),
    (0x0000_8000, "PF_NOFREEZE"),
    (0x0002_0000, "PF_KSWAPD"),
    (0x0004_0000, "PF_MEMALLOC_NOFS"),
    (0x0008_0000, "PF_MEMALLOC_NOIO"),
    (0x0010_0000, "PF_LOCAL_THROTTLE"),
    (0x0020_0000, "PF_KTHREAD"),
    (0x0040_0000, "PF_RANDOMIZE"),
    (0x0400_0000, "PF_NO_SETAFFINITY"),
    (0x0800_0000, "PF_MCE_EARLY"),
    (0x1000_0000, "PF_MEMALLOC_PIN"),
    (0x2000_0000, "PF_BLOCK_TS"),
    (0x8000_0000, "PF_SUSPEND_TASK"),
];

/// "0x40804c (PF_EXITING|PF_POSTCOREDUMP|PF_FORKNOEXEC|PF_NOFREEZE|PF_RANDOMIZE)": the task
/// flags with every known bit named; bits this table does not know are left in the number.
pub(crate) fn flags_text(flags: u32) -> String {
    let names: Vec<&str> = PF_NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    if names.is_empty() {
        format!("{flags:#x}")
    } else {
        format!("{flags:#x} ({})", names.join("|"))
    }
}

/// The state letter from /proc/PID/stat (S, R, T, Z, ...), or None when it is gone.
pub(crate) fn state(pid: i32) -> Option<char> {
    let buf = fs::read(format!("/proc/{pid}/stat")).ok()?;
    stat::parse(&buf).map(|s| s.state as char)
}

/// A signal mask line of /proc/PID/status (SigPnd, ShdPnd, SigBlk, SigIgn, SigCgt).
pub(crate) fn sigmask(pid: i32, name: &str) -> Option<SigMask> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    SigMask::parse(&field(&status, name)?)
}

/// The kernel function a sleeping process waits in (/proc/PID/wchan).
pub(crate) fn wchan(pid: i32) -> Option<String> {
    let w = fs::read_to_string(format!("/proc/{pid}/wchan")).ok()?;
    let w = w.trim();
    (!w.is_empty() && w != "0").then(|| w.to_string())
}

/// Where descriptor `fd` of `pid` points (`pipe:[1234]`, a path, `/mq-name`).
pub(crate) fn fd_target(pid: i32, fd: i32) -> Option<String> {
    fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

/// The `flags:` of /proc/PID/fdinfo/FD as an access mode: "read-only", "write-only", ...
pub(crate) fn fd_access(pid: i32, fd: i32) -> Option<&'static str> {
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
pub(crate) fn maps_lines(pid: i32, needle: &str) -> Vec<String> {
    fs::read_to_string(format!("/proc/{pid}/maps"))
        .map(|m| {
            m.lines()
                .filter(|l| l.contains(needle))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect()
        })
        .unwrap_or_default()
}

/// What /proc/PID/syscall says a process is doing (Linux 2.6.27+, on architectures with
/// tracehook support such as x86_64 and arm64; reading it needs ptrace access).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InSyscall {
    /// Blocked in the system call with this number.
    Call(i64),
    /// Running in user space (or about to).
    Running,
    /// The file cannot be read (no ptrace access, or the process is gone).
    Unknown,
}

pub(crate) fn in_syscall(pid: i32) -> InSyscall {
    let Ok(s) = fs::read_to_string(format!("/proc/{pid}/syscall")) else {
        return InSyscall::Unknown;
    };
    match s.split_whitespace().next().map(str::parse::<i64>) {
        Some(Ok(nr)) if nr >= 0 => InSyscall::Call(nr),
        Some(_) => InSyscall::Running,
        None => InSyscall::Unknown,
    }
}

/// The name of a system call number the demos wait in.
pub(crate) fn syscall_name(nr: i64) -> String {
    match nr {
        libc::SYS_wait4 => "wait4".into(),
        libc::SYS_waitid => "waitid".into(),
        libc::SYS_read => "read".into(),
        libc::SYS_write => "write".into(),
        libc::SYS_openat => "openat".into(),
        #[cfg(target_arch = "x86_64")]
        libc::SYS_open => "open".into(),
        libc::SYS_semop => "semop".into(),
        libc::SYS_semtimedop => "semtimedop".into(),
        other => format!("system call {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_fields() {
        let s = "Name:\tsleep\nState:\tS (sleeping)\nPPid:\t41\nVmRSS:\t  1024 kB\n";
        assert_eq!(field(s, "PPid").as_deref(), Some("41"));
        assert_eq!(field(s, "VmRSS").as_deref(), Some("1024 kB"));
        assert_eq!(field(s, "Pid"), None);
    }

    #[test]
    fn versions_and_flags() {
        assert_eq!(kernel_version("6.18.44-fc"), Some((6, 18)));
        assert_eq!(kernel_version("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(kernel_version("x"), None);
        assert_eq!(
            flags_text(0x400044),
            "0x400044 (PF_EXITING|PF_FORKNOEXEC|PF_RANDOMIZE)"
        );
        assert_eq!(flags_text(0x10000), "0x10000");
        assert_eq!(flags_text(0x40_804c).matches("PF_").count(), 5);
    }

    #[test]
    fn own_page_is_present() {
        let x = Box::new([1u8; 64]);
        let addr = x.as_ptr() as usize;
        // Present; the frame number is 0 without CAP_SYS_ADMIN, real with it.
        assert!(page_frame("self", addr).is_some());
    }
}

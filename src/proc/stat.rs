//! Parser for one /proc/PID/stat line; shared by the scanner, the demos and the tests.
//!
//! The command name sits between the first `(` and the LAST `)`, and may itself hold spaces,
//! parentheses and newlines, so the fields are only split after that last `)`.

/// The fields of /proc/PID/stat that this tool uses (see proc(5) for the numbering).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Field 1.
    pub pid: i32,
    /// Field 2, raw bytes: names are not always UTF-8.
    pub comm: Vec<u8>,
    /// Field 3: R, S, D, Z, T, t, X, I, ...
    pub state: u8,
    /// Field 4.
    pub ppid: i32,
    /// Field 5.
    pub pgrp: i32,
    /// Field 6.
    pub session: i32,
    /// Field 9: the kernel's PF_* task flags.
    pub flags: u32,
    /// Field 14, clock ticks in user mode.
    pub utime: u64,
    /// Field 15, clock ticks in kernel mode.
    pub stime: u64,
    /// Field 18.
    pub priority: i64,
    /// Field 19.
    pub nice: i64,
    /// Field 20: threads in the thread group (above 1 on a `Zl` leader, which is not a zombie).
    pub num_threads: i64,
    /// Field 22, clock ticks after boot.
    pub starttime: u64,
    /// Field 39: CPU last run on.
    pub processor: i64,
    /// Field 40.
    pub rt_priority: u64,
    /// Field 41: SCHED_* policy number.
    pub policy: u64,
    /// Field 52: the wait(2) status of a dead task; 0 without ptrace read access (or older kernels).
    pub exit_code: Option<i32>,
}

/// PF_EXITING: set by do_exit() as the first step of a task's death.
pub const PF_EXITING: u32 = 0x0000_0004;
/// PF_KTHREAD: the task is a kernel thread.
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// Parses a stat line. Returns None when the line is malformed (it never panics).
pub fn parse(buf: &[u8]) -> Option<Stat> {
    let open = buf.iter().position(|&b| b == b'(')?;
    let close = buf.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let pid = parse_num(trim(&buf[..open]))?;
    let comm = buf[open + 1..close].to_vec();
    let rest = buf.get(close + 1..)?;
    let mut f = rest
        .split(|&b| b == b' ' || b == b'\n')
        .filter(|s| !s.is_empty());
    // `f` now starts at field 3; `nth(k)` skips k fields.
    let state = *f.next()?.first()?;
    let ppid = parse_num(f.next()?)?;
    let pgrp = parse_num(f.next()?)?;
    let session = parse_num(f.next()?)?;
    let flags = parse_num(f.nth(2)?)?; // skip tty_nr, tpgid -> field 9
    let utime = parse_num(f.nth(4)?)?; // skip minflt..cmajflt -> field 14
    let stime = parse_num(f.next()?)?;
    let priority = parse_num(f.nth(2)?)?; // skip cutime, cstime -> field 18
    let nice = parse_num(f.next()?)?;
    let num_threads = parse_num(f.next()?)?;
    let starttime = parse_num(f.nth(1)?)?; // skip itrealvalue -> field 22
    // Fields 39-41 exist on every kernel this tool supports; 52 since Linux 3.5.
    let processor = f.nth(16).and_then(parse_num).unwrap_or(0);
    let rt_priority = f.next().and_then(parse_num).unwrap_or(0);
    let policy = f.next().and_then(parse_num).unwrap_or(0);
    let exit_code = f.nth(10).and_then(parse_num);
    Some(Stat {
        pid,
        comm,
        state,
        ppid,
        pgrp,
        session,
        flags,
        utime,
        stime,
        priority,
        nice,
        num_threads,
        starttime,
        processor,
        rt_priority,
        policy,
        exit_code,
    })
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

fn parse_num<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// How a process ended, decoded from a wait(2) status (stat field 52).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// exit(code) or return from main.
    Code(i32),
    /// Killed by this signal number; `core` when it dumped core.
    Signal { signal: i32, core: bool },
}

impl ExitStatus {
    /// Decodes a raw wait status the way WIFEXITED/WTERMSIG do.
    pub fn from_wait_status(raw: i32) -> ExitStatus {
        let sig = raw & 0x7f;
        if sig == 0 {
            ExitStatus::Code((raw >> 8) & 0xff)
        } else {
            ExitStatus::Signal {
                signal: sig,
                core: raw & 0x80 != 0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLEEP: &[u8] = b"4242 (sleep) S 4200 4242 4200 34816 4242 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 8192 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";

    #[test]
    fn parses_plain_line() {
        let s = parse(SLEEP).unwrap();
        assert_eq!(s.pid, 4242);
        assert_eq!(s.comm, b"sleep");
        assert_eq!(s.state, b'S');
        assert_eq!(s.ppid, 4200);
        assert_eq!(s.session, 4200);
        assert_eq!(s.flags, 4194560);
        assert_eq!((s.utime, s.stime), (1, 2));
        assert_eq!((s.priority, s.nice, s.num_threads), (20, 0, 1));
        assert_eq!(s.starttime, 123456);
        assert_eq!(s.processor, 1);
        assert_eq!(s.exit_code, Some(0));
    }

    #[test]
    fn name_with_parens_spaces_and_newline() {
        let line = b"77 (a) Z (b\nc ) ) Z 5 77 5 0 -1 4194564 0 0 0 0 0 0 0 0 20 0 1 0 999 0 0 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 768\n";
        let s = parse(line).unwrap();
        assert_eq!(s.comm, b"a) Z (b\nc ) ");
        assert_eq!(s.state, b'Z');
        assert_eq!(s.ppid, 5);
        assert_eq!(s.flags & PF_EXITING, PF_EXITING);
        assert_eq!(s.exit_code, Some(768));
        assert_eq!(ExitStatus::from_wait_status(768), ExitStatus::Code(3));
    }

    #[test]
    fn non_utf8_name() {
        let mut line = b"9 (\xff\xfe) S 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5".to_vec();
        line.push(b'\n');
        let s = parse(&line).unwrap();
        assert_eq!(s.comm, b"\xff\xfe");
        // An old kernel's short line has no fields 39-52: they default instead of failing.
        assert_eq!(s.exit_code, None);
    }

    #[test]
    fn garbage_is_none_not_panic() {
        for bad in [
            &b""[..],
            b"(",
            b")(",
            b"12 (x)",
            b"12 (x) Z",
            b"x (y) S 1 2 3",
            b"\xff\xff\xff",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn decodes_signals() {
        assert_eq!(
            ExitStatus::from_wait_status(9),
            ExitStatus::Signal {
                signal: 9,
                core: false
            }
        );
        assert_eq!(
            ExitStatus::from_wait_status(0x80 | 11),
            ExitStatus::Signal {
                signal: 11,
                core: true
            }
        );
        assert_eq!(ExitStatus::from_wait_status(0), ExitStatus::Code(0));
    }
}

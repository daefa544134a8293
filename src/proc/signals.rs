//! Signal masks as /proc/PID/status prints them (SigPnd, SigBlk, SigIgn, SigCgt: hex, bit N-1
//! for signal N).

use serde::Serialize;

/// A 64-bit signal set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SigMask(pub u64);

impl SigMask {
    /// Parses the hex digits of a status line value; None on anything else.
    pub fn parse(hex: &str) -> Option<SigMask> {
        u64::from_str_radix(hex.trim(), 16).ok().map(SigMask)
    }

    /// Whether signal number `sig` (1-64) is in the set.
    pub fn has(self, sig: i32) -> bool {
        (1..=64).contains(&sig) && self.0 & (1u64 << (sig - 1)) != 0
    }

    /// The mask as status prints it: 16 hex digits.
    pub fn hex(self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Names a signal number ("SIGCHLD"), or "signal N" for real-time and unknown ones.
pub fn name(sig: i32) -> String {
    nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigchld_bit() {
        // SIGCHLD is 17: bit 16, 0x10000.
        let m = SigMask::parse("0000000000010000").unwrap();
        assert!(m.has(libc::SIGCHLD));
        assert!(!m.has(libc::SIGTERM));
        assert!(!m.has(0) && !m.has(65));
        assert!(SigMask::parse("zz").is_none());
        assert_eq!(SigMask(0x4002).hex(), "0000000000004002");
        assert!(SigMask(0x4002).has(2) && SigMask(0x4002).has(15));
    }

    #[test]
    fn names() {
        assert_eq!(name(17), "SIGCHLD");
        assert_eq!(name(9), "SIGKILL");
        assert_eq!(name(40), "signal 40");
    }
}

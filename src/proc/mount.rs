//! The mount options of the procfs being read, and whether they hide processes from us.
//!
//! `hidepid=` (proc(5)) lets a user see only processes they may ptrace: with `noaccess` (1)
//! the others' /proc/PID directories are listed but unreadable, with `invisible` (2) they are
//! not even listed, with `ptraceable` (4, since Linux 5.8) only ptrace-able ones are listed.
//! Members of the mount's `gid=` group (root's group 0 by default) are exempt from 1 and 2, and
//! so is a process with CAP_SYS_PTRACE (fs/proc/base.c, has_pid_permissions). A scan that
//! cannot see other users' processes cannot count their zombies, so it must know.
//!
//! The options are read from /proc/self/mountinfo, matching the device of the directory we
//! read: each procfs mount has its own (since 5.8, one superblock per mount; before, one per
//! PID namespace, whose options then apply to every mount of it, which the match also gives).

use serde::Serialize;

/// The `hidepid=` mode of a procfs mount. Names since Linux 5.8, numbers before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HidePid {
    /// 0, `off`: everyone sees every process.
    Off,
    /// 1, `noaccess`: other users' /proc/PID are listed but cannot be read.
    NoAccess,
    /// 2, `invisible`: other users' /proc/PID are not listed at all.
    Invisible,
    /// 4, `ptraceable`: only processes the reader may ptrace are listed; gid= does not help.
    Ptraceable,
    /// A value this version does not know: assumed to hide.
    Other(String),
}

impl HidePid {
    fn parse(v: &str) -> HidePid {
        match v {
            "0" | "off" => HidePid::Off,
            "1" | "noaccess" => HidePid::NoAccess,
            "2" | "invisible" => HidePid::Invisible,
            "4" | "ptraceable" => HidePid::Ptraceable,
            other => HidePid::Other(other.to_string()),
        }
    }

    /// The option value as a 5.8+ kernel prints it.
    pub fn as_str(&self) -> &str {
        match self {
            HidePid::Off => "off",
            HidePid::NoAccess => "noaccess",
            HidePid::Invisible => "invisible",
            HidePid::Ptraceable => "ptraceable",
            HidePid::Other(s) => s,
        }
    }
}

/// What the mount options of a procfs say about visibility.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProcMount {
    /// Where it is mounted, as mountinfo shows it (relative to our root).
    pub mount_point: String,
    pub hidepid: HidePid,
    /// The group exempt from hidepid (0, root's group, when the option is absent).
    pub gid: u32,
    /// `subset=pid` (since 5.8): only the process directories, no /proc/sys, stat or loadavg.
    pub subset_pid: bool,
}

/// Who is reading: what decides what hidepid hides from us.
#[derive(Clone, Debug, Default)]
pub struct Viewer {
    pub uid: u32,
    /// The effective gid and every supplementary group (the kernel's in_group_p).
    pub groups: Vec<u32>,
    /// CAP_SYS_PTRACE in the effective set: may ptrace-read any process, sees them all.
    pub sys_ptrace: bool,
}

impl Viewer {
    /// This process, with its effective capabilities from a `status` file (CapEff).
    pub fn current(status: Option<&[u8]>) -> Viewer {
        let mut groups = nix::unistd::getgroups()
            .map(|g| g.into_iter().map(|g| g.as_raw()).collect::<Vec<_>>())
            .unwrap_or_default();
        groups.push(nix::unistd::getegid().as_raw());
        let uid = nix::unistd::geteuid().as_raw();
        let sys_ptrace = match status.and_then(cap_eff) {
            Some(caps) => caps & (1 << CAP_SYS_PTRACE) != 0,
            // No status to read: root is the best guess for "has every capability".
            None => uid == 0,
        };
        Viewer {
            uid,
            groups,
            sys_ptrace,
        }
    }
}

/// linux/capability.h.
const CAP_SYS_PTRACE: u32 = 19;

/// The CapEff mask of a status file.
fn cap_eff(status: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(status).ok()?;
    let v = text.lines().find_map(|l| l.strip_prefix("CapEff:"))?;
    u64::from_str_radix(v.trim(), 16).ok()
}

/// Whether the mount hides some processes from `viewer`.
pub fn hides_from(mount: &ProcMount, viewer: &Viewer) -> bool {
    match &mount.hidepid {
        HidePid::Off => false,
        HidePid::NoAccess | HidePid::Invisible => {
            !viewer.sys_ptrace && !viewer.groups.contains(&mount.gid)
        }
        HidePid::Ptraceable | HidePid::Other(_) => !viewer.sys_ptrace,
    }
}

/// The procfs mounted with device `major:minor` in a mountinfo text; the last one listed when
/// mounts are stacked on one another (the top one is what a path reaches). None when that
/// device is not a procfs.
pub fn find(mountinfo: &str, major: u64, minor: u64) -> Option<ProcMount> {
    let dev = format!("{major}:{minor}");
    mountinfo.lines().rev().find_map(|line| {
        // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
        let (before, after) = line.split_once(" - ")?;
        let f: Vec<&str> = before.split(' ').collect();
        let a: Vec<&str> = after.split(' ').collect();
        if f.get(2) != Some(&dev.as_str()) || a.first() != Some(&"proc") {
            return None;
        }
        let mut m = ProcMount {
            mount_point: unescape(f.get(4)?),
            hidepid: HidePid::Off,
            gid: 0,
            subset_pid: false,
        };
        for opt in a.get(2).copied().unwrap_or("").split(',') {
            match opt.split_once('=') {
                Some(("hidepid", v)) => m.hidepid = HidePid::parse(v),
                Some(("gid", v)) => m.gid = v.parse().unwrap_or(0),
                Some(("subset", "pid")) => m.subset_pid = true,
                _ => {}
            }
        }
        Some(m)
    })
}

/// mountinfo writes space, tab, newline and backslash in paths as octal escapes (`\040`).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            out.push(v as u8);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "22 27 0:21 / /proc rw,relatime - proc proc rw\n\
        30 22 0:31 / /proc/sys/fs/binfmt_misc rw,relatime - autofs systemd-1 rw\n\
        85 65 0:40 / /tmp/my\\040proc rw,relatime - proc proc rw,gid=1234,hidepid=invisible\n\
        86 85 0:41 / /tmp/my\\040proc rw,relatime shared:5 - proc proc rw,hidepid=2,subset=pid\n\
        87 65 0:42 / /old rw - proc proc rw,hidepid=1\n";

    #[test]
    fn finds_the_mount_by_device_and_reads_its_options() {
        let m = find(INFO, 0, 40).unwrap();
        assert_eq!(m.mount_point, "/tmp/my proc");
        assert_eq!(
            (m.hidepid.clone(), m.gid, m.subset_pid),
            (HidePid::Invisible, 1234, false)
        );
        // Optional fields before the separator, and numbers as kernels before 5.8 print them.
        let m = find(INFO, 0, 41).unwrap();
        assert_eq!(
            (m.hidepid.clone(), m.gid, m.subset_pid),
            (HidePid::Invisible, 0, true)
        );
        assert_eq!(find(INFO, 0, 42).unwrap().hidepid, HidePid::NoAccess);
        assert_eq!(find(INFO, 0, 21).unwrap().hidepid, HidePid::Off);
        assert_eq!(find(INFO, 0, 31), None, "not a procfs");
        assert_eq!(find(INFO, 8, 1), None, "no such device");
        assert_eq!(find("garbage\n\n - \\", 0, 21), None);
    }

    #[test]
    fn who_is_hidden_from_whom() {
        let mount = |h: HidePid| ProcMount {
            mount_point: "/proc".into(),
            hidepid: h,
            gid: 1234,
            subset_pid: false,
        };
        let nobody = Viewer {
            uid: 65534,
            groups: vec![65534],
            sys_ptrace: false,
        };
        let member = Viewer {
            groups: vec![65534, 1234],
            ..nobody.clone()
        };
        let root = Viewer {
            uid: 0,
            groups: vec![0],
            sys_ptrace: true,
        };
        assert!(!hides_from(&mount(HidePid::Off), &nobody));
        for h in [HidePid::NoAccess, HidePid::Invisible] {
            assert!(hides_from(&mount(h.clone()), &nobody));
            assert!(!hides_from(&mount(h.clone()), &member));
            assert!(!hides_from(&mount(h), &root));
        }
        // gid= does not open a ptraceable mount.
        assert!(hides_from(&mount(HidePid::Ptraceable), &member));
        assert!(!hides_from(&mount(HidePid::Ptraceable), &root));
        assert!(hides_from(&mount(HidePid::Other("9".into())), &member));
    }

    #[test]
    fn capabilities_from_status() {
        assert_eq!(
            cap_eff(b"Name:\tx\nCapEff:\t000001ffffffffff\n"),
            Some(0x1ff_ffff_ffff)
        );
        let v = Viewer::current(Some(b"CapEff:\t0000000000080000\n"));
        assert!(v.sys_ptrace);
        let v = Viewer::current(Some(b"CapEff:\t0000000000000000\n"));
        assert!(!v.sys_ptrace);
    }
}

//! Parses /proc/sysvipc/{msg,sem,shm}: the kernel's own table of System V objects. Columns
//! are found by the header's names, keys are signed decimal, permissions are octal (SHM_DEST,
//! 01000, marks a segment removed while still attached) and uids are full 32-bit numbers.
//! (procfs 0.18 reads only shm, takes perms as decimal and rejects uids above 65535.)

use std::collections::HashMap;
use std::io;
use std::path::Path;

use serde::Serialize;

/// SHM_DEST in the perms column: IPC_RMID was called; the segment dies with its last detach.
pub(crate) const SHM_DEST: u32 = 0o1000;

/// One row of /proc/sysvipc/msg.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct MsgRow {
    pub key: i32,
    pub id: i32,
    pub perms: u32,
    pub cbytes: u64,
    pub qnum: u64,
    pub lspid: i32,
    pub lrpid: i32,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub stime: i64,
    pub rtime: i64,
    pub ctime: i64,
}

/// One row of /proc/sysvipc/sem.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct SemRow {
    pub key: i32,
    pub id: i32,
    pub perms: u32,
    pub nsems: u64,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub otime: i64,
    pub ctime: i64,
}

/// One row of /proc/sysvipc/shm.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct ShmRow {
    pub key: i32,
    pub id: i32,
    pub perms: u32,
    pub size: u64,
    pub cpid: i32,
    pub lpid: i32,
    pub nattch: u64,
    pub uid: u32,
    pub gid: u32,
    pub cuid: u32,
    pub cgid: u32,
    pub atime: i64,
    pub dtime: i64,
    pub ctime: i64,
}

/// A header-indexed row.
struct Row<'a>(HashMap<&'a str, &'a str>);

impl Row<'_> {
    fn num<T: std::str::FromStr + Default>(&self, name: &str) -> T {
        self.0
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_default()
    }
    fn octal(&self, name: &str) -> u32 {
        self.0
            .get(name)
            .and_then(|v| u32::from_str_radix(v, 8).ok())
            .unwrap_or_default()
    }
    /// The key: signed decimal; also accepts the unsigned form of a negative key.
    fn key(&self) -> i32 {
        let Some(v) = self.0.get("key") else { return 0 };
        v.parse::<i64>().map(|k| k as i32).unwrap_or_default()
    }
}

/// Splits a sysvipc file into header-indexed rows; rows without `id_col` are skipped.
fn rows<'a>(text: &'a str, id_col: &str) -> Vec<Row<'a>> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let names: Vec<&str> = header.split_whitespace().collect();
    lines
        .filter_map(|l| {
            let row: HashMap<&str, &str> =
                names.iter().copied().zip(l.split_whitespace()).collect();
            row.get(id_col)
                .is_some_and(|v| v.parse::<i64>().is_ok())
                .then_some(Row(row))
        })
        .collect()
}

pub(crate) fn parse_msg(text: &str) -> Vec<MsgRow> {
    rows(text, "msqid")
        .iter()
        .map(|r| MsgRow {
            key: r.key(),
            id: r.num("msqid"),
            perms: r.octal("perms"),
            cbytes: r.num("cbytes"),
            qnum: r.num("qnum"),
            lspid: r.num("lspid"),
            lrpid: r.num("lrpid"),
            uid: r.num("uid"),
            gid: r.num("gid"),
            cuid: r.num("cuid"),
            cgid: r.num("cgid"),
            stime: r.num("stime"),
            rtime: r.num("rtime"),
            ctime: r.num("ctime"),
        })
        .collect()
}

pub(crate) fn parse_sem(text: &str) -> Vec<SemRow> {
    rows(text, "semid")
        .iter()
        .map(|r| SemRow {
            key: r.key(),
            id: r.num("semid"),
            perms: r.octal("perms"),
            nsems: r.num("nsems"),
            uid: r.num("uid"),
            gid: r.num("gid"),
            cuid: r.num("cuid"),
            cgid: r.num("cgid"),
            otime: r.num("otime"),
            ctime: r.num("ctime"),
        })
        .collect()
}

pub(crate) fn parse_shm(text: &str) -> Vec<ShmRow> {
    rows(text, "shmid")
        .iter()
        .map(|r| ShmRow {
            key: r.key(),
            id: r.num("shmid"),
            perms: r.octal("perms"),
            size: r.num("size"),
            cpid: r.num("cpid"),
            lpid: r.num("lpid"),
            nattch: r.num("nattch"),
            uid: r.num("uid"),
            gid: r.num("gid"),
            cuid: r.num("cuid"),
            cgid: r.num("cgid"),
            atime: r.num("atime"),
            dtime: r.num("dtime"),
            ctime: r.num("ctime"),
        })
        .collect()
}

fn read(proc_root: &Path, name: &str) -> io::Result<String> {
    std::fs::read_to_string(proc_root.join("sysvipc").join(name))
}

pub(crate) fn read_msg(proc_root: &Path) -> io::Result<Vec<MsgRow>> {
    read(proc_root, "msg").map(|t| parse_msg(&t))
}

pub(crate) fn read_sem(proc_root: &Path) -> io::Result<Vec<SemRow>> {
    read(proc_root, "sem").map(|t| parse_sem(&t))
}

pub(crate) fn read_shm(proc_root: &Path) -> io::Result<Vec<ShmRow>> {
    read(proc_root, "shm").map(|t| parse_shm(&t))
}

/// The live row of message queue `id` in /proc.
pub(crate) fn msg_row(id: i32) -> Option<MsgRow> {
    read_msg(Path::new("/proc"))
        .ok()?
        .into_iter()
        .find(|r| r.id == id)
}

/// The live row of semaphore set `id` in /proc.
pub(crate) fn sem_row(id: i32) -> Option<SemRow> {
    read_sem(Path::new("/proc"))
        .ok()?
        .into_iter()
        .find(|r| r.id == id)
}

/// The live row of segment `id` in /proc.
pub(crate) fn shm_row(id: i32) -> Option<ShmRow> {
    read_shm(Path::new("/proc"))
        .ok()?
        .into_iter()
        .find(|r| r.id == id)
}

/// Permission bits as `ls` shows them: 0640 -> "rw-r-----".
pub(crate) fn rwx(perms: u32) -> String {
    let mut s = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let b = (perms >> shift) & 7;
        s.push(if b & 4 != 0 { 'r' } else { '-' });
        s.push(if b & 2 != 0 { 'w' } else { '-' });
        s.push(if b & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Formats a key as ipcs does: 0x%08x.
pub fn key_hex(key: libc::key_t) -> String {
    format!("0x{:08x}", key as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid      stime      rtime      ctime
2046829377          3   600          45          3  4242     0 100000 100000     0     0 1700000000          0 1699999999
";
    const SEM: &str =
        "       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime
-1394283775          7   666          1  1000  1000  1000  1000          0 1700000000
";
    const SHM: &str = "       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  cgid      atime      dtime      ctime                   rss                  swap
         0          9  1600                  4096 13468 13470      1     0     0     0     0 1795554812          0 1795554812                     0                     0
";

    #[test]
    fn msg_row_with_big_uid() {
        let r = &parse_msg(MSG)[0];
        assert_eq!(r.key, 2046829377);
        assert_eq!(r.id, 3);
        assert_eq!(r.perms, 0o600);
        assert_eq!((r.cbytes, r.qnum, r.lspid, r.lrpid), (45, 3, 4242, 0));
        assert_eq!(r.uid, 100000);
        assert_eq!(r.stime, 1700000000);
    }

    #[test]
    fn sem_negative_key() {
        let r = &parse_sem(SEM)[0];
        assert_eq!(r.key, -1394283775);
        assert_eq!(r.perms, 0o666);
        assert_eq!(r.nsems, 1);
    }

    #[test]
    fn shm_dest_flag() {
        let r = &parse_shm(SHM)[0];
        assert_eq!(r.perms & SHM_DEST, SHM_DEST);
        assert_eq!(r.perms & 0o777, 0o600);
        assert_eq!((r.cpid, r.lpid, r.nattch), (13468, 13470, 1));
    }

    #[test]
    fn header_only_and_garbage() {
        assert!(parse_msg(MSG.lines().next().unwrap()).is_empty());
        assert!(parse_shm("").is_empty());
        assert!(parse_sem("key semid\nnot numbers\n").is_empty());
    }

    #[test]
    fn rwx_bits() {
        assert_eq!(rwx(0o640), "rw-r-----");
        assert_eq!(rwx(0o1600 & 0o777), "rw-------");
    }
}

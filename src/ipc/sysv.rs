//! Thin RAII wrappers over System V IPC (libc's msgget, semget, shmget and friends; nix has
//! none). A System V object outlives every process until it is removed or the machine reboots,
//! so each one the demos create is owned by a guard whose Drop removes it; the explicit
//! `remove` lets a demo narrate the removal and see its error.
//!
//! Guards remember the PID that created them and do nothing in a forked child, where a copy of
//! the guard would otherwise remove the object from under the parent.

use std::io;
use std::marker::PhantomData;

use nix::errno::Errno;

/// `union semun` from semctl(2): glibc leaves it to the caller to define.
#[repr(C)]
#[derive(Clone, Copy)]
pub union Semun {
    pub val: libc::c_int,
    pub buf: *mut libc::semid_ds,
    pub array: *mut libc::c_ushort,
}

fn check(r: libc::c_int) -> Result<libc::c_int, Errno> {
    if r == -1 { Err(Errno::last()) } else { Ok(r) }
}

/// A key no other process uses: the demo's kind (a nibble), its PID and a retry counter, so
/// `IPC_CREAT|IPC_EXCL` finds a free one quickly. Printed in hex, it is the `/SYSVxxxxxxxx` of
/// /proc/PID/maps.
pub fn demo_key(kind: u8, attempt: u32) -> libc::key_t {
    let pid = std::process::id() & 0xf_ffff;
    let k = 0x7a00_0000u32
        | ((pid.wrapping_add(attempt.wrapping_mul(0x1_0000)) & 0xf_ffff) << 4)
        | u32::from(kind & 0xf);
    k as libc::key_t
}

/// Formats a key as ipcs does: 0x%08x.
pub fn key_hex(key: libc::key_t) -> String {
    format!("0x{:08x}", key as u32)
}

// ---------------------------------------------------------------- the objects

/// What tells the three kinds of System V object apart where their guards are concerned.
pub trait Kind {
    /// The nibble [`demo_key`] puts in the key.
    const KEY_KIND: u8;
    /// The `*ctl(id, IPC_RMID)` call of this kind.
    fn rmid(id: libc::c_int) -> libc::c_int;
}

/// A System V object this process created, removed (IPC_RMID) on Drop.
pub struct SysvObject<K: Kind> {
    pub id: libc::c_int,
    pub key: libc::key_t,
    owner: u32,
    removed: bool,
    kind: PhantomData<K>,
}

impl<K: Kind> SysvObject<K> {
    /// Runs `get` (a *get call with IPC_CREAT|IPC_EXCL) with fresh demo keys until one is
    /// free.
    fn with_fresh_key(mut get: impl FnMut(libc::key_t) -> libc::c_int) -> Result<Self, Errno> {
        let mut attempt = 0;
        let (key, id) = loop {
            let key = demo_key(K::KEY_KIND, attempt);
            match check(get(key)) {
                Err(Errno::EEXIST) if attempt < 64 => attempt += 1,
                Err(e) => return Err(e),
                Ok(id) => break (key, id),
            }
        };
        Ok(SysvObject {
            id,
            key,
            owner: std::process::id(),
            removed: false,
            kind: PhantomData,
        })
    }

    /// IPC_RMID (a segment goes once the last process detaches).
    pub fn remove(&mut self) -> Result<(), Errno> {
        if self.removed {
            return Ok(());
        }
        check(K::rmid(self.id))?;
        self.removed = true;
        Ok(())
    }
}

impl<K: Kind> Drop for SysvObject<K> {
    fn drop(&mut self) {
        if self.owner == std::process::id() {
            let _ = self.remove();
        }
    }
}

// ---------------------------------------------------------------- message queues

/// Message queues: msgget, msgctl.
pub enum Msg {}

impl Kind for Msg {
    const KEY_KIND: u8 = 1;
    fn rmid(id: libc::c_int) -> libc::c_int {
        // SAFETY: IPC_RMID takes no buffer.
        unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) }
    }
}

/// A System V message queue, removed on Drop.
pub type MsgQueue = SysvObject<Msg>;

/// The largest message text the demos send.
pub const MSG_MAX: usize = 256;

#[repr(C)]
struct MsgBuf {
    mtype: libc::c_long,
    mtext: [u8; MSG_MAX],
}

impl MsgQueue {
    /// msgget(key, IPC_CREAT|IPC_EXCL|mode) with a fresh demo key.
    pub fn create(mode: libc::c_int) -> Result<MsgQueue, Errno> {
        // SAFETY: plain system call.
        SysvObject::with_fresh_key(|key| unsafe {
            libc::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | mode)
        })
    }
}

/// msgsnd: a message of type `mtype` (> 0).
pub fn msg_send(id: libc::c_int, mtype: i64, text: &[u8], flags: libc::c_int) -> Result<(), Errno> {
    let mut buf = MsgBuf {
        mtype: mtype as libc::c_long,
        mtext: [0; MSG_MAX],
    };
    let n = text.len().min(MSG_MAX);
    buf.mtext[..n].copy_from_slice(&text[..n]);
    // SAFETY: buf is a valid msgbuf with n bytes of text.
    check(unsafe { libc::msgsnd(id, (&raw const buf).cast(), n, flags) }).map(drop)
}

/// msgrcv selecting by `mtype` (0: the first; > 0: the first of that type; < 0: the lowest
/// type up to |mtype|). Returns the type and the text.
pub fn msg_recv(id: libc::c_int, mtype: i64, flags: libc::c_int) -> Result<(i64, Vec<u8>), Errno> {
    let mut buf = MsgBuf {
        mtype: 0,
        mtext: [0; MSG_MAX],
    };
    // SAFETY: buf has room for MSG_MAX bytes of text.
    let n = unsafe {
        libc::msgrcv(
            id,
            (&raw mut buf).cast(),
            MSG_MAX,
            mtype as libc::c_long,
            flags,
        )
    };
    if n < 0 {
        return Err(Errno::last());
    }
    #[allow(clippy::unnecessary_cast)] // c_long is i32 on 32-bit targets
    Ok((buf.mtype as i64, buf.mtext[..n as usize].to_vec()))
}

/// Changes the permission bits of a queue (msgctl IPC_STAT then IPC_SET).
pub fn msg_set_mode(id: libc::c_int, mode: u16) -> Result<(), Errno> {
    // SAFETY: msqid_ds is plain data; IPC_STAT fills it.
    unsafe {
        let mut ds: libc::msqid_ds = std::mem::zeroed();
        check(libc::msgctl(id, libc::IPC_STAT, &mut ds))?;
        ds.msg_perm.mode = mode;
        check(libc::msgctl(id, libc::IPC_SET, &mut ds)).map(drop)
    }
}

// ---------------------------------------------------------------- semaphores

/// Semaphore sets: semget, semctl.
pub enum Sem {}

impl Kind for Sem {
    const KEY_KIND: u8 = 2;
    fn rmid(id: libc::c_int) -> libc::c_int {
        // SAFETY: IPC_RMID ignores the fourth argument.
        unsafe { libc::semctl(id, 0, libc::IPC_RMID, Semun { val: 0 }) }
    }
}

/// A System V semaphore set, removed on Drop.
pub type SemSet = SysvObject<Sem>;

impl SemSet {
    /// semget(key, nsems, IPC_CREAT|IPC_EXCL|mode) with a fresh demo key.
    pub fn create(nsems: libc::c_int, mode: libc::c_int) -> Result<SemSet, Errno> {
        // SAFETY: plain system call.
        SysvObject::with_fresh_key(|key| unsafe {
            libc::semget(key, nsems, libc::IPC_CREAT | libc::IPC_EXCL | mode)
        })
    }
}

/// semctl(SETVAL).
pub fn sem_setval(id: libc::c_int, num: libc::c_int, val: libc::c_int) -> Result<(), Errno> {
    // SAFETY: SETVAL reads the `val` member.
    check(unsafe { libc::semctl(id, num, libc::SETVAL, Semun { val }) }).map(drop)
}

/// semctl with a query command that returns its answer: GETVAL, GETPID, GETNCNT, GETZCNT.
pub fn sem_get(id: libc::c_int, num: libc::c_int, cmd: libc::c_int) -> Result<libc::c_int, Errno> {
    // SAFETY: these commands ignore the fourth argument.
    check(unsafe { libc::semctl(id, num, cmd, Semun { val: 0 }) })
}

/// semop with one operation.
pub fn sem_op(id: libc::c_int, num: u16, delta: i16, flags: libc::c_int) -> Result<(), Errno> {
    let mut op = libc::sembuf {
        sem_num: num,
        sem_op: delta,
        sem_flg: flags as libc::c_short,
    };
    loop {
        // SAFETY: one valid sembuf.
        match check(unsafe { libc::semop(id, &mut op, 1) }) {
            Err(Errno::EINTR) => continue,
            r => return r.map(drop),
        }
    }
}

// ---------------------------------------------------------------- shared memory

/// Shared memory segments: shmget, shmctl.
pub enum Shm {}

impl Kind for Shm {
    const KEY_KIND: u8 = 3;
    fn rmid(id: libc::c_int) -> libc::c_int {
        // SAFETY: IPC_RMID takes no buffer.
        unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) }
    }
}

/// A System V shared memory segment, removed (IPC_RMID) on Drop: it goes once the last
/// process detaches.
pub type ShmSegment = SysvObject<Shm>;

impl ShmSegment {
    /// shmget(key, size, IPC_CREAT|IPC_EXCL|mode) with a fresh demo key.
    pub fn create(size: usize, mode: libc::c_int) -> Result<ShmSegment, Errno> {
        // SAFETY: plain system call.
        SysvObject::with_fresh_key(|key| unsafe {
            libc::shmget(key, size, libc::IPC_CREAT | libc::IPC_EXCL | mode)
        })
    }
}

/// A segment attached to this process (shmat), detached on Drop.
pub struct ShmAttach {
    addr: *mut libc::c_void,
    len: usize,
    owner: u32,
}

impl ShmAttach {
    /// shmat(id, NULL, 0).
    pub fn attach(id: libc::c_int, len: usize) -> Result<ShmAttach, Errno> {
        // SAFETY: the kernel picks the address.
        let addr = unsafe { libc::shmat(id, std::ptr::null(), 0) };
        if addr as isize == -1 {
            return Err(Errno::last());
        }
        Ok(ShmAttach {
            addr,
            len,
            owner: std::process::id(),
        })
    }

    pub fn addr(&self) -> usize {
        self.addr as usize
    }

    /// Copies `data` to the start of the segment (and a terminating NUL).
    pub fn write(&self, data: &[u8]) {
        let n = data.len().min(self.len.saturating_sub(1));
        // SAFETY: the mapping is len bytes long and writable.
        unsafe {
            std::ptr::copy_nonoverlapping(data.as_ptr(), self.addr.cast::<u8>(), n);
            *self.addr.cast::<u8>().add(n) = 0;
        }
    }

    /// Reads the NUL-terminated text at the start of the segment.
    pub fn read(&self) -> String {
        // SAFETY: the mapping is len bytes long and readable.
        let bytes = unsafe { std::slice::from_raw_parts(self.addr.cast::<u8>(), self.len) };
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        String::from_utf8_lossy(&bytes[..end]).into_owned()
    }

    /// shmdt now.
    pub fn detach(mut self) -> Result<(), Errno> {
        let addr = std::mem::replace(&mut self.addr, std::ptr::null_mut());
        // SAFETY: addr came from shmat and nothing refers into it any more.
        check(unsafe { libc::shmdt(addr) }).map(drop)
    }
}

impl Drop for ShmAttach {
    fn drop(&mut self) {
        if !self.addr.is_null() && self.owner == std::process::id() {
            // SAFETY: as in detach.
            unsafe { libc::shmdt(self.addr) };
        }
    }
}

/// An io::Error for an errno, for `?` into anyhow with context.
pub fn io_err(e: Errno) -> io::Error {
    io::Error::from(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_distinct_per_kind_and_attempt() {
        assert_ne!(demo_key(1, 0), demo_key(2, 0));
        assert_ne!(demo_key(1, 0), demo_key(1, 1));
        assert!(key_hex(demo_key(3, 0)).starts_with("0x7a"));
        assert_eq!(key_hex(-1), "0xffffffff");
    }
}

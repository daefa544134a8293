//! System V IPC calls (msgget, semget, shmget and friends): libc has them, nix and rustix do
//! not. Each function is safe: it passes only buffers it owns, and the semctl commands it
//! can send are the ones that read no buffer. System V IPC exists since Linux 1.0 (CONFIG_SYSVIPC;
//! a kernel built without it fails every call with ENOSYS).
#![allow(unsafe_code)]

use std::sync::atomic::AtomicU8;

use nix::errno::Errno;

/// `union semun` from semctl(2): glibc leaves it to the caller to define.
#[repr(C)]
#[derive(Clone, Copy)]
union Semun {
    val: libc::c_int,
    #[allow(dead_code)] // a member only so that the union has the size the kernel expects
    buf: *mut libc::semid_ds,
}

fn check(r: libc::c_int) -> Result<libc::c_int, Errno> {
    if r == -1 { Err(Errno::last()) } else { Ok(r) }
}

// ---------------------------------------------------------------- message queues

/// msgget(key, flags).
pub(crate) fn msgget(key: libc::key_t, flags: libc::c_int) -> Result<libc::c_int, Errno> {
    // SAFETY: integers only.
    check(unsafe { libc::msgget(key, flags) })
}

/// msgctl(id, IPC_RMID).
pub(crate) fn msg_remove(id: libc::c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID reads no buffer.
    check(unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) }).map(drop)
}

/// The largest message text the demos send.
pub(crate) const MSG_MAX: usize = 256;

#[repr(C)]
struct MsgBuf {
    mtype: libc::c_long,
    mtext: [u8; MSG_MAX],
}

/// msgsnd: a message of type `mtype` (> 0); text beyond [`MSG_MAX`] bytes is cut.
pub(crate) fn msg_send(
    id: libc::c_int,
    mtype: i64,
    text: &[u8],
    flags: libc::c_int,
) -> Result<(), Errno> {
    let mut buf = MsgBuf {
        mtype: mtype as libc::c_long,
        mtext: [0; MSG_MAX],
    };
    let n = text.len().min(MSG_MAX);
    buf.mtext[..n].copy_from_slice(&text[..n]);
    // SAFETY: buf is a msgbuf with n bytes of text, alive for the call.
    check(unsafe { libc::msgsnd(id, (&raw const buf).cast(), n, flags) }).map(drop)
}

/// msgrcv selecting by `mtype` (0: the first; > 0: the first of that type; < 0: the lowest
/// type up to |mtype|). Returns the type and the text.
pub(crate) fn msg_recv(
    id: libc::c_int,
    mtype: i64,
    flags: libc::c_int,
) -> Result<(i64, Vec<u8>), Errno> {
    let mut buf = MsgBuf {
        mtype: 0,
        mtext: [0; MSG_MAX],
    };
    // SAFETY: buf has room for MSG_MAX bytes of text, the size passed.
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
    let n = (n as usize).min(MSG_MAX);
    #[allow(clippy::unnecessary_cast)] // c_long is i32 on 32-bit targets
    Ok((buf.mtype as i64, buf.mtext[..n].to_vec()))
}

/// Changes the permission bits of a queue (msgctl IPC_STAT, then IPC_SET).
pub(crate) fn msg_set_mode(id: libc::c_int, mode: u16) -> Result<(), Errno> {
    // SAFETY: msqid_ds is plain data, for which all zeroes is a valid value.
    let mut ds: libc::msqid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT fills the msqid_ds we own.
    check(unsafe { libc::msgctl(id, libc::IPC_STAT, &mut ds) })?;
    ds.msg_perm.mode = mode;
    // SAFETY: IPC_SET reads the msqid_ds we own.
    check(unsafe { libc::msgctl(id, libc::IPC_SET, &mut ds) }).map(drop)
}

// ---------------------------------------------------------------- semaphores

/// semget(key, nsems, flags).
pub(crate) fn semget(
    key: libc::key_t,
    nsems: libc::c_int,
    flags: libc::c_int,
) -> Result<libc::c_int, Errno> {
    // SAFETY: integers only.
    check(unsafe { libc::semget(key, nsems, flags) })
}

/// semctl(id, 0, IPC_RMID).
pub(crate) fn sem_remove(id: libc::c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID ignores the fourth argument.
    check(unsafe { libc::semctl(id, 0, libc::IPC_RMID, Semun { val: 0 }) }).map(drop)
}

/// semctl(SETVAL).
pub(crate) fn sem_setval(id: libc::c_int, num: libc::c_int, val: libc::c_int) -> Result<(), Errno> {
    // SAFETY: SETVAL reads the `val` member only.
    check(unsafe { libc::semctl(id, num, libc::SETVAL, Semun { val }) }).map(drop)
}

/// The semctl commands that answer with their return value and read no buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SemQuery {
    /// The semaphore's value.
    Val,
    /// The PID of the last process that operated on it.
    Pid,
    /// How many processes wait for it to rise.
    Ncnt,
    /// How many processes wait for it to become zero.
    Zcnt,
}

impl SemQuery {
    /// The command's name, as the man page spells it: "GETVAL".
    pub(crate) fn name(self) -> &'static str {
        match self {
            SemQuery::Val => "GETVAL",
            SemQuery::Pid => "GETPID",
            SemQuery::Ncnt => "GETNCNT",
            SemQuery::Zcnt => "GETZCNT",
        }
    }

    fn cmd(self) -> libc::c_int {
        match self {
            SemQuery::Val => libc::GETVAL,
            SemQuery::Pid => libc::GETPID,
            SemQuery::Ncnt => libc::GETNCNT,
            SemQuery::Zcnt => libc::GETZCNT,
        }
    }
}

/// semctl(id, num, GETVAL/GETPID/GETNCNT/GETZCNT).
pub(crate) fn sem_get(
    id: libc::c_int,
    num: libc::c_int,
    q: SemQuery,
) -> Result<libc::c_int, Errno> {
    // SAFETY: these four commands ignore the fourth argument.
    check(unsafe { libc::semctl(id, num, q.cmd(), Semun { val: 0 }) })
}

/// semop with one operation, retried when a signal interrupts it.
pub(crate) fn sem_op(
    id: libc::c_int,
    num: u16,
    delta: i16,
    flags: libc::c_int,
) -> Result<(), Errno> {
    let mut op = libc::sembuf {
        sem_num: num,
        sem_op: delta,
        sem_flg: flags as libc::c_short,
    };
    loop {
        // SAFETY: one sembuf we own, and the count 1.
        match check(unsafe { libc::semop(id, &mut op, 1) }) {
            Err(Errno::EINTR) => continue,
            r => return r.map(drop),
        }
    }
}

// ---------------------------------------------------------------- shared memory

/// shmget(key, size, flags).
pub(crate) fn shmget(
    key: libc::key_t,
    size: usize,
    flags: libc::c_int,
) -> Result<libc::c_int, Errno> {
    // SAFETY: integers only.
    check(unsafe { libc::shmget(key, size, flags) })
}

/// shmctl(id, IPC_RMID): the segment goes once the last process detaches.
pub(crate) fn shm_remove(id: libc::c_int) -> Result<(), Errno> {
    // SAFETY: IPC_RMID reads no buffer.
    check(unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) }).map(drop)
}

/// A segment attached to this process (shmat), detached on Drop by the process that attached
/// it (a forked copy of the guard leaves the parent's attachment alone).
pub(crate) struct ShmAttach {
    addr: *mut libc::c_void,
    len: usize,
    owner: u32,
}

impl ShmAttach {
    /// shmat(id, NULL, 0) of a segment at least `len` bytes long.
    pub(crate) fn attach(id: libc::c_int, len: usize) -> Result<ShmAttach, Errno> {
        let size = segment_size(id)?;
        if size < len {
            return Err(Errno::EINVAL);
        }
        // SAFETY: a NULL address lets the kernel pick a free place; nothing of ours is there.
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

    /// Where the segment is in this process's memory.
    pub(crate) fn addr(&self) -> usize {
        self.addr as usize
    }

    /// The segment's bytes. Other processes write them at any time, so they are atomics:
    /// reading them is never a data race.
    pub(crate) fn bytes(&self) -> &[AtomicU8] {
        // SAFETY: shmat mapped at least len bytes (checked in attach), readable and writable,
        // until shmdt, which takes self by value or runs in Drop; AtomicU8 has the layout of
        // u8, and every access goes through atomics.
        unsafe { std::slice::from_raw_parts(self.addr.cast::<AtomicU8>(), self.len) }
    }

    /// shmdt now.
    pub(crate) fn detach(mut self) -> Result<(), Errno> {
        let addr = std::mem::replace(&mut self.addr, std::ptr::null_mut());
        // SAFETY: addr came from shmat; self is consumed, so no reference into it is left.
        check(unsafe { libc::shmdt(addr) }).map(drop)
    }
}

impl Drop for ShmAttach {
    fn drop(&mut self) {
        if !self.addr.is_null() && self.owner == std::process::id() {
            // SAFETY: as in detach: no reference into the segment outlives self.
            unsafe { libc::shmdt(self.addr) };
        }
    }
}

/// The size of segment `id` (shmctl IPC_STAT).
fn segment_size(id: libc::c_int) -> Result<usize, Errno> {
    // SAFETY: shmid_ds is plain data, for which all zeroes is a valid value.
    let mut ds: libc::shmid_ds = unsafe { std::mem::zeroed() };
    // SAFETY: IPC_STAT fills the shmid_ds we own.
    check(unsafe { libc::shmctl(id, libc::IPC_STAT, &mut ds) })?;
    Ok(ds.shm_segsz as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering;

    /// Removes a test's private object, also when an assertion fails first.
    struct Removed(fn(libc::c_int) -> Result<(), Errno>, libc::c_int);
    impl Drop for Removed {
        fn drop(&mut self) {
            let _ = (self.0)(self.1);
        }
    }

    #[test]
    fn a_private_segment_attached_read_and_removed() {
        let id = shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600).unwrap();
        let _rm = Removed(shm_remove, id);
        let a = ShmAttach::attach(id, 4096).unwrap();
        a.bytes()[0].store(42, Ordering::Relaxed);
        assert_eq!(a.bytes()[0].load(Ordering::Relaxed), 42);
        assert_eq!(ShmAttach::attach(id, 8192).err(), Some(Errno::EINVAL));
        shm_remove(id).unwrap();
        a.detach().unwrap();
        assert!(
            shm_remove(id).is_err(),
            "the segment outlived its last detach"
        );
    }

    #[test]
    fn queries_of_a_semaphore() {
        let id = semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600).unwrap();
        let _rm = Removed(sem_remove, id);
        sem_setval(id, 0, 3).unwrap();
        assert_eq!(sem_get(id, 0, SemQuery::Val), Ok(3));
        sem_op(id, 0, -1, libc::IPC_NOWAIT).unwrap();
        assert_eq!(sem_get(id, 0, SemQuery::Val), Ok(2));
        assert_eq!(sem_get(id, 0, SemQuery::Ncnt), Ok(0));
        assert_eq!(sem_get(id, 0, SemQuery::Pid), Ok(std::process::id() as i32));
    }

    #[test]
    fn a_private_queue_sends_and_receives() {
        let id = msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600).unwrap();
        let _rm = Removed(msg_remove, id);
        msg_send(id, 7, b"hi", libc::IPC_NOWAIT).unwrap();
        assert_eq!(msg_recv(id, 0, libc::IPC_NOWAIT), Ok((7, b"hi".to_vec())));
        assert_eq!(msg_recv(id, 0, libc::IPC_NOWAIT), Err(Errno::ENOMSG));
    }
}

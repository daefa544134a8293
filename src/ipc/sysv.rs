//! The System V objects the demos create, each owned by a guard whose Drop removes it: a
//! System V object outlives every process until it is removed or the machine reboots. The
//! explicit `remove` lets a demo narrate the removal and see its error. The calls themselves
//! are in [`crate::sys::sysv`].
//!
//! Guards remember the PID that created them and do nothing in a forked child, where a copy of
//! the guard would otherwise remove the object from under the parent.

use std::io;
use std::marker::PhantomData;

use nix::errno::Errno;

use crate::sys::sysv;
use crate::teach::trace;

/// A key no other process uses: the demo's kind (a nibble), its PID and a retry counter, so
/// `IPC_CREAT|IPC_EXCL` finds a free one quickly. Printed in hex, it is the `/SYSVxxxxxxxx` of
/// /proc/PID/maps.
pub(crate) fn demo_key(kind: u8, attempt: u32) -> libc::key_t {
    let pid = std::process::id() & 0xf_ffff;
    let k = 0x7a00_0000u32
        | ((pid.wrapping_add(attempt.wrapping_mul(0x1_0000)) & 0xf_ffff) << 4)
        | u32::from(kind & 0xf);
    k as libc::key_t
}

pub(crate) use crate::ipcs::sysvipc::key_hex;

// ---------------------------------------------------------------- the objects

/// What tells the three kinds of System V object apart where their guards are concerned.
pub(crate) trait Kind {
    /// The nibble [`demo_key`] puts in the key.
    const KEY_KIND: u8;
    /// The names of this kind's get and control calls, for `--trace`.
    const GET: &'static str;
    const CTL: &'static str;
    /// The `*ctl(id, IPC_RMID)` call of this kind.
    fn remove(id: libc::c_int) -> Result<(), Errno>;
    /// Its arguments as strace prints them (semctl has a semaphore number before the command).
    fn rmid_args(id: libc::c_int) -> String {
        format!("{id}, IPC_RMID, NULL")
    }
}

/// A System V object this process created, removed (IPC_RMID) on Drop.
pub(crate) struct SysvObject<K: Kind> {
    pub id: libc::c_int,
    pub key: libc::key_t,
    owner: u32,
    removed: bool,
    kind: PhantomData<K>,
}

impl<K: Kind> SysvObject<K> {
    /// Runs `get` (a *get call with IPC_CREAT|IPC_EXCL|mode) with fresh demo keys until one
    /// is free. `size` is the argument between the key and the flags (semget's nsems,
    /// shmget's size), for the trace.
    fn with_fresh_key(
        size: Option<String>,
        mode: libc::c_int,
        mut get: impl FnMut(libc::key_t) -> Result<libc::c_int, Errno>,
    ) -> Result<Self, Errno> {
        let mut attempt = 0;
        let size = size.map(|s| format!("{s}, ")).unwrap_or_default();
        let (key, id) = loop {
            let key = demo_key(K::KEY_KIND, attempt);
            let r = get(key);
            trace::record(
                K::GET,
                format!("{}, {size}IPC_CREAT|IPC_EXCL|0{mode:o}", key_hex(key)),
                trace::ret(&r),
            );
            match r {
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
    pub(crate) fn remove(&mut self) -> Result<(), Errno> {
        if self.removed {
            return Ok(());
        }
        let r = K::remove(self.id);
        trace::record(K::CTL, K::rmid_args(self.id), trace::ret(&r.map(|()| 0)));
        r?;
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
pub(crate) enum Msg {}

impl Kind for Msg {
    const KEY_KIND: u8 = 1;
    const GET: &'static str = "msgget";
    const CTL: &'static str = "msgctl";
    fn remove(id: libc::c_int) -> Result<(), Errno> {
        sysv::msg_remove(id)
    }
}

/// A System V message queue, removed on Drop.
pub(crate) type MsgQueue = SysvObject<Msg>;

impl MsgQueue {
    /// msgget(key, IPC_CREAT|IPC_EXCL|mode) with a fresh demo key.
    pub(crate) fn create(mode: libc::c_int) -> Result<MsgQueue, Errno> {
        SysvObject::with_fresh_key(None, mode, |key| {
            sysv::msgget(key, libc::IPC_CREAT | libc::IPC_EXCL | mode)
        })
    }
}

// ---------------------------------------------------------------- semaphores

/// Semaphore sets: semget, semctl.
pub(crate) enum Sem {}

impl Kind for Sem {
    const KEY_KIND: u8 = 2;
    const GET: &'static str = "semget";
    const CTL: &'static str = "semctl";
    fn remove(id: libc::c_int) -> Result<(), Errno> {
        sysv::sem_remove(id)
    }
    fn rmid_args(id: libc::c_int) -> String {
        format!("{id}, 0, IPC_RMID, NULL")
    }
}

/// A System V semaphore set, removed on Drop.
pub(crate) type SemSet = SysvObject<Sem>;

impl SemSet {
    /// semget(key, nsems, IPC_CREAT|IPC_EXCL|mode) with a fresh demo key.
    pub(crate) fn create(nsems: libc::c_int, mode: libc::c_int) -> Result<SemSet, Errno> {
        SysvObject::with_fresh_key(Some(nsems.to_string()), mode, |key| {
            sysv::semget(key, nsems, libc::IPC_CREAT | libc::IPC_EXCL | mode)
        })
    }
}

// ---------------------------------------------------------------- shared memory

/// Shared memory segments: shmget, shmctl.
pub(crate) enum Shm {}

impl Kind for Shm {
    const KEY_KIND: u8 = 3;
    const GET: &'static str = "shmget";
    const CTL: &'static str = "shmctl";
    fn remove(id: libc::c_int) -> Result<(), Errno> {
        sysv::shm_remove(id)
    }
}

/// A System V shared memory segment, removed (IPC_RMID) on Drop: it goes once the last
/// process detaches.
pub(crate) type ShmSegment = SysvObject<Shm>;

impl ShmSegment {
    /// shmget(key, size, IPC_CREAT|IPC_EXCL|mode) with a fresh demo key.
    pub(crate) fn create(size: usize, mode: libc::c_int) -> Result<ShmSegment, Errno> {
        SysvObject::with_fresh_key(Some(size.to_string()), mode, |key| {
            sysv::shmget(key, size, libc::IPC_CREAT | libc::IPC_EXCL | mode)
        })
    }
}

/// An io::Error for an errno, for `?` into anyhow with context.
pub(crate) fn io_err(e: Errno) -> io::Error {
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

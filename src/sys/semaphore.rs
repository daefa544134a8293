//! POSIX named semaphores (sem_open and friends): glibc keeps each in a small file in /dev/shm
//! that every user maps. Neither nix nor rustix wraps them. Named semaphores work since Linux
//! 2.6 with NPTL (the futex they wait on).
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::ptr::NonNull;

use nix::errno::Errno;

/// A named semaphore this process has open; closed (sem_close) on Drop. Closing does not
/// remove the name: see [`unlink`].
pub(crate) struct NamedSemaphore {
    sem: NonNull<libc::sem_t>,
}

impl NamedSemaphore {
    /// sem_open(name, O_CREAT|O_EXCL, mode, value): a new semaphore, never an existing one.
    pub(crate) fn create(name: &CStr, mode: u32, value: u32) -> Result<NamedSemaphore, Errno> {
        // SAFETY: sem_open is variadic; with O_CREAT it reads a mode_t and an unsigned value,
        // both passed as c_uint as the C default promotions require. name is NUL-terminated.
        let sem = unsafe {
            libc::sem_open(
                name.as_ptr(),
                libc::O_CREAT | libc::O_EXCL,
                mode as libc::c_uint,
                value as libc::c_uint,
            )
        };
        NamedSemaphore::from(sem)
    }

    /// sem_open(name, 0): an existing semaphore, by name.
    pub(crate) fn open(name: &CStr) -> Result<NamedSemaphore, Errno> {
        // SAFETY: without O_CREAT sem_open reads no further argument; name is NUL-terminated.
        let sem = unsafe { libc::sem_open(name.as_ptr(), 0) };
        NamedSemaphore::from(sem)
    }

    fn from(sem: *mut libc::sem_t) -> Result<NamedSemaphore, Errno> {
        if sem == libc::SEM_FAILED {
            return Err(Errno::last());
        }
        NonNull::new(sem)
            .map(|sem| NamedSemaphore { sem })
            .ok_or(Errno::EINVAL)
    }

    /// sem_wait: takes the semaphore, waiting while its value is 0 (retried when a signal
    /// interrupts the wait).
    pub(crate) fn wait(&self) -> Result<(), Errno> {
        loop {
            // SAFETY: sem came from sem_open and stays open until Drop.
            if unsafe { libc::sem_wait(self.sem.as_ptr()) } == 0 {
                return Ok(());
            }
            match Errno::last() {
                Errno::EINTR => {}
                e => return Err(e),
            }
        }
    }

    /// sem_post: gives it back.
    pub(crate) fn post(&self) -> Result<(), Errno> {
        // SAFETY: as in wait.
        if unsafe { libc::sem_post(self.sem.as_ptr()) } == 0 {
            Ok(())
        } else {
            Err(Errno::last())
        }
    }

    /// Where the semaphore is in this process's memory: the address of glibc's mapping of its
    /// file.
    pub(crate) fn addr(&self) -> usize {
        self.sem.as_ptr() as usize
    }

    /// sem_getvalue.
    pub(crate) fn value(&self) -> Result<i32, Errno> {
        let mut v = 0;
        // SAFETY: as in wait; v is an int we own.
        if unsafe { libc::sem_getvalue(self.sem.as_ptr(), &mut v) } == 0 {
            Ok(v)
        } else {
            Err(Errno::last())
        }
    }
}

impl Drop for NamedSemaphore {
    fn drop(&mut self) {
        // SAFETY: sem came from sem_open and is closed once, here.
        unsafe { libc::sem_close(self.sem.as_ptr()) };
    }
}

/// sem_unlink: removes the name (the file in /dev/shm); open semaphores live on.
pub(crate) fn unlink(name: &CStr) -> Result<(), Errno> {
    // SAFETY: name is NUL-terminated.
    if unsafe { libc::sem_unlink(name.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(Errno::last())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_wait_post_unlink() {
        let name =
            std::ffi::CString::new(format!("/zombies-test-{}-sem", std::process::id())).unwrap();
        let sem = NamedSemaphore::create(&name, 0o600, 1).unwrap();
        struct Unlinked<'a>(&'a CStr);
        impl Drop for Unlinked<'_> {
            fn drop(&mut self) {
                let _ = unlink(self.0);
            }
        }
        let _u = Unlinked(&name);
        assert_eq!(
            NamedSemaphore::create(&name, 0o600, 1).err(),
            Some(Errno::EEXIST)
        );
        let again = NamedSemaphore::open(&name).unwrap();
        again.wait().unwrap();
        assert_eq!(sem.value(), Ok(0));
        sem.post().unwrap();
        assert_eq!(again.value(), Ok(1));
        unlink(&name).unwrap();
        assert_eq!(NamedSemaphore::open(&name).err(), Some(Errno::ENOENT));
    }
}

//! The C library's own ways to make a process, called as a C program calls them, for the demo
//! that traces them to show which system call each one really makes: glibc's `vfork()` and
//! `posix_spawn()` (its `fork()` is [`crate::sys::process::fork`], its `pthread_create()` is
//! what `std::thread::spawn` calls), and the C library's version (`gnu_get_libc_version`),
//! which decides which call they make (clone3 since glibc 2.34).
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;

/// glibc's vfork(), whose child calls nothing but `exit_group(0)` at once: the parent is
/// suspended until then. Returns the child's PID (to be reaped by the caller).
///
/// Rust cannot call vfork() like C does: the child returns into the parent's stack frame, which
/// the compiler does not know is shared. So the call and the child's whole life are one block
/// of assembly: `call vfork`, and in the child (vfork returned 0) the exit_group system call,
/// with no stack touched between them. x86_64 only; elsewhere Unsupported.
#[cfg(target_arch = "x86_64")]
// libc deprecates calling vfork from Rust (rust-lang/libc#1596: the child returns into frames
// the compiler thinks are its own); here only the asm below calls it, for the reason above.
#[allow(deprecated)]
pub(crate) fn vfork_child_exits_at_once() -> io::Result<i32> {
    let pid: i32;
    // SAFETY: vfork() returns twice. In the child, control stays inside this asm block: the
    // child tests eax and makes the exit_group system call (231) with status 0, writing no
    // memory, so the parent's frame is left as it was (glibc's vfork pops and pushes back its
    // own return address, which is the same in both). In the parent, vfork returns the
    // child's PID (or -1) in eax once the child has exited; `clobber_abi("C")` tells the
    // compiler that the call clobbers the caller-saved registers, and the stack is aligned
    // for a call on entry to an asm block (the block does not use `nostack`).
    unsafe {
        std::arch::asm!(
            "call {vfork}",
            "test eax, eax",
            "jnz 2f",
            "xor edi, edi",
            "mov eax, 231",
            "syscall",
            "2:",
            vfork = sym libc::vfork,
            out("eax") pid,
            clobber_abi("C"),
        );
    }
    if pid < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(pid)
    }
}

/// Elsewhere: not available (see the x86_64 version).
#[cfg(not(target_arch = "x86_64"))]
pub(crate) fn vfork_child_exits_at_once() -> io::Result<i32> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

/// posix_spawn(3) of `program` with the arguments `argv` and an empty environment. Returns the
/// child's PID (to be reaped by the caller).
pub(crate) fn posix_spawn(program: &CStr, argv: &[CString]) -> io::Result<i32> {
    let mut ptrs: Vec<*mut libc::c_char> = argv.iter().map(|a| a.as_ptr().cast_mut()).collect();
    ptrs.push(std::ptr::null_mut());
    let envp: [*mut libc::c_char; 1] = [std::ptr::null_mut()];
    let mut pid: libc::pid_t = 0;
    // SAFETY: program, argv and envp are NUL-terminated C strings and NULL-terminated arrays
    // that outlive the call (posix_spawn copies what the child needs before it returns); the
    // null file actions and attributes mean the defaults.
    let r = unsafe {
        libc::posix_spawn(
            &mut pid,
            program.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            ptrs.as_ptr(),
            envp.as_ptr(),
        )
    };
    if r != 0 {
        return Err(io::Error::from_raw_os_error(r));
    }
    Ok(pid)
}

/// The running C library's version, e.g. "2.36", when it is glibc (None for another one).
#[cfg(target_env = "gnu")]
pub(crate) fn glibc_version() -> Option<String> {
    // SAFETY: gnu_get_libc_version takes nothing and returns a pointer to a static,
    // NUL-terminated string that lives as long as the process.
    let p = unsafe { libc::gnu_get_libc_version() };
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, NUL-terminated and static (see above).
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
}

/// Not glibc: no version to ask.
#[cfg(not(target_env = "gnu"))]
pub(crate) fn glibc_version() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_reports_a_version() {
        let v = glibc_version().expect("the tests are built against glibc");
        let mut parts = v.split('.');
        assert_eq!(parts.next(), Some("2"), "{v}");
        assert!(
            parts.next().and_then(|m| m.parse::<u32>().ok()).is_some(),
            "{v}"
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn vfork_child_exits_with_status_0() {
        let pid = vfork_child_exits_at_once().unwrap();
        let ws = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
        assert_eq!(
            ws,
            nix::sys::wait::WaitStatus::Exited(nix::unistd::Pid::from_raw(pid), 0)
        );
    }
}

//! The boundary with the kernel for calls that need `unsafe` or that no crate wraps: each
//! function here is safe to call, and says since when the kernel offers what it uses.

pub(crate) mod mman;
pub mod pidfd;
pub(crate) mod pidns;
pub(crate) mod process;
pub(crate) mod ptrace;
pub(crate) mod semaphore;
pub(crate) mod spawn;
pub(crate) mod stdio;
pub(crate) mod stop;
pub(crate) mod sysv;

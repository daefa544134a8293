//! The boundary with the kernel for calls that need `unsafe` or that no crate wraps: each
//! function here is safe to call, and says since when the kernel offers what it uses.

pub mod pidfd;
pub mod process;

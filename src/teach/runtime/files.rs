//! Files the demos make or run: a private temporary directory removed on Drop, and the
//! programs the exec demos start, found in PATH.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nix::unistd::Pid;

/// A private temporary directory (mkdtemp, mode 0700) removed with its contents on Drop,
/// by the process that made it only.
pub(crate) struct TempDir {
    path: PathBuf,
    owner: Pid,
}

impl TempDir {
    pub(crate) fn new(prefix: &str) -> Result<TempDir> {
        let template = std::env::temp_dir().join(format!("{prefix}.XXXXXX"));
        let path = nix::unistd::mkdtemp(&template).with_context(|| {
            format!(
                "cannot create a private directory like {}; set TMPDIR to a writable directory",
                template.display()
            )
        })?;
        Ok(TempDir {
            path,
            owner: nix::unistd::getpid(),
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if self.owner == nix::unistd::getpid() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Finds a program in PATH (or the usual bin directories) and returns its full path.
pub(crate) fn find_program(name: &str) -> Result<CString> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/bin", "/bin"].map(PathBuf::from));
    for d in dirs {
        let p = d.join(name);
        if nix::unistd::access(&p, nix::unistd::AccessFlags::X_OK).is_ok() {
            return CString::new(p.into_os_string().into_encoded_bytes())
                .context("program path holds a NUL byte");
        }
    }
    bail!("cannot find the `{name}` program in PATH, /usr/bin or /bin; install coreutils")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempdir_is_private_and_removed() {
        let p = {
            let t = TempDir::new("zombies-test").unwrap();
            let meta = std::fs::metadata(t.path()).unwrap();
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o700);
            std::fs::write(t.path().join("f"), b"x").unwrap();
            t.path().to_path_buf()
        };
        assert!(!p.exists(), "{} left behind", p.display());
    }

    #[test]
    fn finds_sh() {
        assert!(find_program("sh").is_ok());
        assert!(find_program("no-such-program-zombies").is_err());
    }
}

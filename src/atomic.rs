//! Atomic file replacement: write a temporary file in the same directory, flush it to disk,
//! then rename it over the target. A reader (a Prometheus scrape of a textfile, the next
//! `zombies check`) sees the old file or the new one, never half of one.
//!
//! The temporary name is hidden and ends in `.tmp` (`.zombies.prom.4242.tmp`), so the
//! node_exporter textfile collector, which reads only `*.prom`, never picks it up.

use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` atomically, creating its directory when missing: for the files
/// the tool owns (state, ignore list), whose directory it documents. On failure the temporary
/// file is removed and the error names the path.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_file(path, bytes, true)
}

/// Like `write`, but into a directory that must exist already: for a path the user typed
/// (`check --output`), where a typo must be an error, not a new directory nobody reads.
pub fn write_existing_dir(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_file(path, bytes, false)
}

fn write_file(path: &Path, bytes: &[u8], create_dir: bool) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Some(name) = path.file_name() else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} names no file", path.display()),
        ));
    };
    if !create_dir && !dir.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "cannot write {}: no directory {}",
                path.display(),
                dir.display()
            ),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot write {}: cannot create its directory {}: {e}",
                path.display(),
                dir.display()
            ),
        )
    })?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        // O_EXCL: never write through a symlink someone planted under the temporary name. A
        // leftover of a crashed run with our PID is removed first.
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("zombies-atomic-{}", std::process::id()));
        let path = dir.join("deep").join("out.prom");
        write(&path, b"one\n").unwrap();
        write(&path, b"two\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.prom")]);
        // A directory in the way: the error names the target, and nothing is left behind.
        let err = write(&dir.join("deep"), b"x").unwrap_err();
        assert!(err.to_string().contains("deep"), "{err}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

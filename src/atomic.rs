//! Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.
//!
//! Invariant: a reader sees either the old file or the whole new one, never part of one, and a
//! failure leaves no temp file behind.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically, replacing any file there.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write(path, bytes, true)
}

/// Writes `bytes` to `path` atomically; refuses if `path` exists.
pub fn write_new_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write(path, bytes, false)
}

fn write(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".rootcellar-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, &e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", path, &e))?;
    if replace {
        tmp.persist(path)
            .map_err(|e| Error::io("replace", path, &e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::refused(format!("{} already exists", path.display()))
                    .hint("choose another name, or remove the file first")
            } else {
                Error::io("create", path, &e.error)
            }
        })?;
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync the folder", dir, &e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replaces_and_refuses_to_clobber() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let e = write_new_atomic(&p, b"three").unwrap_err();
        assert!(e.message.contains("already exists"));
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // No temp file is left behind.
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}

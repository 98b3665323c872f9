//! Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.
//!
//! Invariant: a reader sees either the old file or the whole new one, never part of one, and a
//! failure leaves no temp file behind (a crash may: the workspace lock removes such leftovers,
//! see [`remove_stale_temps`]).
//!
//! Fault injection: with `ROOTCELLAR_TEST_CRASH_AT=N` in the environment the process aborts at
//! the N-th write step (before the temp file, after half the bytes, after all of them, after the
//! fsync, after the rename, after the folder's fsync), as a crash or a kill would. The
//! integration tests use it to crash publish, sign and export at every step; it changes nothing
//! else and is inert without the variable.

use crate::error::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix and suffix of rootcellar's temporary files.
pub const TEMP_PREFIX: &str = ".rootcellar-";
pub const TEMP_SUFFIX: &str = ".tmp";

static STEPS: AtomicU64 = AtomicU64::new(0);

/// One write step: aborts the process here when `ROOTCELLAR_TEST_CRASH_AT` names this step.
/// Also called after a write to a device (a key created on a token), so that the tests crash
/// there too.
pub(crate) fn step() {
    let n = STEPS.fetch_add(1, Ordering::SeqCst) + 1;
    if let Ok(v) = std::env::var("ROOTCELLAR_TEST_CRASH_AT")
        && v.parse::<u64>() == Ok(n)
    {
        std::process::abort();
    }
}

/// Removes temporary files a crashed rootcellar left in `dir`; returns how many. Call only
/// where no other rootcellar can be writing (under the workspace lock).
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX))
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Mode of files only their owner reads (the workspace's own files, keys).
pub const PRIVATE: u32 = 0o600;
/// Mode of public files (published and exported metadata, requests, records).
pub const PUBLIC: u32 = 0o644;

/// Writes `bytes` to `path` atomically, replacing any file there; mode 0600.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write(path, bytes, true, PRIVATE)
}

/// Writes `bytes` to `path` atomically; refuses if `path` exists; mode 0600.
pub fn write_new_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write(path, bytes, false, PRIVATE)
}

/// As [`write_atomic`], for a public file (mode 0644).
pub fn write_public(path: &Path, bytes: &[u8]) -> Result<()> {
    write(path, bytes, true, PUBLIC)
}

/// As [`write_new_atomic`], for a public file (mode 0644).
pub fn write_new_public(path: &Path, bytes: &[u8]) -> Result<()> {
    write(path, bytes, false, PUBLIC)
}

/// Creates folder `dir` (and its parents) if it does not exist; a folder it creates is mode
/// 0700 whatever the umask.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|e| Error::io("create", dir, &e))
}

/// Creates folder `dir` (and its parents) if it does not exist; a folder it creates is mode
/// 0755 whatever the umask: for what is published (an attestation folder).
pub fn create_public_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| Error::io("create", dir, &e))
}

fn write(path: &Path, bytes: &[u8], replace: bool, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // A rename would replace a device, a FIFO or a socket with a plain file (`--text /dev/null`
    // must not remove /dev/null): only regular files (or links, which are replaced) are written.
    if let Ok(m) = std::fs::symlink_metadata(path)
        && !m.file_type().is_file()
        && !m.file_type().is_symlink()
    {
        return Err(Error::bad_input(format!(
            "{} is not a regular file (a device, a pipe, a socket or a folder): rootcellar writes files atomically by replacing them, which would replace it",
            path.display()
        ))
        .hint("give the path of a file to write"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    step();
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io("create a temporary file in", dir, &e))?;
    let (a, b) = bytes.split_at(bytes.len() / 2);
    tmp.write_all(a)
        .and_then(|()| tmp.flush())
        .map_err(|e| Error::io("write", path, &e))?;
    step();
    tmp.write_all(b)
        .and_then(|()| tmp.flush())
        .map_err(|e| Error::io("write", path, &e))?;
    step();
    // The mode is set, not left to the umask.
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| Error::io("write", path, &e))?;
    step();
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
    step();
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync the folder", dir, &e))?;
    step();
    Ok(())
}

/// Renames `from` to `to` in the same folder and syncs the folder, so the new name survives a
/// power cut (a write step before and after, for the fault-injection tests).
pub fn rename_synced(from: &Path, to: &Path) -> Result<()> {
    step();
    std::fs::rename(from, to).map_err(|e| Error::io("rename", from, &e))?;
    let dir = match to.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("sync the folder", dir, &e))?;
    step();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synced_rename_moves_the_file_and_reports_a_missing_one() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::write(&a, b"x").unwrap();
        rename_synced(&a, &b).unwrap();
        assert!(!a.exists());
        assert_eq!(std::fs::read(&b).unwrap(), b"x");
        let e = rename_synced(&a, &b).unwrap_err();
        assert!(e.message.contains("rename"), "{}", e.message);
        assert_eq!(std::fs::read(&b).unwrap(), b"x");
    }

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

    #[test]
    fn never_replaces_what_is_not_a_regular_file() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("folder");
        std::fs::create_dir(&sub).unwrap();
        let e = write_atomic(&sub, b"x").unwrap_err();
        assert!(e.message.contains("not a regular file"), "{}", e.message);
        assert!(sub.is_dir());
        // A character device: /dev/null stays a device.
        let null = Path::new("/dev/null");
        if null.exists() {
            let e = write_atomic(null, b"x").unwrap_err();
            assert!(e.message.contains("not a regular file"), "{}", e.message);
            use std::os::unix::fs::FileTypeExt;
            assert!(
                std::fs::metadata(null)
                    .unwrap()
                    .file_type()
                    .is_char_device()
            );
        }
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}

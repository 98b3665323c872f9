//! The one way files from outside are read: a file the operator names (a request, a signature,
//! a root, QR frames, a key to import), a folder of them, a file on a USB stick, a secret.
//!
//! Invariants: only a regular file is read — a FIFO, device or socket is refused before it is
//! opened for reading, and the handle is opened non-blocking and checked again (`fstat`), so a
//! file swapped for a FIFO in between is refused too; a file larger than its kind allows is
//! refused from its size on the handle, before a byte is read, and never more than that is
//! read; folder walks never follow symbolic links; a secret may come from a pipe
//! (`--pin-file <(pass show k)`), read with a bound and a time limit. An input that cannot be
//! read is the operator's input's problem (bad input, exit 2), never the workspace's.

use crate::error::{Error, ErrorKind, Result};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a file is read as, and so how large it may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Root or targets metadata, a request bundle, a hand-over statement (python-tuf reads
    /// roots of up to 512 kB; room for large delegations).
    Metadata,
    /// A public key or certificate to import, a detached signature.
    Small,
    /// QR frames as text, one per line.
    Frames,
    /// A picture of QR frames.
    Image,
}

impl Kind {
    pub fn limit(self) -> u64 {
        match self {
            Kind::Metadata => 16 << 20,
            Kind::Small => 256 << 10,
            Kind::Frames => 8 << 20,
            Kind::Image => 32 << 20,
        }
    }
}

/// Why a path is not a regular file, when it is not.
fn not_regular(t: std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a folder")
    } else if t.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if t.is_char_device() || t.is_block_device() {
        Some("a device")
    } else if t.is_socket() {
        Some("a socket")
    } else {
        Some("something other than a file")
    }
}

/// A size as people read it: bytes, KiB, MiB or GiB.
fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

fn bad(path: &Path, why: String) -> Error {
    Error::bad_input(format!("{}: {why}", path.display()))
        .hint("give a regular file (not a pipe, device or folder) of the expected kind")
}

/// The bytes of a regular file the operator named, at most `kind`'s limit.
pub fn read(path: &Path, kind: Kind) -> Result<Vec<u8>> {
    let io = |e: std::io::Error| {
        let mut err = Error::io("read", path, &e);
        err.kind = ErrorKind::BadInput;
        err
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if let Some(what) = not_regular(meta.file_type()) {
        return Err(bad(path, format!("is {what}, not a regular file")));
    }
    // Non-blocking: a FIFO swapped in after the check above cannot stall the open.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if let Some(what) = not_regular(meta.file_type()) {
        return Err(bad(path, format!("is {what}, not a regular file")));
    }
    let limit = kind.limit();
    if meta.len() > limit {
        return Err(bad(
            path,
            format!(
                "is {}, more than the {} a file of this kind may be",
                size(meta.len()),
                size(limit)
            ),
        ));
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut out).map_err(io)?;
    if out.len() as u64 > limit {
        return Err(bad(path, format!("holds more than {}", size(limit))));
    }
    Ok(out)
}

/// The bytes of metadata (or another document) the operator named.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    read(path, Kind::Metadata)
}

/// A file that may not exist yet (a destination): `None` when it does not; refused when it is
/// a symbolic link or not a regular file.
pub fn read_existing(path: &Path, kind: Kind) -> Result<Option<Vec<u8>>> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, &e)),
        Ok(m) if m.file_type().is_symlink() => Err(bad(path, "is a symbolic link".into())),
        Ok(_) => read(path, kind).map(Some),
    }
}

/// The entries of folder `dir` (name and path), symbolic links and anything but regular files
/// and folders left out, never followed.
pub fn entries(dir: &Path) -> Result<Vec<(String, PathBuf, bool)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, &e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| Error::io("list", dir, &e))?;
        let t = entry.file_type().map_err(|e| Error::io("list", dir, &e))?;
        if t.is_file() || t.is_dir() {
            out.push((
                entry.file_name().to_string_lossy().to_string(),
                entry.path(),
                t.is_dir(),
            ));
        }
    }
    Ok(out)
}

/// Expands folders into their `N.root.json` files, in version order (links are not followed).
pub fn expand_roots(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<(u64, PathBuf)> = entries(p)?
                .into_iter()
                .filter(|(_, _, dir)| !dir)
                .filter_map(|(name, path, _)| {
                    let n = name.strip_suffix(".root.json")?.parse::<u64>().ok()?;
                    Some((n, path))
                })
                .collect();
            if found.is_empty() {
                return Err(Error::bad_input(format!(
                    "{} holds no N.root.json files",
                    p.display()
                )));
            }
            found.sort();
            out.extend(found.into_iter().map(|(_, p)| p));
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The longest a secret file's first line may be.
pub const SECRET_LIMIT: usize = 4096;

/// How long a secret from a pipe may take to arrive.
pub const SECRET_WAIT: Duration = Duration::from_secs(30);

/// The first line of a secret file, which may be a pipe (`<(pass show k)`) or `/dev/stdin`: at
/// most [`SECRET_LIMIT`] bytes, within [`SECRET_WAIT`], text without control characters. Returns
/// the line and whether the file can be read by others than its owner.
pub fn read_secret(path: &Path) -> Result<(zeroize::Zeroizing<String>, bool)> {
    let io = |e: std::io::Error| {
        let mut err = Error::io("read", path, &e);
        err.kind = ErrorKind::BadInput;
        err
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let t = meta.file_type();
    if t.is_dir() || t.is_block_device() || t.is_socket() {
        return Err(bad(path, "is not a file or a pipe".into()));
    }
    if t.is_char_device() && !path.starts_with("/dev/fd") && !path.starts_with("/proc") {
        // /dev/stdin is a link to the terminal or a pipe; /dev/zero and the like are refused.
        let real = std::fs::canonicalize(path).unwrap_or_default();
        if !real.starts_with("/dev/pts") && !real.starts_with("/dev/tty") {
            return Err(bad(path, "is a device, not a secret file".into()));
        }
    }
    let exposed = {
        use std::os::unix::fs::PermissionsExt;
        t.is_file() && meta.permissions().mode() & 0o077 != 0
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(SECRET_LIMIT + 1));
        let mut chunk = [0u8; 512];
        let result = loop {
            match file.read(&mut chunk) {
                Ok(0) => break Ok(()),
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.contains(&b'\n') || buf.len() > SECRET_LIMIT {
                        break Ok(());
                    }
                }
                Err(e) => break Err(e),
            }
        };
        zeroize::Zeroize::zeroize(&mut chunk);
        let _ = tx.send(result.map(|()| buf));
    });
    let bytes = match rx.recv_timeout(SECRET_WAIT) {
        Ok(r) => r.map_err(io)?,
        Err(_) => {
            return Err(bad(
                path,
                format!("gave no secret within {} seconds", SECRET_WAIT.as_secs()),
            ));
        }
    };
    let line_end = bytes
        .iter()
        .position(|b| *b == b'\n')
        .unwrap_or(bytes.len());
    if line_end > SECRET_LIMIT {
        return Err(bad(
            path,
            format!("its first line is longer than {SECRET_LIMIT} bytes: not a secret file"),
        ));
    }
    let line = std::str::from_utf8(&bytes[..line_end])
        .map_err(|_| bad(path, "is not text".into()))?
        .trim_end_matches('\r');
    if line.chars().any(char::is_control) {
        return Err(bad(
            path,
            "holds control characters: not a secret file".into(),
        ));
    }
    Ok((zeroize::Zeroizing::new(line.to_string()), exposed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_fifos_and_oversized_files_are_refused_without_reading() {
        assert!(read(Path::new("/dev/zero"), Kind::Small).is_err());
        let d = tempfile::tempdir().unwrap();
        let big = d.path().join("big");
        let f = std::fs::File::create(&big).unwrap();
        f.set_len(3 << 30).unwrap();
        let e = read(&big, Kind::Metadata).unwrap_err();
        assert!(e.message.contains("more than"), "{}", e.message);
        assert_eq!(e.kind, ErrorKind::BadInput);
        let ok = d.path().join("ok");
        std::fs::write(&ok, b"{}").unwrap();
        assert_eq!(read(&ok, Kind::Small).unwrap(), b"{}");
        assert!(read_secret(Path::new("/dev/zero")).is_err());
    }
}

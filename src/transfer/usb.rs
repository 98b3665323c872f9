//! Export to a folder (a USB stick): every file written atomically, a `SHA256SUMS`, then every
//! file read back and checked.
//!
//! Invariants: a different file of the same name is never replaced unless told so, and such a
//! conflict is found before anything is written; a symbolic link of the same name is such a
//! conflict (replaced by a regular file with `--overwrite`, never reported unchanged), and a
//! FIFO or device there is refused; files already there with the same bytes are left alone
//! (re-running an export is a no-op); a full drive leaves no partial file.

use crate::atomic::write_public as write_atomic;
use crate::error::{Error, Result};
use crate::workspace::digest_hex;
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ExportedFile {
    pub name: String,
    pub sha256: String,
    /// "written", or "unchanged" when the same bytes were there already.
    pub action: String,
}

/// Writes `files` (name, bytes) and `SHA256SUMS` into `dir`.
pub fn export(
    dir: &Path,
    files: &[(String, Vec<u8>)],
    overwrite: bool,
) -> Result<Vec<ExportedFile>> {
    if !dir.exists() {
        return Err(Error::bad_input(format!(
            "{} does not exist — is the stick mounted?",
            dir.display()
        ))
        .hint("mount the USB stick and give its folder"));
    }
    if !dir.is_dir() {
        return Err(
            Error::bad_input(format!("{} is not a folder", dir.display()))
                .hint("mount the USB stick and give its folder"),
        );
    }
    // Leftovers of an export that crashed: rootcellar's own temp files, by name.
    crate::atomic::remove_stale_temps(dir);
    let mut sums = String::new();
    let mut all: Vec<(String, Vec<u8>)> = files.to_vec();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, bytes) in &all {
        sums.push_str(&format!("{}  {name}\n", digest_hex(bytes)));
    }
    all.push(("SHA256SUMS".into(), sums.into_bytes()));
    // Conflicts first: nothing is written if any file would replace a different one.
    let mut conflicts = Vec::new();
    let mut same = Vec::new();
    for (name, bytes) in &all {
        let p = dir.join(name);
        // A link or anything but a regular file is never "the same": it is replaced by a file.
        let there = match std::fs::symlink_metadata(&p) {
            Err(_) => None,
            Ok(m) if m.file_type().is_symlink() => Some(Err(format!("{name} (a link)"))),
            Ok(m) if !m.file_type().is_file() => Some(Err(format!("{name} (not a regular file)"))),
            Ok(_) => Some(Ok(crate::readpath::read(
                &p,
                crate::readpath::Kind::Metadata,
            )?)),
        };
        match there {
            Some(Ok(b)) if &b == bytes => same.push(name.clone()),
            Some(Ok(_)) if !overwrite => conflicts.push(name.clone()),
            Some(Err(what)) if !overwrite => conflicts.push(what),
            _ => {}
        }
    }
    if !conflicts.is_empty() {
        return Err(Error::refused(format!(
            "{} already holds different files named {}",
            dir.display(),
            conflicts.join(", ")
        ))
        .hint("use an empty folder, or pass --overwrite to replace them; nothing was written"));
    }
    let mut out = Vec::new();
    for (name, bytes) in &all {
        let p = dir.join(name);
        let same = same.contains(name);
        if !same {
            write_atomic(&p, bytes).map_err(|e| {
                if e.message.contains("No space left") || e.message.contains("space") {
                    Error::environment(format!("the drive holding {} is full: {} was not written", dir.display(), name))
                        .hint("free space or use a larger stick; no partial file was left, files written before it are whole")
                } else {
                    e
                }
            })?;
        }
        out.push(ExportedFile {
            name: name.clone(),
            sha256: digest_hex(bytes),
            action: if same {
                "unchanged".into()
            } else {
                "written".into()
            },
        });
    }
    // Read everything back.
    for (name, bytes) in &all {
        let p = dir.join(name);
        let back = crate::readpath::read(&p, crate::readpath::Kind::Metadata)?;
        if &back != bytes {
            return Err(Error::environment(format!(
                "{} reads back different from what was written",
                p.display()
            ))
            .hint("the drive is failing: use another one"));
        }
    }
    Ok(out)
}

//! `rootcellar verify`: a chain of root files checked as a TUF client would.

use crate::error::{Error, Result};
use crate::tuf::expiry::{Timestamp, format_tuf_time};
use crate::tuf::verify::{ChainCheck, verify_chain};
use crate::tuf::{Metadata, Root};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    /// The files in the order they were checked; the first is the trust anchor.
    pub files: Vec<String>,
    pub at: String,
    pub valid: bool,
    pub failure: Option<String>,
    /// Absent when a file could not be read as metadata.
    pub chain: Option<ChainCheck>,
}

/// Expands folders into their `N.root.json` files, in version order.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| Error::io("list", p, &e))?;
            let mut found: Vec<(u64, PathBuf)> = Vec::new();
            for entry in rd {
                let entry = entry.map_err(|e| Error::io("list", p, &e))?;
                let name = entry.file_name().to_string_lossy().to_string();
                if let Some(n) = name
                    .strip_suffix(".root.json")
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    found.push((n, entry.path()));
                }
            }
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

fn load(path: &Path) -> Result<std::result::Result<Metadata<Root>, String>> {
    let bytes = std::fs::read(path).map_err(|e| {
        let mut err = Error::io("read", path, &e);
        err.kind = crate::error::ErrorKind::BadInput;
        err
    })?;
    Ok(Metadata::<Root>::from_bytes(&bytes).map_err(|e| format!("{}: {e}", path.display())))
}

/// Verifies `files` in order (folders expand to their `N.root.json`). The first of `trusted`
/// or `files` is the trust anchor; the rest must follow it version by version.
pub fn verify_files(
    trusted: Option<&Path>,
    files: &[PathBuf],
    at: Timestamp,
) -> Result<VerifyReport> {
    let mut paths: Vec<PathBuf> = trusted.map(Path::to_path_buf).into_iter().collect();
    paths.extend(expand(files)?);
    if paths.is_empty() {
        return Err(Error::bad_input("no files to verify")
            .hint("name one or more root.json files or a folder"));
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut roots = Vec::new();
    for p in &paths {
        match load(p)? {
            Ok(md) => roots.push(md),
            Err(failure) => {
                return Ok(VerifyReport {
                    files: names,
                    at: format_tuf_time(at),
                    valid: false,
                    failure: Some(failure),
                    chain: None,
                });
            }
        }
    }
    let chain = verify_chain(&roots[0], &roots[1..], at);
    Ok(VerifyReport {
        files: names,
        at: chain.at.clone(),
        valid: chain.valid,
        failure: chain.failure.clone(),
        chain: Some(chain),
    })
}

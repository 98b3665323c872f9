//! The one way files from outside are read: a file the operator names (a request, a signature,
//! a root, frames, a key to import) or a folder of them.
//!
//! Invariant: an input that cannot be read is the operator's input's problem (bad input, exit
//! 2), never the workspace's.

use crate::error::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};

/// The bytes of a file the operator named.
pub fn read_input(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| {
        let mut err = Error::io("read", p, &e);
        err.kind = ErrorKind::BadInput;
        err
    })
}

/// Expands folders into their `N.root.json` files, in version order.
pub fn expand_roots(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
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

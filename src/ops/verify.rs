//! `rootcellar verify`: a chain of root files checked as a TUF client would.

use crate::error::{Error, Result};
use crate::tuf::expiry::{Timestamp, format_tuf_time};
use crate::tuf::verify::{ChainCheck, verify_chain};
use crate::tuf::{Metadata, Root};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    /// "tuf" or "notary".
    pub dialect: String,
    /// The files in the order they were checked; the first is the trust anchor.
    pub files: Vec<String>,
    pub at: String,
    pub valid: bool,
    pub failure: Option<String>,
    /// Absent when a file could not be read as metadata.
    pub chain: Option<ChainCheck>,
    /// Notary trust folder: `targets.json` and delegated roles, checked against the newest root.
    pub targets: Vec<crate::tuf::notary::TargetsCheck>,
    /// Things to act on soon, e.g. root certificates that expire within 60 days.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// How long before a Notary root certificate ends `verify` starts to warn.
pub const CERTIFICATE_WARNING_DAYS: i64 = 60;

/// A Notary trust folder's targets files: `targets.json`, then `targets/…/*.json` as the roles
/// they name, parents before children.
fn notary_targets_files(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let top = dir.join("targets.json");
    if top.is_file() {
        out.push(("targets".to_string(), top));
    }
    let mut pending = vec![(dir.join("targets"), "targets".to_string())];
    let mut found = Vec::new();
    while let Some((d, prefix)) = pending.pop() {
        if !d.is_dir() {
            continue;
        }
        let rd = std::fs::read_dir(&d).map_err(|e| Error::io("list", &d, &e))?;
        for entry in rd {
            let entry = entry.map_err(|e| Error::io("list", &d, &e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            let path = entry.path();
            if path.is_dir() {
                pending.push((path, format!("{prefix}/{name}")));
            } else if let Some(role) = name.strip_suffix(".json") {
                found.push((format!("{prefix}/{role}"), path));
            }
        }
    }
    found.sort_by(|a, b| (a.0.matches('/').count(), &a.0).cmp(&(b.0.matches('/').count(), &b.0)));
    out.extend(found);
    Ok(out)
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

/// Which metadata dialect to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Auto,
    Tuf,
    Notary,
}

enum Loaded {
    Tuf(Metadata<Root>),
    Notary(crate::tuf::notary::NotaryMetadata),
}

fn load(path: &Path, dialect: Dialect) -> Result<std::result::Result<Loaded, String>> {
    let bytes = std::fs::read(path).map_err(|e| {
        let mut err = Error::io("read", path, &e);
        err.kind = crate::error::ErrorKind::BadInput;
        err
    })?;
    let value = match crate::tuf::json::parse_strict(&bytes) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("{}: {e}", path.display()))),
    };
    let notary = match dialect {
        Dialect::Auto => crate::tuf::notary::is_notary(&value),
        d => d == Dialect::Notary,
    };
    Ok(if notary {
        crate::tuf::notary::NotaryMetadata::from_value(value)
            .map(Loaded::Notary)
            .map_err(|e| format!("{}: {e} (read as Notary metadata)", path.display()))
    } else {
        Metadata::<Root>::from_value(value)
            .map(Loaded::Tuf)
            .map_err(|e| format!("{}: {e}", path.display()))
    })
}

/// Verifies `files` in order (folders expand to their `N.root.json`). The first of `trusted`
/// or `files` is the trust anchor; the rest must follow it version by version. Notary metadata
/// is recognised by its `_type` "Root" (or forced with `dialect`); `gun` is checked against
/// Notary root certificates.
pub fn verify_files(
    trusted: Option<&Path>,
    files: &[PathBuf],
    at: Timestamp,
) -> Result<VerifyReport> {
    verify_files_as(trusted, files, at, Dialect::Auto, None)
}

pub fn verify_files_as(
    trusted: Option<&Path>,
    files: &[PathBuf],
    at: Timestamp,
    dialect: Dialect,
    gun: Option<&str>,
) -> Result<VerifyReport> {
    let mut paths: Vec<PathBuf> = trusted.map(Path::to_path_buf).into_iter().collect();
    // A Notary trust folder (it holds `root.json`) as the last argument: its root ends the
    // chain and its targets files are checked against it.
    let mut files = files.to_vec();
    let mut notary_dir = None;
    if dialect != Dialect::Tuf
        && let Some(last) = files.last().cloned()
        && last.is_dir()
        && last.join("root.json").is_file()
        && (dialect == Dialect::Notary
            || std::fs::read(last.join("root.json"))
                .ok()
                .and_then(|b| crate::tuf::json::parse_strict(&b).ok())
                .is_some_and(|v| crate::tuf::notary::is_notary(&v)))
    {
        files.pop();
        files.push(last.join("root.json"));
        notary_dir = Some(last);
    }
    let dialect = if notary_dir.is_some() {
        Dialect::Notary
    } else {
        dialect
    };
    paths.extend(expand(&files)?);
    if paths.is_empty() {
        return Err(Error::bad_input("no files to verify")
            .hint("name one or more root.json files or a folder"));
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let fail = |d: &str, failure: String| VerifyReport {
        dialect: d.into(),
        files: names.clone(),
        at: format_tuf_time(at),
        valid: false,
        failure: Some(failure),
        chain: None,
        targets: Vec::new(),
        warnings: Vec::new(),
    };
    let mut tuf = Vec::new();
    let mut notary = Vec::new();
    // Read and parse in parallel; judged in order below (the first bad file wins).
    let loaded: Vec<_> = {
        use rayon::prelude::*;
        paths.par_iter().map(|p| load(p, dialect)).collect()
    };
    for l in loaded {
        match l? {
            Ok(Loaded::Tuf(m)) => tuf.push(m),
            Ok(Loaded::Notary(m)) => notary.push(m),
            Err(failure) => {
                return Ok(fail(
                    if dialect == Dialect::Notary {
                        "notary"
                    } else {
                        "tuf"
                    },
                    failure,
                ));
            }
        }
    }
    if !tuf.is_empty() && !notary.is_empty() {
        return Err(
            Error::bad_input("the files mix TUF 1.0 and Notary metadata")
                .hint("verify one history at a time"),
        );
    }
    let (d, chain) = if notary.is_empty() {
        ("tuf", verify_chain(&tuf[0], &tuf[1..], at))
    } else {
        (
            "notary",
            crate::tuf::notary::verify_chain(&notary[0], &notary[1..], at, gun),
        )
    };
    let mut failure = chain.failure.clone();
    let mut targets = Vec::new();
    if let (Some(dir), Some(root)) = (&notary_dir, notary.last())
        && failure.is_none()
    {
        let mut loaded = Vec::new();
        for (role, path) in notary_targets_files(dir)? {
            let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, &e))?;
            match crate::tuf::notary::NotaryTargetsFile::from_bytes(&bytes) {
                Ok(f) => loaded.push((role, f)),
                Err(e) => {
                    failure = Some(format!("{}: {e}", path.display()));
                    break;
                }
            }
        }
        if failure.is_none() {
            targets = crate::tuf::notary::verify_targets(root, &loaded, at);
            failure = targets
                .iter()
                .find(|t| !t.errors.is_empty())
                .map(|t| t.errors.join("; "));
        }
    }
    let mut warnings = Vec::new();
    if failure.is_none()
        && let Some(newest) = notary.last()
        && let Some(end) = crate::tuf::notary::root_certificates_end(newest)
        && end - at < time::Duration::days(CERTIFICATE_WARNING_DAYS)
    {
        warnings.push(format!(
            "a root certificate of version {} ends at {}, within {CERTIFICATE_WARNING_DAYS} days: after that Notary clients refuse this root; renew it now (`rootcellar notary root --previous …` with the same keys)",
            newest.signed.version,
            format_tuf_time(end)
        ));
    }
    Ok(VerifyReport {
        dialect: d.into(),
        files: names,
        at: chain.at.clone(),
        valid: failure.is_none(),
        failure,
        chain: Some(chain),
        targets,
        warnings,
    })
}

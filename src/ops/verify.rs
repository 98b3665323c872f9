//! `rootcellar verify`: a chain of root files checked as a TUF client would.

pub use crate::dialect::Dialect;
use crate::dialect::Doc;
use crate::error::{Error, Result};
pub use crate::transfer::attestations::Check as Attestations;
use crate::tuf::expiry::{Timestamp, format_tuf_time};
use crate::tuf::verify::ChainCheck;
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
    /// Run in a workspace: the names its key records give the key IDs (key ID → name).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub names: std::collections::BTreeMap<String, String>,
    /// With `--attestations`: each key of the newest root and its attestation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attestations: Vec<crate::transfer::attestations::KeyAttestation>,
}

fn load(
    path: &Path,
    forced: Option<&Dialect>,
    gun: Option<&str>,
) -> Result<std::result::Result<Doc, String>> {
    let bytes = crate::readpath::read_input(path)?;
    let value = match crate::tuf::json::parse_strict(&bytes) {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("{}: {e}", path.display()))),
    };
    let d = forced
        .cloned()
        .unwrap_or_else(|| Dialect::of_value(&value, gun));
    Ok(d.parse_value(value)
        .map_err(|e| format!("{}: {e}{}", path.display(), d.texts().read_as)))
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
    verify_files_as(trusted, files, at, &Options::default())
}

/// How `verify` reads and what else it checks.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Read every file in this dialect (else each by its `_type`).
    pub dialect: Option<Dialect>,
    /// Notary: the GUN root certificates must carry.
    pub gun: Option<String>,
    /// A key ID that is not the SHA-256 of its key object fails the chain, as tough checks.
    pub strict_keyids: bool,
    /// Match the newest root's keys to a folder of attestations.
    pub attestations: Option<Attestations>,
    /// Check every signature and name every valid signer (else each count stops at its
    /// threshold, the fewest checks a client makes).
    pub all_signatures: bool,
}

/// As [`verify_files`], with [`Options`].
pub fn verify_files_as(
    trusted: Option<&Path>,
    files: &[PathBuf],
    at: Timestamp,
    o: &Options,
) -> Result<VerifyReport> {
    let (dialect, gun, strict_keyids) = (o.dialect.clone(), o.gun.as_deref(), o.strict_keyids);
    let mut paths: Vec<PathBuf> = trusted.map(Path::to_path_buf).into_iter().collect();
    // A Notary trust folder (it holds `root.json`) as the last argument: its root ends the
    // chain and its targets files are checked against it.
    let mut files = files.to_vec();
    let mut notary_dir = None;
    let notary = Dialect::Notary {
        gun: gun.unwrap_or("").into(),
    };
    if dialect.as_ref() != Some(&Dialect::Tuf)
        && let Some(last) = files.last().cloned()
        && last.is_dir()
        && last.join("root.json").is_file()
        && (dialect.is_some()
            || crate::readpath::read(&last.join("root.json"), crate::readpath::Kind::Metadata)
                .ok()
                .and_then(|b| crate::tuf::json::parse_strict(&b).ok())
                .is_some_and(|v| crate::dialect::is_notary_value(&v)))
    {
        files.pop();
        files.push(last.join("root.json"));
        notary_dir = Some(last);
    }
    let dialect = if notary_dir.is_some() {
        Some(notary.clone())
    } else {
        dialect
    };
    paths.extend(crate::readpath::expand_roots(&files)?);
    if paths.is_empty() {
        return Err(Error::bad_input("no files to verify")
            .hint("name one or more root.json files or a folder"));
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    // Read and parse in parallel; judged in order below (the first bad file wins).
    let loaded: Vec<_> = {
        use rayon::prelude::*;
        paths
            .par_iter()
            .map(|p| load(p, dialect.as_ref(), gun))
            .collect()
    };
    let mut docs = Vec::new();
    for l in loaded {
        match l? {
            Ok(d) => docs.push(d),
            Err(failure) => {
                return Ok(VerifyReport {
                    dialect: dialect.as_ref().unwrap_or(&Dialect::Tuf).key().into(),
                    files: names.clone(),
                    at: format_tuf_time(at),
                    valid: false,
                    failure: Some(failure),
                    chain: None,
                    targets: Vec::new(),
                    warnings: Vec::new(),
                    names: Default::default(),
                    attestations: Vec::new(),
                });
            }
        }
    }
    let d = if docs.iter().all(|m| notary.accepts(m)) {
        notary
    } else if docs.iter().all(|m| Dialect::Tuf.accepts(m)) {
        Dialect::Tuf
    } else {
        return Err(
            Error::bad_input("the files mix TUF 1.0 and Notary metadata")
                .hint("verify one history at a time"),
        );
    };
    // The chain, and beside it (on the same threads) what the notes need: key IDs that change
    // key material and key IDs that are not the hash of their key object.
    let (chain, (changed, mismatches)) = rayon::join(
        || d.verify_chain_naming(&docs[0], &docs[1..], at, o.all_signatures),
        || {
            (
                crate::dialect::changed_key_ids(&docs.iter().collect::<Vec<_>>()),
                crate::dialect::keyid_mismatches_in(&docs),
            )
        },
    );
    let mut failure = chain.failure.clone();
    let mut targets = Vec::new();
    if let (Some(dir), Some(root)) = (&notary_dir, docs.last())
        && failure.is_none()
    {
        (targets, failure) = d.verify_targets_folder(root, dir, at)?;
    }
    let mut warnings = match (&failure, docs.last()) {
        (None, Some(newest)) => d.verify_warnings(newest, at),
        _ => Vec::new(),
    };
    for c in changed {
        warnings.push(format!(
            "{c}: a review that compares key IDs would not see this key change"
        ));
    }
    let (fails, notes) = crate::tuf::verify::keyid_notes(&mismatches, strict_keyids);
    if failure.is_none() {
        failure = fails;
    }
    warnings.extend(notes);
    let mut attestations = Vec::new();
    if let (Some(a), Some(newest)) = (&o.attestations, docs.last()) {
        let keys: Vec<_> = (newest.key_ids().into_iter())
            .map(|id| (id.clone(), newest.roles_of_id(id), newest.material(id)))
            .collect();
        let found = crate::transfer::attestations::read(&a.dir)?;
        let anchors = crate::workspace::attestation_anchors()?;
        let fails;
        (attestations, fails) =
            crate::transfer::attestations::check(&found, &keys, &anchors, at, &a.req);
        if failure.is_none() && !fails.is_empty() {
            failure = Some(format!("attestations: {}", fails.join("; ")));
        }
    }
    // A long history is a great many small allocations: they are freed on a worker thread while
    // the report is written.
    rayon::spawn(move || drop(docs));
    Ok(VerifyReport {
        dialect: d.key().into(),
        files: names,
        at: chain.at.clone(),
        valid: failure.is_none(),
        failure,
        chain: Some(chain),
        targets,
        warnings,
        names: Default::default(),
        attestations,
    })
}

/// `rootcellar verify`: as [`verify_files_as`], as of `at` (RFC 3339 or a date; default now).
pub fn verify_at(
    ctx: &super::context::Context,
    trusted: Option<&Path>,
    files: &[PathBuf],
    at: Option<&str>,
    o: &Options,
) -> Result<VerifyReport> {
    let at = match at {
        Some(s) => crate::tuf::expiry::parse_user_time(s, ctx.now)
            .map_err(|e| Error::bad_input(e).hint("e.g. --at 2026-01-01"))?,
        None => ctx.now,
    };
    let mut r = verify_files_as(trusted, files, at, o)?;
    // Signers by name where this workspace knows them.
    if let Ok(keys) = ctx.workspace().and_then(|ws| ws.keys()) {
        r.names = keys.into_iter().map(|k| (k.keyid, k.name)).collect();
    }
    Ok(r)
}

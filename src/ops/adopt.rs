//! `rootcellar adopt DIR`: continue an existing TUF root history (python-tuf, tuftool,
//! tuf-on-ci, sigstore) — its published roots are verified as a client would and copied byte for
//! byte, and the public keys of the latest root are registered, so the next ceremony stages the
//! next version.

use super::context::Context;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::report::KeyInfo;
use crate::tuf::expiry::format_tuf_time;
use crate::tuf::verify::verify_chain;
use crate::tuf::{Metadata, Root};
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AdoptReport {
    pub first: u64,
    pub last: u64,
    pub keys: Vec<KeyInfo>,
    pub warnings: Vec<String>,
}

/// Adopts the `N.root.json` files of `dir` (from version `from` on, when given).
pub fn adopt(ctx: &Context, dir: &Path, from: Option<u64>) -> Result<AdoptReport> {
    let ws = ctx.workspace()?;
    Dialect::of(&ws).tuf_only()?;
    let _lock = ws.lock_only()?;
    // An adopt interrupted after its transcript line (its intent) is finished, not refused.
    let resume = ws.resume_interrupted("adopt")?;
    ws.check_bound()?;
    let has_history = !ws.published_files()?.is_empty() || ws.staged_raw()?.is_some();
    // Run again after it completed (a crash in its last step): the same adopt is done already.
    let done = (ws.transcript()?.entries.last())
        .filter(|e| e.action == "adopt" && has_history && resume.is_none())
        .map(|e| e.detail.clone());
    let history_already = || {
        Error::refused("this workspace has a root history already")
            .hint("adopt into a new workspace (`rootcellar init` in an empty folder)")
    };
    if resume.is_none() && has_history && done.is_none() {
        return Err(history_already());
    }
    let mut files = crate::readpath::expand_roots(&[dir.to_path_buf()])?;
    let version_of = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split('.').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    if let Some(f) = from {
        files.retain(|p| version_of(p) >= f);
    }
    if files.is_empty() {
        return Err(Error::bad_input(format!(
            "{} holds no N.root.json files to adopt",
            dir.display()
        )));
    }
    let mut roots = Vec::new();
    for p in &files {
        let bytes = crate::readpath::read_input(p)?;
        let md = Metadata::<Root>::from_bytes(&bytes).map_err(|e| {
            Error::refused(format!("{}: {e}", p.display())).hint(format!(
                "a TUF 1.0 client cannot read it either; adopt from a later version on with --from N (e.g. --from {})",
                version_of(p) + 1
            ))
        })?;
        roots.push((bytes, md));
    }
    let mds: Vec<Metadata<Root>> = roots.iter().map(|(_, m)| m.clone()).collect();
    let mut warnings = Vec::new();
    let mut chain = verify_chain(&mds[0], &mds[1..], ctx.now);
    let last = &mds[mds.len() - 1];
    if !chain.valid
        && let Ok(exp) = last.signed.expires_at()
        && exp <= ctx.now
    {
        // An expired history is what one adopts in order to refresh it: check the links as of
        // just before the last root expired, and say so.
        chain = verify_chain(
            &mds[0],
            &mds[1..],
            exp.checked_sub(time::Duration::seconds(1)).unwrap_or(exp),
        );
        if chain.valid {
            warnings.push(format!(
                "root version {} EXPIRED on {}: clients refuse it until a refreshed version is published (`rootcellar refresh`)",
                last.signed.version, last.signed.expires
            ));
        }
    }
    let docs: Vec<crate::dialect::Doc> =
        mds.iter().cloned().map(crate::dialect::Doc::Tuf).collect();
    for c in crate::dialect::changed_key_ids(&docs.iter().collect::<Vec<_>>()) {
        warnings.push(format!(
            "{c}: rootcellar counts each key by its public key, but a review by key ID would miss this; the next version you stage must not reuse such an ID"
        ));
    }
    if let Some(f) = chain.failure {
        return Err(Error::refused(format!("the history does not verify: {f}"))
            .hint("nothing was adopted; check the files"));
    }
    if mds[0].signed.version > 1 {
        warnings.push(format!(
            "the history starts at version {}: clients must already trust version {} or later",
            mds[0].signed.version, mds[0].signed.version
        ));
    }
    let recs = ws.adopted_key_records(&last.signed, &format_tuf_time(ctx.now), &mut warnings)?;
    let keys: Vec<KeyInfo> = recs.iter().map(KeyInfo::of).collect();
    let detail = serde_json::json!({
        "source": dir.display().to_string(),
        "first": mds[0].signed.version,
        "last": last.signed.version,
        "keys": keys.iter().map(|k| k.keyid.clone()).collect::<Vec<_>>(),
        // What the transcript binds: each file adopted, each key registered.
        "files": roots.iter().map(|(b, md)| serde_json::json!({
            "role": "root", "version": md.signed.version, "sha256": crate::workspace::digest_hex(b),
        })).collect::<Vec<_>>(),
        "key_names": keys.iter().map(|k| serde_json::json!({"key": k.name, "keyid": k.keyid})).collect::<Vec<_>>(),
    });
    // The intent first: a crash below leaves files the transcript vouches for, and the next
    // `adopt` of the same source writes the rest.
    if let Some(d) = done {
        if d["files"] != detail["files"] {
            return Err(history_already());
        }
        warnings.push("this history was adopted already: nothing to do".into());
        return Ok(AdoptReport {
            first: mds[0].signed.version,
            last: last.signed.version,
            keys,
            warnings,
        });
    }
    match resume {
        Some(d) if d["files"] != detail["files"] => {
            return Err(
                Error::refused("an adopt of another history was interrupted here").hint(format!(
                    "finish it: rootcellar adopt {}",
                    d["source"].as_str().unwrap_or("SOURCE")
                )),
            );
        }
        Some(d) => ctx.notice(format!(
            "finishing the adopt of {} that was interrupted",
            d["source"].as_str().unwrap_or("?")
        )),
        None => ctx.record(&ws, "adopt", detail)?,
    }
    for rec in &recs {
        ws.add_key_record_once(rec)?;
    }
    // The files, byte for byte: their signatures are over what they hold.
    for (bytes, md) in &roots {
        ws.write_published_once(md.signed.version, bytes)?;
    }
    let (_, latest) = ws.published_paths(last.signed.version);
    crate::atomic::write_public(&latest, &roots[roots.len() - 1].0)?;
    Ok(AdoptReport {
        first: mds[0].signed.version,
        last: last.signed.version,
        keys,
        warnings,
    })
}

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
use crate::workspace::{Backend, KeyRecord, check_name};
use serde::Serialize;
use std::path::Path;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AdoptReport {
    pub first: u64,
    pub last: u64,
    pub keys: Vec<KeyInfo>,
    pub warnings: Vec<String>,
}

fn key_name(owner: Option<&str>, role: &str, keyid: &str) -> String {
    let clean: String = owner
        .unwrap_or("")
        .trim_start_matches('@')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if clean.is_empty() {
        // A key ID is a label from the file: only its letters and digits go into a name.
        let id: String = keyid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let role: String = role
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(32)
            .collect();
        format!("{role}-{}", if id.is_empty() { "key" } else { &id })
    } else {
        clean.chars().take(48).collect()
    }
}

/// Adopts the `N.root.json` files of `dir` (from version `from` on, when given).
pub fn adopt(ctx: &Context, dir: &Path, from: Option<u64>) -> Result<AdoptReport> {
    let ws = ctx.workspace()?;
    Dialect::of(&ws).tuf_only()?;
    let _lock = ws.lock()?;
    if !ws.published_files()?.is_empty() || ws.staged_raw()?.is_some() {
        return Err(Error::refused("this workspace has a root history already")
            .hint("adopt into a new workspace (`rootcellar init` in an empty folder)"));
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
    // Everything below writes; on any failure, what was created is removed again.
    let mut created: Vec<std::path::PathBuf> = Vec::new();
    let result = (|| -> Result<Vec<KeyInfo>> {
        // Register the public keys of the latest root.
        let mut keys = Vec::new();
        let mut taken: Vec<String> = ws.keys()?.into_iter().map(|r| r.name).collect();
        for (keyid, key) in &last.signed.keys {
            if &key.keyid() != keyid {
                warnings.push(format!("key {} is listed under an ID that is not its hash: registered under that ID, as the history lists it (python-tuf and go-tuf take key IDs as labels; clients built on tough refuse such a root)", keyid.chars().take(12).collect::<String>()));
            }
            let Ok(pk) = key.decode() else {
                warnings.push(format!(
                    "key {}: unsupported type, not registered",
                    keyid.chars().take(12).collect::<String>()
                ));
                continue;
            };
            let role = last
                .signed
                .roles
                .iter()
                .find(|(_, r)| r.keyids.contains(keyid))
                .map(|(n, _)| n.as_str())
                .unwrap_or("key");
            let owner = key
                .extra
                .get("x-tuf-on-ci-keyowner")
                .and_then(|v| v.as_str());
            let base = key_name(owner, role, keyid);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            check_name(&name)?;
            if ws.check_new_key(&name, key).is_err() {
                continue;
            }
            // The record keeps the key exactly as the root lists it (extra fields included), so
            // its key ID is the root's.
            let rec = KeyRecord {
                keyid: keyid.clone(),
                ..KeyRecord::new(
                    &name,
                    key.clone(),
                    pk.algorithm(),
                    Backend::Public,
                    None,
                    format_tuf_time(ctx.now),
                )
            };
            ws.add_key_record(&rec)?;
            created.push(ws.keys_dir().join(format!("{name}.json")));
            taken.push(name);
            keys.push(KeyInfo::of(&rec));
        }
        // The files, byte for byte: their signatures are over what they hold.
        for (bytes, md) in &roots {
            let (versioned, _) = ws.published_paths(md.signed.version);
            crate::atomic::write_new_public(&versioned, bytes)?;
            created.push(versioned);
        }
        let (_, latest) = ws.published_paths(last.signed.version);
        crate::atomic::write_public(&latest, &roots[roots.len() - 1].0)?;
        created.push(latest);

        Ok(keys)
    })();
    let keys = match result {
        Ok(k) => k,
        Err(e) => {
            for p in created.iter().rev() {
                let _ = std::fs::remove_file(p);
            }
            return Err(e);
        }
    };
    ctx.record(
        &ws,
        "adopt",
        serde_json::json!({
            "source": dir.display().to_string(),
            "first": mds[0].signed.version,
            "last": last.signed.version,
            "keys": keys.iter().map(|k| k.keyid.clone()).collect::<Vec<_>>(),
            // What the transcript binds: each file adopted, each key registered.
            "files": roots.iter().map(|(b, md)| serde_json::json!({
                "role": "root", "version": md.signed.version, "sha256": crate::workspace::digest_hex(b),
            })).collect::<Vec<_>>(),
            "key_names": keys.iter().map(|k| serde_json::json!({"key": k.name, "keyid": k.keyid})).collect::<Vec<_>>(),
        }),
    )?;
    Ok(AdoptReport {
        first: mds[0].signed.version,
        last: last.signed.version,
        keys,
        warnings,
    })
}

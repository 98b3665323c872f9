//! Tagging keys the Docker way in a Notary workspace: `delegate add targets/releases --key K`
//! writes Notary targets metadata (`_type` "Targets") whose delegations name the key, signed
//! with the repository (targets) key of the published Notary root.
//!
//! Notary's rules, as its Go code applies them: a delegated role is `targets/NAME` (lower-case
//! letters, digits, `-`, `_`, `/`, clean, under 256 bytes); its paths are prefixes, `""` meaning
//! every path; delegation keys are Notary key objects (`ecdsa` SPKI or `ed25519`). The targets a
//! repository already lists are kept: import the trust folder with its `targets.json` first.
//!
//! Invariant: nothing is written unless the new targets metadata meets the targets threshold of
//! the published root and verifies as Notary checks it.

use super::Context;
use super::delegate::{RoleSummary, SignWith, TargetsReport};
use super::notary_ws::{gun_of, published};
use crate::error::{Error, Result};
use crate::tuf::notary::{
    NotaryDelegation, NotaryKey, NotaryMetadata, NotarySignature, NotaryTargets, NotaryTargetsFile,
    check_threshold, verify_targets,
};
use crate::workspace::{Backend, KeyRecord, Workspace};
use std::collections::{BTreeMap, BTreeSet};

/// Whether `role` is a delegation name Notary accepts.
pub fn check_role_name(role: &str) -> Result<()> {
    let clean = !role.ends_with('/')
        && !role.contains("//")
        && role
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..");
    let chars = role
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_/".contains(c));
    if role.starts_with("targets/") && clean && chars && role.len() < 256 {
        return Ok(());
    }
    Err(Error::bad_input(format!(
        "{role:?} is not a Notary delegation name"
    ))
    .hint("name it targets/NAME with lower-case letters, digits, - and _ (e.g. targets/releases, as Docker does)"))
}

/// Notary paths are prefixes: `""` (all) by default; a glob would be taken literally.
fn notary_paths(paths: &[String]) -> Result<Vec<String>> {
    if paths.is_empty() {
        return Ok(vec![String::new()]);
    }
    for p in paths {
        if p.contains('*') {
            return Err(Error::bad_input(format!(
                "path {p:?}: Notary delegation paths are prefixes, not patterns; a '*' would be taken literally"
            ))
            .hint("give a prefix like library/, or leave out --paths for every path (\"\")"));
        }
    }
    Ok(paths.to_vec())
}

/// The published Notary targets metadata, if any.
pub fn current(ws: &Workspace) -> Result<Option<NotaryTargetsFile>> {
    let Some(bytes) = ws.targets_raw()? else {
        return Ok(None);
    };
    NotaryTargetsFile::from_bytes(&bytes)
        .map(Some)
        .map_err(|e| {
            Error::refused(format!("metadata/targets.json is unreadable: {e}"))
                .hint("restore the file from your export or backup")
        })
}

fn file_bytes(signed: &NotaryTargets, signatures: &[NotarySignature]) -> Result<Vec<u8>> {
    serde_json::to_vec(&serde_json::json!({"signed": signed, "signatures": signatures}))
        .map_err(|e| Error::environment(e.to_string()))
}

/// The workspace keys that stand in the targets role of `root` and can sign here.
fn targets_signers(
    ws: &Workspace,
    root: &NotaryMetadata,
    how: &SignWith,
) -> Result<Vec<(String, KeyRecord)>> {
    let role = root
        .signed
        .roles
        .get("targets")
        .ok_or_else(|| Error::refused("the published root has no targets role"))?;
    let ids: Vec<(String, Vec<u8>)> = role
        .keyids
        .iter()
        .filter_map(|id| {
            let k = root.signed.keys.get(id)?;
            let (pk, _) = k.decode(None).ok()?;
            Some((id.clone(), pk.identity()))
        })
        .collect();
    let id_of = |r: &KeyRecord| -> Option<String> {
        let me = r.public_key().ok()?.identity();
        ids.iter().find(|(_, i)| *i == me).map(|(id, _)| id.clone())
    };
    let mut out = Vec::new();
    if how.keys.is_empty() {
        for r in ws.keys()? {
            if r.backend != Backend::Public
                && r.destroyed_at.is_none()
                && let Some(id) = id_of(&r)
            {
                out.push((id, r));
            }
        }
        if out.is_empty() {
            return Err(Error::refused(format!(
                "this workspace holds no targets key of root version {} that can sign",
                root.signed.version
            ))
            .hint("generate or add the repository (targets) key here, or sign where it is held"));
        }
    } else {
        for k in &how.keys {
            let r = ws.resolve_key(k)?;
            let id = id_of(&r).ok_or_else(|| {
                Error::refused(format!(
                    "key {} is not a targets key of root version {}",
                    r.name, root.signed.version
                ))
                .hint("sign with the repository (targets) key the published root names")
            })?;
            out.push((id, r));
        }
    }
    Ok(out)
}

fn update(
    ctx: &Context,
    how: &SignWith,
    edit: impl FnOnce(&mut NotaryTargets, &Workspace) -> Result<()>,
) -> Result<TargetsReport> {
    let ws = ctx.workspace()?;
    let gun = gun_of(&ws)?;
    let _lock = ws.lock()?;
    let root = published(&ws)?.pop().ok_or_else(|| {
        Error::refused("no root is published yet").hint(
            "publish version 1 first (its targets role names the key that signs delegations), or `rootcellar import notary DIR`",
        )
    })?;
    let mut next = match current(&ws)? {
        Some(c) => c.signed,
        None => NotaryTargets {
            type_: "Targets".into(),
            version: 0,
            expires: String::new(),
            targets: BTreeMap::new(),
            delegations: Default::default(),
            extra: BTreeMap::new(),
        },
    };
    next.version = super::delegate::next_version(next.version)?;
    next.expires = super::delegate::targets_expiry(ctx, &ws, how)?;
    edit(&mut next, &ws)?;
    // Keys no role uses any more leave; every role keeps at least `threshold` keys.
    let used: BTreeSet<String> = next
        .delegations
        .roles
        .iter()
        .flat_map(|r| r.keyids.iter().cloned())
        .collect();
    next.delegations.keys.retain(|k, _| used.contains(k));
    for r in &next.delegations.roles {
        if r.threshold == 0 || (r.keyids.len() as u64) < r.threshold {
            return Err(Error::refused(format!(
                "delegated role {} would have {} key(s) for a threshold of {}",
                r.name,
                r.keyids.len(),
                r.threshold
            ))
            .hint("add keys or lower --threshold"));
        }
    }
    let unsigned = NotaryTargetsFile::from_bytes(&file_bytes(&next, &[])?).map_err(|e| {
        Error::refused(format!("the targets metadata would not parse: {e}"))
            .hint("nothing was written")
    })?;
    let message = unsigned.canonical_signed().to_vec();
    let signers = targets_signers(&ws, &root, how)?;
    ctx.air_gap("sign with a private key")?;
    let mut signatures = Vec::new();
    let mut signed_by = Vec::new();
    for (id, r) in &signers {
        let signer = ctx.signer(&ws, r)?;
        ctx.touch_notice(r, "sign the targets metadata");
        signatures.push(super::notary::sign(signer.as_ref(), id, &message)?);
        signed_by.push(r.name.clone());
    }
    let bytes = file_bytes(&next, &signatures)?;
    let md = NotaryTargetsFile::from_bytes(&bytes)
        .map_err(|e| Error::environment(format!("the targets metadata just made: {e}")))?;
    let role = root
        .signed
        .roles
        .get("targets")
        .cloned()
        .ok_or_else(|| Error::refused("the published root has no targets role"))?;
    let check = check_threshold(
        "targets",
        &md.signatures,
        md.canonical_signed(),
        &root.signed.keys,
        &role,
        None,
        Some(&gun),
    );
    if !check.met {
        return Err(Error::refused(format!(
            "the targets metadata has {} of the {} targets signatures it needs",
            check.count(),
            check.threshold
        ))
        .hint("sign with more targets keys (--sign-with K); nothing was written"));
    }
    if let Some(c) = verify_targets(&root, &[("targets".to_string(), md.clone())], ctx.now)
        .into_iter()
        .find(|c| !c.errors.is_empty())
    {
        return Err(Error::refused(format!(
            "the targets metadata just made does not verify: {}",
            c.errors.join("; ")
        ))
        .hint("nothing was written"));
    }
    let (a, b) = ws.publish_role_raw("targets", md.signed.version, &bytes)?;
    ctx.record(
        &ws,
        "targets-published",
        serde_json::json!({
            "format": "notary",
            "gun": gun,
            "version": md.signed.version,
            "signed_sha256": crate::workspace::digest_hex(md.canonical_signed()),
            "file_sha256": crate::workspace::digest_hex(&bytes),
            "signed_by": md.signatures.iter().map(|s| s.keyid.clone()).collect::<Vec<_>>(),
            "delegations": md.signed.delegations.roles.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        }),
    )?;
    Ok(TargetsReport {
        version: md.signed.version,
        expires: md.signed.expires.clone(),
        roles: summaries(&ws, &md.signed)?,
        signed_by,
        files: vec![a, b],
    })
}

fn summaries(ws: &Workspace, t: &NotaryTargets) -> Result<Vec<RoleSummary>> {
    let records = super::notary_ws::Holders::of(ws)?;
    let name_of = |id: &String| records.label(&t.delegations.keys, id);
    Ok(t.delegations
        .roles
        .iter()
        .map(|r| RoleSummary {
            name: r.name.clone(),
            file: format!("{}.json", r.name),
            keys: r.keyids.iter().map(name_of).collect(),
            threshold: r.threshold,
            paths: r.paths.clone(),
            terminating: false,
        })
        .collect())
}

/// A workspace key as a Notary delegation key object.
fn delegation_key(ws: &Workspace, k: &str) -> Result<(String, NotaryKey, String)> {
    let rec = ws.resolve_key(k)?;
    let key = super::notary::online_key(&rec.public_key()?)?;
    Ok((key.keyid(), key, rec.name))
}

/// `delegate add targets/NAME --key K… [--threshold N] [--paths PREFIX…]` in a Notary workspace.
pub fn add(
    ctx: &Context,
    role: &str,
    keys: &[String],
    threshold: u64,
    paths: &[String],
    terminating: bool,
    how: &SignWith,
) -> Result<TargetsReport> {
    check_role_name(role)?;
    if terminating {
        return Err(
            Error::bad_input("Notary delegations have no terminating flag")
                .hint("leave out --terminating in a Notary workspace"),
        );
    }
    if keys.is_empty() {
        return Err(
            Error::bad_input("a delegated role needs at least one key").hint("give --key K")
        );
    }
    let paths = notary_paths(paths)?;
    update(ctx, how, |t, ws| {
        if t.delegations.roles.iter().any(|r| r.name == role) {
            return Err(Error::refused(format!("role {role} is delegated already"))
                .hint("use `delegate rotate` or `delegate remove`"));
        }
        let mut keyids = Vec::new();
        for k in keys {
            let (id, key, name) = delegation_key(ws, k)?;
            if keyids.contains(&id) {
                return Err(Error::bad_input(format!("key {name} is given twice"))
                    .hint("name each key once"));
            }
            t.delegations.keys.insert(id.clone(), key);
            keyids.push(id);
        }
        t.delegations.roles.push(NotaryDelegation {
            name: role.into(),
            keyids,
            threshold,
            paths,
            extra: BTreeMap::new(),
        });
        Ok(())
    })
}

/// `delegate remove targets/NAME` in a Notary workspace.
pub fn remove(ctx: &Context, role: &str, how: &SignWith) -> Result<TargetsReport> {
    update(ctx, how, |t, _| {
        let before = t.delegations.roles.len();
        t.delegations.roles.retain(|r| r.name != role);
        if t.delegations.roles.len() == before {
            return Err(Error::refused(format!("role {role} is not delegated"))
                .hint("`rootcellar delegate list` shows the roles"));
        }
        Ok(())
    })
}

/// `delegate rotate targets/NAME --old K --new K` in a Notary workspace.
pub fn rotate(
    ctx: &Context,
    role: &str,
    old: &str,
    new: &str,
    how: &SignWith,
) -> Result<TargetsReport> {
    update(ctx, how, |t, ws| {
        let (old_id, _, _) = delegation_key(ws, old)?;
        let (new_id, new_key, _) = delegation_key(ws, new)?;
        let r = t
            .delegations
            .roles
            .iter_mut()
            .find(|r| r.name == role)
            .ok_or_else(|| {
                Error::refused(format!("role {role} is not delegated"))
                    .hint("`rootcellar delegate list` shows the roles")
            })?;
        let pos = r.keyids.iter().position(|k| *k == old_id).ok_or_else(|| {
            Error::refused(format!("key {old} is not a key of role {role}"))
                .hint("`rootcellar delegate list` shows the role's keys")
        })?;
        if r.keyids.contains(&new_id) {
            return Err(
                Error::refused(format!("key {new} is a key of role {role} already"))
                    .hint("name another key"),
            );
        }
        r.keyids[pos] = new_id.clone();
        t.delegations.keys.insert(new_id, new_key);
        Ok(())
    })
}

/// `delegate list` in a Notary workspace.
pub fn list(ctx: &Context) -> Result<Vec<RoleSummary>> {
    let ws = ctx.workspace()?;
    match current(&ws)? {
        Some(t) => summaries(&ws, &t.signed),
        None => Ok(Vec::new()),
    }
}

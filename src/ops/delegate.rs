//! Delegations for tagging keys: `delegate add|remove|rotate` edit the top-level targets
//! metadata, sign it with the targets key(s) of the published root (software, HSM or YubiKey),
//! check the targets threshold, and publish `N.targets.json` / `targets.json`. The TUF form of
//! Docker Content Trust's `targets/releases` and `docker trust signer add`.
//!
//! Invariant: nothing is written unless the new targets metadata meets the targets threshold of
//! the published root.

use super::Context;
use crate::error::{Error, Result};
use crate::tuf::edit::SPEC_VERSION;
use crate::tuf::expiry::{format_tuf_time, parse_user_time, truncate};
use crate::tuf::metadata::{DelegatedRole, Delegations, role_file_name};
use crate::tuf::verify::check_threshold;
use crate::tuf::{Metadata, Signature, Targets};
use crate::workspace::Backend;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RoleSummary {
    pub name: String,
    pub file: String,
    pub keys: Vec<String>,
    pub threshold: u64,
    pub paths: Vec<String>,
    pub terminating: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TargetsReport {
    pub version: u64,
    pub expires: String,
    pub roles: Vec<RoleSummary>,
    pub signed_by: Vec<String>,
    pub files: Vec<PathBuf>,
}

/// Who signs the targets metadata, and until when it is valid.
#[derive(Clone, Debug, Default)]
pub struct SignWith {
    pub keys: Vec<String>,
    pub expires: Option<String>,
}

/// The version after `v` of targets metadata.
pub(super) fn next_version(v: u64) -> Result<u64> {
    v.checked_add(1)
        .ok_or_else(|| Error::refused("targets version overflow"))
}

/// When new targets metadata expires: `--expires`, else the workspace's `targets_expiry`.
pub(super) fn targets_expiry(
    ctx: &Context,
    ws: &crate::workspace::Workspace,
    how: &SignWith,
) -> Result<String> {
    let exp = truncate(
        parse_user_time(
            how.expires.as_deref().unwrap_or(&ws.config.targets_expiry),
            ctx.now,
        )
        .map_err(Error::bad_input)?,
    );
    if exp <= ctx.now {
        return Err(Error::bad_input(format!(
            "expiry {} is not in the future",
            format_tuf_time(exp)
        ))
        .hint("give a later date or a span like 90d"));
    }
    Ok(format_tuf_time(exp))
}

fn update(
    ctx: &Context,
    how: &SignWith,
    edit: impl FnOnce(&mut Targets, &crate::workspace::Workspace) -> Result<()>,
) -> Result<TargetsReport> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    let root = ws.published()?.pop().ok_or_else(|| {
        Error::refused("no root is published yet")
            .hint("publish version 1 first: its targets role names the keys that sign delegations")
    })?;
    let current = ws.targets()?;
    let mut next = match &current {
        Some(c) => c.signed.clone(),
        None => Targets {
            type_: "targets".into(),
            spec_version: SPEC_VERSION.into(),
            version: 0,
            expires: String::new(),
            targets: BTreeMap::new(),
            delegations: None,
            extra: BTreeMap::new(),
        },
    };
    next.version = next_version(next.version)?;
    next.expires = targets_expiry(ctx, &ws, how)?;
    edit(&mut next, &ws)?;
    // Keys no role uses any more leave; every role keeps at least `threshold` keys.
    if let Some(d) = &mut next.delegations {
        let used: BTreeSet<String> = d
            .roles
            .iter()
            .flat_map(|r| r.keyids.iter().cloned())
            .collect();
        d.keys.retain(|k, _| used.contains(k));
        for r in &d.roles {
            if (r.keyids.len() as u64) < r.threshold {
                return Err(Error::refused(format!(
                    "delegated role {} would have {} key(s) for a threshold of {}",
                    r.name,
                    r.keyids.len(),
                    r.threshold
                ))
                .hint("add keys or lower --threshold"));
            }
        }
    }
    let mut md = Metadata::new(next)
        .map_err(|e| Error::refused(e.to_string()).hint("nothing was written"))?;
    let role = root
        .signed
        .role("targets")
        .cloned()
        .ok_or_else(|| Error::refused("the published root has no targets role"))?;
    let recs = if how.keys.is_empty() {
        let mut v = Vec::new();
        for id in &role.keyids {
            if let Some(r) = ws.key_by_id(id)?
                && r.backend != Backend::Public
                && r.destroyed_at.is_none()
            {
                v.push(r);
            }
        }
        v
    } else {
        how.keys
            .iter()
            .map(|k| ws.resolve_key(k))
            .collect::<Result<Vec<_>>>()?
    };
    for r in &recs {
        if !role.keyids.contains(&r.keyid) {
            return Err(Error::refused(format!(
                "key {} is not a targets key of root version {}",
                r.name, root.signed.version
            ))
            .hint("sign with a targets key (`rootcellar root show`)"));
        }
    }
    if recs.is_empty() {
        return Err(Error::refused(format!(
            "this workspace holds no targets key of root version {} that can sign",
            root.signed.version
        ))
        .hint("generate or add the targets key here, or sign where it is held"));
    }
    ctx.air_gap("sign with a private key")?;
    let mut signed_by = Vec::new();
    for r in &recs {
        let sig = ctx.signer(&ws, r)?.sign(md.canonical_signed())?;
        crate::tuf::sig::verify(&r.public_key()?, md.canonical_signed(), &hex::encode(&sig))
            .map_err(|e| {
                Error::environment(format!(
                    "the signature just made by {} does not verify: {e}",
                    r.name
                ))
            })?;
        md.signatures.push(Signature::new(r.keyid.clone(), &sig));
        signed_by.push(r.name.clone());
    }
    let check = check_threshold(
        "targets",
        md.canonical_signed(),
        &md.signatures,
        &root.signed.keys,
        &role,
    );
    if !check.met {
        return Err(Error::refused(format!(
            "the targets metadata has {} of the {} targets signatures it needs",
            check.count(),
            check.threshold
        ))
        .hint("sign with more targets keys (--sign-with K); nothing was written"));
    }
    let files = ws.publish_targets(&md)?;
    ctx.record(
        &ws,
        "targets-published",
        serde_json::json!({
            "version": md.signed.version,
            "signed_sha256": crate::workspace::digest_hex(md.canonical_signed()),
            "signed_by": md.signatures.iter().map(|s| s.keyid.clone()).collect::<Vec<_>>(),
        }),
    )?;
    let roles = md
        .signed
        .delegations
        .as_ref()
        .map(|d| {
            d.roles
                .iter()
                .map(|r| RoleSummary {
                    name: r.name.clone(),
                    file: role_file_name(&r.name).unwrap_or_default(),
                    keys: r
                        .keyids
                        .iter()
                        .map(|id| super::key_label(&ws, id))
                        .collect(),
                    threshold: r.threshold,
                    paths: r.paths.clone().unwrap_or_default(),
                    terminating: r.terminating,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(TargetsReport {
        version: md.signed.version,
        expires: md.signed.expires.clone(),
        roles,
        signed_by,
        files,
    })
}

/// Whether the workspace keeps Notary metadata (its delegations are Notary's).
fn is_notary(ctx: &Context) -> bool {
    ctx.workspace().is_ok_and(|ws| ws.notary_gun().is_some())
}

/// `rootcellar delegate add ROLE --key K… [--threshold N] [--paths P…] [--terminating]`.
pub fn add(
    ctx: &Context,
    role: &str,
    keys: &[String],
    threshold: u64,
    paths: &[String],
    terminating: bool,
    how: &SignWith,
) -> Result<TargetsReport> {
    if is_notary(ctx) {
        return super::notary_delegate::add(ctx, role, keys, threshold, paths, terminating, how);
    }
    role_file_name(role)
        .map_err(|e| Error::bad_input(e).hint("use a name like releases or targets/releases"))?;
    if keys.is_empty() {
        return Err(
            Error::bad_input("a delegated role needs at least one key").hint("give --key K")
        );
    }
    update(ctx, how, |t, ws| {
        let d = t.delegations.get_or_insert_with(|| Delegations {
            keys: BTreeMap::new(),
            roles: Vec::new(),
            extra: BTreeMap::new(),
        });
        if d.roles.iter().any(|r| r.name == role) {
            return Err(Error::refused(format!("role {role} is delegated already"))
                .hint("use `delegate rotate` or `delegate remove`"));
        }
        let mut keyids = Vec::new();
        for k in keys {
            let rec = ws.resolve_key(k)?;
            if keyids.contains(&rec.keyid) {
                return Err(Error::bad_input(format!("key {} is given twice", rec.name))
                    .hint("name each key once"));
            }
            d.keys.insert(rec.keyid.clone(), rec.key.clone());
            keyids.push(rec.keyid);
        }
        d.roles.push(DelegatedRole {
            name: role.into(),
            keyids,
            threshold,
            terminating,
            paths: Some(if paths.is_empty() {
                vec!["*".into()]
            } else {
                paths.to_vec()
            }),
            path_hash_prefixes: None,
            extra: BTreeMap::new(),
        });
        Ok(())
    })
}

/// `rootcellar delegate remove ROLE`.
pub fn remove(ctx: &Context, role: &str, how: &SignWith) -> Result<TargetsReport> {
    if is_notary(ctx) {
        return super::notary_delegate::remove(ctx, role, how);
    }
    update(ctx, how, |t, _| {
        let d = t.delegations.as_mut().ok_or_else(|| {
            Error::refused(format!("role {role} is not delegated"))
                .hint("`rootcellar delegate list` shows the roles")
        })?;
        let before = d.roles.len();
        d.roles.retain(|r| r.name != role);
        if d.roles.len() == before {
            return Err(Error::refused(format!("role {role} is not delegated"))
                .hint("`rootcellar delegate list` shows the roles"));
        }
        Ok(())
    })
}

/// `rootcellar delegate rotate ROLE --old K --new K`.
pub fn rotate(
    ctx: &Context,
    role: &str,
    old: &str,
    new: &str,
    how: &SignWith,
) -> Result<TargetsReport> {
    if is_notary(ctx) {
        return super::notary_delegate::rotate(ctx, role, old, new, how);
    }
    update(ctx, how, |t, ws| {
        let d = t
            .delegations
            .as_mut()
            .ok_or_else(|| Error::refused(format!("role {role} is not delegated")))?;
        let r = d.roles.iter_mut().find(|r| r.name == role).ok_or_else(|| {
            Error::refused(format!("role {role} is not delegated"))
                .hint("`rootcellar delegate list` shows the roles")
        })?;
        let old_id = ws.resolve_key(old)?.keyid;
        let new_rec = ws.resolve_key(new)?;
        let pos = r
            .keyids
            .iter()
            .position(|k| *k == old_id)
            .ok_or_else(|| Error::refused(format!("key {old} is not a key of role {role}")))?;
        if r.keyids.contains(&new_rec.keyid) {
            return Err(Error::refused(format!(
                "key {new} is a key of role {role} already"
            )));
        }
        r.keyids[pos] = new_rec.keyid.clone();
        d.keys.insert(new_rec.keyid, new_rec.key);
        Ok(())
    })
}

/// `rootcellar delegate list`.
pub fn list(ctx: &Context) -> Result<Vec<RoleSummary>> {
    if is_notary(ctx) {
        return super::notary_delegate::list(ctx);
    }
    let ws = ctx.workspace()?;
    Ok(ws
        .targets()?
        .and_then(|t| t.signed.delegations)
        .map(|d| {
            d.roles
                .iter()
                .map(|r| RoleSummary {
                    name: r.name.clone(),
                    file: role_file_name(&r.name).unwrap_or_default(),
                    keys: r
                        .keyids
                        .iter()
                        .map(|id| super::key_label(&ws, id))
                        .collect(),
                    threshold: r.threshold,
                    paths: r.paths.clone().unwrap_or_default(),
                    terminating: r.terminating,
                })
                .collect()
        })
        .unwrap_or_default())
}

//! Notary v1 workspaces (`init --format notary --gun NAME`): the staged / signed / published
//! flow of a TUF workspace, in Notary's dialect.
//!
//! `notary root` stages the next version (root keys named by certificates their own devices
//! sign; a root key whose certificate is still good keeps it, and so its key ID), `sign` adds
//! Notary signatures (raw r‖s for ECDSA) under every key ID the signing key has in this version
//! and the one before, `status` counts them as Notary does, and `publish` writes
//! `metadata/N.root.json` only once the whole history verifies as `trustpinning.ValidateRoot`
//! checks it. `notary import` starts a workspace from an existing Notary trust folder.

use super::root::{PublishReport, SignReport, Status};
use super::{Context, ceremony};
use crate::error::{Error, Result};
use crate::tuf::RoleKeys;
use crate::tuf::expiry::{Timestamp, format_tuf_time, parse_user_time};
use crate::tuf::notary::{
    NotaryKey, NotaryMetadata, NotarySignature, NotaryTargetsFile, check_threshold,
    root_certificates_end, verify_chain,
};
use crate::tuf::verify::ThresholdCheck;
use crate::workspace::{KeyRecord, Workspace, digest_hex};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The GUN of a Notary workspace; a TUF workspace is refused.
pub fn gun_of(ws: &Workspace) -> Result<String> {
    ws.notary_gun().map(str::to_string).ok_or_else(|| {
        Error::refused("this workspace keeps TUF 1.0 metadata, not Notary v1")
            .hint("start a Notary workspace in a new folder: `rootcellar init --format notary --gun NAME`")
    })
}

fn parse(bytes: &[u8], what: &Path) -> Result<NotaryMetadata> {
    NotaryMetadata::from_bytes(bytes).map_err(|e| {
        Error::refused(format!(
            "{} is not a usable Notary root: {e}",
            what.display()
        ))
        .hint("restore the file from your export or backup")
    })
}

/// A file the user named: unreadable is their input's problem, not the workspace's.
pub(super) fn read_input(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|e| {
        let mut err = Error::io("read", p, &e);
        err.kind = crate::error::ErrorKind::BadInput;
        err
    })
}

/// The published Notary roots, oldest first; each file must carry its own version.
pub fn published(ws: &Workspace) -> Result<Vec<NotaryMetadata>> {
    let mut out = Vec::new();
    for (v, bytes) in ws.published_files()? {
        let (p, _) = ws.published_paths(v);
        let md = parse(&bytes, &p)?;
        if md.signed.version != v {
            return Err(Error::refused(format!(
                "{} holds version {}",
                p.display(),
                md.signed.version
            )));
        }
        out.push(md);
    }
    Ok(out)
}

/// The staged Notary root, checked to be what rootcellar last wrote.
pub fn staged(ws: &Workspace) -> Result<Option<NotaryMetadata>> {
    let Some((bytes, digest)) = ws.staged_raw()? else {
        return Ok(None);
    };
    let edited = |why: String| {
        Error::refused(format!("staged/root.json was changed outside rootcellar: {why}"))
            .hint("restore the file, or drop it with `rootcellar root discard` and stage it again with `rootcellar notary root`")
    };
    let md = NotaryMetadata::from_bytes(&bytes).map_err(|e| edited(e.to_string()))?;
    let now = digest_hex(md.canonical_signed());
    if now != digest {
        return Err(edited(format!(
            "its signed part has digest {}, rootcellar wrote {}",
            &now[..16],
            digest.get(..16).unwrap_or("?")
        )));
    }
    Ok(Some(md))
}

fn write_staged(ws: &Workspace, md: &NotaryMetadata) -> Result<()> {
    ws.write_staged_raw(&md.to_file_bytes(), &digest_hex(md.canonical_signed()))
}

fn staged_or_refuse(ws: &Workspace) -> Result<NotaryMetadata> {
    staged(ws)?.ok_or_else(|| {
        Error::refused("no root is staged").hint("stage one with `rootcellar notary root`")
    })
}

/// The published version `md` follows, when it is not version 1.
fn previous_of(ws: &Workspace, md: &NotaryMetadata) -> Result<Option<NotaryMetadata>> {
    let published = published(ws)?;
    let Some(last) = published.last() else {
        return Ok(None);
    };
    if last.signed.version.checked_add(1) == Some(md.signed.version) {
        return Ok(published.into_iter().last());
    }
    Err(Error::refused(format!(
        "version {} is staged but version {} is published",
        md.signed.version, last.signed.version
    ))
    .hint("drop the staged root with `rootcellar root discard` and stage it again"))
}

/// The public key of a Notary key, as the identity workspace keys are matched by.
fn identity(k: &NotaryKey) -> Option<Vec<u8>> {
    k.decode(None).ok().map(|(pk, _)| pk.identity())
}

/// Workspace keys (private half here or elsewhere) by the identity of their public key.
fn records_by_identity(ws: &Workspace) -> Result<Vec<(Vec<u8>, KeyRecord)>> {
    Ok(ws
        .keys()?
        .into_iter()
        .filter_map(|r| r.public_key().ok().map(|pk| (pk.identity(), r)))
        .collect())
}

/// The name a Notary key ID goes by here: the workspace key with that public key, or the
/// first 12 hex digits.
fn label(records: &[(Vec<u8>, KeyRecord)], keys: &BTreeMap<String, NotaryKey>, id: &str) -> String {
    keys.get(id)
        .and_then(identity)
        .and_then(|i| records.iter().find(|(r, _)| *r == i))
        .map(|(_, r)| r.name.clone())
        .unwrap_or_else(|| id.chars().take(12).collect())
}

/// Options of `notary root` in a Notary workspace.
pub struct StageSpec<'a> {
    pub root_keys: &'a [String],
    pub threshold: u64,
    /// Keys for the online roles; `None` keeps the published version's.
    pub targets: Option<&'a str>,
    pub snapshot: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    /// Lifetime of certificates made now.
    pub years: u32,
    /// Make new certificates for every root key (a renewal), even where the current one is good.
    pub renew: bool,
}

/// What `notary root` staged.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct StageReport {
    pub gun: String,
    pub version: u64,
    pub root_keyids: Vec<String>,
    pub threshold: u64,
    pub expires: String,
    /// Root keys whose certificate was made now, on their device.
    pub certificates_made: Vec<String>,
    /// Root keys that keep the certificate (and key ID) they have in the published version.
    pub certificates_kept: Vec<String>,
    /// Root keys whose certificate was made before staging, on their device: kept in the key
    /// record by `notary certificate`, or brought by a keyholder elsewhere (`key import`).
    pub certificates_brought: Vec<String>,
    pub digest: String,
}

/// Stages the next Notary root of the workspace: version 1, or the version after the published
/// one. Nothing is signed yet (`sign` does that); a root key's device is used only to sign a
/// new certificate. The metadata expires when the first root certificate does.
pub fn stage(ctx: &Context, spec: &StageSpec) -> Result<StageReport> {
    let ws = ctx.workspace()?;
    let gun = gun_of(&ws)?;
    let _lock = ws.lock()?;
    if let Some(md) = staged(&ws)? {
        return Err(
            Error::refused(format!("version {} is staged already", md.signed.version))
                .hint("sign and publish it, or drop it with `rootcellar root discard`"),
        );
    }
    if spec.root_keys.is_empty() {
        return Err(Error::bad_input("name at least one root key").hint("--root-key NAME"));
    }
    if spec.threshold == 0 || spec.threshold as usize > spec.root_keys.len() {
        return Err(Error::bad_input(format!(
            "threshold {} with {} root keys cannot be met",
            spec.threshold,
            spec.root_keys.len()
        )));
    }
    if !(1..=30).contains(&spec.years) {
        return Err(Error::bad_input("--years must be 1 to 30"));
    }
    let previous = published(&ws)?.pop();
    let version =
        match &previous {
            Some(p) => p.signed.version.checked_add(1).ok_or_else(|| {
                Error::bad_input("the published root's version cannot be followed")
            })?,
            None => 1,
        };
    // Every key resolved and every online role settled before any device is used.
    let recs: Vec<KeyRecord> = spec
        .root_keys
        .iter()
        .map(|k| ws.resolve_key(k))
        .collect::<Result<_>>()?;
    for r in &recs {
        if let Some(when) = &r.destroyed_at {
            return Err(
                Error::refused(format!("key {} was destroyed on {when}", r.name))
                    .hint("choose another key"),
            );
        }
    }
    let mut keys: BTreeMap<String, NotaryKey> = BTreeMap::new();
    let mut roles: BTreeMap<String, RoleKeys> = BTreeMap::new();
    for (role, name) in [
        ("targets", spec.targets),
        ("snapshot", spec.snapshot),
        ("timestamp", spec.timestamp),
    ] {
        match (name, &previous) {
            (Some(name), _) => {
                let pk = ws.resolve_key(name)?.public_key()?;
                let k = super::notary::online_key(&pk)?;
                let id = k.keyid();
                keys.insert(id.clone(), k);
                roles.insert(role.into(), RoleKeys::new(vec![id], 1));
            }
            (None, Some(prev)) => {
                let r = prev.signed.roles.get(role).cloned().ok_or_else(|| {
                    Error::refused(format!("the published root has no {role} role"))
                })?;
                for id in &r.keyids {
                    if let Some(k) = prev.signed.keys.get(id) {
                        keys.insert(id.clone(), k.clone());
                    }
                }
                roles.insert(role.into(), r);
            }
            (None, None) => {
                return Err(
                    Error::bad_input(format!("version 1 needs a key for the {role} role"))
                        .hint(format!("--{role}-key NAME (a registered key)")),
                );
            }
        }
    }
    // A root key keeps its certificate when it is good beyond the warning window.
    let window = parse_user_time(&ws.config.expiry_warning, ctx.now).unwrap_or(ctx.now);
    let kept = |pk_identity: &[u8]| -> Option<(String, NotaryKey)> {
        let prev = previous.as_ref()?;
        let role = prev.signed.roles.get("root")?;
        role.keyids.iter().find_map(|id| {
            let k = prev.signed.keys.get(id)?;
            let (pk, cn) = k.decode(Some(ctx.now)).ok()?;
            let end = crate::tuf::notary::certificate_end(k)?;
            (pk.identity() == pk_identity && cn.as_deref() == Some(gun.as_str()) && end > window)
                .then(|| (id.clone(), k.clone()))
        })
    };
    let not_before = ctx.now.replace_nanosecond(0).unwrap_or(ctx.now);
    let not_after = not_before
        .replace_year(not_before.year() + spec.years as i32)
        .unwrap_or(not_before + time::Duration::days(365 * spec.years as i64));
    let mut root_ids = Vec::new();
    let published_ids: Vec<String> = previous
        .as_ref()
        .map(|p| p.signed.keys.keys().cloned().collect())
        .unwrap_or_default();
    let mut made = Vec::new();
    let mut kept_names = Vec::new();
    let mut brought = Vec::new();
    for r in &recs {
        let pk = r.public_key()?;
        let (id, k) = match kept(&pk.identity()).filter(|_| !spec.renew) {
            Some(found) => {
                kept_names.push(r.name.clone());
                found
            }
            None if r.backend == crate::workspace::Backend::Public => {
                // A keyholder elsewhere: the certificate their device made, imported.
                let k = brought_certificate(r, &gun, ctx.now, &pk)?;
                brought.push(r.name.clone());
                (k.keyid(), k)
            }
            // A certificate made earlier on the key's device (`notary certificate`), good
            // beyond the warning window and new to this version when renewing.
            None if stored_certificate(r, &gun, ctx.now, window, &pk)
                .is_some_and(|k| !(spec.renew && published_ids.contains(&k.keyid()))) =>
            {
                let k = stored_certificate(r, &gun, ctx.now, window, &pk)
                    .ok_or_else(|| Error::environment("the stored certificate changed"))?;
                brought.push(r.name.clone());
                (k.keyid(), k)
            }
            None => {
                ctx.air_gap("sign a root certificate with a private key")?;
                let signer = ctx.signer(&ws, r)?;
                ctx.touch_notice(r, "sign its certificate");
                let pem =
                    super::notary::root_certificate(signer.as_ref(), &gun, not_before, not_after)?;
                if signer.public_key().identity() != pk.identity() {
                    return Err(Error::refused(format!(
                        "the device holding {} answers with another key",
                        r.name
                    ))
                    .hint("check which device is plugged in"));
                }
                made.push(r.name.clone());
                let k = super::notary::certificate_key(&pem);
                (k.keyid(), k)
            }
        };
        if root_ids.contains(&id) {
            return Err(Error::bad_input(format!(
                "root key {} is named twice",
                r.name
            )));
        }
        keys.insert(id.clone(), k);
        root_ids.push(id);
    }
    roles.insert(
        "root".into(),
        RoleKeys::new(root_ids.clone(), spec.threshold),
    );
    let expires_at = root_ids
        .iter()
        .filter_map(|id| keys.get(id).and_then(crate::tuf::notary::certificate_end))
        .min()
        .unwrap_or(not_after);
    let expires = format_tuf_time(expires_at);
    let signed = serde_json::json!({
        "_type": "Root",
        "consistent_snapshot": false,
        "expires": expires,
        "keys": keys,
        "roles": roles,
        "version": version,
    });
    let doc = serde_json::json!({"signed": signed, "signatures": []});
    let bytes = serde_json::to_vec(&doc).map_err(|e| Error::bad_input(e.to_string()))?;
    let md = NotaryMetadata::from_bytes(&bytes)
        .map_err(|e| Error::refused(format!("the root just made does not parse: {e}")))?;
    write_staged(&ws, &md)?;
    let digest = digest_hex(md.canonical_signed());
    ctx.record(
        &ws,
        "root-staged",
        serde_json::json!({
            "format": "notary",
            "gun": gun,
            "version": version,
            "expires": expires,
            "signed_sha256": digest,
            "root_keyids": root_ids,
            "root_threshold": spec.threshold,
            "certificates_made": made,
        }),
    )?;
    Ok(StageReport {
        gun,
        version,
        root_keyids: root_ids,
        threshold: spec.threshold,
        expires,
        certificates_made: made,
        certificates_kept: kept_names,
        certificates_brought: brought,
        digest,
    })
}

/// The certificate kept in `rec` (made on its device by `notary certificate`, or imported),
/// when it is the key's own, names the GUN and stays valid beyond `window`.
fn stored_certificate(
    rec: &KeyRecord,
    gun: &str,
    now: Timestamp,
    window: Timestamp,
    pk: &crate::tuf::PublicKey,
) -> Option<NotaryKey> {
    let pem = rec.certificate.as_deref()?;
    let signer = crate::tuf::notary::check_self_signed(pem).ok()?;
    let k = super::notary::certificate_key(pem);
    let (cert_key, cn) = k.decode(Some(now)).ok()?;
    let end = crate::tuf::notary::certificate_end(&k)?;
    (signer.identity() == pk.identity()
        && cert_key.identity() == pk.identity()
        && cn.as_deref() == Some(gun)
        && end > window)
        .then_some(k)
}

/// The certificate a keyholder elsewhere made for their key (`notary certificate`, brought in
/// with `key import`): it must be the key's own (signed by it), name the GUN and be valid now.
fn brought_certificate(
    rec: &KeyRecord,
    gun: &str,
    now: Timestamp,
    pk: &crate::tuf::PublicKey,
) -> Result<NotaryKey> {
    let ask = format!(
        "ask its keyholder to run `rootcellar notary certificate --key {} --gun {gun} --out {}.crt` and bring the file here with `rootcellar key import {}.crt --name NAME`",
        rec.name, rec.name, rec.name
    );
    let pem = rec.certificate.as_deref().ok_or_else(|| {
        Error::refused(format!(
            "root key {} has no private half here and no certificate for {gun}: a Notary root key is named by a certificate its own device signs",
            rec.name
        ))
        .hint(ask.clone())
    })?;
    let signer = crate::tuf::notary::check_self_signed(pem).map_err(|e| {
        Error::refused(format!("the certificate of key {}: {e}", rec.name)).hint(ask.clone())
    })?;
    let k = super::notary::certificate_key(pem);
    let (cert_key, cn) = k
        .decode(Some(now))
        .map_err(|e| Error::refused(format!("key {}: {e}", rec.name)).hint(ask.clone()))?;
    if signer.identity() != pk.identity() || cert_key.identity() != pk.identity() {
        return Err(Error::refused(format!(
            "the certificate of key {} is for another key",
            rec.name
        ))
        .hint(ask));
    }
    if cn.as_deref() != Some(gun) {
        return Err(Error::refused(format!(
            "the certificate of key {} names {:?}, not {gun}",
            rec.name,
            cn.unwrap_or_default()
        ))
        .hint(ask));
    }
    Ok(k)
}

/// The key IDs under which `rec`'s public key stands in the root role of `md` and of `prev`.
fn root_keyids_of(
    rec: &KeyRecord,
    md: &NotaryMetadata,
    prev: Option<&NotaryMetadata>,
) -> Vec<String> {
    let Ok(pk) = rec.public_key() else {
        return Vec::new();
    };
    let me = pk.identity();
    let mut out: Vec<String> = Vec::new();
    for m in std::iter::once(md).chain(prev) {
        let Some(role) = m.signed.roles.get("root") else {
            continue;
        };
        for id in &role.keyids {
            if !out.contains(id)
                && m.signed.keys.get(id).and_then(identity).as_deref() == Some(me.as_slice())
            {
                out.push(id.clone());
            }
        }
    }
    out
}

/// `sign --key K…` in a Notary workspace: one signature per key, listed under each key ID the
/// key has in the staged version and the one before (a renewed certificate gives the same key
/// a second ID); each is verified before it is kept and written at once.
pub fn sign(ctx: &Context, keys: &[String]) -> Result<SignReport> {
    let ws = ctx.workspace()?;
    let gun = gun_of(&ws)?;
    let _lock = ws.lock()?;
    let mut md = staged_or_refuse(&ws)?;
    let prev = previous_of(&ws, &md)?;
    let recs: Vec<KeyRecord> = keys
        .iter()
        .map(|k| ws.resolve_key(k))
        .collect::<Result<_>>()?;
    let mut plan = Vec::new();
    for r in recs {
        let ids = root_keyids_of(&r, &md, prev.as_ref());
        if ids.is_empty() {
            return Err(Error::refused(format!(
                "key {} is not a root key of version {}{}: its signature would count for nothing",
                r.name,
                md.signed.version,
                if prev.is_some() {
                    " or of the version before"
                } else {
                    ""
                }
            ))
            .hint("`rootcellar status` shows who still has to sign"));
        }
        plan.push((r, ids));
    }
    ctx.air_gap("sign with a private key")?;
    let mut signed_by = Vec::new();
    for (r, ids) in plan {
        let signer = ctx.signer(&ws, &r)?;
        ctx.touch_notice(&r, "sign");
        let sig = super::notary::sign(signer.as_ref(), &ids[0], md.canonical_signed())?;
        let pk = crate::tuf::notary::NotaryPublicKey::Tuf(r.public_key()?);
        crate::tuf::notary::verify_signature(&pk, &sig, md.canonical_signed()).map_err(|e| {
            Error::environment(format!(
                "the signature just made by {} does not verify: {e}",
                r.name
            ))
            .hint("the key or device is faulty; nothing was kept")
        })?;
        let mut signatures = md.signatures.clone();
        signatures.retain(|s| !ids.contains(&s.keyid));
        for id in &ids {
            signatures.push(NotarySignature {
                keyid: id.clone(),
                ..sig.clone()
            });
        }
        md = with_signatures(&md, signatures)?;
        write_staged(&ws, &md)?;
        ctx.record(
            &ws,
            "signature-added",
            serde_json::json!({
                "format": "notary",
                "gun": gun,
                "version": md.signed.version,
                "key": r.name,
                "keyids": ids,
                "signed_sha256": digest_hex(md.canonical_signed()),
            }),
        )?;
        signed_by.push(r.name.clone());
    }
    Ok(SignReport {
        version: md.signed.version,
        signed_by,
        status: status(ctx, &ws, &md)?,
    })
}

/// `md` with other signatures (the signed part, and so its digest, unchanged).
fn with_signatures(
    md: &NotaryMetadata,
    signatures: Vec<NotarySignature>,
) -> Result<NotaryMetadata> {
    let doc = serde_json::json!({"signed": md.signed, "signatures": signatures});
    let out = NotaryMetadata::from_value(doc)
        .map_err(|e| Error::environment(format!("the staged root cannot be rewritten: {e}")))?;
    if out.canonical_signed() != md.canonical_signed() {
        return Err(Error::environment(
            "the staged root's signed part changed while adding a signature; nothing was kept",
        ));
    }
    Ok(out)
}

/// Who has signed the staged Notary root and who still must, as Notary counts it now.
pub fn status(ctx: &Context, ws: &Workspace, md: &NotaryMetadata) -> Result<Status> {
    let gun = gun_of(ws)?;
    let prev = previous_of(ws, md)?;
    let chain = match &prev {
        Some(p) => verify_chain(p, std::slice::from_ref(md), ctx.now, Some(&gun)),
        None => verify_chain(md, &[], ctx.now, Some(&gun)),
    };
    let last = chain.roots.last().cloned();
    let self_role = md
        .signed
        .roles
        .get("root")
        .cloned()
        .unwrap_or_else(|| RoleKeys::new(vec![], 1));
    let by_self = last.as_ref().map(|r| r.by_self.clone()).unwrap_or_else(|| {
        check_threshold(
            "",
            &md.signatures,
            md.canonical_signed(),
            &md.signed.keys,
            &self_role,
            Some(ctx.now),
            Some(&gun),
        )
    });
    let by_previous = prev
        .as_ref()
        .and_then(|_| last.as_ref().and_then(|r| r.by_previous.clone()));
    let records = records_by_identity(ws)?;
    let mut can_still_sign = Vec::new();
    let mut consider = |m: &NotaryMetadata, check: &ThresholdCheck| {
        if check.met {
            return;
        }
        for id in m
            .signed
            .roles
            .get("root")
            .map(|r| r.keyids.as_slice())
            .unwrap_or(&[])
        {
            let l = label(&records, &m.signed.keys, id);
            if !check.counted.contains(id) && !can_still_sign.contains(&l) {
                can_still_sign.push(l);
            }
        }
    };
    if let (Some(p), Some(c)) = (&prev, &by_previous) {
        consider(p, c);
    }
    consider(md, &by_self);
    Ok(Status {
        version: md.signed.version,
        by_previous,
        by_self,
        can_still_sign,
        problems: chain.failure.iter().cloned().collect(),
        publishable: chain.valid,
    })
}

/// Warnings about the published Notary root: its expiry and its root certificates' end.
fn warnings(ctx: &Context, ws: &Workspace, latest: &NotaryMetadata) -> Vec<String> {
    let mut w = Vec::new();
    let window = parse_user_time(&ws.config.expiry_warning, ctx.now).unwrap_or(ctx.now);
    let v = latest.signed.version;
    if let Some(end) = root_certificates_end(latest) {
        if end <= ctx.now {
            w.push(format!(
                "a root certificate of the published version {v} ENDED on {}: Notary clients refuse this root; stage a renewal now (`rootcellar notary root --renew` with the same keys)",
                format_tuf_time(end)
            ));
        } else if end <= window {
            w.push(format!(
                "a root certificate of the published version {v} ends on {} ({} days): stage a renewal (`rootcellar notary root --renew` with the same keys)",
                format_tuf_time(end),
                (end - ctx.now).whole_days()
            ));
        }
    }
    if let Ok(exp) = crate::tuf::notary::parse_expires(&latest.signed.expires)
        && exp <= window
        && root_certificates_end(latest).is_none_or(|c| exp < c)
    {
        w.push(format!(
            "the published root version {v} expires on {}: stage the next version (`rootcellar notary root`)",
            latest.signed.expires
        ));
    }
    w
}

/// `rootcellar status` in a Notary workspace.
pub fn ceremony_status(ctx: &Context, ws: &Workspace) -> Result<ceremony::CeremonyStatus> {
    let published = published(ws)?;
    let latest = published.last();
    let mut warnings = latest.map(|l| warnings(ctx, ws, l)).unwrap_or_default();
    let staged = staged(ws)?;
    let st = match &staged {
        Some(s) => Some(status(ctx, ws, s)?),
        None => None,
    };
    if latest.is_none() && staged.is_none() {
        warnings.push(
            "nothing is staged or published yet: start with `rootcellar notary root`, or `rootcellar notary import DIR` for an existing repository"
                .into(),
        );
    }
    Ok(ceremony::CeremonyStatus {
        published: latest.and_then(|l| {
            crate::tuf::notary::parse_expires(&l.signed.expires)
                .ok()
                .map(|e| ceremony::PublishedState {
                    version: l.signed.version,
                    expires: l.signed.expires.clone(),
                    days_left: (e - ctx.now).whole_days(),
                })
        }),
        staged_digest: staged.as_ref().map(|s| digest_hex(s.canonical_signed())),
        staged: st,
        warnings,
    })
}

/// The public key that `keyid` names in the root role of published version `version` (to check
/// a transcript seal).
pub fn root_key(
    ws: &Workspace,
    version: u64,
    keyid: &str,
) -> std::result::Result<crate::tuf::PublicKey, String> {
    let root = published(ws)
        .map_err(|e| e.message)?
        .into_iter()
        .find(|m| m.signed.version == version)
        .ok_or_else(|| format!("root version {version} is not published in this workspace"))?;
    if !root
        .signed
        .roles
        .get("root")
        .is_some_and(|r| r.keyids.iter().any(|i| i == keyid))
    {
        return Err(format!(
            "key {keyid} is not a root key of version {version}"
        ));
    }
    match root.signed.keys.get(keyid).map(|k| k.decode(None)) {
        Some(Ok((crate::tuf::notary::NotaryPublicKey::Tuf(pk), _))) => Ok(pk),
        Some(Ok(_)) => Err(format!("key {keyid} is not a key rootcellar signs with")),
        Some(Err(e)) => Err(e),
        None => Err(format!("version {version} lists no key {keyid}")),
    }
}

/// Rows of the printed ceremony record: version, expiry, signers (by name where known).
pub fn published_rows(ws: &Workspace) -> Result<Vec<(u64, String, Vec<String>)>> {
    let records = records_by_identity(ws)?;
    Ok(published(ws)?
        .iter()
        .map(|m| {
            (
                m.signed.version,
                m.signed.expires.clone(),
                m.signatures
                    .iter()
                    .map(|s| label(&records, &m.signed.keys, &s.keyid))
                    .collect(),
            )
        })
        .collect())
}

/// The key that seals the transcript when `md` is published, with its key ID there.
fn seal_key(
    ws: &Workspace,
    md: &NotaryMetadata,
    with: &super::root::SealWith,
) -> Result<Option<(String, KeyRecord)>> {
    use super::root::SealWith;
    let role_ids: Vec<String> = md
        .signed
        .roles
        .get("root")
        .map(|r| r.keyids.clone())
        .unwrap_or_default();
    let id_of = |r: &KeyRecord| -> Option<String> {
        let me = r.public_key().ok()?.identity();
        role_ids
            .iter()
            .find(|id| md.signed.keys.get(*id).and_then(identity).as_deref() == Some(me.as_slice()))
            .cloned()
    };
    match with {
        SealWith::Skip => Ok(None),
        SealWith::Key(k) => {
            let rec = ws.resolve_key(k)?;
            let id = id_of(&rec).ok_or_else(|| {
                Error::refused(format!(
                    "key {} is not a root key of version {}: it cannot seal the transcript",
                    rec.name, md.signed.version
                ))
                .hint("name one of the version's root keys with --seal-key")
            })?;
            Ok(Some((id, rec)))
        }
        SealWith::Auto => {
            for s in &md.signatures {
                if !role_ids.contains(&s.keyid) {
                    continue;
                }
                for r in ws.keys()? {
                    if r.backend != crate::workspace::Backend::Public
                        && r.destroyed_at.is_none()
                        && id_of(&r).as_deref() == Some(s.keyid.as_str())
                    {
                        return Ok(Some((s.keyid.clone(), r)));
                    }
                }
            }
            Ok(None)
        }
    }
}

/// `rootcellar publish` in a Notary workspace: the staged root is written to `metadata/` only
/// when the whole published history and it verify as Notary checks a rotation; the transcript
/// is sealed first, as for TUF, by a root key of the version published.
pub fn publish(ctx: &Context, seal: &super::root::SealWith) -> Result<PublishReport> {
    use super::root::SealWith;
    let ws = ctx.workspace()?;
    let gun = gun_of(&ws)?;
    let _lock = ws.lock()?;
    let md = staged_or_refuse(&ws)?;
    let bytes = md.to_file_bytes();
    let mut history = published(&ws)?;
    let resumed = history.last().is_some_and(|p| {
        p.signed.version == md.signed.version
            && std::fs::read(ws.published_paths(p.signed.version).0).is_ok_and(|b| b == bytes)
    });
    if resumed {
        history.pop();
        ctx.notice(format!(
            "finishing the interrupted publish of version {}",
            md.signed.version
        ));
    }
    let chain = match history.split_first() {
        Some((first, rest)) => {
            let mut updates = rest.to_vec();
            updates.push(md.clone());
            verify_chain(first, &updates, ctx.now, Some(&gun))
        }
        None => verify_chain(&md, &[], ctx.now, Some(&gun)),
    };
    if let Some(failure) = chain.failure {
        let hint = match status(ctx, &ws, &md) {
            Ok(st) if !st.can_still_sign.is_empty() => format!(
                "sign with more root keys (`rootcellar sign --key K`): not yet signed by {}",
                st.can_still_sign.join(", ")
            ),
            _ => "fix the staged root (`rootcellar status`), or discard it".to_string(),
        };
        return Err(Error::refused(format!(
            "cannot publish version {}: {failure}",
            md.signed.version
        ))
        .hint(hint));
    }
    let digest = digest_hex(md.canonical_signed());
    let sealer = seal_key(&ws, &md, seal)?;
    let mut pending = ctx.transcript(&ws)?;
    let mut detail = serde_json::json!({
        "format": "notary",
        "gun": gun,
        "version": md.signed.version,
        "expires": md.signed.expires,
        "signed_sha256": digest,
        "file_sha256": digest_hex(&bytes),
        "signed_by": md.signatures.iter().map(|s| s.keyid.clone()).collect::<Vec<_>>(),
    });
    if *seal == SealWith::Skip {
        detail["override_no_seal"] = serde_json::Value::Bool(true);
    }
    if resumed {
        detail["resumed"] = serde_json::Value::Bool(true);
    }
    pending.add(ctx, "publish", detail)?;
    match &sealer {
        Some((id, rec)) => {
            ctx.air_gap("seal the transcript with a private key")?;
            let signer = ctx.signer(&ws, rec)?;
            ctx.touch_notice(rec, "seal the transcript");
            pending.seal(ctx, rec, id, signer.as_ref(), md.signed.version)?;
        }
        None if *seal == SealWith::Auto => ctx.notice(format!(
            "the transcript was not sealed: no key that signed version {} has its private half in this workspace (name one with --seal-key)",
            md.signed.version
        )),
        None => ctx.notice("the transcript was not sealed (--no-seal)"),
    }
    let (a, b) = ws.publish_raw(md.signed.version, &bytes)?;
    pending.commit(&ws)?;
    ws.discard_staged()?;
    Ok(PublishReport {
        version: md.signed.version,
        expires: md.signed.expires.clone(),
        files: vec![a, b],
        digest,
        sealed_by: sealer.map(|(_, r)| r.name),
    })
}

/// A root key of an imported Notary root.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ImportedKey {
    pub keyid: String,
    pub keytype: String,
    /// The workspace key with this public key, when one is registered.
    pub held_as: Option<String>,
    pub certificate_ends: Option<String>,
}

/// A delegated tagging role found in the imported `targets.json`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ImportedDelegation {
    pub role: String,
    pub threshold: u64,
    pub paths: Vec<String>,
    pub keytypes: Vec<String>,
}

/// What `notary import` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub gun: String,
    pub source: PathBuf,
    pub version: u64,
    pub expires: String,
    pub files: Vec<PathBuf>,
    pub threshold: u64,
    pub root_keys: Vec<ImportedKey>,
    pub delegations: Vec<ImportedDelegation>,
    pub warnings: Vec<String>,
}

/// Where a trust folder keeps `root.json`: DIR itself, or Docker's `DIR/tuf/GUN/metadata/`.
fn find_root(dir: &Path, gun: &str) -> Result<PathBuf> {
    let candidates = [
        dir.join("root.json"),
        dir.join("tuf").join(gun).join("metadata").join("root.json"),
        dir.join(gun).join("metadata").join("root.json"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            Error::bad_input(format!(
                "no root.json for {gun} in {} (looked in {})",
                dir.display(),
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .hint("point at the folder holding root.json, or at Docker's trust folder (~/.docker/trust)")
        })
}

/// `rootcellar notary import DIR`: starts this Notary workspace's history from an existing
/// repository's `root.json`, so the next `notary root` rotates or renews it. The root must be
/// signed by a threshold of its own root keys, whose certificates name this workspace's GUN;
/// expired certificates or metadata are imported with a warning (Notary accepts a rotation
/// signed by them, and renewing them is the usual reason for the ceremony). The delegations of
/// `targets.json` beside it are read and checked, and reported.
pub fn import(ctx: &Context, dir: &Path) -> Result<ImportReport> {
    let ws = ctx.workspace()?;
    let gun = gun_of(&ws)?;
    let _lock = ws.lock()?;
    if !ws.published_files()?.is_empty() || ws.staged_raw()?.is_some() {
        return Err(Error::refused(
            "this workspace already has a root history; import starts a new one",
        )
        .hint(
            "import into a new workspace: `rootcellar init --format notary --gun NAME --dir NEW`",
        ));
    }
    let path = find_root(dir, &gun)?;
    let bytes = read_input(&path)?;
    let md = NotaryMetadata::from_bytes(&bytes)
        .map_err(|e| Error::bad_input(format!("{} is not a Notary root: {e}", path.display())))?;
    let role = md
        .signed
        .roles
        .get("root")
        .cloned()
        .ok_or_else(|| Error::bad_input("the root has no root role"))?;
    // Signatures and names, with certificate dates left to the warnings below.
    let by_self = check_threshold(
        &format!("root v{}", md.signed.version),
        &md.signatures,
        md.canonical_signed(),
        &md.signed.keys,
        &role,
        None,
        Some(&gun),
    );
    if !by_self.met {
        let mut why = format!(
            "{} is not signed by {} of its own root keys for {gun} ({} counted)",
            path.display(),
            role.threshold,
            by_self.count()
        );
        if !by_self.notes.is_empty() {
            why.push_str(&format!(": {}", by_self.notes.join("; ")));
        }
        return Err(Error::refused(why)
            .hint("check the GUN (`--gun` at init) and that this is the repository's root.json"));
    }
    let mut warnings = Vec::new();
    let records = records_by_identity(&ws)?;
    let root_keys: Vec<ImportedKey> = role
        .keyids
        .iter()
        .filter_map(|id| md.signed.keys.get(id).map(|k| (id, k)))
        .map(|(id, k)| {
            let end = crate::tuf::notary::certificate_end(k);
            if let Some(e) = end
                && e <= ctx.now
            {
                warnings.push(format!(
                    "root certificate {} ended on {}: Notary clients refuse this root until it is renewed (`rootcellar notary root --renew`)",
                    &id[..12.min(id.len())],
                    format_tuf_time(e)
                ));
            }
            ImportedKey {
                keyid: id.clone(),
                keytype: k.keytype.clone(),
                held_as: identity(k)
                    .and_then(|i| records.iter().find(|(r, _)| *r == i))
                    .map(|(_, r)| r.name.clone()),
                certificate_ends: end.map(format_tuf_time),
            }
        })
        .collect();
    if let Ok(exp) = crate::tuf::notary::parse_expires(&md.signed.expires)
        && exp <= ctx.now
    {
        warnings.push(format!(
            "the root expired on {}: stage and publish the next version",
            md.signed.expires
        ));
    }
    let held = root_keys.iter().filter(|k| k.held_as.is_some()).count() as u64;
    if held < role.threshold {
        warnings.push(format!(
            "this workspace holds {held} of the {} root keys the next version needs: register them (`rootcellar key add` for a device) before `notary root`",
            role.threshold
        ));
    }
    // The delegations beside it, checked against this root.
    let mut delegations = Vec::new();
    let folder = path.parent().unwrap_or(dir);
    let targets_path = folder.join("targets.json");
    let mut targets_file = None;
    if targets_path.is_file() {
        let tb = std::fs::read(&targets_path).map_err(|e| Error::io("read", &targets_path, &e))?;
        match NotaryTargetsFile::from_bytes(&tb) {
            Ok(t) => {
                let check = crate::tuf::notary::verify_targets(
                    &md,
                    &[("targets".to_string(), t.clone())],
                    ctx.now,
                );
                for c in check.iter().filter(|c| !c.errors.is_empty()) {
                    warnings.push(format!("targets.json: {}", c.errors.join("; ")));
                }
                // Kept (so `delegate` goes on from its version and keeps its targets) when the
                // repository key signed it; an expired one is still a base to re-sign.
                if check.first().is_some_and(|c| c.signatures.met) {
                    targets_file = Some((t.signed.version, tb.clone()));
                } else {
                    warnings.push(
                        "targets.json is not signed by the root's targets key: not kept".into(),
                    );
                }
                for d in &t.signed.delegations.roles {
                    delegations.push(ImportedDelegation {
                        role: d.name.clone(),
                        threshold: d.threshold,
                        paths: d.paths.clone(),
                        keytypes: d
                            .keyids
                            .iter()
                            .filter_map(|id| t.signed.delegations.keys.get(id))
                            .map(|k| k.keytype.clone())
                            .collect(),
                    });
                }
            }
            Err(e) => warnings.push(format!("targets.json is not usable: {e}")),
        }
    }
    let (a, b) = ws.publish_raw(md.signed.version, &bytes)?;
    let mut files = vec![a, b];
    if let Some((v, tb)) = &targets_file {
        let (c, d) = ws.publish_role_raw("targets", *v, tb)?;
        files.extend([c, d]);
    }
    ctx.record(
        &ws,
        "notary-import",
        serde_json::json!({
            "gun": gun,
            "source": path.display().to_string(),
            "version": md.signed.version,
            "sha256": digest_hex(&bytes),
            "signed_sha256": digest_hex(md.canonical_signed()),
            "root_keyids": role.keyids,
            "delegations": delegations.iter().map(|d| d.role.clone()).collect::<Vec<_>>(),
            "targets_sha256": targets_file.as_ref().map(|(_, b)| digest_hex(b)),
        }),
    )?;
    Ok(ImportReport {
        gun,
        source: path,
        version: md.signed.version,
        expires: md.signed.expires.clone(),
        files,
        threshold: role.threshold,
        root_keys,
        delegations,
        warnings,
    })
}

/// Verifies a Notary workspace's published files (`bytes` in version order) as a chain.
pub fn history_failure(ws: &Workspace, files: &[Vec<u8>], at: Timestamp) -> Result<Option<String>> {
    let gun = gun_of(ws)?;
    let mut mds = Vec::new();
    for b in files {
        match NotaryMetadata::from_bytes(b) {
            Ok(m) => mds.push(m),
            Err(e) => return Ok(Some(e.to_string())),
        }
    }
    Ok(match mds.split_first() {
        Some((first, rest)) => verify_chain(first, rest, at, Some(&gun)).failure,
        None => Some("nothing is published".into()),
    })
}

/// Options of `notary handover`.
pub struct HandoverSpec<'a> {
    /// The TUF root (version 1 of the new history, usually) the statement hands over to.
    pub tuf_root: &'a Path,
    /// Write a new statement here (never over an existing file)…
    pub out: Option<&'a Path>,
    /// …or add signatures to this one.
    pub add_to: Option<&'a Path>,
    /// Root keys to sign with (default: every root key of the published Notary root held here).
    pub keys: &'a [String],
    /// Lifetime of a new statement, e.g. "365d" or a date.
    pub expires: Option<&'a str>,
}

/// What `notary handover` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HandoverReport {
    pub path: PathBuf,
    pub signed_by: Vec<String>,
    pub check: crate::tuf::handover::HandoverCheck,
}

/// `rootcellar notary handover`: a statement, signed by root keys of the published Notary
/// root, that names the TUF root which follows it. Each keyholder may sign apart
/// (`--add-to`); the report says whether the threshold is met.
pub fn handover(ctx: &Context, spec: &HandoverSpec) -> Result<HandoverReport> {
    use crate::tuf::handover::{HANDOVER_TYPE, Handover, HandoverBody, RootRef, check};
    let ws = ctx.workspace()?;
    let gun = gun_of(&ws)?;
    let _lock = ws.lock()?;
    let (from_version, notary_bytes) = ws.published_files()?.pop().ok_or_else(|| {
        Error::refused("no Notary root is published here").hint(
            "publish one, or `rootcellar import notary DIR` the repository's current root.json",
        )
    })?;
    let notary_root = parse(&notary_bytes, &ws.published_paths(from_version).0)?;
    let tuf_bytes = read_input(spec.tuf_root)?;
    let tuf = crate::tuf::Metadata::<crate::tuf::Root>::from_bytes(&tuf_bytes).map_err(|e| {
        Error::bad_input(format!(
            "{} is not a TUF 1.0 root: {e}",
            spec.tuf_root.display()
        ))
    })?;
    if let Some(f) = crate::tuf::verify::verify_chain(&tuf, &[], ctx.now).failure {
        return Err(Error::refused(format!(
            "the TUF root {} does not verify on its own, so it cannot be handed over to: {f}",
            spec.tuf_root.display()
        ))
        .hint("publish the TUF root first (in its own workspace) and name its N.root.json"));
    }
    let (mut statement, path) = match (spec.out, spec.add_to) {
        (Some(out), None) => {
            if out.exists() {
                return Err(Error::refused(format!(
                    "{} exists; rootcellar does not overwrite a hand-over",
                    out.display()
                ))
                .hint("add signatures to it with --add-to, or choose another --out"));
            }
            let exp = crate::tuf::expiry::truncate(
                parse_user_time(spec.expires.unwrap_or("365d"), ctx.now)
                    .map_err(Error::bad_input)?,
            );
            if exp <= ctx.now {
                return Err(Error::bad_input("the hand-over would expire at once")
                    .hint("give a span like 365d or a later date"));
            }
            (
                Handover {
                    signed: HandoverBody {
                        type_: HANDOVER_TYPE.into(),
                        gun: gun.clone(),
                        expires: format_tuf_time(exp),
                        from: RootRef::of("notary", from_version, &notary_bytes),
                        to: RootRef::of("tuf", tuf.signed.version, &tuf_bytes),
                    },
                    signatures: Vec::new(),
                },
                out.to_path_buf(),
            )
        }
        (None, Some(add)) => {
            let h = Handover::from_bytes(&read_input(add)?)
                .map_err(|e| Error::bad_input(format!("{}: {e}", add.display())))?;
            if h.signed.from != RootRef::of("notary", from_version, &notary_bytes) {
                return Err(Error::refused(format!(
                    "{} hands over from Notary root version {}, not from the one published here (version {from_version})",
                    add.display(),
                    h.signed.from.version
                ))
                .hint("make a new statement with --out"));
            }
            if h.signed.to != RootRef::of("tuf", tuf.signed.version, &tuf_bytes) {
                return Err(Error::refused(format!(
                    "{} names another TUF root than {}",
                    add.display(),
                    spec.tuf_root.display()
                ))
                .hint("give the TUF root the statement names"));
            }
            (h, add.to_path_buf())
        }
        _ => {
            return Err(
                Error::bad_input("give --out FILE (a new statement) or --add-to FILE")
                    .hint("--out for the first keyholder, --add-to for the others"),
            );
        }
    };
    // Which keys sign, and under which key ID of the Notary root.
    let empty = Vec::new();
    let role_ids = notary_root
        .signed
        .roles
        .get("root")
        .map(|r| &r.keyids)
        .unwrap_or(&empty);
    let id_for = |rec: &KeyRecord| -> Option<String> {
        let me = rec.public_key().ok()?.identity();
        role_ids
            .iter()
            .find(|id| {
                notary_root
                    .signed
                    .keys
                    .get(*id)
                    .and_then(identity)
                    .as_deref()
                    == Some(me.as_slice())
            })
            .cloned()
    };
    let mut plan = Vec::new();
    if spec.keys.is_empty() {
        for r in ws.keys()? {
            if r.backend != crate::workspace::Backend::Public
                && r.destroyed_at.is_none()
                && let Some(id) = id_for(&r)
            {
                plan.push((id, r));
            }
        }
        if plan.is_empty() {
            return Err(Error::refused(format!(
                "this workspace holds no root key of Notary root version {from_version}"
            ))
            .hint("register the root keys here (`rootcellar key add`), or sign where they are"));
        }
    } else {
        for k in spec.keys {
            let r = ws.resolve_key(k)?;
            let id = id_for(&r).ok_or_else(|| {
                Error::refused(format!(
                    "key {} is not a root key of Notary root version {from_version}",
                    r.name
                ))
                .hint("`rootcellar status` and `import notary` name the root keys")
            })?;
            plan.push((id, r));
        }
    }
    let message = statement
        .message()
        .map_err(|e| Error::environment(format!("canonical JSON: {e}")))?;
    ctx.air_gap("sign with a private key")?;
    let mut signed_by = Vec::new();
    for (id, r) in &plan {
        let signer = ctx.signer(&ws, r)?;
        ctx.touch_notice(r, "sign the hand-over");
        let sig = super::notary::sign(signer.as_ref(), id, &message)?;
        let pk = crate::tuf::notary::NotaryPublicKey::Tuf(r.public_key()?);
        crate::tuf::notary::verify_signature(&pk, &sig, &message).map_err(|e| {
            Error::environment(format!(
                "the signature just made by {} does not verify: {e}",
                r.name
            ))
            .hint("the key or device is faulty; nothing was kept")
        })?;
        statement.signatures.retain(|s| s.keyid != *id);
        statement.signatures.push(sig);
        signed_by.push(r.name.clone());
    }
    let bytes = statement.to_file_bytes();
    if spec.add_to.is_some() {
        crate::atomic::write_atomic(&path, &bytes)?;
    } else {
        crate::atomic::write_new_atomic(&path, &bytes)?;
    }
    let verdict = check(&statement, &notary_bytes, &tuf_bytes, ctx.now);
    ctx.record(
        &ws,
        "handover",
        serde_json::json!({
            "gun": gun,
            "path": path.display().to_string(),
            "sha256": digest_hex(&bytes),
            "from": statement.signed.from,
            "to": statement.signed.to,
            "signed_by": signed_by,
            "threshold_met": verdict.signatures.met,
        }),
    )?;
    Ok(HandoverReport {
        path,
        signed_by,
        check: verdict,
    })
}

/// `rootcellar notary check-handover`: the verdict a client that trusts the Notary root would
/// reach. Reads files only; needs no workspace.
pub fn check_handover(
    statement: &Path,
    notary_root: &Path,
    tuf_root: &Path,
    at: Timestamp,
) -> Result<crate::tuf::handover::HandoverCheck> {
    let h = crate::tuf::handover::Handover::from_bytes(&read_input(statement)?)
        .map_err(|e| Error::bad_input(format!("{}: {e}", statement.display())))?;
    Ok(crate::tuf::handover::check(
        &h,
        &read_input(notary_root)?,
        &read_input(tuf_root)?,
        at,
    ))
}

/// The published root's root keys by workspace name, its threshold, and the names of its
/// online keys (role → name, where registered). Refused when a root key is not registered here.
fn published_key_set(ws: &Workspace) -> Result<(NotaryMetadata, Vec<String>, u64)> {
    let prev = published(ws)?.pop().ok_or_else(|| {
        Error::refused("no Notary root is published yet").hint(
            "stage version 1 with `rootcellar notary root`, or `rootcellar import notary DIR`",
        )
    })?;
    let records = records_by_identity(ws)?;
    let role = prev
        .signed
        .roles
        .get("root")
        .cloned()
        .ok_or_else(|| Error::refused("the published root has no root role"))?;
    let mut names = Vec::new();
    for id in &role.keyids {
        let name = prev
            .signed
            .keys
            .get(id)
            .and_then(identity)
            .and_then(|i| records.iter().find(|(r, _)| *r == i))
            .map(|(_, r)| r.name.clone())
            .ok_or_else(|| {
                Error::refused(format!(
                    "root key {} of version {} is not registered in this workspace",
                    &id[..12.min(id.len())],
                    prev.signed.version
                ))
                .hint("register it (`key add` for a device, `key import` of its certificate for a keyholder elsewhere), or name the keys yourself with `rootcellar notary root`")
            })?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok((prev, names, role.threshold))
}

/// `refresh` in a Notary workspace: the same root keys with new certificates (a Notary root
/// expires with its first certificate, so a later expiry needs new ones).
pub fn refresh(ctx: &Context) -> Result<StageReport> {
    let ws = ctx.workspace()?;
    let (_, names, threshold) = published_key_set(&ws)?;
    stage(
        ctx,
        &StageSpec {
            root_keys: &names,
            threshold,
            targets: None,
            snapshot: None,
            timestamp: None,
            years: 10,
            renew: true,
        },
    )
}

/// `revoke K` in a Notary workspace: the next version without root key K (online keys change
/// with `rotate`).
pub fn revoke(ctx: &Context, k: &str) -> Result<StageReport> {
    let ws = ctx.workspace()?;
    let (prev, mut names, threshold) = published_key_set(&ws)?;
    let rec = ws.resolve_key(k)?;
    let before = names.len();
    names.retain(|n| *n != rec.name);
    if names.len() == before {
        return Err(Error::refused(format!(
            "key {} is not a root key of version {}",
            rec.name, prev.signed.version
        ))
        .hint("in a Notary workspace `revoke` removes root keys; replace an online key with `rotate targets|snapshot|timestamp --old K --new K`"));
    }
    if (names.len() as u64) < threshold {
        return Err(Error::refused(format!(
            "without {} the root role would have {} key(s) for a threshold of {threshold}",
            rec.name,
            names.len()
        ))
        .hint("add a key in its place (`rotate root --old K --new K`), or stage `notary root` with a lower --threshold"));
    }
    stage(
        ctx,
        &StageSpec {
            root_keys: &names,
            threshold,
            targets: None,
            snapshot: None,
            timestamp: None,
            years: 10,
            renew: false,
        },
    )
}

/// `rotate ROLE --old K --new K` in a Notary workspace.
pub fn rotate(ctx: &Context, role: &str, old: &str, new: &str) -> Result<StageReport> {
    let ws = ctx.workspace()?;
    let (prev, mut names, threshold) = published_key_set(&ws)?;
    let old_rec = ws.resolve_key(old)?;
    let new_rec = ws.resolve_key(new)?;
    match role {
        "root" => {
            let pos = names
                .iter()
                .position(|n| *n == old_rec.name)
                .ok_or_else(|| {
                    Error::refused(format!(
                        "key {} is not a root key of version {}",
                        old_rec.name, prev.signed.version
                    ))
                    .hint("`rootcellar status` and `key list` show the keys")
                })?;
            if names.contains(&new_rec.name) {
                return Err(
                    Error::refused(format!("key {} is a root key already", new_rec.name))
                        .hint("name another key"),
                );
            }
            names[pos] = new_rec.name.clone();
            stage(
                ctx,
                &StageSpec {
                    root_keys: &names,
                    threshold,
                    targets: None,
                    snapshot: None,
                    timestamp: None,
                    years: 10,
                    renew: false,
                },
            )
        }
        "targets" | "snapshot" | "timestamp" => {
            let current = prev
                .signed
                .roles
                .get(role)
                .map(|r| r.keyids.clone())
                .unwrap_or_default();
            let old_id = old_rec.public_key()?.identity();
            let holds_old = current.iter().any(|id| {
                prev.signed.keys.get(id).and_then(identity).as_deref() == Some(old_id.as_slice())
            });
            if !holds_old {
                return Err(Error::refused(format!(
                    "key {} is not the {role} key of version {}",
                    old_rec.name, prev.signed.version
                ))
                .hint("`rootcellar status` and `key list` show the keys"));
            }
            let pick = |r: &str| (r == role).then_some(new_rec.name.as_str());
            stage(
                ctx,
                &StageSpec {
                    root_keys: &names,
                    threshold,
                    targets: pick("targets"),
                    snapshot: pick("snapshot"),
                    timestamp: pick("timestamp"),
                    years: 10,
                    renew: false,
                },
            )
        }
        other => Err(
            Error::bad_input(format!("a Notary root has no role {other:?}"))
                .hint("root, targets, snapshot or timestamp"),
        ),
    }
}

/// What the staged Notary root changes from the published one (for review).
pub fn root_diff(ws: &Workspace, md: &NotaryMetadata) -> Result<super::ceremony::RootDiff> {
    let prev = previous_of(ws, md)?;
    root_diff_against(ws, prev.as_ref(), md)
}

/// What `md` changes from `prev`. Keys are compared by public key: a key that stays with a new
/// certificate (a new key ID) is listed as renewed, not as removed and added.
pub fn root_diff_against(
    ws: &Workspace,
    prev: Option<&NotaryMetadata>,
    md: &NotaryMetadata,
) -> Result<super::ceremony::RootDiff> {
    use super::ceremony::{KeyChange, RoleChange, RootDiff};
    let records = records_by_identity(ws)?;
    // Per root: (key ID, identity, roles) of every key a role uses.
    let entries = |m: &NotaryMetadata| -> Vec<(String, Vec<u8>, Vec<String>)> {
        let mut out: Vec<(String, Vec<u8>, Vec<String>)> = Vec::new();
        for (role, r) in &m.signed.roles {
            for id in &r.keyids {
                let Some(i) = m.signed.keys.get(id).and_then(identity) else {
                    continue;
                };
                match out.iter_mut().find(|(x, _, _)| x == id) {
                    Some(e) => e.2.push(role.clone()),
                    None => out.push((id.clone(), i, vec![role.clone()])),
                }
            }
        }
        out
    };
    let fingerprint =
        |m: &NotaryMetadata, id: &str| match m.signed.keys.get(id).map(|k| k.decode(None)) {
            Some(Ok((crate::tuf::notary::NotaryPublicKey::Tuf(pk), _))) => pk.fingerprint(),
            _ => String::new(),
        };
    let change = |m: &NotaryMetadata, (id, _, roles): &(String, Vec<u8>, Vec<String>)| KeyChange {
        keyid: id.clone(),
        name: label(&records, &m.signed.keys, id),
        fingerprint: fingerprint(m, id),
        roles: roles.clone(),
    };
    let now = entries(md);
    let before = prev.map(entries).unwrap_or_default();
    let has =
        |list: &[(String, Vec<u8>, Vec<String>)], i: &[u8]| list.iter().any(|(_, x, _)| x == i);
    let keys_added = now
        .iter()
        .filter(|e| !has(&before, &e.1))
        .map(|e| change(md, e))
        .collect();
    let keys_removed = match prev {
        Some(p) => before
            .iter()
            .filter(|e| !has(&now, &e.1))
            .map(|e| change(p, e))
            .collect(),
        None => Vec::new(),
    };
    let mut renewed = Vec::new();
    for (id, i, _) in &now {
        if before.iter().any(|(x, y, _)| y == i && x != id) {
            let n = label(&records, &md.signed.keys, id);
            if !renewed.contains(&n) {
                renewed.push(n);
            }
        }
    }
    let mut roles = Vec::new();
    for (name, r) in &md.signed.roles {
        let old = prev.and_then(|p| p.signed.roles.get(name).map(|o| (p, o)));
        let ids_of = |m: &NotaryMetadata, ids: &[String]| -> Vec<(String, Vec<u8>)> {
            ids.iter()
                .filter_map(|id| {
                    m.signed
                        .keys
                        .get(id)
                        .and_then(identity)
                        .map(|i| (id.clone(), i))
                })
                .collect()
        };
        let new_ids = ids_of(md, &r.keyids);
        let old_ids = old.map(|(p, o)| ids_of(p, &o.keyids)).unwrap_or_default();
        let added: Vec<String> = new_ids
            .iter()
            .filter(|(_, i)| !old_ids.iter().any(|(_, o)| o == i))
            .map(|(id, _)| label(&records, &md.signed.keys, id))
            .collect();
        let removed: Vec<String> = match old {
            Some((p, _)) => old_ids
                .iter()
                .filter(|(_, i)| !new_ids.iter().any(|(_, n)| n == i))
                .map(|(id, _)| label(&records, &p.signed.keys, id))
                .collect(),
            None => Vec::new(),
        };
        let before_t = old.map(|(_, o)| o.threshold);
        if before_t != Some(r.threshold) || !added.is_empty() || !removed.is_empty() {
            roles.push(RoleChange {
                role: name.clone(),
                threshold_before: before_t,
                threshold_after: r.threshold,
                added,
                removed,
            });
        }
    }
    let digest = digest_hex(md.canonical_signed());
    Ok(RootDiff {
        from_version: prev.map(|p| p.signed.version),
        to_version: md.signed.version,
        expires_before: prev.map(|p| p.signed.expires.clone()),
        expires_after: md.signed.expires.clone(),
        keys_added,
        keys_removed,
        roles,
        read_aloud: super::root::read_aloud(&digest),
        digest,
        renewed,
    })
}

/// The roles a workspace key holds in `md` (matched by public key).
pub fn roles_of(md: &NotaryMetadata, rec: &KeyRecord) -> Vec<String> {
    let Ok(pk) = rec.public_key() else {
        return Vec::new();
    };
    let me = pk.identity();
    md.signed
        .roles
        .iter()
        .filter(|(_, r)| {
            r.keyids.iter().any(|id| {
                md.signed.keys.get(id).and_then(identity).as_deref() == Some(me.as_slice())
            })
        })
        .map(|(n, _)| n.clone())
        .collect()
}

/// `root show` in a Notary workspace: the staged root (or the latest published one), with keys
/// by name, roles, signatures checked, and who still has to sign.
pub fn show(ctx: &Context) -> Result<super::root::RootView> {
    use super::root::{KeyView, RoleView, RootView, SigView};
    let ws = ctx.workspace()?;
    let (md, source) = match staged(&ws)? {
        Some(s) => (s, "staged"),
        None => (
            published(&ws)?.pop().ok_or_else(|| {
                Error::refused("no root is staged or published")
                    .hint("stage version 1 with `rootcellar notary root`, or `rootcellar import notary DIR`")
            })?,
            "published",
        ),
    };
    let prev = if source == "staged" {
        previous_of(&ws, &md)?
    } else {
        None
    };
    let records = records_by_identity(&ws)?;
    let record_of = |k: &NotaryKey| -> Option<&KeyRecord> {
        let i = identity(k)?;
        records.iter().find(|(r, _)| *r == i).map(|(_, r)| r)
    };
    let keys = md
        .signed
        .keys
        .iter()
        .map(|(id, k)| {
            let rec = record_of(k);
            KeyView {
                keyid: id.clone(),
                name: rec.map(|r| r.name.clone()),
                algorithm: k.keytype.clone(),
                fingerprint: match k.decode(None) {
                    Ok((crate::tuf::notary::NotaryPublicKey::Tuf(pk), _)) => pk.fingerprint(),
                    _ => String::new(),
                },
                backend: rec.map(|r| r.backend.name().to_string()),
                roles: md
                    .signed
                    .roles
                    .iter()
                    .filter(|(_, r)| r.keyids.contains(id))
                    .map(|(n, _)| n.clone())
                    .collect(),
                attestation: rec
                    .and_then(|r| super::yubikey::verdict(r, ctx.now))
                    .map(|v| v.summary()),
            }
        })
        .collect();
    let roles = ["root", "targets", "snapshot", "timestamp"]
        .iter()
        .filter_map(|n| md.signed.roles.get(*n).map(|r| (n, r)))
        .map(|(n, r)| RoleView {
            role: n.to_string(),
            threshold: r.threshold,
            keys: r
                .keyids
                .iter()
                .map(|id| label(&records, &md.signed.keys, id))
                .collect(),
        })
        .collect();
    let signatures = md
        .signatures
        .iter()
        .map(|s| {
            let key = md
                .signed
                .keys
                .get(&s.keyid)
                .or_else(|| prev.as_ref().and_then(|p| p.signed.keys.get(&s.keyid)));
            let result = match key.map(|k| k.decode(None)) {
                Some(Ok((pk, _))) => {
                    crate::tuf::notary::verify_signature(&pk, s, md.canonical_signed())
                }
                Some(Err(e)) => Err(e),
                None => Err("not a key of this root or the previous one".into()),
            };
            SigView {
                keyid: s.keyid.clone(),
                name: key.and_then(record_of).map(|r| r.name.clone()),
                valid: result.is_ok(),
                problem: result.err(),
            }
        })
        .collect();
    let status = if source == "staged" {
        Some(status(ctx, &ws, &md)?)
    } else {
        None
    };
    Ok(RootView {
        source: source.into(),
        version: md.signed.version,
        spec_version: "Notary v1 / DCT".into(),
        expires: md.signed.expires.clone(),
        consistent_snapshot: md.signed.consistent_snapshot,
        digest: digest_hex(md.canonical_signed()),
        keys,
        roles,
        signatures,
        status,
    })
}

/// `root new` in a Notary workspace: version 1 as `notary root` stages it (certificates valid
/// 10 years; Notary roots have one targets key here and no consistent snapshots).
pub fn new_root(ctx: &Context, args: &super::root::NewRoot) -> Result<super::root::RootView> {
    let ws = ctx.workspace()?;
    if !ws.published_files()?.is_empty() {
        return Err(Error::refused("version 1 is published already")
            .hint("stage the next version with `rootcellar root edit`, `rotate`, `revoke`, `refresh` or `notary root`"));
    }
    if args.targets_keys.len() != 1 || args.targets_threshold != 1 {
        return Err(Error::bad_input(
            "a Notary root written here has one targets (repository) key, threshold 1",
        )
        .hint("give one --targets-key"));
    }
    if args.expires.is_some() {
        return Err(Error::bad_input(
            "a Notary root expires with its first root certificate: --expires cannot be chosen",
        )
        .hint("use `notary root --years N` for certificates of another lifetime"));
    }
    stage(
        ctx,
        &StageSpec {
            root_keys: &args.root_keys,
            threshold: args.threshold,
            targets: Some(&args.targets_keys[0]),
            snapshot: Some(&args.snapshot_key),
            timestamp: Some(&args.timestamp_key),
            years: 10,
            renew: false,
        },
    )?;
    show(ctx)
}

/// `root edit` in a Notary workspace: the next version from the published one with root keys
/// added or removed, the root threshold changed, or an online key replaced (remove the old and
/// add the new in one edit).
pub fn edit_root(ctx: &Context, args: &super::root::EditRoot) -> Result<super::root::RootView> {
    let ws = ctx.workspace()?;
    if let Some(md) = staged(&ws)? {
        return Err(Error::refused(format!(
            "version {} is staged already; a Notary workspace stages each version whole",
            md.signed.version
        ))
        .hint("publish it, or drop it with `rootcellar root discard` and edit again"));
    }
    if args.expires.is_some() {
        return Err(Error::bad_input(
            "a Notary root expires with its first root certificate: --expires cannot be chosen",
        )
        .hint("`rootcellar refresh` makes new certificates for the same keys"));
    }
    let (_, mut names, mut threshold) = published_key_set(&ws)?;
    let mut online: BTreeMap<&str, String> = BTreeMap::new();
    for (role, k) in &args.remove {
        let name = ws.resolve_key(k)?.name;
        match role.as_str() {
            "root" => {
                let before = names.len();
                names.retain(|n| *n != name);
                if names.len() == before {
                    return Err(Error::refused(format!("key {name} is not a root key"))
                        .hint("`rootcellar root show` lists the keys"));
                }
            }
            "targets" | "snapshot" | "timestamp" => {
                if !args.add.iter().any(|(r, _)| r == role) {
                    return Err(Error::bad_input(format!(
                        "a Notary {role} role keeps one key: remove {name} and add its successor in the same edit"
                    ))
                    .hint(format!("--remove-key {role}:{name} --add-key {role}:NEW")));
                }
            }
            other => {
                return Err(
                    Error::bad_input(format!("a Notary root has no role {other:?}"))
                        .hint("root, targets, snapshot or timestamp"),
                );
            }
        }
    }
    for (role, k) in &args.add {
        let name = ws.resolve_key(k)?.name;
        match role.as_str() {
            "root" => {
                if names.contains(&name) {
                    return Err(Error::refused(format!("key {name} is a root key already"))
                        .hint("choose another key"));
                }
                names.push(name);
            }
            r @ ("targets" | "snapshot" | "timestamp") => {
                if !args.remove.iter().any(|(x, _)| x == r) || online.contains_key(r) {
                    return Err(Error::bad_input(format!(
                        "a Notary {r} role keeps one key: replace it (remove the old key in the same edit)"
                    ))
                    .hint(format!("--remove-key {r}:OLD --add-key {r}:{name}")));
                }
                online.insert(r, name);
            }
            other => {
                return Err(
                    Error::bad_input(format!("a Notary root has no role {other:?}"))
                        .hint("root, targets, snapshot or timestamp"),
                );
            }
        }
    }
    for (role, t) in &args.thresholds {
        if role != "root" {
            return Err(
                Error::bad_input(format!("a Notary {role} role has threshold 1 here"))
                    .hint("change the root threshold only"),
            );
        }
        threshold = *t;
    }
    stage(
        ctx,
        &StageSpec {
            root_keys: &names,
            threshold,
            targets: online.get("targets").map(String::as_str),
            snapshot: online.get("snapshot").map(String::as_str),
            timestamp: online.get("timestamp").map(String::as_str),
            years: 10,
            renew: false,
        },
    )?;
    show(ctx)
}

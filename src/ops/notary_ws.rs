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
    NotaryKey, NotaryMetadata, NotarySignature, check_threshold, root_certificates_end,
    verify_chain,
};
use crate::tuf::verify::ThresholdCheck;
use crate::workspace::{KeyRecord, Workspace, digest_hex};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The GUN of a Notary workspace; a TUF workspace is refused.
pub fn gun_of(ws: &Workspace) -> Result<String> {
    ws.notary_gun().map(str::to_string).ok_or_else(|| {
        Error::refused("this workspace keeps TUF 1.0 metadata, not Notary v1")
            .hint("start a Notary workspace in a new folder: `rootcellar init --format notary --gun NAME`")
    })
}

pub(super) fn parse(bytes: &[u8], what: &Path) -> Result<NotaryMetadata> {
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
pub(super) fn identity(k: &NotaryKey) -> Option<Vec<u8>> {
    k.decode(None).ok().map(|(pk, _)| pk.identity())
}

/// Workspace keys (private half here or elsewhere) by the identity of their public key: how
/// Notary key IDs (over certificates) are matched to the keys registered here.
pub(super) struct Holders(Vec<(Vec<u8>, KeyRecord)>);

impl Holders {
    pub(super) fn of(ws: &Workspace) -> Result<Holders> {
        Ok(Holders(
            ws.keys()?
                .into_iter()
                .filter_map(|r| r.public_key().ok().map(|pk| (pk.identity(), r)))
                .collect(),
        ))
    }

    /// The workspace key with public key `identity`.
    pub(super) fn get(&self, identity: &[u8]) -> Option<&KeyRecord> {
        self.0.iter().find(|(i, _)| i == identity).map(|(_, r)| r)
    }

    /// The workspace key a Notary key object stands for.
    pub(super) fn of_key(&self, k: &NotaryKey) -> Option<&KeyRecord> {
        self.get(&identity(k)?)
    }

    /// The name key ID `id` of `keys` goes by here: the workspace key with that public key,
    /// or the first 12 hex digits.
    pub(super) fn label(&self, keys: &BTreeMap<String, NotaryKey>, id: &str) -> String {
        keys.get(id)
            .and_then(|k| self.of_key(k))
            .map(|r| r.name.clone())
            .unwrap_or_else(|| id.chars().take(12).collect())
    }
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

/// Years a root certificate made without `--years` is valid.
pub const DEFAULT_CERTIFICATE_YEARS: u32 = 10;

impl<'a> StageSpec<'a> {
    /// The next version with `root_keys` and `threshold`; the published online keys; new
    /// certificates (where needed) valid [`DEFAULT_CERTIFICATE_YEARS`].
    pub fn keys(root_keys: &'a [String], threshold: u64) -> StageSpec<'a> {
        StageSpec {
            root_keys,
            threshold,
            targets: None,
            snapshot: None,
            timestamp: None,
            years: DEFAULT_CERTIFICATE_YEARS,
            renew: false,
        }
    }
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
    super::notary::check_root_keys(spec.root_keys, spec.threshold, spec.years)?;
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
    let (not_before, not_after) = super::notary::validity(ctx.now, spec.years);
    let mut root_ids = Vec::new();
    let published_ids: Vec<String> = previous
        .as_ref()
        .map(|p| p.signed.keys.keys().cloned().collect())
        .unwrap_or_default();
    // Where each root key's certificate comes from, settled for every key before any device
    // is used: a refusal then costs no PIN entry.
    enum Source {
        Kept(String, NotaryKey),
        Ready(NotaryKey),
        Make,
    }
    let mut sources = Vec::new();
    for r in &recs {
        let pk = r.public_key()?;
        let source = match kept(&pk.identity()).filter(|_| !spec.renew) {
            Some((id, k)) => Source::Kept(id, k),
            None if r.backend == crate::workspace::Backend::Public => {
                // A keyholder elsewhere: the certificate their device made, imported.
                let k = brought_certificate(r, &gun, ctx.now, &pk)?;
                if spec.renew && published_ids.contains(&k.keyid()) {
                    return Err(Error::refused(format!(
                        "the certificate of {} is the one in the published version: a renewal needs a new one from its keyholder",
                        r.name
                    ))
                    .hint(format!(
                        "its keyholder runs `rootcellar notary certificate --key {} --gun {gun} --out {}.crt`; then `rootcellar key import {}.crt --name {}` here",
                        r.name, r.name, r.name, r.name
                    )));
                }
                Source::Ready(k)
            }
            // A certificate made earlier on the key's device (`notary certificate`), good
            // beyond the warning window and new to this version when renewing.
            None => match stored_certificate(r, &gun, ctx.now, window, &pk)
                .filter(|k| !(spec.renew && published_ids.contains(&k.keyid())))
            {
                Some(k) => Source::Ready(k),
                None => Source::Make,
            },
        };
        sources.push((r, pk, source));
    }
    let mut made = Vec::new();
    let mut kept_names = Vec::new();
    let mut brought = Vec::new();
    for (r, pk, source) in sources {
        let (id, k) = match source {
            Source::Kept(id, k) => {
                kept_names.push(r.name.clone());
                (id, k)
            }
            Source::Ready(k) => {
                brought.push(r.name.clone());
                (k.keyid(), k)
            }
            Source::Make => {
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
            return Err(super::root::not_a_root_key(
                &r.name,
                md.signed.version,
                prev.is_some(),
            ));
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
    let records = Holders::of(ws)?;
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
            let l = records.label(&m.signed.keys, id);
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
    let records = Holders::of(ws)?;
    Ok(published(ws)?
        .iter()
        .map(|m| {
            (
                m.signed.version,
                m.signed.expires.clone(),
                m.signatures
                    .iter()
                    .map(|s| records.label(&m.signed.keys, &s.keyid))
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

/// The published root's root keys by workspace name, its threshold, and the names of its
/// online keys (role → name, where registered). Refused when a root key is not registered here.
fn published_key_set(ws: &Workspace) -> Result<(NotaryMetadata, Vec<String>, u64)> {
    let prev = published(ws)?.pop().ok_or_else(|| {
        Error::refused("no Notary root is published yet").hint(
            "stage version 1 with `rootcellar notary root`, or `rootcellar import notary DIR`",
        )
    })?;
    let records = Holders::of(ws)?;
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
            .and_then(|k| records.of_key(k))
            .map(|r| r.name.clone())
            .ok_or_else(|| {
                Error::refused(format!(
                    "root key {} of version {} is not registered in this workspace",
                    id.chars().take(12).collect::<String>(),
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
            renew: true,
            ..StageSpec::keys(&names, threshold)
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
    stage(ctx, &StageSpec::keys(&names, threshold))
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
            stage(ctx, &StageSpec::keys(&names, threshold))
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
                    targets: pick("targets"),
                    snapshot: pick("snapshot"),
                    timestamp: pick("timestamp"),
                    ..StageSpec::keys(&names, threshold)
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
    let records = Holders::of(ws)?;
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
        name: records.label(&m.signed.keys, id),
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
            let n = records.label(&md.signed.keys, id);
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
            .map(|(id, _)| records.label(&md.signed.keys, id))
            .collect();
        let removed: Vec<String> = match old {
            Some((p, _)) => old_ids
                .iter()
                .filter(|(_, i)| !new_ids.iter().any(|(_, n)| n == i))
                .map(|(id, _)| records.label(&p.signed.keys, id))
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
    let records = Holders::of(&ws)?;
    let record_of = |k: &NotaryKey| records.of_key(k);
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
                .map(|id| records.label(&md.signed.keys, id))
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
            targets: Some(&args.targets_keys[0]),
            snapshot: Some(&args.snapshot_key),
            timestamp: Some(&args.timestamp_key),
            ..StageSpec::keys(&args.root_keys, args.threshold)
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
            targets: online.get("targets").map(String::as_str),
            snapshot: online.get("snapshot").map(String::as_str),
            timestamp: online.get("timestamp").map(String::as_str),
            ..StageSpec::keys(&names, threshold)
        },
    )?;
    show(ctx)
}

//! Notary v1 / Docker Content Trust: staging a root whose keys are named by certificates their
//! own devices sign (a root key whose certificate is still good keeps it, and so its key ID),
//! the certificate and expiry warnings, signatures in Notary's encoding, and Docker-style
//! delegations (`targets/NAME`, path prefixes).

use super::{Base, Doc, EditRoot, NewRoot, Staging};
use crate::error::{Error, Result};
use crate::signer::notary_cert::{check_root_keys, root_certificate, validity};
use crate::tuf::PublicKey;
use crate::tuf::RoleKeys;
use crate::tuf::expiry::{Timestamp, format_tuf_time, parse_user_time};
use crate::tuf::notary::{
    NotaryDelegation, NotaryKey, NotaryKeyVal, NotaryMetadata, NotarySignature, NotaryTargets,
    root_certificates_end,
};
use crate::workspace::{KeyRecord, Workspace, digest_hex};
use base64::Engine;
use serde::Serialize;
use std::collections::BTreeMap;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn notary_doc(d: &Doc) -> Option<&NotaryMetadata> {
    match d {
        Doc::Notary(m) => Some(m),
        Doc::Tuf(_) => None,
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
pub fn stage(b: &Base, gun: &str, spec: &StageSpec) -> Result<Staging> {
    let (ws, now) = (b.ws, b.dev.now());
    let gun = gun.to_string();
    if let Some(md) = b.staged {
        return Err(
            Error::refused(format!("version {} is staged already", md.version()))
                .hint("sign and publish it, or drop it with `rootcellar root discard`"),
        );
    }
    check_root_keys(spec.root_keys, spec.threshold, spec.years)?;
    let previous = b.published.last().and_then(notary_doc);
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
                let k = online_key(&pk)?;
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
    let window = parse_user_time(&ws.config.expiry_warning, now).unwrap_or(now);
    let kept = |pk_identity: &[u8]| -> Option<(String, NotaryKey)> {
        let prev = previous.as_ref()?;
        let role = prev.signed.roles.get("root")?;
        role.keyids.iter().find_map(|id| {
            let k = prev.signed.keys.get(id)?;
            let (pk, cn) = k.decode(Some(now)).ok()?;
            let end = crate::tuf::notary::certificate_end(k)?;
            (pk.identity() == pk_identity && cn.as_deref() == Some(gun.as_str()) && end > window)
                .then(|| (id.clone(), k.clone()))
        })
    };
    let (not_before, not_after) = validity(now, spec.years);
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
                let k = brought_certificate(r, &gun, now, &pk)?;
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
            None => match stored_certificate(r, &gun, now, window, &pk)
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
                b.dev
                    .air_gap("sign a root certificate with a private key")?;
                let signer = b.dev.signer(ws, r)?;
                b.dev.touch_notice(r, "sign its certificate");
                let pem = root_certificate(signer.as_ref(), &gun, not_before, not_after)?;
                if signer.public_key().identity() != pk.identity() {
                    return Err(Error::refused(format!(
                        "the device holding {} answers with another key",
                        r.name
                    ))
                    .hint("check which device is plugged in"));
                }
                made.push(r.name.clone());
                let k = certificate_key(&pem);
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
    let digest = digest_hex(md.canonical_signed());
    Ok(Staging {
        detail: serde_json::json!({
            "format": "notary",
            "gun": gun,
            "version": version,
            "expires": expires,
            "signed_sha256": digest,
            "root_keyids": root_ids,
            "root_threshold": spec.threshold,
            "certificates_made": made,
        }),
        doc: Doc::Notary(md),
        report: Some(StageReport {
            gun,
            version,
            root_keyids: root_ids,
            threshold: spec.threshold,
            expires,
            certificates_made: made,
            certificates_kept: kept_names,
            certificates_brought: brought,
            digest,
        }),
        notes: Vec::new(),
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
    let k = certificate_key(pem);
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
    let k = certificate_key(pem);
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

/// Warnings about the published Notary root: its expiry and its root certificates' end.
pub(super) fn warnings(latest: &NotaryMetadata, now: Timestamp, window: Timestamp) -> Vec<String> {
    let mut w = Vec::new();
    let v = latest.signed.version;
    if let Some(end) = root_certificates_end(latest) {
        if end <= now {
            w.push(format!(
                "a root certificate of the published version {v} ENDED on {}: Notary clients refuse this root; stage a renewal now (`rootcellar notary root --renew` with the same keys)",
                format_tuf_time(end)
            ));
        } else if end <= window {
            w.push(format!(
                "a root certificate of the published version {v} ends on {} ({} days): stage a renewal (`rootcellar notary root --renew` with the same keys)",
                format_tuf_time(end),
                (end - now).whole_days()
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

/// The published root, its root keys by workspace name and its threshold. Refused when a root
/// key is not registered here.
fn published_key_set<'a>(b: &'a Base) -> Result<(&'a Doc, Vec<String>, u64)> {
    let prev = b.published.last().ok_or_else(|| {
        Error::refused("no Notary root is published yet").hint(
            "stage version 1 with `rootcellar notary root`, or `rootcellar import notary DIR`",
        )
    })?;
    let records = super::Holders::of(b.ws)?;
    let role = prev
        .role("root")
        .cloned()
        .ok_or_else(|| Error::refused("the published root has no root role"))?;
    let mut names = Vec::new();
    for id in &role.keyids {
        let name = records
            .record(prev, id)
            .map(|r| r.name.clone())
            .ok_or_else(|| {
                Error::refused(format!(
                    "root key {} of version {} is not registered in this workspace",
                    id.chars().take(12).collect::<String>(),
                    prev.version()
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
pub(super) fn refresh(b: &Base, gun: &str, expires: Option<&str>) -> Result<Staging> {
    if expires.is_some() {
        return Err(Error::bad_input(
            "a Notary root expires with its first root certificate: --expires cannot be chosen",
        )
        .hint("run `refresh` without --expires (new certificates, 10 years), or `notary root --renew --years N`"));
    }
    let (_, names, threshold) = published_key_set(b)?;
    stage(
        b,
        gun,
        &StageSpec {
            renew: true,
            ..StageSpec::keys(&names, threshold)
        },
    )
}

/// `revoke K` in a Notary workspace: the next version without root key K (online keys change
/// with `rotate`).
pub(super) fn revoke(b: &Base, gun: &str, k: &str) -> Result<Staging> {
    let (prev, mut names, threshold) = published_key_set(b)?;
    let rec = b.ws.resolve_key(k)?;
    let before = names.len();
    names.retain(|n| *n != rec.name);
    if names.len() == before {
        return Err(Error::refused(format!(
            "key {} is not a root key of version {}",
            rec.name,
            prev.version()
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
    stage(b, gun, &StageSpec::keys(&names, threshold))
}

/// `rotate ROLE --old K --new K` in a Notary workspace.
pub(super) fn rotate(b: &Base, gun: &str, role: &str, old: &str, new: &str) -> Result<Staging> {
    let (prev, mut names, threshold) = published_key_set(b)?;
    let old_rec = b.ws.resolve_key(old)?;
    let new_rec = b.ws.resolve_key(new)?;
    match role {
        "root" => {
            let pos = names
                .iter()
                .position(|n| *n == old_rec.name)
                .ok_or_else(|| {
                    Error::refused(format!(
                        "key {} is not a root key of version {}",
                        old_rec.name,
                        prev.version()
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
            stage(b, gun, &StageSpec::keys(&names, threshold))
        }
        "targets" | "snapshot" | "timestamp" => {
            if prev.ids_in(role, &super::identity_of(&old_rec)).is_empty() {
                return Err(Error::refused(format!(
                    "key {} is not the {role} key of version {}",
                    old_rec.name,
                    prev.version()
                ))
                .hint("`rootcellar status` and `key list` show the keys"));
            }
            let pick = |r: &str| (r == role).then_some(new_rec.name.as_str());
            stage(
                b,
                gun,
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

/// `root new` in a Notary workspace: version 1 as `notary root` stages it (certificates valid
/// 10 years; Notary roots have one targets key here and no consistent snapshots).
pub(super) fn new(b: &Base, gun: &str, args: &NewRoot) -> Result<Staging> {
    if !b.published.is_empty() {
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
        b,
        gun,
        &StageSpec {
            targets: Some(&args.targets_keys[0]),
            snapshot: Some(&args.snapshot_key),
            timestamp: Some(&args.timestamp_key),
            ..StageSpec::keys(&args.root_keys, args.threshold)
        },
    )
}

/// `root edit` in a Notary workspace: the next version from the published one with root keys
/// added or removed, the root threshold changed, or an online key replaced (remove the old and
/// add the new in one edit).
pub(super) fn edit(b: &Base, gun: &str, args: &EditRoot) -> Result<Staging> {
    if let Some(md) = b.staged {
        return Err(Error::refused(format!(
            "version {} is staged already; a Notary workspace stages each version whole",
            md.version()
        ))
        .hint("publish it, or drop it with `rootcellar root discard` and edit again"));
    }
    if args.expires.is_some() {
        return Err(Error::bad_input(
            "a Notary root expires with its first root certificate: --expires cannot be chosen",
        )
        .hint("`rootcellar refresh` makes new certificates for the same keys"));
    }
    let (_, mut names, mut threshold) = published_key_set(b)?;
    let mut online: BTreeMap<&str, String> = BTreeMap::new();
    for (role, k) in &args.remove {
        let name = b.ws.resolve_key(k)?.name;
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
            other => return Err(no_role(other)),
        }
    }
    for (role, k) in &args.add {
        let name = b.ws.resolve_key(k)?.name;
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
            other => return Err(no_role(other)),
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
        b,
        gun,
        &StageSpec {
            targets: online.get("targets").map(String::as_str),
            snapshot: online.get("snapshot").map(String::as_str),
            timestamp: online.get("timestamp").map(String::as_str),
            ..StageSpec::keys(&names, threshold)
        },
    )
}

fn no_role(other: &str) -> Error {
    Error::bad_input(format!("a Notary root has no role {other:?}"))
        .hint("root, targets, snapshot or timestamp")
}

/// Notary workspaces keep to ECDSA P-256 (and Ed25519 online keys): what Notary's clients read.
fn notary_p256_only() -> Error {
    Error::refused("a Notary workspace signs with ECDSA P-256 keys (Ed25519 for online keys) only")
        .hint("use a P-256 key here; P-384 and RSA keys belong to TUF workspaces")
}

/// A Notary signature entry by `pk` from the signer's bytes: ECDSA as raw r‖s.
pub fn signature(keyid: &str, pk: &PublicKey, raw: &[u8]) -> Result<NotarySignature> {
    let (method, bytes) = match pk {
        PublicKey::EcdsaP256(_) => {
            let sig = p256::ecdsa::Signature::from_der(raw)
                .map_err(|_| Error::refused("the device returned a malformed ECDSA signature"))?;
            ("ecdsa", sig.to_bytes().to_vec())
        }
        PublicKey::Ed25519(_) => ("eddsa", raw.to_vec()),
        PublicKey::EcdsaP384(_) | PublicKey::Rsa(_) => return Err(notary_p256_only()),
    };
    Ok(NotarySignature {
        keyid: keyid.into(),
        method: method.into(),
        sig: B64.encode(bytes),
        extra: Default::default(),
    })
}

/// Notary's key object for a root certificate (`ecdsa-x509`, base64 of the PEM).
pub fn certificate_key(pem: &str) -> NotaryKey {
    NotaryKey {
        keytype: "ecdsa-x509".into(),
        keyval: NotaryKeyVal {
            private: serde_json::Value::Null,
            public: B64.encode(pem.as_bytes()),
            extra: Default::default(),
        },
        extra: Default::default(),
    }
}

/// Notary's key object for an online key: `ecdsa` (SPKI DER) or `ed25519` (raw bytes).
pub fn online_key(pk: &PublicKey) -> Result<NotaryKey> {
    let (keytype, bytes) = match pk {
        PublicKey::EcdsaP256(vk) => {
            use p256::pkcs8::EncodePublicKey;
            let der = vk
                .to_public_key_der()
                .map_err(|e| Error::bad_input(format!("public key: {e}")))?;
            ("ecdsa", der.as_bytes().to_vec())
        }
        PublicKey::Ed25519(vk) => ("ed25519", vk.to_bytes().to_vec()),
        PublicKey::EcdsaP384(_) | PublicKey::Rsa(_) => return Err(notary_p256_only()),
    };
    Ok(NotaryKey {
        keytype: keytype.into(),
        keyval: NotaryKeyVal {
            private: serde_json::Value::Null,
            public: B64.encode(bytes),
            extra: Default::default(),
        },
        extra: Default::default(),
    })
}

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
pub(super) fn notary_paths(paths: &[String]) -> Result<Vec<String>> {
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

/// A workspace key as a Notary delegation key object, with its key ID and name.
fn delegation_key(ws: &Workspace, k: &str) -> Result<(String, NotaryKey, String)> {
    let rec = ws.resolve_key(k)?;
    let key = online_key(&rec.public_key()?)?;
    Ok((key.keyid(), key, rec.name))
}

/// What Notary refuses in a delegation before anything is read: its name, `--terminating`,
/// no key, glob paths.
pub(super) fn check_delegation(d: &super::Delegation) -> Result<()> {
    check_role_name(&d.role)?;
    if d.terminating {
        return Err(
            Error::bad_input("Notary delegations have no terminating flag")
                .hint("leave out --terminating in a Notary workspace"),
        );
    }
    if d.keys.is_empty() {
        return Err(
            Error::bad_input("a delegated role needs at least one key").hint("give --key K")
        );
    }
    notary_paths(&d.paths).map(|_| ())
}

/// An edit of Notary targets metadata's delegations.
pub(super) fn edit_targets(
    t: &mut NotaryTargets,
    ws: &Workspace,
    e: &super::DelegationEdit,
) -> Result<()> {
    use super::DelegationEdit;
    let roles = &mut t.delegations.roles;
    match e {
        DelegationEdit::Add(d) => {
            if roles.iter().any(|r| r.name == d.role) {
                return Err(
                    Error::refused(format!("role {} is delegated already", d.role))
                        .hint("use `delegate rotate` or `delegate remove`"),
                );
            }
            let mut keyids = Vec::new();
            for k in &d.keys {
                let (id, key, name) = delegation_key(ws, k)?;
                if keyids.contains(&id) {
                    return Err(Error::bad_input(format!("key {name} is given twice"))
                        .hint("name each key once"));
                }
                t.delegations.keys.insert(id.clone(), key);
                keyids.push(id);
            }
            t.delegations.roles.push(NotaryDelegation {
                name: d.role.clone(),
                keyids,
                threshold: d.threshold,
                paths: notary_paths(&d.paths)?,
                extra: BTreeMap::new(),
            });
        }
        DelegationEdit::Remove(role) => {
            let before = roles.len();
            roles.retain(|r| r.name != *role);
            if roles.len() == before {
                return Err(super::not_delegated(role));
            }
        }
        DelegationEdit::Rotate { role, old, new } => {
            let (old_id, _, _) = delegation_key(ws, old)?;
            let (new_id, new_key, _) = delegation_key(ws, new)?;
            let r = roles
                .iter_mut()
                .find(|r| r.name == *role)
                .ok_or_else(|| super::not_delegated(role))?;
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
        }
    }
    Ok(())
}

/// How long before a Notary root certificate ends `verify` starts to warn.
pub const CERTIFICATE_WARNING_DAYS: i64 = 60;

/// A Notary trust folder's targets files: `targets.json`, then `targets/…/*.json` as the roles
/// they name, parents before children.
fn targets_files(dir: &std::path::Path) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut out = Vec::new();
    let top = dir.join("targets.json");
    if top.is_file() {
        out.push(("targets".to_string(), top));
    }
    let mut pending = vec![(dir.join("targets"), "targets".to_string())];
    let mut found = Vec::new();
    // Links are never followed: a folder linked to itself cannot make the walk endless.
    while let Some((d, prefix)) = pending.pop() {
        if !std::fs::symlink_metadata(&d).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        for (name, path, is_dir) in crate::readpath::entries(&d)? {
            if is_dir {
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

/// A Notary trust folder's `targets.json` and delegated roles' files, checked against `root`
/// as Notary's client checks them; the first failure, if any.
pub(super) fn verify_targets_folder(
    root: &NotaryMetadata,
    dir: &std::path::Path,
    at: Timestamp,
) -> Result<(Vec<crate::tuf::notary::TargetsCheck>, Option<String>)> {
    let mut loaded = Vec::new();
    for (role, path) in targets_files(dir)? {
        let bytes = crate::readpath::read_input(&path)?;
        match crate::tuf::notary::NotaryTargetsFile::from_bytes(&bytes) {
            Ok(f) => loaded.push((role, f)),
            Err(e) => return Ok((Vec::new(), Some(format!("{}: {e}", path.display())))),
        }
    }
    let targets = crate::tuf::notary::verify_targets(root, &loaded, at);
    let failure = targets
        .iter()
        .find(|t| !t.errors.is_empty())
        .map(|t| t.errors.join("; "));
    Ok((targets, failure))
}

/// `verify`'s warning about a root certificate of `newest` that ends within
/// [`CERTIFICATE_WARNING_DAYS`] of `at`.
pub(super) fn verify_warnings(newest: &NotaryMetadata, at: Timestamp) -> Vec<String> {
    match root_certificates_end(newest) {
        Some(end) if end - at < time::Duration::days(CERTIFICATE_WARNING_DAYS) => vec![format!(
            "a root certificate of version {} ends at {}, within {CERTIFICATE_WARNING_DAYS} days: after that Notary clients refuse this root; renew it now (`rootcellar notary root --previous …` with the same keys)",
            newest.signed.version,
            format_tuf_time(end)
        )],
        _ => Vec::new(),
    }
}

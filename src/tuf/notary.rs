//! Notary v1 / Docker Content Trust root metadata: reading and verifying it as a Notary client
//! would.
//!
//! The dialect differs from TUF 1.0: `_type` "Root", no `spec_version`, `expires` in RFC 3339 with
//! fractional seconds and an offset; keys `{"keytype","keyval":{"private":null,"public":base64}}`
//! where root keys are `ecdsa-x509` (a PEM certificate, base64); signatures
//! `{"keyid","method","sig":base64}` with ECDSA as raw r‖s. Key IDs and signed bytes use the same
//! canonical JSON as TUF (checked against Notary's own fixtures). The key's type picks the
//! algorithm; a `method` that disagrees makes the signature count for nothing. A root key whose
//! certificate is not valid at the time checked counts for nothing. Pure: the time is passed in.

use super::canonical::to_canonical;
use super::expiry::{Timestamp, format_tuf_time};
use super::json::parse_strict;
use super::key::PublicKey;
use super::metadata::{MetadataError, RoleKeys, TOP_LEVEL_ROLES};
use super::verify::{ChainCheck, RootCheck, ThresholdCheck};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use time::format_description::well_known::Rfc3339;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotaryKeyVal {
    pub private: Value,
    pub public: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotaryKey {
    pub keytype: String,
    pub keyval: NotaryKeyVal,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotaryRoot {
    #[serde(rename = "_type")]
    pub type_: String,
    pub version: u64,
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_snapshot: Option<bool>,
    pub keys: BTreeMap<String, NotaryKey>,
    pub roles: BTreeMap<String, RoleKeys>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotarySignature {
    pub keyid: String,
    pub method: String,
    pub sig: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A Notary root file, with the canonical bytes of what was parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct NotaryMetadata {
    pub signed: NotaryRoot,
    pub signatures: Vec<NotarySignature>,
    canonical: Vec<u8>,
}

fn shape(m: impl Into<String>) -> MetadataError {
    MetadataError::Shape(m.into())
}

/// Whether a strictly parsed document is in the Notary dialect (`_type` "Root").
pub fn is_notary(v: &Value) -> bool {
    v.get("signed")
        .and_then(|s| s.get("_type"))
        .and_then(Value::as_str)
        == Some("Root")
}

/// Parses Notary's RFC 3339 expiry.
pub fn parse_expires(s: &str) -> Result<Timestamp, String> {
    time::OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|_| format!("expires {s:?} is not an RFC 3339 time"))
}

/// A Notary envelope split: typed `signed`, signatures, the canonical bytes of `signed` exactly
/// as parsed, and `signed` as parsed.
type Envelope<T> = (T, Vec<NotarySignature>, Vec<u8>, Value);

fn envelope<T: serde::de::DeserializeOwned>(value: Value) -> Result<Envelope<T>, MetadataError> {
    let Value::Object(mut top) = value else {
        return Err(shape("top level is not an object"));
    };
    let signed_value = top
        .remove("signed")
        .ok_or_else(|| shape("no \"signed\" object"))?;
    let sigs = top
        .remove("signatures")
        .ok_or_else(|| shape("no \"signatures\" list"))?;
    let signatures: Vec<NotarySignature> = serde_path_to_error::deserialize(sigs)
        .map_err(|e| shape(format!("signatures.{}: {}", e.path(), e.inner())))?;
    let canonical = to_canonical(&signed_value).map_err(|e| shape(e.to_string()))?;
    let signed: T = serde_path_to_error::deserialize(signed_value.clone())
        .map_err(|e| shape(format!("signed.{}: {}", e.path(), e.inner())))?;
    Ok((signed, signatures, canonical, signed_value))
}

impl NotaryMetadata {
    pub fn from_bytes(bytes: &[u8]) -> Result<NotaryMetadata, MetadataError> {
        Self::from_value(parse_strict(bytes)?)
    }

    pub fn from_value(value: Value) -> Result<NotaryMetadata, MetadataError> {
        let (signed, signatures, canonical, signed_value) = envelope::<NotaryRoot>(value)?;
        if signed.type_ != "Root" {
            return Err(shape(format!(
                "_type is {:?}, expected \"Root\"",
                signed.type_
            )));
        }
        if signed.version == 0 {
            return Err(shape("version is 0: metadata versions start at 1"));
        }
        parse_expires(&signed.expires).map_err(shape)?;
        for name in TOP_LEVEL_ROLES {
            let role = signed
                .roles
                .get(name)
                .ok_or_else(|| shape(format!("root has no {name:?} role")))?;
            if role.threshold == 0 {
                return Err(shape(format!(
                    "role {name:?} has threshold 0: a threshold must be at least 1"
                )));
            }
            let mut seen = BTreeSet::new();
            for id in &role.keyids {
                if !seen.insert(id) {
                    return Err(shape(format!("role {name:?} lists keyid {id} twice")));
                }
                if !signed.keys.contains_key(id) {
                    return Err(shape(format!(
                        "role {name:?} lists keyid {id}, which is not in \"keys\""
                    )));
                }
            }
        }
        let back = serde_json::to_value(&signed).map_err(|e| shape(e.to_string()))?;
        if back != signed_value {
            return Err(shape(
                "\"signed\" holds a field in a form rootcellar cannot keep exactly",
            ));
        }
        Ok(NotaryMetadata {
            signed,
            signatures,
            canonical,
        })
    }

    pub fn canonical_signed(&self) -> &[u8] {
        &self.canonical
    }

    /// The same `signed` with other signatures; refused if the signed part would change.
    pub fn with_signatures(
        &self,
        signatures: Vec<NotarySignature>,
    ) -> Result<NotaryMetadata, MetadataError> {
        let out =
            Self::from_value(serde_json::json!({"signed": self.signed, "signatures": signatures}))?;
        if out.canonical != self.canonical {
            return Err(shape(
                "the signed part changed while its signatures were replaced",
            ));
        }
        Ok(out)
    }

    /// The file form, `{"signed", "signatures"}` as compact JSON. `signed` serializes to
    /// exactly what was parsed (`from_value` refuses anything else), so the canonical bytes
    /// and every signature stay valid.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "signed": self.signed,
            "signatures": self.signatures,
        }))
        .unwrap_or_default()
    }
}

impl NotaryKey {
    /// Notary's key ID: SHA-256 of the canonical JSON of the key object.
    pub fn keyid(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or(Value::Null);
        hex::encode(Sha256::digest(to_canonical(&v).unwrap_or_default()))
    }

    /// The public key, and for `ecdsa-x509` the certificate's subject; refused when the
    /// certificate is not valid at `at` (not checked when `at` is `None`).
    pub fn decode(
        &self,
        at: Option<Timestamp>,
    ) -> Result<(NotaryPublicKey, Option<String>), String> {
        use p256::pkcs8::DecodePublicKey;
        let raw = B64
            .decode(self.keyval.public.as_bytes())
            .map_err(|_| "keyval.public is not base64".to_string())?;
        match self.keytype.as_str() {
            "ecdsa-x509" | "rsa-x509" => {
                use x509_cert::der::{DecodePem, Encode};
                let pem = String::from_utf8(raw)
                    .map_err(|_| "the certificate is not PEM text".to_string())?;
                let cert = x509_cert::Certificate::from_pem(pem.as_bytes())
                    .map_err(|e| format!("not a certificate: {e}"))?;
                let v = cert.tbs_certificate().validity();
                let (nb, na) = (
                    v.not_before.to_unix_duration().as_secs() as i64,
                    v.not_after.to_unix_duration().as_secs() as i64,
                );
                let t = at.map(|a| a.unix_timestamp()).unwrap_or(nb);
                if let Some(at) = at
                    && (t < nb || t > na)
                {
                    let when =
                        time::OffsetDateTime::from_unix_timestamp(if t > na { na } else { nb })
                            .map(format_tuf_time)
                            .unwrap_or_default();
                    return Err(format!(
                        "its certificate ({}) is not valid at {}: {} {when}",
                        cert.tbs_certificate().subject(),
                        format_tuf_time(at),
                        if t > na {
                            "it expired on"
                        } else {
                            "it starts on"
                        }
                    ));
                }
                let spki = cert
                    .tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .map_err(|e| e.to_string())?;
                let k = if self.keytype == "rsa-x509" {
                    use rsa::pkcs8::DecodePublicKey as _;
                    NotaryPublicKey::Rsa(Box::new(
                        rsa::RsaPublicKey::from_public_key_der(&spki)
                            .map_err(|_| "the certificate's key is not RSA".to_string())?,
                    ))
                } else {
                    NotaryPublicKey::Tuf(PublicKey::EcdsaP256(
                        p256::ecdsa::VerifyingKey::from_public_key_der(&spki)
                            .map_err(|_| "the certificate's key is not P-256".to_string())?,
                    ))
                };
                let cn = cert
                    .tbs_certificate()
                    .subject()
                    .common_name()
                    .ok()
                    .flatten()
                    .map(|c| c.value().to_string());
                Ok((k, cn))
            }
            "ecdsa" => p256::ecdsa::VerifyingKey::from_public_key_der(&raw)
                .map(|k| (NotaryPublicKey::Tuf(PublicKey::EcdsaP256(k)), None))
                .map_err(|_| "keyval.public is not a P-256 SubjectPublicKeyInfo".to_string()),
            "ed25519" => {
                let arr: [u8; 32] = raw
                    .as_slice()
                    .try_into()
                    .map_err(|_| format!("an Ed25519 key has 32 bytes, not {}", raw.len()))?;
                ed25519_dalek::VerifyingKey::from_bytes(&arr)
                    .map(|k| (NotaryPublicKey::Tuf(PublicKey::Ed25519(k)), None))
                    .map_err(|e| e.to_string())
            }
            other => Err(format!(
                "key type {other:?} is not supported (rootcellar reads ecdsa-x509, rsa-x509, ecdsa and ed25519)"
            )),
        }
    }
}

/// When the first of the root role's certificates stops being valid (None when the role has no
/// readable certificate). Notary refuses a root whose certificates expired, so the root must be
/// renewed before then (`notary root --previous`).
pub fn root_certificates_end(md: &NotaryMetadata) -> Option<Timestamp> {
    let role = md.signed.roles.get("root")?;
    role.keyids
        .iter()
        .filter_map(|id| md.signed.keys.get(id))
        .filter_map(certificate_end)
        .min()
}

/// When the certificate of an `*-x509` key stops being valid (None for other keys, or a
/// certificate that does not parse).
pub fn certificate_end(k: &NotaryKey) -> Option<Timestamp> {
    use x509_cert::der::DecodePem;
    if !k.keytype.ends_with("-x509") {
        return None;
    }
    let pem = B64.decode(k.keyval.public.as_bytes()).ok()?;
    let cert = x509_cert::Certificate::from_pem(&pem).ok()?;
    let end = cert
        .tbs_certificate()
        .validity()
        .not_after
        .to_unix_duration();
    Timestamp::from_unix_timestamp(i64::try_from(end.as_secs()).ok()?).ok()
}

/// Checks that a PEM certificate is signed by its own subject key (ECDSA P-256 with SHA-256),
/// as a certificate a key's device made for itself is. Returns the subject key.
pub fn check_self_signed(pem: &str) -> Result<PublicKey, String> {
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;
    use x509_cert::der::{DecodePem, Encode};
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes())
        .map_err(|e| format!("not a certificate: {e}"))?;
    if cert.signature_algorithm().oid.to_string() != "1.2.840.10045.4.3.2" {
        return Err("the certificate is not signed with ECDSA-with-SHA256".into());
    }
    let spki = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| e.to_string())?;
    let vk = p256::ecdsa::VerifyingKey::from_public_key_der(&spki)
        .map_err(|_| "the certificate's key is not P-256".to_string())?;
    let tbs = cert.tbs_certificate().to_der().map_err(|e| e.to_string())?;
    let sig = p256::ecdsa::Signature::from_der(cert.signature().raw_bytes())
        .map_err(|_| "the certificate's signature is malformed".to_string())?;
    vk.verify(&tbs, &sig)
        .map_err(|_| "the certificate is not signed by its own key".to_string())?;
    Ok(PublicKey::EcdsaP256(vk))
}

/// Checks one Notary signature by `pk` over `message` (its method must match the key).
pub fn verify_signature(
    pk: &NotaryPublicKey,
    sig: &NotarySignature,
    message: &[u8],
) -> Result<(), String> {
    verify_sig(pk, &sig.method, message, &sig.sig)
}

/// A Notary public key: the TUF kinds, or RSA (Docker's delegation keys, `rsa-x509`).
#[derive(Clone, Debug, PartialEq)]
pub enum NotaryPublicKey {
    Tuf(PublicKey),
    Rsa(Box<rsa::RsaPublicKey>),
}

impl NotaryPublicKey {
    /// Bytes that are the same for the same public key, whatever wraps it.
    pub fn identity(&self) -> Vec<u8> {
        match self {
            NotaryPublicKey::Tuf(k) => k.identity(),
            NotaryPublicKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                let mut v = vec![3u8];
                v.extend_from_slice(&k.n().to_be_bytes());
                v.push(0);
                v.extend_from_slice(&k.e().to_be_bytes());
                v
            }
        }
    }
}

fn verify_sig(
    pk: &NotaryPublicKey,
    method: &str,
    message: &[u8],
    sig_b64: &str,
) -> Result<(), String> {
    let bytes = B64
        .decode(sig_b64.as_bytes())
        .map_err(|_| "signature is not base64".to_string())?;
    let pk = match pk {
        NotaryPublicKey::Tuf(pk) => pk,
        NotaryPublicKey::Rsa(k) => {
            if method != "rsapss" {
                return Err(format!(
                    "method {method:?} does not match the key's type (rsa): counts for nothing"
                ));
            }
            use rsa::signature::Verifier;
            let vk = rsa::pss::VerifyingKey::<Sha256>::new((**k).clone());
            let sig = rsa::pss::Signature::try_from(bytes.as_slice())
                .map_err(|_| "not an RSA signature".to_string())?;
            return vk.verify(message, &sig).map_err(|_| {
                "signature does not verify over the canonical bytes of `signed`".to_string()
            });
        }
    };
    match pk {
        PublicKey::EcdsaP256(vk) => {
            if method != "ecdsa" {
                return Err(format!(
                    "method {method:?} does not match the key's type (ecdsa): counts for nothing"
                ));
            }
            use p256::ecdsa::signature::Verifier;
            let sig = p256::ecdsa::Signature::from_slice(&bytes).map_err(|_| {
                format!(
                    "an ECDSA signature here is 64 raw bytes, not {}",
                    bytes.len()
                )
            })?;
            vk.verify(message, &sig).map_err(|_| {
                "signature does not verify over the canonical bytes of `signed`".to_string()
            })
        }
        PublicKey::Ed25519(vk) => {
            if method != "eddsa" {
                return Err(format!(
                    "method {method:?} does not match the key's type (ed25519): counts for nothing"
                ));
            }
            let arr: [u8; 64] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| format!("an Ed25519 signature has 64 bytes, not {}", bytes.len()))?;
            vk.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&arr))
                .map_err(|_| {
                    "signature does not verify over the canonical bytes of `signed`".to_string()
                })
        }
        // Notary's own key types are ECDSA P-256, Ed25519 and RSA certificates (above).
        PublicKey::EcdsaP384(_) | PublicKey::Rsa(_) => {
            Err("Notary has no such key type: counts for nothing".to_string())
        }
    }
}

fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// Threshold of `role` over `md`'s signatures with `keys`; certificates must be valid at `at`
/// (`None`: not checked) and name `gun` when it is given.
pub fn check_threshold(
    keys_of: &str,
    signatures: &[NotarySignature],
    message: &[u8],
    keys: &BTreeMap<String, NotaryKey>,
    role: &RoleKeys,
    at: Option<Timestamp>,
    gun: Option<&str>,
) -> ThresholdCheck {
    let mut notes = Vec::new();
    let mut usable = BTreeMap::new();
    for id in role.keyids.iter().collect::<BTreeSet<_>>() {
        let Some(k) = keys.get(id) else { continue };
        if &k.keyid() != id {
            notes.push(format!(
                "key {} does not match its key ID: it counts for nothing",
                short(id)
            ));
            continue;
        }
        match k.decode(at) {
            Ok((pk, cn)) => {
                if let (Some(g), Some(c)) = (gun, &cn)
                    && c != g
                {
                    notes.push(format!("key {}: its certificate names {c:?}, not the repository {g:?}: it counts for nothing", short(id)));
                    continue;
                }
                usable.insert(id.clone(), pk);
            }
            Err(e) => notes.push(format!("key {}: {e}: it counts for nothing", short(id))),
        }
    }
    let checked = signatures.iter().map(|s| {
        let verdict = usable.get(&s.keyid).map(|pk: &NotaryPublicKey| {
            verify_sig(pk, &s.method, message, &s.sig).map(|()| pk.identity())
        });
        (s.keyid.as_str(), verdict)
    });
    let (counted, met) = super::verify::tally(role.threshold, false, checked, &mut notes);
    ThresholdCheck {
        keys_of: keys_of.into(),
        threshold: role.threshold,
        counted,
        notes,
        met,
        unchecked: 0,
    }
}

/// `certs_at`: the time the certificates of `md`'s own root keys must be valid at; `None` for
/// every root but the newest, whose certificates may have expired since it was current.
fn root_check(
    md: &NotaryMetadata,
    prev: Option<&NotaryMetadata>,
    certs_at: Option<Timestamp>,
    gun: Option<&str>,
) -> RootCheck {
    let v = md.signed.version;
    let mut errors = Vec::new();
    let by_previous = prev.map(|p| {
        if p.signed.version.checked_add(1) != Some(v) {
            errors.push(format!(
                "version {v} follows version {}: root versions must go up by exactly one (a skipped, repeated or rolled-back version)",
                p.signed.version
            ));
        }
        let role = p.signed.roles.get("root").cloned().unwrap_or_else(|| RoleKeys::new(vec![], 1));
        // As Notary's trustpinning.ValidateRoot does, the previous root's certificates vouch
        // for its successor even when they have expired: an expiring certificate is the usual
        // reason to rotate.
        let c = check_threshold(&format!("root v{}", p.signed.version), &md.signatures, md.canonical_signed(), &p.signed.keys, &role, None, gun);
        if !c.met {
            errors.push(format!("version {v} has {} of the {} signatures it needs from version {}'s root keys", c.count(), c.threshold, p.signed.version));
        }
        c
    });
    let role = md
        .signed
        .roles
        .get("root")
        .cloned()
        .unwrap_or_else(|| RoleKeys::new(vec![], 1));
    let by_self = check_threshold(
        &format!("root v{v}"),
        &md.signatures,
        md.canonical_signed(),
        &md.signed.keys,
        &role,
        certs_at,
        gun,
    );
    if !by_self.met {
        errors.push(format!(
            "version {v} has {} of the {} signatures it needs from its own root keys",
            by_self.count(),
            by_self.threshold
        ));
    }
    RootCheck {
        version: v,
        expires: md.signed.expires.clone(),
        by_previous,
        by_self,
        errors,
    }
}

/// Verifies a Notary root chain as of `at` (certificates included), as `verify_chain` does for TUF.
pub fn verify_chain(
    trusted: &NotaryMetadata,
    updates: &[NotaryMetadata],
    at: Timestamp,
    gun: Option<&str>,
) -> ChainCheck {
    verify_chain_of(trusted, updates, at, gun)
}

/// As [`verify_chain`], over owned roots or references to them.
pub fn verify_chain_of<M: std::borrow::Borrow<NotaryMetadata>>(
    trusted: &NotaryMetadata,
    updates: &[M],
    at: Timestamp,
    gun: Option<&str>,
) -> ChainCheck {
    let count = 1 + updates.len();
    let get = |i: usize| {
        if i == 0 {
            trusted
        } else {
            updates[i - 1].borrow()
        }
    };
    // Only the newest root's certificates must be valid now (Notary checks the same way).
    super::verify::walk_chain(
        count,
        at,
        |i, prev| root_check(get(i), prev.map(get), (i + 1 == count).then_some(at), gun),
        |i| {
            let md = get(i);
            (
                parse_expires(&md.signed.expires),
                md.signed.version,
                md.signed.expires.clone(),
            )
        },
    )
}

/// A delegation in a Notary targets file: `targets/releases` and the like.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotaryDelegation {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u64,
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotaryDelegations {
    #[serde(default)]
    pub keys: BTreeMap<String, NotaryKey>,
    #[serde(default)]
    pub roles: Vec<NotaryDelegation>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotaryTargets {
    #[serde(rename = "_type")]
    pub type_: String,
    pub version: u64,
    pub expires: String,
    #[serde(default)]
    pub targets: BTreeMap<String, Value>,
    #[serde(default)]
    pub delegations: NotaryDelegations,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A Notary targets file (`targets.json` or a delegated role's file), with the canonical bytes
/// of what was parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct NotaryTargetsFile {
    pub signed: NotaryTargets,
    pub signatures: Vec<NotarySignature>,
    canonical: Vec<u8>,
}

impl NotaryTargetsFile {
    pub fn from_bytes(bytes: &[u8]) -> Result<NotaryTargetsFile, MetadataError> {
        let (signed, signatures, canonical, _) = envelope::<NotaryTargets>(parse_strict(bytes)?)?;
        if signed.type_ != "Targets" {
            return Err(shape(format!(
                "_type is {:?}, expected \"Targets\"",
                signed.type_
            )));
        }
        parse_expires(&signed.expires).map_err(shape)?;
        Ok(NotaryTargetsFile {
            signed,
            signatures,
            canonical,
        })
    }

    /// The canonical bytes of `signed`, as parsed: what its signatures cover.
    pub fn canonical_signed(&self) -> &[u8] {
        &self.canonical
    }
}

/// The check of one targets role's file.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TargetsCheck {
    pub role: String,
    pub version: u64,
    pub expires: String,
    pub signatures: ThresholdCheck,
    pub errors: Vec<String>,
}

/// Checks `targets.json` and delegated roles' files (`(role name, file)`, parents before
/// children) against `root`, as of `at`: each signed by a threshold of the keys its parent
/// names, not expired, and a delegated role's targets inside the path prefixes it was given.
/// Delegation key certificates are not checked for dates, as Notary does not.
pub fn verify_targets(
    root: &NotaryMetadata,
    files: &[(String, NotaryTargetsFile)],
    at: Timestamp,
) -> Vec<TargetsCheck> {
    let mut out = Vec::new();
    let mut verified: BTreeMap<&str, &NotaryTargetsFile> = BTreeMap::new();
    for (name, f) in files {
        let mut errors = Vec::new();
        let (keys, role, paths): (&BTreeMap<String, NotaryKey>, RoleKeys, Option<&[String]>) =
            if name == "targets" {
                let role = root
                    .signed
                    .roles
                    .get("targets")
                    .cloned()
                    .unwrap_or_else(|| RoleKeys::new(vec![], 1));
                (&root.signed.keys, role, None)
            } else {
                let parent = name.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
                let d = verified.get(parent).and_then(|p| {
                    p.signed
                        .delegations
                        .roles
                        .iter()
                        .find(|d| &d.name == name)
                        .map(|d| (&p.signed.delegations.keys, d))
                });
                match d {
                    Some((keys, d)) => (
                        keys,
                        RoleKeys::new(d.keyids.clone(), d.threshold),
                        Some(d.paths.as_slice()),
                    ),
                    None => {
                        errors.push(format!(
                            "no verified {parent:?} file delegates to {name:?}: nothing vouches for its keys"
                        ));
                        out.push(TargetsCheck {
                            role: name.clone(),
                            version: f.signed.version,
                            expires: f.signed.expires.clone(),
                            signatures: ThresholdCheck {
                                keys_of: parent.into(),
                                threshold: 1,
                                counted: vec![],
                                notes: vec![],
                                met: false,
                                unchecked: 0,
                            },
                            errors,
                        });
                        continue;
                    }
                }
            };
        let check = check_threshold(name, &f.signatures, &f.canonical, keys, &role, None, None);
        if !check.met {
            errors.push(format!(
                "{name} has {} of the {} signatures it needs",
                check.count(),
                check.threshold
            ));
        }
        match parse_expires(&f.signed.expires) {
            Ok(exp) if exp > at => {}
            Ok(_) => errors.push(format!("{name} expired at {}", f.signed.expires)),
            Err(e) => errors.push(e),
        }
        if let Some(paths) = paths {
            for t in f.signed.targets.keys() {
                if !paths.iter().any(|p| t.starts_with(p.as_str())) {
                    errors.push(format!(
                        "{name} lists target {t:?}, outside the paths it was delegated ({paths:?})"
                    ));
                }
            }
        }
        if errors.is_empty() {
            verified.insert(name.as_str(), f);
        }
        out.push(TargetsCheck {
            role: name.clone(),
            version: f.signed.version,
            expires: f.signed.expires.clone(),
            signatures: check,
            errors,
        });
    }
    out
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

/// What `import notary` learns of a repository's root (and `targets.json` beside it) before
/// taking it over.
pub struct ImportAssessment {
    pub threshold: u64,
    pub root_keys_ids: Vec<String>,
    /// The root keys (`held_as` left for the caller, who knows the workspace).
    pub root_keys: Vec<ImportedKey>,
    pub delegations: Vec<ImportedDelegation>,
    /// `targets.json` is signed by the root's targets key: kept, at this version.
    pub targets_kept: bool,
    pub targets_version: Option<u64>,
    pub warnings: Vec<String>,
}

/// Checks a root to import: signed by a threshold of its own root keys whose certificates name
/// `gun` (certificate dates are warnings, not refusals: renewing them is the usual reason for
/// the ceremony); its `targets.json` (`targets`), checked against it and kept when the
/// repository key signed it. `Err`: why the root is refused (after the file's name).
pub fn assess_import(
    md: &NotaryMetadata,
    gun: &str,
    now: Timestamp,
    targets: Option<&[u8]>,
) -> Result<ImportAssessment, String> {
    let role = md
        .signed
        .roles
        .get("root")
        .cloned()
        .ok_or_else(|| ": the root has no root role".to_string())?;
    let by_self = check_threshold(
        &format!("root v{}", md.signed.version),
        &md.signatures,
        md.canonical_signed(),
        &md.signed.keys,
        &role,
        None,
        Some(gun),
    );
    if !by_self.met {
        let mut why = format!(
            " is not signed by {} of its own root keys for {gun} ({} counted)",
            role.threshold,
            by_self.count()
        );
        if !by_self.notes.is_empty() {
            why.push_str(&format!(": {}", by_self.notes.join("; ")));
        }
        return Err(why);
    }
    let mut warnings = Vec::new();
    let root_keys: Vec<ImportedKey> = role
        .keyids
        .iter()
        .filter_map(|id| md.signed.keys.get(id).map(|k| (id, k)))
        .map(|(id, k)| {
            let end = certificate_end(k);
            if let Some(e) = end
                && e <= now
            {
                warnings.push(format!(
                    "root certificate {} ended on {}: Notary clients refuse this root until it is renewed (`rootcellar notary root --renew`)",
                    short(id),
                    format_tuf_time(e)
                ));
            }
            ImportedKey {
                keyid: id.clone(),
                keytype: k.keytype.clone(),
                held_as: None,
                certificate_ends: end.map(format_tuf_time),
            }
        })
        .collect();
    if let Ok(exp) = parse_expires(&md.signed.expires)
        && exp <= now
    {
        warnings.push(format!(
            "the root expired on {}: stage and publish the next version",
            md.signed.expires
        ));
    }
    let mut delegations = Vec::new();
    let mut targets_kept = false;
    let mut targets_version = None;
    if let Some(tb) = targets {
        match NotaryTargetsFile::from_bytes(tb) {
            Ok(t) => {
                let check = verify_targets(md, &[("targets".to_string(), t.clone())], now);
                for c in check.iter().filter(|c| !c.errors.is_empty()) {
                    warnings.push(format!("targets.json: {}", c.errors.join("; ")));
                }
                // Kept (so `delegate` goes on from its version and keeps its targets) when the
                // repository key signed it; an expired one is still a base to re-sign.
                targets_kept = check.first().is_some_and(|c| c.signatures.met);
                if targets_kept {
                    targets_version = Some(t.signed.version);
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
    Ok(ImportAssessment {
        threshold: role.threshold,
        root_keys_ids: role.keyids.clone(),
        root_keys,
        delegations,
        targets_kept,
        targets_version,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const V01: &[u8] = include_bytes!("../../tests/data/notary/notary0.1/root.json");
    const V03: &[u8] = include_bytes!("../../tests/data/notary/notary0.3/root.json");

    #[test]
    fn notarys_own_fixtures_verify_and_key_ids_match() {
        let md = NotaryMetadata::from_bytes(V01).unwrap();
        for (id, k) in &md.signed.keys {
            assert_eq!(&k.keyid(), id);
        }
        let c = verify_chain(
            &md,
            &[],
            datetime!(2026-11-28 0:00 UTC),
            Some("docker.com/notary0.1/samplerepo"),
        );
        assert!(c.valid, "{c:?}");
        assert!(is_notary(&parse_strict(V01).unwrap()));
    }

    #[test]
    fn an_expired_root_certificate_counts_for_nothing() {
        let md = NotaryMetadata::from_bytes(V03).unwrap();
        assert!(
            verify_chain(
                &md,
                &[],
                datetime!(2026-01-01 0:00 UTC),
                Some("docker.com/notary0.3/tst")
            )
            .valid
        );
        let c = verify_chain(&md, &[], datetime!(2026-11-28 0:00 UTC), None);
        assert!(!c.valid);
        assert!(
            c.roots[0]
                .by_self
                .notes
                .iter()
                .any(|n| n.contains("expired on 2026-07-25")),
            "{c:?}"
        );
        // The repository name is checked against the certificate.
        let c = verify_chain(
            &md,
            &[],
            datetime!(2026-01-01 0:00 UTC),
            Some("docker.io/library/alpine"),
        );
        assert!(!c.valid);
        assert!(
            c.roots[0]
                .by_self
                .notes
                .iter()
                .any(|n| n.contains("not the repository")),
            "{c:?}"
        );
    }

    #[test]
    fn a_method_that_disagrees_with_the_key_or_a_changed_payload_counts_for_nothing() {
        let mut v = parse_strict(V01).unwrap();
        v["signatures"][0]["method"] = "eddsa".into();
        let md = NotaryMetadata::from_value(v).unwrap();
        let c = verify_chain(&md, &[], datetime!(2026-01-01 0:00 UTC), None);
        assert!(
            !c.valid
                && c.roots[0]
                    .by_self
                    .notes
                    .iter()
                    .any(|n| n.contains("does not match the key's type")),
            "{c:?}"
        );
        let mut v = parse_strict(V01).unwrap();
        v["signed"]["version"] = 2.into();
        let md = NotaryMetadata::from_value(v).unwrap();
        assert!(!verify_chain(&md, &[], datetime!(2026-01-01 0:00 UTC), None).valid);
        let mut v = parse_strict(V01).unwrap();
        v["signed"]["roles"]["root"]["threshold"] = 0.into();
        assert!(
            NotaryMetadata::from_value(v)
                .unwrap_err()
                .to_string()
                .contains("threshold 0")
        );
    }

    const T03: &[u8] = include_bytes!("../../tests/data/notary/notary0.3/targets.json");
    const R03: &[u8] = include_bytes!("../../tests/data/notary/notary0.3/targets/releases.json");
    const T01: &[u8] = include_bytes!("../../tests/data/notary/notary0.1/targets.json");

    fn targets(files: &[(&str, &[u8])]) -> Vec<(String, NotaryTargetsFile)> {
        files
            .iter()
            .map(|(n, b)| (n.to_string(), NotaryTargetsFile::from_bytes(b).unwrap()))
            .collect()
    }

    #[test]
    fn notary_targets_and_rsa_pss_delegation_verify() {
        let at = datetime!(2026-01-01 0:00 UTC);
        let root = NotaryMetadata::from_bytes(V03).unwrap();
        let files = targets(&[("targets", T03), ("targets/releases", R03)]);
        // targets/releases is delegated an rsa-x509 key and signed with rsapss.
        let d = &files[0].1.signed.delegations;
        assert!(d.keys.values().all(|k| k.keytype == "rsa-x509"));
        assert_eq!(files[1].1.signatures[0].method, "rsapss");
        let c = verify_targets(&root, &files, at);
        assert_eq!(c.len(), 2);
        assert!(c.iter().all(|c| c.errors.is_empty()), "{c:?}");
        assert_eq!(c[1].signatures.counted.len(), 1);

        let root01 = NotaryMetadata::from_bytes(V01).unwrap();
        let c = verify_targets(&root01, &targets(&[("targets", T01)]), at);
        assert!(c[0].errors.is_empty(), "{c:?}");

        // Another repository's root does not vouch for these targets.
        let c = verify_targets(&root01, &files, at);
        assert!(!c[0].errors.is_empty());
        assert!(!c[1].errors.is_empty(), "a child of an unverified parent");

        // One changed byte of `signed` in the RSA-signed file: refused.
        let mut v = parse_strict(R03).unwrap();
        v["signed"]["version"] = 2.into();
        let tampered = serde_json::to_vec(&v).unwrap();
        let files = targets(&[("targets", T03), ("targets/releases", &tampered)]);
        let c = verify_targets(&root, &files, at);
        assert!(c[0].errors.is_empty());
        assert!(!c[1].errors.is_empty(), "{c:?}");

        // The delegated role is missing its parent: refused.
        let c = verify_targets(&root, &targets(&[("targets/releases", R03)]), at);
        assert!(c[0].errors[0].contains("delegates"), "{c:?}");
    }
}

//! Notary v1 / Docker Content Trust: root key certificates made by the key's own device.
//!
//! Notary names a root key by a self-signed X.509 certificate for the repository (GUN). The
//! certificate's signature is made by the signer, so for a key on an HSM or a YubiKey the
//! private key never leaves the device.

use crate::error::{Error, Result};
use crate::signer::Signer;
use crate::tuf::PublicKey;
use crate::tuf::expiry::Timestamp;
use crate::tuf::notary::{NotaryKey, NotaryKeyVal, NotarySignature};
use base64::Engine;
use std::str::FromStr;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::asn1::{BitString, OctetString};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Encode, EncodePem, pem::LineEnding};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{
    AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier, SubjectPublicKeyInfoOwned,
    SubjectPublicKeyInfoRef,
};
use x509_cert::time::{Time, Validity};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");

/// The public half the certificate builder needs to know; the signature comes from `Signer`.
struct CertKey(p256::ecdsa::VerifyingKey);

impl p256::ecdsa::signature::Keypair for CertKey {
    type VerifyingKey = p256::ecdsa::VerifyingKey;
    fn verifying_key(&self) -> p256::ecdsa::VerifyingKey {
        self.0
    }
}

impl DynSignatureAlgorithmIdentifier for CertKey {
    fn signature_algorithm_identifier(&self) -> x509_cert::spki::Result<AlgorithmIdentifierOwned> {
        Ok(AlgorithmIdentifierOwned {
            oid: ECDSA_WITH_SHA256,
            parameters: None,
        })
    }
}

/// Notary's root certificate profile: CN = GUN, KeyUsage digitalSignature, EKU codeSigning,
/// CA:FALSE.
struct NotaryProfile(Name);

impl BuilderProfile for NotaryProfile {
    fn get_issuer(&self, _: &Name) -> Name {
        self.0.clone()
    }
    fn get_subject(&self) -> Name {
        self.0.clone()
    }
    fn build_extensions(
        &self,
        _: SubjectPublicKeyInfoRef<'_>,
        _: SubjectPublicKeyInfoRef<'_>,
        _: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let ext =
            |oid: &str, critical: bool, der: Vec<u8>| -> x509_cert::builder::Result<Extension> {
                Ok(Extension {
                    extn_id: ObjectIdentifier::new_unwrap(oid),
                    critical,
                    extn_value: OctetString::new(der)?,
                })
            };
        Ok(vec![
            ext(
                "2.5.29.15",
                true,
                KeyUsage(KeyUsages::DigitalSignature.into()).to_der()?,
            )?,
            ext(
                "2.5.29.37",
                false,
                ExtendedKeyUsage(vec![CODE_SIGNING]).to_der()?,
            )?,
            ext(
                "2.5.29.19",
                true,
                BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                }
                .to_der()?,
            )?,
        ])
    }
}

/// The root keys, threshold and certificate lifetime of a Notary root to be made.
pub(super) fn check_root_keys(root_keys: &[String], threshold: u64, years: u32) -> Result<()> {
    if root_keys.is_empty() {
        return Err(Error::bad_input("name at least one root key").hint("--root-key NAME"));
    }
    if threshold == 0 || threshold as usize > root_keys.len() {
        return Err(Error::bad_input(format!(
            "threshold {threshold} with {} root keys cannot be met",
            root_keys.len()
        ))
        .hint("a threshold from 1 to the number of root keys"));
    }
    if !(1..=30).contains(&years) {
        return Err(Error::bad_input("--years must be 1 to 30").hint("e.g. --years 10"));
    }
    Ok(())
}

/// A certificate's validity: from `now` (whole seconds) for `years` years.
pub(super) fn validity(now: Timestamp, years: u32) -> (Timestamp, Timestamp) {
    let not_before = now.replace_nanosecond(0).unwrap_or(now);
    let not_after = not_before
        .replace_year(not_before.year() + years as i32)
        .unwrap_or(not_before + time::Duration::days(365 * years as i64));
    (not_before, not_after)
}

fn x509_time(t: Timestamp) -> Result<Time> {
    let secs = u64::try_from(t.unix_timestamp())
        .map_err(|_| Error::bad_input("a certificate cannot start before 1970"))?;
    Time::try_from(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .map_err(|e| Error::bad_input(format!("certificate time out of range: {e}")))
}

/// A self-signed certificate for `signer`'s P-256 key naming `gun`, valid from `not_before`
/// to `not_after`, signed by `signer` (on its device). Returns the PEM text.
pub fn root_certificate(
    signer: &dyn Signer,
    gun: &str,
    not_before: Timestamp,
    not_after: Timestamp,
) -> Result<String> {
    let PublicKey::EcdsaP256(vk) = signer.public_key() else {
        return Err(Error::bad_input(
            "Notary root certificates here are for ECDSA P-256 keys; this key is Ed25519",
        )
        .hint("generate the root key as ecdsa-p256"));
    };
    if gun.is_empty() || gun.contains(',') || gun.contains('=') || gun.contains('+') {
        return Err(Error::bad_input(format!(
            "{gun:?} is not a repository name (GUN) a certificate can carry"
        ))
        .hint("use the name as Docker shows it, e.g. docker.io/example/app"));
    }
    if not_after <= not_before {
        return Err(Error::bad_input(
            "the certificate would end before it starts",
        ));
    }
    let key = CertKey(*vk);
    let name = Name::from_str(&format!("CN={gun}"))
        .map_err(|e| Error::bad_input(format!("{gun:?} cannot be a certificate name: {e}")))?;
    let spki = SubjectPublicKeyInfoOwned::from_key(vk)
        .map_err(|e| Error::bad_input(format!("public key: {e}")))?;
    let validity = Validity::new(x509_time(not_before)?, x509_time(not_after)?);
    // A serial of 16 bytes from the key, the start time and 16 random bytes: unique, as RFC
    // 5280 asks, even for two certificates of one key made in the same second (a renewal must
    // give a new certificate, and so a new key ID, even where the signature is deterministic).
    let serial_bytes: Vec<u8> = {
        use sha2::Digest;
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce).map_err(|e| {
            Error::environment(format!("no randomness for a certificate serial: {e}"))
        })?;
        let mut h = sha2::Sha256::new();
        h.update(vk.to_sec1_bytes());
        h.update(not_before.unix_timestamp().to_be_bytes());
        h.update(nonce);
        let mut s = h.finalize()[..16].to_vec();
        s[0] &= 0x7f;
        s[0] |= 0x01;
        s
    };
    let serial =
        SerialNumber::new(&serial_bytes).map_err(|e| Error::bad_input(format!("serial: {e}")))?;
    let mut builder = CertificateBuilder::new(NotaryProfile(name), serial, validity, spki)
        .map_err(|e| Error::bad_input(format!("certificate: {e}")))?;
    let tbs = builder
        .finalize(&key)
        .map_err(|e| Error::bad_input(format!("certificate: {e}")))?;
    let der_sig = signer.sign(&tbs)?;
    // The device's signature must verify before it goes into a certificate.
    {
        use p256::ecdsa::signature::Verifier;
        let sig = p256::ecdsa::Signature::from_der(&der_sig)
            .map_err(|_| Error::refused("the device returned a malformed ECDSA signature"))?;
        vk.verify(&tbs, &sig).map_err(|_| {
            Error::refused("the device's signature over the certificate does not verify")
        })?;
    }
    let bits =
        BitString::from_bytes(&der_sig).map_err(|e| Error::bad_input(format!("signature: {e}")))?;
    let cert = builder
        .assemble(bits, &key)
        .map_err(|e| Error::bad_input(format!("certificate: {e}")))?;
    cert.to_pem(LineEnding::LF)
        .map_err(|e| Error::bad_input(format!("certificate: {e}")))
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

/// A Notary signature by `signer` over `message` (canonical `signed`): ECDSA as raw r‖s.
pub fn sign(signer: &dyn Signer, keyid: &str, message: &[u8]) -> Result<NotarySignature> {
    let der = signer.sign(message)?;
    let (method, raw) = match signer.public_key() {
        PublicKey::EcdsaP256(_) => {
            let sig = p256::ecdsa::Signature::from_der(&der)
                .map_err(|_| Error::refused("the device returned a malformed ECDSA signature"))?;
            ("ecdsa", sig.to_bytes().to_vec())
        }
        PublicKey::Ed25519(_) => ("eddsa", der),
    };
    Ok(NotarySignature {
        keyid: keyid.into(),
        method: method.into(),
        sig: B64.encode(raw),
        extra: Default::default(),
    })
}

/// What `notary root` wrote.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct NotaryRootReport {
    pub path: String,
    pub gun: String,
    /// The root keys' Notary key IDs (over their certificates), in the order given.
    pub root_keyids: Vec<String>,
    pub threshold: u64,
    pub expires: String,
    pub version: u64,
}

/// Notary's key object for an online key: `ecdsa` (SPKI DER) or `ed25519` (raw bytes).
pub(super) fn online_key(pk: &PublicKey) -> Result<NotaryKey> {
    let (keytype, bytes) = match pk {
        PublicKey::EcdsaP256(vk) => {
            use p256::pkcs8::EncodePublicKey;
            let der = vk
                .to_public_key_der()
                .map_err(|e| Error::bad_input(format!("public key: {e}")))?;
            ("ecdsa", der.as_bytes().to_vec())
        }
        PublicKey::Ed25519(vk) => ("ed25519", vk.to_bytes().to_vec()),
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

/// Options for a first Notary root.
pub struct NotaryRootSpec<'a> {
    pub gun: &'a str,
    pub root_keys: &'a [String],
    pub threshold: u64,
    pub targets: &'a str,
    pub snapshot: &'a str,
    pub timestamp: &'a str,
    pub years: u32,
    pub out: &'a std::path::Path,
    /// The current root, to write the next version: signed by a threshold of its root keys
    /// too (those held in this workspace), every root key with a new certificate.
    pub previous: Option<&'a std::path::Path>,
}

/// Writes a Notary root for `gun`: version 1, or with `previous` the next version (a rotation,
/// or a certificate renewal: the same device key with a new certificate, so a new key ID).
/// Each root key gets a certificate its own device signs; the root is signed by every new root
/// key and, for a next version, by a threshold of the previous root's keys; it is checked as
/// Notary checks it (against the previous root), and only then written (atomically, never over
/// an existing file). The metadata expires with the certificates.
pub fn write_root(ctx: &super::Context, spec: &NotaryRootSpec) -> Result<NotaryRootReport> {
    use crate::tuf::metadata::RoleKeys;
    use std::collections::BTreeMap;
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_root_keys(spec.root_keys, spec.threshold, spec.years)?;
    if spec.out.exists() {
        return Err(Error::refused(format!(
            "{} exists; rootcellar does not overwrite a root",
            spec.out.display()
        ))
        .hint("choose another --out"));
    }
    // The previous root and the workspace keys that can sign for it, before any device work.
    let previous = match spec.previous {
        None => None,
        Some(p) => {
            let bytes = super::notary_ws::read_input(p)?;
            let md = crate::tuf::notary::NotaryMetadata::from_bytes(&bytes).map_err(|e| {
                Error::bad_input(format!("{} is not a Notary root: {e}", p.display()))
            })?;
            let role = md
                .signed
                .roles
                .get("root")
                .cloned()
                .ok_or_else(|| Error::bad_input(format!("{} has no root role", p.display())))?;
            let mine: Vec<(Vec<u8>, crate::workspace::KeyRecord)> = ws
                .keys()?
                .into_iter()
                .filter(|r| r.backend != crate::workspace::Backend::Public)
                .filter_map(|r| r.public_key().ok().map(|pk| (pk.identity(), r)))
                .collect();
            let mut holders = Vec::new();
            for id in &role.keyids {
                let Some(k) = md.signed.keys.get(id) else {
                    continue;
                };
                let Ok((pk, _)) = k.decode(None) else {
                    continue;
                };
                if let Some((_, rec)) = mine.iter().find(|(i, _)| *i == pk.identity()) {
                    holders.push((id.clone(), rec.clone()));
                }
            }
            if (holders.len() as u64) < role.threshold {
                return Err(Error::refused(format!(
                    "version {} needs {} signature(s) from its root keys to vouch for the next version; this workspace holds {} of them",
                    md.signed.version,
                    role.threshold,
                    holders.len()
                ))
                .hint("register the current root keys here (`key add` for a device, `key generate` records) or sign where they are"));
            }
            holders.truncate(role.threshold as usize);
            Some((md, holders))
        }
    };
    let version =
        match &previous {
            Some((md, _)) => md.signed.version.checked_add(1).ok_or_else(|| {
                Error::bad_input("the previous root's version cannot be followed")
            })?,
            None => 1,
        };
    ctx.air_gap("sign with a private key")?;
    let (not_before, not_after) = validity(ctx.now, spec.years);
    let mut keys = BTreeMap::new();
    let mut signers = Vec::new();
    let mut root_ids = Vec::new();
    for name in spec.root_keys {
        let rec = ws.resolve_key(name)?;
        let signer = ctx.signer(&ws, &rec)?;
        let pem = root_certificate(signer.as_ref(), spec.gun, not_before, not_after)?;
        let k = certificate_key(&pem);
        let id = k.keyid();
        if root_ids.contains(&id) {
            return Err(Error::bad_input(format!("root key {name} is named twice")));
        }
        keys.insert(id.clone(), k);
        root_ids.push(id.clone());
        signers.push((id, signer));
    }
    let mut roles = BTreeMap::new();
    roles.insert(
        "root".to_string(),
        RoleKeys::new(root_ids.clone(), spec.threshold),
    );
    for (role, name) in [
        ("targets", spec.targets),
        ("snapshot", spec.snapshot),
        ("timestamp", spec.timestamp),
    ] {
        let rec = ws.resolve_key(name)?;
        let pk = rec
            .key
            .decode()
            .map_err(|e| Error::bad_input(format!("key {name}: {e}")))?;
        let k = online_key(&pk)?;
        let id = k.keyid();
        keys.insert(id.clone(), k);
        roles.insert(role.to_string(), RoleKeys::new(vec![id], 1));
    }
    let expires = not_after
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| Error::bad_input(format!("expiry: {e}")))?;
    let signed = serde_json::json!({
        "_type": "Root",
        "consistent_snapshot": false,
        "expires": expires,
        "keys": keys,
        "roles": roles,
        "version": version,
    });
    let message = crate::tuf::canonical::to_canonical(&signed)
        .map_err(|e| Error::bad_input(format!("canonical JSON: {e}")))?;
    let mut signatures: Vec<NotarySignature> = Vec::new();
    let mut made: Vec<(Vec<u8>, NotarySignature)> = Vec::new();
    for (id, signer) in &signers {
        let s = sign(signer.as_ref(), id, &message)?;
        made.push((signer.public_key().identity(), s.clone()));
        signatures.push(s);
    }
    if let Some((_, holders)) = &previous {
        for (old_id, rec) in holders {
            let identity = rec.public_key()?.identity();
            // A key that is also a new root key (a renewal) signed once; its signature is
            // listed under the old certificate's key ID too.
            let s = match made.iter().find(|(i, _)| *i == identity) {
                Some((_, s)) => NotarySignature {
                    keyid: old_id.clone(),
                    ..s.clone()
                },
                None => {
                    let signer = ctx.signer(&ws, rec)?;
                    sign(signer.as_ref(), old_id, &message)?
                }
            };
            signatures.push(s);
        }
    }
    let doc = serde_json::json!({"signed": signed, "signatures": signatures});
    let bytes = serde_json::to_vec(&doc).map_err(|e| Error::bad_input(e.to_string()))?;
    // Checked as a Notary client would before it leaves the machine.
    let md = crate::tuf::notary::NotaryMetadata::from_bytes(&bytes)
        .map_err(|e| Error::refused(format!("the root just made does not parse: {e}")))?;
    let check = match &previous {
        Some((prev, _)) => crate::tuf::notary::verify_chain(
            prev,
            std::slice::from_ref(&md),
            ctx.now,
            Some(spec.gun),
        ),
        None => crate::tuf::notary::verify_chain(&md, &[], ctx.now, Some(spec.gun)),
    };
    if let Some(f) = check.failure {
        return Err(Error::refused(format!(
            "the root just made does not verify, nothing written: {f}"
        )));
    }
    crate::atomic::write_new_atomic(spec.out, &bytes)?;
    ctx.record(
        &ws,
        "notary-root",
        serde_json::json!({
            "gun": spec.gun,
            "out": spec.out.display().to_string(),
            "sha256": crate::workspace::digest_hex(&bytes),
            "version": version,
            "root_keyids": root_ids,
            "threshold": spec.threshold,
        }),
    )?;
    Ok(NotaryRootReport {
        path: spec.out.display().to_string(),
        gun: spec.gun.into(),
        root_keyids: root_ids,
        threshold: spec.threshold,
        expires,
        version,
    })
}

/// What `notary certificate` wrote.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct CertificateReport {
    pub path: String,
    pub key: String,
    pub gun: String,
    pub not_after: String,
    /// The Notary key ID the certificate gives the key.
    pub keyid: String,
}

/// `rootcellar notary certificate --key K [--gun NAME] [--out FILE]`: the self-signed root
/// certificate for K, made on K's own device. With `--out`, written to FILE for a ceremony
/// elsewhere (`key import FILE` there); without, kept in K's record for `notary root` here, so
/// staging needs no device (the ceremony screen makes certificates one key, one PIN at a time).
pub fn write_certificate(
    ctx: &super::Context,
    key: &str,
    gun: &str,
    years: u32,
    out: Option<&std::path::Path>,
) -> Result<CertificateReport> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    if !(1..=30).contains(&years) {
        return Err(Error::bad_input("--years must be 1 to 30").hint("e.g. --years 10"));
    }
    if let Some(out) = out
        && out.exists()
    {
        return Err(Error::refused(format!("{} exists", out.display()))
            .hint("choose another --out; rootcellar does not overwrite it"));
    }
    if out.is_none() && ws.notary_gun() != Some(gun) {
        return Err(Error::bad_input(format!(
            "a certificate for {gun} is kept only in a Notary workspace for that repository"
        ))
        .hint("write it to a file with --out FILE and bring it to the ceremony"));
    }
    let rec = ws.resolve_key(key)?;
    if rec.backend == crate::workspace::Backend::Public {
        return Err(Error::refused(format!(
            "key {} has no private half here: its certificate is made where the key is",
            rec.name
        ))
        .hint("its keyholder runs `rootcellar notary certificate --key K --gun NAME --out FILE`"));
    }
    ctx.air_gap("sign a root certificate with a private key")?;
    let signer = ctx.signer(&ws, &rec)?;
    ctx.touch_notice(&rec, "sign its certificate");
    let (not_before, not_after) = validity(ctx.now, years);
    let pem = root_certificate(signer.as_ref(), gun, not_before, not_after)?;
    let keyid = certificate_key(&pem).keyid();
    let path = match out {
        Some(out) => {
            crate::atomic::write_new_atomic(out, pem.as_bytes())?;
            out.display().to_string()
        }
        None => {
            let mut updated = ws.resolve_key(&rec.name)?;
            updated.certificate = Some(pem.clone());
            ws.update_key_record(&updated)?;
            format!("keys/{}.json", rec.name)
        }
    };
    ctx.record(
        &ws,
        "notary-certificate",
        serde_json::json!({
            "key": rec.name,
            "gun": gun,
            "out": path,
            "sha256": crate::workspace::digest_hex(pem.as_bytes()),
            "notary_keyid": keyid,
        }),
    )?;
    Ok(CertificateReport {
        path: path.clone(),
        key: rec.name,
        gun: gun.into(),
        not_after: crate::tuf::expiry::format_tuf_time(not_after),
        keyid,
    })
}

//! YubiKey PIV attestation: is this key one a genuine YubiKey generated?
//!
//! A chain is `[key certificate, device certificate, intermediates…]`, each signed by the next,
//! the last signed by a pinned root: "Yubico PIV Root CA Serial 263751" (built in) for older
//! devices, or "Yubico Attestation Root 1" with intermediates for firmware 5.7.4+ (its
//! certificate is added through `ROOTCELLAR_ATTESTATION_ROOTS` until it is pinned here; see
//! docs/yubikey.md). Pure: no I/O; the time is passed in.

use crate::tuf::PublicKey;
use crate::tuf::expiry::Timestamp;
use serde::{Deserialize, Serialize};
use x509_cert::Certificate;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, DecodePem, Encode};

/// Yubico PIV Root CA Serial 263751.
pub const YUBICO_PIV_ROOT_CA: &str = include_str!("anchors/yubico-piv-root-ca.pem");

const OID_FIRMWARE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.3");
const OID_SERIAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.7");
const OID_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.8");
const OID_FORM_FACTOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.9");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// The verdict on an attestation chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub valid: bool,
    /// The YubiKey serial the key certificate names.
    pub serial: Option<u32>,
    pub firmware: Option<String>,
    pub pin_policy: Option<String>,
    pub touch_policy: Option<String>,
    pub form_factor: Option<String>,
    /// Subject of the root the chain ends in.
    pub root: Option<String>,
    /// Why the chain is refused; empty when valid.
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn summary(&self) -> String {
        if self.valid {
            format!(
                "attested: YubiKey serial {}, firmware {}, PIN policy {}, touch policy {} (root: {})",
                self.serial
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "?".into()),
                self.firmware.as_deref().unwrap_or("?"),
                self.pin_policy.as_deref().unwrap_or("?"),
                self.touch_policy.as_deref().unwrap_or("?"),
                self.root.as_deref().unwrap_or("?")
            )
        } else {
            format!("NOT attested: {}", self.problems.join("; "))
        }
    }
}

/// Reads PEM or DER certificates (a PEM bundle may hold several).
pub fn parse_certs(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    if bytes.starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(bytes).map_err(|e| format!("not a PEM certificate: {e}"))
    } else {
        Certificate::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| format!("not a DER certificate: {e}"))
    }
}

/// The built-in anchors.
pub fn builtin_anchors() -> Vec<Certificate> {
    Certificate::from_pem(YUBICO_PIV_ROOT_CA.as_bytes())
        .into_iter()
        .collect()
}

fn cn(name: &x509_cert::name::Name) -> String {
    name.to_string()
}

/// Verifies that `parent`'s key signed `child`.
fn signed_by(
    child: &Certificate,
    parent_spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
) -> Result<(), String> {
    let tbs = child
        .tbs_certificate()
        .to_der()
        .map_err(|e| e.to_string())?;
    let sig = child
        .signature()
        .as_bytes()
        .ok_or("signature has unused bits")?;
    let alg = child.signature_algorithm().oid;
    let spki_der = parent_spki.to_der().map_err(|e| e.to_string())?;
    if alg == RSA_SHA256 {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::signature::Verifier;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki_der)
            .map_err(|_| "issuer key is not RSA".to_string())?;
        let vk = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key);
        let s = rsa::pkcs1v15::Signature::try_from(sig).map_err(|e| e.to_string())?;
        vk.verify(&tbs, &s)
            .map_err(|_| "RSA signature does not verify".to_string())
    } else if alg == ECDSA_SHA256 || alg == ECDSA_SHA384 {
        use p256::pkcs8::DecodePublicKey;
        use sha2::Digest;
        let digest: Vec<u8> = if alg == ECDSA_SHA256 {
            sha2::Sha256::digest(&tbs).to_vec()
        } else {
            sha2::Sha384::digest(&tbs).to_vec()
        };
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der) {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|e| e.to_string())?;
            return k
                .verify_prehash(&digest, &s)
                .map_err(|_| "ECDSA P-256 signature does not verify".to_string());
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(&spki_der) {
            use p384::ecdsa::signature::hazmat::PrehashVerifier;
            let s = p384::ecdsa::Signature::from_der(sig).map_err(|e| e.to_string())?;
            return k
                .verify_prehash(&digest, &s)
                .map_err(|_| "ECDSA P-384 signature does not verify".to_string());
        }
        Err("issuer key is neither P-256 nor P-384".into())
    } else {
        Err(format!("signature algorithm {alg} is not one Yubico uses"))
    }
}

fn is_ca(cert: &Certificate) -> bool {
    use x509_cert::ext::pkix::BasicConstraints;
    matches!(cert.tbs_certificate().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
}

fn extension(cert: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
    cert.tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn policy_words(pin: u8, touch: u8) -> (String, String) {
    let p = match pin {
        1 => "never",
        2 => "once",
        3 => "always",
        _ => "default",
    };
    let t = match touch {
        1 => "never",
        2 => "always",
        3 => "cached",
        _ => "default",
    };
    (p.into(), t.into())
}

fn spki_key(cert: &Certificate) -> Option<PublicKey> {
    use p256::pkcs8::DecodePublicKey;
    let der = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok()?;
    if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(&der) {
        return Some(PublicKey::EcdsaP256(k));
    }
    ed25519_dalek::VerifyingKey::from_public_key_der(&der)
        .ok()
        .map(PublicKey::Ed25519)
}

/// Verifies `chain` (key certificate first) against `anchors`, and that it attests `expected`
/// on the YubiKey with serial `expected_serial`, as of `now`.
pub fn verify(
    chain: &[Certificate],
    anchors: &[Certificate],
    expected: &PublicKey,
    expected_serial: Option<u32>,
    now: Timestamp,
) -> Verdict {
    let mut v = Verdict::default();
    let Some(key_cert) = chain.first() else {
        v.problems.push("no attestation certificates".into());
        return v;
    };
    if chain.len() < 2 {
        v.problems
            .push("the chain has no device certificate".into());
    }
    // Facts from the key certificate's Yubico extensions.
    if let Some(fw) = extension(key_cert, OID_FIRMWARE).filter(|b| b.len() == 3) {
        v.firmware = Some(format!("{}.{}.{}", fw[0], fw[1], fw[2]));
    }
    if let Some(raw) = extension(key_cert, OID_SERIAL) {
        match x509_cert::der::asn1::Uint::from_der(raw) {
            Ok(u) => {
                let b = u.as_bytes();
                if b.len() <= 4 {
                    v.serial = Some(b.iter().fold(0u32, |a, x| (a << 8) | u32::from(*x)));
                } else {
                    v.problems
                        .push("the serial-number extension is too large".into());
                }
            }
            Err(e) => v
                .problems
                .push(format!("the serial-number extension is malformed: {e}")),
        }
    }
    if let Some(p) = extension(key_cert, OID_POLICY).filter(|b| b.len() >= 2) {
        let (pin, touch) = policy_words(p[0], p[1]);
        v.pin_policy = Some(pin);
        v.touch_policy = Some(touch);
    }
    if let Some(f) = extension(key_cert, OID_FORM_FACTOR).and_then(|b| b.first()) {
        v.form_factor = Some(
            match f & 0x7f {
                1 => "USB-A keychain",
                2 => "USB-A nano",
                3 => "USB-C keychain",
                4 => "USB-C nano",
                5 => "USB-C Lightning",
                6 => "USB-A biometric",
                7 => "USB-C biometric",
                _ => "unknown",
            }
            .into(),
        );
    }
    // The attested key is the registered key.
    match spki_key(key_cert) {
        Some(k) if &k == expected => {}
        Some(_) => v
            .problems
            .push("the attested public key is not this key".into()),
        None => v
            .problems
            .push("the attested key is neither P-256 nor Ed25519".into()),
    }
    match (expected_serial, v.serial) {
        (Some(want), Some(got)) if want != got => v.problems.push(format!(
            "the certificate names YubiKey serial {got}, the device is {want}"
        )),
        (Some(_), None) => v
            .problems
            .push("the key certificate carries no YubiKey serial".into()),
        _ => {}
    }
    // Each certificate signed by the next, and in force now.
    let now_unix = now.unix_timestamp();
    for (i, c) in chain.iter().enumerate() {
        let validity = c.tbs_certificate().validity();
        let nb = validity.not_before.to_unix_duration().as_secs() as i64;
        let na = validity.not_after.to_unix_duration().as_secs() as i64;
        if now_unix < nb || now_unix > na {
            v.problems.push(format!(
                "certificate {:?} is not valid now",
                cn(c.tbs_certificate().subject())
            ));
        }
        if i > 0 && !is_ca(c) {
            // Otherwise anyone with one attested key could "attest" any other key with it.
            v.problems.push(format!(
                "certificate {:?} signs another certificate but is not a CA certificate",
                cn(c.tbs_certificate().subject())
            ));
        }
        if let Some(parent) = chain.get(i + 1) {
            if c.tbs_certificate().issuer() != parent.tbs_certificate().subject() {
                v.problems.push(format!(
                    "certificate {:?} was issued by {:?}, not by the next certificate {:?}",
                    cn(c.tbs_certificate().subject()),
                    cn(c.tbs_certificate().issuer()),
                    cn(parent.tbs_certificate().subject())
                ));
            } else if let Err(e) = signed_by(c, parent.tbs_certificate().subject_public_key_info())
            {
                v.problems.push(format!(
                    "certificate {:?}: {e}",
                    cn(c.tbs_certificate().subject())
                ));
            }
        }
    }
    // The last one is signed by a pinned root.
    if let Some(last) = chain.last() {
        let issuer = last.tbs_certificate().issuer();
        let root = anchors.iter().find(|a| {
            a.tbs_certificate().subject() == issuer
                && signed_by(last, a.tbs_certificate().subject_public_key_info()).is_ok()
        });
        match root {
            Some(r) => v.root = Some(cn(r.tbs_certificate().subject())),
            None => v.problems.push(format!(
                "the chain ends in {:?}, which is not signed by a pinned Yubico root",
                cn(issuer)
            )),
        }
    }
    v.valid = v.problems.is_empty();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE: &[u8] =
        include_bytes!("../../tests/data/yubikey-attestation/10550341/device_cert.pem");
    const KEY: &[u8] = include_bytes!("../../tests/data/yubikey-attestation/10550341/key_cert.pem");
    const PUBKEY: &str = include_str!("../../tests/data/yubikey-attestation/10550341/pubkey.pem");

    fn now() -> Timestamp {
        time::macros::datetime!(2026-11-28 12:00 UTC)
    }

    fn chain() -> Vec<Certificate> {
        let mut c = parse_certs(KEY).unwrap();
        c.extend(parse_certs(DEVICE).unwrap());
        c
    }

    #[test]
    fn the_real_chain_verifies_against_the_pinned_root() {
        let pk = PublicKey::from_spki_pem(PUBKEY).unwrap();
        let v = verify(&chain(), &builtin_anchors(), &pk, Some(10550341), now());
        assert!(v.valid, "{:?}", v.problems);
        assert_eq!(v.serial, Some(10550341));
        assert_eq!(
            v.root.as_deref(),
            Some("CN=Yubico PIV Root CA Serial 263751")
        );
        assert!(
            v.firmware.is_some() && v.pin_policy.is_some() && v.touch_policy.is_some(),
            "{v:?}"
        );
        assert!(v.summary().starts_with("attested: YubiKey serial 10550341"));
    }

    #[test]
    fn a_swapped_key_a_wrong_serial_or_another_root_fails() {
        let pk = PublicKey::from_spki_pem(PUBKEY).unwrap();
        let other = PublicKey::EcdsaP256(
            *p256::ecdsa::SigningKey::from_slice(&[7u8; 32])
                .unwrap()
                .verifying_key(),
        );
        let v = verify(&chain(), &builtin_anchors(), &other, Some(10550341), now());
        assert!(
            !v.valid && v.problems.iter().any(|p| p.contains("not this key")),
            "{v:?}"
        );
        let v = verify(&chain(), &builtin_anchors(), &pk, Some(12345678), now());
        assert!(
            !v.valid
                && v.problems
                    .iter()
                    .any(|p| p.contains("serial 10550341, the device is 12345678")),
            "{v:?}"
        );
        let v = verify(&chain(), &[], &pk, Some(10550341), now());
        assert!(
            !v.valid
                && v.problems
                    .iter()
                    .any(|p| p.contains("not signed by a pinned Yubico root")),
            "{v:?}"
        );
        // A key certificate whose signature was altered.
        let mut der = parse_certs(KEY).unwrap()[0].to_der().unwrap();
        let last = der.len() - 1;
        der[last] ^= 1;
        let mut tampered = vec![Certificate::from_der(&der).unwrap()];
        tampered.extend(parse_certs(DEVICE).unwrap());
        let v = verify(&tampered, &builtin_anchors(), &pk, Some(10550341), now());
        assert!(
            !v.valid && v.problems.iter().any(|p| p.contains("does not verify")),
            "{v:?}"
        );
        // Without the device certificate.
        let v = verify(
            &parse_certs(KEY).unwrap(),
            &builtin_anchors(),
            &pk,
            None,
            now(),
        );
        assert!(!v.valid);
    }
}

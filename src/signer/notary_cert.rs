//! Notary root certificates made by the key's own device: Notary names a root key by a
//! self-signed X.509 certificate for the repository (GUN). The certificate's signature is made
//! by the signer, so for a key on an HSM or a YubiKey the private key never leaves the device.

use crate::error::{Error, Result};
use crate::signer::Signer;
use crate::tuf::PublicKey;
use crate::tuf::expiry::Timestamp;
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
pub fn check_root_keys(root_keys: &[String], threshold: u64, years: u32) -> Result<()> {
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
pub fn validity(now: Timestamp, years: u32) -> (Timestamp, Timestamp) {
    let not_before = now.replace_nanosecond(0).unwrap_or(now);
    // Checked: near the end of the calendar a certificate gets no validity rather than a panic
    // (and is then refused where it is checked).
    let not_after = not_before
        .replace_year(not_before.year().saturating_add(years as i32))
        .ok()
        .or_else(|| not_before.checked_add(time::Duration::days(365 * i64::from(years))))
        .unwrap_or(not_before);
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

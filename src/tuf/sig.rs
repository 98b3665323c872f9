//! Signatures: encodings and the one verification entry point.
//!
//! Invariant: the algorithm is the key's ([`PublicKey`]), never the signature's. ECDSA signatures
//! are hex of DER (tokens return raw r‖s: convert with [`ecdsa_raw_to_der`]); Ed25519 signatures
//! are hex of 64 bytes.

use super::key::PublicKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A signature entry of a TUF envelope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Signature {
    pub fn new(keyid: String, sig_bytes: &[u8]) -> Signature {
        Signature {
            keyid,
            sig: hex::encode(sig_bytes),
            extra: BTreeMap::new(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum SigError {
    #[error("empty signature (a placeholder): counts for nothing")]
    Empty,
    #[error("signature is not hex")]
    NotHex,
    #[error("ECDSA signature is not DER{hint}")]
    NotDer { hint: &'static str },
    #[error("Ed25519 signature has {0} bytes, not 64")]
    Ed25519Length(usize),
    #[error("signature does not verify over the canonical bytes of `signed`")]
    BadSignature,
}

/// Verifies a hex signature `sig_hex` by `key` over `message`.
pub fn verify(key: &PublicKey, message: &[u8], sig_hex: &str) -> Result<(), SigError> {
    if sig_hex.is_empty() {
        return Err(SigError::Empty);
    }
    let bytes = hex::decode(sig_hex).map_err(|_| SigError::NotHex)?;
    match key {
        PublicKey::EcdsaP256(vk) => {
            // Parsed with p256 (strict DER, r and s in range), checked with ring: about five
            // times faster than p256's arithmetic (docs/performance.md).
            p256::ecdsa::Signature::from_der(&bytes).map_err(|_| SigError::NotDer {
                hint: if bytes.len() == 64 {
                    " (64 bytes: raw r||s? TUF wants DER)"
                } else {
                    ""
                },
            })?;
            ecdsa_p256_ring(vk, message, &bytes)
        }
        PublicKey::Ed25519(vk) => {
            let arr: [u8; 64] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| SigError::Ed25519Length(bytes.len()))?;
            let sig = ed25519_dalek::Signature::from_bytes(&arr);
            vk.verify_strict(message, &sig)
                .map_err(|_| SigError::BadSignature)
        }
    }
}

/// ECDSA P-256 / SHA-256 verification of a DER signature with ring.
pub fn ecdsa_p256_ring(
    vk: &p256::ecdsa::VerifyingKey,
    message: &[u8],
    der: &[u8],
) -> Result<(), SigError> {
    let point = vk.to_sec1_point(false);
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P256_SHA256_ASN1,
        point.as_bytes(),
    )
    .verify(message, der)
    .map_err(|_| SigError::BadSignature)
}

/// The same check with p256's own arithmetic (kept for the benchmark that chose ring, and as a
/// cross-check in tests).
pub fn ecdsa_p256_rustcrypto(
    vk: &p256::ecdsa::VerifyingKey,
    message: &[u8],
    der: &[u8],
) -> Result<(), SigError> {
    use p256::ecdsa::signature::Verifier;
    let sig = p256::ecdsa::Signature::from_der(der).map_err(|_| SigError::NotDer { hint: "" })?;
    vk.verify(message, &sig).map_err(|_| SigError::BadSignature)
}

/// Raw r‖s (64 bytes, as PKCS#11 CKM_ECDSA returns) to DER.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, SigError> {
    let sig = p256::ecdsa::Signature::from_slice(raw).map_err(|_| SigError::NotDer {
        hint: " (raw r||s must be 64 bytes, r and s non-zero)",
    })?;
    Ok(sig.to_der().as_bytes().to_vec())
}

/// DER to raw r‖s (64 bytes, as Notary writes ECDSA signatures).
pub fn ecdsa_der_to_raw(der: &[u8]) -> Result<Vec<u8>, SigError> {
    let sig = p256::ecdsa::Signature::from_der(der).map_err(|_| SigError::NotDer { hint: "" })?;
    Ok(sig.to_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;

    #[test]
    fn der_and_raw_round_trip_and_verify() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
        let sig: p256::ecdsa::Signature = sk.sign(b"msg");
        let der = sig.to_der().as_bytes().to_vec();
        let raw = ecdsa_der_to_raw(&der).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(ecdsa_raw_to_der(&raw).unwrap(), der);
        let pk = PublicKey::EcdsaP256(*sk.verifying_key());
        assert_eq!(verify(&pk, b"msg", &hex::encode(&der)), Ok(()));
        assert_eq!(
            verify(&pk, b"other", &hex::encode(&der)),
            Err(SigError::BadSignature)
        );
        assert!(matches!(
            verify(&pk, b"msg", &hex::encode(&raw)),
            Err(SigError::NotDer { .. })
        ));
        assert_eq!(verify(&pk, b"msg", ""), Err(SigError::Empty));
        assert_eq!(verify(&pk, b"msg", "zz"), Err(SigError::NotHex));
    }

    proptest::proptest! {
        /// ring (used to verify) and p256 (kept as the reference) agree on every signature:
        /// genuine, its high-S twin, and one with a flipped byte.
        #[test]
        fn ring_and_p256_agree(seed in 1u8..=200, msg in proptest::collection::vec(proptest::num::u8::ANY, 0..64), flip in 0usize..72) {
            let sk = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
            let vk = *sk.verifying_key();
            let sig: p256::ecdsa::Signature = sk.sign(&msg);
            let low = sig.normalize_s();
            let (r, s_) = low.split_scalars();
            let high = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s_).to_bytes()).unwrap();
            for der in [low.to_der().as_bytes().to_vec(), high.to_der().as_bytes().to_vec()] {
                proptest::prop_assert_eq!(ecdsa_p256_ring(&vk, &msg, &der), Ok(()));
                proptest::prop_assert_eq!(ecdsa_p256_rustcrypto(&vk, &msg, &der), Ok(()));
                let mut bad = der.clone();
                let i = flip % bad.len();
                bad[i] ^= 0x01;
                let a = ecdsa_p256_ring(&vk, &msg, &bad).is_ok();
                let b = ecdsa_p256_rustcrypto(&vk, &msg, &bad).is_ok();
                proptest::prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn ed25519_checks_length() {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
        let pk = PublicKey::Ed25519(sk.verifying_key());
        let sig = sk.sign(b"m");
        assert_eq!(verify(&pk, b"m", &hex::encode(sig.to_bytes())), Ok(()));
        assert_eq!(verify(&pk, b"m", "00"), Err(SigError::Ed25519Length(1)));
    }
}

//! Signatures: encodings and the one verification entry point.
//!
//! Invariant: the algorithm is the key's ([`PublicKey`]), never the signature's. ECDSA signatures
//! are hex of DER (tokens return raw r‖s: convert with [`ecdsa_raw_to_der`]); Ed25519 signatures
//! are hex of 64 bytes; RSA signatures are hex of as many bytes as the modulus. RSA-PSS verifies
//! any salt length, as securesystemslib does (it signs with the digest's length, which is what
//! rootcellar signs with too).

use super::key::{PublicKey, RsaKey, Sha2};
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
    #[error("RSA signature has {got} bytes, the key's modulus {want}")]
    RsaLength { got: usize, want: usize },
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
        PublicKey::EcdsaP384(vk) => {
            p384::ecdsa::Signature::from_der(&bytes).map_err(|_| SigError::NotDer {
                hint: if bytes.len() == 96 {
                    " (96 bytes: raw r||s? TUF wants DER)"
                } else {
                    ""
                },
            })?;
            ecdsa_p384_ring(vk, message, &bytes)
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
        PublicKey::Rsa(k) => {
            use rsa::traits::PublicKeyParts;
            if bytes.len() != k.key.size() {
                return Err(SigError::RsaLength {
                    got: bytes.len(),
                    want: k.key.size(),
                });
            }
            if k.scheme.pss {
                // ring is several times faster and checks the salt length securesystemslib
                // signs with (the digest's); any other salt length goes to the `rsa` crate.
                rsa_pss_ring(k, message, &bytes).or_else(|_| rsa_pss_rustcrypto(k, message, &bytes))
            } else if k.scheme.hash == Sha2::Sha224 {
                rsa_pkcs1_rustcrypto(k, message, &bytes)
            } else {
                rsa_pkcs1_ring(k, message, &bytes)
            }
        }
    }
}

/// ECDSA P-384 / SHA-384 verification of a DER signature with ring.
pub fn ecdsa_p384_ring(
    vk: &p384::ecdsa::VerifyingKey,
    message: &[u8],
    der: &[u8],
) -> Result<(), SigError> {
    let point = vk.to_sec1_point(false);
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::ECDSA_P384_SHA384_ASN1,
        point.as_bytes(),
    )
    .verify(message, der)
    .map_err(|_| SigError::BadSignature)
}

/// The same check with p384's own arithmetic (a cross-check in tests).
pub fn ecdsa_p384_rustcrypto(
    vk: &p384::ecdsa::VerifyingKey,
    message: &[u8],
    der: &[u8],
) -> Result<(), SigError> {
    use p384::ecdsa::signature::Verifier;
    let sig = p384::ecdsa::Signature::from_der(der).map_err(|_| SigError::NotDer { hint: "" })?;
    vk.verify(message, &sig).map_err(|_| SigError::BadSignature)
}

/// RSA PKCS#1 v1.5 with SHA-256/384/512 checked by ring (2048 to 8192 bits).
pub fn rsa_pkcs1_ring(k: &RsaKey, message: &[u8], sig: &[u8]) -> Result<(), SigError> {
    use rsa::traits::PublicKeyParts;
    let alg: &ring::signature::RsaParameters = match k.scheme.hash {
        Sha2::Sha256 => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        Sha2::Sha384 => &ring::signature::RSA_PKCS1_2048_8192_SHA384,
        Sha2::Sha512 => &ring::signature::RSA_PKCS1_2048_8192_SHA512,
        Sha2::Sha224 => return rsa_pkcs1_rustcrypto(k, message, sig),
    };
    ring::signature::RsaPublicKeyComponents {
        n: k.key.n_bytes(),
        e: k.key.e_bytes(),
    }
    .verify(alg, message, sig)
    .map_err(|_| SigError::BadSignature)
}

/// RSA PKCS#1 v1.5 checked by the `rsa` crate (SHA-224, and a cross-check of ring in tests).
pub fn rsa_pkcs1_rustcrypto(k: &RsaKey, message: &[u8], sig: &[u8]) -> Result<(), SigError> {
    use rsa::signature::Verifier;
    let s = rsa::pkcs1v15::Signature::try_from(sig).map_err(|_| SigError::BadSignature)?;
    let key = k.key.clone();
    match k.scheme.hash {
        Sha2::Sha224 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha224>::new(key).verify(message, &s),
        Sha2::Sha256 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key).verify(message, &s),
        Sha2::Sha384 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(key).verify(message, &s),
        Sha2::Sha512 => rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(key).verify(message, &s),
    }
    .map_err(|_| SigError::BadSignature)
}

/// RSA-PSS (MGF1 with the same hash) with any salt length, checked by the `rsa` crate: ring
/// verifies only a salt as long as the digest.
pub fn rsa_pss_rustcrypto(k: &RsaKey, message: &[u8], sig: &[u8]) -> Result<(), SigError> {
    use rsa::signature::Verifier;
    let s = rsa::pss::Signature::try_from(sig).map_err(|_| SigError::BadSignature)?;
    let key = k.key.clone();
    match k.scheme.hash {
        Sha2::Sha224 => {
            rsa::pss::VerifyingKey::<sha2::Sha224>::new_with_auto_salt_len(key).verify(message, &s)
        }
        Sha2::Sha256 => {
            rsa::pss::VerifyingKey::<sha2::Sha256>::new_with_auto_salt_len(key).verify(message, &s)
        }
        Sha2::Sha384 => {
            rsa::pss::VerifyingKey::<sha2::Sha384>::new_with_auto_salt_len(key).verify(message, &s)
        }
        Sha2::Sha512 => {
            rsa::pss::VerifyingKey::<sha2::Sha512>::new_with_auto_salt_len(key).verify(message, &s)
        }
    }
    .map_err(|_| SigError::BadSignature)
}

/// RSA-PSS with a salt as long as the digest, checked by ring (a cross-check in tests).
pub fn rsa_pss_ring(k: &RsaKey, message: &[u8], sig: &[u8]) -> Result<(), SigError> {
    use rsa::traits::PublicKeyParts;
    let alg: &ring::signature::RsaParameters = match k.scheme.hash {
        Sha2::Sha256 => &ring::signature::RSA_PSS_2048_8192_SHA256,
        Sha2::Sha384 => &ring::signature::RSA_PSS_2048_8192_SHA384,
        Sha2::Sha512 => &ring::signature::RSA_PSS_2048_8192_SHA512,
        Sha2::Sha224 => return Err(SigError::BadSignature),
    };
    ring::signature::RsaPublicKeyComponents {
        n: k.key.n_bytes(),
        e: k.key.e_bytes(),
    }
    .verify(alg, message, sig)
    .map_err(|_| SigError::BadSignature)
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

/// Raw r‖s (64 bytes for P-256, 96 for P-384, as PKCS#11 CKM_ECDSA returns) to DER.
pub fn ecdsa_raw_to_der(raw: &[u8]) -> Result<Vec<u8>, SigError> {
    let bad = SigError::NotDer {
        hint: " (raw r||s must be 64 or 96 bytes, r and s non-zero)",
    };
    match raw.len() {
        64 => p256::ecdsa::Signature::from_slice(raw)
            .map(|s| s.to_der().as_bytes().to_vec())
            .map_err(|_| bad),
        96 => p384::ecdsa::Signature::from_slice(raw)
            .map(|s| s.to_der().as_bytes().to_vec())
            .map_err(|_| bad),
        _ => Err(bad),
    }
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

    proptest::proptest! {
        /// ring and p384 agree on every P-384 signature: genuine, high-S twin, one byte flipped.
        #[test]
        fn ring_and_p384_agree(seed in 1u8..=200, msg in proptest::collection::vec(proptest::num::u8::ANY, 0..64), flip in 0usize..104) {
            let sk = p384::ecdsa::SigningKey::from_slice(&[seed; 48]).unwrap();
            let vk = *sk.verifying_key();
            let sig: p384::ecdsa::Signature = p384::ecdsa::signature::Signer::sign(&sk, &msg);
            let low = sig.normalize_s();
            let (r, s_) = low.split_scalars();
            let high = p384::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s_).to_bytes()).unwrap();
            for der in [low.to_der().as_bytes().to_vec(), high.to_der().as_bytes().to_vec()] {
                proptest::prop_assert_eq!(ecdsa_p384_ring(&vk, &msg, &der), Ok(()));
                proptest::prop_assert_eq!(ecdsa_p384_rustcrypto(&vk, &msg, &der), Ok(()));
                let mut bad = der.clone();
                let i = flip % bad.len();
                bad[i] ^= 0x01;
                proptest::prop_assert_eq!(
                    ecdsa_p384_ring(&vk, &msg, &bad).is_ok(),
                    ecdsa_p384_rustcrypto(&vk, &msg, &bad).is_ok()
                );
            }
        }
    }

    /// One RSA-2048 key for the RSA cross-checks (generating one per case would be slow).
    fn rsa_key() -> &'static rsa::RsaPrivateKey {
        static KEY: std::sync::OnceLock<rsa::RsaPrivateKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| {
            let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
            rsa::RsaPrivateKey::new(&mut rng, 2048).unwrap()
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]
        /// ring and the `rsa` crate agree on RSA signatures (PKCS#1 v1.5, and PSS with a salt as
        /// long as the digest, the one PSS form ring reads): genuine, and one byte flipped.
        #[test]
        fn ring_and_rsa_agree(msg in proptest::collection::vec(proptest::num::u8::ANY, 0..64), flip in 0usize..256, h in 0usize..3) {
            use crate::tuf::key::{RsaKey, RsaScheme};
            use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
            let sk = rsa_key().clone();
            let hash = [Sha2::Sha256, Sha2::Sha384, Sha2::Sha512][h];
            let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
            let pkcs1 = match hash {
                Sha2::Sha256 => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(sk.clone()).sign(&msg).to_vec(),
                Sha2::Sha384 => rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(sk.clone()).sign(&msg).to_vec(),
                _ => rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(sk.clone()).sign(&msg).to_vec(),
            };
            let pss = match hash {
                Sha2::Sha256 => rsa::pss::BlindedSigningKey::<sha2::Sha256>::new(sk.clone()).sign_with_rng(&mut rng, &msg).to_vec(),
                Sha2::Sha384 => rsa::pss::BlindedSigningKey::<sha2::Sha384>::new(sk.clone()).sign_with_rng(&mut rng, &msg).to_vec(),
                _ => rsa::pss::BlindedSigningKey::<sha2::Sha512>::new(sk.clone()).sign_with_rng(&mut rng, &msg).to_vec(),
            };
            for (is_pss, sig) in [(false, pkcs1), (true, pss)] {
                let k = RsaKey { key: sk.to_public_key(), scheme: RsaScheme { pss: is_pss, hash } };
                type Check = fn(&RsaKey, &[u8], &[u8]) -> Result<(), SigError>;
                let (a, b): (Check, Check) =
                    if is_pss { (rsa_pss_ring, rsa_pss_rustcrypto) } else { (rsa_pkcs1_ring, rsa_pkcs1_rustcrypto) };
                proptest::prop_assert_eq!(a(&k, &msg, &sig), Ok(()));
                proptest::prop_assert_eq!(b(&k, &msg, &sig), Ok(()));
                let mut bad = sig.clone();
                let i = flip % bad.len();
                bad[i] ^= 0x01;
                proptest::prop_assert_eq!(a(&k, &msg, &bad).is_ok(), b(&k, &msg, &bad).is_ok());
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

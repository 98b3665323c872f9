//! RSA signature encodings built on the host, for devices that only apply the raw RSA private
//! operation to a block as long as the modulus (YubiKey PIV): EMSA-PKCS1-v1_5 and EMSA-PSS
//! (RFC 8017 §9), and the DigestInfo a PKCS#11 `CKM_RSA_PKCS` signature wraps.
//!
//! Invariant: an encoded block is exactly `modulus_bytes` long and, read as a big-endian
//! integer, smaller than any modulus of `modulus_bits` bits (its leading byte is 0x00, or for
//! PSS its top `8·len − (bits − 1)` bits are zero); PSS uses MGF1 with the message hash and a
//! salt as long as the digest, as securesystemslib signs.

use crate::tuf::key::Sha2;
use sha2::Digest;

/// The hash of `message`.
pub fn hash(h: Sha2, message: &[u8]) -> Vec<u8> {
    match h {
        Sha2::Sha224 => sha2::Sha224::digest(message).to_vec(),
        Sha2::Sha256 => sha2::Sha256::digest(message).to_vec(),
        Sha2::Sha384 => sha2::Sha384::digest(message).to_vec(),
        Sha2::Sha512 => sha2::Sha512::digest(message).to_vec(),
    }
}

/// The DER DigestInfo prefix of each hash (RFC 8017 §9.2, note 1).
fn digest_info_prefix(h: Sha2) -> &'static [u8] {
    match h {
        Sha2::Sha224 => &[
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1c,
        ],
        Sha2::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        Sha2::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Sha2::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

/// DigestInfo(hash(message)): what `CKM_RSA_PKCS` pads and signs for PKCS#1 v1.5.
pub fn digest_info(h: Sha2, message: &[u8]) -> Vec<u8> {
    let mut t = digest_info_prefix(h).to_vec();
    t.extend(hash(h, message));
    t
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmsaError {
    #[error("a {bits}-bit RSA key is too short for this encoding")]
    TooShort { bits: usize },
}

/// EMSA-PKCS1-v1_5: `00 01 FF…FF 00 DigestInfo`, `modulus_bytes` long.
pub fn pkcs1v15(h: Sha2, message: &[u8], modulus_bytes: usize) -> Result<Vec<u8>, EmsaError> {
    let t = digest_info(h, message);
    if modulus_bytes < t.len() + 11 {
        return Err(EmsaError::TooShort {
            bits: modulus_bytes * 8,
        });
    }
    let mut em = vec![0x00, 0x01];
    em.resize(modulus_bytes - t.len() - 1, 0xff);
    em.push(0x00);
    em.extend(t);
    Ok(em)
}

/// MGF1 with hash `h`: `len` bytes of mask from `seed`.
fn mgf1(h: Sha2, seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut block = seed.to_vec();
        block.extend(counter.to_be_bytes());
        out.extend(hash(h, &block));
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// EMSA-PSS with MGF1(`h`) and `salt` (RFC 8017 §9.1.1), for a modulus of `modulus_bits`
/// bits: `ceil((modulus_bits − 1) / 8)` bytes, left-padded with a zero byte to the modulus'
/// length when that is one byte longer.
pub fn pss(
    h: Sha2,
    message: &[u8],
    salt: &[u8],
    modulus_bits: usize,
) -> Result<Vec<u8>, EmsaError> {
    let em_bits = modulus_bits.saturating_sub(1);
    let em_len = em_bits.div_ceil(8);
    let m_hash = hash(h, message);
    let h_len = m_hash.len();
    if em_len < h_len + salt.len() + 2 {
        return Err(EmsaError::TooShort { bits: modulus_bits });
    }
    let mut m_prime = vec![0u8; 8];
    m_prime.extend(&m_hash);
    m_prime.extend(salt);
    let hh = hash(h, &m_prime);
    // DB = PS ‖ 0x01 ‖ salt
    let mut db = vec![0u8; em_len - salt.len() - h_len - 2];
    db.push(0x01);
    db.extend(salt);
    let mask = mgf1(h, &hh, db.len());
    for (d, m) in db.iter_mut().zip(mask) {
        *d ^= m;
    }
    // Clear the leftmost 8·emLen − emBits bits.
    let clear = 8 * em_len - em_bits;
    if let Some(first) = db.first_mut() {
        *first &= 0xffu8 >> clear;
    }
    let mut em = db;
    em.extend(hh);
    em.push(0xbc);
    let modulus_bytes = modulus_bits.div_ceil(8);
    if em.len() < modulus_bytes {
        let mut padded = vec![0u8; modulus_bytes - em.len()];
        padded.extend(em);
        em = padded;
    }
    Ok(em)
}

/// EMSA-PSS with a fresh random salt as long as the digest.
pub fn pss_random_salt(
    h: Sha2,
    message: &[u8],
    modulus_bits: usize,
) -> Result<Vec<u8>, crate::error::Error> {
    let mut salt = vec![0u8; hash(h, b"").len()];
    getrandom::fill(&mut salt).map_err(|e| {
        crate::error::Error::environment(format!("no randomness for the PSS salt: {e}"))
    })?;
    pss(h, message, &salt, modulus_bits).map_err(|e| crate::error::Error::bad_input(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuf::key::{RsaKey, RsaScheme};
    use crate::tuf::sig::{rsa_pkcs1_ring, rsa_pkcs1_rustcrypto, rsa_pss_ring, rsa_pss_rustcrypto};
    use proptest::prelude::*;
    use rsa::traits::PublicKeyParts;

    /// What a YubiKey's PIV applet does with a block: the raw RSA private operation.
    fn raw_private(k: &rsa::RsaPrivateKey, block: &[u8]) -> Vec<u8> {
        let n = k.n();
        let c = rsa::BoxedUint::from_be_slice(block, n.bits_precision()).unwrap();
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let m = rsa::hazmat::rsa_decrypt_and_check(k, Some(&mut rng), &c).unwrap();
        let mut out = m.to_be_bytes().to_vec();
        // Left-pad to the modulus' length.
        let len = k.size();
        while out.len() > len && out[0] == 0 {
            out.remove(0);
        }
        let mut padded = vec![0u8; len - out.len()];
        padded.extend(out);
        padded
    }

    fn key(bits: usize) -> rsa::RsaPrivateKey {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        rsa::RsaPrivateKey::new(&mut rng, bits).unwrap()
    }

    const HASHES: [Sha2; 4] = [Sha2::Sha224, Sha2::Sha256, Sha2::Sha384, Sha2::Sha512];

    #[test]
    fn host_encodings_signed_raw_verify_with_the_rsa_crate_and_ring() {
        let k = key(2048);
        let msg = b"the canonical bytes of signed";
        for h in HASHES {
            for pss in [false, true] {
                let scheme = RsaScheme { pss, hash: h };
                let em = if pss {
                    pss_random_salt(h, msg, k.n().bit_width() as usize).unwrap()
                } else {
                    pkcs1v15(h, msg, k.size()).unwrap()
                };
                assert_eq!(em.len(), 256);
                let sig = raw_private(&k, &em);
                let pk = RsaKey {
                    key: k.to_public_key(),
                    scheme,
                };
                if pss {
                    rsa_pss_rustcrypto(&pk, msg, &sig).unwrap();
                    if h != Sha2::Sha224 {
                        rsa_pss_ring(&pk, msg, &sig).unwrap();
                    }
                } else {
                    rsa_pkcs1_rustcrypto(&pk, msg, &sig).unwrap();
                    rsa_pkcs1_ring(&pk, msg, &sig).unwrap();
                }
                // Another message does not verify.
                let other = if pss {
                    rsa_pss_rustcrypto(&pk, b"other", &sig)
                } else {
                    rsa_pkcs1_rustcrypto(&pk, b"other", &sig)
                };
                assert!(other.is_err(), "{scheme:?}");
            }
        }
    }

    #[test]
    fn pkcs1_matches_the_rsa_crate_byte_for_byte() {
        // PKCS#1 v1.5 is deterministic: the same key signs the same bytes either way.
        use rsa::signature::{SignatureEncoding, Signer};
        let k = key(2048);
        let msg = b"deterministic";
        let ours = raw_private(&k, &pkcs1v15(Sha2::Sha256, msg, k.size()).unwrap());
        let theirs = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k.clone())
            .sign(msg)
            .to_vec();
        assert_eq!(ours, theirs);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// For every modulus length (odd bit counts included), the PSS block fits under the
        /// modulus and decodes with the `rsa` crate's verifier logic.
        #[test]
        fn pss_blocks_fit_any_modulus_length(bits in 1024usize..4200, msg in proptest::collection::vec(any::<u8>(), 0..64)) {
            let em = pss(Sha2::Sha256, &msg, &[7u8; 32], bits).unwrap();
            prop_assert_eq!(em.len(), bits.div_ceil(8));
            // The top bits beyond emBits are zero: the block is below 2^(bits-1).
            let lead_zero_bits = 8 * em.len() - (bits - 1);
            let first_nonzero = em.iter().position(|b| *b != 0).unwrap();
            let top_bit = 8 * first_nonzero + em[first_nonzero].leading_zeros() as usize;
            prop_assert!(top_bit >= lead_zero_bits);
            prop_assert_eq!(*em.last().unwrap(), 0xbc);
        }
    }
}

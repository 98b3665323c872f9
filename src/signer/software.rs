//! The software key store: P-256, P-384, Ed25519 and RSA keys kept in encrypted PKCS#8 PEM files
//! (scrypt + AES-256-CBC, which `openssl pkey` reads). For trials, tests and the demo: a root key
//! belongs in hardware.
//!
//! Invariant: a private key is only ever in memory inside a zeroizing type, and on disk only
//! encrypted; `Debug` shows the public fingerprint alone.

use super::Signer;
use crate::error::{Error, Result};
use crate::tuf::key::{RsaKey, RsaScheme, Sha2};
use crate::tuf::{Algorithm, PublicKey};
use pkcs8::der::SecretDocument;
use pkcs8::{
    DecodePrivateKey, EncodePrivateKey, EncryptedPrivateKeyInfoRef, LineEnding, PrivateKeyInfoRef,
};
use rand_core::UnwrapErr;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

/// How costly the passphrase key derivation is (scrypt log2 N, r = 8, p = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfCost {
    pub log_n: u8,
}

impl KdfCost {
    /// log2 N = 14, r = 8, p = 1: what `openssl pkcs8 -topk8 -scrypt` writes, and the largest
    /// cost `openssl pkey` opens under its 32 MiB scrypt memory cap (N = 2^15 is refused).
    pub const STANDARD: KdfCost = KdfCost { log_n: 14 };
    /// For the demo and tests only: recorded in the file like any other scrypt setting.
    pub const LIGHT: KdfCost = KdfCost { log_n: 10 };
}

enum Secret {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

/// An unlocked software key.
pub struct SoftwareKey {
    secret: Secret,
    public: PublicKey,
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SoftwareKey({} {})",
            self.public.algorithm().name(),
            self.public.fingerprint()
        )
    }
}

fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

impl SoftwareKey {
    /// A new key from the operating system's CSPRNG; RSA keys sign with `scheme`.
    pub fn generate(alg: Algorithm, scheme: RsaScheme) -> Result<SoftwareKey> {
        use p256::elliptic_curve::Generate;
        Ok(match alg {
            Algorithm::EcdsaP256 => {
                let sk = p256::ecdsa::SigningKey::generate_from_rng(&mut rng());
                let public = PublicKey::EcdsaP256(*sk.verifying_key());
                SoftwareKey {
                    secret: Secret::P256(sk),
                    public,
                }
            }
            Algorithm::EcdsaP384 => {
                let sk = p384::ecdsa::SigningKey::generate_from_rng(&mut rng());
                let public = PublicKey::EcdsaP384(*sk.verifying_key());
                SoftwareKey {
                    secret: Secret::P384(sk),
                    public,
                }
            }
            Algorithm::Ed25519 => {
                let sk = ed25519_dalek::SigningKey::generate(&mut rng());
                let public = PublicKey::Ed25519(sk.verifying_key());
                SoftwareKey {
                    secret: Secret::Ed25519(sk),
                    public,
                }
            }
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 | Algorithm::Rsa => {
                let bits = alg.rsa_bits().unwrap_or(2048);
                let sk = rsa::RsaPrivateKey::new(&mut rng(), bits).map_err(|e| {
                    Error::environment(format!("cannot generate an RSA-{bits} key: {e}"))
                })?;
                let public = PublicKey::Rsa(Box::new(RsaKey {
                    key: sk.to_public_key(),
                    scheme,
                }));
                SoftwareKey {
                    secret: Secret::Rsa(Box::new(sk)),
                    public,
                }
            }
        })
    }

    /// The key with the public key its record names (for RSA: the scheme it signs with),
    /// refused when the record's key is another.
    pub fn bound_to(mut self, public: PublicKey) -> Option<SoftwareKey> {
        (public.identity() == self.public.identity()).then(|| {
            self.public = public;
            self
        })
    }

    /// The key as encrypted PKCS#8 PEM (`-----BEGIN ENCRYPTED PRIVATE KEY-----`).
    pub fn to_encrypted_pem(
        &self,
        passphrase: &SecretString,
        cost: KdfCost,
    ) -> Result<Zeroizing<String>> {
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            Error::environment(format!("cannot {what} the private key: {e}"))
        };
        let der = match &self.secret {
            Secret::P256(k) => k.to_pkcs8_der(),
            Secret::P384(k) => k.to_pkcs8_der(),
            Secret::Rsa(k) => k.to_pkcs8_der(),
            // PKCS#8 v1 (RFC 8410, private key only): OpenSSL 3.0 does not read the v2 form
            // that ed25519-dalek writes by default.
            Secret::Ed25519(k) => {
                let secret = Zeroizing::new(k.to_bytes());
                ed25519_dalek::pkcs8::KeypairBytes {
                    secret_key: *secret,
                    public_key: None,
                }
                .to_pkcs8_der()
            }
        }
        .map_err(|e| internal("encode", &e))?;
        let info =
            PrivateKeyInfoRef::try_from(der.as_bytes()).map_err(|e| internal("encode", &e))?;
        let mut salt = [0u8; 16];
        let mut iv = [0u8; 16];
        getrandom::fill(&mut salt)
            .and_then(|()| getrandom::fill(&mut iv))
            .map_err(|e| internal("get randomness for", &e))?;
        let params = pkcs8::pkcs5::scrypt::Params::new(cost.log_n, 8, 1)
            .map_err(|e| internal("set scrypt parameters for", &e))?;
        let pbes2 = pkcs8::pkcs5::pbes2::Parameters::generate_scrypt_aes256cbc(params, &salt, iv)
            .map_err(|e| internal("set encryption parameters for", &e))?;
        let enc = info
            .encrypt_with_params(pbes2, passphrase.expose_secret().as_bytes())
            .map_err(|e| internal("encrypt", &e))?;
        enc.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
            .map_err(|e| internal("encode", &e))
    }

    /// Opens an encrypted PKCS#8 PEM. `label` names the key in messages.
    pub fn from_encrypted_pem(
        pem: &str,
        passphrase: &SecretString,
        label: &str,
    ) -> Result<SoftwareKey> {
        let corrupted = |why: String| {
            Error::bad_input(format!("the private key file of {label} is damaged: {why}"))
                .hint("restore the file from your backup; rootcellar did not change it")
        };
        let (pem_label, doc) =
            SecretDocument::from_pem(pem).map_err(|e| corrupted(e.to_string()))?;
        if pem_label != "ENCRYPTED PRIVATE KEY" {
            return Err(corrupted(format!(
                "PEM label is {pem_label:?}, expected \"ENCRYPTED PRIVATE KEY\""
            )));
        }
        let enc = EncryptedPrivateKeyInfoRef::try_from(doc.as_bytes())
            .map_err(|e| corrupted(e.to_string()))?;
        let plain = enc
            .decrypt(passphrase.expose_secret().as_bytes())
            .map_err(|_| {
                Error::bad_input(format!("wrong passphrase for key {label}")).hint(
                    "check the passphrase and try again (a software key has no retry counter)",
                )
            })?;
        let info = PrivateKeyInfoRef::try_from(plain.as_bytes()).map_err(|_| {
            Error::bad_input(format!("wrong passphrase for key {label}"))
                .hint("check the passphrase and try again (a software key has no retry counter)")
        })?;
        let oid = info.algorithm.oid;
        if oid == p256::elliptic_curve::ALGORITHM_OID {
            if let Ok(sk) = p256::ecdsa::SigningKey::from_pkcs8_der(plain.as_bytes()) {
                let public = PublicKey::EcdsaP256(*sk.verifying_key());
                return Ok(SoftwareKey {
                    secret: Secret::P256(sk),
                    public,
                });
            }
            let sk = p384::ecdsa::SigningKey::from_pkcs8_der(plain.as_bytes())
                .map_err(|e| corrupted(format!("not a P-256 or P-384 key ({e})")))?;
            let public = PublicKey::EcdsaP384(*sk.verifying_key());
            Ok(SoftwareKey {
                secret: Secret::P384(sk),
                public,
            })
        } else if oid == rsa::pkcs1::ALGORITHM_OID {
            let sk = rsa::RsaPrivateKey::from_pkcs8_der(plain.as_bytes())
                .map_err(|e| corrupted(format!("not an RSA key ({e})")))?;
            let public = PublicKey::Rsa(Box::new(RsaKey {
                key: sk.to_public_key(),
                scheme: RsaScheme::DEFAULT,
            }));
            Ok(SoftwareKey {
                secret: Secret::Rsa(Box::new(sk)),
                public,
            })
        } else {
            let sk = ed25519_dalek::SigningKey::from_pkcs8_der(plain.as_bytes())
                .map_err(|e| corrupted(format!("not a P-256 or Ed25519 key ({e})")))?;
            let public = PublicKey::Ed25519(sk.verifying_key());
            Ok(SoftwareKey {
                secret: Secret::Ed25519(sk),
                public,
            })
        }
    }
}

impl Signer for SoftwareKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        use p256::ecdsa::signature::Signer as _;
        Ok(match &self.secret {
            Secret::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(message);
                sig.normalize_s().to_der().as_bytes().to_vec()
            }
            Secret::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign(message);
                sig.normalize_s().to_der().as_bytes().to_vec()
            }
            Secret::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
            Secret::Rsa(k) => {
                let PublicKey::Rsa(p) = &self.public else {
                    return Err(Error::environment("an RSA key without its scheme"));
                };
                rsa_sign(k, p.scheme, message)?
            }
        })
    }
}

/// An RSA signature in `scheme` (PSS with a salt as long as the digest, as securesystemslib
/// signs).
fn rsa_sign(k: &rsa::RsaPrivateKey, scheme: RsaScheme, message: &[u8]) -> Result<Vec<u8>> {
    use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer as _};
    let k = k.clone();
    let sig = match (scheme.pss, scheme.hash) {
        (true, Sha2::Sha224) => rsa::pss::BlindedSigningKey::<sha2::Sha224>::new(k)
            .try_sign_with_rng(&mut rng(), message)
            .map(|s| s.to_vec()),
        (true, Sha2::Sha256) => rsa::pss::BlindedSigningKey::<sha2::Sha256>::new(k)
            .try_sign_with_rng(&mut rng(), message)
            .map(|s| s.to_vec()),
        (true, Sha2::Sha384) => rsa::pss::BlindedSigningKey::<sha2::Sha384>::new(k)
            .try_sign_with_rng(&mut rng(), message)
            .map(|s| s.to_vec()),
        (true, Sha2::Sha512) => rsa::pss::BlindedSigningKey::<sha2::Sha512>::new(k)
            .try_sign_with_rng(&mut rng(), message)
            .map(|s| s.to_vec()),
        (false, Sha2::Sha224) => rsa::pkcs1v15::SigningKey::<sha2::Sha224>::new(k)
            .try_sign(message)
            .map(|s| s.to_vec()),
        (false, Sha2::Sha256) => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k)
            .try_sign(message)
            .map(|s| s.to_vec()),
        (false, Sha2::Sha384) => rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(k)
            .try_sign(message)
            .map(|s| s.to_vec()),
        (false, Sha2::Sha512) => rsa::pkcs1v15::SigningKey::<sha2::Sha512>::new(k)
            .try_sign(message)
            .map(|s| s.to_vec()),
    };
    sig.map_err(|e| Error::environment(format!("RSA signing failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuf::sig::verify;

    #[test]
    fn round_trip_sign_verify_and_wrong_passphrase() {
        for alg in [
            Algorithm::EcdsaP256,
            Algorithm::EcdsaP384,
            Algorithm::Ed25519,
            Algorithm::Rsa2048,
        ] {
            let k = SoftwareKey::generate(alg, RsaScheme::DEFAULT).unwrap();
            let pw = SecretString::from("correct horse");
            let pem = k.to_encrypted_pem(&pw, KdfCost::LIGHT).unwrap();
            assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
            let back = SoftwareKey::from_encrypted_pem(&pem, &pw, "k").unwrap();
            assert_eq!(back.public_key(), k.public_key());
            let sig = back.sign(b"hello").unwrap();
            verify(k.public_key(), b"hello", &hex::encode(sig)).unwrap();
            let e = SoftwareKey::from_encrypted_pem(&pem, &SecretString::from("nope"), "k")
                .unwrap_err();
            assert!(e.message.contains("wrong passphrase"), "{e:?}");
            let e = SoftwareKey::from_encrypted_pem("garbage", &pw, "k").unwrap_err();
            assert!(e.message.contains("damaged"));
            assert!(!format!("{back:?}").contains("secret"));
        }
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        for alg in [
            Algorithm::EcdsaP256,
            Algorithm::EcdsaP384,
            Algorithm::Ed25519,
        ] {
            let k = SoftwareKey::generate(alg, RsaScheme::DEFAULT).unwrap();
            let raw = match &k.secret {
                Secret::P256(s) => s.to_bytes().to_vec(),
                Secret::P384(s) => s.to_bytes().to_vec(),
                Secret::Ed25519(s) => s.to_bytes().to_vec(),
                Secret::Rsa(_) => unreachable!(),
            };
            let shown = format!("{k:?} {k:#?}");
            assert!(!shown.contains(&hex::encode(&raw)), "{shown}");
            assert!(!shown.contains(&hex::encode_upper(&raw)), "{shown}");
            assert!(!shown.contains(&format!("{raw:?}")), "{shown}");
            assert!(shown.contains(&k.public_key().fingerprint()));
        }
    }
}

//! The software key store: P-256 and Ed25519 keys kept in encrypted PKCS#8 PEM files
//! (scrypt + AES-256-CBC, which `openssl pkey` reads). For trials, tests and the demo: a root key
//! belongs in hardware.
//!
//! Invariant: a private key is only ever in memory inside a zeroizing type, and on disk only
//! encrypted; `Debug` shows the public fingerprint alone.

use super::Signer;
use crate::error::{Error, Result};
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
    Ed25519(ed25519_dalek::SigningKey),
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
    /// A new key from the operating system's CSPRNG.
    pub fn generate(alg: Algorithm) -> SoftwareKey {
        match alg {
            Algorithm::EcdsaP256 => {
                let sk =
                    <p256::ecdsa::SigningKey as p256::elliptic_curve::Generate>::generate_from_rng(
                        &mut rng(),
                    );
                let public = PublicKey::EcdsaP256(*sk.verifying_key());
                SoftwareKey {
                    secret: Secret::P256(sk),
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
        }
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
            let sk = p256::ecdsa::SigningKey::from_pkcs8_der(plain.as_bytes())
                .map_err(|e| corrupted(e.to_string()))?;
            let public = PublicKey::EcdsaP256(*sk.verifying_key());
            Ok(SoftwareKey {
                secret: Secret::P256(sk),
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
            Secret::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuf::sig::verify;

    #[test]
    fn round_trip_sign_verify_and_wrong_passphrase() {
        for alg in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
            let k = SoftwareKey::generate(alg);
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
        for alg in [Algorithm::EcdsaP256, Algorithm::Ed25519] {
            let k = SoftwareKey::generate(alg);
            let raw = match &k.secret {
                Secret::P256(s) => s.to_bytes().to_vec(),
                Secret::Ed25519(s) => s.to_bytes().to_vec(),
            };
            let shown = format!("{k:?} {k:#?}");
            assert!(!shown.contains(&hex::encode(&raw)), "{shown}");
            assert!(!shown.contains(&hex::encode_upper(&raw)), "{shown}");
            assert!(!shown.contains(&format!("{raw:?}")), "{shown}");
            assert!(shown.contains(&k.public_key().fingerprint()));
        }
    }
}

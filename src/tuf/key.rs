//! TUF public keys, their key IDs, and the public keys they decode to.
//!
//! Invariant: a key is its public key material ([`PublicKey::identity`]); a key ID is a name.
//! Keys written by rootcellar have no extra fields and the SHA-256 of their canonical key object
//! as ID (securesystemslib's recipe and tough's agree on such keys), in the current forms:
//! `ecdsa` with `ecdsa-sha2-nistp256`/`ecdsa-sha2-nistp384` and a PEM SPKI (LF line endings, 64
//! columns, trailing newline), `ed25519` with 64 hex digits, `rsa` with a PEM SPKI and one of the
//! `rsassa-pss-sha*`/`rsa-pkcs1v15-sha*` schemes. Keys read keep every field as they came.

use super::canonical::to_canonical;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// A key object as TUF metadata carries it. Unknown fields are kept and hashed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub keytype: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    pub keyval: KeyVal,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    pub public: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The kind of key rootcellar makes and signs with. Chosen by the key, never by a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    #[serde(rename = "ecdsa-p384")]
    EcdsaP384,
    #[serde(rename = "ed25519")]
    Ed25519,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// An RSA key of another size, read from someone else's root (never made here).
    #[serde(rename = "rsa")]
    Rsa,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::EcdsaP384 => "ecdsa-p384",
            Algorithm::Ed25519 => "ed25519",
            Algorithm::Rsa2048 => "rsa-2048",
            Algorithm::Rsa3072 => "rsa-3072",
            Algorithm::Rsa4096 => "rsa-4096",
            Algorithm::Rsa => "rsa",
        }
    }

    /// The modulus size of an RSA algorithm.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            Algorithm::Rsa2048 => Some(2048),
            Algorithm::Rsa3072 => Some(3072),
            Algorithm::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    /// The algorithms `key generate` offers.
    pub const GENERATED: [Algorithm; 6] = [
        Algorithm::EcdsaP256,
        Algorithm::EcdsaP384,
        Algorithm::Ed25519,
        Algorithm::Rsa2048,
        Algorithm::Rsa3072,
        Algorithm::Rsa4096,
    ];
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ecdsa-p256" | "ecdsa" | "p256" => Ok(Algorithm::EcdsaP256),
            "ecdsa-p384" | "p384" => Ok(Algorithm::EcdsaP384),
            "ed25519" => Ok(Algorithm::Ed25519),
            "rsa-2048" | "rsa2048" => Ok(Algorithm::Rsa2048),
            "rsa-3072" | "rsa3072" => Ok(Algorithm::Rsa3072),
            "rsa-4096" | "rsa4096" => Ok(Algorithm::Rsa4096),
            _ => Err(format!(
                "unknown algorithm {s:?}: use ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096"
            )),
        }
    }
}

/// A hash of the SHA-2 family, as RSA schemes name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sha2 {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// An RSA signature scheme: its padding and hash (`rsassa-pss-sha256`, `rsa-pkcs1v15-sha384`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsaScheme {
    pub pss: bool,
    pub hash: Sha2,
}

impl RsaScheme {
    /// What `key generate` uses unless told otherwise.
    pub const DEFAULT: RsaScheme = RsaScheme {
        pss: true,
        hash: Sha2::Sha256,
    };

    pub fn name(self) -> &'static str {
        match (self.pss, self.hash) {
            (true, Sha2::Sha224) => "rsassa-pss-sha224",
            (true, Sha2::Sha256) => "rsassa-pss-sha256",
            (true, Sha2::Sha384) => "rsassa-pss-sha384",
            (true, Sha2::Sha512) => "rsassa-pss-sha512",
            (false, Sha2::Sha224) => "rsa-pkcs1v15-sha224",
            (false, Sha2::Sha256) => "rsa-pkcs1v15-sha256",
            (false, Sha2::Sha384) => "rsa-pkcs1v15-sha384",
            (false, Sha2::Sha512) => "rsa-pkcs1v15-sha512",
        }
    }

    pub fn parse(s: &str) -> Option<RsaScheme> {
        let (pss, hash) = if let Some(h) = s.strip_prefix("rsassa-pss-") {
            (true, h)
        } else {
            (false, s.strip_prefix("rsa-pkcs1v15-")?)
        };
        // SHA-224 is verified (see `Sha2`) but not named: python-tuf reads no key with it.
        let hash = match hash {
            "sha256" => Sha2::Sha256,
            "sha384" => Sha2::Sha384,
            "sha512" => Sha2::Sha512,
            _ => return None,
        };
        Some(RsaScheme { pss, hash })
    }
}

/// An RSA public key and the scheme its key object names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaKey {
    pub key: rsa::RsaPublicKey,
    pub scheme: RsaScheme,
}

/// RSA keys rootcellar counts: 2048 to 8192 bits (below 2048 is too weak to trust with a root).
pub const RSA_MIN_BITS: usize = 2048;

/// A decoded public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    EcdsaP384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(Box<RsaKey>),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "unsupported key type {keytype:?} with scheme {scheme:?} (rootcellar reads ecdsa with ecdsa-sha2-nistp256/384, ed25519, and rsa with rsassa-pss-sha* or rsa-pkcs1v15-sha*)"
    )]
    Unsupported { keytype: String, scheme: String },
    #[error("invalid {what} public key: {why}")]
    Invalid { what: &'static str, why: String },
}

impl PublicKey {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::EcdsaP256(_) => Algorithm::EcdsaP256,
            PublicKey::EcdsaP384(_) => Algorithm::EcdsaP384,
            PublicKey::Ed25519(_) => Algorithm::Ed25519,
            PublicKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                match k.key.n().bit_width() {
                    2048 => Algorithm::Rsa2048,
                    3072 => Algorithm::Rsa3072,
                    4096 => Algorithm::Rsa4096,
                    _ => Algorithm::Rsa,
                }
            }
        }
    }

    /// The relative cost of checking one signature by this key (P-256, Ed25519 and RSA with
    /// e = 65537 take about the same; P-384 about six times as long): a count that stops at its
    /// threshold checks the cheapest signatures first.
    pub fn verify_cost(&self) -> u8 {
        match self {
            PublicKey::EcdsaP256(_) | PublicKey::Ed25519(_) | PublicKey::Rsa(_) => 1,
            PublicKey::EcdsaP384(_) => 6,
        }
    }

    /// Bytes that identify the public key whatever its encoding in JSON: thresholds count these.
    /// An RSA key is its modulus and exponent, whatever scheme its key object names.
    pub fn identity(&self) -> Vec<u8> {
        let (tag, bytes): (u8, Vec<u8>) = match self {
            PublicKey::EcdsaP256(k) => (1, k.to_sec1_bytes().to_vec()),
            PublicKey::Ed25519(k) => (2, k.as_bytes().to_vec()),
            PublicKey::EcdsaP384(k) => (3, k.to_sec1_bytes().to_vec()),
            PublicKey::Rsa(k) => {
                use rsa::traits::PublicKeyParts;
                let mut v = k.key.n_bytes().to_vec();
                v.extend_from_slice(&k.key.e_bytes());
                (4, v)
            }
        };
        let mut v = vec![tag];
        v.extend_from_slice(&bytes);
        v
    }

    /// The key object rootcellar writes for this public key.
    pub fn to_tuf_key(&self) -> Key {
        let (keytype, scheme, public) = match self {
            PublicKey::EcdsaP256(k) => ("ecdsa", "ecdsa-sha2-nistp256", spki_pem(k)),
            PublicKey::EcdsaP384(k) => ("ecdsa", "ecdsa-sha2-nistp384", spki_pem(k)),
            PublicKey::Ed25519(k) => ("ed25519", "ed25519", hex::encode(k.as_bytes())),
            PublicKey::Rsa(k) => ("rsa", k.scheme.name(), spki_pem(&k.key)),
        };
        Key {
            keytype: keytype.into(),
            scheme: Some(scheme.into()),
            keyval: KeyVal {
                public,
                extra: BTreeMap::new(),
            },
            extra: BTreeMap::new(),
        }
    }

    /// A PEM SPKI public key (P-256, P-384, Ed25519 or RSA, as `openssl pkey -pubout` writes
    /// it). An RSA key gets the default scheme.
    pub fn from_spki_pem(pem: &str) -> Result<PublicKey, KeyError> {
        use p256::pkcs8::DecodePublicKey;
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::EcdsaP256(k));
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::EcdsaP384(k));
        }
        if let Ok(k) = rsa_from_pem(pem) {
            return rsa_key(k, RsaScheme::DEFAULT);
        }
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map(PublicKey::Ed25519)
            .map_err(|e| KeyError::Invalid {
                what: "PEM",
                why: format!("not a P-256, P-384, Ed25519 or RSA SubjectPublicKeyInfo ({e})"),
            })
    }

    /// An RSA key rootcellar counts (2048 to 8192 bits), signing with `scheme`.
    pub fn from_rsa(key: rsa::RsaPublicKey, scheme: RsaScheme) -> Result<PublicKey, KeyError> {
        rsa_key(key, scheme)
    }

    /// The same key under another RSA scheme (`None`: not an RSA key).
    pub fn with_rsa_scheme(&self, scheme: RsaScheme) -> Option<PublicKey> {
        match self {
            PublicKey::Rsa(k) => Some(PublicKey::Rsa(Box::new(RsaKey {
                key: k.key.clone(),
                scheme,
            }))),
            _ => None,
        }
    }

    /// The public key as PEM SubjectPublicKeyInfo (what `openssl pkey -pubout` writes).
    pub fn to_spki_pem(&self) -> String {
        match self {
            PublicKey::EcdsaP256(k) => spki_pem(k),
            PublicKey::EcdsaP384(k) => spki_pem(k),
            PublicKey::Ed25519(k) => spki_pem(k),
            PublicKey::Rsa(k) => spki_pem(&k.key),
        }
    }

    /// Short human fingerprint: the first 16 hex digits of SHA-256 over the identity bytes.
    pub fn fingerprint(&self) -> String {
        let d = Sha256::digest(self.identity());
        let h = hex::encode(&d[..8]);
        format!("{}:{}:{}:{}", &h[0..4], &h[4..8], &h[8..12], &h[12..16])
    }
}

fn spki_pem(k: &impl p256::pkcs8::EncodePublicKey) -> String {
    use p256::pkcs8::LineEnding;
    // Encoding a valid public key cannot fail; keep a total function all the same.
    k.to_public_key_pem(LineEnding::LF).unwrap_or_default()
}

/// An RSA public key from PEM: SubjectPublicKeyInfo or PKCS#1 (`BEGIN RSA PUBLIC KEY`), as
/// `cryptography`'s `load_pem_public_key` reads both.
fn rsa_from_pem(pem: &str) -> Result<rsa::RsaPublicKey, String> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    rsa::RsaPublicKey::from_public_key_pem(pem)
        .map_err(|e| e.to_string())
        .or_else(|e| rsa::RsaPublicKey::from_pkcs1_pem(pem).map_err(|_| e))
}

/// An RSA key rootcellar counts (2048 to 8192 bits).
fn rsa_key(key: rsa::RsaPublicKey, scheme: RsaScheme) -> Result<PublicKey, KeyError> {
    use rsa::traits::PublicKeyParts;
    let bits = key.n().bit_width() as usize;
    if bits < RSA_MIN_BITS {
        return Err(KeyError::Invalid {
            what: "RSA",
            why: format!(
                "it has {bits} bits: rootcellar counts RSA keys of {RSA_MIN_BITS} bits and more"
            ),
        });
    }
    Ok(PublicKey::Rsa(Box::new(RsaKey { key, scheme })))
}

impl Key {
    /// The key ID: hex SHA-256 of the canonical JSON of this key object.
    pub fn keyid(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or(Value::Null);
        // A key object holds only strings and maps, never floats: canonicalisation cannot fail.
        let bytes = to_canonical(&value).unwrap_or_default();
        hex::encode(Sha256::digest(bytes))
    }

    /// Decodes the public key. The key type and scheme pick the algorithm.
    pub fn decode(&self) -> Result<PublicKey, KeyError> {
        let scheme = self.scheme.as_deref().unwrap_or("");
        match (self.keytype.as_str(), scheme) {
            ("ecdsa" | "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256") => {
                use p256::pkcs8::DecodePublicKey;
                p256::ecdsa::VerifyingKey::from_public_key_pem(&self.keyval.public)
                    .map(PublicKey::EcdsaP256)
                    .map_err(|e| KeyError::Invalid {
                        what: "ECDSA P-256",
                        why: format!("keyval.public is not a PEM P-256 SubjectPublicKeyInfo ({e})"),
                    })
            }
            ("ecdsa" | "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384") => {
                use p384::pkcs8::DecodePublicKey;
                p384::ecdsa::VerifyingKey::from_public_key_pem(&self.keyval.public)
                    .map(PublicKey::EcdsaP384)
                    .map_err(|e| KeyError::Invalid {
                        what: "ECDSA P-384",
                        why: format!("keyval.public is not a PEM P-384 SubjectPublicKeyInfo ({e})"),
                    })
            }
            ("rsa", sc) if RsaScheme::parse(sc).is_some() => {
                let key = rsa_from_pem(&self.keyval.public).map_err(|e| KeyError::Invalid {
                    what: "RSA",
                    why: format!("keyval.public is not a PEM RSA public key ({e})"),
                })?;
                rsa_key(key, RsaScheme::parse(sc).unwrap_or(RsaScheme::DEFAULT))
            }
            ("ed25519", "ed25519") => {
                let bytes = hex::decode(&self.keyval.public).map_err(|e| KeyError::Invalid {
                    what: "Ed25519",
                    why: format!("keyval.public is not hex ({e})"),
                })?;
                let arr: [u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyError::Invalid {
                    what: "Ed25519",
                    why: format!("keyval.public has {} bytes, not 32", bytes.len()),
                })?;
                ed25519_dalek::VerifyingKey::from_bytes(&arr)
                    .map(PublicKey::Ed25519)
                    .map_err(|e| KeyError::Invalid {
                        what: "Ed25519",
                        why: e.to_string(),
                    })
            }
            (kt, sc) => Err(KeyError::Unsupported {
                keytype: kt.into(),
                scheme: sc.into(),
            }),
        }
    }

    /// Reads a key given as TUF key JSON (`{"keytype","scheme","keyval":{"public"}}`) or as a PEM
    /// SPKI public key, and returns it in the form rootcellar writes.
    pub fn from_import_text(text: &str) -> Result<Key, String> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') {
            let value = super::json::parse_strict(text.as_bytes()).map_err(|e| e.to_string())?;
            let key: Key =
                serde_json::from_value(value).map_err(|e| format!("not a TUF key object: {e}"))?;
            let pk = key.decode().map_err(|e| e.to_string())?;
            Ok(pk.to_tuf_key())
        } else if trimmed.starts_with("-----BEGIN CERTIFICATE-----") {
            // A certificate (Notary's x509 keys): its subject key.
            use x509_cert::der::{DecodePem, EncodePem};
            let cert = x509_cert::Certificate::from_pem(trimmed.as_bytes())
                .map_err(|e| format!("not a PEM certificate: {e}"))?;
            let spki = cert
                .tbs_certificate()
                .subject_public_key_info()
                .to_pem(p256::pkcs8::LineEnding::LF)
                .map_err(|e| e.to_string())?;
            PublicKey::from_spki_pem(&spki)
                .map(|pk| pk.to_tuf_key())
                .map_err(|e| e.to_string())
        } else if trimmed.starts_with("-----BEGIN") {
            PublicKey::from_spki_pem(&strip_pem_headers(trimmed))
                .map(|pk| pk.to_tuf_key())
                .map_err(|e| e.to_string())
        } else {
            Err("expected TUF key JSON ({\"keytype\",\"scheme\",\"keyval\":{\"public\"}}) or a PEM public key (-----BEGIN PUBLIC KEY-----)".into())
        }
    }
}

/// Drops RFC 1421-style header lines (`role: releases`, as `docker trust key generate` writes
/// them) and the blank line after them from a PEM block.
fn strip_pem_headers(pem: &str) -> String {
    let mut out = String::new();
    let mut in_body = false;
    let mut headers_done = false;
    for line in pem.lines() {
        let l = line.trim_end();
        if l.starts_with("-----BEGIN") {
            in_body = true;
            headers_done = false;
        } else if l.starts_with("-----END") {
            in_body = false;
        } else if in_body && !headers_done {
            if l.contains(':') {
                continue;
            }
            headers_done = true;
            if l.is_empty() {
                continue;
            }
        }
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_pem_with_a_role_header_and_certificates_import() {
        use p256::pkcs8::EncodePublicKey;
        let sk = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let pem = sk
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let docker = pem.replacen(
            "-----BEGIN PUBLIC KEY-----\n",
            "-----BEGIN PUBLIC KEY-----\nrole: releases\n\n",
            1,
        );
        let want = PublicKey::EcdsaP256(*sk.verifying_key()).to_tuf_key();
        assert_eq!(Key::from_import_text(&docker).unwrap(), want);
        assert_eq!(Key::from_import_text(&pem).unwrap(), want);
        // A Notary root certificate: its subject key.
        let v = crate::tuf::json::parse_strict(include_bytes!(
            "../../tests/data/notary/notary0.1/root.json"
        ))
        .unwrap();
        let keys = v["signed"]["keys"].as_object().unwrap();
        let cert = keys
            .values()
            .find(|k| k["keytype"] == "ecdsa-x509")
            .unwrap();
        use base64::Engine;
        let pem = base64::engine::general_purpose::STANDARD
            .decode(cert["keyval"]["public"].as_str().unwrap())
            .unwrap();
        let k = Key::from_import_text(std::str::from_utf8(&pem).unwrap()).unwrap();
        assert!(matches!(k.decode().unwrap(), PublicKey::EcdsaP256(_)));
        // A header line inside the body is not a header: the key is refused, not misread.
        let broken = pem_with_middle_colon(&docker);
        assert!(Key::from_import_text(&broken).is_err());
    }

    fn pem_with_middle_colon(pem: &str) -> String {
        let mut lines: Vec<String> = pem.lines().map(str::to_string).collect();
        let n = lines.len();
        lines[n - 2] = format!("{}:", lines[n - 2]);
        lines.join("\n")
    }

    #[test]
    fn ecdsa_pem_is_lf_64_columns_with_trailing_newline() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let key = PublicKey::EcdsaP256(*sk.verifying_key()).to_tuf_key();
        let pem = &key.keyval.public;
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(pem.ends_with("-----END PUBLIC KEY-----\n"));
        assert!(!pem.contains('\r'));
        assert!(pem.lines().all(|l| l.len() <= 64));
        assert_eq!(
            key.decode().unwrap(),
            PublicKey::EcdsaP256(*sk.verifying_key())
        );
    }

    #[test]
    fn unsupported_and_broken_keys_are_errors() {
        let mut k =
            PublicKey::Ed25519(ed25519_dalek::SigningKey::from_bytes(&[1u8; 32]).verifying_key())
                .to_tuf_key();
        k.scheme = Some("rsassa-pss-sha256".into());
        assert!(matches!(k.decode(), Err(KeyError::Unsupported { .. })));
        k.scheme = Some("ed25519".into());
        k.keyval.public = "abcd".into();
        assert!(k.decode().unwrap_err().to_string().contains("2 bytes"));
    }

    #[test]
    fn legacy_keytype_is_read() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        let mut k = PublicKey::EcdsaP256(*sk.verifying_key()).to_tuf_key();
        k.keytype = "ecdsa-sha2-nistp256".into();
        k.extra.insert(
            "keyid_hash_algorithms".into(),
            serde_json::json!(["sha256", "sha512"]),
        );
        assert!(k.decode().is_ok());
        // Extra fields are part of the key ID, as python-tuf computes it.
        let plain = PublicKey::EcdsaP256(*sk.verifying_key()).to_tuf_key();
        assert_ne!(k.keyid(), plain.keyid());
    }
}

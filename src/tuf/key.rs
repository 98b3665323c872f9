//! TUF public keys, their key IDs, and the public keys they decode to.
//!
//! Invariant: a key ID is the lowercase hex SHA-256 of the canonical JSON of the key object as it
//! stands in the metadata, extra fields included (python-tuf does the same). Keys written by
//! rootcellar use only the current forms: `ecdsa`/`ecdsa-sha2-nistp256` with a PEM SPKI (LF line
//! endings, 64 columns, trailing newline) and `ed25519` with 64 hex digits.

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

/// The algorithm a key is used with. Chosen by the key, never by a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Algorithm {
    EcdsaP256,
    Ed25519,
}

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256 => "ecdsa-p256",
            Algorithm::Ed25519 => "ed25519",
        }
    }
}

impl std::str::FromStr for Algorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ecdsa-p256" | "ecdsa" | "p256" => Ok(Algorithm::EcdsaP256),
            "ed25519" => Ok(Algorithm::Ed25519),
            _ => Err(format!(
                "unknown algorithm {s:?}: use ecdsa-p256 or ed25519"
            )),
        }
    }
}

/// A decoded public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    EcdsaP256(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "unsupported key type {keytype:?} with scheme {scheme:?} (rootcellar uses ecdsa-sha2-nistp256 and ed25519)"
    )]
    Unsupported { keytype: String, scheme: String },
    #[error("invalid {what} public key: {why}")]
    Invalid { what: &'static str, why: String },
}

impl PublicKey {
    pub fn algorithm(&self) -> Algorithm {
        match self {
            PublicKey::EcdsaP256(_) => Algorithm::EcdsaP256,
            PublicKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }

    /// Bytes that identify the public key whatever its encoding in JSON: thresholds count these.
    pub fn identity(&self) -> Vec<u8> {
        match self {
            PublicKey::EcdsaP256(k) => {
                let mut v = vec![1u8];
                v.extend_from_slice(&k.to_sec1_bytes());
                v
            }
            PublicKey::Ed25519(k) => {
                let mut v = vec![2u8];
                v.extend_from_slice(k.as_bytes());
                v
            }
        }
    }

    /// The key object rootcellar writes for this public key.
    pub fn to_tuf_key(&self) -> Key {
        let (keytype, scheme, public) = match self {
            PublicKey::EcdsaP256(k) => ("ecdsa", "ecdsa-sha2-nistp256", ecdsa_pem(k)),
            PublicKey::Ed25519(k) => ("ed25519", "ed25519", hex::encode(k.as_bytes())),
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

    /// A PEM SPKI public key (P-256 or Ed25519), as `openssl pkey -pubout` writes it.
    pub fn from_spki_pem(pem: &str) -> Result<PublicKey, KeyError> {
        use p256::pkcs8::DecodePublicKey;
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::EcdsaP256(k));
        }
        ed25519_dalek::VerifyingKey::from_public_key_pem(pem)
            .map(PublicKey::Ed25519)
            .map_err(|e| KeyError::Invalid {
                what: "PEM",
                why: format!("not a P-256 or Ed25519 SubjectPublicKeyInfo ({e})"),
            })
    }

    /// Short human fingerprint: the first 16 hex digits of SHA-256 over the identity bytes.
    pub fn fingerprint(&self) -> String {
        let d = Sha256::digest(self.identity());
        let h = hex::encode(&d[..8]);
        format!("{}:{}:{}:{}", &h[0..4], &h[4..8], &h[8..12], &h[12..16])
    }
}

fn ecdsa_pem(k: &p256::ecdsa::VerifyingKey) -> String {
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    // Encoding a valid curve point cannot fail; keep a total function all the same.
    k.to_public_key_pem(LineEnding::LF).unwrap_or_default()
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

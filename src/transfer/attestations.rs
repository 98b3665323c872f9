//! Attestation folders: the proof, published beside the root, that its keys were made in
//! hardware. The layout is the one production TUF roots already publish and other tools write
//! (`yubico-piv-tool --action=attest` / `read-certificate`): a folder per YubiKey serial with
//! `Slot<SLOT>Attestation.pem` (the slot certificate) and `SlotF9Intermediate.pem` (the device's
//! f9 certificate). rootcellar adds `attestations.json`, which maps key IDs to those files and
//! carries what PKCS#11 tokens said about their keys (the token's own word, not a vendor proof).
//!
//! Reading is by public key, not by file name or key ID: every slot certificate in the folder
//! is a candidate for every key of the root. Everything read goes through `readpath` (regular
//! files, bounded size, no links followed); names are escaped where they are printed.

use crate::error::{Error, Result};
use crate::signer::attest::{self, Anchor, Policy, Verdict};
use crate::signer::pkcs11::KeyAttributes;
use crate::tuf::expiry::Timestamp;
use crate::workspace::{Backend, KeyRecord};
use serde::{Deserialize, Serialize};
use std::path::Path;
use x509_cert::Certificate;

/// The index rootcellar writes beside the certificates.
pub const INDEX: &str = "attestations.json";
/// The file name of a serial's f9 certificate.
pub const F9_FILE: &str = "SlotF9Intermediate.pem";
const FORMAT: &str = "rootcellar-attestations/1";

/// `attestations.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub format: String,
    pub keys: Vec<IndexEntry>,
}

/// One key of the root and where its proof is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub keyid: String,
    pub name: String,
    pub backend: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// Paths relative to the folder: slot certificate, then f9 certificate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// PKCS#11 keys: the attributes the token reported when the key was generated or added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_says: Option<KeyAttributes>,
    pub note: String,
}

/// Splits a recorded chain (PEM, slot certificate first) into slot and f9 PEM blocks.
fn split_chain(pem: &str) -> Result<(String, String)> {
    use x509_cert::der::{EncodePem, pem::LineEnding};
    let certs = attest::parse_certs(pem.as_bytes()).map_err(Error::bad_input)?;
    let [slot, f9, ..] = certs.as_slice() else {
        return Err(Error::bad_input(
            "a recorded attestation holds fewer than two certificates (slot and f9)",
        ));
    };
    let enc = |c: &Certificate| {
        c.to_pem(LineEnding::LF)
            .map_err(|e| Error::bad_input(e.to_string()))
    };
    Ok((enc(slot)?, enc(f9)?))
}

/// Writes the attestation material of `keys` (each listed under its key ID in the root) into
/// `dir`: per YubiKey serial a folder with the slot certificates and the f9 certificate, and
/// `attestations.json` for every key. Files are written atomically, mode 0644.
pub fn write(dir: &Path, keys: &[(String, &KeyRecord)]) -> Result<Index> {
    crate::atomic::create_public_dir(dir)?;
    let mut index = Index {
        format: FORMAT.into(),
        keys: Vec::new(),
    };
    let mut f9s: std::collections::BTreeMap<u32, String> = Default::default();
    for (keyid, rec) in keys {
        let mut e = IndexEntry {
            keyid: keyid.clone(),
            name: rec.name.clone(),
            backend: rec.backend.name().into(),
            serial: None,
            slot: None,
            files: Vec::new(),
            token_says: None,
            note: String::new(),
        };
        match (&rec.yubikey, rec.backend) {
            (Some(yk), _) => {
                e.serial = Some(yk.serial);
                e.slot = Some(yk.slot.clone());
                match &yk.attestation {
                    Some(pem) => {
                        let (slot, f9) = split_chain(pem)?;
                        if f9s.get(&yk.serial).is_some_and(|x| *x != f9) {
                            return Err(Error::refused(format!(
                                "two keys of YubiKey {} were recorded with different f9 certificates",
                                yk.serial
                            ))
                            .hint("check the key records with `rootcellar key attest`"));
                        }
                        f9s.insert(yk.serial, f9);
                        let sub = dir.join(yk.serial.to_string());
                        crate::atomic::create_public_dir(&sub)?;
                        let name = format!("Slot{}Attestation.pem", yk.slot.to_ascii_uppercase());
                        crate::atomic::write_public(&sub.join(&name), slot.as_bytes())?;
                        e.files = vec![
                            format!("{}/{name}", yk.serial),
                            format!("{}/{F9_FILE}", yk.serial),
                        ];
                        e.note =
                            "YubiKey attestation: slot certificate and the device's f9 certificate"
                                .into();
                    }
                    None => {
                        e.note = format!(
                            "no attestation: {}",
                            yk.attestation_missing.as_deref().unwrap_or("none recorded")
                        )
                    }
                }
            }
            (None, Backend::Pkcs11) => {
                e.token_says = rec.attributes;
                e.note = "the PKCS#11 token's own word about the key (never extractable, generated on the token), not a vendor proof".into();
            }
            (None, b) => e.note = format!("no attestation: a {} key", b.name()),
        }
        index.keys.push(e);
    }
    for (serial, f9) in &f9s {
        let p = dir.join(serial.to_string()).join(F9_FILE);
        crate::atomic::write_public(&p, f9.as_bytes())?;
    }
    let json = serde_json::to_vec_pretty(&index).map_err(|e| Error::bad_input(e.to_string()))?;
    crate::atomic::write_public(&dir.join(INDEX), &json)?;
    Ok(index)
}

/// A slot certificate found in an attestation folder, with the f9 beside it.
#[derive(Clone, Debug)]
pub struct Found {
    /// `SERIAL/SlotXXAttestation.pem`, as found (escape before printing).
    pub file: String,
    pub chain: Vec<Certificate>,
    /// The serial the folder is named after, when it is a number: the certificate must name it.
    pub serial: Option<u32>,
}

/// Reads every `*/Slot*Attestation.pem` of `dir` with the `SlotF9Intermediate.pem` beside it
/// (rootcellar's folders and those other tools write). Unreadable certificates are errors: a
/// published folder should hold nothing else.
pub fn read(dir: &Path) -> Result<Vec<Found>> {
    use crate::readpath::{Kind, entries, read};
    let mut out = Vec::new();
    let mut subs = entries(dir)?;
    subs.sort();
    for (sub, path, is_dir) in subs {
        if !is_dir {
            continue;
        }
        let mut files = entries(&path)?;
        files.sort();
        let f9_path = path.join(F9_FILE);
        for (name, file, is_dir) in files {
            let lower = name.to_ascii_lowercase();
            if is_dir || !lower.starts_with("slot") || !lower.ends_with("attestation.pem") {
                continue;
            }
            let label = format!("{sub}/{name}");
            let parse = |p: &Path| -> Result<Vec<Certificate>> {
                attest::parse_certs(&read(p, Kind::Small)?).map_err(|e| {
                    Error::bad_input(format!(
                        "{}: {e}",
                        crate::text::field(&p.display().to_string())
                    ))
                })
            };
            let mut chain = parse(&file)?;
            chain.truncate(1);
            match crate::readpath::read_existing(&f9_path, Kind::Small)? {
                Some(_) => chain.extend(parse(&f9_path)?),
                None => {
                    return Err(Error::bad_input(format!(
                        "{}: no {F9_FILE} beside it",
                        crate::text::field(&label)
                    ))
                    .hint("each serial's folder holds its slot certificates and the device's f9 certificate"));
                }
            }
            out.push(Found {
                file: label,
                chain,
                serial: sub.parse().ok(),
            });
        }
    }
    Ok(out)
}

/// One key of a root and its attestation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyAttestation {
    pub keyid: String,
    pub roles: Vec<String>,
    /// Attested by a chain to a pinned root (whatever the policy says).
    pub attested: bool,
    /// The file that attests it, when one does.
    pub file: Option<String>,
    /// The verdict of that file (or of the last candidate tried).
    pub verdict: Option<Verdict>,
    /// Why the key falls short of the policy (checked for attested keys of required roles).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub below_policy: Vec<String>,
}

/// `verify --attestations DIR`, with what it requires.
#[derive(Clone, Debug)]
pub struct Check {
    pub dir: std::path::PathBuf,
    pub req: Requirements,
}

impl Check {
    /// From the command line: `roles` required (the root role when only a policy is given).
    pub fn of(dir: &Path, roles: &[String], policy: Option<&str>) -> Result<Check> {
        let policy = match policy {
            Some(p) => Policy::parse(p).map_err(|e| {
                Error::bad_input(format!("--policy: {e}"))
                    .hint("e.g. --policy pin=always,touch=always,firmware>=5.7")
            })?,
            None => Policy::default(),
        };
        let mut roles: Vec<String> = roles.iter().map(|r| r.trim().to_string()).collect();
        if roles.is_empty() && policy != Policy::default() {
            roles.push("root".into());
        }
        Ok(Check {
            dir: dir.to_path_buf(),
            req: Requirements { roles, policy },
        })
    }
}

/// What `verify --attestations` asks.
#[derive(Clone, Debug, Default)]
pub struct Requirements {
    pub roles: Vec<String>,
    pub policy: Policy,
}

/// Matches each key of a root — `(key ID, its roles, its public-key identity)` — to the
/// attestations `found`, by public key, verified against `anchors` as of `at`. Returns the
/// per-key report and, when `req` names roles, why they fall short (empty: they do not).
pub fn check(
    found: &[Found],
    keys: &[(String, Vec<String>, Vec<u8>)],
    anchors: &[Anchor],
    at: Timestamp,
    req: &Requirements,
) -> (Vec<KeyAttestation>, Vec<String>) {
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for (keyid, roles, identity) in keys {
        let mut ka = KeyAttestation {
            keyid: keyid.clone(),
            roles: roles.clone(),
            attested: false,
            file: None,
            verdict: None,
            below_policy: Vec::new(),
        };
        let candidates = found.iter().filter(|f| {
            f.chain
                .first()
                .and_then(attest::attested_key)
                .is_some_and(|k| &k.identity() == identity)
        });
        for f in candidates {
            let Some(pk) = f.chain.first().and_then(attest::attested_key) else {
                continue;
            };
            let v = attest::verify(&f.chain, anchors, &pk, f.serial, at);
            let valid = v.valid;
            ka.file = Some(f.file.clone());
            ka.verdict = Some(v);
            if valid {
                ka.attested = true;
                break;
            }
        }
        let required = roles.iter().any(|r| req.roles.contains(r));
        if required {
            let short = keyid.chars().take(12).collect::<String>();
            match (&ka.verdict, ka.attested) {
                (Some(v), true) => {
                    ka.below_policy = req.policy.shortfalls(v);
                    if !ka.below_policy.is_empty() {
                        failures.push(format!(
                            "key {short} ({}) does not meet the policy: {}",
                            roles.join(", "),
                            ka.below_policy.join("; ")
                        ));
                    }
                }
                (Some(v), false) => failures.push(format!(
                    "key {short} ({}) is not attested: {}",
                    roles.join(", "),
                    v.problems.join("; ")
                )),
                (None, _) => failures.push(format!(
                    "key {short} ({}) has no attestation in the folder",
                    roles.join(", ")
                )),
            }
        }
        report.push(ka);
    }
    (report, failures)
}

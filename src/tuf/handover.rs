//! The hand-over from Docker Content Trust to TUF 1.0: a statement, signed by a threshold of a
//! Notary root's root keys, that names the TUF root which follows it (by SHA-256 and length of
//! the file). A client that pinned the Notary root (Docker keeps it in
//! `~/.docker/trust/tuf/GUN/metadata/root.json`) can move to the TUF root with no new
//! out-of-band step, even once the Notary server is gone. Format: docs/formats.md.
//!
//! No I/O: the caller reads the three files.

use super::expiry::Timestamp;
use super::json::parse_strict;
use super::notary::{NotaryMetadata, NotarySignature, check_threshold, parse_expires};
use super::verify::ThresholdCheck;
use super::{Metadata, Root};
use crate::tuf::canonical::to_canonical;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `_type` of a hand-over statement.
pub const HANDOVER_TYPE: &str = "Handover";

/// One side of the hand-over: a root file named by its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootRef {
    /// "notary" or "tuf".
    pub format: String,
    pub version: u64,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    pub length: u64,
}

impl RootRef {
    pub fn of(format: &str, version: u64, file: &[u8]) -> RootRef {
        RootRef {
            format: format.into(),
            version,
            sha256: hex::encode(Sha256::digest(file)),
            length: file.len() as u64,
        }
    }

    fn matches(&self, file: &[u8]) -> bool {
        self.length == file.len() as u64 && self.sha256 == hex::encode(Sha256::digest(file))
    }
}

/// The signed part of a hand-over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    #[serde(rename = "_type")]
    pub type_: String,
    pub gun: String,
    /// RFC 3339; a client refuses the statement after this time.
    pub expires: String,
    pub from: RootRef,
    pub to: RootRef,
}

/// A hand-over file: `{"signed": HandoverBody, "signatures": [Notary signatures]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handover {
    pub signed: HandoverBody,
    pub signatures: Vec<NotarySignature>,
}

impl Handover {
    pub fn from_bytes(bytes: &[u8]) -> Result<Handover, String> {
        let v = parse_strict(bytes).map_err(|e| e.to_string())?;
        let h: Handover =
            serde_json::from_value(v).map_err(|e| format!("not a hand-over statement: {e}"))?;
        if h.signed.type_ != HANDOVER_TYPE {
            return Err(format!(
                "_type is {:?}, expected {HANDOVER_TYPE:?}",
                h.signed.type_
            ));
        }
        Ok(h)
    }

    /// The bytes the signatures cover: canonical JSON of `signed`.
    pub fn message(&self) -> Result<Vec<u8>, String> {
        let v = serde_json::to_value(&self.signed).map_err(|e| e.to_string())?;
        to_canonical(&v).map_err(|e| e.to_string())
    }

    pub fn to_file_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// The verdict on a hand-over.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HandoverCheck {
    pub gun: String,
    pub from_version: u64,
    pub to_version: u64,
    pub signatures: ThresholdCheck,
    pub valid: bool,
    /// Every reason it is refused.
    pub errors: Vec<String>,
}

/// Checks `handover` as a client that trusts `notary_root_file` would before it trusts
/// `tuf_root_file`: the statement names both files exactly, has not expired at `at`, is
/// signed by a threshold of the Notary root's root keys (distinct keys; their certificates
/// must name the GUN; an expired certificate still counts, as for a Notary rotation), and the
/// TUF root is signed by a threshold of its own root keys.
pub fn check(
    handover: &Handover,
    notary_root_file: &[u8],
    tuf_root_file: &[u8],
    at: Timestamp,
) -> HandoverCheck {
    let h = &handover.signed;
    let mut errors = Vec::new();
    let empty = |keys_of: &str| ThresholdCheck {
        keys_of: keys_of.into(),
        threshold: 0,
        counted: Vec::new(),
        notes: Vec::new(),
        met: false,
        unchecked: 0,
    };
    if h.from.format != "notary" || h.to.format != "tuf" {
        errors.push(format!(
            "the statement hands over from {:?} to {:?}; rootcellar reads notary → tuf",
            h.from.format, h.to.format
        ));
    }
    if !h.from.matches(notary_root_file) {
        errors.push(
            "the Notary root given is not the one the statement names (SHA-256 or length differ)"
                .into(),
        );
    }
    if !h.to.matches(tuf_root_file) {
        errors.push(
            "the TUF root given is not the one the statement names (SHA-256 or length differ)"
                .into(),
        );
    }
    match parse_expires(&h.expires) {
        Ok(e) if e <= at => errors.push(format!("the statement expired on {}", h.expires)),
        Ok(_) => {}
        Err(e) => errors.push(e),
    }
    let signatures = match (
        NotaryMetadata::from_bytes(notary_root_file),
        handover.message(),
    ) {
        (Ok(root), Ok(message)) => {
            if root.signed.version != h.from.version {
                errors.push(format!(
                    "the statement names Notary root version {}, the file holds {}",
                    h.from.version, root.signed.version
                ));
            }
            match root.signed.roles.get("root") {
                Some(role) => check_threshold(
                    &format!("notary root v{}", root.signed.version),
                    &handover.signatures,
                    &message,
                    &root.signed.keys,
                    role,
                    None,
                    Some(&h.gun),
                ),
                None => {
                    errors.push("the Notary root has no root role".into());
                    empty("notary root")
                }
            }
        }
        (Err(e), _) => {
            errors.push(format!("the Notary root does not parse: {e}"));
            empty("notary root")
        }
        (_, Err(e)) => {
            errors.push(e);
            empty("notary root")
        }
    };
    if !signatures.met {
        errors.push(format!(
            "the statement has {} of the {} signatures it needs from the Notary root's keys",
            signatures.count(),
            signatures.threshold
        ));
    }
    match Metadata::<Root>::from_bytes(tuf_root_file) {
        Ok(tuf) => {
            if tuf.signed.version != h.to.version {
                errors.push(format!(
                    "the statement names TUF root version {}, the file holds {}",
                    h.to.version, tuf.signed.version
                ));
            }
            if let Some(f) = super::verify::verify_chain(&tuf, &[], at).failure {
                errors.push(format!("the TUF root does not verify: {f}"));
            }
        }
        Err(e) => errors.push(format!("the TUF root does not parse: {e}")),
    }
    HandoverCheck {
        gun: h.gun.clone(),
        from_version: h.from.version,
        to_version: h.to.version,
        signatures,
        valid: errors.is_empty(),
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::notary::{certificate_key, signature};
    use crate::signer::Signer;
    use crate::signer::notary_cert::root_certificate;
    use crate::signer::software::SoftwareKey;
    use crate::tuf::Algorithm;
    use crate::tuf::expiry::parse_tuf_time;
    use proptest::prelude::*;

    const GUN: &str = "docker.io/example/app";
    const TUF: &[u8] = include_bytes!("../../tests/data/tuf/chain/1.root.json");

    fn at() -> Timestamp {
        parse_tuf_time("2026-01-01T00:00:00Z").unwrap()
    }

    /// A Notary root with three certificate root keys, threshold 2, and its keys.
    fn notary_root() -> (Vec<u8>, Vec<(String, SoftwareKey)>) {
        let from = parse_tuf_time("2025-06-01T00:00:00Z").unwrap();
        let to = parse_tuf_time("2030-06-01T00:00:00Z").unwrap();
        let mut keys = serde_json::Map::new();
        let mut signers = Vec::new();
        for _ in 0..3 {
            let k =
                SoftwareKey::generate(Algorithm::EcdsaP256, crate::tuf::key::RsaScheme::DEFAULT)
                    .unwrap();
            let nk = certificate_key(&root_certificate(&k, GUN, from, to).unwrap());
            let id = nk.keyid();
            keys.insert(id.clone(), serde_json::to_value(&nk).unwrap());
            signers.push((id, k));
        }
        let ids: Vec<&String> = signers.iter().map(|(i, _)| i).collect();
        let one = |id: &String| serde_json::json!({"keyids": [id], "threshold": 1});
        let signed = serde_json::json!({
            "_type": "Root", "consistent_snapshot": false, "expires": "2030-01-01T00:00:00Z",
            "keys": keys, "version": 4,
            "roles": {"root": {"keyids": ids, "threshold": 2}, "targets": one(ids[0]),
                      "snapshot": one(ids[0]), "timestamp": one(ids[0])},
        });
        let msg = to_canonical(&signed).unwrap();
        let sigs: Vec<_> = signers
            .iter()
            .map(|(id, k)| signature(id, k.public_key(), &k.sign(&msg).unwrap()).unwrap())
            .collect();
        let file =
            serde_json::to_vec(&serde_json::json!({"signed": signed, "signatures": sigs})).unwrap();
        (file, signers)
    }

    fn statement(notary: &[u8]) -> Handover {
        Handover {
            signed: HandoverBody {
                type_: HANDOVER_TYPE.into(),
                gun: GUN.into(),
                expires: "2027-01-01T00:00:00Z".into(),
                from: RootRef::of("notary", 4, notary),
                to: RootRef::of("tuf", 1, TUF),
            },
            signatures: Vec::new(),
        }
    }

    fn signed_by(h: &mut Handover, signers: &[&(String, SoftwareKey)]) {
        let m = h.message().unwrap();
        for (id, k) in signers {
            h.signatures
                .push(signature(id, k.public_key(), &k.sign(&m).unwrap()).unwrap());
        }
    }

    #[test]
    fn a_threshold_of_the_notary_root_keys_hands_over_and_nothing_else_does() {
        let (notary, keys) = notary_root();
        let mut h = statement(&notary);
        signed_by(&mut h, &[&keys[0], &keys[2]]);
        let back = Handover::from_bytes(&h.to_file_bytes()).unwrap();
        let c = check(&back, &notary, TUF, at());
        assert!(c.valid, "{c:?}");
        assert_eq!(c.signatures.count(), 2);
        // Past its expiry.
        let late = parse_tuf_time("2027-01-02T00:00:00Z").unwrap();
        assert!(!check(&back, &notary, TUF, late).valid);
        // Another TUF root, or another Notary root, than the statement names.
        let other = include_bytes!("../../tests/data/tuf/chain/2.root.json");
        let c = check(&back, &notary, other, at());
        assert!(
            c.errors.iter().any(|e| e.contains("TUF root given")),
            "{c:?}"
        );
        let (notary2, _) = notary_root();
        assert!(!check(&back, &notary2, TUF, at()).valid);
        // A changed statement: its signatures no longer count.
        let mut changed = back.clone();
        changed.signed.to.length += 1;
        let c = check(&changed, &notary, TUF, at());
        assert_eq!(c.signatures.count(), 0, "{c:?}");
        // Another GUN: the certificates do not name it.
        let mut gun = statement(&notary);
        gun.signed.gun = "docker.io/example/other".into();
        signed_by(&mut gun, &[&keys[0], &keys[1]]);
        assert!(!check(&gun, &notary, TUF, at()).signatures.met);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Signatures count once per distinct root key, however often and under whatever
        /// order they appear.
        #[test]
        fn the_threshold_counts_distinct_keys(picks in proptest::collection::vec(0usize..3, 0..6)) {
            let (notary, keys) = notary_root();
            let mut h = statement(&notary);
            let chosen: Vec<&(String, SoftwareKey)> = picks.iter().map(|i| &keys[*i]).collect();
            signed_by(&mut h, &chosen);
            let distinct = picks.iter().collect::<std::collections::BTreeSet<_>>().len();
            let c = check(&h, &notary, TUF, at());
            prop_assert_eq!(c.signatures.count(), distinct);
            prop_assert_eq!(c.valid, distinct >= 2);
        }
    }

    #[test]
    fn a_statement_with_unknown_fields_or_another_type_is_refused() {
        let (notary, _) = notary_root();
        let h = statement(&notary);
        let mut v = serde_json::to_value(&h).unwrap();
        v["signed"]["extra"] = serde_json::json!(1);
        assert!(Handover::from_bytes(&serde_json::to_vec(&v).unwrap()).is_err());
        let mut v = serde_json::to_value(&h).unwrap();
        v["signed"]["_type"] = serde_json::json!("Root");
        assert!(
            Handover::from_bytes(&serde_json::to_vec(&v).unwrap())
                .unwrap_err()
                .contains("expected \"Handover\"")
        );
    }
}

//! What operations return, the same in both dialects: the CLI prints these (or their JSON), the
//! ceremony screen shows them. Fields that only one dialect fills are left out of the JSON when
//! empty.

use crate::dialect::{Doc, Holders};
use crate::tuf::RoleKeys;
use crate::tuf::verify::ThresholdCheck;
use crate::workspace::KeyRecord;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub use crate::dialect::RoleSummary;
pub use crate::dialect::notary::StageReport;

/// Digest for reading aloud: four groups of four hex digits.
pub fn read_aloud(digest: &str) -> String {
    let d: Vec<char> = digest.chars().take(16).collect();
    d.chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Who has signed the staged root, and who still must.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Status {
    pub version: u64,
    /// Threshold of the previous version's root keys (absent for version 1).
    pub by_previous: Option<ThresholdCheck>,
    /// Threshold of this version's own root keys.
    pub by_self: ThresholdCheck,
    /// Root keys (by name where known) that have not signed and could still help.
    pub can_still_sign: Vec<String>,
    /// The same keys by key ID, in the same order.
    pub can_still_sign_keyids: Vec<String>,
    /// Key ID → keyholder name, for every key ID above whose key this workspace has a record
    /// of (matched by public key).
    pub names: std::collections::BTreeMap<String, String>,
    pub problems: Vec<String>,
    pub publishable: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct KeyView {
    pub keyid: String,
    pub name: Option<String>,
    pub algorithm: String,
    pub fingerprint: String,
    pub backend: Option<String>,
    pub roles: Vec<String>,
    /// Other key IDs in this root that name the same public key: one key, shown once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// YubiKey keys: the attestation verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RoleView {
    pub role: String,
    pub threshold: u64,
    pub keys: Vec<String>,
    /// How many distinct public keys the role lists (key IDs naming one key count once):
    /// rootcellar counts signatures by distinct keys.
    pub distinct_keys: usize,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SigView {
    pub keyid: String,
    pub name: Option<String>,
    pub valid: bool,
    pub problem: Option<String>,
}

/// A root as `root show` prints it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RootView {
    /// "staged" or "published".
    pub source: String,
    pub version: u64,
    pub spec_version: String,
    pub expires: String,
    pub consistent_snapshot: Option<bool>,
    /// SHA-256 of the canonical bytes of `signed`: keyholders read the first groups aloud.
    pub digest: String,
    pub keys: Vec<KeyView>,
    pub roles: Vec<RoleView>,
    pub signatures: Vec<SigView>,
    pub status: Option<Status>,
}

/// What a staging verb staged: the root as `root show` prints it, and, where certificates
/// were made for it (Notary), what happened to each root key's certificate. As JSON, `rotate`,
/// `revoke`, `refresh` and `notary root` give the certificates' report where there is one,
/// else the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Staged {
    pub view: RootView,
    pub certificates: Option<StageReport>,
}

impl Serialize for Staged {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.certificates {
            Some(r) => r.serialize(s),
            None => self.view.serialize(s),
        }
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct KeyChange {
    pub keyid: String,
    pub name: String,
    pub fingerprint: String,
    pub roles: Vec<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RoleChange {
    pub role: String,
    pub threshold_before: Option<u64>,
    pub threshold_after: u64,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// What changes from version N to N+1, in words.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RootDiff {
    pub from_version: Option<u64>,
    pub to_version: u64,
    pub expires_before: Option<String>,
    pub expires_after: String,
    pub keys_added: Vec<KeyChange>,
    pub keys_removed: Vec<KeyChange>,
    pub roles: Vec<RoleChange>,
    /// SHA-256 of the canonical bytes of the new version's `signed`.
    pub digest: String,
    pub read_aloud: String,
    /// Keys that stay but under a new key ID (a Notary key with a new certificate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renewed: Vec<String>,
    /// Why this is not a diff against a root this workspace vouches for (a request whose
    /// previous version nothing here verifies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverified: Option<String>,
}

impl RootDiff {
    /// The changes in short lines, as the ceremony screen shows them.
    pub fn lines(&self) -> Vec<String> {
        let mut diff = Vec::new();
        if let Some(b) = &self.expires_before
            && b != &self.expires_after
        {
            diff.push(format!("expiry: {b} → {}", self.expires_after));
        }
        for k in &self.keys_added {
            diff.push(format!(
                "+ key {} ({}) in {}",
                k.name,
                k.fingerprint,
                k.roles.join(", ")
            ));
        }
        for k in &self.keys_removed {
            diff.push(format!("- key {} ({})", k.name, k.fingerprint));
        }
        for n in &self.renewed {
            diff.push(format!("~ key {n}: new certificate (new key ID)"));
        }
        for r in &self.roles {
            if r.threshold_before != Some(r.threshold_after) {
                diff.push(format!(
                    "{} threshold {} → {}",
                    r.role,
                    r.threshold_before
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "-".into()),
                    r.threshold_after
                ));
            }
            // A key that moves between roles is no added or removed key: said per role.
            let moved = |names: &[String], keys: &[KeyChange]| -> Vec<String> {
                names
                    .iter()
                    .filter(|n| !keys.iter().any(|k| &k.name == *n))
                    .cloned()
                    .collect()
            };
            let added = moved(&r.added, &self.keys_added);
            if r.threshold_before.is_some() && !added.is_empty() {
                diff.push(format!("{} role adds {}", r.role, added.join(", ")));
            }
            let removed = moved(&r.removed, &self.keys_removed);
            if !removed.is_empty() {
                diff.push(format!("{} role removes {}", r.role, removed.join(", ")));
            }
        }
        if diff.is_empty() {
            diff.push("keys and thresholds unchanged".into());
        }
        if let Some(u) = &self.unverified {
            diff.insert(0, u.clone());
        }
        diff
    }
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PublishedState {
    pub version: u64,
    pub expires: String,
    pub days_left: i64,
}

/// `rootcellar status`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CeremonyStatus {
    pub published: Option<PublishedState>,
    pub staged: Option<Status>,
    pub staged_digest: Option<String>,
    pub warnings: Vec<String>,
}

/// What `sign` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SignReport {
    pub version: u64,
    /// Names of the keys that signed now.
    pub signed_by: Vec<String>,
    pub status: Status,
}

/// What `publish` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PublishReport {
    pub version: u64,
    pub expires: String,
    pub files: Vec<PathBuf>,
    pub digest: String,
    /// The key that sealed the transcript, if one did.
    pub sealed_by: Option<String>,
}

/// What `sign --file` / `sign --detached` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SignRequestReport {
    pub version: u64,
    pub digest: String,
    pub signed_by: Vec<String>,
    /// Where the result was written: the request file, or the detached signature.
    pub written: PathBuf,
}

/// What `merge` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MergeReport {
    pub version: u64,
    pub digest: String,
    /// Keys whose signatures were added now.
    pub added: Vec<String>,
    /// Keys whose signature was already there (kept once).
    pub already: Vec<String>,
    pub written: PathBuf,
    /// Who has signed and who still must (merges into the staged root).
    pub status: Option<Status>,
}

/// What a `delegate` command published.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TargetsReport {
    pub version: u64,
    pub expires: String,
    pub roles: Vec<RoleSummary>,
    pub signed_by: Vec<String>,
    pub files: Vec<PathBuf>,
}

/// One key's answer in `drill`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DrillResult {
    pub name: String,
    pub keyid: String,
    pub ok: bool,
    pub problem: Option<String>,
}

/// A key as commands report it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct KeyInfo {
    pub name: String,
    pub keyid: String,
    pub algorithm: String,
    pub backend: String,
    pub fingerprint: String,
    pub created_at: String,
    /// YubiKey keys: the attestation verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Keys whose private half was destroyed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destroyed_at: Option<String>,
}

impl KeyInfo {
    pub fn of(rec: &KeyRecord) -> KeyInfo {
        KeyInfo {
            name: rec.name.clone(),
            keyid: rec.keyid.clone(),
            algorithm: rec.algorithm.name().into(),
            backend: rec.backend.name().into(),
            fingerprint: rec
                .key
                .decode()
                .map(|k| k.fingerprint())
                .unwrap_or_default(),
            created_at: rec.created_at.clone(),
            attestation: None,
            destroyed_at: rec.destroyed_at.clone(),
        }
    }
}

/// What `next` changes from `prev`, keys compared by public key (pure; `holders` names the keys
/// from the workspace). Keys and role members are listed in key-ID order.
pub fn diff(holders: &Holders, prev: Option<&Doc>, next: &Doc) -> RootDiff {
    let identities = |m: &Doc| -> Vec<(String, Vec<u8>)> {
        m.key_ids()
            .into_iter()
            .map(|id| (id.clone(), m.material(id)))
            .collect()
    };
    let now = identities(next);
    let before = prev.map(identities).unwrap_or_default();
    let has = |list: &[(String, Vec<u8>)], i: &[u8]| list.iter().any(|(_, x)| x == i);
    let change = |m: &Doc, id: &str| KeyChange {
        keyid: id.to_string(),
        name: holders.label(m, id),
        fingerprint: m.fingerprint(id),
        roles: m.roles_of_id(id),
    };
    let keys_added = now
        .iter()
        .filter(|(_, i)| !has(&before, i))
        .map(|(id, _)| change(next, id))
        .collect();
    let keys_removed = match prev {
        Some(p) => before
            .iter()
            .filter(|(_, i)| !has(&now, i))
            .map(|(id, _)| change(p, id))
            .collect(),
        None => Vec::new(),
    };
    // Keys under a new key ID, in the order the roles list them.
    let mut renewed = Vec::new();
    let listed = next.roles().values().flat_map(|r| r.keyids.iter());
    for (id, i) in listed.filter_map(|id| now.iter().find(|(x, _)| x == id)) {
        if before.iter().any(|(x, y)| y == i && x != id) {
            let n = holders.label(next, id);
            if !renewed.contains(&n) {
                renewed.push(n);
            }
        }
    }
    let members = |m: &Doc, r: &RoleKeys| -> Vec<(String, Vec<u8>)> {
        let ids: BTreeSet<&String> = r.keyids.iter().collect();
        ids.into_iter()
            .map(|id| (id.clone(), m.material(id)))
            .collect()
    };
    let mut roles = Vec::new();
    for (name, r) in next.roles() {
        let old = prev.and_then(|p| p.role(name).map(|o| (p, o)));
        let new_ids = members(next, r);
        let old_ids = old.map(|(p, o)| members(p, o)).unwrap_or_default();
        let added: Vec<String> = new_ids
            .iter()
            .filter(|(_, i)| !has(&old_ids, i))
            .map(|(id, _)| holders.label(next, id))
            .collect();
        let removed: Vec<String> = match old {
            Some((p, _)) => old_ids
                .iter()
                .filter(|(_, i)| !has(&new_ids, i))
                .map(|(id, _)| holders.label(p, id))
                .collect(),
            None => Vec::new(),
        };
        let before_t = old.map(|(_, o)| o.threshold);
        if before_t != Some(r.threshold) || !added.is_empty() || !removed.is_empty() {
            roles.push(RoleChange {
                role: name.clone(),
                threshold_before: before_t,
                threshold_after: r.threshold,
                added,
                removed,
            });
        }
    }
    // A role the next version no longer has.
    for (p, (name, o)) in prev
        .into_iter()
        .flat_map(|p| p.roles().iter().map(move |r| (p, r)))
    {
        if next.role(name).is_none() {
            roles.push(RoleChange {
                role: name.clone(),
                threshold_before: Some(o.threshold),
                threshold_after: 0,
                added: Vec::new(),
                removed: members(p, o)
                    .iter()
                    .map(|(id, _)| holders.label(p, id))
                    .collect(),
            });
        }
    }
    let digest = next.digest();
    RootDiff {
        from_version: prev.map(|p| p.version()),
        to_version: next.version(),
        expires_before: prev.map(|p| p.expires().to_string()),
        expires_after: next.expires().to_string(),
        keys_added,
        keys_removed,
        roles,
        read_aloud: read_aloud(&digest),
        digest,
        renewed,
        unverified: None,
    }
}

/// `key attest`, `key attestation add`: a key's attestation verdict.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AttestReport {
    pub name: String,
    pub keyid: String,
    pub verdict: crate::signer::attest::Verdict,
}

/// A YubiKey PIN, PUK or management-key operation, done.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DeviceReport {
    pub serial: u32,
    pub done: String,
}

/// `yubikey set-management-key`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MgmReport {
    pub serial: u32,
    /// "pin-protected" (stored on the device, readable after the PIN) or "printed" (shown once).
    pub stored: String,
    /// The new key in hex, only when printed.
    pub printed_key: Option<String>,
}

/// `key export-public`: a key's public half in the forms online tools read.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PublicExport {
    pub name: String,
    pub keyid: String,
    /// The TUF key object (python-tuf's `Key.from_dict`, securesystemslib's JSON).
    pub key: crate::tuf::Key,
    /// PEM SubjectPublicKeyInfo.
    pub pem: String,
}

impl PublicExport {
    pub fn of(rec: &KeyRecord) -> crate::error::Result<PublicExport> {
        Ok(PublicExport {
            name: rec.name.clone(),
            keyid: rec.keyid.clone(),
            key: rec.key.clone(),
            pem: rec.public_key()?.to_spki_pem(),
        })
    }
}

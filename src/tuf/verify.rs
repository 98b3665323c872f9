//! Verification as a TUF client does it.
//!
//! Invariants: a threshold is met by distinct *public keys* (not key IDs, not signature entries)
//! that are listed for the role, each under the key ID it is listed under (a key ID is a label,
//! as python-tuf, go-tuf and tuf-js take it; one that is not the hash of its key object is noted,
//! and refused only with [`keyid_mismatches`] by callers that check as tough does); a signature that is
//! empty, malformed or wrong counts for nothing and does not fail the file by itself; root N+1
//! needs a threshold of N's root keys and of its own, and versions go up by exactly one; expiry is
//! checked on the last root of a chain only, as of a time passed in.

use super::expiry::{Timestamp, format_tuf_time};
use super::key::Key;
use super::key::PublicKey;
use super::metadata::{Metadata, RoleKeys, Root};
use super::sig::{SigError, Signature, verify};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How one role's threshold fared over one document.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ThresholdCheck {
    /// Whose keys were used, e.g. "root v3" (the keys of version 3's root role).
    pub keys_of: String,
    pub threshold: u64,
    /// Key IDs whose signatures verified, one per distinct public key.
    pub counted: Vec<String>,
    /// Why other signatures or keys counted for nothing.
    pub notes: Vec<String>,
    pub met: bool,
    /// Signatures by usable keys left unchecked because the count stopped at its threshold
    /// (`verify --all-signatures` checks them all).
    #[serde(skip_serializing_if = "is_zero")]
    pub unchecked: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ThresholdCheck {
    pub fn count(&self) -> usize {
        self.counted.len()
    }
}

/// The usable keys of a role: listed, present in `keys`, hashing to their key ID, decodable;
/// one public key under several IDs is noted (it counts once). Built once per root and role, and
/// reused when the same root is checked again (as the previous version of the next root).
#[derive(Clone, Debug)]
pub struct RoleKeySet {
    /// Key ID → the key and its identity ([`PublicKey::identity`]).
    usable: BTreeMap<String, (PublicKey, Vec<u8>)>,
    threshold: u64,
    notes: Vec<String>,
}

/// A signature entry once checked: the signer's public-key identity and the result.
pub type Checked = (Vec<u8>, Result<(), SigError>);

/// A key object's hash (its true key ID) and its decoding.
type Decoded = (String, Result<PublicKey, String>);

fn decode_key(key: &Key) -> Decoded {
    (key.keyid(), key.decode().map_err(|e| e.to_string()))
}

impl RoleKeySet {
    pub fn new(keys: &BTreeMap<String, Key>, role: &RoleKeys) -> RoleKeySet {
        RoleKeySet::with(keys, role, &|_, k| decode_key(k))
    }

    /// As [`RoleKeySet::new`], with `decoded(listed_id, key)` giving each key's hash and
    /// decoding (a chain decodes each distinct key object once).
    fn with(
        keys: &BTreeMap<String, Key>,
        role: &RoleKeys,
        decoded: &(dyn Fn(&str, &Key) -> Decoded + Sync),
    ) -> RoleKeySet {
        let mut notes = Vec::new();
        let mut usable = BTreeMap::new();
        let mut by_identity: BTreeMap<Vec<u8>, String> = BTreeMap::new();
        for keyid in role.keyids.iter().collect::<BTreeSet<_>>() {
            let Some(key) = keys.get(keyid) else {
                notes.push(format!(
                    "key {} is listed for the role but not in keys",
                    short(keyid)
                ));
                continue;
            };
            let (actual, pk) = decoded(keyid, key);
            if &actual != keyid {
                notes.push(keyid_note(keyid, &actual));
            }
            match pk {
                Ok(pk) => {
                    let identity = pk.identity();
                    if let Some(first) = by_identity.get(&identity) {
                        notes.push(format!(
                            "keys {} and {} are the same public key: it counts once",
                            short(first),
                            short(keyid)
                        ));
                    } else {
                        by_identity.insert(identity.clone(), keyid.clone());
                    }
                    usable.insert(keyid.clone(), (pk, identity));
                }
                Err(e) => notes.push(format!("key {}: {e}: it counts for nothing", short(keyid))),
            }
        }
        RoleKeySet {
            usable,
            threshold: role.threshold,
            notes,
        }
    }

    /// Counts the signatures of `canonical` by distinct keys of the set. With `until_met`, stops
    /// once the threshold is met (the signatures after it are not checked), taking first the
    /// signatures already checked, then the cheapest to check, among equals those that `shared`
    /// (the other role checked over the same root) can count too; the verdict is the same in any order, only which signers are named
    /// changes. `cache` holds, per signature entry, the signer's public-key identity and the
    /// result: a signature checked for one role is not checked again for another role of the
    /// same root when the key is the same (a key ID listed with another key is checked again).
    pub fn count(
        &self,
        keys_of: &str,
        canonical: &[u8],
        signatures: &[Signature],
        until_met: bool,
        shared: Option<&RoleKeySet>,
        cache: &mut [Option<Checked>],
    ) -> ThresholdCheck {
        let mut order: Vec<usize> = (0..signatures.len()).collect();
        if until_met {
            order.sort_by_cached_key(|&i| {
                let keyid = &signatures[i].keyid;
                match self.usable.get(keyid) {
                    None => (u8::MAX, true),
                    Some((pk, identity)) => {
                        let known = matches!(cache.get(i), Some(Some((who, _))) if who == identity);
                        let both = shared
                            .and_then(|o| o.usable.get(keyid))
                            .is_some_and(|(_, other)| other == identity);
                        (if known { 0 } else { pk.verify_cost() }, !both)
                    }
                }
            });
        }
        let usable = signatures
            .iter()
            .filter(|s| self.usable.contains_key(&s.keyid))
            .count();
        let seen = std::cell::Cell::new(0usize);
        let checked = order.into_iter().map(|i| {
            let s = &signatures[i];
            if self.usable.contains_key(&s.keyid) {
                seen.set(seen.get() + 1);
            }
            let checked = self.usable.get(&s.keyid).map(|(pk, identity)| {
                let result = match cache.get(i) {
                    Some(Some((who, r))) if who == identity => r.clone(),
                    _ => {
                        let r = verify(pk, canonical, &s.sig);
                        if let Some(slot) = cache.get_mut(i) {
                            *slot = Some((identity.clone(), r.clone()));
                        }
                        r
                    }
                };
                result.map(|()| identity.clone()).map_err(|e| e.to_string())
            });
            (s.keyid.as_str(), checked)
        });
        let mut notes = self.notes.clone();
        let (counted, met) = tally(self.threshold, until_met, checked, &mut notes);
        ThresholdCheck {
            keys_of: keys_of.to_string(),
            threshold: self.threshold,
            counted,
            notes,
            met,
            unchecked: usable.saturating_sub(seen.get()),
        }
    }
}

/// The one threshold count of TUF and Notary metadata: over `checked` signatures in file order
/// — (key ID, `None` when the key ID is not a usable key of the role, else the signature's
/// verdict with the signer's public-key identity) — counts distinct public keys, never entries.
/// With `until_met`, stops taking signatures once the threshold is met (the iterator is lazy, so
/// the rest are not verified). Returns the key IDs counted and whether the threshold is met;
/// why other signatures counted for nothing goes into `notes`.
pub fn tally<'a>(
    threshold: u64,
    until_met: bool,
    checked: impl Iterator<Item = (&'a str, Option<Result<Vec<u8>, String>>)>,
    notes: &mut Vec<String>,
) -> (Vec<String>, bool) {
    let mut seen = BTreeSet::new();
    let mut counted = Vec::new();
    let met = |n: usize| threshold >= 1 && n as u64 >= threshold;
    for (keyid, verdict) in checked {
        match verdict {
            None => {}
            Some(Ok(identity)) => {
                if seen.insert(identity) {
                    counted.push(keyid.to_string());
                } else {
                    notes.push(format!(
                        "another signature by key {} (or the same public key under another ID) counts once",
                        short(keyid)
                    ));
                }
            }
            Some(Err(e)) => notes.push(format!("signature by {}: {e}", short(keyid))),
        }
        if until_met && met(counted.len()) {
            break;
        }
    }
    let is_met = met(counted.len());
    (counted, is_met)
}

/// Counts the valid signatures over `canonical` by distinct keys of `role`, every signature
/// checked (so that a report can name every signer).
pub fn check_threshold(
    keys_of: &str,
    canonical: &[u8],
    signatures: &[Signature],
    keys: &BTreeMap<String, Key>,
    role: &RoleKeys,
) -> ThresholdCheck {
    let mut cache = vec![None; signatures.len()];
    RoleKeySet::new(keys, role).count(keys_of, canonical, signatures, false, None, &mut cache)
}

fn keyid_note(keyid: &str, actual: &str) -> String {
    format!(
        "key ID {} is not the SHA-256 of its key object ({}): a label here, as python-tuf and go-tuf take it, but tough-based clients refuse such a root",
        short(keyid),
        short(actual)
    )
}

/// The key IDs of `root` that are not the SHA-256 of their key object's canonical JSON (the
/// whole object, as tough computes it): `(key ID, the hash)`.
pub fn keyid_mismatches(root: &Root) -> Vec<(String, String)> {
    root.keys
        .iter()
        .filter_map(|(id, k)| {
            let actual = k.keyid();
            (&actual != id).then(|| (id.clone(), actual))
        })
        .collect()
}

/// Over a history, each key ID that is not the SHA-256 of its key object (tough refuses such
/// roots), once per key object: `(version first listing it, key ID, the hash)`. A chain lists
/// the same key objects version after version; each distinct one is hashed once, in parallel.
pub fn keyid_mismatches_in(roots: &[&Root]) -> Vec<(u64, String, String)> {
    use rayon::prelude::*;
    let mut seen: BTreeMap<&str, Vec<&Key>> = BTreeMap::new();
    let mut first = Vec::new();
    for root in roots {
        for (id, k) in &root.keys {
            let objects = seen.entry(id.as_str()).or_default();
            if !objects.contains(&k) {
                objects.push(k);
                first.push((root.version, id, k));
            }
        }
    }
    first
        .par_iter()
        .filter_map(|(v, id, k)| {
            let actual = k.keyid();
            (&actual != *id).then(|| (*v, (*id).clone(), actual))
        })
        .collect()
}

/// What `verify` says of the key IDs [`keyid_mismatches_in`] found: with `strict` (as tough
/// checks), the first one fails the chain; else each is a warning.
pub fn keyid_notes(
    mismatches: &[(u64, String, String)],
    strict: bool,
) -> (Option<String>, Vec<String>) {
    let what = |(version, id, actual): &(u64, String, String)| {
        format!(
            "version {version} lists key ID {} that is not the SHA-256 of its key object ({})",
            id.chars().take(16).collect::<String>(),
            actual.get(..16).unwrap_or(actual)
        )
    };
    if strict {
        let failure = (mismatches.first())
            .map(|m| format!("{}: tough-based clients refuse this root", what(m)));
        return (failure, Vec::new());
    }
    let warnings = mismatches.iter().map(|m| format!(
        "{}: python-tuf and go-tuf take it as a label, tough-based clients refuse the root (--strict-keyids checks as tough does)",
        what(m)
    ));
    (None, warnings.collect())
}

fn short(keyid: &str) -> String {
    keyid.chars().take(12).collect()
}

/// The verdict on one root of a chain.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RootCheck {
    pub version: u64,
    pub expires: String,
    /// Signed by a threshold of the previous version's root keys (absent for the trust anchor).
    pub by_previous: Option<ThresholdCheck>,
    /// Signed by a threshold of its own root keys.
    pub by_self: ThresholdCheck,
    /// Why this root is refused; empty when it is accepted.
    pub errors: Vec<String>,
}

/// The verdict on a chain: trust anchor, then each update in order.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ChainCheck {
    pub at: String,
    pub roots: Vec<RootCheck>,
    pub valid: bool,
    /// The first reason the chain is refused.
    pub failure: Option<String>,
}

fn root_role_set(
    md: &Metadata<Root>,
    decoded: &(dyn Fn(&str, &Key) -> Decoded + Sync),
) -> RoleKeySet {
    let role = md
        .signed
        .role("root")
        .cloned()
        .unwrap_or_else(|| RoleKeys::new(vec![], 1));
    RoleKeySet::with(&md.signed.keys, &role, decoded)
}

/// Checks root `md` (whose root role is `own`) against the previous accepted root and its root
/// role, stopping each count once its threshold is met; a signature is checked at most once.
fn root_check(
    md: &Metadata<Root>,
    own: &RoleKeySet,
    previous: Option<(&Metadata<Root>, &RoleKeySet)>,
    every: bool,
) -> RootCheck {
    let v = md.signed.version;
    let mut errors = Vec::new();
    let mut cache = vec![None; md.signatures.len()];
    let by_previous = previous.map(|(prev, set)| {
        if prev.signed.version.checked_add(1) != Some(v) {
            errors.push(format!(
                "version {v} follows version {}: root versions must go up by exactly one (a skipped, repeated or rolled-back version)",
                prev.signed.version
            ));
        }
        let c = set.count(
            &format!("root v{}", prev.signed.version),
            md.canonical_signed(),
            &md.signatures,
            !every,
            Some(own),
            &mut cache,
        );
        if !c.met {
            errors.push(format!(
                "version {v} has {} of the {} signatures it needs from version {}'s root keys",
                c.count(),
                c.threshold,
                prev.signed.version
            ));
        }
        c
    });
    let by_self = own.count(
        &format!("root v{v}"),
        md.canonical_signed(),
        &md.signatures,
        !every,
        previous.map(|(_, set)| set),
        &mut cache,
    );
    if !by_self.met {
        errors.push(format!(
            "version {v} has {} of the {} signatures it needs from its own root keys",
            by_self.count(),
            by_self.threshold
        ));
    }
    RootCheck {
        version: v,
        expires: md.signed.expires.clone(),
        by_previous,
        by_self,
        errors,
    }
}

/// Verifies `trusted` (a threshold of its own keys), then each of `updates` in order, then the
/// expiry of the last one as of `at`. Stops at the first root that fails, as a client would.
///
/// Each root's keys are decoded once; the roots are checked in parallel (each against the one
/// before it, which is what the walk compares when every earlier root passed), then walked in
/// order, so the verdict and the first failure are those of a sequential client.
pub fn verify_chain(
    trusted: &Metadata<Root>,
    updates: &[Metadata<Root>],
    at: Timestamp,
) -> ChainCheck {
    verify_chain_of(trusted, updates, at, false)
}

/// As [`verify_chain`], over owned roots or references to them. With `every`, each count
/// checks every signature (so that a report names every valid signer) instead of stopping at
/// its threshold; the verdict is the same.
pub fn verify_chain_of<M: std::borrow::Borrow<Metadata<Root>> + Sync>(
    trusted: &Metadata<Root>,
    updates: &[M],
    at: Timestamp,
    every: bool,
) -> ChainCheck {
    use rayon::prelude::*;
    let get = |i: usize| {
        if i == 0 {
            trusted
        } else {
            updates[i - 1].borrow()
        }
    };
    let n = 1 + updates.len();
    // Consecutive roots share most keys: hash and decode each distinct key object once. Only
    // the very same key object (listed under the same ID) reuses a result.
    let mut distinct: BTreeMap<&str, Vec<&Key>> = BTreeMap::new();
    for i in 0..n {
        let md = get(i);
        for id in md
            .signed
            .role("root")
            .map_or(&[][..], |r| r.keyids.as_slice())
        {
            if let Some(k) = md.signed.keys.get(id) {
                let v = distinct.entry(id.as_str()).or_default();
                if !v.contains(&k) {
                    v.push(k);
                }
            }
        }
    }
    let flat: Vec<(&str, &Key)> = distinct
        .iter()
        .flat_map(|(id, ks)| ks.iter().map(move |k| (*id, *k)))
        .collect();
    let done: Vec<Decoded> = flat.par_iter().map(|(_, k)| decode_key(k)).collect();
    let mut table: BTreeMap<&str, Vec<(&Key, &Decoded)>> = BTreeMap::new();
    for ((id, k), d) in flat.iter().zip(&done) {
        table.entry(*id).or_default().push((*k, d));
    }
    let lookup = |id: &str, k: &Key| -> Decoded {
        table
            .get(id)
            .and_then(|v| v.iter().find(|(t, _)| *t == k))
            .map(|(_, d)| (*d).clone())
            .unwrap_or_else(|| decode_key(k))
    };
    let sets: Vec<RoleKeySet> = (0..n)
        .into_par_iter()
        .map(|i| root_role_set(get(i), &lookup))
        .collect();
    let mut checks: Vec<Option<RootCheck>> = (0..n)
        .into_par_iter()
        .map(|i| {
            Some(root_check(
                get(i),
                &sets[i],
                i.checked_sub(1).map(|p| (get(p), &sets[p])),
                every,
            ))
        })
        .collect();
    walk_chain(
        n,
        at,
        |i, prev| match checks.get_mut(i).and_then(Option::take) {
            Some(c) if prev == i.checked_sub(1) => c,
            _ => root_check(get(i), &sets[i], prev.map(|p| (get(p), &sets[p])), every),
        },
        |i| {
            let md = get(i);
            (
                md.signed.expires_at(),
                md.signed.version,
                md.signed.expires.clone(),
            )
        },
    )
}

/// The walk every root chain takes, whatever its dialect: root 0 is trusted; `check(i, prev)`
/// checks root `i` against the last accepted root `prev`; the walk stops at the first failure;
/// then the newest accepted root must not have expired as of `at`. `expiry(i)` gives root
/// `i`'s expiry, version and expiry as written.
pub(crate) fn walk_chain(
    count: usize,
    at: Timestamp,
    mut check: impl FnMut(usize, Option<usize>) -> RootCheck,
    expiry: impl Fn(usize) -> (Result<Timestamp, String>, u64, String),
) -> ChainCheck {
    let mut roots = vec![check(0, None)];
    let mut failure = None;
    let mut last = 0;
    if !roots[0].errors.is_empty() {
        failure = Some(format!("trusted root: {}", roots[0].errors.join("; ")));
    } else {
        for i in 1..count {
            let c = check(i, Some(last));
            let bad = !c.errors.is_empty();
            if bad {
                failure = Some(c.errors.join("; "));
            }
            roots.push(c);
            if bad {
                break;
            }
            last = i;
        }
    }
    if failure.is_none() {
        let (exp, version, expires) = expiry(last);
        match exp {
            Ok(exp) if exp > at => {}
            Ok(_) => {
                let msg = format!(
                    "root version {version} expired at {expires} (checked as of {})",
                    format_tuf_time(at)
                );
                if let Some(r) = roots.last_mut() {
                    r.errors.push(msg.clone());
                }
                failure = Some(msg);
            }
            Err(e) => failure = Some(e),
        }
    }
    ChainCheck {
        at: format_tuf_time(at),
        roots,
        valid: failure.is_none(),
        failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tuf::expiry::parse_tuf_time;

    fn load(b: &[u8]) -> Metadata<Root> {
        Metadata::from_bytes(b).unwrap()
    }

    #[test]
    fn python_tuf_chain_verifies() {
        let one = load(include_bytes!("../../tests/data/tuf/chain/1.root.json"));
        let two = load(include_bytes!("../../tests/data/tuf/chain/2.root.json"));
        let three = load(include_bytes!("../../tests/data/tuf/chain/3.root.json"));
        let at = parse_tuf_time("2026-01-01T00:00:00Z").unwrap();
        let c = verify_chain(&one, &[two.clone(), three.clone()], at);
        assert!(c.valid, "{c:?}");
        assert_eq!(c.roots.len(), 3);
        // Skipping version 2 is refused.
        let c = verify_chain(&one, &[three], at);
        assert!(!c.valid);
        assert!(c.failure.unwrap().contains("exactly one"));
    }
}

//! Verification as a TUF client does it.
//!
//! Invariants: a threshold is met by distinct *public keys* (not key IDs, not signature entries)
//! that are listed for the role and whose key ID is the hash of the key; a signature that is
//! empty, malformed or wrong counts for nothing and does not fail the file by itself; root N+1
//! needs a threshold of N's root keys and of its own, and versions go up by exactly one; expiry is
//! checked on the last root of a chain only, as of a time passed in.

use super::expiry::{Timestamp, format_tuf_time};
use super::key::Key;
use super::metadata::{Metadata, RoleKeys, Root};
use super::sig::{Signature, verify};
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
}

impl ThresholdCheck {
    pub fn count(&self) -> usize {
        self.counted.len()
    }
}

/// Checks `signatures` over `canonical` against `role` with `keys`.
pub fn check_threshold(
    keys_of: &str,
    canonical: &[u8],
    signatures: &[Signature],
    keys: &BTreeMap<String, Key>,
    role: &RoleKeys,
) -> ThresholdCheck {
    let mut notes = Vec::new();
    // Usable keys of the role: listed, present, keyid = hash of key, decodable.
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
        let actual = key.keyid();
        if &actual != keyid {
            notes.push(format!(
                "key {} does not match its key ID (the key hashes to {}): it counts for nothing",
                short(keyid),
                short(&actual)
            ));
            continue;
        }
        match key.decode() {
            Ok(pk) => {
                if let Some(first) = by_identity.get(&pk.identity()) {
                    notes.push(format!(
                        "keys {} and {} are the same public key: it counts once",
                        short(first),
                        short(keyid)
                    ));
                } else {
                    by_identity.insert(pk.identity(), keyid.clone());
                }
                usable.insert(keyid.clone(), pk);
            }
            Err(e) => notes.push(format!("key {}: {e}: it counts for nothing", short(keyid))),
        }
    }

    let mut seen = BTreeSet::new();
    let mut counted = Vec::new();
    for s in signatures {
        let Some(pk) = usable.get(&s.keyid) else {
            continue;
        };
        match verify(pk, canonical, &s.sig) {
            Ok(()) => {
                if seen.insert(pk.identity()) {
                    counted.push(s.keyid.clone());
                } else {
                    notes.push(format!(
                        "another signature by key {} (or the same public key under another ID) counts once",
                        short(&s.keyid)
                    ));
                }
            }
            Err(e) => notes.push(format!("signature by {}: {e}", short(&s.keyid))),
        }
    }
    let met = role.threshold >= 1 && counted.len() as u64 >= role.threshold;
    ThresholdCheck {
        keys_of: keys_of.to_string(),
        threshold: role.threshold,
        counted,
        notes,
        met,
    }
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

fn root_check(md: &Metadata<Root>, previous: Option<&Metadata<Root>>) -> RootCheck {
    let v = md.signed.version;
    let mut errors = Vec::new();
    let by_previous = previous.map(|prev| {
        if prev.signed.version.checked_add(1) != Some(v) {
            errors.push(format!(
                "version {v} follows version {}: root versions must go up by exactly one (a skipped, repeated or rolled-back version)",
                prev.signed.version
            ));
        }
        let role = prev.signed.role("root").cloned().unwrap_or_else(|| RoleKeys::new(vec![], 1));
        let c = check_threshold(
            &format!("root v{}", prev.signed.version),
            md.canonical_signed(),
            &md.signatures,
            &prev.signed.keys,
            &role,
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
    let role = md
        .signed
        .role("root")
        .cloned()
        .unwrap_or_else(|| RoleKeys::new(vec![], 1));
    let by_self = check_threshold(
        &format!("root v{v}"),
        md.canonical_signed(),
        &md.signatures,
        &md.signed.keys,
        &role,
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
pub fn verify_chain(
    trusted: &Metadata<Root>,
    updates: &[Metadata<Root>],
    at: Timestamp,
) -> ChainCheck {
    let get = |i: usize| if i == 0 { trusted } else { &updates[i - 1] };
    walk_chain(
        1 + updates.len(),
        at,
        |i, prev| root_check(get(i), prev.map(get)),
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

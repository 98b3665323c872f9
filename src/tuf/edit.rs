//! Editing the next root. Pure functions on [`Root`].
//!
//! Invariant: no edit leaves a role with fewer keys than its threshold or a threshold of 0; the
//! `keys` map holds exactly the keys some role lists.

use super::key::Key;
use super::metadata::{RoleKeys, Root, TOP_LEVEL_ROLES};
use std::collections::{BTreeMap, BTreeSet};

/// TUF specification version rootcellar writes.
pub const SPEC_VERSION: &str = "1.0.31";

fn check_role_name(role: &str) -> Result<(), String> {
    if TOP_LEVEL_ROLES.contains(&role) {
        Ok(())
    } else {
        Err(format!(
            "unknown role {role:?}: root names root, targets, snapshot and timestamp"
        ))
    }
}

/// Keys and threshold per role for a new root.
pub struct RootPlan {
    pub roles: Vec<(String, Vec<Key>, u64)>,
    pub expires: String,
    pub consistent_snapshot: bool,
}

/// A version 1 root.
pub fn new_root(plan: RootPlan) -> Result<Root, String> {
    let mut root = Root {
        type_: "root".into(),
        spec_version: SPEC_VERSION.into(),
        version: 1,
        expires: plan.expires,
        consistent_snapshot: Some(plan.consistent_snapshot),
        keys: BTreeMap::new(),
        roles: BTreeMap::new(),
        extra: BTreeMap::new(),
    };
    for (role, keys, threshold) in plan.roles {
        check_role_name(&role)?;
        let mut ids = Vec::new();
        for k in keys {
            let id = k.keyid();
            if !ids.contains(&id) {
                ids.push(id.clone());
            }
            root.keys.insert(id, k);
        }
        root.roles.insert(role, RoleKeys::new(ids, threshold));
    }
    for role in TOP_LEVEL_ROLES {
        if !root.roles.contains_key(role) {
            return Err(format!("no keys given for the {role} role"));
        }
    }
    check_thresholds(&root)?;
    Ok(root)
}

/// The next version: same keys and roles, version + 1, new expiry, signatures to be made.
pub fn next_version(prev: &Root, expires: String) -> Result<Root, String> {
    let mut r = prev.clone();
    r.version = prev
        .version
        .checked_add(1)
        .ok_or("the published root has the largest possible version")?;
    r.expires = expires;
    Ok(r)
}

/// One change to the next root.
#[derive(Clone, Debug)]
pub enum Edit {
    AddKey(String, Key),
    RemoveKey(String, String),
    Threshold(String, u64),
}

/// Applies `edits` in order, then checks every threshold once: the result is refused as a whole
/// if any role ends below its threshold.
pub fn apply(root: &mut Root, edits: &[Edit]) -> Result<(), String> {
    let mut next = root.clone();
    for e in edits {
        match e {
            Edit::AddKey(role, key) => add_key(&mut next, role, key.clone())?,
            Edit::RemoveKey(role, keyid) => remove_key(&mut next, role, keyid)?,
            Edit::Threshold(role, n) => set_threshold(&mut next, role, *n)?,
        }
    }
    check_thresholds(&next)?;
    *root = next;
    Ok(())
}

/// Adds `key` to `role`. Does not check thresholds: see [`apply`].
pub fn add_key(root: &mut Root, role: &str, key: Key) -> Result<(), String> {
    check_role_name(role)?;
    let id = key.keyid();
    let r = root
        .roles
        .get_mut(role)
        .ok_or_else(|| format!("root has no {role:?} role"))?;
    if r.keyids.contains(&id) {
        return Err(format!("key {id} is already a {role} key"));
    }
    r.keyids.push(id.clone());
    root.keys.insert(id, key);
    Ok(())
}

/// Removes the key `keyid` from `role`; drops it from `keys` once no role lists it. Does not
/// check thresholds: see [`apply`].
pub fn remove_key(root: &mut Root, role: &str, keyid: &str) -> Result<(), String> {
    check_role_name(role)?;
    let r = root
        .roles
        .get_mut(role)
        .ok_or_else(|| format!("root has no {role:?} role"))?;
    let before = r.keyids.len();
    r.keyids.retain(|k| k != keyid);
    if r.keyids.len() == before {
        return Err(format!("key {keyid} is not a {role} key"));
    }
    prune_keys(root);
    Ok(())
}

/// Sets the threshold of `role`. Does not check thresholds: see [`apply`].
pub fn set_threshold(root: &mut Root, role: &str, threshold: u64) -> Result<(), String> {
    check_role_name(role)?;
    let r = root
        .roles
        .get_mut(role)
        .ok_or_else(|| format!("root has no {role:?} role"))?;
    r.threshold = threshold;
    Ok(())
}

fn prune_keys(root: &mut Root) {
    let used: BTreeSet<&String> = root.roles.values().flat_map(|r| r.keyids.iter()).collect();
    let unused: Vec<String> = root
        .keys
        .keys()
        .filter(|k| !used.contains(k))
        .cloned()
        .collect();
    for k in unused {
        root.keys.remove(&k);
    }
}

/// Every role has a threshold of at least 1 and at least that many distinct keys.
pub fn check_thresholds(root: &Root) -> Result<(), String> {
    for (name, r) in &root.roles {
        if r.threshold == 0 {
            return Err(format!(
                "the {name} threshold would be 0: a threshold must be at least 1"
            ));
        }
        // Count distinct public keys, not key IDs.
        let distinct: BTreeSet<Vec<u8>> = r
            .keyids
            .iter()
            .filter_map(|id| root.keys.get(id))
            .map(|k| {
                k.decode()
                    .map(|pk| pk.identity())
                    .unwrap_or_else(|_| k.keyid().into_bytes())
            })
            .collect();
        if (distinct.len() as u64) < r.threshold {
            return Err(format!(
                "the {name} role would have {} key(s) for a threshold of {}: add keys or lower the threshold first",
                distinct.len(),
                r.threshold
            ));
        }
    }
    Ok(())
}

//! TUF 1.0: staging the next root from an edit (keys by role, thresholds, expiry), the expiry
//! warning, and delegations in top-level targets metadata.

use super::{Base, Devices, Doc, EditRoot, NewRoot, Staging};
use crate::error::{Error, Result};
use crate::tuf::edit::{self, Edit, RootPlan};
use crate::tuf::expiry::{Timestamp, format_tuf_time, parse_user_time, truncate};
use crate::tuf::metadata::{DelegatedRole, Delegations, role_file_name};
use crate::tuf::{Key, Metadata, Root, Targets};
use crate::workspace::{KeyRecord, Workspace};
use std::collections::BTreeMap;

/// A new root's expiry: `given`, else the workspace's default; in the future.
fn expiry(dev: &dyn Devices, ws: &Workspace, given: Option<&str>) -> Result<String> {
    let now = dev.now();
    let text = given.unwrap_or(&ws.config.root_expiry);
    let t = truncate(parse_user_time(text, now).map_err(Error::bad_input)?);
    if t <= now {
        return Err(Error::bad_input(format!(
            "expiry {} is not in the future (now is {})",
            format_tuf_time(t),
            format_tuf_time(now)
        ))
        .hint("give a later date or a span like 365d"));
    }
    Ok(format_tuf_time(t))
}

/// A key may stand in a role only while it exists; a root key only if its device vouches for it
/// (or the operator said --force).
fn check_role_key(dev: &dyn Devices, role: &str, rec: &KeyRecord) -> Result<()> {
    if let Some(when) = &rec.destroyed_at {
        return Err(
            Error::refused(format!("key {} was destroyed on {when}", rec.name))
                .hint("choose another key"),
        );
    }
    if role != "root" {
        return Ok(());
    }
    if let Some(why) = rec.attributes.as_ref().and_then(|a| a.root_objection()) {
        if !dev.force() {
            return Err(Error::refused(format!("key {} is refused as a root key: {why}", rec.name))
                .hint("use a key generated on the device, or pass --force if you accept this key for root"));
        }
        dev.notice(format!(
            "key {} accepted as a root key because of --force: {why}",
            rec.name
        ));
    }
    Ok(())
}

/// What a transcript line says about a staged root.
fn staged_detail(md: &Metadata<Root>) -> serde_json::Value {
    let root_role = md.signed.role("root");
    serde_json::json!({
        "version": md.signed.version,
        "expires": md.signed.expires,
        "signed_sha256": crate::workspace::digest_hex(md.canonical_signed()),
        "root_keyids": root_role.map(|r| r.keyids.clone()).unwrap_or_default(),
        "root_threshold": root_role.map(|r| r.threshold),
    })
}

fn staging(root: Root) -> Result<Staging> {
    let md = Metadata::new(root).map_err(|e| Error::refused(e.to_string()))?;
    Ok(Staging {
        detail: staged_detail(&md),
        doc: Doc::Tuf(md),
        report: None,
        notes: Vec::new(),
    })
}

/// Version 1 from `args`.
pub(super) fn new(b: &Base, args: &NewRoot) -> Result<Staging> {
    let (dev, ws) = (b.dev, b.ws);
    if !b.published.is_empty() {
        return Err(Error::refused("version 1 is published already")
            .hint("stage the next version with `rootcellar root edit`"));
    }
    if b.staged.is_some() {
        return Err(Error::refused("a root is staged already")
            .hint("publish it, or drop it with `rootcellar root discard` first"));
    }
    let role_keys = |role: &str, ks: &[String]| -> Result<Vec<Key>> {
        let mut seen: Vec<String> = Vec::new();
        let mut out = Vec::new();
        for k in ks {
            let r = ws.resolve_key(k)?;
            check_role_key(dev, role, &r)?;
            if seen.contains(&r.keyid) {
                return Err(Error::bad_input(format!(
                    "key {} is given twice for one role",
                    r.name
                ))
                .hint("name each key once; a threshold counts distinct keys"));
            }
            seen.push(r.keyid.clone());
            out.push(r.key);
        }
        Ok(out)
    };
    let plan = RootPlan {
        roles: vec![
            (
                "root".into(),
                role_keys("root", &args.root_keys)?,
                args.threshold,
            ),
            (
                "targets".into(),
                role_keys("targets", &args.targets_keys)?,
                args.targets_threshold,
            ),
            (
                "snapshot".into(),
                role_keys("snapshot", std::slice::from_ref(&args.snapshot_key))?,
                1,
            ),
            (
                "timestamp".into(),
                role_keys("timestamp", std::slice::from_ref(&args.timestamp_key))?,
                1,
            ),
        ],
        expires: expiry(dev, ws, args.expires.as_deref())?,
        consistent_snapshot: args.consistent_snapshot,
    };
    let root = edit::new_root(plan).map_err(|e| {
        Error::refused(e).hint("give more keys for that role, or a lower threshold")
    })?;
    staging(root)
}

/// The next version from the latest published root, or more edits to the staged one.
pub(super) fn edit(b: &Base, args: &EditRoot) -> Result<Staging> {
    let (dev, ws) = (b.dev, b.ws);
    let Some(Doc::Tuf(latest)) = b.published.last() else {
        return Err(Error::refused("no root is published yet")
            .hint("stage version 1 with `rootcellar root new`, sign it and publish it first"));
    };
    let holders = super::Holders::of(ws)?;
    let mut root = match b.staged {
        Some(Doc::Tuf(s)) => {
            if !s.signatures.is_empty() && !args.drop_signatures {
                let doc = Doc::Tuf(s.clone());
                let names: Vec<String> = s
                    .signatures
                    .iter()
                    .map(|g| holders.label(&doc, &g.keyid))
                    .collect();
                return Err(Error::refused(format!(
                    "the staged version {} has {} signature(s) ({}); an edit would void them",
                    s.signed.version,
                    s.signatures.len(),
                    names.join(", ")
                ))
                .hint("publish it first, or pass --drop-signatures to edit it and sign again"));
            }
            let mut r = s.signed.clone();
            if let Some(e) = &args.expires {
                r.expires = expiry(dev, ws, Some(e))?;
            }
            r
        }
        _ => edit::next_version(&latest.signed, expiry(dev, ws, args.expires.as_deref())?)
            .map_err(Error::refused)?,
    };
    let mut edits = Vec::new();
    for (role, k) in &args.add {
        let rec = ws.resolve_key(k)?;
        check_role_key(dev, role, &rec)?;
        edits.push(Edit::AddKey(role.clone(), rec.key));
    }
    for (role, k) in &args.remove {
        let id = match ws.resolve_key(k) {
            Ok(r) => r.keyid,
            // A key that is in the root but not registered here can still be removed by key ID.
            Err(e) => root
                .keys
                .keys()
                .find(|id| k.len() >= 8 && id.starts_with(&k.to_ascii_lowercase()))
                .cloned()
                .ok_or(e)?,
        };
        edits.push(Edit::RemoveKey(role.clone(), id));
    }
    for (role, n) in &args.thresholds {
        edits.push(Edit::Threshold(role.clone(), *n));
    }
    edit::apply(&mut root, &edits).map_err(|e| {
        Error::refused(format!("edit refused: {}", ws.name_key_ids(&e)))
            .hint("the staged root was left as it was")
    })?;
    staging(root)
}

/// `revoke K`: K out of every role of the next root.
pub(super) fn revoke(b: &Base, k: &str, reason: Option<&str>) -> Result<Staging> {
    let ws = b.ws;
    let Some(base) = b.staged.or(b.published.last()) else {
        return Err(Error::refused("no root is published yet")
            .hint("stage version 1 with `rootcellar root new` first"));
    };
    let keyid = match ws.resolve_key(k) {
        Ok(r) => r.keyid,
        Err(e) => base
            .key_ids()
            .into_iter()
            .find(|id| k.len() >= 8 && id.starts_with(&k.to_ascii_lowercase()))
            .cloned()
            .ok_or(e)?,
    };
    let roles = base.roles_of_id(&keyid);
    if roles.is_empty() {
        return Err(Error::refused(format!(
            "key {k} is in no role of root version {}",
            base.version()
        ))
        .hint("nothing to revoke"));
    }
    let args = EditRoot {
        remove: roles.iter().map(|r| (r.clone(), keyid.clone())).collect(),
        ..EditRoot::default()
    };
    let mut s = edit(b, &args).map_err(|e| {
        if e.message.contains("would have") {
            Error::refused(format!("revoking {k} refused: {}", e.message.trim_start_matches("edit refused: ")))
                .hint("add a replacement key first (`rootcellar rotate ROLE --old K --new K`), or lower the threshold (`rootcellar root edit --threshold ROLE:N`) in the same ceremony")
        } else {
            e
        }
    })?;
    if let Some(r) = reason {
        s.notes
            .push(format!("revoked {k} from {} ({r})", roles.join(", ")));
    }
    Ok(s)
}

/// Warns when the published root `latest` has expired or expires within the window.
pub(super) fn warnings(latest: &Doc, now: Timestamp, window: Timestamp) -> Vec<String> {
    let mut w = Vec::new();
    let Ok(exp) = latest.expires_at() else {
        return w;
    };
    let v = latest.version();
    if exp <= now {
        w.push(format!(
            "the published root version {v} EXPIRED on {}: clients refuse it; stage and publish a refresh now (`rootcellar refresh`)",
            latest.expires()
        ));
    } else if exp <= window {
        w.push(format!(
            "the published root version {v} expires on {} ({} days): plan a refresh ceremony (`rootcellar refresh`)",
            latest.expires(),
            (exp - now).whole_days()
        ));
    }
    w
}

/// Top-level targets metadata being edited, TUF's.
pub(super) fn empty_targets() -> Targets {
    Targets {
        type_: "targets".into(),
        spec_version: edit::SPEC_VERSION.into(),
        version: 0,
        expires: String::new(),
        targets: BTreeMap::new(),
        delegations: None,
        extra: BTreeMap::new(),
    }
}

/// What TUF refuses in a delegation before anything is read: a name that could not be a file
/// name, no key.
pub(super) fn check_delegation(d: &super::Delegation) -> Result<()> {
    role_file_name(&d.role)
        .map_err(|e| Error::bad_input(e).hint("use a name like releases or targets/releases"))?;
    if d.keys.is_empty() {
        return Err(
            Error::bad_input("a delegated role needs at least one key").hint("give --key K")
        );
    }
    Ok(())
}

/// An edit of TUF targets metadata's delegations (paths are globs, default `*`).
pub(super) fn edit_targets(
    t: &mut Targets,
    ws: &Workspace,
    e: &super::DelegationEdit,
) -> Result<()> {
    use super::DelegationEdit;
    match e {
        DelegationEdit::Add(d) => {
            let del = t.delegations.get_or_insert_with(|| Delegations {
                keys: BTreeMap::new(),
                roles: Vec::new(),
                extra: BTreeMap::new(),
            });
            if del.roles.iter().any(|r| r.name == d.role) {
                return Err(
                    Error::refused(format!("role {} is delegated already", d.role))
                        .hint("use `delegate rotate` or `delegate remove`"),
                );
            }
            let mut keyids = Vec::new();
            for k in &d.keys {
                let rec = ws.resolve_key(k)?;
                if keyids.contains(&rec.keyid) {
                    return Err(Error::bad_input(format!("key {} is given twice", rec.name))
                        .hint("name each key once"));
                }
                del.keys.insert(rec.keyid.clone(), rec.key.clone());
                keyids.push(rec.keyid);
            }
            del.roles.push(DelegatedRole {
                name: d.role.clone(),
                keyids,
                threshold: d.threshold,
                terminating: d.terminating,
                paths: Some(if d.paths.is_empty() {
                    vec!["*".into()]
                } else {
                    d.paths.clone()
                }),
                path_hash_prefixes: None,
                extra: BTreeMap::new(),
            });
        }
        DelegationEdit::Remove(role) => {
            let del = t
                .delegations
                .as_mut()
                .ok_or_else(|| super::not_delegated(role))?;
            let before = del.roles.len();
            del.roles.retain(|r| r.name != *role);
            if del.roles.len() == before {
                return Err(super::not_delegated(role));
            }
        }
        DelegationEdit::Rotate { role, old, new } => {
            let del = t
                .delegations
                .as_mut()
                .ok_or_else(|| Error::refused(format!("role {role} is not delegated")))?;
            let r = del
                .roles
                .iter_mut()
                .find(|r| r.name == *role)
                .ok_or_else(|| super::not_delegated(role))?;
            let old_id = ws.resolve_key(old)?.keyid;
            let new_rec = ws.resolve_key(new)?;
            let pos =
                r.keyids.iter().position(|k| *k == old_id).ok_or_else(|| {
                    Error::refused(format!("key {old} is not a key of role {role}"))
                        .hint("`rootcellar delegate list` shows the role's keys (a rotation already done leaves the new key there)")
                })?;
            if r.keyids.contains(&new_rec.keyid) {
                return Err(
                    Error::refused(format!("key {new} is a key of role {role} already"))
                        .hint("`rootcellar delegate list` shows the role's keys"),
                );
            }
            r.keyids[pos] = new_rec.keyid.clone();
            del.keys.insert(new_rec.keyid, new_rec.key);
        }
    }
    Ok(())
}

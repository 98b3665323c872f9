//! The verbs keyholders think in — rotate, revoke, refresh — and the review around them: the
//! diff of the next root in words, the status of a ceremony, expiry warnings, the key drill.

use super::root::{EditRoot, RootView, Status, edit_root, read_aloud, status};
use super::{Context, key_label};
use crate::error::{Error, Result};
use crate::tuf::expiry::{format_tuf_time, parse_user_time};
use crate::tuf::{Metadata, Root};
use crate::workspace::{Workspace, digest_hex};
use serde::Serialize;
use std::collections::BTreeSet;

/// `rootcellar rotate ROLE --old K --new K`: the same place in ROLE, another key (one
/// keyholder's new key included).
pub fn rotate(ctx: &Context, role: &str, old: &str, new: &str) -> Result<RootView> {
    edit_root(
        ctx,
        &EditRoot {
            add: vec![(role.into(), new.into())],
            remove: vec![(role.into(), old.into())],
            ..EditRoot::default()
        },
    )
}

/// The root the next edit starts from: the staged one, or the latest published.
fn base_root(ws: &Workspace) -> Result<Metadata<Root>> {
    if let Some(s) = ws.staged()? {
        return Ok(s);
    }
    ws.published()?.pop().ok_or_else(|| {
        Error::refused("no root is published yet")
            .hint("stage version 1 with `rootcellar root new` first")
    })
}

/// `rootcellar revoke K`: removes the key from every role of the next root. Refused as a whole
/// when a role would fall below its threshold.
pub fn revoke(ctx: &Context, k: &str, reason: Option<&str>) -> Result<RootView> {
    let ws = ctx.workspace()?;
    let base = base_root(&ws)?;
    let keyid = match ws.resolve_key(k) {
        Ok(r) => r.keyid,
        Err(e) => base
            .signed
            .keys
            .keys()
            .find(|id| k.len() >= 8 && id.starts_with(&k.to_ascii_lowercase()))
            .cloned()
            .ok_or(e)?,
    };
    let roles: Vec<String> = base
        .signed
        .roles
        .iter()
        .filter(|(_, r)| r.keyids.contains(&keyid))
        .map(|(n, _)| n.clone())
        .collect();
    if roles.is_empty() {
        return Err(Error::refused(format!(
            "key {k} is in no role of root version {}",
            base.signed.version
        ))
        .hint("nothing to revoke"));
    }
    let v = edit_root(
        ctx,
        &EditRoot { remove: roles.iter().map(|r| (r.clone(), keyid.clone())).collect(), ..EditRoot::default() },
    )
    .map_err(|e| {
        if e.message.contains("would have") {
            Error::refused(format!("revoking {k} refused: {}", e.message.trim_start_matches("edit refused: ")))
                .hint("add a replacement key first (`rootcellar rotate ROLE --old K --new K`), or lower the threshold (`rootcellar root edit --threshold ROLE:N`) in the same ceremony")
        } else {
            e
        }
    })?;
    if let Some(r) = reason {
        ctx.notice(format!("revoked {k} from {} ({r})", roles.join(", ")));
    }
    Ok(v)
}

/// `rootcellar refresh --expires T`: same keys, new expiry.
pub fn refresh(ctx: &Context, expires: Option<&str>) -> Result<RootView> {
    edit_root(
        ctx,
        &EditRoot {
            expires: expires.map(String::from),
            ..EditRoot::default()
        },
    )
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
    /// Notary roots: keys that stay but carry a new certificate (so a new key ID).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renewed: Vec<String>,
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
        }
        if diff.is_empty() {
            diff.push("keys and thresholds unchanged".into());
        }
        diff
    }
}

fn key_change(ws: &Workspace, root: &Root, id: &str) -> KeyChange {
    KeyChange {
        keyid: id.to_string(),
        name: key_label(ws, id),
        fingerprint: root
            .keys
            .get(id)
            .and_then(|k| k.decode().ok())
            .map(|k| k.fingerprint())
            .unwrap_or_default(),
        roles: root
            .roles
            .iter()
            .filter(|(_, r)| r.keyids.iter().any(|k| k == id))
            .map(|(n, _)| n.clone())
            .collect(),
    }
}

/// The diff of `next` against `prev` (pure apart from naming keys from the workspace).
pub fn diff(ws: &Workspace, prev: Option<&Metadata<Root>>, next: &Metadata<Root>) -> RootDiff {
    let before: BTreeSet<&String> = prev
        .map(|p| p.signed.keys.keys().collect())
        .unwrap_or_default();
    let after: BTreeSet<&String> = next.signed.keys.keys().collect();
    let keys_added = after
        .difference(&before)
        .map(|id| key_change(ws, &next.signed, id))
        .collect();
    let keys_removed = match prev {
        Some(p) => before
            .difference(&after)
            .map(|id| key_change(ws, &p.signed, id))
            .collect(),
        None => Vec::new(),
    };
    let mut roles = Vec::new();
    for (name, r) in &next.signed.roles {
        let old = prev.and_then(|p| p.signed.roles.get(name));
        let old_ids: BTreeSet<&String> = old.map(|o| o.keyids.iter().collect()).unwrap_or_default();
        let new_ids: BTreeSet<&String> = r.keyids.iter().collect();
        let added: Vec<String> = new_ids
            .difference(&old_ids)
            .map(|id| key_label(ws, id))
            .collect();
        let removed: Vec<String> = old_ids
            .difference(&new_ids)
            .map(|id| key_label(ws, id))
            .collect();
        if old.map(|o| o.threshold) != Some(r.threshold) || !added.is_empty() || !removed.is_empty()
        {
            roles.push(RoleChange {
                role: name.clone(),
                threshold_before: old.map(|o| o.threshold),
                threshold_after: r.threshold,
                added,
                removed,
            });
        }
    }
    let digest = digest_hex(next.canonical_signed());
    RootDiff {
        from_version: prev.map(|p| p.signed.version),
        to_version: next.signed.version,
        expires_before: prev.map(|p| p.signed.expires.clone()),
        expires_after: next.signed.expires.clone(),
        keys_added,
        keys_removed,
        roles,
        read_aloud: read_aloud(&digest),
        digest,
        renewed: Vec::new(),
    }
}

/// `rootcellar root show --diff`: the staged root against the version before it.
pub fn show_diff(ctx: &Context) -> Result<RootDiff> {
    let ws = ctx.workspace()?;
    let staged = ws.staged()?.ok_or_else(|| {
        Error::refused("no root is staged").hint(
            "stage the next version with `rootcellar root edit`, `rotate`, `revoke` or `refresh`",
        )
    })?;
    let prev = match staged.signed.version.checked_sub(1) {
        Some(v) => ws.published_version(v)?,
        None => None,
    };
    Ok(diff(&ws, prev.as_ref(), &staged))
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

/// Warnings about the published root's expiry, as of `ctx.now`.
pub fn expiry_warnings(ctx: &Context, ws: &Workspace, latest: &Metadata<Root>) -> Vec<String> {
    let mut w = Vec::new();
    let Ok(exp) = latest.signed.expires_at() else {
        return w;
    };
    let window = parse_user_time(&ws.config.expiry_warning, ctx.now).unwrap_or(ctx.now);
    if exp <= ctx.now {
        w.push(format!(
            "the published root version {} EXPIRED on {}: clients refuse it; stage and publish a refresh now (`rootcellar refresh`)",
            latest.signed.version, latest.signed.expires
        ));
    } else if exp <= window {
        w.push(format!(
            "the published root version {} expires on {} ({} days): plan a refresh ceremony (`rootcellar refresh`)",
            latest.signed.version,
            latest.signed.expires,
            (exp - ctx.now).whole_days()
        ));
    }
    w
}

pub fn ceremony_status(ctx: &Context) -> Result<CeremonyStatus> {
    let ws = ctx.workspace()?;
    if ws.notary_gun().is_some() {
        return super::notary_ws::ceremony_status(ctx, &ws);
    }
    let published = ws.published()?;
    let latest = published.last();
    let mut warnings = latest
        .map(|l| expiry_warnings(ctx, &ws, l))
        .unwrap_or_default();
    let staged = ws.staged()?;
    let st = match &staged {
        Some(s) => Some(status(ctx, &ws, s)?),
        None => None,
    };
    if latest.is_none() && staged.is_none() {
        warnings
            .push("nothing is staged or published yet: start with `rootcellar root new`".into());
    }
    Ok(CeremonyStatus {
        published: latest.and_then(|l| {
            l.signed.expires_at().ok().map(|e| PublishedState {
                version: l.signed.version,
                expires: l.signed.expires.clone(),
                days_left: (e - ctx.now).whole_days(),
            })
        }),
        staged_digest: staged.as_ref().map(|s| digest_hex(s.canonical_signed())),
        staged: st,
        warnings,
    })
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DrillResult {
    pub name: String,
    pub keyid: String,
    pub ok: bool,
    pub problem: Option<String>,
}

/// `rootcellar drill [--key K…]`: each key signs a fresh challenge and the signature is checked;
/// nothing is written. Default: the keys of the published (or staged) root's root role that this
/// workspace can use.
pub fn drill(ctx: &Context, keys: &[String]) -> Result<Vec<DrillResult>> {
    let ws = ctx.workspace()?;
    let recs = if keys.is_empty() && ws.notary_gun().is_some() {
        // Notary: the root keys of the staged (else published) root held here.
        let base = match super::notary_ws::staged(&ws)? {
            Some(s) => s,
            None => super::notary_ws::published(&ws)?.pop().ok_or_else(|| {
                Error::refused("no root is published yet").hint("name keys with --key")
            })?,
        };
        let out: Vec<_> = ws
            .keys()?
            .into_iter()
            .filter(|r| {
                r.backend != crate::workspace::Backend::Public
                    && r.destroyed_at.is_none()
                    && super::notary_ws::roles_of(&base, r)
                        .iter()
                        .any(|x| x == "root")
            })
            .collect();
        if out.is_empty() {
            return Err(
                Error::refused("no root key of this workspace can sign here")
                    .hint("name keys with --key"),
            );
        }
        out
    } else if keys.is_empty() {
        let base = base_root(&ws)?;
        let ids = base
            .signed
            .role("root")
            .map(|r| r.keyids.clone())
            .unwrap_or_default();
        let mut out = Vec::new();
        for id in ids {
            if let Some(r) = ws.key_by_id(&id)?
                && r.backend != crate::workspace::Backend::Public
                && r.destroyed_at.is_none()
            {
                out.push(r);
            }
        }
        if out.is_empty() {
            return Err(
                Error::refused("no root key of this workspace can sign here")
                    .hint("name keys with --key"),
            );
        }
        out
    } else {
        keys.iter()
            .map(|k| ws.resolve_key(k))
            .collect::<Result<Vec<_>>>()?
    };
    ctx.air_gap("use private keys")?;
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| Error::environment(format!("no randomness: {e}")))?;
    let challenge = format!(
        "rootcellar drill {} {}",
        format_tuf_time(ctx.now),
        hex::encode(nonce)
    );
    let mut out = Vec::new();
    for r in recs {
        let res = ctx
            .signer(&ws, &r)
            .and_then(|s| s.sign(challenge.as_bytes()))
            .and_then(|sig| {
                let pk = r.public_key()?;
                crate::tuf::sig::verify(&pk, challenge.as_bytes(), &hex::encode(sig))
                    .map_err(|e| Error::environment(format!("the signature does not verify: {e}")))
            });
        out.push(DrillResult {
            name: r.name.clone(),
            keyid: r.keyid.clone(),
            ok: res.is_ok(),
            problem: res.err().map(|e| e.message),
        });
    }
    Ok(out)
}

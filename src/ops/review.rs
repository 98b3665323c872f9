//! The review around a ceremony, the same in both dialects: `root show` (keys, roles,
//! signatures checked, who still has to sign), the diff of the next root in words, `status`
//! with its warnings, and what the ceremony screen lists.
//!
//! Invariant: keys are compared by their public key material, never by key ID: a key that
//! stays under a new key ID (a renewed Notary certificate) is listed as renewed, not as removed
//! and added.

use super::context::Context;
use crate::dialect::{Dialect, Doc, Holders};
use crate::error::{Error, Result};
use crate::report::{
    CeremonyStatus, KeyView, PublishedState, RoleView, RootDiff, RootView, SigView, Status,
};
use crate::tuf::expiry::parse_user_time;
use crate::tuf::verify::ThresholdCheck;
use crate::workspace::Workspace;

/// The staged root, or a refusal that says how to stage one.
pub(super) fn staged_or_refuse(d: &Dialect, ws: &Workspace) -> Result<Doc> {
    d.staged(ws)?
        .ok_or_else(|| Error::refused("no root is staged").hint(d.texts().nothing_staged))
}

/// The published version `md` follows (none for version 1, or before anything is published).
pub(super) fn previous_of(d: &Dialect, ws: &Workspace, md: &Doc) -> Result<Option<Doc>> {
    if md.version() <= 1 {
        return Ok(None);
    }
    let published = d.published(ws)?;
    if published.is_empty() {
        return Ok(None);
    }
    let want = md.version() - 1;
    match published.into_iter().find(|p| p.version() == want) {
        Some(p) => Ok(Some(p)),
        None => Err(Error::refused(format!(
            "version {} is staged but version {want} is not published",
            md.version()
        ))
        .hint("drop the staged root with `rootcellar root discard` and stage it again")),
    }
}

/// Shows the keyholder what they are about to sign — the changes in words and the digest to
/// read aloud — before any PIN or passphrase is asked.
pub(super) fn announce(ctx: &Context, d: &RootDiff) {
    let mut text = format!(
        "About to sign root version {} — read aloud and compare: {}",
        d.to_version, d.read_aloud
    );
    for l in d.lines() {
        text.push_str(&format!("\n  {}", crate::text::field(&l)));
    }
    ctx.prompt().say(&text);
}

/// Refuses `next` (to stage, sign, merge, import or publish) when one of its key IDs names other
/// key material than in an earlier root of `history`.
pub(super) fn refuse_changed_key_ids(history: &[Doc], next: &Doc) -> Result<()> {
    let roots: Vec<&Doc> = history.iter().chain(std::iter::once(next)).collect();
    let changes = crate::dialect::changed_key_ids(&roots);
    match changes.into_iter().find(|c| c.version == next.version()) {
        None => Ok(()),
        Some(c) => Err(Error::refused(format!(
            "{c}: a key ID that changes its key is refused (a review by key ID would not see the new key)"
        ))
        .hint("a new key comes under a new key ID; if nobody meant this, the root was tampered with: do not sign it")),
    }
}

/// Who has signed `md` and who still must, as of `ctx.now`.
pub fn status(ctx: &Context, d: &Dialect, ws: &Workspace, md: &Doc) -> Result<Status> {
    let prev = previous_of(d, ws, md)?;
    let chain = match &prev {
        Some(p) => d.verify_chain(p, std::slice::from_ref(md), ctx.now),
        None => d.verify_chain(md, &[], ctx.now),
    };
    let last = chain.roots.last().cloned();
    let empty = || ThresholdCheck {
        keys_of: String::new(),
        threshold: md.role("root").map_or(1, |r| r.threshold),
        counted: Vec::new(),
        notes: Vec::new(),
        met: false,
        unchecked: 0,
    };
    let by_self = last
        .as_ref()
        .map(|r| r.by_self.clone())
        .unwrap_or_else(empty);
    let by_previous = prev
        .as_ref()
        .and_then(|_| last.as_ref().and_then(|r| r.by_previous.clone()));
    let holders = Holders::of(ws)?;
    let mut can_still_sign = Vec::new();
    let mut can_still_sign_keyids = Vec::new();
    let mut names = std::collections::BTreeMap::new();
    let mut consider = |m: &Doc, check: &ThresholdCheck| {
        for id in &check.counted {
            if let Some(r) = holders.record(m, id) {
                names.insert(id.clone(), r.name.clone());
            }
        }
        if check.met {
            return;
        }
        for id in m.role("root").map(|r| r.keyids.as_slice()).unwrap_or(&[]) {
            let label = holders.label(m, id);
            if !check.counted.contains(id) && !can_still_sign.contains(&label) {
                if let Some(r) = holders.record(m, id) {
                    names.insert(id.clone(), r.name.clone());
                }
                can_still_sign.push(label);
                can_still_sign_keyids.push(id.clone());
            }
        }
    };
    if let (Some(p), Some(c)) = (&prev, &by_previous) {
        consider(p, c);
    }
    consider(md, &by_self);
    Ok(Status {
        version: md.version(),
        by_previous,
        by_self,
        can_still_sign,
        can_still_sign_keyids,
        names,
        // One problem per entry (the chain's failure joins them).
        problems: match chain.roots.last().filter(|r| !r.errors.is_empty()) {
            Some(r) => r.errors.clone(),
            None => chain.failure.iter().cloned().collect(),
        },
        publishable: chain.valid,
    })
}

/// `root show`: the staged root, or the latest published one when none is staged; warnings
/// about the published root go to the notices.
pub fn show(ctx: &Context) -> Result<RootView> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let staged = d.staged(&ws)?;
    let latest = d.published(&ws)?.pop();
    let v = match (&staged, &latest) {
        (Some(md), _) => view(ctx, &d, &ws, md, "staged")?,
        (None, Some(md)) => view(ctx, &d, &ws, md, "published")?,
        (None, None) => {
            return Err(
                Error::refused("no root is staged or published").hint(d.texts().stage_first)
            );
        }
    };
    if let Some(l) = &latest {
        let window = parse_user_time(&ws.config.expiry_warning, ctx.now).unwrap_or(ctx.now);
        for w in d.warnings(l, ctx.now, window) {
            ctx.notice(w);
        }
    }
    Ok(v)
}

/// A root as `root show` prints it: keys by name, roles, signatures checked, and (staged) who
/// still has to sign.
pub fn view(
    ctx: &Context,
    d: &Dialect,
    ws: &Workspace,
    md: &Doc,
    source: &str,
) -> Result<RootView> {
    let holders = Holders::of(ws)?;
    // One public key under several key IDs is one key: shown once, with its aliases.
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let keys = md
        .key_ids()
        .into_iter()
        .filter_map(|id| {
            let m = md.material(id);
            if seen.contains(&m) {
                return None;
            }
            seen.push(m.clone());
            let aliases: Vec<String> = md
                .key_ids()
                .into_iter()
                .filter(|o| *o != id && md.material(o) == m)
                .cloned()
                .collect();
            let mut roles = md.roles_of_id(id);
            for a in &aliases {
                for r in md.roles_of_id(a) {
                    if !roles.contains(&r) {
                        roles.push(r);
                    }
                }
            }
            let rec = holders.record(md, id);
            Some(KeyView {
                keyid: id.clone(),
                name: rec.map(|r| r.name.clone()),
                algorithm: md.algorithm(id),
                fingerprint: md.fingerprint(id),
                backend: rec.map(|r| r.backend.name().to_string()),
                roles,
                aliases,
                attestation: rec
                    .and_then(|r| r.attestation(ctx.now))
                    .map(|v| v.summary()),
            })
        })
        .collect();
    let roles = ["root", "targets", "snapshot", "timestamp"]
        .iter()
        .filter_map(|n| md.role(n).map(|r| (n, r)))
        .map(|(n, r)| RoleView {
            role: n.to_string(),
            threshold: r.threshold,
            keys: r.keyids.iter().map(|id| holders.label(md, id)).collect(),
            distinct_keys: {
                let mut m: Vec<Vec<u8>> = r.keyids.iter().map(|id| md.material(id)).collect();
                m.sort();
                m.dedup();
                m.len()
            },
        })
        .collect();
    let prev = if source == "staged" {
        previous_of(d, ws, md)?
    } else {
        None
    };
    let signatures = md
        .signatures()
        .iter()
        .map(|s| {
            let id = s.keyid();
            let owner = if md.decode(id).is_some() {
                Some(md)
            } else {
                prev.as_ref().filter(|p| p.decode(id).is_some())
            };
            let result = match owner.and_then(|o| o.decode(id)) {
                Some(Ok(pk)) => s.verify(&pk, md.canonical()),
                Some(Err(e)) => Err(e),
                None => Err("not a key of this root or the previous one".into()),
            };
            SigView {
                keyid: id.to_string(),
                name: owner
                    .and_then(|o| holders.record(o, id))
                    .map(|r| r.name.clone()),
                valid: result.is_ok(),
                problem: result.err(),
            }
        })
        .collect();
    let status = if source == "staged" {
        Some(status(ctx, d, ws, md)?)
    } else {
        None
    };
    Ok(RootView {
        source: source.into(),
        version: md.version(),
        spec_version: md.spec_version(),
        expires: md.expires().to_string(),
        consistent_snapshot: md.consistent_snapshot(),
        digest: md.digest(),
        keys,
        roles,
        signatures,
        status,
    })
}

pub use crate::report::diff;

/// `root show --diff`: the staged root against the version before it.
pub fn show_diff(ctx: &Context) -> Result<RootDiff> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let staged = d
        .staged(&ws)?
        .ok_or_else(|| Error::refused("no root is staged").hint(d.texts().stage_next))?;
    let prev = previous_of(&d, &ws, &staged)?;
    Ok(diff(&Holders::of(&ws)?, prev.as_ref(), &staged))
}

/// `rootcellar status`: what is published, what is staged and who still has to sign, and the
/// warnings (expiry; Notary: root certificates).
pub fn ceremony_status(ctx: &Context) -> Result<CeremonyStatus> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let published = d.published(&ws)?;
    let latest = published.last();
    let window = parse_user_time(&ws.config.expiry_warning, ctx.now).unwrap_or(ctx.now);
    let mut warnings = latest
        .map(|l| d.warnings(l, ctx.now, window))
        .unwrap_or_default();
    let staged = d.staged(&ws)?;
    let st = match &staged {
        Some(s) => Some(status(ctx, &d, &ws, s)?),
        None => None,
    };
    if latest.is_none() && staged.is_none() {
        warnings.push(d.texts().nothing_yet.into());
    }
    Ok(CeremonyStatus {
        published: latest.and_then(|l| {
            l.expires_at().ok().map(|e| PublishedState {
                version: l.version(),
                expires: l.expires().to_string(),
                days_left: crate::tuf::expiry::days_until(e, ctx.now),
            })
        }),
        staged_digest: staged.as_ref().map(Doc::digest),
        staged: st,
        warnings,
    })
}

/// A registered key as the ceremony screen lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRoles {
    pub key: crate::report::KeyInfo,
    /// The roles it holds in the staged root (else the published one), matched by public key.
    pub roles: Vec<String>,
    /// A Notary root certificate is kept in its record (`notary certificate`).
    pub certificate: bool,
}

/// What the ceremony screen shows: the status, the staged root's diff, the keys and their
/// roles, and the repository a Notary workspace is for.
pub struct Overview {
    /// This machine's clock, as the operators are to compare it with a watch.
    pub clock: String,
    /// What the air-gap guard finds on (none: offline).
    pub air_gap: Vec<String>,
    pub status: CeremonyStatus,
    pub diff: Option<RootDiff>,
    pub keys: Vec<KeyRoles>,
    pub gun: Option<String>,
    /// The workspace's default expiry for a new root, and its warning window.
    pub root_expiry: String,
    pub expiry_warning: String,
}

pub fn overview(ctx: &Context) -> Result<Overview> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let status = ceremony_status(ctx)?;
    let diff = match status.staged {
        Some(_) => Some(show_diff(ctx)?),
        None => None,
    };
    let base = match d.staged(&ws)? {
        Some(s) => Some(s),
        None => d.published(&ws)?.pop(),
    };
    let keys = ws
        .keys()?
        .into_iter()
        .filter(|r| r.destroyed_at.is_none())
        .map(|r| KeyRoles {
            roles: base
                .as_ref()
                .map(|b| b.roles_of_key(&crate::dialect::identity_of(&r)))
                .unwrap_or_default(),
            certificate: r.certificate.is_some(),
            key: super::yubikey::with_verdicts(ctx, std::slice::from_ref(&r))
                .pop()
                .unwrap_or_else(|| crate::report::KeyInfo::of(&r)),
        })
        .collect();
    Ok(Overview {
        clock: crate::tuf::expiry::format_tuf_time(ctx.now),
        air_gap: crate::guard::check(&ctx.sysfs)
            .iter()
            .map(|f| f.to_string())
            .collect(),
        status,
        diff,
        keys,
        gun: d.gun().map(str::to_string),
        root_expiry: ws.config.root_expiry.clone(),
        expiry_warning: ws.config.expiry_warning.clone(),
    })
}

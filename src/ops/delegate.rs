//! Delegations for tagging keys: `delegate add|remove|rotate` edit the top-level targets
//! metadata, sign it with the targets key(s) of the published root (software, HSM or YubiKey),
//! check the targets threshold, and publish `N.targets.json` / `targets.json`. In TUF the form
//! of Docker Content Trust's `targets/releases` and `docker trust signer add`; in a Notary
//! workspace Docker's own (`targets/NAME`, path prefixes, read by Notary's client).
//!
//! Invariant: nothing is written unless the new targets metadata meets the targets threshold of
//! the published root (and, in Notary's dialect, verifies as Notary's client checks it).

use super::context::Context;
pub use crate::dialect::Delegation;
use crate::dialect::{DelegationEdit, Dialect, Holders, identity_of};
use crate::error::{Error, Result};
use crate::report::{RoleSummary, TargetsReport};
use crate::tuf::expiry::{format_tuf_time, parse_user_time, truncate};
use crate::tuf::notary::NotaryPublicKey;
use crate::workspace::{Backend, KeyRecord, Workspace, digest_hex};

/// Who signs the targets metadata, and until when it is valid.
#[derive(Clone, Debug, Default)]
pub struct SignWith {
    pub keys: Vec<String>,
    pub expires: Option<String>,
}

/// When new targets metadata expires: `--expires`, else the workspace's `targets_expiry`.
fn targets_expiry(ctx: &Context, ws: &Workspace, how: &SignWith) -> Result<String> {
    let exp = truncate(
        parse_user_time(
            how.expires.as_deref().unwrap_or(&ws.config.targets_expiry),
            ctx.now,
        )
        .map_err(Error::bad_input)?,
    );
    if exp <= ctx.now {
        return Err(Error::bad_input(format!(
            "expiry {} is not in the future",
            format_tuf_time(exp)
        ))
        .hint("give a later date or a span like 90d"));
    }
    Ok(format_tuf_time(exp))
}

fn update(ctx: &Context, how: &SignWith, edit: DelegationEdit) -> Result<TargetsReport> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let _lock = ws.lock_only()?;
    // A targets publication interrupted after its transcript line: finished when its file was
    // written (then this command stops there), rolled back otherwise.
    let resume = ws.resume_interrupted("targets-published")?;
    ws.check_bound()?;
    let v = resume
        .as_ref()
        .and_then(|r| r["version"].as_u64())
        .unwrap_or(0);
    match (&resume, ws.metadata_file("targets", v)?) {
        (Some(r), Some(bytes)) => {
            let (a, b) = ws.publish_role_raw("targets", v, &bytes)?;
            ctx.notice(format!("finished publishing targets version {v}, which was interrupted; nothing else was done: run the command again if it was another change"));
            let done = d.current_targets(&ws)?.unwrap_or_else(|| d.empty_targets());
            let signed_by = (r["signed_by"].as_array().into_iter().flatten())
                .filter_map(|x| x.as_str().map(str::to_string));
            return Ok(TargetsReport {
                version: v,
                expires: done.expires().to_string(),
                roles: done.summaries(&Holders::of(&ws)?),
                signed_by: signed_by.collect(),
                files: vec![a, b],
            });
        }
        (Some(_), None) => {
            ctx.record(
                &ws,
                "targets-rolled-back",
                serde_json::json!({"version": v}),
            )?;
            ctx.notice(format!(
                "targets version {v} was interrupted before its file was written: rolled back"
            ));
        }
        (None, _) => {}
    }
    let root = d.published(&ws)?.pop().ok_or_else(|| {
        Error::refused("no root is published yet")
            .hint("publish version 1 first: its targets role names the keys that sign delegations")
    })?;
    let mut next = d.current_targets(&ws)?.unwrap_or_else(|| d.empty_targets());
    let version = next
        .version()
        .checked_add(1)
        .ok_or_else(|| Error::refused("targets version overflow"))?;
    next.bump(version, targets_expiry(ctx, &ws, how)?);
    d.edit_targets(&mut next, &ws, &edit)?;
    next.prune()?;
    let message = next.canonical()?;
    // The keys that sign: those named, or every targets key held here; each by its key ID in
    // the published root's targets role.
    let holders = Holders::of(&ws)?;
    let id_of = |r: &KeyRecord| root.ids_in("targets", &identity_of(r)).into_iter().next();
    let mut signers: Vec<(String, KeyRecord)> = Vec::new();
    if how.keys.is_empty() {
        for r in holders.records() {
            if r.backend != Backend::Public
                && r.destroyed_at.is_none()
                && let Some(id) = id_of(r)
            {
                signers.push((id, r.clone()));
            }
        }
    } else {
        for k in &how.keys {
            let r = ws.resolve_key(k)?;
            let id = id_of(&r).ok_or_else(|| {
                Error::refused(format!(
                    "key {} is not a targets key of root version {}",
                    r.name,
                    root.version()
                ))
                .hint("sign with a targets key (`rootcellar root show`)")
            })?;
            signers.push((id, r));
        }
    }
    if signers.is_empty() {
        return Err(Error::refused(format!(
            "this workspace holds no targets key of root version {} that can sign",
            root.version()
        ))
        .hint("generate or add the targets key here, or sign where it is held"));
    }
    ctx.air_gap("sign with a private key")?;
    let mut signatures = Vec::new();
    let mut signed_by = Vec::new();
    for (id, r) in &signers {
        let signer = ctx.signer(&ws, r)?;
        ctx.touch_notice(r, "sign the targets metadata");
        let pk = r.public_key()?;
        let sig = d.sign_entry(id, &pk, &signer.sign(&message)?)?;
        sig.verify(&NotaryPublicKey::Tuf(pk), &message)
            .map_err(|e| {
                Error::environment(format!(
                    "the signature just made by {} does not verify: {e}",
                    r.name
                ))
            })?;
        signatures.push(sig);
        signed_by.push(r.name.clone());
    }
    let bytes = next.file(&signatures)?;
    let check = d.check_targets(&root, &bytes, ctx.now)?;
    if !check.met {
        return Err(Error::refused(format!(
            "the targets metadata has {} of the {} targets signatures it needs",
            check.count(),
            check.threshold
        ))
        .hint("sign with more targets keys (--sign-with K); nothing was written"));
    }
    // The intent first: a crash below leaves a file the transcript vouches for (or none).
    ctx.record(
        &ws,
        "targets-published",
        d.tag(
            serde_json::json!({
                "version": version,
                "signed_sha256": digest_hex(&message),
                "file_sha256": digest_hex(&bytes),
                "files": [{"role": "targets", "version": version, "sha256": digest_hex(&bytes)}],
                "signed_by": signers.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
            }),
            true,
        ),
    )?;
    let (a, b) = ws.publish_role_raw("targets", version, &bytes)?;
    Ok(TargetsReport {
        version,
        expires: next.expires().to_string(),
        roles: next.summaries(&holders),
        signed_by,
        files: vec![a, b],
    })
}

/// `rootcellar delegate add ROLE --key K… [--threshold N] [--paths P…] [--terminating]`.
pub fn add(ctx: &Context, d: &Delegation, how: &SignWith) -> Result<TargetsReport> {
    Dialect::of(&ctx.workspace()?).check_delegation(d)?;
    update(ctx, how, DelegationEdit::Add(d))
}

/// `rootcellar delegate remove ROLE`.
pub fn remove(ctx: &Context, role: &str, how: &SignWith) -> Result<TargetsReport> {
    update(ctx, how, DelegationEdit::Remove(role))
}

/// `rootcellar delegate rotate ROLE --old K --new K`.
pub fn rotate(
    ctx: &Context,
    role: &str,
    old: &str,
    new: &str,
    how: &SignWith,
) -> Result<TargetsReport> {
    update(ctx, how, DelegationEdit::Rotate { role, old, new })
}

/// `rootcellar delegate list`.
pub fn list(ctx: &Context) -> Result<Vec<RoleSummary>> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    Ok(match d.current_targets(&ws)? {
        Some(t) => t.summaries(&Holders::of(&ws)?),
        None => Vec::new(),
    })
}

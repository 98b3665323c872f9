//! The root of a ceremony, in either dialect: stage the next version (`root new`, `root edit`,
//! `rotate`, `revoke`, `refresh`, `notary root`), discard it, sign it, publish it with the
//! transcript seal, and the key drill.
//!
//! Invariant: a key signs under the key IDs its public key has in the root role of the staged
//! version and of the one before (a renewed Notary certificate gives one key two IDs); every
//! signature is verified before it is kept and written at once, so a later failure loses
//! nothing; publish writes only a root that verifies against the whole published history.

use super::context::Context;
use super::review::{
    announce, diff, previous_of, refuse_changed_key_ids, staged_or_refuse, status, view,
};
use crate::dialect::{Base, Dialect, Doc, Holders, Staging, identity_of};
use crate::error::{Error, Result};
use crate::report::{DrillResult, PublishReport, SignReport, Staged};
use crate::tuf::expiry::format_tuf_time;
use crate::workspace::{Backend, KeyRecord, Workspace};

pub use crate::dialect::notary::{DEFAULT_CERTIFICATE_YEARS, StageSpec};
pub use crate::dialect::{EditRoot, NewRoot};

/// Stages what `make` builds from the published history and the staged root, under the lock.
fn stage(
    ctx: &Context,
    make: impl FnOnce(&Dialect, &Base) -> Result<Staging>,
) -> Result<(Workspace, Dialect, Staging)> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let _lock = ws.lock()?;
    let published = d.published(&ws)?;
    let staged = d.staged(&ws)?;
    let s = make(
        &d,
        &Base {
            dev: ctx,
            ws: &ws,
            published: &published,
            staged: staged.as_ref(),
        },
    )?;
    refuse_changed_key_ids(&published, &s.doc)?;
    warn_software_root_keys(ctx, &ws, &s.doc)?;
    for n in &s.notes {
        ctx.notice(n.clone());
    }
    // A staging verb sets the expiry too: say so, whatever else it changed.
    if let Some(before) = staged.as_ref().or(published.last())
        && before.expires() != s.doc.expires()
    {
        ctx.notice(format!(
            "root version {} expires {} (version {} expires {}); --expires sets another",
            s.doc.version(),
            s.doc.expires(),
            before.version(),
            before.expires()
        ));
    }
    // The transcript first: it is the authority on what is staged (a crash between the two
    // leaves the root staged before, which it still accepts).
    ctx.record(&ws, "root-staged", s.detail.clone())?;
    d.write_staged(&ws, &s.doc)?;
    Ok((ws, d, s))
}

/// A notice for each root key of `md` that is a software key.
fn warn_software_root_keys(ctx: &Context, ws: &Workspace, md: &Doc) -> Result<()> {
    let holders = Holders::of(ws)?;
    for id in md.role("root").map(|r| r.keyids.as_slice()).unwrap_or(&[]) {
        if let Some(r) = holders.record(md, id)
            && r.backend == Backend::Software
        {
            ctx.notice(format!(
                "root key {} is a software key: fine for trials, but a root key belongs in an HSM or a YubiKey",
                r.name
            ));
        }
    }
    Ok(())
}

/// `rootcellar root new`: stages version 1.
pub fn new(ctx: &Context, args: &NewRoot) -> Result<Staged> {
    let done = stage(ctx, |d, b| d.stage_new(b, args))?;
    staged(ctx, done)
}

/// `rootcellar root edit`: stages version N+1 from the latest published root (TUF: or adds to
/// the staged version).
pub fn edit_root(ctx: &Context, args: &EditRoot) -> Result<Staged> {
    let done = stage(ctx, |d, b| d.stage_edit(b, args))?;
    staged(ctx, done)
}

/// The staged root as the staging verbs report it.
fn staged(ctx: &Context, (ws, d, s): (Workspace, Dialect, Staging)) -> Result<Staged> {
    Ok(Staged {
        view: view(ctx, &d, &ws, &s.doc, "staged")?,
        certificates: s.report,
    })
}

/// `rootcellar rotate ROLE --old K --new K`: the same place in ROLE, another key (one
/// keyholder's new key included).
pub fn rotate(
    ctx: &Context,
    role: &str,
    old: &str,
    new: &str,
    expires: Option<&str>,
) -> Result<Staged> {
    let done = stage(ctx, |d, b| d.stage_rotate(b, role, old, new, expires))?;
    staged(ctx, done)
}

/// `rootcellar revoke K`: the key out of every role of the next root (Notary: out of the root
/// role). Refused as a whole when a role would fall below its threshold.
pub fn revoke(ctx: &Context, k: &str, reason: Option<&str>) -> Result<Staged> {
    let done = stage(ctx, |d, b| d.stage_revoke(b, k, reason))?;
    staged(ctx, done)
}

/// `rootcellar refresh [--expires T]`: the same keys, a new expiry (Notary: new certificates).
pub fn refresh(ctx: &Context, expires: Option<&str>) -> Result<Staged> {
    let done = stage(ctx, |d, b| d.stage_refresh(b, expires))?;
    staged(ctx, done)
}

/// `rootcellar notary root` in a Notary workspace: the next version with these root keys.
pub fn notary_stage(ctx: &Context, spec: &StageSpec) -> Result<Staged> {
    let done = stage(ctx, |d, b| d.stage_notary(b, spec))?;
    staged(ctx, done)
}

/// `rootcellar root discard`.
pub fn discard(ctx: &Context) -> Result<Option<u64>> {
    let ws = ctx.workspace()?;
    // Dropping a staged root needs no binding: it also clears one that a workspace made before
    // transcripts bound files cannot re-anchor.
    let _lock = ws.lock_only()?;
    // Read the version before dropping, even from a file edited by hand.
    let version = crate::readpath::read(
        &ws.dir.join("staged/root.json"),
        crate::readpath::Kind::Metadata,
    )
    .ok()
    .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
    .and_then(|v| {
        v.pointer("/signed/version")
            .and_then(serde_json::Value::as_u64)
    });
    if ws.discard_staged()? {
        ctx.record(
            &ws,
            "root-discarded",
            serde_json::json!({ "version": version }),
        )?;
        Ok(version.or(Some(0)))
    } else {
        Ok(None)
    }
}

/// A key that would sign version `version` but is a root key neither of it nor (`has_prev`) of
/// the version before.
pub(super) fn not_a_root_key(name: &str, version: u64, has_prev: bool) -> Error {
    Error::refused(format!(
        "key {name} is not a root key of version {version}{}: its signature would count for nothing",
        if has_prev { " or of the version before" } else { "" }
    ))
    .hint("`rootcellar root show` lists the root keys and who still has to sign")
}

/// The key IDs under which `rec`'s public key stands in the root role of `md` and of `prev`:
/// the first of each version, in that order.
pub(super) fn signing_ids(rec: &KeyRecord, md: &Doc, prev: Option<&Doc>) -> Vec<String> {
    let me = identity_of(rec);
    let mut ids: Vec<String> = Vec::new();
    for m in std::iter::once(md).chain(prev) {
        if let Some(id) = m.ids_in("root", &me).into_iter().next()
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    ids
}

/// Signs `md` with `rec` (the device signs, the signature is verified) and lists the signature
/// under each of `ids`, replacing earlier entries under them.
pub(super) fn sign_with(
    ctx: &Context,
    d: &Dialect,
    ws: &Workspace,
    md: &Doc,
    rec: &KeyRecord,
    ids: &[String],
    action: &str,
) -> Result<Doc> {
    let signer = ctx.signer(ws, rec)?;
    ctx.touch_notice(rec, action);
    let raw = signer.sign(md.canonical())?;
    let pk = rec.public_key()?;
    let sig = d.sign_entry(&ids[0], &pk, &raw)?;
    sig.verify(
        &crate::tuf::notary::NotaryPublicKey::Tuf(pk),
        md.canonical(),
    )
    .map_err(|e| {
        Error::environment(format!(
            "the signature just made by {} does not verify: {e}",
            rec.name
        ))
        .hint("the key or device is faulty; nothing was kept")
    })?;
    let mut sigs = md.signatures();
    sigs.retain(|s| !ids.iter().any(|id| id == s.keyid()));
    sigs.extend(ids.iter().map(|id| sig.under(id)));
    md.with_signatures(sigs)
}

/// `rootcellar sign --key K…`: signs the staged root; each signature is verified before it is
/// kept, and written at once so a later failure loses nothing.
/// `shown`: the digest the keyholder was shown (the ceremony screen), refused if the staged
/// root is no longer that one.
pub fn sign(
    ctx: &Context,
    keys: &[String],
    shown: Option<&str>,
) -> Result<crate::report::SignReport> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let _lock = ws.lock()?;
    let mut md = staged_or_refuse(&d, &ws)?;
    refuse_unshown(shown, &md)?;
    let prev = previous_of(&d, &ws, &md)?;
    refuse_changed_key_ids(&d.published(&ws)?, &md)?;
    let mut plan = Vec::new();
    for k in keys {
        let r = ws.resolve_key(k)?;
        let ids = signing_ids(&r, &md, prev.as_ref());
        if ids.is_empty() {
            return Err(not_a_root_key(&r.name, md.version(), prev.is_some()));
        }
        plan.push((r, ids));
    }
    ctx.air_gap("sign with a private key")?;
    announce(ctx, &diff(&Holders::of(&ws)?, prev.as_ref(), &md));
    let mut signed_by = Vec::new();
    for (r, ids) in &plan {
        md = sign_with(ctx, &d, &ws, &md, r, ids, "sign")
            .map_err(|e| e.after(&signed_by, "the signatures of"))?;
        d.write_staged(&ws, &md)?;
        ctx.record(
            &ws,
            "signature-added",
            d.tag(
                serde_json::json!({
                    "version": md.version(),
                    "key": r.name,
                    "keyid": ids[0],
                    "signed_sha256": md.digest(),
                }),
                true,
            ),
        )?;
        signed_by.push(r.name.clone());
    }
    warn_software_root_keys(ctx, &ws, &md)?;
    Ok(SignReport {
        version: md.version(),
        signed_by,
        status: status(ctx, &d, &ws, &md)?,
    })
}

/// Refuses to sign `md` when the keyholder was shown another root (`shown`, its digest).
pub(super) fn refuse_unshown(shown: Option<&str>, md: &Doc) -> Result<()> {
    let shown = shown.map(|s| {
        s.chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
            .to_ascii_lowercase()
    });
    match shown.as_deref() {
        Some(s) if s != md.digest() => Err(Error::refused(format!(
            "the root to sign changed since it was shown: its digest is {}, the one shown {}",
            crate::report::read_aloud(&md.digest()),
            crate::report::read_aloud(s)
        ))
        .hint("review it again before anyone signs; nothing was signed")),
        _ => Ok(()),
    }
}

/// Which key seals the transcript at publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealWith {
    /// The first key that signed the published version and whose private half is here.
    Auto,
    /// This key (a root key of the published version).
    Key(String),
    /// Do not seal (`--no-seal`): recorded as an override.
    Skip,
}

/// The key that seals the transcript when `md` is published, with its key ID there.
fn seal_key(ws: &Workspace, md: &Doc, with: &SealWith) -> Result<Option<(String, KeyRecord)>> {
    match with {
        SealWith::Skip => Ok(None),
        SealWith::Key(k) => {
            let rec = ws.resolve_key(k)?;
            let id = md
                .ids_in("root", &identity_of(&rec))
                .into_iter()
                .next()
                .ok_or_else(|| {
                    Error::refused(format!(
                        "key {} is not a root key of version {}: it cannot seal the transcript",
                        rec.name,
                        md.version()
                    ))
                    .hint("name one of the version's root keys with --seal-key")
                })?;
            Ok(Some((id, rec)))
        }
        SealWith::Auto => {
            let holders = Holders::of(ws)?;
            let root_ids = md
                .role("root")
                .map(|r| r.keyids.clone())
                .unwrap_or_default();
            for s in md.signatures() {
                if !root_ids.iter().any(|id| id == s.keyid()) {
                    continue;
                }
                if let Some(rec) = holders.record(md, s.keyid())
                    && rec.backend != Backend::Public
                    && rec.destroyed_at.is_none()
                {
                    return Ok(Some((s.keyid().to_string(), rec.clone())));
                }
            }
            Ok(None)
        }
    }
}

/// `rootcellar publish`: only a root that verifies completely, against the whole published
/// history, is written to `metadata/`. The transcript's head, with the publish line, is sealed
/// by a root key of that version before anything is written.
pub fn publish(ctx: &Context, seal: &SealWith) -> Result<PublishReport> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let _lock = ws.lock()?;
    let md = staged_or_refuse(&d, &ws)?;
    let bytes = md.file_bytes();
    let mut published = d.published(&ws)?;
    refuse_changed_key_ids(&published, &md)?;
    // A publish that crashed after writing N.root.json: finish it.
    let resumed = published.last().is_some_and(|p| {
        p.version() == md.version()
            && std::fs::read(ws.published_paths(p.version()).0).is_ok_and(|b| b == bytes)
    });
    if resumed {
        published.pop();
        ctx.notice(format!(
            "finishing the interrupted publish of version {}",
            md.version()
        ));
    }
    let chain = match published.split_first() {
        Some((first, rest)) => {
            let mut updates = rest.to_vec();
            updates.push(md.clone());
            d.verify_chain(first, &updates, ctx.now)
        }
        None => d.verify_chain(&md, &[], ctx.now),
    };
    if let Some(failure) = chain.failure {
        let hint = match status(ctx, &d, &ws, &md) {
            Ok(st) if !st.can_still_sign.is_empty() => format!(
                "sign with more root keys (`rootcellar sign --key K`): not yet signed by {}",
                st.can_still_sign.join(", ")
            ),
            _ => d.texts().fix_staged.to_string(),
        };
        return Err(Error::refused(format!(
            "cannot publish version {}: {failure}",
            md.version()
        ))
        .hint(hint));
    }
    for (id, actual) in md.keyid_mismatches() {
        ctx.notice(format!(
            "version {} carries key ID {} that is not the SHA-256 of its key object ({}), kept from the history it continues: python-tuf and go-tuf accept it, clients built on tough refuse this root",
            md.version(),
            id.chars().take(16).collect::<String>(),
            actual.get(..16).unwrap_or(&actual)
        ));
    }
    let digest = md.digest();
    let sealer = seal_key(&ws, &md, seal)?;
    let mut pending = ctx.transcript(&ws)?;
    let mut detail = d.tag(
        serde_json::json!({
            "version": md.version(),
            "expires": md.expires(),
            "signed_sha256": digest,
            "file_sha256": crate::workspace::digest_hex(&bytes),
            "signed_by": md.signatures().iter().map(|s| s.keyid().to_string()).collect::<Vec<_>>(),
        }),
        true,
    );
    match (seal, &sealer) {
        (SealWith::Skip, _) => detail["override_no_seal"] = true.into(),
        (_, None) => detail["no_seal_key"] = true.into(),
        _ => {}
    }
    if resumed {
        detail["resumed"] = serde_json::Value::Bool(true);
    }
    pending.add(ctx, "publish", detail)?;
    match &sealer {
        Some((id, rec)) => {
            ctx.air_gap("seal the transcript with a private key")?;
            let signer = ctx.signer(&ws, rec)?;
            ctx.touch_notice(rec, "seal the transcript");
            pending.seal(ctx, rec, id, signer.as_ref(), md.version())?;
        }
        None if *seal == SealWith::Auto => ctx.notice(format!(
            "the transcript was not sealed: no key that signed version {} has its private half in this workspace (name one with --seal-key)",
            md.version()
        )),
        None => ctx.notice("the transcript was not sealed (--no-seal)"),
    }
    let (a, b) = ws.publish_raw(md.version(), &bytes)?;
    pending.commit(&ws)?;
    // Last: until here, running publish again finishes what a crash interrupted.
    ws.discard_staged()?;
    Ok(PublishReport {
        version: md.version(),
        expires: md.expires().to_string(),
        files: vec![a, b],
        digest,
        sealed_by: sealer.map(|(_, r)| r.name),
    })
}

/// `rootcellar drill [--key K…]`: each key signs a fresh challenge and the signature is checked;
/// nothing is written. Default: the root keys of the staged (else published) root that this
/// workspace can use.
pub fn drill(ctx: &Context, keys: &[String]) -> Result<Vec<DrillResult>> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let recs = if keys.is_empty() {
        let base = match d.staged(&ws)? {
            Some(s) => s,
            None => d.published(&ws)?.pop().ok_or_else(|| {
                Error::refused("no root is published yet").hint(d.texts().stage_first)
            })?,
        };
        let holders = Holders::of(&ws)?;
        let mut out: Vec<KeyRecord> = Vec::new();
        for id in base
            .role("root")
            .map(|r| r.keyids.as_slice())
            .unwrap_or(&[])
        {
            if let Some(r) = holders.record(&base, id)
                && r.backend != Backend::Public
                && r.destroyed_at.is_none()
                && !out.iter().any(|o| o.name == r.name)
            {
                out.push(r.clone());
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

//! Root operations: stage version 1, edit the next version, show, discard, sign, publish.

use super::{Context, key_label};
use crate::error::{Error, Result};
use crate::tuf::edit::{self, Edit, RootPlan};
use crate::tuf::expiry::{format_tuf_time, parse_user_time, truncate};
use crate::tuf::verify::{ThresholdCheck, check_threshold, verify_chain};
use crate::tuf::{Key, Metadata, PublicKey, RoleKeys, Root, Signature};
use crate::workspace::{Backend, KeyRecord, Workspace, digest_hex};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// YubiKey keys: the attestation verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RoleView {
    pub role: String,
    pub threshold: u64,
    pub keys: Vec<String>,
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

/// Arguments of `root new`.
pub struct NewRoot {
    pub root_keys: Vec<String>,
    pub threshold: u64,
    pub targets_keys: Vec<String>,
    pub targets_threshold: u64,
    pub snapshot_key: String,
    pub timestamp_key: String,
    pub expires: Option<String>,
    pub consistent_snapshot: bool,
}

/// Arguments of `root edit`.
#[derive(Default)]
pub struct EditRoot {
    pub add: Vec<(String, String)>,
    pub remove: Vec<(String, String)>,
    pub thresholds: Vec<(String, u64)>,
    pub expires: Option<String>,
    pub drop_signatures: bool,
}

/// Digest for reading aloud: four groups of four hex digits.
pub fn read_aloud(digest: &str) -> String {
    let d: Vec<char> = digest.chars().take(16).collect();
    d.chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn expiry(ctx: &Context, ws: &Workspace, given: Option<&str>) -> Result<String> {
    let text = given.unwrap_or(&ws.config.root_expiry);
    let t = parse_user_time(text, ctx.now).map_err(Error::bad_input)?;
    let t = truncate(t);
    if t <= ctx.now {
        return Err(Error::bad_input(format!(
            "expiry {} is not in the future (now is {})",
            format_tuf_time(t),
            format_tuf_time(ctx.now)
        ))
        .hint("give a later date or a span like 365d"));
    }
    Ok(format_tuf_time(t))
}

fn resolve_all(ws: &Workspace, ks: &[String]) -> Result<Vec<KeyRecord>> {
    ks.iter().map(|k| ws.resolve_key(k)).collect()
}

/// A key may stand in a role only while it exists; a root key only if its device vouches for it
/// (or the operator said --force).
fn check_role_key(ctx: &Context, role: &str, rec: &KeyRecord) -> Result<()> {
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
        if !ctx.force {
            return Err(Error::refused(format!("key {} is refused as a root key: {why}", rec.name))
                .hint("use a key generated on the device, or pass --force if you accept this key for root"));
        }
        ctx.notice(format!(
            "key {} accepted as a root key because of --force: {why}",
            rec.name
        ));
    }
    Ok(())
}

fn warn_software_root_keys(ctx: &Context, ws: &Workspace, root: &Root) {
    if let Some(role) = root.role("root") {
        for id in &role.keyids {
            if let Ok(Some(r)) = ws.key_by_id(id)
                && r.backend == Backend::Software
            {
                ctx.notice(format!(
                    "root key {} is a software key: fine for trials, but a root key belongs in an HSM or a YubiKey",
                    r.name
                ));
            }
        }
    }
}

fn staged_or_refuse(ws: &Workspace) -> Result<Metadata<Root>> {
    ws.staged()?.ok_or_else(|| {
        Error::refused("no root is staged")
            .hint("stage version 1 with `rootcellar root new`, or the next version with `rootcellar root edit`")
    })
}

/// `rootcellar root new`: stages version 1.
pub fn new(ctx: &Context, args: &NewRoot) -> Result<RootView> {
    let ws = ctx.workspace()?;
    if ws.notary_gun().is_some() {
        return super::notary_ws::new_root(ctx, args);
    }
    let _lock = ws.lock()?;
    if !ws.published()?.is_empty() {
        return Err(Error::refused("version 1 is published already")
            .hint("stage the next version with `rootcellar root edit`"));
    }
    if ws.staged()?.is_some() {
        return Err(Error::refused("a root is staged already")
            .hint("publish it, or drop it with `rootcellar root discard` first"));
    }
    let role_keys = |role: &str, ks: &[String]| -> Result<Vec<Key>> {
        let recs = resolve_all(&ws, ks)?;
        let mut seen = Vec::new();
        for r in &recs {
            check_role_key(ctx, role, r)?;
            if seen.contains(&r.keyid) {
                return Err(Error::bad_input(format!(
                    "key {} is given twice for one role",
                    r.name
                ))
                .hint("name each key once; a threshold counts distinct keys"));
            }
            seen.push(r.keyid.clone());
        }
        Ok(recs.into_iter().map(|r| r.key).collect())
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
        expires: expiry(ctx, &ws, args.expires.as_deref())?,
        consistent_snapshot: args.consistent_snapshot,
    };
    let root = edit::new_root(plan).map_err(|e| {
        Error::refused(e).hint("give more keys for that role, or a lower threshold")
    })?;
    let md = Metadata::new(root).map_err(|e| Error::refused(e.to_string()))?;
    warn_software_root_keys(ctx, &ws, &md.signed);
    ws.write_staged(&md)?;
    ctx.record(&ws, "root-staged", staged_detail(&md))?;
    view(ctx, &ws, &md, "staged")
}

/// `rootcellar root edit`: stages version N+1 from the latest published root, or adds to the
/// staged version.
pub fn edit_root(ctx: &Context, args: &EditRoot) -> Result<RootView> {
    let ws = ctx.workspace()?;
    if ws.notary_gun().is_some() {
        return super::notary_ws::edit_root(ctx, args);
    }
    let _lock = ws.lock()?;
    let published = ws.published()?;
    let Some(latest) = published.last() else {
        return Err(Error::refused("no root is published yet")
            .hint("stage version 1 with `rootcellar root new`, sign it and publish it first"));
    };
    let staged = ws.staged()?;
    let mut root = match &staged {
        Some(s) => {
            if !s.signatures.is_empty() && !args.drop_signatures {
                let names: Vec<String> = s
                    .signatures
                    .iter()
                    .map(|g| key_label(&ws, &g.keyid))
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
                r.expires = expiry(ctx, &ws, Some(e))?;
            }
            r
        }
        None => edit::next_version(&latest.signed, expiry(ctx, &ws, args.expires.as_deref())?)
            .map_err(Error::refused)?,
    };
    let mut edits = Vec::new();
    for (role, k) in &args.add {
        let rec = ws.resolve_key(k)?;
        check_role_key(ctx, role, &rec)?;
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
        Error::refused(format!("edit refused: {e}")).hint("the staged root was left as it was")
    })?;
    let md = Metadata::new(root).map_err(|e| Error::refused(e.to_string()))?;
    warn_software_root_keys(ctx, &ws, &md.signed);
    ws.write_staged(&md)?;
    ctx.record(&ws, "root-staged", staged_detail(&md))?;
    view(ctx, &ws, &md, "staged")
}

/// What a transcript line says about a staged root.
pub fn staged_detail(md: &Metadata<Root>) -> serde_json::Value {
    let root_role = md.signed.role("root");
    serde_json::json!({
        "version": md.signed.version,
        "expires": md.signed.expires,
        "signed_sha256": digest_hex(md.canonical_signed()),
        "root_keyids": root_role.map(|r| r.keyids.clone()).unwrap_or_default(),
        "root_threshold": root_role.map(|r| r.threshold),
    })
}

/// `rootcellar root discard`.
pub fn discard(ctx: &Context) -> Result<Option<u64>> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    // Read the version before dropping, even from a file edited by hand.
    let version = std::fs::read(ws.dir.join("staged/root.json"))
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

/// `rootcellar root show`: the staged root, or the latest published one when none is staged.
pub fn show(ctx: &Context) -> Result<RootView> {
    let ws = ctx.workspace()?;
    if ws.notary_gun().is_some() {
        return super::notary_ws::show(ctx);
    }
    if let Some(md) = ws.staged()? {
        return view(ctx, &ws, &md, "staged");
    }
    match ws.published()?.pop() {
        Some(md) => view(ctx, &ws, &md, "published"),
        None => Err(Error::refused("no root is staged or published")
            .hint("stage version 1 with `rootcellar root new`")),
    }
}

fn previous_of(ws: &Workspace, md: &Metadata<Root>) -> Result<Option<Metadata<Root>>> {
    if md.signed.version <= 1 {
        return Ok(None);
    }
    let published = ws.published()?;
    if published.is_empty() {
        return Ok(None);
    }
    if let Some(p) = published
        .into_iter()
        .find(|m| Some(m.signed.version) == md.signed.version.checked_sub(1))
    {
        Ok(Some(p))
    } else {
        Err(Error::refused(format!(
            "version {} is staged but version {} is not published",
            md.signed.version,
            md.signed.version - 1
        ))
        .hint("drop the staged root with `rootcellar root discard` and stage it again"))
    }
}

/// Who has signed `md` and who still must, as of `ctx.now`.
pub fn status(ctx: &Context, ws: &Workspace, md: &Metadata<Root>) -> Result<Status> {
    let prev = previous_of(ws, md)?;
    let chain = match &prev {
        Some(p) => verify_chain(p, std::slice::from_ref(md), ctx.now),
        None => verify_chain(md, &[], ctx.now),
    };
    let last = chain.roots.last().cloned();
    let by_self = last.as_ref().map(|r| r.by_self.clone()).unwrap_or_else(|| {
        check_threshold(
            "",
            md.canonical_signed(),
            &md.signatures,
            &md.signed.keys,
            &RoleKeys::new(vec![], 1),
        )
    });
    let by_previous = prev
        .as_ref()
        .and_then(|_| last.as_ref().and_then(|r| r.by_previous.clone()));
    let mut problems = Vec::new();
    if let Some(f) = &chain.failure {
        problems.push(f.clone());
    }
    let mut can_still_sign = Vec::new();
    let mut consider = |role: Option<&RoleKeys>, check: &ThresholdCheck| {
        if check.met {
            return;
        }
        for id in role.map(|r| r.keyids.as_slice()).unwrap_or(&[]) {
            let label = key_label(ws, id);
            if !check.counted.contains(id) && !can_still_sign.contains(&label) {
                can_still_sign.push(label);
            }
        }
    };
    if let (Some(p), Some(c)) = (&prev, &by_previous) {
        consider(p.signed.role("root"), c);
    }
    consider(md.signed.role("root"), &by_self);
    Ok(Status {
        version: md.signed.version,
        by_previous,
        by_self,
        can_still_sign,
        publishable: chain.valid,
        problems,
    })
}

fn view(ctx: &Context, ws: &Workspace, md: &Metadata<Root>, source: &str) -> Result<RootView> {
    let records: BTreeMap<String, KeyRecord> = ws
        .keys()?
        .into_iter()
        .map(|r| (r.keyid.clone(), r))
        .collect();
    let root = &md.signed;
    let keys = root
        .keys
        .iter()
        .map(|(id, k)| {
            let pk: Option<PublicKey> = k.decode().ok();
            KeyView {
                keyid: id.clone(),
                name: records.get(id).map(|r| r.name.clone()),
                algorithm: pk
                    .as_ref()
                    .map(|p| p.algorithm().name().to_string())
                    .unwrap_or_else(|| k.keytype.clone()),
                fingerprint: pk.as_ref().map(|p| p.fingerprint()).unwrap_or_default(),
                backend: records.get(id).map(|r| r.backend.name().to_string()),
                roles: root
                    .roles
                    .iter()
                    .filter(|(_, r)| r.keyids.contains(id))
                    .map(|(n, _)| n.clone())
                    .collect(),
                attestation: records
                    .get(id)
                    .and_then(|r| super::yubikey::verdict(r, ctx.now))
                    .map(|v| v.summary()),
            }
        })
        .collect();
    let roles = ["root", "targets", "snapshot", "timestamp"]
        .iter()
        .filter_map(|n| root.roles.get(*n).map(|r| (n, r)))
        .map(|(n, r)| RoleView {
            role: n.to_string(),
            threshold: r.threshold,
            keys: r.keyids.iter().map(|id| key_label(ws, id)).collect(),
        })
        .collect();
    let prev = if source == "staged" {
        previous_of(ws, md)?
    } else {
        None
    };
    let signatures = md
        .signatures
        .iter()
        .map(|s| {
            let key = root
                .keys
                .get(&s.keyid)
                .or_else(|| prev.as_ref().and_then(|p| p.signed.keys.get(&s.keyid)));
            let result = match key.map(|k| k.decode()) {
                Some(Ok(pk)) => crate::tuf::sig::verify(&pk, md.canonical_signed(), &s.sig)
                    .map_err(|e| e.to_string()),
                Some(Err(e)) => Err(e.to_string()),
                None => Err("not a key of this root or the previous one".into()),
            };
            SigView {
                keyid: s.keyid.clone(),
                name: records.get(&s.keyid).map(|r| r.name.clone()),
                valid: result.is_ok(),
                problem: result.err(),
            }
        })
        .collect();
    let status = if source == "staged" {
        Some(status(ctx, ws, md)?)
    } else {
        None
    };
    Ok(RootView {
        source: source.into(),
        version: root.version,
        spec_version: root.spec_version.clone(),
        expires: root.expires.clone(),
        consistent_snapshot: root.consistent_snapshot,
        digest: digest_hex(md.canonical_signed()),
        keys,
        roles,
        signatures,
        status,
    })
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

/// What `sign` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SignReport {
    pub version: u64,
    /// Names of the keys that signed now.
    pub signed_by: Vec<String>,
    pub status: Status,
}

/// `rootcellar sign --key K…`: signs the staged root; each signature is verified before it is
/// kept, and written at once so a later failure loses nothing.
pub fn sign(ctx: &Context, keys: &[String]) -> Result<SignReport> {
    let ws = ctx.workspace()?;
    if ws.notary_gun().is_some() {
        return super::notary_ws::sign(ctx, keys);
    }
    let _lock = ws.lock()?;
    let mut md = staged_or_refuse(&ws)?;
    let prev = previous_of(&ws, &md)?;
    let recs = resolve_all(&ws, keys)?;
    let is_root_key = |id: &String| {
        md.signed
            .role("root")
            .is_some_and(|r| r.keyids.contains(id))
            || prev
                .as_ref()
                .is_some_and(|p| p.signed.role("root").is_some_and(|r| r.keyids.contains(id)))
    };
    for r in &recs {
        if !is_root_key(&r.keyid) {
            return Err(not_a_root_key(&r.name, md.signed.version, prev.is_some()));
        }
    }
    ctx.air_gap("sign with a private key")?;
    let mut signed_by = Vec::new();
    for r in &recs {
        let signer = ctx.signer(&ws, r)?;
        ctx.touch_notice(r, "sign");
        let sig = signer.sign(md.canonical_signed())?;
        let pk = r.public_key()?;
        crate::tuf::sig::verify(&pk, md.canonical_signed(), &hex::encode(&sig)).map_err(|e| {
            Error::environment(format!(
                "the signature just made by {} does not verify: {e}",
                r.name
            ))
            .hint("the key or device is faulty; nothing was kept")
        })?;
        md.signatures.retain(|s| s.keyid != r.keyid);
        md.signatures.push(Signature::new(r.keyid.clone(), &sig));
        ws.write_staged(&md)?;
        ctx.record(
            &ws,
            "signature-added",
            serde_json::json!({
                "version": md.signed.version,
                "key": r.name,
                "keyid": r.keyid,
                "signed_sha256": digest_hex(md.canonical_signed()),
            }),
        )?;
        signed_by.push(r.name.clone());
    }
    warn_software_root_keys(ctx, &ws, &md.signed);
    Ok(SignReport {
        version: md.signed.version,
        signed_by,
        status: status(ctx, &ws, &md)?,
    })
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

/// The key that seals the transcript when version `md` is published.
fn seal_key(ws: &Workspace, md: &Metadata<Root>, with: &SealWith) -> Result<Option<KeyRecord>> {
    let root_ids: Vec<String> = md
        .signed
        .role("root")
        .map(|r| r.keyids.clone())
        .unwrap_or_default();
    match with {
        SealWith::Skip => Ok(None),
        SealWith::Key(k) => {
            let rec = ws.resolve_key(k)?;
            if !root_ids.contains(&rec.keyid) {
                return Err(Error::refused(format!(
                    "key {} is not a root key of version {}: it cannot seal the transcript",
                    rec.name, md.signed.version
                ))
                .hint("name one of the version's root keys with --seal-key"));
            }
            Ok(Some(rec))
        }
        SealWith::Auto => {
            for s in &md.signatures {
                if !root_ids.contains(&s.keyid) {
                    continue;
                }
                if let Some(rec) = ws.key_by_id(&s.keyid)?
                    && rec.backend != Backend::Public
                    && rec.destroyed_at.is_none()
                {
                    return Ok(Some(rec));
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
    if ws.notary_gun().is_some() {
        return super::notary_ws::publish(ctx, seal);
    }
    let _lock = ws.lock()?;
    let md = staged_or_refuse(&ws)?;
    let mut published = ws.published()?;
    // A publish that crashed after writing N.root.json: finish it.
    let resumed = published
        .last()
        .is_some_and(|p| p.signed.version == md.signed.version)
        && ws.is_published_as(&md)?;
    if resumed {
        published.pop();
        ctx.notice(format!(
            "finishing the interrupted publish of version {}",
            md.signed.version
        ));
    }
    let chain = match published.split_first() {
        Some((first, rest)) => {
            let mut updates = rest.to_vec();
            updates.push(md.clone());
            verify_chain(first, &updates, ctx.now)
        }
        None => verify_chain(&md, &[], ctx.now),
    };
    if let Some(failure) = chain.failure {
        let st = status(ctx, &ws, &md)?;
        let hint = if st.can_still_sign.is_empty() {
            "fix the staged root (`rootcellar root show`), or discard it".to_string()
        } else {
            format!(
                "sign with more root keys (`rootcellar sign --key K`): not yet signed by {}",
                st.can_still_sign.join(", ")
            )
        };
        return Err(Error::refused(format!(
            "cannot publish version {}: {failure}",
            md.signed.version
        ))
        .hint(hint));
    }
    let sealer = seal_key(&ws, &md, seal)?;
    let mut pending = ctx.transcript(&ws)?;
    let mut detail = serde_json::json!({
        "version": md.signed.version,
        "expires": md.signed.expires,
        "signed_sha256": digest_hex(md.canonical_signed()),
        "file_sha256": digest_hex(&md.to_file_bytes()),
        "signed_by": md.signatures.iter().map(|s| s.keyid.clone()).collect::<Vec<_>>(),
    });
    if *seal == SealWith::Skip {
        detail["override_no_seal"] = serde_json::Value::Bool(true);
    }
    if resumed {
        detail["resumed"] = serde_json::Value::Bool(true);
    }
    pending.add(ctx, "publish", detail)?;
    match &sealer {
        Some(rec) => {
            ctx.air_gap("seal the transcript with a private key")?;
            let signer = ctx.signer(&ws, rec)?;
            ctx.touch_notice(rec, "seal the transcript");
            pending.seal(ctx, rec, &rec.keyid, signer.as_ref(), md.signed.version)?;
        }
        None if *seal == SealWith::Auto => ctx.notice(format!(
            "the transcript was not sealed: no key that signed version {} has its private half in this workspace (name one with --seal-key)",
            md.signed.version
        )),
        None => ctx.notice("the transcript was not sealed (--no-seal)"),
    }
    let (a, b) = ws.publish(&md)?;
    pending.commit(&ws)?;
    // Last: until here, running publish again finishes what a crash interrupted.
    ws.discard_staged()?;
    Ok(PublishReport {
        version: md.signed.version,
        expires: md.signed.expires.clone(),
        files: vec![a, b],
        digest: digest_hex(md.canonical_signed()),
        sealed_by: sealer.map(|r| r.name),
    })
}

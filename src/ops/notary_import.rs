//! Taking a Notary repository over (`import notary DIR`) and handing its trust over to TUF
//! 1.0 (`notary handover`, `notary check-handover`).

use super::Context;
use super::notary_ws::{Holders, gun_of, identity, parse, read_input};
use crate::error::{Error, Result};
use crate::tuf::expiry::{Timestamp, format_tuf_time, parse_user_time};
use crate::tuf::notary::{NotaryMetadata, NotaryTargetsFile, check_threshold};
use crate::workspace::{KeyRecord, digest_hex};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// A root key of an imported Notary root.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ImportedKey {
    pub keyid: String,
    pub keytype: String,
    /// The workspace key with this public key, when one is registered.
    pub held_as: Option<String>,
    pub certificate_ends: Option<String>,
}

/// A delegated tagging role found in the imported `targets.json`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ImportedDelegation {
    pub role: String,
    pub threshold: u64,
    pub paths: Vec<String>,
    pub keytypes: Vec<String>,
}

/// What `notary import` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub gun: String,
    pub source: PathBuf,
    pub version: u64,
    pub expires: String,
    pub files: Vec<PathBuf>,
    pub threshold: u64,
    pub root_keys: Vec<ImportedKey>,
    pub delegations: Vec<ImportedDelegation>,
    pub warnings: Vec<String>,
}

/// Where a trust folder keeps `root.json`: DIR itself, or Docker's `DIR/tuf/GUN/metadata/`.
fn find_root(dir: &Path, gun: &str) -> Result<PathBuf> {
    let candidates = [
        dir.join("root.json"),
        dir.join("tuf").join(gun).join("metadata").join("root.json"),
        dir.join(gun).join("metadata").join("root.json"),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            Error::bad_input(format!(
                "no root.json for {gun} in {} (looked in {})",
                dir.display(),
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .hint("point at the folder holding root.json, or at Docker's trust folder (~/.docker/trust)")
        })
}

/// `rootcellar notary import DIR`: starts this Notary workspace's history from an existing
/// repository's `root.json`, so the next `notary root` rotates or renews it. The root must be
/// signed by a threshold of its own root keys, whose certificates name this workspace's GUN;
/// expired certificates or metadata are imported with a warning (Notary accepts a rotation
/// signed by them, and renewing them is the usual reason for the ceremony). The delegations of
/// `targets.json` beside it are read and checked, and reported.
pub fn import(ctx: &Context, dir: &Path) -> Result<ImportReport> {
    let ws = ctx.workspace()?;
    let gun = gun_of(&ws)?;
    let _lock = ws.lock()?;
    if !ws.published_files()?.is_empty() || ws.staged_raw()?.is_some() {
        return Err(Error::refused(
            "this workspace already has a root history; import starts a new one",
        )
        .hint(
            "import into a new workspace: `rootcellar init --format notary --gun NAME --dir NEW`",
        ));
    }
    let path = find_root(dir, &gun)?;
    let bytes = read_input(&path)?;
    let md = NotaryMetadata::from_bytes(&bytes)
        .map_err(|e| Error::bad_input(format!("{} is not a Notary root: {e}", path.display())))?;
    let role = md
        .signed
        .roles
        .get("root")
        .cloned()
        .ok_or_else(|| Error::bad_input("the root has no root role"))?;
    // Signatures and names, with certificate dates left to the warnings below.
    let by_self = check_threshold(
        &format!("root v{}", md.signed.version),
        &md.signatures,
        md.canonical_signed(),
        &md.signed.keys,
        &role,
        None,
        Some(&gun),
    );
    if !by_self.met {
        let mut why = format!(
            "{} is not signed by {} of its own root keys for {gun} ({} counted)",
            path.display(),
            role.threshold,
            by_self.count()
        );
        if !by_self.notes.is_empty() {
            why.push_str(&format!(": {}", by_self.notes.join("; ")));
        }
        return Err(Error::refused(why)
            .hint("check the GUN (`--gun` at init) and that this is the repository's root.json"));
    }
    let mut warnings = Vec::new();
    let records = Holders::of(&ws)?;
    let root_keys: Vec<ImportedKey> = role
        .keyids
        .iter()
        .filter_map(|id| md.signed.keys.get(id).map(|k| (id, k)))
        .map(|(id, k)| {
            let end = crate::tuf::notary::certificate_end(k);
            if let Some(e) = end
                && e <= ctx.now
            {
                warnings.push(format!(
                    "root certificate {} ended on {}: Notary clients refuse this root until it is renewed (`rootcellar notary root --renew`)",
                    id.chars().take(12).collect::<String>(),
                    format_tuf_time(e)
                ));
            }
            ImportedKey {
                keyid: id.clone(),
                keytype: k.keytype.clone(),
                held_as: records.of_key(k).map(|r| r.name.clone()),
                certificate_ends: end.map(format_tuf_time),
            }
        })
        .collect();
    if let Ok(exp) = crate::tuf::notary::parse_expires(&md.signed.expires)
        && exp <= ctx.now
    {
        warnings.push(format!(
            "the root expired on {}: stage and publish the next version",
            md.signed.expires
        ));
    }
    let held = root_keys.iter().filter(|k| k.held_as.is_some()).count() as u64;
    if held < role.threshold {
        warnings.push(format!(
            "this workspace holds {held} of the {} root keys the next version needs: register them (`rootcellar key add` for a device) before `notary root`",
            role.threshold
        ));
    }
    // The delegations beside it, checked against this root.
    let mut delegations = Vec::new();
    let folder = path.parent().unwrap_or(dir);
    let targets_path = folder.join("targets.json");
    let mut targets_file = None;
    if targets_path.is_file() {
        let tb = std::fs::read(&targets_path).map_err(|e| Error::io("read", &targets_path, &e))?;
        match NotaryTargetsFile::from_bytes(&tb) {
            Ok(t) => {
                let check = crate::tuf::notary::verify_targets(
                    &md,
                    &[("targets".to_string(), t.clone())],
                    ctx.now,
                );
                for c in check.iter().filter(|c| !c.errors.is_empty()) {
                    warnings.push(format!("targets.json: {}", c.errors.join("; ")));
                }
                // Kept (so `delegate` goes on from its version and keeps its targets) when the
                // repository key signed it; an expired one is still a base to re-sign.
                if check.first().is_some_and(|c| c.signatures.met) {
                    targets_file = Some((t.signed.version, tb.clone()));
                } else {
                    warnings.push(
                        "targets.json is not signed by the root's targets key: not kept".into(),
                    );
                }
                for d in &t.signed.delegations.roles {
                    delegations.push(ImportedDelegation {
                        role: d.name.clone(),
                        threshold: d.threshold,
                        paths: d.paths.clone(),
                        keytypes: d
                            .keyids
                            .iter()
                            .filter_map(|id| t.signed.delegations.keys.get(id))
                            .map(|k| k.keytype.clone())
                            .collect(),
                    });
                }
            }
            Err(e) => warnings.push(format!("targets.json is not usable: {e}")),
        }
    }
    let (a, b) = ws.publish_raw(md.signed.version, &bytes)?;
    let mut files = vec![a, b];
    if let Some((v, tb)) = &targets_file {
        let (c, d) = ws.publish_role_raw("targets", *v, tb)?;
        files.extend([c, d]);
    }
    ctx.record(
        &ws,
        "notary-import",
        serde_json::json!({
            "gun": gun,
            "source": path.display().to_string(),
            "version": md.signed.version,
            "sha256": digest_hex(&bytes),
            "signed_sha256": digest_hex(md.canonical_signed()),
            "root_keyids": role.keyids,
            "delegations": delegations.iter().map(|d| d.role.clone()).collect::<Vec<_>>(),
            "targets_sha256": targets_file.as_ref().map(|(_, b)| digest_hex(b)),
        }),
    )?;
    Ok(ImportReport {
        gun,
        source: path,
        version: md.signed.version,
        expires: md.signed.expires.clone(),
        files,
        threshold: role.threshold,
        root_keys,
        delegations,
        warnings,
    })
}

/// Options of `notary handover`.
pub struct HandoverSpec<'a> {
    /// The TUF root (version 1 of the new history, usually) the statement hands over to.
    pub tuf_root: &'a Path,
    /// Write a new statement here (never over an existing file)…
    pub out: Option<&'a Path>,
    /// …or add signatures to this one.
    pub add_to: Option<&'a Path>,
    /// Root keys to sign with (default: every root key of the published Notary root held here).
    pub keys: &'a [String],
    /// Lifetime of a new statement, e.g. "365d" or a date.
    pub expires: Option<&'a str>,
}

/// What `notary handover` did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct HandoverReport {
    pub path: PathBuf,
    pub signed_by: Vec<String>,
    pub check: crate::tuf::handover::HandoverCheck,
}

/// `rootcellar notary handover`: a statement, signed by root keys of the published Notary
/// root, that names the TUF root which follows it. Each keyholder may sign apart
/// (`--add-to`); the report says whether the threshold is met.
pub fn handover(ctx: &Context, spec: &HandoverSpec) -> Result<HandoverReport> {
    use crate::tuf::handover::{HANDOVER_TYPE, Handover, HandoverBody, RootRef, check};
    let ws = ctx.workspace()?;
    let gun = gun_of(&ws)?;
    let _lock = ws.lock()?;
    let (from_version, notary_bytes) = ws.published_files()?.pop().ok_or_else(|| {
        Error::refused("no Notary root is published here").hint(
            "publish one, or `rootcellar import notary DIR` the repository's current root.json",
        )
    })?;
    let notary_root = parse(&notary_bytes, &ws.published_paths(from_version).0)?;
    let tuf_bytes = read_input(spec.tuf_root)?;
    let tuf = crate::tuf::Metadata::<crate::tuf::Root>::from_bytes(&tuf_bytes).map_err(|e| {
        Error::bad_input(format!(
            "{} is not a TUF 1.0 root: {e}",
            spec.tuf_root.display()
        ))
    })?;
    if let Some(f) = crate::tuf::verify::verify_chain(&tuf, &[], ctx.now).failure {
        return Err(Error::refused(format!(
            "the TUF root {} does not verify on its own, so it cannot be handed over to: {f}",
            spec.tuf_root.display()
        ))
        .hint("publish the TUF root first (in its own workspace) and name its N.root.json"));
    }
    let (mut statement, path) = match (spec.out, spec.add_to) {
        (Some(out), None) => {
            if out.exists() {
                return Err(Error::refused(format!(
                    "{} exists; rootcellar does not overwrite a hand-over",
                    out.display()
                ))
                .hint("add signatures to it with --add-to, or choose another --out"));
            }
            let exp = crate::tuf::expiry::truncate(
                parse_user_time(spec.expires.unwrap_or("365d"), ctx.now)
                    .map_err(Error::bad_input)?,
            );
            if exp <= ctx.now {
                return Err(Error::bad_input("the hand-over would expire at once")
                    .hint("give a span like 365d or a later date"));
            }
            (
                Handover {
                    signed: HandoverBody {
                        type_: HANDOVER_TYPE.into(),
                        gun: gun.clone(),
                        expires: format_tuf_time(exp),
                        from: RootRef::of("notary", from_version, &notary_bytes),
                        to: RootRef::of("tuf", tuf.signed.version, &tuf_bytes),
                    },
                    signatures: Vec::new(),
                },
                out.to_path_buf(),
            )
        }
        (None, Some(add)) => {
            let h = Handover::from_bytes(&read_input(add)?)
                .map_err(|e| Error::bad_input(format!("{}: {e}", add.display())))?;
            if h.signed.from != RootRef::of("notary", from_version, &notary_bytes) {
                return Err(Error::refused(format!(
                    "{} hands over from Notary root version {}, not from the one published here (version {from_version})",
                    add.display(),
                    h.signed.from.version
                ))
                .hint("make a new statement with --out"));
            }
            if h.signed.to != RootRef::of("tuf", tuf.signed.version, &tuf_bytes) {
                return Err(Error::refused(format!(
                    "{} names another TUF root than {}",
                    add.display(),
                    spec.tuf_root.display()
                ))
                .hint("give the TUF root the statement names"));
            }
            (h, add.to_path_buf())
        }
        _ => {
            return Err(
                Error::bad_input("give --out FILE (a new statement) or --add-to FILE")
                    .hint("--out for the first keyholder, --add-to for the others"),
            );
        }
    };
    // Which keys sign, and under which key ID of the Notary root.
    let empty = Vec::new();
    let role_ids = notary_root
        .signed
        .roles
        .get("root")
        .map(|r| &r.keyids)
        .unwrap_or(&empty);
    let id_for = |rec: &KeyRecord| -> Option<String> {
        let me = rec.public_key().ok()?.identity();
        role_ids
            .iter()
            .find(|id| {
                notary_root
                    .signed
                    .keys
                    .get(*id)
                    .and_then(identity)
                    .as_deref()
                    == Some(me.as_slice())
            })
            .cloned()
    };
    let mut plan = Vec::new();
    if spec.keys.is_empty() {
        for r in ws.keys()? {
            if r.backend != crate::workspace::Backend::Public
                && r.destroyed_at.is_none()
                && let Some(id) = id_for(&r)
            {
                plan.push((id, r));
            }
        }
        if plan.is_empty() {
            return Err(Error::refused(format!(
                "this workspace holds no root key of Notary root version {from_version}"
            ))
            .hint("register the root keys here (`rootcellar key add`), or sign where they are"));
        }
    } else {
        for k in spec.keys {
            let r = ws.resolve_key(k)?;
            let id = id_for(&r).ok_or_else(|| {
                Error::refused(format!(
                    "key {} is not a root key of Notary root version {from_version}",
                    r.name
                ))
                .hint("`rootcellar status` and `import notary` name the root keys")
            })?;
            plan.push((id, r));
        }
    }
    let message = statement
        .message()
        .map_err(|e| Error::environment(format!("canonical JSON: {e}")))?;
    ctx.air_gap("sign with a private key")?;
    let mut signed_by = Vec::new();
    for (id, r) in &plan {
        let signer = ctx.signer(&ws, r)?;
        ctx.touch_notice(r, "sign the hand-over");
        let sig = super::notary::sign(signer.as_ref(), id, &message)?;
        let pk = crate::tuf::notary::NotaryPublicKey::Tuf(r.public_key()?);
        crate::tuf::notary::verify_signature(&pk, &sig, &message).map_err(|e| {
            Error::environment(format!(
                "the signature just made by {} does not verify: {e}",
                r.name
            ))
            .hint("the key or device is faulty; nothing was kept")
        })?;
        statement.signatures.retain(|s| s.keyid != *id);
        statement.signatures.push(sig);
        signed_by.push(r.name.clone());
    }
    let bytes = statement.to_file_bytes();
    if spec.add_to.is_some() {
        crate::atomic::write_atomic(&path, &bytes)?;
    } else {
        crate::atomic::write_new_atomic(&path, &bytes)?;
    }
    let verdict = check(&statement, &notary_bytes, &tuf_bytes, ctx.now);
    ctx.record(
        &ws,
        "handover",
        serde_json::json!({
            "gun": gun,
            "path": path.display().to_string(),
            "sha256": digest_hex(&bytes),
            "from": statement.signed.from,
            "to": statement.signed.to,
            "signed_by": signed_by,
            "threshold_met": verdict.signatures.met,
        }),
    )?;
    Ok(HandoverReport {
        path,
        signed_by,
        check: verdict,
    })
}

/// `rootcellar notary check-handover`: the verdict a client that trusts the Notary root would
/// reach. Reads files only; needs no workspace.
pub fn check_handover(
    statement: &Path,
    notary_root: &Path,
    tuf_root: &Path,
    at: Timestamp,
) -> Result<crate::tuf::handover::HandoverCheck> {
    let h = crate::tuf::handover::Handover::from_bytes(&read_input(statement)?)
        .map_err(|e| Error::bad_input(format!("{}: {e}", statement.display())))?;
    Ok(crate::tuf::handover::check(
        &h,
        &read_input(notary_root)?,
        &read_input(tuf_root)?,
        at,
    ))
}

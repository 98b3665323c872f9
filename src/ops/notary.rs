//! The Notary-only commands: `notary root --out` (a whole Notary root in one go),
//! `notary certificate` (a root key's certificate made on its device, for a ceremony here or
//! elsewhere), `import notary DIR` (taking a repository over) and the DCT → TUF 1.0 hand-over
//! (`notary handover`, `notary check-handover`). The staged / signed / published flow of a
//! Notary workspace is the same as TUF's (`root`, `request`, `delegate`), through `dialect`.

use super::context::Context;
use super::root::{StageSpec, sign_with, signing_ids};
use crate::dialect::notary::{certificate_key, signature};
use crate::dialect::{Base, Dialect, Doc, Holders, identity_of};
use crate::error::{Error, Result};
use crate::readpath::read_input;
use crate::signer::Signer;
use crate::signer::notary_cert::{check_root_keys, root_certificate, validity};
use crate::tuf::expiry::{Timestamp, format_tuf_time, parse_user_time};
pub use crate::tuf::notary::{ImportedDelegation, ImportedKey};
use crate::tuf::notary::{NotaryMetadata, NotarySignature};
use crate::workspace::{KeyRecord, Workspace, digest_hex};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The GUN of a Notary workspace; a TUF workspace is refused.
fn gun_of(ws: &Workspace) -> Result<String> {
    Dialect::of(ws).gun().map(str::to_string).ok_or_else(|| {
        Error::refused("this workspace keeps TUF 1.0 metadata, not Notary v1")
            .hint("start a Notary workspace in a new folder: `rootcellar init --format notary --gun NAME`")
    })
}

/// The repository of the workspace in `ctx`, when it is a Notary workspace.
pub fn workspace_gun(ctx: &Context) -> Option<String> {
    ctx.workspace().ok().and_then(|ws| gun_of(&ws).ok())
}

/// A Notary signature by `signer` over `message`.
fn notary_sign(signer: &dyn Signer, keyid: &str, message: &[u8]) -> Result<NotarySignature> {
    signature(keyid, signer.public_key(), &signer.sign(message)?)
}

/// What `notary root` wrote.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct NotaryRootReport {
    pub path: String,
    pub gun: String,
    /// The root keys' Notary key IDs (over their certificates), in the order given.
    pub root_keyids: Vec<String>,
    pub threshold: u64,
    pub expires: String,
    pub version: u64,
}

/// Options for a first Notary root.
pub struct NotaryRootSpec<'a> {
    pub gun: &'a str,
    pub root_keys: &'a [String],
    pub threshold: u64,
    pub targets: &'a str,
    pub snapshot: &'a str,
    pub timestamp: &'a str,
    pub years: u32,
    pub out: &'a std::path::Path,
    /// The current root, to write the next version: signed by a threshold of its root keys
    /// too (those held in this workspace), every root key with a new certificate.
    pub previous: Option<&'a std::path::Path>,
}

/// Writes a Notary root for `gun`: version 1, or with `previous` the next version (a rotation,
/// or a certificate renewal: the same device key with a new certificate, so a new key ID).
/// Staged as a Notary workspace stages a renewal (each root key with a certificate made on its
/// own device), signed by every new root key and, for a next version, by a threshold of the
/// previous root's keys held here (a renewed key signs once, listed under both key IDs); checked
/// as Notary checks it, and only then written (atomically, never over an existing file).
pub fn write_root(ctx: &Context, spec: &NotaryRootSpec) -> Result<NotaryRootReport> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_root_keys(spec.root_keys, spec.threshold, spec.years)?;
    if spec.out.exists() {
        return Err(Error::refused(format!(
            "{} exists; rootcellar does not overwrite a root",
            spec.out.display()
        ))
        .hint("choose another --out"));
    }
    let d = Dialect::Notary {
        gun: spec.gun.into(),
    };
    // The previous root and the keys here that vouch for its successor, before any device work.
    let mut published = Vec::new();
    let mut vouching = Vec::new();
    if let Some(p) = spec.previous {
        let prev = d
            .parse(&read_input(p)?)
            .map_err(|e| Error::bad_input(format!("{} is not a Notary root: {e}", p.display())))?;
        let role = prev
            .role("root")
            .cloned()
            .ok_or_else(|| Error::bad_input(format!("{} has no root role", p.display())))?;
        let holders = Holders::of(&ws)?;
        for id in &role.keyids {
            if let Some(r) = holders.record(&prev, id)
                && r.backend != crate::workspace::Backend::Public
            {
                vouching.push((id.clone(), r.clone()));
            }
        }
        if (vouching.len() as u64) < role.threshold {
            return Err(Error::refused(format!(
                "version {} needs {} signature(s) from its root keys to vouch for the next version; this workspace holds {} of them",
                prev.version(),
                role.threshold,
                vouching.len()
            ))
            .hint("register the current root keys here (`key add` for a device, `key generate` records) or sign where they are"));
        }
        vouching.truncate(role.threshold as usize);
        published.push(prev);
    }
    ctx.air_gap("sign with a private key")?;
    let staging = d.stage_notary(
        &Base {
            dev: ctx,
            ws: &ws,
            published: &published,
            staged: None,
        },
        &StageSpec {
            targets: Some(spec.targets),
            snapshot: Some(spec.snapshot),
            timestamp: Some(spec.timestamp),
            years: spec.years,
            renew: true,
            ..StageSpec::keys(spec.root_keys, spec.threshold)
        },
    )?;
    let prev = published.first();
    let mut md = staging.doc;
    for name in spec.root_keys {
        let rec = ws.resolve_key(name)?;
        let ids = signing_ids(&rec, &md, prev);
        md = sign_with(ctx, &d, &ws, &md, &rec, &ids, "sign")?;
    }
    for (id, rec) in &vouching {
        if !md.signatures().iter().any(|s| s.keyid() == id) {
            md = sign_with(ctx, &d, &ws, &md, rec, std::slice::from_ref(id), "sign")?;
        }
    }
    // Checked as a Notary client would before it leaves the machine.
    let check = match prev {
        Some(p) => d.verify_chain(p, std::slice::from_ref(&md), ctx.now),
        None => d.verify_chain(&md, &[], ctx.now),
    };
    if let Some(f) = check.failure {
        return Err(Error::refused(format!(
            "the root just made does not verify, nothing written: {f}"
        )));
    }
    let bytes = md.file_bytes();
    crate::atomic::write_new_public(spec.out, &bytes)?;
    let root_keyids = md
        .role("root")
        .map(|r| r.keyids.clone())
        .unwrap_or_default();
    ctx.record(
        &ws,
        "notary-root",
        serde_json::json!({
            "gun": spec.gun,
            "out": spec.out.display().to_string(),
            "sha256": digest_hex(&bytes),
            "version": md.version(),
            "root_keyids": root_keyids,
            "threshold": spec.threshold,
        }),
    )?;
    Ok(NotaryRootReport {
        path: spec.out.display().to_string(),
        gun: spec.gun.into(),
        root_keyids,
        threshold: spec.threshold,
        expires: md.expires().to_string(),
        version: md.version(),
    })
}

/// What `notary certificate` wrote.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct CertificateReport {
    pub path: String,
    pub key: String,
    pub gun: String,
    pub not_after: String,
    /// The Notary key ID the certificate gives the key.
    pub keyid: String,
}

/// `rootcellar notary certificate --key K [--gun NAME] [--out FILE]`: the self-signed root
/// certificate for K, made on K's own device. With `--out`, written to FILE for a ceremony
/// elsewhere (`key import FILE` there); without, kept in K's record for `notary root` here, so
/// staging needs no device (the ceremony screen makes certificates one key, one PIN at a time).
pub fn write_certificate(
    ctx: &Context,
    key: &str,
    gun: &str,
    years: u32,
    out: Option<&std::path::Path>,
) -> Result<CertificateReport> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    if !(1..=30).contains(&years) {
        return Err(Error::bad_input("--years must be 1 to 30").hint("e.g. --years 10"));
    }
    if let Some(out) = out
        && out.exists()
    {
        return Err(Error::refused(format!("{} exists", out.display()))
            .hint("choose another --out; rootcellar does not overwrite it"));
    }
    if out.is_none() && Dialect::of(&ws).gun() != Some(gun) {
        return Err(Error::bad_input(format!(
            "a certificate for {gun} is kept only in a Notary workspace for that repository"
        ))
        .hint("write it to a file with --out FILE and bring it to the ceremony"));
    }
    let rec = ws.resolve_key(key)?;
    if rec.backend == crate::workspace::Backend::Public {
        return Err(Error::refused(format!(
            "key {} has no private half here: its certificate is made where the key is",
            rec.name
        ))
        .hint("its keyholder runs `rootcellar notary certificate --key K --gun NAME --out FILE`"));
    }
    ctx.air_gap("sign a root certificate with a private key")?;
    let signer = ctx.signer(&ws, &rec)?;
    ctx.touch_notice(&rec, "sign its certificate");
    let (not_before, not_after) = validity(ctx.now, years);
    let pem = root_certificate(signer.as_ref(), gun, not_before, not_after)?;
    let keyid = certificate_key(&pem).keyid();
    let path = match out {
        Some(out) => {
            crate::atomic::write_new_public(out, pem.as_bytes())?;
            out.display().to_string()
        }
        None => {
            let mut updated = ws.resolve_key(&rec.name)?;
            updated.certificate = Some(pem.clone());
            ws.update_key_record(&updated)?;
            format!("keys/{}.json", rec.name)
        }
    };
    ctx.record(
        &ws,
        "notary-certificate",
        serde_json::json!({
            "key": rec.name,
            "gun": gun,
            "out": path,
            "sha256": crate::workspace::digest_hex(pem.as_bytes()),
            "notary_keyid": keyid,
        }),
    )?;
    Ok(CertificateReport {
        path: path.clone(),
        key: rec.name,
        gun: gun.into(),
        not_after: crate::tuf::expiry::format_tuf_time(not_after),
        keyid,
    })
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
    let _lock = ws.lock_only()?;
    // An import interrupted after its transcript line (its intent) is finished, not refused.
    let resume = ws.resume_interrupted("notary-import")?;
    ws.check_bound()?;
    if resume.is_none() && (!ws.published_files()?.is_empty() || ws.staged_raw()?.is_some()) {
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
    let targets_path = path.parent().unwrap_or(dir).join("targets.json");
    let targets = match targets_path.is_file() {
        true => Some(read_input(&targets_path)?),
        false => None,
    };
    let found = crate::tuf::notary::assess_import(&md, &gun, ctx.now, targets.as_deref()).map_err(
        |why| {
            Error::refused(format!("{}{why}", path.display()))
                .hint("check the GUN (`--gun` at init) and that this is the repository's root.json")
        },
    )?;
    let records = Holders::of(&ws)?;
    let doc = Doc::Notary(md.clone());
    let mut warnings = found.warnings;
    let root_keys: Vec<ImportedKey> = found
        .root_keys
        .into_iter()
        .map(|k| ImportedKey {
            held_as: records.record(&doc, &k.keyid).map(|r| r.name.clone()),
            ..k
        })
        .collect();
    let held = root_keys.iter().filter(|k| k.held_as.is_some()).count() as u64;
    if held < found.threshold {
        warnings.push(format!(
            "this workspace holds {held} of the {} root keys the next version needs: register them (`rootcellar key add` for a device) before `notary root`",
            found.threshold
        ));
    }
    let delegations = found.delegations;
    let targets_file = targets
        .filter(|_| found.targets_kept)
        .zip(found.targets_version)
        .map(|(b, v)| (v, b));
    let detail = serde_json::json!({
        "gun": gun,
        "source": path.display().to_string(),
        "version": md.signed.version,
        "sha256": digest_hex(&bytes),
        "signed_sha256": digest_hex(md.canonical_signed()),
        "root_keyids": found.root_keys_ids,
        "delegations": delegations.iter().map(|d| d.role.clone()).collect::<Vec<_>>(),
        "targets_sha256": targets_file.as_ref().map(|(_, b)| digest_hex(b)),
        // What the transcript binds: the files imported.
        "files": std::iter::once(serde_json::json!({"role": "root", "version": md.signed.version, "sha256": digest_hex(&bytes)}))
            .chain(targets_file.as_ref().map(|(v, b)| serde_json::json!({"role": "targets", "version": v, "sha256": digest_hex(b)})))
            .collect::<Vec<_>>(),
    });
    // The intent first: a crash below leaves files the transcript vouches for, and the same
    // import run again writes the rest.
    match resume {
        Some(d) if d["files"] != detail["files"] => {
            return Err(
                Error::refused("an import of another root was interrupted here")
                    .hint("run that import again (the same folder) to finish it"),
            );
        }
        Some(_) => ctx.notice("finishing the import that was interrupted".to_string()),
        None => ctx.record(&ws, "notary-import", detail)?,
    }
    let (a, b) = ws.publish_raw(md.signed.version, &bytes)?;
    let mut files = vec![a, b];
    if let Some((v, tb)) = &targets_file {
        let (c, d) = ws.publish_role_raw("targets", *v, tb)?;
        files.extend([c, d]);
    }
    Ok(ImportReport {
        gun,
        source: path,
        version: md.signed.version,
        expires: md.signed.expires.clone(),
        files,
        threshold: found.threshold,
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
    let notary_root = NotaryMetadata::from_bytes(&notary_bytes).map_err(|e| {
        Error::refused(format!(
            "{} is not a usable Notary root: {e}",
            ws.published_paths(from_version).0.display()
        ))
        .hint("restore the file from your export or backup")
    })?;
    let doc = Doc::Notary(notary_root.clone());
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
    let id_for = |rec: &KeyRecord| -> Option<String> {
        doc.ids_in("root", &identity_of(rec)).into_iter().next()
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
        let sig = notary_sign(signer.as_ref(), id, &message)?;
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
    let verdict = check(&statement, &notary_bytes, &tuf_bytes, ctx.now);
    // The transcript's line (what is about to be written, by digest) before the file: a crash
    // between the two leaves no statement the transcript does not name; the same command run
    // again writes it.
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
    if spec.add_to.is_some() {
        crate::atomic::write_public(&path, &bytes)?;
    } else {
        crate::atomic::write_new_public(&path, &bytes)?;
    }
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

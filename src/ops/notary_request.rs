//! Keyholders who are not in the room, for Notary roots: the same request bundle, signed-file
//! and detached-signature flow as `request.rs`, in Notary's dialect.
//!
//! A bundle is `{"rootcellar_request": 1, "format": "notary", "request": <Notary root>,
//! "previous": <Notary root> | null}`; a detached signature carries `"method"` (Notary's) and
//! `sig` in base64. A keyholder signs from any workspace that holds their key: what is signed is
//! decided by the file, not by the workspace. Invariants as for TUF: a signature is merged only
//! into the exact `signed` bytes it was made over, every signature is verified before it is
//! kept, and a merge with anything wrong in it writes nothing.

use super::Context;
use super::request::{Detached, MergeReport, SignRequestReport};
use crate::atomic::{write_atomic, write_new_atomic};
use crate::error::{Error, Result};
use crate::tuf::notary::{
    NotaryMetadata, NotaryPublicKey, NotarySignature, is_notary, verify_signature,
};
use crate::workspace::{Workspace, digest_hex};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A Notary request and the root it follows.
pub struct NotaryBundle {
    pub request: NotaryMetadata,
    pub previous: Option<NotaryMetadata>,
}

impl NotaryBundle {
    pub fn to_bytes(&self) -> Vec<u8> {
        let doc = |m: &NotaryMetadata| -> Value {
            serde_json::from_slice(&m.to_file_bytes()).unwrap_or(Value::Null)
        };
        let v = serde_json::json!({
            "rootcellar_request": 1,
            "format": "notary",
            "request": doc(&self.request),
            "previous": self.previous.as_ref().map(doc),
        });
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// What a file holds, when it is in Notary's dialect.
pub enum NotaryInput {
    Bundle(NotaryBundle),
    Root(NotaryMetadata),
    Detached(Detached),
}

/// Whether `v` is a Notary bundle or a Notary root document.
pub fn is_notary_request(v: &Value) -> bool {
    v.get("format").and_then(Value::as_str) == Some("notary") || is_notary(v)
}

/// Reads a Notary bundle, root or detached signature from parsed JSON.
pub fn read_value(v: Value, path: &Path) -> Result<NotaryInput> {
    let bad = |e: String| {
        Error::bad_input(format!(
            "{} is not a usable Notary request: {e}",
            path.display()
        ))
        .hint("ask for the request file again")
    };
    if v.get("rootcellar_request").is_some() {
        if v.get("rootcellar_request") != Some(&Value::from(1)) {
            return Err(bad("a request bundle of an unknown version".into()));
        }
        let request = NotaryMetadata::from_value(v.get("request").cloned().unwrap_or_default())
            .map_err(|e| bad(e.to_string()))?;
        let previous = match v.get("previous") {
            None | Some(Value::Null) => None,
            Some(p) => Some(NotaryMetadata::from_value(p.clone()).map_err(|e| bad(e.to_string()))?),
        };
        if let Some(p) = &previous
            && p.signed.version.checked_add(1) != Some(request.signed.version)
        {
            return Err(bad(format!(
                "the previous root is version {}, the request version {}",
                p.signed.version, request.signed.version
            )));
        }
        return Ok(NotaryInput::Bundle(NotaryBundle { request, previous }));
    }
    if v.get("signed_sha256").is_some() {
        let d: Detached =
            serde_json::from_value(v).map_err(|e| bad(format!("not a detached signature: {e}")))?;
        if d.method.is_none() {
            return Err(Error::bad_input(format!(
                "{} is a TUF detached signature, not a Notary one",
                path.display()
            ))
            .hint("merge it into the TUF workspace it was made for"));
        }
        return Ok(NotaryInput::Detached(d));
    }
    NotaryMetadata::from_value(v)
        .map(NotaryInput::Root)
        .map_err(|e| bad(e.to_string()))
}

/// `request show FILE` for a Notary request: what it changes from the root it follows (the one
/// bundled with it, else the one published here).
pub fn show(ws: &Workspace, input: NotaryInput, path: &Path) -> Result<super::ceremony::RootDiff> {
    let (request, previous) = match input {
        NotaryInput::Bundle(b) => (b.request, b.previous),
        NotaryInput::Root(m) => {
            let p = previous_published(ws, &m)?;
            (m, p)
        }
        NotaryInput::Detached(_) => {
            return Err(Error::bad_input(format!(
                "{} is a detached signature, not a request",
                path.display()
            ))
            .hint("show the request it was made for"));
        }
    };
    super::notary_ws::root_diff_against(ws, previous.as_ref(), &request)
}

/// `request export --out FILE` in a Notary workspace.
pub fn export(ctx: &Context, out: &Path) -> Result<PathBuf> {
    let ws = ctx.workspace()?;
    let request = super::notary_ws::staged(&ws)?.ok_or_else(|| {
        Error::refused("no root is staged").hint("stage one with `rootcellar notary root`")
    })?;
    let previous = previous_published(&ws, &request)?;
    write_new_atomic(out, &NotaryBundle { request, previous }.to_bytes())?;
    Ok(out.to_path_buf())
}

/// The published Notary root `md` follows, in a Notary workspace.
fn previous_published(ws: &Workspace, md: &NotaryMetadata) -> Result<Option<NotaryMetadata>> {
    if ws.notary_gun().is_none() {
        return Ok(None);
    }
    Ok(super::notary_ws::published(ws)?
        .into_iter()
        .find(|p| p.signed.version.checked_add(1) == Some(md.signed.version)))
}

/// Key IDs of the root roles of `md` and `prev`, with their decoded keys.
fn allowed(md: &NotaryMetadata, prev: Option<&NotaryMetadata>) -> Vec<(String, NotaryPublicKey)> {
    let mut out: Vec<(String, NotaryPublicKey)> = Vec::new();
    for m in std::iter::once(md).chain(prev) {
        for id in m
            .signed
            .roles
            .get("root")
            .map(|r| r.keyids.as_slice())
            .unwrap_or(&[])
        {
            if out.iter().any(|(i, _)| i == id) {
                continue;
            }
            if let Some(Ok((pk, _))) = m.signed.keys.get(id).map(|k| k.decode(None)) {
                out.push((id.clone(), pk));
            }
        }
    }
    out
}

/// `sign --file FILE --key K… [--detached OUT]` on a Notary request (or, with no file, on the
/// staged root of a Notary workspace with `--detached`).
pub fn sign_request(
    ctx: &Context,
    file: Option<(&Path, NotaryInput)>,
    keys: &[String],
    detached: Option<&Path>,
) -> Result<SignRequestReport> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    let (mut md, bundled_prev, is_bundle, path) = match file {
        Some((p, NotaryInput::Bundle(b))) => (b.request, b.previous, true, Some(p)),
        Some((p, NotaryInput::Root(m))) => (m, None, false, Some(p)),
        Some((p, NotaryInput::Detached(_))) => {
            return Err(Error::bad_input(format!(
                "{} is a detached signature, not a request",
                p.display()
            ))
            .hint("sign the request file; merge detached signatures with `rootcellar merge`"));
        }
        None => (
            super::notary_ws::staged(&ws)?.ok_or_else(|| {
                Error::refused("no root is staged").hint("give the request with --file FILE")
            })?,
            None,
            false,
            None,
        ),
    };
    if detached.is_some() && keys.len() != 1 {
        return Err(
            Error::bad_input("a detached signature is made with one key")
                .hint("give exactly one --key"),
        );
    }
    let prev = match bundled_prev.clone() {
        Some(p) => Some(p),
        None => previous_published(&ws, &md)?,
    };
    let allowed = allowed(&md, prev.as_ref());
    let mut plan = Vec::new();
    for k in keys {
        let r = ws.resolve_key(k)?;
        let me = r.public_key()?.identity();
        let ids: Vec<String> = allowed
            .iter()
            .filter(|(_, pk)| pk.identity() == me)
            .map(|(id, _)| id.clone())
            .collect();
        if ids.is_empty() {
            return Err(Error::refused(format!(
                "key {} is not a root key of the request (version {}){}",
                r.name,
                md.signed.version,
                if md.signed.version > 1 { " nor of the version before it" } else { "" }
            ))
            .hint("check that this is the right request and the right key; its signature would count for nothing"));
        }
        plan.push((r, ids));
    }
    ctx.air_gap("sign with a private key")?;
    let digest = digest_hex(md.canonical_signed());
    let mut signed_by = Vec::new();
    let mut made: Vec<(Vec<String>, NotarySignature)> = Vec::new();
    for (r, ids) in &plan {
        let signer = ctx.signer(&ws, r)?;
        ctx.touch_notice(r, "sign");
        let sig = super::notary::sign(signer.as_ref(), &ids[0], md.canonical_signed())?;
        verify_signature(
            &NotaryPublicKey::Tuf(r.public_key()?),
            &sig,
            md.canonical_signed(),
        )
        .map_err(|e| {
            Error::environment(format!(
                "the signature just made by {} does not verify: {e}",
                r.name
            ))
            .hint("the key or device is faulty; nothing was kept")
        })?;
        made.push((ids.clone(), sig));
        signed_by.push(r.name.clone());
    }
    let written = match (detached, path) {
        (Some(out), _) => {
            let (_, s) = &made[0];
            let d = Detached {
                keyid: s.keyid.clone(),
                sig: s.sig.clone(),
                signed_sha256: digest.clone(),
                method: Some(s.method.clone()),
            };
            let mut bytes =
                serde_json::to_vec_pretty(&d).map_err(|e| Error::environment(e.to_string()))?;
            bytes.push(b'\n');
            write_new_atomic(out, &bytes)?;
            out.to_path_buf()
        }
        (None, Some(f)) => {
            let mut sigs = md.signatures.clone();
            for (ids, s) in &made {
                sigs.retain(|x| !ids.contains(&x.keyid));
                for id in ids {
                    sigs.push(NotarySignature {
                        keyid: id.clone(),
                        ..s.clone()
                    });
                }
            }
            md = with_signatures(&md, sigs)?;
            let bytes = if is_bundle {
                NotaryBundle {
                    request: md.clone(),
                    previous: bundled_prev,
                }
                .to_bytes()
            } else {
                md.to_file_bytes()
            };
            write_atomic(f, &bytes)?;
            f.to_path_buf()
        }
        (None, None) => {
            return Err(Error::bad_input("nothing to write").hint("give --file or --detached"));
        }
    };
    ctx.record(
        &ws,
        "request-signed",
        serde_json::json!({
            "format": "notary",
            "version": md.signed.version,
            "signed_sha256": digest,
            "keys": signed_by,
            "written": written.display().to_string(),
        }),
    )?;
    Ok(SignRequestReport {
        version: md.signed.version,
        digest,
        signed_by,
        written,
    })
}

fn with_signatures(md: &NotaryMetadata, sigs: Vec<NotarySignature>) -> Result<NotaryMetadata> {
    let out =
        NotaryMetadata::from_value(serde_json::json!({"signed": md.signed, "signatures": sigs}))
            .map_err(|e| Error::environment(format!("the request cannot be rewritten: {e}")))?;
    if out.canonical_signed() != md.canonical_signed() {
        return Err(Error::environment(
            "the request's signed part changed while adding a signature; nothing was kept",
        ));
    }
    Ok(out)
}

/// `merge FILE…` in a Notary workspace: into the staged root only.
pub fn merge(ctx: &Context, files: &[PathBuf], out: Option<&Path>) -> Result<MergeReport> {
    let ws = ctx.workspace()?;
    if out.is_some() {
        return Err(
            Error::bad_input("a Notary workspace merges into its staged root only")
                .hint("leave out --out"),
        );
    }
    let _lock = ws.lock()?;
    let base = super::notary_ws::staged(&ws)?.ok_or_else(|| {
        Error::refused("no root is staged to merge into")
            .hint("stage it first with `rootcellar notary root`")
    })?;
    let prev = previous_published(&ws, &base)?;
    let digest = digest_hex(base.canonical_signed());
    let mut candidates: Vec<(PathBuf, NotarySignature)> = Vec::new();
    for f in files {
        let bytes = super::notary_ws::read_input(f)?;
        let v = crate::tuf::json::parse_strict(&bytes)
            .map_err(|e| Error::bad_input(format!("{}: {e}", f.display())))?;
        match read_value(v, f)? {
            NotaryInput::Bundle(NotaryBundle { request: m, .. }) | NotaryInput::Root(m) => {
                if m.canonical_signed() != base.canonical_signed() {
                    return Err(super::request::other_bytes(
                        f,
                        (m.signed.version, &digest_hex(m.canonical_signed())),
                        "the staged root",
                        (base.signed.version, &digest),
                    ));
                }
                candidates.extend(m.signatures.iter().map(|s| (f.clone(), s.clone())));
            }
            NotaryInput::Detached(d) => {
                if d.signed_sha256 != digest {
                    return Err(super::request::detached_other_bytes(
                        f,
                        &d.signed_sha256,
                        "the staged root",
                        &digest,
                    ));
                }
                candidates.push((
                    f.clone(),
                    NotarySignature {
                        keyid: d.keyid,
                        method: d.method.unwrap_or_default(),
                        sig: d.sig,
                        extra: Default::default(),
                    },
                ));
            }
        }
    }
    let allowed = allowed(&base, prev.as_ref());
    let records = super::notary_ws::Holders::of(&ws)?;
    let label = |pk: &NotaryPublicKey, id: &str| -> String {
        records
            .get(&pk.identity())
            .map(|r| r.name.clone())
            .unwrap_or_else(|| id.chars().take(12).collect())
    };
    let mut sigs = base.signatures.clone();
    let mut added = Vec::new();
    let mut already = Vec::new();
    for (path, s) in candidates {
        if s.sig.is_empty() {
            continue;
        }
        let Some((_, pk)) = allowed.iter().find(|(id, _)| *id == s.keyid) else {
            return Err(Error::refused(format!(
                "{} holds a signature by key {}, which is not a root key of version {}{}",
                path.display(),
                s.keyid.chars().take(12).collect::<String>(),
                base.signed.version,
                if base.signed.version > 1 {
                    " or of the version before"
                } else {
                    ""
                }
            ))
            .hint("it would count for nothing; find out where it came from; nothing was merged"));
        };
        let name = label(pk, &s.keyid);
        verify_signature(pk, &s, base.canonical_signed()).map_err(|e| {
            Error::refused(format!(
                "{}: the signature by {name} does not verify: {e}",
                path.display()
            ))
            .hint("ask that keyholder to sign again; nothing was merged")
        })?;
        // Every key ID of the same key (a renewed certificate) carries the signature.
        let ids: Vec<String> = allowed
            .iter()
            .filter(|(_, k)| k.identity() == pk.identity())
            .map(|(id, _)| id.clone())
            .collect();
        let have = ids.iter().all(|id| {
            sigs.iter()
                .any(|x| x.keyid == *id && verify_signature(pk, x, base.canonical_signed()).is_ok())
        });
        if have {
            if !already.contains(&name) && !added.contains(&name) {
                already.push(name);
            }
            continue;
        }
        sigs.retain(|x| !ids.contains(&x.keyid));
        for id in ids {
            sigs.push(NotarySignature {
                keyid: id,
                ..s.clone()
            });
        }
        added.push(name);
    }
    let merged = with_signatures(&base, sigs)?;
    ws.write_staged_raw(&merged.to_file_bytes(), &digest)?;
    let status = super::notary_ws::status(ctx, &ws, &merged)?;
    ctx.record(
        &ws,
        "merge",
        serde_json::json!({
            "format": "notary",
            "version": merged.signed.version,
            "signed_sha256": digest,
            "added": added,
            "already": already,
            "inputs": super::request::input_digests(files),
        }),
    )?;
    Ok(MergeReport {
        version: merged.signed.version,
        digest,
        added,
        already,
        written: ws.dir.join("staged/root.json"),
        status: Some(status),
    })
}

//! Keyholders who are not in the room, in either dialect: the staged root file is the signing
//! request. A bundle carries it with the version it follows (`{"rootcellar_request": 1,
//! "request": …, "previous": … | null}`, and `"format": "notary"` for Notary roots). A keyholder
//! signs the file on their own machine (`sign --file`), or writes only the signature
//! (`sign --detached`, which carries Notary's `method` for Notary roots), and `merge` brings the
//! signatures back.
//!
//! Invariants: a signature is only ever merged into the exact `signed` bytes it was made over (a
//! detached signature carries their SHA-256); every signature is verified before it is kept; a
//! merge with anything wrong in it writes nothing.

use super::context::Context;
use super::review::{announce, diff, refuse_changed_key_ids, status};
use super::root::{sign_with, signing_ids};
use crate::atomic::{write_new_public as write_new_atomic, write_public as write_atomic};
use crate::dialect::{Detached, Dialect, Doc, Holders, Sig};
use crate::error::{Error, Result};
use crate::readpath::read_input;
use crate::report::{MergeReport, RootDiff, SignRequestReport, read_aloud};
use crate::tuf::json::parse_strict;
use crate::tuf::notary::NotaryPublicKey;
use crate::workspace::{Workspace, digest_hex};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A signing request with the root it follows.
pub struct Bundle {
    pub request: Doc,
    pub previous: Option<Doc>,
}

impl Bundle {
    pub fn to_bytes(&self, d: &Dialect) -> Vec<u8> {
        let v = d.tag(
            serde_json::json!({
                "rootcellar_request": 1,
                "request": self.request.to_value(),
                "previous": self.previous.as_ref().map(Doc::to_value),
            }),
            false,
        );
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

/// What a file brought by a keyholder holds.
enum Input {
    Bundle(Box<Bundle>),
    Root(Doc),
    Detached(Detached),
}

/// Reads a bundle, a root or a detached signature, in whichever dialect it is written, and the
/// dialect (the workspace's GUN stands for a Notary file's).
fn read(path: &Path, ws: &Workspace) -> Result<(Dialect, Input)> {
    let bytes = read_input(path)?;
    let v: Value =
        parse_strict(&bytes).map_err(|e| Error::bad_input(format!("{}: {e}", path.display())))?;
    let here = Dialect::of(ws);
    let d = Dialect::of_value(&v, here.gun());
    let bad = |e: String| {
        Error::bad_input(format!("{} is not a usable request: {e}", path.display()))
            .hint("ask for the request file again")
    };
    if let Some(b) = v.get("rootcellar_request") {
        if b.as_u64() != Some(1) {
            return Err(Error::bad_input(format!(
                "{} is a request bundle of an unknown version",
                path.display()
            ))
            .hint("use the rootcellar that wrote it"));
        }
        let request = d
            .parse_value(v.get("request").cloned().unwrap_or_default())
            .map_err(|e| bad(e.to_string()))?;
        let previous = match v.get("previous") {
            None | Some(Value::Null) => None,
            Some(p) => Some(d.parse_value(p.clone()).map_err(|e| bad(e.to_string()))?),
        };
        if let Some(p) = &previous
            && p.version().checked_add(1) != Some(request.version())
        {
            return Err(bad(format!(
                "the previous root is version {}, the request version {}",
                p.version(),
                request.version()
            )));
        }
        return Ok((d, Input::Bundle(Box::new(Bundle { request, previous }))));
    }
    if v.get("signed_sha256").is_some() {
        let det: Detached = serde_json::from_value(v).map_err(|e| {
            Error::bad_input(format!(
                "{} is not a detached signature: {e}",
                path.display()
            ))
        })?;
        return Ok((det.dialect(here.gun()), Input::Detached(det)));
    }
    let root = d.parse_value(v).map_err(|e| {
        Error::bad_input(format!(
            "{} is not a root signing request: {e}",
            path.display()
        ))
        .hint("ask for the request file again")
    })?;
    Ok((d, Input::Root(root)))
}

/// Refuses a file of the other dialect than the workspace's.
fn same_dialect(path: &Path, file: &Dialect, input: &Input, here: &Dialect) -> Result<()> {
    if file.name() == here.name() {
        return Ok(());
    }
    let what = match input {
        Input::Detached(_) => "detached signature",
        Input::Bundle(_) | Input::Root(_) => "request",
    };
    Err(Error::bad_input(format!(
        "{} is a {} {what}, and this workspace keeps {} metadata",
        path.display(),
        file.short(),
        here.name()
    ))
    .hint(format!(
        "merge it in the {} workspace it came from",
        file.short()
    )))
}

/// The published version of this workspace that `md` follows, when `md` is in its dialect.
fn previous_here(d: &Dialect, ws: &Workspace, md: &Doc) -> Result<Option<Doc>> {
    if !d.accepts(md) {
        return Ok(None);
    }
    let Some(want) = md.version().checked_sub(1) else {
        return Ok(None);
    };
    Ok(d.published(ws)?.into_iter().find(|p| p.version() == want))
}

/// `rootcellar request export --out FILE`: the staged root with the version before it.
pub fn export(ctx: &Context, out: &Path) -> Result<PathBuf> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let request = d
        .staged(&ws)?
        .ok_or_else(|| Error::refused("no root is staged").hint(d.texts().stage_next))?;
    let previous = previous_here(&d, &ws, &request)?;
    write_new_atomic(out, &Bundle { request, previous }.to_bytes(&d))?;
    Ok(out.to_path_buf())
}

/// The root a request follows, and what vouches for it.
struct Previous {
    doc: Option<Doc>,
    /// The published history of this workspace the request continues (empty: none here).
    history: Vec<Doc>,
    /// Why the review is not against a root this workspace vouches for.
    unverified: Option<String>,
    /// The digest given with `--trust-root-digest` that vouched for the bundle's previous.
    trusted_digest: Option<String>,
}

/// Why the published history does not verify as a chain (expiry aside: a refresh is staged
/// for a root that expires).
/// The review of `request` is against the workspace's own published chain, verified from its
/// first version on every use; a bundle's `previous` only when it is byte-identical to the
/// published version, verifies as its successor, or has the digest given on the command line
/// (read aloud, or received on a second channel). Otherwise it is marked unverified. A request
/// for a version published here already is refused.
fn previous_for(
    ctx: &Context,
    ws: &Workspace,
    request: &Doc,
    bundled: Option<&Doc>,
    trust_digest: Option<&str>,
) -> Result<Previous> {
    let here = Dialect::of(ws);
    let v = request.version();
    let history = if here.accepts(request) {
        here.published(ws)?
    } else {
        Vec::new()
    };
    if let Some(f) = here.chain_failure(&history, ctx.now) {
        return Err(Error::refused(format!(
            "this workspace's published history does not verify: {f}"
        ))
        .hint("restore it from your export or backup before reviewing anything against it"));
    }
    if history.iter().any(|p| p.version() >= v) {
        return Err(Error::refused(format!(
            "version {v} is published here already: this request would make a second version {v}"
        ))
        .hint("root keys must never sign two different roots of one version; ask where this request comes from"));
    }
    let mut out = Previous {
        doc: None,
        history,
        unverified: None,
        trusted_digest: None,
    };
    if v <= 1 {
        return Ok(out);
    }
    let last = out.history.last();
    match (last, bundled) {
        (Some(l), b) if l.version() + 1 == v => {
            if let Some(b) = b
                && b.file_bytes() != l.file_bytes()
            {
                return Err(Error::refused(format!(
                    "the request's bundle carries a version {} other than the one published here (digest {} here, {} in the bundle)",
                    l.version(),
                    read_aloud(&l.digest()),
                    read_aloud(&b.digest())
                ))
                .hint("the bundle was changed, or it continues another history: ask for the request again"));
            }
            out.doc = Some(l.clone());
            return Ok(out);
        }
        (Some(l), Some(b)) if l.version() + 2 == v => {
            let mut chain = out.history.clone();
            chain.push(b.clone());
            if here.chain_failure(&chain, ctx.now).is_none() {
                out.doc = Some(b.clone());
                return Ok(out);
            }
        }
        _ => {}
    }
    let Some(b) = bundled else {
        out.unverified = Some(format!(
            "UNVERIFIED: version {} is not published here and the request carries no previous root",
            v - 1
        ));
        return Ok(out);
    };
    out.doc = Some(b.clone());
    match trust_digest.map(|t| {
        t.chars()
            .filter(char::is_ascii_hexdigit)
            .collect::<String>()
    }) {
        Some(t) if t.eq_ignore_ascii_case(&b.digest()) => {
            out.trusted_digest = Some(b.digest());
        }
        Some(t) => {
            return Err(Error::refused(format!(
                "the bundle's previous root has digest {}, not the {} given",
                read_aloud(&b.digest()),
                read_aloud(&t.to_ascii_lowercase())
            ))
            .hint("the bundle was changed, or the digest was misheard: compare the full digest again over the second channel"));
        }
        None => {
            out.unverified = Some(
                "UNVERIFIED: against the bundle's own previous — nothing here vouches for it"
                    .into(),
            )
        }
    }
    Ok(out)
}

/// `rootcellar request show FILE [--trust-root-digest D]`: what the request changes, in words,
/// and its digest; computed against the workspace's own history (or marked unverified).
pub fn show(ctx: &Context, file: &Path, trust_digest: Option<&str>) -> Result<RootDiff> {
    let ws = ctx.workspace()?;
    let (_, input) = read(file, &ws)?;
    let (request, bundled) = match input {
        Input::Bundle(b) => (b.request, b.previous),
        Input::Root(m) => (m, None),
        Input::Detached(_) => {
            return Err(Error::bad_input(format!(
                "{} is a detached signature, not a request",
                file.display()
            ))
            .hint("show the request it was made for"));
        }
    };
    let prev = previous_for(ctx, &ws, &request, bundled.as_ref(), trust_digest)?;
    let history: Vec<Doc> = prev
        .history
        .iter()
        .cloned()
        .chain(prev.doc.clone())
        .collect();
    refuse_changed_key_ids(&history, &request)?;
    let mut d = diff(&Holders::of(&ws)?, prev.doc.as_ref(), &request);
    d.unverified = prev.unverified;
    Ok(d)
}

/// `rootcellar sign --file FILE --key K… [--detached OUT]`, and `sign --detached OUT` on the
/// staged root (`file` = None). A keyholder signs from any workspace that holds their key: what
/// is signed is decided by the file.
pub fn sign_request(
    ctx: &Context,
    file: Option<&Path>,
    keys: &[String],
    detached: Option<&Path>,
    trust_digest: Option<&str>,
    shown: Option<&str>,
) -> Result<SignRequestReport> {
    let ws = ctx.workspace()?;
    let here = Dialect::of(&ws);
    let (d, input) = match file {
        Some(f) => {
            let (d, input) = read(f, &ws)?;
            (d, Some(input))
        }
        None => (here.clone(), None),
    };
    let _lock = ws.lock()?;
    let (md, bundled) = match input {
        Some(Input::Bundle(b)) => (b.request, Some(b.previous)),
        Some(Input::Root(m)) => (m, None),
        Some(Input::Detached(_)) => {
            return Err(Error::bad_input(format!(
                "{} is a detached signature, not a request",
                file.map(|f| f.display().to_string()).unwrap_or_default()
            ))
            .hint("sign the request file; merge detached signatures with `rootcellar merge`"));
        }
        None => (
            here.staged(&ws)?.ok_or_else(|| {
                Error::refused("no root is staged").hint("give the request with --file FILE")
            })?,
            None,
        ),
    };
    super::root::refuse_unshown(shown, &md)?;
    if detached.is_some() && keys.len() != 1 {
        return Err(
            Error::bad_input("a detached signature is made with one key")
                .hint("give exactly one --key"),
        );
    }
    // What is signed is reviewed against what this workspace vouches for, never a label.
    let (prev, history, trusted) = match file {
        Some(_) => {
            let p = previous_for(
                ctx,
                &ws,
                &md,
                bundled.as_ref().and_then(Option::as_ref),
                trust_digest,
            )?;
            if let Some(why) = p.unverified {
                return Err(Error::refused(format!(
                    "{why}: the review of this request cannot be trusted, so it is not signed"
                ))
                .hint("sign it in a workspace that holds the published history, or give the previous root's full digest (read aloud at the ceremony, or received on a second channel) with --trust-root-digest"));
            }
            let history: Vec<Doc> = p.history.iter().cloned().chain(p.doc.clone()).collect();
            (p.doc, history, p.trusted_digest)
        }
        None => (previous_here(&here, &ws, &md)?, here.published(&ws)?, None),
    };
    refuse_changed_key_ids(&history, &md)?;
    let mut plan = Vec::new();
    for k in keys {
        let r = ws.resolve_key(k)?;
        let ids = signing_ids(&r, &md, prev.as_ref());
        if ids.is_empty() {
            return Err(Error::refused(format!(
                "key {} is not a root key of the request (version {}){}",
                r.name,
                md.version(),
                if md.version() > 1 { " nor of the published version before it in this workspace" } else { "" }
            ))
            .hint("check that this is the right request and the right key; its signature would count for nothing"));
        }
        plan.push((r, ids));
    }
    ctx.air_gap("sign with a private key")?;
    announce(ctx, &diff(&Holders::of(&ws)?, prev.as_ref(), &md));
    let digest = md.digest();
    let mut signed = md.clone();
    let mut signed_by = Vec::new();
    for (r, ids) in &plan {
        signed = sign_with(ctx, &d, &ws, &signed, r, ids, "sign")?;
        signed_by.push(r.name.clone());
    }
    let written = match (detached, file) {
        (Some(out), _) => {
            let (r, ids) = &plan[0];
            let sig = signed
                .signatures()
                .into_iter()
                .find(|s| s.keyid() == ids[0])
                .ok_or_else(|| {
                    Error::environment(format!("the signature by {} was not kept", r.name))
                })?;
            let mut bytes = serde_json::to_vec_pretty(&sig.detached(&digest))
                .map_err(|e| Error::environment(e.to_string()))?;
            bytes.push(b'\n');
            write_new_atomic(out, &bytes)?;
            out.to_path_buf()
        }
        (None, Some(f)) => {
            let bytes = match bundled {
                Some(previous) => Bundle {
                    request: signed.clone(),
                    previous,
                }
                .to_bytes(&d),
                None => signed.file_bytes(),
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
        d.tag(
            serde_json::json!({
                "version": md.version(),
                "signed_sha256": digest,
                "keys": signed_by,
                "written": written.display().to_string(),
                "trusted_previous": trusted,
            }),
            false,
        ),
    )?;
    Ok(SignRequestReport {
        version: md.version(),
        digest,
        signed_by,
        written,
    })
}

/// A merge input signed over other bytes than `against` (version, digest): refused, nothing
/// merged.
fn other_bytes(path: &Path, input: (u64, &str), against: &str, base: (u64, &str)) -> Error {
    Error::refused(format!(
        "{} carries other signed bytes (version {}, digest {}) than {against} (version {}, digest {})",
        path.display(),
        input.0,
        read_aloud(input.1),
        base.0,
        read_aloud(base.1)
    ))
    .hint("it was signed from another request: have that keyholder sign this one; nothing was merged")
}

/// What a merge read, for the transcript: each input file and the SHA-256 of its bytes.
fn input_digests(files: &[PathBuf]) -> Vec<Value> {
    files
        .iter()
        .map(|f| {
            serde_json::json!({
                "file": f.display().to_string(),
                "sha256": crate::readpath::read_input(f).map(|b| digest_hex(&b)).unwrap_or_default(),
            })
        })
        .collect()
}

/// `rootcellar merge FILE… [--out FILE]`: signed requests and detached signatures into the
/// staged root (or, with `--out`, into the first request, written there).
pub fn merge(ctx: &Context, files: &[PathBuf], out: Option<&Path>) -> Result<MergeReport> {
    let ws = ctx.workspace()?;
    let d = Dialect::of(&ws);
    let _lock = ws.lock()?;
    let mut inputs = Vec::new();
    for f in files {
        let (fd, input) = read(f, &ws)?;
        same_dialect(f, &fd, &input, &d)?;
        inputs.push((f.clone(), input));
    }
    let staged = d.staged(&ws)?;
    let base = match (&staged, out) {
        (Some(s), _) => s.clone(),
        (None, Some(_)) => inputs
            .iter()
            .find_map(|(_, i)| match i {
                Input::Bundle(b) => Some(b.request.clone()),
                Input::Root(m) => Some(m.clone()),
                Input::Detached(_) => None,
            })
            .ok_or_else(|| {
                Error::bad_input("no request file among the inputs")
                    .hint("give at least one signed request file")
            })?,
        (None, None) => {
            return Err(Error::refused("no root is staged to merge into")
                .hint("stage it first, or write the merged request elsewhere with --out FILE"));
        }
    };
    let digest = base.digest();
    let against = if staged.is_some() {
        "the staged root"
    } else {
        "the first request"
    };
    let mut candidates: Vec<(PathBuf, Sig)> = Vec::new();
    for (path, input) in inputs {
        let request = match input {
            Input::Bundle(b) => Ok(b.request),
            Input::Root(m) => Ok(m),
            Input::Detached(det) => Err(det),
        };
        match request {
            Ok(m) => {
                if m.canonical() != base.canonical() {
                    return Err(other_bytes(
                        &path,
                        (m.version(), &m.digest()),
                        against,
                        (base.version(), &digest),
                    ));
                }
                candidates.extend(m.signatures().into_iter().map(|s| (path.clone(), s)));
            }
            Err(det) => {
                if det.signed_sha256 != digest {
                    return Err(Error::refused(format!(
                        "the detached signature {} was made over other bytes (digest {}) than {against} (digest {})",
                        path.display(),
                        read_aloud(&det.signed_sha256),
                        read_aloud(&digest)
                    ))
                    .hint("it belongs to another request; nothing was merged"));
                }
                candidates.push((path, det.sig()));
            }
        }
    }
    // The root keys of the base and of the published version before it, by key ID.
    let prev = previous_here(&d, &ws, &base)?;
    refuse_changed_key_ids(&d.published(&ws)?, &base)?;
    let mut allowed: Vec<(String, NotaryPublicKey)> = Vec::new();
    for m in std::iter::once(&base).chain(prev.as_ref()) {
        for id in m.role("root").map(|r| r.keyids.as_slice()).unwrap_or(&[]) {
            if !allowed.iter().any(|(i, _)| i == id)
                && let Some(Ok(pk)) = m.decode(id)
            {
                allowed.push((id.clone(), pk));
            }
        }
    }
    let holders = Holders::of(&ws)?;
    let label = |pk: &NotaryPublicKey, id: &str| -> String {
        holders
            .get(&pk.identity())
            .map(|r| r.name.clone())
            .unwrap_or_else(|| id.chars().take(12).collect())
    };
    let mut sigs = base.signatures();
    let mut added = Vec::new();
    let mut already = Vec::new();
    for (path, s) in candidates {
        if s.is_empty() {
            continue;
        }
        let Some((_, pk)) = allowed.iter().find(|(id, _)| id == s.keyid()) else {
            let who = match ws.key_by_id(s.keyid()) {
                Ok(Some(r)) => r.name,
                _ => s.keyid().chars().take(12).collect(),
            };
            return Err(Error::refused(format!(
                "{} holds a signature by {who}, which is not a root key of version {}{}",
                path.display(),
                base.version(),
                if base.version() > 1 {
                    " or of the version before"
                } else {
                    ""
                }
            ))
            .hint("it would count for nothing; find out where it came from; nothing was merged"));
        };
        let name = label(pk, s.keyid());
        s.verify(pk, base.canonical()).map_err(|e| {
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
                .any(|x| x.keyid() == id && x.verify(pk, base.canonical()).is_ok())
        });
        if have {
            if !already.contains(&name) && !added.contains(&name) {
                already.push(name);
            }
            continue;
        }
        sigs.retain(|x| !ids.iter().any(|id| id == x.keyid()));
        sigs.extend(ids.iter().map(|id| s.under(id)));
        added.push(name);
    }
    let merged = base.with_signatures(sigs)?;
    let written = match out {
        Some(o) => {
            write_atomic(o, &merged.file_bytes())?;
            o.to_path_buf()
        }
        None => {
            d.write_staged(&ws, &merged)?;
            ws.dir.join("staged/root.json")
        }
    };
    let st = match out {
        None => Some(status(ctx, &d, &ws, &merged)?),
        Some(_) => None,
    };
    ctx.record(
        &ws,
        "merge",
        d.tag(
            serde_json::json!({
                "version": merged.version(),
                "signed_sha256": digest,
                "added": added,
                "already": already,
                "inputs": input_digests(files),
                "written": written.display().to_string(),
            }),
            false,
        ),
    )?;
    Ok(MergeReport {
        version: merged.version(),
        digest,
        added,
        already,
        written,
        status: st,
    })
}

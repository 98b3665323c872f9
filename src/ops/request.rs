//! Keyholders who are not in the room: the staged root file is the signing request. A keyholder
//! signs the file on their own machine (`sign --file`), or writes only the signature
//! (`sign --detached`), and `merge` brings the signatures back.
//!
//! Invariants: a signature is only ever merged into the exact `signed` bytes it was made over (a
//! detached signature carries their SHA-256); every signature is verified before it is kept; a
//! merge with anything wrong in it writes nothing.

use super::root::{Status, status};
use super::{Context, key_label};
use crate::atomic::{write_atomic, write_new_atomic};
use crate::error::{Error, Result};
use crate::tuf::json::parse_strict;
use crate::tuf::{Key, Metadata, Root, Signature};
use crate::workspace::{Workspace, digest_hex};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A signature travelling alone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detached {
    pub keyid: String,
    pub sig: String,
    /// SHA-256 of the canonical bytes of the `signed` it was made over.
    pub signed_sha256: String,
    /// Notary signatures only: Notary's `method` ("ecdsa", "eddsa"); `sig` is then base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SignRequestReport {
    pub version: u64,
    pub digest: String,
    pub signed_by: Vec<String>,
    /// Where the result was written: the request file, or the detached signature.
    pub written: PathBuf,
}

/// A signing request with the root it follows: `{"rootcellar_request": 1, "request": {…},
/// "previous": {…} | null}`.
pub struct Bundle {
    pub request: Metadata<Root>,
    pub previous: Option<Metadata<Root>>,
}

impl Bundle {
    pub fn to_bytes(&self) -> Vec<u8> {
        let v = serde_json::json!({
            "rootcellar_request": 1,
            "request": self.request.to_value(),
            "previous": self.previous.as_ref().map(|p| p.to_value()),
        });
        let mut out = serde_json::to_vec_pretty(&v).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Reads a bundle; `Ok(None)` when the JSON is not a bundle.
    pub fn from_value(v: &serde_json::Value, path: &Path) -> Result<Option<Bundle>> {
        let Some(obj) = v
            .as_object()
            .filter(|o| o.contains_key("rootcellar_request"))
        else {
            return Ok(None);
        };
        if obj.get("rootcellar_request") != Some(&serde_json::Value::from(1)) {
            return Err(Error::bad_input(format!(
                "{} is a request bundle of an unknown version",
                path.display()
            ))
            .hint("use the rootcellar that wrote it"));
        }
        let bad = |e: String| {
            Error::bad_input(format!(
                "{} is a damaged request bundle: {e}",
                path.display()
            ))
            .hint("ask for the request again")
        };
        let request = Metadata::<Root>::from_value(obj.get("request").cloned().unwrap_or_default())
            .map_err(|e| bad(e.to_string()))?;
        let previous = match obj.get("previous") {
            None | Some(serde_json::Value::Null) => None,
            Some(p) => {
                Some(Metadata::<Root>::from_value(p.clone()).map_err(|e| bad(e.to_string()))?)
            }
        };
        if let Some(p) = &previous
            && p.signed.version.checked_add(1) != Some(request.signed.version)
        {
            return Err(bad(format!(
                "the previous root is version {}, the request version {}",
                p.signed.version, request.signed.version
            )));
        }
        Ok(Some(Bundle { request, previous }))
    }
}

/// `rootcellar request export --out FILE`: the staged root with the version before it.
pub fn export(ctx: &Context, out: &Path) -> Result<PathBuf> {
    let ws = ctx.workspace()?;
    if ws.notary_gun().is_some() {
        return super::notary_request::export(ctx, out);
    }
    let request = ws
        .staged()?
        .ok_or_else(|| Error::refused("no root is staged").hint("stage the next version first"))?;
    let previous = match request.signed.version.checked_sub(1) {
        Some(v) => ws.published_version(v)?,
        None => None,
    };
    write_new_atomic(out, &Bundle { request, previous }.to_bytes())?;
    Ok(out.to_path_buf())
}

/// `rootcellar request show FILE`: what the request changes, in words, and its digest.
pub fn show(ctx: &Context, file: &Path) -> Result<super::ceremony::RootDiff> {
    let ws = ctx.workspace()?;
    let bytes = std::fs::read(file).map_err(|e| Error::io("read", file, &e))?;
    let v =
        parse_strict(&bytes).map_err(|e| Error::bad_input(format!("{}: {e}", file.display())))?;
    if super::notary_request::is_notary_request(&v) {
        return super::notary_request::show(&ws, super::notary_request::read_value(v, file)?, file);
    }
    let (request, previous) = match Bundle::from_value(&v, file)? {
        Some(b) => (b.request, b.previous),
        None => (read_root(file)?, None),
    };
    Ok(super::ceremony::diff(&ws, previous.as_ref(), &request))
}

fn read_root(path: &Path) -> Result<Metadata<Root>> {
    let bytes = std::fs::read(path).map_err(|e| {
        let mut err = Error::io("read", path, &e);
        err.kind = crate::error::ErrorKind::BadInput;
        err
    })?;
    Metadata::<Root>::from_bytes(&bytes).map_err(|e| {
        Error::bad_input(format!(
            "{} is not a root signing request: {e}",
            path.display()
        ))
        .hint("ask for the request file again")
    })
}

/// Root keys that may sign version N of `md`: its own, and version N-1's when this workspace
/// has it published.
fn signing_keys(ws: &Workspace, md: &Metadata<Root>) -> Result<BTreeMap<String, Key>> {
    signing_keys_with(ws, md, None)
}

/// As [`signing_keys`], with the previous root a bundle carries when this workspace has none.
fn signing_keys_with(
    ws: &Workspace,
    md: &Metadata<Root>,
    bundled_previous: Option<&Metadata<Root>>,
) -> Result<BTreeMap<String, Key>> {
    let mut keys = BTreeMap::new();
    let mut add = |r: &Root| {
        for id in r.role("root").map(|x| x.keyids.clone()).unwrap_or_default() {
            if let Some(k) = r.keys.get(&id) {
                keys.insert(id, k.clone());
            }
        }
    };
    add(&md.signed);
    let ours = match md.signed.version.checked_sub(1) {
        Some(v) => ws.published_version(v)?,
        None => None,
    };
    if let Some(prev) = ours.as_ref().or(bundled_previous) {
        add(&prev.signed);
    }
    Ok(keys)
}

/// `rootcellar sign --file FILE --key K… [--detached OUT]`, and `sign --detached OUT` on the
/// staged root (`file` = None).
pub fn sign_request(
    ctx: &Context,
    file: Option<&Path>,
    keys: &[String],
    detached: Option<&Path>,
) -> Result<SignRequestReport> {
    let ws = ctx.workspace()?;
    if file.is_none() && ws.notary_gun().is_some() {
        return super::notary_request::sign_request(ctx, None, keys, detached);
    }
    if let Some(f) = file {
        let bytes = std::fs::read(f).map_err(|e| Error::io("read", f, &e))?;
        let v =
            parse_strict(&bytes).map_err(|e| Error::bad_input(format!("{}: {e}", f.display())))?;
        if super::notary_request::is_notary_request(&v) {
            let input = super::notary_request::read_value(v, f)?;
            return super::notary_request::sign_request(ctx, Some((f, input)), keys, detached);
        }
    }
    let _lock = ws.lock()?;
    let mut bundle_previous: Option<Option<Metadata<Root>>> = None;
    let mut md = match file {
        Some(f) => {
            let bytes = std::fs::read(f).map_err(|e| Error::io("read", f, &e))?;
            let v = parse_strict(&bytes)
                .map_err(|e| Error::bad_input(format!("{}: {e}", f.display())))?;
            match Bundle::from_value(&v, f)? {
                Some(b) => {
                    bundle_previous = Some(b.previous);
                    b.request
                }
                None => read_root(f)?,
            }
        }
        None => ws.staged()?.ok_or_else(|| {
            Error::refused("no root is staged").hint("give the request with --file FILE")
        })?,
    };
    if detached.is_some() && keys.len() != 1 {
        return Err(
            Error::bad_input("a detached signature is made with one key")
                .hint("give exactly one --key"),
        );
    }
    let allowed = signing_keys_with(&ws, &md, bundle_previous.as_ref().and_then(|p| p.as_ref()))?;
    let recs = keys
        .iter()
        .map(|k| ws.resolve_key(k))
        .collect::<Result<Vec<_>>>()?;
    for r in &recs {
        if !allowed.contains_key(&r.keyid) {
            return Err(Error::refused(format!(
                "key {} is not a root key of the request (version {}){}",
                r.name,
                md.signed.version,
                if md.signed.version > 1 { " nor of the published version before it in this workspace" } else { "" }
            ))
            .hint("check that this is the right request and the right key; its signature would count for nothing"));
        }
    }
    ctx.air_gap("sign with a private key")?;
    let digest = digest_hex(md.canonical_signed());
    let mut signed_by = Vec::new();
    let mut made = Vec::new();
    for r in &recs {
        let signer = ctx.signer(&ws, r)?;
        ctx.touch_notice(r, "sign");
        let sig = signer.sign(md.canonical_signed())?;
        crate::tuf::sig::verify(&r.public_key()?, md.canonical_signed(), &hex::encode(&sig))
            .map_err(|e| {
                Error::environment(format!(
                    "the signature just made by {} does not verify: {e}",
                    r.name
                ))
                .hint("the key or device is faulty; nothing was kept")
            })?;
        made.push(Signature::new(r.keyid.clone(), &sig));
        signed_by.push(r.name.clone());
    }
    let written = match (detached, file) {
        (Some(out), _) => {
            let d = Detached {
                keyid: made[0].keyid.clone(),
                sig: made[0].sig.clone(),
                signed_sha256: digest.clone(),
                method: None,
            };
            let mut bytes =
                serde_json::to_vec_pretty(&d).map_err(|e| Error::environment(e.to_string()))?;
            bytes.push(b'\n');
            write_new_atomic(out, &bytes)?;
            out.to_path_buf()
        }
        (None, Some(f)) => {
            for s in made {
                md.signatures.retain(|x| x.keyid != s.keyid);
                md.signatures.push(s);
            }
            match bundle_previous {
                Some(previous) => write_atomic(
                    f,
                    &Bundle {
                        request: md.clone(),
                        previous,
                    }
                    .to_bytes(),
                )?,
                None => write_atomic(f, &md.to_file_bytes())?,
            }
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

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MergeReport {
    pub version: u64,
    pub digest: String,
    /// Keys whose signatures were added now.
    pub added: Vec<String>,
    /// Keys whose signature was already there (kept once).
    pub already: Vec<String>,
    pub written: PathBuf,
    /// Who has signed and who still must (merges into the staged root).
    pub status: Option<Status>,
}

enum Input {
    Request(Metadata<Root>),
    Detached(Detached),
}

fn read_input(path: &Path) -> Result<Input> {
    let bytes = std::fs::read(path).map_err(|e| {
        let mut err = Error::io("read", path, &e);
        err.kind = crate::error::ErrorKind::BadInput;
        err
    })?;
    let v =
        parse_strict(&bytes).map_err(|e| Error::bad_input(format!("{}: {e}", path.display())))?;
    if let Some(b) = Bundle::from_value(&v, path)? {
        return Ok(Input::Request(b.request));
    }
    if super::notary_request::is_notary_request(&v) {
        return Err(Error::bad_input(format!(
            "{} is a Notary request, and this workspace keeps TUF 1.0 metadata",
            path.display()
        ))
        .hint("merge it in the Notary workspace it came from"));
    }
    if v.get("signed_sha256").is_some() {
        let d: Detached = serde_json::from_value(v).map_err(|e| {
            Error::bad_input(format!(
                "{} is not a detached signature: {e}",
                path.display()
            ))
        })?;
        if d.method.is_some() {
            return Err(Error::bad_input(format!(
                "{} is a Notary detached signature, and this workspace keeps TUF 1.0 metadata",
                path.display()
            ))
            .hint("merge it in the Notary workspace it came from"));
        }
        return Ok(Input::Detached(d));
    }
    Metadata::<Root>::from_value(v)
        .map(Input::Request)
        .map_err(|e| {
            Error::bad_input(format!(
                "{} is not a signed root request: {e}",
                path.display()
            ))
        })
}

/// A merge input signed over other bytes than `against` (version, digest): refused, nothing
/// merged.
pub(super) fn other_bytes(
    path: &Path,
    input: (u64, &str),
    against: &str,
    base: (u64, &str),
) -> Error {
    Error::refused(format!(
        "{} carries other signed bytes (version {}, digest {}) than {against} (version {}, digest {})",
        path.display(),
        input.0,
        super::root::read_aloud(input.1),
        base.0,
        super::root::read_aloud(base.1)
    ))
    .hint("it was signed from another request: have that keyholder sign this one; nothing was merged")
}

/// A detached signature over other bytes than `against`: refused, nothing merged.
pub(super) fn detached_other_bytes(
    path: &Path,
    made_over: &str,
    against: &str,
    digest: &str,
) -> Error {
    Error::refused(format!(
        "the detached signature {} was made over other bytes (digest {}) than {against} (digest {})",
        path.display(),
        super::root::read_aloud(made_over),
        super::root::read_aloud(digest)
    ))
    .hint("it belongs to another request; nothing was merged")
}

/// What a merge read, for the transcript: each input file and the SHA-256 of its bytes.
pub(super) fn input_digests(files: &[PathBuf]) -> Vec<serde_json::Value> {
    files
        .iter()
        .map(|f| {
            serde_json::json!({
                "file": f.display().to_string(),
                "sha256": std::fs::read(f).map(|b| digest_hex(&b)).unwrap_or_default(),
            })
        })
        .collect()
}

/// `rootcellar merge FILE… [--out FILE]`.
pub fn merge(ctx: &Context, files: &[PathBuf], out: Option<&Path>) -> Result<MergeReport> {
    let ws = ctx.workspace()?;
    if ws.notary_gun().is_some() {
        return super::notary_request::merge(ctx, files, out);
    }
    let _lock = ws.lock()?;
    let inputs: Vec<(PathBuf, Input)> = files
        .iter()
        .map(|f| read_input(f).map(|i| (f.clone(), i)))
        .collect::<Result<_>>()?;
    let staged = ws.staged()?;
    let mut base = match (&staged, out) {
        (Some(s), _) => s.clone(),
        (None, Some(_)) => inputs
            .iter()
            .find_map(|(_, i)| {
                if let Input::Request(m) = i {
                    Some(m.clone())
                } else {
                    None
                }
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
    let digest = digest_hex(base.canonical_signed());
    let against = if staged.is_some() {
        "the staged root"
    } else {
        "the first request"
    };
    let allowed = signing_keys(&ws, &base)?;
    let mut candidates: Vec<(PathBuf, Signature)> = Vec::new();
    for (path, input) in &inputs {
        match input {
            Input::Request(m) => {
                let d = digest_hex(m.canonical_signed());
                if d != digest {
                    return Err(other_bytes(
                        path,
                        (m.signed.version, &d),
                        against,
                        (base.signed.version, &digest),
                    ));
                }
                candidates.extend(m.signatures.iter().map(|s| (path.clone(), s.clone())));
            }
            Input::Detached(d) => {
                if d.signed_sha256 != digest {
                    return Err(detached_other_bytes(
                        path,
                        &d.signed_sha256,
                        against,
                        &digest,
                    ));
                }
                candidates.push((
                    path.clone(),
                    Signature::new(d.keyid.clone(), &hex::decode(&d.sig).unwrap_or_default()),
                ));
            }
        }
    }
    let mut added = Vec::new();
    let mut already = Vec::new();
    for (path, s) in candidates {
        let label = key_label(&ws, &s.keyid);
        if s.sig.is_empty() {
            continue;
        }
        let Some(key) = allowed.get(&s.keyid) else {
            return Err(Error::refused(format!(
                "{} holds a signature by {label}, which is not a root key of version {}{}",
                path.display(),
                base.signed.version,
                if base.signed.version > 1 {
                    " or of the version before"
                } else {
                    ""
                }
            ))
            .hint("it would count for nothing; find out where it came from; nothing was merged"));
        };
        let pk = key.decode().map_err(|e| Error::refused(e.to_string()))?;
        crate::tuf::sig::verify(&pk, base.canonical_signed(), &s.sig).map_err(|e| {
            Error::refused(format!(
                "{}: the signature by {label} does not verify: {e}",
                path.display()
            ))
            .hint("ask that keyholder to sign again; nothing was merged")
        })?;
        if base.signatures.iter().any(|x| {
            x.keyid == s.keyid
                && crate::tuf::sig::verify(&pk, base.canonical_signed(), &x.sig).is_ok()
        }) {
            if !already.contains(&label) {
                already.push(label);
            }
            continue;
        }
        base.signatures.retain(|x| x.keyid != s.keyid);
        base.signatures.push(s);
        added.push(label);
    }
    let written = match out {
        Some(o) => {
            write_atomic(o, &base.to_file_bytes())?;
            o.to_path_buf()
        }
        None => {
            ws.write_staged(&base)?;
            ws.dir.join("staged/root.json")
        }
    };
    let st = if out.is_none() {
        Some(status(ctx, &ws, &base)?)
    } else {
        None
    };
    ctx.record(
        &ws,
        "merge",
        serde_json::json!({
            "version": base.signed.version,
            "signed_sha256": digest,
            "added": added,
            "already": already,
            "inputs": input_digests(files),
            "written": written.display().to_string(),
        }),
    )?;
    Ok(MergeReport {
        version: base.signed.version,
        digest,
        added,
        already,
        written,
        status: st,
    })
}

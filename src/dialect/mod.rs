//! The seam between the ceremony and the metadata it writes: everything that differs between
//! TUF 1.0 and Notary v1 / Docker Content Trust, behind one [`Dialect`] and one [`Doc`].
//!
//! Above this module (`ops`, `cli`, `tui`) an operation is written once: it reads the
//! workspace's roots as [`Doc`]s, compares keys by their public key material (a key ID is a
//! name: one key may stand under several IDs, as a renewed Notary certificate does), counts and
//! verifies through the dialect, and never asks which dialect a workspace keeps. The one `match`
//! on the workspace format is [`Dialect::of`]; the dialects' own code is in `tuf.rs`,
//! `notary.rs` (the certificates a key's device makes are in `signer::notary_cert`).
//!
//! Invariant: a [`Doc`] keeps the canonical bytes it was read or built with; a signature is
//! added only as an entry of the same dialect over those very bytes.

pub mod notary;
pub mod tuf;

use crate::error::{Error, Result};
use crate::signer::Signer;
use crate::tuf::expiry::Timestamp;
use crate::tuf::metadata::{MetadataError, RoleKeys};
use crate::tuf::notary::{NotaryMetadata, NotaryPublicKey, NotarySignature};
use crate::tuf::verify::ChainCheck;
use crate::tuf::{Metadata, PublicKey, Root, Signature};
use crate::workspace::{Format, KeyRecord, Workspace, digest_hex};
use serde_json::Value;
use std::collections::BTreeMap;
use std::rc::Rc;

/// What dialect code needs from the devices and the operator (the ops `Context` gives it), so
/// that this module never imports `ops`.
pub trait Devices {
    fn now(&self) -> Timestamp;
    /// `--force`: proceed where rootcellar refuses for safety.
    fn force(&self) -> bool;
    fn notice(&self, msg: String);
    /// The air-gap guard, before a private key is used.
    fn air_gap(&self, action: &str) -> Result<()>;
    /// The unlocked signer of a registered key (clock checked, PIN asked once).
    fn signer(&self, ws: &Workspace, rec: &KeyRecord) -> Result<Rc<dyn Signer>>;
    fn touch_notice(&self, rec: &KeyRecord, action: &str);
}

/// The metadata dialect of a workspace, or of a file read from outside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dialect {
    Tuf,
    Notary { gun: String },
}

/// A root in either dialect, with the canonical bytes of its `signed` part.
#[derive(Clone, Debug, PartialEq)]
pub enum Doc {
    Tuf(Metadata<Root>),
    Notary(NotaryMetadata),
}

/// One signature entry, in its dialect's encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sig {
    /// Hex; DER for ECDSA.
    Tuf(Signature),
    /// Base64 with Notary's `method`; raw r‖s for ECDSA.
    Notary(NotarySignature),
}

/// Texts that differ between the dialects: how to stage, what to do next.
pub struct Texts {
    pub nothing_staged: &'static str,
    pub stage_first: &'static str,
    pub stage_next: &'static str,
    pub restage: &'static str,
    pub nothing_yet: &'static str,
    pub fix_staged: &'static str,
    pub key_in_use: &'static str,
    /// Said after a file that does not parse in this dialect.
    pub read_as: &'static str,
}

const TUF_TEXTS: Texts = Texts {
    nothing_staged: "stage version 1 with `rootcellar root new`, or the next version with `rootcellar root edit`",
    stage_first: "stage version 1 with `rootcellar root new`",
    stage_next: "stage the next version with `rootcellar root edit`, `rotate`, `revoke` or `refresh`",
    restage: "restore the file, or drop it with `rootcellar root discard` and stage the edit again with `rootcellar root edit`",
    nothing_yet: "nothing is staged or published yet: start with `rootcellar root new`",
    fix_staged: "fix the staged root (`rootcellar root show`), or discard it",
    key_in_use: "remove it from the root with `rootcellar root edit --remove-key ROLE:K`, publish, then destroy it",
    read_as: "",
};

const NOTARY_TEXTS: Texts = Texts {
    nothing_staged: "stage one with `rootcellar notary root`",
    stage_first: "stage version 1 with `rootcellar notary root`, or `rootcellar import notary DIR`",
    stage_next: "stage one with `rootcellar notary root`, `refresh`, `rotate` or `revoke`",
    restage: "restore the file, or drop it with `rootcellar root discard` and stage it again with `rootcellar notary root`",
    nothing_yet: "nothing is staged or published yet: start with `rootcellar notary root`, or `rootcellar notary import DIR` for an existing repository",
    fix_staged: "fix the staged root (`rootcellar status`), or discard it",
    key_in_use: "stage and publish a version without it (`rootcellar revoke K` or `rotate`), then destroy it",
    read_as: " (read as Notary metadata)",
};

/// The dialect a parsed document is written in: Notary's `_type` is "Root" or "Targets".
pub fn is_notary_value(v: &Value) -> bool {
    crate::tuf::notary::is_notary(v)
        || v.get("format").and_then(Value::as_str) == Some("notary")
        || v.get("signed")
            .and_then(|s| s.get("_type"))
            .and_then(Value::as_str)
            == Some("Targets")
}

impl Dialect {
    /// The workspace's dialect: the one `match` on its format.
    pub fn of(ws: &Workspace) -> Dialect {
        match &ws.config.format {
            Format::Tuf => Dialect::Tuf,
            Format::Notary { gun } => Dialect::Notary { gun: gun.clone() },
        }
    }

    /// The dialect a document from outside is written in (`gun`: the repository it must name,
    /// when known).
    pub fn of_value(v: &Value, gun: Option<&str>) -> Dialect {
        if is_notary_value(v) {
            Dialect::Notary {
                gun: gun.unwrap_or("").into(),
            }
        } else {
            Dialect::Tuf
        }
    }

    /// The repository name Notary certificates must carry.
    pub fn gun(&self) -> Option<&str> {
        match self {
            Dialect::Notary { gun } if !gun.is_empty() => Some(gun),
            _ => None,
        }
    }

    /// "tuf" or "notary", as reports and `rootcellar.toml` name it.
    pub fn key(&self) -> &'static str {
        match self {
            Dialect::Tuf => "tuf",
            Dialect::Notary { .. } => "notary",
        }
    }

    /// A Notary trust folder's targets files checked against `root` (none in TUF): the checks
    /// and the first failure.
    pub fn verify_targets_folder(
        &self,
        root: &Doc,
        dir: &std::path::Path,
        at: Timestamp,
    ) -> Result<(Vec<crate::tuf::notary::TargetsCheck>, Option<String>)> {
        match root {
            Doc::Notary(r) => notary::verify_targets_folder(r, dir, at),
            Doc::Tuf(_) => Ok((Vec::new(), None)),
        }
    }

    /// What `verify` warns about in the newest root of a valid chain (Notary: a root
    /// certificate that ends soon).
    pub fn verify_warnings(&self, newest: &Doc, at: Timestamp) -> Vec<String> {
        match newest {
            Doc::Notary(m) => notary::verify_warnings(m, at),
            Doc::Tuf(_) => Vec::new(),
        }
    }

    /// "TUF" or "Notary".
    pub fn short(&self) -> &'static str {
        match self {
            Dialect::Tuf => "TUF",
            Dialect::Notary { .. } => "Notary",
        }
    }

    /// "TUF 1.0" or "Notary v1".
    pub fn name(&self) -> &'static str {
        match self {
            Dialect::Tuf => "TUF 1.0",
            Dialect::Notary { .. } => "Notary v1",
        }
    }

    pub fn texts(&self) -> &'static Texts {
        match self {
            Dialect::Tuf => &TUF_TEXTS,
            Dialect::Notary { .. } => &NOTARY_TEXTS,
        }
    }

    /// Refuses a TUF-only command (`adopt`) in a Notary workspace.
    pub fn tuf_only(&self) -> Result<()> {
        match self {
            Dialect::Tuf => Ok(()),
            Dialect::Notary { gun } => Err(Error::refused(format!(
                "this workspace keeps Notary v1 metadata for {gun}; this command reads or writes TUF 1.0 metadata only"
            ))
            .hint("in a Notary workspace: `notary root`, `refresh`, `rotate` or `revoke` stage a root, then `sign`, `status`, `publish`, `export --to DIR`; also `delegate`, `request`, `merge`, `import notary DIR`, `notary handover`; see docs/migrate-from-notary.md")),
        }
    }

    /// A root in this dialect.
    pub fn parse(&self, bytes: &[u8]) -> Result<Doc, MetadataError> {
        self.parse_value(crate::tuf::json::parse_strict(bytes)?)
    }

    pub fn parse_value(&self, v: Value) -> Result<Doc, MetadataError> {
        match self {
            Dialect::Tuf => Metadata::<Root>::from_value(v).map(Doc::Tuf),
            Dialect::Notary { .. } => NotaryMetadata::from_value(v).map(Doc::Notary),
        }
    }

    /// Whether `doc` is written in this dialect.
    pub fn accepts(&self, doc: &Doc) -> bool {
        matches!(
            (self, doc),
            (Dialect::Tuf, Doc::Tuf(_)) | (Dialect::Notary { .. }, Doc::Notary(_))
        )
    }

    /// `detail` with the dialect's fields: a Notary line names the format (and, `with_gun`,
    /// the repository); a TUF line is left as it is.
    pub fn tag(&self, mut detail: Value, with_gun: bool) -> Value {
        if let (Dialect::Notary { gun }, Value::Object(m)) = (self, &mut detail) {
            m.insert("format".into(), "notary".into());
            if with_gun {
                m.insert("gun".into(), gun.clone().into());
            }
        }
        detail
    }

    /// The staged root, checked to be what rootcellar last wrote.
    pub fn staged(&self, ws: &Workspace) -> Result<Option<Doc>> {
        let Some((bytes, digest)) = ws.staged_raw()? else {
            return Ok(None);
        };
        let edited = |why: String| {
            Error::refused(format!(
                "staged/root.json was changed outside rootcellar: {why}"
            ))
            .hint(self.texts().restage)
        };
        let doc = self.parse(&bytes).map_err(|e| edited(e.to_string()))?;
        let want = digest.map_err(edited)?;
        let now = doc.digest();
        if now != want {
            return Err(edited(format!(
                "its signed part has digest {}, rootcellar wrote {}",
                &now[..16],
                want.get(..16).unwrap_or("?")
            )));
        }
        Ok(Some(doc))
    }

    /// Writes the staged root and the digest that detects an edit by hand.
    pub fn write_staged(&self, ws: &Workspace, doc: &Doc) -> Result<()> {
        ws.write_staged_raw(&doc.file_bytes())
    }

    /// Published roots, oldest first; each file must carry its own version.
    pub fn published(&self, ws: &Workspace) -> Result<Vec<Doc>> {
        self.read_published(ws, ws.published_files()?)
    }

    /// Published roots as they are, unchecked against the transcript (for `audit re-anchor`).
    pub fn published_unanchored(&self, ws: &Workspace) -> Result<Vec<Doc>> {
        self.read_published(ws, ws.published_files_unchecked()?)
    }

    /// Why `history` (oldest first) does not verify as a chain, as of now or, if the last
    /// version has expired, as of just before it expired (a history may be old and sound).
    pub fn chain_failure(&self, history: &[Doc], now: Timestamp) -> Option<String> {
        let (first, rest) = history.split_first()?;
        let last = history.last().unwrap_or(first);
        let at = match last.expires_at() {
            Ok(e) if e <= now => e.checked_sub(time::Duration::seconds(1)).unwrap_or(e),
            _ => now,
        };
        self.verify_chain(first, rest, at).failure
    }

    fn read_published(&self, ws: &Workspace, files: Vec<(u64, Vec<u8>)>) -> Result<Vec<Doc>> {
        let mut out = Vec::new();
        for (v, bytes) in files {
            let (p, _) = ws.published_paths(v);
            let doc = self.parse(&bytes).map_err(|e| {
                Error::refused(format!("published root {} is unreadable: {e}", p.display()))
                    .hint("restore the file from your export or backup")
            })?;
            if doc.version() != v {
                return Err(Error::refused(format!(
                    "{} holds version {}",
                    p.display(),
                    doc.version()
                )));
            }
            out.push(doc);
        }
        Ok(out)
    }

    /// Verifies `trusted`, then each of `updates`, as a client of this dialect does, as of `at`.
    /// A document of the other dialect fails the chain.
    pub fn verify_chain(&self, trusted: &Doc, updates: &[Doc], at: Timestamp) -> ChainCheck {
        self.verify_chain_naming(trusted, updates, at, false)
    }

    /// As [`Dialect::verify_chain`]; with `every`, every signature is checked so that the report
    /// names every valid signer (Notary counts always check every signature).
    pub fn verify_chain_naming(
        &self,
        trusted: &Doc,
        updates: &[Doc],
        at: Timestamp,
        every: bool,
    ) -> ChainCheck {
        match self {
            Dialect::Tuf => {
                let (Doc::Tuf(t), Some(u)) = (trusted, tuf_docs(updates)) else {
                    return mixed(at);
                };
                crate::tuf::verify::verify_chain_of(t, &u, at, every)
            }
            Dialect::Notary { .. } => {
                let (Doc::Notary(t), Some(u)) = (trusted, notary_docs(updates)) else {
                    return mixed(at);
                };
                crate::tuf::notary::verify_chain_of(t, &u, at, self.gun())
            }
        }
    }

    /// A signature entry by `pk` under `keyid`, from the signer's bytes (DER for ECDSA).
    pub fn sign_entry(&self, keyid: &str, pk: &PublicKey, raw: &[u8]) -> Result<Sig> {
        match self {
            Dialect::Tuf => Ok(Sig::Tuf(Signature::new(keyid.into(), raw))),
            Dialect::Notary { .. } => notary::signature(keyid, pk, raw).map(Sig::Notary),
        }
    }

    /// Warnings about the published root `latest` as of `now`, with `window` the end of the
    /// warning span.
    pub fn warnings(&self, latest: &Doc, now: Timestamp, window: Timestamp) -> Vec<String> {
        match (self, latest) {
            (Dialect::Notary { .. }, Doc::Notary(md)) => notary::warnings(md, now, window),
            _ => tuf::warnings(latest, now, window),
        }
    }
}

fn mixed(at: Timestamp) -> ChainCheck {
    ChainCheck {
        at: crate::tuf::expiry::format_tuf_time(at),
        roots: Vec::new(),
        valid: false,
        failure: Some("the files mix TUF 1.0 and Notary v1 metadata".into()),
    }
}

fn tuf_docs(docs: &[Doc]) -> Option<Vec<&Metadata<Root>>> {
    docs.iter()
        .map(|d| match d {
            Doc::Tuf(m) => Some(m),
            Doc::Notary(_) => None,
        })
        .collect()
}

fn notary_docs(docs: &[Doc]) -> Option<Vec<&NotaryMetadata>> {
    docs.iter()
        .map(|d| match d {
            Doc::Notary(m) => Some(m),
            Doc::Tuf(_) => None,
        })
        .collect()
}

impl Doc {
    pub fn version(&self) -> u64 {
        match self {
            Doc::Tuf(m) => m.signed.version,
            Doc::Notary(m) => m.signed.version,
        }
    }

    pub fn expires(&self) -> &str {
        match self {
            Doc::Tuf(m) => &m.signed.expires,
            Doc::Notary(m) => &m.signed.expires,
        }
    }

    pub fn expires_at(&self) -> std::result::Result<Timestamp, String> {
        match self {
            Doc::Tuf(m) => m.signed.expires_at(),
            Doc::Notary(m) => crate::tuf::notary::parse_expires(&m.signed.expires),
        }
    }

    pub fn consistent_snapshot(&self) -> Option<bool> {
        match self {
            Doc::Tuf(m) => m.signed.consistent_snapshot,
            Doc::Notary(m) => m.signed.consistent_snapshot,
        }
    }

    /// The spec version as `root show` names it.
    pub fn spec_version(&self) -> String {
        match self {
            Doc::Tuf(m) => m.signed.spec_version.clone(),
            Doc::Notary(_) => "Notary v1 / DCT".into(),
        }
    }

    /// Whether `other` lists the very key object this root lists under `id`.
    pub fn same_key_object(&self, id: &str, other: &Doc) -> bool {
        match (self, other) {
            (Doc::Tuf(a), Doc::Tuf(b)) => a.signed.keys.get(id) == b.signed.keys.get(id),
            (Doc::Notary(a), Doc::Notary(b)) => a.signed.keys.get(id) == b.signed.keys.get(id),
            _ => false,
        }
    }
    /// Key IDs that are not the SHA-256 of their key object (TUF; tough refuses such roots).
    pub fn keyid_mismatches(&self) -> Vec<(String, String)> {
        match self {
            Doc::Tuf(m) => crate::tuf::verify::keyid_mismatches(&m.signed),
            Doc::Notary(_) => Vec::new(),
        }
    }

    /// The canonical bytes of `signed`: what signatures cover.
    pub fn canonical(&self) -> &[u8] {
        match self {
            Doc::Tuf(m) => m.canonical_signed(),
            Doc::Notary(m) => m.canonical_signed(),
        }
    }

    /// SHA-256 of the canonical bytes: what keyholders read aloud.
    pub fn digest(&self) -> String {
        digest_hex(self.canonical())
    }

    /// The file form.
    pub fn file_bytes(&self) -> Vec<u8> {
        match self {
            Doc::Tuf(m) => m.to_file_bytes(),
            Doc::Notary(m) => m.to_file_bytes(),
        }
    }

    /// The document as a JSON value (for request bundles).
    pub fn to_value(&self) -> Value {
        match self {
            Doc::Tuf(m) => m.to_value(),
            Doc::Notary(m) => serde_json::from_slice(&m.to_file_bytes()).unwrap_or(Value::Null),
        }
    }

    pub fn roles(&self) -> &BTreeMap<String, RoleKeys> {
        match self {
            Doc::Tuf(m) => &m.signed.roles,
            Doc::Notary(m) => &m.signed.roles,
        }
    }

    pub fn role(&self, name: &str) -> Option<&RoleKeys> {
        self.roles().get(name)
    }

    /// The key IDs of `keys`, in order.
    pub fn key_ids(&self) -> Vec<&String> {
        match self {
            Doc::Tuf(m) => m.signed.keys.keys().collect(),
            Doc::Notary(m) => m.signed.keys.keys().collect(),
        }
    }

    /// The public key listed under `id` (`None`: no such key), certificates not checked for
    /// dates.
    pub fn decode(&self, id: &str) -> Option<std::result::Result<NotaryPublicKey, String>> {
        match self {
            Doc::Tuf(m) => m.signed.keys.get(id).map(|k| {
                k.decode()
                    .map(NotaryPublicKey::Tuf)
                    .map_err(|e| e.to_string())
            }),
            Doc::Notary(m) => m
                .signed
                .keys
                .get(id)
                .map(|k| k.decode(None).map(|(p, _)| p)),
        }
    }

    /// The identity of the public key under `id`: what keys are compared by.
    pub fn identity(&self, id: &str) -> Option<Vec<u8>> {
        self.decode(id)?.ok().map(|pk| pk.identity())
    }

    /// What the key under `id` is compared by: its public key material, or, for a key
    /// rootcellar cannot read, the hash of its key object (so that a change to it still shows).
    pub fn material(&self, id: &str) -> Vec<u8> {
        if let Some(i) = self.identity(id) {
            return i;
        }
        let object = match self {
            Doc::Tuf(m) => m.signed.keys.get(id).map(|k| k.keyid()),
            Doc::Notary(m) => m.signed.keys.get(id).map(|k| k.keyid()),
        };
        let mut v = vec![0xff];
        v.extend(object.unwrap_or_default().into_bytes());
        v
    }

    /// The short fingerprint of the key under `id` ("" when it is not a key rootcellar reads).
    pub fn fingerprint(&self, id: &str) -> String {
        match self.decode(id) {
            Some(Ok(NotaryPublicKey::Tuf(pk))) => pk.fingerprint(),
            _ => String::new(),
        }
    }

    /// The key's kind as `root show` lists it.
    pub fn algorithm(&self, id: &str) -> String {
        match self {
            Doc::Tuf(m) => match m.signed.keys.get(id) {
                Some(k) => k
                    .decode()
                    .map(|p| p.algorithm().name().to_string())
                    .unwrap_or_else(|_| k.keytype.clone()),
                None => String::new(),
            },
            Doc::Notary(m) => m
                .signed
                .keys
                .get(id)
                .map(|k| k.keytype.clone())
                .unwrap_or_default(),
        }
    }

    /// The roles that list `id`.
    pub fn roles_of_id(&self, id: &str) -> Vec<String> {
        self.roles()
            .iter()
            .filter(|(_, r)| r.keyids.iter().any(|k| k == id))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// The key IDs under which the public key `identity` stands in `role`.
    pub fn ids_in(&self, role: &str, identity: &[u8]) -> Vec<String> {
        self.role(role)
            .map(|r| {
                r.keyids
                    .iter()
                    .filter(|id| self.identity(id).as_deref() == Some(identity))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The roles in which the public key `identity` stands.
    pub fn roles_of_key(&self, identity: &[u8]) -> Vec<String> {
        self.roles()
            .keys()
            .filter(|r| !self.ids_in(r, identity).is_empty())
            .cloned()
            .collect()
    }

    pub fn signatures(&self) -> Vec<Sig> {
        match self {
            Doc::Tuf(m) => m.signatures.iter().cloned().map(Sig::Tuf).collect(),
            Doc::Notary(m) => m.signatures.iter().cloned().map(Sig::Notary).collect(),
        }
    }

    /// The same `signed` with other signatures (entries of the other dialect are refused).
    pub fn with_signatures(&self, sigs: Vec<Sig>) -> Result<Doc> {
        let wrong = || Error::bad_input("a signature of the other dialect cannot be added");
        match self {
            Doc::Tuf(m) => {
                let mut out = m.clone();
                out.signatures = sigs
                    .into_iter()
                    .map(|s| match s {
                        Sig::Tuf(s) => Ok(s),
                        Sig::Notary(_) => Err(wrong()),
                    })
                    .collect::<Result<_>>()?;
                crate::tuf::metadata::refuse_duplicate_keyids(&out.signatures).map_err(|e| {
                    Error::environment(format!("the root cannot be rewritten: {e}"))
                })?;
                Ok(Doc::Tuf(out))
            }
            Doc::Notary(m) => {
                let sigs = sigs
                    .into_iter()
                    .map(|s| match s {
                        Sig::Notary(s) => Ok(s),
                        Sig::Tuf(_) => Err(wrong()),
                    })
                    .collect::<Result<Vec<_>>>()?;
                m.with_signatures(sigs)
                    .map(Doc::Notary)
                    .map_err(|e| Error::environment(format!("the root cannot be rewritten: {e}")))
            }
        }
    }
}

impl Sig {
    pub fn keyid(&self) -> &str {
        match self {
            Sig::Tuf(s) => &s.keyid,
            Sig::Notary(s) => &s.keyid,
        }
    }

    /// An empty placeholder (python-tuf writes them for keys that have not signed).
    pub fn is_empty(&self) -> bool {
        match self {
            Sig::Tuf(s) => s.sig.is_empty(),
            Sig::Notary(s) => s.sig.is_empty(),
        }
    }

    /// The same signature listed under another key ID of the same key.
    pub fn under(&self, keyid: &str) -> Sig {
        match self {
            Sig::Tuf(s) => Sig::Tuf(Signature {
                keyid: keyid.into(),
                ..s.clone()
            }),
            Sig::Notary(s) => Sig::Notary(NotarySignature {
                keyid: keyid.into(),
                ..s.clone()
            }),
        }
    }

    /// Checks the signature by `pk` over `message` in its dialect's encoding.
    pub fn verify(&self, pk: &NotaryPublicKey, message: &[u8]) -> std::result::Result<(), String> {
        match (self, pk) {
            (Sig::Tuf(s), NotaryPublicKey::Tuf(pk)) => {
                crate::tuf::sig::verify(pk, message, &s.sig).map_err(|e| e.to_string())
            }
            (Sig::Tuf(_), NotaryPublicKey::Rsa(_)) => {
                Err("rootcellar does not verify TUF signatures by RSA keys".into())
            }
            (Sig::Notary(s), pk) => crate::tuf::notary::verify_signature(pk, s, message),
        }
    }

    /// A signature travelling alone: `sig` as written, `method` for Notary.
    pub fn detached(&self, signed_sha256: &str) -> Detached {
        let (keyid, sig, method) = match self {
            Sig::Tuf(s) => (s.keyid.clone(), s.sig.clone(), None),
            Sig::Notary(s) => (s.keyid.clone(), s.sig.clone(), Some(s.method.clone())),
        };
        Detached {
            keyid,
            sig,
            signed_sha256: signed_sha256.into(),
            method,
        }
    }
}

/// A signature travelling alone (`sign --detached`), for `merge`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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

impl Detached {
    /// The signature entry it carries.
    pub fn sig(&self) -> Sig {
        match &self.method {
            None => Sig::Tuf(Signature {
                keyid: self.keyid.clone(),
                sig: self.sig.clone(),
                extra: BTreeMap::new(),
            }),
            Some(m) => Sig::Notary(NotarySignature {
                keyid: self.keyid.clone(),
                method: m.clone(),
                sig: self.sig.clone(),
                extra: BTreeMap::new(),
            }),
        }
    }

    /// The dialect the signature is written in (`gun`: the repository of a Notary one, when
    /// known).
    pub fn dialect(&self, gun: Option<&str>) -> Dialect {
        match self.method {
            Some(_) => Dialect::Notary {
                gun: gun.unwrap_or("").into(),
            },
            None => Dialect::Tuf,
        }
    }
}

/// Workspace keys by the identity of their public key: how key IDs in a root (hashes of key
/// objects, or of Notary certificates) are matched to the keys registered here.
pub struct Holders(Vec<(Vec<u8>, KeyRecord)>);

impl Holders {
    /// No workspace keys: every key goes by its key ID.
    pub fn none() -> Holders {
        Holders(Vec::new())
    }

    pub fn of(ws: &Workspace) -> Result<Holders> {
        Ok(Holders(
            ws.keys()?
                .into_iter()
                .filter_map(|r| r.public_key().ok().map(|pk| (pk.identity(), r)))
                .collect(),
        ))
    }

    /// The workspace key with public key `identity`.
    pub fn get(&self, identity: &[u8]) -> Option<&KeyRecord> {
        self.0.iter().find(|(i, _)| i == identity).map(|(_, r)| r)
    }

    /// The workspace key `id` names in `doc`.
    pub fn record(&self, doc: &Doc, id: &str) -> Option<&KeyRecord> {
        self.get(&doc.identity(id)?)
    }

    /// The name `id` of `doc` goes by here: the workspace key with that public key, or the
    /// first 12 hex digits.
    pub fn label(&self, doc: &Doc, id: &str) -> String {
        self.record(doc, id)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| id.chars().take(12).collect())
    }

    pub fn records(&self) -> impl Iterator<Item = &KeyRecord> {
        self.0.iter().map(|(_, r)| r)
    }
}

/// A key ID that names other key material in a root than it did in an earlier one.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KeyIdChange {
    pub keyid: String,
    pub version_before: u64,
    /// Fingerprint of the key the ID named before.
    pub before: String,
    pub version: u64,
    pub after: String,
}

impl std::fmt::Display for KeyIdChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "key ID {} names key {} in version {} but key {} in version {}",
            self.keyid.chars().take(16).collect::<String>(),
            self.after,
            self.version,
            self.before,
            self.version_before
        )
    }
}

/// The fingerprint of the key under `id`, or of its key object when rootcellar cannot read it.
fn shown(doc: &Doc, id: &str) -> String {
    match doc.fingerprint(id) {
        f if !f.is_empty() => f,
        _ => {
            let hex = hex::encode(doc.material(id));
            format!("object {}", hex.get(..16).unwrap_or(&hex))
        }
    }
}

/// The key IDs of each root in `roots` (oldest first) that named other key material in an
/// earlier root of `roots`: a review that compares key IDs would miss such a change.
/// Over a history, each key ID that is not the SHA-256 of its key object, once per key object
/// (see [`crate::tuf::verify::keyid_mismatches_in`]; Notary key IDs are always checked).
pub fn keyid_mismatches_in(roots: &[Doc]) -> Vec<(u64, String, String)> {
    let tuf: Vec<&Root> = (roots.iter())
        .filter_map(|d| match d {
            Doc::Tuf(m) => Some(&m.signed),
            Doc::Notary(_) => None,
        })
        .collect();
    crate::tuf::verify::keyid_mismatches_in(&tuf)
}

pub fn changed_key_ids(roots: &[&Doc]) -> Vec<KeyIdChange> {
    // Where a key ID was first seen. A key object listed again unchanged names the same key:
    // only a different object is decoded and compared (a long chain repeats its keys).
    let mut seen: BTreeMap<&str, &Doc> = BTreeMap::new();
    let mut out = Vec::new();
    for doc in roots {
        for id in doc.key_ids() {
            match seen.get(id.as_str()) {
                Some(first) if !first.same_key_object(id, doc) => {
                    if first.material(id) != doc.material(id) {
                        out.push(KeyIdChange {
                            keyid: id.clone(),
                            version_before: first.version(),
                            before: shown(first, id),
                            version: doc.version(),
                            after: shown(doc, id),
                        });
                    }
                }
                Some(_) => {}
                None => {
                    seen.insert(id, doc);
                }
            }
        }
    }
    out
}

/// The identity of a record's public key (empty when the record's key cannot be read).
pub fn identity_of(rec: &KeyRecord) -> Vec<u8> {
    rec.public_key().map(|pk| pk.identity()).unwrap_or_default()
}

/// What staging the next root starts from.
pub struct Base<'a> {
    pub dev: &'a dyn Devices,
    pub ws: &'a Workspace,
    pub published: &'a [Doc],
    pub staged: Option<&'a Doc>,
}

/// A root to stage, with its transcript line and (Notary) the report of its certificates.
pub struct Staging {
    pub doc: Doc,
    pub detail: Value,
    pub report: Option<notary::StageReport>,
    /// Notices about what was staged, for after the general ones.
    pub notes: Vec<String>,
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

impl Dialect {
    /// `root new`: version 1.
    pub fn stage_new(&self, b: &Base, args: &NewRoot) -> Result<Staging> {
        match self {
            Dialect::Tuf => tuf::new(b, args),
            Dialect::Notary { gun } => notary::new(b, gun, args),
        }
    }

    /// `root edit`: the next version (or, in TUF, more edits to the staged one).
    pub fn stage_edit(&self, b: &Base, args: &EditRoot) -> Result<Staging> {
        match self {
            Dialect::Tuf => tuf::edit(b, args),
            Dialect::Notary { gun } => notary::edit(b, gun, args),
        }
    }

    /// `rotate ROLE --old K --new K`: the same place in ROLE, another key.
    pub fn stage_rotate(
        &self,
        b: &Base,
        role: &str,
        old: &str,
        new: &str,
        expires: Option<&str>,
    ) -> Result<Staging> {
        match self {
            Dialect::Tuf if !crate::tuf::metadata::TOP_LEVEL_ROLES.contains(&role) => Err(
                Error::bad_input(format!("{role:?} is not a role of a root"))
                    .hint("rotate root, targets, snapshot or timestamp"),
            ),
            Dialect::Tuf => tuf::edit(
                b,
                &EditRoot {
                    add: vec![(role.into(), new.into())],
                    remove: vec![(role.into(), old.into())],
                    expires: expires.map(String::from),
                    ..EditRoot::default()
                },
            ),
            Dialect::Notary { .. } if expires.is_some() => Err(Error::bad_input(
                "a Notary root expires with its root certificates: --expires does not apply",
            )
            .hint("leave --expires out (`notary root --years N` sets the certificates' lifetime)")),
            Dialect::Notary { gun } => notary::rotate(b, gun, role, old, new),
        }
    }

    /// `revoke K`.
    pub fn stage_revoke(&self, b: &Base, key: &str, reason: Option<&str>) -> Result<Staging> {
        match self {
            Dialect::Tuf => tuf::revoke(b, key, reason),
            Dialect::Notary { gun } => notary::revoke(b, gun, key),
        }
    }

    /// `refresh`: the same keys, a new expiry (Notary: new certificates).
    pub fn stage_refresh(&self, b: &Base, expires: Option<&str>) -> Result<Staging> {
        match self {
            Dialect::Tuf => tuf::edit(
                b,
                &EditRoot {
                    expires: expires.map(String::from),
                    ..EditRoot::default()
                },
            ),
            Dialect::Notary { gun } => notary::refresh(b, gun, expires),
        }
    }

    /// `notary root` in a Notary workspace.
    pub fn stage_notary(&self, b: &Base, spec: &notary::StageSpec) -> Result<Staging> {
        match self {
            Dialect::Notary { gun } => notary::stage(b, gun, spec),
            Dialect::Tuf => Err(Error::refused("staging a Notary root needs a Notary workspace")
                .hint("`rootcellar init --format notary --gun NAME` in a new folder, or write a file in one go with --out")),
        }
    }
}

/// A delegation to tagging keys.
pub struct Delegation {
    pub role: String,
    pub keys: Vec<String>,
    pub threshold: u64,
    pub paths: Vec<String>,
    pub terminating: bool,
}

/// One change to the delegations of top-level targets metadata.
pub enum DelegationEdit<'a> {
    Add(&'a Delegation),
    Remove(&'a str),
    Rotate {
        role: &'a str,
        old: &'a str,
        new: &'a str,
    },
}

fn not_delegated(role: &str) -> Error {
    Error::refused(format!("role {role} is not delegated"))
        .hint("`rootcellar delegate list` shows the roles")
}

/// A delegated role as `delegate list` shows it.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct RoleSummary {
    pub name: String,
    pub file: String,
    pub keys: Vec<String>,
    pub threshold: u64,
    pub paths: Vec<String>,
    pub terminating: bool,
}

/// The `signed` part of top-level targets metadata, in either dialect.
#[derive(Clone, Debug)]
pub enum TargetsDoc {
    Tuf(crate::tuf::Targets),
    Notary(crate::tuf::notary::NotaryTargets),
}

impl Dialect {
    /// What the dialect refuses in a delegation before anything is read.
    pub fn check_delegation(&self, d: &Delegation) -> Result<()> {
        if crate::text::is_unsafe_name(&d.role)
            || d.paths.iter().any(|p| crate::text::is_unsafe_name(p))
        {
            return Err(Error::bad_input(format!(
                "the role name or a path holds control, bidirectional or invisible characters: {:?}",
                crate::text::visible(&d.role)
            ))
            .hint("type the name and paths again in plain characters; such characters can make a screen show another name"));
        }
        match self {
            Dialect::Tuf => tuf::check_delegation(d),
            Dialect::Notary { .. } => notary::check_delegation(d),
        }
    }

    /// The published `targets.json`'s `signed` part, if any.
    pub fn current_targets(&self, ws: &Workspace) -> Result<Option<TargetsDoc>> {
        let Some(bytes) = ws.targets_raw()? else {
            return Ok(None);
        };
        let unreadable = |e: MetadataError| {
            Error::refused(format!("metadata/targets.json is unreadable: {e}"))
                .hint("restore the file from your export or backup")
        };
        Ok(Some(match self {
            Dialect::Tuf => TargetsDoc::Tuf(
                Metadata::<crate::tuf::Targets>::from_bytes(&bytes)
                    .map_err(unreadable)?
                    .signed,
            ),
            Dialect::Notary { .. } => TargetsDoc::Notary(
                crate::tuf::notary::NotaryTargetsFile::from_bytes(&bytes)
                    .map_err(unreadable)?
                    .signed,
            ),
        }))
    }

    /// Targets metadata with nothing in it yet (version 0).
    pub fn empty_targets(&self) -> TargetsDoc {
        match self {
            Dialect::Tuf => TargetsDoc::Tuf(tuf::empty_targets()),
            Dialect::Notary { .. } => TargetsDoc::Notary(crate::tuf::notary::NotaryTargets {
                type_: "Targets".into(),
                version: 0,
                expires: String::new(),
                targets: BTreeMap::new(),
                delegations: Default::default(),
                extra: BTreeMap::new(),
            }),
        }
    }

    pub fn edit_targets(
        &self,
        t: &mut TargetsDoc,
        ws: &Workspace,
        e: &DelegationEdit,
    ) -> Result<()> {
        match t {
            TargetsDoc::Tuf(t) => tuf::edit_targets(t, ws, e),
            TargetsDoc::Notary(t) => notary::edit_targets(t, ws, e),
        }
    }

    /// The targets signatures of the file `bytes` counted against `root`'s targets role; for
    /// Notary, the file is also verified as Notary's client does (refused if it fails).
    pub fn check_targets(
        &self,
        root: &Doc,
        bytes: &[u8],
        at: Timestamp,
    ) -> Result<crate::tuf::verify::ThresholdCheck> {
        let no_role = || Error::refused("the published root has no targets role");
        let made =
            |e: MetadataError| Error::environment(format!("the targets metadata just made: {e}"));
        match root {
            Doc::Tuf(r) => {
                let md = Metadata::<crate::tuf::Targets>::from_bytes(bytes).map_err(made)?;
                let role = r.signed.role("targets").ok_or_else(no_role)?;
                Ok(crate::tuf::verify::check_threshold(
                    "targets",
                    md.canonical_signed(),
                    &md.signatures,
                    &r.signed.keys,
                    role,
                ))
            }
            Doc::Notary(r) => {
                let md = crate::tuf::notary::NotaryTargetsFile::from_bytes(bytes).map_err(made)?;
                let role = r.signed.roles.get("targets").ok_or_else(no_role)?;
                let check = crate::tuf::notary::check_threshold(
                    "targets",
                    &md.signatures,
                    md.canonical_signed(),
                    &r.signed.keys,
                    role,
                    None,
                    self.gun(),
                );
                if check.met
                    && let Some(c) =
                        crate::tuf::notary::verify_targets(r, &[("targets".into(), md)], at)
                            .into_iter()
                            .find(|c| !c.errors.is_empty())
                {
                    return Err(Error::refused(format!(
                        "the targets metadata just made does not verify: {}",
                        c.errors.join("; ")
                    ))
                    .hint("nothing was written"));
                }
                Ok(check)
            }
        }
    }
}

impl TargetsDoc {
    pub fn version(&self) -> u64 {
        match self {
            TargetsDoc::Tuf(t) => t.version,
            TargetsDoc::Notary(t) => t.version,
        }
    }

    /// Sets the version and expiry of the next metadata.
    pub fn bump(&mut self, version: u64, expires: String) {
        match self {
            TargetsDoc::Tuf(t) => (t.version, t.expires) = (version, expires),
            TargetsDoc::Notary(t) => (t.version, t.expires) = (version, expires),
        }
    }

    /// The delegated roles: name, key IDs, threshold.
    fn delegated(&self) -> Vec<(String, Vec<String>, u64)> {
        let role = |n: &String, ids: &Vec<String>, t: u64| (n.clone(), ids.clone(), t);
        match self {
            TargetsDoc::Tuf(t) => t
                .delegations
                .iter()
                .flat_map(|d| &d.roles)
                .map(|r| role(&r.name, &r.keyids, r.threshold))
                .collect(),
            TargetsDoc::Notary(t) => (t.delegations.roles.iter())
                .map(|r| role(&r.name, &r.keyids, r.threshold))
                .collect(),
        }
    }

    /// Keys no role uses leave; every role must keep at least its threshold of keys.
    pub fn prune(&mut self) -> Result<()> {
        let roles = self.delegated();
        let used: Vec<&String> = roles.iter().flat_map(|(_, ids, _)| ids).collect();
        match self {
            TargetsDoc::Tuf(t) => {
                if let Some(d) = &mut t.delegations {
                    d.keys.retain(|k, _| used.contains(&k));
                }
            }
            TargetsDoc::Notary(t) => t.delegations.keys.retain(|k, _| used.contains(&k)),
        }
        for (name, ids, threshold) in &roles {
            let n = ids.len();
            if *threshold == 0 || (n as u64) < *threshold {
                return Err(Error::refused(format!(
                    "delegated role {name} would have {n} key(s) for a threshold of {threshold}"
                ))
                .hint("add keys or lower --threshold"));
            }
        }
        Ok(())
    }

    /// The file with `signatures` (none: the bytes to sign are its canonical `signed`).
    pub fn file(&self, signatures: &[Sig]) -> Result<Vec<u8>> {
        match self {
            TargetsDoc::Tuf(t) => {
                let mut md = Metadata::new(t.clone())
                    .map_err(|e| Error::refused(e.to_string()).hint("nothing was written"))?;
                for s in signatures {
                    if let Sig::Tuf(s) = s {
                        md.signatures.push(s.clone());
                    }
                }
                Ok(md.to_file_bytes())
            }
            TargetsDoc::Notary(t) => {
                let sigs: Vec<&NotarySignature> = signatures
                    .iter()
                    .filter_map(|s| match s {
                        Sig::Notary(s) => Some(s),
                        Sig::Tuf(_) => None,
                    })
                    .collect();
                serde_json::to_vec(&serde_json::json!({"signed": t, "signatures": sigs}))
                    .map_err(|e| Error::environment(e.to_string()))
            }
        }
    }

    /// The canonical bytes of `signed`: what the targets keys sign.
    pub fn canonical(&self) -> Result<Vec<u8>> {
        let bytes = self.file(&[])?;
        match self {
            TargetsDoc::Tuf(_) => Metadata::<crate::tuf::Targets>::from_bytes(&bytes)
                .map(|m| m.canonical_signed().to_vec()),
            TargetsDoc::Notary(_) => crate::tuf::notary::NotaryTargetsFile::from_bytes(&bytes)
                .map(|m| m.canonical_signed().to_vec()),
        }
        .map_err(|e| {
            Error::refused(format!("the targets metadata would not parse: {e}"))
                .hint("nothing was written")
        })
    }

    pub fn expires(&self) -> &str {
        match self {
            TargetsDoc::Tuf(t) => &t.expires,
            TargetsDoc::Notary(t) => &t.expires,
        }
    }

    /// The delegated roles, keys named as the workspace knows them.
    pub fn summaries(&self, holders: &Holders) -> Vec<RoleSummary> {
        let label = |keys: Option<PublicKey>, id: &str| {
            keys.and_then(|pk| holders.get(&pk.identity()))
                .map(|r| r.name.clone())
                .unwrap_or_else(|| id.chars().take(12).collect())
        };
        match self {
            TargetsDoc::Tuf(t) => t
                .delegations
                .iter()
                .flat_map(|d| {
                    d.roles.iter().map(|r| RoleSummary {
                        name: r.name.clone(),
                        file: crate::tuf::metadata::role_file_name(&r.name).unwrap_or_default(),
                        keys: r
                            .keyids
                            .iter()
                            .map(|id| label(d.keys.get(id).and_then(|k| k.decode().ok()), id))
                            .collect(),
                        threshold: r.threshold,
                        paths: r.paths.clone().unwrap_or_default(),
                        terminating: r.terminating,
                    })
                })
                .collect(),
            TargetsDoc::Notary(t) => t
                .delegations
                .roles
                .iter()
                .map(|r| RoleSummary {
                    name: r.name.clone(),
                    file: format!("{}.json", r.name),
                    keys: r
                        .keyids
                        .iter()
                        .map(|id| {
                            let pk =
                                t.delegations
                                    .keys
                                    .get(id)
                                    .and_then(|k| match k.decode(None) {
                                        Ok((NotaryPublicKey::Tuf(pk), _)) => Some(pk),
                                        _ => None,
                                    });
                            label(pk, id)
                        })
                        .collect(),
                    threshold: r.threshold,
                    paths: r.paths.clone(),
                    terminating: false,
                })
                .collect(),
        }
    }
}

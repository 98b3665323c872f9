//! The ceremony transcript in a workspace: appending lines, sealing the head at publish,
//! `audit verify`, `audit show`, `audit print`.
//!
//! Invariant: a line is added only after what it records was done; the whole file is rewritten
//! atomically, so a crash leaves the old transcript or the new one, never half a line.

use super::context::Context;
use crate::atomic::{write_atomic, write_new_atomic};
pub use crate::audit::TimelineItem;
use crate::audit::{self, Seal};
use crate::dialect::{Dialect, Doc, Holders};
use crate::error::{Error, Result};
use crate::signer::Signer;
use crate::tuf::expiry::format_tuf_time;
use crate::workspace::{KeyRecord, Workspace, digest_hex};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};

fn path(ws: &Workspace) -> PathBuf {
    ws.transcript_path()
}

/// Lines about to be added: built first, so that a seal can sign them before anything is
/// written, then committed in one atomic write.
pub struct Pending {
    text: String,
    last: Option<String>,
}

impl Context<'_> {
    /// Begins adding to the transcript of `ws`; refuses a damaged transcript.
    pub fn transcript(&self, ws: &Workspace) -> Result<Pending> {
        let (_, text) = ws.transcript_with_text()?;
        let last = text.lines().last().map(str::to_string);
        Ok(Pending { text, last })
    }

    /// Records one action in the transcript of `ws`.
    pub fn record(&self, ws: &Workspace, action: &str, detail: Value) -> Result<()> {
        let mut p = self.transcript(ws)?;
        p.add(self, action, detail)?;
        p.commit(ws)
    }

    /// The workspace in `ctx.dir`, locked, when there is one. Commands that also run outside a
    /// workspace (export, import qr) take it before they write anything, so their transcript
    /// line can never be refused after their files are written.
    /// The workspace here (if any), locked; with `resumable`, an interrupted operation of that
    /// name is resumed (`Workspace::resume_interrupted`) instead of refused.
    pub fn lock_here(
        &self,
        resumable: Option<&str>,
    ) -> Result<Option<(Workspace, crate::workspace::WorkspaceLock)>> {
        match Workspace::open(&self.dir) {
            Ok(ws) => {
                let lock = ws.lock_only()?;
                if let Some(a) = resumable {
                    ws.resume_interrupted(a)?;
                }
                ws.check_bound()?;
                Ok(Some((ws, lock)))
            }
            Err(_) => Ok(None),
        }
    }

    /// Records one action in the workspace `here` holds locked; outside a workspace, nothing.
    pub fn record_here(
        &self,
        here: &Option<(Workspace, crate::workspace::WorkspaceLock)>,
        action: &str,
        detail: Value,
    ) -> Result<()> {
        match here {
            Some((ws, _)) => self.record(ws, action, detail),
            None => Ok(()),
        }
    }

    /// The overrides and guard result of this command, added to every line it writes.
    fn circumstances(&self, detail: Value) -> Value {
        let mut m = match detail {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            other => {
                let mut m = Map::new();
                m.insert("value".into(), other);
                m
            }
        };
        if let Some(g) = self.guard_result() {
            m.insert("air_gap".into(), Value::String(g));
        }
        if let Some(c) = self.clock_result() {
            m.insert("clock".into(), Value::String(c));
        }
        if self.unlock.force {
            m.insert("override_force".into(), Value::Bool(true));
        }
        if self.unlock.default_management_key {
            m.insert("override_default_management_key".into(), Value::Bool(true));
        }
        Value::Object(m)
    }
}

impl Pending {
    /// Adds a line; returns the digest of the new head.
    pub fn add(&mut self, ctx: &Context, action: &str, detail: Value) -> Result<String> {
        let line = audit::next_line(
            self.last.as_deref(),
            &format_tuf_time(ctx.now),
            action,
            ctx.circumstances(detail),
        )
        .map_err(Error::refused)?;
        let head = audit::line_digest(&line);
        self.text.push_str(&line);
        self.text.push('\n');
        self.last = Some(line);
        Ok(head)
    }

    /// Seals the head with a root key of published version `version`.
    /// `keyid`: the key's ID in the published root (a Notary root names keys by certificate).
    pub fn seal(
        &mut self,
        ctx: &Context,
        rec: &KeyRecord,
        keyid: &str,
        signer: &dyn Signer,
        version: u64,
    ) -> Result<()> {
        let head = self
            .last
            .as_deref()
            .map(audit::line_digest)
            .unwrap_or_default();
        let sig = signer.sign(&audit::seal_message(&head))?;
        let sig = hex::encode(sig);
        crate::tuf::sig::verify(&rec.public_key()?, &audit::seal_message(&head), &sig).map_err(
            |e| {
                Error::environment(format!(
                    "the transcript seal just made by {} does not verify: {e}",
                    rec.name
                ))
                .hint("the key or device is faulty; nothing was written")
            },
        )?;
        let seal = Seal {
            keyid: keyid.to_string(),
            key: rec.name.clone(),
            version,
            sig,
        };
        let detail = serde_json::to_value(&seal).map_err(|e| Error::environment(e.to_string()))?;
        // A seal line carries only the seal: no circumstances, which it could not sign.
        let line = audit::next_line(
            self.last.as_deref(),
            &format_tuf_time(ctx.now),
            audit::SEAL,
            detail,
        )
        .map_err(Error::refused)?;
        self.text.push_str(&line);
        self.text.push('\n');
        self.last = Some(line);
        Ok(())
    }

    pub fn commit(self, ws: &Workspace) -> Result<()> {
        write_atomic(&path(ws), self.text.as_bytes())
    }
}

/// What a key line says about a key: never a secret, never a machine-specific path.
pub fn key_detail(rec: &KeyRecord, attestation: Option<&str>) -> Value {
    let mut d = json!({
        "key": rec.name,
        "keyid": rec.keyid,
        "algorithm": rec.algorithm.name(),
        "backend": rec.backend.name(),
    });
    if let Some(y) = &rec.yubikey {
        d["device_serial"] = json!(y.serial);
        d["slot"] = json!(y.slot);
        d["firmware"] = json!(y.firmware);
    }
    if rec.backend == crate::workspace::Backend::Pkcs11 {
        if let Some(r) = &rec.reference {
            d["token"] = json!(r);
        }
        if let Some(p) = &rec.profile {
            d["profile"] = json!(p);
        }
    }
    if let Some(a) = attestation {
        d["attestation"] = json!(a);
    }
    d
}

/// A seal, checked.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SealCheck {
    pub line: usize,
    pub key: String,
    pub keyid: String,
    pub version: u64,
    /// `None` when the signature verifies against the key in that published root.
    pub problem: Option<String>,
}

/// `rootcellar audit verify`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct AuditReport {
    pub file: PathBuf,
    pub lines: usize,
    /// Digest of the last line.
    pub head: Option<String>,
    pub seals: Vec<SealCheck>,
    /// Lines after the last seal, covered by the chain but by no signature.
    pub unsealed_tail: usize,
    pub timeline: Vec<TimelineItem>,
}

/// Checks a seal against the root key it names, as published in `metadata/`.
fn check_seal(ws: &Workspace, line: usize, head: &str, s: &Seal) -> SealCheck {
    let problem = (|| -> std::result::Result<(), String> {
        let d = Dialect::of(ws);
        let root = d
            .published(ws)
            .map_err(|e| e.message)?
            .into_iter()
            .find(|m| m.version() == s.version)
            .ok_or_else(|| {
                format!(
                    "root version {} is not published in this workspace",
                    s.version
                )
            })?;
        if !root
            .role("root")
            .is_some_and(|r| r.keyids.contains(&s.keyid))
        {
            return Err(format!(
                "key {} is not a root key of version {}",
                s.keyid, s.version
            ));
        }
        let pk = match root.decode(&s.keyid) {
            Some(Ok(crate::tuf::notary::NotaryPublicKey::Tuf(pk))) => pk,
            Some(Ok(_)) => {
                return Err(format!(
                    "key {} is not a key rootcellar signs with",
                    s.keyid
                ));
            }
            Some(Err(e)) => return Err(e),
            None => return Err(format!("version {} lists no key {}", s.version, s.keyid)),
        };
        crate::tuf::sig::verify(&pk, &audit::seal_message(head), &s.sig)
            .map_err(|e| format!("the seal signature does not verify: {e}"))
    })()
    .err();
    SealCheck {
        line,
        key: s.key.clone(),
        keyid: s.keyid.clone(),
        version: s.version,
        problem,
    }
}

/// `rootcellar audit verify`: the chain, every seal against the published root it names, and the
/// timeline. Refuses (exit 1) when the chain breaks or a seal does not verify.
pub fn verify(ctx: &Context) -> Result<AuditReport> {
    let ws = ctx.workspace()?;
    let c = ws.transcript()?;
    // Every file is one the transcript accounts for, byte for byte, and every publish is sealed.
    ws.check_bound()?;
    if let Some(v) = c.bindings().unsealed.first() {
        return Err(Error::refused(format!(
            "the publish of root version {v} has no seal after it in the transcript"
        ))
        .hint("the transcript was cut or changed after the publish; compare it with the printed ceremony record"));
    }
    let seals: Vec<SealCheck> = c
        .seals()
        .into_iter()
        .map(|(line, s)| check_seal(&ws, line, &c.entries[line - 1].prev, &s))
        .collect();
    if let Some(bad) = seals.iter().find(|s| s.problem.is_some()) {
        return Err(Error::refused(format!(
            "the transcript's seal on line {} (key {}) does not hold: {}",
            bad.line,
            bad.key,
            bad.problem.as_deref().unwrap_or("")
        ))
        .hint(
            "the transcript was changed after it was sealed, or the seal was forged; compare it with the printed ceremony record",
        ));
    }
    Ok(AuditReport {
        file: path(&ws),
        lines: c.entries.len(),
        head: c.digests.last().cloned(),
        unsealed_tail: c.unsealed_tail(),
        seals,
        timeline: audit::timeline(&c),
    })
}

/// `rootcellar audit show --since N`.
pub fn show(ctx: &Context, since: u64) -> Result<Vec<TimelineItem>> {
    let ws = ctx.workspace()?;
    let c = ws.transcript()?;
    Ok(audit::timeline(&c)
        .into_iter()
        .filter(|t| t.seq >= since)
        .collect())
}

/// `rootcellar audit print --out FILE`: a printable ceremony record (HTML): keys and their
/// fingerprints, published roots with digests and signers, the timeline, the transcript head and
/// its seals, and lines for the witnesses to sign. Checks the transcript first.
pub fn print(ctx: &Context, out: &Path) -> Result<PathBuf> {
    let report = verify(ctx)?;
    let ws = ctx.workspace()?;
    let keys = ws
        .keys()?
        .iter()
        .map(|r| {
            let info = crate::report::KeyInfo::of(r);
            let place = match &r.yubikey {
                Some(y) => format!("YubiKey {} slot {}", y.serial, y.slot),
                None => info.backend,
            };
            [
                info.name,
                info.keyid,
                info.algorithm,
                place,
                info.fingerprint,
            ]
        })
        .collect();
    let holders = Holders::of(&ws)?;
    let roots = Dialect::of(&ws)
        .published(&ws)?
        .iter()
        .map(|md: &Doc| {
            let (file, _) = ws.published_paths(md.version());
            let digest = std::fs::read(&file)
                .map(|b| digest_hex(&b))
                .unwrap_or_else(|_| "(unreadable)".into());
            let signers = md
                .signatures()
                .iter()
                .map(|s| holders.label(md, s.keyid()))
                .collect::<Vec<_>>();
            [
                md.version().to_string(),
                md.expires().to_string(),
                digest,
                signers.join(", "),
            ]
        })
        .collect();
    let html = audit::record_html(&audit::Record {
        name: ws.config.name().unwrap_or("(unnamed)").to_string(),
        printed: format_tuf_time(ctx.now),
        dir: ws.dir.display().to_string(),
        keys,
        roots,
        lines: report.lines,
        head: report.head.clone(),
        seals: report.seals.len(),
        unsealed_tail: report.unsealed_tail,
        timeline: report.timeline,
    });
    write_new_atomic(out, html.as_bytes())?;
    Ok(out.to_path_buf())
}

/// What `audit re-anchor` recorded.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Anchored {
    pub keys: usize,
    pub files: usize,
    pub staged_digest: Option<String>,
}

/// `rootcellar audit re-anchor`: after the operators checked the workspace by other means (its
/// published history verified, key records compared with the devices), records what it holds
/// now — each key record's name and key ID, each published file's SHA-256, the staged root's
/// digest — as the transcript's new bindings. A deliberate step: asks for `re-anchor` to be
/// typed (or `--confirm re-anchor`), and is a line of the transcript like any other.
pub fn re_anchor(ctx: &Context, confirm: Option<&str>) -> Result<Anchored> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock_only()?;
    let (keys, files) = ws.holdings()?;
    let d = Dialect::of(&ws);
    let history = d.published_unanchored(&ws)?;
    if let Some(f) = d.chain_failure(&history, ctx.now) {
        return Err(Error::refused(format!(
            "the published history does not verify: {f}"
        ))
        .hint("restore metadata/ from your export or backup; re-anchor records only a history that verifies"));
    }
    let staged = match ws.staged_unchecked()? {
        Some(bytes) => Some(d.parse(&bytes).map_err(|e| {
            Error::refused(format!("the staged root does not parse: {e}"))
                .hint("drop it with `rootcellar root discard` first")
        })?),
        None => None,
    };
    let confirmed = match confirm {
        Some(c) => c == "re-anchor",
        None => ctx.prompt().typed_confirmation(
            &format!(
                "This records the workspace as it is now — {} key record(s), {} published file(s){} — as what the transcript vouches for. Only do it after checking them.",
                keys.len(),
                files.len(),
                if staged.is_some() { ", the staged root" } else { "" }
            ),
            "re-anchor",
        )?,
    };
    if !confirmed {
        return Err(Error::refused("not confirmed: nothing was recorded")
            .hint("type re-anchor when asked, or pass --confirm re-anchor"));
    }
    let staged_digest = staged.as_ref().map(Doc::digest);
    ctx.record(
        &ws,
        "re-anchor",
        json!({
            "keys": keys.iter().map(|(n, id)| (n.clone(), Value::from(id.clone()))).collect::<Map<String, Value>>(),
            "files": files.iter().map(|(role, v, sha)| json!({"role": role, "version": v, "sha256": sha})).collect::<Vec<_>>(),
            "staged_sha256": staged_digest,
        }),
    )?;
    Ok(Anchored {
        keys: keys.len(),
        files: files.len(),
        staged_digest,
    })
}

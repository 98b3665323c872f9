//! The ceremony transcript in a workspace: appending lines, sealing the head at publish,
//! `audit verify`, `audit show`, `audit print`.
//!
//! Invariant: a line is added only after what it records was done; the whole file is rewritten
//! atomically, so a crash leaves the old transcript or the new one, never half a line.

use super::context::Context;
use crate::atomic::{write_atomic, write_new_atomic};
use crate::audit::{self, Checked, Entry, Seal};
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
    pub fn lock_here(&self) -> Result<Option<(Workspace, crate::workspace::WorkspaceLock)>> {
        match Workspace::open(&self.dir) {
            Ok(ws) => {
                let lock = ws.lock()?;
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

/// One line of the timeline.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TimelineItem {
    pub seq: u64,
    pub time: String,
    pub action: String,
    pub summary: String,
    pub detail: Value,
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

fn summary(e: &Entry) -> String {
    match &e.detail {
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| k.as_str() != "sig")
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn timeline(c: &Checked) -> Vec<TimelineItem> {
    c.entries
        .iter()
        .map(|e| TimelineItem {
            seq: e.seq,
            time: e.time.clone(),
            action: e.action.clone(),
            summary: summary(e),
            detail: e.detail.clone(),
        })
        .collect()
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
        timeline: timeline(&c),
    })
}

/// `rootcellar audit show --since N`.
pub fn show(ctx: &Context, since: u64) -> Result<Vec<TimelineItem>> {
    let ws = ctx.workspace()?;
    let c = ws.transcript()?;
    Ok(timeline(&c)
        .into_iter()
        .filter(|t| t.seq >= since)
        .collect())
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `rootcellar audit print --out FILE`: a printable ceremony record (HTML): keys and their
/// fingerprints, published roots with digests and signers, the timeline, the transcript head and
/// its seals, and lines for the witnesses to sign. Checks the transcript first.
pub fn print(ctx: &Context, out: &Path) -> Result<PathBuf> {
    let report = verify(ctx)?;
    let ws = ctx.workspace()?;
    let mut h = String::new();
    let name = ws.config.name().unwrap_or("(unnamed)").to_string();
    h.push_str("<!doctype html><html><head><meta charset=\"utf-8\"><title>Ceremony record</title><style>body{font-family:sans-serif;font-size:11pt}table{border-collapse:collapse}td,th{border:1px solid #888;padding:2px 6px;text-align:left;vertical-align:top}code{font-size:9pt;word-break:break-all}.sign{margin-top:2em}</style></head><body>\n");
    h.push_str(&format!(
        "<h1>Root-key ceremony record: {}</h1>\n<p>Printed {} by rootcellar {} from {}.</p>\n",
        esc(&name),
        format_tuf_time(ctx.now),
        env!("CARGO_PKG_VERSION"),
        esc(&ws.dir.display().to_string())
    ));
    h.push_str("<h2>Keys</h2>\n<table><tr><th>Name</th><th>Key ID</th><th>Algorithm</th><th>Where</th><th>Fingerprint (SHA-256 of the public key)</th></tr>\n");
    for r in ws.keys()? {
        let info = super::report::KeyInfo::of(&r);
        let mut place = info.backend.clone();
        if let Some(y) = &r.yubikey {
            place = format!("YubiKey {} slot {}", y.serial, y.slot);
        }
        h.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
            esc(&info.name),
            esc(&info.keyid),
            esc(&info.algorithm),
            esc(&place),
            esc(&info.fingerprint)
        ));
    }
    h.push_str("</table>\n<h2>Published roots</h2>\n<table><tr><th>Version</th><th>Expires</th><th>SHA-256 of the file</th><th>Signed by</th></tr>\n");
    let holders = Holders::of(&ws)?;
    let rows: Vec<(u64, String, Vec<String>)> = Dialect::of(&ws)
        .published(&ws)?
        .iter()
        .map(|md: &Doc| {
            (
                md.version(),
                md.expires().to_string(),
                md.signatures()
                    .iter()
                    .map(|s| holders.label(md, s.keyid()))
                    .collect(),
            )
        })
        .collect();
    for (v, expires, signers) in rows {
        let (file, _) = ws.published_paths(v);
        let digest = std::fs::read(&file)
            .map(|b| digest_hex(&b))
            .unwrap_or_else(|_| "(unreadable)".into());
        h.push_str(&format!(
            "<tr><td>{v}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>\n",
            esc(&expires),
            esc(&digest),
            esc(&signers.join(", "))
        ));
    }
    h.push_str("</table>\n<h2>Transcript</h2>\n");
    h.push_str(&format!(
        "<p>{} lines; head <code>{}</code>; {} seal(s) verified; {} line(s) after the last seal.</p>\n",
        report.lines,
        esc(report.head.as_deref().unwrap_or("(empty)")),
        report.seals.len(),
        report.unsealed_tail
    ));
    h.push_str(
        "<table><tr><th>#</th><th>Time (UTC)</th><th>Action</th><th>Particulars</th></tr>\n",
    );
    for t in &report.timeline {
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
            t.seq,
            esc(&t.time),
            esc(&t.action),
            esc(&t.summary)
        ));
    }
    h.push_str("</table>\n<h2>Witnesses</h2>\n<p>We saw the actions above performed, the keys listed created on the devices named, and the digests read aloud match.</p>\n");
    for _ in 0..4 {
        h.push_str("<p class=\"sign\">Name: ______________________ &nbsp; Role: ____________ &nbsp; Signature: ______________________ &nbsp; Date: __________</p>\n");
    }
    h.push_str("</body></html>\n");
    write_new_atomic(out, h.as_bytes())?;
    Ok(out.to_path_buf())
}

//! The ceremony transcript (`audit.log`): one JSON object per line, each carrying the SHA-256 of
//! the line before it, so that changing, inserting or removing a line breaks the chain at the
//! next one. A `seal` line carries a signature, by a root key, over the digest of the line before
//! it: whoever holds no root key cannot rewrite what a seal covers.
//!
//! This module has no I/O: it builds lines and checks a transcript's text. Invariant: no secret
//! is ever a field of a line (callers pass only names, key IDs, digests, serials and verdicts).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const FILE: &str = "audit.log";

/// `prev` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The action name of a seal line.
pub const SEAL: &str = "seal";

/// One line of the transcript.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1 for the first line, +1 for each next.
    pub seq: u64,
    /// When, by the clock of the machine that wrote it (TUF's `YYYY-MM-DDTHH:MM:SSZ`).
    pub time: String,
    /// SHA-256 (hex) of the previous line's bytes, without its newline; [`GENESIS`] for line 1.
    pub prev: String,
    /// What happened: `init`, `key-generated`, `root-staged`, `signature-added`, `publish`, …
    pub action: String,
    /// The particulars (names, key IDs, digests, device serials, verdicts, overrides).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

/// The detail of a seal line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    /// Key ID of the sealing key.
    pub keyid: String,
    /// Its name in the workspace (informational).
    pub key: String,
    /// The published root version in whose root role the key is.
    pub version: u64,
    /// Signature (hex) over [`seal_message`] of this line's `prev`.
    pub sig: String,
}

/// SHA-256 (hex) of one line.
pub fn line_digest(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

/// The bytes a seal signs: a fixed label and the digest of the sealed head, so that a seal
/// signature can never be mistaken for a metadata signature.
pub fn seal_message(head: &str) -> Vec<u8> {
    format!("rootcellar audit transcript v1\nhead {head}\n").into_bytes()
}

/// The line that follows `last` (the transcript's last line, if any).
pub fn next_line(
    last: Option<&str>,
    time: &str,
    action: &str,
    detail: Value,
) -> Result<String, String> {
    let (seq, prev) = match last {
        None => (1, GENESIS.to_string()),
        Some(l) => {
            let e: Entry = serde_json::from_str(l)
                .map_err(|e| format!("the last line of the transcript is damaged: {e}"))?;
            (e.seq + 1, line_digest(l))
        }
    };
    let e = Entry {
        seq,
        time: time.into(),
        prev,
        action: action.into(),
        detail,
    };
    serde_json::to_string(&e).map_err(|e| e.to_string())
}

/// A transcript whose chain holds, line by line.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub entries: Vec<Entry>,
    /// Digest of each line (the `prev` of the next).
    pub digests: Vec<String>,
}

/// Where a transcript's chain breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// 1-based line number.
    pub line: usize,
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Checks a transcript's chain: every line parses, `seq` counts up from 1 by one, each `prev` is
/// the digest of the line before, times never go backwards, and each seal covers the line before
/// it. Seal signatures are checked by the caller, which knows the keys.
pub fn check(text: &str) -> Result<Checked, Broken> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut digests: Vec<String> = Vec::new();
    if text.is_empty() {
        return Ok(Checked { entries, digests });
    }
    let Some(body) = text.strip_suffix('\n') else {
        return Err(Broken {
            line: text.lines().count(),
            reason: "the last line is cut off (no newline at its end)".into(),
        });
    };
    for (i, line) in body.split('\n').enumerate() {
        let n = i + 1;
        let broken = |reason: String| Broken { line: n, reason };
        let e: Entry = serde_json::from_str(line)
            .map_err(|e| broken(format!("not a transcript entry: {e}")))?;
        if e.seq != n as u64 {
            return Err(broken(format!("seq is {}, expected {n}", e.seq)));
        }
        let want = digests.last().map(String::as_str).unwrap_or(GENESIS);
        if e.prev != want {
            return Err(broken(
                "prev does not match the digest of the line before: a line was changed, inserted or removed"
                    .into(),
            ));
        }
        crate::tuf::expiry::parse_tuf_time(&e.time)
            .map_err(|_| broken(format!("time {:?} is not a UTC time", e.time)))?;
        if let Some(p) = entries.last()
            && e.time < p.time
        {
            return Err(broken(format!(
                "time {} is before the line before ({}): the clock went backwards",
                e.time, p.time
            )));
        }
        if e.action == SEAL {
            serde_json::from_value::<Seal>(e.detail.clone())
                .map_err(|err| broken(format!("a seal without a valid signature record: {err}")))?;
        }
        digests.push(line_digest(line));
        entries.push(e);
    }
    Ok(Checked { entries, digests })
}

impl Checked {
    /// The latest time recorded, if any.
    pub fn newest_time(&self) -> Option<&str> {
        self.entries.last().map(|e| e.time.as_str())
    }

    /// Seals with their line numbers (1-based).
    pub fn seals(&self) -> Vec<(usize, Seal)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.action == SEAL)
            .filter_map(|(i, e)| {
                serde_json::from_value(e.detail.clone())
                    .ok()
                    .map(|s| (i + 1, s))
            })
            .collect()
    }

    /// Lines after the last seal (not covered by any signature).
    pub fn unsealed_tail(&self) -> usize {
        match self.entries.iter().rposition(|e| e.action == SEAL) {
            Some(i) => self.entries.len() - i - 1,
            None => self.entries.len(),
        }
    }
}

/// What the transcript says the workspace holds. The transcript is the authority; the files
/// (the staged root, key records, published metadata) are checked against this.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bindings {
    /// The transcript records what the workspace holds (an `init` line that says so, or an
    /// `audit re-anchor` line); an older transcript does not.
    pub binding: bool,
    /// The digest of the staged root's canonical `signed` (none staged: `None`).
    pub staged: Option<String>,
    /// The digest of the last root published (its staged file may not be dropped yet).
    pub last_published: Option<String>,
    /// Key records: name → key ID.
    pub keys: std::collections::BTreeMap<String, String>,
    /// Published files: (role, version) → SHA-256 of the file.
    pub files: std::collections::BTreeMap<(String, u64), String>,
    /// Versions published without a seal after their publish line, and without `--no-seal`.
    pub unsealed: Vec<u64>,
    /// When the transcript's last line stages a root (the intent, recorded before the files
    /// are written): what was staged before it, which a crash may have left in place.
    pub staged_before: Option<Option<String>>,
}

/// The marker an `init` line carries when the transcript records what the workspace holds.
pub const BINDS: &str = "binds";

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

impl Checked {
    /// What this transcript binds.
    pub fn bindings(&self) -> Bindings {
        bindings(self)
    }
}

/// What the transcript `c` binds, line by line.
pub fn bindings(c: &Checked) -> Bindings {
    let mut b = Bindings::default();
    let mut pending_seal: Option<u64> = None;
    for e in &c.entries {
        let d = &e.detail;
        b.staged_before = None;
        if e.action == SEAL {
            pending_seal = None;
            continue;
        }
        if let Some(v) = pending_seal.take() {
            b.unsealed.push(v);
        }
        let version = d.get("version").and_then(Value::as_u64);
        let file = |b: &mut Bindings, role: &str, version: Option<u64>, sha: Option<String>| {
            if let (Some(v), Some(sha)) = (version, sha) {
                b.files.insert((role.to_string(), v), sha);
            }
        };
        match e.action.as_str() {
            "init" => b.binding = d.get(BINDS).is_some(),
            "re-anchor" => {
                b.binding = true;
                b.staged = text(d, "staged_sha256");
                b.keys = d
                    .get("keys")
                    .and_then(Value::as_object)
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                b.files.clear();
                for f in d
                    .get("files")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let role = text(f, "role").unwrap_or_default();
                    file(
                        &mut b,
                        &role,
                        f.get("version").and_then(Value::as_u64),
                        text(f, "sha256"),
                    );
                }
            }
            "root-staged" => {
                let before = b.staged.take().or_else(|| b.last_published.clone());
                b.staged = text(d, "signed_sha256");
                b.staged_before = Some(before);
                continue;
            }
            "root-discarded" => b.staged = None,
            "publish" => {
                file(&mut b, "root", version, text(d, "file_sha256"));
                b.last_published = text(d, "signed_sha256");
                b.staged = None;
                if d.get("override_no_seal").is_none() && d.get("no_seal_key").is_none() {
                    pending_seal = version;
                }
            }
            "import-qr" if d.get("published") == Some(&Value::Bool(true)) => {
                file(&mut b, "root", version, text(d, "sha256"));
            }
            "targets-published" => file(&mut b, "targets", version, text(d, "file_sha256")),
            // An interrupted publication whose file was never written: bound no more.
            "targets-rolled-back" => {
                if let Some(v) = version {
                    b.files.remove(&("targets".to_string(), v));
                }
            }
            "adopt" | "notary-import" => {
                for f in d
                    .get("files")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let role = text(f, "role").unwrap_or_else(|| "root".into());
                    file(
                        &mut b,
                        &role,
                        f.get("version").and_then(Value::as_u64),
                        text(f, "sha256"),
                    );
                }
                for k in d
                    .get("key_names")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let (Some(n), Some(id)) = (text(k, "key"), text(k, "keyid")) {
                        b.keys.insert(n, id);
                    }
                }
            }
            "key-generated" | "key-imported" | "key-added" => {
                if let (Some(n), Some(id)) = (text(d, "key"), text(d, "keyid")) {
                    b.keys.insert(n, id);
                }
            }
            _ => {}
        }
    }
    if let Some(v) = pending_seal {
        b.unsealed.push(v);
    }
    b
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

/// A line's particulars as `key=value` pairs (a seal's signature left out).
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

/// The transcript as a timeline.
pub fn timeline(c: &Checked) -> Vec<TimelineItem> {
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

/// What the printed ceremony record shows.
pub struct Record {
    pub name: String,
    pub printed: String,
    pub dir: String,
    /// Name, key ID, algorithm, where, fingerprint.
    pub keys: Vec<[String; 5]>,
    /// Version, expiry, SHA-256 of the file, signers.
    pub roots: Vec<[String; 4]>,
    pub lines: usize,
    pub head: Option<String>,
    pub seals: usize,
    pub unsealed_tail: usize,
    pub timeline: Vec<TimelineItem>,
}

fn esc(s: &str) -> String {
    crate::text::visible(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn row(cells: &[&str], code: &[bool]) -> String {
    let mut r = String::from("<tr>");
    for (c, is_code) in cells.iter().zip(code) {
        if *is_code {
            r.push_str(&format!("<td><code>{}</code></td>", esc(c)));
        } else {
            r.push_str(&format!("<td>{}</td>", esc(c)));
        }
    }
    r.push_str("</tr>\n");
    r
}

/// The printable ceremony record (HTML): keys and their fingerprints, published roots with
/// digests and signers, the timeline, the transcript head and its seals, and lines for the
/// witnesses to sign.
pub fn record_html(r: &Record) -> String {
    let mut h = String::new();
    h.push_str("<!doctype html><html><head><meta charset=\"utf-8\"><title>Ceremony record</title><style>body{font-family:sans-serif;font-size:11pt}table{border-collapse:collapse}td,th{border:1px solid #888;padding:2px 6px;text-align:left;vertical-align:top}code{font-size:9pt;word-break:break-all}.sign{margin-top:2em}</style></head><body>\n");
    h.push_str(&format!(
        "<h1>Root-key ceremony record: {}</h1>\n<p>Printed {} by rootcellar {} from {}.</p>\n",
        esc(&r.name),
        r.printed,
        env!("CARGO_PKG_VERSION"),
        esc(&r.dir)
    ));
    h.push_str("<h2>Keys</h2>\n<table><tr><th>Name</th><th>Key ID</th><th>Algorithm</th><th>Where</th><th>Fingerprint (SHA-256 of the public key)</th></tr>\n");
    for k in &r.keys {
        let cells: Vec<&str> = k.iter().map(String::as_str).collect();
        h.push_str(&row(&cells, &[false, true, false, false, true]));
    }
    h.push_str("</table>\n<h2>Published roots</h2>\n<table><tr><th>Version</th><th>Expires</th><th>SHA-256 of the file</th><th>Signed by</th></tr>\n");
    for v in &r.roots {
        let cells: Vec<&str> = v.iter().map(String::as_str).collect();
        h.push_str(&row(&cells, &[false, false, true, false]));
    }
    h.push_str("</table>\n<h2>Transcript</h2>\n");
    h.push_str(&format!(
        "<p>{} lines; head <code>{}</code>; {} seal(s) verified; {} line(s) after the last seal.</p>\n",
        r.lines,
        esc(r.head.as_deref().unwrap_or("(empty)")),
        r.seals,
        r.unsealed_tail
    ));
    h.push_str(
        "<table><tr><th>#</th><th>Time (UTC)</th><th>Action</th><th>Particulars</th></tr>\n",
    );
    for t in &r.timeline {
        let seq = t.seq.to_string();
        h.push_str(&row(
            &[&seq, &t.time, &t.action, &t.summary],
            &[false, false, false, true],
        ));
    }
    h.push_str("</table>\n<h2>Witnesses</h2>\n<p>We saw the actions above performed, the keys listed created on the devices named, and the digests read aloud match.</p>\n");
    for _ in 0..4 {
        h.push_str("<p class=\"sign\">Name: ______________________ &nbsp; Role: ____________ &nbsp; Signature: ______________________ &nbsp; Date: __________</p>\n");
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn transcript(actions: &[&str]) -> String {
        let mut text = String::new();
        let mut last: Option<String> = None;
        for a in actions {
            let l = next_line(last.as_deref(), "2026-11-29T10:00:00Z", a, json!({"k": a})).unwrap();
            text.push_str(&l);
            text.push('\n');
            last = Some(l);
        }
        text
    }

    #[test]
    fn a_chain_checks_and_counts_its_unsealed_tail() {
        let t = transcript(&["init", "key-generated", "publish"]);
        let c = check(&t).unwrap();
        assert_eq!(c.entries.len(), 3);
        assert_eq!(c.entries[0].prev, GENESIS);
        assert_eq!(c.entries[2].prev, c.digests[1]);
        assert_eq!(c.unsealed_tail(), 3);
        assert_eq!(check("").unwrap().entries.len(), 0);
    }

    #[test]
    fn a_cut_off_last_line_is_named() {
        let t = transcript(&["init", "publish"]);
        let e = check(&t[..t.len() - 5]).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("cut off"), "{e}");
    }

    #[test]
    fn a_seal_needs_a_signature_record() {
        let t = transcript(&["init", SEAL]);
        let e = check(&t).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("seal"), "{e}");
    }

    #[test]
    fn times_must_not_go_backwards() {
        let a = next_line(None, "2026-11-29T10:00:00Z", "init", Value::Null).unwrap();
        let b = next_line(Some(&a), "2026-11-28T10:00:00Z", "publish", Value::Null).unwrap();
        let e = check(&format!("{a}\n{b}\n")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("backwards"), "{e}");
    }

    proptest! {
        /// Any change of one byte, and any removal or swap of lines, breaks the chain (or the
        /// line no longer parses) — except a change of the last line, which only a seal guards.
        #[test]
        fn any_edit_before_the_last_line_is_caught(
            n in 2usize..6, pick in any::<prop::sample::Index>(), byte in any::<u8>(), at in any::<prop::sample::Index>()
        ) {
            let actions: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
            let refs: Vec<&str> = actions.iter().map(String::as_str).collect();
            let t = transcript(&refs);
            let lines: Vec<&str> = t.lines().collect();
            let victim = pick.index(n - 1); // never the last line
            let mut bytes = lines[victim].as_bytes().to_vec();
            let i = at.index(bytes.len());
            prop_assume!(bytes[i] != byte && byte != b'\n');
            bytes[i] = byte;
            let mut edited: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            edited[victim] = String::from_utf8_lossy(&bytes).into_owned();
            prop_assume!(edited[victim] != lines[victim]);
            let text = edited.join("\n") + "\n";
            prop_assert!(check(&text).is_err());
            // Removing a line in the middle breaks it too.
            let mut removed: Vec<&str> = lines.clone();
            removed.remove(victim);
            prop_assert!(check(&(removed.join("\n") + "\n")).is_err());
        }
    }
}

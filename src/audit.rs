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

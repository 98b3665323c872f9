//! Harnesses shared by the cargo-fuzz targets in `fuzz/` and the corpus replay test
//! (`tests/it/fuzz_corpus.rs`). Each takes arbitrary bytes and must return without panicking,
//! whatever they hold; the few `assert!`s state properties a finding must break.

use crate::tuf::expiry::parse_tuf_time;
use crate::tuf::{Key, Metadata, Root, Targets};

/// Splits fuzz input into documents at `\n---\n` (at most 4).
fn documents(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() < 3 {
        match rest.windows(5).position(|w| w == b"\n---\n") {
            Some(i) => {
                out.push(&rest[..i]);
                rest = &rest[i + 5..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

/// Metadata parsing and verification, both dialects: the documents form a root chain (the
/// first is trusted), and each is also read as targets metadata.
pub fn metadata(data: &[u8]) {
    let Ok(at) = parse_tuf_time("2026-01-01T00:00:00Z") else {
        return;
    };
    let docs = documents(data);
    let roots: Vec<Metadata<Root>> = docs
        .iter()
        .filter_map(|d| Metadata::<Root>::from_bytes(d).ok())
        .collect();
    if let Some((first, rest)) = roots.split_first() {
        let c = crate::tuf::verify::verify_chain(first, rest, at);
        // A chain that verifies has a final root, and its versions count up by one.
        if c.failure.is_none() {
            for (a, b) in roots.iter().zip(roots.iter().skip(1)) {
                assert_eq!(a.signed.version + 1, b.signed.version);
            }
        }
        let _ = first.to_file_bytes();
    }
    for d in &docs {
        if let Ok(t) = Metadata::<Targets>::from_bytes(d)
            && let Some(r) = roots.first()
        {
            let none = crate::tuf::RoleKeys::new(vec![], 1);
            let c = crate::tuf::verify::check_threshold(
                "targets",
                t.canonical_signed(),
                &t.signatures,
                &r.signed.keys,
                r.signed.role("targets").unwrap_or(&none),
            );
            // Thresholds count distinct keys: never more than the role has.
            assert!(c.count() <= r.signed.role("targets").map_or(0, |x| x.keyids.len()));
        }
    }
    let notary: Vec<crate::tuf::notary::NotaryMetadata> = docs
        .iter()
        .filter_map(|d| crate::tuf::notary::NotaryMetadata::from_bytes(d).ok())
        .collect();
    if let Some((first, rest)) = notary.split_first() {
        let _ = crate::tuf::notary::verify_chain(first, rest, at, Some("docker.io/library/x"));
        let files: Vec<(String, crate::tuf::notary::NotaryTargetsFile)> = docs
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                crate::tuf::notary::NotaryTargetsFile::from_bytes(d)
                    .ok()
                    .map(|t| {
                        (
                            if i == 1 {
                                "targets".to_string()
                            } else {
                                format!("targets/r{i}")
                            },
                            t,
                        )
                    })
            })
            .collect();
        let _ = crate::tuf::notary::verify_targets(first, &files, at);
    }
    // A hand-over statement among the documents, checked against the first Notary root and
    // the first document as the TUF root: a valid verdict needs both named exactly.
    if let Some(first) = docs.first() {
        for d in &docs {
            if let Ok(h) = crate::tuf::handover::Handover::from_bytes(d) {
                let c = crate::tuf::handover::check(&h, first, docs[docs.len() - 1], at);
                if c.valid {
                    assert!(c.signatures.met && c.errors.is_empty());
                }
                let _ = h.to_file_bytes();
            }
        }
    }
}

/// The strict JSON parser and canonical JSON: canonical bytes that parse again are a fixed
/// point.
pub fn canonical(data: &[u8]) {
    let Ok(v) = crate::tuf::json::parse_strict(data) else {
        return;
    };
    let Ok(c) = crate::tuf::canonical::to_canonical(&v) else {
        return;
    };
    if let Ok(v2) = crate::tuf::json::parse_strict(&c) {
        assert_eq!(v2, v, "canonical JSON changed the value");
        assert_eq!(
            crate::tuf::canonical::to_canonical(&v2).ok().as_deref(),
            Some(c.as_slice()),
            "canonical JSON is not a fixed point"
        );
    }
}

/// QR frame parsing and reassembly: one frame per line, in any order.
pub fn qr(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let inputs: Vec<(String, String)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (format!("line {}", i + 1), l.to_string()))
        .collect();
    if let Ok(a) = crate::transfer::qr::assemble(&inputs)
        && let Some(file) = &a.file
    {
        // What comes out is exactly what the frames' digest names.
        assert_eq!(crate::workspace::digest_hex(file), a.sha256);
    }
}

/// Public-key import: TUF key JSON, PEM (SPKI, Docker `role:` headers, certificates).
pub fn key_import(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(k) = Key::from_import_text(text) {
        let _ = k.keyid();
        if let Ok(pk) = k.decode() {
            // A key that decodes encodes back to the same identity.
            assert_eq!(
                pk.to_tuf_key().decode().map(|p| p.identity()).ok(),
                Some(pk.identity())
            );
        }
    }
}

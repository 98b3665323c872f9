//! Duplicate object keys: parsers disagree on which one wins, so the file is refused outright
//! (malformed metadata, CVE-2026-23991 class).
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let md = signed(root(1, &[&a, &b], 2, FUTURE), &[&a, &b]);
    let text = String::from_utf8(md.to_file_bytes()).unwrap();
    let hostile = text.replacen("\"version\": 1", "\"version\": 1,\n    \"version\": 2", 1);
    assert_ne!(hostile, text);
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "1.root.json", hostile.as_bytes());
    assert_refused(&[f], "duplicate object key \"version\"");
}

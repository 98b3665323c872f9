//! Floats have no canonical form in TUF metadata (malformed metadata, CVE-2026-23991 class).
use crate::support::*;

#[test]
fn refused() {
    let a = TestKey::ecdsa(1);
    let md = signed(root(1, &[&a], 1, FUTURE), &[&a]);
    let text = String::from_utf8(md.to_file_bytes()).unwrap();
    let d = tempfile::tempdir().unwrap();
    for (from, to) in [
        ("\"version\": 1", "\"version\": 1.0"),
        ("\"threshold\": 1", "\"threshold\": 1e0"),
    ] {
        let hostile = text.replacen(from, to, 1);
        assert_ne!(hostile, text);
        let f = write(d.path(), "1.root.json", hostile.as_bytes());
        assert_refused(&[f], "is not an integer");
    }
}

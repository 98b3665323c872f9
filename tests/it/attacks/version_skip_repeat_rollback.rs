//! Root versions must go up by exactly one (CVE-2025-2885): a skip, a repeat and a rollback are
//! refused even when every signature is valid.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let d = tempfile::tempdir().unwrap();
    let v = |n: u64| signed(root(n, &[&a, &b], 2, FUTURE), &[&a, &b]);
    let f = |name: &str, n: u64| write_md(d.path(), name, &v(n));
    let msg = "root versions must go up by exactly one";
    assert_refused(&[f("a1.json", 1), f("a3.json", 3)], msg); // skip
    assert_refused(&[f("b2.json", 2), f("b2again.json", 2)], msg); // repeat
    assert_refused(&[f("c3.json", 3), f("c2.json", 2)], msg); // rollback
    // The honest order passes.
    assert_eq!(
        verify(&[f("d1.json", 1), f("d2.json", 2), f("d3.json", 3)], &[]).code,
        0
    );
}

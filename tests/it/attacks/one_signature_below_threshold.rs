//! A root with threshold 2 carrying one valid signature.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let md = signed(root(1, &[&a, &b], 2, FUTURE), &[&a]);
    let d = tempfile::tempdir().unwrap();
    let f = write_md(d.path(), "1.root.json", &md);
    assert_refused(
        &[f],
        "has 1 of the 2 signatures it needs from its own root keys",
    );
}

//! Version 2 signed by a threshold of its own (new) keys but not of version 1's.
use crate::support::*;

#[test]
fn refused() {
    let (a, b, c, x, y) = (
        TestKey::ecdsa(1),
        TestKey::ecdsa(2),
        TestKey::ecdsa(3),
        TestKey::ed25519(10),
        TestKey::ed25519(11),
    );
    let v1 = signed(root(1, &[&a, &b, &c], 2, FUTURE), &[&a, &b]);
    let v2 = signed(root(2, &[&a, &x, &y], 2, FUTURE), &[&a, &x, &y]);
    let d = tempfile::tempdir().unwrap();
    let f1 = write_md(d.path(), "1.root.json", &v1);
    let f2 = write_md(d.path(), "2.root.json", &v2);
    assert_refused(
        &[f1, f2],
        "version 2 has 1 of the 2 signatures it needs from version 1's root keys",
    );
}

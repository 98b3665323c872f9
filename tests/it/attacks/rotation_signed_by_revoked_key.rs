//! Key c is revoked in version 2; its signature must not help version 3 reach version 2's threshold.
use crate::support::*;

#[test]
fn refused() {
    let (a, b, c, dd) = (
        TestKey::ecdsa(1),
        TestKey::ed25519(2),
        TestKey::ecdsa(3),
        TestKey::ecdsa(4),
    );
    let v1 = signed(root(1, &[&a, &b, &c], 2, FUTURE), &[&a, &b]);
    let v2 = signed(root(2, &[&a, &b, &dd], 2, FUTURE), &[&a, &b, &dd]);
    // Version 3 brings c back, signed by a and the revoked c.
    let v3 = signed(root(3, &[&a, &c, &dd], 2, FUTURE), &[&a, &c]);
    let d = tempfile::tempdir().unwrap();
    let f1 = write_md(d.path(), "1.root.json", &v1);
    let f2 = write_md(d.path(), "2.root.json", &v2);
    let f3 = write_md(d.path(), "3.root.json", &v3);
    assert_refused(
        &[f1, f2, f3],
        "version 3 has 1 of the 2 signatures it needs from version 2's root keys",
    );
}

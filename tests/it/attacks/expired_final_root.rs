//! An expired final root is refused (CVE-2015-9259); an expired intermediate root is not.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let d = tempfile::tempdir().unwrap();
    let v1 = write_md(
        d.path(),
        "1.root.json",
        &signed(root(1, &[&a, &b], 2, "2020-01-01T00:00:00Z"), &[&a, &b]),
    );
    assert_refused(
        std::slice::from_ref(&v1),
        "root version 1 expired at 2020-01-01T00:00:00Z",
    );
    // As of a time before expiry, it is valid.
    assert_eq!(
        verify(std::slice::from_ref(&v1), &["--at", "2019-12-31T00:00:00Z"]).code,
        0
    );
    // An expired root followed by a current one: only the last one's expiry matters.
    let v2 = write_md(
        d.path(),
        "2.root.json",
        &signed(root(2, &[&a, &b], 2, FUTURE), &[&a, &b]),
    );
    assert_eq!(verify(&[v1, v2], &[]).code, 0);
}

//! A field of `signed` changed after signing: no signature verifies.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let md = signed(root(1, &[&a, &b], 2, FUTURE), &[&a, &b]);
    let mut v = value(&md);
    v["signed"]["expires"] = "2098-01-01T00:00:00Z".into();
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "1.root.json",
        serde_json::to_string(&v).unwrap().as_bytes(),
    );
    assert_refused(&[f], "signature does not verify over the canonical bytes");
}

//! A role lists a key ID that `keys` does not hold.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let md = signed(root(1, &[&a, &b], 1, FUTURE), &[&a]);
    let mut v = value(&md);
    v["signed"]["keys"]
        .as_object_mut()
        .unwrap()
        .remove(&b.keyid());
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "1.root.json",
        serde_json::to_string(&v).unwrap().as_bytes(),
    );
    assert_refused(
        &[f],
        &format!("lists keyid {}, which is not in \"keys\"", b.keyid()),
    );
}

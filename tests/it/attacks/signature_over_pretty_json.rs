//! Signatures made over pretty-printed JSON instead of the canonical form count for nothing.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let mut md = signed(root(1, &[&a, &b], 2, FUTURE), &[]);
    let pretty = serde_json::to_vec_pretty(&md.signed_value()).unwrap();
    assert_ne!(pretty, md.canonical_signed());
    for k in [&a, &b] {
        md.signatures.push(rootcellar::tuf::Signature::new(
            k.keyid(),
            &k.sign_bytes(&pretty),
        ));
    }
    let d = tempfile::tempdir().unwrap();
    let f = write_md(d.path(), "1.root.json", &md);
    assert_refused(&[f], "has 0 of the 2 signatures");
}

//! Threshold 0 would disable the check (CVE-2026-23992): refused before any signature is read.
use crate::support::*;

#[test]
fn refused() {
    let a = TestKey::ecdsa(1);
    let md = signed(root(1, &[&a], 1, FUTURE), &[]);
    let mut v = value(&md);
    v["signed"]["roles"]["root"]["threshold"] = 0.into();
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "1.root.json",
        serde_json::to_string(&v).unwrap().as_bytes(),
    );
    assert_refused(
        std::slice::from_ref(&f),
        "threshold 0: a threshold must be at least 1",
    );
    v["signed"]["roles"]["root"]["threshold"] = (-1).into();
    let f = write(
        d.path(),
        "1.root.json",
        serde_json::to_string(&v).unwrap().as_bytes(),
    );
    assert_refused(
        &[f],
        "signed.roles.root.threshold: invalid value: integer `-1`",
    );
}

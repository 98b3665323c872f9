//! Integers beyond 64 bits are refused with a clear error, never wrapped or rounded (malformed
//! metadata, CVE-2026-23991 class).
use crate::support::*;

#[test]
fn refused() {
    let a = TestKey::ecdsa(1);
    let md = signed(root(1, &[&a], 1, FUTURE), &[&a]);
    let text = String::from_utf8(md.to_file_bytes()).unwrap();
    let d = tempfile::tempdir().unwrap();
    for big in [
        "18446744073709551616",
        "99999999999999999999999999999999999999",
    ] {
        let hostile = text.replacen("\"version\": 1", &format!("\"version\": {big}"), 1);
        let f = write(d.path(), "1.root.json", hostile.as_bytes());
        assert_refused(&[f], "outside the 64-bit integer range");
    }
    // Within u64 but a version this large is still just a number: no overflow on +1.
    let hostile = text.replacen("\"version\": 1", "\"version\": 18446744073709551615", 1);
    let f = write(d.path(), "1.root.json", hostile.as_bytes());
    let r = verify(&[f], &[]);
    assert_eq!(r.code, 1);
    // Two validly signed roots at the largest version: "version + 1" must not overflow.
    let max = signed(root(u64::MAX, &[&a], 1, FUTURE), &[&a]);
    let f1 = write_md(d.path(), "max1.json", &max);
    let f2 = write_md(d.path(), "max2.json", &max);
    assert_eq!(verify(std::slice::from_ref(&f1), &[]).code, 0);
    assert_refused(&[f1, f2], "must go up by exactly one");
}

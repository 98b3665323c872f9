//! One key's signature listed twice must count once (CVE-2020-6174, tough GHSA-5q2r-92f9-4m49);
//! python-tuf refuses a file that names one key ID twice in its signatures, and so does
//! rootcellar.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ecdsa(2));
    let mut md = signed(root(1, &[&a, &b], 2, FUTURE), &[&a]);
    md.signatures.push(md.signatures[0].clone());
    let d = tempfile::tempdir().unwrap();
    let f = write_md(d.path(), "1.root.json", &md);
    assert_refused(&[f], "two signatures name key ID");
    // The same entry under a key ID in upper case is not the key's ID: it counts for nothing.
    let mut md2 = signed(root(1, &[&a, &b], 2, FUTURE), &[&a]);
    let mut upper = md2.signatures[0].clone();
    upper.keyid = upper.keyid.to_uppercase();
    md2.signatures.push(upper);
    let f2 = write_md(d.path(), "1.root.json", &md2);
    assert_refused(&[f2], "has 1 of the 2 signatures");
}

//! An ECDSA signature given as raw r‖s (what a token returns) instead of DER: TUF wants DER, and
//! python-tuf would refuse it too.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ecdsa(2));
    let mut md = signed(root(1, &[&a, &b], 2, FUTURE), &[&a, &b]);
    let der = hex::decode(&md.signatures[1].sig).unwrap();
    let raw = rootcellar::tuf::sig::ecdsa_der_to_raw(&der).unwrap();
    md.signatures[1].sig = hex::encode(raw);
    let d = tempfile::tempdir().unwrap();
    let f = write_md(d.path(), "1.root.json", &md);
    assert_refused(&[f], "not DER (64 bytes: raw r||s? TUF wants DER)");
}

//! The high-S twin (r, n − s) of a valid ECDSA signature is also valid; it must not count as a
//! second signature.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ecdsa(2));
    let md = signed(root(1, &[&a, &b], 2, FUTURE), &[&a]);
    let der = hex::decode(&md.signatures[0].sig).unwrap();
    let sig = p256::ecdsa::Signature::from_der(&der).unwrap();
    let (r, s) = sig.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    assert_ne!(twin, sig);
    // The twin verifies on its own (p256, like OpenSSL, accepts high S)...
    let alone = signed(root(1, &[&a], 1, FUTURE), &[]);
    let mut alone = alone;
    let mut t = a.sign(&alone);
    let der_a = hex::decode(&t.sig).unwrap();
    let sa = p256::ecdsa::Signature::from_der(&der_a).unwrap();
    let (ra, sa_s) = sa.split_scalars();
    t.sig = hex::encode(
        p256::ecdsa::Signature::from_scalars(ra.to_bytes(), (-*sa_s).to_bytes())
            .unwrap()
            .to_der()
            .as_bytes(),
    );
    alone.signatures.push(t);
    let d = tempfile::tempdir().unwrap();
    let ok = write_md(d.path(), "alone.json", &alone);
    assert_eq!(verify(&[ok], &[]).code, 0);
    // ...but beside the original it counts once, even under another key ID for the same key
    // (under the same key ID, two entries are refused whole, as python-tuf refuses them).
    let mut alias = a.key();
    alias.keytype = "ecdsa-sha2-nistp256".into();
    let alias_id = alias.keyid();
    let mut r = root(1, &[&a, &b], 2, FUTURE);
    r.keys.insert(alias_id.clone(), alias);
    r.roles
        .get_mut("root")
        .unwrap()
        .keyids
        .push(alias_id.clone());
    let mut md = signed(r, &[&a]);
    let sig2 =
        p256::ecdsa::Signature::from_der(&hex::decode(&md.signatures[0].sig).unwrap()).unwrap();
    let (r2, s2) = sig2.split_scalars();
    let twin = p256::ecdsa::Signature::from_scalars(r2.to_bytes(), (-*s2).to_bytes()).unwrap();
    md.signatures.push(rootcellar::tuf::Signature::new(
        alias_id,
        twin.to_der().as_bytes(),
    ));
    let f = write_md(d.path(), "1.root.json", &md);
    assert_refused(&[f], "counts once");
}

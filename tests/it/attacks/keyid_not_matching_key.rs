//! A key listed under an ID that is not its hash (sigstore root-signing #1431 broke clients this
//! way): the key counts for nothing.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let mut r = root(1, &[&a, &b], 2, FUTURE);
    let fake = "ab".repeat(32);
    let k = r.keys.remove(&b.keyid()).unwrap();
    r.keys.insert(fake.clone(), k);
    for id in r.roles.get_mut("root").unwrap().keyids.iter_mut() {
        if *id == b.keyid() {
            *id = fake.clone();
        }
    }
    let mut md = signed(r, &[&a]);
    let mut s = b.sign(&md);
    s.keyid = fake;
    md.signatures.push(s);
    let d = tempfile::tempdir().unwrap();
    let f = write_md(d.path(), "1.root.json", &md);
    assert_refused(&[f], "does not match its key ID");
}

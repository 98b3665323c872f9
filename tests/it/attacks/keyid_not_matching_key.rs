//! A key listed under an ID that is not its hash (sigstore root-signing #1431 broke clients this
//! way). A key ID is a label: python-tuf and go-tuf count the key under it, and so does
//! `verify`, with a warning that tough-based clients refuse such a root; `--strict-keyids`
//! refuses it as tough does.
use crate::support::*;

#[test]
fn counted_under_its_label_and_refused_when_strict() {
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
    let r = verify(std::slice::from_ref(&f), &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("tough-based clients refuse"),
        "{}",
        r.stdout
    );
    let r = verify(std::slice::from_ref(&f), &["--strict-keyids"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("is not the SHA-256 of its key object"),
        "{}",
        r.stdout
    );
}

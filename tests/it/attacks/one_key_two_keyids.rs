//! One public key listed under two key IDs (go-tuf GHSA-3633-5h82-39pq): both key objects hash
//! to their IDs, but they are the same key, so it counts once.
use crate::support::*;

#[test]
fn refused() {
    let (a, b) = (TestKey::ecdsa(1), TestKey::ecdsa(2));
    let mut r = root(1, &[&a, &b], 2, FUTURE);
    // The same public key in its legacy spelling has another key ID.
    let mut twin = a.key();
    twin.keytype = "ecdsa-sha2-nistp256".into();
    let twin_id = twin.keyid();
    assert_ne!(twin_id, a.keyid());
    r.keys.insert(twin_id.clone(), twin);
    r.roles
        .get_mut("root")
        .unwrap()
        .keyids
        .push(twin_id.clone());
    let mut md = signed(r, &[&a]);
    let mut second = a.sign(&md);
    second.keyid = twin_id;
    md.signatures.push(second);
    let d = tempfile::tempdir().unwrap();
    let f = write_md(d.path(), "1.root.json", &md);
    assert_refused(&[f], "are the same public key: it counts once");
}

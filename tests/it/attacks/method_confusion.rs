//! Signature method/scheme picking the algorithm instead of the key type (CVE-2015-9258): a key's
//! `keytype`, `scheme` and `keyval` must agree, the key decides how a signature is checked, and a
//! Notary signature's `method` must match its key.
use crate::support::*;
use rootcellar::tuf::Key;

/// Root version 1 with keys a and b (threshold 2), where b is listed as `b_key`.
fn with_b_as(a: &TestKey, b: &TestKey, b_key: Key) -> (tempfile::TempDir, std::path::PathBuf) {
    let mut r = root(1, &[a, b], 2, FUTURE);
    let id = b_key.keyid();
    r.keys.remove(&b.keyid());
    r.keys.insert(id.clone(), b_key);
    for k in r.roles.get_mut("root").unwrap().keyids.iter_mut() {
        if *k == b.keyid() {
            *k = id.clone();
        }
    }
    let mut md = signed(r, &[a]);
    let mut s = b.sign(&md);
    s.keyid = id;
    md.signatures.push(s);
    let d = tempfile::tempdir().unwrap();
    let f = write_md(d.path(), "1.root.json", &md);
    (d, f)
}

#[test]
fn a_scheme_that_does_not_match_the_keytype_is_refused() {
    // An Ed25519 key declared with an ECDSA scheme: no client reads such a key (python-tuf
    // refuses the whole root), so neither does rootcellar, even signed by every key.
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let mut v = value(&signed(root(1, &[&a, &b], 2, FUTURE), &[]));
    v["signed"]["keys"][b.keyid()]["scheme"] = "ecdsa-sha2-nistp256".into();
    let c = rootcellar::tuf::canonical::to_canonical(&v["signed"]).unwrap();
    v["signatures"] = serde_json::json!([
        {"keyid": a.keyid(), "sig": hex::encode(a.sign_bytes(&c))},
        {"keyid": b.keyid(), "sig": hex::encode(b.sign_bytes(&c))},
    ]);
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "1.root.json", &serde_json::to_vec(&v).unwrap());
    assert_refused(&[f], "which python-tuf does not read");
}

#[test]
fn a_keyval_of_another_algorithm_is_refused() {
    // Declared ECDSA P-256, holding b's Ed25519 key.
    let (a, b) = (TestKey::ecdsa(1), TestKey::ed25519(2));
    let mut k = TestKey::ecdsa(3).key();
    k.keyval.public = b.key().keyval.public;
    let (_d, f) = with_b_as(&a, &b, k);
    assert_refused(&[f], "has 1 of the 2 signatures");
}

#[test]
fn a_notary_signature_whose_method_does_not_match_its_key_is_refused() {
    let bytes = std::fs::read(data("notary/notary0.1/root.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["signatures"][0]["method"], "ecdsa");
    v["signatures"][0]["method"] = "eddsa".into();
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "root.json", &serde_json::to_vec(&v).unwrap());
    let r = verify(&[f], &["--format", "notary"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("INVALID"), "{}", r.stdout);
    assert!(r.stdout.contains("method"), "{}", r.stdout);
}

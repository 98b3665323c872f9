//! Issue 18.1: a request whose next root keeps the targets key ID but lists another public key
//! under it. A review that compares key IDs says "unchanged" and the keyholders sign the
//! attacker's targets key into the root. Refused wherever rootcellar reviews, signs, merges or
//! imports; `verify` of someone else's chain names it.
use super::{bundle_of_next_version, json_file, put_json_file};
use crate::cli::Ws;
use crate::support::*;

#[test]
fn refused_everywhere_and_named_by_verify() {
    let w = Ws::new();
    w.published_v1();
    let (_d, bundle) = bundle_of_next_version(&w);
    let mut b = json_file(&bundle);
    let targets_id = b["request"]["signed"]["roles"]["targets"]["keyids"][0]
        .as_str()
        .unwrap()
        .to_string();
    let attacker = TestKey::ed25519(66).key();
    b["request"]["signed"]["keys"][&targets_id] = serde_json::to_value(&attacker).unwrap();
    put_json_file(&bundle, &b);
    let f = bundle.to_str().unwrap();
    let why = "names key";
    for args in [
        vec!["request", "show", f],
        vec!["sign", "--file", f, "--key", "r1"],
    ] {
        let r = w.refused(&args, 1, why);
        assert!(
            r.stderr.contains(&targets_id[..16])
                && r.stderr
                    .contains("a key ID that changes its key is refused"),
            "{args:?}: {}",
            r.stderr
        );
    }

    // Merged into the staged root: other signed bytes, refused whole.
    w.refused(&["merge", f], 1, "carries other signed bytes");

    // The same swap signed by the root keys, as another tool might publish it: verify names it.
    let (a, c) = (TestKey::ecdsa(1), TestKey::ecdsa(2));
    let t = TestKey::ed25519(3);
    let mut r1 = root(1, &[&a, &c], 2, FUTURE);
    r1.keys.insert(t.keyid(), t.key());
    r1.roles.get_mut("targets").unwrap().keyids = vec![t.keyid()];
    let mut r2 = r1.clone();
    r2.version = 2;
    r2.keys.insert(t.keyid(), attacker.clone());
    let d = tempfile::tempdir().unwrap();
    let f1 = write_md(d.path(), "1.root.json", &signed(r1, &[&a, &c]));
    let f2 = write_md(d.path(), "2.root.json", &signed(r2, &[&a, &c]));
    let r = verify(&[f1, f2], &[]);
    assert!(
        r.stdout.contains(&format!("key ID {}", &t.keyid()[..16]))
            && r.stdout.contains("names key"),
        "{}",
        r.stdout
    );
    // And import of that chain into a workspace is refused.
    let w2 = Ws::new();
    let r = w2.run(&["adopt", d.path().to_str().unwrap()]);
    assert!(
        r.code != 0 || r.stdout.contains("names key") || r.stderr.contains("names key"),
        "{}{}",
        r.stdout,
        r.stderr
    );
}

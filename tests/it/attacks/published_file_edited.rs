//! Issue 18.5 and 18.11: a published file edited (a key added to `metadata/1.root.json`, or a
//! signature entry added). The transcript recorded each published file's SHA-256: every
//! command that would build on it refuses, and `audit verify` names the file.
use super::{json_file, put_json_file};
use crate::cli::Ws;
use crate::support::*;

fn edited(change: impl Fn(&mut serde_json::Value)) {
    let w = Ws::new();
    w.published_v1();
    w.ok(&["refresh", "--expires", "200d"]);
    let f = w.metadata().join("1.root.json");
    let mut md = json_file(&f);
    change(&mut md);
    put_json_file(&f, &md);
    std::fs::copy(&f, w.metadata().join("root.json")).unwrap();
    for args in [
        vec!["root", "show", "--diff"],
        vec!["sign", "--key", "r1"],
        vec!["publish"],
        vec!["refresh"],
        vec!["status"],
        vec!["export", "--to", "../usb"],
    ] {
        w.refused(
            &args,
            1,
            "metadata/1.root.json was changed after it was published",
        );
    }
    let r = w.run(&["audit", "verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("1.root.json"),
        "{}{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn a_key_added_is_refused() {
    edited(|md| {
        let k = TestKey::ed25519(77).key();
        md["signed"]["keys"][k.keyid()] = serde_json::to_value(&k).unwrap();
    });
}

#[test]
fn a_signature_entry_added_is_refused() {
    edited(|md| {
        let s = md["signatures"][0].clone();
        md["signatures"].as_array_mut().unwrap().push(s);
    });
}

//! A key listed under an ID that is not its hash and not even ASCII: messages that shorten key
//! IDs must not cut a character in two (a panic on hostile input). `verify` and `adopt` say
//! what is wrong and go on.
use crate::support::*;

#[test]
fn refused_without_panic() {
    let (a, b) = (TestKey::ecdsa(11), TestKey::ecdsa(12));
    let mut r = root(1, &[&a, &b], 2, FUTURE);
    // One ASCII byte first: every even byte offset falls inside a two-byte character.
    let odd = format!("a{}", "é".repeat(40));
    r.keys.insert(odd.clone(), TestKey::ecdsa(13).key());
    r.roles.get_mut("root").unwrap().keyids.push(odd.clone());
    let md = signed(r, &[&a, &b]);
    let d = tempfile::tempdir().unwrap();
    let f = write_md(d.path(), "1.root.json", &md);
    // The two real keys meet the threshold: the odd entry only draws a note.
    let v = verify(std::slice::from_ref(&f), &["--json"]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(
        v.stdout.contains("is not the SHA-256 of its key object"),
        "{}",
        v.stdout
    );
    let w = crate::cli::Ws::new();
    let r = w.ok(&["adopt", d.path().to_str().unwrap()]);
    assert!(
        r.stdout.contains("not its hash") || r.stderr.contains("not its hash"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let shown = w.ok(&["root", "show"]);
    assert!(shown.stdout.contains("éééé"), "{}", shown.stdout);
}

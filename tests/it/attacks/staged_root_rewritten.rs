//! Issue 18.4: the staged root rewritten by hand (expiry 2099) with the cache beside it updated
//! to match. The transcript recorded the staged digest: `sign` and `publish` refuse; an honest
//! `sign` prints the digest it signs before it asks for anything.
use super::{json_file, put_json_file};
use crate::cli::Ws;

#[test]
fn refused_and_the_digest_is_shown_before_signing() {
    let w = Ws::new();
    w.published_v1();
    w.ok(&["refresh", "--expires", "200d"]);
    let shown = w.ok(&["root", "show", "--json"]).json();
    let digest = shown["result"]["digest"].as_str().unwrap().to_string();
    let aloud = shown["result"]["digest"].as_str().unwrap()[..4].to_string();

    let staged = w.path().join("staged/root.json");
    let honest = std::fs::read(&staged).unwrap();
    let mut md = json_file(&staged);
    md["signed"]["expires"] = "2099-01-01T00:00:00Z".into();
    put_json_file(&staged, &md);
    let new_digest =
        rootcellar::tuf::canonical::signed_digest(&std::fs::read(&staged).unwrap()).unwrap();
    // The cache older versions trusted, rewritten to match.
    std::fs::write(
        w.path().join("staged/state.json"),
        format!("{{\"canonical_sha256\":\"{new_digest}\"}}"),
    )
    .unwrap();
    for args in [
        vec!["sign", "--key", "r1"],
        vec!["publish"],
        vec!["root", "show"],
    ] {
        w.refused(&args, 1, "was changed outside rootcellar");
    }

    // Restored: the keyholder sees the digest before the passphrase is asked for (no terminal
    // here, no passphrase given: the review comes, then the refusal to ask).
    std::fs::write(&staged, honest).unwrap();
    std::fs::remove_file(w.path().join("staged/state.json")).unwrap();
    let mut c = w.cmd(&["sign", "--key", "r1"]);
    c.env_remove("ROOTCELLAR_PASSPHRASE");
    let r = run(c);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let at_digest = r.stderr.find(&aloud).expect("the digest is shown");
    let at_ask = r.stderr.find("no terminal to ask on").unwrap();
    assert!(at_digest < at_ask, "{}", r.stderr);
    // Signing with the digest the room read aloud works; another digest is refused.
    w.ok(&["sign", "--key", "r1", "--expect-digest", &digest]);
    w.refused(
        &["sign", "--key", "r2", "--expect-digest", &"0".repeat(64)],
        1,
        "changed since it was shown",
    );
}

use crate::support::run;

//! Issue 18.3: a bundle whose `previous` is forged (here: the next root itself, so the review
//! says "unchanged"). The review is computed against the workspace's own published chain; a
//! bundle's previous is accepted only when it is that very version, its verified successor,
//! or vouched for by a digest given on the command line.
use super::{bundle_of_next_version, json_file, put_json_file};
use crate::cli::Ws;

#[test]
fn refused_against_the_published_chain() {
    let w = Ws::new();
    w.published_v1();
    w.ok(&["revoke", "r3"]);
    let (_d, bundle) = bundle_of_next_version(&w);
    let mut b = json_file(&bundle);
    let mut forged = b["request"].clone();
    forged["signed"]["version"] = 1.into();
    forged["signatures"] = serde_json::json!([]);
    b["previous"] = forged;
    put_json_file(&bundle, &b);
    let f = bundle.to_str().unwrap();
    for args in [
        vec!["request", "show", f],
        vec!["sign", "--file", f, "--key", "r1"],
    ] {
        w.refused(
            &args,
            1,
            "carries a version 1 other than the one published here",
        );
    }
    // A keyholder's workspace without the history: the forged previous is marked, and signing
    // refuses; a digest read aloud that does not match the bundle's previous is refused.
    let remote = Ws::new();
    remote.keys(&[("r9", "ed25519")]);
    let r = remote.ok(&["request", "show", f]);
    assert!(r.stdout.contains("UNVERIFIED"), "{}", r.stdout);
    let real = w.ok(&["status", "--json"]).json();
    let _ = real;
    let digest_of_v1 = rootcellar::tuf::canonical::signed_digest(
        &std::fs::read(w.metadata().join("1.root.json")).unwrap(),
    )
    .unwrap();
    remote.refused(
        &["request", "show", f, "--trust-root-digest", &digest_of_v1],
        1,
        "not the",
    );
}

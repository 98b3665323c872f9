//! Issue 18.9: `keys/carol.json` pointed at another public key (its key ID recomputed to
//! match). The transcript registered carol's key ID: staging with carol is refused.
use crate::cli::Ws;
use crate::support::*;

#[test]
fn refused_against_the_transcript() {
    let w = Ws::new();
    w.published_v1();
    w.ok(&[
        "key",
        "generate",
        "--name",
        "carol",
        "--algorithm",
        "ed25519",
    ]);
    let f = w.path().join("keys/carol.json");
    let mut rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    let registered = rec["keyid"].as_str().unwrap().to_string();
    let attacker = TestKey::ed25519(88).key();
    rec["key"] = serde_json::to_value(&attacker).unwrap();
    rec["keyid"] = attacker.keyid().into();
    rec["backend"] = "public".into();
    std::fs::write(&f, serde_json::to_vec_pretty(&rec).unwrap()).unwrap();
    let r = w.refused(
        &["root", "edit", "--add-key", "root:carol"],
        1,
        "the transcript registered",
    );
    assert!(r.stderr.contains(&registered), "{}", r.stderr);
    w.refused(&["key", "list"], 1, "the transcript registered");
}

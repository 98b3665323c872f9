//! Real metadata written by others: python-tuf's vectors and sigstore's root history.

use crate::support::*;

fn sigstore(from: u64, to: u64) -> Vec<std::path::PathBuf> {
    (from..=to)
        .map(|v| data(&format!("sigstore-root-history/{v}.root.json")))
        .collect()
}

#[test]
fn python_tuf_single_root_verifies() {
    let r = verify(
        &[data("tuf/python-tuf-ecdsa-ed25519.root.json")],
        &["--at", "2026-01-01"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("own root keys: 2 of 2 needed — met"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("VALID: root version 1"));
}

#[test]
fn python_tuf_chain_verifies_and_json_says_so() {
    let files = [
        data("tuf/chain/1.root.json"),
        data("tuf/chain/2.root.json"),
        data("tuf/chain/3.root.json"),
    ];
    let r = verify(&files, &["--json", "--at", "2026-01-01T00:00:00Z"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["result"]["valid"], true);
    let roots = j["result"]["chain"]["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 3);
    assert_eq!(roots[2]["version"], 3);
    assert_eq!(roots[2]["by_previous"]["met"], true);
    assert_eq!(roots[2]["by_self"]["met"], true);
    // --trusted names the anchor explicitly.
    let r = verify(
        &files[1..],
        &[
            "--trusted",
            files[0].to_str().unwrap(),
            "--at",
            "2026-01-01",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn sigstore_history_5_to_15_verifies_as_of_2026_01_01() {
    let r = verify(&sigstore(5, 15), &["--at", "2026-01-01"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("VALID: root version 15"), "{}", r.stdout);
    // Placeholder signatures (empty "sig") are reported and count for nothing.
    assert!(
        r.stdout.contains("empty signature (a placeholder)"),
        "{}",
        r.stdout
    );
}

#[test]
fn sigstore_history_is_refused_as_of_today() {
    // Version 15 expired on 2026-11-20.
    let r = verify(&sigstore(5, 15), &["--at", "2026-11-28"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("INVALID: root version 15 expired at 2026-11-20T13:58:18Z"),
        "{}",
        r.stdout
    );
    // And with the real clock: it is past 2026-11-20 for good.
    let r = verify(&sigstore(5, 15), &[]);
    assert_eq!(r.code, 1, "{}", r.stdout);
}

#[test]
fn sigstore_history_as_a_folder_starts_at_version_1_which_python_tuf_cannot_load() {
    // Versions 1-4 carry go-tuf's fractional-second expiry, which python-tuf refuses as well.
    let r = verify(&[data("sigstore-root-history")], &["--at", "2026-01-01"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout
            .contains("1.root.json: malformed metadata: expires"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_middle_version_missing_is_refused() {
    let mut files = sigstore(5, 15);
    files.remove(3); // version 8
    let r = verify(&files, &["--at", "2026-01-01"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("version 9 follows version 7"),
        "{}",
        r.stdout
    );
}

#[test]
fn bad_usage_and_unreadable_files_exit_2() {
    let r = verify(&[data("no-such-file.json")], &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cannot read"), "{}", r.stderr);
    let r = verify(&[data("tuf/chain/1.root.json")], &["--at", "someday"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("cannot read the time"), "{}", r.stderr);
    let mut c = rootcellar();
    c.arg("verify");
    assert_eq!(run(c).code, 2);
}

/// Notary v1 / Docker Content Trust roots from Notary's own fixtures: X.509 root keys, key
/// IDs over Notary's own key form, raw r‖s signatures, GUN in the certificate CN.
#[test]
fn notary_roots_verify_in_the_notary_dialect() {
    let v01 = data("notary/notary0.1/root.json");
    let v03 = data("notary/notary0.3/root.json");

    // Recognised by `_type` "Root"; its certificate runs to 2116.
    let r = verify(
        std::slice::from_ref(&v01),
        &["--json", "--gun", "docker.com/notary0.1/samplerepo"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    assert_eq!(j["result"]["dialect"], "notary");
    assert_eq!(j["result"]["valid"], true);

    // The GUN is part of what the root certificate vouches for.
    let r = verify(
        std::slice::from_ref(&v01),
        &["--gun", "docker.com/someone-else/repo"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("docker.com/notary0.1/samplerepo"),
        "{}",
        r.stdout
    );

    // notary0.3's root certificate expired on 2026-07-25: refused today, valid before.
    let r = verify(
        std::slice::from_ref(&v03),
        &["--gun", "docker.com/notary0.3/tst"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("expired"), "{}", r.stdout);
    let r = verify(
        std::slice::from_ref(&v03),
        &["--gun", "docker.com/notary0.3/tst", "--at", "2026-01-01"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("Notary v1"), "{}", r.stdout);

    // Read as TUF 1.0, a Notary root is not valid metadata.
    let r = verify(std::slice::from_ref(&v01), &["--format", "tuf"]);
    assert_eq!(r.code, 1, "{}", r.stdout);

    // A Notary root with one byte of its signed part changed is refused.
    let dir = TestDir::new();
    let text = std::fs::read_to_string(&v03).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["signed"]["version"] = serde_json::json!(2);
    let bad = dir.path().join("root.json");
    std::fs::write(&bad, serde_json::to_vec(&value).unwrap()).unwrap();
    let r = verify(
        std::slice::from_ref(&bad),
        &["--gun", "docker.com/notary0.3/tst", "--at", "2026-01-01"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);

    // TUF and Notary files in one history are a usage error.
    let r = verify(
        &[data("tuf/chain/1.root.json"), v01],
        &["--at", "2026-01-01"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A Notary trust folder: root, `targets.json` and the `targets/releases` delegation, whose key
/// is an RSA certificate and whose signature is RSA-PSS.
#[test]
fn notary_trust_folder_with_its_rsa_delegation_verifies() {
    let gun = ["--gun", "docker.com/notary0.3/tst", "--at", "2026-01-01"];
    let r = verify(
        &[data("notary/notary0.3")],
        &[&gun[..], &["--json"]].concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    let t = j["result"]["targets"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["role"], "targets");
    assert_eq!(t[1]["role"], "targets/releases");
    assert_eq!(t[1]["signatures"]["met"], true);

    // One changed byte in the delegated file's `signed`: refused.
    let dir = TestDir::new();
    let copy = dir.path().join("notary0.3");
    std::fs::create_dir_all(copy.join("targets")).unwrap();
    for f in ["root.json", "targets.json"] {
        std::fs::copy(data("notary/notary0.3").join(f), copy.join(f)).unwrap();
    }
    let rel = std::fs::read_to_string(data("notary/notary0.3/targets/releases.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&rel).unwrap();
    v["signed"]["version"] = serde_json::json!(2);
    std::fs::write(
        copy.join("targets/releases.json"),
        serde_json::to_vec(&v).unwrap(),
    )
    .unwrap();
    let r = verify(std::slice::from_ref(&copy), &gun);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("targets/releases has 0 of the 1"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_notary_root_certificate_near_its_end_draws_a_warning() {
    // notary0.3's root certificate ends on 2026-07-25.
    let root = data("notary/notary0.3/root.json");
    let r = verify(std::slice::from_ref(&root), &["--at", "2026-07-01"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("warning: a root certificate of version")
            && r.stdout.contains("2026-07-25")
            && r.stdout.contains("notary root --previous"),
        "{}",
        r.stdout
    );
    let r = verify(
        std::slice::from_ref(&root),
        &["--at", "2026-01-01", "--json"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r.json()["result"].get("warnings").is_none(), "{}", r.stdout);
}

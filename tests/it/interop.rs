//! Interop with code this project did not write: python-tuf 7's tuf.ngclient refreshes from a
//! trusted 1.root.json through a rotation to 2.root.json published by rootcellar (a root key
//! revoked, another added), for ECDSA and Ed25519 root keys in software and on a SoftHSM2 token,
//! and for P-256 keys in the PIV slots of a (virtual) YubiKey.
//!
//! Needs ROOTCELLAR_TEST_PYTHON: a python with tuf 7 and securesystemslib[crypto], which
//! scripts/test installs. Without it the test fails and says so.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    match std::env::var_os("ROOTCELLAR_TEST_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "ROOTCELLAR_TEST_PYTHON is not set: run scripts/test, which installs python-tuf in a virtualenv"
        ),
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/python_tuf_client.py")
}

fn py(args: &[&str]) -> std::process::Output {
    Command::new(python())
        .arg(script())
        .args(args)
        .output()
        .unwrap()
}

#[derive(Clone, Copy, PartialEq)]
enum Where {
    Software,
    SoftHsm,
    YubiKey,
}

fn rotation_is_accepted_by_python_tuf(alg: &str, py_alg: &str, place: Where) {
    rotation_of_keys_is_accepted_by_python_tuf(&[(alg, None); 4], py_alg, place)
}

/// Root keys r1..r4 of the algorithms (and RSA schemes) given: r1-r3 sign version 1 (threshold
/// 2), version 2 swaps r3 for r4; python-tuf's client walks 1 → 2 and downloads a target.
fn rotation_of_keys_is_accepted_by_python_tuf(
    algs: &[(&str, Option<&str>); 4],
    py_alg: &str,
    place: Where,
) {
    let _cards = (place == Where::YubiKey).then(crate::yubikey::fresh_cards);
    let on_softhsm = place == Where::SoftHsm;
    let d = tempfile::tempdir().unwrap();
    let sys = offline_sysfs();
    let hsm = on_softhsm.then(|| crate::hsm::SoftHsm::new("interop"));
    let ws = d.path().join("ws");
    let online = d.path().join("online");
    let o = py(&["keys", online.to_str().unwrap(), py_alg]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rc = |args: &[&str]| {
        let mut c = rootcellar();
        c.env("ROOTCELLAR_DIR", &ws)
            .env("ROOTCELLAR_SYSFS", sys.path())
            .env("ROOTCELLAR_PASSPHRASE", "interop passphrase")
            .args(args);
        if let Some(h) = &hsm {
            c.env("SOFTHSM2_CONF", h.conf())
                .env("ROOTCELLAR_PIN", crate::hsm::PIN);
        }
        if place == Where::YubiKey {
            c.env("ROOTCELLAR_PIN", crate::yubikey::PIN);
        }
        let r = run(c);
        assert_eq!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
        r
    };
    rc(&["init"]);
    let serial = (place == Where::YubiKey).then(|| crate::yubikey::serials().0.to_string());
    for ((k, slot), (alg, scheme)) in [("r1", "9a"), ("r2", "9c"), ("r3", "9d"), ("r4", "82")]
        .into_iter()
        .zip(algs.iter().copied())
    {
        let scheme: Vec<&str> = scheme.map(|s| vec!["--scheme", s]).unwrap_or_default();
        let with_scheme = |args: &[&str]| -> Vec<String> {
            args.iter()
                .chain(scheme.iter())
                .map(|s| s.to_string())
                .collect()
        };
        let rc_s = |args: &[&str]| {
            let a = with_scheme(args);
            rc(&a.iter().map(String::as_str).collect::<Vec<_>>())
        };
        match place {
            Where::SoftHsm => rc_s(&[
                "key",
                "generate",
                "--backend",
                "pkcs11",
                "--profile",
                "softhsm2",
                "--token",
                "interop",
                "--name",
                k,
                "--algorithm",
                alg,
            ]),
            Where::YubiKey => rc_s(&[
                "key",
                "generate",
                "--backend",
                "yubikey",
                "--serial",
                serial.as_deref().unwrap_or(""),
                "--slot",
                slot,
                "--name",
                k,
                "--algorithm",
                alg,
                "--default-management-key",
            ]),
            Where::Software => rc_s(&["key", "generate", "--name", k, "--algorithm", alg]),
        };
    }
    for k in ["targets", "snapshot", "timestamp"] {
        rc(&[
            "key",
            "import",
            online.join(format!("{k}.pub.json")).to_str().unwrap(),
            "--name",
            k,
        ]);
    }
    rc(&[
        "root",
        "new",
        "--root-key",
        "r1",
        "--root-key",
        "r2",
        "--root-key",
        "r3",
        "--threshold",
        "2",
        "--targets-key",
        "targets",
        "--snapshot-key",
        "snapshot",
        "--timestamp-key",
        "timestamp",
    ]);
    rc(&["sign", "--key", "r1", "--key", "r3"]);
    rc(&["publish"]);
    rc(&[
        "root",
        "edit",
        "--remove-key",
        "root:r3",
        "--add-key",
        "root:r4",
    ]);
    rc(&["sign", "--key", "r1", "--key", "r2", "--key", "r4"]);
    rc(&["publish"]);

    let meta = ws.join("metadata");
    let o = py(&["refresh", meta.to_str().unwrap(), online.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "python-tuf refused: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["trusted_root_version"], 2);
    assert_eq!(v["downloaded"], true);

    // The harness can fail: drop version 1's signatures from 2.root.json and python-tuf refuses.
    let bad = d.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::copy(meta.join("1.root.json"), bad.join("1.root.json")).unwrap();
    let mut two: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta.join("2.root.json")).unwrap()).unwrap();
    let r4: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.join("keys/r4.json")).unwrap()).unwrap();
    let r2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.join("keys/r2.json")).unwrap()).unwrap();
    two["signatures"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["keyid"] == r4["keyid"] || s["keyid"] == r2["keyid"]);
    std::fs::write(bad.join("2.root.json"), serde_json::to_vec(&two).unwrap()).unwrap();
    let o = py(&["refresh", bad.to_str().unwrap(), online.to_str().unwrap()]);
    assert!(
        !o.status.success(),
        "python-tuf accepted a rotation without version 1's threshold"
    );
    // rootcellar refuses it as well.
    assert_eq!(
        verify(&[bad.join("1.root.json"), bad.join("2.root.json")], &[]).code,
        1
    );
}

#[test]
fn python_tuf_accepts_an_ecdsa_root_rotation() {
    rotation_is_accepted_by_python_tuf("ecdsa-p256", "ecdsa", Where::Software);
}

#[test]
fn python_tuf_accepts_an_ed25519_root_rotation() {
    rotation_is_accepted_by_python_tuf("ed25519", "ed25519", Where::Software);
}

#[test]
fn python_tuf_accepts_a_rotation_signed_by_p256_keys_on_softhsm2() {
    rotation_is_accepted_by_python_tuf("ecdsa-p256", "ecdsa", Where::SoftHsm);
}

#[test]
fn python_tuf_accepts_a_rotation_signed_by_ed25519_keys_on_softhsm2() {
    rotation_is_accepted_by_python_tuf("ed25519", "ed25519", Where::SoftHsm);
}

#[test]
fn python_tuf_accepts_a_rotation_signed_by_yubikey_piv_keys() {
    rotation_is_accepted_by_python_tuf("ecdsa-p256", "ecdsa", Where::YubiKey);
}

const PSS: Option<&str> = Some("rsassa-pss-sha256");
const PKCS1: Option<&str> = Some("rsa-pkcs1v15-sha256");

/// P-384 and RSA root keys (PSS and PKCS#1 v1.5) in one root role, in software.
#[test]
fn python_tuf_accepts_p384_and_rsa_root_keys_in_software() {
    rotation_of_keys_is_accepted_by_python_tuf(
        &[
            ("ecdsa-p384", None),
            ("rsa-2048", PSS),
            ("rsa-2048", PKCS1),
            ("rsa-3072", Some("rsassa-pss-sha384")),
        ],
        "ecdsa",
        Where::Software,
    );
}

/// The same on SoftHSM2: P-384 over CKM_ECDSA, RSA over CKM_RSA_PKCS_PSS and CKM_RSA_PKCS.
#[test]
fn python_tuf_accepts_p384_and_rsa_root_keys_on_softhsm2() {
    rotation_of_keys_is_accepted_by_python_tuf(
        &[
            ("ecdsa-p384", None),
            ("rsa-2048", PSS),
            ("rsa-2048", PKCS1),
            ("ecdsa-p384", None),
        ],
        "ecdsa",
        Where::SoftHsm,
    );
}

/// And on the virtual PIV card: P-384, and RSA-2048 signing raw blocks that rootcellar encodes
/// (PKCS#1 v1.5 and PSS), as a YubiKey does.
#[test]
fn python_tuf_accepts_p384_and_rsa_2048_root_keys_on_yubikey_piv() {
    rotation_of_keys_is_accepted_by_python_tuf(
        &[
            ("ecdsa-p384", None),
            ("rsa-2048", PKCS1),
            ("rsa-2048", PSS),
            ("ecdsa-p384", None),
        ],
        "ecdsa",
        Where::YubiKey,
    );
}

/// Five root versions — rotation, revocation of a lost key, refresh, a new key with a higher
/// threshold — with root keys in software and on SoftHSM2; python-tuf's client walks 1 → 5.
#[test]
fn python_tuf_walks_a_five_version_history_over_software_and_softhsm2_keys() {
    let d = tempfile::tempdir().unwrap();
    let online = d.path().join("online");
    let o = py(&["keys", online.to_str().unwrap(), "ecdsa"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w = crate::hsm::HsmWs::new("history");
    w.ok(&[
        "key",
        "generate",
        "--name",
        "r1",
        "--algorithm",
        "ecdsa-p256",
    ]);
    w.generate("r2", "ecdsa-p256");
    w.generate("r3", "ed25519");
    w.ok(&["key", "generate", "--name", "r4", "--algorithm", "ed25519"]);
    w.generate("r5", "ecdsa-p256");
    for k in ["targets", "snapshot", "timestamp"] {
        w.ok(&[
            "key",
            "import",
            online.join(format!("{k}.pub.json")).to_str().unwrap(),
            "--name",
            k,
        ]);
    }
    w.ok(&[
        "root",
        "new",
        "--root-key",
        "r1",
        "--root-key",
        "r2",
        "--root-key",
        "r3",
        "--threshold",
        "2",
        "--targets-key",
        "targets",
        "--snapshot-key",
        "snapshot",
        "--timestamp-key",
        "timestamp",
    ]);
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    w.ok(&["publish"]);
    // 2: rotate r3 (SoftHSM2) to r4 (software).
    w.ok(&["rotate", "root", "--old", "r3", "--new", "r4"]);
    w.ok(&["sign", "--key", "r1", "--key", "r2", "--key", "r4"]);
    w.ok(&["publish"]);
    // 3: r4 is lost: revoked.
    w.ok(&["revoke", "r4", "--reason", "lost"]);
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    w.ok(&["publish"]);
    // 4: refresh.
    w.ok(&["refresh", "--expires", "300d"]);
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    w.ok(&["publish"]);
    // 5: a new SoftHSM2 key, threshold 3.
    w.ok(&[
        "root",
        "edit",
        "--add-key",
        "root:r5",
        "--threshold",
        "root:3",
    ]);
    w.ok(&["sign", "--key", "r1", "--key", "r2", "--key", "r5"]);
    w.ok(&["publish"]);
    let meta = w.dir.path().join("metadata");
    assert!(meta.join("5.root.json").exists());
    assert_eq!(verify(std::slice::from_ref(&meta), &[]).code, 0);
    let o = py(&["refresh", meta.to_str().unwrap(), online.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "python-tuf refused: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["trusted_root_version"], 5);
}

/// A tagging delegation (`targets/releases`, the TUF form of Docker Content Trust's signer role)
/// signed with a targets key on SoftHSM2: python-tuf finds a target through the delegated role.
#[test]
fn python_tuf_finds_a_target_through_a_delegation_signed_with_a_softhsm2_targets_key() {
    let d = tempfile::tempdir().unwrap();
    let online = d.path().join("online");
    let o = py(&["keys", online.to_str().unwrap(), "ecdsa"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w = crate::hsm::HsmWs::new("delegation");
    w.ok(&["key", "generate", "--name", "r1"]);
    w.generate("tk", "ecdsa-p256");
    for k in ["snapshot", "timestamp", "release"] {
        w.ok(&[
            "key",
            "import",
            online.join(format!("{k}.pub.json")).to_str().unwrap(),
            "--name",
            k,
        ]);
    }
    w.refused(
        &["delegate", "add", "targets/releases", "--key", "release"],
        1,
        "no root is published yet",
    );
    w.ok(&[
        "root",
        "new",
        "--root-key",
        "r1",
        "--threshold",
        "1",
        "--targets-key",
        "tk",
        "--snapshot-key",
        "snapshot",
        "--timestamp-key",
        "timestamp",
    ]);
    w.ok(&["sign", "--key", "r1"]);
    w.ok(&["publish"]);
    w.refused(
        &["delegate", "add", "../escape", "--key", "release"],
        2,
        "is not allowed",
    );
    w.refused(
        &["delegate", "add", "targets/releases", "--key", "nobody"],
        2,
        "no key named",
    );
    w.refused(
        &[
            "delegate",
            "add",
            "targets/releases",
            "--key",
            "release",
            "--threshold",
            "2",
        ],
        1,
        "would have 1 key(s) for a threshold of 2",
    );
    w.refused(
        &[
            "delegate",
            "add",
            "targets/releases",
            "--key",
            "release",
            "--sign-with",
            "r1",
        ],
        1,
        "is not a targets key",
    );
    let r = w
        .ok(&[
            "delegate",
            "add",
            "targets/releases",
            "--key",
            "release",
            "--paths",
            "releases/*",
            "--json",
        ])
        .json();
    assert_eq!(r["result"]["roles"][0]["file"], "targets%2Freleases.json");
    assert_eq!(r["result"]["signed_by"][0], "tk");
    w.refused(
        &["delegate", "add", "targets/releases", "--key", "release"],
        1,
        "is delegated already",
    );

    let meta = w.dir.path().join("metadata");
    let o = py(&["refresh", meta.to_str().unwrap(), online.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "python-tuf refused: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["through_delegation"], true, "{v}");
    assert_eq!(v["target"], "releases/app-1.0.txt");

    // Rotate the tagging key, then remove the delegation: each a new signed targets version.
    w.ok(&[
        "key",
        "generate",
        "--name",
        "release2",
        "--algorithm",
        "ed25519",
    ]);
    let r = w
        .ok(&[
            "delegate",
            "rotate",
            "targets/releases",
            "--old",
            "release",
            "--new",
            "release2",
            "--json",
        ])
        .json();
    assert_eq!(r["result"]["version"], 2);
    assert_eq!(r["result"]["roles"][0]["keys"][0], "release2");
    let r = w
        .ok(&["delegate", "remove", "targets/releases", "--json"])
        .json();
    assert_eq!(r["result"]["version"], 3);
    assert!(
        w.ok(&["delegate", "list"])
            .stdout
            .contains("No delegated roles")
    );
    assert!(meta.join("3.targets.json").exists());
}

/// A history shaped as tuf-on-ci and RSTUF write them — `x-` fields in `signed`, in key objects
/// and in roles, a field beside `signed`, a signature entry with a field of its own, key IDs made
/// by three recipes (securesystemslib's older one hashing an implicit `keyid_hash_algorithms`,
/// the whole object with its `x-` field, the object without it) — adopted and continued by two
/// versions whose signatures the keyholders made with their own tools (here: the test, as
/// securesystemslib would) and `merge` took. Every field stays as it was; python-tuf walks 1 → 4.
#[test]
fn an_adopted_tuf_on_ci_history_is_continued_with_its_fields_intact() {
    use rootcellar::tuf::canonical::to_canonical;
    let d = tempfile::tempdir().unwrap();
    let online = d.path().join("online");
    let o = py(&["keys", online.to_str().unwrap(), "ecdsa"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sha = |v: &serde_json::Value| -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(to_canonical(v).unwrap()))
    };
    let (k1, k2, k3) = (TestKey::ecdsa(31), TestKey::ecdsa(32), TestKey::ed25519(33));
    let obj = |k: &TestKey, owner: &str| {
        let mut v = serde_json::to_value(k.key()).unwrap();
        v["x-tuf-on-ci-keyowner"] = owner.into();
        v
    };
    let (o1, o2, o3) = (obj(&k1, "@alice"), obj(&k2, "@bob"), obj(&k3, "@carol"));
    // Recipe 1: the hash of the object with keyid_hash_algorithms, which the file does not hold.
    let mut hashed1 = o1.clone();
    hashed1
        .as_object_mut()
        .unwrap()
        .remove("x-tuf-on-ci-keyowner");
    hashed1["keyid_hash_algorithms"] = serde_json::json!(["sha256", "sha512"]);
    let id1 = sha(&hashed1);
    // Recipe 2: the whole object, x- field included (tough's recipe).
    let id2 = sha(&o2);
    // Recipe 3: the object without its x- field (securesystemslib's keytype/scheme/keyval).
    let id3 = sha(&serde_json::to_value(k3.key()).unwrap());
    let mut keys = serde_json::json!({ id1.clone(): o1, id2.clone(): o2, id3.clone(): o3 });
    let mut online_ids = serde_json::Map::new();
    for role in ["targets", "snapshot", "timestamp"] {
        let k: serde_json::Value = serde_json::from_slice(
            &std::fs::read(online.join(format!("{role}.pub.json"))).unwrap(),
        )
        .unwrap();
        let id = sha(&k);
        keys[&id] = k;
        online_ids.insert(
            role.into(),
            serde_json::json!({"keyids": [id], "threshold": 1}),
        );
    }
    let mut roles = serde_json::Value::Object(online_ids);
    roles["root"] = serde_json::json!({
        "keyids": [id1, id2, id3],
        "threshold": 2,
        "x-tuf-on-ci-expiry-period": 365,
        "x-tuf-on-ci-signing-period": 60
    });
    let signed = |v: u64| {
        serde_json::json!({
            "_type": "root", "spec_version": "1.0.31", "version": v,
            "expires": "2030-01-01T00:00:00Z", "consistent_snapshot": true,
            "keys": keys.clone(), "roles": roles.clone(),
            "x-rstuf-note": {"made-by": "an RSTUF-shaped test"}
        })
    };
    let sign = |s: &serde_json::Value, by: &[(&TestKey, &str)]| -> serde_json::Value {
        let c = to_canonical(s).unwrap();
        let sigs: Vec<serde_json::Value> = by
            .iter()
            .map(|(k, id)| serde_json::json!({"keyid": id, "sig": hex::encode(k.sign_bytes(&c)), "x-sig-note": "kept"}))
            .collect();
        serde_json::json!({"signed": s, "signatures": sigs, "x-top-note": "beside signed"})
    };
    let hist = d.path().join("history");
    std::fs::create_dir(&hist).unwrap();
    for v in [1, 2] {
        let md = sign(&signed(v), &[(&k1, &id1), (&k2, &id2)]);
        std::fs::write(
            hist.join(format!("{v}.root.json")),
            serde_json::to_vec_pretty(&md).unwrap(),
        )
        .unwrap();
    }

    let w = crate::cli::Ws::new();
    let a = w.ok(&["adopt", hist.to_str().unwrap(), "--json"]).json();
    assert_eq!(a["result"]["last"], 2, "{a}");
    for _ in 0..2 {
        w.ok(&["refresh", "--expires", "300d"]);
        let req = d.path().join("request.json");
        let _ = std::fs::remove_file(&req);
        w.ok(&["request", "export", "--out", req.to_str().unwrap()]);
        // The keyholders sign the request's `signed` with their own tools.
        let mut b: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&req).unwrap()).unwrap();
        let c = to_canonical(&b["request"]["signed"]).unwrap();
        b["request"]["signatures"] = serde_json::json!([
            {"keyid": id1, "sig": hex::encode(k1.sign_bytes(&c))},
            {"keyid": id3, "sig": hex::encode(k3.sign_bytes(&c))},
        ]);
        std::fs::write(&req, serde_json::to_vec(&b).unwrap()).unwrap();
        let m = w.ok(&["merge", req.to_str().unwrap(), "--json"]).json();
        assert_eq!(m["result"]["status"]["publishable"], true, "{m}");
        w.ok(&["publish"]);
    }
    let four: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.metadata().join("4.root.json")).unwrap()).unwrap();
    assert_eq!(
        four["signed"]["keys"], keys,
        "key objects and their IDs as they were"
    );
    assert_eq!(four["signed"]["roles"]["root"], roles["root"]);
    assert_eq!(four["signed"]["x-rstuf-note"], signed(1)["x-rstuf-note"]);
    // The adopted files are byte for byte what was given.
    assert_eq!(
        std::fs::read(w.metadata().join("1.root.json")).unwrap(),
        std::fs::read(hist.join("1.root.json")).unwrap()
    );
    let o = py(&[
        "refresh",
        w.metadata().to_str().unwrap(),
        online.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "python-tuf refused: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["trusted_root_version"], 4);
}

/// Keyholders who keep their own tools (tuf-on-ci's, securesystemslib signers) sign
/// rootcellar's request with securesystemslib's `CryptoSigner` — a P-384 key and an RSA-3072
/// PSS key made by securesystemslib — and `merge` takes their signatures; python-tuf walks the
/// result (docs/migrate-from-tuf-on-ci.md).
#[test]
fn keyholders_signing_with_securesystemslib_are_merged() {
    let d = tempfile::tempdir().unwrap();
    let online = d.path().join("online");
    let o = py(&["keys", online.to_str().unwrap(), "ecdsa"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let holders = d.path().join("holders");
    for (name, alg) in [("kh1", "ecdsa-p384"), ("kh2", "rsa-3072-pss")] {
        let o = py(&["keyholder", holders.to_str().unwrap(), name, alg]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let w = crate::cli::Ws::new();
    w.ok(&[
        "key",
        "generate",
        "--name",
        "r0",
        "--algorithm",
        "ecdsa-p384",
    ]);
    for k in ["kh1", "kh2"] {
        let f = holders.join(format!("{k}.pub.json"));
        w.ok(&["key", "import", f.to_str().unwrap(), "--name", k]);
    }
    for k in ["targets", "snapshot", "timestamp"] {
        let f = online.join(format!("{k}.pub.json"));
        w.ok(&["key", "import", f.to_str().unwrap(), "--name", k]);
    }
    let sign_with = |req: &Path, who: &str| {
        let o = py(&[
            "sign",
            req.to_str().unwrap(),
            holders.join(format!("{who}.priv.pem")).to_str().unwrap(),
            holders.join(format!("{who}.pub.json")).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    w.ok(&[
        "root",
        "new",
        "--root-key",
        "r0",
        "--root-key",
        "kh1",
        "--root-key",
        "kh2",
        "--threshold",
        "2",
        "--targets-key",
        "targets",
        "--snapshot-key",
        "snapshot",
        "--timestamp-key",
        "timestamp",
    ]);
    w.ok(&["sign", "--key", "r0"]);
    let req = d.path().join("request-1.json");
    w.ok(&["request", "export", "--out", req.to_str().unwrap()]);
    sign_with(&req, "kh1");
    let m = w.ok(&["merge", req.to_str().unwrap(), "--json"]).json();
    assert_eq!(m["result"]["added"], serde_json::json!(["kh1"]), "{m}");
    w.ok(&["publish"]);
    // Version 2 is signed by the two keyholders alone, in their own tools.
    w.ok(&["refresh", "--expires", "300d"]);
    let req = d.path().join("request-2.json");
    w.ok(&["request", "export", "--out", req.to_str().unwrap()]);
    sign_with(&req, "kh1");
    sign_with(&req, "kh2");
    let m = w.ok(&["merge", req.to_str().unwrap(), "--json"]).json();
    assert_eq!(m["result"]["status"]["publishable"], true, "{m}");
    w.ok(&["publish"]);
    let o = py(&[
        "refresh",
        w.metadata().to_str().unwrap(),
        online.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "python-tuf refused: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["trusted_root_version"], 2);
}

/// Root histories in the shapes published roots take (P-384 and RSA chains, every key type in
/// one role, an unknown key type, a P-521 key the threshold does not need, duplicate signature
/// key IDs, key IDs that are labels, unknown fields everywhere), built by python-tuf and
/// securesystemslib with python-tuf's own verdict on each (tests/interop/verdicts.py):
/// rootcellar's `verify` agrees on every one, except where it is stricter by design — a P-521
/// key it cannot check, an RSA key below 2048 bits, one public key under two key IDs
/// (docs/formats.md) — which python-tuf accepts and rootcellar refuses.
#[test]
fn verify_agrees_with_python_tuf_on_real_root_shapes() {
    let d = tempfile::tempdir().unwrap();
    let o = Command::new(python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/verdicts.py"))
        .arg(d.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(d.path().join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 18, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for c in &cases {
        let name = c["case"].as_str().unwrap();
        let python = c["accepted"].as_bool().unwrap();
        let r = verify(&[d.path().join(name)], &[]);
        let ours = r.code == 0;
        let want = if name.starts_with("divergence-") {
            assert!(
                python,
                "{name}: python-tuf refused a divergence case: {}",
                c["why"]
            );
            false
        } else {
            python
        };
        if ours != want {
            wrong.push(format!(
                "{name}: python-tuf {} ({}), rootcellar {}: {}",
                if python { "accepts" } else { "refuses" },
                c["why"],
                if ours { "accepts" } else { "refuses" },
                r.stdout
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// One history of five root versions whose root keys are P-384 and RSA on SoftHSM2 and P-384
/// and RSA-2048 on the two virtual PIV cards — rotation to a card, revocation of a lost card,
/// refresh, a new RSA-3072 key — walked by python-tuf's client from 1 to 5.
#[test]
fn python_tuf_walks_five_versions_of_p384_and_rsa_keys_on_softhsm2_and_piv_cards() {
    let _cards = crate::yubikey::fresh_cards();
    let d = tempfile::tempdir().unwrap();
    let online = d.path().join("online");
    let o = py(&["keys", online.to_str().unwrap(), "ecdsa"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let w = crate::hsm::HsmWs::new("mixed5");
    let label = w.hsm.label.clone();
    for (name, alg, scheme) in [
        ("h1", "ecdsa-p384", None),
        ("h2", "rsa-2048", Some("rsassa-pss-sha256")),
        ("h3", "rsa-3072", Some("rsa-pkcs1v15-sha256")),
    ] {
        let mut args = vec![
            "key",
            "generate",
            "--backend",
            "pkcs11",
            "--profile",
            "softhsm2",
            "--token",
            &label,
            "--name",
            name,
            "--algorithm",
            alg,
        ];
        if let Some(s) = scheme {
            args.extend(["--scheme", s]);
        }
        w.ok(&args);
    }
    let (s1, s2) = crate::yubikey::serials();
    let (s1, s2) = (s1.to_string(), s2.to_string());
    for (name, serial, alg, scheme) in [
        ("y1", &s1, "ecdsa-p384", None),
        ("y2", &s2, "rsa-2048", Some("rsa-pkcs1v15-sha256")),
    ] {
        let mut args = vec![
            "key",
            "generate",
            "--backend",
            "yubikey",
            "--serial",
            serial,
            "--slot",
            "9c",
            "--name",
            name,
            "--algorithm",
            alg,
            "--default-management-key",
        ];
        if let Some(s) = scheme {
            args.extend(["--scheme", s]);
        }
        w.ok(&args);
    }
    for k in ["targets", "snapshot", "timestamp"] {
        let f = online.join(format!("{k}.pub.json"));
        w.ok(&["key", "import", f.to_str().unwrap(), "--name", k]);
    }
    w.ok(&[
        "root",
        "new",
        "--root-key",
        "h1",
        "--root-key",
        "y1",
        "--root-key",
        "h2",
        "--threshold",
        "2",
        "--targets-key",
        "targets",
        "--snapshot-key",
        "snapshot",
        "--timestamp-key",
        "timestamp",
    ]);
    w.ok(&["sign", "--key", "h1", "--key", "y1"]);
    w.ok(&["publish", "--seal-key", "h1"]);
    // 2: h2 (SoftHSM2, RSA-PSS) rotated to y2 (card 2, RSA PKCS#1 v1.5).
    w.ok(&["rotate", "root", "--old", "h2", "--new", "y2"]);
    w.ok(&["sign", "--key", "h1", "--key", "y1", "--key", "y2"]);
    w.ok(&["publish", "--seal-key", "h1"]);
    // 3: card 1 is lost.
    w.ok(&["revoke", "y1", "--reason", "lost"]);
    w.ok(&["sign", "--key", "h1", "--key", "y2"]);
    w.ok(&["publish", "--seal-key", "h1"]);
    // 4: refresh.
    w.ok(&["refresh", "--expires", "300d"]);
    w.ok(&["sign", "--key", "h1", "--key", "y2"]);
    w.ok(&["publish", "--seal-key", "h1"]);
    // 5: a new RSA-3072 key on SoftHSM2.
    w.ok(&["root", "edit", "--add-key", "root:h3"]);
    w.ok(&["sign", "--key", "h1", "--key", "y2", "--key", "h3"]);
    w.ok(&["publish", "--seal-key", "h1"]);
    let meta = w.dir.path().join("metadata");
    assert_eq!(verify(std::slice::from_ref(&meta), &[]).code, 0);
    let five: serde_json::Value =
        serde_json::from_slice(&std::fs::read(meta.join("5.root.json")).unwrap()).unwrap();
    let schemes: std::collections::BTreeSet<&str> = five["signed"]["keys"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|k| k["scheme"].as_str())
        .collect();
    for s in ["ecdsa-sha2-nistp384", "rsa-pkcs1v15-sha256"] {
        assert!(schemes.contains(s), "{schemes:?}");
    }
    let o = py(&["refresh", meta.to_str().unwrap(), online.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "python-tuf refused: {out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["trusted_root_version"], 5);
}

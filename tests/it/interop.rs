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
    for (k, slot) in [("r1", "9a"), ("r2", "9c"), ("r3", "9d"), ("r4", "82")] {
        match place {
            Where::SoftHsm => rc(&[
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
            Where::YubiKey => rc(&[
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
                "--default-management-key",
            ]),
            Where::Software => rc(&["key", "generate", "--name", k, "--algorithm", alg]),
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

//! Notary v1 / Docker Content Trust root rotations the tests build themselves: X.509 root
//! certificates made with x509-cert's builder, signed the way Notary signs (raw r‖s over the
//! canonical `signed`). Notary's own fixtures are tested in `vectors`.
//!
//! Verdicts are compared with Notary 0.7's own Go code (`data.RootFromSigned`,
//! `trustpinning.ValidateRoot`): ROOTCELLAR_NOTARY_CHECK names the `notary-check` program
//! scripts/setup-test-deps builds from Debian's Notary sources. Without it the tests fail and
//! say so. Notary checks certificates as of now only, so it is asked about cases whose verdict
//! is the same today.

use crate::attestation::{Ca, ca_spki, issue_valid};
use crate::support::*;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use rootcellar::tuf::canonical::to_canonical;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use x509_cert::der::asn1::UtcTime;
use x509_cert::der::{EncodePem, pem::LineEnding};
use x509_cert::time::{Time, Validity};

const GUN: &str = "docker.io/example/app";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn unix(date: &str) -> Duration {
    let d = time::Date::parse(
        date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    Duration::from_secs(d.midnight().assume_utc().unix_timestamp() as u64)
}

fn time_of(date: &str) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(unix(date)).unwrap())
}

/// Notary's key form and its key ID.
fn key_entry(keytype: &str, public_b64: String) -> (String, Value) {
    let k = json!({"keytype": keytype, "keyval": {"private": null, "public": public_b64}});
    let id = hex::encode(Sha256::digest(to_canonical(&k).unwrap()));
    (id, k)
}

struct RootKey {
    sk: p256::ecdsa::SigningKey,
    id: String,
    entry: Value,
}

/// A root key with a self-signed certificate for `cn`, valid from `from` to `to`.
fn root_key(seed: u8, cn: &str, from: &str, to: &str) -> RootKey {
    let sk = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let ca = Ca::P256(sk.clone());
    let validity = Validity::new(time_of(from), time_of(to));
    let name = format!("CN={cn}");
    let cert = issue_valid(&name, &name, ca_spki(&ca), &ca, false, vec![], validity);
    let pem = cert.to_pem(LineEnding::LF).unwrap();
    let (id, entry) = key_entry("ecdsa-x509", B64.encode(pem));
    RootKey { sk, id, entry }
}

/// A root of `version` whose root role is `root`, signed by each of `signers`.
fn root(version: u64, root: &[&RootKey], signers: &[&RootKey]) -> Value {
    use p256::pkcs8::EncodePublicKey;
    let online = p256::ecdsa::SigningKey::from_slice(&[40u8; 32]).unwrap();
    let der = online.verifying_key().to_public_key_der().unwrap();
    let (online_id, online_entry) = key_entry("ecdsa", B64.encode(der.as_bytes()));
    let mut keys = serde_json::Map::new();
    keys.insert(online_id.clone(), online_entry);
    for k in root {
        keys.insert(k.id.clone(), k.entry.clone());
    }
    let role = |ids: Vec<String>| json!({"keyids": ids, "threshold": 1});
    let signed = json!({
        "_type": "Root",
        "consistent_snapshot": false,
        "expires": "2035-01-01T00:00:00.123456789-05:00",
        "keys": keys,
        "roles": {
            "root": role(root.iter().map(|k| k.id.clone()).collect()),
            "targets": role(vec![online_id.clone()]),
            "snapshot": role(vec![online_id.clone()]),
            "timestamp": role(vec![online_id]),
        },
        "version": version,
    });
    let message = to_canonical(&signed).unwrap();
    let signatures: Vec<Value> = signers
        .iter()
        .map(|k| {
            let sig: p256::ecdsa::Signature = k.sk.sign(&message);
            json!({"keyid": k.id, "method": "ecdsa", "sig": B64.encode(sig.to_bytes())})
        })
        .collect();
    json!({"signed": signed, "signatures": signatures})
}

/// Notary's verdict on `files` (`[previous,] root`): accepted or not, and whether the key IDs in
/// the file are the ones Notary computes.
pub(crate) fn notary_says(gun: &str, files: &[&PathBuf]) -> bool {
    let Some(prog) = std::env::var_os("ROOTCELLAR_NOTARY_CHECK") else {
        panic!(
            "ROOTCELLAR_NOTARY_CHECK is not set: run scripts/test, which builds notary-check from Notary's Go sources"
        )
    };
    let out = std::process::Command::new(prog)
        .arg(gun)
        .args(files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "notary-check failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ids: Vec<&str> = stdout.lines().filter(|l| l.starts_with("keyid ")).collect();
    assert!(!ids.is_empty(), "{stdout}");
    for l in ids {
        let f: Vec<&str> = l.split(' ').collect();
        assert_eq!(f[1], f[2], "Notary computes another key ID: {l}");
    }
    out.status.code() == Some(0)
}

/// rootcellar and Notary agree on Notary's own fixtures, as of today.
#[test]
fn notary_fixtures_get_the_same_verdict_from_notary_itself() {
    let cases = [
        (
            "notary/notary0.1/root.json",
            "docker.com/notary0.1/samplerepo",
            true,
        ),
        (
            "notary/notary0.1/root.json",
            "docker.com/another/repo",
            false,
        ),
        (
            "notary/notary0.3/root.json",
            "docker.com/notary0.3/tst",
            false,
        ),
    ];
    for (file, gun, accepted) in cases {
        let f = data(file);
        assert_eq!(notary_says(gun, &[&f]), accepted, "Notary on {file} {gun}");
        let r = verify(std::slice::from_ref(&f), &["--gun", gun]);
        assert_eq!(
            r.code == 0,
            accepted,
            "rootcellar on {file} {gun}: {}",
            r.stdout
        );
    }
}

fn write(dir: &TestDir, name: &str, v: &Value) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
    p
}

/// The usual Notary rotation: the old root certificate runs out, a new one takes over, and the
/// old key signs the hand-over. Notary accepts the old certificate's signature after it has
/// expired (only the newest root's certificates must be valid now); rootcellar must too, and
/// must still refuse a hand-over the old key did not sign.
#[test]
fn notary_root_rotation_after_the_old_certificate_expired() {
    let dir = TestDir::new();
    let old = root_key(31, GUN, "2025-01-01", "2026-01-01");
    let new = root_key(32, GUN, "2025-06-01", "2035-01-01");
    let v1 = write(&dir, "1.root.json", &root(1, &[&old], &[&old]));
    let v2 = write(&dir, "2.root.json", &root(2, &[&new], &[&old, &new]));
    let gun = ["--gun", GUN];

    // v1 alone: valid while its certificate is, refused after.
    let r = verify(
        std::slice::from_ref(&v1),
        &[&gun[..], &["--at", "2025-06-01"]].concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let r = verify(
        std::slice::from_ref(&v1),
        &[&gun[..], &["--at", "2026-06-01"]].concat(),
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("expired on 2026-01-01"), "{}", r.stdout);

    // v1 → v2 after the old certificate expired: accepted.
    let r = verify(
        &[v1.clone(), v2.clone()],
        &[&gun[..], &["--at", "2026-06-01", "--json"]].concat(),
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    let j = r.json();
    assert_eq!(j["result"]["dialect"], "notary");
    assert_eq!(j["result"]["chain"]["roots"][1]["by_previous"]["met"], true);

    // The new certificate does not help once it, too, has expired.
    let r = verify(
        &[v1.clone(), v2.clone()],
        &[&gun[..], &["--at", "2035-06-01"]].concat(),
    );
    assert_eq!(r.code, 1, "{}", r.stdout);

    // A hand-over signed only by the new key is refused: nothing the old root trusts signed it.
    let forged = write(&dir, "2.forged.json", &root(2, &[&new], &[&new]));
    let r = verify(
        &[v1.clone(), forged.clone()],
        &[&gun[..], &["--at", "2026-06-01"]].concat(),
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("signatures it needs from version 1"),
        "{}",
        r.stdout
    );

    // The new certificate must name this repository.
    let other = root_key(33, "docker.io/someone/else", "2025-06-01", "2035-01-01");
    let v2_other = write(&dir, "2.other.json", &root(2, &[&other], &[&old, &other]));
    let r = verify(
        &[v1.clone(), v2_other.clone()],
        &[&gun[..], &["--at", "2026-06-01"]].concat(),
    );
    assert_eq!(r.code, 1, "{}", r.stdout);

    // Notary's own code, which checks certificates as of now (between the old certificate's
    // end, 2026-01-01, and the new one's, 2035-01-01), gives the same verdicts and computes the
    // same key IDs.
    assert!(!notary_says(GUN, &[&v1]), "old certificate expired");
    assert!(notary_says(GUN, &[&v1, &v2]), "the rotation");
    assert!(!notary_says(GUN, &[&v1, &forged]), "the forged hand-over");
    assert!(
        !notary_says(GUN, &[&v1, &v2_other]),
        "another repository's certificate"
    );
    for (files, accepted) in [(vec![v1.clone()], false), (vec![v1, v2], true)] {
        let r = verify(&files, &gun);
        assert_eq!(r.code == 0, accepted, "{}", r.stdout);
    }
}

/// Must-show of #9: a Notary root rootcellar writes, with one root key on SoftHSM2 and one on
/// the virtual YubiKey, each certificate signed on its own device, is accepted by Notary's own
/// code (`ValidateRoot` with the GUN) and by `rootcellar verify`.
#[test]
fn a_notary_root_made_on_softhsm2_and_a_virtual_yubikey_is_accepted_by_notary() {
    use x509_cert::der::{Decode, DecodePem};
    let _cards = crate::yubikey::fresh_cards();
    let (serial, _) = crate::yubikey::serials();
    let w = crate::hsm::HsmWs::new("notary-root");
    w.generate("hsm", "ecdsa-p256");
    let s = serial.to_string();
    w.ok(&[
        "key",
        "generate",
        "--backend",
        "yubikey",
        "--serial",
        &s,
        "--slot",
        "9c",
        "--name",
        "yk",
        "--default-management-key",
    ]);
    w.ok(&[
        "key",
        "generate",
        "--name",
        "online",
        "--algorithm",
        "ecdsa-p256",
    ]);
    let out = w.dir.path().join("../notary-root.json");
    let args = [
        "notary",
        "root",
        "--gun",
        GUN,
        "--root-key",
        "hsm",
        "--root-key",
        "yk",
        "--threshold",
        "2",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
        "--out",
        out.to_str().unwrap(),
    ];
    let r = w.ok(&[&args[..], &["--json"]].concat()).json();
    let ids: Vec<String> = r["result"]["root_keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{r}");

    // Notary's own code accepts it for this GUN only; rootcellar's verifier agrees.
    assert!(notary_says(GUN, &[&out]));
    assert!(!notary_says("docker.io/someone/else", &[&out]));
    let v = verify(std::slice::from_ref(&out), &["--gun", GUN, "--json"]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert_eq!(
        v.json()["result"]["chain"]["roots"][0]["by_self"]["met"],
        true
    );

    // The certificates: CN = GUN, KeyUsage digitalSignature (critical), EKU codeSigning,
    // CA:FALSE, ten years, the key the workspace recorded, signed by that key.
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for (id, name) in ids.iter().zip(["hsm", "yk"]) {
        let k = &doc["signed"]["keys"][id];
        assert_eq!(k["keytype"], "ecdsa-x509");
        let pem = B64.decode(k["keyval"]["public"].as_str().unwrap()).unwrap();
        let cert = x509_cert::Certificate::from_pem(&pem).unwrap();
        let tbs = cert.tbs_certificate();
        assert_eq!(tbs.subject().common_name().unwrap().unwrap().value(), GUN);
        assert_eq!(tbs.subject(), tbs.issuer());
        let exts = tbs.extensions().unwrap();
        let ext = |oid: &str| exts.iter().find(|e| e.extn_id.to_string() == oid).unwrap();
        assert!(ext("2.5.29.15").critical);
        let ku = x509_cert::ext::pkix::KeyUsage::from_der(ext("2.5.29.15").extn_value.as_bytes())
            .unwrap();
        assert!(ku.digital_signature() && !ku.key_cert_sign());
        let eku = x509_cert::ext::pkix::ExtendedKeyUsage::from_der(
            ext("2.5.29.37").extn_value.as_bytes(),
        )
        .unwrap();
        assert_eq!(eku.0[0].to_string(), "1.3.6.1.5.5.7.3.3");
        let bc = x509_cert::ext::pkix::BasicConstraints::from_der(
            ext("2.5.29.19").extn_value.as_bytes(),
        )
        .unwrap();
        assert!(!bc.ca);
        let v = tbs.validity();
        let years = (v.not_after.to_unix_duration() - v.not_before.to_unix_duration()).as_secs()
            / (365 * 86400);
        assert_eq!(years, 10);
        // The certificate carries the workspace's key for `name`.
        let rec = w.record(name);
        let key: rootcellar::tuf::Key = serde_json::from_value(rec["key"].clone()).unwrap();
        let rootcellar::tuf::PublicKey::EcdsaP256(vk) = key.decode().unwrap() else {
            panic!("not P-256")
        };
        use p256::pkcs8::EncodePublicKey;
        use x509_cert::der::Encode;
        assert_eq!(
            tbs.subject_public_key_info().to_der().unwrap(),
            vk.to_public_key_der().unwrap().as_bytes()
        );
        // And the key signed the certificate.
        use p256::ecdsa::signature::Verifier;
        let sig = p256::ecdsa::Signature::from_der(cert.signature().raw_bytes()).unwrap();
        vk.verify(&tbs.to_der().unwrap(), &sig).unwrap();
    }

    // An existing root is never overwritten; a threshold that cannot be met is refused.
    let before = std::fs::read(&out).unwrap();
    let r = w.run(&args);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("does not overwrite"), "{}", r.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let other = w.dir.path().join("../other.json");
    let mut bad = args.to_vec();
    bad[9] = "3";
    bad[17] = other.to_str().unwrap();
    let r = w.run(&bad);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!other.exists());
}

#[test]
fn a_notary_root_rotation_and_certificate_renewal_on_softhsm2_are_accepted_by_notary() {
    let w = crate::hsm::HsmWs::new("notary-rotation");
    w.generate("h1", "ecdsa-p256");
    w.generate("h2", "ecdsa-p256");
    w.ok(&[
        "key",
        "generate",
        "--name",
        "online",
        "--algorithm",
        "ecdsa-p256",
    ]);
    let v1 = w.dir.path().join("../v1.json");
    let v2 = w.dir.path().join("../v2.json");
    let v3 = w.dir.path().join("../v3.json");
    let root = |out: &PathBuf, keys: &[&str], threshold: &str, previous: Option<&PathBuf>| {
        let mut a: Vec<String> = ["notary", "root", "--gun", GUN, "--threshold", threshold]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for k in keys {
            a.extend(["--root-key".to_string(), k.to_string()]);
        }
        for r in ["--targets-key", "--snapshot-key", "--timestamp-key"] {
            a.extend([r.to_string(), "online".to_string()]);
        }
        a.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
        if let Some(p) = previous {
            a.extend(["--previous".to_string(), p.to_str().unwrap().to_string()]);
        }
        a.push("--json".into());
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        w.ok(&refs).json()["result"].clone()
    };
    let r1 = root(&v1, &["h1"], "1", None);
    assert_eq!(r1["version"], 1);
    // Version 2: h1's certificate renewed (same key, new certificate, new key ID) and h2 added;
    // signed by version 1's h1 and by both new keys.
    let r2 = root(&v2, &["h1", "h2"], "2", Some(&v1));
    assert_eq!(r2["version"], 2);
    assert_ne!(
        r1["root_keyids"][0], r2["root_keyids"][0],
        "a renewal gives a new key ID"
    );
    assert!(notary_says(GUN, &[&v1, &v2]), "Notary refuses the rotation");
    let v = verify(&[v1.clone(), v2.clone()], &["--gun", GUN, "--json"]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert_eq!(
        v.json()["result"]["chain"]["roots"][1]["by_previous"]["met"],
        true
    );
    // Version 3 replaces h1 by nothing: h2 alone; version 2 needs 2 of its keys, both here.
    let r3 = root(&v3, &["h2"], "1", Some(&v2));
    assert_eq!(r3["version"], 3);
    assert!(notary_says(GUN, &[&v2, &v3]));
    let v = verify(&[v1.clone(), v2.clone(), v3.clone()], &["--gun", GUN]);
    assert_eq!(v.code, 0, "{}", v.stdout);

    // A previous root whose keys this workspace does not hold: refused before any device work,
    // nothing written.
    let other = crate::hsm::HsmWs::new("notary-other");
    other.generate("x", "ecdsa-p256");
    other.ok(&[
        "key",
        "generate",
        "--name",
        "online",
        "--algorithm",
        "ecdsa-p256",
    ]);
    let v4 = w.dir.path().join("../v4.json");
    let r = other.run(&[
        "notary",
        "root",
        "--gun",
        GUN,
        "--root-key",
        "x",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
        "--previous",
        v3.to_str().unwrap(),
        "--out",
        v4.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("needs 1 signature(s) from its root keys"),
        "{}",
        r.stderr
    );
    assert!(!v4.exists());
}

/// A whole ceremony in a Notary workspace, root keys on SoftHSM2: version 1, a rotation that
/// adds a keyholder (the first key keeps its certificate and key ID), then the history imported
/// into a second workspace whose keys are registered from the token, and a renewal of every
/// certificate there. Notary's own `ValidateRoot` accepts each published version against the
/// one before.
#[test]
fn a_notary_workspace_ceremony_on_softhsm2_is_accepted_by_notary_then_imported_and_renewed() {
    let w =
        crate::hsm::HsmWs::with_init("notary-ws", &["init", "--format", "notary", "--gun", GUN]);
    w.generate("h1", "ecdsa-p256");
    w.generate("h2", "ecdsa-p256");
    w.ok(&[
        "key",
        "generate",
        "--name",
        "online",
        "--algorithm",
        "ecdsa-p256",
    ]);
    // A TUF 1.0 command with no Notary form refuses in a Notary workspace, and changes nothing.
    let tuf_history = data("tuf/chain");
    w.refused(
        &["adopt", tuf_history.to_str().unwrap()],
        1,
        "keeps Notary v1 metadata",
    );

    let json = |args: &[&str]| {
        let mut a = args.to_vec();
        a.push("--json");
        w.ok(&a).json()["result"].clone()
    };
    let s1 = json(&[
        "notary",
        "root",
        "--root-key",
        "h1",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
    ]);
    assert_eq!(s1["version"], 1);
    assert_eq!(s1["certificates_made"], json!(["h1"]));
    w.refused(&["publish"], 1, "not yet signed by h1");
    w.refused(
        &["sign", "--key", "h2"],
        1,
        "is not a root key of version 1",
    );
    w.refused(
        &["notary", "root", "--root-key", "h1"],
        1,
        "version 1 is staged already",
    );
    w.ok(&["sign", "--key", "h1"]);
    w.ok(&["publish"]);
    let meta = w.dir.path().join("metadata");
    assert!(notary_says(GUN, &[&meta.join("1.root.json")]));

    // Version 2 adds h2 with threshold 2; the online keys stay as published.
    let s2 = json(&[
        "notary",
        "root",
        "--root-key",
        "h1",
        "--root-key",
        "h2",
        "--threshold",
        "2",
    ]);
    assert_eq!(s2["version"], 2);
    assert_eq!(s2["certificates_kept"], json!(["h1"]));
    assert_eq!(s2["certificates_made"], json!(["h2"]));
    assert_eq!(s2["root_keyids"][0], s1["root_keyids"][0]);
    w.ok(&["sign", "--key", "h1"]);
    let st = json(&["status"]);
    assert_eq!(st["staged"]["by_previous"]["met"], true, "{st}");
    assert_eq!(st["staged"]["by_self"]["met"], false, "{st}");
    assert_eq!(st["staged"]["can_still_sign"], json!(["h2"]), "{st}");
    w.ok(&["sign", "--key", "h2"]);
    w.ok(&["publish"]);
    assert!(notary_says(
        GUN,
        &[&meta.join("1.root.json"), &meta.join("2.root.json")]
    ));
    let v1: Value =
        serde_json::from_slice(&std::fs::read(meta.join("1.root.json")).unwrap()).unwrap();
    let v2: Value =
        serde_json::from_slice(&std::fs::read(meta.join("2.root.json")).unwrap()).unwrap();
    assert_eq!(
        v1["signed"]["roles"]["targets"], v2["signed"]["roles"]["targets"],
        "the online keys stay"
    );

    // A second workspace takes the history over from a copy of the trust folder.
    let b = TestDir::new();
    let in_b = |args: &[&str]| w.run_in(b.path(), args);
    let ok_b = |args: &[&str]| w.ok_in(b.path(), args);
    ok_b(&[
        "init",
        "--format",
        "notary",
        "--gun",
        "docker.io/example/other",
    ]);
    let r = in_b(&["import", "notary", meta.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("is not signed by 2 of its own root keys for docker.io/example/other"),
        "{}",
        r.stderr
    );
    assert!(!b.path().join("metadata/2.root.json").exists());
    std::fs::remove_dir_all(b.path()).unwrap();
    ok_b(&["init", "--format", "notary", "--gun", GUN]);
    let imp =
        ok_b(&["import", "notary", meta.to_str().unwrap(), "--json"]).json()["result"].clone();
    assert_eq!(imp["version"], 2);
    assert_eq!(imp["root_keys"][0]["held_as"], Value::Null);
    assert!(
        imp["warnings"][0]
            .as_str()
            .unwrap()
            .contains("holds 0 of the 2 root keys"),
        "{imp}"
    );
    for k in ["h1", "h2"] {
        w.add_key_to(b.path(), k);
    }
    // Renewal: both certificates new (new key IDs); each key signs once, under both IDs.
    let s3 = json_of(&ok_b(&[
        "notary",
        "root",
        "--root-key",
        "h1",
        "--root-key",
        "h2",
        "--threshold",
        "2",
        "--renew",
        "--json",
    ]));
    assert_eq!(s3["version"], 3);
    assert_eq!(s3["certificates_made"], json!(["h1", "h2"]));
    assert_ne!(s3["root_keyids"][0], s2["root_keyids"][0]);
    ok_b(&["sign", "--key", "h1", "--key", "h2"]);
    let staged: Value =
        serde_json::from_slice(&std::fs::read(b.path().join("staged/root.json")).unwrap()).unwrap();
    assert_eq!(staged["signatures"].as_array().unwrap().len(), 4);
    ok_b(&["publish"]);
    let meta_b = b.path().join("metadata");
    assert!(notary_says(
        GUN,
        &[&meta_b.join("2.root.json"), &meta_b.join("3.root.json")]
    ));
    let v = verify(std::slice::from_ref(&meta_b), &["--gun", GUN, "--json"]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    let r = in_b(&["import", "notary", meta.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("already has a root history"),
        "{}",
        r.stderr
    );
}

fn json_of(r: &Run) -> Value {
    r.json()["result"].clone()
}

/// Notary's own fixture, imported: its root certificate expired in 2026, which is reported
/// (and is the reason for a ceremony), and its RSA delegation is listed.
#[test]
fn importing_notarys_fixture_reports_the_expired_certificate_and_the_delegation() {
    let w = crate::cli::Ws::with_init(&[
        "init",
        "--format",
        "notary",
        "--gun",
        "docker.com/notary0.3/tst",
    ]);
    let src = data("notary/notary0.3");
    let r = w.ok(&["import", "notary", src.to_str().unwrap(), "--json"]);
    let imp = json_of(&r);
    assert_eq!(imp["version"], 1, "{imp}");
    let warnings = imp["warnings"].to_string();
    assert!(warnings.contains("ended on 2026-07-25"), "{warnings}");
    assert_eq!(imp["delegations"][0]["role"], "targets/releases", "{imp}");
    assert_eq!(imp["delegations"][0]["keytypes"][0], "rsa-x509", "{imp}");
    assert_eq!(
        std::fs::read(w.path().join("metadata/1.root.json")).unwrap(),
        std::fs::read(src.join("root.json")).unwrap()
    );
    let st = json_of(&w.ok(&["status", "--json"]));
    assert!(
        st["warnings"][0]
            .as_str()
            .unwrap()
            .contains("ENDED on 2026-07-25"),
        "{st}"
    );
    // A changed byte in `signed`: refused, nothing imported.
    let w2 = crate::cli::Ws::with_init(&[
        "init",
        "--format",
        "notary",
        "--gun",
        "docker.com/notary0.3/tst",
    ]);
    let bad = TestDir::new();
    let text = std::fs::read_to_string(src.join("root.json")).unwrap();
    let changed = text.replacen("\"version\":1}", "\"version\":2}", 1);
    assert_ne!(text, changed);
    std::fs::write(bad.path().join("root.json"), changed).unwrap();
    w2.refused(
        &["import", "notary", bad.path().to_str().unwrap()],
        1,
        "is not signed by 1 of its own root keys",
    );
}

/// Notary's client-side reading of a trust folder (`notary-check --repo`): its verdict and
/// what it printed.
fn notary_repo_says(gun: &str, dir: &std::path::Path) -> (bool, String) {
    let prog = std::env::var_os("ROOTCELLAR_NOTARY_CHECK").expect(
        "ROOTCELLAR_NOTARY_CHECK is not set: run scripts/test, which builds notary-check from Notary's Go sources",
    );
    let out = std::process::Command::new(prog)
        .args(["--repo", gun])
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "notary-check failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code() == Some(0), stdout)
}

/// A Notary targets file for a delegated role, signed the way Docker's tagging client signs it
/// (raw r‖s over the canonical `signed`).
fn delegated_targets(key: &TestKey, keyid: &str, target: &str) -> Vec<u8> {
    let signed = json!({
        "_type": "Targets",
        "delegations": {"keys": {}, "roles": []},
        "expires": "2030-01-01T00:00:00Z",
        "targets": {target: {"hashes": {"sha256": B64.encode(Sha256::digest(b"image"))}, "length": 5}},
        "version": 1,
    });
    let Sk::P256(sk) = &key.sk else { panic!() };
    let sig: p256::ecdsa::Signature = sk.sign(&to_canonical(&signed).unwrap());
    serde_json::to_vec(&json!({
        "signed": signed,
        "signatures": [{"keyid": keyid, "method": "ecdsa", "sig": B64.encode(sig.to_bytes())}],
    }))
    .unwrap()
}

/// Tagging keys the Docker way in a Notary workspace: a key from `docker trust key generate`
/// (PEM with a `role:` header) delegated as `targets/releases` with a path prefix, written into
/// Notary targets metadata signed by the repository key. Notary's own client code (the
/// RepoBuilder) loads root, targets and a `targets/releases.json` signed by that key; it refuses
/// the tag outside the prefix. Rotation and removal of the tagging key, and an import that keeps
/// the targets metadata, follow.
#[test]
fn docker_style_delegations_in_a_notary_workspace_are_read_by_notarys_client_code() {
    let gun = "docker.io/example/tags";
    // A Notary workspace needs a GUN its certificates can carry; nothing is created without.
    let empty = TestWs::new(vec![], &[]);
    for bad in [
        &["init", "--format", "notary"][..],
        &["init", "--format", "notary", "--gun", "a,b"],
    ] {
        empty.refused(bad, 2, "needs the repository name (GUN)");
    }
    let w = crate::cli::Ws::with_init(&["init", "--format", "notary", "--gun", gun]);
    for (name, alg) in [("r1", "ecdsa-p256"), ("online", "ecdsa-p256")] {
        w.ok(&["key", "generate", "--name", name, "--algorithm", alg]);
    }
    w.ok(&[
        "notary",
        "root",
        "--root-key",
        "r1",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
    ]);
    w.ok(&["sign", "--key", "r1"]);
    w.ok(&["publish"]);
    let d = TestDir::new();
    let tagging = TestKey::ecdsa(61);
    let docker = tagging.key().keyval.public.replacen(
        "-----BEGIN PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nrole: releases\n\n",
        1,
    );
    let pem = d.path().join("releases.pub");
    std::fs::write(&pem, docker).unwrap();
    w.ok(&["key", "import", pem.to_str().unwrap(), "--name", "releases"]);
    let other = TestKey::ecdsa(62);
    let pem2 = d.path().join("ci.pub");
    std::fs::write(&pem2, other.key().keyval.public).unwrap();
    w.ok(&["key", "import", pem2.to_str().unwrap(), "--name", "ci"]);

    w.refused(
        &["delegate", "add", "releases", "--key", "releases"],
        2,
        "is not a Notary delegation name",
    );
    w.refused(
        &[
            "delegate",
            "add",
            "targets/releases",
            "--key",
            "releases",
            "--paths",
            "*",
        ],
        2,
        "paths are prefixes, not patterns",
    );
    w.refused(
        &[
            "delegate",
            "add",
            "targets/releases",
            "--key",
            "releases",
            "--sign-with",
            "r1",
        ],
        1,
        "is not a targets key of root version 1",
    );
    let r = w.ok(&[
        "delegate",
        "add",
        "targets/releases",
        "--key",
        "releases",
        "--paths",
        "library/",
        "--json",
    ]);
    let rep = r.json()["result"].clone();
    assert_eq!(rep["version"], 1, "{rep}");
    assert_eq!(rep["roles"][0]["keys"], json!(["releases"]), "{rep}");
    let meta = w.path().join("metadata");
    let t: Value =
        serde_json::from_slice(&std::fs::read(meta.join("targets.json")).unwrap()).unwrap();
    assert_eq!(t["signed"]["_type"], "Targets");
    let keyid = t["signed"]["delegations"]["roles"][0]["keyids"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        t["signed"]["delegations"]["keys"][&keyid]["keytype"],
        "ecdsa"
    );

    // Notary's client reads the folder, with a tag signed by the tagging key in its prefix.
    let (ok, out) = notary_repo_says(gun, &meta);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!(
            "delegation targets/releases 1 [\"library/\"] {keyid}"
        )),
        "{out}"
    );
    let repo = TestDir::new();
    for f in ["root.json", "targets.json"] {
        std::fs::copy(meta.join(f), repo.path().join(f)).unwrap();
    }
    std::fs::create_dir(repo.path().join("targets")).unwrap();
    std::fs::write(
        repo.path().join("targets/releases.json"),
        delegated_targets(&tagging, &keyid, "library/app"),
    )
    .unwrap();
    let (ok, out) = notary_repo_says(gun, repo.path());
    assert!(
        ok && out.contains("target library/app targets/releases"),
        "{out}"
    );
    let v = verify(&[repo.path().to_path_buf()], &["--gun", gun]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    // A tag outside the prefix: Notary loads the file but its lookup never finds the tag;
    // rootcellar refuses the file. Signed by another key: both refuse it.
    std::fs::write(
        repo.path().join("targets/releases.json"),
        delegated_targets(&tagging, &keyid, "other/app"),
    )
    .unwrap();
    let (ok, out) = notary_repo_says(gun, repo.path());
    assert!(ok && !out.contains("target other/app"), "{out}");
    let v = verify(&[repo.path().to_path_buf()], &["--gun", gun]);
    assert_eq!(v.code, 1, "{}", v.stdout);
    std::fs::write(
        repo.path().join("targets/releases.json"),
        delegated_targets(&other, &keyid, "library/app"),
    )
    .unwrap();
    let (ok, out) = notary_repo_says(gun, repo.path());
    assert!(!ok, "{out}");
    let v = verify(&[repo.path().to_path_buf()], &["--gun", gun]);
    assert_eq!(v.code, 1, "{}", v.stdout);

    // An import keeps the targets metadata, so delegations go on from its version.
    let w2 = crate::cli::Ws::with_init(&["init", "--format", "notary", "--gun", gun]);
    w2.ok(&["import", "notary", meta.to_str().unwrap()]);
    assert_eq!(
        std::fs::read(w2.path().join("metadata/1.targets.json")).unwrap(),
        std::fs::read(meta.join("targets.json")).unwrap()
    );
    let l = w2.ok(&["delegate", "list", "--json"]).json()["result"].clone();
    assert_eq!(l[0]["name"], "targets/releases", "{l}");

    // Rotation to the CI key, then removal: each a new version Notary accepts.
    let r = w.ok(&[
        "delegate",
        "rotate",
        "targets/releases",
        "--old",
        "releases",
        "--new",
        "ci",
        "--json",
    ]);
    assert_eq!(r.json()["result"]["version"], 2);
    assert_eq!(r.json()["result"]["roles"][0]["keys"], json!(["ci"]));
    let (ok, out) = notary_repo_says(gun, &meta);
    assert!(ok && !out.contains(&keyid), "{out}");
    let r = w.ok(&["delegate", "remove", "targets/releases", "--json"]);
    assert_eq!(r.json()["result"]["version"], 3);
    let (ok, out) = notary_repo_says(gun, &meta);
    assert!(ok && !out.contains("delegation "), "{out}");
}

/// The reference hand-over check (scripts/check_handover.py: Python's `cryptography` and
/// python-tuf, not rootcellar's code): accepted or not, and what it printed.
fn python_says_handover(statement: &Path, notary: &Path, tuf: &Path) -> (bool, String) {
    let py = std::env::var_os("ROOTCELLAR_TEST_PYTHON")
        .expect("ROOTCELLAR_TEST_PYTHON is not set: run scripts/test, which installs python-tuf");
    let out = std::process::Command::new(py)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_handover.py"))
        .args([statement, notary, tuf])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "check_handover.py failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code() == Some(0), stdout)
}

/// Leaving Docker Content Trust with the same hardware keys: the root keys of a Notary
/// repository (on SoftHSM2) become the root keys of a new TUF 1.0 root in a second workspace,
/// and the keyholders, signing apart, make a hand-over statement with the Notary root's keys
/// that names the new TUF root. rootcellar and an independent Python check accept it; a changed
/// TUF root, or too few signatures, they refuse.
#[test]
fn a_dct_repository_hands_over_to_a_tuf_root_made_with_the_same_hardware_keys() {
    let w = crate::hsm::HsmWs::with_init("handover", &["init", "--format", "notary", "--gun", GUN]);
    w.generate("h1", "ecdsa-p256");
    w.generate("h2", "ecdsa-p256");
    w.ok(&[
        "key",
        "generate",
        "--name",
        "online",
        "--algorithm",
        "ecdsa-p256",
    ]);
    w.ok(&[
        "notary",
        "root",
        "--root-key",
        "h1",
        "--root-key",
        "h2",
        "--threshold",
        "2",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
    ]);
    w.ok(&["sign", "--key", "h1", "--key", "h2"]);
    w.ok(&["publish"]);
    let notary_root = w.dir.path().join("metadata/1.root.json");

    // The TUF workspace registers the same token keys.
    let t = TestDir::new();
    let in_t = |args: &[&str]| w.ok_in(t.path(), args);
    in_t(&["init", "--name", GUN]);
    for k in ["h1", "h2"] {
        w.add_key_to(t.path(), k);
    }
    for k in ["targets", "snapshot", "timestamp"] {
        in_t(&["key", "generate", "--name", k, "--algorithm", "ed25519"]);
    }
    in_t(&[
        "root",
        "new",
        "--root-key",
        "h1",
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
    in_t(&["sign", "--key", "h1", "--key", "h2"]);
    in_t(&["publish"]);
    let tuf_root = t.path().join("metadata/1.root.json");

    // The keyholders sign apart.
    let d = TestDir::new();
    let statement = d.path().join("handover.json");
    w.refused(
        &[
            "notary",
            "handover",
            "--tuf-root",
            tuf_root.to_str().unwrap(),
            "--out",
            statement.to_str().unwrap(),
            "--key",
            "online",
        ],
        1,
        "is not a root key of Notary root version 1",
    );
    let r = w.ok(&[
        "notary",
        "handover",
        "--tuf-root",
        tuf_root.to_str().unwrap(),
        "--out",
        statement.to_str().unwrap(),
        "--key",
        "h1",
        "--json",
    ]);
    assert_eq!(r.json()["result"]["check"]["signatures"]["met"], false);
    let check = |stmt: &Path, tuf: &Path| {
        let r = run({
            let mut c = rootcellar();
            c.args(["notary", "check-handover"])
                .arg(stmt)
                .arg("--notary-root")
                .arg(&notary_root)
                .arg("--tuf-root")
                .arg(tuf);
            c
        });
        (r.code, r.stdout)
    };
    assert_eq!(check(&statement, &tuf_root).0, 1);
    assert!(!python_says_handover(&statement, &notary_root, &tuf_root).0);
    let r = w.ok(&[
        "notary",
        "handover",
        "--tuf-root",
        tuf_root.to_str().unwrap(),
        "--add-to",
        statement.to_str().unwrap(),
        "--key",
        "h2",
        "--json",
    ]);
    assert_eq!(r.json()["result"]["check"]["valid"], true, "{}", r.stdout);
    let (code, out) = check(&statement, &tuf_root);
    assert_eq!(code, 0, "{out}");
    let (ok, out) = python_says_handover(&statement, &notary_root, &tuf_root);
    assert!(ok, "{out}");

    // A TUF root that is not the one named: both refuse.
    let other = d.path().join("other.json");
    let mut bytes = std::fs::read(&tuf_root).unwrap();
    let last = bytes.len() - 1;
    bytes.insert(last, b' ');
    std::fs::write(&other, &bytes).unwrap();
    assert_eq!(check(&statement, &other).0, 1);
    let (ok, out) = python_says_handover(&statement, &notary_root, &other);
    assert!(
        !ok && out.contains("not the one the statement names"),
        "{out}"
    );
    // A changed statement: both refuse.
    let mut v: Value = serde_json::from_slice(&std::fs::read(&statement).unwrap()).unwrap();
    v["signed"]["expires"] = json!("2099-01-01T00:00:00Z");
    let changed = d.path().join("changed.json");
    std::fs::write(&changed, serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(check(&changed, &tuf_root).0, 1);
    assert!(!python_says_handover(&changed, &notary_root, &tuf_root).0);
}

/// Keyholders who are not in the room, in a Notary workspace: version 2 replaces b by c; b
/// signs the request bundle on another machine (another workspace holding only b), and as a
/// detached signature too; `merge` brings both back; what is merged verifies as Notary checks a
/// rotation. A request signed from other bytes, and a signature by a key outside both roots,
/// are refused and change nothing.
#[test]
fn notary_keyholders_sign_apart_and_merge() {
    let gun = "docker.io/example/apart";
    let a = crate::cli::Ws::with_init(&["init", "--format", "notary", "--gun", gun]);
    for k in ["a", "c", "online"] {
        a.ok(&["key", "generate", "--name", k, "--algorithm", "ecdsa-p256"]);
    }
    // b's key lives on b's own machine (a workspace of any format holding only b): the
    // ceremony takes its certificate.
    let d = TestDir::new();
    let b = crate::cli::Ws::new();
    b.ok(&[
        "key",
        "generate",
        "--name",
        "b",
        "--algorithm",
        "ecdsa-p256",
    ]);
    let bcrt = d.path().join("b.crt");
    b.ok(&[
        "notary",
        "certificate",
        "--key",
        "b",
        "--gun",
        gun,
        "--out",
        bcrt.to_str().unwrap(),
    ]);
    a.ok(&["key", "import", bcrt.to_str().unwrap(), "--name", "b"]);
    a.ok(&[
        "notary",
        "root",
        "--root-key",
        "a",
        "--root-key",
        "b",
        "--threshold",
        "2",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
    ]);
    a.ok(&["sign", "--key", "a"]);
    let req1 = d.path().join("request-1.json");
    a.ok(&["request", "export", "--out", req1.to_str().unwrap()]);
    b.ok(&["sign", "--file", req1.to_str().unwrap(), "--key", "b"]);
    a.ok(&["merge", req1.to_str().unwrap()]);
    let v1_digest = json_of(&a.ok(&["publish", "--json"]))["digest"]
        .as_str()
        .unwrap()
        .to_string();
    a.ok(&[
        "notary",
        "root",
        "--root-key",
        "a",
        "--root-key",
        "c",
        "--threshold",
        "2",
    ]);
    a.ok(&["sign", "--key", "a", "--key", "c"]);
    let st = json_of(&a.ok(&["status", "--json"]));
    assert_eq!(st["staged"]["by_previous"]["met"], false, "{st}");
    assert_eq!(st["staged"]["can_still_sign"], json!(["b"]), "{st}");

    let req = d.path().join("request.json");
    a.ok(&["request", "export", "--out", req.to_str().unwrap()]);
    // b's workspace has not published version 1: it takes the bundle's only with its digest.
    b.refused(
        &["sign", "--file", req.to_str().unwrap(), "--key", "b"],
        1,
        "UNVERIFIED",
    );
    let r = b.ok(&[
        "sign",
        "--file",
        req.to_str().unwrap(),
        "--key",
        "b",
        "--trust-root-digest",
        &v1_digest,
        "--json",
    ]);
    assert_eq!(json_of(&r)["signed_by"], json!(["b"]));
    // The keyholder sees what the request changes before signing.
    let shown = json_of(&b.ok(&[
        "request",
        "show",
        req.to_str().unwrap(),
        "--trust-root-digest",
        &v1_digest,
        "--json",
    ]));
    assert_eq!(shown["to_version"], 2, "{shown}");
    assert_eq!(shown["roles"][0]["removed"], json!(["b"]), "{shown}");
    let det = d.path().join("b.sig.json");
    b.ok(&[
        "sign",
        "--file",
        req.to_str().unwrap(),
        "--key",
        "b",
        "--trust-root-digest",
        &v1_digest,
        "--detached",
        det.to_str().unwrap(),
    ]);
    let dv: Value = serde_json::from_slice(&std::fs::read(&det).unwrap()).unwrap();
    assert_eq!(dv["method"], "ecdsa", "{dv}");

    // A TUF workspace refuses the Notary detached signature; a Notary merge refuses a request
    // of other bytes, and a signature by a key of neither root.
    let tuf = crate::cli::Ws::new();
    tuf.refused(
        &["merge", det.to_str().unwrap()],
        2,
        "is a Notary detached signature",
    );
    let mut other: Value = serde_json::from_slice(&std::fs::read(&req).unwrap()).unwrap();
    other["request"]["signed"]["expires"] = json!("2030-01-01T00:00:00Z");
    let other_path = d.path().join("other.json");
    std::fs::write(&other_path, serde_json::to_vec(&other).unwrap()).unwrap();
    a.refused(
        &["merge", other_path.to_str().unwrap()],
        1,
        "carries other signed bytes",
    );
    let mut stranger: Value = serde_json::from_slice(&std::fs::read(&req).unwrap()).unwrap();
    let sigs = stranger["request"]["signatures"].as_array_mut().unwrap();
    let mut s = sigs[0].clone();
    s["keyid"] = json!("00".repeat(32));
    sigs.push(s);
    let stranger_path = d.path().join("stranger.json");
    std::fs::write(&stranger_path, serde_json::to_vec(&stranger).unwrap()).unwrap();
    a.refused(
        &["merge", stranger_path.to_str().unwrap()],
        1,
        "which is not a root key of version 2 or of the version before",
    );

    let m = json_of(&a.ok(&[
        "merge",
        req.to_str().unwrap(),
        det.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(m["added"], json!(["b"]), "{m}");
    assert_eq!(m["already"], json!(["a", "c"]), "{m}");
    assert_eq!(m["status"]["publishable"], true, "{m}");
    let v2_digest = json_of(&a.ok(&["publish", "--json"]))["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let meta = a.path().join("metadata");
    assert!(notary_says(
        gun,
        &[&meta.join("1.root.json"), &meta.join("2.root.json")]
    ));

    // Version 3 adds d, a key that never comes to the ceremony: its keyholder makes the
    // certificate on their own machine, the ceremony imports it.
    b.ok(&[
        "key",
        "generate",
        "--name",
        "d",
        "--algorithm",
        "ecdsa-p256",
    ]);
    let crt = d.path().join("d.crt");
    b.ok(&[
        "notary",
        "certificate",
        "--key",
        "d",
        "--gun",
        gun,
        "--out",
        crt.to_str().unwrap(),
    ]);
    let wrong = d.path().join("d-other.crt");
    b.ok(&[
        "notary",
        "certificate",
        "--key",
        "d",
        "--gun",
        "docker.io/example/other",
        "--out",
        wrong.to_str().unwrap(),
    ]);
    let dpub: Value =
        serde_json::from_slice(&std::fs::read(b.path().join("keys/d.json")).unwrap()).unwrap();
    let plain = d.path().join("d.pub.json");
    std::fs::write(&plain, serde_json::to_vec(&dpub["key"]).unwrap()).unwrap();
    a.ok(&[
        "key",
        "import",
        plain.to_str().unwrap(),
        "--name",
        "d-plain",
    ]);
    a.refused(
        &[
            "notary",
            "root",
            "--root-key",
            "a",
            "--root-key",
            "d-plain",
            "--threshold",
            "2",
        ],
        1,
        "has no private half here and no certificate",
    );
    std::fs::remove_file(a.path().join("keys/d-plain.json")).unwrap();
    a.ok(&[
        "key",
        "import",
        wrong.to_str().unwrap(),
        "--name",
        "d-wrong",
    ]);
    a.refused(
        &[
            "notary",
            "root",
            "--root-key",
            "a",
            "--root-key",
            "d-wrong",
            "--threshold",
            "2",
        ],
        1,
        "names \"docker.io/example/other\"",
    );
    std::fs::remove_file(a.path().join("keys/d-wrong.json")).unwrap();
    a.ok(&["key", "import", crt.to_str().unwrap(), "--name", "d"]);
    let s3 = json_of(&a.ok(&[
        "notary",
        "root",
        "--root-key",
        "a",
        "--root-key",
        "d",
        "--threshold",
        "2",
        "--json",
    ]));
    assert_eq!(s3["certificates_brought"], json!(["d"]), "{s3}");
    a.ok(&["sign", "--key", "a", "--key", "c"]);
    let det = d.path().join("d.sig.json");
    let req3 = d.path().join("request3.json");
    a.ok(&["request", "export", "--out", req3.to_str().unwrap()]);
    b.ok(&[
        "sign",
        "--file",
        req3.to_str().unwrap(),
        "--key",
        "d",
        "--trust-root-digest",
        &v2_digest,
        "--detached",
        det.to_str().unwrap(),
    ]);
    a.ok(&["merge", det.to_str().unwrap()]);
    let p3 = json_of(&a.ok(&["publish", "--json"]));
    assert_eq!(p3["sealed_by"], "a", "{p3}");
    assert!(notary_says(
        gun,
        &[&meta.join("2.root.json"), &meta.join("3.root.json")]
    ));

    // Every publish sealed the transcript with a root key of that version (by its Notary key
    // ID); the seals verify, and the printed record lists the roots.
    let av = json_of(&a.ok(&["audit", "verify", "--json"]));
    let seals = av["seals"].as_array().unwrap();
    assert_eq!(seals.len(), 3, "{av}");
    assert!(seals.iter().all(|s| s["problem"].is_null()), "{av}");
    assert_eq!(seals[2]["keyid"], s3["root_keyids"][0], "{av}");
    let record = d.path().join("record.html");
    a.ok(&["audit", "print", "--out", record.to_str().unwrap()]);
    let html = std::fs::read_to_string(&record).unwrap();
    assert!(html.contains("<tr><td>3</td>"), "{html}");
    // A renewal with d still elsewhere: refused until its keyholder brings a new certificate,
    // which replaces the one in d's record; then d signs apart once more.
    a.refused(
        &["refresh"],
        1,
        "a renewal needs a new one from its keyholder",
    );
    let crt2 = d.path().join("d2.crt");
    b.ok(&[
        "notary",
        "certificate",
        "--key",
        "d",
        "--gun",
        gun,
        "--out",
        crt2.to_str().unwrap(),
    ]);
    a.ok(&["key", "import", crt2.to_str().unwrap(), "--name", "d"]);
    let s4 = json_of(&a.ok(&["refresh", "--json"]));
    assert_eq!(s4["certificates_brought"], json!(["d"]), "{s4}");
    assert_eq!(s4["certificates_made"], json!(["a"]), "{s4}");
    a.ok(&["sign", "--key", "a"]);
    let req4 = d.path().join("request4.json");
    a.ok(&["request", "export", "--out", req4.to_str().unwrap()]);
    let v3_digest = p3["digest"].as_str().unwrap();
    b.ok(&[
        "sign",
        "--file",
        req4.to_str().unwrap(),
        "--key",
        "d",
        "--trust-root-digest",
        v3_digest,
    ]);
    let m4 = json_of(&a.ok(&["merge", req4.to_str().unwrap(), "--json"]));
    assert_eq!(m4["added"], json!(["d"]), "{m4}");
    a.ok(&["publish"]);
    assert!(notary_says(
        gun,
        &[&meta.join("3.root.json"), &meta.join("4.root.json")]
    ));
    // The last seal changed to name the other root key of version 4: audit verify refuses.
    let log = std::fs::read_to_string(a.path().join("audit.log")).unwrap();
    let (head, last) = log.trim_end().rsplit_once('\n').unwrap();
    let a_id = s4["root_keyids"][0].as_str().unwrap();
    let d_id = s4["root_keyids"][1].as_str().unwrap();
    assert!(
        last.contains("\"action\":\"seal\"") && last.contains(a_id),
        "{last}"
    );
    std::fs::write(
        a.path().join("audit.log"),
        format!("{head}\n{}\n", last.replace(a_id, d_id)),
    )
    .unwrap();
    let r = a.run(&["audit", "verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("does not hold"), "{}", r.stderr);
}

/// `rotate`, `revoke` and `refresh` in a Notary workspace stage what `notary root` would: a
/// replaced root key (the others keep their certificates), a replaced online key, and new
/// certificates for every root key (one made earlier with `notary certificate` is used, the
/// other made on its device). Each published version is accepted by Notary against the one
/// before; what cannot be done is refused and changes nothing.
#[test]
fn rotate_revoke_and_refresh_in_a_notary_workspace() {
    let gun = "docker.io/example/routine";
    let w = crate::cli::Ws::with_init(&["init", "--format", "notary", "--gun", gun]);
    for k in ["r1", "r2", "r3", "online", "online2"] {
        w.ok(&["key", "generate", "--name", k, "--algorithm", "ecdsa-p256"]);
    }
    w.ok(&[
        "notary",
        "root",
        "--root-key",
        "r1",
        "--root-key",
        "r2",
        "--threshold",
        "2",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
    ]);
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    w.ok(&["publish"]);
    let meta = w.path().join("metadata");
    let accepted = |v: u64| {
        assert!(notary_says(
            gun,
            &[
                &meta.join(format!("{}.root.json", v - 1)),
                &meta.join(format!("{v}.root.json"))
            ]
        ))
    };
    w.refused(&["revoke", "r3"], 1, "is not a root key of version 1");
    w.refused(
        &["revoke", "r2"],
        1,
        "would have 1 key(s) for a threshold of 2",
    );
    let v = json_of(&w.ok(&["root", "show", "--json"]));
    assert_eq!(v["source"], "published", "{v}");
    assert_eq!(v["spec_version"], "Notary v1 / DCT", "{v}");
    assert_eq!(v["roles"][0]["keys"], json!(["r1", "r2"]), "{v}");
    assert!(
        v["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["valid"] == true),
        "{v}"
    );
    w.refused(
        &["key", "destroy", "r2", "--confirm", "r2"],
        1,
        "is a key of the published root version 1",
    );

    let s2 = json_of(&w.ok(&["rotate", "root", "--old", "r2", "--new", "r3", "--json"]));
    assert_eq!(s2["version"], 2);
    assert_eq!(s2["certificates_kept"], json!(["r1"]), "{s2}");
    assert_eq!(s2["certificates_made"], json!(["r3"]), "{s2}");
    let d = json_of(&w.ok(&["root", "show", "--diff", "--json"]));
    assert_eq!(d["keys_added"][0]["name"], "r3", "{d}");
    assert_eq!(d["keys_removed"][0]["name"], "r2", "{d}");
    assert_eq!(d["roles"][0]["added"], json!(["r3"]), "{d}");
    assert!(d.get("renewed").is_none(), "{d}");
    w.ok(&["sign", "--key", "r1", "--key", "r2", "--key", "r3"]);
    w.ok(&["publish"]);
    accepted(2);
    // r2 has left the root: its private half can go; the drill finds the root keys by itself.
    w.ok(&["key", "destroy", "r2", "--confirm", "r2"]);
    let drill = json_of(&w.ok(&["drill", "--json"]));
    let names: Vec<&str> = drill
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["r1", "r3"], "{drill}");

    let before: Value =
        serde_json::from_slice(&std::fs::read(meta.join("2.root.json")).unwrap()).unwrap();
    w.ok(&["rotate", "targets", "--old", "online", "--new", "online2"]);
    w.ok(&["sign", "--key", "r1", "--key", "r3"]);
    w.ok(&["publish"]);
    accepted(3);
    let after: Value =
        serde_json::from_slice(&std::fs::read(meta.join("3.root.json")).unwrap()).unwrap();
    assert_ne!(
        before["signed"]["roles"]["targets"],
        after["signed"]["roles"]["targets"]
    );
    assert_eq!(
        before["signed"]["roles"]["snapshot"],
        after["signed"]["roles"]["snapshot"]
    );
    assert_eq!(
        before["signed"]["roles"]["root"],
        after["signed"]["roles"]["root"]
    );

    // r1's next certificate made beforehand (kept in its record); refresh renews both.
    w.refused(
        &["refresh", "--expires", "1y"],
        2,
        "expires with its first root certificate",
    );
    let c = json_of(&w.ok(&["notary", "certificate", "--key", "r1", "--json"]));
    assert!(w.path().join("keys/r1.json").exists());
    let rec: Value =
        serde_json::from_slice(&std::fs::read(w.path().join("keys/r1.json")).unwrap()).unwrap();
    assert!(
        rec["certificate"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let s4 = json_of(&w.ok(&["refresh", "--json"]));
    assert_eq!(s4["version"], 4);
    assert_eq!(s4["certificates_brought"], json!(["r1"]), "{s4}");
    assert_eq!(s4["certificates_made"], json!(["r3"]), "{s4}");
    assert_eq!(s4["root_keyids"][0], c["keyid"], "{s4}");
    let old_ids = &after["signed"]["roles"]["root"]["keyids"];
    assert!(!old_ids.as_array().unwrap().contains(&s4["root_keyids"][1]));
    let d = json_of(&w.ok(&["root", "show", "--diff", "--json"]));
    assert_eq!(d["renewed"], json!(["r1", "r3"]), "{d}");
    assert!(d["keys_added"].as_array().unwrap().is_empty(), "{d}");
    w.ok(&["sign", "--key", "r1", "--key", "r3"]);
    w.ok(&["publish"]);
    accepted(4);

    // `root new` and `root edit` speak Notary too.
    w.refused(
        &[
            "root",
            "new",
            "--root-key",
            "r1",
            "--threshold",
            "1",
            "--targets-key",
            "online",
            "--snapshot-key",
            "online",
            "--timestamp-key",
            "online",
        ],
        1,
        "version 1 is published already",
    );
    w.ok(&[
        "key",
        "generate",
        "--name",
        "r4",
        "--algorithm",
        "ecdsa-p256",
    ]);
    w.refused(
        &["root", "edit", "--expires", "1y"],
        2,
        "expires with its first root certificate",
    );
    w.refused(
        &["root", "edit", "--add-key", "targets:r4"],
        2,
        "keeps one key: replace it",
    );
    let v5 = json_of(&w.ok(&[
        "root",
        "edit",
        "--add-key",
        "root:r4",
        "--threshold",
        "root:3",
        "--json",
    ]));
    assert_eq!(v5["version"], 5, "{v5}");
    assert_eq!(v5["roles"][0]["threshold"], 3, "{v5}");
    assert_eq!(v5["roles"][0]["keys"], json!(["r1", "r3", "r4"]), "{v5}");
    w.ok(&["sign", "--key", "r1", "--key", "r3", "--key", "r4"]);
    w.ok(&["publish"]);
    accepted(5);

    // Version 5 leaves as QR frames; a workspace that took over version 4 reads it back in.
    let d = TestDir::new();
    let frames = d.path().join("frames.txt");
    w.ok(&["export", "--qr", "--text", frames.to_str().unwrap()]);
    let v4 = d.path().join("v4");
    std::fs::create_dir(&v4).unwrap();
    std::fs::copy(meta.join("4.root.json"), v4.join("root.json")).unwrap();
    let w2 = crate::cli::Ws::with_init(&["init", "--format", "notary", "--gun", gun]);
    w2.ok(&["import", "notary", v4.to_str().unwrap()]);
    let r = json_of(&w2.ok(&["import", "qr", frames.to_str().unwrap(), "--json"]));
    assert_eq!(r["version"], 5, "{r}");
    assert_eq!(
        std::fs::read(w2.path().join("metadata/5.root.json")).unwrap(),
        std::fs::read(meta.join("5.root.json")).unwrap()
    );
    let tuf = crate::cli::Ws::new();
    tuf.refused(
        &["import", "qr", frames.to_str().unwrap()],
        1,
        "the frames carry Notary v1 metadata",
    );
}

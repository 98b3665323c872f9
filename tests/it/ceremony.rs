//! Ceremony verbs and signing apart: rotate, revoke, refresh, diff, status, drill, three laptops
//! signing one request, merge and its refusals.

use crate::hsm::HsmWs;
use crate::support::*;
use std::path::Path;

fn online(w: &HsmWs) {
    let t = TestKey::ed25519(70).key();
    let f = write(
        w.dir.path(),
        "../t.json",
        serde_json::to_string(&t).unwrap().as_bytes(),
    );
    w.ok(&["key", "import", f.to_str().unwrap(), "--name", "t"]);
}

fn v1(w: &HsmWs, keys: &[&str], threshold: &str, extra: &[&str]) {
    let mut args = vec!["root", "new"];
    for k in keys {
        args.extend(["--root-key", k]);
    }
    args.extend([
        "--threshold",
        threshold,
        "--targets-key",
        "t",
        "--snapshot-key",
        "t",
        "--timestamp-key",
        "t",
    ]);
    args.extend(extra);
    w.ok(&args);
}

#[test]
fn rotate_revoke_refresh_with_diff_status_and_refusals() {
    let w = HsmWs::new("verbs");
    for k in ["a", "b", "c", "d"] {
        w.ok(&["key", "generate", "--name", k, "--algorithm", "ed25519"]);
    }
    online(&w);
    w.refused(
        &["rotate", "root", "--old", "a", "--new", "d"],
        1,
        "no root is published yet",
    );
    v1(&w, &["a", "b", "c"], "3", &["--expires", "30d"]);
    let d = w.ok(&["root", "show", "--diff"]);
    assert!(
        d.stdout.contains("Root version 1 (the first)") && d.stdout.contains("+ key a"),
        "{}",
        d.stdout
    );
    w.ok(&["sign", "--key", "a", "--key", "b", "--key", "c"]);
    w.ok(&["publish"]);
    // Expires within the 60-day warning window.
    let st = w.ok(&["status", "--json"]).json();
    assert!(
        st["result"]["warnings"][0]
            .as_str()
            .unwrap()
            .contains("expires on"),
        "{st}"
    );
    assert_eq!(st["result"]["published"]["version"], 1);
    assert!(
        w.ok(&["root", "show"])
            .stderr
            .contains("plan a refresh ceremony")
    );

    // Revoking one of three keys at threshold 3 would break the threshold.
    let r = w.refused(
        &["revoke", "c", "--reason", "lost"],
        1,
        "revoking c refused: the root role would have 2 key(s) for a threshold of 3",
    );
    assert!(r.stderr.contains("rotate"), "{}", r.stderr);
    // An expiry in the past.
    w.refused(
        &["refresh", "--expires", "2020-01-01"],
        2,
        "is not in the future",
    );

    // Rotation: same place, another key; the diff says so in words.
    w.ok(&["rotate", "root", "--old", "c", "--new", "d"]);
    let d = w.ok(&["root", "show", "--diff", "--json"]).json();
    let r = &d["result"];
    assert_eq!(r["from_version"], 1);
    assert_eq!(r["keys_added"][0]["name"], "d");
    assert_eq!(r["keys_removed"][0]["name"], "c");
    assert_eq!(r["roles"][0]["added"][0], "d");
    assert_eq!(r["roles"][0]["removed"][0], "c");
    assert_eq!(r["read_aloud"].as_str().unwrap().len(), 19);
    // Status: version 1's keys a, b, c and version 2's a, b, d are still needed.
    let st = w.ok(&["status", "--json"]).json();
    let still: Vec<&str> = st["result"]["staged"]["can_still_sign"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for k in ["a", "b", "c", "d"] {
        assert!(still.contains(&k), "{k} missing from {still:?}");
    }
    w.ok(&[
        "sign", "--key", "a", "--key", "b", "--key", "c", "--key", "d",
    ]);
    w.ok(&["publish"]);
    // Refresh: same keys, new expiry.
    w.ok(&["refresh", "--expires", "400d"]);
    let d = w.ok(&["root", "show", "--diff"]);
    assert!(
        d.stdout.contains("keys and thresholds unchanged") && d.stdout.contains("expiry:"),
        "{}",
        d.stdout
    );
    w.ok(&["sign", "--key", "a", "--key", "b", "--key", "d"]);
    w.ok(&["publish"]);
    // Revoke with the threshold lowered first, in the same ceremony.
    w.ok(&["root", "edit", "--threshold", "root:2"]);
    w.ok(&["revoke", "d", "--reason", "laptop stolen"]);
    let shown = w.ok(&["root", "show", "--json"]).json();
    assert!(
        !shown["result"]["roles"][0]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == "d")
    );
    w.ok(&["sign", "--key", "a", "--key", "b", "--key", "d"]);
    w.ok(&["publish"]);
    assert_eq!(verify(&[w.dir.path().join("metadata")], &[]).code, 0);
}

#[test]
fn the_key_drill_signs_a_challenge_with_every_root_key_and_reports_failures() {
    let w = HsmWs::new("drill");
    w.ok(&["key", "generate", "--name", "a"]);
    w.generate("h", "ed25519");
    online(&w);
    v1(&w, &["a", "h"], "2", &[]);
    let r = w.ok(&["drill", "--json"]).json();
    let all: Vec<(&str, bool)> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["ok"].as_bool().unwrap()))
        .collect();
    assert_eq!(all, vec![("a", true), ("h", true)]);
    // A key whose device is gone is found now, not at the next expiry.
    let mut c = w.cmd(&["drill"]);
    c.env("ROOTCELLAR_PIN", "999999");
    let r = run(c);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("a: OK") && r.stdout.contains("h: FAILED: wrong PIN"),
        "{}",
        r.stdout
    );
    assert!(!w.dir.path().join("metadata/1.root.json").exists());
}

fn laptop(name: &str, key: &str) -> HsmWs {
    let w = HsmWs::new(name);
    w.ok(&[
        "key",
        "generate",
        "--name",
        key,
        "--algorithm",
        "ecdsa-p256",
    ]);
    w
}

fn public_of(w: &HsmWs, key: &str, to: &Path) -> std::path::PathBuf {
    let k = w.record(key)["key"].clone();
    write(to, &format!("{key}.pub.json"), k.to_string().as_bytes())
}

#[test]
fn three_laptops_sign_one_request_apart_and_merge() {
    let (la, lb, lc) = (
        laptop("la", "alice"),
        laptop("lb", "bob"),
        laptop("lc", "carol"),
    );
    let hq = HsmWs::new("hq");
    let xfer = tempfile::tempdir().unwrap();
    for (w, k) in [(&la, "alice"), (&lb, "bob"), (&lc, "carol")] {
        let f = public_of(w, k, xfer.path());
        hq.ok(&["key", "import", f.to_str().unwrap(), "--name", k]);
    }
    online(&hq);
    v1(&hq, &["alice", "bob", "carol"], "2", &[]);
    let request = hq.dir.path().join("staged/root.json");
    // Each laptop signs its own copy of the request.
    let ra = xfer.path().join("request-a.json");
    let rb = xfer.path().join("request-b.json");
    std::fs::copy(&request, &ra).unwrap();
    std::fs::copy(&request, &rb).unwrap();
    la.ok(&["sign", "--file", ra.to_str().unwrap(), "--key", "alice"]);
    lb.ok(&["sign", "--file", rb.to_str().unwrap(), "--key", "bob"]);
    let sig_c = xfer.path().join("carol.sig.json");
    lc.ok(&[
        "sign",
        "--file",
        request.to_str().unwrap(),
        "--key",
        "carol",
        "--detached",
        sig_c.to_str().unwrap(),
    ]);
    let det: serde_json::Value = serde_json::from_slice(&std::fs::read(&sig_c).unwrap()).unwrap();
    assert_eq!(det["signed_sha256"].as_str().unwrap().len(), 64);
    // The laptop wrote the detached signature only: the request is untouched.
    assert_eq!(
        std::fs::read(&request).unwrap(),
        std::fs::read(hq.dir.path().join("staged/root.json")).unwrap()
    );
    // A key that is not in the request's root role is refused on the laptop.
    la.ok(&["key", "generate", "--name", "stranger"]);
    let mut c = la.cmd(&["sign", "--file", ra.to_str().unwrap(), "--key", "stranger"]);
    c.env("ROOTCELLAR_PASSPHRASE", "software passphrase");
    let r = run(c);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("is not a root key of the request"),
        "{}",
        r.stderr
    );

    let m = hq
        .ok(&[
            "merge",
            ra.to_str().unwrap(),
            rb.to_str().unwrap(),
            sig_c.to_str().unwrap(),
            "--json",
        ])
        .json();
    let added: Vec<&str> = m["result"]["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(added, vec!["alice", "bob", "carol"]);
    assert_eq!(m["result"]["status"]["publishable"], true);
    // Merging again adds nothing: each key's signature is kept once.
    let m = hq.ok(&["merge", ra.to_str().unwrap(), "--json"]).json();
    assert_eq!(m["result"]["already"][0], "alice");
    assert!(m["result"]["added"].as_array().unwrap().is_empty());
    let shown = hq.ok(&["root", "show", "--json"]).json();
    assert_eq!(shown["result"]["signatures"].as_array().unwrap().len(), 3);
    let v1_digest = hq.ok(&["publish", "--json"]).json()["result"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(verify(&[hq.dir.path().join("metadata")], &[]).code, 0);

    // Version 2 staged: the old requests carry other signed bytes and are refused whole.
    hq.ok(&["refresh", "--expires", "300d"]);
    hq.refused(
        &["merge", rb.to_str().unwrap()],
        1,
        "carries other signed bytes (version 1",
    );
    hq.refused(
        &["merge", sig_c.to_str().unwrap()],
        1,
        "was made over other bytes",
    );
    // A request signed by a key outside both roots is refused whole.
    let r2 = xfer.path().join("request-2.json");
    hq.ok(&["request", "export", "--out", r2.to_str().unwrap()]);
    let mut md: serde_json::Value = serde_json::from_slice(&std::fs::read(&r2).unwrap()).unwrap();
    let stranger = TestKey::ecdsa(99);
    let parsed = rootcellar::tuf::Metadata::<rootcellar::tuf::Root>::from_bytes(
        &std::fs::read(hq.dir.path().join("staged/root.json")).unwrap(),
    )
    .unwrap();
    md["request"]["signatures"] = serde_json::json!([stranger.sign(&parsed)]);
    std::fs::write(&r2, serde_json::to_vec(&md).unwrap()).unwrap();
    hq.refused(
        &["merge", r2.to_str().unwrap()],
        1,
        "which is not a root key of version 2",
    );
    // A signature that does not verify is refused whole.
    la.ok(&[
        "sign",
        "--file",
        r2.to_str().unwrap(),
        "--key",
        "alice",
        "--trust-root-digest",
        &v1_digest,
    ]);
    let mut md: serde_json::Value = serde_json::from_slice(&std::fs::read(&r2).unwrap()).unwrap();
    let sigs = md["request"]["signatures"].as_array_mut().unwrap();
    sigs.retain(|s| s["keyid"] != stranger.keyid());
    let bad = sigs[0]["sig"]
        .as_str()
        .unwrap()
        .replace('a', "b")
        .replace('0', "1");
    sigs[0]["sig"] = bad.into();
    std::fs::write(&r2, serde_json::to_vec(&md).unwrap()).unwrap();
    hq.refused(&["merge", r2.to_str().unwrap()], 1, "does not verify");
}

#[test]
fn adopt_the_real_sigstore_history_and_stage_its_next_version() {
    let w = HsmWs::new("adopt");
    let dir = data("sigstore-root-history");
    let d = dir.to_str().unwrap();
    // Versions 1-4 carry go-tuf's expiry form that TUF 1.0 clients refuse: say where to start.
    let r = w.refused(&["adopt", d], 1, "1.root.json");
    assert!(r.stderr.contains("--from"), "{}", r.stderr);
    let r = w.ok(&["adopt", d, "--from", "5", "--json"]).json();
    assert_eq!(
        (r["result"]["first"].as_u64(), r["result"]["last"].as_u64()),
        (Some(5), Some(15))
    );
    let warnings = r["result"]["warnings"].to_string();
    assert!(
        warnings.contains("EXPIRED on 2026-11-20T13:58:18Z"),
        "{warnings}"
    );
    let names: Vec<String> = r["result"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.len() >= 5, "{names:?}");
    // The files are the originals, byte for byte.
    assert_eq!(
        std::fs::read(w.dir.path().join("metadata/15.root.json")).unwrap(),
        std::fs::read(dir.join("15.root.json")).unwrap()
    );
    assert_eq!(
        verify(&[w.dir.path().join("metadata")], &["--at", "2026-01-01"]).code,
        0
    );
    let st = w.ok(&["status"]);
    assert!(st.stdout.contains("EXPIRED"), "{}", st.stdout);
    // The next ceremony: version 16, which needs 3 of version 15's root keys and 3 of its own.
    let v = w.ok(&["refresh", "--expires", "180d", "--json"]).json();
    assert_eq!(v["result"]["version"], 16);
    let st = w.ok(&["status", "--json"]).json();
    assert_eq!(st["result"]["staged"]["by_previous"]["threshold"], 3);
    let still = st["result"]["staged"]["can_still_sign"].as_array().unwrap();
    assert!(still.len() >= 5, "{st}");
    // Adopted keys are public here: the keyholders sign on their own devices.
    let who = still[0].as_str().unwrap().to_string();
    w.refused(&["sign", "--key", &who], 2, "is a public key only");
}

#[test]
fn a_device_key_takes_over_its_adopted_public_record() {
    // A history made elsewhere, with a root key on SoftHSM2.
    let a = HsmWs::new("origin");
    a.generate("hsm", "ecdsa-p256");
    a.ok(&["key", "generate", "--name", "soft"]);
    online(&a);
    v1(&a, &["hsm", "soft"], "1", &[]);
    a.ok(&["sign", "--key", "hsm"]);
    a.ok(&["publish"]);
    // Adopted in another workspace: the keys are public records there.
    let b = HsmWs::new("adopter");
    b.ok(&["adopt", a.dir.path().join("metadata").to_str().unwrap()]);
    let uri = a.record("hsm")["reference"].as_str().unwrap().to_string();
    let adopted: Vec<serde_json::Value> = b.ok(&["key", "list", "--json"]).json()["result"]
        .as_array()
        .unwrap()
        .clone();
    let public_name = adopted
        .iter()
        .find(|k| k["keyid"] == a.record("hsm")["keyid"])
        .unwrap()["name"]
        .as_str()
        .unwrap()
        .to_string();
    // The keyholder registers the token key: it takes over the public record, same name and key ID.
    let mut c = b.cmd(&[
        "key",
        "add",
        "--backend",
        "pkcs11",
        "--profile",
        "softhsm2",
        "--uri",
        &uri,
        "--name",
        "mine",
    ]);
    c.env("SOFTHSM2_CONF", a.hsm.conf());
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("registered as {public_name}")),
        "{}",
        r.stderr
    );
    assert_eq!(b.record(&public_name)["backend"], "pkcs11");
    // And signs the next version.
    b.ok(&["refresh"]);
    let mut c = b.cmd(&["sign", "--key", &public_name]);
    c.env("SOFTHSM2_CONF", a.hsm.conf());
    assert_eq!(run(c).code, 0);
    let mut c = b.cmd(&["publish"]);
    c.env("SOFTHSM2_CONF", a.hsm.conf());
    assert_eq!(run(c).code, 0);
    assert_eq!(verify(&[b.dir.path().join("metadata")], &[]).code, 0);
}

#[test]
fn a_request_bundle_lets_a_keyholder_who_is_rotated_out_sign_apart_and_see_the_diff() {
    let l = laptop("away", "old");
    let hq = HsmWs::new("hq2");
    let xfer = tempfile::tempdir().unwrap();
    let f = public_of(&l, "old", xfer.path());
    hq.ok(&["key", "import", f.to_str().unwrap(), "--name", "old"]);
    hq.ok(&["key", "generate", "--name", "hq1"]);
    hq.ok(&["key", "generate", "--name", "hq2"]);
    online(&hq);
    v1(&hq, &["old", "hq1"], "2", &[]);
    hq.ok(&["sign", "--key", "hq1"]);
    let req1 = xfer.path().join("v1.json");
    hq.ok(&["request", "export", "--out", req1.to_str().unwrap()]);
    l.ok(&["sign", "--file", req1.to_str().unwrap(), "--key", "old"]);
    hq.ok(&["merge", req1.to_str().unwrap()]);
    // The room reads version 1's digest aloud; the away laptop holds only its key.
    let v1_digest = hq.ok(&["publish", "--json"]).json()["result"]["digest"]
        .as_str()
        .unwrap()
        .to_string();

    // Version 2 rotates "old" out: it must still sign as one of version 1's keys.
    hq.ok(&["rotate", "root", "--old", "old", "--new", "hq2"]);
    hq.ok(&["sign", "--key", "hq1", "--key", "hq2"]);
    let plain = xfer.path().join("v2-plain.json");
    std::fs::copy(hq.dir.path().join("staged/root.json"), &plain).unwrap();
    // Without the previous root the laptop cannot review the change: it refuses to sign.
    let r = l.run(&["sign", "--file", plain.to_str().unwrap(), "--key", "old"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("UNVERIFIED") && r.stderr.contains("--trust-root-digest"),
        "{}",
        r.stderr
    );
    let bundle = xfer.path().join("v2.json");
    hq.ok(&["request", "export", "--out", bundle.to_str().unwrap()]);
    let b = bundle.to_str().unwrap();
    // Nothing in the laptop's workspace vouches for the bundle's version 1: the diff is marked,
    // signing refuses, and a misheard digest is refused too.
    let shown = l.ok(&["request", "show", b, "--json"]).json();
    assert!(
        shown["result"]["unverified"]
            .as_str()
            .is_some_and(|u| u.starts_with("UNVERIFIED")),
        "{shown}"
    );
    let r = l.run(&["sign", "--file", b, "--key", "old"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("UNVERIFIED"), "{}", r.stderr);
    let wrong = format!("{}0", &v1_digest[..v1_digest.len() - 1]);
    let wrong = if wrong == v1_digest {
        format!("{}1", &v1_digest[..v1_digest.len() - 1])
    } else {
        wrong
    };
    let r = l.run(&["request", "show", b, "--trust-root-digest", &wrong]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The keyholder, given the digest read aloud, sees the same diff as the room.
    let shown = l
        .ok(&[
            "request",
            "show",
            b,
            "--trust-root-digest",
            &v1_digest,
            "--json",
        ])
        .json();
    assert!(shown["result"]["unverified"].is_null(), "{shown}");
    let in_room = hq.ok(&["root", "show", "--diff", "--json"]).json();
    assert_eq!(shown["result"]["digest"], in_room["result"]["digest"]);
    assert_eq!(
        shown["result"]["keys_removed"][0]["fingerprint"],
        in_room["result"]["keys_removed"][0]["fingerprint"]
    );
    l.ok(&[
        "sign",
        "--file",
        b,
        "--key",
        "old",
        "--trust-root-digest",
        &v1_digest,
    ]);
    let m = hq.ok(&["merge", b, "--json"]).json();
    assert_eq!(m["result"]["added"][0], "old");
    assert_eq!(m["result"]["status"]["publishable"], true);
    hq.ok(&["publish"]);
    assert_eq!(verify(&[hq.dir.path().join("metadata")], &[]).code, 0);
}

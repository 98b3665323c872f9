//! The ceremony transcript (audit.log) and the clock check, through the real binary (and the
//! library, for a clock that runs behind).

use crate::cli::{PASS, Ws, snapshot};
use rootcellar::audit::Entry;
use rootcellar::ops::Context;
use rootcellar::prompt::FixedPrompt;
use secrecy::SecretString;
use serde_json::Value;

fn lines(w: &Ws) -> Vec<Value> {
    std::fs::read_to_string(w.path().join("audit.log"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn actions(w: &Ws) -> Vec<String> {
    lines(w)
        .iter()
        .map(|l| l["action"].as_str().unwrap().to_string())
        .collect()
}

/// Rewrites the transcript with `edit` applied to line `n` (1-based) and the chain recomputed
/// after it, as a forger who knows the format but holds no root key would.
fn forge(w: &Ws, n: usize, edit: impl Fn(&mut Value)) {
    let mut out = String::new();
    let mut prev = rootcellar::audit::GENESIS.to_string();
    let text = std::fs::read_to_string(w.path().join("audit.log")).unwrap();
    for (i, l) in text.lines().enumerate() {
        let mut e: Entry = serde_json::from_str(l).unwrap();
        if i + 1 == n {
            edit(&mut e.detail);
        }
        e.prev = prev.clone();
        let text = serde_json::to_string(&e).unwrap();
        prev = rootcellar::audit::line_digest(&text);
        out.push_str(&text);
        out.push('\n');
    }
    std::fs::write(w.path().join("audit.log"), out).unwrap();
}

#[test]
fn a_ceremony_leaves_a_sealed_transcript_that_verifies_and_prints() {
    let w = Ws::new();
    w.published_v1();
    let usb = tempfile::tempdir().unwrap();
    w.ok(&["export", "--to", usb.path().to_str().unwrap()]);
    let a = actions(&w);
    assert_eq!(
        a,
        [
            "init",
            "key-generated",
            "key-generated",
            "key-generated",
            "key-imported",
            "key-imported",
            "key-imported",
            "root-staged",
            "signature-added",
            "signature-added",
            "publish",
            "seal",
            "export-usb",
        ]
    );
    let l = lines(&w);
    // Every line names what it is about; digests match the files.
    let published = std::fs::read(w.metadata().join("1.root.json")).unwrap();
    let publish = &l[10]["detail"];
    assert_eq!(publish["version"], 1);
    assert_eq!(
        publish["file_sha256"],
        rootcellar::workspace::digest_hex(&published)
    );
    assert_eq!(l[8]["detail"]["key"], "r1");
    assert_eq!(l[11]["detail"]["key"], "r1", "the first signer seals");
    assert_eq!(l[1]["detail"]["air_gap"], "offline: guard passed");
    let exported = l[12]["detail"]["files"].as_array().unwrap();
    assert!(exported.iter().any(|f| f["name"] == "1.root.json"
        && f["sha256"] == rootcellar::workspace::digest_hex(&published)));

    let r = w.ok(&["--json", "audit", "verify"]);
    let v: Value = serde_json::from_str::<Value>(&r.stdout).unwrap()["result"].take();
    assert_eq!(v["lines"], 13);
    assert_eq!(v["seals"][0]["line"], 12);
    assert_eq!(v["seals"][0]["problem"], Value::Null);
    assert_eq!(v["unsealed_tail"], 1, "the export after the seal");
    let r = w.ok(&["audit", "verify"]);
    assert!(
        r.stdout
            .contains("seal on line 12 by r1 (root key of version 1): valid")
    );
    assert!(r.stdout.contains("publish"), "{}", r.stdout);

    let r = w.ok(&["--json", "audit", "show", "--since", "11"]);
    let v: Value = serde_json::from_str::<Value>(&r.stdout).unwrap()["result"].take();
    let shown: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["action"].as_str().unwrap())
        .collect();
    assert_eq!(shown, ["publish", "seal", "export-usb"]);

    let record = w.path().join("../record.html");
    w.ok(&["audit", "print", "--out", record.to_str().unwrap()]);
    let html = std::fs::read_to_string(&record).unwrap();
    let r1 = w.ok(&["--json", "key", "list"]);
    let keys: Value = serde_json::from_str::<Value>(&r1.stdout).unwrap()["result"].take();
    for k in keys.as_array().unwrap() {
        assert!(html.contains(k["keyid"].as_str().unwrap()));
        assert!(html.contains(k["fingerprint"].as_str().unwrap()));
    }
    assert!(html.contains(&rootcellar::workspace::digest_hex(&published)));
    assert!(html.contains("Signature: ____"));
    // Printing never overwrites a record.
    let r = w.run(&["audit", "print", "--out", record.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
}

#[test]
fn a_changed_line_stops_verification_and_every_writing_command() {
    let w = Ws::new();
    w.published_v1();
    let log = w.path().join("audit.log");
    let text = std::fs::read_to_string(&log).unwrap();
    // r2's signature line (line 10) claims r3 signed.
    let mut ls: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(ls[9].contains("signature-added") && ls[9].contains("\"key\":\"r2\""));
    ls[9] = ls[9].replace("\"key\":\"r2\"", "\"key\":\"r3\"");
    std::fs::write(&log, ls.join("\n") + "\n").unwrap();
    let r = w.run(&["audit", "verify"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("damaged at line 11: prev does not match"),
        "{}",
        r.stderr
    );
    // A workspace whose transcript is damaged writes nothing more.
    w.refused(
        &["key", "generate", "--name", "r4", "--algorithm", "ed25519"],
        1,
        "the transcript",
    );
    w.refused(&["refresh"], 1, "damaged at line 11");
    // Half a line (a crash of an old version, or a cut file) is named too.
    std::fs::write(&log, &text[..text.len() - 10]).unwrap();
    let r = w.run(&["audit", "verify"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("cut off"), "{}", r.stderr);
}

#[test]
fn a_rechained_forgery_is_caught_by_the_seal() {
    let w = Ws::new();
    w.published_v1();
    let n = actions(&w)
        .iter()
        .position(|a| a == "signature-added")
        .unwrap()
        + 2;
    forge(&w, n, |d| d["key"] = Value::String("r3".into()));
    let r = w.run(&["audit", "verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("seal on line 12 (key r1) does not hold"),
        "{}",
        r.stderr
    );
    // A seal moved onto another key fails too.
    let w = Ws::new();
    w.published_v1();
    forge(&w, 12, |_| {});
    w.ok(&["audit", "verify"]);
    let r3 = w.ok(&["--json", "key", "list"]);
    let keys: Value = serde_json::from_str::<Value>(&r3.stdout).unwrap()["result"].take();
    let r3id = keys
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "r3")
        .unwrap()["keyid"]
        .clone();
    forge(&w, 12, |d| d["keyid"] = r3id.clone());
    let r = w.run(&["audit", "verify"]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("does not verify"), "{}", r.stderr);
}

#[test]
fn publish_seal_choices_are_checked_and_no_seal_is_an_override() {
    let w = Ws::new();
    w.staged_v1();
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    w.refused(
        &["publish", "--seal-key", "targets"],
        1,
        "not a root key of version 1",
    );
    let r = w.ok(&["publish", "--seal-key", "r3"]);
    assert!(r.stdout.contains("Transcript sealed by r3"), "{}", r.stdout);
    w.ok(&["audit", "verify"]);

    let w = Ws::new();
    w.staged_v1();
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    let r = w.ok(&["publish", "--no-seal"]);
    assert!(r.stderr.contains("not sealed (--no-seal)"), "{}", r.stderr);
    let l = lines(&w);
    let last = l.last().unwrap();
    assert_eq!(last["action"], "publish");
    assert_eq!(last["detail"]["override_no_seal"], true);
}

#[test]
fn no_secret_reaches_the_transcript_or_any_output() {
    // A passphrase and a pkcs11 URI with a pin-value: neither may appear anywhere.
    let w = Ws::new();
    w.published_v1();
    let bad = w.run(&[
        "key",
        "add",
        "--backend",
        "pkcs11",
        "--uri",
        "pkcs11:nothing?pin-value=SECRET-PIN-4711",
        "--name",
        "x",
    ]);
    assert_ne!(bad.code, 0);
    for text in [&bad.stdout, &bad.stderr] {
        assert!(!text.contains("SECRET-PIN-4711"), "{text}");
    }
    let mut outputs = vec![bad.stdout, bad.stderr];
    for args in [
        &["audit", "verify"][..],
        &["--json", "audit", "verify"],
        &["status"],
        &["--json", "key", "list"],
    ] {
        let r = w.ok(args);
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    }
    for o in &outputs {
        assert!(!o.contains(PASS), "passphrase in output: {o}");
    }
    for (path, bytes) in snapshot(w.path()) {
        if path.extension().is_some_and(|e| e == "pem") {
            continue; // encrypted private keys: their bytes are not text to grep
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(PASS), "passphrase in {}", path.display());
        assert!(
            !text.contains("SECRET-PIN-4711"),
            "PIN in {}",
            path.display()
        );
    }
}

#[test]
fn a_clock_that_runs_behind_the_workspace_is_refused_before_signing() {
    let w = Ws::new();
    w.staged_v1();
    let before = snapshot(w.path());
    let prompt = FixedPrompt(SecretString::from(PASS));
    let behind = time::OffsetDateTime::now_utc() - time::Duration::days(3);
    let mut ctx = Context::new(w.path().to_path_buf(), &prompt, behind);
    ctx.sysfs = w.sys.path().to_path_buf();
    let e = match rootcellar::ops::root::sign(&ctx, &["r1".into()], None) {
        Ok(_) => panic!("a clock three days behind the workspace signed"),
        Err(e) => e,
    };
    assert!(e.message.contains("the clock runs behind"), "{}", e.message);
    assert!(
        e.message.contains("line 8 of the transcript (root-staged)"),
        "{}",
        e.message
    );
    assert!(
        e.hint
            .as_deref()
            .unwrap_or("")
            .contains("nothing was signed")
    );
    assert_eq!(before, snapshot(w.path()), "nothing was written");

    // The right time signs, and the operators are shown the time to confirm.
    let mut ctx = Context::new(
        w.path().to_path_buf(),
        &prompt,
        time::OffsetDateTime::now_utc(),
    );
    ctx.sysfs = w.sys.path().to_path_buf();
    // Another test's child process, forked in the instant the first call held the workspace
    // lock, may hold it until it execs: wait that out.
    let mut tries = 0;
    while let Err(e) = rootcellar::ops::root::sign(&ctx, &["r1".into()], None) {
        tries += 1;
        assert!(
            e.message.contains("another rootcellar command") && tries < 50,
            "{}",
            e.message
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        ctx.take_notices()
            .iter()
            .any(|n| n.starts_with("clock: this machine says it is")),
    );
    // The CLI shows it too.
    let r = w.ok(&["sign", "--key", "r2"]);
    assert!(
        r.stderr.contains("clock: this machine says it is"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_whole_ceremony_with_known_secrets_leaves_none_of_them_anywhere() {
    const PIN: &str = "Tk7pin93xq";
    const SO_PIN: &str = "Tk7so51zz";
    const PASSPHRASE: &str = "pass-Qz81-phrase";
    let hsm = tempfile::tempdir().unwrap();
    let conf = hsm.path().join("softhsm2.conf");
    std::fs::create_dir(hsm.path().join("tokens")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            hsm.path().join("tokens").display()
        ),
    )
    .unwrap();
    let o = std::process::Command::new("softhsm2-util")
        .env("SOFTHSM2_CONF", &conf)
        .args([
            "--init-token",
            "--free",
            "--label",
            "secrets",
            "--pin",
            PIN,
            "--so-pin",
            SO_PIN,
        ])
        .output()
        .expect("softhsm2-util (run scripts/test)");
    assert!(o.status.success());
    let ws = crate::support::TestDir::new();
    let sys = crate::support::offline_sysfs();
    let usb = tempfile::tempdir().unwrap();
    let qr = tempfile::tempdir().unwrap();
    let record = usb.path().join("record.html");
    let mut outputs = Vec::new();
    let mut go = |args: &[&str]| {
        let mut c = crate::support::rootcellar();
        c.env("ROOTCELLAR_DIR", ws.path())
            .env("ROOTCELLAR_SYSFS", sys.path())
            .env("SOFTHSM2_CONF", &conf)
            .env("ROOTCELLAR_PIN", PIN)
            .env("ROOTCELLAR_PASSPHRASE", PASSPHRASE)
            .args(args);
        let r = crate::support::run(c);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        outputs.push(r.stdout);
        outputs.push(r.stderr);
    };
    let hsm_key = |n: &'static str| -> Vec<&'static str> {
        vec![
            "key",
            "generate",
            "--backend",
            "pkcs11",
            "--profile",
            "softhsm2",
            "--token",
            "secrets",
            "--name",
            n,
            "--algorithm",
            "ecdsa-p256",
        ]
    };
    go(&["init", "--name", "example.com/secrets"]);
    go(&hsm_key("h1"));
    go(&hsm_key("h2"));
    for (n, alg) in [("s1", "ed25519"), ("online", "ed25519")] {
        go(&["key", "generate", "--name", n, "--algorithm", alg]);
    }
    go(&[
        "root",
        "new",
        "--root-key",
        "h1",
        "--root-key",
        "h2",
        "--root-key",
        "s1",
        "--threshold",
        "2",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
    ]);
    go(&["sign", "--key", "h1", "--key", "s1"]);
    go(&["--json", "sign", "--key", "h2"]);
    go(&["publish", "--seal-key", "h2"]);
    go(&["refresh", "--expires", "300d"]);
    go(&["sign", "--key", "h1", "--key", "h2"]);
    go(&["--json", "publish"]);
    go(&["export", "--to", usb.path().to_str().unwrap()]);
    go(&[
        "export",
        "--qr",
        "--text",
        qr.path().join("frames.txt").to_str().unwrap(),
    ]);
    go(&["status"]);
    go(&["--json", "status"]);
    go(&["key", "list"]);
    go(&["drill", "--key", "h1", "--key", "s1"]);
    go(&["audit", "verify"]);
    go(&["--json", "audit", "verify"]);
    go(&["audit", "print", "--out", record.to_str().unwrap()]);
    let lines = std::fs::read_to_string(ws.path().join("audit.log")).unwrap();
    assert!(lines.lines().count() > 15);
    let secrets = [PIN, SO_PIN, PASSPHRASE];
    for o in &outputs {
        for s in secrets {
            assert!(!o.contains(s), "{s:?} in an output:\n{o}");
        }
    }
    for dir in [ws.path(), usb.path(), qr.path()] {
        for (path, bytes) in snapshot(dir) {
            let text = String::from_utf8_lossy(&bytes);
            for s in secrets {
                assert!(!text.contains(s), "{s:?} in {}", path.display());
                assert!(
                    !text.contains(&hex::encode(s)),
                    "{s:?} (hex) in {}",
                    path.display()
                );
            }
        }
    }
}

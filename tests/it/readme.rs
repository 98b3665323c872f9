//! The README's command-line ceremony, run as written (issue 21): every `rootcellar` line of the
//! block under "A ceremony from the command line", in order, on the hardware stand-ins. Only the
//! hardware is substituted, through the explicit table below (a YubiKey serial → a virtual
//! card, the yubihsm2 profile → a SoftHSM2 token, the stick → a folder); any other difference
//! fails the test. The inputs the README assumes (the online keys' public files in the current
//! folder) are made first, as an operator would bring them.

use crate::support::*;
use std::path::Path;

/// The README's block, its lines joined where they end in `\`, comments and blank lines left out.
fn readme_ceremony() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("## A ceremony from the command line")
        .expect("the README has its command-line ceremony");
    let block = &readme[start..];
    let body = &block[block.find("```sh\n").unwrap() + 6..];
    let body = &body[..body.find("```").unwrap()];
    let mut lines = Vec::new();
    let mut pending = String::new();
    for raw in body.lines() {
        let code = raw.split(" #").next().unwrap_or("").trim_end();
        let code = if code.trim_start().starts_with('#') {
            ""
        } else {
            code
        };
        if let Some(cont) = code.strip_suffix('\\') {
            pending.push_str(cont);
            continue;
        }
        pending.push_str(code);
        let line = pending.split_whitespace().collect::<Vec<_>>().join(" ");
        if !line.is_empty() {
            lines.push(line);
        }
        pending.clear();
    }
    lines
}

#[test]
fn the_readme_ceremony_runs_as_written() {
    let _g = crate::yubikey::fresh_cards();
    let (s1, s2) = crate::yubikey::serials();
    let hsm = crate::hsm::SoftHsm::new("readme");
    let home = tempfile::tempdir().unwrap();
    let cwd = home.path().join("here");
    let usb = home.path().join("usb");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&usb).unwrap();
    let sys = offline_sysfs();
    // What the operator brings: the online keys' public halves.
    let t = TestKey::ed25519(81).key();
    write(
        &cwd,
        "targets.pub.json",
        serde_json::to_string(&t).unwrap().as_bytes(),
    );
    write(
        &cwd,
        "snapshot.pem",
        TestKey::ecdsa(82).key().keyval.public.as_bytes(),
    );
    let ts = TestKey::ed25519(83).key();
    write(
        &cwd,
        "timestamp.pub.json",
        serde_json::to_string(&ts).unwrap().as_bytes(),
    );

    // The substitution table: hardware and places only.
    let ceremony_dir = home.path().join("ceremony");
    let table: Vec<(String, String)> = vec![
        (
            "--backend yubikey --serial 12345678".into(),
            format!("--backend yubikey --serial {s1} --default-management-key"),
        ),
        (
            "--backend yubikey --serial 87654321".into(),
            format!("--backend yubikey --serial {s2} --default-management-key"),
        ),
        (
            "--backend pkcs11 --profile yubihsm2".into(),
            "--backend pkcs11 --profile softhsm2 --token readme".into(),
        ),
        ("/media/usb".into(), usb.display().to_string()),
    ];
    let lines = readme_ceremony();
    assert!(lines.len() > 20, "{lines:?}");
    let mut ran = 0;
    for line in &lines {
        if let Some(dir) = line.strip_prefix("export ROOTCELLAR_DIR=") {
            assert_eq!(dir, "~/ceremony", "the README's workspace");
            continue;
        }
        let mut l = line.clone();
        for (from, to) in &table {
            l = l.replace(from, to);
        }
        let args: Vec<&str> = l.split_whitespace().collect();
        assert_eq!(
            args[0], "rootcellar",
            "a README line that is not a rootcellar command: {line}"
        );
        if l.contains(&format!("--serial {s2}")) {
            // The stand-in's quirk, not the README's: card 2's first key repeats card 1's (the
            // virtual cards' generators are seeded alike); burn it in another slot.
            let s = s2.to_string();
            let mut c = rootcellar();
            c.current_dir(&cwd)
                .env("ROOTCELLAR_DIR", &ceremony_dir)
                .env("ROOTCELLAR_SYSFS", sys.path())
                .env("ROOTCELLAR_PIN", crate::yubikey::PIN)
                .args([
                    "key",
                    "generate",
                    "--backend",
                    "yubikey",
                    "--serial",
                    &s,
                    "--slot",
                    "9a",
                ])
                .args(["--name", "twin", "--default-management-key"]);
            let _ = run(c);
        }
        let mut c = rootcellar();
        c.current_dir(&cwd)
            .env("ROOTCELLAR_DIR", &ceremony_dir)
            .env("ROOTCELLAR_SYSFS", sys.path())
            .env("SOFTHSM2_CONF", hsm.conf())
            .env("ROOTCELLAR_PIN", crate::hsm::PIN)
            .env("ROOTCELLAR_PASSPHRASE", "carol's passphrase")
            .args(&args[1..]);
        let r = run(c);
        assert_eq!(
            r.code, 0,
            "README line failed: {line}\n(run as: {l})\n{}{}",
            r.stdout, r.stderr
        );
        ran += 1;
    }
    assert_eq!(ran, lines.len() - 1);
    // What it leaves: two published versions, verified; the stick; the record.
    let meta = ceremony_dir.join("metadata");
    assert!(meta.join("2.root.json").is_file());
    assert_eq!(verify(std::slice::from_ref(&meta), &[]).code, 0);
    assert!(usb.join("2.root.json").is_file() && usb.join("SHA256SUMS").is_file());
    assert!(usb.join("attestations/attestations.json").is_file());
    assert!(cwd.join("record.html").is_file());
}

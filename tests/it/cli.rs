//! The command line, end to end: every command, and every refusal leaves the workspace as it was.

use crate::support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const PASS: &str = "test passphrase 1";

/// A workspace in a temp folder, commands run offline (fake /sys) with a passphrase in the env.
pub(crate) struct Ws(TestWs);

impl std::ops::Deref for Ws {
    type Target = TestWs;
    fn deref(&self) -> &TestWs {
        &self.0
    }
}

impl Ws {
    pub(crate) fn new() -> Ws {
        Ws::with_init(&["init", "--name", "example.com/test"])
    }
    /// A workspace made by the `init` command `args`.
    pub(crate) fn with_init(args: &[&str]) -> Ws {
        Ws(TestWs::new(
            vec![("ROOTCELLAR_PASSPHRASE", PASS.into())],
            args,
        ))
    }
    pub(crate) fn keys(&self, names: &[(&str, &str)]) {
        for (n, alg) in names {
            self.ok(&["key", "generate", "--name", n, "--algorithm", alg]);
        }
    }
    pub(crate) fn import_online(&self) {
        let d = tempfile::tempdir().unwrap();
        let t = TestKey::ed25519(50).key();
        let f = write(
            d.path(),
            "t.json",
            serde_json::to_string(&t).unwrap().as_bytes(),
        );
        self.ok(&["key", "import", f.to_str().unwrap(), "--name", "targets"]);
        let s = TestKey::ecdsa(51).key();
        let f = write(d.path(), "s.pem", s.keyval.public.as_bytes());
        self.ok(&["key", "import", f.to_str().unwrap(), "--name", "snapshot"]);
        let ts = TestKey::ed25519(52).key();
        let f = write(
            d.path(),
            "ts.json",
            serde_json::to_string(&ts).unwrap().as_bytes(),
        );
        self.ok(&["key", "import", f.to_str().unwrap(), "--name", "timestamp"]);
    }
    /// Keys r1 r2 r3, online keys, version 1 staged with root threshold 2.
    pub(crate) fn staged_v1(&self) {
        self.keys(&[
            ("r1", "ecdsa-p256"),
            ("r2", "ed25519"),
            ("r3", "ecdsa-p256"),
        ]);
        self.import_online();
        self.ok(&[
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
    }
    pub(crate) fn published_v1(&self) {
        self.staged_v1();
        self.ok(&["sign", "--key", "r1", "--key", "r2"]);
        self.ok(&["publish"]);
    }
    pub(crate) fn metadata(&self) -> PathBuf {
        self.path().join("metadata")
    }
}

pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    tree(dir)
}

#[test]
fn a_whole_ceremony_from_the_command_line() {
    let w = Ws::new();
    w.staged_v1();
    let list = w.ok(&["key", "list", "--json"]).json();
    let keys = list["result"].as_array().unwrap();
    assert_eq!(keys.len(), 6);
    assert_eq!(
        keys.iter().filter(|k| k["backend"] == "software").count(),
        3
    );
    assert_eq!(keys.iter().filter(|k| k["backend"] == "public").count(), 3);
    // No private key in clear anywhere in the workspace.
    for (p, bytes) in snapshot(w.path()) {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("BEGIN PRIVATE KEY"), "{}", p.display());
    }

    let show = w.ok(&["root", "show"]);
    assert!(
        show.stdout.contains("Root version 1 (staged)"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout
            .contains("root       threshold 2 of 3: r1, r2, r3"),
        "{}",
        show.stdout
    );
    assert!(show.stdout.contains("publishable: no"));

    let s = w.ok(&["sign", "--key", "r1", "--json"]).json();
    assert_eq!(
        s["result"]["status"]["by_self"]["counted"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s["result"]["status"]["publishable"], false);
    // Names and key IDs side by side: what was counted and who can still sign.
    let st = &s["result"]["status"];
    let counted = st["by_self"]["counted"][0].as_str().unwrap();
    assert_eq!(st["names"][counted], "r1", "{st}");
    assert_eq!(
        st["can_still_sign"],
        serde_json::json!(["r2", "r3"]),
        "{st}"
    );
    let still: Vec<&str> = st["can_still_sign_keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(still.len(), 2);
    assert_eq!(st["names"][still[0]], "r2", "{st}");
    assert_eq!(st["names"][still[1]], "r3", "{st}");
    assert!(s["notices"].to_string().contains("software key"), "{s}");
    // A key prefix of 8+ hex digits works as K.
    let r2 = list["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "r2")
        .unwrap()["keyid"]
        .as_str()
        .unwrap()
        .to_string();
    let s = w.ok(&["sign", "--key", &r2[..10], "--json"]).json();
    assert_eq!(s["result"]["status"]["publishable"], true);
    let p = w.ok(&["publish", "--json"]).json();
    assert_eq!(p["result"]["version"], 1);
    assert!(w.metadata().join("1.root.json").exists());
    assert_eq!(
        std::fs::read(w.metadata().join("1.root.json")).unwrap(),
        std::fs::read(w.metadata().join("root.json")).unwrap()
    );
    assert!(!w.path().join("staged/root.json").exists());

    // Version 2: revoke r3, add r4.
    w.keys(&[("r4", "ecdsa-p256")]);
    let e = w
        .ok(&[
            "root",
            "edit",
            "--remove-key",
            "root:r3",
            "--add-key",
            "root:r4",
            "--expires",
            "200d",
            "--json",
        ])
        .json();
    assert_eq!(e["result"]["version"], 2);
    let s = w
        .ok(&["sign", "--key", "r1", "--key", "r4", "--json"])
        .json();
    let st = &s["result"]["status"];
    assert_eq!(st["by_previous"]["met"], false);
    assert_eq!(st["by_self"]["met"], true);
    let still: Vec<&str> = st["can_still_sign"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(still.contains(&"r2") && still.contains(&"r3"), "{still:?}");
    w.refused(&["publish"], 1, "needs from version 1's root keys");
    w.ok(&["sign", "--key", "r2"]);
    w.ok(&["publish"]);
    let v = verify(&[w.metadata()], &[]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert!(v.stdout.contains("VALID: root version 2"));
    let shown = w.ok(&["root", "show"]);
    assert!(
        shown.stdout.contains("Root version 2 (published)"),
        "{}",
        shown.stdout
    );
    assert!(!shown.stdout.contains("r3"), "{}", shown.stdout);
    let d = w.ok(&["root", "discard"]);
    assert!(d.stdout.contains("No root was staged"));
}

#[test]
fn publish_below_the_new_threshold_is_refused() {
    let w = Ws::new();
    w.published_v1();
    w.keys(&[("r4", "ed25519")]);
    w.ok(&[
        "root",
        "edit",
        "--add-key",
        "root:r4",
        "--threshold",
        "root:3",
    ]);
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    w.refused(
        &["publish"],
        1,
        "version 2 has 2 of the 3 signatures it needs from its own root keys",
    );
}

#[test]
fn publish_of_version_1_below_threshold_is_refused() {
    let w = Ws::new();
    w.staged_v1();
    w.refused(&["publish"], 1, "has 0 of the 2 signatures");
    w.ok(&["sign", "--key", "r3"]);
    w.refused(&["publish"], 1, "has 1 of the 2 signatures");
}

#[test]
fn an_edit_that_breaks_a_threshold_is_refused() {
    let w = Ws::new();
    w.published_v1();
    w.refused(
        &[
            "root",
            "edit",
            "--remove-key",
            "root:r1",
            "--remove-key",
            "root:r2",
        ],
        1,
        "the root role would have 1 key(s) for a threshold of 2",
    );
    w.refused(
        &["root", "edit", "--threshold", "root:0"],
        1,
        "threshold would be 0",
    );
    w.refused(
        &["root", "edit", "--threshold", "snapshot:2"],
        1,
        "the snapshot role would have 1 key(s)",
    );
    // The same edits in an order that works: lower the threshold, then remove.
    w.ok(&[
        "root",
        "edit",
        "--threshold",
        "root:1",
        "--remove-key",
        "root:r3",
        "--remove-key",
        "root:r2",
    ]);
}

#[test]
fn a_staged_root_with_signatures_is_not_edited_without_being_told() {
    let w = Ws::new();
    w.published_v1();
    w.ok(&["root", "edit", "--expires", "100d"]);
    w.ok(&["sign", "--key", "r1"]);
    w.refused(
        &["root", "edit", "--expires", "90d"],
        1,
        "an edit would void them",
    );
    let r = w
        .ok(&[
            "root",
            "edit",
            "--expires",
            "90d",
            "--drop-signatures",
            "--json",
        ])
        .json();
    assert_eq!(r["result"]["signatures"].as_array().unwrap().len(), 0);
}

#[test]
fn a_duplicate_public_key_is_refused() {
    let w = Ws::new();
    w.keys(&[("r1", "ecdsa-p256")]);
    let rec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(w.path().join("keys/r1.json")).unwrap()).unwrap();
    let d = tempfile::tempdir().unwrap();
    let pem = write(
        d.path(),
        "r1.pem",
        rec["key"]["keyval"]["public"].as_str().unwrap().as_bytes(),
    );
    w.refused(
        &["key", "import", pem.to_str().unwrap(), "--name", "mallory"],
        1,
        "registered already, as \"r1\"",
    );
    // And the same key in TUF JSON form, legacy keytype spelling included.
    let mut k = rec["key"].clone();
    k["keytype"] = "ecdsa-sha2-nistp256".into();
    let js = write(d.path(), "r1.json", k.to_string().as_bytes());
    w.refused(
        &["key", "import", js.to_str().unwrap(), "--name", "mallory"],
        1,
        "registered already",
    );
    w.refused(
        &["key", "generate", "--name", "r1"],
        1,
        "a key named \"r1\" exists already",
    );
    w.refused(
        &["key", "generate", "--name", "../evil"],
        2,
        "is not allowed",
    );
}

#[test]
fn unknown_keys_and_keys_outside_the_root_are_refused() {
    let w = Ws::new();
    w.staged_v1();
    w.refused(&["sign", "--key", "nobody"], 2, "no key named \"nobody\"");
    w.refused(
        &["sign", "--key", "targets"],
        1,
        "is not a root key of version 1",
    );
    w.refused(
        &["root", "edit", "--add-key", "root:r1"],
        1,
        "no root is published yet",
    );
    w.ok(&["root", "discard"]);
    w.refused(
        &[
            "root",
            "new",
            "--root-key",
            "nobody",
            "--threshold",
            "1",
            "--targets-key",
            "targets",
            "--snapshot-key",
            "snapshot",
            "--timestamp-key",
            "timestamp",
        ],
        2,
        "no key named \"nobody\"",
    );
    w.refused(
        &[
            "root",
            "new",
            "--root-key",
            "r1",
            "--root-key",
            "r1",
            "--threshold",
            "1",
            "--targets-key",
            "targets",
            "--snapshot-key",
            "snapshot",
            "--timestamp-key",
            "timestamp",
        ],
        2,
        "key r1 is given twice",
    );
    w.refused(
        &[
            "root",
            "new",
            "--root-key",
            "r1",
            "--threshold",
            "2",
            "--targets-key",
            "targets",
            "--snapshot-key",
            "snapshot",
            "--timestamp-key",
            "timestamp",
        ],
        1,
        "the root role would have 1 key(s) for a threshold of 2",
    );
}

#[test]
fn a_wrong_passphrase_is_refused_and_loses_nothing() {
    let w = Ws::new();
    w.staged_v1();
    w.ok(&["sign", "--key", "r1"]);
    let mut c = w.cmd(&["sign", "--key", "r2"]);
    c.env("ROOTCELLAR_PASSPHRASE", "not the passphrase");
    w.refused_with(c, 2, "wrong passphrase for key r2");
    // The first signature is still there.
    let show = w.ok(&["root", "show", "--json"]).json();
    assert_eq!(show["result"]["signatures"].as_array().unwrap().len(), 1);
    // A secret file works as well as the environment.
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "pass", format!("{PASS}\n").as_bytes());
    let mut c = w.cmd(&["sign", "--key", "r2", "--pin-file", f.to_str().unwrap()]);
    c.env_remove("ROOTCELLAR_PASSPHRASE");
    assert_eq!(run(c).code, 0);
}

#[test]
fn no_passphrase_and_no_terminal_is_a_clear_error() {
    let w = Ws::new();
    let mut c = w.cmd(&["key", "generate", "--name", "r1"]);
    c.env_remove("ROOTCELLAR_PASSPHRASE");
    let r = w.refused_with(c, 2, "no terminal to ask on");
    assert!(r.stderr.contains("ROOTCELLAR_PASSPHRASE"));
}

#[test]
fn corrupted_key_files_are_refused() {
    let w = Ws::new();
    w.staged_v1();
    let pem = w.path().join("keys/r1.key.pem");
    let mut bytes = std::fs::read(&pem).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    std::fs::write(&pem, &bytes).unwrap();
    let r = w.run(&["sign", "--key", "r1"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("r1")
            && (r.stderr.contains("damaged") || r.stderr.contains("wrong passphrase")),
        "{}",
        r.stderr
    );
    std::fs::write(&pem, b"-----BEGIN NONSENSE-----\n").unwrap();
    w.refused(
        &["sign", "--key", "r1"],
        2,
        "the private key file of r1 is damaged",
    );
    std::fs::write(w.path().join("keys/r2.json"), b"{\"name\": \"r2\",").unwrap();
    w.refused(&["sign", "--key", "r3"], 2, "keys/r2.json is damaged");
    w.refused(&["key", "list"], 2, "is damaged");
}

#[test]
fn a_staged_root_edited_by_hand_is_refused() {
    let w = Ws::new();
    w.staged_v1();
    w.ok(&["sign", "--key", "r1"]);
    let p = w.path().join("staged/root.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let exp = v["signed"]["expires"].as_str().unwrap().to_string();
    std::fs::write(&p, text.replace(&exp, "2099-12-31T00:00:00Z")).unwrap();
    w.refused(
        &["sign", "--key", "r2"],
        1,
        "staged/root.json was changed outside rootcellar",
    );
    w.refused(&["publish"], 1, "changed outside rootcellar");
    w.refused(&["root", "show"], 1, "changed outside rootcellar");
    std::fs::write(&p, b"{ not json").unwrap();
    w.refused(&["sign", "--key", "r2"], 1, "changed outside rootcellar");
    w.ok(&["root", "discard"]);
    assert!(!p.exists());
}

#[test]
fn the_air_gap_guard_refuses_an_online_machine_unless_told() {
    let w = Ws::new();
    let online = offline_sysfs();
    let eth = online.path().join("class/net/eth0");
    std::fs::create_dir_all(&eth).unwrap();
    std::fs::write(eth.join("operstate"), "up\n").unwrap();
    std::fs::write(eth.join("flags"), "0x1003\n").unwrap();
    let bt = online.path().join("class/rfkill/rfkill0");
    std::fs::create_dir_all(&bt).unwrap();
    for (f, t) in [
        ("type", "bluetooth\n"),
        ("soft", "0\n"),
        ("hard", "0\n"),
        ("name", "hci0\n"),
    ] {
        std::fs::write(bt.join(f), t).unwrap();
    }
    let mut c = w.cmd(&["key", "generate", "--name", "r1"]);
    c.env("ROOTCELLAR_SYSFS", online.path());
    let r = w.refused_with(c, 3, "this machine is not air-gapped: network interface eth0 (up, state up); Bluetooth radio hci0 (not blocked by rfkill)");
    assert!(r.stderr.contains("--allow-online"));
    // With the override it proceeds, and says so.
    let mut c = w.cmd(&["key", "generate", "--name", "r1", "--allow-online"]);
    c.env("ROOTCELLAR_SYSFS", online.path());
    let r = run(c);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("air-gap guard overridden"),
        "{}",
        r.stderr
    );
    // The environment variable does the same; and on the real /sys of a test machine too.
    let mut c = w.cmd(&["key", "generate", "--name", "r2"]);
    c.env_remove("ROOTCELLAR_SYSFS")
        .env("ROOTCELLAR_ALLOW_ONLINE", "1");
    assert_eq!(run(c).code, 0);
}

#[test]
fn a_locked_workspace_is_refused() {
    let w = Ws::new();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(w.path().join(".lock"))
        .unwrap();
    f.try_lock().unwrap();
    w.refused(
        &["key", "generate", "--name", "r1"],
        3,
        "another rootcellar command is using the workspace",
    );
    drop(f);
    w.ok(&["key", "generate", "--name", "r1"]);
}

#[test]
fn outside_a_workspace_commands_say_how_to_start() {
    let d = tempfile::tempdir().unwrap();
    let mut c = rootcellar();
    c.env("ROOTCELLAR_DIR", d.path()).args(["key", "list"]);
    let r = run(c);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is not a rootcellar workspace") && r.stderr.contains("rootcellar init"),
        "{}",
        r.stderr
    );
    let w = Ws::new();
    w.refused(&["init"], 1, "already a rootcellar workspace");
    w.refused(&["root", "edit"], 1, "no root is published yet");
    w.refused(&["sign", "--key", "x"], 1, "no root is staged");
}

#[test]
fn json_errors_have_a_documented_shape() {
    let w = Ws::new();
    let r = w.run(&["publish", "--json"]);
    assert_eq!(r.code, 1);
    let j = r.json();
    assert_eq!(j["ok"], false);
    assert_eq!(j["error"]["kind"], "refused");
    assert_eq!(j["error"]["message"], "no root is staged");
    assert!(j["error"]["hint"].as_str().unwrap().contains("root new"));
    assert!(j["notices"].is_array());
}

/// `--version` names the commit (when scripts/release built it) and the target (issue 22).
#[test]
fn version_names_the_commit_and_the_target() {
    let mut c = rootcellar();
    c.arg("--version");
    let r = run(c);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains(&format!("rootcellar {}", env!("CARGO_PKG_VERSION")))
            && r.stdout.contains("(commit ")
            && r.stdout
                .contains(&format!("{}-linux", std::env::consts::ARCH)),
        "{}",
        r.stdout
    );
}

#[test]
fn help_is_everywhere() {
    for args in [
        vec!["--help"],
        vec!["key", "--help"],
        vec!["key", "generate", "--help"],
        vec!["root", "new", "--help"],
        vec!["root", "edit", "--help"],
        vec!["verify", "--help"],
        vec!["demo", "--help"],
        vec!["sign", "--help"],
        vec!["publish", "--help"],
    ] {
        let mut c = rootcellar();
        c.args(&args);
        let r = run(c);
        assert_eq!(r.code, 0, "{args:?}");
        assert!(r.stdout.contains("Usage:"), "{args:?}");
    }
    let mut c = rootcellar();
    c.args(["frobnicate"]);
    assert_eq!(run(c).code, 2);
}

#[test]
fn the_demo_runs_a_whole_ceremony_in_a_new_folder() {
    let d = tempfile::tempdir().unwrap();
    let sys = offline_sysfs();
    let demo = |cwd: &Path, extra: &[&str]| {
        let mut c = rootcellar();
        c.current_dir(cwd)
            .env("ROOTCELLAR_SYSFS", sys.path())
            .arg("demo")
            .args(extra);
        run(c)
    };
    let r = demo(d.path(), &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for step in [
        "1. Workspace created",
        "publish refused, as it must be",
        "8. Published version 2",
        "9. Verified the chain",
    ] {
        assert!(r.stdout.contains(step), "{step:?} missing:\n{}", r.stdout);
    }
    let ws = d.path().join("rootcellar-demo");
    assert_eq!(verify(&[ws.join("metadata")], &[]).code, 0);
    // SoftHSM2 is installed (scripts/test does it): the root keys live on the demo's own token.
    assert!(
        r.stdout
            .contains("SoftHSM2 token \"rootcellar-demo\" created"),
        "{}",
        r.stdout
    );
    let alice: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.join("keys/alice.json")).unwrap()).unwrap();
    assert_eq!(alice["backend"], "pkcs11");
    assert_eq!(alice["attributes"]["never_extractable"], true);
    // A second run does not touch the first one's files.
    let before = snapshot(&ws);
    let r = demo(d.path(), &[]);
    assert_eq!(r.code, 0);
    assert!(
        d.path()
            .join("rootcellar-demo-2/metadata/2.root.json")
            .exists()
    );
    assert_eq!(before, snapshot(&ws));
    // An explicit folder must be new or empty.
    let r = demo(d.path(), &["--dir", ws.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("exists and is not empty"));
    let r = demo(
        d.path(),
        &["--dir", d.path().join("fresh").to_str().unwrap(), "--json"],
    );
    assert_eq!(r.code, 0);
    assert!(r.json()["result"]["steps"].as_array().unwrap().len() > 10);
}

/// Tagging keys from Docker Content Trust come along: the PEM `docker trust key generate`
/// writes (with its `role:` header) imports as the same key as the plain PEM.
#[test]
fn a_docker_tagging_key_pem_with_a_role_header_imports() {
    let w = Ws::new();
    let d = tempfile::tempdir().unwrap();
    let k = TestKey::ecdsa(53);
    let docker = k.key().keyval.public.replacen(
        "-----BEGIN PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nrole: releases\n\n",
        1,
    );
    let f = write(d.path(), "releases.pub", docker.as_bytes());
    let r = w
        .ok(&[
            "key",
            "import",
            f.to_str().unwrap(),
            "--name",
            "releases",
            "--json",
        ])
        .json();
    assert_eq!(r["result"]["keyid"], k.keyid());
    assert_eq!(r["result"]["backend"], "public");
}

#[test]
fn man_pages_and_completions_come_from_the_command_definitions() {
    let r = run({
        let mut c = rootcellar();
        c.arg("man");
        c
    });
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(".TH rootcellar 1"),
        "{}",
        &r.stdout[..200]
    );
    for cmd in [
        "init",
        "publish",
        "audit",
        "verify",
        "export",
        "delegate",
        "completions",
    ] {
        assert!(r.stdout.contains(cmd), "the page does not name {cmd}");
    }
    let d = tempfile::tempdir().unwrap();
    let r = run({
        let mut c = rootcellar();
        c.args(["man", "--out", d.path().to_str().unwrap()]);
        c
    });
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in [
        "rootcellar.1",
        "rootcellar-audit-verify.1",
        "rootcellar-key-generate.1",
    ] {
        let text = std::fs::read_to_string(d.path().join(page)).unwrap();
        assert!(text.contains(".SH SYNOPSIS"), "{page}");
    }
    let gen_page = std::fs::read_to_string(d.path().join("rootcellar-key-generate.1")).unwrap();
    assert!(
        gen_page.contains("algorithm"),
        "key generate's page lists its options"
    );
    for shell in ["bash", "zsh", "fish"] {
        let r = run({
            let mut c = rootcellar();
            c.args(["completions", shell]);
            c
        });
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(r.stdout.contains("rootcellar"), "{shell}");
        assert!(r.stdout.contains("publish"), "{shell}");
    }
    // The bash script is valid bash.
    let r = run({
        let mut c = rootcellar();
        c.args(["completions", "bash"]);
        c
    });
    let f = d.path().join("rootcellar.bash");
    std::fs::write(&f, &r.stdout).unwrap();
    let st = std::process::Command::new("bash")
        .args(["-n", f.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let r = run({
        let mut c = rootcellar();
        c.args(["completions", "tcsh"]);
        c
    });
    assert_eq!(r.code, 2, "an unknown shell is bad usage");
}

/// Issue 21: what got in a tired operator's way on the command line.
mod operator {
    use super::*;

    /// `export --qr | head` ends quietly (no panic on a closed pipe).
    #[test]
    fn a_pipe_closed_early_is_not_a_crash() {
        let w = Ws::new();
        let bin = std::env::var_os("ROOTCELLAR_TEST_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("rootcellar"));
        let mut child = std::process::Command::new(bin)
            .env("ROOTCELLAR_DIR", w.path())
            .args([
                "export",
                "--qr",
                "--file",
                data("tuf/chain/1.root.json").to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, then close the pipe.
        {
            use std::io::BufRead;
            let out = child.stdout.take().unwrap();
            let mut first = String::new();
            std::io::BufReader::new(out).read_line(&mut first).unwrap();
            assert!(!first.is_empty());
        }
        let o = child.wait_with_output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
    }

    /// `verify` stops each count at its threshold and says how many signatures it left
    /// unchecked; `--all-signatures` checks them all and names every signer, same verdict.
    #[test]
    fn verify_names_every_signer_only_when_asked() {
        let w = Ws::new();
        w.staged_v1();
        w.ok(&["sign", "--key", "r1", "--key", "r2", "--key", "r3"]);
        w.ok(&["publish"]);
        let quick = w.ok(&["verify"]);
        assert!(
            quick
                .stdout
                .contains("(+1 signature not checked: --all-signatures"),
            "{}",
            quick.stdout
        );
        let all = w.ok(&["verify", "--all-signatures"]);
        assert!(all.stdout.contains("signed by r1 ("), "{}", all.stdout);
        assert!(all.stdout.contains(", r2 ("), "{}", all.stdout);
        assert!(all.stdout.contains(", r3 ("), "{}", all.stdout);
        assert!(!all.stdout.contains("not checked"), "{}", all.stdout);
        let count = |args: &[&str]| {
            let j = w.ok(args).json();
            let by_self = j["result"]["chain"]["roots"][0]["by_self"].clone();
            assert_eq!(j["result"]["valid"], true, "{j}");
            (
                by_self["counted"].as_array().unwrap().len(),
                by_self["unchecked"].as_u64(),
            )
        };
        assert_eq!(count(&["verify", "--json"]), (2, Some(1)));
        assert_eq!(count(&["verify", "--all-signatures", "--json"]), (3, None));
    }

    /// An empty ROOTCELLAR_DIR counts as unset; inside a workspace's subfolder the workspace
    /// above is found and named; `verify` with no FILE verifies the published history.
    #[test]
    fn the_workspace_is_found_from_below_and_verify_needs_no_file() {
        let w = Ws::new();
        w.staged_v1();
        w.ok(&["sign", "--key", "r1", "--key", "r2"]);
        w.ok(&["publish"]);
        let mut c = rootcellar();
        c.current_dir(w.path().join("metadata"))
            .env("ROOTCELLAR_DIR", "")
            .env("ROOTCELLAR_SYSFS", w.sys.path())
            .args(["verify"]);
        let r = run(c);
        assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("VALID: root version 1"), "{}", r.stdout);
        // Signers by name where the workspace knows them.
        assert!(
            r.stdout.contains("signed by r1 (") || r.stdout.contains("signed by r2 ("),
            "{}",
            r.stdout
        );
        assert!(
            r.stderr
                .contains(&format!("note: workspace: {}", w.path().display())),
            "{}",
            r.stderr
        );
        // Outside any workspace, `verify` with no FILE says what to do.
        let d = tempfile::tempdir().unwrap();
        let mut c = rootcellar();
        c.current_dir(d.path())
            .env_remove("ROOTCELLAR_DIR")
            .arg("verify");
        let r = run(c);
        assert_eq!(r.code, 2, "{}", r.stderr);
        assert!(
            r.stderr.contains("not a rootcellar workspace") && r.stderr.contains("what to do"),
            "{}",
            r.stderr
        );
    }

    /// A passphrase per key for scripts (`ROOTCELLAR_PASSPHRASE_<NAME>`, `--pin-file K=FILE`);
    /// names that would share a variable are refused; a multi-key sign that stops says which
    /// signatures it kept.
    #[test]
    fn each_key_can_have_its_own_passphrase_and_a_partial_sign_says_what_it_kept() {
        let w = TestWs::new(vec![], &["init"]);
        let make = |name: &str, pass: &str| {
            let mut c = w.cmd(&["key", "generate", "--name", name, "--algorithm", "ed25519"]);
            c.env("ROOTCELLAR_PASSPHRASE", pass);
            let r = run(c);
            assert_eq!(r.code, 0, "{}", r.stderr);
        };
        make("alice", "alice's passphrase");
        make("bob-2", "bob's passphrase");
        make("carol", "carol's passphrase");
        let mut c = w.cmd(&[
            "key",
            "generate",
            "--name",
            "BOB.2",
            "--algorithm",
            "ed25519",
        ]);
        c.env("ROOTCELLAR_PASSPHRASE", "another passphrase");
        w.refused_with(
            c,
            1,
            "would share ROOTCELLAR_PASSPHRASE_BOB_2 with key \"bob-2\"",
        );
        let d = tempfile::tempdir().unwrap();
        let online = TestKey::ed25519(70).key();
        let f = write(
            d.path(),
            "o.json",
            serde_json::to_string(&online).unwrap().as_bytes(),
        );
        w.ok(&["key", "import", f.to_str().unwrap(), "--name", "online"]);
        w.ok(&[
            "root",
            "new",
            "--root-key",
            "alice",
            "--root-key",
            "bob-2",
            "--root-key",
            "carol",
            "--threshold",
            "3",
            "--targets-key",
            "online",
            "--snapshot-key",
            "online",
            "--timestamp-key",
            "online",
        ]);
        // alice by her variable, bob by a file named for him, carol's variable wrong.
        let bob_file = write(d.path(), "bob.pass", b"bob's passphrase\n");
        let mut c = w.cmd(&["sign", "--key", "alice", "--key", "bob-2", "--key", "carol"]);
        c.env("ROOTCELLAR_PASSPHRASE_ALICE", "alice's passphrase")
            .env("ROOTCELLAR_PASSPHRASE_CAROL", "not carol's")
            .arg("--pin-file")
            .arg(format!("bob-2={}", bob_file.display()));
        let r = run(c);
        assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("wrong passphrase")
                && r.stderr
                    .contains("kept before this: the signatures of alice, bob-2"),
            "{}",
            r.stderr
        );
        let st = w.ok(&["status", "--json"]).json();
        assert_eq!(
            st["result"]["staged"]["by_self"]["counted"]
                .as_array()
                .map(|a| a.len()),
            Some(2),
            "{st}"
        );
        assert_eq!(
            st["result"]["staged"]["can_still_sign"],
            serde_json::json!(["carol"])
        );
        // Carol's own variable finishes it.
        let mut c = w.cmd(&["sign", "--key", "carol"]);
        c.env("ROOTCELLAR_PASSPHRASE_CAROL", "carol's passphrase");
        assert_eq!(run(c).code, 0);
    }

    /// `key export-public` prints what `key import` (here, or in a workspace elsewhere) reads:
    /// the TUF key object under the same key ID, and PEM of the same public key.
    #[test]
    fn a_public_key_goes_out_in_the_forms_online_tools_read() {
        let w = Ws::new();
        w.keys(&[("p", "ecdsa-p384"), ("e", "ed25519")]);
        let other = Ws::new();
        for name in ["p", "e"] {
            let rec: serde_json::Value = serde_json::from_slice(
                &std::fs::read(w.path().join(format!("keys/{name}.json"))).unwrap(),
            )
            .unwrap();
            let tuf = w.ok(&["key", "export-public", name]).stdout;
            let key: serde_json::Value = serde_json::from_str(&tuf).unwrap();
            assert_eq!(key, rec["key"], "{tuf}");
            let pem = w
                .ok(&["key", "export-public", name, "--format", "pem"])
                .stdout;
            assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
            let d = tempfile::tempdir().unwrap();
            let f = write(d.path(), "k.json", tuf.as_bytes());
            let r = other
                .ok(&[
                    "key",
                    "import",
                    f.to_str().unwrap(),
                    "--name",
                    name,
                    "--json",
                ])
                .json();
            assert_eq!(r["result"]["keyid"], rec["keyid"]);
            // The PEM is the same public key: importing it too is refused as a duplicate.
            let f = write(d.path(), "k.pem", pem.as_bytes());
            other.refused(
                &[
                    "key",
                    "import",
                    f.to_str().unwrap(),
                    "--name",
                    &format!("{name}2"),
                ],
                1,
                "this public key is registered already",
            );
        }
    }

    /// One envelope for every command: a check that does not hold is `ok: false` with its
    /// error and its result; usage errors with --json are JSON too.
    #[test]
    fn the_json_envelope_is_one_shape() {
        let files = [data("tuf/chain/2.root.json"), data("tuf/chain/1.root.json")];
        let r = verify(&files, &["--json"]);
        assert_eq!(r.code, 1, "{}", r.stdout);
        let j = r.json();
        assert_eq!(
            (j["schema"].as_u64(), j["ok"].as_bool()),
            (Some(2), Some(false)),
            "{j}"
        );
        assert_eq!(j["error"]["kind"], "refused");
        assert_eq!(j["error"]["exit_code"], 1);
        assert!(
            j["error"]["message"]
                .as_str()
                .unwrap()
                .contains("exactly one"),
            "{j}"
        );
        assert_eq!(j["result"]["valid"], false);
        let mut c = rootcellar();
        c.args(["--json", "verify", "--no-such-option"]);
        let r = run(c);
        assert_eq!(r.code, 2);
        let j = r.json();
        assert_eq!(
            (j["ok"].as_bool(), j["error"]["exit_code"].as_i64()),
            (Some(false), Some(2)),
            "{j}"
        );
        assert_eq!(j["error"]["kind"], "bad-input");
    }

    /// The clock is confirmed before the first secret of a signing session: at a terminal the
    /// question comes before the passphrase prompt; a script says so with ROOTCELLAR_CLOCK_OK=1;
    /// neither: refused, nothing signed; the transcript records how it was confirmed.
    #[test]
    fn the_clock_is_confirmed_before_the_first_secret() {
        let w = Ws::new();
        w.staged_v1();
        let mut c = w.cmd(&["sign", "--key", "r1"]);
        c.env_remove("ROOTCELLAR_CLOCK_OK");
        w.refused_with(c, 2, "the clock must be confirmed before a key signs");
        w.ok(&["sign", "--key", "r1"]);
        let log = std::fs::read_to_string(w.path().join("audit.log")).unwrap();
        let last = log
            .lines()
            .rev()
            .find(|l| l.contains("signature-added"))
            .unwrap();
        assert!(
            last.contains("confirmed by ROOTCELLAR_CLOCK_OK=1"),
            "{last}"
        );
        // At a terminal: the time and the question first, the passphrase after a "y".
        let bin = std::env::var_os("ROOTCELLAR_TEST_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| assert_cmd::cargo::cargo_bin("rootcellar"));
        let cmd = format!(
            "env -u ROOTCELLAR_CLOCK_OK -u ROOTCELLAR_PASSPHRASE ROOTCELLAR_DIR={} ROOTCELLAR_SYSFS={} {} sign --key r2; sleep 30",
            w.path().display(),
            w.sys.path().display(),
            bin.display()
        );
        let tm = crate::tui::Tmux::start("clock-before-secret", &cmd);
        let screen = tm.wait_for("Is it right? [y/N]");
        assert!(!screen.contains("passphrase for"), "{screen}");
        tm.type_text("y");
        tm.keys(&["Enter"]);
        tm.wait_for("passphrase for key r2");
        tm.type_text(PASS);
        tm.keys(&["Enter"]);
        tm.wait_for("Signed root version 1 with r2");
        let _ = std::process::Command::new("tmux")
            .args(["-L", "clock-before-secret", "kill-server"])
            .status();
        let log = std::fs::read_to_string(w.path().join("audit.log")).unwrap();
        let last = log
            .lines()
            .rev()
            .find(|l| l.contains("signature-added"))
            .unwrap();
        assert!(last.contains("confirmed at the terminal"), "{last}");
    }

    /// `rotate` with --expires; an unknown role is bad input (exit 2); a mistyped key name
    /// gets a "did you mean".
    #[test]
    fn rotate_takes_an_expiry_and_names_mistakes() {
        let w = Ws::new();
        w.published_v1();
        w.keys(&[("r4", "ecdsa-p256")]);
        w.refused(
            &["rotate", "rooot", "--old", "r3", "--new", "r4"],
            2,
            "\"rooot\" is not a role of a root",
        );
        let r = w.refused(
            &["rotate", "root", "--old", "r33", "--new", "r4"],
            2,
            "no key named \"r33\"",
        );
        assert!(r.stderr.contains("did you mean r3?"), "{}", r.stderr);
        // Keys are named in errors, not by 64-hex key IDs (issue 21).
        let r = w.run(&["rotate", "root", "--old", "r3", "--new", "r1"]);
        assert_ne!(r.code, 0);
        assert!(r.stderr.contains("r1"), "{}", r.stderr);
        assert!(
            !r.stderr
                .split(|c: char| !c.is_ascii_hexdigit())
                .any(|w| w.len() == 64),
            "{}",
            r.stderr
        );
        let r = w
            .ok(&[
                "rotate",
                "root",
                "--old",
                "r3",
                "--new",
                "r4",
                "--expires",
                "2028-03-01",
                "--json",
            ])
            .json();
        assert_eq!(r["result"]["expires"], "2028-03-01T00:00:00Z", "{r}");
        // The new expiry is said, beside the one it replaces (issue 21).
        assert!(
            r["notices"]
                .to_string()
                .contains("root version 2 expires 2028-03-01T00:00:00Z (version 1 expires"),
            "{r}"
        );
        // Problems one per entry, not joined (issue 21).
        let problems = r["result"]["status"]["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 2, "{r}");
        assert!(
            problems.iter().all(|p| !p.as_str().unwrap().contains("; ")),
            "{r}"
        );
    }
}

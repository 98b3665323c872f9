//! Issue 18.13: an unreadable `/sys` made the air-gap guard pass (and the transcript say
//! "offline"); a `--pin-file` readable by others gave no warning; `ROOTCELLAR_PASSPHRASE=a`
//! made a key; `merge` of a detached signature with a non-hex `sig` reported success and
//! rewrote the staged root.
use super::{json_file, put_json_file};
use crate::cli::Ws;
use crate::support::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn the_guard_fails_closed() {
    let w = Ws::new();
    w.published_v1();
    w.ok(&["refresh", "--expires", "200d"]);
    // A /sys whose network interfaces cannot be listed.
    let empty = tempfile::tempdir().unwrap();
    let mut c = w.cmd(&["sign", "--key", "r1"]);
    c.env("ROOTCELLAR_SYSFS", empty.path());
    let r = w.refused_with(c, 3, "cannot");
    assert!(!r.stdout.contains("Signed"), "{}", r.stdout);
    // --allow-online still overrides, and the transcript says so.
    let mut c = w.cmd(&["sign", "--key", "r1", "--allow-online"]);
    c.env("ROOTCELLAR_SYSFS", empty.path());
    assert_eq!(run(c).code, 0);
    let log = std::fs::read_to_string(w.path().join("audit.log")).unwrap();
    assert!(
        !log.lines().last().unwrap().contains("guard passed"),
        "{log}"
    );
}

#[test]
fn secrets_are_checked() {
    let w = Ws::new();
    // A new key's passphrase from the environment follows the terminal's rule.
    let mut c = w.cmd(&["key", "generate", "--name", "k", "--algorithm", "ed25519"]);
    c.env("ROOTCELLAR_PASSPHRASE", "a");
    w.refused_with(c, 2, "at least 8 characters");
    // A secret file others can read is used, with a warning.
    w.ok(&["key", "generate", "--name", "k", "--algorithm", "ed25519"]);
    let d = tempfile::tempdir().unwrap();
    let f = write(
        d.path(),
        "pass",
        format!("{}\n", crate::cli::PASS).as_bytes(),
    );
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut c = w.cmd(&["--pin-file", f.to_str().unwrap(), "drill", "--key", "k"]);
    c.env_remove("ROOTCELLAR_PASSPHRASE");
    let r = run(c);
    assert!(
        r.stderr.contains("can be read by others than its owner"),
        "{}{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn merge_refuses_a_signature_it_cannot_decode() {
    let w = Ws::new();
    w.published_v1();
    w.ok(&["refresh", "--expires", "200d"]);
    let d = tempfile::tempdir().unwrap();
    let det = d.path().join("r1.sig.json");
    w.ok(&["sign", "--detached", det.to_str().unwrap(), "--key", "r1"]);
    let mut v = json_file(&det);
    v["sig"] = "not hex at all!".into();
    put_json_file(&det, &v);
    w.refused(&["merge", det.to_str().unwrap()], 1, "sig");
}

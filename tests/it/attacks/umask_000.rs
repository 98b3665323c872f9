//! Issue 18.10: under `umask 000` the workspace folders were created 0777. Modes are explicit:
//! folders 0700, secrets 0600, published metadata 0644, whatever the umask.
use crate::support::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn modes_are_explicit() {
    let d = TestDir::new();
    let sys = offline_sysfs();
    let bin = match std::env::var_os("ROOTCELLAR_TEST_BIN") {
        Some(b) => std::path::PathBuf::from(b),
        None => std::path::PathBuf::from(env!("CARGO_BIN_EXE_rootcellar")),
    };
    let ws = d.path().join("w");
    let sh = |args: &str| {
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("umask 000; exec \"$BIN\" {args}"))
            .env("BIN", &bin)
            .env("ROOTCELLAR_DIR", &ws)
            .env("ROOTCELLAR_SYSFS", sys.path())
            .env("ROOTCELLAR_PASSPHRASE", "test passphrase 1")
            .env("ROOTCELLAR_CLOCK_OK", "1")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    sh("init --name example.com/umask");
    for (n, a) in [("r1", "ed25519"), ("r2", "ecdsa-p256")] {
        sh(&format!("key generate --name {n} --algorithm {a}"));
    }
    sh(
        "root new --root-key r1 --root-key r2 --threshold 1 --targets-key r2 --snapshot-key r2 --timestamp-key r2",
    );
    sh("sign --key r1");
    sh("publish");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for dir in ["", "keys", "staged", "metadata"] {
        let p = ws.join(dir);
        if p.exists() {
            assert_eq!(mode(&p), 0o700, "{} is {:o}", p.display(), mode(&p));
        }
    }
    for f in [
        "keys/r1.key.pem",
        "keys/r2.key.pem",
        "audit.log",
        "keys/r1.json",
    ] {
        assert_eq!(mode(&ws.join(f)), 0o600, "{f} is {:o}", mode(&ws.join(f)));
    }
    for f in ["metadata/1.root.json", "metadata/root.json"] {
        assert_eq!(mode(&ws.join(f)), 0o644, "{f} is {:o}", mode(&ws.join(f)));
    }
}

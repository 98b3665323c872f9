//! Fault injection: publish, sign, refresh and export are crashed at every write step
//! (`ROOTCELLAR_TEST_CRASH_AT=N` aborts the process there, as a kill would). After each crash
//! every file holds its old bytes or its complete new bytes, the transcript's chain holds, and
//! running the command again finishes the job.

use crate::cli::{PASS, Ws};
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

/// Runs `args` in workspace `ws`; `crash_at` aborts it at that write step.
fn run(w: &Ws, ws: &Path, args: &[&str], crash_at: Option<u64>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rootcellar"));
    c.env("ROOTCELLAR_DIR", ws)
        .env("ROOTCELLAR_SYSFS", w.sys.path())
        .env("ROOTCELLAR_PASSPHRASE", PASS)
        .env("ROOTCELLAR_CLOCK_OK", "1")
        .env_remove("ROOTCELLAR_TEST_CRASH_AT")
        .current_dir(ws)
        .args(args);
    if let Some(n) = crash_at {
        c.env("ROOTCELLAR_TEST_CRASH_AT", n.to_string());
    }
    c.output().unwrap()
}

/// A key record without its `created_at` and `destroyed_at` lines: a rerun after a crash
/// registers (or destroys) the key at another second.
fn without_times(rel: &Path, bytes: Vec<u8>) -> Vec<u8> {
    if !rel.starts_with("ws/keys") {
        return bytes;
    }
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| !l.contains("\"created_at\"") && !l.contains("\"destroyed_at\""))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn is_temp(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(".rootcellar-") && n.ends_with(".tmp"))
}

/// Crashes `args` at step 1, 2, … until it completes; after each crash checks that every file
/// (relative to the workspace copy) holds its before- or after-bytes, that the transcript's
/// chain holds, and that running the command again completes with the after-state. Returns the
/// number of crashes.
/// `between` accepts the whole intermediate states a command writes on purpose (a sign with two
/// keys writes the first signature before it asks for the second).
fn crash_everywhere(
    w: &Ws,
    args: &[&str],
    extra_dir: Option<&str>,
    between: &dyn Fn(&Path, &[u8]) -> bool,
) -> u64 {
    let template = w.path();
    let rel = |root: &Path, m: BTreeMap<PathBuf, Vec<u8>>| -> BTreeMap<PathBuf, Vec<u8>> {
        m.into_iter()
            .filter(|(p, _)| !is_temp(p) && !p.ends_with(".lock"))
            .map(|(p, b)| {
                let r = p.strip_prefix(root).unwrap().to_path_buf();
                let b = without_times(&r, b);
                (r, b)
            })
            .collect()
    };
    // The state before and after an uninterrupted run, in a copy.
    let clean = tempfile::tempdir().unwrap();
    let cws = clean.path().join("ws");
    copy_dir(template, &cws);
    if let Some(d) = extra_dir {
        std::fs::create_dir_all(clean.path().join(d)).unwrap();
    }
    let before = rel(clean.path(), files(clean.path()));
    let o = run(w, &cws, args, None);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after = rel(clean.path(), files(clean.path()));
    assert_ne!(before, after, "{args:?} changed nothing");
    let transcript = |m: &BTreeMap<PathBuf, Vec<u8>>| {
        m.get(Path::new("ws/audit.log"))
            .cloned()
            .unwrap_or_default()
    };

    let mut crashes = 0;
    for n in 1.. {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path().join("ws");
        copy_dir(template, &ws);
        if let Some(x) = extra_dir {
            std::fs::create_dir_all(d.path().join(x)).unwrap();
        }
        let o = run(w, &ws, args, Some(n));
        if o.status.success() {
            // Step n is past the last write: the command completed.
            let mut done = rel(d.path(), files(d.path()));
            let mut want = after.clone();
            let log = PathBuf::from("ws/audit.log");
            assert!(done.remove(&log).is_some() && want.remove(&log).is_some());
            assert_eq!(done, want);
            break;
        }
        assert_eq!(
            o.status.signal(),
            Some(6),
            "{args:?} at step {n} failed instead of crashing: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        crashes += 1;
        let now = rel(d.path(), files(d.path()));
        for (p, bytes) in &now {
            if p == Path::new("ws/audit.log") {
                continue;
            }
            assert!(
                before.get(p) == Some(bytes) || after.get(p) == Some(bytes) || between(p, bytes),
                "{args:?} crashed at step {n}: {} holds neither its old nor its new bytes",
                p.display()
            );
        }
        for p in before.keys() {
            assert!(
                now.contains_key(p) || !after.contains_key(p),
                "{args:?} crashed at step {n}: {} vanished",
                p.display()
            );
        }
        // The transcript: old, or old plus whole lines, its chain intact.
        let t = transcript(&now);
        assert!(t.starts_with(&transcript(&before)));
        rootcellar::audit::check(std::str::from_utf8(&t).unwrap())
            .unwrap_or_else(|b| panic!("{args:?} crashed at step {n}: transcript {b}"));
        // Running it again finishes the job, and leaves no temp file in the workspace. Only a
        // job the crash found complete may be refused by the rerun (`delegate add` of a role
        // now delegated), with what to do.
        let o = run(w, &ws, args, None);
        if !o.status.success() {
            let mut done = rel(d.path(), files(d.path()));
            let mut want = after.clone();
            done.remove(Path::new("ws/audit.log"));
            want.remove(Path::new("ws/audit.log"));
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                done == want && err.contains("what to do"),
                "{args:?} after a crash at step {n} did not finish: {err}"
            );
        }
        let again = files(d.path());
        for (p, bytes) in &after {
            if p == Path::new("ws/audit.log") {
                continue;
            }
            assert_eq!(
                again
                    .get(&d.path().join(p))
                    .map(|b| without_times(p, b.clone()))
                    .as_ref(),
                Some(bytes),
                "{args:?}: after a crash at step {n} and a rerun, {} differs",
                p.display()
            );
        }
        let stale: Vec<_> = again
            .keys()
            .filter(|p| is_temp(p) && p.starts_with(&ws) && !p.ends_with(".lock"))
            .collect();
        let o = run(w, &ws, &["audit", "verify"], None);
        assert!(
            o.status.success(),
            "{args:?} after a crash at step {n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // Temp files left by the crash in the workspace are removed by the next writing
        // command (the rerun took the lock before writing).
        assert!(
            stale.is_empty(),
            "{args:?} step {n}: stale temp files {stale:?}"
        );
    }
    crashes
}

#[test]
fn publish_sign_refresh_and_export_survive_a_crash_at_every_write_step() {
    let mut total = 0;
    // Publish: version 2 staged and signed.
    let w = Ws::new();
    w.published_v1();
    w.ok(&["refresh", "--expires", "2027-06-01"]);
    let sign_template = {
        let t = Ws::new();
        copy_dir(w.path(), t.path());
        t
    };
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    let none = |_: &Path, _: &[u8]| false;
    total += crash_everywhere(&w, &["publish"], None, &none);
    // Sign with two keys, one signature written at a time.
    let staged = std::fs::read(sign_template.path().join("staged/root.json")).unwrap();
    let unsigned = rootcellar::tuf::Metadata::<rootcellar::tuf::Root>::from_bytes(&staged).unwrap();
    // The staged root signed by r1 alone: whole, same signed part, one signature.
    let one_signature = |p: &Path, b: &[u8]| {
        p == Path::new("ws/staged/root.json")
            && rootcellar::tuf::Metadata::<rootcellar::tuf::Root>::from_bytes(b).is_ok_and(|m| {
                m.canonical_signed() == unsigned.canonical_signed() && m.signatures.len() == 1
            })
    };
    total += crash_everywhere(
        &sign_template,
        &["sign", "--key", "r1", "--key", "r2"],
        None,
        &one_signature,
    );
    // Export of the history to a stick (a folder next to the workspace).
    w.ok(&["publish"]);
    total += crash_everywhere(&w, &["export", "--to", "../usb"], Some("usb"), &none);
    // Staging the next version.
    total += crash_everywhere(&w, &["refresh", "--expires", "2027-07-01"], None, &none);
    eprintln!("crashed at {total} write steps, every one recovered");
    // A floor that shows the injection reaches every write (84 since the staged digest moved
    // from staged/state.json into the transcript).
    assert!(total >= 80, "only {total} crash points");
}

/// Issue 23: `adopt` crashed at any write step leaves either nothing adopted or the whole
/// history (never a shorter history that looks complete), and a rerun finishes it.
#[test]
fn adopt_survives_a_crash_at_every_write_step() {
    let w = Ws::new();
    let src = crate::support::data("tuf/chain");
    let none = |_: &Path, _: &[u8]| false;
    let n = crash_everywhere(&w, &["adopt", src.to_str().unwrap()], None, &none);
    assert!(n >= 20, "only {n} crash points");
}

/// Issue 23, item 1: after an adopt crashed midway, `status` and `audit verify` say it was
/// interrupted (not a complete-looking shorter history), `refresh` cannot fork it, and the same
/// adopt run again finishes it.
#[test]
fn an_interrupted_adopt_is_reported_and_finished_never_forked() {
    let w = Ws::new();
    let src = crate::support::data("tuf/chain");
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    copy_dir(w.path(), &ws);
    // Crash after the transcript line and some files (step 20: past the line and key records).
    let o = run(&w, &ws, &["adopt", src.to_str().unwrap()], Some(20));
    assert_eq!(o.status.signal(), Some(6));
    assert!(
        ws.join("metadata/1.root.json").exists() || ws.join("keys").read_dir().unwrap().count() > 0
    );
    assert!(!ws.join("metadata/root.json").exists());
    for args in [&["status"][..], &["audit", "verify"], &["refresh"]] {
        let o = run(&w, &ws, args, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("was interrupted") && err.contains("rootcellar adopt SOURCE"),
            "{args:?}: {err}"
        );
    }
    assert!(
        !ws.join("staged/root.json").exists(),
        "refresh staged a fork"
    );
    let o = run(&w, &ws, &["adopt", src.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("finishing the adopt of"), "{err}");
    assert!(run(&w, &ws, &["status"], None).status.success());
    assert!(run(&w, &ws, &["audit", "verify"], None).status.success());
    assert!(ws.join("metadata/3.root.json").exists() && ws.join("metadata/root.json").exists());
}

/// Issue 23, item 2: `import qr` of the next version, crashed at any write step, is finished
/// by the same import run again (never "nothing to write" with root.json left behind).
#[test]
fn import_qr_survives_a_crash_at_every_write_step() {
    let w = Ws::new();
    w.published_v1();
    let template = Ws::new();
    copy_dir(w.path(), template.path());
    w.ok(&["refresh", "--expires", "2027-06-01"]);
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    w.ok(&["publish"]);
    let d = tempfile::tempdir().unwrap();
    let frames = d.path().join("frames.txt");
    w.ok(&["export", "--qr", "--text", frames.to_str().unwrap()]);
    let none = |_: &Path, _: &[u8]| false;
    let n = crash_everywhere(
        &template,
        &["import", "qr", frames.to_str().unwrap()],
        None,
        &none,
    );
    assert!(n >= 10, "only {n} crash points");
}

/// Issue 23, item 3: `delegate add` crashed at any write step never blocks the next delegate
/// command ("N.targets.json already exists"): the same command run again finishes the
/// publication when its file was written, or rolls it back and publishes anew.
#[test]
fn delegate_add_survives_a_crash_at_every_write_step() {
    let w = Ws::new();
    w.keys(&[
        ("r1", "ecdsa-p256"),
        ("tk", "ed25519"),
        ("release", "ed25519"),
    ]);
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
        "tk",
        "--timestamp-key",
        "tk",
    ]);
    w.ok(&["sign", "--key", "r1"]);
    w.ok(&["publish"]);
    let none = |_: &Path, _: &[u8]| false;
    let args = [
        "delegate",
        "add",
        "targets/releases",
        "--key",
        "release",
        "--expires",
        "2027-06-01",
    ];
    let n = crash_everywhere(&w, &args, None, &none);
    assert!(n >= 10, "only {n} crash points");
    // And a second delegate command after a crash in the middle of the first goes through.
    let d = tempfile::tempdir().unwrap();
    let ws = d.path().join("ws");
    copy_dir(w.path(), &ws);
    let o = run(&w, &ws, &args, Some(8));
    assert_eq!(o.status.signal(), Some(6));
    let o = run(&w, &ws, &["status"], None);
    assert!(!o.status.success() && String::from_utf8_lossy(&o.stderr).contains("was interrupted"));
    let o = run(&w, &ws, &args, None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(
        &w,
        &ws,
        &[
            "delegate",
            "add",
            "targets/nightly",
            "--key",
            "release",
            "--expires",
            "2027-06-01",
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(run(&w, &ws, &["audit", "verify"], None).status.success());
}

/// Issue 23, item 3: `delegate rotate` and `delegate remove` crashed at any write step: the
/// workspace is old-or-new, the transcript holds, and the rerun completes.
#[test]
fn delegate_rotate_and_remove_survive_a_crash_at_every_write_step() {
    let w = Ws::new();
    w.keys(&[
        ("r1", "ecdsa-p256"),
        ("tk", "ed25519"),
        ("release", "ed25519"),
        ("release2", "ed25519"),
    ]);
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
        "tk",
        "--timestamp-key",
        "tk",
    ]);
    w.ok(&["sign", "--key", "r1"]);
    w.ok(&["publish"]);
    w.ok(&[
        "delegate",
        "add",
        "targets/releases",
        "--key",
        "release",
        "--expires",
        "2027-06-01",
    ]);
    let none = |_: &Path, _: &[u8]| false;
    let rotate = [
        "delegate",
        "rotate",
        "targets/releases",
        "--old",
        "release",
        "--new",
        "release2",
        "--expires",
        "2027-06-01",
    ];
    let n = crash_everywhere(&w, &rotate, None, &none);
    assert!(n >= 10, "rotate: only {n} crash points");
    let remove = [
        "delegate",
        "remove",
        "targets/releases",
        "--expires",
        "2027-06-01",
    ];
    let n = crash_everywhere(&w, &remove, None, &none);
    assert!(n >= 10, "remove: only {n} crash points");
}

/// Issue 23, item 5: `key generate` (software) crashed at any write step: the workspace stays
/// consistent (`audit verify`), a rerun under the same name works (a key file the crash left
/// without a record is set aside, kept), and the key it registers signs.
#[test]
fn key_generate_survives_a_crash_at_every_write_step() {
    let w = Ws::new();
    let mut crashes = 0;
    for n in 1.. {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path().join("ws");
        copy_dir(w.path(), &ws);
        let args = ["key", "generate", "--name", "k", "--algorithm", "ed25519"];
        let o = run(&w, &ws, &args, Some(n));
        if o.status.success() {
            break;
        }
        assert_eq!(
            o.status.signal(),
            Some(6),
            "step {n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        crashes += 1;
        assert!(
            run(&w, &ws, &["audit", "verify"], None).status.success(),
            "step {n}: audit verify"
        );
        let o = run(&w, &ws, &args, None);
        let err = String::from_utf8_lossy(&o.stderr);
        // Registered already (the crash came after the record): says so; else it finishes.
        assert!(
            o.status.success() || err.contains("exists already"),
            "step {n}: {err}"
        );
        assert!(run(&w, &ws, &["audit", "verify"], None).status.success());
        let o = run(&w, &ws, &["drill", "--key", "k"], None);
        assert!(
            o.status.success(),
            "step {n}: the key does not sign: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let keys: Vec<String> = std::fs::read_dir(ws.join("keys"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert!(
            keys.contains(&"k.json".to_string()) && keys.contains(&"k.key.pem".to_string()),
            "{keys:?}"
        );
    }
    assert!(crashes >= 8, "only {crashes} crash points");
}

/// Issue 23, item 5: `key destroy` (software) crashed at any write step: a rerun finishes it.
#[test]
fn key_destroy_survives_a_crash_at_every_write_step() {
    let w = Ws::new();
    w.keys(&[("old", "ed25519")]);
    let none = |_: &Path, _: &[u8]| false;
    let n = crash_everywhere(
        &w,
        &["key", "destroy", "old", "--confirm", "old"],
        None,
        &none,
    );
    assert!(n >= 5, "only {n} crash points");
}

/// Issue 23, item 4: `import notary` crashed at any write step never leaves the root without
/// its targets (a later delegation would roll the repository's delegations back): the same
/// import run again finishes it.
#[test]
fn import_notary_survives_a_crash_at_every_write_step() {
    let w = Ws::with_init(&[
        "init",
        "--format",
        "notary",
        "--gun",
        "docker.com/notary0.3/tst",
    ]);
    let src = crate::support::data("notary/notary0.3");
    let none = |_: &Path, _: &[u8]| false;
    let n = crash_everywhere(
        &w,
        &["import", "notary", src.to_str().unwrap()],
        None,
        &none,
    );
    assert!(n >= 10, "only {n} crash points");
}

/// Issue 23: `merge` of signatures made apart and `request export` crashed at any write step:
/// the workspace is old-or-new, the transcript holds, and a rerun completes.
#[test]
fn merge_and_request_export_survive_a_crash_at_every_write_step() {
    let w = Ws::new();
    w.staged_v1();
    let xfer = tempfile::tempdir().unwrap();
    let req = xfer.path().join("request.json");
    std::fs::copy(w.path().join("staged/root.json"), &req).unwrap();
    w.ok(&["sign", "--file", req.to_str().unwrap(), "--key", "r1"]);
    let none = |_: &Path, _: &[u8]| false;
    let n = crash_everywhere(&w, &["merge", req.to_str().unwrap()], None, &none);
    assert!(n >= 5, "only {n} crash points");
    let n = crash_everywhere(
        &w,
        &["request", "export", "--out", "../out/request.json"],
        Some("out"),
        &none,
    );
    assert!(n >= 5, "only {n} crash points");
}

/// Issue 23: `notary root` (a Notary workspace's next root, with a certificate made for its
/// root key) and `notary certificate` crashed at any write step: `audit verify` passes, the
/// rerun completes (or says the work is there already), and the staged root signs and
/// publishes. Certificates are made anew on a rerun (a new serial and start time), so the
/// states are compared by what they allow, not byte for byte.
#[test]
fn notary_commands_survive_a_crash_at_every_write_step() {
    let template = Ws::with_init(&["init", "--format", "notary", "--gun", "example.com/app"]);
    template.keys(&[("h1", "ecdsa-p256"), ("online", "ecdsa-p256")]);
    let stage = [
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
    ];
    for (args, done_already) in [
        (&["notary", "certificate", "--key", "h1"][..], "already"),
        (&stage[..], "staged already"),
    ] {
        let mut crashes = 0;
        for n in 1.. {
            let d = tempfile::tempdir().unwrap();
            let ws = d.path().join("ws");
            copy_dir(template.path(), &ws);
            let o = run(&template, &ws, args, Some(n));
            if o.status.success() {
                break;
            }
            assert_eq!(
                o.status.signal(),
                Some(6),
                "{args:?} step {n}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            crashes += 1;
            let audit = run(&template, &ws, &["audit", "verify"], None);
            assert!(
                audit.status.success(),
                "{args:?} step {n}: {}",
                String::from_utf8_lossy(&audit.stderr)
            );
            let o = run(&template, &ws, args, None);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                o.status.success() || err.contains(done_already),
                "{args:?} step {n}: {err}"
            );
            // What the command was for works: stage (if needed), sign, publish.
            if args[1] == "certificate" {
                let o = run(&template, &ws, &stage, None);
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            }
            for a in [
                &["sign", "--key", "h1"][..],
                &["publish"][..],
                &["audit", "verify"][..],
            ] {
                let o = run(&template, &ws, a, None);
                assert!(
                    o.status.success(),
                    "{args:?} step {n}, then {a:?}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        assert!(crashes >= 3, "{args:?}: only {crashes} crash points");
    }
}

/// Issue 23: `notary handover` (a statement that hands a Notary repository over to a TUF root)
/// crashed at any write step: `audit verify` passes, and the rerun either writes the statement
/// (the crash came after the transcript's line, before the file) or, the statement being whole,
/// refuses to overwrite it and says what to do; the statement on disk is always whole.
#[test]
fn notary_handover_survives_a_crash_at_every_write_step() {
    let gun = "example.com/app";
    let notary = Ws::with_init(&["init", "--format", "notary", "--gun", gun]);
    notary.keys(&[("h1", "ecdsa-p256"), ("online", "ecdsa-p256")]);
    notary.ok(&[
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
    notary.ok(&["sign", "--key", "h1"]);
    notary.ok(&["publish"]);
    let tuf = Ws::new();
    tuf.staged_v1();
    tuf.ok(&["sign", "--key", "r1", "--key", "r2"]);
    tuf.ok(&["publish"]);
    let tuf_root = tuf.path().join("metadata/1.root.json");
    let mut crashes = 0;
    for n in 1.. {
        let d = tempfile::tempdir().unwrap();
        let ws = d.path().join("ws");
        copy_dir(notary.path(), &ws);
        let out = d.path().join("handover.json");
        let args = [
            "notary",
            "handover",
            "--tuf-root",
            tuf_root.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--key",
            "h1",
        ];
        let o = run(&notary, &ws, &args, Some(n));
        if o.status.success() {
            break;
        }
        assert_eq!(
            o.status.signal(),
            Some(6),
            "step {n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        crashes += 1;
        let audit = run(&notary, &ws, &["audit", "verify"], None);
        assert!(
            audit.status.success(),
            "step {n}: {}",
            String::from_utf8_lossy(&audit.stderr)
        );
        // Never a part of a statement.
        if out.exists() {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap())
                .unwrap_or_else(|e| panic!("step {n}: the statement is not whole: {e}"));
            assert_eq!(
                v["signatures"].as_array().map(Vec::len),
                Some(1),
                "step {n}"
            );
        }
        let o = run(&notary, &ws, &args, None);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success()
                || (err.contains("does not overwrite a hand-over") && err.contains("what to do")),
            "step {n}: {err}"
        );
        assert!(out.exists(), "step {n}: no statement after the rerun");
        let o = run(
            &notary,
            &ws,
            &[
                "notary",
                "check-handover",
                out.to_str().unwrap(),
                "--notary-root",
                ws.join("metadata/1.root.json").to_str().unwrap(),
                "--tuf-root",
                tuf_root.to_str().unwrap(),
            ],
            None,
        );
        assert!(
            o.status.success(),
            "step {n}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(crashes >= 5, "only {crashes} crash points");
}

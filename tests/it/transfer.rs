//! USB export and QR frames, end to end: files written, QR images rendered and decoded again.

use crate::hsm::HsmWs;
use crate::support::*;
use rootcellar::transfer::{qr, render};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A signed root of about `target` bytes (padded with root keys).
fn root_of_size(target: usize) -> Vec<u8> {
    let signer = TestKey::ecdsa(1);
    let mut keys: Vec<TestKey> = vec![];
    let mut n = 1u8;
    loop {
        let refs: Vec<&TestKey> = std::iter::once(&signer).chain(keys.iter()).collect();
        let md = signed(root(1, &refs, 1, FUTURE), &[&signer]);
        let bytes = md.to_file_bytes();
        if bytes.len() >= target || n == 250 {
            return bytes;
        }
        n += 1;
        keys.push(if n.is_multiple_of(2) {
            TestKey::ecdsa(n)
        } else {
            TestKey::ed25519(n)
        });
    }
}

fn round_trip(file: &[u8], version: i16, ec: &str) -> usize {
    let level = qr::ec_level(ec).unwrap();
    let frames = qr::encode(file, qr::chunk_size(version, level).unwrap()).unwrap();
    let mut texts = Vec::new();
    for f in &frames {
        let png = render::to_png(&qr::frame_code(f, version, level).unwrap(), 2).unwrap();
        for t in render::decode_image(&png).unwrap() {
            texts.push((format!("frame {}", f.index), t));
        }
    }
    let a = qr::assemble(&texts).unwrap();
    assert_eq!(a.file.as_deref(), Some(file), "version {version}-{ec}");
    frames.len()
}

#[test]
fn png_round_trips_for_roots_of_1_to_30_kb_and_every_error_correction_level() {
    let small = root_of_size(1000);
    let mid = root_of_size(4000);
    let big = root_of_size(30_000);
    assert!(
        small.len() >= 1000 && big.len() >= 30_000,
        "{} {}",
        small.len(),
        big.len()
    );
    for ec in ["L", "M", "Q", "H"] {
        let level = qr::ec_level(ec).unwrap();
        let min = qr::min_version(level);
        for v in [15, 25] {
            round_trip(&mid, v, ec);
        }
        // The smallest version that carries a frame, on a small file; one below is refused.
        round_trip(&small[..200], min, ec);
        assert!(qr::chunk_size(min - 1, level).is_err());
    }
    round_trip(&small, 15, "M");
    round_trip(&small, 5, "L");
    let n = round_trip(&big, 25, "L");
    assert!(n >= 2, "a 30 KB root needs several frames, got {n}");
    round_trip(&big, 40, "M");
}

fn frames_text(w: &HsmWs, extra: &[&str]) -> Vec<String> {
    let t = w.dir.path().join("../frames.txt");
    let mut args = vec![
        "export",
        "--qr",
        "--text",
        t.to_str().unwrap(),
        "--qr-version",
        "6",
    ];
    args.extend(extra);
    w.ok(&args);
    std::fs::read_to_string(&t)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn published(w: &HsmWs, versions: u64) {
    w.ok(&["key", "generate", "--name", "a", "--algorithm", "ed25519"]);
    w.ok(&["key", "generate", "--name", "b"]);
    let t = TestKey::ed25519(80).key();
    let f = write(
        w.dir.path(),
        "../t.json",
        serde_json::to_string(&t).unwrap().as_bytes(),
    );
    w.ok(&["key", "import", f.to_str().unwrap(), "--name", "t"]);
    w.ok(&[
        "root",
        "new",
        "--root-key",
        "a",
        "--root-key",
        "b",
        "--threshold",
        "2",
        "--targets-key",
        "t",
        "--snapshot-key",
        "t",
        "--timestamp-key",
        "t",
    ]);
    w.ok(&["sign", "--key", "a", "--key", "b"]);
    w.ok(&["publish"]);
    for _ in 1..versions {
        w.ok(&["refresh"]);
        w.ok(&["sign", "--key", "a", "--key", "b"]);
        w.ok(&["publish"]);
    }
}

#[test]
fn export_qr_png_and_text_import_back_with_shuffled_duplicated_foreign_missing_and_corrupted_frames()
 {
    let w = HsmWs::new("qr");
    published(&w, 1);
    let root = std::fs::read(w.dir.path().join("metadata/root.json")).unwrap();
    // PNG files, decoded from the images.
    let pngs = w.dir.path().join("../png");
    let r = w
        .ok(&[
            "export",
            "--qr",
            "--png",
            pngs.to_str().unwrap(),
            "--qr-version",
            "8",
            "--ec",
            "Q",
            "--json",
        ])
        .json();
    let n = r["result"]["frames"].as_u64().unwrap() as usize;
    assert!(n >= 2, "{r}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&pngs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.reverse();
    let out = w.dir.path().join("../imported.json");
    let mut args: Vec<String> = vec!["import".into(), "qr".into()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    args.extend(["--out".into(), out.display().to_string()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    w.ok(&refs);
    assert_eq!(std::fs::read(&out).unwrap(), root);

    // Text frames: shuffled, one duplicated, a frame of another export mixed in.
    let mut lines = frames_text(&w, &[]);
    let total = lines.len();
    assert!(total >= 3);
    lines.reverse();
    lines.push(lines[0].clone());
    let other = qr::encode(b"{\"not\": \"this\"}", 100).unwrap()[0].to_text();
    lines.insert(1, other);
    let t = write(w.dir.path(), "../shuffled.txt", lines.join("\n").as_bytes());
    let out2 = w.dir.path().join("../imported2.json");
    let r = w.ok(&[
        "import",
        "qr",
        t.to_str().unwrap(),
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out2).unwrap(), root);
    assert!(
        r.stderr.contains("belongs to another export"),
        "{}",
        r.stderr
    );
    assert!(
        r.stdout.contains("1 duplicate frame(s) ignored"),
        "{}",
        r.stdout
    );

    // One frame missing: reported by number, nothing written.
    let mut missing = frames_text(&w, &[]);
    missing.remove(1);
    let t = write(
        w.dir.path(),
        "../missing.txt",
        missing.join("\n").as_bytes(),
    );
    let out3 = w.dir.path().join("../imported3.json");
    w.refused(
        &[
            "import",
            "qr",
            t.to_str().unwrap(),
            "--out",
            out3.to_str().unwrap(),
        ],
        1,
        &format!("missing frame 2 of {total}"),
    );
    assert!(!out3.exists());
    // A corrupted frame: reported by number, and it counts as missing.
    let mut bad = frames_text(&w, &[]);
    let s = &mut bad[2];
    let mid = s.len() / 2;
    let c = if s.as_bytes()[mid] == b'7' { "8" } else { "7" };
    s.replace_range(mid..mid + 1, c);
    let t = write(w.dir.path(), "../bad.txt", bad.join("\n").as_bytes());
    let r = w.refused(
        &[
            "import",
            "qr",
            t.to_str().unwrap(),
            "--out",
            out3.to_str().unwrap(),
        ],
        1,
        &format!("missing frame 3 of {total}"),
    );
    assert!(
        r.stderr.contains("corrupted") && r.stderr.contains(&format!("frame 3 of {total}")),
        "{}",
        r.stderr
    );
    // Output files: SVG and a printable sheet.
    let svg = w.dir.path().join("../svg");
    let html = w.dir.path().join("../sheet.html");
    w.ok(&[
        "export",
        "--qr",
        "--svg",
        svg.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("Frame 1 of")
    );
    assert!(std::fs::read_dir(&svg).unwrap().count() >= 1);
}

#[test]
fn an_imported_root_joins_the_history_it_chains_onto() {
    let a = HsmWs::new("qr-origin");
    published(&a, 1);
    let usb = tempfile::tempdir().unwrap();
    a.ok(&["export", "--to", usb.path().to_str().unwrap()]);
    let b = HsmWs::new("qr-online");
    b.ok(&["adopt", usb.path().to_str().unwrap()]);
    // Version 2 made on the offline machine travels as QR text.
    a.ok(&["refresh"]);
    a.ok(&["sign", "--key", "a", "--key", "b"]);
    a.ok(&["publish"]);
    let lines = frames_text(&a, &[]);
    let t = write(b.dir.path(), "../v2.txt", lines.join("\n").as_bytes());
    let r = b
        .ok(&["import", "qr", t.to_str().unwrap(), "--json"])
        .json();
    assert_eq!(r["result"]["version"], 2);
    assert_eq!(
        std::fs::read(b.dir.path().join("metadata/2.root.json")).unwrap(),
        std::fs::read(a.dir.path().join("metadata/2.root.json")).unwrap()
    );
    // Again: nothing to do.
    let r = b.ok(&["import", "qr", t.to_str().unwrap()]);
    assert!(r.stdout.contains("already published here"), "{}", r.stdout);
}

struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn tmpfs(size: &str) -> (tempfile::TempDir, Tmpfs) {
    let d = tempfile::tempdir().unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(d.path())
        .status()
        .unwrap();
    assert!(
        st.success(),
        "cannot mount a tmpfs for the full-disk test: run scripts/test as root"
    );
    let m = Tmpfs(d.path().to_path_buf());
    (d, m)
}

fn listing(p: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(p)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn usb_export_is_idempotent_refuses_conflicts_and_leaves_no_partial_file_on_a_full_drive() {
    let w = HsmWs::new("usb");
    published(&w, 3);
    let usb = tempfile::tempdir().unwrap();
    let r = w
        .ok(&["export", "--to", usb.path().to_str().unwrap(), "--json"])
        .json();
    let names: Vec<&str> = r["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "1.root.json",
            "2.root.json",
            "3.root.json",
            "root.json",
            "SHA256SUMS"
        ]
    );
    let sums = std::fs::read_to_string(usb.path().join("SHA256SUMS")).unwrap();
    assert!(sums.contains("  3.root.json\n"));
    let o = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(usb.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    // Again: nothing changes.
    let before = listing(usb.path());
    let r = w
        .ok(&["export", "--to", usb.path().to_str().unwrap(), "--json"])
        .json();
    assert!(
        r["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["action"] == "unchanged"),
        "{r}"
    );
    assert_eq!(before, listing(usb.path()));
    // A different file of the same name: refused, nothing written.
    std::fs::write(usb.path().join("2.root.json"), b"something else").unwrap();
    let before = listing(usb.path());
    let r = w.run(&["export", "--to", usb.path().to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("already holds different files named 2.root.json"),
        "{}",
        r.stderr
    );
    assert_eq!(before, listing(usb.path()));
    w.ok(&[
        "export",
        "--to",
        usb.path().to_str().unwrap(),
        "--overwrite",
    ]);

    // A drive with room for some files only.
    let (full, _mount) = tmpfs("12k");
    let r = w.run(&["export", "--to", full.path().to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("full") && r.stderr.contains("no partial file"),
        "{}",
        r.stderr
    );
    let src = w.dir.path().join("metadata");
    for (name, bytes) in listing(full.path()) {
        assert!(
            !name.starts_with(".rootcellar-"),
            "temp file {name} left behind"
        );
        assert_eq!(
            bytes,
            std::fs::read(src.join(&name)).unwrap(),
            "{name} is partial"
        );
    }
    assert!(!full.path().join("SHA256SUMS").exists());
}

/// While another command holds the workspace, export and import refuse before they write
/// anything: their transcript line can never be refused after the files are out.
#[test]
fn export_and_import_wait_for_a_busy_workspace_and_write_nothing() {
    let w = HsmWs::new("busy");
    published(&w, 1);
    let usb = w.dir.path().join("../busy-usb");
    std::fs::create_dir(&usb).unwrap();
    let frames = w.dir.path().join("../busy-frames.txt");
    let lines_before = std::fs::read_to_string(w.dir.path().join("audit.log"))
        .unwrap()
        .lines()
        .count();
    {
        let held = std::fs::OpenOptions::new()
            .write(true)
            .open(w.dir.path().join(".lock"))
            .unwrap();
        held.try_lock().unwrap();
        for args in [
            vec!["export", "--to", usb.to_str().unwrap()],
            vec!["export", "--qr", "--text", frames.to_str().unwrap()],
        ] {
            let r = w.run(&args);
            assert_eq!(r.code, 3, "{args:?}: {}{}", r.stdout, r.stderr);
            assert!(
                r.stderr
                    .contains("another rootcellar command is using the workspace"),
                "{}",
                r.stderr
            );
        }
        assert_eq!(std::fs::read_dir(&usb).unwrap().count(), 0);
        assert!(!frames.exists());
    }
    // Free again: both go through and are recorded.
    w.ok(&["export", "--to", usb.to_str().unwrap()]);
    w.ok(&["export", "--qr", "--text", frames.to_str().unwrap()]);
    let log = std::fs::read_to_string(w.dir.path().join("audit.log")).unwrap();
    assert_eq!(log.lines().count(), lines_before + 2);
    assert!(log.contains("\"action\":\"export-usb\"") && log.contains("\"action\":\"export-qr\""));
}

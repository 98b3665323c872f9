//! Issue 18.8: inputs that hang or eat memory — a FIFO, `/dev/zero` (directly or through a
//! link), a 3 GB sparse file, 100k lines of QR frames, a 20000×20000 PNG, a folder of links to
//! itself. Every file from outside goes through one read path: regular files only, refused
//! before opening when they are not, a size limit per kind checked on the open handle, folder
//! walks that do not follow links, QR frames assembled as a set, image sizes checked before
//! decoding. Each command runs here under a memory limit (`prlimit --as`) and a watchdog.
use crate::cli::Ws;
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const MEMORY: &str = "--as=1610612736"; // 1.5 GiB of address space

/// Runs rootcellar `args` in `w` under the memory limit; kills it after `kill_after`.
fn bounded(w: &Ws, args: &[&str], env: &[(&str, &str)], kill_after: Duration) -> (Run, Duration) {
    let bin = std::env::var_os("ROOTCELLAR_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rootcellar")));
    let mut c = Command::new("prlimit");
    c.arg(MEMORY)
        .arg("--")
        .arg(bin)
        .args(args)
        .env("ROOTCELLAR_DIR", w.path())
        .env("ROOTCELLAR_SYSFS", w.sys.path())
        .env("ROOTCELLAR_PASSPHRASE", crate::cli::PASS)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let t = Instant::now();
    let mut child = c.spawn().expect("prlimit (util-linux) is installed");
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if t.elapsed() > kill_after {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still ran after {kill_after:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = t.elapsed();
    let o = child.wait_with_output().unwrap();
    let r = Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    };
    (r, took)
}

/// Refused (exit 1 or 2, an error that names `why`, no crash) within `within`.
fn refused_promptly(w: &Ws, args: &[&str], env: &[(&str, &str)], why: &str, within: Duration) {
    let (r, took) = bounded(w, args, env, Duration::from_secs(30));
    assert!(
        r.code == 1 || r.code == 2,
        "{args:?}: exit {} (a crash or out of memory?) after {took:?}: {}",
        r.code,
        r.stderr
    );
    assert!(
        r.stderr.contains(why),
        "{args:?}: expected {why:?} in:\n{}",
        r.stderr
    );
    assert!(took < within, "{args:?} took {took:?}");
}

fn fifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

#[test]
fn fifos_and_devices_are_refused_before_they_are_read() {
    let w = Ws::new();
    w.published_v1();
    let d = tempfile::tempdir().unwrap();
    let pipe = d.path().join("pipe");
    fifo(&pipe);
    let zero_link = d.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero_link).unwrap();
    // Folders whose 1.root.json is a FIFO, or a link to /dev/zero.
    let fifo_dir = d.path().join("fifo-dir");
    std::fs::create_dir(&fifo_dir).unwrap();
    fifo(&fifo_dir.join("1.root.json"));
    let zero_dir = d.path().join("zero-dir");
    std::fs::create_dir(&zero_dir).unwrap();
    std::os::unix::fs::symlink("/dev/zero", zero_dir.join("1.root.json")).unwrap();
    let second = Duration::from_secs(1);
    let p = pipe.to_str().unwrap();
    for input in [p, "/dev/zero", zero_link.to_str().unwrap()] {
        for args in [
            vec!["key", "import", input, "--name", "x"],
            vec!["import", "qr", input],
            vec!["verify", input],
            vec!["request", "show", input],
            vec!["merge", input],
            vec!["sign", "--file", input, "--key", "r1"],
        ] {
            refused_promptly(&w, &args, &[], "not a regular file", second);
        }
    }
    for dir in [&fifo_dir, &zero_dir] {
        let dir = dir.to_str().unwrap();
        let fresh = Ws::new();
        refused_promptly(&fresh, &["adopt", dir], &[], "", second);
        refused_promptly(&w, &["verify", dir], &[], "", second);
    }
    // Secrets: devices are refused; the workspace lock is not held by a hung command.
    for f in ["/dev/zero", zero_link.to_str().unwrap()] {
        refused_promptly(
            &w,
            &["--pin-file", f, "drill", "--key", "r1"],
            &[("ROOTCELLAR_PASSPHRASE", "")],
            "",
            second,
        );
    }
    // Export onto a stick where 2.root.json... here 1.root.json is a FIFO.
    let usb = d.path().join("usb");
    std::fs::create_dir(&usb).unwrap();
    fifo(&usb.join("1.root.json"));
    refused_promptly(
        &w,
        &["export", "--to", usb.to_str().unwrap()],
        &[],
        "not a regular file",
        second,
    );
}

#[test]
fn a_sparse_3_gb_file_is_refused_by_its_size() {
    let w = Ws::new();
    w.published_v1();
    let d = tempfile::tempdir().unwrap();
    let big = d.path().join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let b = big.to_str().unwrap();
    for args in [
        vec!["key", "import", b, "--name", "x"],
        vec!["import", "qr", b],
        vec!["verify", b],
        vec!["request", "show", b],
    ] {
        refused_promptly(
            &w,
            &args,
            &[],
            "is 3.0 GiB, more than the",
            Duration::from_secs(2),
        );
    }
}

#[test]
fn many_qr_lines_are_assembled_in_linear_time() {
    let w = Ws::new();
    w.published_v1();
    // 60000 frames, each of another export: a list search per frame made this quadratic.
    let mut text = String::new();
    for i in 0..60_000u32 {
        let frames = rootcellar::transfer::qr::encode(&i.to_be_bytes(), 64).unwrap();
        text.push_str(&frames[0].to_text());
        text.push('\n');
    }
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "frames.txt", text.as_bytes());
    let (r, took) = bounded(
        &w,
        &[
            "import",
            "qr",
            f.to_str().unwrap(),
            "--out",
            d.path().join("out.json").to_str().unwrap(),
        ],
        &[],
        Duration::from_secs(60),
    );
    assert!(
        r.code != 0 && !r.stderr.contains("panicked"),
        "{}",
        r.stderr
    );
    assert!(took < Duration::from_secs(10), "60000 frames took {took:?}");
}

/// A PNG that says it is `w`×`h` pixels, with no pixel data to speak of.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 0, 0, 0, 0]); // 8-bit greyscale
    chunk(&mut png, b"IHDR", &ihdr);
    // A zlib stream of zeros: inflates to as much as the decoder asks for.
    let zeros = vec![0u8; 1 << 20];
    let z = miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 9);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn a_huge_image_is_refused_by_its_dimensions() {
    let w = Ws::new();
    w.published_v1();
    let d = tempfile::tempdir().unwrap();
    let f = write(d.path(), "huge.png", &png_header_only(20_000, 20_000));
    let (r, took) = bounded(
        &w,
        &["import", "qr", f.to_str().unwrap()],
        &[],
        Duration::from_secs(30),
    );
    assert!(r.code == 1 || r.code == 2, "exit {}: {}", r.code, r.stderr);
    assert!(r.stderr.contains("20000×20000"), "{}", r.stderr);
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[test]
fn a_folder_of_links_to_itself_is_not_walked() {
    // A Notary trust folder: its root, and a targets/ folder holding two links to itself.
    let gun = "docker.io/example/loop";
    let w = Ws::with_init(&["init", "--format", "notary", "--gun", gun]);
    for k in ["a", "online"] {
        w.ok(&["key", "generate", "--name", k, "--algorithm", "ecdsa-p256"]);
    }
    w.ok(&[
        "notary",
        "root",
        "--root-key",
        "a",
        "--threshold",
        "1",
        "--targets-key",
        "online",
        "--snapshot-key",
        "online",
        "--timestamp-key",
        "online",
    ]);
    w.ok(&["sign", "--key", "a"]);
    w.ok(&["publish"]);
    let d = tempfile::tempdir().unwrap();
    let trust = d.path().join("metadata");
    std::fs::create_dir_all(trust.join("targets")).unwrap();
    std::fs::copy(w.metadata().join("root.json"), trust.join("root.json")).unwrap();
    for l in ["a", "b"] {
        std::os::unix::fs::symlink(".", trust.join("targets").join(l)).unwrap();
    }
    let (r, took) = bounded(
        &w,
        &[
            "verify",
            "--format",
            "notary",
            "--gun",
            gun,
            trust.to_str().unwrap(),
        ],
        &[],
        Duration::from_secs(30),
    );
    assert!(r.code <= 2, "exit {}: {}{}", r.code, r.stdout, r.stderr);
    assert!(took < Duration::from_secs(2), "{took:?}");
}

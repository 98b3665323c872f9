//! The ceremony screen, driven in a real pseudo-terminal (tmux): a whole routine ceremony on
//! software and SoftHSM2 keys — refresh, two keyholders sign (one mistypes), publish, export —
//! asserting the files, not only the screen.

use crate::hsm::{HsmWs, PIN};
use crate::support::*;
use std::process::Command;
use std::time::{Duration, Instant};

pub(crate) struct Tmux(String);

impl Tmux {
    pub(crate) fn start(name: &str, cmd: &str) -> Tmux {
        // Each test has a tmux server of its own (-L): when one test's last session ends, its
        // server exits without taking another test's session down with it.
        let st = Command::new("tmux")
            .args([
                "-L",
                name,
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "80",
                "-y",
                "24",
                cmd,
            ])
            .status()
            .expect("tmux is installed by scripts/test");
        assert!(st.success());
        Tmux(name.into())
    }
    pub(crate) fn screen(&self) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.0, "capture-pane", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).to_string()
    }
    /// The screen with its colours (tmux's escape sequences).
    pub(crate) fn screen_with_colours(&self) -> String {
        let o = Command::new("tmux")
            .args(["-L", &self.0, "capture-pane", "-e", "-p", "-t", &self.0])
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).to_string()
    }
    pub(crate) fn wait_for(&self, text: &str) -> String {
        let t = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(text) {
                return s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "waited for {text:?}; the screen shows:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    pub(crate) fn keys(&self, keys: &[&str]) {
        for k in keys {
            let st = Command::new("tmux")
                .args(["-L", &self.0, "send-keys", "-t", &self.0, k])
                .status()
                .unwrap();
            assert!(st.success());
            std::thread::sleep(Duration::from_millis(150));
        }
    }
    pub(crate) fn type_text(&self, text: &str) {
        let st = Command::new("tmux")
            .args(["-L", &self.0, "send-keys", "-l", "-t", &self.0, text])
            .status()
            .unwrap();
        assert!(st.success());
        std::thread::sleep(Duration::from_millis(150));
    }
}

impl Tmux {
    /// Moves the list cursor to the line holding `text` (the highlighted line starts with "> ").
    pub(crate) fn select(&self, text: &str) {
        for _ in 0..30 {
            let before = self.screen();
            if before.lines().any(|l| l.contains("> ") && l.contains(text)) {
                return;
            }
            self.keys(&["Down"]);
            // Wait for the move to show before looking again.
            let t = Instant::now();
            while self.screen() == before && t.elapsed() < Duration::from_secs(3) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("no line {text:?} to select:\n{}", self.screen());
    }
}

/// From the menu: version 1 with root keys alice (software) and hsm (SoftHSM2), threshold 2,
/// key t for the online roles; reviewed, signed by both keyholders, published and sealed by
/// alice. `tick` sees the screen where the root keys are ticked; `expiry`: a TUF root's expiry
/// is asked for (a Notary root expires with its certificates). Returns the last screen.
fn version_1_of_alice_and_hsm(tm: &Tmux, expiry: bool, tick: impl Fn(&str)) -> String {
    tm.select("Create root version 1");
    tm.keys(&["Enter"]);
    tick(&tm.wait_for("Tick version 1's root keys"));
    tm.select("alice");
    tm.keys(&["Space"]);
    tm.select("hsm");
    tm.keys(&["Space"]);
    tm.keys(&["Enter"]);
    tm.wait_for("Root threshold");
    tm.type_text("2");
    tm.keys(&["Enter"]);
    for role in ["targets", "snapshot", "timestamp"] {
        tm.wait_for(&format!("The {role}"));
        tm.select(" t ");
        tm.keys(&["Enter"]);
    }
    if expiry {
        // The expiry is asked for, the default offered and read back (issue 21); one inside
        // the warning window is shown before it is kept.
        let s = tm.wait_for("When does root version 1 expire?");
        assert!(s.contains("> 365d") && s.contains("in 365 days"), "{s}");
        tm.keys(&["BSpace", "BSpace", "BSpace", "BSpace"]);
        tm.type_text("30d");
        tm.wait_for("inside the 60d warning window");
        tm.keys(&["Enter"]);
        tm.wait_for("only 30 days away");
        tm.keys(&["BSpace", "BSpace", "BSpace"]);
        tm.type_text("400d");
        tm.wait_for("in 400 days");
        tm.keys(&["Enter"]);
    }
    let s = tm.wait_for("4 Review");
    assert!(
        s.contains("Root version 1") && s.contains("Still to sign: alice, hsm"),
        "{s}"
    );
    // Version 1's review shows its expiry, with the days left (issue 21).
    assert!(s.contains("Expires: ") && s.contains(" days)"), "{s}");
    if expiry {
        assert!(s.contains("(in 400 days)"), "{s}");
    }
    for (name, secret) in [("alice", "software passphrase"), ("hsm", PIN)] {
        tm.keys(&["s"]);
        tm.wait_for("3 Keys");
        tm.select(name);
        tm.keys(&["Enter"]);
        tm.wait_for(&format!("Keyholder of {name}"));
        tm.type_text(secret);
        tm.keys(&["Enter"]);
        tm.wait_for(&format!("Signed root version 1 with {name}"));
    }
    tm.wait_for("Ready to publish");
    tm.keys(&["Escape"]);
    tm.select("Publish the staged root");
    tm.keys(&["Enter"]);
    tm.wait_for("Seal the ceremony transcript with which root key?");
    tm.keys(&["Enter"]);
    tm.wait_for("Keyholder of alice");
    tm.type_text("software passphrase");
    tm.keys(&["Enter"]);
    tm.wait_for("Published root version 1")
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.0, "kill-session", "-t", &self.0])
            .status();
    }
}

#[test]
fn a_whole_ceremony_through_the_screen_on_software_and_softhsm2_keys() {
    // The screen lists every device, the virtual cards included: not while card tests run.
    let _cards = crate::hsm::SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let w = HsmWs::new("screen");
    w.ok(&[
        "key",
        "generate",
        "--name",
        "alice",
        "--algorithm",
        "ecdsa-p256",
    ]);
    w.generate("hsm", "ed25519");
    let t = TestKey::ed25519(90).key();
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
        "alice",
        "--root-key",
        "hsm",
        "--threshold",
        "2",
        "--targets-key",
        "t",
        "--snapshot-key",
        "t",
        "--timestamp-key",
        "t",
    ]);
    w.ok(&["sign", "--key", "alice", "--key", "hsm"]);
    w.ok(&["publish"]);
    let usb = w.dir.path().join("../usb");
    std::fs::create_dir(&usb).unwrap();
    let sys = offline_sysfs();
    let bin = env!("CARGO_BIN_EXE_rootcellar");
    // No secret in the environment: the screen asks for each.
    let cmd = format!(
        "env -u ROOTCELLAR_PASSPHRASE -u ROOTCELLAR_PIN NO_COLOR=1 ROOTCELLAR_DIR={} ROOTCELLAR_SYSFS={} SOFTHSM2_CONF={} {bin} ceremony; sleep 30",
        w.dir.path().display(),
        sys.path().display(),
        w.hsm.conf().display()
    );
    let tm = Tmux::start(&format!("rc-tui-{}", std::process::id()), &cmd);
    let s = tm.wait_for("1 Preflight");
    assert!(
        s.contains("Air gap: OK") && s.contains("Published: root version 1"),
        "{s}"
    );
    assert!(s.contains("softhsm2 token \"screen\""), "{s}");
    // Each virtual card once (not again as its ykcs11 and OpenSC tokens), with the firmware
    // advisory (issue 21).
    if let Ok(serial) = std::env::var("HWSIM_PIV_SERIAL") {
        let all = tm.screen();
        assert_eq!(
            all.lines().filter(|l| l.contains(&serial)).count(),
            1,
            "{all}"
        );
        assert!(all.contains(&format!("YubiKey {serial}")), "{all}");
        assert!(
            all.contains("YSA-2024-03") || all.contains("EC key-cloning"),
            "{all}"
        );
    }
    tm.keys(&["Enter"]);
    tm.wait_for("Refresh the expiry");
    tm.keys(&["Enter"]);
    // The new expiry is asked for, the default offered (issue 21).
    let s = tm.wait_for("When does root version 2 expire?");
    assert!(s.contains("> 365d") && s.contains("in 365 days"), "{s}");
    tm.keys(&["Enter"]);
    let s = tm.wait_for("4 Review");
    assert!(
        s.contains("Root version 2 — read aloud:") && s.contains("Still to sign: alice, hsm"),
        "{s}"
    );
    // alice mistypes her passphrase first: the error stays on her screen.
    tm.keys(&["s"]);
    tm.wait_for("3 Keys");
    tm.keys(&["Enter"]);
    tm.wait_for("Keyholder of alice");
    tm.type_text("not the passphrase");
    tm.keys(&["Enter"]);
    let s = tm.wait_for("wrong passphrase for key alice");
    assert!(s.contains("5 Sign") && s.contains("what to do:"), "{s}");
    tm.type_text("software passphrase");
    tm.keys(&["Enter"]);
    tm.wait_for("Signed root version 2 with alice");
    // The SoftHSM2 keyholder types the PIN.
    tm.keys(&["s"]);
    tm.wait_for("3 Keys");
    tm.keys(&["Enter"]);
    tm.wait_for("Keyholder of hsm");
    tm.type_text(PIN);
    tm.keys(&["Enter"]);
    tm.wait_for("Ready to publish");
    tm.keys(&["Escape"]);
    tm.wait_for("Publish the staged root");
    tm.keys(&["Down", "Down", "Enter"]);
    // The transcript is sealed by a root key: the HSM keyholder types the PIN once more.
    tm.wait_for("Seal the ceremony transcript with which root key?");
    tm.keys(&["Down", "Enter"]);
    tm.wait_for("Keyholder of hsm");
    tm.type_text(PIN);
    tm.keys(&["Enter"]);
    let s = tm.wait_for("Published root version 2");
    assert!(s.contains("Transcript sealed by hsm"), "{s}");
    tm.keys(&["Enter"]);
    tm.wait_for("Export the published roots");
    // The published root as QR codes on the screen, frame by frame.
    tm.keys(&["Down", "Down", "Down", "Down", "Down", "Down", "Enter"]);
    let s = tm.wait_for("frame 1/");
    assert!(s.contains("\u{2580}"), "{s}");
    // Full screen (issue 21): no header or border, the code starts on the first line, and it is
    // the largest that fits 80×24 with its caption line.
    assert!(!s.contains("rootcellar ceremony"), "{s}");
    assert!(s.lines().next().unwrap_or("").contains('\u{2580}'), "{s}");
    let v = rootcellar::transfer::render::full_screen_version(80, 24, 25);
    assert!(v > 4, "{v}");
    assert!(s.contains(&format!("QR {v}-L")), "version {v}:\n{s}");
    // Drawn in explicit black on white although NO_COLOR is set (issue 21): without colours a
    // QR code does not show at all.
    let c = tm.screen_with_colours();
    let black = ["[40m", ";40m", "48;5;0m", "[30m", ";30m", "38;5;0m"]
        .iter()
        .any(|x| c.contains(x));
    let white = [
        "[47m", ";47m", "[107m", ";107m", "48;5;15m", "48;5;7m", "[37m", ";37m", "[97m", ";97m",
    ]
    .iter()
    .any(|x| c.contains(x));
    assert!(
        black && white,
        "no black and white in the QR view:\n{}",
        c.escape_debug()
    );
    tm.keys(&["Enter"]);
    tm.wait_for("Export the published roots");
    tm.keys(&["Down", "Down", "Down", "Down", "Down", "Enter"]);
    tm.wait_for("Folder of the USB stick");
    tm.type_text(usb.to_str().unwrap());
    tm.keys(&["Enter"]);
    tm.wait_for("read back and verified");
    tm.keys(&["q"]);
    tm.wait_for("Quit the ceremony screen? y/n");
    tm.keys(&["y"]);
    // The files: version 2 published, verified, exported with checksums.
    let meta = w.dir.path().join("metadata");
    // The signatures were made after the clock was confirmed on preflight (issue 21).
    let log = std::fs::read_to_string(w.dir.path().join("audit.log")).unwrap();
    let sig = log
        .lines()
        .rev()
        .find(|l| l.contains("signature-added"))
        .unwrap();
    assert!(
        sig.contains("confirmed on the ceremony screen's preflight"),
        "{sig}"
    );
    assert!(meta.join("2.root.json").exists());
    assert_eq!(verify(std::slice::from_ref(&meta), &[]).code, 0);
    assert_eq!(
        std::fs::read(usb.join("2.root.json")).unwrap(),
        std::fs::read(meta.join("2.root.json")).unwrap()
    );
    assert!(
        std::fs::read_to_string(usb.join("SHA256SUMS"))
            .unwrap()
            .contains("2.root.json")
    );
    assert!(!w.dir.path().join("staged/root.json").exists());
}

#[test]
fn version_1_from_an_empty_workspace_entirely_on_the_screen() {
    let _cards = crate::hsm::SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let w = HsmWs::new("screen-v1");
    let t = TestKey::ed25519(91).key();
    let f = write(
        w.dir.path(),
        "../t.json",
        serde_json::to_string(&t).unwrap().as_bytes(),
    );
    w.ok(&["key", "import", f.to_str().unwrap(), "--name", "t"]);
    let usb = w.dir.path().join("../usb");
    std::fs::create_dir(&usb).unwrap();
    let sys = offline_sysfs();
    let bin = env!("CARGO_BIN_EXE_rootcellar");
    let cmd = format!(
        "env -u ROOTCELLAR_PASSPHRASE -u ROOTCELLAR_PIN NO_COLOR=1 ROOTCELLAR_DIR={} ROOTCELLAR_SYSFS={} SOFTHSM2_CONF={} {bin} ceremony; sleep 30",
        w.dir.path().display(),
        sys.path().display(),
        w.hsm.conf().display()
    );
    let tm = Tmux::start(&format!("rc-tui1-{}", std::process::id()), &cmd);
    let s = tm.wait_for("1 Preflight");
    assert!(s.contains("Published: nothing yet"), "{s}");
    tm.keys(&["Enter"]);
    tm.wait_for("Create root version 1");
    // Two keys: one in software, one on the SoftHSM2 token.
    for (name, place, secret) in [
        ("alice", "software key", "software passphrase"),
        ("hsm", "softhsm2 token \"screen-v1\"", PIN),
    ] {
        tm.select("Generate a key");
        tm.keys(&["Enter"]);
        tm.wait_for("Name of the new key");
        if name == "hsm" {
            // A taken name is refused before anything is asked.
            tm.type_text("alice");
            tm.keys(&["Enter"]);
            tm.wait_for("a key named \"alice\" exists already");
            for _ in 0.."alice".len() {
                tm.keys(&["BSpace"]);
            }
        }
        tm.type_text(name);
        tm.keys(&["Enter"]);
        tm.wait_for("choose where");
        tm.select(place);
        tm.keys(&["Enter"]);
        let s = tm.wait_for(&format!("New key {name} on"));
        // Under the keys step, not "5 Sign" (issue 21).
        assert!(
            s.contains("3 Keys: new key") && !s.contains("5 Sign"),
            "{s}"
        );
        if name == "alice" {
            // A new passphrase: too short is refused, then it is typed twice (issue 21).
            tm.type_text("short");
            tm.keys(&["Enter"]);
            tm.wait_for("at least 8 characters");
            tm.type_text(secret);
            tm.keys(&["Enter"]);
            tm.wait_for("the same passphrase again");
        }
        tm.type_text(secret);
        tm.keys(&["Enter"]);
        tm.wait_for(&format!("Generated {name} on"));
        tm.keys(&["Enter"]);
        tm.wait_for("Create root version 1");
    }
    // Version 1: alice and hsm, threshold 2; t for the online roles.
    let s = version_1_of_alice_and_hsm(&tm, true, |_| {});
    assert!(s.contains("Transcript sealed by alice"), "{s}");
    tm.keys(&["Enter"]);
    tm.select("Export the published roots");
    tm.keys(&["Enter"]);
    tm.wait_for("Folder of the USB stick");
    tm.type_text(usb.to_str().unwrap());
    tm.keys(&["Enter"]);
    tm.wait_for("read back and verified");
    tm.keys(&["q"]);
    tm.wait_for("Quit the ceremony screen? y/n");
    tm.keys(&["y"]);
    let meta = w.dir.path().join("metadata");
    assert_eq!(verify(std::slice::from_ref(&meta), &[]).code, 0);
    assert_eq!(
        std::fs::read(usb.join("1.root.json")).unwrap(),
        std::fs::read(meta.join("1.root.json")).unwrap()
    );
    assert_eq!(w.record("hsm")["backend"], "pkcs11");
    assert_eq!(w.record("hsm")["attributes"]["never_extractable"], true);
    assert_eq!(w.record("alice")["backend"], "software");
}

/// A Notary v1 / DCT workspace on the screen: each key's root certificate made on its device
/// (one key, one secret), version 1 put together, signed by both keyholders, published and
/// sealed; Notary's own `ValidateRoot` accepts the result.
#[test]
fn a_notary_root_entirely_on_the_screen() {
    let _cards = crate::hsm::SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let gun = "docker.io/example/screen";
    let w = HsmWs::with_init(
        "screen-notary",
        &["init", "--format", "notary", "--gun", gun],
    );
    w.ok(&[
        "key",
        "generate",
        "--name",
        "alice",
        "--algorithm",
        "ecdsa-p256",
    ]);
    w.generate("hsm", "ecdsa-p256");
    let t = TestKey::ed25519(92).key();
    let f = write(
        w.dir.path(),
        "../t.json",
        serde_json::to_string(&t).unwrap().as_bytes(),
    );
    w.ok(&["key", "import", f.to_str().unwrap(), "--name", "t"]);
    let sys = offline_sysfs();
    let bin = env!("CARGO_BIN_EXE_rootcellar");
    let cmd = format!(
        "env -u ROOTCELLAR_PASSPHRASE -u ROOTCELLAR_PIN NO_COLOR=1 ROOTCELLAR_DIR={} ROOTCELLAR_SYSFS={} SOFTHSM2_CONF={} {bin} ceremony; sleep 30",
        w.dir.path().display(),
        sys.path().display(),
        w.hsm.conf().display()
    );
    let tm = Tmux::start(&format!("rc-tuin-{}", std::process::id()), &cmd);
    let s = tm.wait_for("1 Preflight");
    assert!(s.contains(&format!("Notary v1 / DCT {gun}")), "{s}");
    tm.keys(&["Enter"]);
    tm.wait_for("Create root version 1");
    for (name, secret) in [("alice", "software passphrase"), ("hsm", PIN)] {
        tm.select("Notary root certificate");
        tm.keys(&["Enter"]);
        tm.wait_for("3 Keys");
        tm.select(name);
        tm.keys(&["Enter"]);
        tm.wait_for(&format!("Keyholder of {name}"));
        tm.type_text(secret);
        tm.keys(&["Enter"]);
        tm.wait_for(&format!("Made the root certificate of {name}"));
        tm.keys(&["Enter"]);
        tm.wait_for("Create root version 1");
    }
    let s = version_1_of_alice_and_hsm(&tm, false, |tick| {
        assert!(tick.contains("certificate ready"), "{tick}")
    });
    assert!(s.contains("Transcript sealed by alice"), "{s}");
    tm.keys(&["Enter"]);
    tm.wait_for("Refresh the expiry");
    tm.keys(&["q"]);
    tm.wait_for("Quit the ceremony screen? y/n");
    tm.keys(&["y"]);
    let root = w.dir.path().join("metadata/1.root.json");
    assert!(crate::notary::notary_says(gun, &[&root]));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&root).unwrap()).unwrap();
    assert_eq!(v["signed"]["_type"], "Root");
    assert_eq!(v["signed"]["roles"]["root"]["threshold"], 2);
}

/// Issue 23: a job that fails in a way its operation does not report (here a panic, injected)
/// leaves the screen showing the error, not "working…", and after quitting the terminal is
/// usable (canonical mode, echo on).
#[test]
fn a_failing_job_leaves_a_usable_terminal() {
    let _g = crate::hsm::SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let w = crate::cli::Ws::new();
    let sys = offline_sysfs();
    let bin = env!("CARGO_BIN_EXE_rootcellar");
    let cmd = format!(
        "env NO_COLOR=1 ROOTCELLAR_TEST_JOB_PANIC=1 ROOTCELLAR_DIR={} ROOTCELLAR_SYSFS={} {bin} ceremony; echo EXIT=$?; stty -a | tr ' ' '\\n' | grep -E '^-?(icanon|echo)$' | tr '\\n' ' '; echo END; sleep 30",
        w.path().display(),
        sys.path().display(),
    );
    let name = format!("rc-tuipanic-{}", std::process::id());
    let tm = Tmux::start(&name, &cmd);
    let s = tm.wait_for("internal error");
    assert!(
        s.contains("ROOTCELLAR_TEST_JOB_PANIC is set") && !s.contains("working"),
        "{s}"
    );
    tm.keys(&["q"]);
    tm.wait_for("Quit the ceremony screen? y/n");
    tm.keys(&["y"]);
    let s = tm.wait_for("END");
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(
        s.contains("icanon echo") && !s.contains("-icanon") && !s.contains("-echo "),
        "{s}"
    );
    let _ = Command::new("tmux")
        .args(["-L", &name, "kill-server"])
        .status();
}

/// Issue 21: the header's clock is live, not the time the screen was read at.
#[test]
fn the_header_clock_is_live() {
    let _g = crate::hsm::SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let w = crate::cli::Ws::new();
    let sys = offline_sysfs();
    let bin = env!("CARGO_BIN_EXE_rootcellar");
    let cmd = format!(
        "env NO_COLOR=1 ROOTCELLAR_DIR={} ROOTCELLAR_SYSFS={} {bin} ceremony; sleep 30",
        w.path().display(),
        sys.path().display(),
    );
    let name = format!("rc-tuiclock-{}", std::process::id());
    let tm = Tmux::start(&name, &cmd);
    let header = |s: &str| s.lines().next().unwrap_or("").to_string();
    let first = header(&tm.wait_for("1 Preflight"));
    std::thread::sleep(Duration::from_millis(2300));
    let second = header(&tm.screen());
    assert_ne!(first, second, "the clock did not move");
    let _ = Command::new("tmux")
        .args(["-L", &name, "kill-server"])
        .status();
}

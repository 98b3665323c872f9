//! Issue 18.12: the ceremony screen signed a request unseen (path → key → passphrase → signed),
//! and signed a request for a version already published here. Now the request's review — what
//! it changes, computed against the published history, and its digest — comes before any key
//! or secret, and a second version of a published number is refused on the spot.
use super::{bundle_of_next_version, json_file, put_json_file};
use crate::cli::Ws;
use crate::support::*;
use crate::tui::Tmux;

#[test]
fn the_review_comes_first_and_a_published_version_is_refused() {
    // The screen lists every device, the virtual cards included: not while card tests run.
    let _cards = crate::hsm::SHARED.lock().unwrap_or_else(|e| e.into_inner());
    let w = Ws::new();
    w.published_v1();
    let (d, bundle) = bundle_of_next_version(&w);
    // The request drops two root keys, adds an unknown one, lowers the threshold to 1 and
    // sets the expiry 100 years ahead.
    let mut b = json_file(&bundle);
    let sig = &mut b["request"]["signed"];
    let k = TestKey::ed25519(123).key();
    sig["keys"][k.keyid()] = serde_json::to_value(&k).unwrap();
    let ids: Vec<String> = sig["roles"]["root"]["keyids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    sig["roles"]["root"]["keyids"] = serde_json::json!([ids[0], k.keyid()]);
    sig["roles"]["root"]["threshold"] = 1.into();
    sig["expires"] = "2126-11-01T00:00:00Z".into();
    put_json_file(&bundle, &b);
    // And one for version 1, published here already (another version 1).
    let mut again = json_file(&bundle);
    again["request"]["signed"]["version"] = 1.into();
    again["previous"] = serde_json::Value::Null;
    let again_path = d.path().join("again.json");
    put_json_file(&again_path, &again);

    let bin = std::env::var("ROOTCELLAR_TEST_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_rootcellar").to_string());
    let cmd = format!(
        "env -u ROOTCELLAR_PASSPHRASE NO_COLOR=1 ROOTCELLAR_DIR={} ROOTCELLAR_SYSFS={} {bin} ceremony; sleep 30",
        w.path().display(),
        w.sys.path().display(),
    );
    let tm = Tmux::start(&format!("rc-unseen-{}", std::process::id()), &cmd);
    tm.wait_for("1 Preflight");
    tm.keys(&["Enter"]);
    tm.select("Sign a request brought on a USB stick");
    tm.keys(&["Enter"]);
    tm.wait_for("Path of the signing request");
    tm.type_text(bundle.to_str().unwrap());
    tm.keys(&["Enter"]);
    // The review is on the screen (each line waited for: a capture may catch a redraw half
    // done).
    let mut s = String::new();
    for what in [
        "Enter: choose your key",
        "root threshold 2 → 1",
        "expiry: ",
        "2126-11-01",
        "root role removes ",
        "+ key ",
        "read aloud:",
    ] {
        s = tm.wait_for(what);
    }
    let removes = s
        .lines()
        .find(|l| l.contains("root role removes"))
        .unwrap_or("");
    assert!(removes.contains("r2") && removes.contains("r3"), "{s}");
    assert!(!s.contains("Keyholder of"), "{s}");
    // Only now the key, then the secret, with the digest above it.
    tm.keys(&["Enter"]);
    tm.wait_for("3 Keys");
    tm.select("r1");
    tm.keys(&["Enter"]);
    let s = tm.wait_for("Keyholder of r1");
    assert!(s.contains("Signing root version 2 — read aloud:"), "{s}");
    // The keyholder does not sign it: back to the menu.
    for _ in 0..4 {
        tm.keys(&["Escape"]);
    }
    tm.select("Sign a request brought on a USB stick");
    tm.keys(&["Enter"]);
    tm.wait_for("Path of the signing request");
    tm.type_text(again_path.to_str().unwrap());
    tm.keys(&["Enter"]);
    let s = tm.wait_for("version 1 is published here already");
    assert!(!s.contains("3 Keys") && !s.contains("Keyholder of"), "{s}");
    // Nothing was signed: the request files are as they were.
    assert_eq!(json_file(&bundle), b);
    assert_eq!(json_file(&again_path), again);
}

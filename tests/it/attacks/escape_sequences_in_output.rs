//! Issue 18.2: terminal escape sequences and bidirectional controls in what files say (a key ID
//! made of `ESC[2K ESC[1A`, U+202E in a path and a role name). Printed raw they erase lines of
//! the review and hide an added key and a lowered threshold. Every command's output is checked
//! byte by byte, as text and as JSON: no control character, no escape, no bidi control.
use super::{bundle_of_next_version, json_file, put_json_file};
use crate::cli::Ws;
use crate::support::*;

const HOSTILE: &str = "\u{1b}[2K\u{1b}[1A\u{9b}2K\u{202e}\u{2066}\u{7}";

/// The first raw control, escape or bidi character in `out`, if any.
fn raw_control(out: &str) -> Option<(usize, char)> {
    out.char_indices().find(|(_, c)| {
        let u = *c as u32;
        (u < 0x20 && *c != '\n' && *c != '\t')
            || (0x7f..=0x9f).contains(&u)
            || (0x202a..=0x202e).contains(&u)
            || (0x2066..=0x2069).contains(&u)
            || matches!(u, 0x200e | 0x200f | 0x061c)
    })
}

fn assert_clean(what: &str, r: &Run) {
    for (stream, out) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
        if let Some((i, c)) = raw_control(out) {
            panic!(
                "{what}: {stream} holds U+{:04X} raw at byte {i}:\n{}",
                c as u32,
                out.escape_debug()
            );
        }
    }
}

#[test]
fn no_command_prints_them_raw() {
    let w = Ws::new();
    w.published_v1();
    let (d, bundle) = bundle_of_next_version(&w);

    // A bundle whose next root adds a key under a hostile key ID and lowers the threshold.
    let mut b = json_file(&bundle);
    let k = TestKey::ed25519(99).key();
    b["request"]["signed"]["keys"][HOSTILE] = serde_json::to_value(&k).unwrap();
    let role = &mut b["request"]["signed"]["roles"]["root"];
    role["keyids"].as_array_mut().unwrap().push(HOSTILE.into());
    role["threshold"] = 1.into();
    let evil = d.path().join("evil.json");
    put_json_file(&evil, &b);
    let e = evil.to_str().unwrap();

    // A root file with the hostile key ID, for verify.
    let (a, c) = (TestKey::ecdsa(1), TestKey::ecdsa(2));
    let mut r1 = root(1, &[&a, &c], 2, FUTURE);
    r1.keys.insert(HOSTILE.into(), k.clone());
    r1.roles
        .get_mut("root")
        .unwrap()
        .keyids
        .push(HOSTILE.into());
    let vd = tempfile::tempdir().unwrap();
    let v1 = write_md(vd.path(), "1.root.json", &signed(r1, &[&a, &c]));

    // An honest request in a folder whose name is hostile: the transcript records the path.
    let odd = d.path().join(HOSTILE);
    std::fs::create_dir(&odd).unwrap();
    let honest = odd.join("request.json");
    std::fs::copy(&bundle, &honest).unwrap();
    w.ok(&["sign", "--file", honest.to_str().unwrap(), "--key", "r1"]);
    let record = d.path().join("record.html");

    let runs: Vec<(String, Run)> = [
        vec!["request", "show", e],
        vec!["sign", "--file", e, "--key", "r1"],
        vec!["merge", e],
        vec!["request", "show", honest.to_str().unwrap()],
        vec!["verify", v1.to_str().unwrap()],
        vec!["audit", "show"],
        vec!["audit", "verify"],
        vec!["audit", "print", "--out", record.to_str().unwrap()],
        vec!["root", "show"],
        vec!["status"],
        vec![
            "delegate",
            "add",
            &format!("releases{HOSTILE}"),
            "--key",
            "r3",
        ],
        vec!["key", "import", honest.to_str().unwrap(), "--name", "x"],
    ]
    .into_iter()
    .flat_map(|args| {
        let mut json = args.clone();
        json.push("--json");
        [args, json]
    })
    .map(|args| (args.join(" "), w.run(&args)))
    .collect();
    for (what, r) in &runs {
        assert_clean(what, r);
    }
    // Escaped, not dropped: the added key and the threshold change are on the screen.
    let shown = &runs[0].1;
    assert!(
        shown.stderr.contains("\\x1b[2K") || shown.stdout.contains("\\x1b[2K"),
        "{}{}",
        shown.stdout,
        shown.stderr
    );
    let audit = &runs.iter().find(|(w, _)| w == "audit show").unwrap().1;
    assert!(audit.stdout.contains("<U+202E>"), "{}", audit.stdout);
    let html = std::fs::read_to_string(&record).unwrap();
    assert!(
        raw_control(&html).is_none(),
        "the printed record holds a raw control"
    );
    // Role names with such characters are refused on input.
    w.refused(
        &[
            "delegate",
            "add",
            &format!("releases{HOSTILE}"),
            "--key",
            "r3",
        ],
        2,
        "control, bidirectional or invisible characters",
    );
}

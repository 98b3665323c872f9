//! Issue 18.11: the transcript cut back before the last publish (its seal gone), or removed.
//! The published files are accounted for by nothing: `audit verify` fails, and commands refuse
//! instead of starting a new transcript.
use crate::cli::Ws;

#[test]
fn cut_before_the_last_publish() {
    let w = Ws::new();
    w.published_v1();
    let log = w.path().join("audit.log");
    let text = std::fs::read_to_string(&log).unwrap();
    let at = text.find("\"publish\"").expect("a publish line");
    let cut = &text[..text[..at].rfind('\n').map_or(0, |i| i + 1)];
    std::fs::write(&log, cut).unwrap();
    let r = w.run(&["audit", "verify"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    w.refused(
        &["status"],
        1,
        "was published by no command the transcript records",
    );
    w.refused(
        &["refresh"],
        1,
        "was published by no command the transcript records",
    );
}

#[test]
fn removed() {
    let w = Ws::new();
    w.published_v1();
    std::fs::remove_file(w.path().join("audit.log")).unwrap();
    for args in [vec!["status"], vec!["refresh"], vec!["audit", "verify"]] {
        w.refused(&args, 1, "does not record what this workspace holds");
    }
    assert!(
        !w.path().join("audit.log").exists(),
        "no new transcript was started"
    );
    // A deliberate step takes it back: the history verifies, the transcript records it.
    w.ok(&["audit", "re-anchor", "--confirm", "re-anchor"]);
    w.ok(&["status"]);
    w.ok(&["audit", "verify"]);
}

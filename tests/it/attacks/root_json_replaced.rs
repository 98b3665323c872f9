//! Issue 18.6: `metadata/root.json` replaced by version 1, or by garbage, after version 2 was
//! published. It must be the newest `N.root.json`: export to a stick and as QR codes refuse.
use crate::cli::Ws;

#[test]
fn refused_by_both_exports() {
    let w = Ws::new();
    w.published_v1();
    w.ok(&["refresh", "--expires", "200d"]);
    w.ok(&["sign", "--key", "r1", "--key", "r2"]);
    w.ok(&["publish"]);
    let latest = w.metadata().join("root.json");
    let v1 = std::fs::read(w.metadata().join("1.root.json")).unwrap();
    for bytes in [v1, b"garbage".to_vec()] {
        std::fs::write(&latest, &bytes).unwrap();
        for args in [
            vec!["export", "--to", "../usb"],
            vec!["export", "--qr", "--text", "../qr.txt"],
        ] {
            w.refused(
                &args,
                1,
                "metadata/root.json is not the newest published version",
            );
        }
        assert!(!w.path().join("../usb/root.json").exists());
    }
}

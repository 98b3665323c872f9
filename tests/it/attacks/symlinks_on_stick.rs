//! Issue 18.7: files on the stick that are symbolic links back into the workspace were
//! reported "unchanged, verified" and stayed links. A link is never the same file: export
//! refuses it without `--overwrite` and replaces it with a regular file with it.
use crate::cli::Ws;

#[test]
fn replaced_or_refused_never_unchanged() {
    let w = Ws::new();
    w.published_v1();
    let usb = w.path().join("../usb");
    std::fs::create_dir(&usb).unwrap();
    for name in ["1.root.json", "root.json"] {
        std::os::unix::fs::symlink(w.metadata().join(name), usb.join(name)).unwrap();
    }
    let u = usb.to_str().unwrap();
    let r = w.refused(&["export", "--to", u], 1, "(a link)");
    assert!(r.stderr.contains("1.root.json (a link)"), "{}", r.stderr);
    let r = w.ok(&["export", "--to", u, "--overwrite", "--json"]).json();
    for f in r["result"].as_array().unwrap() {
        assert_ne!(f["action"], "unchanged", "{r}");
    }
    for name in ["1.root.json", "root.json"] {
        let m = std::fs::symlink_metadata(usb.join(name)).unwrap();
        assert!(m.file_type().is_file(), "{name} is still a link");
        assert_eq!(
            std::fs::read(usb.join(name)).unwrap(),
            std::fs::read(w.metadata().join(name)).unwrap()
        );
    }
    // A FIFO on the stick under a published file's name: refused at once, never opened.
    std::fs::remove_file(usb.join("1.root.json")).unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(usb.join("1.root.json"))
        .status()
        .unwrap();
    assert!(st.success());
    w.refused(
        &["export", "--to", u],
        1,
        "1.root.json (not a regular file)",
    );
}

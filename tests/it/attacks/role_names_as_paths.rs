//! Role names used as file paths (CVE-2021-41131, GHSA-r56q-vv3c-6g9c: python-tuf path traversal
//! through delegated role names): a delegation named `../../x` must be refused when read and when written, and a
//! name such as `targets/releases` becomes one percent-encoded file name, never a path.
use rootcellar::tuf::metadata::role_file_name;
use rootcellar::tuf::{Metadata, Targets};

#[test]
fn refused() {
    for bad in [
        "../../etc/passwd",
        "a/../../b",
        "/abs",
        "a//b",
        "a\\..\\b",
        "..",
        "",
        "x\u{0}y",
    ] {
        let doc = serde_json::json!({
            "signed": {
                "_type": "targets", "spec_version": "1.0.31", "version": 1,
                "expires": "2030-01-01T00:00:00Z", "targets": {},
                "delegations": {"keys": {}, "roles": [{
                    "name": bad, "keyids": [], "threshold": 1, "terminating": false, "paths": [""]
                }]}
            },
            "signatures": []
        });
        let e = match Metadata::<Targets>::from_bytes(&serde_json::to_vec(&doc).unwrap()) {
            Ok(_) => panic!("delegation {bad:?} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("is not allowed"), "{bad:?}: {e}");
        assert!(role_file_name(bad).is_err(), "{bad:?}");
    }
    assert_eq!(
        role_file_name("targets/releases").unwrap(),
        "targets%2Freleases.json"
    );
    // Writing one: refused before anything is signed or written.
    let w = crate::cli::Ws::new();
    w.published_v1();
    w.refused(
        &["delegate", "add", "../../escape", "--key", "r3"],
        2,
        "is not allowed",
    );
    assert!(!w.path().join("../escape.json").exists());
}

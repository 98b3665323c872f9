//! The fuzz corpus and every fuzz finding (fuzz/regressions/), replayed through the same
//! harnesses the cargo-fuzz targets run (`rootcellar::fuzzing`), as ordinary tests.

use std::path::Path;

fn replay(target: &str, harness: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(rd) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|f| f == ".keep") {
                continue;
            }
            let bytes = std::fs::read(&p).unwrap();
            let r = std::panic::catch_unwind(|| harness(&bytes));
            assert!(r.is_ok(), "{target}: {} panics", p.display());
            n += 1;
        }
    }
    assert!(n > 0, "no corpus for {target}");
}

#[test]
fn metadata_corpus() {
    replay("metadata", rootcellar::fuzzing::metadata);
}

#[test]
fn canonical_json_corpus() {
    replay("canonical", rootcellar::fuzzing::canonical);
}

#[test]
fn qr_frames_corpus() {
    replay("qr", rootcellar::fuzzing::qr);
}

#[test]
fn key_import_corpus() {
    replay("key_import", rootcellar::fuzzing::key_import);
}

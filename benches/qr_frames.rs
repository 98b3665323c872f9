//! QR frames for sample roots: frames needed, payload bytes per frame against the QR code's
//! capacity, and encode time per frame. A report, not a timed test: `cargo bench --bench qr_frames`.

use rootcellar::transfer::{qr, render};
use std::time::Instant;

fn main() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut samples: Vec<(String, Vec<u8>)> = Vec::new();
    for rel in [
        "tuf/python-tuf-ecdsa-ed25519.root.json",
        "sigstore-root-history/15.root.json",
    ] {
        if let Ok(b) = std::fs::read(here.join(rel)) {
            samples.push((rel.to_string(), b));
        }
    }
    // A 30 KB root-like file: the sigstore root repeated with varied key material.
    if let Some((_, s)) = samples.last() {
        let mut big = Vec::new();
        let mut i = 0u32;
        while big.len() < 30_000 {
            big.extend_from_slice(s);
            big.extend_from_slice(format!("{i:08x}").as_bytes());
            i += 1;
        }
        samples.push(("30 KB synthetic".into(), big));
    }
    use qrcode::EcLevel::*;
    println!(
        "{:<42} {:>7} {:>6} {:>7} {:>9} {:>9} {:>8} {:>10}",
        "file", "bytes", "qr", "frames", "payload/f", "cap bytes", "payload%", "encode/f"
    );
    for (name, bytes) in &samples {
        for (v, ec) in [
            (5, L),
            (10, M),
            (15, M),
            (16, M),
            (17, M),
            (18, M),
            (20, L),
            (25, M),
            (40, L),
        ] {
            let chunk = qr::chunk_size(v, ec).expect("version carries frames");
            let frames = qr::encode(bytes, chunk).expect("encodes");
            let t = Instant::now();
            for f in &frames {
                let code = qr::frame_code(f, v, ec).expect("fits");
                std::hint::black_box(render::to_png(&code, 4).expect("png"));
            }
            let per = t.elapsed() / frames.len() as u32;
            let cap = qr::byte_capacity(v, ec);
            println!(
                "{:<42} {:>7} {:>6} {:>7} {:>9} {:>9} {:>7.1}% {:>10.2?}",
                name,
                bytes.len(),
                format!("{v}-{ec:?}"),
                frames.len(),
                chunk,
                cap,
                chunk as f64 * 100.0 / cap as f64,
                per
            );
        }
    }
}

//! Criterion benchmarks of the paths an operator waits on: canonical JSON, verifying a wide
//! root, verifying long root chains (parsed from bytes, as `rootcellar verify` does), QR frame
//! encoding, software-key signing, and one signature check with each ECDSA implementation.
//! `cargo bench --bench verify`; figures and their machine in docs/performance.md.

#[path = "common/chain.rs"]
mod chain;

use criterion::{Criterion, criterion_group, criterion_main};
use rootcellar::signer::Signer;
use rootcellar::signer::software::SoftwareKey;
use rootcellar::tuf::expiry::parse_tuf_time;
use rootcellar::tuf::verify::verify_chain;
use rootcellar::tuf::{Algorithm, Metadata, PublicKey, Root};
use std::hint::black_box;

/// A root whose root role has `n` keys (threshold `threshold`), signed by all of them.
fn wide_root(n: u64, threshold: u64) -> Metadata<Root> {
    let keys: Vec<chain::K> = (0..n).map(chain::key).collect();
    let refs: Vec<&chain::K> = keys.iter().collect();
    let online = chain::key(1_000_000_001);
    chain::signed(chain::root(1, &refs, threshold, &online), &refs)
}

fn parse_all(files: &[Vec<u8>]) -> Vec<Metadata<Root>> {
    files
        .iter()
        .map(|b| Metadata::<Root>::from_bytes(b).expect("the bench chain parses"))
        .collect()
}

fn benches(c: &mut Criterion) {
    let at = parse_tuf_time("2030-01-01T00:00:00Z").expect("a valid time");

    let twenty = wide_root(20, 20);
    let value = twenty.signed_value();
    c.bench_function("canonical JSON of a 20-key root", |b| {
        b.iter(|| rootcellar::tuf::canonical::to_canonical(black_box(&value)))
    });
    c.bench_function("verify a root with 20 keys, threshold 20", |b| {
        b.iter(|| {
            let r = verify_chain(black_box(&twenty), &[], at);
            assert!(r.valid);
        })
    });

    for n in [200u64, 1000] {
        let files = chain::chain(n);
        let mut g = c.benchmark_group(format!("chain of {n} roots"));
        g.sample_size(10);
        g.bench_function("parse and verify", |b| {
            b.iter(|| {
                let mds = parse_all(black_box(&files));
                let r = verify_chain(&mds[0], &mds[1..], at);
                assert!(r.valid);
            })
        });
        let mds = parse_all(&files);
        g.bench_function("verify (parsed)", |b| {
            b.iter(|| {
                let r = verify_chain(black_box(&mds[0]), &mds[1..], at);
                assert!(r.valid);
            })
        });
        g.finish();
    }
    // The same shape with P-256, Ed25519, P-384 and RSA-2048 (PSS) keys in turn.
    let files = chain::chain_mixed(200);
    let mut g = c.benchmark_group("chain of 200 roots, P-256/Ed25519/P-384/RSA");
    g.sample_size(10);
    g.bench_function("parse and verify", |b| {
        b.iter(|| {
            let mds = parse_all(black_box(&files));
            let r = verify_chain(&mds[0], &mds[1..], at);
            assert!(r.valid);
        })
    });
    g.finish();

    let four = chain::chain(1).remove(0);
    let mut n = 20;
    let thirty = loop {
        let b = wide_root(n, 1).to_file_bytes();
        if b.len() >= 30_000 {
            break b;
        }
        n += 10;
    };
    for (name, file) in [("4 KB", &four), ("30 KB", &thirty)] {
        let ec = qrcode::EcLevel::M;
        let v = rootcellar::ops::transfer::DEFAULT_QR_VERSION;
        let chunk =
            rootcellar::transfer::qr::chunk_size(v, ec).expect("the default carries frames");
        c.bench_function(
            &format!("QR frames of a {name} root (version {v}-M)"),
            |b| {
                b.iter(|| {
                    let frames =
                        rootcellar::transfer::qr::encode(black_box(file), chunk).expect("encodes");
                    for f in &frames {
                        black_box(rootcellar::transfer::qr::frame_code(f, v, ec).expect("fits"));
                    }
                })
            },
        );
    }

    let msg = vec![7u8; 3000];
    for alg in [
        Algorithm::EcdsaP256,
        Algorithm::EcdsaP384,
        Algorithm::Ed25519,
        Algorithm::Rsa2048,
    ] {
        let k = SoftwareKey::generate(alg, rootcellar::tuf::key::RsaScheme::DEFAULT)
            .expect("generates");
        c.bench_function(&format!("software-key signing, {}", alg.name()), |b| {
            b.iter(|| k.sign(black_box(&msg)).expect("signs"))
        });
    }

    // One signature check: the implementation choice (docs/performance.md).
    let k = chain::key(0);
    let sig = chain::sign(&k, &msg);
    let der = hex::decode(&sig.sig).expect("hex");
    let Ok(PublicKey::EcdsaP256(vk)) = k.key.decode() else {
        panic!("key 0 is P-256")
    };
    c.bench_function("one ECDSA P-256 verification, ring", |b| {
        b.iter(|| rootcellar::tuf::sig::ecdsa_p256_ring(&vk, black_box(&msg), &der))
    });
    c.bench_function("one ECDSA P-256 verification, p256", |b| {
        b.iter(|| rootcellar::tuf::sig::ecdsa_p256_rustcrypto(&vk, black_box(&msg), &der))
    });
    let k = chain::key(1);
    let sig = chain::sign(&k, &msg);
    let pk = k.key.decode().expect("key 1 decodes");
    c.bench_function("one Ed25519 verification, ed25519-dalek", |b| {
        b.iter(|| rootcellar::tuf::sig::verify(&pk, black_box(&msg), &sig.sig))
    });
}

criterion_group!(group, benches);
criterion_main!(group);

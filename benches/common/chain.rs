//! Root chains for the benchmarks (benches/verify.rs) and for scripts/bench-peers
//! (examples/make_chain.rs): version 1 has root keys 0, 1, 2 (threshold 2); version v has keys
//! v-1, v, v+1, so one key is replaced per version; each version is signed by its own three keys
//! and by the key it replaced (old and new keys); even-numbered keys are ECDSA P-256, odd ones
//! Ed25519. Everything is derived from fixed seeds, so the files are the same on every run.
//! [`chain_mixed`] is the same chain with key kinds in turn P-256, Ed25519, P-384 and RSA-2048
//! (PSS), its RSA keys drawn from a pool of three made once per run.

use rootcellar::tuf::edit::SPEC_VERSION;
use rootcellar::tuf::{Key, Metadata, PublicKey, RoleKeys, Root, Signature};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub enum Sk {
    P256(p256::ecdsa::SigningKey),
    Ed(ed25519_dalek::SigningKey),
    P384(p384::ecdsa::SigningKey),
    Rsa(Box<rsa::RsaPrivateKey>),
}

pub struct K {
    pub sk: Sk,
    pub key: Key,
    pub id: String,
}

/// Key number `i` of the chain (P-256 when even, Ed25519 when odd).
pub fn key(i: u64) -> K {
    let seed: [u8; 32] = Sha256::digest(format!("rootcellar bench key {i}")).into();
    let (sk, pk) = if i.is_multiple_of(2) {
        let sk = p256::ecdsa::SigningKey::from_slice(&seed).expect("a valid P-256 scalar");
        let pk = PublicKey::EcdsaP256(*sk.verifying_key());
        (Sk::P256(sk), pk)
    } else {
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let pk = PublicKey::Ed25519(sk.verifying_key());
        (Sk::Ed(sk), pk)
    };
    let key = pk.to_tuf_key();
    let id = key.keyid();
    K { sk, key, id }
}

/// Key number `i` of the mixed chain: P-256, Ed25519, P-384 or RSA-2048 (from `rsa_pool`).
pub fn key_mixed(i: u64, rsa_pool: &[rsa::RsaPrivateKey]) -> K {
    use rootcellar::tuf::key::{RsaKey, RsaScheme};
    match i % 4 {
        2 => {
            let seed: [u8; 48] = sha2::Sha384::digest(format!("rootcellar bench key {i}")).into();
            let sk = p384::ecdsa::SigningKey::from_slice(&seed).expect("a valid P-384 scalar");
            let key = PublicKey::EcdsaP384(*sk.verifying_key()).to_tuf_key();
            let id = key.keyid();
            K {
                sk: Sk::P384(sk),
                key,
                id,
            }
        }
        3 => {
            let sk = rsa_pool[(i / 4) as usize % rsa_pool.len()].clone();
            let key = PublicKey::Rsa(Box::new(RsaKey {
                key: sk.to_public_key(),
                scheme: RsaScheme::DEFAULT,
            }))
            .to_tuf_key();
            let id = key.keyid();
            K {
                sk: Sk::Rsa(Box::new(sk)),
                key,
                id,
            }
        }
        _ => key(i),
    }
}

pub fn sign(k: &K, msg: &[u8]) -> Signature {
    use p256::ecdsa::signature::Signer;
    let bytes = match &k.sk {
        Sk::P256(s) => {
            let sig: p256::ecdsa::Signature = s.sign(msg);
            sig.to_der().as_bytes().to_vec()
        }
        Sk::Ed(s) => s.sign(msg).to_bytes().to_vec(),
        Sk::P384(s) => {
            let sig: p384::ecdsa::Signature = s.sign(msg);
            sig.to_der().as_bytes().to_vec()
        }
        Sk::Rsa(s) => {
            use rsa::signature::{RandomizedSigner, SignatureEncoding};
            let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
            rsa::pss::BlindedSigningKey::<sha2::Sha256>::new((**s).clone())
                .sign_with_rng(&mut rng, msg)
                .to_vec()
        }
    };
    Signature::new(k.id.clone(), &bytes)
}

/// A root of `version` with root role `keys` (threshold `threshold`) and `online` as the
/// targets, snapshot and timestamp key.
pub fn root(version: u64, keys: &[&K], threshold: u64, online: &K) -> Root {
    let mut all = BTreeMap::new();
    for k in keys.iter().chain([&online]) {
        all.insert(k.id.clone(), k.key.clone());
    }
    let mut roles = BTreeMap::new();
    roles.insert(
        "root".to_string(),
        RoleKeys::new(keys.iter().map(|k| k.id.clone()).collect(), threshold),
    );
    for r in ["targets", "snapshot", "timestamp"] {
        roles.insert(r.to_string(), RoleKeys::new(vec![online.id.clone()], 1));
    }
    Root {
        type_: "root".into(),
        spec_version: SPEC_VERSION.into(),
        version,
        expires: "2099-01-01T00:00:00Z".into(),
        consistent_snapshot: Some(true),
        keys: all,
        roles,
        extra: BTreeMap::new(),
    }
}

/// `root` with every key of `signers` signing it.
pub fn signed(root: Root, signers: &[&K]) -> Metadata<Root> {
    let mut md = Metadata::new(root).expect("a valid root");
    md.signatures = signers
        .iter()
        .map(|k| sign(k, md.canonical_signed()))
        .collect();
    md
}

/// Versions 1..=n of the chain, as the bytes of their files.
pub fn chain(n: u64) -> Vec<Vec<u8>> {
    chain_with(n, &key)
}

/// Versions 1..=n of the mixed chain (P-256, Ed25519, P-384, RSA-2048).
pub fn chain_mixed(n: u64) -> Vec<Vec<u8>> {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let pool: Vec<rsa::RsaPrivateKey> = (0..3)
        .map(|_| rsa::RsaPrivateKey::new(&mut rng, 2048).expect("an RSA key"))
        .collect();
    chain_with(n, &|i| key_mixed(i, &pool))
}

fn chain_with(n: u64, make: &dyn Fn(u64) -> K) -> Vec<Vec<u8>> {
    let online = key(1_000_000_001);
    let mut keys: BTreeMap<u64, K> = BTreeMap::new();
    let mut out = Vec::new();
    for v in 1..=n {
        for i in [v.saturating_sub(2), v - 1, v, v + 1] {
            keys.entry(i).or_insert_with(|| make(i));
        }
        let own = [&keys[&(v - 1)], &keys[&v], &keys[&(v + 1)]];
        let mut signers: Vec<&K> = own.to_vec();
        if v >= 2 {
            signers.push(&keys[&(v - 2)]);
        }
        out.push(signed(root(v, &own, 2, &online), &signers).to_file_bytes());
        keys.retain(|i, _| *i + 2 >= v);
    }
    out
}

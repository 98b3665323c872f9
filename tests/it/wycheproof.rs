//! Wycheproof's ECDSA P-256/SHA-256 (DER) and Ed25519 verification vectors, through the
//! project's own path: the public key read from its SPKI PEM as `key import` reads it, the
//! signature checked by `tuf::sig::verify` as metadata signatures are. Every "valid" vector must
//! verify and every "invalid" one must be refused; "acceptable" ones (legacy encodings) may go
//! either way and are counted.

use rootcellar::tuf::PublicKey;
use wycheproof::TestResult;

struct Tally {
    total: usize,
    acceptable: usize,
    wrong: Vec<String>,
}

fn check(
    t: &mut Tally,
    pk: &PublicKey,
    id: usize,
    comment: &str,
    msg: &[u8],
    sig: &[u8],
    want: &TestResult,
) {
    t.total += 1;
    let ok = rootcellar::tuf::sig::verify(pk, msg, &hex::encode(sig)).is_ok();
    match want {
        TestResult::Valid if !ok => t.wrong.push(format!("tc {id} ({comment}): valid, refused")),
        TestResult::Invalid if ok => t
            .wrong
            .push(format!("tc {id} ({comment}): invalid, accepted")),
        TestResult::Acceptable => t.acceptable += 1,
        _ => {}
    }
}

impl Tally {
    fn new() -> Tally {
        Tally {
            total: 0,
            acceptable: 0,
            wrong: vec![],
        }
    }

    /// Every valid vector verified and every invalid one refused, and at least `min` of them.
    fn assert_all_right(&self, what: &str, min: usize) {
        assert!(
            self.wrong.is_empty(),
            "{} of {}:\n{}",
            self.wrong.len(),
            self.total,
            self.wrong.join("\n")
        );
        eprintln!(
            "Wycheproof {what}: {} vectors, {} acceptable",
            self.total, self.acceptable
        );
        assert!(self.total > min, "only {} vectors", self.total);
    }
}

#[test]
fn ecdsa_p256_sha256_der() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp256r1Sha256).unwrap();
    let mut t = Tally::new();
    for g in set.test_groups {
        let pk = PublicKey::from_spki_pem(&g.pem)
            .unwrap_or_else(|e| panic!("Wycheproof key not read: {e}"));
        for v in g.tests {
            check(&mut t, &pk, v.tc_id, &v.comment, &v.msg, &v.sig, &v.result);
        }
    }
    t.assert_all_right("ECDSA P-256", 400);
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut t = Tally::new();
    for g in set.test_groups {
        let pk = PublicKey::from_spki_pem(&g.pem)
            .unwrap_or_else(|e| panic!("Wycheproof key not read: {e}"));
        for v in g.tests {
            check(&mut t, &pk, v.tc_id, &v.comment, &v.msg, &v.sig, &v.result);
        }
    }
    t.assert_all_right("Ed25519", 100);
    assert_eq!(t.acceptable, 0);
}

#[test]
fn ecdsa_p384_sha384_der() {
    use wycheproof::ecdsa::{TestName, TestSet};
    let set = TestSet::load(TestName::EcdsaSecp384r1Sha384).unwrap();
    let mut t = Tally::new();
    for g in set.test_groups {
        let pk = PublicKey::from_spki_pem(&g.pem)
            .unwrap_or_else(|e| panic!("Wycheproof key not read: {e}"));
        assert!(matches!(pk, PublicKey::EcdsaP384(_)));
        for v in g.tests {
            check(&mut t, &pk, v.tc_id, &v.comment, &v.msg, &v.sig, &v.result);
        }
    }
    t.assert_all_right("ECDSA P-384", 300);
}

/// The scheme TUF names for a Wycheproof hash, where securesystemslib has one.
fn sha2(h: &wycheproof::HashFunction) -> Option<rootcellar::tuf::key::Sha2> {
    use rootcellar::tuf::key::Sha2;
    use wycheproof::HashFunction as H;
    match h {
        H::Sha2_224 => Some(Sha2::Sha224),
        H::Sha2_256 => Some(Sha2::Sha256),
        H::Sha2_384 => Some(Sha2::Sha384),
        H::Sha2_512 => Some(Sha2::Sha512),
        _ => None,
    }
}

/// RSA PKCS#1 v1.5 with every SHA-2 hash TUF names, 2048 to 8192 bits.
#[test]
fn rsa_pkcs1v15() {
    use rootcellar::tuf::key::RsaScheme;
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut t = Tally::new();
    for name in [
        TestName::Rsa2048Sha224,
        TestName::Rsa2048Sha256,
        TestName::Rsa2048Sha384,
        TestName::Rsa2048Sha512,
        TestName::Rsa3072Sha256,
        TestName::Rsa3072Sha384,
        TestName::Rsa3072Sha512,
        TestName::Rsa4096Sha256,
        TestName::Rsa4096Sha384,
        TestName::Rsa4096Sha512,
        TestName::Rsa8192Sha256,
        TestName::Rsa8192Sha512,
    ] {
        let set = TestSet::load(name).unwrap();
        for g in set.test_groups {
            let Some(hash) = sha2(&g.hash) else { continue };
            let pk = PublicKey::from_spki_pem(&g.pem)
                .unwrap_or_else(|e| panic!("Wycheproof key not read: {e}"))
                .with_rsa_scheme(RsaScheme { pss: false, hash })
                .expect("an RSA key");
            for v in g.tests {
                check(&mut t, &pk, v.tc_id, &v.comment, &v.msg, &v.sig, &v.result);
            }
        }
    }
    t.assert_all_right("RSA PKCS#1 v1.5", 1000);
}

/// RSA-PSS as securesystemslib verifies it: MGF1 with the message's hash, any salt length. A
/// vector Wycheproof calls invalid only because its salt has another length than the group's is
/// valid here; such vectors are checked to verify with the salt length they carry, and counted.
#[test]
fn rsa_pss_any_salt_length() {
    use rootcellar::tuf::key::RsaScheme;
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let mut t = Tally::new();
    let mut other_salt = 0;
    for name in [
        TestName::RsaPss2048Sha256Mgf1SaltLen0,
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha384Mgf1SaltLen48,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha384Mgf1SaltLen48,
        TestName::RsaPss4096Sha512Mgf1SaltLen32,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
        TestName::RsaPssmisc,
    ] {
        let set = TestSet::load(name).unwrap();
        for g in set.test_groups {
            let Some(hash) = sha2(&g.hash) else { continue };
            if g.mgf_hash.as_ref().and_then(sha2) != Some(hash) {
                continue;
            }
            let pk = PublicKey::from_spki_pem(&g.pem)
                .unwrap_or_else(|e| panic!("Wycheproof key not read: {e}"))
                .with_rsa_scheme(RsaScheme { pss: true, hash })
                .expect("an RSA key");
            let PublicKey::Rsa(rk) = &pk else { continue };
            for v in g.tests {
                let ok = rootcellar::tuf::sig::verify(&pk, &v.msg, &hex::encode(&*v.sig)).is_ok();
                if matches!(v.result, TestResult::Invalid) && ok {
                    // Accepted: it must be a PSS signature with another salt length.
                    assert!(
                        verifies_with_some_salt(rk, hash, &v.msg, &v.sig),
                        "tc {} ({}): invalid, accepted, and no salt length explains it",
                        v.tc_id,
                        v.comment
                    );
                    other_salt += 1;
                    t.total += 1;
                    continue;
                }
                check(&mut t, &pk, v.tc_id, &v.comment, &v.msg, &v.sig, &v.result);
            }
        }
    }
    eprintln!("RSA-PSS: {other_salt} vectors valid here with another salt length");
    t.assert_all_right("RSA-PSS", 500);
}

fn verifies_with_some_salt(
    k: &rootcellar::tuf::key::RsaKey,
    hash: rootcellar::tuf::key::Sha2,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    use rootcellar::tuf::key::Sha2;
    use rsa::signature::Verifier;
    use rsa::traits::PublicKeyParts;
    let Ok(s) = rsa::pss::Signature::try_from(sig) else {
        return false;
    };
    (0..k.key.size()).any(|salt| {
        let key = k.key.clone();
        match hash {
            Sha2::Sha224 => rsa::pss::VerifyingKey::<sha2::Sha224>::new_with_salt_len(key, salt)
                .verify(msg, &s)
                .is_ok(),
            Sha2::Sha256 => rsa::pss::VerifyingKey::<sha2::Sha256>::new_with_salt_len(key, salt)
                .verify(msg, &s)
                .is_ok(),
            Sha2::Sha384 => rsa::pss::VerifyingKey::<sha2::Sha384>::new_with_salt_len(key, salt)
                .verify(msg, &s)
                .is_ok(),
            Sha2::Sha512 => rsa::pss::VerifyingKey::<sha2::Sha512>::new_with_salt_len(key, salt)
                .verify(msg, &s)
                .is_ok(),
        }
    })
}

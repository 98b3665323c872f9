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

//! Attestation: every real chain in `tests/data/yubikey-attestation-2025/` (firmware 5.7.4 under
//! "Yubico Attestation Root 1", and firmware 4.3, 4.4 and 5.4.3 FIPS under 263751; source of each
//! in its README), what must refuse them, and chains the tests make themselves (with
//! x509-cert's builder): forgeries and look-alike hierarchies.

use crate::support::*;
use rootcellar::signer::attest::{Anchor, builtin_anchors, parse_certs, user_anchors, verify};
use rootcellar::tuf::PublicKey;
use std::str::FromStr;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::asn1::OctetString;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode, EncodePem, pem::LineEnding};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::BasicConstraints;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{EncodePublicKey, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::Validity;

struct Profile {
    subject: Name,
    issuer: Name,
    ca: bool,
    extra: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _: SubjectPublicKeyInfoRef<'_>,
        _: SubjectPublicKeyInfoRef<'_>,
        _: &x509_cert::TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let mut out = self.extra.clone();
        if self.ca {
            let bc = BasicConstraints {
                ca: true,
                path_len_constraint: None,
            };
            out.push(Extension {
                extn_id: ObjectIdentifier::new_unwrap("2.5.29.19"),
                critical: true,
                extn_value: OctetString::new(bc.to_der().unwrap()).unwrap(),
            });
        }
        Ok(out)
    }
}

pub(crate) enum Ca {
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

fn spki(pem_der: Vec<u8>) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::try_from(pem_der.as_slice()).unwrap()
}

pub(crate) fn ca_spki(k: &Ca) -> SubjectPublicKeyInfoOwned {
    match k {
        Ca::P256(s) => spki(s.verifying_key().to_public_key_der().unwrap().into_vec()),
        Ca::P384(s) => spki(s.verifying_key().to_public_key_der().unwrap().into_vec()),
    }
}

fn yubico_ext(oid: &str, value: Vec<u8>) -> Extension {
    Extension {
        extn_id: ObjectIdentifier::new_unwrap(oid),
        critical: false,
        extn_value: OctetString::new(value).unwrap(),
    }
}

/// The Yubico extensions of a key certificate: firmware, serial, PIN/touch policy.
fn key_exts(serial: u32) -> Vec<Extension> {
    let serial_der = x509_cert::der::asn1::Uint::new(&serial.to_be_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    vec![
        yubico_ext("1.3.6.1.4.1.41482.3.3", vec![5, 7, 4]),
        yubico_ext("1.3.6.1.4.1.41482.3.7", serial_der),
        yubico_ext("1.3.6.1.4.1.41482.3.8", vec![3, 3]),
    ]
}

fn issue(
    subject: &str,
    issuer: &str,
    subject_key: SubjectPublicKeyInfoOwned,
    signer: &Ca,
    ca: bool,
    extra: Vec<Extension>,
) -> Certificate {
    let validity = Validity::from_now(std::time::Duration::from_secs(3650 * 86400)).unwrap();
    issue_valid(subject, issuer, subject_key, signer, ca, extra, validity)
}

/// A certificate valid over `validity` (the Notary tests need expired ones).
pub(crate) fn issue_valid(
    subject: &str,
    issuer: &str,
    subject_key: SubjectPublicKeyInfoOwned,
    signer: &Ca,
    ca: bool,
    extra: Vec<Extension>,
    validity: Validity,
) -> Certificate {
    let profile = Profile {
        subject: Name::from_str(subject).unwrap(),
        issuer: Name::from_str(issuer).unwrap(),
        ca,
        extra,
    };
    let b =
        CertificateBuilder::new(profile, SerialNumber::from(7u32), validity, subject_key).unwrap();
    match signer {
        Ca::P256(k) => b.build::<_, p256::ecdsa::DerSignature>(k).unwrap(),
        Ca::P384(k) => b.build::<_, p384::ecdsa::DerSignature>(k).unwrap(),
    }
}

struct Hierarchy {
    root: Certificate,
    chain: Vec<Certificate>,
    key: PublicKey,
    key_signer: p256::ecdsa::SigningKey,
}

/// Root (P-384) → intermediate (P-384) → device (P-256) → key certificate, as firmware 5.7.4+.
fn newer_form(serial: u32) -> Hierarchy {
    let root_k = Ca::P384(p384::ecdsa::SigningKey::from_slice(&[11u8; 48]).unwrap());
    let inter_k = Ca::P384(p384::ecdsa::SigningKey::from_slice(&[12u8; 48]).unwrap());
    let dev_k = Ca::P256(p256::ecdsa::SigningKey::from_slice(&[13u8; 32]).unwrap());
    let key_sk = p256::ecdsa::SigningKey::from_slice(&[14u8; 32]).unwrap();
    let key = PublicKey::EcdsaP256(*key_sk.verifying_key());
    let root_n = "CN=Test Attestation Root 1,O=Test";
    let inter_n = "CN=Test Attestation Intermediate A 1,O=Test";
    let dev_n = "CN=Yubico PIV Attestation B 1";
    let root = issue(root_n, root_n, ca_spki(&root_k), &root_k, true, vec![]);
    let inter = issue(inter_n, root_n, ca_spki(&inter_k), &root_k, true, vec![]);
    let dev = issue(dev_n, inter_n, ca_spki(&dev_k), &inter_k, true, vec![]);
    let kc = issue(
        "CN=YubiKey PIV Attestation 9c",
        dev_n,
        spki(
            key_sk
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .into_vec(),
        ),
        &dev_k,
        false,
        key_exts(serial),
    );
    Hierarchy {
        root,
        chain: vec![kc, dev, inter],
        key,
        key_signer: key_sk,
    }
}

fn now() -> rootcellar::tuf::expiry::Timestamp {
    time::OffsetDateTime::now_utc()
}

#[test]
fn the_newer_chain_form_with_an_intermediate_verifies_against_its_root() {
    let h = newer_form(31337);
    // The user pins the test root and its intermediate; the chain is slot, f9.
    let pinned = user_anchors(vec![h.root.clone(), h.chain[2].clone()]);
    let v = verify(&h.chain[..2], &pinned, &h.key, Some(31337), now());
    assert!(v.valid, "{:?}", v.problems);
    assert_eq!(v.serial, Some(31337));
    assert_eq!(v.firmware.as_deref(), Some("5.7.4"));
    assert_eq!(
        (v.pin_policy.as_deref(), v.touch_policy.as_deref()),
        (Some("always"), Some("cached"))
    );
    assert!(!v.yubico_root && v.summary().contains("not a Yubico root"));
    // A pinned certificate may follow the f9 in the chain.
    assert!(verify(&h.chain, &pinned, &h.key, Some(31337), now()).valid);
    // Not against the built-in Yubico roots: that is not its root.
    assert!(!verify(&h.chain, &builtin_anchors(), &h.key, Some(31337), now()).valid);
    // Without the intermediate pinned, the chain is broken, even when the chain carries it.
    let root_only = user_anchors(vec![h.root.clone()]);
    let v = verify(&h.chain, &root_only, &h.key, Some(31337), now());
    assert!(!v.valid, "{v:?}");
    assert!(
        v.problems.iter().any(|p| p.contains("is not pinned")),
        "{v:?}"
    );
}

#[test]
fn an_attested_key_cannot_attest_another_key() {
    // The holder of an attested key signs a "key certificate" for a key of their choice.
    let h = newer_form(31337);
    let mallory = p256::ecdsa::SigningKey::from_slice(&[15u8; 32]).unwrap();
    let fake = issue(
        "CN=YubiKey PIV Attestation 9a",
        "CN=YubiKey PIV Attestation 9c",
        spki(
            mallory
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .into_vec(),
        ),
        &Ca::P256(h.key_signer.clone()),
        false,
        key_exts(31337),
    );
    let mut chain = vec![fake];
    chain.extend(h.chain.clone());
    let pinned = user_anchors(vec![h.root.clone(), h.chain[2].clone()]);
    let v = verify(
        &chain,
        &pinned,
        &PublicKey::EcdsaP256(*mallory.verifying_key()),
        Some(31337),
        now(),
    );
    assert!(!v.valid);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("not signed by a pinned Yubico PIV CA")),
        "{:?}",
        v.problems
    );
    // Given as slot certificate and "f9" only, the same: the attested key's certificate is not
    // signed by a pinned CA.
    let v = verify(
        &chain[..2],
        &pinned,
        &PublicKey::EcdsaP256(*mallory.verifying_key()),
        Some(31337),
        now(),
    );
    assert!(!v.valid, "{v:?}");
}

#[test]
fn a_self_made_ca_with_yubicos_names_fails() {
    let pk = PublicKey::from_spki_pem(
        &std::fs::read_to_string(data("yubikey-attestation/10550341/pubkey.pem")).unwrap(),
    )
    .unwrap();
    let PublicKey::EcdsaP256(vk) = &pk else {
        panic!()
    };
    let fake_root = Ca::P256(p256::ecdsa::SigningKey::from_slice(&[21u8; 32]).unwrap());
    let fake_dev = Ca::P256(p256::ecdsa::SigningKey::from_slice(&[22u8; 32]).unwrap());
    let root_n = "CN=Yubico PIV Root CA Serial 263751";
    let dev = issue(
        "CN=Yubico PIV Attestation",
        root_n,
        ca_spki(&fake_dev),
        &fake_root,
        true,
        vec![],
    );
    let kc = issue(
        "CN=YubiKey PIV Attestation 9c",
        "CN=Yubico PIV Attestation",
        spki(vk.to_public_key_der().unwrap().into_vec()),
        &fake_dev,
        false,
        key_exts(10550341),
    );
    let v = verify(&[kc, dev], &builtin_anchors(), &pk, Some(10550341), now());
    assert!(!v.valid);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("not signed by a pinned Yubico PIV CA")),
        "{:?}",
        v.problems
    );
}

/// `key attest` on a recorded chain, with the test root added through ROOTCELLAR_ATTESTATION_ROOTS.
#[test]
fn key_attest_uses_pinned_and_configured_roots() {
    let h = newer_form(424242);
    let d = TestDir::new();
    let mut c = rootcellar();
    c.env("ROOTCELLAR_DIR", d.path()).arg("init");
    assert_eq!(run(c).code, 0);
    let key = h.key.to_tuf_key();
    let pem: String = h
        .chain
        .iter()
        .map(|c| c.to_pem(LineEnding::LF).unwrap())
        .collect();
    let rec = serde_json::json!({
        "name": "yk", "keyid": key.keyid(), "algorithm": "ecdsa-p256", "key": key, "backend": "yubikey",
        "reference": "yubikey:serial=424242;slot=9c", "created_at": rootcellar::tuf::expiry::format_tuf_time(now() + time::Duration::minutes(1)),
        "yubikey": {"serial": 424242, "slot": "9c", "firmware": "5.7.4", "pin_policy": "always", "touch_policy": "cached", "attestation": pem}
    });
    std::fs::write(
        d.path().join("keys/yk.json"),
        serde_json::to_vec_pretty(&rec).unwrap(),
    )
    .unwrap();
    // A record written by hand is refused until the workspace is re-anchored on purpose.
    let mut c = rootcellar();
    c.env("ROOTCELLAR_DIR", d.path())
        .args(["key", "attest", "yk"]);
    let r = run(c);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stderr
            .contains("registered by no command the transcript records"),
        "{}",
        r.stderr
    );
    let mut c = rootcellar();
    c.env("ROOTCELLAR_DIR", d.path())
        .args(["audit", "re-anchor", "--confirm", "re-anchor"]);
    assert_eq!(run(c).code, 0);
    let roots = write(
        d.path(),
        "../roots.pem",
        format!(
            "{}{}",
            h.root.to_pem(LineEnding::LF).unwrap(),
            h.chain[2].to_pem(LineEnding::LF).unwrap()
        )
        .as_bytes(),
    );
    let attest = |roots: Option<&std::path::Path>| {
        let mut c = rootcellar();
        c.env("ROOTCELLAR_DIR", d.path())
            .args(["key", "attest", "yk"]);
        if let Some(r) = roots {
            c.env("ROOTCELLAR_ATTESTATION_ROOTS", r);
        }
        run(c)
    };
    let r = attest(None);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("NOT attested")
            && r.stdout.contains("not signed by a pinned Yubico PIV CA"),
        "{}",
        r.stdout
    );
    let r = attest(Some(&roots));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("attested: YubiKey serial 424242, firmware 5.7.4, PIN policy always, touch policy cached"), "{}", r.stdout);
    assert!(r.stdout.contains("not a Yubico root"), "{}", r.stdout);
    // key list shows the verdict too.
    let mut c = rootcellar();
    c.env("ROOTCELLAR_DIR", d.path())
        .env("ROOTCELLAR_ATTESTATION_ROOTS", &roots)
        .args(["key", "list"]);
    assert!(run(c).stdout.contains("attested: YubiKey serial 424242"));
    assert!(parse_certs(pem.as_bytes()).unwrap().len() == 3);
}

struct Fixture {
    dir: &'static str,
    att: &'static str,
    serial: u32,
    firmware: &'static str,
    pin: &'static str,
    touch: &'static str,
    form: Option<&'static str>,
    fips: bool,
    root: &'static str,
}

/// The README's table of real attestations.
const FIXTURES: &[Fixture] = &[
    Fixture {
        dir: "32718477",
        att: "att-9a.pem",
        serial: 32718477,
        firmware: "5.7.4",
        pin: "always",
        touch: "never",
        form: Some("USB-C nano"),
        fips: false,
        root: "Yubico Attestation Root 1",
    },
    Fixture {
        dir: "36345471",
        att: "att-9a.pem",
        serial: 36345471,
        firmware: "5.7.4",
        pin: "once",
        touch: "never",
        form: Some("USB-A keychain"),
        fips: false,
        root: "Yubico Attestation Root 1",
    },
    Fixture {
        dir: "38906121",
        att: "att-9c.pem",
        serial: 38906121,
        firmware: "5.7.4",
        pin: "always",
        touch: "always",
        form: Some("USB-C keychain"),
        fips: false,
        root: "Yubico Attestation Root 1",
    },
    Fixture {
        dir: "38906327",
        att: "att-9c.pem",
        serial: 38906327,
        firmware: "5.7.4",
        pin: "always",
        touch: "always",
        form: Some("USB-C keychain"),
        fips: false,
        root: "Yubico Attestation Root 1",
    },
    Fixture {
        dir: "38906331",
        att: "att-9c.pem",
        serial: 38906331,
        firmware: "5.7.4",
        pin: "always",
        touch: "always",
        form: Some("USB-C keychain"),
        fips: false,
        root: "Yubico Attestation Root 1",
    },
    Fixture {
        dir: "old-chain/5970478",
        att: "att-9a.pem",
        serial: 5970478,
        firmware: "4.3.5",
        pin: "always",
        touch: "never",
        form: None,
        fips: false,
        root: "Yubico PIV Root CA Serial 263751",
    },
    Fixture {
        dir: "old-chain/10231423",
        att: "att-9a.pem",
        serial: 10231423,
        firmware: "4.4.5",
        pin: "once",
        touch: "never",
        form: None,
        fips: false,
        root: "Yubico PIV Root CA Serial 263751",
    },
    Fixture {
        dir: "old-chain/25515003",
        att: "att-9c.pem",
        serial: 25515003,
        firmware: "5.4.3",
        pin: "always",
        touch: "never",
        form: Some("USB-C keychain"),
        fips: true,
        root: "Yubico PIV Root CA Serial 263751",
    },
];

fn certs(rel: &str) -> Vec<Certificate> {
    parse_certs(&std::fs::read(data(&format!("yubikey-attestation-2025/{rel}"))).unwrap()).unwrap()
}

fn fixture_chain(f: &Fixture) -> Vec<Certificate> {
    let mut c = certs(&format!("{}/{}", f.dir, f.att));
    c.extend(certs(&format!("{}/f9.pem", f.dir)));
    c
}

fn attested_key(c: &Certificate) -> PublicKey {
    let der = c
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .unwrap();
    let pem = x509_cert::der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &der).unwrap();
    PublicKey::from_spki_pem(&pem).unwrap()
}

fn at(s: &str) -> rootcellar::tuf::expiry::Timestamp {
    rootcellar::tuf::expiry::parse_tuf_time(s).unwrap()
}

#[test]
fn every_real_attestation_verifies_with_its_facts() {
    for f in FIXTURES {
        let chain = fixture_chain(f);
        let key = attested_key(&chain[0]);
        let v = verify(
            &chain,
            &builtin_anchors(),
            &key,
            Some(f.serial),
            at("2026-12-01T00:00:00Z"),
        );
        assert!(v.valid, "{}: {:?}", f.dir, v.problems);
        assert_eq!(v.serial, Some(f.serial), "{}", f.dir);
        assert_eq!(v.firmware.as_deref(), Some(f.firmware), "{}", f.dir);
        assert_eq!(
            (v.pin_policy.as_deref(), v.touch_policy.as_deref()),
            (Some(f.pin), Some(f.touch)),
            "{}",
            f.dir
        );
        assert_eq!(v.form_factor.as_deref(), f.form, "{}", f.dir);
        assert_eq!(v.fips, f.fips, "{}", f.dir);
        assert!(
            v.yubico_root && v.root.as_deref().is_some_and(|r| r.contains(f.root)),
            "{}: {v:?}",
            f.dir
        );
        // YSA-2024-03: EC keys below firmware 5.7, in every verdict.
        let ec = matches!(key, PublicKey::EcdsaP256(_) | PublicKey::EcdsaP384(_));
        let old = f.firmware < "5.7";
        assert_eq!(
            v.warnings.iter().any(|w| w.contains("YSA-2024-03")),
            ec && old,
            "{}: {v:?}",
            f.dir
        );
        assert_eq!(v.summary().contains("YSA-2024-03"), ec && old);
    }
    // The key types the fixtures hold: RSA-2048, P-256 and P-384.
    let kinds: std::collections::BTreeSet<&str> = FIXTURES
        .iter()
        .map(|f| match attested_key(&fixture_chain(f)[0]) {
            PublicKey::EcdsaP256(_) => "p256",
            PublicKey::EcdsaP384(_) => "p384",
            PublicKey::Rsa(_) => "rsa",
            PublicKey::Ed25519(_) => "ed25519",
        })
        .collect();
    assert_eq!(kinds, ["p256", "p384", "rsa"].into_iter().collect());
    // The attested key of 36345471 is the one regalia's test expects (spki.der).
    let spki = std::fs::read(data("yubikey-attestation-2025/36345471/spki.der")).unwrap();
    let c = &certs("36345471/att-9a.pem")[0];
    assert_eq!(
        c.tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .unwrap(),
        spki
    );
}

#[test]
fn a_real_attestation_is_refused_when_anything_changes() {
    let when = at("2026-12-01T00:00:00Z");
    for f in FIXTURES {
        let chain = fixture_chain(f);
        let key = attested_key(&chain[0]);
        // Its f9 swapped for another batch's.
        for g in FIXTURES {
            let other = certs(&format!("{}/f9.pem", g.dir));
            if other[0] == chain[1] {
                continue;
            }
            let swapped = vec![chain[0].clone(), other[0].clone()];
            let v = verify(&swapped, &builtin_anchors(), &key, Some(f.serial), when);
            assert!(
                !v.valid
                    && v.problems
                        .iter()
                        .any(|p| p.contains("not signed by the f9")),
                "{} with {}'s f9: {v:?}",
                f.dir,
                g.dir
            );
        }
        // One byte of a signature changed (the slot certificate's, then the f9's).
        for i in 0..2 {
            let mut der = chain[i].to_der().unwrap();
            let last = der.len() - 1;
            der[last] ^= 1;
            let mut bad = chain.clone();
            bad[i] = Certificate::from_der(&der).unwrap();
            let v = verify(&bad, &builtin_anchors(), &key, Some(f.serial), when);
            assert!(!v.valid, "{} byte in certificate {i}", f.dir);
        }
        // Another serial asked for.
        let v = verify(&chain, &builtin_anchors(), &key, Some(f.serial + 1), when);
        assert!(
            !v.valid && v.problems.iter().any(|p| p.contains("the device is")),
            "{}",
            f.dir
        );
        // Another key.
        let other = attested_key(
            &fixture_chain(
                &FIXTURES
                    [(FIXTURES.iter().position(|g| g.dir == f.dir).unwrap() + 1) % FIXTURES.len()],
            )[0],
        );
        assert!(!verify(&chain, &builtin_anchors(), &other, Some(f.serial), when).valid);
        // Outside the certificates' validity (before 2016 / 2024).
        assert!(
            !verify(
                &chain,
                &builtin_anchors(),
                &key,
                Some(f.serial),
                at("2015-01-01T00:00:00Z")
            )
            .valid
        );
        // A chain with a certificate after the f9 that is not pinned (Yubico's FIDO CA).
        let fido = certs("intermediates.pem")
            .into_iter()
            .find(|c| {
                c.tbs_certificate()
                    .subject()
                    .to_string()
                    .contains("FIDO Attestation B 1")
            })
            .unwrap();
        let mut long = chain.clone();
        long.push(fido);
        let v = verify(&long, &builtin_anchors(), &key, Some(f.serial), when);
        assert!(
            !v.valid && v.problems.iter().any(|p| p.contains("is not pinned")),
            "{v:?}"
        );
    }
}

/// A hierarchy re-issued with Yubico's names and extensions under a root that only looks like
/// "Yubico Attestation Root 1": refused by the pinned roots; accepted only when that root is
/// given by the user, and then labelled "not a Yubico root".
#[test]
fn a_look_alike_yubico_hierarchy_is_refused() {
    let real = certs("38906121/att-9c.pem").remove(0);
    let real_f9 = certs("38906121/f9.pem").remove(0);
    let key_sk = p256::ecdsa::SigningKey::from_slice(&[31u8; 32]).unwrap();
    let key = PublicKey::EcdsaP256(*key_sk.verifying_key());
    let root_k = Ca::P384(p384::ecdsa::SigningKey::from_slice(&[32u8; 48]).unwrap());
    let inter_k = Ca::P384(p384::ecdsa::SigningKey::from_slice(&[33u8; 48]).unwrap());
    let piv_k = Ca::P384(p384::ecdsa::SigningKey::from_slice(&[34u8; 48]).unwrap());
    let f9_k = Ca::P256(p256::ecdsa::SigningKey::from_slice(&[35u8; 32]).unwrap());
    let name = |c: &Certificate| c.tbs_certificate().subject().to_string();
    let piv_b1 = builtin_anchors()
        .into_iter()
        .find(|a| name(&a.cert).contains("PIV Attestation B 1"))
        .unwrap();
    let inter_b1 = builtin_anchors()
        .into_iter()
        .find(|a| name(&a.cert).contains("Intermediate B 1"))
        .unwrap();
    let root1 = builtin_anchors()
        .into_iter()
        .find(|a| name(&a.cert).contains("Attestation Root 1"))
        .unwrap();
    let (rn, inn, pn, f9n) = (
        name(&root1.cert),
        name(&inter_b1.cert),
        name(&piv_b1.cert),
        name(&real_f9),
    );
    let exts = |c: &Certificate| {
        c.tbs_certificate()
            .extensions()
            .map(|e| {
                e.iter()
                    .filter(|x| x.extn_id.to_string().starts_with("1.3.6.1.4.1.41482"))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    };
    let root = issue(&rn, &rn, ca_spki(&root_k), &root_k, true, vec![]);
    let inter = issue(&inn, &rn, ca_spki(&inter_k), &root_k, true, vec![]);
    let piv = issue(&pn, &inn, ca_spki(&piv_k), &inter_k, true, vec![]);
    let f9 = issue(&f9n, &pn, ca_spki(&f9_k), &piv_k, true, exts(&real_f9));
    let slot = issue(
        &name(&real),
        &f9n,
        spki(
            key_sk
                .verifying_key()
                .to_public_key_der()
                .unwrap()
                .into_vec(),
        ),
        &f9_k,
        false,
        exts(&real),
    );
    let chain = vec![slot, f9];
    let when = now();
    let v = verify(&chain, &builtin_anchors(), &key, Some(38906121), when);
    assert!(
        !v.valid
            && v.problems
                .iter()
                .any(|p| p.contains("not signed by a pinned Yubico PIV CA")),
        "{v:?}"
    );
    // With the look-alike's certificates pinned by the user, it verifies, and says so.
    let mut anchors: Vec<Anchor> = builtin_anchors();
    anchors.extend(user_anchors(vec![root, inter, piv]));
    let v = verify(&chain, &anchors, &key, Some(38906121), when);
    assert!(v.valid, "{v:?}");
    assert!(
        !v.yubico_root && v.summary().contains("not a Yubico root"),
        "{}",
        v.summary()
    );
    assert_eq!(v.serial, Some(38906121));
}

/// A remote keyholder's YubiKey key (a real 5.7.4 fixture's key) is the targets key of a root
/// made here with software keys: `key attestation add` keeps its attestation, `attest export`
/// writes the folder other tools read, and `verify --attestations` matches keys by public key,
/// applies --require-attested and --policy, works on a folder laid out by other tools, and
/// refuses a swapped or tampered attestation.
#[test]
fn attestations_are_kept_exported_and_required_by_verify() {
    let w = crate::cli::Ws::new();
    w.keys(&[("r1", "ecdsa-p256")]);
    let fx = "38906121";
    let slot = data(&format!("yubikey-attestation-2025/{fx}/att-9c.pem"));
    let f9 = data(&format!("yubikey-attestation-2025/{fx}/f9.pem"));
    let key = attested_key(&certs(&format!("{fx}/att-9c.pem"))[0]);
    let d = tempfile::tempdir().unwrap();
    let kf = write(
        d.path(),
        "yk.json",
        serde_json::to_string(&key.to_tuf_key()).unwrap().as_bytes(),
    );
    w.ok(&["key", "import", kf.to_str().unwrap(), "--name", "remote"]);
    // The wrong files are refused and nothing is kept.
    let other = data("yubikey-attestation-2025/36345471/att-9a.pem");
    w.refused(
        &[
            "key",
            "attestation",
            "add",
            "remote",
            other.to_str().unwrap(),
            f9.to_str().unwrap(),
        ],
        1,
        "none of the certificates attests the public key of remote",
    );
    let other_f9 = data("yubikey-attestation-2025/32718477/f9.pem");
    w.refused(
        &[
            "key",
            "attestation",
            "add",
            "remote",
            slot.to_str().unwrap(),
            other_f9.to_str().unwrap(),
        ],
        1,
        "NOT attested",
    );
    let r = w.ok(&[
        "key",
        "attestation",
        "add",
        "remote",
        f9.to_str().unwrap(),
        slot.to_str().unwrap(),
    ]);
    assert!(
        r.stdout
            .contains(&format!("attested: YubiKey serial {fx}, firmware 5.7.4")),
        "{}",
        r.stdout
    );
    w.ok(&["audit", "verify"]);
    let r = w.ok(&["key", "attest", "remote"]);
    assert!(r.stdout.contains("touch policy always"), "{}", r.stdout);
    w.ok(&[
        "root",
        "new",
        "--root-key",
        "r1",
        "--threshold",
        "1",
        "--targets-key",
        "remote",
        "--snapshot-key",
        "r1",
        "--timestamp-key",
        "r1",
    ]);
    w.ok(&["sign", "--key", "r1"]);
    w.ok(&["publish"]);
    let out = d.path().join("att");
    let r = w.ok(&["attest", "export", out.to_str().unwrap()]);
    assert!(r.stdout.contains("remote"), "{}", r.stdout);
    // The layout: SERIAL/Slot9CAttestation.pem, SERIAL/SlotF9Intermediate.pem, attestations.json.
    let written = std::fs::read(out.join(fx).join("Slot9CAttestation.pem")).unwrap();
    assert_eq!(
        parse_certs(&written).unwrap(),
        certs(&format!("{fx}/att-9c.pem"))
    );
    assert_eq!(
        parse_certs(&std::fs::read(out.join(fx).join("SlotF9Intermediate.pem")).unwrap()).unwrap(),
        certs(&format!("{fx}/f9.pem"))
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("attestations.json")).unwrap()).unwrap();
    let entries = index["keys"].as_array().unwrap();
    let remote = entries.iter().find(|e| e["name"] == "remote").unwrap();
    assert_eq!(remote["keyid"], key.to_tuf_key().keyid());
    assert_eq!(remote["files"][0], format!("{fx}/Slot9CAttestation.pem"));
    assert!(
        entries.iter().find(|e| e["name"] == "r1").unwrap()["note"]
            .as_str()
            .unwrap()
            .contains("software")
    );

    // The same folder onto the stick, with the export, twice (the second finds it all there).
    let stick = d.path().join("stick");
    std::fs::create_dir(&stick).unwrap();
    for _ in 0..2 {
        let r = w.ok(&["export", "--to", stick.to_str().unwrap(), "--attestations"]);
        assert!(r.stdout.contains("Attestations written"), "{}", r.stdout);
    }
    assert_eq!(
        std::fs::read(
            stick
                .join("attestations")
                .join(fx)
                .join("Slot9CAttestation.pem")
        )
        .unwrap(),
        written
    );
    let meta = w.path().join("metadata");
    let verify_with = |dir: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["verify", "--attestations", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        args.push(meta.to_str().unwrap());
        let mut c = rootcellar();
        c.args(&args);
        run(c)
    };
    let r = verify_with(&out, &["--require-attested", "targets", "--json"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let j = r.json();
    let a = j["result"]["attestations"].as_array().unwrap();
    let t = a
        .iter()
        .find(|k| k["keyid"] == key.to_tuf_key().keyid())
        .unwrap();
    assert_eq!(t["attested"], true);
    assert_eq!(t["verdict"]["serial"], 38906121);
    assert_eq!(t["verdict"]["touch_policy"], "always");
    // The root key is a software key: requiring attested root keys fails.
    let r = verify_with(&out, &["--require-attested", "root,targets"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("INVALID: attestations:")
            && r.stdout.contains("has no attestation in the folder"),
        "{}",
        r.stdout
    );
    // Policies are minimums.
    let r = verify_with(
        &out,
        &[
            "--require-attested",
            "targets",
            "--policy",
            "pin=always,touch=always,firmware>=5.7",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let r = verify_with(
        &out,
        &["--require-attested", "targets", "--policy", "firmware>=5.8"],
    );
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "does not meet the policy: firmware 5.7.4, the policy asks for at least 5.8.0"
        ),
        "{}",
        r.stdout
    );
    let r = verify_with(&out, &["--policy", "pin=sometimes"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    // A folder laid out by other tools (yubico-piv-tool's file names), no index.
    let other_tools = d.path().join("theirs");
    std::fs::create_dir_all(other_tools.join(fx)).unwrap();
    std::fs::copy(&slot, other_tools.join(fx).join("Slot9CAttestation.pem")).unwrap();
    std::fs::copy(&f9, other_tools.join(fx).join("SlotF9Intermediate.pem")).unwrap();
    assert_eq!(
        verify_with(&other_tools, &["--require-attested", "targets"]).code,
        0
    );
    // Filed under another serial: the certificate names 38906121, refused.
    std::fs::rename(other_tools.join(fx), other_tools.join("38906122")).unwrap();
    let r = verify_with(&other_tools, &["--require-attested", "targets"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("the certificate names YubiKey serial 38906121, the device is 38906122"),
        "{}",
        r.stdout
    );
    std::fs::rename(other_tools.join("38906122"), other_tools.join(fx)).unwrap();
    // Another batch's f9 beside it: refused.
    std::fs::copy(
        &other_f9,
        other_tools.join(fx).join("SlotF9Intermediate.pem"),
    )
    .unwrap();
    let r = verify_with(&other_tools, &["--require-attested", "targets"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("is not attested"), "{}", r.stdout);
    // A byte of the slot certificate's signature changed: refused.
    std::fs::copy(&f9, other_tools.join(fx).join("SlotF9Intermediate.pem")).unwrap();
    let mut der = certs(&format!("{fx}/att-9c.pem"))[0].to_der().unwrap();
    let n = der.len() - 1;
    der[n] ^= 1;
    std::fs::write(
        other_tools.join(fx).join("Slot9CAttestation.pem"),
        Certificate::from_der(&der)
            .unwrap()
            .to_pem(LineEnding::LF)
            .unwrap(),
    )
    .unwrap();
    let r = verify_with(&other_tools, &["--require-attested", "targets"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    // A slot certificate without the f9 beside it: a clear error.
    std::fs::remove_file(other_tools.join(fx).join("SlotF9Intermediate.pem")).unwrap();
    let r = verify_with(&other_tools, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("no SlotF9Intermediate.pem beside it"),
        "{}",
        r.stderr
    );
}

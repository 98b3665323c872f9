//! Attestation chains the tests make themselves (with x509-cert's builder): the newer
//! "Yubico Attestation Root 1" form with an intermediate, and forgeries. No real chain of the
//! newer form is at hand (docs/yubikey.md says so); the older form is tested on real data in
//! `signer::attest`.

use crate::support::*;
use rootcellar::signer::attest::{builtin_anchors, parse_certs, verify};
use rootcellar::tuf::PublicKey;
use std::str::FromStr;
use x509_cert::Certificate;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der::asn1::OctetString;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Encode, EncodePem, pem::LineEnding};
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
    let v = verify(
        &h.chain,
        std::slice::from_ref(&h.root),
        &h.key,
        Some(31337),
        now(),
    );
    assert!(v.valid, "{:?}", v.problems);
    assert_eq!(v.serial, Some(31337));
    assert_eq!(v.firmware.as_deref(), Some("5.7.4"));
    assert_eq!(
        (v.pin_policy.as_deref(), v.touch_policy.as_deref()),
        (Some("always"), Some("cached"))
    );
    // Not against the built-in Yubico root: that is not its root.
    assert!(!verify(&h.chain, &builtin_anchors(), &h.key, Some(31337), now()).valid);
    // Without the intermediate, the chain is broken.
    let short = vec![h.chain[0].clone(), h.chain[1].clone()];
    assert!(
        !verify(
            &short,
            std::slice::from_ref(&h.root),
            &h.key,
            Some(31337),
            now()
        )
        .valid
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
    let v = verify(
        &chain,
        std::slice::from_ref(&h.root),
        &PublicKey::EcdsaP256(*mallory.verifying_key()),
        Some(31337),
        now(),
    );
    assert!(!v.valid);
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("is not a CA certificate")),
        "{:?}",
        v.problems
    );
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
            .any(|p| p.contains("not signed by a pinned Yubico root")),
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
        "reference": "yubikey:serial=424242;slot=9c", "created_at": "2026-11-28T00:00:00Z",
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
        h.root.to_pem(LineEnding::LF).unwrap().as_bytes(),
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
            && r.stdout.contains("not signed by a pinned Yubico root"),
        "{}",
        r.stdout
    );
    let r = attest(Some(&roots));
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("attested: YubiKey serial 424242, firmware 5.7.4, PIN policy always, touch policy cached"), "{}", r.stdout);
    // key list shows the verdict too.
    let mut c = rootcellar();
    c.env("ROOTCELLAR_DIR", d.path())
        .env("ROOTCELLAR_ATTESTATION_ROOTS", &roots)
        .args(["key", "list"]);
    assert!(run(c).stdout.contains("attested: YubiKey serial 424242"));
    assert!(parse_certs(pem.as_bytes()).unwrap().len() == 3);
}

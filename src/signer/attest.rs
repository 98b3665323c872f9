//! YubiKey PIV attestation: is this key one a genuine YubiKey generated?
//!
//! A YubiKey signs a certificate for a key it generated (the slot certificate) with its factory
//! key, whose certificate sits in slot f9; Yubico's CAs signed that. The chain has a fixed shape:
//! the slot certificate, exactly one certificate that is not pinned (the f9, read from the card),
//! then pinned certificates only, up to a pinned root. Both Yubico PIV hierarchies are pinned here
//! by SHA-256 fingerprint: "Yubico PIV Root CA Serial 263751" (firmware before 5.7.4; it signs the
//! f9 itself) and "Yubico Attestation Root 1" with Intermediate A 1 / B 1 and the PIV CAs A 1,
//! B 1, B2 1 (firmware 5.7.4 and later; these are not on the card). Never Yubico's FIDO, OpenPGP,
//! SD or HSM CAs. Links are found by signature, never by subject name (f9 subjects vary between
//! batches). Certificates added by the user (`ROOTCELLAR_ATTESTATION_ROOTS`) are pinned too, and a
//! verdict reached through one says "not a Yubico root". Pure: no I/O; the time is passed in.

use crate::tuf::PublicKey;
use crate::tuf::expiry::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, DecodePem, Encode};

/// Yubico PIV Root CA Serial 263751.
pub const YUBICO_PIV_ROOT_CA: &str = include_str!("anchors/yubico-piv-root-ca.pem");

/// What a pinned certificate may sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A root (pinned, self-signed) that signs the f9 itself: 263751.
    RootSigningDevices,
    /// A root that signs intermediates only: Attestation Root 1.
    Root,
    /// Signs PIV CAs only: Intermediate A 1 / B 1.
    Intermediate,
    /// Signs f9 certificates: PIV Attestation A 1 / B 1 / B2 1.
    PivCa,
    /// Given by the user: may sign anything; a chain that uses one is "not a Yubico root".
    User,
}

/// The pinned Yubico PIV certificates: (SHA-256 of the DER, PEM, role).
const PINNED: &[(&str, &str, Role)] = &[
    (
        "63ece914e54dd87915f34033c85af4c0696ba1512f8add66ced738331207b546",
        YUBICO_PIV_ROOT_CA,
        Role::RootSigningDevices,
    ),
    (
        "62760c6a6ef91679f454c8902b80fd009825b3f25da90f1fbace2ec6586cd5a8",
        include_str!("anchors/yubico-attestation-root-1.pem"),
        Role::Root,
    ),
    (
        "4698a1d3389c3ec60016c216250f1d0439922832d65142327436376dc2942b55",
        include_str!("anchors/yubico-attestation-intermediate-a-1.pem"),
        Role::Intermediate,
    ),
    (
        "d4cc3f456fdaf4e7812a21aab1dfe9d8e27d24e2fd2d6f21c9940109f0daa754",
        include_str!("anchors/yubico-attestation-intermediate-b-1.pem"),
        Role::Intermediate,
    ),
    (
        "6de693f05376f5d8ca29069261e1c8626c75d503bd2edbfd75354cad1f722870",
        include_str!("anchors/yubico-piv-attestation-a-1.pem"),
        Role::PivCa,
    ),
    (
        "2d55b7998f4e42569d6d8fa382b6dc77d1dacf07358b19701163892922b17052",
        include_str!("anchors/yubico-piv-attestation-b-1.pem"),
        Role::PivCa,
    ),
    (
        "0c90b7d184a36edf50a35f9be935f0c5689bfdcfe5bdd073366cafb49061a440",
        include_str!("anchors/yubico-piv-attestation-b2-1.pem"),
        Role::PivCa,
    ),
];

/// A pinned certificate.
#[derive(Clone, Debug)]
pub struct Anchor {
    pub cert: Certificate,
    /// SHA-256 of the DER encoding.
    pub fingerprint: [u8; 32],
    pub role: Role,
}

impl Anchor {
    fn name(&self) -> String {
        cn(self.cert.tbs_certificate().subject())
    }
    fn yubico(&self) -> bool {
        self.role != Role::User
    }
    fn signs_devices(&self) -> bool {
        matches!(
            self.role,
            Role::RootSigningDevices | Role::PivCa | Role::User
        )
    }
    fn is_root(&self) -> bool {
        match self.role {
            Role::Root | Role::RootSigningDevices => true,
            Role::User => {
                let t = self.cert.tbs_certificate();
                t.subject() == t.issuer()
                    && signed_by(&self.cert, t.subject_public_key_info()).is_ok()
            }
            _ => false,
        }
    }
    /// Whether `self` may have issued `child` in a pinned hierarchy.
    fn may_sign(&self, child: &Anchor) -> bool {
        matches!(
            (self.role, child.role),
            (Role::User, _) | (Role::Root, Role::Intermediate) | (Role::Intermediate, Role::PivCa)
        )
    }
}

/// A certificate with its fingerprint and `role`.
pub fn anchor(cert: Certificate, role: Role) -> Option<Anchor> {
    let der = cert.to_der().ok()?;
    Some(Anchor {
        fingerprint: sha2::Sha256::digest(&der).into(),
        cert,
        role,
    })
}

const OID_FIRMWARE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.3");
const OID_SERIAL: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.7");
const OID_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.8");
const OID_FORM_FACTOR: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.9");
const OID_FIPS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.41482.3.10");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");

/// The verdict on an attestation chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub valid: bool,
    /// The YubiKey serial the slot certificate names.
    pub serial: Option<u32>,
    pub firmware: Option<String>,
    pub pin_policy: Option<String>,
    pub touch_policy: Option<String>,
    pub form_factor: Option<String>,
    /// The form factor's FIPS bit, or the f9's FIPS extension.
    #[serde(default)]
    pub fips: bool,
    /// The form factor's CSPN bit.
    #[serde(default)]
    pub cspn: bool,
    /// Subject of the root the chain ends in.
    pub root: Option<String>,
    /// Whether that root is one of Yubico's pinned roots (false: a root the user added).
    #[serde(default)]
    pub yubico_root: bool,
    /// Why the chain is refused; empty when valid.
    pub problems: Vec<String>,
    /// What to know about a valid chain (e.g. YSA-2024-03).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Verdict {
    pub fn summary(&self) -> String {
        if self.valid {
            let mut s = format!(
                "attested: YubiKey serial {}, firmware {}, PIN policy {}, touch policy {}",
                self.serial
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "?".into()),
                self.firmware.as_deref().unwrap_or("?"),
                self.pin_policy.as_deref().unwrap_or("?"),
                self.touch_policy.as_deref().unwrap_or("?"),
            );
            if let Some(f) = &self.form_factor {
                s.push_str(&format!(", {f}"));
            }
            if self.fips {
                s.push_str(", FIPS");
            }
            if self.cspn {
                s.push_str(", CSPN");
            }
            let root = self.root.as_deref().unwrap_or("?");
            if self.yubico_root {
                s.push_str(&format!(" (root: {root})"));
            } else {
                s.push_str(&format!(" (root: {root}: not a Yubico root)"));
            }
            for w in &self.warnings {
                s.push_str(&format!("; {w}"));
            }
            s
        } else {
            format!("NOT attested: {}", self.problems.join("; "))
        }
    }

    /// The firmware as (major, minor, patch).
    pub fn firmware_version(&self) -> Option<(u8, u8, u8)> {
        let mut it = self
            .firmware
            .as_deref()?
            .split('.')
            .map(|p| p.parse::<u8>());
        match (it.next(), it.next(), it.next()) {
            (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => Some((a, b, c)),
            _ => None,
        }
    }
}

/// Reads PEM or DER certificates (a PEM bundle may hold several).
pub fn parse_certs(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    if bytes.starts_with(b"-----BEGIN") {
        Certificate::load_pem_chain(bytes).map_err(|e| format!("not a PEM certificate: {e}"))
    } else {
        Certificate::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| format!("not a DER certificate: {e}"))
    }
}

/// The pinned Yubico certificates: each built-in PEM whose fingerprint is the pinned one.
pub fn builtin_anchors() -> Vec<Anchor> {
    PINNED
        .iter()
        .filter_map(|(fp, pem, role)| {
            let a = anchor(Certificate::from_pem(pem.as_bytes()).ok()?, *role)?;
            (hex::encode(a.fingerprint) == *fp).then_some(a)
        })
        .collect()
}

/// Certificates the user pins (`ROOTCELLAR_ATTESTATION_ROOTS`): a chain through one is
/// labelled "not a Yubico root".
pub fn user_anchors(certs: Vec<Certificate>) -> Vec<Anchor> {
    certs
        .into_iter()
        .filter_map(|c| anchor(c, Role::User))
        .collect()
}

fn cn(name: &x509_cert::name::Name) -> String {
    name.to_string()
}

/// Verifies that `parent`'s key signed `child`: RSA PKCS#1 v1.5 with SHA-256/384/512 or ECDSA
/// with SHA-256/384 (P-256 or P-384 keys), the algorithms Yubico and the virtual cards use.
fn signed_by(
    child: &Certificate,
    parent_spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
) -> Result<(), String> {
    let tbs = child
        .tbs_certificate()
        .to_der()
        .map_err(|e| e.to_string())?;
    let sig = child
        .signature()
        .as_bytes()
        .ok_or("signature has unused bits")?;
    let alg = child.signature_algorithm().oid;
    let spki_der = parent_spki.to_der().map_err(|e| e.to_string())?;
    if alg == RSA_SHA256 || alg == RSA_SHA384 || alg == RSA_SHA512 {
        use rsa::pkcs8::DecodePublicKey;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki_der)
            .map_err(|_| "the issuer's key is not RSA".to_string())?;
        let (scheme, digest) = if alg == RSA_SHA256 {
            (
                rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                sha2::Sha256::digest(&tbs).to_vec(),
            )
        } else if alg == RSA_SHA384 {
            (
                rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                sha2::Sha384::digest(&tbs).to_vec(),
            )
        } else {
            (
                rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                sha2::Sha512::digest(&tbs).to_vec(),
            )
        };
        key.verify(scheme, &digest, sig)
            .map_err(|_| "RSA signature does not verify".to_string())
    } else if alg == ECDSA_SHA256 || alg == ECDSA_SHA384 {
        use p256::pkcs8::DecodePublicKey;
        let digest: Vec<u8> = if alg == ECDSA_SHA256 {
            sha2::Sha256::digest(&tbs).to_vec()
        } else {
            sha2::Sha384::digest(&tbs).to_vec()
        };
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki_der) {
            use p256::ecdsa::signature::hazmat::PrehashVerifier;
            let s = p256::ecdsa::Signature::from_der(sig).map_err(|e| e.to_string())?;
            return k
                .verify_prehash(&digest, &s)
                .map_err(|_| "ECDSA P-256 signature does not verify".to_string());
        }
        if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(&spki_der) {
            use p384::ecdsa::signature::hazmat::PrehashVerifier;
            let s = p384::ecdsa::Signature::from_der(sig).map_err(|e| e.to_string())?;
            return k
                .verify_prehash(&digest, &s)
                .map_err(|_| "ECDSA P-384 signature does not verify".to_string());
        }
        Err("the issuer's key is neither P-256 nor P-384".into())
    } else {
        Err(format!("signature algorithm {alg} is not one Yubico uses"))
    }
}

fn extension(cert: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
    cert.tbs_certificate()
        .extensions()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

fn policy_words(pin: u8, touch: u8) -> (String, String) {
    let p = match pin {
        1 => "never",
        2 => "once",
        3 => "always",
        _ => "default",
    };
    let t = match touch {
        1 => "never",
        2 => "always",
        3 => "cached",
        _ => "default",
    };
    (p.into(), t.into())
}

/// The public key a slot certificate attests (P-256, P-384, Ed25519 or RSA).
pub fn attested_key(cert: &Certificate) -> Option<PublicKey> {
    let der = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok()?;
    let pem =
        x509_cert::der::pem::encode_string("PUBLIC KEY", x509_cert::der::pem::LineEnding::LF, &der)
            .ok()?;
    PublicKey::from_spki_pem(&pem).ok()
}

fn in_force(c: &Certificate, at: i64) -> bool {
    let validity = c.tbs_certificate().validity();
    let nb = validity.not_before.to_unix_duration().as_secs() as i64;
    let na = validity.not_after.to_unix_duration().as_secs() as i64;
    nb <= at && at <= na
}

/// The facts the slot certificate (and the f9) state about the device.
fn read_facts(v: &mut Verdict, slot: &Certificate, f9: Option<&Certificate>) {
    if let Some(fw) = extension(slot, OID_FIRMWARE).filter(|b| b.len() == 3) {
        v.firmware = Some(format!("{}.{}.{}", fw[0], fw[1], fw[2]));
    }
    if let Some(raw) = extension(slot, OID_SERIAL) {
        match x509_cert::der::asn1::Uint::from_der(raw) {
            Ok(u) if u.as_bytes().len() <= 4 => {
                v.serial = Some(
                    u.as_bytes()
                        .iter()
                        .fold(0u32, |a, x| (a << 8) | u32::from(*x)),
                );
            }
            Ok(_) => v
                .problems
                .push("the serial-number extension is too large".into()),
            Err(e) => v
                .problems
                .push(format!("the serial-number extension is malformed: {e}")),
        }
    }
    if let Some(p) = extension(slot, OID_POLICY).filter(|b| b.len() >= 2) {
        let (pin, touch) = policy_words(p[0], p[1]);
        v.pin_policy = Some(pin);
        v.touch_policy = Some(touch);
    }
    if let Some(f) = extension(slot, OID_FORM_FACTOR).and_then(|b| b.first()) {
        v.fips |= f & 0x80 != 0;
        v.cspn = f & 0x40 != 0;
        v.form_factor = Some(
            match f & 0x3f {
                1 => "USB-A keychain",
                2 => "USB-A nano",
                3 => "USB-C keychain",
                4 => "USB-C nano",
                5 => "USB-C Lightning",
                6 => "USB-A biometric",
                7 => "USB-C biometric",
                _ => "unknown form factor",
            }
            .into(),
        );
    }
    if [Some(slot), f9]
        .into_iter()
        .flatten()
        .any(|c| extension(c, OID_FIPS).is_some())
    {
        v.fips = true;
    }
}

/// Verifies `chain` — the slot certificate, the device's f9 certificate, then (optionally)
/// pinned certificates only — against `anchors`, and that it attests `expected` on the YubiKey
/// with serial `expected_serial`; the certificates must be in force at `at` (when the key was
/// generated).
pub fn verify(
    chain: &[Certificate],
    anchors: &[Anchor],
    expected: &PublicKey,
    expected_serial: Option<u32>,
    at: Timestamp,
) -> Verdict {
    let mut v = Verdict::default();
    let Some(slot) = chain.first() else {
        v.problems.push("no attestation certificates".into());
        return v;
    };
    let f9 = chain.get(1);
    read_facts(&mut v, slot, f9);
    // The attested key is the registered key (its material, whatever its scheme).
    let attested = attested_key(slot);
    match &attested {
        Some(k) if k.identity() == expected.identity() => {}
        Some(_) => v
            .problems
            .push("the attested public key is not this key".into()),
        None => v
            .problems
            .push("the attested key is not a P-256, P-384, Ed25519 or RSA key".into()),
    }
    match (expected_serial, v.serial) {
        (Some(want), Some(got)) if want != got => v.problems.push(format!(
            "the certificate names YubiKey serial {got}, the device is {want}"
        )),
        (Some(_), None) => v
            .problems
            .push("the slot certificate carries no YubiKey serial".into()),
        _ => {}
    }
    let pinned_fp = |c: &Certificate| -> Option<[u8; 32]> {
        let fp: [u8; 32] = sha2::Sha256::digest(c.to_der().ok()?).into();
        anchors.iter().any(|a| a.fingerprint == fp).then_some(fp)
    };
    let Some(f9) = f9 else {
        v.problems
            .push("the chain has no device (f9) certificate after the slot certificate".into());
        return v;
    };
    if pinned_fp(slot).is_some() || pinned_fp(f9).is_some() {
        v.problems.push(
            "the chain starts with a pinned CA certificate: it must hold the slot certificate, then the device's f9 certificate".into(),
        );
    }
    for c in &chain[2..] {
        if pinned_fp(c).is_none() {
            v.problems.push(format!(
                "certificate {:?} after the f9 is not pinned: a chain holds the slot certificate, the device's f9 certificate, then pinned certificates only",
                cn(c.tbs_certificate().subject())
            ));
        }
    }
    let at_unix = at.unix_timestamp();
    let when = crate::tuf::expiry::format_tuf_time(at);
    for c in [slot, f9] {
        if !in_force(c, at_unix) {
            v.problems.push(format!(
                "certificate {:?} was not in force at {when}",
                cn(c.tbs_certificate().subject())
            ));
        }
    }
    if let Err(e) = signed_by(slot, f9.tbs_certificate().subject_public_key_info()) {
        v.problems.push(format!(
            "the slot certificate is not signed by the f9 certificate given with it: {e}"
        ));
    }
    // Up from the f9, by signature, through pinned certificates only.
    let issuer_of = |child: &Certificate, ok: &dyn Fn(&Anchor) -> bool| {
        anchors.iter().find(|a| {
            ok(a) && signed_by(child, a.cert.tbs_certificate().subject_public_key_info()).is_ok()
        })
    };
    let Some(mut top) = issuer_of(f9, &|a| a.signs_devices()) else {
        v.problems.push(format!(
            "the f9 certificate (issuer named {:?}) is not signed by a pinned Yubico PIV CA",
            cn(f9.tbs_certificate().issuer())
        ));
        return finish(v, &attested);
    };
    let mut path = vec![top];
    while !top.is_root() {
        let child = top;
        match issuer_of(&child.cert, &|a| {
            a.may_sign(child) && !path.iter().any(|p| p.fingerprint == a.fingerprint)
        }) {
            Some(a) if path.len() < 5 => {
                path.push(a);
                top = a;
            }
            _ => {
                v.problems
                    .push(format!("{:?} is not signed by a pinned root", child.name()));
                return finish(v, &attested);
            }
        }
    }
    for a in &path {
        if !in_force(&a.cert, at_unix) {
            v.problems.push(format!(
                "certificate {:?} was not in force at {when}",
                a.name()
            ));
        }
    }
    v.root = Some(top.name());
    v.yubico_root = path.iter().all(|a| a.yubico());
    finish(v, &attested)
}

/// YSA-2024-03 and validity.
fn finish(mut v: Verdict, attested: &Option<PublicKey>) -> Verdict {
    let ec = matches!(
        attested,
        Some(PublicKey::EcdsaP256(_) | PublicKey::EcdsaP384(_))
    );
    if ec && v.firmware_version().is_some_and(|f| f < (5, 7, 0)) {
        v.warnings.push(
            "YSA-2024-03: an ECDSA key on firmware below 5.7 can be recovered by an attacker who holds the card and has specialised equipment (EUCLEAK)".into(),
        );
    }
    v.valid = v.problems.is_empty();
    v
}

/// The slot a slot certificate names ("YubiKey PIV Attestation 9c" → "9c").
pub fn slot_of(cert: &Certificate) -> Option<String> {
    let subject = cert.tbs_certificate().subject().to_string();
    let last = subject.rsplit(' ').next()?.to_ascii_lowercase();
    (last.len() == 2 && last.chars().all(|c| c.is_ascii_hexdigit())).then_some(last)
}

/// Minimums an attested key must meet: `pin=always,touch=always,firmware>=5.7`. PIN policies
/// rank never < once < always; touch policies never < cached < always.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub pin: Option<String>,
    pub touch: Option<String>,
    pub firmware: Option<(u8, u8, u8)>,
}

fn pin_rank(p: &str) -> Option<u8> {
    ["never", "once", "always"]
        .iter()
        .position(|x| *x == p)
        .map(|i| i as u8)
}

fn touch_rank(t: &str) -> Option<u8> {
    ["never", "cached", "always"]
        .iter()
        .position(|x| *x == t)
        .map(|i| i as u8)
}

impl Policy {
    pub fn parse(spec: &str) -> Result<Policy, String> {
        let mut p = Policy::default();
        for part in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if let Some(v) = part.strip_prefix("pin=") {
                pin_rank(v).ok_or(format!("PIN policy {v:?}: use never, once or always"))?;
                p.pin = Some(v.into());
            } else if let Some(v) = part.strip_prefix("touch=") {
                touch_rank(v).ok_or(format!("touch policy {v:?}: use never, cached or always"))?;
                p.touch = Some(v.into());
            } else if let Some(v) = part.strip_prefix("firmware>=") {
                let n: Vec<Option<u8>> = v.split('.').map(|x| x.parse().ok()).collect();
                p.firmware = match n.as_slice() {
                    [Some(a), Some(b)] => Some((*a, *b, 0)),
                    [Some(a), Some(b), Some(c)] => Some((*a, *b, *c)),
                    _ => return Err(format!("firmware {v:?}: write e.g. firmware>=5.7")),
                };
            } else {
                return Err(format!(
                    "{part:?}: a policy is pin=…, touch=… or firmware>=…, separated by commas"
                ));
            }
        }
        Ok(p)
    }

    /// Why `v` does not meet the policy (empty: it does).
    pub fn shortfalls(&self, v: &Verdict) -> Vec<String> {
        let mut out = Vec::new();
        let below = |want: &str, got: Option<&str>, rank: fn(&str) -> Option<u8>| {
            let ok = got
                .and_then(rank)
                .zip(rank(want))
                .is_some_and(|(g, w)| g >= w);
            (!ok).then(|| got.unwrap_or("unknown").to_string())
        };
        if let Some(want) = &self.pin
            && let Some(got) = below(want, v.pin_policy.as_deref(), pin_rank)
        {
            out.push(format!(
                "PIN policy {got}, the policy asks for at least {want}"
            ));
        }
        if let Some(want) = &self.touch
            && let Some(got) = below(want, v.touch_policy.as_deref(), touch_rank)
        {
            out.push(format!(
                "touch policy {got}, the policy asks for at least {want}"
            ));
        }
        if let Some(want) = self.firmware
            && v.firmware_version().is_none_or(|f| f < want)
        {
            out.push(format!(
                "firmware {}, the policy asks for at least {}.{}.{}",
                v.firmware.as_deref().unwrap_or("unknown"),
                want.0,
                want.1,
                want.2
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEVICE: &[u8] =
        include_bytes!("../../tests/data/yubikey-attestation/10550341/device_cert.pem");
    const KEY: &[u8] = include_bytes!("../../tests/data/yubikey-attestation/10550341/key_cert.pem");
    const PUBKEY: &str = include_str!("../../tests/data/yubikey-attestation/10550341/pubkey.pem");

    fn now() -> Timestamp {
        time::macros::datetime!(2026-11-28 12:00 UTC)
    }

    fn chain() -> Vec<Certificate> {
        let mut c = parse_certs(KEY).unwrap();
        c.extend(parse_certs(DEVICE).unwrap());
        c
    }

    /// Every pinned certificate loads under its fingerprint (those in the README of
    /// tests/data/yubikey-attestation-2025), and only PIV ones are pinned.
    #[test]
    fn both_yubico_piv_hierarchies_are_pinned_and_nothing_else() {
        let a = builtin_anchors();
        assert_eq!(a.len(), PINNED.len());
        let names: Vec<String> = a.iter().map(Anchor::name).collect();
        for want in [
            "Yubico PIV Root CA Serial 263751",
            "Yubico Attestation Root 1",
            "Yubico Attestation Intermediate A 1",
            "Yubico Attestation Intermediate B 1",
            "Yubico PIV Attestation A 1",
            "Yubico PIV Attestation B 1",
            "Yubico PIV Attestation B2 1",
        ] {
            assert!(
                names.iter().any(|n| n.contains(want)),
                "{want} in {names:?}"
            );
        }
        for n in &names {
            for other in ["FIDO", "OPGP", "SD ", "HSM"] {
                assert!(!n.contains(other), "{n}");
            }
        }
        // Each pinned link verifies: PIV CAs under the intermediates, those under Root 1.
        for child in a
            .iter()
            .filter(|c| c.role != Role::Root && c.role != Role::RootSigningDevices)
        {
            assert!(
                a.iter().any(|p| p.may_sign(child)
                    && signed_by(
                        &child.cert,
                        p.cert.tbs_certificate().subject_public_key_info()
                    )
                    .is_ok()),
                "{}",
                child.name()
            );
        }
    }

    #[test]
    fn the_real_chain_verifies_against_the_pinned_root() {
        let pk = PublicKey::from_spki_pem(PUBKEY).unwrap();
        let v = verify(&chain(), &builtin_anchors(), &pk, Some(10550341), now());
        assert!(v.valid, "{:?}", v.problems);
        assert_eq!(v.serial, Some(10550341));
        assert_eq!(
            v.root.as_deref(),
            Some("CN=Yubico PIV Root CA Serial 263751")
        );
        assert!(v.yubico_root);
        assert!(
            v.firmware.is_some() && v.pin_policy.is_some() && v.touch_policy.is_some(),
            "{v:?}"
        );
        assert!(v.summary().starts_with("attested: YubiKey serial 10550341"));
    }

    #[test]
    fn a_swapped_key_a_wrong_serial_or_another_root_fails() {
        let pk = PublicKey::from_spki_pem(PUBKEY).unwrap();
        let other = PublicKey::EcdsaP256(
            *p256::ecdsa::SigningKey::from_slice(&[7u8; 32])
                .unwrap()
                .verifying_key(),
        );
        let v = verify(&chain(), &builtin_anchors(), &other, Some(10550341), now());
        assert!(
            !v.valid && v.problems.iter().any(|p| p.contains("not this key")),
            "{v:?}"
        );
        let v = verify(&chain(), &builtin_anchors(), &pk, Some(12345678), now());
        assert!(
            !v.valid
                && v.problems
                    .iter()
                    .any(|p| p.contains("serial 10550341, the device is 12345678")),
            "{v:?}"
        );
        let v = verify(&chain(), &[], &pk, Some(10550341), now());
        assert!(
            !v.valid
                && v.problems
                    .iter()
                    .any(|p| p.contains("not signed by a pinned Yubico PIV CA")),
            "{v:?}"
        );
        // A key certificate whose signature was altered.
        let mut der = parse_certs(KEY).unwrap()[0].to_der().unwrap();
        let last = der.len() - 1;
        der[last] ^= 1;
        let mut tampered = vec![Certificate::from_der(&der).unwrap()];
        tampered.extend(parse_certs(DEVICE).unwrap());
        let v = verify(&tampered, &builtin_anchors(), &pk, Some(10550341), now());
        assert!(
            !v.valid && v.problems.iter().any(|p| p.contains("does not verify")),
            "{v:?}"
        );
        // Without the device certificate.
        let v = verify(
            &parse_certs(KEY).unwrap(),
            &builtin_anchors(),
            &pk,
            None,
            now(),
        );
        assert!(!v.valid);
    }

    #[test]
    fn policies_are_minimums() {
        let p = Policy::parse("pin=once,touch=cached,firmware>=5.7").unwrap();
        let v = |pin: &str, touch: &str, fw: &str| Verdict {
            pin_policy: Some(pin.into()),
            touch_policy: Some(touch.into()),
            firmware: Some(fw.into()),
            ..Verdict::default()
        };
        assert!(p.shortfalls(&v("always", "always", "5.7.4")).is_empty());
        assert!(p.shortfalls(&v("once", "cached", "5.7.0")).is_empty());
        assert_eq!(p.shortfalls(&v("never", "cached", "5.7.4")).len(), 1);
        assert_eq!(p.shortfalls(&v("once", "never", "5.7.4")).len(), 1);
        assert_eq!(p.shortfalls(&v("once", "cached", "5.4.3")).len(), 1);
        assert_eq!(p.shortfalls(&v("default", "default", "x")).len(), 3);
        assert_eq!(p.shortfalls(&Verdict::default()).len(), 3);
        assert!(Policy::parse("pin=sometimes").is_err());
        assert!(Policy::parse("colour=red").is_err());
        assert!(Policy::parse("firmware>=5").is_err());
        assert_eq!(Policy::parse("").unwrap(), Policy::default());
    }
}

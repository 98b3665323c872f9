//! The native YubiKey PIV backend (crate `yubikey`): keys generated in a PIV slot, used there,
//! attested by the device.
//!
//! Invariants: no default PIN or management key is ever tried unless the operator said so
//! (`--default-management-key`); the PIN retry counter is read before a PIN is asked, a device
//! on its last try is refused unless `--force`, and a wrong PIN is never retried; devices are
//! told apart by serial; the private key never leaves the slot.

use super::Signer;
use crate::error::{Error, Result};
use crate::tuf::{Algorithm, PublicKey};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use yubikey::piv::{self, AlgorithmId, SlotId};
use yubikey::{MgmKey, PinPolicy, Serial, TouchPolicy, YubiKey};

/// A key reference: `yubikey:serial=N;slot=9c`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YkRef {
    pub serial: u32,
    pub slot: SlotId,
}

/// Parses a PIV slot name: 9a, 9c, 9d, 9e or a retired slot 82..95.
pub fn parse_slot(s: &str) -> Result<SlotId> {
    let bad = || {
        Error::bad_input(format!("{s:?} is not a PIV key slot")).hint("use 9a, 9c, 9d, 9e or a retired slot 82-95 (9c, Digital Signature, is the usual one for signing)")
    };
    let n = u8::from_str_radix(s.trim_start_matches("0x"), 16).map_err(|_| bad())?;
    match SlotId::try_from(n) {
        Ok(SlotId::Attestation) | Ok(SlotId::Management(_)) | Err(_) => Err(bad()),
        Ok(slot) => Ok(slot),
    }
}

pub fn slot_name(slot: SlotId) -> String {
    format!("{:02x}", u8::from(slot))
}

impl std::fmt::Display for YkRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "yubikey:serial={};slot={}",
            self.serial,
            slot_name(self.slot)
        )
    }
}

impl std::str::FromStr for YkRef {
    type Err = Error;
    fn from_str(s: &str) -> Result<YkRef> {
        let bad = |why: &str| {
            Error::bad_input(format!("{s:?} is not a YubiKey key reference: {why}"))
                .hint("write it as yubikey:serial=N;slot=9c")
        };
        let rest = s
            .strip_prefix("yubikey:")
            .ok_or_else(|| bad("it does not start with yubikey:"))?;
        let (mut serial, mut slot) = (None, None);
        for part in rest.split(';') {
            match part.split_once('=') {
                Some(("serial", v)) => {
                    serial = Some(
                        v.parse::<u32>()
                            .map_err(|_| bad("the serial is not a number"))?,
                    )
                }
                Some(("slot", v)) => slot = Some(parse_slot(v)?),
                _ => return Err(bad("unknown part")),
            }
        }
        Ok(YkRef {
            serial: serial.ok_or_else(|| bad("no serial"))?,
            slot: slot.ok_or_else(|| bad("no slot"))?,
        })
    }
}

/// What the workspace records about a YubiKey key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YubiKeyRecord {
    pub serial: u32,
    pub slot: String,
    pub firmware: String,
    pub pin_policy: String,
    pub touch_policy: String,
    /// Attestation chain in PEM, key certificate first; absent when the device gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<String>,
    /// Why there is no attestation, when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_missing: Option<String>,
}

/// Firmware before 5.7.0 has the EC key-cloning side channel of YSA-2024-03.
pub fn ysa_2024_03(major: u8, minor: u8) -> bool {
    (major, minor) < (5, 7)
}

/// Whether the firmware can hold Ed25519 keys (5.7 and later).
pub fn supports_ed25519(major: u8, minor: u8) -> bool {
    (major, minor) >= (5, 7)
}

/// Whether the firmware can hold RSA-3072 and RSA-4096 keys (5.7 and later).
pub fn supports_large_rsa(major: u8, minor: u8) -> bool {
    (major, minor) >= (5, 7)
}

/// Firmware 4.2.6 to 4.3.4 generates weak RSA keys (ROCA, CVE-2017-15361, YSA-2017-01).
pub fn roca(major: u8, minor: u8, patch: u8) -> bool {
    ((4, 2, 6)..=(4, 3, 4)).contains(&(major, minor, patch))
}

fn firmware(yk: &YubiKey) -> (u8, u8, String) {
    let v = yk.version();
    (
        v.major,
        v.minor,
        format!("{}.{}.{}", v.major, v.minor, v.patch),
    )
}

fn pcsc(e: yubikey::Error, serial: Option<u32>, what: &str) -> Error {
    let dev = serial
        .map(|s| format!("YubiKey {s}"))
        .unwrap_or_else(|| "the YubiKey".into());
    match e {
        yubikey::Error::PcscError { .. } => Error::environment(format!("{dev} could not be reached while trying to {what} (removed, or pcscd stopped)"))
            .hint("plug the YubiKey in (and check that pcscd runs), then run the command again; nothing was written"),
        yubikey::Error::NotFound => Error::environment(format!("{dev} is not connected")).hint("plug it in; `rootcellar device list` shows the YubiKeys found"),
        yubikey::Error::PinLocked | yubikey::Error::WrongPin { tries: 0 } => Error::refused(format!("the PIN of {dev} is locked")).hint("unblock it with the PUK: rootcellar yubikey unblock-pin"),
        yubikey::Error::WrongPin { tries } => Error::bad_input(format!("wrong PIN for {dev}: {tries} tries left"))
            .hint("check the PIN before trying again; rootcellar never retries a PIN by itself"),
        e => Error::environment(format!("{dev}: cannot {what}: {e}")).hint("check the device and run the command again"),
    }
}

/// PIV data object holding a slot's certificate (SP 800-73-4; retired slots 82..95 follow on).
fn cert_object(slot: SlotId) -> Option<u32> {
    match slot {
        SlotId::Authentication => Some(0x005f_c105),
        SlotId::Signature => Some(0x005f_c10a),
        SlotId::KeyManagement => Some(0x005f_c10b),
        SlotId::CardAuthentication => Some(0x005f_c101),
        SlotId::Attestation => Some(0x005f_ff01),
        SlotId::Retired(_) => Some(0x005f_c10d + u32::from(u8::from(slot).checked_sub(0x82)?)),
        SlotId::Management(_) => None,
    }
}

/// Reads a slot's certificate, or `None` when the slot has none. Reads the data object and its
/// TLV (tag 0x70) itself: the `yubikey` crate's reader indexes an empty object (a deleted
/// certificate) and panics.
pub fn read_cert(yk: &mut YubiKey, slot: SlotId) -> Option<x509_cert::Certificate> {
    use x509_cert::der::Decode;
    let buf = yk.fetch_object(cert_object(slot)?).ok()?;
    let der: &[u8] = match buf.first() {
        None => return None,
        Some(0x70) => {
            let (len, hdr) = match buf.get(1)? {
                n @ 0..=0x7f => (usize::from(*n), 1),
                0x81 => (usize::from(*buf.get(2)?), 2),
                0x82 => (
                    (usize::from(*buf.get(2)?) << 8) | usize::from(*buf.get(3)?),
                    3,
                ),
                _ => return None,
            };
            buf.get(1 + hdr..1 + hdr + len)?
        }
        Some(_) => &buf,
    };
    x509_cert::Certificate::from_der(der).ok()
}

/// A slot in use, as `device list` shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SlotUse {
    pub slot: String,
    pub subject: String,
}

/// A connected YubiKey.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DeviceInfo {
    pub serial: u32,
    pub firmware: String,
    pub reader: String,
    pub slots: Vec<SlotUse>,
    pub pin_retries: Option<u8>,
    pub warnings: Vec<String>,
}

/// PIN tries left. From the PIN's metadata where the firmware has it (5.3+); else from an empty
/// VERIFY, whose "0" the `yubikey` crate also reports for an already verified PIN, so 0 from
/// there counts as unknown (a VERIFY on a blocked PIN uses up nothing).
pub fn pin_retries(yk: &mut YubiKey) -> Option<u8> {
    if let Ok(m) = piv::metadata(yk, SlotId::Management(piv::ManagementSlotId::Pin))
        && let Some(r) = m.retries
    {
        return Some(r.remaining_count);
    }
    match yk.get_pin_retries() {
        Ok(0) | Err(_) => None,
        Ok(n) => Some(n),
    }
}

/// PUK tries left, from the PUK's metadata (firmware 5.3+); `None` when the device does not say.
pub fn puk_retries(yk: &mut YubiKey) -> Option<u8> {
    piv::metadata(yk, SlotId::Management(piv::ManagementSlotId::Puk))
        .ok()
        .and_then(|m| m.retries)
        .map(|r| r.remaining_count)
}

/// As `pin_gate`, for the PUK: a locked PUK is never tried, the last try needs `--force`.
pub fn puk_gate(retries: Option<u8>, force: bool, serial: u32) -> Result<Option<String>> {
    match retries {
        Some(0) => Err(
            Error::refused(format!("the PUK of YubiKey {serial} is locked"))
                .hint("a locked PUK cannot be unblocked; only a reset of the PIV application (which erases its keys) clears it"),
        ),
        Some(1) if !force => Err(Error::refused(format!(
            "YubiKey {serial} has one PUK try left: a wrong PUK now locks it for good"
        ))
        .hint("make sure of the PUK, then run the command again with --force")),
        Some(n) => Ok(Some(format!("YubiKey {serial}: {n} PUK tries left"))),
        None => Ok(None),
    }
}

const KEY_SLOTS: [SlotId; 4] = [
    SlotId::Authentication,
    SlotId::Signature,
    SlotId::KeyManagement,
    SlotId::CardAuthentication,
];

/// What to install when PC/SC is missing (the binary loads pcsclite only when a YubiKey is
/// used: everything else works without it).
pub const PCSC_INSTALL: &str = "install libpcsclite1 and pcscd (Debian and Ubuntu: apt-get install libpcsclite1 pcscd; docs/offline-laptop.md lists the .deb files to bring to an offline machine), then run the command again; commands that use no YubiKey work without them";

/// Why PC/SC cannot be used on this machine, when pcsclite is not installed.
pub fn pcsc_missing() -> Option<String> {
    pcsc_sys::load_error().map(|e| {
        format!("PC/SC is not installed on this machine ({e}): YubiKeys cannot be reached")
    })
}

/// The error for a YubiKey command on a machine without pcsclite.
fn require_pcsc() -> Result<()> {
    match pcsc_missing() {
        Some(why) => Err(Error::environment(why).hint(PCSC_INSTALL)),
        None => Ok(()),
    }
}

/// The YubiKeys that pcscd sees. An unreachable pcscd is no YubiKey, with the reason.
pub fn list() -> std::result::Result<Vec<DeviceInfo>, String> {
    if let Some(why) = pcsc_missing() {
        return Err(format!("{why}: {PCSC_INSTALL}"));
    }
    let mut ctx = yubikey::reader::Context::open()
        .map_err(|e| format!("pcscd cannot be reached ({e}): is it installed and running?"))?;
    let readers = ctx
        .iter()
        .map_err(|e| format!("cannot list smart-card readers: {e}"))?;
    let mut out = Vec::new();
    for r in readers {
        let reader = r.name().to_string();
        let Ok(mut yk) = r.open() else { continue };
        let (maj, min, fw) = firmware(&yk);
        let mut slots = Vec::new();
        for slot in KEY_SLOTS {
            if let Some(c) = read_cert(&mut yk, slot) {
                slots.push(SlotUse {
                    slot: slot_name(slot),
                    subject: c.tbs_certificate().subject().to_string(),
                });
            }
        }
        let mut warnings = Vec::new();
        if ysa_2024_03(maj, min) {
            warnings.push(format!("firmware {fw} is older than 5.7.0: affected by Yubico's EC key-cloning advisory YSA-2024-03 (an attacker with the device in hand and special equipment could recover an ECDSA key)"));
        }
        out.push(DeviceInfo {
            serial: yk.serial().0,
            firmware: fw,
            reader,
            slots,
            pin_retries: pin_retries(&mut yk),
            warnings,
        });
    }
    out.sort_by_key(|d| d.serial);
    Ok(out)
}

/// Opens the YubiKey with `serial`, or the only one connected.
pub fn open(serial: Option<u32>) -> Result<YubiKey> {
    require_pcsc()?;
    match serial {
        Some(s) => YubiKey::open_by_serial(Serial(s)).map_err(|e| match e {
            yubikey::Error::NotFound | yubikey::Error::PcscError { .. } => {
                let present = list()
                    .map(|l| {
                        l.iter()
                            .map(|d| d.serial.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                Error::environment(format!(
                    "no YubiKey with serial {s} is connected{}",
                    if present.is_empty() {
                        String::new()
                    } else {
                        format!(" (connected: {present})")
                    }
                ))
                .hint("plug it in; `rootcellar device list` shows the YubiKeys found")
            }
            e => pcsc(e, Some(s), "open it"),
        }),
        None => {
            let all = list().map_err(|e| Error::environment(e).hint("start pcscd"))?;
            match all.as_slice() {
                [one] => open(Some(one.serial)),
                [] => Err(Error::environment("no YubiKey is connected")
                    .hint("plug one in; `rootcellar device list` shows what is found")),
                many => Err(Error::bad_input(format!(
                    "{} YubiKeys are connected ({})",
                    many.len(),
                    many.iter()
                        .map(|d| d.serial.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .hint("choose one with --serial N")),
            }
        }
    }
}

/// Decides, before a PIN is asked, whether to ask (see the module docs).
pub fn pin_gate(retries: Option<u8>, force: bool, serial: u32) -> Result<Option<String>> {
    match retries {
        Some(0) => Err(
            Error::refused(format!("the PIN of YubiKey {serial} is locked"))
                .hint("unblock it with the PUK: rootcellar yubikey unblock-pin --serial N"),
        ),
        Some(1) if !force => Err(Error::refused(format!(
            "YubiKey {serial} has one PIN try left: a wrong PIN now locks it"
        ))
        .hint("make sure of the PIN, then run the command again with --force")),
        Some(n) => Ok(Some(format!("YubiKey {serial}: {n} PIN tries left"))),
        None => Ok(None),
    }
}

/// Verifies `pin`; a wrong PIN is reported with the tries left, never retried.
pub fn verify_pin(yk: &mut YubiKey, pin: &SecretString) -> Result<()> {
    let serial = yk.serial().0;
    yk.verify_pin(pin.expose_secret().as_bytes())
        .map_err(|e| pcsc(e, Some(serial), "verify the PIN"))
}

/// How to authenticate with the management key.
pub enum Mgm {
    /// The factory default, because the operator said so.
    Default,
    /// A key the operator gave (hex).
    Given(SecretString),
}

/// Authenticates with the management key: the PIN-protected one stored on the device if there
/// is one (the PIN must be verified first), else what `fallback` gives. Returns a notice.
pub fn authenticate(
    yk: &mut YubiKey,
    fallback: impl FnOnce() -> Result<Mgm>,
) -> Result<Option<String>> {
    let serial = yk.serial().0;
    if let Ok(k) = MgmKey::get_protected(yk) {
        yk.authenticate(&k).map_err(|_| {
            Error::refused(format!("YubiKey {serial}: the PIN-protected management key stored on it is not its management key"))
                .hint("set the management key again with `rootcellar yubikey set-management-key`")
        })?;
        return Ok(None);
    }
    match fallback()? {
        Mgm::Default => {
            let k = MgmKey::get_default(yk)
                .map_err(|e| pcsc(e, Some(serial), "use the default management key"))?;
            yk.authenticate(&k).map_err(|_| {
                Error::refused(format!("YubiKey {serial} does not use the factory default management key"))
                    .hint("give its management key (ROOTCELLAR_MGMT_KEY or when asked) instead of --default-management-key")
            })?;
            Ok(Some(format!(
                "YubiKey {serial} still uses the factory default management key: anyone with the device can replace its keys; run `rootcellar yubikey set-management-key --serial {serial}`"
            )))
        }
        Mgm::Given(hex) => {
            let bytes =
                zeroize::Zeroizing::new(hex::decode(hex.expose_secret().trim()).map_err(|_| {
                    Error::bad_input("the management key is not hex")
                        .hint("give 48 hex digits (3DES/AES-192), 32 (AES-128) or 64 (AES-256)")
                })?);
            let k = MgmKey::from_bytes(&*bytes, None).map_err(|_| {
                Error::bad_input("the management key has the wrong length")
                    .hint("give 48 hex digits (3DES/AES-192), 32 (AES-128) or 64 (AES-256)")
            })?;
            yk.authenticate(&k).map_err(|_| {
                Error::bad_input(format!("YubiKey {serial} refused that management key"))
                    .hint("check the key (a wrong management key uses up no tries)")
            })?;
            Ok(None)
        }
    }
}

/// The device's view of whether its PIN, PUK and management key are still the defaults (5.3+;
/// `None` where the device cannot tell).
pub fn management_key_is_default(yk: &mut YubiKey) -> Option<bool> {
    piv::metadata(yk, SlotId::Management(piv::ManagementSlotId::Management))
        .ok()
        .and_then(|m| m.default)
}

/// Whether a slot holds a key or certificate.
pub fn slot_occupied(yk: &mut YubiKey, slot: SlotId) -> bool {
    read_cert(yk, slot).is_some() || piv::metadata(yk, slot).is_ok()
}

pub fn parse_pin_policy(s: &str) -> Result<PinPolicy> {
    match s {
        "always" => Ok(PinPolicy::Always),
        "once" => Ok(PinPolicy::Once),
        "never" => Err(
            Error::bad_input("PIN policy never is not allowed for a root key")
                .hint("use always or once"),
        ),
        _ => Err(Error::bad_input(format!("unknown PIN policy {s:?}")).hint("use always or once")),
    }
}

pub fn parse_touch_policy(s: &str) -> Result<TouchPolicy> {
    match s {
        "always" => Ok(TouchPolicy::Always),
        "cached" => Ok(TouchPolicy::Cached),
        "never" => Ok(TouchPolicy::Never),
        _ => Err(Error::bad_input(format!("unknown touch policy {s:?}"))
            .hint("use always, cached or never")),
    }
}

/// The public key of a slot's SPKI; an RSA key with the default scheme (the record names the
/// one it signs with).
fn spki_to_key(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<PublicKey> {
    use p256::pkcs8::DecodePublicKey;
    use x509_cert::der::Encode;
    let der = spki
        .to_der()
        .map_err(|e| Error::environment(e.to_string()))?;
    if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_der(&der) {
        return Ok(PublicKey::EcdsaP256(k));
    }
    if let Ok(k) = p384::ecdsa::VerifyingKey::from_public_key_der(&der) {
        return Ok(PublicKey::EcdsaP384(k));
    }
    if let Ok(k) = rsa::RsaPublicKey::from_public_key_der(&der) {
        return PublicKey::from_rsa(k, crate::tuf::key::RsaScheme::DEFAULT)
            .map_err(|e| Error::bad_input(format!("the slot's key: {e}")));
    }
    ed25519_dalek::VerifyingKey::from_public_key_der(&der)
        .map(PublicKey::Ed25519)
        .map_err(|_| {
            Error::bad_input("the slot holds a key that is not P-256, P-384, RSA or Ed25519")
                .hint("choose another slot")
        })
}

/// The public key in a slot, from its certificate.
pub fn slot_public_key(yk: &mut YubiKey, slot: SlotId) -> Result<PublicKey> {
    let serial = yk.serial().0;
    let cert = read_cert(yk, slot).ok_or_else(|| {
        Error::refused(format!("slot {} of YubiKey {serial} holds no certificate", slot_name(slot)))
            .hint("a key without a certificate cannot be read back: generate it with rootcellar, or write a certificate with ykman")
    })?;
    spki_to_key(&cert.tbs_certificate().subject_public_key_info().clone())
}

/// Reads the attestation of `slot`: the key certificate and the device certificate (f9), as a
/// PEM chain, or why the device gave none.
pub fn read_attestation(yk: &mut YubiKey, slot: SlotId) -> std::result::Result<String, String> {
    use x509_cert::der::{Decode, EncodePem, pem::LineEnding};
    let key = piv::attest(yk, slot).map_err(|e| format!("the device gave no attestation ({e}); virtual cards and firmware before 4.3 cannot attest"))?;
    let dev = read_cert(yk, SlotId::Attestation)
        .ok_or("the device has no attestation certificate in slot f9")?;
    let key = x509_cert::Certificate::from_der(&key)
        .map_err(|e| format!("the attestation is not a certificate: {e}"))?;
    let mut pem = key.to_pem(LineEnding::LF).map_err(|e| e.to_string())?;
    pem.push_str(&dev.to_pem(LineEnding::LF).map_err(|e| e.to_string())?);
    Ok(pem)
}

/// What `generate` made.
pub struct Generated {
    pub public: PublicKey,
    pub record: YubiKeyRecord,
}

/// Generates a key in `slot` (the PIN is verified and the management key authenticated by the
/// caller), writes a self-signed certificate into the slot so other tools see the key, and
/// reads the attestation.
pub fn generate(
    yk: &mut YubiKey,
    pin: &SecretString,
    slot: SlotId,
    (alg, scheme): (Algorithm, crate::tuf::key::RsaScheme),
    pin_policy: (&str, PinPolicy),
    touch_policy: (&str, TouchPolicy),
    name: &str,
) -> Result<Generated> {
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::time::Validity;
    let serial = yk.serial().0;
    let (maj, min, fw) = firmware(yk);
    let patch = yk.version().patch;
    let algorithm = match alg {
        Algorithm::EcdsaP256 => AlgorithmId::EccP256,
        Algorithm::EcdsaP384 => AlgorithmId::EccP384,
        Algorithm::Ed25519 if supports_ed25519(maj, min) => AlgorithmId::Ed25519,
        Algorithm::Ed25519 => {
            return Err(Error::bad_input(format!("YubiKey {serial} (firmware {fw}) cannot hold Ed25519 keys: that needs firmware 5.7 or later")).hint("use --algorithm ecdsa-p256"));
        }
        Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 if roca(maj, min, patch) => {
            return Err(Error::refused(format!("YubiKey {serial} (firmware {fw}) generates weak RSA keys (ROCA, CVE-2017-15361): rootcellar does not make RSA keys on it")).hint("use --algorithm ecdsa-p256 or ecdsa-p384, or a YubiKey with firmware 4.3.5 or later"));
        }
        Algorithm::Rsa2048 => AlgorithmId::Rsa2048,
        Algorithm::Rsa3072 if supports_large_rsa(maj, min) => AlgorithmId::Rsa3072,
        Algorithm::Rsa4096 if supports_large_rsa(maj, min) => AlgorithmId::Rsa4096,
        Algorithm::Rsa3072 | Algorithm::Rsa4096 => {
            return Err(Error::bad_input(format!("YubiKey {serial} (firmware {fw}) cannot hold {} keys: that needs firmware 5.7 or later", alg.name())).hint("use --algorithm rsa-2048 or ecdsa-p384"));
        }
        Algorithm::Rsa => {
            return Err(Error::bad_input(
                "give the RSA key size: rsa-2048, rsa-3072 or rsa-4096",
            ));
        }
    };
    let spki = piv::generate(yk, slot, algorithm, pin_policy.1, touch_policy.1)
        .map_err(|e| pcsc(e, Some(serial), "generate a key"))?;
    let public = spki_to_key(&spki)?;
    let public = public.with_rsa_scheme(scheme).unwrap_or(public);
    let subject: Name = format!("CN=rootcellar {name}")
        .parse()
        .map_err(|_| Error::bad_input("the key name cannot be a certificate subject"))?;
    let mut sn = [0u8; 16];
    getrandom::fill(&mut sn).map_err(|e| Error::environment(format!("no randomness: {e}")))?;
    sn[0] &= 0x7f;
    let serial_number = SerialNumber::new(&sn).map_err(|e| Error::environment(e.to_string()))?;
    let validity = Validity::from_now(std::time::Duration::from_secs(20 * 365 * 24 * 3600))
        .map_err(|e| Error::environment(e.to_string()))?;
    // Slot 9c (and PIN policy "always") needs the PIN right before each signature.
    verify_pin(yk, pin)?;
    use yubikey::certificate::{Certificate as C, yubikey_signer as ys};
    let (sn, v, subj, k) = (serial_number, validity, subject, spki);
    let written = match algorithm {
        AlgorithmId::EccP256 => {
            C::generate_self_signed::<_, p256::NistP256>(yk, slot, sn, v, subj, k, |_| Ok(()))
        }
        AlgorithmId::EccP384 => {
            C::generate_self_signed::<_, p384::NistP384>(yk, slot, sn, v, subj, k, |_| Ok(()))
        }
        AlgorithmId::Rsa2048 => {
            C::generate_self_signed::<_, ys::YubiRsa<ys::Rsa2048>>(yk, slot, sn, v, subj, k, |_| {
                Ok(())
            })
        }
        AlgorithmId::Rsa3072 => {
            C::generate_self_signed::<_, ys::YubiRsa<ys::Rsa3072>>(yk, slot, sn, v, subj, k, |_| {
                Ok(())
            })
        }
        AlgorithmId::Rsa4096 => {
            C::generate_self_signed::<_, ys::YubiRsa<ys::Rsa4096>>(yk, slot, sn, v, subj, k, |_| {
                Ok(())
            })
        }
        _ => C::generate_self_signed::<_, ed25519_dalek::SigningKey>(
            yk,
            slot,
            sn,
            v,
            subj,
            k,
            |_| Ok(()),
        ),
    };
    written.map_err(|e| pcsc(e, Some(serial), "write the key's certificate into the slot"))?;
    let (attestation, attestation_missing) = match read_attestation(yk, slot) {
        Ok(pem) => (Some(pem), None),
        Err(why) => (None, Some(why)),
    };
    Ok(Generated {
        public,
        record: YubiKeyRecord {
            serial,
            slot: slot_name(slot),
            firmware: fw,
            pin_policy: pin_policy.0.into(),
            touch_policy: touch_policy.0.into(),
            attestation,
            attestation_missing,
        },
    })
}

/// Destroys the key in `slot`: a fresh key replaces it (PIV has no delete before firmware 5.7)
/// and the slot's certificate is removed. PIN verified and management key authenticated first.
pub fn overwrite_slot(yk: &mut YubiKey, slot: SlotId) -> Result<()> {
    let serial = yk.serial().0;
    piv::generate(
        yk,
        slot,
        AlgorithmId::EccP256,
        PinPolicy::Default,
        TouchPolicy::Default,
    )
    .map_err(|e| pcsc(e, Some(serial), "overwrite the slot"))?;
    yubikey::certificate::Certificate::delete(yk, slot)
        .map_err(|e| pcsc(e, Some(serial), "remove the slot's certificate"))?;
    Ok(())
}

/// A key in a YubiKey slot, ready to sign.
pub struct YubiKeySigner {
    yk: RefCell<YubiKey>,
    slot: SlotId,
    public: PublicKey,
    pin: SecretString,
}

impl YubiKeySigner {
    pub fn new(yk: YubiKey, slot: SlotId, public: PublicKey, pin: SecretString) -> YubiKeySigner {
        YubiKeySigner {
            yk: RefCell::new(yk),
            slot,
            public,
            pin,
        }
    }
}

impl Signer for YubiKeySigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        use sha2::{Digest, Sha256, Sha384};
        let mut yk = self.yk.borrow_mut();
        let serial = yk.serial().0;
        // The PIN right before the signature (PIN policy "always" needs it for each one).
        verify_pin(&mut yk, &self.pin)?;
        let sig = match &self.public {
            PublicKey::EcdsaP256(_) => piv::sign_data(
                &mut yk,
                &Sha256::digest(message),
                AlgorithmId::EccP256,
                self.slot,
            ),
            PublicKey::EcdsaP384(_) => piv::sign_data(
                &mut yk,
                &Sha384::digest(message),
                AlgorithmId::EccP384,
                self.slot,
            ),
            PublicKey::Ed25519(_) => {
                piv::sign_data(&mut yk, message, AlgorithmId::Ed25519, self.slot)
            }
            PublicKey::Rsa(k) => {
                // PIV applies the raw RSA operation to a block as long as the modulus: the
                // encoding (PKCS#1 v1.5 or PSS) is built here.
                use rsa::traits::PublicKeyParts;
                let bits = k.key.n().bit_width() as usize;
                let (algorithm, len) = match bits {
                    2048 => (AlgorithmId::Rsa2048, 256),
                    3072 => (AlgorithmId::Rsa3072, 384),
                    4096 => (AlgorithmId::Rsa4096, 512),
                    _ => {
                        return Err(Error::bad_input(format!(
                            "a YubiKey holds no {bits}-bit RSA key"
                        )));
                    }
                };
                let block = if k.scheme.pss {
                    super::emsa::pss_random_salt(k.scheme.hash, message, bits)?
                } else {
                    super::emsa::pkcs1v15(k.scheme.hash, message, len)
                        .map_err(|e| Error::bad_input(e.to_string()))?
                };
                piv::sign_data(&mut yk, &block, algorithm, self.slot).map(|raw| {
                    // The card may drop leading zero bytes: TUF wants the modulus' length.
                    let mut out = vec![0u8; len.saturating_sub(raw.len())];
                    out.extend_from_slice(&raw);
                    yubikey::Buffer::new(out)
                })
            }
        };
        sig.map(|b| b.to_vec())
            .map_err(|e| pcsc(e, Some(serial), "sign"))
    }
}

/// A new PIN or PUK: 6 to 8 ASCII characters.
pub fn check_pin_form(p: &str, what: &str) -> Result<()> {
    if (6..=8).contains(&p.len()) && p.is_ascii() {
        Ok(())
    } else {
        Err(
            Error::bad_input(format!("a new {what} must have 6 to 8 ASCII characters"))
                .hint("nothing was changed"),
        )
    }
}

/// Some devices answer a wrong PUK with a generic error; the PUK's retry counter says what
/// happened, so the user learns it was the PUK and how many tries are left.
pub fn puk_error(
    yk: &mut ::yubikey::YubiKey,
    before: Option<u8>,
    e: ::yubikey::Error,
    serial: u32,
) -> Error {
    match (before, puk_retries(yk)) {
        (Some(b), Some(a)) if a < b => {
            pin_error(::yubikey::Error::WrongPin { tries: a }, serial, "PUK")
        }
        _ => pin_error(e, serial, "PUK"),
    }
}

/// What a PIN or PUK operation's failure means, with the tries left.
pub fn pin_error(e: ::yubikey::Error, serial: u32, what: &str) -> Error {
    match e {
        ::yubikey::Error::PinLocked | ::yubikey::Error::WrongPin { tries: 0 } => Error::refused(
            format!("the {what} of YubiKey {serial} is locked"),
        )
        .hint(if what == "PIN" {
            "unblock it with the PUK: rootcellar yubikey unblock-pin"
        } else {
            "a locked PUK cannot be unblocked: only a PIV reset (which erases the keys) helps"
        }),
        ::yubikey::Error::WrongPin { tries } => Error::bad_input(format!(
            "wrong {what} for YubiKey {serial}: {tries} tries left"
        ))
        .hint(
            "check it before trying again; rootcellar never retries by itself; nothing was changed",
        ),
        e => Error::environment(format!("YubiKey {serial}: cannot change the {what}: {e}"))
            .hint("check the device and try again"),
    }
}

/// Sets a random management key: stored PIN-protected on the device the way Yubico's tools do
/// (and read back), or, with `print`, set for the operator to keep. Returns the key in hex when
/// it must be shown: printed, or (`true`) stored but not given back by the device.
pub fn set_random_management_key(yk: &mut YubiKey, print: bool) -> Result<Option<(String, bool)>> {
    let serial = yk.serial().0;
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let key = ::yubikey::MgmKey::generate_for(yk, &mut rng)
        .map_err(|e| Error::environment(format!("cannot make a management key: {e}")))?;
    if print {
        key.set_manual(yk, false).map_err(|e| {
            Error::environment(format!(
                "YubiKey {serial}: cannot set the management key: {e}"
            ))
        })?;
        return Ok(Some((hex::encode(key.as_ref()), false)));
    }
    key.set_protected(yk).map_err(|e| {
        Error::environment(format!(
            "YubiKey {serial}: cannot store a PIN-protected management key: {e}"
        ))
        .hint("use --print to set a key you keep yourself")
    })?;
    // Read it back: a device that cannot give it back would be left with a key nobody has.
    if ::yubikey::MgmKey::get_protected(yk).is_err() {
        return Ok(Some((hex::encode(key.as_ref()), true)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_slots() {
        let r: YkRef = "yubikey:serial=5437251;slot=9c".parse().unwrap();
        assert_eq!(
            r,
            YkRef {
                serial: 5437251,
                slot: SlotId::Signature
            }
        );
        assert_eq!(r.to_string(), "yubikey:serial=5437251;slot=9c");
        assert!("yubikey:serial=x;slot=9c".parse::<YkRef>().is_err());
        assert!("yubikey:slot=9c".parse::<YkRef>().is_err());
        assert!(
            parse_slot("f9").is_err(),
            "the attestation slot holds no signing key"
        );
        assert!(
            parse_slot("9b").is_err(),
            "the management slot holds no signing key"
        );
        assert!(parse_slot("82").is_ok());
        assert!(parse_slot("zz").is_err());
    }

    #[test]
    fn puk_gate_counts_retries() {
        assert!(
            puk_gate(Some(3), false, 1)
                .unwrap()
                .unwrap()
                .contains("3 PUK tries left")
        );
        let e = puk_gate(Some(1), false, 1).unwrap_err();
        assert!(e.message.contains("one PUK try left") && e.hint.unwrap().contains("--force"));
        assert!(puk_gate(Some(1), true, 1).is_ok());
        assert!(
            puk_gate(Some(0), true, 1)
                .unwrap_err()
                .message
                .contains("locked")
        );
        assert_eq!(puk_gate(None, false, 1).unwrap(), None);
    }

    #[test]
    fn pin_gate_counts_retries() {
        assert!(
            pin_gate(Some(3), false, 1)
                .unwrap()
                .unwrap()
                .contains("3 PIN tries left")
        );
        let e = pin_gate(Some(1), false, 1).unwrap_err();
        assert!(e.message.contains("one PIN try left") && e.hint.unwrap().contains("--force"));
        assert!(pin_gate(Some(1), true, 1).is_ok());
        assert!(
            pin_gate(Some(0), true, 1)
                .unwrap_err()
                .hint
                .unwrap()
                .contains("unblock-pin")
        );
    }

    #[test]
    fn firmware_rules() {
        assert!(ysa_2024_03(5, 4));
        assert!(ysa_2024_03(5, 6));
        assert!(!ysa_2024_03(5, 7));
        assert!(!supports_ed25519(5, 4));
        assert!(supports_ed25519(5, 7));
        assert!(!supports_large_rsa(5, 4) && supports_large_rsa(5, 7));
        assert!(!roca(4, 2, 5) && roca(4, 2, 6) && roca(4, 3, 4) && !roca(4, 3, 5));
        assert!(!roca(5, 4, 3));
    }

    #[test]
    fn certificate_objects() {
        assert_eq!(cert_object(SlotId::Signature), Some(0x005f_c10a));
        assert_eq!(cert_object(parse_slot("82").unwrap()), Some(0x005f_c10d));
        assert_eq!(cert_object(parse_slot("95").unwrap()), Some(0x005f_c120));
        assert_eq!(
            cert_object(SlotId::Management(piv::ManagementSlotId::Management)),
            None
        );
    }

    #[test]
    fn policies() {
        assert!(parse_pin_policy("never").is_err());
        assert!(parse_pin_policy("always").is_ok());
        assert!(parse_touch_policy("cached").is_ok());
        assert!(parse_touch_policy("sometimes").is_err());
    }
}

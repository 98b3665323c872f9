//! YubiKey operations: generate and register keys in PIV slots, verify attestations, manage
//! the PIN, PUK and management key.

use super::context::Context;
use super::report::KeyInfo;
use crate::error::{Error, Result};
use crate::prompt::SecretKind;
use crate::signer::attest::{self, Verdict};
use crate::signer::yubikey as y;
use crate::tuf::Algorithm;
use crate::tuf::expiry::{Timestamp, format_tuf_time};
use crate::workspace::{Backend, KeyRecord, check_name};
use secrecy::ExposeSecret;
use serde::Serialize;

/// The pinned Yubico roots, plus those in the PEM file `ROOTCELLAR_ATTESTATION_ROOTS`.
pub fn anchors() -> Result<Vec<x509_cert::Certificate>> {
    let mut out = attest::builtin_anchors();
    if let Some(p) = std::env::var_os("ROOTCELLAR_ATTESTATION_ROOTS") {
        let p = std::path::PathBuf::from(p);
        let bytes = std::fs::read(&p).map_err(|e| Error::io("read", &p, &e))?;
        out.extend(attest::parse_certs(&bytes).map_err(|e| {
            Error::bad_input(format!("{}: {e}", p.display()))
                .hint("give a PEM file of root certificates")
        })?);
    }
    Ok(out)
}

/// The attestation verdict of a YubiKey key record, or why there is none.
pub fn verdict(rec: &KeyRecord, now: Timestamp) -> Option<Verdict> {
    let yk = rec.yubikey.as_ref()?;
    let mut v = Verdict::default();
    let Some(pem) = &yk.attestation else {
        v.problems.push(format!(
            "no attestation: {}",
            yk.attestation_missing.as_deref().unwrap_or("none recorded")
        ));
        return Some(v);
    };
    let (chain, anchors, pk) = match (
        attest::parse_certs(pem.as_bytes()),
        anchors(),
        rec.public_key(),
    ) {
        (Ok(c), Ok(a), Ok(k)) => (c, a, k),
        (Err(e), _, _) => {
            v.problems
                .push(format!("the recorded attestation is unreadable: {e}"));
            return Some(v);
        }
        (_, Err(e), _) | (_, _, Err(e)) => {
            v.problems.push(e.message);
            return Some(v);
        }
    };
    Some(attest::verify(&chain, &anchors, &pk, Some(yk.serial), now))
}

fn info(rec: &KeyRecord, now: Timestamp) -> KeyInfo {
    let mut k = KeyInfo::of(rec);
    k.attestation = verdict(rec, now).map(|v| v.summary());
    k
}

/// Where a new YubiKey key goes.
pub struct YubiKeyTarget {
    pub serial: Option<u32>,
    pub slot: String,
    pub pin_policy: String,
    pub touch_policy: String,
    /// Replace a key that is already in the slot.
    pub overwrite: bool,
}

fn firmware_notices(ctx: &Context, yk: &::yubikey::YubiKey) {
    let v = yk.version();
    if y::ysa_2024_03(v.major, v.minor) {
        ctx.notice(format!(
            "YubiKey {} has firmware {}.{}.{}, older than 5.7.0: it is affected by Yubico's advisory YSA-2024-03 (EC key cloning with physical access and special equipment); prefer firmware 5.7+ for root keys",
            yk.serial().0, v.major, v.minor, v.patch
        ));
    }
}

/// `rootcellar key generate --backend yubikey`.
pub fn generate(ctx: &Context, name: &str, alg: Algorithm, t: &YubiKeyTarget) -> Result<KeyInfo> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_name(name)?;
    if ws.keys()?.iter().any(|r| r.name == name) {
        return Err(
            Error::refused(format!("a key named {name:?} exists already"))
                .hint("choose another name"),
        );
    }
    let slot = y::parse_slot(&t.slot)?;
    let pin_policy = y::parse_pin_policy(&t.pin_policy)?;
    let touch_policy = y::parse_touch_policy(&t.touch_policy)?;
    ctx.air_gap("create a private key")?;
    let mut yk = y::open(t.serial)?;
    let serial = yk.serial().0;
    firmware_notices(ctx, &yk);
    if y::slot_occupied(&mut yk, slot) && !t.overwrite {
        return Err(Error::refused(format!("slot {} of YubiKey {serial} already holds a key", y::slot_name(slot)))
            .hint("choose another --slot, register that key with `rootcellar key add --backend yubikey`, or pass --overwrite to replace it for good"));
    }
    let pin = ctx.unlock.yubikey_pin(&mut yk)?;
    ctx.unlock.yubikey_management(&mut yk)?;
    let g = y::generate(
        &mut yk,
        &pin,
        slot,
        alg,
        (&t.pin_policy, pin_policy),
        (&t.touch_policy, touch_policy),
        name,
    )?;
    let key = g.public.to_tuf_key();
    let rec = KeyRecord {
        name: name.into(),
        keyid: key.keyid(),
        algorithm: g.public.algorithm(),
        key,
        backend: Backend::Yubikey,
        reference: Some(y::YkRef { serial, slot }.to_string()),
        created_at: format_tuf_time(ctx.now),
        profile: None,
        attributes: None,
        yubikey: Some(g.record),
        destroyed_at: None,
        certificate: None,
    };
    ws.check_new_key(name, &rec.key)?;
    ws.add_key_record(&rec)?;
    let out = info(&rec, ctx.now);
    if let Some(a) = &out.attestation {
        ctx.notice(format!("{name}: {a}"));
    }
    ctx.record(
        &ws,
        "key-generated",
        super::audit::key_detail(&rec, out.attestation.as_deref()),
    )?;
    Ok(out)
}

/// `rootcellar key add --backend yubikey --serial N --slot 9c --name NAME`.
pub fn add(ctx: &Context, name: &str, serial: Option<u32>, slot: &str) -> Result<KeyInfo> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_name(name)?;
    let slot = y::parse_slot(slot)?;
    let mut yk = y::open(serial)?;
    let serial = yk.serial().0;
    firmware_notices(ctx, &yk);
    let public = y::slot_public_key(&mut yk, slot)?;
    let key = public.to_tuf_key();
    let (attestation, attestation_missing) = match y::read_attestation(&mut yk, slot) {
        Ok(p) => (Some(p), None),
        Err(w) => (None, Some(w)),
    };
    let v = yk.version();
    // Policies are known only from the attestation (or slot metadata on 5.3+).
    let mut record = y::YubiKeyRecord {
        serial,
        slot: y::slot_name(slot),
        firmware: format!("{}.{}.{}", v.major, v.minor, v.patch),
        pin_policy: "unknown".into(),
        touch_policy: "unknown".into(),
        attestation,
        attestation_missing,
    };
    let rec0 = KeyRecord {
        name: name.into(),
        keyid: key.keyid(),
        algorithm: public.algorithm(),
        key,
        backend: Backend::Yubikey,
        reference: Some(y::YkRef { serial, slot }.to_string()),
        created_at: format_tuf_time(ctx.now),
        profile: None,
        attributes: None,
        yubikey: Some(record.clone()),
        destroyed_at: None,
        certificate: None,
    };
    if let Some(v) = verdict(&rec0, ctx.now).filter(|v| v.valid) {
        record.pin_policy = v.pin_policy.unwrap_or_else(|| "unknown".into());
        record.touch_policy = v.touch_policy.unwrap_or_else(|| "unknown".into());
    }
    let rec = KeyRecord {
        yubikey: Some(record),
        ..rec0
    };
    let (rec, took_over) = ws.add_or_take_over(rec)?;
    if took_over {
        ctx.notice(format!(
            "the public key registered as {} is this YubiKey's key: {} now signs with the device",
            rec.name, rec.name
        ));
    }
    let out = info(&rec, ctx.now);
    ctx.record(
        &ws,
        "key-added",
        super::audit::key_detail(&rec, out.attestation.as_deref()),
    )?;
    Ok(out)
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AttestReport {
    pub name: String,
    pub keyid: String,
    pub verdict: Verdict,
}

/// `rootcellar key attest K`: verifies the recorded attestation chain of a YubiKey key.
pub fn attest_key(ctx: &Context, k: &str) -> Result<AttestReport> {
    let ws = ctx.workspace()?;
    let rec = ws.resolve_key(k)?;
    let v = verdict(&rec, ctx.now).ok_or_else(|| {
        Error::bad_input(format!(
            "key {} is a {} key: only YubiKey keys carry an attestation",
            rec.name,
            rec.backend.name()
        ))
        .hint("PKCS#11 keys record what the token says instead (rootcellar key list)")
    })?;
    Ok(AttestReport {
        name: rec.name,
        keyid: rec.keyid,
        verdict: v,
    })
}

/// Fills in attestation verdicts for `key list`.
pub fn with_verdicts(ctx: &Context, recs: &[KeyRecord]) -> Vec<KeyInfo> {
    recs.iter().map(|r| info(r, ctx.now)).collect()
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DeviceReport {
    pub serial: u32,
    pub done: String,
}

/// `rootcellar yubikey change-pin`.
pub fn change_pin(ctx: &Context, serial: Option<u32>) -> Result<DeviceReport> {
    let mut yk = y::open(serial)?;
    let serial = yk.serial().0;
    if let Some(n) = y::pin_gate(y::pin_retries(&mut yk), ctx.unlock.force, serial)? {
        ctx.notice(n);
    }
    let old = ctx
        .prompt()
        .secret(SecretKind::Pin, &format!("YubiKey {serial} (current PIN)"))?;
    let new = ctx.prompt().new_secret(
        SecretKind::NewPin,
        &format!("YubiKey {serial} (6-8 characters)"),
    )?;
    check_pin_form(new.expose_secret(), "PIN")?;
    yk.change_pin(
        old.expose_secret().as_bytes(),
        new.expose_secret().as_bytes(),
    )
    .map_err(|e| pin_error(e, serial, "PIN"))?;
    Ok(DeviceReport {
        serial,
        done: "PIN changed".into(),
    })
}

/// `rootcellar yubikey change-puk`.
pub fn change_puk(ctx: &Context, serial: Option<u32>) -> Result<DeviceReport> {
    with_puk(
        ctx,
        serial,
        "current PUK",
        SecretKind::NewPuk,
        "PUK",
        "PUK changed",
        |yk, old, new| yk.change_puk(old, new),
    )
}

/// `rootcellar yubikey unblock-pin`: a new PIN, with the PUK.
pub fn unblock_pin(ctx: &Context, serial: Option<u32>) -> Result<DeviceReport> {
    with_puk(
        ctx,
        serial,
        "PUK",
        SecretKind::NewPin,
        "PIN",
        "PIN unblocked and set",
        |yk, puk, new| yk.unblock_pin(puk, new),
    )
}

/// The PUK operations: gate on the PUK's tries, ask for the PUK and a new PIN or PUK (`new_what`),
/// check its form, then run `op` once on the device.
fn with_puk(
    ctx: &Context,
    serial: Option<u32>,
    puk_label: &str,
    new_kind: SecretKind,
    new_what: &str,
    done: &str,
    op: impl FnOnce(&mut ::yubikey::YubiKey, &[u8], &[u8]) -> std::result::Result<(), ::yubikey::Error>,
) -> Result<DeviceReport> {
    let mut yk = y::open(serial)?;
    let serial = yk.serial().0;
    let puk_before = y::puk_retries(&mut yk);
    if let Some(n) = y::puk_gate(puk_before, ctx.unlock.force, serial)? {
        ctx.notice(n);
    }
    let puk = ctx
        .prompt()
        .secret(SecretKind::Puk, &format!("YubiKey {serial} ({puk_label})"))?;
    let new = ctx
        .prompt()
        .new_secret(new_kind, &format!("YubiKey {serial} (6-8 characters)"))?;
    check_pin_form(new.expose_secret(), new_what)?;
    op(
        &mut yk,
        puk.expose_secret().as_bytes(),
        new.expose_secret().as_bytes(),
    )
    .map_err(|e| puk_error(&mut yk, puk_before, e, serial))?;
    Ok(DeviceReport {
        serial,
        done: done.into(),
    })
}

fn check_pin_form(p: &str, what: &str) -> Result<()> {
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
fn puk_error(
    yk: &mut ::yubikey::YubiKey,
    before: Option<u8>,
    e: ::yubikey::Error,
    serial: u32,
) -> Error {
    match (before, y::puk_retries(yk)) {
        (Some(b), Some(a)) if a < b => {
            pin_error(::yubikey::Error::WrongPin { tries: a }, serial, "PUK")
        }
        _ => pin_error(e, serial, "PUK"),
    }
}

fn pin_error(e: ::yubikey::Error, serial: u32, what: &str) -> Error {
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

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MgmReport {
    pub serial: u32,
    /// "pin-protected" (stored on the device, readable after the PIN) or "printed" (shown once).
    pub stored: String,
    /// The new key in hex, only when printed.
    pub printed_key: Option<String>,
}

/// `rootcellar yubikey set-management-key`: a random management key, stored PIN-protected on
/// the device the way Yubico's tools do, or printed once (`print`).
pub fn set_management_key(ctx: &Context, serial: Option<u32>, print: bool) -> Result<MgmReport> {
    let mut yk = y::open(serial)?;
    let serial = yk.serial().0;
    ctx.unlock.yubikey_pin(&mut yk)?;
    ctx.unlock.yubikey_management(&mut yk)?;
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let key = ::yubikey::MgmKey::generate_for(&yk, &mut rng)
        .map_err(|e| Error::environment(format!("cannot make a management key: {e}")))?;
    if print {
        key.set_manual(&mut yk, false).map_err(|e| {
            Error::environment(format!(
                "YubiKey {serial}: cannot set the management key: {e}"
            ))
        })?;
        let hex = hex::encode(key.as_ref());
        Ok(MgmReport {
            serial,
            stored: "printed".into(),
            printed_key: Some(hex),
        })
    } else {
        key.set_protected(&mut yk).map_err(|e| {
            Error::environment(format!(
                "YubiKey {serial}: cannot store a PIN-protected management key: {e}"
            ))
            .hint("use --print to set a key you keep yourself")
        })?;
        // Read it back: a device that cannot give it back would be left with a key nobody has.
        let back = ::yubikey::MgmKey::get_protected(&mut yk);
        if back.is_err() {
            let hex = hex::encode(key.as_ref());
            ctx.notice(format!("YubiKey {serial} accepted the new management key but cannot give the PIN-protected copy back: it is printed once below, keep it"));
            return Ok(MgmReport {
                serial,
                stored: "printed".into(),
                printed_key: Some(hex),
            });
        }
        Ok(MgmReport {
            serial,
            stored: "pin-protected".into(),
            printed_key: None,
        })
    }
}

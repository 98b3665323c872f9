//! YubiKey operations: generate and register keys in PIV slots, verify attestations, manage
//! the PIN, PUK and management key.

use super::context::Context;
use crate::error::{Error, Result};
use crate::prompt::SecretKind;
use crate::report::KeyInfo;
pub use crate::report::{AttestReport, DeviceReport, MgmReport};
use crate::signer::yubikey as y;
use crate::tuf::Algorithm;
use crate::tuf::expiry::{Timestamp, format_tuf_time};
use crate::workspace::{Backend, KeyRecord, check_name};
use secrecy::ExposeSecret;

fn info(rec: &KeyRecord, now: Timestamp) -> KeyInfo {
    let mut k = KeyInfo::of(rec);
    k.attestation = rec.attestation(now).map(|v| v.summary());
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
pub fn generate(
    ctx: &Context,
    name: &str,
    alg: Algorithm,
    scheme: crate::tuf::key::RsaScheme,
    t: &YubiKeyTarget,
) -> Result<KeyInfo> {
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
    if matches!(alg, Algorithm::EcdsaP256 | Algorithm::EcdsaP384) {
        firmware_notices(ctx, &yk);
    }
    // A `key generate` of this name into this slot that a crash interrupted after the
    // transcript's line: the slot holds the key the line names (by key ID). Finish it.
    if let Some(keyid) = interrupted_generate(&ws, name, serial, slot)?
        && y::slot_public_key(&mut yk, slot)
            .map(|pk| {
                pk.with_rsa_scheme(scheme)
                    .unwrap_or(pk)
                    .to_tuf_key()
                    .keyid()
            })
            .is_ok_and(|id| id == keyid)
    {
        ctx.notice(format!(
            "finished an interrupted `key generate` of {name}: slot {} of YubiKey {serial} holds the key the transcript names; registered",
            y::slot_name(slot)
        ));
        return register_slot(ctx, &ws, name, &mut yk, slot, scheme, false);
    }
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
        (alg, scheme),
        (&t.pin_policy, pin_policy),
        (&t.touch_policy, touch_policy),
        name,
    )?;
    // The key exists on the card from here.
    crate::atomic::step();
    let key = g.public.to_tuf_key();
    let reference = Some(y::YkRef { serial, slot }.to_string());
    let rec = KeyRecord {
        yubikey: Some(g.record),
        ..KeyRecord::new(
            name,
            key,
            g.public.algorithm(),
            Backend::Yubikey,
            reference,
            format_tuf_time(ctx.now),
        )
    };
    ws.check_new_key(name, &rec.key)?;
    let out = info(&rec, ctx.now);
    if let Some(a) = &out.attestation {
        ctx.notice(format!("{name}: {a}"));
    }
    // The transcript's line first (it binds the name to the key ID and the slot), then the
    // record: a crash between the two is finished by the next `key generate` of the name.
    ctx.record(
        &ws,
        "key-generated",
        super::audit::key_detail(&rec, out.attestation.as_deref()),
    )?;
    ws.add_key_record(&rec)?;
    Ok(out)
}

/// The key ID that the last `key-generated` line for `name` on YubiKey `serial`, `slot` names
/// (no record has that name: the caller checked).
fn interrupted_generate(
    ws: &crate::workspace::Workspace,
    name: &str,
    serial: u32,
    slot: ::yubikey::piv::SlotId,
) -> Result<Option<String>> {
    Ok(ws
        .last_line("key-generated", "key", name)?
        .filter(|d| {
            d.get("device_serial").and_then(|v| v.as_u64()) == Some(u64::from(serial))
                && d.get("slot").and_then(|v| v.as_str()) == Some(y::slot_name(slot).as_str())
        })
        .and_then(|d| d.get("keyid").and_then(|v| v.as_str()).map(str::to_string)))
}

/// `rootcellar key add --backend yubikey --serial N --slot 9c --name NAME`.
pub fn add(
    ctx: &Context,
    name: &str,
    serial: Option<u32>,
    slot: &str,
    scheme: crate::tuf::key::RsaScheme,
) -> Result<KeyInfo> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_name(name)?;
    let slot = y::parse_slot(slot)?;
    let mut yk = y::open(serial)?;
    firmware_notices(ctx, &yk);
    register_slot(ctx, &ws, name, &mut yk, slot, scheme, true)
}

/// Registers the key in `slot` of `yk` as `name` (policies from its attestation); with
/// `line`, the transcript records it as added (a finished `key generate` has its line already).
fn register_slot(
    ctx: &Context,
    ws: &crate::workspace::Workspace,
    name: &str,
    yk: &mut ::yubikey::YubiKey,
    slot: ::yubikey::piv::SlotId,
    scheme: crate::tuf::key::RsaScheme,
    line: bool,
) -> Result<KeyInfo> {
    let serial = yk.serial().0;
    let public = y::slot_public_key(yk, slot)?;
    let public = public.with_rsa_scheme(scheme).unwrap_or(public);
    let key = public.to_tuf_key();
    let (attestation, attestation_missing) = match y::read_attestation(yk, slot) {
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
    let reference = Some(y::YkRef { serial, slot }.to_string());
    let rec0 = KeyRecord {
        yubikey: Some(record.clone()),
        ..KeyRecord::new(
            name,
            key,
            public.algorithm(),
            Backend::Yubikey,
            reference,
            format_tuf_time(ctx.now),
        )
    };
    if let Some(v) = rec0.attestation(ctx.now).filter(|v| v.valid) {
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
    if line {
        ctx.record(
            ws,
            "key-added",
            super::audit::key_detail(&rec, out.attestation.as_deref()),
        )?;
    }
    Ok(out)
}

/// `rootcellar key attest K`: verifies the recorded attestation chain of a YubiKey key.
pub fn attest_key(ctx: &Context, k: &str) -> Result<AttestReport> {
    let ws = ctx.workspace()?;
    let rec = ws.resolve_key(k)?;
    let v = rec.attestation(ctx.now).ok_or_else(|| {
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

/// `rootcellar attest export DIR [--staged]`: the attestation material of every key of the
/// published (or staged) root that has a record here, in the layout other tools read.
pub fn export_attestations(
    ctx: &Context,
    dir: &std::path::Path,
    staged: bool,
) -> Result<crate::transfer::attestations::Index> {
    let ws = ctx.workspace()?;
    let d = crate::dialect::Dialect::of(&ws);
    let doc = match staged {
        true => d
            .staged(&ws)?
            .ok_or_else(|| Error::refused("no root is staged"))?,
        false => d.published(&ws)?.pop().ok_or_else(|| {
            Error::refused("no root is published yet").hint("publish one, or pass --staged")
        })?,
    };
    let holders = crate::dialect::Holders::of(&ws)?;
    let keys: Vec<(String, &KeyRecord)> = (doc.key_ids().into_iter())
        .filter_map(|id| holders.record(&doc, id).map(|r| (id.clone(), r)))
        .collect();
    crate::transfer::attestations::write(dir, &keys)
}

/// `rootcellar key attestation add K FILES`: a keyholder whose YubiKey key was made elsewhere
/// brings its slot certificate and f9 certificate; they are checked (the attested key must be
/// K's public key, the chain must reach a pinned root) and kept in K's record.
pub fn add_attestation(
    ctx: &Context,
    k: &str,
    files: &[std::path::PathBuf],
) -> Result<AttestReport> {
    use crate::signer::attest;
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    let mut rec = ws.resolve_key(k)?;
    if rec.backend == Backend::Yubikey {
        return Err(Error::refused(format!(
            "{} was registered from its YubiKey, which gave its attestation",
            rec.name
        ))
        .hint(format!("rootcellar key attest {}", rec.name)));
    }
    let mut certs = Vec::new();
    for f in files {
        let bytes = crate::readpath::read(f, crate::readpath::Kind::Small)?;
        certs.extend(attest::parse_certs(&bytes).map_err(|e| {
            Error::bad_input(format!(
                "{}: {e}",
                crate::text::field(&f.display().to_string())
            ))
        })?);
    }
    let pk = rec.public_key()?;
    let is_slot = |c: &x509_cert::Certificate| {
        attest::attested_key(c).is_some_and(|a| a.identity() == pk.identity())
    };
    let Some(i) = certs.iter().position(is_slot) else {
        return Err(Error::refused(format!("none of the certificates attests the public key of {}", rec.name))
            .hint("give the slot's attestation (e.g. Slot9CAttestation.pem) and the device's SlotF9Intermediate.pem"));
    };
    let slot = certs.remove(i);
    let slot_name = attest::slot_of(&slot).unwrap_or_else(|| "unknown".into());
    certs.insert(0, slot);
    let v = attest::verify(
        &certs,
        &crate::workspace::attestation_anchors()?,
        &pk,
        None,
        ctx.now,
    );
    if !v.valid {
        return Err(Error::refused(format!("{}: {}", rec.name, v.summary()))
            .hint("nothing was kept; check the files with the keyholder"));
    }
    let mut pem = String::new();
    for c in &certs {
        use x509_cert::der::EncodePem;
        pem.push_str(
            &c.to_pem(x509_cert::der::pem::LineEnding::LF)
                .map_err(|e| Error::bad_input(e.to_string()))?,
        );
    }
    rec.yubikey = Some(y::YubiKeyRecord {
        serial: v.serial.unwrap_or_default(),
        slot: slot_name,
        firmware: v.firmware.clone().unwrap_or_else(|| "unknown".into()),
        pin_policy: v.pin_policy.clone().unwrap_or_else(|| "unknown".into()),
        touch_policy: v.touch_policy.clone().unwrap_or_else(|| "unknown".into()),
        attestation: Some(pem),
        attestation_missing: None,
    });
    ws.update_key_record(&rec)?;
    let summary = v.summary();
    ctx.record(
        &ws,
        "key-attestation-added",
        super::audit::key_detail(&rec, Some(&summary)),
    )?;
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
    y::check_pin_form(new.expose_secret(), "PIN")?;
    yk.change_pin(
        old.expose_secret().as_bytes(),
        new.expose_secret().as_bytes(),
    )
    .map_err(|e| y::pin_error(e, serial, "PIN"))?;
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
    y::check_pin_form(new.expose_secret(), new_what)?;
    op(
        &mut yk,
        puk.expose_secret().as_bytes(),
        new.expose_secret().as_bytes(),
    )
    .map_err(|e| y::puk_error(&mut yk, puk_before, e, serial))?;
    Ok(DeviceReport {
        serial,
        done: done.into(),
    })
}

/// `rootcellar yubikey set-management-key`: a random management key, stored PIN-protected on
/// the device the way Yubico's tools do, or printed once (`print`).
pub fn set_management_key(ctx: &Context, serial: Option<u32>, print: bool) -> Result<MgmReport> {
    let mut yk = y::open(serial)?;
    let serial = yk.serial().0;
    ctx.unlock.yubikey_pin(&mut yk)?;
    ctx.unlock.yubikey_management(&mut yk)?;
    let (stored, printed_key) = match y::set_random_management_key(&mut yk, print)? {
        None => ("pin-protected", None),
        Some((hex, fallback)) => {
            if fallback {
                ctx.notice(format!("YubiKey {serial} accepted the new management key but cannot give the PIN-protected copy back: it is printed once below, keep it"));
            }
            ("printed", Some(hex))
        }
    };
    Ok(MgmReport {
        serial,
        stored: stored.into(),
        printed_key,
    })
}

//! Key operations: generate, import, list.

use super::context::Context;
use crate::atomic::write_new_atomic;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::prompt::SecretKind;
pub use crate::report::KeyInfo;
use crate::signer::Signer;
use crate::signer::pkcs11::KeyAttributes;
use crate::signer::software::SoftwareKey;
use crate::tuf::expiry::format_tuf_time;
use crate::tuf::key::RsaScheme;
use crate::tuf::{Algorithm, Key};
use crate::workspace::{Backend, KeyRecord, Workspace, check_name};
use std::path::Path;

/// `rootcellar key generate --backend software`.
pub fn generate_software(
    ctx: &Context,
    name: &str,
    alg: Algorithm,
    scheme: RsaScheme,
) -> Result<KeyInfo> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_name(name)?;
    // Refuse a taken name before asking for anything.
    if ws.keys()?.iter().any(|r| r.name == name) {
        return Err(
            Error::refused(format!("a key named {name:?} exists already"))
                .hint("choose another name"),
        );
    }
    ctx.air_gap("create a private key")?;
    let key = SoftwareKey::generate(alg, scheme)?;
    let tuf_key = key.public_key().to_tuf_key();
    ws.check_new_key(name, &tuf_key)?;
    let pass = ctx
        .prompt()
        .new_secret(SecretKind::Passphrase, &format!("new key {name}"))?;
    let pem = key.to_encrypted_pem(&pass, ctx.unlock.kdf(&ws))?;
    let file = format!("{name}.key.pem");
    let reference = format!("software:{file}");
    let pem_path = ws.software_key_path(&reference)?;
    let rec = KeyRecord::new(
        name,
        tuf_key,
        alg,
        Backend::Software,
        Some(reference),
        format_tuf_time(ctx.now),
    );
    // A key file without a record is what a crash left of an earlier `key generate`: never
    // registered, it is set aside (kept), not overwritten.
    if let Some(aside) = ws.set_aside_orphan(&pem_path)? {
        ctx.notice(format!(
            "{} held a private key no record registers (an interrupted key generate): kept as {}",
            pem_path.display(),
            aside.display()
        ));
    }
    // The intent first (the name bound to this key ID), then the key file, then its record: a
    // crash leaves no record the transcript does not vouch for.
    ctx.record(&ws, "key-generated", super::audit::key_detail(&rec, None))?;
    write_new_atomic(&pem_path, pem.as_bytes())?;
    ws.add_key_record(&rec)?;
    ctx.notice(format!(
        "{name} is a software key, kept encrypted in {}: fine for trials, but a root key belongs in an HSM or a YubiKey",
        pem_path.display()
    ));
    Ok(KeyInfo::of(&rec))
}

/// `rootcellar key import FILE --name NAME`: a public key (TUF key JSON or PEM SPKI).
pub fn import(ctx: &Context, file: &Path, name: &str) -> Result<KeyInfo> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_name(name)?;
    let text = String::from_utf8(crate::readpath::read(file, crate::readpath::Kind::Small)?)
        .map_err(|_| Error::bad_input(format!("{} is not text", file.display())))?;
    let key = Key::from_import_text(&text).map_err(|e| {
        Error::bad_input(format!(
            "{} is not a public key rootcellar can use: {e}",
            file.display()
        ))
    })?;
    let pk = key.decode().map_err(|e| Error::bad_input(e.to_string()))?;
    let certificate = text
        .trim_start()
        .starts_with("-----BEGIN CERTIFICATE-----")
        .then(|| text.trim().to_string() + "\n");
    // A new certificate for a key registered under this name (a Notary root key renewed by its
    // keyholder elsewhere): the record keeps the key and takes the certificate.
    if let Some(pem) = &certificate
        && let Ok(mut existing) = ws.resolve_key(name)
        && existing.name == name
        && existing.public_key()?.identity() == pk.identity()
    {
        crate::tuf::notary::check_self_signed(pem).map_err(|e| {
            Error::bad_input(format!("{}: {e}", file.display()))
                .hint("ask the keyholder for the certificate their device made")
        })?;
        existing.certificate = Some(pem.clone());
        ws.update_key_record(&existing)?;
        ctx.record(
            &ws,
            "key-certificate-updated",
            serde_json::json!({
                "key": existing.name,
                "keyid": existing.keyid,
                "sha256": crate::workspace::digest_hex(pem.as_bytes()),
            }),
        )?;
        return Ok(KeyInfo::of(&existing));
    }
    ws.check_new_key(name, &key)?;
    let rec = KeyRecord {
        certificate,
        ..KeyRecord::new(
            name,
            key,
            pk.algorithm(),
            Backend::Public,
            None,
            format_tuf_time(ctx.now),
        )
    };
    ws.add_key_record(&rec)?;
    ctx.record(&ws, "key-imported", super::audit::key_detail(&rec, None))?;
    Ok(KeyInfo::of(&rec))
}

/// `rootcellar key list`.
pub fn list(ctx: &Context) -> Result<Vec<KeyInfo>> {
    let ws: Workspace = ctx.workspace()?;
    Ok(super::yubikey::with_verdicts(ctx, &ws.keys()?))
}

/// Where a new PKCS#11 key goes.
pub struct Pkcs11Target {
    pub profile: Option<String>,
    pub token: Option<String>,
}

fn pkcs11_notices(
    ctx: &Context,
    name: &str,
    profile: &crate::signer::profiles::Profile,
    attrs: &KeyAttributes,
) {
    if profile.kind == "software" {
        ctx.notice(format!(
            "{name} lives in {}, a software token: fine for trials, but a root key belongs in a hardware HSM or a YubiKey",
            profile.title
        ));
    }
    if let Some(why) = attrs.root_objection() {
        ctx.notice(format!(
            "{name} will be refused as a root key without --force: {why}"
        ));
    }
}

/// `rootcellar key generate --backend pkcs11`: the key pair is generated on the token.
pub fn generate_pkcs11(
    ctx: &Context,
    name: &str,
    alg: Algorithm,
    scheme: RsaScheme,
    target: &Pkcs11Target,
) -> Result<KeyInfo> {
    use cryptoki::session::UserType;
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_name(name)?;
    if ws.keys()?.iter().any(|r| r.name == name) {
        return Err(
            Error::refused(format!("a key named {name:?} exists already"))
                .hint("choose another name"),
        );
    }
    let profile = ctx.unlock.profile(target.profile.as_deref())?;
    if !profile.supports(alg) {
        return Err(Error::bad_input(format!(
            "profile {} does not offer {} keys",
            profile.name,
            alg.name()
        ))
        .hint(
            "choose another --algorithm (`rootcellar hsm profiles` lists what each device offers)",
        ));
    }
    ctx.air_gap("create a private key")?;
    let module = ctx.unlock.module_for(&profile)?;
    let c = crate::signer::pkcs11::context(&module)?;
    let token = crate::signer::pkcs11::find_token(&c, target.token.as_deref(), None)?;
    let mut ts = crate::signer::pkcs11::TokenSession::open(&c, token, true)?;
    if profile.login.generate == "so" {
        let so = ctx
            .unlock
            .token_pin(&ts.token, &profile, SecretKind::SoPin)?;
        ts.login(UserType::So, so.as_ref())?;
    } else {
        let pin = ctx.unlock.token_pin(&ts.token, &profile, SecretKind::Pin)?;
        ts.login(UserType::User, pin.as_ref())?;
    }
    // A `key generate` of this name that a crash interrupted after the transcript's line: the
    // token holds the key the line names (by key ID), no record registers it. Finish it.
    // A `key generate` of this name that a crash interrupted after the transcript's line: the
    // token holds the key the line names (by key ID), no record registers it. Finish it, with
    // what the token says of the key now.
    let line = (ws.last_line("key-generated", "key", name)?)
        .filter(|d| d.get("backend").and_then(|v| v.as_str()) == Some("pkcs11"));
    if let Some((pk, attrs, reference)) = line.and_then(|d| ts.generated_key(&d, scheme)) {
        let rec = KeyRecord {
            profile: Some(profile.name.clone()),
            attributes: Some(attrs),
            ..KeyRecord::new(
                name,
                pk.to_tuf_key(),
                pk.algorithm(),
                Backend::Pkcs11,
                Some(reference),
                format_tuf_time(ctx.now),
            )
        };
        ws.check_new_key(name, &rec.key)?;
        ws.add_key_record(&rec)?;
        ctx.notice(format!(
            "finished an interrupted `key generate` of {name}: the key the transcript names is on token {:?}; registered",
            ts.token.label
        ));
        pkcs11_notices(ctx, name, &profile, &attrs);
        return Ok(KeyInfo::of(&rec));
    }
    let (pk, attrs, uri) = ts.generate(&profile, alg, scheme, name)?;
    // The key exists on the token from here.
    crate::atomic::step();
    let key = pk.to_tuf_key();
    let rec = KeyRecord {
        profile: Some(profile.name.clone()),
        attributes: Some(attrs),
        ..KeyRecord::new(
            name,
            key,
            alg,
            Backend::Pkcs11,
            Some(uri.to_string()),
            format_tuf_time(ctx.now),
        )
    };
    if let Err(e) = ws.check_new_key(name, &rec.key) {
        // Leave no key on the token that the workspace does not know.
        let _ = ts.destroy(&uri);
        return Err(e);
    }
    // The transcript's line first (it binds the name to the key ID and the token object), then
    // the record: a crash between the two is finished by the next `key generate` of the name.
    ctx.record(&ws, "key-generated", super::audit::key_detail(&rec, None))?;
    ws.add_key_record(&rec)?;
    pkcs11_notices(ctx, name, &profile, &attrs);
    Ok(KeyInfo::of(&rec))
}

/// `rootcellar key add --backend pkcs11 --uri URI --name NAME`: registers a key already on a token.
pub fn add_pkcs11(
    ctx: &Context,
    uri: &str,
    name: &str,
    profile: Option<&str>,
    scheme: RsaScheme,
) -> Result<KeyInfo> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    check_name(name)?;
    let uri: crate::signer::pkcs11::Pkcs11Uri = uri.parse()?;
    let profile = ctx.unlock.profile(profile)?;
    let (ts, _pin) = ctx.unlock.open_token(&uri, &profile, false)?;
    let (pk, attrs, _) = ts.read_key(&uri)?;
    let pk = pk.with_rsa_scheme(scheme).unwrap_or(pk);
    let attrs = attrs.ok_or_else(|| {
        Error::refused(format!(
            "token {:?} shows the public key {uri} but no private key with it",
            ts.token.label
        ))
        .hint("a key without its private half cannot sign; check the URI's id")
    })?;
    let key = pk.to_tuf_key();
    let full_uri = crate::signer::pkcs11::Pkcs11Uri {
        token: Some(ts.token.label.clone()),
        serial: Some(ts.token.serial.clone()),
        ..uri
    };
    let rec = KeyRecord {
        profile: Some(profile.name.clone()),
        attributes: Some(attrs),
        ..KeyRecord::new(
            name,
            key,
            pk.algorithm(),
            Backend::Pkcs11,
            Some(full_uri.to_string()),
            format_tuf_time(ctx.now),
        )
    };
    let (rec, took_over) = ws.add_or_take_over(rec)?;
    if took_over {
        ctx.notice(format!(
            "the public key registered as {} is this token's key: {} now signs with the token",
            rec.name, rec.name
        ));
    }
    pkcs11_notices(ctx, &rec.name, &profile, &attrs);
    ctx.record(&ws, "key-added", super::audit::key_detail(&rec, None))?;
    Ok(KeyInfo::of(&rec))
}

/// `rootcellar key destroy K`: deletes a retired key's private half (on its token, or the
/// encrypted file), after the operator typed the key's name. The record stays, marked destroyed.
pub fn destroy(ctx: &Context, k: &str, confirm: Option<&str>) -> Result<KeyInfo> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    let mut rec = ws.resolve_key(k)?;
    if let Some(when) = &rec.destroyed_at {
        return Err(
            Error::refused(format!("key {} was destroyed already, on {when}", rec.name))
                .hint("nothing to do"),
        );
    }
    // A key of the published or the staged root (matched by public key) stays.
    let d = Dialect::of(&ws);
    let me = crate::dialect::identity_of(&rec);
    if let Some(latest) = d.published(&ws)?.last()
        && !latest.roles_of_key(&me).is_empty()
    {
        return Err(Error::refused(format!(
            "key {} is a key of the published root version {}",
            rec.name,
            latest.version()
        ))
        .hint(d.texts().key_in_use));
    }
    if let Some(staged) = d.staged(&ws)?
        && !staged.roles_of_key(&me).is_empty()
    {
        return Err(Error::refused(format!(
            "key {} is a key of the staged root version {}",
            rec.name,
            staged.version()
        ))
        .hint("remove it from the staged root first"));
    }
    let confirmed = match confirm {
        Some(c) => c == rec.name,
        None => ctx.prompt().typed_confirmation(
            &format!(
                "This deletes the private key of {} ({}) for good.",
                rec.name, rec.keyid
            ),
            &rec.name,
        )?,
    };
    if !confirmed {
        return Err(
            Error::refused(format!("not confirmed: key {} was not destroyed", rec.name)).hint(
                format!(
                    "type the key's name when asked, or pass --confirm {}",
                    rec.name
                ),
            ),
        );
    }
    // The transcript's line comes once the device is confirmed and unlocked, just before the
    // key is deleted (the intent: this key is being destroyed); then the record. A destroy
    // interrupted after its line is finished by the next `key destroy` of the key (its line is
    // not written twice): a key the device no longer holds was deleted before the interruption.
    let resuming = (ws.last_line("key-destroyed", "keyid", &rec.keyid)?).is_some();
    let intent = || {
        if resuming {
            Ok(())
        } else {
            ctx.record(&ws, "key-destroyed", super::audit::key_detail(&rec, None))
        }
    };
    match rec.backend {
        Backend::Public => {
            return Err(Error::bad_input(format!(
                "key {} is a public key only: there is no private key here to destroy",
                rec.name
            ))
            .hint("destroy it where its private half is held"));
        }
        Backend::Software => {
            let p = ws.software_key_path(rec.reference.as_deref().unwrap_or(""))?;
            intent()?;
            // Gone already: a destroy interrupted after it removed the file is finished.
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::io("remove", &p, &e))?
                }
                _ => {}
            }
        }
        Backend::Pkcs11 => {
            if !ctx.unlock.destroy_pkcs11(&rec, resuming, &intent)? {
                ctx.notice(format!(
                    "finished an interrupted `key destroy` of {}: the token no longer holds it",
                    rec.name
                ));
            }
        }
        Backend::Yubikey => {
            if !ctx.unlock.destroy_yubikey(&rec, resuming, &intent)? {
                ctx.notice(format!(
                    "finished an interrupted `key destroy` of {}: its slot no longer holds it",
                    rec.name
                ));
            }
        }
    }
    // The private key is gone from here on.
    crate::atomic::step();
    rec.destroyed_at = Some(format_tuf_time(ctx.now));
    ws.update_key_record(&rec)?;
    Ok(KeyInfo::of(&rec))
}

/// `rootcellar key export-public K`: K's public key as TUF key JSON and PEM.
pub fn export_public(ctx: &Context, k: &str) -> Result<crate::report::PublicExport> {
    crate::report::PublicExport::of(&ctx.workspace()?.resolve_key(k)?)
}

//! Key operations: generate, import, list.

use super::Context;
use crate::atomic::write_new_atomic;
use crate::error::{Error, Result};
use crate::prompt::SecretKind;
use crate::signer::Signer;
use crate::signer::software::SoftwareKey;
use crate::tuf::expiry::format_tuf_time;
use crate::tuf::{Algorithm, Key};
use crate::workspace::{Backend, KeyRecord, Workspace, check_name};
use serde::Serialize;
use std::path::Path;

/// A key as commands report it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct KeyInfo {
    pub name: String,
    pub keyid: String,
    pub algorithm: String,
    pub backend: String,
    pub fingerprint: String,
    pub created_at: String,
}

impl KeyInfo {
    pub fn of(rec: &KeyRecord) -> KeyInfo {
        KeyInfo {
            name: rec.name.clone(),
            keyid: rec.keyid.clone(),
            algorithm: rec.algorithm.name().into(),
            backend: rec.backend.name().into(),
            fingerprint: rec
                .key
                .decode()
                .map(|k| k.fingerprint())
                .unwrap_or_default(),
            created_at: rec.created_at.clone(),
        }
    }
}

/// `rootcellar key generate --backend software`.
pub fn generate_software(ctx: &Context, name: &str, alg: Algorithm) -> Result<KeyInfo> {
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
    let key = SoftwareKey::generate(alg);
    let tuf_key = key.public_key().to_tuf_key();
    ws.check_new_key(name, &tuf_key)?;
    let pass = ctx
        .prompt
        .new_secret(SecretKind::Passphrase, &format!("new key {name}"))?;
    let pem = key.to_encrypted_pem(&pass, ctx.kdf(&ws))?;
    let file = format!("{name}.key.pem");
    let reference = format!("software:{file}");
    let pem_path = ws.software_key_path(&reference)?;
    write_new_atomic(&pem_path, pem.as_bytes())?;
    let rec = KeyRecord {
        name: name.into(),
        keyid: tuf_key.keyid(),
        algorithm: alg,
        key: tuf_key,
        backend: Backend::Software,
        reference: Some(reference),
        created_at: format_tuf_time(ctx.now),
    };
    if let Err(e) = ws.add_key_record(&rec) {
        // Leave no private key file without its record.
        let _ = std::fs::remove_file(&pem_path);
        return Err(e);
    }
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
    let text = std::fs::read_to_string(file).map_err(|e| Error::io("read", file, &e))?;
    let key = Key::from_import_text(&text).map_err(|e| {
        Error::bad_input(format!(
            "{} is not a public key rootcellar can use: {e}",
            file.display()
        ))
    })?;
    ws.check_new_key(name, &key)?;
    let pk = key.decode().map_err(|e| Error::bad_input(e.to_string()))?;
    let rec = KeyRecord {
        name: name.into(),
        keyid: key.keyid(),
        algorithm: pk.algorithm(),
        key,
        backend: Backend::Public,
        reference: None,
        created_at: format_tuf_time(ctx.now),
    };
    ws.add_key_record(&rec)?;
    Ok(KeyInfo::of(&rec))
}

/// `rootcellar key list`.
pub fn list(ctx: &Context) -> Result<Vec<KeyInfo>> {
    let ws: Workspace = ctx.workspace()?;
    Ok(ws.keys()?.iter().map(KeyInfo::of).collect())
}

//! Unlocking signers: the passphrase of a software key, the PIN of a token or a YubiKey, a
//! YubiKey's management key — each asked at most once per process, after the retry gates — and
//! the check that the device holds the key its record names.
//!
//! Invariant: a secret is asked only after the device and its retry counter were read; a PIN is
//! sent only to the token the record names; a signer is handed out only once its public key is
//! the record's.

use crate::error::{Error, Result};
use crate::prompt::{Prompt, SecretKind};
use crate::signer::Signer;
use crate::signer::pkcs11::{
    self, KeyAttributes, Pkcs11Signer, Pkcs11Uri, TokenInfo, TokenSession,
};
use crate::signer::profiles::{self, Profile};
use crate::signer::software::{KdfCost, SoftwareKey};
use crate::workspace::{Backend, KeyRecord, Workspace};
use cryptoki::session::UserType;
use secrecy::SecretString;
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

/// Where keys are unlocked for one process: the prompt, the overrides the operator gave, what was
/// unlocked so far, and the notices for the operator.
pub struct Unlocker<'a> {
    pub prompt: &'a dyn Prompt,
    /// A PKCS#11 module path that overrides the profile's search (`--module`).
    pub module: Option<PathBuf>,
    /// Proceed where rootcellar refuses for safety: a PIN on its final try, a key the token
    /// does not vouch for in a root role (`--force`).
    pub force: bool,
    /// Use a YubiKey's factory-default management key (`--default-management-key`): only ever
    /// because the operator said so.
    pub default_management_key: bool,
    notices: RefCell<Vec<String>>,
    unlocked: RefCell<HashMap<String, Rc<dyn Signer>>>,
    pins: RefCell<HashMap<String, SecretString>>,
}

impl<'a> Unlocker<'a> {
    pub fn new(prompt: &'a dyn Prompt) -> Unlocker<'a> {
        Unlocker {
            prompt,
            module: None,
            force: false,
            default_management_key: false,
            notices: RefCell::new(Vec::new()),
            unlocked: RefCell::new(HashMap::new()),
            pins: RefCell::new(HashMap::new()),
        }
    }

    /// Something the operator should read (printed on stderr, or in the JSON `notices`).
    pub fn notice(&self, msg: impl Into<String>) {
        let msg = msg.into();
        let mut n = self.notices.borrow_mut();
        if !n.contains(&msg) {
            n.push(msg);
        }
    }

    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut self.notices.borrow_mut())
    }

    /// Tells the keyholder to touch a YubiKey whose touch policy asks for it, before `action`
    /// (e.g. "sign") with key `rec`.
    pub fn touch_notice(&self, rec: &KeyRecord, action: &str) {
        if let Some(y) = &rec.yubikey
            && y.touch_policy != "never"
        {
            self.prompt.say(&format!(
                "Touch YubiKey {} now (it blinks) to {action} with {}",
                y.serial, rec.name
            ));
        }
    }

    /// How costly software-key encryption is in `ws`.
    pub fn kdf(&self, ws: &Workspace) -> KdfCost {
        if ws.config.demo {
            KdfCost::LIGHT
        } else {
            KdfCost::STANDARD
        }
    }

    /// The profile of a PKCS#11 key or command: by name, or the generic one for `--module`.
    pub fn profile(&self, name: Option<&str>) -> Result<Profile> {
        match name {
            Some(n) if n != profiles::GENERIC => profiles::get(n),
            _ if self.module.is_some() || name == Some(profiles::GENERIC) => {
                Ok(profiles::generic())
            }
            _ => Err(Error::bad_input("no HSM profile given").hint(
                "pass --profile NAME (`rootcellar hsm profiles` lists them) or --module PATH",
            )),
        }
    }

    /// The module for `profile`: `--module` if given, else the profile's search paths.
    pub fn module_for(&self, profile: &Profile) -> Result<PathBuf> {
        match &self.module {
            Some(m) if m.exists() => Ok(m.clone()),
            Some(m) => Err(Error::environment(format!(
                "the PKCS#11 module {} does not exist",
                m.display()
            ))
            .hint("check the path given with --module or ROOTCELLAR_PKCS11_MODULE")),
            None => profile.find_module(),
        }
    }

    /// The PIN (or SO PIN) for `token`, asked at most once per process, after the PIN gate.
    pub fn token_pin(
        &self,
        token: &TokenInfo,
        profile: &Profile,
        kind: SecretKind,
    ) -> Result<Option<SecretString>> {
        if token.pin.protected_path {
            self.prompt.say(&format!(
                "enter the PIN on the device for token {:?}",
                token.label
            ));
            return Ok(None);
        }
        let key = format!("{:?}:{}:{}", kind, token.label, token.serial);
        if let Some(p) = self.pins.borrow().get(&key) {
            return Ok(Some(p.clone()));
        }
        let name = format!("{:?} (serial {})", token.label, token.serial);
        if kind == SecretKind::Pin
            && let Some(n) = pkcs11::pin_gate(&token.pin, self.force, &name)?
        {
            self.notice(n);
        }
        let label = if kind == SecretKind::Pin {
            format!("token {name}, {}", profile.login.pin_hint)
        } else {
            format!("token {name}")
        };
        let pin = self.prompt.secret(kind, &label)?;
        self.pins.borrow_mut().insert(key, pin.clone());
        Ok(Some(pin))
    }

    /// Opens the token a PKCS#11 key lives on, logged in as the user.
    pub fn open_token(
        &self,
        uri: &Pkcs11Uri,
        profile: &Profile,
        rw: bool,
    ) -> Result<(TokenSession, Option<SecretString>)> {
        let module = self.module_for(profile)?;
        let ctx = pkcs11::context(&module)?;
        let token = pkcs11::find_token(&ctx, uri.token.as_deref(), uri.serial.as_deref())?;
        let mut ts = TokenSession::open(&ctx, token, rw)?;
        let pin = self.token_pin(&ts.token, profile, SecretKind::Pin)?;
        ts.login(UserType::User, pin.as_ref())?;
        Ok((ts, pin))
    }

    /// Opens the token that holds `expected` under `uri`, confirmed by its public key before any
    /// PIN is sent: among the present tokens that match the URI's label (and serial), the one
    /// whose public key object at `uri` is `expected`; then logs in. A token that holds another
    /// key there never sees the PIN.
    pub fn open_token_holding(
        &self,
        uri: &Pkcs11Uri,
        profile: &Profile,
        rw: bool,
        expected: &crate::tuf::PublicKey,
    ) -> Result<(TokenSession, Option<SecretString>)> {
        let module = self.module_for(profile)?;
        let ctx = pkcs11::context(&module)?;
        let mut others = Vec::new();
        for token in pkcs11::matching_tokens(&ctx, uri.token.as_deref(), uri.serial.as_deref())? {
            let mut ts = TokenSession::open(&ctx, token, rw)?;
            match ts.read_key(uri) {
                Ok((pk, _, _)) if pk.identity() == expected.identity() => {
                    let pin = self.token_pin(&ts.token, profile, SecretKind::Pin)?;
                    ts.login(UserType::User, pin.as_ref())?;
                    return Ok((ts, pin));
                }
                Ok((pk, _, _)) => others.push(format!(
                    "{} holds another key there ({})",
                    ts.name(),
                    pk.fingerprint()
                )),
                Err(e) => others.push(e.message),
            }
        }
        Err(Error::refused(format!(
            "no token present holds the recorded key {uri} ({}): {}; no PIN was sent",
            expected.fingerprint(),
            others.join("; ")
        ))
        .hint("plug in the device that holds the key (a token whose public keys are hidden until login cannot be confirmed: give its serial in the key's URI)"))
    }

    /// Deletes the PKCS#11 key pair of `rec`, on the token confirmed to hold its public key;
    /// returns whether it deleted it. `resuming` (the transcript records that this destroy began
    /// and was interrupted): when the token the record names by serial is present and, once
    /// logged in, holds no key under the record's URI, the key was deleted before the
    /// interruption (`Ok(false)`).
    /// `before` runs once the token is confirmed and logged in, just before the key is deleted.
    pub fn destroy_pkcs11(
        &self,
        rec: &KeyRecord,
        resuming: bool,
        before: &dyn Fn() -> Result<()>,
    ) -> Result<bool> {
        let uri: Pkcs11Uri = rec.reference.as_deref().unwrap_or("").parse()?;
        let profile = self.profile(rec.profile.as_deref())?;
        let expected = rec.public_key()?;
        match self.open_token_holding(&uri, &profile, true, &expected) {
            Ok((ts, _)) => {
                before()?;
                ts.destroy(&uri).map(|()| true)
            }
            Err(e) if resuming && uri.serial.is_some() => {
                let module = self.module_for(&profile)?;
                let ctx = pkcs11::context(&module)?;
                let Some(token) =
                    pkcs11::matching_tokens(&ctx, uri.token.as_deref(), uri.serial.as_deref())?
                        .into_iter()
                        .next()
                else {
                    return Err(e);
                };
                let mut ts = TokenSession::open(&ctx, token, true)?;
                let pin = self.token_pin(&ts.token, &profile, SecretKind::Pin)?;
                ts.login(UserType::User, pin.as_ref())?;
                match ts.read_key(&uri) {
                    Err(_) => Ok(false),
                    Ok(_) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Overwrites the slot of YubiKey key `rec` once the slot is confirmed to hold its public
    /// key (PIN and management key asked then); returns whether it did. `before` runs just
    /// before the slot is overwritten. `resuming` (the transcript records that this destroy
    /// began): a slot that no longer holds the key was overwritten before the interruption
    /// (`Ok(false)`).
    pub fn destroy_yubikey(
        &self,
        rec: &KeyRecord,
        resuming: bool,
        before: &dyn Fn() -> Result<()>,
    ) -> Result<bool> {
        use crate::signer::yubikey as y;
        let r: y::YkRef = rec.reference.as_deref().unwrap_or("").parse()?;
        let mut yk = y::open(Some(r.serial))?;
        let me = rec.public_key()?.identity();
        let held = y::slot_public_key(&mut yk, r.slot).ok();
        if held.is_some_and(|pk| pk.identity() == me) {
            self.yubikey_pin(&mut yk)?;
            self.yubikey_management(&mut yk)?;
            before()?;
            y::overwrite_slot(&mut yk, r.slot)?;
            return Ok(true);
        }
        if resuming {
            return Ok(false);
        }
        Err(Error::refused(format!(
            "slot {} of YubiKey {} no longer holds {}",
            y::slot_name(r.slot),
            r.serial,
            rec.name
        ))
        .hint("nothing to destroy there; the record was left as it was"))
    }

    /// The PIN of YubiKey `yk`, after the retry gate, asked at most once per process and verified.
    pub fn yubikey_pin(&self, yk: &mut ::yubikey::YubiKey) -> Result<SecretString> {
        use crate::signer::yubikey as y;
        let serial = yk.serial().0;
        let key = format!("yubikey:{serial}");
        if let Some(p) = self.pins.borrow().get(&key) {
            return Ok(p.clone());
        }
        if let Some(n) = y::pin_gate(y::pin_retries(yk), self.force, serial)? {
            self.notice(n);
        }
        let pin = self.prompt.secret(
            SecretKind::Pin,
            &format!("YubiKey {serial} (PIV PIN, 6-8 characters)"),
        )?;
        y::verify_pin(yk, &pin)?;
        self.pins.borrow_mut().insert(key, pin.clone());
        Ok(pin)
    }

    /// Authenticates with a YubiKey's management key (see `signer::yubikey::authenticate`).
    pub fn yubikey_management(&self, yk: &mut ::yubikey::YubiKey) -> Result<()> {
        use crate::signer::yubikey as y;
        let serial = yk.serial().0;
        let default_ok = self.default_management_key;
        let is_default = y::management_key_is_default(yk);
        let notice = y::authenticate(yk, || {
            if default_ok {
                return Ok(y::Mgm::Default);
            }
            let asked = self.prompt.secret(
                SecretKind::ManagementKey,
                &format!("YubiKey {serial} (48 hex digits)"),
            );
            match asked {
                Ok(k) => Ok(y::Mgm::Given(k)),
                Err(e) => Err(Error::bad_input(format!(
                    "YubiKey {serial} needs its management key{}: {}",
                    if is_default == Some(true) { " (the device says it is still the factory default)" } else { "" },
                    e.message
                ))
                .hint("give it in ROOTCELLAR_MGMT_KEY or when asked; if the device still has the factory key, pass --default-management-key, then change it with `rootcellar yubikey set-management-key`")),
            }
        })?;
        if let Some(n) = notice {
            self.notice(n);
        }
        Ok(())
    }

    /// The signer of a registered key, asking for its passphrase or PIN once per process; the
    /// device's key is compared with the record's before it is handed out.
    pub fn signer(&self, ws: &Workspace, rec: &KeyRecord) -> Result<Rc<dyn Signer>> {
        if let Some(k) = self.unlocked.borrow().get(&rec.keyid) {
            return Ok(k.clone());
        }
        if let Some(when) = &rec.destroyed_at {
            return Err(
                Error::refused(format!("key {} was destroyed on {when}", rec.name))
                    .hint("sign with another key"),
            );
        }
        let signer: Rc<dyn Signer> = match rec.backend {
            Backend::Public => {
                return Err(Error::bad_input(format!(
                    "key {} is a public key only: its private half is held elsewhere, so it cannot sign here",
                    rec.name
                ))
                .hint("sign with a key generated in this workspace or on a device"));
            }
            Backend::Software => Rc::new(self.open_software(ws, rec)?),
            Backend::Yubikey => {
                use crate::signer::yubikey as y;
                let r: y::YkRef = rec.reference.as_deref().unwrap_or("").parse()?;
                // The device by its serial, the key by its public key, and only then the PIN.
                let mut yk = y::open(Some(r.serial))?;
                let pk = y::slot_public_key(&mut yk, r.slot)?;
                if pk.identity() != rec.public_key()?.identity() {
                    return Err(Error::refused(format!(
                        "slot {} of YubiKey {} holds another key than the one recorded as {}",
                        y::slot_name(r.slot),
                        r.serial,
                        rec.name
                    ))
                    .hint("the slot was overwritten, or this is another device; the workspace was not changed; no PIN was sent"));
                }
                let pin = self.yubikey_pin(&mut yk)?;
                // The record's key: for RSA, it names the scheme the key signs with.
                Rc::new(y::YubiKeySigner::new(yk, r.slot, rec.public_key()?, pin))
            }
            Backend::Pkcs11 => {
                let uri: Pkcs11Uri = rec.reference.as_deref().unwrap_or("").parse()?;
                let profile = self.profile(rec.profile.as_deref())?;
                let (ts, pin) =
                    self.open_token_holding(&uri, &profile, false, &rec.public_key()?)?;
                let (pk, attrs, handle) = ts.read_key(&uri)?;
                if pk.identity() != rec.public_key()?.identity() {
                    return Err(Error::refused(format!(
                        "the key {uri} on token {:?} is not the key recorded as {}",
                        ts.token.label, rec.name
                    ))
                    .hint("plug in the right device; the workspace was not changed"));
                }
                // The token is the authority on what the key is: a record that says the key
                // is fit for root when the token says otherwise was edited.
                let token_says = attrs.as_ref().and_then(KeyAttributes::root_objection);
                let record_says = rec
                    .attributes
                    .as_ref()
                    .and_then(KeyAttributes::root_objection);
                if let (Some(why), None) = (&token_says, &record_says) {
                    if !self.force {
                        return Err(Error::refused(format!(
                            "token {:?} says of {}: {why}; its record says it is fit for a root key (the record does not match the token)",
                            ts.token.label, rec.name
                        ))
                        .hint("use a key generated on the device; pass --force only if you accept this key for root"));
                    }
                    self.notice(format!(
                        "{} signs because of --force although the token says: {why}",
                        rec.name
                    ));
                }
                Rc::new(Pkcs11Signer::new(
                    ts,
                    handle,
                    rec.public_key()?,
                    attrs.unwrap_or_default(),
                    pin,
                ))
            }
        };
        self.unlocked
            .borrow_mut()
            .insert(rec.keyid.clone(), signer.clone());
        Ok(signer)
    }

    fn open_software(&self, ws: &Workspace, rec: &KeyRecord) -> Result<SoftwareKey> {
        let reference = rec.reference.as_deref().unwrap_or("");
        let path = ws.software_key_path(reference)?;
        let pem = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, &e))?;
        let mut attempt = 0;
        let key = loop {
            attempt += 1;
            let pass = self
                .prompt
                .secret(SecretKind::Passphrase, &format!("key {}", rec.name))?;
            match SoftwareKey::from_encrypted_pem(&pem, &pass, &rec.name) {
                Ok(k) => break k,
                Err(e)
                    if e.message.starts_with("wrong passphrase")
                        && self.prompt.can_retry()
                        && attempt < 3 =>
                {
                    self.prompt.say(&format!("{} — try again", e.message));
                }
                Err(e) => return Err(e),
            }
        };
        key.bound_to(rec.public_key()?).ok_or_else(|| {
            Error::bad_input(format!(
                "the private key file of {} does not match its record's public key",
                rec.name
            ))
            .hint("restore the key's files from your backup")
        })
    }
}

//! Operations: one library function per command. The CLI and the TUI only parse, prompt, call
//! these and print what they return.
//!
//! Invariant: checks that apply to every operation live here once — the air-gap guard before any
//! private key is created or used, the workspace lock before any write — and a refused operation
//! writes nothing.

pub mod demo;
pub mod key;
pub mod root;
pub mod verify;

use crate::error::{Error, Result};
use crate::guard;
use crate::prompt::{Prompt, SecretKind};
use crate::signer::Signer;
use crate::signer::software::{KdfCost, SoftwareKey};
use crate::tuf::expiry::Timestamp;
use crate::workspace::{Backend, KeyRecord, Workspace};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

/// What the air-gap guard does when the machine is online.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardMode {
    /// Refuse (the default).
    Enforce,
    /// Proceed with a notice (`--allow-online`, and the demo).
    Warn,
}

/// Everything an operation needs from its caller.
pub struct Context<'a> {
    pub dir: PathBuf,
    pub prompt: &'a dyn Prompt,
    pub now: Timestamp,
    pub guard: GuardMode,
    /// Root of the `/sys` tree the guard reads (tests hand it a fake one).
    pub sysfs: PathBuf,
    notices: RefCell<Vec<String>>,
    unlocked: RefCell<HashMap<String, Rc<SoftwareKey>>>,
    guard_checked: RefCell<bool>,
}

impl<'a> Context<'a> {
    pub fn new(dir: PathBuf, prompt: &'a dyn Prompt, now: Timestamp) -> Context<'a> {
        Context {
            dir,
            prompt,
            now: crate::tuf::expiry::truncate(now),
            guard: GuardMode::Enforce,
            sysfs: PathBuf::from("/sys"),
            notices: RefCell::new(Vec::new()),
            unlocked: RefCell::new(HashMap::new()),
            guard_checked: RefCell::new(false),
        }
    }

    pub fn workspace(&self) -> Result<Workspace> {
        Workspace::open(&self.dir)
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

    /// The air-gap guard: call before creating or using a private key.
    pub fn air_gap(&self, action: &str) -> Result<()> {
        if *self.guard_checked.borrow() {
            return Ok(());
        }
        let findings = guard::check(&self.sysfs);
        if findings.is_empty() {
            *self.guard_checked.borrow_mut() = true;
            return Ok(());
        }
        let list: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
        match self.guard {
            GuardMode::Enforce => Err(Error::environment(format!(
                "refusing to {action}: this machine is not air-gapped: {}",
                list.join("; ")
            ))
            .hint(guard::HINT)),
            GuardMode::Warn => {
                *self.guard_checked.borrow_mut() = true;
                self.notice(format!(
                    "air-gap guard overridden: this machine is online ({}); do not use keys made here for a real root",
                    list.join("; ")
                ));
                Ok(())
            }
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

    /// Opens the signer for a registered key, asking for its passphrase once per process.
    pub fn signer(&self, ws: &Workspace, rec: &KeyRecord) -> Result<Rc<dyn Signer>> {
        match rec.backend {
            Backend::Public => Err(Error::bad_input(format!(
                "key {} is a public key only: its private half is held elsewhere, so it cannot sign here",
                rec.name
            ))
            .hint("sign with a key generated in this workspace or on a device")),
            Backend::Software => {
                if let Some(k) = self.unlocked.borrow().get(&rec.keyid) {
                    return Ok(k.clone() as Rc<dyn Signer>);
                }
                let reference = rec.reference.as_deref().unwrap_or("");
                let path = ws.software_key_path(reference)?;
                let pem = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, &e))?;
                let mut attempt = 0;
                let key = loop {
                    attempt += 1;
                    let pass = self.prompt.secret(SecretKind::Passphrase, &format!("key {}", rec.name))?;
                    match SoftwareKey::from_encrypted_pem(&pem, &pass, &rec.name) {
                        Ok(k) => break k,
                        Err(e) if e.message.starts_with("wrong passphrase") && self.prompt.can_retry() && attempt < 3 => {
                            self.prompt.say(&format!("{} — try again", e.message));
                        }
                        Err(e) => return Err(e),
                    }
                };
                if key.public_key().identity() != rec.public_key()?.identity() {
                    return Err(Error::bad_input(format!(
                        "the private key file of {} does not match its record's public key",
                        rec.name
                    ))
                    .hint("restore the key's files from your backup"));
                }
                let key = Rc::new(key);
                self.unlocked.borrow_mut().insert(rec.keyid.clone(), key.clone());
                Ok(key)
            }
        }
    }
}

/// Display name of a key ID: the workspace name, or the first 12 hex digits.
pub fn key_label(ws: &Workspace, keyid: &str) -> String {
    match ws.key_by_id(keyid) {
        Ok(Some(r)) => r.name,
        _ => keyid.chars().take(12).collect(),
    }
}

//! What every operation runs with: the workspace folder, the time, the air-gap guard and the
//! clock check (once per command), and the signers (`signer::unlock`) with their notices.
//!
//! Invariant: the guard runs before any private key is created or used, and the clock check
//! before any private key signs.

use crate::dialect::Devices;
use crate::error::{Error, Result};
use crate::guard;
use crate::prompt::Prompt;
use crate::signer::Signer;
use crate::signer::unlock::Unlocker;
use crate::tuf::expiry::{Timestamp, format_tuf_time};
use crate::workspace::{KeyRecord, Workspace};
use std::cell::RefCell;
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
    pub now: Timestamp,
    pub guard: GuardMode,
    /// Root of the `/sys` tree the guard reads (tests hand it a fake one).
    pub sysfs: PathBuf,
    /// Signers, secrets, device overrides and the notices they give.
    pub unlock: Unlocker<'a>,
    guard_checked: RefCell<bool>,
    guard_result: RefCell<Option<String>>,
    /// This command's clock check: the time and how it was confirmed.
    clock_result: RefCell<Option<String>>,
    clock_checked: RefCell<bool>,
}

impl<'a> Context<'a> {
    pub fn new(dir: PathBuf, prompt: &'a dyn Prompt, now: Timestamp) -> Context<'a> {
        Context {
            dir,
            now: crate::tuf::expiry::truncate(now),
            guard: GuardMode::Enforce,
            sysfs: PathBuf::from("/sys"),
            unlock: Unlocker::new(prompt),
            guard_checked: RefCell::new(false),
            guard_result: RefCell::new(None),
            clock_result: RefCell::new(None),
            clock_checked: RefCell::new(false),
        }
    }

    pub fn workspace(&self) -> Result<Workspace> {
        Workspace::open(&self.dir)
    }

    pub fn prompt(&self) -> &dyn Prompt {
        self.unlock.prompt
    }

    /// Something the operator should read (printed on stderr, or in the JSON `notices`).
    pub fn notice(&self, msg: impl Into<String>) {
        self.unlock.notice(msg)
    }

    pub fn take_notices(&self) -> Vec<String> {
        self.unlock.take_notices()
    }

    /// The air-gap guard: call before creating or using a private key.
    pub fn air_gap(&self, action: &str) -> Result<()> {
        if *self.guard_checked.borrow() {
            return Ok(());
        }
        let findings = guard::check(&self.sysfs);
        if findings.is_empty() {
            *self.guard_checked.borrow_mut() = true;
            *self.guard_result.borrow_mut() = Some("offline: guard passed".into());
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
                *self.guard_result.borrow_mut() =
                    Some(format!("online, guard overridden: {}", list.join("; ")));
                self.notice(format!(
                    "air-gap guard overridden: this machine is online ({}); do not use keys made here for a real root",
                    list.join("; ")
                ));
                Ok(())
            }
        }
    }

    /// What the air-gap guard found, when this command ran it.
    pub fn clock_result(&self) -> Option<String> {
        self.clock_result.borrow().clone()
    }

    pub fn guard_result(&self) -> Option<String> {
        self.guard_result.borrow().clone()
    }

    /// The clock check: the offline machine's clock decides expiry, so before a private key signs
    /// anything, refuse a clock that runs behind the newest time the workspace knows (its
    /// transcript and key records), and show the time for the operators to confirm.
    pub fn check_clock(&self, ws: &Workspace) -> Result<()> {
        if *self.clock_checked.borrow() {
            return Ok(());
        }
        let now = format_tuf_time(self.now);
        ws.refuse_clock_behind(self.now)?;
        // Shown and confirmed before the first secret is asked for (ctx.signer opens the key
        // after this); the transcript says how.
        let how = self.prompt().confirm_clock(&now)?;
        *self.clock_checked.borrow_mut() = true;
        let said = how.as_deref().unwrap_or("shown, not asked");
        *self.clock_result.borrow_mut() = Some(format!("{now}: {said}"));
        if how.is_none() {
            self.notice(format!(
                "clock: this machine says it is {now} UTC; compare it with a watch before the signatures are kept"
            ));
        }
        Ok(())
    }

    /// Opens the signer for a registered key, after the clock check, asking for its passphrase
    /// or PIN once per process.
    pub fn signer(&self, ws: &Workspace, rec: &KeyRecord) -> Result<Rc<dyn Signer>> {
        self.check_clock(ws)?;
        self.unlock.signer(ws, rec)
    }

    pub fn touch_notice(&self, rec: &KeyRecord, action: &str) {
        self.unlock.touch_notice(rec, action)
    }
}

impl Devices for Context<'_> {
    fn now(&self) -> Timestamp {
        self.now
    }
    fn force(&self) -> bool {
        self.unlock.force
    }
    fn notice(&self, msg: String) {
        Context::notice(self, msg)
    }
    fn air_gap(&self, action: &str) -> Result<()> {
        Context::air_gap(self, action)
    }
    fn signer(&self, ws: &Workspace, rec: &KeyRecord) -> Result<Rc<dyn Signer>> {
        Context::signer(self, ws, rec)
    }
    fn touch_notice(&self, rec: &KeyRecord, action: &str) {
        Context::touch_notice(self, rec, action)
    }
}

//! Asking the operator: passphrases and PINs. The CLI and the TUI implement [`Prompt`].
//!
//! Invariant: secrets come back as [`SecretString`] and are never printed, logged or kept in
//! `Debug` output.

use crate::error::{Error, Result};
use secrecy::SecretString;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretKind {
    Passphrase,
    Pin,
    /// A token's security-officer PIN (for ykcs11: the PIV management key).
    SoPin,
    /// A YubiKey's PUK.
    Puk,
    /// A YubiKey's PIV management key (hex).
    ManagementKey,
    /// A new PIN being set.
    NewPin,
    /// A new PUK being set.
    NewPuk,
}

impl SecretKind {
    pub fn word(self) -> &'static str {
        match self {
            SecretKind::Passphrase => "passphrase",
            SecretKind::Pin => "PIN",
            SecretKind::SoPin => "security officer PIN",
            SecretKind::Puk => "PUK",
            SecretKind::ManagementKey => "management key",
            SecretKind::NewPin => "new PIN",
            SecretKind::NewPuk => "new PUK",
        }
    }
}

pub trait Prompt {
    /// An existing secret, e.g. the passphrase of a key. `label` names what it unlocks.
    fn secret(&self, kind: SecretKind, label: &str) -> Result<SecretString>;
    /// A new secret (asked twice where a person types it).
    fn new_secret(&self, kind: SecretKind, label: &str) -> Result<SecretString>;
    /// Whether asking again can give another answer (a person at a terminal).
    fn can_retry(&self) -> bool;
    /// Tells the operator something while an operation runs (e.g. why it asks again).
    fn say(&self, _message: &str) {}
    /// Asks the operator to type `expected` to confirm `question`; false unless they did.
    fn typed_confirmation(&self, _question: &str, _expected: &str) -> Result<bool> {
        Ok(false)
    }
    /// Before the first secret of a signing session: the operators compare `now` (this
    /// machine's clock, UTC) with a watch. Returns how it was confirmed, for the transcript
    /// (`None`: this prompt cannot ask, e.g. the demo); an error when it was not.
    fn confirm_clock(&self, _now: &str) -> Result<Option<String>> {
        Ok(None)
    }
}

/// Gives the same secret every time: the demo, and tests.
pub struct FixedPrompt(pub SecretString);

impl Prompt for FixedPrompt {
    fn secret(&self, _: SecretKind, _: &str) -> Result<SecretString> {
        Ok(self.0.clone())
    }
    fn new_secret(&self, _: SecretKind, _: &str) -> Result<SecretString> {
        Ok(self.0.clone())
    }
    fn can_retry(&self) -> bool {
        false
    }
}

/// Refuses to give any secret (commands that must not need one).
pub struct NoPrompt;

impl Prompt for NoPrompt {
    fn secret(&self, kind: SecretKind, label: &str) -> Result<SecretString> {
        Err(Error::bad_input(format!(
            "no {} available for {label}",
            kind.word()
        )))
    }
    fn new_secret(&self, kind: SecretKind, label: &str) -> Result<SecretString> {
        self.secret(kind, label)
    }
    fn can_retry(&self) -> bool {
        false
    }
}

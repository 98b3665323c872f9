//! The terminal's [`Prompt`]: a secret file, then the environment, then the terminal with echo off.

use crate::error::{Error, Result};
use crate::prompt::{Prompt, SecretKind};
use secrecy::{ExposeSecret, SecretString};
use std::io::IsTerminal;
use std::path::PathBuf;

fn env_var(kind: SecretKind) -> &'static str {
    match kind {
        SecretKind::Passphrase => "ROOTCELLAR_PASSPHRASE",
        SecretKind::Pin => "ROOTCELLAR_PIN",
        SecretKind::SoPin => "ROOTCELLAR_SO_PIN",
        SecretKind::Puk => "ROOTCELLAR_PUK",
        SecretKind::ManagementKey => "ROOTCELLAR_MGMT_KEY",
        SecretKind::NewPin => "ROOTCELLAR_NEW_PIN",
        SecretKind::NewPuk => "ROOTCELLAR_NEW_PUK",
    }
}

pub struct TermPrompt {
    pub secret_file: Option<PathBuf>,
}

impl TermPrompt {
    fn read_secret_file(&self) -> Result<Option<SecretString>> {
        let Some(p) = &self.secret_file else {
            return Ok(None);
        };
        // A regular file, or a pipe (`--pin-file <(pass show k)`): bounded, with a time limit.
        let (line, exposed) = crate::readpath::read_secret(p)?;
        if exposed {
            eprintln!(
                "warning: {} can be read by others than its owner: a secret file belongs to its owner alone (chmod 600)",
                p.display()
            );
        }
        if line.is_empty() {
            return Err(Error::bad_input(format!("{} is empty", p.display()))
                .hint("put the secret on its first line"));
        }
        Ok(Some(SecretString::from(line.as_str())))
    }

    fn from_env(kind: SecretKind) -> Option<SecretString> {
        let var = env_var(kind);
        std::env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .map(SecretString::from)
    }

    fn ask(kind: SecretKind, label: &str, question: &str) -> Result<SecretString> {
        if !std::io::stdin().is_terminal() {
            let var = env_var(kind);
            return Err(Error::bad_input(format!(
                "the {} for {label} is needed and there is no terminal to ask on",
                kind.word()
            ))
            .hint(format!(
                "run it at a terminal, or give {var} or --pin-file FILE"
            )));
        }
        rpassword::prompt_password(question)
            .map(SecretString::from)
            .map_err(|e| {
                Error::environment(format!(
                    "cannot read the {} from the terminal: {e}",
                    kind.word()
                ))
            })
    }
}

impl Prompt for TermPrompt {
    fn secret(&self, kind: SecretKind, label: &str) -> Result<SecretString> {
        if matches!(kind, SecretKind::Passphrase | SecretKind::Pin)
            && let Some(s) = self.read_secret_file()?
        {
            return Ok(s);
        }
        if let Some(s) = Self::from_env(kind) {
            return Ok(s);
        }
        Self::ask(kind, label, &format!("{} for {label}: ", kind.word()))
    }

    fn new_secret(&self, kind: SecretKind, label: &str) -> Result<SecretString> {
        // A new passphrase from a file or the environment follows the terminal's rule.
        let checked = |s: SecretString| {
            if kind == SecretKind::Passphrase && s.expose_secret().chars().count() < 8 {
                Err(Error::bad_input(
                    "a new passphrase must have at least 8 characters".to_string(),
                )
                .hint("give a longer one (in ROOTCELLAR_PASSPHRASE or the --pin-file); nothing was created"))
            } else {
                Ok(s)
            }
        };
        if kind == SecretKind::Passphrase
            && let Some(s) = self.read_secret_file()?
        {
            return checked(s);
        }
        if let Some(s) = Self::from_env(kind) {
            return checked(s);
        }
        let word = if kind == SecretKind::Passphrase {
            "new passphrase"
        } else {
            kind.word()
        };
        let a = Self::ask(kind, label, &format!("{word} for {label}: "))?;
        if kind == SecretKind::Passphrase && a.expose_secret().chars().count() < 8 {
            return Err(Error::bad_input(format!(
                "the {} must have at least 8 characters",
                kind.word()
            )));
        }
        let b = Self::ask(kind, label, &format!("the same {} again: ", kind.word()))?;
        if a.expose_secret() != b.expose_secret() {
            return Err(Error::bad_input(format!("the two {}s differ", kind.word()))
                .hint("run the command again"));
        }
        Ok(a)
    }

    fn say(&self, message: &str) {
        eprintln!("{}", crate::text::visible(message));
    }

    fn typed_confirmation(&self, question: &str, expected: &str) -> Result<bool> {
        if !std::io::stdin().is_terminal() {
            return Ok(false);
        }
        eprint!("{question}\nType {expected} to confirm: ");
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Error::environment(format!("cannot read the confirmation: {e}")))?;
        Ok(line.trim_end_matches(['\r', '\n']) == expected)
    }

    fn can_retry(&self) -> bool {
        self.secret_file.is_none()
            && std::io::stdin().is_terminal()
            && std::env::var_os("ROOTCELLAR_PASSPHRASE").is_none()
    }
}

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
    /// `--pin-file [K=]FILE`: a secret for key, token or YubiKey K, or (no K) for any.
    pub secret_files: Vec<(Option<String>, PathBuf)>,
}

/// `--pin-file K=FILE` or `--pin-file FILE` (a path whose part before `=` holds a `/`, or
/// that exists, is a path).
pub fn parse_secret_file(arg: &str) -> (Option<String>, PathBuf) {
    match arg.split_once('=') {
        Some((k, f))
            if !k.is_empty() && !k.contains('/') && !std::path::Path::new(arg).exists() =>
        {
            (Some(k.to_string()), PathBuf::from(f))
        }
        _ => (None, PathBuf::from(arg)),
    }
}

/// Who a secret is asked for, from the question's label: the key's name ("key NAME"), the
/// token's label and serial (`token "LABEL" (serial S)…`), the YubiKey's serial.
fn subjects(label: &str) -> Vec<String> {
    if let Some(name) = label.strip_prefix("key ") {
        return vec![name.to_string()];
    }
    if let Some(rest) = label.strip_prefix("token \"") {
        let mut out = Vec::new();
        if let Some((l, tail)) = rest.split_once('"') {
            out.push(l.to_string());
            if let Some(s) = tail.split("serial ").nth(1) {
                out.push(s.split(')').next().unwrap_or("").to_string());
            }
        }
        return out;
    }
    if let Some(rest) = label.strip_prefix("YubiKey ") {
        return vec![rest.split(' ').next().unwrap_or("").to_string()];
    }
    Vec::new()
}

impl TermPrompt {
    fn read_secret_file(&self, label: &str) -> Result<Option<SecretString>> {
        let who = subjects(label);
        let named = self
            .secret_files
            .iter()
            .find(|(k, _)| k.as_ref().is_some_and(|k| who.contains(k)));
        let Some((_, p)) = named.or_else(|| self.secret_files.iter().find(|(k, _)| k.is_none()))
        else {
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

    fn from_env(kind: SecretKind, label: &str) -> Option<SecretString> {
        let get = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
        let per_key = match (kind, label.strip_prefix("key ")) {
            (SecretKind::Passphrase, Some(name)) => get(&crate::workspace::passphrase_var(name)),
            _ => None,
        };
        per_key
            .or_else(|| get(env_var(kind)))
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
            && let Some(s) = self.read_secret_file(label)?
        {
            return Ok(s);
        }
        if let Some(s) = Self::from_env(kind, label) {
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
            && let Some(s) = self.read_secret_file(label)?
        {
            return checked(s);
        }
        if let Some(s) = Self::from_env(kind, label) {
            return checked(s);
        }
        let word = if kind == SecretKind::Passphrase {
            "new passphrase"
        } else {
            kind.word()
        };
        // Too short: asked again (the rest of a long typing never lands in the shell).
        let mut tries = 0;
        let a = loop {
            tries += 1;
            let a = Self::ask(kind, label, &format!("{word} for {label}: "))?;
            if kind != SecretKind::Passphrase || a.expose_secret().chars().count() >= 8 {
                break a;
            }
            if tries == 3 {
                return Err(Error::bad_input(format!(
                    "the {} must have at least 8 characters",
                    kind.word()
                ))
                .hint("run the command again with a longer one; nothing was created"));
            }
            eprintln!("at least 8 characters, please — try again");
        };
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

    fn confirm_clock(&self, now: &str) -> Result<Option<String>> {
        if std::env::var("ROOTCELLAR_CLOCK_OK").is_ok_and(|v| v == "1") {
            eprintln!(
                "clock: this machine says it is {now} UTC (confirmed by ROOTCELLAR_CLOCK_OK=1)"
            );
            return Ok(Some("confirmed by ROOTCELLAR_CLOCK_OK=1".into()));
        }
        let not_confirmed = |why: &str| {
            Error::bad_input(format!(
                "{why}: this machine says it is {now} UTC, and metadata signed now carries dates from this clock"
            ))
            .hint("compare it with a watch; if it is right, answer y at a terminal, or set ROOTCELLAR_CLOCK_OK=1 for a script (the transcript records which); nothing was signed")
        };
        if !std::io::stdin().is_terminal() {
            return Err(not_confirmed(
                "the clock must be confirmed before a key signs",
            ));
        }
        eprint!(
            "clock: this machine says it is {now} UTC. Compare it with a watch. Is it right? [y/N] "
        );
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Error::environment(format!("cannot read the answer: {e}")))?;
        match line.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(Some("confirmed at the terminal".into())),
            _ => Err(not_confirmed("the clock was not confirmed")),
        }
    }

    fn can_retry(&self) -> bool {
        self.secret_files.is_empty()
            && std::io::stdin().is_terminal()
            && std::env::var_os("ROOTCELLAR_PASSPHRASE").is_none()
    }
}

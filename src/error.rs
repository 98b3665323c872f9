//! The crate's one error type: what happened, what to do next, and an exit code.
//!
//! Exit codes (documented in the README): 0 success / valid; 1 refused or invalid (the operation
//! ran and the metadata or request does not pass); 2 bad input or usage (unknown key, unreadable
//! file, wrong passphrase, bad argument); 3 the machine or workspace is not in a state to proceed
//! (air-gap guard, workspace locked, I/O failure).

use serde::Serialize;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// The metadata or the request does not pass a check.
    Refused,
    /// The input cannot be used as given.
    BadInput,
    /// The machine or the workspace is not ready.
    Environment,
}

impl ErrorKind {
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Refused => 1,
            ErrorKind::BadInput => 2,
            ErrorKind::Environment => 3,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// What to do next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn refused(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Refused,
            message: message.into(),
            hint: None,
        }
    }
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::BadInput,
            message: message.into(),
            hint: None,
        }
    }
    pub fn environment(message: impl Into<String>) -> Error {
        Error {
            kind: ErrorKind::Environment,
            message: message.into(),
            hint: None,
        }
    }
    /// Adds what to do next.
    pub fn hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// The error of a step that came after `kept` (e.g. the keys that signed before one
    /// failed): the message says what was kept, so nobody takes the stop for a rollback.
    pub fn after(mut self, kept: &[String], what: &str) -> Error {
        if !kept.is_empty() {
            self.message = format!(
                "{} (kept before this: {what} {})",
                self.message,
                kept.join(", ")
            );
        }
        self
    }
    /// An I/O failure on `path`.
    pub fn io(action: &str, path: &Path, e: &std::io::Error) -> Error {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => "check the path",
            std::io::ErrorKind::PermissionDenied => {
                "check the permissions of the file and its folder"
            }
            std::io::ErrorKind::StorageFull => {
                "free space on that drive and try again; nothing was half-written"
            }
            _ => "check the drive and try again; nothing was half-written",
        };
        Error::environment(format!("cannot {action} {}: {e}", path.display())).hint(hint)
    }
}

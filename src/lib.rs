#![forbid(unsafe_code)]
#![doc = "rootcellar: keeps the root of trust of a TUF / Docker Content Trust repository offline and in hardware."]

pub mod atomic;
pub mod audit;
pub mod cli;
pub mod demo;
pub mod dialect;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod guard;
pub mod ops;
pub mod prompt;
pub mod readpath;
pub mod report;
pub mod signer;
pub mod text;
pub mod transfer;
pub mod tuf;
pub mod tui;
pub mod workspace;

#![forbid(unsafe_code)]
#![doc = "rootcellar: keeps the root of trust of a TUF / Docker Content Trust repository offline and in hardware."]

pub mod tuf;
pub mod atomic;
pub mod error;
pub mod guard;
pub mod signer;
pub mod workspace;
pub mod ops;
pub mod prompt;
pub mod cli;

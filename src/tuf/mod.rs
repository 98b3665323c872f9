//! The TUF core: strict JSON, canonical JSON, keys, signatures, metadata, verification.
//!
//! Invariant: nothing in this module does I/O or reads the clock; times are passed in.

pub mod canonical;
pub mod edit;
pub mod expiry;
pub mod handover;
pub mod json;
pub mod key;
pub mod metadata;
pub mod notary;
pub mod sig;
pub mod verify;

pub use key::{Algorithm, Key, PublicKey};
pub use metadata::{Metadata, MetadataError, RoleKeys, Root, Targets};
pub use sig::Signature;

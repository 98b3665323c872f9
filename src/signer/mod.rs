//! Signers: anything that holds a private key and can sign with it.
//!
//! Invariant: a signer returns signatures in TUF's encoding (DER for ECDSA, 64 bytes for
//! Ed25519), and callers verify each one against the public key before keeping it.

pub mod attest;
pub mod emsa;
pub mod notary_cert;
pub mod pkcs11;
pub mod profiles;
pub mod software;
pub mod unlock;
pub mod yubikey;

use crate::error::Result;
use crate::tuf::PublicKey;

/// A key that can sign. Hardware backends implement this too.
pub trait Signer {
    fn public_key(&self) -> &PublicKey;
    /// Signs `message` (the canonical bytes of `signed`).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

//! Software keys are standard encrypted PKCS#8 files: openssl reads them with the passphrase.

use rootcellar::signer::Signer;
use rootcellar::signer::software::{KdfCost, SoftwareKey};
use rootcellar::tuf::{Algorithm, PublicKey};
use secrecy::SecretString;
use std::process::Command;

#[test]
fn openssl_reads_rootcellar_key_files() {
    for alg in [
        Algorithm::EcdsaP256,
        Algorithm::EcdsaP384,
        Algorithm::Ed25519,
        Algorithm::Rsa2048,
    ] {
        let k = SoftwareKey::generate(alg, rootcellar::tuf::key::RsaScheme::DEFAULT).unwrap();
        let pem = k
            .to_encrypted_pem(&SecretString::from("openssl check"), KdfCost::STANDARD)
            .unwrap();
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("k.pem");
        std::fs::write(&f, pem.as_bytes()).unwrap();
        let out = Command::new("openssl")
            .args(["pkey", "-in"])
            .arg(&f)
            .args(["-passin", "env:RC_PASS", "-pubout"])
            .env("RC_PASS", "openssl check")
            .output()
            .expect("openssl is installed by scripts/test");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let public = PublicKey::from_spki_pem(&String::from_utf8(out.stdout).unwrap()).unwrap();
        assert_eq!(&public, k.public_key());
        // The wrong passphrase is refused by openssl too: the file really is encrypted.
        let bad = Command::new("openssl")
            .args(["pkey", "-in"])
            .arg(&f)
            .args(["-passin", "pass:wrong", "-pubout"])
            .output()
            .unwrap();
        assert!(!bad.status.success());
    }
}

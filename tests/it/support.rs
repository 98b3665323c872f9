//! Test helpers: deterministic keys, roots built and signed in memory, the CLI binary.

use rootcellar::tuf::edit::SPEC_VERSION;
use rootcellar::tuf::{Key, Metadata, PublicKey, RoleKeys, Root, Signature};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub enum Sk {
    P256(p256::ecdsa::SigningKey),
    Ed(ed25519_dalek::SigningKey),
}

/// A key with a fixed seed, so failures are repeatable.
pub struct TestKey {
    pub sk: Sk,
    pub pk: PublicKey,
}

impl TestKey {
    pub fn ecdsa(seed: u8) -> TestKey {
        let sk = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let pk = PublicKey::EcdsaP256(*sk.verifying_key());
        TestKey {
            sk: Sk::P256(sk),
            pk,
        }
    }
    pub fn ed25519(seed: u8) -> TestKey {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let pk = PublicKey::Ed25519(sk.verifying_key());
        TestKey { sk: Sk::Ed(sk), pk }
    }
    pub fn key(&self) -> Key {
        self.pk.to_tuf_key()
    }
    pub fn keyid(&self) -> String {
        self.key().keyid()
    }
    /// Signature bytes in TUF's encoding (DER for ECDSA).
    pub fn sign_bytes(&self, msg: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer;
        match &self.sk {
            Sk::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(msg);
                s.normalize_s().to_der().as_bytes().to_vec()
            }
            Sk::Ed(k) => k.sign(msg).to_bytes().to_vec(),
        }
    }
    pub fn sign<T: rootcellar::tuf::metadata::SignedBody>(&self, md: &Metadata<T>) -> Signature {
        Signature::new(self.keyid(), &self.sign_bytes(md.canonical_signed()))
    }
}

/// A root of `version` whose root role is `keys` with `threshold`; online roles use key 200.
pub fn root(version: u64, keys: &[&TestKey], threshold: u64, expires: &str) -> Root {
    let online = TestKey::ed25519(200);
    let mut all = BTreeMap::new();
    let mut ids = Vec::new();
    for k in keys {
        all.insert(k.keyid(), k.key());
        ids.push(k.keyid());
    }
    all.insert(online.keyid(), online.key());
    let mut roles = BTreeMap::new();
    roles.insert("root".to_string(), RoleKeys::new(ids, threshold));
    for r in ["targets", "snapshot", "timestamp"] {
        roles.insert(r.to_string(), RoleKeys::new(vec![online.keyid()], 1));
    }
    Root {
        type_: "root".into(),
        spec_version: SPEC_VERSION.into(),
        version,
        expires: expires.into(),
        consistent_snapshot: Some(true),
        keys: all,
        roles,
        extra: BTreeMap::new(),
    }
}

pub const FUTURE: &str = "2099-01-01T00:00:00Z";

/// `root` signed by `signers`.
pub fn signed(root: Root, signers: &[&TestKey]) -> Metadata<Root> {
    let mut md = Metadata::new(root).unwrap();
    let sigs: Vec<Signature> = signers.iter().map(|k| k.sign(&md)).collect();
    md.signatures = sigs;
    md
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

pub fn write_md(dir: &Path, name: &str, md: &Metadata<Root>) -> PathBuf {
    write(dir, name, &md.to_file_bytes())
}

/// Whole document as a JSON value, to tamper with.
pub fn value(md: &Metadata<Root>) -> serde_json::Value {
    md.to_value()
}

/// A folder that looks like `/sys` on an air-gapped machine (only loopback).
pub fn offline_sysfs() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let lo = d.path().join("class/net/lo");
    std::fs::create_dir_all(&lo).unwrap();
    std::fs::write(lo.join("operstate"), "unknown\n").unwrap();
    std::fs::write(lo.join("flags"), "0x9\n").unwrap();
    d
}

/// The rootcellar binary with a clean environment for tests.
/// `ROOTCELLAR_TEST_BIN` runs the tests against another build (an older one, to show that a
/// test fails there).
pub fn rootcellar() -> assert_cmd::Command {
    let mut c = match std::env::var_os("ROOTCELLAR_TEST_BIN") {
        Some(b) => assert_cmd::Command::new(b),
        None => assert_cmd::Command::cargo_bin("rootcellar").unwrap(),
    };
    // The operators confirmed the clock (scripts say so with this variable).
    c.env("ROOTCELLAR_CLOCK_OK", "1");
    c.env_remove("ROOTCELLAR_DIR")
        .env_remove("ROOTCELLAR_PASSPHRASE")
        .env_remove("ROOTCELLAR_PIN")
        .env_remove("ROOTCELLAR_ALLOW_ONLINE")
        .env_remove("ROOTCELLAR_SYSFS");
    c
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

pub fn run(mut c: assert_cmd::Command) -> Run {
    let o = c.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

/// `rootcellar verify [args] files`, checked to neither panic nor crash.
pub fn verify(files: &[PathBuf], args: &[&str]) -> Run {
    let mut c = rootcellar();
    c.arg("verify").args(args).args(files);
    let r = run(c);
    assert!(
        r.code == 0 || r.code == 1 || r.code == 2,
        "verify crashed: {} {}",
        r.code,
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    r
}

/// Asserts that verifying `files` is refused with a message containing `why`.
pub fn assert_refused(files: &[PathBuf], why: &str) {
    let r = verify(files, &[]);
    assert_eq!(
        r.code, 1,
        "expected INVALID (exit 1), got {}: {}{}",
        r.code, r.stdout, r.stderr
    );
    assert!(r.stdout.contains("INVALID"), "{}", r.stdout);
    assert!(r.stdout.contains(why), "expected {why:?} in:\n{}", r.stdout);
}

pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

/// A folder of its own for one test, inside a temp dir of its own, so that `path().join("../x")`
/// stays private to the test.
pub struct TestDir {
    _base: tempfile::TempDir,
    path: PathBuf,
}

impl TestDir {
    pub fn new() -> TestDir {
        let base = tempfile::tempdir().unwrap();
        let path = base.path().join("ws");
        std::fs::create_dir(&path).unwrap();
        TestDir { _base: base, path }
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A workspace in a temp folder whose commands run offline (a fake /sys) with the secrets and
/// settings in `env`: what the CLI, SoftHSM2 and YubiKey tests share.
pub struct TestWs {
    pub dir: TestDir,
    pub sys: tempfile::TempDir,
    env: Vec<(&'static str, std::ffi::OsString)>,
}

impl TestWs {
    /// A workspace made by the `init` command `init` (empty: no workspace yet).
    pub fn new(env: Vec<(&'static str, std::ffi::OsString)>, init: &[&str]) -> TestWs {
        let w = TestWs {
            dir: TestDir::new(),
            sys: offline_sysfs(),
            env,
        };
        if !init.is_empty() {
            w.ok(init);
        }
        w
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn cmd(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = rootcellar();
        c.env("ROOTCELLAR_DIR", self.path())
            .env("ROOTCELLAR_SYSFS", self.sys.path());
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c.args(args);
        c
    }
    pub fn run(&self, args: &[&str]) -> Run {
        run(self.cmd(args))
    }
    pub fn ok(&self, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(r.code, 0, "{args:?} failed: {}{}", r.stdout, r.stderr);
        r
    }
    /// Runs a command that must fail with `code` and `msg`, a hint, no panic, and leave every
    /// file and folder of the workspace as it was.
    pub fn refused(&self, args: &[&str], code: i32, msg: &str) -> Run {
        self.refused_with(self.cmd(args), code, msg)
    }
    pub fn refused_with(&self, c: assert_cmd::Command, code: i32, msg: &str) -> Run {
        let before = tree(self.path());
        let r = run(c);
        assert_eq!(
            r.code, code,
            "expected exit {code}: {}{}",
            r.stdout, r.stderr
        );
        assert!(r.stderr.contains(msg), "expected {msg:?} in:\n{}", r.stderr);
        assert!(
            r.stderr.contains("what to do:"),
            "no hint in:\n{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"));
        assert_eq!(before, tree(self.path()), "the workspace changed");
        r
    }
}

/// Every file (with its bytes) and folder below `dir`.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

//! The ceremony workspace: one folder holding the configuration, key records, the staged root
//! and the published roots.
//!
//! ```text
//! rootcellar.toml          format, repository name, default expiry
//! keys/NAME.json           key record: key ID, public key, backend, reference (never a private key in clear)
//! keys/NAME.key.pem        software keys only: encrypted PKCS#8
//! staged/root.json         the version being signed, with the signatures so far
//! metadata/N.root.json     published roots;  metadata/root.json  the latest
//! .lock                    held while a command writes
//! ```
//!
//! Invariants: every write is atomic; a command that writes holds the lock; a refused command
//! leaves every file as it was.

use crate::atomic::{write_atomic, write_new_atomic, write_new_public};
use crate::error::{Error, Result};
use crate::readpath;
use crate::tuf::{Algorithm, Key, PublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "rootcellar.toml";

const TRANSCRIPT_DAMAGED: &str = "run `rootcellar audit verify` to see where; keep the file as evidence, \
     and move it aside (for example to audit.log.damaged) to start a new transcript";

/// The metadata dialect of a workspace: the one place the format is written down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// TUF 1.0, as python-tuf, go-tuf and tough read it.
    Tuf,
    /// Notary v1 / Docker Content Trust for the repository `gun`, the name every root
    /// certificate carries.
    Notary { gun: String },
}

impl Format {
    /// The name written in `rootcellar.toml`.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Tuf => "tuf",
            Format::Notary { .. } => "notary",
        }
    }
}

/// `rootcellar.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(into = "RawConfig")]
pub struct Config {
    pub format: Format,
    /// Repository name of a TUF workspace (informational); a Notary workspace's is its GUN.
    tuf_name: Option<String>,
    /// Default lifetime of a new root version, e.g. "365d".
    pub root_expiry: String,
    /// A demo workspace: keys use light key derivation and a known passphrase.
    pub demo: bool,
    /// Warn when the published root expires within this span (`status`, `root show`).
    pub expiry_warning: String,
    /// Default lifetime of targets metadata written by `delegate`.
    pub targets_expiry: String,
}

/// `rootcellar.toml` as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// Metadata dialect: "tuf" (TUF 1.0) or "notary" (Notary v1 / Docker Content Trust).
    format: String,
    /// Repository name: informational for TUF; for Notary the GUN every root certificate names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    root_expiry: String,
    #[serde(default)]
    demo: bool,
    #[serde(default = "default_warning")]
    expiry_warning: String,
    #[serde(default = "default_targets_expiry")]
    targets_expiry: String,
}

impl From<Config> for RawConfig {
    fn from(c: Config) -> RawConfig {
        RawConfig {
            format: c.format.name().into(),
            name: c.name().map(str::to_string),
            root_expiry: c.root_expiry,
            demo: c.demo,
            expiry_warning: c.expiry_warning,
            targets_expiry: c.targets_expiry,
        }
    }
}

fn default_targets_expiry() -> String {
    "90d".into()
}

fn default_warning() -> String {
    "60d".into()
}

impl Config {
    /// A TUF 1.0 workspace.
    pub fn new(name: Option<String>, demo: bool) -> Config {
        Config {
            format: Format::Tuf,
            tuf_name: name,
            root_expiry: "365d".into(),
            demo,
            expiry_warning: default_warning(),
            targets_expiry: default_targets_expiry(),
        }
    }

    /// A Notary v1 workspace for the repository `gun`, refused when no certificate could name it.
    pub fn notary(gun: &str) -> Result<Config> {
        if gun.is_empty()
            || gun.contains([',', '=', '+', '"', '\\'])
            || crate::text::is_unsafe_name(gun)
        {
            return Err(Error::bad_input(format!(
                "a Notary workspace needs the repository name (GUN) its root certificates will carry; {gun:?} is not one"
            ))
            .hint("--gun docker.io/example/app (the name as Docker shows it)"));
        }
        Ok(Config {
            format: Format::Notary { gun: gun.into() },
            tuf_name: None,
            ..Config::new(None, false)
        })
    }

    /// The repository name: a TUF workspace's (if given), a Notary workspace's GUN.
    pub fn name(&self) -> Option<&str> {
        match &self.format {
            Format::Tuf => self.tuf_name.as_deref(),
            Format::Notary { gun } => Some(gun),
        }
    }

    fn from_raw(raw: RawConfig, cfg: &Path) -> Result<Config> {
        let format = match raw.format.as_str() {
            "tuf" => Format::Tuf,
            "notary" => match raw.name.as_deref().filter(|n| !n.is_empty()) {
                Some(gun) => Format::Notary { gun: gun.into() },
                None => {
                    return Err(Error::bad_input(format!(
                        "{} says format \"notary\" but names no repository (GUN)",
                        cfg.display()
                    ))
                    .hint("add name = \"docker.io/example/app\" (your GUN) to the file"));
                }
            },
            other => {
                return Err(Error::bad_input(format!(
                    "workspace format {other:?} is not known (\"tuf\" or \"notary\")"
                )));
            }
        };
        Ok(Config {
            tuf_name: if format == Format::Tuf {
                raw.name
            } else {
                None
            },
            format,
            root_expiry: raw.root_expiry,
            demo: raw.demo,
            expiry_warning: raw.expiry_warning,
            targets_expiry: raw.targets_expiry,
        })
    }
}

/// Where a key's private half lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Encrypted PKCS#8 file in `keys/` (trials, tests, demo).
    Software,
    /// Public key only: the private half is elsewhere (online keys).
    Public,
    /// On a PKCS#11 token; `reference` is an RFC 7512 URI, `profile` names the HSM profile.
    Pkcs11,
    /// In a YubiKey PIV slot; `reference` is `yubikey:serial=N;slot=9c`.
    Yubikey,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Software => "software",
            Backend::Public => "public",
            Backend::Pkcs11 => "pkcs11",
            Backend::Yubikey => "yubikey",
        }
    }
}

/// `keys/NAME.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    pub name: String,
    pub keyid: String,
    pub algorithm: Algorithm,
    pub key: Key,
    pub backend: Backend,
    /// Backend-specific reference, e.g. `software:NAME.key.pem` or a `pkcs11:` URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    pub created_at: String,
    /// HSM profile (PKCS#11 keys): which module and quirks; never a machine-specific path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// What the token said about the private key when it was generated or added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<crate::signer::pkcs11::KeyAttributes>,
    /// YubiKey keys: device serial, slot, firmware, policies, attestation chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yubikey: Option<crate::signer::yubikey::YubiKeyRecord>,
    /// When the private key was destroyed (`key destroy`); the record stays for history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed_at: Option<String>,
    /// A key imported from a certificate: the certificate (PEM). A Notary root key whose
    /// keyholder is elsewhere comes with the certificate their device signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
}

impl KeyRecord {
    /// A record of `key` under the key ID that is its hash, with no device details yet.
    pub fn new(
        name: &str,
        key: Key,
        algorithm: Algorithm,
        backend: Backend,
        reference: Option<String>,
        created_at: String,
    ) -> KeyRecord {
        KeyRecord {
            name: name.into(),
            keyid: key.keyid(),
            algorithm,
            key,
            backend,
            reference,
            created_at,
            profile: None,
            attributes: None,
            yubikey: None,
            destroyed_at: None,
            certificate: None,
        }
    }

    /// The attestation verdict of a YubiKey key record, or why there is none.
    pub fn attestation(
        &self,
        now: crate::tuf::expiry::Timestamp,
    ) -> Option<crate::signer::attest::Verdict> {
        let rec = self;
        let yk = rec.yubikey.as_ref()?;
        let mut v = crate::signer::attest::Verdict::default();
        let Some(pem) = &yk.attestation else {
            v.problems.push(format!(
                "no attestation: {}",
                yk.attestation_missing.as_deref().unwrap_or("none recorded")
            ));
            return Some(v);
        };
        let (chain, anchors, pk) = match (
            crate::signer::attest::parse_certs(pem.as_bytes()),
            attestation_anchors(),
            rec.public_key(),
        ) {
            (Ok(c), Ok(a), Ok(k)) => (c, a, k),
            (Err(e), _, _) => {
                v.problems
                    .push(format!("the recorded attestation is unreadable: {e}"));
                return Some(v);
            }
            (_, Err(e), _) | (_, _, Err(e)) => {
                v.problems.push(e.message);
                return Some(v);
            }
        };
        // The certificates must have been in force when the key was generated (the record is
        // bound by the transcript); a record without a readable time is checked as of now.
        let at = crate::tuf::expiry::parse_tuf_time(&rec.created_at).unwrap_or(now);
        Some(crate::signer::attest::verify(
            &chain,
            &anchors,
            &pk,
            Some(yk.serial),
            at,
        ))
    }

    pub fn public_key(&self) -> Result<PublicKey> {
        self.key.decode().map_err(|e| {
            Error::bad_input(format!(
                "key record {} holds an unusable key: {e}",
                self.name
            ))
        })
    }
}

/// The pinned Yubico certificates, plus those in the PEM file `ROOTCELLAR_ATTESTATION_ROOTS`
/// (pinned too; a chain through one is "not a Yubico root").
pub fn attestation_anchors() -> Result<Vec<crate::signer::attest::Anchor>> {
    let mut out = crate::signer::attest::builtin_anchors();
    if let Some(p) = std::env::var_os("ROOTCELLAR_ATTESTATION_ROOTS") {
        let p = std::path::PathBuf::from(p);
        let bytes = readpath::read(&p, readpath::Kind::Small)?;
        out.extend(crate::signer::attest::user_anchors(
            crate::signer::attest::parse_certs(&bytes).map_err(|e| {
                Error::bad_input(format!("{}: {e}", p.display()))
                    .hint("give a PEM file of root certificates")
            })?,
        ));
    }
    Ok(out)
}

pub struct Workspace {
    pub dir: PathBuf,
    pub config: Config,
    /// Whether the files hold to the transcript's bindings, checked once per command (before it
    /// writes: what it writes afterwards is its own).
    bound: std::cell::OnceCell<Result<()>>,
    /// The interrupted operation this command finishes (`resume_interrupted`): the files its
    /// transcript line binds may still be missing.
    resuming: std::cell::RefCell<Option<serde_json::Value>>,
}

/// Held while a command writes; released on drop.
pub struct WorkspaceLock {
    _file: File,
}

/// The number of single-character insertions, deletions and substitutions from `a` to `b`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

/// The environment variable that holds key `name`'s passphrase for scripts:
/// `ROOTCELLAR_PASSPHRASE_<NAME>`, the name upper-cased, `.` and `-` as `_`.
pub fn passphrase_var(name: &str) -> String {
    let n: String = (name.chars())
        .map(|c| match c {
            '.' | '-' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    format!("ROOTCELLAR_PASSPHRASE_{n}")
}

pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(
            Error::bad_input(format!("key name {name:?} is not allowed")).hint(
                "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            ),
        )
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|e| Error::io("read", path, &e))
}

pub fn digest_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Workspace {
    /// Creates a workspace in `dir` (which may exist but must not hold one already).
    pub fn init(dir: &Path, config: Config) -> Result<Workspace> {
        crate::atomic::create_private_dir(dir)?;
        let cfg = dir.join(CONFIG_FILE);
        if cfg.exists() {
            return Err(Error::refused(format!(
                "{} is already a rootcellar workspace",
                dir.display()
            ))
            .hint("use it as it is, or choose another folder with --dir"));
        }
        for sub in ["keys", "staged", "metadata"] {
            crate::atomic::create_private_dir(&dir.join(sub))?;
        }
        write_atomic(&dir.join(".lock"), b"")?;
        let text = toml::to_string(&config).map_err(|e| Error::environment(e.to_string()))?;
        write_new_atomic(&cfg, text.as_bytes())?;
        Ok(Workspace {
            dir: dir.to_path_buf(),
            config,
            bound: std::cell::OnceCell::new(),
            resuming: std::cell::RefCell::new(None),
        })
    }

    /// Opens the workspace in `dir`.
    pub fn open(dir: &Path) -> Result<Workspace> {
        let cfg = dir.join(CONFIG_FILE);
        if !cfg.exists() {
            return Err(Error::bad_input(format!(
                "{} is not a rootcellar workspace (no {CONFIG_FILE})",
                dir.display()
            ))
            .hint(
                "run `rootcellar init` there, or point --dir (or ROOTCELLAR_DIR) at your workspace",
            ));
        }
        let text = String::from_utf8(read(&cfg)?)
            .map_err(|_| Error::bad_input(format!("{} is not UTF-8", cfg.display())))?;
        let raw: RawConfig = toml::from_str(&text).map_err(|e| {
            Error::bad_input(format!(
                "{} is not a valid configuration: {e}",
                cfg.display()
            ))
            .hint("fix the file by hand or restore it")
        })?;
        let config = Config::from_raw(raw, &cfg)?;
        Ok(Workspace {
            dir: dir.to_path_buf(),
            config,
            bound: std::cell::OnceCell::new(),
            resuming: std::cell::RefCell::new(None),
        })
    }

    /// Takes the workspace lock, or says who has it; refuses files that are not what the
    /// transcript recorded.
    pub fn lock(&self) -> Result<WorkspaceLock> {
        let lock = self.lock_only()?;
        self.check_bound()?;
        Ok(lock)
    }

    /// The workspace lock (the transcript's chain checked, the files not): for `audit
    /// re-anchor`, which records the files as they are.
    pub fn lock_only(&self) -> Result<WorkspaceLock> {
        let p = self.dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| Error::io("open", &p, &e))?;
        match file.try_lock() {
            Ok(()) => {
                // Temp files left by a crashed command: no other rootcellar writes here now.
                for sub in ["", "keys", "staged", "metadata"] {
                    crate::atomic::remove_stale_temps(&self.dir.join(sub));
                }
                // A damaged transcript stops every writing command before it writes anything,
                // and so do files that are not what the transcript recorded.
                self.transcript()?;
                Ok(WorkspaceLock { _file: file })
            }
            Err(fs::TryLockError::WouldBlock) => Err(Error::environment(format!(
                "another rootcellar command is using the workspace {}",
                self.dir.display()
            ))
            .hint("wait for it to finish, then run this command again")),
            Err(fs::TryLockError::Error(e)) => Err(Error::io("lock", &p, &e)),
        }
    }

    /// Refuses a clock (`now`) that runs behind the newest time the workspace recorded (its
    /// transcript's last line, its key records): metadata signed now would carry wrong dates.
    pub fn refuse_clock_behind(&self, now: crate::tuf::expiry::Timestamp) -> Result<()> {
        use crate::tuf::expiry::{format_tuf_time, parse_tuf_time};
        let mut newest: Option<(crate::tuf::expiry::Timestamp, String)> = None;
        let mut consider = |t: &str, what: String| {
            if let Ok(t) = parse_tuf_time(t)
                && newest.as_ref().is_none_or(|(n, _)| t > *n)
            {
                newest = Some((t, what));
            }
        };
        if let Some(e) = self.transcript()?.entries.last() {
            consider(
                &e.time,
                format!("line {} of the transcript ({})", e.seq, e.action),
            );
        }
        for r in self.keys()? {
            consider(&r.created_at, format!("the record of key {}", r.name));
        }
        match newest {
            Some((t, what)) if now < t => Err(Error::environment(format!(
                "this machine's clock says {}, but the workspace already recorded {} in {what}: the clock runs behind, and metadata signed now would carry wrong dates",
                format_tuf_time(now),
                format_tuf_time(t)
            ))
            .hint("set the clock to the right UTC time (compare with a watch or phone kept offline), then run the command again; nothing was signed")),
            _ => Ok(()),
        }
    }

    pub fn transcript_path(&self) -> PathBuf {
        self.dir.join(crate::audit::FILE)
    }

    /// The transcript's text ("" when there is none yet).
    pub fn transcript_text(&self) -> Result<String> {
        let p = self.transcript_path();
        match fs::read(&p) {
            Ok(b) => String::from_utf8(b).map_err(|_| {
                Error::refused(format!("the transcript {} is not UTF-8", p.display()))
                    .hint(TRANSCRIPT_DAMAGED)
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(Error::io("read", &p, &e)),
        }
    }

    /// The transcript, its chain checked line by line (seals are checked by `audit verify`).
    pub fn transcript(&self) -> Result<crate::audit::Checked> {
        self.transcript_with_text().map(|(c, _)| c)
    }

    /// The detail of the last transcript line with `action` whose detail has `field` equal to
    /// `value` (e.g. the last `key-generated` line of a key name).
    pub fn last_line(
        &self,
        action: &str,
        field: &str,
        value: &str,
    ) -> Result<Option<serde_json::Value>> {
        Ok(self
            .transcript()?
            .entries
            .into_iter()
            .rev()
            .find(|e| {
                e.action == action && e.detail.get(field).and_then(|v| v.as_str()) == Some(value)
            })
            .map(|e| e.detail))
    }

    /// `text` with each full key ID in it given as the name of the key recorded under it and
    /// the ID's first 12 digits (an operator reads names, not 64 hex digits).
    pub fn name_key_ids(&self, text: &str) -> String {
        let records = self.keys().unwrap_or_default();
        let mut out = String::new();
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if word.len() == 64 {
                let short = &word[..12];
                match records.iter().find(|r| r.keyid == *word) {
                    Some(r) => out.push_str(&format!("{} ({short})", r.name)),
                    None => out.push_str(&format!("{short}…")),
                }
            } else {
                out.push_str(word);
            }
            word.clear();
        };
        for c in text.chars() {
            if c.is_ascii_hexdigit() {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }

    /// The transcript checked, with its text (to add to it).
    pub fn transcript_with_text(&self) -> Result<(crate::audit::Checked, String)> {
        let text = self.transcript_text()?;
        let checked = crate::audit::check(&text).map_err(|b| {
            Error::refused(format!(
                "the transcript {} is damaged at {b}",
                self.transcript_path().display()
            ))
            .hint(TRANSCRIPT_DAMAGED)
        })?;
        Ok((checked, text))
    }

    pub fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }

    fn key_path(&self, name: &str) -> PathBuf {
        self.keys_dir().join(format!("{name}.json"))
    }

    /// Path of a software key's encrypted private key file.
    pub fn software_key_path(&self, reference: &str) -> Result<PathBuf> {
        let file = reference
            .strip_prefix("software:")
            .filter(|f| !f.contains('/') && !f.contains('\\') && !f.starts_with('.'))
            .ok_or_else(|| {
                Error::bad_input(format!("software key reference {reference:?} is malformed"))
            })?;
        Ok(self.keys_dir().join(file))
    }

    /// All key records, sorted by name, each the one the transcript registered.
    pub fn keys(&self) -> Result<Vec<KeyRecord>> {
        self.check_bound()?;
        self.keys_unchecked()
    }

    /// All key records as the files hold them.
    fn keys_unchecked(&self) -> Result<Vec<KeyRecord>> {
        let dir = self.keys_dir();
        let rd = fs::read_dir(&dir).map_err(|e| Error::io("list", &dir, &e))?;
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| Error::io("list", &dir, &e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            out.push(self.read_key_record(&entry.path())?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_key_record(&self, path: &Path) -> Result<KeyRecord> {
        let damaged = |why: String| {
            Error::bad_input(format!("key record {} is damaged: {why}", path.display()))
                .hint("restore it from your backup, or remove it and register the key again")
        };
        let v = crate::tuf::json::parse_strict(&read(path)?).map_err(|e| damaged(e.to_string()))?;
        let rec: KeyRecord = serde_json::from_value(v).map_err(|e| damaged(e.to_string()))?;
        // Keys rootcellar registers carry the hash of their key object as ID; a public key taken
        // over from an adopted history keeps the label that history gave it.
        if rec.key.keyid() != rec.keyid && rec.backend != Backend::Public {
            return Err(damaged(format!(
                "its keyid {} is not the hash of its key",
                rec.keyid
            )));
        }
        rec.key.decode().map_err(|e| damaged(e.to_string()))?;
        if path.file_name().map(|f| f.to_string_lossy().to_string())
            != Some(format!("{}.json", rec.name))
        {
            return Err(damaged(format!(
                "it names the key {:?}, not its file name",
                rec.name
            )));
        }
        Ok(rec)
    }

    /// A key by name, full key ID, or a unique key ID prefix of at least 8 hex digits.
    pub fn resolve_key(&self, k: &str) -> Result<KeyRecord> {
        let keys = self.keys()?;
        if let Some(r) = keys.iter().find(|r| r.name == k) {
            return Ok(r.clone());
        }
        let lower = k.to_ascii_lowercase();
        let is_hex = lower.len() >= 8 && lower.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hex {
            let hits: Vec<&KeyRecord> = keys
                .iter()
                .filter(|r| r.keyid.starts_with(&lower))
                .collect();
            match hits.as_slice() {
                [one] => return Ok((*one).clone()),
                [] => {}
                many => {
                    let names: Vec<&str> = many.iter().map(|r| r.name.as_str()).collect();
                    return Err(Error::bad_input(format!(
                        "key ID prefix {k} matches several keys: {}",
                        names.join(", ")
                    ))
                    .hint("give more digits of the key ID, or the key's name"));
                }
            }
        }
        // A name a keystroke or two away: "did you mean bob?".
        let near = (keys.iter())
            .map(|r| (edit_distance(&r.name.to_lowercase(), &lower), &r.name))
            .filter(|(d, _)| *d <= 2)
            .min();
        Err(Error::bad_input(format!(
            "no key named {k:?}{} in {}{}",
            if is_hex { " or with that key ID" } else { "" },
            self.dir.display(),
            near.map(|(_, n)| format!(": did you mean {n}?"))
                .unwrap_or_default()
        ))
        .hint("`rootcellar key list` shows the keys; a key ID prefix needs at least 8 hex digits"))
    }

    /// The record whose key ID is `keyid`, if any.
    pub fn key_by_id(&self, keyid: &str) -> Result<Option<KeyRecord>> {
        Ok(self.keys()?.into_iter().find(|r| r.keyid == keyid))
    }

    /// Refuses a new record whose name or public key is already registered.
    pub fn check_new_key(&self, name: &str, key: &Key) -> Result<()> {
        check_name(name)?;
        let pk = key.decode().map_err(|e| Error::bad_input(e.to_string()))?;
        for r in self.keys()? {
            if r.name == name {
                return Err(
                    Error::refused(format!("a key named {name:?} exists already"))
                        .hint("choose another name"),
                );
            }
            if passphrase_var(&r.name) == passphrase_var(name) {
                return Err(Error::refused(format!(
                    "key {name:?} would share {} with key {:?}",
                    passphrase_var(name),
                    r.name
                ))
                .hint("choose a name that differs from it in more than case, '.' or '-'"));
            }
            if r.public_key()?.identity() == pk.identity() {
                return Err(Error::refused(format!(
                    "this public key is registered already, as {:?} ({})",
                    r.name, r.keyid
                ))
                .hint("one key cannot stand for two keyholders: it would fake a threshold. Use the existing name"));
            }
        }
        Ok(())
    }

    /// Replaces an existing key record.
    pub fn update_key_record(&self, rec: &KeyRecord) -> Result<()> {
        let mut bytes =
            serde_json::to_vec_pretty(rec).map_err(|e| Error::environment(e.to_string()))?;
        bytes.push(b'\n');
        write_atomic(&self.key_path(&rec.name), &bytes)
    }

    /// Registers a device key. When a public-only record (e.g. adopted) holds the same public
    /// key, the device record takes it over: same name, and the key object and key ID exactly
    /// as the root lists them. Returns the name used and whether a record was taken over.
    pub fn add_or_take_over(&self, mut rec: KeyRecord) -> Result<(KeyRecord, bool)> {
        let pk = rec.public_key()?;
        for r in self.keys()? {
            if r.backend == Backend::Public && r.public_key()?.identity() == pk.identity() {
                rec.name = r.name.clone();
                rec.key = r.key.clone();
                rec.keyid = r.keyid.clone();
                self.update_key_record(&rec)?;
                return Ok((rec, true));
            }
        }
        self.check_new_key(&rec.name, &rec.key)?;
        self.add_key_record(&rec)?;
        Ok((rec, false))
    }

    /// Writes a new key record (never replacing one).
    pub fn add_key_record(&self, rec: &KeyRecord) -> Result<()> {
        let mut bytes =
            serde_json::to_vec_pretty(rec).map_err(|e| Error::environment(e.to_string()))?;
        bytes.push(b'\n');
        write_new_atomic(&self.key_path(&rec.name), &bytes)
    }

    fn staged_path(&self) -> PathBuf {
        self.dir.join("staged/root.json")
    }

    /// The staged root's file, unchecked.
    fn staged_files(&self) -> Result<Option<Vec<u8>>> {
        readpath::read_existing(&self.staged_path(), readpath::Kind::Metadata)
    }

    /// The staged root's file, and the digest of its signed part if the transcript recorded
    /// it — or why not (the dialect reads the root and reports either). The transcript is the
    /// authority: it records a staging before the file is written, so the root staged before
    /// it is accepted while that line is the last.
    #[allow(clippy::type_complexity)]
    pub fn staged_raw(&self) -> Result<Option<(Vec<u8>, std::result::Result<String, String>)>> {
        let Some(bytes) = self.staged_files()? else {
            return Ok(None);
        };
        let b = self.bindings()?;
        let digest = match crate::tuf::canonical::signed_digest(&bytes) {
            None => Err("it is not a metadata file".to_string()),
            Some(d)
                if b.staged.as_ref() == Some(&d)
                    || (b.staged.is_none() && b.last_published.as_ref() == Some(&d))
                    || b.staged_before
                        .as_ref()
                        .is_some_and(|x| x.as_ref() == Some(&d)) =>
            {
                Ok(d)
            }
            Some(d) => Err(format!(
                "its digest {} is not the one the transcript recorded ({})",
                d.get(..16).unwrap_or("?"),
                b.staged
                    .as_ref()
                    .and_then(|r| r.get(..16))
                    .unwrap_or("nothing staged")
            )),
        };
        Ok(Some((bytes, digest)))
    }

    /// Writes the staged root file (its digest is in the transcript, recorded before).
    pub fn write_staged_raw(&self, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.staged_path(), bytes)?;
        // A cache older rootcellars kept; the transcript holds the digest now.
        let old = self.dir.join("staged/state.json");
        if old.exists() {
            fs::remove_file(&old).map_err(|e| Error::io("remove", &old, &e))?;
        }
        Ok(())
    }

    /// The published files of `role` (`root` or `targets`) as they are: `(version, bytes)` in
    /// version order, links and anything but regular files left out.
    fn metadata_files(&self, role: &str) -> Result<Vec<(u64, Vec<u8>)>> {
        let suffix = format!(".{role}.json");
        let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
        for (name, path, dir) in readpath::entries(&self.metadata_dir())? {
            if let Some(v) = name
                .strip_suffix(&suffix)
                .and_then(|n| n.parse::<u64>().ok())
                .filter(|_| !dir)
            {
                out.push((v, readpath::read(&path, readpath::Kind::Metadata)?));
            }
        }
        out.sort_by_key(|(v, _)| *v);
        Ok(out)
    }

    /// The published root files `(version, bytes)`, in order from the first kept version,
    /// unparsed (the caller reads them in the workspace's dialect); each one the transcript
    /// recorded.
    pub fn published_files(&self) -> Result<Vec<(u64, Vec<u8>)>> {
        self.check_bound()?;
        self.published_files_unchecked()
    }

    /// The published root files as they are, whatever the transcript says (for `audit
    /// re-anchor`, which verifies them as a chain before it records them).
    pub fn published_files_unchecked(&self) -> Result<Vec<(u64, Vec<u8>)>> {
        let mut out: Vec<(u64, Vec<u8>)> = Vec::new();
        for (v, b) in self.metadata_files("root")? {
            if out.last().is_some_and(|(l, _)| l.checked_add(1) != Some(v)) {
                break;
            }
            out.push((v, b));
        }
        Ok(out)
    }

    /// Writes `N.root.json` (new, or already holding these bytes) and `root.json`.
    pub fn publish_raw(&self, version: u64, bytes: &[u8]) -> Result<(PathBuf, PathBuf)> {
        self.publish_role_raw("root", version, bytes)
    }

    /// Writes `N.ROLE.json` (new, or already holding these bytes) and `ROLE.json` for `root` or
    /// `targets`, in whatever dialect the caller checked them in; public files (0644).
    pub fn publish_role_raw(
        &self,
        role: &str,
        version: u64,
        bytes: &[u8],
    ) -> Result<(PathBuf, PathBuf)> {
        let versioned = self.metadata_dir().join(format!("{version}.{role}.json"));
        let latest = self.metadata_dir().join(format!("{role}.json"));
        match readpath::read_existing(&versioned, readpath::Kind::Metadata)? {
            Some(b) if b == bytes => {}
            Some(_) => {
                return Err(Error::refused(format!(
                    "{} exists with other contents",
                    versioned.display()
                ))
                .hint("rootcellar never overwrites published metadata"));
            }
            None => crate::atomic::write_new_public(&versioned, bytes)?,
        }
        crate::atomic::write_public(&latest, bytes)?;
        Ok((versioned, latest))
    }

    /// The published `targets.json`, unparsed, if any.
    pub fn targets_raw(&self) -> Result<Option<Vec<u8>>> {
        self.check_bound()?;
        readpath::read_existing(
            &self.metadata_dir().join("targets.json"),
            readpath::Kind::Metadata,
        )
    }

    /// What the transcript binds now.
    pub fn bindings(&self) -> Result<crate::audit::Bindings> {
        Ok(self.transcript()?.bindings())
    }

    /// Checks the workspace's files against the transcript, the authority: every key record is
    /// the one the transcript registered under its name; every published file is one a
    /// publish, adopt or import line recorded, byte for byte, and none it recorded is missing;
    /// `root.json` and `targets.json` are the newest. A transcript that records none of this
    /// (missing, or written before rootcellar did) is refused until `audit re-anchor`.
    pub fn check_bound(&self) -> Result<()> {
        self.bound.get_or_init(|| self.compute_bound()).clone()
    }

    fn compute_bound(&self) -> Result<()> {
        let t = self.transcript()?;
        let b = t.bindings();
        let redo = "check the workspace (`rootcellar audit verify`, `rootcellar verify`), restore what was changed from your backup or export; if every file is as it should be, record it with `rootcellar audit re-anchor`";
        if !b.binding {
            return Err(Error::refused(format!(
                "the transcript {} does not record what this workspace holds (it is missing, or older than this rootcellar)",
                self.transcript_path().display()
            ))
            .hint(redo));
        }
        // An operation that recorded its intent and was interrupted before it wrote all it
        // binds: only that operation, run again, may go on (it writes the rest).
        let resuming = self.resuming.borrow().is_some();
        for (action, again) in [
            ("adopt", "`rootcellar adopt SOURCE`"),
            ("import-qr", "`rootcellar import qr FILE…`"),
            ("notary-import", "`rootcellar import notary DIR`"),
            (
                "targets-published",
                "`rootcellar delegate …` (any delegate command)",
            ),
        ] {
            if !resuming && let Some(d) = self.interrupted_in(&t, action)? {
                return Err(Error::refused(format!(
                    "the {action} of {} was interrupted: the transcript records it, but not all of its files are written",
                    d.get("source").and_then(|v| v.as_str()).unwrap_or("?")
                ))
                .hint(format!("run the same {again} again to finish it")));
            }
        }
        for r in self.keys_unchecked()? {
            match b.keys.get(&r.name) {
                Some(id) if *id == r.keyid => {}
                Some(id) => {
                    return Err(Error::refused(format!(
                        "key record {} holds key ID {}, but the transcript registered {} under that name: the record was changed outside rootcellar",
                        r.name, r.keyid, id
                    ))
                    .hint(redo));
                }
                None => {
                    return Err(Error::refused(format!(
                        "key record {} was registered by no command the transcript records",
                        r.name
                    ))
                    .hint(redo));
                }
            }
        }
        // A publish interrupted after writing N.root.json, before its transcript line: the
        // staged root (the one recorded) is what it wrote.
        let interrupted = self.staged_files()?.filter(|bytes| {
            b.staged.is_some() && crate::tuf::canonical::signed_digest(bytes) == b.staged
        });
        for role in ["root", "targets"] {
            let files = self.metadata_files(role)?;
            for (v, bytes) in &files {
                let name = format!("metadata/{v}.{role}.json");
                match b.files.get(&(role.to_string(), *v)) {
                    Some(sha) if *sha == digest_hex(bytes) => {}
                    Some(sha) => {
                        return Err(Error::refused(format!(
                            "{name} was changed after it was published: its SHA-256 is {}, the transcript recorded {}",
                            &digest_hex(bytes)[..16],
                            sha.get(..16).unwrap_or("?")
                        ))
                        .hint(redo));
                    }
                    None if role == "root" && interrupted.as_ref() == Some(bytes) => {}
                    None => {
                        return Err(Error::refused(format!(
                            "{name} was published by no command the transcript records"
                        ))
                        .hint(redo));
                    }
                }
            }
            for (r, v) in b.files.keys().filter(|(r, _)| r == role && !resuming) {
                if !files.iter().any(|(x, _)| x == v) {
                    return Err(Error::refused(format!(
                        "metadata/{v}.{r}.json is missing: the transcript recorded its publication"
                    ))
                    .hint(redo));
                }
            }
            let latest = self.metadata_dir().join(format!("{role}.json"));
            let newest: Vec<&Vec<u8>> = files.iter().rev().take(1).map(|(_, b)| b).collect();
            match readpath::read_existing(&latest, readpath::Kind::Metadata)? {
                None if files.is_empty() || resuming => {}
                Some(l) if newest.first() == Some(&&l) => {}
                // Written before N.root.json by an interrupted publish: the one before.
                Some(l)
                    if interrupted.is_some()
                        && files.iter().rev().nth(1).is_some_and(|(_, b)| *b == l) => {}
                // The interrupted operation this command finishes writes it.
                _ if resuming => {}
                _ => {
                    return Err(Error::refused(format!(
                        "metadata/{role}.json is not the newest published version ({}.{role}.json)",
                        files.last().map(|(v, _)| *v).unwrap_or(0)
                    ))
                    .hint(redo));
                }
            }
        }
        Ok(())
    }

    /// What the workspace holds now, as `audit re-anchor` records it: key records (name → key
    /// ID) and published files (role, version, SHA-256), unchecked.
    #[allow(clippy::type_complexity)]
    pub fn holdings(&self) -> Result<(Vec<(String, String)>, Vec<(String, u64, String)>)> {
        let keys = self
            .keys_unchecked()?
            .into_iter()
            .map(|r| (r.name, r.keyid))
            .collect();
        let mut files = Vec::new();
        for role in ["root", "targets"] {
            for (v, b) in self.metadata_files(role)? {
                files.push((role.to_string(), v, digest_hex(&b)));
            }
        }
        Ok((keys, files))
    }

    /// The staged root's bytes, unchecked (for `audit re-anchor`).
    pub fn staged_unchecked(&self) -> Result<Option<Vec<u8>>> {
        self.staged_files()
    }

    /// Drops the staged root. Returns whether there was one.
    pub fn discard_staged(&self) -> Result<bool> {
        let p = self.staged_path();
        let existed = p.exists();
        for f in [p, self.dir.join("staged/state.json")] {
            if f.exists() {
                fs::remove_file(&f).map_err(|e| Error::io("remove", &f, &e))?;
            }
        }
        Ok(existed)
    }

    fn metadata_dir(&self) -> PathBuf {
        self.dir.join("metadata")
    }

    /// Paths of the published files.
    /// When the transcript's last line is `action` (an operation that records its intent before
    /// it writes) and not every file and key record it binds is there: its detail. The
    /// operation was interrupted.
    pub fn interrupted(&self, action: &str) -> Result<Option<serde_json::Value>> {
        self.interrupted_in(&self.transcript()?, action)
    }

    /// As [`Workspace::interrupted`], in the transcript `t` already read.
    fn interrupted_in(
        &self,
        t: &crate::audit::Checked,
        action: &str,
    ) -> Result<Option<serde_json::Value>> {
        let Some(e) = t.entries.last().filter(|e| e.action == action) else {
            return Ok(None);
        };
        let d = &e.detail;
        let list = |k: &str| {
            d.get(k)
                .and_then(|v| v.as_array())
                .cloned()
                .unwrap_or_default()
        };
        let file_missing = list("files").iter().any(|f| {
            let role = f.get("role").and_then(|r| r.as_str()).unwrap_or("root");
            f.get("version").and_then(|v| v.as_u64()).is_some_and(|v| {
                !self
                    .metadata_dir()
                    .join(format!("{v}.{role}.json"))
                    .exists()
            })
        });
        let key_missing = list("key_names").iter().any(|k| {
            k.get("key")
                .and_then(|n| n.as_str())
                .is_some_and(|n| !self.key_path(n).exists())
        });
        // metadata/ROLE.json must hold the newest file of that role the line binds.
        let read = |name: String| {
            readpath::read_existing(&self.metadata_dir().join(name), readpath::Kind::Metadata)
        };
        let mut latest_stale = false;
        for role in ["root", "targets"] {
            let newest = (list("files").iter())
                .filter(|f| f.get("role").and_then(|r| r.as_str()).unwrap_or("root") == role)
                .filter_map(|f| f.get("version")?.as_u64())
                .max();
            if let Some(v) = newest {
                let latest = read(format!("{role}.json"))?;
                latest_stale |= latest.is_none() || latest != read(format!("{v}.{role}.json"))?;
            }
        }
        Ok((file_missing || key_missing || latest_stale).then(|| d.clone()))
    }

    /// As [`Workspace::interrupted`], for the command that finishes it: from now on the files
    /// that line binds may be missing (this command writes them).
    pub fn resume_interrupted(&self, action: &str) -> Result<Option<serde_json::Value>> {
        let d = self.interrupted(action)?;
        self.resuming.replace(d.clone());
        Ok(d)
    }

    /// The interrupted operation this command resumes (see `resume_interrupted`).
    pub fn resuming(&self) -> Option<serde_json::Value> {
        self.resuming.borrow().clone()
    }

    /// The public-key records `adopt` makes for the keys of `root`: named after a tuf-on-ci
    /// key owner, or role and key ID; a key already registered with the same key ID and key
    /// object (e.g. by an adopt that was interrupted) keeps its record and name; one whose
    /// public key is registered otherwise is left out.
    pub fn adopted_key_records(
        &self,
        root: &crate::tuf::Root,
        now: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<KeyRecord>> {
        let existing = self.keys_unchecked()?;
        let mut taken: Vec<String> = existing.iter().map(|r| r.name.clone()).collect();
        let mut out = Vec::new();
        for (keyid, key) in &root.keys {
            let short: String = keyid.chars().take(12).collect();
            if &key.keyid() != keyid {
                warnings.push(format!("key {short} is listed under an ID that is not its hash: registered under that ID, as the history lists it (python-tuf and go-tuf take key IDs as labels; clients built on tough refuse such a root)"));
            }
            let Ok(pk) = key.decode() else {
                warnings.push(format!("key {short}: unsupported type, not registered"));
                continue;
            };
            if let Some(r) = existing.iter().find(|r| &r.keyid == keyid && &r.key == key) {
                out.push(r.clone());
                continue;
            }
            let role = (root.roles.iter())
                .find(|(_, r)| r.keyids.contains(keyid))
                .map_or("key", |(n, _)| n.as_str());
            let owner = key
                .extra
                .get("x-tuf-on-ci-keyowner")
                .and_then(|v| v.as_str());
            let base = key_name(owner, role, keyid);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            check_name(&name)?;
            if existing
                .iter()
                .any(|r| r.public_key().is_ok_and(|p| p.identity() == pk.identity()))
            {
                continue;
            }
            // The record keeps the key exactly as the root lists it (extra fields included),
            // so its key ID is the root's.
            out.push(KeyRecord {
                keyid: keyid.clone(),
                ..KeyRecord::new(
                    &name,
                    key.clone(),
                    pk.algorithm(),
                    Backend::Public,
                    None,
                    now.into(),
                )
            });
            taken.push(name);
        }
        Ok(out)
    }

    /// Moves `path` (a private key file) to `path.interrupted-<unix time>` when no key record
    /// refers to it; returns where. A crashed `key generate` leaves such a file.
    pub fn set_aside_orphan(&self, path: &Path) -> Result<Option<PathBuf>> {
        if !path.exists() {
            return Ok(None);
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let used = self
            .keys_unchecked()?
            .iter()
            .any(|r| r.reference.as_deref() == Some(&format!("software:{name}")));
        if used {
            return Ok(None);
        }
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let aside = path.with_file_name(format!("{name}.interrupted-{secs}"));
        crate::atomic::rename_synced(path, &aside)?;
        Ok(Some(aside))
    }

    /// Writes key record `rec` unless a record of that name with that key ID is there already.
    pub fn add_key_record_once(&self, rec: &KeyRecord) -> Result<()> {
        let p = self.key_path(&rec.name);
        if p.exists() && self.read_key_record(&p)?.keyid == rec.keyid {
            return Ok(());
        }
        self.add_key_record(rec)
    }

    /// The bytes of `metadata/N.ROLE.json`, if it is there (unchecked: for finishing an
    /// interrupted publication).
    pub fn metadata_file(&self, role: &str, version: u64) -> Result<Option<Vec<u8>>> {
        readpath::read_existing(
            &self.metadata_dir().join(format!("{version}.{role}.json")),
            readpath::Kind::Metadata,
        )
    }

    /// Writes `N.root.json` (never over another file), unless it holds `bytes` already.
    pub fn write_published_once(&self, version: u64, bytes: &[u8]) -> Result<()> {
        let (p, _) = self.published_paths(version);
        match readpath::read_existing(&p, readpath::Kind::Metadata)? {
            Some(b) if b == bytes => Ok(()),
            _ => write_new_public(&p, bytes),
        }
    }

    pub fn published_paths(&self, version: u64) -> (PathBuf, PathBuf) {
        (
            self.metadata_dir().join(format!("{version}.root.json")),
            self.metadata_dir().join("root.json"),
        )
    }
}

fn key_name(owner: Option<&str>, role: &str, keyid: &str) -> String {
    let clean: String = owner
        .unwrap_or("")
        .trim_start_matches('@')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let clean = clean
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    if clean.is_empty() {
        // A key ID is a label from the file: only its letters and digits go into a name.
        let id: String = keyid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect();
        let role: String = role
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(32)
            .collect();
        format!("{role}-{}", if id.is_empty() { "key" } else { &id })
    } else {
        clean.chars().take(48).collect()
    }
}

#[cfg(test)]
mod near_names {
    use super::edit_distance;

    #[test]
    fn edit_distance_counts_single_character_edits() {
        assert_eq!(edit_distance("bob", "bob"), 0);
        assert_eq!(edit_distance("bop", "bob"), 1);
        assert_eq!(edit_distance("bo", "bob"), 1);
        assert_eq!(edit_distance("alcie", "alice"), 2);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}

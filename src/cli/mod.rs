//! The command line: parse, prompt, call an operation, print. Nothing else happens here.

mod output;
mod prompt;
mod qrview;

use crate::error::{Error, Result};
use crate::ops::{self, Context, GuardMode};
use crate::tuf::Algorithm;
use crate::tuf::expiry::{Timestamp, parse_user_time};
use clap::{Args, CommandFactory, Parser, Subcommand};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "rootcellar",
    version,
    about = "Keeps the root of trust of a TUF / Docker Content Trust repository offline and in hardware"
)]
pub struct Cli {
    /// The ceremony workspace.
    #[arg(long, global = true, env = "ROOTCELLAR_DIR", value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Print the result as JSON (shape in docs/cli.md).
    #[arg(long, global = true)]
    json: bool,
    /// Run even though the machine is online (a dry run: never for a real root).
    #[arg(long, global = true, env = "ROOTCELLAR_ALLOW_ONLINE", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    allow_online: bool,
    /// Read the passphrase or PIN from the first line of FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pin_file: Option<PathBuf>,
    /// PKCS#11 module to load instead of the profile's (a path).
    #[arg(
        long,
        global = true,
        env = "ROOTCELLAR_PKCS11_MODULE",
        value_name = "PATH"
    )]
    module: Option<PathBuf>,
    /// Proceed where rootcellar refuses for safety: a PIN on its final try, or a root key its
    /// token does not vouch for (extractable, or not generated on the token).
    #[arg(long, global = true)]
    force: bool,
    /// Use a YubiKey's factory-default management key (never tried otherwise).
    #[arg(long, global = true)]
    default_management_key: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a ceremony workspace.
    Init {
        /// Repository name (the GUN, for Docker Content Trust).
        #[arg(long, alias = "gun")]
        name: Option<String>,
        /// Metadata dialect of the workspace: tuf (TUF 1.0) or notary (Notary v1 / Docker
        /// Content Trust; needs --gun).
        #[arg(long, default_value = "tuf", value_parser = ["tuf", "notary"])]
        format: String,
    },
    /// Generate, import and list keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Stage, edit, show and discard the next root.
    #[command(subcommand)]
    Root(RootCommand),
    /// Sign the staged root, or a signing request file brought from elsewhere.
    Sign {
        /// Key name, key ID, or a unique key ID prefix (8+ hex digits). Repeat for several.
        #[arg(long = "key", value_name = "K", required = true)]
        keys: Vec<String>,
        /// A signing request (root file) to sign in place, instead of the staged root.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Write only the signature to OUT (with the digest of what it signs), for transport.
        #[arg(long, value_name = "OUT")]
        detached: Option<PathBuf>,
    },
    /// Merge signed requests and detached signatures into the staged root (or --out FILE).
    Merge {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Stage the next root with ROLE's key OLD replaced by NEW.
    Rotate {
        role: String,
        #[arg(long, value_name = "K")]
        old: String,
        #[arg(long, value_name = "K")]
        new: String,
    },
    /// Stage the next root without key K in any role.
    Revoke {
        key: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Stage the next root with the same keys and a new expiry.
    Refresh {
        #[arg(long)]
        expires: Option<String>,
    },
    /// What is published, what is staged, who still has to sign, expiry warnings.
    Status,
    /// Copy the published roots to a folder (USB stick) with SHA256SUMS, or show them as QR frames.
    Export(ExportArgs),
    /// Bring metadata back in.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Signing requests that travel with the root they follow.
    #[command(subcommand)]
    Request(RequestCommand),
    /// Continue an existing TUF root history: verify DIR's N.root.json files, copy them, register their keys.
    Adopt {
        /// The folder holding the history's N.root.json files.
        #[arg(value_name = "DIR")]
        source: PathBuf,
        /// Start at version N (histories whose first versions TUF 1.0 clients cannot read).
        #[arg(long, value_name = "N")]
        from: Option<u64>,
    },
    /// Each keyholder proves their key still works by signing a challenge (nothing is written).
    Drill {
        #[arg(long = "key", value_name = "K")]
        keys: Vec<String>,
    },
    /// Publish the staged root once it verifies completely, and seal the transcript.
    Publish {
        /// Seal the transcript with this root key (default: the first signer whose private half is here).
        #[arg(long, value_name = "K", conflicts_with = "no_seal")]
        seal_key: Option<String>,
        /// Do not seal the transcript (recorded in it as an override).
        #[arg(long)]
        no_seal: bool,
    },
    /// The ceremony transcript (audit.log): verify it, show it, print a ceremony record.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Verify root files as a TUF client would (a folder means its N.root.json files).
    Verify {
        /// The trusted root to start from (else the first FILE is the trust anchor).
        #[arg(long, value_name = "FILE")]
        trusted: Option<PathBuf>,
        /// Check expiry as of TIME (RFC 3339 or YYYY-MM-DD) instead of now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// Metadata dialect: auto (by `_type`), tuf, or notary (Docker Content Trust).
        #[arg(long, default_value = "auto", value_parser = ["auto", "tuf", "notary"])]
        format: String,
        /// Notary: the repository name (GUN) the root certificates must carry.
        #[arg(long)]
        gun: Option<String>,
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Run a whole ceremony with software keys, no hardware, no prompts, in a new folder.
    Demo {
        /// Software keys only, even where SoftHSM2 is installed (root keys otherwise go into a
        /// SoftHSM2 token of the demo's own).
        #[arg(long)]
        software: bool,
    },
    /// The ceremony screen: a full-screen guide through a ceremony.
    Ceremony,
    /// List PKCS#11 tokens and the keys on them.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// HSM profiles: list them, probe a module.
    #[command(subcommand)]
    Hsm(HsmCommand),
    /// YubiKey PIN, PUK and management key.
    #[command(subcommand)]
    Yubikey(YubikeyCommand),
    /// Notary v1 / Docker Content Trust metadata (partial: a first root).
    #[command(subcommand)]
    Notary(NotaryCommand),
    /// Delegations for tagging keys (targets metadata signed with the targets key).
    #[command(subcommand)]
    Delegate(DelegateCommand),
    /// The manual page (roff) on standard output, or one page per command into a folder.
    Man {
        /// Write rootcellar.1 and one rootcellar-COMMAND.1 per command into DIR.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// A shell completion script on standard output (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
struct ExportArgs {
    /// Folder to copy the published roots to (a mounted USB stick).
    #[arg(long, value_name = "DIR", conflicts_with = "qr")]
    to: Option<PathBuf>,
    /// Replace different files of the same name in DIR.
    #[arg(long)]
    overwrite: bool,
    /// Encode a file as QR frames (default: the published root.json).
    #[arg(long)]
    qr: bool,
    /// The file to encode (with --qr).
    #[arg(long, value_name = "FILE", requires = "qr")]
    file: Option<PathBuf>,
    /// QR version 4-40 (default: 16, or what fits the terminal).
    #[arg(long = "qr-version", value_name = "V", requires = "qr")]
    qr_version: Option<i16>,
    /// Error-correction level: L, M, Q or H.
    #[arg(long, default_value = "M", requires = "qr")]
    ec: String,
    /// Write one PNG per frame into DIR.
    #[arg(long, value_name = "DIR", requires = "qr")]
    png: Option<PathBuf>,
    /// Write one SVG per frame into DIR.
    #[arg(long, value_name = "DIR", requires = "qr")]
    svg: Option<PathBuf>,
    /// Write a printable HTML sheet, one frame per page.
    #[arg(long, value_name = "FILE", requires = "qr")]
    html: Option<PathBuf>,
    /// Write the frames' text, one per line.
    #[arg(long, value_name = "FILE", requires = "qr")]
    text: Option<PathBuf>,
    /// On the terminal, move to the next frame every MS milliseconds.
    #[arg(long, value_name = "MS", requires = "qr")]
    animate: Option<u64>,
}

#[derive(Subcommand, Debug)]
enum ImportCommand {
    /// Reassemble QR frames from text files (one frame per line, any order) or images.
    Qr {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write the root here (else into metadata/ when it chains onto what is published).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Start this Notary workspace's history from an existing repository's root.json (DIR
    /// holding it, or Docker's trust folder), so the next `notary root` rotates or renews it.
    Notary {
        #[arg(value_name = "DIR")]
        folder: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Check the transcript's chain and seals, and show the ceremony as a timeline.
    Verify,
    /// Show the transcript from line N on.
    Show {
        #[arg(long, value_name = "N", default_value_t = 1)]
        since: u64,
    },
    /// Write a printable ceremony record (HTML) for the witnesses to sign.
    Print {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum RequestCommand {
    /// Write the staged root and the version before it to FILE, for a keyholder signing apart.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// What a request (bundle or root file) changes, in words, with its digest.
    Show { file: PathBuf },
}

#[derive(Args, Debug)]
struct SignWithArgs {
    /// Targets key(s) to sign with (default: every targets key this workspace holds).
    #[arg(long = "sign-with", value_name = "K")]
    sign_with: Vec<String>,
    /// Expiry of the new targets metadata (default: the workspace's, 90d).
    #[arg(long)]
    expires: Option<String>,
}

#[derive(Subcommand, Debug)]
enum DelegateCommand {
    /// Delegate ROLE (e.g. targets/releases) to tagging keys.
    Add {
        role: String,
        #[arg(long = "key", value_name = "K", required = true)]
        keys: Vec<String>,
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        /// Path patterns the role may sign for (default: *); in a Notary workspace, path
        /// prefixes (default: "", every path).
        #[arg(long = "paths", value_name = "PATTERN")]
        paths: Vec<String>,
        #[arg(long)]
        terminating: bool,
        #[command(flatten)]
        how: SignWithArgs,
    },
    /// Remove the delegation to ROLE.
    Remove {
        role: String,
        #[command(flatten)]
        how: SignWithArgs,
    },
    /// Replace one of ROLE's keys.
    Rotate {
        role: String,
        #[arg(long, value_name = "K")]
        old: String,
        #[arg(long, value_name = "K")]
        new: String,
        #[command(flatten)]
        how: SignWithArgs,
    },
    /// The delegated roles.
    List,
}

#[derive(Subcommand, Debug)]
enum NotaryCommand {
    /// Stage the next Notary root of a Notary workspace (then `sign`, `publish`); or, with
    /// --out, write a root file in one go. Each root key gets a self-signed certificate for the
    /// GUN, signed on its own device (a key whose published certificate is still good keeps it,
    /// unless --renew).
    Root {
        /// Repository name (GUN), e.g. docker.io/example/app: the certificates' CN (default:
        /// the workspace's).
        #[arg(long)]
        gun: Option<String>,
        /// A registered ECDSA P-256 root key (repeat for several keyholders).
        #[arg(long = "root-key", required = true)]
        root_keys: Vec<String>,
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        /// Registered keys for the online roles (default for a next version: the published ones).
        #[arg(long)]
        targets_key: Option<String>,
        #[arg(long)]
        snapshot_key: Option<String>,
        #[arg(long)]
        timestamp_key: Option<String>,
        /// Lifetime of certificates made now, in years (the metadata expires with the first
        /// root certificate).
        #[arg(long, default_value_t = 10)]
        years: u32,
        /// New certificates for every root key, even where the published one is still good.
        #[arg(long)]
        renew: bool,
        /// Write root.json here in one go, signed by every root key (never overwritten).
        #[arg(long)]
        out: Option<PathBuf>,
        /// With --out: the current root.json: write its next version (rotation, or
        /// certificate renewal with the same keys), signed also by a threshold of its root keys
        /// held here.
        #[arg(long, value_name = "FILE", requires = "out")]
        previous: Option<PathBuf>,
    },
    /// Sign a hand-over to TUF 1.0: a statement, signed by root keys of the published Notary
    /// root, naming the TUF root that follows it (clients that pinned the Notary root move
    /// with no new out-of-band step).
    Handover {
        /// The TUF root handed over to (its N.root.json).
        #[arg(long, value_name = "FILE")]
        tuf_root: PathBuf,
        /// Write a new statement here (never overwritten).
        #[arg(
            long,
            value_name = "FILE",
            conflicts_with = "add_to",
            required_unless_present = "add_to"
        )]
        out: Option<PathBuf>,
        /// Add signatures to this statement (keyholders signing apart).
        #[arg(long, value_name = "FILE")]
        add_to: Option<PathBuf>,
        /// Root keys to sign with (default: every root key of the Notary root held here).
        #[arg(long = "key", value_name = "K")]
        keys: Vec<String>,
        /// Lifetime of a new statement (e.g. 365d, or a date).
        #[arg(long)]
        expires: Option<String>,
    },
    /// A keyholder who is not at the ceremony: the self-signed root certificate for KEY, made
    /// on its own device, to bring to the ceremony (`key import FILE` there).
    Certificate {
        #[arg(long, value_name = "K")]
        key: String,
        /// Repository name (GUN); default: the workspace's.
        #[arg(long)]
        gun: Option<String>,
        #[arg(long, default_value_t = 10)]
        years: u32,
        /// Write the PEM certificate here (never overwritten) for a ceremony elsewhere;
        /// without, it is kept in the key's record for `notary root` in this workspace.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a hand-over statement as a client that trusts the Notary root would.
    CheckHandover {
        #[arg(value_name = "STATEMENT")]
        statement: PathBuf,
        /// The Notary root.json the client trusts.
        #[arg(long, value_name = "FILE")]
        notary_root: PathBuf,
        /// The TUF root the statement names.
        #[arg(long, value_name = "FILE")]
        tuf_root: PathBuf,
        /// Check expiry as of TIME (RFC 3339 or YYYY-MM-DD) instead of now.
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum YubikeyCommand {
    /// Change the PIV PIN (current PIN, then the new one: ROOTCELLAR_PIN / ROOTCELLAR_NEW_PIN).
    ChangePin {
        #[arg(long)]
        serial: Option<u32>,
    },
    /// Change the PUK (ROOTCELLAR_PUK / ROOTCELLAR_NEW_PUK).
    ChangePuk {
        #[arg(long)]
        serial: Option<u32>,
    },
    /// Set a new PIN with the PUK after the PIN was locked.
    UnblockPin {
        #[arg(long)]
        serial: Option<u32>,
    },
    /// Replace the management key with a random one, stored PIN-protected on the device.
    SetManagementKey {
        #[arg(long)]
        serial: Option<u32>,
        /// Print the new key once instead of storing it on the device.
        #[arg(long)]
        print: bool,
    },
}

#[derive(Subcommand, Debug)]
enum DeviceCommand {
    /// Tokens (label, serial, PIN state) and their keys, for every profile whose module is here.
    List {
        #[arg(long)]
        profile: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum HsmCommand {
    /// The HSM profiles, and whether each module is on this machine.
    Profiles,
    /// Probe a module: it loads, its tokens, their mechanisms.
    Check {
        #[arg(long)]
        profile: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
enum KeyCommand {
    /// Generate a key pair.
    Generate {
        #[arg(long)]
        name: String,
        /// Where the private key lives: software (trials), pkcs11 (an HSM token) or yubikey (PIV).
        #[arg(long, default_value = "software", value_parser = ["software", "pkcs11", "yubikey"])]
        backend: String,
        #[arg(long, default_value = "ecdsa-p256", value_parser = parse_alg)]
        algorithm: Algorithm,
        /// HSM profile (pkcs11), e.g. softhsm2, yubihsm2 (`rootcellar hsm profiles`).
        #[arg(long)]
        profile: Option<String>,
        /// Token label (pkcs11); needed when the module shows several tokens.
        #[arg(long)]
        token: Option<String>,
        #[command(flatten)]
        yk: YubiKeyArgs,
    },
    /// Register a key that already exists on a PKCS#11 token or in a YubiKey slot.
    Add {
        #[arg(long, value_parser = ["pkcs11", "yubikey"])]
        backend: String,
        /// RFC 7512 URI, e.g. pkcs11:token=LABEL;id=%01 (`rootcellar device list` shows them).
        #[arg(long)]
        uri: Option<String>,
        #[arg(long)]
        name: String,
        #[arg(long)]
        profile: Option<String>,
        /// YubiKey serial.
        #[arg(long)]
        serial: Option<u32>,
        /// YubiKey PIV slot.
        #[arg(long, default_value = "9c")]
        slot: String,
    },
    /// Verify a YubiKey key's attestation chain up to a pinned Yubico root.
    Attest { key: String },
    /// Delete a retired key's private half, after typing its name.
    Destroy {
        /// Key name, key ID, or a unique key ID prefix.
        key: String,
        /// The key's name, to confirm without a terminal.
        #[arg(long, value_name = "NAME")]
        confirm: Option<String>,
    },
    /// Register a public key (TUF key JSON or PEM): how online keys come in.
    Import {
        file: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// List the registered keys.
    List,
}

#[derive(Args, Debug)]
struct YubiKeyArgs {
    /// YubiKey serial (needed when several are connected).
    #[arg(long)]
    serial: Option<u32>,
    /// PIV slot (yubikey).
    #[arg(long, default_value = "9c")]
    slot: String,
    /// PIN policy of the new key (yubikey): always or once.
    #[arg(long, default_value = "always")]
    pin_policy: String,
    /// Touch policy of the new key (yubikey): always, cached or never.
    #[arg(long, default_value = "always")]
    touch_policy: String,
    /// Replace the key already in the slot (yubikey): it is lost for good.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Args, Debug)]
struct NewArgs {
    /// Root keys (repeat).
    #[arg(long = "root-key", value_name = "K", required = true)]
    root_keys: Vec<String>,
    /// Root threshold.
    #[arg(long)]
    threshold: u64,
    /// Targets (tagging) keys (repeat).
    #[arg(long = "targets-key", value_name = "K", required = true)]
    targets_keys: Vec<String>,
    #[arg(long, default_value_t = 1)]
    targets_threshold: u64,
    #[arg(long, value_name = "K")]
    snapshot_key: String,
    #[arg(long, value_name = "K")]
    timestamp_key: String,
    /// Expiry: a span (365d) or a time (2027-12-31T00:00:00Z). Default: the workspace's.
    #[arg(long)]
    expires: Option<String>,
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    consistent_snapshot: bool,
}

#[derive(Subcommand, Debug)]
enum RootCommand {
    /// Stage version 1.
    New(NewArgs),
    /// Stage version N+1 from the latest published root (edits accumulate until publish).
    Edit {
        /// ROLE:K, e.g. root:alice (repeat).
        #[arg(long = "add-key", value_name = "ROLE:K", value_parser = parse_role_key)]
        add: Vec<(String, String)>,
        /// ROLE:K (repeat).
        #[arg(long = "remove-key", value_name = "ROLE:K", value_parser = parse_role_key)]
        remove: Vec<(String, String)>,
        /// ROLE:N (repeat).
        #[arg(long = "threshold", value_name = "ROLE:N", value_parser = parse_role_threshold)]
        thresholds: Vec<(String, u64)>,
        #[arg(long)]
        expires: Option<String>,
        /// Edit a staged root that has signatures (they are dropped and must be made again).
        #[arg(long)]
        drop_signatures: bool,
    },
    /// Show the staged root (or the latest published one) for a human.
    Show {
        /// What changes from the published version, in words, with the digest to read aloud.
        #[arg(long)]
        diff: bool,
    },
    /// Drop the staged root.
    Discard,
}

fn parse_alg(s: &str) -> std::result::Result<Algorithm, String> {
    s.parse()
}

fn parse_role_key(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once(':') {
        Some((r, k)) if !r.is_empty() && !k.is_empty() => Ok((r.to_string(), k.to_string())),
        _ => Err(format!("expected ROLE:K (e.g. root:alice), got {s:?}")),
    }
}

fn parse_role_threshold(s: &str) -> std::result::Result<(String, u64), String> {
    let (r, n) = s
        .split_once(':')
        .ok_or_else(|| format!("expected ROLE:N (e.g. root:2), got {s:?}"))?;
    let n = n
        .parse()
        .map_err(|_| format!("threshold {n:?} is not a whole number"))?;
    Ok((r.to_string(), n))
}

/// The manual pages: the top-level page, then one per (sub)command, as (file name, roff).
pub fn man_pages() -> std::result::Result<Vec<(String, Vec<u8>)>, std::io::Error> {
    fn walk(
        cmd: &clap::Command,
        name: &str,
        out: &mut Vec<(String, Vec<u8>)>,
    ) -> std::result::Result<(), std::io::Error> {
        let cmd = cmd.clone().name(name.to_string());
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        out.push((format!("{name}.1"), page));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, &format!("{name}-{}", sub.get_name()), out)?;
        }
        Ok(())
    }
    let mut cmd = Cli::command();
    cmd.build();
    let mut out = Vec::new();
    walk(&cmd, "rootcellar", &mut out)?;
    Ok(out)
}

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let json = cli.json;
    let now = time::OffsetDateTime::now_utc();
    let term = prompt::TermPrompt {
        secret_file: cli.pin_file.clone(),
    };
    let dir = cli.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut ctx = Context::new(dir, &term, now);
    if cli.allow_online {
        ctx.guard = GuardMode::Warn;
    }
    if let Some(s) = std::env::var_os("ROOTCELLAR_SYSFS") {
        ctx.sysfs = PathBuf::from(s);
    }
    ctx.module = cli.module.clone();
    ctx.force = cli.force;
    ctx.default_management_key = cli.default_management_key;
    let result = dispatch(&cli, &ctx, now);
    let notices = ctx.take_notices();
    match result {
        Ok(out) if out.printed => out.code,
        Ok(out) => {
            if json {
                output::print_json(true, &out.value, &notices);
            } else {
                for n in &notices {
                    eprintln!("note: {n}");
                }
                output::emit(&out.human);
            }
            out.code
        }
        Err(e) => {
            if json {
                output::print_json(
                    false,
                    &serde_json::to_value(&e).unwrap_or_default(),
                    &notices,
                );
            } else {
                for n in &notices {
                    eprintln!("note: {n}");
                }
                eprintln!("error: {}", e.message);
                if let Some(h) = &e.hint {
                    eprintln!("  what to do: {h}");
                }
            }
            e.kind.exit_code()
        }
    }
}

/// What a command printed: human text, the JSON value, and the exit code.
pub struct Output {
    pub human: String,
    pub value: serde_json::Value,
    pub code: i32,
    /// A child process already printed everything.
    pub printed: bool,
}

impl Output {
    fn passthrough(mut self) -> Output {
        self.printed = true;
        self
    }
}

fn out<T: Serialize>(v: &T, human: String) -> Result<Output> {
    Ok(Output {
        human,
        value: serde_json::to_value(v).map_err(|e| Error::environment(e.to_string()))?,
        code: 0,
        printed: false,
    })
}

fn timeline_text(items: &[ops::audit::TimelineItem]) -> String {
    items
        .iter()
        .map(|t| format!("{:>4}  {}  {:<18} {}\n", t.seq, t.time, t.action, t.summary))
        .collect()
}

fn at_time(at: Option<&str>, now: Timestamp) -> Result<Timestamp> {
    match at {
        Some(s) => {
            parse_user_time(s, now).map_err(|e| Error::bad_input(e).hint("e.g. --at 2026-01-01"))
        }
        None => Ok(now),
    }
}

fn dispatch(cli: &Cli, ctx: &Context, now: Timestamp) -> Result<Output> {
    match &cli.command {
        Command::Man { out: None } => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|e| Error::environment(format!("cannot write the manual page: {e}")))?;
            Ok(Output {
                human: String::from_utf8_lossy(&page).into_owned(),
                value: serde_json::Value::String(String::from_utf8_lossy(&page).into_owned()),
                code: 0,
                printed: false,
            })
        }
        Command::Man { out: Some(dir) } => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, &e))?;
            let pages = man_pages()
                .map_err(|e| Error::environment(format!("cannot write the manual pages: {e}")))?;
            let mut written = Vec::new();
            for (name, bytes) in pages {
                let p = dir.join(&name);
                crate::atomic::write_atomic(&p, &bytes)?;
                written.push(p);
            }
            let h = format!(
                "{} manual pages written to {} (man -l {}/rootcellar.1)\n",
                written.len(),
                dir.display(),
                dir.display()
            );
            out(&serde_json::json!({ "written": written }), h)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "rootcellar", &mut script);
            Ok(Output {
                human: String::from_utf8_lossy(&script).into_owned(),
                value: serde_json::Value::String(String::from_utf8_lossy(&script).into_owned()),
                code: 0,
                printed: false,
            })
        }
        Command::Init { name, format } => {
            let mut config = crate::workspace::Config::new(name.clone(), false);
            config.format = format.clone();
            let ws = ops::init(ctx, config)?;
            let v = serde_json::json!({"dir": ws.dir, "name": ws.config.name, "format": ws.config.format});
            let next = if ws.notary_gun().is_some() {
                "Next: rootcellar key generate --name NAME, then rootcellar notary root (or rootcellar import notary DIR for an existing repository)"
            } else {
                "Next: rootcellar key generate --name NAME"
            };
            out(
                &v,
                format!(
                    "Workspace ({}) created in {}\n{next}\n",
                    ws.config.format,
                    ws.dir.display()
                ),
            )
        }
        Command::Key(KeyCommand::Generate {
            name,
            backend,
            algorithm,
            profile,
            token,
            yk,
        }) => {
            let k = if backend == "yubikey" {
                let t = ops::yubikey::YubiKeyTarget {
                    serial: yk.serial,
                    slot: yk.slot.clone(),
                    pin_policy: yk.pin_policy.clone(),
                    touch_policy: yk.touch_policy.clone(),
                    overwrite: yk.overwrite,
                };
                ops::yubikey::generate(ctx, name, *algorithm, &t)?
            } else if backend == "pkcs11" {
                let target = ops::key::Pkcs11Target {
                    profile: profile.clone(),
                    token: token.clone(),
                };
                ops::key::generate_pkcs11(ctx, name, *algorithm, &target)?
            } else {
                if profile.is_some() || token.is_some() {
                    return Err(
                        Error::bad_input("--profile and --token go with --backend pkcs11")
                            .hint("add --backend pkcs11, or drop them"),
                    );
                }
                ops::key::generate_software(ctx, name, *algorithm)?
            };
            let h = output::key_line(&k);
            out(&k, h)
        }
        Command::Key(KeyCommand::Add {
            backend,
            uri,
            name,
            profile,
            serial,
            slot,
        }) => {
            let k = if backend == "yubikey" {
                ops::yubikey::add(ctx, name, *serial, slot)?
            } else {
                let uri = uri.as_deref().ok_or_else(|| {
                    Error::bad_input("--backend pkcs11 needs --uri")
                        .hint("`rootcellar device list` shows the keys and their URIs")
                })?;
                ops::key::add_pkcs11(ctx, uri, name, profile.as_deref())?
            };
            let h = output::key_line(&k);
            out(&k, h)
        }
        Command::Notary(NotaryCommand::Root {
            gun,
            root_keys,
            threshold,
            targets_key,
            snapshot_key,
            timestamp_key,
            years,
            renew,
            out: path,
            previous,
        }) => {
            let ws_gun = ctx
                .workspace()
                .ok()
                .and_then(|ws| ws.notary_gun().map(str::to_string));
            let Some(path) = path else {
                let ws_gun = ws_gun.ok_or_else(|| {
                    Error::refused("staging a Notary root needs a Notary workspace")
                        .hint("`rootcellar init --format notary --gun NAME` in a new folder, or write a file in one go with --out")
                })?;
                if let Some(g) = gun
                    && *g != ws_gun
                {
                    return Err(Error::bad_input(format!(
                        "--gun {g} is not this workspace's repository ({ws_gun})"
                    )));
                }
                let r = ops::notary_ws::stage(
                    ctx,
                    &ops::notary_ws::StageSpec {
                        root_keys,
                        threshold: *threshold,
                        targets: targets_key.as_deref(),
                        snapshot: snapshot_key.as_deref(),
                        timestamp: timestamp_key.as_deref(),
                        years: *years,
                        renew: *renew,
                    },
                )?;
                let h = output::notary_stage(&r);
                return out(&r, h);
            };
            let gun = gun
                .clone()
                .or(ws_gun)
                .ok_or_else(|| Error::bad_input("name the repository: --gun NAME"))?;
            let need = |k: &Option<String>, flag: &str| {
                k.clone().ok_or_else(|| {
                    Error::bad_input(format!("--out needs {flag} NAME (a registered key)"))
                })
            };
            let (t, s, ts) = (
                need(targets_key, "--targets-key")?,
                need(snapshot_key, "--snapshot-key")?,
                need(timestamp_key, "--timestamp-key")?,
            );
            if *renew {
                return Err(Error::bad_input(
                    "--renew is for staging in a Notary workspace; with --out every certificate is new",
                ));
            }
            let r = ops::notary::write_root(
                ctx,
                &ops::notary::NotaryRootSpec {
                    gun: &gun,
                    root_keys,
                    threshold: *threshold,
                    targets: &t,
                    snapshot: &s,
                    timestamp: &ts,
                    years: *years,
                    out: path,
                    previous: previous.as_deref(),
                },
            )?;
            let h = format!(
                "Wrote {} (Notary root version {} for {}): {} of {} root keys needed, certificates signed on their devices, expires {}\n",
                r.path,
                r.version,
                r.gun,
                r.threshold,
                r.root_keyids.len(),
                r.expires
            );
            out(&r, h)
        }
        Command::Notary(NotaryCommand::Handover {
            tuf_root,
            out: dest,
            add_to,
            keys,
            expires,
        }) => {
            let r = ops::notary_import::handover(
                ctx,
                &ops::notary_import::HandoverSpec {
                    tuf_root,
                    out: dest.as_deref(),
                    add_to: add_to.as_deref(),
                    keys,
                    expires: expires.as_deref(),
                },
            )?;
            let c = &r.check;
            let h = format!(
                "Hand-over {} for {}: Notary root version {} → TUF root version {}, signed now by {}\n  signatures by the Notary root's keys: {} of {} needed — {}\n{}",
                r.path.display(),
                c.gun,
                c.from_version,
                c.to_version,
                r.signed_by.join(", "),
                c.signatures.count(),
                c.signatures.threshold,
                if c.signatures.met { "met" } else { "NOT met" },
                if c.valid {
                    "  complete: publish it beside the TUF root (see docs/migrate-from-notary.md)\n"
                        .to_string()
                } else {
                    format!(
                        "  not complete yet: {}\n  other keyholders add theirs with --add-to\n",
                        c.errors.join("; ")
                    )
                }
            );
            out(&r, h)
        }
        Command::Notary(NotaryCommand::Certificate {
            key,
            gun,
            years,
            out: dest,
        }) => {
            let gun = match gun {
                Some(g) => g.clone(),
                None => ctx
                    .workspace()
                    .ok()
                    .and_then(|ws| ws.notary_gun().map(str::to_string))
                    .ok_or_else(|| Error::bad_input("name the repository: --gun NAME"))?,
            };
            let r = ops::notary::write_certificate(ctx, key, &gun, *years, dest.as_deref())?;
            let mut h = format!(
                "Wrote {}: a root certificate for key {} and {} (until {}), signed on its device; Notary key ID {}\n",
                r.path, r.key, r.gun, r.not_after, r.keyid
            );
            h.push_str(&if dest.is_some() {
                format!(
                    "Bring it to the ceremony: rootcellar key import {} --name {}\n",
                    r.path, r.key
                )
            } else {
                "`notary root` uses it: staging needs no device for this key\n".to_string()
            });
            out(&r, h)
        }
        Command::Notary(NotaryCommand::CheckHandover {
            statement,
            notary_root,
            tuf_root,
            at,
        }) => {
            let when = match at {
                Some(t) => {
                    crate::tuf::expiry::parse_user_time(t, ctx.now).map_err(Error::bad_input)?
                }
                None => ctx.now,
            };
            let c = ops::notary_import::check_handover(statement, notary_root, tuf_root, when)?;
            let h = if c.valid {
                format!(
                    "VALID: {} hands over from Notary root version {} to TUF root version {} ({} of {} root signatures)\n",
                    c.gun,
                    c.from_version,
                    c.to_version,
                    c.signatures.count(),
                    c.signatures.threshold
                )
            } else {
                format!("INVALID: {}\n", c.errors.join("\n  "))
            };
            let mut o = out(&c, h)?;
            if !c.valid {
                o.code = 1;
            }
            Ok(o)
        }
        Command::Key(KeyCommand::Attest { key }) => {
            let r = ops::yubikey::attest_key(ctx, key)?;
            let h = output::attest(&r);
            let mut o = out(&r, h)?;
            if !r.verdict.valid {
                o.code = 1;
            }
            Ok(o)
        }
        Command::Yubikey(c) => {
            let r = match c {
                YubikeyCommand::ChangePin { serial } => ops::yubikey::change_pin(ctx, *serial)?,
                YubikeyCommand::ChangePuk { serial } => ops::yubikey::change_puk(ctx, *serial)?,
                YubikeyCommand::UnblockPin { serial } => ops::yubikey::unblock_pin(ctx, *serial)?,
                YubikeyCommand::SetManagementKey { serial, print } => {
                    let m = ops::yubikey::set_management_key(ctx, *serial, *print)?;
                    let h = match &m.printed_key {
                        Some(k) => format!(
                            "YubiKey {}: new management key set. Write it down now; it is shown only this once:\n{k}\n",
                            m.serial
                        ),
                        None => format!(
                            "YubiKey {}: new management key set, stored on the device behind the PIN.\n",
                            m.serial
                        ),
                    };
                    return out(&m, h);
                }
            };
            let h = format!("YubiKey {}: {}.\n", r.serial, r.done);
            out(&r, h)
        }
        Command::Key(KeyCommand::Destroy { key, confirm }) => {
            let k = ops::key::destroy(ctx, key, confirm.as_deref())?;
            let h = format!(
                "Destroyed the private key of {} ({}); its record stays, marked destroyed.\n",
                k.name, k.keyid
            );
            out(&k, h)
        }
        Command::Device(DeviceCommand::List { profile }) => {
            let r = ops::device::list(ctx, profile.as_deref())?;
            let h = output::device_list(&r);
            out(&r, h)
        }
        Command::Hsm(HsmCommand::Profiles) => {
            let r = ops::device::profiles_list()?;
            let h = output::profiles(&r);
            out(&r, h)
        }
        Command::Hsm(HsmCommand::Check { profile }) => {
            let r = ops::device::check(ctx, profile.as_deref())?;
            let h = output::hsm_check(&r);
            let mut o = out(&r, h)?;
            if !r.problems.is_empty() {
                o.code = 1;
            }
            Ok(o)
        }
        Command::Key(KeyCommand::Import { file, name }) => {
            let k = ops::key::import(ctx, file, name)?;
            let h = output::key_line(&k);
            out(&k, h)
        }
        Command::Key(KeyCommand::List) => {
            let ks = ops::key::list(ctx)?;
            let h = output::key_list(&ks);
            out(&ks, h)
        }
        Command::Root(RootCommand::New(a)) => {
            let v = ops::root::new(
                ctx,
                &ops::root::NewRoot {
                    root_keys: a.root_keys.clone(),
                    threshold: a.threshold,
                    targets_keys: a.targets_keys.clone(),
                    targets_threshold: a.targets_threshold,
                    snapshot_key: a.snapshot_key.clone(),
                    timestamp_key: a.timestamp_key.clone(),
                    expires: a.expires.clone(),
                    consistent_snapshot: a.consistent_snapshot,
                },
            )?;
            let h = output::root_view(&v);
            out(&v, h)
        }
        Command::Root(RootCommand::Edit {
            add,
            remove,
            thresholds,
            expires,
            drop_signatures,
        }) => {
            let v = ops::root::edit_root(
                ctx,
                &ops::root::EditRoot {
                    add: add.clone(),
                    remove: remove.clone(),
                    thresholds: thresholds.clone(),
                    expires: expires.clone(),
                    drop_signatures: *drop_signatures,
                },
            )?;
            let h = output::root_view(&v);
            out(&v, h)
        }
        Command::Root(RootCommand::Show { diff }) => {
            if let Ok(ws) = ctx.workspace()
                && ws.notary_gun().is_some()
            {
                if *diff {
                    let md = ops::notary_ws::staged(&ws)?.ok_or_else(|| {
                        Error::refused("no root is staged")
                            .hint("stage one with `rootcellar notary root`, `refresh`, `rotate` or `revoke`")
                    })?;
                    let d = ops::notary_ws::root_diff(&ws, &md)?;
                    let h = output::diff(&d);
                    return out(&d, h);
                }
                let v = ops::root::show(ctx)?;
                let h = output::root_view(&v);
                return out(&v, h);
            }
            if *diff {
                let d = ops::ceremony::show_diff(ctx)?;
                let h = output::diff(&d);
                return out(&d, h);
            }
            let v = ops::root::show(ctx)?;
            if let Ok(ws) = ctx.workspace()
                && let Some(latest) = ws.published()?.last()
            {
                for w in ops::ceremony::expiry_warnings(ctx, &ws, latest) {
                    ctx.notice(w);
                }
            }
            let h = output::root_view(&v);
            out(&v, h)
        }
        Command::Root(RootCommand::Discard) => {
            let d = ops::root::discard(ctx)?;
            let h = match d {
                Some(v) if v > 0 => format!("Dropped the staged root (version {v}).\n"),
                Some(_) => "Dropped the staged root.\n".to_string(),
                None => "No root was staged.\n".to_string(),
            };
            out(
                &serde_json::json!({"discarded": d.is_some(), "version": d}),
                h,
            )
        }
        Command::Sign {
            keys,
            file,
            detached,
        } => {
            if file.is_some() || detached.is_some() {
                let r =
                    ops::request::sign_request(ctx, file.as_deref(), keys, detached.as_deref())?;
                let h = format!(
                    "Signed root version {} (digest {}) with {}; written to {}\n",
                    r.version,
                    ops::root::read_aloud(&r.digest),
                    r.signed_by.join(", "),
                    r.written.display()
                );
                return out(&r, h);
            }
            let r = ops::root::sign(ctx, keys)?;
            let h = output::sign_report(&r);
            out(&r, h)
        }
        Command::Merge { files, out: dest } => {
            let r = ops::request::merge(ctx, files, dest.as_deref())?;
            let h = output::merge(&r);
            out(&r, h)
        }
        Command::Rotate { .. } | Command::Revoke { .. } | Command::Refresh { .. }
            if ctx.workspace().is_ok_and(|ws| ws.notary_gun().is_some()) =>
        {
            let r = match &cli.command {
                Command::Rotate { role, old, new } => ops::notary_ws::rotate(ctx, role, old, new)?,
                Command::Revoke { key, .. } => ops::notary_ws::revoke(ctx, key)?,
                Command::Refresh { expires: Some(_) } => {
                    return Err(Error::bad_input(
                        "a Notary root expires with its first root certificate: --expires cannot be chosen",
                    )
                    .hint("run `refresh` without --expires (new certificates, 10 years), or `notary root --renew --years N`"));
                }
                _ => ops::notary_ws::refresh(ctx)?,
            };
            let h = output::notary_stage(&r);
            out(&r, h)
        }
        Command::Rotate { role, old, new } => {
            let v = ops::ceremony::rotate(ctx, role, old, new)?;
            let h = output::root_view(&v);
            out(&v, h)
        }
        Command::Revoke { key, reason } => {
            let v = ops::ceremony::revoke(ctx, key, reason.as_deref())?;
            let h = output::root_view(&v);
            out(&v, h)
        }
        Command::Refresh { expires } => {
            let v = ops::ceremony::refresh(ctx, expires.as_deref())?;
            let h = output::root_view(&v);
            out(&v, h)
        }
        Command::Delegate(d) => {
            let how = |a: &SignWithArgs| ops::delegate::SignWith {
                keys: a.sign_with.clone(),
                expires: a.expires.clone(),
            };
            let r = match d {
                DelegateCommand::Add {
                    role,
                    keys,
                    threshold,
                    paths,
                    terminating,
                    how: h,
                } => ops::delegate::add(ctx, role, keys, *threshold, paths, *terminating, &how(h))?,
                DelegateCommand::Remove { role, how: h } => {
                    ops::delegate::remove(ctx, role, &how(h))?
                }
                DelegateCommand::Rotate {
                    role,
                    old,
                    new,
                    how: h,
                } => ops::delegate::rotate(ctx, role, old, new, &how(h))?,
                DelegateCommand::List => {
                    let l = ops::delegate::list(ctx)?;
                    let h = output::roles(&l);
                    return out(&l, h);
                }
            };
            let mut h = format!(
                "Targets metadata version {} (expires {}) signed by {}\n",
                r.version,
                r.expires,
                r.signed_by.join(", ")
            );
            h.push_str(&output::roles(&r.roles));
            for f in &r.files {
                h.push_str(&format!("  {}\n", f.display()));
            }
            out(&r, h)
        }
        Command::Adopt { source, from } => {
            let r = ops::adopt::adopt(ctx, source, *from)?;
            for w in &r.warnings {
                ctx.notice(w.clone());
            }
            let mut h = format!(
                "Adopted root versions {} to {}; registered {} public key(s):\n",
                r.first,
                r.last,
                r.keys.len()
            );
            for k in &r.keys {
                h.push_str(&output::key_line(k));
            }
            h.push_str("Next: rootcellar refresh (or root edit / rotate / revoke), then sign with the keyholders' devices\n");
            out(&r, h)
        }
        Command::Export(e) => {
            if let Some(dir) = &e.to {
                let r = ops::transfer::export_usb(ctx, dir, e.overwrite)?;
                let mut h = format!("Exported to {}:\n", dir.display());
                for f in &r {
                    h.push_str(&format!(
                        "  {:<16} {}  {}\n",
                        f.name,
                        &f.sha256[..16],
                        f.action
                    ));
                }
                h.push_str("Every file was read back and the history verified from the copies.\n");
                return out(&r, h);
            }
            if !e.qr {
                return Err(
                    Error::bad_input("say where to: --to DIR (a USB stick) or --qr")
                        .hint("rootcellar export --to /media/usb, or rootcellar export --qr"),
                );
            }
            let files_out = ops::transfer::QrOutputs {
                png: e.png.clone(),
                svg: e.svg.clone(),
                html: e.html.clone(),
                text: e.text.clone(),
            };
            let to_terminal = files_out.png.is_none()
                && files_out.svg.is_none()
                && files_out.html.is_none()
                && files_out.text.is_none();
            let (version, small) = match (e.qr_version, to_terminal) {
                (Some(v), _) => (v, false),
                (None, false) => (ops::transfer::DEFAULT_QR_VERSION, false),
                (None, true) => {
                    let (cols, rows) = crossterm::terminal::size()
                        .map(|(c, r)| (c as usize, r as usize))
                        .unwrap_or((80, 24));
                    let v =
                        crate::transfer::render::terminal_version(cols, rows.saturating_sub(1), 25);
                    if v < 4 {
                        return Err(Error::environment(format!("the terminal ({cols}×{rows}) is too small for a QR frame"))
                            .hint("enlarge the terminal (version 4 needs 37×20), or write --png/--svg/--html files"));
                    }
                    (v, v < 10)
                }
            };
            let r = ops::transfer::export_qr(ctx, e.file.as_deref(), version, &e.ec, &files_out)?;
            if to_terminal && !cli.json {
                qrview::show(&r, e.animate, small)?;
            }
            let mut h = format!(
                "{} ({} bytes, sha256 {}) as {} frame(s), QR version {}-{}, {} payload bytes per frame\n",
                r.file.display(),
                r.bytes,
                &r.sha256[..16],
                r.frames,
                r.version,
                r.ec,
                r.payload_per_frame
            );
            for w in &r.written {
                h.push_str(&format!("  {}\n", w.display()));
            }
            out(&r, h)
        }
        Command::Import(ImportCommand::Qr { files, out: dest }) => {
            let r = ops::transfer::import_qr(ctx, files, dest.as_deref())?;
            for x in &r.rejected {
                ctx.notice(format!("not used: {x}"));
            }
            let mut h = format!(
                "Reassembled root version {} from {} frame(s) (sha256 {}), verified",
                r.version,
                r.frames,
                &r.sha256[..16]
            );
            if r.duplicates > 0 {
                h.push_str(&format!("; {} duplicate frame(s) ignored", r.duplicates));
            }
            h.push('\n');
            if r.written.is_empty() {
                h.push_str("  already published here: nothing to write\n");
            }
            for w in &r.written {
                h.push_str(&format!("  {}\n", w.display()));
            }
            out(&r, h)
        }
        Command::Import(ImportCommand::Notary { folder }) => {
            let r = ops::notary_import::import(ctx, folder)?;
            for w in &r.warnings {
                ctx.notice(w.clone());
            }
            let mut h = format!(
                "Imported Notary root version {} for {} from {} (expires {}); {} of {} root keys needed:\n",
                r.version,
                r.gun,
                r.source.display(),
                r.expires,
                r.threshold,
                r.root_keys.len()
            );
            for k in &r.root_keys {
                h.push_str(&format!(
                    "  {} {}  {}{}\n",
                    k.keyid.chars().take(12).collect::<String>(),
                    k.keytype,
                    match &k.held_as {
                        Some(n) => format!("held here as {n}"),
                        None => "not registered here".to_string(),
                    },
                    k.certificate_ends
                        .as_ref()
                        .map(|e| format!(", certificate ends {e}"))
                        .unwrap_or_default()
                ));
            }
            for d in &r.delegations {
                h.push_str(&format!(
                    "  delegation {} ({} of {} key(s): {}) paths {:?}\n",
                    d.role,
                    d.threshold,
                    d.keytypes.len(),
                    d.keytypes.join(", "),
                    d.paths
                ));
            }
            h.push_str("Next: register the root keys here (`rootcellar key add`), then `rootcellar notary root` stages the next version\n");
            out(&r, h)
        }
        Command::Request(RequestCommand::Export { out: dest }) => {
            let p = ops::request::export(ctx, dest)?;
            out(
                &serde_json::json!({"written": p}),
                format!("Signing request written to {}\n", p.display()),
            )
        }
        Command::Request(RequestCommand::Show { file }) => {
            let d = ops::request::show(ctx, file)?;
            let h = output::diff(&d);
            out(&d, h)
        }
        Command::Ceremony => {
            crate::tui::run::run(crate::tui::run::Settings {
                dir: ctx.dir.clone(),
                allow_online: ctx.guard == GuardMode::Warn,
                sysfs: ctx.sysfs.clone(),
                module: ctx.module.clone(),
                force: ctx.force,
                default_management_key: ctx.default_management_key,
            })?;
            Ok(Output {
                human: String::new(),
                value: serde_json::Value::Null,
                code: 0,
                printed: true,
            })
        }
        Command::Status => {
            let st = ops::ceremony::ceremony_status(ctx)?;
            let h = output::ceremony_status(&st);
            out(&st, h)
        }
        Command::Drill { keys } => {
            let r = ops::ceremony::drill(ctx, keys)?;
            let h = output::drill(&r);
            let mut o = out(&r, h)?;
            if r.iter().any(|d| !d.ok) {
                o.code = 1;
            }
            Ok(o)
        }
        Command::Publish { seal_key, no_seal } => {
            let with = match (seal_key, no_seal) {
                (Some(k), _) => ops::root::SealWith::Key(k.clone()),
                (None, true) => ops::root::SealWith::Skip,
                (None, false) => ops::root::SealWith::Auto,
            };
            let r = ops::root::publish(ctx, &with)?;
            let h = format!(
                "Published root version {} (expires {}), digest {}\n{}{}",
                r.version,
                r.expires,
                ops::root::read_aloud(&r.digest),
                r.files
                    .iter()
                    .map(|f| format!("  {}\n", f.display()))
                    .collect::<String>(),
                match &r.sealed_by {
                    Some(k) => format!("Transcript sealed by {k}\n"),
                    None => String::new(),
                }
            );
            out(&r, h)
        }
        Command::Audit(AuditCommand::Verify) => {
            let r = ops::audit::verify(ctx)?;
            let mut h = timeline_text(&r.timeline);
            h.push_str(&format!(
                "Transcript {}: {} lines, chain intact, head {}\n",
                r.file.display(),
                r.lines,
                r.head.as_deref().unwrap_or("(empty)")
            ));
            for s in &r.seals {
                h.push_str(&format!(
                    "  seal on line {} by {} (root key of version {}): valid\n",
                    s.line, s.key, s.version
                ));
            }
            if r.unsealed_tail > 0 {
                h.push_str(&format!(
                    "  {} line(s) after the last seal are covered by the chain only\n",
                    r.unsealed_tail
                ));
            }
            out(&r, h)
        }
        Command::Audit(AuditCommand::Show { since }) => {
            let r = ops::audit::show(ctx, *since)?;
            let h = timeline_text(&r);
            out(&r, h)
        }
        Command::Audit(AuditCommand::Print { out: dest }) => {
            let p = ops::audit::print(ctx, dest)?;
            let h = format!(
                "Ceremony record written to {} (open it in a browser and print it)\n",
                p.display()
            );
            out(&serde_json::json!({"written": p}), h)
        }
        Command::Verify {
            trusted,
            at,
            files,
            format,
            gun,
        } => {
            let at = at_time(at.as_deref(), now)?;
            let dialect = match format.as_str() {
                "tuf" => ops::verify::Dialect::Tuf,
                "notary" => ops::verify::Dialect::Notary,
                _ => ops::verify::Dialect::Auto,
            };
            let r = ops::verify::verify_files_as(
                trusted.as_deref(),
                files,
                at,
                dialect,
                gun.as_deref(),
            )?;
            let h = output::verify_report(&r);
            let mut o = out(&r, h)?;
            o.code = if r.valid { 0 } else { 1 };
            Ok(o)
        }
        Command::Demo { software } => {
            let dir = ops::demo::pick_dir(
                cli.dir.as_deref(),
                &std::env::current_dir().unwrap_or_default(),
            )?;
            let softhsm = crate::signer::profiles::get("softhsm2")
                .ok()
                .and_then(|p| p.find_module().ok())
                .filter(|_| !*software);
            let conf = ops::demo::softhsm_conf(&dir);
            let in_child = std::env::var_os("SOFTHSM2_CONF").is_some_and(|c| conf.as_os_str() == c);
            if softhsm.is_some() && !in_child {
                // SoftHSM2 reads its store's location from SOFTHSM2_CONF when it starts: run the
                // demo again as a child process with it set to the demo's own store.
                let exe = std::env::current_exe()
                    .map_err(|e| Error::environment(format!("cannot find this program: {e}")))?;
                let mut c = std::process::Command::new(exe);
                c.arg("--dir")
                    .arg(&dir)
                    .arg("demo")
                    .env("SOFTHSM2_CONF", &conf);
                if cli.json {
                    c.arg("--json");
                }
                let status = c
                    .status()
                    .map_err(|e| Error::environment(format!("cannot start the demo: {e}")))?;
                return Ok(Output {
                    human: String::new(),
                    value: serde_json::Value::Null,
                    code: status.code().unwrap_or(3),
                    printed: false,
                }
                .passthrough());
            }
            let mut lines = Vec::new();
            let json = cli.json;
            let sysfs = ctx.sysfs.clone();
            let mut say = |l: &str| {
                if !json {
                    output::emit(&format!("{l}\n"));
                }
                lines.push(l.to_string());
            };
            let hsm = if in_child { softhsm.as_deref() } else { None };
            ops::demo::run(&dir, now, &sysfs, hsm, &mut say)?;
            out(
                &serde_json::json!({"dir": dir, "steps": lines}),
                String::new(),
            )
        }
    }
}

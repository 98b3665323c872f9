//! The command line's types: every command, option and argument (clap), apart from what the
//! commands do (`cli::*::run`).

use crate::tuf::Algorithm;
use crate::tuf::key::RsaScheme;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `--version`: the version, the commit `scripts/release` built (ROOTCELLAR_COMMIT at build
/// time) and the target.
fn long_version() -> String {
    format!(
        "{} (commit {}, {}-{})",
        env!("CARGO_PKG_VERSION"),
        option_env!("ROOTCELLAR_COMMIT").unwrap_or("unknown: not built by scripts/release"),
        std::env::consts::ARCH,
        std::env::consts::OS
    )
}

#[derive(Parser, Debug)]
#[command(
    name = "rootcellar",
    version,
    long_version = long_version(),
    about = "Keeps the root of trust of a TUF / Docker Content Trust repository offline and in hardware"
)]
pub struct Cli {
    /// The ceremony workspace (else ROOTCELLAR_DIR, else the nearest folder at or above the
    /// current one that holds rootcellar.toml, else the current folder).
    #[arg(long, global = true, value_name = "DIR")]
    pub(super) dir: Option<PathBuf>,
    /// Print the result as JSON (shape in docs/cli.md).
    #[arg(long, global = true)]
    pub(super) json: bool,
    /// Run even though the machine is online (a dry run: never for a real root); also
    /// ROOTCELLAR_ALLOW_ONLINE=1.
    #[arg(long, global = true, value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub(super) allow_online: Option<bool>,
    /// Read the passphrase or PIN from the first line of FILE; K=FILE for key K only (its
    /// name), or for the token labelled K or the YubiKey with serial K. Repeat for several.
    #[arg(long, global = true, value_name = "[K=]FILE")]
    pub(super) pin_file: Vec<String>,
    /// PKCS#11 module to load instead of the profile's (a path; also ROOTCELLAR_PKCS11_MODULE).
    #[arg(long, global = true, value_name = "PATH")]
    pub(super) module: Option<PathBuf>,
    /// Proceed where rootcellar refuses for safety: a PIN on its final try, or a root key its
    /// token does not vouch for (extractable, or not generated on the token).
    #[arg(long, global = true)]
    pub(super) force: bool,
    /// Use a YubiKey's factory-default management key (never tried otherwise).
    #[arg(long, global = true)]
    pub(super) default_management_key: bool,
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Subcommand, Debug)]
pub(super) enum Command {
    /// Create a ceremony workspace.
    Init {
        /// Repository name (the GUN, for Docker Content Trust).
        #[arg(long, alias = "gun")]
        name: Option<String>,
        /// Metadata dialect of the workspace: tuf (TUF 1.0) or notary (Notary v1 / Docker
        /// Content Trust; needs --gun).
        #[arg(long, value_enum, default_value_t = FormatArg::Tuf)]
        format: FormatArg,
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
        /// With --file, in a workspace without the published history: the full digest of the
        /// root the request follows, as the ceremony read it aloud or sent it on a second
        /// channel; only then is the request's own previous root trusted for the review.
        #[arg(long, value_name = "DIGEST", requires = "file")]
        trust_root_digest: Option<String>,
        /// Sign only if the root to sign has this full digest (the one `root show` or
        /// `request show` printed and the room read aloud); refused otherwise.
        #[arg(long, value_name = "DIGEST")]
        expect_digest: Option<String>,
    },
    /// Merge signed requests and detached signatures into the staged root (or --out FILE).
    Merge {
        /// Signed requests (root files) and detached signatures brought back by keyholders.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write the merged root to FILE instead of into the staged root.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Stage the next root with ROLE's key OLD replaced by NEW.
    Rotate {
        /// The role whose key is replaced: root, targets, snapshot or timestamp.
        role: String,
        /// The key leaving the role (name, key ID or unique prefix).
        #[arg(long, value_name = "K")]
        old: String,
        /// The registered key taking its place.
        #[arg(long, value_name = "K")]
        new: String,
        /// Expiry of the next version: a span (365d, 52w, 1y) or a time (2027-12-31). Default:
        /// the workspace's, from now.
        #[arg(long)]
        expires: Option<String>,
    },
    /// Stage the next root without key K in any role.
    Revoke {
        /// The key to remove from every role (name, key ID or unique prefix).
        key: String,
        /// Why (e.g. "lost", "compromised"); kept in the ceremony transcript.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Stage the next root with the same keys and a new expiry.
    Refresh {
        /// Expiry: a span (365d, 52w, 1y) or a time (2027-12-31, 2027-12-31T00:00:00Z). Default: the workspace's.
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
        /// The keys to try (repeat; default: every root key held here).
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
        #[arg(long, value_enum, default_value_t = VerifyFormat::Auto)]
        format: VerifyFormat,
        /// Notary: the repository name (GUN) the root certificates must carry.
        #[arg(long)]
        gun: Option<String>,
        /// Refuse a key ID that is not the SHA-256 of its key object, as tough-based clients
        /// do (python-tuf and go-tuf take key IDs as labels).
        #[arg(long)]
        strict_keyids: bool,
        /// Check every signature and name every valid signer (by default each count stops
        /// once its threshold is met, as a client does, and names the signers it counted).
        #[arg(long)]
        all_signatures: bool,
        /// A folder of YubiKey attestations (SERIAL/Slot9CAttestation.pem and
        /// SlotF9Intermediate.pem, as `attest export` and yubico-piv-tool write): match each key
        /// of the newest root to one by public key and check its chain to a pinned Yubico root.
        #[arg(long, value_name = "DIR")]
        attestations: Option<PathBuf>,
        /// With --attestations: fail unless every key of these roles (comma-separated, e.g.
        /// root,targets) is attested (and meets --policy).
        #[arg(
            long,
            value_name = "ROLES",
            value_delimiter = ',',
            requires = "attestations"
        )]
        require_attested: Vec<String>,
        /// With --attestations: minimums for the required roles' keys, e.g.
        /// pin=always,touch=always,firmware>=5.7 (PIN never < once < always; touch never <
        /// cached < always). Without --require-attested it applies to the root role.
        #[arg(long, value_name = "POLICY", requires = "attestations")]
        policy: Option<String>,
        /// Root files or folders of N.root.json, the trust anchor first (none: the workspace's
        /// published history).
        #[arg(value_name = "FILE")]
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
    /// Hardware attestations of the root's keys, to publish beside it.
    #[command(subcommand)]
    Attest(AttestCommand),
    /// HSM profiles: list them, probe a module.
    #[command(subcommand)]
    Hsm(HsmCommand),
    /// YubiKey PIN, PUK and management key.
    #[command(subcommand)]
    Yubikey(YubikeyCommand),
    /// Notary v1 / Docker Content Trust roots: certificates, roots, rotation, hand-over to TUF.
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
        /// The shell: bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
pub(super) struct ExportArgs {
    /// Folder to copy the published roots to (a mounted USB stick).
    #[arg(long, value_name = "DIR", conflicts_with = "qr")]
    pub(super) to: Option<PathBuf>,
    /// Replace different files of the same name in DIR.
    #[arg(long)]
    pub(super) overwrite: bool,
    /// With --to: also write the root keys' attestations into DIR/attestations (as
    /// `attest export` does), to publish beside the root.
    #[arg(long, requires = "to")]
    pub(super) attestations: bool,
    /// Encode a file as QR frames (default: the published root.json).
    #[arg(long)]
    pub(super) qr: bool,
    /// The file to encode (with --qr).
    #[arg(long, value_name = "FILE", requires = "qr")]
    pub(super) file: Option<PathBuf>,
    /// QR version 4-40 (default: 16, or what fits the terminal).
    #[arg(long = "qr-version", value_name = "V", requires = "qr")]
    pub(super) qr_version: Option<i16>,
    /// Error-correction level: L, M, Q or H.
    #[arg(long, default_value = "M", requires = "qr")]
    pub(super) ec: String,
    /// Write one PNG per frame into DIR.
    #[arg(long, value_name = "DIR", requires = "qr")]
    pub(super) png: Option<PathBuf>,
    /// Write one SVG per frame into DIR.
    #[arg(long, value_name = "DIR", requires = "qr")]
    pub(super) svg: Option<PathBuf>,
    /// Write a printable HTML sheet, one frame per page.
    #[arg(long, value_name = "FILE", requires = "qr")]
    pub(super) html: Option<PathBuf>,
    /// Write the frames' text, one per line.
    #[arg(long, value_name = "FILE", requires = "qr")]
    pub(super) text: Option<PathBuf>,
    /// On the terminal, move to the next frame every MS milliseconds.
    #[arg(long, value_name = "MS", requires = "qr")]
    pub(super) animate: Option<u64>,
}

#[derive(Subcommand, Debug)]
pub(super) enum ImportCommand {
    /// Reassemble QR frames from text files (one frame per line, any order) or images.
    Qr {
        /// The scanner's text files (one frame per line) or images of the frames (PNG, JPEG).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Write the root here (else into metadata/ when it chains onto what is published).
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// Start this Notary workspace's history from an existing repository's root.json (DIR
    /// holding it, or Docker's trust folder), so the next `notary root` rotates or renews it.
    Notary {
        /// The folder holding root.json, or Docker's trust folder (~/.docker/trust/tuf/GUN).
        #[arg(value_name = "DIR")]
        folder: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum AuditCommand {
    /// Check the transcript's chain and seals, and show the ceremony as a timeline.
    Verify,
    /// Show the transcript from line N on.
    Show {
        /// The first line to show (1 is the workspace's creation).
        #[arg(long, value_name = "N", default_value_t = 1)]
        since: u64,
    },
    /// Write a printable ceremony record (HTML) for the witnesses to sign.
    Print {
        /// The HTML file to write.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Record the workspace as it is now (key records, published files, the staged root) as
    /// what the transcript vouches for: for a workspace made before transcripts bound files,
    /// or after files were restored by hand. Check them first; the published history must verify.
    ReAnchor {
        /// Skip the typed confirmation by giving its word: `--confirm re-anchor`.
        #[arg(long, value_name = "WORD")]
        confirm: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum RequestCommand {
    /// Write the staged root and the version before it to FILE, for a keyholder signing apart.
    Export {
        /// The request file to write (never overwritten).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// What a request (bundle or root file) changes, in words, with its digest.
    Show {
        /// The request (a bundle from `request export`, or a root file).
        file: PathBuf,
        /// In a workspace without the published history: the full digest of the root the
        /// request follows, received on a second channel (see `sign --trust-root-digest`).
        #[arg(long, value_name = "DIGEST")]
        trust_root_digest: Option<String>,
    },
}

#[derive(Args, Debug)]
pub(super) struct SignWithArgs {
    /// Targets key(s) to sign with (default: every targets key this workspace holds).
    #[arg(long = "sign-with", value_name = "K")]
    pub(super) sign_with: Vec<String>,
    /// Expiry of the new targets metadata (default: the workspace's, 90d).
    #[arg(long)]
    pub(super) expires: Option<String>,
}

#[derive(Subcommand, Debug)]
pub(super) enum DelegateCommand {
    /// Delegate ROLE (e.g. targets/releases) to tagging keys.
    Add {
        /// The delegated role, e.g. targets/releases.
        role: String,
        /// Its tagging keys (registered; repeat).
        #[arg(long = "key", value_name = "K", required = true)]
        keys: Vec<String>,
        /// How many of its keys must sign its metadata.
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        /// Path patterns the role may sign for (default: *); in a Notary workspace, path
        /// prefixes (default: "", every path).
        #[arg(long = "paths", value_name = "PATTERN")]
        paths: Vec<String>,
        /// Clients stop looking further for a path this role matches.
        #[arg(long)]
        terminating: bool,
        #[command(flatten)]
        how: SignWithArgs,
    },
    /// Remove the delegation to ROLE.
    Remove {
        /// The delegated role to remove.
        role: String,
        #[command(flatten)]
        how: SignWithArgs,
    },
    /// Replace one of ROLE's keys.
    Rotate {
        /// The delegated role.
        role: String,
        /// The tagging key leaving the role.
        #[arg(long, value_name = "K")]
        old: String,
        /// The registered key taking its place.
        #[arg(long, value_name = "K")]
        new: String,
        #[command(flatten)]
        how: SignWithArgs,
    },
    /// The delegated roles.
    List,
}

#[derive(Subcommand, Debug)]
pub(super) enum NotaryCommand {
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
        /// How many root keys must sign.
        #[arg(long, default_value_t = 1)]
        threshold: u64,
        /// Registered keys for the online roles (default for a next version: the published ones).
        #[arg(long)]
        targets_key: Option<String>,
        /// The snapshot key (default for a next version: the published one).
        #[arg(long)]
        snapshot_key: Option<String>,
        /// The timestamp key (default for a next version: the published one).
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
        /// The root key (registered here, on its device).
        #[arg(long, value_name = "K")]
        key: String,
        /// Repository name (GUN); default: the workspace's.
        #[arg(long)]
        gun: Option<String>,
        /// Lifetime of the certificate, in years.
        #[arg(long, default_value_t = 10)]
        years: u32,
        /// Write the PEM certificate here (never overwritten) for a ceremony elsewhere;
        /// without, it is kept in the key's record for `notary root` in this workspace.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a hand-over statement as a client that trusts the Notary root would.
    CheckHandover {
        /// The statement file (`notary handover` wrote it).
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
pub(super) enum YubikeyCommand {
    /// Change the PIV PIN (current PIN, then the new one: ROOTCELLAR_PIN / ROOTCELLAR_NEW_PIN).
    ChangePin {
        /// The YubiKey's serial (needed when several are connected).
        #[arg(long)]
        serial: Option<u32>,
    },
    /// Change the PUK (ROOTCELLAR_PUK / ROOTCELLAR_NEW_PUK).
    ChangePuk {
        /// The YubiKey's serial (needed when several are connected).
        #[arg(long)]
        serial: Option<u32>,
    },
    /// Set a new PIN with the PUK after the PIN was locked.
    UnblockPin {
        /// The YubiKey's serial (needed when several are connected).
        #[arg(long)]
        serial: Option<u32>,
    },
    /// Replace the management key with a random one, stored PIN-protected on the device.
    SetManagementKey {
        /// The YubiKey's serial (needed when several are connected).
        #[arg(long)]
        serial: Option<u32>,
        /// Print the new key once instead of storing it on the device.
        #[arg(long)]
        print: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum DeviceCommand {
    /// Tokens (label, serial, PIN state) and their keys, for every profile whose module is here.
    List {
        /// Only this HSM profile's module (`rootcellar hsm profiles`).
        #[arg(long)]
        profile: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum HsmCommand {
    /// The HSM profiles, and whether each module is on this machine.
    Profiles,
    /// Probe a module: it loads, its tokens, their mechanisms.
    Check {
        /// The HSM profile whose module to probe (`rootcellar hsm profiles`).
        #[arg(long)]
        profile: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum AttestCommand {
    /// Write the attestation of every key of the published root (or the staged one) into DIR:
    /// SERIAL/Slot<SLOT>Attestation.pem and SERIAL/SlotF9Intermediate.pem per YubiKey, and
    /// attestations.json mapping key IDs to files (PKCS#11 keys: what the token said).
    Export {
        /// The folder to write (created when missing).
        #[arg(value_name = "DIR")]
        out: PathBuf,
        /// The staged root's keys instead of the published root's.
        #[arg(long)]
        staged: bool,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum KeyAttestationCommand {
    /// Check a YubiKey attestation a keyholder brings for key K (the slot certificate and the
    /// device's f9 certificate) and keep it in K's record.
    Add {
        /// The key (name, key ID or unique prefix).
        key: String,
        /// The slot certificate (e.g. Slot9CAttestation.pem) and SlotF9Intermediate.pem.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(super) enum KeyCommand {
    /// Generate a key pair.
    Generate {
        /// The key's name here (letters, digits, '.', '-', '_'), e.g. alice.
        #[arg(long)]
        name: String,
        /// Where the private key lives: software (trials), pkcs11 (an HSM token) or yubikey (PIV).
        #[arg(long, value_enum, default_value_t = BackendArg::Software)]
        backend: BackendArg,
        /// ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096.
        #[arg(long, default_value = "ecdsa-p256", value_parser = parse_alg)]
        algorithm: Algorithm,
        /// The signature scheme of an RSA key: rsassa-pss-sha256 (default), rsa-pkcs1v15-sha256,
        /// or the sha384/sha512 forms of either.
        #[arg(long, value_parser = parse_scheme)]
        scheme: Option<RsaScheme>,
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
        /// Where the key is: pkcs11 (an HSM token) or yubikey (a PIV slot).
        #[arg(long, value_enum)]
        backend: DeviceBackend,
        /// RFC 7512 URI, e.g. pkcs11:token=LABEL;id=%01 (`rootcellar device list` shows them).
        #[arg(long)]
        uri: Option<String>,
        /// The key's name here, e.g. alice.
        #[arg(long)]
        name: String,
        /// HSM profile (pkcs11), e.g. softhsm2 (`rootcellar hsm profiles`).
        #[arg(long)]
        profile: Option<String>,
        /// YubiKey serial.
        #[arg(long)]
        serial: Option<u32>,
        /// YubiKey PIV slot.
        #[arg(long, default_value = "9c")]
        slot: String,
        /// The scheme an RSA key signs with (default rsassa-pss-sha256).
        #[arg(long, value_parser = parse_scheme)]
        scheme: Option<RsaScheme>,
    },
    /// Verify a YubiKey key's attestation chain up to a pinned Yubico root.
    Attest {
        /// The key (name, key ID or unique prefix).
        key: String,
    },
    /// Attestations keyholders bring for keys made elsewhere.
    #[command(subcommand)]
    Attestation(KeyAttestationCommand),
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
        /// TUF key JSON (as python-tuf/securesystemslib write it), a PEM public key, or (Notary)
        /// a PEM certificate.
        file: PathBuf,
        /// The key's name here, e.g. online-targets.
        #[arg(long)]
        name: String,
    },
    /// List the registered keys.
    List,
    /// Print a key's public half: TUF key JSON (python-tuf, securesystemslib) or PEM.
    ExportPublic {
        /// The key (name, key ID or unique prefix).
        key: String,
        /// The form to print.
        #[arg(long, value_enum, default_value_t = KeyFormat::Tuf)]
        format: KeyFormat,
    },
}

#[derive(Args, Debug)]
pub(super) struct YubiKeyArgs {
    /// YubiKey serial (needed when several are connected).
    #[arg(long)]
    pub(super) serial: Option<u32>,
    /// PIV slot (yubikey).
    #[arg(long, default_value = "9c")]
    pub(super) slot: String,
    /// PIN policy of the new key (yubikey): always or once.
    #[arg(long, default_value = "always")]
    pub(super) pin_policy: String,
    /// Touch policy of the new key (yubikey): always, cached or never.
    #[arg(long, default_value = "always")]
    pub(super) touch_policy: String,
    /// Replace the key already in the slot (yubikey): it is lost for good.
    #[arg(long)]
    pub(super) overwrite: bool,
}

#[derive(Args, Debug)]
pub(super) struct NewArgs {
    /// Root keys (repeat).
    #[arg(long = "root-key", value_name = "K", required = true)]
    pub(super) root_keys: Vec<String>,
    /// Root threshold.
    #[arg(long)]
    pub(super) threshold: u64,
    /// Targets (tagging) keys (repeat).
    #[arg(long = "targets-key", value_name = "K", required = true)]
    pub(super) targets_keys: Vec<String>,
    /// How many targets keys must sign.
    #[arg(long, default_value_t = 1)]
    pub(super) targets_threshold: u64,
    /// The snapshot key (online).
    #[arg(long, value_name = "K")]
    pub(super) snapshot_key: String,
    /// The timestamp key (online).
    #[arg(long, value_name = "K")]
    pub(super) timestamp_key: String,
    /// Expiry: a span (365d) or a time (2027-12-31T00:00:00Z). Default: the workspace's.
    #[arg(long)]
    pub(super) expires: Option<String>,
    /// Whether clients fetch metadata and targets under their version or hash (true/false).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub(super) consistent_snapshot: bool,
}

#[derive(Subcommand, Debug)]
pub(super) enum RootCommand {
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
        /// Expiry: a span (365d, 52w, 1y) or a time (2027-12-31, 2027-12-31T00:00:00Z).
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

/// The dialect of a new workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum FormatArg {
    /// TUF 1.0, as python-tuf, go-tuf and tough read it.
    Tuf,
    /// Notary v1 / Docker Content Trust.
    Notary,
}

/// The dialect `verify` reads files in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum VerifyFormat {
    /// Each file by its `_type`.
    Auto,
    /// TUF 1.0.
    Tuf,
    /// Notary v1 / Docker Content Trust.
    Notary,
}

/// Where `key generate` makes a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum BackendArg {
    /// An encrypted key file in the workspace (trials, online keys).
    Software,
    /// A PKCS#11 HSM token.
    Pkcs11,
    /// A YubiKey PIV slot.
    Yubikey,
}

/// The form `key export-public` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum KeyFormat {
    /// The TUF key object, as a root lists it (python-tuf's Key.from_dict reads it).
    Tuf,
    /// PEM SubjectPublicKeyInfo (openssl, cloud KMS tools).
    Pem,
}

/// Where `key add` finds an existing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum DeviceBackend {
    /// A PKCS#11 HSM token.
    Pkcs11,
    /// A YubiKey PIV slot.
    Yubikey,
}

fn parse_alg(s: &str) -> std::result::Result<Algorithm, String> {
    s.parse()
}

fn parse_scheme(s: &str) -> std::result::Result<RsaScheme, String> {
    RsaScheme::parse(s).ok_or_else(|| {
        format!("unknown RSA scheme {s:?}: use rsassa-pss-sha256, rsa-pkcs1v15-sha256 or their sha384/sha512 forms")
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every option and argument of every command says what it is (issue 21): `--help` is the
    /// first manual an operator at a ceremony reads.
    #[test]
    fn every_option_of_every_command_has_help() {
        fn walk(c: &clap::Command, path: &str, missing: &mut Vec<String>) {
            if c.get_about().is_none() && !path.is_empty() {
                missing.push(format!("{path} (the command)"));
            }
            for a in c.get_arguments() {
                let id = a.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
                // Flags (true/false) and the shells of `completions` name themselves.
                let values = a.get_possible_values();
                let boolish = values.iter().any(|v| v.get_name() == "true");
                let named_elsewhere = !a.get_action().takes_values() || boolish || id == "shell";
                for v in values.iter().filter(|_| !named_elsewhere) {
                    if v.get_help().is_none() && !v.is_hide_set() {
                        missing.push(format!("{path} {id}={}", v.get_name()));
                    }
                }
            }
            for s in c.get_subcommands() {
                if s.get_name() == "help" {
                    continue;
                }
                walk(s, &format!("{path} {}", s.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "", &mut missing);
        assert!(
            missing.is_empty(),
            "{} without help:\n{}",
            missing.len(),
            missing.join("\n")
        );
    }
}

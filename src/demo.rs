//! The demo: a whole ceremony with software keys, no hardware and no prompts, in a new folder.
//!
//! Three root keys with threshold 2 and three online keys; version 1 signed and published; then
//! version 2 revokes one root key and adds another, is signed by a threshold of version 1's root
//! keys and of its own, published, and the chain 1 → 2 verified as a client would.

use crate::error::{Error, Result};
use crate::ops::context::{Context, GuardMode};
use crate::ops::root::{EditRoot, NewRoot};
use crate::prompt::FixedPrompt;
use crate::report::read_aloud;
use crate::tuf::Algorithm;
use crate::tuf::expiry::Timestamp;
use crate::tuf::key::RsaScheme;
use crate::workspace::Config;
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// The passphrase of demo keys (documented; demo keys are for trials only).
pub const DEMO_PASSPHRASE: &str = "rootcellar-demo";

/// Picks the demo folder: `dir` if given (it must not exist or be empty), else the first of
/// `rootcellar-demo`, `rootcellar-demo-2`, … under `base` that does not exist.
pub fn pick_dir(dir: Option<&Path>, base: &Path) -> Result<PathBuf> {
    if let Some(d) = dir {
        let empty = match std::fs::read_dir(d) {
            Ok(mut rd) => rd.next().is_none(),
            Err(_) => !d.exists(),
        };
        if !empty {
            return Err(
                Error::refused(format!("{} exists and is not empty", d.display()))
                    .hint("the demo writes only into a new or empty folder: choose another --dir"),
            );
        }
        return Ok(d.to_path_buf());
    }
    for n in 1u32..1000 {
        let name = if n == 1 {
            "rootcellar-demo".to_string()
        } else {
            format!("rootcellar-demo-{n}")
        };
        let p = base.join(name);
        if !p.exists() {
            return Ok(p);
        }
    }
    Err(Error::refused("too many rootcellar-demo folders here")
        .hint("remove old ones or pass --dir"))
}

/// Label of the demo's SoftHSM2 token.
pub const DEMO_TOKEN: &str = "rootcellar-demo";

/// Where the demo keeps its private SoftHSM2 store: `SOFTHSM2_CONF` must name this file when
/// the demo process starts (the CLI starts a child process with it set).
pub fn softhsm_conf(dir: &Path) -> PathBuf {
    dir.join("softhsm/softhsm2.conf")
}

fn setup_softhsm(dir: &Path, module: &Path, pin: &SecretString) -> Result<()> {
    let tokens = dir.join("softhsm/tokens");
    std::fs::create_dir_all(&tokens).map_err(|e| Error::io("create", &tokens, &e))?;
    let conf = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n",
        tokens.display()
    );
    crate::atomic::write_new_atomic(&softhsm_conf(dir), conf.as_bytes())?;
    let ctx = crate::signer::pkcs11::context(module)?;
    let mut so = [0u8; 16];
    getrandom::fill(&mut so).map_err(|e| Error::environment(format!("no randomness: {e}")))?;
    let so_pin = SecretString::from(hex::encode(so));
    crate::signer::pkcs11::init_free_token(&ctx, DEMO_TOKEN, &so_pin, pin)
}

/// How `launch` ran the demo.
pub enum Launched {
    /// A child process ran it (with SoftHSM2's store set) and printed everything; its exit code.
    Child(i32),
    /// It ran here, in this folder.
    Here(PathBuf),
}

/// `rootcellar demo`: a whole ceremony in a new folder (`dir`, else one under the current
/// folder). Where SoftHSM2 is installed (and not `software`), the root keys go into a SoftHSM2
/// token of the demo's own, which SoftHSM2 finds through `SOFTHSM2_CONF` when the process
/// starts: the demo then runs itself again as a child process with it set (`json` passed on).
pub fn launch(
    ctx: &Context,
    dir: Option<&Path>,
    software: bool,
    json: bool,
    say: &mut dyn FnMut(&str),
) -> Result<Launched> {
    let dir = pick_dir(dir, &std::env::current_dir().unwrap_or_default())?;
    let softhsm = crate::signer::profiles::get("softhsm2")
        .ok()
        .and_then(|p| p.find_module().ok())
        .filter(|_| !software);
    let conf = softhsm_conf(&dir);
    let in_child = std::env::var_os("SOFTHSM2_CONF").is_some_and(|c| conf.as_os_str() == c);
    if softhsm.is_some() && !in_child {
        let exe = std::env::current_exe()
            .map_err(|e| Error::environment(format!("cannot find this program: {e}")))?;
        let mut c = std::process::Command::new(exe);
        c.arg("--dir")
            .arg(&dir)
            .arg("demo")
            .env("SOFTHSM2_CONF", &conf);
        if json {
            c.arg("--json");
        }
        let status = c
            .status()
            .map_err(|e| Error::environment(format!("cannot start the demo: {e}")))?;
        return Ok(Launched::Child(status.code().unwrap_or(3)));
    }
    let hsm = if in_child { softhsm.as_deref() } else { None };
    run(&dir, ctx.now, &ctx.sysfs, hsm, say)?;
    Ok(Launched::Here(dir))
}

/// Runs the demo in `dir`, telling each step to `say`. Returns the workspace folder. With
/// `softhsm` (the SoftHSM2 module, and `SOFTHSM2_CONF` set to [`softhsm_conf`]), the root keys
/// are generated on a SoftHSM2 token of the demo's own.
pub fn run(
    dir: &Path,
    now: Timestamp,
    sysfs: &Path,
    softhsm: Option<&Path>,
    say: &mut dyn FnMut(&str),
) -> Result<PathBuf> {
    let prompt = FixedPrompt(SecretString::from(DEMO_PASSPHRASE));
    let mut ctx = Context::new(dir.to_path_buf(), &prompt, now);
    ctx.guard = GuardMode::Warn;
    ctx.sysfs = sysfs.to_path_buf();
    let flush = |ctx: &Context, say: &mut dyn FnMut(&str)| {
        for n in ctx.take_notices() {
            if n.starts_with("air-gap") {
                say(&format!("   note: {n}"));
            }
        }
    };

    crate::ops::init(&ctx, Config::new(Some("example.com/demo".into()), true))?;
    say(&format!("1. Workspace created in {}", dir.display()));
    if let Some(module) = softhsm {
        setup_softhsm(dir, module, &prompt.0)?;
        say(&format!(
            "   SoftHSM2 token {DEMO_TOKEN:?} created in {} for the root keys (a software HSM, real PKCS#11)",
            dir.join("softhsm").display()
        ));
    }

    say(if softhsm.is_some() {
        "2. Keys: root keys generated inside the SoftHSM2 token, online keys in software (real roots use a hardware HSM or a YubiKey):"
    } else {
        "2. Keys (software keys, encrypted with the demo passphrase; real roots use an HSM or a YubiKey):"
    });
    let target = crate::ops::key::Pkcs11Target {
        profile: Some("softhsm2".into()),
        token: Some(DEMO_TOKEN.into()),
    };
    let gen_key =
        |name: &str, alg: Algorithm, role: &str, say: &mut dyn FnMut(&str)| -> Result<()> {
            let k = if role == "root" && softhsm.is_some() {
                crate::ops::key::generate_pkcs11(&ctx, name, alg, RsaScheme::DEFAULT, &target)?
            } else {
                crate::ops::key::generate_software(&ctx, name, alg, RsaScheme::DEFAULT)?
            };
            say(&format!(
                "   {:<10} {:<10} {:<11} {:<9} {}",
                k.name,
                role,
                k.algorithm,
                k.backend,
                &k.keyid[..16]
            ));
            Ok(())
        };
    gen_key("alice", Algorithm::EcdsaP256, "root", say)?;
    gen_key("bob", Algorithm::Ed25519, "root", say)?;
    gen_key("carol", Algorithm::EcdsaP256, "root", say)?;
    gen_key("targets", Algorithm::Ed25519, "targets", say)?;
    gen_key("snapshot", Algorithm::Ed25519, "snapshot", say)?;
    gen_key("timestamp", Algorithm::Ed25519, "timestamp", say)?;
    flush(&ctx, say);

    let v = crate::ops::root::new(
        &ctx,
        &NewRoot {
            root_keys: vec!["alice".into(), "bob".into(), "carol".into()],
            threshold: 2,
            targets_keys: vec!["targets".into()],
            targets_threshold: 1,
            snapshot_key: "snapshot".into(),
            timestamp_key: "timestamp".into(),
            expires: None,
            consistent_snapshot: true,
        },
    )?
    .view;
    say(&format!(
        "3. Root version {} staged: root keys alice, bob, carol, threshold 2; expires {}; digest {}",
        v.version,
        v.expires,
        read_aloud(&v.digest)
    ));

    let s = crate::ops::root::sign(&ctx, &["alice".into()], None)?;
    say(&format!(
        "4. Signed by alice: {} of {} root signatures; publishable: {}",
        s.status.by_self.count(),
        s.status.by_self.threshold,
        s.status.publishable
    ));
    let s = crate::ops::root::sign(&ctx, &["bob".into()], None)?;
    say(&format!(
        "   Signed by bob:   {} of {} root signatures; publishable: {}",
        s.status.by_self.count(),
        s.status.by_self.threshold,
        s.status.publishable
    ));
    let p = crate::ops::root::publish(&ctx, &crate::ops::root::SealWith::Auto)?;
    say(&format!(
        "5. Published version {} → {}",
        p.version,
        p.files[0].display()
    ));

    gen_key("dave", Algorithm::EcdsaP256, "root", say)?;
    let v = crate::ops::root::edit_root(
        &ctx,
        &EditRoot {
            add: vec![("root".into(), "dave".into())],
            remove: vec![("root".into(), "carol".into())],
            ..EditRoot::default()
        },
    )?
    .view;
    say(&format!(
        "6. Root version {} staged: carol's key revoked, dave's added; digest {}",
        v.version,
        read_aloud(&v.digest)
    ));

    let s = crate::ops::root::sign(&ctx, &["alice".into(), "dave".into()], None)?;
    let prev = s
        .status
        .by_previous
        .as_ref()
        .map(|c| (c.count(), c.threshold))
        .unwrap_or((0, 0));
    say(&format!(
        "7. Signed by alice and dave: version 1's root keys {} of {}, version 2's {} of {}; publishable: {}",
        prev.0,
        prev.1,
        s.status.by_self.count(),
        s.status.by_self.threshold,
        s.status.publishable
    ));
    if let Err(e) = crate::ops::root::publish(&ctx, &crate::ops::root::SealWith::Auto) {
        say(&format!("   publish refused, as it must be: {}", e.message));
    }
    let s = crate::ops::root::sign(&ctx, &["bob".into()], None)?;
    let prev = s
        .status
        .by_previous
        .as_ref()
        .map(|c| (c.count(), c.threshold))
        .unwrap_or((0, 0));
    say(&format!(
        "   Signed by bob:  version 1's root keys {} of {}, version 2's {} of {}; publishable: {}",
        prev.0,
        prev.1,
        s.status.by_self.count(),
        s.status.by_self.threshold,
        s.status.publishable
    ));
    let p = crate::ops::root::publish(&ctx, &crate::ops::root::SealWith::Auto)?;
    say(&format!(
        "8. Published version {} → {}{}",
        p.version,
        p.files[0].display(),
        p.sealed_by
            .as_deref()
            .map(|k| format!("; transcript sealed by {k}"))
            .unwrap_or_default()
    ));

    let meta = dir.join("metadata");
    let r = crate::ops::verify::verify_files(None, std::slice::from_ref(&meta), now)?;
    if !r.valid {
        return Err(Error::refused(format!(
            "the demo's own chain does not verify: {}",
            r.failure.unwrap_or_default()
        )));
    }
    say(&format!(
        "9. Verified the chain 1.root.json → 2.root.json as a TUF client does: valid until {}",
        r.chain
            .as_ref()
            .and_then(|c| c.roots.last())
            .map(|x| x.expires.clone())
            .unwrap_or_default()
    ));
    let a = crate::ops::audit::verify(&ctx)?;
    say(&format!(
        "10. Transcript audit.log: {} lines, chain intact, {} seal(s) valid (`rootcellar audit verify`)",
        a.lines,
        a.seals.len()
    ));
    say(&format!(
        "Done. Files: {} (keys/, metadata/1.root.json, metadata/2.root.json, metadata/root.json, audit.log)",
        dir.display()
    ));
    // The binary that runs now is the one that works (after `scripts/demo` it is not on PATH).
    let me = std::env::current_exe()
        .ok()
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "rootcellar".into());
    say(&format!("Try: {me} --dir {} root show", dir.display()));
    say("(`cargo install --path .` puts rootcellar on your PATH.)");
    Ok(dir.to_path_buf())
}

//! Connects the model to the terminal and to the operations. Operations run on a worker thread
//! with a `Context` of their own, so device work (PIN, touch) never freezes the screen.

use super::model::{
    Effect, GenTarget, Job, KeyRow, Model, Msg, RequestReview, Snapshot, Staged, update,
};
use crate::error::{Error, Result};
use crate::ops::{self, Context, GuardMode};
use crate::prompt::{FixedPrompt, NoPrompt, Prompt};
use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

/// What the ceremony screen runs with (from the command line).
#[derive(Clone, Debug)]
pub struct Settings {
    pub dir: PathBuf,
    pub allow_online: bool,
    pub sysfs: PathBuf,
    pub module: Option<PathBuf>,
    pub force: bool,
    pub default_management_key: bool,
}

/// The prompt of a job: the secret typed on the screen, or none (the operation then says that
/// it needs one).
fn secret_prompt(secret: Option<secrecy::SecretString>) -> Box<dyn Prompt> {
    Box::new(ScreenPrompt(match secret {
        Some(sec) => Box::new(FixedPrompt(sec)),
        None => Box::new(NoPrompt),
    }))
}

/// The screen's prompt: the secret typed on it; the clock was confirmed on preflight, where
/// Enter means "the clock is right" and comes before any key or secret (the transcript says so).
struct ScreenPrompt(Box<dyn Prompt>);

impl Prompt for ScreenPrompt {
    fn secret(
        &self,
        kind: crate::prompt::SecretKind,
        label: &str,
    ) -> Result<secrecy::SecretString> {
        self.0.secret(kind, label)
    }
    fn new_secret(
        &self,
        kind: crate::prompt::SecretKind,
        label: &str,
    ) -> Result<secrecy::SecretString> {
        self.0.new_secret(kind, label)
    }
    fn can_retry(&self) -> bool {
        self.0.can_retry()
    }
    fn confirm_clock(&self, _now: &str) -> Result<Option<String>> {
        Ok(Some("confirmed on the ceremony screen's preflight".into()))
    }
}

fn context<'a>(s: &Settings, prompt: &'a dyn Prompt) -> Context<'a> {
    let mut ctx = Context::new(s.dir.clone(), prompt, time::OffsetDateTime::now_utc());
    if s.allow_online {
        ctx.guard = GuardMode::Warn;
    }
    ctx.sysfs = s.sysfs.clone();
    ctx.unlock.module = s.module.clone();
    ctx.unlock.force = s.force;
    ctx.unlock.default_management_key = s.default_management_key;
    ctx
}

/// An error as the screen shows it (text from files escaped).
fn pair(e: Error) -> (String, Option<String>) {
    (clean(&e.message), e.hint.as_deref().map(clean))
}

/// Text from files as the screen may show it: no control, escape or bidirectional character.
fn clean(s: &str) -> String {
    crate::text::field(s).into_owned()
}

/// Reads what the screen shows.
pub fn load(s: &Settings, list_devices: bool) -> Result<Snapshot> {
    let ctx = context(s, &NoPrompt);
    let o = ops::review::overview(&ctx)?;
    let st = o.status;
    let staged = match (&st.staged, &o.diff) {
        (Some(x), Some(d)) => Some(Staged {
            version: x.version,
            digest: d.digest.clone(),
            digest_aloud: d.read_aloud.clone(),
            diff: d.lines().iter().map(|l| clean(l)).collect(),
            by_previous: x.by_previous.as_ref().map(|c| (c.count(), c.threshold)),
            by_self: (x.by_self.count(), x.by_self.threshold),
            can_still_sign: x.can_still_sign.iter().map(|l| clean(l)).collect(),
            publishable: x.publishable,
            expires: clean(&d.expires_after),
            expires_in_days: crate::tuf::expiry::parse_tuf_time(&d.expires_after)
                .ok()
                .map(|t| crate::tuf::expiry::days_until(t, ctx.now)),
        }),
        _ => None,
    };
    let keys = o
        .keys
        .into_iter()
        .map(|k| KeyRow {
            in_root: k.roles.iter().any(|r| r == "root"),
            roles: k.roles,
            certificate: k.certificate,
            name: k.key.name,
            backend: k.key.backend,
            attestation: k.key.attestation.as_deref().map(clean),
        })
        .collect();
    let mut devices = Vec::new();
    let mut gen_targets = vec![GenTarget {
        label: "software key (trials only), encrypted with a passphrase".into(),
        backend: "software".into(),
        ..GenTarget::default()
    }];
    let listed = if list_devices {
        ops::device::list(&ctx, None).ok()
    } else {
        None
    };
    if let Some(d) = listed {
        for y in &d.yubikeys {
            gen_targets.push(GenTarget {
                label: format!("YubiKey {} (PIV slot 9c)", y.serial),
                backend: "yubikey".into(),
                serial: Some(y.serial),
                ..GenTarget::default()
            });
        }
        for mr in &d.pkcs11 {
            for t in &mr.tokens {
                gen_targets.push(GenTarget {
                    label: format!(
                        "{} token {:?} serial {}",
                        mr.profile, t.token.label, t.token.serial
                    ),
                    backend: "pkcs11".into(),
                    profile: Some(mr.profile.clone()),
                    token: Some(t.token.label.clone()),
                    ..GenTarget::default()
                });
            }
        }
        // One line per card: a YubiKey's PIV application, which the ykcs11 and OpenSC modules
        // show as tokens too, is named once, with the firmware advisory when it applies.
        let piv_view = |profile: &str| {
            let p = profile.to_ascii_lowercase();
            p.contains("ykcs11") || p.contains("opensc")
        };
        let cards = !d.yubikeys.is_empty();
        for y in d.yubikeys {
            let mut line = format!(
                "YubiKey {} (firmware {}, PIN tries left {})",
                y.serial,
                y.firmware,
                y.pin_retries
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "?".into())
            );
            for w in &y.warnings {
                line.push_str(&format!(" — {}", clean(w)));
            }
            devices.push(line);
        }
        for mr in d.pkcs11 {
            if cards && piv_view(&mr.profile) {
                continue;
            }
            for t in mr.tokens {
                devices.push(format!(
                    "{} token {:?} serial {} ({})",
                    mr.profile, t.token.label, t.token.serial, t.token.pin_state
                ));
            }
        }
    }
    Ok(Snapshot {
        dir: s.dir.display().to_string(),
        clock: o.clock,
        air_gap: o.air_gap,
        published: st.published.map(|p| (p.version, p.expires)),
        warnings: st.warnings.iter().map(|w| clean(w)).collect(),
        staged,
        keys,
        devices,
        gen_targets,
        devices_read: list_devices,
        online_allowed: s.allow_online,
        notary: o.gun,
        root_expiry: o.root_expiry,
        expiry_warning: o.expiry_warning,
    })
}

/// What the screen says of a version just staged: `what` was done; a Notary version names the
/// certificates made for it.
fn staged_lines(
    ctx: &Context,
    r: Result<ops::report::Staged>,
    tuf: impl FnOnce(u64, &str) -> String,
    what: String,
) -> Msg {
    Msg::Finished(
        r.map(|s| {
            let l = match &s.certificates {
                Some(r) => {
                    let mut l = vec![format!(
                        "Staged Notary root version {} ({what}), expiring {}.",
                        r.version, r.expires
                    )];
                    if !r.certificates_made.is_empty() {
                        l.push(format!(
                            "New certificates: {}.",
                            r.certificates_made.join(", ")
                        ));
                    }
                    l
                }
                None => vec![tuf(s.view.version, &s.view.expires)],
            };
            with_notices(ctx, l)
        })
        .map_err(pair),
    )
}

/// Carries out one job (on a worker thread).
pub fn execute(s: &Settings, job: Job) -> Msg {
    // Fault injection for the tests (as ROOTCELLAR_TEST_CRASH_AT): a job that fails anyhow.
    if std::env::var_os("ROOTCELLAR_TEST_JOB_PANIC").is_some() {
        panic!("ROOTCELLAR_TEST_JOB_PANIC is set");
    }
    match job {
        Job::Load { devices } => Msg::Loaded(load(s, devices).map(Box::new).map_err(pair)),
        Job::Refresh(expires) => {
            let ctx = context(s, &NoPrompt);
            staged_lines(
                &ctx,
                ops::root::refresh(&ctx, expires.as_deref()),
                |v, exp| format!("Staged root version {v} with the same keys, expiring {exp}."),
                "same keys, new certificates".into(),
            )
        }
        Job::Discard => {
            let ctx = context(s, &NoPrompt);
            Msg::Finished(
                ops::root::discard(&ctx)
                    .map(|v| match v {
                        Some(v) => vec![format!("Dropped the staged root version {v}.")],
                        None => vec!["Nothing was staged.".into()],
                    })
                    .map_err(pair),
            )
        }
        Job::Revoke(k) => {
            let ctx = context(s, &NoPrompt);
            staged_lines(
                &ctx,
                ops::root::revoke(&ctx, &k, None),
                |v, _| format!("Staged root version {v} without {k}."),
                format!("without {k}"),
            )
        }
        Job::Sign { key, secret, shown } => {
            let prompt = secret_prompt(secret);
            let ctx = context(s, prompt.as_ref());
            Msg::Finished(
                ops::root::sign(&ctx, std::slice::from_ref(&key), shown.as_deref())
                    .map(|r| {
                        with_notices(
                            &ctx,
                            vec![format!(
                                "Signed root version {} with {key}: verified.",
                                r.version
                            )],
                        )
                    })
                    .map_err(pair),
            )
        }
        Job::Publish { key, secret } => {
            let prompt = secret_prompt(secret);
            let ctx = context(s, prompt.as_ref());
            let with = match key {
                Some(k) => ops::root::SealWith::Key(k),
                None => ops::root::SealWith::Auto,
            };
            Msg::Finished(
                ops::root::publish(&ctx, &with)
                    .map(|r| {
                        let mut l = vec![format!(
                            "Published root version {} (expires {}), digest {}.",
                            r.version,
                            r.expires,
                            ops::report::read_aloud(&r.digest)
                        )];
                        l.extend(r.files.iter().map(|f| format!("  {}", f.display())));
                        if let Some(k) = &r.sealed_by {
                            l.push(format!("Transcript sealed by {k}."));
                        }
                        l.push("Next: export it to a USB stick (Export).".into());
                        with_notices(&ctx, l)
                    })
                    .map_err(pair),
            )
        }
        Job::Rotate { role, old, new } => {
            let ctx = context(s, &NoPrompt);
            staged_lines(
                &ctx,
                ops::root::rotate(&ctx, &role, &old, &new, None),
                |v, _| format!("Staged root version {v}: {role} key {old} replaced by {new}."),
                format!("{role} key {old} replaced by {new}"),
            )
        }
        Job::Delegate { role, key, secret } => {
            let prompt = secret_prompt(secret);
            let ctx = context(s, prompt.as_ref());
            Msg::Finished(
                ops::delegate::add(
                    &ctx,
                    &ops::delegate::Delegation {
                        role: role.clone(),
                        keys: vec![key.clone()],
                        threshold: 1,
                        paths: Vec::new(),
                        terminating: false,
                    },
                    &ops::delegate::SignWith::default(),
                )
                .map(|r| {
                    let mut l = vec![format!(
                        "Targets metadata version {} delegates {role} to {key}, signed by {}.",
                        r.version,
                        r.signed_by.join(", ")
                    )];
                    l.extend(r.files.iter().map(|f| format!("  {}", f.display())));
                    with_notices(&ctx, l)
                })
                .map_err(pair),
            )
        }
        Job::ReviewRequest { file, trust } => {
            let ctx = context(s, &NoPrompt);
            Msg::Reviewed(
                ops::request::show(&ctx, std::path::Path::new(&file), trust.as_deref())
                    .map(|d| RequestReview {
                        version: d.to_version,
                        digest_aloud: d.read_aloud.clone(),
                        diff: d.lines().iter().map(|l| clean(l)).collect(),
                        unverified: d.unverified.as_deref().map(clean),
                        digest: d.digest,
                    })
                    .map_err(pair),
            )
        }
        Job::SignFile {
            file,
            key,
            secret,
            trust,
            shown,
        } => {
            let prompt = secret_prompt(secret);
            let ctx = context(s, prompt.as_ref());
            Msg::Finished(
                ops::request::sign_request(
                    &ctx,
                    Some(std::path::Path::new(&file)),
                    std::slice::from_ref(&key),
                    None,
                    trust.as_deref(),
                    Some(&shown),
                )
                .map(|r| {
                    with_notices(
                        &ctx,
                        vec![
                            format!(
                                "Signed the request (root version {}, digest {}) with {key}.",
                                r.version,
                                ops::report::read_aloud(&r.digest)
                            ),
                            format!(
                                "Written back to {}: take it to the ceremony for `merge`.",
                                r.written.display()
                            ),
                        ],
                    )
                })
                .map_err(pair),
            )
        }
        Job::Qr => {
            let ctx = context(s, &NoPrompt);
            let (cols, rows) = crossterm::terminal::size()
                .map(|(c, r)| (c as usize, r as usize))
                .unwrap_or((80, 24));
            // The QR view is full screen: the code, and one caption line below it.
            let v = crate::transfer::render::full_screen_version(cols, rows, 25).max(4);
            Msg::Frames(
                ops::transfer::export_qr(&ctx, None, v, "L", &ops::transfer::QrOutputs::default())
                    .map(|r| {
                        let frames = r
                            .codes
                            .iter()
                            .map(|c| {
                                (
                                    c.width(),
                                    c.to_colors()
                                        .iter()
                                        .map(|x| *x == qrcode::Color::Dark)
                                        .collect(),
                                )
                            })
                            .collect();
                        (
                            frames,
                            format!(
                                "root.json, {} bytes, sha256 {}…, QR {}-L",
                                r.bytes,
                                &r.sha256[..16],
                                r.version
                            ),
                        )
                    })
                    .map_err(pair),
            )
        }
        Job::AddKey(key) => {
            let ctx = context(s, &NoPrompt);
            let args = ops::root::EditRoot {
                add: vec![("root".into(), key.clone())],
                ..ops::root::EditRoot::default()
            };
            Msg::Finished(
                ops::root::edit_root(&ctx, &args)
                    .map(|s| {
                        with_notices(
                            &ctx,
                            vec![format!(
                                "Staged root version {} with {key} as a root key.",
                                s.view.version
                            )],
                        )
                    })
                    .map_err(pair),
            )
        }
        Job::Generate {
            name,
            target,
            secret,
        } => {
            let prompt = secret_prompt(secret);
            let ctx = context(s, prompt.as_ref());
            let alg = crate::tuf::Algorithm::EcdsaP256;
            let scheme = crate::tuf::key::RsaScheme::DEFAULT;
            let made = match target.backend.as_str() {
                "pkcs11" => ops::key::generate_pkcs11(
                    &ctx,
                    &name,
                    alg,
                    scheme,
                    &ops::key::Pkcs11Target {
                        profile: target.profile.clone(),
                        token: target.token.clone(),
                    },
                ),
                "yubikey" => ops::yubikey::generate(
                    &ctx,
                    &name,
                    alg,
                    scheme,
                    &ops::yubikey::YubiKeyTarget {
                        serial: target.serial,
                        slot: "9c".into(),
                        pin_policy: "always".into(),
                        touch_policy: "always".into(),
                        overwrite: false,
                    },
                ),
                _ => ops::key::generate_software(&ctx, &name, alg, scheme),
            };
            Msg::Finished(
                made.map(|k| {
                    let mut l = vec![
                        format!(
                            "Generated {} on {}: key ID {}",
                            k.name, target.label, k.keyid
                        ),
                        format!("fingerprint {}", k.fingerprint),
                    ];
                    if let Some(a) = k.attestation {
                        l.push(a);
                    }
                    with_notices(&ctx, l)
                })
                .map_err(pair),
            )
        }
        Job::Certificate { key, secret } => {
            let prompt = secret_prompt(secret);
            let ctx = context(s, prompt.as_ref());
            let gun = ops::notary::workspace_gun(&ctx).unwrap_or_default();
            Msg::Finished(
                ops::notary::write_certificate(
                    &ctx,
                    &key,
                    &gun,
                    ops::root::DEFAULT_CERTIFICATE_YEARS,
                    None,
                )
                    .map(|r| {
                        with_notices(
                            &ctx,
                            vec![
                                format!(
                                    "Made the root certificate of {key} for {} on its device, valid until {}.",
                                    r.gun, r.not_after
                                ),
                                "Staging a version with this key now needs no device.".into(),
                            ],
                        )
                    })
                    .map_err(pair),
            )
        }
        Job::NewRoot(plan) => {
            let ctx = context(s, &NoPrompt);
            let args = ops::root::NewRoot {
                root_keys: plan.root.clone(),
                threshold: plan.threshold,
                targets_keys: vec![plan.targets.clone()],
                targets_threshold: 1,
                snapshot_key: plan.snapshot.clone(),
                timestamp_key: plan.timestamp.clone(),
                expires: (!plan.expires.is_empty()).then(|| plan.expires.clone()),
                consistent_snapshot: true,
            };
            staged_lines(
                &ctx,
                ops::root::new(&ctx, &args),
                |v, _| {
                    format!(
                        "Staged root version {v}: {} root keys, threshold {}.",
                        plan.root.len(),
                        plan.threshold
                    )
                },
                "version 1".into(),
            )
        }
        Job::Export(dir) => {
            let ctx = context(s, &NoPrompt);
            Msg::Finished(
                ops::transfer::export_usb(&ctx, std::path::Path::new(&dir), false)
                    .map(|files| {
                        let mut l = vec![format!("Exported to {dir}, read back and verified:")];
                        l.extend(
                            files
                                .iter()
                                .map(|f| format!("  {:<16} {}", f.name, f.action)),
                        );
                        with_notices(&ctx, l)
                    })
                    .map_err(pair),
            )
        }
    }
}

fn with_notices(ctx: &Context, mut lines: Vec<String>) -> Vec<String> {
    lines.extend(ctx.take_notices().into_iter().map(|n| format!("note: {n}")));
    lines.iter().map(|l| clean(l)).collect()
}

fn key_msg(k: event::KeyEvent) -> Option<Msg> {
    if k.kind != KeyEventKind::Press {
        return None;
    }
    Some(match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Msg::Interrupt,
        KeyCode::Up => Msg::Up,
        KeyCode::Down => Msg::Down,
        KeyCode::PageUp => Msg::PageUp,
        KeyCode::PageDown => Msg::PageDown,
        KeyCode::Enter => Msg::Enter,
        KeyCode::Esc => Msg::Esc,
        KeyCode::Backspace => Msg::Backspace,
        KeyCode::Char(c) => Msg::Char(c),
        _ => return None,
    })
}

/// Which message a job answers with, so that a job that fails anyhow still answers.
enum Reply {
    Loaded,
    Frames,
    Reviewed,
    Finished,
}

impl Reply {
    fn of(job: &Job) -> Reply {
        match job {
            Job::Load { .. } => Reply::Loaded,
            Job::Qr => Reply::Frames,
            Job::ReviewRequest { .. } => Reply::Reviewed,
            _ => Reply::Finished,
        }
    }
    fn failed(self, e: (String, Option<String>)) -> Msg {
        match self {
            Reply::Loaded => Msg::Loaded(Err(e)),
            Reply::Frames => Msg::Frames(Err(e)),
            Reply::Reviewed => Msg::Reviewed(Err(e)),
            Reply::Finished => Msg::Finished(Err(e)),
        }
    }
}

/// `rootcellar ceremony`: runs the screen until the operator quits.
pub fn run(s: Settings) -> Result<()> {
    let color = std::env::var_os("NO_COLOR").is_none();
    // NO_COLOR is honoured by the screen itself (`color`); crossterm must still send the
    // explicit black and white of the QR codes, or with NO_COLOR they would not show at all.
    crossterm::style::force_color_output(true);
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut m = Model::new(color);
    let mut terminal = ratatui::try_init().map_err(|e| {
        Error::environment(format!("cannot open the terminal: {e}")).hint("run it in a terminal")
    })?;
    // ratatui's panic hook gives the terminal back; only the screen's own thread may do that.
    // A job's thread that fails is caught below and its error shown on the screen, which goes
    // on in raw mode.
    let restore_and_report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A build that aborts on panic cannot show the error: it gives the terminal back.
        if cfg!(panic = "abort") || std::thread::current().name() == Some("main") {
            restore_and_report(info);
        }
    }));
    let start = |job: Job, tx: &mpsc::Sender<Msg>| {
        let tx = tx.clone();
        let s = s.clone();
        std::thread::spawn(move || {
            let reply = Reply::of(&job);
            let msg = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute(&s, job)))
                .unwrap_or_else(|p| {
                    let what = p
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    reply.failed((
                        format!("the operation stopped on an internal error: {}", clean(&what)),
                        Some("nothing more was written; see `rootcellar status` and `rootcellar audit verify`, and report this".into()),
                    ))
                });
            let _ = tx.send(msg);
        });
    };
    if let Effect::Start(job) = m.init() {
        start(job, &tx);
    }
    let result = (|| -> Result<()> {
        loop {
            // The header's clock is live (the operators compare it with a watch).
            m.snap.clock = crate::tuf::expiry::format_tuf_time(time::OffsetDateTime::now_utc());
            terminal
                .draw(|f| super::view::draw(f, &m))
                .map_err(|e| Error::environment(format!("terminal: {e}")))?;
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(_) => {
                    if event::poll(Duration::from_millis(120))
                        .map_err(|e| Error::environment(format!("terminal: {e}")))?
                    {
                        match event::read()
                            .map_err(|e| Error::environment(format!("terminal: {e}")))?
                        {
                            Event::Key(k) => match key_msg(k) {
                                Some(msg) => msg,
                                None => continue,
                            },
                            _ => continue,
                        }
                    } else {
                        Msg::Tick
                    }
                }
            };
            match update(&mut m, msg) {
                Effect::Nothing => {}
                Effect::Start(job) => start(job, &tx),
                Effect::Quit => return Ok(()),
            }
        }
    })();
    ratatui::restore();
    result
}

//! The ceremony screen's model and `update` (The Elm Architecture): pure, no terminal, no I/O.
//! The runner turns terminal keys into [`Msg`], carries out the [`Effect`]s `update` returns
//! (operations run off the UI thread) and feeds their results back as messages.
//!
//! Invariants: an operation in flight is never abandoned (keys other than the spinner's tick
//! are ignored while busy); a secret typed into the masked field lives in a zeroizing buffer and
//! is handed to exactly one operation; errors stay on the screen that caused them.

use secrecy::SecretString;
use zeroize::Zeroizing;

/// What the screen shows, read from the workspace by the runner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub dir: String,
    pub clock: String,
    pub air_gap: Vec<String>,
    pub published: Option<(u64, String)>,
    pub warnings: Vec<String>,
    pub staged: Option<Staged>,
    pub keys: Vec<KeyRow>,
    pub devices: Vec<String>,
    /// Where a new key can be generated.
    pub gen_targets: Vec<GenTarget>,
    /// Whether the devices were listed for this snapshot (they are not after each operation).
    pub devices_read: bool,
    /// Started with --allow-online: an online machine is a dry run, not a stop.
    pub online_allowed: bool,
    /// A Notary v1 / DCT workspace: its GUN (root keys are named by certificates).
    pub notary: Option<String>,
    /// The workspace's default expiry for a new root (e.g. "365d"), offered when one is asked.
    pub root_expiry: String,
    /// How close an expiry may come before it is warned about (e.g. "60d").
    pub expiry_warning: String,
}

/// A place to generate a key: software, a PKCS#11 token, a YubiKey.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GenTarget {
    pub label: String,
    pub backend: String,
    pub profile: Option<String>,
    pub token: Option<String>,
    pub serial: Option<u32>,
}

/// Version 1 as it is being put together.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RootPlan {
    pub root: Vec<String>,
    pub threshold: u64,
    pub targets: String,
    pub snapshot: String,
    pub timestamp: String,
    /// The expiry as confirmed on the screen (RFC 3339; empty: not asked, a Notary root).
    pub expires: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Staged {
    pub version: u64,
    /// The full digest of its signed part: what a signature covers, checked again when signing.
    pub digest: String,
    pub digest_aloud: String,
    pub diff: Vec<String>,
    /// (signatures counted, threshold) for the previous version's root keys.
    pub by_previous: Option<(usize, u64)>,
    pub by_self: (usize, u64),
    pub can_still_sign: Vec<String>,
    pub publishable: bool,
    /// When it expires (as written), and in how many days from the snapshot's time.
    pub expires: String,
    pub expires_in_days: Option<i64>,
}

/// A request's review, computed against the workspace's published chain (or marked
/// unverified), as the keyholder reads it before signing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestReview {
    pub version: u64,
    pub digest: String,
    pub digest_aloud: String,
    pub diff: Vec<String>,
    /// Why nothing here vouches for the version the request follows: then it is not signed.
    pub unverified: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyRow {
    pub name: String,
    pub backend: String,
    pub in_root: bool,
    pub attestation: Option<String>,
    /// Roles of the root it is in (staged, else published).
    pub roles: Vec<String>,
    /// Notary workspaces: a root certificate is kept in the key's record.
    pub certificate: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Review,
    Sign,
    Publish,
    /// Drop the staged root (after typing "discard").
    Discard,
    Refresh,
    Revoke,
    RotateRoot,
    RotateTargets,
    Delegate,
    SignRequest,
    ShowQr,
    AddKey,
    GenerateKey,
    /// Notary workspaces: a key's root certificate, made on its device.
    Certificate,
    NewRoot,
    Export,
    Quit,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Review => "Review the staged root",
            Action::Sign => "Sign the staged root (one keyholder at a time)",
            Action::Publish => "Publish the staged root",
            Action::Discard => "Discard the staged root (its signatures are lost)",
            Action::Refresh => {
                "Refresh the expiry (next version, same keys; Notary: new certificates)"
            }
            Action::Revoke => "Revoke a key (stage the next version without it)",
            Action::RotateRoot => "Rotate a keyholder's root key (same place, new key)",
            Action::RotateTargets => "Rotate the targets (tagging) key",
            Action::Delegate => "Delegate a tagging role to a key (e.g. targets/releases)",
            Action::SignRequest => "Sign a request brought on a USB stick",
            Action::ShowQr => "Show the published root as QR codes",
            Action::AddKey => "Add a keyholder's key to the root",
            Action::GenerateKey => "Generate a key (software, HSM token or YubiKey)",
            Action::Certificate => "Make a key's Notary root certificate on its device",
            Action::NewRoot => "Create root version 1",
            Action::Export => "Export the published roots to a folder (USB stick)",
            Action::Quit => "Quit",
        }
    }
}

/// The role a rotation replaces a key in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotateRole {
    Root,
    Targets,
}

impl RotateRole {
    pub fn name(self) -> &'static str {
        match self {
            RotateRole::Root => "root",
            RotateRole::Targets => "targets",
        }
    }
}

/// Where version 1 being put together stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanStep {
    /// Ticking the root keys.
    RootKeys,
    Threshold,
    Targets,
    Snapshot,
    Timestamp,
    /// When version 1 expires.
    Expires,
}

/// What the operator is doing, with what its steps gathered so far. The screens of a flow carry
/// it, so going back (Esc) returns to the step before with what it held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flow {
    Sign,
    /// Publish, sealing the transcript with the key picked.
    Publish,
    Revoke,
    AddKey,
    /// Notary workspaces: a key's root certificate, made on its device.
    Certificate,
    /// A rotation: the old key once picked, then the new one.
    Rotate {
        role: RotateRole,
        old: Option<String>,
    },
    NewRoot {
        plan: RootPlan,
        ticked: Vec<String>,
        step: PlanStep,
    },
    /// A delegation to the tagging role named (once typed).
    Delegate {
        role: String,
    },
    /// Signing a request file: its path (once typed), the digest of the root it follows when
    /// the keyholder typed one read aloud, and its review (once computed).
    SignRequest {
        file: String,
        trust: Option<String>,
        review: Option<RequestReview>,
    },
    /// A new key: its name (once typed) and where it goes (once chosen).
    Generate {
        name: String,
        target: Option<GenTarget>,
    },
    /// Dropping the staged root: "discard" typed to confirm.
    Discard,
    /// The next version with the same keys: its expiry, once typed.
    Refresh,
}

/// QR frames, full screen, and the frame shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrView {
    pub frames: Vec<QrFrame>,
    pub frame: usize,
    pub caption: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    Preflight,
    Choose,
    Review,
    /// A request's review, before anything is asked for (`Flow::SignRequest` with its review).
    RequestReview(Flow),
    /// A key for the flow.
    PickKey(Flow),
    /// A line of text for the flow: a role, a request file, a key name, a threshold.
    Input(Flow),
    /// Where to generate a key.
    PickTarget(Flow),
    /// The masked PIN or passphrase of the key named, for the flow.
    Secret(Flow, String),
    ExportDir,
    Qr(QrView),
    Busy,
    Done,
    QuitConfirm,
}

/// Work for the runner, off the UI thread.
#[derive(Debug)]
pub enum Job {
    /// Read the workspace; list the devices too when `devices`.
    Load {
        devices: bool,
    },
    /// The next version with the same keys, expiring then (RFC 3339; none: a Notary root).
    Refresh(Option<String>),
    Discard,
    Revoke(String),
    /// Sign the staged root, refused if its digest is no longer the one `shown`.
    Sign {
        key: String,
        secret: Option<SecretString>,
        shown: Option<String>,
    },
    /// Publish; seal the transcript with `key` when one is given.
    Publish {
        key: Option<String>,
        secret: Option<SecretString>,
    },
    Export(String),
    Rotate {
        role: String,
        old: String,
        new: String,
    },
    Delegate {
        role: String,
        key: String,
        secret: Option<SecretString>,
    },
    /// Compute a request's review (with the digest of the root it follows, if typed).
    ReviewRequest {
        file: String,
        trust: Option<String>,
    },
    /// Sign a request, refused if its digest is no longer the one `shown` in its review.
    SignFile {
        file: String,
        key: String,
        secret: Option<SecretString>,
        trust: Option<String>,
        shown: String,
    },
    Qr,
    AddKey(String),
    Generate {
        name: String,
        target: GenTarget,
        secret: Option<SecretString>,
    },
    /// Notary: make `key`'s root certificate on its device and keep it in its record.
    Certificate {
        key: String,
        secret: Option<SecretString>,
    },
    NewRoot(RootPlan),
}

/// One QR frame to draw: its side in modules, and its dark modules row by row.
pub type QrFrame = (usize, Vec<bool>);

#[derive(Debug)]
pub enum Msg {
    Up,
    Down,
    PageUp,
    PageDown,
    Enter,
    Esc,
    Char(char),
    Backspace,
    /// Ctrl-C: asks to quit, as q does, even in a text field.
    Interrupt,
    Tick,
    Loaded(Result<Box<Snapshot>, (String, Option<String>)>),
    /// A job finished: what it did, or what went wrong and what to do.
    Finished(Result<Vec<String>, (String, Option<String>)>),
    /// QR frames to show: (side in modules, dark modules row by row) per frame, and a caption.
    Frames(Result<(Vec<QrFrame>, String), (String, Option<String>)>),
    /// A request's review.
    Reviewed(Result<RequestReview, (String, Option<String>)>),
}

#[derive(Debug)]
pub enum Effect {
    Nothing,
    Start(Job),
    Quit,
}

pub struct Model {
    pub screen: Screen,
    back: Vec<Screen>,
    pub snap: Snapshot,
    pub cursor: usize,
    /// The line being typed (Input, ExportDir).
    pub input: String,
    secret: Zeroizing<String>,
    /// A new passphrase typed once, waiting to be typed again.
    first_secret: Option<Zeroizing<String>>,
    pub error: Option<(String, Option<String>)>,
    pub busy: Option<String>,
    pub spinner: usize,
    pub done: Vec<String>,
    /// The screen to show after the job in flight.
    after: Screen,
    /// A job finished: once the workspace is read again, Esc leads back to the menu.
    reset_nav: bool,
    pub color: bool,
    /// An expiry inside the warning window, shown once: Enter on the same text keeps it.
    expiry_warned: Option<String>,
    /// The first line shown of a screen of text longer than the terminal (0 on a new screen).
    pub scroll: u16,
    /// How far that text can scroll, as the last drawing found it (0: it fits).
    pub scroll_limit: std::cell::Cell<u16>,
}

/// An expiry typed on the screen, read as `rootcellar --expires` reads it, as of the header's
/// clock: the time (RFC 3339, whole seconds), the days left, and whether it falls inside the
/// workspace's warning window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiryPreview {
    pub expires: String,
    pub days: i64,
    pub inside_window: bool,
}

impl Snapshot {
    /// Reads `text` as an expiry, as of the header's clock.
    pub fn expiry(&self, text: &str) -> Result<ExpiryPreview, String> {
        use crate::tuf::expiry::{format_tuf_time, parse_tuf_time, parse_user_time, truncate};
        let now = parse_tuf_time(&self.clock)?;
        let t = truncate(parse_user_time(text.trim(), now)?);
        if t <= now {
            return Err(format!(
                "{} is not in the future (the clock says {})",
                format_tuf_time(t),
                self.clock
            ));
        }
        let window = parse_user_time(&self.expiry_warning, now).unwrap_or(now);
        Ok(ExpiryPreview {
            expires: format_tuf_time(t),
            days: crate::tuf::expiry::days_until(t, now),
            inside_window: t <= window,
        })
    }
}

impl Model {
    pub fn new(color: bool) -> Model {
        Model {
            screen: Screen::Busy,
            back: Vec::new(),
            snap: Snapshot::default(),
            cursor: 0,
            input: String::new(),
            secret: Zeroizing::new(String::new()),
            first_secret: None,
            error: None,
            busy: Some("Reading the workspace and the devices…".into()),
            spinner: 0,
            done: Vec::new(),
            after: Screen::Preflight,
            reset_nav: false,
            color,
            expiry_warned: None,
            scroll: 0,
            scroll_limit: std::cell::Cell::new(0),
        }
    }

    /// Screens of text rather than lists or fields: ↑ ↓ PgUp PgDn scroll them.
    fn scrolls(&self) -> bool {
        matches!(
            self.screen,
            Screen::Preflight | Screen::Review | Screen::RequestReview(_) | Screen::Done
        )
    }

    fn scroll_by(&mut self, delta: i32) {
        let limit = i32::from(self.scroll_limit.get());
        self.scroll = (i32::from(self.scroll) + delta).clamp(0, limit) as u16;
    }

    /// The effect to start with.
    pub fn init(&self) -> Effect {
        Effect::Start(Job::Load { devices: true })
    }

    /// Length of the masked field (what the screen shows as dots).
    pub fn secret_len(&self) -> usize {
        self.secret.chars().count()
    }

    /// The actions offered now.
    pub fn menu(&self) -> Vec<Action> {
        let mut m = Vec::new();
        match &self.snap.staged {
            Some(s) => {
                m.push(Action::Review);
                m.push(Action::Sign);
                if s.publishable {
                    m.push(Action::Publish);
                }
            }
            None if self.snap.published.is_some() => {
                m.push(Action::Refresh);
                m.push(Action::Revoke);
                m.push(Action::RotateRoot);
                m.push(Action::RotateTargets);
            }
            None => m.push(Action::NewRoot),
        }
        if self.snap.published.is_some() {
            m.push(Action::Delegate);
            m.push(Action::Export);
            m.push(Action::ShowQr);
        }
        m.push(Action::SignRequest);
        if self.snap.published.is_some() {
            m.push(Action::AddKey);
        }
        m.push(Action::GenerateKey);
        if self.snap.notary.is_some() {
            m.push(Action::Certificate);
        }
        if self.snap.staged.is_some() {
            m.push(Action::Discard);
        }
        m.push(Action::Quit);
        m
    }

    /// The keys the key list of `flow` offers.
    pub fn keys_for(&self, flow: &Flow) -> Vec<String> {
        let names = |f: &dyn Fn(&KeyRow) -> bool| -> Vec<String> {
            self.snap
                .keys
                .iter()
                .filter(|k| f(k))
                .map(|k| k.name.clone())
                .collect()
        };
        match flow {
            Flow::Sign => self
                .snap
                .staged
                .as_ref()
                .map(|s| s.can_still_sign.clone())
                .unwrap_or_default(),
            Flow::Revoke => names(&|k| k.in_root),
            Flow::Rotate { role, old } => {
                let holds = |k: &KeyRow| k.roles.iter().any(|r| r == role.name());
                match old {
                    None => names(&holds),
                    Some(_) => names(&|k| !holds(k)),
                }
            }
            Flow::Delegate { .. } => names(&|k| !k.in_root),
            Flow::Publish => names(&|k| k.in_root && k.backend != "public"),
            Flow::SignRequest { .. } | Flow::Certificate => names(&|k| k.backend != "public"),
            Flow::AddKey => names(&|k| !k.in_root),
            Flow::NewRoot { .. } => names(&|_| true),
            Flow::Generate { .. } | Flow::Discard | Flow::Refresh => Vec::new(),
        }
    }

    /// The keys the key list on screen offers.
    pub fn pick_list(&self) -> Vec<String> {
        match &self.screen {
            Screen::PickKey(flow) => self.keys_for(flow),
            _ => Vec::new(),
        }
    }

    fn go(&mut self, s: Screen) {
        self.back.push(std::mem::replace(&mut self.screen, s));
        self.cursor = 0;
        self.error = None;
        // Choosing an online key for version 1: start on the first key that is not one of
        // its root keys, not on a root key.
        if let Screen::PickKey(Flow::NewRoot { plan, step, .. }) = &self.screen
            && *step != PlanStep::RootKeys
        {
            let root = plan.root.clone();
            self.cursor = (self.pick_list().iter())
                .position(|k| !root.contains(k))
                .unwrap_or(0);
        }
    }

    fn start(&mut self, job: Job, what: &str, after: Screen) -> Effect {
        self.back
            .push(std::mem::replace(&mut self.screen, Screen::Busy));
        self.busy = Some(what.into());
        self.after = after;
        self.error = None;
        Effect::Start(job)
    }

    fn list_len(&self) -> usize {
        match &self.screen {
            Screen::Choose => self.menu().len(),
            Screen::PickKey(_) => self.pick_list().len(),
            Screen::PickTarget(_) => self.snap.gen_targets.len(),
            _ => 0,
        }
    }

    fn backend_of(&self, name: &str) -> String {
        self.snap
            .keys
            .iter()
            .find(|k| k.name == name)
            .map(|k| k.backend.clone())
            .unwrap_or_default()
    }

    /// Whether a new passphrase was typed once and is asked again.
    pub fn asking_again(&self) -> bool {
        self.first_secret.is_some()
    }

    fn refuse(&mut self, msg: impl Into<String>, hint: impl Into<String>) -> Effect {
        self.error = Some((msg.into(), Some(hint.into())));
        Effect::Nothing
    }
}

/// Applies `msg` to `m`; returns what the runner must do. A new screen starts at its top.
pub fn update(m: &mut Model, msg: Msg) -> Effect {
    let before = std::mem::discriminant(&m.screen);
    let effect = apply(m, msg);
    if std::mem::discriminant(&m.screen) != before {
        m.scroll = 0;
        m.scroll_limit.set(0);
    }
    effect
}

fn apply(m: &mut Model, msg: Msg) -> Effect {
    // While an operation runs, only its end (and the spinner) count.
    if m.screen == Screen::Busy {
        return finish(m, msg);
    }
    if m.screen == Screen::QuitConfirm {
        return match msg {
            Msg::Char('y') | Msg::Char('Y') => Effect::Quit,
            Msg::Char('n') | Msg::Char('N') | Msg::Esc => {
                m.screen = m.back.pop().unwrap_or(Screen::Choose);
                Effect::Nothing
            }
            _ => Effect::Nothing,
        };
    }
    let typing = matches!(
        m.screen,
        Screen::Secret(..) | Screen::ExportDir | Screen::Input(_)
    );
    match msg {
        Msg::Interrupt => {
            m.secret.clear();
            m.go(Screen::QuitConfirm);
            Effect::Nothing
        }
        Msg::Tick | Msg::Loaded(_) | Msg::Finished(_) | Msg::Frames(_) | Msg::Reviewed(_) => {
            Effect::Nothing
        }
        Msg::Char(' ') | Msg::Down | Msg::Char('n') if matches!(m.screen, Screen::Qr(_)) => {
            if let Screen::Qr(q) = &mut m.screen
                && !q.frames.is_empty()
            {
                q.frame = (q.frame + 1) % q.frames.len();
            }
            Effect::Nothing
        }
        Msg::Up | Msg::Char('b') if matches!(m.screen, Screen::Qr(_)) => {
            if let Screen::Qr(q) = &mut m.screen
                && !q.frames.is_empty()
            {
                q.frame = (q.frame + q.frames.len() - 1) % q.frames.len();
            }
            Effect::Nothing
        }
        Msg::Char('q') if !typing => {
            m.go(Screen::QuitConfirm);
            Effect::Nothing
        }
        Msg::Esc => {
            m.secret.clear();
            m.first_secret = None;
            m.input.clear();
            m.error = None;
            if let Some(prev) = m.back.pop() {
                m.screen = prev;
                m.cursor = 0;
            }
            Effect::Nothing
        }
        Msg::Up | Msg::PageUp | Msg::Down | Msg::PageDown if m.scrolls() => {
            let page = i32::from(m.scroll_limit.get()).clamp(1, 10);
            m.scroll_by(match msg {
                Msg::Up => -1,
                Msg::Down => 1,
                Msg::PageUp => -page,
                _ => page,
            });
            Effect::Nothing
        }
        Msg::Up => {
            m.cursor = m.cursor.saturating_sub(1);
            Effect::Nothing
        }
        Msg::Down => {
            if m.cursor + 1 < m.list_len() {
                m.cursor += 1;
            }
            Effect::Nothing
        }
        Msg::Char(c) if typing => {
            if matches!(m.screen, Screen::Secret(..)) {
                m.secret.push(c);
            } else {
                m.input.push(c);
            }
            m.error = None;
            Effect::Nothing
        }
        Msg::Backspace if typing => {
            if matches!(m.screen, Screen::Secret(..)) {
                m.secret.pop();
            } else {
                m.input.pop();
            }
            Effect::Nothing
        }
        Msg::Char(' ') => {
            // Ticking version 1's root keys.
            let key = m.pick_list().get(m.cursor).cloned();
            if let (
                Screen::PickKey(Flow::NewRoot {
                    ticked,
                    step: PlanStep::RootKeys,
                    ..
                }),
                Some(k),
            ) = (&mut m.screen, key)
            {
                match ticked.iter().position(|t| *t == k) {
                    Some(i) => {
                        ticked.remove(i);
                    }
                    None => ticked.push(k),
                }
            }
            Effect::Nothing
        }
        Msg::Char('s') if m.screen == Screen::Review => {
            m.go(Screen::PickKey(Flow::Sign));
            Effect::Nothing
        }
        Msg::Enter => enter(m),
        _ => Effect::Nothing,
    }
}

/// A message while a job runs: the spinner, or the job's end.
fn finish(m: &mut Model, msg: Msg) -> Effect {
    match msg {
        Msg::Tick => {
            m.spinner = m.spinner.wrapping_add(1);
            Effect::Nothing
        }
        Msg::Loaded(Ok(snap)) => {
            let mut snap = *snap;
            if !snap.devices_read && !m.snap.gen_targets.is_empty() {
                // A re-read after an operation: the devices listed at the start still stand.
                snap.devices = std::mem::take(&mut m.snap.devices);
                snap.gen_targets = std::mem::take(&mut m.snap.gen_targets);
            }
            m.snap = snap;
            m.busy = None;
            m.screen = m.after.clone();
            m.cursor = 0;
            if m.reset_nav {
                m.back = vec![Screen::Choose];
                m.reset_nav = false;
            }
            Effect::Nothing
        }
        Msg::Loaded(Err(e)) => {
            m.busy = None;
            m.error = Some(e);
            m.screen = m.after.clone();
            Effect::Nothing
        }
        Msg::Finished(Ok(lines)) => {
            m.done = lines;
            m.reset_nav = true;
            // Read the workspace again before showing what changed.
            m.busy = Some("Reading the workspace again…".into());
            Effect::Start(Job::Load { devices: false })
        }
        Msg::Frames(Ok((frames, caption))) => {
            m.busy = None;
            m.screen = Screen::Qr(QrView {
                frames,
                frame: 0,
                caption,
            });
            Effect::Nothing
        }
        Msg::Reviewed(Ok(r)) => {
            m.busy = None;
            m.screen = match m.after.clone() {
                Screen::RequestReview(Flow::SignRequest { file, trust, .. }) => {
                    Screen::RequestReview(Flow::SignRequest {
                        file,
                        trust,
                        review: Some(r),
                    })
                }
                other => other,
            };
            m.cursor = 0;
            Effect::Nothing
        }
        Msg::Frames(Err(e)) | Msg::Finished(Err(e)) | Msg::Reviewed(Err(e)) => {
            m.busy = None;
            m.error = Some(e);
            // Back to the screen the operation was started from.
            m.screen = m.back.pop().unwrap_or(Screen::Choose);
            Effect::Nothing
        }
        _ => Effect::Nothing,
    }
}

fn enter(m: &mut Model) -> Effect {
    match m.screen.clone() {
        Screen::Preflight => {
            // A red air-gap line stops here, before any key or secret is asked for.
            if !m.snap.air_gap.is_empty() && !m.snap.online_allowed {
                return m.refuse(
                    "this machine is online: no private key may be made or used here",
                    "take it off the network (unplug the cable, `rfkill block all`) and start the screen again; for a dry run, start it with --allow-online",
                );
            }
            m.go(Screen::Choose);
            Effect::Nothing
        }
        Screen::Choose => enter_choose(m),
        Screen::Review => {
            m.go(Screen::PickKey(Flow::Sign));
            Effect::Nothing
        }
        Screen::RequestReview(flow) => enter_request_review(m, flow),
        Screen::PickKey(flow) => enter_pick(m, flow),
        Screen::PickTarget(Flow::Generate { name, .. }) => {
            let Some(t) = m.snap.gen_targets.get(m.cursor).cloned() else {
                return Effect::Nothing;
            };
            let flow = Flow::Generate {
                name,
                target: Some(t),
            };
            m.go(Screen::Secret(flow, String::new()));
            Effect::Nothing
        }
        Screen::Secret(flow, key) => enter_secret(m, flow, key),
        Screen::Input(flow) => enter_input(m, flow),
        Screen::ExportDir => {
            let dir = m.input.trim().to_string();
            if dir.is_empty() {
                return m.refuse(
                    "give the folder of the USB stick",
                    "type its path, then Enter",
                );
            }
            m.start(
                Job::Export(dir.clone()),
                &format!("Writing and checking {dir}…"),
                Screen::Done,
            )
        }
        Screen::Done | Screen::Qr(_) => {
            m.back.clear();
            m.screen = Screen::Choose;
            m.cursor = 0;
            Effect::Nothing
        }
        Screen::PickTarget(_) | Screen::Busy | Screen::QuitConfirm => Effect::Nothing,
    }
}

fn enter_choose(m: &mut Model) -> Effect {
    let Some(a) = m.menu().get(m.cursor).copied() else {
        return Effect::Nothing;
    };
    let pick = |m: &mut Model, flow: Flow| {
        m.go(Screen::PickKey(flow));
        Effect::Nothing
    };
    let input = |m: &mut Model, flow: Flow| {
        m.input.clear();
        m.go(Screen::Input(flow));
        Effect::Nothing
    };
    match a {
        Action::Review => {
            m.go(Screen::Review);
            Effect::Nothing
        }
        Action::Discard => input(m, Flow::Discard),
        Action::Sign => pick(m, Flow::Sign),
        Action::Revoke => pick(m, Flow::Revoke),
        Action::AddKey => pick(m, Flow::AddKey),
        Action::Certificate => pick(m, Flow::Certificate),
        Action::RotateRoot => pick(
            m,
            Flow::Rotate {
                role: RotateRole::Root,
                old: None,
            },
        ),
        Action::RotateTargets => pick(
            m,
            Flow::Rotate {
                role: RotateRole::Targets,
                old: None,
            },
        ),
        Action::NewRoot => pick(
            m,
            Flow::NewRoot {
                plan: RootPlan::default(),
                ticked: Vec::new(),
                step: PlanStep::RootKeys,
            },
        ),
        Action::Delegate => input(
            m,
            Flow::Delegate {
                role: String::new(),
            },
        ),
        Action::SignRequest => input(
            m,
            Flow::SignRequest {
                file: String::new(),
                trust: None,
                review: None,
            },
        ),
        Action::GenerateKey => input(
            m,
            Flow::Generate {
                name: String::new(),
                target: None,
            },
        ),
        Action::Publish => {
            if m.keys_for(&Flow::Publish).is_empty() {
                // No root key with its private half here: publish unsealed (the runner says so).
                return m.start(
                    Job::Publish {
                        key: None,
                        secret: None,
                    },
                    "Verifying the whole history and publishing…",
                    Screen::Done,
                );
            }
            pick(m, Flow::Publish)
        }
        // TUF: the expiry is asked for, the workspace's default offered. A Notary root expires
        // with its new certificates.
        Action::Refresh if m.snap.notary.is_none() => {
            m.input = m.snap.root_expiry.clone();
            m.expiry_warned = None;
            m.go(Screen::Input(Flow::Refresh));
            Effect::Nothing
        }
        Action::Refresh => m.start(
            Job::Refresh(None),
            "Staging the next version…",
            Screen::Review,
        ),
        Action::ShowQr => m.start(
            Job::Qr,
            "Encoding the published root as QR frames…",
            Screen::Done,
        ),
        Action::Export => {
            m.input.clear();
            m.go(Screen::ExportDir);
            Effect::Nothing
        }
        Action::Quit => {
            m.go(Screen::QuitConfirm);
            Effect::Nothing
        }
    }
}

/// Enter on a key list: the key picked moves the flow on.
fn enter_pick(m: &mut Model, flow: Flow) -> Effect {
    if let Flow::NewRoot { plan, ticked, step } = flow {
        return enter_plan(m, plan, ticked, step);
    }
    let Some(key) = m.pick_list().get(m.cursor).cloned() else {
        return Effect::Nothing;
    };
    match flow {
        Flow::Revoke => m.start(
            Job::Revoke(key.clone()),
            &format!("Staging the next version without {key}…"),
            Screen::Review,
        ),
        Flow::AddKey => m.start(
            Job::AddKey(key.clone()),
            &format!("Staging the next version with {key} as a root key…"),
            Screen::Review,
        ),
        Flow::Rotate { role, old: None } => {
            m.go(Screen::PickKey(Flow::Rotate {
                role,
                old: Some(key),
            }));
            Effect::Nothing
        }
        Flow::Rotate {
            role,
            old: Some(old),
        } => {
            let role = role.name();
            m.start(
                Job::Rotate {
                    role: role.into(),
                    old: old.clone(),
                    new: key.clone(),
                },
                &format!("Staging the next version: {role} key {old} → {key}…"),
                Screen::Review,
            )
        }
        // Next: the targets key's secret, to sign the targets metadata.
        Flow::Delegate { .. } => {
            m.go(Screen::Secret(flow, key));
            Effect::Nothing
        }
        _ if m.backend_of(&key) == "public" => m.refuse(
            format!("{key} is a public key only: its keyholder signs on their own machine"),
            "export a signing request (rootcellar request export) and merge what comes back",
        ),
        _ => {
            m.go(Screen::Secret(flow, key));
            Effect::Nothing
        }
    }
}

/// Version 1, step by step: the root keys ticked, the threshold, the online keys.
fn enter_plan(m: &mut Model, mut plan: RootPlan, ticked: Vec<String>, step: PlanStep) -> Effect {
    if step == PlanStep::RootKeys {
        if ticked.is_empty() {
            return m.refuse(
                "tick the root keys first",
                "space ticks a key, Enter goes on",
            );
        }
        plan.root = ticked.clone();
        m.input.clear();
        m.go(Screen::Input(Flow::NewRoot {
            plan,
            ticked,
            step: PlanStep::Threshold,
        }));
        return Effect::Nothing;
    }
    let Some(key) = m.pick_list().get(m.cursor).cloned() else {
        return Effect::Nothing;
    };
    let next = match step {
        PlanStep::Targets => {
            plan.targets = key;
            PlanStep::Snapshot
        }
        PlanStep::Snapshot => {
            plan.snapshot = key;
            PlanStep::Timestamp
        }
        PlanStep::Timestamp if m.snap.notary.is_none() => {
            plan.timestamp = key;
            // The expiry is asked for, the workspace's default offered.
            m.input = m.snap.root_expiry.clone();
            m.expiry_warned = None;
            m.go(Screen::Input(Flow::NewRoot {
                plan,
                ticked,
                step: PlanStep::Expires,
            }));
            return Effect::Nothing;
        }
        _ => {
            // A Notary root expires with its certificates: nothing to ask.
            plan.timestamp = key;
            return m.start(
                Job::NewRoot(plan),
                "Staging root version 1…",
                Screen::Review,
            );
        }
    };
    m.go(Screen::PickKey(Flow::NewRoot {
        plan,
        ticked,
        step: next,
    }));
    Effect::Nothing
}

/// Enter on a line of text: the flow goes on with what was typed.
fn enter_input(m: &mut Model, flow: Flow) -> Effect {
    let text = m.input.trim().to_string();
    if text.is_empty() {
        return m.refuse("type it first", "then Enter");
    }
    let next = match flow {
        Flow::NewRoot {
            mut plan,
            step: PlanStep::Expires,
            ..
        } => {
            let Some(expires) = confirmed_expiry(m, &text) else {
                return Effect::Nothing;
            };
            plan.expires = expires;
            m.input.clear();
            return m.start(
                Job::NewRoot(plan),
                "Staging root version 1…",
                Screen::Review,
            );
        }
        Flow::Refresh => {
            let Some(expires) = confirmed_expiry(m, &text) else {
                return Effect::Nothing;
            };
            m.input.clear();
            return m.start(
                Job::Refresh(Some(expires)),
                "Staging the next version…",
                Screen::Review,
            );
        }
        Flow::NewRoot {
            mut plan, ticked, ..
        } => {
            let n = plan.root.len() as u64;
            match text.parse::<u64>() {
                Ok(t) if (1..=n).contains(&t) => plan.threshold = t,
                _ => {
                    return m.refuse(
                        format!("the threshold must be a number from 1 to {n}"),
                        "type it again",
                    );
                }
            }
            Screen::PickKey(Flow::NewRoot {
                plan,
                ticked,
                step: PlanStep::Targets,
            })
        }
        Flow::Generate { .. } => {
            // A taken name is refused here, before anything is asked.
            if m.snap.keys.iter().any(|k| k.name == text) {
                return m.refuse(
                    format!("a key named {text:?} exists already"),
                    "type another name",
                );
            }
            Screen::PickTarget(Flow::Generate {
                name: text,
                target: None,
            })
        }
        Flow::Delegate { .. } => Screen::PickKey(Flow::Delegate { role: text }),
        Flow::Discard if text == "discard" => {
            m.input.clear();
            return m.start(Job::Discard, "Dropping the staged root…", Screen::Done);
        }
        Flow::Discard => {
            return m.refuse(
                "not confirmed: nothing was dropped",
                "type discard, or Esc to go back",
            );
        }
        // The path: its review comes first. Then, if nothing here vouches for the version it
        // follows, that version's digest as read aloud.
        Flow::SignRequest { file, .. } => {
            let (file, trust) = if file.is_empty() {
                (text, None)
            } else {
                (file, Some(text))
            };
            m.input.clear();
            return m.start(
                Job::ReviewRequest {
                    file: file.clone(),
                    trust: trust.clone(),
                },
                &format!("Reading {file} and comparing it with the published history…"),
                Screen::RequestReview(Flow::SignRequest {
                    file,
                    trust,
                    review: None,
                }),
            );
        }
        _ => return Effect::Nothing,
    };
    m.input.clear();
    m.go(next);
    Effect::Nothing
}

/// The expiry typed on an expiry prompt, once it is readable and in the future; one inside the
/// warning window is shown first and kept on a second Enter with the same text.
fn confirmed_expiry(m: &mut Model, text: &str) -> Option<String> {
    match m.snap.expiry(text) {
        Err(e) => {
            m.refuse(
                e,
                "type a date (2027-12-31), a span (365d, 52w) or RFC 3339",
            );
            None
        }
        Ok(p) if p.inside_window && m.expiry_warned.as_deref() != Some(text) => {
            m.expiry_warned = Some(text.to_string());
            m.refuse(
                format!(
                    "{} is only {} days away, inside the {} warning window: clients will be warned soon after publishing",
                    p.expires, p.days, m.snap.expiry_warning
                ),
                "Enter again to keep it, or type a later one",
            );
            None
        }
        Ok(p) => {
            m.expiry_warned = None;
            Some(p.expires)
        }
    }
}

/// Enter on a request's review: an unverified one asks for the digest of the version it
/// follows; a verified one goes on to the key.
fn enter_request_review(m: &mut Model, flow: Flow) -> Effect {
    let Flow::SignRequest {
        review: Some(r), ..
    } = &flow
    else {
        return Effect::Nothing;
    };
    if r.unverified.is_some() {
        m.input.clear();
        m.go(Screen::Input(flow));
        return Effect::Nothing;
    }
    m.go(Screen::PickKey(flow));
    Effect::Nothing
}

/// Enter on the masked field: the secret leaves the model with the one job that uses it.
fn enter_secret(m: &mut Model, flow: Flow, key: String) -> Effect {
    // A new key file's passphrase: at least 8 characters, typed twice.
    if let Flow::Generate {
        target: Some(t), ..
    } = &flow
        && t.backend == "software"
    {
        match m.first_secret.take() {
            None if m.secret.chars().count() < 8 => {
                m.secret.clear();
                return m.refuse(
                    "a new passphrase needs at least 8 characters",
                    "type a longer one",
                );
            }
            None => {
                m.first_secret = Some(std::mem::take(&mut m.secret));
                m.error = None;
                return Effect::Nothing;
            }
            Some(first) if *first != *m.secret => {
                m.secret.clear();
                return m.refuse(
                    "the two passphrases differ",
                    "type the new passphrase again",
                );
            }
            Some(_) => {}
        }
    }
    let secret = if m.secret.is_empty() {
        None
    } else {
        Some(SecretString::from(m.secret.as_str()))
    };
    m.secret.clear();
    let touch = if m.backend_of(&key) == "yubikey" {
        " — touch your YubiKey when it blinks"
    } else {
        ""
    };
    match flow {
        Flow::Generate { name, target } => {
            let target = target.unwrap_or_default();
            let where_ = target.label.clone();
            m.start(
                Job::Generate {
                    name: name.clone(),
                    target,
                    secret,
                },
                &format!("Generating {name} on {where_}…"),
                Screen::Done,
            )
        }
        Flow::Delegate { role } => m.start(
            Job::Delegate {
                role: role.clone(),
                key: key.clone(),
                secret,
            },
            &format!("Signing the targets metadata: {role} → {key}…"),
            Screen::Done,
        ),
        Flow::Publish => m.start(
            Job::Publish {
                key: Some(key.clone()),
                secret,
            },
            &format!(
                "Verifying the whole history, publishing, sealing the transcript with {key}{touch}…"
            ),
            Screen::Done,
        ),
        Flow::Certificate => m.start(
            Job::Certificate {
                key: key.clone(),
                secret,
            },
            &format!("Making the root certificate of {key} on its device{touch}…"),
            Screen::Done,
        ),
        Flow::SignRequest {
            file,
            trust,
            review: Some(r),
        } => m.start(
            Job::SignFile {
                file: file.clone(),
                key: key.clone(),
                secret,
                trust,
                shown: r.digest,
            },
            &format!("Signing {file} with {key}{touch}…"),
            Screen::Done,
        ),
        // A request is signed only after its review was shown.
        Flow::SignRequest { .. } => Effect::Nothing,
        _ => m.start(
            Job::Sign {
                key: key.clone(),
                secret,
                shown: m.snap.staged.as_ref().map(|s| s.digest.clone()),
            },
            &format!("Signing with {key}{touch}…"),
            Screen::Review,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample() -> Snapshot {
        Snapshot {
            dir: "/ceremony".into(),
            clock: "2026-11-29T10:00:00Z".into(),
            air_gap: vec![],
            published: Some((3, "2027-06-01T00:00:00Z".into())),
            warnings: vec![],
            staged: None,
            keys: vec![
                KeyRow {
                    name: "alice".into(),
                    backend: "yubikey".into(),
                    in_root: true,
                    roles: vec!["root".into()],
                    attestation: None,
                    certificate: false,
                },
                KeyRow {
                    name: "bob".into(),
                    backend: "pkcs11".into(),
                    in_root: true,
                    roles: vec!["root".into()],
                    attestation: None,
                    certificate: false,
                },
                KeyRow {
                    name: "carol".into(),
                    backend: "public".into(),
                    in_root: true,
                    roles: vec!["root".into()],
                    attestation: None,
                    certificate: false,
                },
            ],
            devices: vec!["YubiKey 5437251 (firmware 5.7.4, PIN tries left 3)".into()],
            gen_targets: vec![],
            devices_read: true,
            online_allowed: false,
            notary: None,
            root_expiry: "365d".into(),
            expiry_warning: "60d".into(),
        }
    }

    pub fn staged() -> Staged {
        Staged {
            version: 4,
            digest: "65d0e8076408d282".to_string() + &"0".repeat(48),
            digest_aloud: "65d0 e807 6408 d282".into(),
            diff: vec!["expiry: 2027-06-01T00:00:00Z → 2027-12-01T00:00:00Z".into()],
            by_previous: Some((0, 2)),
            by_self: (0, 2),
            can_still_sign: vec!["alice".into(), "bob".into(), "carol".into()],
            publishable: false,
            expires: "2027-12-01T00:00:00Z".into(),
            expires_in_days: Some(365),
        }
    }

    fn loaded(snap: Snapshot) -> Model {
        let mut m = Model::new(false);
        assert!(matches!(
            m.init(),
            Effect::Start(Job::Load { devices: true })
        ));
        update(&mut m, Msg::Loaded(Ok(Box::new(snap))));
        assert_eq!(m.screen, Screen::Preflight);
        m
    }

    /// Moves the menu cursor to `a`.
    pub fn select(m: &mut Model, a: Action) {
        m.cursor = 0;
        while m.menu()[m.cursor] != a {
            update(m, Msg::Down);
        }
    }

    fn typed(m: &mut Model, s: &str) {
        for c in s.chars() {
            update(m, Msg::Char(c));
        }
    }

    #[test]
    fn refresh_then_review_then_back_to_the_menu() {
        let mut m = loaded(sample());
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Choose);
        assert_eq!(
            m.menu(),
            vec![
                Action::Refresh,
                Action::Revoke,
                Action::RotateRoot,
                Action::RotateTargets,
                Action::Delegate,
                Action::Export,
                Action::ShowQr,
                Action::SignRequest,
                Action::AddKey,
                Action::GenerateKey,
                Action::Quit
            ]
        );
        // The expiry is asked for first, the default offered (issue 21).
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert_eq!(m.screen, Screen::Input(Flow::Refresh));
        assert_eq!(m.input, "365d");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Refresh(Some(e))) => assert_eq!(e, "2027-11-29T10:00:00Z"),
            other => panic!("{other:?}"),
        }
        assert_eq!(m.screen, Screen::Busy);
        assert!(matches!(
            update(
                &mut m,
                Msg::Finished(Ok(vec!["Staged root version 4".into()]))
            ),
            Effect::Start(Job::Load { devices: false })
        ));
        let mut s = sample();
        s.staged = Some(staged());
        update(&mut m, Msg::Loaded(Ok(Box::new(s))));
        assert_eq!(m.screen, Screen::Review);
        update(&mut m, Msg::Esc);
        assert_eq!(m.screen, Screen::Choose);
        assert_eq!(
            m.menu(),
            vec![
                Action::Review,
                Action::Sign,
                Action::Delegate,
                Action::Export,
                Action::ShowQr,
                Action::SignRequest,
                Action::AddKey,
                Action::GenerateKey,
                Action::Discard,
                Action::Quit
            ]
        );
    }

    #[test]
    fn signing_masks_the_pin_hands_it_to_one_job_and_a_wrong_pin_stays_on_the_pin_screen() {
        let mut s = sample();
        s.staged = Some(staged());
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::PickKey(_)));
        assert_eq!(m.pick_list(), vec!["alice", "bob", "carol"]);
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Secret(..)));
        typed(&mut m, "1234q6");
        assert_eq!(m.secret_len(), 6, "q is typed, not quit, in the PIN field");
        update(&mut m, Msg::Backspace);
        typed(&mut m, "6");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Sign { key, secret, shown }) => {
                assert_eq!(key, "alice");
                assert_eq!(
                    shown,
                    Some(staged().digest),
                    "the digest on screen goes along"
                );
                use secrecy::ExposeSecret;
                assert_eq!(secret.unwrap().expose_secret(), "1234q6");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.secret_len(), 0, "the secret left the model with the job");
        assert!(m.busy.as_deref().unwrap().contains("touch your YubiKey"));
        // Keys are ignored while the device works.
        assert!(matches!(update(&mut m, Msg::Esc), Effect::Nothing));
        assert!(matches!(update(&mut m, Msg::Char('q')), Effect::Nothing));
        assert_eq!(m.screen, Screen::Busy);
        update(
            &mut m,
            Msg::Finished(Err((
                "wrong PIN for YubiKey 5437251: 2 tries left".into(),
                Some("check the PIN".into()),
            ))),
        );
        assert!(matches!(m.screen, Screen::Secret(..)));
        assert!(m.error.as_ref().unwrap().0.contains("2 tries left"));
        assert_eq!(m.secret_len(), 0);
    }

    #[test]
    fn a_card_pulled_while_signing_is_an_error_on_that_screen() {
        let mut s = sample();
        s.staged = Some(staged());
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        typed(&mut m, "123456");
        assert!(matches!(
            update(&mut m, Msg::Enter),
            Effect::Start(Job::Sign { .. })
        ));
        update(
            &mut m,
            Msg::Finished(Err((
                "YubiKey 5437251 could not be reached while trying to sign".into(),
                Some("plug the YubiKey in".into()),
            ))),
        );
        assert!(matches!(m.screen, Screen::Secret(..)));
        assert!(matches!(&m.screen, Screen::Secret(_, k) if k == "bob"));
        // Esc goes back and clears the error; the staged root was never touched by the model.
        update(&mut m, Msg::Esc);
        assert!(matches!(m.screen, Screen::PickKey(_)));
        assert!(m.error.is_none());
    }

    #[test]
    fn a_public_key_cannot_sign_here() {
        let mut s = sample();
        s.staged = Some(staged());
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Down);
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert!(matches!(m.screen, Screen::PickKey(_)));
        assert!(m.error.as_ref().unwrap().0.contains("public key only"));
    }

    #[test]
    fn a_notary_workspace_offers_certificates_made_one_key_one_pin_at_a_time() {
        assert!(!loaded(sample()).menu().contains(&Action::Certificate));
        let mut s = sample();
        s.notary = Some("docker.io/example/app".into());
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        select(&mut m, Action::Certificate);
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::PickKey(_)));
        // Only keys whose private half is here: carol is a public key.
        assert_eq!(m.pick_list(), vec!["alice".to_string(), "bob".to_string()]);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Secret(..)));
        typed(&mut m, "123456");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Certificate { key, secret }) => {
                assert_eq!(key, "bob");
                assert_eq!(
                    secrecy::ExposeSecret::expose_secret(&secret.unwrap()),
                    "123456"
                );
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(m.secret_len(), 0);
    }

    #[test]
    fn a_job_carrying_a_secret_never_shows_it_in_debug() {
        let jobs = [
            Job::Sign {
                key: "alice".into(),
                secret: Some(SecretString::from("pin-4711-secret")),
                shown: None,
            },
            Job::Publish {
                key: Some("alice".into()),
                secret: Some(SecretString::from("pin-4711-secret")),
            },
            Job::Generate {
                name: "n".into(),
                target: GenTarget::default(),
                secret: Some(SecretString::from("pin-4711-secret")),
            },
        ];
        for j in &jobs {
            let shown = format!("{j:?} {j:#?}");
            assert!(!shown.contains("pin-4711"), "{shown}");
            assert!(shown.contains("REDACTED"), "{shown}");
        }
    }

    #[test]
    fn quitting_asks_first_and_publish_and_export_run_as_jobs() {
        let mut s = sample();
        let mut st = staged();
        st.publishable = true;
        s.staged = Some(st);
        let mut m = loaded(s);
        update(&mut m, Msg::Char('q'));
        assert_eq!(m.screen, Screen::QuitConfirm);
        update(&mut m, Msg::Char('n'));
        assert_eq!(m.screen, Screen::Preflight);
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Down);
        assert_eq!(m.menu()[m.cursor], Action::Publish);
        // Publish asks which root key seals the transcript: only keys whose private half is
        // here (carol is public only), then that key's secret.
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::PickKey(_)));
        assert_eq!(m.pick_list(), vec!["alice".to_string(), "bob".to_string()]);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Secret(..)));
        for c in "4321".chars() {
            update(&mut m, Msg::Char(c));
        }
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Publish { key, secret }) => {
                assert_eq!(key.as_deref(), Some("bob"));
                assert_eq!(
                    secret
                        .map(|s| secrecy::ExposeSecret::expose_secret(&s).to_string())
                        .as_deref(),
                    Some("4321")
                );
            }
            other => panic!("expected a publish job, got {other:?}"),
        }
        update(
            &mut m,
            Msg::Finished(Ok(vec!["Published root version 4".into()])),
        );
        let mut s = sample();
        s.published = Some((4, "2027-12-01T00:00:00Z".into()));
        update(&mut m, Msg::Loaded(Ok(Box::new(s))));
        assert_eq!(m.screen, Screen::Done);
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Choose);
        select(&mut m, Action::Export);
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::ExportDir);
        assert!(
            matches!(update(&mut m, Msg::Enter), Effect::Nothing),
            "an empty folder is refused"
        );
        assert!(m.error.is_some());
        typed(&mut m, "/media/usb");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Export(d)) => assert_eq!(d, "/media/usb"),
            other => panic!("{other:?}"),
        }
        update(&mut m, Msg::Interrupt);
        assert_eq!(
            m.screen,
            Screen::Busy,
            "Ctrl-C does not abandon an operation in flight"
        );
        update(&mut m, Msg::Finished(Ok(vec![])));
        update(&mut m, Msg::Loaded(Ok(Box::new(sample()))));
        update(&mut m, Msg::Interrupt);
        assert_eq!(m.screen, Screen::QuitConfirm);
        assert!(matches!(update(&mut m, Msg::Char('y')), Effect::Quit));
    }

    #[test]
    fn rotating_a_key_picks_the_old_then_the_new() {
        let mut s = sample();
        s.keys.push(KeyRow {
            name: "alice2".into(),
            backend: "yubikey".into(),
            ..KeyRow::default()
        });
        s.keys.push(KeyRow {
            name: "tk".into(),
            backend: "pkcs11".into(),
            roles: vec!["targets".into()],
            ..KeyRow::default()
        });
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        select(&mut m, Action::RotateRoot);
        update(&mut m, Msg::Enter);
        assert_eq!(m.pick_list(), vec!["alice", "bob", "carol"]);
        update(&mut m, Msg::Enter);
        assert!(
            matches!(&m.screen, Screen::PickKey(Flow::Rotate { old: Some(o), .. }) if o == "alice")
        );
        assert_eq!(m.pick_list(), vec!["alice2", "tk"]);
        // Esc on the second list goes back to the first.
        update(&mut m, Msg::Esc);
        assert!(matches!(
            &m.screen,
            Screen::PickKey(Flow::Rotate { old: None, .. })
        ));
        update(&mut m, Msg::Enter);
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Rotate { role, old, new }) => assert_eq!(
                (role.as_str(), old.as_str(), new.as_str()),
                ("root", "alice", "alice2")
            ),
            other => panic!("{other:?}"),
        }
        // The targets key is rotated the same way.
        let mut m = loaded({
            let mut s = sample();
            s.keys.push(KeyRow {
                name: "tk".into(),
                backend: "pkcs11".into(),
                roles: vec!["targets".into()],
                ..KeyRow::default()
            });
            s.keys.push(KeyRow {
                name: "tk2".into(),
                backend: "pkcs11".into(),
                ..KeyRow::default()
            });
            s
        });
        update(&mut m, Msg::Enter);
        select(&mut m, Action::RotateTargets);
        update(&mut m, Msg::Enter);
        assert_eq!(m.pick_list(), vec!["tk"]);
        update(&mut m, Msg::Enter);
        while m.pick_list()[m.cursor] != "tk2" {
            update(&mut m, Msg::Down);
        }
        assert!(
            matches!(update(&mut m, Msg::Enter), Effect::Start(Job::Rotate { role, .. }) if role == "targets")
        );
    }

    #[test]
    fn a_delegation_and_a_request_from_usb_take_a_text_then_a_key_then_a_secret() {
        let mut s = sample();
        s.keys.push(KeyRow {
            name: "release".into(),
            backend: "public".into(),
            ..KeyRow::default()
        });
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        select(&mut m, Action::Delegate);
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Input(_)));
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert!(m.error.is_some(), "an empty role name is refused");
        typed(&mut m, "targets/releases");
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::PickKey(_)));
        assert_eq!(m.pick_list(), vec!["release"]);
        update(&mut m, Msg::Enter);
        assert!(
            matches!(m.screen, Screen::Secret(Flow::Delegate { .. }, _)),
            "the targets key's secret signs the targets metadata"
        );
        typed(&mut m, "pw");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Delegate { role, key, secret }) => {
                assert_eq!(
                    (role.as_str(), key.as_str()),
                    ("targets/releases", "release")
                );
                assert!(secret.is_some());
            }
            other => panic!("{other:?}"),
        }
        let mut m = loaded(sample());
        update(&mut m, Msg::Enter);
        select(&mut m, Action::SignRequest);
        update(&mut m, Msg::Enter);
        typed(&mut m, "/media/usb/request.json");
        // The review comes first: nothing is asked before it is on the screen.
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::ReviewRequest { file, trust }) => {
                assert_eq!((file.as_str(), trust), ("/media/usb/request.json", None))
            }
            other => panic!("{other:?}"),
        }
        let review = |unverified: Option<&str>| RequestReview {
            version: 2,
            digest: "ab".repeat(32),
            digest_aloud: "abab abab abab abab".into(),
            diff: vec!["- key carol".into(), "root: threshold 2 → 1".into()],
            unverified: unverified.map(str::to_string),
        };
        // Unverified: Enter asks for the digest of the version it follows, then reviews again.
        update(
            &mut m,
            Msg::Reviewed(Ok(review(Some(
                "UNVERIFIED: against the bundle's own previous",
            )))),
        );
        assert!(
            matches!(m.screen, Screen::RequestReview(_)),
            "{:?}",
            m.screen
        );
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Input(_)), "{:?}", m.screen);
        assert!(m.pick_list().is_empty());
        typed(&mut m, &"cd".repeat(32));
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::ReviewRequest { trust, .. }) => {
                assert_eq!(trust, Some("cd".repeat(32)))
            }
            other => panic!("{other:?}"),
        }
        update(&mut m, Msg::Reviewed(Ok(review(None))));
        assert!(matches!(m.screen, Screen::RequestReview(_)));
        update(&mut m, Msg::Enter);
        assert_eq!(
            m.pick_list(),
            vec!["alice", "bob"],
            "only keys that can sign here"
        );
        update(&mut m, Msg::Enter);
        typed(&mut m, "123456");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::SignFile {
                file,
                key,
                trust,
                shown,
                ..
            }) => {
                assert_eq!(
                    (file.as_str(), key.as_str()),
                    ("/media/usb/request.json", "alice")
                );
                assert_eq!(trust, Some("cd".repeat(32)));
                assert_eq!(shown, "ab".repeat(32), "signed only as reviewed");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn qr_frames_are_paged_and_errors_stay_on_the_menu() {
        let mut m = loaded(sample());
        update(&mut m, Msg::Enter);
        select(&mut m, Action::ShowQr);
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Start(Job::Qr)));
        update(
            &mut m,
            Msg::Frames(Ok((
                vec![(21, vec![false; 441]), (21, vec![true; 441])],
                "root.json".into(),
            ))),
        );
        assert!(matches!(m.screen, Screen::Qr(_)));
        update(&mut m, Msg::Char(' '));
        assert!(matches!(&m.screen, Screen::Qr(q) if q.frame == 1));
        update(&mut m, Msg::Char(' '));
        assert!(matches!(&m.screen, Screen::Qr(q) if q.frame == 0));
        update(&mut m, Msg::Char('b'));
        assert!(matches!(&m.screen, Screen::Qr(q) if q.frame == 1));
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Choose);
        select(&mut m, Action::ShowQr);
        update(&mut m, Msg::Enter);
        update(
            &mut m,
            Msg::Frames(Err(("the terminal is too small".into(), None))),
        );
        assert_eq!(m.screen, Screen::Choose);
        assert!(m.error.is_some());
    }

    #[test]
    fn version_1_is_put_together_step_by_step() {
        let mut s = sample();
        s.published = None;
        for k in s.keys.iter_mut() {
            k.in_root = false;
            k.roles.clear();
        }
        s.keys.push(KeyRow {
            name: "t".into(),
            backend: "public".into(),
            ..KeyRow::default()
        });
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        assert_eq!(
            m.menu(),
            vec![
                Action::NewRoot,
                Action::SignRequest,
                Action::GenerateKey,
                Action::Quit
            ]
        );
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::PickKey(_)));
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert!(m.error.is_some(), "no root key ticked yet");
        update(&mut m, Msg::Char(' '));
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Char(' '));
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Char(' '));
        update(&mut m, Msg::Char(' '));
        assert!(
            matches!(&m.screen, Screen::PickKey(Flow::NewRoot { ticked, .. }) if *ticked == ["alice", "bob"]),
            "space ticks and unticks"
        );
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Input(_)));
        // Esc goes back to the ticked keys (issue 21), never forward; Enter comes back here.
        typed(&mut m, "9");
        update(&mut m, Msg::Esc);
        assert!(
            matches!(&m.screen, Screen::PickKey(Flow::NewRoot { step: PlanStep::RootKeys, ticked, .. }) if *ticked == ["alice", "bob"]),
            "{:?}",
            m.screen
        );
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Input(_)) && m.input.is_empty());
        typed(&mut m, "3");
        update(&mut m, Msg::Enter);
        assert!(m.error.as_ref().unwrap().0.contains("from 1 to 2"));
        update(&mut m, Msg::Backspace);
        typed(&mut m, "2");
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::PickKey(_)));
        // The targets key's picker does not start on a root key (issue 21).
        let first = m.pick_list()[m.cursor].clone();
        assert!(first != "alice" && first != "bob", "starts on {first}");
        for _ in 0..3 {
            update(&mut m, Msg::Down);
        }
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Down);
        // The expiry is asked for, the workspace's default offered (issue 21).
        update(&mut m, Msg::Enter);
        assert!(
            matches!(
                &m.screen,
                Screen::Input(Flow::NewRoot {
                    step: PlanStep::Expires,
                    ..
                })
            ),
            "{:?}",
            m.screen
        );
        assert_eq!(m.input, "365d");
        // A time in the past is refused; one inside the warning window is shown, then kept
        // on a second Enter.
        m.input = "2026-01-01".into();
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert!(m.error.as_ref().unwrap().0.contains("not in the future"));
        m.input = "30d".into();
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert!(
            m.error.as_ref().unwrap().0.contains("only 30 days away"),
            "{:?}",
            m.error
        );
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::NewRoot(p)) => {
                assert_eq!(p.root, vec!["alice", "bob"]);
                assert_eq!(p.threshold, 2);
                assert_eq!(
                    (
                        p.targets.as_str(),
                        p.snapshot.as_str(),
                        p.timestamp.as_str()
                    ),
                    ("t", "t", "t")
                );
                // 30 days from the header's clock, as shown.
                assert_eq!(p.expires, "2026-12-29T10:00:00Z");
            }
            other => panic!("{other:?}"),
        }
    }

    /// A staged root can be dropped from the screen, after "discard" is typed (issue 21).
    #[test]
    fn a_staged_root_is_discarded_only_when_confirmed() {
        let mut s = sample();
        s.staged = Some(staged());
        let mut m = loaded(s);
        m.go(Screen::Choose);
        let at = m.menu().iter().position(|a| *a == Action::Discard).unwrap();
        m.cursor = at;
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Input(Flow::Discard)));
        typed(&mut m, "yes");
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert!(m.error.as_ref().unwrap().0.contains("not confirmed"));
        for _ in 0..3 {
            update(&mut m, Msg::Backspace);
        }
        typed(&mut m, "discard");
        assert!(matches!(
            update(&mut m, Msg::Enter),
            Effect::Start(Job::Discard)
        ));
    }

    #[test]
    fn a_key_is_generated_where_the_operator_chooses_and_an_added_key_stages_the_next_version() {
        let mut s = sample();
        s.gen_targets = vec![
            GenTarget {
                label: "software".into(),
                backend: "software".into(),
                ..GenTarget::default()
            },
            GenTarget {
                label: "YubiKey 5437251".into(),
                backend: "yubikey".into(),
                serial: Some(5437251),
                ..GenTarget::default()
            },
        ];
        s.keys.push(KeyRow {
            name: "dave".into(),
            backend: "pkcs11".into(),
            ..KeyRow::default()
        });
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        select(&mut m, Action::GenerateKey);
        update(&mut m, Msg::Enter);
        typed(&mut m, "erin");
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::PickTarget(_)));
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        assert!(matches!(m.screen, Screen::Secret(..)));
        typed(&mut m, "123456");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Generate {
                name,
                target,
                secret,
            }) => {
                assert_eq!(name, "erin");
                assert_eq!(target.serial, Some(5437251));
                assert!(secret.is_some());
            }
            other => panic!("{other:?}"),
        }
        update(&mut m, Msg::Finished(Ok(vec!["Generated erin".into()])));
        update(&mut m, Msg::Loaded(Ok(Box::new(sample()))));
        assert_eq!(m.screen, Screen::Done);
        let mut s = sample();
        s.keys.push(KeyRow {
            name: "dave".into(),
            backend: "pkcs11".into(),
            ..KeyRow::default()
        });
        let mut m = loaded(s);
        update(&mut m, Msg::Enter);
        select(&mut m, Action::AddKey);
        update(&mut m, Msg::Enter);
        assert_eq!(m.pick_list(), vec!["dave"]);
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Start(Job::AddKey(k)) if k == "dave"));
    }
}

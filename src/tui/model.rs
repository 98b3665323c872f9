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
    /// A Notary v1 / DCT workspace: its GUN (root keys are named by certificates).
    pub notary: Option<String>,
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
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Staged {
    pub version: u64,
    pub digest_aloud: String,
    pub diff: Vec<String>,
    /// (signatures counted, threshold) for the previous version's root keys.
    pub by_previous: Option<(usize, u64)>,
    pub by_self: (usize, u64),
    pub can_still_sign: Vec<String>,
    pub publishable: bool,
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    Preflight,
    Choose,
    PickKey,
    Review,
    Secret,
    ExportDir,
    /// A line of text for `input_for`.
    Input,
    /// QR frames, full screen.
    Qr,
    /// Where to generate a key.
    PickTarget,
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
    Refresh,
    Revoke(String),
    Sign {
        key: String,
        secret: Option<SecretString>,
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
    SignFile {
        file: String,
        key: String,
        secret: Option<SecretString>,
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
    /// What the key list is for.
    pub pick_for: Option<Action>,
    pub picked: Option<String>,
    pub input: String,
    secret: Zeroizing<String>,
    pub error: Option<(String, Option<String>)>,
    pub busy: Option<String>,
    pub spinner: usize,
    pub done: Vec<String>,
    /// The screen to show after the job in flight.
    after: Screen,
    /// A job finished: once the workspace is read again, Esc leads back to the menu.
    reset_nav: bool,
    pub color: bool,
    /// The old key, while the new one is being chosen (rotation).
    pub first_pick: Option<String>,
    /// What the text field is for, and what it holds.
    pub input_for: Option<Action>,
    /// QR frames and the frame shown.
    pub frames: Vec<QrFrame>,
    pub frame: usize,
    pub qr_caption: String,
    /// Keys ticked in a list that takes several (version 1's root keys).
    pub ticked: Vec<String>,
    /// Version 1 being put together, and which step of it.
    pub plan: RootPlan,
    pub plan_step: u8,
    pub gen_target: Option<GenTarget>,
}

impl Model {
    pub fn new(color: bool) -> Model {
        Model {
            screen: Screen::Busy,
            back: Vec::new(),
            snap: Snapshot::default(),
            cursor: 0,
            pick_for: None,
            picked: None,
            input: String::new(),
            secret: Zeroizing::new(String::new()),
            error: None,
            busy: Some("Reading the workspace and the devices…".into()),
            spinner: 0,
            done: Vec::new(),
            after: Screen::Preflight,
            reset_nav: false,
            color,
            first_pick: None,
            input_for: None,
            frames: Vec::new(),
            frame: 0,
            qr_caption: String::new(),
            ticked: Vec::new(),
            plan: RootPlan::default(),
            plan_step: 0,
            gen_target: None,
        }
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
        m.push(Action::Quit);
        m
    }

    /// The keys the key list offers.
    pub fn pick_list(&self) -> Vec<String> {
        let names = |f: &dyn Fn(&KeyRow) -> bool| -> Vec<String> {
            self.snap
                .keys
                .iter()
                .filter(|k| f(k))
                .map(|k| k.name.clone())
                .collect()
        };
        match self.pick_for {
            Some(Action::Sign) => self
                .snap
                .staged
                .as_ref()
                .map(|s| s.can_still_sign.clone())
                .unwrap_or_default(),
            Some(Action::Revoke) => names(&|k| k.in_root),
            Some(a @ (Action::RotateRoot | Action::RotateTargets)) => {
                let role = if a == Action::RotateRoot {
                    "root"
                } else {
                    "targets"
                };
                match &self.first_pick {
                    None => names(&|k| k.roles.iter().any(|r| r == role)),
                    Some(_) => names(&|k| !k.roles.iter().any(|r| r == role)),
                }
            }
            Some(Action::Delegate) => names(&|k| !k.in_root),
            Some(Action::Publish) => names(&|k| k.in_root && k.backend != "public"),
            Some(Action::SignRequest) => names(&|k| k.backend != "public"),
            Some(Action::Certificate) => names(&|k| k.backend != "public"),
            Some(Action::AddKey) => names(&|k| !k.in_root),
            Some(Action::NewRoot) => names(&|_| true),
            _ => Vec::new(),
        }
    }

    fn go(&mut self, s: Screen) {
        self.back.push(self.screen);
        self.screen = s;
        self.cursor = 0;
        self.error = None;
    }

    fn start(&mut self, job: Job, what: &str, after: Screen) -> Effect {
        self.back.push(self.screen);
        self.busy = Some(what.into());
        self.after = after;
        self.screen = Screen::Busy;
        self.error = None;
        Effect::Start(job)
    }

    fn list_len(&self) -> usize {
        match self.screen {
            Screen::Choose => self.menu().len(),
            Screen::PickKey => self.pick_list().len(),
            Screen::PickTarget => self.snap.gen_targets.len(),
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
}

/// Applies `msg` to `m`; returns what the runner must do.
pub fn update(m: &mut Model, msg: Msg) -> Effect {
    // While an operation runs, only its end (and the spinner) count.
    if m.screen == Screen::Busy {
        return match msg {
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
                m.screen = m.after;
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
                m.screen = m.after;
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
                m.frames = frames;
                m.frame = 0;
                m.qr_caption = caption;
                m.screen = Screen::Qr;
                Effect::Nothing
            }
            Msg::Frames(Err(e)) | Msg::Finished(Err(e)) => {
                m.busy = None;
                m.error = Some(e);
                // Back to the screen the operation was started from.
                m.screen = m.back.pop().unwrap_or(Screen::Choose);
                Effect::Nothing
            }
            _ => Effect::Nothing,
        };
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
    let typing = matches!(m.screen, Screen::Secret | Screen::ExportDir | Screen::Input);
    match msg {
        Msg::Interrupt => {
            m.secret.clear();
            m.back.push(m.screen);
            m.screen = Screen::QuitConfirm;
            Effect::Nothing
        }
        Msg::Tick | Msg::Loaded(_) | Msg::Finished(_) | Msg::Frames(_) => Effect::Nothing,
        Msg::Char(' ') | Msg::Down | Msg::Char('n') if m.screen == Screen::Qr => {
            if !m.frames.is_empty() {
                m.frame = (m.frame + 1) % m.frames.len();
            }
            Effect::Nothing
        }
        Msg::Up | Msg::Char('b') if m.screen == Screen::Qr => {
            if !m.frames.is_empty() {
                m.frame = (m.frame + m.frames.len() - 1) % m.frames.len();
            }
            Effect::Nothing
        }
        Msg::Char('q') if !typing => {
            m.back.push(m.screen);
            m.screen = Screen::QuitConfirm;
            Effect::Nothing
        }
        Msg::Esc => {
            m.secret.clear();
            m.input.clear();
            m.error = None;
            if m.screen == Screen::PickKey && m.first_pick.is_some() {
                m.first_pick = None;
                m.cursor = 0;
                return Effect::Nothing;
            }
            if let Some(prev) = m.back.pop() {
                m.screen = prev;
                m.cursor = 0;
            }
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
            if m.screen == Screen::Secret {
                m.secret.push(c);
            } else {
                m.input.push(c);
            }
            m.error = None;
            Effect::Nothing
        }
        Msg::Backspace if typing => {
            if m.screen == Screen::Secret {
                m.secret.pop();
            } else {
                m.input.pop();
            }
            Effect::Nothing
        }
        Msg::Char(' ')
            if m.screen == Screen::PickKey
                && m.pick_for == Some(Action::NewRoot)
                && m.plan_step == 0 =>
        {
            if let Some(k) = m.pick_list().get(m.cursor).cloned() {
                if let Some(i) = m.ticked.iter().position(|t| *t == k) {
                    m.ticked.remove(i);
                } else {
                    m.ticked.push(k);
                }
            }
            Effect::Nothing
        }
        Msg::Char('s') if m.screen == Screen::Review => {
            m.pick_for = Some(Action::Sign);
            m.go(Screen::PickKey);
            Effect::Nothing
        }
        Msg::Enter => enter(m),
        _ => Effect::Nothing,
    }
}

fn enter(m: &mut Model) -> Effect {
    match m.screen {
        Screen::Preflight => {
            m.go(Screen::Choose);
            Effect::Nothing
        }
        Screen::Choose => {
            let Some(a) = m.menu().get(m.cursor).copied() else {
                return Effect::Nothing;
            };
            match a {
                Action::Review => {
                    m.go(Screen::Review);
                    Effect::Nothing
                }
                Action::Sign | Action::Revoke | Action::AddKey | Action::Certificate => {
                    m.pick_for = Some(a);
                    m.go(Screen::PickKey);
                    Effect::Nothing
                }
                Action::RotateRoot | Action::RotateTargets => {
                    m.pick_for = Some(a);
                    m.first_pick = None;
                    m.go(Screen::PickKey);
                    Effect::Nothing
                }
                Action::NewRoot => {
                    m.pick_for = Some(a);
                    m.plan = RootPlan::default();
                    m.plan_step = 0;
                    m.ticked.clear();
                    m.go(Screen::PickKey);
                    Effect::Nothing
                }
                Action::Delegate | Action::SignRequest | Action::GenerateKey => {
                    m.input_for = Some(a);
                    m.input.clear();
                    m.go(Screen::Input);
                    Effect::Nothing
                }
                Action::Publish => {
                    m.pick_for = Some(Action::Publish);
                    if m.pick_list().is_empty() {
                        // No root key with its private half here: publish unsealed (the
                        // runner says so).
                        return m.start(
                            Job::Publish {
                                key: None,
                                secret: None,
                            },
                            "Verifying the whole history and publishing…",
                            Screen::Done,
                        );
                    }
                    m.go(Screen::PickKey);
                    Effect::Nothing
                }
                Action::Refresh => {
                    m.start(Job::Refresh, "Staging the next version…", Screen::Review)
                }
                Action::ShowQr => m.start(
                    Job::Qr,
                    "Encoding the published root as QR frames…",
                    Screen::Qr,
                ),
                Action::Export => {
                    m.go(Screen::ExportDir);
                    Effect::Nothing
                }
                Action::Quit => {
                    m.back.push(m.screen);
                    m.screen = Screen::QuitConfirm;
                    Effect::Nothing
                }
            }
        }
        Screen::Review => {
            m.pick_for = Some(Action::Sign);
            m.go(Screen::PickKey);
            Effect::Nothing
        }
        Screen::PickKey if m.pick_for == Some(Action::NewRoot) => {
            if m.plan_step == 0 {
                if m.ticked.is_empty() {
                    m.error = Some((
                        "tick the root keys first".into(),
                        Some("space ticks a key, Enter goes on".into()),
                    ));
                    return Effect::Nothing;
                }
                m.plan.root = m.ticked.clone();
                m.plan_step = 1;
                m.input_for = Some(Action::NewRoot);
                m.input.clear();
                m.go(Screen::Input);
                return Effect::Nothing;
            }
            let Some(key) = m.pick_list().get(m.cursor).cloned() else {
                return Effect::Nothing;
            };
            match m.plan_step {
                2 => m.plan.targets = key,
                3 => m.plan.snapshot = key,
                _ => {
                    m.plan.timestamp = key;
                    let plan = m.plan.clone();
                    return m.start(
                        Job::NewRoot(plan),
                        "Staging root version 1…",
                        Screen::Review,
                    );
                }
            }
            m.plan_step += 1;
            m.cursor = 0;
            Effect::Nothing
        }
        Screen::PickKey => {
            let Some(key) = m.pick_list().get(m.cursor).cloned() else {
                return Effect::Nothing;
            };
            m.picked = Some(key.clone());
            match m.pick_for {
                Some(Action::Revoke) => m.start(
                    Job::Revoke(key.clone()),
                    &format!("Staging the next version without {key}…"),
                    Screen::Review,
                ),
                Some(Action::AddKey) => m.start(
                    Job::AddKey(key.clone()),
                    &format!("Staging the next version with {key} as a root key…"),
                    Screen::Review,
                ),
                Some(a @ (Action::RotateRoot | Action::RotateTargets)) => match m.first_pick.take()
                {
                    None => {
                        m.first_pick = Some(key);
                        m.cursor = 0;
                        Effect::Nothing
                    }
                    Some(old) => {
                        let role = if a == Action::RotateRoot {
                            "root"
                        } else {
                            "targets"
                        };
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
                },
                Some(Action::Delegate) => {
                    // Next: the targets key's secret, to sign the targets metadata.
                    m.go(Screen::Secret);
                    Effect::Nothing
                }
                _ => {
                    if m.backend_of(&key) == "public" {
                        m.error = Some((
                            format!("{key} is a public key only: its keyholder signs on their own machine"),
                            Some("export a signing request (rootcellar request export) and merge what comes back".into()),
                        ));
                        return Effect::Nothing;
                    }
                    m.go(Screen::Secret);
                    Effect::Nothing
                }
            }
        }
        Screen::PickTarget => {
            let Some(t) = m.snap.gen_targets.get(m.cursor).cloned() else {
                return Effect::Nothing;
            };
            m.gen_target = Some(t);
            m.pick_for = Some(Action::GenerateKey);
            m.go(Screen::Secret);
            Effect::Nothing
        }
        Screen::Secret => {
            let key = m.picked.clone().unwrap_or_default();
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
            match m.pick_for {
                Some(Action::GenerateKey) => {
                    let name = m.input.trim().to_string();
                    let target = m.gen_target.clone().unwrap_or_default();
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
                Some(Action::Delegate) => {
                    let role = m.input.trim().to_string();
                    m.start(
                        Job::Delegate {
                            role: role.clone(),
                            key: key.clone(),
                            secret,
                        },
                        &format!("Signing the targets metadata: {role} → {key}…"),
                        Screen::Done,
                    )
                }
                Some(Action::Publish) => m.start(
                    Job::Publish {
                        key: Some(key.clone()),
                        secret,
                    },
                    &format!("Verifying the whole history, publishing, sealing the transcript with {key}{touch}…"),
                    Screen::Done,
                ),
                Some(Action::Certificate) => m.start(
                    Job::Certificate {
                        key: key.clone(),
                        secret,
                    },
                    &format!("Making the root certificate of {key} on its device{touch}…"),
                    Screen::Done,
                ),
                Some(Action::SignRequest) => {
                    let file = m.input.trim().to_string();
                    m.start(
                        Job::SignFile {
                            file: file.clone(),
                            key: key.clone(),
                            secret,
                        },
                        &format!("Signing {file} with {key}{touch}…"),
                        Screen::Done,
                    )
                }
                _ => m.start(
                    Job::Sign {
                        key: key.clone(),
                        secret,
                    },
                    &format!("Signing with {key}{touch}…"),
                    Screen::Review,
                ),
            }
        }
        Screen::Input => {
            if m.input.trim().is_empty() {
                m.error = Some(("type it first".into(), Some("then Enter".into())));
                return Effect::Nothing;
            }
            match m.input_for {
                Some(Action::NewRoot) => {
                    let n = m.plan.root.len() as u64;
                    match m.input.trim().parse::<u64>() {
                        Ok(t) if (1..=n).contains(&t) => {
                            m.plan.threshold = t;
                            m.plan_step = 2;
                            m.input.clear();
                            m.go(Screen::PickKey);
                        }
                        _ => {
                            m.error = Some((
                                format!("the threshold must be a number from 1 to {n}"),
                                Some("type it again".into()),
                            ));
                        }
                    }
                    Effect::Nothing
                }
                Some(Action::GenerateKey) => {
                    let keep = std::mem::take(&mut m.input);
                    m.go(Screen::PickTarget);
                    m.input = keep;
                    Effect::Nothing
                }
                _ => {
                    m.pick_for = m.input_for;
                    // The text stays: the next steps use it (role name, request file).
                    let keep = std::mem::take(&mut m.input);
                    m.go(Screen::PickKey);
                    m.input = keep;
                    Effect::Nothing
                }
            }
        }
        Screen::ExportDir => {
            let dir = m.input.trim().to_string();
            if dir.is_empty() {
                m.error = Some((
                    "give the folder of the USB stick".into(),
                    Some("type its path, then Enter".into()),
                ));
                return Effect::Nothing;
            }
            m.start(
                Job::Export(dir.clone()),
                &format!("Writing and checking {dir}…"),
                Screen::Done,
            )
        }
        Screen::Done | Screen::Qr => {
            m.back.clear();
            m.screen = Screen::Choose;
            m.cursor = 0;
            Effect::Nothing
        }
        Screen::Busy | Screen::QuitConfirm => Effect::Nothing,
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
            notary: None,
        }
    }

    pub fn staged() -> Staged {
        Staged {
            version: 4,
            digest_aloud: "65d0 e807 6408 d282".into(),
            diff: vec!["expiry: 2027-06-01T00:00:00Z → 2027-12-01T00:00:00Z".into()],
            by_previous: Some((0, 2)),
            by_self: (0, 2),
            can_still_sign: vec!["alice".into(), "bob".into(), "carol".into()],
            publishable: false,
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
        assert!(matches!(
            update(&mut m, Msg::Enter),
            Effect::Start(Job::Refresh)
        ));
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
        assert_eq!(m.screen, Screen::PickKey);
        assert_eq!(m.pick_list(), vec!["alice", "bob", "carol"]);
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Secret);
        typed(&mut m, "1234q6");
        assert_eq!(m.secret_len(), 6, "q is typed, not quit, in the PIN field");
        update(&mut m, Msg::Backspace);
        typed(&mut m, "6");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::Sign { key, secret }) => {
                assert_eq!(key, "alice");
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
        assert_eq!(m.screen, Screen::Secret);
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
        assert_eq!(m.screen, Screen::Secret);
        assert_eq!(m.picked.as_deref(), Some("bob"));
        // Esc goes back and clears the error; the staged root was never touched by the model.
        update(&mut m, Msg::Esc);
        assert_eq!(m.screen, Screen::PickKey);
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
        assert_eq!(m.screen, Screen::PickKey);
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
        assert_eq!(m.screen, Screen::PickKey);
        // Only keys whose private half is here: carol is a public key.
        assert_eq!(m.pick_list(), vec!["alice".to_string(), "bob".to_string()]);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Secret);
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
        assert_eq!(m.screen, Screen::PickKey);
        assert_eq!(m.pick_list(), vec!["alice".to_string(), "bob".to_string()]);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Secret);
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
        assert_eq!(m.first_pick.as_deref(), Some("alice"));
        assert_eq!(m.pick_list(), vec!["alice2", "tk"]);
        // Esc on the second list goes back to the first.
        update(&mut m, Msg::Esc);
        assert!(m.first_pick.is_none());
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
        assert_eq!(m.screen, Screen::Input);
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert!(m.error.is_some(), "an empty role name is refused");
        typed(&mut m, "targets/releases");
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::PickKey);
        assert_eq!(m.pick_list(), vec!["release"]);
        update(&mut m, Msg::Enter);
        assert_eq!(
            m.screen,
            Screen::Secret,
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
        update(&mut m, Msg::Enter);
        assert_eq!(
            m.pick_list(),
            vec!["alice", "bob"],
            "only keys that can sign here"
        );
        update(&mut m, Msg::Enter);
        typed(&mut m, "123456");
        match update(&mut m, Msg::Enter) {
            Effect::Start(Job::SignFile { file, key, .. }) => assert_eq!(
                (file.as_str(), key.as_str()),
                ("/media/usb/request.json", "alice")
            ),
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
        assert_eq!(m.screen, Screen::Qr);
        update(&mut m, Msg::Char(' '));
        assert_eq!(m.frame, 1);
        update(&mut m, Msg::Char(' '));
        assert_eq!(m.frame, 0);
        update(&mut m, Msg::Char('b'));
        assert_eq!(m.frame, 1);
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
        assert_eq!(m.screen, Screen::PickKey);
        assert!(matches!(update(&mut m, Msg::Enter), Effect::Nothing));
        assert!(m.error.is_some(), "no root key ticked yet");
        update(&mut m, Msg::Char(' '));
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Char(' '));
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Char(' '));
        update(&mut m, Msg::Char(' '));
        assert_eq!(m.ticked, vec!["alice", "bob"], "space ticks and unticks");
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Input);
        typed(&mut m, "3");
        update(&mut m, Msg::Enter);
        assert!(m.error.as_ref().unwrap().0.contains("from 1 to 2"));
        update(&mut m, Msg::Backspace);
        typed(&mut m, "2");
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::PickKey);
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
            }
            other => panic!("{other:?}"),
        }
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
        assert_eq!(m.screen, Screen::PickTarget);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Secret);
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

//! Drawing the model. Pure: the same model always draws the same screen (snapshot-tested at
//! 80×24). Colour only when allowed (NO_COLOR unset); selection uses reverse video.

use super::model::{Flow, KeyRow, Model, PlanStep, QrView, Screen};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

const SPINNER: [&str; 4] = ["|", "/", "-", "\\"];

fn style(m: &Model, c: Color) -> Style {
    if m.color {
        Style::default().fg(c)
    } else {
        Style::default()
    }
}

/// The step a screen belongs to, as the title shows it.
fn step(screen: &Screen) -> &'static str {
    match screen {
        Screen::Preflight => "1 Preflight",
        Screen::Choose | Screen::Input(_) => "2 Choose",
        Screen::PickKey(_) | Screen::PickTarget(_) => "3 Keys",
        Screen::Review | Screen::RequestReview(_) => "4 Review",
        // A new key's passphrase or PIN belongs to the keys step, not to signing.
        Screen::Secret(Flow::Generate { .. }, _) => "3 Keys: new key",
        Screen::Secret(..) => "5 Sign",
        Screen::ExportDir | Screen::Done | Screen::Qr(_) => "6 Publish and export",
        Screen::Busy => "Working",
        Screen::QuitConfirm => "Quit?",
    }
}

/// The keys a screen answers to, as its footer lists them.
fn keys(screen: &Screen) -> &'static str {
    match screen {
        Screen::Preflight => "Enter: the clock is right, continue · q quit",
        Screen::Choose => "↑↓ choose · Enter select · q quit",
        Screen::PickKey(_) => "↑↓ choose · Enter select · Esc back · q quit",
        Screen::Review => "s sign · Esc back · q quit",
        Screen::RequestReview(_) => "Enter continue · Esc back · q quit",
        Screen::Secret(Flow::Generate { .. }, _) => "type the secret · Enter continue · Esc back",
        Screen::Secret(..) => "type the secret · Enter sign · Esc back",
        Screen::ExportDir => "type the folder · Enter export · Esc back",
        Screen::Input(_) => "type · Enter continue · Esc back",
        Screen::PickTarget(_) => "↑↓ choose where · Enter select · Esc back",
        Screen::Qr(_) => "space/↓ next frame · b/↑ previous · Enter done",
        Screen::Busy => "working… (an operation in flight is finished, not abandoned)",
        Screen::Done => "Enter back to the menu · q quit",
        Screen::QuitConfirm => "y quit · n stay",
    }
}

pub fn draw(f: &mut Frame, m: &Model) {
    let area = f.area();
    // QR frames take the whole terminal: larger codes, fewer frames.
    if let Screen::Qr(q) = &m.screen {
        qr(f, area, q);
        return;
    }
    let [title, body, err, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(5),
        Constraint::Length(error_height(m, area)),
        Constraint::Length(1),
    ])
    .areas(area);
    let step = step(&m.screen);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                " rootcellar ceremony ",
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Span::raw(match &m.snap.notary {
                Some(gun) => format!(
                    "· {step} · Notary v1 / DCT {gun} · {} · {}",
                    m.snap.dir, m.snap.clock
                ),
                None => format!("· {step} · {} · {}", m.snap.dir, m.snap.clock),
            }),
        ])),
        title,
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {step} "));
    let inner = block.inner(body);
    f.render_widget(block, body);
    f.render_widget(
        Paragraph::new(Span::styled(
            format!(" {}", keys(&m.screen)),
            style(m, Color::DarkGray),
        )),
        footer,
    );
    if let Some(p) = error_text(m) {
        f.render_widget(p, err);
    }
    match &m.screen {
        Screen::Preflight => preflight(f, inner, m),
        Screen::Choose => {
            let items: Vec<ListItem> = m.menu().iter().map(|a| ListItem::new(a.label())).collect();
            list(f, inner, items, m.cursor);
        }
        Screen::PickTarget(_) => {
            let items: Vec<ListItem> = m
                .snap
                .gen_targets
                .iter()
                .map(|t| ListItem::new(t.label.clone()))
                .collect();
            list(f, inner, items, m.cursor);
        }
        Screen::PickKey(Flow::NewRoot { ticked, step, .. }) => {
            plan_keys(f, inner, m, ticked, *step)
        }
        Screen::PickKey(flow) => pick_key(f, inner, m, flow),
        Screen::Review => review(f, inner, m),
        Screen::RequestReview(flow) => request_review(f, inner, m, flow),
        Screen::Secret(flow, key) => secret(f, inner, m, flow, key),
        Screen::ExportDir => {
            let l = vec![
                Line::from(
                    "Folder of the USB stick (the published roots and SHA256SUMS go there):",
                ),
                Line::from(""),
                Line::from(format!("  > {}", m.input)),
            ];
            f.render_widget(Paragraph::new(l), inner);
        }
        Screen::Input(flow) => input(f, inner, m, flow),
        Screen::Qr(_) => {}
        Screen::Busy => {
            let t = format!(
                "{} {}",
                SPINNER[m.spinner % SPINNER.len()],
                m.busy.clone().unwrap_or_default()
            );
            f.render_widget(Paragraph::new(t).wrap(Wrap { trim: false }), inner);
        }
        Screen::Done => {
            let l: Vec<Line> = m.done.iter().map(|d| Line::from(d.clone())).collect();
            scrolled(f, inner, m, l);
        }
        Screen::QuitConfirm => {
            f.render_widget(Paragraph::new("Quit the ceremony screen? y/n\n\nWhat is in the workspace (the staged root and its signatures) stays."), inner);
        }
    }
}

/// The error and what to do, wrapped.
fn error_text(m: &Model) -> Option<Paragraph<'static>> {
    let (msg, hint) = m.error.as_ref()?;
    let mut lines = vec![Line::from(Span::styled(
        format!(" ✗ {msg}"),
        style(m, Color::Red).add_modifier(Modifier::BOLD),
    ))];
    if let Some(h) = hint {
        lines.push(Line::from(format!("   what to do: {h}")));
    }
    Some(Paragraph::new(lines).wrap(Wrap { trim: false }))
}

/// Rows for the error: all of it as wrapped at this width, at most a third of the screen.
fn error_height(m: &Model, area: Rect) -> u16 {
    error_text(m).map_or(0, |p| {
        let rows = p.line_count(area.width).max(1);
        (rows as u16).min((area.height / 3).max(2))
    })
}

/// Lines that may not fit: wrapped, scrolled by the operator (↑ ↓, PgUp PgDn), and when they
/// do not fit, the last row says which lines show and how to see the rest.
fn scrolled(f: &mut Frame, inner: Rect, m: &Model, lines: Vec<Line<'static>>) {
    let p = Paragraph::new(lines).wrap(Wrap { trim: false });
    let total = p.line_count(inner.width);
    let rows = inner.height as usize;
    if total <= rows || rows < 2 {
        m.scroll_limit.set(0);
        f.render_widget(p, inner);
        return;
    }
    let shown = rows - 1;
    m.scroll_limit
        .set(u16::try_from(total - shown).unwrap_or(u16::MAX));
    let top = (m.scroll as usize).min(total - shown);
    let [body, more] =
        Layout::vertical([Constraint::Length(shown as u16), Constraint::Length(1)]).areas(inner);
    f.render_widget(p.scroll((top as u16, 0)), body);
    let hint = format!(
        "lines {}–{} of {} · ↑↓ PgUp PgDn scroll{}",
        top + 1,
        top + shown,
        total,
        if top + shown < total {
            " · more below"
        } else {
            ""
        }
    );
    f.render_widget(
        Paragraph::new(Span::styled(
            hint,
            style(m, Color::Yellow).add_modifier(Modifier::BOLD),
        )),
        more,
    );
}

fn preflight(f: &mut Frame, inner: Rect, m: &Model) {
    let s = &m.snap;
    let mut l = Vec::new();
    if s.air_gap.is_empty() {
        l.push(Line::from(Span::styled(
            "Air gap: OK — no network interface up, no radio unblocked",
            style(m, Color::Green),
        )));
    } else {
        l.push(Line::from(Span::styled(
            "Air gap: THIS MACHINE IS ONLINE",
            style(m, Color::Red).add_modifier(Modifier::BOLD),
        )));
        for a in &s.air_gap {
            l.push(Line::from(format!("  {a}")));
        }
    }
    l.push(Line::from(format!(
        "Clock: {} — check it against a trusted watch",
        s.clock
    )));
    l.push(Line::from(format!("Workspace: {}", s.dir)));
    l.push(Line::from(match &s.published {
        Some((v, e)) => format!("Published: root version {v}, expires {e}"),
        None => "Published: nothing yet".into(),
    }));
    if let Some(st) = &s.staged {
        l.push(Line::from(format!(
            "Staged: root version {}, digest {}",
            st.version, st.digest_aloud
        )));
    }
    for w in &s.warnings {
        l.push(Line::from(Span::styled(
            format!("! {w}"),
            style(m, Color::Yellow),
        )));
    }
    l.push(Line::from("Devices:"));
    if s.devices.is_empty() {
        l.push(Line::from("  none found"));
    }
    for d in &s.devices {
        l.push(Line::from(format!("  {d}")));
    }
    scrolled(f, inner, m, l);
}

/// Version 1's keys: the root keys to tick, then each online key.
fn plan_keys(f: &mut Frame, inner: Rect, m: &Model, ticked: &[String], step: PlanStep) {
    let head_text = match step {
        PlanStep::RootKeys => "Tick version 1's root keys (space), then Enter:",
        PlanStep::Targets => "The targets (tagging) key:",
        PlanStep::Snapshot => "The snapshot key:",
        _ => "The timestamp key:",
    };
    let [head, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    f.render_widget(Paragraph::new(head_text), head);
    let roots = step == PlanStep::RootKeys;
    let items: Vec<ListItem> = m
        .pick_list()
        .iter()
        .map(|k| {
            let tick = match (roots, ticked.contains(k)) {
                (false, _) => "",
                (true, true) => "[x] ",
                (true, false) => "[ ] ",
            };
            // Notary: a root key needs its certificate before staging.
            let cert = if roots
                && m.snap.notary.is_some()
                && m.snap.keys.iter().any(|r| &r.name == k && r.certificate)
            {
                "  certificate ready"
            } else {
                ""
            };
            ListItem::new(format!("{tick}{k}{cert}"))
        })
        .collect();
    list(f, rest, items, m.cursor);
}

fn pick_key(f: &mut Frame, inner: Rect, m: &Model, flow: &Flow) {
    let inner = if *flow == Flow::Publish {
        let [head, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
        f.render_widget(
            Paragraph::new("Seal the ceremony transcript with which root key?"),
            head,
        );
        rest
    } else {
        inner
    };
    let items: Vec<ListItem> = m
        .pick_list()
        .iter()
        .map(|k| {
            let row = m.snap.keys.iter().find(|r| &r.name == k);
            let backend = row.map(|r| r.backend.as_str()).unwrap_or("");
            let mut att = row
                .and_then(|r| r.attestation.as_deref())
                .map(|a| format!("  {a}"))
                .unwrap_or_default();
            if m.snap.notary.is_some() && row.is_some_and(|r| r.certificate) {
                att.push_str("  certificate ready");
            }
            ListItem::new(format!("{k:<16} {backend:<9}{att}"))
        })
        .collect();
    if items.is_empty() {
        f.render_widget(Paragraph::new("No key to choose here."), inner);
    } else {
        list(f, inner, items, m.cursor);
    }
}

fn review(f: &mut Frame, inner: Rect, m: &Model) {
    let mut l = Vec::new();
    match &m.snap.staged {
        Some(st) => {
            l.push(Line::from(Span::styled(
                format!(
                    "Root version {} — read aloud: {}",
                    st.version, st.digest_aloud
                ),
                Style::default().add_modifier(Modifier::BOLD),
            )));
            for d in &st.diff {
                l.push(Line::from(d.clone()));
            }
            // The expiry on every review, version 1's included; inside the warning window in
            // colour (and in words, for NO_COLOR).
            match st.expires_in_days {
                Some(n) if n < 60 => l.push(Line::from(Span::styled(
                    format!(
                        "Expires: {} (in {n} days — inside the 60-day warning window)",
                        st.expires
                    ),
                    style(m, Color::Yellow),
                ))),
                Some(n) => l.push(Line::from(format!("Expires: {} (in {n} days)", st.expires))),
                None => l.push(Line::from(format!("Expires: {}", st.expires))),
            }
            if let Some((n, t)) = st.by_previous {
                l.push(Line::from(format!(
                    "Previous version's root keys: {n} of {t}{}",
                    if n as u64 >= t { " — met" } else { "" }
                )));
            }
            l.push(Line::from(format!(
                "Its own root keys: {} of {}{}",
                st.by_self.0,
                st.by_self.1,
                if st.by_self.0 as u64 >= st.by_self.1 {
                    " — met"
                } else {
                    ""
                }
            )));
            if !st.can_still_sign.is_empty() && !st.publishable {
                l.push(Line::from(format!(
                    "Still to sign: {}",
                    st.can_still_sign.join(", ")
                )));
            }
            // Each root key's hardware proof, or why there is none.
            let root_keys: Vec<&KeyRow> = (m.snap.keys.iter())
                .filter(|k| k.roles.iter().any(|r| r == "root"))
                .collect();
            if !root_keys.is_empty() {
                l.push(Line::from("Root keys:"));
            }
            for k in root_keys {
                let att = match (&k.attestation, k.backend.as_str()) {
                    (Some(a), _) => a.clone(),
                    (None, "pkcs11") => "PKCS#11 token key: no vendor attestation".into(),
                    (None, b) => format!("no attestation ({b} key)"),
                };
                let colour = if att.starts_with("attested") {
                    Color::Green
                } else {
                    Color::Yellow
                };
                l.push(Line::from(Span::styled(
                    format!("  {}: {att}", k.name),
                    style(m, colour),
                )));
            }
            let (text, colour) = if st.publishable {
                ("Ready to publish (Esc, then Publish)", Color::Green)
            } else {
                ("Not yet publishable", Color::Yellow)
            };
            l.push(Line::from(Span::styled(text, style(m, colour))));
        }
        None => l.push(Line::from("Nothing is staged.")),
    }
    if !m.done.is_empty() {
        l.push(Line::from(""));
        for d in &m.done {
            l.push(Line::from(Span::styled(d.clone(), style(m, Color::Green))));
        }
    }
    scrolled(f, inner, m, l);
}

/// A request's review, computed here: what changes, and the digest to compare with the one
/// read aloud. Unverified: said in red, and Enter asks for the digest instead of a key.
fn request_review(f: &mut Frame, inner: Rect, m: &Model, flow: &Flow) {
    let Flow::SignRequest {
        file,
        review: Some(r),
        ..
    } = flow
    else {
        return;
    };
    let mut l = vec![Line::from(Span::styled(
        format!(
            "Request {}: root version {} — read aloud: {}",
            crate::text::field(file),
            r.version,
            r.digest_aloud
        ),
        Style::default().add_modifier(Modifier::BOLD),
    ))];
    for d in &r.diff {
        l.push(Line::from(d.clone()));
    }
    l.push(Line::from(""));
    match &r.unverified {
        Some(why) => {
            l.push(Line::from(Span::styled(
                format!("{why}: it cannot be signed as it is."),
                style(m, Color::Red).add_modifier(Modifier::BOLD),
            )));
            l.push(Line::from(
                "Enter: type the full digest of the version it follows, as the ceremony read it aloud or sent it on a second channel.",
            ));
        }
        None => l.push(Line::from(Span::styled(
            "Compare the digest with the one read aloud. Enter: choose your key; Esc: do not sign.",
            style(m, Color::Green),
        ))),
    }
    scrolled(f, inner, m, l);
}

/// What a signature will cover, shown above the secret field: the version and digest.
fn signing_what(m: &Model, flow: &Flow) -> Option<Line<'static>> {
    let (v, aloud) = match flow {
        Flow::SignRequest {
            review: Some(r), ..
        } => (r.version, r.digest_aloud.clone()),
        Flow::Sign => m
            .snap
            .staged
            .as_ref()
            .map(|s| (s.version, s.digest_aloud.clone()))?,
        _ => return None,
    };
    Some(Line::from(Span::styled(
        format!("Signing root version {v} — read aloud: {aloud}"),
        Style::default().add_modifier(Modifier::BOLD),
    )))
}

fn secret(f: &mut Frame, inner: Rect, m: &Model, flow: &Flow, key: &str) {
    let dots = "•".repeat(m.secret_len());
    let l = match flow {
        Flow::Generate { name, target } => {
            let t = target.clone().unwrap_or_default();
            let what = match (t.backend == "software", m.asking_again()) {
                (true, false) => "a new passphrase (at least 8 characters) for the key file",
                (true, true) => "the same passphrase again",
                (false, _) => "the device's PIN",
            };
            vec![
                Line::from(format!("New key {} on {}.", name.trim(), t.label)),
                Line::from(format!("Type {what}:")),
                Line::from(""),
                Line::from(format!("  secret: {dots}")),
                Line::from(""),
                Line::from("It is never shown, never stored, and used once."),
            ]
        }
        Flow::Delegate { .. } => vec![
            Line::from(format!(
                "The targets key signs the new delegation to {key}."
            )),
            Line::from("Type the targets key's PIN or passphrase:"),
            Line::from(""),
            Line::from(format!("  secret: {dots}")),
            Line::from(""),
            Line::from("It is never shown, never stored, and used once."),
        ],
        _ => {
            let backend = m
                .snap
                .keys
                .iter()
                .find(|r| r.name == key)
                .map(|r| r.backend.clone())
                .unwrap_or_default();
            let what = if backend == "software" {
                "passphrase"
            } else {
                "PIN"
            };
            let mut l: Vec<Line> = signing_what(m, flow).into_iter().collect();
            l.extend([
                Line::from(format!(
                    "Keyholder of {key}: type the {what} ({backend} key)."
                )),
                Line::from(""),
                Line::from(format!("  {what}: {dots}")),
                Line::from(""),
                Line::from("It is never shown, never stored, and used once for this signature."),
                Line::from(if backend == "yubikey" {
                    "Then touch the YubiKey when it blinks."
                } else {
                    ""
                }),
            ]);
            l
        }
    };
    f.render_widget(Paragraph::new(l), inner);
}

fn input(f: &mut Frame, inner: Rect, m: &Model, flow: &Flow) {
    let threshold_q;
    let expiry_q;
    let what = match flow {
        Flow::Delegate { .. } => "Name of the tagging role to delegate (e.g. targets/releases):",
        Flow::Generate { .. } => "Name of the new key (e.g. the keyholder's name):",
        Flow::Discard => "Type discard to drop the staged root and its signatures (Esc keeps it):",
        Flow::NewRoot {
            step: PlanStep::Expires,
            ..
        }
        | Flow::Refresh => {
            let v = match (flow, &m.snap.published) {
                (Flow::Refresh, Some((v, _))) => v + 1,
                _ => 1,
            };
            expiry_q = format!(
                "When does root version {v} expire? A date (2027-12-31), a span from now (365d, 52w) or RFC 3339:"
            );
            expiry_q.as_str()
        }
        Flow::NewRoot { plan, .. } => {
            threshold_q = format!(
                "Root threshold: how many of the {} root keys must sign each version?",
                plan.root.len()
            );
            threshold_q.as_str()
        }
        Flow::SignRequest { file, .. } if !file.is_empty() => {
            "Full digest of the root version the request follows (64 hex digits, as read aloud or received on a second channel):"
        }
        _ => "Path of the signing request brought on the USB stick:",
    };
    let mut lines = vec![
        Line::from(what),
        Line::from(""),
        Line::from(format!("  > {}", m.input)),
    ];
    // An expiry is read back as it is typed: the time, and the days left.
    if matches!(
        flow,
        Flow::Refresh
            | Flow::NewRoot {
                step: PlanStep::Expires,
                ..
            }
    ) && let Ok(p) = m.snap.expiry(&m.input)
    {
        let text = format!(
            "  = {} — in {} days{}",
            p.expires,
            p.days,
            if p.inside_window {
                format!(", inside the {} warning window", m.snap.expiry_warning)
            } else {
                String::new()
            }
        );
        let style = if p.inside_window && m.color {
            Style::default().fg(Color::Yellow)
        } else {
            Style::default()
        };
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(text, style)));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// QR frames: black on white always (an inverted code does not scan), NO_COLOR or not.
fn qr(f: &mut Frame, area: Rect, q: &QrView) {
    let black = Style::default().fg(Color::Black).bg(Color::White);
    let mut lines = Vec::new();
    if let Some((side, dark)) = q.frames.get(q.frame) {
        let at = |x: isize, y: isize| {
            x >= 0
                && y >= 0
                && (x as usize) < *side
                && (y as usize) < *side
                && dark[y as usize * side + x as usize]
        };
        let quiet = crate::transfer::render::TERMINAL_QUIET as isize;
        let w = *side as isize + 2 * quiet;
        let mut y = -quiet;
        while y < w - quiet {
            let spans: Vec<Span> = (-quiet..w - quiet)
                .map(|x| {
                    let (top, bottom) = (at(x, y), at(x, y + 1));
                    let st = Style::default()
                        .fg(if top { Color::Black } else { Color::White })
                        .bg(if bottom { Color::Black } else { Color::White });
                    Span::styled("\u{2580}", st)
                })
                .collect();
            lines.push(Line::from(spans));
            y += 2;
        }
        // The keys are named when the line has room for them.
        let mut caption = format!(" frame {}/{} · {} ", q.frame + 1, q.frames.len(), q.caption);
        let keys = "· space next · b previous · Enter done ";
        if caption.chars().count() + keys.chars().count() <= area.width as usize {
            caption.push_str(keys);
        }
        lines.push(Line::from(Span::styled(caption, black)));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn list(f: &mut Frame, area: Rect, items: Vec<ListItem>, cursor: usize) {
    let mut state = ListState::default();
    state.select(Some(cursor));
    let l = List::new(items)
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED))
        .highlight_symbol("> ");
    f.render_stateful_widget(l, area, &mut state);
}

#[cfg(test)]
mod tests {
    use super::super::model::{Model, Msg, Screen, Snapshot, Staged, update};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn render(m: &Model) -> String {
        let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
        t.draw(|f| super::draw(f, m)).unwrap();
        t.backend().to_string()
    }

    fn snap(staged: bool) -> Snapshot {
        let mut s = Snapshot {
            dir: "/ceremony".into(),
            clock: "2026-11-29T10:00:00Z".into(),
            air_gap: vec![],
            published: Some((3, "2027-06-01T00:00:00Z".into())),
            warnings: vec!["the published root version 3 expires on 2027-06-01T00:00:00Z (40 days): plan a refresh ceremony".into()],
            staged: None,
            keys: vec![
                super::super::model::KeyRow { name: "alice".into(), backend: "yubikey".into(), in_root: true,
                    roles: vec!["root".into()], attestation: Some("attested: YubiKey serial 5437251".into()), certificate: false },
                super::super::model::KeyRow { name: "bob".into(), backend: "pkcs11".into(), in_root: true,
                    roles: vec!["root".into()], attestation: None, certificate: false },
            ],
            devices: vec!["YubiKey 5437251 (firmware 5.7.4, PIN tries left 3)".into(), "softhsm2 token \"ceremony\" serial 8bf1 (PIN ok)".into()],
            gen_targets: vec![],
            devices_read: true,
            online_allowed: false,
            notary: None,
            root_expiry: "365d".into(),
            expiry_warning: "60d".into(),
        };
        if staged {
            s.staged = Some(Staged {
                version: 4,
                digest: String::new(),
                digest_aloud: "65d0 e807 6408 d282".into(),
                diff: vec![
                    "expiry: 2027-06-01T00:00:00Z → 2027-12-01T00:00:00Z".into(),
                    "- key carol (1a2b:3c4d:5e6f:7a8b)".into(),
                ],
                by_previous: Some((1, 2)),
                by_self: (1, 2),
                can_still_sign: vec!["alice".into(), "bob".into()],
                publishable: false,
                expires: "2027-12-01T00:00:00Z".into(),
                expires_in_days: Some(40),
            });
        }
        s
    }

    fn at(screen_keys: &[Msg], staged: bool) -> Model {
        let mut m = Model::new(false);
        update(&mut m, Msg::Loaded(Ok(Box::new(snap(staged)))));
        for k in screen_keys {
            let k = match k {
                Msg::Up => Msg::Up,
                Msg::Down => Msg::Down,
                Msg::Enter => Msg::Enter,
                Msg::Esc => Msg::Esc,
                Msg::Char(c) => Msg::Char(*c),
                Msg::Backspace => Msg::Backspace,
                _ => Msg::Tick,
            };
            update(&mut m, k);
        }
        m
    }

    /// At 80×24 a review longer than the screen says so and scrolls to its last line; a long
    /// error is shown whole (issue 21).
    #[test]
    fn long_text_scrolls_at_80_by_24() {
        let mut s = snap(true);
        if let Some(st) = s.staged.as_mut() {
            for i in 0..30 {
                st.diff
                    .push(format!("+ key k{i:02} (0000:0000:0000:{i:04})"));
            }
            st.diff.push("LAST DIFF LINE".into());
        }
        let mut m = Model::new(false);
        update(&mut m, Msg::Loaded(Ok(Box::new(s))));
        update(&mut m, Msg::Enter);
        update(&mut m, Msg::Enter);
        assert_eq!(m.screen, Screen::Review);
        let first = render(&m);
        assert!(first.contains("more below"), "{first}");
        assert!(!first.contains("LAST DIFF LINE"), "{first}");
        // Scrolling stops at the last line, and comes back to the top.
        for _ in 0..20 {
            update(&mut m, Msg::PageDown);
            render(&m);
        }
        let last = render(&m);
        assert!(last.contains("LAST DIFF LINE"), "{last}");
        assert!(!last.contains("more below"), "{last}");
        for _ in 0..20 {
            update(&mut m, Msg::PageUp);
        }
        assert_eq!(m.scroll, 0);
        // A new screen starts at its top.
        update(&mut m, Msg::PageDown);
        assert!(m.scroll > 0);
        update(&mut m, Msg::Esc);
        assert_eq!(m.scroll, 0);
        // An error with a long hint is shown whole, not cut at three lines.
        m.error = Some((
            "a long error ".repeat(8) + "END OF ERROR",
            Some("a long hint ".repeat(10) + "END OF HINT"),
        ));
        let e = render(&m);
        assert!(
            e.contains("END OF ERROR") && e.contains("END OF HINT"),
            "{e}"
        );
    }

    #[test]
    fn screens_at_80_by_24() {
        let mut online = Model::new(false);
        let mut s = snap(false);
        s.air_gap = vec!["network interface eth0 (up, state up)".into()];
        update(&mut online, Msg::Loaded(Ok(Box::new(s.clone()))));
        insta::assert_snapshot!("preflight_online", render(&online));
        // Online: Enter stops at preflight, saying why (issue 21); a dry run goes on.
        update(&mut online, Msg::Enter);
        assert_eq!(online.screen, Screen::Preflight);
        assert!(
            online
                .error
                .as_ref()
                .is_some_and(|e| e.0.contains("this machine is online"))
        );
        let mut dry = Model::new(false);
        s.online_allowed = true;
        update(&mut dry, Msg::Loaded(Ok(Box::new(s))));
        update(&mut dry, Msg::Enter);
        assert_eq!(dry.screen, Screen::Choose);
        insta::assert_snapshot!("preflight", render(&at(&[], false)));
        insta::assert_snapshot!("choose", render(&at(&[Msg::Enter], false)));
        insta::assert_snapshot!("review", render(&at(&[Msg::Enter, Msg::Enter], true)));
        insta::assert_snapshot!(
            "pick_key",
            render(&at(&[Msg::Enter, Msg::Down, Msg::Enter], true))
        );
        let m = at(
            &[
                Msg::Enter,
                Msg::Down,
                Msg::Enter,
                Msg::Enter,
                Msg::Char('1'),
                Msg::Char('2'),
                Msg::Char('3'),
            ],
            true,
        );
        assert!(matches!(m.screen, Screen::Secret(..)));
        insta::assert_snapshot!("secret", render(&m));
        let mut m = at(&[Msg::Enter, Msg::Down, Msg::Enter, Msg::Enter], true);
        update(&mut m, Msg::Enter);
        insta::assert_snapshot!("busy", render(&m));
        update(
            &mut m,
            Msg::Finished(Err((
                "wrong PIN for YubiKey 5437251: 2 tries left".into(),
                Some("check the PIN before trying again".into()),
            ))),
        );
        insta::assert_snapshot!("secret_wrong_pin", render(&m));
        insta::assert_snapshot!(
            "export_dir",
            render(&at(
                &[
                    Msg::Enter,
                    Msg::Down,
                    Msg::Down,
                    Msg::Down,
                    Msg::Down,
                    Msg::Down,
                    Msg::Enter,
                    Msg::Char('/'),
                    Msg::Char('u'),
                ],
                false
            ))
        );
        let mut m = at(
            &[
                Msg::Enter,
                Msg::Down,
                Msg::Down,
                Msg::Down,
                Msg::Down,
                Msg::Down,
                Msg::Enter,
                Msg::Char('/'),
                Msg::Char('u'),
            ],
            false,
        );
        update(&mut m, Msg::Enter);
        update(
            &mut m,
            Msg::Finished(Ok(vec![
                "Exported to /u, read back and verified:".into(),
                "  3.root.json      written".into(),
            ])),
        );
        update(&mut m, Msg::Loaded(Ok(Box::new(snap(false)))));
        insta::assert_snapshot!("done", render(&m));
        insta::assert_snapshot!("quit", render(&at(&[Msg::Char('q')], false)));
        // A request's review, unverified, with an escape sequence in what the file said.
        let mut m = at(&[Msg::Enter], false);
        let i = m
            .menu()
            .iter()
            .position(|a| *a == crate::tui::model::Action::SignRequest)
            .unwrap();
        for _ in 0..i {
            update(&mut m, Msg::Down);
        }
        update(&mut m, Msg::Enter);
        for c in "/u/r.json".chars() {
            update(&mut m, Msg::Char(c));
        }
        update(&mut m, Msg::Enter);
        update(
            &mut m,
            Msg::Reviewed(Ok(crate::tui::model::RequestReview {
                version: 4,
                digest: "ab".repeat(32),
                digest_aloud: "abab abab abab abab".into(),
                diff: vec![
                    "root: threshold 2 → 1".into(),
                    crate::text::field("+ key \x1b[2K (7a8b:…)").into_owned(),
                ],
                unverified: Some("UNVERIFIED: against the bundle's own previous".into()),
            })),
        );
        insta::assert_snapshot!("request_review_unverified", render(&m));
        insta::assert_snapshot!(
            "delegate_input",
            render(&at(
                &[
                    Msg::Enter,
                    Msg::Down,
                    Msg::Down,
                    Msg::Down,
                    Msg::Down,
                    Msg::Enter,
                    Msg::Char('t')
                ],
                false
            ))
        );
        let mut m = at(
            &[
                Msg::Enter,
                Msg::Down,
                Msg::Down,
                Msg::Down,
                Msg::Down,
                Msg::Down,
                Msg::Down,
            ],
            false,
        );
        update(&mut m, Msg::Enter);
        let code = qrcode::QrCode::with_version(
            b"RCQR:TEST.",
            qrcode::Version::Normal(2),
            qrcode::EcLevel::L,
        )
        .unwrap();
        let frame = (
            code.width(),
            code.to_colors()
                .iter()
                .map(|c| *c == qrcode::Color::Dark)
                .collect(),
        );
        update(
            &mut m,
            Msg::Frames(Ok((vec![frame], "root.json, 3587 bytes".into()))),
        );
        insta::assert_snapshot!("qr", render(&m));
        // Version 1: nothing published; root keys ticked; where to generate a key.
        let mut first = Model::new(false);
        let mut s = snap(false);
        s.published = None;
        s.warnings.clear();
        s.gen_targets = vec![
            super::super::model::GenTarget {
                label: "software key (trials only), encrypted with a passphrase".into(),
                backend: "software".into(),
                ..Default::default()
            },
            super::super::model::GenTarget {
                label: "softhsm2 token \"ceremony\" serial 8bf1".into(),
                backend: "pkcs11".into(),
                ..Default::default()
            },
        ];
        update(&mut first, Msg::Loaded(Ok(Box::new(s))));
        update(&mut first, Msg::Enter);
        update(&mut first, Msg::Enter);
        update(&mut first, Msg::Char(' '));
        insta::assert_snapshot!("new_root_keys", render(&first));
        update(&mut first, Msg::Esc);
        update(&mut first, Msg::Down);
        update(&mut first, Msg::Down);
        update(&mut first, Msg::Enter);
        for c in "erin".chars() {
            update(&mut first, Msg::Char(c));
        }
        update(&mut first, Msg::Enter);
        insta::assert_snapshot!("generate_where", render(&first));
    }
}

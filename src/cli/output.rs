//! Human and JSON output.
//!
//! JSON shape (docs/cli.md): `{"ok": true, "result": …, "notices": […]}` on success,
//! `{"ok": false, "error": {"kind", "message", "hint"}, "notices": […]}` on failure.

use crate::ops::device::{CheckReport, DeviceList, ProfileSummary};
use crate::ops::key::KeyInfo;
use crate::ops::report::{
    CeremonyStatus, DrillResult, MergeReport, PublishReport, RoleSummary, RootDiff, RootView,
    SignReport, SignRequestReport, StageReport, Staged, Status, TargetsReport, read_aloud,
};
use crate::ops::verify::VerifyReport;
use crate::text::{field as f, fields as fs};
use crate::tuf::verify::ThresholdCheck;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// The version of the JSON envelope (docs/cli.md): bumped when its shape changes.
pub const JSON_SCHEMA: u32 = 2;

/// The one JSON envelope of every command: `schema`, `ok`, the `result` (kept when a check
/// fails), the `error` (kind, exit code, message, hint) when not ok, and the notices.
pub fn print_json(
    result: Option<&serde_json::Value>,
    error: Option<serde_json::Value>,
    notices: &[String],
) {
    let mut v =
        serde_json::json!({"schema": JSON_SCHEMA, "ok": error.is_none(), "notices": notices});
    if let Some(r) = result {
        v["result"] = r.clone();
    }
    if let Some(e) = error {
        v["error"] = e;
    }
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    emit(&format!("{}\n", crate::text::json(&text)));
}

/// An error as the envelope carries it: the error's fields and its exit code.
pub fn json_error(e: &crate::error::Error) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    v["exit_code"] = serde_json::json!(e.kind.exit_code());
    v
}

pub fn key_line(k: &KeyInfo) -> String {
    let mut s = format!(
        "{}  {}  {}  {}  fingerprint {}\n",
        k.name,
        f(&k.keyid),
        f(&k.algorithm),
        k.backend,
        k.fingerprint
    );
    if let Some(a) = &k.attestation {
        let _ = writeln!(s, "  {a}");
    }
    s
}

pub fn key_list(ks: &[KeyInfo]) -> String {
    if ks.is_empty() {
        return "No keys yet. Next: rootcellar key generate --name NAME\n".into();
    }
    let mut s = format!(
        "{:<16} {:<18} {:<11} {:<9} {}\n",
        "NAME", "KEY ID", "ALGORITHM", "BACKEND", "CREATED"
    );
    for k in ks {
        let _ = writeln!(
            s,
            "{:<16} {:<18} {:<11} {:<9} {}",
            k.name,
            f(&k.keyid.chars().take(16).collect::<String>()),
            f(&k.algorithm),
            k.backend,
            k.created_at
        );
        if let Some(a) = &k.attestation {
            let _ = writeln!(s, "  {a}");
        }
        if let Some(d) = &k.destroyed_at {
            let _ = writeln!(s, "  destroyed {d}");
        }
    }
    s
}

/// The signers a count named, and how many it left unchecked once its threshold was met.
fn signers(c: &ThresholdCheck, names: &std::collections::BTreeMap<String, String>) -> String {
    let mut s = named_ids(&c.counted, names);
    if c.unchecked > 0 {
        let _ = write!(
            s,
            " (+{} signature{} not checked: --all-signatures names every signer)",
            c.unchecked,
            if c.unchecked == 1 { "" } else { "s" }
        );
    }
    s
}

fn threshold_line(label: &str, c: &ThresholdCheck) -> String {
    format!(
        "{label}: {} of {} needed{}",
        c.count(),
        c.threshold,
        if c.met { " — met" } else { " — NOT met" }
    )
}

fn status_lines(s: &Status, out: &mut String) {
    if let Some(p) = &s.by_previous {
        let _ = writeln!(
            out,
            "  {}",
            threshold_line(
                &format!(
                    "signatures by {}'s root keys",
                    p.keys_of.replace("root v", "version ")
                ),
                p
            )
        );
    }
    let _ = writeln!(
        out,
        "  {}",
        threshold_line("signatures by its own root keys", &s.by_self)
    );
    if !s.can_still_sign.is_empty() && !s.publishable {
        let _ = writeln!(out, "  not yet signed by: {}", fs(&s.can_still_sign, ", "));
    }
    let _ = writeln!(
        out,
        "  publishable: {}",
        if s.publishable {
            "yes (rootcellar publish)"
        } else {
            "no"
        }
    );
}

pub fn root_view(v: &RootView) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Root version {} ({}), spec {}",
        v.version, v.source, v.spec_version
    );
    let _ = writeln!(s, "  expires:  {}", v.expires);
    if let Some(cs) = v.consistent_snapshot {
        let _ = writeln!(s, "  consistent snapshot: {cs}");
    }
    let _ = writeln!(
        s,
        "  digest:   {}  (read aloud: {})",
        v.digest,
        read_aloud(&v.digest)
    );
    let _ = writeln!(s, "Roles:");
    for r in &v.roles {
        let distinct = if r.distinct_keys < r.keys.len() {
            format!(
                " distinct keys ({} key IDs: one key listed twice counts once)",
                r.keys.len()
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  {:<10} threshold {} of {}{distinct}: {}",
            f(&r.role),
            r.threshold,
            r.distinct_keys,
            fs(&r.keys, ", ")
        );
    }
    let _ = writeln!(s, "Keys:");
    for k in &v.keys {
        let _ = writeln!(
            s,
            "  {:<12} {}  {:<10} fingerprint {}  {}{}{}",
            f(k.name.as_deref().unwrap_or("(unnamed)")),
            f(&k.keyid.chars().take(16).collect::<String>()),
            f(&k.algorithm),
            k.fingerprint,
            fs(&k.roles, ","),
            k.backend
                .as_deref()
                .map(|b| format!("  [{b}]"))
                .unwrap_or_default(),
            if k.aliases.is_empty() {
                String::new()
            } else {
                format!(
                    "  also listed as {}",
                    fs(
                        &k.aliases
                            .iter()
                            .map(|a| a.chars().take(16).collect())
                            .collect::<Vec<String>>(),
                        ", "
                    )
                )
            }
        );
    }
    for k in &v.keys {
        if let Some(a) = &k.attestation {
            let _ = writeln!(s, "  {}: {a}", k.name.as_deref().unwrap_or("(unnamed)"));
        }
    }
    let _ = writeln!(s, "Signatures:");
    if v.signatures.is_empty() {
        let _ = writeln!(s, "  none yet");
    }
    for g in &v.signatures {
        let who = g
            .name
            .clone()
            .unwrap_or_else(|| g.keyid.chars().take(12).collect());
        let who = f(&who);
        match &g.problem {
            None => {
                let _ = writeln!(s, "  {who}: valid");
            }
            Some(p) => {
                let _ = writeln!(s, "  {who}: {}", f(p));
            }
        }
    }
    if let Some(st) = &v.status {
        let _ = writeln!(s, "Status:");
        status_lines(st, &mut s);
    }
    s
}

pub fn sign_report(r: &SignReport) -> String {
    let mut s = format!(
        "Signed root version {} with {}\n",
        r.version,
        r.signed_by.join(", ")
    );
    status_lines(&r.status, &mut s);
    s
}

pub fn verify_report(r: &VerifyReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Checked as of {}{}",
        r.at,
        if r.dialect == "notary" {
            " (Notary v1 / Docker Content Trust metadata)"
        } else {
            ""
        }
    );
    if let Some(c) = &r.chain {
        for (i, root) in c.roots.iter().enumerate() {
            let file = f(r.files.get(i).map(String::as_str).unwrap_or("?"));
            let _ = writeln!(
                s,
                "{file}: root version {}, expires {}{}",
                root.version,
                root.expires,
                if i == 0 { " (trust anchor)" } else { "" }
            );
            if let Some(p) = &root.by_previous {
                let _ = writeln!(
                    s,
                    "  {} — signed by {}",
                    threshold_line(
                        &format!("{}'s root keys", p.keys_of.replace("root v", "version ")),
                        p
                    ),
                    signers(p, &r.names)
                );
            }
            let _ = writeln!(
                s,
                "  {} — signed by {}",
                threshold_line("own root keys", &root.by_self),
                signers(&root.by_self, &r.names)
            );
            let mut notes: Vec<&String> = root.by_self.notes.iter().collect();
            if let Some(p) = &root.by_previous {
                notes.extend(p.notes.iter().filter(|n| !root.by_self.notes.contains(n)));
            }
            for n in notes {
                let _ = writeln!(s, "  note: {}", f(n));
            }
            for e in &root.errors {
                let _ = writeln!(s, "  REFUSED: {}", f(e));
            }
        }
    }
    for t in &r.targets {
        let _ = writeln!(
            s,
            "{} version {} (expires {})\n  {} — signed by {}",
            f(&t.role),
            t.version,
            t.expires,
            threshold_line("keys it was given", &t.signatures),
            short_ids(&t.signatures.counted)
        );
        for n in &t.signatures.notes {
            let _ = writeln!(s, "  note: {}", f(n));
        }
        for e in &t.errors {
            let _ = writeln!(s, "  REFUSED: {}", f(e));
        }
    }
    if !r.attestations.is_empty() {
        let _ = writeln!(s, "Attestations of the newest root's keys:");
    }
    for a in &r.attestations {
        let what = match (&a.verdict, &a.file) {
            (Some(v), Some(file)) => format!("{} ({})", v.summary(), file),
            _ => "no attestation in the folder".into(),
        };
        let _ = writeln!(
            s,
            "  key {} ({}): {}",
            a.keyid.chars().take(12).collect::<String>(),
            a.roles.join(", "),
            f(&what)
        );
        for b in &a.below_policy {
            let _ = writeln!(s, "    below the policy: {}", f(b));
        }
    }
    match (&r.failure, &r.chain) {
        (None, Some(c)) => {
            let last = c.roots.last();
            let _ = writeln!(
                s,
                "VALID: root version {} is trusted (expires {})",
                last.map(|x| x.version).unwrap_or(0),
                last.map(|x| x.expires.as_str()).unwrap_or("?")
            );
        }
        (Some(x), _) => {
            let _ = writeln!(s, "INVALID: {}", f(x));
        }
        (None, None) => {}
    }
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {}", f(w));
    }
    s
}

fn short_ids(ids: &[String]) -> String {
    named_ids(ids, &Default::default())
}

/// Key IDs as names where `names` knows them (`alice (3a7b564f5e1c)`), else shortened.
fn named_ids(ids: &[String], names: &std::collections::BTreeMap<String, String>) -> String {
    if ids.is_empty() {
        return "no key".into();
    }
    ids.iter()
        .map(|i| {
            let short: String = i.chars().take(12).collect();
            match names.get(i) {
                Some(n) => format!("{} ({})", f(n), f(&short)),
                None => f(&short).into_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn device_list(d: &DeviceList) -> String {
    let mut s = String::new();
    for y in &d.yubikeys {
        let _ = writeln!(
            s,
            "YubiKey serial {}  firmware {}  reader {:?}  PIN tries left: {}",
            y.serial,
            y.firmware,
            y.reader,
            y.pin_retries
                .map(|r| r.to_string())
                .unwrap_or_else(|| "?".into())
        );
        if y.slots.is_empty() {
            let _ = writeln!(s, "  no PIV slot in use");
        }
        for sl in &y.slots {
            let _ = writeln!(s, "  slot {}: {}", sl.slot, f(&sl.subject));
        }
        for w in &y.warnings {
            let _ = writeln!(s, "  warning: {w}");
        }
    }
    if let Some(n) = &d.yubikey_note {
        let _ = writeln!(s, "YubiKeys: not looked for: {n}");
    }
    if d.pkcs11.is_empty() {
        let _ = writeln!(
            s,
            "No PKCS#11 module of a known profile is installed here (`rootcellar hsm profiles`)."
        );
    }
    for m in &d.pkcs11 {
        let _ = writeln!(s, "{} ({})", m.profile, m.module);
        if m.tokens.is_empty() {
            let _ = writeln!(s, "  no token");
        }
        for t in &m.tokens {
            let _ = writeln!(
                s,
                "  token {:?} serial {}  {} {}  — {}",
                t.token.label,
                t.token.serial,
                t.token.manufacturer,
                t.token.model,
                t.token.pin_state
            );
            if t.keys.is_empty() {
                let _ = writeln!(s, "    no public keys visible");
            }
            for k in &t.keys {
                let _ = writeln!(
                    s,
                    "    {:<20} {:<10} {}",
                    f(&k.label),
                    f(k.algorithm.as_deref().unwrap_or("?")),
                    f(&k.uri)
                );
            }
        }
    }
    s
}

pub fn profiles(ps: &[ProfileSummary]) -> String {
    let mut s = String::new();
    for p in ps {
        let _ = writeln!(
            s,
            "{:<13} {:<9} {:<20} {}\n              {}",
            p.name,
            p.kind,
            p.algorithms.join(","),
            p.module
                .as_deref()
                .map(|m| format!("module found: {m}"))
                .unwrap_or_else(|| "module not found here".into()),
            p.title
        );
    }
    s
}

pub fn hsm_check(r: &CheckReport) -> String {
    let mut s = format!(
        "Profile {}: module {}\n  library: {}\n",
        r.profile, r.module, r.library
    );
    for t in &r.tokens {
        let m = &t.mechanisms;
        let _ = writeln!(
            s,
            "  token {:?} serial {} — {}\n    ECDSA P-256: generate {}, sign {};  Ed25519: generate {}, sign {}",
            t.label,
            t.serial,
            t.pin_state,
            yes(m.ecdsa_p256_generate),
            yes(m.ecdsa_sign),
            yes(m.ed25519_generate),
            yes(m.eddsa_sign)
        );
    }
    for p in &r.problems {
        let _ = writeln!(s, "  PROBLEM: {p}");
    }
    if r.problems.is_empty() {
        let _ = writeln!(s, "OK");
    }
    s
}

pub fn attestations_written(
    r: &crate::transfer::attestations::Index,
    dir: &std::path::Path,
) -> String {
    let mut s = format!(
        "Attestations written to {}\n",
        f(&dir.display().to_string())
    );
    for k in &r.keys {
        let files = if k.files.is_empty() {
            String::new()
        } else {
            format!(" ({})", k.files.join(", "))
        };
        let _ = writeln!(s, "  {}: {}{}", f(&k.name), f(&k.note), f(&files));
    }
    s
}

pub fn attest(r: &crate::ops::yubikey::AttestReport) -> String {
    format!("{} ({}): {}\n", r.name, r.keyid, r.verdict.summary())
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub fn diff(d: &RootDiff) -> String {
    let mut s = match d.from_version {
        Some(v) => format!("Root version {} → {}\n", v, d.to_version),
        None => format!("Root version {} (the first)\n", d.to_version),
    };
    if let Some(u) = &d.unverified {
        let _ = writeln!(s, "  {}", f(u));
    }
    match &d.expires_before {
        Some(b) if b != &d.expires_after => {
            let _ = writeln!(s, "  expiry: {b} → {}", d.expires_after);
        }
        _ => {
            let _ = writeln!(s, "  expiry: {}", d.expires_after);
        }
    }
    for k in &d.keys_added {
        let _ = writeln!(
            s,
            "  + key {} ({}, fingerprint {}) in {}",
            f(&k.name),
            f(&k.keyid.chars().take(16).collect::<String>()),
            k.fingerprint,
            fs(&k.roles, ", ")
        );
    }
    for k in &d.keys_removed {
        let _ = writeln!(
            s,
            "  - key {} ({}, fingerprint {}) was in {}",
            f(&k.name),
            f(&k.keyid.chars().take(16).collect::<String>()),
            k.fingerprint,
            fs(&k.roles, ", ")
        );
    }
    for n in &d.renewed {
        let _ = writeln!(s, "  ~ key {}: new certificate (new key ID)", f(n));
    }
    for r in &d.roles {
        let t = match r.threshold_before {
            Some(b) if b != r.threshold_after => format!("threshold {b} → {}", r.threshold_after),
            Some(b) => format!("threshold {b}"),
            None => format!("threshold {}", r.threshold_after),
        };
        let _ = write!(s, "  role {}: {t}", f(&r.role));
        if !r.added.is_empty() {
            let _ = write!(s, "; adds {}", fs(&r.added, ", "));
        }
        if !r.removed.is_empty() {
            let _ = write!(s, "; removes {}", fs(&r.removed, ", "));
        }
        s.push('\n');
    }
    if d.keys_added.is_empty() && d.keys_removed.is_empty() && d.roles.is_empty() {
        let _ = writeln!(s, "  keys and thresholds unchanged");
    }
    let _ = writeln!(
        s,
        "  digest: {}\n  read aloud and compare: {}",
        d.digest, d.read_aloud
    );
    s
}

pub fn ceremony_status(st: &CeremonyStatus) -> String {
    let mut s = String::new();
    match &st.published {
        Some(p) => {
            let _ = writeln!(
                s,
                "Published: root version {}, expires {} ({} days)",
                p.version, p.expires, p.days_left
            );
        }
        None => {
            let _ = writeln!(s, "Published: nothing yet");
        }
    }
    match (&st.staged, &st.staged_digest) {
        (Some(x), Some(d)) => {
            let _ = writeln!(
                s,
                "Staged: root version {}, digest {}",
                x.version,
                read_aloud(d)
            );
            status_lines(x, &mut s);
        }
        _ => {
            let _ = writeln!(s, "Staged: nothing");
        }
    }
    for w in &st.warnings {
        let _ = writeln!(s, "WARNING: {}", f(w));
    }
    s
}

pub fn merge(r: &MergeReport) -> String {
    let mut s = format!(
        "Merged into {} (root version {}, digest {}): added {}",
        r.written.display(),
        r.version,
        read_aloud(&r.digest),
        if r.added.is_empty() {
            "no new signature".to_string()
        } else {
            fs(&r.added, ", ")
        }
    );
    if !r.already.is_empty() {
        let _ = write!(s, "; already there (kept once): {}", fs(&r.already, ", "));
    }
    s.push('\n');
    if let Some(st) = &r.status {
        status_lines(st, &mut s);
    }
    s
}

pub fn drill(ds: &[DrillResult]) -> String {
    let mut s = String::new();
    for d in ds {
        match &d.problem {
            None => {
                let _ = writeln!(s, "{}: OK, the key signs", d.name);
            }
            Some(p) => {
                let _ = writeln!(s, "{}: FAILED: {}", d.name, f(p));
            }
        }
    }
    s
}

pub fn roles(rs: &[RoleSummary]) -> String {
    if rs.is_empty() {
        return "No delegated roles.\n".into();
    }
    let mut s = String::new();
    for r in rs {
        let _ = writeln!(
            s,
            "  role {} (file {}): threshold {} of {}: {}; paths {}{}",
            f(&r.name),
            f(&r.file),
            r.threshold,
            r.keys.len(),
            fs(&r.keys, ", "),
            r.paths
                .iter()
                .map(|p| if p.is_empty() {
                    "\"\" (every path)".to_string()
                } else {
                    f(p).into_owned()
                })
                .collect::<Vec<_>>()
                .join(" "),
            if r.terminating { "; terminating" } else { "" }
        );
    }
    s
}

/// Writes `text` to standard output. A reader that went away (`rootcellar man | head`) ends the
/// output quietly instead of a panic; other write errors are reported once on standard error.
pub fn emit(text: &str) {
    use std::io::Write;
    // Text from files never reaches the terminal raw (a JSON text is escaped already).
    let text = crate::text::visible(text);
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        eprintln!("error: cannot write the output: {e}");
    }
}

/// What `notary root` (or `refresh`, `rotate`, `revoke` in a Notary workspace) staged.
pub fn notary_stage(r: &StageReport) -> String {
    let mut h = format!(
        "Staged Notary root version {} for {}: {} of {} root keys needed, expires {}\n",
        r.version,
        r.gun,
        r.threshold,
        r.root_keyids.len(),
        r.expires
    );
    for (what, names) in [
        (
            "New certificates, signed on their devices",
            &r.certificates_made,
        ),
        (
            "Certificates kept from the published version",
            &r.certificates_kept,
        ),
        (
            "Certificates brought by keyholders elsewhere",
            &r.certificates_brought,
        ),
    ] {
        if !names.is_empty() {
            h.push_str(&format!("{what}: {}\n", names.join(", ")));
        }
    }
    h.push_str(&format!(
        "Digest {}\nNext: rootcellar sign --key K (each root key{}), then rootcellar publish\n",
        read_aloud(&r.digest),
        if r.version > 1 {
            ", and a threshold of the published version's"
        } else {
            ""
        }
    ));
    h
}

/// What a staging verb staged: the root, or (Notary) what became of each certificate.
pub fn staged(s: &Staged) -> String {
    match &s.certificates {
        Some(r) => notary_stage(r),
        None => root_view(&s.view),
    }
}

pub fn man_written(written: &[PathBuf], dir: &Path) -> String {
    format!(
        "{} manual pages written to {} (man -l {}/rootcellar.1)\n",
        written.len(),
        dir.display(),
        dir.display()
    )
}

pub fn initialised(c: &crate::ops::Created) -> String {
    let next = if c.format == "notary" {
        "Next: rootcellar key generate --name NAME, then rootcellar notary root (or rootcellar import notary DIR for an existing repository)"
    } else {
        "Next: rootcellar key generate --name NAME"
    };
    format!(
        "Workspace ({}) created in {}\n{next}\n",
        c.format,
        c.dir.display()
    )
}

pub fn destroyed(k: &KeyInfo) -> String {
    format!(
        "Destroyed the private key of {} ({}); its record stays, marked destroyed.\n",
        k.name, k.keyid
    )
}

pub fn management_key(m: &crate::ops::yubikey::MgmReport) -> String {
    match &m.printed_key {
        Some(k) => format!(
            "YubiKey {}: new management key set. Write it down now; it is shown only this once:\n{k}\n",
            m.serial
        ),
        None => format!(
            "YubiKey {}: new management key set, stored on the device behind the PIN.\n",
            m.serial
        ),
    }
}

pub fn request_signed(r: &SignRequestReport) -> String {
    format!(
        "Signed root version {} (digest {}) with {}; written to {}\n",
        r.version,
        read_aloud(&r.digest),
        r.signed_by.join(", "),
        r.written.display()
    )
}

pub fn discarded(d: Option<u64>) -> String {
    match d {
        Some(v) if v > 0 => format!("Dropped the staged root (version {v}).\n"),
        Some(_) => "Dropped the staged root.\n".to_string(),
        None => "No root was staged.\n".to_string(),
    }
}

pub fn published(r: &PublishReport) -> String {
    format!(
        "Published root version {} (expires {}), digest {}\n{}{}",
        r.version,
        r.expires,
        read_aloud(&r.digest),
        r.files
            .iter()
            .map(|f| format!("  {}\n", f.display()))
            .collect::<String>(),
        match &r.sealed_by {
            Some(k) => format!("Transcript sealed by {k}\n"),
            None => String::new(),
        }
    )
}

pub fn targets_report(r: &TargetsReport) -> String {
    let mut h = format!(
        "Targets metadata version {} (expires {}) signed by {}\n",
        r.version,
        r.expires,
        r.signed_by.join(", ")
    );
    h.push_str(&roles(&r.roles));
    for f in &r.files {
        h.push_str(&format!("  {}\n", f.display()));
    }
    h
}

pub fn adopted(r: &crate::ops::adopt::AdoptReport) -> String {
    let mut h = format!(
        "Adopted root versions {} to {}; registered {} public key(s):\n",
        r.first,
        r.last,
        r.keys.len()
    );
    for k in &r.keys {
        h.push_str(&key_line(k));
    }
    h.push_str("Next: rootcellar refresh (or root edit / rotate / revoke), then sign with the keyholders' devices\n");
    h
}

pub fn exported(dir: &Path, r: &[crate::transfer::usb::ExportedFile]) -> String {
    let mut h = format!("Exported to {}:\n", dir.display());
    for f in r {
        h.push_str(&format!(
            "  {:<16} {}  {}\n",
            f.name,
            &f.sha256[..16],
            f.action
        ));
    }
    h.push_str("Every file was read back and the history verified from the copies.\n");
    h
}

pub fn qr_exported(r: &crate::ops::transfer::QrReport) -> String {
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
    h
}

pub fn qr_imported(r: &crate::ops::transfer::ImportReport) -> String {
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
    h
}

pub fn notary_imported(r: &crate::ops::notary::ImportReport) -> String {
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
            f(&k.keyid.chars().take(12).collect::<String>()),
            f(&k.keytype),
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
            f(&d.role),
            d.threshold,
            d.keytypes.len(),
            fs(&d.keytypes, ", "),
            d.paths
        ));
    }
    h.push_str("Next: register the root keys here (`rootcellar key add`), then `rootcellar notary root` stages the next version\n");
    h
}

pub fn notary_root_written(r: &crate::ops::notary::NotaryRootReport) -> String {
    format!(
        "Wrote {} (Notary root version {} for {}): {} of {} root keys needed, certificates signed on their devices, expires {}\n",
        r.path,
        r.version,
        r.gun,
        r.threshold,
        r.root_keyids.len(),
        r.expires
    )
}

pub fn handover(r: &crate::ops::notary::HandoverReport) -> String {
    let c = &r.check;
    format!(
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
    )
}

pub fn certificate(r: &crate::ops::notary::CertificateReport, to_file: bool) -> String {
    let mut h = format!(
        "Wrote {}: a root certificate for key {} and {} (until {}), signed on its device; Notary key ID {}\n",
        r.path, r.key, r.gun, r.not_after, r.keyid
    );
    h.push_str(&if to_file {
        format!(
            "Bring it to the ceremony: rootcellar key import {} --name {}\n",
            r.path, r.key
        )
    } else {
        "`notary root` uses it: staging needs no device for this key\n".to_string()
    });
    h
}

pub fn handover_check(c: &crate::tuf::handover::HandoverCheck) -> String {
    if c.valid {
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
    }
}

pub fn timeline(items: &[crate::ops::audit::TimelineItem]) -> String {
    items
        .iter()
        .map(|t| {
            format!(
                "{:>4}  {}  {:<18} {}\n",
                t.seq,
                f(&t.time),
                f(&t.action),
                f(&t.summary)
            )
        })
        .collect()
}

pub fn audit_report(r: &crate::ops::audit::AuditReport) -> String {
    let mut h = timeline(&r.timeline);
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
    h
}

//! The command line: parse, prompt, call an operation, print. Nothing else happens here: the
//! clap types are in `args`, each group of commands has a module with a `run`, and all text is
//! made in `output`.

mod args;
mod ceremony;
mod delegate;
mod docs;
mod keys;
mod notary;
mod output;
mod prompt;
mod qrview;
mod records;
mod transfer;

pub use args::{Cli, man_pages};

use crate::error::{Error, Result};
use crate::ops::{Context, GuardMode};
use args::Command;
use clap::Parser;
use serde::Serialize;
use std::path::PathBuf;

/// Runs the command line; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            if code == 2 && std::env::args().any(|a| a == "--json") {
                let err = Error::bad_input(e.kind().to_string())
                    .hint(format!("{}", e.render()).trim().to_string());
                output::print_json(None, Some(output::json_error(&err)), &[]);
            } else {
                let _ = e.print();
            }
            return code;
        }
    };
    let json = cli.json;
    JSON.store(json, std::sync::atomic::Ordering::Relaxed);
    let now = time::OffsetDateTime::now_utc();
    let term = prompt::TermPrompt {
        secret_files: cli
            .pin_file
            .iter()
            .map(|a| prompt::parse_secret_file(a))
            .collect(),
    };
    // Settings from the environment: an empty variable counts as unset.
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let (dir, found) = match (cli.dir.clone(), env("ROOTCELLAR_DIR")) {
        (Some(d), _) => (d, false),
        (None, Some(d)) => (PathBuf::from(d), false),
        (None, None) if matches!(cli.command, Command::Init { .. }) => (PathBuf::from("."), false),
        (None, None) => workspace_above(),
    };
    let mut ctx = Context::new(dir.clone(), &term, now);
    if found {
        ctx.notice(format!("workspace: {}", dir.display()));
    }
    let online_env = env("ROOTCELLAR_ALLOW_ONLINE").is_some_and(|v| {
        matches!(
            v.to_string_lossy().to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on"
        )
    });
    if cli.allow_online.unwrap_or(online_env) {
        ctx.guard = GuardMode::Warn;
    }
    if let Some(s) = std::env::var_os("ROOTCELLAR_SYSFS") {
        ctx.sysfs = PathBuf::from(s);
    }
    ctx.unlock.module = cli
        .module
        .clone()
        .or_else(|| env("ROOTCELLAR_PKCS11_MODULE").map(PathBuf::from));
    ctx.unlock.force = cli.force;
    ctx.unlock.default_management_key = cli.default_management_key;
    let result = dispatch(&cli, &ctx);
    let notices = ctx.take_notices();
    match result {
        Ok(out) if out.printed => out.code,
        Ok(out) => {
            if json {
                // A check that does not hold is not ok: its error says why, its result stays.
                let error = (out.code != 0).then(|| {
                    let why = out.value["failure"]
                        .as_str()
                        .unwrap_or("the check does not hold");
                    output::json_error(&Error::refused(why.to_string()))
                });
                output::print_json(Some(&out.value), error, &notices);
            } else {
                for n in &notices {
                    eprintln!("note: {}", crate::text::field(n));
                }
                output::emit(&out.human);
            }
            out.code
        }
        Err(e) => {
            if json {
                output::print_json(None, Some(output::json_error(&e)), &notices);
            } else {
                for n in &notices {
                    eprintln!("note: {}", crate::text::field(n));
                }
                eprintln!("error: {}", crate::text::field(&e.message));
                if let Some(h) = &e.hint {
                    eprintln!("  what to do: {}", crate::text::field(h));
                }
            }
            e.kind.exit_code()
        }
    }
}

/// The nearest folder at or above the current one that holds a workspace (and whether one was
/// found above the current folder); else the current folder.
fn workspace_above() -> (PathBuf, bool) {
    let here = PathBuf::from(".");
    let Ok(cwd) = std::env::current_dir() else {
        return (here, false);
    };
    match cwd
        .ancestors()
        .find(|d| d.join("rootcellar.toml").is_file())
    {
        Some(d) if d != cwd => (d.to_path_buf(), true),
        _ => (here, false),
    }
}

/// What a command printed: human text, the JSON value, and the exit code.
pub struct Output {
    pub human: String,
    pub value: serde_json::Value,
    pub code: i32,
    /// A child process (or the ceremony screen) already printed everything.
    pub printed: bool,
}

/// Whether this run prints JSON (`--json`, set once in [`main`]): only then is a result's JSON
/// value built (a long history's report is large).
static JSON: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A command's result: its value (as JSON, with `--json`) and its text.
fn out<T: Serialize>(v: &T, human: String) -> Result<Output> {
    let value = if JSON.load(std::sync::atomic::Ordering::Relaxed) {
        serde_json::to_value(v).map_err(|e| Error::environment(e.to_string()))?
    } else {
        serde_json::Value::Null
    };
    Ok(Output {
        human,
        value,
        code: 0,
        printed: false,
    })
}

/// A result whose exit code says whether what was checked holds (1 when it does not).
fn verdict<T: Serialize>(v: &T, human: String, holds: bool) -> Result<Output> {
    let mut o = out(v, human)?;
    o.code = if holds { 0 } else { 1 };
    Ok(o)
}

/// Text that is its own JSON value (a manual page, a completion script).
fn text(t: String) -> Output {
    Output {
        value: serde_json::Value::String(t.clone()),
        human: t,
        code: 0,
        printed: false,
    }
}

fn dispatch(cli: &Cli, ctx: &Context) -> Result<Output> {
    match &cli.command {
        Command::Man { .. } | Command::Completions { .. } => docs::run(&cli.command),
        Command::Key(c) => keys::key(c, ctx),
        Command::Device(c) => keys::device(c, ctx),
        Command::Attest(c) => keys::attest(c, ctx),
        Command::Hsm(c) => keys::hsm(c, ctx),
        Command::Yubikey(c) => keys::yubikey(c, ctx),
        Command::Notary(c) => notary::run(c, ctx),
        Command::Delegate(c) => delegate::run(c, ctx),
        Command::Export(e) => transfer::export(e, ctx, cli.json),
        Command::Import(c) => transfer::import(c, ctx),
        Command::Audit(c) => records::audit(c, ctx),
        Command::Verify { .. } | Command::Adopt { .. } => records::run(&cli.command, ctx),
        Command::Demo { software } => ceremony::demo(cli, ctx, *software),
        _ => ceremony::run(&cli.command, ctx),
    }
}

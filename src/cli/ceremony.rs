//! The ceremony's commands: `init`, `root`, `rotate`, `revoke`, `refresh`, `sign`, `merge`,
//! `request`, `status`, `drill`, `publish`, the ceremony screen and the demo.

use super::args::{Cli, Command, FormatArg, RequestCommand, RootCommand};
use super::{Output, out, output, verdict};
use crate::error::{Error, Result};
use crate::ops::{self, Context, GuardMode};

pub(super) fn run(cmd: &Command, ctx: &Context) -> Result<Output> {
    match cmd {
        Command::Init { name, format } => {
            let c = ops::create(ctx, name.as_deref(), *format == FormatArg::Notary)?;
            out(&c, output::initialised(&c))
        }
        Command::Root(c) => root(c, ctx),
        Command::Sign {
            keys,
            file,
            detached,
            trust_root_digest,
            expect_digest,
        } => {
            if file.is_some() || detached.is_some() {
                let r = ops::request::sign_request(
                    ctx,
                    file.as_deref(),
                    keys,
                    detached.as_deref(),
                    trust_root_digest.as_deref(),
                    expect_digest.as_deref(),
                )?;
                return out(&r, output::request_signed(&r));
            }
            let r = ops::root::sign(ctx, keys, expect_digest.as_deref())?;
            out(&r, output::sign_report(&r))
        }
        Command::Merge { files, out: dest } => {
            let r = ops::request::merge(ctx, files, dest.as_deref())?;
            out(&r, output::merge(&r))
        }
        Command::Rotate {
            role,
            old,
            new,
            expires,
        } => {
            let s = ops::root::rotate(ctx, role, old, new, expires.as_deref())?;
            out(&s, output::staged(&s))
        }
        Command::Revoke { key, reason } => {
            let s = ops::root::revoke(ctx, key, reason.as_deref())?;
            out(&s, output::staged(&s))
        }
        Command::Refresh { expires } => {
            let s = ops::root::refresh(ctx, expires.as_deref())?;
            out(&s, output::staged(&s))
        }
        Command::Request(RequestCommand::Export { out: dest }) => {
            let p = ops::request::export(ctx, dest)?;
            out(
                &serde_json::json!({"written": p}),
                format!("Signing request written to {}\n", p.display()),
            )
        }
        Command::Request(RequestCommand::Show {
            file,
            trust_root_digest,
        }) => {
            let d = ops::request::show(ctx, file, trust_root_digest.as_deref())?;
            out(&d, output::diff(&d))
        }
        Command::Status => {
            let st = ops::review::ceremony_status(ctx)?;
            out(&st, output::ceremony_status(&st))
        }
        Command::Drill { keys } => {
            let r = ops::root::drill(ctx, keys)?;
            verdict(&r, output::drill(&r), r.iter().all(|d| d.ok))
        }
        Command::Publish { seal_key, no_seal } => {
            let with = match (seal_key, no_seal) {
                (Some(k), _) => ops::root::SealWith::Key(k.clone()),
                (None, true) => ops::root::SealWith::Skip,
                (None, false) => ops::root::SealWith::Auto,
            };
            let r = ops::root::publish(ctx, &with)?;
            out(&r, output::published(&r))
        }
        Command::Ceremony => {
            crate::tui::run::run(crate::tui::run::Settings {
                dir: ctx.dir.clone(),
                allow_online: ctx.guard == GuardMode::Warn,
                sysfs: ctx.sysfs.clone(),
                module: ctx.unlock.module.clone(),
                force: ctx.unlock.force,
                default_management_key: ctx.unlock.default_management_key,
            })?;
            Ok(Output {
                human: String::new(),
                value: serde_json::Value::Null,
                code: 0,
                printed: true,
            })
        }
        _ => Err(Error::bad_input("not a ceremony command")),
    }
}

fn root(c: &RootCommand, ctx: &Context) -> Result<Output> {
    match c {
        RootCommand::New(a) => {
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
            out(&v.view, output::root_view(&v.view))
        }
        RootCommand::Edit {
            add,
            remove,
            thresholds,
            expires,
            drop_signatures,
        } => {
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
            out(&v.view, output::root_view(&v.view))
        }
        RootCommand::Show { diff: true } => {
            let d = ops::review::show_diff(ctx)?;
            out(&d, output::diff(&d))
        }
        RootCommand::Show { diff: false } => {
            let v = ops::review::show(ctx)?;
            out(&v, output::root_view(&v))
        }
        RootCommand::Discard => {
            let d = ops::root::discard(ctx)?;
            out(
                &serde_json::json!({"discarded": d.is_some(), "version": d}),
                output::discarded(d),
            )
        }
    }
}

/// `rootcellar demo`: each step printed as it happens (or, with `--json`, listed at the end).
pub(super) fn demo(cli: &Cli, ctx: &Context, software: bool) -> Result<Output> {
    let mut lines = Vec::new();
    let json = cli.json;
    let mut say = |l: &str| {
        if !json {
            output::emit(&format!("{l}\n"));
        }
        lines.push(l.to_string());
    };
    match crate::demo::launch(ctx, cli.dir.as_deref(), software, json, &mut say)? {
        crate::demo::Launched::Child(code) => Ok(Output {
            human: String::new(),
            value: serde_json::Value::Null,
            code,
            printed: true,
        }),
        crate::demo::Launched::Here(dir) => out(
            &serde_json::json!({"dir": dir, "steps": lines}),
            String::new(),
        ),
    }
}

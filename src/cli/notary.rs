//! `notary root|handover|certificate|check-handover` and `import notary`: the Notary-only
//! commands.

use super::args::NotaryCommand;
use super::{Output, out, output, verdict};
use crate::error::{Error, Result};
use crate::ops::{self, Context};
use std::path::Path;

/// The repository name: given, else the workspace's (a Notary workspace).
fn gun_or_workspace(ctx: &Context, gun: &Option<String>) -> Option<String> {
    gun.clone().or_else(|| ops::notary::workspace_gun(ctx))
}

pub(super) fn run(c: &NotaryCommand, ctx: &Context) -> Result<Output> {
    match c {
        NotaryCommand::Root {
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
        } => {
            let Some(path) = path else {
                // Staged in this workspace, which names its repository.
                let w = ops::notary::workspace_gun(ctx).ok_or_else(|| {
                    Error::refused("staging a Notary root needs a Notary workspace")
                        .hint("`rootcellar init --format notary --gun NAME` in a new folder, or write a file in one go with --out")
                })?;
                if let Some(g) = gun
                    && *g != w
                {
                    return Err(Error::bad_input(format!(
                        "--gun {g} is not this workspace's repository ({w})"
                    )));
                }
                let r = ops::root::notary_stage(
                    ctx,
                    &ops::root::StageSpec {
                        root_keys,
                        threshold: *threshold,
                        targets: targets_key.as_deref(),
                        snapshot: snapshot_key.as_deref(),
                        timestamp: timestamp_key.as_deref(),
                        years: *years,
                        renew: *renew,
                    },
                )?;
                return out(&r, output::staged(&r));
            };
            let gun = gun_or_workspace(ctx, gun)
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
            out(&r, output::notary_root_written(&r))
        }
        NotaryCommand::Handover {
            tuf_root,
            out: dest,
            add_to,
            keys,
            expires,
        } => {
            let r = ops::notary::handover(
                ctx,
                &ops::notary::HandoverSpec {
                    tuf_root,
                    out: dest.as_deref(),
                    add_to: add_to.as_deref(),
                    keys,
                    expires: expires.as_deref(),
                },
            )?;
            out(&r, output::handover(&r))
        }
        NotaryCommand::Certificate {
            key,
            gun,
            years,
            out: dest,
        } => {
            let gun = gun_or_workspace(ctx, gun)
                .ok_or_else(|| Error::bad_input("name the repository: --gun NAME"))?;
            let r = ops::notary::write_certificate(ctx, key, &gun, *years, dest.as_deref())?;
            out(&r, output::certificate(&r, dest.is_some()))
        }
        NotaryCommand::CheckHandover {
            statement,
            notary_root,
            tuf_root,
            at,
        } => {
            let when = match at {
                Some(t) => {
                    crate::tuf::expiry::parse_user_time(t, ctx.now).map_err(Error::bad_input)?
                }
                None => ctx.now,
            };
            let c = ops::notary::check_handover(statement, notary_root, tuf_root, when)?;
            verdict(&c, output::handover_check(&c), c.valid)
        }
    }
}

/// `import notary DIR`.
pub(super) fn import(folder: &Path, ctx: &Context) -> Result<Output> {
    let r = ops::notary::import(ctx, folder)?;
    for w in &r.warnings {
        ctx.notice(w.clone());
    }
    out(&r, output::notary_imported(&r))
}

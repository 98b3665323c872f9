//! `verify`, `adopt` and `audit`: histories checked as a client checks them, and the ceremony's
//! own record.

use super::args::{AuditCommand, Command, VerifyFormat};
use super::{Output, out, output, verdict};
use crate::error::{Error, Result};
use crate::ops::{self, Context};

pub(super) fn run(cmd: &Command, ctx: &Context) -> Result<Output> {
    match cmd {
        Command::Verify {
            trusted,
            at,
            files,
            format,
            gun,
            strict_keyids,
            all_signatures,
            attestations,
            require_attested,
            policy,
        } => {
            let dialect = match format {
                VerifyFormat::Auto => None,
                VerifyFormat::Tuf => Some(ops::verify::Dialect::Tuf),
                VerifyFormat::Notary => Some(ops::verify::Dialect::Notary {
                    gun: gun.clone().unwrap_or_default(),
                }),
            };
            let attestations = match attestations {
                Some(dir) => Some(ops::verify::Attestations::of(
                    dir,
                    require_attested,
                    policy.as_deref(),
                )?),
                None => None,
            };
            let o = ops::verify::Options {
                dialect,
                gun: gun.clone(),
                strict_keyids: *strict_keyids,
                attestations,
                all_signatures: *all_signatures,
            };
            let files = match files.as_slice() {
                [] => vec![ctx.workspace()?.dir.join("metadata")],
                f => f.to_vec(),
            };
            let r = ops::verify::verify_at(ctx, trusted.as_deref(), &files, at.as_deref(), &o)?;
            verdict(&r, output::verify_report(&r), r.valid)
        }
        Command::Adopt { source, from } => {
            let r = ops::adopt::adopt(ctx, source, *from)?;
            for w in &r.warnings {
                ctx.notice(w.clone());
            }
            out(&r, output::adopted(&r))
        }
        _ => Err(Error::bad_input("not a records command")),
    }
}

pub(super) fn audit(c: &AuditCommand, ctx: &Context) -> Result<Output> {
    match c {
        AuditCommand::Verify => {
            let r = ops::audit::verify(ctx)?;
            out(&r, output::audit_report(&r))
        }
        AuditCommand::Show { since } => {
            let r = ops::audit::show(ctx, *since)?;
            out(&r, output::timeline(&r))
        }
        AuditCommand::ReAnchor { confirm } => {
            let r = ops::audit::re_anchor(ctx, confirm.as_deref())?;
            out(
                &r,
                format!(
                    "Re-anchored: the transcript now vouches for {} key record(s), {} published file(s){}\n",
                    r.keys,
                    r.files,
                    r.staged_digest
                        .as_deref()
                        .map(|d| format!(" and the staged root {}", ops::report::read_aloud(d)))
                        .unwrap_or_default()
                ),
            )
        }
        AuditCommand::Print { out: dest } => {
            let p = ops::audit::print(ctx, dest)?;
            out(
                &serde_json::json!({"written": p}),
                format!(
                    "Ceremony record written to {} (open it in a browser and print it)\n",
                    p.display()
                ),
            )
        }
    }
}

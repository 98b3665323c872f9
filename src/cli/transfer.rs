//! `export` (a USB stick, QR frames) and `import qr` / `import notary`.

use super::args::{ExportArgs, ImportCommand};
use super::{Output, out, output, qrview};
use crate::error::{Error, Result};
use crate::ops::{self, Context};

pub(super) fn export(e: &ExportArgs, ctx: &Context, json: bool) -> Result<Output> {
    if let Some(dir) = &e.to {
        let r = ops::transfer::export_usb(ctx, dir, e.overwrite)?;
        if e.attestations {
            let att = dir.join("attestations");
            let a = ops::yubikey::export_attestations(ctx, &att, false)?;
            let text = output::exported(dir, &r) + &output::attestations_written(&a, &att);
            return out(&serde_json::json!({"export": r, "attestations": a}), text);
        }
        return out(&r, output::exported(dir, &r));
    }
    if !e.qr {
        return Err(
            Error::bad_input("say where to: --to DIR (a USB stick) or --qr")
                .hint("rootcellar export --to /media/usb, or rootcellar export --qr"),
        );
    }
    let files_out = ops::transfer::QrOutputs {
        png: e.png.clone(),
        svg: e.svg.clone(),
        html: e.html.clone(),
        text: e.text.clone(),
    };
    let to_terminal = files_out.png.is_none()
        && files_out.svg.is_none()
        && files_out.html.is_none()
        && files_out.text.is_none();
    let (version, small) = match (e.qr_version, to_terminal) {
        (Some(v), _) => (v, false),
        (None, false) => (ops::transfer::DEFAULT_QR_VERSION, false),
        (None, true) => {
            let (cols, rows) = crossterm::terminal::size()
                .map(|(c, r)| (c as usize, r as usize))
                .unwrap_or((80, 24));
            let v = crate::transfer::render::terminal_version(cols, rows.saturating_sub(1), 25);
            if v < 4 {
                return Err(Error::environment(format!("the terminal ({cols}×{rows}) is too small for a QR frame"))
                    .hint("enlarge the terminal (version 4 needs 37×20), or write --png/--svg/--html files"));
            }
            (v, v < 10)
        }
    };
    let r = ops::transfer::export_qr(ctx, e.file.as_deref(), version, &e.ec, &files_out)?;
    if to_terminal && !json {
        qrview::show(&r, e.animate, small)?;
    }
    out(&r, output::qr_exported(&r))
}

pub(super) fn import(c: &ImportCommand, ctx: &Context) -> Result<Output> {
    match c {
        ImportCommand::Qr { files, out: dest } => {
            let r = ops::transfer::import_qr(ctx, files, dest.as_deref())?;
            for x in &r.rejected {
                ctx.notice(format!("not used: {x}"));
            }
            out(&r, output::qr_imported(&r))
        }
        ImportCommand::Notary { folder } => super::notary::import(folder, ctx),
    }
}

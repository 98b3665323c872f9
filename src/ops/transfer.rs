//! `export --to DIR`, `export --qr`, `import qr`: moving published metadata off the offline
//! machine and back, as files or QR frames.

use super::context::Context;
use crate::atomic::write_public;
use crate::dialect::Dialect;
use crate::error::{Error, Result};
use crate::transfer::{qr, render, usb};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Why published root files (`bytes`, oldest first) do not verify as a chain in dialect `d`;
/// `None` when they do.
fn history_failure(
    d: &Dialect,
    files: &[Vec<u8>],
    at: crate::tuf::expiry::Timestamp,
) -> Option<String> {
    let mut docs = Vec::new();
    for b in files {
        match d.parse(b) {
            Ok(m) => docs.push(m),
            Err(e) => return Some(e.to_string()),
        }
    }
    match docs.split_first() {
        Some((first, rest)) => d.verify_chain(first, rest, at).failure,
        None => Some("nothing is published".into()),
    }
}

/// `rootcellar export --to DIR`: the published roots, verified first and read back after.
pub fn export_usb(ctx: &Context, dir: &Path, overwrite: bool) -> Result<Vec<usb::ExportedFile>> {
    let ws = ctx.workspace()?;
    let _lock = ws.lock()?;
    let published = ws.published_files()?;
    if published.is_empty() {
        return Err(Error::refused("nothing is published yet").hint("publish a root first"));
    }
    let bytes: Vec<Vec<u8>> = published.iter().map(|(_, b)| b.clone()).collect();
    let d = Dialect::of(&ws);
    if let Some(f) = history_failure(&d, &bytes, ctx.now) {
        return Err(
            Error::refused(format!("the published history does not verify: {f}"))
                .hint("nothing was exported"),
        );
    }
    let mut files: Vec<(String, Vec<u8>)> = published
        .iter()
        .map(|(v, b)| (format!("{v}.root.json"), b.clone()))
        .collect();
    let (_, latest) = ws.published_paths(0);
    files.push((
        "root.json".into(),
        crate::readpath::read(&latest, crate::readpath::Kind::Metadata)?,
    ));
    let out = usb::export(dir, &files, overwrite)?;
    // What is on the stick verifies as a client would see it.
    let mut back = Vec::new();
    for (v, _) in &published {
        let p = dir.join(format!("{v}.root.json"));
        back.push(crate::readpath::read(&p, crate::readpath::Kind::Metadata)?);
    }
    if let Some(failure) = history_failure(&d, &back, ctx.now) {
        return Err(
            Error::environment(format!("the exported history does not verify: {failure}"))
                .hint("the drive is failing: use another one"),
        );
    }
    ctx.record(
        &ws,
        "export-usb",
        serde_json::json!({
            "dir": dir.display().to_string(),
            "files": out.iter().map(|f| serde_json::json!({"name": f.name, "sha256": f.sha256, "action": f.action})).collect::<Vec<_>>(),
        }),
    )?;
    Ok(out)
}

/// Where QR frames go.
#[derive(Clone, Debug, Default)]
pub struct QrOutputs {
    pub png: Option<PathBuf>,
    pub svg: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub text: Option<PathBuf>,
}

#[derive(Clone, Serialize)]
pub struct QrReport {
    pub file: PathBuf,
    pub bytes: usize,
    pub sha256: String,
    pub version: i16,
    pub ec: String,
    pub frames: usize,
    /// Compressed payload bytes per frame, and the QR code's byte capacity at that version.
    pub payload_per_frame: usize,
    pub frame_bytes: usize,
    /// The QR code's byte-mode capacity at that version and level (payload_per_frame is what
    /// of it carries the file).
    pub byte_capacity: usize,
    pub written: Vec<PathBuf>,
    #[serde(skip)]
    pub codes: Vec<qrcode::QrCode>,
    #[serde(skip)]
    pub texts: Vec<String>,
}

/// Encodes `file` (default: the published root.json) as QR frames, into `outputs`.
/// QR version of frames written to files: the smallest at level M whose frames carry at least
/// 85% of the code's byte capacity as payload (16-M: 384 of 450 bytes; 15-M would be 84%).
pub const DEFAULT_QR_VERSION: i16 = 16;

pub fn export_qr(
    ctx: &Context,
    file: Option<&Path>,
    version: i16,
    ec_name: &str,
    outputs: &QrOutputs,
) -> Result<QrReport> {
    let here = ctx.lock_here(None)?;
    let path = match file {
        Some(f) => f.to_path_buf(),
        None => {
            let ws = ctx.workspace()?;
            let (_, latest) = ws.published_paths(0);
            if !latest.exists() {
                return Err(Error::refused("nothing is published yet")
                    .hint("publish a root first, or give --file FILE"));
            }
            latest
        }
    };
    if !(1..=40).contains(&version) {
        return Err(
            Error::bad_input(format!("QR version {version} does not exist")).hint("use 4 to 40"),
        );
    }
    let ec = qr::ec_level(ec_name).map_err(Error::bad_input)?;
    let bytes = crate::readpath::read_input(&path)?;
    let chunk = qr::chunk_size(version, ec).map_err(Error::bad_input)?;
    let frames = qr::encode(&bytes, chunk)
        .map_err(|e| Error::bad_input(e).hint("use a larger --qr-version"))?;
    let codes = frames
        .iter()
        .map(|f| qr::frame_code(f, version, ec))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::environment)?;
    let texts: Vec<String> = frames.iter().map(|f| f.to_text()).collect();
    let n = frames.len();
    let mut written = Vec::new();
    let name =
        |dir: &Path, i: usize, ext: &str| dir.join(format!("frame-{:03}-of-{n:03}.{ext}", i + 1));
    if let Some(dir) = &outputs.png {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, &e))?;
        for (i, c) in codes.iter().enumerate() {
            let p = name(dir, i, "png");
            write_public(&p, &render::to_png(c, 6).map_err(Error::environment)?)?;
            written.push(p);
        }
    }
    if let Some(dir) = &outputs.svg {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, &e))?;
        for (i, c) in codes.iter().enumerate() {
            let p = name(dir, i, "svg");
            write_public(&p, render::to_svg(c).as_bytes())?;
            written.push(p);
        }
    }
    let sha = crate::workspace::digest_hex(&bytes);
    if let Some(p) = &outputs.html {
        let svgs: Vec<String> = codes.iter().map(render::to_svg).collect();
        write_public(
            p,
            render::html_sheet(&svgs, &format!("{} — SHA-256 {sha}", path.display())).as_bytes(),
        )?;
        written.push(p.clone());
    }
    if let Some(p) = &outputs.text {
        let mut t = texts.join("\n");
        t.push('\n');
        write_public(p, t.as_bytes())?;
        written.push(p.clone());
    }
    ctx.record_here(
        &here,
        "export-qr",
        serde_json::json!({
            "file": path.display().to_string(),
            "sha256": sha,
            "frames": n,
            "qr_version": version,
            "written": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        }),
    )?;
    Ok(QrReport {
        file: path,
        bytes: bytes.len(),
        sha256: sha,
        version,
        ec: ec_name.to_ascii_uppercase(),
        frames: n,
        payload_per_frame: chunk,
        frame_bytes: qr::frame_bytes(version, ec),
        byte_capacity: qr::byte_capacity(version, ec),
        written,
        codes,
        texts,
    })
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub version: u64,
    pub sha256: String,
    pub frames: u16,
    pub duplicates: usize,
    pub rejected: Vec<String>,
    pub written: Vec<PathBuf>,
}

/// The first few of `items`, and how many more there are.
fn some_of(items: &[String]) -> String {
    const SHOWN: usize = 8;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > SHOWN {
        s.push_str(&format!("; and {} more", items.len() - SHOWN));
    }
    s
}

/// `rootcellar import qr FILE… [--out PATH]`: frames from text files (one frame per line) or
/// images; the root is verified as a client would before it is written.
pub fn import_qr(ctx: &Context, files: &[PathBuf], out: Option<&Path>) -> Result<ImportReport> {
    let here = ctx.lock_here(Some("import-qr"))?;
    let (inputs, unreadable) = render::read_frames(files)?;
    let a = qr::assemble(&inputs).map_err(|e| {
        let e = if unreadable.is_empty() {
            e
        } else {
            format!("{e} ({})", some_of(&unreadable))
        };
        Error::refused(e).hint("scan the frames again")
    })?;
    let mut rejected = unreadable;
    rejected.extend(a.rejected.clone());
    if !a.missing.is_empty() {
        let list: Vec<String> = a.missing.iter().map(|m| m.to_string()).collect();
        return Err(Error::refused(format!(
            "missing frame{} {} of {}{}",
            if a.missing.len() > 1 { "s" } else { "" },
            list.join(", "),
            a.frames,
            if rejected.is_empty() {
                String::new()
            } else {
                format!(" (not used: {})", some_of(&rejected))
            }
        ))
        .hint(
            "scan the missing frames and give them together with the others; nothing was written",
        ));
    }
    let file = a
        .file
        .ok_or_else(|| Error::refused("the frames did not give a file"))?;
    // TUF 1.0 or Notary v1: the file says which.
    let not_root = |e: String| {
        Error::refused(format!(
            "the frames carry a file that is not root metadata: {e}"
        ))
    };
    let value = crate::tuf::json::parse_strict(&file).map_err(|e| not_root(e.to_string()))?;
    // Alone (--out), a root is checked without a repository name; in a workspace, as its own.
    let d = Dialect::of_value(&value, None);
    let doc = d.parse(&file).map_err(|e| not_root(e.to_string()))?;
    let version = doc.version();
    let written = match out {
        Some(o) => {
            if let Some(f) = d.verify_chain(&doc, &[], ctx.now).failure {
                return Err(Error::refused(format!("the root does not verify: {f}"))
                    .hint("nothing was written"));
            }
            match crate::readpath::read_existing(o, crate::readpath::Kind::Metadata)? {
                Some(there) if there == file => {}
                Some(_) => {
                    return Err(
                        Error::refused(format!("{} exists and differs", o.display()))
                            .hint("choose another --out; nothing was written"),
                    );
                }
                None => crate::atomic::write_new_public(o, &file)?,
            }
            vec![o.to_path_buf()]
        }
        None => {
            // Held locked since the start (`here`).
            let Some((ws, _)) = &here else {
                return Err(ctx
                    .workspace()
                    .err()
                    .unwrap_or_else(|| Error::refused("no workspace")));
            };
            let resume = ws.resuming();
            let intent = serde_json::json!({"version": version, "sha256": a.sha256, "published": true,
                "files": [{"role": "root", "version": version, "sha256": a.sha256}]});
            if let Some(d) = &resume {
                if d["files"] != intent["files"] {
                    return Err(Error::refused("another QR import was interrupted here")
                        .hint("run that import again (the same frames) to finish it"));
                }
                ctx.notice(format!(
                    "finishing the import of version {version} that was interrupted"
                ));
                let (versioned, latest) = ws.publish_raw(version, &file)?;
                return Ok(ImportReport {
                    version,
                    sha256: a.sha256,
                    frames: a.frames,
                    duplicates: a.duplicates,
                    rejected,
                    written: vec![versioned, latest],
                });
            }
            let here = Dialect::of(ws);
            if !here.accepts(&doc) {
                return Err(Error::refused(format!(
                    "the frames carry {} metadata, and this workspace keeps {}",
                    d.name(),
                    here.name()
                ))
                .hint("give --out FILE; nothing was written"));
            }
            let published = ws.published_files()?;
            let Some((last, _)) = published.last() else {
                return Err(
                    Error::refused("nothing is published in this workspace to chain onto")
                        .hint("give --out FILE"),
                );
            };
            if version <= *last {
                if published.iter().any(|(v, b)| *v == version && *b == file) {
                    return Ok(ImportReport {
                        version,
                        sha256: a.sha256,
                        frames: a.frames,
                        duplicates: a.duplicates,
                        rejected,
                        written: vec![],
                    });
                }
                return Err(Error::refused(format!(
                    "version {version} is published here already, with other bytes"
                ))
                .hint("give --out FILE to keep it elsewhere"));
            }
            super::review::refuse_changed_key_ids(&here.published(ws)?, &doc)?;
            let mut chain: Vec<Vec<u8>> = published.into_iter().map(|(_, b)| b).collect();
            chain.push(file.clone());
            if let Some(f) = history_failure(&here, &chain, ctx.now) {
                return Err(Error::refused(format!(
                    "the root does not chain onto what is published here: {f}"
                ))
                .hint("give --out FILE to keep it elsewhere; nothing was written"));
            }
            // The intent first: a crash below leaves a file the transcript vouches for, and the
            // same import run again finishes it.
            let mut intent = intent;
            intent["frames"] = a.frames.into();
            ctx.record(ws, "import-qr", intent)?;
            let (versioned, latest) = ws.publish_raw(version, &file)?;
            return Ok(ImportReport {
                version,
                sha256: a.sha256,
                frames: a.frames,
                duplicates: a.duplicates,
                rejected,
                written: vec![versioned, latest],
            });
        }
    };
    ctx.record_here(
        &here,
        "import-qr",
        serde_json::json!({
            "version": version,
            "sha256": a.sha256,
            "frames": a.frames,
            "written": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "published": false,
        }),
    )?;
    Ok(ImportReport {
        version,
        sha256: a.sha256,
        frames: a.frames,
        duplicates: a.duplicates,
        rejected,
        written,
    })
}

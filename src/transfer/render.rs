//! QR codes out (PNG, SVG, terminal, HTML sheet) and back in (images, with `rqrr`).
//!
//! Invariant: codes are always dark modules on a light background with a quiet zone: an inverted
//! code (light on dark, as a dark terminal theme would draw it) does not scan.

use qrcode::{Color, QrCode};

/// Quiet zone around every code, in modules.
pub const QUIET: usize = 4;
/// The terminal can afford a thinner quiet zone (the light background frames the code).
pub const TERMINAL_QUIET: usize = 2;

fn dark(code: &QrCode, x: isize, y: isize) -> bool {
    let w = code.width() as isize;
    if x < 0 || y < 0 || x >= w || y >= w {
        return false;
    }
    code[(x as usize, y as usize)] == Color::Dark
}

/// PNG bytes, `scale` pixels per module.
pub fn to_png(code: &QrCode, scale: u32) -> Result<Vec<u8>, String> {
    let modules = code.width() + 2 * QUIET;
    let side = modules as u32 * scale;
    let img = image::GrayImage::from_fn(side, side, |px, py| {
        let x = (px / scale) as isize - QUIET as isize;
        let y = (py / scale) as isize - QUIET as isize;
        image::Luma([if dark(code, x, y) { 0 } else { 255 }])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

/// An SVG image.
pub fn to_svg(code: &QrCode) -> String {
    code.render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(true)
        .min_dimensions(256, 256)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build()
}

/// The code as terminal lines: upper half blocks, each cell's top module in the foreground colour
/// and its bottom module in the background colour, always black on white (explicit colours, even
/// under NO_COLOR).
pub fn to_terminal(code: &QrCode) -> Vec<String> {
    const BLACK: &str = "16";
    const WHITE: &str = "231";
    let q = TERMINAL_QUIET as isize;
    let w = code.width() as isize + 2 * q;
    let mut lines = Vec::new();
    let mut y = -q;
    while y < w - q {
        let mut line = String::new();
        for x in -q..w - q {
            let top = if dark(code, x, y) { BLACK } else { WHITE };
            let bottom = if dark(code, x, y + 1) { BLACK } else { WHITE };
            line.push_str(&format!("\x1b[38;5;{top}m\x1b[48;5;{bottom}m\u{2580}"));
        }
        line.push_str("\x1b[0m");
        lines.push(line);
        y += 2;
    }
    lines
}

/// The largest QR version (at most `max`) whose code fits a terminal of `cols` × `rows` with a
/// caption line and the cursor's line below it (so nothing scrolls).
pub fn terminal_version(cols: usize, rows: usize, max: i16) -> i16 {
    let mut best = 0;
    for v in 1..=max.clamp(1, 40) {
        let modules = 17 + 4 * v as usize + 2 * TERMINAL_QUIET;
        if modules <= cols && modules.div_ceil(2) + 2 <= rows {
            best = v;
        }
    }
    best
}

/// The largest QR version (at most `max`) whose code, drawn two modules per character cell with
/// its quiet zone, fills a full-screen view of `cols` × `rows` with one caption line below it.
pub fn full_screen_version(cols: usize, rows: usize, max: i16) -> i16 {
    terminal_version(cols, rows + 1, max)
}

/// Decodes every QR code in an image (PNG, …) to its text.
fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG")
        || bytes.starts_with(&[0xff, 0xd8])
        || bytes.starts_with(b"GIF8")
        || bytes.starts_with(b"BM")
}

/// The frames in `files` — text files (one frame per line) or images — each with where it was
/// found, and the images that could not be read.
#[allow(clippy::type_complexity)]
pub fn read_frames(
    files: &[std::path::PathBuf],
) -> crate::error::Result<(Vec<(String, String)>, Vec<String>)> {
    use crate::readpath::Kind;
    let mut inputs = Vec::new();
    let mut unreadable = Vec::new();
    for f in files {
        let bytes = crate::readpath::read(f, Kind::Image)?;
        if !is_image(&bytes) && bytes.len() as u64 > Kind::Frames.limit() {
            return Err(crate::error::Error::bad_input(format!(
                "{} holds {} bytes of text: more than the {} MiB any QR export takes",
                f.display(),
                bytes.len(),
                Kind::Frames.limit() >> 20
            ))
            .hint("give the file of frames `export --qr` wrote, or the photos of the codes"));
        }
        if is_image(&bytes) {
            match decode_image(&bytes) {
                Ok(texts) => inputs.extend(texts.into_iter().map(|t| (f.display().to_string(), t))),
                Err(e) => unreadable.push(format!("{}: {e}", f.display())),
            }
        } else {
            let text = String::from_utf8_lossy(&bytes);
            for (i, line) in text.lines().enumerate() {
                if !line.trim().is_empty() {
                    inputs.push((format!("{} line {}", f.display(), i + 1), line.to_string()));
                }
            }
        }
    }
    Ok((inputs, unreadable))
}

/// The largest image read, in pixels (a 48-megapixel photo; checked from the header, before
/// anything is decoded).
pub const MAX_IMAGE_PIXELS: u64 = 48_000_000;

pub fn decode_image(bytes: &[u8]) -> Result<Vec<String>, String> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("not an image rootcellar reads: {e}"))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| format!("not an image rootcellar reads: {e}"))?;
    if u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS {
        return Err(format!(
            "the image is {w}×{h} pixels, more than the {} megapixels rootcellar decodes: scale it down or crop it to the code",
            MAX_IMAGE_PIXELS / 1_000_000
        ));
    }
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("not an image rootcellar reads: {e}"))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(w);
    limits.max_image_height = Some(h);
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 4);
    reader.limits(limits);
    let img = reader
        .decode()
        .map_err(|e| format!("not an image rootcellar reads: {e}"))?
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    if grids.is_empty() {
        return Err("no QR code found in the image".into());
    }
    grids
        .iter()
        .map(|g| {
            g.decode()
                .map(|(_, text)| text)
                .map_err(|e| format!("a QR code in the image could not be read: {e}"))
        })
        .collect()
}

/// A printable sheet: one frame per page.
pub fn html_sheet(svgs: &[String], caption: &str) -> String {
    let mut s = String::from(
        "<!doctype html><meta charset=\"utf-8\"><title>rootcellar QR frames</title>\n<style>body{font-family:sans-serif;background:#fff;color:#000}section{page-break-after:always;text-align:center;padding:2em}svg{width:80vmin;height:80vmin}</style>\n",
    );
    let n = svgs.len();
    for (i, svg) in svgs.iter().enumerate() {
        s.push_str(&format!(
            "<section><h2>Frame {} of {n}</h2>{svg}<p>{}</p></section>\n",
            i + 1,
            html_escape(caption)
        ));
    }
    s
}

fn html_escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_80_by_24_terminal_fits_version_5() {
        assert_eq!(terminal_version(80, 24, 40), 5);
        assert!(terminal_version(200, 80, 40) >= 15);
        assert_eq!(terminal_version(10, 5, 40), 0);
    }

    #[test]
    fn terminal_codes_are_dark_on_light_with_explicit_colours() {
        let code = QrCode::with_version(
            b"RCQR:TEST.",
            qrcode::Version::Normal(2),
            qrcode::EcLevel::M,
        )
        .unwrap();
        let lines = to_terminal(&code);
        assert_eq!(lines.len(), (code.width() + 2 * TERMINAL_QUIET).div_ceil(2));
        // The quiet zone is white on white.
        assert!(lines[0].starts_with("\x1b[38;5;231m\x1b[48;5;231m"));
        assert!(lines.iter().all(|l| l.ends_with("\x1b[0m")));
    }

    #[test]
    fn png_round_trips_through_the_image_decoder() {
        let code = QrCode::with_version(
            b"RCQR:HELLO.",
            qrcode::Version::Normal(3),
            qrcode::EcLevel::Q,
        )
        .unwrap();
        let png = to_png(&code, 4).unwrap();
        assert_eq!(decode_image(&png).unwrap(), vec!["RCQR:HELLO.".to_string()]);
        assert!(decode_image(b"not an image").is_err());
    }
}

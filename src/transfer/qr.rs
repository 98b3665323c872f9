//! QR transfer frames (docs/qr-format.md): a file, raw-deflated, cut into frames; each frame is
//! the text `RCQR:` + base45(header ‖ chunk ‖ CRC-32) + `.`, which QR codes hold in alphanumeric
//! mode and scanner apps return unchanged.
//!
//! Invariants: decoding is bounded (sizes, frame counts) before anything is allocated; a file is
//! accepted only when every frame is present and its length and SHA-256 match. Pure: no I/O.

use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

pub const PREFIX: &str = "RCQR:";
pub const SUFFIX: &str = ".";
pub const FORMAT_VERSION: u8 = 1;
/// version, index, count, compressed length, uncompressed length, SHA-256.
pub const HEADER_LEN: usize = 1 + 2 + 2 + 4 + 4 + 32;
pub const CRC_LEN: usize = 4;
/// The largest file a frame sequence may carry (as metadata files are bounded).
pub const MAX_FILE: usize = crate::tuf::json::MAX_BYTES;
pub const MAX_FRAMES: u16 = 2000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub index: u16,
    pub count: u16,
    pub compressed_len: u32,
    pub uncompressed_len: u32,
    pub sha256: [u8; 32],
    pub chunk: Vec<u8>,
}

impl Frame {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HEADER_LEN + self.chunk.len() + CRC_LEN);
        b.push(FORMAT_VERSION);
        b.extend_from_slice(&self.index.to_be_bytes());
        b.extend_from_slice(&self.count.to_be_bytes());
        b.extend_from_slice(&self.compressed_len.to_be_bytes());
        b.extend_from_slice(&self.uncompressed_len.to_be_bytes());
        b.extend_from_slice(&self.sha256);
        b.extend_from_slice(&self.chunk);
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_be_bytes());
        b
    }

    /// The text a QR code holds.
    pub fn to_text(&self) -> String {
        format!("{PREFIX}{}{SUFFIX}", base45::encode(self.to_bytes()))
    }

    /// Reads one frame's text (what a scanner returns), with the checks that need no other frame.
    pub fn from_text(text: &str) -> Result<Frame, String> {
        let t = text.trim();
        let body = t.strip_prefix(PREFIX).ok_or_else(|| {
            format!("not a rootcellar QR frame (it does not start with {PREFIX})")
        })?;
        let body = body
            .strip_suffix(SUFFIX)
            .ok_or("the frame is cut short (no final '.')")?;
        let b = base45::decode(body)
            .map_err(|_| "the frame's text is damaged (not base45)".to_string())?;
        if b.len() < HEADER_LEN + CRC_LEN {
            return Err("the frame is too short".into());
        }
        let (data, crc) = b.split_at(b.len() - CRC_LEN);
        let index = u16::from_be_bytes([data[1], data[2]]);
        let count = u16::from_be_bytes([data[3], data[4]]);
        let want = u32::from_be_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32fast::hash(data) != want {
            return Err(format!(
                "frame checksum mismatch: the frame is corrupted (it claims to be frame {index} of {count})"
            ));
        }
        if data[0] != FORMAT_VERSION {
            return Err(format!(
                "frame format version {} is not supported (this rootcellar reads version {FORMAT_VERSION})",
                data[0]
            ));
        }
        let compressed_len = u32::from_be_bytes([data[5], data[6], data[7], data[8]]);
        let uncompressed_len = u32::from_be_bytes([data[9], data[10], data[11], data[12]]);
        if count == 0 || count > MAX_FRAMES || index == 0 || index > count {
            return Err(format!(
                "frame claims to be frame {index} of {count}: out of bounds (1..{MAX_FRAMES} frames)"
            ));
        }
        if uncompressed_len as usize > MAX_FILE
            || compressed_len as usize > MAX_FILE * 2
            || compressed_len == 0
        {
            return Err(format!(
                "frame claims sizes out of bounds ({compressed_len} compressed, {uncompressed_len} bytes)"
            ));
        }
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(&data[13..45]);
        Ok(Frame {
            index,
            count,
            compressed_len,
            uncompressed_len,
            sha256,
            chunk: data[HEADER_LEN..].to_vec(),
        })
    }
}

/// Cuts `file` into frames of at most `chunk` compressed bytes each.
pub fn encode(file: &[u8], chunk: usize) -> Result<Vec<Frame>, String> {
    if file.len() > MAX_FILE {
        return Err(format!(
            "the file has {} bytes, more than the {MAX_FILE} a frame sequence carries",
            file.len()
        ));
    }
    let compressed = miniz_oxide::deflate::compress_to_vec(file, 10);
    let chunk = chunk.max(1);
    let count = compressed.len().div_ceil(chunk).max(1);
    if count > MAX_FRAMES as usize {
        return Err(format!(
            "{count} frames would be needed (at most {MAX_FRAMES}): choose a larger QR version"
        ));
    }
    let sha256: [u8; 32] = Sha256::digest(file).into();
    Ok(compressed
        .chunks(chunk)
        .enumerate()
        .map(|(i, c)| Frame {
            index: (i + 1) as u16,
            count: count as u16,
            compressed_len: compressed.len() as u32,
            uncompressed_len: file.len() as u32,
            sha256,
            chunk: c.to_vec(),
        })
        .collect())
}

/// What reassembly found.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Assembly {
    /// The file, when every frame was there and it checked out.
    #[serde(skip)]
    pub file: Option<Vec<u8>>,
    pub sha256: String,
    pub frames: u16,
    pub missing: Vec<u16>,
    /// Inputs that were not used, and why (corrupted, from another export, not a frame).
    pub rejected: Vec<String>,
    pub duplicates: usize,
}

/// Reassembles frames given as (label, text) pairs — any order, duplicates allowed. The export
/// with the most valid frames wins; frames of any other export are rejected by digest.
pub fn assemble(inputs: &[(String, String)]) -> Result<Assembly, String> {
    type Key = ([u8; 32], u16, u32, u32);
    // Linear in the number of inputs: frames are sets by export and index.
    let mut groups: BTreeMap<Key, BTreeMap<u16, Vec<u8>>> = BTreeMap::new();
    let mut first_seen: BTreeMap<Key, usize> = BTreeMap::new();
    let mut rejected = Vec::new();
    let mut duplicates = 0;
    let mut parsed: Vec<(String, Frame)> = Vec::new();
    for (label, text) in inputs {
        match Frame::from_text(text) {
            Ok(f) => parsed.push((label.clone(), f)),
            Err(e) => rejected.push(format!("{label}: {e}")),
        }
    }
    for (_, f) in &parsed {
        let key = (f.sha256, f.count, f.compressed_len, f.uncompressed_len);
        let n = first_seen.len();
        first_seen.entry(key).or_insert(n);
        let g = groups.entry(key).or_default();
        match g.entry(f.index) {
            std::collections::btree_map::Entry::Occupied(_) => duplicates += 1,
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(f.chunk.clone());
            }
        }
    }
    let Some(best) = first_seen
        .iter()
        .max_by_key(|(k, order)| {
            (
                groups.get(*k).map_or(0, BTreeMap::len),
                std::cmp::Reverse(**order),
            )
        })
        .map(|(k, _)| k)
    else {
        return Err(if rejected.is_empty() {
            "no QR frames were given".to_string()
        } else {
            let more = rejected.len().saturating_sub(8);
            let shown: Vec<&String> = rejected.iter().take(8).collect();
            format!(
                "no usable QR frame: {}{}",
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
                if more > 0 {
                    format!("; and {more} more")
                } else {
                    String::new()
                }
            )
        });
    };
    for (label, f) in &parsed {
        if (f.sha256, f.count, f.compressed_len, f.uncompressed_len) != *best {
            rejected.push(format!(
                "{label}: frame {} of {} belongs to another export (file digest {}…)",
                f.index,
                f.count,
                &hex::encode(f.sha256)[..12]
            ));
        }
    }
    let (sha256, count, compressed_len, uncompressed_len) = *best;
    let Some(have) = groups.get(best) else {
        return Err("no QR frames were given".to_string());
    };
    let all: BTreeSet<u16> = (1..=count).collect();
    let missing: Vec<u16> = all
        .iter()
        .filter(|i| !have.contains_key(i))
        .copied()
        .collect();
    let mut out = Assembly {
        file: None,
        sha256: hex::encode(sha256),
        frames: count,
        missing,
        rejected,
        duplicates,
    };
    if !out.missing.is_empty() {
        return Ok(out);
    }
    let compressed: Vec<u8> = have.values().flatten().copied().collect();
    if compressed.len() != compressed_len as usize {
        return Err(format!(
            "the frames hold {} compressed bytes, their headers say {compressed_len}",
            compressed.len()
        ));
    }
    let file = miniz_oxide::inflate::decompress_to_vec_with_limit(
        &compressed,
        uncompressed_len as usize,
    )
    .map_err(|_| {
        format!("the frames do not inflate to the {uncompressed_len} bytes their headers announce")
    })?;
    if file.len() != uncompressed_len as usize {
        return Err(format!(
            "the file has {} bytes, the frames announce {uncompressed_len}",
            file.len()
        ));
    }
    if Sha256::digest(&file).as_slice() != sha256 {
        return Err("the reassembled file does not have the SHA-256 the frames announce".into());
    }
    out.file = Some(file);
    Ok(out)
}

/// Error-correction levels offered.
pub fn ec_level(s: &str) -> Result<qrcode::EcLevel, String> {
    match s.to_ascii_uppercase().as_str() {
        "L" => Ok(qrcode::EcLevel::L),
        "M" => Ok(qrcode::EcLevel::M),
        "Q" => Ok(qrcode::EcLevel::Q),
        "H" => Ok(qrcode::EcLevel::H),
        _ => Err(format!("error-correction level {s:?}: use L, M, Q or H")),
    }
}

/// How many alphanumeric characters a QR code of `version` (1-40) at `ec` holds.
pub fn alnum_capacity(version: i16, ec: qrcode::EcLevel) -> usize {
    let fits = |n: usize| {
        let mut bits = qrcode::bits::Bits::new(qrcode::Version::Normal(version));
        bits.push_alphanumeric_data(&vec![b'A'; n]).is_ok() && bits.push_terminator(ec).is_ok()
    };
    let (mut lo, mut hi) = (0usize, 8000usize);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) { lo = mid } else { hi = mid - 1 }
    }
    lo
}

/// How many bytes a QR code of `version` at `ec` holds in byte mode (its nominal capacity).
pub fn byte_capacity(version: i16, ec: qrcode::EcLevel) -> usize {
    let fits = |n: usize| {
        let mut bits = qrcode::bits::Bits::new(qrcode::Version::Normal(version));
        bits.push_byte_data(&vec![0u8; n]).is_ok() && bits.push_terminator(ec).is_ok()
    };
    let (mut lo, mut hi) = (0usize, 4000usize);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(mid) { lo = mid } else { hi = mid - 1 }
    }
    lo
}

/// How many bytes of a frame (header, chunk and CRC) a QR code of `version` at `ec` carries.
pub fn frame_bytes(version: i16, ec: qrcode::EcLevel) -> usize {
    let chars = alnum_capacity(version, ec).saturating_sub(PREFIX.len() + SUFFIX.len());
    chars / 3 * 2 + usize::from(chars % 3 == 2)
}

/// The smallest QR version that carries a frame at `ec`.
pub fn min_version(ec: qrcode::EcLevel) -> i16 {
    (1..=40)
        .find(|v| frame_bytes(*v, ec) > HEADER_LEN + CRC_LEN)
        .unwrap_or(40)
}

/// Chunk size (compressed payload per frame) for `version` at `ec`.
pub fn chunk_size(version: i16, ec: qrcode::EcLevel) -> Result<usize, String> {
    frame_bytes(version, ec)
        .checked_sub(HEADER_LEN + CRC_LEN)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("QR version {version} at level {ec:?} is too small to carry a frame: use version {} or more", min_version(ec)))
}

/// The QR code of one frame: one alphanumeric segment, exactly what [`alnum_capacity`] counts.
pub fn frame_code(f: &Frame, version: i16, ec: qrcode::EcLevel) -> Result<qrcode::QrCode, String> {
    let text = f.to_text();
    let mut bits = qrcode::bits::Bits::new(qrcode::Version::Normal(version));
    bits.push_alphanumeric_data(text.as_bytes())
        .and_then(|()| bits.push_terminator(ec))
        .and_then(|()| qrcode::QrCode::with_bits(bits, ec))
        .map_err(|e| format!("frame {} does not fit QR version {version}: {e}", f.index))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(frames: &[Frame]) -> Vec<(String, String)> {
        frames
            .iter()
            .map(|f| (format!("frame {}", f.index), f.to_text()))
            .collect()
    }

    #[test]
    fn round_trip_in_any_order_with_duplicates() {
        let file: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let frames = encode(&file, 200).unwrap();
        assert!(frames.len() > 3);
        let mut t = texts(&frames);
        t.reverse();
        t.push(t[0].clone());
        let a = assemble(&t).unwrap();
        assert_eq!(a.file.as_deref(), Some(&file[..]));
        assert_eq!(a.duplicates, 1);
        for f in &frames {
            let text = f.to_text();
            assert!(text.starts_with(PREFIX) && text.ends_with(SUFFIX) && !text.ends_with(' '));
            assert!(
                text.bytes()
                    .all(|b| b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".contains(&b))
            );
        }
    }

    #[test]
    fn missing_corrupted_foreign_and_absurd_frames_are_reported() {
        let file = vec![7u8; 3000];
        let other = vec![8u8; 3000];
        // Incompressible bytes, so that there are several frames.
        let noise: Vec<u8> = (0..100u32)
            .flat_map(|i| Sha256::digest(i.to_be_bytes()).to_vec())
            .collect();
        let frames = encode(&noise, 300).unwrap();
        assert!(frames.len() >= 4);
        let n = frames.len() as u16;
        let mut t = texts(&frames);
        t.remove(1);
        let a = assemble(&t).unwrap();
        assert_eq!(a.missing, vec![2]);
        assert!(a.file.is_none());
        // A corrupted frame is reported by the frame number it claims.
        let mut t = texts(&frames);
        let s = &mut t[2].1;
        let pos = s.len() / 2;
        let c = if s.as_bytes()[pos] == b'A' { "B" } else { "A" };
        s.replace_range(pos..pos + 1, c);
        let a = assemble(&t).unwrap();
        assert!(
            a.rejected[0].contains("corrupted")
                && a.rejected[0].contains(&format!("frame 3 of {n}")),
            "{:?}",
            a.rejected
        );
        assert_eq!(a.missing, vec![3]);
        // A frame of another export is rejected by digest.
        let mut t = texts(&frames);
        t.push(("stray".into(), encode(&other, 300).unwrap()[0].to_text()));
        let a = assemble(&t).unwrap();
        assert!(a.file.is_some());
        assert!(
            a.rejected.iter().any(|r| r.contains("another export")),
            "{:?}",
            a.rejected
        );
        let _ = file;
        // Absurd sizes, bounded before anything is allocated.
        let mut f = frames[0].clone();
        f.uncompressed_len = u32::MAX;
        assert!(
            Frame::from_text(&f.to_text())
                .unwrap_err()
                .contains("out of bounds")
        );
        let mut f = frames[0].clone();
        f.count = 60000;
        f.index = 1;
        assert!(
            Frame::from_text(&f.to_text())
                .unwrap_err()
                .contains("out of bounds")
        );
        assert!(
            Frame::from_text("hello")
                .unwrap_err()
                .contains("not a rootcellar QR frame")
        );
        assert!(Frame::from_text("RCQR:AB").is_err());
    }

    #[test]
    fn the_documented_vector() {
        let doc = include_str!("../../docs/qr-format.md");
        let frames = encode(b"rootcellar QR vector\n", 8).unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(
            hex::encode(frames[0].to_bytes()),
            "010001000300000017000000157ee140dc6bd56a9e4a27c83f0e746092428c6d05a31a4d3b031392dd77f6f8d82bcacf2f494ecdc987216d0a"
        );
        for f in &frames {
            assert!(
                doc.contains(&f.to_text()),
                "docs/qr-format.md lacks {}",
                f.to_text()
            );
        }
        assert!(doc.contains(&hex::encode(frames[0].to_bytes())));
        let t: Vec<(String, String)> = frames
            .iter()
            .map(|f| (String::new(), f.to_text()))
            .collect();
        assert_eq!(
            assemble(&t).unwrap().file.unwrap(),
            b"rootcellar QR vector\n"
        );
    }

    #[test]
    fn documented_sizes_hold() {
        use qrcode::EcLevel::*;
        assert_eq!(chunk_size(10, M).unwrap(), 154);
        assert_eq!(chunk_size(15, M).unwrap(), 347);
        assert_eq!(chunk_size(20, L).unwrap(), 779);
        assert_eq!(chunk_size(25, M).unwrap(), 914);
        assert_eq!(chunk_size(40, L).unwrap(), 2811);
        assert_eq!(
            (
                min_version(L),
                min_version(M),
                min_version(Q),
                min_version(H)
            ),
            (4, 4, 5, 6)
        );
    }

    #[test]
    fn a_frame_fits_its_version() {
        for (v, ec) in [
            (5, qrcode::EcLevel::L),
            (10, qrcode::EcLevel::M),
            (15, qrcode::EcLevel::M),
            (20, qrcode::EcLevel::L),
            (25, qrcode::EcLevel::Q),
            (40, qrcode::EcLevel::H),
        ] {
            let chunk = chunk_size(v, ec).unwrap();
            let frames = encode(
                &(0..20000u32)
                    .map(|i| (i * 31 % 256) as u8)
                    .collect::<Vec<_>>(),
                chunk,
            )
            .unwrap();
            frame_code(&frames[0], v, ec).unwrap();
        }
        assert!(
            chunk_size(1, qrcode::EcLevel::H)
                .unwrap_err()
                .contains(&format!("use version {}", min_version(qrcode::EcLevel::H)))
        );
        assert!(min_version(qrcode::EcLevel::L) < min_version(qrcode::EcLevel::H));
        // Measured in BRIEF.md: version 40-L holds 4,296 alphanumeric characters.
        assert_eq!(alnum_capacity(40, qrcode::EcLevel::L), 4296);
    }
}

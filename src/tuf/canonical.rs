//! OLPC canonical JSON exactly as securesystemslib writes it.
//!
//! Invariant: object keys sorted by code point, no whitespace, in strings only `"` and `\` are
//! escaped (every other character, newlines included, is written raw), integers in decimal, no
//! floats. These are the bytes that TUF signatures cover.

use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("canonical JSON has no floats: {0}")]
pub struct CanonicalError(String);

/// The canonical bytes of `value`.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(1024);
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(CanonicalError(n.to_string()));
            }
        }
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's Map is a BTreeMap (preserve_order is off): keys come sorted by bytes,
            // which for UTF-8 is code point order, as Python's sorted() gives.
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(k, out);
                out.push(b':');
                write(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// SHA-256 (hex) of the canonical form of a metadata file's `signed` object: the digest
/// keyholders read aloud, computed from the file alone. `None` when the file is no JSON object
/// with a `signed` member that canonicalises.
pub fn signed_digest(file: &[u8]) -> Option<String> {
    use sha2::Digest;
    let v = crate::tuf::json::parse_strict(file).ok()?;
    let c = to_canonical(v.get("signed")?).ok()?;
    Some(hex::encode(sha2::Sha256::digest(&c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_and_escapes_like_securesystemslib() {
        let v = json!({"b": "line\nnext \"q\" \\", "a": [1, -2, true, null], "é": {}, "Z": 0});
        let c = String::from_utf8(to_canonical(&v).unwrap()).unwrap();
        assert_eq!(
            c,
            "{\"Z\":0,\"a\":[1,-2,true,null],\"b\":\"line\nnext \\\"q\\\" \\\\\",\"é\":{}}"
        );
    }

    #[test]
    fn refuses_floats() {
        assert!(to_canonical(&json!({"a": 1.5})).is_err());
    }
}

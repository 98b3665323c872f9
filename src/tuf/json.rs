//! Strict JSON reading: the first thing any metadata byte goes through.
//!
//! Invariant: a [`Value`] returned by [`parse_strict`] has no duplicate object keys, no floats, only
//! integers that fit `i64`/`u64`, nests at most [`MAX_DEPTH`] levels, and came from at most
//! [`MAX_BYTES`] bytes. Everything else is refused with an error that says what and where.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// Largest metadata file accepted (root files are a few KiB; big targets files a few MiB).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Deepest nesting of arrays and objects accepted. TUF metadata needs about 8.
pub const MAX_DEPTH: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JsonError {
    #[error("file is {size} bytes, above the {max}-byte limit for metadata")]
    TooLarge { size: usize, max: usize },
    #[error("not strict JSON: {0}")]
    Invalid(String),
}

/// Parses `bytes` as strict JSON (see the module docs).
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    if bytes.len() > MAX_BYTES {
        return Err(JsonError::TooLarge {
            size: bytes.len(),
            max: MAX_BYTES,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Seed { depth: 0 }
        .deserialize(&mut de)
        .map_err(|e| JsonError::Invalid(e.to_string()))?;
    de.end().map_err(|e| JsonError::Invalid(e.to_string()))?;
    Ok(value)
}

#[derive(Clone, Copy)]
struct Seed {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Seed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl Seed {
    fn deeper<E: de::Error>(self) -> Result<Seed, E> {
        if self.depth >= MAX_DEPTH {
            return Err(E::custom(format_args!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        Ok(Seed {
            depth: self.depth + 1,
        })
    }
}

impl<'de> Visitor<'de> for Seed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        if v.is_finite() && v.fract() == 0.0 && v.abs() >= 9.2e18 {
            Err(E::custom(format_args!(
                "number {v:e} is outside the 64-bit integer range"
            )))
        } else {
            Err(E::custom(format_args!(
                "number {v} is not an integer (TUF metadata has no floats or exponents)"
            )))
        }
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(inner)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate object key {key:?}"
                )));
            }
            let v = map.next_value_seed(inner)?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(s: &str) -> String {
        parse_strict(s.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn accepts_plain_json() {
        let v =
            parse_strict(br#"{"a":[1,-2,"x",true,null],"b":{"c":18446744073709551615}}"#).unwrap();
        assert_eq!(v["b"]["c"], Value::from(u64::MAX));
        assert_eq!(v["a"][1], Value::from(-2));
    }

    #[test]
    fn refuses_duplicate_keys_floats_huge_numbers_depth_and_size() {
        assert!(err(r#"{"a":1,"a":2}"#).contains("duplicate object key \"a\""));
        assert!(err(r#"{"a":1.5}"#).contains("not an integer"));
        assert!(err(r#"{"a":1e3}"#).contains("not an integer"));
        assert!(err(r#"{"a":18446744073709551616}"#).contains("outside the 64-bit"));
        assert!(err(r#"{"a":-9223372036854775809}"#).contains("outside the 64-bit"));
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(err(&deep).contains("nesting deeper"));
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse_strict(ok.as_bytes()).is_ok());
        let big = vec![b' '; MAX_BYTES + 1];
        assert!(matches!(
            parse_strict(&big),
            Err(JsonError::TooLarge { .. })
        ));
        assert!(err(r#"{"a":1} x"#).contains("trailing"));
        // Very deep input far past serde_json's own limit still errors, never overflows the stack.
        let very = "[".repeat(100_000);
        assert!(parse_strict(very.as_bytes()).is_err());
    }
}

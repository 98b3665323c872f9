//! Signed metadata: the envelope, root and targets.
//!
//! Invariant: a [`Metadata`] keeps the strictly parsed `signed` value and its canonical bytes, and
//! these are what signatures are checked against; the typed view is never re-serialised to check
//! a signature. Unknown fields are kept (in `extra`) and signed over; a document whose typed view
//! does not give back exactly the parsed value is refused, so nothing is ever dropped on edit.

use super::canonical::to_canonical;
use super::expiry::{Timestamp, parse_tuf_time};
use super::json::{JsonError, parse_strict};
use super::key::Key;
use super::sig::Signature;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The roles every root must name.
pub const TOP_LEVEL_ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MetadataError {
    #[error(transparent)]
    Json(#[from] JsonError),
    #[error("malformed metadata: {0}")]
    Shape(String),
}

fn shape(msg: impl Into<String>) -> MetadataError {
    MetadataError::Shape(msg.into())
}

/// Keyids and threshold of a top-level role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u64,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl RoleKeys {
    pub fn new(keyids: Vec<String>, threshold: u64) -> RoleKeys {
        RoleKeys {
            keyids,
            threshold,
            extra: BTreeMap::new(),
        }
    }
}

/// The `signed` part of root metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistent_snapshot: Option<bool>,
    pub keys: BTreeMap<String, Key>,
    pub roles: BTreeMap<String, RoleKeys>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// A delegated role in targets metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u64,
    #[serde(default)]
    pub terminating: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    pub roles: Vec<DelegatedRole>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The `signed` part of targets metadata (top-level or delegated).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(rename = "_type")]
    pub type_: String,
    pub spec_version: String,
    pub version: u64,
    pub expires: String,
    pub targets: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// What every kind of `signed` shares, and its own structural checks.
pub trait SignedBody: Serialize + DeserializeOwned + Clone {
    const TYPE: &'static str;
    fn validate(&self) -> Result<(), MetadataError>;
}

fn check_common(
    type_: &str,
    want: &str,
    spec: &str,
    version: u64,
    expires: &str,
) -> Result<(), MetadataError> {
    if type_ != want {
        return Err(shape(format!("_type is {type_:?}, expected {want:?}")));
    }
    let parts: Vec<&str> = spec.split('.').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.parse::<u64>().is_err()) {
        return Err(shape(format!(
            "spec_version {spec:?} is not a version like \"1.0.31\""
        )));
    }
    if parts[0] != "1" {
        return Err(shape(format!(
            "spec_version {spec:?} has major version {}, rootcellar reads TUF 1.x",
            parts[0]
        )));
    }
    if version == 0 {
        return Err(shape("version is 0: metadata versions start at 1"));
    }
    parse_tuf_time(expires).map_err(shape)?;
    Ok(())
}

fn check_keyids(
    what: &str,
    keyids: &[String],
    threshold: u64,
    keys: &BTreeMap<String, Key>,
) -> Result<(), MetadataError> {
    if threshold == 0 {
        return Err(shape(format!(
            "{what} has threshold 0: a threshold must be at least 1"
        )));
    }
    let mut seen = BTreeSet::new();
    for id in keyids {
        if !seen.insert(id) {
            return Err(shape(format!("{what} lists keyid {id} twice")));
        }
        if !keys.contains_key(id) {
            return Err(shape(format!(
                "{what} lists keyid {id}, which is not in \"keys\""
            )));
        }
    }
    Ok(())
}

impl SignedBody for Root {
    const TYPE: &'static str = "root";
    fn validate(&self) -> Result<(), MetadataError> {
        check_common(
            &self.type_,
            Self::TYPE,
            &self.spec_version,
            self.version,
            &self.expires,
        )?;
        for name in TOP_LEVEL_ROLES {
            let role = self
                .roles
                .get(name)
                .ok_or_else(|| shape(format!("root has no {name:?} role")))?;
            check_keyids(
                &format!("role {name:?}"),
                &role.keyids,
                role.threshold,
                &self.keys,
            )?;
        }
        if let Some(other) = self
            .roles
            .keys()
            .find(|r| !TOP_LEVEL_ROLES.contains(&r.as_str()))
        {
            return Err(shape(format!(
                "root names a role {other:?}: only root, targets, snapshot and timestamp belong in root"
            )));
        }
        for (id, k) in &self.keys {
            let scheme = k.scheme.as_deref().unwrap_or("");
            if !KNOWN_KEY_TYPES.contains(&(k.keytype.as_str(), scheme)) {
                return Err(shape(format!(
                    "key {} has type {:?} with scheme {scheme:?}, which python-tuf does not read: it refuses such a root, and so does rootcellar",
                    id.chars().take(16).collect::<String>(),
                    k.keytype
                )));
            }
        }
        Ok(())
    }
}

/// The key types and schemes a TUF client reads (securesystemslib's table, which python-tuf
/// uses): a root listing any other key is refused whole. rootcellar verifies all of these but
/// P-521, ML-DSA and the OpenPGP forms, which count for nothing here (docs/formats.md).
pub const KNOWN_KEY_TYPES: [(&str, &str); 19] = [
    ("ecdsa", "ecdsa-sha2-nistp256"),
    ("ecdsa", "ecdsa-sha2-nistp384"),
    ("ecdsa", "ecdsa-sha2-nistp521"),
    ("ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"),
    ("ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384"),
    ("ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521"),
    ("ed25519", "ed25519"),
    ("rsa", "rsassa-pss-sha256"),
    ("rsa", "rsassa-pss-sha384"),
    ("rsa", "rsassa-pss-sha512"),
    ("rsa", "rsa-pkcs1v15-sha256"),
    ("rsa", "rsa-pkcs1v15-sha384"),
    ("rsa", "rsa-pkcs1v15-sha512"),
    ("ml-dsa", "ml-dsa-44/1"),
    ("ml-dsa", "ml-dsa-65/1"),
    ("ml-dsa", "ml-dsa-87/1"),
    ("dsa", "pgp+dsa-fips-180-2"),
    ("eddsa", "pgp+eddsa-ed25519"),
    ("rsa", "pgp+rsa-pkcsv1.5"),
];

/// Whether a delegated role name is safe to use anywhere, a file name included.
pub fn check_role_name(name: &str) -> Result<(), String> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        || name.contains('\\')
        || name.chars().any(char::is_control);
    if bad {
        Err(format!(
            "role name {name:?} is not allowed: empty, \".\", \"..\", empty path parts, backslashes and control characters are refused (they could escape the metadata folder)"
        ))
    } else {
        Ok(())
    }
}

/// The file name of a delegated role's metadata, as python-tuf builds it: the role name
/// percent-encoded (no character is left unescaped but letters, digits and `_.-~`), so a name
/// such as `targets/releases` never becomes a path. Refuses names [`check_role_name`] refuses.
pub fn role_file_name(name: &str) -> Result<String, String> {
    check_role_name(name)?;
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(format!("{out}.json"))
}

impl SignedBody for Targets {
    const TYPE: &'static str = "targets";
    fn validate(&self) -> Result<(), MetadataError> {
        check_common(
            &self.type_,
            Self::TYPE,
            &self.spec_version,
            self.version,
            &self.expires,
        )?;
        if let Some(d) = &self.delegations {
            let mut names = BTreeSet::new();
            for role in &d.roles {
                check_role_name(&role.name).map_err(shape)?;
                if TOP_LEVEL_ROLES.contains(&role.name.as_str()) {
                    return Err(shape(format!(
                        "delegated role {:?} has the name of a top-level role",
                        role.name
                    )));
                }
                if !names.insert(role.name.as_str()) {
                    return Err(shape(format!(
                        "delegated role {:?} appears twice",
                        role.name
                    )));
                }
                check_keyids(
                    &format!("delegated role {:?}", role.name),
                    &role.keyids,
                    role.threshold,
                    &d.keys,
                )?;
                match (&role.paths, &role.path_hash_prefixes) {
                    (Some(_), Some(_)) => {
                        return Err(shape(format!(
                            "delegated role {:?} has both paths and path_hash_prefixes: give one",
                            role.name
                        )));
                    }
                    (None, None) => {
                        return Err(shape(format!(
                            "delegated role {:?} has neither paths nor path_hash_prefixes",
                            role.name
                        )));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// A signed document: `{"signed": …, "signatures": […]}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metadata<T> {
    pub signed: T,
    pub signatures: Vec<Signature>,
    /// Fields beside `signed` and `signatures` (python-tuf keeps them as unrecognised fields):
    /// kept as they came, never signed.
    pub extra: Map<String, Value>,
    /// The canonical bytes of `signed` as it was read (or built). `signed` serialises back to
    /// exactly the value these bytes encode (checked when reading), so no copy of the JSON tree
    /// is kept.
    canonical: Vec<u8>,
}

/// Two signature entries under one key ID: python-tuf refuses the whole file
/// (`Metadata.from_dict`), and so does rootcellar.
pub fn refuse_duplicate_keyids(signatures: &[Signature]) -> Result<(), MetadataError> {
    let mut seen = std::collections::BTreeSet::new();
    for s in signatures {
        if !seen.insert(s.keyid.as_str()) {
            return Err(shape(format!(
                "two signatures name key ID {}: python-tuf refuses such a file",
                s.keyid.chars().take(16).collect::<String>()
            )));
        }
    }
    Ok(())
}

impl<T: SignedBody> Metadata<T> {
    /// Reads a metadata file: strict JSON, then shape, then the typed view.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MetadataError> {
        Self::from_value(parse_strict(bytes)?)
    }

    pub fn from_value(value: Value) -> Result<Self, MetadataError> {
        let Value::Object(mut top) = value else {
            return Err(shape("top level is not an object"));
        };
        let signed_value = top
            .remove("signed")
            .ok_or_else(|| shape("no \"signed\" object"))?;
        let sigs_value = top
            .remove("signatures")
            .ok_or_else(|| shape("no \"signatures\" list"))?;
        if !signed_value.is_object() {
            return Err(shape("\"signed\" is not an object"));
        }
        // The plain deserializer first; the one that tracks the path only to word an error.
        let signatures: Vec<Signature> = match Vec::<Signature>::deserialize(&sigs_value) {
            Ok(s) => s,
            Err(_) => serde_path_to_error::deserialize(sigs_value)
                .map_err(|e| shape(format!("signatures.{}: {}", e.path(), e.inner())))?,
        };
        refuse_duplicate_keyids(&signatures)?;
        let signed: T = match T::deserialize(&signed_value) {
            Ok(t) => t,
            Err(_) => serde_path_to_error::deserialize(&signed_value)
                .map_err(|e| shape(format!("signed.{}: {}", e.path(), e.inner())))?,
        };
        signed.validate()?;
        let back = serde_json::to_value(&signed).map_err(|e| shape(e.to_string()))?;
        if back != signed_value {
            return Err(shape(
                "\"signed\" holds a field in a form rootcellar cannot keep exactly (a null where a value belongs?)",
            ));
        }
        let canonical = to_canonical(&signed_value).map_err(|e| shape(e.to_string()))?;
        Ok(Metadata {
            signed,
            signatures,
            extra: top,
            canonical,
        })
    }

    /// New unsigned metadata from a typed body (used when rootcellar writes a version).
    pub fn new(signed: T) -> Result<Self, MetadataError> {
        signed.validate()?;
        let signed_value = serde_json::to_value(&signed).map_err(|e| shape(e.to_string()))?;
        let canonical = to_canonical(&signed_value).map_err(|e| shape(e.to_string()))?;
        Ok(Metadata {
            signed,
            signatures: Vec::new(),
            extra: Map::new(),
            canonical,
        })
    }

    /// The bytes signatures cover.
    pub fn canonical_signed(&self) -> &[u8] {
        &self.canonical
    }

    /// `signed` as a JSON value (exactly the value read, see [`Metadata::canonical_signed`]).
    pub fn signed_value(&self) -> Value {
        serde_json::to_value(&self.signed).unwrap_or(Value::Null)
    }

    /// The whole document as a JSON value.
    pub fn to_value(&self) -> Value {
        let mut top = self.extra.clone();
        top.insert(
            "signatures".into(),
            serde_json::to_value(&self.signatures).unwrap_or(Value::Array(vec![])),
        );
        top.insert("signed".into(), self.signed_value());
        Value::Object(top)
    }

    /// The file rootcellar writes: indented JSON with a trailing newline.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.to_value()).unwrap_or_default();
        out.push(b'\n');
        out
    }
}

impl Root {
    /// The parsed expiry (validated at parse time).
    pub fn expires_at(&self) -> Result<Timestamp, String> {
        parse_tuf_time(&self.expires)
    }

    pub fn role(&self, name: &str) -> Option<&RoleKeys> {
        self.roles.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &[u8] = include_bytes!("../../tests/data/tuf/python-tuf-ecdsa-ed25519.root.json");
    const CANONICAL: &[u8] =
        include_bytes!("../../tests/data/tuf/python-tuf-ecdsa-ed25519.signed.canonical");

    #[test]
    fn canonical_bytes_match_python_tuf_byte_for_byte() {
        let md = Metadata::<Root>::from_bytes(VECTOR).unwrap();
        assert_eq!(md.canonical_signed(), CANONICAL);
        // Written and read again: same canonical bytes.
        let again = Metadata::<Root>::from_bytes(&md.to_file_bytes()).unwrap();
        assert_eq!(again.canonical_signed(), CANONICAL);
        assert_eq!(again, md);
    }

    #[test]
    fn key_ids_match_python_tuf() {
        let md = Metadata::<Root>::from_bytes(VECTOR).unwrap();
        for (id, key) in &md.signed.keys {
            assert_eq!(&key.keyid(), id);
        }
    }

    #[test]
    fn shape_errors_are_clear() {
        let mut v = parse_strict(VECTOR).unwrap();
        v["signed"]["roles"]["root"]["threshold"] = Value::from(0);
        let e = Metadata::<Root>::from_value(v).unwrap_err().to_string();
        assert!(e.contains("threshold 0"), "{e}");

        let mut v = parse_strict(VECTOR).unwrap();
        v["signed"]["_type"] = Value::from("targets");
        assert!(
            Metadata::<Root>::from_value(v)
                .unwrap_err()
                .to_string()
                .contains("_type")
        );

        let mut v = parse_strict(VECTOR).unwrap();
        v["signed"]["spec_version"] = Value::from("2.0.0");
        assert!(
            Metadata::<Root>::from_value(v)
                .unwrap_err()
                .to_string()
                .contains("major")
        );

        let mut v = parse_strict(VECTOR).unwrap();
        v["signed"]["version"] = Value::from(-1);
        assert!(Metadata::<Root>::from_value(v).is_err());

        let mut v = parse_strict(VECTOR).unwrap();
        v["signed"]["consistent_snapshot"] = Value::Null;
        assert!(
            Metadata::<Root>::from_value(v)
                .unwrap_err()
                .to_string()
                .contains("cannot keep")
        );
    }

    #[test]
    fn unknown_fields_are_kept_and_signed_over() {
        let mut v = parse_strict(VECTOR).unwrap();
        v["signed"]["x-extension"] = serde_json::json!({"a": [1, 2]});
        let md = Metadata::<Root>::from_value(v).unwrap();
        assert!(md.signed.extra.contains_key("x-extension"));
        let c = String::from_utf8(md.canonical_signed().to_vec()).unwrap();
        assert!(c.contains("\"x-extension\":{\"a\":[1,2]}"));
    }

    #[test]
    fn targets_with_delegations_round_trip_and_are_checked() {
        let key = crate::tuf::PublicKey::Ed25519(
            ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]).verifying_key(),
        )
        .to_tuf_key();
        let id = key.keyid();
        let doc = serde_json::json!({
            "signed": {
                "_type": "targets", "spec_version": "1.0.31", "version": 3,
                "expires": "2030-01-01T00:00:00Z",
                "targets": {"a.txt": {"length": 1, "hashes": {"sha256": "00"}}},
                "delegations": {
                    "keys": {id.clone(): key},
                    "roles": [
                        {"name": "releases", "keyids": [id.clone()], "threshold": 1,
                         "terminating": true, "paths": ["releases/*"]},
                        {"name": "bins", "keyids": [id.clone()], "threshold": 1,
                         "terminating": false, "path_hash_prefixes": ["00", "01"], "x-note": "kept"}
                    ]
                }
            },
            "signatures": []
        });
        let md = Metadata::<Targets>::from_value(doc.clone()).unwrap();
        let d = md.signed.delegations.as_ref().unwrap();
        assert!(d.roles[0].terminating);
        assert_eq!(
            d.roles[1].path_hash_prefixes.as_deref(),
            Some(&["00".to_string(), "01".to_string()][..])
        );
        assert_eq!(md.to_value(), doc);

        let bad = |f: &dyn Fn(&mut Value)| {
            let mut v = doc.clone();
            f(&mut v);
            Metadata::<Targets>::from_value(v).unwrap_err().to_string()
        };
        assert!(
            bad(&|v| v["signed"]["delegations"]["roles"][0]["name"] = "../../etc".into())
                .contains("not allowed")
        );
        assert!(
            bad(
                &|v| v["signed"]["delegations"]["roles"][0]["path_hash_prefixes"] =
                    serde_json::json!(["0"])
            )
            .contains("both")
        );
        assert!(
            bad(&|v| {
                v["signed"]["delegations"]["roles"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("path_hash_prefixes");
            })
            .contains("neither")
        );
        assert!(
            bad(&|v| v["signed"]["delegations"]["roles"][1]["name"] = "releases".into())
                .contains("twice")
        );
        assert!(
            bad(&|v| v["signed"]["delegations"]["roles"][0]["threshold"] = 0.into())
                .contains("threshold 0")
        );
        assert!(
            bad(&|v| v["signed"]["delegations"]["roles"][0]["name"] = "snapshot".into())
                .contains("top-level")
        );
    }

    #[test]
    fn role_file_names_are_percent_encoded() {
        assert_eq!(
            role_file_name("targets/releases").unwrap(),
            "targets%2Freleases.json"
        );
        assert_eq!(role_file_name("a b").unwrap(), "a%20b.json");
        assert!(role_file_name("../x").is_err());
        assert!(role_file_name("/abs").is_err());
    }

    #[test]
    fn role_names_that_escape_are_refused() {
        for bad in ["", ".", "..", "../x", "a//b", "a/../b", "a\\b", "a\nb"] {
            assert!(check_role_name(bad).is_err(), "{bad:?}");
        }
        for good in ["releases", "targets/releases", "a.b-c_d"] {
            assert!(check_role_name(good).is_ok(), "{good:?}");
        }
    }
}

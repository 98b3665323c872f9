//! The PKCS#11 backend (crate `cryptoki`): keys generated on a token and used there.
//!
//! Invariants: private keys are generated on the token as CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE
//! and (where the profile allows the attribute) not CKA_EXTRACTABLE, and only public values are
//! read back; tokens are found by label and serial, never by slot id; one `Pkcs11` context per
//! module per process; a PIN is asked only after the token's PIN flags were checked
//! ([`pin_gate`]), tried once, and never retried by rootcellar.

use super::Signer;
use super::profiles::Profile;
use crate::error::{Error, Result};
use crate::tuf::sig::ecdsa_raw_to_der;
use crate::tuf::{Algorithm, PublicKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{
    Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// secp384r1 (1.3.132.0.34) as CKA_EC_PARAMS.
const P384_PARAMS: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];
/// PrintableString "edwards25519": the form some tokens want instead of the OID.
const ED25519_NAME: [u8; 14] = [
    0x13, 0x0c, b'e', b'd', b'w', b'a', b'r', b'd', b's', b'2', b'5', b'5', b'1', b'9',
];

fn contexts() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static C: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The process's one context for `module`, loaded and initialised on first use.
pub fn context(module: &Path) -> Result<Pkcs11> {
    let mut map = contexts()
        .lock()
        .map_err(|_| Error::environment("PKCS#11 context lock poisoned"))?;
    if let Some(c) = map.get(module) {
        return Ok(c.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| {
        Error::environment(format!("cannot load the PKCS#11 module {}: {e}", module.display()))
            .hint("check the path and that the library matches this system (64-bit, same OS); `rootcellar hsm check --profile NAME` probes it")
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(Error::environment(format!(
                "the PKCS#11 module {} did not initialise: {e}",
                module.display()
            ))
            .hint("check the module's configuration (e.g. SOFTHSM2_CONF, YUBIHSM_PKCS11_CONF)"));
        }
    }
    map.insert(module.to_path_buf(), ctx.clone());
    Ok(ctx)
}

fn ck(what: &str, token: &str) -> impl Fn(CkError) -> Error + use<> {
    let what = what.to_string();
    let token = token.to_string();
    move |e| {
        match e {
        CkError::Pkcs11(RvError::MechanismInvalid, _) => Error::environment(format!(
            "token {token} does not offer the mechanism needed to {what}"
        ))
        .hint("choose another algorithm (`rootcellar hsm check` lists the token's mechanisms) or another device"),
        CkError::Pkcs11(RvError::TokenNotPresent | RvError::DeviceRemoved, _) => {
            Error::environment(format!("token {token} went away while trying to {what}"))
                .hint("plug the device in again and run the command again")
        }
        e => Error::environment(format!("token {token}: cannot {what}: {e}")).hint("check the device and run the command again"),
    }
    }
}

/// RFC 7512 PKCS#11 URI of a key: `pkcs11:token=…;serial=…;object=…;id=%..`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Pkcs11Uri {
    pub token: Option<String>,
    pub serial: Option<String>,
    pub object: Option<String>,
    pub id: Option<Vec<u8>>,
}

fn pct_encode(bytes: &[u8], all: bool) -> String {
    let mut s = String::new();
    for &b in bytes {
        if !all && (b.is_ascii_alphanumeric() || b"-._~".contains(&b)) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02x}"));
        }
    }
    s
}

fn pct_decode(s: &str) -> std::result::Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = s
                .get(i + 1..i + 3)
                .ok_or_else(|| format!("bad percent escape in {s:?}"))?;
            out.push(
                u8::from_str_radix(h, 16)
                    .map_err(|_| format!("bad percent escape %{h} in {s:?}"))?,
            );
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(out)
}

impl std::fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if let Some(t) = &self.token {
            parts.push(format!("token={}", pct_encode(t.as_bytes(), false)));
        }
        if let Some(s) = &self.serial {
            parts.push(format!("serial={}", pct_encode(s.as_bytes(), false)));
        }
        if let Some(o) = &self.object {
            parts.push(format!("object={}", pct_encode(o.as_bytes(), false)));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", pct_encode(id, true)));
        }
        write!(f, "pkcs11:{}", parts.join(";"))
    }
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = Error;
    fn from_str(s: &str) -> Result<Pkcs11Uri> {
        // Only the path part is ever echoed: a query may carry `pin-value`, which is never
        // read, printed or stored.
        let shown = s.split('?').next().unwrap_or("");
        let bad = |why: String| {
            Error::bad_input(format!("{shown:?} is not a PKCS#11 key URI: {why}"))
                .hint("write it as pkcs11:token=LABEL;object=KEYLABEL;id=%01%02 (`rootcellar device list` shows the keys)")
        };
        let rest = s
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad("it does not start with pkcs11:".into()))?;
        let path = rest.split('?').next().unwrap_or("");
        let mut uri = Pkcs11Uri::default();
        for attr in path.split(';').filter(|a| !a.is_empty()) {
            let (k, v) = attr
                .split_once('=')
                .ok_or_else(|| bad(format!("{attr:?} has no '='")))?;
            let raw = pct_decode(v).map_err(bad)?;
            let text =
                || String::from_utf8(raw.clone()).map_err(|_| bad(format!("{k} is not UTF-8")));
            match k {
                "token" => uri.token = Some(text()?),
                "serial" => uri.serial = Some(text()?),
                "object" => uri.object = Some(text()?),
                "id" => uri.id = Some(raw),
                "type"
                | "manufacturer"
                | "model"
                | "library-description"
                | "library-manufacturer"
                | "library-version"
                | "slot-description"
                | "slot-id"
                | "slot-manufacturer" => {}
                other => return Err(bad(format!("unknown attribute {other:?}"))),
            }
        }
        if uri.token.is_none() && uri.serial.is_none() {
            return Err(bad("it names no token (token= or serial=)".into()));
        }
        if uri.id.is_none() && uri.object.is_none() {
            return Err(bad("it names no key (id= or object=)".into()));
        }
        Ok(uri)
    }
}

/// PIN state of a token, from its flags.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinFlags {
    pub count_low: bool,
    pub final_try: bool,
    pub locked: bool,
    /// The token takes the PIN itself (PIN pad, PED): rootcellar asks for nothing.
    pub protected_path: bool,
}

impl PinFlags {
    pub fn words(&self) -> String {
        let mut w = Vec::new();
        if self.locked {
            w.push("PIN locked");
        } else if self.final_try {
            w.push("one PIN try left");
        } else if self.count_low {
            w.push("a wrong PIN was entered before (retry count low)");
        } else {
            w.push("PIN ok");
        }
        if self.protected_path {
            w.push("PIN entered on the device");
        }
        w.join(", ")
    }
}

/// Decides, before any PIN is asked, whether to ask: refuses a locked token, and a token on its
/// final try unless `force`. Returns a notice to show when the count is low.
pub fn pin_gate(flags: &PinFlags, force: bool, token: &str) -> Result<Option<String>> {
    if flags.locked {
        return Err(Error::refused(format!("the PIN of token {token} is locked"))
            .hint("unlock it with the security officer PIN or PUK using the vendor's tool; rootcellar does not try PINs on a locked token"));
    }
    if flags.final_try && !force {
        return Err(Error::refused(format!(
            "token {token} has one PIN try left: a wrong PIN now locks it"
        ))
        .hint("make sure of the PIN, then run the command again with --force"));
    }
    if flags.final_try {
        return Ok(Some(format!(
            "token {token}: final PIN try (--force given)"
        )));
    }
    if flags.count_low {
        return Ok(Some(format!(
            "token {token}: a wrong PIN was entered before; its retry count is low"
        )));
    }
    Ok(None)
}

/// A token as `device list` shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TokenInfo {
    #[serde(skip)]
    pub slot: Option<Slot>,
    pub label: String,
    pub serial: String,
    pub manufacturer: String,
    pub model: String,
    pub pin: PinFlags,
    pub pin_state: String,
}

fn token_info(ctx: &Pkcs11, slot: Slot) -> Result<TokenInfo> {
    let t = ctx
        .get_token_info(slot)
        .map_err(|e| Error::environment(format!("cannot read a token: {e}")))?;
    let pin = PinFlags {
        count_low: t.user_pin_count_low(),
        final_try: t.user_pin_final_try(),
        locked: t.user_pin_locked(),
        protected_path: t.protected_authentication_path(),
    };
    Ok(TokenInfo {
        slot: Some(slot),
        label: t.label().trim().to_string(),
        serial: t.serial_number().trim().to_string(),
        manufacturer: t.manufacturer_id().trim().to_string(),
        model: t.model().trim().to_string(),
        pin_state: pin.words(),
        pin,
    })
}

/// All initialised tokens of a module.
pub fn tokens(ctx: &Pkcs11) -> Result<Vec<TokenInfo>> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| Error::environment(format!("cannot list the module's tokens: {e}")))?;
    slots.into_iter().map(|s| token_info(ctx, s)).collect()
}

/// The token with `label` (and `serial`, when given).
pub fn find_token(ctx: &Pkcs11, label: Option<&str>, serial: Option<&str>) -> Result<TokenInfo> {
    let hits = matching_tokens(ctx, label, serial)?;
    match hits.as_slice() {
        [one] => Ok(one.clone()),
        many => Err(Error::bad_input(format!(
            "{} tokens match {}",
            many.len(),
            wanted(label, serial)
        ))
        .hint("name the token with --token LABEL")),
    }
}

fn wanted(label: Option<&str>, serial: Option<&str>) -> String {
    match (label, serial) {
        (Some(l), Some(s)) => format!("label {l:?} and serial {s}"),
        (Some(l), None) => format!("label {l:?}"),
        (None, Some(s)) => format!("serial {s}"),
        (None, None) => "any label".into(),
    }
}

/// Every present token with `label` (and `serial`, when given); at least one.
pub fn matching_tokens(
    ctx: &Pkcs11,
    label: Option<&str>,
    serial: Option<&str>,
) -> Result<Vec<TokenInfo>> {
    let all = tokens(ctx)?;
    let hits: Vec<TokenInfo> = all
        .iter()
        .filter(|t| label.is_none_or(|l| t.label == l) && serial.is_none_or(|s| t.serial == s))
        .cloned()
        .collect();
    if hits.is_empty() {
        return Err(Error::environment(format!(
            "no token with {} is present{}",
            wanted(label, serial),
            if all.is_empty() {
                String::new()
            } else {
                format!(
                    " (present: {})",
                    all.iter()
                        .map(|t| format!("{:?} serial {}", t.label, t.serial))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ))
        .hint(
            "plug in the device, or pick the token with --token LABEL (`rootcellar device list`)",
        ));
    }
    Ok(hits)
}

/// Initialises the module's free slot as a new token `label` with `so_pin` and user `pin`
/// (SoftHSM2 always offers one free slot). Used by the demo on its private SoftHSM2 store.
pub fn init_free_token(
    ctx: &Pkcs11,
    label: &str,
    so_pin: &SecretString,
    pin: &SecretString,
) -> Result<()> {
    let fail = |what: &str, e: CkError| {
        Error::environment(format!("cannot {what} for token {label:?}: {e}"))
    };
    let slots = ctx.get_all_slots().map_err(|e| fail("list slots", e))?;
    let free = slots
        .into_iter()
        .find(|s| {
            ctx.get_token_info(*s)
                .map(|t| !t.token_initialized())
                .unwrap_or(false)
        })
        .ok_or_else(|| {
            Error::environment("the PKCS#11 module offers no free slot for a new token")
        })?;
    ctx.init_token(free, so_pin, label)
        .map_err(|e| fail("initialise the token", e))?;
    // Slot ids can change once a token is initialised: find it again by label.
    let token = find_token(ctx, Some(label), None)?;
    let slot = token
        .slot
        .ok_or_else(|| Error::environment("token has no slot"))?;
    let session = ctx
        .open_rw_session(slot)
        .map_err(|e| fail("open a session", e))?;
    session
        .login(UserType::So, Some(so_pin))
        .map_err(|e| fail("log in as security officer", e))?;
    session
        .init_pin(pin)
        .map_err(|e| fail("set the user PIN", e))?;
    session.logout().map_err(|e| fail("log out", e))?;
    Ok(())
}

/// What the token says about a private key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttributes {
    pub sensitive: bool,
    pub extractable: bool,
    pub never_extractable: bool,
    pub local: bool,
    pub always_authenticate: bool,
}

impl KeyAttributes {
    /// Why this key should not be a root key, if it should not.
    pub fn root_objection(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.extractable {
            why.push("the token says it is extractable");
        }
        if !self.never_extractable {
            why.push("the token does not say it was never extractable");
        }
        if !self.local {
            why.push("the token does not say it was generated on the token");
        }
        if !self.sensitive {
            why.push("it is not sensitive");
        }
        if why.is_empty() {
            None
        } else {
            Some(why.join("; "))
        }
    }
}

fn bool_attr(attrs: &[Attribute], t: AttributeType) -> bool {
    attrs.iter().any(|a| match (a, t) {
        (Attribute::Sensitive(v), AttributeType::Sensitive)
        | (Attribute::Extractable(v), AttributeType::Extractable)
        | (Attribute::NeverExtractable(v), AttributeType::NeverExtractable)
        | (Attribute::Local(v), AttributeType::Local)
        | (Attribute::AlwaysAuthenticate(v), AttributeType::AlwaysAuthenticate) => *v,
        _ => false,
    })
}

fn read_key_attributes(session: &Session, key: ObjectHandle, token: &str) -> Result<KeyAttributes> {
    let types = [
        AttributeType::Sensitive,
        AttributeType::Extractable,
        AttributeType::NeverExtractable,
        AttributeType::Local,
        AttributeType::AlwaysAuthenticate,
    ];
    let attrs = session
        .get_attributes(key, &types)
        .map_err(ck("read key attributes", token))?;
    Ok(KeyAttributes {
        sensitive: bool_attr(&attrs, AttributeType::Sensitive),
        extractable: bool_attr(&attrs, AttributeType::Extractable),
        never_extractable: bool_attr(&attrs, AttributeType::NeverExtractable),
        local: bool_attr(&attrs, AttributeType::Local),
        always_authenticate: bool_attr(&attrs, AttributeType::AlwaysAuthenticate),
    })
}

/// Whether the value of a private key's CKA_VALUE can be read (it must not).
pub fn value_is_readable(session: &Session, key: ObjectHandle) -> Result<bool> {
    let info = session
        .get_attribute_info(key, &[AttributeType::Value])
        .map_err(|e| Error::environment(e.to_string()))?;
    let readable_info = matches!(info.first(), Some(AttributeInfo::Available(_)));
    let got = session
        .get_attributes(key, &[AttributeType::Value])
        .unwrap_or_default();
    Ok(readable_info
        || got
            .iter()
            .any(|a| matches!(a, Attribute::Value(v) if !v.is_empty())))
}

fn ec_point_to_key(alg: Algorithm, point: &[u8]) -> Result<PublicKey> {
    let bad = || {
        Error::environment(format!(
            "the token returned a {}-byte CKA_EC_POINT that is not a {} key",
            point.len(),
            alg.name()
        ))
    };
    match alg {
        Algorithm::EcdsaP256 => {
            let raw = match point {
                [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
                p if p.len() == 65 => p,
                _ => return Err(bad()),
            };
            p256::ecdsa::VerifyingKey::from_sec1_bytes(raw)
                .map(PublicKey::EcdsaP256)
                .map_err(|_| bad())
        }
        Algorithm::EcdsaP384 => {
            let raw = match point {
                [0x04, 0x61, rest @ ..] if rest.len() == 97 => rest,
                p if p.len() == 97 => p,
                _ => return Err(bad()),
            };
            p384::ecdsa::VerifyingKey::from_sec1_bytes(raw)
                .map(PublicKey::EcdsaP384)
                .map_err(|_| bad())
        }
        Algorithm::Ed25519 => {
            let raw = match point {
                [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
                p if p.len() == 32 => p,
                _ => return Err(bad()),
            };
            let arr: [u8; 32] = raw.try_into().map_err(|_| bad())?;
            ed25519_dalek::VerifyingKey::from_bytes(&arr)
                .map(PublicKey::Ed25519)
                .map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

/// The algorithm of a key object from its CKA_KEY_TYPE and, for EC keys, CKA_EC_PARAMS.
fn key_type_alg(kt: KeyType, ec_params: Option<&[u8]>) -> Option<Algorithm> {
    if kt == KeyType::EC {
        match ec_params {
            Some(p) if p == P384_PARAMS => Some(Algorithm::EcdsaP384),
            Some(p) if p == P256_PARAMS => Some(Algorithm::EcdsaP256),
            _ => None,
        }
    } else if kt == KeyType::EC_EDWARDS {
        Some(Algorithm::Ed25519)
    } else if kt == KeyType::RSA {
        Some(Algorithm::Rsa)
    } else {
        None
    }
}

/// An RSA public key from CKA_MODULUS and CKA_PUBLIC_EXPONENT, with the default scheme (the
/// record names the one it signs with).
fn rsa_public(modulus: &[u8], exponent: &[u8]) -> Result<PublicKey> {
    let bad = |e: String| {
        Error::environment(format!(
            "the token returned an unusable RSA public key: {e}"
        ))
    };
    let n = rsa::BoxedUint::from_be_slice_vartime(modulus);
    let e = rsa::BoxedUint::from_be_slice_vartime(exponent);
    let key = rsa::RsaPublicKey::new(n, e).map_err(|e| bad(e.to_string()))?;
    PublicKey::from_rsa(key, crate::tuf::key::RsaScheme::DEFAULT).map_err(|e| bad(e.to_string()))
}

/// A key object on a token as `device list` shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TokenKey {
    pub label: String,
    pub id: String,
    pub algorithm: Option<String>,
    pub uri: String,
}

/// An open session on a token.
pub struct TokenSession {
    pub token: TokenInfo,
    pub session: Session,
    ctx: Pkcs11,
    logged_in: bool,
}

impl TokenSession {
    pub fn open(ctx: &Pkcs11, token: TokenInfo, rw: bool) -> Result<TokenSession> {
        let slot = token
            .slot
            .ok_or_else(|| Error::environment("token has no slot"))?;
        let s = if rw {
            ctx.open_rw_session(slot)
        } else {
            ctx.open_ro_session(slot)
        };
        let session = s.map_err(ck("open a session", &token.label))?;
        Ok(TokenSession {
            token,
            session,
            ctx: ctx.clone(),
            logged_in: false,
        })
    }

    pub fn name(&self) -> String {
        format!("{:?} (serial {})", self.token.label, self.token.serial)
    }

    /// Logs in as `user` with `pin` once. A wrong PIN is reported with the token's new PIN state
    /// and never retried.
    pub fn login(&mut self, user: UserType, pin: Option<&SecretString>) -> Result<()> {
        if self.logged_in {
            return Ok(());
        }
        let name = self.name();
        match self.session.login(user, pin) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {
                self.logged_in = true;
                Ok(())
            }
            Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
                let now = self
                    .session
                    .get_session_info()
                    .ok()
                    .and_then(|i| token_info(&self.session_ctx(), i.slot_id()).ok())
                    .map(|t| t.pin.words())
                    .unwrap_or_else(|| "unknown".into());
                Err(Error::bad_input(format!(
                    "wrong PIN for token {name} (the token now reports: {now})"
                ))
                .hint(
                    "check the PIN before trying again; rootcellar never retries a PIN by itself",
                ))
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                Err(Error::refused(format!("the PIN of token {name} is locked"))
                    .hint("unlock it with the security officer PIN or PUK using the vendor's tool"))
            }
            Err(CkError::Pkcs11(RvError::PinLenRange | RvError::PinInvalid, _)) => {
                Err(Error::bad_input(format!(
                    "that PIN has the wrong length or form for token {name}"
                ))
                .hint("check the PIN; the token did not count this as a try"))
            }
            Err(e) => Err(ck("log in", &name)(e)),
        }
    }

    fn session_ctx(&self) -> Pkcs11 {
        self.ctx.clone()
    }

    /// Private-key and public-key handles of the key `uri` names.
    fn find_pair(&self, uri: &Pkcs11Uri) -> Result<(Option<ObjectHandle>, Option<ObjectHandle>)> {
        let mut base = Vec::new();
        if let Some(id) = &uri.id {
            base.push(Attribute::Id(id.clone()));
        }
        if let Some(o) = &uri.object
            && uri.id.is_none()
        {
            base.push(Attribute::Label(o.as_bytes().to_vec()));
        }
        let find = |class: ObjectClass| -> Result<Option<ObjectHandle>> {
            let mut t = base.clone();
            t.push(Attribute::Class(class));
            let found = self
                .session
                .find_objects(&t)
                .map_err(ck("search for keys", &self.token.label))?;
            match found.as_slice() {
                [] => Ok(None),
                [one] => Ok(Some(*one)),
                _ => Err(Error::bad_input(format!(
                    "{uri} matches several objects on token {}",
                    self.name()
                ))
                .hint("name the key by its id= in the URI")),
            }
        };
        Ok((
            find(ObjectClass::PRIVATE_KEY)?,
            find(ObjectClass::PUBLIC_KEY)?,
        ))
    }

    /// Reads the public key (and, when logged in, the private key's attributes) of `uri`.
    /// The key a `key-generated` transcript line names (`detail`: its `token` URI and `keyid`),
    /// when this token holds it under that URI with that key ID: its public key (with RSA
    /// `scheme`), the private key's attributes as the token gives them, and the URI.
    pub fn generated_key(
        &self,
        detail: &serde_json::Value,
        scheme: crate::tuf::key::RsaScheme,
    ) -> Option<(PublicKey, KeyAttributes, String)> {
        let reference = detail.get("token")?.as_str()?;
        let keyid = detail.get("keyid")?.as_str()?;
        let uri: Pkcs11Uri = reference.parse().ok()?;
        if uri
            .serial
            .as_deref()
            .is_some_and(|s| s != self.token.serial)
        {
            return None;
        }
        let (pk, attrs, _) = self.read_key(&uri).ok()?;
        let pk = pk.with_rsa_scheme(scheme).unwrap_or(pk);
        let attrs = attrs?;
        (pk.to_tuf_key().keyid() == keyid).then(|| (pk, attrs, reference.to_string()))
    }

    pub fn read_key(
        &self,
        uri: &Pkcs11Uri,
    ) -> Result<(PublicKey, Option<KeyAttributes>, ObjectHandle)> {
        let (private, public) = self.find_pair(uri)?;
        let missing = || {
            Error::refused(format!("token {} holds no key {uri}", self.name()))
                .hint("the key was deleted or the device is another one; `rootcellar device list` shows the keys present")
        };
        let any = public.or(private).ok_or_else(missing)?;
        let pk = self.public_of(any, uri)?;
        let priv_attrs = match private {
            Some(p) => Some(read_key_attributes(&self.session, p, &self.token.label)?),
            None if self.logged_in => return Err(missing()),
            None => None,
        };
        Ok((pk, priv_attrs, private.unwrap_or(any)))
    }

    /// The public key of the key object `h` (a public or private key object).
    fn public_of(&self, h: ObjectHandle, uri: &Pkcs11Uri) -> Result<PublicKey> {
        let label = &self.token.label;
        let kt = self
            .session
            .get_attributes(h, &[AttributeType::KeyType])
            .map_err(ck("read the public key", label))?
            .into_iter()
            .find_map(|a| match a {
                Attribute::KeyType(k) => Some(k),
                _ => None,
            });
        let unknown = || {
            Error::bad_input(format!(
                "key {uri} on token {} is not a P-256, P-384, Ed25519 or RSA key",
                self.name()
            ))
        };
        if kt == Some(KeyType::RSA) {
            let mut n = None;
            let mut e = None;
            for a in self
                .session
                .get_attributes(h, &[AttributeType::Modulus, AttributeType::PublicExponent])
                .map_err(ck("read the public key", label))?
            {
                match a {
                    Attribute::Modulus(m) => n = Some(m),
                    Attribute::PublicExponent(x) => e = Some(x),
                    _ => {}
                }
            }
            return match (n, e) {
                (Some(n), Some(e)) => rsa_public(&n, &e),
                _ => Err(Error::environment(format!(
                    "token {} gives no modulus and exponent for {uri}",
                    self.name()
                ))),
            };
        }
        let mut point = None;
        let mut params = None;
        for a in self
            .session
            .get_attributes(h, &[AttributeType::EcPoint, AttributeType::EcParams])
            .map_err(ck("read the public key", label))?
        {
            match a {
                Attribute::EcPoint(p) => point = Some(p),
                Attribute::EcParams(p) => params = Some(p),
                _ => {}
            }
        }
        let alg = kt
            .and_then(|k| key_type_alg(k, params.as_deref()))
            .ok_or_else(unknown)?;
        let point = point.ok_or_else(|| {
            Error::environment(format!(
                "token {} gives no CKA_EC_POINT for {uri}",
                self.name()
            ))
        })?;
        ec_point_to_key(alg, &point)
    }

    /// Public keys on the token (private objects are seen only after login).
    pub fn list_keys(&self) -> Result<Vec<TokenKey>> {
        let handles = self
            .session
            .find_objects(&[Attribute::Class(ObjectClass::PUBLIC_KEY)])
            .map_err(ck("list keys", &self.token.label))?;
        let mut out = Vec::new();
        for h in handles {
            let attrs = self
                .session
                .get_attributes(
                    h,
                    &[
                        AttributeType::Label,
                        AttributeType::Id,
                        AttributeType::KeyType,
                        AttributeType::EcParams,
                    ],
                )
                .map_err(ck("read a key", &self.token.label))?;
            let mut label = String::new();
            let mut id = Vec::new();
            let mut kt = None;
            let mut params = None;
            for a in attrs {
                match a {
                    Attribute::Label(l) => label = String::from_utf8_lossy(&l).to_string(),
                    Attribute::Id(i) => id = i,
                    Attribute::KeyType(k) => kt = Some(k),
                    Attribute::EcParams(p) => params = Some(p),
                    _ => {}
                }
            }
            let alg = kt
                .and_then(|k| key_type_alg(k, params.as_deref()))
                .map(|a| a.name().to_string());
            let uri = Pkcs11Uri {
                token: Some(self.token.label.clone()),
                serial: Some(self.token.serial.clone()),
                object: (!label.is_empty()).then(|| label.clone()),
                id: Some(id.clone()),
            };
            out.push(TokenKey {
                label,
                id: hex::encode(&id),
                algorithm: alg,
                uri: uri.to_string(),
            });
        }
        out.sort_by(|a, b| a.label.cmp(&b.label));
        Ok(out)
    }

    /// Generates a key pair on the token. The caller has logged in.
    pub fn generate(
        &self,
        profile: &Profile,
        alg: Algorithm,
        scheme: crate::tuf::key::RsaScheme,
        label: &str,
    ) -> Result<(PublicKey, KeyAttributes, Pkcs11Uri)> {
        let name = self.name();
        if !profile.supports(alg) {
            return Err(Error::bad_input(format!(
                "profile {} does not list {} keys",
                profile.name,
                alg.name()
            ))
            .hint("choose another --algorithm"));
        }
        let (gen_mech, sign_mech) = match alg {
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => (Mechanism::EccKeyPairGen, "CKM_ECDSA"),
            Algorithm::Ed25519 => (Mechanism::EccEdwardsKeyPairGen, "CKM_EDDSA"),
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 | Algorithm::Rsa => {
                if scheme.pss {
                    (Mechanism::RsaPkcsKeyPairGen, "CKM_RSA_PKCS_PSS")
                } else {
                    (Mechanism::RsaPkcsKeyPairGen, "CKM_RSA_PKCS")
                }
            }
        };
        let ctx = self.session_ctx();
        let slot = self
            .token
            .slot
            .ok_or_else(|| Error::environment("token has no slot"))?;
        let mechs = ctx
            .get_mechanism_list(slot)
            .map_err(ck("list mechanisms", &self.token.label))?;
        let want_sign = match alg {
            Algorithm::EcdsaP256 | Algorithm::EcdsaP384 => {
                cryptoki::mechanism::MechanismType::ECDSA
            }
            Algorithm::Ed25519 => cryptoki::mechanism::MechanismType::EDDSA,
            _ if scheme.pss => cryptoki::mechanism::MechanismType::RSA_PKCS_PSS,
            _ => cryptoki::mechanism::MechanismType::RSA_PKCS,
        };
        if !mechs.contains(&gen_mech.mechanism_type()) || !mechs.contains(&want_sign) {
            return Err(Error::environment(format!(
                "token {name} does not offer {} key generation and {sign_mech}",
                alg.name()
            ))
            .hint("choose another --algorithm or another device"));
        }
        // Refuse a second key with the same label or id.
        let id: Vec<u8> = {
            let mut id = vec![0u8; 16];
            getrandom::fill(&mut id)
                .map_err(|e| Error::environment(format!("no randomness: {e}")))?;
            id
        };
        if profile.template.label {
            let same = self
                .session
                .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
                .map_err(ck("search for keys", &self.token.label))?;
            if !same.is_empty() {
                let uri = Pkcs11Uri {
                    token: Some(self.token.label.clone()),
                    serial: Some(self.token.serial.clone()),
                    object: Some(label.to_string()),
                    id: None,
                };
                return Err(Error::refused(format!("token {name} already holds an object labelled {label:?} (a key of another workspace, or one an interrupted `key generate` made before it wrote anything)"))
                    .hint(format!("choose another --name, or register that key: rootcellar key add --backend pkcs11 --profile {} --uri '{uri}' --name {label}", profile.name)));
            }
        }
        let same_id = self
            .session
            .find_objects(&[Attribute::Id(id.clone())])
            .map_err(ck("search for keys", &self.token.label))?;
        if !same_id.is_empty() {
            return Err(Error::refused(format!(
                "token {name} already holds an object with that id"
            ))
            .hint("run the command again"));
        }
        // EC keys: the curve's parameters; RSA keys: the modulus size and exponent 65537.
        let attempt = |params: &[u8]| {
            let mut public = vec![
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::Verify(true),
                Attribute::Id(id.clone()),
            ];
            match alg.rsa_bits() {
                Some(bits) => {
                    public.push(Attribute::ModulusBits((bits as u64).into()));
                    public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
                }
                None => public.push(Attribute::EcParams(params.to_vec())),
            }
            let mut private = vec![
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Sign(true),
                Attribute::Id(id.clone()),
            ];
            if profile.template.label {
                public.push(Attribute::Label(label.as_bytes().to_vec()));
                private.push(Attribute::Label(label.as_bytes().to_vec()));
            }
            if profile.template.extractable {
                private.push(Attribute::Extractable(false));
            }
            self.session.generate_key_pair(&gen_mech, &public, &private)
        };
        let generated = match alg {
            Algorithm::EcdsaP256 => attempt(&P256_PARAMS),
            Algorithm::EcdsaP384 => attempt(&P384_PARAMS),
            Algorithm::Rsa2048 | Algorithm::Rsa3072 | Algorithm::Rsa4096 | Algorithm::Rsa => {
                attempt(&[])
            }
            Algorithm::Ed25519 => match attempt(&ED25519_OID) {
                Err(CkError::Pkcs11(
                    RvError::CurveNotSupported
                    | RvError::AttributeValueInvalid
                    | RvError::DomainParamsInvalid,
                    _,
                )) => attempt(&ED25519_NAME),
                other => other,
            },
        };
        let (_pub_h, priv_h) = generated.map_err(ck(
            &format!("generate a {} key", alg.name()),
            &self.token.label,
        ))?;
        let uri = Pkcs11Uri {
            token: Some(self.token.label.clone()),
            serial: Some(self.token.serial.clone()),
            object: profile.template.label.then(|| label.to_string()),
            id: Some(id),
        };
        let (pk, attrs, _) = self.read_key(&uri)?;
        let pk = pk.with_rsa_scheme(scheme).unwrap_or(pk);
        let attrs = attrs.unwrap_or(read_key_attributes(
            &self.session,
            priv_h,
            &self.token.label,
        )?);
        Ok((pk, attrs, uri))
    }

    /// Deletes the key pair `uri` names. The caller has logged in.
    pub fn destroy(&self, uri: &Pkcs11Uri) -> Result<()> {
        let (private, public) = self.find_pair(uri)?;
        if private.is_none() && public.is_none() {
            return Err(
                Error::refused(format!("token {} holds no key {uri}", self.name()))
                    .hint("it may have been deleted already"),
            );
        }
        for h in [private, public].into_iter().flatten() {
            self.session
                .destroy_object(h)
                .map_err(ck("delete the key", &self.token.label))?;
        }
        Ok(())
    }
}

/// A key on a token, ready to sign.
pub struct Pkcs11Signer {
    ts: TokenSession,
    key: ObjectHandle,
    public: PublicKey,
    always_authenticate: bool,
    pin: Option<SecretString>,
}

impl Pkcs11Signer {
    pub fn new(
        ts: TokenSession,
        key: ObjectHandle,
        public: PublicKey,
        attrs: KeyAttributes,
        pin: Option<SecretString>,
    ) -> Pkcs11Signer {
        Pkcs11Signer {
            ts,
            key,
            public,
            always_authenticate: attrs.always_authenticate,
            pin,
        }
    }
}

impl Signer for Pkcs11Signer {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let token = self.ts.token.label.clone();
        let (mech, data): (Mechanism, Vec<u8>) = match &self.public {
            PublicKey::EcdsaP256(_) => (Mechanism::Ecdsa, Sha256::digest(message).to_vec()),
            PublicKey::EcdsaP384(_) => (Mechanism::Ecdsa, sha2::Sha384::digest(message).to_vec()),
            PublicKey::Ed25519(_) => (
                Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                message.to_vec(),
            ),
            // The hash is made here; the token pads (PKCS#1 v1.5 over the DigestInfo, or PSS
            // with a salt as long as the digest) and signs.
            PublicKey::Rsa(k) if k.scheme.pss => {
                use crate::tuf::key::Sha2;
                use cryptoki::mechanism::MechanismType;
                use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsPssParams};
                let (hash_alg, mgf) = match k.scheme.hash {
                    Sha2::Sha224 => (MechanismType::SHA224, PkcsMgfType::MGF1_SHA224),
                    Sha2::Sha256 => (MechanismType::SHA256, PkcsMgfType::MGF1_SHA256),
                    Sha2::Sha384 => (MechanismType::SHA384, PkcsMgfType::MGF1_SHA384),
                    Sha2::Sha512 => (MechanismType::SHA512, PkcsMgfType::MGF1_SHA512),
                };
                let digest = super::emsa::hash(k.scheme.hash, message);
                let params = PkcsPssParams {
                    hash_alg,
                    mgf,
                    s_len: (digest.len() as u64).into(),
                };
                (Mechanism::RsaPkcsPss(params), digest)
            }
            PublicKey::Rsa(k) => (
                Mechanism::RsaPkcs,
                super::emsa::digest_info(k.scheme.hash, message),
            ),
        };
        let s = &self.ts.session;
        let raw = if self.always_authenticate {
            s.sign_init(&mech, self.key)
                .map_err(ck("start signing", &token))?;
            s.login(UserType::ContextSpecific, self.pin.as_ref())
                .map_err(ck("confirm the PIN for this signature", &token))?;
            s.sign_update(&data).map_err(ck("sign", &token))?;
            s.sign_final().map_err(ck("sign", &token))?
        } else {
            s.sign(&mech, self.key, &data).map_err(ck("sign", &token))?
        };
        match self.public {
            PublicKey::EcdsaP256(_) | PublicKey::EcdsaP384(_) => {
                ecdsa_raw_to_der(&raw).map_err(|e| {
                    Error::environment(format!(
                        "token {token} returned an unusable ECDSA signature: {e}"
                    ))
                })
            }
            PublicKey::Ed25519(_) | PublicKey::Rsa(_) => Ok(raw),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_round_trips() {
        let u = Pkcs11Uri {
            token: Some("my token".into()),
            serial: Some("8bf1".into()),
            object: Some("root-1".into()),
            id: Some(vec![1, 0xab]),
        };
        let s = u.to_string();
        assert_eq!(
            s,
            "pkcs11:token=my%20token;serial=8bf1;object=root-1;id=%01%ab"
        );
        assert_eq!(s.parse::<Pkcs11Uri>().unwrap(), u);
        assert!(
            "pkcs11:object=x"
                .parse::<Pkcs11Uri>()
                .unwrap_err()
                .message
                .contains("names no token")
        );
        assert!(
            "pkcs11:token=t"
                .parse::<Pkcs11Uri>()
                .unwrap_err()
                .message
                .contains("names no key")
        );
        assert!("pkcs11:token=t;id=%zz".parse::<Pkcs11Uri>().is_err());
        assert!("yubikey:serial=1".parse::<Pkcs11Uri>().is_err());
        assert!(
            "pkcs11:token=t;object=a;type=private"
                .parse::<Pkcs11Uri>()
                .is_ok()
        );
    }

    #[test]
    fn pin_gate_refuses_locked_and_final_try_unless_forced() {
        let ok = PinFlags::default();
        assert_eq!(pin_gate(&ok, false, "t").unwrap(), None);
        let low = PinFlags {
            count_low: true,
            ..ok
        };
        assert!(
            pin_gate(&low, false, "t")
                .unwrap()
                .unwrap()
                .contains("retry count is low")
        );
        let last = PinFlags {
            final_try: true,
            count_low: true,
            ..ok
        };
        let e = pin_gate(&last, false, "t").unwrap_err();
        assert!(e.message.contains("one PIN try left") && e.hint.unwrap().contains("--force"));
        assert!(
            pin_gate(&last, true, "t")
                .unwrap()
                .unwrap()
                .contains("final PIN try")
        );
        let locked = PinFlags { locked: true, ..ok };
        assert!(
            pin_gate(&locked, true, "t")
                .unwrap_err()
                .message
                .contains("locked")
        );
    }

    #[test]
    fn ec_points_are_unwrapped_by_length() {
        let sk = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
        let raw = sk.verifying_key().to_sec1_bytes().to_vec();
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend_from_slice(&raw);
        assert_eq!(
            ec_point_to_key(Algorithm::EcdsaP256, &wrapped).unwrap(),
            PublicKey::EcdsaP256(*sk.verifying_key())
        );
        assert_eq!(
            ec_point_to_key(Algorithm::EcdsaP256, &raw).unwrap(),
            PublicKey::EcdsaP256(*sk.verifying_key())
        );
        assert!(ec_point_to_key(Algorithm::EcdsaP256, &raw[..40]).is_err());
        let ed = ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]).verifying_key();
        let mut w = vec![0x04, 0x20];
        w.extend_from_slice(ed.as_bytes());
        assert_eq!(
            ec_point_to_key(Algorithm::Ed25519, &w).unwrap(),
            PublicKey::Ed25519(ed)
        );
        assert!(ec_point_to_key(Algorithm::Ed25519, &[0u8; 31]).is_err());
    }

    #[test]
    fn root_objections() {
        let good = KeyAttributes {
            sensitive: true,
            extractable: false,
            never_extractable: true,
            local: true,
            always_authenticate: false,
        };
        assert_eq!(good.root_objection(), None);
        assert!(
            KeyAttributes {
                extractable: true,
                ..good
            }
            .root_objection()
            .unwrap()
            .contains("extractable")
        );
        assert!(
            KeyAttributes {
                local: false,
                ..good
            }
            .root_objection()
            .unwrap()
            .contains("generated on the token")
        );
    }
}

//! Devices: `device list`, `hsm profiles`, `hsm check`.

use super::context::Context;
use crate::error::{Error, Result};
use crate::signer::pkcs11::{self, TokenInfo, TokenKey, TokenSession};
use crate::signer::profiles;
use serde::Serialize;

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TokenReport {
    #[serde(flatten)]
    pub token: TokenInfo,
    pub keys: Vec<TokenKey>,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ModuleReport {
    pub profile: String,
    pub module: String,
    pub tokens: Vec<TokenReport>,
}

/// Everything `device list` found.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DeviceList {
    pub pkcs11: Vec<ModuleReport>,
    pub yubikeys: Vec<crate::signer::yubikey::DeviceInfo>,
    /// Why no YubiKey could be looked for (pcscd not running, …).
    pub yubikey_note: Option<String>,
}

/// `rootcellar device list [--profile NAME]`: PKCS#11 tokens and connected YubiKeys. With a
/// profile, only that profile's tokens. Asks for no PIN.
pub fn list(ctx: &Context, profile: Option<&str>) -> Result<DeviceList> {
    let pkcs11 = list_pkcs11(ctx, profile)?;
    let (yubikeys, yubikey_note) = if profile.is_some() || ctx.unlock.module.is_some() {
        (Vec::new(), None)
    } else {
        match crate::signer::yubikey::list() {
            Ok(l) => (l, None),
            Err(e) => (Vec::new(), Some(e)),
        }
    };
    Ok(DeviceList {
        pkcs11,
        yubikeys,
        yubikey_note,
    })
}

fn list_pkcs11(ctx: &Context, profile: Option<&str>) -> Result<Vec<ModuleReport>> {
    let chosen: Vec<profiles::Profile> = match profile {
        Some(_) => vec![ctx.unlock.profile(profile)?],
        None if ctx.unlock.module.is_some() => vec![profiles::generic()],
        None => profiles::load_all()?.into_values().collect(),
    };
    let explicit = profile.is_some() || ctx.unlock.module.is_some();
    let mut out = Vec::new();
    for p in chosen {
        let module = match ctx.unlock.module_for(&p) {
            Ok(m) => m,
            Err(e) if explicit => return Err(e),
            Err(_) => continue,
        };
        // Several profiles can share one module (ykcs11 and OpenSC cards): list it once.
        if out
            .iter()
            .any(|r: &ModuleReport| r.module == module.display().to_string())
        {
            continue;
        }
        let read = || -> Result<Vec<TokenReport>> {
            let c = pkcs11::context(&module)?;
            let mut tokens = Vec::new();
            for t in pkcs11::tokens(&c)? {
                let ts = TokenSession::open(&c, t.clone(), false)?;
                let keys = ts.list_keys()?;
                tokens.push(TokenReport { token: t, keys });
            }
            Ok(tokens)
        };
        let tokens = match read() {
            Ok(t) => t,
            Err(e) if explicit => return Err(e),
            // Listing everything: a module that does not answer hides nothing else.
            Err(e) => {
                ctx.notice(format!("{} ({}): {}", p.name, module.display(), e.message));
                continue;
            }
        };
        out.push(ModuleReport {
            profile: p.name.clone(),
            module: module.display().to_string(),
            tokens,
        });
    }
    Ok(out)
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ProfileSummary {
    pub name: String,
    pub title: String,
    pub kind: String,
    pub algorithms: Vec<String>,
    /// The module found on this machine, if any.
    pub module: Option<String>,
    pub description: String,
}

/// `rootcellar hsm profiles`.
pub fn profiles_list() -> Result<Vec<ProfileSummary>> {
    Ok(profiles::load_all()?
        .into_values()
        .map(|p| ProfileSummary {
            name: p.name.clone(),
            title: p.title.clone(),
            kind: p.kind.clone(),
            algorithms: p
                .algorithms
                .iter()
                .filter(|(_, v)| **v)
                .map(|(k, _)| k.clone())
                .collect(),
            module: p.find_module().ok().map(|m| m.display().to_string()),
            description: p.description.clone(),
        })
        .collect())
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MechanismSupport {
    pub ecdsa_p256_generate: bool,
    pub ecdsa_sign: bool,
    pub ed25519_generate: bool,
    pub eddsa_sign: bool,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct TokenCheck {
    pub label: String,
    pub serial: String,
    pub pin_state: String,
    pub mechanisms: MechanismSupport,
}

#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct CheckReport {
    pub profile: String,
    pub module: String,
    pub library: String,
    pub tokens: Vec<TokenCheck>,
    pub problems: Vec<String>,
}

/// `rootcellar hsm check --profile NAME`: the library loads, its tokens, their mechanisms.
pub fn check(ctx: &Context, profile: Option<&str>) -> Result<CheckReport> {
    use cryptoki::mechanism::MechanismType as M;
    let p = ctx.unlock.profile(profile)?;
    let module = ctx.unlock.module_for(&p)?;
    let c = pkcs11::context(&module)?;
    let info = c.get_library_info().map_err(|e| {
        Error::environment(format!(
            "the module {} gives no library information: {e}",
            module.display()
        ))
    })?;
    let mut problems = Vec::new();
    let mut tokens = Vec::new();
    for t in pkcs11::tokens(&c)? {
        let slot = t
            .slot
            .ok_or_else(|| Error::environment("token without slot"))?;
        let mechs = c.get_mechanism_list(slot).unwrap_or_default();
        let m = MechanismSupport {
            ecdsa_p256_generate: mechs.contains(&M::ECC_KEY_PAIR_GEN),
            ecdsa_sign: mechs.contains(&M::ECDSA),
            ed25519_generate: mechs.contains(&M::ECC_EDWARDS_KEY_PAIR_GEN),
            eddsa_sign: mechs.contains(&M::EDDSA),
        };
        if p.supports(crate::tuf::Algorithm::Ed25519) && !(m.ed25519_generate && m.eddsa_sign) {
            problems.push(format!("token {:?}: the profile lists Ed25519 but the token lacks CKM_EC_EDWARDS_KEY_PAIR_GEN or CKM_EDDSA", t.label));
        }
        if !(m.ecdsa_p256_generate && m.ecdsa_sign) {
            problems.push(format!(
                "token {:?}: no CKM_EC_KEY_PAIR_GEN / CKM_ECDSA",
                t.label
            ));
        }
        tokens.push(TokenCheck {
            label: t.label,
            serial: t.serial,
            pin_state: t.pin_state,
            mechanisms: m,
        });
    }
    if tokens.is_empty() {
        problems.push(
            "the module shows no initialised token: plug the device in, or initialise a token"
                .into(),
        );
    }
    Ok(CheckReport {
        profile: p.name,
        module: module.display().to_string(),
        library: format!(
            "{} {} (cryptoki {}.{})",
            info.manufacturer_id().trim(),
            info.library_description().trim(),
            info.cryptoki_version().major(),
            info.cryptoki_version().minor()
        ),
        tokens,
        problems,
    })
}

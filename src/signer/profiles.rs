//! HSM profiles: what differs between PKCS#11 devices, as data (`hsm-profiles/*.toml`).
//!
//! Invariant: every profile in use was parsed and validated (known fields only, name = file
//! stem, known algorithms and schemes) before any module is loaded. The repository's profiles are
//! built in; `ROOTCELLAR_HSM_PROFILES` may name a folder of more.

use crate::error::{Error, Result};
use crate::tuf::Algorithm;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BUILT_IN: &[(&str, &str)] = &[
    ("softhsm2", include_str!("../../hsm-profiles/softhsm2.toml")),
    ("yubihsm2", include_str!("../../hsm-profiles/yubihsm2.toml")),
    (
        "nitrokey-hsm",
        include_str!("../../hsm-profiles/nitrokey-hsm.toml"),
    ),
    ("ykcs11", include_str!("../../hsm-profiles/ykcs11.toml")),
    ("luna", include_str!("../../hsm-profiles/luna.toml")),
    ("cloudhsm", include_str!("../../hsm-profiles/cloudhsm.toml")),
    ("kryoptic", include_str!("../../hsm-profiles/kryoptic.toml")),
];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub title: String,
    /// "software" (keys in files: trials only), "hardware", or "network" (an HSM reached over a network).
    pub kind: String,
    pub description: String,
    pub module: ModulePaths,
    pub algorithms: BTreeMap<String, bool>,
    pub template: Template,
    pub login: Login,
    #[serde(default)]
    pub notes: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModulePaths {
    #[serde(default)]
    pub linux: Vec<String>,
    #[serde(default)]
    pub macos: Vec<String>,
    #[serde(default)]
    pub windows: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Put CKA_EXTRACTABLE = false in the private-key template (ykcs11 rejects the attribute).
    pub extractable: bool,
    /// The token keeps CKA_LABEL (ykcs11 sets its own labels).
    pub label: bool,
    /// "random": a fresh CKA_ID; "piv-slot": CKA_ID picks a PIV slot.
    pub id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// Who logs in to generate keys: "user" (the PIN) or "so" (ykcs11: the management key).
    pub generate: String,
    /// Keys may carry CKA_ALWAYS_AUTHENTICATE (a context-specific login for each signature).
    pub always_authenticate: bool,
    /// Wrong PINs lock the token.
    pub pin_locks: bool,
    /// What the PIN looks like, shown when asking.
    pub pin_hint: String,
}

/// Name of the profile used with `--module PATH` and no `--profile`.
pub const GENERIC: &str = "generic";

/// Standard PKCS#11 behaviour, for a module given by path.
pub fn generic() -> Profile {
    Profile {
        name: GENERIC.into(),
        title: "Any PKCS#11 module (--module PATH)".into(),
        kind: "hardware".into(),
        description: "Standard PKCS#11 behaviour; the module path is given on every command."
            .into(),
        module: ModulePaths {
            linux: vec![],
            macos: vec![],
            windows: vec![],
        },
        algorithms: [
            ("ecdsa-p256".to_string(), true),
            ("ed25519".to_string(), true),
        ]
        .into_iter()
        .collect(),
        template: Template {
            extractable: true,
            label: true,
            id: "random".into(),
        },
        login: Login {
            generate: "user".into(),
            always_authenticate: false,
            pin_locks: true,
            pin_hint: "the token's user PIN".into(),
        },
        notes: String::new(),
    }
}

impl Profile {
    pub fn supports(&self, alg: Algorithm) -> bool {
        self.algorithms.get(alg.name()).copied().unwrap_or(false)
    }

    /// Module paths for this operating system.
    pub fn module_paths(&self) -> &[String] {
        if cfg!(target_os = "macos") {
            &self.module.macos
        } else if cfg!(windows) {
            &self.module.windows
        } else {
            &self.module.linux
        }
    }

    /// The first module path that exists here.
    pub fn find_module(&self) -> Result<PathBuf> {
        self.module_paths()
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .ok_or_else(|| {
                Error::environment(format!(
                    "the PKCS#11 module of profile {} was not found (looked in: {})",
                    self.name,
                    if self.module_paths().is_empty() { "no paths for this system".to_string() } else { self.module_paths().join(", ") }
                ))
                .hint("install the vendor's PKCS#11 library, or give its path with --module PATH (or ROOTCELLAR_PKCS11_MODULE)")
            })
    }

    fn validate(&self, stem: &str) -> std::result::Result<(), String> {
        if self.name != stem {
            return Err(format!(
                "name is {:?} but the file is {stem}.toml",
                self.name
            ));
        }
        if !matches!(self.kind.as_str(), "software" | "hardware" | "network") {
            return Err(format!(
                "kind {:?} is not software, hardware or network",
                self.kind
            ));
        }
        for alg in self.algorithms.keys() {
            alg.parse::<Algorithm>()
                .map_err(|_| format!("unknown algorithm {alg:?} (use ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096)"))?;
        }
        if !self.algorithms.values().any(|v| *v) {
            return Err("no algorithm is supported".into());
        }
        if !matches!(self.template.id.as_str(), "random" | "piv-slot") {
            return Err(format!(
                "template.id {:?} is not random or piv-slot",
                self.template.id
            ));
        }
        if !matches!(self.login.generate.as_str(), "user" | "so") {
            return Err(format!(
                "login.generate {:?} is not user or so",
                self.login.generate
            ));
        }
        Ok(())
    }
}

fn parse(stem: &str, text: &str, origin: &str) -> Result<Profile> {
    let bad = |why: String| {
        Error::bad_input(format!("HSM profile {origin} has an error: {why}"))
            .hint("fix the profile file (docs/hsm-profiles.md describes every field)")
    };
    let p: Profile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
    p.validate(stem).map_err(bad)?;
    Ok(p)
}

/// The built-in profiles and those in `extra_dir` (files `NAME.toml`), all validated.
pub fn load(extra_dir: Option<&Path>) -> Result<BTreeMap<String, Profile>> {
    let mut out = BTreeMap::new();
    for (stem, text) in BUILT_IN {
        out.insert(
            stem.to_string(),
            parse(stem, text, &format!("{stem} (built in)"))?,
        );
    }
    if let Some(dir) = extra_dir {
        let rd = std::fs::read_dir(dir).map_err(|e| Error::io("list", dir, &e))?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let text = String::from_utf8(crate::readpath::read(&f, crate::readpath::Kind::Small)?)
                .map_err(|_| Error::bad_input(format!("{} is not UTF-8 text", f.display())))?;
            let p = parse(&stem, &text, &f.display().to_string())?;
            if out.contains_key(&stem) {
                return Err(Error::bad_input(format!(
                    "HSM profile {stem} in {} has the name of a built-in profile",
                    f.display()
                ))
                .hint("give your profile another name"));
            }
            out.insert(stem, p);
        }
    }
    Ok(out)
}

/// Loads profiles from the built-in set and `ROOTCELLAR_HSM_PROFILES`.
pub fn load_all() -> Result<BTreeMap<String, Profile>> {
    let extra = std::env::var_os("ROOTCELLAR_HSM_PROFILES").map(PathBuf::from);
    load(extra.as_deref())
}

/// One profile by name.
pub fn get(name: &str) -> Result<Profile> {
    let all = load_all()?;
    all.get(name).cloned().ok_or_else(|| {
        Error::bad_input(format!("no HSM profile named {name:?}")).hint(format!(
            "known profiles: {} (`rootcellar hsm profiles`)",
            all.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_profiles_load() {
        let all = load(None).unwrap();
        assert_eq!(all.len(), BUILT_IN.len());
        assert!(all["softhsm2"].supports(Algorithm::Ed25519));
        assert!(!all["ykcs11"].template.extractable);
        assert_eq!(all["ykcs11"].template.id, "piv-slot");
    }

    #[test]
    fn broken_profiles_are_refused_with_the_file_named() {
        let d = tempfile::tempdir().unwrap();
        let good = BUILT_IN[0]
            .1
            .replace("name = \"softhsm2\"", "name = \"mine\"");
        std::fs::write(d.path().join("mine.toml"), &good).unwrap();
        assert!(load(Some(d.path())).unwrap().contains_key("mine"));
        for (bad, why) in [
            (
                good.replace("name = \"mine\"", "name = \"other\""),
                "but the file is mine.toml",
            ),
            (
                good.replace("ed25519 = true", "ed448 = true"),
                "unknown algorithm",
            ),
            (
                good.replace("id = \"random\"", "id = \"sequential\""),
                "template.id",
            ),
            (
                good.replace("kind = \"software\"", "kind = \"magic\""),
                "kind",
            ),
            (format!("{good}\nbogus = 1\n"), "unknown field"),
            ("name = ".to_string(), "mine.toml"),
        ] {
            std::fs::write(d.path().join("mine.toml"), &bad).unwrap();
            let e = load(Some(d.path())).unwrap_err();
            assert!(
                e.message.contains(why) && e.message.contains("mine.toml"),
                "{why}: {}",
                e.message
            );
        }
    }
}

//! `key`, `device`, `hsm` and `yubikey`: keys and the devices they live on.

use super::args::{
    AttestCommand, BackendArg, DeviceBackend, DeviceCommand, HsmCommand, KeyAttestationCommand,
    KeyCommand, KeyFormat, YubikeyCommand,
};
use super::{Output, out, output, verdict};
use crate::error::{Error, Result};
use crate::ops::{self, Context};

pub(super) fn key(c: &KeyCommand, ctx: &Context) -> Result<Output> {
    match c {
        KeyCommand::Generate {
            name,
            backend,
            algorithm,
            scheme,
            profile,
            token,
            yk,
        } => {
            if scheme.is_some() && algorithm.rsa_bits().is_none() {
                return Err(Error::bad_input("--scheme goes with an RSA --algorithm")
                    .hint("drop --scheme, or use --algorithm rsa-2048, rsa-3072 or rsa-4096"));
            }
            let scheme = scheme.unwrap_or(crate::tuf::key::RsaScheme::DEFAULT);
            let k = match backend {
                BackendArg::Yubikey => {
                    let t = ops::yubikey::YubiKeyTarget {
                        serial: yk.serial,
                        slot: yk.slot.clone(),
                        pin_policy: yk.pin_policy.clone(),
                        touch_policy: yk.touch_policy.clone(),
                        overwrite: yk.overwrite,
                    };
                    ops::yubikey::generate(ctx, name, *algorithm, scheme, &t)?
                }
                BackendArg::Pkcs11 => {
                    let target = ops::key::Pkcs11Target {
                        profile: profile.clone(),
                        token: token.clone(),
                    };
                    ops::key::generate_pkcs11(ctx, name, *algorithm, scheme, &target)?
                }
                BackendArg::Software => {
                    if profile.is_some() || token.is_some() {
                        return Err(Error::bad_input(
                            "--profile and --token go with --backend pkcs11",
                        )
                        .hint("add --backend pkcs11, or drop them"));
                    }
                    ops::key::generate_software(ctx, name, *algorithm, scheme)?
                }
            };
            out(&k, output::key_line(&k))
        }
        KeyCommand::Add {
            backend,
            uri,
            name,
            profile,
            serial,
            slot,
            scheme,
        } => {
            let scheme = scheme.unwrap_or(crate::tuf::key::RsaScheme::DEFAULT);
            let k = match backend {
                DeviceBackend::Yubikey => ops::yubikey::add(ctx, name, *serial, slot, scheme)?,
                DeviceBackend::Pkcs11 => {
                    let uri = uri.as_deref().ok_or_else(|| {
                        Error::bad_input("--backend pkcs11 needs --uri")
                            .hint("`rootcellar device list` shows the keys and their URIs")
                    })?;
                    ops::key::add_pkcs11(ctx, uri, name, profile.as_deref(), scheme)?
                }
            };
            out(&k, output::key_line(&k))
        }
        KeyCommand::Attest { key } => {
            let r = ops::yubikey::attest_key(ctx, key)?;
            verdict(&r, output::attest(&r), r.verdict.valid)
        }
        KeyCommand::Attestation(KeyAttestationCommand::Add { key, files }) => {
            let r = ops::yubikey::add_attestation(ctx, key, files)?;
            out(&r, output::attest(&r))
        }
        KeyCommand::Destroy { key, confirm } => {
            let k = ops::key::destroy(ctx, key, confirm.as_deref())?;
            out(&k, output::destroyed(&k))
        }
        KeyCommand::Import { file, name } => {
            let k = ops::key::import(ctx, file, name)?;
            out(&k, output::key_line(&k))
        }
        KeyCommand::ExportPublic { key, format } => {
            let r = ops::key::export_public(ctx, key)?;
            let text = match format {
                KeyFormat::Pem => r.pem.clone(),
                KeyFormat::Tuf => serde_json::to_string_pretty(&r.key).unwrap_or_default() + "\n",
            };
            out(&r, text)
        }
        KeyCommand::List => {
            let ks = ops::key::list(ctx)?;
            out(&ks, output::key_list(&ks))
        }
    }
}

pub(super) fn device(c: &DeviceCommand, ctx: &Context) -> Result<Output> {
    let DeviceCommand::List { profile } = c;
    let r = ops::device::list(ctx, profile.as_deref())?;
    out(&r, output::device_list(&r))
}

pub(super) fn hsm(c: &HsmCommand, ctx: &Context) -> Result<Output> {
    match c {
        HsmCommand::Profiles => {
            let r = ops::device::profiles_list()?;
            out(&r, output::profiles(&r))
        }
        HsmCommand::Check { profile } => {
            let r = ops::device::check(ctx, profile.as_deref())?;
            verdict(&r, output::hsm_check(&r), r.problems.is_empty())
        }
    }
}

pub(super) fn yubikey(c: &YubikeyCommand, ctx: &Context) -> Result<Output> {
    let r = match c {
        YubikeyCommand::ChangePin { serial } => ops::yubikey::change_pin(ctx, *serial)?,
        YubikeyCommand::ChangePuk { serial } => ops::yubikey::change_puk(ctx, *serial)?,
        YubikeyCommand::UnblockPin { serial } => ops::yubikey::unblock_pin(ctx, *serial)?,
        YubikeyCommand::SetManagementKey { serial, print } => {
            let m = ops::yubikey::set_management_key(ctx, *serial, *print)?;
            return out(&m, output::management_key(&m));
        }
    };
    out(&r, format!("YubiKey {}: {}.\n", r.serial, r.done))
}

pub(super) fn attest(c: &AttestCommand, ctx: &Context) -> Result<Output> {
    match c {
        AttestCommand::Export { out: dir, staged } => {
            let r = ops::yubikey::export_attestations(ctx, dir, *staged)?;
            out(&r, output::attestations_written(&r, dir))
        }
    }
}

//! One integration-test binary: modules per area, one file per attack under `attacks/`.

mod attacks;
mod attestation;
mod audit;
mod ceremony;
mod cli;
mod faults;
mod fuzz_corpus;
mod hsm;
mod interop;
mod layers;
mod notary;
mod props;
mod readme;
mod software_keys;
mod support;
mod transfer;
mod tui;
mod vectors;
mod wycheproof;
mod yubikey;

//! Operations: one library function per command, each written once for both metadata dialects
//! (`dialect`). The CLI and the ceremony screen only parse, prompt, call these and print what
//! they return (`report`).
//!
//! Invariant: checks that apply to every operation live in one place — the air-gap guard
//! before any private key is created or used, the clock check before any signature, the
//! workspace lock before any write (`context`) — and a refused operation writes nothing.

pub mod adopt;
pub mod audit;
pub mod context;
pub mod delegate;
pub mod device;
pub mod key;
pub mod notary;
pub mod request;
pub mod review;
pub mod root;
pub mod transfer;
pub mod verify;
pub mod yubikey;

pub use crate::report;
pub use context::{Context, GuardMode};

use crate::error::Result;
use crate::workspace::{Config, Workspace};

/// `rootcellar init`: creates the workspace and the first line of its transcript.
pub fn init(ctx: &Context, config: Config) -> Result<Workspace> {
    let ws = Workspace::init(&ctx.dir, config)?;
    ctx.record(
        &ws,
        "init",
        serde_json::json!({
            "name": ws.config.name(),
            "format": ws.config.format.name(),
            "rootcellar": env!("CARGO_PKG_VERSION"),
            // This transcript records what the workspace holds (keys, staged and published).
            crate::audit::BINDS: 1,
        }),
    )?;
    Ok(ws)
}

/// What `init` made.
#[derive(Clone, Debug, serde::Serialize, PartialEq, Eq)]
pub struct Created {
    pub dir: std::path::PathBuf,
    pub name: Option<String>,
    /// "tuf" or "notary".
    pub format: String,
}

/// `rootcellar init [--format notary --gun NAME]`.
pub fn create(ctx: &Context, name: Option<&str>, notary: bool) -> Result<Created> {
    let config = if notary {
        Config::notary(name.unwrap_or(""))?
    } else {
        Config::new(name.map(str::to_string), false)
    };
    let ws = init(ctx, config)?;
    Ok(Created {
        name: ws.config.name().map(str::to_string),
        format: ws.config.format.name().into(),
        dir: ws.dir,
    })
}

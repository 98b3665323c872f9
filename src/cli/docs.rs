//! `man` and `completions`: the manual pages and completion scripts, from the clap types.

use super::args::{Cli, Command, man_pages};
use super::{Output, out, text};
use crate::error::{Error, Result};
use clap::CommandFactory;

pub(super) fn run(cmd: &Command) -> Result<Output> {
    match cmd {
        Command::Man { out: None } => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(|e| Error::environment(format!("cannot write the manual page: {e}")))?;
            Ok(text(String::from_utf8_lossy(&page).into_owned()))
        }
        Command::Man { out: Some(dir) } => {
            std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, &e))?;
            let pages = man_pages()
                .map_err(|e| Error::environment(format!("cannot write the manual pages: {e}")))?;
            let mut written = Vec::new();
            for (name, bytes) in pages {
                let p = dir.join(&name);
                crate::atomic::write_public(&p, &bytes)?;
                written.push(p);
            }
            let h = super::output::man_written(&written, dir);
            out(&serde_json::json!({ "written": written }), h)
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "rootcellar", &mut script);
            Ok(text(String::from_utf8_lossy(&script).into_owned()))
        }
        _ => Err(Error::bad_input("not a documentation command")),
    }
}

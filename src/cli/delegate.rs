//! `delegate add|remove|rotate|list`: tagging keys in the top-level targets metadata.

use super::args::{DelegateCommand, SignWithArgs};
use super::{Output, out, output};
use crate::error::Result;
use crate::ops::{self, Context};

pub(super) fn run(c: &DelegateCommand, ctx: &Context) -> Result<Output> {
    let how = |a: &SignWithArgs| ops::delegate::SignWith {
        keys: a.sign_with.clone(),
        expires: a.expires.clone(),
    };
    let r = match c {
        DelegateCommand::Add {
            role,
            keys,
            threshold,
            paths,
            terminating,
            how: h,
        } => ops::delegate::add(
            ctx,
            &ops::delegate::Delegation {
                role: role.clone(),
                keys: keys.clone(),
                threshold: *threshold,
                paths: paths.clone(),
                terminating: *terminating,
            },
            &how(h),
        )?,
        DelegateCommand::Remove { role, how: h } => ops::delegate::remove(ctx, role, &how(h))?,
        DelegateCommand::Rotate {
            role,
            old,
            new,
            how: h,
        } => ops::delegate::rotate(ctx, role, old, new, &how(h))?,
        DelegateCommand::List => {
            let l = ops::delegate::list(ctx)?;
            return out(&l, output::roles(&l));
        }
    };
    out(&r, output::targets_report(&r))
}

//! One module per subcommand. Each takes a [`Context`] and prints its result through
//! [`Output`]. Commands that act on feeds go through a [`Backend`]; [`with_backend`] is the
//! one place that chooses it.

mod feed;
mod id;
mod init;
mod post;

use anyhow::Result;

use crate::backend::{Backend, LocalBackend};
use crate::cli::{Cli, Command};
use crate::output::Output;
use crate::repo::Repo;

/// What every command gets: the data directory and the output mode.
pub(crate) struct Context {
    /// The data directory.
    pub(crate) repo: Repo,
    /// How to print.
    pub(crate) output: Output,
}

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> Result<()> {
    let dir = match cli.data_dir {
        Some(dir) => dir,
        None => Repo::default_dir()?,
    };
    let context = Context {
        repo: Repo::new(&dir)?,
        output: Output::from_flags(cli.json, cli.quiet),
    };
    match cli.command {
        Command::Init => init::run(&context),
        Command::Id => id::run(&context),
        Command::Post { text } => post::run(&context, &text),
        Command::Feed { did, all, limit } => feed::run(&context, did.as_deref(), all, limit),
    }
}

/// Runs `f` against the backend for this data directory and closes it afterwards, also when
/// `f` fails. Today that is always the store in this process; once `kith daemon` exists,
/// this is where a running daemon's API will be preferred.
fn with_backend<T>(context: &Context, f: impl FnOnce(&dyn Backend) -> Result<T>) -> Result<T> {
    let backend = LocalBackend::open(&context.repo)?;
    let result = f(&backend);
    let closed = backend.close();
    let value = result?;
    closed?;
    Ok(value)
}

//! `kith`: the command-line program of kith, a peer-to-peer social network.
//!
//! For now every command works offline on the data directory (one directory is one peer;
//! see `docs/CLI.md` for the commands, options and the `--json` contract). Later, client
//! commands will talk to a running `kith daemon` over its HTTP API instead.
//!
//! | module | what it holds |
//! |---|---|
//! | [`cli`] | the clap definition of options and subcommands; parsing only |
//! | [`commands`] | one module per subcommand; the only place that picks a backend |
//! | [`backend`] | the [`backend::Backend`] trait commands use, and the in-process [`backend::LocalBackend`] over the store (the seam where an HTTP client of the daemon will slot in) |
//! | [`model`] | the result types printed with `--json` (the script contract) |
//! | [`repo`] | the data directory: paths, `kith init`, reading the key file safely, opening the store |
//! | [`config`] | `config.toml` and its documented default (`default-config.toml`) |
//! | [`output`] | human, quiet and JSON printing |
//! | [`time`] | the clock and RFC 3339 formatting |
//!
//! `main` stays thin: parse, dispatch, and on failure print the error and its causes to
//! stderr and exit with 1 (clap exits with 2 on usage errors).

mod backend;
mod cli;
mod commands;
mod config;
mod model;
mod output;
mod repo;
mod time;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => {
            // The reader of our output went away (`kith feed | head`): nothing to report.
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

//! `kith`: the command-line program of kith, a peer-to-peer social network.
//!
//! One data directory is one peer. `kith daemon` runs it (the node from `kith-node`, the
//! HTTP API from `kith-api`); every other command but `init` is a client of that API (`id`
//! also works without a daemon). See `docs/CLI.md` for the commands, options and the
//! `--json` contract, and `docs/API.md` for the API.
//!
//! | module | what it holds |
//! |---|---|
//! | [`cli`] | the clap definition of options and subcommands; parsing only |
//! | [`commands`] | one module per subcommand, `daemon` included; the only place that finds the daemon |
//! | [`client`] | the HTTP client of the daemon's API: finding it (`--api`, `KITH_API`, `DIR/api`), the token, error messages |
//! | [`model`] | the result types printed with `--json` beyond the API's own (the script contract) |
//! | [`repo`] | the data directory: paths, `kith init`, secret files, `repo.lock`, the `api` file, opening the store |
//! | [`peer_id`] | the libp2p peer id of `node.key`, without libp2p |
//! | [`config`] | `config.toml` and its documented default (`default-config.toml`) |
//! | [`output`] | human, quiet and JSON printing |
//! | [`time`] | the clock and RFC 3339 formatting |
//!
//! `main` stays thin: parse, dispatch, and on failure print the error and its causes to
//! stderr and exit with 1 (clap exits with 2 on usage errors).

mod cli;
mod client;
mod commands;
mod config;
mod model;
mod notify;
mod output;
mod peer_id;
mod repo;
mod time;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // reqwest is built with rustls but no default crypto provider (kith-feeds needs TLS
    // without aws-lc's C build): every HTTP client in the process needs this, once.
    let _ = rustls::crypto::ring::default_provider().install_default();
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

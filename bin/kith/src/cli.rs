//! The command line: global options and subcommands (clap derive). Parsing only; the work
//! is in [`crate::commands`]. docs/CLI.md describes every item here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// kith: a peer-to-peer social network.
#[derive(Debug, Parser)]
#[command(name = "kith", version, propagate_version = true)]
#[command(after_help = "One data directory is one peer. Docs: docs/CLI.md.")]
pub(crate) struct Cli {
    /// The data directory [default: the platform data directory, e.g. ~/.local/share/kith].
    #[arg(long, global = true, env = "KITH_PATH", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Print results as JSON on stdout (stable field names, see docs/CLI.md).
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Print only the essential value (an id, a did); ignored with --json.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,

    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a data directory with a new identity, config.toml and the store.
    Init,

    /// Print this peer's identity (its did:key).
    Id,

    /// Sign a post and add it to your feed.
    Post {
        /// The text of the post; `-` reads it from standard input. A text that starts with
        /// `-` goes after `--`: `kith post -- "-1 from me"`.
        #[arg(value_name = "TEXT")]
        text: String,
    },

    /// List a feed, newest first.
    Feed {
        /// Whose feed (did:key:z6Mk…); default: your own.
        #[arg(value_name = "DID")]
        did: Option<String>,

        /// Include every kind of entry (follows, profile changes, …), not only posts,
        /// replies and reposts.
        #[arg(long)]
        all: bool,

        /// Most entries to list.
        #[arg(long, value_name = "N", default_value_t = 20,
              value_parser = clap::value_parser!(u32).range(1..))]
        limit: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}

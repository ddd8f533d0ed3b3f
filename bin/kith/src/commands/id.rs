//! `kith id`: print the identity.
//!
//! With a daemon running it asks the API (peer id and real listen addresses); without one
//! it still works, from the files: the did from `identity.key`, the peer id from `node.key`,
//! and no addresses.

use std::fmt::Write as _;

use anyhow::Result;
use kith_api::model::Identity;

use super::{Context, connect};
use crate::cli::ClientArgs;
use crate::client;
use crate::model::IdentityReport;
use crate::output::Output;
use crate::peer_id;

/// Prints the identity of the data directory.
pub(super) fn run(context: &Context, args: &ClientArgs) -> Result<()> {
    let keypair = context.repo.load_keypair()?;
    let mut report =
        IdentityReport::new(keypair.author(), context.repo.dir().display().to_string());
    match online(context, args)? {
        Some((identity, base)) => {
            report.peer_id = Some(identity.peer_id);
            report.listen_addrs = identity.listen_addrs;
            report.api = Some(base);
        }
        None => {
            if context.repo.node_key_path().exists() {
                report.peer_id = Some(peer_id::of_node_key(&context.repo.load_node_key()?));
            }
        }
    }
    match context.output {
        Output::Json => Output::json(&report),
        Output::Quiet => Output::text(&format!("{}\n", report.did)),
        Output::Human => Output::text(&human(&report)),
    }
}

/// The daemon's identity and its URL; `None` when no daemon answers. An explicit `--api`
/// that does not answer is an error; a stale `api` file is not (`id` works offline).
fn online(context: &Context, args: &ClientArgs) -> Result<Option<(Identity, String)>> {
    let explicit = args.api.is_some();
    if !explicit && context.repo.read_api_file()?.is_none() {
        return Ok(None);
    }
    let client = connect(context, args)?;
    match client.get::<Identity>("/api/v1/identity", &[]) {
        Ok(identity) => Ok(Some((identity, client.base().to_owned()))),
        Err(error) if !explicit && client::is_unreachable(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

/// The did, then the peer id and the addresses when known.
fn human(report: &IdentityReport) -> String {
    let mut out = format!("{}\n", report.did);
    if let Some(peer_id) = &report.peer_id {
        let _ = writeln!(out, "peer id: {peer_id}");
    }
    match &report.api {
        Some(api) => {
            let _ = writeln!(out, "daemon: {api}");
            for addr in &report.listen_addrs {
                let _ = writeln!(out, "listening on {addr}");
            }
        }
        None => out.push_str("daemon: not running\n"),
    }
    out
}

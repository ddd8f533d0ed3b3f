//! `kith peers` and `kith status`: the daemon's view of the network and of itself.

use std::fmt::Write as _;

use anyhow::Result;
use kith_api::model::{Peers, Status};

use super::{Context, connect};
use crate::cli::ClientArgs;
use crate::output::Output;

/// Lists the connected peers.
pub(super) fn peers(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let Peers { peers } = client.get("/api/v1/peers", &[])?;
    match context.output {
        Output::Json => Output::json(&peers),
        Output::Quiet => Output::text(&peers.iter().fold(String::new(), |mut text, peer| {
            text.push_str(&peer.peer_id);
            text.push('\n');
            text
        })),
        Output::Human => {
            if peers.is_empty() {
                return Output::text("no peers\n");
            }
            let mut text = String::new();
            for peer in &peers {
                let _ = writeln!(text, "{}  {}", peer.peer_id, peer.addrs.join(" "));
            }
            Output::text(&text)
        }
    }
}

/// Shows the daemon's status.
pub(super) fn status(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let status: Status = client.get("/api/v1/status", &[])?;
    match context.output {
        Output::Json => Output::json(&status),
        Output::Quiet => Ok(()),
        Output::Human => Output::text(&format!(
            "daemon:    {} (kith {}, up {} s)\nauthor:    {}\npeer id:   {}\npeers:     \
             {}\nentries:   {} ({} waiting for a predecessor)\nfollowing: {}\n",
            client.base(),
            status.version,
            status.uptime_s,
            status.author,
            status.peer_id,
            status.peers,
            status.entries,
            status.pending,
            status.following
        )),
    }
}

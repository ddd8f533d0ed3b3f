//! `kith peers` (and its deny list), `kith head` and `kith status`: the daemon's view of the
//! network and of itself.

use std::fmt::Write as _;

use anyhow::Result;
use kith_api::model::{DeniedPeers, DenyPeers, HeadObject, Peers, Reachability, Status};

use super::{Context, connect, parse_did};
use crate::cli::ClientArgs;
use crate::output::Output;
use crate::peer_id;

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
            let now = crate::time::now_ms();
            for peer in &peers {
                let _ = writeln!(text, "{}  {}", peer.peer_id, peer.addrs.join(" "));
                let mut figures = Vec::new();
                if peer.relayed {
                    figures.push("relayed".to_owned());
                }
                if let Some(score) = peer.score {
                    figures.push(format!("score {score:.3}"));
                }
                if let Some(rtt) = peer.rtt_ms {
                    figures.push(format!("rtt {rtt:.1} ms"));
                }
                if let (Some(revision), Some(heartbeat)) = (peer.revision, peer.last_heartbeat) {
                    figures.push(format!(
                        "revision {revision}, response {:.1} ms, errors {:.1} %, lag {} s, heartbeat {} s ago",
                        peer.mean_response_ms.unwrap_or(0.0),
                        peer.error_rate.unwrap_or(0.0) * 100.0,
                        peer.lag_s.unwrap_or(0),
                        now.saturating_sub(heartbeat) / 1000
                    ));
                }
                if !figures.is_empty() {
                    let _ = writeln!(text, "    {}", figures.join(", "));
                }
            }
            Output::text(&text)
        }
    }
}

/// Denies peers; prints the deny list afterwards.
pub(super) fn deny(context: &Context, args: &ClientArgs, peers: &[String]) -> Result<()> {
    for peer in peers {
        peer_id::check(peer)?;
    }
    let client = connect(context, args)?;
    let DeniedPeers { peers: denied } = client.post(
        "/api/v1/denied-peers",
        &DenyPeers {
            peers: peers.to_vec(),
        },
    )?;
    let lines = peers.iter().fold(String::new(), |mut text, peer| {
        let _ = writeln!(text, "denied {peer}");
        text
    });
    print_change(context.output, &denied, &lines)
}

/// Allows denied peers again (or all of them); prints the deny list afterwards.
pub(super) fn allow(
    context: &Context,
    args: &ClientArgs,
    peers: &[String],
    all: bool,
) -> Result<()> {
    for peer in peers {
        peer_id::check(peer)?;
    }
    let client = connect(context, args)?;
    let (denied, lines) = if all {
        let DeniedPeers { peers: before } = client.get("/api/v1/denied-peers", &[])?;
        let DeniedPeers { peers: denied } = client.delete("/api/v1/denied-peers")?;
        let lines = before.iter().fold(String::new(), |mut text, peer| {
            let _ = writeln!(text, "allowed {peer}");
            text
        });
        (denied, lines)
    } else {
        let mut denied = Vec::new();
        let mut lines = String::new();
        for peer in peers {
            let DeniedPeers { peers: now } =
                client.delete(&format!("/api/v1/denied-peers/{peer}"))?;
            denied = now;
            let _ = writeln!(lines, "allowed {peer}");
        }
        (denied, lines)
    };
    print_change(context.output, &denied, &lines)
}

/// After `deny` or `allow`: JSON, the whole deny list; human, what was done and how many
/// are denied now; quiet, nothing.
fn print_change(output: Output, denied: &[String], lines: &str) -> Result<()> {
    match output {
        Output::Json => Output::json(&denied),
        Output::Quiet => Ok(()),
        Output::Human => Output::text(&format!(
            "{lines}{} denied in all\n",
            match denied.len() {
                1 => "1 peer".to_owned(),
                n => format!("{n} peers"),
            }
        )),
    }
}

/// Lists the denied peers.
pub(super) fn denied(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let DeniedPeers { peers } = client.get("/api/v1/denied-peers", &[])?;
    match context.output {
        Output::Json => Output::json(&peers),
        Output::Human if peers.is_empty() => Output::text("no denied peers\n"),
        Output::Quiet | Output::Human => {
            Output::text(&peers.iter().fold(String::new(), |mut text, peer| {
                text.push_str(peer);
                text.push('\n');
                text
            }))
        }
    }
}

/// Looks an author's head up on the DHT.
pub(super) fn head(context: &Context, args: &ClientArgs, did: &str) -> Result<()> {
    let author = parse_did(did)?;
    let client = connect(context, args)?;
    let head: HeadObject = client.get(&format!("/api/v1/heads/{}", author.to_did()), &[])?;
    match context.output {
        Output::Json => Output::json(&head),
        Output::Quiet => Output::text(&format!("{}\n", head.id)),
        Output::Human => Output::text(&format!(
            "{}  seq {}  {}  (found in {} ms)\n",
            head.author, head.seq, head.id, head.lookup_ms
        )),
    }
}

/// Shows the daemon's status.
/// `kith ui`: asks the daemon for a one-time sign-in link to its web UI.
pub(super) fn ui(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let link: kith_api::model::LoginLink =
        client.post("/api/v1/ui/login", &serde_json::json!({}))?;
    match context.output {
        Output::Json => Output::json(&link),
        Output::Quiet => Output::text(&format!("{}\n", link.url)),
        Output::Human => Output::text(&format!(
            "Open this link in a browser on this machine to use kith (it works once, for {} \
             minutes):\n\n    {}\n",
            link.expires_in_s / 60,
            link.url
        )),
    }
}

/// Prints the daemon's Prometheus metrics as the daemon wrote them.
pub(super) fn metrics(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let text = client.get_text("/metrics")?;
    match context.output {
        Output::Json => Output::json(&serde_json::json!({ "text": text })),
        Output::Quiet => Ok(()),
        Output::Human => Output::text(&text),
    }
}

pub(super) fn status(context: &Context, args: &ClientArgs) -> Result<()> {
    let client = connect(context, args)?;
    let status: Status = client.get("/api/v1/status", &[])?;
    match context.output {
        Output::Json => Output::json(&status),
        Output::Quiet => Ok(()),
        Output::Human => {
            let mut text = format!(
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
            );
            let reach = &status.reachability;
            let _ = writeln!(text, "reachable: {}", reachability_text(reach));
            for addr in reach.external_addrs.iter().chain(&reach.relay_addrs) {
                let _ = writeln!(text, "           {addr}/p2p/{}", status.peer_id);
            }
            Output::text(&text)
        }
    }
}

/// One line on how others reach this daemon.
fn reachability_text(reach: &Reachability) -> String {
    let mut text = match reach.status.as_str() {
        "public" => "yes, directly (a peer dialled us back)".to_owned(),
        "private" => {
            if reach.relay_addrs.is_empty() {
                "not directly (behind a NAT or firewall); looking for a relay".to_owned()
            } else {
                format!(
                    "through {} relay(s) (behind a NAT or firewall)",
                    reach.relay_addrs.len()
                )
            }
        }
        _ if !reach.relay_addrs.is_empty() => {
            format!(
                "through {} relay(s), not known yet whether directly",
                reach.relay_addrs.len()
            )
        }
        _ => "not known yet (no peer has tried to dial us back)".to_owned(),
    };
    let mut roles = Vec::new();
    if reach.dht_server {
        roles.push("answers DHT queries");
    }
    if reach.relay_server {
        roles.push("relays for others");
    }
    if !roles.is_empty() {
        text.push_str("; ");
        text.push_str(&roles.join(", "));
    }
    text
}

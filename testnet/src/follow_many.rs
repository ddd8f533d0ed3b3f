//! `[follow_many]`: one peer follows thousands of authors, then idles while its CPU and
//! memory are measured; the scenario's posting phase then checks that posts from the live
//! authors still reach it quickly.
//!
//! The followed authors are the scenario's posting authors (live, on other peers) plus
//! identities the testnet generates (seeded), for which no peer is online: a peer that
//! follows ten thousand people follows many who are offline. Each costs the follower what
//! a followed author costs: a follow entry, a gossip topic announced to every peer it
//! connects to, head lookups and provider queries when catching up.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use kith_proto::Keypair;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::net::{self, Network};
use crate::scenario::{Expect, round2};

/// `[follow_many]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FollowMany {
    /// The peer that follows.
    pub(crate) follower: usize,
    /// Authors it follows in all, the scenario's posting authors included.
    pub(crate) total: usize,
    /// Seconds of idle time measured after the follows (and their catch-ups) are done.
    pub(crate) idle_s: f64,
    /// Follow requests in flight at once.
    #[serde(default = "default_concurrency")]
    pub(crate) concurrency: usize,
}

fn default_concurrency() -> usize {
    8
}

/// How long the follower may take to finish catching up after the last follow.
const SETTLE_DEADLINE: Duration = Duration::from_secs(600);

/// What the run measured on the follower.
#[derive(Debug, Serialize)]
pub(crate) struct Figures {
    pub(crate) follower: usize,
    /// Authors followed at the end of the follows (from `GET /api/v1/status`).
    pub(crate) following: u64,
    /// Seconds to make every follow (acknowledged).
    pub(crate) follow_s: f64,
    /// Seconds from the last follow until no catch-up was running.
    pub(crate) settle_s: f64,
    /// Length of the idle measurement.
    pub(crate) idle_s: f64,
    /// CPU (user + system) of the follower while idle, % of one core.
    pub(crate) idle_cpu_pct: f64,
    /// Resident set at the end of the idle time.
    pub(crate) idle_rss_mb: f64,
    /// Resident set at the end of the run (after the posting phase).
    pub(crate) end_rss_mb: f64,
}

/// The DID of generated author `i` (seeded: the same in every run).
fn generated_author(i: usize) -> String {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
    seed[8..16].copy_from_slice(b"kith-tn!");
    Keypair::from_seed(&seed).author().to_did()
}

/// The follower follows `total − already followed` generated authors, waits until it has no
/// catch-up running, then idles for `idle_s` while its CPU is measured.
pub(crate) async fn follow_and_idle(
    many: &FollowMany,
    client: &reqwest::Client,
    network: &Network,
    tokens: &[String],
) -> Result<Figures> {
    let f = many.follower;
    if f >= network.peers.len() {
        bail!(
            "`follow_many.follower` must be below {}",
            network.peers.len()
        );
    }
    let (api, token) = (&network.peers[f].api, &tokens[f]);
    let status = net::get_json(client, api, token, "/api/v1/status").await?;
    let already = status["following"].as_u64().unwrap_or(0) as usize;
    let generated = many.total.saturating_sub(already);
    out!("peer {f}: following {generated} more authors ({already} already)");
    let started = Instant::now();
    let mut done = 0usize;
    let mut last_print = Instant::now();
    let mut follows = futures::stream::iter((0..generated).map(|i| {
        let did = generated_author(i);
        async move {
            net::post_json(
                client,
                api,
                token,
                "/api/v1/follows",
                &json!({ "author": did }),
            )
            .await
            .with_context(|| format!("peer {f} following generated author {i}"))
        }
    }))
    .buffer_unordered(many.concurrency.max(1));
    while let Some(result) = follows.next().await {
        result?;
        done += 1;
        if last_print.elapsed() > Duration::from_secs(10) {
            last_print = Instant::now();
            out!(
                "{:>6.1} s: {done} of {generated} follows made",
                started.elapsed().as_secs_f64()
            );
        }
    }
    let follow_s = started.elapsed().as_secs_f64();

    // Wait until the catch-ups the follows started are over.
    let settle_started = Instant::now();
    let following = loop {
        let status = net::get_json(client, api, token, "/api/v1/status").await?;
        if status["syncing"].as_u64() == Some(0) {
            break status["following"].as_u64().unwrap_or(0);
        }
        if settle_started.elapsed() > SETTLE_DEADLINE {
            bail!(
                "peer {f} was still catching up {} feeds {SETTLE_DEADLINE:?} after its follows",
                status["syncing"]
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let settle_s = settle_started.elapsed().as_secs_f64();
    out!(
        "peer {f}: {following} follows made in {follow_s:.1} s, catch-ups over {settle_s:.1} s later; idle for {} s",
        many.idle_s
    );

    let pid = network.peers[f].pid;
    let before = net::proc_sample(pid).context("cannot read the follower's /proc")?;
    tokio::time::sleep(Duration::from_secs_f64(many.idle_s)).await;
    let after = net::proc_sample(pid).context("cannot read the follower's /proc")?;
    let secs = after.at.duration_since(before.at).as_secs_f64().max(1e-3);
    let cpu = after.cpu_ticks.saturating_sub(before.cpu_ticks) as f64 / net::clock_ticks();
    let figures = Figures {
        follower: f,
        following,
        follow_s: round2(follow_s),
        settle_s: round2(settle_s),
        idle_s: round2(secs),
        idle_cpu_pct: round2(cpu / secs * 100.0),
        idle_rss_mb: round2(after.rss_kb as f64 / 1024.0),
        end_rss_mb: f64::NAN,
    };
    out!(
        "peer {f} idle: cpu {:.2} % of one core, rss {:.1} MB",
        figures.idle_cpu_pct,
        figures.idle_rss_mb
    );
    Ok(figures)
}

/// The `[expect]` failures of these figures.
pub(crate) fn check(expect: &Expect, figures: &Figures) -> Vec<String> {
    let mut failures = Vec::new();
    if let Some(max) = expect.max_idle_cpu_pct
        && (figures.idle_cpu_pct.is_nan() || figures.idle_cpu_pct > max)
    {
        failures.push(format!(
            "idle cpu {} % > max_idle_cpu_pct {max}",
            figures.idle_cpu_pct
        ));
    }
    if let Some(max) = expect.max_rss_mb {
        for (what, rss) in [("idle", figures.idle_rss_mb), ("end", figures.end_rss_mb)] {
            if rss.is_nan() || rss > max {
                failures.push(format!("{what} rss {rss} MB > max_rss_mb {max}"));
            }
        }
    }
    failures
}

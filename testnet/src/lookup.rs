//! `[lookups]` scenarios: the first `authors` peers post once each, so their signed heads
//! are on the DHT; then random peers look up the heads of random authors
//! (`GET /api/v1/heads/{did}`), and the run reports the lookup latency the daemons measured
//! and the latency their HTTP clients saw.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use serde::Deserialize;
use serde_json::json;

use crate::net::{self, SplitMix64};
use crate::scenario::{Percentiles, Report, Scenario, round2};

/// `[lookups]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Lookups {
    /// Peers `0..authors` post once each; their heads are looked up.
    pub(crate) authors: usize,
    /// Measured lookups.
    pub(crate) count: usize,
    /// Lookups in flight at once (over the whole network).
    #[serde(default = "default_concurrency")]
    pub(crate) concurrency: usize,
}

fn default_concurrency() -> usize {
    4
}

/// How long every author's head may take to be found once before measuring starts.
const WARM_UP_DEADLINE: Duration = Duration::from_secs(60);

/// One lookup: the daemon's own timing and the client's, and whether it found the head.
struct Outcome {
    daemon_ms: Option<f64>,
    client_ms: f64,
    found: bool,
}

async fn look_up(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    did: &str,
    want_seq: u64,
) -> Outcome {
    let started = Instant::now();
    let answer = net::get_json(client, api, token, &format!("/api/v1/heads/{did}")).await;
    let client_ms = started.elapsed().as_secs_f64() * 1000.0;
    match answer {
        Ok(head) => Outcome {
            daemon_ms: head["lookup_ms"].as_f64(),
            client_ms,
            found: head["seq"].as_u64().is_some_and(|seq| seq >= want_seq),
        },
        Err(_) => Outcome {
            daemon_ms: None,
            client_ms,
            found: false,
        },
    }
}

/// Runs a `[lookups]` scenario on a fresh network in `dir`.
pub(crate) async fn run(
    scenario: &Scenario,
    lookups: &Lookups,
    kith: &Path,
    dir: &Path,
) -> Result<Report> {
    if lookups.authors == 0 || lookups.authors > scenario.peers || scenario.peers < 2 {
        bail!(
            "`lookups.authors` must be 1 to {} (and the network needs 2 peers)",
            scenario.peers
        );
    }
    let crate::scenario::Started {
        client,
        network,
        mut report,
        tokens,
    } = crate::scenario::start_for_requests(scenario, kith, dir).await?;

    // Every author posts once; its head is announced on the DHT.
    let mut posted_seq = Vec::with_capacity(lookups.authors);
    for (a, (peer, token)) in network
        .peers
        .iter()
        .zip(&tokens)
        .enumerate()
        .take(lookups.authors)
    {
        let entry = net::post_json(
            &client,
            &peer.api,
            token,
            "/api/v1/posts",
            &json!({ "text": format!("hello from peer {a}") }),
        )
        .await
        .with_context(|| format!("peer {a} posting"))?;
        posted_seq.push(entry["seq"].as_u64().unwrap_or(1));
    }
    let mut rng = SplitMix64::new(scenario.seed.unwrap_or(1) ^ 0x100C);
    let other_peer = |rng: &mut SplitMix64, a: usize| loop {
        let p = rng.below(scenario.peers);
        if p != a {
            break p;
        }
    };

    // Warm-up, not measured: each author's head is found once from some other peer (the
    // head is announced a moment after the post).
    let ready_started = Instant::now();
    let mut used: HashSet<(usize, usize)> = HashSet::new();
    for (a, &want) in posted_seq.iter().enumerate() {
        loop {
            let p = other_peer(&mut rng, a);
            used.insert((p, a));
            let outcome = look_up(
                &client,
                &network.peers[p].api,
                &tokens[p],
                &network.peers[a].author,
                want,
            )
            .await;
            if outcome.found {
                break;
            }
            if ready_started.elapsed() > WARM_UP_DEADLINE {
                bail!(
                    "peer {p} could not find the head of peer {a} within {WARM_UP_DEADLINE:?}; logs are in {}/peer-*/daemon.log",
                    dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    report.ready_s = round2(ready_started.elapsed().as_secs_f64());
    out!(
        "{}: every head found once after {:.1} s; measuring {} lookups",
        scenario.name(),
        report.ready_s,
        lookups.count
    );

    // Measured: random (peer, author) pairs not used in the warm-up, so no answer comes from
    // a copy the warm-up left on the asking peer.
    let mut pairs = Vec::with_capacity(lookups.count);
    let mut attempts = 0;
    while pairs.len() < lookups.count && attempts < lookups.count * 100 {
        attempts += 1;
        let a = rng.below(lookups.authors);
        let p = other_peer(&mut rng, a);
        if used.insert((p, a)) {
            pairs.push((p, a));
        }
    }
    let outcomes: Mutex<Vec<Outcome>> = Mutex::new(Vec::with_capacity(pairs.len()));
    let measure_start = Instant::now();
    futures::stream::iter(pairs.iter().copied())
        .for_each_concurrent(lookups.concurrency.max(1), |(p, a)| {
            let (client, network, tokens, outcomes) = (&client, &network, &tokens, &outcomes);
            let want = posted_seq[a];
            async move {
                let outcome = look_up(
                    client,
                    &network.peers[p].api,
                    &tokens[p],
                    &network.peers[a].author,
                    want,
                )
                .await;
                if let Ok(mut outcomes) = outcomes.lock() {
                    outcomes.push(outcome);
                }
            }
        })
        .await;
    let outcomes = outcomes.into_inner().unwrap_or_default();
    let mut daemon_ms: Vec<f64> = outcomes
        .iter()
        .filter(|o| o.found)
        .filter_map(|o| o.daemon_ms)
        .collect();
    let mut client_ms: Vec<f64> = outcomes
        .iter()
        .filter(|o| o.found)
        .map(|o| o.client_ms)
        .collect();
    let failed = outcomes.iter().filter(|o| !o.found).count();
    let lookup_ms = Percentiles::of(&mut daemon_ms);
    report.samples_ms = daemon_ms;
    report.duration_s = round2(measure_start.elapsed().as_secs_f64());
    report.authors = lookups.authors;
    report.posts = lookups.authors;
    report.expected = outcomes.len();
    report.delivered = outcomes.len() - failed;
    report.lost = failed;
    report.delivered_pct = round2(report.delivered as f64 * 100.0 / outcomes.len().max(1) as f64);
    report.lookup_ms = Some(lookup_ms);
    report.lookup_client_ms = Some(Percentiles::of(&mut client_ms));
    report.lookups = Some(outcomes.len());
    report.lookup_failures = Some(failed);

    let mut failures = Vec::new();
    if report.delivered_pct < scenario.expect.min_delivered_pct {
        failures.push(format!(
            "{failed} of {} lookups found no head (or an old one)",
            outcomes.len()
        ));
    }
    if let Some(max) = scenario.expect.max_lookup_p50_ms
        && (lookup_ms.p50.is_nan() || lookup_ms.p50 > max)
    {
        failures.push(format!(
            "lookup p50 {} ms > max_lookup_p50_ms {max}",
            lookup_ms.p50
        ));
    }
    if let Some(max) = scenario.expect.max_lookup_p99_ms
        && (lookup_ms.p99.is_nan() || lookup_ms.p99 > max)
    {
        failures.push(format!(
            "lookup p99 {} ms > max_lookup_p99_ms {max}",
            lookup_ms.p99
        ));
    }
    drop(network);
    report.passed = failures.is_empty();
    report.failures = failures;
    Ok(report)
}

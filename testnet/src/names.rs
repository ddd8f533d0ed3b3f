//! `[names]` scenarios: the name registry (`POST /api/v1/names`, `GET /api/v1/names/{name}`)
//! on a settled network. Fresh names are claimed one at a time, each by a random peer, then
//! looked up from random other peers, each answer checked against the claimant; then a few
//! race rounds, where several peers claim one name at once and exactly one must win.
//! Every latency is timed by the client, from sending the request to reading the answer.
//!
//! The baseline, the proof of work of a claim (`NameClaim::sign`, which the daemon runs
//! for every claim), is measured in this process on one core before the network starts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::future::join_all;
use kith_proto::Keypair;
use kith_proto::names::NameClaim;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::net::{self, Network, SplitMix64};
use crate::scenario::{Expect, Percentiles, Report, Scenario, round2};

/// `[names]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Names {
    /// Measured claims of distinct fresh names, one at a time, each by a random peer.
    pub(crate) claims: usize,
    /// Measured lookups of the claimed names, one at a time, each from a random peer other
    /// than the claimant.
    pub(crate) lookups: usize,
    /// Race rounds: `race_claimants` peers claim one fresh name at once.
    #[serde(default)]
    pub(crate) race_rounds: usize,
    #[serde(default = "default_race_claimants")]
    pub(crate) race_claimants: usize,
    /// Proofs of work timed in this process (the baseline); 0 skips it.
    #[serde(default = "default_pow_samples")]
    pub(crate) pow_samples: usize,
    /// The network has settled when every peer is connected to at least this many others
    /// (at most `peers − 1`) and has made one claim and one lookup (not measured).
    #[serde(default = "default_settle_peers")]
    pub(crate) settle_peers: usize,
    /// At most this many measured names held at once: past it, each successful claim is
    /// followed by the release of the oldest measured name (not measured), and the lookups
    /// draw from the names held at the end. 0 keeps every name. Every peer sends every claim
    /// it holds to the name's replicas again every 5 s in the test profile, so the number of
    /// names held sets the background load.
    #[serde(default)]
    pub(crate) live_names: usize,
}

fn default_race_claimants() -> usize {
    5
}

fn default_pow_samples() -> usize {
    200
}

fn default_settle_peers() -> usize {
    5
}

/// How long the network may take to settle (connections, then every peer's warm-up claim
/// and lookup).
const SETTLE_DEADLINE: Duration = Duration::from_secs(90);

/// Failure messages kept in the report (the counts are complete; these are examples).
const KEPT_ERRORS: usize = 20;

/// What a `[names]` run measured: the report's `names` object.
#[derive(Debug, Serialize, Default)]
pub(crate) struct Figures {
    /// Claims made (measured), and those that did not answer 201 with the claimant as
    /// owner.
    pub(crate) claims: usize,
    /// Latency of the successful claims, request → answer, ms.
    pub(crate) claim_ms: Percentiles,
    pub(crate) claim_failures: usize,
    /// `live_names` (0: every name kept), and the releases it made and those that failed
    /// (not 200 with at least one replica removing the name).
    pub(crate) live_names: usize,
    pub(crate) releases: usize,
    pub(crate) release_failures: usize,
    /// The `accepted` and `replicas` of the successful claims' answers: value → count.
    pub(crate) claim_accepted: BTreeMap<u64, usize>,
    pub(crate) claim_replicas: BTreeMap<u64, usize>,
    /// Lookups made (measured); those answered with another owner than the claimant; those
    /// that failed (not found, quorum unreachable, any other answer).
    pub(crate) lookups: usize,
    /// Latency of the lookups that answered the claimant, ms.
    pub(crate) lookup_ms: Percentiles,
    pub(crate) lookup_wrong_owner: usize,
    pub(crate) lookup_failures: usize,
    /// Race rounds, and those with more than one winner (201) or none.
    pub(crate) race_rounds: usize,
    pub(crate) race_claimants: usize,
    pub(crate) race_multiple_winners: usize,
    pub(crate) race_no_winner: usize,
    /// The answers of all race claims: HTTP status (or `error`) → count.
    pub(crate) race_answers: BTreeMap<String, usize>,
    /// Rounds whose name, looked up afterwards from a peer that did not claim it, did not
    /// resolve to the round's single winner.
    pub(crate) race_lookup_mismatch: usize,
    /// The baseline: `NameClaim::sign` (proof of work and signature) in this process, one
    /// at a time on one core, before the network started, ms.
    pub(crate) pow_samples: usize,
    pub(crate) pow_ms: Percentiles,
    /// Seconds from the network being up to settled (connections, warm-up claims and
    /// lookups; the warm-up names are released afterwards).
    pub(crate) settle_s: f64,
    /// CPU of all daemons together while the claims were made, and while the lookups
    /// were, % of one core (the machine has two).
    pub(crate) claim_phase_cpu_pct: f64,
    pub(crate) lookup_phase_cpu_pct: f64,
    /// Examples of the failures counted above (the first few).
    pub(crate) errors: Vec<String>,
}

/// One answer of the API: the status (`None`: no answer), the body, the time it took.
struct Answer {
    status: Option<u16>,
    body: Value,
    ms: f64,
}

impl Answer {
    fn describe(&self) -> String {
        match self.status {
            Some(status) => format!("{status} {}", self.body),
            None => format!("no answer: {}", self.body),
        }
    }
}

async fn call(request: reqwest::RequestBuilder, token: &str) -> Answer {
    let started = Instant::now();
    let result = async {
        let response = request
            .bearer_auth(token)
            .timeout(net::REQUEST_TIMEOUT)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        Ok::<_, reqwest::Error>((status, body))
    }
    .await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok((status, body)) => Answer {
            status: Some(status),
            body,
            ms,
        },
        Err(e) => Answer {
            status: None,
            body: Value::String(e.to_string()),
            ms,
        },
    }
}

async fn claim(
    client: &reqwest::Client,
    network: &Network,
    tokens: &[String],
    p: usize,
    name: &str,
) -> Answer {
    let request = client
        .post(format!("{}/api/v1/names", network.peers[p].api))
        .json(&json!({ "name": name }));
    call(request, &tokens[p]).await
}

async fn release(
    client: &reqwest::Client,
    network: &Network,
    tokens: &[String],
    p: usize,
    name: &str,
) -> Answer {
    let request = client.delete(format!("{}/api/v1/names/{name}", network.peers[p].api));
    call(request, &tokens[p]).await
}

/// CPU time of all the network's daemons so far, in clock ticks.
fn daemons_cpu(network: &Network) -> (u64, Instant) {
    let ticks = network
        .peers
        .iter()
        .filter_map(|p| net::proc_sample(p.pid))
        .map(|s| s.cpu_ticks)
        .sum();
    (ticks, Instant::now())
}

/// CPU of the daemons since `before`, % of one core.
fn cpu_pct_since(network: &Network, before: (u64, Instant)) -> f64 {
    let (ticks, at) = daemons_cpu(network);
    let secs = at.duration_since(before.1).as_secs_f64().max(1e-3);
    round2(ticks.saturating_sub(before.0) as f64 / net::clock_ticks() / secs * 100.0)
}

async fn lookup(
    client: &reqwest::Client,
    network: &Network,
    tokens: &[String],
    p: usize,
    name: &str,
) -> Answer {
    let request = client.get(format!("{}/api/v1/names/{name}", network.peers[p].api));
    call(request, &tokens[p]).await
}

/// Whether `answer` is a success naming `name` and owned by `owner`.
fn owned_by(answer: &Answer, ok: u16, name: &str, owner: &str) -> bool {
    answer.status == Some(ok) && answer.body["name"] == name && answer.body["owner"] == owner
}

/// Times `count` proofs of work in this process (one core), ms each.
fn pow_baseline(count: usize) -> Result<Vec<f64>> {
    let keypair = Keypair::from_seed(&[0x6e; 32]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let mut ms = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("baseline-{i}");
        let started = Instant::now();
        let claim = NameClaim::sign(&keypair, &name, now);
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
        if let Err(e) = claim {
            bail!("cannot sign a claim of {name}: {e}");
        }
    }
    Ok(ms)
}

/// Keeps `message` as an example failure, up to [`KEPT_ERRORS`].
fn note(errors: &mut Vec<String>, message: String) {
    if errors.len() < KEPT_ERRORS {
        errors.push(message);
    }
}

/// `count` distinct peers of `n`, drawn from `rng`.
fn distinct_peers(rng: &mut SplitMix64, n: usize, count: usize) -> Vec<usize> {
    let mut pool: Vec<usize> = (0..n).collect();
    (0..count.min(n))
        .map(|_| pool.swap_remove(rng.below(pool.len())))
        .collect()
}

/// Runs a `[names]` scenario on a fresh network in `dir`.
pub(crate) async fn run(
    scenario: &Scenario,
    names: &Names,
    kith: &Path,
    dir: &Path,
) -> Result<Report> {
    if scenario.peers < 2 {
        bail!("a `[names]` scenario needs at least 2 peers");
    }
    if names.race_rounds > 0 && !(2..=scenario.peers).contains(&names.race_claimants) {
        bail!("`names.race_claimants` must be 2 to {}", scenario.peers);
    }
    let mut figures = Figures {
        race_claimants: names.race_claimants,
        ..Figures::default()
    };
    let mut errors: Vec<String> = Vec::new();

    // The baseline first, while nothing else of the run competes for the cores.
    if names.pow_samples > 0 {
        let count = names.pow_samples;
        let mut pow = tokio::task::spawn_blocking(move || pow_baseline(count)).await??;
        figures.pow_samples = pow.len();
        figures.pow_ms = Percentiles::of(&mut pow);
        out!(
            "{}: proof of work of a claim in this process: p50 {:.2} / p99 {:.2} / max {:.2} ms ({} samples)",
            scenario.name(),
            figures.pow_ms.p50,
            figures.pow_ms.p99,
            figures.pow_ms.max,
            figures.pow_samples
        );
    } else {
        figures.pow_ms = Percentiles::none();
    }

    let crate::scenario::Started {
        client,
        network,
        mut report,
        tokens,
    } = crate::scenario::start_for_requests(scenario, kith, dir).await?;
    let authors: Vec<&str> = network.peers.iter().map(|p| p.author.as_str()).collect();
    let n = scenario.peers;
    let mut rng = SplitMix64::new(scenario.seed.unwrap_or(1) ^ 0x4A4E);

    // Settle (not measured): connections, then one claim and one lookup by every peer.
    let settle_started = Instant::now();
    let want = names.settle_peers.min(n - 1);
    let overdue = |what: &str| -> Result<()> {
        if settle_started.elapsed() > SETTLE_DEADLINE {
            bail!(
                "the network did not settle within {SETTLE_DEADLINE:?}: {what}; logs are in {}/peer-*/daemon.log",
                dir.display()
            );
        }
        Ok(())
    };
    loop {
        let mut short = Vec::new();
        for (p, peer) in network.peers.iter().enumerate() {
            let status = net::get_json(&client, &peer.api, &tokens[p], "/api/v1/status").await?;
            if status["peers"].as_u64().unwrap_or(0) < want as u64 {
                short.push(p);
            }
        }
        if short.is_empty() {
            break;
        }
        overdue(&format!(
            "peers {short:?} have fewer than {want} connections"
        ))?;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (p, author) in authors.iter().enumerate() {
        let name = format!("warm-{p}");
        loop {
            let answer = claim(&client, &network, &tokens, p, &name).await;
            if owned_by(&answer, 201, &name, author) {
                break;
            }
            overdue(&format!(
                "peer {p} could not claim {name}: {}",
                answer.describe()
            ))?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    for p in 0..n {
        let owner = (p + 1) % n;
        let name = format!("warm-{owner}");
        loop {
            let answer = lookup(&client, &network, &tokens, p, &name).await;
            if owned_by(&answer, 200, &name, authors[owner]) {
                break;
            }
            overdue(&format!(
                "peer {p} could not look {name} up: {}",
                answer.describe()
            ))?;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    // The warm-up names go, so the measured phase starts with an empty registry.
    for (p, author) in authors.iter().enumerate() {
        let name = format!("warm-{p}");
        let answer = release(&client, &network, &tokens, p, &name).await;
        if answer.status != Some(200) {
            bail!(
                "peer {p} ({author}) could not release {name}: {}",
                answer.describe()
            );
        }
    }
    figures.settle_s = round2(settle_started.elapsed().as_secs_f64());
    report.ready_s = figures.settle_s;
    out!(
        "{}: settled after {:.1} s; measuring {} claims, then {} lookups, one at a time",
        scenario.name(),
        figures.settle_s,
        names.claims,
        names.lookups
    );

    // Claims, one at a time.
    let measure_start = Instant::now();
    figures.live_names = names.live_names;
    let mut succeeded = 0usize;
    let mut claimed: std::collections::VecDeque<(String, usize)> =
        std::collections::VecDeque::with_capacity(names.claims);
    let cpu_before = daemons_cpu(&network);
    let mut claim_ms = Vec::with_capacity(names.claims);
    for i in 0..names.claims {
        let p = rng.below(n);
        let name = format!("bench-{i}");
        let answer = claim(&client, &network, &tokens, p, &name).await;
        figures.claims += 1;
        if owned_by(&answer, 201, &name, authors[p]) {
            claim_ms.push(answer.ms);
            let count = |key: &str| answer.body[key].as_u64().unwrap_or(0);
            *figures.claim_accepted.entry(count("accepted")).or_default() += 1;
            *figures.claim_replicas.entry(count("replicas")).or_default() += 1;
            claimed.push_back((name, p));
            succeeded += 1;
            if names.live_names > 0 && claimed.len() > names.live_names {
                let (old, owner) = claimed.pop_front().unwrap_or_default();
                let answer = release(&client, &network, &tokens, owner, &old).await;
                figures.releases += 1;
                if answer.status != Some(200) || answer.body["released"].as_u64().unwrap_or(0) == 0
                {
                    figures.release_failures += 1;
                    note(
                        &mut errors,
                        format!("release of {old} by peer {owner}: {}", answer.describe()),
                    );
                }
            }
        } else {
            figures.claim_failures += 1;
            note(
                &mut errors,
                format!("claim of {name} by peer {p}: {}", answer.describe()),
            );
        }
    }
    figures.claim_phase_cpu_pct = cpu_pct_since(&network, cpu_before);
    figures.claim_ms = Percentiles::of(&mut claim_ms);
    report.samples_ms = claim_ms;

    // Lookups, one at a time, each from a peer other than the claimant.
    let mut lookup_ms = Vec::with_capacity(names.lookups);
    let cpu_before = daemons_cpu(&network);
    if !claimed.is_empty() {
        for _ in 0..names.lookups {
            let (name, owner) = &claimed[rng.below(claimed.len())];
            let q = loop {
                let q = rng.below(n);
                if q != *owner {
                    break q;
                }
            };
            let answer = lookup(&client, &network, &tokens, q, name).await;
            figures.lookups += 1;
            if owned_by(&answer, 200, name, authors[*owner]) {
                lookup_ms.push(answer.ms);
            } else if answer.status == Some(200) {
                figures.lookup_wrong_owner += 1;
                note(
                    &mut errors,
                    format!(
                        "lookup of {name} (claimed by peer {owner}) from peer {q}: another owner: {}",
                        answer.body
                    ),
                );
            } else {
                figures.lookup_failures += 1;
                note(
                    &mut errors,
                    format!(
                        "lookup of {name} (claimed by peer {owner}) from peer {q}: {}",
                        answer.describe()
                    ),
                );
            }
        }
    }
    figures.lookup_phase_cpu_pct = cpu_pct_since(&network, cpu_before);
    figures.lookup_ms = Percentiles::of(&mut lookup_ms);
    report.duration_s = round2(measure_start.elapsed().as_secs_f64());

    // Races: several peers claim one fresh name at once; exactly one may win.
    for r in 0..names.race_rounds {
        let name = format!("race-{r}");
        let claimants = distinct_peers(&mut rng, n, names.race_claimants);
        let answers = join_all(
            claimants
                .iter()
                .map(|&p| claim(&client, &network, &tokens, p, &name)),
        )
        .await;
        figures.race_rounds += 1;
        let mut winners = Vec::new();
        for (&p, answer) in claimants.iter().zip(&answers) {
            let key = answer
                .status
                .map_or_else(|| "error".to_owned(), |s| s.to_string());
            *figures.race_answers.entry(key).or_default() += 1;
            if answer.status == Some(201) {
                winners.push(p);
            }
        }
        match winners.as_slice() {
            [winner] => {
                let outsiders: Vec<usize> = (0..n).filter(|p| !claimants.contains(p)).collect();
                let q = if outsiders.is_empty() {
                    (winner + 1) % n
                } else {
                    outsiders[rng.below(outsiders.len())]
                };
                let answer = lookup(&client, &network, &tokens, q, &name).await;
                if !owned_by(&answer, 200, &name, authors[*winner]) {
                    figures.race_lookup_mismatch += 1;
                    note(
                        &mut errors,
                        format!(
                            "race {r}: {name} won by peer {winner}, but peer {q} looked it up as {}",
                            answer.describe()
                        ),
                    );
                }
            }
            [] => {
                figures.race_no_winner += 1;
                let described: Vec<String> = claimants
                    .iter()
                    .zip(&answers)
                    .map(|(p, a)| format!("peer {p}: {}", a.describe()))
                    .collect();
                note(
                    &mut errors,
                    format!("race {r}: nobody won {name}: {}", described.join("; ")),
                );
            }
            several => {
                figures.race_multiple_winners += 1;
                note(
                    &mut errors,
                    format!("race {r}: {name} won by peers {several:?}"),
                );
            }
        }
    }
    drop(network);

    let ok = succeeded + lookup_ms.len();
    report.expected = figures.claims + figures.lookups;
    report.delivered = ok;
    report.lost = report.expected - ok;
    report.delivered_pct = round2(ok as f64 * 100.0 / report.expected.max(1) as f64);
    figures.errors = errors;
    let failures = check(&scenario.expect, &figures);
    report.names = Some(figures);
    report.passed = failures.is_empty();
    report.failures = failures;
    Ok(report)
}

/// The `[expect]` failures of these figures: every failed claim or lookup, wrong owner and
/// race without exactly one winner, and the latency bounds given.
pub(crate) fn check(expect: &Expect, figures: &Figures) -> Vec<String> {
    let mut failures = Vec::new();
    let counts = [
        (figures.claim_failures, "claims failed"),
        (figures.release_failures, "releases (live_names) failed"),
        (figures.lookup_wrong_owner, "lookups answered another owner"),
        (figures.lookup_failures, "lookups failed"),
        (
            figures.race_multiple_winners,
            "race rounds had more than one winner",
        ),
        (figures.race_no_winner, "race rounds had no winner"),
        (
            figures.race_lookup_mismatch,
            "race rounds' names did not resolve to the winner",
        ),
    ];
    for (count, what) in counts {
        if count > 0 {
            failures.push(format!("{count} {what}"));
        }
    }
    let bounds = [
        (
            "claim p50",
            figures.claim_ms.p50,
            expect.max_claim_p50_ms,
            "max_claim_p50_ms",
        ),
        (
            "claim p99",
            figures.claim_ms.p99,
            expect.max_claim_p99_ms,
            "max_claim_p99_ms",
        ),
        (
            "name lookup p50",
            figures.lookup_ms.p50,
            expect.max_name_lookup_p50_ms,
            "max_name_lookup_p50_ms",
        ),
        (
            "name lookup p99",
            figures.lookup_ms.p99,
            expect.max_name_lookup_p99_ms,
            "max_name_lookup_p99_ms",
        ),
    ];
    for (what, value, max, key) in bounds {
        if let Some(max) = max
            && (value.is_nan() || value > max)
        {
            failures.push(format!("{what} {value} ms > {key} {max}"));
        }
    }
    failures
}

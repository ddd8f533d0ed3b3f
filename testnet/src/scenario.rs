//! Scenarios: a network, follows, posts at a rate, delivery measured per (post, follower).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use futures::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::net::{self, Network, POLL, Topology};

/// A scenario file (TOML). See testnet/README.md.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Scenario {
    /// Defaults to the file's stem.
    pub(crate) name: Option<String>,
    pub(crate) peers: usize,
    #[serde(default = "default_topology")]
    pub(crate) topology: Topology,
    pub(crate) seed: Option<u64>,
    /// `[posts]`: who posts how much; absent in scenarios that measure something else.
    pub(crate) posts: Option<Posts>,
    #[serde(default)]
    pub(crate) follows: Follows,
    /// `[churn]`: random kills and restarts, expanded into `faults` when loaded.
    pub(crate) churn: Option<Churn>,
    /// `[catchup]`: a fresh follower catches up a preloaded feed (see `catchup.rs`).
    pub(crate) catchup: Option<crate::catchup::Catchup>,
    /// `[lookups]`: DHT head lookups from random peers (see `lookup.rs`).
    pub(crate) lookups: Option<crate::lookup::Lookups>,
    /// `[names]`: name claims, lookups and races (see `names.rs`).
    pub(crate) names: Option<crate::names::Names>,
    /// `[follow_many]`: one peer follows thousands of authors, then idles (see
    /// `follow_many.rs`).
    pub(crate) follow_many: Option<crate::follow_many::FollowMany>,
    #[serde(default)]
    pub(crate) ready: Ready,
    #[serde(default)]
    pub(crate) expect: Expect,
    /// `[[faults]]`: kills and restarts on a timeline.
    #[serde(default)]
    pub(crate) faults: Vec<Fault>,
}

/// One `[[faults]]` entry: at `at_s` seconds after posting starts, SIGKILL the peers in
/// `kill`, then restart the peers in `restart` (same data directory and bootstrap peers),
/// then split the network into the groups of `partition`, then (`heal`) join it again.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fault {
    pub(crate) at_s: f64,
    #[serde(default)]
    pub(crate) kill: Vec<usize>,
    #[serde(default)]
    pub(crate) restart: Vec<usize>,
    /// Groups of peers that can no longer reach each other: every peer denies every peer of
    /// the other groups (`POST /api/v1/denied-peers`). Peers in no group are not touched.
    #[serde(default)]
    pub(crate) partition: Vec<Vec<usize>>,
    /// Every running peer forgets its denied peers (`DELETE /api/v1/denied-peers`).
    #[serde(default)]
    pub(crate) heal: bool,
}

/// `[churn]`: every `every_s` seconds from `every_s` until `for_s`, SIGKILL a random
/// `fraction` of the peers and restart them `down_s` later.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Churn {
    pub(crate) every_s: f64,
    pub(crate) fraction: f64,
    pub(crate) for_s: f64,
    pub(crate) down_s: f64,
    /// Peers never killed (e.g. a bootstrap peer).
    #[serde(default)]
    pub(crate) spare: Vec<usize>,
}

fn default_topology() -> Topology {
    Topology::Star
}

/// `[posts]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Posts {
    /// A count (the first N peers) or a list of peer indices.
    pub(crate) authors: Authors,
    pub(crate) posts_per_author: usize,
    /// Posts per second of each author.
    pub(crate) rate_per_s: f64,
}

/// The authors of a scenario.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Authors {
    /// Peers `0..N`.
    Count(usize),
    /// These peers.
    List(Vec<usize>),
}

/// `[follows]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Follows {
    /// Every peer follows every author (but itself).
    #[serde(default)]
    pub(crate) all: bool,
    /// `[[follows.list]] author = 0, followers = [1, 2]`.
    #[serde(default)]
    pub(crate) list: Vec<FollowList>,
}

/// One author and its followers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FollowList {
    pub(crate) author: usize,
    pub(crate) followers: Vec<usize>,
}

/// `[ready]`: how the run waits for the follows to take effect before measuring.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Ready {
    /// Give up when no probe round succeeded by then.
    pub(crate) timeout_s: f64,
    /// A probe round succeeds when every probe reaches every follower within this window.
    pub(crate) probe_window_ms: u64,
}

impl Default for Ready {
    fn default() -> Self {
        Self {
            timeout_s: 60.0,
            probe_window_ms: 2000,
        }
    }
}

/// `[expect]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Expect {
    /// How long after the last acknowledged post deliveries are waited for.
    pub(crate) settle_s: f64,
    pub(crate) min_delivered_pct: f64,
    pub(crate) max_p50_ms: Option<f64>,
    pub(crate) max_p99_ms: Option<f64>,
    /// With faults: every live follower holds every followed author's head within this
    /// many seconds of the last fault.
    pub(crate) max_converged_s: Option<f64>,
    /// `[catchup]`: least entries per second verified and stored.
    pub(crate) min_catchup_entries_per_s: Option<f64>,
    /// `[lookups]`: most lookup latency (as timed by the daemon), ms.
    pub(crate) max_lookup_p50_ms: Option<f64>,
    pub(crate) max_lookup_p99_ms: Option<f64>,
    /// `[names]`: most claim latency (request to answer), ms.
    pub(crate) max_claim_p50_ms: Option<f64>,
    pub(crate) max_claim_p99_ms: Option<f64>,
    /// `[names]`: most name lookup latency (request to answer), ms.
    pub(crate) max_name_lookup_p50_ms: Option<f64>,
    pub(crate) max_name_lookup_p99_ms: Option<f64>,
    /// `[follow_many]`: most CPU of the follower while idle, % of one core.
    pub(crate) max_idle_cpu_pct: Option<f64>,
    /// `[follow_many]`: most resident memory of the follower (at the end of the idle time
    /// and at the end of the run), MB.
    pub(crate) max_rss_mb: Option<f64>,
}

impl Default for Expect {
    fn default() -> Self {
        Self {
            settle_s: 30.0,
            min_delivered_pct: 100.0,
            max_p50_ms: None,
            max_p99_ms: None,
            max_converged_s: None,
            min_catchup_entries_per_s: None,
            max_lookup_p50_ms: None,
            max_lookup_p99_ms: None,
            max_claim_p50_ms: None,
            max_claim_p99_ms: None,
            max_name_lookup_p50_ms: None,
            max_name_lookup_p99_ms: None,
            max_idle_cpu_pct: None,
            max_rss_mb: None,
        }
    }
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub(crate) fn load(path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut scenario: Scenario = toml::from_str(&text)
            .with_context(|| format!("{} is not a scenario", path.display()))?;
        if scenario.name.is_none() {
            scenario.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        scenario.check()?;
        scenario.expand_churn();
        Ok(scenario)
    }

    /// Turns `[churn]` into kill and restart faults (seeded by `seed`), merged into the
    /// timeline.
    fn expand_churn(&mut self) {
        let Some(churn) = &self.churn else { return };
        let mut rng = net::SplitMix64::new(self.seed.unwrap_or(1) ^ 0xC4C4);
        let candidates: Vec<usize> = (0..self.peers)
            .filter(|p| !churn.spare.contains(p))
            .collect();
        let victims = ((self.peers as f64 * churn.fraction).round() as usize).min(candidates.len());
        let mut at = churn.every_s;
        while at <= churn.for_s + 1e-9 {
            let mut pool = candidates.clone();
            let mut kill = Vec::with_capacity(victims);
            for _ in 0..victims {
                kill.push(pool.swap_remove(rng.below(pool.len())));
            }
            kill.sort_unstable();
            self.faults.push(Fault {
                at_s: at,
                kill: kill.clone(),
                restart: Vec::new(),
                partition: Vec::new(),
                heal: false,
            });
            self.faults.push(Fault {
                at_s: at + churn.down_s,
                kill: Vec::new(),
                restart: kill,
                partition: Vec::new(),
                heal: false,
            });
            at += churn.every_s;
        }
        self.faults.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
    }

    fn check(&self) -> Result<()> {
        if self.peers == 0 {
            bail!("`peers` must be at least 1");
        }
        let out_of_range = |i: usize| i >= self.peers;
        let special = self.catchup.is_some() as usize
            + self.lookups.is_some() as usize
            + self.names.is_some() as usize;
        if special > 1 {
            bail!("a scenario has at most one of `[catchup]`, `[lookups]` and `[names]`");
        }
        match &self.posts {
            Some(posts) => {
                if posts.rate_per_s.is_nan() || posts.rate_per_s <= 0.0 {
                    bail!("`posts.rate_per_s` must be above 0");
                }
                if self.authors().iter().any(|&a| out_of_range(a)) || self.authors().is_empty() {
                    bail!("`posts.authors` must name 1 to {} peers", self.peers);
                }
            }
            None if special == 0 => {
                bail!("a scenario needs `[posts]` (or `[catchup]`, `[lookups]` or `[names]`)")
            }
            None => {}
        }
        if let Some(churn) = &self.churn {
            if !(churn.every_s > 0.0 && churn.for_s >= 0.0 && churn.down_s >= 0.0) {
                bail!("`churn`: `every_s` must be above 0, `for_s` and `down_s` at least 0");
            }
            if !(0.0..=1.0).contains(&churn.fraction) {
                bail!("`churn.fraction` must be between 0 and 1");
            }
            if churn.down_s >= churn.every_s {
                bail!(
                    "`churn.down_s` must be shorter than `every_s` (peers come back before the next round)"
                );
            }
            if churn.spare.iter().any(|&p| out_of_range(p)) {
                bail!("`churn.spare` names a peer beyond {}", self.peers - 1);
            }
        }
        for list in &self.follows.list {
            if out_of_range(list.author) || list.followers.iter().any(|&f| out_of_range(f)) {
                bail!("`follows.list` names a peer beyond {}", self.peers - 1);
            }
            if list.followers.contains(&list.author) {
                bail!("`follows.list`: peer {} cannot follow itself", list.author);
            }
        }
        let mut last = 0.0;
        for fault in &self.faults {
            if fault.at_s.is_nan() || fault.at_s < last {
                bail!("`faults`: `at_s` must be ≥ 0 and in order");
            }
            last = fault.at_s;
            if fault
                .kill
                .iter()
                .chain(&fault.restart)
                .chain(fault.partition.iter().flatten())
                .any(|&p| out_of_range(p))
            {
                bail!("`faults` names a peer beyond {}", self.peers - 1);
            }
            if fault.partition.len() == 1 {
                bail!("`faults.partition` needs at least two groups");
            }
            let mut grouped: Vec<usize> = fault.partition.iter().flatten().copied().collect();
            grouped.sort_unstable();
            if grouped.windows(2).any(|w| w[0] == w[1]) {
                bail!("`faults.partition`: a peer is in two groups");
            }
        }
        Ok(())
    }

    pub(crate) fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("scenario")
    }

    /// The authors' peer indices.
    pub(crate) fn authors(&self) -> Vec<usize> {
        match self.posts.as_ref().map(|p| &p.authors) {
            None => Vec::new(),
            Some(Authors::Count(n)) => (0..*n).collect(),
            Some(Authors::List(list)) => list.clone(),
        }
    }

    /// For each author, the peers that follow it.
    pub(crate) fn followers(&self) -> HashMap<usize, Vec<usize>> {
        let mut map: HashMap<usize, Vec<usize>> = HashMap::new();
        for author in self.authors() {
            let entry = map.entry(author).or_default();
            if self.follows.all {
                entry.extend((0..self.peers).filter(|&p| p != author));
            }
        }
        for list in &self.follows.list {
            let entry = map.entry(list.author).or_default();
            for &f in &list.followers {
                if !entry.contains(&f) {
                    entry.push(f);
                }
            }
        }
        map
    }
}

/// Per-peer resource use, read from /proc at the end.
#[derive(Debug, Serialize)]
pub(crate) struct PeerUsage {
    pub(crate) index: usize,
    pub(crate) pid: u32,
    /// VmRSS at the end of the run.
    pub(crate) rss_mb: f64,
    /// VmHWM: the peak resident set.
    pub(crate) rss_peak_mb: f64,
    /// CPU time (user + system) over the measured phase (posting and settling), as a
    /// percentage of one core.
    pub(crate) cpu_pct: f64,
}

/// Latency percentiles (`null` in JSON when nothing was measured).
#[derive(Debug, Serialize, Default, Clone, Copy)]
pub(crate) struct Percentiles {
    pub(crate) p50: f64,
    pub(crate) p90: f64,
    pub(crate) p99: f64,
    pub(crate) max: f64,
}

impl Percentiles {
    /// Nearest-rank percentiles of `values` (sorted here), rounded to 0.01.
    pub(crate) fn of(values: &mut [f64]) -> Percentiles {
        values.sort_by(f64::total_cmp);
        let at = |p: f64| {
            values
                .get(((values.len().max(1) - 1) as f64 * p).round() as usize)
                .copied()
                .unwrap_or(f64::NAN)
        };
        Percentiles {
            p50: round2(at(0.5)),
            p90: round2(at(0.9)),
            p99: round2(at(0.99)),
            max: round2(values.last().copied().unwrap_or(f64::NAN)),
        }
    }

    /// Nothing measured.
    pub(crate) fn none() -> Percentiles {
        Percentiles {
            p50: f64::NAN,
            p90: f64::NAN,
            p99: f64::NAN,
            max: f64::NAN,
        }
    }
}

/// Start-up figures of the daemons of a fresh network.
#[derive(Debug, Serialize, Default)]
pub(crate) struct DaemonFigures {
    /// Spawn → first answered `GET /health`, per daemon, empty store.
    pub(crate) ready_ms: Percentiles,
    /// Resident set right after the whole network is up (nothing followed or posted yet).
    pub(crate) idle_rss_mb: Percentiles,
}

impl DaemonFigures {
    /// Reads the figures of a network that just came up.
    pub(crate) fn of(network: &Network) -> DaemonFigures {
        let mut ready: Vec<f64> = network.peers.iter().map(|p| p.ready_ms).collect();
        let mut rss: Vec<f64> = network
            .peers
            .iter()
            .filter_map(|p| net::proc_sample(p.pid))
            .map(|s| s.rss_kb as f64 / 1024.0)
            .collect();
        DaemonFigures {
            ready_ms: Percentiles::of(&mut ready),
            idle_rss_mb: Percentiles::of(&mut rss),
        }
    }
}

/// The report of a run.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) scenario: String,
    pub(crate) peers: usize,
    pub(crate) topology: String,
    pub(crate) seed: Option<u64>,
    pub(crate) authors: usize,
    pub(crate) posts: usize,
    pub(crate) expected: usize,
    pub(crate) delivered: usize,
    pub(crate) lost: usize,
    pub(crate) delivered_pct: f64,
    pub(crate) delivery_ms: Percentiles,
    pub(crate) duration_s: f64,
    pub(crate) up_s: f64,
    pub(crate) ready_s: f64,
    pub(crate) probe_rounds: usize,
    pub(crate) post_errors: usize,
    /// Posts not made because their author was down, or not acknowledged because it was
    /// killed while the request was in flight (faults).
    pub(crate) posts_skipped: usize,
    /// With faults: seconds from the last fault until every live follower held, for every
    /// author it follows, at least the newest entry that author had acknowledged at the last
    /// fault (posting may continue meanwhile); `null` without faults or if never.
    pub(crate) converged_s: Option<f64>,
    /// With faults: whether, at the end of the settle time, every live follower held the
    /// same head as the author (or the other followers) for every author.
    pub(crate) heads_agree: Option<bool>,
    pub(crate) sse_resets: u64,
    pub(crate) peer_usage: Vec<PeerUsage>,
    /// How partitions were made: `deny-list` (each peer refuses the other side's peer ids);
    /// `null` without partitions.
    pub(crate) partition_mode: Option<String>,
    pub(crate) daemon: DaemonFigures,
    /// `[catchup]`: entries verified and stored per second by the fresh follower.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) catchup_entries_per_s: Option<f64>,
    /// `[catchup]`: seconds from the follow's acknowledgement to the last entry stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) catchup_s: Option<f64>,
    /// `[catchup]`: raw single-signature ed25519 verifications per second on one core of this
    /// machine, measured in the same run (the baseline).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) verify_single_per_s: Option<f64>,
    /// `[catchup]`: `catchup_entries_per_s / verify_single_per_s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) catchup_vs_single_verify: Option<f64>,
    /// `[lookups]`: head lookup latency as timed by the daemon (`lookup_ms` of
    /// `GET /api/v1/heads/{did}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lookup_ms: Option<Percentiles>,
    /// `[lookups]`: the same lookups timed by the client (HTTP round trip included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lookup_client_ms: Option<Percentiles>,
    /// `[lookups]`: lookups made, and those that found no head or an older head than posted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lookups: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lookup_failures: Option<usize>,
    /// `[follow_many]`: the follower's figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) follow_many: Option<crate::follow_many::Figures>,
    /// `[names]`: claims, lookups and races of names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) names: Option<crate::names::Figures>,
    /// The latency samples behind `delivery_ms` (or `lookup_ms`, or `names.claim_ms`), for
    /// `--svg`.
    #[serde(skip)]
    pub(crate) samples_ms: Vec<f64>,
    pub(crate) passed: bool,
    pub(crate) failures: Vec<String>,
}

impl Report {
    /// A report of `scenario` with nothing measured yet.
    pub(crate) fn empty(scenario: &Scenario, network: &Network) -> Report {
        Report {
            scenario: scenario.name().to_owned(),
            peers: scenario.peers,
            topology: scenario.topology.name().to_owned(),
            seed: network.seed,
            authors: 0,
            posts: 0,
            expected: 0,
            delivered: 0,
            lost: 0,
            delivered_pct: 100.0,
            delivery_ms: Percentiles::none(),
            duration_s: 0.0,
            up_s: 0.0,
            ready_s: 0.0,
            probe_rounds: 0,
            post_errors: 0,
            posts_skipped: 0,
            converged_s: None,
            heads_agree: None,
            sse_resets: 0,
            peer_usage: Vec::new(),
            partition_mode: None,
            daemon: DaemonFigures::of(network),
            catchup_entries_per_s: None,
            catchup_s: None,
            verify_single_per_s: None,
            catchup_vs_single_verify: None,
            lookup_ms: None,
            lookup_client_ms: None,
            lookups: None,
            lookup_failures: None,
            follow_many: None,
            names: None,
            samples_ms: Vec::new(),
            passed: true,
            failures: Vec::new(),
        }
    }
}

/// What one follower's SSE client has read: entry id → when it was read.
#[derive(Default)]
struct Received {
    at: HashMap<String, Instant>,
    resets: u64,
}

type Inbox = Arc<Mutex<Received>>;

/// Opens the SSE stream of a peer and records every `entry` event into `inbox`.
async fn open_sse(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    inbox: Inbox,
) -> Result<tokio::task::JoinHandle<()>> {
    let response = client
        .get(format!("{api}/api/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("GET {api}/api/v1/events"))?;
    if !response.status().is_success() {
        bail!("GET {api}/api/v1/events: {}", response.status());
    }
    Ok(tokio::spawn(async move {
        let mut stream = response.bytes_stream();
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            let now = Instant::now();
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let kind = event
                    .lines()
                    .find_map(|l| l.strip_prefix("event:"))
                    .map(str::trim);
                let Ok(mut inbox) = inbox.lock() else { return };
                match kind {
                    Some("entry") => {
                        let data = event.lines().find_map(|l| l.strip_prefix("data:"));
                        let value: Value = data
                            .and_then(|d| serde_json::from_str(d.trim()).ok())
                            .unwrap_or_default();
                        if let Some(id) = value["id"].as_str() {
                            inbox.at.entry(id.to_owned()).or_insert(now);
                        }
                    }
                    Some("reset") => inbox.resets += 1,
                    _ => {}
                }
            }
        }
    }))
}

/// The ids of `author`'s entries stored on a peer (every page of its feed).
async fn feed_ids(
    client: &reqwest::Client,
    api: &str,
    token: &str,
    author: &str,
) -> Result<std::collections::HashSet<String>> {
    let mut ids = std::collections::HashSet::new();
    let mut before: Option<u64> = None;
    for _ in 0..1000 {
        let path = match before {
            Some(b) => format!("/api/v1/feeds/{author}?limit=200&all=true&before={b}"),
            None => format!("/api/v1/feeds/{author}?limit=200&all=true"),
        };
        let page = net::get_json(client, api, token, &path).await?;
        for entry in page["entries"].as_array().into_iter().flatten() {
            if let Some(id) = entry["id"].as_str() {
                ids.insert(id.to_owned());
            }
        }
        match page["next"].as_u64() {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    Ok(ids)
}

/// The seq of `author`'s newest entry stored on a peer (0 if none; `None` if it does not
/// answer).
async fn head_seq(client: &reqwest::Client, api: &str, token: &str, author: &str) -> Option<u64> {
    let page = net::get_json(
        client,
        api,
        token,
        &format!("/api/v1/feeds/{author}?limit=1&all=true"),
    )
    .await
    .ok()?;
    Some(page["entries"][0]["seq"].as_u64().unwrap_or(0))
}

/// Whether every live follower holds the newest head any live peer holds, for every author.
/// All peers are asked at once: one by one, a pass over a busy 20-peer network took seconds,
/// and that, not the network, decided when convergence was seen.
async fn converged(
    client: &reqwest::Client,
    network: &Network,
    tokens: &[String],
    live: &[bool],
    live_followers: &HashMap<usize, Vec<usize>>,
) -> bool {
    let checks = live_followers.iter().map(|(&a, list)| async move {
        let did = &network.peers[a].author;
        let holders = list.iter().copied().chain(live[a].then_some(a));
        let seqs = futures::future::join_all(
            holders.map(|p| head_seq(client, &network.peers[p].api, &tokens[p], did)),
        )
        .await;
        let seqs: Option<Vec<u64>> = seqs.into_iter().collect();
        seqs.is_some_and(|seqs| seqs.windows(2).all(|w| w[0] == w[1]))
    });
    futures::future::join_all(checks)
        .await
        .into_iter()
        .all(|ok| ok)
}

/// Aborts the SSE readers when dropped.
struct Readers(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Readers {
    fn drop(&mut self) {
        self.0.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

/// One acknowledged post.
struct Acked {
    id: String,
    author: usize,
    seq: u64,
    /// When its `POST` was sent. Not when the answer came: the answer waits for the post's
    /// global slug claim (up to 3 s, after the post is stored and sent), so followers usually
    /// have it before the author's client does.
    at: Instant,
}

/// Whether every live follower of every author holds at least seq `targets[author]` of its
/// feed.
async fn caught_up(
    client: &reqwest::Client,
    network: &Network,
    tokens: &[String],
    live: &[bool],
    followers: &HashMap<usize, Vec<usize>>,
    targets: &HashMap<usize, u64>,
) -> bool {
    // Every (author, follower) pair at once, as in `converged`.
    let pairs = targets.iter().flat_map(|(&a, &target)| {
        followers[&a]
            .iter()
            .filter(|&&f| live[f])
            .map(move |&f| (a, f, target))
    });
    let checks = pairs.map(|(a, f, target)| async move {
        let did = &network.peers[a].author;
        head_seq(client, &network.peers[f].api, &tokens[f], did)
            .await
            .is_some_and(|seq| seq >= target)
    });
    futures::future::join_all(checks)
        .await
        .into_iter()
        .all(|ok| ok)
}

/// Runs a scenario on a fresh network in `dir`; the network is stopped before this returns
/// (also on error, through `Network`'s drop).
pub(crate) async fn run(scenario: &Scenario, kith: &Path, dir: &Path) -> Result<Report> {
    if let Some(catchup) = &scenario.catchup {
        return crate::catchup::run(scenario, catchup, kith, dir).await;
    }
    if let Some(lookups) = &scenario.lookups {
        return crate::lookup::run(scenario, lookups, kith, dir).await;
    }
    if let Some(names) = &scenario.names {
        return crate::names::run(scenario, names, kith, dir).await;
    }
    let posts = scenario
        .posts
        .as_ref()
        .ok_or_else(|| anyhow!("the scenario has no `[posts]`"))?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(16)
        .build()?;
    let authors = scenario.authors();
    let followers = scenario.followers();
    let all_followers: Vec<usize> = {
        let mut all: Vec<usize> = followers.values().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    };

    let started = Instant::now();
    out!(
        "{}: starting {} peers ({}) in {}",
        scenario.name(),
        scenario.peers,
        scenario.topology.name(),
        dir.display()
    );
    let mut network = Network::up(
        kith,
        dir,
        scenario.peers,
        scenario.topology,
        scenario.seed,
        &client,
    )
    .await?;
    let up_s = started.elapsed().as_secs_f64();
    let mut report = Report::empty(scenario, &network);
    let tokens: Vec<String> = network
        .peers
        .iter()
        .map(net::PeerInfo::token)
        .collect::<Result<_>>()?;

    // One SSE client per follower, opened before anything is posted.
    let inboxes: HashMap<usize, Inbox> = all_followers
        .iter()
        .map(|&f| (f, Inbox::default()))
        .collect();
    let mut readers = Readers(Vec::new());
    for &f in &all_followers {
        let peer = &network.peers[f];
        readers
            .0
            .push(open_sse(&client, &peer.api, &tokens[f], Arc::clone(&inboxes[&f])).await?);
    }

    // Follows: each follower follows its authors, followers in parallel.
    let mut follows_of: HashMap<usize, Vec<usize>> = HashMap::new();
    for (&author, list) in &followers {
        for &f in list {
            follows_of.entry(f).or_default().push(author);
        }
    }
    let peers = &network.peers;
    futures::future::try_join_all(follows_of.iter().map(|(&f, authors)| {
        let client = &client;
        let tokens = &tokens;
        async move {
            for &a in authors {
                net::post_json(
                    client,
                    &peers[f].api,
                    &tokens[f],
                    "/api/v1/follows",
                    &json!({ "author": peers[a].author }),
                )
                .await
                .with_context(|| format!("peer {f} following peer {a}"))?;
            }
            anyhow::Ok(())
        }
    }))
    .await?;
    if let Some(many) = &scenario.follow_many {
        report.follow_many =
            Some(crate::follow_many::follow_and_idle(many, &client, &network, &tokens).await?);
    }

    // Ready: rounds of one probe post per author until a round reaches every follower
    // within the probe window.
    let ready_started = Instant::now();
    let ready_deadline = Duration::from_secs_f64(scenario.ready.timeout_s);
    let window = Duration::from_millis(scenario.ready.probe_window_ms);
    let mut probe_rounds = 0;
    loop {
        probe_rounds += 1;
        let mut probes = Vec::new();
        for &a in &authors {
            let entry = net::post_json(
                &client,
                &network.peers[a].api,
                &tokens[a],
                "/api/v1/posts",
                &json!({ "text": format!("probe {probe_rounds} from peer {a}") }),
            )
            .await?;
            let id = entry["id"]
                .as_str()
                .ok_or_else(|| anyhow!("a post answer without id: {entry}"))?
                .to_owned();
            probes.push((a, id));
        }
        let count_missing = || {
            probes
                .iter()
                .map(|(a, id)| {
                    followers[a]
                        .iter()
                        .filter(|f| !inboxes[f].lock().is_ok_and(|r| r.at.contains_key(id)))
                        .count()
                })
                .sum::<usize>()
        };
        let round_start = Instant::now();
        let mut missing = count_missing();
        while missing > 0 && round_start.elapsed() < window {
            tokio::time::sleep(POLL).await;
            missing = count_missing();
        }
        if missing == 0 {
            break;
        }
        if ready_started.elapsed() > ready_deadline {
            bail!(
                "the network did not become ready within {ready_deadline:?}: in probe round \
                 {probe_rounds}, {missing} (probe, follower) deliveries were missing after {window:?}; \
                 logs are in {}/peer-*/daemon.log",
                dir.display()
            );
        }
    }
    let ready_s = ready_started.elapsed().as_secs_f64();
    out!(
        "{}: up in {up_s:.1} s, ready after {probe_rounds} probe round(s) in {ready_s:.1} s; posting",
        scenario.name()
    );

    // Measured phase: posting, with the faults on their timeline beside it.
    let ticks = net::clock_ticks();
    let pids_before: Vec<u32> = network.peers.iter().map(|p| p.pid).collect();
    let before: Vec<Option<net::ProcSample>> = pids_before
        .iter()
        .map(|&pid| net::proc_sample(pid))
        .collect();
    let measure_start = Instant::now();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    // The current API of every peer (a restart changes it) and which peers are down.
    let apis: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(
        network.peers.iter().map(|p| p.api.clone()).collect(),
    ));
    let down: Arc<Mutex<Vec<bool>>> = Arc::new(Mutex::new(vec![false; scenario.peers]));
    let gap = Duration::from_secs_f64(1.0 / posts.rate_per_s);
    // Three times the planned posting time, plus 30 s: a daemon that acknowledges posts
    // slowly ends the posting instead of stretching the run without bound.
    let posting_deadline = gap * (3 * posts.posts_per_author as u32) + Duration::from_secs(30);
    let posters = futures::future::join_all(authors.iter().map(|&a| {
        let client = &client;
        let token = tokens[a].clone();
        let acked = Arc::clone(&acked);
        let apis = Arc::clone(&apis);
        let down = Arc::clone(&down);
        let count = posts.posts_per_author;
        async move {
            let (mut errors, mut skipped) = (0, 0);
            let mut interval = tokio::time::interval(gap);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for i in 0..count {
                interval.tick().await;
                if measure_start.elapsed() > posting_deadline {
                    eprintln!(
                        "peer {a}: the posting deadline ({posting_deadline:?}) passed; {} posts not made count as lost",
                        count - i
                    );
                    errors += count - i;
                    break;
                }
                if down.lock().is_ok_and(|d| d[a]) {
                    skipped += 1;
                    continue;
                }
                let api = apis.lock().map(|apis| apis[a].clone()).unwrap_or_default();
                let text = format!("post {i} from peer {a}: a short post of ordinary length");
                let sent = Instant::now();
                match net::post_json(
                    client,
                    &api,
                    &token,
                    "/api/v1/posts",
                    &json!({ "text": text }),
                )
                .await
                {
                    Ok(entry) => {
                        if let Some(id) = entry["id"].as_str()
                            && let Ok(mut acked) = acked.lock()
                        {
                            acked.push(Acked {
                                id: id.to_owned(),
                                author: a,
                                seq: entry["seq"].as_u64().unwrap_or(0),
                                at: sent,
                            });
                        }
                    }
                    // Killed while the request was in flight: never acknowledged, so not a
                    // loss; counted with the posts skipped while the author was down.
                    Err(e) if down.lock().is_ok_and(|d| d[a]) => {
                        skipped += 1;
                        eprintln!("peer {a}: post {i} interrupted by a kill (not acknowledged): {e:#}");
                    }
                    Err(e) => {
                        errors += 1;
                        eprintln!("peer {a}: post {i} failed: {e:#}");
                    }
                }
            }
            (a, errors, skipped)
        }
    }));
    let mut restarted: Vec<usize> = Vec::new();
    let mut partitioned = false;
    let faults = async {
        let mut last_fault = None;
        for fault in &scenario.faults {
            tokio::time::sleep_until((measure_start + Duration::from_secs_f64(fault.at_s)).into())
                .await;
            for &k in &fault.kill {
                if let Ok(mut down) = down.lock() {
                    down[k] = true;
                }
                network.kill(k)?;
                out!(
                    "{:>6.2} s: killed peer {k}",
                    measure_start.elapsed().as_secs_f64()
                );
            }
            for &r in &fault.restart {
                // Through peers that run now: its original bootstrap peers may be down.
                let live: Vec<usize> = down
                    .lock()
                    .map(|d| (0..d.len()).filter(|&p| !d[p] && p != r).collect())
                    .unwrap_or_default();
                network.restart(r, &live, &client).await?;
                let api = network.peers[r].api.clone();
                if inboxes.contains_key(&r) {
                    readers
                        .0
                        .push(open_sse(&client, &api, &tokens[r], Arc::clone(&inboxes[&r])).await?);
                }
                if let Ok(mut apis) = apis.lock() {
                    apis[r] = api;
                }
                if let Ok(mut down) = down.lock() {
                    down[r] = false;
                }
                restarted.push(r);
                out!(
                    "{:>6.2} s: restarted peer {r}",
                    measure_start.elapsed().as_secs_f64()
                );
            }
            let live: Vec<bool> = down
                .lock()
                .map(|d| d.iter().map(|d| !d).collect())
                .unwrap_or_default();
            if !fault.partition.is_empty() {
                partition(&client, &network, &tokens, &fault.partition, &live).await?;
                partitioned = true;
                out!(
                    "{:>6.2} s: partitioned into {}",
                    measure_start.elapsed().as_secs_f64(),
                    fault
                        .partition
                        .iter()
                        .map(|g| format!("{g:?}"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
            }
            if fault.heal {
                heal(&client, &network, &tokens, &live).await?;
                out!("{:>6.2} s: healed", measure_start.elapsed().as_secs_f64());
            }
            last_fault = Some(Instant::now());
        }
        // Recovery: every live follower holds everything its authors had acknowledged at
        // the last fault (posting may go on meanwhile, so heads never stand still).
        let Some(fault_at) = last_fault else {
            return anyhow::Ok((None, None));
        };
        let mut targets: HashMap<usize, u64> = HashMap::new();
        for post in acked.lock().map_err(|_| anyhow!("poisoned"))?.iter() {
            let target = targets.entry(post.author).or_default();
            *target = (*target).max(post.seq);
        }
        let deadline = Duration::from_secs_f64(scenario.expect.settle_s)
            .max(posting_deadline.saturating_sub(measure_start.elapsed()));
        loop {
            let live: Vec<bool> = down
                .lock()
                .map(|d| d.iter().map(|d| !d).collect())
                .unwrap_or_default();
            if caught_up(&client, &network, &tokens, &live, &followers, &targets).await {
                return Ok((Some(fault_at), Some(Instant::now())));
            }
            if fault_at.elapsed() > deadline {
                return Ok((Some(fault_at), None));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let (posted, recovery) = tokio::join!(posters, faults);
    let (last_fault, recovered_at) = recovery?;
    let post_errors: usize = posted.iter().map(|p| p.1).sum();
    let posts_skipped: usize = posted.iter().map(|p| p.2).sum();
    let acked = std::mem::take(&mut *acked.lock().map_err(|_| anyhow!("poisoned"))?);
    let live: Vec<bool> = down
        .lock()
        .map_err(|_| anyhow!("poisoned"))?
        .iter()
        .map(|d| !d)
        .collect();
    // The followers that count: those running at the end.
    let live_followers: HashMap<usize, Vec<usize>> = followers
        .iter()
        .map(|(&a, list)| (a, list.iter().copied().filter(|&f| live[f]).collect()))
        .collect();

    // Posts attempted (not skipped because their author was down) × live followers; a post
    // the author's API refused counts as lost.
    let attempted: HashMap<usize, usize> = posted
        .iter()
        .map(|&(a, _, skipped)| (a, posts.posts_per_author - skipped))
        .collect();
    let expected: usize = authors
        .iter()
        .map(|a| live_followers[a].len() * attempted[a])
        .sum();
    // Entries a restarted follower holds though its SSE client may not have seen them (it
    // was down, or they arrived before the client reconnected): read from its store.
    let mut stored: HashMap<usize, std::collections::HashSet<String>> = HashMap::new();
    let delivered_to =
        |post: &Acked, f: usize, stored: &HashMap<usize, std::collections::HashSet<String>>| {
            inboxes[&f]
                .lock()
                .is_ok_and(|r| r.at.contains_key(&post.id))
                || stored.get(&f).is_some_and(|s| s.contains(&post.id))
        };
    let count_delivered = |stored: &HashMap<usize, std::collections::HashSet<String>>| {
        acked
            .iter()
            .map(|post| {
                live_followers[&post.author]
                    .iter()
                    .filter(|&&f| delivered_to(post, f, stored))
                    .count()
            })
            .sum::<usize>()
    };
    let acked_deliveries: usize = acked.iter().map(|p| live_followers[&p.author].len()).sum();
    let settle = Duration::from_secs_f64(scenario.expect.settle_s);
    let settle_start = Instant::now();
    let mut delivered = count_delivered(&stored);
    let mut converged_at: Option<Instant> = None;
    let mut last_store_read = Instant::now() - Duration::from_secs(10);
    loop {
        let need_convergence = last_fault.is_some() && converged_at.is_none();
        if (delivered >= acked_deliveries && !need_convergence) || settle_start.elapsed() >= settle
        {
            break;
        }
        if last_store_read.elapsed() >= Duration::from_millis(500)
            && (!restarted.is_empty() || need_convergence)
        {
            last_store_read = Instant::now();
            for &f in restarted.iter().filter(|&&f| live[f]) {
                let mut ids = std::collections::HashSet::new();
                for (&a, list) in &followers {
                    if list.contains(&f) {
                        ids.extend(
                            feed_ids(
                                &client,
                                &network.peers[f].api,
                                &tokens[f],
                                &network.peers[a].author,
                            )
                            .await
                            .unwrap_or_default(),
                        );
                    }
                }
                stored.insert(f, ids);
            }
            if need_convergence
                && converged(&client, &network, &tokens, &live, &live_followers).await
            {
                converged_at = Some(Instant::now());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        delivered = count_delivered(&stored);
    }
    let converged_s = match (last_fault, recovered_at) {
        (Some(fault), Some(at)) => Some(round2(at.duration_since(fault).as_secs_f64())),
        _ => None,
    };
    let heads_agree = last_fault.map(|_| converged_at.is_some());
    let after: Vec<Option<net::ProcSample>> = network
        .peers
        .iter()
        .zip(&pids_before)
        .map(|(p, &pid)| {
            (p.pid == pid && live[p.index])
                .then(|| net::proc_sample(pid))
                .flatten()
        })
        .collect();

    // Latencies, and the last delivery time for the duration.
    let mut ms = Vec::with_capacity(expected);
    let mut last = measure_start;
    for post in &acked {
        for f in &live_followers[&post.author] {
            if let Ok(inbox) = inboxes[f].lock()
                && let Some(at) = inbox.at.get(&post.id)
            {
                ms.push(at.saturating_duration_since(post.at).as_secs_f64() * 1000.0);
                last = last.max(*at);
            }
        }
    }
    last = acked.iter().map(|p| p.at).fold(last, Instant::max);
    let duration_s = last.duration_since(measure_start).as_secs_f64();
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| {
        ms.get(((ms.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let delivery_ms = Percentiles {
        p50: round2(at(0.5)),
        p90: round2(at(0.9)),
        p99: round2(at(0.99)),
        max: round2(ms.last().copied().unwrap_or(f64::NAN)),
    };
    let sse_resets = inboxes
        .values()
        .map(|i| i.lock().map_or(0, |r| r.resets))
        .sum();
    let peer_usage: Vec<PeerUsage> = network
        .peers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (rss_mb, rss_peak_mb, cpu_pct) = match (before[i], after[i]) {
                (Some(b), Some(e)) => {
                    let secs = e.at.duration_since(b.at).as_secs_f64().max(1e-3);
                    let cpu = (e.cpu_ticks.saturating_sub(b.cpu_ticks)) as f64 / ticks;
                    (
                        e.rss_kb as f64 / 1024.0,
                        e.hwm_kb as f64 / 1024.0,
                        cpu / secs * 100.0,
                    )
                }
                _ => (f64::NAN, f64::NAN, f64::NAN),
            };
            PeerUsage {
                index: i,
                pid: p.pid,
                rss_mb: round2(rss_mb),
                rss_peak_mb: round2(rss_peak_mb),
                cpu_pct: round2(cpu_pct),
            }
        })
        .collect();

    drop(readers);
    let outcomes = network.stop();
    for o in outcomes.iter().filter(|o| o.how != "exited 0") {
        eprintln!("peer {} (pid {}): {}", o.index, o.pid, o.how);
    }

    let lost = expected - delivered.min(expected);
    let delivered_pct = if expected == 0 {
        100.0
    } else {
        delivered as f64 * 100.0 / expected as f64
    };
    let mut failures = Vec::new();
    if delivered_pct < scenario.expect.min_delivered_pct {
        failures.push(format!(
            "delivered {delivered_pct:.2} % < min_delivered_pct {}",
            scenario.expect.min_delivered_pct
        ));
    }
    if let Some(max) = scenario.expect.max_p50_ms
        && (delivery_ms.p50.is_nan() || delivery_ms.p50 > max)
    {
        failures.push(format!("p50 {} ms > max_p50_ms {max}", delivery_ms.p50));
    }
    if let Some(max) = scenario.expect.max_p99_ms
        && (delivery_ms.p99.is_nan() || delivery_ms.p99 > max)
    {
        failures.push(format!("p99 {} ms > max_p99_ms {max}", delivery_ms.p99));
    }
    if let Some(max) = scenario.expect.max_converged_s
        && last_fault.is_some()
        && converged_s.is_none_or(|c| c > max)
    {
        failures.push(match converged_s {
            Some(c) => format!("converged {c} s after the last fault > max_converged_s {max}"),
            None => format!(
                "not converged within settle_s {} after the last fault",
                scenario.expect.settle_s
            ),
        });
    }
    if let (Some(many), Some(figures)) = (&scenario.follow_many, report.follow_many.as_mut()) {
        let usage = &peer_usage[many.follower];
        figures.end_rss_mb = usage.rss_mb;
        failures.extend(crate::follow_many::check(&scenario.expect, figures));
    }
    if heads_agree == Some(false) {
        failures.push(format!(
            "the live followers' heads did not agree within settle_s {}",
            scenario.expect.settle_s
        ));
    }
    report.authors = authors.len();
    report.posts = authors.len() * posts.posts_per_author;
    report.expected = expected;
    report.delivered = delivered;
    report.lost = lost;
    report.delivered_pct = round2(delivered_pct);
    report.delivery_ms = delivery_ms;
    report.samples_ms = ms;
    report.duration_s = round2(duration_s);
    report.up_s = round2(up_s);
    report.ready_s = round2(ready_s);
    report.probe_rounds = probe_rounds;
    report.post_errors = post_errors;
    report.posts_skipped = posts_skipped;
    report.converged_s = converged_s;
    report.heads_agree = heads_agree;
    report.sse_resets = sse_resets;
    report.peer_usage = peer_usage;
    report.partition_mode = partitioned.then(|| "deny-list".to_owned());
    report.passed = failures.is_empty();
    report.failures = failures;
    Ok(report)
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Every peer in a group of `groups` denies every peer of the other groups; returns how
/// many peers were told.
async fn partition(
    client: &reqwest::Client,
    network: &Network,
    tokens: &[String],
    groups: &[Vec<usize>],
    live: &[bool],
) -> Result<usize> {
    let mut told = 0;
    for (g, group) in groups.iter().enumerate() {
        let others: Vec<&str> = groups
            .iter()
            .enumerate()
            .filter(|&(o, _)| o != g)
            .flat_map(|(_, other)| other.iter().map(|&p| network.peers[p].peer_id.as_str()))
            .collect();
        for &p in group.iter().filter(|&&p| live[p]) {
            net::post_json(
                client,
                &network.peers[p].api,
                &tokens[p],
                "/api/v1/denied-peers",
                &json!({ "peers": others }),
            )
            .await
            .with_context(|| format!("peer {p}: denying the other side of the partition"))?;
            told += 1;
        }
    }
    Ok(told)
}

/// Every running peer forgets its denied peers.
async fn heal(
    client: &reqwest::Client,
    network: &Network,
    tokens: &[String],
    live: &[bool],
) -> Result<()> {
    for (p, peer) in network.peers.iter().enumerate().filter(|&(p, _)| live[p]) {
        net::delete_json(client, &peer.api, &tokens[p], "/api/v1/denied-peers")
            .await
            .with_context(|| format!("peer {p}: healing the partition"))?;
    }
    Ok(())
}

/// Prints a report for people.
pub(crate) fn print(report: &Report) {
    out!();
    out!(
        "scenario {}: {} peers, {} topology, {} authors, {} posts",
        report.scenario,
        report.peers,
        report.topology,
        report.authors,
        report.posts
    );
    out!(
        "{:>10} {:>10} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10}",
        "expected",
        "delivered",
        "lost",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "resets",
        "duration s"
    );
    out!(
        "{:>10} {:>10} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9} {:>10.2}",
        report.expected,
        report.delivered,
        report.lost,
        report.delivery_ms.p50,
        report.delivery_ms.p90,
        report.delivery_ms.p99,
        report.delivery_ms.max,
        report.sse_resets,
        report.duration_s
    );
    let rss: Vec<f64> = report.peer_usage.iter().map(|u| u.rss_mb).collect();
    let cpu: Vec<f64> = report.peer_usage.iter().map(|u| u.cpu_pct).collect();
    // Peers down at the end have no figures (NaN): leave them out.
    let stats = |v: &[f64]| {
        let known: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        let max = known.iter().copied().fold(f64::NAN, f64::max);
        let mean = known.iter().sum::<f64>() / known.len().max(1) as f64;
        (mean, max)
    };
    let (rss_mean, rss_max) = stats(&rss);
    let (cpu_mean, cpu_max) = stats(&cpu);
    if !report.peer_usage.is_empty() {
        out!(
            "per peer: rss mean {rss_mean:.1} MB, max {rss_max:.1} MB; cpu mean {cpu_mean:.1} %, max {cpu_max:.1} % (measured phase)"
        );
    }
    out!(
        "daemons at start: ready p50 {:.1} ms, max {:.1} ms; idle rss p50 {:.1} MB, max {:.1} MB",
        report.daemon.ready_ms.p50,
        report.daemon.ready_ms.max,
        report.daemon.idle_rss_mb.p50,
        report.daemon.idle_rss_mb.max
    );
    if let (Some(rate), Some(secs), Some(base), Some(ratio)) = (
        report.catchup_entries_per_s,
        report.catchup_s,
        report.verify_single_per_s,
        report.catchup_vs_single_verify,
    ) {
        out!(
            "catch-up: {rate:.0} entries/s ({secs:.2} s); single verify {base:.0}/s; ratio {ratio:.2}"
        );
    }
    if let (Some(ms), Some(client_ms)) = (report.lookup_ms, report.lookup_client_ms) {
        out!(
            "lookups: {} made, {} failed; daemon p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.2} ms; client p50 {:.2} / p99 {:.2} ms",
            report.lookups.unwrap_or(0),
            report.lookup_failures.unwrap_or(0),
            ms.p50,
            ms.p90,
            ms.p99,
            ms.max,
            client_ms.p50,
            client_ms.p99
        );
    }
    if let Some(names) = &report.names {
        out!(
            "names: {} claims, {} failed; p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.2} ms (request to answer)",
            names.claims,
            names.claim_failures,
            names.claim_ms.p50,
            names.claim_ms.p90,
            names.claim_ms.p99,
            names.claim_ms.max
        );
        out!(
            "names: {} lookups, {} wrong owner, {} failed; p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.2} ms",
            names.lookups,
            names.lookup_wrong_owner,
            names.lookup_failures,
            names.lookup_ms.p50,
            names.lookup_ms.p90,
            names.lookup_ms.p99,
            names.lookup_ms.max
        );
        if names.race_rounds > 0 {
            out!(
                "names: {} race rounds of {} claimants: {} with several winners, {} with none, {} not resolving to the winner; answers {:?}",
                names.race_rounds,
                names.race_claimants,
                names.race_multiple_winners,
                names.race_no_winner,
                names.race_lookup_mismatch,
                names.race_answers
            );
        }
        out!(
            "names: daemons' cpu (all {} together, % of one core): {:.0} % while claiming, {:.0} % while looking up{}",
            report.peers,
            names.claim_phase_cpu_pct,
            names.lookup_phase_cpu_pct,
            if names.live_names > 0 {
                format!(
                    "; at most {} names held ({} releases, {} failed)",
                    names.live_names, names.releases, names.release_failures
                )
            } else {
                String::new()
            }
        );
        if names.pow_samples > 0 {
            out!(
                "names: proof of work in this process: p50 {:.2} / p90 {:.2} / p99 {:.2} / max {:.2} ms",
                names.pow_ms.p50,
                names.pow_ms.p90,
                names.pow_ms.p99,
                names.pow_ms.max
            );
        }
        for error in &names.errors {
            out!("names: {error}");
        }
    }
    if let Some(mode) = &report.partition_mode {
        out!("partitions made by: {mode}");
    }
    if let Some(converged) = report.converged_s {
        out!("converged {converged:.2} s after the last fault");
    }
    if report.posts_skipped > 0 {
        out!("posts skipped (author down): {}", report.posts_skipped);
    }
    if report.post_errors > 0 {
        out!("post errors: {}", report.post_errors);
    }
    if report.passed {
        out!("expectations: met");
    } else {
        for failure in &report.failures {
            out!("expectation not met: {failure}");
        }
    }
}

/// Writes the report as JSON.
pub(crate) fn write(report: &Report, path: &PathBuf) -> Result<()> {
    let text = serde_json::to_string_pretty(report)? + "\n";
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The start of a scenario that drives the daemons through their APIs: an HTTP client, the
/// network up (timed into the report), and every peer's API token, in peer order.
pub(crate) struct Started {
    /// The client every request goes through.
    pub(crate) client: reqwest::Client,
    /// The running peers.
    pub(crate) network: crate::net::Network,
    /// The report, with `up_s` filled in.
    pub(crate) report: Report,
    /// Each peer's API token.
    pub(crate) tokens: Vec<String>,
}

/// Starts `scenario`'s peers for a scenario kind that measures API requests.
pub(crate) async fn start_for_requests(
    scenario: &Scenario,
    kith: &std::path::Path,
    dir: &std::path::Path,
) -> anyhow::Result<Started> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(4)
        .build()?;
    let started = std::time::Instant::now();
    out!(
        "{}: starting {} peers ({})",
        scenario.name(),
        scenario.peers,
        scenario.topology.name()
    );
    let network = crate::net::Network::up(
        kith,
        dir,
        scenario.peers,
        scenario.topology,
        scenario.seed,
        &client,
    )
    .await?;
    let mut report = Report::empty(scenario, &network);
    report.up_s = round2(started.elapsed().as_secs_f64());
    let tokens: Vec<String> = network
        .peers
        .iter()
        .map(crate::net::PeerInfo::token)
        .collect::<anyhow::Result<_>>()?;
    Ok(Started {
        client,
        network,
        report,
        tokens,
    })
}

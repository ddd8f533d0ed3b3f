//! Scored routing: which host to fetch from, and the status beacon this node publishes.
//!
//! Every candidate host of a fetch (catch-up, gap fill, blobs, threads, resolving a link)
//! gets a score
//!
//! ```text
//! s = 1 / (i·lag_s + j·response_ms + k·distance_ms + l·error_rate)
//! ```
//!
//! with the weights of [`Weights`] (`[routing]` in the daemon's config). Where the figures
//! come from, best first:
//!
//! * `response_ms` and `error_rate`: this node's own measurements of the host's answers
//!   (moving averages over its recent fetches, [`EWMA_WEIGHT`]); before any, what the
//!   host's beacon says; before that, [`UNKNOWN_RESPONSE_MS`] and 0. A host can lie in its
//!   beacon; it cannot lie about how it answered us, and one failure or slow answer moves
//!   its score at once.
//! * `distance_ms`: the ping round trip while connected; else the great-circle distance of
//!   the two geohashes both operators set, as a round trip in fibre (1 ms per 100 km); else
//!   [`UNKNOWN_DISTANCE_MS`].
//! * `lag_s`: the host's own beacon (how far behind the heads it knows it is); 0 without one.
//!
//! Hosts are then tried in a random order weighted by the squared score (Efraimidis–Spirakis
//! sampling): the best host gets most requests, not all, so load spreads and the figures of
//! the others stay fresh.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kith_net::libp2p::PeerId;
use kith_net::{FetchRequest, FetchResponse, NetError, PeerStatus};
use kith_proto::AuthorId;
use kith_proto::beacon::{Beacon, BeaconFigures};
use tracing::debug;

use crate::node::{Node, now_ms};

/// The weights of the score; see the module docs. Larger means that figure counts more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Per second of replication lag.
    pub i: f64,
    /// Per millisecond of mean response time.
    pub j: f64,
    /// Per millisecond of distance (round trip).
    pub k: f64,
    /// Per unit of error rate (0 to 1).
    pub l: f64,
}

impl Default for Weights {
    /// A second of lag weighs like a millisecond of response or distance (lag in seconds is
    /// only large when a host is far behind), and every 1 % of errors like 10 ms: one failure
    /// in ten costs a host as much as answering 100 ms slower.
    fn default() -> Self {
        Self {
            i: 1.0,
            j: 1.0,
            k: 1.0,
            l: 1000.0,
        }
    }
}

impl Weights {
    /// Checks the weights: finite, not negative, not all zero.
    pub fn check(&self) -> Result<(), String> {
        let all = [self.i, self.j, self.k, self.l];
        if all.iter().any(|w| !w.is_finite() || *w < 0.0) || all.iter().all(|w| *w == 0.0) {
            return Err(format!(
                "routing weights i={} j={} k={} l={}: each must be a finite number ≥ 0, not all 0",
                self.i, self.j, self.k, self.l
            ));
        }
        Ok(())
    }
}

/// Routing and beacon settings of a node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingConfig {
    /// The score's weights.
    pub weights: Weights,
    /// This node's coarse location, set by its operator (a geohash; published in beacons,
    /// used for distances to hosts that are not connected). Never guessed.
    pub geohash: Option<String>,
    /// How often the beacon is published; `None` takes the profile's (60 s; 1 s for tests).
    pub beacon_interval: Option<Duration>,
    /// Test-only fault injection on the serving side of fetches.
    #[doc(hidden)]
    pub serve_fault: Option<ServeFault>,
}

/// A fault this node injects into its own answers to fetch requests, so tests can make a
/// slow or a failing host. Never set by configuration files.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServeFault {
    /// Wait this long before answering.
    pub delay: Duration,
    /// Answer nothing (the requester sees the request fail).
    pub fail: bool,
}

/// Weight of the newest observation in the moving averages.
pub const EWMA_WEIGHT: f64 = 0.3;
/// The response time assumed of a host nothing is known of.
pub const UNKNOWN_RESPONSE_MS: f64 = 50.0;
/// The distance assumed of a host whose round trip and location are unknown.
pub const UNKNOWN_DISTANCE_MS: f64 = 50.0;
/// Hosts whose answers this node remembers; the one heard from longest ago goes first.
pub const MAX_OBSERVED_HOSTS: usize = 4096;
/// Followed feeds whose lag is tracked at once.
const MAX_LAGGING_FEEDS: usize = 10_000;

/// A moving average of response times and of failures.
#[derive(Debug, Clone, Copy)]
struct Observed {
    response_ms: f64,
    error_rate: f64,
    samples: u64,
    last: Instant,
}

impl Observed {
    fn new(elapsed_ms: f64, ok: bool) -> Self {
        Self {
            response_ms: elapsed_ms,
            error_rate: if ok { 0.0 } else { 1.0 },
            samples: 1,
            last: Instant::now(),
        }
    }

    fn update(&mut self, elapsed_ms: f64, ok: bool) {
        self.response_ms += EWMA_WEIGHT * (elapsed_ms - self.response_ms);
        self.error_rate += EWMA_WEIGHT * (if ok { 0.0 } else { 1.0 } - self.error_rate);
        self.samples += 1;
        self.last = Instant::now();
    }
}

/// This node's observations: of the hosts it fetches from, of its own serving, and of the
/// feeds it is behind on.
#[derive(Debug, Default)]
pub(crate) struct Routing {
    hosts: Mutex<HashMap<PeerId, Observed>>,
    serving: Mutex<Option<Observed>>,
    /// Feeds whose newest known head we do not hold yet: that seq, and since when.
    behind: Mutex<HashMap<AuthorId, (u64, Instant)>>,
}

impl Routing {
    /// Records how a fetch from `peer` went.
    pub(crate) fn observe_host(&self, peer: PeerId, elapsed: Duration, ok: bool) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let Ok(mut hosts) = self.hosts.lock() else {
            return;
        };
        if let Some(seen) = hosts.get_mut(&peer) {
            seen.update(ms, ok);
            return;
        }
        if hosts.len() >= MAX_OBSERVED_HOSTS
            && let Some(oldest) = hosts.iter().min_by_key(|(_, o)| o.last).map(|(p, _)| *p)
        {
            hosts.remove(&oldest);
        }
        hosts.insert(peer, Observed::new(ms, ok));
    }

    /// Records that `peer` answered with invalid data: a failure, as if the request had
    /// failed (its error rate rises, its response time is kept).
    pub(crate) fn penalise(&self, peer: PeerId) {
        let response_ms = self
            .host(&peer)
            .map_or(UNKNOWN_RESPONSE_MS, |seen| seen.response_ms);
        self.observe_host(peer, Duration::from_secs_f64(response_ms / 1000.0), false);
    }

    /// Records how this node answered one fetch request.
    pub(crate) fn observe_serving(&self, elapsed: Duration, ok: bool) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        if let Ok(mut serving) = self.serving.lock() {
            match serving.as_mut() {
                Some(seen) => seen.update(ms, ok),
                None => *serving = Some(Observed::new(ms, ok)),
            }
        }
    }

    /// Notes that `author`'s feed reaches `seq` somewhere while this node holds `held`.
    pub(crate) fn note_head(&self, author: AuthorId, seq: u64, held: u64) {
        let Ok(mut behind) = self.behind.lock() else {
            return;
        };
        if seq <= held {
            behind.remove(&author);
            return;
        }
        if let Some((known, _)) = behind.get_mut(&author) {
            *known = (*known).max(seq);
        } else if behind.len() < MAX_LAGGING_FEEDS {
            behind.insert(author, (seq, Instant::now()));
        }
    }

    /// Stops counting `author`'s feed as lagging (it forked: it will never catch up).
    pub(crate) fn forget_lag(&self, author: AuthorId) {
        if let Ok(mut behind) = self.behind.lock() {
            behind.remove(&author);
        }
    }

    /// The followed feeds this node is behind on and for how long, forgetting those it has
    /// caught up with since.
    pub(crate) fn lagging(&self, store: &kith_store::Store) -> HashMap<AuthorId, Duration> {
        let Ok(mut behind) = self.behind.lock() else {
            return HashMap::new();
        };
        behind.retain(|author, (seq, _)| {
            store
                .head(author)
                .ok()
                .flatten()
                .is_none_or(|h| h.seq < *seq)
        });
        behind
            .iter()
            .map(|(author, (_, since))| (*author, since.elapsed()))
            .collect()
    }

    fn host(&self, peer: &PeerId) -> Option<Observed> {
        self.hosts.lock().ok()?.get(peer).copied()
    }
}

/// A host's score and the figures behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct HostScore {
    /// The host.
    pub peer: PeerId,
    /// The score: higher is better.
    pub score: f64,
    /// The response time used, ms.
    pub response_ms: f64,
    /// The error rate used, 0 to 1.
    pub error_rate: f64,
    /// The distance used (round trip), ms.
    pub distance_ms: f64,
    /// The replication lag used, seconds.
    pub lag_s: f64,
    /// Whether response and error rate are this node's own measurements.
    pub measured: bool,
    /// The host's latest beacon, if one is live.
    pub beacon: Option<Beacon>,
    /// How long ago that beacon arrived.
    pub beacon_age: Option<Duration>,
    /// The ping round trip, while connected.
    pub rtt: Option<Duration>,
}

/// The score formula (module docs).
pub fn score(
    weights: &Weights,
    lag_s: f64,
    response_ms: f64,
    distance_ms: f64,
    error_rate: f64,
) -> f64 {
    let cost = weights.i * lag_s
        + weights.j * response_ms
        + weights.k * distance_ms
        + weights.l * error_rate;
    // A perfect host (all zero) is not infinitely better than a nearly perfect one.
    1.0 / cost.max(1e-3)
}

impl Node {
    /// Scores `peers` from what this node measured and their beacons.
    pub(crate) async fn score_hosts(&self, peers: &[PeerId]) -> Vec<HostScore> {
        let statuses = self.inner.net.statuses().await.unwrap_or_default();
        let by_peer: HashMap<PeerId, &PeerStatus> =
            statuses.peers.iter().map(|s| (s.peer, s)).collect();
        peers
            .iter()
            .map(|peer| self.score_host(*peer, by_peer.get(peer).copied()))
            .collect()
    }

    fn score_host(&self, peer: PeerId, status: Option<&PeerStatus>) -> HostScore {
        let config = &self.inner.routing_config;
        let beacon = status.and_then(|s| s.beacon.clone());
        let figures = beacon.as_ref().map(Beacon::figures);
        let seen = self.inner.routing.host(&peer);
        let (response_ms, error_rate, measured) = match (seen, figures) {
            (Some(seen), _) => (seen.response_ms, seen.error_rate, true),
            // A response time of 0 means the host has answered no fetch yet: unknown.
            (None, Some(f)) if f.response_us > 0 => (
                f.response_us as f64 / 1000.0,
                f.error_ppm as f64 / 1e6,
                false,
            ),
            (None, Some(f)) => (UNKNOWN_RESPONSE_MS, f.error_ppm as f64 / 1e6, false),
            (None, None) => (UNKNOWN_RESPONSE_MS, 0.0, false),
        };
        let rtt = status.and_then(|s| s.rtt);
        let distance_ms = match (
            rtt,
            &config.geohash,
            figures.and_then(|f| f.geohash.as_deref()),
        ) {
            (Some(rtt), _, _) => rtt.as_secs_f64() * 1000.0,
            (None, Some(ours), Some(theirs)) => {
                kith_proto::beacon::geohash_distance_km(ours, theirs)
                    .map_or(UNKNOWN_DISTANCE_MS, |km| km / 100.0)
            }
            _ => UNKNOWN_DISTANCE_MS,
        };
        let lag_s = figures.map_or(0.0, |f| f.lag_s as f64);
        HostScore {
            peer,
            score: score(&config.weights, lag_s, response_ms, distance_ms, error_rate),
            response_ms,
            error_rate,
            distance_ms,
            lag_s,
            measured,
            beacon,
            beacon_age: status.and_then(|s| s.beacon_age),
            rtt,
        }
    }

    /// `peers` in the order to try them: a random order weighted by the squared score, so the best host
    /// is first most of the time (duplicates are dropped, the first place kept).
    pub(crate) async fn rank_hosts(&self, mut peers: Vec<PeerId>) -> Vec<PeerId> {
        let mut seen = std::collections::HashSet::new();
        peers.retain(|p| seen.insert(*p));
        if peers.len() < 2 {
            return peers;
        }
        let scores = self.score_hosts(&peers).await;
        // Efraimidis–Spirakis: key = u^(1/w), largest first, draws a weighted order. The
        // weight is the score squared: a host twice as good is asked four times as often, so
        // a clearly worse host gets little traffic while equal hosts still share the load.
        let mut keyed: Vec<(f64, PeerId)> = scores
            .iter()
            .map(|s| {
                let u: f64 = rand::random::<f64>().max(f64::MIN_POSITIVE);
                let weight = (s.score * s.score).max(1e-300);
                (u.powf(1.0 / weight), s.peer)
            })
            .collect();
        keyed.sort_by(|a, b| b.0.total_cmp(&a.0));
        keyed.into_iter().map(|(_, peer)| peer).collect()
    }

    /// Fetches from `peer`, recording how long it took and whether it worked.
    pub(crate) async fn fetch_observed(
        &self,
        peer: PeerId,
        request: FetchRequest,
    ) -> Result<FetchResponse, NetError> {
        let started = Instant::now();
        let result = self.inner.net.fetch(peer, request).await;
        let elapsed = started.elapsed();
        self.inner
            .routing
            .observe_host(peer, elapsed, result.is_ok());
        self.inner.metrics.fetch_sent(elapsed, result.is_ok());
        result
    }

    /// The fetch hosts this node knows of (every peer with a beacon or a round trip), scored,
    /// best first.
    pub async fn hosts(&self) -> Result<Vec<HostScore>, crate::NodeError> {
        let statuses = self.inner.net.statuses().await?;
        let mut scored: Vec<HostScore> = statuses
            .peers
            .iter()
            .map(|status| self.score_host(status.peer, Some(status)))
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score));
        Ok(scored)
    }

    /// Publishes raw bytes on `author`'s feed topic, as any relaying peer could (tests of
    /// what receivers do with entries: forks, forgeries).
    #[doc(hidden)]
    pub async fn gossip_raw(
        &self,
        author: AuthorId,
        bytes: Vec<u8>,
    ) -> Result<bool, crate::NodeError> {
        Ok(self.inner.net.publish(author, bytes).await?)
    }

    /// Publishes raw bytes as this node's beacon, as a forger would (tests of the checks).
    #[doc(hidden)]
    pub async fn publish_beacon_bytes(&self, bytes: Vec<u8>) -> Result<bool, crate::NodeError> {
        Ok(self.inner.net.publish_beacon_bytes(bytes).await?)
    }

    /// Beacons refused since start (invalid or forged).
    pub async fn beacons_refused(&self) -> Result<u64, crate::NodeError> {
        Ok(self.inner.net.statuses().await?.beacons_refused)
    }

    /// What this node's beacon says now.
    pub(crate) fn beacon_figures(&self) -> BeaconFigures {
        let inner = &self.inner;
        let serving = inner.routing.serving.lock().ok().and_then(|s| *s);
        let lag_s = inner
            .routing
            .lagging(&inner.store)
            .values()
            .map(Duration::as_secs)
            .max()
            .unwrap_or(0);
        BeaconFigures {
            revision: inner.store.revision().unwrap_or(0),
            response_us: serving.map_or(0, |s| (s.response_ms * 1000.0).round() as u64),
            error_ppm: serving.map_or(0, |s| (s.error_rate * 1e6).round() as u64),
            lag_s,
            uptime_s: inner.started.elapsed().as_secs(),
            geohash: inner.routing_config.geohash.clone(),
        }
    }

    /// Signs and publishes this node's beacon.
    pub(crate) async fn publish_beacon(&self) {
        let figures = self.beacon_figures();
        match Beacon::sign(&self.inner.node_key, now_ms(), figures) {
            Ok(beacon) => {
                if let Err(e) = self.inner.net.publish_beacon(&beacon).await {
                    debug!("beacon not published: {e}");
                }
            }
            Err(e) => debug!("cannot sign the beacon: {e}"),
        }
    }
}

/// Publishes the beacon every `every` until the node stops (the first soon after start).
pub(crate) fn spawn_beacons(node: &Node, every: Duration) {
    let node = node.clone();
    tokio::spawn(async move {
        let mut stop = node.inner.stop.subscribe();
        let mut wait = every.min(Duration::from_secs(2));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => node.publish_beacon().await,
                _ = stop.changed() => return,
            }
            wait = every;
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_score_prefers_fast_reliable_near_current_hosts() {
        let w = Weights::default();
        let good = score(&w, 0.0, 2.0, 0.5, 0.0);
        assert!(good > score(&w, 0.0, 150.0, 0.5, 0.0));
        assert!(good > score(&w, 0.0, 2.0, 0.5, 0.3));
        assert!(good > score(&w, 60.0, 2.0, 0.5, 0.0));
        assert!(good > score(&w, 0.0, 2.0, 80.0, 0.0));
        // The weights are what they say: zero weight, no effect.
        let no_errors = Weights { l: 0.0, ..w };
        assert_eq!(
            score(&no_errors, 0.0, 2.0, 0.5, 0.9),
            score(&no_errors, 0.0, 2.0, 0.5, 0.0)
        );
        assert!(Weights { i: -1.0, ..w }.check().is_err());
        assert!(
            Weights {
                i: 0.0,
                j: 0.0,
                k: 0.0,
                l: 0.0
            }
            .check()
            .is_err()
        );
        assert!(w.check().is_ok());
    }

    #[test]
    fn lag_runs_from_the_first_sight_of_a_head_not_held() {
        let routing = Routing::default();
        let author = kith_proto::Keypair::from_seed(&[1; 32]).author();
        routing.note_head(author, 10, 5);
        let since = routing.behind.lock().unwrap()[&author].1;
        // A newer head keeps the first sighting: the lag is how long we have been behind.
        routing.note_head(author, 12, 7);
        assert_eq!(routing.behind.lock().unwrap()[&author], (12, since));
        // Caught up: no longer behind.
        routing.note_head(author, 12, 12);
        assert!(routing.behind.lock().unwrap().is_empty());
    }

    #[test]
    fn one_failure_moves_a_host_at_once() {
        let routing = Routing::default();
        let peer = PeerId::random();
        for _ in 0..10 {
            routing.observe_host(peer, Duration::from_millis(2), true);
        }
        let before = routing.host(&peer).unwrap();
        routing.observe_host(peer, Duration::from_millis(2), false);
        let after = routing.host(&peer).unwrap();
        assert!(before.error_rate < 1e-3);
        assert!((after.error_rate - EWMA_WEIGHT).abs() < 1e-3, "{after:?}");
        let w = Weights::default();
        assert!(
            score(&w, 0.0, after.response_ms, 1.0, after.error_rate)
                < score(&w, 0.0, 100.0, 1.0, 0.0)
        );
    }
}

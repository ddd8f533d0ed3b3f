//! Prometheus metrics: one registry per node holding libp2p's families (`libp2p_…`, recorded
//! by the swarm task) and ours (`kith_…`), encoded in the OpenMetrics text format for
//! `GET /metrics`. docs/OPERATIONS.md ("Metrics") describes every family.
//!
//! Every label value comes from a fixed set (reason codes, route templates, status codes)
//! or is capped ([`MAX_LAG_SERIES`]), so no peer and no HTTP client can grow the number of
//! series.

use std::sync::{Mutex, Weak};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::node::Inner;

/// Most followed authors given a `kith_replication_lag_seconds` series each (the ones
/// furthest behind first); the maximum over all of them is `kith_replication_lag_max_seconds`.
pub const MAX_LAG_SERIES: usize = 1000;

/// Upper bounds (seconds) of the delivery latency buckets: a millisecond on a LAN to minutes
/// for a peer that was briefly away.
const DELIVERY_BUCKETS: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];
/// Upper bounds (seconds) of the fetch and API response time buckets.
const RESPONSE_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How an entry reached this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// Written here (a post, a bridge item, …).
    Local,
    /// Pushed by a peer over gossipsub.
    Gossip,
    /// Pulled by content hash or range from a peer (catch-up, gap fill, threads, parents).
    Fetch,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Local => "local",
            Source::Gossip => "gossip",
            Source::Fetch => "fetch",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RejectedLabels {
    source: &'static str,
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ApiLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The node's own metric families, updated where things happen.
#[derive(Debug)]
pub(crate) struct Families {
    entries_stored: Family<SourceLabels, Counter>,
    entries_rejected: Family<RejectedLabels, Counter>,
    delivery_latency: Histogram,
    fetch_served: Family<ResultLabels, Counter>,
    fetch_serve_time: Histogram,
    fetch_outgoing: Family<ResultLabels, Counter>,
    fetch_outgoing_time: Histogram,
    api_requests: Family<ApiLabels, Counter>,
    api_request_time: Family<RouteLabels, Histogram>,
}

impl Families {
    fn new() -> Self {
        let families = Self {
            entries_stored: Family::default(),
            entries_rejected: Family::default(),
            delivery_latency: Histogram::new(DELIVERY_BUCKETS),
            fetch_served: Family::default(),
            fetch_serve_time: Histogram::new(RESPONSE_BUCKETS),
            fetch_outgoing: Family::default(),
            fetch_outgoing_time: Histogram::new(RESPONSE_BUCKETS),
            api_requests: Family::default(),
            api_request_time: Family::new_with_constructor(|| Histogram::new(RESPONSE_BUCKETS)),
        };
        // The series every node has, at 0 from the start: a dashboard sees a family before
        // its first event (a family without series is not written at all).
        for source in [Source::Local, Source::Gossip, Source::Fetch] {
            families.entries_stored.get_or_create_owned(&SourceLabels {
                source: source.label(),
            });
        }
        for source in [Source::Gossip, Source::Fetch] {
            families
                .entries_rejected
                .get_or_create_owned(&RejectedLabels {
                    source: source.label(),
                    reason: "bad_signature",
                });
        }
        for result in ["ok", "failed"] {
            families
                .fetch_served
                .get_or_create_owned(&ResultLabels { result });
            families
                .fetch_outgoing
                .get_or_create_owned(&ResultLabels { result });
        }
        families
    }

    fn register(&self, registry: &mut Registry) {
        registry.register(
            "entries_stored",
            "Entries that became part of the store, by how they arrived (local, gossip, fetch)",
            self.entries_stored.clone(),
        );
        registry.register(
            "entries_rejected",
            "Entries refused and not stored, by how they arrived and why (stable reason codes)",
            self.entries_rejected.clone(),
        );
        registry.register_with_unit(
            "delivery_latency",
            "Time from an entry's signed timestamp to its storage here, for entries pushed by \
             gossip (includes the clock difference between author and follower)",
            Unit::Seconds,
            self.delivery_latency.clone(),
        );
        registry.register(
            "fetch_served",
            "Fetch requests from peers answered (ok) or not (failed)",
            self.fetch_served.clone(),
        );
        registry.register_with_unit(
            "fetch_serve_duration",
            "Time this node took to answer a peer's fetch request",
            Unit::Seconds,
            self.fetch_serve_time.clone(),
        );
        registry.register(
            "fetch_requests",
            "Fetch requests this node sent to peers, by result (ok, failed)",
            self.fetch_outgoing.clone(),
        );
        registry.register_with_unit(
            "fetch_request_duration",
            "Time a peer took to answer this node's fetch request (failures included)",
            Unit::Seconds,
            self.fetch_outgoing_time.clone(),
        );
        registry.register(
            "api_requests",
            "HTTP API requests by method, route template and status code",
            self.api_requests.clone(),
        );
        registry.register_with_unit(
            "api_request_duration",
            "Time the HTTP API took to answer, by route template",
            Unit::Seconds,
            self.api_request_time.clone(),
        );
    }
}

/// The registry and our families; lives in the node.
pub(crate) struct Metrics {
    registry: Mutex<Registry>,
    pub(crate) families: Families,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Our families in `registry` (which already holds libp2p's), under the prefix `kith_`.
    pub(crate) fn new(mut registry: Registry) -> Self {
        let families = Families::new();
        families.register(registry.sub_registry_with_prefix("kith"));
        Self {
            registry: Mutex::new(registry),
            families,
        }
    }

    /// Adds the families computed at scrape time (store size, replication lag, …); they
    /// read the node through `node`, which they do not keep alive.
    pub(crate) fn add_node_collector(&self, node: Weak<Inner>) {
        if let Ok(mut registry) = self.registry.lock() {
            registry
                .sub_registry_with_prefix("kith")
                .register_collector(Box::new(NodeCollector { node }));
        }
    }

    /// Every family in the OpenMetrics text format. Reads the store: call it off the async
    /// threads.
    pub(crate) fn encode(&self) -> String {
        let mut text = String::new();
        if let Ok(registry) = self.registry.lock() {
            // Writing to a String does not fail; a collector's error would only cut the text.
            let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        }
        text
    }

    pub(crate) fn stored(&self, source: Source, count: u64) {
        if count > 0 {
            self.families
                .entries_stored
                .get_or_create(&SourceLabels {
                    source: source.label(),
                })
                .inc_by(count);
        }
    }

    pub(crate) fn rejected(&self, source: Source, reason: &'static str, count: u64) {
        if count > 0 {
            self.families
                .entries_rejected
                .get_or_create(&RejectedLabels {
                    source: source.label(),
                    reason,
                })
                .inc_by(count);
        }
    }

    /// An entry signed at `ts_ms` arrived by gossip and was stored at `now_ms`.
    pub(crate) fn delivered(&self, ts_ms: u64, now_ms: u64) {
        let seconds = now_ms.saturating_sub(ts_ms) as f64 / 1000.0;
        self.families.delivery_latency.observe(seconds);
    }

    pub(crate) fn fetch_served(&self, elapsed: Duration, ok: bool) {
        self.families
            .fetch_served
            .get_or_create(&ResultLabels {
                result: if ok { "ok" } else { "failed" },
            })
            .inc();
        self.families
            .fetch_serve_time
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn fetch_sent(&self, elapsed: Duration, ok: bool) {
        self.families
            .fetch_outgoing
            .get_or_create(&ResultLabels {
                result: if ok { "ok" } else { "failed" },
            })
            .inc();
        self.families
            .fetch_outgoing_time
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn api_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let method = known_method(method);
        self.families
            .api_requests
            .get_or_create(&ApiLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
        self.families
            .api_request_time
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }
}

/// The method as a label: anything but the methods the API uses is `other`, so a client
/// cannot add series by inventing methods.
fn known_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The families read from the node at scrape time.
#[derive(Debug)]
struct NodeCollector {
    node: Weak<Inner>,
}

fn gauge(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let gauge = ConstGauge::new(value);
    let metric = encoder.encode_descriptor(name, help, unit, gauge.metric_type())?;
    gauge.encode(metric)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ProtocolLabels {
    protocol: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StatusLabels {
    status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AuthorLabels {
    author: String,
}

impl Collector for NodeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let Some(inner) = self.node.upgrade() else {
            return Ok(());
        };
        let store = &inner.store;
        if let Some(bytes) = store.file_bytes() {
            gauge(
                &mut encoder,
                "store",
                "Size of the database file",
                Some(&Unit::Bytes),
                bytes as f64,
            )?;
        }
        gauge(
            &mut encoder,
            "store_revision",
            "The store's revision: a counter that grows with every change (the beacon's)",
            None,
            store.revision().unwrap_or(0) as f64,
        )?;
        gauge(
            &mut encoder,
            "store_entries",
            "Entries in the store's log",
            None,
            store.entry_count().unwrap_or(0) as f64,
        )?;
        gauge(
            &mut encoder,
            "uptime",
            "Time since the node started",
            Some(&Unit::Seconds),
            inner.started.elapsed().as_secs_f64(),
        )?;

        // What the per-peer and per-IP limits refused.
        let throttled = inner.net.throttled();
        let mut family = encoder.encode_descriptor(
            "requests_throttled",
            "Inbound requests refused because their peer was over its rate or share, by \
             protocol",
            None,
            MetricType::Counter,
        )?;
        for (protocol, count) in [("fetch", throttled.fetch), ("names", throttled.names)] {
            let labels = ProtocolLabels { protocol };
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        let refused = ConstCounter::new(throttled.connections_per_ip);
        let metric = encoder.encode_descriptor(
            "connections_refused_per_ip",
            "Inbound connections refused because their IP address had the most allowed",
            None,
            refused.metric_type(),
        )?;
        refused.encode(metric)?;

        // Reachability (PROTOCOL §36): one series per verdict, 1 for the current one, so an
        // alert can fire on `kith_reachability{status="private"} == 1` without a relay.
        let reach = inner.net.reachability_summary();
        let mut family = encoder.encode_descriptor(
            "reachability",
            "Whether other peers reach this one: 1 for the current AutoNAT verdict (public: \
             dialled back; private: only through relays; unknown: no verdict yet), 0 for the \
             others",
            None,
            MetricType::Gauge,
        )?;
        for status in [
            kith_net::ReachabilityStatus::Public,
            kith_net::ReachabilityStatus::Private,
            kith_net::ReachabilityStatus::Unknown,
        ] {
            let labels = StatusLabels {
                status: status.as_str(),
            };
            let value = i64::from(status == reach.status);
            ConstGauge::new(value).encode(family.encode_family(&labels)?)?;
        }
        let mut family = encoder.encode_descriptor(
            "reachable_addresses",
            "Addresses others reach this peer at: direct ones a peer dialled back, and relayed \
             ones through relays that hold a reservation for it",
            None,
            MetricType::Gauge,
        )?;
        for (kind, count) in [
            ("direct", reach.direct_addrs),
            ("relayed", reach.relay_addrs),
        ] {
            let labels = KindLabels { kind };
            ConstGauge::new(count as i64).encode(family.encode_family(&labels)?)?;
        }

        // Replication lag: how long each followed feed has been known to reach further than
        // what this node holds (0 when it is current).
        let lagging = inner.routing.lagging(store);
        let followed = store.following(&inner.author).unwrap_or_default();
        let mut lags: Vec<(String, f64)> = followed
            .iter()
            .map(|author| {
                let lag = lagging.get(author).map_or(0.0, Duration::as_secs_f64);
                (author.to_string(), lag)
            })
            .collect();
        lags.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let max = lags.first().map_or(0.0, |(_, lag)| *lag);
        gauge(
            &mut encoder,
            "replication_lag_max",
            "The largest replication lag over all followed authors",
            Some(&Unit::Seconds),
            max,
        )?;
        gauge(
            &mut encoder,
            "feeds_behind",
            "Followed feeds known to reach further than what this node holds",
            None,
            lags.iter().filter(|(_, lag)| *lag > 0.0).count() as f64,
        )?;
        let unit = Unit::Seconds;
        let mut family = encoder.encode_descriptor(
            "replication_lag",
            "How long this node has been behind a followed author's known head (0 when \
             current); the furthest behind first, at most 1000 authors",
            Some(&unit),
            MetricType::Gauge,
        )?;
        for (author, lag) in lags.into_iter().take(MAX_LAG_SERIES) {
            let labels = AuthorLabels { author };
            ConstGauge::new(lag).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

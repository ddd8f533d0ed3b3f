//! `GET /metrics`: the text parses as OpenMetrics (what Prometheus reads), holds libp2p's
//! families and ours, needs the token, and moves as posts flow between two peers.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};

use kith_proto::AuthorId;
use reqwest::StatusCode;
use serde_json::json;
use support::{Server, wait_for};

/// One sample: metric name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A parsed exposition: each family's type, and the samples.
#[derive(Debug, Default)]
struct Exposition {
    types: BTreeMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    /// The sum of the samples named `name` whose labels include all of `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels).map(|s| s.value).sum()
    }

    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
    }

    fn has_family(&self, family: &str) -> bool {
        self.types.contains_key(family)
    }
}

/// Parses the OpenMetrics text format strictly: every line is a `# HELP`, `# TYPE`, `# UNIT`
/// of a family, or a sample of a declared family with a suffix its type allows; label values
/// are quoted and escaped; the text ends with `# EOF`. Panics with the offending line.
fn parse(text: &str) -> Exposition {
    let mut exposition = Exposition::default();
    assert!(text.ends_with("# EOF\n"), "no `# EOF` at the end");
    let body = &text[..text.len() - "# EOF\n".len()];
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let (keyword, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            let (family, value) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            assert!(valid_name(family), "bad family name in {line}");
            match keyword {
                "TYPE" => {
                    assert!(
                        [
                            "counter",
                            "gauge",
                            "histogram",
                            "info",
                            "unknown",
                            "stateset",
                            "summary",
                            "gaugehistogram"
                        ]
                        .contains(&value),
                        "unknown type in {line}"
                    );
                    let previous = exposition.types.insert(family.to_owned(), value.to_owned());
                    assert!(previous.is_none(), "family declared twice: {line}");
                }
                "HELP" | "UNIT" => {}
                _ => panic!("unknown comment: {line}"),
            }
            continue;
        }
        let sample = parse_sample(line);
        let family = family_of(&exposition.types, &sample.name)
            .unwrap_or_else(|| panic!("sample of no declared family: {line}"));
        let _ = family;
        exposition.samples.push(sample);
    }
    exposition
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// The declared family a sample belongs to, given the suffixes its type allows.
fn family_of(types: &BTreeMap<String, String>, name: &str) -> Option<String> {
    let suffixes: &[(&str, &[&str])] = &[
        ("counter", &["_total", "_created"]),
        ("gauge", &[""]),
        ("histogram", &["_bucket", "_sum", "_count", "_created"]),
        ("info", &["_info"]),
        ("unknown", &[""]),
    ];
    for (kind, allowed) in suffixes {
        for suffix in *allowed {
            if let Some(family) = name.strip_suffix(suffix)
                && types.get(family).map(String::as_str) == Some(*kind)
            {
                return Some(family.to_owned());
            }
        }
    }
    None
}

fn parse_sample(line: &str) -> Sample {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(at) => line.split_at(at),
        None => panic!("sample without a value: {line}"),
    };
    assert!(valid_name(name), "bad metric name in {line}");
    let mut labels = BTreeMap::new();
    let rest = if let Some(after) = rest.strip_prefix('{') {
        let mut chars = after.char_indices().peekable();
        let mut end = None;
        loop {
            let (start, c) = chars
                .next()
                .unwrap_or_else(|| panic!("open labels: {line}"));
            if c == '}' {
                end = end.or(Some(start));
                break;
            }
            if c == ',' {
                continue;
            }
            // key="value"
            let mut key = String::from(c);
            for (_, c) in chars.by_ref() {
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            assert!(valid_name(&key), "bad label name `{key}` in {line}");
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "unquoted: {line}");
            let mut value = String::new();
            loop {
                let (_, c) = chars.next().unwrap_or_else(|| panic!("open value: {line}"));
                match c {
                    '"' => break,
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => panic!("bad escape {other:?} in {line}"),
                    },
                    '\n' => panic!("raw newline in {line}"),
                    c => value.push(c),
                }
            }
            assert!(
                labels.insert(key.clone(), value).is_none(),
                "label `{key}` twice in {line}"
            );
        }
        let end = end.unwrap();
        &after[end + 1..]
    } else {
        rest
    };
    let value_text = rest
        .strip_prefix(' ')
        .unwrap_or_else(|| panic!("no space before the value: {line}"));
    // A timestamp may follow the value; ours never carry one.
    let value_text = value_text.split(' ').next().unwrap();
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        text => text
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// Checks a histogram's buckets are cumulative and end at `+Inf` = `_count`.
fn check_histogram(exposition: &Exposition, family: &str) {
    let buckets: Vec<&Sample> = exposition
        .samples
        .iter()
        .filter(|s| s.name == format!("{family}_bucket"))
        .collect();
    assert!(!buckets.is_empty(), "{family} has no buckets");
    let mut previous = 0.0;
    for bucket in &buckets {
        assert!(bucket.value >= previous, "{family} buckets not cumulative");
        previous = bucket.value;
    }
    let last = buckets.last().unwrap();
    assert_eq!(last.labels.get("le").map(String::as_str), Some("+Inf"));
    assert_eq!(last.value, exposition.sum(&format!("{family}_count"), &[]));
}

async fn scrape(server: &Server) -> Exposition {
    let response = server.get("/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse(&response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_and_parse_with_every_family() {
    let server = Server::start().await;
    server
        .expect_error(
            server.http.get(server.url("/metrics")),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    server
        .expect_error(
            server.http.get(server.url("/metrics")).bearer_auth("wrong"),
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        )
        .await;
    server.publish("counted").await;
    // A path no route knows is counted under one label, never under its own text.
    server
        .expect_error(
            server.get("/nothing/at/all/here"),
            StatusCode::NOT_FOUND,
            "no_route",
        )
        .await;

    let exposition = scrape(&server).await;
    for family in [
        // Ours.
        "kith_entries_stored",
        "kith_entries_rejected",
        "kith_delivery_latency_seconds",
        "kith_replication_lag_seconds",
        "kith_replication_lag_max_seconds",
        "kith_feeds_behind",
        "kith_fetch_served",
        "kith_fetch_serve_duration_seconds",
        "kith_fetch_requests",
        "kith_fetch_request_duration_seconds",
        "kith_api_requests",
        "kith_api_request_duration_seconds",
        "kith_store_bytes",
        "kith_store_revision",
        "kith_store_entries",
        "kith_uptime_seconds",
        "kith_reachability",
        "kith_reachable_addresses",
        // libp2p's: swarm, kad, gossipsub, identify, ping.
        "libp2p_swarm_new_listen_addr",
        "libp2p_kad_query_result_get_record_ok",
        "libp2p_gossipsub_messages",
        "libp2p_identify_errors",
        "libp2p_ping_rtt_seconds",
    ] {
        assert!(exposition.has_family(family), "no family {family}");
    }
    check_histogram(&exposition, "kith_delivery_latency_seconds");
    // Exactly one reachability verdict is current.
    assert_eq!(exposition.matching("kith_reachability", &[]).count(), 3);
    assert_eq!(exposition.sum("kith_reachability", &[]), 1.0);
    assert_eq!(
        exposition.sum("kith_entries_stored_total", &[("source", "local")]),
        1.0
    );
    assert!(exposition.sum("kith_store_bytes", &[]) > 0.0);
    assert!(exposition.sum("kith_store_revision", &[]) >= 1.0);
    assert_eq!(
        exposition.sum(
            "kith_api_requests_total",
            &[
                ("method", "POST"),
                ("route", "/api/v1/posts"),
                ("status", "201")
            ]
        ),
        1.0
    );
    assert_eq!(
        exposition.sum(
            "kith_api_requests_total",
            &[("route", "/metrics"), ("status", "401")]
        ),
        2.0
    );
    assert_eq!(
        exposition.sum(
            "kith_api_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    let routes: BTreeSet<&str> = exposition
        .matching("kith_api_requests_total", &[])
        .filter_map(|s| s.labels.get("route").map(String::as_str))
        .collect();
    assert!(
        routes
            .iter()
            .all(|r| *r == "unmatched" || r.starts_with('/')),
        "{routes:?}"
    );
    assert!(!routes.iter().any(|r| r.contains("nothing")), "{routes:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_delivery_histogram_moves_as_posts_flow() {
    let alice = Server::start().await;
    let addr = alice.node.listen_addrs().await.unwrap().remove(0);
    let bob = Server::start_with(vec![addr]).await;
    let did = alice.did();
    let author = AuthorId::parse_did(&did).unwrap();
    bob.expect(
        bob.post("/api/v1/follows").json(&json!({ "author": did })),
        StatusCode::CREATED,
    )
    .await;
    // Bob is behind on no one yet: a lag series for Alice, at 0.
    let before = scrape(&bob).await;
    assert_eq!(
        before
            .matching("kith_replication_lag_seconds", &[("author", &did)])
            .map(|s| s.value)
            .collect::<Vec<_>>(),
        [0.0]
    );
    // Gossip reaches Bob once he is in Alice's mesh for her own topic.
    let bob_peer = bob.node.peer_id().to_string();
    wait_for("Bob in Alice's mesh", || async {
        alice
            .node
            .mesh_peers(author)
            .await
            .unwrap()
            .contains(&bob_peer)
    })
    .await;

    let before = scrape(&bob).await;
    let delivered_before = before.sum("kith_delivery_latency_seconds_count", &[]);
    let gossip_before = before.sum("kith_entries_stored_total", &[("source", "gossip")]);
    const POSTS: u64 = 5;
    for n in 1..=POSTS {
        alice.publish(&format!("post {n}")).await;
        wait_for("the post on Bob's peer", || async {
            bob.node
                .store()
                .head(&author)
                .unwrap()
                .is_some_and(|h| h.seq == n)
        })
        .await;
    }
    let after = scrape(&bob).await;
    check_histogram(&after, "kith_delivery_latency_seconds");
    assert_eq!(
        after.sum("kith_delivery_latency_seconds_count", &[]) - delivered_before,
        POSTS as f64,
        "one delivery observed per post pushed"
    );
    assert_eq!(
        after.sum("kith_entries_stored_total", &[("source", "gossip")]) - gossip_before,
        POSTS as f64
    );
    assert!(after.sum("kith_delivery_latency_seconds_sum", &[]) >= 0.0);
    // libp2p's families count the connection between the two.
    assert!(after.sum("libp2p_swarm_connections_established_total", &[]) >= 1.0);
    // Alice published locally and was asked nothing she failed to answer.
    let alice_metrics = scrape(&alice).await;
    assert_eq!(
        alice_metrics.sum("kith_entries_stored_total", &[("source", "local")]),
        POSTS as f64
    );
    assert_eq!(
        alice_metrics.sum("kith_fetch_served_total", &[("result", "failed")]),
        0.0
    );
    alice.stop().await;
    bob.stop().await;
}

//! A peer that sends forged, non-canonical and oversized entries, over gossip and in fetch
//! responses: nothing of it is stored, every rejection is counted, no other peer sees it,
//! and honest traffic still flows. The adversary is a bare `kith-net` peer driven by the
//! test. (That gossipsub forwards exactly what the application accepts is shown on bare
//! peers in `crates/net/tests/gossip.rs`.)

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

mod support;

use support::wait_for;

use std::time::Duration;

use kith_net::libp2p::identity;
use kith_net::scoring::{GRAYLIST_AFTER_INVALID, GRAYLIST_THRESHOLD};
use kith_net::{FetchResponse, NetConfig, NetEvent, NetHandle};
use kith_node::{Node, NodeConfig, Profile};
use kith_proto::{Body, Draft, Keypair, sign_entry};
use kith_store::Store;
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(60);

async fn node(seed: u8, bootstrap: Vec<String>) -> (Node, Store) {
    node_with(seed, bootstrap, Profile::Test).await
}

async fn node_with(seed: u8, bootstrap: Vec<String>, profile: Profile) -> (Node, Store) {
    let config = NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        profile,
        sync_interval: Some(Duration::from_secs(3600)),
        ..NodeConfig::default()
    };
    support::start_node(seed, config).await
}

/// The adversary. A `hidden` one is a DHT client and keeps private addresses out of its
/// routing table: no one finds it through the DHT, though its own queries may still dial
/// the peers they learn of.
async fn adversary(bootstrap: Vec<String>, hidden: bool) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    use kith_net::libp2p::kad::Mode;
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap: bootstrap.iter().map(|a| a.parse().unwrap()).collect(),
        kad_mode: Some(if hidden { Mode::Client } else { Mode::Server }),
        allow_private_addresses: !hidden,
        gossip_heartbeat: Duration::from_millis(200),
        ..NetConfig::default()
    };
    kith_net::start(
        identity::Keypair::ed25519_from_bytes([66u8; 32]).unwrap(),
        config,
    )
    .await
    .unwrap()
}

/// Forgeries of the author's entry `genuine`: bad signature, another author's entry on this
/// author's topic, trailing byte (non-canonical), oversized.
fn forgeries(genuine: &[u8]) -> Vec<Vec<u8>> {
    let mut bad_signature = genuine.to_vec();
    let last = bad_signature.len() - 1;
    bad_signature[last] ^= 1;
    let mut trailing = genuine.to_vec();
    trailing.push(0);
    let stranger = Keypair::from_seed(&[99; 32]);
    let body = Body::Post {
        text: "not the author".into(),
    }
    .encode();
    let other_author = sign_entry(
        &stranger,
        &Draft::after(None, 1_764_000_000_000, "post", &body),
    )
    .unwrap();
    vec![
        bad_signature,
        other_author.bytes().to_vec(),
        trailing,
        vec![0xa0; 70 * 1024],
    ]
}

/// Every invalid entry of the test vectors (docs/test-vectors/invalid.json): each kind of
/// defect (bad signature, another key, non-canonical CBOR, trailing bytes, oversized, seq 0,
/// prev rules, future timestamp, …).
fn invalid_vectors() -> Vec<Vec<u8>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/test-vectors/invalid.json"
    );
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case["target"] == "entry")
        .map(|case| {
            let text = case["hex"].as_str().unwrap();
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

/// `count` distinct invalid entries: the test vectors, then forgeries of `genuine` (each
/// signature bit flipped, then trailing bytes that differ).
fn flood(genuine: &[u8], count: usize) -> Vec<Vec<u8>> {
    let mut flood = invalid_vectors();
    flood.extend(forgeries(genuine));
    let mut seen: std::collections::HashSet<Vec<u8>> = flood.iter().cloned().collect();
    let signature_end = genuine.len();
    let mut n = 0u32;
    while flood.len() < count {
        let mut bytes = genuine.to_vec();
        if n < 512 {
            // The signature is the envelope's last 64 bytes.
            let bit = n as usize;
            bytes[signature_end - 64 + bit / 8] ^= 1 << (bit % 8);
        } else {
            bytes.push(0x1a);
            bytes.extend_from_slice(&n.to_be_bytes());
        }
        n += 1;
        if seen.insert(bytes.clone()) {
            flood.push(bytes);
        }
    }
    flood
}

/// Forged entries sent by one peer over gossip (issue: 10,000 through every ingress).
const FLOOD: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_gossip_is_rejected_counted_and_reaches_no_one_else() {
    // B is the author; A follows B and is the only peer the adversary M and C talk to.
    let (b, _b_store) = node(20, vec![]).await;
    let b_addr = b.listen_addrs().await.unwrap().remove(0);
    let (a, a_store) = node(21, vec![b_addr]).await;
    let a_addr = a.listen_addrs().await.unwrap().remove(0);
    let (c, c_store) = node(22, vec![a_addr.clone()]).await;
    // M stays out of the DHT and talks to A only: whatever C gets of B's topic came
    // through A. M's own DHT queries would still learn C from A and dial it, so C denies M
    // (as a user would deny a peer that floods) before M joins.
    let (m, _m_events) = adversary(vec![], true).await;
    c.deny_peers(&[m.peer_id().to_string()]).await.unwrap();
    m.dial(a_addr.parse().unwrap()).await.unwrap();
    a.follow(b.author()).await.unwrap();
    c.follow(b.author()).await.unwrap();
    m.subscribe(b.author()).await.unwrap();
    let (a_peer, c_peer) = (a.peer_id(), c.peer_id());
    wait_for(
        "B to see A subscribed, and C in A's mesh for B",
        DEADLINE,
        || async {
            b.topic_peers(b.author()).await.unwrap().contains(&a_peer)
                && a.mesh_peers(b.author()).await.unwrap().contains(&c_peer)
        },
    )
    .await;
    let genuine = b.post("genuine 1").await.unwrap();
    wait_for("A and C to hold B's first post", DEADLINE, || async {
        a_store.head(&b.author()).unwrap().is_some() && c_store.head(&b.author()).unwrap().is_some()
    })
    .await;
    let m_peer = m.peer_id().to_string();
    wait_for("A to see M subscribed to B's topic", DEADLINE, || async {
        a.topic_peers(b.author()).await.unwrap().contains(&m_peer)
    })
    .await;

    let forged = flood(genuine.bytes(), FLOOD);
    assert_eq!(
        forged
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        FLOOD,
        "distinct messages (gossip drops repeats)"
    );
    let mut sent = 0;
    for bytes in &forged {
        // Anything over the frame limit is refused by M's own gossipsub before it leaves.
        if let Ok(true) = m.publish(b.author(), bytes.clone()).await {
            sent += 1;
        }
    }
    assert!(
        sent >= FLOOD * 9 / 10,
        "M sent only {sent} of its forgeries"
    );
    // The first few invalid messages graylist M on A (kith_net::scoring): A then ignores
    // all M sends, without even validating it.
    wait_for(
        "A to reject the forgeries and graylist M",
        DEADLINE,
        || async {
            a.status().await.unwrap().gossip_rejected >= u64::from(GRAYLIST_AFTER_INVALID)
                && a.gossip_score(&m_peer)
                    .await
                    .unwrap()
                    .is_some_and(|score| score < GRAYLIST_THRESHOLD)
        },
    )
    .await;
    // The metrics count them by reason (the vectors start with bad signatures), as many as
    // the status does.
    let metrics = a.metrics_text();
    let rejected: Vec<(&str, f64)> = metrics
        .lines()
        .filter_map(|line| {
            line.strip_prefix("kith_entries_rejected_total{source=\"gossip\",reason=\"")
        })
        .map(|rest| {
            let (reason, count) = rest.split_once("\"} ").unwrap();
            (reason, count.parse().unwrap())
        })
        .collect();
    assert!(
        rejected
            .iter()
            .any(|(reason, count)| *reason == "bad_signature" && *count >= 1.0),
        "{rejected:?}"
    );
    let total: f64 = rejected.iter().map(|(_, count)| count).sum();
    assert_eq!(total, a.status().await.unwrap().gossip_rejected as f64);

    // Honest traffic is unaffected, and it flows through A to C after the forgeries, so
    // if A had forwarded them C would have seen them first.
    b.post("genuine 2").await.unwrap();
    wait_for("the honest post on A and C", DEADLINE, || async {
        a_store
            .head(&b.author())
            .unwrap()
            .is_some_and(|h| h.seq == 2)
            && c_store
                .head(&b.author())
                .unwrap()
                .is_some_and(|h| h.seq == 2)
    })
    .await;
    let c_peers: Vec<String> = c
        .peers()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.peer_id)
        .collect();
    assert!(!c_peers.contains(&m_peer), "the test needs M and C apart");
    assert_eq!(
        c.status().await.unwrap().gossip_rejected,
        0,
        "a forgery reached C"
    );
    assert_eq!(
        a_store.entry_count().unwrap(),
        c_store.entry_count().unwrap()
    );
    for store in [&a_store, &c_store] {
        assert!(
            store
                .head(&Keypair::from_seed(&[99; 32]).author())
                .unwrap()
                .is_none(),
            "a forged feed was stored"
        );
        assert_eq!(store.pending_count().unwrap(), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_fetch_responses_store_nothing() {
    // B posts on a network of its own; M learns B's entries and forges them.
    let (b, b_store) = node(30, vec![]).await;
    for i in 0..5 {
        b.post(&format!("b {i}")).await.unwrap();
    }
    let genuine = b_store.entry_at(&b.author(), 1).unwrap().unwrap();

    // D knows only M, which claims to hold B's feed and answers fetches with forgeries.
    let (m, mut m_events) = adversary(vec![], false).await;
    let m_addr = m.listen_addrs().await.unwrap().remove(0).to_string();
    // Every kind of invalid entry, and forgeries of B's own.
    let mut forged = invalid_vectors();
    forged.extend(forgeries(genuine.bytes()));
    let sent = forged.len() as u64;
    tokio::spawn(async move {
        while let Some(event) = m_events.recv().await {
            if let NetEvent::Fetch { reply, .. } = event {
                let entries = forged
                    .iter()
                    .cloned()
                    .map(serde_bytes::ByteBuf::from)
                    .collect();
                let _ = reply.send(FetchResponse {
                    entries,
                    more: false,
                });
            }
        }
    });
    let (d, d_store) = node(31, vec![m_addr]).await;
    m.provide(b.author()).await.unwrap();
    d.follow(b.author()).await.unwrap();
    // One valid entry (B's own, in the forgeries) may be among them: the rest is refused.
    wait_for(
        "D to reject M's forged fetch response",
        DEADLINE,
        || async { d.status().await.unwrap().fetch_rejected >= sent - 1 },
    )
    .await;
    // M is penalised: its error rate is counted, so it is asked last next time.
    let m_peer = m.peer_id();
    let hosts = d.hosts().await.unwrap();
    let m_score = hosts.iter().find(|h| h.peer == m_peer).unwrap();
    assert!(m_score.error_rate > 0.0, "{m_score:?}");
    assert!(
        d_store.head(&b.author()).unwrap().is_none(),
        "nothing of B's feed came from M"
    );
    assert_eq!(
        d_store.entry_count().unwrap(),
        1,
        "only D's own follow entry"
    );

    // Honest traffic: B connects to D; B's next post arrives by gossip and the gap before it
    // is fetched from B.
    let d_addr = d.listen_addrs().await.unwrap().remove(0);
    b.connect(&d_addr).await.unwrap();
    let d_peer = d.peer_id();
    wait_for("B to see D subscribed", DEADLINE, || async {
        b.topic_peers(b.author()).await.unwrap().contains(&d_peer)
    })
    .await;
    b.post("b 5").await.unwrap();
    wait_for("D to hold B's whole feed", DEADLINE, || async {
        d_store
            .head(&b.author())
            .unwrap()
            .is_some_and(|h| h.seq == 6)
    })
    .await;
    for seq in 1..=6 {
        let stored = d_store.entry_at(&b.author(), seq).unwrap().unwrap();
        assert_eq!(
            stored.bytes(),
            b_store.entry_at(&b.author(), seq).unwrap().unwrap().bytes()
        );
    }
}

/// A second adversary identity (another peer id: its own request budget).
async fn adversary_with(seed: u8) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    use kith_net::libp2p::kad::Mode;
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        kad_mode: Some(Mode::Client),
        ..NetConfig::default()
    };
    kith_net::start(
        identity::Keypair::ed25519_from_bytes([seed; 32]).unwrap(),
        config,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_forged_name_claims_store_nothing_and_are_throttled() {
    use futures::StreamExt;
    use kith_net::{NameRequest, NameResponse};
    use kith_proto::names::NameClaim;

    let (replica, replica_store) = node(40, vec![]).await;
    let replica_addr = replica.listen_addrs().await.unwrap().remove(0);
    let replica_peer: kith_net::libp2p::PeerId = replica.peer_id().parse().unwrap();
    let (m, _m_events) = adversary_with(41).await;
    m.dial(replica_addr.parse().unwrap()).await.unwrap();

    // One valid claim, altered in 10,000 different ways (each byte, each xor value): every
    // one fails to decode or to verify.
    let mallory = Keypair::from_seed(&[42; 32]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let genuine = NameClaim::sign(&mallory, "mallory", now).unwrap();
    let bytes = genuine.encode().to_vec();
    let forged: Vec<Vec<u8>> = (0..FLOOD)
        .map(|i| {
            let mut altered = bytes.clone();
            altered[i % bytes.len()] ^= ((i / bytes.len()) % 255 + 1) as u8;
            altered
        })
        .collect();
    let answers: Vec<_> = futures::stream::iter(
        forged
            .into_iter()
            .map(|claim| m.name_request(replica_peer, NameRequest::Claim { claim })),
    )
    .buffer_unordered(32)
    .collect()
    .await;
    let accepted = answers
        .iter()
        .filter(|a| matches!(a, Ok(NameResponse::Accepted)))
        .count();
    let refused = answers
        .iter()
        .filter(|a| matches!(a, Ok(NameResponse::Refused { .. })))
        .count();
    let throttled = answers.iter().filter(|a| a.is_err()).count();
    assert_eq!(accepted, 0, "a forged claim was accepted");
    assert!(refused > 0, "some forgeries were checked and refused");
    assert!(throttled > 0, "the flood was cut at the peer's rate");
    assert_eq!(refused + throttled, FLOOD);
    assert!(replica_store.name_claim("mallory").unwrap().is_none());
    assert!(
        replica
            .metrics_text()
            .contains("kith_requests_throttled_total{protocol=\"names\"} ")
    );

    // Another peer's genuine claim is still taken at once.
    let (honest, _honest_events) = adversary_with(43).await;
    honest.dial(replica_addr.parse().unwrap()).await.unwrap();
    let answer = honest
        .name_request(
            replica_peer,
            NameRequest::Claim {
                claim: bytes.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(answer, NameResponse::Accepted);
    assert_eq!(
        replica_store
            .name_claim("mallory")
            .unwrap()
            .map(|c| c.owner()),
        Some(mallory.author())
    );
}

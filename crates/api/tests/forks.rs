//! An author who signs two entries at one seq has forked their feed: a follower keeps the
//! proof, shows it (`GET /api/v1/forks/{did}`, `fork_seq` on the feed), accepts nothing after
//! the fork, and does not fetch the feed again (no refetch loop).

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use kith_node::{Node, NodeConfig, Profile};
use kith_proto::chain::ForkProof;
use kith_proto::{Body, Draft, Keypair, sign_entry};
use kith_store::{Store, StoreConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Server, wait_for};

/// The forker's key: the test signs with it too.
const FORKER_SEED: [u8; 32] = [9; 32];

/// A sample of `kith_fetch_requests_total` (fetches this node sent), all results.
fn fetches_sent(node: &Node) -> f64 {
    node.metrics_text()
        .lines()
        .filter_map(|line| line.strip_prefix("kith_fetch_requests_total{"))
        .filter_map(|rest| rest.split_once("} "))
        .map(|(_, value)| value.parse::<f64>().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forked_feed_is_shown_frozen_and_not_fetched_again() {
    // The forker runs a node of its own; Bob follows it over the API.
    let store = Store::in_memory(StoreConfig::default()).unwrap();
    let forker = Node::start(
        NodeConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            profile: Profile::Test,
            ..NodeConfig::default()
        },
        store,
        Keypair::from_seed(&FORKER_SEED),
        [109; 32],
    )
    .await
    .unwrap();
    let addr = forker.listen_addrs().await.unwrap().remove(0);
    let bob = Server::start_with(vec![addr]).await;
    let author = forker.author();
    let did = author.to_did();
    let one = forker.post("one").await.unwrap();
    let two = forker.post("two").await.unwrap();
    bob.expect(
        bob.post("/api/v1/follows").json(&json!({ "author": did })),
        StatusCode::CREATED,
    )
    .await;
    let feed = |bob: &Server| {
        let request = bob.get(&format!("/api/v1/feeds/{did}"));
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    wait_for("Bob to hold the forker's two posts", || async {
        feed(&bob).await["entries"].as_array().unwrap().len() == 2
    })
    .await;
    assert_eq!(feed(&bob).await["fork_seq"], Value::Null);
    bob.expect_error(
        bob.get(&format!("/api/v1/forks/{did}")),
        StatusCode::NOT_FOUND,
        "not_forked",
    )
    .await;
    let bob_peer = bob.node.peer_id();
    wait_for("Bob in the forker's mesh", || async {
        forker.mesh_peers(author).await.unwrap().contains(&bob_peer)
    })
    .await;

    // A second, different entry at seq 2, validly signed by the author.
    let body = Body::Post {
        text: "two, told differently".into(),
    }
    .encode();
    let keypair = Keypair::from_seed(&FORKER_SEED);
    let conflicting = sign_entry(
        &keypair,
        &Draft::after(Some((1, one.id())), two.ts() + 1, "post", &body),
    )
    .unwrap();
    assert!(
        forker
            .gossip_raw(author, conflicting.bytes().to_vec())
            .await
            .unwrap()
    );
    let fork = loop {
        let response = bob
            .get(&format!("/api/v1/forks/{did}"))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            break response.json::<Value>().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(fork["author"], did.as_str());
    assert_eq!(fork["seq"], 2);
    let mut ids: Vec<&str> = fork["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected = vec![two.id().to_string(), conflicting.id().to_string()];
    expected.sort_unstable();
    assert_eq!(ids, expected);
    // Anyone can check the proof: it decodes and verifies as a fork of this author.
    let hex = fork["proof"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let proof = ForkProof::decode(&bytes, u64::MAX).unwrap();
    assert_eq!(proof.seq(), 2);
    assert_eq!(proof.entries().0.author(), author);
    assert_eq!(feed(&bob).await["fork_seq"], 2);

    // Frozen: the forker's next post (seq 3) is refused, and the feed is not fetched again
    // although the DHT head (3) is ahead of Bob's copy.
    forker.post("three").await.unwrap();
    wait_for("Bob to refuse the post after the fork", || async {
        bob.node
            .metrics_text()
            .contains("kith_entries_rejected_total{source=\"gossip\",reason=\"frozen\"} 1")
    })
    .await;
    let sent = fetches_sent(&bob.node);
    for _ in 0..3 {
        assert_eq!(bob.node.fetch_feed(author).await.unwrap(), 0);
    }
    assert_eq!(
        fetches_sent(&bob.node),
        sent,
        "a forked feed was fetched again"
    );
    let entries = feed(&bob).await["entries"].as_array().unwrap().len();
    assert_eq!(entries, 2, "nothing after the fork");

    bob.stop().await;
    forker.shutdown().await.unwrap();
}

//! Scored routing on real swarms: of three hosts of one feed, one fast, one slow (its
//! answers delayed) and one failing (it answers nothing), nearly every fetch goes to the
//! fast one; when it dies, fetches move on at once; forged beacons are dropped.

// Helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use kith_node::{Node, NodeConfig, RoutingConfig, ServeFault};
use kith_proto::Keypair;
use kith_proto::beacon::{Beacon, BeaconFigures};
use kith_store::{EntryState, Store, StoreConfig};
use support::{loopback_config, wait_for};

const DEADLINE: Duration = Duration::from_secs(60);
/// Entries resolved while all three hosts run, and after the fast one dies.
const BEFORE: usize = 60;
const AFTER: usize = 5;
/// The slow host's delay.
const SLOW: Duration = Duration::from_millis(150);

async fn start(seed: u8, bootstrap: Vec<String>, fault: Option<ServeFault>) -> Node {
    let config = NodeConfig {
        routing: RoutingConfig {
            serve_fault: fault,
            ..RoutingConfig::default()
        },
        ..loopback_config(bootstrap, None)
    };
    Node::start(
        config,
        Store::in_memory(StoreConfig::default()).unwrap(),
        Keypair::from_seed(&[seed; 32]),
        [seed.wrapping_add(100); 32],
    )
    .await
    .unwrap()
}

async fn served(node: &Node) -> u64 {
    node.status().await.unwrap().fetches_served
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_go_to_the_best_host_and_move_on_when_it_fails() {
    // The author, and three hosts that hold its feed.
    let author = start(1, Vec::new(), None).await;
    let first = author.listen_addrs().await.unwrap();
    let mut ids = Vec::new();
    for n in 0..BEFORE + AFTER {
        ids.push(author.post(&format!("entry {n}")).await.unwrap().id());
    }
    let good = start(2, first.clone(), None).await;
    let slow = start(
        3,
        first.clone(),
        Some(ServeFault {
            delay: SLOW,
            fail: false,
        }),
    )
    .await;
    let failing = start(
        4,
        first.clone(),
        Some(ServeFault {
            delay: Duration::ZERO,
            fail: true,
        }),
    )
    .await;
    for host in [&good, &slow, &failing] {
        host.follow(author.author()).await.unwrap();
    }
    for (name, host) in [("good", &good), ("slow", &slow), ("failing", &failing)] {
        wait_for(
            &format!("the {name} host to hold the feed"),
            DEADLINE,
            || async {
                host.store()
                    .head(&author.author())
                    .unwrap()
                    .is_some_and(|h| h.seq == (BEFORE + AFTER) as u64)
            },
        )
        .await;
    }
    // The author leaves: only the three hosts hold its entries.
    author.shutdown().await.unwrap();

    let mut bootstrap = Vec::new();
    for host in [&good, &slow, &failing] {
        bootstrap.extend(host.listen_addrs().await.unwrap());
    }
    let reader = start(5, bootstrap, None).await;
    // The reader hears the hosts' beacons: the slow one says it is slow, the failing one
    // that it fails (each measures its own serving), before the reader asked anything.
    wait_for("beacons from the three hosts", DEADLINE, || async {
        let hosts = reader.hosts().await.unwrap();
        [&good, &slow, &failing].iter().all(|host| {
            hosts
                .iter()
                .any(|h| h.peer.to_string() == host.peer_id() && h.beacon.is_some())
        })
    })
    .await;

    let before = [
        served(&good).await,
        served(&slow).await,
        served(&failing).await,
    ];
    for id in &ids[..BEFORE] {
        let state = reader.resolve(*id, None).await.unwrap();
        assert!(matches!(state, EntryState::Held(_)), "{id}: {state:?}");
    }
    let after = [
        served(&good).await,
        served(&slow).await,
        served(&failing).await,
    ];
    let asked: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    let total: u64 = asked.iter().sum();
    assert!(
        asked[0] * 10 >= total * 9,
        "fetches by host (good, slow, failing): {asked:?}; at least 90 % must go to the good one"
    );
    let scores = reader.hosts().await.unwrap();
    let score_of = |node: &Node| {
        scores
            .iter()
            .find(|h| h.peer.to_string() == node.peer_id())
            .map(|h| h.score)
            .unwrap()
    };
    assert!(score_of(&good) > score_of(&slow) && score_of(&good) > score_of(&failing));

    // The good host dies: the next fetch goes elsewhere and succeeds, within one request
    // timeout of the slow host (3 s per host asked), and the slow host serves it.
    good.shutdown().await.unwrap();
    let slow_before = served(&slow).await;
    for id in &ids[BEFORE..] {
        let started = Instant::now();
        let state = reader.resolve(*id, None).await.unwrap();
        assert!(matches!(state, EntryState::Held(_)), "{id}: {state:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3) + SLOW * 2,
            "took {:?}",
            started.elapsed()
        );
    }
    assert!(served(&slow).await >= slow_before + AFTER as u64);
    reader.shutdown().await.unwrap();
    slow.shutdown().await.unwrap();
    failing.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_beacons_are_dropped() {
    let honest = start(11, Vec::new(), None).await;
    let forger = start(12, honest.listen_addrs().await.unwrap(), None).await;
    // The honest node hears the forger's genuine beacons first (the mesh is up).
    wait_for("the forger's own beacon", DEADLINE, || async {
        honest
            .hosts()
            .await
            .unwrap()
            .iter()
            .any(|h| h.peer.to_string() == forger.peer_id() && h.beacon.is_some())
    })
    .await;
    // A beacon naming another node key, with a bad signature: a revision nobody has.
    let victim = Keypair::from_seed(&[99; 32]);
    let figures = BeaconFigures {
        revision: 987_654_321,
        ..BeaconFigures::default()
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let genuine = Beacon::sign(&victim, now, figures).unwrap();
    let mut forged = genuine.encode().to_vec();
    // The signature is the envelope's first field: flip a bit in it.
    forged[8] ^= 0x01;
    assert!(Beacon::decode(&forged, now).is_err());
    let refused_before = honest.beacons_refused().await.unwrap();
    wait_for("the forged beacon to be refused", DEADLINE, || async {
        let _ = forger.publish_beacon_bytes(forged.clone()).await;
        honest.beacons_refused().await.unwrap() > refused_before
    })
    .await;
    let hosts = honest.hosts().await.unwrap();
    assert!(
        hosts.iter().all(|h| h
            .beacon
            .as_ref()
            .is_none_or(|b| b.figures().revision != 987_654_321)),
        "a forged beacon was kept"
    );
    forger.shutdown().await.unwrap();
    honest.shutdown().await.unwrap();
}

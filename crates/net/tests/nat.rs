//! Reachability on real swarms over 127.0.0.1: AutoNAT v2 confirms an address another peer
//! dialled back, and a peer in the automatic DHT mode then answers DHT queries; a peer no one
//! can dial (it listens nowhere) takes a reservation on a relay, announces that it can be
//! reached through it, and is reached and gossiped with through it. (Real NATs, and hole
//! punching through them, are in `bin/kith/tests/nat.rs`, in network namespaces.)

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kith_net::libp2p::kad::Mode;
use kith_net::libp2p::multiaddr::Protocol;
use kith_net::libp2p::{Multiaddr, identity};
use kith_net::{NetConfig, NetEvent, NetHandle, ReachabilityStatus, ReachabilitySummary};
use kith_proto::Keypair;
use tokio::sync::mpsc;

/// AutoNAT probes every 5 s and relays are checked every 5 s; CI machines are slow.
const DEADLINE: Duration = Duration::from_secs(90);

async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn peer(
    seed: u8,
    listen: bool,
    kad_mode: Option<Mode>,
    relay_server: bool,
    bootstrap: Option<&NetHandle>,
) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    let bootstrap = match bootstrap {
        Some(other) => {
            let addr = other.listen_addrs().await.unwrap().remove(0);
            vec![addr.with(Protocol::P2p(other.peer_id()))]
        }
        None => Vec::new(),
    };
    let config = NetConfig {
        listen: if listen {
            vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()]
        } else {
            Vec::new()
        },
        bootstrap,
        kad_mode,
        relay_server,
        allow_private_addresses: true,
        gossip_heartbeat: Duration::from_millis(200),
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
async fn a_dialled_back_address_makes_a_peer_public_and_a_dht_server() {
    let (server, _server_events) = peer(1, true, Some(Mode::Server), false, None).await;
    let (auto, _auto_events) = peer(2, true, None, false, Some(&server)).await;
    let listen = auto.listen_addrs().await.unwrap().remove(0);

    // Until a dial-back proves it public (the first probe waits 5 s), the peer only asks.
    let first = auto.reachability().await.unwrap();
    assert_eq!(
        first.dht_server,
        first.status == ReachabilityStatus::Public,
        "{first:?}"
    );

    wait_for("the server to dial the automatic peer back", || async {
        auto.reachability().await.unwrap().status == ReachabilityStatus::Public
    })
    .await;
    let reach = auto.reachability().await.unwrap();
    assert!(
        reach.dht_server,
        "a public peer answers DHT queries: {reach:?}"
    );
    assert!(reach.probes_ok >= 1, "{reach:?}");
    // With port reuse the server sees (and dials back) the port we listen on.
    let external: Vec<Multiaddr> = reach
        .external_addrs
        .iter()
        .map(|a| a.clone().with(Protocol::P2p(auto.peer_id())))
        .collect();
    assert_eq!(external, vec![listen], "{reach:?}");
    assert!(
        reach.relay_addrs.is_empty(),
        "no relay for a public peer: {reach:?}"
    );
    // The summary metrics read without asking the swarm task says the same.
    assert_eq!(
        auto.reachability_summary(),
        ReachabilitySummary {
            status: ReachabilityStatus::Public,
            direct_addrs: 1,
            relay_addrs: 0,
        }
    );

    // A peer whose DHT mode is fixed keeps it.
    let server_reach = server.reachability().await.unwrap();
    assert!(server_reach.dht_server);
    assert!(!server_reach.relay_server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_no_one_can_dial_is_reached_and_gossiped_with_through_a_relay() {
    let (relay, _relay_events) = peer(11, true, Some(Mode::Server), true, None).await;
    // A relay is public by configuration: its listen address is external at once.
    let relay_reach = relay.reachability().await.unwrap();
    assert!(relay_reach.relay_server);
    assert_eq!(
        relay_reach.status,
        ReachabilityStatus::Public,
        "{relay_reach:?}"
    );
    assert_eq!(
        relay_reach.external_addrs[0]
            .clone()
            .with(Protocol::P2p(relay.peer_id())),
        relay.listen_addrs().await.unwrap().remove(0),
        "{relay_reach:?}"
    );
    // Neither B nor A listens: the only way to reach B is through the relay.
    let (b, mut b_events) = peer(12, false, None, false, Some(&relay)).await;
    let (a, _a_events) = peer(13, false, None, false, Some(&relay)).await;

    wait_for("B to hold a reservation on the relay", || async {
        !b.reachability().await.unwrap().relay_addrs.is_empty()
    })
    .await;
    let reach = b.reachability().await.unwrap();
    let relay_addr = reach.relay_addrs[0].clone();
    // The relay's address (it ends in the relay's id), the circuit, and B's id.
    let expected = relay
        .listen_addrs()
        .await
        .unwrap()
        .remove(0)
        .with(Protocol::P2pCircuit)
        .with(Protocol::P2p(b.peer_id()));
    assert_eq!(relay_addr, expected, "{reach:?}");
    assert!(
        !reach.dht_server,
        "a relayed peer does not answer DHT queries"
    );
    // One relay, one reservation; nothing direct (B listens nowhere).
    let summary = b.reachability_summary();
    assert_eq!(
        (summary.direct_addrs, summary.relay_addrs),
        (0, 1),
        "{summary:?}"
    );
    assert_ne!(summary.status, ReachabilityStatus::Public, "{summary:?}");
    // B's node is told, so it announces itself again at the relayed address.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let event = tokio::time::timeout_at(deadline.into(), b_events.recv())
            .await
            .expect("B was never told its addresses changed")
            .unwrap();
        if matches!(event, NetEvent::AddressesChanged) {
            break;
        }
    }

    // A dials B through the relay.
    a.dial(relay_addr).await.unwrap();
    wait_for("A connected to B through the relay", || async {
        a.peers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.peer_id == b.peer_id() && p.is_relayed())
    })
    .await;

    // Gossip flows over the relayed connection.
    let author = Keypair::from_seed(&[14; 32]).author();
    a.subscribe(author).await.unwrap();
    b.subscribe(author).await.unwrap();
    wait_for("A to see B on the topic", || async {
        a.topic_peers(author).await.unwrap().contains(&b.peer_id())
    })
    .await;
    let message = b"through the relay".to_vec();
    assert!(
        a.publish(author, message.clone()).await.unwrap(),
        "A had no one to send to"
    );
    let deadline = Instant::now() + DEADLINE;
    loop {
        let event = tokio::time::timeout_at(deadline.into(), b_events.recv())
            .await
            .expect("B never got A's message")
            .unwrap();
        if let NetEvent::Gossip { source, data, .. } = event {
            assert_eq!(source, a.peer_id());
            assert_eq!(data, message);
            break;
        }
    }
}

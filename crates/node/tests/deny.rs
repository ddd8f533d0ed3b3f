//! The deny list between real nodes on 127.0.0.1 (port 0): denying a connected peer
//! disconnects it and keeps it out both ways, and allowing it again reconnects within
//! seconds, without waiting for the next DHT query. Every wait is on a condition with a
//! deadline.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

mod support;

use support::wait_for;

use std::time::{Duration, Instant};

use kith_node::{Node, NodeConfig, NodeError, Profile};
use kith_proto::{AuthorId, Keypair};
use kith_store::{Store, StoreConfig};

/// Generous: CI machines are slow and shared.
const DEADLINE: Duration = Duration::from_secs(60);
/// How soon peers allowed again must be connected: far below the DHT's own 5-minute
/// bootstrap and the periodic catch-up (an hour here), so only the redial can do it.
const RECONNECT_DEADLINE: Duration = Duration::from_secs(15);
/// How long a post must stay away from a denied follower. Before the partition the same
/// post takes one gossip hop (well under 100 ms on loopback; the heartbeat is 200 ms).
const ABSENCE_WINDOW: Duration = Duration::from_secs(2);

struct Peer {
    node: Node,
    store: Store,
}

impl Peer {
    fn author(&self) -> AuthorId {
        self.node.author()
    }

    async fn addr(&self) -> String {
        self.node.listen_addrs().await.unwrap().remove(0)
    }

    async fn connected_to(&self, other: &Peer) -> bool {
        let id = other.node.peer_id();
        self.node
            .peers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.peer_id == id)
    }

    fn home_texts(&self) -> Vec<String> {
        let page = self.store.home(&self.author(), None, 10_000).unwrap();
        page.entries
            .iter()
            .rev()
            .filter_map(|e| e.body().text().map(str::to_owned))
            .collect()
    }
}

async fn start(seed: u8, bootstrap: Vec<String>) -> Peer {
    let store = Store::in_memory(StoreConfig::default()).unwrap();
    let config = NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        profile: Profile::Test,
        // Far away: whatever arrives came by gossip (or a gap fetch it triggered).
        sync_interval: Some(Duration::from_secs(3600)),
        ..NodeConfig::default()
    };
    let node = Node::start(
        config,
        store.clone(),
        Keypair::from_seed(&[seed; 32]),
        [seed.wrapping_add(100); 32],
    )
    .await
    .unwrap();
    Peer { node, store }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_peer_is_disconnected_kept_out_and_reconnected_when_allowed() {
    let b = start(31, vec![]).await;
    let b_addr = b.addr().await;
    let a = start(32, vec![b_addr.clone()]).await;
    let (a_id, b_id) = (a.node.peer_id(), b.node.peer_id());
    a.node.follow(b.author()).await.unwrap();
    wait_for("B to see A subscribed to B's topic", DEADLINE, || async {
        b.node
            .topic_peers(b.author())
            .await
            .unwrap()
            .contains(&a_id)
    })
    .await;
    wait_for("A's catch-up to end", DEADLINE, || async {
        a.node.status().await.unwrap().syncing == 0
    })
    .await;
    b.node.post("before").await.unwrap();
    wait_for("the first post on A", DEADLINE, || async {
        a.home_texts() == ["before"]
    })
    .await;

    // A denies B: the connection closes, on both sides.
    let denied = a
        .node
        .deny_peers(std::slice::from_ref(&b_id))
        .await
        .unwrap();
    assert_eq!(denied, std::slice::from_ref(&b_id));
    assert_eq!(
        a.node.denied_peers().await.unwrap(),
        std::slice::from_ref(&b_id)
    );
    wait_for("A and B to disconnect", DEADLINE, || async {
        !a.connected_to(&b).await && !b.connected_to(&a).await
    })
    .await;
    assert_eq!(a.node.status().await.unwrap().denied_peers, 1);

    // B's posts no longer reach A, and the two stay apart meanwhile.
    b.node.post("during 1").await.unwrap();
    b.node.post("during 2").await.unwrap();
    let window = Instant::now();
    while window.elapsed() < ABSENCE_WINDOW {
        assert!(!a.connected_to(&b).await, "A reconnected to a denied peer");
        assert!(
            !b.node
                .topic_peers(b.author())
                .await
                .unwrap()
                .contains(&a_id),
            "B still sees A on its topic"
        );
        assert_eq!(
            a.home_texts(),
            ["before"],
            "a post of a denied peer arrived"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Both ways: A will not dial B, and B's dial to A is refused (and counted).
    let error = a.node.connect(&b_addr).await.unwrap_err();
    assert!(error.to_string().contains("deny list"), "{error}");
    let refused_before = a.node.status().await.unwrap().denied_connections;
    b.node.connect(&a.addr().await).await.unwrap();
    wait_for("A to refuse B's dial", DEADLINE, || async {
        a.node.status().await.unwrap().denied_connections > refused_before
    })
    .await;
    assert!(!a.connected_to(&b).await);
    assert_eq!(a.home_texts(), ["before"]);

    // A allows B again: A redials at once (B has no reason to dial A for minutes).
    let allowed_at = Instant::now();
    assert!(
        a.node
            .allow_peers(std::slice::from_ref(&b_id))
            .await
            .unwrap()
            .is_empty()
    );
    wait_for("A and B to reconnect", RECONNECT_DEADLINE, || async {
        a.connected_to(&b).await && b.connected_to(&a).await
    })
    .await;
    let reconnected_in = allowed_at.elapsed();
    wait_for("B to see A on its topic again", DEADLINE, || async {
        b.node
            .topic_peers(b.author())
            .await
            .unwrap()
            .contains(&a_id)
    })
    .await;
    // The next post arrives by gossip, and the gap it reveals is fetched.
    b.node.post("after").await.unwrap();
    wait_for("every post on A", DEADLINE, || async {
        a.home_texts() == ["before", "during 1", "during 2", "after"]
    })
    .await;
    assert!(reconnected_in < RECONNECT_DEADLINE, "{reconnected_in:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deny_list_checks_its_input_and_allow_all_empties_it() {
    let a = start(33, vec![]).await;
    let others: Vec<String> = (0..3u8)
        .map(|i| {
            kith_net::libp2p::identity::Keypair::ed25519_from_bytes([i + 1; 32])
                .unwrap()
                .public()
                .to_peer_id()
                .to_string()
        })
        .collect();
    let mut sorted = others.clone();
    sorted.sort();
    assert_eq!(a.node.deny_peers(&others).await.unwrap(), sorted);

    // A malformed id or our own refuses the whole request.
    let fresh = kith_net::libp2p::identity::Keypair::generate_ed25519()
        .public()
        .to_peer_id()
        .to_string();
    let error = a
        .node
        .deny_peers(&[fresh.clone(), "not-a-peer".to_owned()])
        .await
        .unwrap_err();
    assert!(
        matches!(&error, NodeError::InvalidPeerId { peer, .. } if peer == "not-a-peer"),
        "{error:?}"
    );
    let error = a
        .node
        .deny_peers(&[fresh, a.node.peer_id()])
        .await
        .unwrap_err();
    assert!(matches!(error, NodeError::Invalid(_)), "{error:?}");
    assert_eq!(a.node.denied_peers().await.unwrap(), sorted);
    let error = a
        .node
        .allow_peers(&["not-a-peer".to_owned()])
        .await
        .unwrap_err();
    assert!(
        matches!(error, NodeError::InvalidPeerId { .. }),
        "{error:?}"
    );

    assert_eq!(a.node.allow_all_peers().await.unwrap(), sorted);
    assert!(a.node.denied_peers().await.unwrap().is_empty());

    // Bounded: a request that would go over the limit changes nothing.
    let random = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| kith_net::libp2p::PeerId::random().to_string())
            .collect()
    };
    let almost = random(kith_node::MAX_DENIED_PEERS - 1);
    assert_eq!(
        a.node.deny_peers(&almost).await.unwrap().len(),
        kith_node::MAX_DENIED_PEERS - 1
    );
    let error = a.node.deny_peers(&random(2)).await.unwrap_err();
    assert!(
        matches!(
            error,
            NodeError::DenyListFull {
                adding: 2,
                limit: kith_node::MAX_DENIED_PEERS,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        a.node.denied_peers().await.unwrap().len(),
        kith_node::MAX_DENIED_PEERS - 1
    );
    // Exactly at the limit is fine; ids already denied do not count twice.
    let last = random(1);
    let full = a
        .node
        .deny_peers(&[last[0].clone(), almost[0].clone()])
        .await
        .unwrap();
    assert_eq!(full.len(), kith_node::MAX_DENIED_PEERS);
    assert_eq!(
        a.node.allow_all_peers().await.unwrap().len(),
        kith_node::MAX_DENIED_PEERS
    );
}

//! An author no one can dial (it listens nowhere, as a peer behind a NAT effectively does)
//! takes a reservation on a relay, announces its feed at the relayed address, and is
//! followed through the relay: the follower finds it on the DHT, catches up by fetch over the
//! circuit, and gets the next post by gossip over it. Real swarms on 127.0.0.1. (Real NATs
//! and hole punching: `bin/kith/tests/nat.rs`.)

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

mod support;

use support::wait_for;

use std::time::Duration;

use kith_node::{Node, NodeConfig, Profile};
use kith_store::Store;

/// Relays are checked every 5 s; CI machines are slow.
const DEADLINE: Duration = Duration::from_secs(90);

async fn node(seed: u8, listen: bool, relay: bool, bootstrap: Vec<String>) -> (Node, Store) {
    let config = NodeConfig {
        listen: if listen {
            vec!["/ip4/127.0.0.1/tcp/0".into()]
        } else {
            Vec::new()
        },
        bootstrap,
        profile: Profile::Test,
        relay_server: Some(relay),
        ..NodeConfig::default()
    };
    support::start_node(seed, config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_author_no_one_can_dial_is_followed_through_a_relay() {
    let (relay, _relay_store) = node(40, true, true, vec![]).await;
    let relay_addr = relay.listen_addrs().await.unwrap().remove(0);
    // Neither the author nor the follower listens: they meet only through the relay, and
    // with no address to punch to, the connection stays relayed.
    let (author, _author_store) = node(41, false, false, vec![relay_addr.clone()]).await;
    let (follower, follower_store) = node(42, false, false, vec![relay_addr]).await;

    wait_for(
        "the author's reservation on the relay",
        DEADLINE,
        || async {
            !author
                .status()
                .await
                .unwrap()
                .reachability
                .relay_addrs
                .is_empty()
        },
    )
    .await;
    let reach = author.status().await.unwrap().reachability;
    assert!(
        reach.relay_addrs[0]
            .to_string()
            .contains(&format!("/p2p/{}/p2p-circuit/", relay.peer_id())),
        "{reach:?}"
    );
    author.post("before the follow").await.unwrap();
    // The author announces its head and feed in the background; follow once they are out
    // (the profile's periodic re-sync would catch a follow that came first, later).
    wait_for("the author's head on the DHT", DEADLINE, || async {
        follower
            .lookup_head(author.author())
            .await
            .unwrap()
            .head
            .is_some_and(|head| head.seq() == 1)
    })
    .await;

    // The follower finds the author's head and provider record on the DHT (held by the
    // relay), dials the relayed address in it, and catches up over the circuit.
    follower.follow(author.author()).await.unwrap();
    wait_for(
        "the follower to catch up over the relay",
        DEADLINE,
        || async {
            follower_store
                .head(&author.author())
                .unwrap()
                .is_some_and(|head| head.seq == 1)
        },
    )
    .await;
    let peers = follower.peers().await.unwrap();
    let to_author = peers
        .iter()
        .find(|p| p.peer_id == author.peer_id())
        .expect("the follower is connected to the author");
    assert!(to_author.relayed, "{to_author:?}");
    assert!(
        to_author.addrs.iter().all(|a| a.contains("/p2p-circuit")),
        "{to_author:?}"
    );

    // The next post comes by gossip over the relayed connection.
    author.post("after the follow").await.unwrap();
    wait_for("the second post over the relay", DEADLINE, || async {
        follower_store
            .head(&author.author())
            .unwrap()
            .is_some_and(|head| head.seq == 2)
    })
    .await;
}

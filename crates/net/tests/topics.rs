//! A peer can follow 10,000 authors: it subscribes to 10,000 feed topics and another peer
//! learns every subscription when they connect (gossipsub 0.50 refuses the whole
//! subscription message by default past 100 topics or 16 KiB; kith raises both limits).

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kith_net::libp2p::identity;
use kith_net::libp2p::kad::Mode;
use kith_net::{NetConfig, NetHandle};
use kith_proto::{AuthorId, Keypair};

const FOLLOWED: usize = 10_000;
const DEADLINE: Duration = Duration::from_secs(120);

async fn peer(seed: u8) -> NetHandle {
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        kad_mode: Some(Mode::Client),
        ..NetConfig::default()
    };
    let (handle, mut events) = kith_net::start(
        identity::Keypair::ed25519_from_bytes([seed; 32]).unwrap(),
        config,
    )
    .await
    .unwrap();
    // Nobody validates here: drain events so the network task never waits on us.
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    handle
}

fn author(i: usize) -> AuthorId {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
    Keypair::from_seed(&seed).author()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_can_follow_ten_thousand_authors() {
    let authors: Vec<AuthorId> = (0..FOLLOWED).map(author).collect();
    let follower = peer(1).await;
    for author in &authors {
        follower.subscribe(*author).await.unwrap();
    }
    // The other peer connects after all subscriptions exist, so it receives them in the
    // one announcement sent on connect: the case the default limits break.
    let other = peer(2).await;
    other
        .dial(follower.listen_addrs().await.unwrap().remove(0))
        .await
        .unwrap();
    let follower_id = follower.peer_id();
    let started = Instant::now();
    for index in [0, 1, 99, 100, 101, 5_000, 8_191, FOLLOWED - 1] {
        while !other
            .topic_peers(authors[index])
            .await
            .unwrap()
            .contains(&follower_id)
        {
            assert!(
                started.elapsed() < DEADLINE,
                "subscription {index} never arrived"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    println!(
        "10,000 subscriptions seen by the other peer after {:?}",
        started.elapsed()
    );
}

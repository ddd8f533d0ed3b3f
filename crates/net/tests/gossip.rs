//! Gossip between bare network peers: forwarding across a line of peers happens only for
//! messages the application accepts.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kith_net::libp2p::gossipsub::MessageAcceptance;
use kith_net::libp2p::identity;
use kith_net::libp2p::kad::Mode;
use kith_net::{NetConfig, NetEvent, NetHandle};
use kith_proto::Keypair;
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(60);

/// A peer that stays out of the DHT, so it talks only to peers it dials or that dial it.
async fn peer(seed: u8) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        kad_mode: Some(Mode::Client),
        allow_private_addresses: false,
        gossip_heartbeat: Duration::from_millis(100),
        ..NetConfig::default()
    };
    kith_net::start(
        identity::Keypair::ed25519_from_bytes([seed; 32]).unwrap(),
        config,
    )
    .await
    .unwrap()
}

async fn next_gossip(
    events: &mut mpsc::Receiver<NetEvent>,
) -> Option<(
    kith_net::libp2p::PeerId,
    kith_net::libp2p::gossipsub::MessageId,
    Vec<u8>,
)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        match tokio::time::timeout_at(deadline, events.recv()).await {
            Ok(Some(NetEvent::Gossip {
                source,
                message_id,
                data,
                ..
            })) => return Some((source, message_id, data)),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

async fn wait_mesh(
    handle: &NetHandle,
    author: kith_proto::AuthorId,
    peer: kith_net::libp2p::PeerId,
) {
    let started = std::time::Instant::now();
    while !handle.mesh_peers(author).await.unwrap().contains(&peer) {
        assert!(started.elapsed() < DEADLINE, "mesh did not form");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_middle_peer_forwards_only_what_it_accepts() {
    let author = Keypair::from_seed(&[1; 32]).author();
    let (x, _x_events) = peer(1).await;
    let (y, mut y_events) = peer(2).await;
    let (z, mut z_events) = peer(3).await;
    let y_addr = y.listen_addrs().await.unwrap().remove(0);
    x.dial(y_addr.clone()).await.unwrap();
    z.dial(y_addr).await.unwrap();
    for handle in [&x, &y, &z] {
        handle.subscribe(author).await.unwrap();
    }
    wait_mesh(&y, author, x.peer_id()).await;
    wait_mesh(&y, author, z.peer_id()).await;
    assert!(
        !z.peers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.peer_id == x.peer_id()),
        "x and z must be apart"
    );

    // Rejected in the middle: never reaches z.
    assert!(x.publish(author, b"first".to_vec()).await.unwrap());
    let (source, id, data) = next_gossip(&mut y_events).await.expect("y receives");
    assert_eq!(data, b"first");
    y.report_gossip(id, source, MessageAcceptance::Reject)
        .await
        .unwrap();
    assert!(
        next_gossip(&mut z_events).await.is_none(),
        "a rejected message was forwarded"
    );

    // Accepted in the middle: forwarded to z.
    assert!(x.publish(author, b"second".to_vec()).await.unwrap());
    let (source, id, data) = next_gossip(&mut y_events).await.expect("y receives");
    assert_eq!(data, b"second");
    y.report_gossip(id, source, MessageAcceptance::Accept)
        .await
        .unwrap();
    let (_, _, data) = next_gossip(&mut z_events)
        .await
        .expect("an accepted message is forwarded");
    assert_eq!(data, b"second");
}

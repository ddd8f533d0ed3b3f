//! The name registry on a 20-peer network over real libp2p swarms on 127.0.0.1: racing
//! claims, lookups from everywhere, restarts, and a partition.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use futures::future::join_all;
use kith_node::{Node, NodeConfig, NodeError};
use kith_proto::Keypair;
use kith_store::{Store, StoreConfig};
use support::{loopback_config, wait_for};

/// Generous: CI machines are slow and shared.
const DEADLINE: Duration = Duration::from_secs(60);
const PEERS: usize = 20;

struct Peer {
    node: Node,
    store: Store,
    seed: u8,
}

fn config(bootstrap: Vec<String>) -> NodeConfig {
    NodeConfig {
        // Sweeps of their own would blur what the test checks; it triggers none.
        name_replication: Some(Duration::from_secs(3600)),
        ..loopback_config(bootstrap, Some(Duration::from_secs(3600)))
    }
}

async fn start(seed: u8, store: Store, bootstrap: Vec<String>) -> Peer {
    let node = Node::start(
        config(bootstrap),
        store.clone(),
        Keypair::from_seed(&[seed; 32]),
        [seed.wrapping_add(100); 32],
    )
    .await
    .unwrap();
    Peer { node, store, seed }
}

async fn network() -> Vec<Peer> {
    let first = start(1, Store::in_memory(StoreConfig::default()).unwrap(), vec![]).await;
    let boot = vec![first.node.listen_addrs().await.unwrap().remove(0)];
    let mut peers = vec![first];
    for seed in 2..=PEERS as u8 {
        let store = Store::in_memory(StoreConfig::default()).unwrap();
        peers.push(start(seed, store, boot.clone()).await);
    }
    // Every peer finds a full replica set for a name (the DHT has converged enough).
    for peer in &peers {
        wait_for("a full replica set everywhere", DEADLINE, || async {
            peer.node
                .name_replicas("warmup")
                .await
                .is_ok_and(|replicas| replicas.len() == 5)
        })
        .await;
    }
    peers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_claims_have_one_winner_that_everyone_sees_even_after_restarts() {
    let mut peers = network().await;
    let mut winners = Vec::new();
    for round in 0..20usize {
        let name = format!("racer{round}");
        let claimants: Vec<&Peer> = (0..10).map(|i| &peers[(round + i) % PEERS]).collect();
        let started = Instant::now();
        let results = join_all(claimants.iter().map(|peer| peer.node.claim_name(&name))).await;
        let won: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_ok())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(won.len(), 1, "round {round}: {results:?}");
        for result in &results {
            if let Err(error) = result {
                assert!(
                    matches!(
                        error,
                        NodeError::NameTaken { .. } | NodeError::NameQuorum { .. }
                    ),
                    "{error}"
                );
            }
        }
        let owner = claimants[won[0]].node.author();
        eprintln!("round {round}: claimed in {:?}", started.elapsed());
        winners.push((name, owner));
    }
    for (name, owner) in &winners {
        for peer in &peers {
            let found = peer.node.lookup_name(name).await.unwrap().unwrap();
            assert_eq!(found.owner(), *owner, "{name} seen from peer {}", peer.seed);
        }
    }

    // Restart half the network: every name still resolves to its owner, from everywhere.
    let boot = vec![peers[0].node.listen_addrs().await.unwrap().remove(0)];
    let restarting: Vec<Peer> = peers.split_off(PEERS / 2);
    for Peer { node, store, seed } in restarting {
        node.shutdown().await.unwrap();
        peers.push(start(seed, store, boot.clone()).await);
    }
    for (name, owner) in &winners {
        for peer in &peers {
            // Right after the restarts the DHT may still be settling: a lookup may lack
            // its quorum for a moment, but never answers with another owner.
            let started = Instant::now();
            let found = loop {
                match peer.node.lookup_name(name).await {
                    Ok(Some(claim)) => break claim,
                    other => assert!(
                        started.elapsed() < DEADLINE,
                        "{name} from peer {} after the restarts: {other:?}",
                        peer.seed
                    ),
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            assert_eq!(found.owner(), *owner, "{name} from {}", peer.seed);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minority_partition_cannot_claim_and_the_majority_can() {
    let peers = network().await;
    let (majority, minority) = peers.split_at(14);
    let minority_ids: Vec<String> = minority.iter().map(|p| p.node.peer_id()).collect();
    // A name whose replicas are mostly on the majority side (found before the split).
    let mut name = None;
    for i in 0..200 {
        let candidate = format!("split{i}");
        let replicas = majority[0].node.name_replicas(&candidate).await.unwrap();
        let inside = replicas.iter().filter(|r| minority_ids.contains(r)).count();
        if inside <= 1 {
            name = Some(candidate);
            break;
        }
    }
    let name = name.expect("a name with its replicas on the majority side");
    // Every minority peer has seen the replicas (they are known peers).
    for peer in minority {
        peer.node.name_replicas(&name).await.unwrap();
    }
    // Split: each side denies the other.
    let majority_ids: Vec<String> = majority.iter().map(|p| p.node.peer_id()).collect();
    for peer in majority {
        peer.node.deny_peers(&minority_ids).await.unwrap();
    }
    for peer in minority {
        peer.node.deny_peers(&majority_ids).await.unwrap();
    }
    let refused = minority[0].node.claim_name(&name).await.unwrap_err();
    assert!(
        matches!(refused, NodeError::NameQuorum { .. }),
        "the minority claimed: {refused}"
    );
    let claimed = majority[3].node.claim_name(&name).await.unwrap();
    assert_eq!(claimed.claim.owner(), majority[3].node.author());
    assert!(matches!(
        minority[1].node.lookup_name(&name).await,
        Err(NodeError::NameQuorum { .. })
    ));
}

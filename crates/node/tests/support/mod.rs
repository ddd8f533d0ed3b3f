//! Helpers shared by the node's multi-peer tests.

// Each test file uses a different subset.
#![allow(dead_code)]

use std::future::Future;
use std::time::{Duration, Instant};

use kith_node::{Node, NodeConfig, Profile};
use kith_proto::Keypair;
use kith_store::{Store, StoreConfig};

/// Starts a node on an in-memory store, with its author and node keys derived from `seed`.
pub(crate) async fn start_node(seed: u8, config: NodeConfig) -> (Node, Store) {
    let store = Store::in_memory(StoreConfig::default()).unwrap();
    let node = Node::start(
        config,
        store.clone(),
        Keypair::from_seed(&[seed; 32]),
        [seed.wrapping_add(100); 32],
    )
    .await
    .unwrap();
    (node, store)
}

/// Polls `condition` every 20 ms until it holds; fails the test once `deadline` passes.
pub(crate) async fn wait_for<F, Fut>(what: &str, deadline: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !condition().await {
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A test-profile node on 127.0.0.1 (any free port) joining through `bootstrap`;
/// `sync_interval` `None` is the profile's periodic re-sync.
pub(crate) fn loopback_config(
    bootstrap: Vec<String>,
    sync_interval: Option<Duration>,
) -> NodeConfig {
    NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        profile: Profile::Test,
        sync_interval,
        ..NodeConfig::default()
    }
}

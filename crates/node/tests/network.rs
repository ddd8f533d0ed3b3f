//! Multi-peer behaviour over real libp2p swarms on 127.0.0.1 (port 0), each peer a full node
//! with its own store. Every wait is on a condition with a deadline.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

mod support;

use support::{loopback_config, wait_for};

use std::time::Duration;

use kith_node::{Node, NodeConfig};
use kith_proto::{AuthorId, Keypair};
use kith_store::{Store, StoreConfig};

/// Generous: CI machines are slow and shared.
const DEADLINE: Duration = Duration::from_secs(60);

struct Peer {
    node: Node,
    store: Store,
    seed: u8,
}

impl Peer {
    fn author(&self) -> AuthorId {
        self.node.author()
    }

    async fn addr(&self) -> String {
        self.node.listen_addrs().await.unwrap().remove(0)
    }

    async fn home_texts(&self) -> Vec<String> {
        let page = self.store.home(&self.author(), None, 10_000).unwrap();
        page.entries
            .iter()
            .rev()
            .filter_map(|e| e.body().text().map(str::to_owned))
            .collect()
    }
}

async fn start_with(seed: u8, store: Store, config: NodeConfig) -> Peer {
    let node = Node::start(
        config,
        store.clone(),
        Keypair::from_seed(&[seed; 32]),
        [seed.wrapping_add(100); 32],
    )
    .await
    .unwrap();
    Peer { node, store, seed }
}

async fn start(seed: u8, bootstrap: Vec<String>) -> Peer {
    start_with(
        seed,
        Store::in_memory(StoreConfig::default()).unwrap(),
        loopback_config(bootstrap, None),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_receives_twenty_posts_in_order_by_gossip() {
    let b = start(2, vec![]).await;
    // Periodic catch-up far away, so anything that arrives came by gossip.
    let a = start_with(
        1,
        Store::in_memory(StoreConfig::default()).unwrap(),
        loopback_config(vec![b.addr().await], Some(Duration::from_secs(3600))),
    )
    .await;
    a.node.follow(b.author()).await.unwrap();
    let a_peer = a.node.peer_id();
    wait_for("B to see A subscribed to B's topic", DEADLINE, || async {
        b.node
            .topic_peers(b.author())
            .await
            .unwrap()
            .contains(&a_peer)
    })
    .await;
    // The catch-up that following starts is over before B posts.
    wait_for("A's catch-up to end", DEADLINE, || async {
        a.node.status().await.unwrap().syncing == 0
    })
    .await;
    let fetches_before = a.node.status().await.unwrap().fetch_requests;

    let texts: Vec<String> = (0..20).map(|i| format!("post {i}")).collect();
    for text in &texts {
        b.node.post(text).await.unwrap();
    }
    wait_for("all 20 posts on A", DEADLINE, || async {
        a.home_texts().await.len() == 20
    })
    .await;
    assert_eq!(a.home_texts().await, texts);
    assert_eq!(
        a.node.status().await.unwrap().fetch_requests,
        fetches_before,
        "the posts came by gossip, not by fetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_follower_catches_up_five_hundred_posts_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.redb");
    let b = start(4, vec![]).await;
    let b_addr = b.addr().await;
    let store = Store::open(&path, StoreConfig::default()).unwrap();
    let a = start_with(
        3,
        store,
        loopback_config(vec![b_addr.clone()], Some(Duration::from_secs(3600))),
    )
    .await;
    a.node.follow(b.author()).await.unwrap();
    let a_peer = a.node.peer_id();
    wait_for("B to see A subscribed to B's topic", DEADLINE, || async {
        b.node
            .topic_peers(b.author())
            .await
            .unwrap()
            .contains(&a_peer)
    })
    .await;
    b.node.post("before the restart").await.unwrap();
    wait_for("the first post on A", DEADLINE, || async {
        a.home_texts().await.len() == 1
    })
    .await;

    // A stops; B posts 500.
    let Peer { node, store, seed } = a;
    node.shutdown().await.unwrap();
    store.close().unwrap();
    for i in 0..500 {
        b.node.post(&format!("while A was away {i}")).await.unwrap();
    }

    // A restarts and catches up.
    let store = Store::open(&path, StoreConfig::default()).unwrap();
    let a = start_with(
        seed,
        store,
        loopback_config(vec![b_addr], Some(Duration::from_secs(3600))),
    )
    .await;
    wait_for("A to catch up all 501 posts", DEADLINE, || async {
        a.home_texts().await.len() == 501
    })
    .await;
    let requests = a.node.status().await.unwrap().fetch_requests;
    assert!(
        requests <= 5,
        "{requests} fetch requests for 500 entries; they should be batched"
    );
    assert_eq!(a.home_texts().await.last().unwrap(), "while A was away 499");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_follower_gets_an_offline_authors_feed_from_another_holder() {
    let b = start(6, vec![]).await;
    let b_addr = b.addr().await;
    let c = start(7, vec![b_addr.clone()]).await;
    c.node.follow(b.author()).await.unwrap();
    for i in 0..30 {
        b.node.post(&format!("b {i}")).await.unwrap();
    }
    wait_for("C to hold B's feed", DEADLINE, || async {
        c.store
            .head(&b.author())
            .unwrap()
            .is_some_and(|h| h.seq == 30)
    })
    .await;
    let c_addr = c.addr().await;
    let b_author = b.author();
    // B goes offline.
    b.node.shutdown().await.unwrap();

    // A joins through C only and follows B: it must find C as a provider of B's feed.
    let a = start(5, vec![c_addr]).await;
    a.node.follow(b_author).await.unwrap();
    wait_for("A to get B's whole feed from C", DEADLINE, || async {
        a.store
            .head(&b_author)
            .unwrap()
            .is_some_and(|h| h.seq == 30)
    })
    .await;
    assert_eq!(a.home_texts().await.len(), 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_reach_the_end_of_a_chain_of_six_peers_live() {
    let mut peers: Vec<Peer> = Vec::new();
    for seed in 10..16u8 {
        let bootstrap = match peers.last() {
            Some(previous) => vec![previous.addr().await],
            None => vec![],
        };
        peers.push(start(seed, bootstrap).await);
    }
    let first = &peers[0];
    let last = &peers[5];
    // The first peer has posted before, so its feed is on the DHT.
    first
        .node
        .post("hello from the start of the chain")
        .await
        .unwrap();
    last.node.follow(first.author()).await.unwrap();
    wait_for("the last peer to get the first post", DEADLINE, || async {
        last.home_texts().await.len() == 1
    })
    .await;
    let last_peer = last.node.peer_id();
    wait_for(
        "the first peer to see the last subscribed",
        DEADLINE,
        || async {
            first
                .node
                .topic_peers(first.author())
                .await
                .unwrap()
                .contains(&last_peer)
        },
    )
    .await;
    first.node.post("live").await.unwrap();
    wait_for(
        "the live post at the end of the chain",
        DEADLINE,
        || async { last.home_texts().await.len() == 2 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_reaches_a_follower_of_the_replier_in_the_thread() {
    // A posts; D (following A) replies; B follows A and D and sees the thread whole.
    let a = start(21, vec![]).await;
    let d = start(24, vec![a.addr().await]).await;
    let b = start(22, vec![a.addr().await]).await;
    d.node.follow(a.author()).await.unwrap();
    b.node.follow(a.author()).await.unwrap();
    b.node.follow(d.author()).await.unwrap();
    let post = a.node.post("the post").await.unwrap();
    let post_id = post.id();
    wait_for("A's post on D", DEADLINE, || async {
        d.store.entry(&post_id).unwrap().is_some()
    })
    .await;
    let reply = d.node.reply(post_id, "D's reply").await.unwrap();
    wait_for("the thread on B", DEADLINE, || async {
        b.store.thread(&post_id, 100).unwrap().len() == 2
    })
    .await;
    let thread = b.store.thread(&post_id, 100).unwrap();
    assert_eq!(thread[0].id(), post_id);
    assert_eq!(thread[1].id(), reply.id());
    assert!(matches!(
        thread[1].body(),
        kith_proto::Body::Reply { parent, root, .. } if *parent == post_id && *root == post_id
    ));
    // Replying to an entry the peer does not hold is refused.
    assert!(b.node.reply(reply.id(), "").await.is_err());
    let stranger = kith_proto::ContentId::of(b"not an entry");
    let refused = a.node.reply(stranger, "to nothing").await.unwrap_err();
    assert!(refused.to_string().contains("not stored"), "{refused}");
}

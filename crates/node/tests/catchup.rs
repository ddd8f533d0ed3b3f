//! Catch-up of feeds longer than one fetch range: the follower asks for the next range while
//! it verifies and stores the previous ones, and must still store exactly what a one range at
//! a time catch-up would: every entry once, in order, each with its event; nothing from a
//! lying response or any response after it; a response with a hole repaired from the peer.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

mod support;

use support::{loopback_config, wait_for};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kith_net::libp2p::identity;
use kith_net::libp2p::kad::Mode;
use kith_net::{FetchRequest, FetchResponse, NetConfig, NetEvent, NetHandle};
use kith_node::{Node, NodeConfig, NodeEvent};
use kith_proto::{AuthorId, Body, Draft, Keypair, VerifiedEntry, sign_entry};
use kith_store::{Store, StoreConfig};

const DEADLINE: Duration = Duration::from_secs(120);
/// Six ranges of 512 and a short seventh.
const FEED: u64 = 3000;

/// Only the catch-up that following starts.
fn config(bootstrap: Vec<String>) -> NodeConfig {
    loopback_config(bootstrap, Some(Duration::from_secs(3600)))
}

async fn node(seed: u8, store: Store, bootstrap: Vec<String>) -> Node {
    Node::start(
        config(bootstrap),
        store,
        Keypair::from_seed(&[seed; 32]),
        [seed + 100; 32],
    )
    .await
    .unwrap()
}

/// A feed of `count` short posts by `keypair`, signed in order.
fn feed(keypair: &Keypair, count: u64) -> Vec<VerifiedEntry> {
    let mut head = None;
    (1..=count)
        .map(|seq| {
            let body = Body::Post {
                text: format!("post {seq}"),
            }
            .encode();
            let entry = sign_entry(
                keypair,
                &Draft::after(head, 1_764_000_000_000 + seq, "post", &body),
            )
            .unwrap();
            head = Some((entry.seq(), entry.id()));
            entry
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_of_several_ranges_is_caught_up_in_order_with_one_event_per_entry() {
    let b_keys = Keypair::from_seed(&[40; 32]);
    let b_store = Store::in_memory(StoreConfig::default()).unwrap();
    for chunk in feed(&b_keys, FEED).chunks(1024) {
        b_store.append_batch(chunk.to_vec()).unwrap();
    }
    let b = node(40, b_store.clone(), vec![]).await;
    let b_author = b.author();
    let a_store = Store::in_memory(StoreConfig::default()).unwrap();
    let a = node(
        41,
        a_store.clone(),
        vec![b.listen_addrs().await.unwrap().remove(0)],
    )
    .await;
    wait_for("A to connect to B", DEADLINE, || async {
        !a.peers().await.unwrap().is_empty()
    })
    .await;

    // Every event about B's feed, as an API client would read them.
    let seen: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut events = a.subscribe();
    let listener = {
        let seen = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok(NodeEvent::Entry { entry, .. }) = events.recv().await {
                if entry.author() == b_author {
                    seen.lock().unwrap().push(entry.seq());
                }
            }
        })
    };

    a.follow(b_author).await.unwrap();
    wait_for("A to hold B's whole feed", DEADLINE, || async {
        a_store
            .head(&b_author)
            .unwrap()
            .is_some_and(|h| h.seq == FEED)
    })
    .await;
    wait_for("A's catch-up to end", DEADLINE, || async {
        a.status().await.unwrap().syncing == 0
    })
    .await;
    wait_for("an event for every entry", DEADLINE, || async {
        seen.lock().unwrap().len() as u64 >= FEED
    })
    .await;
    listener.abort();

    let stored = a_store.feed(&b_author, 1, FEED as usize + 1).unwrap();
    let held = b_store.feed(&b_author, 1, FEED as usize + 1).unwrap();
    assert_eq!(stored.len() as u64, FEED);
    for (got, want) in stored.iter().zip(&held) {
        assert_eq!(got.bytes(), want.bytes(), "entry {}", want.seq());
    }
    assert_eq!(
        *seen.lock().unwrap(),
        (1..=FEED).collect::<Vec<_>>(),
        "one event per entry, in feed order"
    );
    assert_eq!(a_store.pending_count().unwrap(), 0);
    let status = a.status().await.unwrap();
    assert_eq!(status.fetch_rejected, 0);
    assert!(
        status.fetch_requests <= FEED.div_ceil(512) + 1,
        "{} range requests for {FEED} entries",
        status.fetch_requests
    );
}

/// How the bare peer in front of a genuine feed answers range requests.
type Answer = dyn Fn(u64, &[VerifiedEntry]) -> Vec<Vec<u8>> + Send + Sync;

/// A bare network peer, out of the DHT's view except as a provider of `author`'s feed, that
/// answers range requests with `answer(from_seq, feed)`. Returns its handle, its address and
/// the first seqs it was asked for.
async fn serving_peer(
    key: u8,
    author: AuthorId,
    feed: Vec<VerifiedEntry>,
    answer: Box<Answer>,
) -> (NetHandle, String, Arc<Mutex<Vec<u64>>>) {
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        kad_mode: Some(Mode::Server),
        allow_private_addresses: true,
        gossip_heartbeat: Duration::from_millis(200),
        ..NetConfig::default()
    };
    let (net, mut events) = kith_net::start(
        identity::Keypair::ed25519_from_bytes([key; 32]).unwrap(),
        config,
    )
    .await
    .unwrap();
    let addr = net.listen_addrs().await.unwrap().remove(0).to_string();
    let asked: Arc<Mutex<Vec<u64>>> = Arc::default();
    {
        let asked = Arc::clone(&asked);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let NetEvent::Fetch { request, reply, .. } = event else {
                    continue;
                };
                let FetchRequest::Range {
                    author: asked_for,
                    from_seq,
                    ..
                } = request
                else {
                    let _ = reply.send(FetchResponse::default());
                    continue;
                };
                assert_eq!(asked_for, author.as_bytes().to_vec());
                asked.lock().unwrap().push(from_seq);
                let entries = answer(from_seq, &feed)
                    .into_iter()
                    .map(serde_bytes::ByteBuf::from)
                    .collect();
                let _ = reply.send(FetchResponse {
                    entries,
                    more: false,
                });
            }
        });
    }
    (net, addr, asked)
}

/// Up to 512 genuine envelopes from `from_seq` on.
fn range(feed: &[VerifiedEntry], from_seq: u64) -> Vec<Vec<u8>> {
    feed.iter()
        .skip(from_seq.saturating_sub(1) as usize)
        .take(512)
        .map(|e| e.bytes().to_vec())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_stored_from_a_lying_range_or_any_range_after_it() {
    let b_keys = Keypair::from_seed(&[50; 32]);
    let b_author = b_keys.author();
    let genuine = feed(&b_keys, FEED);
    // The third range (1025..=1536) carries one forged signature; every other range is
    // genuine, so what the follower asks for after it would verify.
    let (m, m_addr, asked) = serving_peer(
        51,
        b_author,
        genuine.clone(),
        Box::new(|from_seq, feed| {
            let mut envelopes = range(feed, from_seq);
            if let Some(index) = 1100u64.checked_sub(from_seq)
                && let Some(forged) = envelopes.get_mut(index as usize)
            {
                let last = forged.len() - 1;
                forged[last] ^= 1;
            }
            envelopes
        }),
    )
    .await;
    let d_store = Store::in_memory(StoreConfig::default()).unwrap();
    let d = node(52, d_store.clone(), vec![m_addr]).await;
    m.provide(b_author).await.unwrap();
    d.follow(b_author).await.unwrap();
    wait_for(
        "D to reject the forged range and stop",
        DEADLINE,
        || async {
            let status = d.status().await.unwrap();
            status.fetch_rejected >= 1 && status.syncing == 0
        },
    )
    .await;

    let head = d_store.head(&b_author).unwrap().map_or(0, |h| h.seq);
    assert_eq!(
        head, 1024,
        "the two ranges before the forged one, nothing after"
    );
    assert!(d_store.entry_at(&b_author, 1025).unwrap().is_none());
    assert_eq!(
        d_store.pending_count().unwrap(),
        0,
        "nothing buffered either"
    );
    for seq in [1, 512, 513, 1024] {
        assert_eq!(
            d_store.entry_at(&b_author, seq).unwrap().unwrap().bytes(),
            genuine[seq as usize - 1].bytes()
        );
    }
    let asked = asked.lock().unwrap().clone();
    assert_eq!(&asked[..3], &[1, 513, 1025], "ranges asked for in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_with_a_hole_is_repaired_from_the_same_peer() {
    let b_keys = Keypair::from_seed(&[60; 32]);
    let b_author = b_keys.author();
    let genuine = feed(&b_keys, FEED);
    // The first answer that covers seq 700 leaves it out; later ones do not.
    let holed = std::sync::atomic::AtomicBool::new(false);
    let (m, m_addr, asked) = serving_peer(
        61,
        b_author,
        genuine.clone(),
        Box::new(move |from_seq, feed| {
            let mut envelopes = range(feed, from_seq);
            if (from_seq..from_seq + 512).contains(&700)
                && !holed.swap(true, std::sync::atomic::Ordering::SeqCst)
            {
                envelopes.remove((700 - from_seq) as usize);
            }
            envelopes
        }),
    )
    .await;
    let d_store = Store::in_memory(StoreConfig::default()).unwrap();
    let d = node(62, d_store.clone(), vec![m_addr]).await;
    m.provide(b_author).await.unwrap();
    d.follow(b_author).await.unwrap();
    wait_for("D to hold B's whole feed", DEADLINE, || async {
        d_store
            .head(&b_author)
            .unwrap()
            .is_some_and(|h| h.seq == FEED)
    })
    .await;
    wait_for("D's catch-up to end", DEADLINE, || async {
        d.status().await.unwrap().syncing == 0
    })
    .await;
    assert_eq!(d_store.pending_count().unwrap(), 0);
    let stored = d_store.feed(&b_author, 1, FEED as usize + 1).unwrap();
    assert_eq!(stored.len() as u64, FEED);
    for (got, want) in stored.iter().zip(&genuine) {
        assert_eq!(got.bytes(), want.bytes());
    }
    assert!(
        asked.lock().unwrap().contains(&700),
        "asked again from the hole: {:?}",
        asked.lock().unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_is_fetched_and_kept_without_following() {
    const COUNT: u64 = 600;
    let b_keys = Keypair::from_seed(&[70; 32]);
    let b_store = Store::in_memory(StoreConfig::default()).unwrap();
    b_store.append_batch(feed(&b_keys, COUNT)).unwrap();
    let b = node(70, b_store, vec![]).await;
    let b_author = b.author();
    let a_store = Store::in_memory(StoreConfig::default()).unwrap();
    let a = node(
        71,
        a_store.clone(),
        vec![b.listen_addrs().await.unwrap().remove(0)],
    )
    .await;
    wait_for("A to connect to B", DEADLINE, || async {
        !a.peers().await.unwrap().is_empty()
    })
    .await;
    assert!(a_store.head(&b_author).unwrap().is_none());

    // One fetch brings what the holders have (asked again until B is found as a holder).
    wait_for("B's whole feed on A", DEADLINE, || async {
        a.fetch_feed(b_author).await.unwrap();
        a_store
            .head(&b_author)
            .unwrap()
            .is_some_and(|h| h.seq == COUNT)
    })
    .await;
    assert_eq!(
        a_store
            .feed(&b_author, 1, COUNT as usize + 1)
            .unwrap()
            .len() as u64,
        COUNT
    );
    // Nothing newer: nothing more.
    assert_eq!(a.fetch_feed(b_author).await.unwrap(), 0);
    // Not followed: no follow entry, no subscription.
    assert!(a_store.following(&a.author()).unwrap().is_empty());
    assert!(a_store.head(&a.author()).unwrap().is_none());
    assert_eq!(a.status().await.unwrap().following, 0);
    wait_for("the fetch's catch-up to end", DEADLINE, || async {
        a.status().await.unwrap().syncing == 0
    })
    .await;
}

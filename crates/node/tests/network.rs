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

/// The ids of the thread of `root` as `peer` shows it.
fn thread_ids(peer: &Peer, root: &kith_proto::ContentId) -> Vec<kith_proto::ContentId> {
    peer.store
        .thread(root, 100)
        .unwrap()
        .iter()
        .map(|e| e.id())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_strangers_reply_reaches_every_follower_of_the_post_and_later_joiners() {
    // A posts; B and C follow A (and nobody else); D, whom nobody follows and who follows
    // nobody, finds the post by its id and replies.
    let a = start(31, vec![]).await;
    let boot = a.addr().await;
    let b = start(32, vec![boot.clone()]).await;
    let c = start(33, vec![boot.clone()]).await;
    b.node.follow(a.author()).await.unwrap();
    c.node.follow(a.author()).await.unwrap();
    let post = a.node.post("the post").await.unwrap();
    let post_id = post.id();
    wait_for("A's post on B and C", DEADLINE, || async {
        b.store.entry(&post_id).unwrap().is_some() && c.store.entry(&post_id).unwrap().is_some()
    })
    .await;
    let d = start(34, vec![boot.clone()]).await;
    let found = d.node.resolve(post_id, Some(a.author())).await.unwrap();
    assert!(
        matches!(found, kith_store::EntryState::Held(ref e) if e.id() == post_id),
        "{found:?}"
    );
    let sent = std::time::Instant::now();
    let reply = d.node.reply(post_id, "a stranger's reply").await.unwrap();
    let whole = vec![post_id, reply.id()];
    wait_for(
        "D's reply in B's and C's thread views",
        DEADLINE,
        || async { thread_ids(&b, &post_id) == whole && thread_ids(&c, &post_id) == whole },
    )
    .await;
    eprintln!("the reply reached both followers in {:?}", sent.elapsed());
    // Neither follows D: the reply is held on its own, outside D's feed.
    assert!(b.store.head(&d.author()).unwrap().is_none());
    assert!(c.store.head(&d.author()).unwrap().is_none());

    // E joins later, follows A, and gets the thread with the post.
    let e = start(35, vec![boot]).await;
    e.node.follow(a.author()).await.unwrap();
    wait_for("the whole thread on E", DEADLINE, || async {
        thread_ids(&e, &post_id) == whole
    })
    .await;

    // D deletes the reply: every holder drops it, though none follows D.
    d.node.delete(reply.id()).await.unwrap();
    wait_for("the reply gone from B, C and E", DEADLINE, || async {
        [&b, &c, &e]
            .iter()
            .all(|peer| thread_ids(peer, &post_id) == vec![post_id])
    })
    .await;
    assert!(matches!(
        b.store.entry_state(&reply.id()).unwrap(),
        kith_store::EntryState::Deleted { .. }
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_edits_and_deletes_reach_followers_and_a_returning_peer() {
    let a = start(41, vec![]).await;
    let boot = a.addr().await;
    let b = start(42, vec![boot.clone()]).await;
    let c = start(43, vec![boot.clone()]).await;
    b.node.follow(a.author()).await.unwrap();
    c.node.follow(a.author()).await.unwrap();
    let doomed = a.node.post("regrettable").await.unwrap();
    let kept = a.node.post("teh typo").await.unwrap();
    wait_for("A's posts on B and C", DEADLINE, || async {
        c.store.entry(&kept.id()).unwrap().is_some() && b.store.entry(&kept.id()).unwrap().is_some()
    })
    .await;

    // B reacts, changes its mind; C (who does not follow B) sees one reaction, the newest.
    b.node.react(kept.id(), "❤").await.unwrap();
    b.node.react(kept.id(), "🔥").await.unwrap();
    wait_for("B's newest reaction on C", DEADLINE, || async {
        c.store
            .reaction_by(&kept.id(), &b.author())
            .unwrap()
            .as_deref()
            == Some("🔥")
    })
    .await;
    let counts = c.store.reactions(&kept.id()).unwrap();
    assert_eq!(counts.len(), 1, "{counts:?}");
    assert_eq!((counts[0].reaction.as_str(), counts[0].count), ("🔥", 1));
    // B reposts with a comment; C counts it.
    b.node.repost(kept.id(), Some("look")).await.unwrap();
    wait_for("B's quote counted on C", DEADLINE, || async {
        c.store.repost_count(&kept.id()).unwrap() == 1
    })
    .await;

    // A edits; only the author can.
    a.node.edit(kept.id(), "no typo").await.unwrap();
    wait_for("the edit on C", DEADLINE, || async {
        c.store
            .edits(&kept.id())
            .unwrap()
            .last()
            .and_then(|e| e.body().text().map(str::to_owned))
            .as_deref()
            == Some("no typo")
    })
    .await;
    assert!(b.node.edit(kept.id(), "hijack").await.is_err());

    // C goes away; A deletes; C comes back and drops the post while catching up.
    let c_store = c.store.clone();
    c.node.shutdown().await.unwrap();
    a.node.delete(doomed.id()).await.unwrap();
    wait_for("the delete on B", DEADLINE, || async {
        b.store.entry(&doomed.id()).unwrap().is_none()
    })
    .await;
    let c = start_with(43, c_store, loopback_config(vec![boot.clone()], None)).await;
    wait_for("the delete on the returning C", DEADLINE, || async {
        c.store.entry(&doomed.id()).unwrap().is_none()
    })
    .await;
    assert!(c.store.entry(&kept.id()).unwrap().is_some());

    // F follows A only now: the deleted post is served as its tombstone and the chain
    // still verifies; F holds everything but the deleted body.
    let f = start(46, vec![boot]).await;
    f.node.follow(a.author()).await.unwrap();
    let a_head = a.store.head(&a.author()).unwrap().unwrap();
    wait_for("A's whole feed on F", DEADLINE, || async {
        f.store
            .head(&a.author())
            .unwrap()
            .is_some_and(|h| h.seq == a_head.seq)
    })
    .await;
    assert!(f.store.entry(&doomed.id()).unwrap().is_none());
    assert!(f.store.entry(&kept.id()).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_author_is_neither_stored_nor_shown() {
    let a = start(51, vec![]).await;
    let boot = a.addr().await;
    let b = start(52, vec![boot.clone()]).await;
    let troll = start(53, vec![boot.clone()]).await;
    b.node.follow(a.author()).await.unwrap();
    b.node.follow(troll.author()).await.unwrap();
    let early = troll.node.post("before the block").await.unwrap();
    let post = a.node.post("the post").await.unwrap();
    wait_for("both posts on B", DEADLINE, || async {
        b.store.entry(&early.id()).unwrap().is_some()
            && b.store.entry(&post.id()).unwrap().is_some()
    })
    .await;
    wait_for("the post on the troll's peer", DEADLINE, || async {
        troll
            .node
            .resolve(post.id(), Some(a.author()))
            .await
            .is_ok_and(|s| matches!(s, kith_store::EntryState::Held(_)))
    })
    .await;

    b.node.block(troll.author()).await.unwrap();
    // Everything held of the troll is gone, and B no longer follows them.
    assert!(b.store.entry(&early.id()).unwrap().is_none());
    assert!(
        !b.store
            .following(&b.author())
            .unwrap()
            .contains(&troll.author())
    );

    // The troll replies to A's post; A's other follower C gets it, B does not.
    let c = start(54, vec![boot]).await;
    c.node.follow(a.author()).await.unwrap();
    wait_for("the post on C", DEADLINE, || async {
        c.store.entry(&post.id()).unwrap().is_some()
    })
    .await;
    let ignored_before = b.node.status().await.unwrap().gossip_ignored;
    let reply = troll.node.reply(post.id(), "troll reply").await.unwrap();
    wait_for("the reply on C", DEADLINE, || async {
        c.store.entry(&reply.id()).unwrap().is_some()
    })
    .await;
    // B is subscribed to A's topic like C: the reply reaches it and is dropped unjudged.
    wait_for("B to drop the reply", DEADLINE, || async {
        b.node.status().await.unwrap().gossip_ignored > ignored_before
    })
    .await;
    assert!(b.store.entry(&reply.id()).unwrap().is_none());
    assert_eq!(thread_ids(&b, &post.id()), vec![post.id()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_and_its_avatar_reach_a_follower_with_the_entry() {
    let a = start(61, vec![]).await;
    let b = start(62, vec![a.addr().await]).await;
    b.node.follow(a.author()).await.unwrap();
    // A PNG of three chunks, so the avatar takes several fetches.
    let mut image = b"\x89PNG\r\n\x1a\n".to_vec();
    image.extend((0..600_000u32).map(|i| (i % 253) as u8));
    let blob = a.node.add_blob(image.clone()).await.unwrap();
    assert_eq!(blob.chunks.len(), 3);
    a.node
        .set_profile(kith_node::ProfileUpdate {
            name: Some("Ada".into()),
            bio: Some("counts things".into()),
            avatar: Some(blob.id),
            username: None,
        })
        .await
        .unwrap();
    wait_for("the avatar cached on B", DEADLINE, || async {
        b.store.blob(&blob.id).unwrap().is_some()
    })
    .await;
    let (kind, content) = b.store.blob(&blob.id).unwrap().unwrap();
    assert_eq!(kind, kith_proto::blob::ImageType::Png);
    assert_eq!(content, image);
    let profile = b.store.profile(&a.author()).unwrap().unwrap();
    assert!(matches!(
        profile.body(),
        kith_proto::Body::Profile { name: Some(n), avatar: Some(id), .. } if n == "Ada" && *id == blob.id
    ));

    // Changing only the bio keeps the name and the avatar.
    a.node
        .set_profile(kith_node::ProfileUpdate {
            bio: Some("counts more things".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let current = a.store.profile(&a.author()).unwrap().unwrap();
    assert!(matches!(
        current.body(),
        kith_proto::Body::Profile { name: Some(n), bio: Some(bio), avatar: Some(id), .. }
            if n == "Ada" && bio == "counts more things" && *id == blob.id
    ));
    // Not an image, or not stored: refused.
    assert!(a.node.add_blob(b"just text".to_vec()).await.is_err());
    let missing = kith_proto::ContentId::of(b"no such blob");
    assert!(
        a.node
            .set_profile(kith_node::ProfileUpdate {
                avatar: Some(missing),
                ..Default::default()
            })
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mentions_hashtags_and_the_public_stream_reach_strangers() {
    let a = start(71, vec![]).await;
    let boot = a.addr().await;
    let b = start(72, vec![boot.clone()]).await;
    let c = start(73, vec![boot]).await;
    let mut a_events = a.node.subscribe();
    c.node.follow_tag("#Kith").await.unwrap();
    c.node.set_public_timeline(true).await.unwrap();

    // B mentions A; nobody follows anybody.
    let mention = b
        .node
        .post(&format!("hello @{}, see #kith", a.author().to_did()))
        .await
        .unwrap();
    wait_for("the mention in A's notifications", DEADLINE, || async {
        a.store
            .notifications(&a.author(), None, 10)
            .unwrap()
            .iter()
            .any(|(kind, e)| kind.as_str() == "mention" && e.id() == mention.id())
    })
    .await;
    // …and as a live event.
    let live = tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ok(kith_node::NodeEvent::Notification { kind, entry }) = a_events.recv().await
                && entry.id() == mention.id()
            {
                return kind;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(live, "mention");

    // C follows #kith: B's post reaches C's tag timeline.
    wait_for("B's post in C's #kith timeline", DEADLINE, || async {
        c.store
            .tag_timeline("kith", None, 10)
            .unwrap()
            .iter()
            .any(|e| e.id() == mention.id())
    })
    .await;
    // C's public timeline has it too, and A's next post.
    let plain = a.node.post("a plain post").await.unwrap();
    wait_for("both posts in C's public timeline", DEADLINE, || async {
        let public: Vec<_> = c
            .store
            .public_timeline(None, 10)
            .unwrap()
            .iter()
            .map(|e| e.id())
            .collect();
        public.contains(&mention.id()) && public.contains(&plain.id())
    })
    .await;
    // B, who follows no tag and left the public stream off, keeps none of A's posts.
    assert!(b.store.entry(&plain.id()).unwrap().is_none());
    // A new follower is a notification, though A holds nothing of its feed.
    let follow = c.node.follow(a.author()).await.unwrap();
    wait_for("C's follow in A's notifications", DEADLINE, || async {
        a.store
            .notifications(&a.author(), None, 10)
            .unwrap()
            .iter()
            .any(|(kind, e)| kind.as_str() == "follow" && e.id() == follow.id())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_post_and_reply_carry_no_trace_of_the_poster() {
    let a = start(81, vec![]).await;
    let b = start(82, vec![a.addr().await]).await;
    a.node.set_public_timeline(true).await.unwrap();
    let post = a.node.post("ask me anything").await.unwrap();
    b.node.resolve(post.id(), Some(a.author())).await.unwrap();

    let anon = b.node.post_anonymous("a question", None).await.unwrap();
    let anon_reply = b
        .node
        .post_anonymous("an answer", Some(post.id()))
        .await
        .unwrap();
    for entry in [&anon, &anon_reply] {
        assert_ne!(entry.author(), b.author());
        assert_eq!(entry.seq(), 1);
        assert_eq!(entry.prev(), None);
    }
    // Two posts, two unrelated one-time authors.
    assert_ne!(anon.author(), anon_reply.author());
    wait_for("the anonymous post and reply on A", DEADLINE, || async {
        let public: Vec<_> = a
            .store
            .public_timeline(None, 10)
            .unwrap()
            .iter()
            .map(|e| e.id())
            .collect();
        public.contains(&anon.id()) && thread_ids(&a, &post.id()).contains(&anon_reply.id())
    })
    .await;
    // Nothing in B's own feed, nothing announced for the one-time authors.
    assert!(b.store.head(&b.author()).unwrap().is_none());
    assert!(b.store.head(&anon.author()).unwrap().is_none());
    assert!(
        b.node
            .lookup_head(anon.author())
            .await
            .unwrap()
            .head
            .is_none()
    );
}

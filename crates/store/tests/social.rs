//! The social indexes: detached entries in threads, reactions, reposts, edits, deletes
//! (tombstones, bodies dropped, chains still verifiable) and blocking.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use kith_proto::{Body, ContentId, Draft, Keypair, VerifiedEntry, sign_entry};
use kith_store::{AppendError, AppendOutcome, EntryState, ReactionCount, Store, StoreConfig};

const T0: u64 = 1_700_000_000_000;

/// A feed being written by one author, for tests.
struct Author {
    keypair: Keypair,
    head: Option<(u64, ContentId)>,
    entries: Vec<VerifiedEntry>,
}

impl Author {
    fn new(seed: u8) -> Self {
        Self {
            keypair: Keypair::from_seed(&[seed; 32]),
            head: None,
            entries: Vec::new(),
        }
    }

    fn write(&mut self, body: Body) -> VerifiedEntry {
        let kind = body.kind().unwrap();
        let bytes = body.encode();
        let ts = T0 + self.entries.len() as u64 * 1000;
        let draft = Draft::after(self.head, ts, kind.as_str(), &bytes);
        let entry = sign_entry(&self.keypair, &draft).unwrap();
        self.head = Some((entry.seq(), entry.id()));
        self.entries.push(entry.clone());
        entry
    }

    fn post(&mut self, text: &str) -> VerifiedEntry {
        self.write(Body::Post { text: text.into() })
    }

    fn delete(&mut self, target: &VerifiedEntry) -> VerifiedEntry {
        self.write(Body::Delete {
            target: target.id(),
            target_seq: target.seq(),
            target_prev: target.prev(),
        })
    }
}

fn store() -> Store {
    Store::in_memory(StoreConfig::default()).unwrap()
}

fn detached(store: &Store, entries: Vec<VerifiedEntry>) -> Vec<AppendOutcome> {
    store
        .submit_detached(entries)
        .unwrap()
        .wait()
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

fn append(store: &Store, entries: Vec<VerifiedEntry>) {
    for result in store.append_batch(entries).unwrap() {
        assert!(
            matches!(result, Ok(AppendOutcome::Appended { .. })),
            "{result:?}"
        );
    }
}

fn ids(entries: &[kith_proto::Entry]) -> Vec<ContentId> {
    entries.iter().map(|e| e.id()).collect()
}

#[test]
fn a_strangers_reply_is_kept_detached_and_shows_in_the_thread() {
    let store = store();
    let mut alice = Author::new(1);
    let mut dave = Author::new(4);
    let post = alice.post("hello");
    append(&store, vec![post.clone()]);
    dave.post("dave's own first entry");
    let reply = dave.write(Body::Reply {
        text: "hi alice".into(),
        parent: post.id(),
        root: post.id(),
    });
    assert_eq!(
        detached(&store, vec![reply.clone()]),
        vec![AppendOutcome::Detached]
    );
    assert_eq!(
        detached(&store, vec![reply.clone()]),
        vec![AppendOutcome::Duplicate]
    );
    assert_eq!(
        ids(&store.thread(&post.id(), 100).unwrap()),
        vec![post.id(), reply.id()]
    );
    assert_eq!(store.entry(&reply.id()).unwrap().unwrap().id(), reply.id());
    // Dave's feed is not held: no head, no feed rows.
    assert!(store.head(&dave.keypair.author()).unwrap().is_none());

    // Following Dave later moves the reply into his feed.
    append(&store, dave.entries.clone());
    assert_eq!(store.head(&dave.keypair.author()).unwrap().unwrap().seq, 2);
    assert_eq!(
        ids(&store.thread(&post.id(), 100).unwrap()),
        vec![post.id(), reply.id()]
    );
}

#[test]
fn reactions_are_one_per_author_and_the_newest_counts() {
    let store = store();
    let mut alice = Author::new(1);
    let mut bob = Author::new(2);
    let mut carol = Author::new(3);
    let post = alice.post("react to me");
    append(&store, vec![post.clone()]);
    let react = |author: &mut Author, reaction: &str| {
        author.write(Body::React {
            target: post.id(),
            reaction: reaction.into(),
        })
    };
    let bob_heart = react(&mut bob, "❤");
    let bob_fire = react(&mut bob, "🔥");
    let carol_fire = react(&mut carol, "🔥");
    // The newer reaction wins even when it arrives first.
    detached(&store, vec![bob_fire, carol_fire]);
    detached(&store, vec![bob_heart]);
    assert_eq!(
        store.reactions(&post.id()).unwrap(),
        vec![ReactionCount {
            reaction: "🔥".into(),
            count: 2
        }]
    );
    assert_eq!(
        store
            .reaction_by(&post.id(), &bob.keypair.author())
            .unwrap()
            .as_deref(),
        Some("🔥")
    );
}

#[test]
fn edits_count_only_from_the_author_and_keep_their_history() {
    let store = store();
    let mut alice = Author::new(1);
    let mut mallory = Author::new(9);
    let post = alice.post("teh typo");
    let first = alice.write(Body::Edit {
        target: post.id(),
        text: "the typo".into(),
    });
    let second = alice.write(Body::Edit {
        target: post.id(),
        text: "no typo".into(),
    });
    append(&store, alice.entries.clone());
    let forged = mallory.write(Body::Edit {
        target: post.id(),
        text: "mallory was here".into(),
    });
    detached(&store, vec![forged]);
    assert_eq!(
        ids(&store.edits(&post.id()).unwrap()),
        vec![first.id(), second.id()]
    );
}

#[test]
fn reposts_and_quotes_are_counted() {
    let store = store();
    let mut alice = Author::new(1);
    let mut bob = Author::new(2);
    let post = alice.post("worth sharing");
    append(&store, vec![post.clone()]);
    let repost = bob.write(Body::Repost {
        target: post.id(),
        text: None,
    });
    let quote = bob.write(Body::Repost {
        target: post.id(),
        text: Some("look at this".into()),
    });
    detached(&store, vec![repost.clone(), quote.clone()]);
    assert_eq!(store.repost_count(&post.id()).unwrap(), 2);
    assert_eq!(
        ids(&store.reposts(&post.id(), 10).unwrap()),
        vec![repost.id(), quote.id()]
    );
}

#[test]
fn a_delete_drops_the_body_and_serves_the_tombstone_in_its_place() {
    let store = store();
    let mut alice = Author::new(1);
    let first = alice.post("one");
    let doomed = alice.post("regrettable");
    let third = alice.post("three");
    let tombstone = alice.delete(&doomed);
    let fifth = alice.post("five");
    append(&store, alice.entries.clone());
    let author = alice.keypair.author();

    assert!(store.entry(&doomed.id()).unwrap().is_none());
    assert!(matches!(
        store.entry_state(&doomed.id()).unwrap(),
        EntryState::Deleted { tombstone: t } if t == tombstone.id()
    ));
    let timeline = store.author_timeline(&author, u64::MAX, 10).unwrap();
    assert_eq!(ids(&timeline), vec![fifth.id(), third.id(), first.id()]);
    // Readers skip the hole; peers are served the tombstone in its place.
    assert_eq!(store.feed(&author, 1, 10).unwrap().len(), 4);
    let served = store.feed_for_peers(&author, 1, 10).unwrap();
    assert_eq!(
        ids(&served),
        vec![
            first.id(),
            tombstone.id(),
            third.id(),
            tombstone.id(),
            fifth.id()
        ]
    );
    // The same entry arriving again (from a peer that has not seen the delete) is not
    // stored again.
    assert_eq!(
        store.append(doomed.clone()).unwrap(),
        Ok(AppendOutcome::Deleted)
    );
    assert!(store.entry(&doomed.id()).unwrap().is_none());

    // A peer that never saw the body verifies the whole chain from what is served.
    let fresh = self::store();
    let served: Vec<VerifiedEntry> = served
        .into_iter()
        .map(|e| e.verify(u64::MAX).unwrap())
        .collect();
    for result in fresh.append_batch(served).unwrap() {
        result.unwrap();
    }
    let head = fresh.head(&author).unwrap().unwrap();
    assert_eq!((head.seq, head.id), (5, fifth.id()));
    assert!(fresh.entry(&doomed.id()).unwrap().is_none());
    assert!(matches!(
        fresh.entry_state(&doomed.id()).unwrap(),
        EntryState::Deleted { .. }
    ));
    assert_eq!(
        ids(&fresh.author_timeline(&author, u64::MAX, 10).unwrap()),
        vec![fifth.id(), third.id(), first.id()]
    );
}

#[test]
fn a_delete_that_arrives_first_keeps_the_target_out() {
    let store = store();
    let mut alice = Author::new(1);
    let mut dave = Author::new(4);
    let post = alice.post("thread");
    append(&store, vec![post.clone()]);
    let reply = dave.write(Body::Reply {
        text: "oops".into(),
        parent: post.id(),
        root: post.id(),
    });
    let tombstone = dave.delete(&reply);
    assert_eq!(
        detached(&store, vec![tombstone]),
        vec![AppendOutcome::Detached]
    );
    assert_eq!(
        detached(&store, vec![reply.clone()]),
        vec![AppendOutcome::Deleted]
    );
    assert_eq!(ids(&store.thread(&post.id(), 10).unwrap()), vec![post.id()]);
}

#[test]
fn a_delete_by_someone_else_does_not_keep_an_entry_out() {
    let store = store();
    let mut alice = Author::new(1);
    let mut mallory = Author::new(9);
    let post = alice.post("mine");
    let forged = mallory.write(Body::Delete {
        target: post.id(),
        target_seq: post.seq(),
        target_prev: post.prev(),
    });
    detached(&store, vec![forged]);
    append(&store, vec![post.clone()]);
    assert_eq!(store.entry(&post.id()).unwrap().unwrap().id(), post.id());
}

#[test]
fn a_detached_reply_deleted_later_leaves_the_thread_but_its_replies_stay() {
    let store = store();
    let mut alice = Author::new(1);
    let mut dave = Author::new(4);
    let mut erin = Author::new(5);
    let post = alice.post("thread");
    append(&store, vec![post.clone()]);
    let reply = dave.write(Body::Reply {
        text: "first".into(),
        parent: post.id(),
        root: post.id(),
    });
    let answer = erin.write(Body::Reply {
        text: "to dave".into(),
        parent: reply.id(),
        root: post.id(),
    });
    detached(&store, vec![reply.clone(), answer.clone()]);
    // Someone else's delete does nothing.
    let forged = erin.write(Body::Delete {
        target: reply.id(),
        target_seq: reply.seq(),
        target_prev: reply.prev(),
    });
    detached(&store, vec![forged]);
    assert_eq!(
        ids(&store.thread(&post.id(), 10).unwrap()),
        vec![post.id(), reply.id(), answer.id()]
    );
    let tombstone = dave.delete(&reply);
    detached(&store, vec![tombstone]);
    assert_eq!(
        ids(&store.thread(&post.id(), 10).unwrap()),
        vec![post.id(), answer.id()]
    );
}

#[test]
fn a_deleted_reaction_stops_counting() {
    let store = store();
    let mut alice = Author::new(1);
    let mut bob = Author::new(2);
    let post = alice.post("hi");
    append(&store, vec![post.clone()]);
    let heart = bob.write(Body::React {
        target: post.id(),
        reaction: "❤".into(),
    });
    let undo = bob.delete(&heart);
    append(&store, bob.entries.clone());
    assert!(store.reactions(&post.id()).unwrap().is_empty());
    let _ = undo;
}

#[test]
fn blocking_drops_everything_of_the_author_and_refuses_more() {
    let store = store();
    let mut troll = Author::new(7);
    let mut alice = Author::new(1);
    let post = alice.post("hi");
    append(&store, vec![post.clone()]);
    let first = troll.post("spam");
    append(&store, vec![first.clone()]);
    let reply = troll.write(Body::Reply {
        text: "spam reply".into(),
        parent: post.id(),
        root: post.id(),
    });
    let author = troll.keypair.author();
    store.set_blocked(author, true).unwrap();
    assert!(store.is_blocked(&author).unwrap());
    assert_eq!(store.blocked().unwrap(), vec![author]);
    assert!(store.entry(&first.id()).unwrap().is_none());
    assert!(store.head(&author).unwrap().is_none());
    let refused = store.append(reply).unwrap();
    assert_eq!(refused, Err(AppendError::Blocked { author }));
    assert_eq!(ids(&store.thread(&post.id(), 10).unwrap()), vec![post.id()]);

    store.set_blocked(author, false).unwrap();
    assert!(!store.is_blocked(&author).unwrap());
    store.set_muted(author, true).unwrap();
    assert_eq!(store.muted().unwrap(), vec![author]);
    assert!(store.is_muted(&author).unwrap());
}

#[test]
fn notifications_tags_and_the_public_timeline() {
    let store = store();
    let mut alice = Author::new(1);
    let mut bob = Author::new(2);
    store.add_local_identity(alice.keypair.author()).unwrap();
    let post = alice.post("hello #Kith");
    append(&store, vec![post.clone()]);
    let reply = bob.write(Body::Reply {
        text: "hi".into(),
        parent: post.id(),
        root: post.id(),
    });
    let mention = bob.post(&format!(
        "cc @{} about #kith and #p2p",
        alice.keypair.author().to_did()
    ));
    let heart = bob.write(Body::React {
        target: post.id(),
        reaction: "❤".into(),
    });
    let follow = bob.write(Body::Follow {
        subject: alice.keypair.author(),
    });
    detached(
        &store,
        vec![
            reply.clone(),
            mention.clone(),
            heart.clone(),
            follow.clone(),
        ],
    );
    let found = store
        .notifications(&alice.keypair.author(), None, 10)
        .unwrap();
    let kinds: Vec<(&str, ContentId)> = found.iter().map(|(k, e)| (k.as_str(), e.id())).collect();
    assert_eq!(
        kinds,
        vec![
            ("follow", follow.id()),
            ("reaction", heart.id()),
            ("mention", mention.id()),
            ("reply", reply.id()),
        ]
    );
    // Paging: older than the second.
    let older = store
        .notifications(&alice.keypair.author(), Some((heart.ts(), heart.id())), 10)
        .unwrap();
    assert_eq!(older.len(), 2);
    // Nobody else is notified, and one's own entries are not notifications.
    assert!(
        store
            .notifications(&bob.keypair.author(), None, 10)
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        ids(&store.tag_timeline("kith", None, 10).unwrap()),
        vec![mention.id(), post.id()]
    );
    assert_eq!(
        ids(&store.tag_timeline("p2p", None, 10).unwrap()),
        vec![mention.id()]
    );
    assert_eq!(
        ids(&store.public_timeline(None, 10).unwrap()),
        vec![mention.id(), post.id()]
    );
    // Muting hides them from all three.
    store.set_muted(bob.keypair.author(), true).unwrap();
    assert!(
        store
            .notifications(&alice.keypair.author(), None, 10)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        ids(&store.tag_timeline("kith", None, 10).unwrap()),
        vec![post.id()]
    );

    store.set_tag_followed("kith", true).unwrap();
    assert_eq!(store.followed_tags().unwrap(), vec!["kith".to_owned()]);
    assert!(!store.public_timeline_enabled().unwrap());
    store.set_public_timeline(true).unwrap();
    assert!(store.public_timeline_enabled().unwrap());
}

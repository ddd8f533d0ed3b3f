//! Behaviour of the store: chain rules, indexes, timelines, buffering, forks, persistence.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};

use kith_proto::{AuthorId, Body, ContentId, Draft, Keypair, VerifiedEntry, sign_entry};
use kith_store::{AppendError, AppendOutcome, IngestError, Store, StoreConfig};

const NOW: u64 = 1_764_000_000_000;
static CLOCK: AtomicU64 = AtomicU64::new(NOW - 100_000_000);

/// Signs successive entries of one feed.
struct Feed {
    keypair: Keypair,
    head: Option<(u64, ContentId)>,
    ts: u64,
}

impl Feed {
    fn new(seed: u8) -> Self {
        Self {
            keypair: Keypair::from_seed(&[seed; 32]),
            head: None,
            ts: NOW - 1_000_000,
        }
    }

    fn author(&self) -> AuthorId {
        self.keypair.author()
    }

    fn next(&mut self, body: Body) -> VerifiedEntry {
        // One clock for all feeds of a test, so timelines interleave in posting order.
        self.ts = CLOCK.fetch_add(1000, Ordering::Relaxed);
        let kind = body.kind().unwrap();
        let bytes = body.encode();
        let entry = sign_entry(
            &self.keypair,
            &Draft::after(self.head, self.ts, kind.as_str(), &bytes),
        )
        .unwrap();
        self.head = Some((entry.seq(), entry.id()));
        entry
    }

    fn post(&mut self, text: &str) -> VerifiedEntry {
        self.next(Body::Post { text: text.into() })
    }

    /// An entry at `seq` after `prev`, without moving this feed's head (to forge forks).
    fn at(&self, seq: u64, prev: Option<ContentId>, text: &str) -> VerifiedEntry {
        let bytes = Body::Post { text: text.into() }.encode();
        sign_entry(
            &self.keypair,
            &Draft {
                seq,
                prev,
                ts: self.ts,
                kind: "post",
                body: &bytes,
            },
        )
        .unwrap()
    }
}

fn store() -> Store {
    Store::in_memory(StoreConfig::default()).unwrap()
}

fn appended(store: &Store, entry: VerifiedEntry) {
    assert!(
        matches!(
            store.append(entry).unwrap(),
            Ok(AppendOutcome::Appended { .. })
        ),
        "entry should append"
    );
}

#[test]
fn appends_a_chain_and_answers_every_query() {
    let store = store();
    let mut feed = Feed::new(1);
    let entries: Vec<_> = (0..5).map(|i| feed.post(&format!("post {i}"))).collect();
    for entry in &entries {
        appended(&store, entry.clone());
    }
    let head = store.head(&feed.author()).unwrap().unwrap();
    assert_eq!((head.seq, head.id), (5, entries[4].id()));
    for entry in &entries {
        assert_eq!(
            store.entry(&entry.id()).unwrap().unwrap().bytes(),
            entry.bytes()
        );
        assert_eq!(
            store
                .entry_at(&feed.author(), entry.seq())
                .unwrap()
                .unwrap()
                .id(),
            entry.id()
        );
    }
    let range: Vec<u64> = store
        .feed(&feed.author(), 2, 2)
        .unwrap()
        .iter()
        .map(|e| e.seq())
        .collect();
    assert_eq!(range, [2, 3]);
    let newest: Vec<u64> = store
        .author_timeline(&feed.author(), u64::MAX, 3)
        .unwrap()
        .iter()
        .map(|e| e.seq())
        .collect();
    assert_eq!(newest, [5, 4, 3]);
    assert_eq!(store.entry_count().unwrap(), 5);
    assert!(store.entry(&ContentId::of(b"unknown")).unwrap().is_none());
}

#[test]
fn re_inserting_an_entry_is_a_no_op() {
    let store = store();
    let mut feed = Feed::new(2);
    let first = feed.post("one");
    let second = feed.post("two");
    appended(&store, first.clone());
    appended(&store, second.clone());
    let revision = store.revision().unwrap();
    assert_eq!(store.append(second).unwrap(), Ok(AppendOutcome::Duplicate));
    assert_eq!(store.append(first).unwrap(), Ok(AppendOutcome::Duplicate));
    assert_eq!(store.revision().unwrap(), revision);
    assert_eq!(store.entry_count().unwrap(), 2);
}

#[test]
fn a_gap_is_buffered_then_drained_in_order() {
    let store = store();
    let mut feed = Feed::new(3);
    let entries: Vec<_> = (0..6).map(|i| feed.post(&format!("{i}"))).collect();
    for entry in entries[2..].iter().rev() {
        assert_eq!(
            store.append(entry.clone()).unwrap(),
            Ok(AppendOutcome::Buffered { first_missing: 1 })
        );
    }
    assert_eq!(store.pending_count().unwrap(), 4);
    assert!(store.head(&feed.author()).unwrap().is_none());
    appended(&store, entries[0].clone());
    assert_eq!(store.pending_count().unwrap(), 4, "seq 2 still missing");
    assert_eq!(
        store.append(entries[1].clone()).unwrap(),
        Ok(AppendOutcome::Appended { drained: 4 })
    );
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(store.head(&feed.author()).unwrap().unwrap().seq, 6);
}

#[test]
fn the_out_of_order_buffer_is_bounded() {
    let config = StoreConfig {
        max_pending_per_feed: 3,
        ..StoreConfig::default()
    };
    let store = Store::in_memory(config).unwrap();
    let mut feed = Feed::new(4);
    let entries: Vec<_> = (0..6).map(|i| feed.post(&format!("{i}"))).collect();
    for entry in &entries[1..4] {
        assert!(matches!(
            store.append(entry.clone()).unwrap(),
            Ok(AppendOutcome::Buffered { .. })
        ));
    }
    assert_eq!(
        store.append(entries[4].clone()).unwrap(),
        Err(AppendError::BufferFull {
            author: feed.author()
        })
    );
    assert_eq!(store.pending_count().unwrap(), 3);
}

#[test]
fn a_second_entry_at_a_stored_seq_is_a_fork_that_freezes_the_feed() {
    let store = store();
    let mut feed = Feed::new(5);
    let e1 = feed.post("1");
    let e2 = feed.post("2");
    appended(&store, e1.clone());
    appended(&store, e2.clone());
    let rival = feed.at(2, Some(e1.id()), "2, other version");
    assert_eq!(
        store.append(rival.clone()).unwrap(),
        Err(AppendError::Forked {
            author: feed.author(),
            seq: 2
        })
    );
    let proof = store.fork_proof(&feed.author()).unwrap().unwrap();
    let ids: HashSet<ContentId> = [proof.entries().0.id(), proof.entries().1.id()].into();
    assert_eq!(ids, HashSet::from([e2.id(), rival.id()]));
    assert!(
        store.entry(&rival.id()).unwrap().is_none(),
        "the rival is never stored as an entry"
    );
    let e3 = feed.post("3");
    assert_eq!(
        store.append(e3).unwrap(),
        Err(AppendError::Frozen {
            author: feed.author(),
            seq: 2
        })
    );
    assert_eq!(store.head(&feed.author()).unwrap().unwrap().seq, 2);
}

#[test]
fn a_successor_naming_another_predecessor_is_a_fork() {
    let store = store();
    let mut feed = Feed::new(6);
    let e1 = feed.post("1");
    appended(&store, e1.clone());
    let broken = feed.at(2, Some(ContentId::of(b"some other seq 1")), "2");
    assert_eq!(
        store.append(broken).unwrap(),
        Err(AppendError::Forked {
            author: feed.author(),
            seq: 1
        })
    );
    assert!(store.fork_proof(&feed.author()).unwrap().is_some());
}

#[test]
fn a_buffered_rival_is_detected_too() {
    let store = store();
    let mut feed = Feed::new(7);
    let e1 = feed.post("1");
    let e2 = feed.post("2");
    let e3 = feed.post("3");
    let e3_rival = feed.at(3, Some(e2.id()), "3 again");
    appended(&store, e1);
    assert!(matches!(
        store.append(e3).unwrap(),
        Ok(AppendOutcome::Buffered { .. })
    ));
    assert!(matches!(
        store.append(e3_rival).unwrap(),
        Err(AppendError::Forked { seq: 3, .. })
    ));
    assert_eq!(
        store.pending_count().unwrap(),
        0,
        "a frozen feed keeps nothing buffered"
    );
}

#[test]
fn home_timeline_follows_the_follow_graph_and_pages() {
    let store = store();
    let mut me = Feed::new(10);
    let mut alice = Feed::new(11);
    let mut bob = Feed::new(12);
    store.add_local_identity(me.author()).unwrap();
    // Alice posts before I follow her: following backfills my home.
    let a1 = alice.post("alice 1");
    appended(&store, a1.clone());
    appended(&store, bob.post("bob 1"));
    appended(&store, me.post("me 1"));
    appended(
        &store,
        me.next(Body::Follow {
            subject: alice.author(),
        }),
    );
    let a2 = alice.post("alice 2");
    appended(&store, a2.clone());
    assert_eq!(store.following(&me.author()).unwrap(), [alice.author()]);
    assert_eq!(store.followers(&alice.author()).unwrap(), [me.author()]);

    let page = store.home(&me.author(), None, 2).unwrap();
    let texts: Vec<_> = page
        .entries
        .iter()
        .map(|e| e.body().text().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["alice 2", "me 1"]);
    let cursor: kith_store::HomeCursor = page.next.unwrap().to_string().parse().unwrap();
    let page2 = store.home(&me.author(), Some(cursor), 2).unwrap();
    let texts: Vec<_> = page2
        .entries
        .iter()
        .map(|e| e.body().text().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["alice 1"]);
    assert!(page2.next.is_none());

    appended(
        &store,
        me.next(Body::Unfollow {
            subject: alice.author(),
        }),
    );
    let page = store.home(&me.author(), None, 10).unwrap();
    let texts: Vec<_> = page
        .entries
        .iter()
        .map(|e| e.body().text().unwrap().to_owned())
        .collect();
    assert_eq!(texts, ["me 1"]);
    assert!(store.following(&me.author()).unwrap().is_empty());
}

#[test]
fn an_identity_made_local_later_gets_its_home_filled() {
    let store = store();
    let mut me = Feed::new(13);
    let mut carol = Feed::new(14);
    appended(&store, carol.post("carol 1"));
    appended(
        &store,
        me.next(Body::Follow {
            subject: carol.author(),
        }),
    );
    appended(&store, me.post("mine"));
    assert!(
        store
            .home(&me.author(), None, 10)
            .unwrap()
            .entries
            .is_empty()
    );
    store.add_local_identity(me.author()).unwrap();
    assert_eq!(store.local_identities().unwrap(), [me.author()]);
    assert_eq!(store.home(&me.author(), None, 10).unwrap().entries.len(), 2);
}

#[test]
fn replies_are_indexed_by_parent() {
    let store = store();
    let mut op = Feed::new(15);
    let mut replier = Feed::new(16);
    let post = op.post("question");
    appended(&store, post.clone());
    let reply = replier.next(Body::Reply {
        text: "answer".into(),
        parent: post.id(),
        root: post.id(),
    });
    appended(&store, reply.clone());
    let replies = store.replies(&post.id(), 10).unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].id(), reply.id());
    assert!(store.replies(&reply.id(), 10).unwrap().is_empty());
}

#[test]
fn ingest_stores_valid_entries_and_nothing_invalid() {
    let store = store();
    let mut feed = Feed::new(17);
    let good: Vec<_> = (0..4).map(|i| feed.post(&format!("{i}"))).collect();
    let mut forged = good[3].bytes().to_vec();
    let last = forged.len() - 1;
    forged[last] ^= 0x01; // inside the payload: the signature no longer matches
    let mut trailing = good[3].bytes().to_vec();
    trailing.push(0);
    let envelopes: Vec<&[u8]> = vec![
        good[0].bytes(),
        good[1].bytes(),
        &forged,
        &trailing,
        good[2].bytes(),
        b"\xa0",
    ];
    let results = store.ingest(&envelopes, NOW).unwrap();
    assert!(matches!(results[0], Ok(AppendOutcome::Appended { .. })));
    assert!(matches!(results[1], Ok(AppendOutcome::Appended { .. })));
    assert!(matches!(results[2], Err(IngestError::Invalid(_))));
    assert!(matches!(results[3], Err(IngestError::Invalid(_))));
    assert!(matches!(results[4], Ok(AppendOutcome::Appended { .. })));
    assert!(matches!(results[5], Err(IngestError::Invalid(_))));
    assert_eq!(store.entry_count().unwrap(), 3);
    assert_eq!(store.pending_count().unwrap(), 0);
}

#[test]
fn concurrent_writers_share_commits_and_lose_nothing() {
    let store = store();
    let feeds: Vec<Vec<VerifiedEntry>> = (0..8u8)
        .map(|seed| {
            let mut feed = Feed::new(100 + seed);
            (0..50).map(|i| feed.post(&format!("{i}"))).collect()
        })
        .collect();
    std::thread::scope(|scope| {
        for entries in &feeds {
            let store = store.clone();
            scope.spawn(move || {
                for entry in entries {
                    assert!(matches!(
                        store.append(entry.clone()).unwrap(),
                        Ok(AppendOutcome::Appended { .. })
                    ));
                }
            });
        }
    });
    assert_eq!(store.entry_count().unwrap(), 400);
    for entries in &feeds {
        let author = entries[0].author();
        assert_eq!(store.head(&author).unwrap().unwrap().seq, 50);
    }
}

#[test]
fn everything_survives_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.redb");
    let mut feed = Feed::new(20);
    let entries: Vec<_> = (0..3).map(|i| feed.post(&format!("{i}"))).collect();
    {
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        store.add_local_identity(feed.author()).unwrap();
        for entry in &entries {
            appended(&store, entry.clone());
        }
        store.close().unwrap();
    }
    let config = StoreConfig {
        check_integrity_on_open: true,
        ..StoreConfig::default()
    };
    let store = Store::open(&path, config).unwrap();
    assert_eq!(
        store.head(&feed.author()).unwrap().unwrap().id,
        entries[2].id()
    );
    assert_eq!(
        store.home(&feed.author(), None, 10).unwrap().entries.len(),
        3
    );
    assert_eq!(store.local_identities().unwrap(), [feed.author()]);
}

#[test]
fn close_refuses_while_other_handles_exist() {
    let store = store();
    let other = store.clone();
    assert!(matches!(store.close(), Err(kith_store::StoreError::InUse)));
    drop(other);
}

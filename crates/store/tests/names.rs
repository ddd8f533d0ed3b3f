//! The name registry's replica state: first claim wins, releases, concurrency, persistence.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Barrier};

use kith_proto::Keypair;
use kith_proto::names::{NameClaim, NameRelease};
use kith_store::{ClaimOutcome, Store, StoreConfig};

const NOW: u64 = 1_764_000_000_000;

fn key(seed: u8) -> Keypair {
    Keypair::from_seed(&[seed; 32])
}

fn claim(seed: u8, name: &str, ts: u64) -> NameClaim {
    NameClaim::sign(&key(seed), name, ts).unwrap()
}

fn release(seed: u8, name: &str, ts: u64) -> NameRelease {
    NameRelease::sign(&key(seed), name, ts).unwrap()
}

fn store() -> Store {
    Store::in_memory(StoreConfig::default()).unwrap()
}

#[test]
fn first_claim_wins() {
    let store = store();
    let alice = claim(1, "alice", NOW);
    assert_eq!(store.name_claim("alice").unwrap(), None);
    assert_eq!(store.claim_name(&alice).unwrap(), ClaimOutcome::Accepted);
    assert_eq!(store.name_claim("alice").unwrap(), Some(alice.clone()));
    // The same owner again, even with a newer claim: already held, the first claim kept.
    let again = claim(1, "alice", NOW + 5);
    assert_eq!(store.claim_name(&again).unwrap(), ClaimOutcome::AlreadyHeld);
    assert_eq!(store.claim_name(&alice).unwrap(), ClaimOutcome::AlreadyHeld);
    assert_eq!(store.name_claim("alice").unwrap(), Some(alice.clone()));
    // Another owner, even with an older claim: taken, and here is the holder's claim.
    let mallory = claim(2, "alice", NOW - 1_000);
    assert_eq!(
        store.claim_name(&mallory).unwrap(),
        ClaimOutcome::Taken(alice.clone())
    );
    assert_eq!(store.name_claim("alice").unwrap(), Some(alice));
    // Names are independent.
    assert_eq!(
        store.claim_name(&claim(2, "mallory", NOW)).unwrap(),
        ClaimOutcome::Accepted
    );
}

#[test]
fn release_by_a_non_owner_is_ignored() {
    let store = store();
    let alice = claim(1, "alice", NOW);
    store.claim_name(&alice).unwrap();
    assert!(!store.release_name(&release(2, "alice", NOW + 1)).unwrap());
    assert_eq!(store.name_claim("alice").unwrap(), Some(alice.clone()));
    // Nor does a release of a name nobody holds here do anything.
    assert!(!store.release_name(&release(1, "nobody", NOW)).unwrap());
    // An owner's release older than the claim does not release it.
    assert!(!store.release_name(&release(1, "alice", NOW - 1)).unwrap());
    assert_eq!(store.name_claim("alice").unwrap(), Some(alice));
}

#[test]
fn released_names_can_be_claimed_by_another_owner() {
    let store = store();
    store.claim_name(&claim(1, "alice", NOW)).unwrap();
    // Signed at the claim's own time counts (ts ≥ claim ts).
    assert!(store.release_name(&release(1, "alice", NOW)).unwrap());
    assert_eq!(store.name_claim("alice").unwrap(), None);
    assert!(!store.release_name(&release(1, "alice", NOW)).unwrap());
    let bob = claim(2, "alice", NOW + 10);
    assert_eq!(store.claim_name(&bob).unwrap(), ClaimOutcome::Accepted);
    assert_eq!(store.name_claim("alice").unwrap(), Some(bob.clone()));
    assert_eq!(
        store.claim_name(&claim(1, "alice", NOW + 20)).unwrap(),
        ClaimOutcome::Taken(bob)
    );
}

#[test]
fn concurrent_claims_of_one_name_accept_exactly_one() {
    let store = store();
    // Sign first (the proof of work), then race only the store calls.
    let claims: Vec<NameClaim> = (0..8u8)
        .map(|i| claim(10 + i, "contested", NOW + u64::from(i)))
        .collect();
    let barrier = Arc::new(Barrier::new(claims.len()));
    let handles: Vec<_> = claims
        .iter()
        .cloned()
        .map(|c| {
            let store = store.clone();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                store.claim_name(&c).unwrap()
            })
        })
        .collect();
    let outcomes: Vec<ClaimOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let accepted = outcomes
        .iter()
        .filter(|o| **o == ClaimOutcome::Accepted)
        .count();
    assert_eq!(accepted, 1, "{outcomes:?}");
    let winner = store.name_claim("contested").unwrap().unwrap();
    assert!(claims.contains(&winner));
    for (c, outcome) in claims.iter().zip(&outcomes) {
        match outcome {
            ClaimOutcome::Accepted => assert_eq!(*c, winner),
            ClaimOutcome::Taken(held) => assert_eq!(*held, winner),
            ClaimOutcome::AlreadyHeld | ClaimOutcome::Stale => {
                panic!("distinct owners, none released: {outcome:?}")
            }
        }
    }
    // The same owner from many threads: one Accepted, the rest AlreadyHeld.
    let same = claim(30, "samename", NOW);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let same = same.clone();
            std::thread::spawn(move || store.claim_name(&same).unwrap())
        })
        .collect();
    let outcomes: Vec<ClaimOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == ClaimOutcome::Accepted)
            .count(),
        1
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, ClaimOutcome::Accepted | ClaimOutcome::AlreadyHeld))
    );
}

#[test]
fn claims_are_listed_in_name_order_by_pages() {
    let store = store();
    let names = ["zed", "amy", "kim", "bo-b", "bob", "carl"];
    for (i, name) in names.iter().enumerate() {
        let outcome = store.claim_name(&claim(40 + i as u8, name, NOW)).unwrap();
        assert_eq!(outcome, ClaimOutcome::Accepted);
    }
    let mut sorted = names.to_vec();
    sorted.sort_unstable();
    let all: Vec<String> = store
        .name_claims(None, 100)
        .unwrap()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(all, sorted);
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.name_claims(after.as_deref(), 4).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        after = page.last().map(|c| c.name().to_owned());
        paged.extend(page.into_iter().map(|c| c.name().to_owned()));
    }
    assert_eq!(paged, sorted);
    assert!(store.name_claims(Some("zed"), 10).unwrap().is_empty());
    assert!(store.name_claims(None, 0).unwrap().is_empty());
    // `after` need not be a stored name.
    let from_c: Vec<String> = store
        .name_claims(Some("c"), 2)
        .unwrap()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    assert_eq!(from_c, ["carl", "kim"]);
}

#[test]
fn claims_persist_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.redb");
    let alice = claim(1, "alice", NOW);
    let bob = claim(2, "bobby", NOW);
    {
        let store = Store::open(&path, StoreConfig::default()).unwrap();
        assert_eq!(store.claim_name(&alice).unwrap(), ClaimOutcome::Accepted);
        assert_eq!(store.claim_name(&bob).unwrap(), ClaimOutcome::Accepted);
        assert!(store.release_name(&release(2, "bobby", NOW + 1)).unwrap());
        store.close().unwrap();
    }
    let store = Store::open(&path, StoreConfig::default()).unwrap();
    assert_eq!(store.name_claim("alice").unwrap(), Some(alice.clone()));
    assert_eq!(store.name_claim("bobby").unwrap(), None);
    assert_eq!(
        store.claim_name(&claim(3, "alice", NOW)).unwrap(),
        ClaimOutcome::Taken(alice.clone())
    );
    assert_eq!(store.name_claims(None, 10).unwrap(), vec![alice]);
    store.close().unwrap();
}

#[test]
fn a_damaged_record_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.redb");
    let alice = claim(1, "alice", NOW);
    Store::open(&path, StoreConfig::default())
        .unwrap()
        .close()
        .unwrap();
    {
        // Write straight into the table: a flipped signature bit, and a claim filed under
        // another name.
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let table: redb::TableDefinition<'_, &str, &[u8]> =
                redb::TableDefinition::new("names_v1");
            let mut names = txn.open_table(table).unwrap();
            let mut bad = alice.encode().to_vec();
            let last = bad.len() - 1;
            bad[last] ^= 1;
            names.insert("alice", bad.as_slice()).unwrap();
            names.insert("alicf", alice.encode()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = Store::open(&path, StoreConfig::default()).unwrap();
    assert!(matches!(
        store.name_claim("alice"),
        Err(kith_store::StoreError::Corrupt {
            table: "names_v1",
            ..
        })
    ));
    assert!(matches!(
        store.name_claim("alicf"),
        Err(kith_store::StoreError::Corrupt { .. })
    ));
    assert!(store.name_claims(None, 10).is_err());
}

#[test]
fn a_released_claim_cannot_be_replayed_but_the_owner_can_claim_again() {
    let store = store();
    let old = claim(1, "alice", NOW);
    assert_eq!(store.claim_name(&old).unwrap(), ClaimOutcome::Accepted);
    assert!(store.release_name(&release(1, "alice", NOW + 10)).unwrap());
    // The old claim, sent again (re-replication, read repair, an attacker): refused.
    assert_eq!(store.claim_name(&old).unwrap(), ClaimOutcome::Stale);
    assert_eq!(store.name_claim("alice").unwrap(), None);
    // A new claim by the owner, or anyone's, is fine.
    assert_eq!(
        store.claim_name(&claim(1, "alice", NOW + 20)).unwrap(),
        ClaimOutcome::Accepted
    );
}

//! What reaches the store from outside: every invalid test vector is refused with a typed
//! error and leaves nothing behind, and entries arriving in any order end as the same chain.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use kith_proto::{Body, ContentId, Draft, Keypair, VerifiedEntry, sign_entry};
use kith_store::{AppendOutcome, IngestError, Store, StoreConfig};
use proptest::prelude::*;

#[test]
fn no_invalid_test_vector_is_stored() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/test-vectors/invalid.json"
    );
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let store = Store::in_memory(StoreConfig::default()).unwrap();
    let mut refused = 0;
    for case in vectors["cases"].as_array().unwrap() {
        if case["target"] != "entry" {
            continue;
        }
        let name = case["name"].as_str().unwrap();
        let bytes = hex::decode(case["hex"].as_str().unwrap()).unwrap();
        let now = case["now_ms"].as_u64().unwrap();
        let results = store.ingest(&[&bytes], now).unwrap();
        match &results[0] {
            Err(IngestError::Invalid(error)) => {
                assert_eq!(
                    error.code(),
                    case["expected_code"].as_str().unwrap(),
                    "{name}"
                );
            }
            other => panic!("{name}: expected a typed refusal, got {other:?}"),
        }
        refused += 1;
    }
    assert!(refused >= 8, "only {refused} entry vectors");
    assert_eq!(store.entry_count().unwrap(), 0);
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(store.revision().unwrap(), 0, "nothing changed at all");
}

/// One feed of 120 entries, signed once for all cases (signing is slow in debug builds).
fn chain() -> &'static [VerifiedEntry] {
    static CHAIN: OnceLock<Vec<VerifiedEntry>> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let keypair = Keypair::from_seed(&[77; 32]);
        let mut head: Option<(u64, ContentId)> = None;
        (0..120)
            .map(|i| {
                let body = Body::Post {
                    text: format!("{i}"),
                }
                .encode();
                let entry = sign_entry(
                    &keypair,
                    &Draft::after(head, 1_764_000_000_000, "post", &body),
                )
                .unwrap();
                head = Some((entry.seq(), entry.id()));
                entry
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Entries of a feed delivered in any order, in batches of any size and with
    /// duplicates, end as the whole chain with nothing left buffered; the buffer never
    /// holds more than the feed has.
    #[test]
    fn any_arrival_order_converges_to_the_chain(
        order in Just((0..120usize).collect::<Vec<_>>()).prop_shuffle(),
        batch in 1usize..40,
        duplicates in proptest::collection::vec(0..120usize, 0..20),
    ) {
        let keypair = Keypair::from_seed(&[77; 32]);
        let entries = chain();
        let mut arrivals: Vec<_> = order.iter().map(|&i| entries[i].clone()).collect();
        for &d in &duplicates {
            arrivals.insert(d.min(arrivals.len()), entries[d].clone());
        }
        let store = Store::in_memory(StoreConfig::default()).unwrap();
        for chunk in arrivals.chunks(batch) {
            for result in store.append_batch(chunk.to_vec()).unwrap() {
                let accepted = matches!(
                    result,
                    Ok(AppendOutcome::Appended { .. } | AppendOutcome::Buffered { .. } | AppendOutcome::Duplicate)
                );
                prop_assert!(accepted, "refused: {:?}", result);
            }
            prop_assert!(store.pending_count().unwrap() < 120);
        }
        prop_assert_eq!(store.head(&keypair.author()).unwrap().map(|h| h.id), Some(entries[119].id()));
        prop_assert_eq!(store.pending_count().unwrap(), 0);
        let chain = store.feed(&keypair.author(), 1, usize::MAX).unwrap();
        prop_assert_eq!(chain.len(), 120);
        for (stored, expected) in chain.iter().zip(entries) {
            prop_assert_eq!(stored.bytes(), expected.bytes());
        }
    }

    /// With a small out-of-order buffer, a feed delivered in any order never buffers more
    /// than the bound (the excess is refused with `BufferFull`, not stored), and the chain
    /// is still complete once the entries come again in order, as a catch-up brings them.
    #[test]
    fn the_out_of_order_buffer_stays_bounded(
        order in Just((0..120usize).collect::<Vec<_>>()).prop_shuffle(),
        batch in 1usize..40,
    ) {
        const BOUND: u64 = 16;
        let keypair = Keypair::from_seed(&[77; 32]);
        let entries = chain();
        let store = Store::in_memory(StoreConfig {
            max_pending_per_feed: BOUND,
            ..StoreConfig::default()
        })
        .unwrap();
        let arrivals: Vec<_> = order.iter().map(|&i| entries[i].clone()).collect();
        for chunk in arrivals.chunks(batch) {
            for result in store.append_batch(chunk.to_vec()).unwrap() {
                let fine = matches!(
                    result,
                    Ok(AppendOutcome::Appended { .. } | AppendOutcome::Buffered { .. } | AppendOutcome::Duplicate)
                        | Err(kith_store::AppendError::BufferFull { .. })
                );
                prop_assert!(fine, "unexpected: {:?}", result);
            }
            prop_assert!(store.pending_count().unwrap() <= BOUND);
        }
        for chunk in entries.chunks(batch) {
            store.append_batch(chunk.to_vec()).unwrap();
            prop_assert!(store.pending_count().unwrap() <= BOUND);
        }
        prop_assert_eq!(store.pending_count().unwrap(), 0);
        let chain = store.feed(&keypair.author(), 1, usize::MAX).unwrap();
        prop_assert_eq!(chain.len(), 120);
        for (stored, expected) in chain.iter().zip(entries) {
            prop_assert_eq!(stored.bytes(), expected.bytes());
        }
    }
}

//! Per-function costs of the entry pipeline, with divan's statistics (median, mean, spread).
//!
//! ```text
//! cargo bench -p kith-proto --bench entry
//! ```
//!
//! The end-to-end ingest benchmark with ratios against raw verification is
//! `cargo bench -p kith-store --bench ingest` (docs/BENCHMARKS.md).

use divan::{Bencher, black_box};
use kith_proto::{Body, ContentId, Draft, Entry, Keypair, sign_entry, validate, validate_batch};

const NOW: u64 = 1_764_000_000_000;
const BATCH: usize = 256;

fn main() {
    divan::main();
}

/// `count` envelopes of one feed, about 250 bytes each.
fn envelopes(count: usize) -> Vec<Vec<u8>> {
    let keypair = Keypair::from_seed(&[3; 32]);
    let mut head: Option<(u64, ContentId)> = None;
    (0..count)
        .map(|i| {
            let text =
                format!("entry {i}: a short post of ordinary length, with a few words in it");
            let body = Body::Post { text }.encode();
            let entry =
                sign_entry(&keypair, &Draft::after(head, NOW, "post", &body)).expect("sign");
            head = Some((entry.seq(), entry.id()));
            entry.into_entry().into_bytes()
        })
        .collect()
}

#[divan::bench]
fn sign(bencher: Bencher<'_, '_>) {
    let keypair = Keypair::from_seed(&[3; 32]);
    let body = Body::Post {
        text: "a short post".into(),
    }
    .encode();
    bencher.bench(|| sign_entry(&keypair, &Draft::after(None, NOW, "post", black_box(&body))));
}

#[divan::bench]
fn decode(bencher: Bencher<'_, '_>) {
    let envelope = envelopes(1).remove(0);
    bencher.bench(|| Entry::decode(black_box(&envelope)));
}

#[divan::bench]
fn validate_one(bencher: Bencher<'_, '_>) {
    let envelope = envelopes(1).remove(0);
    bencher.bench(|| validate(black_box(&envelope), NOW));
}

#[divan::bench(counter = divan::counter::ItemsCount::new(BATCH))]
fn validate_batch_of_256(bencher: Bencher<'_, '_>) {
    let envelopes = envelopes(BATCH);
    let refs: Vec<&[u8]> = envelopes.iter().map(Vec::as_slice).collect();
    bencher.bench(|| validate_batch(black_box(&refs), NOW));
}

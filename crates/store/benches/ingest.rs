//! Ingest throughput against raw ed25519 verification, measured in the same run.
//!
//! ```text
//! cargo bench -p kith-store --bench ingest            # 15 rounds of 8192 entries
//! cargo bench -p kith-store --bench ingest -- 31 16384  # rounds, entries per round
//! ```
//!
//! Each round measures, on fresh data and a fresh on-disk store:
//!
//! * `single verify`: raw `verify_strict` of one ed25519 signature at a time (the baseline);
//! * `batch verify`: `ed25519_dalek::verify_batch` over 256 signatures at a time;
//! * `decode only`: `Entry::decode` (size, canonical form, structure, sha2-256), no signature;
//! * `validate`: decode + canonical check + sha2-256 + batch verify (`validate_batch`), no store;
//! * `store only (disk)`: appending already-verified entries (the writer thread alone);
//! * `ingest (disk)`: the full path: `validate_batch` on one thread while the store's writer
//!   commits the previous batch durably (2PC, fsync) to a redb file — what a peer does with
//!   entries it receives;
//! * `ingest (memory)`: the same into redb's in-memory backend, to show what the disk costs.
//!
//! It prints median, p10 and p90 over the rounds, and the ratio of each to single verify,
//! computed per round (both measured back to back) and then taken as a median.

use std::time::{Duration, Instant};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use kith_proto::{Body, ContentId, Draft, Keypair, VerifiedEntry, sign_entry, validate_batch};
use kith_store::{AppendOutcome, Store, StoreConfig};

const BATCH: usize = 256;
const AUTHORS: usize = 64;
const NOW: u64 = 1_764_000_000_000;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(15);
    let per_round: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(8192);
    println!(
        "ingest benchmark: {rounds} rounds of {per_round} entries ({AUTHORS} authors, batches of {BATCH})"
    );

    let names = [
        "single verify",
        "batch verify",
        "decode only",
        "validate",
        "store only (disk)",
        "ingest (disk)",
        "ingest (memory)",
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for round in 0..rounds {
        let envelopes = make_feeds(round, per_round);
        let round_rates = [
            single_verify(&envelopes),
            batch_verify(&envelopes),
            decode_only(&envelopes),
            validate_only(&envelopes),
            store_only(&envelopes),
            ingest(&envelopes, true),
            ingest(&envelopes, false),
        ];
        for (all, rate) in rates.iter_mut().zip(round_rates) {
            all.push(rate);
        }
    }

    println!();
    println!(
        "{:<16} {:>12} {:>12} {:>12} {:>16}",
        "path", "median/s", "p10/s", "p90/s", "× single verify"
    );
    for (name, all) in names.iter().zip(&rates) {
        let ratios: Vec<f64> = all
            .iter()
            .zip(&rates[0])
            .map(|(r, base)| r / base)
            .collect();
        println!(
            "{:<16} {:>12.0} {:>12.0} {:>12.0} {:>16.2}",
            name,
            percentile(all, 0.5),
            percentile(all, 0.1),
            percentile(all, 0.9),
            percentile(&ratios, 0.5)
        );
    }
}

/// `per_round` entries spread over `AUTHORS` fresh feeds, interleaved as they would arrive.
fn make_feeds(round: usize, per_round: usize) -> Vec<Vec<u8>> {
    let keys: Vec<Keypair> = (0..AUTHORS)
        .map(|a| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(round as u64).to_be_bytes());
            seed[8..16].copy_from_slice(&(a as u64).to_be_bytes());
            Keypair::from_seed(&seed)
        })
        .collect();
    let mut heads: Vec<Option<(u64, ContentId)>> = vec![None; AUTHORS];
    (0..per_round)
        .map(|i| {
            let a = i % AUTHORS;
            // A typical short post, about 250 bytes of envelope.
            let text = format!("entry {i} of round {round}: a short post of ordinary length, with a few words in it");
            let body = Body::Post { text }.encode();
            let entry = sign_entry(&keys[a], &Draft::after(heads[a], NOW, "post", &body)).expect("sign");
            heads[a] = Some((entry.seq(), entry.id()));
            entry.into_entry().into_bytes()
        })
        .collect()
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn baseline_material(count: usize) -> (Vec<VerifyingKey>, Vec<Vec<u8>>, Vec<Signature>) {
    let signing: Vec<SigningKey> = (0..AUTHORS)
        .map(|a| SigningKey::from_bytes(&[a as u8 + 1; 32]))
        .collect();
    let messages: Vec<Vec<u8>> = (0..count)
        .map(|i| {
            format!("a message of about the size of a payload, number {i:08}")
                .repeat(4)
                .into_bytes()
        })
        .collect();
    let signatures = messages
        .iter()
        .enumerate()
        .map(|(i, m)| signing[i % AUTHORS].sign(m))
        .collect();
    let keys = (0..count)
        .map(|i| signing[i % AUTHORS].verifying_key())
        .collect();
    (keys, messages, signatures)
}

fn single_verify(envelopes: &[Vec<u8>]) -> f64 {
    let (keys, messages, signatures) = baseline_material(envelopes.len());
    let started = Instant::now();
    for ((key, message), signature) in keys.iter().zip(&messages).zip(&signatures) {
        key.verify_strict(message, signature)
            .expect("valid signature");
    }
    rate(envelopes.len(), started.elapsed())
}

fn batch_verify(envelopes: &[Vec<u8>]) -> f64 {
    let (keys, messages, signatures) = baseline_material(envelopes.len());
    let started = Instant::now();
    for start in (0..keys.len()).step_by(BATCH) {
        let end = (start + BATCH).min(keys.len());
        let refs: Vec<&[u8]> = messages[start..end].iter().map(Vec::as_slice).collect();
        ed25519_dalek::verify_batch(&refs, &signatures[start..end], &keys[start..end])
            .expect("valid batch");
    }
    rate(envelopes.len(), started.elapsed())
}

fn validated(chunk: &[Vec<u8>]) -> Vec<VerifiedEntry> {
    let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
    validate_batch(&refs, NOW)
        .into_iter()
        .map(|r| r.expect("valid entry"))
        .collect()
}

fn decode_only(envelopes: &[Vec<u8>]) -> f64 {
    let started = Instant::now();
    for envelope in envelopes {
        std::hint::black_box(kith_proto::Entry::decode(envelope).expect("decodes"));
    }
    rate(envelopes.len(), started.elapsed())
}

fn validate_only(envelopes: &[Vec<u8>]) -> f64 {
    let started = Instant::now();
    let mut count = 0;
    for chunk in envelopes.chunks(BATCH) {
        count += validated(chunk).len();
    }
    rate(count, started.elapsed())
}

fn store_only(envelopes: &[Vec<u8>]) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("bench.redb"), StoreConfig::default()).expect("open");
    let batches: Vec<Vec<VerifiedEntry>> = envelopes.chunks(BATCH).map(validated).collect();
    let started = Instant::now();
    let tickets: Vec<_> = batches
        .into_iter()
        .map(|b| store.submit(b).expect("submit"))
        .collect();
    let appended: usize = tickets
        .into_iter()
        .map(|t| t.wait().expect("commit").len())
        .sum();
    let elapsed = started.elapsed();
    store.close().expect("close");
    rate(appended, elapsed)
}

fn ingest(envelopes: &[Vec<u8>], on_disk: bool) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = if on_disk {
        Store::open(&dir.path().join("bench.redb"), StoreConfig::default()).expect("open")
    } else {
        Store::in_memory(StoreConfig::default()).expect("open")
    };
    let started = Instant::now();
    // Pipeline: validate the next batch while the writer commits the previous ones.
    let mut tickets = Vec::new();
    for chunk in envelopes.chunks(BATCH) {
        tickets.push(store.submit(validated(chunk)).expect("submit"));
    }
    let mut appended = 0;
    for ticket in tickets {
        for result in ticket.wait().expect("commit") {
            assert!(
                matches!(result, Ok(AppendOutcome::Appended { .. })),
                "{result:?}"
            );
            appended += 1;
        }
    }
    let elapsed = started.elapsed();
    assert_eq!(appended, envelopes.len());
    store.close().expect("close");
    rate(appended, elapsed)
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

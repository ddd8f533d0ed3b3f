//! Costs of the name registry's records. Signing a claim is dominated by the proof of work
//! (`NAME_POW_BITS` = 14: about 16,384 hashes on average, geometric, so single runs vary a
//! lot); each iteration signs at another timestamp, so the median is over many searches.
//!
//! ```text
//! cargo bench -p kith-proto --bench names
//! ```

use std::sync::atomic::{AtomicU64, Ordering};

use divan::{Bencher, black_box};
use kith_proto::Keypair;
use kith_proto::names::{NameClaim, NameRelease, normalize_name};

const NOW: u64 = 1_764_000_000_000;

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn sign_claim(bencher: Bencher<'_, '_>) {
    let keypair = Keypair::from_seed(&[3; 32]);
    let ts = AtomicU64::new(NOW);
    bencher
        .with_inputs(|| ts.fetch_add(1, Ordering::Relaxed))
        .bench_values(|ts| NameClaim::sign(&keypair, black_box("someone"), ts));
}

#[divan::bench]
fn decode_claim(bencher: Bencher<'_, '_>) {
    let keypair = Keypair::from_seed(&[3; 32]);
    let claim = NameClaim::sign(&keypair, "someone", NOW).expect("sign");
    bencher.bench(|| NameClaim::decode(black_box(claim.encode()), NOW));
}

#[divan::bench]
fn sign_release(bencher: Bencher<'_, '_>) {
    let keypair = Keypair::from_seed(&[3; 32]);
    bencher.bench(|| NameRelease::sign(&keypair, black_box("someone"), NOW));
}

#[divan::bench]
fn normalize(bencher: Bencher<'_, '_>) {
    bencher.bench(|| normalize_name(black_box("Ａｌｉｃｅ_Example")));
}

//! What sealing costs per recipient: sealing and opening sealed entries for audiences of 1 to
//! 1000, against one X25519 Diffie-Hellman measured in the same run (the floor: sealing needs
//! one per recipient), and the bytes each recipient adds to the entry.
//!
//! ```text
//! cargo bench -p kith-proto --bench sealed            # 25 samples per figure
//! cargo bench -p kith-proto --bench sealed -- 51      # more samples
//! ```
//!
//! Prints medians and 90th percentiles over the samples (docs/BENCHMARKS.md, "Sealed
//! entries").

use std::hint::black_box;
use std::time::{Duration, Instant};

use kith_proto::sealed::{self, Audience, Inner, Opened};
use kith_proto::{AuthorId, Body, Keypair};
use x25519_dalek::{PublicKey, StaticSecret};

/// Median and 90th percentile of `samples` runs of `run`, each timed on its own.
fn measure(samples: usize, mut run: impl FnMut()) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[times.len() / 2], times[times.len() * 9 / 10])
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn main() {
    let samples: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(25);
    let inner = Inner {
        kind: "post".into(),
        body: Body::Post {
            text: "a followers-only post of ordinary length, with a few words in it".into(),
        }
        .encode(),
        audience: Audience::Followers,
    };
    let readers: Vec<Keypair> = (0..1000u32)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..4].copy_from_slice(&i.to_be_bytes());
            seed[31] = 7;
            Keypair::from_seed(&seed)
        })
        .collect();
    let authors: Vec<AuthorId> = readers.iter().map(Keypair::author).collect();

    // The floor: one X25519 (what wrapping for one recipient needs at least).
    let secret = StaticSecret::from([9u8; 32]);
    let public = PublicKey::from([
        9u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ]);
    let (dh, _) = measure(samples * 40, || {
        black_box(secret.diffie_hellman(black_box(&public)));
    });
    println!(
        "x25519 (baseline): median {:.1} µs ({samples} × 40 samples)",
        micros(dh)
    );
    println!();
    println!(
        "recipients  seal p50 µs  p90 µs  per recipient µs  × x25519  entry body bytes  bytes per recipient"
    );
    for n in [1usize, 10, 100, 1000] {
        let recipients = &authors[..n];
        let (p50, p90) = measure(samples, || {
            black_box(sealed::seal(black_box(recipients), &inner).expect("seal"));
        });
        let body = sealed::seal(recipients, &inner).expect("seal").encode();
        let per = micros(p50) / n as f64;
        println!(
            "{n:>10}  {:>11.1}  {:>6.1}  {per:>16.1}  {:>8.2}  {:>16}  {:>19.1}",
            micros(p50),
            micros(p90),
            per / micros(dh),
            body.len(),
            body.len() as f64 / n as f64,
        );
    }
    println!();
    // Opening: a recipient of a 1000-recipient entry, and an outsider who scans every stanza.
    let big = sealed::seal(&authors, &inner).expect("seal");
    let (open_p50, open_p90) = measure(samples, || {
        let opened = sealed::open(&readers[999], black_box(&big)).expect("open");
        assert!(matches!(opened, Opened::Readable { .. }));
    });
    let outsider = Keypair::from_seed(&[1; 32]);
    let (miss_p50, miss_p90) = measure(samples, || {
        let opened = sealed::open(&outsider, black_box(&big)).expect("open");
        assert_eq!(opened, Opened::NotForUs);
    });
    println!(
        "open, recipient of 1000: p50 {:.1} µs, p90 {:.1} µs ({:.2} × x25519)",
        micros(open_p50),
        micros(open_p90),
        micros(open_p50) / micros(dh)
    );
    println!(
        "open, not a recipient of 1000: p50 {:.1} µs, p90 {:.1} µs ({:.2} × x25519)",
        micros(miss_p50),
        micros(miss_p90),
        micros(miss_p50) / micros(dh)
    );
}

//! Catch-up of a long feed between two nodes, against raw ed25519 verification measured in
//! the same run.
//!
//! ```text
//! cargo bench -p kith-node --bench catchup              # 7 rounds, a feed of 100,000 entries
//! cargo bench -p kith-node --bench catchup -- 9 200000  # rounds, entries in the feed
//! ```
//!
//! The author's on-disk store is filled once, before any node runs: entries are signed with
//! `kith_proto` and appended in batches straight into the store. Each round then starts, in
//! one process and one tokio runtime with two worker threads (as on a 2-core machine):
//!
//! * the author's node on that store (test profile, 127.0.0.1, port 0);
//! * a fresh follower with a fresh on-disk store in a temporary directory, joined through
//!   the author.
//!
//! The clock starts when the follower's `follow` is called and stops when its store's head
//! of the author's feed reaches the last entry (polled every 2 ms): the DHT lookups of the
//! catch-up, every range fetch, verification and durable commit are inside. Rounds alternate
//! between a follower nobody listens to and one with an event subscriber that reads every
//! `NodeEvent` (as an API client would), to show what the event broadcast costs; every
//! entry must produce its event.
//!
//! Baselines, measured in every round next to the catch-up, on one thread:
//!
//! * `single verify`: raw `verify_strict` of one ed25519 signature at a time;
//! * `batch verify`: `ed25519_dalek::verify_batch` over 256 signatures at a time;
//! * `validate_batch`: kith's whole check of received envelopes (decode, canonical form,
//!   sha2-256, batch verification), 512 at a time, on entries of the same feed.
//!
//! It prints each round (with the CPU the process used during the catch-up, in cores, and
//! the store writer threads' share of it), then median, p10 and p90 over the rounds and the
//! ratio of each to single verify (computed per round, then the median).

// A benchmark: failures abort it.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use kith_node::{Node, NodeConfig, NodeEvent, Profile};
use kith_proto::{AuthorId, Body, Draft, Keypair, validate_batch};
use kith_store::{Store, StoreConfig};

const AUTHOR_SEED: u8 = 1;
/// Signatures per round for the single and batch verification baselines.
const BASELINE_SIGNATURES: usize = 8192;
const BATCH: usize = 256;
/// Envelopes per `validate_batch` call in the baseline (one fetch response).
const VALIDATE_BATCH: usize = 512;
/// Longest a round may take before the benchmark gives up.
const ROUND_DEADLINE: Duration = Duration::from_secs(300);

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(7);
    let entries: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    println!("catch-up benchmark: {rounds} rounds, a feed of {entries} entries");

    let dir = tempfile::tempdir().unwrap();
    let author_store =
        Store::open(&dir.path().join("author.redb"), StoreConfig::default()).unwrap();
    let started = Instant::now();
    let envelopes = preload(&author_store, entries);
    println!(
        "author's store filled with {entries} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let names = [
        "catch-up",
        "catch-up + event subscriber",
        "single verify",
        "batch verify",
        "validate_batch",
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut firsts = Vec::new();
    // One quiet round first: page cache, allocator, and the first connection warm up.
    for round in 0..=rounds {
        let warm_up = round == 0;
        let with_subscriber = round % 2 == 0;
        let outcome = runtime.block_on(catch_up_round(
            &author_store,
            dir.path(),
            round,
            entries,
            with_subscriber,
        ));
        let single = single_verify();
        let batch = batch_verify();
        let validate = validate_only(&envelopes);
        println!(
            "round {round:>2}{}: catch-up{} {:>6.0} entries/s ({:.2} s, first entry after {:.0} ms, \
             {:.2} cores busy of which store writers {:.2}); single verify {single:.0}/s; \
             batch verify {batch:.0}/s; validate_batch {validate:.0}/s",
            if warm_up {
                " (warm-up, not counted)"
            } else {
                ""
            },
            if with_subscriber { " + subscriber" } else { "" },
            outcome.rate,
            outcome.elapsed.as_secs_f64(),
            outcome.first.as_secs_f64() * 1000.0,
            outcome.cpu.as_secs_f64() / outcome.elapsed.as_secs_f64(),
            outcome.writer_cpu.as_secs_f64() / outcome.elapsed.as_secs_f64(),
        );
        if warm_up {
            continue;
        }
        let path = usize::from(with_subscriber);
        rates[path].push(outcome.rate);
        // Each catch-up row gets its round's baseline at the same index.
        rates[2].push(single);
        rates[3].push(batch);
        rates[4].push(validate);
        firsts.push(outcome.first.as_secs_f64() * 1000.0);
    }

    println!();
    println!(
        "{:<28} {:>7} {:>12} {:>12} {:>12} {:>16}",
        "path", "rounds", "median/s", "p10/s", "p90/s", "× single verify"
    );
    for (index, (name, all)) in names.iter().zip(&rates).enumerate() {
        if all.is_empty() {
            continue;
        }
        // Ratios against the single-verify figure of the same round.
        let bases: Vec<f64> = match index {
            0 => rounds_of(&rates[2], rounds, false),
            1 => rounds_of(&rates[2], rounds, true),
            _ => rates[2].clone(),
        };
        let ratios: Vec<f64> = all.iter().zip(&bases).map(|(r, base)| r / base).collect();
        println!(
            "{:<28} {:>7} {:>12.0} {:>12.0} {:>12.0} {:>16.2}",
            name,
            all.len(),
            percentile(all, 0.5),
            percentile(all, 0.1),
            percentile(all, 0.9),
            percentile(&ratios, 0.5)
        );
    }
    println!(
        "time from follow to the first entry stored (DHT lookups, first fetch): median {:.0} ms",
        percentile(&firsts, 0.5)
    );
    author_store.close().unwrap();
}

/// The baselines of the rounds (counted from 1) with or without a subscriber.
fn rounds_of(all: &[f64], rounds: usize, with_subscriber: bool) -> Vec<f64> {
    (1..=rounds)
        .zip(all)
        .filter(|(round, _)| (round % 2 == 0) == with_subscriber)
        .map(|(_, rate)| *rate)
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Signs a feed of `count` short posts and appends it to `store` in batches; returns the
/// first envelopes (for the `validate_batch` baseline).
fn preload(store: &Store, count: u64) -> Vec<Vec<u8>> {
    let keypair = Keypair::from_seed(&[AUTHOR_SEED; 32]);
    // In the past, one millisecond apart, so that every timestamp is valid now.
    let first_ts = now_ms() - count - 60_000;
    let mut head = None;
    let mut batch = Vec::with_capacity(1024);
    let mut tickets = std::collections::VecDeque::new();
    let mut sample = Vec::new();
    for i in 0..count {
        let text = format!(
            "entry {i} of a long feed: a short post of ordinary length, with a few words in it"
        );
        let body = Body::Post { text }.encode();
        let entry =
            kith_proto::sign_entry(&keypair, &Draft::after(head, first_ts + i, "post", &body))
                .unwrap();
        head = Some((entry.seq(), entry.id()));
        if sample.len() < 8 * VALIDATE_BATCH {
            sample.push(entry.bytes().to_vec());
        }
        batch.push(entry);
        if batch.len() == 1024 {
            tickets.push_back(store.submit(std::mem::take(&mut batch)).unwrap());
            // Keep a few batches queued, no more.
            if tickets.len() > 4 {
                check_appended(tickets.pop_front().unwrap().wait().unwrap());
            }
        }
    }
    if !batch.is_empty() {
        tickets.push_back(store.submit(batch).unwrap());
    }
    for ticket in tickets {
        check_appended(ticket.wait().unwrap());
    }
    let author = keypair.author();
    assert_eq!(store.head(&author).unwrap().unwrap().seq, count);
    sample
}

fn check_appended(results: Vec<kith_store::AppendResult>) {
    for result in results {
        assert!(
            matches!(result, Ok(kith_store::AppendOutcome::Appended { .. })),
            "{result:?}"
        );
    }
}

struct Outcome {
    rate: f64,
    elapsed: Duration,
    first: Duration,
    /// CPU time of the whole process during the catch-up, and of the store writer threads.
    cpu: Duration,
    writer_cpu: Duration,
}

/// CPU time (user + system) used so far by the process and by its store writer threads;
/// zero where `/proc` cannot be read.
fn cpu_times() -> (Duration, Duration) {
    fn ticks(stat: &str) -> Option<u64> {
        // Fields after the command name (which is in parentheses): utime is the 12th,
        // stime the 13th.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
    }
    // Linux's USER_HZ.
    let tick = Duration::from_millis(10);
    let process = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| ticks(&s))
        .unwrap_or(0);
    let mut writers = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            if stat.contains("(kith-store-writ") {
                writers += ticks(&stat).unwrap_or(0);
            }
        }
    }
    (tick * process as u32, tick * writers as u32)
}

fn node_config(bootstrap: Vec<String>) -> NodeConfig {
    NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
        bootstrap,
        profile: Profile::Test,
        // No periodic catch-up during the measurement: only the one `follow` starts.
        sync_interval: Some(Duration::from_secs(3600)),
        ..NodeConfig::default()
    }
}

async fn catch_up_round(
    author_store: &Store,
    dir: &std::path::Path,
    round: usize,
    entries: u64,
    with_subscriber: bool,
) -> Outcome {
    let author = Node::start(
        node_config(vec![]),
        author_store.clone(),
        Keypair::from_seed(&[AUTHOR_SEED; 32]),
        [AUTHOR_SEED + 100; 32],
    )
    .await
    .unwrap();
    let author_id: AuthorId = author.author();
    let author_addr = author.listen_addrs().await.unwrap().remove(0);

    let follower_path = dir.join(format!("follower-{round}.redb"));
    let follower_store = Store::open(&follower_path, StoreConfig::default()).unwrap();
    // A fresh identity per round.
    let seed = [(round % 100) as u8 + 20; 32];
    let follower = Node::start(
        node_config(vec![author_addr]),
        follower_store.clone(),
        Keypair::from_seed(&seed),
        [(round % 100) as u8 + 130; 32],
    )
    .await
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while follower.peers().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "the follower never connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let identify and the DHT routing tables settle, as between two peers that have been
    // connected for a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let events = Arc::new(AtomicU64::new(0));
    let listener = with_subscriber.then(|| {
        let mut receiver = follower.subscribe();
        let events = Arc::clone(&events);
        tokio::spawn(async move {
            loop {
                match receiver.recv().await {
                    Ok(NodeEvent::Entry {
                        entry,
                        local: false,
                    }) if entry.author() == author_id => {
                        events.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        panic!("the event subscriber lagged by {missed} events")
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    });

    let (cpu_before, writers_before) = cpu_times();
    let started = Instant::now();
    follower.follow(author_id).await.unwrap();
    let mut first = None;
    loop {
        let seq = follower_store
            .head(&author_id)
            .unwrap()
            .map_or(0, |h| h.seq);
        if seq > 0 && first.is_none() {
            first = Some(started.elapsed());
        }
        if seq >= entries {
            break;
        }
        assert!(
            started.elapsed() < ROUND_DEADLINE,
            "catch-up stalled at {seq} of {entries}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = started.elapsed();
    let (cpu_after, writers_after) = cpu_times();

    // The whole feed, the same as the author's.
    assert_eq!(
        follower_store.head(&author_id).unwrap().unwrap().id,
        author_store.head(&author_id).unwrap().unwrap().id
    );
    if let Some(listener) = listener {
        let deadline = Instant::now() + Duration::from_secs(30);
        while events.load(Ordering::Relaxed) < entries {
            assert!(
                Instant::now() < deadline,
                "{} events for {entries} entries",
                events.load(Ordering::Relaxed)
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        listener.abort();
    }

    follower.shutdown().await.unwrap();
    author.shutdown().await.unwrap();
    follower_store.close().unwrap();
    let _ = std::fs::remove_file(&follower_path);
    Outcome {
        rate: entries as f64 / elapsed.as_secs_f64(),
        elapsed,
        first: first.unwrap_or(elapsed),
        cpu: cpu_after.saturating_sub(cpu_before),
        writer_cpu: writers_after.saturating_sub(writers_before),
    }
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn baseline_material() -> (Vec<VerifyingKey>, Vec<Vec<u8>>, Vec<Signature>) {
    let signing = SigningKey::from_bytes(&[7; 32]);
    let messages: Vec<Vec<u8>> = (0..BASELINE_SIGNATURES)
        .map(|i| {
            format!("a message of about the size of a payload, number {i:08}")
                .repeat(4)
                .into_bytes()
        })
        .collect();
    let signatures = messages.iter().map(|m| signing.sign(m)).collect();
    let keys = vec![signing.verifying_key(); BASELINE_SIGNATURES];
    (keys, messages, signatures)
}

fn single_verify() -> f64 {
    let (keys, messages, signatures) = baseline_material();
    let started = Instant::now();
    for ((key, message), signature) in keys.iter().zip(&messages).zip(&signatures) {
        key.verify_strict(message, signature).unwrap();
    }
    rate(keys.len(), started.elapsed())
}

fn batch_verify() -> f64 {
    let (keys, messages, signatures) = baseline_material();
    let started = Instant::now();
    for start in (0..keys.len()).step_by(BATCH) {
        let end = (start + BATCH).min(keys.len());
        let refs: Vec<&[u8]> = messages[start..end].iter().map(Vec::as_slice).collect();
        ed25519_dalek::verify_batch(&refs, &signatures[start..end], &keys[start..end]).unwrap();
    }
    rate(keys.len(), started.elapsed())
}

fn validate_only(envelopes: &[Vec<u8>]) -> f64 {
    let now = now_ms();
    let started = Instant::now();
    let mut count = 0;
    for chunk in envelopes.chunks(VALIDATE_BATCH) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        for result in validate_batch(&refs, now) {
            result.unwrap();
            count += 1;
        }
    }
    rate(count, started.elapsed())
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

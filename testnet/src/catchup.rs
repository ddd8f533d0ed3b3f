//! `[catchup]` scenarios: one author's feed is preloaded with many entries before the
//! network starts; a follower with an empty store follows it, and the run measures how fast
//! the follower verifies and stores the whole feed. The baseline, raw single-signature
//! ed25519 verification on one core, is measured in the same run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use kith_proto::{Body, Draft, Keypair, sign_entry};
use kith_store::{Store, StoreConfig};
use serde::Deserialize;
use serde_json::json;

use crate::net::{self, Network};
use crate::scenario::{Report, Scenario, round2};

/// `[catchup]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Catchup {
    /// The peer whose feed is preloaded.
    pub(crate) author: usize,
    /// The peer that follows it and catches up.
    pub(crate) follower: usize,
    /// Entries preloaded into the author's feed.
    pub(crate) entries: u64,
}

/// File names inside a data directory (docs/OPERATIONS.md).
const KEY_FILE: &str = "identity.key";
const STORE_FILE: &str = "kith.redb";
/// Entries signed and appended per store transaction while preloading.
const PRELOAD_BATCH: usize = 1024;

/// Appends `count` signed posts to the feed of the identity in `data_dir`, directly into its
/// store (the daemon is not running). Returns the feed's seq afterwards.
pub(crate) fn preload(data_dir: &Path, count: u64) -> Result<u64> {
    let key_path = data_dir.join(KEY_FILE);
    let text = std::fs::read_to_string(&key_path)
        .with_context(|| format!("cannot read {}", key_path.display()))?;
    let keypair = Keypair::from_key_file(&text)
        .map_err(|e| anyhow!("{} is not a key file: {e}", key_path.display()))?;
    let author = keypair.author();
    let store = Store::open(&data_dir.join(STORE_FILE), StoreConfig::default())
        .with_context(|| format!("cannot open the store in {}", data_dir.display()))?;
    let mut head = store.head(&author)?.map(|h| (h.seq, h.id));
    // Timestamps one millisecond apart, ending now: the feed looks like a long history.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis() as u64;
    let first_ts = now.saturating_sub(count);
    let mut written = 0;
    while written < count {
        let in_batch = (count - written).min(PRELOAD_BATCH as u64);
        let mut batch = Vec::with_capacity(in_batch as usize);
        for i in written..written + in_batch {
            let body = Body::Post {
                text: format!("preloaded post {i}: a short post of ordinary length"),
            };
            let kind = body.kind().ok_or_else(|| anyhow!("a post has a kind"))?;
            let bytes = body.encode();
            let entry = sign_entry(
                &keypair,
                &Draft::after(head, first_ts + i, kind.as_str(), &bytes),
            )?;
            head = Some((entry.seq(), entry.id()));
            batch.push(entry);
        }
        for result in store.append_batch(batch)? {
            result.map_err(|e| anyhow!("preloading: an entry was refused: {e}"))?;
        }
        written += in_batch;
    }
    store.close()?;
    Ok(head.map_or(0, |(seq, _)| seq))
}

/// Raw single-signature ed25519 verifications per second on one core: the median of five
/// rounds of about 0.2 s, each over 1000 signatures of 250-byte messages.
pub(crate) fn single_verify_rate() -> f64 {
    use ed25519_dalek::{Signer as _, SigningKey};
    let key = SigningKey::from_bytes(&[7; 32]);
    let public = key.verifying_key();
    let material: Vec<(Vec<u8>, ed25519_dalek::Signature)> = (0..1000u32)
        .map(|i| {
            let mut message = vec![0u8; 250];
            message[..4].copy_from_slice(&i.to_le_bytes());
            let signature = key.sign(&message);
            (message, signature)
        })
        .collect();
    let mut rates: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let mut verified = 0u64;
            while started.elapsed() < Duration::from_millis(200) {
                for (message, signature) in &material {
                    if public.verify_strict(message, signature).is_ok() {
                        verified += 1;
                    }
                }
            }
            verified as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// Runs a `[catchup]` scenario on a fresh network in `dir`.
pub(crate) async fn run(
    scenario: &Scenario,
    catchup: &Catchup,
    kith: &Path,
    dir: &Path,
) -> Result<Report> {
    if catchup.author >= scenario.peers
        || catchup.follower >= scenario.peers
        || catchup.author == catchup.follower
    {
        bail!(
            "`catchup.author` and `catchup.follower` must be two different peers below {}",
            scenario.peers
        );
    }
    let client = reqwest::Client::new();
    let started = Instant::now();
    out!(
        "{}: preloading {} entries into peer {}, starting {} peers",
        scenario.name(),
        catchup.entries,
        catchup.author,
        scenario.peers
    );
    let author_index = catchup.author;
    let count = catchup.entries;
    let network = Network::up_prepared(
        kith,
        dir,
        scenario.peers,
        scenario.topology,
        scenario.seed,
        &client,
        |dirs: &[PathBuf]| {
            let preload_started = Instant::now();
            let seq = preload(&dirs[author_index], count)?;
            out!(
                "preloaded {count} entries (head seq {seq}) in {:.1} s",
                preload_started.elapsed().as_secs_f64()
            );
            Ok(())
        },
    )
    .await?;
    let mut report = Report::empty(scenario, &network);
    report.up_s = round2(started.elapsed().as_secs_f64());
    let author = &network.peers[catchup.author];
    let follower = &network.peers[catchup.follower];
    let token = follower.token()?;

    let verify_single_per_s = tokio::task::spawn_blocking(single_verify_rate).await?;
    out!("baseline: {verify_single_per_s:.0} single ed25519 verifications/s on one core");

    let before = net::proc_sample(follower.pid);
    net::post_json(
        &client,
        &follower.api,
        &token,
        "/api/v1/follows",
        &json!({ "author": author.author }),
    )
    .await
    .context("following the author")?;
    let followed_at = Instant::now();
    let deadline = Duration::from_secs_f64(scenario.expect.settle_s);
    let path = format!("/api/v1/feeds/{}?limit=1&all=true", author.author);
    let mut seq = 0;
    let mut last_print = Instant::now();
    while seq < count && followed_at.elapsed() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if let Ok(page) = net::get_json(&client, &follower.api, &token, &path).await {
            seq = page["entries"][0]["seq"].as_u64().unwrap_or(0);
        }
        if last_print.elapsed() > Duration::from_secs(5) {
            last_print = Instant::now();
            out!(
                "{:>6.1} s: follower holds {seq} of {count}",
                followed_at.elapsed().as_secs_f64()
            );
        }
    }
    let catchup_s = followed_at.elapsed().as_secs_f64();
    let after = net::proc_sample(follower.pid);
    let rate = seq as f64 / catchup_s;

    report.expected = count as usize;
    report.delivered = seq.min(count) as usize;
    report.lost = (count - seq.min(count)) as usize;
    report.delivered_pct = round2(report.delivered as f64 * 100.0 / count.max(1) as f64);
    report.duration_s = round2(catchup_s);
    report.catchup_s = Some(round2(catchup_s));
    report.catchup_entries_per_s = Some(rate.round());
    report.verify_single_per_s = Some(verify_single_per_s.round());
    report.catchup_vs_single_verify = Some(round2(rate / verify_single_per_s));
    if let (Some(b), Some(a)) = (before, after) {
        let secs = a.at.duration_since(b.at).as_secs_f64().max(1e-3);
        let cpu = a.cpu_ticks.saturating_sub(b.cpu_ticks) as f64 / net::clock_ticks();
        report.peer_usage.push(crate::scenario::PeerUsage {
            index: catchup.follower,
            pid: follower.pid,
            rss_mb: round2(a.rss_kb as f64 / 1024.0),
            rss_peak_mb: round2(a.hwm_kb as f64 / 1024.0),
            cpu_pct: round2(cpu / secs * 100.0),
        });
    }
    let mut failures = Vec::new();
    if seq < count {
        failures.push(format!(
            "the follower held {seq} of {count} entries after settle_s {}",
            scenario.expect.settle_s
        ));
    }
    if let Some(min) = scenario.expect.min_catchup_entries_per_s
        && rate < min
    {
        failures.push(format!(
            "catch-up {rate:.0} entries/s < min_catchup_entries_per_s {min}"
        ));
    }
    drop(network);
    report.passed = failures.is_empty();
    report.failures = failures;
    Ok(report)
}

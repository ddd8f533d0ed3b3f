//! Crash durability: a child process ingests while the parent kills it with SIGKILL at a
//! random point, over and over. After every kill the database must open cleanly (full
//! integrity check) and hold every entry the child had acknowledged, with unbroken chains.
//!
//! The child is this same test binary, re-run with an environment variable that switches
//! the test into child mode. Set `KITH_CRASH_CYCLES` to run more cycles than CI's 20.
//!
//! Half the authors append with `submit_relaxed` (as received entries are stored): those
//! entries may be lost by a crash, but never once a durable commit submitted after their
//! acknowledgement has completed. The child prints `mark K` just before a durable batch is
//! submitted and `covered K` once it is committed; every relaxed entry (`rel …`) printed
//! before `mark K` must survive when `covered K` was printed.

// The child and helpers are test code outside #[test] functions.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kith_proto::{Body, ContentId, Draft, Keypair, sign_entry};
use kith_store::{AppendOutcome, Store, StoreConfig};

const CHILD_ENV: &str = "KITH_CRASH_CHILD_DB";
const TEST_NAME: &str = "kill_9_during_ingest_loses_no_acknowledged_entry";
const AUTHORS: u8 = 4;
const TS: u64 = 1_764_000_000_000;

fn keypair(index: u8) -> Keypair {
    Keypair::from_seed(&[index + 1; 32])
}

/// Authors `0..DURABLE_AUTHORS` append durably, the others relaxed.
const DURABLE_AUTHORS: u8 = 2;

/// Child mode: append to every feed from its own thread, in random-sized batches, and print
/// one `ack AUTHOR SEQ ID` (durable) or `rel AUTHOR SEQ ID` (relaxed) line per entry once
/// its batch is committed, with `mark K` / `covered K` around each durable batch. Runs
/// until killed.
fn child(path: &Path) -> ! {
    let store = Store::open(path, StoreConfig::default()).expect("child opens the store");
    let stdout = Arc::new(Mutex::new(std::io::stdout()));
    let marks = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let threads: Vec<_> = (0..AUTHORS)
        .map(|index| {
            let store = store.clone();
            let stdout = Arc::clone(&stdout);
            let marks = Arc::clone(&marks);
            std::thread::spawn(move || {
                let durable = index < DURABLE_AUTHORS;
                let keypair = keypair(index);
                let mut head = store
                    .head(&keypair.author())
                    .unwrap()
                    .map(|h| (h.seq, h.id));
                let mut rng = XorShift::new(u64::from(index) + nanos());
                loop {
                    let size = 1 + rng.below(16);
                    let mut batch = Vec::new();
                    for _ in 0..size {
                        let text = format!("entry after {head:?}");
                        let body = Body::Post { text }.encode();
                        let entry =
                            sign_entry(&keypair, &Draft::after(head, TS, "post", &body)).unwrap();
                        head = Some((entry.seq(), entry.id()));
                        batch.push(entry);
                    }
                    let acked: Vec<_> = batch.iter().map(|e| (e.seq(), e.id())).collect();
                    let results = if durable {
                        let mark = marks.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        {
                            let mut out = stdout.lock().unwrap();
                            writeln!(out, "mark {mark}").unwrap();
                            out.flush().unwrap();
                        }
                        let results = store.append_batch(batch).expect("append");
                        let mut out = stdout.lock().unwrap();
                        writeln!(out, "covered {mark}").unwrap();
                        results
                    } else {
                        store
                            .submit_relaxed(batch)
                            .and_then(kith_store::Ticket::wait)
                            .expect("relaxed append")
                    };
                    let mut out = stdout.lock().unwrap();
                    let tag = if durable { "ack" } else { "rel" };
                    for ((seq, id), result) in acked.into_iter().zip(results) {
                        assert!(
                            matches!(result, Ok(AppendOutcome::Appended { .. })),
                            "{result:?}"
                        );
                        writeln!(out, "{tag} {index} {seq} {id}").unwrap();
                    }
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
    unreachable!("child threads never stop");
}

#[test]
fn kill_9_during_ingest_loses_no_acknowledged_entry() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&path));
    }
    let cycles: usize = std::env::var("KITH_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kith.redb");
    let seed = nanos();
    println!("crash test seed {seed}, {cycles} cycles");
    let mut rng = XorShift::new(seed);
    // Everything any child ever acknowledged: (author, seq) -> id.
    let mut acknowledged: BTreeMap<(u8, u64), ContentId> = BTreeMap::new();
    let mut open_times = Vec::new();

    for cycle in 0..cycles {
        let kill_after = 5 + rng.below(300) as usize;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let acks: Arc<(Mutex<Vec<String>>, Condvar)> =
            Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let reader = {
            let acks = Arc::clone(&acks);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if ["ack ", "rel ", "mark ", "covered "]
                        .iter()
                        .any(|tag| line.starts_with(tag))
                    {
                        acks.0.lock().unwrap().push(line);
                        acks.1.notify_all();
                    }
                }
            })
        };
        // Wait (with a generous deadline) until the child has acknowledged a random number of
        // entries, then kill it wherever it is: mid-batch, mid-commit or between commits.
        {
            let deadline = Instant::now() + Duration::from_secs(120);
            let mut lines = acks.0.lock().unwrap();
            while lines.len() < kill_after {
                let left = deadline
                    .checked_duration_since(Instant::now())
                    .expect("child made no progress in 120 s");
                lines = acks.1.wait_timeout(lines, left).unwrap().0;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        // Relaxed entries printed before `mark K`, for every K that was `covered`, must
        // survive; other relaxed entries may be lost (and the feed then ends before them).
        let lines = acks.0.lock().unwrap();
        let covered: std::collections::HashSet<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("covered "))
            .collect();
        let last_covering_mark = lines.iter().rposition(|l| {
            l.strip_prefix("mark ")
                .is_some_and(|mark| covered.contains(mark))
        });
        for (at, line) in lines.iter().enumerate() {
            let relaxed = line.starts_with("rel ");
            if !(line.starts_with("ack ") || relaxed) {
                continue;
            }
            if relaxed && last_covering_mark.is_none_or(|mark| at > mark) {
                continue;
            }
            let mut parts = line.split_whitespace().skip(1);
            let author: u8 = parts.next().unwrap().parse().unwrap();
            let seq: u64 = parts.next().unwrap().parse().unwrap();
            let id: ContentId = parts.next().unwrap().parse().unwrap();
            acknowledged.insert((author, seq), id);
        }
        drop(lines);

        let started = Instant::now();
        let config = StoreConfig {
            check_integrity_on_open: true,
            ..StoreConfig::default()
        };
        let store = Store::open(&path, config)
            .unwrap_or_else(|e| panic!("cycle {cycle}: reopen failed: {e}"));
        open_times.push(started.elapsed());
        for (&(author, seq), id) in &acknowledged {
            let stored = store.entry_at(&keypair(author).author(), seq).unwrap();
            assert_eq!(
                stored.map(|e| e.id()),
                Some(*id),
                "cycle {cycle}: acknowledged entry {author}/{seq} lost"
            );
        }
        for author in 0..AUTHORS {
            let author = keypair(author).author();
            let Some(head) = store.head(&author).unwrap() else {
                continue;
            };
            let chain = store.feed(&author, 1, usize::MAX).unwrap();
            assert_eq!(
                chain.len() as u64,
                head.seq,
                "cycle {cycle}: feed has holes"
            );
            for pair in chain.windows(2) {
                assert_eq!(
                    pair[1].prev(),
                    Some(pair[0].id()),
                    "cycle {cycle}: broken chain"
                );
            }
        }
        store.close().unwrap();
    }
    open_times.sort();
    println!(
        "{} entries acknowledged over {cycles} kills, none lost; reopen with integrity check: median {:?}, max {:?}",
        acknowledged.len(),
        open_times[open_times.len() / 2],
        open_times[open_times.len() - 1]
    );
    assert!(acknowledged.len() >= cycles * 5);
}

fn nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// A tiny PRNG: the test needs varied kill points, not cryptographic randomness.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

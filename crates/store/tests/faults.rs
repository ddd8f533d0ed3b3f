//! Storage faults: when the disk fails, appends are answered with an error, never
//! acknowledged, and nothing of the failed batch becomes visible.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kith_proto::{Body, ContentId, Draft, Keypair, VerifiedEntry, sign_entry};
use kith_store::{AppendOutcome, Store, StoreConfig, StoreError};
use redb::StorageBackend;
use redb::backends::InMemoryBackend;

/// An in-memory disk whose writes and syncs fail while `broken` is set.
#[derive(Debug)]
struct FlakyDisk {
    inner: InMemoryBackend,
    broken: Arc<AtomicBool>,
}

impl FlakyDisk {
    fn check(&self) -> Result<(), io::Error> {
        if self.broken.load(Ordering::SeqCst) {
            Err(io::Error::other("injected disk failure"))
        } else {
            Ok(())
        }
    }
}

impl StorageBackend for FlakyDisk {
    fn len(&self) -> Result<u64, io::Error> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        self.check()?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> Result<(), io::Error> {
        self.check()?;
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        self.check()?;
        self.inner.write(offset, data)
    }
}

fn feed(count: usize) -> Vec<VerifiedEntry> {
    let keypair = Keypair::from_seed(&[55; 32]);
    let mut head: Option<(u64, ContentId)> = None;
    (0..count)
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
}

#[test]
fn a_failing_disk_acknowledges_nothing() {
    let broken = Arc::new(AtomicBool::new(false));
    let disk = FlakyDisk {
        inner: InMemoryBackend::new(),
        broken: Arc::clone(&broken),
    };
    let store = Store::with_backend(disk, StoreConfig::default()).unwrap();
    let entries = feed(4);
    assert!(matches!(
        store.append(entries[0].clone()).unwrap(),
        Ok(AppendOutcome::Appended { .. })
    ));

    broken.store(true, Ordering::SeqCst);
    let failed = store.append_batch(entries[1..3].to_vec());
    assert!(
        matches!(failed, Err(StoreError::BatchFailed { .. })),
        "{failed:?}"
    );
    // Snapshot reads still work and show only what was committed.
    let author = entries[0].author();
    assert_eq!(store.head(&author).unwrap().map(|h| h.seq), Some(1));
    assert!(store.entry(&entries[1].id()).unwrap().is_none());

    // After an I/O error redb refuses further writes until the database is reopened: the
    // store keeps answering with an error (never a false acknowledgement) even once the disk
    // works again. Reopening is the daemon's job (restart).
    broken.store(false, Ordering::SeqCst);
    let again = store.append_batch(entries[1..].to_vec());
    assert!(
        matches!(again, Err(StoreError::BatchFailed { .. })),
        "{again:?}"
    );
    assert_eq!(store.head(&author).unwrap().map(|h| h.seq), Some(1));
}

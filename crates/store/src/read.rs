//! Queries. Each opens a read transaction: a consistent snapshot that never waits for the
//! writer.

use std::fmt;
use std::str::FromStr;

use kith_proto::{AuthorId, ContentId, Entry, ForkProof};
use redb::{ReadOnlyTable, ReadableTable, ReadableTableMetadata};

use crate::tables::*;
use crate::writer::author_from_table;
use crate::{Store, StoreError};

/// The newest entry held of a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadInfo {
    /// Its seq.
    pub seq: u64,
    /// Its id.
    pub id: ContentId,
    /// Its timestamp.
    pub ts: u64,
}

/// Where a page of a home timeline ends; pass it back to get the next (older) page. Its text
/// form is opaque to clients (hex).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HomeCursor {
    ts: u64,
    author: AuthorId,
    seq: u64,
}

impl fmt::Display for HomeCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self
            .ts
            .to_be_bytes()
            .iter()
            .chain(self.author.as_bytes())
            .chain(&self.seq.to_be_bytes())
        {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// A cursor that is not one this store handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid timeline cursor; use the `next` value of the previous page")]
pub struct BadCursor;

impl FromStr for HomeCursor {
    type Err = BadCursor;
    fn from_str(s: &str) -> Result<Self, BadCursor> {
        if s.len() != 96 || !s.is_ascii() {
            return Err(BadCursor);
        }
        let mut bytes = [0u8; 48];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| BadCursor)?;
        }
        Ok(HomeCursor {
            ts: be_u64(&bytes, 0),
            author: AuthorId::from_bytes(digest(&bytes, 8)).map_err(|_| BadCursor)?,
            seq: be_u64(&bytes, 40),
        })
    }
}

/// One page of a home timeline, newest first.
#[derive(Debug, Clone)]
pub struct HomePage {
    /// The entries.
    pub entries: Vec<Entry>,
    /// The cursor for the next (older) page, if there may be one.
    pub next: Option<HomeCursor>,
}

fn decode(table: &'static str, bytes: &[u8]) -> Result<Entry, StoreError> {
    Entry::decode(bytes).map_err(|error| StoreError::Corrupt {
        table,
        detail: error.to_string(),
    })
}

fn log_entry(
    log: &ReadOnlyTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<Entry>, StoreError> {
    match log.get(key)? {
        Some(value) => Ok(Some(decode("log_v1", &value.value()[32..])?)),
        None => Ok(None),
    }
}

impl Store {
    /// The entry with content id `id`.
    pub fn entry(&self, id: &ContentId) -> Result<Option<Entry>, StoreError> {
        let txn = self.read()?;
        let ids = txn.open_table(IDS)?;
        let Some(key) = ids.get(id.digest().as_slice())? else {
            return Ok(None);
        };
        let log = txn.open_table(LOG)?;
        log_entry(&log, key.value())
    }

    /// The entry of `author` at `seq`.
    pub fn entry_at(&self, author: &AuthorId, seq: u64) -> Result<Option<Entry>, StoreError> {
        let txn = self.read()?;
        let log = txn.open_table(LOG)?;
        log_entry(&log, feed_key(author, seq).as_slice())
    }

    /// Up to `limit` entries of `author`'s feed with seq ≥ `from_seq`, in seq order.
    pub fn feed(
        &self,
        author: &AuthorId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.log_range(author, from_seq..=u64::MAX, false, limit)
    }

    /// Up to `limit` entries of every kind of `author`'s feed with seq < `before_seq`
    /// (`u64::MAX` for the newest), newest first.
    pub fn feed_before(
        &self,
        author: &AuthorId,
        before_seq: u64,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        if before_seq == 0 {
            return Ok(Vec::new());
        }
        self.log_range(author, 0..=before_seq - 1, true, limit)
    }

    /// Up to `limit` entries of `author`'s feed with seq in `seqs`, oldest or newest first.
    fn log_range(
        &self,
        author: &AuthorId,
        seqs: std::ops::RangeInclusive<u64>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let log = txn.open_table(LOG)?;
        let start = feed_key(author, *seqs.start());
        let end = feed_key(author, *seqs.end());
        let rows = log.range(start.as_slice()..=end.as_slice())?;
        let rows: Box<dyn Iterator<Item = _>> = if newest_first {
            Box::new(rows.rev())
        } else {
            Box::new(rows)
        };
        let mut entries = Vec::new();
        for row in rows.take(limit) {
            let (_, value) = row?;
            entries.push(decode("log_v1", &value.value()[32..])?);
        }
        Ok(entries)
    }

    /// Up to `limit` timeline items (posts, replies, reposts) of `author`, newest first,
    /// with seq < `before_seq` (pass `u64::MAX` for the newest).
    pub fn author_timeline(
        &self,
        author: &AuthorId,
        before_seq: u64,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let timeline = txn.open_table(AUTHOR_TIMELINE)?;
        let log = txn.open_table(LOG)?;
        let start = feed_key(author, 0);
        let end = feed_key(author, before_seq);
        let mut entries = Vec::new();
        for row in timeline
            .range(start.as_slice()..end.as_slice())?
            .rev()
            .take(limit)
        {
            let (key, _) = row?;
            if let Some(entry) = log_entry(&log, key.value())? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// The newest entry held of `author`'s feed.
    pub fn head(&self, author: &AuthorId) -> Result<Option<HeadInfo>, StoreError> {
        let txn = self.read()?;
        let heads = txn.open_table(HEADS)?;
        Ok(heads.get(author.as_bytes().as_slice())?.map(|v| {
            let v = v.value();
            HeadInfo {
                seq: be_u64(v, 0),
                id: ContentId::from_digest(digest(v, 8)),
                ts: be_u64(v, 40),
            }
        }))
    }

    /// A page of `owner`'s home timeline (own and followed authors' posts, replies and
    /// reposts), newest first, older than `cursor` if given.
    pub fn home(
        &self,
        owner: &AuthorId,
        cursor: Option<HomeCursor>,
        limit: usize,
    ) -> Result<HomePage, StoreError> {
        let txn = self.read()?;
        let home = txn.open_table(HOME)?;
        let log = txn.open_table(LOG)?;
        let ids = txn.open_table(IDS)?;
        let start = prefix_start(owner.as_bytes(), 48);
        let end = match cursor {
            Some(c) => home_key(owner, c.ts, &c.author, c.seq).to_vec(),
            None => prefix_end(owner.as_bytes(), 48),
        };
        let mut entries = Vec::new();
        let mut last = None;
        for row in home
            .range(start.as_slice()..end.as_slice())?
            .rev()
            .take(limit)
        {
            let (key, id) = row?;
            let key = key.value();
            last = Some(HomeCursor {
                ts: be_u64(key, 32),
                author: author_from_table("home_v1", digest(key, 40))?,
                seq: be_u64(key, 72),
            });
            let Some(feed_key) = ids.get(id.value())? else {
                continue;
            };
            if let Some(entry) = log_entry(&log, feed_key.value())? {
                entries.push(entry);
            }
        }
        let next = if entries.len() == limit { last } else { None };
        Ok(HomePage { entries, next })
    }

    /// Up to `limit` replies to `parent`, oldest first.
    pub fn replies(&self, parent: &ContentId, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let replies = txn.open_table(REPLIES)?;
        let log = txn.open_table(LOG)?;
        let start = prefix_start(parent.digest(), 40);
        let end = prefix_end(parent.digest(), 40);
        let mut entries = Vec::new();
        for row in replies.range(start.as_slice()..end.as_slice())?.take(limit) {
            let (_, feed_key) = row?;
            if let Some(entry) = log_entry(&log, feed_key.value())? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// The thread of `root` as this store knows it: the root entry (if held) first, then
    /// the replies breadth first (each parent's replies oldest first), at most `limit`
    /// entries in all. Replies whose parent is not held are not reached.
    pub fn thread(&self, root: &ContentId, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let mut entries: Vec<Entry> = self.entry(root)?.into_iter().collect();
        let mut parents = std::collections::VecDeque::from([*root]);
        let mut seen = std::collections::HashSet::from([*root]);
        while let Some(parent) = parents.pop_front() {
            if entries.len() >= limit {
                break;
            }
            for reply in self.replies(&parent, limit - entries.len())? {
                if seen.insert(reply.id()) {
                    parents.push_back(reply.id());
                    entries.push(reply);
                }
            }
        }
        entries.truncate(limit);
        Ok(entries)
    }

    fn graph(
        &self,
        table: redb::TableDefinition<'static, &'static [u8], u64>,
        name: &'static str,
        author: &AuthorId,
    ) -> Result<Vec<AuthorId>, StoreError> {
        let txn = self.read()?;
        let graph = txn.open_table(table)?;
        let start = prefix_start(author.as_bytes(), 32);
        let end = prefix_end(author.as_bytes(), 32);
        let mut authors = Vec::new();
        for row in graph.range(start.as_slice()..end.as_slice())? {
            let (key, _) = row?;
            authors.push(author_from_table(name, digest(key.value(), 32))?);
        }
        Ok(authors)
    }

    /// Authors `author` follows, per the follow and unfollow entries stored.
    pub fn following(&self, author: &AuthorId) -> Result<Vec<AuthorId>, StoreError> {
        self.graph(FOLLOWS, "follows_v1", author)
    }

    /// Authors known to follow `author`.
    pub fn followers(&self, author: &AuthorId) -> Result<Vec<AuthorId>, StoreError> {
        self.graph(FOLLOWERS, "followers_v1", author)
    }

    /// The fork proof of `author`'s feed, if it forked. `now_ms` bounds timestamps as usual.
    pub fn fork_proof(&self, author: &AuthorId) -> Result<Option<ForkProof>, StoreError> {
        let txn = self.read()?;
        let forks = txn.open_table(FORKS)?;
        let Some(value) = forks.get(author.as_bytes().as_slice())? else {
            return Ok(None);
        };
        ForkProof::decode(&value.value()[8..], u64::MAX)
            .map(Some)
            .map_err(|error| StoreError::Corrupt {
                table: "forks_v1",
                detail: error.to_string(),
            })
    }

    /// Identities hosted by this peer.
    pub fn local_identities(&self) -> Result<Vec<AuthorId>, StoreError> {
        let txn = self.read()?;
        let local = txn.open_table(LOCAL)?;
        let mut authors = Vec::new();
        for row in local.iter()? {
            let (key, _) = row?;
            authors.push(author_from_table(
                "local_identities_v1",
                digest(key.value(), 0),
            )?);
        }
        Ok(authors)
    }

    /// Entries waiting in the out-of-order buffer.
    pub fn pending_count(&self) -> Result<u64, StoreError> {
        let txn = self.read()?;
        Ok(txn.open_table(PENDING)?.len()?)
    }

    /// Number of entries stored (all feeds).
    pub fn entry_count(&self) -> Result<u64, StoreError> {
        let txn = self.read()?;
        Ok(txn.open_table(LOG)?.len()?)
    }

    /// A counter that grows with every change to the store.
    pub fn revision(&self) -> Result<u64, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        Ok(meta.get("revision")?.map_or(0, |v| v.value()))
    }
}

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

/// A log row: `None` if absent or deleted (only the id is left).
fn log_entry(
    log: &ReadOnlyTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<Entry>, StoreError> {
    match log.get(key)? {
        Some(value) if value.value().len() > 32 => {
            Ok(Some(decode("log_v1", &value.value()[32..])?))
        }
        _ => Ok(None),
    }
}

/// What a store knows of a content id.
#[derive(Debug, Clone)]
pub enum EntryState {
    /// The entry is held (in its feed or detached).
    Held(Box<Entry>),
    /// Its author deleted it; the tombstone (the delete entry), if held.
    Deleted {
        /// The id of the delete entry.
        tombstone: ContentId,
    },
    /// Not known here.
    Unknown,
}

/// How many authors reacted to an entry with one reaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionCount {
    /// The reaction (an emoji or short word).
    pub reaction: String,
    /// How many authors' current reaction it is.
    pub count: u64,
}

/// The read tables an id lookup needs.
struct Lookup {
    ids: ReadOnlyTable<&'static [u8], &'static [u8]>,
    log: ReadOnlyTable<&'static [u8], &'static [u8]>,
    detached: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl Lookup {
    fn open(txn: &redb::ReadTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            ids: txn.open_table(IDS)?,
            log: txn.open_table(LOG)?,
            detached: txn.open_table(DETACHED)?,
        })
    }

    fn get(&self, digest: &[u8]) -> Result<Option<Entry>, StoreError> {
        if let Some(key) = self.ids.get(digest)? {
            return log_entry(&self.log, key.value());
        }
        match self.detached.get(digest)? {
            Some(bytes) => Ok(Some(decode("detached_v1", bytes.value())?)),
            None => Ok(None),
        }
    }
}

impl Store {
    /// The entry with content id `id`, in a feed or detached; `None` if unknown or deleted.
    pub fn entry(&self, id: &ContentId) -> Result<Option<Entry>, StoreError> {
        let txn = self.read()?;
        Lookup::open(&txn)?.get(id.digest())
    }

    /// Whether `id` is held, deleted or unknown here.
    pub fn entry_state(&self, id: &ContentId) -> Result<EntryState, StoreError> {
        let txn = self.read()?;
        if let Some(entry) = Lookup::open(&txn)?.get(id.digest())? {
            return Ok(EntryState::Held(Box::new(entry)));
        }
        Ok(match Self::verified_tombstone(&txn, id)? {
            Some(tombstone) => EntryState::Deleted { tombstone },
            None => EntryState::Unknown,
        })
    }

    /// The id of the delete entry that is known to have deleted `id` (by its author): one
    /// recorded when `id` was held, or for a place in a feed held here.
    fn verified_tombstone(
        txn: &redb::ReadTransaction,
        id: &ContentId,
    ) -> Result<Option<ContentId>, StoreError> {
        let tombstones = txn.open_table(TOMBSTONES)?;
        let start = prefix_start(id.digest(), 32);
        let end = prefix_end(id.digest(), 32);
        for row in tombstones.range(start.as_slice()..end.as_slice())? {
            let (_, value) = row?;
            if value.value()[32] == 1 {
                return Ok(Some(ContentId::from_digest(digest(value.value(), 0))));
            }
        }
        Ok(None)
    }

    /// The delete entry of a deleted `id`, if held: what peers are served in its place.
    pub fn tombstone_of(&self, id: &ContentId) -> Result<Option<Entry>, StoreError> {
        let txn = self.read()?;
        let Some(tombstone) = Self::verified_tombstone(&txn, id)? else {
            return Ok(None);
        };
        Lookup::open(&txn)?.get(tombstone.digest())
    }

    /// Up to `limit` entries of `author`'s feed from `from_seq` on, in seq order, as served
    /// to peers: one per seq, a deleted entry replaced by its tombstone (the delete entry,
    /// which carries the deleted entry's id and link), so the chain stays verifiable. Stops
    /// at a deleted entry whose tombstone is not held.
    pub fn feed_for_peers(
        &self,
        author: &AuthorId,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let lookup = Lookup::open(&txn)?;
        let tombstones = txn.open_table(TOMBSTONES)?;
        let start = feed_key(author, from_seq);
        let end = feed_key(author, u64::MAX);
        let mut entries = Vec::new();
        for row in lookup
            .log
            .range(start.as_slice()..=end.as_slice())?
            .take(limit)
        {
            let (_, value) = row?;
            let value = value.value();
            if value.len() > 32 {
                entries.push(decode("log_v1", &value[32..])?);
                continue;
            }
            let deleted = ContentId::from_digest(digest(value, 0));
            let stand_in = match tombstones.get(tombstone_key(&deleted, author).as_slice())? {
                Some(t) => lookup.get(&t.value()[..32])?,
                None => None,
            };
            match stand_in {
                Some(tombstone) => entries.push(tombstone),
                None => break,
            }
        }
        Ok(entries)
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
        for row in rows {
            if entries.len() >= limit {
                break;
            }
            let (_, value) = row?;
            // Deleted entries (only the id left) are skipped.
            if value.value().len() > 32 {
                entries.push(decode("log_v1", &value.value()[32..])?);
            }
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

    /// Ids of up to `limit` replies to `parent` (deleted ones included), oldest first.
    fn reply_ids(
        replies: &ReadOnlyTable<&'static [u8], &'static [u8]>,
        parent: &ContentId,
        limit: usize,
    ) -> Result<Vec<ContentId>, StoreError> {
        let start = prefix_start(parent.digest(), 40);
        let end = prefix_end(parent.digest(), 40);
        let mut ids = Vec::new();
        for row in replies.range(start.as_slice()..end.as_slice())?.take(limit) {
            let (key, _) = row?;
            ids.push(ContentId::from_digest(digest(key.value(), 40)));
        }
        Ok(ids)
    }

    /// Up to `limit` replies to `parent` held here (in feeds or detached), oldest first.
    pub fn replies(&self, parent: &ContentId, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let replies = txn.open_table(REPLIES)?;
        let lookup = Lookup::open(&txn)?;
        let mut entries = Vec::new();
        for id in Self::reply_ids(&replies, parent, limit)? {
            if let Some(entry) = lookup.get(id.digest())? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// The thread of `root` as this store knows it: the root entry (if held) first, then
    /// the replies breadth first (each parent's replies oldest first), at most `limit`
    /// entries in all. Deleted replies are left out, but replies to them are still reached;
    /// replies whose parent this store never learnt of are not.
    pub fn thread(&self, root: &ContentId, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let replies = txn.open_table(REPLIES)?;
        let lookup = Lookup::open(&txn)?;
        let mut entries: Vec<Entry> = lookup.get(root.digest())?.into_iter().collect();
        let mut parents = std::collections::VecDeque::from([*root]);
        let mut seen = std::collections::HashSet::from([*root]);
        // Bounded walk: deleted replies do not count towards `limit`, visits do.
        let mut visits = 0usize;
        while let Some(parent) = parents.pop_front() {
            if entries.len() >= limit || visits >= limit.saturating_mul(4) {
                break;
            }
            for id in Self::reply_ids(&replies, &parent, limit)? {
                visits += 1;
                if seen.insert(id) {
                    parents.push_back(id);
                    if let Some(entry) = lookup.get(id.digest())? {
                        entries.push(entry);
                    }
                }
            }
        }
        entries.truncate(limit);
        Ok(entries)
    }

    /// Current reactions to `target`, one per author (blocked authors left out), most
    /// frequent first.
    pub fn reactions(&self, target: &ContentId) -> Result<Vec<ReactionCount>, StoreError> {
        let txn = self.read()?;
        let reactions = txn.open_table(REACTIONS)?;
        let blocked = txn.open_table(BLOCKED)?;
        let start = prefix_start(target.digest(), 32);
        let end = prefix_end(target.digest(), 32);
        let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
        for row in reactions.range(start.as_slice()..end.as_slice())? {
            let (key, value) = row?;
            if blocked.get(&key.value()[32..64])?.is_some() {
                continue;
            }
            let text = String::from_utf8_lossy(&value.value()[48..]).into_owned();
            *counts.entry(text).or_default() += 1;
        }
        let mut counts: Vec<ReactionCount> = counts
            .into_iter()
            .map(|(reaction, count)| ReactionCount { reaction, count })
            .collect();
        counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.reaction.cmp(&b.reaction)));
        Ok(counts)
    }

    /// The current reaction entries to `target`, one per author (blocked authors left out).
    pub fn reaction_entries(&self, target: &ContentId) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let reactions = txn.open_table(REACTIONS)?;
        let blocked = txn.open_table(BLOCKED)?;
        let lookup = Lookup::open(&txn)?;
        let start = prefix_start(target.digest(), 32);
        let end = prefix_end(target.digest(), 32);
        let mut entries = Vec::new();
        for row in reactions.range(start.as_slice()..end.as_slice())? {
            let (key, value) = row?;
            if blocked.get(&key.value()[32..64])?.is_some() {
                continue;
            }
            if let Some(entry) = lookup.get(&value.value()[16..48])? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// `author`'s current reaction to `target`, if any.
    pub fn reaction_by(
        &self,
        target: &ContentId,
        author: &AuthorId,
    ) -> Result<Option<String>, StoreError> {
        let txn = self.read()?;
        let reactions = txn.open_table(REACTIONS)?;
        Ok(reactions
            .get(reaction_key(target, author).as_slice())?
            .map(|v| String::from_utf8_lossy(&v.value()[48..]).into_owned()))
    }

    /// Reposts and quote posts of `target` held here, oldest first, at most `limit`.
    pub fn reposts(&self, target: &ContentId, limit: usize) -> Result<Vec<Entry>, StoreError> {
        self.by_target(REPOSTS, target, limit)
    }

    /// How many reposts and quote posts of `target` are held here.
    pub fn repost_count(&self, target: &ContentId) -> Result<u64, StoreError> {
        let txn = self.read()?;
        let reposts = txn.open_table(REPOSTS)?;
        let start = prefix_start(target.digest(), 40);
        let end = prefix_end(target.digest(), 40);
        Ok(reposts.range(start.as_slice()..end.as_slice())?.count() as u64)
    }

    /// The edits of `target` by its own author, oldest first (the last is the current
    /// text). Edits by anyone else are ignored.
    pub fn edits(&self, target: &ContentId) -> Result<Vec<Entry>, StoreError> {
        let Some(original) = self.entry(target)? else {
            return Ok(Vec::new());
        };
        let mut edits = self.by_target(EDITS, target, 1024)?;
        edits.retain(|edit| edit.author() == original.author());
        Ok(edits)
    }

    fn by_target(
        &self,
        table: redb::TableDefinition<'static, &'static [u8], ()>,
        target: &ContentId,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(table)?;
        let lookup = Lookup::open(&txn)?;
        let blocked = txn.open_table(BLOCKED)?;
        let start = prefix_start(target.digest(), 40);
        let end = prefix_end(target.digest(), 40);
        let mut entries = Vec::new();
        for row in index.range(start.as_slice()..end.as_slice())? {
            if entries.len() >= limit {
                break;
            }
            let (key, _) = row?;
            if let Some(entry) = lookup.get(&key.value()[40..72])?
                && blocked.get(entry.author().as_bytes().as_slice())?.is_none()
            {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    fn flagged(
        &self,
        table: redb::TableDefinition<'static, &'static [u8], ()>,
        name: &'static str,
    ) -> Result<Vec<AuthorId>, StoreError> {
        let txn = self.read()?;
        let flags = txn.open_table(table)?;
        let mut authors = Vec::new();
        for row in flags.iter()? {
            let (key, _) = row?;
            authors.push(author_from_table(name, digest(key.value(), 0))?);
        }
        Ok(authors)
    }

    /// A stored blob piece (manifest or chunk) by id.
    pub fn blob_piece(&self, id: &ContentId) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.read()?;
        let blobs = txn.open_table(BLOBS)?;
        Ok(blobs
            .get(id.digest().as_slice())?
            .map(|v| v.value().to_vec()))
    }

    /// A whole blob, if its manifest and every chunk are held: its type and content.
    pub fn blob(
        &self,
        id: &ContentId,
    ) -> Result<Option<(kith_proto::blob::ImageType, Vec<u8>)>, StoreError> {
        let txn = self.read()?;
        let blobs = txn.open_table(BLOBS)?;
        let Some(manifest) = blobs.get(id.digest().as_slice())? else {
            return Ok(None);
        };
        let corrupt = |detail: String| StoreError::Corrupt {
            table: "blobs_v1",
            detail,
        };
        // The table holds chunks too: an id that names a chunk (or anything but a manifest)
        // is not a blob.
        let Ok(manifest) = kith_proto::blob::Manifest::decode(id, manifest.value()) else {
            return Ok(None);
        };
        let mut content = Vec::with_capacity(manifest.size as usize);
        for (index, chunk_id) in manifest.chunks.iter().enumerate() {
            let Some(chunk) = blobs.get(chunk_id.digest().as_slice())? else {
                return Ok(None);
            };
            let piece = kith_proto::blob::check_chunk(&manifest, index, chunk.value())
                .map_err(|e| corrupt(e.to_string()))?;
            content.extend_from_slice(piece);
        }
        Ok(Some((manifest.image, content)))
    }

    /// The newest profile entry of `author` held here (profiles live in feeds).
    pub fn profile(&self, author: &AuthorId) -> Result<Option<Entry>, StoreError> {
        let txn = self.read()?;
        let profiles = txn.open_table(PROFILES)?;
        let Some(value) = profiles.get(author.as_bytes().as_slice())? else {
            return Ok(None);
        };
        Lookup::open(&txn)?.get(&value.value()[8..40])
    }

    /// `owner`'s notifications, newest first, older than `before` (a `(ts, id)` from an
    /// earlier page) if given, at most `limit`. Entries deleted since, and those of muted or
    /// blocked authors, are left out.
    pub fn notifications(
        &self,
        owner: &AuthorId,
        before: Option<(u64, ContentId)>,
        limit: usize,
    ) -> Result<Vec<(crate::NotificationKind, Entry)>, StoreError> {
        let txn = self.read()?;
        let notifications = txn.open_table(NOTIFICATIONS)?;
        let lookup = Lookup::open(&txn)?;
        let hidden = self.hidden_authors(&txn)?;
        let start = prefix_start(owner.as_bytes(), 40);
        let end = match before {
            Some((ts, id)) => timed_key(owner.as_bytes(), ts, &id),
            None => prefix_end(owner.as_bytes(), 40),
        };
        let mut found = Vec::new();
        for row in notifications.range(start.as_slice()..end.as_slice())?.rev() {
            if found.len() >= limit {
                break;
            }
            let (key, kind) = row?;
            let Some(kind) = crate::NotificationKind::from_code(kind.value()) else {
                continue;
            };
            if let Some(entry) = lookup.get(&key.value()[40..72])?
                && !hidden.contains(&entry.author())
            {
                found.push((kind, entry));
            }
        }
        Ok(found)
    }

    /// Authors whose entries timelines leave out: muted and blocked ones.
    fn hidden_authors(
        &self,
        txn: &redb::ReadTransaction,
    ) -> Result<std::collections::HashSet<AuthorId>, StoreError> {
        let mut hidden = std::collections::HashSet::new();
        for (table, name) in [(MUTED, "muted_v1"), (BLOCKED, "blocked_v1")] {
            for row in txn.open_table(table)?.iter()? {
                let (key, _) = row?;
                hidden.insert(author_from_table(name, digest(key.value(), 0))?);
            }
        }
        Ok(hidden)
    }

    /// Entries of a time index (`prefix ‖ ts ‖ id` keys), newest first, older than
    /// `before` if given, without hidden authors' or deleted ones.
    fn timed(
        &self,
        table: redb::TableDefinition<'static, &'static [u8], ()>,
        prefix: &[u8],
        before: Option<(u64, ContentId)>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(table)?;
        let lookup = Lookup::open(&txn)?;
        let hidden = self.hidden_authors(&txn)?;
        let start = prefix_start(prefix, 40);
        let end = match before {
            Some((ts, id)) => timed_key(prefix, ts, &id),
            None => prefix_end(prefix, 40),
        };
        let mut entries = Vec::new();
        for row in index.range(start.as_slice()..end.as_slice())?.rev() {
            if entries.len() >= limit {
                break;
            }
            let (key, _) = row?;
            let key = key.value();
            if let Some(entry) = lookup.get(&key[key.len() - 32..])?
                && !hidden.contains(&entry.author())
            {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// Posts and replies held here that use hashtag `tag` (normalized), newest first.
    pub fn tag_timeline(
        &self,
        tag: &str,
        before: Option<(u64, ContentId)>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.timed(TAGGED, &tag_key(tag), before, limit)
    }

    /// Top-level posts seen by this peer, newest first (the public timeline).
    pub fn public_timeline(
        &self,
        before: Option<(u64, ContentId)>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.timed(PUBLIC, &[], before, limit)
    }

    /// The global slug held for our post `id`, if one was claimed for it.
    pub fn global_slug(&self, id: &ContentId) -> Result<Option<String>, StoreError> {
        let txn = self.read()?;
        let slugs = txn.open_table(GLOBAL_SLUGS)?;
        Ok(slugs
            .get(id.digest().as_slice())?
            .map(|v| v.value().to_owned()))
    }

    /// Hashtags followed on this peer (normalized).
    pub fn followed_tags(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.read()?;
        let tags = txn.open_table(FOLLOWED_TAGS)?;
        let mut found = Vec::new();
        for row in tags.iter()? {
            let (tag, _) = row?;
            found.push(tag.value().to_owned());
        }
        Ok(found)
    }

    /// Whether the public timeline is on.
    pub fn public_timeline_enabled(&self) -> Result<bool, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        Ok(meta.get("public_timeline")?.is_some_and(|v| v.value() == 1))
    }

    /// Whether `author` has a post with `slug` (held here; deleted ones count).
    pub fn slug_taken(&self, author: &AuthorId, slug: &str) -> Result<bool, StoreError> {
        let txn = self.read()?;
        let slugs = txn.open_table(SLUGS)?;
        let mut key = author.as_bytes().to_vec();
        key.extend_from_slice(slug.as_bytes());
        Ok(slugs.get(key.as_slice())?.is_some())
    }

    /// `author`'s post with `slug`, if held (and not deleted).
    pub fn post_by_slug(&self, author: &AuthorId, slug: &str) -> Result<Option<Entry>, StoreError> {
        let txn = self.read()?;
        let slugs = txn.open_table(SLUGS)?;
        let mut key = author.as_bytes().to_vec();
        key.extend_from_slice(slug.as_bytes());
        let Some(id) = slugs.get(key.as_slice())? else {
            return Ok(None);
        };
        Lookup::open(&txn)?.get(id.value())
    }

    /// Authors blocked on this peer.
    pub fn blocked(&self) -> Result<Vec<AuthorId>, StoreError> {
        self.flagged(BLOCKED, "blocked_v1")
    }

    /// Authors muted on this peer.
    pub fn muted(&self) -> Result<Vec<AuthorId>, StoreError> {
        self.flagged(MUTED, "muted_v1")
    }

    /// Whether `author` is blocked here.
    pub fn is_blocked(&self, author: &AuthorId) -> Result<bool, StoreError> {
        let txn = self.read()?;
        Ok(txn
            .open_table(BLOCKED)?
            .get(author.as_bytes().as_slice())?
            .is_some())
    }

    /// Whether `author` is muted here.
    pub fn is_muted(&self, author: &AuthorId) -> Result<bool, StoreError> {
        let txn = self.read()?;
        Ok(txn
            .open_table(MUTED)?
            .get(author.as_bytes().as_slice())?
            .is_some())
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

    /// The authors `owner` follows privately (a subset of [`Store::following`]).
    pub fn private_following(&self, owner: &AuthorId) -> Result<Vec<AuthorId>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(PRIVATE_FOLLOWS)?;
        let start = owner.as_bytes().to_vec();
        let mut end = start.clone();
        end.extend_from_slice(&[0xff; 32]);
        let mut found = Vec::new();
        for row in table.range(start.as_slice()..=end.as_slice())? {
            let (key, _) = row?;
            let key = key.value();
            if key.len() == 64 {
                found.push(author_from_table("private_follows_v1", digest(key, 32))?);
            }
        }
        Ok(found)
    }

    /// The audience lists, by name.
    pub fn lists(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.read()?;
        let lists = txn.open_table(LISTS)?;
        let mut names = Vec::new();
        for row in lists.iter()? {
            let (key, _) = row?;
            let key = key.value();
            if key.last() == Some(&0) {
                names.push(String::from_utf8_lossy(&key[..key.len() - 1]).into_owned());
            }
        }
        Ok(names)
    }

    /// The members of the list `name` (`None` if there is no such list).
    pub fn list_members(&self, name: &str) -> Result<Option<Vec<AuthorId>>, StoreError> {
        let txn = self.read()?;
        let lists = txn.open_table(LISTS)?;
        let start = crate::writer::list_key(name, None);
        if lists.get(start.as_slice())?.is_none() {
            return Ok(None);
        }
        let mut end = start.clone();
        end.extend_from_slice(&[0xff; 32]);
        let mut members = Vec::new();
        for row in lists.range(start.as_slice()..=end.as_slice())? {
            let (key, _) = row?;
            let key = key.value();
            if key.len() == start.len() + 32 {
                members.push(author_from_table("lists_v1", digest(key, start.len()))?);
            }
        }
        Ok(Some(members))
    }

    /// The direct messages this peer can read, newest first, before `before_ts` (ms): each
    /// its time, entry id and conversation members (author included, sorted).
    pub fn dms(
        &self,
        before_ts: u64,
        limit: usize,
    ) -> Result<Vec<(u64, ContentId, Vec<AuthorId>)>, StoreError> {
        let txn = self.read()?;
        let dms = txn.open_table(DMS)?;
        let end = before_ts.to_be_bytes();
        let mut found = Vec::new();
        for row in dms.range(..end.as_slice())?.rev().take(limit) {
            let (key, value) = row?;
            let (key, value) = (key.value(), value.value());
            let corrupt = || StoreError::Corrupt {
                table: "dms_v1",
                detail: "bad key or value length".into(),
            };
            if key.len() != 40 || value.len() % 32 != 0 {
                return Err(corrupt());
            }
            let ts = be_u64(key, 0);
            let id = ContentId::from_digest(digest(key, 8));
            let members = value
                .chunks_exact(32)
                .map(|m| author_from_table("dms_v1", digest(m, 0)))
                .collect::<Result<Vec<_>, _>>()?;
            found.push((ts, id, members));
        }
        Ok(found)
    }

    /// The seq at which `author`'s feed forked (and froze), if it did: a cheap lookup,
    /// without decoding the proof.
    pub fn fork_seq(&self, author: &AuthorId) -> Result<Option<u64>, StoreError> {
        let txn = self.read()?;
        let forks = txn.open_table(FORKS)?;
        Ok(forks
            .get(author.as_bytes().as_slice())?
            .map(|value| be_u64(value.value(), 0)))
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

    /// The highest seq of `author`'s entries waiting in the out-of-order buffer (entries
    /// that arrived before their predecessors), if any.
    pub fn pending_max_seq(&self, author: &AuthorId) -> Result<Option<u64>, StoreError> {
        let txn = self.read()?;
        let pending = txn.open_table(PENDING)?;
        let start = feed_key(author, 0);
        let end = feed_key(author, u64::MAX);
        let last = pending
            .range(start.as_slice()..=end.as_slice())?
            .next_back();
        match last {
            Some(row) => {
                let (key, _) = row?;
                let key = key.value();
                let mut seq = [0u8; 8];
                seq.copy_from_slice(&key[32..40]);
                Ok(Some(u64::from_be_bytes(seq)))
            }
            None => Ok(None),
        }
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

    /// The size of the database file in bytes (`None` for a store not in a file).
    pub fn file_bytes(&self) -> Option<u64> {
        let path = self.inner.path.as_ref()?;
        std::fs::metadata(path).ok().map(|m| m.len())
    }
}

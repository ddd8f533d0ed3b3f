//! The writer thread and the append logic.
//!
//! Each batch is one write transaction. Inside it, entries are applied one by one against the
//! state the transaction sees (including earlier entries of the same batch), so a batch may
//! hold a whole feed in order. If anything fails at the storage level the transaction is
//! dropped, nothing of the batch is committed, and every caller of the batch gets the error:
//! nothing is acknowledged that is not durable.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Instant;

use kith_proto::{
    AuthorId, Body, ContentId, Entry, Extends, FeedPosition, ForkProof, VerifiedEntry, extends,
};
use redb::{Database, ReadableTable, ReadableTableMetadata, Table, WriteTransaction};

use crate::tables::*;
use crate::{
    AppendResult, AuthorFlag, MAX_PUBLIC_ROWS, NotificationKind, Request, Setting, StoreConfig,
    StoreError,
};

/// What happened to an entry that was not refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Appended to its feed. `drained` counts buffered successors appended after it.
    Appended {
        /// Buffered entries that followed it into the feed.
        drained: u64,
    },
    /// Already stored (or already buffered); nothing changed.
    Duplicate,
    /// Valid but ahead of the feed: kept in the out-of-order buffer until the entries from
    /// `first_missing` on arrive.
    Buffered {
        /// The first missing seq.
        first_missing: u64,
    },
    /// Kept on its own, outside any feed (this store holds nothing of its author's feed):
    /// see [`crate::Store::try_submit_detached`].
    Detached,
    /// Deleted by its author before it arrived: only the tombstone is kept.
    Deleted,
}

/// Why a valid entry was refused by its feed. Nothing of it is stored (a fork's proof is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The entry conflicts with a stored one: the author forked. The proof is stored and the
    /// feed is frozen at `seq`.
    #[error("the feed of {author} is forked at seq {seq}; the proof is kept and the feed frozen")]
    Forked {
        /// The author.
        author: AuthorId,
        /// Lowest seq of the conflict.
        seq: u64,
    },
    /// The feed was frozen by an earlier fork; it takes no more entries.
    #[error("the feed of {author} is frozen since a fork at seq {seq}")]
    Frozen {
        /// The author.
        author: AuthorId,
        /// Lowest seq of the fork.
        seq: u64,
    },
    /// The out-of-order buffer (for this feed or in all) is full.
    #[error("the out-of-order buffer for {author} is full; fetch the missing entries first")]
    BufferFull {
        /// The author.
        author: AuthorId,
    },
    /// The author is blocked on this peer.
    #[error("{author} is blocked on this peer")]
    Blocked {
        /// The author.
        author: AuthorId,
    },
    /// The entry conflicts with a deleted entry of the feed, whose body is gone, so no fork
    /// proof can be made; the entry is refused.
    #[error("entry {seq} of {author} conflicts with a deleted entry")]
    ConflictsWithDeleted {
        /// The author.
        author: AuthorId,
        /// The seq.
        seq: u64,
    },
}

impl AppendError {
    /// A short, stable name for the reason (`forked`, `buffer_full`, …), for logs and
    /// metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AppendError::Forked { .. } => "forked",
            AppendError::Frozen { .. } => "frozen",
            AppendError::BufferFull { .. } => "buffer_full",
            AppendError::Blocked { .. } => "blocked",
            AppendError::ConflictsWithDeleted { .. } => "conflicts_with_deleted",
        }
    }
}

/// The key of a list (`member` `None`) or of one of its members in `lists_v1`.
pub(crate) fn list_key(name: &str, member: Option<&AuthorId>) -> Vec<u8> {
    let mut key = name.as_bytes().to_vec();
    key.push(0);
    if let Some(member) = member {
        key.extend_from_slice(member.as_bytes());
    }
    key
}

/// Creates the tables and checks the layout version.
pub(crate) fn initialise(db: &Database) -> Result<(), StoreError> {
    let txn = db.begin_write()?;
    {
        let mut meta = txn.open_table(META)?;
        let found = meta.get("schema")?.map(|v| v.value());
        match found {
            Some(found) if found > SCHEMA_VERSION => {
                return Err(StoreError::NewerSchema {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            Some(_) => {}
            None => {
                meta.insert("schema", SCHEMA_VERSION)?;
                meta.insert("revision", 0)?;
            }
        }
    }
    // Opening every table of a write transaction creates the missing ones, so readers
    // never meet an absent table.
    drop(Tx::open(&txn, &StoreConfig::default())?);
    commit(txn)
}

fn commit(txn: WriteTransaction) -> Result<(), StoreError> {
    commit_as(txn, true)
}

fn commit_as(mut txn: WriteTransaction, durable: bool) -> Result<(), StoreError> {
    if durable {
        // Immediate durability: the commit is on disk when commit() returns. Two-phase
        // commit because we store data from untrusted peers (redb's checksums are not
        // collision resistant); quick repair so that opening after a crash does not walk the
        // whole file. A durable commit also makes every earlier non-durable one durable.
        txn.set_durability(redb::Durability::Immediate)?;
        txn.set_two_phase_commit(true);
        txn.set_quick_repair(true);
    } else {
        // Visible to readers at once; on disk with the next durable commit.
        txn.set_durability(redb::Durability::None)?;
    }
    txn.commit()?;
    Ok(())
}

/// Makes every non-durable commit durable: an empty durable commit.
fn flush(db: &Database) {
    let result = db.begin_write().map_err(StoreError::from).and_then(commit);
    if let Err(e) = result {
        // The next durable commit (a post, or the next flush) tries again.
        tracing::warn!("cannot make received entries durable: {e}");
    }
}

/// What a request asks the transaction to do, split from where its answer goes, so that
/// every caller is answered whatever happens to the batch.
enum Work {
    Append(Vec<VerifiedEntry>, bool),
    AddLocal(AuthorId),
    SetFlag(AuthorFlag, AuthorId, bool),
    PutBlob(Vec<(ContentId, Vec<u8>)>),
    Set(Setting),
    ClaimName(kith_proto::names::NameClaim),
    ReleaseName(kith_proto::names::NameRelease),
}

enum Done {
    Append(Vec<AppendResult>),
    Unit,
    Claim(crate::ClaimOutcome),
    Released(bool),
}

enum Reply {
    Append(oneshot::Sender<Result<Vec<AppendResult>, StoreError>>),
    Unit(oneshot::Sender<Result<(), StoreError>>),
    Claim(oneshot::Sender<Result<crate::ClaimOutcome, StoreError>>),
    Released(oneshot::Sender<Result<bool, StoreError>>),
}

/// The writer loop: runs until every [`crate::Store`] handle is gone.
pub(crate) fn run(db: Arc<Database>, queue: Receiver<Request>, config: StoreConfig) {
    // When the oldest commit not yet on disk was made.
    let mut unflushed: Option<Instant> = None;
    loop {
        let first = match unflushed {
            None => match queue.recv() {
                Ok(request) => request,
                Err(_) => break,
            },
            Some(since) => {
                let left = (since + config.relaxed_flush).saturating_duration_since(Instant::now());
                match queue.recv_timeout(left) {
                    Ok(request) => request,
                    Err(RecvTimeoutError::Timeout) => {
                        flush(&db);
                        unflushed = None;
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        let mut weight = first.weight();
        let mut batch = vec![first];
        let mut deadline: Option<Instant> = None;
        while weight < config.batch_max {
            let next = match queue.try_recv() {
                Ok(request) => request,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    // A lone request commits at once; once others are arriving, wait a
                    // little for more so many callers share one fsync.
                    if batch.len() < 2 || config.batch_window.is_zero() {
                        break;
                    }
                    let deadline =
                        *deadline.get_or_insert_with(|| Instant::now() + config.batch_window);
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        break;
                    };
                    match queue.recv_timeout(left) {
                        Ok(request) => request,
                        Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
                    }
                }
            };
            weight += next.weight();
            batch.push(next);
        }
        let durable = batch.iter().any(Request::durable);
        let committed = process(&db, batch, &config, durable);
        if durable {
            // A durable commit persists every earlier one; a failed one persists nothing.
            if committed {
                unflushed = None;
            }
        } else if committed {
            unflushed.get_or_insert_with(Instant::now);
            // Under a steady stream of relaxed requests the timeout above never fires.
            if unflushed.is_some_and(|since| since.elapsed() >= config.relaxed_flush) {
                flush(&db);
                unflushed = None;
            }
        }
    }
    if unflushed.is_some() {
        flush(&db);
    }
}

/// Commits a batch and answers its callers; whether it was committed.
fn process(db: &Database, batch: Vec<Request>, config: &StoreConfig, durable: bool) -> bool {
    let (work, replies): (Vec<Work>, Vec<Reply>) = batch
        .into_iter()
        .map(|request| match request {
            Request::Append {
                entries,
                detached,
                reply,
                ..
            } => (Work::Append(entries, detached), Reply::Append(reply)),
            Request::AddLocal { author, reply } => (Work::AddLocal(author), Reply::Unit(reply)),
            Request::SetFlag {
                flag,
                author,
                on,
                reply,
            } => (Work::SetFlag(flag, author, on), Reply::Unit(reply)),
            Request::PutBlob { pieces, reply } => (Work::PutBlob(pieces), Reply::Unit(reply)),
            Request::Set { setting, reply } => (Work::Set(setting), Reply::Unit(reply)),
            Request::ClaimName { claim, reply } => (Work::ClaimName(claim), Reply::Claim(reply)),
            Request::ReleaseName { release, reply } => {
                (Work::ReleaseName(release), Reply::Released(reply))
            }
        })
        .unzip();
    let outcome = (|| -> Result<Vec<Done>, StoreError> {
        let txn = db.begin_write()?;
        let mut done = Vec::with_capacity(work.len());
        {
            let mut tx = Tx::open(&txn, config)?;
            for item in work {
                done.push(match item {
                    Work::Append(entries, detached) => Done::Append(
                        entries
                            .into_iter()
                            .map(|entry| tx.append(entry, detached))
                            .collect::<Result<_, _>>()?,
                    ),
                    Work::AddLocal(author) => {
                        tx.add_local(&author)?;
                        Done::Unit
                    }
                    Work::SetFlag(flag, author, on) => {
                        tx.set_flag(flag, &author, on)?;
                        Done::Unit
                    }
                    Work::Set(setting) => {
                        match setting {
                            Setting::Tag(tag, true) => {
                                tx.followed_tags.insert(tag.as_str(), ())?;
                            }
                            Setting::Tag(tag, false) => {
                                tx.followed_tags.remove(tag.as_str())?;
                            }
                            Setting::Public(on) => {
                                tx.meta.insert("public_timeline", u64::from(on))?;
                            }
                            Setting::GlobalSlug(id, Some(slug)) => {
                                tx.global_slugs
                                    .insert(id.digest().as_slice(), slug.as_str())?;
                            }
                            Setting::GlobalSlug(id, None) => {
                                tx.global_slugs.remove(id.digest().as_slice())?;
                            }
                            Setting::List(name, true) => {
                                tx.lists.insert(list_key(&name, None).as_slice(), ())?;
                            }
                            Setting::List(name, false) => {
                                let start = list_key(&name, None);
                                let mut end = start.clone();
                                end.extend_from_slice(&[0xff; 32]);
                                tx.lists
                                    .retain_in(start.as_slice()..=end.as_slice(), |_, _| false)?;
                            }
                            Setting::ListMember(name, member, on) => {
                                // The caller checked the list exists; one deleted since
                                // gets no member back (an error here would fail the batch).
                                let exists =
                                    tx.lists.get(list_key(&name, None).as_slice())?.is_some();
                                let key = list_key(&name, Some(&member));
                                if on && exists {
                                    tx.lists.insert(key.as_slice(), ())?;
                                } else {
                                    tx.lists.remove(key.as_slice())?;
                                }
                            }
                            Setting::PrivateFollow(owner, subject, on) => {
                                let key = pair_key(&owner, &subject);
                                // Both directions, as a follow entry would: `followers` decides
                                // whose home timeline a new entry of `subject` goes to.
                                let reverse = pair_key(&subject, &owner);
                                if on {
                                    tx.private_follows.insert(key.as_slice(), ())?;
                                    tx.follows.insert(key.as_slice(), 0)?;
                                    tx.followers.insert(reverse.as_slice(), 0)?;
                                    if owner != subject && tx.is_local(&owner)? {
                                        tx.backfill_home(&owner, &subject)?;
                                    }
                                } else if tx.private_follows.remove(key.as_slice())?.is_some() {
                                    tx.follows.remove(key.as_slice())?;
                                    tx.followers.remove(reverse.as_slice())?;
                                    if owner != subject && tx.is_local(&owner)? {
                                        tx.unfill_home(&owner, &subject)?;
                                    }
                                }
                            }
                            Setting::SealedReply(parent, ts, id, author) => {
                                tx.replies
                                    .insert(reply_key(&parent, ts, &id).as_slice(), &[][..])?;
                                if let Some(owner) = tx.author_of(&parent)?
                                    && owner != author
                                    && tx.is_local(&owner)?
                                {
                                    let key = timed_key(owner.as_bytes(), ts, &id);
                                    tx.notifications
                                        .insert(key.as_slice(), NotificationKind::Reply.code())?;
                                }
                            }
                            Setting::Dm(ts, id, mut members, author) => {
                                members.sort_by_key(|m| *m.as_bytes());
                                members.dedup();
                                let mut key = ts.to_be_bytes().to_vec();
                                key.extend_from_slice(id.digest());
                                let value: Vec<u8> =
                                    members.iter().flat_map(|m| *m.as_bytes()).collect();
                                tx.dms.insert(key.as_slice(), value.as_slice())?;
                                for member in members.iter().filter(|m| **m != author) {
                                    if tx.is_local(member)? {
                                        let key = timed_key(member.as_bytes(), ts, &id);
                                        tx.notifications.insert(
                                            key.as_slice(),
                                            NotificationKind::Message.code(),
                                        )?;
                                    }
                                }
                            }
                        }
                        tx.changes += 1;
                        Done::Unit
                    }
                    Work::ClaimName(claim) => {
                        let outcome =
                            crate::names::claim(&mut tx.names, &tx.name_releases, &claim)?;
                        if outcome == crate::ClaimOutcome::Accepted {
                            tx.changes += 1;
                        }
                        Done::Claim(outcome)
                    }
                    Work::ReleaseName(release) => {
                        let removed =
                            crate::names::release(&mut tx.names, &mut tx.name_releases, &release)?;
                        tx.changes += u64::from(removed);
                        Done::Released(removed)
                    }
                    Work::PutBlob(pieces) => {
                        for (id, bytes) in pieces {
                            tx.blobs.insert(id.digest().as_slice(), bytes.as_slice())?;
                        }
                        tx.changes += 1;
                        Done::Unit
                    }
                });
            }
            tx.finish()?;
        }
        commit_as(txn, durable)?;
        Ok(done)
    })();
    // A caller that stopped waiting does not undo the commit, so send errors are ignored.
    match outcome {
        Ok(done) => {
            for (reply, done) in replies.into_iter().zip(done) {
                match (reply, done) {
                    (Reply::Append(sender), Done::Append(results)) => {
                        drop(sender.send(Ok(results)))
                    }
                    (Reply::Unit(sender), Done::Unit) => drop(sender.send(Ok(()))),
                    (Reply::Claim(sender), Done::Claim(outcome)) => drop(sender.send(Ok(outcome))),
                    (Reply::Released(sender), Done::Released(removed)) => {
                        drop(sender.send(Ok(removed)))
                    }
                    // Work and replies are built pairwise above; the kinds always match.
                    _ => unreachable!("reply and work kinds differ"),
                }
            }
            true
        }
        Err(error) => {
            // Nothing of the batch is committed: every caller gets the error.
            let reason = error.to_string();
            for reply in replies {
                let error = StoreError::BatchFailed {
                    reason: reason.clone(),
                };
                match reply {
                    Reply::Append(sender) => drop(sender.send(Err(error))),
                    Reply::Unit(sender) => drop(sender.send(Err(error))),
                    Reply::Claim(sender) => drop(sender.send(Err(error))),
                    Reply::Released(sender) => drop(sender.send(Err(error))),
                }
            }
            false
        }
    }
}

/// The tables of one write transaction.
struct Tx<'t> {
    log: Table<'t, &'static [u8], &'static [u8]>,
    ids: Table<'t, &'static [u8], &'static [u8]>,
    heads: Table<'t, &'static [u8], &'static [u8]>,
    author_timeline: Table<'t, &'static [u8], u64>,
    home: Table<'t, &'static [u8], &'static [u8]>,
    replies: Table<'t, &'static [u8], &'static [u8]>,
    follows: Table<'t, &'static [u8], u64>,
    followers: Table<'t, &'static [u8], u64>,
    local: Table<'t, &'static [u8], ()>,
    pending: Table<'t, &'static [u8], &'static [u8]>,
    forks: Table<'t, &'static [u8], &'static [u8]>,
    detached: Table<'t, &'static [u8], &'static [u8]>,
    reactions: Table<'t, &'static [u8], &'static [u8]>,
    reposts: Table<'t, &'static [u8], ()>,
    edits: Table<'t, &'static [u8], ()>,
    tombstones: Table<'t, &'static [u8], &'static [u8]>,
    blocked: Table<'t, &'static [u8], ()>,
    muted: Table<'t, &'static [u8], ()>,
    blobs: Table<'t, &'static [u8], &'static [u8]>,
    profiles: Table<'t, &'static [u8], &'static [u8]>,
    notifications: Table<'t, &'static [u8], u8>,
    tagged: Table<'t, &'static [u8], ()>,
    followed_tags: Table<'t, &'static str, ()>,
    public: Table<'t, &'static [u8], ()>,
    names: Table<'t, &'static str, &'static [u8]>,
    name_releases: Table<'t, &'static str, &'static [u8]>,
    slugs: Table<'t, &'static [u8], &'static [u8]>,
    global_slugs: Table<'t, &'static [u8], &'static str>,
    lists: Table<'t, &'static [u8], ()>,
    dms: Table<'t, &'static [u8], &'static [u8]>,
    private_follows: Table<'t, &'static [u8], ()>,
    meta: Table<'t, &'static str, u64>,
    changes: u64,
    max_pending_per_feed: u64,
    max_pending_total: u64,
}

/// An entry read back from the store. It was verified before it was stored; re-checking the
/// signature costs little here (forks and drains are rare) and guards against a damaged file.
/// The timestamp was checked on arrival, so "now" is unbounded.
fn reverify(table: &'static str, bytes: &[u8]) -> Result<VerifiedEntry, StoreError> {
    Entry::decode(bytes)
        .and_then(|entry| entry.verify(u64::MAX))
        .map_err(|error| StoreError::Corrupt {
            table,
            detail: error.to_string(),
        })
}

impl<'t> Tx<'t> {
    fn open(txn: &'t WriteTransaction, config: &StoreConfig) -> Result<Self, StoreError> {
        Ok(Self {
            log: txn.open_table(LOG)?,
            ids: txn.open_table(IDS)?,
            heads: txn.open_table(HEADS)?,
            author_timeline: txn.open_table(AUTHOR_TIMELINE)?,
            home: txn.open_table(HOME)?,
            replies: txn.open_table(REPLIES)?,
            follows: txn.open_table(FOLLOWS)?,
            followers: txn.open_table(FOLLOWERS)?,
            local: txn.open_table(LOCAL)?,
            pending: txn.open_table(PENDING)?,
            forks: txn.open_table(FORKS)?,
            detached: txn.open_table(DETACHED)?,
            reactions: txn.open_table(REACTIONS)?,
            reposts: txn.open_table(REPOSTS)?,
            edits: txn.open_table(EDITS)?,
            tombstones: txn.open_table(TOMBSTONES)?,
            blocked: txn.open_table(BLOCKED)?,
            muted: txn.open_table(MUTED)?,
            blobs: txn.open_table(BLOBS)?,
            profiles: txn.open_table(PROFILES)?,
            notifications: txn.open_table(NOTIFICATIONS)?,
            tagged: txn.open_table(TAGGED)?,
            followed_tags: txn.open_table(FOLLOWED_TAGS)?,
            public: txn.open_table(PUBLIC)?,
            names: txn.open_table(NAMES)?,
            name_releases: txn.open_table(NAME_RELEASES)?,
            slugs: txn.open_table(SLUGS)?,
            global_slugs: txn.open_table(GLOBAL_SLUGS)?,
            lists: txn.open_table(LISTS)?,
            dms: txn.open_table(DMS)?,
            private_follows: txn.open_table(PRIVATE_FOLLOWS)?,
            meta: txn.open_table(META)?,
            changes: 0,
            max_pending_per_feed: config.max_pending_per_feed,
            max_pending_total: config.max_pending_total,
        })
    }

    fn finish(&mut self) -> Result<(), StoreError> {
        if self.changes > 0 {
            let revision = self.meta.get("revision")?.map_or(0, |v| v.value());
            self.meta.insert("revision", revision + self.changes)?;
        }
        Ok(())
    }

    fn head(&self, author: &AuthorId) -> Result<Option<FeedPosition>, StoreError> {
        Ok(self.heads.get(author.as_bytes().as_slice())?.map(|v| {
            let v = v.value();
            FeedPosition {
                seq: be_u64(v, 0),
                id: ContentId::from_digest(digest(v, 8)),
            }
        }))
    }

    /// The stored entry of `author` at `seq`, which the caller knows is at or below the
    /// head (feeds have no holes), re-verified (see [`reverify`]); `Err(id)` when the entry
    /// was deleted and only its id is left.
    fn stored_at(
        &self,
        author: &AuthorId,
        seq: u64,
    ) -> Result<Result<VerifiedEntry, ContentId>, StoreError> {
        let value = self
            .log
            .get(feed_key(author, seq).as_slice())?
            .map(|v| v.value().to_vec())
            .ok_or_else(|| StoreError::Corrupt {
                table: LOG_NAME,
                detail: format!("entry {seq} of {author}, at or below the head, is missing"),
            })?;
        if value.len() == 32 {
            return Ok(Err(ContentId::from_digest(digest(&value, 0))));
        }
        reverify(LOG_NAME, &value[32..]).map(Ok)
    }

    fn append(&mut self, entry: VerifiedEntry, detached: bool) -> Result<AppendResult, StoreError> {
        let author = entry.author();
        if self.blocked.get(author.as_bytes().as_slice())?.is_some() {
            return Ok(Err(AppendError::Blocked { author }));
        }
        if let Some(proof) = self.forks.get(author.as_bytes().as_slice())? {
            return Ok(Err(AppendError::Frozen {
                author,
                seq: be_u64(proof.value(), 0),
            }));
        }
        let head = self.head(&author)?;
        if detached && head.is_none() {
            return self.detach(entry);
        }
        // A tombstone standing in for the deleted entry right after our head (a holder that
        // dropped the body serves the tombstone in its place): the deleted entry's id and
        // link, signed by the author, take its place in the chain.
        if let Body::Delete {
            target,
            target_seq,
            target_prev,
        } = entry.body()
            && entry.seq() > *target_seq
            && *target_seq == head.map_or(0, |h| h.seq) + 1
            && *target_prev == head.map(|h| h.id)
        {
            let ts = self.head_ts(&author)?;
            self.insert_stub(&author, *target_seq, target, ts, entry.id())?;
            let drained = self.drain_pending(&author)?;
            if entry.seq() == *target_seq + 1 {
                // The tombstone is itself next; it was not drained (it was not buffered).
                let head = self.head(&author)?;
                if matches!(extends(head, &entry), Extends::Next) {
                    self.insert(&entry)?;
                    let more = self.drain_pending(&author)?;
                    return Ok(Ok(AppendOutcome::Appended {
                        drained: drained + more,
                    }));
                }
            }
            let head = self.head(&author)?;
            return match extends(head, &entry) {
                Extends::Gap { first_missing } => self.buffer(entry, first_missing),
                _ => Ok(Ok(AppendOutcome::Duplicate)),
            };
        }
        match extends(head, &entry) {
            Extends::Next => {
                self.insert(&entry)?;
                let drained = self.drain_pending(&author)?;
                Ok(Ok(AppendOutcome::Appended { drained }))
            }
            Extends::Duplicate => Ok(Ok(AppendOutcome::Duplicate)),
            Extends::Behind => match self.stored_at(&author, entry.seq())? {
                Ok(stored) if stored.id() == entry.id() => Ok(Ok(AppendOutcome::Duplicate)),
                Ok(stored) => self.record_fork(stored, entry),
                // The body was deleted here; the author's tombstone holds its id.
                Err(id) if id == entry.id() => Ok(Ok(AppendOutcome::Deleted)),
                Err(_) => Ok(Err(AppendError::ConflictsWithDeleted {
                    author,
                    seq: entry.seq(),
                })),
            },
            Extends::BrokenLink => {
                let seq = entry.seq() - 1;
                match self.stored_at(&author, seq)? {
                    Ok(stored) => self.record_fork(stored, entry),
                    Err(_) => Ok(Err(AppendError::ConflictsWithDeleted { author, seq })),
                }
            }
            Extends::Gap { first_missing } => self.buffer(entry, first_missing),
        }
    }

    fn buffer(
        &mut self,
        entry: VerifiedEntry,
        first_missing: u64,
    ) -> Result<AppendResult, StoreError> {
        let author = entry.author();
        let key = feed_key(&author, entry.seq());
        let existing = self
            .pending
            .get(key.as_slice())?
            .map(|v| v.value().to_vec());
        if let Some(existing) = existing {
            let existing = reverify(PENDING_NAME, &existing)?;
            if existing.id() == entry.id() {
                return Ok(Ok(AppendOutcome::Duplicate));
            }
            return self.record_fork(existing, entry);
        }
        let start = feed_key(&author, 0);
        let end = feed_key(&author, u64::MAX);
        let for_feed = self
            .pending
            .range(start.as_slice()..=end.as_slice())?
            .count() as u64;
        if for_feed >= self.max_pending_per_feed || self.pending.len()? >= self.max_pending_total {
            return Ok(Err(AppendError::BufferFull { author }));
        }
        self.pending.insert(key.as_slice(), entry.bytes())?;
        Ok(Ok(AppendOutcome::Buffered { first_missing }))
    }

    /// Appends buffered successors of the feed's new head, as far as they chain.
    fn drain_pending(&mut self, author: &AuthorId) -> Result<u64, StoreError> {
        let mut drained = 0;
        loop {
            let Some(head) = self.head(author)? else {
                return Ok(drained);
            };
            // Buffered entries at or below the head are obsolete (duplicates or forks that
            // lost); drop them.
            let start = feed_key(author, 0);
            let upto = feed_key(author, head.seq);
            self.pending
                .retain_in(start.as_slice()..=upto.as_slice(), |_, _| false)?;
            let next_key = feed_key(author, head.seq + 1);
            let Some(bytes) = self
                .pending
                .remove(next_key.as_slice())?
                .map(|v| v.value().to_vec())
            else {
                return Ok(drained);
            };
            let next = reverify(PENDING_NAME, &bytes)?;
            match extends(Some(head), &next) {
                Extends::Next => {
                    self.insert(&next)?;
                    drained += 1;
                }
                _ => {
                    // The buffered successor names another predecessor: the author forked.
                    // The proof is kept; the entry that triggered the drain stays appended.
                    // (Against a deleted predecessor no proof can be made: it is dropped.)
                    if let Ok(stored) = self.stored_at(author, head.seq)? {
                        let _ = self.record_fork(stored, next)?;
                    }
                    return Ok(drained);
                }
            }
        }
    }

    fn record_fork(
        &mut self,
        a: VerifiedEntry,
        b: VerifiedEntry,
    ) -> Result<AppendResult, StoreError> {
        let author = a.author();
        let proof = ForkProof::new(a, b).map_err(|error| StoreError::Corrupt {
            table: FORKS_NAME,
            detail: format!("fork proof for {author} does not hold: {error}"),
        })?;
        let mut value = proof.seq().to_be_bytes().to_vec();
        value.extend_from_slice(&proof.encode());
        self.forks
            .insert(author.as_bytes().as_slice(), value.as_slice())?;
        // Nothing more of a frozen feed will be appended: drop what is buffered for it.
        let start = feed_key(&author, 0);
        let end = feed_key(&author, u64::MAX);
        self.pending
            .retain_in(start.as_slice()..=end.as_slice(), |_, _| false)?;
        self.changes += 1;
        Ok(Err(AppendError::Forked {
            author,
            seq: proof.seq(),
        }))
    }

    /// The timestamp of `author`'s head (0 if none).
    fn head_ts(&self, author: &AuthorId) -> Result<u64, StoreError> {
        Ok(self
            .heads
            .get(author.as_bytes().as_slice())?
            .map_or(0, |v| be_u64(v.value(), 40)))
    }

    /// Puts a deleted entry's place in its feed: its id only, no body. `ts` is the head's
    /// timestamp before it (the deleted entry's own is gone with its body).
    fn insert_stub(
        &mut self,
        author: &AuthorId,
        seq: u64,
        id: &ContentId,
        ts: u64,
        tombstone: ContentId,
    ) -> Result<(), StoreError> {
        let key = feed_key(author, seq);
        self.log.insert(key.as_slice(), id.digest().as_slice())?;
        self.ids.insert(id.digest().as_slice(), key.as_slice())?;
        self.heads.insert(
            author.as_bytes().as_slice(),
            head_value(seq, id, ts).as_slice(),
        )?;
        self.detached.remove(id.digest().as_slice())?;
        self.tombstones.insert(
            tombstone_key(id, author).as_slice(),
            tombstone_value(&tombstone, true).as_slice(),
        )?;
        self.changes += 1;
        Ok(())
    }

    /// The tombstone of `id` if `author` (the entry's author) deleted it. A delete by anyone
    /// else names an entry that is not theirs and changes nothing.
    fn tombstone_for(
        &self,
        id: &ContentId,
        author: &AuthorId,
    ) -> Result<Option<ContentId>, StoreError> {
        Ok(self
            .tombstones
            .get(tombstone_key(id, author).as_slice())?
            .map(|v| ContentId::from_digest(digest(v.value(), 0))))
    }

    /// Keeps an entry outside any feed and indexes it.
    fn detach(&mut self, entry: VerifiedEntry) -> Result<AppendResult, StoreError> {
        let id = entry.id();
        if self.ids.get(id.digest().as_slice())?.is_some()
            || self.detached.get(id.digest().as_slice())?.is_some()
        {
            return Ok(Ok(AppendOutcome::Duplicate));
        }
        if self.tombstone_for(&id, &entry.author())?.is_some() {
            return Ok(Ok(AppendOutcome::Deleted));
        }
        self.detached
            .insert(id.digest().as_slice(), entry.bytes())?;
        self.index(&entry, None)?;
        self.changes += 1;
        Ok(Ok(AppendOutcome::Detached))
    }

    /// The author of a held entry (in a feed or detached), without decoding feed entries.
    fn author_of(&self, id: &ContentId) -> Result<Option<AuthorId>, StoreError> {
        if let Some(key) = self.ids.get(id.digest().as_slice())? {
            return author_from_table(LOG_NAME, digest(key.value(), 0)).map(Some);
        }
        match self.detached.get(id.digest().as_slice())? {
            Some(bytes) => Ok(Entry::decode(bytes.value()).ok().map(|e| e.author())),
            None => Ok(None),
        }
    }

    /// Notifies `owner` of `entry` if it is a local identity other than the entry's author.
    fn notify(
        &mut self,
        owner: Option<AuthorId>,
        entry: &VerifiedEntry,
        kind: NotificationKind,
    ) -> Result<(), StoreError> {
        let Some(owner) = owner else {
            return Ok(());
        };
        if owner == entry.author() || !self.is_local(&owner)? {
            return Ok(());
        }
        // One notification per entry: a reply that also mentions its parent's author is a
        // reply.
        let key = timed_key(owner.as_bytes(), entry.ts(), &entry.id());
        if self.notifications.get(key.as_slice())?.is_some() {
            return Ok(());
        }
        self.notifications.insert(key.as_slice(), kind.code())?;
        Ok(())
    }

    /// Notifications, hashtags and the public timeline.
    fn index_social(&mut self, entry: &VerifiedEntry) -> Result<(), StoreError> {
        let (id, ts) = (entry.id(), entry.ts());
        match entry.body() {
            Body::Reply { parent, .. } => {
                let owner = self.author_of(parent)?;
                self.notify(owner, entry, NotificationKind::Reply)?;
            }
            Body::React { target, .. } => {
                let owner = self.author_of(target)?;
                self.notify(owner, entry, NotificationKind::Reaction)?;
            }
            Body::Repost { target, .. } => {
                let owner = self.author_of(target)?;
                self.notify(owner, entry, NotificationKind::Repost)?;
            }
            Body::Follow { subject } => {
                self.notify(Some(*subject), entry, NotificationKind::Follow)?;
            }
            _ => {}
        }
        let text = match entry.body() {
            Body::Post { text } | Body::Reply { text, .. } => Some(text.as_str()),
            Body::Repost { text, .. } => text.as_deref(),
            _ => None,
        };
        if let Some(text) = text {
            for mentioned in kith_proto::text::mentions(text) {
                self.notify(Some(mentioned), entry, NotificationKind::Mention)?;
            }
            for tag in kith_proto::text::tags(text) {
                self.tagged
                    .insert(timed_key(&tag_key(&tag), ts, &id).as_slice(), ())?;
            }
        }
        if matches!(entry.body(), Body::Post { .. })
            && let Some(slug) = kith_proto::text::post_slug(entry.body_bytes())
        {
            let mut key = entry.author().as_bytes().to_vec();
            key.extend_from_slice(slug.as_bytes());
            if self.slugs.get(key.as_slice())?.is_none() {
                self.slugs.insert(key.as_slice(), id.digest().as_slice())?;
            }
        }
        if matches!(entry.body(), Body::Post { .. }) {
            self.public.insert(timed_key(&[], ts, &id).as_slice(), ())?;
            if self.public.len()? > MAX_PUBLIC_ROWS
                && let Some((oldest, _)) = self.public.pop_first()?
            {
                drop(oldest);
            }
        }
        Ok(())
    }

    /// The indexes every held entry feeds, in a feed (`key` is its log key) or detached.
    fn index(&mut self, entry: &VerifiedEntry, key: Option<&[u8]>) -> Result<(), StoreError> {
        self.index_social(entry)?;
        let author = entry.author();
        let (id, ts) = (entry.id(), entry.ts());
        match entry.body() {
            Body::Reply { parent, .. } => {
                self.replies.insert(
                    reply_key(parent, ts, &id).as_slice(),
                    key.unwrap_or_default(),
                )?;
            }
            Body::React { target, reaction } => {
                let reactor_key = reaction_key(target, &author);
                let newer = match self.reactions.get(reactor_key.as_slice())? {
                    Some(old) => {
                        let old = old.value();
                        (ts, entry.seq()) > (be_u64(old, 0), be_u64(old, 8))
                    }
                    None => true,
                };
                if newer {
                    let mut value = Vec::with_capacity(48 + reaction.len());
                    value.extend_from_slice(&ts.to_be_bytes());
                    value.extend_from_slice(&entry.seq().to_be_bytes());
                    value.extend_from_slice(id.digest());
                    value.extend_from_slice(reaction.as_bytes());
                    self.reactions
                        .insert(reactor_key.as_slice(), value.as_slice())?;
                }
            }
            Body::Repost { target, .. } => {
                self.reposts
                    .insert(target_key(target, ts, &id).as_slice(), ())?;
            }
            Body::Edit { target, .. } => {
                self.edits
                    .insert(target_key(target, ts, &id).as_slice(), ())?;
            }
            Body::Delete { target, .. } => {
                self.redact(target, &author, id)?;
            }
            // A follow of an identity hosted here counts as a follower even when it came on
            // its own (to the inbox), without the follower's feed: sealing for followers
            // needs to know them.
            Body::Follow { subject } if key.is_none() && self.is_local(subject)? => {
                self.followers
                    .insert(pair_key(subject, &author).as_slice(), entry.seq())?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Drops the body of `target` if it is held and `author`'s (only authors delete their
    /// own entries) and records the tombstone, so it is never stored or served again.
    fn redact(
        &mut self,
        target: &ContentId,
        author: &AuthorId,
        tombstone: ContentId,
    ) -> Result<(), StoreError> {
        let digest_key = target.digest().as_slice();
        let in_log = self.ids.get(digest_key)?.map(|v| v.value().to_vec());
        let body = match &in_log {
            Some(key) if &key[..32] == author.as_bytes().as_slice() => self
                .log
                .get(key.as_slice())?
                .and_then(|v| (v.value().len() > 32).then(|| v.value()[32..].to_vec())),
            Some(_) => return Ok(()),
            None => self.detached.get(digest_key)?.map(|v| v.value().to_vec()),
        };
        let target_entry = match body {
            Some(bytes) => {
                let entry = reverify(LOG_NAME, &bytes)?;
                // Only authors delete, and only entries with a body: a delete is never
                // deleted (it stands in for its target when the feed is served).
                if entry.author() != *author || matches!(entry.body(), Body::Delete { .. }) {
                    return Ok(());
                }
                Some(entry)
            }
            None => None,
        };
        // Recorded even when the target is not held, so it is not stored if it arrives later
        // (from its author's feed: the deleter must be its author, see `tombstone_for`).
        let key = tombstone_key(target, author);
        let already_verified = self
            .tombstones
            .get(key.as_slice())?
            .is_some_and(|v| v.value()[32] == 1);
        if !already_verified {
            self.tombstones.insert(
                key.as_slice(),
                tombstone_value(&tombstone, target_entry.is_some()).as_slice(),
            )?;
        }
        let Some(target_entry) = target_entry else {
            return Ok(());
        };
        match &in_log {
            Some(key) => {
                self.log.insert(key.as_slice(), digest_key)?;
                let seq = target_entry.seq();
                if target_entry.kind().is_timeline_item() {
                    self.author_timeline.remove(key.as_slice())?;
                    for owner in self.home_owners(author)? {
                        self.home
                            .remove(home_key(&owner, target_entry.ts(), author, seq).as_slice())?;
                    }
                }
            }
            None => {
                self.detached.remove(digest_key)?;
            }
        }
        // What the deleted entry counted for stops counting; a deleted reply keeps its
        // place in the thread index so the replies to it stay reachable.
        let ts = target_entry.ts();
        match target_entry.body() {
            Body::React { target: t, .. } => {
                let reactor_key = reaction_key(t, author);
                let current = self
                    .reactions
                    .get(reactor_key.as_slice())?
                    .is_some_and(|v| &v.value()[16..48] == digest_key);
                if current {
                    self.reactions.remove(reactor_key.as_slice())?;
                }
            }
            Body::Repost { target: t, .. } => {
                self.reposts.remove(target_key(t, ts, target).as_slice())?;
            }
            Body::Edit { target: t, .. } => {
                self.edits.remove(target_key(t, ts, target).as_slice())?;
            }
            _ => {}
        }
        self.changes += 1;
        Ok(())
    }

    /// Sets or clears a per-author flag; blocking drops everything held of the author.
    fn set_flag(
        &mut self,
        flag: AuthorFlag,
        author: &AuthorId,
        on: bool,
    ) -> Result<(), StoreError> {
        let table = match flag {
            AuthorFlag::Blocked => &mut self.blocked,
            AuthorFlag::Muted => &mut self.muted,
        };
        if on {
            table.insert(author.as_bytes().as_slice(), ())?;
        } else {
            table.remove(author.as_bytes().as_slice())?;
        }
        if on && flag == AuthorFlag::Blocked {
            self.purge(author)?;
        }
        self.changes += 1;
        Ok(())
    }

    /// Drops every entry of `author`: the feed and its indexes, buffered and detached
    /// entries. Reactions and reposts they made stay indexed but are filtered out when read.
    fn purge(&mut self, author: &AuthorId) -> Result<(), StoreError> {
        for owner in self.local_owners()? {
            self.unfill_home(&owner, author)?;
        }
        let start = feed_key(author, 0);
        let end = feed_key(author, u64::MAX);
        let mut ids = Vec::new();
        for row in self.log.range(start.as_slice()..=end.as_slice())? {
            let (_, value) = row?;
            ids.push(digest(value.value(), 0));
        }
        for id in ids {
            self.ids.remove(id.as_slice())?;
        }
        self.log
            .retain_in(start.as_slice()..=end.as_slice(), |_, _| false)?;
        self.author_timeline
            .retain_in(start.as_slice()..=end.as_slice(), |_, _| false)?;
        self.pending
            .retain_in(start.as_slice()..=end.as_slice(), |_, _| false)?;
        self.heads.remove(author.as_bytes().as_slice())?;
        self.profiles.remove(author.as_bytes().as_slice())?;
        // Detached entries are keyed by id: one pass over them (blocking is rare).
        let author_bytes = *author.as_bytes();
        self.detached.retain(|_, envelope| {
            Entry::decode(envelope).map_or(true, |entry| *entry.author().as_bytes() != author_bytes)
        })?;
        Ok(())
    }

    fn local_owners(&self) -> Result<Vec<AuthorId>, StoreError> {
        let mut owners = Vec::new();
        for row in self.local.iter()? {
            let (key, _) = row?;
            owners.push(author_from_table(
                "local_identities_v1",
                digest(key.value(), 0),
            )?);
        }
        Ok(owners)
    }

    /// Writes an entry that extends its feed, and every index that derives from it.
    fn insert(&mut self, entry: &VerifiedEntry) -> Result<(), StoreError> {
        let author = entry.author();
        let (seq, id, ts) = (entry.seq(), entry.id(), entry.ts());
        if let Some(tombstone) = self.tombstone_for(&id, &author)? {
            // Deleted before its feed reached us: only its place in the chain is kept.
            let ts = self.head_ts(&author)?;
            return self.insert_stub(&author, seq, &id, ts, tombstone);
        }
        self.detached.remove(id.digest().as_slice())?;
        let key = feed_key(&author, seq);
        let mut value = Vec::with_capacity(32 + entry.bytes().len());
        value.extend_from_slice(id.digest());
        value.extend_from_slice(entry.bytes());
        self.log.insert(key.as_slice(), value.as_slice())?;
        self.ids.insert(id.digest().as_slice(), key.as_slice())?;
        self.heads.insert(
            author.as_bytes().as_slice(),
            head_value(seq, &id, ts).as_slice(),
        )?;
        if entry.kind().is_timeline_item() {
            self.author_timeline.insert(key.as_slice(), ts)?;
            for owner in self.home_owners(&author)? {
                self.home.insert(
                    home_key(&owner, ts, &author, seq).as_slice(),
                    id.digest().as_slice(),
                )?;
            }
        }
        self.index(entry, Some(key.as_slice()))?;
        match entry.body() {
            Body::Profile { .. } => {
                let newer = self
                    .profiles
                    .get(author.as_bytes().as_slice())?
                    .is_none_or(|v| be_u64(v.value(), 0) < seq);
                if newer {
                    let mut value = seq.to_be_bytes().to_vec();
                    value.extend_from_slice(id.digest());
                    self.profiles
                        .insert(author.as_bytes().as_slice(), value.as_slice())?;
                }
            }
            Body::Follow { subject } => {
                self.follows
                    .insert(pair_key(&author, subject).as_slice(), seq)?;
                self.followers
                    .insert(pair_key(subject, &author).as_slice(), seq)?;
                if subject != &author && self.is_local(&author)? {
                    self.backfill_home(&author, subject)?;
                }
            }
            Body::Unfollow { subject } => {
                self.follows.remove(pair_key(&author, subject).as_slice())?;
                self.followers
                    .remove(pair_key(subject, &author).as_slice())?;
                if subject != &author && self.is_local(&author)? {
                    self.unfill_home(&author, subject)?;
                }
            }
            _ => {}
        }
        self.changes += 1;
        Ok(())
    }

    fn is_local(&self, author: &AuthorId) -> Result<bool, StoreError> {
        Ok(self.local.get(author.as_bytes().as_slice())?.is_some())
    }

    /// Local identities whose home timeline shows `author`: the author if local, and local
    /// followers.
    fn home_owners(&self, author: &AuthorId) -> Result<Vec<AuthorId>, StoreError> {
        let mut owners = Vec::new();
        if self.is_local(author)? {
            owners.push(*author);
        }
        let start = prefix_start(author.as_bytes(), 32);
        let end = prefix_end(author.as_bytes(), 32);
        for row in self.followers.range(start.as_slice()..end.as_slice())? {
            let (key, _) = row?;
            let follower = digest(key.value(), 32);
            if self.local.get(follower.as_slice())?.is_some() {
                owners.push(author_from_table(FOLLOWERS_NAME, follower)?);
            }
        }
        Ok(owners)
    }

    fn timeline_rows(&self, author: &AuthorId) -> Result<Vec<(u64, u64)>, StoreError> {
        let start = feed_key(author, 0);
        let end = feed_key(author, u64::MAX);
        let mut rows = Vec::new();
        for row in self
            .author_timeline
            .range(start.as_slice()..=end.as_slice())?
        {
            let (key, ts) = row?;
            rows.push((be_u64(key.value(), 32), ts.value()));
        }
        Ok(rows)
    }

    fn backfill_home(&mut self, owner: &AuthorId, subject: &AuthorId) -> Result<(), StoreError> {
        for (seq, ts) in self.timeline_rows(subject)? {
            let id = self
                .log
                .get(feed_key(subject, seq).as_slice())?
                .map(|v| digest(v.value(), 0))
                .ok_or_else(|| StoreError::Corrupt {
                    table: LOG_NAME,
                    detail: format!("timeline row {seq} of {subject} has no entry"),
                })?;
            self.home
                .insert(home_key(owner, ts, subject, seq).as_slice(), id.as_slice())?;
        }
        Ok(())
    }

    fn unfill_home(&mut self, owner: &AuthorId, subject: &AuthorId) -> Result<(), StoreError> {
        for (seq, ts) in self.timeline_rows(subject)? {
            self.home
                .remove(home_key(owner, ts, subject, seq).as_slice())?;
        }
        Ok(())
    }

    fn add_local(&mut self, author: &AuthorId) -> Result<(), StoreError> {
        if self.is_local(author)? {
            return Ok(());
        }
        self.local.insert(author.as_bytes().as_slice(), ())?;
        self.backfill_home(author, author)?;
        let start = prefix_start(author.as_bytes(), 32);
        let end = prefix_end(author.as_bytes(), 32);
        let mut subjects = Vec::new();
        for row in self.follows.range(start.as_slice()..end.as_slice())? {
            let (key, _) = row?;
            subjects.push(author_from_table(FOLLOWS_NAME, digest(key.value(), 32))?);
        }
        for subject in subjects {
            if subject != *author {
                self.backfill_home(author, &subject)?;
            }
        }
        self.changes += 1;
        Ok(())
    }
}

const LOG_NAME: &str = "log_v1";
const PENDING_NAME: &str = "pending_v1";
const FORKS_NAME: &str = "forks_v1";
const FOLLOWS_NAME: &str = "follows_v1";
const FOLLOWERS_NAME: &str = "followers_v1";

pub(crate) fn author_from_table(
    table: &'static str,
    bytes: [u8; 32],
) -> Result<AuthorId, StoreError> {
    // Every key in the tables was checked in full before it was stored; the cheap checks
    // still catch a damaged page.
    AuthorId::from_slice_deferred(&bytes).map_err(|error| StoreError::Corrupt {
        table,
        detail: error.to_string(),
    })
}

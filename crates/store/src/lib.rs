//! kith's storage: feeds, their indexes and the timelines, in one redb file.
//!
//! * **One writer.** A single thread owns every write transaction. Callers send batches of
//!   verified entries over a bounded queue; the writer groups whatever is queued (up to
//!   [`StoreConfig::batch_max`] entries, waiting at most [`StoreConfig::batch_window`] for more
//!   once a batch has started) into one transaction, commits it durably, and only then answers
//!   each caller. An append that was answered `Ok` survives `kill -9` and power loss.
//! * **Readers use snapshots.** Every query opens its own read transaction, so reads never
//!   wait for the writer and always see a consistent state.
//! * **Only verified entries go in.** Appends take [`kith_proto::VerifiedEntry`]; the chain
//!   rules (next, duplicate, gap, fork) are decided inside the write transaction against the
//!   stored state, with [`kith_proto::extends`].
//!
//! | module | what it holds |
//! |---|---|
//! | `tables` | table definitions and key layouts (`docs/ARCHITECTURE.md` §Tables) |
//! | `writer` | the writer thread and the append logic |
//! | `read` | queries over snapshots |
//! | `names` | the name registry's claims (`names_v1`) |
//!
//! Durability: every commit is `Durability::Immediate` with two-phase commit and quick
//! repair. See `docs/ARCHITECTURE.md` §Durability for why.

mod names;
mod read;
mod tables;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use kith_proto::{AuthorId, EntryError, VerifiedEntry, validate_batch};
use redb::{Database, ReadableDatabase};

pub use names::ClaimOutcome;
pub use read::{EntryState, HeadInfo, HomeCursor, HomePage, ReactionCount};
pub use writer::{AppendError, AppendOutcome};

/// Tunables of a store. The defaults suit a home peer and the test suite alike.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Most entries committed in one transaction.
    pub batch_max: usize,
    /// Once a batch holds more than one request, how long the writer waits for more before
    /// committing. A lone request is committed at once, so a single post never waits.
    pub batch_window: Duration,
    /// Capacity of the writer's request queue; senders block when it is full (backpressure).
    pub queue_capacity: usize,
    /// Most out-of-order entries buffered per feed while their predecessors are fetched.
    pub max_pending_per_feed: u64,
    /// Most out-of-order entries buffered in all.
    pub max_pending_total: u64,
    /// redb page cache, in bytes.
    pub cache_bytes: usize,
    /// Verify every page checksum when opening (slower open; used after crashes in tests).
    pub check_integrity_on_open: bool,
    /// Longest time entries of [`Store::submit_relaxed`] stay committed but not yet on disk.
    pub relaxed_flush: Duration,
}

/// Default [`StoreConfig::relaxed_flush`].
pub const DEFAULT_RELAXED_FLUSH: Duration = Duration::from_millis(200);

/// Default [`StoreConfig::batch_max`].
pub const DEFAULT_BATCH_MAX: usize = 1024;
/// Default [`StoreConfig::queue_capacity`].
pub const DEFAULT_QUEUE_CAPACITY: usize = 256;
/// Default [`StoreConfig::max_pending_per_feed`].
pub const DEFAULT_MAX_PENDING_PER_FEED: u64 = 1024;
/// Default [`StoreConfig::max_pending_total`].
pub const DEFAULT_MAX_PENDING_TOTAL: u64 = 16 * 1024;

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            batch_max: DEFAULT_BATCH_MAX,
            batch_window: Duration::from_millis(2),
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_pending_per_feed: DEFAULT_MAX_PENDING_PER_FEED,
            max_pending_total: DEFAULT_MAX_PENDING_TOTAL,
            cache_bytes: 64 * 1024 * 1024,
            check_integrity_on_open: false,
            relaxed_flush: DEFAULT_RELAXED_FLUSH,
        }
    }
}

/// A failure of the store itself (as opposed to an entry being refused, see
/// [`AppendError`]). Nothing in a failed batch was acknowledged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file could not be opened or created.
    #[error("cannot open the database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What redb said.
        source: redb::DatabaseError,
    },
    /// Another process has the database open (a running daemon, or another command).
    #[error("the database {path} is in use by another process")]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a newer layout than this build reads.
    #[error(
        "the database uses layout {found}, newer than this kith reads ({supported}); upgrade kith"
    )]
    NewerSchema {
        /// The layout version in the file.
        found: u64,
        /// The version this build reads.
        supported: u64,
    },
    /// A storage error inside redb.
    #[error("database error: {0}")]
    Database(#[from] redb::Error),
    /// A stored record does not have the layout this build writes.
    #[error("corrupt record in table {table}: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A batch failed in storage and was not committed; nothing of it was stored.
    #[error("the write was not committed: {reason}")]
    BatchFailed {
        /// The storage error.
        reason: String,
    },
    /// The writer thread has stopped (after a panic or a failed commit it could not recover
    /// from); the store must be reopened.
    #[error("the store's writer has stopped; restart the daemon")]
    WriterStopped,
    /// The writer's queue is full ([`Store::try_submit`] only).
    #[error("the store is busy; try again")]
    Busy,
    /// [`Store::close`] was called while other handles to the store exist.
    #[error("the store is still in use by other handles")]
    InUse,
    /// A member was added to or removed from a list that does not exist.
    #[error("there is no list named `{name}`; create it first")]
    NoSuchList {
        /// The list's name.
        name: String,
    },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(error: $t) -> Self {
                StoreError::Database(redb::Error::from(error))
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Why one envelope given to [`Store::ingest`] was not appended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The envelope is not a valid entry.
    #[error(transparent)]
    Invalid(#[from] EntryError),
    /// A valid entry the feed refuses (fork, frozen feed, full buffer).
    #[error(transparent)]
    Refused(#[from] AppendError),
}

/// The result of appending one entry.
pub type AppendResult = Result<AppendOutcome, AppendError>;

/// Most rows of the public timeline index; older ones are dropped.
pub const MAX_PUBLIC_ROWS: u64 = 100_000;

/// Why an entry is in a local identity's notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// A reply to one of their entries.
    Reply,
    /// A post or reply that mentions them.
    Mention,
    /// A reaction to one of their entries.
    Reaction,
    /// A repost or quote of one of their entries.
    Repost,
    /// Someone follows them.
    Follow,
    /// A direct message to them (a sealed entry only the node can read).
    Message,
}

impl NotificationKind {
    pub(crate) fn code(self) -> u8 {
        match self {
            NotificationKind::Reply => 1,
            NotificationKind::Mention => 2,
            NotificationKind::Reaction => 3,
            NotificationKind::Repost => 4,
            NotificationKind::Follow => 5,
            NotificationKind::Message => 6,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => NotificationKind::Reply,
            2 => NotificationKind::Mention,
            3 => NotificationKind::Reaction,
            4 => NotificationKind::Repost,
            5 => NotificationKind::Follow,
            6 => NotificationKind::Message,
            _ => return None,
        })
    }

    /// The name used in the API (`reply`, `mention`, `reaction`, `repost`, `follow`,
    /// `message`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Reply => "reply",
            NotificationKind::Mention => "mention",
            NotificationKind::Reaction => "reaction",
            NotificationKind::Repost => "repost",
            NotificationKind::Follow => "follow",
            NotificationKind::Message => "message",
        }
    }
}

/// A setting of this peer kept in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Setting {
    /// Follow (`true`) or stop following a normalized hashtag.
    Tag(String, bool),
    /// Keep the public timeline.
    Public(bool),
    /// The global slug held for one of our posts (`None`: no longer held).
    GlobalSlug(kith_proto::ContentId, Option<String>),
    /// Create (`true`) or delete an audience list.
    List(String, bool),
    /// Add (`true`) or remove a member of an existing list.
    ListMember(String, AuthorId, bool),
    /// A direct message this peer can read: its time, id, conversation members and author
    /// (the members hosted here other than the author are notified).
    Dm(u64, kith_proto::ContentId, Vec<AuthorId>, AuthorId),
    /// A private follow (`true`) or its end, by a hosted identity.
    PrivateFollow(AuthorId, AuthorId, bool),
    /// A sealed entry by `author` that is a reply to `parent` (read by the node): threads
    /// list it, and the parent's author, when hosted here, is notified.
    SealedReply(kith_proto::ContentId, u64, kith_proto::ContentId, AuthorId),
}

/// A per-author setting of this peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthorFlag {
    Blocked,
    Muted,
}

pub(crate) enum Request {
    Append {
        entries: Vec<VerifiedEntry>,
        /// Answer only once the commit is on disk; else once it is visible, and make it
        /// durable within [`StoreConfig::relaxed_flush`].
        durable: bool,
        /// Entries of feeds this store does not hold are kept detached instead of buffered.
        detached: bool,
        reply: oneshot::Sender<Result<Vec<AppendResult>, StoreError>>,
    },
    PutBlob {
        pieces: Vec<(kith_proto::ContentId, Vec<u8>)>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    Set {
        setting: Setting,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    SetFlag {
        flag: AuthorFlag,
        author: AuthorId,
        on: bool,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    AddLocal {
        author: AuthorId,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
    ClaimName {
        claim: kith_proto::names::NameClaim,
        reply: oneshot::Sender<Result<ClaimOutcome, StoreError>>,
    },
    ReleaseName {
        release: kith_proto::names::NameRelease,
        reply: oneshot::Sender<Result<bool, StoreError>>,
    },
}

impl Request {
    /// Whether its answer must wait for the disk.
    fn durable(&self) -> bool {
        match self {
            Request::Append { durable, .. } => *durable,
            Request::AddLocal { .. }
            | Request::SetFlag { .. }
            | Request::PutBlob { .. }
            | Request::Set { .. }
            | Request::ClaimName { .. }
            | Request::ReleaseName { .. } => true,
        }
    }

    fn weight(&self) -> usize {
        match self {
            Request::Append { entries, .. } => entries.len(),
            Request::AddLocal { .. }
            | Request::SetFlag { .. }
            | Request::Set { .. }
            | Request::ClaimName { .. }
            | Request::ReleaseName { .. } => 1,
            Request::PutBlob { pieces, .. } => pieces.len(),
        }
    }
}

struct Inner {
    db: Arc<Database>,
    /// The database file (`None` in memory).
    path: Option<PathBuf>,
    requests: SyncSender<Request>,
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// A handle to the store; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

/// The answer to a submitted batch; wait for it with [`Ticket::wait`] or `.await` it.
pub struct Ticket(oneshot::Receiver<Result<Vec<AppendResult>, StoreError>>);

impl Ticket {
    /// Blocks until the batch is committed (or failed).
    pub fn wait(self) -> Result<Vec<AppendResult>, StoreError> {
        self.0.recv().map_err(|_| StoreError::WriterStopped)?
    }
}

impl std::future::Future for Ticket {
    type Output = Result<Vec<AppendResult>, StoreError>;
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|result| result.map_err(|_| StoreError::WriterStopped)?)
    }
}

impl Store {
    /// Opens (or creates) the store in the file `path`.
    pub fn open(path: &Path, config: StoreConfig) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(config.cache_bytes)
            .set_check_integrity_on_open(config.check_integrity_on_open)
            .create(path)
            .map_err(|source| match source {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                    path: path.to_owned(),
                },
                source => StoreError::Open {
                    path: path.to_owned(),
                    source,
                },
            })?;
        Self::start(db, Some(path.to_owned()), config)
    }

    /// A store in memory, for tests where the disk is not the point.
    pub fn in_memory(config: StoreConfig) -> Result<Self, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|source| StoreError::Open {
                path: PathBuf::from(":memory:"),
                source,
            })?;
        Self::start(db, None, config)
    }

    /// A store on any redb storage backend (fault-injection tests, special deployments).
    pub fn with_backend(
        backend: impl redb::StorageBackend,
        config: StoreConfig,
    ) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(config.cache_bytes)
            .create_with_backend(backend)
            .map_err(|source| StoreError::Open {
                path: PathBuf::from(":backend:"),
                source,
            })?;
        Self::start(db, None, config)
    }

    fn start(db: Database, path: Option<PathBuf>, config: StoreConfig) -> Result<Self, StoreError> {
        writer::initialise(&db)?;
        let db = Arc::new(db);
        let (requests, queue) = sync_channel(config.queue_capacity.max(1));
        let writer_db = Arc::clone(&db);
        let handle = std::thread::Builder::new()
            .name("kith-store-writer".into())
            .spawn(move || writer::run(writer_db, queue, config))
            .map_err(|e| StoreError::Corrupt {
                table: "-",
                detail: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                path,
                requests,
                writer: std::sync::Mutex::new(Some(handle)),
            }),
        })
    }

    /// Queues verified entries for appending; blocks while the queue is full. The ticket
    /// resolves once they are durably committed, with one result per entry, in order.
    pub fn submit(&self, entries: Vec<VerifiedEntry>) -> Result<Ticket, StoreError> {
        self.send(entries, true, false)
    }

    /// Like [`Store::try_submit_relaxed`], for entries wanted on their own rather than as
    /// part of a feed (a stranger's reply in a thread held here, a reaction, a delete): an
    /// entry whose feed this store holds none of is kept detached
    /// ([`AppendOutcome::Detached`]), indexed (threads, reactions, edits, deletes) but in no
    /// feed; an entry of a feed held is appended (or buffered) as usual.
    pub fn try_submit_detached(&self, entries: Vec<VerifiedEntry>) -> Result<Ticket, StoreError> {
        self.try_send_as(entries, false, true)
    }

    /// [`Store::try_submit_detached`] that waits for room in the queue, and for the disk.
    pub fn submit_detached(&self, entries: Vec<VerifiedEntry>) -> Result<Ticket, StoreError> {
        self.send(entries, true, true)
    }

    /// Blocks (`on`) or unblocks an author. Blocking drops everything stored of theirs
    /// (feed, detached entries, buffered entries) and refuses all of it from then on.
    pub fn set_blocked(&self, author: AuthorId, on: bool) -> Result<(), StoreError> {
        self.set_flag(AuthorFlag::Blocked, author, on)
    }

    /// Mutes (`on`) or unmutes an author: kept and relayed, hidden from timelines.
    pub fn set_muted(&self, author: AuthorId, on: bool) -> Result<(), StoreError> {
        self.set_flag(AuthorFlag::Muted, author, on)
    }

    /// Stores the pieces of a blob (its manifest and chunks), durably. The caller has
    /// verified each piece against its id ([`kith_proto::blob`]).
    pub fn put_blob(&self, blob: &kith_proto::blob::Blob) -> Result<(), StoreError> {
        let mut pieces = vec![(blob.id, blob.manifest.clone())];
        pieces.extend(blob.chunks.iter().cloned());
        self.put_blob_pieces(pieces)
    }

    /// Stores verified blob pieces (`id`, bytes), durably.
    pub fn put_blob_pieces(
        &self,
        pieces: Vec<(kith_proto::ContentId, Vec<u8>)>,
    ) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .requests
            .send(Request::PutBlob { pieces, reply })
            .map_err(|_| StoreError::WriterStopped)?;
        answer.recv().map_err(|_| StoreError::WriterStopped)?
    }

    /// Follows (`on`) or stops following a normalized hashtag (see `kith_proto::text`).
    pub fn set_tag_followed(&self, tag: &str, on: bool) -> Result<(), StoreError> {
        self.set(Setting::Tag(tag.to_owned(), on))
    }

    /// Turns the public timeline on or off (a setting of this peer).
    pub fn set_public_timeline(&self, on: bool) -> Result<(), StoreError> {
        self.set(Setting::Public(on))
    }

    /// Creates (`true`) or deletes an audience list (`kith list create`). Names are checked
    /// by the caller.
    pub fn set_list(&self, name: &str, on: bool) -> Result<(), StoreError> {
        self.set(Setting::List(name.to_owned(), on))
    }

    /// Adds (`true`) or removes a member of the list `name`; the list must exist
    /// ([`StoreError::NoSuchList`]).
    pub fn set_list_member(
        &self,
        name: &str,
        member: AuthorId,
        on: bool,
    ) -> Result<(), StoreError> {
        if !self.lists()?.iter().any(|list| list == name) {
            return Err(StoreError::NoSuchList {
                name: name.to_owned(),
            });
        }
        self.set(Setting::ListMember(name.to_owned(), member, on))
    }

    /// Records that the hosted identity `owner` follows `subject` privately (`true`: a
    /// sealed follow entry the node opened), or no longer does. Timelines and catch-ups then
    /// treat it like a public follow.
    pub fn set_private_follow(
        &self,
        owner: AuthorId,
        subject: AuthorId,
        on: bool,
    ) -> Result<(), StoreError> {
        self.set(Setting::PrivateFollow(owner, subject, on))
    }

    /// Lists the sealed entry `id` (at `ts`, by `author`) among the replies to `parent`, and
    /// records a `reply` notification for the parent's author if it is hosted here and is not
    /// `author` (the node opened it and found a reply; the store cannot read sealed entries
    /// itself).
    pub fn index_sealed_reply(
        &self,
        parent: kith_proto::ContentId,
        ts: u64,
        id: kith_proto::ContentId,
        author: AuthorId,
    ) -> Result<(), StoreError> {
        self.set(Setting::SealedReply(parent, ts, id, author))
    }

    /// Records a direct message by `author` this peer can read: when, which entry, and every
    /// member of its conversation (the author included); members hosted here other than the
    /// author get a `message` notification.
    pub fn record_dm(
        &self,
        ts: u64,
        id: kith_proto::ContentId,
        members: Vec<AuthorId>,
        author: AuthorId,
    ) -> Result<(), StoreError> {
        self.set(Setting::Dm(ts, id, members, author))
    }

    /// Records (`Some`) or forgets (`None`) the global slug held for our post `id`.
    pub fn set_global_slug(
        &self,
        id: kith_proto::ContentId,
        slug: Option<&str>,
    ) -> Result<(), StoreError> {
        self.set(Setting::GlobalSlug(id, slug.map(str::to_owned)))
    }

    fn set(&self, setting: Setting) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .requests
            .send(Request::Set { setting, reply })
            .map_err(|_| StoreError::WriterStopped)?;
        answer.recv().map_err(|_| StoreError::WriterStopped)?
    }

    fn set_flag(&self, flag: AuthorFlag, author: AuthorId, on: bool) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .requests
            .send(Request::SetFlag {
                flag,
                author,
                on,
                reply,
            })
            .map_err(|_| StoreError::WriterStopped)?;
        answer.recv().map_err(|_| StoreError::WriterStopped)?
    }

    /// Like [`Store::submit`] but fails with [`StoreError::Busy`] instead of blocking when the
    /// queue is full (for async callers that must not block).
    pub fn try_submit(&self, entries: Vec<VerifiedEntry>) -> Result<Ticket, StoreError> {
        self.try_send_as(entries, true, false)
    }

    /// Like [`Store::submit`], for entries that can be had again after a crash (received
    /// from the network): the ticket resolves once they are committed and visible to
    /// readers, without waiting for the disk; they become durable with the next durable
    /// commit, at most [`StoreConfig::relaxed_flush`] later. A crash in between loses
    /// them (the store stays consistent: it reopens at the last durable commit), and the
    /// next catch-up fetches them again. Never for entries acknowledged to a user.
    pub fn submit_relaxed(&self, entries: Vec<VerifiedEntry>) -> Result<Ticket, StoreError> {
        self.send(entries, false, false)
    }

    /// [`Store::submit_relaxed`] that fails with [`StoreError::Busy`] instead of blocking.
    pub fn try_submit_relaxed(&self, entries: Vec<VerifiedEntry>) -> Result<Ticket, StoreError> {
        self.try_send_as(entries, false, false)
    }

    fn send(
        &self,
        entries: Vec<VerifiedEntry>,
        durable: bool,
        detached: bool,
    ) -> Result<Ticket, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .requests
            .send(Request::Append {
                entries,
                durable,
                detached,
                reply,
            })
            .map_err(|_| StoreError::WriterStopped)?;
        Ok(Ticket(answer))
    }

    fn try_send_as(
        &self,
        entries: Vec<VerifiedEntry>,
        durable: bool,
        detached: bool,
    ) -> Result<Ticket, StoreError> {
        let (reply, answer) = oneshot::channel();
        match self.inner.requests.try_send(Request::Append {
            entries,
            durable,
            detached,
            reply,
        }) {
            Ok(()) => Ok(Ticket(answer)),
            Err(TrySendError::Full(_)) => Err(StoreError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(StoreError::WriterStopped),
        }
    }

    /// Appends verified entries and waits until they are durably committed.
    pub fn append_batch(
        &self,
        entries: Vec<VerifiedEntry>,
    ) -> Result<Vec<AppendResult>, StoreError> {
        self.submit(entries)?.wait()
    }

    /// Appends one verified entry and waits until it is durably committed.
    pub fn append(&self, entry: VerifiedEntry) -> Result<AppendResult, StoreError> {
        let mut results = self.append_batch(vec![entry])?;
        results.pop().ok_or(StoreError::WriterStopped)
    }

    /// The whole ingest path for envelopes received from anywhere: decode, canonical check,
    /// hash, batch signature verification (timestamps checked against `now_ms`), then one
    /// batched append. One result per envelope, in order; invalid ones are never stored.
    pub fn ingest(
        &self,
        envelopes: &[&[u8]],
        now_ms: u64,
    ) -> Result<Vec<Result<AppendOutcome, IngestError>>, StoreError> {
        let mut results: Vec<Option<Result<AppendOutcome, IngestError>>> =
            Vec::with_capacity(envelopes.len());
        let mut verified = Vec::with_capacity(envelopes.len());
        let mut verified_slots = Vec::with_capacity(envelopes.len());
        for (slot, result) in validate_batch(envelopes, now_ms).into_iter().enumerate() {
            match result {
                Ok(entry) => {
                    verified.push(entry);
                    verified_slots.push(slot);
                    results.push(None);
                }
                Err(error) => results.push(Some(Err(error.into()))),
            }
        }
        if !verified.is_empty() {
            for (slot, result) in verified_slots.into_iter().zip(self.append_batch(verified)?) {
                results[slot] = Some(result.map_err(IngestError::from));
            }
        }
        Ok(results.into_iter().flatten().collect())
    }

    /// Marks `author` as hosted here: it gets a home timeline, filled from what is stored.
    pub fn add_local_identity(&self, author: AuthorId) -> Result<(), StoreError> {
        let (reply, answer) = oneshot::channel();
        self.inner
            .requests
            .send(Request::AddLocal { author, reply })
            .map_err(|_| StoreError::WriterStopped)?;
        answer.recv().map_err(|_| StoreError::WriterStopped)?
    }

    pub(crate) fn read(&self) -> Result<redb::ReadTransaction, StoreError> {
        Ok(self.inner.db.begin_read()?)
    }

    /// Stops the writer after it has committed everything queued, and closes the file. Fails
    /// with [`StoreError::InUse`] if other handles exist.
    pub fn close(self) -> Result<(), StoreError> {
        let inner = Arc::try_unwrap(self.inner).map_err(|_| StoreError::InUse)?;
        let Inner {
            db,
            requests,
            writer,
            path: _,
        } = inner;
        drop(requests);
        let handle = writer.lock().map_err(|_| StoreError::WriterStopped)?.take();
        if let Some(handle) = handle {
            handle.join().map_err(|_| StoreError::WriterStopped)?;
        }
        drop(db);
        Ok(())
    }
}

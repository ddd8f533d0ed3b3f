//! Table definitions and key layouts. Every table name carries a version: a change of layout
//! gets a new name and a migration, never a silent reinterpretation of old bytes. The layouts
//! are documented in `docs/ARCHITECTURE.md` §Tables.
//!
//! All integers in keys are big-endian so that byte order is numeric order.

use kith_proto::{AuthorId, ContentId};
use redb::TableDefinition;

/// The log: `author ‖ seq` → `id ‖ envelope`. Keyed in append order (sequential keys batch
/// far faster than random content-hash keys); the id is kept so reads need not re-hash.
pub(crate) const LOG: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("log_v1");
/// Content-id index: `id` (32-byte digest) → `author ‖ seq`.
pub(crate) const IDS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("ids_v1");
/// Newest entry held per feed: `author` → `seq ‖ id ‖ ts`.
pub(crate) const HEADS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("heads_v1");
/// Per-author timeline (posts, replies, reposts only): `author ‖ seq` → `ts`.
pub(crate) const AUTHOR_TIMELINE: TableDefinition<'static, &[u8], u64> =
    TableDefinition::new("author_timeline_v1");
/// Home timeline of each local identity: `owner ‖ ts ‖ author ‖ seq` → `id`.
pub(crate) const HOME: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("home_v1");
/// Replies by parent: `parent ‖ ts ‖ reply id` → `author ‖ seq`.
pub(crate) const REPLIES: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("replies_v1");
/// Follow graph, derived from follow/unfollow entries: `follower ‖ subject` → seq of the
/// follow entry.
pub(crate) const FOLLOWS: TableDefinition<'static, &[u8], u64> = TableDefinition::new("follows_v1");
/// The same graph reversed: `subject ‖ follower` → seq of the follow entry.
pub(crate) const FOLLOWERS: TableDefinition<'static, &[u8], u64> =
    TableDefinition::new("followers_v1");
/// Identities hosted by this peer (they get a home timeline): `author` → `()`.
pub(crate) const LOCAL: TableDefinition<'static, &[u8], ()> =
    TableDefinition::new("local_identities_v1");
/// Verified entries waiting for a missing predecessor: `author ‖ seq` → envelope.
pub(crate) const PENDING: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("pending_v1");
/// Fork proofs; a feed with a proof is frozen: `author` → encoded `ForkProof`.
pub(crate) const FORKS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("forks_v1");
/// Entries held without their feed (replies of strangers in threads we hold, reactions,
/// deletes that reach us through a thread): `id` → envelope. Each was verified on its own;
/// if its feed is stored later, it moves into the log.
pub(crate) const DETACHED: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("detached_v1");
/// Current reaction of each author to each entry: `target ‖ reactor` →
/// `ts ‖ seq ‖ reaction id ‖ reaction text`. A newer reaction (by ts, then seq) replaces it.
pub(crate) const REACTIONS: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("reactions_v1");
/// Reposts and quote posts by target: `target ‖ ts ‖ repost id` → `()`.
pub(crate) const REPOSTS: TableDefinition<'static, &[u8], ()> = TableDefinition::new("reposts_v1");
/// Edits by target: `target ‖ ts ‖ edit id` → `()`. Only the target's author's count.
pub(crate) const EDITS: TableDefinition<'static, &[u8], ()> = TableDefinition::new("edits_v1");
/// Deletes: `target ‖ deleter` → id of the delete entry (the tombstone) ‖ verified (one
/// byte: 1 when the target was held and is the deleter's, so the delete is known to count;
/// 0 when the target was not held, so it counts only if the target turns out to be the
/// deleter's). Keyed by deleter too, so a stranger's delete cannot displace the author's.
pub(crate) const TOMBSTONES: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("tombstones_v1");
/// Authors blocked on this peer (nothing of theirs is stored, shown or relayed): `author` →
/// `()`.
pub(crate) const BLOCKED: TableDefinition<'static, &[u8], ()> = TableDefinition::new("blocked_v1");
/// Authors muted on this peer (stored and relayed, hidden from timelines): `author` → `()`.
pub(crate) const MUTED: TableDefinition<'static, &[u8], ()> = TableDefinition::new("muted_v1");
/// Blob pieces (manifests and chunks), verified against their ids: `id` → bytes.
pub(crate) const BLOBS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("blobs_v1");
/// Newest profile entry of each author whose feed is held: `author` → `seq ‖ entry id`.
pub(crate) const PROFILES: TableDefinition<'static, &[u8], &[u8]> =
    TableDefinition::new("profiles_v1");
/// Notifications of local identities: `owner ‖ ts ‖ entry id` → kind (one byte, see
/// [`crate::NotificationKind`]).
pub(crate) const NOTIFICATIONS: TableDefinition<'static, &[u8], u8> =
    TableDefinition::new("notifications_v1");
/// Posts by hashtag: `tag key ‖ ts ‖ id` → `()`; the tag key is the sha2-256 digest of the
/// normalized tag.
pub(crate) const TAGGED: TableDefinition<'static, &[u8], ()> = TableDefinition::new("tagged_v1");
/// Hashtags followed on this peer: normalized tag → `()`.
pub(crate) const FOLLOWED_TAGS: TableDefinition<'static, &str, ()> =
    TableDefinition::new("followed_tags_v1");
/// Top-level posts seen, newest last, for the public timeline: `ts ‖ id` → `()`. Bounded:
/// the oldest rows go beyond [`crate::MAX_PUBLIC_ROWS`].
pub(crate) const PUBLIC: TableDefinition<'static, &[u8], ()> = TableDefinition::new("public_v1");
/// The name registry's replica state: normalized name → the envelope of the claim that holds
/// it here (`kith_proto::names::NameClaim`, re-checked whenever read). The first valid claim
/// of a name wins; a release by its owner removes it (see `crate::names`).
pub(crate) const NAMES: TableDefinition<'static, &str, &[u8]> = TableDefinition::new("names_v1");
/// The newest release seen of each name: normalized name → `ts ‖ owner`. A claim by that
/// owner signed at or before it is stale (a replay of a claim given up) and refused.
pub(crate) const NAME_RELEASES: TableDefinition<'static, &str, &[u8]> =
    TableDefinition::new("name_releases_v1");
/// The name of [`NAMES`], for errors.
pub(crate) const NAMES_NAME: &str = "names_v1";
/// Post slugs, unique per author (the first post with a slug keeps it): `author ‖ slug` →
/// entry id.
pub(crate) const SLUGS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("slugs_v1");
/// Global slugs this peer's identities hold (claimed by quorum in the name registry):
/// entry id digest (32 bytes) → slug. Written after a successful claim, removed on release.
pub(crate) const GLOBAL_SLUGS: TableDefinition<'static, &[u8], &str> =
    TableDefinition::new("global_slugs_v1");
/// The local identity's audience lists, private to this peer: `name ‖ 0x00` marks a list,
/// `name ‖ 0x00 ‖ member (32 bytes)` a member.
pub(crate) const LISTS: TableDefinition<'static, &[u8], ()> = TableDefinition::new("lists_v1");
/// Private follows of the identities hosted here (sealed follow entries, which the store
/// cannot read; the node tells it): `owner ‖ subject` → (). The follow itself is also in
/// `follows_v1`, so timelines and catch-ups treat it like any follow.
pub(crate) const PRIVATE_FOLLOWS: TableDefinition<'static, &[u8], ()> =
    TableDefinition::new("private_follows_v1");
/// Direct messages this peer can read (sent or received): `ts (8, big-endian) ‖ entry id
/// digest (32)` → the conversation: every member's key (32 bytes each, sorted), the
/// author's included.
pub(crate) const DMS: TableDefinition<'static, &[u8], &[u8]> = TableDefinition::new("dms_v1");
/// Store metadata: `schema` → layout version, `revision` → count of changes.
pub(crate) const META: TableDefinition<'static, &str, u64> = TableDefinition::new("meta_v1");

/// The layout version this code reads and writes.
pub(crate) const SCHEMA_VERSION: u64 = 1;

pub(crate) fn feed_key(author: &AuthorId, seq: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(author.as_bytes());
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

pub(crate) fn pair_key(a: &AuthorId, b: &AuthorId) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(a.as_bytes());
    key[32..].copy_from_slice(b.as_bytes());
    key
}

pub(crate) fn home_key(owner: &AuthorId, ts: u64, author: &AuthorId, seq: u64) -> [u8; 80] {
    let mut key = [0u8; 80];
    key[..32].copy_from_slice(owner.as_bytes());
    key[32..40].copy_from_slice(&ts.to_be_bytes());
    key[40..72].copy_from_slice(author.as_bytes());
    key[72..].copy_from_slice(&seq.to_be_bytes());
    key
}

pub(crate) fn reply_key(parent: &ContentId, ts: u64, id: &ContentId) -> [u8; 72] {
    let mut key = [0u8; 72];
    key[..32].copy_from_slice(parent.digest());
    key[32..40].copy_from_slice(&ts.to_be_bytes());
    key[40..].copy_from_slice(id.digest());
    key
}

/// `target ‖ ts ‖ id`: the key of the edits and reposts indexes.
pub(crate) fn target_key(target: &ContentId, ts: u64, id: &ContentId) -> [u8; 72] {
    reply_key(target, ts, id)
}

pub(crate) fn head_value(seq: u64, id: &ContentId, ts: u64) -> [u8; 48] {
    let mut value = [0u8; 48];
    value[..8].copy_from_slice(&seq.to_be_bytes());
    value[8..40].copy_from_slice(id.digest());
    value[40..].copy_from_slice(&ts.to_be_bytes());
    value
}

/// Reads a big-endian u64 at `at`; the callers slice fixed layouts written by this module.
pub(crate) fn be_u64(bytes: &[u8], at: usize) -> u64 {
    let mut buf = [0u8; 8];
    buf.copy_from_slice(&bytes[at..at + 8]);
    u64::from_be_bytes(buf)
}

pub(crate) fn digest(bytes: &[u8], at: usize) -> [u8; 32] {
    let mut buf = [0u8; 32];
    buf.copy_from_slice(&bytes[at..at + 32]);
    buf
}

/// The smallest key that starts with `prefix` and has `rest` more bytes.
pub(crate) fn prefix_start(prefix: &[u8], rest: usize) -> Vec<u8> {
    let mut start = prefix.to_vec();
    start.extend(std::iter::repeat_n(0, rest));
    start
}

/// The smallest key strictly above every key that starts with `prefix` and has `rest` more
/// bytes: `prefix ‖ 0xff…` plus one byte, for use as an exclusive upper bound.
pub(crate) fn prefix_end(prefix: &[u8], rest: usize) -> Vec<u8> {
    let mut end = prefix.to_vec();
    end.extend(std::iter::repeat_n(0xff, rest + 1));
    end
}

/// `target ‖ reactor`: the key of the reactions index.
pub(crate) fn reaction_key(target: &ContentId, reactor: &AuthorId) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(target.digest());
    key[32..].copy_from_slice(reactor.as_bytes());
    key
}

/// `tombstone id ‖ verified`: the value of the tombstones table.
pub(crate) fn tombstone_value(tombstone: &ContentId, verified: bool) -> [u8; 33] {
    let mut value = [0u8; 33];
    value[..32].copy_from_slice(tombstone.digest());
    value[32] = u8::from(verified);
    value
}

/// `target ‖ deleter`: the key of the tombstones table.
pub(crate) fn tombstone_key(target: &ContentId, deleter: &AuthorId) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(target.digest());
    key[32..].copy_from_slice(deleter.as_bytes());
    key
}

/// The key of a hashtag in the tag index.
pub(crate) fn tag_key(tag: &str) -> [u8; 32] {
    *ContentId::of(tag.as_bytes()).digest()
}

/// `prefix ‖ ts ‖ id`.
pub(crate) fn timed_key(prefix: &[u8], ts: u64, id: &ContentId) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + 40);
    key.extend_from_slice(prefix);
    key.extend_from_slice(&ts.to_be_bytes());
    key.extend_from_slice(id.digest());
    key
}

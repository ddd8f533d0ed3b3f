//! What commands print with `--json`, and what backends return. These structs are the
//! contract with scripts (docs/CLI.md): fields may be added, never renamed or removed. They
//! are also meant to be the bodies of the daemon's HTTP API, so a remote backend can
//! deserialize the same types.

use kith_proto::{AuthorId, Entry};
use serde::Serialize;

/// `kith init --json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InitReport {
    /// The new identity, `did:key:z6Mk…`.
    pub(crate) did: String,
    /// Absolute path of the data directory.
    pub(crate) data_dir: String,
}

/// `kith id --json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IdentityReport {
    /// The identity, `did:key:z6Mk…`.
    pub(crate) did: String,
    /// Absolute path of the data directory.
    pub(crate) data_dir: String,
    /// The 32-byte ed25519 public key, 64 lower-case hex digits.
    pub(crate) public_key_hex: String,
}

impl IdentityReport {
    /// The report for `author` hosted in `data_dir`.
    pub(crate) fn new(author: AuthorId, data_dir: String) -> Self {
        Self {
            did: author.to_did(),
            data_dir,
            public_key_hex: hex::encode(author.as_bytes()),
        }
    }
}

/// `kith post --json`: the entry just appended.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PostReceipt {
    /// Content id of the entry (CIDv1 text, `b…`).
    pub(crate) id: String,
    /// Its sequence number in the author's feed, from 1.
    pub(crate) seq: u64,
    /// The author, `did:key:z6Mk…`.
    pub(crate) author: String,
    /// The author's timestamp, milliseconds since the Unix epoch.
    pub(crate) ts: u64,
}

/// One element of `kith feed --json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FeedItem {
    /// Content id of the entry.
    pub(crate) id: String,
    /// The author, `did:key:z6Mk…`.
    pub(crate) author: String,
    /// Sequence number, from 1.
    pub(crate) seq: u64,
    /// Content id of entry `seq - 1`; `null` at seq 1.
    pub(crate) prev: Option<String>,
    /// The author's timestamp, milliseconds since the Unix epoch.
    pub(crate) ts: u64,
    /// The kind's wire name (`post`, `reply`, …, or a kind this version does not know).
    pub(crate) kind: String,
    /// The text of the entry, `null` for kinds without one.
    pub(crate) text: Option<String>,
}

impl From<&Entry> for FeedItem {
    fn from(entry: &Entry) -> Self {
        Self {
            id: entry.id().to_string(),
            author: entry.author().to_did(),
            seq: entry.seq(),
            prev: entry.prev().map(|id| id.to_string()),
            ts: entry.ts(),
            kind: entry.kind().as_str().to_owned(),
            text: entry.body().text().map(str::to_owned),
        }
    }
}

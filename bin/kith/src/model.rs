//! What commands print with `--json` beyond the API's own bodies. These structs are the
//! contract with scripts (docs/CLI.md): fields may be added, never renamed or removed.
//! Entries are printed as [`kith_api::model::EntryObject`], the same object the daemon's API
//! returns.

use kith_proto::AuthorId;
use serde::Serialize;

/// `kith init --json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct InitReport {
    /// The new identity, `did:key:z6Mk…`.
    pub(crate) did: String,
    /// Absolute path of the data directory.
    pub(crate) data_dir: String,
    /// The profile recorded in `config.toml`.
    pub(crate) profile: String,
    /// The node's libp2p peer id.
    pub(crate) peer_id: String,
}

/// `kith id --json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IdentityReport {
    /// The identity, `did:key:z6Mk…`.
    pub(crate) did: String,
    /// The same identity (the name the API uses).
    pub(crate) author: String,
    /// Absolute path of the data directory.
    pub(crate) data_dir: String,
    /// The 32-byte ed25519 public key, 64 lower-case hex digits.
    pub(crate) public_key_hex: String,
    /// The node's libp2p peer id; `null` when no daemon answers and `node.key` does not
    /// exist yet.
    pub(crate) peer_id: Option<String>,
    /// The multiaddrs the running daemon listens on (each ending in `/p2p/<peer id>`);
    /// empty when no daemon answers.
    pub(crate) listen_addrs: Vec<String>,
    /// The base URL of the daemon's API that answered; `null` when none did.
    pub(crate) api: Option<String>,
}

impl IdentityReport {
    /// The report for `author` hosted in `data_dir`, not (yet) online.
    pub(crate) fn new(author: AuthorId, data_dir: String) -> Self {
        Self {
            did: author.to_did(),
            author: author.to_did(),
            data_dir,
            public_key_hex: hex::encode(author.as_bytes()),
            peer_id: None,
            listen_addrs: Vec::new(),
            api: None,
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
    /// The post's slug, unique among the author's posts (`kith:<username>/<slug>`).
    pub(crate) slug: Option<String>,
    /// The global slug claimed for the post (`kith:/<slug>`, web path `/<slug>`); `null`
    /// when it was taken or the registry could not be reached.
    pub(crate) global_slug: Option<String>,
}

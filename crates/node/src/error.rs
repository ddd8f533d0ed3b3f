//! Errors of node operations.

use kith_proto::EntryError;
use kith_store::{AppendError, StoreError};

/// Why a node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The input is not acceptable (text too long, empty, …); nothing was changed.
    #[error("{0}")]
    Invalid(String),
    /// The entry we built was refused by the protocol rules (a bug or a clock far off).
    #[error("the new entry is invalid: {0}")]
    Entry(#[from] EntryError),
    /// The local feed refused the entry (it is forked or frozen).
    #[error("the local feed refused the entry: {0}")]
    Refused(#[from] AppendError),
    /// The store failed; nothing was acknowledged.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The network layer failed or has stopped.
    #[error("network: {0}")]
    Net(#[from] kith_net::NetError),
    /// A configuration value is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A peer id given as input is malformed; nothing was changed.
    #[error("`{peer}` is not a libp2p peer id ({reason}); expected the form 12D3KooW…")]
    InvalidPeerId {
        /// The text given.
        peer: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Denying the peers would put more than `limit` peers on the deny list; nothing was
    /// changed.
    #[error(
        "the deny list holds {denied} peers and this would add {adding}; at most {limit} can \
         be denied: allow some first"
    )]
    DenyListFull {
        /// Peers denied now.
        denied: usize,
        /// New peers the request would add.
        adding: usize,
        /// The most peers that can be denied (`kith_net::MAX_DENIED_PEERS`).
        limit: usize,
    },
    /// The entry (or author) named does not exist here.
    #[error("{0}")]
    NotFound(String),
    /// The blob named is not (wholly) stored here.
    #[error("{0}")]
    BlobNotFound(String),
    /// The operation is not allowed on this entry (it is someone else's).
    #[error("{0}")]
    Forbidden(String),
    /// A feed URL given to bridge is not an `http` or `https` URL; nothing was changed.
    #[error("{0}")]
    InvalidUrl(String),
    /// The feed to bridge could not be fetched or is not an RSS or Atom feed; nothing was
    /// changed.
    #[error("{0}")]
    FeedUnavailable(String),
    /// This node has no bridge directory (`NodeConfig::bridge_dir`), so it runs no bridges.
    #[error(
        "bridge feeds are disabled on this node: it has no directory for bridge keys \
         (NodeConfig::bridge_dir)"
    )]
    BridgesDisabled,
    /// The node already runs the most bridges it may.
    #[error("this node already bridges {limit} feeds, the most it may; none was added")]
    TooManyBridges {
        /// The limit (`kith_node::MAX_BRIDGES`).
        limit: usize,
    },
    /// The name is held by another author.
    #[error("the name `{name}` is taken by {owner}; choose another")]
    NameTaken {
        /// The normalized name.
        name: String,
        /// Its owner.
        owner: kith_proto::AuthorId,
    },
    /// Too few of a name's replicas answered (or accepted) for the quorum.
    #[error(
        "only {reached} of the {needed} replicas needed answered for `{name}` ({replicas} \
         found); the network around this name is too small or partitioned, try again later"
    )]
    NameQuorum {
        /// The normalized name.
        name: String,
        /// Replicas that accepted (claim) or answered (lookup).
        reached: usize,
        /// The quorum (W or R).
        needed: usize,
        /// Replicas found.
        replicas: usize,
    },
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
}

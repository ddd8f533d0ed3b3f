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
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
}

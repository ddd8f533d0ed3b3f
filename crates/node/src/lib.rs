//! The kith node: one store, one network, the identities it hosts, and the flows that tie
//! them together.
//!
//! * **Publish**: sign with seq = head + 1 → store (durable) → event → gossip on the
//!   author's topic → signed head on the DHT → provider record for the feed.
//! * **Follow**: a follow entry in the local feed → subscribe to the author's topic → head
//!   from the DHT → catch up from providers → provide the feed too.
//! * **Receive**: gossip → validate (signature, size, canonical form) → forward (accept) or
//!   reject → store; a gap is filled by fetching from the sender.
//! * **Start**: for every followed author, catch up in the background.
//! * **Deny list**: [`Node::deny_peers`] cuts peers off (both ways, in memory only);
//!   [`Node::allow_peers`] lets them back and reconnects at once.
//! * **Head lookup**: [`Node::lookup_head`] asks the DHT for an author's head now.
//! * **Fetch without following**: [`Node::fetch_feed`] runs a follow's catch-up of one
//!   feed once and keeps what arrives (the HTTP gateway's cache).
//! * **Bridges** (`bridge`): [`Node::follow_feed`] republishes an RSS or Atom feed as a
//!   new author hosted here, polled politely.
//! * **Social** (`social`): replies, reactions, reposts, edits and deletes reach the
//!   followers of the authors they concern; threads are served and fetched by root; block
//!   and mute.
//!
//! * **Routing** (`routing`): fetch hosts are tried in a random order weighted by a score
//!   from this node's measurements and the hosts' signed status beacons, which every node
//!   publishes.
//!
//! [`Node`] is a cheap, cloneable handle; API servers and tests share it.

mod bridge;
mod error;
mod metrics;
mod names;
mod node;
mod privacy;
mod profile;
mod reach;
mod resync;
mod routing;
mod social;
mod sync;

pub use bridge::{
    BridgeInfo, FIRST_POLL_ITEMS, MAX_BRIDGES, MAX_ITEMS_PER_POLL, MAX_REMEMBERED_ITEMS,
};
pub use error::NodeError;
pub use kith_feeds::PollConfig;
pub use kith_net::{MAX_DENIED_PEERS, Reachability, ReachabilityStatus};
pub use metrics::MAX_LAG_SERIES;
pub use names::{ClaimedName, NameQuorum};
pub use node::{
    EVENT_BROADCAST_CAPACITY, HEAD_ANNOUNCE_DELAY, HeadLookup, MAX_APPENDS_IN_FLIGHT,
    MAX_CATCH_UPS, MAX_FOLLOWS, MAX_HEAD_LOOKUPS, Node, NodeConfig, NodeEvent, NodeStatus,
    PeerInfo, Profile,
};
pub use privacy::{AudienceSpec, MAX_LIST_MEMBERS, MAX_LISTS, Unsealed, check_list_name};
pub use profile::{MAX_BLOB_FETCHES, ProfileUpdate};
pub use reach::{MAX_FOLLOWED_TAGS, MAX_RATE_AUTHORS, RATE_BURST, RATE_REFILL};
pub use routing::{
    EWMA_WEIGHT, HostScore, MAX_OBSERVED_HOSTS, RoutingConfig, ServeFault, UNKNOWN_DISTANCE_MS,
    UNKNOWN_RESPONSE_MS, Weights, score,
};
pub use sync::FETCH_FEED_WAIT;

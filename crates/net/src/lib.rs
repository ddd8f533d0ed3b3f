//! kith's networking: everything libp2p, nothing about storage.
//!
//! One task owns the libp2p `Swarm` ([`event_loop`]) and talks to the rest of the program
//! through a cloneable [`NetHandle`] (commands over a bounded channel, each answered on a
//! oneshot) and a bounded stream of [`NetEvent`]s (gossip to validate, fetch requests to
//! answer). The behaviour combines:
//!
//! * **Kademlia** on `/kith/kad/1.0.0`: signed feed heads as records (validated before they
//!   are stored, never replaced by a lower seq) and provider records for feeds;
//! * **gossipsub**: one topic per followed author, anonymous messages named by content id,
//!   every message validated by the application before it is forwarded;
//! * **`/kith/fetch/1.0.0`**: request-response (CBOR) for entries by seq range or by id;
//! * identify, ping, connection limits and a deny list of peers (refused both ways).
//!
//! | module | what it holds |
//! |---|---|
//! | `protocol` | protocol ids, topic and key derivation, fetch messages, limits |
//! | `behaviour` | the combined behaviour and its configuration |
//! | `event_loop` | the swarm task: commands in, events out, pending queries |

mod behaviour;
mod event_loop;
mod ip_limits;
mod nat;
pub mod protocol;
pub mod rate;
pub mod scoring;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use kith_proto::{AuthorId, FeedHead};
use libp2p::gossipsub::{IdentTopic, MessageAcceptance, MessageId};
use libp2p::identity::Keypair;
use libp2p::kad::{Mode, RecordKey};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

pub use behaviour::NAME_REQUEST_TIMEOUT;
pub use behaviour::{
    MAX_DHT_RECORDS, MAX_PROVIDED_FEEDS, RELAY_MAX_CIRCUIT_BYTES, RELAY_MAX_CIRCUIT_DURATION,
    RELAY_MAX_CIRCUITS, RELAY_MAX_RESERVATIONS, relay_config,
};
pub use event_loop::KNOWN_PEER_TTL;
pub use libp2p;
pub use nat::{RELAY_CHECK_INTERVAL, RELAY_RETRY, UNKNOWN_GRACE};
pub use protocol::{FetchRequest, FetchResponse, NameRequest, NameResponse, Topic};

/// Capacity of the command channel into the swarm task.
pub const COMMAND_QUEUE: usize = 1024;
/// Capacity of the event channel out of the swarm task. When it is full, gossip is ignored
/// (not forwarded, no penalty) and fetch requests are refused, rather than queueing without
/// bound.
pub const EVENT_QUEUE: usize = 4096;
/// Most peers on the deny list at once ([`NetHandle::deny_peers`]).
pub const MAX_DENIED_PEERS: usize = 10_000;
/// Default of [`NetConfig::max_connections_per_ip`] (go-libp2p's resource manager allows 8
/// per IPv4 address too).
pub const MAX_CONNECTIONS_PER_IP: u32 = 8;
/// Fetch requests one peer may send at once before it is held to
/// [`FETCH_RATE_REFILL`]; more are refused (the requester sees the request fail).
pub const FETCH_RATE_BURST: u32 = 256;
/// One more fetch request per peer is allowed per this long (250 a second: a catch-up at
/// full speed asks about 90 a second).
pub const FETCH_RATE_REFILL: std::time::Duration = std::time::Duration::from_millis(4);
/// Fetch requests from one peer being answered at once; more are refused, so one peer
/// cannot take all [`MAX_INBOUND_FETCHES`] places.
pub const MAX_INBOUND_FETCHES_PER_PEER: usize = 32;
/// Most inbound fetch requests waiting for the application's answer at once, from all
/// peers; more are refused (the requester retries elsewhere).
pub const MAX_INBOUND_FETCHES: usize = 256;
/// Name requests one peer may send at once before it is held to [`NAME_RATE_REFILL`].
pub const NAME_RATE_BURST: u32 = 128;
/// One more name request per peer per this long (40 a second: twice the pace at which a
/// replica hands its names over).
pub const NAME_RATE_REFILL: std::time::Duration = std::time::Duration::from_millis(25);
/// Peers whose request rates are tracked at once (see [`rate::TokenBuckets`]).
pub const MAX_RATE_PEERS: usize = 4096;

/// Network settings.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to join through; each address must end in `/p2p/<peer id>`.
    pub bootstrap: Vec<Multiaddr>,
    /// Kademlia mode: `Some(Server)` answers DHT queries, `Some(Client)` only asks, `None`
    /// is a client until AutoNAT confirms a direct address others can dial, then a server
    /// (relayed addresses do not count).
    pub kad_mode: Option<Mode>,
    /// Accept loopback and private addresses from identify into the DHT (tests and LANs).
    pub allow_private_addresses: bool,
    /// Most established connections in all.
    pub max_connections: u32,
    /// Most established connections to one peer.
    pub max_connections_per_peer: u32,
    /// Most incoming connections being set up at once.
    pub max_pending_incoming: u32,
    /// Most inbound connections (being set up or established) from one IP address; `None`:
    /// no cap.
    pub max_connections_per_ip: Option<u32>,
    /// Whether loopback addresses escape [`NetConfig::max_connections_per_ip`] (local test
    /// networks run every peer on 127.0.0.1).
    pub ip_limit_exempts_loopback: bool,
    /// Find peers on the local network with mDNS (the `home` profile): they are added to the
    /// DHT's routing table and dialled.
    pub mdns: bool,
    /// Most concurrent fetch streams per connection.
    pub max_fetch_streams: usize,
    /// Close connections idle (no open stream) this long.
    pub idle_connection_timeout: Duration,
    /// Gossipsub heartbeat.
    pub gossip_heartbeat: Duration,
    /// Whole-exchange timeout of one fetch.
    pub fetch_timeout: Duration,
    /// Timeout of one DHT query.
    pub query_timeout: Duration,
    /// How long a peer's beacon is kept after it arrived (and how old a beacon may be on
    /// arrival); a few of the publishers' intervals.
    pub beacon_ttl: Duration,
    /// Offer circuit relay v2 to other peers (public peers: the `server` profile), within
    /// [`relay_config`]'s limits.
    pub relay_server: bool,
    /// Addresses others reach this peer at that it cannot see itself (a port forwarded on
    /// the router, a VPS behind a 1:1 NAT): announced as they are, without AutoNAT.
    pub external_addrs: Vec<Multiaddr>,
    /// Answer other peers' AutoNAT v2 dial-back requests.
    pub autonat_server: bool,
    /// Most relays this peer keeps a reservation on while it cannot be reached directly;
    /// 0: never reserve.
    pub max_relay_reservations: usize,
}

impl Default for NetConfig {
    fn default() -> Self {
        Self {
            listen: Vec::new(),
            bootstrap: Vec::new(),
            kad_mode: None,
            allow_private_addresses: false,
            max_connections: 256,
            max_connections_per_peer: 2,
            max_pending_incoming: 64,
            max_connections_per_ip: Some(MAX_CONNECTIONS_PER_IP),
            ip_limit_exempts_loopback: true,
            mdns: false,
            max_fetch_streams: 64,
            idle_connection_timeout: Duration::from_secs(120),
            gossip_heartbeat: Duration::from_secs(1),
            fetch_timeout: Duration::from_secs(30),
            query_timeout: Duration::from_secs(30),
            beacon_ttl: Duration::from_secs(15 * 60),
            relay_server: false,
            external_addrs: Vec::new(),
            autonat_server: true,
            max_relay_reservations: 2,
        }
    }
}

/// Why a network operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The swarm task has stopped.
    #[error("the network task has stopped")]
    Stopped,
    /// A setting is wrong.
    #[error("network configuration: {0}")]
    Config(String),
    /// Listening failed.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Dialing failed.
    #[error("cannot dial {0}")]
    Dial(String),
    /// A fetch failed (timeout, connection closed, unsupported).
    #[error("fetch from {peer} failed: {reason}")]
    Fetch {
        /// The peer asked.
        peer: String,
        /// Why.
        reason: String,
    },
    /// Publishing on gossipsub failed for a reason other than "no peers yet".
    #[error("gossip publish failed: {0}")]
    Publish(String),
    /// A DHT operation failed.
    #[error("DHT: {0}")]
    Dht(String),
    /// Denying these peers would put more than [`MAX_DENIED_PEERS`] on the deny list;
    /// nothing was changed.
    #[error("the deny list holds {denied} peers and this would add {adding}; the limit is {limit}")]
    DenyListFull {
        /// Peers denied now.
        denied: usize,
        /// New peers the request would add.
        adding: usize,
        /// [`MAX_DENIED_PEERS`].
        limit: usize,
    },
}

/// Something the network needs the application to handle.
#[derive(Debug)]
pub enum NetEvent {
    /// A gossip message to validate; answer with [`NetHandle::report_gossip`] within a few
    /// seconds (it is not forwarded until then).
    Gossip {
        /// The peer it came from.
        source: PeerId,
        /// Its id (the entry's content id digest).
        message_id: MessageId,
        /// The topic it was published on.
        topic: String,
        /// The entry envelope.
        data: Vec<u8>,
    },
    /// A fetch request to answer; dropping `reply` refuses it.
    Fetch {
        /// The peer asking.
        peer: PeerId,
        /// What it asks for.
        request: FetchRequest,
        /// Where the answer goes.
        reply: oneshot::Sender<FetchResponse>,
    },
    /// A name-registry request to answer; dropping `reply` refuses it.
    Names {
        /// The peer asking.
        peer: PeerId,
        /// What it asks.
        request: NameRequest,
        /// Where the answer goes.
        reply: oneshot::Sender<NameResponse>,
    },
    /// A connection to a new peer was established.
    PeerConnected(PeerId),
    /// The last connection to a peer closed.
    PeerDisconnected(PeerId),
    /// The addresses at which others can reach this peer changed (an address confirmed by
    /// AutoNAT, a relay reservation accepted or lost): provider records announced before
    /// carry the old ones, so announce again what others must find us by.
    AddressesChanged,
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its id.
    pub peer_id: PeerId,
    /// The addresses of our connections to it.
    pub addrs: Vec<Multiaddr>,
}

impl PeerInfo {
    /// Whether every connection to the peer goes through a relay.
    pub fn is_relayed(&self) -> bool {
        !self.addrs.is_empty() && self.addrs.iter().all(is_relayed)
    }
}

/// Whether an address goes through a relay (`…/p2p-circuit…`).
pub fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| p == Protocol::P2pCircuit)
}

/// Whether others can dial this peer, as far as it knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReachabilityStatus {
    /// No AutoNAT verdict yet.
    Unknown,
    /// A peer dialled one of our addresses back (AutoNAT v2).
    Public,
    /// Dial-backs failed and none succeeded: we are behind a NAT or a firewall, and are
    /// reached through relays.
    Private,
}

impl ReachabilityStatus {
    /// `unknown`, `public` or `private` (the API's and the CLI's word).
    pub fn as_str(self) -> &'static str {
        match self {
            ReachabilityStatus::Unknown => "unknown",
            ReachabilityStatus::Public => "public",
            ReachabilityStatus::Private => "private",
        }
    }
}

/// The gist of [`Reachability`], read without asking the swarm task (for metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReachabilitySummary {
    /// The verdict.
    pub status: ReachabilityStatus,
    /// How many direct external addresses peers dialled back.
    pub direct_addrs: usize,
    /// How many addresses through relays hold a reservation for us.
    pub relay_addrs: usize,
}

/// What this peer knows of its own reachability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reachability {
    /// The verdict.
    pub status: ReachabilityStatus,
    /// Our direct addresses that other peers dialled back (AutoNAT v2).
    pub external_addrs: Vec<Multiaddr>,
    /// Our addresses through relays that hold a reservation for us.
    pub relay_addrs: Vec<Multiaddr>,
    /// AutoNAT dial-backs of our addresses that succeeded.
    pub probes_ok: u64,
    /// AutoNAT dial-backs of our addresses that failed.
    pub probes_failed: u64,
    /// Relayed connections that hole punching turned into direct ones.
    pub hole_punches: u64,
    /// Hole punching attempts that failed (the connection stays relayed).
    pub hole_punch_failures: u64,
    /// Whether this peer answers DHT queries (Kademlia server mode).
    pub dht_server: bool,
    /// Whether this peer relays for others.
    pub relay_server: bool,
}

pub(crate) enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Dial(Multiaddr, oneshot::Sender<Result<(), NetError>>),
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    Reachability(oneshot::Sender<Reachability>),
    Subscribe(IdentTopic, oneshot::Sender<Result<(), NetError>>),
    Unsubscribe(IdentTopic),
    Publish(IdentTopic, Vec<u8>, oneshot::Sender<Result<bool, NetError>>),
    Report(MessageId, PeerId, MessageAcceptance),
    PutHead(FeedHead, oneshot::Sender<Result<(), NetError>>),
    /// The bool: answer at the first remote answer (the query goes on for read repair).
    GetHead(
        AuthorId,
        bool,
        oneshot::Sender<Result<Option<FeedHead>, NetError>>,
    ),
    Provide(RecordKey, oneshot::Sender<Result<(), NetError>>),
    FindProviders(RecordKey, oneshot::Sender<Result<Vec<PeerId>, NetError>>),
    Fetch(
        PeerId,
        FetchRequest,
        oneshot::Sender<Result<FetchResponse, NetError>>,
    ),
    MeshPeers(IdentTopic, oneshot::Sender<Vec<PeerId>>),
    GossipScore(PeerId, oneshot::Sender<Option<f64>>),
    Names(
        PeerId,
        NameRequest,
        oneshot::Sender<Result<NameResponse, NetError>>,
    ),
    ClosestPeers(
        Vec<u8>,
        usize,
        oneshot::Sender<Result<Vec<PeerId>, NetError>>,
    ),
    DenyPeers(Vec<PeerId>, oneshot::Sender<Result<Vec<PeerId>, NetError>>),
    AllowPeers(Vec<PeerId>, oneshot::Sender<Vec<PeerId>>),
    AllowAll(oneshot::Sender<Vec<PeerId>>),
    DeniedPeers(oneshot::Sender<Vec<PeerId>>),
    TopicPeers(IdentTopic, oneshot::Sender<Vec<PeerId>>),
    Statuses(oneshot::Sender<StatusTable>),
    Shutdown(oneshot::Sender<()>),
}

/// The gossip topic of status beacons (`kith_proto::beacon`); every node joins it.
pub const BEACON_TOPIC: &str = "b1/status";

/// Most beacons kept, one per peer; a new peer's beacon then replaces the one heard longest
/// ago.
pub const MAX_BEACONS: usize = 1024;

/// What this node knows of one peer's state: its latest beacon and the round trip measured
/// to it.
#[derive(Debug, Clone)]
pub struct PeerStatus {
    /// The peer.
    pub peer: PeerId,
    /// Its latest valid beacon, if one arrived within the beacon lifetime.
    pub beacon: Option<kith_proto::beacon::Beacon>,
    /// How long ago that beacon arrived.
    pub beacon_age: Option<Duration>,
    /// The latest ping round trip, while connected.
    pub rtt: Option<Duration>,
}

/// Every peer with a live beacon or a measured round trip, and how many beacons were refused.
#[derive(Debug, Clone, Default)]
pub struct StatusTable {
    /// One per peer.
    pub peers: Vec<PeerStatus>,
    /// Beacons refused since start: invalid, forged, or signed by another node than the one
    /// that published them.
    pub beacons_refused: u64,
}

/// A cloneable handle to the swarm task.
#[derive(Clone)]
pub struct NetHandle {
    peer_id: PeerId,
    commands: mpsc::Sender<Command>,
    deny_stats: Arc<DenyStats>,
    ingress: Arc<IngressStats>,
    nat_stats: Arc<nat::NatStats>,
}

/// Inbound requests and connections refused by the per-peer and per-IP limits since start.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Throttled {
    /// Fetch requests refused: over the peer's rate, or too many of its requests at once.
    pub fetch: u64,
    /// Name requests refused over the peer's rate.
    pub names: u64,
    /// Inbound connections refused because their IP address had
    /// [`NetConfig::max_connections_per_ip`] already.
    pub connections_per_ip: u64,
}

/// The counters behind [`Throttled`], written by the swarm task.
#[derive(Debug, Default)]
pub(crate) struct IngressStats {
    pub(crate) fetch: AtomicU64,
    pub(crate) names: AtomicU64,
    pub(crate) refused_per_ip: AtomicU64,
}

/// Figures of the deny list, written by the swarm task, read by handles without a round trip.
#[derive(Debug, Default)]
pub(crate) struct DenyStats {
    /// Peers on the list.
    pub(crate) peers: AtomicUsize,
    /// Connections with denied peers refused since start.
    pub(crate) refused: AtomicU64,
}

impl NetHandle {
    /// This peer's id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// What the per-peer and per-IP limits refused since start.
    pub fn throttled(&self) -> Throttled {
        Throttled {
            fetch: self.ingress.fetch.load(Ordering::Relaxed),
            names: self.ingress.names.load(Ordering::Relaxed),
            connections_per_ip: self.ingress.refused_per_ip.load(Ordering::Relaxed),
        }
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(make(reply))
            .await
            .map_err(|_| NetError::Stopped)?;
        answer.await.map_err(|_| NetError::Stopped)
    }

    /// The addresses we listen on, each ending in `/p2p/<our peer id>`.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, NetError> {
        self.ask(Command::ListenAddrs).await
    }

    /// Dials an address (`/p2p/<id>` at the end is recommended); returns once dialing
    /// started.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), NetError> {
        self.ask(|r| Command::Dial(addr, r)).await?
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, NetError> {
        self.ask(Command::Peers).await
    }

    /// The reachability verdict and address counts as of the last change, without a round
    /// trip to the swarm task.
    pub fn reachability_summary(&self) -> ReachabilitySummary {
        self.nat_stats.summary()
    }

    /// Whether others can reach this peer, and how.
    pub async fn reachability(&self) -> Result<Reachability, NetError> {
        self.ask(Command::Reachability).await
    }

    /// Subscribes to `author`'s feed topic.
    pub async fn subscribe(&self, author: AuthorId) -> Result<(), NetError> {
        self.subscribe_to(&Topic::Feed(author)).await
    }

    /// Leaves `author`'s feed topic.
    pub async fn unsubscribe(&self, author: AuthorId) -> Result<(), NetError> {
        self.unsubscribe_from(&Topic::Feed(author)).await
    }

    /// Publishes an entry envelope on `author`'s feed topic. `Ok(false)` when no subscribed
    /// peer is connected yet (normal; followers catch up by fetch) or it was already sent.
    pub async fn publish(&self, author: AuthorId, envelope: Vec<u8>) -> Result<bool, NetError> {
        self.publish_on(&Topic::Feed(author), envelope).await
    }

    /// Subscribes to a topic (a feed, an inbox, a tag, the public stream).
    pub async fn subscribe_to(&self, topic: &Topic) -> Result<(), NetError> {
        let topic = topic.ident();
        self.ask(|r| Command::Subscribe(topic, r)).await?
    }

    /// Leaves a topic.
    pub async fn unsubscribe_from(&self, topic: &Topic) -> Result<(), NetError> {
        self.commands
            .send(Command::Unsubscribe(topic.ident()))
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Publishes an entry envelope on a topic; `Ok(false)` as for [`publish`](Self::publish).
    pub async fn publish_on(&self, topic: &Topic, envelope: Vec<u8>) -> Result<bool, NetError> {
        let topic = topic.ident();
        self.ask(|r| Command::Publish(topic, envelope, r)).await?
    }

    /// Publishes this node's status beacon (signed with its node key) to every node;
    /// `Ok(false)` when no peer listens yet.
    pub async fn publish_beacon(
        &self,
        beacon: &kith_proto::beacon::Beacon,
    ) -> Result<bool, NetError> {
        let topic = IdentTopic::new(BEACON_TOPIC);
        let bytes = beacon.encode().to_vec();
        self.ask(|r| Command::Publish(topic, bytes, r)).await?
    }

    /// Publishes raw bytes on the beacon topic, as a forger would: for tests of the checks
    /// peers apply.
    #[doc(hidden)]
    pub async fn publish_beacon_bytes(&self, bytes: Vec<u8>) -> Result<bool, NetError> {
        let topic = IdentTopic::new(BEACON_TOPIC);
        self.ask(|r| Command::Publish(topic, bytes, r)).await?
    }

    /// The peers' beacons and round trips this node knows of.
    pub async fn statuses(&self) -> Result<StatusTable, NetError> {
        self.ask(Command::Statuses).await
    }

    /// Connected peers known to be subscribed to a topic.
    pub async fn peers_on(&self, topic: &Topic) -> Result<Vec<PeerId>, NetError> {
        let topic = topic.ident();
        self.ask(|r| Command::TopicPeers(topic, r)).await
    }

    /// Reports the application's verdict on a gossip message: `Accept` forwards it,
    /// `Reject` drops it (and would penalise the sender once peer scoring is on), `Ignore`
    /// drops it quietly.
    pub async fn report_gossip(
        &self,
        message_id: MessageId,
        source: PeerId,
        verdict: MessageAcceptance,
    ) -> Result<(), NetError> {
        self.commands
            .send(Command::Report(message_id, source, verdict))
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Stores a signed head locally and on the DHT peers closest to its key.
    pub async fn put_head(&self, head: FeedHead) -> Result<(), NetError> {
        self.ask(|r| Command::PutHead(head, r)).await?
    }

    /// Looks an author's head up on the DHT: every answer is validated, the highest seq
    /// wins, and peers that answered with an older head are sent the newest one.
    pub async fn get_head(&self, author: AuthorId) -> Result<Option<FeedHead>, NetError> {
        self.ask(|r| Command::GetHead(author, false, r)).await?
    }

    /// Like [`get_head`](Self::get_head), but answers as soon as one remote peer has answered
    /// with a valid head: the best of that answer and this peer's own copy. The query goes on
    /// in the background, so stale copies are still repaired and the newest head cached here.
    /// A newer head held only by peers that answer later is missed; the answer is
    /// `Ok(None)` only after the whole query found nothing.
    pub async fn get_head_quick(&self, author: AuthorId) -> Result<Option<FeedHead>, NetError> {
        self.ask(|r| Command::GetHead(author, true, r)).await?
    }

    /// Announces this peer as a holder of `author`'s feed.
    pub async fn provide(&self, author: AuthorId) -> Result<(), NetError> {
        let key = protocol::provider_key(&author);
        self.ask(|r| Command::Provide(key, r)).await?
    }

    /// Announces this peer as a follower of a (normalized) hashtag.
    pub async fn provide_tag(&self, tag: &str) -> Result<(), NetError> {
        let key = protocol::tag_provider_key(tag);
        self.ask(|r| Command::Provide(key, r)).await?
    }

    /// Peers that follow a (normalized) hashtag (ourselves excluded), dialled as found.
    pub async fn find_tag_followers(&self, tag: &str) -> Result<Vec<PeerId>, NetError> {
        let key = protocol::tag_provider_key(tag);
        self.ask(|r| Command::FindProviders(key, r)).await?
    }

    /// Peers that hold `author`'s feed (ourselves excluded). They are dialled as they are
    /// found, so a fetch or a gossip mesh can follow.
    pub async fn find_providers(&self, author: AuthorId) -> Result<Vec<PeerId>, NetError> {
        let key = protocol::provider_key(&author);
        self.ask(|r| Command::FindProviders(key, r)).await?
    }

    /// Sends a fetch request and waits for the answer (unverified: check every entry).
    pub async fn fetch(
        &self,
        peer: PeerId,
        request: FetchRequest,
    ) -> Result<FetchResponse, NetError> {
        self.ask(|r| Command::Fetch(peer, request, r)).await?
    }

    /// Sends a name-registry request and waits for the answer (unverified: check any claim
    /// in it).
    pub async fn name_request(
        &self,
        peer: PeerId,
        request: NameRequest,
    ) -> Result<NameResponse, NetError> {
        self.ask(|r| Command::Names(peer, request, r)).await?
    }

    /// The `count` peers closest to a DHT key (1 to 20), this peer included if it is among
    /// them, closest first. An iterative DHT query that ends once the `count` closest peers
    /// it knows of have answered without naming closer ones: for a handful of peers that is
    /// a few requests, not one to every peer of a small network.
    pub async fn closest_peers(&self, key: Vec<u8>, count: usize) -> Result<Vec<PeerId>, NetError> {
        self.ask(|r| Command::ClosestPeers(key, count, r)).await?
    }

    /// Peers in our gossip mesh for `author`'s topic.
    pub async fn mesh_peers(&self, author: AuthorId) -> Result<Vec<PeerId>, NetError> {
        let topic = Topic::Feed(author).ident();
        self.ask(|r| Command::MeshPeers(topic, r)).await
    }

    /// Our gossipsub score of `peer` ([`scoring`]): below [`scoring::GRAYLIST_THRESHOLD`]
    /// everything it sends on gossip is ignored. `None` for a peer gossipsub has no record of.
    pub async fn gossip_score(&self, peer: PeerId) -> Result<Option<f64>, NetError> {
        self.ask(|r| Command::GossipScore(peer, r)).await
    }

    /// Connected peers known to be subscribed to `author`'s topic.
    pub async fn topic_peers(&self, author: AuthorId) -> Result<Vec<PeerId>, NetError> {
        self.peers_on(&Topic::Feed(author)).await
    }

    /// Puts peers on the deny list: their connections are closed at once, and every new
    /// connection with them, dialled by either side, is refused after the handshake. We do
    /// not dial them (DHT queries, fetches and provider lookups skip them). Our own id is
    /// ignored; peers already denied stay denied. Fails with [`NetError::DenyListFull`],
    /// changing nothing, if the list would hold more than [`MAX_DENIED_PEERS`]. Returns
    /// every peer denied now.
    ///
    /// The list lives in memory only: a restarted node denies no one.
    pub async fn deny_peers(&self, peers: Vec<PeerId>) -> Result<Vec<PeerId>, NetError> {
        self.ask(|r| Command::DenyPeers(peers, r)).await?
    }

    /// Takes peers off the deny list (peers not on it are skipped) and dials those whose
    /// addresses are known (from identify before they were denied, or the DHT routing
    /// table), then starts a DHT bootstrap, so a healed partition reconnects within
    /// seconds. Returns every peer still denied.
    pub async fn allow_peers(&self, peers: Vec<PeerId>) -> Result<Vec<PeerId>, NetError> {
        self.ask(|r| Command::AllowPeers(peers, r)).await
    }

    /// Empties the deny list, redialling as [`allow_peers`](Self::allow_peers) does.
    /// Returns the peers that were denied.
    pub async fn allow_all(&self) -> Result<Vec<PeerId>, NetError> {
        self.ask(Command::AllowAll).await
    }

    /// The peers on the deny list.
    pub async fn denied_peers(&self) -> Result<Vec<PeerId>, NetError> {
        self.ask(Command::DeniedPeers).await
    }

    /// Connections with denied peers refused since start: inbound ones refused after the
    /// handshake, and our own dials refused before they went out.
    pub fn denied_connections(&self) -> u64 {
        self.deny_stats.refused.load(Ordering::Relaxed)
    }

    /// How many peers are on the deny list (without a round trip to the swarm task).
    pub fn denied_count(&self) -> usize {
        self.deny_stats.peers.load(Ordering::Relaxed)
    }

    /// Stops the swarm task (closes listeners and connections).
    pub async fn shutdown(&self) -> Result<(), NetError> {
        self.ask(Command::Shutdown).await
    }
}

/// Starts the network: builds the swarm, listens, dials the bootstrap peers, and spawns the
/// swarm task on the current tokio runtime. Returns once every listen address is bound.
pub async fn start(
    key: Keypair,
    config: NetConfig,
) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    // Boxed: the swarm (with its behaviours) is built inside, a large future otherwise.
    Box::pin(event_loop::start(key, config, None)).await
}

/// Like [`start`], and records libp2p's own metrics (swarm connections and dials, kad
/// queries, gossipsub messages, identify, ping round trips) into `registry`, under the
/// prefix `libp2p_`. Gossipsub's per-topic families are left out on purpose: topics are
/// followed feeds, and one series per topic would both leak the follow list to whoever
/// scrapes and grow without bound.
pub async fn start_with_metrics(
    key: Keypair,
    config: NetConfig,
    registry: &mut prometheus_client::registry::Registry,
) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    let metrics = libp2p::metrics::Metrics::new(registry);
    Box::pin(event_loop::start(key, config, Some(metrics))).await
}

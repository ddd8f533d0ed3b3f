//! The node handle and its flows.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kith_net::libp2p::gossipsub::MessageAcceptance;
use kith_net::libp2p::kad::Mode;
use kith_net::libp2p::{Multiaddr, PeerId, identity};
use kith_net::protocol::feed_topic;
use kith_net::{NetConfig, NetError, NetEvent, NetHandle};
use kith_proto::limits::MAX_TEXT_BYTES;
use kith_proto::{
    AuthorId, Body, ContentId, Draft, Entry, FeedHead, Keypair, VerifiedEntry, sign_entry,
};
use kith_store::{AppendOutcome, Store};
use tokio::sync::{Mutex, Semaphore, broadcast, watch};
use tracing::{debug, info, warn};

use crate::NodeError;
use crate::metrics::Source;
use crate::sync;

/// Capacity of the event broadcast to API clients; a client that falls further behind
/// misses events (and is told so by the broadcast's `Lagged`).
pub const EVENT_BROADCAST_CAPACITY: usize = 4096;
/// Most received entries being stored at once; the network task waits beyond that.
pub const MAX_APPENDS_IN_FLIGHT: usize = 1024;
/// Most feeds caught up at once (each costs DHT queries and fetches).
pub const MAX_CATCH_UPS: usize = 8;
/// How long a new head waits before it goes on the DHT, so that a burst of posts costs one
/// DHT write.
pub const HEAD_ANNOUNCE_DELAY: Duration = Duration::from_millis(500);
/// Longest a post waits for the start-up catch-up of the node's own feed.
const SELF_SYNC_WAIT: Duration = Duration::from_secs(10);
/// Most DHT head lookups through [`Node::lookup_head`] running at once; more wait for a
/// turn (each is one DHT query).
pub const MAX_HEAD_LOOKUPS: usize = 64;

/// Most authors one identity follows: the gossip topic limit, less the topics every node
/// keeps for itself (its own feed, its inbox, the public stream, followed hashtags).
pub const MAX_FOLLOWS: usize = kith_net::protocol::MAX_TOPICS - 3 - crate::reach::MAX_FOLLOWED_TAGS;

/// How a node is run; sets network defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// A peer at home: DHT mode follows reachability, private addresses allowed (LAN).
    #[default]
    Home,
    /// A reachable server: DHT server, only public addresses go into the DHT.
    Server,
    /// Local testing: DHT server, loopback addresses allowed, fast gossip heartbeat, fast
    /// periodic sync.
    Test,
}

/// Node settings.
#[derive(Debug, Clone, Default)]
pub struct NodeConfig {
    /// Multiaddrs to listen on.
    pub listen: Vec<String>,
    /// Multiaddrs of peers to join through (ending in `/p2p/<peer id>`).
    pub bootstrap: Vec<String>,
    /// Multiaddrs others reach this node at that it cannot see itself (a forwarded port);
    /// announced without AutoNAT.
    pub external: Vec<String>,
    /// Relay for peers behind NATs; `None` takes the profile's default (the `server`
    /// profile relays).
    pub relay_server: Option<bool>,
    /// How the node is run.
    pub profile: Profile,
    /// How often every followed feed is checked for entries gossip did not bring; `None`
    /// takes the profile's default (5 minutes; 15 seconds in the test profile).
    pub sync_interval: Option<Duration>,
    /// Where bridge feeds keep their keys and state (`crate::bridge`); `None` disables
    /// bridges ([`Node::follow_feed`] fails with [`NodeError::BridgesDisabled`]).
    pub bridge_dir: Option<std::path::PathBuf>,
    /// How bridges poll their feeds; `None` takes the profile's default (every 30 minutes,
    /// at most once a minute; every second in the test profile).
    pub bridge_poll: Option<kith_feeds::PollConfig>,
    /// Replica set size and quorums of the name registry; `None` takes N = 5, W = R = 3.
    /// Every peer of a network must use the same values.
    pub name_quorum: Option<crate::names::NameQuorum>,
    /// How often held name claims are handed to their current replicas; `None` takes the
    /// profile's default (10 minutes; 30 seconds in the test profile).
    pub name_replication: Option<Duration>,
    /// How fetch hosts are scored, and what the status beacon says.
    pub routing: crate::routing::RoutingConfig,
}

/// Something API clients want to hear about.
#[derive(Debug, Clone)]
pub enum NodeEvent {
    /// An entry was stored (posted here, or received and verified).
    Entry {
        /// The entry.
        entry: Entry,
        /// Posted through this node.
        local: bool,
    },
    /// A received entry is a notification for the hosted identity.
    Notification {
        /// `reply`, `mention`, `reaction`, `repost` or `follow`.
        kind: &'static str,
        /// The entry.
        entry: Entry,
    },
}

/// A connected peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Its peer id.
    pub peer_id: String,
    /// Addresses of our connections to it.
    pub addrs: Vec<String>,
    /// Whether every connection to it goes through a relay (no direct one yet).
    pub relayed: bool,
}

/// A snapshot of the node's state.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    /// The hosted identity.
    pub author: AuthorId,
    /// The node's peer id.
    pub peer_id: String,
    /// Connected peers.
    pub peers: usize,
    /// Entries stored (all feeds).
    pub entries: u64,
    /// Authors followed.
    pub following: usize,
    /// Entries waiting for a predecessor.
    pub pending: u64,
    /// The store's change counter.
    pub revision: u64,
    /// Seconds since start.
    pub uptime_s: u64,
    /// Fetch requests sent since start.
    pub fetch_requests: u64,
    /// Feeds being caught up right now.
    pub syncing: usize,
    /// Gossip messages rejected as invalid since start.
    pub gossip_rejected: u64,
    /// Gossip messages dropped without judgement since start: from blocked authors, or
    /// another author's entries that concern nothing held here.
    pub gossip_ignored: u64,
    /// Entries in fetch responses rejected as invalid (or of the wrong feed) since start.
    pub fetch_rejected: u64,
    /// Peers on the deny list.
    pub denied_peers: usize,
    /// Fetch requests received from peers since start.
    pub fetches_served: u64,
    /// Connections with denied peers refused since start.
    pub denied_connections: u64,
    /// Whether others can reach this node, and how (AutoNAT, relays, hole punching).
    pub reachability: kith_net::Reachability,
}

/// The answer of a DHT head lookup ([`Node::lookup_head`]).
#[derive(Debug, Clone)]
pub struct HeadLookup {
    /// The valid head with the highest seq found, if any.
    pub head: Option<FeedHead>,
    /// How long the DHT lookup took (not counting a wait for a turn).
    pub elapsed: Duration,
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) keypair: Keypair,
    pub(crate) author: AuthorId,
    pub(crate) net: NetHandle,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    publish_lock: Mutex<()>,
    pub(crate) started: Instant,
    provided_self: AtomicBool,
    /// The newest head not yet put on the DHT, and whether an announcer task runs.
    head_to_announce: std::sync::Mutex<Option<(u64, kith_proto::ContentId)>>,
    announcing: AtomicBool,
    /// Feeds being caught up now (a std mutex: held only to insert or remove).
    pub(crate) syncing: std::sync::Mutex<HashSet<AuthorId>>,
    pub(crate) fetch_requests: AtomicU64,
    pub(crate) fetch_rejected: AtomicU64,
    gossip_rejected: AtomicU64,
    gossip_ignored: AtomicU64,
    appends: Arc<Semaphore>,
    /// Head lookups asked for through [`Node::lookup_head`] running at once.
    head_lookups: Semaphore,
    /// Catch-ups running at once (each is a few DHT queries and fetches).
    pub(crate) catch_ups: Arc<Semaphore>,
    /// When each feed last grew from the network: the periodic catch-up skips feeds that
    /// gossip keeps current.
    pub(crate) last_heard: std::sync::Mutex<std::collections::HashMap<AuthorId, Instant>>,
    /// Feeds we announced as provider in this run (kad republishes them itself).
    pub(crate) provided: std::sync::Mutex<HashSet<AuthorId>>,
    /// Authors blocked here (a copy of the store's list, read on every gossip message).
    pub(crate) blocked: std::sync::RwLock<HashSet<AuthorId>>,
    /// When threads were last refreshed from peers.
    pub(crate) thread_refreshes: std::sync::Mutex<crate::social::Refreshes>,
    /// Avatar fetches in flight.
    pub(crate) blob_fetches: crate::profile::BlobFetches,
    /// Our inbox topic's hash string.
    pub(crate) inbox_topic: String,
    /// Followed hashtags by their topic's hash string.
    pub(crate) tag_topics: std::sync::RwLock<std::collections::HashMap<String, String>>,
    /// Whether the public timeline is on.
    pub(crate) public_on: AtomicBool,
    /// Replica set size and quorums of the name registry.
    pub(crate) name_quorum: crate::names::NameQuorum,
    /// Per-author bound on entries from inbox, tag and public topics.
    pub(crate) rate_limiter: std::sync::Mutex<crate::reach::RateLimiter>,
    /// Set once the start-up catch-up of our own feed is over: posting waits for it, so a
    /// node started on an old copy of its store never reuses a seq it already published.
    self_synced: watch::Sender<bool>,
    pub(crate) stop: watch::Sender<bool>,
    /// The bridge feeds run here.
    pub(crate) bridges: crate::bridge::Bridges,
    /// The node key (the libp2p identity's secret), which signs status beacons.
    pub(crate) node_key: Keypair,
    /// How hosts are scored; the beacon's settings.
    pub(crate) routing_config: crate::routing::RoutingConfig,
    /// What this node observed of hosts, of its own serving and of its lag.
    pub(crate) routing: crate::routing::Routing,
    /// Fetch requests received from peers since start.
    pub(crate) fetches_served: AtomicU64,
    /// Prometheus metrics (libp2p's and ours).
    pub(crate) metrics: crate::metrics::Metrics,
}

/// A running node. Cloning is cheap; every clone drives the same node.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn parse_addrs(what: &str, addrs: &[String]) -> Result<Vec<Multiaddr>, NodeError> {
    addrs
        .iter()
        .map(|a| {
            a.parse::<Multiaddr>().map_err(|e| {
                NodeError::Config(format!("{what} address `{a}` is not a multiaddr: {e}"))
            })
        })
        .collect()
}

/// Parses peer ids (all of them, before anything is done with any).
fn parse_peer_ids(peers: &[String]) -> Result<Vec<PeerId>, NodeError> {
    peers
        .iter()
        .map(|text| {
            text.parse::<PeerId>()
                .map_err(|error| NodeError::InvalidPeerId {
                    peer: text.clone(),
                    reason: error.to_string(),
                })
        })
        .collect()
}

/// Peer ids as text, sorted as text.
fn peer_texts(peers: Vec<PeerId>) -> Vec<String> {
    let mut texts: Vec<String> = peers.iter().map(ToString::to_string).collect();
    texts.sort_unstable();
    texts
}

impl Node {
    /// Starts the network, announces the local feed and starts catching up with every
    /// followed author. `node_key` is the 32-byte secret of the libp2p identity (separate
    /// from the author key).
    pub async fn start(
        config: NodeConfig,
        store: Store,
        author: Keypair,
        node_key: [u8; 32],
    ) -> Result<Node, NodeError> {
        let mut net_config = NetConfig {
            listen: parse_addrs("listen", &config.listen)?,
            bootstrap: parse_addrs("bootstrap", &config.bootstrap)?,
            external_addrs: parse_addrs("external", &config.external)?,
            ..NetConfig::default()
        };
        match config.profile {
            Profile::Home => {
                net_config.kad_mode = None;
                net_config.allow_private_addresses = true;
                // Peers in the same home find each other without any bootstrap address.
                net_config.mdns = true;
            }
            Profile::Server => {
                net_config.kad_mode = Some(Mode::Server);
                // Public peers relay for those behind NATs (within kith_net::relay_config).
                net_config.relay_server = true;
            }
            Profile::Test => {
                net_config.kad_mode = Some(Mode::Server);
                net_config.allow_private_addresses = true;
                // Faster than the 1 s default so meshes form quickly in tests, but not much:
                // every heartbeat walks every subscribed topic, and with 10,000 follows a
                // 200 ms heartbeat alone cost 1.5 % of a core on an idle peer.
                net_config.gossip_heartbeat = Duration::from_millis(500);
            }
        }
        if let Some(relay) = config.relay_server {
            net_config.relay_server = relay;
        }
        config.routing.weights.check().map_err(NodeError::Config)?;
        if let Some(geohash) = &config.routing.geohash {
            kith_proto::beacon::check_geohash(geohash)
                .map_err(|e| NodeError::Config(e.to_string()))?;
        }
        let beacon_interval = config
            .routing
            .beacon_interval
            .unwrap_or(match config.profile {
                Profile::Test => Duration::from_secs(1),
                _ => Duration::from_secs(60),
            });
        // A beacon lives a few intervals: one lost message does not make a host unknown.
        net_config.beacon_ttl = (beacon_interval * 5).max(Duration::from_secs(10));
        let beacon_key = Keypair::from_seed(&node_key);
        let key = identity::Keypair::ed25519_from_bytes(node_key)
            .map_err(|e| NodeError::Config(format!("node key: {e}")))?;
        let mut registry = prometheus_client::registry::Registry::default();
        let (net, net_events) =
            kith_net::start_with_metrics(key, net_config, &mut registry).await?;

        let author_id = author.author();
        {
            let store = store.clone();
            tokio::task::spawn_blocking(move || store.add_local_identity(author_id))
                .await
                .map_err(|_| NodeError::Stopped)??;
        }
        let name_quorum = config.name_quorum.unwrap_or_default();
        name_quorum.check()?;
        let store_blocked: HashSet<AuthorId> = store.blocked()?.into_iter().collect();
        let store_public = store.public_timeline_enabled()?;
        let followed_tags = store.followed_tags()?;
        let (events, _) = broadcast::channel(EVENT_BROADCAST_CAPACITY);
        let (stop, _) = watch::channel(false);
        let node = Node {
            inner: Arc::new(Inner {
                store,
                keypair: author,
                author: author_id,
                net,
                events,
                publish_lock: Mutex::new(()),
                started: Instant::now(),
                provided_self: AtomicBool::new(false),
                head_to_announce: std::sync::Mutex::new(None),
                announcing: AtomicBool::new(false),
                syncing: std::sync::Mutex::new(HashSet::new()),
                fetch_requests: AtomicU64::new(0),
                fetch_rejected: AtomicU64::new(0),
                gossip_rejected: AtomicU64::new(0),
                gossip_ignored: AtomicU64::new(0),
                appends: Arc::new(Semaphore::new(MAX_APPENDS_IN_FLIGHT)),
                head_lookups: Semaphore::new(MAX_HEAD_LOOKUPS),
                catch_ups: Arc::new(Semaphore::new(MAX_CATCH_UPS)),
                provided: std::sync::Mutex::new(HashSet::new()),
                blocked: std::sync::RwLock::new(store_blocked),
                thread_refreshes: std::sync::Mutex::new(Default::default()),
                blob_fetches: Default::default(),
                inbox_topic: kith_net::Topic::Inbox(author_id).ident().hash().to_string(),
                tag_topics: Default::default(),
                public_on: AtomicBool::new(store_public),
                rate_limiter: Default::default(),
                name_quorum,
                last_heard: std::sync::Mutex::new(std::collections::HashMap::new()),
                self_synced: watch::channel(false).0,
                stop,
                bridges: crate::bridge::Bridges::new(
                    config.bridge_dir.clone(),
                    config
                        .bridge_poll
                        .clone()
                        .unwrap_or_else(|| crate::bridge::default_poll_config(config.profile)),
                ),
                node_key: beacon_key,
                routing_config: config.routing.clone(),
                routing: Default::default(),
                fetches_served: AtomicU64::new(0),
                metrics: crate::metrics::Metrics::new(registry),
            }),
        };
        node.inner
            .metrics
            .add_node_collector(Arc::downgrade(&node.inner));
        info!("node {} for {}", node.peer_id(), author_id);

        tokio::spawn(node.clone().run_events(net_events));
        // First make sure we hold our own whole feed (a store restored from an old backup
        // must not reuse seqs the network has seen), then announce it; catch up with
        // everyone we follow meanwhile.
        {
            let node = node.clone();
            tokio::spawn(async move {
                sync::catch_up_own_feed(&node).await;
                node.inner.self_synced.send_replace(true);
                if let Ok(Some(head)) = node.inner.store.head(&node.inner.author) {
                    node.announce_head(head.seq, head.id);
                }
            });
        }
        // Our own topic too: replies, reactions and reposts of our entries are sent there
        // (complete threads: the author holds and serves every reply it was online for).
        if let Err(e) = node.inner.net.subscribe(author_id).await {
            warn!("cannot subscribe to our own topic: {e}");
        }
        // Mentions of us by anyone, and the hashtags and public stream we follow.
        if let Err(e) = node
            .inner
            .net
            .subscribe_to(&kith_net::Topic::Inbox(author_id))
            .await
        {
            warn!("cannot subscribe to our inbox: {e}");
        }
        for tag in followed_tags {
            if let Err(e) = node.listen_to_tag(&tag).await {
                warn!("cannot follow #{tag}: {e}");
            }
        }
        if store_public && let Err(e) = node.inner.net.subscribe_to(&kith_net::Topic::Public).await
        {
            warn!("cannot join the public stream: {e}");
        }
        for subject in node.inner.store.following(&author_id)? {
            if let Err(e) = node.inner.net.subscribe(subject).await {
                warn!("cannot subscribe to {subject}: {e}");
            }
            sync::spawn_catch_up(&node, subject, None);
        }
        let interval = config.sync_interval.unwrap_or(match config.profile {
            Profile::Test => Duration::from_secs(15),
            _ => Duration::from_secs(300),
        });
        crate::resync::spawn(&node, interval);
        let replication = config.name_replication.unwrap_or(match config.profile {
            Profile::Test => Duration::from_secs(30),
            _ => crate::names::REPLICATION_INTERVAL,
        });
        crate::names::spawn_replication(&node, replication);
        crate::routing::spawn_beacons(&node, beacon_interval);
        crate::bridge::resume(&node);
        Ok(node)
    }

    /// Answers one fetch request, timing it for the beacon (and applying the test-only
    /// fault, if one is set).
    async fn answer_fetch(
        &self,
        peer: kith_net::libp2p::PeerId,
        request: kith_net::FetchRequest,
        reply: tokio::sync::oneshot::Sender<kith_net::FetchResponse>,
    ) {
        let started = Instant::now();
        if let Some(fault) = self.inner.routing_config.serve_fault {
            tokio::time::sleep(fault.delay).await;
            if fault.fail {
                self.inner.routing.observe_serving(started.elapsed(), false);
                self.inner.metrics.fetch_served(started.elapsed(), false);
                return;
            }
        }
        let store = self.inner.store.clone();
        let answered =
            tokio::task::spawn_blocking(move || sync::serve_fetch(&store, request)).await;
        let ok = match answered {
            Ok(Ok(response)) => reply.send(response).is_ok(),
            Ok(Err(e)) => {
                debug!("cannot answer fetch from {peer}: {e}");
                false
            }
            Err(_) => false,
        };
        self.inner.routing.observe_serving(started.elapsed(), ok);
        self.inner.metrics.fetch_served(started.elapsed(), ok);
    }

    /// Every metric (libp2p's and this node's) in the OpenMetrics text format, as served at
    /// `GET /metrics`. Reads the store: call it off the async threads (`spawn_blocking`).
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.encode()
    }

    /// Records one HTTP API request (the API server calls this for every answer). `route`
    /// is the route template (`/api/v1/entries/{id}`), never the raw path.
    pub fn record_api_request(
        &self,
        method: &str,
        route: &str,
        status: u16,
        elapsed: std::time::Duration,
    ) {
        self.inner
            .metrics
            .api_request(method, route, status, elapsed);
    }

    /// The hosted identity.
    pub fn author(&self) -> AuthorId {
        self.inner.author
    }

    /// The node's libp2p peer id.
    pub fn peer_id(&self) -> String {
        self.inner.net.peer_id().to_string()
    }

    /// The store (for reads).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Full listen multiaddrs, each ending in `/p2p/<peer id>`.
    pub async fn listen_addrs(&self) -> Result<Vec<String>, NodeError> {
        Ok(self
            .inner
            .net
            .listen_addrs()
            .await?
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    /// Connected peers.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, NodeError> {
        Ok(self
            .inner
            .net
            .peers()
            .await?
            .into_iter()
            .map(|p| PeerInfo {
                relayed: p.is_relayed(),
                peer_id: p.peer_id.to_string(),
                addrs: p.addrs.iter().map(ToString::to_string).collect(),
            })
            .collect())
    }

    /// Dials a peer (a multiaddr ending in `/p2p/<peer id>`).
    pub async fn connect(&self, addr: &str) -> Result<(), NodeError> {
        let addr = addr
            .parse::<Multiaddr>()
            .map_err(|e| NodeError::Invalid(format!("`{addr}` is not a multiaddr: {e}")))?;
        Ok(self.inner.net.dial(addr).await?)
    }

    /// Subscribes to the node's events.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// A snapshot of the node's state.
    pub async fn status(&self) -> Result<NodeStatus, NodeError> {
        let store = &self.inner.store;
        Ok(NodeStatus {
            author: self.inner.author,
            peer_id: self.peer_id(),
            peers: self.inner.net.peers().await?.len(),
            entries: store.entry_count()?,
            following: store.following(&self.inner.author)?.len(),
            pending: store.pending_count()?,
            revision: store.revision()?,
            uptime_s: self.inner.started.elapsed().as_secs(),
            fetch_requests: self.inner.fetch_requests.load(Ordering::Relaxed),
            syncing: self.inner.syncing.lock().map_or(0, |s| s.len()),
            gossip_rejected: self.inner.gossip_rejected.load(Ordering::Relaxed),
            gossip_ignored: self.inner.gossip_ignored.load(Ordering::Relaxed),
            fetch_rejected: self.inner.fetch_rejected.load(Ordering::Relaxed),
            fetches_served: self.inner.fetches_served.load(Ordering::Relaxed),
            denied_peers: self.inner.net.denied_count(),
            denied_connections: self.inner.net.denied_connections(),
            reachability: self.inner.net.reachability().await?,
        })
    }

    /// Looks `author`'s signed feed head up on the DHT now: every answer is validated, the
    /// highest seq wins, and peers that answered with an older head are sent the newest
    /// (read repair). `head` is `None` when no peer (nor our own DHT store) holds one. At
    /// most [`MAX_HEAD_LOOKUPS`] run at once; more wait for a turn.
    pub async fn lookup_head(&self, author: AuthorId) -> Result<HeadLookup, NodeError> {
        let _turn = self
            .inner
            .head_lookups
            .acquire()
            .await
            .map_err(|_| NodeError::Stopped)?;
        let started = Instant::now();
        let head = self.inner.net.get_head_quick(author).await?;
        Ok(HeadLookup {
            head,
            elapsed: started.elapsed(),
        })
    }

    /// Puts peers on the deny list: their connections close at once and every new
    /// connection with them is refused, both ways, until they are allowed again. Peer ids
    /// are checked first: a malformed one, or this node's own, changes nothing. Returns the
    /// whole deny list afterwards, sorted. The list is kept in memory only (a restarted node
    /// denies no one).
    pub async fn deny_peers(&self, peers: &[String]) -> Result<Vec<String>, NodeError> {
        let peers = parse_peer_ids(peers)?;
        let own = self.inner.net.peer_id();
        if peers.contains(&own) {
            return Err(NodeError::Invalid(format!(
                "`{own}` is this node's own peer id; it cannot be denied"
            )));
        }
        match self.inner.net.deny_peers(peers).await {
            Ok(denied) => Ok(peer_texts(denied)),
            Err(NetError::DenyListFull {
                denied,
                adding,
                limit,
            }) => Err(NodeError::DenyListFull {
                denied,
                adding,
                limit,
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes peers off the deny list (ids not on it are skipped) and reconnects to them
    /// if their addresses are known. Peer ids are checked first: a malformed one changes
    /// nothing. Returns the deny list afterwards, sorted.
    pub async fn allow_peers(&self, peers: &[String]) -> Result<Vec<String>, NodeError> {
        let peers = parse_peer_ids(peers)?;
        Ok(peer_texts(self.inner.net.allow_peers(peers).await?))
    }

    /// Empties the deny list, reconnecting as [`allow_peers`](Self::allow_peers) does.
    /// Returns the peers that were denied, sorted.
    pub async fn allow_all_peers(&self) -> Result<Vec<String>, NodeError> {
        Ok(peer_texts(self.inner.net.allow_all().await?))
    }

    /// The peers on the deny list, sorted.
    pub async fn denied_peers(&self) -> Result<Vec<String>, NodeError> {
        Ok(peer_texts(self.inner.net.denied_peers().await?))
    }

    /// Signs a post, stores it durably, then pushes it to followers.
    pub async fn post(&self, text: &str) -> Result<VerifiedEntry, NodeError> {
        if text.is_empty() {
            return Err(NodeError::Invalid("the post is empty".into()));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(NodeError::Invalid(format!(
                "the post is {} bytes; the limit is {MAX_TEXT_BYTES}",
                text.len()
            )));
        }
        // A slug unique among our posts, from the first line: `hello-world`, else
        // `hello-world-2`, …
        let slug = match kith_proto::text::slug_from_text(text) {
            Some(base) => {
                let mut chosen = None;
                for n in 1..=100u32 {
                    let candidate = if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    };
                    if !self
                        .inner
                        .store
                        .slug_taken(&self.inner.author, &candidate)?
                    {
                        chosen = Some(candidate);
                        break;
                    }
                }
                chosen
            }
            None => None,
        };
        let bytes = kith_proto::cbor::MapBuilder::new()
            .field("text", kith_proto::cbor::Value::Text(text))
            .optional("slug", slug.as_deref().map(kith_proto::cbor::Value::Text))
            .finish();
        self.publish_encoded(kith_proto::Kind::Post, bytes).await
    }

    /// Signs a reply to `parent` (an entry this peer holds), stores it durably, then pushes
    /// it to followers. Its `root` is the parent's root when the parent is itself a reply,
    /// else the parent.
    pub async fn reply(&self, parent: ContentId, text: &str) -> Result<VerifiedEntry, NodeError> {
        if text.is_empty() {
            return Err(NodeError::Invalid("the reply is empty".into()));
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(NodeError::Invalid(format!(
                "the reply is {} bytes; the limit is {MAX_TEXT_BYTES}",
                text.len()
            )));
        }
        let Some(parent_entry) = self.inner.store.entry(&parent)? else {
            return Err(NodeError::Invalid(format!(
                "entry {parent} is not stored on this peer; follow its author first"
            )));
        };
        let root = match parent_entry.body() {
            Body::Reply { root, .. } => *root,
            _ => parent,
        };
        let entry = self
            .publish(Body::Reply {
                text: text.to_owned(),
                parent,
                root,
            })
            .await?;
        // To the followers of the parent's and the root's authors too: complete threads.
        crate::social::deliver_related(self, &entry);
        Ok(entry)
    }

    /// Follows `subject`: a follow entry in the local feed, a subscription to its topic, and
    /// a catch-up in the background. Following someone already followed returns the
    /// existing follow entry.
    pub async fn follow(&self, subject: AuthorId) -> Result<VerifiedEntry, NodeError> {
        if subject == self.inner.author {
            return Err(NodeError::Invalid("you cannot follow yourself".into()));
        }
        let following = self.inner.store.following(&self.inner.author)?;
        if !following.contains(&subject) && following.len() >= MAX_FOLLOWS {
            return Err(NodeError::Invalid(format!(
                "you follow {} authors, the most one peer can receive live; unfollow someone first",
                following.len()
            )));
        }
        let entry = match self.existing_follow(subject).await? {
            Some(entry) => entry,
            None => {
                let entry = self.publish(Body::Follow { subject }).await?;
                crate::reach::announce_follow(self, subject, &entry);
                entry
            }
        };
        self.inner.net.subscribe(subject).await?;
        sync::spawn_catch_up(self, subject, None);
        Ok(entry)
    }

    /// Stops following `subject`.
    pub async fn unfollow(&self, subject: AuthorId) -> Result<VerifiedEntry, NodeError> {
        if !self
            .inner
            .store
            .following(&self.inner.author)?
            .contains(&subject)
        {
            return Err(NodeError::Invalid(format!("you do not follow {subject}")));
        }
        // A private follow ends privately: a public unfollow would tell what it hid.
        if self
            .inner
            .store
            .private_following(&self.inner.author)?
            .contains(&subject)
        {
            return self.unfollow_private(subject).await;
        }
        let entry = self.publish(Body::Unfollow { subject }).await?;
        self.inner.net.unsubscribe(subject).await?;
        Ok(entry)
    }

    async fn existing_follow(&self, subject: AuthorId) -> Result<Option<VerifiedEntry>, NodeError> {
        if !self
            .inner
            .store
            .following(&self.inner.author)?
            .contains(&subject)
        {
            return Ok(None);
        }
        // The newest follow entry for this subject in our own feed.
        let feed = self
            .inner
            .store
            .feed_before(&self.inner.author, u64::MAX, 4096)?;
        for entry in feed {
            if matches!(entry.body(), Body::Follow { subject: s } if *s == subject) {
                return Ok(Some(entry.verify(u64::MAX)?));
            }
        }
        Ok(None)
    }

    /// Signs an entry with the next seq of the local feed, stores it, tells API clients,
    /// gossips it and announces the new head.
    pub(crate) async fn publish(&self, body: Body) -> Result<VerifiedEntry, NodeError> {
        let kind = body
            .kind()
            .ok_or_else(|| NodeError::Invalid("cannot publish an unknown kind".into()))?;
        self.publish_encoded(kind, body.encode()).await
    }

    /// [`publish`](Self::publish) of a body already encoded (with fields beyond the typed
    /// ones, such as a post's slug). The caller has checked it parses as `kind`.
    pub(crate) async fn publish_encoded(
        &self,
        kind: kith_proto::Kind,
        bytes: Vec<u8>,
    ) -> Result<VerifiedEntry, NodeError> {
        let inner = &self.inner;
        let mut synced = inner.self_synced.subscribe();
        if tokio::time::timeout(SELF_SYNC_WAIT, synced.wait_for(|done| *done))
            .await
            .is_err()
        {
            warn!("posting before our own feed could be checked against the network");
        }
        let entry = self
            .append_signed(&inner.keypair, &inner.publish_lock, &kind, &bytes)
            .await?;
        // Mentioned authors, hashtag followers and the public stream.
        crate::reach::spread(self, &entry);
        self.announce_head(entry.seq(), entry.id());
        Ok(entry)
    }

    /// Signs `bytes` (a body of `kind`) as `keypair`'s next entry, stores it durably, tells
    /// API clients and gossips it on the author's topic. `lock` serializes the signers of
    /// one feed: seq = head + 1 must never be handed out twice. Used for the node's own feed
    /// and for bridge feeds.
    pub(crate) async fn append_signed(
        &self,
        keypair: &Keypair,
        lock: &Mutex<()>,
        kind: &kith_proto::Kind,
        bytes: &[u8],
    ) -> Result<VerifiedEntry, NodeError> {
        let inner = &self.inner;
        let author = keypair.author();
        let entry = {
            let _guard = lock.lock().await;
            let head = inner.store.head(&author)?;
            // Never go back in time along the chain, even if the clock does.
            let ts = now_ms().max(head.map_or(0, |h| h.ts));
            let draft = Draft::after(head.map(|h| (h.seq, h.id)), ts, kind.as_str(), bytes);
            let entry = sign_entry(keypair, &draft)?;
            let results = inner.store.submit(vec![entry.clone()])?.await?;
            match results.into_iter().next() {
                Some(Ok(AppendOutcome::Appended { .. })) => inner.metrics.stored(Source::Local, 1),
                Some(Ok(other)) => {
                    return Err(NodeError::Invalid(format!(
                        "the feed of {author} did not take the entry: {other:?}"
                    )));
                }
                Some(Err(refused)) => return Err(refused.into()),
                None => return Err(NodeError::Stopped),
            }
            let _ = inner.events.send(NodeEvent::Entry {
                entry: entry.clone().into_entry(),
                local: true,
            });
            entry
        };
        // Push to followers; with none connected yet they catch up by fetch later.
        match inner.net.publish(author, entry.bytes().to_vec()).await {
            Ok(true) => {}
            Ok(false) => debug!("no follower of {author} connected for {}", entry.id()),
            Err(e) => warn!("gossip of {} failed: {e}", entry.id()),
        }
        Ok(entry)
    }

    /// Puts our signed head on the DHT and (once) announces us as provider of our feed, in
    /// the background: a post never waits for DHT round trips. Announcements are coalesced:
    /// a burst of posts costs one DHT write of the newest head per [`HEAD_ANNOUNCE_DELAY`]
    /// (followers get the entries by gossip; the DHT head is for those who were away).
    fn announce_head(&self, seq: u64, id: kith_proto::ContentId) {
        let inner = &self.inner;
        if let Ok(mut latest) = inner.head_to_announce.lock() {
            if latest.is_some_and(|(held, _)| held >= seq) {
                return;
            }
            *latest = Some((seq, id));
        }
        if inner.announcing.swap(true, Ordering::SeqCst) {
            return; // the running announcer picks the newest head up
        }
        let node = self.clone();
        tokio::spawn(async move {
            let inner = &node.inner;
            loop {
                let next = inner
                    .head_to_announce
                    .lock()
                    .ok()
                    .and_then(|mut latest| latest.take());
                let Some((seq, id)) = next else {
                    inner.announcing.store(false, Ordering::SeqCst);
                    // A head queued between the take and the store would wait for the next
                    // post; pick it up now instead.
                    let queued = inner
                        .head_to_announce
                        .lock()
                        .is_ok_and(|latest| latest.is_some());
                    if queued && !inner.announcing.swap(true, Ordering::SeqCst) {
                        continue;
                    }
                    break;
                };
                let head = FeedHead::sign(&inner.keypair, seq, id, now_ms());
                if let Err(e) = inner.net.put_head(head).await {
                    debug!("head {seq} not stored on the DHT yet: {e}");
                }
                if !inner.provided_self.swap(true, Ordering::SeqCst)
                    && let Err(e) = inner.net.provide(inner.author).await
                {
                    inner.provided_self.store(false, Ordering::SeqCst);
                    debug!("cannot announce our feed yet: {e}");
                }
                // The first head goes out at once; later ones at most every delay.
                tokio::time::sleep(HEAD_ANNOUNCE_DELAY).await;
            }
        });
    }

    /// Our reachable addresses changed (a relay reservation, an address confirmed by
    /// AutoNAT): provider records carry the addresses of their announcement, so announce
    /// our feed again, or followers would find us at addresses that no longer work (or at
    /// none, for a peer behind a NAT that announced before it had a relay).
    fn announce_addresses(&self) {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move {
            match inner.net.provide(inner.author).await {
                Ok(()) => inner.provided_self.store(true, Ordering::SeqCst),
                Err(e) => debug!("cannot announce our feed at our new addresses yet: {e}"),
            }
        });
    }

    async fn run_events(self, mut events: tokio::sync::mpsc::Receiver<NetEvent>) {
        let mut stop = self.inner.stop.subscribe();
        loop {
            let event = tokio::select! {
                event = events.recv() => match event { Some(event) => event, None => break },
                _ = stop.changed() => break,
            };
            match event {
                NetEvent::Gossip {
                    source,
                    message_id,
                    topic,
                    data,
                } => {
                    self.on_gossip(source, message_id, topic, data).await;
                }
                NetEvent::Fetch {
                    peer,
                    request,
                    reply,
                } => {
                    self.inner.fetches_served.fetch_add(1, Ordering::Relaxed);
                    let node = self.clone();
                    tokio::spawn(async move { node.answer_fetch(peer, request, reply).await });
                }
                NetEvent::Names {
                    peer,
                    request,
                    reply,
                } => {
                    let store = self.inner.store.clone();
                    tokio::task::spawn_blocking(move || {
                        let response = crate::names::serve(&store, request);
                        if reply.send(response).is_err() {
                            debug!("name request from {peer} gave up");
                        }
                    });
                }
                NetEvent::PeerConnected(_) | NetEvent::PeerDisconnected(_) => {}
                NetEvent::AddressesChanged => self.announce_addresses(),
            }
        }
    }

    async fn on_gossip(
        &self,
        source: PeerId,
        message_id: kith_net::libp2p::gossipsub::MessageId,
        topic: String,
        data: Vec<u8>,
    ) {
        let inner = &self.inner;
        let verdict = match kith_proto::validate(&data, now_ms()) {
            Ok(entry) if self.is_blocked(&entry.author()) => Ok(None),
            Ok(entry) if feed_topic(&entry.author()).hash().as_str() == topic => {
                Ok(Some((entry, false)))
            }
            Ok(entry) => match self.topic_role(&topic) {
                // A reply (reaction, …) sent to the followers of the author it concerns.
                crate::reach::TopicRole::Other => {
                    if crate::social::relates_to_topic(&inner.store, &entry, &topic) {
                        Ok(Some((entry, true)))
                    } else {
                        // Nothing here tells whether it belongs: not forwarded, not held
                        // against anyone.
                        Ok(None)
                    }
                }
                // A mention of us, a followed hashtag, the public stream.
                role => {
                    if self.wanted_from(&role, &entry) {
                        Ok(Some((entry, true)))
                    } else {
                        Ok(None)
                    }
                }
            },
            Err(e) => Err(e),
        };
        let (entry, cross_posted) = match verdict {
            Ok(None) => {
                inner.gossip_ignored.fetch_add(1, Ordering::Relaxed);
                let _ = inner
                    .net
                    .report_gossip(message_id, source, MessageAcceptance::Ignore)
                    .await;
                return;
            }
            Ok(Some((entry, cross_posted))) => {
                let _ = inner
                    .net
                    .report_gossip(message_id, source, MessageAcceptance::Accept)
                    .await;
                (entry, cross_posted)
            }
            Err(reason) => {
                inner.gossip_rejected.fetch_add(1, Ordering::Relaxed);
                inner.metrics.rejected(Source::Gossip, reason.code(), 1);
                debug!("rejecting gossip from {source}: {reason}");
                // A forwarder validated the entry as we do, so an invalid one is its fault
                // (gossipsub penalises it: see kith_net::scoring), unless the verdict hangs
                // on our clock or our version: an honest peer with a faster clock or a newer
                // protocol may have accepted it.
                let verdict = match reason {
                    kith_proto::EntryError::FromTheFuture { .. }
                    | kith_proto::EntryError::UnsupportedVersion(_) => MessageAcceptance::Ignore,
                    _ => MessageAcceptance::Reject,
                };
                let _ = inner.net.report_gossip(message_id, source, verdict).await;
                return;
            }
        };
        if matches!(entry.body(), Body::Reply { .. }) {
            crate::social::fetch_missing_parents(self, std::slice::from_ref(&entry), source);
        }
        let Ok(permit) = Arc::clone(&inner.appends).acquire_owned().await else {
            return;
        };
        if cross_posted {
            let node = self.clone();
            tokio::spawn(async move {
                let _permit = permit;
                crate::social::store_detached(&node, vec![entry], Some(source), Source::Gossip)
                    .await;
            });
            return;
        }
        // Submitted here, in arrival order; only the wait for the commit runs apart.
        let entries = vec![entry];
        let Some(ticket) = sync::submit_in_order(self, &entries).await else {
            return;
        };
        let node = self.clone();
        tokio::spawn(async move {
            let _permit = permit;
            sync::finish_received(&node, entries, ticket, Some(source), Source::Gossip).await;
        });
    }

    /// Stops the node's tasks and the network, and waits (up to 5 s) until no task holds
    /// the node any more, so the caller can close the store. The store stays open.
    pub async fn shutdown(self) -> Result<(), NodeError> {
        self.inner.stop.send_replace(true);
        let _ = self.inner.net.shutdown().await;
        // Within the daemon's own shutdown deadline (8 s).
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.inner) > 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }

    /// Our gossipsub score of `peer` (kith_net::scoring): below
    /// [`kith_net::scoring::GRAYLIST_THRESHOLD`] its gossip is ignored. `None` when gossipsub
    /// knows nothing of it.
    pub async fn gossip_score(&self, peer: &str) -> Result<Option<f64>, NodeError> {
        let peer = parse_peer_ids(&[peer.to_owned()])?.remove(0);
        Ok(self.inner.net.gossip_score(peer).await?)
    }

    /// Peers in our gossip mesh for `author`'s topic: those we forward its entries to (for
    /// tests and diagnostics).
    pub async fn mesh_peers(&self, author: AuthorId) -> Result<Vec<String>, NodeError> {
        Ok(self
            .inner
            .net
            .mesh_peers(author)
            .await?
            .iter()
            .map(ToString::to_string)
            .collect())
    }

    /// Peers known to be subscribed to `author`'s topic (for tests and diagnostics).
    pub async fn topic_peers(&self, author: AuthorId) -> Result<Vec<String>, NodeError> {
        Ok(self
            .inner
            .net
            .topic_peers(author)
            .await?
            .iter()
            .map(ToString::to_string)
            .collect())
    }
}

//! The swarm task: the only code that touches the `Swarm`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use kith_proto::{FeedHead, head_key};
use libp2p::allow_block_list::Blocked;
use libp2p::core::Transport as _;
use libp2p::gossipsub::{self, MessageAcceptance, PublishError};
use libp2p::identity::Keypair;
use libp2p::kad::{
    self, GetProvidersOk, GetRecordOk, InboundRequest, PeerRecord, PutRecordError, QueryId,
    QueryResult, Quorum, Record, RecordKey, store::RecordStore,
};
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionDenied, DialError, ListenError, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, Swarm, SwarmBuilder, autonat, dcutr, identify, noise, ping, tcp, yamux,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use crate::behaviour::{Behaviour, BehaviourEvent};
use crate::protocol::{
    FetchRequest, FetchResponse, KAD_PROTOCOL, MAX_FETCH_ANCESTORS, MAX_FETCH_ENTRIES,
    MAX_FETCH_IDS, NameRequest, NameResponse, is_kith_provider_key,
};
use crate::rate::TokenBuckets;
use crate::{
    BEACON_TOPIC, COMMAND_QUEUE, Command, DenyStats, EVENT_QUEUE, FETCH_RATE_BURST,
    FETCH_RATE_REFILL, IngressStats, MAX_BEACONS, MAX_DENIED_PEERS, MAX_INBOUND_FETCHES,
    MAX_INBOUND_FETCHES_PER_PEER, MAX_RATE_PEERS, NAME_RATE_BURST, NAME_RATE_REFILL, NetConfig,
    NetError, NetEvent, NetHandle, PeerInfo, PeerStatus, StatusTable,
};

/// Expiry of a head cached locally after a lookup (the DHT's own record TTL).
const CACHED_HEAD_TTL: Duration = Duration::from_secs(48 * 3600);
/// Most time a connection may take to be set up (TCP, noise, yamux), either way.
/// Under AutoNAT v2's 10 s for a whole dial-back request: a dial-back to a firewall that
/// drops must fail (and be reported as such) before the server gives the request up.
const CONNECTION_SETUP_TIMEOUT: Duration = Duration::from_secs(8);
/// How long `start` waits for the listeners to report their addresses.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);
/// Most addresses remembered per peer for redialling it once it is allowed again.
const MAX_REDIAL_ADDRS: usize = 8;
/// Most peers dialled at once when peers are allowed again; the others reconnect the usual
/// way (DHT queries, their own dials).
const MAX_REDIALS: usize = 64;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct HeadQuery {
    best: Option<FeedHead>,
    /// Remote peers that answered, with the seq they had.
    answers: Vec<(PeerId, u64)>,
    /// Taken when the answer is sent (early, for a quick lookup).
    reply: Option<oneshot::Sender<Result<Option<FeedHead>, NetError>>>,
    /// Answer at the first valid remote answer.
    quick: bool,
}

struct ProvidersQuery {
    found: HashSet<PeerId>,
    reply: Option<oneshot::Sender<Result<Vec<PeerId>, NetError>>>,
}

type InboundAnswer = BoxFuture<
    'static,
    (
        PeerId,
        ResponseChannel<FetchResponse>,
        Option<FetchResponse>,
    ),
>;
type InboundNameAnswer = BoxFuture<'static, (ResponseChannel<NameResponse>, Option<NameResponse>)>;

/// Most inbound name requests waiting for the application's answer at once.
const MAX_INBOUND_NAMES: usize = 256;

/// Where the answer to a peers query goes.
type PeersReply = oneshot::Sender<Result<Vec<PeerId>, NetError>>;

struct EventLoop {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
    allow_private: bool,
    listen_addrs: Vec<Multiaddr>,
    connected: HashMap<PeerId, Vec<Multiaddr>>,
    /// Dialable addresses of connected peers (those we dialled, and the listen addresses
    /// they report in identify), kept only while they are connected.
    dialable: HashMap<PeerId, Vec<Multiaddr>>,
    /// Dialable addresses of denied peers, kept from when they were denied, to redial them
    /// when they are allowed again. Holds at most [`MAX_DENIED_PEERS`] peers.
    denied_addrs: HashMap<PeerId, Vec<Multiaddr>>,
    /// The size of the deny list and the refusals (shared with the handles).
    deny_stats: Arc<DenyStats>,
    head_queries: HashMap<QueryId, HeadQuery>,
    put_queries: HashMap<QueryId, oneshot::Sender<Result<(), NetError>>>,
    provide_queries: HashMap<QueryId, oneshot::Sender<Result<(), NetError>>>,
    provider_queries: HashMap<QueryId, ProvidersQuery>,
    fetches: HashMap<OutboundRequestId, oneshot::Sender<Result<FetchResponse, NetError>>>,
    inbound: FuturesUnordered<InboundAnswer>,
    name_requests: HashMap<OutboundRequestId, oneshot::Sender<Result<NameResponse, NetError>>>,
    inbound_names: FuturesUnordered<InboundNameAnswer>,
    /// Closest-peers queries under way: how many peers the caller wants, and where to.
    closest_queries: HashMap<QueryId, (usize, PeersReply)>,
    /// Peers connected to recently, and when: a name's replica set counts them even while
    /// they are unreachable, so a partitioned minority cannot form quorums of its own.
    known_peers: HashMap<PeerId, std::time::Instant>,
    /// The latest valid beacon of each peer, and when it arrived (at most [`MAX_BEACONS`]).
    beacons: HashMap<PeerId, (kith_proto::beacon::Beacon, std::time::Instant)>,
    /// How long a beacon is kept, and how old it may be on arrival.
    beacon_ttl: Duration,
    /// Beacons refused since start.
    beacons_refused: u64,
    /// The beacon topic's hash, to route its messages here.
    beacon_topic: gossipsub::TopicHash,
    /// The latest ping round trip to each connected peer.
    rtts: HashMap<PeerId, Duration>,
    /// libp2p's own metrics, when the caller keeps a registry.
    metrics: Option<libp2p::metrics::Metrics>,
    /// Each peer's fetch and name request rates.
    fetch_rates: TokenBuckets<PeerId>,
    name_rates: TokenBuckets<PeerId>,
    /// Fetch requests of each peer being answered now.
    inbound_per_peer: HashMap<PeerId, usize>,
    /// What the limits refused (shared with the handles).
    ingress_stats: Arc<IngressStats>,
    /// Reachability, relay reservations, the automatic DHT mode.
    nat: crate::nat::Nat,
    /// Whether we relay for others (`NetConfig::relay_server`).
    relay_server: bool,
}

/// Records a swarm event, and the protocol event inside it, in libp2p's metrics.
fn record(metrics: &libp2p::metrics::Metrics, event: &SwarmEvent<BehaviourEvent>) {
    use libp2p::metrics::Recorder;
    metrics.record(event);
    if let SwarmEvent::Behaviour(event) = event {
        match event {
            BehaviourEvent::Kad(event) => metrics.record(event),
            BehaviourEvent::Gossipsub(event) => metrics.record(event),
            BehaviourEvent::Identify(event) => metrics.record(event),
            BehaviourEvent::Ping(event) => metrics.record(event),
            BehaviourEvent::Relay(event) => metrics.record(event),
            BehaviourEvent::Dcutr(event) => metrics.record(event),
            _ => {}
        }
    }
}

/// How long a peer stays in [`EventLoop::known_peers`] after its last connection.
pub const KNOWN_PEER_TTL: Duration = Duration::from_secs(3600);
/// Most peers remembered in [`EventLoop::known_peers`].
const MAX_KNOWN_PEERS: usize = 10_000;

pub(crate) async fn start(
    key: Keypair,
    config: NetConfig,
    metrics: Option<libp2p::metrics::Metrics>,
) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    let peer_id = key.public().to_peer_id();
    let ingress = Arc::new(IngressStats::default());
    let nat_stats = Arc::new(crate::nat::NatStats::default());
    let mut swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        // TCP, noise, yamux (as libp2p's `with_tcp`), with a deadline on setting a
        // connection up: behind firewalls that drop rather than refuse, a dial would
        // otherwise wait for the kernel's SYN retries (about two minutes), and an AutoNAT
        // dial-back with it.
        .with_other_transport(|key| {
            let noise = noise::Config::new(key)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(
                tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
                    .upgrade(libp2p::core::upgrade::Version::V1Lazy)
                    .authenticate(noise)
                    .multiplex(yamux::Config::default())
                    .timeout(CONNECTION_SETUP_TIMEOUT),
            )
        })
        .map_err(|e| NetError::Config(format!("transport: {e}")))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Config(format!("relay transport: {e}")))?
        .with_behaviour(|key, relay_client| {
            Behaviour::new(key, &config, Arc::clone(&ingress), relay_client)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)
        })
        .map_err(|e| NetError::Config(format!("behaviour: {e}")))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_connection_timeout))
        .build();
    for addr in &config.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Listen {
                addr: addr.to_string(),
                reason: e.to_string(),
            })?;
    }

    let (command_tx, command_rx) = mpsc::channel(COMMAND_QUEUE);
    let (event_tx, event_rx) = mpsc::channel(EVENT_QUEUE);
    let deny_stats = Arc::new(DenyStats::default());
    let mut event_loop = EventLoop {
        swarm,
        commands: command_rx,
        events: event_tx,
        allow_private: config.allow_private_addresses,
        listen_addrs: Vec::new(),
        connected: HashMap::new(),
        dialable: HashMap::new(),
        denied_addrs: HashMap::new(),
        deny_stats: Arc::clone(&deny_stats),
        head_queries: HashMap::new(),
        put_queries: HashMap::new(),
        provide_queries: HashMap::new(),
        provider_queries: HashMap::new(),
        fetches: HashMap::new(),
        inbound: FuturesUnordered::new(),
        name_requests: HashMap::new(),
        inbound_names: FuturesUnordered::new(),
        closest_queries: HashMap::new(),
        known_peers: HashMap::new(),
        beacons: HashMap::new(),
        beacon_ttl: config.beacon_ttl,
        beacons_refused: 0,
        beacon_topic: gossipsub::IdentTopic::new(BEACON_TOPIC).hash(),
        rtts: HashMap::new(),
        metrics,
        fetch_rates: TokenBuckets::new(FETCH_RATE_BURST, FETCH_RATE_REFILL, MAX_RATE_PEERS),
        name_rates: TokenBuckets::new(NAME_RATE_BURST, NAME_RATE_REFILL, MAX_RATE_PEERS),
        inbound_per_peer: HashMap::new(),
        ingress_stats: Arc::clone(&ingress),
        nat: crate::nat::Nat::new(
            config.kad_mode,
            config.relay_server,
            config.max_relay_reservations,
            Arc::clone(&nat_stats),
        ),
        relay_server: config.relay_server,
    };
    for addr in &config.external_addrs {
        event_loop.declare_external(addr.clone());
    }
    // Every node hears every node's status beacon; forged beacons cost their forwarder.
    let beacon_topic = gossipsub::IdentTopic::new(BEACON_TOPIC);
    let gossipsub = &mut event_loop.swarm.behaviour_mut().gossipsub;
    gossipsub
        .set_topic_params(beacon_topic.clone(), crate::scoring::topic_params())
        .map_err(|e| NetError::Config(format!("cannot score the beacon topic: {e}")))?;
    gossipsub
        .subscribe(&beacon_topic)
        .map_err(|e| NetError::Config(format!("cannot join the beacon topic: {e}")))?;

    // Wait until every listener has an address, so callers can publish it at once.
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    while event_loop.listen_addrs.len() < config.listen.len() {
        match tokio::time::timeout_at(deadline, event_loop.swarm.select_next_some()).await {
            Ok(SwarmEvent::ListenerError { error, .. })
            | Ok(SwarmEvent::ListenerClosed {
                reason: Err(error), ..
            }) => {
                return Err(NetError::Listen {
                    addr: format!("{:?}", config.listen),
                    reason: error.to_string(),
                });
            }
            Ok(event) => event_loop.on_swarm_event(event),
            Err(_) => {
                return Err(NetError::Listen {
                    addr: format!("{:?}", config.listen),
                    reason: "no address after 10 s".into(),
                });
            }
        }
    }

    let mut any_bootstrap = false;
    for addr in &config.bootstrap {
        let Some(Protocol::P2p(peer)) = addr.iter().last() else {
            return Err(NetError::Config(format!(
                "bootstrap address {addr} must end in /p2p/<peer id>"
            )));
        };
        if peer == peer_id {
            continue;
        }
        let mut transport_addr = addr.clone();
        transport_addr.pop();
        event_loop
            .swarm
            .behaviour_mut()
            .kad
            .add_address(&peer, transport_addr);
        if let Err(e) = event_loop.swarm.dial(addr.clone()) {
            warn!("cannot dial bootstrap peer {addr}: {e}");
        }
        any_bootstrap = true;
    }
    if any_bootstrap && let Err(e) = event_loop.swarm.behaviour_mut().kad.bootstrap() {
        warn!("DHT bootstrap did not start: {e}");
    }

    tokio::spawn(event_loop.run());
    Ok((
        NetHandle {
            peer_id,
            commands: command_tx,
            deny_stats,
            ingress,
            nat_stats,
        },
        event_rx,
    ))
}

impl EventLoop {
    async fn run(mut self) {
        let mut relay_check = tokio::time::interval(crate::nat::RELAY_CHECK_INTERVAL);
        relay_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                _ = relay_check.tick() => {
                    let listening = self.listen_addrs.iter().any(|a| !crate::is_relayed(a));
                    self.nat.maintain_relays(&mut self.swarm, listening);
                    if self.nat.take_addresses_changed() {
                        // Coalesced to one per check: a reservation and a dial-back landing
                        // together are one re-announcement.
                        let _ = self.events.try_send(NetEvent::AddressesChanged);
                    }
                }
                command = self.commands.recv() => match command {
                    Some(Command::Shutdown(reply)) => {
                        let _ = reply.send(());
                        break;
                    }
                    Some(command) => self.on_command(command),
                    None => break,
                },
                Some((peer, channel, response)) = self.inbound.next(), if !self.inbound.is_empty() => {
                    if let Some(count) = self.inbound_per_peer.get_mut(&peer) {
                        *count -= 1;
                        if *count == 0 {
                            self.inbound_per_peer.remove(&peer);
                        }
                    }
                    if let Some(response) = response {
                        let _ = self.swarm.behaviour_mut().fetch.send_response(channel, response);
                    }
                    // No answer: the channel is dropped and the requester sees a failure.
                }
                Some((channel, response)) = self.inbound_names.next(), if !self.inbound_names.is_empty() => {
                    if let Some(response) = response {
                        let _ = self.swarm.behaviour_mut().names.send_response(channel, response);
                    }
                }
            }
        }
        debug!("network task stopped");
    }

    /// Announces `addr` as ours without AutoNAT (configured, or a relay server's own).
    /// `add_external_address` tells the behaviours but not the swarm's event stream, so
    /// reachability is told here.
    fn declare_external(&mut self, addr: Multiaddr) {
        self.swarm.add_external_address(addr.clone());
        self.nat.on_external_addr_confirmed(&mut self.swarm, addr);
    }

    fn local_peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    fn with_p2p(&self, addr: &Multiaddr) -> Multiaddr {
        let mut addr = addr.clone();
        if !matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
            addr.push(Protocol::P2p(self.local_peer_id()));
        }
        addr
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(reply) => {
                let addrs = self.listen_addrs.iter().map(|a| self.with_p2p(a)).collect();
                let _ = reply.send(addrs);
            }
            Command::Dial(addr, reply) => {
                let result = self.swarm.dial(addr.clone()).map_err(|e| match e {
                    DialError::Denied { cause } if is_blocked(&cause) => {
                        self.deny_stats.refused.fetch_add(1, Ordering::Relaxed);
                        NetError::Dial(format!(
                            "{addr}: the peer is on the deny list; allow it first"
                        ))
                    }
                    e => NetError::Dial(format!("{addr}: {e}")),
                });
                let _ = reply.send(result);
            }
            Command::Reachability(reply) => {
                let dht_server = self.swarm.behaviour().kad.mode() == kad::Mode::Server;
                let _ = reply.send(self.nat.report(dht_server));
            }
            Command::Peers(reply) => {
                let peers = self
                    .connected
                    .iter()
                    .map(|(peer_id, addrs)| PeerInfo {
                        peer_id: *peer_id,
                        addrs: addrs.clone(),
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            Command::Subscribe(topic, reply) => {
                let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
                // Without parameters a topic is not scored: its invalid messages cost nothing.
                if let Err(e) =
                    gossipsub.set_topic_params(topic.clone(), crate::scoring::topic_params())
                {
                    warn!("cannot score topic {topic}: {e}");
                }
                let result = gossipsub
                    .subscribe(&topic)
                    .map(|_| ())
                    .map_err(|e| NetError::Config(format!("cannot subscribe: {e}")));
                let _ = reply.send(result);
            }
            Command::Unsubscribe(topic) => {
                self.swarm.behaviour_mut().gossipsub.unsubscribe(&topic);
            }
            Command::Publish(topic, data, reply) => {
                let result = match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
                    Ok(_) => Ok(true),
                    Err(PublishError::NoPeersSubscribedToTopic | PublishError::Duplicate) => {
                        Ok(false)
                    }
                    Err(e) => Err(NetError::Publish(e.to_string())),
                };
                let _ = reply.send(result);
            }
            Command::Report(message_id, source, verdict) => {
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &source, verdict);
            }
            Command::PutHead(head, reply) => {
                let record = Record::new(RecordKey::new(&head_key(&head.author())), head.encode());
                match self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .put_record(record, Quorum::One)
                {
                    Ok(id) => {
                        self.put_queries.insert(id, reply);
                    }
                    Err(e) => {
                        let _ =
                            reply.send(Err(NetError::Dht(format!("cannot store the head: {e}"))));
                    }
                }
            }
            Command::GetHead(author, quick, reply) => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .get_record(RecordKey::new(&head_key(&author)));
                self.head_queries.insert(
                    id,
                    HeadQuery {
                        best: None,
                        answers: Vec::new(),
                        reply: Some(reply),
                        quick,
                    },
                );
            }
            Command::Provide(key, reply) => {
                match self.swarm.behaviour_mut().kad.start_providing(key) {
                    Ok(id) => {
                        self.provide_queries.insert(id, reply);
                    }
                    Err(e) => {
                        let _ = reply.send(Err(NetError::Dht(format!("cannot provide: {e}"))));
                    }
                }
            }
            Command::FindProviders(key, reply) => {
                let id = self.swarm.behaviour_mut().kad.get_providers(key);
                self.provider_queries.insert(
                    id,
                    ProvidersQuery {
                        found: HashSet::new(),
                        reply: Some(reply),
                    },
                );
            }
            Command::Fetch(peer, request, reply) => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .fetch
                    .send_request(&peer, request);
                self.fetches.insert(id, reply);
            }
            Command::Names(peer, request, reply) => {
                let id = self
                    .swarm
                    .behaviour_mut()
                    .names
                    .send_request(&peer, request);
                self.name_requests.insert(id, reply);
            }
            Command::ClosestPeers(key, count, reply) => {
                let count = count.clamp(1, kad::K_VALUE.get());
                let wanted = std::num::NonZeroUsize::new(count).unwrap_or(kad::K_VALUE);
                let id = self
                    .swarm
                    .behaviour_mut()
                    .kad
                    .get_n_closest_peers(key, wanted);
                self.closest_queries.insert(id, (count, reply));
            }
            Command::GossipScore(peer, reply) => {
                let gossipsub = &self.swarm.behaviour().gossipsub;
                // A score exists for every peer gossipsub knows; 0 means none was earned.
                let known = gossipsub.all_peers().any(|(p, _)| *p == peer);
                let _ = reply.send(known.then(|| gossipsub.peer_score(&peer)).flatten());
            }
            Command::MeshPeers(topic, reply) => {
                let peers = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .mesh_peers(&topic.hash())
                    .copied()
                    .collect();
                let _ = reply.send(peers);
            }
            Command::TopicPeers(topic, reply) => {
                let hash = topic.hash();
                let peers = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&&hash))
                    .map(|(peer, _)| *peer)
                    .collect();
                let _ = reply.send(peers);
            }
            Command::DenyPeers(peers, reply) => {
                let _ = reply.send(self.deny(peers));
            }
            Command::AllowPeers(peers, reply) => {
                self.allow(peers);
                let _ = reply.send(self.denied());
            }
            Command::AllowAll(reply) => {
                let denied = self.denied();
                self.allow(denied.clone());
                let _ = reply.send(denied);
            }
            Command::DeniedPeers(reply) => {
                let _ = reply.send(self.denied());
            }
            Command::Statuses(reply) => {
                let _ = reply.send(self.statuses());
            }
            Command::Shutdown(_) => unreachable!("handled in run"),
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        if let Some(metrics) = &self.metrics {
            record(metrics, &event);
        }
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!("listening on {}", self.with_p2p(&address));
                // A relay server is public by configuration: its (global) listen addresses
                // are where others reach it, and what its reservations hand out. Behind a
                // 1:1 NAT they are not; `NetConfig::external_addrs` and AutoNAT cover that.
                if self.relay_server
                    && !crate::is_relayed(&address)
                    && (self.allow_private || is_global(&address))
                {
                    self.declare_external(address.clone());
                }
                self.listen_addrs.push(address);
            }
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                self.listen_addrs.retain(|a| a != &address);
            }
            SwarmEvent::ListenerClosed { listener_id, .. } => {
                self.nat.on_listener_closed(listener_id);
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                self.nat
                    .on_external_addr_confirmed(&mut self.swarm, address);
            }
            SwarmEvent::ExternalAddrExpired { address } => {
                self.nat.on_external_addr_expired(&mut self.swarm, &address);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Autonat(autonat::v2::client::Event {
                tested_addr,
                server,
                result,
                ..
            })) => {
                self.nat
                    .on_probe(&mut self.swarm, &tested_addr, server, result.is_ok());
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            })) => {
                self.nat.on_hole_punch(
                    remote_peer_id,
                    result.map(|_| ()).map_err(|e| e.to_string()),
                );
            }
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(event)) => {
                debug!("relay client: {event:?}");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Relay(event)) => {
                debug!("relay: {event:?}");
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                self.note_known(peer_id);
                self.connected
                    .entry(peer_id)
                    .or_default()
                    .push(connection_addr(&endpoint, peer_id));
                if endpoint.is_dialer() {
                    // An address we dialled works; the remote address of an inbound
                    // connection is usually an ephemeral port.
                    self.remember_dialable(peer_id, endpoint.get_remote_address().clone());
                }
                if num_established.get() == 1 {
                    let _ = self.events.try_send(NetEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if num_established == 0 {
                    self.nat.on_disconnected(&peer_id);
                    self.connected.remove(&peer_id);
                    self.dialable.remove(&peer_id);
                    self.rtts.remove(&peer_id);
                    let _ = self.events.try_send(NetEvent::PeerDisconnected(peer_id));
                } else if let Some(addrs) = self.connected.get_mut(&peer_id) {
                    let gone = connection_addr(&endpoint, peer_id);
                    if let Some(i) = addrs.iter().position(|a| *a == gone) {
                        addrs.remove(i);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                let dht_server = info.protocols.contains(&KAD_PROTOCOL);
                for addr in info.listen_addrs {
                    if self.allow_private || is_global(&addr) {
                        self.remember_dialable(peer_id, addr.clone());
                        // A relayed address is no place to send DHT queries.
                        if dht_server && !crate::is_relayed(&addr) {
                            self.swarm.behaviour_mut().kad.add_address(&peer_id, addr);
                        }
                    }
                }
                let offers_relay = info.protocols.contains(&libp2p::relay::HOP_PROTOCOL_NAME);
                // We reserve on a relay at an address we reach it by: the one we dialled
                // comes first (it is remembered when the connection is established, before
                // identify), then those it listens on.
                let direct = self.dialable.get(&peer_id).cloned().unwrap_or_default();
                self.nat.on_identify(peer_id, offers_relay, direct);
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id,
                error: DialError::Denied { cause },
                ..
            } if is_blocked(&cause) => {
                self.deny_stats.refused.fetch_add(1, Ordering::Relaxed);
                debug!("not connecting to denied peer {peer_id:?}");
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                debug!("cannot connect to {peer_id:?}: {error}");
            }
            SwarmEvent::IncomingConnectionError {
                peer_id,
                error: ListenError::Denied { cause },
                ..
            } if is_blocked(&cause) => {
                self.deny_stats.refused.fetch_add(1, Ordering::Relaxed);
                debug!("refused a connection from denied peer {peer_id:?}");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(event)) => self.on_kad(event),
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(libp2p::mdns::Event::Discovered(found))) => {
                // Peers on the local network: into the routing table, and dialled once.
                for (peer, addr) in found {
                    if peer == self.local_peer_id() {
                        continue;
                    }
                    debug!("found {peer} at {addr} on the local network");
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, addr.clone());
                    let dial = DialOpts::peer_id(peer)
                        .addresses(vec![addr])
                        .condition(PeerCondition::DisconnectedAndNotDialing)
                        .build();
                    if let Err(e) = self.swarm.dial(dial) {
                        debug!("cannot dial {peer} found on the local network: {e}");
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            })) if self.connected.contains_key(&peer) => {
                self.rtts.insert(peer, rtt);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) if message.topic == self.beacon_topic => {
                let verdict = self.on_beacon(propagation_source, &message.data);
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, verdict);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let topic = message.topic.to_string();
                let event = NetEvent::Gossip {
                    source: propagation_source,
                    message_id: message_id.clone(),
                    topic,
                    data: message.data,
                };
                if self.events.try_send(event).is_err() {
                    // The application is behind: drop quietly (no forward, no penalty).
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Fetch(event)) => self.on_fetch(event),
            SwarmEvent::Behaviour(BehaviourEvent::Names(event)) => self.on_names(event),
            _ => {}
        }
    }

    /// Checks a beacon heard on gossip and keeps it: it must be valid (its signature is by
    /// the node key it names, whose peer id it is about) and newer than the one kept. Gossip
    /// here is anonymous, so the beacon's own signature is all that says who wrote it: a
    /// forwarder can replay a node's recent beacon, never make one up. Forged or invalid
    /// beacons are refused (gossip then penalises whoever forwarded them); stale ones are
    /// ignored.
    fn on_beacon(&mut self, forwarder: PeerId, data: &[u8]) -> MessageAcceptance {
        let now = std::time::Instant::now();
        let refused = |reason: String, this: &mut Self| {
            debug!("refusing a beacon forwarded by {forwarder}: {reason}");
            this.beacons_refused += 1;
            MessageAcceptance::Reject
        };
        let beacon = match kith_proto::beacon::Beacon::decode(data, now_ms()) {
            Ok(beacon) => beacon,
            Err(e) => return refused(e.to_string(), self),
        };
        let peer = match libp2p::identity::ed25519::PublicKey::try_from_bytes(beacon.node_key()) {
            Ok(key) => libp2p::identity::PublicKey::from(key).to_peer_id(),
            Err(e) => return refused(e.to_string(), self),
        };
        let age = now_ms().saturating_sub(beacon.ts());
        if age > u64::try_from(self.beacon_ttl.as_millis()).unwrap_or(u64::MAX)
            || self
                .beacons
                .get(&peer)
                .is_some_and(|(kept, _)| kept.ts() >= beacon.ts())
        {
            return MessageAcceptance::Ignore;
        }
        self.beacons
            .retain(|_, (_, received)| now.duration_since(*received) < self.beacon_ttl);
        if !self.beacons.contains_key(&peer)
            && self.beacons.len() >= MAX_BEACONS
            && let Some(oldest) = self
                .beacons
                .iter()
                .min_by_key(|(_, (_, received))| *received)
                .map(|(peer, _)| *peer)
        {
            self.beacons.remove(&oldest);
        }
        self.beacons.insert(peer, (beacon, now));
        MessageAcceptance::Accept
    }

    /// Every peer with a live beacon or a measured round trip.
    fn statuses(&self) -> StatusTable {
        let now = std::time::Instant::now();
        let mut peers: Vec<PeerId> = self.rtts.keys().copied().collect();
        peers.extend(self.beacons.keys().copied());
        peers.sort();
        peers.dedup();
        StatusTable {
            peers: peers
                .into_iter()
                .map(|peer| {
                    let live = self
                        .beacons
                        .get(&peer)
                        .filter(|(_, received)| now.duration_since(*received) < self.beacon_ttl);
                    PeerStatus {
                        peer,
                        beacon: live.map(|(beacon, _)| beacon.clone()),
                        beacon_age: live.map(|(_, received)| now.duration_since(*received)),
                        rtt: self.rtts.get(&peer).copied(),
                    }
                })
                .collect(),
            beacons_refused: self.beacons_refused,
        }
    }

    /// Remembers an address `peer` can be dialled at (bounded per peer).
    fn remember_dialable(&mut self, peer: PeerId, addr: Multiaddr) {
        let addrs = self.dialable.entry(peer).or_default();
        if !addrs.contains(&addr) && addrs.len() < MAX_REDIAL_ADDRS {
            addrs.push(addr);
        }
    }

    /// The denied peers, in order.
    fn denied(&self) -> Vec<PeerId> {
        let mut peers: Vec<PeerId> = self
            .swarm
            .behaviour()
            .deny
            .blocked_peers()
            .iter()
            .copied()
            .collect();
        peers.sort_unstable();
        peers
    }

    /// Puts `peers` on the deny list (closing their connections), all or none.
    fn deny(&mut self, peers: Vec<PeerId>) -> Result<Vec<PeerId>, NetError> {
        let local = self.local_peer_id();
        let blocked = self.swarm.behaviour().deny.blocked_peers();
        let mut new: Vec<PeerId> = peers
            .into_iter()
            .filter(|peer| *peer != local && !blocked.contains(peer))
            .collect();
        new.sort_unstable();
        new.dedup();
        if blocked.len() + new.len() > MAX_DENIED_PEERS {
            return Err(NetError::DenyListFull {
                denied: blocked.len(),
                adding: new.len(),
                limit: MAX_DENIED_PEERS,
            });
        }
        let count = new.len();
        for peer in new {
            if let Some(addrs) = self.dialable.get(&peer) {
                self.denied_addrs.insert(peer, addrs.clone());
            }
            self.swarm.behaviour_mut().deny.block_peer(peer);
            debug!("denied peer {peer}");
        }
        let denied = self.denied();
        self.deny_stats.peers.store(denied.len(), Ordering::Relaxed);
        if count > 0 {
            info!("denied {count} more peers; {} denied in all", denied.len());
        }
        Ok(denied)
    }

    /// Takes `peers` off the deny list and dials them again (up to [`MAX_REDIALS`]), with
    /// the addresses remembered from before they were denied and those in the routing
    /// table; then a DHT bootstrap refreshes the routing table.
    fn allow(&mut self, peers: Vec<PeerId>) {
        let mut allowed = Vec::new();
        for peer in peers {
            if self.swarm.behaviour_mut().deny.unblock_peer(peer) {
                debug!("allowed peer {peer} again");
                allowed.push(peer);
            }
        }
        if allowed.is_empty() {
            return;
        }
        let still = self.swarm.behaviour().deny.blocked_peers().len();
        self.deny_stats.peers.store(still, Ordering::Relaxed);
        info!(
            "allowed {} peers again; {still} still denied",
            allowed.len()
        );
        let mut redials = 0;
        for peer in allowed {
            let addrs = self.denied_addrs.remove(&peer).unwrap_or_default();
            if redials >= MAX_REDIALS || self.connected.contains_key(&peer) {
                continue;
            }
            redials += 1;
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .extend_addresses_through_behaviour()
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!("cannot redial allowed peer {peer}: {e}");
            }
        }
        if let Err(e) = self.swarm.behaviour_mut().kad.bootstrap() {
            debug!("no DHT bootstrap after allowing peers: {e}");
        }
    }

    fn on_fetch(&mut self, event: request_response::Event<FetchRequest, FetchResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    if !request_is_bounded(&request) || self.inbound.len() >= MAX_INBOUND_FETCHES {
                        debug!("refusing fetch request from {peer}");
                        return;
                    }
                    let in_flight = self.inbound_per_peer.get(&peer).copied().unwrap_or(0);
                    if in_flight >= MAX_INBOUND_FETCHES_PER_PEER || !self.fetch_rates.allow(peer) {
                        debug!("refusing fetch request from {peer}: over its rate or share");
                        self.ingress_stats.fetch.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    let (reply, answer) = oneshot::channel();
                    if self
                        .events
                        .try_send(NetEvent::Fetch {
                            peer,
                            request,
                            reply,
                        })
                        .is_ok()
                    {
                        *self.inbound_per_peer.entry(peer).or_default() += 1;
                        self.inbound
                            .push(Box::pin(async move { (peer, channel, answer.await.ok()) }));
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.fetches.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(reply) = self.fetches.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Fetch {
                        peer: peer.to_string(),
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }

    fn on_names(&mut self, event: request_response::Event<NameRequest, NameResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    if self.inbound_names.len() >= MAX_INBOUND_NAMES {
                        debug!("refusing name request from {peer}: too many waiting");
                        return;
                    }
                    if !self.name_rates.allow(peer) {
                        debug!("refusing name request from {peer}: over its rate");
                        self.ingress_stats.names.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    let (reply, answer) = oneshot::channel();
                    if self
                        .events
                        .try_send(NetEvent::Names {
                            peer,
                            request,
                            reply,
                        })
                        .is_ok()
                    {
                        self.inbound_names
                            .push(Box::pin(async move { (channel, answer.await.ok()) }));
                    }
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.name_requests.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                if let Some(reply) = self.name_requests.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Fetch {
                        peer: peer.to_string(),
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }

    fn note_known(&mut self, peer: PeerId) {
        let now = std::time::Instant::now();
        if self.known_peers.len() >= MAX_KNOWN_PEERS && !self.known_peers.contains_key(&peer) {
            self.known_peers
                .retain(|_, seen| now.duration_since(*seen) < KNOWN_PEER_TTL);
            if self.known_peers.len() >= MAX_KNOWN_PEERS {
                return;
            }
        }
        self.known_peers.insert(peer, now);
    }

    /// The answer of a closest-peers query: the peers found, the peers known from recent
    /// connections (reachable or not) and this one, closest first.
    fn on_closest(&mut self, id: QueryId, key: Vec<u8>, peers: Vec<PeerId>) {
        let Some((count, reply)) = self.closest_queries.remove(&id) else {
            return;
        };
        let target = kad::KBucketKey::new(key);
        let now = std::time::Instant::now();
        let mut all = peers;
        all.extend(
            self.known_peers
                .iter()
                .filter(|(_, seen)| now.duration_since(**seen) < KNOWN_PEER_TTL)
                .map(|(peer, _)| *peer),
        );
        all.push(self.local_peer_id());
        all.sort_by_key(|peer| kad::KBucketKey::from(*peer).distance(&target));
        all.dedup();
        all.truncate(count);
        let _ = reply.send(Ok(all));
    }

    fn on_kad(&mut self, event: kad::Event) {
        match event {
            kad::Event::InboundRequest { request } => match request {
                InboundRequest::PutRecord {
                    source,
                    record: Some(record),
                    ..
                } => {
                    self.on_inbound_head(source, record);
                }
                InboundRequest::AddProvider {
                    record: Some(record),
                } => {
                    if is_kith_provider_key(&record.key) {
                        if let Err(e) = self
                            .swarm
                            .behaviour_mut()
                            .kad
                            .store_mut()
                            .add_provider(record)
                        {
                            debug!("provider record not stored: {e}");
                        }
                    } else {
                        debug!("refusing provider record for a non-kith key");
                    }
                }
                _ => {}
            },
            kad::Event::OutboundQueryProgressed {
                id, result, step, ..
            } => match result {
                QueryResult::GetRecord(result) => {
                    if let Ok(GetRecordOk::FoundRecord(PeerRecord { peer, record })) = result {
                        self.on_head_answer(id, peer, &record);
                    }
                    if step.last {
                        self.finish_head_query(id);
                    }
                }
                QueryResult::PutRecord(result) => {
                    if let Some(reply) = self.put_queries.remove(&id) {
                        let result = match result {
                            Ok(_) => Ok(()),
                            // Stored locally and by some peers: good enough for a head that
                            // is republished anyway.
                            Err(PutRecordError::QuorumFailed { success, .. })
                                if !success.is_empty() =>
                            {
                                Ok(())
                            }
                            Err(e) => Err(NetError::Dht(e.to_string())),
                        };
                        let _ = reply.send(result);
                    }
                }
                QueryResult::StartProviding(result) => {
                    if let Some(reply) = self.provide_queries.remove(&id) {
                        let _ = reply
                            .send(result.map(|_| ()).map_err(|e| NetError::Dht(e.to_string())));
                    }
                }
                QueryResult::GetProviders(result) => self.on_providers(id, result, step.last),
                QueryResult::GetClosestPeers(result) => {
                    let (key, peers) = match result {
                        Ok(ok) => (ok.key, ok.peers),
                        // A timeout still found some peers: the best known so far.
                        Err(kad::GetClosestPeersError::Timeout { key, peers }) => (key, peers),
                    };
                    let peers = peers.into_iter().map(|info| info.peer_id).collect();
                    self.on_closest(id, key, peers);
                }
                _ => {}
            },
            _ => {}
        }
    }

    /// An inbound PUT of a head: store it only if it is a valid head under its own key and
    /// does not go back (equal seq and id refreshes the expiry; equal seq with another id is a
    /// fork, and the first one stays).
    fn on_inbound_head(&mut self, source: PeerId, record: Record) {
        let head = match FeedHead::validate_record(record.key.as_ref(), &record.value, now_ms()) {
            Ok(head) => head,
            Err(e) => {
                debug!("refusing head record from {source}: {e}");
                return;
            }
        };
        let store = self.swarm.behaviour_mut().kad.store_mut();
        if let Some(existing) = store.get(&record.key)
            && let Ok(existing) = FeedHead::decode(&existing.value, u64::MAX)
        {
            let keeps = head.seq() > existing.seq()
                || (head.seq() == existing.seq() && head.id() == existing.id());
            if !keeps {
                debug!(
                    "refusing head from {source}: seq {} does not supersede {}",
                    head.seq(),
                    existing.seq()
                );
                return;
            }
        }
        if let Err(e) = store.put(record) {
            debug!("head record not stored: {e}");
        }
    }

    fn on_head_answer(&mut self, id: QueryId, peer: Option<PeerId>, record: &Record) {
        let Some(query) = self.head_queries.get_mut(&id) else {
            return;
        };
        let Ok(head) = FeedHead::validate_record(record.key.as_ref(), &record.value, now_ms())
        else {
            debug!("invalid head from {peer:?}");
            return;
        };
        if let Some(peer) = peer {
            query.answers.push((peer, head.seq()));
        }
        // Highest seq wins; on equal seq the first answer stays (the local copy comes
        // first), as for inbound PUTs: a fork never replaces the head we hold.
        let better = match &query.best {
            None => true,
            Some(best) => head.seq() > best.seq(),
        };
        if better {
            query.best = Some(head);
        }
        // A quick lookup answers with the first remote answer (or our copy, if newer); our
        // own copy alone is not enough, it may be an old cached one.
        if query.quick
            && peer.is_some()
            && let Some(reply) = query.reply.take()
        {
            let _ = reply.send(Ok(query.best.clone()));
        }
    }

    fn finish_head_query(&mut self, id: QueryId) {
        let Some(query) = self.head_queries.remove(&id) else {
            return;
        };
        if let Some(best) = &query.best {
            // Read repair: peers that answered with an older head get the newest one.
            let stale: Vec<PeerId> = query
                .answers
                .iter()
                .filter(|(_, seq)| *seq < best.seq())
                .map(|(peer, _)| *peer)
                .collect();
            let mut record = Record::new(RecordKey::new(&head_key(&best.author())), best.encode());
            // A cached copy expires like any record stored for others.
            record.expires = Some(std::time::Instant::now() + CACHED_HEAD_TTL);
            let kad = &mut self.swarm.behaviour_mut().kad;
            // Keep the newest locally too, so we answer others with it (never replacing a
            // head we hold by another of the same seq).
            let supersedes = match kad.store_mut().get(&record.key) {
                Some(existing) => FeedHead::decode(&existing.value, u64::MAX)
                    .map_or(true, |existing| {
                        best.seq() > existing.seq() || best.id() == existing.id()
                    }),
                None => true,
            };
            if supersedes && let Err(e) = kad.store_mut().put(record.clone()) {
                debug!("cannot cache head: {e}");
            }
            if !stale.is_empty() {
                kad.put_record_to(record, stale.into_iter(), Quorum::One);
            }
        }
        if let Some(reply) = query.reply {
            let _ = reply.send(Ok(query.best));
        }
    }

    fn on_providers(
        &mut self,
        id: QueryId,
        result: Result<GetProvidersOk, kad::GetProvidersError>,
        last: bool,
    ) {
        let local = self.local_peer_id();
        let Some(query) = self.provider_queries.get_mut(&id) else {
            return;
        };
        if let Ok(GetProvidersOk::FoundProviders { providers, .. }) = result {
            for provider in providers {
                if provider != local
                    && query.found.insert(provider)
                    && !self.connected.contains_key(&provider)
                {
                    // Dial while the query is alive: kad hands the providers' addresses to
                    // the dial only as long as the query that found them exists.
                    if let Err(e) = self.swarm.dial(DialOpts::peer_id(provider).build()) {
                        debug!("cannot dial provider {provider}: {e}");
                    }
                }
            }
        }
        let Some(query) = self.provider_queries.get_mut(&id) else {
            return;
        };
        if !query.found.is_empty() || last {
            if let Some(reply) = query.reply.take() {
                let _ = reply.send(Ok(query.found.iter().copied().collect()));
            }
            if !last && let Some(mut running) = self.swarm.behaviour_mut().kad.query_mut(&id) {
                running.finish();
            }
        }
        if last {
            self.provider_queries.remove(&id);
        }
    }
}

/// The address a connection to `peer` is shown at: its remote address, except for a
/// connection that came in through a relay, whose remote address is only `/p2p/<peer>`:
/// that one is shown as the path through the relay, `RELAY-ADDR/p2p-circuit/p2p/<peer>`.
fn connection_addr(endpoint: &libp2p::core::ConnectedPoint, peer: PeerId) -> Multiaddr {
    match endpoint {
        libp2p::core::ConnectedPoint::Listener { local_addr, .. }
            if crate::is_relayed(local_addr) =>
        {
            let mut path: Multiaddr = local_addr
                .iter()
                .take_while(|p| *p != Protocol::P2pCircuit)
                .collect();
            path.push(Protocol::P2pCircuit);
            path.push(Protocol::P2p(peer));
            path
        }
        other => other.get_remote_address().clone(),
    }
}

/// Whether a connection was refused by the deny list.
fn is_blocked(cause: &ConnectionDenied) -> bool {
    cause.downcast_ref::<Blocked>().is_some()
}

fn request_is_bounded(request: &FetchRequest) -> bool {
    match request {
        FetchRequest::Range { author, limit, .. } => {
            author.len() == 32 && *limit <= MAX_FETCH_ENTRIES
        }
        FetchRequest::Ids { ids, ancestors } => {
            ids.len() <= MAX_FETCH_IDS && *ancestors <= MAX_FETCH_ANCESTORS
        }
        FetchRequest::Blobs { ids } => ids.len() <= crate::protocol::MAX_BLOB_IDS,
        FetchRequest::Slug { author, slug } => {
            author.len() == 32 && slug.len() <= kith_proto::text::MAX_SLUG_BYTES + 8
        }
        FetchRequest::Threads { roots, limit } => {
            roots.len() <= crate::protocol::MAX_THREAD_ROOTS && *limit <= MAX_FETCH_ENTRIES
        }
    }
}

/// Is the address routable on the internet (not loopback, private or link-local)?
fn is_global(addr: &Multiaddr) -> bool {
    match addr.iter().next() {
        Some(Protocol::Ip4(ip)) => {
            !(ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified())
        }
        Some(Protocol::Ip6(ip)) => {
            !(ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xfe00) == 0xfc00
                || (ip.segments()[0] & 0xffc0) == 0xfe80)
        }
        Some(Protocol::Dns(_) | Protocol::Dns4(_) | Protocol::Dns6(_) | Protocol::Dnsaddr(_)) => {
            true
        }
        _ => false,
    }
}

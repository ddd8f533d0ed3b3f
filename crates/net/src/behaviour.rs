//! The combined libp2p behaviour and its configuration.

use std::time::Duration;

use libp2p::allow_block_list::{self, BlockedPeers};
use libp2p::gossipsub::{
    self, AllowAllSubscriptionFilter, IdentityTransform, MaxCountSubscriptionFilter,
    MessageAuthenticity, ValidationMode,
};
use libp2p::identity::Keypair;
use libp2p::kad::{self, store::MemoryStore, store::MemoryStoreConfig};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{autonat, connection_limits, dcutr, identify, ping, relay};

use crate::protocol::{
    FETCH_PROTOCOL, FetchRequest, FetchResponse, IDENTIFY_PROTOCOL_VERSION, KAD_PROTOCOL,
    MAX_FETCH_REQUEST_BYTES, MAX_FETCH_RESPONSE_BYTES, MAX_GOSSIP_FRAME, MAX_NAME_MESSAGE_BYTES,
    MAX_TOPICS, NAMES_PROTOCOL, NameRequest, NameResponse,
};
use crate::{NetConfig, NetError};

/// Whole-exchange timeout of one name request: replicas answer from their store at once.
pub const NAME_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Most DHT records (feed heads) kept for other peers.
pub const MAX_DHT_RECORDS: usize = 100_000;
/// Most feeds this peer announces as provider.
pub const MAX_PROVIDED_FEEDS: usize = 100_000;

pub(crate) type Gossipsub =
    gossipsub::Behaviour<IdentityTransform, MaxCountSubscriptionFilter<AllowAllSubscriptionFilter>>;

/// Everything a kith peer speaks.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    /// The deny list: first, so a denied peer is refused before it counts against the
    /// connection limits or reaches any protocol.
    pub(crate) deny: allow_block_list::Behaviour<BlockedPeers>,
    /// Inbound connections per IP address, before the totals.
    pub(crate) ip_limits: crate::ip_limits::IpLimits,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    /// Circuit relay v2, client side: dials through relays, and reservations on relays
    /// while this peer cannot be reached directly (`event_loop`, reachability).
    pub(crate) relay_client: relay::client::Behaviour,
    /// Circuit relay v2, server side (`NetConfig::relay_server`; public peers only).
    pub(crate) relay: Toggle<relay::Behaviour>,
    /// Hole punching: turns a relayed connection into a direct one where the NATs allow.
    pub(crate) dcutr: dcutr::Behaviour,
    /// AutoNAT v2, client side: asks peers to dial our address candidates back, and
    /// confirms those that answered as external addresses.
    pub(crate) autonat: autonat::v2::client::Behaviour,
    /// AutoNAT v2, server side (`NetConfig::autonat_server`).
    pub(crate) autonat_server: Toggle<autonat::v2::server::Behaviour>,
    pub(crate) kad: kad::Behaviour<MemoryStore>,
    pub(crate) gossipsub: Gossipsub,
    /// Local discovery (`NetConfig::mdns`; off unless asked for).
    pub(crate) mdns: libp2p::swarm::behaviour::toggle::Toggle<libp2p::mdns::tokio::Behaviour>,
    pub(crate) fetch: request_response::cbor::Behaviour<FetchRequest, FetchResponse>,
    pub(crate) names: request_response::cbor::Behaviour<NameRequest, NameResponse>,
}

/// The limits of this peer's relay service. Circuits are for finding each other and for
/// light traffic (new entries, a short catch-up) until hole punching gives a direct
/// connection; a circuit that reaches either limit is closed, and the two peers open a new
/// one if they still need it.
pub fn relay_config() -> relay::Config {
    relay::Config {
        max_reservations: RELAY_MAX_RESERVATIONS,
        max_reservations_per_peer: 2,
        reservation_duration: Duration::from_secs(3600),
        max_circuits: RELAY_MAX_CIRCUITS,
        max_circuits_per_peer: 4,
        max_circuit_duration: RELAY_MAX_CIRCUIT_DURATION,
        max_circuit_bytes: RELAY_MAX_CIRCUIT_BYTES,
        // libp2p's rate limits: per peer, 30 reservations and 30 circuits an hour at most one
        // every 2 minutes; per IP, 60 an hour at most one a minute.
        ..relay::Config::default()
    }
}

/// Most peers holding a reservation on this relay at once.
pub const RELAY_MAX_RESERVATIONS: usize = 128;
/// Most circuits through this relay at once.
pub const RELAY_MAX_CIRCUITS: usize = 64;
/// Longest life of one circuit.
pub const RELAY_MAX_CIRCUIT_DURATION: Duration = Duration::from_secs(10 * 60);
/// Most bytes relayed over one circuit, both ways together.
pub const RELAY_MAX_CIRCUIT_BYTES: u64 = 1 << 20;

impl Behaviour {
    pub(crate) fn new(
        key: &Keypair,
        config: &NetConfig,
        ingress: std::sync::Arc<crate::IngressStats>,
        relay_client: relay::client::Behaviour,
    ) -> Result<Self, NetError> {
        let peer_id = key.public().to_peer_id();

        let limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(config.max_connections))
            .with_max_established_per_peer(Some(config.max_connections_per_peer))
            .with_max_pending_incoming(Some(config.max_pending_incoming));

        let identify = identify::Behaviour::new(
            identify::Config::new(IDENTIFY_PROTOCOL_VERSION.to_owned(), key.public())
                .with_agent_version(format!("kith/{}", env!("CARGO_PKG_VERSION"))),
        );

        let mut kad_config = kad::Config::new(KAD_PROTOCOL);
        // Inbound records and provider announcements come to us as events; we store them
        // only after checking them (FeedHead::validate_record, seq never going back).
        kad_config.set_record_filtering(kad::StoreInserts::FilterBoth);
        kad_config.set_query_timeout(config.query_timeout);
        // Heads are small; keep the wire limit small too.
        kad_config.set_max_packet_size(16 * 1024);
        // Republish our own heads more often than the 22 h default so they never come close
        // to the 48 h expiry, even across a restart or two.
        kad_config.set_publication_interval(Some(Duration::from_secs(6 * 3600)));
        let store = MemoryStore::with_config(
            peer_id,
            MemoryStoreConfig {
                max_records: MAX_DHT_RECORDS,
                max_value_bytes: kith_proto::head::MAX_HEAD_BYTES + 1,
                max_providers_per_key: 20,
                max_provided_keys: MAX_PROVIDED_FEEDS,
            },
        );
        let mut kad = kad::Behaviour::with_config(peer_id, store, kad_config);
        // Automatic mode starts as a client; `nat` makes it a server once AutoNAT proves
        // others can dial us.
        kad.set_mode(Some(config.kad_mode.unwrap_or(kad::Mode::Client)));

        let gossip_config = gossipsub::ConfigBuilder::default()
            // Any peer may relay an author's entries (they carry the author's signature), so
            // gossip messages are anonymous and named by the entry's content id and the
            // topic: the same entry from two peers is one message, and a reply sent to its
            // own author's topic and to the parent author's is one message on each.
            .validation_mode(ValidationMode::Anonymous)
            .message_id_fn(|message| {
                crate::protocol::gossip_message_id(&message.data, message.topic.as_str())
            })
            // The application checks every entry before it is forwarded.
            .validate_messages()
            // A thinner mesh than libp2p's 6 (5 to 12): each peer gets a message about once
            // per mesh peer, and those duplicates were a large share of a delivery's cost
            // (docs/PROTOCOL.md §23.4). Gaps are still filled by lazy gossip and catch-up.
            .mesh_n(4)
            .mesh_n_low(3)
            .mesh_n_high(8)
            .mesh_outbound_min(1)
            .heartbeat_interval(config.gossip_heartbeat)
            .heartbeat_initial_delay(config.gossip_heartbeat.min(Duration::from_millis(500)))
            // Room for one subscription announcement of MAX_TOPICS topics (§ topics).
            .max_transmit_size(MAX_GOSSIP_FRAME)
            .max_control_message_size(MAX_GOSSIP_FRAME)
            .build()
            .map_err(|e| NetError::Config(format!("gossipsub: {e}")))?;
        let mut gossipsub = gossipsub::Behaviour::new_with_subscription_filter(
            MessageAuthenticity::Anonymous,
            gossip_config,
            MaxCountSubscriptionFilter {
                filter: AllowAllSubscriptionFilter {},
                max_subscribed_topics: MAX_TOPICS,
                max_subscriptions_per_request: MAX_TOPICS,
            },
        )
        .map_err(|e| NetError::Config(format!("gossipsub: {e}")))?;
        // Peer scoring: a peer that forwards invalid entries or beacons is graylisted (see
        // `scoring`; each topic gets its parameters when it is joined).
        gossipsub
            .with_peer_score(
                crate::scoring::peer_score_params(),
                crate::scoring::thresholds(),
            )
            .map_err(|e| NetError::Config(format!("gossipsub scoring: {e}")))?;

        let fetch = request_response::cbor::Behaviour::with_codec(
            request_response::cbor::codec::Codec::default()
                .set_request_size_maximum(MAX_FETCH_REQUEST_BYTES)
                .set_response_size_maximum(MAX_FETCH_RESPONSE_BYTES),
            [(FETCH_PROTOCOL, ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(config.fetch_timeout)
                .with_max_concurrent_streams(config.max_fetch_streams),
        );

        let names = request_response::cbor::Behaviour::with_codec(
            request_response::cbor::codec::Codec::default()
                .set_request_size_maximum(MAX_NAME_MESSAGE_BYTES)
                .set_response_size_maximum(MAX_NAME_MESSAGE_BYTES),
            [(NAMES_PROTOCOL, ProtocolSupport::Full)],
            request_response::Config::default()
                .with_request_timeout(NAME_REQUEST_TIMEOUT)
                .with_max_concurrent_streams(config.max_fetch_streams),
        );

        let mdns = if config.mdns {
            let mdns =
                libp2p::mdns::tokio::Behaviour::new(libp2p::mdns::Config::default(), peer_id)
                    .map_err(|e| NetError::Config(format!("mDNS: {e}")))?;
            Some(mdns)
        } else {
            None
        };

        Ok(Self {
            mdns: mdns.into(),
            deny: allow_block_list::Behaviour::default(),
            ip_limits: crate::ip_limits::IpLimits::new(
                config.max_connections_per_ip,
                config.ip_limit_exempts_loopback,
                ingress,
            ),
            limits: connection_limits::Behaviour::new(limits),
            identify,
            ping: ping::Behaviour::default(),
            relay_client,
            relay: config
                .relay_server
                .then(|| {
                    let mut relay = relay::Behaviour::new(peer_id, relay_config());
                    // Offered from the start: a relay server is a public peer by configuration
                    // (libp2p would wait for a confirmed external address).
                    relay.set_status(Some(relay::Status::Enable));
                    relay
                })
                .into(),
            dcutr: dcutr::Behaviour::new(peer_id),
            // Candidates are probed every 5 s, one server each; a failed one is not retried.
            autonat: autonat::v2::client::Behaviour::default(),
            autonat_server: config
                .autonat_server
                .then(autonat::v2::server::Behaviour::default)
                .into(),
            kad,
            gossipsub,
            fetch,
            names,
        })
    }
}

//! Reachability behind NATs: what AutoNAT v2 says of our addresses, the relay reservations
//! we keep while nobody can dial us, the Kademlia mode that follows from it, and what hole
//! punching achieved.
//!
//! The rules (docs/PROTOCOL.md, "NAT traversal"):
//! - an address a peer dialled back is confirmed (AutoNAT v2): we are **public**; failed
//!   dial-backs and none that worked: **private**; neither yet: **unknown**;
//! - in the automatic Kademlia mode, only a public peer answers DHT queries: a peer others
//!   cannot dial would only make their queries time out. (libp2p's own automatic mode would
//!   also count a relayed address, which is why the mode is set here.)
//! - a private peer keeps a reservation on up to `max_relay_reservations` relays (peers
//!   that offer the relay protocol and that we reach directly), so others can reach it
//!   through them; so does a peer still unknown after [`UNKNOWN_GRACE`], which may have no
//!   AutoNAT server in reach, and a peer that listens nowhere. A relay that refused or dropped us is left alone for
//!   [`RELAY_RETRY`].
//! - a connection that came through a relay is upgraded to a direct one by DCUtR where the
//!   two NATs allow it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libp2p::core::transport::ListenerId;
use libp2p::kad::Mode;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, Swarm};
use tracing::{debug, info};

use crate::behaviour::Behaviour;
use crate::{Reachability, ReachabilityStatus, ReachabilitySummary, is_relayed};

/// How long a peer with no AutoNAT verdict waits before it reserves on relays anyway.
pub const UNKNOWN_GRACE: Duration = Duration::from_secs(60);
/// How long a relay that refused or dropped our reservation is left alone.
pub const RELAY_RETRY: Duration = Duration::from_secs(60);
/// How often reservations are checked (and lost ones replaced).
pub const RELAY_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// Most relay candidates remembered (peers offering the relay protocol).
const MAX_RELAY_CANDIDATES: usize = 64;

/// The verdict and address counts, written by the swarm task at every change and read by
/// handles without a round trip (metrics are collected synchronously).
#[derive(Debug, Default)]
pub(crate) struct NatStats {
    /// 0 unknown, 1 public, 2 private.
    status: AtomicU8,
    direct_addrs: AtomicUsize,
    relay_addrs: AtomicUsize,
}

impl NatStats {
    pub(crate) fn summary(&self) -> ReachabilitySummary {
        ReachabilitySummary {
            status: match self.status.load(Ordering::Relaxed) {
                1 => ReachabilityStatus::Public,
                2 => ReachabilityStatus::Private,
                _ => ReachabilityStatus::Unknown,
            },
            direct_addrs: self.direct_addrs.load(Ordering::Relaxed),
            relay_addrs: self.relay_addrs.load(Ordering::Relaxed),
        }
    }
}

pub(crate) struct Nat {
    stats: Arc<NatStats>,
    started: Instant,
    /// `None`: the caller fixed the Kademlia mode; `Some(mode)`: we set it, and this is it.
    auto_kad: Option<Mode>,
    relay_server: bool,
    max_reservations: usize,
    /// Direct external addresses confirmed by dial-backs.
    confirmed: BTreeSet<Multiaddr>,
    /// Our addresses through relays that accepted a reservation.
    relayed: BTreeSet<Multiaddr>,
    probes_ok: u64,
    probes_failed: u64,
    hole_punches: u64,
    hole_punch_failures: u64,
    /// Connected peers that offer the relay protocol, with an address we reach them on.
    candidates: HashMap<PeerId, Multiaddr>,
    /// Our relay listeners (one per reservation), by relay.
    listeners: HashMap<ListenerId, PeerId>,
    /// Relays that refused or dropped a reservation, and when.
    backoff: HashMap<PeerId, Instant>,
    /// Our reachable addresses changed since the node was last told.
    addresses_changed: bool,
}

impl Nat {
    pub(crate) fn new(
        fixed_kad_mode: Option<Mode>,
        relay_server: bool,
        max_reservations: usize,
        stats: Arc<NatStats>,
    ) -> Self {
        Self {
            stats,
            started: Instant::now(),
            auto_kad: if fixed_kad_mode.is_some() {
                None
            } else {
                Some(Mode::Client)
            },
            relay_server,
            max_reservations,
            confirmed: BTreeSet::new(),
            relayed: BTreeSet::new(),
            probes_ok: 0,
            probes_failed: 0,
            hole_punches: 0,
            hole_punch_failures: 0,
            candidates: HashMap::new(),
            listeners: HashMap::new(),
            backoff: HashMap::new(),
            addresses_changed: false,
        }
    }

    pub(crate) fn status(&self) -> ReachabilityStatus {
        if !self.confirmed.is_empty() {
            ReachabilityStatus::Public
        } else if self.probes_failed > 0 {
            ReachabilityStatus::Private
        } else {
            ReachabilityStatus::Unknown
        }
    }

    pub(crate) fn report(&self, dht_server: bool) -> Reachability {
        Reachability {
            status: self.status(),
            external_addrs: self.confirmed.iter().cloned().collect(),
            relay_addrs: self.relayed.iter().cloned().collect(),
            probes_ok: self.probes_ok,
            probes_failed: self.probes_failed,
            hole_punches: self.hole_punches,
            hole_punch_failures: self.hole_punch_failures,
            dht_server,
            relay_server: self.relay_server,
        }
    }

    /// Takes the "addresses changed" mark.
    pub(crate) fn take_addresses_changed(&mut self) -> bool {
        std::mem::take(&mut self.addresses_changed)
    }

    pub(crate) fn on_external_addr_confirmed(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        addr: Multiaddr,
    ) {
        let before = self.status();
        let new = if is_relayed(&addr) {
            self.relayed.insert(addr.clone())
        } else {
            self.confirmed.insert(addr.clone())
        };
        if new {
            info!("reachable at {addr}");
            self.addresses_changed = true;
        }
        self.on_status(swarm, before);
    }

    pub(crate) fn on_external_addr_expired(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        addr: &Multiaddr,
    ) {
        let before = self.status();
        if self.relayed.remove(addr) || self.confirmed.remove(addr) {
            debug!("no longer reachable at {addr}");
            self.addresses_changed = true;
        }
        self.on_status(swarm, before);
    }

    /// An AutoNAT v2 dial-back of one of our address candidates finished.
    pub(crate) fn on_probe(
        &mut self,
        swarm: &mut Swarm<Behaviour>,
        addr: &Multiaddr,
        server: PeerId,
        ok: bool,
    ) {
        let before = self.status();
        if ok {
            self.probes_ok += 1;
        } else {
            self.probes_failed += 1;
            debug!("{server} could not dial us back at {addr}");
        }
        self.on_status(swarm, before);
    }

    pub(crate) fn on_hole_punch(&mut self, peer: PeerId, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.hole_punches += 1;
                info!("direct connection to {peer} by hole punching");
            }
            Err(e) => {
                self.hole_punch_failures += 1;
                debug!("hole punching to {peer} failed, the connection stays relayed: {e}");
            }
        }
    }

    /// A connected peer's identify: remember it as a relay if it offers the protocol and
    /// we reach it directly.
    pub(crate) fn on_identify(
        &mut self,
        peer: PeerId,
        offers_relay: bool,
        direct_addrs: impl IntoIterator<Item = Multiaddr>,
    ) {
        if !offers_relay {
            self.candidates.remove(&peer);
            return;
        }
        let Some(mut addr) = direct_addrs.into_iter().find(|a| !is_relayed(a)) else {
            return;
        };
        while matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
            addr.pop();
        }
        if self.candidates.len() < MAX_RELAY_CANDIDATES || self.candidates.contains_key(&peer) {
            self.candidates.insert(peer, addr);
        }
    }

    pub(crate) fn on_disconnected(&mut self, peer: &PeerId) {
        self.candidates.remove(peer);
    }

    /// A listener closed: if it was a relay reservation, the relay is left alone for a while
    /// and another is tried at the next check.
    pub(crate) fn on_listener_closed(&mut self, listener: ListenerId) {
        if let Some(relay) = self.listeners.remove(&listener) {
            info!("relay {relay} no longer holds a reservation for us");
            self.backoff.insert(relay, Instant::now());
        }
    }

    fn on_status(&mut self, swarm: &mut Swarm<Behaviour>, before: ReachabilityStatus) {
        let now = self.status();
        let code = match now {
            ReachabilityStatus::Unknown => 0,
            ReachabilityStatus::Public => 1,
            ReachabilityStatus::Private => 2,
        };
        self.stats.status.store(code, Ordering::Relaxed);
        self.stats
            .direct_addrs
            .store(self.confirmed.len(), Ordering::Relaxed);
        self.stats
            .relay_addrs
            .store(self.relayed.len(), Ordering::Relaxed);
        if now != before {
            info!("reachability: {}", now.as_str());
        }
        if let Some(mode) = self.auto_kad {
            let wanted = if now == ReachabilityStatus::Public {
                Mode::Server
            } else {
                Mode::Client
            };
            if wanted != mode {
                swarm.behaviour_mut().kad.set_mode(Some(wanted));
                self.auto_kad = Some(wanted);
                info!("DHT mode: {wanted}");
            }
        }
        if now == ReachabilityStatus::Public && !self.listeners.is_empty() {
            // Reachable directly: free the relays for those who are not.
            for (listener, relay) in self.listeners.drain() {
                debug!("releasing the reservation on {relay}");
                swarm.remove_listener(listener);
            }
        }
    }

    /// Keeps reservations on relays while we need them (every [`RELAY_CHECK_INTERVAL`]).
    pub(crate) fn maintain_relays(&mut self, swarm: &mut Swarm<Behaviour>, listening: bool) {
        let status = self.status();
        // A peer that listens nowhere has nothing to probe and is reached only by relay.
        let need_relays = status == ReachabilityStatus::Private
            || (status == ReachabilityStatus::Unknown
                && (!listening || self.started.elapsed() >= UNKNOWN_GRACE));
        if !need_relays || self.listeners.len() >= self.max_reservations {
            return;
        }
        self.backoff
            .retain(|_, since| since.elapsed() < RELAY_RETRY);
        let in_use: Vec<PeerId> = self.listeners.values().copied().collect();
        let mut choices: Vec<(PeerId, Multiaddr)> = self
            .candidates
            .iter()
            .filter(|(peer, _)| !in_use.contains(peer) && !self.backoff.contains_key(peer))
            .map(|(peer, addr)| (*peer, addr.clone()))
            .collect();
        // Deterministic order, so tests and logs are repeatable.
        choices.sort_by_key(|(peer, _)| *peer);
        for (relay, addr) in choices
            .into_iter()
            .take(self.max_reservations - self.listeners.len())
        {
            let circuit = addr.with(Protocol::P2p(relay)).with(Protocol::P2pCircuit);
            match swarm.listen_on(circuit.clone()) {
                Ok(listener) => {
                    info!("asking {relay} for a relay reservation");
                    self.listeners.insert(listener, relay);
                }
                Err(e) => {
                    debug!("cannot listen through {circuit}: {e}");
                    self.backoff.insert(relay, Instant::now());
                }
            }
        }
    }
}

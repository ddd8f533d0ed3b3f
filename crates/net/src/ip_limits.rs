//! A cap on inbound connections per remote IP address (libp2p's `connection_limits` has
//! totals and per-peer caps, none per IP). Peer ids are free to make, IP addresses are not:
//! without this, one host could fill every connection slot with fresh identities.
//!
//! Counted per address: inbound connections being set up plus those established. A new
//! inbound connection from an address at the cap is refused before the handshake. Outbound
//! connections (we chose to dial) are not counted.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

use crate::IngressStats;

/// Why an inbound connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("{ip} already has {count} inbound connections, the most one address may have")]
pub(crate) struct TooManyFromIp {
    ip: IpAddr,
    count: usize,
}

/// The behaviour: tracks inbound connections by remote IP, refuses beyond the cap.
pub(crate) struct IpLimits {
    /// `None`: no cap.
    max_per_ip: Option<usize>,
    /// Loopback addresses are not capped: a local test network runs every peer on
    /// 127.0.0.1, and a local process can open connections without limit anyway.
    exempt_loopback: bool,
    inbound: HashMap<ConnectionId, IpAddr>,
    stats: Arc<IngressStats>,
}

impl IpLimits {
    pub(crate) fn new(
        max_per_ip: Option<u32>,
        exempt_loopback: bool,
        stats: Arc<IngressStats>,
    ) -> Self {
        Self {
            max_per_ip: max_per_ip.map(|max| max as usize),
            exempt_loopback,
            inbound: HashMap::new(),
            stats,
        }
    }
}

/// The IP address of a multiaddr (its first `/ip4` or `/ip6`).
fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|protocol| match protocol {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => Some(IpAddr::V6(ip)),
        _ => None,
    })
}

impl NetworkBehaviour for IpLimits {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection_id: ConnectionId,
        _local_addr: &Multiaddr,
        remote_addr: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        // A relayed connection's address is the relay's, shared by everyone it relays for;
        // the relay bounds its circuits itself.
        if crate::is_relayed(remote_addr) {
            return Ok(());
        }
        let Some(ip) = ip_of(remote_addr) else {
            return Ok(());
        };
        if let Some(max) = self.max_per_ip
            && !(self.exempt_loopback && ip.is_loopback())
        {
            let count = self.inbound.values().filter(|known| **known == ip).count();
            if count >= max {
                self.stats.refused_per_ip.fetch_add(1, Ordering::Relaxed);
                return Err(ConnectionDenied::new(TooManyFromIp { ip, count }));
            }
        }
        self.inbound.insert(connection_id, ip);
        Ok(())
    }

    fn handle_established_inbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _local_addr: &Multiaddr,
        _remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        match event {
            FromSwarm::ConnectionClosed(closed) => {
                self.inbound.remove(&closed.connection_id);
            }
            // The handshake failed, or another behaviour refused the connection.
            FromSwarm::ListenFailure(failure) => {
                self.inbound.remove(&failure.connection_id);
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

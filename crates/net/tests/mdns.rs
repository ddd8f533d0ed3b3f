//! Local discovery: two peers with mDNS on and no bootstrap address find each other on the
//! local network and connect (the `home` profile).

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kith_net::libp2p::identity;
use kith_net::libp2p::kad::Mode;
use kith_net::{NetConfig, NetEvent, NetHandle};
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(60);

async fn peer(seed: u8) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    let config = NetConfig {
        // Every interface: mDNS announces the addresses of the interface it answers on.
        listen: vec!["/ip4/0.0.0.0/tcp/0".parse().unwrap()],
        kad_mode: Some(Mode::Server),
        allow_private_addresses: true,
        mdns: true,
        ..NetConfig::default()
    };
    kith_net::start(
        identity::Keypair::ed25519_from_bytes([seed; 32]).unwrap(),
        config,
    )
    .await
    .unwrap()
}

/// The address this host would send mDNS multicast from, if it has a route for it: a
/// machine with only a loopback interface has none, and mDNS cannot work there.
fn multicast_source() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("224.0.0.251:5353").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_unspecified() && !ip.is_loopback()).then_some(ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_on_one_network_find_each_other_without_bootstrap() {
    let Some(source) = multicast_source() else {
        eprintln!(
            "skipped: this host has no network interface with a multicast route (only \
             loopback?), so mDNS cannot run here"
        );
        return;
    };
    eprintln!("mDNS from {source}");
    let (a, _a_events) = peer(71).await;
    let (b, _b_events) = peer(72).await;
    let started = Instant::now();
    loop {
        let a_sees_b = a
            .peers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.peer_id == b.peer_id());
        let b_sees_a = b
            .peers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.peer_id == a.peer_id());
        if a_sees_b && b_sees_a {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no mDNS discovery within {DEADLINE:?} (does this host's network carry multicast?)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

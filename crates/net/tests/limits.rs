//! The per-IP connection cap and the per-peer request rates: a host cannot fill a peer's
//! connection slots from one address, and one peer's burst of fetch or name requests is cut
//! at its rate while another peer is still answered.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use futures::StreamExt;
use kith_net::libp2p::identity;
use kith_net::libp2p::kad::Mode;
use kith_net::{
    FETCH_RATE_BURST, FetchRequest, FetchResponse, NAME_RATE_BURST, NameRequest, NameResponse,
    NetConfig, NetEvent, NetHandle,
};
use kith_proto::Keypair;
use tokio::sync::mpsc;

const DEADLINE: Duration = Duration::from_secs(60);

/// A peer that stays out of the DHT: it talks only to peers it dials or that dial it.
async fn peer(
    seed: u8,
    configure: impl FnOnce(&mut NetConfig),
) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    let mut config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        kad_mode: Some(Mode::Client),
        allow_private_addresses: false,
        ..NetConfig::default()
    };
    configure(&mut config);
    kith_net::start(
        identity::Keypair::ed25519_from_bytes([seed; 32]).unwrap(),
        config,
    )
    .await
    .unwrap()
}

/// Answers every fetch and name request at once, with nothing.
fn answer_everything(mut events: mpsc::Receiver<NetEvent>) {
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                NetEvent::Fetch { reply, .. } => {
                    let _ = reply.send(FetchResponse {
                        entries: Vec::new(),
                        more: false,
                    });
                }
                NetEvent::Names { reply, .. } => {
                    let _ = reply.send(NameResponse::NotFound);
                }
                _ => {}
            }
        }
    });
}

async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_at_most_its_share_of_inbound_connections() {
    let (host, _host_events) = peer(1, |config| {
        config.max_connections_per_ip = Some(2);
        config.ip_limit_exempts_loopback = false;
    })
    .await;
    let host_addr = host.listen_addrs().await.unwrap().remove(0);
    let mut clients = Vec::new();
    for seed in 10..15 {
        let (client, events) = peer(seed, |_| {}).await;
        // Dial errors are expected for the refused ones.
        let _ = client.dial(host_addr.clone()).await;
        clients.push((client, events));
    }
    wait_for("the host to refuse the clients beyond the cap", || async {
        host.throttled().connections_per_ip >= 3
    })
    .await;
    let connected = host.peers().await.unwrap().len();
    assert_eq!(connected, 2, "two connections from 127.0.0.1, no more");

    // A client that leaves frees its place for another.
    let (first, _) = clients.remove(0);
    first.shutdown().await.unwrap();
    wait_for("the host to see the first client go", || async {
        host.peers().await.unwrap().len() == 1
    })
    .await;
    let (late, _late_events) = peer(20, |_| {}).await;
    late.dial(host_addr).await.unwrap();
    wait_for("the late client connected", || async {
        host.peers().await.unwrap().len() == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_fetches_is_cut_at_the_peer_rate_while_others_are_answered() {
    let (host, host_events) = peer(30, |_| {}).await;
    answer_everything(host_events);
    let host_addr = host.listen_addrs().await.unwrap().remove(0);
    let host_id = host.peer_id();
    let (greedy, _greedy_events) = peer(31, |_| {}).await;
    let (polite, _polite_events) = peer(32, |_| {}).await;
    greedy.dial(host_addr.clone()).await.unwrap();
    polite.dial(host_addr).await.unwrap();
    wait_for("both connected", || async {
        host.peers().await.unwrap().len() == 2
    })
    .await;

    let author = Keypair::from_seed(&[7; 32]).author();
    let request = FetchRequest::range(&author, 1, 1);
    // Three bursts: the rate (FETCH_RATE_BURST at once) is spent whatever the timing.
    let burst = FETCH_RATE_BURST as usize * 3;
    let mut answered = 0;
    let mut refused = 0;
    // 32 at a time: well under the per-connection stream caps, so only the rate refuses.
    let results: Vec<_> =
        futures::stream::iter((0..burst).map(|_| greedy.fetch(host_id, request.clone())))
            .buffer_unordered(32)
            .collect()
            .await;
    for result in results {
        match result {
            Ok(_) => answered += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0, "all {burst} answered: no rate");
    assert!(
        answered >= FETCH_RATE_BURST as usize / 2,
        "only {answered} answered"
    );
    // Every refusal is the rate's.
    assert_eq!(host.throttled().fetch, refused);
    // Another peer is answered meanwhile: the limit is per peer.
    polite.fetch(host_id, request.clone()).await.unwrap();
    // And the greedy peer again once its bucket refills: a rate, not a ban.
    wait_for("the greedy peer answered again", || async {
        greedy.fetch(host_id, request.clone()).await.is_ok()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_name_requests_is_cut_at_the_peer_rate() {
    let (host, host_events) = peer(40, |_| {}).await;
    answer_everything(host_events);
    let host_addr = host.listen_addrs().await.unwrap().remove(0);
    let host_id = host.peer_id();
    let (greedy, _greedy_events) = peer(41, |_| {}).await;
    greedy.dial(host_addr).await.unwrap();
    wait_for("connected", || async {
        host.peers().await.unwrap().len() == 1
    })
    .await;

    let burst = NAME_RATE_BURST as usize * 3;
    let results: Vec<_> = futures::stream::iter((0..burst).map(|i| {
        greedy.name_request(
            host_id,
            NameRequest::Lookup {
                name: format!("name{i}"),
            },
        )
    }))
    .buffer_unordered(32)
    .collect()
    .await;
    let refused = results.iter().filter(|r| r.is_err()).count();
    assert!(refused > 0, "all {burst} answered: no rate");
    // Every refusal is the rate's.
    assert_eq!(host.throttled().names, refused as u64);
}

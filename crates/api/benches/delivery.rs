//! Delivery latency between two peers on loopback, measured end to end: from the moment the
//! author's `post` is acknowledged (stored durably) to the moment the follower's API client
//! receives the entry on its SSE stream. Next to it, in the same run, the bare path: a
//! gossipsub message between two bare network peers, publish to receipt.
//!
//! ```text
//! cargo bench -p kith-api --bench delivery            # 1000 posts, 5 ms apart
//! cargo bench -p kith-api --bench delivery -- 2000 2  # posts, gap in ms
//! ```
//!
//! Both peers use on-disk stores (a real fsync per commit), the test profile and one tokio
//! runtime with two worker threads, as on a 2-core machine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kith_net::libp2p::gossipsub::MessageAcceptance;
use kith_net::libp2p::identity;
use kith_net::libp2p::kad::Mode;
use kith_net::{NetConfig, NetEvent};
use kith_node::{Node, NodeConfig, Profile};
use kith_proto::Keypair;
use kith_store::{Store, StoreConfig};

const TOKEN: &str = "benchmark-token-of-enough-length";

fn main() {
    // reqwest is built with rustls but no default crypto provider (kith-feeds needs TLS
    // without aws-lc's C build): every HTTP client in the process needs this, once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let posts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let gap = Duration::from_millis(args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        println!(
            "delivery benchmark: {posts} messages, {} ms apart",
            gap.as_millis()
        );
        let bare = bare_gossip(posts, gap).await;
        let (validate, commit) = components(posts.min(500));
        let full = post_to_sse(posts, gap).await;
        println!();
        println!(
            "{:<36} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "path", "p50 ms", "p90 ms", "p99 ms", "max ms", "lost"
        );
        report("bare gossipsub, publish → receive", &bare, posts);
        report(
            "validate one entry (decode+verify)",
            &validate,
            posts.min(500),
        );
        report("durable commit of one entry", &commit, posts.min(500));
        report("kith, post ack → follower SSE event", &full, posts);
    });
}

fn report(name: &str, samples: &[Duration], expected: usize) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |p: f64| {
        ms.get(((ms.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "{:<36} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9}",
        name,
        at(0.5),
        at(0.9),
        at(0.99),
        ms.last().copied().unwrap_or(f64::NAN),
        expected - samples.len()
    );
}

/// The two costs a received entry pays on the follower besides the network: validation and
/// one durable (2PC, fsync) commit of a lone entry, measured one at a time.
fn components(count: usize) -> (Vec<Duration>, Vec<Duration>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("c.redb"), StoreConfig::default()).expect("store");
    let keypair = Keypair::from_seed(&[7; 32]);
    let mut head = None;
    let (mut validate, mut commit) = (Vec::new(), Vec::new());
    for i in 0..count {
        let body = kith_proto::Body::Post {
            text: format!("post {i}: a short post of ordinary length"),
        }
        .encode();
        let draft = kith_proto::Draft::after(head, 1_764_000_000_000, "post", &body);
        let bytes = kith_proto::sign_entry(&keypair, &draft)
            .expect("sign")
            .into_entry()
            .into_bytes();
        let started = Instant::now();
        let entry = kith_proto::validate(&bytes, 1_764_000_000_000).expect("valid");
        validate.push(started.elapsed());
        head = Some((entry.seq(), entry.id()));
        let started = Instant::now();
        store.append(entry).expect("append").expect("appended");
        commit.push(started.elapsed());
    }
    (validate, commit)
}

async fn bare_gossip(count: usize, gap: Duration) -> Vec<Duration> {
    let config = || NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("addr")],
        kad_mode: Some(Mode::Client),
        gossip_heartbeat: Duration::from_millis(200),
        ..NetConfig::default()
    };
    let (x, _x_events) = kith_net::start(
        identity::Keypair::ed25519_from_bytes([1u8; 32]).expect("key"),
        config(),
    )
    .await
    .expect("net");
    let (y, mut y_events) = kith_net::start(
        identity::Keypair::ed25519_from_bytes([2u8; 32]).expect("key"),
        config(),
    )
    .await
    .expect("net");
    let topic_author = Keypair::from_seed(&[9; 32]).author();
    y.subscribe(topic_author).await.expect("subscribe");
    x.dial(y.listen_addrs().await.expect("addrs").remove(0))
        .await
        .expect("dial");
    while !x
        .topic_peers(topic_author)
        .await
        .expect("peers")
        .contains(&y.peer_id())
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sent: Arc<Mutex<HashMap<Vec<u8>, Instant>>> = Arc::default();
    let receiver = {
        let sent = Arc::clone(&sent);
        let y = y.clone();
        tokio::spawn(async move {
            let mut samples = Vec::with_capacity(count);
            while samples.len() < count {
                let Ok(Some(event)) =
                    tokio::time::timeout(Duration::from_secs(10), y_events.recv()).await
                else {
                    break;
                };
                if let NetEvent::Gossip {
                    source,
                    message_id,
                    data,
                    ..
                } = event
                {
                    let now = Instant::now();
                    let _ = y
                        .report_gossip(message_id, source, MessageAcceptance::Accept)
                        .await;
                    if let Some(at) = sent.lock().expect("lock").get(&data) {
                        samples.push(now.saturating_duration_since(*at));
                    }
                }
            }
            samples
        })
    };
    for i in 0..count {
        let data =
            format!("message {i} of about the size of a short post, padded a little").into_bytes();
        sent.lock()
            .expect("lock")
            .insert(data.clone(), Instant::now());
        x.publish(topic_author, data).await.expect("publish");
        tokio::time::sleep(gap).await;
    }
    receiver.await.expect("receiver")
}

async fn post_to_sse(count: usize, gap: Duration) -> Vec<Duration> {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = |seed: u8, bootstrap: Vec<String>| {
        let path = dir.path().join(format!("{seed}.redb"));
        async move {
            let store = Store::open(&path, StoreConfig::default()).expect("store");
            let config = NodeConfig {
                listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
                bootstrap,
                profile: Profile::Test,
                sync_interval: Some(Duration::from_secs(3600)),
                ..NodeConfig::default()
            };
            Node::start(
                config,
                store,
                Keypair::from_seed(&[seed; 32]),
                [seed + 100; 32],
            )
            .await
            .expect("node")
        }
    };
    let author = start(1, vec![]).await;
    let follower = start(
        2,
        vec![author.listen_addrs().await.expect("addrs").remove(0)],
    )
    .await;
    follower.follow(author.author()).await.expect("follow");
    while !author
        .topic_peers(author.author())
        .await
        .expect("peers")
        .contains(&follower.peer_id())
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(kith_api::serve(
        listener,
        follower.clone(),
        TOKEN.into(),
        std::future::pending(),
    ));
    let response = reqwest::Client::new()
        .get(format!("{api}/api/v1/events"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("sse");
    assert!(
        response.status().is_success(),
        "SSE status {}",
        response.status()
    );

    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let reader = {
        let acked = Arc::clone(&acked);
        tokio::spawn(async move {
            let mut stream = response.bytes_stream();
            let mut buffer = String::new();
            let mut received: Vec<(String, Instant)> = Vec::with_capacity(count);
            while received.len() < count {
                let Ok(Some(Ok(chunk))) =
                    tokio::time::timeout(Duration::from_secs(10), stream.next()).await
                else {
                    break;
                };
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                        let value: serde_json::Value =
                            serde_json::from_str(data.trim()).unwrap_or_default();
                        if let Some(id) = value["id"].as_str() {
                            received.push((id.to_owned(), now));
                        }
                    }
                }
            }
            let acked = acked.lock().expect("lock");
            received
                .into_iter()
                .filter_map(|(id, at)| acked.get(&id).map(|ack| at.saturating_duration_since(*ack)))
                .collect::<Vec<_>>()
        })
    };
    for i in 0..count {
        let entry = author
            .post(&format!("post {i}: a short post of ordinary length"))
            .await
            .expect("post");
        acked
            .lock()
            .expect("lock")
            .insert(entry.id().to_string(), Instant::now());
        tokio::time::sleep(gap).await;
    }
    reader.await.expect("reader")
}

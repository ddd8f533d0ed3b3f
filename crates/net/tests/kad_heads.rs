//! Stale or forged head records over Kademlia: the stored head is unchanged; lookups still
//! return the highest valid seq.
//!
//! Five honest `kith-net` peers form a DHT; the author's head seq N is put through one of
//! them and cached by all. An adversary, a bare libp2p swarm speaking kith's Kademlia
//! protocol (as a DHT server, so it is in the honest routing tables and answers their
//! queries), then PUTs straight to every honest peer, under the author's head key: a head
//! claiming seq N+100 with a broken signature, one claiming N+100 with the author's key in
//! it but another key's signature, the author's own older head (seq N-1), another author's
//! valid head, and garbage bytes. It keeps each forgery in its own store meanwhile, so it
//! serves it to every lookup. After each: every honest peer still stores exactly the genuine
//! head (read back by a direct DHT query to each of them), and every honest peer's lookups
//! (`get_head`, `get_head_quick`) return exactly seq N with the genuine id, with the
//! adversary shown to have answered each honest peer's lookup with its forgery.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use kith_net::libp2p::identity;
use kith_net::libp2p::kad::{
    self, GetRecordOk, InboundRequest, Mode, PeerRecord, QueryId, QueryResult, Quorum, Record,
    RecordKey, store::MemoryStore, store::RecordStore,
};
use kith_net::libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use kith_net::libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder, identify, noise, tcp, yamux};
use kith_net::protocol::KAD_PROTOCOL;
use kith_net::{NetConfig, NetEvent, NetHandle};
use kith_proto::{ContentId, FeedHead, Keypair, head_key};
use tokio::sync::{mpsc, oneshot};

const DEADLINE: Duration = Duration::from_secs(60);
const HONEST: usize = 5;
/// The author's genuine head seq.
const N: u64 = 7;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Polls `check` every 50 ms until it holds; fails after [`DEADLINE`].
async fn wait_for<F: std::future::Future<Output = bool>>(what: &str, mut check: impl FnMut() -> F) {
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An honest DHT server on 127.0.0.1.
async fn honest(seed: u8, bootstrap: Vec<Multiaddr>) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootstrap,
        kad_mode: Some(Mode::Server),
        allow_private_addresses: true,
        query_timeout: Duration::from_secs(10),
        ..NetConfig::default()
    };
    kith_net::start(
        identity::Keypair::ed25519_from_bytes([seed; 32]).unwrap(),
        config,
    )
    .await
    .unwrap()
}

/// Drains a peer's events so its event channel never fills.
fn drain(mut events: mpsc::Receiver<NetEvent>) {
    tokio::spawn(async move { while events.recv().await.is_some() {} });
}

#[derive(NetworkBehaviour)]
struct AdversaryBehaviour {
    identify: identify::Behaviour,
    kad: kad::Behaviour<MemoryStore>,
}

enum AdversaryCommand {
    /// Keep this record in the adversary's own store (served to every GET) and PUT it to
    /// these peers; the answer says whether every one of them acknowledged it.
    Serve(Record, Vec<PeerId>, oneshot::Sender<Result<(), String>>),
    /// A GET query for a key: each remote peer's answer.
    Probe(RecordKey, oneshot::Sender<HashMap<PeerId, Vec<u8>>>),
}

struct Adversary {
    peer_id: PeerId,
    commands: mpsc::Sender<AdversaryCommand>,
    /// GET requests answered with a record from the adversary's store.
    served: Arc<AtomicUsize>,
}

impl Adversary {
    async fn start(honest: &[(PeerId, Multiaddr)]) -> Self {
        let key = identity::Keypair::ed25519_from_bytes([66; 32]).unwrap();
        let peer_id = key.public().to_peer_id();
        let mut kad_config = kad::Config::new(KAD_PROTOCOL);
        // Ignore what others PUT here (read repair would overwrite the forgery), and cache
        // nothing at others after a query.
        kad_config.set_record_filtering(kad::StoreInserts::FilterBoth);
        kad_config.set_caching(kad::Caching::Disabled);
        kad_config.set_query_timeout(Duration::from_secs(10));
        let mut kad = kad::Behaviour::with_config(peer_id, MemoryStore::new(peer_id), kad_config);
        kad.set_mode(Some(Mode::Server));
        let identify = identify::Behaviour::new(identify::Config::new(
            kith_net::protocol::IDENTIFY_PROTOCOL_VERSION.to_owned(),
            key.public(),
        ));
        let behaviour = AdversaryBehaviour { identify, kad };
        let mut swarm: Swarm<AdversaryBehaviour> = SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|_| behaviour)
            .unwrap()
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
            .build();
        // Listen first, so identify tells the honest peers where the adversary's DHT
        // server is (they add it to their routing tables from that).
        swarm
            .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .unwrap();
        tokio::time::timeout(DEADLINE, async {
            loop {
                if let SwarmEvent::NewListenAddr { .. } = swarm.select_next_some().await {
                    break;
                }
            }
        })
        .await
        .expect("the adversary listens");
        for (peer, addr) in honest {
            swarm.behaviour_mut().kad.add_address(peer, addr.clone());
            swarm.dial(addr.clone()).unwrap();
        }
        let (commands, receiver) = mpsc::channel(16);
        let served = Arc::new(AtomicUsize::new(0));
        tokio::spawn(run_adversary(swarm, receiver, Arc::clone(&served)));
        Self {
            peer_id,
            commands,
            served,
        }
    }

    async fn serve(&self, record: Record, to: Vec<PeerId>) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(AdversaryCommand::Serve(record, to, reply))
            .await
            .unwrap();
        answer.await.unwrap()
    }

    async fn probe(&self, key: RecordKey) -> HashMap<PeerId, Vec<u8>> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(AdversaryCommand::Probe(key, reply))
            .await
            .unwrap();
        answer.await.unwrap()
    }
}

async fn run_adversary(
    mut swarm: Swarm<AdversaryBehaviour>,
    mut commands: mpsc::Receiver<AdversaryCommand>,
    served: Arc<AtomicUsize>,
) {
    type ProbeReply = oneshot::Sender<HashMap<PeerId, Vec<u8>>>;
    let mut puts: HashMap<QueryId, oneshot::Sender<Result<(), String>>> = HashMap::new();
    let mut probes: HashMap<QueryId, (HashMap<PeerId, Vec<u8>>, ProbeReply)> = HashMap::new();
    loop {
        tokio::select! {
            event = swarm.select_next_some() => {
                let SwarmEvent::Behaviour(AdversaryBehaviourEvent::Kad(event)) = event else {
                    continue;
                };
                match event {
                    kad::Event::InboundRequest {
                        request: InboundRequest::GetRecord { present_locally: true, .. },
                    } => {
                        served.fetch_add(1, Ordering::SeqCst);
                    }
                    kad::Event::OutboundQueryProgressed {
                        id,
                        result: QueryResult::PutRecord(result),
                        ..
                    } => {
                        if let Some(reply) = puts.remove(&id) {
                            let _ = reply.send(result.map(|_| ()).map_err(|e| format!("{e:?}")));
                        }
                    }
                    kad::Event::OutboundQueryProgressed {
                        id,
                        result: QueryResult::GetRecord(result),
                        step,
                        ..
                    } => {
                        if let Some((answers, _)) = probes.get_mut(&id)
                            && let Ok(GetRecordOk::FoundRecord(PeerRecord {
                                peer: Some(peer),
                                record,
                            })) = result
                        {
                            answers.insert(peer, record.value);
                        }
                        if step.last
                            && let Some((answers, reply)) = probes.remove(&id)
                        {
                            let _ = reply.send(answers);
                        }
                    }
                    _ => {}
                }
            }
            command = commands.recv() => match command {
                None => break,
                Some(AdversaryCommand::Serve(record, to, reply)) => {
                    let kad = &mut swarm.behaviour_mut().kad;
                    kad.store_mut().put(record.clone()).unwrap();
                    let id = kad.put_record_to(record, to.into_iter(), Quorum::All);
                    puts.insert(id, reply);
                }
                Some(AdversaryCommand::Probe(key, reply)) => {
                    let id = swarm.behaviour_mut().kad.get_record(key);
                    probes.insert(id, (HashMap::new(), reply));
                }
            },
        }
    }
}

/// `bytes` with `from` replaced by `to` (same length) at its single occurrence.
fn splice(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(at.len(), 1, "the pattern occurs once");
    let mut out = bytes.to_vec();
    out[at[0]..at[0] + to.len()].copy_from_slice(to);
    out
}

/// The forged and stale records the adversary PUTs under the author's head key.
fn forgeries(author: &Keypair, older: &FeedHead) -> Vec<(&'static str, Vec<u8>)> {
    let stranger = Keypair::from_seed(&[99; 32]);
    let ts = now_ms() - 500;
    // The author's own head at N+100, one bit of its signature flipped. In the canonical
    // encoding the signature follows the text key "sig" and the byte-string header 0x58 0x40.
    let mut bad_signature = FeedHead::sign(author, N + 100, ContentId::of(b"forged"), ts).encode();
    let sig_at = (0..bad_signature.len() - 6)
        .find(|&i| bad_signature[i..i + 6] == [0x63, b's', b'i', b'g', 0x58, 0x40])
        .unwrap()
        + 6;
    bad_signature[sig_at + 10] ^= 0x01;
    // A stranger's head at N+100, with the author's key put in it: the stranger's signature.
    let stranger_head = FeedHead::sign(&stranger, N + 100, ContentId::of(b"forged"), ts);
    let signed_by_another = splice(
        &stranger_head.encode(),
        stranger.author().as_bytes(),
        author.author().as_bytes(),
    );
    // A stranger's valid head, stored under the author's key.
    let wrong_key = FeedHead::sign(&stranger, N + 100, ContentId::of(b"theirs"), ts).encode();
    let garbage: Vec<u8> = (0..300u32).map(|i| (i * 37 + 11) as u8).collect();
    vec![
        ("the author's seq N+100 with a bad signature", bad_signature),
        ("seq N+100 signed by another key", signed_by_another),
        ("the author's older valid head, seq N-1", older.encode()),
        ("another author's valid head under this key", wrong_key),
        ("garbage bytes", garbage),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_stale_heads_over_kad_leave_the_stored_head_and_lookups_at_the_highest_valid_seq()
{
    let started = Instant::now();
    // The honest DHT.
    let mut peers = Vec::new();
    let (first, first_events) = honest(1, Vec::new()).await;
    drain(first_events);
    let first_addr = first.listen_addrs().await.unwrap().remove(0);
    peers.push(first);
    for seed in 2..=HONEST as u8 {
        let (peer, events) = honest(seed, vec![first_addr.clone()]).await;
        drain(events);
        peers.push(peer);
    }
    let mut honest_addrs = Vec::new();
    for peer in &peers {
        honest_addrs.push((peer.peer_id(), peer.listen_addrs().await.unwrap().remove(0)));
    }
    let honest_ids: Vec<PeerId> = peers.iter().map(NetHandle::peer_id).collect();
    let honest_set: HashSet<PeerId> = honest_ids.iter().copied().collect();
    wait_for("the first peer to see every other", || async {
        peers[0].peers().await.unwrap().len() >= HONEST - 1
    })
    .await;

    // The adversary joins the DHT as a server.
    let adversary = Adversary::start(&honest_addrs).await;
    wait_for("every honest peer connected to the adversary", || async {
        for peer in &peers {
            if !peer
                .peers()
                .await
                .unwrap()
                .iter()
                .any(|p| p.peer_id == adversary.peer_id)
            {
                return false;
            }
        }
        true
    })
    .await;

    // The author's heads: N-1 (stale, signed earlier), then N, put through the first peer.
    let author = Keypair::from_seed(&[7; 32]);
    let key = RecordKey::new(&head_key(&author.author()));
    let older = FeedHead::sign(&author, N - 1, ContentId::of(b"entry 6"), now_ms() - 60_000);
    let genuine = FeedHead::sign(&author, N, ContentId::of(b"entry 7"), now_ms() - 1_000);
    let genuine_bytes = genuine.encode();
    peers[0].put_head(genuine.clone()).await.unwrap();
    // Every honest peer looks it up, so every one holds it (a lookup caches the newest).
    for (i, peer) in peers.iter().enumerate() {
        wait_for(&format!("honest peer {i} to find seq N"), || async {
            peer.get_head(author.author()).await.unwrap().as_ref() == Some(&genuine)
        })
        .await;
    }
    // Read back directly from each honest peer's store: all hold exactly the genuine head.
    let stored = adversary.probe(key.clone()).await;
    assert_eq!(
        stored.keys().copied().collect::<HashSet<_>>(),
        honest_set,
        "every honest peer answers with the head"
    );
    assert!(stored.values().all(|value| *value == genuine_bytes));

    for (what, value) in forgeries(&author, &older) {
        // The forgery is invalid (or stale) by the record rules themselves.
        if let Ok(head) = FeedHead::validate_record(key.as_ref(), &value, now_ms()) {
            assert!(head.seq() < N, "{what}: a valid head newer than N");
        }
        // PUT straight to every honest peer, each acknowledging it; the adversary keeps
        // it and serves it to every GET from now on.
        adversary
            .serve(Record::new(key.clone(), value.clone()), honest_ids.clone())
            .await
            .unwrap_or_else(|e| panic!("{what}: not delivered to every honest peer: {e}"));

        // Each honest peer still stores exactly the genuine head.
        let stored = adversary.probe(key.clone()).await;
        assert_eq!(
            stored.keys().copied().collect::<HashSet<_>>(),
            honest_set,
            "{what}: an honest peer no longer answers with a head"
        );
        for (peer, stored) in &stored {
            assert_eq!(
                stored, &genuine_bytes,
                "{what}: honest peer {peer} stores something else"
            );
        }

        // Each honest peer's full lookup returns the genuine head, and reaches the
        // adversary, which answers with the forgery. (One at a time, so each GET the
        // adversary serves is that lookup's.)
        for (i, peer) in peers.iter().enumerate() {
            let lookup_started = Instant::now();
            loop {
                let before = adversary.served.load(Ordering::SeqCst);
                let found = peer.get_head(author.author()).await.unwrap();
                assert_eq!(
                    found.as_ref(),
                    Some(&genuine),
                    "{what}: honest peer {i}'s lookup"
                );
                // The query has ended; the adversary counted the GET before answering it.
                let asked = Instant::now();
                while adversary.served.load(Ordering::SeqCst) == before
                    && asked.elapsed() < Duration::from_secs(1)
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                if adversary.served.load(Ordering::SeqCst) > before {
                    break;
                }
                // Not in this peer's routing table yet: ask again.
                assert!(
                    lookup_started.elapsed() < DEADLINE,
                    "{what}: honest peer {i}'s lookups never reached the adversary"
                );
            }
        }
        // And the quick lookups, which answer at the first valid remote answer.
        for (i, peer) in peers.iter().enumerate() {
            assert_eq!(
                peer.get_head_quick(author.author()).await.unwrap().as_ref(),
                Some(&genuine),
                "{what}: honest peer {i}'s quick lookup"
            );
        }
    }

    // After every lookup and its read repair, the stored heads are still the genuine one.
    let stored = adversary.probe(key.clone()).await;
    assert_eq!(stored.keys().copied().collect::<HashSet<_>>(), honest_set);
    assert!(stored.values().all(|value| *value == genuine_bytes));

    // Control: the same path carries a valid newer head (seq N+1, the author's, relayed by
    // the adversary) into every honest store and lookup, so the refusals above are the
    // checks at work, not PUTs or answers that never arrived.
    let newer = FeedHead::sign(&author, N + 1, ContentId::of(b"entry 8"), now_ms() - 100);
    adversary
        .serve(Record::new(key.clone(), newer.encode()), honest_ids.clone())
        .await
        .unwrap();
    let stored = adversary.probe(key.clone()).await;
    assert_eq!(stored.keys().copied().collect::<HashSet<_>>(), honest_set);
    assert!(stored.values().all(|value| *value == newer.encode()));
    for peer in &peers {
        assert_eq!(
            peer.get_head(author.author()).await.unwrap(),
            Some(newer.clone())
        );
    }
    eprintln!(
        "kad_heads: {} GETs served by the adversary, {:?}",
        adversary.served.load(Ordering::SeqCst),
        started.elapsed()
    );
}

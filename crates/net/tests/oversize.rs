//! A 100 MB message on every protocol: cut at the framing limit, memory bounded, honest
//! traffic unaffected.
//!
//! An adversary (a bare libp2p swarm that opens raw streams, with a plain gossipsub beside
//! them so the honest peer keeps gossipsub on the connection) opens a stream to an honest
//! `kith-net` peer on each of its protocols (gossipsub `/meshsub/1.1.0` and `/meshsub/1.2.0`,
//! `/kith/fetch/1.0.0`, `/kith/names/1.0.0`, `/kith/kad/1.0.0`) and writes a well-formed
//! message whose length prefix (protobuf varint, or CBOR byte/text-string header)
//! announces 100 MiB, followed by its body in 64 KiB pieces, until the honest peer closes or
//! resets the stream. Each frame format is first shown to work with a small message of the
//! same shape (delivered, answered, stored), so the refusals are the limits at work.
//!
//! Asserted: every such stream is closed or reset by the honest peer after it accepted at
//! most 16 MiB of the 100 MiB (in practice under 1.5 MiB: the limit plus yamux's window); nothing of it reaches the application (no `NetEvent` from
//! the adversary after the small controls, nothing stored under the kad key); the process's
//! peak resident memory during the attacks grows by far less than the message; and
//! afterwards a second honest peer, connected all along, still fetches from the attacked
//! peer and exchanges gossip with it both ways.

// Test helpers outside #[test] functions unwrap freely.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use kith_net::libp2p::gossipsub::{self, MessageAcceptance};
use kith_net::libp2p::identity;
use kith_net::libp2p::kad::Mode;
use kith_net::libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use kith_net::libp2p::{
    Multiaddr, PeerId, Stream, StreamProtocol, Swarm, SwarmBuilder, noise, tcp, yamux,
};
use kith_net::protocol::{
    FETCH_PROTOCOL, KAD_PROTOCOL, MAX_FETCH_REQUEST_BYTES, MAX_GOSSIP_FRAME,
    MAX_NAME_MESSAGE_BYTES, NAMES_PROTOCOL,
};
use kith_net::{
    FetchRequest, FetchResponse, NameRequest, NameResponse, NetConfig, NetEvent, NetHandle, Topic,
};
use kith_proto::{ContentId, FeedHead, Keypair, head_key};
use tokio::sync::{mpsc, oneshot};

const DEADLINE: Duration = Duration::from_secs(60);
/// What every oversize message announces.
const HUGE: u64 = 100 * 1024 * 1024;
/// Most bytes of it the honest peer may take before it closes the stream: the largest
/// framing limit (640 KiB) plus what yamux lets a writer have in flight.
const MOST_ACCEPTED: u64 = 16 * 1024 * 1024;
/// Most the process's resident memory may grow during the attacks: half the message, so a
/// peer that buffered one would fail.
const MOST_GROWTH: u64 = HUGE / 2;
const CHUNK: usize = 64 * 1024;
/// Capacity of the channel reporting what the attacked peer's application was handed.
const SEEN_QUEUE: usize = 1024;

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

async fn honest(seed: u8, kad_mode: Mode) -> (NetHandle, mpsc::Receiver<NetEvent>) {
    let config = NetConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        kad_mode: Some(kad_mode),
        allow_private_addresses: true,
        gossip_heartbeat: Duration::from_millis(100),
        ..NetConfig::default()
    };
    kith_net::start(
        identity::Keypair::ed25519_from_bytes([seed; 32]).unwrap(),
        config,
    )
    .await
    .unwrap()
}

/// What the attacked peer's application was handed.
#[derive(Debug)]
enum Seen {
    Gossip { source: PeerId, data: Vec<u8> },
    Fetch { peer: PeerId, request: FetchRequest },
    Names { peer: PeerId, request: NameRequest },
}

fn canned_response() -> FetchResponse {
    FetchResponse {
        entries: vec![serde_bytes::ByteBuf::from(b"an entry".to_vec())],
        more: false,
    }
}

/// The attacked peer's application: answers fetches with [`canned_response`] and name
/// requests with `NotFound`, accepts gossip, and reports everything it was handed.
fn application(handle: NetHandle, mut events: mpsc::Receiver<NetEvent>) -> mpsc::Receiver<Seen> {
    let (seen, observed) = mpsc::channel(SEEN_QUEUE);
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                NetEvent::Gossip {
                    source,
                    message_id,
                    data,
                    ..
                } => {
                    let _ = handle
                        .report_gossip(message_id, source, MessageAcceptance::Accept)
                        .await;
                    let _ = seen.send(Seen::Gossip { source, data }).await;
                }
                NetEvent::Fetch {
                    peer,
                    request,
                    reply,
                } => {
                    let _ = reply.send(canned_response());
                    let _ = seen.send(Seen::Fetch { peer, request }).await;
                }
                NetEvent::Names {
                    peer,
                    request,
                    reply,
                } => {
                    let _ = reply.send(NameResponse::NotFound);
                    let _ = seen.send(Seen::Names { peer, request }).await;
                }
                _ => {}
            }
        }
    });
    observed
}

/// Opens raw outbound streams on any protocol: the core of `libp2p-stream`, which the
/// workspace does not enable.
mod raw {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::task::{Context, Poll, Waker};

    use kith_net::libp2p::core::transport::PortUse;
    use kith_net::libp2p::core::upgrade::{DeniedUpgrade, ReadyUpgrade};
    use kith_net::libp2p::core::{Endpoint, Multiaddr};
    use kith_net::libp2p::swarm::handler::{
        ConnectionEvent, DialUpgradeError, FullyNegotiatedOutbound,
    };
    use kith_net::libp2p::swarm::{
        ConnectionDenied, ConnectionHandler, ConnectionHandlerEvent, ConnectionId, FromSwarm,
        NetworkBehaviour, NotifyHandler, SubstreamProtocol, THandler, THandlerInEvent,
        THandlerOutEvent, ToSwarm,
    };
    use kith_net::libp2p::{PeerId, Stream, StreamProtocol};
    use tokio::sync::oneshot;

    pub(crate) struct Open {
        pub(crate) protocol: StreamProtocol,
        pub(crate) reply: oneshot::Sender<Result<Stream, String>>,
    }

    impl std::fmt::Debug for Open {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Open({})", self.protocol)
        }
    }

    #[derive(Default)]
    pub(crate) struct Behaviour {
        pending: VecDeque<(PeerId, Open)>,
        waker: Option<Waker>,
    }

    impl Behaviour {
        /// Opens a stream on a connection to `peer` (which must be connected).
        pub(crate) fn open(&mut self, peer: PeerId, open: Open) {
            self.pending.push_back((peer, open));
            if let Some(waker) = self.waker.take() {
                waker.wake();
            }
        }
    }

    impl NetworkBehaviour for Behaviour {
        type ConnectionHandler = Handler;
        type ToSwarm = Infallible;

        fn handle_established_inbound_connection(
            &mut self,
            _: ConnectionId,
            _: PeerId,
            _: &Multiaddr,
            _: &Multiaddr,
        ) -> Result<THandler<Self>, ConnectionDenied> {
            Ok(Handler::default())
        }

        fn handle_established_outbound_connection(
            &mut self,
            _: ConnectionId,
            _: PeerId,
            _: &Multiaddr,
            _: Endpoint,
            _: PortUse,
        ) -> Result<THandler<Self>, ConnectionDenied> {
            Ok(Handler::default())
        }

        fn on_swarm_event(&mut self, _: FromSwarm<'_>) {}

        fn on_connection_handler_event(
            &mut self,
            _: PeerId,
            _: ConnectionId,
            event: THandlerOutEvent<Self>,
        ) {
            match event {}
        }

        fn poll(
            &mut self,
            cx: &mut Context<'_>,
        ) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
            match self.pending.pop_front() {
                Some((peer_id, open)) => Poll::Ready(ToSwarm::NotifyHandler {
                    peer_id,
                    handler: NotifyHandler::Any,
                    event: open,
                }),
                None => {
                    self.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }
    }

    #[derive(Default)]
    pub(crate) struct Handler {
        pending: VecDeque<Open>,
        waker: Option<Waker>,
    }

    impl ConnectionHandler for Handler {
        type FromBehaviour = Open;
        type ToBehaviour = Infallible;
        type InboundProtocol = DeniedUpgrade;
        type OutboundProtocol = ReadyUpgrade<StreamProtocol>;
        type InboundOpenInfo = ();
        type OutboundOpenInfo = oneshot::Sender<Result<Stream, String>>;

        fn listen_protocol(&self) -> SubstreamProtocol<DeniedUpgrade> {
            SubstreamProtocol::new(DeniedUpgrade, ())
        }

        fn connection_keep_alive(&self) -> bool {
            true
        }

        fn poll(
            &mut self,
            cx: &mut Context<'_>,
        ) -> Poll<
            ConnectionHandlerEvent<
                ReadyUpgrade<StreamProtocol>,
                oneshot::Sender<Result<Stream, String>>,
                Infallible,
            >,
        > {
            match self.pending.pop_front() {
                Some(open) => Poll::Ready(ConnectionHandlerEvent::OutboundSubstreamRequest {
                    protocol: SubstreamProtocol::new(ReadyUpgrade::new(open.protocol), open.reply),
                }),
                None => {
                    self.waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }

        fn on_behaviour_event(&mut self, open: Open) {
            self.pending.push_back(open);
            if let Some(waker) = self.waker.take() {
                waker.wake();
            }
        }

        fn on_connection_event(
            &mut self,
            event: ConnectionEvent<
                '_,
                DeniedUpgrade,
                ReadyUpgrade<StreamProtocol>,
                (),
                oneshot::Sender<Result<Stream, String>>,
            >,
        ) {
            match event {
                ConnectionEvent::FullyNegotiatedOutbound(FullyNegotiatedOutbound {
                    protocol,
                    info,
                }) => {
                    let _ = info.send(Ok(protocol));
                }
                ConnectionEvent::DialUpgradeError(DialUpgradeError { info, error }) => {
                    let _ = info.send(Err(error.to_string()));
                }
                _ => {}
            }
        }
    }
}

#[derive(NetworkBehaviour)]
struct AdversaryBehaviour {
    raw: raw::Behaviour,
    /// Answers the honest peer's own gossipsub streams; without it the honest peer would
    /// turn gossipsub off on this connection and refuse the raw gossipsub streams.
    gossipsub: gossipsub::Behaviour,
}

enum AdversaryCommand {
    Open(StreamProtocol, oneshot::Sender<Result<Stream, String>>),
}

/// The adversary's swarm task, dialling `target` whenever it is not connected.
struct Adversary {
    peer_id: PeerId,
    commands: mpsc::Sender<AdversaryCommand>,
    /// Connections to the target established so far.
    connections: Arc<AtomicU64>,
    /// Connections to the target closed so far.
    disconnections: Arc<AtomicU64>,
}

impl Adversary {
    async fn start(target: PeerId, target_addr: Multiaddr) -> Self {
        let key = identity::Keypair::ed25519_from_bytes([66; 32]).unwrap();
        let peer_id = key.public().to_peer_id();
        let gossipsub = gossipsub::Behaviour::new(
            gossipsub::MessageAuthenticity::Anonymous,
            gossipsub::ConfigBuilder::default()
                .validation_mode(gossipsub::ValidationMode::Anonymous)
                .build()
                .unwrap(),
        )
        .unwrap();
        let behaviour = AdversaryBehaviour {
            raw: raw::Behaviour::default(),
            gossipsub,
        };
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
        swarm.dial(target_addr.clone()).unwrap();
        let mut dialing = true;
        let (commands, mut receiver) = mpsc::channel::<AdversaryCommand>(16);
        let connections = Arc::new(AtomicU64::new(0));
        let established = Arc::clone(&connections);
        let disconnections = Arc::new(AtomicU64::new(0));
        let lost = Arc::clone(&disconnections);
        tokio::spawn(async move {
            let mut waiting = Vec::new();
            loop {
                tokio::select! {
                    event = swarm.select_next_some() => match event {
                        SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == target => {
                            established.fetch_add(1, Ordering::SeqCst);
                            dialing = false;
                            for (protocol, reply) in waiting.drain(..) {
                                swarm.behaviour_mut().raw.open(target, raw::Open { protocol, reply });
                            }
                        }
                        SwarmEvent::ConnectionClosed { peer_id, .. } if peer_id == target => {
                            lost.fetch_add(1, Ordering::SeqCst);
                        }
                        SwarmEvent::OutgoingConnectionError { error, .. } => {
                            dialing = false;
                            for (_, reply) in waiting.drain(..) {
                                let _ = reply.send(Err::<Stream, String>(error.to_string()));
                            }
                        }
                        _ => {}
                    },
                    command = receiver.recv() => match command {
                        None => break,
                        Some(AdversaryCommand::Open(protocol, reply)) => {
                            if swarm.is_connected(&target) {
                                swarm.behaviour_mut().raw.open(target, raw::Open { protocol, reply });
                            } else {
                                if !dialing {
                                    dialing = swarm.dial(target_addr.clone()).is_ok();
                                }
                                waiting.push((protocol, reply));
                            }
                        }
                    },
                }
            }
        });
        Self {
            peer_id,
            commands,
            connections,
            disconnections,
        }
    }

    async fn open(&self, protocol: &StreamProtocol) -> Stream {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(AdversaryCommand::Open(protocol.clone(), reply))
            .await
            .unwrap();
        tokio::time::timeout(DEADLINE, answer)
            .await
            .expect("a stream opens")
            .unwrap()
            .unwrap_or_else(|e| panic!("cannot open a {protocol} stream: {e}"))
    }
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A length-delimited protobuf field's header: tag, then the varint length.
fn field(tag: u8, len: u64, out: &mut Vec<u8>) {
    out.push(tag);
    varint(len, out);
}

/// The start of a gossipsub frame (varint length, then `RPC { publish: [Message { topic,
/// data }] }`) whose data is `data_len` bytes, up to where the data begins.
fn gossip_frame_head(topic: &str, data_len: u64) -> Vec<u8> {
    let mut message = Vec::new();
    field(0x22, topic.len() as u64, &mut message); // topic = 4
    message.extend_from_slice(topic.as_bytes());
    field(0x12, data_len, &mut message); // data = 2
    let message_len = message.len() as u64 + data_len;
    let mut rpc = Vec::new();
    field(0x12, message_len, &mut rpc); // publish = 2
    let rpc_len = rpc.len() as u64 + message_len;
    let mut frame = Vec::new();
    varint(rpc_len, &mut frame);
    frame.extend(rpc);
    frame.extend(message);
    frame
}

/// The start of a Kademlia frame (varint length, then `Message { type: PUT_VALUE, key,
/// record: Record { key, value } }`) whose value is `value_len` bytes, up to where the
/// value begins.
fn kad_put_head(key: &[u8], value_len: u64) -> Vec<u8> {
    let mut record = Vec::new();
    field(0x0a, key.len() as u64, &mut record); // Record.key = 1
    record.extend_from_slice(key);
    field(0x12, value_len, &mut record); // Record.value = 2
    let record_len = record.len() as u64 + value_len;
    let mut message = vec![0x08, 0x00]; // type = PUT_VALUE (0)
    field(0x12, key.len() as u64, &mut message); // key = 2
    message.extend_from_slice(key);
    field(0x1a, record_len, &mut message); // record = 3
    let message_len = message.len() as u64 + record_len;
    let mut frame = Vec::new();
    varint(message_len, &mut frame);
    frame.extend(message);
    frame.extend(record);
    frame
}

fn cbor<T: serde::Serialize>(value: &T) -> Vec<u8> {
    cbor4ii::serde::to_vec(Vec::new(), value).unwrap()
}

/// `encoded` (a CBOR message ending in an empty string of major type `major`, 2 for a byte
/// string, 3 for text) with that string's header changed to announce `len` bytes: the start
/// of the message, up to where the string's bytes begin.
fn cbor_string_head(mut encoded: Vec<u8>, major: u8, len: u64) -> Vec<u8> {
    assert_eq!(encoded.pop(), Some(major << 5), "ends with an empty string");
    encoded.push((major << 5) | 26);
    encoded.extend_from_slice(&u32::try_from(len).unwrap().to_be_bytes());
    encoded
}

/// How an oversize message ended.
#[derive(Debug)]
struct Cut {
    /// Bytes of the message the honest peer's stream accepted.
    accepted: u64,
    /// How the stream ended.
    how: String,
    took: Duration,
}

/// Writes `head` and then `body_len` bytes on `stream`, 64 KiB at a time, until the remote
/// closes or resets the stream; fails if it takes the whole message or neither closes nor
/// resets it within [`DEADLINE`].
async fn write_until_cut(stream: Stream, head: &[u8], body_len: u64) -> Cut {
    let started = Instant::now();
    let (mut reader, mut writer) = stream.split();
    let (ended, mut end) = oneshot::channel();
    tokio::spawn(async move {
        let mut buf = vec![0; 4096];
        let how = loop {
            match reader.read(&mut buf).await {
                Ok(0) => break "closed by the remote (end of stream)".to_owned(),
                Ok(_) => continue,
                Err(e) => break format!("reset by the remote (read: {e})"),
            }
        };
        let _ = ended.send(how);
    });
    let total = head.len() as u64 + body_len;
    let chunk = vec![b'x'; CHUNK];
    let mut accepted = 0u64;
    loop {
        if let Ok(how) = end.try_recv() {
            return Cut {
                accepted,
                how,
                took: started.elapsed(),
            };
        }
        assert!(
            accepted < total,
            "the honest peer took the whole {total}-byte message"
        );
        assert!(
            started.elapsed() < DEADLINE,
            "the stream was neither closed nor reset after {accepted} bytes"
        );
        let piece = if accepted < head.len() as u64 {
            &head[accepted as usize..]
        } else {
            let left = (total - accepted).min(CHUNK as u64) as usize;
            &chunk[..left]
        };
        // A write that waits is the remote not reading any more: look for its close.
        match tokio::time::timeout(Duration::from_millis(100), writer.write(piece)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => accepted += n as u64,
            Ok(Err(e)) => {
                return Cut {
                    accepted,
                    how: format!("reset by the remote (write: {e})"),
                    took: started.elapsed(),
                };
            }
            Err(_) => {}
        }
    }
}

/// Writes a whole small message, half-closes, and reads the answer to its end.
async fn exchange(stream: Stream, message: &[u8]) -> Vec<u8> {
    let (mut reader, mut writer) = stream.split();
    writer.write_all(message).await.unwrap();
    writer.close().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(DEADLINE, reader.read_to_end(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    answer
}

/// Resident memory of this process, in bytes.
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Samples [`resident`] every 5 ms until stopped; returns the peak.
struct PeakMemory {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
}

impl PeakMemory {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(resident()));
        let thread = {
            let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    peak.fetch_max(resident(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Self { stop, peak, thread }
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().unwrap();
        self.peak.load(Ordering::SeqCst).max(resident())
    }
}

/// The next thing the application was handed, within [`DEADLINE`].
async fn next_seen(observed: &mut mpsc::Receiver<Seen>) -> Seen {
    tokio::time::timeout(DEADLINE, observed.recv())
        .await
        .expect("the application is handed something")
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_message_on_every_protocol_is_cut_at_its_limit_and_honest_traffic_goes_on() {
    let started = Instant::now();
    let author = Keypair::from_seed(&[7; 32]);
    let topic = Topic::Feed(author.author()).ident().hash().into_string();

    // The attacked peer and a second honest peer connected to it all along.
    let (host, host_events) = honest(1, Mode::Server).await;
    let mut observed = application(host.clone(), host_events);
    let host_addr = host.listen_addrs().await.unwrap().remove(0);
    let (other, mut other_events) = honest(2, Mode::Client).await;
    other.dial(host_addr.clone()).await.unwrap();
    host.subscribe(author.author()).await.unwrap();
    other.subscribe(author.author()).await.unwrap();

    let adversary = Adversary::start(host.peer_id(), host_addr).await;

    // Controls: small messages in the very frames used below reach the application (or the
    // store), so what is refused later is refused for its size.
    let mut stream = adversary.open(&StreamProtocol::new("/meshsub/1.1.0")).await;
    let mut frame = gossip_frame_head(&topic, 7);
    frame.extend_from_slice(b"control");
    stream.write_all(&frame).await.unwrap();
    stream.flush().await.unwrap();
    match next_seen(&mut observed).await {
        Seen::Gossip { source, data } => {
            assert_eq!(source, adversary.peer_id);
            assert_eq!(data, b"control");
        }
        other => panic!("expected the control gossip, got {other:?}"),
    }
    drop(stream);

    let request = FetchRequest::range(&author.author(), 1, 10);
    let answer = exchange(adversary.open(&FETCH_PROTOCOL).await, &cbor(&request)).await;
    let response: FetchResponse = cbor4ii::serde::from_slice(&answer).unwrap();
    assert_eq!(response, canned_response());
    match next_seen(&mut observed).await {
        Seen::Fetch { peer, request: got } => {
            assert_eq!(peer, adversary.peer_id);
            assert_eq!(got, request);
        }
        other => panic!("expected the control fetch, got {other:?}"),
    }

    let request = NameRequest::Lookup {
        name: "alice".into(),
    };
    let answer = exchange(adversary.open(&NAMES_PROTOCOL).await, &cbor(&request)).await;
    let response: NameResponse = cbor4ii::serde::from_slice(&answer).unwrap();
    assert_eq!(response, NameResponse::NotFound);
    match next_seen(&mut observed).await {
        Seen::Names { peer, request: got } => {
            assert_eq!(peer, adversary.peer_id);
            assert_eq!(got, request);
        }
        other => panic!("expected the control name request, got {other:?}"),
    }

    let stored_author = Keypair::from_seed(&[8; 32]);
    let stored_head = FeedHead::sign(&stored_author, 3, ContentId::of(b"e3"), now_ms() - 1000);
    let value = stored_head.encode();
    let mut frame = kad_put_head(&head_key(&stored_author.author()), value.len() as u64);
    frame.extend_from_slice(&value);
    let mut stream = adversary.open(&KAD_PROTOCOL).await;
    stream.write_all(&frame).await.unwrap();
    stream.flush().await.unwrap();
    let mut answer = [0u8; 1];
    tokio::time::timeout(DEADLINE, stream.read_exact(&mut answer))
        .await
        .expect("kad acknowledges the PUT")
        .unwrap();
    drop(stream);
    assert_eq!(
        host.get_head(stored_author.author()).await.unwrap(),
        Some(stored_head),
        "the control head is stored"
    );

    // The attacks, one stream each.
    let huge_author = Keypair::from_seed(&[9; 32]);
    let huge_key = head_key(&huge_author.author());
    let slug = FetchRequest::Slug {
        author: author.author().as_bytes().to_vec(),
        slug: String::new(),
    };
    let claim = NameRequest::Claim { claim: Vec::new() };
    let attacks: Vec<(StreamProtocol, Vec<u8>, u64)> = vec![
        (
            StreamProtocol::new("/meshsub/1.1.0"),
            gossip_frame_head(&topic, HUGE),
            MAX_GOSSIP_FRAME as u64,
        ),
        (
            StreamProtocol::new("/meshsub/1.2.0"),
            gossip_frame_head(&topic, HUGE),
            MAX_GOSSIP_FRAME as u64,
        ),
        (
            FETCH_PROTOCOL,
            cbor_string_head(cbor(&slug), 3, HUGE),
            MAX_FETCH_REQUEST_BYTES,
        ),
        (
            NAMES_PROTOCOL,
            cbor_string_head(cbor(&claim), 2, HUGE),
            MAX_NAME_MESSAGE_BYTES,
        ),
        (KAD_PROTOCOL, kad_put_head(&huge_key, HUGE), 16 * 1024),
    ];
    let before = resident();
    let peak = PeakMemory::start();
    let mut cuts = HashMap::new();
    for (protocol, head, limit) in attacks {
        let stream = adversary.open(&protocol).await;
        let cut = write_until_cut(stream, &head, HUGE).await;
        eprintln!(
            "{protocol} (limit {limit} bytes): {} bytes accepted, then {} after {:?}",
            cut.accepted, cut.how, cut.took
        );
        assert!(
            cut.accepted <= MOST_ACCEPTED,
            "{protocol}: {} bytes accepted before the cut",
            cut.accepted
        );
        cuts.insert(protocol.to_string(), cut);
    }
    let peak = peak.stop();
    let growth = peak.saturating_sub(before);
    eprintln!(
        "resident memory: {} MiB before, peak {} MiB during the attacks (+{} MiB)",
        before >> 20,
        peak >> 20,
        growth >> 20
    );
    assert!(
        growth < MOST_GROWTH,
        "resident memory grew by {growth} bytes during the attacks"
    );
    assert_eq!(cuts.len(), 5);

    // Honest traffic with the attacked peer goes on: a fetch, gossip both ways.
    let response = other
        .fetch(host.peer_id(), FetchRequest::range(&author.author(), 1, 10))
        .await
        .unwrap();
    assert_eq!(response, canned_response());
    wait_for("each honest peer to see the other on the topic", || async {
        other
            .topic_peers(author.author())
            .await
            .unwrap()
            .contains(&host.peer_id())
            && host
                .topic_peers(author.author())
                .await
                .unwrap()
                .contains(&other.peer_id())
    })
    .await;
    assert!(
        other
            .publish(author.author(), b"after the attack".to_vec())
            .await
            .unwrap()
    );
    assert!(
        host.publish(author.author(), b"from the host".to_vec())
            .await
            .unwrap()
    );
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, other_events.recv()).await {
            Ok(Some(NetEvent::Gossip { data, .. })) if data == b"from the host" => break,
            // The control message, forwarded by the attacked peer; nothing else.
            Ok(Some(NetEvent::Gossip { data, .. })) => assert_eq!(data, b"control"),
            Ok(Some(_)) => {}
            _ => panic!("the second peer got no gossip from the attacked one"),
        }
    }

    // Everything the application was handed since the controls: the second peer's fetch
    // and gossip, nothing from the adversary, nothing large.
    let mut got_fetch = false;
    loop {
        match next_seen(&mut observed).await {
            Seen::Fetch { peer, .. } => {
                assert_eq!(peer, other.peer_id(), "a fetch from the adversary");
                got_fetch = true;
            }
            Seen::Gossip { source, data } => {
                assert_ne!(source, adversary.peer_id, "gossip from the adversary");
                assert_eq!(data, b"after the attack");
                break;
            }
            Seen::Names { peer, .. } => panic!("a name request from {peer}"),
        }
    }
    assert!(got_fetch);
    assert!(observed.try_recv().is_err(), "nothing more was handed over");
    // Nothing was stored under the oversize PUT's key.
    assert_eq!(host.get_head(huge_author.author()).await.unwrap(), None);
    eprintln!(
        "oversize: {:?}; the adversary connected {} times, disconnected {} times",
        started.elapsed(),
        adversary.connections.load(Ordering::SeqCst),
        adversary.disconnections.load(Ordering::SeqCst)
    );
}

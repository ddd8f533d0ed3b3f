//! Catching up with feeds and storing what arrives from the network.
//!
//! Everything that arrives is verified before the store sees it (`validate_batch`); the
//! store then decides how it fits the feed (next, duplicate, gap, fork). Gaps are filled by
//! fetching ranges of up to 512 entries from a peer that has them: the peer that sent the
//! entry after the gap, else the feed's providers found on the DHT. A catch-up from one peer
//! is a pipeline: the next range is on the wire while earlier ones are verified (on the
//! blocking pool) and committed (by the store's writer thread), a few responses at most.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use kith_net::libp2p::PeerId;
use kith_net::protocol::{FETCH_RESPONSE_BUDGET, MAX_FETCH_ENTRIES, MAX_THREAD_ROOTS};
use kith_net::{FetchRequest, FetchResponse};
use kith_proto::{AuthorId, ContentId, VerifiedEntry, validate_batch};
use kith_store::{AppendOutcome, Store, StoreError};
use tracing::{debug, info, warn};

use crate::NodeError;
use crate::metrics::Source;
use crate::node::{Node, NodeEvent, now_ms};

/// Most providers tried, one after another, for one catch-up.
const MAX_PROVIDERS_TRIED: usize = 4;
/// How long the start-up lookup of our own head may take before posting goes ahead.
const OWN_HEAD_LOOKUP: Duration = Duration::from_secs(3);
/// Most range requests in one catch-up from one peer (512 entries each).
const MAX_ROUNDS_PER_PEER: usize = 4096;

/// Queues entries for the store. Requests are appended in queue order, so entries submitted
/// one after another (gossip of one feed) reach the store in the order they arrived.
pub(crate) async fn submit_in_order(
    node: &Node,
    entries: &[VerifiedEntry],
) -> Option<kith_store::Ticket> {
    if entries.is_empty() {
        return None;
    }
    let inner = &node.inner;
    // Received entries can be fetched again after a crash: committed without waiting for
    // the disk (durable within the store's `relaxed_flush`), which saves every follower an
    // fdatasync per received entry.
    match inner.store.try_submit_relaxed(entries.to_vec()) {
        Ok(ticket) => Some(ticket),
        Err(kith_store::StoreError::Busy) => {
            // The queue is full: wait for room off the async threads.
            let store = inner.store.clone();
            let entries = entries.to_vec();
            match tokio::task::spawn_blocking(move || store.submit_relaxed(entries)).await {
                Ok(Ok(ticket)) => Some(ticket),
                _ => None,
            }
        }
        Err(e) => {
            warn!("cannot store received entries: {e}");
            None
        }
    }
}

/// Waits for a submitted batch and tells API clients about every entry that became part of
/// a feed. A gap is filled from `source` (or providers). Returns how many entries became
/// part of their feed.
pub(crate) async fn finish_received(
    node: &Node,
    entries: Vec<VerifiedEntry>,
    ticket: kith_store::Ticket,
    source: Option<PeerId>,
    via: Source,
) -> u64 {
    finish_results(node, entries, ticket.await, source, via)
}

/// Tells API clients about every entry of a committed batch that became part of a feed and
/// starts filling gaps. Returns how many entries became part of their feed (with buffered
/// successors they released).
fn finish_results(
    node: &Node,
    entries: Vec<VerifiedEntry>,
    results: Result<Vec<kith_store::AppendResult>, StoreError>,
    source: Option<PeerId>,
    via: Source,
) -> u64 {
    let inner = &node.inner;
    let results = match results {
        Ok(results) => results,
        Err(e) => {
            warn!("store failed: {e}");
            return 0;
        }
    };
    let mut appended = 0;
    let mut gaps: Vec<AuthorId> = Vec::new();
    for (entry, result) in entries.into_iter().zip(results) {
        match result {
            Ok(AppendOutcome::Appended { drained }) => {
                let (author, seq) = (entry.author(), entry.seq());
                appended += 1 + drained;
                inner.metrics.stored(via, 1 + drained);
                if via == Source::Gossip {
                    inner.metrics.delivered(entry.ts(), now_ms());
                }
                provide_once(node, author);
                if let Ok(mut heard) = inner.last_heard.lock() {
                    heard.insert(author, std::time::Instant::now());
                }
                crate::profile::on_stored(node, &entry, source);
                notify(node, &entry);
                if matches!(entry.body(), kith_proto::Body::Sealed(_)) {
                    node.index_sealed(&entry);
                    node.index_own_sealed(&entry);
                }
                let _ = inner.events.send(NodeEvent::Entry {
                    entry: entry.into_entry(),
                    local: false,
                });
                if drained > 0 {
                    emit_range(node, author, seq + 1, drained as usize, source);
                }
            }
            Ok(AppendOutcome::Buffered { first_missing }) => {
                // The feed reaches this seq somewhere while we lack what precedes it: we are
                // behind (the beacon's lag), until the gap is filled.
                inner.routing.note_head(
                    entry.author(),
                    entry.seq(),
                    first_missing.saturating_sub(1),
                );
                if !gaps.contains(&entry.author()) {
                    gaps.push(entry.author());
                }
            }
            Ok(AppendOutcome::Detached) => {
                appended += 1;
                if matches!(entry.body(), kith_proto::Body::Sealed(_)) {
                    node.index_sealed(&entry);
                }
                inner.metrics.stored(via, 1);
                if via == Source::Gossip {
                    inner.metrics.delivered(entry.ts(), now_ms());
                }
                crate::profile::on_stored(node, &entry, source);
                notify(node, &entry);
                let _ = inner.events.send(NodeEvent::Entry {
                    entry: entry.into_entry(),
                    local: false,
                });
            }
            Ok(AppendOutcome::Duplicate | AppendOutcome::Deleted) => {}
            Err(refused) => {
                inner.metrics.rejected(via, refused.code(), 1);
                debug!("entry {} refused: {refused}", entry.id());
            }
        }
    }
    for author in gaps {
        spawn_catch_up(node, author, source);
    }
    appended
}

/// Tells API clients when a stored entry is a notification for the hosted identity.
fn notify(node: &Node, entry: &kith_proto::Entry) {
    if let Some(kind) = crate::reach::notification_for(node, entry) {
        let _ = node.inner.events.send(NodeEvent::Notification {
            kind,
            entry: entry.clone(),
        });
    }
}

fn emit_range(node: &Node, author: AuthorId, from_seq: u64, count: usize, source: Option<PeerId>) {
    match node.inner.store.feed(&author, from_seq, count) {
        Ok(entries) => {
            for entry in entries {
                crate::profile::on_stored(node, &entry, source);
                notify(node, &entry);
                // Drained from the out-of-order buffer: indexed like one appended at once.
                if matches!(entry.body(), kith_proto::Body::Sealed(_)) {
                    node.index_sealed(&entry);
                    node.index_own_sealed(&entry);
                }
                let _ = node.inner.events.send(NodeEvent::Entry {
                    entry,
                    local: false,
                });
            }
        }
        Err(e) => warn!("cannot read back appended entries: {e}"),
    }
}

/// Starts a catch-up of `author`'s feed in the background, unless one is running.
pub(crate) fn spawn_catch_up(node: &Node, author: AuthorId, preferred: Option<PeerId>) {
    spawn(node, author, preferred, false);
}

/// Starts a periodic check of `author`'s feed in the background, unless a catch-up of it is
/// running: a catch-up only if the DHT head is ahead of ours (see [`catch_up`]).
pub(crate) fn spawn_periodic_check(node: &Node, author: AuthorId) {
    spawn(node, author, None, true);
}

/// How many connected peers on a feed's topic a gap fill asks, after the peer that
/// forwarded the entry and before any DHT query.
const GAP_FILL_TOPIC_PEERS: usize = 3;

/// Longest time [`Node::fetch_feed`] waits for its catch-up (which goes on in the
/// background after that).
pub const FETCH_FEED_WAIT: Duration = Duration::from_secs(10);

impl Node {
    /// Fetches `author`'s feed once, without following them: the same catch-up a follow
    /// runs (the head from the DHT, then what this store lacks from the feed's holders in
    /// the order their scores draw, and the threads of the newest posts), run now. What
    /// arrives is verified and kept like any feed, and this peer then provides it too; no
    /// follow entry is signed and no topic is joined, so the feed is not kept current
    /// (call again to refresh it).
    ///
    /// It takes a turn among the [`MAX_CATCH_UPS`](crate::MAX_CATCH_UPS) catch-ups that run
    /// at once, and waits at most [`FETCH_FEED_WAIT`]; a longer catch-up goes on in the
    /// background. Returns how far the feed grew here by then (in seqs): 0 when the network
    /// has nothing newer, or nothing arrived in time. A blocked author is not fetched.
    pub async fn fetch_feed(&self, author: AuthorId) -> Result<u64, NodeError> {
        if self.is_blocked(&author) {
            return Ok(0);
        }
        let before = local_seq(&self.inner.store, &author)?;
        let node = self.clone();
        let task = tokio::spawn(async move {
            let Ok(_turn) = Arc::clone(&node.inner.catch_ups).acquire_owned().await else {
                return;
            };
            // Counted in `status().syncing` like a follow's catch-up; a catch-up of the feed
            // already running (a follow's, or another fetch's) keeps its mark.
            let marked = node
                .inner
                .syncing
                .lock()
                .is_ok_and(|mut syncing| syncing.insert(author));
            match catch_up(&node, author, None, false).await {
                Ok(0) => {}
                Ok(n) => info!("fetched {n} entries of {author} (not followed)"),
                Err(e) => debug!("fetch of {author} incomplete: {e}"),
            }
            if marked && let Ok(mut syncing) = node.inner.syncing.lock() {
                syncing.remove(&author);
            }
        });
        // Dropping the handle on timeout detaches the task: it finishes on its own.
        let _ = tokio::time::timeout(FETCH_FEED_WAIT, task).await;
        let after = local_seq(&self.inner.store, &author)?;
        Ok(after.saturating_sub(before))
    }
}

fn spawn(node: &Node, author: AuthorId, preferred: Option<PeerId>, periodic: bool) {
    // Marked before the task starts, so `status().syncing` counts it from the moment the
    // caller returns.
    let newly_marked = node
        .inner
        .syncing
        .lock()
        .is_ok_and(|mut syncing| syncing.insert(author));
    if !newly_marked {
        return;
    }
    let node = node.clone();
    tokio::spawn(async move {
        let permit = Arc::clone(&node.inner.catch_ups).acquire_owned().await;
        let result = catch_up(&node, author, preferred, periodic).await;
        drop(permit);
        if let Ok(mut syncing) = node.inner.syncing.lock() {
            syncing.remove(&author);
        }
        match result {
            Ok(0) => {}
            Ok(n) => info!("caught up {n} entries of {author}"),
            Err(e) => debug!("catch-up of {author} incomplete: {e}"),
        }
    });
}

/// Brings `author`'s feed up to the newest head known (DHT) or available (providers).
/// Returns how many entries were added.
///
/// A `periodic` check is cheaper, because a peer following thousands of authors runs one
/// every 250 ms: when the DHT knows no head of the feed, or a head we already hold, it stops
/// after that one query, only looking providers up (which dials them, repairing the gossip
/// mesh) when no connected peer shares the feed's topic.
async fn catch_up(
    node: &Node,
    author: AuthorId,
    preferred: Option<PeerId>,
    periodic: bool,
) -> Result<u64, String> {
    let inner = &node.inner;
    let net = &inner.net;
    // A forked feed is frozen at the fork: nothing fetched could be stored, so it is not
    // fetched at all (no refetch loop), and it is not counted as lagging.
    if let Some(seq) = inner.store.fork_seq(&author).map_err(|e| e.to_string())? {
        inner.routing.forget_lag(author);
        debug!("not fetching {author}: its feed forked at seq {seq} and is frozen");
        return Ok(0);
    }
    // A gap gossip revealed: the peer that forwarded the entry likely holds what precedes
    // it, and so may the connected peers on the feed's topic (the author among them, when
    // connected), so they are asked at once, before any DHT query (each can take seconds,
    // and longer on a network that just healed). A forwarder can be filling the same gap
    // itself: it is asked again last. Once the buffered entries chain onto the feed, that is
    // as far as anything known reaches; the DHT is the periodic check's business. Otherwise
    // the full catch-up below goes on from what this brought.
    let mut quick = 0;
    if !periodic
        && let Some(forwarder) = preferred
        && let Some(buffered) = inner
            .store
            .pending_max_seq(&author)
            .map_err(|e| e.to_string())?
    {
        let mut asked = vec![forwarder];
        for peer in net.topic_peers(author).await.unwrap_or_default() {
            if asked.len() > GAP_FILL_TOPIC_PEERS {
                break;
            }
            if !asked.contains(&peer) {
                asked.push(peer);
            }
        }
        asked.push(forwarder);
        for peer in asked {
            match fetch_from(node, author, peer).await {
                Ok(n) => quick += n,
                Err(e) => debug!("gap fill of {author} from {peer} failed: {e}"),
            }
            if local_seq(&inner.store, &author).map_err(|e| e.to_string())? >= buffered {
                return Ok(quick);
            }
        }
    }
    let target = match net.get_head(author).await {
        Ok(head) => head.map(|h| h.seq()),
        Err(e) => {
            debug!("no DHT head for {author}: {e}");
            None
        }
    };
    let mut peers: Vec<PeerId> = Vec::new();
    let local = local_seq(&inner.store, &author).map_err(|e| e.to_string())?;
    if let Some(target) = target {
        inner.routing.note_head(author, target, local);
    }
    if periodic && target.is_none_or(|t| t <= local) {
        if target.is_some() && net.topic_peers(author).await.is_ok_and(|p| p.is_empty()) {
            let _ = net.find_providers(author).await;
        }
        return Ok(0);
    }
    if target.is_none_or(|t| t > local) || peers.is_empty() {
        match net.find_providers(author).await {
            Ok(found) => peers.extend(found.into_iter().filter(|p| Some(*p) != preferred)),
            Err(e) => debug!("no providers for {author}: {e}"),
        }
    }
    // The peer that told us of a gap first (it holds what we lack), then the providers in
    // the order their scores draw.
    let mut ordered: Vec<PeerId> = preferred.into_iter().collect();
    ordered.extend(node.rank_hosts(peers).await);
    let mut added = quick;
    for peer in ordered.into_iter().take(MAX_PROVIDERS_TRIED) {
        match fetch_from(node, author, peer).await {
            Ok(n) => added += n,
            Err(e) => debug!("fetch of {author} from {peer} failed: {e}"),
        }
        // The replies to what just arrived, from whoever wrote them: complete threads for
        // a peer that starts following (or comes back).
        if added > 0 && author != inner.author {
            let roots = newest_roots(&inner.store, &author);
            // The peer we caught up from, and one other follower: the author may have been
            // away when some replies were made.
            let mut askers = vec![peer];
            if let Some(other) = net
                .topic_peers(author)
                .await
                .unwrap_or_default()
                .into_iter()
                .find(|p| *p != peer)
            {
                askers.push(other);
            }
            for asked in askers {
                if let Err(e) = crate::social::fetch_threads(node, asked, &roots).await {
                    debug!("threads of {author} from {asked}: {e}");
                }
            }
        }
        let local = local_seq(&inner.store, &author).map_err(|e| e.to_string())?;
        if target.is_some_and(|t| local >= t) {
            break;
        }
    }
    // We hold this feed now: let others fetch it from us too (once per run; the DHT
    // republishes provider records by itself).
    if local_seq(&inner.store, &author).map_err(|e| e.to_string())? > 0 {
        let first_time = inner
            .provided
            .lock()
            .is_ok_and(|mut provided| provided.insert(author));
        if first_time && let Err(e) = net.provide(author).await {
            if let Ok(mut provided) = inner.provided.lock() {
                provided.remove(&author);
            }
            debug!("cannot provide {author}: {e}");
        }
    }
    Ok(added)
}

/// Announces us as a holder of `author`'s feed the first time we store some of it in this
/// run (kad republishes provider records by itself afterwards).
fn provide_once(node: &Node, author: AuthorId) {
    let inner = &node.inner;
    if author == inner.author
        || !inner
            .provided
            .lock()
            .is_ok_and(|mut provided| provided.insert(author))
    {
        return;
    }
    let node = node.clone();
    tokio::spawn(async move {
        if let Err(e) = node.inner.net.provide(author).await {
            if let Ok(mut provided) = node.inner.provided.lock() {
                provided.remove(&author);
            }
            debug!("cannot provide {author}: {e}");
        }
    });
}

/// At start: fetch entries of our own feed that the network has and this store lacks (a
/// store restored from an old copy), before the node posts anything.
pub(crate) async fn catch_up_own_feed(node: &Node) {
    let author = node.inner.author;
    // Nobody to ask: nothing to learn.
    if node
        .inner
        .net
        .peers()
        .await
        .map_or(true, |peers| peers.is_empty())
    {
        return;
    }
    let lookup = tokio::time::timeout(OWN_HEAD_LOOKUP, node.inner.net.get_head(author));
    let Ok(Ok(Some(head))) = lookup.await else {
        return;
    };
    let Ok(local) = local_seq(&node.inner.store, &author) else {
        return;
    };
    if head.seq() <= local {
        return;
    }
    warn!(
        "the network knows our feed up to seq {}, this store up to {local}: fetching the rest",
        head.seq()
    );
    if let Err(e) = catch_up(node, author, None, false).await {
        warn!("could not fetch our own feed: {e}");
    }
}

/// Ids of `author`'s newest top-level posts (the roots of their threads).
fn newest_roots(store: &Store, author: &AuthorId) -> Vec<ContentId> {
    store
        .author_timeline(author, u64::MAX, crate::social::THREADS_AFTER_CATCH_UP)
        .map(|entries| {
            entries
                .iter()
                .filter(|e| !matches!(e.body(), kith_proto::Body::Reply { .. }))
                .map(|e| e.id())
                .collect()
        })
        .unwrap_or_default()
}

fn local_seq(store: &Store, author: &AuthorId) -> Result<u64, StoreError> {
    Ok(store.head(author)?.map_or(0, |h| h.seq))
}

/// Fetches `author`'s entries after our head from `peer`, a range at a time, until the peer
/// has no more.
///
/// A pipeline: the next range is asked for as soon as a response arrives, from the seq
/// after its last entry, while earlier responses are verified (off the async threads, in
/// parallel if several wait) and committed by the store's writer. Responses are submitted
/// to the store in the order they were asked for, and only once verified, so the feed's
/// chain rules see them as a sequential fetch would. At most [`FETCH_PIPELINE`] responses
/// are held at once (being fetched, verified or committed).
///
/// A response with an invalid entry or another author's entry ends the fetch from this
/// peer: nothing of that response or of any later one is stored (earlier responses, already
/// verified and submitted, are kept). If a committed response does not extend the feed as
/// far as it should (a gap, a fork, refused entries), nothing more is submitted ahead of it:
/// the responses in flight are dropped and, if the feed grew, asking starts again after
/// the new head; if it did not grow, the fetch ends.
async fn fetch_from(node: &Node, author: AuthorId, peer: PeerId) -> Result<u64, String> {
    let inner = &node.inner;
    let mut added = 0;
    let mut next = local_seq(&inner.store, &author).map_err(|e| e.to_string())? + 1;
    let mut requests = 0;
    // The range request on the wire, with its first seq.
    let mut fetching: Option<(u64, FetchFuture<'_>)> = None;
    // Responses being verified, oldest first.
    let mut checking: VecDeque<Checking> = VecDeque::new();
    // Verified responses submitted to the store, oldest first.
    let mut storing: VecDeque<Storing> = VecDeque::new();
    // The peer may have more after `next`.
    let mut more = true;
    // A committed response fell short of the head it should have reached: ask again from
    // the new head once everything submitted is committed, if the feed grew.
    let mut resync: Option<bool> = None;
    let mut error: Option<String> = None;
    loop {
        if resync.is_some() && storing.is_empty() && checking.is_empty() {
            let grew = resync.take().unwrap_or(false);
            if grew && error.is_none() {
                next = local_seq(&inner.store, &author).map_err(|e| e.to_string())? + 1;
                // Responses were dropped: whether the peer has more is not known.
                more = true;
            } else {
                more = false;
            }
        }
        // The DHT head may lag behind (heads are announced a moment after posting): keep
        // asking this peer until it has nothing more, whatever the head said.
        if fetching.is_none()
            && more
            && resync.is_none()
            && requests < MAX_ROUNDS_PER_PEER
            && checking.len() + storing.len() < FETCH_PIPELINE
        {
            requests += 1;
            inner
                .fetch_requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let request = FetchRequest::range(&author, next, MAX_FETCH_ENTRIES);
            fetching = Some((next, Box::pin(node.fetch_observed(peer, request))));
        }
        if fetching.is_none() && checking.is_empty() && storing.is_empty() {
            break;
        }
        tokio::select! {
            // Oldest work first: commits, then verifications, then the network.
            biased;
            results = async { (&mut storing.front_mut().expect("guarded").ticket).await },
                if !storing.is_empty() =>
            {
                let Some(batch) = storing.pop_front() else { continue };
                let appended = finish_results(node, batch.entries, results, None, Source::Fetch);
                added += appended;
                if let Some(grew) = resync.as_mut() {
                    *grew |= appended > 0;
                } else if local_seq(&inner.store, &author).map_err(|e| e.to_string())?
                    < batch.last
                {
                    // Out of step with the peer: what is on the wire or being verified was
                    // asked for from the wrong place.
                    fetching = None;
                    checking.clear();
                    resync = Some(appended > 0);
                }
            }
            checked = async { (&mut checking.front_mut().expect("guarded").task).await },
                if !checking.is_empty() =>
            {
                let Some(batch) = checking.pop_front() else { continue };
                match checked {
                    Ok(Ok(verified)) => match submit_in_order(node, &verified).await {
                        Some(ticket) => storing.push_back(Storing {
                            last: batch.from + verified.len() as u64 - 1,
                            entries: verified,
                            ticket,
                        }),
                        None => {
                            error = Some("the store refused the entries".into());
                            fetching = None;
                            more = false;
                            checking.clear();
                        }
                    },
                    Ok(Err((problem, rejected))) => {
                        // Nothing from a peer that lies is stored, not even its valid
                        // entries, nor anything it sent after: the next provider is asked
                        // instead.
                        inner
                            .fetch_rejected
                            .fetch_add(rejected, std::sync::atomic::Ordering::Relaxed);
                        // Its score drops as for a failed request: it is asked last next time.
                        inner.routing.penalise(peer);
                        error = Some(problem);
                        fetching = None;
                        more = false;
                        checking.clear();
                    }
                    Err(e) => {
                        error = Some(format!("verification failed: {e}"));
                        fetching = None;
                        more = false;
                        checking.clear();
                    }
                }
            }
            response = async { fetching.as_mut().expect("guarded").1.as_mut().await },
                if fetching.is_some() =>
            {
                let Some((from, _)) = fetching.take() else { continue };
                let response = match response {
                    Ok(response) => response,
                    Err(e) => {
                        // Keep what arrived before; ask no more.
                        error = Some(e.to_string());
                        more = false;
                        continue;
                    }
                };
                let count = response.entries.len();
                if count == 0 {
                    more = false;
                    continue;
                }
                if !response.more && count < MAX_FETCH_ENTRIES as usize {
                    more = false;
                }
                next = from + count as u64;
                let peer_name = peer.to_string();
                let checker = node.clone();
                checking.push_back(Checking {
                    from,
                    task: tokio::task::spawn_blocking(move || {
                        verify_response(&response, author, &peer_name, &checker.inner.metrics)
                    }),
                });
            }
        }
    }
    match error {
        Some(error) => Err(error),
        None => Ok(added),
    }
}

/// Responses of one catch-up held at once: the one being fetched, those being verified and
/// those being committed. Each is at most [`MAX_FETCH_ENTRIES`] entries and
/// [`FETCH_RESPONSE_BUDGET`] bytes (plus the copy the store's queue holds).
const FETCH_PIPELINE: usize = 4;

type FetchFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<FetchResponse, kith_net::NetError>> + Send + 'a>,
>;

/// A response being verified.
struct Checking {
    from: u64,
    task: tokio::task::JoinHandle<Result<Vec<VerifiedEntry>, (String, u64)>>,
}

/// A verified response being committed.
struct Storing {
    /// The seq our head reaches once it is stored.
    last: u64,
    entries: Vec<VerifiedEntry>,
    ticket: kith_store::Ticket,
}

/// Verifies a range response of `author`'s feed (run off the async threads). Every entry
/// must be valid and `author`'s; otherwise the problem and how many entries were bad.
fn verify_response(
    response: &FetchResponse,
    author: AuthorId,
    peer: &str,
    metrics: &crate::metrics::Metrics,
) -> Result<Vec<VerifiedEntry>, (String, u64)> {
    let envelopes: Vec<&[u8]> = response.entries.iter().map(|e| e.as_slice()).collect();
    let mut verified = Vec::with_capacity(envelopes.len());
    let mut problem = None;
    for result in validate_batch(&envelopes, now_ms()) {
        match result {
            // Only the feed asked for: a peer cannot slip other authors' entries in.
            Ok(entry) if entry.author() == author => verified.push(entry),
            Ok(_) => {
                metrics.rejected(Source::Fetch, "wrong_author", 1);
                problem = Some(format!("{peer} answered with another author's entries"));
            }
            Err(e) => {
                metrics.rejected(Source::Fetch, e.code(), 1);
                problem = Some(format!("{peer} sent an invalid entry: {e}"));
            }
        }
    }
    match problem {
        Some(problem) => Err((problem, (envelopes.len() - verified.len()) as u64)),
        None => Ok(verified),
    }
}

/// Answers a fetch request from the store.
pub(crate) fn serve_fetch(
    store: &Store,
    request: FetchRequest,
) -> Result<FetchResponse, StoreError> {
    let mut response = FetchResponse::default();
    let mut bytes = 0usize;
    let mut push = |response: &mut FetchResponse, envelope: &[u8]| -> bool {
        if bytes + envelope.len() > FETCH_RESPONSE_BUDGET && !response.entries.is_empty() {
            response.more = true;
            return false;
        }
        bytes += envelope.len();
        response
            .entries
            .push(serde_bytes::ByteBuf::from(envelope.to_vec()));
        true
    };
    match request {
        FetchRequest::Range {
            author,
            from_seq,
            limit,
        } => {
            let Ok(author) = AuthorId::from_slice(&author) else {
                return Ok(response);
            };
            let limit = limit.min(MAX_FETCH_ENTRIES) as usize;
            // Deleted entries are served as their tombstones: one entry per seq.
            let entries = store.feed_for_peers(&author, from_seq.max(1), limit)?;
            let full = entries.len() == limit;
            for entry in &entries {
                if !push(&mut response, entry.bytes()) {
                    break;
                }
            }
            if full && let Some(head) = store.head(&author)? {
                response.more |= entries.last().is_some_and(|e| e.seq() < head.seq);
            }
        }
        FetchRequest::Slug { author, slug } => {
            if let Ok(author) = AuthorId::from_slice(&author)
                && let Some(entry) = store.post_by_slug(&author, &slug)?
            {
                push(&mut response, entry.bytes());
            }
        }
        FetchRequest::Blobs { ids } => {
            for id in ids.iter().take(kith_net::protocol::MAX_BLOB_IDS) {
                let Ok(id) = ContentId::from_bytes(id) else {
                    continue;
                };
                if let Some(piece) = store.blob_piece(&id)?
                    && !push(&mut response, &piece)
                {
                    break;
                }
            }
        }
        FetchRequest::Threads { roots, limit } => {
            let mut left = limit.min(MAX_FETCH_ENTRIES) as usize;
            'roots: for root in roots.iter().take(MAX_THREAD_ROOTS) {
                let Ok(root) = ContentId::from_bytes(root) else {
                    continue;
                };
                // The replies (the root itself is not sent: the requester holds it), then
                // the edits, reactions and reposts of every member, root included.
                let thread = store.thread(&root, left + 1)?;
                let mut sent: Vec<kith_proto::Entry> = Vec::new();
                for entry in &thread {
                    if entry.id() != root {
                        sent.push(entry.clone());
                    }
                    sent.extend(store.edits(&entry.id())?);
                    sent.extend(store.reaction_entries(&entry.id())?);
                    sent.extend(store.reposts(&entry.id(), 64)?);
                }
                for entry in &sent {
                    if left == 0 || !push(&mut response, entry.bytes()) {
                        response.more = true;
                        break 'roots;
                    }
                    left -= 1;
                }
            }
        }
        FetchRequest::Ids { ids, ancestors } => {
            'ids: for id in ids {
                let Ok(id) = ContentId::from_bytes(&id) else {
                    continue;
                };
                let entry = match store.entry(&id)? {
                    Some(entry) => entry,
                    // A deleted entry is answered with its tombstone.
                    None => match store.tombstone_of(&id)? {
                        Some(tombstone) => {
                            if !push(&mut response, tombstone.bytes()) {
                                break;
                            }
                            continue;
                        }
                        None => continue,
                    },
                };
                let (author, seq) = (entry.author(), entry.seq());
                if !push(&mut response, entry.bytes()) {
                    break;
                }
                let ancestors = u64::from(ancestors.min(MAX_FETCH_ENTRIES));
                let first = seq.saturating_sub(ancestors).max(1);
                // As a range is served: deleted ancestors as their tombstones.
                let older = store.feed_for_peers(&author, first, (seq - first) as usize)?;
                for entry in older.iter().rev() {
                    if !push(&mut response, entry.bytes()) {
                        break 'ids;
                    }
                }
            }
        }
    }
    Ok(response)
}

//! Catching up with feeds and storing what arrives from the network.
//!
//! Everything that arrives is verified before the store sees it (`validate_batch`); the
//! store then decides how it fits the feed (next, duplicate, gap, fork). Gaps are filled by
//! fetching ranges of up to 512 entries from a peer that has them: the peer that sent the
//! entry after the gap, else the feed's providers found on the DHT.

use std::sync::Arc;
use std::time::Duration;

use kith_net::libp2p::PeerId;
use kith_net::protocol::{FETCH_RESPONSE_BUDGET, MAX_FETCH_ENTRIES};
use kith_net::{FetchRequest, FetchResponse};
use kith_proto::{AuthorId, ContentId, VerifiedEntry, validate_batch};
use kith_store::{AppendOutcome, Store, StoreError};
use tracing::{debug, info, warn};

use crate::node::{Node, NodeEvent, now_ms};

/// Most providers tried, one after another, for one catch-up.
const MAX_PROVIDERS_TRIED: usize = 4;
/// How long the start-up lookup of our own head may take before posting goes ahead.
const OWN_HEAD_LOOKUP: Duration = Duration::from_secs(3);
/// Most range requests in one catch-up from one peer (512 entries each).
const MAX_ROUNDS_PER_PEER: usize = 4096;

/// Stores verified entries received from the network and tells API clients about every
/// entry that became part of a feed. A gap is filled from `source` (or providers).
pub(crate) async fn store_received(
    node: &Node,
    entries: Vec<VerifiedEntry>,
    source: Option<PeerId>,
) {
    if let Some(ticket) = submit_in_order(node, &entries).await {
        finish_received(node, entries, ticket, source).await;
    }
}

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
    match inner.store.try_submit(entries.to_vec()) {
        Ok(ticket) => Some(ticket),
        Err(kith_store::StoreError::Busy) => {
            // The queue is full: wait for room off the async threads.
            let store = inner.store.clone();
            let entries = entries.to_vec();
            match tokio::task::spawn_blocking(move || store.submit(entries)).await {
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
/// a feed. A gap is filled from `source` (or providers).
pub(crate) async fn finish_received(
    node: &Node,
    entries: Vec<VerifiedEntry>,
    ticket: kith_store::Ticket,
    source: Option<PeerId>,
) {
    let inner = &node.inner;
    let results = match ticket.await {
        Ok(results) => results,
        Err(e) => {
            warn!("store failed: {e}");
            return;
        }
    };
    let mut gaps: Vec<AuthorId> = Vec::new();
    for (entry, result) in entries.into_iter().zip(results) {
        match result {
            Ok(AppendOutcome::Appended { drained }) => {
                let (author, seq) = (entry.author(), entry.seq());
                provide_once(node, author);
                if let Ok(mut heard) = inner.last_heard.lock() {
                    heard.insert(author, std::time::Instant::now());
                }
                let _ = inner.events.send(NodeEvent::Entry {
                    entry: entry.into_entry(),
                    local: false,
                });
                if drained > 0 {
                    emit_range(node, author, seq + 1, drained as usize);
                }
            }
            Ok(AppendOutcome::Buffered { .. }) => {
                if !gaps.contains(&entry.author()) {
                    gaps.push(entry.author());
                }
            }
            Ok(AppendOutcome::Duplicate) => {}
            Err(refused) => debug!("entry {} refused: {refused}", entry.id()),
        }
    }
    for author in gaps {
        spawn_catch_up(node, author, source);
    }
}

fn emit_range(node: &Node, author: AuthorId, from_seq: u64, count: usize) {
    match node.inner.store.feed(&author, from_seq, count) {
        Ok(entries) => {
            for entry in entries {
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
        let result = catch_up(&node, author, preferred).await;
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

/// Catches up every followed author every `interval` (heads may have moved while we were
/// not connected to anyone who gossiped them).
pub(crate) fn spawn_periodic(node: &Node, interval: Duration) {
    let node = node.clone();
    let mut stop = node.inner.stop.subscribe();
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            let Ok(following) = node.inner.store.following(&node.inner.author) else {
                continue;
            };
            for author in following {
                // A feed that grew by gossip during the last interval is current enough;
                // asking the DHT about every followed feed every time would cost a few
                // queries per feed and peer.
                let fresh = node.inner.last_heard.lock().is_ok_and(|heard| {
                    heard.get(&author).is_some_and(|at| at.elapsed() < interval)
                });
                if !fresh {
                    spawn_catch_up(&node, author, None);
                }
            }
        }
    });
}

/// Brings `author`'s feed up to the newest head known (DHT) or available (providers).
/// Returns how many entries were added.
async fn catch_up(node: &Node, author: AuthorId, preferred: Option<PeerId>) -> Result<u64, String> {
    let inner = &node.inner;
    let net = &inner.net;
    let target = match net.get_head(author).await {
        Ok(head) => head.map(|h| h.seq()),
        Err(e) => {
            debug!("no DHT head for {author}: {e}");
            None
        }
    };
    let mut peers: Vec<PeerId> = preferred.into_iter().collect();
    let local = local_seq(&inner.store, &author).map_err(|e| e.to_string())?;
    if target.is_none_or(|t| t > local) || peers.is_empty() {
        match net.find_providers(author).await {
            Ok(found) => peers.extend(found.into_iter().filter(|p| Some(*p) != preferred)),
            Err(e) => debug!("no providers for {author}: {e}"),
        }
    }
    let mut added = 0;
    for peer in peers.into_iter().take(MAX_PROVIDERS_TRIED) {
        match fetch_from(node, author, peer).await {
            Ok(n) => added += n,
            Err(e) => debug!("fetch of {author} from {peer} failed: {e}"),
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
    if let Err(e) = catch_up(node, author, None).await {
        warn!("could not fetch our own feed: {e}");
    }
}

fn local_seq(store: &Store, author: &AuthorId) -> Result<u64, StoreError> {
    Ok(store.head(author)?.map_or(0, |h| h.seq))
}

/// Fetches `author`'s entries after our head from `peer`, a range at a time, until the peer
/// has no more.
async fn fetch_from(node: &Node, author: AuthorId, peer: PeerId) -> Result<u64, String> {
    let inner = &node.inner;
    let mut added = 0;
    for _ in 0..MAX_ROUNDS_PER_PEER {
        let from = local_seq(&inner.store, &author).map_err(|e| e.to_string())? + 1;
        // The DHT head may lag behind (heads are announced a moment after posting): keep
        // asking this peer until it has nothing more, whatever the head said.
        inner
            .fetch_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = inner
            .net
            .fetch(peer, FetchRequest::range(&author, from, MAX_FETCH_ENTRIES))
            .await
            .map_err(|e| e.to_string())?;
        if response.entries.is_empty() {
            break;
        }
        let envelopes: Vec<&[u8]> = response.entries.iter().map(|e| e.as_slice()).collect();
        let mut verified = Vec::with_capacity(envelopes.len());
        let mut problem = None;
        for result in validate_batch(&envelopes, now_ms()) {
            match result {
                // Only the feed asked for: a peer cannot slip other authors' entries in.
                Ok(entry) if entry.author() == author => verified.push(entry),
                Ok(_) => problem = Some(format!("{peer} answered with another author's entries")),
                Err(e) => problem = Some(format!("{peer} sent an invalid entry: {e}")),
            }
        }
        if let Some(problem) = problem {
            // Nothing from a peer that lies is stored, not even its valid entries: the
            // next provider is asked instead.
            let rejected = (envelopes.len() - verified.len()) as u64;
            inner
                .fetch_rejected
                .fetch_add(rejected, std::sync::atomic::Ordering::Relaxed);
            return Err(problem);
        }
        let before = from - 1;
        store_received(node, verified, None).await;
        let now = local_seq(&inner.store, &author).map_err(|e| e.to_string())?;
        if now <= before {
            // Nothing chained on: the peer's entries do not extend what we hold.
            break;
        }
        added += now - before;
        if !response.more && response.entries.len() < MAX_FETCH_ENTRIES as usize {
            break;
        }
    }
    Ok(added)
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
            let entries = store.feed(&author, from_seq.max(1), limit)?;
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
        FetchRequest::Ids { ids, ancestors } => {
            'ids: for id in ids {
                let Ok(id) = ContentId::from_bytes(&id) else {
                    continue;
                };
                let Some(entry) = store.entry(&id)? else {
                    continue;
                };
                let (author, seq) = (entry.author(), entry.seq());
                if !push(&mut response, entry.bytes()) {
                    break;
                }
                let ancestors = u64::from(ancestors.min(MAX_FETCH_ENTRIES));
                let first = seq.saturating_sub(ancestors).max(1);
                let older = store.feed(&author, first, (seq - first) as usize)?;
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

//! The social flows on top of feeds: complete threads, reactions, reposts and quotes, edits,
//! deletes, block and mute.
//!
//! **Complete threads.** A reply is published on the replier's topic and on the topics of
//! the parent's and the root's authors, so everyone who follows the post's author receives
//! it, whether or not they follow the replier. Reactions, reposts, edits and deletes that
//! concern someone else's entry travel the same way. A receiver accepts an entry on another
//! author's topic only if it *relates* to an entry it holds of that author (see
//! [`related_authors`]); it keeps such an entry detached (outside any feed) and indexes it.
//! Any holder serves the replies it knows by `Threads` fetch: a peer that starts following
//! an author asks for the threads of the author's newest posts, and a thread view asks
//! again in the background.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kith_net::FetchRequest;
use kith_net::libp2p::PeerId;
use kith_net::protocol::{MAX_FETCH_ENTRIES, MAX_THREAD_ROOTS, feed_topic};
use kith_proto::limits::{MAX_REACTION_BYTES, MAX_TEXT_BYTES};
use kith_proto::{AuthorId, Body, ContentId, Entry, VerifiedEntry, validate_batch};
use kith_store::{EntryState, Store, StoreError};
use tracing::debug;

use crate::NodeError;
use crate::metrics::Source;
use crate::node::{Node, now_ms};

/// How long a cross-posted entry waits for a connection to a subscriber of the other
/// author's topic (found through the DHT) before it is given up; followers of that author
/// still get it by `Threads` fetch.
const DELIVERY_WAIT: Duration = Duration::from_secs(10);
/// How often a thread may be refreshed from peers (per root).
const THREAD_REFRESH_EVERY: Duration = Duration::from_secs(10);
/// Most roots remembered for [`THREAD_REFRESH_EVERY`].
const MAX_REFRESHES_REMEMBERED: usize = 4096;
/// Newest posts of a feed whose threads are fetched after a catch-up.
pub(crate) const THREADS_AFTER_CATCH_UP: usize = 32;

/// The authors an entry concerns besides its own: the authors of a reply's parent and root,
/// of a reaction's or repost's target; for an edit or delete, those of the entry it changes
/// (only the author's own entries can be changed). Only entries held here are looked at.
pub(crate) fn related_authors(store: &Store, entry: &Entry) -> Result<Vec<AuthorId>, StoreError> {
    let mut authors = Vec::new();
    let add = |id: &ContentId, authors: &mut Vec<AuthorId>| -> Result<(), StoreError> {
        if let Some(held) = store.entry(id)?
            && !authors.contains(&held.author())
        {
            authors.push(held.author());
        }
        Ok(())
    };
    match entry.body() {
        Body::Reply { parent, root, .. } => {
            add(parent, &mut authors)?;
            add(root, &mut authors)?;
        }
        Body::React { target, .. } | Body::Repost { target, .. } => add(target, &mut authors)?,
        // A reply in a sealed thread shows only its root (PROTOCOL §35.4): it goes to the
        // root author's topic, whose followers are the ones likely to read the thread.
        Body::Sealed(kith_proto::sealed::Sealed::Inherited { root, .. }) => {
            add(root, &mut authors)?;
        }
        Body::Edit { target, .. } | Body::Delete { target, .. } => {
            if let Some(changed) = store.entry(target)?
                && changed.author() == entry.author()
            {
                let mut inner = related_authors(store, &changed)?;
                inner.retain(|a| *a != entry.author());
                authors.extend(inner);
            }
        }
        _ => {}
    }
    authors.retain(|a| *a != entry.author());
    Ok(authors)
}

/// Whether an entry received on `topic`, which is not its author's topic, may be accepted:
/// it relates to an entry held here of the topic's author.
pub(crate) fn relates_to_topic(store: &Store, entry: &Entry, topic: &str) -> bool {
    related_authors(store, entry).is_ok_and(|authors| {
        authors
            .iter()
            .any(|author| feed_topic(author).hash().as_str() == topic)
    })
}

/// Publishes a local entry on the topics of the authors it concerns (in the background).
pub(crate) fn deliver_related(node: &Node, entry: &VerifiedEntry) {
    let authors = match related_authors(&node.inner.store, entry) {
        Ok(authors) => authors,
        Err(e) => {
            debug!("cannot tell whom {} concerns: {e}", entry.id());
            return;
        }
    };
    for author in authors {
        if author == node.inner.author {
            continue;
        }
        let node = node.clone();
        let bytes = entry.bytes().to_vec();
        tokio::spawn(async move { deliver(&node, author, bytes).await });
    }
}

/// Publishes `envelope` on `author`'s topic, first finding and dialling subscribers of it
/// (the feed's providers) when none is connected.
async fn deliver(node: &Node, author: AuthorId, envelope: Vec<u8>) {
    let net = &node.inner.net;
    let deadline = Instant::now() + DELIVERY_WAIT;
    if net.topic_peers(author).await.is_ok_and(|p| p.is_empty()) {
        if let Err(e) = net.find_providers(author).await {
            debug!("no providers of {author} to deliver to: {e}");
        }
        // Subscriptions are announced right after a connection is set up.
        while Instant::now() < deadline && net.topic_peers(author).await.is_ok_and(|p| p.is_empty())
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    match net.publish(author, envelope).await {
        Ok(true) => {}
        Ok(false) => debug!("no subscriber of {author}'s topic reachable"),
        Err(e) => debug!("delivery to {author}'s topic failed: {e}"),
    }
}

/// Asks `peer` for the replies it holds in the threads of `roots` and keeps the valid ones.
/// Returns how many were new here.
pub(crate) async fn fetch_threads(
    node: &Node,
    peer: PeerId,
    roots: &[ContentId],
) -> Result<u64, String> {
    if roots.is_empty() {
        return Ok(0);
    }
    let inner = &node.inner;
    let mut stored = 0;
    for chunk in roots.chunks(MAX_THREAD_ROOTS) {
        inner
            .fetch_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = node
            .fetch_observed(peer, FetchRequest::threads(chunk, MAX_FETCH_ENTRIES))
            .await
            .map_err(|e| e.to_string())?;
        let wanted: Vec<ContentId> = chunk.to_vec();
        let checker = node.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let metrics = &checker.inner.metrics;
            let envelopes: Vec<&[u8]> = response.entries.iter().map(|e| e.as_slice()).collect();
            let mut rejected = 0u64;
            let valid: Vec<VerifiedEntry> = validate_batch(&envelopes, now_ms())
                .into_iter()
                .filter_map(|result| {
                    result
                        .map_err(|e| {
                            metrics.rejected(Source::Fetch, e.code(), 1);
                            rejected += 1;
                        })
                        .ok()
                })
                .collect();
            let invalid = rejected > 0;
            // The thread: its roots and the replies in it.
            let mut members: std::collections::HashSet<ContentId> =
                wanted.iter().copied().collect();
            for entry in &valid {
                if let Body::Reply { root, .. } = entry.body()
                    && wanted.contains(root)
                {
                    members.insert(entry.id());
                }
            }
            let mut verified = Vec::new();
            for entry in valid {
                let belongs = match entry.body() {
                    Body::Reply { root, .. } => wanted.contains(root),
                    // What changes or counts on a member: its edits, reactions, reposts.
                    Body::Edit { target, .. }
                    | Body::React { target, .. }
                    | Body::Repost { target, .. } => members.contains(target),
                    // Deletes change only their own author's entries.
                    Body::Delete { .. } => true,
                    _ => false,
                };
                if belongs {
                    verified.push(entry);
                } else {
                    metrics.rejected(Source::Fetch, "not_in_thread", 1);
                    rejected += 1;
                }
            }
            (verified, rejected, invalid)
        })
        .await
        .map_err(|e| e.to_string())?;
        let (verified, rejected, invalid) = verified;
        if rejected > 0 {
            inner
                .fetch_rejected
                .fetch_add(rejected, std::sync::atomic::Ordering::Relaxed);
        }
        if invalid {
            // Invalid entries, not merely unwanted ones: asked last next time.
            inner.routing.penalise(peer);
        }
        stored += store_detached(node, verified, Some(peer), Source::Fetch).await;
    }
    Ok(stored)
}

/// Stores entries wanted on their own (detached unless their feed is held) and tells API
/// clients about the new ones. Returns how many were new.
pub(crate) async fn store_detached(
    node: &Node,
    entries: Vec<VerifiedEntry>,
    source: Option<PeerId>,
    via: Source,
) -> u64 {
    if entries.is_empty() {
        return 0;
    }
    let store = node.inner.store.clone();
    let ticket = match store.try_submit_detached(entries.clone()) {
        Ok(ticket) => ticket,
        Err(StoreError::Busy) => {
            let batch = entries.clone();
            match tokio::task::spawn_blocking(move || store.submit_detached(batch)).await {
                Ok(Ok(ticket)) => ticket,
                _ => return 0,
            }
        }
        Err(e) => {
            debug!("cannot store detached entries: {e}");
            return 0;
        }
    };
    crate::sync::finish_received(node, entries, ticket, source, via).await
}

/// Fetches, in the background, the parents of received replies that are not held here, so
/// a thread shows what is being answered.
pub(crate) fn fetch_missing_parents(node: &Node, entries: &[VerifiedEntry], source: PeerId) {
    let store = &node.inner.store;
    let missing: Vec<ContentId> = entries
        .iter()
        .filter_map(|entry| match entry.body() {
            Body::Reply { parent, .. } => Some(*parent),
            _ => None,
        })
        .filter(|parent| matches!(store.entry_state(parent), Ok(EntryState::Unknown)))
        .collect();
    if missing.is_empty() {
        return;
    }
    let node = node.clone();
    tokio::spawn(async move {
        let response = match node
            .inner
            .net
            .fetch(source, FetchRequest::ids(&missing, 0))
            .await
        {
            Ok(response) => response,
            Err(e) => {
                debug!("cannot fetch parents from {source}: {e}");
                return;
            }
        };
        let envelopes: Vec<&[u8]> = response.entries.iter().map(|e| e.as_slice()).collect();
        let verified: Vec<VerifiedEntry> = validate_batch(&envelopes, now_ms())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|entry| missing.contains(&entry.id()))
            .collect();
        store_detached(&node, verified, Some(source), Source::Fetch).await;
    });
}

/// Remembers when each thread was last refreshed from peers (bounded).
#[derive(Default)]
pub(crate) struct Refreshes(HashMap<ContentId, Instant>);

impl Refreshes {
    /// Whether `root` may be refreshed now (and notes that it is).
    fn claim(&mut self, root: ContentId) -> bool {
        let now = Instant::now();
        if self
            .0
            .get(&root)
            .is_some_and(|at| now.duration_since(*at) < THREAD_REFRESH_EVERY)
        {
            return false;
        }
        if self.0.len() >= MAX_REFRESHES_REMEMBERED {
            self.0
                .retain(|_, at| now.duration_since(*at) < THREAD_REFRESH_EVERY);
            if self.0.len() >= MAX_REFRESHES_REMEMBERED {
                return false;
            }
        }
        self.0.insert(root, now);
        true
    }
}

/// Most peers asked for an entry by [`Node::resolve`].
const MAX_RESOLVE_PEERS: usize = 8;
/// How long [`Node::resolve`] waits for each peer.
const RESOLVE_WAIT: Duration = Duration::from_secs(3);

impl Node {
    /// Finds the entry `id`: in the store, else from peers: the providers of `author`'s feed
    /// when the author is known, and connected peers. The first valid answer is verified
    /// and kept (detached, unless its feed is held), so a permalink works on any peer. A
    /// deleted entry resolves to [`EntryState::Deleted`] when a peer answers with its
    /// tombstone.
    pub async fn resolve(
        &self,
        id: ContentId,
        author: Option<AuthorId>,
    ) -> Result<EntryState, NodeError> {
        let state = self.inner.store.entry_state(&id)?;
        if !matches!(state, EntryState::Unknown) {
            return Ok(state);
        }
        let net = &self.inner.net;
        let mut peers: Vec<PeerId> = Vec::new();
        if let Some(author) = author {
            peers.extend(net.topic_peers(author).await.unwrap_or_default());
            if peers.is_empty() {
                peers.extend(net.find_providers(author).await.unwrap_or_default());
            }
        }
        for peer in net.peers().await? {
            if !peers.contains(&peer.peer_id) {
                peers.push(peer.peer_id);
            }
        }
        for peer in self
            .rank_hosts(peers)
            .await
            .into_iter()
            .take(MAX_RESOLVE_PEERS)
        {
            self.inner
                .fetch_requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let asked = self.fetch_observed(peer, FetchRequest::ids(&[id], 0));
            let Ok(Ok(response)) = tokio::time::timeout(RESOLVE_WAIT, asked).await else {
                continue;
            };
            let envelopes: Vec<&[u8]> = response.entries.iter().map(|e| e.as_slice()).collect();
            let found: Vec<VerifiedEntry> = validate_batch(&envelopes, now_ms())
                .into_iter()
                .filter_map(Result::ok)
                .filter(|entry| {
                    entry.id() == id
                        || matches!(entry.body(), Body::Delete { target, .. } if *target == id)
                })
                .take(1)
                .collect();
            if found.is_empty() {
                continue;
            }
            store_detached(self, found, Some(peer), Source::Fetch).await;
            let state = self.inner.store.entry_state(&id)?;
            if !matches!(state, EntryState::Unknown) {
                return Ok(state);
            }
        }
        Ok(EntryState::Unknown)
    }

    /// Resolves a permalink: `kith:<cid>` as [`resolve`](Self::resolve) does;
    /// `kith:<did>/<seq>` from the store, else from the holders of the author's feed (the
    /// entry is verified to be that author's at that seq, and kept).
    pub async fn resolve_link(
        &self,
        link: kith_proto::permalink::Permalink,
    ) -> Result<EntryState, NodeError> {
        use kith_proto::permalink::Permalink;
        let (author, seq) = match link {
            Permalink::Id(id) => return self.resolve(id, None).await,
            Permalink::Seq(author, seq) => (author, seq),
            Permalink::Slug { user, slug } => {
                let Some(claim) = self.lookup_name(&user).await? else {
                    return Ok(EntryState::Unknown);
                };
                return self.resolve_slug(claim.owner(), &slug).await;
            }
            // The holder of the global slug: its post with that slug (the claim names only
            // the owner, so a post by anyone else can never answer it).
            Permalink::GlobalSlug(slug) => {
                let Some(claim) = self.lookup_global_slug(&slug).await? else {
                    return Ok(EntryState::Unknown);
                };
                return self.resolve_slug(claim.owner(), &slug).await;
            }
        };
        if let Some(entry) = self.inner.store.entry_at(&author, seq)? {
            return Ok(EntryState::Held(Box::new(entry)));
        }
        let net = &self.inner.net;
        let mut peers = net.topic_peers(author).await.unwrap_or_default();
        if peers.is_empty() {
            peers = net.find_providers(author).await.unwrap_or_default();
        }
        for peer in self
            .rank_hosts(peers)
            .await
            .into_iter()
            .take(MAX_RESOLVE_PEERS)
        {
            self.inner
                .fetch_requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let asked = self.fetch_observed(peer, FetchRequest::range(&author, seq, 1));
            let Ok(Ok(response)) = tokio::time::timeout(RESOLVE_WAIT, asked).await else {
                continue;
            };
            let envelopes: Vec<&[u8]> = response.entries.iter().map(|e| e.as_slice()).collect();
            let Some(Ok(entry)) = validate_batch(&envelopes, now_ms()).into_iter().next() else {
                continue;
            };
            if entry.author() != author {
                continue;
            }
            // The entry itself, or its tombstone standing in for it.
            let deleted = match entry.body() {
                Body::Delete {
                    target, target_seq, ..
                } if *target_seq == seq => Some(*target),
                _ if entry.seq() == seq => None,
                _ => continue,
            };
            store_detached(self, vec![entry.clone()], Some(peer), Source::Fetch).await;
            return Ok(match deleted {
                Some(_) => EntryState::Deleted {
                    tombstone: entry.id(),
                },
                None => self.inner.store.entry_state(&entry.id())?,
            });
        }
        Ok(EntryState::Unknown)
    }

    /// `author`'s post with `slug`: from the store, else from the holders of the author's
    /// feed (verified to be that author's post with that slug, and kept).
    pub async fn resolve_slug(
        &self,
        author: AuthorId,
        slug: &str,
    ) -> Result<EntryState, NodeError> {
        if let Some(entry) = self.inner.store.post_by_slug(&author, slug)? {
            return Ok(EntryState::Held(Box::new(entry)));
        }
        let net = &self.inner.net;
        let mut peers = net.topic_peers(author).await.unwrap_or_default();
        if peers.is_empty() {
            peers = net.find_providers(author).await.unwrap_or_default();
        }
        let request = FetchRequest::Slug {
            author: author.as_bytes().to_vec(),
            slug: slug.to_owned(),
        };
        for peer in self
            .rank_hosts(peers)
            .await
            .into_iter()
            .take(MAX_RESOLVE_PEERS)
        {
            self.inner
                .fetch_requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let asked = self.fetch_observed(peer, request.clone());
            let Ok(Ok(response)) = tokio::time::timeout(RESOLVE_WAIT, asked).await else {
                continue;
            };
            let envelopes: Vec<&[u8]> = response.entries.iter().map(|e| e.as_slice()).collect();
            let Some(Ok(entry)) = validate_batch(&envelopes, now_ms()).into_iter().next() else {
                continue;
            };
            if entry.author() != author
                || kith_proto::text::post_slug(entry.body_bytes()).as_deref() != Some(slug)
            {
                continue;
            }
            let id = entry.id();
            store_detached(self, vec![entry], Some(peer), Source::Fetch).await;
            return Ok(self.inner.store.entry_state(&id)?);
        }
        Ok(EntryState::Unknown)
    }

    /// Asks peers, in the background, for replies in the thread of `root` this peer lacks
    /// (those made while it was away, or by authors nobody here follows). At most once per
    /// root every 10 seconds; a no-op if the root's author is unknown here.
    pub fn refresh_thread(&self, root: ContentId) {
        let _ = self.spawn_thread_refresh(root);
    }

    /// Like [`refresh_thread`](Self::refresh_thread), but waits up to `wait` for the
    /// refresh to end (it goes on in the background after that): for a page that shows the
    /// thread once. Returns whether a refresh ran (not when the root is not held, or its
    /// thread was refreshed less than 10 seconds ago).
    pub async fn refresh_thread_wait(&self, root: ContentId, wait: Duration) -> bool {
        match self.spawn_thread_refresh(root) {
            Some(task) => {
                let _ = tokio::time::timeout(wait, task).await;
                true
            }
            None => false,
        }
    }

    fn spawn_thread_refresh(&self, root: ContentId) -> Option<tokio::task::JoinHandle<()>> {
        let Ok(Some(root_entry)) = self.inner.store.entry(&root) else {
            return None;
        };
        if !self
            .inner
            .thread_refreshes
            .lock()
            .is_ok_and(|mut r| r.claim(root))
        {
            return None;
        }
        let node = self.clone();
        let author = root_entry.author();
        Some(tokio::spawn(async move {
            let net = &node.inner.net;
            let mut peers = net.topic_peers(author).await.unwrap_or_default();
            if peers.is_empty() {
                peers = net.find_providers(author).await.unwrap_or_default();
            }
            for peer in node.rank_hosts(peers).await.into_iter().take(2) {
                if let Err(e) = fetch_threads(&node, peer, &[root]).await {
                    debug!("thread refresh from {peer} failed: {e}");
                }
            }
        }))
    }

    /// Reacts to `target` (held here) with `reaction`, replacing any earlier reaction of
    /// ours to it.
    pub async fn react(
        &self,
        target: ContentId,
        reaction: &str,
    ) -> Result<VerifiedEntry, NodeError> {
        let reaction = reaction.trim();
        if reaction.is_empty() || reaction.len() > MAX_REACTION_BYTES {
            return Err(NodeError::Invalid(format!(
                "a reaction is 1 to {MAX_REACTION_BYTES} bytes (an emoji or a short word)"
            )));
        }
        self.held(&target)?;
        self.publish_social(Body::React {
            target,
            reaction: reaction.to_owned(),
        })
        .await
    }

    /// Reposts `target` (held here), with a comment for a quote post.
    pub async fn repost(
        &self,
        target: ContentId,
        text: Option<&str>,
    ) -> Result<VerifiedEntry, NodeError> {
        if let Some(text) = text {
            check_text("quote", text)?;
        }
        self.held(&target)?;
        self.publish_social(Body::Repost {
            target,
            text: text.map(str::to_owned),
        })
        .await
    }

    /// Replaces the text of one of our own posts, replies or quotes; the history is kept.
    pub async fn edit(&self, target: ContentId, text: &str) -> Result<VerifiedEntry, NodeError> {
        check_text("edit", text)?;
        let entry = self.own(&target)?;
        if entry.body().text().is_none() || matches!(entry.body(), Body::Edit { .. }) {
            return Err(NodeError::Invalid(format!(
                "entry {target} is a {}; only posts, replies and quotes can be edited",
                entry.kind()
            )));
        }
        self.publish_social(Body::Edit {
            target,
            text: text.to_owned(),
        })
        .await
    }

    /// Deletes one of our own entries: a tombstone goes into our feed, the body is dropped
    /// here and by every peer that receives the tombstone.
    pub async fn delete(&self, target: ContentId) -> Result<VerifiedEntry, NodeError> {
        let entry = self.own(&target)?;
        if matches!(entry.body(), Body::Delete { .. }) {
            return Err(NodeError::Invalid("a delete cannot be deleted".into()));
        }
        // Those the entry concerns are told before its body goes.
        let related = related_authors(&self.inner.store, &entry)?;
        let tombstone = self
            .publish(Body::Delete {
                target,
                target_seq: entry.seq(),
                target_prev: entry.prev(),
            })
            .await?;
        for author in related {
            let node = self.clone();
            let bytes = tombstone.bytes().to_vec();
            tokio::spawn(async move { deliver(&node, author, bytes).await });
        }
        // A global slug held for the post is given back (best effort, in the background).
        if let Some(slug) = self.inner.store.global_slug(&target)? {
            let node = self.clone();
            tokio::spawn(async move { node.release_post_slug(target, &slug).await });
        }
        Ok(tombstone)
    }

    /// Blocks `author`: everything of theirs is dropped here and refused from now on (not
    /// stored, shown or relayed), and we stop following them.
    pub async fn block(&self, author: AuthorId) -> Result<(), NodeError> {
        if author == self.inner.author {
            return Err(NodeError::Invalid("you cannot block yourself".into()));
        }
        if self
            .inner
            .store
            .following(&self.inner.author)?
            .contains(&author)
        {
            self.unfollow(author).await?;
        }
        if let Ok(mut blocked) = self.inner.blocked.write() {
            blocked.insert(author);
        }
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || store.set_blocked(author, true))
            .await
            .map_err(|_| NodeError::Stopped)??;
        Ok(())
    }

    /// Unblocks `author` (nothing dropped comes back by itself; follow them again to fetch
    /// their feed).
    pub async fn unblock(&self, author: AuthorId) -> Result<(), NodeError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || store.set_blocked(author, false))
            .await
            .map_err(|_| NodeError::Stopped)??;
        if let Ok(mut blocked) = self.inner.blocked.write() {
            blocked.remove(&author);
        }
        Ok(())
    }

    /// Mutes (`on`) or unmutes `author`: their entries are still stored and relayed, but
    /// hidden from timelines and threads shown here.
    pub async fn set_muted(&self, author: AuthorId, on: bool) -> Result<(), NodeError> {
        if author == self.inner.author {
            return Err(NodeError::Invalid("you cannot mute yourself".into()));
        }
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || store.set_muted(author, on))
            .await
            .map_err(|_| NodeError::Stopped)??;
        Ok(())
    }

    /// Whether `author` is blocked here (no store round trip).
    pub(crate) fn is_blocked(&self, author: &AuthorId) -> bool {
        self.inner
            .blocked
            .read()
            .is_ok_and(|blocked| blocked.contains(author))
    }

    /// Publishes an entry in our feed and on the topics of the authors it concerns.
    async fn publish_social(&self, body: Body) -> Result<VerifiedEntry, NodeError> {
        let entry = self.publish(body).await?;
        deliver_related(self, &entry);
        Ok(entry)
    }

    fn held(&self, id: &ContentId) -> Result<Entry, NodeError> {
        match self.inner.store.entry_state(id)? {
            EntryState::Held(entry) => Ok(*entry),
            EntryState::Deleted { .. } => Err(NodeError::NotFound(format!(
                "entry {id} was deleted by its author"
            ))),
            EntryState::Unknown => Err(NodeError::NotFound(format!(
                "entry {id} is not stored on this peer; follow its author first"
            ))),
        }
    }

    fn own(&self, id: &ContentId) -> Result<Entry, NodeError> {
        let entry = self.held(id)?;
        if entry.author() != self.inner.author {
            return Err(NodeError::Forbidden(format!(
                "entry {id} is by {}; only its author can change it",
                entry.author()
            )));
        }
        Ok(entry)
    }
}

pub(crate) fn check_text(what: &str, text: &str) -> Result<(), NodeError> {
    if text.is_empty() {
        return Err(NodeError::Invalid(format!("the {what} is empty")));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(NodeError::Invalid(format!(
            "the {what} is {} bytes; the limit is {MAX_TEXT_BYTES}",
            text.len()
        )));
    }
    Ok(())
}

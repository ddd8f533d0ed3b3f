//! Profiles and their avatars.
//!
//! A profile is an entry in its author's feed (`profile`: name, bio, avatar blob id), so it
//! reaches followers like any entry. The avatar is a blob (`kith_proto::blob`): when a
//! profile entry arrives, its avatar is fetched at once (manifest first, then the chunks,
//! each verified against its id) from the peer that sent the entry, else from the feed's
//! holders, and kept, so showing a profile never waits for the network.

use std::collections::HashSet;
use std::sync::Arc;

use kith_net::FetchRequest;
use kith_net::libp2p::PeerId;
use kith_net::protocol::MAX_BLOB_IDS;
use kith_proto::blob::{Blob, Manifest, check_chunk};
use kith_proto::limits::{MAX_BIO_BYTES, MAX_NAME_BYTES};
use kith_proto::{AuthorId, Body, ContentId, Entry, VerifiedEntry};
use tokio::sync::Semaphore;
use tracing::debug;

use crate::NodeError;
use crate::node::Node;

/// Most avatar fetches running at once.
pub const MAX_BLOB_FETCHES: usize = 4;
/// Most peers asked for one blob.
const MAX_BLOB_SOURCES: usize = 4;

/// Blob fetches in flight (deduplicated by blob id) and their bound.
pub(crate) struct BlobFetches {
    running: std::sync::Mutex<HashSet<ContentId>>,
    permits: Arc<Semaphore>,
}

impl Default for BlobFetches {
    fn default() -> Self {
        Self {
            running: std::sync::Mutex::new(HashSet::new()),
            permits: Arc::new(Semaphore::new(MAX_BLOB_FETCHES)),
        }
    }
}

/// What [`Node::set_profile`] changes; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// Display name.
    pub name: Option<String>,
    /// Bio.
    pub bio: Option<String>,
    /// The id of an avatar blob already stored here ([`Node::add_blob`]).
    pub avatar: Option<ContentId>,
    /// The registered username shown: `Some(None)` clears it (the node sets it when a
    /// claim succeeds and clears it when the name is released).
    pub username: Option<Option<String>>,
}

/// Called for every entry newly stored here: a profile's avatar is fetched now.
pub(crate) fn on_stored(node: &Node, entry: &Entry, source: Option<PeerId>) {
    if let Body::Profile {
        avatar: Some(avatar),
        ..
    } = entry.body()
    {
        spawn_blob_fetch(node, *avatar, entry.author(), source);
    }
}

fn spawn_blob_fetch(node: &Node, blob: ContentId, author: AuthorId, source: Option<PeerId>) {
    if matches!(node.inner.store.blob(&blob), Ok(Some(_))) {
        return;
    }
    let fetches = &node.inner.blob_fetches;
    if !fetches
        .running
        .lock()
        .is_ok_and(|mut running| running.insert(blob))
    {
        return;
    }
    let node = node.clone();
    tokio::spawn(async move {
        let permit = Arc::clone(&node.inner.blob_fetches.permits)
            .acquire_owned()
            .await;
        let mut peers: Vec<PeerId> = source.into_iter().collect();
        let net = &node.inner.net;
        for peer in net.topic_peers(author).await.unwrap_or_default() {
            if !peers.contains(&peer) {
                peers.push(peer);
            }
        }
        if peers.len() < 2 {
            for peer in net.find_providers(author).await.unwrap_or_default() {
                if !peers.contains(&peer) {
                    peers.push(peer);
                }
            }
        }
        // The peer that sent the profile first, then the others by score.
        let first = peers.first().copied().filter(|_| source.is_some());
        let rest: Vec<PeerId> = peers.into_iter().filter(|p| Some(*p) != first).collect();
        let mut ordered: Vec<PeerId> = first.into_iter().collect();
        ordered.extend(node.rank_hosts(rest).await);
        for peer in ordered.into_iter().take(MAX_BLOB_SOURCES) {
            match fetch_blob(&node, peer, blob).await {
                Ok(()) => break,
                Err(e) => debug!("avatar {blob} from {peer}: {e}"),
            }
        }
        drop(permit);
        if let Ok(mut running) = node.inner.blob_fetches.running.lock() {
            running.remove(&blob);
        }
    });
}

/// Fetches blob `id` from `peer`: the manifest, then the chunks, every piece verified
/// before anything is stored; the blob is stored only once whole.
async fn fetch_blob(node: &Node, peer: PeerId, id: ContentId) -> Result<(), String> {
    let count = |node: &Node| {
        node.inner
            .fetch_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    };
    count(node);
    let response = node
        .fetch_observed(peer, FetchRequest::blobs(&[id]))
        .await
        .map_err(|e| e.to_string())?;
    let manifest_bytes = response
        .entries
        .first()
        .ok_or("the peer does not hold the blob")?
        .to_vec();
    let manifest = Manifest::decode(&id, &manifest_bytes).map_err(|e| e.to_string())?;
    let mut pieces = vec![(id, manifest_bytes)];
    let mut index = 0;
    while index < manifest.chunks.len() {
        let wanted: Vec<ContentId> = manifest.chunks[index..]
            .iter()
            .take(MAX_BLOB_IDS)
            .copied()
            .collect();
        count(node);
        let response = node
            .fetch_observed(peer, FetchRequest::blobs(&wanted))
            .await
            .map_err(|e| e.to_string())?;
        if response.entries.is_empty() {
            return Err(format!("the peer lacks chunk {index}"));
        }
        for bytes in response.entries {
            if index >= manifest.chunks.len() {
                break;
            }
            if let Err(e) = check_chunk(&manifest, index, &bytes) {
                node.inner
                    .fetch_rejected
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return Err(e.to_string());
            }
            pieces.push((manifest.chunks[index], bytes.into_vec()));
            index += 1;
        }
    }
    let store = node.inner.store.clone();
    tokio::task::spawn_blocking(move || store.put_blob_pieces(pieces))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

impl Node {
    /// Checks an image (PNG, JPEG, GIF or WebP, at most 4 MiB) and stores it as a blob;
    /// returns its id, for a profile's avatar.
    pub async fn add_blob(&self, content: Vec<u8>) -> Result<Blob, NodeError> {
        let blob = Blob::new(&content).map_err(|e| NodeError::Invalid(e.to_string()))?;
        let store = self.inner.store.clone();
        let stored = blob.clone();
        tokio::task::spawn_blocking(move || store.put_blob(&stored))
            .await
            .map_err(|_| NodeError::Stopped)??;
        Ok(blob)
    }

    /// Publishes a new profile: the fields given replace the current ones, the others are
    /// kept. An avatar must be a blob stored here.
    pub async fn set_profile(&self, update: ProfileUpdate) -> Result<VerifiedEntry, NodeError> {
        let check = |field: &str, value: &Option<String>, max: usize| match value {
            Some(text) if text.is_empty() || text.len() > max => Err(NodeError::Invalid(format!(
                "the {field} must be 1 to {max} bytes"
            ))),
            _ => Ok(()),
        };
        check("name", &update.name, MAX_NAME_BYTES)?;
        check("bio", &update.bio, MAX_BIO_BYTES)?;
        if let Some(avatar) = &update.avatar
            && self.inner.store.blob(avatar)?.is_none()
        {
            return Err(NodeError::BlobNotFound(format!(
                "blob {avatar} is not stored here; upload the image first"
            )));
        }
        let (mut name, mut bio, mut avatar, mut username) = (None, None, None, None);
        if let Some(current) = self.inner.store.profile(&self.inner.author)?
            && let Body::Profile {
                name: n,
                bio: b,
                avatar: a,
                username: u,
            } = current.body()
        {
            (name, bio, avatar, username) = (n.clone(), b.clone(), *a, u.clone());
        }
        if update.name.is_none()
            && update.bio.is_none()
            && update.avatar.is_none()
            && update.username.is_none()
        {
            return Err(NodeError::Invalid(
                "nothing to change: give a name, a bio or an avatar".into(),
            ));
        }
        self.publish(Body::Profile {
            name: update.name.or(name),
            bio: update.bio.or(bio),
            avatar: update.avatar.or(avatar),
            username: update.username.unwrap_or(username),
        })
        .await
    }
}

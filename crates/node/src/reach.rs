//! Reaching people who do not follow you: mentions (inbox topics), hashtags (tag topics)
//! and the public stream.
//!
//! * **Mentions.** Every node subscribes to the inbox topic of its author
//!   ([`Topic::Inbox`]); nobody else does. A post that mentions `did:key:…` is published on
//!   the mentioned author's inbox topic: the poster finds that author's node among the
//!   holders of the author's feed (DHT providers; an author provides its own feed), dials
//!   them, and publishes once one of them shows the inbox subscription. The receiver keeps
//!   the entry only if it really mentions it, from an author it has not blocked, within the
//!   per-author rate limit below.
//! * **Hashtags.** Following a tag subscribes to its topic and announces this peer as a
//!   follower on the DHT; a post with `#tag` is published on the tag's topic, after dialling
//!   the tag's followers when none is connected. Receivers keep posts that carry the tag.
//! * **Public stream.** Top-level posts are also published on the public topic; a peer that
//!   turns its public timeline on subscribes to it and keeps them.
//!
//! **Spam bound.** What arrives this way comes from authors the receiver chose nothing
//! about, so each author may place at most [`RATE_BURST`] entries, refilled at one per
//! [`RATE_REFILL`], through these topics on one peer; more are dropped unjudged (Ignore).
//! The limiter remembers at most [`MAX_RATE_AUTHORS`] authors.

use std::time::{Duration, Instant};

use kith_net::Topic;
use kith_net::libp2p::PeerId;
use kith_proto::text::{mentions, normalize_tag, tags};
use kith_proto::{AuthorId, Body, Entry, VerifiedEntry};
use tracing::debug;

use crate::NodeError;
use crate::node::Node;

/// Entries one author may place through inbox, tag and public topics at once.
pub const RATE_BURST: u32 = 30;
/// One more such entry is allowed per this long.
pub const RATE_REFILL: Duration = Duration::from_secs(2);
/// Authors the rate limiter remembers; beyond, the least recently seen are forgotten.
pub const MAX_RATE_AUTHORS: usize = 10_000;
/// Most hashtags followed on one peer.
pub const MAX_FOLLOWED_TAGS: usize = 256;
/// How long a post waits to find subscribers of an inbox or tag topic.
const DELIVERY_WAIT: Duration = Duration::from_secs(10);

/// A token bucket per author.
pub(crate) struct RateLimiter(kith_net::rate::TokenBuckets<AuthorId>);

impl Default for RateLimiter {
    fn default() -> Self {
        Self(kith_net::rate::TokenBuckets::new(
            RATE_BURST,
            RATE_REFILL,
            MAX_RATE_AUTHORS,
        ))
    }
}

impl RateLimiter {
    /// Whether `author` may place one more entry now (and takes it).
    pub(crate) fn allow(&mut self, author: AuthorId) -> bool {
        self.0.allow(author)
    }
}

/// The text of an entry that can mention or tag.
fn text_of(entry: &Entry) -> Option<&str> {
    match entry.body() {
        Body::Post { text } | Body::Reply { text, .. } => Some(text),
        Body::Repost { text, .. } => text.as_deref(),
        _ => None,
    }
}

/// What a gossip topic is to this node, by its hash string.
pub(crate) enum TopicRole {
    /// Our own inbox.
    Inbox,
    /// A followed hashtag.
    Tag(String),
    /// The public stream.
    Public,
    /// A feed topic (or one we do not know).
    Other,
}

impl Node {
    /// The role of the topic `topic` (a gossipsub topic hash string).
    pub(crate) fn topic_role(&self, topic: &str) -> TopicRole {
        let inner = &self.inner;
        if topic == inner.inbox_topic {
            return TopicRole::Inbox;
        }
        if topic == kith_net::protocol::PUBLIC_TOPIC {
            return TopicRole::Public;
        }
        if let Ok(tags) = inner.tag_topics.read()
            && let Some(tag) = tags.get(topic)
        {
            return TopicRole::Tag(tag.clone());
        }
        TopicRole::Other
    }

    /// Whether an entry that arrived on an inbox, tag or public topic is kept.
    pub(crate) fn wanted_from(&self, role: &TopicRole, entry: &Entry) -> bool {
        let fits = match role {
            TopicRole::Inbox => match entry.body() {
                // A new follower tells the followed author.
                Body::Follow { subject } => *subject == self.inner.author,
                // A direct message or a post sealed for us: kept only if it opens for us.
                Body::Sealed(_) => self.sealed_for_us(entry),
                _ => text_of(entry).is_some_and(|text| mentions(text).contains(&self.inner.author)),
            },
            TopicRole::Tag(tag) => text_of(entry).is_some_and(|text| tags(text).contains(tag)),
            TopicRole::Public => {
                matches!(entry.body(), Body::Post { .. })
                    && self
                        .inner
                        .public_on
                        .load(std::sync::atomic::Ordering::Relaxed)
            }
            TopicRole::Other => false,
        };
        fits && self
            .inner
            .rate_limiter
            .lock()
            .is_ok_and(|mut limiter| limiter.allow(entry.author()))
    }

    /// Follows a hashtag (`rust` or `#Rust`): its posts from anyone reach this peer.
    /// Returns the normalized tag.
    pub async fn follow_tag(&self, tag: &str) -> Result<String, NodeError> {
        let tag = normalize_tag(tag).ok_or_else(|| {
            NodeError::Invalid(format!(
                "`{tag}` is not a hashtag: use letters, digits and _ (at most 64 bytes), \
                 e.g. #rust"
            ))
        })?;
        let followed = self.inner.store.followed_tags()?;
        if !followed.contains(&tag) && followed.len() >= MAX_FOLLOWED_TAGS {
            return Err(NodeError::Invalid(format!(
                "this peer follows {MAX_FOLLOWED_TAGS} hashtags, the most it can; unfollow one \
                 first"
            )));
        }
        let store = self.inner.store.clone();
        let stored = tag.clone();
        tokio::task::spawn_blocking(move || store.set_tag_followed(&stored, true))
            .await
            .map_err(|_| NodeError::Stopped)??;
        self.listen_to_tag(&tag).await?;
        Ok(tag)
    }

    /// Stops following a hashtag.
    pub async fn unfollow_tag(&self, tag: &str) -> Result<String, NodeError> {
        let tag = normalize_tag(tag)
            .ok_or_else(|| NodeError::Invalid(format!("`{tag}` is not a hashtag")))?;
        let store = self.inner.store.clone();
        let stored = tag.clone();
        tokio::task::spawn_blocking(move || store.set_tag_followed(&stored, false))
            .await
            .map_err(|_| NodeError::Stopped)??;
        let topic = Topic::Tag(tag.clone());
        if let Ok(mut tags) = self.inner.tag_topics.write() {
            tags.remove(topic.ident().hash().as_str());
        }
        self.inner.net.unsubscribe_from(&topic).await?;
        Ok(tag)
    }

    /// Subscribes to a followed tag's topic and announces us as its follower.
    pub(crate) async fn listen_to_tag(&self, tag: &str) -> Result<(), NodeError> {
        let topic = Topic::Tag(tag.to_owned());
        if let Ok(mut tags) = self.inner.tag_topics.write() {
            tags.insert(topic.ident().hash().to_string(), tag.to_owned());
        }
        self.inner.net.subscribe_to(&topic).await?;
        let node = self.clone();
        let tag = tag.to_owned();
        tokio::spawn(async move {
            if let Err(e) = node.inner.net.provide_tag(&tag).await {
                debug!("cannot announce that we follow #{tag}: {e}");
            }
        });
        Ok(())
    }

    /// Turns the public timeline on (subscribe to the public stream and keep its posts) or
    /// off.
    pub async fn set_public_timeline(&self, on: bool) -> Result<(), NodeError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || store.set_public_timeline(on))
            .await
            .map_err(|_| NodeError::Stopped)??;
        self.inner
            .public_on
            .store(on, std::sync::atomic::Ordering::Relaxed);
        if on {
            self.inner.net.subscribe_to(&Topic::Public).await?;
        } else {
            self.inner.net.unsubscribe_from(&Topic::Public).await?;
        }
        Ok(())
    }
}

impl Node {
    /// Posts anonymously: the text (a top-level post, or a reply to `reply_to`) is signed
    /// with a fresh one-time key that is dropped (and wiped) right after, as entry 1 of a
    /// feed of its own. Nothing stored or sent links it to this node's identity: it is not
    /// in our feed, not announced on the DHT, not provided, and not gossiped on our topic;
    /// it goes to the public stream, its hashtags' and mentioned authors' topics, and (a
    /// reply) the topics of the authors it answers. It cannot be edited or deleted later.
    /// What a network observer can still learn is in `docs/PROTOCOL.md` §Anonymous posts.
    pub async fn post_anonymous(
        &self,
        text: &str,
        reply_to: Option<kith_proto::ContentId>,
    ) -> Result<VerifiedEntry, NodeError> {
        crate::social::check_text("post", text)?;
        let body = match reply_to {
            None => Body::Post {
                text: text.to_owned(),
            },
            Some(parent) => {
                let Some(parent_entry) = self.inner.store.entry(&parent)? else {
                    return Err(NodeError::NotFound(format!(
                        "entry {parent} is not stored on this peer; follow its author first"
                    )));
                };
                let root = match parent_entry.body() {
                    Body::Reply { root, .. } => *root,
                    _ => parent,
                };
                Body::Reply {
                    text: text.to_owned(),
                    parent,
                    root,
                }
            }
        };
        let kind = body
            .kind()
            .ok_or_else(|| NodeError::Invalid("cannot publish an unknown kind".into()))?;
        let bytes = body.encode();
        let entry = {
            let one_time = kith_proto::Keypair::generate();
            let draft =
                kith_proto::Draft::after(None, crate::node::now_ms(), kind.as_str(), &bytes);
            kith_proto::sign_entry(&one_time, &draft)?
            // `one_time` is dropped here; its secret is wiped.
        };
        let store = self.inner.store.clone();
        let stored = entry.clone();
        let results = tokio::task::spawn_blocking(move || store.submit_detached(vec![stored]))
            .await
            .map_err(|_| NodeError::Stopped)??
            .await?;
        match results.into_iter().next() {
            Some(Ok(kith_store::AppendOutcome::Detached)) => {}
            Some(Ok(other)) => {
                return Err(NodeError::Invalid(format!(
                    "the anonymous post was not kept: {other:?}"
                )));
            }
            Some(Err(refused)) => return Err(refused.into()),
            None => return Err(NodeError::Stopped),
        }
        let _ = self.inner.events.send(crate::NodeEvent::Entry {
            entry: entry.clone().into_entry(),
            local: true,
        });
        spread(self, &entry);
        crate::social::deliver_related(self, &entry);
        Ok(entry)
    }
}

/// Publishes a local entry on the inbox topics of the authors it mentions, the topics of
/// its hashtags and (a top-level post) the public stream, in the background.
pub(crate) fn spread(node: &Node, entry: &VerifiedEntry) {
    let Some(text) = text_of(entry) else {
        return;
    };
    let mut topics: Vec<Topic> = mentions(text)
        .into_iter()
        .filter(|author| *author != node.inner.author)
        .map(Topic::Inbox)
        .collect();
    topics.extend(tags(text).into_iter().map(Topic::Tag));
    if matches!(entry.body(), Body::Post { .. }) {
        topics.push(Topic::Public);
    }
    for topic in topics {
        let node = node.clone();
        let bytes = entry.bytes().to_vec();
        tokio::spawn(async move { deliver(&node, topic, bytes).await });
    }
}

/// Tells `subject` that we follow them: the follow entry goes to their inbox (their node
/// lists it among their notifications even though it holds nothing of our feed).
pub(crate) fn announce_follow(node: &Node, subject: AuthorId, entry: &VerifiedEntry) {
    let node = node.clone();
    let bytes = entry.bytes().to_vec();
    tokio::spawn(async move { deliver(&node, Topic::Inbox(subject), bytes).await });
}

/// Delivers `envelope` on `topic` in the background (see [`deliver`]).
pub(crate) fn deliver_to(node: &Node, topic: Topic, envelope: Vec<u8>) {
    let node = node.clone();
    tokio::spawn(async move { deliver(&node, topic, envelope).await });
}

/// Publishes on `topic`, first finding its subscribers when none is connected (the public
/// stream has no directory: it reaches connected subscribers only).
async fn deliver(node: &Node, topic: Topic, envelope: Vec<u8>) {
    let net = &node.inner.net;
    if !matches!(topic, Topic::Public) && net.peers_on(&topic).await.is_ok_and(|p| p.is_empty()) {
        let found: Result<Vec<PeerId>, _> = match &topic {
            Topic::Inbox(author) => net.find_providers(*author).await,
            Topic::Tag(tag) => net.find_tag_followers(tag).await,
            _ => Ok(Vec::new()),
        };
        if let Err(e) = found {
            debug!("no subscribers of {topic:?} found: {e}");
        }
        let deadline = Instant::now() + DELIVERY_WAIT;
        while Instant::now() < deadline && net.peers_on(&topic).await.is_ok_and(|p| p.is_empty()) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    match net.publish_on(&topic, envelope).await {
        Ok(true) => {}
        Ok(false) => debug!("nobody on {topic:?} is reachable"),
        Err(e) => debug!("publishing on {topic:?} failed: {e}"),
    }
}

/// The notification an entry is for the local author, if any (the store keeps the list;
/// this names the live event).
pub(crate) fn notification_for(node: &Node, entry: &Entry) -> Option<&'static str> {
    let me = node.inner.author;
    if entry.author() == me {
        return None;
    }
    let author_of = |id| {
        node.inner
            .store
            .entry(id)
            .ok()
            .flatten()
            .map(|e| e.author())
    };
    let kind = match entry.body() {
        Body::Reply { parent, .. } if author_of(parent) == Some(me) => Some("reply"),
        Body::React { target, .. } if author_of(target) == Some(me) => Some("reaction"),
        Body::Repost { target, .. } if author_of(target) == Some(me) => Some("repost"),
        Body::Follow { subject } if *subject == me => Some("follow"),
        _ => None,
    };
    kind.or_else(|| {
        text_of(entry).and_then(|text| mentions(text).contains(&me).then_some("mention"))
    })
}

//! The JSON bodies of the API (docs/API.md), shared by the server and its clients (the `kith`
//! command line deserializes the same types).
//!
//! Responses are a contract: fields may be added, never renamed, removed or changed in type.
//! Clients therefore ignore fields they do not know (no `deny_unknown_fields` on response
//! types), while the server refuses unknown fields in request bodies, so a typo in a field
//! name is an error instead of being ignored.
//!
//! Every type derives `utoipa::ToSchema`: the OpenAPI document (`GET /api/openapi.json`) takes
//! its schemas from them, and its descriptions from their doc comments.

use kith_proto::{Body, Entry};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One entry of a feed, as every route and the event stream show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EntryObject {
    /// Content id of the entry (CIDv1 text, `b…`).
    pub id: String,
    /// The author, `did:key:z6Mk…`.
    pub author: String,
    /// Sequence number in the author's feed, from 1.
    pub seq: u64,
    /// Content id of the author's entry `seq - 1`; `null` exactly at seq 1.
    pub prev: Option<String>,
    /// The author's timestamp, milliseconds since the Unix epoch.
    pub ts: u64,
    /// The kind's wire name (`post`, `reply`, `follow`, …, or a kind this version does not
    /// know).
    pub kind: String,
    /// The text of a post, reply, edit or quote repost; `null` for kinds without one.
    pub text: Option<String>,
    /// A reply's parent entry; `null` for other kinds (absent from daemons before 0.1.x
    /// replies, read as `null`).
    #[serde(default)]
    pub parent: Option<String>,
    /// A reply's thread root (the top-level post); `null` for other kinds.
    #[serde(default)]
    pub root: Option<String>,
    /// The entry a reaction, repost, quote, edit or delete is about; `null` for other kinds.
    #[serde(default)]
    pub target: Option<String>,
    /// A reaction's emoji or word; `null` for other kinds.
    #[serde(default)]
    pub reaction: Option<String>,
    /// Current reactions to this entry known here, one per author, most frequent first.
    /// Filled in by the entry, thread and timeline routes; empty in events.
    #[serde(default)]
    pub reactions: Vec<ReactionObject>,
    /// Reposts and quotes of this entry known here (0 in events).
    #[serde(default)]
    pub reposts: u64,
    /// `text` is the author's latest edit, not the original (`false` in events); the
    /// history is at `GET /api/v1/entries/{id}/history`.
    #[serde(default)]
    pub edited: bool,
    /// The entry's permalink, `kith:<id>`; it resolves on any peer (`kith get`,
    /// `GET /api/v1/resolve?link=…`, the web page `/p/<id>`).
    #[serde(default)]
    pub permalink: String,
    /// A post's slug, unique among its author's posts (`kith:<username>/<slug>` and the web
    /// path `/<username>/<slug>` resolve to it); `null` for other kinds or posts without
    /// one.
    #[serde(default)]
    pub slug: Option<String>,
    /// The global slug this peer's identity holds for the post: `kith:/<slug>` and the web
    /// path `/<slug>` resolve to it on any peer. `null` when none is held (the slug was
    /// taken by another author, the registry was unreachable, or the post is not ours): the
    /// post is then reached globally by its content id.
    #[serde(default)]
    pub global_slug: Option<String>,
    /// For a sealed entry (`kind` `sealed`: followers-only, list and direct posts, direct
    /// messages), what this peer's identity can see of it; `null` for other kinds. When it
    /// is readable, `text`, `parent` and `root` are the inner entry's.
    #[serde(default)]
    pub sealed: Option<SealedView>,
}

/// What this peer's identity sees of a sealed entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SealedView {
    /// Whether this identity can read it (it is in the audience).
    pub readable: bool,
    /// Whom the author sealed it for: `followers`, `list`, `direct`, `self` or `thread` (a
    /// reply in a sealed thread); `null` when unreadable.
    pub audience: Option<String>,
    /// The inner entry's kind (`post`, `reply`, `dm`); `null` when unreadable.
    pub inner_kind: Option<String>,
    /// A direct message's conversation: every member, the author included, `did:key:…`
    /// each; empty otherwise.
    #[serde(default)]
    pub members: Vec<String>,
    /// Wrapped keys it carries: its audience size, padded up to a power of two (at least
    /// 4); 0 for a reply in a sealed thread. Anyone can see this.
    pub wrapped_keys: u64,
    /// Set when the entry is addressed to this identity but does not open: it was altered.
    #[serde(default)]
    pub error: Option<String>,
}

/// `GET /api/v1/lists`: the audience lists of this peer's identity (private to this peer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Lists {
    /// Every list, by name.
    pub lists: Vec<ListObject>,
}

/// One audience list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ListObject {
    /// Its name: 1 to 32 of `a-z 0-9 _ -`, starting with a letter.
    pub name: String,
    /// Its members, `did:key:…` each.
    pub members: Vec<String>,
}

/// `POST /api/v1/lists` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewList {
    /// The new list's name.
    pub name: String,
}

/// `POST /api/v1/dms` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDm {
    /// The other members of the conversation: 1 to 64 authors, `did:key:…` or usernames.
    pub to: Vec<String>,
    /// The message: 1 to `kith_proto::limits::MAX_TEXT_BYTES` bytes.
    pub text: String,
}

/// `GET /api/v1/dms`: direct messages this identity can read, sent and received, newest
/// first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DirectMessages {
    /// The messages (entry objects whose `sealed.members` name each conversation).
    pub messages: Vec<EntryObject>,
    /// Pass as `before` to get older messages; `null` when there are none.
    pub next: Option<u64>,
}

/// How many authors reacted to an entry with one reaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReactionObject {
    /// The emoji or word.
    pub reaction: String,
    /// How many authors' current reaction it is.
    pub count: u64,
}

/// `POST /api/v1/entries/{id}/reactions` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReaction {
    /// An emoji or a short word, 1 to 64 bytes; replaces this identity's earlier reaction.
    pub reaction: String,
}

/// `POST /api/v1/entries/{id}/reposts` request body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRepost {
    /// A comment: makes it a quote post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `POST /api/v1/entries/{id}/edits` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEdit {
    /// The new text.
    pub text: String,
}

/// `GET /api/v1/entries/{id}/history`: the original entry, then its author's edits, oldest
/// first (the last one's text is the current text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct History {
    /// The entries.
    pub entries: Vec<EntryObject>,
}

/// One notification: an entry that concerns the hosted identity. The items of
/// `GET /api/v1/notifications` and the data of the `notification` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NotificationObject {
    /// `reply` (to one of your entries), `mention`, `reaction` (to one of your entries),
    /// `repost` (or quote of one of your entries) or `follow` (of you).
    pub kind: String,
    /// The entry.
    pub entry: EntryObject,
}

/// `GET /api/v1/notifications`: one page, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Notifications {
    /// The notifications.
    pub notifications: Vec<NotificationObject>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    pub next: Option<String>,
}

/// `GET /api/v1/tags/{tag}` and `GET /api/v1/public`: one page of a timeline, newest
/// first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TimelinePage {
    /// The entries.
    pub entries: Vec<EntryObject>,
    /// Pass as `cursor` for the next (older) page; `null` on the last.
    pub next: Option<String>,
}

/// `POST /api/v1/tags` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// The hashtag, with or without `#`.
    pub tag: String,
}

/// `GET /api/v1/tags`: hashtags followed here (normalized, without `#`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tags {
    /// The tags.
    pub tags: Vec<String>,
}

/// `GET` and `PUT /api/v1/public/settings`: whether the public timeline is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicSettings {
    /// On: this peer joins the public stream and keeps what it carries.
    pub enabled: bool,
}

/// `POST /api/v1/names` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewName {
    /// The username wanted (normalized by the daemon: NFKC, lower case).
    pub name: String,
}

/// A name and its owner: `GET /api/v1/names/{name}`, and `POST /api/v1/names` (with the
/// quorum figures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NameObject {
    /// The normalized name.
    pub name: String,
    /// Its owner, `did:key:z6Mk…`.
    pub owner: String,
    /// When it was claimed (the claim's timestamp, ms since the Unix epoch).
    pub ts: u64,
    /// Replicas that accepted the claim (claims only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted: Option<usize>,
    /// Replicas asked (claims only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<usize>,
}

/// `DELETE /api/v1/names/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NameReleased {
    /// The normalized name.
    pub name: String,
    /// Replicas that removed the claim.
    pub released: usize,
}

/// `POST /api/v1/blobs`: the image stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlobObject {
    /// The blob's content id (its manifest's), for a profile's `avatar`.
    pub id: String,
    /// Its media type, found from its content (`image/png`, `image/jpeg`, `image/gif`,
    /// `image/webp`).
    pub mime: String,
    /// Its size in bytes.
    pub size: u64,
}

/// `POST /api/v1/profile` request body: the fields given replace the current ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProfile {
    /// Display name, 1 to 128 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Bio, 1 to 4096 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio: Option<String>,
    /// Content id of an image uploaded with `POST /api/v1/blobs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
}

/// `GET /api/v1/profiles/{did}`: an author's current profile as this peer knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProfileObject {
    /// The author, `did:key:z6Mk…`.
    pub author: String,
    /// Display name.
    pub name: Option<String>,
    /// Bio.
    pub bio: Option<String>,
    /// Content id of the avatar blob.
    pub avatar: Option<String>,
    /// Whether the avatar is stored here (then `GET /api/v1/blobs/{avatar}` serves it).
    pub avatar_cached: bool,
    /// The profile entry's content id.
    pub entry: String,
    /// The profile entry's timestamp (ms since the Unix epoch).
    pub ts: u64,
    /// The path of the author's Atom feed on this daemon, `/feeds/<did>.atom` (served
    /// without the API token); empty from daemons before Atom feeds.
    #[serde(default)]
    pub atom: String,
    /// The username the author claimed in the name registry, as their profile states it
    /// (confirm with `GET /api/v1/names/{username}`); `null` if none.
    #[serde(default)]
    pub username: Option<String>,
}

/// `POST /api/v1/blocks` and `POST /api/v1/mutes` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorRef {
    /// The author, `did:key:z6Mk…`.
    pub author: String,
}

/// `GET /api/v1/blocks` and `GET /api/v1/mutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuthorList {
    /// The authors, `did:key:z6Mk…`.
    pub authors: Vec<String>,
}

impl From<&Entry> for EntryObject {
    fn from(entry: &Entry) -> Self {
        Self {
            id: entry.id().to_string(),
            author: entry.author().to_did(),
            seq: entry.seq(),
            prev: entry.prev().map(|id| id.to_string()),
            ts: entry.ts(),
            kind: entry.kind().as_str().to_owned(),
            text: entry.body().text().map(str::to_owned),
            parent: match entry.body() {
                Body::Reply { parent, .. } => Some(parent.to_string()),
                _ => None,
            },
            root: match entry.body() {
                Body::Reply { root, .. } => Some(root.to_string()),
                _ => None,
            },
            target: match entry.body() {
                Body::React { target, .. }
                | Body::Repost { target, .. }
                | Body::Edit { target, .. }
                | Body::Delete { target, .. } => Some(target.to_string()),
                _ => None,
            },
            reaction: match entry.body() {
                Body::React { reaction, .. } => Some(reaction.clone()),
                _ => None,
            },
            reactions: Vec::new(),
            reposts: 0,
            edited: false,
            permalink: format!("kith:{}", entry.id()),
            slug: match entry.body() {
                Body::Post { .. } => kith_proto::text::post_slug(entry.body_bytes()),
                _ => None,
            },
            global_slug: None,
            sealed: match entry.body() {
                Body::Sealed(sealed) => Some(SealedView {
                    readable: false,
                    audience: None,
                    inner_kind: None,
                    members: Vec::new(),
                    wrapped_keys: sealed.stanza_count() as u64,
                    error: None,
                }),
                _ => None,
            },
        }
    }
}

/// `POST /api/v1/ui/login`: a one-time sign-in link for the web UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LoginLink {
    /// Open it in a browser on this machine: it signs the browser in (a session cookie) and
    /// shows the page. It works once.
    pub url: String,
    /// Seconds the link stays valid.
    pub expires_in_s: u64,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `"ok"` while the API answers.
    pub status: String,
}

/// `GET /api/v1/identity`: who this peer is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Identity {
    /// The author hosted here, `did:key:z6Mk…`.
    pub author: String,
    /// The libp2p peer id of the node (`12D3KooW…`).
    pub peer_id: String,
    /// Full multiaddrs the node listens on, each ending in `/p2p/<peer_id>`.
    pub listen_addrs: Vec<String>,
    /// The version of the daemon.
    pub version: String,
}

/// `POST /api/v1/posts` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPost {
    /// The text: 1 to `kith_proto::limits::MAX_TEXT_BYTES` bytes of UTF-8.
    pub text: String,
    /// Makes it a reply to this entry (a content id the daemon holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Sign with a fresh one-time key instead of this peer's identity (see docs/API.md).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub anonymous: bool,
    /// Seal it for an audience: `followers`, `list:NAME`, or recipients as comma-separated
    /// `did:key:…`. Absent: a public post. A reply to a sealed entry is sealed for that
    /// thread's audience whatever this says (leave it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

/// `GET /api/v1/entries/{id}/thread`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Thread {
    /// The entry first (if held), then the replies known here, breadth first, each
    /// parent's replies oldest first.
    pub entries: Vec<EntryObject>,
}

/// `POST /api/v1/follows` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFollow {
    /// Whom to follow: `did:key:z6Mk…`, or a username (looked up in the name registry).
    pub author: String,
    /// Follow privately: the follow entry is sealed for this identity alone, and the author
    /// is not told (their peer does not list you as a follower).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private: bool,
}

/// `GET /api/v1/timelines/home`: one page, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HomePage {
    /// The entries.
    pub entries: Vec<EntryObject>,
    /// Pass as `cursor` to get the next (older) page; `null` when this is the last one.
    pub next: Option<String>,
}

/// `GET /api/v1/feeds/{did}`: one page of an author's feed, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FeedPage {
    /// The entries.
    pub entries: Vec<EntryObject>,
    /// Pass as `before` to get the next (older) page; `null` when this is the last one.
    pub next: Option<u64>,
    /// The seq at which the author signed two conflicting entries, when this peer holds the
    /// proof: the feed is frozen there (nothing after it is accepted) and
    /// `GET /api/v1/forks/{did}` shows the proof. `null` for a feed that did not fork.
    #[serde(default)]
    pub fork_seq: Option<u64>,
}

/// `GET /api/v1/forks/{did}`: the proof that an author forked their feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ForkObject {
    /// The author, `did:key:z6Mk…`.
    pub author: String,
    /// The seq of the fork: the feed is frozen there.
    pub seq: u64,
    /// The two conflicting entries, both validly signed by the author: two different entries
    /// at one seq, or an entry whose `prev` does not name the entry before it.
    pub entries: Vec<EntryObject>,
    /// The proof as it is stored and can be checked by anyone (PROTOCOL.md, fork proofs):
    /// canonical CBOR, hex.
    pub proof: String,
}

/// `GET /api/v1/follows`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Following {
    /// The authors the local identity follows, `did:key:z6Mk…` each (private follows
    /// included).
    pub following: Vec<String>,
    /// Those of them followed privately (added with private follows).
    #[serde(default)]
    pub private: Vec<String>,
}

/// One connected peer, with its latest status beacon and the score this node gives it as a
/// host to fetch from (docs/OPERATIONS.md, "Routing"). Beacon fields are `null` until a
/// beacon of the peer has arrived (and after it expired).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Peer {
    /// Its libp2p peer id.
    pub peer_id: String,
    /// Addresses known for it (multiaddrs).
    pub addrs: Vec<String>,
    /// Its store revision, as its beacon says (grows with every change it stores).
    #[serde(default)]
    pub revision: Option<u64>,
    /// The mean time it takes to answer a fetch, ms, as its beacon says.
    #[serde(default)]
    pub mean_response_ms: Option<f64>,
    /// The share of fetches it fails (0 to 1), as its beacon says.
    #[serde(default)]
    pub error_rate: Option<f64>,
    /// How far behind the newest heads it knows of it is, seconds, as its beacon says.
    #[serde(default)]
    pub lag_s: Option<u64>,
    /// When it signed its latest beacon, ms since the Unix epoch.
    #[serde(default)]
    pub last_heartbeat: Option<u64>,
    /// Its operator-set coarse location (a geohash), if its beacon has one.
    #[serde(default)]
    pub geohash: Option<String>,
    /// The ping round trip to it, ms.
    #[serde(default)]
    pub rtt_ms: Option<f64>,
    /// This node's own measurement of its mean fetch response time, ms (`null` before this
    /// node fetched from it).
    #[serde(default)]
    pub measured_response_ms: Option<f64>,
    /// This node's own measurement of its fetch error rate (0 to 1).
    #[serde(default)]
    pub measured_error_rate: Option<f64>,
    /// Its score as a host: 1 / (i·lag_s + j·response_ms + k·distance_ms + l·error_rate),
    /// with this node's measurements where it has them. Higher is better.
    #[serde(default)]
    pub score: Option<f64>,
    /// Whether every connection to the peer goes through a relay: no direct connection yet
    /// (hole punching may still make one). Absent from older daemons: read as false.
    #[serde(default)]
    pub relayed: bool,
}

/// `GET /api/v1/peers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Peers {
    /// The peers this node is connected to.
    pub peers: Vec<Peer>,
}

/// `GET /api/v1/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Status {
    /// The author hosted here.
    pub author: String,
    /// The node's peer id.
    pub peer_id: String,
    /// Number of connected peers.
    pub peers: u64,
    /// Entries in the store (every feed).
    pub entries: u64,
    /// Number of authors the local identity follows.
    pub following: u64,
    /// Entries waiting for a missing predecessor.
    pub pending: u64,
    /// A counter that grows with every change to the store.
    pub revision: u64,
    /// Seconds since the node started.
    pub uptime_s: u64,
    /// Fetch requests this node sent to peers since it started.
    pub fetch_requests: u64,
    /// Gossip messages refused as invalid since the node started.
    pub gossip_rejected: u64,
    /// Gossip messages dropped unjudged since start (blocked authors; others' entries that
    /// concern nothing held here).
    #[serde(default)]
    pub gossip_ignored: u64,
    /// Entries in fetch responses refused as invalid since start.
    pub fetch_rejected: u64,
    /// Feeds being caught up right now.
    pub syncing: u64,
    /// Peers on the deny list (absent from daemons before the deny list: read as 0).
    #[serde(default)]
    pub denied_peers: u64,
    /// Connections with denied peers refused since start (absent from daemons before the
    /// deny list: read as 0).
    #[serde(default)]
    pub denied_connections: u64,
    /// Whether other peers can reach this node, and how (absent from older daemons: read
    /// as unknown).
    #[serde(default)]
    pub reachability: Reachability,
    /// The version of the daemon.
    pub version: String,
}

/// How other peers reach this node (`status.reachability`; docs/PROTOCOL.md, "NAT
/// traversal").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reachability {
    /// `public` (a peer dialled one of our addresses back), `private` (dial-backs failed:
    /// behind a NAT or firewall, reached through relays) or `unknown` (no verdict yet).
    pub status: String,
    /// Our direct addresses that peers dialled back.
    pub external_addrs: Vec<String>,
    /// Our addresses through relays holding a reservation for us.
    pub relay_addrs: Vec<String>,
    /// Whether this node answers DHT queries (only public nodes do, unless configured).
    pub dht_server: bool,
    /// Whether this node relays for others (the `server` profile).
    pub relay_server: bool,
    /// Dial-backs of our addresses that worked, since start.
    pub probes_ok: u64,
    /// Dial-backs of our addresses that failed, since start.
    pub probes_failed: u64,
    /// Relayed connections turned direct by hole punching, since start.
    pub hole_punches: u64,
    /// Hole punching attempts that failed (the connection stayed relayed), since start.
    pub hole_punch_failures: u64,
}

impl Default for Reachability {
    fn default() -> Self {
        Self {
            status: "unknown".into(),
            external_addrs: Vec::new(),
            relay_addrs: Vec::new(),
            dht_server: false,
            relay_server: false,
            probes_ok: 0,
            probes_failed: 0,
            hole_punches: 0,
            hole_punch_failures: 0,
        }
    }
}

/// `GET`, `POST` and `DELETE /api/v1/denied-peers` (and `DELETE
/// /api/v1/denied-peers/{peer_id}`): the deny list after the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeniedPeers {
    /// Every denied peer id (`12D3KooW…`), sorted.
    pub peers: Vec<String>,
}

/// `POST /api/v1/denied-peers` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DenyPeers {
    /// The peer ids to deny (`12D3KooW…`).
    pub peers: Vec<String>,
}

/// `GET /api/v1/heads/{did}`: an author's feed head as found on the DHT.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HeadObject {
    /// The author, `did:key:z6Mk…`.
    pub author: String,
    /// The seq of the author's newest entry the head names.
    pub seq: u64,
    /// The content id of that entry.
    pub id: String,
    /// The author's timestamp of the head, milliseconds since the Unix epoch.
    pub ts: u64,
    /// How long the DHT lookup took, in milliseconds (fractional).
    pub lookup_ms: f64,
}

/// The `data` of an `entry` event on `GET /api/v1/events`: the entry object plus where it
/// came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EntryEvent {
    /// The entry.
    #[serde(flatten)]
    pub entry: EntryObject,
    /// `true` when it was made on this node (posted, followed, …), `false` when it came
    /// from the network.
    pub local: bool,
}

/// The `data` of a `reset` event: the client missed events and should reload what it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResetEvent {
    /// Why (for people).
    pub reason: String,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong and what to do, for people.
    pub error: String,
    /// A stable `snake_case` code for programs (docs/API.md lists them).
    pub code: String,
}

/// `POST /api/v1/bridges` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBridge {
    /// The RSS or Atom feed to bridge, an `http://` or `https://` URL.
    pub url: String,
}

/// A bridge feed: an external RSS or Atom feed republished by this daemon as a kith author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BridgeObject {
    /// The bridge's author, `did:key:z6Mk…`: follow it like anyone's.
    pub author: String,
    /// The feed's URL (normalised).
    pub url: String,
    /// The feed's title as of the last fetch.
    #[serde(default)]
    pub title: Option<String>,
    /// When the feed was last polled (ms since the Unix epoch), successfully or not.
    #[serde(default)]
    pub last_poll_ms: Option<u64>,
    /// Why the last poll failed; `null` after a success.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// `GET /api/v1/bridges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BridgeList {
    /// The bridges of this daemon, oldest first.
    pub bridges: Vec<BridgeObject>,
}

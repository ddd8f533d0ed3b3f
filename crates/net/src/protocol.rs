//! Wire names and messages of kith's network protocols (specified in `docs/PROTOCOL.md`
//! §Network).

use kith_proto::{AuthorId, ContentId};
use libp2p::StreamProtocol;
use libp2p::gossipsub::IdentTopic;
use libp2p::kad::RecordKey;
use serde::{Deserialize, Serialize};
use sha2_free::sha256;

/// Our own Kademlia protocol: kith's DHT is separate from the IPFS one.
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/kith/kad/1.0.0");
/// Request-response protocol for fetching entries.
pub const FETCH_PROTOCOL: StreamProtocol = StreamProtocol::new("/kith/fetch/1.0.0");
/// Identify's protocol version string.
pub const IDENTIFY_PROTOCOL_VERSION: &str = "/kith/1.0.0";
/// Prefix of provider keys: a peer that holds an author's feed provides this key + author.
pub const PROVIDER_KEY_PREFIX: &[u8] = b"/kith/feed/1/";
/// Prefix of gossip topic names.
pub const TOPIC_PREFIX: &str = "k1/";

/// Request-response protocol of the name registry.
pub const NAMES_PROTOCOL: StreamProtocol = StreamProtocol::new("/kith/names/1.0.0");
/// Largest name request or response on the wire (a claim is well under 1 KiB).
pub const MAX_NAME_MESSAGE_BYTES: u64 = 4 * 1024;

/// A request of `/kith/names/1.0.0`, to a replica of a name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameRequest {
    /// Store this signed claim if the name is free here (atomic check-and-insert).
    Claim {
        /// The claim envelope (`kith_proto::names::NameClaim`).
        #[serde(with = "serde_bytes")]
        claim: Vec<u8>,
    },
    /// The claim held here for a normalized name.
    Lookup {
        /// The normalized name.
        name: String,
    },
    /// Remove the owner's claim (a signed release).
    Release {
        /// The release envelope (`kith_proto::names::NameRelease`).
        #[serde(with = "serde_bytes")]
        release: Vec<u8>,
    },
}

/// The answer of a replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NameResponse {
    /// The claim is stored here (now, or it already was, by the same owner).
    Accepted,
    /// Another owner's claim is stored here.
    Taken {
        /// That claim's envelope.
        #[serde(with = "serde_bytes")]
        claim: Vec<u8>,
    },
    /// The claim held here.
    Found {
        /// The claim's envelope.
        #[serde(with = "serde_bytes")]
        claim: Vec<u8>,
    },
    /// No claim of the name is held here.
    NotFound,
    /// The release was applied (`removed`: a claim was removed).
    Released {
        /// Whether a claim was removed.
        removed: bool,
    },
    /// The request was refused (invalid claim or release, name rules, …).
    Refused {
        /// Why, for people.
        reason: String,
    },
}

/// Most entries one fetch response carries.
pub const MAX_FETCH_ENTRIES: u32 = 512;
/// Most ids one `Ids` request may name.
pub const MAX_FETCH_IDS: usize = 512;
/// Most ancestors per id an `Ids` request may ask for.
pub const MAX_FETCH_ANCESTORS: u32 = 512;
/// Largest fetch request on the wire.
pub const MAX_FETCH_REQUEST_BYTES: u64 = 64 * 1024;
/// Largest fetch response on the wire: a server stops adding entries past
/// [`FETCH_RESPONSE_BUDGET`], and one more entry is at most 64 KiB.
pub const MAX_FETCH_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;
/// A server stops adding entries to a response once it holds this many bytes.
pub const FETCH_RESPONSE_BUDGET: usize = 4 * 1024 * 1024;

/// Most gossip topics a peer may be subscribed to (and so authors it can follow live). Every
/// node must use the same value: gossipsub enforces it on the receiving side.
pub const MAX_TOPICS: usize = 12_000;
/// Largest gossipsub frame and control message. A peer announces all its subscriptions in
/// one message when it connects; 12,000 topics of 27 characters take about 450 KB.
pub const MAX_GOSSIP_FRAME: usize = 640 * 1024;

/// The gossip topic of `author`'s feed: `k1/` + the first 15 bytes of
/// sha2-256(`kith/topic/1` ‖ author key), base32 (24 characters). Short on purpose: every
/// subscription is announced to every peer on connect.
pub fn feed_topic(author: &AuthorId) -> IdentTopic {
    let mut input = b"kith/topic/1".to_vec();
    input.extend_from_slice(author.as_bytes());
    let digest = sha256(&input);
    IdentTopic::new(format!(
        "{TOPIC_PREFIX}{}",
        kith_proto::cid::base32_encode(&digest[..15])
    ))
}

/// The gossipsub message id of an entry envelope published on `topic` (the topic's hash
/// string, as gossipsub carries it): the 32-byte sha2-256 digest of the data (the digest in
/// the entry's content id) followed by the topic string's bytes.
pub fn gossip_message_id(data: &[u8], topic: &str) -> libp2p::gossipsub::MessageId {
    let mut id = sha256(data).to_vec();
    id.extend_from_slice(topic.as_bytes());
    libp2p::gossipsub::MessageId::from(id)
}

/// A gossip topic.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// An author's feed: their entries, and others' entries that concern them (replies,
    /// reactions, reposts).
    Feed(AuthorId),
    /// An author's inbox: entries that mention them, sent by authors they may not follow.
    /// Only the author's own node subscribes.
    Inbox(AuthorId),
    /// A hashtag (normalized: lower case, without `#`): posts that use it.
    Tag(String),
    /// The public stream: top-level public posts, for peers that opt in.
    Public,
}

impl Topic {
    /// The gossipsub topic.
    pub fn ident(&self) -> IdentTopic {
        match self {
            Topic::Feed(author) => feed_topic(author),
            Topic::Inbox(author) => hashed_topic("i1/", b"kith/inbox/1", author.as_bytes()),
            Topic::Tag(tag) => hashed_topic("t1/", b"kith/tag/1", tag.as_bytes()),
            Topic::Public => IdentTopic::new(PUBLIC_TOPIC),
        }
    }
}

/// The public stream's topic name.
pub const PUBLIC_TOPIC: &str = "p1/all";

/// `prefix` + the first 15 bytes of sha2-256(`domain` ‖ `name`), base32 (24 characters).
fn hashed_topic(prefix: &str, domain: &[u8], name: &[u8]) -> IdentTopic {
    let mut input = domain.to_vec();
    input.extend_from_slice(name);
    let digest = sha256(&input);
    IdentTopic::new(format!(
        "{prefix}{}",
        kith_proto::cid::base32_encode(&digest[..15])
    ))
}

/// The DHT provider key of `author`'s feed.
pub fn provider_key(author: &AuthorId) -> RecordKey {
    let mut key = PROVIDER_KEY_PREFIX.to_vec();
    key.extend_from_slice(author.as_bytes());
    RecordKey::new(&key)
}

/// Prefix of tag provider keys: a peer that follows a hashtag provides this key + the
/// sha2-256 digest of the normalized tag, so posters find tag followers.
pub const TAG_PROVIDER_KEY_PREFIX: &[u8] = b"/kith/tag/1/";

/// The DHT provider key of a (normalized) hashtag's followers.
pub fn tag_provider_key(tag: &str) -> RecordKey {
    let mut key = TAG_PROVIDER_KEY_PREFIX.to_vec();
    key.extend_from_slice(&sha256(tag.as_bytes()));
    RecordKey::new(&key)
}

/// Whether a provider record's key is one of kith's (a feed's or a tag's).
pub fn is_kith_provider_key(key: &RecordKey) -> bool {
    author_of_provider_key(key).is_some()
        || key
            .as_ref()
            .strip_prefix(TAG_PROVIDER_KEY_PREFIX)
            .is_some_and(|rest| rest.len() == 32)
}

/// The author whose feed a provider key names, if it is one.
pub fn author_of_provider_key(key: &RecordKey) -> Option<AuthorId> {
    let rest = key.as_ref().strip_prefix(PROVIDER_KEY_PREFIX)?;
    AuthorId::from_slice(rest).ok()
}

/// A request of `/kith/fetch/1.0.0`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FetchRequest {
    /// Entries of one feed from `from_seq` on, in seq order, at most `limit`
    /// (≤ [`MAX_FETCH_ENTRIES`]).
    Range {
        /// The author's 32-byte key.
        #[serde(with = "serde_bytes")]
        author: Vec<u8>,
        /// First seq wanted.
        from_seq: u64,
        /// Most entries wanted.
        limit: u32,
    },
    /// Entries by content id (36-byte binary CIDs, ≤ [`MAX_FETCH_IDS`]), each followed by up
    /// to `ancestors` of its predecessors (newest first).
    Ids {
        /// Binary content ids.
        ids: Vec<serde_bytes::ByteBuf>,
        /// Predecessors wanted per id.
        ancestors: u32,
    },
    /// Blob pieces (manifests and chunks, `kith_proto::blob`) by content id (36-byte binary
    /// CIDs, ≤ [`MAX_BLOB_IDS`]); the answer's `entries` are the pieces held, in the order
    /// asked, up to the response budget. The requester hashes each to match it.
    Blobs {
        /// Binary content ids.
        ids: Vec<serde_bytes::ByteBuf>,
    },
    /// An author's post by its slug (`kith_proto::text::post_slug`), if the server holds it.
    Slug {
        /// The author's 32-byte key.
        #[serde(with = "serde_bytes")]
        author: Vec<u8>,
        /// The slug.
        slug: String,
    },
    /// The replies the server holds in the threads of these roots (36-byte binary CIDs, ≤
    /// [`MAX_THREAD_ROOTS`]), at most `limit` entries in all (≤ [`MAX_FETCH_ENTRIES`]),
    /// from any author, with the edits, current reactions and reposts of every member (root
    /// included). Deleted replies are left out (their tombstones are not sent).
    Threads {
        /// Binary content ids of thread roots.
        roots: Vec<serde_bytes::ByteBuf>,
        /// Most entries wanted.
        limit: u32,
    },
}

/// Most blob pieces one `Blobs` request may name.
pub const MAX_BLOB_IDS: usize = 64;

/// Most roots one `Threads` request may name.
pub const MAX_THREAD_ROOTS: usize = 64;

impl FetchRequest {
    /// A range request.
    pub fn range(author: &AuthorId, from_seq: u64, limit: u32) -> Self {
        FetchRequest::Range {
            author: author.as_bytes().to_vec(),
            from_seq,
            limit: limit.min(MAX_FETCH_ENTRIES),
        }
    }

    /// A blobs request.
    pub fn blobs(ids: &[ContentId]) -> Self {
        FetchRequest::Blobs {
            ids: ids
                .iter()
                .take(MAX_BLOB_IDS)
                .map(|id| serde_bytes::ByteBuf::from(id.to_bytes().to_vec()))
                .collect(),
        }
    }

    /// A threads request.
    pub fn threads(roots: &[ContentId], limit: u32) -> Self {
        FetchRequest::Threads {
            roots: roots
                .iter()
                .take(MAX_THREAD_ROOTS)
                .map(|id| serde_bytes::ByteBuf::from(id.to_bytes().to_vec()))
                .collect(),
            limit: limit.min(MAX_FETCH_ENTRIES),
        }
    }

    /// An ids request.
    pub fn ids(ids: &[ContentId], ancestors: u32) -> Self {
        FetchRequest::Ids {
            ids: ids
                .iter()
                .take(MAX_FETCH_IDS)
                .map(|id| serde_bytes::ByteBuf::from(id.to_bytes().to_vec()))
                .collect(),
            ancestors: ancestors.min(MAX_FETCH_ANCESTORS),
        }
    }
}

/// A response of `/kith/fetch/1.0.0`: entry envelopes, exactly as stored. The requester
/// verifies every one (hash, signature, chain) before storing it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    /// Entry envelopes.
    pub entries: Vec<serde_bytes::ByteBuf>,
    /// The server has more entries for this request than it sent.
    pub more: bool,
}

mod sha2_free {
    //! SHA-256 through kith-proto (which owns the hash dependency).
    pub(super) fn sha256(bytes: &[u8]) -> [u8; 32] {
        *kith_proto::ContentId::of(bytes).digest()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kith_proto::Keypair;

    #[test]
    fn topics_are_short_stable_and_distinct() {
        let a = Keypair::from_seed(&[1; 32]).author();
        let b = Keypair::from_seed(&[2; 32]).author();
        let topic = feed_topic(&a).to_string();
        assert_eq!(topic.len(), 27, "{topic}");
        assert!(topic.starts_with("k1/"));
        assert_eq!(feed_topic(&a).hash(), feed_topic(&a).hash());
        assert_ne!(feed_topic(&a).hash(), feed_topic(&b).hash());
    }

    #[test]
    fn provider_keys_name_their_author() {
        let a = Keypair::from_seed(&[1; 32]).author();
        assert_eq!(author_of_provider_key(&provider_key(&a)), Some(a));
        assert_eq!(author_of_provider_key(&RecordKey::new(b"/other")), None);
    }
}

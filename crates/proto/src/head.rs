//! Feed heads: the small signed record `{author, seq, id, ts, sig}` that says how far an
//! author's feed goes. It lives on the DHT under [`head_key`]; peers validate it before
//! storing and keep the highest seq.

use std::cmp::Ordering;

use ed25519_dalek::Signature;

use crate::cbor::{CborError, Fields, MapBuilder, Value, check_canonical};
use crate::cid::{CidError, ContentId};
use crate::identity::{AuthorId, DidError, Keypair};
use crate::limits::{MAX_FUTURE_SKEW_MS, MAX_SEQ, MAX_TIMESTAMP_MS};

/// Prepended to the canonical unsigned head before signing (see [`FeedHead::sign`]).
pub const HEAD_SIGNATURE_DOMAIN: &[u8] = b"kith/head/1\0";

/// Prefix of every head's DHT key; the author's 32 key bytes follow.
pub const HEAD_KEY_PREFIX: &[u8] = b"/kith/head/1/";

/// Largest encoded head record. A valid one is about 190 bytes.
pub const MAX_HEAD_BYTES: usize = 512;

/// The DHT record key of `author`'s feed head: `/kith/head/1/` followed by the 32 raw
/// public-key bytes. Deriving the key from the author means a record stored under a key can
/// only be that author's head, which validation checks.
pub fn head_key(author: &AuthorId) -> Vec<u8> {
    let mut key = Vec::with_capacity(HEAD_KEY_PREFIX.len() + 32);
    key.extend_from_slice(HEAD_KEY_PREFIX);
    key.extend_from_slice(author.as_bytes());
    key
}

/// Why bytes are not a valid head record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeadError {
    /// Larger than [`MAX_HEAD_BYTES`].
    #[error("head record is {0} bytes; the limit is {MAX_HEAD_BYTES}")]
    TooLarge(usize),
    /// Not canonical CBOR of the head structure.
    #[error("malformed head record: {0}")]
    Malformed(#[from] CborError),
    /// Bad author key.
    #[error("bad author in head record: {0}")]
    BadAuthor(#[from] DidError),
    /// Bad entry id.
    #[error("bad id in head record: {0}")]
    BadId(#[from] CidError),
    /// seq out of range.
    #[error("head seq {0} is out of range (1 to 2^53-1)")]
    BadSeq(u64),
    /// ts out of range or too far in the future.
    #[error("head timestamp {ts} is out of range or ahead of now ({now})")]
    BadTimestamp {
        /// The record's timestamp.
        ts: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// Signature does not verify.
    #[error("head signature does not verify under the author's key")]
    BadSignature,
    /// The record is stored under a key that is not its author's head key.
    #[error("head record is stored under another author's key")]
    WrongKey,
}

/// A verified feed head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedHead {
    author: AuthorId,
    seq: u64,
    id: ContentId,
    ts: u64,
    sig: [u8; 64],
}

/// How two heads of one author compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadOrder {
    /// The other head has a higher seq.
    Older,
    /// Same seq and id (the newer `ts` is the fresher copy of the same head).
    Same,
    /// This head has a higher seq.
    Newer,
    /// Same seq, different id: the author forked.
    Fork,
}

impl FeedHead {
    fn unsigned(author: &AuthorId, seq: u64, id: &ContentId, ts: u64) -> Vec<u8> {
        let id = id.to_bytes();
        let mut message = HEAD_SIGNATURE_DOMAIN.to_vec();
        message.extend_from_slice(
            &MapBuilder::new()
                .field("author", Value::Bytes(author.as_bytes()))
                .field("seq", Value::Uint(seq))
                .field("id", Value::Bytes(&id))
                .field("ts", Value::Uint(ts))
                .finish(),
        );
        message
    }

    /// Signs the head `(seq, id)` of `keypair`'s feed at time `ts`. The signature covers
    /// [`HEAD_SIGNATURE_DOMAIN`] followed by the canonical map `{id, ts, seq, author}` (keys in
    /// canonical order: `id` and `ts` are both two bytes long and `id` < `ts` bytewise).
    pub fn sign(keypair: &Keypair, seq: u64, id: ContentId, ts: u64) -> Self {
        let author = keypair.author();
        let sig = keypair.sign(&Self::unsigned(&author, seq, &id, ts));
        Self {
            author,
            seq,
            id,
            ts,
            sig,
        }
    }

    /// The canonical encoding `{id, ts, seq, sig, author}`.
    pub fn encode(&self) -> Vec<u8> {
        let id = self.id.to_bytes();
        MapBuilder::new()
            .field("author", Value::Bytes(self.author.as_bytes()))
            .field("seq", Value::Uint(self.seq))
            .field("id", Value::Bytes(&id))
            .field("ts", Value::Uint(self.ts))
            .field("sig", Value::Bytes(&self.sig))
            .finish()
    }

    /// Decodes and verifies a head record: canonical form, ranges, timestamp against
    /// `now_ms`, signature.
    pub fn decode(bytes: &[u8], now_ms: u64) -> Result<Self, HeadError> {
        if bytes.len() > MAX_HEAD_BYTES {
            return Err(HeadError::TooLarge(bytes.len()));
        }
        check_canonical(bytes)?;
        let mut f = Fields::parse(bytes)?;
        let author = AuthorId::from_slice_deferred(f.bytes("author")?)?;
        let seq = f.uint("seq")?;
        let id = ContentId::from_bytes(f.bytes("id")?)?;
        let ts = f.uint("ts")?;
        let sig: [u8; 64] = f
            .bytes("sig")?
            .try_into()
            .map_err(|_| CborError::WrongType("sig"))?;
        f.deny_unknown()?;
        if seq == 0 || seq > MAX_SEQ {
            return Err(HeadError::BadSeq(seq));
        }
        if ts > MAX_TIMESTAMP_MS || ts > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(HeadError::BadTimestamp { ts, now: now_ms });
        }
        let head = Self {
            author,
            seq,
            id,
            ts,
            sig,
        };
        if head.encode() != bytes {
            return Err(CborError::NotCanonical.into());
        }
        author
            .verifying_key()
            .map_err(HeadError::BadAuthor)?
            .verify_strict(
                &Self::unsigned(&author, seq, &id, ts),
                &Signature::from_bytes(&sig),
            )
            .map_err(|_| HeadError::BadSignature)?;
        Ok(head)
    }

    /// Validates a DHT record: [`FeedHead::decode`] plus the key must be the author's
    /// [`head_key`].
    pub fn validate_record(key: &[u8], value: &[u8], now_ms: u64) -> Result<Self, HeadError> {
        let head = Self::decode(value, now_ms)?;
        if key != head_key(&head.author).as_slice() {
            return Err(HeadError::WrongKey);
        }
        Ok(head)
    }

    /// Compares with another head of the same author.
    pub fn order(&self, other: &FeedHead) -> HeadOrder {
        match self.seq.cmp(&other.seq) {
            Ordering::Greater => HeadOrder::Newer,
            Ordering::Less => HeadOrder::Older,
            Ordering::Equal if self.id == other.id => HeadOrder::Same,
            Ordering::Equal => HeadOrder::Fork,
        }
    }

    /// The author.
    pub fn author(&self) -> AuthorId {
        self.author
    }

    /// The seq of the newest entry.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The id of the newest entry.
    pub fn id(&self) -> ContentId {
        self.id
    }

    /// When the head was signed, milliseconds since the Unix epoch.
    pub fn ts(&self) -> u64 {
        self.ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_000_000_000;

    #[test]
    fn head_round_trips_and_checks_its_key() {
        let k = Keypair::from_seed(&[5; 32]);
        let head = FeedHead::sign(&k, 3, ContentId::of(b"e3"), NOW);
        let bytes = head.encode();
        assert_eq!(FeedHead::decode(&bytes, NOW).unwrap(), head);
        assert_eq!(
            FeedHead::validate_record(&head_key(&k.author()), &bytes, NOW).unwrap(),
            head
        );
        let other = Keypair::from_seed(&[6; 32]).author();
        assert_eq!(
            FeedHead::validate_record(&head_key(&other), &bytes, NOW),
            Err(HeadError::WrongKey)
        );
    }

    #[test]
    fn tampered_heads_are_refused() {
        let k = Keypair::from_seed(&[5; 32]);
        let head = FeedHead::sign(&k, 3, ContentId::of(b"e3"), NOW);
        let mut forged = head.clone();
        forged.seq = 4;
        assert_eq!(
            FeedHead::decode(&forged.encode(), NOW),
            Err(HeadError::BadSignature)
        );
        assert!(matches!(
            FeedHead::decode(&head.encode(), NOW - MAX_FUTURE_SKEW_MS - 1),
            Err(HeadError::BadTimestamp { .. })
        ));
    }

    #[test]
    fn ordering_prefers_higher_seq_and_flags_forks() {
        let k = Keypair::from_seed(&[5; 32]);
        let h3 = FeedHead::sign(&k, 3, ContentId::of(b"e3"), NOW);
        let h4 = FeedHead::sign(&k, 4, ContentId::of(b"e4"), NOW);
        let h3b = FeedHead::sign(&k, 3, ContentId::of(b"e3b"), NOW);
        let h3_later = FeedHead::sign(&k, 3, ContentId::of(b"e3"), NOW + 5);
        assert_eq!(h4.order(&h3), HeadOrder::Newer);
        assert_eq!(h3.order(&h4), HeadOrder::Older);
        assert_eq!(h3.order(&h3_later), HeadOrder::Same);
        assert_eq!(h3.order(&h3b), HeadOrder::Fork);
    }
}

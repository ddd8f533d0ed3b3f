//! Signed entries: the envelope, its payload, signing, decoding and verification.
//!
//! ```text
//! envelope = {sig: bytes(64), payload: bytes}          (canonical CBOR map)
//! payload  = {v, ts, seq, body, kind, prev, author}     (canonical CBOR map)
//! sig      = ed25519(author, ENTRY_SIGNATURE_DOMAIN ‖ payload)
//! id       = CIDv1(cbor, sha2-256(envelope))
//! ```
//!
//! Decoding ([`Entry::decode`]) checks everything that needs no key and no clock: size,
//! canonical form, field types, the `prev` rule, the body of known kinds. Verifying
//! ([`Entry::verify`], [`verify_batch`]) checks the signature and the timestamp against a
//! `now` the caller passes in, and yields a [`VerifiedEntry`], the only form the store takes.

use std::collections::HashMap;
use std::ops::{Deref, Range};

use ed25519_dalek::{Signature, VerifyingKey};

use crate::body::{Body, BodyError, Kind};
use crate::cbor::{CborError, Fields, MapBuilder, Value, check_canonical, open_signed_envelope};
use crate::cid::{CidError, ContentId};
use crate::identity::{AuthorId, DidError, Keypair, is_small_order_encoding};
use crate::limits::{MAX_ENVELOPE_BYTES, MAX_FUTURE_SKEW_MS, MAX_SEQ, MAX_TIMESTAMP_MS};

/// The protocol version written in every payload's `v` field.
pub const PROTOCOL_VERSION: u64 = 1;

/// Prepended to the payload bytes before signing, so an entry signature can never be
/// replayed as a signature over anything else (a head record, a name claim, …).
pub const ENTRY_SIGNATURE_DOMAIN: &[u8] = b"kith/entry/1\0";

/// Why bytes are not a valid entry. Every variant has a stable [`EntryError::code`] used in
/// logs, metrics and the test vectors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryError {
    /// The envelope is larger than [`MAX_ENVELOPE_BYTES`].
    #[error("entry is {size} bytes; the limit is {MAX_ENVELOPE_BYTES}")]
    TooLarge {
        /// The size received.
        size: usize,
    },
    /// Not canonical CBOR, or not the expected structure.
    #[error("malformed entry: {0}")]
    Malformed(#[from] CborError),
    /// A `v` other than [`PROTOCOL_VERSION`].
    #[error("unsupported protocol version {0}")]
    UnsupportedVersion(u64),
    /// The `author` field is not a valid ed25519 public key.
    #[error("bad author: {0}")]
    BadAuthor(#[from] DidError),
    /// `seq` is 0 or above [`MAX_SEQ`].
    #[error("sequence number {0} is out of range (1 to 2^53-1)")]
    BadSeq(u64),
    /// `prev` is present at seq 1 or absent after it.
    #[error("`prev` must be null exactly when seq is 1 (seq is {seq})")]
    PrevRule {
        /// The entry's sequence number.
        seq: u64,
    },
    /// `prev` is not a content id.
    #[error("`prev` is not a content id: {0}")]
    BadPrev(CidError),
    /// `kind` does not follow the naming rule.
    #[error("`kind` must be 1 to 32 bytes of a-z, 0-9, `_`, `.`, `-`, starting with a letter")]
    BadKind,
    /// The body does not fit its kind.
    #[error("bad `{kind}` body: {error}")]
    BadBody {
        /// The entry's kind.
        kind: String,
        /// What is wrong with the body.
        error: BodyError,
    },
    /// `ts` is above [`MAX_TIMESTAMP_MS`].
    #[error("timestamp {0} is out of range")]
    BadTimestamp(u64),
    /// `ts` is further in the future than [`MAX_FUTURE_SKEW_MS`].
    #[error("timestamp {ts} is more than {MAX_FUTURE_SKEW_MS} ms ahead of now ({now})")]
    FromTheFuture {
        /// The entry's timestamp.
        ts: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// The signature does not verify under the author's key.
    #[error("signature does not verify under the author's key")]
    BadSignature,
}

impl EntryError {
    /// A short, stable name for the reason (`too_large`, `bad_signature`, …).
    pub fn code(&self) -> &'static str {
        match self {
            EntryError::TooLarge { .. } => "too_large",
            EntryError::Malformed(CborError::NotCanonical)
            | EntryError::Malformed(CborError::NonMinimal { .. })
            | EntryError::Malformed(CborError::Indefinite { .. })
            | EntryError::Malformed(CborError::UnsortedKeys { .. })
            | EntryError::Malformed(CborError::TrailingBytes { .. }) => "non_canonical",
            EntryError::Malformed(_) => "malformed",
            EntryError::UnsupportedVersion(_) => "unsupported_version",
            EntryError::BadAuthor(_) => "bad_author",
            EntryError::BadSeq(_) => "bad_seq",
            EntryError::PrevRule { .. } => "prev_rule",
            EntryError::BadPrev(_) => "bad_prev",
            EntryError::BadKind => "bad_kind",
            EntryError::BadBody { .. } => "bad_body",
            EntryError::BadTimestamp(_) => "bad_timestamp",
            EntryError::FromTheFuture { .. } => "from_the_future",
            EntryError::BadSignature => "bad_signature",
        }
    }
}

/// A decoded entry whose structure is valid but whose signature and timestamp have not been
/// checked yet. Obtain a [`VerifiedEntry`] with [`Entry::verify`] or [`verify_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    bytes: Vec<u8>,
    id: ContentId,
    payload: Range<usize>,
    body_range: Range<usize>,
    sig: [u8; 64],
    author: AuthorId,
    seq: u64,
    prev: Option<ContentId>,
    ts: u64,
    kind: Kind,
    body: Body,
}

impl Entry {
    /// Decodes an envelope, checking size, canonical form and structure. Does not check the
    /// signature (see [`Entry::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        // Size first: nothing else is looked at in an oversized message.
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EntryError::TooLarge { size: bytes.len() });
        }
        let (sig, payload) = open_signed_envelope(bytes)?;
        // The payload is a byte string inside the envelope; find where it starts.
        let payload_start = payload.as_ptr() as usize - bytes.as_ptr() as usize;
        let payload_range = payload_start..payload_start + payload.len();

        check_canonical(payload)?;
        let mut fields = Fields::parse(payload).map_err(|_| CborError::WrongType("payload"))?;
        let version = fields.uint("v")?;
        if version != PROTOCOL_VERSION {
            return Err(EntryError::UnsupportedVersion(version));
        }
        let author = AuthorId::from_slice_deferred(fields.bytes("author")?)?;
        let seq = fields.uint("seq")?;
        if seq == 0 || seq > MAX_SEQ {
            return Err(EntryError::BadSeq(seq));
        }
        let prev = fields
            .nullable_bytes("prev")?
            .map(ContentId::from_bytes)
            .transpose()
            .map_err(EntryError::BadPrev)?;
        if (seq == 1) != prev.is_none() {
            return Err(EntryError::PrevRule { seq });
        }
        let ts = fields.uint("ts")?;
        if ts > MAX_TIMESTAMP_MS {
            return Err(EntryError::BadTimestamp(ts));
        }
        let kind = Kind::parse(fields.text("kind")?).ok_or(EntryError::BadKind)?;
        let body_bytes = fields.map("body")?;
        fields.deny_unknown()?;
        let body = Body::parse(&kind, body_bytes).map_err(|error| EntryError::BadBody {
            kind: kind.as_str().to_owned(),
            error,
        })?;
        let body_start = body_bytes.as_ptr() as usize - bytes.as_ptr() as usize;
        let body_range = body_start..body_start + body_bytes.len();

        let entry = Entry {
            bytes: bytes.to_vec(),
            id: ContentId::of(bytes),
            payload: payload_range,
            body_range,
            sig,
            author,
            seq,
            prev,
            ts,
            kind,
            body,
        };
        // Belt and braces: the decoded entry must re-encode to exactly the bytes received.
        if entry.reencode() != bytes {
            return Err(CborError::NotCanonical.into());
        }
        Ok(entry)
    }

    fn reencode(&self) -> Vec<u8> {
        let payload = encode_payload(
            &self.author,
            self.seq,
            self.prev.as_ref(),
            self.ts,
            self.kind.as_str(),
            self.body_bytes(),
        );
        encode_envelope(&self.sig, &payload)
    }

    /// Checks the signature and that `ts` is not more than [`MAX_FUTURE_SKEW_MS`] ahead of
    /// `now_ms` (milliseconds since the Unix epoch).
    pub fn verify(self, now_ms: u64) -> Result<VerifiedEntry, EntryError> {
        self.check_time(now_ms)?;
        let key = self.author.verifying_key()?;
        let signature = Signature::from_bytes(&self.sig);
        key.verify_strict(&self.signed_message(), &signature)
            .map_err(|_| EntryError::BadSignature)?;
        Ok(VerifiedEntry(self))
    }

    fn check_time(&self, now_ms: u64) -> Result<(), EntryError> {
        if self.ts > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(EntryError::FromTheFuture {
                ts: self.ts,
                now: now_ms,
            });
        }
        Ok(())
    }

    fn signed_message(&self) -> Vec<u8> {
        let mut message = Vec::with_capacity(ENTRY_SIGNATURE_DOMAIN.len() + self.payload.len());
        message.extend_from_slice(ENTRY_SIGNATURE_DOMAIN);
        message.extend_from_slice(self.payload_bytes());
        message
    }

    /// The envelope bytes, exactly as received and hashed.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The envelope bytes, taking ownership.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The content id.
    pub fn id(&self) -> ContentId {
        self.id
    }

    /// The payload bytes (what the signature covers, after the domain tag).
    pub fn payload_bytes(&self) -> &[u8] {
        &self.bytes[self.payload.clone()]
    }

    /// The body bytes, exactly as signed (unknown fields included).
    pub fn body_bytes(&self) -> &[u8] {
        &self.bytes[self.body_range.clone()]
    }

    /// The signature.
    pub fn signature(&self) -> &[u8; 64] {
        &self.sig
    }

    /// The author.
    pub fn author(&self) -> AuthorId {
        self.author
    }

    /// The sequence number, from 1.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The id of the author's entry `seq - 1`, `None` at seq 1.
    pub fn prev(&self) -> Option<ContentId> {
        self.prev
    }

    /// The author's timestamp, milliseconds since the Unix epoch.
    pub fn ts(&self) -> u64 {
        self.ts
    }

    /// The kind.
    pub fn kind(&self) -> &Kind {
        &self.kind
    }

    /// The typed body.
    pub fn body(&self) -> &Body {
        &self.body
    }
}

/// An entry whose structure, signature and timestamp have been checked. Only
/// [`Entry::verify`], [`verify_batch`] and [`sign_entry`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedEntry(Entry);

impl Deref for VerifiedEntry {
    type Target = Entry;
    fn deref(&self) -> &Entry {
        &self.0
    }
}

impl VerifiedEntry {
    /// Gives back the entry.
    pub fn into_entry(self) -> Entry {
        self.0
    }
}

/// Decodes and verifies one envelope: [`Entry::decode`] then [`Entry::verify`].
pub fn validate(bytes: &[u8], now_ms: u64) -> Result<VerifiedEntry, EntryError> {
    Entry::decode(bytes)?.verify(now_ms)
}

/// Verifies many entries at once. When all signatures are good (the common case) one ed25519
/// batch verification does the work of all of them at a fraction of the cost; when the batch
/// fails, each entry is verified alone so only the bad ones are refused. Results are in input
/// order.
///
/// Strict single verification ([`Entry::verify`]) is the definition of a valid signature.
/// Before batching, each signature's `R` and each key are checked not to be of small order,
/// as strict verification requires; see `docs/PROTOCOL.md` §Signatures for the one remaining
/// difference and why it does not matter.
pub fn verify_batch(entries: Vec<Entry>, now_ms: u64) -> Vec<Result<VerifiedEntry, EntryError>> {
    let mut results: Vec<Option<Result<VerifiedEntry, EntryError>>> =
        Vec::with_capacity(entries.len());
    let mut candidates: Vec<(usize, Entry)> = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        match entry
            .check_time(now_ms)
            .and_then(|()| small_order_check(&entry))
        {
            Ok(()) => {
                results.push(None);
                candidates.push((index, entry));
            }
            Err(error) => results.push(Some(Err(error))),
        }
    }
    // Decompressing a key costs about a quarter of a batched verification; batches are
    // mostly a few feeds, so decompress each author once. An author that is not a curve
    // point is refused here.
    let mut cache: HashMap<AuthorId, Result<VerifyingKey, DidError>> = HashMap::new();
    let mut keys: Vec<VerifyingKey> = Vec::with_capacity(candidates.len());
    let mut usable = Vec::with_capacity(candidates.len());
    for (index, entry) in candidates {
        match cache
            .entry(entry.author)
            .or_insert_with(|| entry.author.verifying_key())
        {
            Ok(key) => {
                keys.push(*key);
                usable.push((index, entry));
            }
            Err(error) => results[index] = Some(Err(EntryError::BadAuthor(error.clone()))),
        }
    }
    let candidates = usable;
    if candidates.len() >= 2 {
        let messages: Vec<Vec<u8>> = candidates.iter().map(|(_, e)| e.signed_message()).collect();
        let message_refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        let signatures: Vec<Signature> = candidates
            .iter()
            .map(|(_, e)| Signature::from_bytes(&e.sig))
            .collect();
        if ed25519_dalek::verify_batch(&message_refs, &signatures, &keys).is_ok() {
            for (index, entry) in candidates {
                results[index] = Some(Ok(VerifiedEntry(entry)));
            }
            return results.into_iter().flatten().collect();
        }
    }
    for (index, entry) in candidates {
        results[index] = Some(entry.verify(now_ms));
    }
    results.into_iter().flatten().collect()
}

/// Decodes and verifies many envelopes: [`Entry::decode`] on each, then [`verify_batch`] on
/// the ones that decoded. One result per envelope, in input order. This is the whole
/// CPU-side ingest path (size, canonical form, hash, structure, signatures, timestamps).
pub fn validate_batch(envelopes: &[&[u8]], now_ms: u64) -> Vec<Result<VerifiedEntry, EntryError>> {
    let mut results: Vec<Option<Result<VerifiedEntry, EntryError>>> =
        Vec::with_capacity(envelopes.len());
    let mut decoded = Vec::with_capacity(envelopes.len());
    let mut slots = Vec::with_capacity(envelopes.len());
    for (index, bytes) in envelopes.iter().enumerate() {
        match Entry::decode(bytes) {
            Ok(entry) => {
                decoded.push(entry);
                slots.push(index);
                results.push(None);
            }
            Err(error) => results.push(Some(Err(error))),
        }
    }
    for (slot, result) in slots.into_iter().zip(verify_batch(decoded, now_ms)) {
        results[slot] = Some(result);
    }
    results.into_iter().flatten().collect()
}

/// Strict verification refuses a small-order `R` or key; the batch equation does not look,
/// so check it here (keys are checked by `AuthorId::verifying_key`).
///
/// Decompressing `R` to test its order would cost about a quarter of a batched
/// verification, so `R` is compared against every byte string that decompresses to one of
/// the eight small-order points instead.
fn small_order_check(entry: &Entry) -> Result<(), EntryError> {
    if is_small_order_encoding(&entry.sig[..32]) {
        return Err(EntryError::BadSignature);
    }
    Ok(())
}

fn encode_payload(
    author: &AuthorId,
    seq: u64,
    prev: Option<&ContentId>,
    ts: u64,
    kind: &str,
    body: &[u8],
) -> Vec<u8> {
    let prev = prev.map(ContentId::to_bytes);
    MapBuilder::new()
        .field("v", Value::Uint(PROTOCOL_VERSION))
        .field("author", Value::Bytes(author.as_bytes()))
        .field("seq", Value::Uint(seq))
        .field(
            "prev",
            prev.as_ref().map_or(Value::Null, |p| Value::Bytes(p)),
        )
        .field("ts", Value::Uint(ts))
        .field("kind", Value::Text(kind))
        .field("body", Value::Raw(body))
        .finish()
}

fn encode_envelope(sig: &[u8; 64], payload: &[u8]) -> Vec<u8> {
    MapBuilder::new()
        .field("sig", Value::Bytes(sig))
        .field("payload", Value::Bytes(payload))
        .finish()
}

/// What a new entry says; [`sign_entry`] turns it into a signed, verified entry.
#[derive(Debug, Clone)]
pub struct Draft<'a> {
    /// Sequence number: the author's head seq + 1.
    pub seq: u64,
    /// Id of the author's entry `seq - 1`, `None` at seq 1.
    pub prev: Option<ContentId>,
    /// Milliseconds since the Unix epoch.
    pub ts: u64,
    /// The kind's wire name.
    pub kind: &'a str,
    /// The body, canonical CBOR map (see [`Body::encode`]).
    pub body: &'a [u8],
}

impl<'a> Draft<'a> {
    /// The draft of the entry after `head` (`None` for a new feed).
    pub fn after(head: Option<(u64, ContentId)>, ts: u64, kind: &'a str, body: &'a [u8]) -> Self {
        let (seq, prev) = match head {
            Some((seq, id)) => (seq + 1, Some(id)),
            None => (1, None),
        };
        Draft {
            seq,
            prev,
            ts,
            kind,
            body,
        }
    }
}

/// Signs a draft. The result is decoded and checked like any received entry, so an invalid
/// draft (bad kind, oversized body, …) is an error here rather than an entry other peers
/// would refuse. The timestamp is checked against the draft's own `ts`.
pub fn sign_entry(keypair: &Keypair, draft: &Draft<'_>) -> Result<VerifiedEntry, EntryError> {
    check_canonical(draft.body)?;
    let payload = encode_payload(
        &keypair.author(),
        draft.seq,
        draft.prev.as_ref(),
        draft.ts,
        draft.kind,
        draft.body,
    );
    let mut message = Vec::with_capacity(ENTRY_SIGNATURE_DOMAIN.len() + payload.len());
    message.extend_from_slice(ENTRY_SIGNATURE_DOMAIN);
    message.extend_from_slice(&payload);
    let sig = keypair.sign(&message);
    let envelope = encode_envelope(&sig, &payload);
    // Decoding checks structure; the signature is ours and was just made.
    let entry = Entry::decode(&envelope)?;
    entry.check_time(draft.ts)?;
    Ok(VerifiedEntry(entry))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;
    use crate::identity::small_order_encodings;

    const NOW: u64 = 1_764_000_000_000;

    fn post(keypair: &Keypair, head: Option<(u64, ContentId)>, text: &str) -> VerifiedEntry {
        let body = Body::Post { text: text.into() }.encode();
        sign_entry(keypair, &Draft::after(head, NOW, "post", &body)).unwrap()
    }

    #[test]
    fn signed_entry_decodes_and_verifies() {
        let keypair = Keypair::from_seed(&[1; 32]);
        let first = post(&keypair, None, "hello");
        let decoded = validate(first.bytes(), NOW).unwrap();
        assert_eq!(decoded, first);
        assert_eq!(decoded.seq(), 1);
        assert_eq!(decoded.prev(), None);
        assert_eq!(
            decoded.body(),
            &Body::Post {
                text: "hello".into()
            }
        );
        let second = post(&keypair, Some((1, first.id())), "again");
        assert_eq!(second.prev(), Some(first.id()));
        assert_eq!(second.seq(), 2);
    }

    #[test]
    fn signature_by_another_key_is_refused() {
        let author = Keypair::from_seed(&[1; 32]);
        let other = Keypair::from_seed(&[2; 32]);
        let entry = post(&author, None, "hello");
        // Re-sign the same payload with another key.
        let mut message = ENTRY_SIGNATURE_DOMAIN.to_vec();
        message.extend_from_slice(entry.payload_bytes());
        let forged = encode_envelope(&other.sign(&message), entry.payload_bytes());
        assert_eq!(validate(&forged, NOW), Err(EntryError::BadSignature));
    }

    #[test]
    fn future_timestamps_are_refused() {
        let keypair = Keypair::from_seed(&[1; 32]);
        let entry = post(&keypair, None, "hello");
        assert!(validate(entry.bytes(), NOW - MAX_FUTURE_SKEW_MS).is_ok());
        assert!(matches!(
            validate(entry.bytes(), NOW - MAX_FUTURE_SKEW_MS - 1),
            Err(EntryError::FromTheFuture { .. })
        ));
    }

    #[test]
    fn batch_verification_flags_exactly_the_bad_entries() {
        let keypair = Keypair::from_seed(&[3; 32]);
        let mut head = None;
        let mut entries = Vec::new();
        for i in 0..8 {
            let entry = post(&keypair, head, &format!("post {i}"));
            head = Some((entry.seq(), entry.id()));
            entries.push(entry.into_entry());
        }
        assert!(verify_batch(entries.clone(), NOW).iter().all(Result::is_ok));
        // Corrupt the signature of entry 5 (flip a bit of S, keeping R valid).
        let mut bad = entries[5].bytes().to_vec();
        let sig_at = bad
            .windows(64)
            .position(|w| w == entries[5].signature())
            .unwrap();
        bad[sig_at + 40] ^= 1;
        entries[5] = Entry::decode(&bad).unwrap();
        let results = verify_batch(entries, NOW);
        for (i, result) in results.iter().enumerate() {
            assert_eq!(result.is_ok(), i != 5, "entry {i}");
        }
        assert_eq!(results[5], Err(EntryError::BadSignature));
    }

    #[test]
    fn unknown_kinds_and_fields_survive_byte_for_byte() {
        let keypair = Keypair::from_seed(&[4; 32]);
        let body = MapBuilder::new()
            .field("question", Value::Text("tea or coffee?"))
            .field("zz-future", Value::Uint(7))
            .finish();
        let entry = sign_entry(&keypair, &Draft::after(None, NOW, "poll", &body)).unwrap();
        let again = validate(entry.bytes(), NOW).unwrap();
        assert_eq!(again.kind(), &Kind::Other("poll".into()));
        assert_eq!(again.body(), &Body::Unknown);
        assert_eq!(again.body_bytes(), &body[..]);
        assert_eq!(again.bytes(), entry.bytes());
    }

    #[test]
    fn small_order_encodings_are_exactly_the_weak_points() {
        let encodings = small_order_encodings();
        // The 8 points have 5 distinct y (1, -1, 0 and ±y8, as P and -P share y); with both
        // sign bits that is 10 strings, plus the non-canonical y + p of y = 0 and y = 1 with
        // both sign bits: 14.
        assert_eq!(encodings.len(), 14);
        for encoding in encodings {
            let point = VerifyingKey::from_bytes(encoding).expect("decompresses");
            assert!(point.is_weak(), "{encoding:02x?} is not of small order");
        }
        // Real signature R values are never in the list.
        let keypair = Keypair::from_seed(&[6; 32]);
        for i in 0..64 {
            let entry = post(&keypair, None, &format!("{i}"));
            assert!(small_order_check(&entry).is_ok());
        }
    }

    #[test]
    fn a_small_order_r_is_refused_by_batch_and_single_verification() {
        let keypair = Keypair::from_seed(&[7; 32]);
        let good = post(&keypair, None, "fine");
        let mut entries = vec![good.clone().into_entry()];
        for bad_r in small_order_encodings() {
            let mut sig = *good.signature();
            sig[..32].copy_from_slice(bad_r);
            let forged = encode_envelope(&sig, good.payload_bytes());
            entries.push(Entry::decode(&forged).unwrap());
        }
        let results = verify_batch(entries.clone(), NOW);
        assert!(results[0].is_ok());
        for (entry, result) in entries.into_iter().zip(results).skip(1) {
            assert_eq!(result, Err(EntryError::BadSignature));
            assert_eq!(entry.verify(NOW), Err(EntryError::BadSignature));
        }
    }

    #[test]
    fn an_author_that_is_not_a_curve_point_is_refused_at_verification() {
        let not_a_point = (2u8..=255)
            .map(|k| {
                let mut bytes = [0u8; 32];
                bytes[0] = k;
                bytes
            })
            .find(|bytes| VerifyingKey::from_bytes(bytes).is_err())
            .unwrap();
        let author = AuthorId::from_slice_deferred(&not_a_point).unwrap();
        let body = Body::Post { text: "x".into() }.encode();
        let payload = encode_payload(&author, 1, None, NOW, "post", &body);
        let envelope = encode_envelope(&[7; 64], &payload);
        let entry = Entry::decode(&envelope).unwrap();
        assert_eq!(
            entry.clone().verify(NOW),
            Err(EntryError::BadAuthor(DidError::InvalidKey))
        );
        let good = post(&Keypair::from_seed(&[8; 32]), None, "fine").into_entry();
        let results = verify_batch(vec![good.clone(), entry, good], NOW);
        assert!(results[0].is_ok() && results[2].is_ok());
        assert_eq!(results[1], Err(EntryError::BadAuthor(DidError::InvalidKey)));
    }

    #[test]
    fn error_codes_are_distinct_per_reason() {
        assert_eq!(EntryError::TooLarge { size: 1 }.code(), "too_large");
        assert_eq!(
            EntryError::Malformed(CborError::NotCanonical).code(),
            "non_canonical"
        );
        assert_eq!(
            EntryError::Malformed(CborError::MissingField("v")).code(),
            "malformed"
        );
        assert_eq!(EntryError::BadSignature.code(), "bad_signature");
    }
}

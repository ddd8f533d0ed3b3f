//! Feed chain rules: does an entry extend what we hold, and proofs of forks.
//!
//! A feed is a hash chain: entry `n` names entry `n-1` in `prev`. An author who signs two
//! different entries for one position has forked the feed. Either form of evidence is a
//! self-contained proof anyone can check without trusting the reporter:
//!
//! * two valid entries with the same author and seq and different ids; or
//! * two valid entries `n` and `n+1` of one author where `n+1`'s `prev` is not `n`'s id
//!   (the author signed a successor of some other entry `n`).

use crate::cbor::{CborError, Fields, MapBuilder, Value, check_canonical};
use crate::cid::ContentId;
use crate::entry::{EntryError, VerifiedEntry, validate};
use crate::identity::AuthorId;
use crate::limits::MAX_ENVELOPE_BYTES;

/// Largest encoded fork proof: two maximal envelopes with their framing
/// (`a2 61 61 5a <len:4> … 61 62 5a <len:4> …`: 15 bytes).
pub const MAX_FORK_PROOF_BYTES: usize = 2 * MAX_ENVELOPE_BYTES + 15;

/// The newest entry held of a feed: its seq and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedPosition {
    /// Sequence number of the newest entry held.
    pub seq: u64,
    /// Its content id.
    pub id: ContentId,
}

/// How an entry relates to the newest entry held of its feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extends {
    /// The entry is the next one: append it.
    Next,
    /// The entry is the one held at the head already.
    Duplicate,
    /// The entry is at or before the head; compare with the entry held at its seq (same id:
    /// a duplicate; another id: a fork).
    Behind,
    /// Entries between the head and this one are missing: `first_missing` is the head seq + 1.
    Gap {
        /// The first seq missing.
        first_missing: u64,
    },
    /// The entry is at head seq + 1 but names another predecessor: the author forked.
    BrokenLink,
}

/// Does `entry` extend a feed whose newest held entry is `head` (`None`: nothing held)?
/// The caller must have checked that `entry` is by the feed's author.
pub fn extends(head: Option<FeedPosition>, entry: &VerifiedEntry) -> Extends {
    let head_seq = head.map_or(0, |h| h.seq);
    match entry.seq() {
        seq if seq == head_seq + 1 => match (head, entry.prev()) {
            (None, None) => Extends::Next,
            (Some(h), Some(prev)) if prev == h.id => Extends::Next,
            // At seq 1 prev is null by the payload rule; any other mismatch is a fork.
            _ => Extends::BrokenLink,
        },
        seq if seq > head_seq + 1 => Extends::Gap {
            first_missing: head_seq + 1,
        },
        seq if Some(seq) == head.map(|h| h.seq) && head.map(|h| h.id) == Some(entry.id()) => {
            Extends::Duplicate
        }
        _ => Extends::Behind,
    }
}

/// Why two entries are not a fork proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForkProofError {
    /// One of the entries is invalid.
    #[error("invalid entry in fork proof: {0}")]
    Entry(#[from] EntryError),
    /// Larger than [`MAX_FORK_PROOF_BYTES`].
    #[error("fork proof is {0} bytes; the limit is {MAX_FORK_PROOF_BYTES}")]
    TooLarge(usize),
    /// The encoding of the proof is malformed.
    #[error("malformed fork proof: {0}")]
    Malformed(#[from] CborError),
    /// The entries are by different authors.
    #[error("the two entries are by different authors")]
    DifferentAuthors,
    /// The entries are consistent with one chain.
    #[error("the two entries do not conflict")]
    NoConflict,
}

/// Proof that an author forked their feed: two valid, conflicting entries they signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkProof {
    // Ordered: for a same-seq fork by id, for a broken link by seq, so each proof has one
    // byte form.
    first: VerifiedEntry,
    second: VerifiedEntry,
}

impl ForkProof {
    /// Checks that `a` and `b` conflict (see the module docs) and builds the proof.
    pub fn new(a: VerifiedEntry, b: VerifiedEntry) -> Result<Self, ForkProofError> {
        if a.author() != b.author() {
            return Err(ForkProofError::DifferentAuthors);
        }
        let (first, second) = if (a.seq(), a.id()) <= (b.seq(), b.id()) {
            (a, b)
        } else {
            (b, a)
        };
        let conflict = if first.seq() == second.seq() {
            first.id() != second.id()
        } else {
            second.seq() == first.seq() + 1 && second.prev() != Some(first.id())
        };
        if !conflict {
            return Err(ForkProofError::NoConflict);
        }
        Ok(Self { first, second })
    }

    /// The author who forked.
    pub fn author(&self) -> AuthorId {
        self.first.author()
    }

    /// The lowest seq the conflict involves: the feed is trusted only below it.
    pub fn seq(&self) -> u64 {
        self.first.seq()
    }

    /// The two entries.
    pub fn entries(&self) -> (&VerifiedEntry, &VerifiedEntry) {
        (&self.first, &self.second)
    }

    /// Canonical encoding: `{a: envelope, b: envelope}`.
    pub fn encode(&self) -> Vec<u8> {
        MapBuilder::new()
            .field("a", Value::Bytes(self.first.bytes()))
            .field("b", Value::Bytes(self.second.bytes()))
            .finish()
    }

    /// Decodes and re-checks a proof.
    pub fn decode(bytes: &[u8], now_ms: u64) -> Result<Self, ForkProofError> {
        if bytes.len() > MAX_FORK_PROOF_BYTES {
            return Err(ForkProofError::TooLarge(bytes.len()));
        }
        check_canonical(bytes)?;
        let mut fields = Fields::parse(bytes)?;
        let a = validate(fields.bytes("a")?, now_ms)?;
        let b = validate(fields.bytes("b")?, now_ms)?;
        fields.deny_unknown()?;
        let proof = Self::new(a, b)?;
        if proof.encode() != bytes {
            return Err(CborError::NotCanonical.into());
        }
        Ok(proof)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;
    use crate::entry::{Draft, sign_entry};
    use crate::identity::Keypair;

    const NOW: u64 = 1_764_000_000_000;

    fn post(keypair: &Keypair, head: Option<(u64, ContentId)>, text: &str) -> VerifiedEntry {
        let body = Body::Post { text: text.into() }.encode();
        sign_entry(keypair, &Draft::after(head, NOW, "post", &body)).unwrap()
    }

    fn position(entry: &VerifiedEntry) -> FeedPosition {
        FeedPosition {
            seq: entry.seq(),
            id: entry.id(),
        }
    }

    #[test]
    fn extends_classifies_every_case() {
        let k = Keypair::from_seed(&[9; 32]);
        let e1 = post(&k, None, "1");
        let e2 = post(&k, Some((1, e1.id())), "2");
        let e3 = post(&k, Some((2, e2.id())), "3");
        let e2_fork = post(&k, Some((1, e1.id())), "2 again");
        let e3_on_fork = post(&k, Some((2, e2_fork.id())), "3 on fork");
        assert_eq!(extends(None, &e1), Extends::Next);
        assert_eq!(extends(None, &e2), Extends::Gap { first_missing: 1 });
        assert_eq!(extends(Some(position(&e1)), &e2), Extends::Next);
        assert_eq!(
            extends(Some(position(&e1)), &e3),
            Extends::Gap { first_missing: 2 }
        );
        assert_eq!(extends(Some(position(&e2)), &e2), Extends::Duplicate);
        assert_eq!(extends(Some(position(&e2)), &e2_fork), Extends::Behind);
        assert_eq!(extends(Some(position(&e2)), &e1), Extends::Behind);
        assert_eq!(
            extends(Some(position(&e2)), &e3_on_fork),
            Extends::BrokenLink
        );
        assert_eq!(extends(Some(position(&e2)), &e3), Extends::Next);
    }

    #[test]
    fn fork_proofs_accept_conflicts_only_and_round_trip() {
        let k = Keypair::from_seed(&[9; 32]);
        let e1 = post(&k, None, "1");
        let e2 = post(&k, Some((1, e1.id())), "2");
        let e2_fork = post(&k, Some((1, e1.id())), "2 again");
        let e1_fork = post(&k, None, "1 again");
        let same_seq = ForkProof::new(e2_fork.clone(), e2.clone()).unwrap();
        assert_eq!(same_seq.seq(), 2);
        assert_eq!(
            ForkProof::new(e2.clone(), e2_fork.clone()).unwrap(),
            same_seq
        );
        assert_eq!(
            ForkProof::decode(&same_seq.encode(), NOW).unwrap(),
            same_seq
        );
        let broken_link = ForkProof::new(e1_fork, e2.clone()).unwrap();
        assert_eq!(broken_link.seq(), 1);
        assert_eq!(
            ForkProof::new(e1.clone(), e2.clone()),
            Err(ForkProofError::NoConflict)
        );
        assert_eq!(
            ForkProof::new(e2.clone(), e2.clone()),
            Err(ForkProofError::NoConflict)
        );
        let other = post(&Keypair::from_seed(&[8; 32]), None, "x");
        assert_eq!(
            ForkProof::new(e1, other),
            Err(ForkProofError::DifferentAuthors)
        );
    }
}

//! kith's data model and protocol rules, with no IO: no network, no disk, no clock, no
//! async runtime. Time (`now_ms`) is always an argument, so every rule is a pure function
//! and testable on its own.
//!
//! | module | what it defines |
//! |---|---|
//! | [`identity`] | ed25519 keypairs, `did:key` author ids, the secret-key file format |
//! | [`cid`] | content ids (CIDv1, cbor, sha2-256) |
//! | [`cbor`] | the canonical CBOR subset and the checks that enforce it |
//! | [`body`] | entry kinds and their typed bodies |
//! | [`blob`] | media blobs: chunks, manifests, image types |
//! | [`beacon`] | status beacons: a node's signed figures about itself, geohash distances |
//! | [`entry`] | signed envelopes: signing, decoding, single and batch verification |
//! | [`chain`] | how an entry relates to a feed's head; fork proofs |
//! | [`head`] | signed feed-head records and their DHT key |
//! | [`limits`] | every size and time limit of the protocol |
//! | [`names`] | usernames: normalization, signed claims and releases, their DHT key |
//! | [`permalink`] | `kith:<cid>`, `kith:<did>/<seq>`, `kith:<user>/<slug>`, `kith:/<slug>` |
//! | [`text`] | mentions and hashtags read from a post's text |
//!
//! The normative description of the formats is `docs/PROTOCOL.md`; `docs/test-vectors/`
//! holds vectors that this crate is tested against.

pub mod beacon;
pub mod blob;
pub mod body;
pub mod cbor;
pub mod chain;
pub mod cid;
pub mod entry;
pub mod head;
pub mod identity;
pub mod limits;
pub mod names;
pub mod permalink;
pub mod sealed;
pub mod text;

pub use body::{Body, BodyError, Kind};
pub use chain::{Extends, FeedPosition, ForkProof, ForkProofError, extends};
pub use cid::{CidError, ContentId};
pub use entry::{
    Draft, Entry, EntryError, VerifiedEntry, sign_entry, validate, validate_batch, verify_batch,
};
pub use head::{FeedHead, HeadError, HeadOrder, head_key};
pub use identity::{AuthorId, DidError, KeyFileError, Keypair};

//! Size and time limits of the protocol.
//!
//! Every limit here is part of the wire contract (`docs/PROTOCOL.md` §Limits): a peer that
//! accepted something larger would store entries that other peers refuse, and the network
//! would disagree about what a feed contains.

/// Largest signed envelope, in bytes. Media goes in blobs, never inline.
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024;

/// Deepest nesting of arrays and maps allowed anywhere in a payload. The typed bodies need
/// three levels; the headroom is for future kinds, the cap is there so a hostile entry cannot
/// blow the stack of a recursive decoder.
pub const MAX_CBOR_DEPTH: usize = 16;

/// Longest `kind` string, in bytes.
pub const MAX_KIND_BYTES: usize = 32;

/// Longest text of a post, reply, edit or quote, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Longest display name in a profile, in bytes of UTF-8.
pub const MAX_NAME_BYTES: usize = 128;

/// Longest bio in a profile, in bytes of UTF-8.
pub const MAX_BIO_BYTES: usize = 4 * 1024;

/// Longest reaction (an emoji or a short word), in bytes of UTF-8.
pub const MAX_REACTION_BYTES: usize = 64;

/// How far in the future an entry's or head's timestamp may be, in milliseconds, before it
/// is refused. Ten minutes absorbs clock skew between home machines without letting an
/// author pin an entry to the top of timelines sorted by time.
pub const MAX_FUTURE_SKEW_MS: u64 = 10 * 60 * 1000;

/// Highest sequence number. Kept within 2^53 so JSON clients (JavaScript numbers) can
/// represent every sequence number exactly.
pub const MAX_SEQ: u64 = (1 << 53) - 1;

/// Largest timestamp (milliseconds since the Unix epoch) accepted, also within 2^53.
pub const MAX_TIMESTAMP_MS: u64 = (1 << 53) - 1;

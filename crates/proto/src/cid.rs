//! Content ids: CIDv1, multicodec `cbor` (0x51), sha2-256 multihash, over the exact bytes.
//!
//! Binary form (36 bytes): `0x01 0x51 0x12 0x20` followed by the 32-byte sha2-256 digest.
//! Text form: multibase base32 lower-case without padding, prefix `b` (`bafir…`), the form
//! IPFS tools print. Only this one CID shape is valid in protocol version 1; any other
//! version, codec or hash is refused, so each entry has exactly one id.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// The fixed prefix of every binary content id: CIDv1, codec cbor, sha2-256, 32 bytes.
pub const CID_PREFIX: [u8; 4] = [0x01, 0x51, 0x12, 0x20];

/// Length of a binary content id.
pub const CID_BYTES: usize = 36;

/// Why bytes or text are not a content id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidError {
    /// Not 36 bytes, or not the CIDv1/cbor/sha2-256 prefix.
    #[error("a content id is a CIDv1 (codec cbor 0x51, sha2-256) of 36 bytes")]
    WrongShape,
    /// The text is not `b` + lower-case base32.
    #[error("a content id in text is `b` followed by lower-case base32 (e.g. `bafir…`)")]
    BadText,
}

/// The id of an entry or blob chunk: the sha2-256 digest of its bytes, shown as a CIDv1.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentId([u8; 32]);

impl ContentId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Wraps a digest (for ids read back from an index).
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The sha2-256 digest.
    pub fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 36-byte binary CID, as written inside payloads.
    pub fn to_bytes(&self) -> [u8; CID_BYTES] {
        let mut out = [0u8; CID_BYTES];
        out[..4].copy_from_slice(&CID_PREFIX);
        out[4..].copy_from_slice(&self.0);
        out
    }

    /// Parses a 36-byte binary CID.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CidError> {
        if bytes.len() != CID_BYTES || bytes[..4] != CID_PREFIX {
            return Err(CidError::WrongShape);
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[4..]);
        Ok(Self(digest))
    }

    /// Parses the text form strictly (lower case, no padding, this CID shape only).
    pub fn parse(text: &str) -> Result<Self, CidError> {
        let encoded = text.strip_prefix('b').ok_or(CidError::BadText)?;
        let bytes = base32_decode(encoded).ok_or(CidError::BadText)?;
        let id = Self::from_bytes(&bytes)?;
        // base32 of 36 bytes is 58 characters, 290 bits for 288: the 2 spare bits must be
        // zero (one text per id). A 59-character text also decodes to 36 bytes (its last
        // 7 bits are dropped), so the round trip is what refuses it too.
        if id.to_string() != text {
            return Err(CidError::BadText);
        }
        Ok(id)
    }
}

const BASE32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// RFC 4648 base32, lower case, no padding: the alphabet of multibase `b`. Also used for
/// names derived from hashes (gossip topics).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32_ALPHABET[((buffer >> bits) & 0x1f) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32_ALPHABET[((buffer << (5 - bits)) & 0x1f) as usize] as char);
    }
    out
}

fn base32_decode(text: &str) -> Option<Vec<u8>> {
    // Bounded: a CID text is 59 characters; refuse long input before decoding.
    if text.len() > 128 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let value = BASE32_ALPHABET.iter().position(|&a| a == c)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

impl fmt::Display for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b{}", base32_encode(&self.to_bytes()))
    }
}

impl fmt::Debug for ContentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentId({self})")
    }
}

impl FromStr for ContentId {
    type Err = CidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_is_strict() {
        let id = ContentId::of(b"hello");
        let text = id.to_string();
        assert!(text.starts_with("bafir"), "{text}");
        assert_eq!(text.len(), 59);
        assert_eq!(ContentId::parse(&text), Ok(id));
        assert_eq!(
            ContentId::parse(&text.to_uppercase()),
            Err(CidError::BadText)
        );
        assert_eq!(ContentId::parse(&text[1..]), Err(CidError::BadText));
        assert!(ContentId::parse(&text[..text.len() - 1]).is_err());
        // Same bytes but non-zero spare bits in the last character.
        let mut last_changed = text.clone();
        let last = last_changed.pop().unwrap();
        let index = BASE32_ALPHABET
            .iter()
            .position(|&a| a as char == last)
            .unwrap();
        last_changed.push(BASE32_ALPHABET[index | 1] as char);
        if last_changed != text {
            assert_eq!(ContentId::parse(&last_changed), Err(CidError::BadText));
        }
    }

    #[test]
    fn sha256_of_empty_input_is_the_known_digest() {
        let id = ContentId::of(b"");
        assert_eq!(id.digest()[..4], [0xe3, 0xb0, 0xc4, 0x42]);
    }

    #[test]
    fn binary_form_refuses_other_cid_shapes() {
        let id = ContentId::of(b"x");
        let mut bytes = id.to_bytes();
        assert_eq!(ContentId::from_bytes(&bytes), Ok(id));
        bytes[1] = 0x71; // dag-cbor
        assert_eq!(ContentId::from_bytes(&bytes), Err(CidError::WrongShape));
        assert_eq!(
            ContentId::from_bytes(&id.to_bytes()[..35]),
            Err(CidError::WrongShape)
        );
    }
}

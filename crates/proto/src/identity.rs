//! Identities: ed25519 keypairs, their `did:key` text form, and the secret-key file format.
//!
//! An author is an ed25519 public key. Its text form is a W3C `did:key`: `did:key:z` followed
//! by base58btc of the multicodec `ed25519-pub` (0xed 0x01) and the 32 key bytes, so every
//! author id starts `did:key:z6Mk`. Parsing is strict: one text form per key, and the key
//! must be a valid, non-weak curve point.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use zeroize::{Zeroize, Zeroizing};

/// Text prefix of every author id.
pub const DID_KEY_PREFIX: &str = "did:key:z";

/// Multicodec of an ed25519 public key (varint 0xed, 0x01).
const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];

/// First line of a secret-key file.
pub const SECRET_KEY_FILE_HEADER: &str = "kith-secret-key-v1";

/// Why a `did:key` text does not name an author.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidError {
    /// The text does not start with `did:key:z`.
    #[error("an author id starts with `did:key:z6Mk`")]
    MissingPrefix,
    /// The part after the prefix is not base58btc.
    #[error("an author id is base58btc after `did:key:z`")]
    NotBase58,
    /// The decoded bytes are not `0xed 0x01` followed by 32 key bytes.
    #[error("an author id holds an ed25519 public key (multicodec 0xed01, 32 bytes)")]
    NotEd25519,
    /// The 32 bytes are not a usable ed25519 public key.
    #[error("the public key in this author id is not a valid ed25519 point")]
    InvalidKey,
    /// The text is not the one canonical form of its key.
    #[error("the author id is not in canonical form")]
    NotCanonical,
}

/// Why a secret-key file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The header line is missing or names another format.
    #[error("not a kith secret-key file (first line must be `{SECRET_KEY_FILE_HEADER}`)")]
    BadHeader,
    /// The `seed` line is missing or not 64 hex digits.
    #[error("the secret-key file has no valid `seed` line of 64 hex digits")]
    BadSeed,
    /// The `did` line does not match the key derived from the seed.
    #[error("the `did` line does not match the secret key in the file")]
    DidMismatch,
    /// A line this format does not define.
    #[error("unexpected line {0} in the secret-key file")]
    UnexpectedLine(usize),
}

/// The public identity of an author: an ed25519 public key in canonical encoding (`y` < p,
/// as RFC 8032 requires) that is not of small order.
///
/// [`AuthorId::from_bytes`] and [`AuthorId::parse_did`] also check that the bytes decompress
/// to a curve point. The author of a received entry is only checked against the small-order
/// list when the entry is decoded; whether it decompresses is checked when the entry's
/// signature is verified, which has to decompress it anyway (doing it twice would cost a
/// fifth of the ingest path).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorId([u8; 32]);

impl AuthorId {
    /// Checks and wraps 32 public-key bytes: they must decompress to a curve point that is
    /// not of small order (a weak key would let anyone forge signatures that verify).
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, DidError> {
        let id = Self::from_slice_deferred(&bytes)?;
        id.verifying_key()?;
        Ok(id)
    }

    /// Like [`AuthorId::from_bytes`], from a slice that must be 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DidError> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| DidError::NotEd25519)?;
        Self::from_bytes(bytes)
    }

    /// The 32 public-key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Wraps 32 bytes after the cheap checks only: canonical `y`, not an encoding of a
    /// small-order point. Whether the bytes decompress to a curve point is checked when a
    /// signature is verified with the key. For keys read back from where this program stored
    /// them after a full check (a store's indexes): a full check costs a field inversion and
    /// square root (about 30 µs), which made reading a list of 10,000 followed authors cost
    /// 300 ms.
    pub fn from_slice_deferred(bytes: &[u8]) -> Result<Self, DidError> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| DidError::NotEd25519)?;
        if is_small_order_encoding(&bytes) || !is_canonical_y(&bytes) {
            return Err(DidError::InvalidKey);
        }
        Ok(Self(bytes))
    }

    /// The decompressed key, for signature checks; fails if the bytes are not a curve point
    /// or the point is of small order.
    pub(crate) fn verifying_key(&self) -> Result<VerifyingKey, DidError> {
        match VerifyingKey::from_bytes(&self.0) {
            Ok(key) if !key.is_weak() => Ok(key),
            _ => Err(DidError::InvalidKey),
        }
    }

    /// The `did:key:z6Mk…` text form.
    pub fn to_did(&self) -> String {
        let mut raw = Vec::with_capacity(34);
        raw.extend_from_slice(&ED25519_PUB_MULTICODEC);
        raw.extend_from_slice(&self.0);
        format!("{DID_KEY_PREFIX}{}", bs58::encode(raw).into_string())
    }

    /// Parses the `did:key` text form strictly.
    pub fn parse_did(text: &str) -> Result<Self, DidError> {
        let encoded = text
            .strip_prefix(DID_KEY_PREFIX)
            .ok_or(DidError::MissingPrefix)?;
        // 34 bytes are at most 47 base58 digits; refuse anything longer before decoding.
        if encoded.is_empty() || encoded.len() > 48 {
            return Err(DidError::NotEd25519);
        }
        let raw = bs58::decode(encoded)
            .into_vec()
            .map_err(|_| DidError::NotBase58)?;
        if raw.len() != 34 || raw[..2] != ED25519_PUB_MULTICODEC {
            return Err(DidError::NotEd25519);
        }
        let id = Self::from_slice(&raw[2..])?;
        if id.to_did() != text {
            return Err(DidError::NotCanonical);
        }
        Ok(id)
    }
}

impl fmt::Display for AuthorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_did())
    }
}

impl fmt::Debug for AuthorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthorId({})", self.to_did())
    }
}

impl FromStr for AuthorId {
    type Err = DidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_did(s)
    }
}

/// An ed25519 keypair that signs entries and heads. The secret half is wiped from memory
/// when the keypair is dropped.
#[derive(Clone)]
pub struct Keypair {
    signing: SigningKey,
}

impl Keypair {
    /// A fresh keypair from the operating system's random source.
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        // The OS random source failing is unrecoverable for a program that makes keys.
        getrandom::fill(seed.as_mut()).expect("the operating system's random source failed");
        Self::from_seed(&seed)
    }

    /// The keypair whose RFC 8032 secret key (seed) is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte seed. Handle with care: it is the whole secret.
    pub fn seed(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The ed25519 secret key (sealed entries derive the X25519 secret from it).
    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The public identity.
    pub fn author(&self) -> AuthorId {
        // A key derived from a seed is never weak (it is a multiple of the base point).
        AuthorId(self.signing.verifying_key().to_bytes())
    }

    /// Signs `message` (callers prepend their domain tag).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    /// The secret-key file for this keypair. It names the public key for people who open
    /// it; the file must be written with mode 0600 (see `docs/PROTOCOL.md` §Secret-key file).
    pub fn to_key_file(&self) -> Zeroizing<String> {
        let seed = self.seed();
        let mut hex = String::with_capacity(64);
        for byte in seed.iter() {
            hex.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
            hex.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
        }
        let text = format!(
            "{SECRET_KEY_FILE_HEADER}\n# Secret key of a kith identity. Anyone who reads this file can post as you.\ndid {}\nseed {hex}\n",
            self.author().to_did()
        );
        hex.zeroize();
        Zeroizing::new(text)
    }

    /// Parses a secret-key file. Blank lines and `#` comments are ignored; the `did` line is
    /// optional but, when present, must match the seed.
    pub fn from_key_file(text: &str) -> Result<Self, KeyFileError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, line)| (i + 1, line.trim()))
            .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'));
        match lines.next() {
            Some((_, SECRET_KEY_FILE_HEADER)) => {}
            _ => return Err(KeyFileError::BadHeader),
        }
        let mut seed: Option<Zeroizing<[u8; 32]>> = None;
        let mut did: Option<&str> = None;
        for (number, line) in lines {
            if let Some(hex) = line.strip_prefix("seed ") {
                if seed.is_some() {
                    return Err(KeyFileError::UnexpectedLine(number));
                }
                seed = Some(parse_seed_hex(hex.trim())?);
            } else if let Some(text) = line.strip_prefix("did ") {
                if did.is_some() {
                    return Err(KeyFileError::UnexpectedLine(number));
                }
                did = Some(text.trim());
            } else {
                return Err(KeyFileError::UnexpectedLine(number));
            }
        }
        let seed = seed.ok_or(KeyFileError::BadSeed)?;
        let keypair = Self::from_seed(&seed);
        if let Some(did) = did
            && did != keypair.author().to_did()
        {
            return Err(KeyFileError::DidMismatch);
        }
        Ok(keypair)
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret half.
        write!(f, "Keypair({})", self.author().to_did())
    }
}

/// Is the `y` coordinate of a compressed point (the low 255 bits, little-endian) below
/// p = 2^255 − 19? curve25519-dalek also accepts `y + p` for `y` < 19; RFC 8032 §5.1.3 does
/// not, and neither do we, so each key has one byte form.
fn is_canonical_y(bytes: &[u8; 32]) -> bool {
    let at_least_p =
        bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff) && bytes[0] >= 0xed;
    !at_least_p
}

/// Is `bytes` one of the strings that decompress to a point of small order (see
/// [`small_order_encodings`])? Such a point as a key or as a signature's `R` is refused by
/// strict verification.
pub(crate) fn is_small_order_encoding(bytes: &[u8]) -> bool {
    small_order_encodings()
        .iter()
        .any(|bad| bad.as_slice() == bytes)
}

/// Every 32-byte string that decompresses to a point of small order: for each of the eight
/// torsion points, its canonical encoding and the same with the sign bit flipped, and, where
/// `y + p` still fits in 255 bits (only `y` = 0 and 1), the non-canonical `y + p` forms with
/// either sign bit. curve25519-dalek accepts all of these when decompressing.
pub(crate) fn small_order_encodings() -> &'static [[u8; 32]] {
    static ENCODINGS: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    ENCODINGS.get_or_init(|| {
        let mut encodings = Vec::new();
        for point in curve25519_dalek::constants::EIGHT_TORSION {
            let canonical = point.compress().to_bytes();
            let mut forms = vec![canonical];
            // y < 19: y + p = 2^255 - 19 + y is also below 2^255.
            if canonical[0] < 19
                && canonical[1..31].iter().all(|b| *b == 0)
                && canonical[31] & 0x7f == 0
            {
                let mut non_canonical = [0xffu8; 32];
                non_canonical[0] = 0xed + canonical[0];
                non_canonical[31] = 0x7f;
                forms.push(non_canonical);
            }
            for form in forms {
                for sign in [0u8, 0x80] {
                    let mut encoding = form;
                    encoding[31] = (encoding[31] & 0x7f) | sign;
                    if !encodings.contains(&encoding) {
                        encodings.push(encoding);
                    }
                }
            }
        }
        encodings
    })
}

fn parse_seed_hex(hex: &str) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    if hex.len() != 64 {
        return Err(KeyFileError::BadSeed);
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        let high = (pair[0] as char)
            .to_digit(16)
            .ok_or(KeyFileError::BadSeed)?;
        let low = (pair[1] as char)
            .to_digit(16)
            .ok_or(KeyFileError::BadSeed)?;
        seed[i] = (high * 16 + low) as u8;
    }
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_round_trips_and_starts_with_z6mk() {
        let keypair = Keypair::generate();
        let did = keypair.author().to_did();
        assert!(did.starts_with("did:key:z6Mk"), "{did}");
        assert_eq!(AuthorId::parse_did(&did), Ok(keypair.author()));
    }

    #[test]
    fn rfc8032_test_vector_1_public_key() {
        // RFC 8032 §7.1, TEST 1.
        let seed: [u8; 32] = [
            0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec,
            0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03,
            0x1c, 0xae, 0x7f, 0x60,
        ];
        let public = Keypair::from_seed(&seed).author();
        assert_eq!(
            public.as_bytes()[..4],
            [0xd7, 0x5a, 0x98, 0x01],
            "public key of RFC 8032 test 1"
        );
    }

    #[test]
    fn malformed_dids_are_refused_with_a_reason() {
        let good = Keypair::from_seed(&[7; 32]).author().to_did();
        assert_eq!(
            AuthorId::parse_did("did:web:example.com"),
            Err(DidError::MissingPrefix)
        );
        assert_eq!(
            AuthorId::parse_did(&good[1..]),
            Err(DidError::MissingPrefix)
        );
        assert_eq!(AuthorId::parse_did("did:key:z"), Err(DidError::NotEd25519));
        assert_eq!(
            AuthorId::parse_did("did:key:z0OIl"),
            Err(DidError::NotBase58)
        );
        // A secp256k1 did:key (multicodec 0xe7) is not an ed25519 author.
        assert_eq!(
            AuthorId::parse_did("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme"),
            Err(DidError::NotEd25519)
        );
        assert_eq!(
            AuthorId::parse_did(&format!("{good}1")),
            Err(DidError::NotEd25519)
        );
        assert_eq!(
            AuthorId::parse_did(&good[..good.len() - 1]),
            Err(DidError::NotEd25519)
        );
        assert!(AuthorId::parse_did(&format!(" {good}")).is_err());
        // The identity point (all zero but the first byte 1) is a small-order, weak key.
        let mut weak = vec![0xed, 0x01, 1];
        weak.extend_from_slice(&[0; 31]);
        let weak_did = format!("did:key:z{}", bs58::encode(weak).into_string());
        assert_eq!(AuthorId::parse_did(&weak_did), Err(DidError::InvalidKey));
    }

    #[test]
    fn non_canonical_key_encodings_are_refused() {
        let mut refused = 0;
        for low in 0xedu8..=0xff {
            for sign in [0u8, 0x80] {
                let mut bytes = [0xffu8; 32];
                bytes[0] = low;
                bytes[31] = 0x7f | sign;
                // y + p for y = low - 0xed: dalek may decompress it, we never accept it.
                assert_eq!(AuthorId::from_bytes(bytes), Err(DidError::InvalidKey));
                assert_eq!(
                    AuthorId::from_slice_deferred(&bytes),
                    Err(DidError::InvalidKey)
                );
                refused += 1;
            }
        }
        assert_eq!(refused, 38);
        // p - 1 (y = -1) is canonical but of small order; p - 2 is canonical.
        let mut below_p = [0xffu8; 32];
        below_p[0] = 0xeb;
        below_p[31] = 0x7f;
        assert!(is_canonical_y(&below_p));
    }

    #[test]
    fn key_file_round_trips_and_is_checked() {
        let keypair = Keypair::from_seed(&[42; 32]);
        let file = keypair.to_key_file();
        let parsed = Keypair::from_key_file(&file).unwrap();
        assert_eq!(parsed.author(), keypair.author());
        assert_eq!(
            Keypair::from_key_file("nope\n").unwrap_err(),
            KeyFileError::BadHeader
        );
        let other = Keypair::from_seed(&[43; 32]).author().to_did();
        let tampered = file.replace(&keypair.author().to_did(), &other);
        assert_eq!(
            Keypair::from_key_file(&tampered).unwrap_err(),
            KeyFileError::DidMismatch
        );
        let short = format!("{SECRET_KEY_FILE_HEADER}\nseed abcd\n");
        assert_eq!(
            Keypair::from_key_file(&short).unwrap_err(),
            KeyFileError::BadSeed
        );
        let extra = format!("{}extra line\n", file.as_str());
        assert!(matches!(
            Keypair::from_key_file(&extra).unwrap_err(),
            KeyFileError::UnexpectedLine(_)
        ));
    }
}

//! Usernames: the normalization rule, and the signed claim and release records that the
//! peers closest to a name's DHT key ([`name_key`]) store. The first valid claim of a name a
//! replica sees wins there; a quorum of replicas decides (that logic is in the node).
//!
//! ```text
//! envelope = {sig: bytes(64), payload: bytes}                       (canonical CBOR map)
//! claim    = {ts: uint, name: text, type: "claim", nonce: uint, owner: bytes(32)}
//! release  = {ts: uint, name: text, type: "release", owner: bytes(32)}    (no nonce field)
//! sig      = ed25519(owner, NAME_SIGNATURE_DOMAIN ‖ payload)         (strict verification)
//! pow      = sha2-256(payload) has at least NAME_POW_BITS leading zero bits  (claims only)
//! key      = sha2-256(NAME_KEY_DOMAIN ‖ name)                        (the DHT key)
//! ```
//!
//! Payloads are canonical CBOR maps (keys in canonical order: `ts`, `name`, `type`, then
//! `nonce`, `owner`), closed (an unknown field is refused) and carry the name in normalized
//! form ([`normalize_name`]); a name that is not is refused, never normalized on the way in.
//! `ts` is milliseconds since the Unix epoch, at most `MAX_TIMESTAMP_MS` and not more than
//! `MAX_FUTURE_SKEW_MS` ahead of the verifier's clock. A record is at most
//! [`MAX_NAME_RECORD_BYTES`]. The proof of work binds owner, name and time (it is computed
//! over the whole payload), so it cannot be moved to another claim. A release carries no
//! nonce: the `nonce` field is absent, and present it is refused as unknown.
//!
//! Normalization: NFKC, then lowercase (Unicode), then NFKC again; the result must be 3 to 32
//! bytes of `a-z`, `0-9`, `_`, `-`, start with a letter, and not be in [`RESERVED_NAMES`].
//! So `Alice` and fullwidth `ａｌｉｃｅ` are both `alice`, and `é` is refused (NFKC keeps it
//! one non-ASCII character).
//!
//! **Global slugs** share the registry: the registry name `/<slug>` (a `/` then a post slug
//! as [`crate::text::is_valid_slug`] allows, not in [`RESERVED_NAMES`]) claims the web path
//! `/<slug>` for the owner's post whose own slug is `<slug>`. A `/` cannot be in a username,
//! so the two never collide, and claims, releases, keys and quorums work the same way.

use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::cbor::{CborError, Fields, MapBuilder, Value, check_canonical, open_signed_envelope};
use crate::identity::{AuthorId, DidError, Keypair};
use crate::limits::{MAX_FUTURE_SKEW_MS, MAX_TIMESTAMP_MS};

/// Fewest characters in a username.
pub const MIN_USERNAME_CHARS: usize = 3;

/// Most bytes (and characters: a username is ASCII) in a username.
pub const MAX_USERNAME_BYTES: usize = 32;

/// Leading zero bits required of `sha2-256(claim payload)`. About 16,384 hashes to find on
/// average (the search is geometric: 1 in 100 claims needs 4.6 times that): a millisecond or
/// two for a person claiming one name, CPU that someone squatting millions of names must
/// spend for each. 16 bits (4 times the work) put the search's own 99th percentile at about
/// 30 ms, most of the 50 ms a claim may take (docs/BENCHMARKS.md, Names).
pub const NAME_POW_BITS: u32 = 14;

/// Largest encoded claim or release accepted. A valid one is about 200 bytes.
pub const MAX_NAME_RECORD_BYTES: usize = 1024;

/// Prepended to a claim or release payload before signing, so that the signature can never
/// be replayed as an entry or head signature (or the other way round).
pub const NAME_SIGNATURE_DOMAIN: &[u8] = b"kith/name/1\0";

/// Prepended to the normalized name to derive its DHT key ([`name_key`]).
pub const NAME_KEY_DOMAIN: &[u8] = b"kith/name/1";

/// What starts the registry name of a global slug ([`global_slug_name`]).
pub const GLOBAL_SLUG_PREFIX: char = '/';

/// Names nobody can claim: words that would impersonate the service or its operators, and
/// path segments of the web interface and API. All in normalized form.
pub const RESERVED_NAMES: &[&str] = &[
    "about",
    "abuse",
    "account",
    "accounts",
    "admin",
    "administrator",
    "all",
    "anonymous",
    "api",
    "assets",
    "blob",
    "blobs",
    "did",
    "everyone",
    "explore",
    "feed",
    "feeds",
    "health",
    "help",
    "home",
    "hostmaster",
    "info",
    "kith",
    "login",
    "logout",
    "me",
    "metrics",
    "mod",
    "moderator",
    "name",
    "names",
    "nil",
    "no-reply",
    "none",
    "noreply",
    "notifications",
    "null",
    "official",
    "p",
    "postmaster",
    "privacy",
    "public",
    "register",
    "root",
    "search",
    "security",
    "settings",
    "signup",
    "staff",
    "static",
    "support",
    "system",
    "tag",
    "tags",
    "terms",
    "undefined",
    "user",
    "users",
    "webmaster",
    "www",
];

/// Why a name, or a claim or release of one, is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Nothing was given.
    #[error("a username cannot be empty")]
    Empty,
    /// Shorter than [`MIN_USERNAME_CHARS`].
    #[error("`{name}` is too short: a username has at least {MIN_USERNAME_CHARS} characters")]
    TooShort {
        /// The normalized name.
        name: String,
    },
    /// Longer than [`MAX_USERNAME_BYTES`].
    #[error("that username is too long: at most {MAX_USERNAME_BYTES} characters")]
    TooLong,
    /// A character outside `a-z`, `0-9`, `_`, `-` (after normalization).
    #[error("{0:?} cannot be in a username: use lowercase letters a-z, digits 0-9, `_` and `-`")]
    InvalidChar(char),
    /// Only `_` and `-`.
    #[error("a username cannot be only `_` and `-`; put letters in it")]
    OnlyPunctuation,
    /// The first character is not a letter.
    #[error("a username must start with a letter a-z, not {0:?}")]
    MustStartWithLetter(char),
    /// In [`RESERVED_NAMES`].
    #[error("`{0}` is reserved; choose another username")]
    Reserved(String),
    /// A global slug that breaks the slug rules or is reserved.
    #[error(
        "`{0}` cannot be a global slug: use lowercase letters a-z, digits and single `-` between words, not a reserved word"
    )]
    InvalidSlug(String),
    /// A record or a signing request carries a name that is not in normalized form.
    #[error("`{name}` is not in normalized form; use `{normalized}`")]
    NotNormalized {
        /// The name given.
        name: String,
        /// Its normalized form.
        normalized: String,
    },
    /// The record is larger than [`MAX_NAME_RECORD_BYTES`].
    #[error("name record is {size} bytes; the limit is {MAX_NAME_RECORD_BYTES}")]
    TooLarge {
        /// The size received.
        size: usize,
    },
    /// Not canonical CBOR, or not the structure of a name record.
    #[error("malformed name record: {0}")]
    Malformed(#[from] CborError),
    /// A claim where a release was expected, or the other way round, or an unknown type.
    #[error("name record is a `{found}`, expected a `{expected}`")]
    WrongType {
        /// The type wanted.
        expected: &'static str,
        /// The `type` field received.
        found: String,
    },
    /// The owner is not a valid ed25519 public key.
    #[error("bad owner in name record: {0}")]
    BadOwner(#[from] DidError),
    /// `ts` above `MAX_TIMESTAMP_MS`.
    #[error("name record timestamp {0} is out of range")]
    BadTimestamp(u64),
    /// `ts` more than `MAX_FUTURE_SKEW_MS` ahead of now.
    #[error(
        "name record timestamp {ts} is more than {MAX_FUTURE_SKEW_MS} ms ahead of now ({now}); check the clock"
    )]
    FromTheFuture {
        /// The record's timestamp.
        ts: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// The claim's proof of work is short of [`NAME_POW_BITS`].
    #[error("claim has {bits} bits of proof of work; {NAME_POW_BITS} are required")]
    WeakProofOfWork {
        /// Leading zero bits of `sha2-256(payload)`.
        bits: u32,
    },
    /// The signature does not verify under the owner's key (a forgery, or a record whose
    /// payload names another owner than the signer).
    #[error("name record signature does not verify under the owner's key")]
    BadSignature,
}

impl NameError {
    /// Whether the error is about the name itself (the person can pick another), rather than
    /// about a record received.
    pub fn is_name_rule(&self) -> bool {
        matches!(
            self,
            NameError::Empty
                | NameError::TooShort { .. }
                | NameError::TooLong
                | NameError::InvalidChar(_)
                | NameError::OnlyPunctuation
                | NameError::MustStartWithLetter(_)
                | NameError::Reserved(_)
                | NameError::InvalidSlug(_)
                | NameError::NotNormalized { .. }
        )
    }
}

/// The normalized form of a username, or why it cannot be one.
///
/// NFKC, then lowercase (Unicode), then NFKC again; then the rules: only `a-z`, `0-9`, `_`,
/// `-`; not only `_` and `-`; starts with a letter; [`MIN_USERNAME_CHARS`] to
/// [`MAX_USERNAME_BYTES`] long; not in [`RESERVED_NAMES`]. Whitespace is not trimmed.
pub fn normalize_name(input: &str) -> Result<String, NameError> {
    if input.is_empty() {
        return Err(NameError::Empty);
    }
    // Every character maps to at least one character, so an input of more than 32
    // characters (at most 4 bytes each) cannot give a valid name: refuse before normalizing.
    if input.len() > 4 * MAX_USERNAME_BYTES {
        return Err(NameError::TooLong);
    }
    let folded: String = input.nfkc().collect::<String>().to_lowercase();
    let name: String = folded.nfkc().collect();
    if let Some(bad) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
    {
        return Err(NameError::InvalidChar(bad));
    }
    if name.len() > MAX_USERNAME_BYTES {
        return Err(NameError::TooLong);
    }
    if name.chars().all(|c| c == '_' || c == '-') {
        return Err(NameError::OnlyPunctuation);
    }
    match name.chars().next() {
        Some(first) if !first.is_ascii_lowercase() => {
            return Err(NameError::MustStartWithLetter(first));
        }
        // NFKC never maps a character to nothing.
        None => return Err(NameError::Empty),
        Some(_) => {}
    }
    if name.len() < MIN_USERNAME_CHARS {
        return Err(NameError::TooShort { name });
    }
    if RESERVED_NAMES.contains(&name.as_str()) {
        return Err(NameError::Reserved(name));
    }
    Ok(name)
}

/// `sha2-256(NAME_KEY_DOMAIN ‖ name)`: the DHT key whose closest peers replicate the name.
/// `name` must be normalized; it is hashed as given.
pub fn name_key(name: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(NAME_KEY_DOMAIN);
    hasher.update(name.as_bytes());
    hasher.finalize().into()
}

/// The registry name of the global slug `slug`: `/<slug>`, or why `slug` cannot be one
/// (it breaks the post slug rules, or is a reserved word: `/api` is a route, not a post).
pub fn global_slug_name(slug: &str) -> Result<String, NameError> {
    if !crate::text::is_valid_slug(slug) || RESERVED_NAMES.contains(&slug) {
        return Err(NameError::InvalidSlug(slug.to_owned()));
    }
    Ok(format!("{GLOBAL_SLUG_PREFIX}{slug}"))
}

/// The global slug a registry name stands for (`/hello-world` → `hello-world`); `None` for
/// a username.
pub fn global_slug(name: &str) -> Option<&str> {
    name.strip_prefix(GLOBAL_SLUG_PREFIX)
}

/// Checks that a registry name is in its one accepted form: a normalized username, or a
/// global slug's `/<slug>`. Replicas use it on every name they are asked about.
pub fn check_registry_name(name: &str) -> Result<(), NameError> {
    match global_slug(name) {
        Some(slug) => global_slug_name(slug).map(drop),
        None => check_normalized(name),
    }
}

/// Checks that `name` is already in normalized form.
fn check_normalized(name: &str) -> Result<(), NameError> {
    let normalized = normalize_name(name)?;
    if normalized != name {
        return Err(NameError::NotNormalized {
            name: name.to_owned(),
            normalized,
        });
    }
    Ok(())
}

const CLAIM: &str = "claim";
const RELEASE: &str = "release";

fn encode_payload(
    kind: &str,
    name: &str,
    owner: &AuthorId,
    ts: u64,
    nonce: Option<u64>,
) -> Vec<u8> {
    MapBuilder::new()
        .field("type", Value::Text(kind))
        .field("name", Value::Text(name))
        .field("owner", Value::Bytes(owner.as_bytes()))
        .field("ts", Value::Uint(ts))
        .optional("nonce", nonce.map(Value::Uint))
        .finish()
}

fn encode_envelope(sig: &[u8; 64], payload: &[u8]) -> Vec<u8> {
    MapBuilder::new()
        .field("sig", Value::Bytes(sig))
        .field("payload", Value::Bytes(payload))
        .finish()
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(NAME_SIGNATURE_DOMAIN.len() + payload.len());
    message.extend_from_slice(NAME_SIGNATURE_DOMAIN);
    message.extend_from_slice(payload);
    message
}

/// Leading zero bits of `sha2-256(payload)`.
pub fn pow_bits(payload: &[u8]) -> u32 {
    leading_zero_bits(&Sha256::digest(payload).into())
}

fn leading_zero_bits(digest: &[u8; 32]) -> u32 {
    let mut bits = 0;
    for byte in digest {
        bits += byte.leading_zeros();
        if *byte != 0 {
            break;
        }
    }
    bits
}

/// The canonical CBOR head of an unsigned integer (major type 0), shortest form.
fn encode_uint(n: u64, out: &mut [u8; 9]) -> &[u8] {
    match n {
        0..=23 => {
            out[0] = n as u8;
            &out[..1]
        }
        24..=0xff => {
            out[0] = 0x18;
            out[1] = n as u8;
            &out[..2]
        }
        0x100..=0xffff => {
            out[0] = 0x19;
            out[1..3].copy_from_slice(&(n as u16).to_be_bytes());
            &out[..3]
        }
        0x1_0000..=0xffff_ffff => {
            out[0] = 0x1a;
            out[1..5].copy_from_slice(&(n as u32).to_be_bytes());
            &out[..5]
        }
        _ => {
            out[0] = 0x1b;
            out[1..9].copy_from_slice(&n.to_be_bytes());
            &out[..9]
        }
    }
}

/// The first nonce from 0 up whose claim payload meets [`NAME_POW_BITS`].
///
/// In canonical order the nonce is the fourth of five fields (`ts`, `name`, `type`, `nonce`,
/// `owner`), so the payload is `prefix ‖ uint(nonce) ‖ suffix`: the prefix is hashed once
/// and each try hashes only the nonce and the owner field. The caller re-encodes the payload
/// with [`MapBuilder`] and re-checks it, so a wrong split could only fail, never produce a
/// bad claim.
fn search_nonce(name: &str, owner: &AuthorId, ts: u64) -> Option<u64> {
    let head = MapBuilder::new()
        .field("type", Value::Text(CLAIM))
        .field("name", Value::Text(name))
        .field("ts", Value::Uint(ts))
        .finish();
    let tail = MapBuilder::new()
        .field("owner", Value::Bytes(owner.as_bytes()))
        .finish();
    // A map of five fields: one-byte head 0xa5; the three-field map's head (0xa3) is
    // replaced, then the `nonce` key; the owner field follows the value.
    let mut prefix = Vec::with_capacity(head.len() + 6);
    prefix.push(0xa5);
    prefix.extend_from_slice(head.get(1..)?);
    prefix.push(0x65);
    prefix.extend_from_slice(b"nonce");
    let suffix = tail.get(1..)?;
    let mut base = Sha256::new();
    base.update(&prefix);
    let mut buf = [0u8; 9];
    (0..=u64::MAX).find(|nonce| {
        let mut hasher = base.clone();
        hasher.update(encode_uint(*nonce, &mut buf));
        hasher.update(suffix);
        leading_zero_bits(&hasher.finalize().into()) >= NAME_POW_BITS
    })
}

/// The fields of a decoded, verified name record.
struct Record {
    bytes: Vec<u8>,
    name: String,
    owner: AuthorId,
    ts: u64,
    nonce: Option<u64>,
}

/// Decodes and checks a claim (`kind` = `claim`, with nonce and proof of work) or a release.
fn decode_record(bytes: &[u8], now_ms: u64, kind: &'static str) -> Result<Record, NameError> {
    if bytes.len() > MAX_NAME_RECORD_BYTES {
        return Err(NameError::TooLarge { size: bytes.len() });
    }
    let (sig, payload) = open_signed_envelope(bytes)?;

    check_canonical(payload)?;
    let mut fields = Fields::parse(payload).map_err(|_| CborError::WrongType("payload"))?;
    let found = fields.text("type")?;
    if found != kind {
        return Err(NameError::WrongType {
            expected: kind,
            found: found.to_owned(),
        });
    }
    let name = fields.text("name")?;
    let owner = AuthorId::from_slice_deferred(fields.bytes("owner")?)?;
    let ts = fields.uint("ts")?;
    let nonce = if kind == CLAIM {
        Some(fields.uint("nonce")?)
    } else {
        None
    };
    fields.deny_unknown()?;
    check_registry_name(name)?;
    if ts > MAX_TIMESTAMP_MS {
        return Err(NameError::BadTimestamp(ts));
    }
    if ts > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
        return Err(NameError::FromTheFuture { ts, now: now_ms });
    }
    // Belt and braces: the record must re-encode to exactly the bytes received.
    if encode_envelope(&sig, &encode_payload(kind, name, &owner, ts, nonce)) != bytes {
        return Err(CborError::NotCanonical.into());
    }
    // Proof of work before the signature: it is a hash, the signature a scalar multiplication.
    if nonce.is_some() {
        let bits = pow_bits(payload);
        if bits < NAME_POW_BITS {
            return Err(NameError::WeakProofOfWork { bits });
        }
    }
    owner
        .verifying_key()?
        .verify_strict(&signed_message(payload), &Signature::from_bytes(&sig))
        .map_err(|_| NameError::BadSignature)?;
    Ok(Record {
        bytes: bytes.to_vec(),
        name: name.to_owned(),
        owner,
        ts,
        nonce,
    })
}

fn sign_record(
    keypair: &Keypair,
    name: &str,
    ts: u64,
    kind: &'static str,
    nonce: Option<u64>,
) -> Result<Record, NameError> {
    let owner = keypair.author();
    let payload = encode_payload(kind, name, &owner, ts, nonce);
    let sig = keypair.sign(&signed_message(&payload));
    let bytes = encode_envelope(&sig, &payload);
    // Checked like any received record (the clock is the record's own time).
    decode_record(&bytes, ts, kind)
}

fn check_signable(name: &str, ts: u64) -> Result<(), NameError> {
    check_registry_name(name)?;
    if ts > MAX_TIMESTAMP_MS {
        return Err(NameError::BadTimestamp(ts));
    }
    Ok(())
}

/// A signed claim of a name by its owner, with proof of work. Only [`NameClaim::sign`] and
/// [`NameClaim::decode`] make one, so every value has been fully checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameClaim {
    bytes: Vec<u8>,
    name: String,
    owner: AuthorId,
    ts: u64,
    nonce: u64,
}

impl NameClaim {
    /// Signs a claim of `name` (must already be normalized, see [`normalize_name`]) at
    /// `ts_ms`, searching the nonce for [`NAME_POW_BITS`] of proof of work (about 16,384
    /// hashes on average: run it off an async executor's threads).
    pub fn sign(keypair: &Keypair, name: &str, ts_ms: u64) -> Result<Self, NameError> {
        check_signable(name, ts_ms)?;
        let owner = keypair.author();
        // 2^64 tries find a nonce with overwhelming probability; None is unreachable.
        let nonce =
            search_nonce(name, &owner, ts_ms).ok_or(NameError::WeakProofOfWork { bits: 0 })?;
        let record = sign_record(keypair, name, ts_ms, CLAIM, Some(nonce))?;
        Ok(Self {
            bytes: record.bytes,
            name: record.name,
            owner: record.owner,
            ts: record.ts,
            nonce,
        })
    }

    /// Decodes and fully checks a claim received from anyone: size (at most
    /// [`MAX_NAME_RECORD_BYTES`]), canonical CBOR, a closed structure of type `claim`, a
    /// normalized valid name, `ts` not more than `MAX_FUTURE_SKEW_MS` ahead of `now_ms`, the
    /// proof of work, the signature (strict) under the payload's owner.
    pub fn decode(bytes: &[u8], now_ms: u64) -> Result<Self, NameError> {
        let record = decode_record(bytes, now_ms, CLAIM)?;
        Ok(Self {
            bytes: record.bytes,
            name: record.name,
            owner: record.owner,
            ts: record.ts,
            nonce: record.nonce.unwrap_or_default(),
        })
    }

    /// The envelope bytes, exactly as signed or received.
    pub fn encode(&self) -> &[u8] {
        &self.bytes
    }

    /// The claimed name (normalized).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Who claims it.
    pub fn owner(&self) -> AuthorId {
        self.owner
    }

    /// When it was signed, milliseconds since the Unix epoch.
    pub fn ts(&self) -> u64 {
        self.ts
    }

    /// The proof-of-work nonce.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The DHT key of the name ([`name_key`]).
    pub fn key(&self) -> [u8; 32] {
        name_key(&self.name)
    }
}

/// A signed release of a name by its owner (no proof of work). Only [`NameRelease::sign`]
/// and [`NameRelease::decode`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRelease {
    bytes: Vec<u8>,
    name: String,
    owner: AuthorId,
    ts: u64,
}

impl NameRelease {
    /// Signs a release of `name` (must already be normalized) at `ts_ms`. It releases the
    /// owner's claims of the name signed at or before `ts_ms`.
    pub fn sign(keypair: &Keypair, name: &str, ts_ms: u64) -> Result<Self, NameError> {
        check_signable(name, ts_ms)?;
        let record = sign_record(keypair, name, ts_ms, RELEASE, None)?;
        Ok(Self {
            bytes: record.bytes,
            name: record.name,
            owner: record.owner,
            ts: record.ts,
        })
    }

    /// Decodes and fully checks a release received from anyone: as [`NameClaim::decode`],
    /// with type `release`, no nonce and no proof of work.
    pub fn decode(bytes: &[u8], now_ms: u64) -> Result<Self, NameError> {
        let record = decode_record(bytes, now_ms, RELEASE)?;
        Ok(Self {
            bytes: record.bytes,
            name: record.name,
            owner: record.owner,
            ts: record.ts,
        })
    }

    /// The envelope bytes, exactly as signed or received.
    pub fn encode(&self) -> &[u8] {
        &self.bytes
    }

    /// The released name (normalized).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Who releases it.
    pub fn owner(&self) -> AuthorId {
        self.owner
    }

    /// When it was signed, milliseconds since the Unix epoch.
    pub fn ts(&self) -> u64 {
        self.ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_764_000_000_000;

    fn claim(seed: u8, name: &str) -> NameClaim {
        NameClaim::sign(&Keypair::from_seed(&[seed; 32]), name, NOW).unwrap()
    }

    /// A payload whose nonce was picked to fail the proof of work, properly signed.
    fn weak_claim(keypair: &Keypair, name: &str) -> Vec<u8> {
        let owner = keypair.author();
        let (payload, _) = (0..)
            .map(|nonce| encode_payload(CLAIM, name, &owner, NOW, Some(nonce)))
            .map(|payload| {
                let bits = pow_bits(&payload);
                (payload, bits)
            })
            .find(|(_, bits)| *bits < NAME_POW_BITS)
            .unwrap();
        encode_envelope(&keypair.sign(&signed_message(&payload)), &payload)
    }

    #[test]
    fn normalization_table() {
        let ok = [
            ("alice", "alice"),
            ("Alice", "alice"),
            ("ALICE_1", "alice_1"),
            ("ａｌｉｃｅ", "alice"),
            ("Ａｌｉｃｅ", "alice"),
            ("bob-the-builder", "bob-the-builder"),
            ("a_-", "a_-"),
            ("abc", "abc"),
            (
                "x23456789012345678901234567890ab",
                "x23456789012345678901234567890ab",
            ),
            // Kelvin sign and long s are compatibility forms of ASCII letters.
            ("\u{212a}ate", "kate"),
            ("ba\u{17f}il", "basil"),
            // Fullwidth digits and low line.
            ("a１＿２", "a1_2"),
            // A ligature decomposes.
            ("\u{fb01}ona", "fiona"),
        ];
        for (input, want) in ok {
            assert_eq!(normalize_name(input).as_deref(), Ok(want), "{input:?}");
        }
        let refused = [
            ("", NameError::Empty),
            ("ab", NameError::TooShort { name: "ab".into() }),
            ("AB", NameError::TooShort { name: "ab".into() }),
            ("x234567890123456789012345678901234", NameError::TooLong),
            (&"a".repeat(500), NameError::TooLong),
            ("1alice", NameError::MustStartWithLetter('1')),
            ("_alice", NameError::MustStartWithLetter('_')),
            ("-alice", NameError::MustStartWithLetter('-')),
            ("___", NameError::OnlyPunctuation),
            ("-_-", NameError::OnlyPunctuation),
            ("ali ce", NameError::InvalidChar(' ')),
            (" alice", NameError::InvalidChar(' ')),
            ("alice\n", NameError::InvalidChar('\n')),
            ("al.ice", NameError::InvalidChar('.')),
            ("alice😀", NameError::InvalidChar('😀')),
            ("josé", NameError::InvalidChar('é')),
            // Decomposed é composes under NFKC: still not ASCII.
            ("jose\u{301}", NameError::InvalidChar('é')),
            ("straße", NameError::InvalidChar('ß')),
            ("алиса", NameError::InvalidChar('а')),
            // Cyrillic а looks like Latin a; NFKC does not map it.
            ("\u{430}lice", NameError::InvalidChar('\u{430}')),
            ("ali\u{200b}ce", NameError::InvalidChar('\u{200b}')),
            ("Admin", NameError::Reserved("admin".into())),
            ("ＲＯＯＴ", NameError::Reserved("root".into())),
            ("kith", NameError::Reserved("kith".into())),
            ("p", NameError::TooShort { name: "p".into() }),
        ];
        for (input, want) in refused {
            assert_eq!(normalize_name(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn reserved_names_are_normalized_and_refused() {
        assert!(RESERVED_NAMES.len() >= 20);
        for name in RESERVED_NAMES {
            assert!(
                name.chars()
                    .all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '-')),
                "{name}"
            );
            assert!(normalize_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn name_key_is_domain_separated_sha256() {
        let mut hasher = Sha256::new();
        hasher.update(b"kith/name/1alice");
        let want: [u8; 32] = hasher.finalize().into();
        assert_eq!(name_key("alice"), want);
        assert_ne!(name_key("alice"), name_key("alicf"));
    }

    #[test]
    fn claim_round_trips_with_proof_of_work() {
        let k = Keypair::from_seed(&[1; 32]);
        let c = NameClaim::sign(&k, "alice", NOW).unwrap();
        assert_eq!(c.name(), "alice");
        assert_eq!(c.owner(), k.author());
        assert_eq!(c.ts(), NOW);
        assert_eq!(c.key(), name_key("alice"));
        let payload_bits = {
            let mut f = Fields::parse(c.encode()).unwrap();
            pow_bits(f.bytes("payload").unwrap())
        };
        assert!(payload_bits >= NAME_POW_BITS);
        let back = NameClaim::decode(c.encode(), NOW).unwrap();
        assert_eq!(back, c);
        // Deterministic: same key, name and time give the same bytes.
        assert_eq!(NameClaim::sign(&k, "alice", NOW).unwrap(), c);
        // The claim is not a release, and the other way round.
        assert!(matches!(
            NameRelease::decode(c.encode(), NOW),
            Err(NameError::WrongType {
                expected: "release",
                ..
            })
        ));
        let r = NameRelease::sign(&k, "alice", NOW + 1).unwrap();
        assert_eq!(NameRelease::decode(r.encode(), NOW).unwrap(), r);
        assert!(matches!(
            NameClaim::decode(r.encode(), NOW),
            Err(NameError::WrongType {
                expected: "claim",
                ..
            })
        ));
    }

    #[test]
    fn global_slugs_are_registry_names_of_their_own() {
        let k = Keypair::from_seed(&[1; 32]);
        assert_eq!(global_slug_name("hello-world").unwrap(), "/hello-world");
        assert_eq!(global_slug("/hello-world"), Some("hello-world"));
        assert_eq!(global_slug("alice"), None);
        // A claim of a global slug signs, decodes and is keyed like a username's.
        let c = NameClaim::sign(&k, "/hello-world", NOW).unwrap();
        assert_eq!(NameClaim::decode(c.encode(), NOW).unwrap(), c);
        assert_eq!(c.key(), name_key("/hello-world"));
        assert_ne!(c.key(), name_key("hello-world"));
        let r = NameRelease::sign(&k, "/hello-world", NOW + 1).unwrap();
        assert_eq!(NameRelease::decode(r.encode(), NOW).unwrap(), r);
        // Slug rules hold (no capitals, no doubled or edge dashes, not empty), and the
        // reserved words cannot be global slugs (they are routes).
        for bad in ["Hello", "-a", "a--b", "", "api", "p", "hello world", "a_b"] {
            assert_eq!(
                global_slug_name(bad),
                Err(NameError::InvalidSlug(bad.into())),
                "{bad}"
            );
            let name = format!("/{bad}");
            assert!(check_registry_name(&name).is_err(), "{name}");
            let payload = encode_payload(CLAIM, &name, &k.author(), NOW, Some(0));
            let bytes = encode_envelope(&k.sign(&signed_message(&payload)), &payload);
            assert_eq!(
                NameClaim::decode(&bytes, NOW),
                Err(NameError::InvalidSlug(bad.into())),
                "{name}"
            );
        }
        // Usernames are unchanged: no `/` anywhere else, and slugs longer than a username
        // are fine as global slugs.
        assert!(normalize_name("/alice").is_err());
        assert!(check_registry_name("a/b").is_err());
        let long = "a".repeat(60);
        assert!(global_slug_name(&long).is_ok());
        assert!(normalize_name(&long).is_err());
    }

    #[test]
    fn signing_refuses_names_not_normalized() {
        let k = Keypair::from_seed(&[1; 32]);
        assert_eq!(
            NameClaim::sign(&k, "Alice", NOW),
            Err(NameError::NotNormalized {
                name: "Alice".into(),
                normalized: "alice".into()
            })
        );
        assert_eq!(
            NameRelease::sign(&k, "admin", NOW),
            Err(NameError::Reserved("admin".into()))
        );
        assert_eq!(
            NameClaim::sign(&k, "alice", MAX_TIMESTAMP_MS + 1),
            Err(NameError::BadTimestamp(MAX_TIMESTAMP_MS + 1))
        );
    }

    #[test]
    fn forged_signature_is_refused() {
        let c = claim(1, "alice");
        let mut f = Fields::parse(c.encode()).unwrap();
        let sig = f.bytes("sig").unwrap().to_vec();
        let payload = f.bytes("payload").unwrap().to_vec();
        let mut bad_sig: [u8; 64] = sig.try_into().unwrap();
        bad_sig[40] ^= 1;
        assert_eq!(
            NameClaim::decode(&encode_envelope(&bad_sig, &payload), NOW),
            Err(NameError::BadSignature)
        );
        // Signed by another key over the same payload.
        let other = Keypair::from_seed(&[2; 32]);
        let resigned = encode_envelope(&other.sign(&signed_message(&payload)), &payload);
        assert_eq!(
            NameClaim::decode(&resigned, NOW),
            Err(NameError::BadSignature)
        );
        // Signed without the domain tag.
        let no_domain = encode_envelope(&Keypair::from_seed(&[1; 32]).sign(&payload), &payload);
        assert_eq!(
            NameClaim::decode(&no_domain, NOW),
            Err(NameError::BadSignature)
        );
    }

    #[test]
    fn claim_for_another_owner_is_refused() {
        // Mallory signs a payload that names Alice as owner, with valid proof of work.
        let alice = Keypair::from_seed(&[1; 32]).author();
        let mallory = Keypair::from_seed(&[2; 32]);
        let nonce = search_nonce("alice", &alice, NOW).unwrap();
        let payload = encode_payload(CLAIM, "alice", &alice, NOW, Some(nonce));
        assert!(pow_bits(&payload) >= NAME_POW_BITS);
        let forged = encode_envelope(&mallory.sign(&signed_message(&payload)), &payload);
        assert_eq!(
            NameClaim::decode(&forged, NOW),
            Err(NameError::BadSignature)
        );
        // A release of Alice's name signed by Mallory, likewise.
        let payload = encode_payload(RELEASE, "alice", &alice, NOW, None);
        let forged = encode_envelope(&mallory.sign(&signed_message(&payload)), &payload);
        assert_eq!(
            NameRelease::decode(&forged, NOW),
            Err(NameError::BadSignature)
        );
    }

    #[test]
    fn weak_proof_of_work_is_refused() {
        let k = Keypair::from_seed(&[3; 32]);
        let weak = weak_claim(&k, "carol");
        assert!(matches!(
            NameClaim::decode(&weak, NOW),
            Err(NameError::WeakProofOfWork { bits }) if bits < NAME_POW_BITS
        ));
        // Moving a good nonce to another name does not carry the work with it.
        let good = claim(3, "carol");
        let payload = encode_payload(CLAIM, "carola", &k.author(), NOW, Some(good.nonce()));
        if pow_bits(&payload) < NAME_POW_BITS {
            let moved = encode_envelope(&k.sign(&signed_message(&payload)), &payload);
            assert!(matches!(
                NameClaim::decode(&moved, NOW),
                Err(NameError::WeakProofOfWork { .. })
            ));
        }
    }

    #[test]
    fn future_timestamps_are_refused() {
        let c = claim(1, "alice");
        assert!(NameClaim::decode(c.encode(), NOW - MAX_FUTURE_SKEW_MS).is_ok());
        assert_eq!(
            NameClaim::decode(c.encode(), NOW - MAX_FUTURE_SKEW_MS - 1),
            Err(NameError::FromTheFuture {
                ts: NOW,
                now: NOW - MAX_FUTURE_SKEW_MS - 1
            })
        );
        let r = NameRelease::sign(&Keypair::from_seed(&[1; 32]), "alice", NOW).unwrap();
        assert!(matches!(
            NameRelease::decode(r.encode(), NOW - MAX_FUTURE_SKEW_MS - 1),
            Err(NameError::FromTheFuture { .. })
        ));
        // Read back from storage, "now" is unbounded.
        assert!(NameClaim::decode(c.encode(), u64::MAX).is_ok());
    }

    #[test]
    fn records_with_bad_names_are_refused_even_when_signed() {
        let k = Keypair::from_seed(&[4; 32]);
        for (name, want) in [
            (
                "Alice",
                NameError::NotNormalized {
                    name: "Alice".into(),
                    normalized: "alice".into(),
                },
            ),
            ("admin", NameError::Reserved("admin".into())),
            ("a b", NameError::InvalidChar(' ')),
        ] {
            let payload = encode_payload(RELEASE, name, &k.author(), NOW, None);
            let bytes = encode_envelope(&k.sign(&signed_message(&payload)), &payload);
            assert_eq!(NameRelease::decode(&bytes, NOW), Err(want), "{name}");
        }
    }

    #[test]
    fn non_canonical_and_malformed_records_are_refused() {
        let k = Keypair::from_seed(&[5; 32]);
        let c = claim(5, "dave");
        let mut f = Fields::parse(c.encode()).unwrap();
        let sig: [u8; 64] = f.bytes("sig").unwrap().try_into().unwrap();
        let payload = f.bytes("payload").unwrap().to_vec();

        // Envelope keys out of order: payload (7 bytes) before sig (3 bytes).
        let mut unsorted = vec![0xa2, 0x67];
        unsorted.extend_from_slice(b"payload");
        unsorted.extend_from_slice(&crate::cbor::encode_bytes(&payload));
        unsorted.push(0x63);
        unsorted.extend_from_slice(b"sig");
        unsorted.extend_from_slice(&crate::cbor::encode_bytes(&sig));
        assert!(matches!(
            NameClaim::decode(&unsorted, NOW),
            Err(NameError::Malformed(CborError::UnsortedKeys { .. }))
        ));

        // A non-minimal integer inside the payload: ts written with 8 bytes is canonical
        // (NOW needs them); rewrite the 1-byte type length as a 2-byte one instead. Build a
        // payload whose `name` text length uses a non-minimal head.
        let good_name = [0x64, b'd', b'a', b'v', b'e'];
        let at = payload
            .windows(good_name.len())
            .position(|w| w == good_name)
            .unwrap();
        let mut non_minimal = payload[..at].to_vec();
        non_minimal.extend_from_slice(&[0x78, 0x04]);
        non_minimal.extend_from_slice(b"dave");
        non_minimal.extend_from_slice(&payload[at + good_name.len()..]);
        let bytes = encode_envelope(&k.sign(&signed_message(&non_minimal)), &non_minimal);
        assert!(matches!(
            NameClaim::decode(&bytes, NOW),
            Err(NameError::Malformed(CborError::NonMinimal { .. }))
        ));

        // Trailing bytes after the envelope.
        let mut trailing = c.encode().to_vec();
        trailing.push(0);
        assert!(matches!(
            NameClaim::decode(&trailing, NOW),
            Err(NameError::Malformed(CborError::TrailingBytes { .. }))
        ));

        // An unknown payload field, even signed.
        let extra = MapBuilder::new()
            .field("type", Value::Text(RELEASE))
            .field("name", Value::Text("dave"))
            .field("owner", Value::Bytes(k.author().as_bytes()))
            .field("ts", Value::Uint(NOW))
            .field("nonce", Value::Uint(0))
            .finish();
        let bytes = encode_envelope(&k.sign(&signed_message(&extra)), &extra);
        assert_eq!(
            NameRelease::decode(&bytes, NOW),
            Err(NameError::Malformed(CborError::UnknownField(
                "nonce".into()
            )))
        );

        // A claim without a nonce.
        let missing = encode_payload(CLAIM, "dave", &k.author(), NOW, None);
        let bytes = encode_envelope(&k.sign(&signed_message(&missing)), &missing);
        assert_eq!(
            NameClaim::decode(&bytes, NOW),
            Err(NameError::Malformed(CborError::MissingField("nonce")))
        );

        // Garbage and truncation.
        assert!(matches!(
            NameClaim::decode(&[0xff], NOW),
            Err(NameError::Malformed(_))
        ));
        let whole = c.encode();
        assert!(matches!(
            NameClaim::decode(&whole[..whole.len() - 1], NOW),
            Err(NameError::Malformed(_))
        ));
    }

    #[test]
    fn oversize_records_are_refused() {
        let c = claim(6, "erin");
        let mut f = Fields::parse(c.encode()).unwrap();
        let sig: [u8; 64] = f.bytes("sig").unwrap().try_into().unwrap();
        let mut envelope = MapBuilder::new()
            .field("sig", Value::Bytes(&sig))
            .field("payload", Value::Bytes(&[0u8; 2000]))
            .finish();
        assert_eq!(
            NameClaim::decode(&envelope, NOW),
            Err(NameError::TooLarge {
                size: envelope.len()
            })
        );
        envelope.truncate(MAX_NAME_RECORD_BYTES + 1);
        assert!(matches!(
            NameRelease::decode(&envelope, NOW),
            Err(NameError::TooLarge { .. })
        ));
        // A valid record is far under the limit.
        assert!(c.encode().len() < 256, "{}", c.encode().len());
    }

    #[test]
    fn the_fast_nonce_search_matches_the_encoder() {
        let k = Keypair::from_seed(&[7; 32]);
        for (name, ts) in [
            ("abc", 0),
            ("x23456789012345678901234567890ab", NOW),
            ("mid", 300),
        ] {
            let nonce = search_nonce(name, &k.author(), ts).unwrap();
            let payload = encode_payload(CLAIM, name, &k.author(), ts, Some(nonce));
            assert!(pow_bits(&payload) >= NAME_POW_BITS);
            // And it is the first such nonce.
            for earlier in (0..nonce).step_by(997) {
                let payload = encode_payload(CLAIM, name, &k.author(), ts, Some(earlier));
                assert!(pow_bits(&payload) < NAME_POW_BITS);
            }
        }
        let mut buf = [0u8; 9];
        for n in [
            0,
            23,
            24,
            255,
            256,
            65535,
            65536,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut want = Vec::new();
            want.extend_from_slice(&MapBuilder::new().field("n", Value::Uint(n)).finish()[3..]);
            assert_eq!(encode_uint(n, &mut buf), want.as_slice(), "{n}");
        }
    }

    // The cost of signing a claim is measured by `cargo bench -p kith-proto --bench names`.
}

//! Sealed entries: a body only its audience can read (PROTOCOL.md §35).
//!
//! An entry of kind `sealed` carries, instead of a readable body, an inner entry (a post, a
//! reply, a direct message, a follow) encrypted once under a fresh 32-byte **content key**,
//! and that key **wrapped** for each recipient. Peers store, serve and relay it like any
//! entry (the author's signature covers it); only recipients can open it.
//!
//! * **Keys.** A recipient's X25519 key is derived from its ed25519 identity (the Montgomery
//!   form of the public key; the clamped ed25519 secret scalar): anyone can seal to any
//!   `did:key` without fetching anything first. [`x25519_public`], [`x25519_secret`].
//! * **Wrapping.** One ephemeral X25519 key per entry. For each recipient `R`:
//!   `ss = X25519(e, R)`, `tag ‖ wrap_key = HKDF-SHA256(ikm = ss, salt = E ‖ R,
//!   info = "kith/sealed/1 wrap")` (8 + 32 bytes), and the stanza is `tag ‖
//!   ChaCha20-Poly1305(wrap_key, nonce 0, content key)` — [`STANZA_BYTES`] = 56 bytes. No
//!   recipient identity is written: a reader computes its own tag once and looks for it.
//!   The stanzas are shuffled and padded with random ones to a power of two (at least
//!   [`MIN_STANZAS`]), so their number tells the audience's size only roughly.
//! * **Content.** `ChaCha20-Poly1305(content key, nonce 0, inner)`: the key is used once.
//!   The inner plaintext is padded to a multiple of [`PAD_BLOCK`] bytes.
//! * **Inherited** seals (replies in a sealed thread): no stanzas; the key is
//!   `HKDF-SHA256(ikm = the root's content key, salt = s, info = "kith/sealed/1 reply")` with a
//!   fresh 16-byte salt `s`, and the body names the root (`r`). Whoever can read the root can
//!   read every reply, and nobody else: the replies inherit the audience.
//!
//! Opening tells three cases apart: not for us ([`Opened::NotForUs`]), readable, and
//! **tampered** ([`SealError`]): a stanza with our tag that does not open, or a content that
//! does not, is an error, never "unreadable".

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::cbor::{CborError, Fields, MapBuilder, Value, check_canonical};
use crate::cid::ContentId;
use crate::identity::{AuthorId, Keypair};

/// The kind name of sealed entries.
pub const SEALED_KIND: &str = "sealed";
/// Bytes of one wrapped key: an 8-byte tag and the 32-byte content key with its 16-byte
/// authentication tag.
pub const STANZA_BYTES: usize = 56;
/// Fewest stanzas in a sealed entry (random ones fill up): a sealed note to oneself looks
/// like a message to three others.
pub const MIN_STANZAS: usize = 4;
/// Most recipients of one sealed entry: what fits an entry (64 KiB) with room for the text.
/// Larger audiences would need a shared audience key (PROTOCOL.md §35.6).
pub const MAX_RECIPIENTS: usize = 1024;
/// The inner plaintext is padded to a multiple of this many bytes.
pub const PAD_BLOCK: usize = 256;
/// Bytes of the salt of an inherited seal.
pub const SALT_BYTES: usize = 16;
/// Most members of one direct-message conversation (besides the sender).
pub const MAX_DM_RECIPIENTS: usize = 64;

const WRAP_INFO: &[u8] = b"kith/sealed/1 wrap";
const REPLY_INFO: &[u8] = b"kith/sealed/1 reply";
const TAG_BYTES: usize = 8;
const KEY_BYTES: usize = 32;
const AEAD_TAG_BYTES: usize = 16;

/// Why a sealed body cannot be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// Not the body of a sealed entry (missing or malformed fields).
    #[error("malformed sealed body: {0}")]
    Malformed(&'static str),
    /// CBOR that is not canonical or not the expected structure.
    #[error("malformed sealed body: {0}")]
    Cbor(#[from] CborError),
    /// A stanza carries our tag but does not open: the entry was altered.
    #[error("a wrapped key addressed to this reader does not open: the entry was altered")]
    TamperedKey,
    /// The content does not open with the key: the entry was altered.
    #[error("the sealed content does not open with its key: the entry was altered")]
    TamperedContent,
    /// The inner plaintext is not a valid inner entry.
    #[error("the sealed content is not a valid inner entry: {0}")]
    BadInner(&'static str),
    /// No recipient, or more than [`MAX_RECIPIENTS`].
    #[error("a sealed entry has 1 to {MAX_RECIPIENTS} recipients, not {0}")]
    Recipients(usize),
    /// The author key cannot be used for X25519 (a weak key; refused as a did anyway).
    #[error("this key cannot receive sealed entries")]
    WeakKey,
    /// The system's random source failed.
    #[error("no randomness: {0}")]
    Random(String),
}

/// The X25519 public key of an identity: the Montgomery form of its ed25519 key.
pub fn x25519_public(author: &AuthorId) -> Result<[u8; 32], SealError> {
    let key = author.verifying_key().map_err(|_| SealError::WeakKey)?;
    Ok(key.to_montgomery().to_bytes())
}

/// The X25519 secret of an identity: the clamped scalar of its ed25519 secret.
pub fn x25519_secret(keypair: &Keypair) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(keypair.signing_key().to_scalar_bytes())
}

/// The body of a sealed entry, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sealed {
    /// Keyed for a set of recipients.
    Keyed {
        /// The entry's ephemeral X25519 public key.
        ephemeral: [u8; 32],
        /// The wrapped keys, [`STANZA_BYTES`] each.
        stanzas: Vec<u8>,
        /// The encrypted inner entry.
        ciphertext: Vec<u8>,
    },
    /// Keyed by the root of its thread (a reply in a sealed thread).
    Inherited {
        /// The root entry whose content key this one derives from.
        root: ContentId,
        /// The derivation's salt.
        salt: [u8; SALT_BYTES],
        /// The encrypted inner entry.
        ciphertext: Vec<u8>,
    },
}

impl Sealed {
    /// Parses a sealed body (canonical CBOR, checked here).
    pub fn decode(bytes: &[u8]) -> Result<Self, SealError> {
        check_canonical(bytes)?;
        let mut fields = Fields::parse(bytes)?;
        let ciphertext = fields.bytes("c")?.to_vec();
        if ciphertext.len() < AEAD_TAG_BYTES {
            return Err(SealError::Malformed(
                "`c` is shorter than its authentication tag",
            ));
        }
        let root = fields.opt_bytes("r")?;
        let salt = fields.opt_bytes("s")?;
        let ephemeral = fields.opt_bytes("e")?;
        let stanzas = fields.opt_bytes("k")?;
        match (ephemeral, stanzas, root, salt) {
            (Some(ephemeral), Some(stanzas), None, None) => {
                let ephemeral: [u8; 32] = ephemeral
                    .try_into()
                    .map_err(|_| SealError::Malformed("`e` is not 32 bytes"))?;
                if stanzas.is_empty() || !stanzas.len().is_multiple_of(STANZA_BYTES) {
                    return Err(SealError::Malformed("`k` is not a whole number of stanzas"));
                }
                Ok(Sealed::Keyed {
                    ephemeral,
                    stanzas: stanzas.to_vec(),
                    ciphertext,
                })
            }
            (None, None, Some(root), Some(salt)) => Ok(Sealed::Inherited {
                root: ContentId::from_bytes(root)
                    .map_err(|_| SealError::Malformed("`r` is not a content id"))?,
                salt: salt
                    .try_into()
                    .map_err(|_| SealError::Malformed("`s` is not 16 bytes"))?,
                ciphertext,
            }),
            _ => Err(SealError::Malformed(
                "a sealed body has `e` and `k`, or `r` and `s`, besides `c`",
            )),
        }
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Sealed::Keyed {
                ephemeral,
                stanzas,
                ciphertext,
            } => MapBuilder::new()
                .field("c", Value::Bytes(ciphertext))
                .field("e", Value::Bytes(ephemeral))
                .field("k", Value::Bytes(stanzas))
                .finish(),
            Sealed::Inherited {
                root,
                salt,
                ciphertext,
            } => {
                let root = root.to_bytes();
                MapBuilder::new()
                    .field("c", Value::Bytes(ciphertext))
                    .field("r", Value::Bytes(&root))
                    .field("s", Value::Bytes(salt))
                    .finish()
            }
        }
    }

    /// How many wrapped keys it carries (0 for an inherited seal).
    pub fn stanza_count(&self) -> usize {
        match self {
            Sealed::Keyed { stanzas, .. } => stanzas.len() / STANZA_BYTES,
            Sealed::Inherited { .. } => 0,
        }
    }
}

/// Who a sealed entry is for, as the author states it inside (shown to readers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The author's followers when it was sealed.
    Followers,
    /// One of the author's lists.
    List,
    /// Recipients named one by one (direct messages among them).
    Direct,
    /// The author alone (private follows, notes).
    Myself,
    /// Whoever could read the root of the thread.
    Thread,
}

impl Audience {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::Followers => "followers",
            Audience::List => "list",
            Audience::Direct => "direct",
            Audience::Myself => "self",
            Audience::Thread => "thread",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "followers" => Audience::Followers,
            "list" => Audience::List,
            "direct" => Audience::Direct,
            "self" => Audience::Myself,
            "thread" => Audience::Thread,
            _ => return None,
        })
    }
}

/// The entry inside a sealed one: a kind and its body, the stated audience, and for direct
/// messages the conversation's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inner {
    /// The inner entry's kind (`post`, `reply`, `dm`, `follow`, `unfollow`).
    pub kind: String,
    /// Its body, canonical CBOR, checked by its kind's rules (`dm`: [`DmBody`]).
    pub body: Vec<u8>,
    /// Who it is for.
    pub audience: Audience,
}

impl Inner {
    /// The canonical encoding, padded to a multiple of [`PAD_BLOCK`].
    pub fn encode(&self) -> Vec<u8> {
        let unpadded = self.encode_with_pad(0).len();
        // The padding field's own header grows with its length; aim for the next block and
        // correct by the header's size.
        let mut pad = PAD_BLOCK - unpadded % PAD_BLOCK;
        loop {
            let encoded = self.encode_with_pad(pad);
            if encoded.len().is_multiple_of(PAD_BLOCK) {
                return encoded;
            }
            let over = encoded.len() % PAD_BLOCK;
            pad = if pad >= over {
                pad - over
            } else {
                pad + PAD_BLOCK - over
            };
        }
    }

    fn encode_with_pad(&self, pad: usize) -> Vec<u8> {
        let zeros = vec![0u8; pad];
        MapBuilder::new()
            .field("aud", Value::Text(self.audience.as_str()))
            .field("body", Value::Bytes(&self.body))
            .field("kind", Value::Text(&self.kind))
            .field("pad", Value::Bytes(&zeros))
            .finish()
    }

    /// Parses an inner plaintext and checks its body by its kind.
    pub fn decode(bytes: &[u8]) -> Result<Self, SealError> {
        check_canonical(bytes)?;
        let mut fields = Fields::parse(bytes)?;
        let audience =
            Audience::parse(fields.text("aud")?).ok_or(SealError::BadInner("unknown audience"))?;
        let body = fields.bytes("body")?.to_vec();
        let kind = fields.text("kind")?.to_owned();
        if fields.bytes("pad")?.iter().any(|b| *b != 0) {
            return Err(SealError::BadInner("padding is not zeros"));
        }
        check_canonical(&body).map_err(|_| SealError::BadInner("body is not canonical CBOR"))?;
        match kind.as_str() {
            "dm" => {
                DmBody::decode(&body)?;
            }
            "post" | "reply" | "follow" | "unfollow" => {
                let parsed = crate::Kind::parse(&kind).ok_or(SealError::BadInner("kind"))?;
                crate::Body::parse(&parsed, &body)
                    .map_err(|_| SealError::BadInner("body does not fit its kind"))?;
            }
            _ => {
                return Err(SealError::BadInner(
                    "a sealed entry holds a post, reply, dm, follow or unfollow",
                ));
            }
        }
        Ok(Inner {
            kind,
            body,
            audience,
        })
    }
}

/// The body of a direct message: its text and the conversation's members besides the
/// author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmBody {
    /// The message.
    pub text: String,
    /// The other members, in a canonical order (sorted by key bytes, no repeats).
    pub to: Vec<AuthorId>,
}

impl DmBody {
    /// The canonical encoding (members sorted and deduplicated).
    pub fn encode(&self) -> Vec<u8> {
        let mut to: Vec<[u8; 32]> = self.to.iter().map(|a| *a.as_bytes()).collect();
        to.sort_unstable();
        to.dedup();
        let refs: Vec<&[u8]> = to.iter().map(|k| k.as_slice()).collect();
        let array = crate::cbor::encode_bytes_array(&refs);
        MapBuilder::new()
            .field("text", Value::Text(&self.text))
            .field("to", Value::Raw(&array))
            .finish()
    }

    /// Parses and checks a direct message body.
    pub fn decode(bytes: &[u8]) -> Result<Self, SealError> {
        let mut fields = Fields::parse(bytes)?;
        let text = fields.text("text")?;
        if text.is_empty() || text.len() > crate::limits::MAX_TEXT_BYTES {
            return Err(SealError::BadInner("dm text is empty or too long"));
        }
        let to = fields
            .bytes_array("to")?
            .into_iter()
            .map(|key| AuthorId::from_slice(key).map_err(|_| SealError::BadInner("dm member")))
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() || to.len() > MAX_DM_RECIPIENTS {
            return Err(SealError::BadInner("a dm has 1 to 64 other members"));
        }
        if to.windows(2).any(|w| w[0].as_bytes() >= w[1].as_bytes()) {
            return Err(SealError::BadInner(
                "dm members are not sorted without repeats",
            ));
        }
        Ok(DmBody {
            text: text.to_owned(),
            to,
        })
    }
}

/// What opening a sealed entry gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// This reader is not in the audience.
    NotForUs,
    /// The inner entry, and the content key (which opens inherited replies).
    Readable {
        /// The inner entry.
        inner: Inner,
        /// The entry's content key.
        key: Zeroizing<[u8; 32]>,
    },
}

fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SealError::Random(e.to_string()))?;
    Ok(bytes)
}

fn aead_seal(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(&Key::from(*key));
    // Every key here encrypts exactly one message, so the nonce can be fixed.
    cipher
        .encrypt(&Nonce::default(), plaintext)
        .expect("ChaCha20-Poly1305 encrypts any length we produce")
}

fn aead_open(key: &[u8; 32], ciphertext: &[u8]) -> Option<Vec<u8>> {
    ChaCha20Poly1305::new(&Key::from(*key))
        .decrypt(&Nonce::default(), ciphertext)
        .ok()
}

/// The tag and wrap key of one recipient.
fn wrap_secrets(
    shared: &[u8; 32],
    ephemeral: &[u8; 32],
    recipient: &[u8; 32],
) -> ([u8; TAG_BYTES], Zeroizing<[u8; KEY_BYTES]>) {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral);
    salt[32..].copy_from_slice(recipient);
    let hkdf = Hkdf::<Sha256>::new(Some(&salt), shared);
    let mut okm = Zeroizing::new([0u8; TAG_BYTES + KEY_BYTES]);
    hkdf.expand(WRAP_INFO, okm.as_mut_slice())
        .expect("40 bytes is a valid HKDF-SHA256 output length");
    let mut tag = [0u8; TAG_BYTES];
    tag.copy_from_slice(&okm[..TAG_BYTES]);
    let mut key = Zeroizing::new([0u8; KEY_BYTES]);
    key.copy_from_slice(&okm[TAG_BYTES..]);
    (tag, key)
}

fn inherited_key(root_key: &[u8; 32], salt: &[u8; SALT_BYTES]) -> Zeroizing<[u8; 32]> {
    let hkdf = Hkdf::<Sha256>::new(Some(salt), root_key);
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf.expand(REPLY_INFO, key.as_mut_slice())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    key
}

/// The randomness of one seal (tests and vectors fix it; [`seal`] draws it).
#[derive(Clone)]
pub struct SealRandomness {
    /// The ephemeral X25519 secret.
    pub ephemeral: [u8; 32],
    /// The content key.
    pub content_key: [u8; 32],
    /// Seeds the order of the stanzas and the filler stanzas.
    pub filler: [u8; 32],
}

impl SealRandomness {
    /// Fresh randomness from the system.
    pub fn draw() -> Result<Self, SealError> {
        Ok(Self {
            ephemeral: random()?,
            content_key: random()?,
            filler: random()?,
        })
    }
}

/// A stream of pseudo-random bytes from a seed (the order and filler of the stanzas: they
/// need to look random, not to be secret beyond the seal itself).
struct Stream {
    hkdf: Hkdf<Sha256>,
    counter: u64,
}

impl Stream {
    fn new(seed: &[u8; 32]) -> Self {
        Self {
            hkdf: Hkdf::<Sha256>::from_prk(seed).expect("32 bytes is a valid PRK"),
            counter: 0,
        }
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(32) {
            let mut block = [0u8; 32];
            self.hkdf
                .expand(&self.counter.to_be_bytes(), &mut block)
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    }

    fn below(&mut self, n: usize) -> usize {
        let mut bytes = [0u8; 8];
        self.fill(&mut bytes);
        (u64::from_be_bytes(bytes) % n as u64) as usize
    }
}

/// Seals `inner` for `recipients` (the author includes itself to read its own entry).
pub fn seal(recipients: &[AuthorId], inner: &Inner) -> Result<Sealed, SealError> {
    seal_with(recipients, inner, &SealRandomness::draw()?)
}

/// [`seal`] with given randomness (test vectors).
pub fn seal_with(
    recipients: &[AuthorId],
    inner: &Inner,
    randomness: &SealRandomness,
) -> Result<Sealed, SealError> {
    let mut keys: Vec<[u8; 32]> = recipients
        .iter()
        .map(x25519_public)
        .collect::<Result<_, _>>()?;
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() || keys.len() > MAX_RECIPIENTS {
        return Err(SealError::Recipients(keys.len()));
    }
    let secret = StaticSecret::from(randomness.ephemeral);
    let ephemeral = PublicKey::from(&secret).to_bytes();
    let mut stanzas: Vec<[u8; STANZA_BYTES]> = Vec::with_capacity(keys.len());
    for key in &keys {
        let shared = Zeroizing::new(secret.diffie_hellman(&PublicKey::from(*key)).to_bytes());
        let (tag, wrap_key) = wrap_secrets(&shared, &ephemeral, key);
        let wrapped = aead_seal(&wrap_key, &randomness.content_key);
        let mut stanza = [0u8; STANZA_BYTES];
        stanza[..TAG_BYTES].copy_from_slice(&tag);
        stanza[TAG_BYTES..].copy_from_slice(&wrapped);
        stanzas.push(stanza);
    }
    // Filler up to a power of two, then a shuffle: the count says little, the order nothing.
    let mut stream = Stream::new(&randomness.filler);
    let target = keys.len().next_power_of_two().max(MIN_STANZAS);
    while stanzas.len() < target {
        let mut filler = [0u8; STANZA_BYTES];
        stream.fill(&mut filler);
        stanzas.push(filler);
    }
    for i in (1..stanzas.len()).rev() {
        let j = stream.below(i + 1);
        stanzas.swap(i, j);
    }
    Ok(Sealed::Keyed {
        ephemeral,
        stanzas: stanzas.concat(),
        ciphertext: aead_seal(&randomness.content_key, &inner.encode()),
    })
}

/// Seals `inner` as a reply in the thread whose root `root` has content key `root_key`.
pub fn seal_inherited(
    root: ContentId,
    root_key: &[u8; 32],
    inner: &Inner,
) -> Result<Sealed, SealError> {
    let salt: [u8; SALT_BYTES] = random()?;
    Ok(seal_inherited_with(root, root_key, inner, salt))
}

/// [`seal_inherited`] with a given salt (test vectors).
pub fn seal_inherited_with(
    root: ContentId,
    root_key: &[u8; 32],
    inner: &Inner,
    salt: [u8; SALT_BYTES],
) -> Sealed {
    let key = inherited_key(root_key, &salt);
    Sealed::Inherited {
        root,
        salt,
        ciphertext: aead_seal(&key, &inner.encode()),
    }
}

/// Opens a keyed seal as `reader`.
pub fn open(reader: &Keypair, sealed: &Sealed) -> Result<Opened, SealError> {
    let Sealed::Keyed {
        ephemeral,
        stanzas,
        ciphertext,
    } = sealed
    else {
        return Err(SealError::Malformed(
            "an inherited seal opens with its root's key",
        ));
    };
    let mine = x25519_public(&reader.author())?;
    let secret = StaticSecret::from(*x25519_secret(reader));
    let shared = Zeroizing::new(
        secret
            .diffie_hellman(&PublicKey::from(*ephemeral))
            .to_bytes(),
    );
    let (tag, wrap_key) = wrap_secrets(&shared, ephemeral, &mine);
    let Some(stanza) = stanzas
        .chunks_exact(STANZA_BYTES)
        .find(|stanza| stanza[..TAG_BYTES] == tag)
    else {
        return Ok(Opened::NotForUs);
    };
    let key_bytes = aead_open(&wrap_key, &stanza[TAG_BYTES..]).ok_or(SealError::TamperedKey)?;
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(
        key_bytes
            .get(..32)
            .filter(|_| key_bytes.len() == 32)
            .ok_or(SealError::TamperedKey)?,
    );
    open_content(ciphertext, key)
}

/// Opens an inherited seal with the content key of its root.
pub fn open_inherited(sealed: &Sealed, root_key: &[u8; 32]) -> Result<Opened, SealError> {
    let Sealed::Inherited {
        salt, ciphertext, ..
    } = sealed
    else {
        return Err(SealError::Malformed(
            "a keyed seal opens with a reader's key",
        ));
    };
    let key = inherited_key(root_key, salt);
    open_content(ciphertext, key)
}

fn open_content(ciphertext: &[u8], key: Zeroizing<[u8; 32]>) -> Result<Opened, SealError> {
    let plaintext = Zeroizing::new(aead_open(&key, ciphertext).ok_or(SealError::TamperedContent)?);
    Ok(Opened::Readable {
        inner: Inner::decode(&plaintext)?,
        key,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Body;

    fn post(text: &str, audience: Audience) -> Inner {
        Inner {
            kind: "post".into(),
            body: Body::Post { text: text.into() }.encode(),
            audience,
        }
    }

    fn readable(opened: Opened) -> (Inner, Zeroizing<[u8; 32]>) {
        match opened {
            Opened::Readable { inner, key } => (inner, key),
            Opened::NotForUs => panic!("not for us"),
        }
    }

    #[test]
    fn recipients_read_and_others_do_not() {
        let author = Keypair::from_seed(&[1; 32]);
        let alice = Keypair::from_seed(&[2; 32]);
        let stranger = Keypair::from_seed(&[3; 32]);
        let inner = post("for followers", Audience::Followers);
        let sealed = seal(&[author.author(), alice.author()], &inner).unwrap();
        let decoded = Sealed::decode(&sealed.encode()).unwrap();
        assert_eq!(decoded, sealed);
        assert_eq!(decoded.stanza_count(), MIN_STANZAS);
        assert_eq!(readable(open(&alice, &decoded).unwrap()).0, inner);
        assert_eq!(readable(open(&author, &decoded).unwrap()).0, inner);
        assert_eq!(open(&stranger, &decoded).unwrap(), Opened::NotForUs);
    }

    #[test]
    fn any_altered_byte_is_detected_never_misread() {
        let author = Keypair::from_seed(&[1; 32]);
        let alice = Keypair::from_seed(&[2; 32]);
        let inner = post("x", Audience::Direct);
        let Sealed::Keyed {
            ephemeral,
            stanzas,
            ciphertext,
        } = seal(&[author.author(), alice.author()], &inner).unwrap()
        else {
            unreachable!()
        };
        let with = |e: [u8; 32], k: Vec<u8>, c: Vec<u8>| Sealed::Keyed {
            ephemeral: e,
            stanzas: k,
            ciphertext: c,
        };
        // Every byte of the content: the reader finds out.
        for i in 0..ciphertext.len() {
            let mut c = ciphertext.clone();
            c[i] ^= 0x01;
            let opened = open(&alice, &with(ephemeral, stanzas.clone(), c));
            assert_eq!(opened, Err(SealError::TamperedContent), "content byte {i}");
        }
        // Every byte of every stanza and of the ephemeral key: an error, or (for a tag or
        // for someone else's stanza) not ours or still the right reading; never a wrong one.
        let mut detected = 0;
        for i in 0..stanzas.len() + 32 {
            let (mut e, mut k) = (ephemeral, stanzas.clone());
            if i < stanzas.len() {
                k[i] ^= 0x01;
            } else {
                e[i - stanzas.len()] ^= 0x01;
            }
            match open(&alice, &with(e, k, ciphertext.clone())) {
                Err(_) => detected += 1,
                Ok(Opened::NotForUs) => {}
                Ok(Opened::Readable { inner: read, .. }) => assert_eq!(read, inner, "byte {i}"),
            }
        }
        // At least the 48 bytes of Alice's own wrapped key.
        assert!(detected >= STANZA_BYTES - 8, "{detected}");
    }

    #[test]
    fn inherited_replies_open_with_the_root_key_only() {
        let author = Keypair::from_seed(&[1; 32]);
        let sealed = seal(&[author.author()], &post("root", Audience::Myself)).unwrap();
        let (_, key) = readable(open(&author, &sealed).unwrap());
        let root = ContentId::of(b"root entry");
        let reply = Inner {
            kind: "post".into(),
            body: Body::Post {
                text: "reply".into(),
            }
            .encode(),
            audience: Audience::Thread,
        };
        let sealed_reply = seal_inherited(root, &key, &reply).unwrap();
        let decoded = Sealed::decode(&sealed_reply.encode()).unwrap();
        assert_eq!(readable(open_inherited(&decoded, &key).unwrap()).0, reply);
        assert_eq!(
            open_inherited(&decoded, &[7; 32]),
            Err(SealError::TamperedContent)
        );
    }

    #[test]
    fn padding_hides_the_length_to_a_block() {
        for len in [1, 100, 200, 255, 256, 600, 1000] {
            let text = "a".repeat(len);
            let encoded = post(&text, Audience::Followers).encode();
            assert_eq!(encoded.len() % PAD_BLOCK, 0, "{len}");
            assert_eq!(
                Inner::decode(&encoded).unwrap(),
                post(&text, Audience::Followers)
            );
        }
    }

    #[test]
    fn direct_messages_list_their_members_canonically() {
        let a = Keypair::from_seed(&[4; 32]).author();
        let b = Keypair::from_seed(&[5; 32]).author();
        let body = DmBody {
            text: "hi".into(),
            to: vec![b, a, b],
        };
        let decoded = DmBody::decode(&body.encode()).unwrap();
        let mut expected = vec![a, b];
        expected.sort_by_key(|k| *k.as_bytes());
        assert_eq!(decoded.to, expected);
    }
}

//! Deterministic generation of `docs/test-vectors/*.json`.
//!
//! Everything here is a pure function of fixed seeds and fixed timestamps (ed25519 signatures
//! are deterministic), so running the generator twice gives identical files. The conformance
//! test re-runs [`generate`] and compares with the committed files, so a silent change of the
//! wire format fails the test suite.

use ed25519_dalek::{Signer, SigningKey};
use kith_proto::cbor::check_canonical;
use kith_proto::cid::CID_PREFIX;
use kith_proto::entry::{ENTRY_SIGNATURE_DOMAIN, PROTOCOL_VERSION};
use kith_proto::head::{HEAD_KEY_PREFIX, HEAD_SIGNATURE_DOMAIN, MAX_HEAD_BYTES};
use kith_proto::identity::SECRET_KEY_FILE_HEADER;
use kith_proto::limits::{
    MAX_CBOR_DEPTH, MAX_ENVELOPE_BYTES, MAX_FUTURE_SKEW_MS, MAX_KIND_BYTES, MAX_SEQ,
    MAX_TEXT_BYTES, MAX_TIMESTAMP_MS,
};
use kith_proto::{
    AuthorId, Body, ContentId, Draft, FeedHead, ForkProof, Keypair, VerifiedEntry, head_key,
    sign_entry,
};
use serde::{Deserialize, Serialize};

use super::cbor::{self, Item};

/// The author's seed: the bytes 0x01, 0x02, …, 0x20.
pub(crate) const SEED: [u8; 32] = counting_seed(0x01);

/// A second identity: signs the "other key" case and is the subject of follow/unfollow.
pub(crate) const OTHER_SEED: [u8; 32] = counting_seed(0x21);

/// 2026-01-01T00:00:00Z in milliseconds: the first entry's timestamp.
pub(crate) const T0: u64 = 1_767_225_600_000;

/// One minute between consecutive entries.
pub(crate) const STEP: u64 = 60_000;

/// The clock the vectors are verified with: one hour after [`T0`].
pub(crate) const NOW_MS: u64 = T0 + 3_600_000;

/// The head record's timestamp: one minute after the last entry.
pub(crate) const HEAD_TS: u64 = T0 + 10 * STEP;

const fn counting_seed(start: u8) -> [u8; 32] {
    let mut seed = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        seed[i] = start + i as u8;
        i += 1;
    }
    seed
}

/// `keypair.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeypairFile {
    pub(crate) description: String,
    pub(crate) seed_hex: String,
    pub(crate) public_key_hex: String,
    pub(crate) multicodec_key_hex: String,
    pub(crate) did: String,
    pub(crate) key_file: String,
    pub(crate) key_file_cases: Vec<TextCase>,
    pub(crate) did_cases: Vec<TextCase>,
}

/// A text to parse and what parsing must give: `"ok"` or the error variant's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TextCase {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) expected: String,
}

/// `feed.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FeedFile {
    pub(crate) description: String,
    pub(crate) author_did: String,
    pub(crate) public_key_hex: String,
    pub(crate) seed_hex: String,
    pub(crate) signature_domain_hex: String,
    pub(crate) now_ms: u64,
    pub(crate) entries: Vec<EntryVector>,
    pub(crate) fork_proofs: Vec<ForkProofVector>,
}

/// One valid entry of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EntryVector {
    pub(crate) seq: u64,
    pub(crate) kind: String,
    pub(crate) ts: u64,
    pub(crate) prev: Option<String>,
    pub(crate) body_diag: String,
    pub(crate) body_hex: String,
    pub(crate) payload_diag: String,
    pub(crate) payload_hex: String,
    pub(crate) signed_message_hex: String,
    pub(crate) signature_hex: String,
    pub(crate) envelope_hex: String,
    pub(crate) id: String,
    pub(crate) id_hex: String,
}

/// A fork proof built from a feed entry and a conflicting entry outside the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ForkProofVector {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) conflicting_entry_hex: String,
    pub(crate) conflicting_entry_id: String,
    pub(crate) a_id: String,
    pub(crate) b_id: String,
    pub(crate) fork_seq: u64,
    pub(crate) proof_hex: String,
}

/// `head.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HeadFile {
    pub(crate) description: String,
    pub(crate) author_did: String,
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) id_hex: String,
    pub(crate) ts: u64,
    pub(crate) now_ms: u64,
    pub(crate) key_prefix_hex: String,
    pub(crate) key_hex: String,
    pub(crate) signature_domain_hex: String,
    pub(crate) unsigned_diag: String,
    pub(crate) signed_message_hex: String,
    pub(crate) sig_hex: String,
    pub(crate) value_diag: String,
    pub(crate) value_hex: String,
}

/// `invalid.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InvalidFile {
    pub(crate) description: String,
    pub(crate) cases: Vec<InvalidCase>,
}

/// One input that must be refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InvalidCase {
    pub(crate) name: String,
    /// `entry` (check with `validate(hex, now_ms)`) or `head` (check with
    /// `FeedHead::validate_record(key_hex, hex, now_ms)`).
    pub(crate) target: String,
    pub(crate) description: String,
    pub(crate) now_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key_hex: Option<String>,
    pub(crate) expected_code: String,
    pub(crate) hex: String,
}

/// All four files, as written to disk: `(file name, contents)`.
pub(crate) fn generate() -> Vec<(&'static str, String)> {
    let feed = build_feed();
    vec![
        ("keypair.json", to_json(&keypair_file())),
        ("feed.json", to_json(&feed_file(&feed))),
        ("head.json", to_json(&head_file(&feed))),
        ("invalid.json", to_json(&invalid_file(&feed))),
    ]
}

fn to_json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("vectors serialize");
    text.push('\n');
    text
}

/// The name of an error's variant, from its `Debug` form (`UnexpectedLine(3)` →
/// `UnexpectedLine`).
pub(crate) fn variant_name(error: &impl std::fmt::Debug) -> String {
    let debug = format!("{error:?}");
    debug
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn keypair() -> Keypair {
    Keypair::from_seed(&SEED)
}

fn dalek(seed: &[u8; 32]) -> SigningKey {
    SigningKey::from_bytes(seed)
}

// ---------------------------------------------------------------------------------------
// keypair.json

fn keypair_file() -> KeypairFile {
    let kp = keypair();
    let author = kp.author();
    let did = author.to_did();
    let key_file = kp.to_key_file().to_string();
    let seed_hex = hex::encode(SEED);
    let mut multicodec = vec![0xed, 0x01];
    multicodec.extend_from_slice(author.as_bytes());

    let did_line = format!("did {did}");
    let seed_line = format!("seed {seed_hex}");
    let key_file_case = |name: &str, text: String| {
        let expected = match Keypair::from_key_file(&text) {
            Ok(parsed) => {
                assert_eq!(parsed.author(), author, "{name}");
                "ok".to_owned()
            }
            Err(error) => variant_name(&error),
        };
        TextCase {
            name: name.to_owned(),
            text,
            expected,
        }
    };
    let other_did = Keypair::from_seed(&OTHER_SEED).author().to_did();
    let key_file_cases = vec![
        key_file_case("as_written", key_file.clone()),
        key_file_case(
            "comments_blank_lines_crlf_upper_case_hex_no_did",
            format!(
                "# a comment before the header\r\n\r\n  {SECRET_KEY_FILE_HEADER}  \r\n# another comment\r\nseed {}\r\n\r\n",
                seed_hex.to_uppercase()
            ),
        ),
        key_file_case(
            "did_after_seed",
            format!("{SECRET_KEY_FILE_HEADER}\n{seed_line}\n{did_line}\n"),
        ),
        key_file_case("missing_header", format!("{did_line}\n{seed_line}\n")),
        key_file_case(
            "other_header_version",
            format!("kith-secret-key-v2\n{seed_line}\n"),
        ),
        key_file_case(
            "seed_too_short",
            format!("{SECRET_KEY_FILE_HEADER}\nseed {}\n", &seed_hex[..62]),
        ),
        key_file_case(
            "seed_not_hex",
            format!("{SECRET_KEY_FILE_HEADER}\nseed {}zz\n", &seed_hex[..62]),
        ),
        key_file_case(
            "missing_seed",
            format!("{SECRET_KEY_FILE_HEADER}\n{did_line}\n"),
        ),
        key_file_case(
            "did_of_another_key",
            format!("{SECRET_KEY_FILE_HEADER}\ndid {other_did}\n{seed_line}\n"),
        ),
        key_file_case(
            "seed_twice",
            format!("{SECRET_KEY_FILE_HEADER}\n{seed_line}\n{seed_line}\n"),
        ),
        key_file_case(
            "unknown_line",
            format!("{SECRET_KEY_FILE_HEADER}\n{seed_line}\ncreated 2026-01-01\n"),
        ),
    ];

    let did_case = |name: &str, text: String| {
        let expected = match AuthorId::parse_did(&text) {
            Ok(_) => "ok".to_owned(),
            Err(error) => variant_name(&error),
        };
        TextCase {
            name: name.to_owned(),
            text,
            expected,
        }
    };
    let encode_did = |raw: &[u8]| format!("did:key:z{}", bs58::encode(raw).into_string());
    let mut weak = vec![0xed, 0x01, 0x01];
    weak.extend_from_slice(&[0; 31]);
    let mut secp = vec![0xe7, 0x01];
    secp.extend_from_slice(&[0x02; 33]);
    let mut not_on_curve = vec![0xed, 0x01];
    not_on_curve.extend_from_slice(&not_a_point());
    let mut y_not_reduced = vec![0xed, 0x01];
    y_not_reduced.extend_from_slice(&y_plus_p());
    let did_cases = vec![
        did_case("valid", did.clone()),
        did_case("other_method", "did:web:example.com".to_owned()),
        did_case("base64url_multibase", format!("did:key:u{}", &did[9..])),
        did_case("upper_case_method", did.replace("did:key:", "DID:KEY:")),
        did_case("not_base58", format!("{}0", &did[..did.len() - 1])),
        did_case("one_character_too_many", format!("{did}1")),
        did_case("empty_key", "did:key:z".to_owned()),
        did_case("secp256k1_multicodec", encode_did(&secp)),
        did_case("weak_key_identity_point", encode_did(&weak)),
        did_case("not_a_curve_point", encode_did(&not_on_curve)),
        did_case("y_not_reduced", encode_did(&y_not_reduced)),
    ];

    KeypairFile {
        description: "The author identity used by every vector: an ed25519 keypair from a fixed \
                      seed, its did:key text form and its secret-key file. key_file_cases and \
                      did_cases list texts with the result parsing must give (`ok` or the name \
                      of the error)."
            .to_owned(),
        seed_hex,
        public_key_hex: hex::encode(author.as_bytes()),
        multicodec_key_hex: hex::encode(multicodec),
        did,
        key_file,
        key_file_cases,
        did_cases,
    }
}

// ---------------------------------------------------------------------------------------
// feed.json

/// The signed entries of the example feed, in seq order.
pub(crate) struct Feed {
    pub(crate) entries: Vec<VerifiedEntry>,
}

fn other_author() -> AuthorId {
    Keypair::from_seed(&OTHER_SEED).author()
}

/// The bodies of the feed, in order: `(kind, body bytes)`. Entries may refer to earlier ids.
fn feed_body(seq: u64, ids: &[ContentId]) -> (&'static str, Vec<u8>) {
    let id = |n: usize| ids[n - 1];
    match seq {
        1 => (
            "post",
            Body::Post {
                text: "hello, kith".into(),
            }
            .encode(),
        ),
        2 => (
            "reply",
            Body::Reply {
                text: "replying to myself".into(),
                parent: id(1),
                root: id(1),
            }
            .encode(),
        ),
        3 => (
            "react",
            Body::React {
                target: id(2),
                reaction: "👍".into(),
            }
            .encode(),
        ),
        // A quote post with a field this version does not define (`lang`): it is kept.
        4 => (
            "repost",
            cbor::map(vec![
                ("target", Item::bytes(&id(1).to_bytes())),
                ("text", Item::text("my first post")),
                ("lang", Item::text("en")),
            ])
            .encode(),
        ),
        5 => (
            "edit",
            Body::Edit {
                target: id(1),
                text: "hello, kith!".into(),
            }
            .encode(),
        ),
        6 => (
            "follow",
            Body::Follow {
                subject: other_author(),
            }
            .encode(),
        ),
        7 => (
            "profile",
            Body::Profile {
                name: Some("Ada".into()),
                bio: Some("Writes the spec first.".into()),
                avatar: Some(ContentId::of(b"avatar image bytes")),
                username: None,
            }
            .encode(),
        ),
        // A kind this version does not know: valid because the name follows the rule and
        // the body is a canonical map.
        8 => (
            "poll",
            cbor::map(vec![
                ("question", Item::text("tea or coffee?")),
                (
                    "options",
                    Item::Array(vec![Item::text("tea"), Item::text("coffee")]),
                ),
                ("closes", Item::Uint(T0 + 86_400_000)),
            ])
            .encode(),
        ),
        9 => (
            "unfollow",
            Body::Unfollow {
                subject: other_author(),
            }
            .encode(),
        ),
        10 => (
            "delete",
            Body::Delete {
                target: id(4),
                target_seq: 4,
                target_prev: Some(id(3)),
            }
            .encode(),
        ),
        _ => unreachable!("the feed has 10 entries"),
    }
}

pub(crate) fn ts_of(seq: u64) -> u64 {
    T0 + (seq - 1) * STEP
}

pub(crate) fn build_feed() -> Feed {
    let kp = keypair();
    let mut entries: Vec<VerifiedEntry> = Vec::new();
    for seq in 1..=10 {
        let ids: Vec<ContentId> = entries.iter().map(|e| e.id()).collect();
        let (kind, body) = feed_body(seq, &ids);
        let head = entries.last().map(|e| (e.seq(), e.id()));
        let entry = sign_entry(&kp, &Draft::after(head, ts_of(seq), kind, &body))
            .expect("the example entries are valid");
        entries.push(entry);
    }
    Feed { entries }
}

fn diag_of(bytes: &[u8]) -> String {
    cbor::diag(&cbor::parse(bytes).expect("canonical CBOR parses"))
}

fn signed_message(domain: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut message = domain.to_vec();
    message.extend_from_slice(payload);
    message
}

fn entry_vector(entry: &VerifiedEntry) -> EntryVector {
    EntryVector {
        seq: entry.seq(),
        kind: entry.kind().as_str().to_owned(),
        ts: entry.ts(),
        prev: entry.prev().map(|p| p.to_string()),
        body_diag: diag_of(entry.body_bytes()),
        body_hex: hex::encode(entry.body_bytes()),
        payload_diag: diag_of(entry.payload_bytes()),
        payload_hex: hex::encode(entry.payload_bytes()),
        signed_message_hex: hex::encode(signed_message(
            ENTRY_SIGNATURE_DOMAIN,
            entry.payload_bytes(),
        )),
        signature_hex: hex::encode(entry.signature()),
        envelope_hex: hex::encode(entry.bytes()),
        id: entry.id().to_string(),
        id_hex: hex::encode(entry.id().to_bytes()),
    }
}

/// The two conflicting entries used by the fork-proof vectors: another entry 10 (same seq,
/// different id) and an entry 10 whose `prev` skips entry 9.
pub(crate) fn fork_entries(feed: &Feed) -> (VerifiedEntry, VerifiedEntry) {
    let kp = keypair();
    let e8 = &feed.entries[7];
    let e9 = &feed.entries[8];
    let body = Body::Post {
        text: "a different tenth entry".into(),
    }
    .encode();
    let same_seq = sign_entry(
        &kp,
        &Draft::after(Some((e9.seq(), e9.id())), ts_of(10), "post", &body),
    )
    .expect("valid entry");
    let body = Body::Post {
        text: "a tenth entry that skips the ninth".into(),
    }
    .encode();
    let broken = sign_entry(
        &kp,
        &Draft {
            seq: 10,
            prev: Some(e8.id()),
            ts: ts_of(10),
            kind: "post",
            body: &body,
        },
    )
    .expect("valid entry");
    (same_seq, broken)
}

fn feed_file(feed: &Feed) -> FeedFile {
    let author = keypair().author();
    let (same_seq, broken) = fork_entries(feed);
    let e9 = &feed.entries[8];
    let e10 = &feed.entries[9];
    let proof_vector = |name: &str, description: &str, a: &VerifiedEntry, b: &VerifiedEntry| {
        let proof = ForkProof::new(a.clone(), b.clone()).expect("the entries conflict");
        let (first, second) = proof.entries();
        ForkProofVector {
            name: name.to_owned(),
            description: description.to_owned(),
            conflicting_entry_hex: hex::encode(b.bytes()),
            conflicting_entry_id: b.id().to_string(),
            a_id: first.id().to_string(),
            b_id: second.id().to_string(),
            fork_seq: proof.seq(),
            proof_hex: hex::encode(proof.encode()),
        }
    };
    FeedFile {
        description: "A feed of 10 valid entries by the author of keypair.json, one of each kind \
                      plus a `poll` (a kind this version does not know) and a quote repost with \
                      an unknown body field `lang`. Each entry verifies with validate(envelope, \
                      now_ms). signed_message = signature domain tag || payload. id = CIDv1(cbor, \
                      sha2-256(envelope)). fork_proofs: {a, b} proofs built from a feed entry and \
                      a conflicting entry signed by the same key."
            .to_owned(),
        author_did: author.to_did(),
        public_key_hex: hex::encode(author.as_bytes()),
        seed_hex: hex::encode(SEED),
        signature_domain_hex: hex::encode(ENTRY_SIGNATURE_DOMAIN),
        now_ms: NOW_MS,
        entries: feed.entries.iter().map(entry_vector).collect(),
        fork_proofs: vec![
            proof_vector(
                "same_seq",
                "Feed entry 10 and another entry 10 (same author and seq, different id). \
                 `a` is the entry with the lower (seq, id) in bytewise order of the digest.",
                e10,
                &same_seq,
            ),
            proof_vector(
                "broken_link",
                "Feed entry 9 and an entry 10 whose prev is entry 8's id instead of entry 9's. \
                 `a` is the lower seq.",
                e9,
                &broken,
            ),
        ],
    }
}

// ---------------------------------------------------------------------------------------
// head.json

pub(crate) fn head_unsigned(author: &[u8], seq: u64, id: &[u8], ts: u64) -> Item {
    cbor::map(vec![
        ("author", Item::bytes(author)),
        ("seq", Item::Uint(seq)),
        ("id", Item::bytes(id)),
        ("ts", Item::Uint(ts)),
    ])
}

fn head_file(feed: &Feed) -> HeadFile {
    let kp = keypair();
    let last = feed.entries.last().expect("the feed has entries");
    let head = FeedHead::sign(&kp, last.seq(), last.id(), HEAD_TS);
    let value = head.encode();
    let author = kp.author();
    let unsigned = head_unsigned(
        author.as_bytes(),
        last.seq(),
        &last.id().to_bytes(),
        HEAD_TS,
    );
    let signed = signed_message(HEAD_SIGNATURE_DOMAIN, &unsigned.encode());
    let sig = dalek(&SEED).sign(&signed).to_bytes();
    HeadFile {
        description: "The signed head record of the feed in feed.json (its entry 10), as stored \
                      on the DHT: key = HEAD_KEY_PREFIX || 32 public-key bytes, value = canonical \
                      CBOR {id, ts, seq, sig, author}. The signature covers the head signature \
                      domain tag || canonical CBOR {id, ts, seq, author}. Validate with \
                      FeedHead::validate_record(key, value, now_ms)."
            .to_owned(),
        author_did: author.to_did(),
        seq: last.seq(),
        id: last.id().to_string(),
        id_hex: hex::encode(last.id().to_bytes()),
        ts: HEAD_TS,
        now_ms: NOW_MS,
        key_prefix_hex: hex::encode(HEAD_KEY_PREFIX),
        key_hex: hex::encode(head_key(&author)),
        signature_domain_hex: hex::encode(HEAD_SIGNATURE_DOMAIN),
        unsigned_diag: cbor::diag(&unsigned),
        signed_message_hex: hex::encode(&signed),
        sig_hex: hex::encode(sig),
        value_diag: diag_of(&value),
        value_hex: hex::encode(&value),
    }
}

// ---------------------------------------------------------------------------------------
// invalid.json

/// The fields of a payload in canonical order; tests change values, order or add fields.
pub(crate) fn payload_fields(
    seq: u64,
    prev: Option<ContentId>,
    ts: u64,
    kind: &str,
    body: Item,
) -> Vec<(Item, Item)> {
    let author = keypair().author();
    vec![
        (Item::text("v"), Item::Uint(PROTOCOL_VERSION)),
        (Item::text("ts"), Item::Uint(ts)),
        (Item::text("seq"), Item::Uint(seq)),
        (Item::text("body"), body),
        (Item::text("kind"), Item::text(kind)),
        (
            Item::text("prev"),
            prev.map_or(Item::Null, |p| Item::bytes(&p.to_bytes())),
        ),
        (Item::text("author"), Item::bytes(author.as_bytes())),
    ]
}

/// Replaces the value of field `key`.
pub(crate) fn set(fields: &mut [(Item, Item)], key: &str, value: Item) {
    let slot = fields
        .iter_mut()
        .find(|(k, _)| *k == Item::text(key))
        .expect("the field exists");
    slot.1 = value;
}

/// The envelope `{sig, payload}` (canonical) with `payload` signed by `seed` under the entry
/// domain tag.
pub(crate) fn envelope_signed_by(seed: &[u8; 32], payload: &[u8]) -> Vec<u8> {
    let sig = dalek(seed)
        .sign(&signed_message(ENTRY_SIGNATURE_DOMAIN, payload))
        .to_bytes();
    envelope(&sig, payload)
}

/// The canonical envelope of a signature and payload.
pub(crate) fn envelope(sig: &[u8], payload: &[u8]) -> Vec<u8> {
    Item::Map(vec![
        (Item::text("sig"), Item::bytes(sig)),
        (Item::text("payload"), Item::bytes(payload)),
    ])
    .encode()
}

/// Payload map → envelope signed by the author, so only the stated defect is wrong.
fn signed(fields: Vec<(Item, Item)>) -> Vec<u8> {
    envelope_signed_by(&SEED, &Item::Map(fields).encode())
}

fn post_body(text: &str) -> Item {
    cbor::map(vec![("text", Item::text(text))])
}

/// The base case: seq 1, a post, at T0 (the feed's first entry).
fn base() -> Vec<(Item, Item)> {
    payload_fields(1, None, T0, "post", post_body("hello, kith"))
}

/// The base case at seq 2 after the feed's first entry.
fn base_seq2(feed: &Feed) -> Vec<(Item, Item)> {
    payload_fields(
        2,
        Some(feed.entries[0].id()),
        ts_of(2),
        "post",
        post_body("second"),
    )
}

/// An entry of the unknown kind `padding` whose body is `{pad: bytes(pad)}`.
pub(crate) fn padded_entry(pad: usize) -> Vec<u8> {
    signed(payload_fields(
        1,
        None,
        T0,
        "padding",
        cbor::map(vec![("pad", Item::Bytes(vec![0; pad]))]),
    ))
}

/// The pad length for which [`padded_entry`] is exactly one byte over the limit.
pub(crate) fn oversize_pad() -> usize {
    let overhead = padded_entry(0).len();
    let guess = MAX_ENVELOPE_BYTES + 1 - overhead;
    (guess.saturating_sub(16)..guess + 16)
        .find(|pad| padded_entry(*pad).len() == MAX_ENVELOPE_BYTES + 1)
        .expect("some pad length gives exactly the limit + 1")
}

/// An entry of the unknown kind `nested` whose body holds `arrays` nested arrays. The
/// payload map and the body map are two levels, so `arrays = MAX_CBOR_DEPTH - 2` is the
/// deepest valid entry.
pub(crate) fn nested_entry(arrays: usize) -> Vec<u8> {
    let mut value = Item::Uint(0);
    for _ in 0..arrays {
        value = Item::Array(vec![value]);
    }
    signed(payload_fields(
        1,
        None,
        T0,
        "nested",
        cbor::map(vec![("deep", value)]),
    ))
}

fn body_with(extra_key: &str, raw: Vec<u8>) -> Item {
    cbor::map(vec![
        ("text", Item::text("hello")),
        (extra_key, Item::Raw(raw)),
    ])
}

fn invalid_file(feed: &Feed) -> InvalidFile {
    let e1 = &feed.entries[0];
    let other_seed = OTHER_SEED;
    let mut cases: Vec<InvalidCase> = Vec::new();
    let mut entry = |name: &str, description: &str, now_ms: u64, code: &str, bytes: Vec<u8>| {
        cases.push(InvalidCase {
            name: name.to_owned(),
            target: "entry".to_owned(),
            description: description.to_owned(),
            now_ms,
            key_hex: None,
            expected_code: code.to_owned(),
            hex: hex::encode(bytes),
        });
    };

    // The base payload is byte for byte the feed's first entry.
    assert_eq!(Item::Map(base()).encode(), e1.payload_bytes());

    // --- signatures
    let mut flipped = e1.bytes().to_vec();
    // Envelope: a2, 63 "sig", 58 40, then R (32 bytes) and S (32 bytes).
    let s_at = 1 + 4 + 2 + 32;
    assert_eq!(&flipped[s_at - 32..s_at + 32], e1.signature());
    flipped[s_at] ^= 0x01;
    entry(
        "signature_bit_flipped",
        "Feed entry 1 with the lowest bit of the first byte of S flipped.",
        NOW_MS,
        "bad_signature",
        flipped,
    );
    entry(
        "signature_by_another_key",
        "Feed entry 1's payload signed (with the right domain tag) by the key of seed \
         0x21..0x40 instead of the author's.",
        NOW_MS,
        "bad_signature",
        envelope_signed_by(&other_seed, e1.payload_bytes()),
    );
    let sig = dalek(&SEED).sign(e1.payload_bytes()).to_bytes();
    entry(
        "signature_without_domain_tag",
        "Feed entry 1's payload signed by the author over the payload bytes alone, without \
         the domain tag.",
        NOW_MS,
        "bad_signature",
        envelope(&sig, e1.payload_bytes()),
    );
    // S + L: the same signature with a non-reduced scalar (malleability).
    let mut malleable = *e1.signature();
    add_group_order(&mut malleable[32..]);
    entry(
        "signature_s_not_reduced",
        "Feed entry 1 with S replaced by S + L (L = 2^252 + 27742317777372353535851937790883648493, \
         the group order): the same signature in non-reduced form. Strict verification \
         requires S < L.",
        NOW_MS,
        "bad_signature",
        envelope(&malleable, e1.payload_bytes()),
    );
    let mut small_r = *e1.signature();
    small_r[..32].copy_from_slice(&identity_point());
    entry(
        "signature_r_small_order",
        "Feed entry 1 with R replaced by the identity point (0x01 then 31 zero bytes), a \
         point of small order.",
        NOW_MS,
        "bad_signature",
        envelope(&small_r, e1.payload_bytes()),
    );

    // --- size
    let pad = oversize_pad();
    let oversized = padded_entry(pad);
    assert_eq!(oversized.len(), MAX_ENVELOPE_BYTES + 1);
    entry(
        "envelope_too_large",
        &format!(
            "A correctly signed entry of kind `padding` whose body is {{\"pad\": h'00…'}} with \
             {pad} zero bytes, making the envelope 65537 bytes, one over the limit. The same \
             construction with {} zero bytes is 65536 bytes and valid.",
            pad - 1
        ),
        NOW_MS,
        "too_large",
        oversized,
    );

    // --- canonical form
    let mut trailing = e1.bytes().to_vec();
    trailing.push(0x00);
    entry(
        "trailing_byte",
        "Feed entry 1 followed by one 0x00 byte.",
        NOW_MS,
        "non_canonical",
        trailing,
    );
    let mut fields = base();
    set(&mut fields, "seq", Item::Raw(vec![0x18, 0x01]));
    entry(
        "non_minimal_integer",
        "Payload with seq 1 written as 0x18 0x01 (one-byte argument) instead of 0x01; \
         re-signed by the author.",
        NOW_MS,
        "non_canonical",
        signed(fields),
    );
    let mut fields = base();
    let mut kind = vec![0x78, 0x04];
    kind.extend_from_slice(b"post");
    set(&mut fields, "kind", Item::Raw(kind));
    entry(
        "non_minimal_length",
        "Payload with the kind text \"post\" written with a one-byte length (0x78 0x04) \
         instead of 0x64; re-signed by the author.",
        NOW_MS,
        "non_canonical",
        signed(fields),
    );
    let mut env = vec![0xbf];
    env.extend_from_slice(&e1.bytes()[1..]);
    env.push(0xff);
    entry(
        "indefinite_length_envelope",
        "Feed entry 1 with the envelope map written with indefinite length (0xbf … 0xff).",
        NOW_MS,
        "non_canonical",
        env,
    );
    let mut fields = base();
    let mut body = vec![0xbf];
    body.extend_from_slice(&post_body("hello, kith").encode()[1..]);
    body.push(0xff);
    set(&mut fields, "body", Item::Raw(body));
    entry(
        "indefinite_length_body",
        "Payload whose body map is written with indefinite length (0xbf … 0xff); re-signed by \
         the author.",
        NOW_MS,
        "non_canonical",
        signed(fields),
    );
    let mut fields = base();
    let mut text = vec![0x7f];
    text.extend(Item::text("hello, kith").encode());
    text.push(0xff);
    set(
        &mut fields,
        "body",
        Item::Map(vec![(Item::text("text"), Item::Raw(text))]),
    );
    entry(
        "indefinite_length_text",
        "Payload whose post text is an indefinite-length text string of one chunk \
         (0x7f 0x6b … 0xff); re-signed by the author.",
        NOW_MS,
        "non_canonical",
        signed(fields),
    );
    let mut fields = base();
    fields.swap(1, 2);
    entry(
        "unsorted_payload_keys",
        "Payload with `seq` written before `ts` (canonical order is v, ts, seq, body, kind, \
         prev, author); re-signed by the author.",
        NOW_MS,
        "non_canonical",
        signed(fields),
    );
    let payload = e1.payload_bytes();
    entry(
        "unsorted_envelope_keys",
        "Feed entry 1 with the envelope written {payload, sig} instead of {sig, payload}.",
        NOW_MS,
        "non_canonical",
        Item::Map(vec![
            (Item::text("payload"), Item::bytes(payload)),
            (Item::text("sig"), Item::bytes(e1.signature())),
        ])
        .encode(),
    );
    let mut fields = base();
    set(
        &mut fields,
        "body",
        Item::Map(vec![
            (Item::text("text"), Item::text("hello")),
            (Item::text("text"), Item::text("goodbye")),
        ]),
    );
    entry(
        "duplicate_key",
        "Payload whose post body has the key `text` twice; re-signed by the author.",
        NOW_MS,
        "non_canonical",
        signed(fields),
    );

    // --- structure
    let mut fields = base();
    fields.insert(1, (Item::text("x"), Item::Uint(1)));
    entry(
        "unknown_payload_field",
        "Payload with an extra field \"x\": 1 (in canonical position, after `v`); re-signed by \
         the author. The payload is a closed structure.",
        NOW_MS,
        "malformed",
        signed(fields),
    );
    entry(
        "unknown_envelope_field",
        "Feed entry 1 with an extra envelope field \"x\": 0 (canonical position: first).",
        NOW_MS,
        "malformed",
        Item::Map(vec![
            (Item::text("x"), Item::Uint(0)),
            (Item::text("sig"), Item::bytes(e1.signature())),
            (Item::text("payload"), Item::bytes(payload)),
        ])
        .encode(),
    );
    let mut fields = base();
    fields.remove(1);
    entry(
        "missing_ts",
        "Payload without the `ts` field; re-signed by the author.",
        NOW_MS,
        "malformed",
        signed(fields),
    );
    entry(
        "signature_63_bytes",
        "Feed entry 1 with the last byte of the signature cut off (sig is 63 bytes).",
        NOW_MS,
        "malformed",
        envelope(&e1.signature()[..63], payload),
    );
    entry(
        "payload_not_a_byte_string",
        "An envelope whose payload is the payload map itself rather than a byte string \
         holding it.",
        NOW_MS,
        "malformed",
        Item::Map(vec![
            (Item::text("sig"), Item::bytes(e1.signature())),
            (Item::text("payload"), Item::Raw(payload.to_vec())),
        ])
        .encode(),
    );
    let truncated = e1.bytes()[..e1.bytes().len() - 1].to_vec();
    entry(
        "truncated",
        "Feed entry 1 without its last byte.",
        NOW_MS,
        "malformed",
        truncated,
    );
    entry(
        "empty_input",
        "Zero bytes.",
        NOW_MS,
        "malformed",
        Vec::new(),
    );
    let mut fields = base();
    set(&mut fields, "body", Item::text("hello, kith"));
    entry(
        "body_not_a_map",
        "A post whose body is the text \"hello, kith\" instead of a map; re-signed by the \
         author.",
        NOW_MS,
        "malformed",
        signed(fields),
    );
    let mut fields = base();
    set(
        &mut fields,
        "body",
        body_with("when", vec![0xc1, 0x1a, 0x69, 0x55, 0xb9, 0x00]),
    );
    entry(
        "tag_in_body",
        "A post body with an extra field \"when\": 1(1767225600), a CBOR tag (0xc1); re-signed \
         by the author. Tags are outside the canonical subset.",
        NOW_MS,
        "malformed",
        signed(fields),
    );
    let mut fields = base();
    let mut float = vec![0xfb];
    float.extend_from_slice(&1.5f64.to_bits().to_be_bytes());
    set(&mut fields, "body", body_with("score", float));
    entry(
        "float_in_body",
        "A post body with an extra field \"score\": 1.5 as a 64-bit float (0xfb \
         3ff8000000000000); re-signed by the author. Floats are outside the canonical subset.",
        NOW_MS,
        "malformed",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "body", body_with("maybe", vec![0xf7]));
    entry(
        "undefined_in_body",
        "A post body with an extra field \"maybe\": undefined (0xf7); re-signed by the author. \
         Only false, true and null are allowed simple values.",
        NOW_MS,
        "malformed",
        signed(fields),
    );
    let mut fields = base();
    set(
        &mut fields,
        "body",
        Item::Map(vec![(Item::Uint(1), Item::text("hello"))]),
    );
    entry(
        "integer_map_key",
        "A body map {1: \"hello\"} with an integer key; re-signed by the author. Map keys must \
         be text.",
        NOW_MS,
        "malformed",
        signed(fields),
    );
    let mut fields = base();
    let bad_text = vec![0x62, 0xc3, 0x28];
    set(
        &mut fields,
        "body",
        Item::Map(vec![(Item::text("text"), Item::Raw(bad_text))]),
    );
    entry(
        "invalid_utf8",
        "A post whose text is the two bytes c3 28 (not UTF-8); re-signed by the author.",
        NOW_MS,
        "malformed",
        signed(fields),
    );
    entry(
        "nesting_too_deep",
        &format!(
            "An entry of kind `nested` whose body is {{\"deep\": [[…[0]…]]}} with {} nested \
             arrays: with the payload map and the body map that is {} nested containers, one \
             more than the limit of {MAX_CBOR_DEPTH}. With {} arrays it is valid.",
            MAX_CBOR_DEPTH - 1,
            MAX_CBOR_DEPTH + 1,
            MAX_CBOR_DEPTH - 2
        ),
        NOW_MS,
        "malformed",
        nested_entry(MAX_CBOR_DEPTH - 1),
    );

    // --- payload fields
    let mut fields = base();
    set(&mut fields, "v", Item::Uint(2));
    entry(
        "version_2",
        "Payload with v = 2; re-signed by the author.",
        NOW_MS,
        "unsupported_version",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "author", Item::bytes(&identity_point()));
    entry(
        "weak_author_key",
        "Payload whose author is the identity point (0x01 then 31 zero bytes), a small-order \
         key; signed by the real author (the key is refused before any signature check).",
        NOW_MS,
        "bad_author",
        signed(fields),
    );
    let mut fields = base();
    set(
        &mut fields,
        "author",
        Item::bytes(&keypair().author().as_bytes()[..31]),
    );
    entry(
        "author_31_bytes",
        "Payload whose author is the first 31 bytes of the author's key; re-signed by the \
         author.",
        NOW_MS,
        "bad_author",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "author", Item::bytes(&not_a_point()));
    entry(
        "author_not_a_curve_point",
        "Payload whose author is 0x02 followed by 31 zero bytes (y = 2 is not the y-coordinate \
         of a curve point); re-signed by the author. The reference finds this when verifying, \
         after the timestamp check.",
        NOW_MS,
        "bad_author",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "author", Item::bytes(&y_plus_p()));
    entry(
        "author_y_not_reduced",
        "Payload whose author is f0 ff…ff 7f: y = 3 + p, a non-canonical encoding of a curve \
         point (y = 3) that curve25519-dalek would accept; re-signed by the author. Refused \
         when decoding (§3.2).",
        NOW_MS,
        "bad_author",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "seq", Item::Uint(0));
    entry(
        "seq_zero",
        "Payload with seq 0 (and prev null); re-signed by the author.",
        NOW_MS,
        "bad_seq",
        signed(fields),
    );
    let mut fields = base_seq2(feed);
    set(&mut fields, "seq", Item::Uint(MAX_SEQ + 1));
    entry(
        "seq_too_large",
        "Payload with seq 2^53 (one over the limit) and a prev; re-signed by the author.",
        NOW_MS,
        "bad_seq",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "prev", Item::bytes(&e1.id().to_bytes()));
    entry(
        "prev_present_at_seq_1",
        "Payload with seq 1 and prev = the id of feed entry 1; re-signed by the author.",
        NOW_MS,
        "prev_rule",
        signed(fields),
    );
    let mut fields = base_seq2(feed);
    set(&mut fields, "prev", Item::Null);
    entry(
        "prev_null_at_seq_2",
        "Payload with seq 2 and prev null; re-signed by the author.",
        NOW_MS,
        "prev_rule",
        signed(fields),
    );
    let mut fields = base_seq2(feed);
    let mut dag_cbor = e1.id().to_bytes();
    dag_cbor[1] = 0x71;
    set(&mut fields, "prev", Item::bytes(&dag_cbor));
    entry(
        "prev_wrong_cid_codec",
        "Payload at seq 2 whose prev is entry 1's id with codec 0x71 (dag-cbor) instead of \
         0x51 (cbor); re-signed by the author.",
        NOW_MS,
        "bad_prev",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "ts", Item::Uint(MAX_TIMESTAMP_MS + 1));
    entry(
        "timestamp_out_of_range",
        "Payload with ts = 2^53, one over the largest timestamp; re-signed by the author. \
         Refused whatever the clock says.",
        NOW_MS,
        "bad_timestamp",
        signed(fields),
    );
    let mut fields = base();
    set(
        &mut fields,
        "ts",
        Item::Uint(NOW_MS + MAX_FUTURE_SKEW_MS + 1),
    );
    entry(
        "timestamp_in_the_future",
        "Payload with ts = now_ms + 600001, one millisecond beyond the allowed clock skew; \
         re-signed by the author. With now_ms + 1 it is valid.",
        NOW_MS,
        "from_the_future",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "kind", Item::text("Post"));
    entry(
        "kind_upper_case",
        "Payload with kind \"Post\"; re-signed by the author. Kind names are lower case.",
        NOW_MS,
        "bad_kind",
        signed(fields),
    );
    let mut fields = base();
    let long_kind = "k".repeat(MAX_KIND_BYTES + 1);
    set(&mut fields, "kind", Item::text(&long_kind));
    entry(
        "kind_too_long",
        "Payload with a kind of 33 letters `k`; re-signed by the author.",
        NOW_MS,
        "bad_kind",
        signed(fields),
    );

    // --- bodies
    let mut fields = base();
    set(&mut fields, "body", post_body(""));
    entry(
        "post_empty_text",
        "A post with text \"\"; re-signed by the author. Text must be 1 to 16384 bytes.",
        NOW_MS,
        "bad_body",
        signed(fields),
    );
    let mut fields = base();
    set(
        &mut fields,
        "body",
        post_body(&"a".repeat(MAX_TEXT_BYTES + 1)),
    );
    entry(
        "post_text_too_long",
        "A post whose text is 16385 letters `a`; re-signed by the author.",
        NOW_MS,
        "bad_body",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "kind", Item::text("reply"));
    set(
        &mut fields,
        "body",
        cbor::map(vec![
            ("text", Item::text("hi")),
            ("parent", Item::bytes(&e1.id().to_bytes()[..35])),
            ("root", Item::bytes(&e1.id().to_bytes())),
        ]),
    );
    entry(
        "reply_parent_35_bytes",
        "A reply whose parent is a 35-byte string (entry 1's id without its last byte); \
         re-signed by the author.",
        NOW_MS,
        "bad_body",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "kind", Item::text("follow"));
    set(
        &mut fields,
        "body",
        cbor::map(vec![("subject", Item::bytes(&identity_point()))]),
    );
    let mut y_fields = fields.clone();
    set(
        &mut y_fields,
        "body",
        cbor::map(vec![("subject", Item::bytes(&y_plus_p()))]),
    );
    entry(
        "follow_subject_y_not_reduced",
        "A follow whose subject is f0 ff…ff 7f (y = 3 + p, non-canonical); re-signed by the \
         author.",
        NOW_MS,
        "bad_body",
        signed(y_fields),
    );
    entry(
        "follow_weak_subject",
        "A follow whose subject is the identity point (a small-order key); re-signed by the \
         author.",
        NOW_MS,
        "bad_body",
        signed(fields),
    );
    let mut fields = base();
    set(&mut fields, "kind", Item::text("react"));
    set(
        &mut fields,
        "body",
        cbor::map(vec![("target", Item::bytes(&e1.id().to_bytes()))]),
    );
    entry(
        "react_missing_reaction",
        "A react body without its `reaction` field; re-signed by the author.",
        NOW_MS,
        "bad_body",
        signed(fields),
    );

    // --- heads
    let kp = keypair();
    let author = kp.author();
    let key = head_key(&author);
    let last = feed.entries.last().expect("the feed has entries");
    let id = last.id().to_bytes();
    let head_value = |author_bytes: &[u8], seq: u64, id: &[u8], ts: u64, sig: &[u8]| {
        cbor::map(vec![
            ("author", Item::bytes(author_bytes)),
            ("seq", Item::Uint(seq)),
            ("id", Item::bytes(id)),
            ("ts", Item::Uint(ts)),
            ("sig", Item::bytes(sig)),
        ])
    };
    let head_sig = |domain: &[u8], seq: u64, id: &[u8], ts: u64| {
        let unsigned = head_unsigned(author.as_bytes(), seq, id, ts).encode();
        dalek(&SEED)
            .sign(&signed_message(domain, &unsigned))
            .to_bytes()
    };
    let mut head = |name: &str, description: &str, key: &[u8], code: &str, value: Vec<u8>| {
        cases.push(InvalidCase {
            name: name.to_owned(),
            target: "head".to_owned(),
            description: description.to_owned(),
            now_ms: NOW_MS,
            key_hex: Some(hex::encode(key)),
            expected_code: code.to_owned(),
            hex: hex::encode(value),
        });
    };
    let good_sig = head_sig(HEAD_SIGNATURE_DOMAIN, 10, &id, HEAD_TS);
    head(
        "head_seq_changed",
        "The head of head.json with seq 11 instead of 10 and the signature kept.",
        &key,
        "BadSignature",
        head_value(author.as_bytes(), 11, &id, HEAD_TS, &good_sig).encode(),
    );
    head(
        "head_signed_with_entry_domain",
        "The head of head.json signed with the entry domain tag instead of the head domain tag.",
        &key,
        "BadSignature",
        head_value(
            author.as_bytes(),
            10,
            &id,
            HEAD_TS,
            &head_sig(ENTRY_SIGNATURE_DOMAIN, 10, &id, HEAD_TS),
        )
        .encode(),
    );
    head(
        "head_under_another_key",
        "The valid head of head.json stored under the head key of another author (seed \
         0x21..0x40).",
        &head_key(&other_author()),
        "WrongKey",
        head_value(author.as_bytes(), 10, &id, HEAD_TS, &good_sig).encode(),
    );
    let future = NOW_MS + MAX_FUTURE_SKEW_MS + 1;
    head(
        "head_from_the_future",
        "A correctly signed head with ts = now_ms + 600001.",
        &key,
        "BadTimestamp",
        head_value(
            author.as_bytes(),
            10,
            &id,
            future,
            &head_sig(HEAD_SIGNATURE_DOMAIN, 10, &id, future),
        )
        .encode(),
    );
    head(
        "head_seq_zero",
        "A correctly signed head with seq 0.",
        &key,
        "BadSeq",
        head_value(
            author.as_bytes(),
            0,
            &id,
            HEAD_TS,
            &head_sig(HEAD_SIGNATURE_DOMAIN, 0, &id, HEAD_TS),
        )
        .encode(),
    );
    let mut dag_cbor = id;
    dag_cbor[1] = 0x71;
    head(
        "head_id_wrong_codec",
        "A correctly signed head whose id has codec 0x71 (dag-cbor).",
        &key,
        "BadId",
        head_value(
            author.as_bytes(),
            10,
            &dag_cbor,
            HEAD_TS,
            &head_sig(HEAD_SIGNATURE_DOMAIN, 10, &dag_cbor, HEAD_TS),
        )
        .encode(),
    );
    for (name, description, bad_author) in [
        (
            "head_author_not_a_curve_point",
            "A head whose author is 0x02 followed by 31 zero bytes (not a curve point), signed \
             by the real author and stored under the key made of those bytes.",
            not_a_point(),
        ),
        (
            "head_weak_author",
            "A head whose author is the identity point (a small-order key), signed by the real \
             author and stored under the key made of those bytes.",
            identity_point(),
        ),
    ] {
        let unsigned = head_unsigned(&bad_author, 10, &id, HEAD_TS).encode();
        let sig = dalek(&SEED)
            .sign(&signed_message(HEAD_SIGNATURE_DOMAIN, &unsigned))
            .to_bytes();
        head(
            name,
            description,
            &[HEAD_KEY_PREFIX, &bad_author].concat(),
            "BadAuthor",
            head_value(&bad_author, 10, &id, HEAD_TS, &sig).encode(),
        );
    }
    let Item::Map(mut unsorted) = head_value(author.as_bytes(), 10, &id, HEAD_TS, &good_sig) else {
        unreachable!("a map")
    };
    unsorted.swap(0, 1);
    head(
        "head_unsorted_keys",
        "The head of head.json with `ts` written before `id`.",
        &key,
        "Malformed",
        Item::Map(unsorted).encode(),
    );
    let Item::Map(mut extra) = head_value(author.as_bytes(), 10, &id, HEAD_TS, &good_sig) else {
        unreachable!("a map")
    };
    extra.insert(0, (Item::text("x"), Item::Uint(0)));
    head(
        "head_unknown_field",
        "The head of head.json with an extra field \"x\": 0.",
        &key,
        "Malformed",
        Item::Map(extra).encode(),
    );
    let Item::Map(mut padded) = head_value(author.as_bytes(), 10, &id, HEAD_TS, &good_sig) else {
        unreachable!("a map")
    };
    padded.insert(0, (Item::text("x"), Item::Bytes(vec![0; MAX_HEAD_BYTES])));
    head(
        "head_too_large",
        "The head of head.json with an extra field \"x\" holding 512 zero bytes, making it \
         larger than the 512-byte limit.",
        &key,
        "TooLarge",
        Item::Map(padded).encode(),
    );

    InvalidFile {
        description: "Inputs that must be refused. target `entry`: validate(hex, now_ms) must \
                      fail with expected_code (EntryError::code). target `head`: \
                      FeedHead::validate_record(key_hex, hex, now_ms) must fail with the \
                      HeadError variant named by expected_code. Unless the description says \
                      otherwise, the payload is signed by the author of keypair.json under the \
                      entry domain tag, so the stated defect is the only one."
            .to_owned(),
        cases,
    }
}

/// The compressed identity point: y = 1, x = 0.
fn identity_point() -> [u8; 32] {
    let mut point = [0u8; 32];
    point[0] = 1;
    point
}

/// 0x02 then 31 zero bytes: y = 2 is not the y-coordinate of any curve point.
fn not_a_point() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[0] = 2;
    bytes
}

/// Adds the ed25519 group order L to a 32-byte little-endian scalar.
fn add_group_order(scalar: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10,
    ];
    let mut carry = 0u16;
    for (byte, l) in scalar.iter_mut().zip(L) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + L fits 256 bits");
}

/// Checks the helpers agree with the reference encoder (used by the conformance test).
pub(crate) fn self_check() {
    let feed = build_feed();
    for entry in &feed.entries {
        check_canonical(entry.bytes()).expect("canonical");
        let parsed = cbor::parse(entry.payload_bytes()).expect("parses");
        assert_eq!(parsed.encode(), entry.payload_bytes());
    }
    assert_eq!(CID_PREFIX, [0x01, 0x51, 0x12, 0x20]);
}

/// `f0 ff … ff 7f`: y = 3 + p, which reduces to y = 3, a valid point that only a lenient
/// decoder accepts.
fn y_plus_p() -> [u8; 32] {
    let mut bytes = [0xffu8; 32];
    bytes[0] = 0xed + 3;
    bytes[31] = 0x7f;
    bytes
}

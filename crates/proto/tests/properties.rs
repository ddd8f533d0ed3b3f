//! Property tests of the wire format.
//!
//! * (a) any generated valid entry (random key, seq, prev, ts, kind, text, unknown kinds and
//!   unknown body fields) signs, decodes, verifies, and keeps its bytes exactly;
//! * (b) flipping any one byte of a valid envelope makes it invalid or gives it another id;
//! * (c) non-canonical re-encodings of a valid entry (non-minimal head, indefinite length,
//!   swapped map keys, trailing bytes) are refused as `non_canonical`;
//! * (d) `check_canonical`, `Entry::decode` and `validate` never panic on arbitrary bytes;
//! * (e) `FeedHead::decode` and `FeedHead::validate_record` never panic on arbitrary bytes.
//!
//! Case counts are modest so the suite runs in seconds.

mod support;

use ed25519_dalek::{Signer, SigningKey};
use kith_proto::cbor::check_canonical;
use kith_proto::entry::ENTRY_SIGNATURE_DOMAIN;
use kith_proto::limits::{
    MAX_BIO_BYTES, MAX_NAME_BYTES, MAX_REACTION_BYTES, MAX_SEQ, MAX_TEXT_BYTES, MAX_TIMESTAMP_MS,
};
use kith_proto::{
    Body, ContentId, Draft, Entry, FeedHead, Keypair, Kind, head_key, sign_entry, validate,
};
use proptest::prelude::*;
use proptest::sample::Index;

use support::cbor::{self, Item, head_with_info, minimal_info};

const CASES: u32 = 256;

/// A clock late enough that no generated timestamp is in the future.
const LATE: u64 = MAX_TIMESTAMP_MS;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Generators

/// A generated entry: everything needed to sign it and to check what decoding gives back.
#[derive(Debug, Clone)]
struct Spec {
    seed: [u8; 32],
    seq: u64,
    prev: Option<[u8; 32]>,
    ts: u64,
    kind: String,
    body: Item,
    /// The typed body decoding must give.
    expected: Body,
}

impl Spec {
    fn keypair(&self) -> Keypair {
        Keypair::from_seed(&self.seed)
    }

    fn body_bytes(&self) -> Vec<u8> {
        self.body.encode()
    }

    fn sign(&self) -> Vec<u8> {
        let body = self.body_bytes();
        let draft = Draft {
            seq: self.seq,
            prev: self.prev.map(ContentId::from_digest),
            ts: self.ts,
            kind: &self.kind,
            body: &body,
        };
        sign_entry(&self.keypair(), &draft)
            .unwrap_or_else(|error| panic!("a generated entry must sign: {error}\n{self:?}"))
            .bytes()
            .to_vec()
    }
}

/// Text of 1 to `max_chars` characters of any script (no control characters), or, for
/// the long texts, exactly at the byte limit sometimes.
fn text(max_chars: usize, max_bytes: usize) -> BoxedStrategy<String> {
    let short = proptest::string::string_regex(&format!("\\PC{{1,{max_chars}}}"))
        .expect("valid regex")
        .prop_filter("within the byte limit", move |t| t.len() <= max_bytes);
    prop_oneof![
        4 => short,
        1 => (1..=max_bytes).prop_map(|n| "é".repeat(n / 2) + &"x".repeat(n % 2)),
        1 => Just("x".repeat(max_bytes)),
    ]
    .boxed()
}

/// Values for unknown fields: scalars, and arrays and maps of them a few levels deep.
fn value() -> impl Strategy<Value = Item> {
    let leaf = prop_oneof![
        any::<u64>().prop_map(Item::Uint),
        any::<u64>().prop_map(Item::Nint),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Item::Bytes),
        "\\PC{0,20}".prop_map(Item::Text),
        Just(Item::False),
        Just(Item::True),
        Just(Item::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Item::Array),
            proptest::collection::btree_map("[a-z]{1,8}", inner, 0..4).prop_map(|fields| {
                cbor::map(
                    fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.clone()))
                        .collect(),
                )
            }),
        ]
    })
}

/// Unknown body fields: names start with `x-` so they never collide with defined fields.
fn extras() -> impl Strategy<Value = Vec<(String, Item)>> {
    proptest::collection::btree_map("x-[a-z0-9]{0,12}", value(), 0..4)
        .prop_map(|fields| fields.into_iter().collect())
}

fn cid_strategy() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

/// A kind and its body: every defined kind, and unknown kinds.
fn kind_and_body() -> impl Strategy<Value = (String, Vec<(String, Item)>, Body)> {
    let cid = |d: [u8; 32]| Item::Bytes(ContentId::from_digest(d).to_bytes().to_vec());
    let id = ContentId::from_digest;
    let subject = |seed: [u8; 32]| Keypair::from_seed(&seed).author();
    let f = |k: &str, v: Item| (k.to_owned(), v);
    prop_oneof![
        text(300, MAX_TEXT_BYTES).prop_map(move |t| (
            "post".into(),
            vec![f("text", Item::Text(t.clone()))],
            Body::Post { text: t }
        )),
        (text(300, MAX_TEXT_BYTES), cid_strategy(), cid_strategy()).prop_map(move |(t, p, r)| (
            "reply".into(),
            vec![
                f("text", Item::Text(t.clone())),
                f("parent", cid(p)),
                f("root", cid(r))
            ],
            Body::Reply {
                text: t,
                parent: id(p),
                root: id(r)
            }
        )),
        (
            cid_strategy(),
            proptest::option::of(text(300, MAX_TEXT_BYTES))
        )
            .prop_map(move |(target, t)| {
                let mut fields = vec![f("target", cid(target))];
                if let Some(t) = &t {
                    fields.push(f("text", Item::Text(t.clone())));
                }
                (
                    "repost".into(),
                    fields,
                    Body::Repost {
                        target: id(target),
                        text: t,
                    },
                )
            }),
        (cid_strategy(), text(16, MAX_REACTION_BYTES)).prop_map(move |(target, r)| (
            "react".into(),
            vec![
                f("target", cid(target)),
                f("reaction", Item::Text(r.clone()))
            ],
            Body::React {
                target: id(target),
                reaction: r
            }
        )),
        (cid_strategy(), text(300, MAX_TEXT_BYTES)).prop_map(move |(target, t)| (
            "edit".into(),
            vec![f("target", cid(target)), f("text", Item::Text(t.clone()))],
            Body::Edit {
                target: id(target),
                text: t
            }
        )),
        (
            cid_strategy(),
            1u64..kith_proto::limits::MAX_SEQ,
            cid_strategy()
        )
            .prop_map(move |(target, seq, prev)| {
                let (prev_item, prev_id) = if seq == 1 {
                    (Item::Null, None)
                } else {
                    (cid(prev), Some(id(prev)))
                };
                (
                    "delete".into(),
                    vec![
                        f("target", cid(target)),
                        f("target_seq", Item::Uint(seq)),
                        f("target_prev", prev_item),
                    ],
                    Body::Delete {
                        target: id(target),
                        target_seq: seq,
                        target_prev: prev_id,
                    },
                )
            }),
        (any::<[u8; 32]>(), any::<bool>()).prop_map(move |(seed, follow)| {
            let subject = subject(seed);
            let fields = vec![f("subject", Item::Bytes(subject.as_bytes().to_vec()))];
            if follow {
                ("follow".into(), fields, Body::Follow { subject })
            } else {
                ("unfollow".into(), fields, Body::Unfollow { subject })
            }
        }),
        (
            proptest::option::of(text(32, MAX_NAME_BYTES)),
            proptest::option::of(text(200, MAX_BIO_BYTES)),
            proptest::option::of(cid_strategy()),
        )
            .prop_map(move |(name, bio, avatar)| {
                let mut fields = Vec::new();
                if let Some(name) = &name {
                    fields.push(f("name", Item::Text(name.clone())));
                }
                if let Some(bio) = &bio {
                    fields.push(f("bio", Item::Text(bio.clone())));
                }
                if let Some(avatar) = avatar {
                    fields.push(f("avatar", cid(avatar)));
                }
                (
                    "profile".into(),
                    fields,
                    Body::Profile {
                        name,
                        bio,
                        avatar: avatar.map(id),
                        username: None,
                    },
                )
            }),
        "[a-z][a-z0-9_.-]{0,31}"
            .prop_filter("an unknown kind", |k| matches!(
                Kind::parse(k),
                Some(Kind::Other(_))
            ))
            .prop_map(|k| (k, Vec::new(), Body::Unknown)),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let seq = prop_oneof![Just(1u64), 1..=MAX_SEQ, Just(MAX_SEQ)];
    (
        any::<[u8; 32]>(),
        seq,
        any::<[u8; 32]>(),
        0..=MAX_TIMESTAMP_MS,
        kind_and_body(),
        extras(),
    )
        .prop_map(
            |(seed, seq, prev, ts, (kind, mut fields, expected), extras)| {
                fields.extend(extras);
                let body = cbor::map(
                    fields
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.clone()))
                        .collect(),
                );
                Spec {
                    seed,
                    seq,
                    prev: (seq > 1).then_some(prev),
                    ts,
                    kind,
                    body,
                    expected,
                }
            },
        )
}

// ---------------------------------------------------------------------------------------
// Tree surgery for (c)

/// The nodes of a tree in pre-order (map keys included).
fn preorder<'a>(item: &'a Item, out: &mut Vec<&'a Item>) {
    out.push(item);
    match item {
        Item::Array(items) => items.iter().for_each(|i| preorder(i, out)),
        Item::Map(entries) => entries.iter().for_each(|(k, v)| {
            preorder(k, out);
            preorder(v, out);
        }),
        Item::Tag(_, inner) => preorder(inner, out),
        _ => {}
    }
}

/// The `n`th node in pre-order.
fn nth_mut<'a>(item: &'a mut Item, n: &mut usize) -> Option<&'a mut Item> {
    if *n == 0 {
        return Some(item);
    }
    *n -= 1;
    match item {
        Item::Array(items) => items.iter_mut().find_map(|i| nth_mut(i, n)),
        Item::Map(entries) => entries
            .iter_mut()
            .find_map(|(k, v)| nth_mut(k, n).or_else(|| nth_mut(v, n))),
        Item::Tag(_, inner) => nth_mut(inner, n),
        _ => None,
    }
}

/// The major type and argument of a node's head, and the bytes after the head.
fn head_and_content(item: &Item) -> Option<(u8, u64, Vec<u8>)> {
    let children = |items: &mut dyn Iterator<Item = &Item>| {
        items.flat_map(|i| i.encode()).collect::<Vec<u8>>()
    };
    Some(match item {
        Item::Uint(n) => (0, *n, Vec::new()),
        Item::Nint(n) => (1, *n, Vec::new()),
        Item::Bytes(b) => (2, b.len() as u64, b.clone()),
        Item::Text(t) => (3, t.len() as u64, t.as_bytes().to_vec()),
        Item::Array(items) => (4, items.len() as u64, children(&mut items.iter())),
        Item::Map(entries) => (
            5,
            entries.len() as u64,
            children(&mut entries.iter().flat_map(|(k, v)| [k, v])),
        ),
        Item::Tag(tag, inner) => (6, *tag, inner.encode()),
        _ => return None,
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Write one head with a longer argument than needed.
    Widen { node: Index, info: Index },
    /// Write one string, array or map with indefinite length.
    Indefinite { node: Index },
    /// Swap two entries of one map.
    SwapKeys { map: Index, a: Index, b: Index },
    /// Append bytes after the item.
    Trailing { bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<Index>()).prop_map(|(node, info)| Mutation::Widen { node, info }),
        any::<Index>().prop_map(|node| Mutation::Indefinite { node }),
        (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(map, a, b)| Mutation::SwapKeys { map, a, b }),
        proptest::collection::vec(any::<u8>(), 1..8).prop_map(|bytes| Mutation::Trailing { bytes }),
    ]
}

/// Applies `mutation` to the encoding of `tree`; the result is never canonical.
fn mutate(tree: &Item, mutation: &Mutation) -> Vec<u8> {
    let mut tree = tree.clone();
    let mut nodes = Vec::new();
    preorder(&tree, &mut nodes);
    let pick = |pred: &dyn Fn(&Item) -> bool, index: &Index| -> usize {
        let candidates: Vec<usize> = nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| pred(n))
            .map(|(i, _)| i)
            .collect();
        assert!(!candidates.is_empty(), "every entry has such a node");
        candidates[index.index(candidates.len())]
    };
    match mutation {
        Mutation::Widen { node, info } => {
            let widenable = |n: &Item| {
                head_and_content(n).is_some_and(|(_, value, _)| minimal_info(value) < 27)
            };
            let mut n = pick(&widenable, node);
            let target = nth_mut(&mut tree, &mut n).expect("node exists");
            let (major, value, content) = head_and_content(target).expect("has a head");
            let wider: Vec<u8> = ((minimal_info(value).max(23) + 1)..=27).collect();
            let mut raw = head_with_info(major, value, wider[info.index(wider.len())]);
            raw.extend(content);
            *target = Item::Raw(raw);
            tree.encode()
        }
        Mutation::Indefinite { node } => {
            let container = |n: &Item| {
                matches!(
                    n,
                    Item::Bytes(_) | Item::Text(_) | Item::Array(_) | Item::Map(_)
                )
            };
            let mut n = pick(&container, node);
            let target = nth_mut(&mut tree, &mut n).expect("node exists");
            let raw = match &*target {
                Item::Bytes(_) => [vec![0x5f], target.encode(), vec![0xff]].concat(),
                Item::Text(_) => [vec![0x7f], target.encode(), vec![0xff]].concat(),
                Item::Array(_) | Item::Map(_) => {
                    let (major, _, content) = head_and_content(target).expect("has a head");
                    [vec![(major << 5) | 31], content, vec![0xff]].concat()
                }
                _ => unreachable!("a container"),
            };
            *target = Item::Raw(raw);
            tree.encode()
        }
        Mutation::SwapKeys { map, a, b } => {
            let big_map = |n: &Item| matches!(n, Item::Map(entries) if entries.len() >= 2);
            let mut n = pick(&big_map, map);
            let Some(Item::Map(entries)) = nth_mut(&mut tree, &mut n) else {
                unreachable!("a map")
            };
            let len = entries.len();
            let a = a.index(len);
            let b = (a + 1 + b.index(len - 1)) % len;
            entries.swap(a, b);
            tree.encode()
        }
        Mutation::Trailing { bytes } => [tree.encode(), bytes.clone()].concat(),
    }
}

fn envelope(sig: &[u8], payload: &[u8]) -> Item {
    Item::Map(vec![
        (Item::text("sig"), Item::bytes(sig)),
        (Item::text("payload"), Item::bytes(payload)),
    ])
}

// ---------------------------------------------------------------------------------------
// Properties

proptest! {
    #![proptest_config(config())]

    /// (a) Round trip: sign → validate → the same bytes, fields and typed body.
    #[test]
    fn valid_entries_round_trip(spec in spec()) {
        let bytes = spec.sign();
        let entry = validate(&bytes, spec.ts).expect("a signed entry validates at its own ts");
        prop_assert_eq!(entry.bytes(), &bytes[..]);
        prop_assert_eq!(entry.body_bytes(), &spec.body_bytes()[..]);
        prop_assert_eq!(entry.author(), spec.keypair().author());
        prop_assert_eq!(entry.seq(), spec.seq);
        prop_assert_eq!(entry.prev(), spec.prev.map(ContentId::from_digest));
        prop_assert_eq!(entry.ts(), spec.ts);
        prop_assert_eq!(entry.kind().as_str(), spec.kind.as_str());
        prop_assert_eq!(entry.body(), &spec.expected);
        prop_assert_eq!(entry.id(), ContentId::of(&bytes));
        // Decode → bytes is the identity, also for an independent encoder.
        prop_assert_eq!(Entry::decode(&bytes).expect("decodes").into_bytes(), bytes.clone());
        let tree = cbor::parse(&bytes).expect("parses");
        prop_assert_eq!(tree.encode(), bytes.clone());
        let payload = cbor::parse(entry.payload_bytes()).expect("parses");
        prop_assert_eq!(payload.encode(), entry.payload_bytes());
        // Signing is deterministic: one draft, one entry, one id.
        prop_assert_eq!(spec.sign(), bytes);
    }

    /// (b) One flipped byte: refused, or (never in practice) a different id.
    #[test]
    fn flipping_a_byte_invalidates_or_changes_the_id(
        spec in spec(),
        at in any::<Index>(),
        xor in 1..=255u8,
    ) {
        let mut bytes = spec.sign();
        let original = ContentId::of(&bytes);
        let at = at.index(bytes.len());
        bytes[at] ^= xor;
        match validate(&bytes, LATE) {
            Err(_) => {}
            Ok(entry) => prop_assert_ne!(entry.id(), original),
        }
    }

    /// (c) Non-canonical re-encodings are refused as `non_canonical`, whether the change is in
    /// the envelope or in the (re-signed) payload.
    #[test]
    fn non_canonical_forms_are_refused(
        spec in spec(),
        in_payload in any::<bool>(),
        mutation in mutation(),
    ) {
        let bytes = spec.sign();
        let entry = Entry::decode(&bytes).expect("decodes");
        let mutated = if in_payload {
            let payload = cbor::parse(entry.payload_bytes()).expect("parses");
            let payload = mutate(&payload, &mutation);
            let mut message = ENTRY_SIGNATURE_DOMAIN.to_vec();
            message.extend_from_slice(&payload);
            let sig = SigningKey::from_bytes(&spec.seed).sign(&message).to_bytes();
            envelope(&sig, &payload).encode()
        } else {
            mutate(&envelope(entry.signature(), entry.payload_bytes()), &mutation)
        };
        prop_assert_ne!(&mutated, &bytes);
        let error = validate(&mutated, LATE).expect_err("a non-canonical entry is refused");
        prop_assert_eq!(error.code(), "non_canonical", "{:?}: {}", mutation, error);
    }

    /// (d) The canonical check and the decoder never panic, on noise or on damaged entries.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        noise in proptest::collection::vec(any::<u8>(), 0..4096),
    ) {
        let _ = check_canonical(&noise);
        let _ = Entry::decode(&noise);
        let _ = validate(&noise, LATE);
    }

    /// (d) The same on damaged real entries, which get much further into the decoder.
    #[test]
    fn decoding_damaged_entries_never_panics(
        spec in spec(),
        cut in any::<Index>(),
        splice in proptest::collection::vec(any::<u8>(), 0..16),
        at in any::<Index>(),
    ) {
        let bytes = spec.sign();
        let truncated = &bytes[..cut.index(bytes.len())];
        let _ = Entry::decode(truncated);
        let at = at.index(bytes.len());
        let spliced = [&bytes[..at], &splice[..], &bytes[at..]].concat();
        let _ = check_canonical(&spliced);
        let _ = Entry::decode(&spliced);
        let _ = validate(&spliced, LATE);
    }

    /// (e) Head decoding never panics, on noise or on damaged real heads.
    #[test]
    fn head_decoding_never_panics(
        noise in proptest::collection::vec(any::<u8>(), 0..1024),
        seed in any::<[u8; 32]>(),
        seq in 1..=MAX_SEQ,
        digest in any::<[u8; 32]>(),
        ts in 0..=MAX_TIMESTAMP_MS,
        at in any::<Index>(),
        xor in 1..=255u8,
    ) {
        let _ = FeedHead::decode(&noise, LATE);
        let keypair = Keypair::from_seed(&seed);
        let key = head_key(&keypair.author());
        let _ = FeedHead::validate_record(&key, &noise, LATE);
        let head = FeedHead::sign(&keypair, seq, ContentId::from_digest(digest), ts);
        let mut bytes = head.encode();
        prop_assert_eq!(FeedHead::validate_record(&key, &bytes, LATE), Ok(head));
        let at = at.index(bytes.len());
        bytes[at] ^= xor;
        let _ = FeedHead::validate_record(&key, &bytes, LATE);
        let _ = FeedHead::decode(&bytes[..at], LATE);
    }
}

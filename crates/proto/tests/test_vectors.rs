//! Conformance of kith-proto with the committed test vectors in `docs/test-vectors/`.
//!
//! Two kinds of checks:
//!
//! * the files are exactly what the generator writes today (`generator_matches_files`), so
//!   any change of the wire format shows up as a failing test and a diff of the vectors;
//! * every vector is re-checked from the JSON alone, the way a second implementation would
//!   use them: valid entries decode, verify and re-sign to the same bytes; the head validates;
//!   every invalid case is refused with exactly the expected code.
//!
//! Regenerate the files after an intended change with
//! `cargo run -p kith-proto --example gen_test_vectors -- docs/test-vectors`.

mod support;

use std::collections::HashSet;
use std::path::PathBuf;

use ed25519_dalek::{Signature, VerifyingKey};
use kith_proto::entry::ENTRY_SIGNATURE_DOMAIN;
use kith_proto::head::{HEAD_KEY_PREFIX, HEAD_SIGNATURE_DOMAIN};
use kith_proto::limits::{MAX_CBOR_DEPTH, MAX_ENVELOPE_BYTES};
use kith_proto::{
    AuthorId, Body, ContentId, Draft, Entry, Extends, FeedHead, FeedPosition, ForkProof, HeadOrder,
    Keypair, Kind, extends, head_key, sign_entry, validate, verify_batch,
};
use serde::de::DeserializeOwned;

use support::cbor::{self, Item};
use support::vectors::{
    self, FeedFile, HeadFile, InvalidFile, KeypairFile, nested_entry, oversize_pad, padded_entry,
    variant_name,
};

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/test-vectors")
}

fn read_text(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn read<T: DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&read_text(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).unwrap_or_else(|error| panic!("bad hex {text:.40}…: {error}"))
}

fn unhex32(text: &str) -> [u8; 32] {
    unhex(text).try_into().expect("32 bytes")
}

fn keypair(file: &KeypairFile) -> Keypair {
    Keypair::from_seed(&unhex32(&file.seed_hex))
}

/// Strict ed25519 verification done directly with ed25519-dalek, independent of kith-proto.
fn dalek_verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let key = VerifyingKey::from_bytes(&public_key.try_into().expect("32 bytes")).expect("key");
    let signature = Signature::from_bytes(&signature.try_into().expect("64 bytes"));
    key.verify_strict(message, &signature).is_ok()
}

#[test]
fn generator_matches_files() {
    vectors::self_check();
    for (name, generated) in vectors::generate() {
        let committed = read_text(name);
        assert!(
            committed == generated,
            "docs/test-vectors/{name} differs from what the generator writes. If the format \
             change is intended, regenerate with `cargo run -p kith-proto --example \
             gen_test_vectors -- docs/test-vectors` and update docs/PROTOCOL.md."
        );
    }
}

#[test]
fn keypair_vector() {
    let file: KeypairFile = read("keypair.json");
    let kp = keypair(&file);
    let author = kp.author();
    assert_eq!(hex::encode(author.as_bytes()), file.public_key_hex);
    assert_eq!(author.to_did(), file.did);
    assert_eq!(AuthorId::parse_did(&file.did), Ok(author));
    // did:key:z + base58btc(0xed 0x01 ‖ key).
    let multicodec = bs58::decode(&file.did["did:key:z".len()..])
        .into_vec()
        .expect("base58");
    assert_eq!(hex::encode(&multicodec), file.multicodec_key_hex);
    assert_eq!(&multicodec[..2], &[0xed, 0x01]);
    assert_eq!(&multicodec[2..], author.as_bytes());
    assert_eq!(kp.to_key_file().as_str(), file.key_file);
    let parsed = Keypair::from_key_file(&file.key_file).expect("key file parses");
    assert_eq!(*parsed.seed(), unhex32(&file.seed_hex));

    for case in &file.key_file_cases {
        let got = match Keypair::from_key_file(&case.text) {
            Ok(parsed) => {
                assert_eq!(parsed.author(), author, "{}", case.name);
                "ok".to_owned()
            }
            Err(error) => variant_name(&error),
        };
        assert_eq!(got, case.expected, "key file case {}", case.name);
    }
    for case in &file.did_cases {
        let got = match AuthorId::parse_did(&case.text) {
            Ok(_) => "ok".to_owned(),
            Err(error) => variant_name(&error),
        };
        assert_eq!(got, case.expected, "did case {}", case.name);
    }
}

#[test]
fn feed_vectors_decode_verify_and_re_sign_identically() {
    let keys: KeypairFile = read("keypair.json");
    let file: FeedFile = read("feed.json");
    let kp = keypair(&keys);
    assert_eq!(file.author_did, keys.did);
    assert_eq!(unhex(&file.signature_domain_hex), ENTRY_SIGNATURE_DOMAIN);
    assert!(file.entries.len() >= 4);

    let mut head: Option<FeedPosition> = None;
    let mut decoded = Vec::new();
    for v in &file.entries {
        let envelope = unhex(&v.envelope_hex);
        let entry = validate(&envelope, file.now_ms)
            .unwrap_or_else(|error| panic!("entry {} is refused: {error}", v.seq));
        assert_eq!(entry.bytes(), &envelope[..]);
        assert_eq!(entry.author(), kp.author());
        assert_eq!(entry.seq(), v.seq);
        assert_eq!(entry.kind().as_str(), v.kind);
        assert_eq!(entry.ts(), v.ts);
        let prev = v
            .prev
            .as_deref()
            .map(|p| ContentId::parse(p).expect("prev parses"));
        assert_eq!(entry.prev(), prev);
        assert_eq!(hex::encode(entry.payload_bytes()), v.payload_hex);
        assert_eq!(hex::encode(entry.body_bytes()), v.body_hex);
        assert_eq!(hex::encode(entry.signature()), v.signature_hex);

        // The id: CIDv1 text and binary forms, sha2-256 of the envelope bytes.
        let id = ContentId::parse(&v.id).expect("id parses");
        assert_eq!(entry.id(), id);
        assert_eq!(ContentId::of(&envelope), id);
        assert_eq!(hex::encode(id.to_bytes()), v.id_hex);
        assert_eq!(ContentId::from_bytes(&unhex(&v.id_hex)), Ok(id));

        // The signature covers domain ‖ payload, checked without kith-proto.
        let mut message = ENTRY_SIGNATURE_DOMAIN.to_vec();
        message.extend_from_slice(entry.payload_bytes());
        assert_eq!(hex::encode(&message), v.signed_message_hex);
        assert!(dalek_verify(
            &unhex(&keys.public_key_hex),
            &message,
            entry.signature()
        ));

        // The independent encoder agrees on the payload and envelope bytes.
        let payload = cbor::parse(entry.payload_bytes()).expect("payload parses");
        assert_eq!(cbor::diag(&payload), v.payload_diag);
        assert_eq!(payload.encode(), entry.payload_bytes());
        let body = cbor::parse(entry.body_bytes()).expect("body parses");
        assert_eq!(cbor::diag(&body), v.body_diag);

        // Signing the same draft gives the same bytes (ed25519 is deterministic).
        let body_bytes = unhex(&v.body_hex);
        let again = sign_entry(
            &kp,
            &Draft {
                seq: v.seq,
                prev,
                ts: v.ts,
                kind: &v.kind,
                body: &body_bytes,
            },
        )
        .expect("the draft signs");
        assert_eq!(hex::encode(again.bytes()), v.envelope_hex);

        // The feed is one chain.
        assert_eq!(extends(head, &entry), Extends::Next, "entry {}", v.seq);
        head = Some(FeedPosition {
            seq: entry.seq(),
            id: entry.id(),
        });
        decoded.push(entry.into_entry());
    }

    // Forward compatibility: the unknown kind and the unknown body field survive.
    let poll = decoded.iter().find(|e| e.kind().as_str() == "poll");
    let poll = poll.expect("the feed has a poll");
    assert_eq!(poll.kind(), &Kind::Other("poll".into()));
    assert_eq!(poll.body(), &Body::Unknown);
    let repost = decoded
        .iter()
        .find(|e| e.kind() == &Kind::Repost)
        .expect("the feed has a repost");
    assert_eq!(
        repost.body(),
        &Body::Repost {
            target: decoded[0].id(),
            text: Some("my first post".into()),
        }
    );
    let body = cbor::parse(repost.body_bytes()).expect("parses");
    let Item::Map(fields) = body else {
        panic!("the body is a map")
    };
    assert!(fields.contains(&(Item::text("lang"), Item::text("en"))));

    // Batch verification agrees with single verification on valid entries.
    assert!(
        verify_batch(decoded.clone(), file.now_ms)
            .iter()
            .all(Result::is_ok)
    );

    // Fork proofs.
    for v in &file.fork_proofs {
        let proof = ForkProof::decode(&unhex(&v.proof_hex), file.now_ms)
            .unwrap_or_else(|error| panic!("fork proof {}: {error}", v.name));
        let (a, b) = proof.entries();
        assert_eq!(a.id().to_string(), v.a_id, "{}", v.name);
        assert_eq!(b.id().to_string(), v.b_id, "{}", v.name);
        assert_eq!(proof.seq(), v.fork_seq, "{}", v.name);
        assert_eq!(proof.author(), kp.author());
        let conflicting = validate(&unhex(&v.conflicting_entry_hex), file.now_ms)
            .expect("the conflicting entry is valid on its own");
        assert_eq!(conflicting.id().to_string(), v.conflicting_entry_id);
        let in_feed = [a, b]
            .into_iter()
            .find(|e| e.id() != conflicting.id())
            .expect("one entry is from the feed");
        assert!(decoded.iter().any(|e| e.id() == in_feed.id()));
        // Either argument order gives the one canonical proof.
        let rebuilt = ForkProof::new(conflicting.clone(), in_feed.clone()).expect("conflict");
        assert_eq!(hex::encode(rebuilt.encode()), v.proof_hex);
        let rebuilt = ForkProof::new(in_feed.clone(), conflicting).expect("conflict");
        assert_eq!(hex::encode(rebuilt.encode()), v.proof_hex);
    }
}

#[test]
fn head_vector_validates_under_its_key() {
    let keys: KeypairFile = read("keypair.json");
    let feed: FeedFile = read("feed.json");
    let file: HeadFile = read("head.json");
    let kp = keypair(&keys);
    let key = unhex(&file.key_hex);
    let value = unhex(&file.value_hex);

    assert_eq!(unhex(&file.key_prefix_hex), HEAD_KEY_PREFIX);
    assert_eq!(key, head_key(&kp.author()));
    assert_eq!(&key[..HEAD_KEY_PREFIX.len()], HEAD_KEY_PREFIX);
    assert_eq!(&key[HEAD_KEY_PREFIX.len()..], kp.author().as_bytes());

    let head = FeedHead::validate_record(&key, &value, file.now_ms).expect("the head is valid");
    assert_eq!(head.author(), kp.author());
    assert_eq!(head.author().to_did(), file.author_did);
    assert_eq!(head.seq(), file.seq);
    assert_eq!(head.id().to_string(), file.id);
    assert_eq!(hex::encode(head.id().to_bytes()), file.id_hex);
    assert_eq!(head.ts(), file.ts);

    // It names the feed's last entry.
    let last = feed.entries.last().expect("entries");
    assert_eq!((last.seq, last.id.as_str()), (file.seq, file.id.as_str()));

    // Signed bytes: domain ‖ canonical {id, ts, seq, author}; checked without kith-proto.
    assert_eq!(unhex(&file.signature_domain_hex), HEAD_SIGNATURE_DOMAIN);
    let unsigned = vectors::head_unsigned(
        head.author().as_bytes(),
        head.seq(),
        &head.id().to_bytes(),
        head.ts(),
    );
    assert_eq!(cbor::diag(&unsigned), file.unsigned_diag);
    let mut message = HEAD_SIGNATURE_DOMAIN.to_vec();
    message.extend(unsigned.encode());
    assert_eq!(hex::encode(&message), file.signed_message_hex);
    assert!(dalek_verify(
        kp.author().as_bytes(),
        &message,
        &unhex(&file.sig_hex)
    ));
    assert_eq!(
        cbor::diag(&cbor::parse(&value).expect("parses")),
        file.value_diag
    );

    // Signing again gives the same record; ordering against other heads.
    let again = FeedHead::sign(&kp, head.seq(), head.id(), head.ts());
    assert_eq!(again.encode(), value);
    let refreshed = FeedHead::sign(&kp, head.seq(), head.id(), head.ts() + 1);
    assert_eq!(head.order(&refreshed), HeadOrder::Same);
    let older = FeedHead::sign(&kp, head.seq() - 1, ContentId::of(b"x"), head.ts());
    assert_eq!(head.order(&older), HeadOrder::Newer);
    let fork = FeedHead::sign(&kp, head.seq(), ContentId::of(b"x"), head.ts());
    assert_eq!(head.order(&fork), HeadOrder::Fork);
}

#[test]
fn invalid_vectors_are_refused_with_the_expected_code() {
    let keys: KeypairFile = read("keypair.json");
    let file: InvalidFile = read("invalid.json");
    let author = unhex(&keys.public_key_hex);
    let mut names = HashSet::new();
    let entry_cases = file.cases.iter().filter(|c| c.target == "entry").count();
    assert!(entry_cases >= 12, "at least 12 invalid entries");

    for case in &file.cases {
        assert!(names.insert(case.name.as_str()), "duplicate {}", case.name);
        let bytes = unhex(&case.hex);
        match case.target.as_str() {
            "entry" => {
                let error = validate(&bytes, case.now_ms)
                    .map(|_| ())
                    .expect_err(&case.name);
                assert_eq!(error.code(), case.expected_code, "{}: {error}", case.name);
                check_single_defect(case.name.as_str(), &case.expected_code, &bytes, &author);
            }
            "head" => {
                let key = unhex(case.key_hex.as_deref().expect("head cases have a key"));
                let error = FeedHead::validate_record(&key, &bytes, case.now_ms)
                    .map(|_| ())
                    .expect_err(&case.name);
                assert_eq!(
                    variant_name(&error),
                    case.expected_code,
                    "{}: {error}",
                    case.name
                );
            }
            other => panic!("unknown target {other}"),
        }
    }

    // The required cases are all there.
    for required in [
        "signature_bit_flipped",
        "signature_by_another_key",
        "trailing_byte",
        "non_minimal_integer",
        "indefinite_length_envelope",
        "unsorted_payload_keys",
        "duplicate_key",
        "unknown_payload_field",
        "seq_zero",
        "prev_present_at_seq_1",
        "prev_null_at_seq_2",
        "version_2",
        "envelope_too_large",
        "kind_upper_case",
        "post_empty_text",
        "timestamp_in_the_future",
        "tag_in_body",
        "float_in_body",
    ] {
        assert!(names.contains(required), "missing case {required}");
    }
}

/// Where the envelope is still readable, checks that the case is wrong for its stated reason
/// only: structural cases carry a good signature by the author over their payload, and
/// signature and clock cases decode fine.
fn check_single_defect(name: &str, code: &str, bytes: &[u8], author: &[u8]) {
    match code {
        "bad_signature" | "from_the_future" => {
            Entry::decode(bytes).unwrap_or_else(|error| panic!("{name} must decode: {error}"));
        }
        _ => {
            let Some(Item::Map(fields)) = cbor::parse(bytes) else {
                return;
            };
            let field = |key: &str| {
                fields.iter().find_map(|(k, v)| match v {
                    Item::Bytes(b) if *k == Item::text(key) => Some(b.clone()),
                    _ => None,
                })
            };
            let (Some(sig), Some(payload)) = (field("sig"), field("payload")) else {
                return;
            };
            if sig.len() != 64 || code == "too_large" {
                return;
            }
            let mut message = ENTRY_SIGNATURE_DOMAIN.to_vec();
            message.extend_from_slice(&payload);
            assert!(
                dalek_verify(author, &message, &sig),
                "{name}: the signature should be good so that only the stated defect fails"
            );
        }
    }
}

#[test]
fn boundaries_next_to_the_invalid_cases_are_valid() {
    let file: InvalidFile = read("invalid.json");
    let case = |name: &str| {
        file.cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("case {name}"))
    };

    // One byte less than the oversized entry is exactly the limit, and valid.
    let pad = oversize_pad();
    assert_eq!(
        hex::encode(padded_entry(pad)),
        case("envelope_too_large").hex
    );
    let at_limit = padded_entry(pad - 1);
    assert_eq!(at_limit.len(), MAX_ENVELOPE_BYTES);
    validate(&at_limit, vectors::NOW_MS).expect("an envelope of exactly 64 KiB is valid");

    // One level less nesting than the too-deep entry is valid.
    let deep = case("nesting_too_deep");
    assert_eq!(hex::encode(nested_entry(MAX_CBOR_DEPTH - 1)), deep.hex);
    validate(&nested_entry(MAX_CBOR_DEPTH - 2), deep.now_ms).expect("16 levels are allowed");

    // The future entry is valid one millisecond later.
    let future = case("timestamp_in_the_future");
    validate(&unhex(&future.hex), future.now_ms + 1).expect("valid at now + 1");
}

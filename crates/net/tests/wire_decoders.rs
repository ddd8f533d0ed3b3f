//! The fetch and names protocols' messages, decoded as libp2p's `cbor` request-response
//! codec decodes them (cbor4ii with serde), from arbitrary and from damaged bytes: nothing a
//! peer sends may panic the decoder, and a valid message decodes to itself. The same
//! decoders are a fuzz target (`fuzz/fuzz_targets/wire_messages.rs`).

#![allow(clippy::unwrap_used)]

use kith_net::{FetchRequest, FetchResponse, NameRequest, NameResponse};
use proptest::prelude::*;
use proptest::sample::Index;

fn decode_all(bytes: &[u8]) {
    let _ = cbor4ii::serde::from_slice::<FetchRequest>(bytes);
    let _ = cbor4ii::serde::from_slice::<FetchResponse>(bytes);
    let _ = cbor4ii::serde::from_slice::<NameRequest>(bytes);
    let _ = cbor4ii::serde::from_slice::<NameResponse>(bytes);
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    cbor4ii::serde::to_vec(Vec::new(), value).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn wire_messages_from_noise_never_panic(noise in proptest::collection::vec(any::<u8>(), 0..4096)) {
        decode_all(&noise);
    }

    #[test]
    fn damaged_wire_messages_never_panic(
        author in any::<[u8; 32]>(),
        seq in any::<u64>(),
        slug in "[a-z0-9-]{0,80}",
        name in "\\PC{0,40}",
        entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4),
        at in any::<Index>(),
        splice in proptest::collection::vec(any::<u8>(), 0..8),
        cut in any::<Index>(),
    ) {
        let author_id = kith_proto::AuthorId::from_slice_deferred(&author).unwrap();
        let messages = vec![
            encode(&FetchRequest::range(&author_id, seq, 64)),
            encode(&FetchRequest::Slug { author: author.to_vec(), slug: slug.clone() }),
            encode(&FetchResponse {
                entries: entries.iter().cloned().map(serde_bytes::ByteBuf::from).collect(),
                more: seq % 2 == 0,
            }),
            encode(&NameRequest::Lookup { name: name.clone() }),
            encode(&NameResponse::Refused { reason: name.clone() }),
        ];
        // Valid messages decode to themselves.
        prop_assert_eq!(
            cbor4ii::serde::from_slice::<FetchRequest>(&messages[1]).unwrap(),
            FetchRequest::Slug { author: author.to_vec(), slug }
        );
        for bytes in messages {
            let at = at.index(bytes.len() + 1);
            let spliced = [&bytes[..at], &splice[..], &bytes[at..]].concat();
            let cut = cut.index(spliced.len() + 1);
            decode_all(&spliced[..cut]);
            decode_all(&spliced);
        }
    }
}

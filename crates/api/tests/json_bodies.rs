//! The API's JSON request bodies from arbitrary and from damaged input: the decoders never
//! panic, and a valid body decodes to itself. The same decoders are a fuzz target
//! (`fuzz/fuzz_targets/api_json.rs`); the HTTP side (limits, status codes) is in `api.rs`.

#![allow(clippy::unwrap_used)]

use kith_api::model::{
    DenyPeers, NewBridge, NewEdit, NewFollow, NewName, NewPost, NewProfile, NewReaction, NewRepost,
    NewTag, PublicSettings,
};
use proptest::prelude::*;
use proptest::sample::Index;

fn decode_all(bytes: &[u8]) {
    let _ = serde_json::from_slice::<NewPost>(bytes);
    let _ = serde_json::from_slice::<NewFollow>(bytes);
    let _ = serde_json::from_slice::<NewReaction>(bytes);
    let _ = serde_json::from_slice::<NewRepost>(bytes);
    let _ = serde_json::from_slice::<NewEdit>(bytes);
    let _ = serde_json::from_slice::<NewTag>(bytes);
    let _ = serde_json::from_slice::<NewName>(bytes);
    let _ = serde_json::from_slice::<NewProfile>(bytes);
    let _ = serde_json::from_slice::<NewBridge>(bytes);
    let _ = serde_json::from_slice::<PublicSettings>(bytes);
    let _ = serde_json::from_slice::<DenyPeers>(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn bodies_from_noise_never_panic(noise in proptest::collection::vec(any::<u8>(), 0..2048)) {
        decode_all(&noise);
    }

    #[test]
    fn damaged_bodies_never_panic(
        text in "\\PC{0,200}",
        reply_to in proptest::option::of("[a-z2-7]{0,60}"),
        at in any::<Index>(),
        splice in proptest::collection::vec(any::<u8>(), 0..8),
        cut in any::<Index>(),
    ) {
        let post = NewPost { text, reply_to, anonymous: false, audience: None };
        let bytes = serde_json::to_vec(&post).unwrap();
        prop_assert_eq!(serde_json::from_slice::<NewPost>(&bytes).unwrap(), post);
        let at = at.index(bytes.len() + 1);
        let spliced = [&bytes[..at], &splice[..], &bytes[at..]].concat();
        let cut = cut.index(spliced.len() + 1);
        decode_all(&spliced[..cut]);
        decode_all(&spliced);
    }
}

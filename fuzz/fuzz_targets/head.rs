//! Feed-head records as the DHT hands them over: the first 32 bytes pick the author whose
//! key the record is stored under, the rest is the value. Never panics; an accepted head
//! re-encodes to the value and belongs to that key.
#![no_main]

use kith_proto::head::{FeedHead, head_key};
use kith_proto::identity::AuthorId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = FeedHead::decode(data, u64::MAX);
    if data.len() < 32 {
        return;
    }
    let (author, value) = data.split_at(32);
    let Ok(author) = AuthorId::from_slice_deferred(author) else {
        return;
    };
    if let Ok(head) = FeedHead::validate_record(&head_key(&author), value, u64::MAX) {
        assert_eq!(head.author(), author);
        assert_eq!(head.encode(), value);
    }
});

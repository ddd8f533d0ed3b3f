//! Entry envelopes from any peer: decoding, verification (one and in a batch) never panic,
//! and whatever is accepted re-encodes to exactly the bytes received.
#![no_main]

use kith_proto::entry::{Entry, validate, validate_batch};
use libfuzzer_sys::fuzz_target;

/// A clock late enough for every valid timestamp.
const LATE: u64 = u64::MAX;

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::decode(data) {
        assert_eq!(entry.bytes(), data);
        if let Ok(verified) = entry.verify(LATE) {
            assert_eq!(verified.bytes(), data);
        }
    }
    let single = validate(data, LATE).ok().map(|e| e.id());
    let batch = validate_batch(&[data], LATE)
        .into_iter()
        .next()
        .and_then(Result::ok)
        .map(|e| e.id());
    // One rule, whichever way it is checked.
    assert_eq!(single, batch);
});

//! Blob manifests fetched from peers, checked against the id they were asked by (the id is
//! the hash of the bytes, so only a manifest hashing to it can pass): never panics.
#![no_main]

use kith_proto::blob::Manifest;
use kith_proto::cid::ContentId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The id of exactly these bytes: the decoder's own checks are what is exercised.
    let _ = Manifest::decode(&ContentId::of(data), data);
});

//! The fetch and names protocols' messages, decoded as libp2p's `cbor` request-response
//! codec decodes them (cbor4ii with serde): never panic, whatever a peer sends.
#![no_main]

use kith_net::{FetchRequest, FetchResponse, NameRequest, NameResponse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cbor4ii::serde::from_slice::<FetchRequest>(data);
    let _ = cbor4ii::serde::from_slice::<FetchResponse>(data);
    let _ = cbor4ii::serde::from_slice::<NameRequest>(data);
    let _ = cbor4ii::serde::from_slice::<NameResponse>(data);
});

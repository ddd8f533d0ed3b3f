//! The API's JSON request bodies: never panic, whatever a client sends.
#![no_main]

use kith_api::model::{
    DenyPeers, NewBridge, NewEdit, NewFollow, NewName, NewPost, NewProfile, NewReaction,
    NewRepost, NewTag, PublicSettings,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<NewPost>(data);
    let _ = serde_json::from_slice::<NewFollow>(data);
    let _ = serde_json::from_slice::<NewReaction>(data);
    let _ = serde_json::from_slice::<NewRepost>(data);
    let _ = serde_json::from_slice::<NewEdit>(data);
    let _ = serde_json::from_slice::<NewTag>(data);
    let _ = serde_json::from_slice::<NewName>(data);
    let _ = serde_json::from_slice::<NewProfile>(data);
    let _ = serde_json::from_slice::<NewBridge>(data);
    let _ = serde_json::from_slice::<PublicSettings>(data);
    let _ = serde_json::from_slice::<DenyPeers>(data);
});

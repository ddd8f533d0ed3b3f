//! Name-registry claims and releases from any peer: never panic; an accepted record is
//! exactly the bytes received and carries a name in its one accepted form.
#![no_main]

use kith_proto::names::{NameClaim, NameRelease, check_registry_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(claim) = NameClaim::decode(data, u64::MAX) {
        assert_eq!(claim.encode(), data);
        assert!(check_registry_name(claim.name()).is_ok());
    }
    if let Ok(release) = NameRelease::decode(data, u64::MAX) {
        assert_eq!(release.encode(), data);
        assert!(check_registry_name(release.name()).is_ok());
    }
});

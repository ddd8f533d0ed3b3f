//! Status beacons from any peer: never panic; an accepted beacon is exactly the bytes
//! received.
#![no_main]

use kith_proto::beacon::Beacon;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(beacon) = Beacon::decode(data, u64::MAX) {
        assert_eq!(beacon.encode(), data);
        assert!(beacon.figures().error_ppm <= 1_000_000);
    }
});

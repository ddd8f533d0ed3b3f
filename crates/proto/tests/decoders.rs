//! Every decoder of data from outside, on arbitrary and on damaged bytes: name-registry
//! records, status beacons, blob manifests, and the text parsers (permalinks, usernames,
//! slugs). None may panic, and whatever is accepted is exactly what was received. The same
//! decoders are fuzz targets (`fuzz/`); these properties run in every CI build. Entries and
//! heads are covered in `properties.rs`.

#![allow(clippy::unwrap_used)]

use kith_proto::Keypair;
use kith_proto::beacon::{Beacon, BeaconFigures};
use kith_proto::blob::Manifest;
use kith_proto::cid::ContentId;
use kith_proto::names::{NameClaim, NameRelease, check_registry_name, normalize_name};
use kith_proto::permalink::Permalink;
use proptest::prelude::*;
use proptest::sample::Index;

/// A clock late enough for every valid timestamp.
const LATE: u64 = u64::MAX;
const NOW: u64 = 1_764_000_000_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// `bytes` with `splice` inserted at `at` and then cut at `cut`.
fn damage(bytes: &[u8], at: Index, splice: &[u8], cut: Index) -> Vec<u8> {
    let at = at.index(bytes.len() + 1);
    let spliced = [&bytes[..at], splice, &bytes[at..]].concat();
    let cut = cut.index(spliced.len() + 1);
    spliced[..cut].to_vec()
}

fn check_name_records(bytes: &[u8]) {
    if let Ok(claim) = NameClaim::decode(bytes, LATE) {
        assert_eq!(claim.encode(), bytes);
        assert!(check_registry_name(claim.name()).is_ok());
    }
    if let Ok(release) = NameRelease::decode(bytes, LATE) {
        assert_eq!(release.encode(), bytes);
    }
}

fn check_beacon(bytes: &[u8]) {
    if let Ok(beacon) = Beacon::decode(bytes, LATE) {
        assert_eq!(beacon.encode(), bytes);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn name_records_from_noise_or_damage_never_panic(
        noise in proptest::collection::vec(any::<u8>(), 0..1200),
        at in any::<Index>(),
        splice in proptest::collection::vec(any::<u8>(), 0..8),
        cut in any::<Index>(),
        seed in any::<[u8; 32]>(),
    ) {
        check_name_records(&noise);
        // A real release (cheap: no proof of work), damaged.
        let release = NameRelease::sign(&Keypair::from_seed(&seed), "alice", NOW).unwrap();
        check_name_records(&damage(release.encode(), at, &splice, cut));
    }

    #[test]
    fn beacons_from_noise_or_damage_never_panic(
        noise in proptest::collection::vec(any::<u8>(), 0..600),
        at in any::<Index>(),
        splice in proptest::collection::vec(any::<u8>(), 0..8),
        cut in any::<Index>(),
        seed in any::<[u8; 32]>(),
        revision in any::<u64>(),
        error_ppm in 0..=1_000_000u64,
    ) {
        check_beacon(&noise);
        let figures = BeaconFigures { revision, error_ppm, ..BeaconFigures::default() };
        let beacon = Beacon::sign(&Keypair::from_seed(&seed), NOW, figures).unwrap();
        prop_assert_eq!(Beacon::decode(beacon.encode(), NOW).unwrap(), beacon.clone());
        check_beacon(&damage(beacon.encode(), at, &splice, cut));
    }

    #[test]
    fn manifests_never_panic(noise in proptest::collection::vec(any::<u8>(), 0..2048)) {
        // Checked against the id of exactly these bytes, so the decoder's own checks run.
        let _ = Manifest::decode(&ContentId::of(&noise), &noise);
    }

    #[test]
    fn text_parsers_never_panic_and_are_stable(text in "\\PC{0,80}") {
        if let Ok(link) = text.parse::<Permalink>() {
            prop_assert_eq!(link.to_string().parse::<Permalink>().ok(), Some(link));
        }
        if let Ok(name) = normalize_name(&text) {
            prop_assert_eq!(normalize_name(&name).ok(), Some(name));
        }
        let _ = kith_proto::names::global_slug_name(&text);
        let _ = kith_proto::text::slug_from_text(&text);
    }
}

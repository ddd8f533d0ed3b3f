//! Status beacons: a small record each node publishes now and then about itself, signed by its
//! **node key** (the libp2p identity, not the author's), so peers can pick good hosts to
//! fetch from. Peers keep the latest beacon of each node; a beacon is a claim by the node
//! about itself, so a peer weighs its own measurements of a host above what the host says.
//!
//! ```text
//! envelope = {sig: bytes(64), payload: bytes}                           (canonical CBOR map)
//! payload  = {ts: uint, node: bytes(32), lag_s: uint, geohash?: text, revision: uint,
//!             uptime_s: uint, error_ppm: uint, response_us: uint}        (canonical order)
//! sig      = ed25519(node key, BEACON_SIGNATURE_DOMAIN ‖ payload)         (strict verification)
//! ```
//!
//! `node` is the node key's ed25519 public key (the peer id is derived from it). `ts` is the
//! heartbeat, milliseconds since the Unix epoch; `revision` the node's store revision (it
//! grows with every change); `response_us` the mean time the node took to answer fetch
//! requests, microseconds (0: none answered yet); `error_ppm` the share of fetch requests it failed, parts per
//! million; `lag_s` how far behind the newest heads it knows of it is, seconds; `uptime_s`
//! since its start; `geohash` an optional coarse location its operator set (1 to 12
//! characters of the geohash alphabet; never derived from anything else). No floats: every
//! figure is an integer, so the encoding stays canonical. Payloads are closed maps.

use ed25519_dalek::{Signature, VerifyingKey};

use crate::cbor::{CborError, Fields, MapBuilder, Value, check_canonical, open_signed_envelope};
use crate::identity::Keypair;
use crate::limits::{MAX_FUTURE_SKEW_MS, MAX_TIMESTAMP_MS};

/// Prepended to the payload before signing: a beacon signature can never pass for an entry,
/// head or name signature (or the other way round).
pub const BEACON_SIGNATURE_DOMAIN: &[u8] = b"kith/beacon/1\0";

/// Largest encoded beacon accepted. A valid one is about 170 bytes.
pub const MAX_BEACON_BYTES: usize = 512;

/// Longest geohash accepted (12 characters is a few centimetres: far finer than anyone
/// should publish; 3 to 5 is a region or a city).
pub const MAX_GEOHASH_CHARS: usize = 12;

/// The geohash alphabet (base 32 without `a`, `i`, `l`, `o`).
const GEOHASH_ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";

/// Why a beacon is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BeaconError {
    /// Larger than [`MAX_BEACON_BYTES`].
    #[error("beacon is {0} bytes; the limit is {MAX_BEACON_BYTES}")]
    TooLarge(usize),
    /// Not canonical CBOR, or not the structure of a beacon.
    #[error("malformed beacon: {0}")]
    Malformed(#[from] CborError),
    /// `node` is not a valid ed25519 public key.
    #[error("the beacon's node key is not a valid ed25519 public key")]
    BadKey,
    /// The signature does not verify under `node`.
    #[error("the beacon's signature does not verify under its node key")]
    BadSignature,
    /// `ts` out of range, or too far ahead of the verifier's clock.
    #[error("the beacon's timestamp {0} is out of range or ahead of this clock")]
    BadTimestamp(u64),
    /// Not a geohash of 1 to [`MAX_GEOHASH_CHARS`] characters.
    #[error(
        "`{0}` is not a geohash of 1 to {MAX_GEOHASH_CHARS} characters (0-9, b-z without a, i, l, o)"
    )]
    BadGeohash(String),
}

/// What a node says about itself (the signed fields but `node` and `ts`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BeaconFigures {
    /// The store revision: grows with every change.
    pub revision: u64,
    /// Mean time to answer a fetch request, microseconds.
    pub response_us: u64,
    /// Share of fetch requests failed, parts per million (0 to 1,000,000).
    pub error_ppm: u64,
    /// How far behind the newest heads it knows of, seconds.
    pub lag_s: u64,
    /// Seconds since the node started.
    pub uptime_s: u64,
    /// An operator-set coarse location, if any.
    pub geohash: Option<String>,
}

/// A verified beacon. Only [`Beacon::sign`] and [`Beacon::decode`] make one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beacon {
    bytes: Vec<u8>,
    node: [u8; 32],
    ts: u64,
    figures: BeaconFigures,
}

/// Checks a geohash: 1 to [`MAX_GEOHASH_CHARS`] characters of the alphabet, lower case.
pub fn check_geohash(text: &str) -> Result<(), BeaconError> {
    if text.is_empty()
        || text.len() > MAX_GEOHASH_CHARS
        || !text.bytes().all(|b| GEOHASH_ALPHABET.contains(&b))
    {
        return Err(BeaconError::BadGeohash(text.to_owned()));
    }
    Ok(())
}

/// The centre of a geohash cell: (latitude, longitude) in degrees. `None` if it is not one.
pub fn geohash_centre(text: &str) -> Option<(f64, f64)> {
    check_geohash(text).ok()?;
    let (mut lat, mut lon) = ((-90.0f64, 90.0f64), (-180.0f64, 180.0f64));
    let mut even = true;
    for byte in text.bytes() {
        let value = GEOHASH_ALPHABET.iter().position(|b| *b == byte)?;
        for bit in (0..5).rev() {
            let range = if even { &mut lon } else { &mut lat };
            let mid = (range.0 + range.1) / 2.0;
            if value >> bit & 1 == 1 {
                range.0 = mid;
            } else {
                range.1 = mid;
            }
            even = !even;
        }
    }
    Some(((lat.0 + lat.1) / 2.0, (lon.0 + lon.1) / 2.0))
}

/// Great-circle distance between the centres of two geohash cells, kilometres.
pub fn geohash_distance_km(a: &str, b: &str) -> Option<f64> {
    let (lat1, lon1) = geohash_centre(a)?;
    let (lat2, lon2) = geohash_centre(b)?;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    Some(2.0 * 6371.0 * h.sqrt().min(1.0).asin())
}

fn encode_payload(node: &[u8; 32], ts: u64, figures: &BeaconFigures) -> Vec<u8> {
    MapBuilder::new()
        .field("ts", Value::Uint(ts))
        .field("node", Value::Bytes(node))
        .field("lag_s", Value::Uint(figures.lag_s))
        .field("revision", Value::Uint(figures.revision))
        .field("uptime_s", Value::Uint(figures.uptime_s))
        .field("error_ppm", Value::Uint(figures.error_ppm))
        .field("response_us", Value::Uint(figures.response_us))
        .optional("geohash", figures.geohash.as_deref().map(Value::Text))
        .finish()
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = BEACON_SIGNATURE_DOMAIN.to_vec();
    message.extend_from_slice(payload);
    message
}

fn encode_envelope(sig: &[u8; 64], payload: &[u8]) -> Vec<u8> {
    MapBuilder::new()
        .field("sig", Value::Bytes(sig))
        .field("payload", Value::Bytes(payload))
        .finish()
}

impl Beacon {
    /// Signs a beacon with the node key `node_key`, heartbeat `ts_ms`.
    pub fn sign(
        node_key: &Keypair,
        ts_ms: u64,
        mut figures: BeaconFigures,
    ) -> Result<Self, BeaconError> {
        if let Some(geohash) = &figures.geohash {
            check_geohash(geohash)?;
        }
        figures.error_ppm = figures.error_ppm.min(1_000_000);
        let node = *node_key.author().as_bytes();
        let payload = encode_payload(&node, ts_ms, &figures);
        let sig = node_key.sign(&signed_message(&payload));
        Self::decode(&encode_envelope(&sig, &payload), ts_ms)
    }

    /// Decodes and fully checks a beacon from anyone: size, canonical closed CBOR, the
    /// timestamp (not more than `MAX_FUTURE_SKEW_MS` ahead of `now_ms`), the geohash, and the
    /// signature (strict) under the beacon's own node key.
    pub fn decode(bytes: &[u8], now_ms: u64) -> Result<Self, BeaconError> {
        if bytes.len() > MAX_BEACON_BYTES {
            return Err(BeaconError::TooLarge(bytes.len()));
        }
        let (sig, payload) = open_signed_envelope(bytes)?;
        check_canonical(payload)?;
        let mut fields = Fields::parse(payload).map_err(|_| CborError::WrongType("payload"))?;
        let ts = fields.uint("ts")?;
        let node: [u8; 32] = fields
            .bytes("node")?
            .try_into()
            .map_err(|_| CborError::WrongType("node"))?;
        let figures = BeaconFigures {
            lag_s: fields.uint("lag_s")?,
            revision: fields.uint("revision")?,
            uptime_s: fields.uint("uptime_s")?,
            error_ppm: fields.uint("error_ppm")?,
            response_us: fields.uint("response_us")?,
            geohash: fields.opt_text("geohash")?.map(str::to_owned),
        };
        fields.deny_unknown()?;
        if ts > MAX_TIMESTAMP_MS || ts > now_ms.saturating_add(MAX_FUTURE_SKEW_MS) {
            return Err(BeaconError::BadTimestamp(ts));
        }
        if figures.error_ppm > 1_000_000 {
            return Err(CborError::WrongType("error_ppm").into());
        }
        if let Some(geohash) = &figures.geohash {
            check_geohash(geohash)?;
        }
        // Belt and braces: exactly the bytes this encoder makes.
        if encode_envelope(&sig, &encode_payload(&node, ts, &figures)) != bytes {
            return Err(CborError::NotCanonical.into());
        }
        let key = VerifyingKey::from_bytes(&node).map_err(|_| BeaconError::BadKey)?;
        if key.is_weak() {
            return Err(BeaconError::BadKey);
        }
        key.verify_strict(&signed_message(payload), &Signature::from_bytes(&sig))
            .map_err(|_| BeaconError::BadSignature)?;
        Ok(Self {
            bytes: bytes.to_vec(),
            node,
            ts,
            figures,
        })
    }

    /// The envelope, exactly as signed or received.
    pub fn encode(&self) -> &[u8] {
        &self.bytes
    }

    /// The node key's ed25519 public key.
    pub fn node_key(&self) -> &[u8; 32] {
        &self.node
    }

    /// The heartbeat: when the node signed it, milliseconds since the Unix epoch.
    pub fn ts(&self) -> u64 {
        self.ts
    }

    /// What the node says about itself.
    pub fn figures(&self) -> &BeaconFigures {
        &self.figures
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const NOW: u64 = 1_764_000_000_000;

    fn figures() -> BeaconFigures {
        BeaconFigures {
            revision: 42,
            response_us: 1500,
            error_ppm: 10_000,
            lag_s: 3,
            uptime_s: 600,
            geohash: Some("u33d".into()),
        }
    }

    #[test]
    fn beacons_round_trip_and_bind_their_key() {
        let key = Keypair::from_seed(&[7; 32]);
        let beacon = Beacon::sign(&key, NOW, figures()).unwrap();
        assert_eq!(beacon.node_key(), key.author().as_bytes());
        assert_eq!(beacon.ts(), NOW);
        assert_eq!(beacon.figures(), &figures());
        assert_eq!(Beacon::decode(beacon.encode(), NOW).unwrap(), beacon);
        // Without a location too.
        let plain = BeaconFigures {
            geohash: None,
            ..figures()
        };
        let b = Beacon::sign(&key, NOW, plain.clone()).unwrap();
        assert_eq!(Beacon::decode(b.encode(), NOW).unwrap().figures(), &plain);
    }

    #[test]
    fn forged_altered_and_malformed_beacons_are_refused() {
        let key = Keypair::from_seed(&[7; 32]);
        let other = Keypair::from_seed(&[8; 32]);
        let beacon = Beacon::sign(&key, NOW, figures()).unwrap();
        // Any flipped byte: refused (as malformed, or by the signature).
        for i in 0..beacon.encode().len() {
            let mut bytes = beacon.encode().to_vec();
            bytes[i] ^= 0x01;
            assert!(Beacon::decode(&bytes, NOW).is_err(), "byte {i}");
        }
        // Another node's key in the payload, signed by this one: the signature fails.
        let payload = encode_payload(other.author().as_bytes(), NOW, &figures());
        let sig = key.sign(&signed_message(&payload));
        assert_eq!(
            Beacon::decode(&encode_envelope(&sig, &payload), NOW),
            Err(BeaconError::BadSignature)
        );
        // A signature of the payload without the domain: refused.
        let payload = encode_payload(key.author().as_bytes(), NOW, &figures());
        let sig = key.sign(&payload);
        assert_eq!(
            Beacon::decode(&encode_envelope(&sig, &payload), NOW),
            Err(BeaconError::BadSignature)
        );
        // From the future, oversized, garbage.
        let later = Beacon::sign(&key, NOW + MAX_FUTURE_SKEW_MS + 1, figures()).unwrap();
        assert!(matches!(
            Beacon::decode(later.encode(), NOW),
            Err(BeaconError::BadTimestamp(_))
        ));
        assert!(matches!(
            Beacon::decode(&vec![0xa0; MAX_BEACON_BYTES + 1], NOW),
            Err(BeaconError::TooLarge(_))
        ));
        assert!(Beacon::decode(&[0xa0], NOW).is_err());
        // A bad geohash cannot be signed.
        let bad = BeaconFigures {
            geohash: Some("Paris".into()),
            ..figures()
        };
        assert!(matches!(
            Beacon::sign(&key, NOW, bad),
            Err(BeaconError::BadGeohash(_))
        ));
    }

    #[test]
    fn geohash_distances_are_great_circle_kilometres() {
        // Paris (u09t) to London (gcpv): about 340 km.
        let d = geohash_distance_km("u09t", "gcpv").unwrap();
        assert!((300.0..400.0).contains(&d), "{d}");
        assert!(geohash_distance_km("u09t", "u09t").unwrap() < 1.0);
        assert_eq!(geohash_distance_km("u09t", "ai"), None);
    }
}

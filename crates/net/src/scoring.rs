//! Gossipsub peer scoring (v1.1), tuned for kith's topics: one per author's feed, an inbox
//! per identity, hashtags, the public stream and the status beacons. Most of them are
//! **quiet**: an author may post twice a day, so a mesh peer that delivers nothing is normal
//! and is never penalised for it (P3 and P3b, the mesh delivery rate and its failure
//! penalty, are off). What is penalised is what no honest peer does: forwarding an entry or a
//! beacon that fails validation (P4, `MessageAcceptance::Reject`). An honest peer validates
//! exactly as we do before it forwards, so it never earns that penalty; a peer that floods
//! forgeries falls below the graylist threshold after [`GRAYLIST_AFTER_INVALID`] of them, and
//! everything it sends is then ignored until its penalty decays.
//!
//! Gossipsub only scores topics that have parameters, and a `Reject` on a topic without them
//! costs nothing: every topic joined gets [`topic_params`] (the event loop sets them when it
//! subscribes).
//!
//! docs/SECURITY.md ("gossip") describes the tuning; the test is
//! `crates/node/tests/adversary.rs`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use libp2p::gossipsub::{PeerScoreParams, PeerScoreThresholds, TopicScoreParams};

/// Score of one invalid message (P4 weight): the penalty is this times the square of the
/// (decaying) count of invalid messages, so it grows fast for a flooder.
pub const INVALID_MESSAGE_WEIGHT: f64 = -20.0;
/// How much of the invalid-message count is kept per decay interval (1 s): its half-life is
/// about 69 s, so a peer that sent a handful of forgeries is back in good standing within
/// minutes, and one that sent thousands stays graylisted for a quarter of an hour or more.
pub const INVALID_MESSAGE_DECAY: f64 = 0.99;
/// Below this score a peer gets no gossip (IHAVE/IWANT) from us, and its gossip is ignored.
pub const GOSSIP_THRESHOLD: f64 = -10.0;
/// Below this score our own posts are not flood-published to it.
pub const PUBLISH_THRESHOLD: f64 = -50.0;
/// Below this score every message and control message from the peer is ignored.
pub const GRAYLIST_THRESHOLD: f64 = -80.0;
/// Invalid messages that take a peer with no positive score below [`GRAYLIST_THRESHOLD`]:
/// 3 × 3 × −20 = −180.
pub const GRAYLIST_AFTER_INVALID: u32 = 3;
/// Peers from one IP address beyond which each extra one is penalised (not for loopback:
/// local test networks run every peer on 127.0.0.1).
pub const IP_COLOCATION_THRESHOLD: f64 = 10.0;

/// The score parameters of every topic kith joins.
pub fn topic_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        // P1: time in the mesh, a little credit for staying (at most +36 after an hour).
        time_in_mesh_weight: 0.01,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: 3600.0,
        // P2: first deliveries of valid messages, credit for being useful (at most +50).
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: 0.99,
        first_message_deliveries_cap: 50.0,
        // P3, P3b: off. A quiet feed delivers nothing for hours; that is not a fault.
        mesh_message_deliveries_weight: 0.0,
        mesh_message_deliveries_decay: 0.5,
        mesh_message_deliveries_cap: 100.0,
        mesh_message_deliveries_threshold: 1.0,
        mesh_message_deliveries_window: Duration::from_millis(10),
        mesh_message_deliveries_activation: Duration::from_secs(5),
        mesh_failure_penalty_weight: 0.0,
        mesh_failure_penalty_decay: 0.5,
        // P4: invalid messages, the penalty that matters.
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: INVALID_MESSAGE_DECAY,
    }
}

/// The global score parameters (topics are added as they are joined).
pub fn peer_score_params() -> PeerScoreParams {
    PeerScoreParams {
        ip_colocation_factor_threshold: IP_COLOCATION_THRESHOLD,
        ip_colocation_factor_whitelist: [
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]
        .into_iter()
        .collect(),
        ..PeerScoreParams::default()
    }
}

/// The thresholds at which a peer loses gossip, our publishes, and then everything.
pub fn thresholds() -> PeerScoreThresholds {
    PeerScoreThresholds {
        gossip_threshold: GOSSIP_THRESHOLD,
        publish_threshold: PUBLISH_THRESHOLD,
        graylist_threshold: GRAYLIST_THRESHOLD,
        ..PeerScoreThresholds::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_parameters_are_valid_and_graylist_a_flooder() {
        topic_params().validate().unwrap();
        peer_score_params().validate().unwrap();
        thresholds().validate().unwrap();
        let invalid = f64::from(GRAYLIST_AFTER_INVALID);
        assert!(invalid * invalid * INVALID_MESSAGE_WEIGHT < GRAYLIST_THRESHOLD);
        let fewer = invalid - 1.0;
        assert!(fewer * fewer * INVALID_MESSAGE_WEIGHT >= GRAYLIST_THRESHOLD);
        // One invalid message costs less than an established peer's credit (P1 + P2 caps).
        let topic = topic_params();
        let credit = topic.time_in_mesh_weight * topic.time_in_mesh_cap
            + topic.first_message_deliveries_weight * topic.first_message_deliveries_cap;
        assert!(-topic.invalid_message_deliveries_weight < credit);
    }
}

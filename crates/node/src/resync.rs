//! Periodic re-sync of followed feeds: the safety net under gossip.
//!
//! Gossip delivers new entries of followed feeds as they are posted; a feed can still fall
//! behind (we were offline, partitioned, or a message was lost), so every followed feed is
//! checked against the DHT (head lookup, providers, fetch) from time to time. With thousands
//! of follows that must stay cheap: each check costs a few DHT queries, so
//!
//! * checks are paced: at most one per [`TICK`] (4 per second) whatever the number of
//!   follows, so a peer following 10,000 authors spends a bounded, small share of a core;
//! * each feed has its own interval, starting at the profile's base (15 s in the test
//!   profile, 5 minutes otherwise): a feed whose seq did not move since its last check is
//!   checked half as often next time, up to [`MAX_BACKOFF`] times the base; a feed that
//!   moved goes back to the base interval;
//! * a feed that gossip advanced within the last base interval is not checked at all (it is
//!   current), only rescheduled;
//! * first checks are spread over one base interval, so a start or a burst of follows does
//!   not turn into a burst of DHT queries.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use kith_proto::AuthorId;

use crate::node::Node;
use crate::sync;

/// At most one periodic check starts per tick.
pub(crate) const TICK: Duration = Duration::from_millis(250);
/// A quiet feed's interval grows to at most this many times the base interval.
pub(crate) const MAX_BACKOFF: u32 = 32;
/// How often the list of followed authors is read again.
const REFRESH_FOLLOWING: Duration = Duration::from_secs(5);

/// When one followed feed is checked next.
#[derive(Debug, Clone, Copy)]
struct Schedule {
    next: Instant,
    interval: Duration,
    /// The feed's seq at the last check (or when it was first scheduled).
    seq_at_check: u64,
}

/// The schedule of every followed feed.
pub(crate) struct Resync {
    base: Duration,
    feeds: HashMap<AuthorId, Schedule>,
    /// `(next, author)` of every feed, soonest first.
    queue: BTreeSet<(Instant, AuthorId)>,
}

/// What to do with a feed that is due.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Due {
    /// Ask the network.
    Check(AuthorId),
    /// Gossip keeps it current; rescheduled without a check.
    Skip,
}

impl Resync {
    pub(crate) fn new(base: Duration) -> Self {
        Self {
            base,
            feeds: HashMap::new(),
            queue: BTreeSet::new(),
        }
    }

    /// Makes the schedule follow `following`: new feeds get a first check somewhere in the
    /// next base interval (spread by their key), unfollowed feeds are dropped.
    pub(crate) fn set_following(
        &mut self,
        following: &[AuthorId],
        now: Instant,
        seq_of: impl Fn(&AuthorId) -> u64,
    ) {
        let keep: std::collections::HashSet<&AuthorId> = following.iter().collect();
        let queue = &mut self.queue;
        self.feeds.retain(|author, schedule| {
            let kept = keep.contains(author);
            if !kept {
                queue.remove(&(schedule.next, *author));
            }
            kept
        });
        let base_ms = self.base.as_millis().max(1) as u64;
        for author in following {
            if self.feeds.contains_key(author) {
                continue;
            }
            // The key's first bytes are uniformly distributed: a cheap, stable spread.
            let mut spread = [0u8; 8];
            spread.copy_from_slice(&author.as_bytes()[..8]);
            let next =
                now + self.base / 2 + Duration::from_millis(u64::from_le_bytes(spread) % base_ms);
            self.feeds.insert(
                *author,
                Schedule {
                    next,
                    interval: self.base,
                    seq_at_check: seq_of(author),
                },
            );
            self.queue.insert((next, *author));
        }
    }

    /// The feed due first, if one is due at `now`, and what to do with it; reschedules it.
    /// `seq_of` is the feed's seq now, `heard_at` when gossip last advanced it.
    pub(crate) fn next_due(
        &mut self,
        now: Instant,
        seq_of: impl Fn(&AuthorId) -> u64,
        heard_at: impl Fn(&AuthorId) -> Option<Instant>,
    ) -> Option<Due> {
        let &(next, author) = self.queue.first().filter(|(next, _)| *next <= now)?;
        self.queue.remove(&(next, author));
        let base = self.base;
        let schedule = self.feeds.get_mut(&author)?;
        let seq = seq_of(&author);
        let moved = seq != schedule.seq_at_check;
        schedule.interval = if moved {
            base
        } else {
            (schedule.interval * 2).min(base * MAX_BACKOFF)
        };
        schedule.seq_at_check = seq;
        schedule.next = now + schedule.interval;
        self.queue.insert((schedule.next, author));
        let fresh = heard_at(&author).is_some_and(|at| now.saturating_duration_since(at) < base);
        Some(if fresh { Due::Skip } else { Due::Check(author) })
    }

    /// Feeds scheduled.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.feeds.len()
    }

    /// The interval of a feed.
    #[cfg(test)]
    fn interval(&self, author: &AuthorId) -> Option<Duration> {
        self.feeds.get(author).map(|s| s.interval)
    }
}

/// Runs the periodic re-sync of `node`'s followed feeds until the node stops.
pub(crate) fn spawn(node: &Node, base: Duration) {
    let node = node.clone();
    let mut stop = node.inner.stop.subscribe();
    tokio::spawn(async move {
        let mut resync = Resync::new(base);
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refreshed: Option<Instant> = None;
        let inner = &node.inner;
        let seq_of =
            |author: &AuthorId| inner.store.head(author).ok().flatten().map_or(0, |h| h.seq);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            let now = Instant::now();
            if refreshed.is_none_or(|at| now.duration_since(at) >= REFRESH_FOLLOWING) {
                refreshed = Some(now);
                if let Ok(following) = inner.store.following(&inner.author) {
                    resync.set_following(&following, now, seq_of);
                }
            }
            // Skipped feeds cost nothing: go on until one check starts or none is due.
            loop {
                let due = resync.next_due(now, seq_of, |author| {
                    inner
                        .last_heard
                        .lock()
                        .ok()
                        .and_then(|heard| heard.get(author).copied())
                });
                match due {
                    Some(Due::Check(author)) => {
                        sync::spawn_periodic_check(&node, author);
                        break;
                    }
                    Some(Due::Skip) => continue,
                    None => break,
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use kith_proto::Keypair;

    fn author(i: u8) -> AuthorId {
        Keypair::from_seed(&[i; 32]).author()
    }

    const BASE: Duration = Duration::from_secs(10);

    #[test]
    fn first_checks_are_spread_over_one_base_interval() {
        let mut resync = Resync::new(BASE);
        let start = Instant::now();
        let authors: Vec<AuthorId> = (1..=50).map(author).collect();
        resync.set_following(&authors, start, |_| 0);
        assert_eq!(resync.len(), 50);
        // Nothing is due before half the base interval.
        assert_eq!(
            resync.next_due(start + BASE / 2 - Duration::from_millis(1), |_| 0, |_| None),
            None
        );
        // All are due by 1.5 base intervals, one at a time.
        let mut checked = 0;
        while let Some(due) = resync.next_due(start + BASE * 3 / 2, |_| 0, |_| None) {
            assert!(matches!(due, Due::Check(_)));
            checked += 1;
            assert!(checked <= 50, "a feed was due twice");
        }
        assert_eq!(checked, 50);
    }

    #[test]
    fn a_quiet_feed_backs_off_and_a_moving_one_returns_to_the_base() {
        let mut resync = Resync::new(BASE);
        let a = author(1);
        let mut now = Instant::now();
        resync.set_following(&[a], now, |_| 5);
        let mut expected = BASE;
        for _ in 0..8 {
            now += BASE * MAX_BACKOFF * 2;
            assert_eq!(resync.next_due(now, |_| 5, |_| None), Some(Due::Check(a)));
            expected = (expected * 2).min(BASE * MAX_BACKOFF);
            assert_eq!(resync.interval(&a), Some(expected));
        }
        assert_eq!(resync.interval(&a), Some(BASE * MAX_BACKOFF));
        now += BASE * MAX_BACKOFF;
        // The feed moved since the last check: back to the base interval.
        assert_eq!(resync.next_due(now, |_| 6, |_| None), Some(Due::Check(a)));
        assert_eq!(resync.interval(&a), Some(BASE));
    }

    #[test]
    fn a_feed_gossip_keeps_current_is_skipped_and_unfollowed_feeds_are_dropped() {
        let mut resync = Resync::new(BASE);
        let (a, b) = (author(1), author(2));
        let start = Instant::now();
        resync.set_following(&[a, b], start, |_| 0);
        let now = start + BASE * 2;
        let heard = |x: &AuthorId| (*x == a).then_some(now - Duration::from_secs(1));
        let mut dues = Vec::new();
        while let Some(due) = resync.next_due(now, |_| 0, heard) {
            dues.push(due);
        }
        assert_eq!(dues.len(), 2);
        assert!(dues.contains(&Due::Skip));
        assert!(dues.contains(&Due::Check(b)));
        resync.set_following(&[b], now, |_| 0);
        assert_eq!(resync.len(), 1);
        assert_eq!(resync.interval(&a), None);
    }
}

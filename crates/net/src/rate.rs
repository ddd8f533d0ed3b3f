//! Token buckets per key (a peer, an author): `burst` requests at once, then one more every
//! `refill`. The table is bounded: when it is full, keys whose buckets have filled up again
//! are forgotten (they lose nothing); if none has, a new key is refused until one does, so an
//! attacker with many identities cannot grow it.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Per-key token buckets with a bounded number of keys.
#[derive(Debug)]
pub struct TokenBuckets<K> {
    burst: f64,
    refill: Duration,
    max_keys: usize,
    buckets: HashMap<K, (f64, Instant)>,
}

impl<K: Eq + Hash> TokenBuckets<K> {
    /// Buckets of `burst` tokens, one token back every `refill`, at most `max_keys` keys.
    pub fn new(burst: u32, refill: Duration, max_keys: usize) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            refill: refill.max(Duration::from_micros(1)),
            max_keys: max_keys.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Whether `key` may do one more thing now (and takes the token if so).
    pub fn allow(&mut self, key: K) -> bool {
        self.allow_at(key, Instant::now())
    }

    /// [`TokenBuckets::allow`] at a given instant (tests).
    pub fn allow_at(&mut self, key: K, now: Instant) -> bool {
        if self.buckets.len() >= self.max_keys && !self.buckets.contains_key(&key) {
            let full_after = self.refill.mul_f64(self.burst);
            self.buckets
                .retain(|_, (_, at)| now.saturating_duration_since(*at) < full_after);
            if self.buckets.len() >= self.max_keys {
                return false;
            }
        }
        let (tokens, at) = self.buckets.entry(key).or_insert((self.burst, now));
        let refilled = now.saturating_duration_since(*at).as_secs_f64() / self.refill.as_secs_f64();
        *tokens = (*tokens + refilled).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Keys tracked now.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no key is tracked.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_per_refill() {
        let mut buckets = TokenBuckets::new(3, Duration::from_secs(1), 10);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(buckets.allow_at("a", start));
        }
        assert!(!buckets.allow_at("a", start), "the burst is spent");
        assert!(buckets.allow_at("b", start), "keys are independent");
        assert!(!buckets.allow_at("a", start + Duration::from_millis(500)));
        assert!(buckets.allow_at("a", start + Duration::from_millis(1600)));
    }

    #[test]
    fn the_table_is_bounded_and_forgets_full_buckets() {
        let mut buckets = TokenBuckets::new(2, Duration::from_secs(1), 2);
        let start = Instant::now();
        assert!(buckets.allow_at(1, start));
        assert!(buckets.allow_at(2, start));
        assert!(
            !buckets.allow_at(3, start),
            "full, and nobody's bucket is full again"
        );
        assert_eq!(buckets.len(), 2);
        // After 2 s both buckets are full again: they are forgotten, 3 gets a place.
        assert!(buckets.allow_at(3, start + Duration::from_secs(2)));
        assert_eq!(buckets.len(), 1);
    }
}

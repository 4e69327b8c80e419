//! Rate limits per caller × API, as approved in the application: a token bucket (GCRA, `governor`).

use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    state::{InMemoryState, NotKeyed},
};
use std::{
    collections::HashMap,
    num::NonZeroU32,
    sync::{Arc, Mutex},
    time::Duration,
};

type Bucket = RateLimiter<NotKeyed, InMemoryState, DefaultClock>;

/// A caller's bucket for one API, with the rate it was made for.
type RatedBucket = (u32, Arc<Bucket>);

/// One bucket per `(caller, api)`. Each approval carries its own rate, so the buckets are direct
/// limiters in a map (a keyed limiter has a single quota); a changed rate starts a fresh bucket.
#[derive(Default)]
pub struct RateLimits {
    buckets: Mutex<HashMap<(String, String), RatedBucket>>,
}

impl RateLimits {
    /// Takes one token; `Err(wait)` when the bucket is empty. A rate of 0 admits nothing.
    pub fn check(&self, caller: &str, api: &str, per_minute: u32) -> Result<(), Duration> {
        let Some(rate) = NonZeroU32::new(per_minute) else {
            return Err(Duration::from_secs(60));
        };
        let bucket = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
            let entry = buckets
                .entry((caller.to_owned(), api.to_owned()))
                .or_insert_with(|| {
                    (
                        per_minute,
                        Arc::new(RateLimiter::direct(Quota::per_minute(rate))),
                    )
                });
            if entry.0 != per_minute {
                *entry = (
                    per_minute,
                    Arc::new(RateLimiter::direct(Quota::per_minute(rate))),
                );
            }
            entry.1.clone()
        };
        bucket
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Whole seconds for `Retry-After`, never 0.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.is_zero()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_holds_the_rate_per_caller_and_api() {
        let limits = RateLimits::default();
        for _ in 0..3 {
            assert!(limits.check("a", "api", 3).is_ok());
        }
        let wait = limits.check("a", "api", 3).unwrap_err();
        assert!(
            wait <= Duration::from_secs(20) && wait > Duration::from_secs(15),
            "{wait:?}"
        );
        assert!(
            limits.check("b", "api", 3).is_ok(),
            "another caller has its own bucket"
        );
        assert!(
            limits.check("a", "other", 3).is_ok(),
            "another API has its own bucket"
        );
        assert!(limits.check("a", "api", 0).is_err());
        assert_eq!(retry_after_secs(Duration::from_millis(19_200)), 20);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(20)), 20);
    }
}

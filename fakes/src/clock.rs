//! The fakes' clock: real time plus an offset that tests move forward.
//!
//! Everything time-driven in a fake — virtual-account due dates, payment-window expiry,
//! webhook retries, record TTLs — reads this clock, so a test can jump three days ahead
//! instead of waiting for them.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, FixedOffset, Utc};

/// Korean Standard Time, in which both PGs write their times.
pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// Real time shifted by an adjustable offset.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// The fake's current time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// The fake's current time in milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// The fake's current time in KST, whole seconds, as the PGs write it.
    pub fn now_kst(&self) -> DateTime<FixedOffset> {
        let now = self.now().with_timezone(&kst());
        now - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos()))
    }

    /// How far the clock is ahead of real time.
    pub fn offset(&self) -> Duration {
        Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward. Negative amounts are refused by the callers: time in a fake
    /// only moves on, as it does at a PG.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }

    /// Puts the clock back to real time.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_and_kst_has_whole_seconds() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::hours(2));
        let after = clock.now();
        assert!(after - before >= Duration::hours(2));
        assert_eq!(clock.offset(), Duration::hours(2));
        assert_eq!(clock.now_kst().timestamp_subsec_nanos(), 0);
        assert_eq!(clock.now_kst().offset().local_minus_utc(), 9 * 3600);
        clock.reset();
        assert_eq!(clock.offset(), Duration::zero());
    }
}

//! A rate limit per source address on the PGs' notification routes.
//!
//! Those routes take unauthenticated requests, and each notification costs a request to
//! the PG (the server re-reads the payment rather than trusting the body). Whoever can reach
//! the server could make it call the PG as fast as it can post; this bounds that work per
//! source address (IPv6 addresses per /64, which one host usually holds whole), and answers
//! the excess `429` with a JSON error and `Retry-After`. A PG sends from a few addresses at
//! rates far below the default limit.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{Quota, RateLimiter};

use super::error::ApiError;
use crate::config::Intake;

/// Source addresses remembered before the idle ones are forgotten.
const REMEMBERED: usize = 10_000;

/// The limiter of the notification routes.
#[derive(Debug)]
pub struct Throttle {
    limiter:
        RateLimiter<IpAddr, governor::state::keyed::DefaultKeyedStateStore<IpAddr>, DefaultClock>,
    clock: DefaultClock,
}

impl Throttle {
    pub fn new(intake: &Intake) -> Self {
        let per_second = NonZeroU32::new(intake.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(intake.burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            clock: DefaultClock::default(),
        }
    }
}

/// The key of a source address: itself, or its /64 for IPv6.
fn source_key(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Lets a request through, or answers 429 when its source address is over its rate.
/// Without the peer's address (a router served without it), all requests share one limit.
pub async fn limit(
    State(throttle): State<Arc<Throttle>>,
    request: Request,
    next: Next,
) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
    let limiter = &throttle.limiter;
    if limiter.len() > REMEMBERED {
        limiter.retain_recent();
        limiter.shrink_to_fit();
    }
    match limiter.check_key(&source_key(address)) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(throttle.clock.now());
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many notifications from this address; retry later",
            )
            .into_response();
            let seconds = wait.as_secs() + 1;
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_sources_are_counted_per_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(source_key(a), source_key(b));
        assert_ne!(source_key(a), source_key(c));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(source_key(v4), v4);
        assert_eq!(source_key("::ffff:203.0.113.7".parse().unwrap()), v4);
    }
}

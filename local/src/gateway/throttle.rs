//! Stage throttling as API Gateway does it: a token bucket per route (`DefaultRouteSettings`,
//! or the route's own `RouteSettings`), `burst` tokens deep and refilled at `rate` a second,
//! shared by every client of the route. A request finding the bucket empty gets
//! `429 {"message":"Too Many Requests"}` before any authorizer or function runs.

use std::sync::Mutex;

use tokio::time::Instant;

use super::definition::Throttle;

#[derive(Debug)]
pub struct Bucket {
    limit: Throttle,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    pub fn new(limit: Throttle) -> Self {
        Self {
            limit,
            state: Mutex::new((f64::from(limit.burst), Instant::now())),
        }
    }

    /// Takes one token; `false` when there is none (the request is throttled).
    pub fn take(&self) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return true;
        };
        let now = Instant::now();
        let (tokens, last) = *state;
        let refilled = (tokens + now.duration_since(last).as_secs_f64() * self.limit.rate)
            .min(f64::from(self.limit.burst));
        if refilled >= 1.0 {
            *state = (refilled - 1.0, now);
            true
        } else {
            *state = (refilled, now);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_served_then_the_rate() {
        let bucket = Bucket::new(Throttle {
            rate: 10.0,
            burst: 5,
        });
        assert_eq!((0..8).filter(|_| bucket.take()).count(), 5);
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!((0..8).filter(|_| bucket.take()).count(), 2);
        let none = Bucket::new(Throttle {
            rate: 0.0,
            burst: 0,
        });
        assert!(!none.take());
    }
}

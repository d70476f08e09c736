//! Login throttling as Auth0 applies it, and a bound on the password hashes running at once.
//!
//! - **Brute-force protection** counts consecutive failed logins per (account, address):
//!   after [`MAX_ATTEMPTS`] (Auth0's default, 10) that account is blocked *from that
//!   address*; other addresses are unaffected, and a success resets the count. Auth0 lifts
//!   the block by an e-mailed link or an administrator; the dev tenant sends no e-mail, so
//!   the block lasts until the local stack restarts.
//! - **Suspicious-IP throttling** counts failed logins per address across accounts: a bucket
//!   of [`IP_CAPACITY`] attempts (Auth0's 100 a day) refilled by one every [`IP_REFILL`]
//!   (Auth0's rate, 864,000 ms); an empty bucket refuses the address.
//! - Each argon2 check takes 19 MiB: at most [`max_hashes`] run at once, beyond that the
//!   login answers 429 with `Retry-After` instead of queueing.
//!
//! An attempt is counted as a failure *before* the password is hashed, in the same lock as the
//! check, and given back on success: forty guesses sent at once are forty counted attempts,
//! not forty checks of a count that none of them has raised yet.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Consecutive failures of one account from one address before it is blocked there.
pub const MAX_ATTEMPTS: u32 = 10;
/// Failed logins one address may make across accounts before it is throttled.
pub const IP_CAPACITY: f64 = 100.0;
/// One more attempt for a throttled address every so often.
pub const IP_REFILL: Duration = Duration::from_millis(864_000);
/// Past this many (account, address) records, records that block nothing are dropped.
const MAX_RECORDS: usize = 100_000;

/// Password hashes allowed at once: two per core, at least two.
pub fn max_hashes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

/// Why a login attempt is refused before its password is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Brute-force protection: this account from this address.
    Blocked,
    /// Suspicious-IP throttling: this address, for any account, for about `retry_after`.
    Throttled { retry_after: Duration },
    /// Too many password checks are running right now.
    Busy,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn refill(&mut self, now: Instant) {
        let gained = now.duration_since(self.updated).as_secs_f64() / IP_REFILL.as_secs_f64();
        self.tokens = (self.tokens + gained).min(IP_CAPACITY);
        self.updated = now;
    }
}

#[derive(Default)]
struct Counts {
    /// Consecutive failures (attempts in flight included) per (account, address).
    failures: HashMap<(String, IpAddr), u32>,
    /// What each address has left.
    addresses: HashMap<IpAddr, Bucket>,
}

pub struct LoginThrottle {
    counts: Mutex<Counts>,
    hashing: Arc<Semaphore>,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        Self::new(max_hashes())
    }
}

impl LoginThrottle {
    pub fn new(max_hashes: usize) -> Self {
        Self {
            counts: Mutex::new(Counts::default()),
            hashing: Arc::new(Semaphore::new(max_hashes)),
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts a login attempt for `account` from `address`: refused, or counted as a failure
    /// until [`Attempt::succeeded`] says otherwise, with a permit to hash one password.
    pub fn begin(&self, account: &str, address: IpAddr) -> Result<Attempt<'_>, Refusal> {
        let now = Instant::now();
        let mut guard = self.counts();
        let counts = &mut *guard;
        let key = (account.to_string(), address);
        if counts
            .failures
            .get(&key)
            .is_some_and(|n| *n >= MAX_ATTEMPTS)
        {
            return Err(Refusal::Blocked);
        }
        let bucket = counts.addresses.entry(address).or_insert(Bucket {
            tokens: IP_CAPACITY,
            updated: now,
        });
        bucket.refill(now);
        if bucket.tokens < 1.0 {
            let wait = (1.0 - bucket.tokens) * IP_REFILL.as_secs_f64();
            return Err(Refusal::Throttled {
                retry_after: Duration::from_secs_f64(wait.ceil()),
            });
        }
        let Ok(permit) = self.hashing.clone().try_acquire_owned() else {
            return Err(Refusal::Busy);
        };
        bucket.tokens -= 1.0;
        if counts.failures.len() >= MAX_RECORDS {
            counts.failures.retain(|_, n| *n >= MAX_ATTEMPTS);
        }
        *counts.failures.entry(key.clone()).or_insert(0) += 1;
        Ok(Attempt {
            throttle: self,
            key,
            _permit: permit,
        })
    }

    fn give_back(&self, key: &(String, IpAddr)) {
        let mut counts = self.counts();
        counts.failures.remove(key);
        if let Some(bucket) = counts.addresses.get_mut(&key.1) {
            bucket.tokens = (bucket.tokens + 1.0).min(IP_CAPACITY);
        }
    }
}

/// A counted login attempt holding a hashing permit. Dropped without [`Attempt::succeeded`],
/// it stays counted as a failure.
pub struct Attempt<'t> {
    throttle: &'t LoginThrottle,
    key: (String, IpAddr),
    _permit: OwnedSemaphorePermit,
}

impl Attempt<'_> {
    /// The password was right: the account's count from this address starts over and the
    /// address gets its attempt back (Auth0 counts failures only).
    pub fn succeeded(self) {
        self.throttle.give_back(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const THERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

    #[test]
    fn ten_failures_block_the_account_from_that_address_only() {
        let throttle = LoginThrottle::new(64);
        for _ in 0..MAX_ATTEMPTS {
            drop(throttle.begin("ann@example.com", HERE).unwrap());
        }
        assert_eq!(
            throttle.begin("ann@example.com", HERE).err(),
            Some(Refusal::Blocked)
        );
        // Another address, and another account from this address, are unaffected.
        throttle
            .begin("ann@example.com", THERE)
            .unwrap()
            .succeeded();
        throttle.begin("bob@example.com", HERE).unwrap().succeeded();
        assert_eq!(
            throttle.begin("ann@example.com", HERE).err(),
            Some(Refusal::Blocked)
        );
    }

    #[test]
    fn a_success_resets_the_consecutive_count() {
        let throttle = LoginThrottle::new(64);
        for _ in 0..MAX_ATTEMPTS - 1 {
            drop(throttle.begin("ann@example.com", HERE).unwrap());
        }
        throttle.begin("ann@example.com", HERE).unwrap().succeeded();
        for _ in 0..MAX_ATTEMPTS - 1 {
            drop(throttle.begin("ann@example.com", HERE).unwrap());
        }
        assert!(throttle.begin("ann@example.com", HERE).is_ok());
    }

    #[test]
    fn an_address_failing_across_accounts_is_throttled() {
        let throttle = LoginThrottle::new(64);
        for i in 0..IP_CAPACITY as usize {
            drop(
                throttle
                    .begin(&format!("user{i}@example.com"), HERE)
                    .unwrap(),
            );
        }
        match throttle.begin("new@example.com", HERE) {
            Err(Refusal::Throttled { retry_after }) => {
                assert!(retry_after <= IP_REFILL && retry_after > Duration::ZERO)
            }
            other => panic!("expected throttling, got {:?}", other.err()),
        }
        assert!(throttle.begin("new@example.com", THERE).is_ok());
    }

    #[test]
    fn attempts_are_counted_while_their_hash_runs() {
        // Forty attempts in flight at once, none finished: only the first ten get a permit to
        // check a password; the others are refused without hashing.
        let throttle = LoginThrottle::new(64);
        let mut in_flight = Vec::new();
        let mut blocked = 0;
        for _ in 0..40 {
            match throttle.begin("ann@example.com", HERE) {
                Ok(attempt) => in_flight.push(attempt),
                Err(Refusal::Blocked) => blocked += 1,
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!((in_flight.len(), blocked), (MAX_ATTEMPTS as usize, 30));
    }

    #[test]
    fn hashes_beyond_the_bound_are_refused_not_queued() {
        let throttle = LoginThrottle::new(2);
        let a = throttle.begin("a@example.com", HERE).unwrap();
        let b = throttle.begin("b@example.com", HERE).unwrap();
        assert_eq!(
            throttle.begin("c@example.com", HERE).err(),
            Some(Refusal::Busy)
        );
        a.succeeded();
        drop(b);
        assert!(throttle.begin("c@example.com", HERE).is_ok());
    }
}

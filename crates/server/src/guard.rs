//! Defences of everything that checks a secret: sign-in (citizens, staff, gateway
//! accounts) and code entry (activation codes). Attempts are counted per client address,
//! per account and per (account, address), each with growing delays instead of a lock
//! that anyone who knows an account name could trigger. An attempt is counted before
//! its secret is checked, under one lock, so that concurrent attempts cannot slip past
//! the count. Password checks wait in separate queues per kind of caller, so that a
//! flood on one (say the gateway's) does not starve the others.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use tokio::sync::{Semaphore, SemaphorePermit};

/// How one kind of key is throttled.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Failures allowed without any delay.
    pub free: u32,
    /// Delay after the first failure past `free`; doubled at each further one.
    pub base_ms: i64,
    /// Longest delay.
    pub max_ms: i64,
    /// Failures older than this are forgotten.
    pub window_ms: i64,
}

/// The failures of one (account, client address): a guesser at one place is slowed
/// down fast and for long.
pub const PAIR: Policy = Policy {
    free: 5,
    base_ms: 2_000,
    max_ms: 15 * 60_000,
    window_ms: 60 * 60_000,
};

/// The failures of one account from anywhere: more allowed, and a short longest delay,
/// so that someone spreading guesses over many addresses is slowed to about one a
/// minute while the account's owner waits at most a minute.
pub const ACCOUNT: Policy = Policy {
    free: 20,
    base_ms: 1_000,
    max_ms: 60_000,
    window_ms: 24 * 60 * 60_000,
};

/// The failures of one client address over every account (spraying).
pub const ADDRESS: Policy = Policy {
    free: 30,
    base_ms: 1_000,
    max_ms: 60 * 60_000,
    window_ms: 60 * 60_000,
};

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    failures: u32,
    last: i64,
}

impl Entry {
    /// When the next attempt may be made.
    fn next_allowed(&self, p: &Policy) -> i64 {
        if self.failures < p.free {
            return i64::MIN;
        }
        let over = (self.failures - p.free).min(30);
        self.last + (p.base_ms << over).min(p.max_ms)
    }
}

/// Most keys remembered; past it the oldest half is forgotten.
const MAX_KEYS: usize = 200_000;

/// The attempt counters of one process.
#[derive(Default)]
pub struct Throttle {
    entries: Mutex<HashMap<String, Entry>>,
}

/// An attempt that was let through: it counts as a failure unless [`Attempt::succeeded`]
/// is called.
#[must_use]
pub struct Attempt<'a> {
    throttle: &'a Throttle,
    keys: Vec<(String, Policy)>,
}

impl Throttle {
    /// Count an attempt on every key, or refuse it with the milliseconds to wait.
    pub fn begin(&self, keys: &[(String, Policy)], now: i64) -> Result<Attempt<'_>, i64> {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        for (key, p) in keys {
            if let Some(e) = map.get_mut(key) {
                if now - e.last > p.window_ms {
                    *e = Entry::default();
                }
                wait = wait.max(e.next_allowed(p).saturating_sub(now));
            }
        }
        if wait > 0 {
            return Err(wait);
        }
        if map.len() + keys.len() > MAX_KEYS {
            let mut lasts: Vec<i64> = map.values().map(|e| e.last).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            map.retain(|_, e| e.last > cut);
        }
        for (key, _) in keys {
            let e = map.entry(key.clone()).or_default();
            e.failures += 1;
            e.last = now;
        }
        Ok(Attempt {
            throttle: self,
            keys: keys.to_vec(),
        })
    }
}

impl Attempt<'_> {
    /// The secret was right: the account's counters start again, and the address's
    /// count forgets this attempt.
    pub fn succeeded(self) {
        let mut map = self
            .throttle
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (key, _) in &self.keys {
            if key.starts_with("ip:") {
                if let Some(e) = map.get_mut(key) {
                    e.failures = e.failures.saturating_sub(1);
                }
            } else {
                map.remove(key);
            }
        }
    }

    /// The attempt did not check the secret (an error on our side): forget it.
    pub fn void(self) {
        let mut map = self
            .throttle
            .entries
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for (key, _) in &self.keys {
            if let Some(e) = map.get_mut(key) {
                e.failures = e.failures.saturating_sub(1);
            }
        }
    }
}

/// The keys of an attempt on `account` (of kind `kind`: "citizen", "staff", "gateway",
/// "activation") from `ip`.
pub fn keys(kind: &str, account: &str, ip: IpAddr) -> Vec<(String, Policy)> {
    let account = account.trim().to_lowercase();
    vec![
        (format!("ip:{kind}:{ip}"), ADDRESS),
        (format!("acct:{kind}:{account}"), ACCOUNT),
        (format!("pair:{kind}:{account}:{ip}"), PAIR),
    ]
}

/// The client's address: the TCP peer (a reverse proxy in front hides it; see
/// docs/OPERATIONS.md).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip())
                .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)),
        ))
    }
}

/// Password checks (argon2, ~45 ms of CPU each): one queue per kind of caller, one check
/// at a time in each, so that a flood of one kind leaves the others their share.
pub struct Checks {
    pub gateway: Semaphore,
    pub citizen: Semaphore,
    pub staff: Semaphore,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            gateway: Semaphore::new(1),
            citizen: Semaphore::new(1),
            staff: Semaphore::new(1),
        }
    }
}

/// Wait for a place in `queue`, at most 10 s (then the caller answers "busy").
pub async fn enter(queue: &Semaphore) -> Option<SemaphorePermit<'_>> {
    tokio::time::timeout(Duration::from_secs(10), queue.acquire())
        .await
        .ok()?
        .ok()
}

/// "Try again in …" in Vietnamese.
pub fn wait_text(ms: i64) -> String {
    let s = (ms + 999) / 1000;
    if s < 120 {
        format!("{s} giây")
    } else {
        format!("{} phút", (s + 59) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_past_the_free_ones_wait_longer_each_time() {
        let t = Throttle::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let k = keys("citizen", "001", ip);
        for _ in 0..PAIR.free {
            drop(t.begin(&k, 1_000).unwrap());
        }
        let wait = t.begin(&k, 1_000).err().unwrap();
        assert_eq!(wait, PAIR.base_ms);
        drop(t.begin(&k, 1_000 + PAIR.base_ms).unwrap());
        assert_eq!(
            t.begin(&k, 1_000 + PAIR.base_ms).err().unwrap(),
            2 * PAIR.base_ms
        );
        // Another address is not slowed down by this one's failures.
        let other = keys("citizen", "001", "10.0.0.9".parse().unwrap());
        t.begin(&other, 1_000 + PAIR.base_ms).unwrap().succeeded();
        // Success elsewhere clears the account's count, not this address's.
        assert!(t.begin(&k, 1_000 + PAIR.base_ms).is_err());
    }
}

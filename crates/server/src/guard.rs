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
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
            // Forget the oldest half of the keys that impose no delay now (a flood of new
            // keys must not wipe out the penalties in force).
            let mut lasts: Vec<i64> = map.values().map(|e| e.last).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            map.retain(|key, e| {
                e.last > cut || keys_policy(key).is_some_and(|p| e.next_allowed(&p) > now)
            });
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

/// The policy of a key, from its prefix.
fn keys_policy(key: &str) -> Option<Policy> {
    match key.split(':').next()? {
        "ip" => Some(ADDRESS),
        "acct" => Some(ACCOUNT),
        "pair" => Some(PAIR),
        _ => None,
    }
}

/// The keys of an attempt on `account` (of kind `kind`: "citizen", "staff", "gateway",
/// "activation") from `ip`. The account name is hashed (a 100 MB "personal ID" costs 32
/// bytes here), and an IPv6 address counts by its /64 (one subscriber's network).
pub fn keys(kind: &str, account: &str, ip: IpAddr) -> Vec<(String, Policy)> {
    let account = store::hash_hex(&[&account.trim().to_lowercase()]);
    let account = &account[..32];
    let ip = match ip {
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        other => other.to_canonical().to_string(),
    };
    vec![
        (format!("ip:{kind}:{ip}"), ADDRESS),
        (format!("acct:{kind}:{account}"), ACCOUNT),
        (format!("pair:{kind}:{account}:{ip}"), PAIR),
    ]
}

/// The client's address: the TCP peer, or, when the peer is one of the configured
/// trusted proxies (`Config::trusted_proxies`), the nearest address in
/// `X-Forwarded-For` that is not one of them.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// The TCP peer of a request.
pub fn peer(parts: &Parts) -> IpAddr {
    parts
        .extensions
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
        .unwrap_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED))
}

/// The client behind `peer`, as the trusted proxies say.
pub fn client_of(peer: IpAddr, headers: &axum::http::HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|h| h.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// The TCP peer itself (for what only this machine may do).
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(peer(parts)))
    }
}

impl FromRequestParts<std::sync::Arc<crate::App>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &std::sync::Arc<crate::App>,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_of(
            peer(parts),
            &parts.headers,
            &app.config.trusted_proxies,
        )))
    }
}

/// Password checks (argon2, ~45 ms of CPU each): one queue per kind of caller, one check
/// at a time in each, so that a flood of one kind leaves the others their share.
/// The permits are owned and moved into the blocking task that checks the password, so
/// that a client who hangs up does not free its place while the check still runs.
pub struct Checks {
    pub gateway: Arc<Semaphore>,
    pub citizen: Arc<Semaphore>,
    pub staff: Arc<Semaphore>,
}

impl Default for Checks {
    fn default() -> Self {
        Checks {
            gateway: Arc::new(Semaphore::new(1)),
            citizen: Arc::new(Semaphore::new(1)),
            staff: Arc::new(Semaphore::new(1)),
        }
    }
}

/// Wait for a place in `queue`, at most 10 s (then the caller answers "busy").
pub async fn enter(queue: &Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
    tokio::time::timeout(Duration::from_secs(10), queue.clone().acquire_owned())
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

    #[test]
    fn a_trusted_proxy_names_the_client_and_nobody_else_does() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7".parse().unwrap(),
        );
        // The nearest hop that is not a trusted proxy.
        assert_eq!(
            client_of(proxy, &h, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // Without trust, the header is anyone's word.
        assert_eq!(client_of(proxy, &h, &[]), proxy);
        // IPv6 counts by /64; a long account name costs a fixed-size key.
        let a = keys(
            "citizen",
            &"9".repeat(10_000),
            "2001:db8:1:2:3:4:5:6".parse().unwrap(),
        );
        let b = keys(
            "citizen",
            &"9".repeat(10_000),
            "2001:db8:1:2:ffff::1".parse().unwrap(),
        );
        assert_eq!(a[0].0, b[0].0);
        assert!(a.iter().all(|(k, _)| k.len() < 120));
    }
}

//! The gateway's token checks, remembered for a few seconds: every submission names
//! its token, and reading it from the store each time cost a blocking hop and a
//! query per request.
//!
//! Only tokens this process issued are remembered, because only for those is the
//! expiry known here: an answer is kept until the token expires or [`RECHECK_MS`]
//! have passed, whichever comes first, so an expired token is refused at once and an
//! account changed by another process (a reset to another facility) is seen within
//! [`RECHECK_MS`]. Nothing in this process revokes a gateway token. A token issued
//! elsewhere (another instance, before a restart) is checked in the store each time.
//! Both maps are bounded.

use std::collections::HashMap;
use std::sync::Mutex;

use store::Account;

/// How long a check is trusted before the store is asked again.
pub const RECHECK_MS: i64 = 5_000;
/// Entries kept at most in each map (expired ones are dropped first).
const MAX_ENTRIES: usize = 16_384;

#[derive(Default)]
pub struct TokenCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Access token → its expiry (Unix ms), for the tokens this process issued.
    issued: HashMap<String, i64>,
    /// Access token → the id token and password hash it was checked with, the
    /// account, and until when the answer holds.
    checked: HashMap<String, Checked>,
}

struct Checked {
    id: String,
    password_md5: String,
    account: Account,
    until: i64,
}

fn bound<K, V>(map: &mut HashMap<K, V>, now: i64, until: impl Fn(&V) -> i64) {
    if map.len() >= MAX_ENTRIES {
        map.retain(|_, v| until(v) > now);
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
    }
}

impl TokenCache {
    /// A token this process issued, valid until `expires_at`.
    pub fn issued(&self, access_token: &str, expires_at: i64, now: i64) {
        if let Ok(mut inner) = self.inner.lock() {
            bound(&mut inner.issued, now, |e| *e);
            inner.issued.insert(access_token.to_string(), expires_at);
        }
    }

    /// The account of a live token checked lately, if any.
    pub fn get(&self, access: &str, id: &str, password_md5: &str, now: i64) -> Option<Account> {
        let inner = self.inner.lock().ok()?;
        let c = inner.checked.get(access)?;
        (c.id == id && c.password_md5 == password_md5 && now < c.until).then(|| c.account.clone())
    }

    /// Remember what the store answered for a token (only when this process issued it).
    pub fn checked(&self, access: &str, id: &str, password_md5: &str, account: &Account, now: i64) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let Some(&expires) = inner.issued.get(access) else {
            return;
        };
        let until = expires.min(now + RECHECK_MS);
        if until <= now {
            return;
        }
        bound(&mut inner.checked, now, |c| c.until);
        inner.checked.insert(
            access.to_string(),
            Checked {
                id: id.to_string(),
                password_md5: password_md5.to_string(),
                account: account.clone(),
                until,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        Account {
            username: "bv01001".into(),
            facility: "01001".into(),
        }
    }

    #[test]
    fn kept_until_expiry_or_recheck() {
        let c = TokenCache::default();
        let now = 1_000_000;
        // Not issued here: never remembered.
        c.checked("other", "id", "PW", &account(), now);
        assert!(c.get("other", "id", "PW", now).is_none());
        // Issued here, expiring in 2 s: kept until then, not after.
        c.issued("tok", now + 2_000, now);
        assert!(c.get("tok", "id", "PW", now).is_none());
        c.checked("tok", "id", "PW", &account(), now);
        assert_eq!(
            c.get("tok", "id", "PW", now + 1_999).map(|a| a.facility),
            Some("01001".to_string())
        );
        assert!(c.get("tok", "id", "PW", now + 2_000).is_none());
        // Another id token or password hash is not the same check.
        assert!(c.get("tok", "id2", "PW", now).is_none());
        assert!(c.get("tok", "id", "PW2", now).is_none());
        // A long-lived token is checked again after RECHECK_MS.
        c.issued("long", now + 3_600_000, now);
        c.checked("long", "id", "PW", &account(), now);
        assert!(c.get("long", "id", "PW", now + RECHECK_MS - 1).is_some());
        assert!(c.get("long", "id", "PW", now + RECHECK_MS).is_none());
    }

    #[test]
    fn bounded() {
        let c = TokenCache::default();
        for i in 0..(MAX_ENTRIES + 10) {
            let t = i.to_string();
            c.issued(&t, 5_000, 0);
            c.checked(&t, "id", "PW", &account(), 0);
        }
        let inner = c.inner.lock().unwrap();
        assert!(inner.issued.len() <= MAX_ENTRIES);
        assert!(inner.checked.len() <= MAX_ENTRIES);
    }
}

//! Reminders that reach people (issue 18): the outside delivery channels behind one
//! trait, [`Channel`], and the [`worker`] that drains the store's delivery queue
//! (`store::Notifications`).
//!
//! The in-book channel is the notice itself (`notifications`, always made, read in the
//! citizen's notification centre); the outside channels only say that there is
//! something new in the book ([`book::notify::OUTSIDE_TEXT`]) — never a diagnosis, a
//! vaccine, a result or a place — to the address the person gave for that channel:
//!
//! - [`webhook::Webhook`]: HTTP POST of a small JSON document, the body signed with
//!   HMAC-SHA-256 under a shared secret (an operator's push service or app backend);
//! - [`email::Email`]: e-mail over SMTP (lettre);
//! - [`sms::Sms`]: an SMS gateway's HTTP API (JSON, bearer token).
//!
//! The operator configures them ([`Settings`], the `[notify]` table of
//! `healthbook serve --config`); a channel not configured gets nothing queued.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use serde::Deserialize;

pub mod email;
pub mod sms;
pub mod webhook;
pub mod worker;

pub use worker::{DrainStats, Worker};

/// What a channel sends: no health data, by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The delivery's stable id (`<person>-<delivery>`): the same on a retry, so that a
    /// receiver can drop a repeat.
    pub id: String,
    /// The person's address for this channel (URL-safe subscriber id, e-mail, phone).
    pub to: String,
    pub subject: &'static str,
    pub text: &'static str,
    /// Where the person reads it (the book's sign-in page), when the operator gave a
    /// public URL.
    pub link: Option<String>,
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (network, timeout, 5xx, 429).
    #[error("temporary: {0}")]
    Temporary(String),
    /// Will not work however often tried (bad address, 4xx): a dead letter now.
    #[error("permanent: {0}")]
    Permanent(String),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// One outside delivery channel.
pub trait Channel: Send + Sync {
    /// The stable name the queue and the person's choices use (`webhook`, `email`,
    /// `sms`).
    fn name(&self) -> &'static str;
    /// Send one message.
    fn send<'a>(&'a self, m: &'a Message) -> SendFuture<'a>;
}

/// The Vietnamese label of a channel name (the person's choices page).
pub fn channel_label(name: &str) -> &'static str {
    match name {
        "webhook" => "Ứng dụng trên điện thoại (thông báo đẩy)",
        "email" => "Thư điện tử (e-mail)",
        "sms" => "Tin nhắn SMS",
        _ => "Kênh khác",
    }
}

/// The operator's settings (`[notify]` of the serve configuration).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Seconds between scans of the books for new reminders (0 or unset: no periodic
    /// scan; the CLI `healthbook notify scan` still runs one). `healthbook serve` makes
    /// unset 3600.
    pub scan_interval_secs: Option<u64>,
    /// Seconds the worker waits when the queue has nothing due. Default 5.
    pub poll_secs: Option<u64>,
    /// Seconds a claimed delivery stays the worker's (another server takes it after).
    /// Default 120.
    pub lease_secs: Option<u64>,
    /// Public base URL the messages link to (`https://sskd.example.vn`).
    pub public_url: Option<String>,
    pub webhook: Option<webhook::WebhookSettings>,
    pub email: Option<email::EmailSettings>,
    pub sms: Option<sms::SmsSettings>,
}

impl Settings {
    pub fn scan_interval(&self) -> Option<Duration> {
        match self.scan_interval_secs.unwrap_or(0) {
            0 => None,
            s => Some(Duration::from_secs(s)),
        }
    }

    /// The channels configured.
    pub fn channels(&self) -> Result<Vec<Box<dyn Channel>>, String> {
        let mut out: Vec<Box<dyn Channel>> = Vec::new();
        if let Some(w) = &self.webhook {
            out.push(Box::new(webhook::Webhook::new(w.clone())?));
        }
        if let Some(e) = &self.email {
            out.push(Box::new(email::Email::new(e.clone())?));
        }
        if let Some(s) = &self.sms {
            out.push(Box::new(sms::Sms::new(s.clone())?));
        }
        Ok(out)
    }

    /// The names of the channels configured.
    pub fn channel_names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.webhook.is_some() {
            out.push("webhook");
        }
        if self.email.is_some() {
            out.push("email");
        }
        if self.sms.is_some() {
            out.push("sms");
        }
        out
    }
}

/// The client of the HTTP channels: a bounded time for everything.
fn http_client(timeout: Duration) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())
}

/// An HTTP answer as a send result: 2xx sent; 408, 429, 5xx worth retrying; other
/// 4xx permanent.
fn http_outcome(status: reqwest::StatusCode) -> Result<(), SendError> {
    if status.is_success() {
        Ok(())
    } else if status.as_u16() == 408 || status.as_u16() == 429 || status.is_server_error() {
        Err(SendError::Temporary(format!("HTTP {status}")))
    } else {
        Err(SendError::Permanent(format!("HTTP {status}")))
    }
}

fn http_error(e: reqwest::Error) -> SendError {
    SendError::Temporary(e.without_url().to_string())
}

/// When a failed delivery is tried again: 30 s, 1 min, 2 min … doubled per attempt,
/// at most 6 hours, with up to a tenth more at random (servers do not retry in step).
pub fn backoff_ms(attempt: i64) -> i64 {
    let base: i64 = 30_000;
    let shift = (attempt.max(1) - 1).min(20) as u32;
    let d = base.saturating_mul(1i64 << shift).min(6 * 3_600_000);
    d + fastrand::i64(0..=d / 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b1 = backoff_ms(1);
        assert!((30_000..=33_000).contains(&b1), "{b1}");
        let b3 = backoff_ms(3);
        assert!((120_000..=132_000).contains(&b3), "{b3}");
        let far = backoff_ms(40);
        assert!(
            (6 * 3_600_000..=6 * 3_600_000 * 11 / 10).contains(&far),
            "{far}"
        );
    }

    #[test]
    fn settings_from_toml() {
        let s: Settings = toml_like(
            r#"{"scan_interval_secs": 0, "webhook": {"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"}}"#,
        );
        assert_eq!(s.scan_interval(), None);
        assert_eq!(s.channel_names(), ["webhook"]);
        assert_eq!(s.channels().unwrap().len(), 1);
    }

    fn toml_like(json: &str) -> Settings {
        serde_json::from_str(json).unwrap()
    }
}

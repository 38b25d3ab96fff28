//! The outbound webhook: `POST <url>` with a JSON body
//! `{"id", "to", "subject", "text", "link", "sent_at"}` and the headers
//! `X-Healthbook-Delivery: <id>` (the same on a retry: drop repeats),
//! `X-Healthbook-Timestamp: <unix seconds>` and
//! `X-Healthbook-Signature: sha256=<hex HMAC-SHA-256 of "<timestamp>.<body>">` under
//! the shared secret. A receiver recomputes the HMAC over the bytes it received, compares
//! in constant time and refuses old timestamps (replays).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{Channel, Message, SendError, SendFuture};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Where to POST: `https://` (TLS with the Mozilla roots) or, on a private
    /// network, `http://`.
    pub url: String,
    /// The shared secret of the signature (at least 16 characters).
    pub secret: String,
    /// Seconds before a request is given up (retried later). Default 10.
    pub timeout_secs: Option<u64>,
}

pub struct Webhook {
    settings: WebhookSettings,
    client: reqwest::Client,
}

#[derive(Serialize)]
struct Body<'a> {
    id: &'a str,
    to: &'a str,
    subject: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
    sent_at: i64,
}

/// `sha256=<hex>` of `"<timestamp>.<body>"` under `secret`.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Whether `header` is the signature of `body` at `timestamp` (constant time).
pub fn verify(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Some(tag) = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&tag).is_ok()
}

impl Webhook {
    pub fn new(settings: WebhookSettings) -> Result<Webhook, String> {
        if !settings.url.starts_with("http://") && !settings.url.starts_with("https://") {
            return Err(format!(
                "webhook.url: cần http(s)://…, nhận {:?}",
                settings.url
            ));
        }
        if settings.secret.len() < 16 {
            return Err("webhook.secret: cần ít nhất 16 ký tự / at least 16 characters".into());
        }
        let client = crate::http_client(Duration::from_secs(settings.timeout_secs.unwrap_or(10)))?;
        Ok(Webhook { settings, client })
    }
}

impl Channel for Webhook {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn send<'a>(&'a self, m: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let now = store::now_ms() / 1000;
            let body = serde_json::to_vec(&Body {
                id: &m.id,
                to: &m.to,
                subject: m.subject,
                text: m.text,
                link: m.link.as_deref(),
                sent_at: now,
            })
            .map_err(|e| SendError::Permanent(e.to_string()))?;
            let sig = signature(self.settings.secret.as_bytes(), now, &body);
            let res = self
                .client
                .post(&self.settings.url)
                .header("content-type", "application/json")
                .header("x-healthbook-delivery", &m.id)
                .header("x-healthbook-timestamp", now.to_string())
                .header("x-healthbook-signature", sig)
                .body(body)
                .send()
                .await
                .map_err(crate::http_error)?;
            crate::http_outcome(res.status())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_verifies_and_binds_timestamp_and_body() {
        let s = signature(b"0123456789abcdef", 1_800_000_000, b"{\"id\":\"1-2\"}");
        assert!(verify(
            b"0123456789abcdef",
            1_800_000_000,
            b"{\"id\":\"1-2\"}",
            &s
        ));
        assert!(!verify(
            b"0123456789abcdef",
            1_800_000_001,
            b"{\"id\":\"1-2\"}",
            &s
        ));
        assert!(!verify(
            b"0123456789abcdef",
            1_800_000_000,
            b"{\"id\":\"1-3\"}",
            &s
        ));
        assert!(!verify(
            b"another-secret-xx",
            1_800_000_000,
            b"{\"id\":\"1-2\"}",
            &s
        ));
    }
}

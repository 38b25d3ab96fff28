//! An SMS gateway's HTTP API: `POST <url>` with `Authorization: Bearer <token>` and
//! `{"to": "<phone>", "from": "<brand name>", "text": "…", "ref": "<delivery id>"}`.
//! Vietnamese gateways (brand-name SMS) take this shape or one a small proxy maps to
//! it; the text is the fixed outside text, ASCII-free of any health data.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Channel, Message, SendError, SendFuture};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    pub url: String,
    pub token: String,
    /// The registered brand name the SMS comes from.
    pub sender: String,
    /// Seconds before a request is given up (retried later). Default 10.
    pub timeout_secs: Option<u64>,
}

pub struct Sms {
    settings: SmsSettings,
    client: reqwest::Client,
}

#[derive(Serialize)]
struct Body<'a> {
    to: &'a str,
    from: &'a str,
    text: String,
    #[serde(rename = "ref")]
    reference: &'a str,
}

/// A phone number as gateways take it: digits, a leading `+` kept; `0…` stays national.
pub fn phone(s: &str) -> Option<String> {
    let t: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let digits = t.strip_prefix('+').unwrap_or(&t);
    (digits.len() >= 9 && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(t)
}

impl Sms {
    pub fn new(settings: SmsSettings) -> Result<Sms, String> {
        if !settings.url.starts_with("http://") && !settings.url.starts_with("https://") {
            return Err(format!("sms.url: cần http(s)://…, nhận {:?}", settings.url));
        }
        let client = crate::http_client(Duration::from_secs(settings.timeout_secs.unwrap_or(10)))?;
        Ok(Sms { settings, client })
    }
}

impl Channel for Sms {
    fn name(&self) -> &'static str {
        "sms"
    }

    fn send<'a>(&'a self, m: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let to = phone(&m.to)
                .ok_or_else(|| SendError::Permanent("not a phone number".to_string()))?;
            let text = match &m.link {
                Some(l) => format!("{} {l}", m.text),
                None => m.text.to_string(),
            };
            let res = self
                .client
                .post(&self.settings.url)
                .bearer_auth(&self.settings.token)
                .json(&Body {
                    to: &to,
                    from: &self.settings.sender,
                    text,
                    reference: &m.id,
                })
                .send()
                .await
                .map_err(crate::http_error)?;
            crate::http_outcome(res.status())
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn phone_numbers() {
        assert_eq!(super::phone("0912 345 678").as_deref(), Some("0912345678"));
        assert_eq!(
            super::phone("+84 912-345-678").as_deref(),
            Some("+84912345678")
        );
        assert_eq!(super::phone("abc"), None);
        assert_eq!(super::phone("12345"), None);
    }
}

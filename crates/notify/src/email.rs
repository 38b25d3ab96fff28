//! E-mail over SMTP (lettre: SMTP transport on tokio, message builder, rustls with the
//! Mozilla roots). `tls` chooses how the relay is reached: `starttls` (the default, port
//! 587: the connection must be upgraded, the certificate checked), `tls` (implicit TLS,
//! port 465) or `none` (plain SMTP, port 25: only to a relay on the same host or a
//! private network, which relays onward with TLS). The message is the fixed outside text; its `Message-ID` is the delivery's
//! id, so a repeat is recognisable.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;

use crate::{Channel, Message, SendError, SendFuture};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The SMTP relay.
    pub host: String,
    /// `starttls` (default), `tls` or `none`.
    pub tls: Option<String>,
    /// Default 587 (starttls), 465 (tls), 25 (none).
    pub port: Option<u16>,
    /// `Sổ sức khỏe <no-reply@sskd.example.vn>`.
    pub from: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Seconds before a send is given up (retried later). Default 20.
    pub timeout_secs: Option<u64>,
}

pub struct Email {
    from: lettre::message::Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Email {
    pub fn new(s: EmailSettings) -> Result<Email, String> {
        let from = s
            .from
            .parse()
            .map_err(|e| format!("email.from {:?}: {e}", s.from))?;
        let tls = s.tls.as_deref().unwrap_or("starttls");
        let (b, port) = match tls {
            "starttls" => (
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host)
                    .map_err(|e| format!("email.host {:?}: {e}", s.host))?,
                587,
            ),
            "tls" => (
                AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host)
                    .map_err(|e| format!("email.host {:?}: {e}", s.host))?,
                465,
            ),
            "none" => (
                AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
                25,
            ),
            other => {
                return Err(format!("email.tls {other:?}: starttls, tls or none"));
            }
        };
        let mut b = b
            .port(s.port.unwrap_or(port))
            .timeout(Some(Duration::from_secs(s.timeout_secs.unwrap_or(20))));
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            b = b.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Email {
            from,
            transport: b.build(),
        })
    }
}

impl Channel for Email {
    fn name(&self) -> &'static str {
        "email"
    }

    fn send<'a>(&'a self, m: &'a Message) -> SendFuture<'a> {
        Box::pin(async move {
            let to =
                m.to.parse()
                    .map_err(|e| SendError::Permanent(format!("address: {e}")))?;
            let text = match &m.link {
                Some(l) => format!("{}\n\n{l}\n", m.text),
                None => format!("{}\n", m.text),
            };
            let mail = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(m.subject)
                .message_id(Some(format!("<{}@healthbook>", m.id)))
                .header(ContentType::TEXT_PLAIN)
                .body(text)
                .map_err(|e| SendError::Permanent(e.to_string()))?;
            match self.transport.send(mail).await {
                Ok(_) => Ok(()),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Temporary(e.to_string())),
            }
        })
    }
}

//! The channels against receivers on loopback: the webhook's signed POST, the SMS
//! gateway's JSON, e-mail through a small SMTP receiver; and the worker draining a real
//! store's queue through them (sent once; a 503 tried again later; a 404 a dead letter).

use std::sync::{Arc, Mutex};

use notify::email::{Email, EmailSettings};
use notify::sms::{Sms, SmsSettings};
use notify::webhook::{Webhook, WebhookSettings};
use notify::{Channel, Message, SendError, Settings, Worker};
use store::{NewNotice, Store};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One HTTP request as received.
#[derive(Clone, Debug)]
struct Got {
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP receiver on loopback answering each request with the next status of
/// `statuses` (the last one repeated), keeping what it received.
async fn http_receiver(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<Got>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    tokio::spawn(async move {
        let mut n = 0usize;
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let status = statuses[n.min(statuses.len() - 1)];
            n += 1;
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                let mut line = String::new();
                r.read_line(&mut line).await.unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    r.read_line(&mut h).await.unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .map(|(_, v)| v.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                r.read_exact(&mut body).await.unwrap();
                kept.lock().unwrap().push(Got {
                    path,
                    headers,
                    body,
                });
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                );
                r.get_mut().write_all(answer.as_bytes()).await.unwrap();
            });
        }
    });
    (url, got)
}

/// A small SMTP receiver on loopback: it accepts every message and keeps its envelope
/// recipients and data.
async fn smtp_receiver() -> (u16, Arc<Mutex<Vec<(Vec<String>, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                r.get_mut().write_all(b"220 test ESMTP\r\n").await.unwrap();
                let mut rcpt = Vec::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap() == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_ascii_uppercase();
                    let reply: &[u8] = if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                        b"250-test\r\n250 8BITMIME\r\n"
                    } else if cmd.starts_with("MAIL FROM") {
                        b"250 ok\r\n"
                    } else if cmd.starts_with("RCPT TO") {
                        rcpt.push(line.trim_end()[8..].trim().to_string());
                        b"250 ok\r\n"
                    } else if cmd == "DATA" {
                        r.get_mut().write_all(b"354 go\r\n").await.unwrap();
                        let mut data = String::new();
                        loop {
                            let mut l = String::new();
                            r.read_line(&mut l).await.unwrap();
                            if l == ".\r\n" {
                                break;
                            }
                            data.push_str(&l);
                        }
                        kept.lock().unwrap().push((std::mem::take(&mut rcpt), data));
                        b"250 queued\r\n"
                    } else if cmd == "QUIT" {
                        r.get_mut().write_all(b"221 bye\r\n").await.unwrap();
                        return;
                    } else {
                        b"250 ok\r\n"
                    };
                    r.get_mut().write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, got)
}

fn message(to: &str) -> Message {
    Message {
        id: "7-42".into(),
        to: to.into(),
        subject: book::notify::OUTSIDE_SUBJECT,
        text: book::notify::OUTSIDE_TEXT,
        link: Some("https://sskd.example.vn/dang-nhap".into()),
    }
}

const SECRET: &str = "webhook-secret-0123456789";

#[tokio::test]
async fn webhook_posts_a_signed_body_without_health_data() {
    let (url, got) = http_receiver(vec![200, 503, 404]).await;
    let w = Webhook::new(WebhookSettings {
        url: format!("{url}/hook"),
        secret: SECRET.into(),
        timeout_secs: None,
    })
    .unwrap();
    w.send(&message("sub-1")).await.unwrap();
    let g = got.lock().unwrap()[0].clone();
    assert_eq!(g.path, "/hook");
    assert_eq!(g.header("x-healthbook-delivery"), Some("7-42"));
    let ts: i64 = g.header("x-healthbook-timestamp").unwrap().parse().unwrap();
    assert!(notify::webhook::verify(
        SECRET.as_bytes(),
        ts,
        &g.body,
        g.header("x-healthbook-signature").unwrap()
    ));
    let body: serde_json::Value = serde_json::from_slice(&g.body).unwrap();
    assert_eq!(body["to"], "sub-1");
    assert_eq!(body["text"], book::notify::OUTSIDE_TEXT);
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "to", "subject", "text", "link", "sent_at"]
    );
    // A 503 is worth another try; a 404 is not.
    assert!(matches!(
        w.send(&message("sub-1")).await,
        Err(SendError::Temporary(_))
    ));
    assert!(matches!(
        w.send(&message("sub-1")).await,
        Err(SendError::Permanent(_))
    ));
}

#[tokio::test]
async fn sms_gateway_gets_the_number_and_the_fixed_text() {
    let (url, got) = http_receiver(vec![200]).await;
    let s = Sms::new(SmsSettings {
        url: format!("{url}/sms"),
        token: "gateway-token".into(),
        sender: "SOSUCKHOE".into(),
        timeout_secs: None,
    })
    .unwrap();
    s.send(&message("0912 345 678")).await.unwrap();
    let g = got.lock().unwrap()[0].clone();
    assert_eq!(g.header("authorization"), Some("Bearer gateway-token"));
    let body: serde_json::Value = serde_json::from_slice(&g.body).unwrap();
    assert_eq!(body["to"], "0912345678");
    assert_eq!(body["from"], "SOSUCKHOE");
    assert_eq!(body["ref"], "7-42");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with(book::notify::OUTSIDE_TEXT)
    );
    assert!(matches!(
        s.send(&message("not a phone")).await,
        Err(SendError::Permanent(_))
    ));
}

#[tokio::test]
async fn email_by_default_requires_starttls_and_sends_nothing_in_clear() {
    // The loopback receiver offers no STARTTLS: the default (`starttls`) must refuse to
    // send rather than fall back to plain SMTP.
    let (port, got) = smtp_receiver().await;
    let e = Email::new(EmailSettings {
        host: "127.0.0.1".into(),
        tls: None,
        port: Some(port),
        from: "Sổ sức khỏe <no-reply@sskd.example.vn>".into(),
        username: None,
        password: None,
        timeout_secs: Some(5),
    })
    .unwrap();
    assert!(e.send(&message("an.nguyen@example.vn")).await.is_err());
    assert!(got.lock().unwrap().is_empty());
    let bad = Email::new(EmailSettings {
        host: "127.0.0.1".into(),
        tls: Some("ssl3".into()),
        port: None,
        from: "Sổ sức khỏe <no-reply@sskd.example.vn>".into(),
        username: None,
        password: None,
        timeout_secs: None,
    });
    assert!(bad.err().unwrap().contains("email.tls"));
}

#[tokio::test]
async fn email_goes_through_a_loopback_smtp_receiver() {
    let (port, got) = smtp_receiver().await;
    let e = Email::new(EmailSettings {
        host: "127.0.0.1".into(),
        tls: Some("none".into()),
        port: Some(port),
        from: "Sổ sức khỏe <no-reply@sskd.example.vn>".into(),
        username: None,
        password: None,
        timeout_secs: Some(5),
    })
    .unwrap();
    e.send(&message("an.nguyen@example.vn")).await.unwrap();
    let (rcpt, data) = got.lock().unwrap()[0].clone();
    assert_eq!(rcpt, ["<an.nguyen@example.vn>"]);
    assert!(data.contains("Message-ID: <7-42@healthbook>"), "{data}");
    assert!(data.contains("To: an.nguyen@example.vn"), "{data}");
    // The body is the fixed text (quoted-printable or base64 as lettre chose).
    assert!(data.contains("Content-Type: text/plain"), "{data}");
    assert!(matches!(
        e.send(&message("not an address")).await,
        Err(SendError::Permanent(_))
    ));
}

fn notice(key: &str) -> NewNotice {
    NewNotice {
        kind: "new_visit".into(),
        dedupe: key.into(),
        day: None,
        body: "{}".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_sends_each_once_retries_later_and_dead_letters() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(store::SqliteStore::open(dir.path().join("book.db")).unwrap());
    // Answers: ok, ok, 503 (try later), 404 (dead letter), in the order of arrival.
    let (url, got) = http_receiver(vec![200, 200, 503, 404]).await;
    for (p, key) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
        store
            .set_notify_pref(p, "webhook", Some(&format!("sub-{p}")), false)
            .unwrap();
        store.add_notices(p, &[notice(key)], &["webhook"]).unwrap();
    }
    let settings = Settings {
        webhook: Some(WebhookSettings {
            url: format!("{url}/hook"),
            secret: SECRET.into(),
            timeout_secs: None,
        }),
        ..Settings::default()
    };
    // One at a time, so that the answers go in order.
    let w = Worker::new(store.clone(), settings.channels().unwrap(), &settings).with_batch(10, 1);
    let s = w.drain().await.unwrap();
    assert_eq!((s.claimed, s.sent, s.retried, s.dead), (4, 2, 1, 1));
    assert_eq!(got.lock().unwrap().len(), 4);
    let rows: Vec<_> = (1..=4)
        .map(|p| store.outbox_of(p).unwrap().remove(0))
        .collect();
    let states: Vec<&str> = rows.iter().map(|r| r.state.as_str()).collect();
    assert_eq!(states, ["sent", "sent", "pending", "dead"]);
    assert!(
        rows[2].next_at >= store::now_ms() + 25_000,
        "tried again later"
    );
    assert!(rows[2].last_error.as_deref().unwrap().contains("503"));
    assert!(rows[3].last_error.as_deref().unwrap().contains("404"));
    // Drained again now: nothing is due, nothing is sent twice.
    let again = w.drain().await.unwrap();
    assert_eq!(again.claimed, 0);
    assert_eq!(got.lock().unwrap().len(), 4);
    let ids: std::collections::BTreeSet<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|g| g.header("x-healthbook-delivery").unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 4);
}

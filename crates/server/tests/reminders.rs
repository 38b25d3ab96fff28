//! Reminders end to end (issue 18), on SQLite and PostgreSQL: `healthbook serve`'s scan
//! makes each person's notices from their book, its worker delivers them through the
//! webhook to a receiver on loopback — once each, signed, with nothing of the person's
//! health —; the opt-out is honoured; the queue survives a restart (what was queued
//! while no server ran is delivered by the next one, and nothing is sent twice); the
//! citizen reads the notification centre and the count on the home page, marks read,
//! and turns a channel off.

#[macro_use]
mod common;
mod record_world;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use book::IdKind;
use server::App;
use service::Actor;
use store::Store;
use synth::{Config, Generator};

const SECRET: &str = "hook-secret-0123456789abcdef";
const PASSCODE: &str = "246802";

type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook receiver on loopback: keeps (delivery id, to) of every request whose
/// signature holds; refuses the others.
async fn receiver() -> (String, Received) {
    async fn hook(
        State(got): State<Received>,
        headers: HeaderMap,
        body: Bytes,
    ) -> axum::http::StatusCode {
        let h = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let ts: i64 = h("x-healthbook-timestamp").parse().unwrap_or(0);
        if !notify::webhook::verify(SECRET.as_bytes(), ts, &body, &h("x-healthbook-signature")) {
            return axum::http::StatusCode::UNAUTHORIZED;
        }
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            v["text"],
            book::notify::OUTSIDE_TEXT,
            "nothing but the fixed text"
        );
        got.lock().unwrap().push((
            h("x-healthbook-delivery"),
            v["to"].as_str().unwrap().to_string(),
        ));
        axum::http::StatusCode::OK
    }
    let got: Received = Arc::default();
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, got)
}

fn settings(url: &str) -> notify::Settings {
    notify::Settings {
        scan_interval_secs: Some(3600),
        poll_secs: Some(1),
        lease_secs: Some(30),
        webhook: Some(notify::webhook::WebhookSettings {
            url: url.to_string(),
            secret: SECRET.into(),
            timeout_secs: Some(5),
        }),
        ..notify::Settings::default()
    }
}

struct Running {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(store: Arc<dyn Store>, s: &notify::Settings) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let config = server::Config {
        notify: s.clone(),
        ..server::Config::default()
    };
    let done = tokio::spawn(server::serve(listener, App::new(store, config), async {
        let _ = rx.await;
    }));
    Running { base, stop, done }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap().unwrap();
    }
}

/// The queue rows of these persons (id as the webhook names it, state).
fn queue(store: &Arc<dyn Store>, persons: &[i64]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for p in persons {
        for r in store.outbox_of(*p).unwrap() {
            out.push((format!("{}-{}", r.person_id, r.id), r.state, r.channel));
        }
    }
    out
}

/// Wait (polling, bounded) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..600 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not reached in 60 s: {what}");
}

async fn reminders_reach_people_once_across_a_restart() {
    let dir = common::scratch();
    let store = dir.open();
    let g = Generator::new(Config {
        persons: 8,
        episodes: 40,
        seed: 1818,
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    // Four persons of the dossiers: A, B and C have accounts now, D later.
    let mut people = Vec::new();
    for j in 0..8 {
        let Some(pid) = g.person(j).personal_id else {
            continue;
        };
        let Some(p) = store
            .person_by_identifier(IdKind::PersonalId, &pid)
            .unwrap()
        else {
            continue;
        };
        if !store.episodes_of(p.id).unwrap().is_empty() {
            people.push((pid, p.id));
        }
    }
    assert!(people.len() >= 4, "four persons with visits");
    let activate = |i: usize| {
        let (pid, id) = &people[i];
        let code = store.issue_activation_code(*id, "test", 3_600_000).unwrap();
        store.activate_citizen(pid, &code, PASSCODE).unwrap();
        *id
    };
    let (a, b, c) = (activate(0), activate(1), activate(2));
    let d = people[3].1;
    let svc = service::Service::new(store.clone());
    let channels = ["webhook"];
    for (p, addr, on) in [(a, "sub-a", true), (b, "sub-b", true), (c, "sub-c", false)] {
        svc.set_notify_pref(&Actor::Person { id: p }, p, "webhook", addr, on, &channels)
            .unwrap();
    }
    // Nobody may set another's channels.
    assert!(
        svc.set_notify_pref(&Actor::Person { id: a }, b, "webhook", "x", true, &channels)
            .is_err()
    );
    let (url, got) = receiver().await;
    let s = settings(&url);

    // The first server scans at start and delivers.
    let one = start(store.clone(), &s).await;
    until("A's and B's reminders delivered", || {
        let q = queue(&store, &[a, b]);
        !q.is_empty()
            && q.iter().all(|(_, state, _)| state == "sent")
            && got.lock().unwrap().len() == q.len()
    })
    .await;
    let first = queue(&store, &[a, b]);
    {
        let got = got.lock().unwrap();
        let ids: BTreeSet<&String> = got.iter().map(|(id, _)| id).collect();
        assert_eq!(ids.len(), got.len(), "each delivered once");
        let queued: BTreeSet<&String> = first.iter().map(|(id, _, _)| id).collect();
        assert_eq!(ids, queued, "exactly what was queued");
        for (id, to) in got.iter() {
            let person: i64 = id.split('-').next().unwrap().parse().unwrap();
            assert_eq!(to, if person == a { "sub-a" } else { "sub-b" });
        }
    }
    // C opted out: the notices are in the book, nothing left the system.
    let c_notices = store.notices(c, 100).unwrap();
    assert!(!c_notices.is_empty(), "C's book has notices");
    assert!(store.outbox_of(c).unwrap().is_empty(), "C opted out");
    assert!(got.lock().unwrap().iter().all(|(_, to)| to != "sub-c"));
    // A's notices: one per visit that reached the book, and no more on another scan.
    let a_notices = store.notices(a, 100).unwrap();
    let visits = store.episodes_of(a).unwrap().len();
    assert_eq!(
        a_notices.iter().filter(|n| n.kind == "new_visit").count(),
        visits
    );
    let again = server::reminders::scan_all(store.clone(), &s).unwrap();
    assert_eq!(again.notices, 0, "a scan run again makes nothing");

    // The citizen's pages: the count on the home page, the centre, mark read.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = store.create_session(a, 3_600_000).unwrap();
    let cookie = format!("hb_session={token}");
    let page = |path: String| {
        let (http, cookie) = (http.clone(), cookie.clone());
        async move {
            let r = http
                .get(path)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let unread = a_notices.len();
    let (st, home) = page(format!("{}/so/{a}", one.base)).await;
    assert_eq!(st, 200);
    assert!(
        home.contains(&format!("{unread} thông báo chưa đọc")),
        "{home}"
    );
    let (st, centre) = page(format!("{}/so/{a}/thong-bao", one.base)).await;
    assert_eq!(st, 200);
    assert!(centre.contains("Lượt khám mới trong sổ"));
    assert!(centre.contains(&format!("Đánh dấu tất cả đã đọc ({unread})")));
    let (st, _) = page(format!("{}/so/{b}/thong-bao", one.base)).await;
    assert_eq!(st, 404, "another person's notices are not found");
    let csrf = server::security::csrf_token(&token);
    let r = http
        .post(format!("{}/so/{a}/thong-bao/da-doc", one.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(store.unread_notices(a).unwrap(), 0);
    // B turns the webhook off on the page.
    let tb = store.create_session(b, 3_600_000).unwrap();
    let r = http
        .post(format!("{}/so/{b}/thong-bao/cai-dat", one.base))
        .header("cookie", format!("hb_session={tb}"))
        .form(&[
            ("csrf", server::security::csrf_token(&tb).as_str()),
            ("channel", "webhook"),
            ("address", "sub-b"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(store.notify_prefs(b).unwrap()[0].opted_out);
    one.stop().await;

    // While no server runs: D gets an account and a webhook address, and the
    // operator's scan (`healthbook notify scan`) queues D's reminders.
    let code = store.issue_activation_code(d, "test", 3_600_000).unwrap();
    store
        .activate_citizen(&people[3].0, &code, PASSCODE)
        .unwrap();
    svc.set_notify_pref(
        &Actor::Person { id: d },
        d,
        "webhook",
        "sub-d",
        true,
        &channels,
    )
    .unwrap();
    let made = server::reminders::scan_all(store.clone(), &s).unwrap();
    assert!(made.notices > 0);
    let waiting = queue(&store, &[d]);
    assert!(!waiting.is_empty() && waiting.iter().all(|(_, st, _)| st == "pending"));
    let before = got.lock().unwrap().len();
    assert_eq!(before, first.len(), "nothing sent while no server runs");
    drop(svc);
    drop(store);

    // A new server on the same database delivers what waited, and nothing again.
    let store = dir.open();
    let two = start(store.clone(), &s).await;
    until("D's reminders delivered after the restart", || {
        queue(&store, &[d]).iter().all(|(_, st, _)| st == "sent")
            && got.lock().unwrap().len() == first.len() + waiting.len()
    })
    .await;
    // Nothing is left that a worker could send again.
    assert!(
        store
            .claim_deliveries("probe", store::now_ms() + 86_400_000, 1_000, 100)
            .unwrap()
            .is_empty()
    );
    let got = got.lock().unwrap().clone();
    let ids: BTreeSet<&String> = got.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), got.len(), "nothing sent twice");
    let all: BTreeSet<String> = queue(&store, &[a, b, c, d])
        .into_iter()
        .map(|(id, _, _)| id)
        .collect();
    assert_eq!(ids.into_iter().cloned().collect::<BTreeSet<_>>(), all);
    two.stop().await;
}
both!(reminders_reach_people_once_across_a_restart);

/// The programmes' reminders: a child of five months with no dose recorded gets the
/// doses the forecast finds due or overdue, a resident enrolled in the hypertension
/// register the follow-up due today; both on the station's worklist (its own commune
/// only), once however often the scan runs.
async fn programme_reminders_reach_the_residents_and_the_worklist() {
    let dir = common::scratch();
    let store = dir.open();
    record_world::units(
        &*store,
        &[
            (record_world::STATION, "Phường Ba Đình"),
            ("00040", "Phường Hoàn Kiếm"),
        ],
    );
    let nurse = record_world::station_nurse(&store);
    let today = store::vn_now().date();
    let born = today - chrono::Duration::days(150);
    let child_id = "001326000777";
    let elder_id = "001060000778";
    store
        .import_population(&[
            store::Resident {
                personal_id: child_id.into(),
                name: Some("Bé Lê Minh An".into()),
                birth: Some(born.format("%Y%m%d").to_string()),
                sex: Some("1".into()),
                unit: record_world::STATION.into(),
                status: "alive".into(),
            },
            store::Resident {
                personal_id: elder_id.into(),
                name: Some("Trần Văn Bảy".into()),
                birth: Some("19560101".into()),
                sex: Some("1".into()),
                unit: record_world::STATION.into(),
                status: "alive".into(),
            },
        ])
        .unwrap();
    let id = |p: &str| {
        store
            .person_by_identifier(IdKind::PersonalId, p)
            .unwrap()
            .unwrap()
            .id
    };
    let (child, elder) = (id(child_id), id(elder_id));
    let svc = service::Service::new(store.clone());
    svc.enrol(
        &nurse,
        elder,
        &service::chronic::NewEnrolment {
            disease: book::ncd::Disease::Hypertension,
            icd10: "I10".into(),
            detected_on: (today - chrono::Duration::days(30)).to_string(),
            detected: book::ncd::Detected::Screening,
            confirmed_by: None,
            note: None,
        },
    )
    .unwrap();
    let s = notify::Settings::default();
    let first = server::reminders::scan_all(store.clone(), &s).unwrap();
    assert!(first.persons >= 2);
    let kinds = |p: i64| -> Vec<String> {
        store
            .notices(p, 100)
            .unwrap()
            .into_iter()
            .map(|n| {
                serde_json::from_str::<book::notify::Event>(&n.body)
                    .unwrap()
                    .dedupe_key()
            })
            .collect()
    };
    let c = kinds(child);
    assert!(c.iter().any(|k| k.starts_with("vaccination:")), "{c:?}");
    let e = kinds(elder);
    assert!(
        e.contains(&format!(
            "follow_up:hypertension:{}:due",
            today.format("%Y%m%d")
        )),
        "{e:?}"
    );
    assert_eq!(
        server::reminders::scan_all(store.clone(), &s)
            .unwrap()
            .notices,
        0
    );
    // The worklist of the station: both, by day; refused to others.
    let list = svc.worklist(&nurse, record_world::STATION, today).unwrap();
    assert!(
        list.iter()
            .any(|w| w.person_id == child && w.kind == book::notify::Kind::Vaccination)
    );
    assert!(
        list.iter()
            .any(|w| w.person_id == elder && w.kind == book::notify::Kind::FollowUp)
    );
    assert!(list.iter().all(|w| w.name.is_some()));
    assert!(
        svc.worklist(&nurse, "00040", today).is_err(),
        "another commune's"
    );
    assert!(
        svc.worklist(&Actor::Person { id: elder }, record_world::STATION, today)
            .is_err()
    );
    // A citizen reads only their own (or their ward's) notices.
    assert!(svc.notices(&Actor::Person { id: elder }, child).is_err());
    assert!(
        !svc.notices(&Actor::Person { id: elder }, elder)
            .unwrap()
            .is_empty()
    );
}
both!(programme_reminders_reach_the_residents_and_the_worklist);

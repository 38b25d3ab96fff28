//! The classes of defect found when healthbook was tried as a hostile user would
//! (issue 12), each over real HTTP on loopback with a real SQLite file: a dossier
//! stored for another facility, two HOSO with one MA_LK, a forged self-referral,
//! guessable activation codes, lockouts and starvation, CSRF, missing headers, input
//! amplification, a cut audit tail, and /healthz and /metrics.

#[macro_use]
mod common;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use book::IdKind;
use book::access::Role;
use dossier::model::Dossier;
use dossier::{Envelope, Options, Spec};
use md5::{Digest, Md5};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::App;
use store::{StaffAccount, Store};
use synth::{Config, Episode, Generator};

const PASSWORD: &str = "matkhau-2026";
const STAFF_PASSWORD: &str = "nhanvien-2026";

fn md5_upper(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

struct World {
    base: String,
    store: Arc<dyn Store>,
    g: Generator,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl World {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A store with the synthetic registry, recent generated episodes imported, a gateway
/// account for every facility, and the server on loopback.
async fn world_with(config: server::Config) -> World {
    let dir = common::scratch();
    let store = dir.open();
    let (units, facilities) = server::registry::synthetic_catalog();
    store.import_units(&units).unwrap();
    store.import_facilities(&facilities).unwrap();
    let today = server::vn_now().date();
    let g = Generator::new(Config {
        persons: 40,
        episodes: 300,
        seed: 12,
        from: today - chrono::Duration::days(20),
        to: today.pred_opt().unwrap(),
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    for f in &facilities {
        store
            .upsert_account(&format!("bv{}", f.code), &f.code, &md5_upper(PASSWORD))
            .unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let app = App::new(store.clone() as Arc<dyn Store>, config);
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    World {
        base,
        store,
        g,
        _dir: dir,
        _stop: tx,
    }
}

async fn world() -> World {
    world_with(server::Config::default()).await
}

/// A client whose connections come from `ip` (any 127.x address is this machine).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Gw {
    user: String,
    access: String,
    id: String,
}

async fn gateway_login(w: &World, facility: &str) -> Gw {
    let user = format!("bv{facility}");
    let v: Value = reqwest::Client::new()
        .post(w.url("/api/token/take"))
        .form(&[
            ("username", user.as_str()),
            ("password", &md5_upper(PASSWORD)),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["maKetQua"], "200", "{v}");
    Gw {
        user,
        access: v["APIKey"]["access_token"].as_str().unwrap().into(),
        id: v["APIKey"]["id_token"].as_str().unwrap().into(),
    }
}

async fn send_as(w: &World, s: &Gw, endpoint: &str, facility: &str, file: &[u8]) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(file);
    let body = send_b64(w, s, endpoint, facility, &b64).await;
    serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&body)))
}

/// Send base64 as the egw form does; the answer's bytes.
async fn send_b64(w: &World, s: &Gw, endpoint: &str, facility: &str, b64: &str) -> Vec<u8> {
    reqwest::Client::new()
        .post(w.url(&format!("/api/qd130/{endpoint}")))
        .header("accessToken", &s.access)
        .header("tokenId", &s.id)
        .header("passwordHash", md5_upper(PASSWORD))
        .form(&[
            ("username", s.user.as_str()),
            ("loaiHoSo", "130"),
            ("maTinh", &facility[..2]),
            ("maCSKCB", facility),
            ("fileHSBase64", b64),
        ])
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

/// The episode as an envelope that `facility` sends about itself: every facility field
/// rewritten, and a new MA_LK.
fn as_sent_by(e: &Episode, facility: &str, ma_lk: &str) -> Envelope {
    let mut env = e.envelope();
    env.facility = facility.into();
    for d in &mut env.dossiers {
        set_ma_lk(d, ma_lk);
        if let Some(s) = d.summary.as_mut() {
            s.ma_cskcb = Some(facility.into());
        }
        if let Some(r) = d.referral.as_mut() {
            r.ma_cskcb = Some(facility.into());
        }
        if let Some(a) = d.appointment.as_mut() {
            a.ma_cskcb = Some(facility.into());
        }
        for h in &mut d.hiv_care {
            h.ma_cskcb = Some(facility.into());
        }
        for t in &mut d.tb_treatment {
            t.ma_cskcb = Some(facility.into());
        }
    }
    env
}

fn set_ma_lk(d: &mut Dossier, ma_lk: &str) {
    let m = Some(ma_lk.to_string());
    if let Some(s) = d.summary.as_mut() {
        s.ma_lk = m.clone();
    }
    for x in &mut d.drugs {
        x.ma_lk = m.clone();
    }
    for x in &mut d.services {
        x.ma_lk = m.clone();
    }
    for x in &mut d.results {
        x.ma_lk = m.clone();
    }
    for x in &mut d.clinical_notes {
        x.ma_lk = m.clone();
    }
    for x in &mut d.hiv_care {
        x.ma_lk = m.clone();
    }
    for x in &mut d.births {
        x.ma_lk = m.clone();
    }
    for x in &mut d.tb_treatment {
        x.ma_lk = m.clone();
    }
    if let Some(x) = d.discharge.as_mut() {
        x.ma_lk = m.clone();
    }
    if let Some(x) = d.record_summary.as_mut() {
        x.ma_lk = m.clone();
    }
    if let Some(x) = d.antenatal_rest.as_mut() {
        x.ma_lk = m.clone();
    }
    if let Some(x) = d.sick_leave.as_mut() {
        x.ma_lk = m.clone();
    }
    if let Some(x) = d.referral.as_mut() {
        x.ma_lk = m.clone();
    }
    if let Some(x) = d.appointment.as_mut() {
        x.ma_lk = m.clone();
    }
}

fn bytes(env: &Envelope) -> Vec<u8> {
    let raw = dossier::write::envelope(env, Spec::Qd3176);
    let parsed = dossier::parse_envelope(&raw, &Options::default());
    assert!(
        parsed.is_valid(),
        "the test's own envelope must be valid: {:?}",
        parsed.errors().take(5).collect::<Vec<_>>()
    );
    raw
}

/// A simple outpatient episode of the generated set (no referral, one table of each).
fn plain_episode(w: &World) -> Episode {
    w.g.episodes()
        .find(|e| e.dossier.referral.is_none() && e.dossier.summary.is_some())
        .unwrap()
}

fn other_facility(code: &str) -> &'static str {
    synth::catalog::FACILITIES
        .iter()
        .map(|f| f.code)
        .find(|c| *c != code)
        .unwrap()
}

// ------------------------------------------------------------------ 1. facility

async fn a_dossier_is_stored_only_for_the_sending_facility() {
    let w = world().await;
    let e = plain_episode(&w);
    let mine = e.facility.code;
    let theirs = other_facility(mine);
    let s = gateway_login(&w, mine).await;

    // An empty MACSKCB with tables naming another facility: refused whole, nothing stored.
    let mut env = as_sent_by(&e, theirs, "HOSTILE-EMPTY-1");
    env.facility = String::new();
    let raw = dossier::write::envelope(&env, Spec::Qd3176);
    let v = send_as(&w, &s, "guiHoSoXmlQD3176", mine, &raw).await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    assert_eq!(v["soHoSoDaLuu"], 0, "{v}");
    assert!(
        v["dsLoi"].to_string().contains("GATEWAY.MACSKCB.missing"),
        "{v}"
    );
    for f in ["", mine, theirs] {
        assert!(
            w.store
                .episode_versions(f, "HOSTILE-EMPTY-1")
                .unwrap()
                .is_empty(),
            "stored under facility {f:?}"
        );
    }
    // The self-closing form too.
    let text = String::from_utf8(dossier::write::envelope(
        &as_sent_by(&e, mine, "HOSTILE-EMPTY-2"),
        Spec::Qd3176,
    ))
    .unwrap();
    let selfclosed = text.replace(&format!("<MACSKCB>{mine}</MACSKCB>"), "<MACSKCB/>");
    assert_ne!(selfclosed, text);
    let v = send_as(&w, &s, "guiHoSoXmlQD3176", mine, selfclosed.as_bytes()).await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    assert_eq!(v["soHoSoDaLuu"], 0, "{v}");
    assert!(
        w.store
            .episode_versions("", "HOSTILE-EMPTY-2")
            .unwrap()
            .is_empty()
    );

    // The envelope says "mine" but XML1 names another facility: that HOSO is refused.
    let mut env = as_sent_by(&e, mine, "HOSTILE-XML1");
    env.dossiers[0].summary.as_mut().unwrap().ma_cskcb = Some(theirs.into());
    let v = send_as(
        &w,
        &s,
        "guiHoSoXmlQD3176",
        mine,
        &dossier::write::envelope(&env, Spec::Qd3176),
    )
    .await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    assert!(
        v["dsLoi"]
            .to_string()
            .contains("GATEWAY.MA_CSKCB.forbidden"),
        "{v}"
    );
    assert!(
        w.store
            .episode_versions(mine, "HOSTILE-XML1")
            .unwrap()
            .is_empty()
    );

    // A correction replaces an episode only from the same facility: another facility's
    // account sending the same MA_LK makes its own episode, never a version of ours.
    let v = send_as(
        &w,
        &s,
        "guiHoSoXmlQD3176",
        mine,
        &bytes(&as_sent_by(&e, mine, "HOSTILE-KEY")),
    )
    .await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    let s2 = gateway_login(&w, theirs).await;
    let v = send_as(
        &w,
        &s2,
        "guiHoSoXmlQD3176",
        theirs,
        &bytes(&as_sent_by(&e, theirs, "HOSTILE-KEY")),
    )
    .await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert_eq!(
        w.store.episode_versions(mine, "HOSTILE-KEY").unwrap().len(),
        1
    );
    assert_eq!(
        w.store
            .episode_versions(theirs, "HOSTILE-KEY")
            .unwrap()
            .len(),
        1
    );
    // And its account cannot send in our name at all.
    let v = send_as(
        &w,
        &s2,
        "guiHoSoXmlQD3176",
        theirs,
        &bytes(&as_sent_by(&e, mine, "HOSTILE-KEY")),
    )
    .await;
    assert_eq!(v["maKetQua"], "403", "{v}");
    assert_eq!(
        w.store.episode_versions(mine, "HOSTILE-KEY").unwrap().len(),
        1
    );
}
both!(a_dossier_is_stored_only_for_the_sending_facility);

// ------------------------------------------------------------------ 2. duplicate MA_LK

async fn two_hoso_with_one_ma_lk_store_one_and_say_so() {
    let w = world().await;
    let e = plain_episode(&w);
    let mine = e.facility.code;
    let s = gateway_login(&w, mine).await;
    let mut env = as_sent_by(&e, mine, "HOSTILE-DUP");
    let mut second = env.dossiers[0].clone();
    second.summary.as_mut().unwrap().chan_doan_rv = Some("Chẩn đoán khác".into());
    env.dossiers.push(second);
    env.declared_count = Some(2);
    let v = send_as(
        &w,
        &s,
        "guiHoSoXmlQD3176",
        mine,
        &dossier::write::envelope(&env, Spec::Qd3176),
    )
    .await;
    assert_eq!(v["soHoSoDaLuu"], 1, "{v}");
    assert_eq!(v["soHoSoTuChoi"], 1, "{v}");
    assert!(
        v["thongDiep"]
            .as_str()
            .unwrap()
            .contains("Tiếp nhận 1 hồ sơ"),
        "{v}"
    );
    assert!(
        v["dsLoi"].to_string().contains("HOSO.MA_LK.duplicate"),
        "{v}"
    );
    let versions = w.store.episode_versions(mine, "HOSTILE-DUP").unwrap();
    assert_eq!(
        versions.len(),
        1,
        "the duplicate must not make a second version"
    );
}
both!(two_hoso_with_one_ma_lk_store_one_and_say_so);

// ------------------------------------------------------------------ 3. forged referral

async fn staff_login(w: &World, username: &str) -> String {
    let v: Value = reqwest::Client::new()
        .post(w.url("/api/v1/staff/login"))
        .json(&json!({"username": username, "password": STAFF_PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

fn add_staff(w: &World, username: &str, role: Role, facility: Option<&str>, unit: Option<&str>) {
    w.store
        .upsert_staff(
            &StaffAccount {
                username: username.into(),
                full_name: format!("Nhân viên {username}"),
                role,
                unit: unit.map(str::to_string),
                facility: facility.map(str::to_string),
                practising_cert: (role == Role::Clinician).then(|| format!("{username}/HNO-CCHN")),
                active: true,
            },
            Some(STAFF_PASSWORD),
        )
        .unwrap();
}

async fn a_referral_opens_a_book_only_when_another_facility_wrote_it_and_the_patient_came() {
    let w = world().await;
    // A genuine referral of a patient A (in the generated data): sender S, destination D.
    let (a_episode, a_pid) = w
        .g
        .episodes()
        .find_map(|e| {
            let r = e.dossier.referral.as_ref()?;
            let to = r.ma_noi_den.clone()?;
            let pid = e.dossier.summary.as_ref()?.so_cccd.clone()?;
            (to != e.facility.code && w.store.facility(&to).unwrap().is_some()).then_some((e, pid))
        })
        .expect("a generated referral to a known facility");
    let dest = a_episode
        .dossier
        .referral
        .as_ref()
        .unwrap()
        .ma_noi_den
        .clone()
        .unwrap();
    let number = a_episode
        .dossier
        .referral
        .as_ref()
        .unwrap()
        .giay_chuyen_tuyen
        .clone()
        .unwrap();
    let a = w
        .store
        .person_by_identifier(IdKind::PersonalId, &a_pid)
        .unwrap()
        .unwrap();
    add_staff(&w, "bs-dest", Role::Clinician, Some(&dest), None);
    let bs = staff_login(&w, "bs-dest").await;
    let http = reqwest::Client::new();
    let open = |number: String, pid: String| {
        let http = http.clone();
        let url = w.url("/api/v1/clinician/referrals");
        let bs = bs.clone();
        async move {
            http.post(url)
                .bearer_auth(bs)
                .json(&json!({"number": number, "personal_id": pid}))
                .send()
                .await
                .unwrap()
        }
    };

    // Victim B: someone else with a book. The destination forges a dossier with B's
    // personal ID carrying a referral from itself to itself, with the same number.
    let b_pid =
        w.g.episodes()
            .filter_map(|e| e.dossier.summary.as_ref()?.so_cccd.clone())
            .find(|p| *p != a_pid)
            .unwrap();
    let b_episode = w
        .g
        .episodes()
        .find(|e| e.dossier.summary.as_ref().unwrap().so_cccd.as_deref() == Some(b_pid.as_str()))
        .unwrap();
    let b_sum = b_episode.dossier.summary.clone().unwrap();
    let mut forged = as_sent_by(&a_episode, &dest, "HOSTILE-FORGED-REF");
    {
        let d = &mut forged.dossiers[0];
        // B's identifiers under A's name: only a demographics finding.
        let s = d.summary.as_mut().unwrap();
        s.so_cccd = Some(b_pid.clone());
        s.ma_the_bhyt = b_sum.ma_the_bhyt.clone();
        s.ma_dkbd = b_sum.ma_dkbd.clone();
        s.gt_the_tu = b_sum.gt_the_tu.clone();
        s.gt_the_den = b_sum.gt_the_den.clone();
        if let Some(r) = d.referral.as_mut() {
            r.ma_the_bhyt = b_sum.ma_the_bhyt.clone();
            r.gt_the_den = b_sum.gt_the_den.clone();
        }
        if let Some(a) = d.appointment.as_mut() {
            a.ma_the_bhyt = b_sum.ma_the_bhyt.clone();
            a.gt_the_den = b_sum.gt_the_den.clone();
        }
        d.summary.as_mut().unwrap().ma_noi_den = Some(dest.clone());
        let r = d.referral.as_mut().unwrap();
        r.ma_noi_di = Some(dest.clone());
        r.ma_noi_den = Some(dest.clone());
        r.giay_chuyen_tuyen = Some(number.clone());
    }
    let gw = gateway_login(&w, &dest).await;
    let v = send_as(
        &w,
        &gw,
        "guiHoSoXmlQD3176",
        &dest,
        &dossier::write::envelope(&forged, Spec::Qd3176),
    )
    .await;
    assert_eq!(
        v["soHoSoDaLuu"], 1,
        "the forged dossier is stored (as any dossier is): {v}"
    );
    // Even after a check-in of B there, the self-written letter opens nothing.
    let mut ci = a_episode.checkin.clone();
    ci.rows[0].ma_cskcb = Some(dest.clone());
    ci.rows[0].ma_lk = Some("HOSTILE-CI-B".into());
    ci.rows[0].so_cccd = Some(b_pid.clone());
    ci.rows[0].ma_the_bhyt = b_sum.ma_the_bhyt.first().cloned();
    ci.rows[0].gt_the_tu = b_sum.gt_the_tu.first().copied();
    ci.rows[0].gt_the_den = b_sum.gt_the_den.first().copied();
    ci.rows[0].ma_dkbd = b_sum.ma_dkbd.first().cloned();
    ci.rows[0].ngay_vao = Some(server::vn_now() - chrono::Duration::minutes(5));
    ci.rows[0].ngay_vao_noi_tru = None;
    let v = send_as(
        &w,
        &gw,
        "checkInKcbQd3176",
        &dest,
        &dossier::write::checkin(&ci, Spec::Qd3176),
    )
    .await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    let r = open(number.clone(), b_pid.clone()).await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "{}",
        r.text().await.unwrap()
    );
    let b = w
        .store
        .person_by_identifier(IdKind::PersonalId, &b_pid)
        .unwrap()
        .unwrap();
    assert!(
        w.store
            .live_grant("bs-dest", b.id, store::now_ms())
            .unwrap()
            .is_none()
    );

    // A's genuine letter: refused until A comes to the destination …
    let r = open(number.clone(), a_pid.clone()).await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "{}",
        r.text().await.unwrap()
    );
    // … then a check-in of A there opens the book, and A's log names the letter.
    let mut ci = a_episode.checkin.clone();
    ci.rows[0].ma_cskcb = Some(dest.clone());
    ci.rows[0].ma_lk = Some("HOSTILE-CI-A".into());
    ci.rows[0].ngay_vao = Some(server::vn_now() - chrono::Duration::minutes(5));
    ci.rows[0].ngay_vao_noi_tru = None;
    let v = send_as(
        &w,
        &gw,
        "checkInKcbQd3176",
        &dest,
        &dossier::write::checkin(&ci, Spec::Qd3176),
    )
    .await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    let r = open(number.clone(), a_pid.clone()).await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    let log = w.store.audit_of(a.id).unwrap();
    assert!(
        log.iter().any(|x| x
            .target
            .as_deref()
            .is_some_and(|t| t.contains(&number) && t.contains(a_episode.facility.code))),
        "the access log names the referral: {log:?}"
    );
}
both!(a_referral_opens_a_book_only_when_another_facility_wrote_it_and_the_patient_came);

// ------------------------------------------------------------------ 4. activation codes

fn person_without_account(w: &World, skip: usize) -> (String, i64) {
    w.g.episodes()
        .filter_map(|e| e.dossier.summary.as_ref()?.so_cccd.clone())
        .filter_map(|pid| {
            let p = w
                .store
                .person_by_identifier(IdKind::PersonalId, &pid)
                .unwrap()?;
            Some((pid, p.id))
        })
        .filter(|(_, id)| !w.store.has_citizen_account(*id).unwrap())
        .fold(Vec::<(String, i64)>::new(), |mut v, x| {
            if !v.iter().any(|y| y.1 == x.1) {
                v.push(x);
            }
            v
        })
        .into_iter()
        .nth(skip)
        .unwrap()
}

async fn activate(http: &reqwest::Client, w: &World, pid: &str, code: &str) -> reqwest::Response {
    http.post(w.url("/api/v1/citizen/activate"))
        .json(&json!({"personal_id": pid, "code": code, "passcode": "135790"}))
        .send()
        .await
        .unwrap()
}

async fn activation_codes_cannot_be_guessed_or_reused_to_take_an_account() {
    let w = world().await;
    let (pid, person) = person_without_account(&w, 0);
    let code = w
        .store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    // (That codes are stored keyed by the server secret is checked in
    // crates/store/tests/sqlite.rs: `short_codes_are_keyed_by_the_server_secret`.)

    // 30 wrong codes: after a few the server only says "wait", and the right code no
    // longer opens the account (attempts are bounded per code as well).
    let http = client_from("127.0.0.1");
    let mut statuses = Vec::new();
    for i in 0..30 {
        let wrong = format!(
            "{:08}",
            (code.parse::<u64>().unwrap() + 1 + i) % 100_000_000
        );
        statuses.push(activate(&http, &w, &pid, &wrong).await.status().as_u16());
    }
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 20,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 400).count() <= 5,
        "{statuses:?}"
    );
    // From another address (no delay there), the right code is refused all the same.
    let r = activate(&client_from("127.0.0.2"), &w, &pid, &code).await;
    assert_ne!(r.status(), StatusCode::OK);
    assert!(!w.store.has_citizen_account(person).unwrap());

    // An active account is never re-activated by an activation code, only by a reset code,
    // and the person sees the reset in their log.
    let (pid, person) = person_without_account(&w, 1);
    let first = w
        .store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    let kept = w
        .store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    let http = client_from("127.0.0.3");
    assert_eq!(
        activate(&http, &w, &pid, &first).await.status(),
        StatusCode::OK
    );
    assert_ne!(
        activate(&http, &w, &pid, &kept).await.status(),
        StatusCode::OK
    );
    // A session from before the reset …
    let before: Value = citizen_login(&http, &w, &pid, "135790")
        .await
        .json()
        .await
        .unwrap();
    let before = before["token"].as_str().unwrap().to_string();
    let reset = w
        .store
        .issue_activation_code(person, "operator", 3_600_000)
        .unwrap();
    assert_eq!(
        activate(&http, &w, &pid, &reset).await.status(),
        StatusCode::OK
    );
    assert!(
        w.store
            .audit_of(person)
            .unwrap()
            .iter()
            .any(|r| r.action == "reset_passcode"),
        "the reset is in the person's log"
    );
    // … is ended by it.
    let r = http
        .get(w.url("/api/v1/me"))
        .bearer_auth(&before)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Staff never hold a reset code: their codes are for accounts not yet active.
    assert!(
        w.store
            .issue_code(person, "station", 3_600_000, store::CodePurpose::Activation)
            .is_err()
    );
}
both!(activation_codes_cannot_be_guessed_or_reused_to_take_an_account);

// ------------------------------------------------------------------ 5. lockouts

async fn citizen_login(
    http: &reqwest::Client,
    w: &World,
    pid: &str,
    passcode: &str,
) -> reqwest::Response {
    http.post(w.url("/api/v1/citizen/login"))
        .json(&json!({"personal_id": pid, "passcode": passcode}))
        .send()
        .await
        .unwrap()
}

async fn guessing_is_slowed_down_without_locking_out_the_owner() {
    let w = world().await;
    let (pid, person) = person_without_account(&w, 0);
    let code = w
        .store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    assert_eq!(
        activate(&client_from("127.0.0.9"), &w, &pid, &code)
            .await
            .status(),
        StatusCode::OK
    );

    // 40 wrong passcodes at once from one address: each counted before it is checked,
    // so at most the free ones reach the passcode check.
    let attacker = client_from("127.0.0.1");
    let tries: Vec<_> = (0..40)
        .map(|i| {
            let (http, url, pid) = (
                attacker.clone(),
                w.url("/api/v1/citizen/login"),
                pid.clone(),
            );
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"personal_id": pid, "passcode": format!("{:06}", i)}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tries {
        statuses.push(t.await.unwrap());
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= server::guard::PAIR.free as usize, "{statuses:?}");
    assert_eq!(checked + statuses.iter().filter(|s| **s == 429).count(), 40);
    // The owner, from their own address, still signs in.
    let r = citizen_login(&client_from("127.0.0.2"), &w, &pid, "135790").await;
    assert_eq!(r.status(), StatusCode::OK, "the owner is not locked out");

    // The same answer whether or not an account exists.
    let other = client_from("127.0.0.3");
    let wrong = citizen_login(&other, &w, &pid, "000001").await;
    let (ws, wb) = (wrong.status(), wrong.text().await.unwrap());
    let none = citizen_login(&other, &w, "001099999999", "000001").await;
    let (ns, nb) = (none.status(), none.text().await.unwrap());
    assert_eq!((ws, &wb), (ns, &nb));
    assert!(!wb.contains("lần thử"), "no count of attempts left: {wb}");

    // The gateway's token endpoint is throttled too.
    let flood = client_from("127.0.0.4");
    let mut codes = Vec::new();
    for _ in 0..12 {
        let v: Value = flood
            .post(w.url("/api/token/take"))
            .form(&[
                ("username", "bv01001"),
                ("password", "00000000000000000000000000000000"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        codes.push(v["maKetQua"].as_str().unwrap().to_string());
    }
    assert!(
        codes.iter().filter(|c| *c == "429").count() >= 6,
        "{codes:?}"
    );
    let v: Value = flood
        .post(w.url("/api/token/take"))
        .form(&[("username", "bv01001"), ("password", &md5_upper(PASSWORD))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["maKetQua"], "429", "the right password waits too: {v}");
}
both!(guessing_is_slowed_down_without_locking_out_the_owner);

async fn a_flood_of_gateway_passwords_does_not_starve_citizen_sign_in() {
    let w = world().await;
    let (pid, person) = person_without_account(&w, 0);
    let code = w
        .store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    assert_eq!(
        activate(&client_from("127.0.0.9"), &w, &pid, &code)
            .await
            .status(),
        StatusCode::OK
    );
    // 24 wrong gateway passwords at once, each from its own address (no throttle applies).
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();
    let mut handles = Vec::new();
    for i in 0..24 {
        let (http, url, tx) = (
            client_from(&format!("127.0.1.{}", i + 1)),
            w.url("/api/token/take"),
            tx.clone(),
        );
        handles.push(tokio::spawn(async move {
            let _ = http
                .post(url)
                .form(&[
                    ("username", format!("bv-flood-{i}")),
                    ("password", "0".repeat(32)),
                ])
                .send()
                .await
                .unwrap()
                .text()
                .await;
            let _ = tx.send("gateway");
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let citizen = {
        let (http, w_url, tx) = (
            client_from("127.0.2.1"),
            w.url("/api/v1/citizen/login"),
            tx.clone(),
        );
        let pid = pid.clone();
        tokio::spawn(async move {
            let s = http
                .post(w_url)
                .json(&json!({"personal_id": pid, "passcode": "135790"}))
                .send()
                .await
                .unwrap()
                .status();
            let _ = tx.send("citizen");
            s
        })
    };
    drop(tx);
    assert_eq!(citizen.await.unwrap(), StatusCode::OK);
    let mut order = Vec::new();
    while let Some(x) = rx.recv().await {
        order.push(x);
    }
    let at = order.iter().position(|x| *x == "citizen").unwrap();
    // With one queue for all, the citizen waited behind most of the flood.
    assert!(
        at < 12,
        "the citizen's sign-in finished {at}th of 25: {order:?}"
    );
}
both!(a_flood_of_gateway_passwords_does_not_starve_citizen_sign_in);

// ------------------------------------------------------------------ 6. CSRF

/// Sign a citizen in on the web form; returns the session cookie.
async fn web_citizen(w: &World) -> (String, i64, String) {
    let (pid, person) = person_without_account(w, 0);
    let code = w
        .store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    assert_eq!(
        activate(&client_from("127.0.0.9"), w, &pid, &code)
            .await
            .status(),
        StatusCode::OK
    );
    let http = client_from("127.0.0.1");
    let r = http
        .post(w.url("/dang-nhap"))
        .form(&[("personal_id", pid.as_str()), ("passcode", "135790")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    (cookie, person, pid)
}

fn hidden_token(html: &str) -> String {
    let at = html
        .find(r#"name="csrf" value=""#)
        .unwrap_or_else(|| panic!("a CSRF field in the form: {html}"));
    let rest = &html[at + r#"name="csrf" value=""#.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

async fn cross_site_posts_with_the_session_cookie_are_refused() {
    let w = world().await;
    let (cookie, person, _) = web_citizen(&w).await;
    let http = client_from("127.0.0.1");
    let share = w.url(&format!("/so/{person}/chia-se"));
    let shares = || w.store.shares_of(person).unwrap().len();
    // A form on another site (its Origin); the browser saying it is cross-site; no
    // Origin ("null") and no token: each refused.
    for (name, value) in [
        ("origin", "https://ke-gian.example"),
        ("sec-fetch-site", "cross-site"),
        ("origin", "null"),
    ] {
        let r = http
            .post(&share)
            .header("cookie", &cookie)
            .header(name, value)
            .form(&[("scope", "full"), ("minutes", "60")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{name}: {value}");
    }
    // A logout forced from elsewhere, plain text body: refused, the session lives on.
    let r = http
        .post(w.url("/dang-xuat"))
        .header("cookie", &cookie)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(shares(), 0);
    // Our own page's form carries the token: it works.
    let page = http
        .get(&share)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_token(&page);
    let r = http
        .post(&share)
        .header("cookie", &cookie)
        .header("origin", "null")
        .form(&[
            ("scope", "full"),
            ("minutes", "60"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    assert_eq!(shares(), 1);

    // Staff: an administrator's cookie cannot make a new system administrator from
    // another site.
    add_staff(&w, "qtht", Role::SystemAdmin, None, None);
    let r = http
        .post(w.url("/nhan-vien/dang-nhap"))
        .form(&[("username", "qtht"), ("password", STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    let staff_cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = http
        .post(w.url("/nhan-vien/tai-khoan"))
        .header("cookie", &staff_cookie)
        .header("origin", "https://ke-gian.example")
        .form(&[
            ("username", "ke-gian"),
            ("full_name", "Kẻ gian"),
            ("role", "system_admin"),
            ("password", "matkhau-ke-gian"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(w.store.staff("ke-gian").unwrap().is_none());

    // With a staff session in the browser, the citizen's own sign-in form still works.
    let (pid, person2) = person_without_account(&w, 1);
    let code = w
        .store
        .issue_activation_code(person2, "test", 3_600_000)
        .unwrap();
    assert_eq!(
        activate(&client_from("127.0.0.8"), &w, &pid, &code)
            .await
            .status(),
        StatusCode::OK
    );
    let page = http
        .get(w.url("/dang-nhap"))
        .header("cookie", &staff_cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = hidden_token(&page);
    let r = http
        .post(w.url("/dang-nhap"))
        .header("cookie", &staff_cookie)
        .header("origin", "null")
        .form(&[
            ("personal_id", pid.as_str()),
            ("passcode", "135790"),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
both!(cross_site_posts_with_the_session_cookie_are_refused);

// ------------------------------------------------------------------ 7. headers

async fn responses_carry_the_security_headers() {
    let w = world_with(server::Config {
        public_url: Some("https://sskd.example.vn".into()),
        ..server::Config::default()
    })
    .await;
    let http = client_from("127.0.0.1");
    let r = http.get(w.url("/dang-nhap")).send().await.unwrap();
    let h = r.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h.contains_key("strict-transport-security"));
    let page = r.text().await.unwrap();
    assert!(!page.contains("<script"), "no script in pages");
    assert!(!page.contains(" style=\""), "no inline style attributes");
    // The one stylesheet is the one the policy allows, by its hash.
    let css = &page[page.find("<style>").unwrap() + 7..page.find("</style>").unwrap()];
    use sha2::Digest as _;
    let hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(css.as_bytes()));
    assert!(csp.contains(&format!("'sha256-{hash}'")), "{csp}");
    // Session cookies are Secure behind https.
    let (pid, person) = person_without_account(&w, 0);
    let code = w
        .store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    assert_eq!(
        activate(&http, &w, &pid, &code).await.status(),
        StatusCode::OK
    );
    let r = citizen_login(&http, &w, &pid, "135790").await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(r.headers()["cache-control"], "no-store");
}
both!(responses_carry_the_security_headers);

// ------------------------------------------------------------------ 8. amplification

async fn many_bad_rows_give_a_bounded_reply_and_record() {
    let w = world().await;
    let e = plain_episode(&w);
    let mine = e.facility.code;
    let s = gateway_login(&w, mine).await;
    let env = as_sent_by(&e, mine, "HOSTILE-SPARSE");
    // 19,999 drug rows that hold nothing but a few fields: every other required field is
    // missing, some 26 findings a row (the 4 MB envelope of the hostile review).
    let mut xml2 = String::from("<CHITIEU_CHITIET_THUOC><DSACH_CHI_TIET_THUOC>");
    for i in 1..20_000 {
        xml2.push_str(&format!(
            "<CHI_TIET_THUOC><MA_LK>HOSTILE-SPARSE</MA_LK><STT>{i}</STT><MA_THUOC>40.{i}</MA_THUOC><TEN_THUOC>Thuốc {i}</TEN_THUOC></CHI_TIET_THUOC>"
        ));
    }
    xml2.push_str("</DSACH_CHI_TIET_THUOC></CHITIEU_CHITIET_THUOC>");
    let mut docs: Vec<(String, String)> =
        dossier::write::dossier_documents(&env.dossiers[0], Spec::Qd3176)
            .into_iter()
            .filter(|(t, _)| *t != dossier::Table::Xml2)
            .map(|(t, d)| (t.code().to_string(), d))
            .collect();
    docs.push(("XML2".into(), xml2));
    let raw = dossier::write::envelope_from_documents(&env, &[docs]);
    assert!(raw.len() > 3 << 20, "{} bytes", raw.len());
    let stored_before = w.store.counts().unwrap().findings_bytes;
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let body = send_b64(&w, &s, "guiHoSoXmlQD3176", mine, &b64).await;
    assert!(body.len() < 1 << 20, "reply of {} bytes", body.len());
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["maKetQua"], "400");
    let listed = v["dsLoi"].as_array().unwrap();
    assert!(listed.len() <= 1_100, "{} findings listed", listed.len());
    let counted: u64 = listed
        .iter()
        .map(|f| f["count"].as_u64().unwrap_or(1))
        .sum();
    assert!(counted > 100_000, "every finding is counted: {counted} {v}");
    // Stored small: a third of the reply's findings as JSON (they are compressed).
    let stored = w.store.counts().unwrap().findings_bytes - stored_before;
    assert!(
        (stored as usize) < body.len() / 3,
        "{stored} bytes of findings stored for a {}-byte reply",
        body.len()
    );
}
both!(many_bad_rows_give_a_bounded_reply_and_record);

async fn an_oversized_file_is_kept_as_hash_size_and_head() {
    let mut config = server::Config::default();
    config.limits.max_file_bytes = 1 << 20;
    config.max_body_bytes = 8 << 20;
    let w = world_with(config).await;
    let e = plain_episode(&w);
    let mine = e.facility.code;
    let s = gateway_login(&w, mine).await;
    let mut env = as_sent_by(&e, mine, "HOSTILE-BIG");
    env.dossiers[0].drugs = (1..2_000)
        .map(|i| dossier::model::DrugLine {
            stt: Some(i),
            ..Default::default()
        })
        .collect();
    let raw = dossier::write::envelope(&env, Spec::Qd3176);
    assert!(raw.len() > 1 << 20);
    let b64 = base64::engine::general_purpose::STANDARD.encode(&raw);
    let body = send_b64(&w, &s, "guiHoSoXmlQD3176", mine, &b64).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["maKetQua"], "400", "{v}");
    let sub = w
        .store
        .submission(v["maGiaoDich"].as_str().unwrap())
        .unwrap()
        .unwrap();
    // Too long to be worth decoding: the base64 as sent is the evidence (hash, size, head).
    assert!(
        sub.raw.len() <= store::OVERSIZED_KEEP,
        "{} bytes kept",
        sub.raw.len()
    );
    assert_eq!(sub.raw[..], b64.as_bytes()[..sub.raw.len()]);
    assert_eq!(sub.sha256, store::sha256_hex(b64.as_bytes()));
    assert!(
        v["dsLoi"].to_string().contains("GATEWAY.fileHSBase64.size"),
        "{v}"
    );
}
both!(an_oversized_file_is_kept_as_hash_size_and_head);

// ------------------------------------------------------------------ 9. audit tail

async fn a_cut_audit_tail_is_found_by_the_checkpoints() {
    let dir_file = tempfile::tempdir().unwrap();
    let file: PathBuf = dir_file.path().join("audit.checkpoints");
    let w = world_with(server::Config {
        audit_checkpoints: Some((file.clone(), std::time::Duration::from_secs(3600))),
        ..server::Config::default()
    })
    .await;
    // Reads by a clinician under break-glass write records in two persons' chains.
    let e = plain_episode(&w);
    add_staff(&w, "bs-audit", Role::Clinician, Some(e.facility.code), None);
    let bs = staff_login(&w, "bs-audit").await;
    let people: Vec<(String, i64)> = {
        let mut v: Vec<(String, i64)> = Vec::new();
        for e in w.g.episodes() {
            let Some(pid) = e.dossier.summary.as_ref().and_then(|s| s.so_cccd.clone()) else {
                continue;
            };
            let p = w
                .store
                .person_by_identifier(IdKind::PersonalId, &pid)
                .unwrap()
                .unwrap();
            if !v.iter().any(|x| x.1 == p.id) {
                v.push((pid, p.id));
            }
            if v.len() == 2 {
                break;
            }
        }
        v
    };
    let http = reqwest::Client::new();
    for (pid, p) in &people {
        let r = http
            .post(w.url("/api/v1/clinician/break-glass"))
            .bearer_auth(&bs)
            .json(&json!({"personal_id": pid, "reason": "Cấp cứu, bệnh nhân hôn mê, cần tiền sử dị ứng"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        for _ in 0..2 {
            let r = http
                .get(w.url(&format!("/api/v1/clinician/patients/{p}/summary")))
                .bearer_auth(&bs)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
    }
    // The checkpoint the server wrote at start holds none of these; write one now.
    w.store.audit_checkpoint(&file).unwrap();
    assert_eq!(
        w.store.verify_checkpoints(&file).unwrap().1,
        Vec::<String>::new()
    );

    // The server wrote one at start, before these reads; this one holds them.
    let cps = store::read_checkpoints(&file).unwrap();
    assert!(cps.len() >= 2, "{cps:?}");
    assert!(cps.last().unwrap().records >= 6, "{cps:?}");
    // The file is chained: a checkpoint removed from it, or edited, is found. (Cutting
    // the end of a chain in the database, and removing a whole chain, are found too:
    // `a_cut_audit_tail_is_found_by_the_checkpoints` in crates/store/tests/sqlite.rs,
    // where the database is attacked directly.)
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&file, format!("{}\n", lines[1..].join("\n"))).unwrap();
    assert!(!w.store.verify_checkpoints(&file).unwrap().1.is_empty());
    let edited = text.replacen(
        &format!("\"records\":{}", cps.last().unwrap().records),
        "\"records\":0",
        1,
    );
    std::fs::write(&file, edited).unwrap();
    assert!(!w.store.verify_checkpoints(&file).unwrap().1.is_empty());
    std::fs::write(&file, &text).unwrap();
    assert_eq!(
        w.store.verify_checkpoints(&file).unwrap().1,
        Vec::<String>::new()
    );
}
both!(a_cut_audit_tail_is_found_by_the_checkpoints);

// ------------------------------------------------------------------ 10. healthz, metrics

async fn metrics_are_not_open_to_anyone_who_reaches_the_port() {
    let w = world_with(server::Config {
        metrics: server::MetricsAccess::Token("jeton-metrics-0123456789".into()),
        ..server::Config::default()
    })
    .await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(w.url("/metrics")).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let r = http
        .get(w.url("/metrics"))
        .bearer_auth("jeton-metrics-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("healthbook_"));
    let r = http.get(w.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let w = world_with(server::Config {
        metrics: server::MetricsAccess::Separate,
        ..server::Config::default()
    })
    .await;
    assert_eq!(
        http.get(w.url("/metrics")).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
both!(metrics_are_not_open_to_anyone_who_reaches_the_port);

// ------------------------------------------------------------------ card periods

async fn a_card_period_that_covers_today_is_shown_whatever_order_dossiers_arrive_in() {
    let w = world().await;
    let e = plain_episode(&w);
    let mine = e.facility.code;
    let s = gateway_login(&w, mine).await;
    let today = server::vn_now().date();
    let card = e.dossier.summary.as_ref().unwrap().ma_the_bhyt[0].clone();
    let pid = e.dossier.summary.as_ref().unwrap().so_cccd.clone().unwrap();
    // This year's period first, then last year's (an import of history).
    for (i, (from, to)) in [
        (
            today - chrono::Duration::days(30),
            today + chrono::Duration::days(300),
        ),
        (
            today - chrono::Duration::days(400),
            today - chrono::Duration::days(31),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut env = as_sent_by(&e, mine, &format!("HOSTILE-CARD-{i}"));
        let sum = env.dossiers[0].summary.as_mut().unwrap();
        sum.ma_the_bhyt = vec![card.clone()];
        sum.gt_the_tu = vec![from];
        sum.gt_the_den = vec![to];
        let raw = dossier::write::envelope(&env, Spec::Qd3176);
        let v = send_as(&w, &s, "guiHoSoXmlQD3176", mine, &raw).await;
        assert!(
            v["soHoSoDaLuu"].as_u64().unwrap_or(0) >= 1 || v["maKetQua"] == "200",
            "{v}"
        );
    }
    let p = w
        .store
        .person_by_identifier(IdKind::PersonalId, &pid)
        .unwrap()
        .unwrap();
    let c = p
        .identifiers
        .iter()
        .find(|i| i.kind == IdKind::BhytCard && i.value == card)
        .unwrap();
    let (from, to) = (c.valid_from.clone().unwrap(), c.valid_to.clone().unwrap());
    assert!(from <= to, "{from}–{to}");
    assert!(to >= today.format("%Y%m%d").to_string(), "{from}–{to}");
    assert!(c.periods.len() >= 2, "{:?}", c.periods);
}
both!(a_card_period_that_covers_today_is_shown_whatever_order_dossiers_arrive_in);

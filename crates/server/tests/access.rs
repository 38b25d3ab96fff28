//! Who may do what, over loopback HTTP: the authorization matrix (every role × every
//! endpoint × own and other unit/person), consent expiry and revocation,
//! break-glass flagging and review, referral access, and the audit log the citizen
//! sees.

#[macro_use]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use book::IdKind;
use book::access::{Role, Scope};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use server::App;
use store::{Facility, StaffAccount, Store, now_ms};
use synth::catalog::FACILITIES;
use synth::{Config, Generator};

const PASSWORD: &str = "matkhau-2026";

struct World {
    base: String,
    store: Arc<dyn Store>,
    http: reqwest::Client,
    /// The referred patient (their book is "own"), another person, a guardian of A.
    a: i64,
    a_pid: String,
    a_episode: i64,
    a_referral: String,
    b: i64,
    b_pid: String,
    b_episode: i64,
    g: i64,
    /// The clinicians' facility (the referral's destination) and one in another province.
    own_facility: Facility,
    other_facility: Facility,
    /// Session tokens per role ("" for no session).
    tokens: BTreeMap<&'static str, String>,
    dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn registry(store: &Arc<dyn Store>) {
    let (units, facilities) = server::registry::synthetic_catalog();
    store.import_units(&units).unwrap();
    store.import_facilities(&facilities).unwrap();
}

fn account(username: &str, role: Role) -> StaffAccount {
    StaffAccount {
        username: username.into(),
        full_name: format!("Nhân viên {username}"),
        role,
        unit: None,
        facility: None,
        practising_cert: None,
        active: true,
    }
}

async fn world() -> World {
    let dir = common::scratch();
    let store = dir.open();
    registry(&store);
    // Recent episodes, so that referral letters are still open.
    let today = server::vn_now().date();
    let g = Generator::new(Config {
        persons: 60,
        episodes: 600,
        seed: 31,
        from: today - chrono::Duration::days(20),
        to: today.pred_opt().unwrap(),
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    // A: a person with a personal ID and an open referral to a facility placed in a commune.
    let mut people = Vec::new();
    for j in 0..60 {
        let Some(pid) = g.person(j).personal_id else {
            continue;
        };
        let Some(p) = store
            .person_by_identifier(IdKind::PersonalId, &pid)
            .unwrap()
        else {
            continue;
        };
        if !people.iter().any(|(_, id, _)| *id == p.id) {
            people.push((pid, p.id, store.episodes_of(p.id).unwrap()));
        }
    }
    let now = server::vn_now();
    let (a_idx, referral) = people
        .iter()
        .enumerate()
        .find_map(|(i, (_, _, eps))| {
            eps.iter().find_map(|e| {
                let r = e.view.referral.as_ref()?;
                let to = r.to_facility.clone()?;
                let placed = store.facility(&to).unwrap()?.unit.is_some();
                (placed
                    && book::summary::referral_open(&e.view, now)
                    && e.view.discharged.is_some_and(|d| d <= now))
                .then_some(())?;
                Some((i, (to, r.number.clone()?)))
            })
        })
        .expect("an open referral to a placed facility");
    let (a_pid, a, a_eps) = people.remove(a_idx);
    let own_facility = store.facility(&referral.0).unwrap().unwrap();
    let own_place = store
        .place_of_facility(&own_facility.code)
        .unwrap()
        .unwrap();
    // B: known nowhere near the own facility (so enrolment there is refused).
    let b_idx = people
        .iter()
        .position(|(_, _, eps)| {
            eps.iter().all(|e| {
                let mut codes = vec![e.facility.clone()];
                codes.extend(e.view.referral.as_ref().and_then(|r| r.to_facility.clone()));
                codes.into_iter().all(|c| {
                    c != own_facility.code
                        && store
                            .place_of_facility(&c)
                            .unwrap()
                            .is_none_or(|p| p.commune.is_none() || p.commune != own_place.commune)
                })
            })
        })
        .expect("a person never seen near the own facility");
    let (b_pid, b, b_eps) = people.remove(b_idx);
    let (_, guardian, _) = people.remove(0);
    let other_facility = FACILITIES
        .iter()
        .find(|f| f.code[..2] != own_facility.code[..2])
        .map(|f| store.facility(f.code).unwrap().unwrap())
        .unwrap();
    store.grant_guardian(guardian, a, "test").unwrap();

    // One account per staff role, all scoped to the own facility's places.
    let place = store
        .place_of_facility(&own_facility.code)
        .unwrap()
        .unwrap();
    // A lives in the own facility's commune (population registry): guardianships are
    // recorded only for residents of the staff's place.
    store
        .import_population(&[store::Resident {
            personal_id: a_pid.clone(),
            name: None,
            birth: None,
            sex: None,
            unit: place
                .commune
                .clone()
                .expect("the own facility is placed in a commune"),
            status: "alive".into(),
        }])
        .unwrap();
    let f = || Some(own_facility.code.clone());
    let staff = [
        ("system_admin", account("sa", Role::SystemAdmin)),
        (
            "provincial_officer",
            StaffAccount {
                unit: place.province.clone(),
                ..account("po", Role::ProvincialOfficer)
            },
        ),
        (
            "district_officer",
            StaffAccount {
                unit: place.district.clone(),
                ..account("do", Role::DistrictOfficer)
            },
        ),
        (
            "facility_admin",
            StaffAccount {
                facility: f(),
                ..account("fa", Role::FacilityAdmin)
            },
        ),
        (
            "clinician",
            StaffAccount {
                facility: f(),
                practising_cert: Some("000777/CCHN".into()),
                ..account("cl", Role::Clinician)
            },
        ),
        (
            "submitter",
            StaffAccount {
                facility: f(),
                ..account("su", Role::Submitter)
            },
        ),
        (
            "commune_staff",
            StaffAccount {
                unit: place.commune.clone(),
                ..account("cs", Role::CommuneStaff)
            },
        ),
        (
            "insurance_officer",
            StaffAccount {
                unit: place.province.clone(),
                ..account("io", Role::InsuranceOfficer)
            },
        ),
    ];
    let mut tokens = BTreeMap::new();
    for (role, a) in &staff {
        store.upsert_staff(a, Some(PASSWORD)).unwrap();
        tokens.insert(
            *role,
            store.create_staff_session(&a.username, 3_600_000).unwrap(),
        );
    }
    // A clinician elsewhere, whose break-glass the own facility's admin must not review.
    store
        .upsert_staff(
            &StaffAccount {
                facility: Some(other_facility.code.clone()),
                practising_cert: Some("000888/CCHN".into()),
                ..account("cl-other", Role::Clinician)
            },
            Some(PASSWORD),
        )
        .unwrap();
    tokens.insert("citizen", store.create_session(a, 3_600_000).unwrap());
    tokens.insert(
        "guardian",
        store.create_session(guardian, 3_600_000).unwrap(),
    );
    tokens.insert("anonymous", String::new());

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let app = App::new(store.clone() as Arc<dyn Store>, server::Config::default());
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    World {
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        a,
        a_pid,
        a_episode: a_eps[0].id,
        a_referral: referral.1,
        b,
        b_pid,
        b_episode: b_eps[0].id,
        g: guardian,
        own_facility,
        other_facility,
        tokens,
        store,
        dir,
        _stop: tx,
    }
}

impl World {
    async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, String) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        (r.status(), r.text().await.unwrap_or_default())
    }

    fn staff(&self, username: &str) -> StaffAccount {
        self.store.staff(username).unwrap().unwrap()
    }

    /// A fresh live share code of `person` (full book).
    fn code(&self, person: i64) -> String {
        self.store
            .create_share(person, person, Scope::Full, 3_600_000)
            .unwrap()
            .1
    }

    /// A fresh, unreviewed break-glass grant by `username`.
    fn glass(&self, username: &str, person: i64) -> i64 {
        self.store
            .create_grant(
                person,
                &self.staff(username),
                book::access::Basis::BreakGlass,
                Scope::Full,
                "cấp cứu, bệnh nhân hôn mê",
                now_ms() + 3_600_000,
            )
            .unwrap()
            .id
    }
}

/// One row of the matrix: what is asked, for "own" and "other" targets.
struct Request {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn get(path: String) -> Request {
    Request {
        method: Method::GET,
        path,
        body: None,
    }
}

fn with(method: Method, path: String, body: Value) -> Request {
    Request {
        method,
        path,
        body: Some(body),
    }
}

const ROLES: [&str; 11] = [
    "system_admin",
    "provincial_officer",
    "district_officer",
    "facility_admin",
    "clinician",
    "submitter",
    "commune_staff",
    "insurance_officer",
    "citizen",
    "guardian",
    "anonymous",
];

/// The expected outcome per role, in the order of [`ROLES`]: `Y` allowed for own and
/// other targets, `O` allowed for the own target only, `N` refused for both.
type Expect = &'static str;

async fn authorization_matrix_every_role_every_endpoint() {
    let w = world().await;
    // The clinician holds a full grant on A (from A's share code), none on B.
    let grant = w
        .store
        .redeem_share(&w.code(w.a), &w.staff("cl"), now_ms())
        .unwrap()
        .unwrap();
    assert_eq!(grant.person_id, w.a);
    let (a, b) = (w.a, w.b);
    let (ea, eb) = (w.a_episode, w.b_episode);
    let own = w.own_facility.clone();
    let other = w.other_facility.clone();
    let facility_body = |f: &Facility| json!({"name": f.name, "kind": f.kind, "unit": f.unit, "bhyt_contract": true});
    let staff_body = |role: &str, f: &Facility| {
        json!({"full_name": "Người mới", "role": role, "facility": f.code,
               "practising_cert": "009999/CCHN", "password": "mat-khau-moi-1"})
    };

    // (name, expectation, own request, other request); requests are built per call,
    // since some consume what they act on (a share revoked, a grant reviewed).
    type Build<'a> = Box<dyn FnMut(&World, bool) -> Request + 'a>;
    let rows: Vec<(&str, Expect, Build<'_>)> = vec![
        (
            "GET /api/v1/me",
            "NNNNNNNNYYN",
            Box::new(|_, _| get("/api/v1/me".into())),
        ),
        (
            "GET /api/v1/persons/{p}/years",
            "NNNNNNNNOON",
            Box::new(move |_, o| get(format!("/api/v1/persons/{}/years", if o { a } else { b }))),
        ),
        (
            "GET /api/v1/persons/{p}/episodes",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                get(format!(
                    "/api/v1/persons/{}/episodes",
                    if o { a } else { b }
                ))
            }),
        ),
        (
            "GET /api/v1/persons/{p}/episodes/{e}",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                get(if o {
                    format!("/api/v1/persons/{a}/episodes/{ea}")
                } else {
                    format!("/api/v1/persons/{b}/episodes/{eb}")
                })
            }),
        ),
        (
            "GET /api/v1/persons/{p}/episodes/{e}/pdf",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                get(if o {
                    format!("/api/v1/persons/{a}/episodes/{ea}/pdf")
                } else {
                    format!("/api/v1/persons/{b}/episodes/{eb}/pdf")
                })
            }),
        ),
        (
            "GET /api/v1/persons/{p}/appointments",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                get(format!(
                    "/api/v1/persons/{}/appointments",
                    if o { a } else { b }
                ))
            }),
        ),
        (
            "GET /api/v1/persons/{p}/search",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                get(format!(
                    "/api/v1/persons/{}/search?q=benh",
                    if o { a } else { b }
                ))
            }),
        ),
        (
            "GET /api/v1/persons/{p}/changes",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                get(format!(
                    "/api/v1/persons/{}/changes?since=0",
                    if o { a } else { b }
                ))
            }),
        ),
        (
            "GET /api/v1/persons/{p}/shares",
            "NNNNNNNNOON",
            Box::new(move |_, o| get(format!("/api/v1/persons/{}/shares", if o { a } else { b }))),
        ),
        (
            "POST /api/v1/persons/{p}/shares",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                with(
                    Method::POST,
                    format!("/api/v1/persons/{}/shares", if o { a } else { b }),
                    json!({"scope": "summary", "minutes": 30}),
                )
            }),
        ),
        (
            "DELETE /api/v1/persons/{p}/shares/{id}",
            "NNNNNNNNOON",
            Box::new(move |w, o| {
                let p = if o { a } else { b };
                let share = w
                    .store
                    .create_share(p, p, Scope::Summary, 600_000)
                    .unwrap()
                    .0;
                Request {
                    method: Method::DELETE,
                    path: format!("/api/v1/persons/{p}/shares/{}", share.id),
                    body: None,
                }
            }),
        ),
        (
            "GET /api/v1/persons/{p}/access-log",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                get(format!(
                    "/api/v1/persons/{}/access-log",
                    if o { a } else { b }
                ))
            }),
        ),
        (
            "GET /api/v1/staff/me",
            "YYYYYYYYNNN",
            Box::new(|_, _| get("/api/v1/staff/me".into())),
        ),
        // Own: a live code; other: a revoked one.
        (
            "POST /api/v1/clinician/consents",
            "NNNNONNNNNN",
            Box::new(move |w, o| {
                let code = w.code(a);
                if !o {
                    let id = w.store.shares_of(a).unwrap()[0].id;
                    w.store.revoke_share(a, id, now_ms()).unwrap();
                }
                with(
                    Method::POST,
                    "/api/v1/clinician/consents".into(),
                    json!({"code": code}),
                )
            }),
        ),
        // Own: a written reason; other: none worth the name.
        (
            "POST /api/v1/clinician/break-glass",
            "NNNNONNNNNN",
            Box::new(move |w, o| {
                with(
                    Method::POST,
                    "/api/v1/clinician/break-glass".into(),
                    json!({"personal_id": w.a_pid, "reason": if o { "Bệnh nhân hôn mê, cần biết dị ứng thuốc" } else { "cấp cứu" }}),
                )
            }),
        ),
        // Own: the referral to the clinician's facility; other: a number not sent there.
        (
            "POST /api/v1/clinician/referrals",
            "NNNNONNNNNN",
            Box::new(move |w, o| {
                with(
                    Method::POST,
                    "/api/v1/clinician/referrals".into(),
                    json!({"number": if o { w.a_referral.clone() } else { "CT99999999".to_string() }, "personal_id": w.a_pid}),
                )
            }),
        ),
        (
            "GET /api/v1/clinician/patients",
            "NNNNYNNNNNN",
            Box::new(|_, _| get("/api/v1/clinician/patients".into())),
        ),
        (
            "GET /api/v1/clinician/patients/{p}/summary",
            "NNNNONNNNNN",
            Box::new(move |_, o| {
                get(format!(
                    "/api/v1/clinician/patients/{}/summary",
                    if o { a } else { b }
                ))
            }),
        ),
        (
            "GET /api/v1/clinician/patients/{p}/episodes",
            "NNNNONNNNNN",
            Box::new(move |_, o| {
                get(format!(
                    "/api/v1/clinician/patients/{}/episodes",
                    if o { a } else { b }
                ))
            }),
        ),
        (
            "GET /api/v1/clinician/patients/{p}/episodes/{e}",
            "NNNNONNNNNN",
            Box::new(move |_, o| {
                get(if o {
                    format!("/api/v1/clinician/patients/{a}/episodes/{ea}")
                } else {
                    format!("/api/v1/clinician/patients/{b}/episodes/{eb}")
                })
            }),
        ),
        (
            "GET /api/v1/admin/units",
            "YYYNNNNYNNN",
            Box::new(|_, _| get("/api/v1/admin/units".into())),
        ),
        (
            "PUT /api/v1/admin/units/{code}",
            "YNNNNNNNNNN",
            Box::new(move |_, o| {
                with(
                    Method::PUT,
                    format!("/api/v1/admin/units/{}", if o { "99901" } else { "99902" }),
                    json!({"name": "Xã Thử Nghiệm", "level": "commune", "parent": "01", "scheme": "2025"}),
                )
            }),
        ),
        (
            "GET /api/v1/admin/facilities",
            "YYYYNNNYNNN",
            Box::new(|_, _| get("/api/v1/admin/facilities".into())),
        ),
        ("GET /api/v1/admin/facilities/{f}", "YOOONNNONNN", {
            let (own, other) = (own.clone(), other.clone());
            Box::new(move |_, o| {
                get(format!(
                    "/api/v1/admin/facilities/{}",
                    if o { &own.code } else { &other.code }
                ))
            })
        }),
        ("PUT /api/v1/admin/facilities/{f}", "YONNNNNNNNN", {
            let (own, other) = (own.clone(), other.clone());
            Box::new(move |_, o| {
                let f = if o { &own } else { &other };
                with(
                    Method::PUT,
                    format!("/api/v1/admin/facilities/{}", f.code),
                    facility_body(f),
                )
            })
        }),
        (
            "GET /api/v1/admin/staff",
            "YYNYNNNNNNN",
            Box::new(|_, _| get("/api/v1/admin/staff".into())),
        ),
        ("PUT /api/v1/admin/staff/{u} (clinician)", "YNNONNNNNNN", {
            let (own, other) = (own.clone(), other.clone());
            Box::new(move |_, o| {
                let k = rand_k();
                with(
                    Method::PUT,
                    format!("/api/v1/admin/staff/bs-moi-{k}"),
                    staff_body("clinician", if o { &own } else { &other }),
                )
            })
        }),
        (
            "PUT /api/v1/admin/staff/{u} (facility admin)",
            "YONNNNNNNNN",
            {
                let (own, other) = (own.clone(), other.clone());
                Box::new(move |_, o| {
                    let k = rand_k();
                    with(
                        Method::PUT,
                        format!("/api/v1/admin/staff/qt-moi-{k}"),
                        staff_body("facility_admin", if o { &own } else { &other }),
                    )
                })
            },
        ),
        (
            "GET /api/v1/admin/break-glass",
            "NNNYNNNNNNN",
            Box::new(|_, _| get("/api/v1/admin/break-glass".into())),
        ),
        (
            "POST /api/v1/admin/break-glass/{p}/{id}/review",
            "NNNONNNNNNN",
            Box::new(move |w, o| {
                let id = w.glass(if o { "cl" } else { "cl-other" }, a);
                with(
                    Method::POST,
                    format!("/api/v1/admin/break-glass/{a}/{id}/review"),
                    json!({"note": "Đã kiểm tra: cấp cứu thật"}),
                )
            }),
        ),
        // Own: a person treated at or referred to the own facility; other: one never seen there.
        (
            "POST /api/v1/admin/activation-codes",
            "NNNONNONNNN",
            Box::new(move |w, o| {
                with(
                    Method::POST,
                    "/api/v1/admin/activation-codes".into(),
                    json!({"personal_id": if o { w.a_pid.clone() } else { w.b_pid.clone() }}),
                )
            }),
        ),
        // B (no principal here) becomes A's guardian; the principals' rights do not change.
        // Only staff of A's place of residence (the commune station) record it: a facility
        // that treated A has only its own dossiers' word for who A is.
        (
            "POST /api/v1/admin/guardians",
            "NNNNNNONNNN",
            Box::new(move |w, o| {
                let (g, ward) = if o {
                    (&w.b_pid, &w.a_pid)
                } else {
                    (&w.a_pid, &w.b_pid)
                };
                with(
                    Method::POST,
                    "/api/v1/admin/guardians".into(),
                    json!({"guardian_personal_id": g, "ward_personal_id": ward, "basis": "Giấy khai sinh số 12/2020"}),
                )
            }),
        ),
        (
            "GET /api/v1/admin/audit/verify",
            "YNNNNNNNNNN",
            Box::new(|_, _| get("/api/v1/admin/audit/verify".into())),
        ),
        // The web pages, with the same rules.
        (
            "GET /so/{p}",
            "NNNNNNNNOON",
            Box::new(move |_, o| get(format!("/so/{}", if o { a } else { b }))),
        ),
        (
            "GET /so/{p}/luot/{e}",
            "NNNNNNNNOON",
            Box::new(move |_, o| {
                get(if o {
                    format!("/so/{a}/luot/{ea}")
                } else {
                    format!("/so/{b}/luot/{eb}")
                })
            }),
        ),
        (
            "GET /so/{p}/chia-se",
            "NNNNNNNNOON",
            Box::new(move |_, o| get(format!("/so/{}/chia-se", if o { a } else { b }))),
        ),
        (
            "GET /so/{p}/nhat-ky",
            "NNNNNNNNOON",
            Box::new(move |_, o| get(format!("/so/{}/nhat-ky", if o { a } else { b }))),
        ),
        (
            "GET /nhan-vien/benh-nhan/{p}",
            "NNNNONNNNNN",
            Box::new(move |_, o| get(format!("/nhan-vien/benh-nhan/{}", if o { a } else { b }))),
        ),
        (
            "GET /nhan-vien/benh-nhan/{p}/luot/{e}",
            "NNNNONNNNNN",
            Box::new(move |_, o| {
                get(if o {
                    format!("/nhan-vien/benh-nhan/{a}/luot/{ea}")
                } else {
                    format!("/nhan-vien/benh-nhan/{b}/luot/{eb}")
                })
            }),
        ),
        (
            "GET /nhan-vien/co-so",
            "YYYYNNNYNNN",
            Box::new(|_, _| get("/nhan-vien/co-so".into())),
        ),
        ("GET /nhan-vien/co-so/{f}/chung-thu", "YONNNNNNNNN", {
            let (own, other) = (own.clone(), other.clone());
            Box::new(move |_, o| {
                get(format!(
                    "/nhan-vien/co-so/{}/chung-thu",
                    if o { &own.code } else { &other.code }
                ))
            })
        }),
        (
            "GET /nhan-vien/tai-khoan",
            "YYNYNNNNNNN",
            Box::new(|_, _| get("/nhan-vien/tai-khoan".into())),
        ),
        (
            "GET /nhan-vien/xem-xet",
            "NNNYNNNNNNN",
            Box::new(|_, _| get("/nhan-vien/xem-xet".into())),
        ),
        (
            "GET /nhan-vien/don-vi",
            "YYYNNNNYNNN",
            Box::new(|_, _| get("/nhan-vien/don-vi".into())),
        ),
        // FHIR: the same rules as the book's own API.
        (
            "GET /fhir/metadata",
            "YYYYYYYYYYY",
            Box::new(|_, _| get("/fhir/metadata".into())),
        ),
        (
            "GET /fhir/CodeSystem/ma-loai-kcb",
            "YYYYYYYYYYY",
            Box::new(|_, _| get("/fhir/CodeSystem/ma-loai-kcb".into())),
        ),
        (
            "GET /fhir/Organization/{f}",
            "YYYYYYYYYYN",
            Box::new(move |w, o| {
                get(format!(
                    "/fhir/Organization/{}",
                    if o {
                        &w.own_facility.code
                    } else {
                        &w.other_facility.code
                    }
                ))
            }),
        ),
        (
            "GET /fhir/Patient/{p}",
            "NNNNONNNOON",
            Box::new(move |_, o| get(format!("/fhir/Patient/{}", if o { a } else { b }))),
        ),
        (
            "GET /fhir/Encounter/{p}-{e}",
            "NNNNONNNOON",
            Box::new(move |_, o| {
                get(if o {
                    format!("/fhir/Encounter/{a}-{ea}")
                } else {
                    format!("/fhir/Encounter/{b}-{eb}")
                })
            }),
        ),
        (
            "GET /fhir/Condition?patient={p}",
            "NNNNONNNOON",
            Box::new(move |_, o| get(format!("/fhir/Condition?patient={}", if o { a } else { b }))),
        ),
        (
            "GET /fhir/Patient/{p}/$everything",
            "NNNNONNNOON",
            Box::new(move |_, o| {
                get(format!(
                    "/fhir/Patient/{}/$everything",
                    if o { a } else { b }
                ))
            }),
        ),
        (
            "GET /fhir/Patient/{p}/$summary",
            "NNNNONNNOON",
            Box::new(move |_, o| get(format!("/fhir/Patient/{}/$summary", if o { a } else { b }))),
        ),
    ];

    let b_name = w.store.person(b).unwrap().unwrap().name.unwrap();
    let mut table = String::new();
    let mut wrong = Vec::new();
    let mut pairs = 0;
    for (name, expect, mut build) in rows {
        assert_eq!(expect.len(), ROLES.len(), "{name}");
        let mut line = format!("{name:<50}");
        for (role, e) in ROLES.iter().zip(expect.chars()) {
            let token = w.tokens[role].clone();
            let mut cell = String::new();
            for own_target in [true, false] {
                let req = build(&w, own_target);
                let (status, body) = w.call(&token, req.method, &req.path, req.body).await;
                pairs += 1;
                let allowed = status.is_success();
                let denied = matches!(
                    status,
                    StatusCode::UNAUTHORIZED
                        | StatusCode::FORBIDDEN
                        | StatusCode::NOT_FOUND
                        | StatusCode::SEE_OTHER
                );
                let want = match e {
                    'Y' => true,
                    'O' => own_target,
                    _ => false,
                };
                if !(allowed || denied) || allowed != want {
                    wrong.push(format!(
                        "{name} as {role} ({}): {status}, expected {}: {}",
                        if own_target { "own" } else { "other" },
                        if want { "allowed" } else { "refused" },
                        body.chars().take(200).collect::<String>()
                    ));
                }
                // A refusal gives nothing away: not even the other person's name.
                if denied && body.contains(&b_name) {
                    wrong.push(format!("{name} as {role}: the refusal names person B"));
                }
                cell.push(if allowed { '✓' } else { '·' });
            }
            line.push_str(&format!(" {cell}"));
        }
        table.push_str(&line);
        table.push('\n');
    }
    println!(
        "{:<50} {}",
        "endpoint (✓ allowed, · refused; own then other)",
        ROLES.map(|r| &r[..2]).join(" ")
    );
    print!("{table}");
    println!("{pairs} requests");
    assert!(
        wrong.is_empty(),
        "{} wrong outcomes:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let _ = w.g;
}
both!(authorization_matrix_every_role_every_endpoint);

/// A per-process counter for fresh usernames.
fn rand_k() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static K: AtomicU32 = AtomicU32::new(0);
    K.fetch_add(1, Ordering::Relaxed)
}

async fn consent_expires_and_revocation_refuses_at_once() {
    let w = world().await;
    let cl = w.tokens["clinician"].clone();
    let citizen = w.tokens["citizen"].clone();
    let a = w.a;
    // The citizen makes a summary-only code through the API.
    let (s, body) = w
        .call(
            &citizen,
            Method::POST,
            &format!("/api/v1/persons/{a}/shares"),
            Some(json!({"scope": "summary", "minutes": 60})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let made: Value = serde_json::from_str(&body).unwrap();
    let code = made["code"].as_str().unwrap().to_string();
    assert!(
        made["qr_svg"].as_str().unwrap().contains("<svg"),
        "a QR code comes with it"
    );
    let share_id = made["share"]["id"].as_i64().unwrap();
    // The clinician enters it (lower case, no dash: as typed) and reads the summary.
    let typed = code.replace('-', "").to_lowercase();
    let (s, body) = w
        .call(
            &cl,
            Method::POST,
            "/api/v1/clinician/consents",
            Some(json!({"code": typed})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The same code at another facility opens nothing.
    let elsewhere = w.store.create_staff_session("cl-other", 600_000).unwrap();
    let (s, _) = w
        .call(
            &elsewhere,
            Method::POST,
            "/api/v1/clinician/consents",
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a code serves the facility that used it first"
    );
    let (s, body) = w
        .call(
            &cl,
            Method::GET,
            &format!("/api/v1/clinician/patients/{a}/summary"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let summary: Value = serde_json::from_str(&body).unwrap();
    assert!(summary["summary"]["episodes"].as_u64().unwrap() > 0);
    // A summary grant opens no episode.
    let (s, body) = w
        .call(
            &cl,
            Method::GET,
            &format!("/api/v1/clinician/patients/{a}/episodes/{}", w.a_episode),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("summary_only"), "{body}");
    // The citizen sees the access in their log.
    let (_, log) = w
        .call(
            &citizen,
            Method::GET,
            &format!("/api/v1/persons/{a}/access-log"),
            None,
        )
        .await;
    let log: Value = serde_json::from_str(&log).unwrap();
    let reads = log["reads"].as_array().unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r["actor"] == "cl" && r["action"] == "summary" && r["basis"] == "consent")
    );
    assert_eq!(reads[0]["practising_cert"], "000777/CCHN");
    // Revoked: refused at once, and the code no longer opens anything.
    let (s, _) = w
        .call(
            &citizen,
            Method::DELETE,
            &format!("/api/v1/persons/{a}/shares/{share_id}"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = w
        .call(
            &cl,
            Method::GET,
            &format!("/api/v1/clinician/patients/{a}/summary"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("consent_ended"), "{body}");
    let (s, _) = w
        .call(
            &cl,
            Method::POST,
            "/api/v1/clinician/consents",
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A code that expires: good while it lasts, refused after.
    let (_, short) = w.store.create_share(a, a, Scope::Full, 1_500).unwrap();
    let (s, _) = w
        .call(
            &cl,
            Method::POST,
            "/api/v1/clinician/consents",
            Some(json!({"code": short})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w
        .call(
            &cl,
            Method::GET,
            &format!("/api/v1/clinician/patients/{a}/episodes/{}", w.a_episode),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    let (s, body) = w
        .call(
            &cl,
            Method::GET,
            &format!("/api/v1/clinician/patients/{a}/episodes/{}", w.a_episode),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, _) = w
        .call(
            &cl,
            Method::POST,
            "/api/v1/clinician/consents",
            Some(json!({"code": short})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "an expired code opens nothing");
    // Guessing codes is stopped.
    let mut last = StatusCode::OK;
    for i in 0..12 {
        last = w
            .call(
                &cl,
                Method::POST,
                "/api/v1/clinician/consents",
                Some(json!({"code": format!("ZZZZ{i:04}")})),
            )
            .await
            .0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}
both!(consent_expires_and_revocation_refuses_at_once);

async fn break_glass_is_flagged_reviewed_and_shown_to_the_citizen() {
    let w = world().await;
    let cl = w.tokens["clinician"].clone();
    let fa = w.tokens["facility_admin"].clone();
    let a = w.a;
    let reason = "Bệnh nhân hôn mê sau tai nạn, cần tiền sử dị ứng thuốc";
    let (s, body) = w
        .call(
            &cl,
            Method::POST,
            "/api/v1/clinician/break-glass",
            Some(json!({"personal_id": w.a_pid, "reason": reason})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let grant: Value = serde_json::from_str(&body).unwrap();
    let window = grant["grant"]["expires_at"].as_i64().unwrap()
        - grant["grant"]["created_at"].as_i64().unwrap();
    assert_eq!(window, book::access::BREAK_GLASS_MS, "a short window");
    let (s, _) = w
        .call(
            &cl,
            Method::GET,
            &format!("/api/v1/clinician/patients/{a}/episodes/{}", w.a_episode),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // Flagged to the facility admin, unreviewed.
    let (_, list) = w
        .call(&fa, Method::GET, "/api/v1/admin/break-glass", None)
        .await;
    let list: Value = serde_json::from_str(&list).unwrap();
    let item = list
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["grant"]["reason"] == reason)
        .expect("flagged");
    assert!(item["grant"]["reviewed_at"].is_null());
    assert_eq!(item["by"]["practising_cert"], "000777/CCHN");
    let id = item["grant"]["id"].as_i64().unwrap();
    // Reviewed once, with a note.
    let path = format!("/api/v1/admin/break-glass/{a}/{id}/review");
    let (s, _) = w
        .call(&fa, Method::POST, &path, Some(json!({"note": ""})))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = w
        .call(
            &fa,
            Method::POST,
            &path,
            Some(json!({"note": "Đúng quy trình cấp cứu"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = w
        .call(&fa, Method::POST, &path, Some(json!({"note": "lần hai"})))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The citizen sees it, marked as an emergency, with the reason.
    let (_, log) = w
        .call(
            &w.tokens["citizen"],
            Method::GET,
            &format!("/api/v1/persons/{a}/access-log"),
            None,
        )
        .await;
    let log: Value = serde_json::from_str(&log).unwrap();
    assert!(
        log["reads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["basis"] == "break_glass" && r["action"] == "episode")
    );
    // The admin who reviewed saw who the patient was: that is in the log too.
    assert!(
        log["reads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["actor"] == "fa" && r["action"] == "review")
    );
    assert!(
        log["grants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["basis"] == "break_glass"
                && g["reason"] == reason
                && g["review_note"] == "Đúng quy trình cấp cứu")
    );
    let (s, page) = w
        .call(
            &w.tokens["citizen"],
            Method::GET,
            &format!("/so/{a}/nhat-ky"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Truy cập khẩn cấp") && page.contains(reason));
    // The guardian sees the same log.
    let (s, _) = w
        .call(
            &w.tokens["guardian"],
            Method::GET,
            &format!("/api/v1/persons/{a}/access-log"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // ... and that look is itself in A's log, as the guardian's.
    let newest = &w.store.audit_of(a).unwrap()[0];
    assert_eq!(
        (
            newest.action.as_str(),
            newest.role.as_str(),
            newest.basis.as_str()
        ),
        ("access_log", "guardian", "guardianship")
    );
}
both!(break_glass_is_flagged_reviewed_and_shown_to_the_citizen);

async fn the_destination_opens_a_referred_patient_with_the_referral_number() {
    let w = world().await;
    let cl = w.tokens["clinician"].clone();
    let (s, body) = w
        .call(
            &cl,
            Method::POST,
            "/api/v1/clinician/referrals",
            Some(json!({"number": w.a_referral, "personal_id": w.b_pid})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "the number with another patient's ID: {body}"
    );
    let (s, body) = w
        .call(
            &cl,
            Method::POST,
            "/api/v1/clinician/referrals",
            Some(json!({"number": w.a_referral, "personal_id": w.a_pid})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let end = serde_json::from_str::<Value>(&body).unwrap()["grant"]["expires_at"]
        .as_i64()
        .unwrap();
    assert!(end <= now_ms() + 30 * 86_400_000 + 1_000, "at most 30 days");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["patient"]["id"], w.a);
    assert_eq!(v["grant"]["basis"], "referral");
    let (s, body) = w
        .call(
            &cl,
            Method::GET,
            &format!("/api/v1/clinician/patients/{}/summary", w.a),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["summary"]["referrals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["item"]["number"] == w.a_referral.as_str()),
        "the summary shows the referral from the previous facility"
    );
    // A clinician of another facility cannot use the number.
    let other = w.store.create_staff_session("cl-other", 600_000).unwrap();
    let (s, _) = w
        .call(
            &other,
            Method::POST,
            "/api/v1/clinician/referrals",
            Some(json!({"number": w.a_referral, "personal_id": w.a_pid})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
both!(the_destination_opens_a_referred_patient_with_the_referral_number);

async fn every_staff_read_is_in_an_intact_chain_that_exposes_tampering() {
    let w = world().await;
    let cl = w.tokens["clinician"].clone();
    let grant = w
        .store
        .redeem_share(
            &w.store
                .create_share(w.a, w.a, Scope::Summary, 600_000)
                .unwrap()
                .1,
            &w.staff("cl"),
            now_ms(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(grant.person_id, w.a);
    for _ in 0..3 {
        let (s, _) = w
            .call(
                &cl,
                Method::GET,
                &format!("/api/v1/clinician/patients/{}/summary", w.a),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    // Each summary is recorded, and so is the read of the person's QĐ 831 record that
    // the summary shows first (allergies, chronic conditions).
    let records = w.store.audit_of(w.a).unwrap();
    assert_eq!(records.len(), 6);
    assert_eq!(records.iter().filter(|r| r.action == "summary").count(), 3);
    assert_eq!(
        records.iter().filter(|r| r.action == "record.read").count(),
        3
    );
    assert_eq!(
        records[0].practising_cert.as_deref(),
        Some("000777/CCHN"),
        "kept in the record"
    );
    // Renaming the account later does not change what was recorded.
    let mut renamed = w.staff("cl");
    renamed.full_name = "Someone else".into();
    w.store.upsert_staff(&renamed, None).unwrap();
    assert_eq!(
        w.store.audit_of(w.a).unwrap()[0].actor_name.as_deref(),
        Some("Nhân viên cl")
    );
    // Under a key, records made without it (or with another) do not verify: without
    // the key, nobody can forge a chain.
    let keyed = w.dir.open();
    keyed.set_audit_key(b"a secret of at least thirty-two bytes!".to_vec());
    assert_eq!(keyed.verify_audit().unwrap().problems.len(), 6);
    keyed.close();
    drop(keyed);
    let (s, body) = w
        .call(
            &w.tokens["system_admin"],
            Method::GET,
            "/api/v1/admin/audit/verify",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["records"], 6);
    assert!(report["problems"].as_array().unwrap().is_empty());
    // The database refuses edits and deletions through SQL.
    let a = w.a;
    assert!(
        w.dir
            .sql(&format!(
                "UPDATE audit_log SET actor = 'x' WHERE person_id = {a}"
            ))
            .is_err()
    );
    assert!(w.dir.sql("DELETE FROM audit_log").is_err());
    // Someone with the database drops the guards and edits one record: detected.
    w.dir
        .sql(match w.dir.backend() {
            common::Backend::Sqlite => {
                "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;"
            }
            common::Backend::Postgres => "DROP TRIGGER audit_log_no_update ON audit_log;",
        })
        .unwrap();
    let second = w
        .store
        .audit_of(w.a)
        .unwrap()
        .into_iter()
        .find(|r| r.seq == 2)
        .unwrap()
        .action;
    w.dir
        .sql("UPDATE audit_log SET action = 'episodes' WHERE seq = 2")
        .unwrap();
    let r = w.store.verify_audit().unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("record 2 was changed")),
        "{:?}",
        r.problems
    );
    w.dir
        .sql(&format!(
            "UPDATE audit_log SET action = '{second}' WHERE seq = 2"
        ))
        .unwrap();
    assert!(w.store.verify_audit().unwrap().ok(), "restored");
    // A record removed from the middle, or from the end: detected.
    w.dir.sql("DELETE FROM audit_log WHERE seq = 2").unwrap();
    let r = w.store.verify_audit().unwrap();
    assert!(
        r.problems.iter().any(|p| p.contains("missing")),
        "{:?}",
        r.problems
    );
    w.dir.sql("DELETE FROM audit_log WHERE seq = 6").unwrap();
    let r = w.store.verify_audit().unwrap();
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("removed from the end")),
        "{:?}",
        r.problems
    );
}
both!(every_staff_read_is_in_an_intact_chain_that_exposes_tampering);

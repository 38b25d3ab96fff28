//! Chronic care, growth and health charts over loopback HTTP, on SQLite and PostgreSQL:
//! the station enrols a resident (from the proposals of their hospital dossiers, and by
//! hand), records follow-ups (a wrong blood pressure is refused with the reason, the
//! control is the server's), sees its register with control and due state, marks a
//! status; another commune's officer finds nothing; a child's measurement is classified
//! by the WHO standards and drawn; the elderly's yearly check is listed; the citizen
//! sees their registers and their values over time as charts, a guardian the child's
//! growth chart; every write and every read by another is in the person's audit chain.

#[macro_use]
mod common;

mod station_world;

use book::IdKind;
use reqwest::StatusCode;
use station_world::{World, world};
use store::Resident;

const CHILD: &str = "001224000177";

struct Page {
    status: StatusCode,
    text: String,
}

impl Page {
    fn csrf(&self) -> String {
        let at = self
            .text
            .find("name=\"csrf\" value=\"")
            .expect("a form with its CSRF token");
        let rest = &self.text[at + 19..];
        rest[..rest.find('"').unwrap()].to_string()
    }
}

async fn get(w: &World, cookie: &str, path: &str) -> Page {
    let r = w
        .http
        .get(format!("{}{path}", w.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    Page {
        status: r.status(),
        text: r.text().await.unwrap(),
    }
}

async fn post(w: &World, cookie: &str, path: &str, form: &[(&str, &str)]) -> Page {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client
        .post(format!("{}{path}", w.base))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    let text = r.text().await.unwrap();
    Page {
        status,
        text: location.unwrap_or(text),
    }
}

fn days_ago(n: u64) -> String {
    (store::vn_now().date() - chrono::Days::new(n))
        .format("%Y-%m-%d")
        .to_string()
}

async fn a_station_keeps_its_chronic_registers() {
    let w = world().await;
    let staff = format!("hb_staff={}", w.tram01);
    let other = format!("hb_staff={}", w.tram40);

    // Proposals from the hospital dossiers of the resident who has chronic codes.
    let ncd_code = w
        .chronic
        .1
        .iter()
        .find(|c| book::ncd::Disease::of_icd10(c).is_some())
        .cloned();
    assert!(
        ncd_code.is_some(),
        "the world's chronic resident: {:?}",
        w.chronic.1
    );
    let proposals = get(&w, &staff, "/tram/man-tinh/de-xuat").await;
    assert_eq!(proposals.status, StatusCode::OK);
    if let Some(code) = &ncd_code {
        let disease = book::ncd::Disease::of_icd10(code).unwrap();
        assert!(
            proposals.text.contains(disease.label()),
            "{code} proposed: {}",
            proposals.text
        );
        // Accepting it takes the hospital visits since as follow-ups.
        let p = get(&w, &staff, &format!("/tram/man-tinh/{}", w.chronic.0)).await;
        assert!(p.text.contains("Đề xuất ghi danh"));
        let csrf = p.csrf();
        let r = post(
            &w,
            &staff,
            &format!("/tram/man-tinh/{}/ghi-danh", w.chronic.0),
            &[
                ("csrf", &csrf),
                ("disease", disease.code()),
                ("icd10", code),
                ("detected_on", "2000-01-01"),
                ("detected", "hospital"),
                ("confirmed_by", ""),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let p = get(&w, &staff, &format!("/tram/man-tinh/{}", w.chronic.0)).await;
        assert!(p.text.contains("Đang quản lý"));
        assert!(
            p.text.contains("khám tại"),
            "a hospital visit taken as a follow-up"
        );
        // Old hospital visits do not make the new entry missed: due from today.
        assert!(p.text.contains("Đến hẹn") && !p.text.contains("Quá hẹn"));
        // What the reminders ask: due now, missed a week and a day later.
        let svc = service::Service::new(w.store.clone());
        let today = store::vn_now().date();
        let due = svc.ncd_due_of(w.chronic.0, today).unwrap();
        assert_eq!(due.len(), 1, "{due:?}");
        assert_eq!((due[0].disease, due[0].due), (disease, book::ncd::Due::Due));
        let later = svc
            .ncd_due_of(w.chronic.0, today + chrono::Days::new(8))
            .unwrap();
        assert_eq!(later[0].due, book::ncd::Due::Missed);
    }

    // Enrolling An by hand (screening), then a follow-up.
    let page = get(&w, &staff, &format!("/tram/man-tinh/{}", w.an)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("Chưa có trong sổ quản lý"));
    let csrf = page.csrf();
    let detected = days_ago(40);
    let r = post(
        &w,
        &staff,
        &format!("/tram/man-tinh/{}/ghi-danh", w.an),
        &[
            ("csrf", &csrf),
            ("disease", "hypertension"),
            ("icd10", "I10"),
            ("detected_on", &detected),
            ("detected", "screening"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // A code of another register is refused.
    let r = post(
        &w,
        &staff,
        &format!("/tram/man-tinh/{}/ghi-danh", w.an),
        &[
            ("csrf", &csrf),
            ("disease", "diabetes"),
            ("icd10", "I10"),
            ("detected_on", &detected),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("không thuộc sổ"));

    let form = get(
        &w,
        &staff,
        &format!("/tram/man-tinh/{}/tai-kham/hypertension", w.an),
    )
    .await;
    assert!(form.text.contains("Lần theo dõi: Tăng huyết áp"));
    let visit = days_ago(10);
    let next = (store::vn_now().date() + chrono::Days::new(20))
        .format("%Y-%m-%d")
        .to_string();
    // Systolic not above diastolic: refused with the reason, what was typed kept.
    let bad = post(
        &w,
        &staff,
        &format!("/tram/man-tinh/{}/tai-kham/hypertension", w.an),
        &[
            ("csrf", &csrf),
            ("date", &visit),
            ("bp_sys", "80"),
            ("bp_dia", "90"),
            ("medicines", "Amlodipin 5mg, 30 viên"),
        ],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("tâm thu phải lớn hơn tâm trương"));
    assert!(bad.text.contains("Amlodipin 5mg, 30 viên</textarea>"));
    let ok = post(
        &w,
        &staff,
        &format!("/tram/man-tinh/{}/tai-kham/hypertension", w.an),
        &[
            ("csrf", &csrf),
            ("date", &visit),
            ("bp_sys", "152"),
            ("bp_dia", "94"),
            ("weight_kg", "61,5"),
            ("medicines", "Amlodipin 5mg, 30 viên"),
            ("adherence", "partial"),
            ("screened", "eye"),
            ("screened", "kidney"),
            ("next_date", &next),
        ],
    )
    .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.text);
    let p = get(&w, &staff, &format!("/tram/man-tinh/{}", w.an)).await;
    assert!(p.text.contains("Huyết áp 152/94 mmHg"));
    assert!(
        p.text.contains("Chưa kiểm soát"),
        "150/90 or above: not controlled"
    );
    assert!(p.text.contains("Amlodipin 5mg (30 viên)"));
    assert!(p.text.contains("Mắt (soi đáy mắt), Thận"));

    // The register: An managed, not controlled, next appointment upcoming.
    let reg = get(&w, &staff, "/tram/man-tinh?benh=hypertension").await;
    assert!(reg.text.contains("Nguyễn Văn An"));
    assert!(reg.text.contains("Chưa kiểm soát") && reg.text.contains("Chưa đến hẹn"));
    let missed = get(&w, &staff, "/tram/man-tinh?benh=hypertension&loc=missed").await;
    assert!(!missed.text.contains("Nguyễn Văn An"));
    // Another commune's officer sees neither the person nor them in its register.
    let p = get(&w, &other, &format!("/tram/man-tinh/{}", w.an)).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let reg40 = get(&w, &other, "/tram/man-tinh").await;
    assert!(!reg40.text.contains("Nguyễn Văn An"));

    // Status: referred, then out of the managed list.
    let r = post(
        &w,
        &staff,
        &format!("/tram/man-tinh/{}/trang-thai/hypertension", w.an),
        &[
            ("csrf", &csrf),
            ("status", "referred"),
            ("on", &days_ago(1)),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let reg = get(&w, &staff, "/tram/man-tinh?benh=hypertension").await;
    assert!(!reg.text.contains("Nguyễn Văn An"));
    let all = get(&w, &staff, "/tram/man-tinh?benh=hypertension&loc=all").await;
    assert!(all.text.contains("Chuyển tuyến"));

    // The elderly's yearly check: An (born 1950) is due.
    let old = get(&w, &staff, "/tram/nguoi-cao-tuoi").await;
    assert!(old.text.contains("Nguyễn Văn An") && old.text.contains("Đến hạn khám"));
    assert!(!old.text.contains("Trần Thị Bình"), "under 60");

    // A child: born 14 months ago, measured at 7.0 kg and 70 cm lying.
    let born = (store::vn_now().date() - chrono::Months::new(14))
        .format("%Y%m%d")
        .to_string();
    w.store
        .import_population(&[Resident {
            personal_id: CHILD.into(),
            name: Some("Nguyễn Bé Nhỏ".into()),
            birth: Some(born),
            sex: Some("2".into()),
            unit: "00004".into(),
            status: "alive".into(),
        }])
        .unwrap();
    let child = w
        .store
        .person_by_identifier(IdKind::PersonalId, CHILD)
        .unwrap()
        .unwrap()
        .id;
    let kids = get(&w, &staff, "/tram/tre-em").await;
    assert!(kids.text.contains("Nguyễn Bé Nhỏ") && kids.text.contains("Chưa cân đo"));
    let today = days_ago(0);
    let r = post(
        &w,
        &staff,
        &format!("/tram/tre-em/{child}"),
        &[
            ("csrf", &csrf),
            ("date", &today),
            ("weight_kg", "7,0"),
            ("length_cm", "70"),
            ("lying", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
    let bad = post(
        &w,
        &staff,
        &format!("/tram/tre-em/{child}"),
        &[("csrf", &csrf), ("date", &today), ("weight_kg", "nặng")],
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text.contains("Cân nặng: không phải là số"));
    let g = get(&w, &staff, &format!("/tram/tre-em/{child}")).await;
    // WHO girls at 13 completed months: weight-for-age L −0.2158, M 9.1699, S 0.12283;
    // 7.0 kg is z −2.26: moderately underweight.
    assert!(g.text.contains("SDD thể nhẹ cân"), "{}", g.text);
    assert!(g.text.contains("<svg") && g.text.contains("<circle"));
    assert!(g.text.contains("Cân nặng theo tuổi"));
    let kids = get(&w, &staff, "/tram/tre-em").await;
    assert!(kids.text.contains("SDD nhẹ cân"));

    // The figures per commune for the reports.
    let figures = w.store.chronic_indicators(store::vn_now().date()).unwrap();
    let ba_dinh = figures.iter().find(|c| c.commune == "00004").unwrap();
    assert_eq!(ba_dinh.ncd["hypertension"].referred, 1);
    assert_eq!(
        (ba_dinh.growth.measured, ba_dinh.growth.underweight),
        (1, 1)
    );

    // The citizen: An sees the register and the chart of the blood pressure.
    let an_session = format!(
        "hb_session={}",
        w.store.create_session(w.an, 3_600_000).unwrap()
    );
    let mine = get(&w, &an_session, &format!("/so/{}/benh-man-tinh", w.an)).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.text.contains("Tăng huyết áp") && mine.text.contains("Huyết áp 152/94 mmHg"));
    let charts = get(&w, &an_session, &format!("/so/{}/chi-so", w.an)).await;
    assert!(charts.text.contains("Huyết áp tâm thu (mmHg)"));
    assert!(charts.text.contains("<svg"));
    // … not another's.
    let theirs = get(&w, &an_session, &format!("/so/{}/chi-so", w.binh)).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    // A guardian sees the child's growth chart.
    w.store.grant_guardian(w.binh, child, "test").unwrap();
    let binh_session = format!(
        "hb_session={}",
        w.store.create_session(w.binh, 3_600_000).unwrap()
    );
    let growth = get(&w, &binh_session, &format!("/so/{child}/tang-truong")).await;
    assert_eq!(growth.status, StatusCode::OK);
    assert!(growth.text.contains("SDD thể nhẹ cân") && growth.text.contains("<svg"));
    assert!(
        !growth.text.contains("Ghi lần cân, đo"),
        "the form is the station's"
    );

    // The audit chains: every write by the station, the guardian's read.
    let actions = |pid: i64| -> Vec<String> {
        w.store
            .audit_of(pid)
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect()
    };
    let an = actions(w.an);
    for a in ["ncd.enrol", "ncd.followup", "ncd.status", "ncd.read"] {
        assert!(an.iter().any(|x| x == a), "{a} in {an:?}");
    }
    assert!(
        !an.iter().any(|x| x == "series.read"),
        "own reads are not recorded"
    );
    let child_log = actions(child);
    assert!(child_log.iter().any(|x| x == "growth.measure"));
    assert!(
        child_log.iter().any(|x| x == "growth.read"),
        "the guardian's read"
    );
}
both!(a_station_keeps_its_chronic_registers);

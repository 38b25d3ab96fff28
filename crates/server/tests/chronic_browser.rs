//! Chronic care, growth and health charts in a real headless Chromium (as
//! `tests/station_browser.rs`): a commune officer opens the proposals, enrols a resident
//! proposed by their hospital dossiers, records a follow-up (a wrong blood pressure is
//! shown again with the reason), reads the register, the children under five, a child's
//! growth chart after a measurement, and the elderly's yearly check; the citizen reads
//! their registers and their values over time as charts, a guardian the child's growth
//! chart. Every screen at 390 and 1366 px, axe-clean, nothing wider than the screen;
//! screenshots `chronic-*-390.png` / `chronic-*-1366.png` under `target/screenshots/`.

#[macro_use]
mod common;
mod browser_kit;
mod station_world;

use book::IdKind;
use browser_kit::{Driver, axe_source, check_page};
use serde_json::json;
use station_world::world;
use store::Resident;

async fn chronic_care_works_in_the_browser() {
    let w = world().await;
    let base = w.base.clone();
    let axe = axe_source();
    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;
    // A child of the commune, 20 months old.
    let born = (store::vn_now().date() - chrono::Months::new(20))
        .format("%Y%m%d")
        .to_string();
    w.store
        .import_population(&[Resident {
            personal_id: "001224000188".into(),
            name: Some("Lê Bé Na".into()),
            birth: Some(born),
            sex: Some("1".into()),
            unit: "00004".into(),
            status: "alive".into(),
        }])
        .unwrap();
    let child = w
        .store
        .person_by_identifier(IdKind::PersonalId, "001224000188")
        .unwrap()
        .unwrap()
        .id;

    // Signing in returns to the registers.
    d.go(&format!("{base}/tram/man-tinh")).await;
    d.wait_for_url_with("/nhan-vien/dang-nhap").await;
    d.type_into("#username", "tram01").await;
    d.type_into("#password", "mat-khau-tram").await;
    d.click("button[type=submit]").await;
    d.wait_for_url_with("/tram/man-tinh").await;
    d.wait_for_text("Quản lý bệnh mạn tính").await;
    check_page(&d, &axe, "chronic-1-register", "the NCD register (empty)").await;

    // The proposals, and an enrolment from them.
    d.go(&format!("{base}/tram/man-tinh/de-xuat")).await;
    let props = d.wait_for_text("Đề xuất ghi danh").await;
    assert!(
        props.contains("Ghi danh"),
        "a proposal from hospital dossiers"
    );
    check_page(&d, &axe, "chronic-2-proposals", "enrolment proposals").await;
    d.click("form button.primary").await;
    d.wait_for_url_with("luu=ghi-danh").await;
    let person = d.wait_for_text("Đã ghi danh vào sổ quản lý.").await;
    assert!(person.contains("Đang quản lý"));
    check_page(&d, &axe, "chronic-3-person", "a person's registers").await;

    // A follow-up refused, then saved.
    d.click("a[href*='/tai-kham/']").await;
    d.wait_for_text("Lần theo dõi:").await;
    check_page(&d, &axe, "chronic-4-followup", "the follow-up form").await;
    d.type_into("#bp_sys", "80").await;
    d.type_into("#bp_dia", "90").await;
    d.click("form button.primary").await;
    let again = d.wait_for_text("Chưa lưu được").await;
    assert!(again.contains("tâm thu phải lớn hơn tâm trương"));
    check_page(&d, &axe, "chronic-5-followup-error", "a follow-up refused").await;
    d.clear("#bp_sys").await;
    d.type_into("#bp_sys", "128").await;
    d.clear("#bp_dia").await;
    d.type_into("#bp_dia", "78").await;
    d.click("form button.primary").await;
    d.wait_for_url_with("luu=1").await;
    let saved = d.wait_for_text("Đã lưu lần theo dõi.").await;
    assert!(saved.contains("Huyết áp 128/78 mmHg"));

    // The register with the person in it.
    d.go(&format!("{base}/tram/man-tinh?loc=all")).await;
    d.wait_for_text("Quản lý bệnh mạn tính").await;
    check_page(&d, &axe, "chronic-6-register", "the NCD register").await;

    // Children: a measurement, then the growth chart.
    d.go(&format!("{base}/tram/tre-em")).await;
    let kids = d.wait_for_text("Trẻ dưới 5 tuổi").await;
    assert!(kids.contains("Lê Bé Na") && kids.contains("Chưa cân đo"));
    check_page(&d, &axe, "chronic-7-children", "children under five").await;
    d.go(&format!("{base}/tram/tre-em/{child}")).await;
    d.wait_for_text("Tăng trưởng: Lê Bé Na").await;
    d.click("details summary").await;
    d.type_into("#weight_kg", "8,6").await;
    d.type_into("#length_cm", "76").await;
    d.click("form button.primary").await;
    d.wait_for_url_with("luu=1").await;
    let chart = d.wait_for_text("Đã lưu lần đo.").await;
    assert!(
        chart.contains("<svg") && chart.contains("SDD thể"),
        "a malnourished boy"
    );
    check_page(&d, &axe, "chronic-8-growth", "a child's growth chart").await;

    // The elderly's yearly check.
    d.go(&format!("{base}/tram/nguoi-cao-tuoi")).await;
    let old = d.wait_for_text("Khám sức khỏe người cao tuổi").await;
    assert!(old.contains("Nguyễn Văn An"));
    check_page(&d, &axe, "chronic-9-elderly", "the elderly's yearly check").await;

    // The citizen (the enrolled resident) reads their registers and charts.
    let (pid, _) = w.chronic.clone();
    let session = w.store.create_session(pid, 3_600_000).unwrap();
    d.go(&format!("{base}/dang-nhap")).await;
    d.cmd(
        reqwest::Method::POST,
        "/cookie",
        Some(json!({"cookie": {"name": "hb_session", "value": session, "path": "/"}})),
    )
    .await;
    d.go(&format!("{base}/so/{pid}/benh-man-tinh")).await;
    let mine = d.wait_for_text("Bệnh mạn tính được quản lý").await;
    assert!(mine.contains("Huyết áp 128/78 mmHg"));
    check_page(&d, &axe, "chronic-10-citizen", "the citizen's registers").await;
    d.go(&format!("{base}/so/{pid}/chi-so")).await;
    let charts = d.wait_for_text("Chỉ số theo thời gian").await;
    assert!(charts.contains("<svg"));
    check_page(&d, &axe, "chronic-11-series", "values over time").await;

    // A guardian reads the child's growth chart.
    w.store.grant_guardian(w.binh, child, "test").unwrap();
    let guardian = w.store.create_session(w.binh, 3_600_000).unwrap();
    d.cmd(
        reqwest::Method::POST,
        "/cookie",
        Some(json!({"cookie": {"name": "hb_session", "value": guardian, "path": "/"}})),
    )
    .await;
    d.go(&format!("{base}/so/{child}/tang-truong")).await;
    let growth = d.wait_for_text("Tăng trưởng: Lê Bé Na").await;
    assert!(growth.contains("<svg") && !growth.contains("Ghi lần cân, đo"));
    check_page(
        &d,
        &axe,
        "chronic-12-citizen-growth",
        "a child's growth chart",
    )
    .await;
}
both!(chronic_care_works_in_the_browser);

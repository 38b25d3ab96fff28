//! The QĐ 831 record in a real headless Chromium (as `browser.rs`: Debian's chromium
//! and chromium-driver, axe-core from npm): the citizen opens their health profile
//! from the book, reads it at a phone's width and a laptop's, reports an error (a
//! refused text first, shown beside the field); a clinician under the person's share
//! code sees the allergy before the chronic conditions. Screenshots under
//! `target/screenshots/`.

#[macro_use]
mod common;
mod browser_kit;
mod record_world;

use std::sync::Arc;

use book::access::{Role, Scope};
use browser_kit::{Driver, axe_source, check_page};
use record_world::{STATION, edit, items};
use server::App;
use service::RecordEdit;
use store::{Facility, Resident, StaffAccount, Store};

async fn the_citizen_and_the_clinician_read_the_record() {
    let dir = common::scratch();
    let store = dir.open();
    record_world::units(&*store, &[(STATION, "Phường Ba Đình")]);
    for f in synth::catalog::FACILITIES.iter() {
        store
            .upsert_facility(&Facility {
                code: f.code.into(),
                name: f.name.into(),
                province: f.code[..2].into(),
                kind: "hospital".into(),
                bhyt_contract: true,
                unit: None,
            })
            .unwrap();
    }
    // A person whose dossiers name a chronic condition, resident of Phường Ba Đình.
    let (_, personal_id, person, chronic) = record_world::dossiers_with_a_chronic_patient(&store);
    store
        .import_population(&[Resident {
            personal_id: personal_id.clone(),
            name: None,
            birth: None,
            sex: None,
            unit: STATION.into(),
            status: "alive".into(),
        }])
        .unwrap();
    // The station fills the record: blood group, an allergy, history, two examinations.
    let station = record_world::station_nurse(&store);
    let svc = service::Service::new(store.clone());
    let filled = items(&[
        ("a.blood_abo", "O"),
        ("a.blood_rh", "+"),
        ("b.allergy.drug", "Penicillin (sốc phản vệ năm 2015)"),
        ("b.allergy.food", "Tôm, cua"),
        ("b.disease.hypertension", "1"),
        ("b.icd", &chronic),
        ("b.family.hypertension", "Bố"),
        ("b.risk.smoking", "3"),
        ("b.risk.activity", "1"),
        ("b.disability.vision", "Cận thị nặng"),
        ("b.surgery", "Mổ ruột thừa năm 2010"),
        ("c.flu1.date", "2025-10-15"),
    ]);
    edit(&svc, &station, person, RecordEdit::Items(&filled));
    let today = store::vn_now().date();
    for (days, weight, sys) in [
        (700, "70", "150"),
        (380, "68.2", "138"),
        (20, "66.5", "128"),
    ] {
        let date = (today - chrono::Duration::days(days)).to_string();
        let exam = items(&[
            ("pulse", "78"),
            ("weight", weight),
            ("height", "165"),
            ("bp_sys", sys),
            ("bp_dia", "85"),
            ("cardio", "Nhịp đều"),
            ("diagnosis", "Tăng huyết áp độ 1, đang điều trị"),
            ("icd", "I10"),
            ("advice", "Ăn nhạt, đi bộ 30 phút mỗi ngày, uống thuốc đều"),
            ("doctor", "BS. Nguyễn Văn Khám"),
        ]);
        edit(
            &svc,
            &station,
            person,
            RecordEdit::Exam {
                date: &date,
                items: &exam,
            },
        );
    }
    let code = store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    store
        .activate_citizen(&personal_id, &code, "246802")
        .unwrap();
    store
        .upsert_staff(
            &StaffAccount {
                username: "bs01001".into(),
                full_name: "BS. Lê Thu Hà".into(),
                role: Role::Clinician,
                unit: None,
                facility: Some("01001".into()),
                practising_cert: Some("004321/HNO-CCHN".into()),
                active: true,
            },
            Some("bac-si-2026"),
        )
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(
        listener,
        App::new(store.clone() as Arc<dyn Store>, server::Config::default()),
        async {
            let _ = rx.await;
        },
    ));
    let axe = axe_source();
    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;

    // The citizen opens the profile from the book.
    d.go(&format!("{base}/dang-nhap")).await;
    d.type_into("#personal_id", &personal_id).await;
    d.type_into("#passcode", "246802").await;
    d.click("button[type=submit]").await;
    d.wait_for_url(&format!("/so/{person}")).await;
    d.click(&format!("a.button[href='/so/{person}/ho-so-suc-khoe']"))
        .await;
    d.wait_for_url("/ho-so-suc-khoe").await;
    let page = d.wait_for_text("Hồ sơ sức khỏe cá nhân").await;
    let allergy = page.find("Thuốc: Penicillin").expect("the drug allergy");
    assert!(
        allergy < page.find("Cân nặng, chiều cao").unwrap(),
        "what matters first"
    );
    assert!(page.contains("Thực phẩm: Tôm, cua"));
    assert!(page.contains("<strong>O Rh+</strong>"));
    assert!(page.contains("Trạm y tế Phường Ba Đình"));
    assert!(page.contains("giảm 1,7 kg"), "the weight's trend in words");
    assert!(
        page.contains("Cân nặng qua 3 lần khám"),
        "the chart says what it shows"
    );
    check_page(&d, &axe, "p1-ho-so-suc-khoe", "health profile").await;
    // The history and the examination's details open.
    d.click("#lich-su summary").await;
    d.click("article details summary").await;
    let open = d.source().await;
    assert!(open.contains("Y sĩ Phạm Thị Lan, Trạm y tế Phường Ba Đình"));
    check_page(
        &d,
        &axe,
        "p2-ho-so-mo-chi-tiet",
        "health profile, details open",
    )
    .await;

    // A report too short is refused beside the field; then one is sent.
    d.type_into("#bao-sai-noi-dung", "sai").await;
    d.click("#bao-sai button[type=submit]").await;
    let refused = d.wait_for_text("id=\"bao-sai-loi\"").await;
    assert!(refused.contains("từ 5 đến 1.000 ký tự"));
    check_page(&d, &axe, "p3-bao-sai-loi", "error report refused").await;
    d.type_into(
        "#bao-sai-noi-dung",
        " — tôi không còn dị ứng tôm, cua từ năm 2020",
    )
    .await;
    d.click("#bao-sai button[type=submit]").await;
    d.wait_for_url("#bao-sai").await;
    d.wait_for_text("Đã gửi đến Trạm y tế Phường Ba Đình").await;
    check_page(&d, &axe, "p4-bao-sai-da-gui", "error report sent").await;
    let issues = store.station_issues(STATION, true, 10).unwrap();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(
        issues[0].detail["text"],
        "sai — tôi không còn dị ứng tôm, cua từ năm 2020"
    );

    // A clinician with the person's share code: the allergy before anything else.
    let (_, share) = store
        .create_share(person, person, Scope::Summary, 3_600_000)
        .unwrap();
    d.clear_cookies().await;
    d.go(&format!("{base}/nhan-vien/dang-nhap")).await;
    d.type_into("#username", "bs01001").await;
    d.type_into("#password", "bac-si-2026").await;
    d.click("button[type=submit]").await;
    d.wait_for_url("/nhan-vien").await;
    d.go(&format!("{base}/nhan-vien/ma?ma={share}")).await;
    d.click("form[action='/nhan-vien/ma'] button").await;
    d.wait_for_url(&format!("/nhan-vien/benh-nhan/{person}"))
        .await;
    let summary = d.wait_for_text("Tóm tắt sức khỏe").await;
    let allergy = summary
        .find("Thuốc: Penicillin (sốc phản vệ năm 2015)")
        .expect("the allergy");
    let chronic_at = summary.find("Bệnh mạn tính (toàn bộ tiền sử)").unwrap();
    let medicines = summary.find("Thuốc dùng trong 90 ngày").unwrap();
    assert!(
        allergy < chronic_at && chronic_at < medicines,
        "allergies first"
    );
    assert!(summary.contains("Nguồn: Hồ sơ sức khỏe (trạm y tế) · Trạm y tế Phường Ba Đình"));
    assert!(summary.contains(&format!("<strong>{chronic}</strong>")));
    assert!(summary.contains("O Rh+"));
    check_page(
        &d,
        &axe,
        "p5-bac-si-tom-tat",
        "clinician summary with the record",
    )
    .await;
    let reads = store.audit_of(person).unwrap();
    assert!(
        reads
            .iter()
            .any(|r| r.action == "record.read" && r.actor == "bs01001"),
        "the clinician's read of the record is recorded"
    );
}
both!(the_citizen_and_the_clinician_read_the_record);

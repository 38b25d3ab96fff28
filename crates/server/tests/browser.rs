//! The citizen's web book in a real headless Chromium (Debian's chromium and
//! chromium-driver, installed by `.ci/run`), driven over the W3C WebDriver protocol:
//! sign in, open a year and a visit, see lab results and the appointment, download
//! the PDF. A screenshot of each main screen is saved under `target/screenshots/`.

#[macro_use]
mod common;
mod browser_kit;

use std::path::PathBuf;
use std::sync::Arc;

use book::IdKind;
use browser_kit::{Driver, axe_source, check_page};
use dossier::{Options, Spec};
use serde_json::json;
use server::App;
use store::{Meta, Prepared, Source, Store, now_ms};
use synth::{Config, Generator};

async fn a_citizen_follows_the_steps_in_a_phone_sized_browser() {
    // A store with a person whose book has lab results and a re-exam appointment.
    let dir = common::scratch();
    let store = dir.open();
    // Visits of the last two years up to yesterday, as in the demo: some appointments
    // are still ahead and the last prescriptions recent.
    let yesterday = store::vn_now().date() - chrono::Duration::days(1);
    let g = Generator::new(Config {
        persons: 60,
        episodes: 600,
        seed: 23,
        from: yesterday - chrono::Duration::days(730),
        to: yesterday,
        ..Config::default()
    });
    let pending: Vec<store::Pending> = g
        .episodes()
        .map(|e| {
            let raw = e.envelope_bytes(Spec::Qd3176);
            let parsed = dossier::parse_envelope(&raw, &Options::default());
            let meta = Meta {
                facility: e.facility.code.into(),
                account: "t".into(),
                source: Source::Import,
                spec: Spec::Qd3176,
                received_at: now_ms(),
            };
            store
                .submit(Prepared::envelope(meta, &raw, &parsed))
                .unwrap()
        })
        .collect();
    for p in pending {
        p.wait().unwrap();
    }
    for f in synth::catalog::FACILITIES.iter() {
        store
            .upsert_facility(&store::Facility {
                code: f.code.into(),
                name: f.name.into(),
                province: f.code[..2].into(),
                kind: "hospital".into(),
                bhyt_contract: true,
                unit: None,
            })
            .unwrap();
    }
    let axe = axe_source();
    // Someone with lab results, an appointment and a referral; one whose next
    // appointment is still ahead when there is such a person.
    let now = store::vn_now();
    let candidates: Vec<(String, i64, i64, i32, i64, bool)> = (0..60)
        .filter_map(|j| g.person(j).personal_id)
        .filter_map(|pid| {
            let p = store
                .person_by_identifier(IdKind::PersonalId, &pid)
                .unwrap()?;
            let book = store.episodes_of(p.id).unwrap();
            let e = book.iter().find(|e| {
                e.view.appointment.is_some() && e.view.results.iter().any(|r| r.value.is_some())
            })?;
            let r = book.iter().find(|e| e.view.referral.is_some())?;
            let ahead = book
                .iter()
                .any(|e| book::summary::appointment_ahead(&e.view, now));
            use chrono::Datelike;
            Some((pid, p.id, e.id, e.view.admitted?.year(), r.id, ahead))
        })
        .collect();
    let (personal_id, person, visit, year, referral, ahead) = candidates
        .iter()
        .find(|c| c.5)
        .or(candidates.first())
        .cloned()
        .expect("a person with lab results, an appointment and a referral");
    let code = store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    store
        .activate_citizen(&personal_id, &code, "135790")
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

    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;
    // Sign in.
    d.go(&format!("{base}/so")).await;
    d.wait_for_url("/dang-nhap").await;
    check_page(&d, &axe, "1-dang-nhap", "sign-in").await;
    // The check does see faults: an unlabelled field is reported.
    d.cmd(
        reqwest::Method::POST,
        "/execute/sync",
        Some(json!({"script": "document.querySelector('form').appendChild(document.createElement('input'))", "args": []})),
    )
    .await;
    let faults = d.axe_violations(&axe).await;
    assert!(
        faults.iter().any(|v| v["id"] == "label"),
        "axe-core reports an unlabelled input: {faults:?}"
    );
    // Activation and a forgotten passcode have pages of their own.
    for (path, name, heading) in [
        ("/kich-hoat", "1b-kich-hoat", "Kích hoạt tài khoản"),
        ("/quen-ma-khoa", "1c-quen-ma-khoa", "Quên mã khóa"),
    ] {
        d.go(&format!("{base}{path}")).await;
        assert!(d.wait_for_text(heading).await.contains("id=\"code\""));
        check_page(&d, &axe, name, heading).await;
    }
    // A wrong passcode keeps the typed ID.
    d.go(&format!("{base}/dang-nhap")).await;
    d.type_into("#personal_id", &personal_id).await;
    d.type_into("#passcode", "000000").await;
    d.click("button[type=submit]").await;
    let wrong = d.wait_for_text("không đúng").await;
    assert!(
        wrong.contains(&format!("value=\"{personal_id}\"")),
        "the sign-in page keeps the typed ID"
    );
    check_page(&d, &axe, "1d-sai-ma-khoa", "wrong passcode").await;
    d.clear("#passcode").await;
    d.type_into("#passcode", "135790").await;
    d.click("button[type=submit]").await;
    d.wait_for_url(&format!("/so/{person}")).await;
    let home = d.source().await;
    assert!(home.contains("Lịch sử khám chữa bệnh"));
    // The person's card: the BHYT card with its validity said in words.
    assert!(home.contains("Thẻ BHYT"), "the card");
    assert!(
        home.contains("Còn hạn") || home.contains("Đã hết hạn") || home.contains("Chưa rõ hạn"),
        "the card's validity"
    );
    assert!(
        home.contains("Số định danh") && !home.contains(&personal_id),
        "the ID masked"
    );
    if ahead {
        assert!(home.contains("Lịch hẹn sắp tới"), "the next appointment");
    }
    let recent_prescription = store.episodes_of(person).unwrap().iter().any(|e| {
        !e.view.medicines.is_empty()
            && e.view
                .discharged
                .or(e.view.admitted)
                .is_some_and(|d| now - d <= chrono::Duration::days(book::summary::MEDICINE_DAYS))
    });
    if recent_prescription {
        assert!(home.contains("Thuốc đang dùng"), "the current medicines");
    }
    check_page(&d, &axe, "2-so-suc-khoe", "book").await;
    // A guardian switches between the books they manage.
    let ward = store
        .episodes_of(person)
        .ok()
        .and_then(|_| {
            (0..60)
                .filter_map(|j| g.person(j).personal_id)
                .find_map(|pid| {
                    let p = store
                        .person_by_identifier(IdKind::PersonalId, &pid)
                        .ok()??;
                    (p.id != person).then_some(p.id)
                })
        })
        .expect("another person");
    store.grant_guardian(person, ward, "test-station").unwrap();
    d.go(&format!("{base}/so/{ward}")).await;
    let ward_home = d.wait_for_text("Sổ bạn quản lý").await;
    assert!(
        ward_home.contains(&format!("href=\"/so/{person}\"")),
        "the way back to one's own book"
    );
    check_page(&d, &axe, "2b-so-nguoi-duoc-giam-ho", "a ward's book").await;
    store.revoke_guardian(person, ward).unwrap();
    // The health summary reads as a page, with the FHIR document to download.
    d.go(&format!("{base}/so/{person}/tom-tat")).await;
    let ips = d.wait_for_text("Tóm tắt sức khỏe").await;
    assert!(ips.contains("Dị ứng") && ips.contains(&format!("/fhir/Patient/{person}/$summary")));
    check_page(&d, &axe, "2c-tom-tat-ips", "health summary").await;
    // Unknown addresses get the page frame, not a blank page.
    d.go(&format!("{base}/so/{person}/khong-co")).await;
    let missing = d.wait_for_text("Không tìm thấy").await;
    assert!(missing.contains("<main") && missing.contains("Về sổ sức khỏe"));
    check_page(&d, &axe, "2d-khong-tim-thay", "not found").await;
    d.go(&format!("{base}/so/{person}")).await;
    // Choose a year, then the visit.
    d.click(&format!("a[href='/so/{person}/nam/{year}']")).await;
    d.wait_for_url(&format!("/nam/{year}")).await;
    let year_page = d.source().await;
    assert!(year_page.contains(&format!("Năm {year}")));
    // Facilities are shown by name, not by code alone.
    let facility = &store.episode(person, visit).unwrap().unwrap().facility;
    let name = synth::catalog::FACILITIES
        .iter()
        .find(|f| f.code == facility)
        .unwrap()
        .name;
    assert!(
        year_page.contains(name),
        "facility {facility} shown as {name}"
    );
    check_page(&d, &axe, "3-nam", "year").await;
    d.click(&format!("a[href='/so/{person}/luot/{visit}']"))
        .await;
    d.wait_for_url(&format!("/luot/{visit}")).await;
    let page = d.source().await;
    assert!(page.contains("Giấy hẹn khám lại"), "the appointment card");
    // Every section open for the screenshots.
    d.cmd(
        reqwest::Method::POST,
        "/execute/sync",
        Some(json!({"script": "document.querySelectorAll('details').forEach(x => x.open = true)", "args": []})),
    )
    .await;
    check_page(&d, &axe, "4-luot-kham", "visit").await;
    // Lab values beside their reference ranges; the administrative part and the costs;
    // no strength printed twice; secondary diagnoses by name.
    assert!(page.contains("Khoảng tham chiếu"), "reference ranges");
    assert!(page.contains("Thông tin hành chính") && page.contains("Thẻ BHYT sử dụng"));
    assert!(
        page.contains("Chi phí") && page.contains(" đ</dd>"),
        "what it cost"
    );
    for m in &store
        .episode(person, visit)
        .unwrap()
        .unwrap()
        .view
        .medicines
    {
        if let Some(st) = m.strength.as_deref().filter(|s| !s.is_empty()) {
            assert!(
                !page.contains(&format!("{st} {st}")),
                "strength printed once: {st}"
            );
        }
    }
    assert!(
        !page.contains("Bệnh kèm theo: "),
        "secondary diagnoses are listed with names"
    );
    let e = store
        .episodes_of(person)
        .unwrap()
        .into_iter()
        .find(|e| e.id == visit)
        .unwrap();
    let lab = e.view.results.iter().find(|r| r.value.is_some()).unwrap();
    assert!(
        page.contains(lab.indicator.as_deref().unwrap()),
        "lab result shown"
    );
    // The PDF link works with the browser's session.
    let href = page
        .split("href=\"")
        .find(|s| s.contains("/pdf"))
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let cookie = d.cookie("hb_session").await;
    let pdf = reqwest::Client::new()
        .get(format!("{base}{href}"))
        .header("cookie", format!("hb_session={cookie}"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let out =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots/luot-kham.pdf");
    std::fs::write(&out, &pdf).unwrap();
    println!("pdf: {}", out.display());

    // The referral letter of another visit, readable as the paper original.
    d.go(&format!("{base}/so/{person}/luot/{referral}")).await;
    d.wait_for_url(&format!("/luot/{referral}")).await;
    assert!(d.source().await.contains("Giấy chuyển tuyến"));
    check_page(&d, &axe, "5-chuyen-tuyen", "referral").await;

    // Search the book without accents: the main diagnosis of the visit finds it.
    let dx = e.view.main_diagnosis.as_ref().unwrap();
    let words: Vec<String> = book::text::fold(dx.name.as_deref().unwrap_or(&dx.icd10))
        .split(' ')
        .map(|w| w.replace(|c: char| !c.is_ascii_alphanumeric(), ""))
        .filter(|w| !w.is_empty())
        .take(2)
        .collect();
    d.go(&format!("{base}/so/{person}")).await;
    d.type_into("#q", &words.join(" ")).await;
    d.click("form[role=search] button").await;
    d.wait_for_url(&format!("q={}", words.join("+"))).await;
    let hits = d.source().await;
    assert!(
        hits.contains(&format!("/so/{person}/luot/{visit}")),
        "search for {words:?} finds the visit"
    );
    check_page(&d, &axe, "6-tim", "search").await;

    // "Cập nhật dữ liệu": the first refresh lists what reached the book in 30 days,
    // the next one nothing new.
    d.go(&format!("{base}/so/{person}")).await;
    d.click(&format!("a[href='/so/{person}/cap-nhat']")).await;
    d.wait_for_url("/cap-nhat").await;
    let n = store.episodes_of(person).unwrap().len();
    let first = d.source().await;
    assert!(
        first.contains(&format!("{n} lượt khám được đưa lên sổ trong 30 ngày qua")),
        "first refresh"
    );
    check_page(&d, &axe, "7-cap-nhat", "refresh").await;
    d.go(&format!("{base}/so/{person}")).await;
    d.go(&format!("{base}/so/{person}/cap-nhat")).await;
    let second = d.source().await;
    assert!(
        second.contains("0 lượt khám mới kể từ lần cập nhật trước"),
        "second refresh: {}",
        second
            .split("role=\"status\"")
            .nth(1)
            .map(|x| x.chars().take(300).collect::<String>())
            .unwrap_or_else(|| second.chars().take(2000).collect())
    );
}
both!(a_citizen_follows_the_steps_in_a_phone_sized_browser);

/// The acceptance of the consent flow, in the browser: the citizen makes a share code,
/// a clinician opens the summary with it (through the QR's link), the citizen sees
/// that access in their log and revokes the code, and the clinician is refused.
async fn a_clinician_reads_the_book_with_the_citizens_share_code() {
    let dir = common::scratch();
    let store = dir.open();
    let g = Generator::new(Config {
        persons: 30,
        episodes: 300,
        seed: 41,
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    for f in synth::catalog::FACILITIES.iter() {
        store
            .upsert_facility(&store::Facility {
                code: f.code.into(),
                name: f.name.into(),
                province: f.code[..2].into(),
                kind: "hospital".into(),
                bhyt_contract: true,
                unit: None,
            })
            .unwrap();
    }
    let (personal_id, person, name) = (0..30)
        .filter_map(|j| g.person(j).personal_id)
        .find_map(|pid| {
            let p = store
                .person_by_identifier(IdKind::PersonalId, &pid)
                .unwrap()?;
            (store.episodes_of(p.id).unwrap().len() >= 3).then(|| (pid, p.id, p.name.unwrap()))
        })
        .expect("a person with a few visits");
    let code = store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    store
        .activate_citizen(&personal_id, &code, "246802")
        .unwrap();
    store
        .upsert_staff(
            &store::StaffAccount {
                username: "bs01001".into(),
                full_name: "BS. Lê Thu Hà".into(),
                role: book::access::Role::Clinician,
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
    let citizen_signs_in = || async {
        d.clear_cookies().await;
        d.go(&format!("{base}/dang-nhap")).await;
        d.type_into("#personal_id", &personal_id).await;
        d.type_into("#passcode", "246802").await;
        d.click("button[type=submit]").await;
        d.wait_for_url(&format!("/so/{person}")).await;
    };
    let clinician_signs_in = || async {
        d.clear_cookies().await;
        d.go(&format!("{base}/nhan-vien")).await;
        d.wait_for_url("/nhan-vien/dang-nhap").await;
        d.type_into("#username", "bs01001").await;
        d.type_into("#password", "bac-si-2026").await;
        d.click("button[type=submit]").await;
        d.wait_for_url("/nhan-vien").await;
    };

    // The citizen makes a code for the whole book.
    citizen_signs_in().await;
    d.click(&format!("a[href='/so/{person}/chia-se']")).await;
    d.wait_for_url("/chia-se").await;
    check_page(&d, &axe, "c0-chia-se", "sharing").await;
    d.click("input[value=full]").await;
    d.click("form[action$='/chia-se'] button").await;
    let page = d.wait_for_text("ma-chia-se").await;
    let shown = page
        .split("id=\"ma-chia-se\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("the code is shown")
        .to_string();
    assert_eq!(shown.len(), 9, "a code like K7P4-M2QX: {shown}");
    assert!(page.contains("<svg"), "with its QR");
    check_page(&d, &axe, "c1-ma-chia-se", "share code").await;

    // A clinician who is not signed in follows the QR's link: sign-in first, then back
    // to the code form with the code filled in.
    d.clear_cookies().await;
    d.go(&format!(
        "{base}/nhan-vien/ma?ma={}",
        shown.replace('-', "")
    ))
    .await;
    d.wait_for_url_with("/nhan-vien/dang-nhap?next=").await;
    d.type_into("#username", "bs01001").await;
    d.type_into("#password", "bac-si-2026").await;
    d.click("button[type=submit]").await;
    d.wait_for_url_with("/nhan-vien/ma?ma=").await;
    let form = d.source().await;
    assert!(
        form.contains(&format!("value=\"{}\"", shown.replace('-', ""))),
        "the code survives sign-in"
    );
    // A mistyped code is not a dead end: the form again, with why.
    d.clear("#code").await;
    d.type_into("#code", "ZZZZ-ZZZZ").await;
    d.click("form[action='/nhan-vien/ma'] button").await;
    let refused = d.wait_for_text("Kiểm tra lại mã").await;
    assert!(refused.contains("id=\"code\""), "the form is shown again");
    check_page(&d, &axe, "c2b-ma-sai", "wrong code").await;
    d.go(&format!("{base}/nhan-vien")).await;
    d.wait_for_text("Truy cập khẩn cấp").await;
    let home = d.source().await;
    assert!(
        home.contains("class=\"danger-zone\""),
        "break-glass is set apart from the everyday actions"
    );
    check_page(&d, &axe, "c2-nhan-vien", "clinician home").await;
    d.go(&format!(
        "{base}/nhan-vien/ma?ma={}",
        shown.replace('-', "")
    ))
    .await;
    d.click("form[action='/nhan-vien/ma'] button").await;
    d.wait_for_url(&format!("/nhan-vien/benh-nhan/{person}"))
        .await;
    let summary = d.source().await;
    assert!(summary.contains("Tóm tắt sức khỏe") && summary.contains(&name));
    assert!(
        summary.contains("Dị ứng") && summary.contains("Không có dữ liệu"),
        "an explicit allergy status"
    );
    assert!(summary.contains("Bệnh mạn tính (toàn bộ tiền sử)"));
    assert!(
        summary.contains("Các lượt khám"),
        "a full-book code lists the visits"
    );
    check_page(&d, &axe, "c3-tom-tat", "patient summary").await;
    d.click(&format!("a[href^='/nhan-vien/benh-nhan/{person}/luot/']"))
        .await;
    d.wait_for_text("Tóm tắt người bệnh").await;
    check_page(&d, &axe, "c4-luot-kham-bac-si", "the clinician's visit").await;

    // The citizen sees who opened the book, then revokes the code.
    citizen_signs_in().await;
    d.go(&format!("{base}/so/{person}/nhat-ky")).await;
    let log = d.source().await;
    assert!(log.contains("BS. Lê Thu Hà") && log.contains("004321/HNO-CCHN"));
    assert!(log.contains("Xem tóm tắt sức khỏe") && log.contains("Xem một lượt khám"));
    assert!(log.contains("Theo mã chia sẻ của bạn"));
    check_page(&d, &axe, "c5-nhat-ky", "access log").await;
    // Revoking asks first, and is not styled as the primary action.
    let groups = log.matches("class=\"card").count();
    let reads = log.matches("<li>").count();
    assert!(
        groups < reads,
        "reads of one visit are one card: {groups} cards, {reads} reads"
    );
    assert!(
        log.contains("Thu hồi quyền xem"),
        "a live grant has its revoke beside it"
    );
    d.go(&format!("{base}/so/{person}/chia-se")).await;
    d.click("a.button.danger[href$='/thu-hoi']").await;
    d.wait_for_text("Thu hồi mã chia sẻ?").await;
    check_page(&d, &axe, "c6-thu-hoi-xac-nhan", "revoke confirmation").await;
    d.click("form[action$='/thu-hoi'] button.danger").await;
    d.wait_for_text("Đã thu hồi").await;

    // The clinician is refused from then on.
    clinician_signs_in().await;
    d.go(&format!("{base}/nhan-vien/benh-nhan/{person}")).await;
    let refused = d.wait_for_text("Không thực hiện được").await;
    assert!(
        refused.contains("đã bị người bệnh thu hồi") && !refused.contains("Tóm tắt sức khỏe"),
        "refused after revocation"
    );
    check_page(&d, &axe, "c6-da-thu-hoi", "revoked").await;
    let reads = store.audit_of(person).unwrap();
    assert!(reads.iter().all(|r| r.actor == "bs01001"));
    assert!(store.verify_audit().unwrap().ok());
}
both!(a_clinician_reads_the_book_with_the_citizens_share_code);

/// The acceptance of the reports, in the browser: a provincial officer sees adoption
/// against the population, the compliance table, the SLA and data-quality views,
/// drills down to a commune, and downloads the XLSX and the monthly report's PDF.
async fn an_officer_reads_the_dashboard_and_drills_down() {
    use synth::catalog::{FACILITIES, PROVINCES};
    let dir = common::scratch();
    let store = dir.open();
    let mut units = Vec::new();
    for p in PROVINCES.iter() {
        units.push(store::Unit {
            code: p.code.into(),
            name: p.name.into(),
            level: "province".into(),
            parent: None,
            scheme: "pre2025".into(),
        });
        for d in &p.districts {
            units.push(store::Unit {
                code: d.code.into(),
                name: d.name.into(),
                level: "district".into(),
                parent: Some(p.code.into()),
                scheme: "pre2025".into(),
            });
            for (c, n) in &d.communes {
                units.push(store::Unit {
                    code: (*c).into(),
                    name: (*n).into(),
                    level: "commune".into(),
                    parent: Some(d.code.into()),
                    scheme: "pre2025".into(),
                });
            }
        }
    }
    store.import_units(&units).unwrap();
    let facilities: Vec<store::Facility> = FACILITIES
        .iter()
        .map(|f| store::Facility {
            code: f.code.into(),
            name: f.name.into(),
            province: f.code[..2].into(),
            kind: "hospital".into(),
            bhyt_contract: true,
            unit: PROVINCES
                .iter()
                .filter(|p| p.code == &f.code[..2])
                .flat_map(|p| &p.districts)
                .flat_map(|d| &d.communes)
                .find(|(_, name)| f.address.contains(name))
                .map(|(c, _)| c.to_string()),
        })
        .collect();
    store.import_facilities(&facilities).unwrap();
    let g = Generator::new(Config {
        persons: 100,
        episodes: 400,
        seed: 12,
        ..Config::default()
    });
    let mut residents = Vec::new();
    for e in g.episodes() {
        let meta = || Meta {
            facility: e.facility.code.into(),
            account: "t".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at: now_ms(),
        };
        let raw = e.checkin_bytes(Spec::Qd3176);
        let parsed = dossier::parse_checkin(&raw, &Options::default());
        store
            .ingest(Prepared::checkin(meta(), &raw, &parsed))
            .unwrap();
        let raw = e.envelope_bytes(Spec::Qd3176);
        let parsed = dossier::parse_envelope(&raw, &Options::default());
        store
            .ingest(Prepared::envelope(meta(), &raw, &parsed))
            .unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    for j in 0..100 {
        let p = g.person(j);
        if let Some(pid) = p.personal_id
            && seen.insert(pid.clone())
        {
            residents.push(store::Resident {
                personal_id: pid,
                unit: p.commune.0.into(),
                status: "alive".into(),
                ..store::Resident::default()
            });
        }
    }
    store.import_population(&residents).unwrap();
    store
        .upsert_staff(
            &store::StaffAccount {
                username: "so01".into(),
                full_name: "Cán bộ Sở Y tế Hà Nội".into(),
                role: book::access::Role::ProvincialOfficer,
                unit: Some("01".into()),
                facility: None,
                practising_cert: None,
                active: true,
            },
            Some("so-y-te-2026"),
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
    d.go(&format!("{base}/nhan-vien")).await;
    d.wait_for_url("/nhan-vien/dang-nhap").await;
    d.type_into("#username", "so01").await;
    d.type_into("#password", "so-y-te-2026").await;
    d.click("button[type=submit]").await;
    d.wait_for_url("/nhan-vien").await;
    d.click("a[href='/nhan-vien/bao-cao']").await;
    let page = d.wait_for_text("dân số có sổ").await;
    assert!(page.contains("Báo cáo: Hà Nội") && page.contains("nhân khẩu"));
    assert!(page.contains("Cơ sở gửi dữ liệu") && page.contains("Thời gian đưa lên sổ"));
    assert!(page.contains("Chất lượng dữ liệu") && page.contains("<svg"));
    // Dates the Vietnamese way, never as the store keeps them.
    assert!(
        page.contains("Kỳ báo cáo: từ ") && !page.contains("Kỳ báo cáo: từ 20"),
        "the period in dd/mm/yyyy"
    );
    check_page(&d, &axe, "r1-bao-cao-tinh", "dashboard").await;
    // Drill down: a district, then one of its wards.
    let district = &PROVINCES[0].districts[0];
    d.click(&format!(
        "a[href^='/nhan-vien/bao-cao?unit={}&']",
        district.code
    ))
    .await;
    d.wait_for_text(&format!("Báo cáo: {}", district.name))
        .await;
    check_page(&d, &axe, "r2-bao-cao-quan", "district dashboard").await;
    let commune = district.communes[0];
    d.click(&format!(
        "a[href^='/nhan-vien/bao-cao?unit={}&']",
        commune.0
    ))
    .await;
    let page = d.wait_for_text(&format!("Báo cáo: {}", commune.1)).await;
    assert!(!page.contains("tháng 20"), "months written 11/2026");
    check_page(&d, &axe, "r3-bao-cao-phuong", "commune dashboard").await;
    // The exports, with the browser's session.
    let cookie = d.cookie("hb_staff").await;
    let get = |path: String| {
        let cookie = cookie.clone();
        let url = format!("{base}{path}");
        async move {
            reqwest::Client::new()
                .get(url)
                .header("cookie", format!("hb_staff={cookie}"))
                .send()
                .await
                .unwrap()
        }
    };
    let xlsx = get("/nhan-vien/bao-cao/xuat.xlsx?unit=01&from=2000-01-01".into())
        .await
        .bytes()
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"), "an XLSX is a zip");
    // A wide period: every late dossier, their delays in days and hours.
    d.go(&format!(
        "{base}/nhan-vien/bao-cao?unit=01&from=2000-01-01&to=2100-01-01"
    ))
    .await;
    let page = d
        .wait_for_text("Kỳ báo cáo: từ 01/01/2000 đến 01/01/2100")
        .await;
    let delays: Vec<i64> = page
        .split(" giờ</td>")
        .filter_map(|before| {
            let digits: String = before
                .chars()
                .rev()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.chars().rev().collect::<String>().parse().ok()
        })
        .collect();
    assert!(!delays.is_empty() && page.contains(" ngày "));
    assert!(
        delays.iter().all(|h| *h < 24),
        "a delay of a day or more is written in days and hours: {delays:?}"
    );
    check_page(&d, &axe, "r1-bao-cao-tinh-ca-ky", "dashboard, all time").await;
    d.go(&format!("{base}/nhan-vien/bao-cao/phu-luc-1?unit=01"))
        .await;
    let page = d.wait_for_text("Phụ lục 1").await;
    assert!(page.contains("Hạn nộp") && !page.contains("tháng 20"));
    check_page(&d, &axe, "r4-phu-luc-1", "monthly report").await;
    let pdf = get("/nhan-vien/bao-cao/phu-luc-1.pdf?unit=01".into())
        .await
        .bytes()
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    // Back to the phone the other steps use.
    d.set_viewport(360).await;
    // A facility's signing certificates: register one from the page, then revoke it.
    let pki = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "c.pem",
            "-days",
            "30",
            "-subj",
            "/CN=Benh vien thu nghiem",
        ])
        .current_dir(pki.path())
        .output()
        .expect("openssl (.ci/run installs it)");
    assert!(made.status.success());
    let pem = std::fs::read_to_string(pki.path().join("c.pem")).unwrap();
    let fingerprint = sign::CertInfo::from_pem(pem.as_bytes())
        .unwrap()
        .fingerprint;
    d.go(&format!("{base}/nhan-vien/co-so")).await;
    d.wait_for_text("Chứng thư số").await;
    d.click("a[href$='/chung-thu']").await;
    d.wait_for_text("Đăng ký chứng thư số").await;
    d.type_into("#pem", &pem).await;
    d.click("form[action$='/chung-thu'] button").await;
    let page = d.wait_for_text("Đã đăng ký chứng thư số").await;
    assert!(page.contains(&fingerprint), "the registration is listed");
    check_page(&d, &axe, "r5-chung-thu-so", "facility certificates").await;
    d.click("form[action$='/thu-hoi'] button").await;
    let page = d.wait_for_text("Đã thu hồi đăng ký").await;
    assert!(page.contains("so01"), "who revoked it is shown");
    let certs = store.facility_certs(None).unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].fingerprint, fingerprint);
    assert_eq!(certs[0].added_by, "so01");
    assert_eq!(certs[0].revoked_by.as_deref(), Some("so01"));
}
both!(an_officer_reads_the_dashboard_and_drills_down);

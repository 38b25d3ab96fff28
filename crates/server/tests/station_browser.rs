//! The commune station's pages in a real headless Chromium (as `tests/browser.rs`: Debian's
//! chromium and chromium-driver, axe-core from `.ci/run`): an officer signs in and lands
//! on the station, finds a resident, completes part A, adds an examination (a wrong
//! blood pressure re-shows the form with the message beside the item; the BMI is the
//! server's), accepts a code proposed from hospital dossiers, resolves a registry
//! mismatch and imports a file with a refused line. Every screen at 390 and 1366 px,
//! axe-clean, nothing wider than the screen; screenshots `station-*-390.png` /
//! `station-*-1366.png` under `target/screenshots/`.

#[macro_use]
mod common;
mod browser_kit;
mod station_world;

use browser_kit::{Driver, axe_source, check_page};
use station_world::world;

async fn the_station_works_in_the_browser() {
    let w = world().await;
    let base = w.base.clone();
    let axe = axe_source();
    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;

    // Signing in returns to the station.
    d.go(&format!("{base}/tram")).await;
    d.wait_for_url_with("/nhan-vien/dang-nhap").await;
    d.type_into("#username", "tram01").await;
    d.type_into("#password", "mat-khau-tram").await;
    d.click("button[type=submit]").await;
    d.wait_for_url("/tram").await;
    let home = d.wait_for_text("Số liệu của trạm").await;
    assert!(
        home.contains("Trạm y tế Phường Ba Đình"),
        "the station's name"
    );
    assert!(home.contains("Người cao tuổi được khám trong năm"));
    check_page(&d, &axe, "station-1-home", "station home").await;
    d.go(&format!("{base}/nhan-vien")).await;
    assert!(
        d.wait_for_text("Trạm y tế: hồ sơ sức khỏe người dân")
            .await
            .contains("href=\"/tram\"")
    );

    // Finding a resident by name words, and the lists.
    d.go(&format!("{base}/tram/nguoi-dan")).await;
    d.type_into("#q", "nguyen van an").await;
    d.click("form.search button").await;
    d.wait_for_url_with("q=nguyen").await;
    let found = d.wait_for_text("Nguyễn Văn An").await;
    assert!(
        found.contains("Đến hạn khám") && found.contains("Thiếu phần A"),
        "flags"
    );
    check_page(&d, &axe, "station-2-residents", "residents found").await;
    d.go(&format!("{base}/tram/nguoi-dan?loc=exam_due")).await;
    let due = d.wait_for_text("người cao tuổi đến hạn khám").await;
    assert!(due.contains("Nguyễn Văn An") && !due.contains("Trần Thị Bình"));

    // The record, then part A completed from the form.
    d.go(&format!("{base}/tram/ho-so/{}", w.an)).await;
    let rec = d.wait_for_text("A. Thông tin hành chính").await;
    assert!(rec.contains("Còn thiếu") && rec.contains("Nhóm máu hệ ABO"));
    check_page(&d, &axe, "station-3-record", "a record to complete").await;
    d.click("a[href$='/sua/a']").await;
    d.wait_for_text("Sửa A. Thông tin hành chính").await;
    check_page(&d, &axe, "station-4-edit-a", "part A form").await;
    d.click("#f-a-blood_abo option[value='A']").await;
    d.click("#f-a-blood_rh option[value='+']").await;
    for (id, text) in [
        ("#f-a-ethnicity", "Kinh"),
        ("#f-a-nationality", "Việt Nam"),
        ("#f-a-permanent_address", "12 phố Đội Cấn"),
        ("#f-a-permanent_province", "01"),
        ("#f-a-current_address", "12 phố Đội Cấn"),
        ("#f-a-current_province", "01"),
    ] {
        d.type_into(id, text).await;
    }
    d.click("form button.primary").await;
    d.wait_for_url_with("luu=1").await;
    let saved = d.wait_for_text("Đã lưu.").await;
    assert!(saved.contains("Rh+ (dương)"), "the shown value");
    assert!(saved.contains("Phiên bản"), "the history");

    // An examination: a wrong blood pressure shows the form again, the message beside
    // the item; then the BMI is computed.
    d.go(&format!("{base}/tram/ho-so/{}/kham", w.an)).await;
    d.wait_for_text("Thêm lần khám sức khỏe").await;
    for (id, text) in [
        ("#f-weight", "60"),
        ("#f-height", "160"),
        ("#f-bp_sys", "80"),
        ("#f-bp_dia", "90"),
        ("#f-diagnosis", "Tăng huyết áp độ 1"),
    ] {
        d.type_into(id, text).await;
    }
    d.click("form button.primary").await;
    let again = d.wait_for_text("Chưa lưu").await;
    assert!(
        again.contains("id=\"f-bp_sys-loi\""),
        "the message beside the item"
    );
    assert!(again.contains("tâm thu phải lớn hơn tâm trương"));
    assert!(
        again.contains("Tăng huyết áp độ 1</textarea>"),
        "what was typed stays"
    );
    check_page(&d, &axe, "station-5-exam-error", "an examination refused").await;
    d.clear("#f-bp_sys").await;
    d.type_into("#f-bp_sys", "130").await;
    d.click("form button.primary").await;
    d.wait_for_url_with("luu=1").await;
    let examined = d.wait_for_text("Đã lưu.").await;
    assert!(examined.contains("23,4"), "the BMI the server computed");
    assert!(examined.contains("Lần 1"));

    // A chronic code from hospital dossiers, accepted into the history.
    let (pid, codes) = w.chronic.clone();
    d.go(&format!("{base}/tram/ho-so/{pid}")).await;
    d.wait_for_text("Đề xuất từ hồ sơ bệnh viện").await;
    check_page(&d, &axe, "station-6-proposals", "proposals").await;
    d.click("#de-xuat button.primary").await;
    d.wait_for_url_with("luu=1").await;
    let accepted = d.wait_for_text("Đã lưu.").await;
    assert!(
        accepted.contains("Bệnh đã chẩn đoán") && accepted.contains(&codes[0]),
        "the code is in part B"
    );

    // A registry mismatch resolved with a note.
    d.go(&format!("{base}/tram/doi-chieu")).await;
    let issues = d
        .wait_for_text("Sai khác giữa sổ dân cư và hồ sơ bệnh viện")
        .await;
    assert!(issues.contains("Hoàng Thị Khác Tên") || issues.contains("sổ dân cư ghi"));
    check_page(&d, &axe, "station-7-issues", "mismatches").await;
    d.type_into(
        "form textarea",
        "Đã đối chiếu căn cước: tên trong sổ dân cư đúng",
    )
    .await;
    d.click("form button.primary").await;
    d.wait_for_text("Đã ghi nhận cách xử lý").await;

    // An import from a file, with a refused line and its reason.
    let file = profile.path().join("ho-so.csv");
    std::fs::write(
        &file,
        format!(
            "personal_id,a.blood_abo,b.risk.smoking\n{},O,0\n{},C,\n",
            station_world::BINH,
            station_world::DUNG
        ),
    )
    .unwrap();
    d.go(&format!("{base}/tram/nhap")).await;
    d.wait_for_text("Nhập hồ sơ từ tệp").await;
    d.type_into("#file", &file.display().to_string()).await;
    d.click("form button.primary").await;
    let report = d.wait_for_text("Kết quả").await;
    assert!(report.contains("1 hồ sơ được cập nhật"), "applied");
    assert!(report.contains("Dòng 3"), "the refused line");
    assert!(report.contains("Hồ sơ đã đóng"), "and why");
    check_page(&d, &axe, "station-8-import", "import report").await;
}
both!(the_station_works_in_the_browser);

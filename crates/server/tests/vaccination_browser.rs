//! The vaccination pages in a real headless Chromium (as `tests/browser.rs`: Debian's
//! chromium and chromium-driver, axe-core from `.ci/run`): the station's printable
//! session list (overdue and due), a child's vaccination book with a dose entered from
//! the form (a duplicate asks to confirm), the import page; the guardian's view of the
//! child's vaccination book with what is due. Every screen at 390 and 1366 px,
//! axe-clean, nothing wider than the screen; screenshots `vaccination-*.png`.

#[macro_use]
mod common;
mod browser_kit;
mod station_world;

use book::IdKind;
use browser_kit::{Driver, axe_source, check_page};
use chrono::Months;
use station_world::{BINH, world};
use store::Resident;

async fn vaccinations_work_in_the_browser() {
    let w = world().await;
    let base = w.base.clone();
    let today = store::vn_now().date();
    let births = [
        ("001225000301", "Trần Thị Na", today - Months::new(5), "2"),
        (
            "001225000302",
            "Trần Văn Tí",
            today - Months::new(2) - chrono::Days::new(3),
            "1",
        ),
    ];
    w.store
        .import_population(
            &births
                .iter()
                .map(|(id, name, b, sex)| Resident {
                    personal_id: (*id).into(),
                    name: Some((*name).into()),
                    birth: Some(b.format("%Y%m%d").to_string()),
                    sex: Some((*sex).into()),
                    unit: "00004".into(),
                    status: "alive".into(),
                })
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let id = |p: &str| {
        w.store
            .person_by_identifier(IdKind::PersonalId, p)
            .unwrap()
            .unwrap()
            .id
    };
    let ti = id("001225000302");
    let axe = axe_source();
    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;

    // The officer signs in and lands on the session list.
    d.go(&format!("{base}/tram/tiem-chung")).await;
    d.wait_for_url_with("/nhan-vien/dang-nhap").await;
    d.type_into("#username", "tram01").await;
    d.type_into("#password", "mat-khau-tram").await;
    d.click("button[type=submit]").await;
    d.wait_for_url_with("/tram/tiem-chung").await;
    let list = d.wait_for_text("Danh sách buổi tiêm chủng").await;
    assert!(
        list.contains("Trần Thị Na") && list.contains("Trần Văn Tí"),
        "both children listed"
    );
    assert!(list.contains("Quá hạn"));
    check_page(&d, &axe, "vaccination-1-session", "the session list").await;

    // Tí's book: BCG entered from the form (today), then the same again asks to confirm.
    d.go(&format!("{base}/tram/tiem-chung/{ti}")).await;
    let page = d.wait_for_text("Ghi mũi tiêm").await;
    assert!(page.contains("Cần tiêm"));
    check_page(
        &d,
        &axe,
        "vaccination-2-child",
        "a child's vaccination book",
    )
    .await;
    d.click("#vac-xin option[value='bcg']").await;
    d.type_into("#lo", "BCG-26-01").await;
    d.click("form[action$='/tiem-chung/'] button, section button.primary")
        .await;
    d.wait_for_url_with("luu=1").await;
    let saved = d.wait_for_text("Đã lưu mũi tiêm").await;
    assert!(saved.contains("BCG (phòng lao)") && saved.contains("Lô BCG-26-01"));
    d.click("#vac-xin option[value='bcg']").await;
    d.click("section button.primary").await;
    let conflict = d.wait_for_text("Vẫn ghi").await;
    assert!(conflict.contains("Chưa lưu"));
    check_page(
        &d,
        &axe,
        "vaccination-3-duplicate",
        "a duplicate to confirm",
    )
    .await;

    // The import page.
    d.go(&format!("{base}/tram/tiem-chung/nhap")).await;
    d.wait_for_text("Nhập dữ liệu tiêm chủng").await;
    check_page(&d, &axe, "vaccination-4-import", "the import page").await;

    // Bình, Tí's guardian, reads Tí's vaccination book.
    let binh = id(BINH);
    w.store.grant_guardian(binh, ti, "test").unwrap();
    let code = w
        .store
        .issue_activation_code(binh, "test", 3_600_000)
        .unwrap();
    w.store.activate_citizen(BINH, &code, "246802").unwrap();
    d.clear_cookies().await;
    d.go(&format!("{base}/dang-nhap")).await;
    d.type_into("#personal_id", BINH).await;
    d.type_into("#passcode", "246802").await;
    d.click("button[type=submit]").await;
    d.wait_for_url_with("/so").await;
    d.go(&format!("{base}/so/{ti}/tiem-chung")).await;
    let book = d.wait_for_text("Sổ tiêm chủng").await;
    assert!(book.contains("Trần Văn Tí") && book.contains("Cần tiêm"));
    assert!(
        book.contains("DPT-VGB-Hib mũi 1"),
        "the dose due at two months"
    );
    assert!(book.contains("BCG — ngày tiêm"), "part C from the doses");
    check_page(&d, &axe, "vaccination-5-citizen", "the guardian's view").await;
}
both!(vaccinations_work_in_the_browser);

//! Reminders in a real headless Chromium (as `browser.rs`: Debian's chromium and
//! chromium-driver, axe-core from npm): the citizen sees the count on the home page,
//! opens the notification centre, marks a notice read and then all, chooses e-mail on
//! the channels page (a wrong phone number refused beside the field) and turns it off
//! again; the station reads its worklist of re-exams, vaccinations and follow-ups.
//! Each screen at 390 px and 1366 px with no axe violation; screenshots under
//! `target/screenshots/`.

#[macro_use]
mod common;
mod browser_kit;
mod record_world;

use std::sync::Arc;

use book::notify::Event;
use browser_kit::{Driver, axe_source, check_page};
use chrono::Duration;
use record_world::STATION;
use server::App;
use store::{Facility, NewNotice, Resident, Store};

fn notice(e: &Event) -> NewNotice {
    NewNotice {
        kind: e.kind().code().into(),
        dedupe: e.dedupe_key(),
        day: e.day().map(|d| d.to_string()),
        body: serde_json::to_string(e).unwrap(),
    }
}

async fn the_citizen_reads_reminders_and_the_station_its_worklist() {
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
    let (_, personal_id, person, _) = record_world::dossiers_with_a_chronic_patient(&store);
    store
        .import_population(&[Resident {
            personal_id: personal_id.clone(),
            name: Some("Nguyễn Thị Mai".into()),
            birth: Some("19600315".into()),
            sex: Some("2".into()),
            unit: STATION.into(),
            status: "alive".into(),
        }])
        .unwrap();
    record_world::station_nurse(&store);
    let code = store
        .issue_activation_code(person, "test", 3_600_000)
        .unwrap();
    store
        .activate_citizen(&personal_id, &code, "246802")
        .unwrap();
    // The book's reminders (new visits, results), and one of each programme's kind as
    // the vaccination forecast and the chronic register give them.
    let svc = service::Service::new(store.clone());
    let now = store::vn_now();
    let made = svc
        .scan_person(
            person,
            now,
            store::now_ms(),
            &service::reminders::Sources::default(),
            &[],
        )
        .unwrap();
    assert!(made > 0);
    let today = now.date();
    let episode = store.episodes_of(person).unwrap()[0].id;
    let extra = [
        Event::Appointment {
            episode_id: episode,
            at: (today + Duration::days(2)).and_hms_opt(7, 30, 0).unwrap(),
            facility: Some("01001".into()),
        },
        Event::Vaccination {
            code: "flu".into(),
            name: "cúm mùa".into(),
            dose: 1,
            due_from: today - Duration::days(40),
            overdue: true,
        },
        Event::FollowUp {
            program: "hypertension".into(),
            name: "tăng huyết áp".into(),
            due: today + Duration::days(1),
            overdue: false,
        },
    ];
    let extra: Vec<NewNotice> = extra.iter().map(notice).collect();
    store.add_notices(person, &extra, &[]).unwrap();
    let total = store.notices(person, 500).unwrap().len();

    // The operator configured the three outside channels (nothing listens there: the
    // worker's tries fail and wait; the pages are what this test reads).
    let settings = notify::Settings {
        webhook: Some(notify::webhook::WebhookSettings {
            url: "http://127.0.0.1:9/hook".into(),
            secret: "hook-secret-0123456789abcdef".into(),
            timeout_secs: Some(1),
        }),
        email: Some(notify::email::EmailSettings {
            host: "127.0.0.1".into(),
            tls: Some("none".into()),
            port: Some(9),
            from: "Sổ sức khỏe <no-reply@sskd.example.vn>".into(),
            username: None,
            password: None,
            timeout_secs: Some(1),
        }),
        sms: Some(notify::sms::SmsSettings {
            url: "http://127.0.0.1:9/sms".into(),
            token: "t".into(),
            sender: "SOSUCKHOE".into(),
            timeout_secs: Some(1),
        }),
        ..notify::Settings::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(
        listener,
        App::new(
            store.clone() as Arc<dyn Store>,
            server::Config {
                notify: settings,
                ..server::Config::default()
            },
        ),
        async {
            let _ = rx.await;
        },
    ));
    let axe = axe_source();
    let profile = tempfile::tempdir().unwrap();
    let d = Driver::start(profile.path()).await;

    // Home: the count, and the way to the centre.
    d.go(&format!("{base}/dang-nhap")).await;
    d.type_into("#personal_id", &personal_id).await;
    d.type_into("#passcode", "246802").await;
    d.click("button[type=submit]").await;
    d.wait_for_url(&format!("/so/{person}")).await;
    let home = d
        .wait_for_text(&format!("{total} thông báo chưa đọc"))
        .await;
    assert!(home.contains("Thông báo"));
    d.click(&format!("a.card[href='/so/{person}/thong-bao']"))
        .await;
    d.wait_for_url("/thong-bao").await;
    let page = d.wait_for_text("Sắp đến lịch tái khám").await;
    assert!(page.contains("Quá hạn tiêm chủng"));
    assert!(page.contains("Mũi 1 cúm mùa đã quá hạn"));
    assert!(page.contains("Đến lịch khám theo dõi"));
    assert!(page.contains("Lượt khám mới trong sổ"));
    assert!(page.contains(&format!("Đánh dấu tất cả đã đọc ({total})")));
    check_page(&d, &axe, "reminders-centre", "the notification centre").await;
    // One read, then all.
    d.click("article form button[type=submit]").await;
    d.wait_for_text(&format!("Đánh dấu tất cả đã đọc ({})", total - 1))
        .await;
    assert_eq!(store.unread_notices(person).unwrap(), total as i64 - 1);
    d.click("main > form button[type=submit]").await;
    d.wait_for_url("/thong-bao").await;
    let read = d.wait_for_text("Bạn đã đọc hết thông báo").await;
    assert!(!read.contains("Đánh dấu tất cả đã đọc"));
    assert_eq!(store.unread_notices(person).unwrap(), 0);

    // Channels: e-mail on; a wrong phone number refused; e-mail off again.
    d.go(&format!("{base}/so/{person}/thong-bao/cai-dat")).await;
    let prefs = d.wait_for_text("Nhận thông báo").await;
    assert!(prefs.contains("Thư điện tử (e-mail)"));
    assert!(prefs.contains("Tin nhắn SMS"));
    assert!(prefs.contains("không nêu bệnh"));
    check_page(&d, &axe, "reminders-channels", "the channels page").await;
    d.type_into("#dc-email", "mai.nguyen@example.vn").await;
    d.click("form[aria-labelledby='k-email'] input[type=checkbox]")
        .await;
    d.click("form[aria-labelledby='k-email'] button[type=submit]")
        .await;
    d.wait_for_text("Đã lưu lựa chọn của bạn").await;
    let p = store.notify_prefs(person).unwrap();
    assert_eq!(p[0].channel, "email");
    assert_eq!(p[0].address.as_deref(), Some("mai.nguyen@example.vn"));
    assert!(!p[0].opted_out);
    d.type_into("#dc-sms", "12ab").await;
    d.click("form[aria-labelledby='k-sms'] input[type=checkbox]")
        .await;
    d.click("form[aria-labelledby='k-sms'] button[type=submit]")
        .await;
    let refused = d.wait_for_text("Số điện thoại không hợp lệ").await;
    assert!(refused.contains("Số điện thoại không hợp lệ"));
    check_page(&d, &axe, "reminders-channels-refused", "a refused number").await;
    d.go(&format!("{base}/so/{person}/thong-bao/cai-dat")).await;
    d.wait_for_text("Đang nhận").await;
    d.click("form[aria-labelledby='k-email'] input[type=checkbox]")
        .await;
    d.click("form[aria-labelledby='k-email'] button[type=submit]")
        .await;
    d.wait_for_text("Đã lưu lựa chọn của bạn").await;
    assert!(store.notify_prefs(person).unwrap()[0].opted_out);

    // The station's worklist.
    d.clear_cookies().await;
    d.go(&format!("{base}/tram/viec-can-lam")).await;
    d.wait_for_url_with("/nhan-vien/dang-nhap").await;
    d.type_into("#username", "tram00004").await;
    d.type_into("#password", "tram-y-te-2026").await;
    d.click("button[type=submit]").await;
    d.wait_for_url("/tram/viec-can-lam").await;
    let list = d.wait_for_text("Việc cần làm").await;
    let name = store.person(person).unwrap().unwrap().name.unwrap();
    assert!(list.contains(&name), "{name}");
    assert!(list.contains("Lịch tái khám (1)"));
    assert!(list.contains("Tiêm chủng (1)"));
    assert!(list.contains("Khám theo dõi bệnh mạn tính (1)"));
    assert!(list.contains("Quá hạn"));
    check_page(&d, &axe, "station-worklist", "the station's worklist").await;
}
both!(the_citizen_reads_reminders_and_the_station_its_worklist);

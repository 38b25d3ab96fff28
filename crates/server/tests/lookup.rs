//! The BHYT card lookup at reception (`POST /api/egw/KQNhanLichSuKCB2024`, BHXH's
//! request and answer) over real HTTP on SQLite and PostgreSQL: residents from the
//! population registry, cards from an insurance batch, visits sent through the gateway;
//! the result codes of §7.9, the new-card items, the visit history without clinical
//! content, and every lookup in the person's audit chain with the staff member named.

#[macro_use]
mod common;

use std::sync::Arc;

use base64::Engine as _;
use book::IdKind;
use md5::{Digest, Md5};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::{App, Config};
use store::{Facility, InsuranceCard, RegistryBatch, RegistryChange, Resident, Store, Unit};

const PASSWORD: &str = "matkhau-thu";
const LOOKUP: &str = "/api/egw/KQNhanLichSuKCB2024";
const STAFF: &str = "Lê Thị Tiếp Đón";
const STAFF_CCCD: &str = "001188009999";

/// Resident A: the sample dossier's patient, with a valid card and two visits. The
/// registry's card has the social-insurance number of the card the dossier carried
/// (DN4010123456789): the number is for life, the card changed.
const A_PID: &str = "001090012345";
const A_CARD: &str = "GD4010123456789";
const A_BHXH: &str = "0123456789";
/// Resident B: a card that ran out five days ago.
const B_PID: &str = "001185000002";
const B_CARD: &str = "HT3010100000002";
/// Resident C: a card replaced by a new one.
const C_PID: &str = "001192000003";
const C_OLD: &str = "DN4010133333333";
const C_NEW: &str = "DN4010133333334";

fn md5_upper(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// `yyyy-mm-dd`, `days` from today (Vietnam time).
fn day(days: i64) -> String {
    (store::vn_now().date() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// `dd/MM/yyyy`, `days` from today.
fn dmy(days: i64) -> String {
    (store::vn_now().date() + chrono::Duration::days(days))
        .format("%d/%m/%Y")
        .to_string()
}

struct Env {
    base: String,
    store: Arc<dyn Store>,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

struct Session {
    user: String,
    access: String,
    id: String,
}

fn batch(id: &str, changes: Vec<RegistryChange>) -> RegistryBatch {
    RegistryBatch {
        id: id.into(),
        source: "insurance".into(),
        digest: format!("{id}-digest"),
        by: "test".into(),
        changes: changes
            .into_iter()
            .enumerate()
            .map(|(i, c)| (i as u64 + 1, c))
            .collect(),
        scope: None,
    }
}

fn card(pid: &str, number: &str, from: i64, to: i64, first_contact: &str) -> RegistryChange {
    RegistryChange::Card {
        personal_id: pid.into(),
        card: InsuranceCard {
            card: number.into(),
            bhxh_number: Some(number[5..].into()),
            valid_from: day(from),
            valid_to: day(to),
            first_contact: Some(first_contact.into()),
            area: Some("K1".into()),
            five_years: Some("2027-06-01".into()),
            previous: None,
        },
    }
}

fn sample() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vn-standards/samples/synthetic/GIAMDINHHS_envelope_unsigned.xml"
    ))
    .unwrap()
}

/// The sample envelope as another facility would send it: its facility codes and its
/// MA_LK changed in the envelope and in every inner table.
fn sample_of(facility: &str, ma_lk: &str) -> Vec<u8> {
    let text = String::from_utf8(sample()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("<NOIDUNGFILE>") {
        let start = i + "<NOIDUNGFILE>".len();
        let end = start + rest[start..].find("</NOIDUNGFILE>").unwrap();
        out.push_str(&rest[..start]);
        let inner = String::from_utf8(b64.decode(rest[start..end].trim()).unwrap()).unwrap();
        let inner = inner
            .replace(
                "<MA_CSKCB>01001</MA_CSKCB>",
                &format!("<MA_CSKCB>{facility}</MA_CSKCB>"),
            )
            .replace("SYN20261015001", ma_lk);
        out.push_str(&b64.encode(inner));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out.replace(
        "<MACSKCB>01001</MACSKCB>",
        &format!("<MACSKCB>{facility}</MACSKCB>"),
    )
    .into_bytes()
}

async fn login(env: &Env, user: &str) -> Session {
    let v: Value = reqwest::Client::new()
        .post(format!("{}/api/token/take", env.base))
        .form(&[("username", user), ("password", &md5_upper(PASSWORD))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["maKetQua"], "200", "{v}");
    Session {
        user: user.into(),
        access: v["APIKey"]["access_token"].as_str().unwrap().into(),
        id: v["APIKey"]["id_token"].as_str().unwrap().into(),
    }
}

async fn send(env: &Env, s: &Session, facility: &str, file: &[u8]) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(file);
    let v: Value = reqwest::Client::new()
        .post(format!("{}/api/qd130/guiHoSoXmlQD4750", env.base))
        .header("accessToken", &s.access)
        .header("tokenId", &s.id)
        .header("passwordHash", md5_upper(PASSWORD))
        .form(&[
            ("username", s.user.as_str()),
            ("loaiHoSo", "130"),
            ("maTinh", &facility[..2]),
            ("maCSKCB", facility),
            ("fileHSBase64", &b64),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["maKetQua"], "200", "{v}");
}

/// Units, two facilities with gateway accounts, three residents with their cards
/// (C's replaced in a second batch), and two visits of A, one at each facility.
async fn start() -> Env {
    let dir = common::scratch();
    let store = dir.open();
    for (code, name, level, parent) in [
        ("01", "Thành phố Hà Nội", "province", None),
        ("00004", "Phường Ba Đình", "commune", Some("01")),
    ] {
        store
            .upsert_unit(&Unit {
                code: code.into(),
                name: name.into(),
                level: level.into(),
                parent: parent.map(str::to_string),
                scheme: "2025".into(),
            })
            .unwrap();
    }
    for code in ["01001", "79560"] {
        store
            .upsert_facility(&Facility {
                code: code.into(),
                name: format!("Bệnh viện Mẫu {code}"),
                province: code[..2].into(),
                kind: "hospital".into(),
                bhyt_contract: true,
                unit: None,
            })
            .unwrap();
        store
            .upsert_account(&format!("bv{code}"), code, &md5_upper(PASSWORD))
            .unwrap();
    }
    let resident = |pid: &str, name: &str, birth: &str, sex: &str| Resident {
        personal_id: pid.into(),
        name: Some(name.into()),
        birth: Some(birth.into()),
        sex: Some(sex.into()),
        unit: "00004".into(),
        status: "alive".into(),
    };
    store
        .import_population(&[
            resident(A_PID, "Nguyễn Văn Test", "19900512", "1"),
            resident(B_PID, "Trần Thị Hạn", "19850101", "2"),
            resident(C_PID, "Lê Văn Đổi", "19920707", "1"),
        ])
        .unwrap();
    store
        .apply_registry(&batch(
            "bhyt-1",
            vec![
                card(A_PID, A_CARD, -30, 335, "01001"),
                card(B_PID, B_CARD, -400, -5, "01001"),
                card(C_PID, C_OLD, -400, -3, "01001"),
            ],
        ))
        .unwrap();
    store
        .apply_registry(&batch("bhyt-2", vec![card(C_PID, C_NEW, -2, 363, "79560")]))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let app = App::new(store.clone() as Arc<dyn Store>, Config::default());
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    let env = Env {
        base,
        store,
        _dir: dir,
        _stop: tx,
    };
    let s = login(&env, "bv01001").await;
    send(&env, &s, "01001", &sample()).await;
    let s = login(&env, "bv79560").await;
    send(&env, &s, "79560", &sample_of("79560", "SYN20261015002")).await;
    env
}

/// A lookup as a HIS sends it: the credentials in the query, the rest in the body.
async fn lookup(env: &Env, s: &Session, body: Value) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .post(format!("{}{LOOKUP}", env.base))
        .query(&[
            ("token", s.access.as_str()),
            ("id_token", s.id.as_str()),
            ("username", s.user.as_str()),
            ("password", &md5_upper(PASSWORD)),
        ])
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

fn ask(card: &str, name: &str, birth: &str) -> Value {
    json!({"maThe": card, "hoTen": name, "ngaySinh": birth, "hoTenCb": STAFF, "cccdCb": STAFF_CCCD})
}

fn person(env: &Env, pid: &str) -> i64 {
    env.store
        .person_by_identifier(IdKind::PersonalId, pid)
        .unwrap()
        .unwrap()
        .id
}

fn lookups_recorded(env: &Env, pid: &str) -> Vec<store::AuditRecord> {
    env.store
        .audit_of(person(env, pid))
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "card.lookup")
        .collect()
}

/// Every one of BHXH's 37 items is there (the nested ones in each list entry).
fn has_every_item(v: &Value) {
    for k in [
        "maKetQua",
        "ghiChu",
        "maThe",
        "hoTen",
        "ngaySinh",
        "gioiTinh",
        "diaChi",
        "maDKBD",
        "cqBHXH",
        "gtTheTu",
        "gtTheDen",
        "maKV",
        "ngayDu5Nam",
        "maSoBHXH",
        "maTheCu",
        "maTheMoi",
        "gtTheTuMoi",
        "gtTheDenMoi",
        "maDKBDMoi",
        "tenDKBDMoi",
        "dsLichSuKCB2018",
        "dsLichSuKT2018",
    ] {
        assert!(v.get(k).is_some(), "{k} missing: {v}");
    }
    for visit in v["dsLichSuKCB2018"].as_array().unwrap() {
        for k in [
            "maHoSo",
            "maCSKCB",
            "ngayVao",
            "ngayRa",
            "tenBenh",
            "tinhTrang",
            "kqDieuTri",
            "lyDoVV",
            "TEMP1",
            "TEMP2",
            "TEMP3",
            "TEMP4",
            "TEMP5",
        ] {
            assert!(visit.get(k).is_some(), "{k} missing: {visit}");
        }
    }
    for past in v["dsLichSuKT2018"].as_array().unwrap() {
        for k in ["userKT", "thoiGianKT", "thongBao", "maLoi"] {
            assert!(past.get(k).is_some(), "{k} missing: {past}");
        }
    }
}

async fn a_valid_card_answers_the_card_and_the_visits_without_clinical_content() {
    let env = start().await;
    let s = login(&env, "bv01001").await;
    let (status, v) = lookup(&env, &s, ask(A_CARD, "nguyen van TEST", "12/05/1990")).await;
    assert_eq!(status, StatusCode::OK);
    has_every_item(&v);
    assert_eq!(v["maKetQua"], "000", "{v}");
    let note = v["ghiChu"].as_str().unwrap();
    assert!(
        note.starts_with("Thẻ còn giá trị sử dụng! Mã thẻ: GD4010123456789"),
        "{note}"
    );
    assert!(
        note.contains(&format!("Hạn thẻ: {} - {}", dmy(-30), dmy(335))),
        "{note}"
    );
    assert_eq!(v["maThe"], A_CARD);
    assert_eq!(v["ngaySinh"], "12/05/1990");
    assert_eq!(v["gioiTinh"], "Nam");
    assert_eq!(v["maDKBD"], "01001");
    assert_eq!(v["gtTheTu"], dmy(-30));
    assert_eq!(v["gtTheDen"], dmy(335));
    assert_eq!(v["maKV"], "K1");
    assert_eq!(v["ngayDu5Nam"], "01/06/2027");
    assert_eq!(v["maSoBHXH"], A_BHXH);
    assert_eq!(v["maTheCu"], "");
    assert_eq!(v["maTheMoi"], "");
    // The visits: both facilities', newest first, header fields only; the diagnosis
    // name only on the asking facility's own visit.
    let visits = v["dsLichSuKCB2018"].as_array().unwrap();
    assert_eq!(visits.len(), 2, "{v}");
    let of = |f: &str| visits.iter().find(|x| x["maCSKCB"] == f).unwrap().clone();
    let own = of("01001");
    assert_eq!(own["ngayVao"], "202610150800");
    assert_eq!(own["ngayRa"], "202610150930");
    assert_eq!(own["kqDieuTri"], "2");
    assert_eq!(own["tinhTrang"], "1");
    assert_eq!(own["lyDoVV"], "1.1");
    assert_eq!(own["tenBenh"], "Viêm họng cấp");
    assert_eq!(of("79560")["tenBenh"], "");
    let text = v.to_string();
    for clinical in [
        "J02",
        "Paracetamol",
        "Glucose",
        "Khám Nội",
        "Điều trị nội khoa",
        "Uống thuốc",
        "Sốt, đau họng",
        "Bình thường",
    ] {
        assert!(!text.contains(clinical), "{clinical} in the answer: {text}");
    }
    // The other facility sees its own visit's diagnosis, not the first one's.
    let s2 = login(&env, "bv79560").await;
    let (_, w) = lookup(&env, &s2, ask(A_CARD, "Nguyễn Văn Test", "1990")).await;
    assert_eq!(w["maKetQua"], "000", "{w}");
    let visits = w["dsLichSuKCB2018"].as_array().unwrap();
    let of = |f: &str| visits.iter().find(|x| x["maCSKCB"] == f).unwrap().clone();
    assert_eq!(of("01001")["tenBenh"], "");
    assert_eq!(of("79560")["tenBenh"], "Viêm họng cấp");
    // The earlier lookups of the card, newest first: bv79560's sees bv01001's.
    let past = w["dsLichSuKT2018"].as_array().unwrap();
    assert_eq!(past.len(), 1, "{w}");
    assert_eq!(past[0]["userKT"], "bv01001");
    assert_eq!(past[0]["maLoi"], "000");
    assert_eq!(past[0]["thongBao"], "Thông tin thẻ BHYT chính xác");
    assert_eq!(past[0]["thoiGianKT"].as_str().unwrap().len(), 12);
    // By the BHXH number, with the birth date written without separators.
    let (_, b) = lookup(&env, &s, ask(A_BHXH, "Nguyễn Văn Test", "12051990")).await;
    assert_eq!(b["maKetQua"], "000", "{b}");
    assert_eq!(b["maThe"], A_CARD);
    assert_eq!(b["dsLichSuKT2018"].as_array().unwrap().len(), 2);
    // The card the dossiers carried (DN4010123456789) is not the registry's any more:
    // answered as an old card (valid or not by the day the test runs) with the
    // registry's as the new one.
    let (_, d) = lookup(
        &env,
        &s,
        ask("DN4010123456789", "Nguyễn Văn Test", "12/05/1990"),
    )
    .await;
    assert!(matches!(d["maKetQua"].as_str(), Some("003" | "004")), "{d}");
    assert_eq!(d["maTheMoi"], A_CARD);
}
both!(a_valid_card_answers_the_card_and_the_visits_without_clinical_content);

async fn result_codes_follow_bhxh() {
    let env = start().await;
    let s = login(&env, "bv01001").await;
    let code = |v: &Value| v["maKetQua"].as_str().unwrap().to_string();
    // The name and the birth date.
    for (name, birth, want) in [
        ("Nguyễn Văn Khác", "12/05/1990", "061"),
        ("Trần Văn Test", "12/05/1990", "060"),
        ("Nguyễn Văn Test", "13/05/1990", "070"),
        ("Nguyễn Văn Test", "1991", "070"),
    ] {
        let (_, v) = lookup(&env, &s, ask(A_CARD, name, birth)).await;
        has_every_item(&v);
        assert_eq!(code(&v), want, "{name} {birth}: {v}");
        assert!(v["maThe"].is_null() && v["hoTen"].is_null(), "{v}");
        assert!(v["dsLichSuKCB2018"].as_array().unwrap().is_empty());
        assert!(v["dsLichSuKT2018"].as_array().unwrap().is_empty());
    }
    let (_, v) = lookup(&env, &s, ask(A_CARD, "Trần Văn Test", "12/05/1990")).await;
    assert_eq!(v["ghiChu"], "Thẻ BHYT sai họ tên");
    // An expired card.
    let (_, v) = lookup(&env, &s, ask(B_CARD, "TRAN THI HAN", "01/01/1985")).await;
    assert_eq!(code(&v), "010", "{v}");
    // The same card found by the BHXH number the insurance registry gave.
    let (_, by_bhxh) = lookup(&env, &s, ask("0100000002", "Trần Thị Hạn", "1985")).await;
    assert_eq!(code(&by_bhxh), "010", "{by_bhxh}");
    assert_eq!(v["gtTheDen"], dmy(-5));
    assert_eq!(v["gioiTinh"], "Nữ");
    assert!(
        v["ghiChu"]
            .as_str()
            .unwrap()
            .starts_with("Thẻ hết giá trị sử dụng!")
    );
    // A changed card: the old one (expired) answers the new card's items.
    let (_, v) = lookup(&env, &s, ask(C_OLD, "Lê Văn Đổi", "07/07/1992")).await;
    assert_eq!(code(&v), "003", "{v}");
    assert_eq!(v["maThe"], C_OLD);
    assert_eq!(v["gtTheDen"], dmy(-3));
    assert_eq!(v["maTheMoi"], C_NEW);
    assert_eq!(v["gtTheTuMoi"], dmy(-2));
    assert_eq!(v["gtTheDenMoi"], dmy(363));
    assert_eq!(v["maDKBDMoi"], "79560");
    assert_eq!(v["tenDKBDMoi"], "Bệnh viện Mẫu 79560");
    assert!(
        v["ghiChu"]
            .as_str()
            .unwrap()
            .starts_with("Thẻ BHYT cũ hết giá trị sử dụng, được cấp thẻ mới!")
    );
    // … and the new one names the old.
    let (_, v) = lookup(&env, &s, ask(C_NEW, "Lê Văn Đổi", "07/07/1992")).await;
    assert_eq!(code(&v), "000", "{v}");
    assert_eq!(v["maTheCu"], C_OLD);
    assert_eq!(v["maDKBD"], "79560");
    assert_eq!(v["maTheMoi"], "");
    // Cards that are not there, or not card numbers.
    for (card, want) in [
        ("GD4010199999999", "050"),
        ("0199999999", "050"),
        ("GD4970100000001", "001"),
        ("CA5980100000001", "002"),
        ("GD9010112345678", "053"),
        ("GD4990112345678", "052"),
        ("ZZ4010112345678", "051"),
        ("GD40101", "051"),
    ] {
        let (_, v) = lookup(&env, &s, ask(card, "Nguyễn Văn Test", "12/05/1990")).await;
        assert_eq!(code(&v), want, "{card}: {v}");
        assert!(v["maThe"].is_null());
    }
    // Parameters.
    let (_, v) = lookup(&env, &s, ask(A_CARD, "Nguyễn Văn Test", "1990-13-45")).await;
    assert_eq!(code(&v), "205", "{v}");
    let (_, v) = lookup(
        &env,
        &s,
        json!({"maThe": A_CARD, "ngaySinh": "12/05/1990", "hoTenCb": STAFF, "cccdCb": STAFF_CCCD}),
    )
    .await;
    assert_eq!(code(&v), "205", "{v}");
}
both!(result_codes_follow_bhxh);

async fn the_facility_and_its_staff_must_be_known_and_every_lookup_is_recorded() {
    let env = start().await;
    let s = login(&env, "bv01001").await;
    let client = reqwest::Client::new();
    let post = |url: String, body: Value| {
        let c = client.clone();
        async move {
            let r = c.post(url).json(&body).send().await.unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    let url = format!("{}{LOOKUP}", env.base);
    let good = ask(A_CARD, "Nguyễn Văn Test", "12/05/1990");
    // No token, a token that is not one, a token of another account.
    let (status, v) = post(url.clone(), good.clone()).await;
    assert_eq!(
        (status, v["maKetQua"].as_str()),
        (StatusCode::OK, Some("401"))
    );
    assert_eq!(v["ghiChu"], "Lỗi xác thực tài khoản");
    let forged = format!(
        "{url}?token=abc&id_token={}&username=bv01001&password={}",
        s.id,
        md5_upper(PASSWORD)
    );
    assert_eq!(post(forged, good.clone()).await.1["maKetQua"], "401");
    let other = format!(
        "{url}?token={}&id_token={}&username=bv79560&password={}",
        s.access,
        s.id,
        md5_upper(PASSWORD)
    );
    assert_eq!(post(other, good.clone()).await.1["maKetQua"], "401");
    let wrong_pw = format!(
        "{url}?token={}&id_token={}&username=bv01001&password={}",
        s.access,
        s.id,
        md5_upper("khac")
    );
    assert_eq!(post(wrong_pw, good.clone()).await.1["maKetQua"], "401");
    // The staff member: a CCCD of 12 digits, and a name.
    for (cccd, name, want) in [
        (None, Some(STAFF), "054"),
        (Some("12345"), Some(STAFF), "054"),
        (Some("001188009999x"), Some(STAFF), "054"),
        (Some(STAFF_CCCD), None, "055"),
        (Some(STAFF_CCCD), Some("  "), "055"),
    ] {
        let mut body = good.clone();
        body["cccdCb"] = cccd.map_or(Value::Null, |c| json!(c));
        body["hoTenCb"] = name.map_or(Value::Null, |n| json!(n));
        let (_, v) = lookup(&env, &s, body).await;
        assert_eq!(v["maKetQua"], want, "{cccd:?} {name:?}: {v}");
        assert!(v["maThe"].is_null());
    }
    // Not JSON; too large.
    let r = client
        .post(format!(
            "{url}?token={}&id_token={}&username=bv01001&password={}",
            s.access,
            s.id,
            md5_upper(PASSWORD)
        ))
        .body("maThe=GD4010123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["maKetQua"], "205");
    let mut big = good.clone();
    big["hoTen"] = json!("A".repeat(20_000));
    let (status, v) = lookup(&env, &s, big).await;
    assert_eq!(
        (status, v["maKetQua"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("205"))
    );
    // None of these reached the person: nothing recorded.
    assert!(lookups_recorded(&env, A_PID).is_empty());
    // The credentials in the body work as well as in the query.
    let mut body = good.clone();
    body["token"] = json!(s.access);
    body["id_token"] = json!(s.id);
    body["username"] = json!("bv01001");
    body["password"] = json!(md5_upper(PASSWORD).to_lowercase());
    let (_, v) = post(url.clone(), body).await;
    assert_eq!(v["maKetQua"], "000", "{v}");
    // A lookup with a wrong name is recorded too.
    let (_, v) = lookup(&env, &s, ask(A_CARD, "Trần Văn Test", "12/05/1990")).await;
    assert_eq!(v["maKetQua"], "060");
    let recorded = lookups_recorded(&env, A_PID);
    assert_eq!(recorded.len(), 2);
    let (newest, first) = (&recorded[0], &recorded[1]);
    for r in &recorded {
        assert_eq!(r.actor, "bv01001");
        assert_eq!(r.actor_name.as_deref(), Some(STAFF));
        assert_eq!(r.facility.as_deref(), Some("01001"));
        assert_eq!(r.role, "submitter");
        // The staff member's CCCD is kept as a keyed digest, never in clear.
        let target = r.target.as_deref().unwrap();
        assert!(!target.contains(STAFF_CCCD), "{target}");
        assert!(target.contains(" cccdCb#"), "{target}");
    }
    assert!(
        first
            .target
            .as_deref()
            .unwrap()
            .starts_with("GD4010123456789 000 ")
    );
    assert!(
        newest
            .target
            .as_deref()
            .unwrap()
            .starts_with("GD4010123456789 060 ")
    );
    // The person reads it in their access log.
    let person_id = person(&env, A_PID);
    let code = env
        .store
        .issue_activation_code(person_id, "test-station", 3_600_000)
        .unwrap();
    let r = client
        .post(format!("{}/api/v1/citizen/activate", env.base))
        .json(&json!({"personal_id": A_PID, "code": code, "passcode": "246810"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = client
        .post(format!("{}/api/v1/citizen/login", env.base))
        .json(&json!({"personal_id": A_PID, "passcode": "246810"}))
        .send()
        .await
        .unwrap();
    let token = r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let log: Value = client
        .get(format!(
            "{}/api/v1/persons/{person_id}/access-log",
            env.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reads: Vec<&Value> = log["reads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "card.lookup")
        .collect();
    assert_eq!(reads.len(), 2, "{log}");
    assert!(
        reads
            .iter()
            .all(|r| r["actor_name"] == STAFF && r["facility"] == "01001")
    );
    // The chain holds.
    let report = env.store.verify_audit().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
both!(the_facility_and_its_staff_must_be_known_and_every_lookup_is_recorded);

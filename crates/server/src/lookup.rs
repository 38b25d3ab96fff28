//! The BHYT card lookup and visit history of the BHXH gateway, served from healthbook:
//! `POST /api/egw/KQNhanLichSuKCB2024` (shared reference §2.1 #4; registries A2), so a
//! HIS that points at healthbook keeps its reception screen.
//!
//! The request is BHXH's: a JSON body `maThe` (15-character card or 10-digit BHXH
//! number), `hoTen`, `ngaySinh` (`dd/MM/yyyy`, `ddMMyyyy` or `yyyy`), `hoTenCb`,
//! `cccdCb`; the credentials `token`, `id_token`, `username`, `password` (the MD5 hex of
//! the password, as `/api/token/take` takes it) in the query string as HIS send them,
//! or in the body. The answer is BHXH's 37 items (`maKetQua` §7.9, `ghiChu`, the card,
//! the new card, `dsLichSuKCB2018`, `dsLichSuKT2018`), HTTP 200 whatever the result, as
//! the gateway's other endpoints.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use service::{BirthQuery, CardKey, CardLookup, CardQuery};
use store::now_ms;

use crate::App;

/// Largest request body: the five fields and the credentials, with room.
pub const MAX_LOOKUP_BODY: usize = 16 * 1024;

/// The request as HIS send it (every field optional: what is missing is answered, not
/// refused by the JSON reader).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LookupBody {
    ma_the: Option<String>,
    ho_ten: Option<String>,
    ngay_sinh: Option<String>,
    ho_ten_cb: Option<String>,
    cccd_cb: Option<String>,
    username: Option<String>,
    password: Option<String>,
    token: Option<String>,
    #[serde(rename = "id_token")]
    id_token: Option<String>,
}

/// The credentials of the query string.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Credentials {
    token: Option<String>,
    id_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// One visit of `dsLichSuKCB2018`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VisitOut {
    ma_ho_so: String,
    #[serde(rename = "maCSKCB")]
    ma_cskcb: String,
    ngay_vao: String,
    ngay_ra: String,
    ten_benh: String,
    tinh_trang: String,
    kq_dieu_tri: String,
    #[serde(rename = "lyDoVV")]
    ly_do_vv: String,
    #[serde(rename = "TEMP1")]
    temp1: String,
    #[serde(rename = "TEMP2")]
    temp2: String,
    #[serde(rename = "TEMP3")]
    temp3: String,
    #[serde(rename = "TEMP4")]
    temp4: String,
    #[serde(rename = "TEMP5")]
    temp5: String,
}

/// One earlier lookup of `dsLichSuKT2018`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PastOut {
    #[serde(rename = "userKT")]
    user_kt: String,
    #[serde(rename = "thoiGianKT")]
    thoi_gian_kt: String,
    thong_bao: String,
    ma_loi: String,
}

/// The answer, item by item as BHXH names them; the card's items are `null` when the
/// lookup found no card to show.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LookupAnswer {
    ma_ket_qua: String,
    ghi_chu: String,
    ma_the: Option<String>,
    ho_ten: Option<String>,
    ngay_sinh: Option<String>,
    gioi_tinh: Option<String>,
    dia_chi: Option<String>,
    #[serde(rename = "maDKBD")]
    ma_dkbd: Option<String>,
    #[serde(rename = "cqBHXH")]
    cq_bhxh: Option<String>,
    gt_the_tu: Option<String>,
    gt_the_den: Option<String>,
    #[serde(rename = "maKV")]
    ma_kv: Option<String>,
    ngay_du5_nam: Option<String>,
    #[serde(rename = "maSoBHXH")]
    ma_so_bhxh: Option<String>,
    ma_the_cu: Option<String>,
    ma_the_moi: Option<String>,
    gt_the_tu_moi: Option<String>,
    gt_the_den_moi: Option<String>,
    #[serde(rename = "maDKBDMoi")]
    ma_dkbd_moi: Option<String>,
    #[serde(rename = "tenDKBDMoi")]
    ten_dkbd_moi: Option<String>,
    #[serde(rename = "dsLichSuKCB2018")]
    ds_lich_su_kcb: Vec<VisitOut>,
    #[serde(rename = "dsLichSuKT2018")]
    ds_lich_su_kt: Vec<PastOut>,
}

impl From<CardLookup> for LookupAnswer {
    fn from(l: CardLookup) -> LookupAnswer {
        let c = l.card;
        let n = c.as_ref().map(|c| c.new_card.clone().unwrap_or_default());
        let of = |f: fn(&service::CardFacts) -> &String| c.as_ref().map(|c| f(c).clone());
        let new = |f: fn(&service::NewCard) -> &String| n.as_ref().map(|n| f(n).clone());
        LookupAnswer {
            ma_ket_qua: l.code.to_string(),
            ghi_chu: l.note,
            ma_the: of(|c| &c.card),
            ho_ten: of(|c| &c.name),
            ngay_sinh: of(|c| &c.birth),
            gioi_tinh: of(|c| &c.sex),
            dia_chi: of(|c| &c.address),
            ma_dkbd: of(|c| &c.first_contact),
            cq_bhxh: of(|c| &c.office),
            gt_the_tu: of(|c| &c.valid_from),
            gt_the_den: of(|c| &c.valid_to),
            ma_kv: of(|c| &c.area),
            ngay_du5_nam: of(|c| &c.five_years),
            ma_so_bhxh: of(|c| &c.bhxh_number),
            ma_the_cu: of(|c| &c.previous),
            ma_the_moi: new(|n| &n.card),
            gt_the_tu_moi: new(|n| &n.valid_from),
            gt_the_den_moi: new(|n| &n.valid_to),
            ma_dkbd_moi: new(|n| &n.first_contact),
            ten_dkbd_moi: new(|n| &n.first_contact_name),
            ds_lich_su_kcb: l
                .visits
                .into_iter()
                .map(|v| VisitOut {
                    ma_ho_so: v.record,
                    ma_cskcb: v.facility,
                    ngay_vao: v.admitted,
                    ngay_ra: v.discharged,
                    ten_benh: v.disease,
                    tinh_trang: v.discharge_type,
                    kq_dieu_tri: v.outcome,
                    ly_do_vv: v.category,
                    temp1: String::new(),
                    temp2: String::new(),
                    temp3: String::new(),
                    temp4: String::new(),
                    temp5: String::new(),
                })
                .collect(),
            ds_lich_su_kt: l
                .past
                .into_iter()
                .map(|p| PastOut {
                    user_kt: p.user,
                    thoi_gian_kt: p.at,
                    thong_bao: p.message,
                    ma_loi: p.code,
                })
                .collect(),
        }
    }
}

fn answer(status: StatusCode, l: CardLookup) -> Response {
    (status, Json(LookupAnswer::from(l))).into_response()
}

/// A bare answer with a message of our own after BHXH's.
fn bare_with(code: &'static str, detail: &str) -> CardLookup {
    let mut l = CardLookup::bare(code);
    if !detail.is_empty() {
        l.note = format!("{}: {detail}", l.note);
    }
    l
}

/// `ngaySinh`: `dd/MM/yyyy`, `ddMMyyyy` or `yyyy` (also `dd-MM-yyyy`).
fn birth_query(s: &str) -> Option<BirthQuery> {
    let s = s.trim();
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || c == '/' || c == '-')
    {
        return None;
    }
    match digits.len() {
        4 if s.len() == 4 => Some(BirthQuery {
            year: digits,
            day: None,
        }),
        8 => {
            let (d, m, y) = (&digits[..2], &digits[2..4], &digits[4..]);
            let (dn, mn, yn) = (
                d.parse::<u32>().ok()?,
                m.parse::<u32>().ok()?,
                y.parse::<i32>().ok()?,
            );
            chrono::NaiveDate::from_ymd_opt(yn, mn, dn)?;
            Some(BirthQuery {
                year: y.to_string(),
                day: Some(format!("{y}{m}{d}")),
            })
        }
        _ => None,
    }
}

/// `maThe`: a card (its shape: 051, 052, 053) or a BHXH number (051).
fn card_key(s: &str) -> Result<CardKey, &'static str> {
    let s = s.trim().to_ascii_uppercase();
    match s.len() {
        15 => match dossier::ids::bhyt_card(&s) {
            Ok(()) => Ok(CardKey::Card(s)),
            Err(dossier::ids::IdError::Benefit) => Err("053"),
            Err(dossier::ids::IdError::Province) => Err("052"),
            Err(_) => Err("051"),
        },
        10 if dossier::ids::bhxh(&s).is_ok() => Ok(CardKey::Bhxh(s)),
        _ => Err("051"),
    }
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `POST /api/egw/KQNhanLichSuKCB2024`.
pub(crate) async fn card_lookup(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let started = Instant::now();
    let res = handle(&app, query.as_deref().unwrap_or(""), body).await;
    let code = res.1.code;
    app.metrics.request("card_lookup", code, started.elapsed());
    answer(res.0, res.1)
}

async fn handle(app: &Arc<App>, query: &str, body: Body) -> (StatusCode, CardLookup) {
    let ok = StatusCode::OK;
    let bytes = match axum::body::to_bytes(body, MAX_LOOKUP_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                bare_with("205", "nội dung yêu cầu quá lớn"),
            );
        }
    };
    let Ok(b) = serde_json::from_slice::<LookupBody>(&bytes) else {
        return (ok, bare_with("205", "nội dung không phải JSON hợp lệ"));
    };
    let creds: Credentials = serde_urlencoded::from_str(query).unwrap_or_default();
    // Who asks: the facility's gateway account, by its token (as the other endpoints).
    let pick =
        |q: &Option<String>, b: &Option<String>| given(q).or(given(b)).unwrap_or("").to_string();
    let (access, id, user, pw) = (
        pick(&creds.token, &b.token),
        pick(&creds.id_token, &b.id_token),
        pick(&creds.username, &b.username),
        pick(&creds.password, &b.password),
    );
    if access.is_empty() || id.is_empty() {
        return (ok, CardLookup::bare("401"));
    }
    let store = app.store.clone();
    let account =
        match tokio::task::spawn_blocking(move || store.check_token(&access, &id, &pw, now_ms()))
            .await
        {
            Ok(Ok(Some(a))) => a,
            Ok(Ok(None)) => return (ok, CardLookup::bare("401")),
            _ => return (ok, CardLookup::bare("101")),
        };
    if account.username != user {
        return (ok, bare_with("401", "tên đăng nhập không khớp với token"));
    }
    // The member of staff: a personal ID of 12 digits and a name. (healthbook does not
    // hold the facility's list of staff CCCDs: the form is what is checked.)
    let staff_id = given(&b.cccd_cb).unwrap_or("").to_string();
    if dossier::ids::person_id(&staff_id) != Ok(dossier::ids::PersonIdKind::PersonalId) {
        return (ok, CardLookup::bare("054"));
    }
    let staff_name = given(&b.ho_ten_cb).unwrap_or("").to_string();
    if staff_name.chars().count() > 100 || !staff_name.chars().any(char::is_alphabetic) {
        return (ok, CardLookup::bare("055"));
    }
    let (Some(card), Some(name), Some(birth)) =
        (given(&b.ma_the), given(&b.ho_ten), given(&b.ngay_sinh))
    else {
        return (ok, bare_with("205", "thiếu maThe, hoTen hoặc ngaySinh"));
    };
    if name.chars().count() > 100 {
        return (ok, bare_with("205", "hoTen quá dài"));
    }
    let Some(birth) = birth_query(birth) else {
        return (
            ok,
            bare_with("205", "ngaySinh phải là dd/MM/yyyy, ddMMyyyy hoặc yyyy"),
        );
    };
    let key = match card_key(card) {
        Ok(k) => k,
        Err(code) => return (ok, CardLookup::bare(code)),
    };
    let q = CardQuery {
        key,
        name: name.to_string(),
        birth,
        staff_name,
        staff_id,
    };
    let svc = app.service.clone();
    let facility = account.facility.clone();
    let found = tokio::task::spawn_blocking(move || svc.card_lookup(&account, &q)).await;
    let mut l = match found {
        Ok(Ok(l)) => l,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "card lookup");
            return (ok, CardLookup::bare("101"));
        }
        Err(_) => return (ok, CardLookup::bare("101")),
    };
    // The new first-contact facility's name (facility names are public).
    if let Some(n) = l.card.as_mut().and_then(|c| c.new_card.as_mut())
        && !n.first_contact.is_empty()
    {
        let store = app.store.clone();
        let code = n.first_contact.clone();
        if let Ok(Ok(names)) =
            tokio::task::spawn_blocking(move || store.facility_names(&[code.as_str()])).await
        {
            n.first_contact_name = names.get(&n.first_contact).cloned().unwrap_or_default();
        }
    }
    tracing::info!(facility = %facility, result = l.code, "card lookup");
    (ok, l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn births_and_card_numbers_are_read_as_his_send_them() {
        let day = birth_query("12/05/1990").unwrap();
        assert_eq!(
            (day.year.as_str(), day.day.as_deref()),
            ("1990", Some("19900512"))
        );
        assert_eq!(birth_query("12051990"), Some(day));
        assert_eq!(birth_query("1990").unwrap().day, None);
        assert!(birth_query("31/02/1990").is_none());
        assert!(birth_query("1990-05-12x").is_none());
        assert!(birth_query("").is_none());
        assert_eq!(
            card_key(" gd4010112345678 "),
            Ok(CardKey::Card("GD4010112345678".into()))
        );
        assert_eq!(
            card_key("0112345678"),
            Ok(CardKey::Bhxh("0112345678".into()))
        );
        assert_eq!(card_key("GD9010112345678"), Err("053"));
        assert_eq!(card_key("GD4990112345678"), Err("052"));
        assert_eq!(card_key("ZZ4010112345678"), Err("051"));
        assert_eq!(card_key("12345"), Err("051"));
        assert_eq!(card_key("0000000000"), Err("051"));
    }
}

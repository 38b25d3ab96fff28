//! The citizen API over loopback HTTP: activation, sign-in, lockout, the book, and
//! for every endpoint, that one person cannot read another's data.

#[macro_use]
mod common;

use std::sync::Arc;

use book::IdKind;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::App;
use store::{Store, now_ms};
use synth::{Config, Generator};

struct Env {
    base: String,
    store: Arc<dyn Store>,
    _dir: common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// A store with generated episodes, and the gateway serving it.
async fn start() -> Env {
    let dir = common::scratch();
    let store = dir.open();
    let g = Generator::new(Config {
        persons: 40,
        episodes: 400,
        seed: 17,
        ..Config::default()
    });
    common::ingest_all(&store, &g);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let app = App::new(store.clone() as Arc<dyn Store>, server::Config::default());
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    Env {
        base,
        store,
        _dir: dir,
        _stop: tx,
    }
}

/// Personal IDs of persons with at least `min` episodes.
fn persons_with_episodes(s: &Arc<dyn Store>, min: usize) -> Vec<(String, i64)> {
    let g = Generator::new(Config {
        persons: 40,
        episodes: 400,
        seed: 17,
        ..Config::default()
    });
    let mut out: Vec<(String, i64)> = Vec::new();
    for j in 0..40 {
        let p = g.person(j);
        let Some(pid) = p.personal_id else { continue };
        if let Some(rec) = s.person_by_identifier(IdKind::PersonalId, &pid).unwrap()
            && s.episodes_of(rec.id).unwrap().len() >= min
            && !out.iter().any(|(_, id)| *id == rec.id)
        {
            out.push((pid, rec.id));
        }
    }
    out
}

async fn activate_and_login(env: &Env, personal_id: &str, person: i64) -> String {
    let code = env
        .store
        .issue_activation_code(person, "test-station", 3_600_000)
        .unwrap();
    let c = reqwest::Client::new();
    let r = c
        .post(format!("{}/api/v1/citizen/activate", env.base))
        .json(&json!({"personal_id": personal_id, "code": code, "passcode": "246810"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // A code works once.
    let again = c
        .post(format!("{}/api/v1/citizen/activate", env.base))
        .json(&json!({"personal_id": personal_id, "code": code, "passcode": "135790"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    let r = c
        .post(format!("{}/api/v1/citizen/login", env.base))
        .json(&json!({"personal_id": personal_id, "passcode": "246810"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = r
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    r.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn get(env: &Env, token: &str, path: &str) -> (StatusCode, Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", env.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn a_citizen_reads_their_book() {
    let env = start().await;
    let people = persons_with_episodes(&env.store, 3);
    let (pid, person) = people[0].clone();
    let token = activate_and_login(&env, &pid, person).await;
    let (s, me) = get(&env, &token, "/api/v1/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["person"]["id"], person);
    let (_, years) = get(&env, &token, &format!("/api/v1/persons/{person}/years")).await;
    let total: u64 = years
        .as_array()
        .unwrap()
        .iter()
        .map(|y| y["episodes"].as_u64().unwrap())
        .sum();
    assert_eq!(total as usize, env.store.episodes_of(person).unwrap().len());
    let year = years[0]["year"].as_i64().unwrap();
    let (_, list) = get(
        &env,
        &token,
        &format!("/api/v1/persons/{person}/episodes?year={year}"),
    )
    .await;
    assert_eq!(
        list.as_array().unwrap().len() as u64,
        years[0]["episodes"].as_u64().unwrap()
    );
    let id = list[0]["id"].as_i64().unwrap();
    let (s, detail) = get(
        &env,
        &token,
        &format!("/api/v1/persons/{person}/episodes/{id}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(detail["view"]["medicines"].is_array());
    assert!(detail["visible_at"].as_i64().unwrap() >= detail["received_at"].as_i64().unwrap());
    // Accent-insensitive search finds the episode by its diagnosis.
    let dx = detail["view"]["discharge_diagnosis"]
        .as_str()
        .unwrap()
        .to_string();
    let plain = book::text::fold(&dx);
    let word = plain
        .split(' ')
        .find(|w| w.len() >= 4)
        .unwrap_or(&plain)
        .to_string();
    let (s, hits) = get(
        &env,
        &token,
        &format!(
            "/api/v1/persons/{person}/search?q={}",
            urlencode(&word.to_uppercase())
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        hits.as_array().unwrap().iter().any(|h| h["id"] == id),
        "{word}: {hits}"
    );
    let (_, changes) = get(
        &env,
        &token,
        &format!("/api/v1/persons/{person}/changes?since=0"),
    )
    .await;
    assert_eq!(
        changes["episodes"].as_array().unwrap().len(),
        env.store.episodes_of(person).unwrap().len()
    );
    let (_, none) = get(
        &env,
        &token,
        &format!("/api/v1/persons/{person}/changes?since={}", changes["now"]),
    )
    .await;
    assert!(none["episodes"].as_array().unwrap().is_empty());
    let (s, ap) = get(
        &env,
        &token,
        &format!("/api/v1/persons/{person}/appointments"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ap["appointments"].is_array() && ap["referrals"].is_array());
    let (s, _) = get(&env, "not-a-session", "/api/v1/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, doc) = get(&env, &token, "/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/persons/{pid}/search"].is_object());
}
both!(a_citizen_reads_their_book);

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn no_endpoint_lets_one_person_read_another() {
    let env = start().await;
    let people = persons_with_episodes(&env.store, 1);
    let (a_pid, a) = people[0].clone();
    let (_, b) = people[1].clone();
    let token = activate_and_login(&env, &a_pid, a).await;
    let b_episode = env.store.episodes_of(b).unwrap()[0].id;
    let a_episode = env.store.episodes_of(a).unwrap()[0].id;
    for path in [
        format!("/api/v1/persons/{b}/years"),
        format!("/api/v1/persons/{b}/episodes"),
        format!("/api/v1/persons/{b}/episodes?year=2025"),
        format!("/api/v1/persons/{b}/episodes/{b_episode}"),
        format!("/api/v1/persons/{b}/appointments"),
        format!("/api/v1/persons/{b}/search?q=viem"),
        format!("/api/v1/persons/{b}/changes?since=0"),
        // B's episode through A's own book path is not found either.
        format!("/api/v1/persons/{a}/episodes/{b_episode}"),
    ] {
        let (s, body) = get(&env, &token, &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(
            !body.to_string().contains(&b.to_string()) || path.contains(&b.to_string()),
            "{path}"
        );
    }
    // Without a session, nothing at all.
    for path in [
        format!("/api/v1/persons/{a}/years"),
        format!("/api/v1/persons/{a}/episodes/{a_episode}"),
        "/api/v1/me".to_string(),
    ] {
        let r = reqwest::get(format!("{}{path}", env.base)).await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    // A guardian may open the ward's book, with who granted it; revoked, no more.
    env.store
        .grant_guardian(a, b, "Trạm Y tế xã (giấy khai sinh)")
        .unwrap();
    // Refused reads left nothing in B's chain.
    assert!(env.store.audit_of(b).unwrap().is_empty());
    let (s, _) = get(
        &env,
        &token,
        &format!("/api/v1/persons/{b}/episodes/{b_episode}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    // Every read of the ward's book by the guardian is in the ward's chain, with the
    // guardian's name; a poll that brings nothing new is not; A's own reads are not.
    let (s, _) = get(&env, &token, &format!("/api/v1/persons/{b}/years")).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(
        &env,
        &token,
        &format!("/api/v1/persons/{b}/changes?since={}", now_ms() + 60_000),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get(&env, &token, &format!("/api/v1/persons/{a}/years")).await;
    assert_eq!(s, StatusCode::OK);
    let reads = env.store.audit_of(b).unwrap();
    let seen: Vec<(&str, Option<&str>)> = reads
        .iter()
        .map(|r| (r.action.as_str(), r.target.as_deref()))
        .collect();
    let episode_target = b_episode.to_string();
    // Newest first.
    assert_eq!(
        seen,
        vec![("years", None), ("episode", Some(episode_target.as_str()))]
    );
    let a_name = env.store.person(a).unwrap().unwrap().name;
    for r in &reads {
        assert_eq!(
            (r.role.as_str(), r.basis.as_str()),
            ("guardian", "guardianship")
        );
        assert_eq!(r.actor, format!("person:{a}"));
        assert_eq!(r.actor_name, a_name);
    }
    assert!(env.store.audit_of(a).unwrap().is_empty());
    assert!(env.store.verify_audit().unwrap().ok());
    let (_, me) = get(&env, &token, "/api/v1/me").await;
    assert_eq!(
        me["wards"][0]["granted_by"],
        "Trạm Y tế xã (giấy khai sinh)"
    );
    env.store.revoke_guardian(a, b).unwrap();
    let (s, _) = get(&env, &token, &format!("/api/v1/persons/{b}/years")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
both!(no_endpoint_lets_one_person_read_another);

async fn repeated_wrong_passcodes_are_slowed_down() {
    let env = start().await;
    let (pid, person) = persons_with_episodes(&env.store, 1)[0].clone();
    activate_and_login(&env, &pid, person).await;
    let c = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let r = c
            .post(format!("{}/api/v1/citizen/login", env.base))
            .json(&json!({"personal_id": pid, "passcode": "000000"}))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    // Five checked, then this address waits (growing delays, no lock in the store).
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    // Even the right passcode waits, from this address.
    let r = c
        .post(format!("{}/api/v1/citizen/login", env.base))
        .json(&json!({"personal_id": pid, "passcode": "246810"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    // Unknown persons answer like wrong passcodes.
    let r = c
        .post(format!("{}/api/v1/citizen/login", env.base))
        .json(&json!({"personal_id": "001099999999", "passcode": "246810"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}
both!(repeated_wrong_passcodes_are_slowed_down);

async fn an_episode_downloads_as_a_pdf_with_embedded_fonts() {
    let env = start().await;
    let people = persons_with_episodes(&env.store, 1);
    let (a_pid, a) = people[0].clone();
    let (_, b) = people[1].clone();
    let token = activate_and_login(&env, &a_pid, a).await;
    let id = env.store.episodes_of(a).unwrap()[0].id;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/persons/{a}/episodes/{id}/pdf", env.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/FontFile2"), "the TrueType font is embedded");
    assert!(text.contains("/ToUnicode"), "text is extractable");
    // Only the glyphs used are embedded (the two whole fonts weigh 1.4 MB).
    assert!(pdf.len() < 200_000, "PDF of {} bytes", pdf.len());
    // As a reader shows it (poppler): a title in Vietnamese, not mojibake; the facility
    // by name; the verification address under its QR code.
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("luot-kham.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let info = std::process::Command::new("pdfinfo")
        .arg(&file)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    assert!(info.contains("Title:           Lượt khám "), "{info}");
    let words = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let words = String::from_utf8_lossy(&words.stdout).replace('\n', " ");
    let e = env.store.episode(a, id).unwrap().unwrap();
    assert!(words.contains("Mã xác minh"), "{words}");
    if e.view.record_summary.is_some() {
        assert!(words.contains("Tóm tắt hồ sơ bệnh án"));
        assert!(!words.contains(".;"));
    }
    let start = words
        .find("/nhan-vien/xac-minh?d=")
        .expect("the verification address");
    let tail: String = words[start..]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("");
    let path: String = tail
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != 'D')
        .collect();
    // Staff who receive papers check it: valid, and the check is in the person's chain.
    env.store
        .upsert_facility(&store::Facility {
            code: "01001".into(),
            name: "Bệnh viện thử".into(),
            province: "01".into(),
            kind: "hospital".into(),
            bhyt_contract: true,
            unit: None,
        })
        .unwrap();
    env.store
        .upsert_staff(
            &store::StaffAccount {
                username: "bs-kiem".into(),
                full_name: "BS. Kiểm Tra".into(),
                role: book::access::Role::Clinician,
                unit: None,
                facility: Some("01001".into()),
                practising_cert: Some("000777/HNO-CCHN".into()),
                active: true,
            },
            Some("mat-khau-2026"),
        )
        .unwrap();
    let staff = env.store.create_staff_session("bs-kiem", 600_000).unwrap();
    let check = |url: String| {
        let staff = staff.clone();
        async move {
            let r = reqwest::Client::new()
                .get(url)
                .bearer_auth(&staff)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let (status, page) = check(format!("{}{path}", env.base)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {page}");
    assert!(page.contains("Hợp lệ") && page.contains(&e.ma_lk), "{page}");
    let log = env.store.audit_of(a).unwrap();
    assert_eq!(log[0].action, "verify_pdf");
    // A changed digest is refused.
    let digest_at = path.find("d=").unwrap() + 2;
    let mut forged = path.clone();
    let last_dot = forged[digest_at..].rfind('.').unwrap() + digest_at;
    forged.replace_range(
        last_dot + 1..last_dot + 2,
        if &path[last_dot + 1..last_dot + 2] == "0" {
            "1"
        } else {
            "0"
        },
    );
    let (status, page) = check(format!("{}{forged}", env.base)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("không hợp lệ"), "{page}");
    // Someone else's episode: not found.
    let other = env.store.episodes_of(b).unwrap()[0].id;
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/persons/{b}/episodes/{other}/pdf",
            env.base
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
both!(an_episode_downloads_as_a_pdf_with_embedded_fonts);

async fn the_web_book_signs_in_and_shows_only_ones_own() {
    let env = start().await;
    let people = persons_with_episodes(&env.store, 1);
    let (a_pid, a) = people[0].clone();
    let (_, b) = people[1].clone();
    activate_and_login(&env, &a_pid, a).await;
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Not signed in: to the sign-in page.
    let r = c.get(format!("{}/so/{a}", env.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/dang-nhap");
    let r = c
        .get(format!("{}/dang-nhap", env.base))
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(html.contains("<html lang=\"vi\">") && html.contains("<label for=\"passcode\">"));
    // A wrong passcode says so, in Vietnamese.
    let r = c
        .post(format!("{}/dang-nhap", env.base))
        .form(&[("personal_id", a_pid.as_str()), ("passcode", "999999")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("không đúng"));
    let r = c
        .post(format!("{}/dang-nhap", env.base))
        .form(&[("personal_id", a_pid.as_str()), ("passcode", "246810")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = |path: String| {
        let c = c.clone();
        let cookie = cookie.clone();
        let base = env.base.clone();
        async move {
            let r = c
                .get(format!("{base}{path}"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap_or_default())
        }
    };
    let (s, home) = page(format!("/so/{a}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(home.contains("Lịch sử khám chữa bệnh"));
    let year = home.split("/nam/").nth(1).unwrap()[..4].to_string();
    let (s, list) = page(format!("/so/{a}/nam/{year}")).await;
    assert_eq!(s, StatusCode::OK);
    let visit = list
        .split("/luot/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let (s, detail) = page(format!("/so/{a}/luot/{visit}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(detail.contains("Chẩn đoán") && detail.contains("Tải bản PDF"));
    // The book offers the International Patient Summary as a page to read, with the
    // FHIR document to download, which the session cookie opens.
    assert!(
        home.contains(&format!("href=\"/so/{a}/tom-tat\"")),
        "{home}"
    );
    let (s, readable) = page(format!("/so/{a}/tom-tat")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(readable.contains("Dị ứng") && readable.contains("Không có dữ liệu"));
    let ips = format!("/fhir/Patient/{a}/$summary");
    assert!(readable.contains(&format!("href=\"{ips}\"")), "{readable}");
    let (s, doc) = page(ips).await;
    assert_eq!(s, StatusCode::OK);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["type"], "document");
    let (s, _) = page(format!("/fhir/Patient/{b}/$summary")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Someone else's book, by any page: not found.
    let b_visit = env.store.episodes_of(b).unwrap()[0].id;
    for path in [
        format!("/so/{b}"),
        format!("/so/{b}/nam/{year}"),
        format!("/so/{b}/luot/{b_visit}"),
        format!("/so/{a}/luot/{b_visit}"),
        format!("/so/{b}/tim?q=viem"),
        format!("/so/{b}/cap-nhat"),
        format!("/so/{b}/tom-tat"),
        format!("/so/{b}/chia-se"),
        format!("/so/{b}/nhat-ky"),
        "/khong-co-trang-nay".to_string(),
    ] {
        let (s, body) = page(path.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        // A page in the frame, never raw JSON or the browser's blank page.
        assert!(
            body.contains("<main")
                && body.contains("Không tìm thấy")
                && body.contains("href=\"/so\""),
            "{path}: {body}"
        );
    }
}
both!(the_web_book_signs_in_and_shows_only_ones_own);

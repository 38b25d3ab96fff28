//! The gateway over real HTTP on loopback, with a real SQLite file.

#[macro_use]
mod common;

use std::sync::Arc;

use base64::Engine as _;
use book::IdKind;
use md5::{Digest, Md5};
use serde_json::Value;
use server::{App, Config};
use store::{Facility, Store};

const PASSWORD: &str = "matkhau-thu";

fn md5_upper(s: &str) -> String {
    Md5::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

struct Gateway {
    base: String,
    store: Arc<dyn Store>,
    _dir: common::Scratch,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn start(config: Config) -> Gateway {
    let dir = common::scratch();
    let store = dir.open();
    for (code, name) in [
        ("01001", "Bệnh viện Mẫu 01001"),
        ("79560", "Bệnh viện Mẫu 79560"),
    ] {
        store
            .upsert_facility(&Facility {
                code: code.into(),
                name: name.into(),
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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let app = App::new(store.clone() as Arc<dyn Store>, config);
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    Gateway {
        base,
        store,
        _dir: dir,
        stop: Some(tx),
    }
}

struct Session {
    user: String,
    access: String,
    id: String,
}

async fn token(g: &Gateway, user: &str, password: &str) -> Value {
    reqwest::Client::new()
        .post(format!("{}/api/token/take", g.base))
        .form(&[("username", user), ("password", &md5_upper(password))])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn login(g: &Gateway, user: &str) -> Session {
    let v = token(g, user, PASSWORD).await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    Session {
        user: user.into(),
        access: v["APIKey"]["access_token"].as_str().unwrap().into(),
        id: v["APIKey"]["id_token"].as_str().unwrap().into(),
    }
}

async fn send(g: &Gateway, s: &Session, endpoint: &str, facility: &str, file: &[u8]) -> Value {
    let b64 = base64::engine::general_purpose::STANDARD.encode(file);
    reqwest::Client::new()
        .post(format!("{}/api/qd130/{endpoint}", g.base))
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
        .unwrap()
}

fn sample() -> Vec<u8> {
    std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vn-standards/samples/synthetic/GIAMDINHHS_envelope_unsigned.xml"
    ))
    .unwrap()
}

async fn token_then_sample_reaches_the_book_with_all_its_parts() {
    let g = start(Config::default()).await;
    assert_eq!(token(&g, "bv01001", "wrong").await["maKetQua"], "401");
    let s = login(&g, "bv01001").await;
    let v = send(&g, &s, "guiHoSoXmlQD4750", "01001", &sample()).await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert_eq!(v["thoiGianTiepNhan"].as_str().unwrap().len(), 14);
    let tx = v["maGiaoDich"].as_str().unwrap();
    let person = g
        .store
        .person_by_identifier(IdKind::PersonalId, "001090012345")
        .unwrap()
        .unwrap();
    let eps = g.store.episodes_of(person.id).unwrap();
    assert_eq!(eps.len(), 1);
    let e = &eps[0].view;
    assert_eq!(e.ma_lk, "SYN20261015001");
    assert!(e.main_diagnosis.is_some() && !e.medicines.is_empty() && !e.results.is_empty());
    assert!(e.appointment.as_ref().unwrap().at.is_some());
    assert!(!e.services.examinations.is_empty());
    assert!(
        person
            .identifiers
            .iter()
            .any(|i| i.kind == IdKind::BhytCard && i.value == "DN4010123456789")
    );
    // The bytes are kept exactly.
    assert_eq!(g.store.submission(tx).unwrap().unwrap().raw, sample());
}
both!(token_then_sample_reaches_the_book_with_all_its_parts);

async fn corrections_show_the_new_version_and_keep_the_old() {
    let g = start(Config::default()).await;
    let s = login(&g, "bv01001").await;
    assert_eq!(
        send(&g, &s, "guiHoSoXmlQD4750", "01001", &sample()).await["maKetQua"],
        "200"
    );
    let parsed = dossier::parse_envelope(&sample(), &dossier::Options::default());
    let mut env = parsed.value;
    let fixed_dx = Some("Viêm họng cấp (đã sửa)".to_string());
    env.dossiers[0].summary.as_mut().unwrap().chan_doan_rv = fixed_dx.clone();
    // The appointment letter mirrors XML1's diagnosis; the correction updates both.
    if let Some(a) = env.dossiers[0].appointment.as_mut() {
        a.chan_doan_rv = fixed_dx;
    }
    let fixed = dossier::write::envelope(&env, dossier::Spec::Qd4750);
    assert_eq!(
        send(&g, &s, "guiHoSoXmlQD4750", "01001", &fixed).await["maKetQua"],
        "200"
    );
    let versions = g.store.episode_versions("01001", "SYN20261015001").unwrap();
    assert_eq!(versions.len(), 2);
    assert!(!versions[0].is_current && versions[1].is_current);
    assert_eq!(
        versions[1].view.discharge_diagnosis.as_deref(),
        Some("Viêm họng cấp (đã sửa)")
    );
    let person = versions[1].person_id;
    assert_eq!(g.store.episodes_of(person).unwrap().len(), 1);
}
both!(corrections_show_the_new_version_and_keep_the_old);

async fn invalid_dossiers_are_refused_with_findings_and_kept() {
    let g = start(Config::default()).await;
    let s = login(&g, "bv01001").await;
    let mut text = String::from_utf8(sample()).unwrap();
    text = text.replace(
        "<SOLUONGHOSO>1</SOLUONGHOSO>",
        "<SOLUONGHOSO>2</SOLUONGHOSO>",
    );
    let v = send(&g, &s, "guiHoSoXmlQD3176", "01001", text.as_bytes()).await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    assert!(
        v["thongDiep"]
            .as_str()
            .unwrap()
            .contains("ENVELOPE.SOLUONGHOSO.mismatch")
    );
    assert_eq!(v["dsLoi"][0]["code"], "ENVELOPE.SOLUONGHOSO.mismatch");
    let sub = g
        .store
        .submission(v["maGiaoDich"].as_str().unwrap())
        .unwrap()
        .unwrap();
    assert!(!sub.accepted);
    assert_eq!(sub.raw, text.as_bytes());
    assert_eq!(g.store.counts().unwrap().episodes_current, 0);
    // Not base64 at all.
    let v = send(&g, &s, "guiHoSoXmlQD3176", "01001", b"").await;
    assert_eq!(v["maKetQua"], "400");
}
both!(invalid_dossiers_are_refused_with_findings_and_kept);

async fn a_facility_submits_only_for_itself() {
    let g = start(Config::default()).await;
    let s = login(&g, "bv79560").await;
    // Claims another facility in the form.
    let v = send(&g, &s, "guiHoSoXmlQD4750", "01001", &sample()).await;
    assert_eq!(v["maKetQua"], "403");
    // Its own code in the form, another's dossier in the file: refused and kept.
    let v = send(&g, &s, "guiHoSoXmlQD4750", "79560", &sample()).await;
    assert_eq!(v["maKetQua"], "403", "{v}");
    assert_eq!(v["dsLoi"][0]["code"], "GATEWAY.MACSKCB.forbidden");
    assert!(
        !g.store
            .submission(v["maGiaoDich"].as_str().unwrap())
            .unwrap()
            .unwrap()
            .accepted
    );
    assert_eq!(g.store.counts().unwrap().episodes_current, 0);
}
both!(a_facility_submits_only_for_itself);

async fn bad_or_expired_tokens_are_refused() {
    let g = start(Config::default()).await;
    let s = login(&g, "bv01001").await;
    let forged = Session {
        user: s.user.clone(),
        access: "0".repeat(64),
        id: s.id.clone(),
    };
    assert_eq!(
        send(&g, &forged, "guiHoSoXmlQD4750", "01001", &sample()).await["maKetQua"],
        "401"
    );
    let wrong_id = Session {
        user: s.user.clone(),
        access: s.access.clone(),
        id: "x".into(),
    };
    assert_eq!(
        send(&g, &wrong_id, "guiHoSoXmlQD4750", "01001", &sample()).await["maKetQua"],
        "401"
    );
    let other_user = Session {
        user: "bv79560".into(),
        access: s.access.clone(),
        id: s.id.clone(),
    };
    assert_eq!(
        send(&g, &other_user, "guiHoSoXmlQD4750", "01001", &sample()).await["maKetQua"],
        "401"
    );
    let expired = start(Config {
        token_ttl: std::time::Duration::from_millis(1),
        ..Config::default()
    })
    .await;
    let s = login(&expired, "bv01001").await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(
        send(&expired, &s, "guiHoSoXmlQD4750", "01001", &sample()).await["maKetQua"],
        "401"
    );
}
both!(bad_or_expired_tokens_are_refused);

async fn checkins_health_metrics_and_body_limit() {
    let g = start(Config {
        max_body_bytes: 200_000,
        ..Config::default()
    })
    .await;
    let s = login(&g, "bv01001").await;
    let checkin = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vn-standards/samples/synthetic/XML0_checkin_unsigned.xml"
    ))
    .unwrap();
    let v = send(&g, &s, "checkInKcbQd4750", "01001", &checkin).await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert_eq!(g.store.counts().unwrap().checkins, 1);
    let h: Value = reqwest::get(format!("{}/healthz", g.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(h["status"], "ok");
    send(&g, &s, "guiHoSoXmlQD4750", "01001", &sample()).await;
    let m = reqwest::get(format!("{}/metrics", g.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("healthbook_submissions_received_total{kind=\"dossier\",spec=\"4750\",result=\"accepted\"} 1"), "{m}");
    assert!(m.contains("healthbook_request_duration_seconds"));
    assert!(!m.contains("001090012345"), "no personal data in metrics");
    // A body past the limit is refused before it is read.
    let big = vec![b'A'; 300_000];
    let r = reqwest::Client::new()
        .post(format!("{}/api/qd130/guiHoSoXmlQD4750", g.base))
        .header("accessToken", &s.access)
        .header("tokenId", &s.id)
        .header("passwordHash", md5_upper(PASSWORD))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            [
                b"username=bv01001&maCSKCB=01001&fileHSBase64=".as_slice(),
                &big,
            ]
            .concat(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}
both!(checkins_health_metrics_and_body_limit);

async fn identity_conflicts_become_data_quality_records() {
    let g = start(Config::default()).await;
    let s = login(&g, "bv01001").await;
    assert_eq!(
        send(&g, &s, "guiHoSoXmlQD4750", "01001", &sample()).await["maKetQua"],
        "200"
    );
    // Another episode: the same BHYT card, another personal ID.
    let text = String::from_utf8(sample()).unwrap();
    let parsed = dossier::parse_envelope(text.as_bytes(), &dossier::Options::default());
    let mut env = parsed.value;
    let d = &mut env.dossiers[0];
    let other = "SYN20261015002";
    d.summary.as_mut().unwrap().so_cccd = Some("079190054321".into());
    d.summary.as_mut().unwrap().ma_lk = Some(other.into());
    d.summary.as_mut().unwrap().ngay_tai_kham.clear();
    d.appointment = None;
    for l in &mut d.drugs {
        l.ma_lk = Some(other.into());
    }
    for l in &mut d.services {
        l.ma_lk = Some(other.into());
    }
    for l in &mut d.results {
        l.ma_lk = Some(other.into());
    }
    let bytes = dossier::write::envelope(&env, dossier::Spec::Qd4750);
    let v = send(&g, &s, "guiHoSoXmlQD4750", "01001", &bytes).await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    let first = g
        .store
        .person_by_identifier(IdKind::PersonalId, "001090012345")
        .unwrap()
        .unwrap();
    let second = g
        .store
        .person_by_identifier(IdKind::PersonalId, "079190054321")
        .unwrap()
        .unwrap();
    assert_ne!(first.id, second.id, "never merged silently");
    let issues = g.store.dq_issues(10).unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i.kind == "card_with_two_personal_ids"),
        "{issues:#?}"
    );
}
both!(identity_conflicts_become_data_quality_records);

/// A self-signed facility certificate and its key, made by openssl.
fn keypair(dir: &std::path::Path, name: &str, days: &str) -> sign::SigningKey {
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            days,
            "-subj",
            &format!("/CN=Benh vien thu nghiem {name}"),
        ])
        .current_dir(dir)
        .output()
        .expect("openssl (.ci/run installs it)")
        .status
        .success();
    assert!(ok);
    sign::SigningKey::from_pem(
        &std::fs::read(dir.join(format!("{name}.key"))).unwrap(),
        &std::fs::read(dir.join(format!("{name}.pem"))).unwrap(),
    )
    .unwrap()
}

fn register(store: &Arc<dyn Store>, facility: &str, pem: &[u8]) -> String {
    let cert = server::facility_cert(facility, pem, "test").unwrap();
    store.add_facility_cert(&cert).unwrap();
    cert.fingerprint
}

fn codes(v: &Value) -> Vec<String> {
    v["dsLoi"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| f["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn signatures_are_verified_recorded_and_required() {
    let pki = tempfile::tempdir().unwrap();
    let fac = keypair(pki.path(), "fac", "365");
    let stranger = keypair(pki.path(), "stranger", "365");
    let checkin = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vn-standards/samples/synthetic/XML0_checkin_unsigned.xml"
    ))
    .unwrap();

    let g = start(Config {
        signature_policy: sign::Policy::Require,
        ..Config::default()
    })
    .await;
    let fingerprint = register(
        &g.store,
        "01001",
        &std::fs::read(pki.path().join("fac.pem")).unwrap(),
    );
    let s = login(&g, "bv01001").await;
    let stored = |v: &Value| {
        let tx = v["maGiaoDich"].as_str().unwrap();
        let sub = g.store.submission(tx).unwrap().unwrap();
        (sub.signature, sub.signer)
    };
    // Unsigned: refused whole under `require`, and kept as evidence with its verdict.
    let v = send(&g, &s, "guiHoSoXmlQD4750", "01001", &sample()).await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    assert!(codes(&v).contains(&"SIGNATURE.unsigned".to_string()), "{v}");
    assert_eq!(stored(&v), (Some("unsigned".into()), None));
    // Signed with the registered certificate: accepted, the signer recorded.
    let signed = sign::sign(&sample(), &fac, sign::Algorithm::RsaSha256).unwrap();
    let v = send(&g, &s, "guiHoSoXmlQD4750", "01001", &signed).await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert!(codes(&v).iter().all(|c| !c.starts_with("SIGNATURE")), "{v}");
    assert_eq!(
        stored(&v),
        (Some("verified".into()), Some(fingerprint.clone()))
    );
    assert_eq!(
        g.store
            .submission(v["maGiaoDich"].as_str().unwrap())
            .unwrap()
            .unwrap()
            .raw,
        signed
    );
    // The check-in too.
    let v = send(&g, &s, "checkInKcbQd4750", "01001", &checkin).await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    let signed_checkin = sign::sign(&checkin, &fac, sign::Algorithm::RsaSha256).unwrap();
    let v = send(&g, &s, "checkInKcbQd4750", "01001", &signed_checkin).await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert_eq!(stored(&v).0.as_deref(), Some("verified"));
    // Legacy SHA-1: accepted with a warning.
    let mut env = String::from_utf8(sample()).unwrap();
    env = env.replace("SYN20261015001", "SYN20261015002");
    let sha1 = sign::sign(env.as_bytes(), &fac, sign::Algorithm::RsaSha1).unwrap();
    let v = send(&g, &s, "guiHoSoXmlQD4750", "01001", &sha1).await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert!(
        codes(&v).contains(&"SIGNATURE.verified_legacy_sha1".to_string()),
        "{v}"
    );
    // Another facility's certificate, and a changed document.
    let v = send(
        &g,
        &s,
        "guiHoSoXmlQD4750",
        "01001",
        &sign::sign(&sample(), &stranger, sign::Algorithm::RsaSha256).unwrap(),
    )
    .await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    assert!(
        codes(&v).contains(&"SIGNATURE.cert_not_registered".to_string()),
        "{v}"
    );
    let text = String::from_utf8(signed.clone()).unwrap();
    let at = text.find("<NGAYLAP>").unwrap() + "<NGAYLAP>".len() + 7;
    let day = if &text[at..at + 1] == "1" { "2" } else { "1" };
    let tampered = format!("{}{day}{}", &text[..at], &text[at + 1..]);
    assert_ne!(tampered.as_bytes(), signed.as_slice());
    let v = send(&g, &s, "guiHoSoXmlQD4750", "01001", tampered.as_bytes()).await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    assert!(
        codes(&v).contains(&"SIGNATURE.invalid_signature".to_string()),
        "{v}"
    );
    // Revoked: the same signed bytes again would be a duplicate; sign a correction.
    assert!(
        g.store
            .revoke_facility_cert("01001", &fingerprint, "officer")
            .unwrap()
    );
    let again = sign::sign(
        env.replace("SYN20261015002", "SYN20261015003").as_bytes(),
        &fac,
        sign::Algorithm::RsaSha256,
    )
    .unwrap();
    let v = send(&g, &s, "guiHoSoXmlQD4750", "01001", &again).await;
    assert_eq!(v["maKetQua"], "400", "{v}");
    assert!(
        codes(&v).contains(&"SIGNATURE.cert_revoked".to_string()),
        "{v}"
    );
    // Counted per facility and verdict.
    let counts = g
        .store
        .signature_counts("2000-01-01", "2999-12-31")
        .unwrap();
    let n = |status: &str| {
        counts
            .iter()
            .filter(|c| c.facility == "01001" && c.status == status)
            .map(|c| c.count)
            .sum::<i64>()
    };
    assert_eq!(
        (
            n("unsigned"),
            n("verified"),
            n("verified_legacy_sha1"),
            n("cert_not_registered"),
            n("invalid_signature"),
            n("cert_revoked")
        ),
        (2, 2, 1, 1, 1, 1)
    );

    // Under `warn` a signature that does not hold is a warning; unsigned passes silently.
    let g = start(Config::default()).await;
    let s = login(&g, "bv01001").await;
    let v = send(
        &g,
        &s,
        "guiHoSoXmlQD4750",
        "01001",
        &sign::sign(&sample(), &stranger, sign::Algorithm::RsaSha256).unwrap(),
    )
    .await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert!(
        codes(&v).contains(&"SIGNATURE.cert_not_registered".to_string()),
        "{v}"
    );
    let v = send(&g, &s, "checkInKcbQd4750", "01001", &checkin).await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert_eq!(
        g.store
            .submission(v["maGiaoDich"].as_str().unwrap())
            .unwrap()
            .unwrap()
            .signature
            .as_deref(),
        Some("unsigned")
    );
    // `off`: nothing checked, nothing stored.
    let g = start(Config {
        signature_policy: sign::Policy::Off,
        ..Config::default()
    })
    .await;
    let s = login(&g, "bv01001").await;
    let v = send(
        &g,
        &s,
        "guiHoSoXmlQD4750",
        "01001",
        &sign::sign(&sample(), &stranger, sign::Algorithm::RsaSha256).unwrap(),
    )
    .await;
    assert_eq!(v["maKetQua"], "200", "{v}");
    assert_eq!(
        g.store
            .submission(v["maGiaoDich"].as_str().unwrap())
            .unwrap()
            .unwrap()
            .signature,
        None
    );
}
both!(signatures_are_verified_recorded_and_required);

//! `healthbook demo`: a seeded store, a ready facility login, and the gateway serving.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use book::access::Role;
use dossier::{Options, Spec};
use rayon::prelude::*;
use store::{
    Access, Meta, Prepared, Reports, Resident, Source, SqliteStore, StaffAccount, Store,
    UnitReportLine, now_ms,
};
use synth::catalog::PROVINCES;
use synth::{Config, Generator};

use crate::ops;

pub const DEMO_USER: &str = "bv01001";
pub const DEMO_PASSWORD: &str = "demo123";
pub const DEMO_PASSCODE: &str = "123456";
/// Password of every demo staff account.
pub const DEMO_STAFF_PASSWORD: &str = "demo12345";

/// Units of the catalog (pre-2025 scheme) and its facilities, placed in the commune
/// their address names.
pub(crate) fn seed_registry(store: &dyn Store) -> Result<()> {
    let (units, facilities) = server::registry::synthetic_catalog();
    store.import_units(&units)?;
    store.import_facilities(&facilities)?;
    Ok(())
}

/// The demo's registry across the 2025 reform: the units before it (history) and
/// after it (today: the 34 provinces with their real codes, synthetic communes), the
/// lineage between them, and the facilities placed in today's communes.
pub(crate) fn seed_registry_2025(store: &dyn Store) -> Result<()> {
    let s = server::registry::synthetic_catalog_2025();
    store.import_units(&s.units)?;
    store.import_unit_lineage(&s.lineage)?;
    store.import_facilities(&s.facilities)?;
    Ok(())
}

/// The population registry of the demo: every generated person with a personal ID
/// where the generator placed them, and twice as many residents never seen at a
/// facility (so that the adoption rate is a rate); a few moved or died.
fn seed_population(store: &SqliteStore, g: &Generator) -> Result<usize> {
    // Residents live in today's communes; those of an old commune divided by the
    // reform keep its code until the registry resolves their address (the reports'
    // "unallocated" line).
    let lineage = server::registry::synthetic_catalog_2025().lineage;
    let today = |old: &str| server::registry::commune_today(&lineage, old);
    let mut residents = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for j in 0..g.config.persons {
        let p = g.person(j);
        let Some(pid) = p.personal_id.clone() else {
            continue;
        };
        if !seen.insert(pid.clone()) {
            continue;
        }
        residents.push(Resident {
            personal_id: pid,
            name: Some(p.name.clone()),
            birth: Some(p.birth.to_string()),
            sex: Some(p.sex.to_string()),
            unit: today(p.commune.0),
            status: match j % 50 {
                0 => "dead",
                1 => "moved",
                _ => "alive",
            }
            .into(),
        });
    }
    let communes: Vec<(&str, &str)> = PROVINCES
        .iter()
        .flat_map(|p| {
            p.districts
                .iter()
                .flat_map(move |d| d.communes.iter().map(move |c| (p.code, c.0)))
        })
        .collect();
    const FAMILY: [&str; 6] = ["Nguyễn", "Trần", "Lê", "Phạm", "Đỗ", "Vũ"];
    const GIVEN: [(&str, &str); 6] = [
        ("Văn Nam", "Thị Lan"),
        ("Đức Minh", "Thu Hà"),
        ("Quang Huy", "Ngọc Anh"),
        ("Văn Tùng", "Thị Mai"),
        ("Hữu Phúc", "Thanh Hương"),
        ("Minh Tuấn", "Thị Hồng"),
    ];
    for k in 0..residents.len() * 2 {
        let (province, commune) = communes[k % communes.len()];
        // The ID's 4th digit: century and sex (0/1 born 1900s, 2/3 born 2000s; even male).
        let century = k % 4;
        let year = if century < 2 { 40 + k % 60 } else { k % 25 };
        let female = century % 2 == 1;
        let given = GIVEN[(k / 7) % GIVEN.len()];
        residents.push(Resident {
            personal_id: format!("0{province}{century}{year:02}{:06}", 900_000 + k % 100_000),
            name: Some(format!(
                "{} {}",
                FAMILY[k % FAMILY.len()],
                if female { given.1 } else { given.0 }
            )),
            birth: Some(format!(
                "{}{year:02}{:02}{:02}0000",
                if century < 2 { 19 } else { 20 },
                1 + k % 12,
                1 + k % 28
            )),
            sex: Some(if female { "2" } else { "1" }.into()),
            unit: today(commune),
            status: "alive".into(),
        });
    }
    residents.sort_by(|a, b| a.personal_id.cmp(&b.personal_id));
    residents.dedup_by(|a, b| a.personal_id == b.personal_id);
    Ok(store.import_population(&residents)?)
}

/// Last month's unit reports (Phụ lục 1) of two wards of Hà Nội (today's units); the
/// others are missing.
fn seed_unit_reports(store: &SqliteStore, today: chrono::NaiveDate) -> Result<()> {
    use chrono::Datelike;
    let first = today.with_day(1).unwrap_or(today);
    let last_month = (first - chrono::Duration::days(1))
        .format("%Y-%m")
        .to_string();
    let line = |dept: &str, total: i64, not: i64, card_not: i64| UnitReportLine {
        department: dept.into(),
        total_staff: total,
        vneid_activated: total - not,
        vneid_not: not,
        vneid_reason: (not > 0).then(|| "Chưa có điện thoại thông minh".into()),
        book_created: total - not,
        card_integrated: total - card_not,
        card_not,
        card_reason: (card_not > 0).then(|| "Thẻ BHYT hết hạn".into()),
    };
    store.save_unit_report(
        "00004",
        &last_month,
        &[
            line("Trạm y tế", 12, 1, 2),
            line("Ủy ban nhân dân phường", 20, 3, 1),
        ],
        "demo",
    )?;
    store.save_unit_report("00040", &last_month, &[line("Trạm y tế", 9, 0, 0)], "demo")?;
    Ok(())
}

/// Demo staff: one account per role, in Hà Nội and its facility 01001.
fn seed_staff(store: &SqliteStore) -> Result<Vec<StaffAccount>> {
    let commune = store
        .facility("01001")?
        .and_then(|f| f.unit)
        .unwrap_or_else(|| "00013".into());
    // The district officer's district is the one 01001 lay in before the reform
    // (districts were abolished on 2025-07-01).
    let old_commune = server::registry::synthetic_catalog()
        .1
        .into_iter()
        .find(|f| f.code == "01001")
        .and_then(|f| f.unit)
        .unwrap_or_else(|| "00013".into());
    let district = store.place_of_unit(&old_commune)?.district;
    let account = |username: &str, name: &str, role: Role| StaffAccount {
        username: username.into(),
        full_name: name.into(),
        role,
        unit: None,
        facility: None,
        practising_cert: None,
        active: true,
    };
    let accounts = vec![
        account("admin", "Quản trị hệ thống (demo)", Role::SystemAdmin),
        StaffAccount {
            unit: Some("01".into()),
            ..account(
                "so01",
                "Cán bộ Sở Y tế Hà Nội (demo)",
                Role::ProvincialOfficer,
            )
        },
        StaffAccount {
            unit: district,
            ..account("huyen01", "Cán bộ y tế quận (demo)", Role::DistrictOfficer)
        },
        StaffAccount {
            unit: Some("01".into()),
            ..account(
                "bhxh01",
                "Cán bộ BHXH Hà Nội (demo)",
                Role::InsuranceOfficer,
            )
        },
        StaffAccount {
            facility: Some("01001".into()),
            ..account(
                "qt01001",
                "Quản trị Bệnh viện An Bình (demo)",
                Role::FacilityAdmin,
            )
        },
        StaffAccount {
            facility: Some("01001".into()),
            practising_cert: Some("000123/HNO-CCHN".into()),
            ..account("bs01001", "BS. Trần Minh Khoa (demo)", Role::Clinician)
        },
        StaffAccount {
            unit: Some(commune),
            ..account("xa01", "Cán bộ trạm y tế phường (demo)", Role::CommuneStaff)
        },
    ];
    for a in &accounts {
        store.upsert_staff(a, Some(DEMO_STAFF_PASSWORD))?;
    }
    Ok(accounts)
}

/// The generated person with the most episodes who has a personal ID: activate their
/// account with the demo passcode. Returns (personal ID, person id, episodes).
fn demo_citizen(store: &SqliteStore, g: &Generator) -> Result<Option<(String, i64, usize)>> {
    let mut best: Option<(String, i64, usize)> = None;
    for j in 0..g.config.persons.min(500) {
        let Some(pid) = g.person(j).personal_id else {
            continue;
        };
        let Some(p) = store.person_by_identifier(book::IdKind::PersonalId, &pid)? else {
            continue;
        };
        let n = store.episodes_of(p.id)?.len();
        if best.as_ref().is_none_or(|b| n > b.2) {
            best = Some((pid, p.id, n));
        }
    }
    if let Some((pid, person, _)) = &best {
        let code = store.issue_activation_code(*person, "demo", 3_600_000)?;
        store.activate_citizen(pid, &code, DEMO_PASSCODE)?;
    }
    Ok(best)
}

#[derive(clap::Args)]
pub struct Args {
    /// Folder of the demo store.
    #[arg(long, default_value = "healthbook-demo")]
    dir: PathBuf,
    #[arg(long, default_value_t = 2_000)]
    persons: usize,
    #[arg(long, default_value_t = 10_000)]
    episodes: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Seed and print, but do not serve.
    #[arg(long)]
    no_serve: bool,
}

/// The demo's FHIR system client.
const DEMO_FHIR_CLIENT: &str = "Kho dữ liệu Sở Y tế Hà Nội (demo)";

pub fn run(a: Args) -> Result<()> {
    {
        // The demo's store, secret and exports: the service's alone.
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&a.dir)?;
    }
    let db = a.dir.join("book.db");
    let store = SqliteStore::open(&db)?;
    seed_registry_2025(&store)?;
    let staff = seed_staff(&store)?;
    store.upsert_account(DEMO_USER, "01001", &ops::md5_upper(DEMO_PASSWORD))?;
    let t = std::time::Instant::now();
    let before = store.counts()?;
    // Episodes of the last two years up to yesterday, so that some re-exam
    // appointments are still ahead, as in a real book.
    let today = server::vn_now().date();
    let yesterday = today.pred_opt().unwrap_or(today);
    let g = Generator::new(Config {
        persons: a.persons,
        episodes: a.episodes,
        seed: a.seed,
        from: yesterday - chrono::Duration::days(730),
        to: yesterday,
        ..Config::default()
    });
    if before.episodes_current == 0 {
        // Queue everything, then wait: the writer commits in large batches. Each
        // episode's check-in (XML0) first; 2 % more episodes start but never send
        // their dossier, as facilities do.
        let extra = a.episodes / 50;
        let pending = (0..a.episodes + extra)
            .into_par_iter()
            .map(|i| -> Result<Vec<store::Pending>> {
                let e = g.episode(i);
                let meta = || Meta {
                    facility: e.facility.code.into(),
                    account: "demo".into(),
                    source: Source::Import,
                    spec: Spec::Qd3176,
                    received_at: now_ms(),
                };
                let raw = e.checkin_bytes(Spec::Qd3176);
                let parsed = dossier::parse_checkin(&raw, &Options::default());
                let mut out = vec![store.submit(Prepared::checkin(meta(), &raw, &parsed))?];
                if i < a.episodes {
                    let raw = e.envelope_bytes(Spec::Qd3176);
                    let parsed = dossier::parse_envelope(&raw, &Options::default());
                    out.push(store.submit(Prepared::envelope(meta(), &raw, &parsed))?);
                }
                Ok(out)
            })
            .collect::<Result<Vec<_>>>()?;
        for p in pending.into_iter().flatten() {
            p.wait()?;
        }
    }
    let residents = seed_population(&store, &g)?;
    // The QĐ 831 records of the demo station's commune.
    let station_commune = staff
        .iter()
        .find(|s| s.role == Role::CommuneStaff)
        .and_then(|s| s.unit.clone())
        .unwrap_or_default();
    let records = crate::demo_records::seed(&store, &station_commune, &a.dir)?;
    // Its NCD registers with follow-ups, and children under five with measurements.
    let chronic = crate::demo_chronic::seed(&store, &station_commune)?;
    seed_unit_reports(&store, today)?;
    // A citizen with a full book, ready to sign in.
    let citizen = demo_citizen(&store, &g)?;
    // Vaccinations of the station's children (some complete, some overdue), and a ward
    // of the citizen with a dose due.
    let vaccinations = crate::demo_vaccinations::seed(
        &store,
        &station_commune,
        citizen.as_ref().map(|(_, person, _)| *person),
    )?;
    // A system client of Hà Nội's health department, for the FHIR bulk export; the one
    // of an earlier run on this folder is disabled (its secret was only printed).
    for old in store.fhir_clients()? {
        if old.name == DEMO_FHIR_CLIENT && old.active {
            store.disable_fhir_client(&old.client_id)?;
        }
    }
    let (fhir_client, fhir_secret) = store.add_fhir_client(
        DEMO_FHIR_CLIENT,
        "01",
        &book::access::SmartScopes::parse("system/*.read").map_err(anyhow::Error::msg)?,
        "demo",
    )?;
    // What a script needs to drive the demo (README's sessions read it with jq): the
    // logins, never a secret that is not the demo's published one.
    let about = serde_json::json!({
        "address": format!("http://{}", a.listen),
        "gateway": {"facility": "01001", "username": DEMO_USER, "password": DEMO_PASSWORD},
        "citizen": citizen.as_ref().map(|(pid, person, episodes)| serde_json::json!({
            "personal_id": pid, "person": person, "passcode": DEMO_PASSCODE, "episodes": episodes,
        })),
        "staff": {
            "password": DEMO_STAFF_PASSWORD,
            "accounts": staff.iter().map(|s| serde_json::json!({
                "username": s.username, "role": s.role.code(),
            })).collect::<Vec<_>>(),
        },
        "fhir_client_id": fhir_client.client_id,
        "vaccinations": {
            "children": vaccinations.children,
            "complete": vaccinations.complete,
            "overdue": vaccinations.overdue,
            "doses": vaccinations.doses,
            "ward": vaccinations.ward,
        },
        "station": {
            "username": "xa01",
            "commune": station_commune,
            "residents": records.residents,
            "ncd_enrolled": chronic.enrolled,
            "ncd_followups": chronic.followups,
            "children_measured": chronic.children,
            "measurements": chronic.measurements,
            "incomplete": records.incomplete.as_ref().map(|(person, pid)| serde_json::json!({
                "person": person, "personal_id": pid,
            })),
            "deltas": records.deltas.display().to_string(),
        },
    });
    std::fs::write(
        a.dir.join("demo.json"),
        serde_json::to_string_pretty(&about)? + "\n",
    )?;
    let c = store.counts()?;
    let sample =
        PathBuf::from("../shared/vn-standards/samples/synthetic/GIAMDINHHS_envelope_unsigned.xml");
    println!("healthbook demo — sổ sức khỏe mẫu (mọi người và hồ sơ đều hư cấu)");
    println!(
        "  store {}: {} người, {} lượt khám, {} hồ sơ đã nhận ({:.1} s)",
        db.display(),
        c.persons,
        c.episodes_current,
        c.submissions,
        t.elapsed().as_secs_f64()
    );
    println!(
        "  {}: tài khoản mẫu cho script / the demo's logins for scripts (jq)",
        a.dir.join("demo.json").display()
    );
    let keys = store::key_source(&db.to_string_lossy());
    let master = keys.load()?.map(|k| store::crypt::MasterKey::id(&k));
    println!(
        "  mã hóa khi lưu / encrypted at rest: khóa chủ / master key {} ({})",
        master.unwrap_or_default(),
        keys.describe()
    );
    println!(
        "    sao lưu tệp khóa riêng, không để cùng bản sao cơ sở dữ liệu; mất khóa là mất dữ liệu / back the key file up apart from the database: losing it loses the data"
    );
    println!();
    println!("Cổng tiếp nhận (tương thích egw BHXH) / receiving gateway:");
    println!("  http://{}/api/qd130/guiHoSoXmlQD3176", a.listen);
    println!("  tài khoản cơ sở 01001 / facility login: {DEMO_USER} / {DEMO_PASSWORD}");
    println!();
    println!("Thử / try (bash, with jq):");
    println!(
        "  TOKEN=$(curl -s -d username={DEMO_USER} -d password={} http://{}/api/token/take)",
        ops::md5_upper(DEMO_PASSWORD),
        a.listen
    );
    println!(
        "  curl -s -H \"accessToken: $(echo $TOKEN | jq -r .APIKey.access_token)\" -H \"tokenId: $(echo $TOKEN | jq -r .APIKey.id_token)\" -H passwordHash:{} \\",
        ops::md5_upper(DEMO_PASSWORD)
    );
    println!(
        "    -d username={DEMO_USER} -d loaiHoSo=130 -d maTinh=01 -d maCSKCB=01001 --data-urlencode fileHSBase64=$(base64 -w0 {}) \\",
        sample.display()
    );
    println!("    http://{}/api/qd130/guiHoSoXmlQD4750", a.listen);
    println!(
        "  healthbook book --db {} --personal-id 001090012345",
        db.display()
    );
    println!("  curl -s http://{}/metrics", a.listen);
    if let Some((pid, person, n)) = &citizen {
        println!();
        println!("Sổ sức khỏe của người dân / the citizen's book ({n} lượt khám):");
        println!("  số định danh / personal ID: {pid}   mã khóa / passcode: {DEMO_PASSCODE}");
        println!(
            "  trên điện thoại / in a browser: http://{}/dang-nhap",
            a.listen
        );
        println!(
            "  T=$(curl -s -H 'content-type: application/json' -d '{{\"personal_id\":\"{pid}\",\"passcode\":\"{DEMO_PASSCODE}\"}}' http://{}/api/v1/citizen/login | jq -r .token)",
            a.listen
        );
        println!(
            "  curl -s -H \"Authorization: Bearer $T\" http://{}/api/v1/persons/{person}/years",
            a.listen
        );
        println!(
            "  curl -s -H \"Authorization: Bearer $T\" http://{}/api/v1/persons/{person}/appointments",
            a.listen
        );
        println!("  API: http://{}/api/v1/openapi.json", a.listen);
        println!("  FHIR R4 (docs/FHIR.md):");
        println!(
            "  curl -s -H \"Authorization: Bearer $T\" \"http://{}/fhir/Patient/{person}/\\$everything\"",
            a.listen
        );
        println!(
            "  curl -s -H \"Authorization: Bearer $T\" \"http://{}/fhir/Patient/{person}/\\$summary\"",
            a.listen
        );
    }
    println!();
    println!(
        "Hệ thống kết nối FHIR / FHIR system client (unit 01, system/*.read; bulk $export in docs/FHIR.md):"
    );
    println!(
        "  export CLIENT_ID={} CLIENT_SECRET={fhir_secret}",
        fhir_client.client_id
    );
    println!();
    println!(
        "Nhân viên y tế / staff: http://{}/nhan-vien — mật khẩu / password {DEMO_STAFF_PASSWORD}",
        a.listen
    );
    for s in &staff {
        println!("  {:<8} {}", s.username, s.role.label());
    }
    println!(
        "  Báo cáo / reports: http://{}/nhan-vien/bao-cao (so01) — {residents} nhân khẩu trong sổ hộ khẩu mẫu / residents",
        a.listen
    );
    println!(
        "  Người dân tạo mã chia sẻ ở \"Chia sẻ với bác sĩ\"; bác sĩ bs01001 nhập mã ở /nhan-vien."
    );
    println!(
        "  The citizen makes a share code under \"Chia sẻ với bác sĩ\"; clinician bs01001 enters it at /nhan-vien."
    );
    println!();
    println!(
        "Trạm y tế phường {station_commune} / commune station (xa01): http://{}/tram — {} hồ sơ sức khỏe QĐ 831, {} đã đủ phần A, B",
        a.listen, records.residents, records.completed
    );
    println!(
        "  tệp biến động dân cư mẫu / a registry delta file: {} (healthbook registry apply --db {} --source population {})",
        records.deltas.display(),
        db.display(),
        records.deltas.display()
    );
    println!(
        "  tiêm chủng / vaccinations: http://{}/tram/tiem-chung — {} trẻ em ({} tiêm đủ theo tuổi, {} quá hạn), {} mũi tiêm",
        a.listen,
        vaccinations.children,
        vaccinations.complete,
        vaccinations.overdue,
        vaccinations.doses
    );
    println!(
        "  bệnh mạn tính / chronic care: http://{0}/tram/man-tinh — {1} người trong sổ, {2} lần theo dõi; trẻ dưới 5 tuổi / growth: http://{0}/tram/tre-em — {3} trẻ, {4} lần cân đo",
        a.listen, chronic.enrolled, chronic.followups, chronic.children, chronic.measurements
    );
    // Reminders of the demo's people (the station's residents, the citizen and ward):
    // made once now; the server scans again every hour.
    let store: Arc<dyn Store> = Arc::new(store);
    let reminders = server::reminders::scan_all(store.clone(), &notify::Settings::default())
        .map_err(|e| anyhow::anyhow!("reminders: {e}"))?;
    println!(
        "  nhắc lịch / reminders: {} thông báo của {} người (sổ: /so/…/thong-bao); việc cần làm của trạm / the station's worklist: http://{}/tram/viec-can-lam",
        reminders.notices, reminders.persons, a.listen
    );
    if a.no_serve {
        return Ok(());
    }
    ops::init_logs();
    // Audit checkpoints beside the store, every 10 minutes (docs/OPERATIONS.md): copy
    // the file off the machine to keep the end of the audit log provable.
    let checkpoints = db.with_extension("checkpoints");
    println!(
        "Điểm kiểm tra nhật ký / audit checkpoints: {} (healthbook audit verify --db {} --checkpoints {})",
        checkpoints.display(),
        db.display(),
        checkpoints.display()
    );
    let cfg = server::Config {
        export_dir: Some(ops::default_export_dir(&db.to_string_lossy())),
        audit_checkpoints: Some((checkpoints, std::time::Duration::from_secs(600))),
        notify: notify::Settings {
            scan_interval_secs: Some(3600),
            ..notify::Settings::default()
        },
        ..server::Config::default()
    };
    ops::run_server(store, cfg, a.listen, None, |addr| {
        println!();
        println!("Đang phục vụ tại http://{addr} — Ctrl-C để dừng / serving, Ctrl-C to stop");
    })
}

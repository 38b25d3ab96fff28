//! `healthbook bench vaccinations`: the vaccination record at scale.
//!
//! - import: a fresh store with a population registry (a commune of 20,000 residents of
//!   every age, and children 0–7 years in ten other communes), then the national
//!   immunisation system's export of 1 M doses (CSV, the doses each child's schedule
//!   gives, some stopping early) imported through the service as
//!   `healthbook vaccinations import` does: parse, person lookup, duplicate check,
//!   insert and one audit record per person; rate and peak memory; the same file
//!   again (nothing added).
//! - due lists: the session list of the 20,000-resident commune (every resident under
//!   36 read with their doses, the forecast of each), at the handler
//!   (`GET /api/v1/station/vaccinations/session`, the router in process), p50/p99.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use book::access::Role;
use book::immunization::{self as imm, When};
use chrono::{Days, Months, NaiveDate};
use store::{Resident, StaffAccount, Store, Unit};
use tower::ServiceExt as _;

use crate::bench::{Stats, mix, open_bench, peak_rss_mb, store_size};

#[derive(clap::Args)]
pub struct VaccinationsArgs {
    /// A fresh store: a SQLite file or postgres://…
    #[arg(long, default_value = "healthbook-bench/vaccinations.db")]
    db: String,
    /// Doses in the national export.
    #[arg(long, default_value_t = 1_000_000)]
    doses: usize,
    /// Residents of the commune whose due lists are timed.
    #[arg(long, default_value_t = 20_000)]
    residents: usize,
    /// Session lists measured.
    #[arg(long, default_value_t = 20)]
    requests: usize,
}

const BIG: &str = "79001";

fn unit(code: &str, name: &str, level: &str, parent: Option<&str>) -> Unit {
    Unit {
        code: code.into(),
        name: name.into(),
        level: level.into(),
        parent: parent.map(str::to_string),
        scheme: "2025".into(),
    }
}

/// The doses of a child's schedule up to `stop`: each item with an age on its day
/// (the first vaccine the item takes), in date order.
fn schedule_doses(
    birth: NaiveDate,
    female: bool,
    stop: NaiveDate,
) -> Vec<(&'static str, NaiveDate)> {
    let set = imm::children_rule_set(birth);
    let mut last: std::collections::HashMap<&str, NaiveDate> = std::collections::HashMap::new();
    let mut out: Vec<(&'static str, NaiveDate)> = Vec::new();
    for i in &set.items {
        if i.when != When::Age || !(i.sex.is_none() || female) {
            continue;
        }
        let Some(age) = i.age else { continue };
        let mut day = age.after(birth);
        if let (Some(prev), Some(gap)) = (last.get(i.series), i.interval) {
            day = day.max(gap.after(*prev));
        }
        if day >= stop {
            break;
        }
        last.insert(i.series, day);
        out.push((i.vaccines[0], day));
    }
    out.sort_by_key(|(_, d)| *d);
    out
}

pub fn vaccinations_bench(a: VaccinationsArgs) -> Result<()> {
    let store = open_bench(&a.db)?;
    let today = store::vn_now().date();
    store.upsert_unit(&unit("79", "Thành phố Hồ Chí Minh", "province", None))?;
    let communes: Vec<String> = (1..=11).map(|k| format!("790{k:02}")).collect();
    for c in &communes {
        store.upsert_unit(&unit(c, &format!("Phường {c}"), "commune", Some("79")))?;
    }
    // The big commune: every age 0–80; the others: children 0–7, as many as the
    // export needs (about 12 doses a child).
    let mut residents: Vec<Resident> = Vec::new();
    let mut k = 0usize;
    let mut person = |unit: &str, birth: NaiveDate, out: &mut Vec<Resident>| {
        out.push(Resident {
            personal_id: format!("079{:09}", 500_000_000 + k),
            name: Some(format!("Người thử {k}")),
            birth: Some(birth.format("%Y%m%d").to_string()),
            sex: Some(if mix(k as u64) % 2 == 0 { "1" } else { "2" }.into()),
            unit: unit.to_string(),
            status: "alive".into(),
        });
        k += 1;
    };
    for i in 0..a.residents {
        let days = mix(0xB16 ^ i as u64) % (80 * 365);
        person(BIG, today - Days::new(days), &mut residents);
    }
    let children = a.doses / 12 + 1;
    for i in 0..children {
        let days = mix(0xC41D ^ i as u64) % (7 * 365);
        person(
            &communes[1 + i % 10],
            today - Days::new(days),
            &mut residents,
        );
    }
    let t = Instant::now();
    for chunk in residents.chunks(100_000) {
        store.import_population(chunk)?;
    }
    println!(
        "registry: {} residents ({} in commune {BIG}) in {:.1} s",
        residents.len(),
        a.residents,
        t.elapsed().as_secs_f64()
    );
    // The export: each child's doses on their days; one child in four stopped after
    // a third of their age (overdue now). Written as the national system writes it.
    let mut lines: Vec<String> = Vec::with_capacity(a.doses);
    let mut n = 0u64;
    'all: for r in residents.iter() {
        let birth = NaiveDate::parse_from_str(r.birth.as_deref().unwrap_or(""), "%Y%m%d")?;
        if birth < today - Months::new(16 * 12) {
            continue;
        }
        let h = mix(r.personal_id.len() as u64 ^ n ^ 0x5EED);
        let stop = if h % 4 == 0 {
            birth + Days::new(((today - birth).num_days() / 3).max(1) as u64)
        } else {
            today
        };
        let female = r.sex.as_deref() == Some("2");
        for (v, day) in schedule_doses(birth, female, stop) {
            let national = imm::vaccine(v).map_or("", |x| x.national_id);
            lines.push(format!(
                "{},{},{},{},{},2,LOT{}",
                r.personal_id,
                birth.format("%d/%m/%Y"),
                9_000_000_000u64 + n,
                national,
                day.format("%d/%m/%Y"),
                n % 997
            ));
            n += 1;
            if lines.len() >= a.doses {
                break 'all;
            }
        }
    }
    let header = "so_dinh_danh,ngay_sinh,lich_su_tiem_id,vacxin_id,ngay_tiem,trang_thai_mui_tiem,lo_vacxin\n";
    let mut total = store::DoseImportReport::default();
    let t = Instant::now();
    // Files of 100,000 lines (as a province sends them), one after the other.
    for chunk in lines.chunks(100_000) {
        let mut file = String::with_capacity(chunk.len() * 64 + header.len());
        file.push_str(header);
        for l in chunk {
            file.push_str(l);
            file.push('\n');
        }
        let r = server::vaccinations::import_as_operator(
            store.clone(),
            "bench",
            "export.csv",
            file.as_bytes(),
        )
        .map_err(anyhow::Error::msg)?;
        total.lines += r.lines;
        total.added += r.added;
        total.unchanged += r.unchanged;
        total.duplicates += r.duplicates;
        total.refused.extend(r.refused);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "import: {} lines → {} doses added, {} duplicates, {} refused, in {secs:.1} s ({:.0} doses/s), peak RSS {:.0} MB, {}",
        total.lines,
        total.added,
        total.duplicates,
        total.refused.len(),
        total.lines as f64 / secs,
        peak_rss_mb(),
        store_size(&a.db)
    );
    // Again: every line already there.
    let first: String = std::iter::once(header.to_string())
        .chain(lines.iter().take(100_000).map(|l| format!("{l}\n")))
        .collect();
    let t = Instant::now();
    let again = server::vaccinations::import_as_operator(
        store.clone(),
        "bench",
        "export.csv",
        first.as_bytes(),
    )
    .map_err(anyhow::Error::msg)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "import again: {} lines → {} added, {} unchanged, in {secs:.1} s ({:.0} lines/s)",
        again.lines,
        again.added,
        again.unchanged,
        again.lines as f64 / secs
    );
    // The due lists of the big commune, at the handler.
    store.upsert_staff(
        &StaffAccount {
            username: "tram79001".into(),
            full_name: "Trạm 79001".into(),
            role: Role::CommuneStaff,
            unit: Some(BIG.into()),
            facility: None,
            practising_cert: None,
            active: true,
        },
        Some("mat-khau-bench"),
    )?;
    let token = store.create_staff_session("tram79001", 3_600_000)?;
    let t = Instant::now();
    let subjects = store.commune_subjects(BIG, today - Months::new(36 * 12))?;
    println!(
        "commune {BIG}: {} residents under 36 read with {} doses in {:.0} ms",
        subjects.len(),
        subjects.iter().map(|s| s.doses.len()).sum::<usize>(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    let app = server::App::new(store.clone() as Arc<dyn Store>, server::Config::default());
    let router = server::router(app);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut lat = Vec::with_capacity(a.requests);
        let mut size = 0;
        let mut counts = (0usize, 0usize);
        for i in 0..a.requests + 2 {
            let req = Request::get("/api/v1/station/vaccinations/session")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())?;
            let t = Instant::now();
            let res = router.clone().oneshot(req).await?;
            let status = res.status();
            let body = axum::body::to_bytes(res.into_body(), 256 << 20).await?;
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            anyhow::ensure!(status == StatusCode::OK, "session list: {status}");
            if i >= 2 {
                lat.push(ms);
            }
            size = body.len();
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            counts = (
                v["due"].as_array().map_or(0, Vec::len),
                v["overdue"].as_array().map_or(0, Vec::len),
            );
        }
        println!("{}", Stats(lat).line("session list (20,000 residents)"));
        println!(
            "  {} due at the session, {} overdue; {:.1} MB of JSON",
            counts.0,
            counts.1,
            size as f64 / 1e6
        );
        anyhow::Ok(())
    })?;
    Ok(())
}

//! `healthbook bench registry` and `bench profile`: the QĐ 831 records at scale.
//!
//! - registry: a population registry of N residents imported into a fresh store (each
//!   gets a person and a record), then a population delta batch and an insurance batch
//!   of M changes each, and the first batch again (idempotent); time, rate and peak
//!   memory of each step, and a station's resident list.
//! - profile: on the `bench book` store (1 M persons, 10 M episodes), a population
//!   registry of its persons (records for all), records filled for a sample, then the
//!   citizen's health profile (JSON and page) at the handler, one request at a time.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Result, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use book::IdKind;
use store::{InsuranceCard, RegistryBatch, RegistryChange, Resident, Store, Writer};
use tower::ServiceExt as _;

use crate::bench::{Stats, mix, open_bench, peak_rss_mb, personal_id, store_size};

#[derive(clap::Args)]
pub struct RegistryArgs {
    /// A fresh store: a SQLite file or postgres://… (must hold no resident yet).
    #[arg(long, default_value = "healthbook-bench/registry.db")]
    db: String,
    #[arg(long, default_value_t = 1_000_000)]
    residents: usize,
    /// Changes per delta batch.
    #[arg(long, default_value_t = 10_000)]
    changes: usize,
}

#[derive(clap::Args)]
pub struct ProfileArgs {
    /// The store of `bench book`.
    #[arg(long, default_value = "healthbook-bench/book.db")]
    db: String,
    /// Requests measured per endpoint.
    #[arg(long, default_value_t = 10_000)]
    requests: usize,
}

const NAMES: [&str; 8] = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi"];
const GIVEN: [&str; 8] = ["An", "Bình", "Chi", "Dũng", "Hà", "Lan", "Minh", "Tâm"];

fn resident(i: usize, communes: &[String]) -> Resident {
    let m = mix(i as u64);
    Resident {
        personal_id: personal_id(i),
        name: Some(format!(
            "{} Văn {}",
            NAMES[(m % 8) as usize],
            GIVEN[((m >> 8) % 8) as usize]
        )),
        birth: Some(format!(
            "{}{:02}{:02}0000",
            1930 + (m >> 16) % 95,
            1 + (m >> 24) % 12,
            1 + (m >> 32) % 28
        )),
        sex: Some(if m % 2 == 0 { "1" } else { "2" }.into()),
        unit: communes[((m >> 40) as usize) % communes.len()].clone(),
        status: "alive".into(),
    }
}

fn communes(store: &dyn Store) -> Result<Vec<String>> {
    if store.units()?.is_empty() {
        crate::demo::seed_registry(store)?;
    }
    let mut c: Vec<String> = store
        .units()?
        .into_iter()
        .filter(|u| u.level == "commune")
        .map(|u| u.code)
        .collect();
    c.sort();
    c.dedup();
    if c.is_empty() {
        bail!("no commune in the store's units");
    }
    Ok(c)
}

/// Import residents from..n in chunks of 100,000 (each chunk one transaction).
fn import_from(store: &dyn Store, from: usize, n: usize, communes: &[String]) -> Result<f64> {
    let t = Instant::now();
    for start in (from..n).step_by(100_000) {
        let chunk: Vec<Resident> = (start..(start + 100_000).min(n))
            .map(|i| resident(i, communes))
            .collect();
        store.import_population(&chunk)?;
    }
    Ok(t.elapsed().as_secs_f64())
}

pub fn registry_bench(a: RegistryArgs) -> Result<()> {
    let store = open_bench(&a.db)?;
    let communes = communes(store.as_ref())?;
    if store.adoption()?.iter().map(|r| r.population).sum::<i64>() > 0 {
        bail!("{}: holds residents already; give a fresh store", a.db);
    }
    let n = a.residents;
    let secs = import_from(store.as_ref(), 0, n, &communes)?;
    let c = store.counts()?;
    println!(
        "import: {n} residents → {} persons with a record in {secs:.1} s ({:.0} residents/s), peak RSS {:.0} MB, {}",
        c.persons,
        n as f64 / secs,
        peak_rss_mb(),
        store_size(&a.db)
    );
    // A population batch: births, deaths, moves and personal ID changes in equal parts.
    let m = a.changes.min(n / 2);
    let quarter = m / 4;
    let mut changes = Vec::with_capacity(m);
    for k in 0..m {
        let i = (mix(0xDE17A ^ k as u64) as usize) % n;
        let c = match k % 4 {
            0 => RegistryChange::Birth {
                personal_id: format!("001326{:06}", k),
                name: format!("Trẻ sơ sinh {k}"),
                birth_date: "2026-11-20".into(),
                sex: "2".into(),
                commune: communes[k % communes.len()].clone(),
            },
            1 => RegistryChange::Death {
                personal_id: personal_id(i),
                date: "2026-11-01".into(),
            },
            2 => RegistryChange::Move {
                personal_id: personal_id(i),
                commune: communes[(k * 7) % communes.len()].clone(),
                address: Some(format!("Số {k}")),
            },
            _ => RegistryChange::IdChange {
                personal_id: personal_id(i),
                new_personal_id: format!("079{:09}", 900_000_000 + k),
            },
        };
        changes.push((k as u64 + 1, c));
    }
    // A person drawn twice (death, then a move) would refuse the batch: keep the
    // first change of each person.
    let mut seen = std::collections::HashSet::new();
    changes.retain(|(_, c)| seen.insert(c.personal_id().to_string()));
    let touched: std::collections::HashSet<String> = changes
        .iter()
        .map(|(_, c)| c.personal_id().to_string())
        .collect();
    let batch = RegistryBatch {
        id: "bench-population".into(),
        source: "population".into(),
        digest: format!("bench-{}", changes.len()),
        by: "bench".into(),
        changes,
        scope: None,
    };
    let t = Instant::now();
    let out = store.apply_registry(&batch)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "population batch: {} changes ({} births, ~{quarter} each of deaths, moves, ID changes), {} applied, {} mismatches, in {secs:.2} s ({:.0} changes/s), peak RSS {:.0} MB",
        out.changes,
        out.by_event.get("birth").copied().unwrap_or(0),
        out.applied,
        out.mismatches,
        out.changes as f64 / secs,
        peak_rss_mb()
    );
    let t = Instant::now();
    let again = store.apply_registry(&batch)?;
    println!(
        "  the same batch again: repeated={}, {:.3} s",
        again.repeated,
        t.elapsed().as_secs_f64()
    );
    // An insurance batch: a card for M residents (living ones: beyond the deltas).
    let mut cards = Vec::with_capacity(m);
    for k in 0..m {
        let i = n / 2 + k % (n / 2);
        if touched.contains(&personal_id(i)) {
            continue;
        }
        cards.push((
            k as u64 + 1,
            RegistryChange::Card {
                personal_id: personal_id(i),
                card: InsuranceCard {
                    card: format!("GD4{:012}", 790_000_000_000u64 + i as u64),
                    bhxh_number: Some(format!("79{:08}", i % 100_000_000)),
                    valid_from: "2026-01-01".into(),
                    valid_to: "2026-12-31".into(),
                    first_contact: Some("79001".into()),
                    ..InsuranceCard::default()
                },
            },
        ));
    }
    let mut seen = std::collections::HashSet::new();
    cards.retain(|(_, c)| seen.insert(c.personal_id().to_string()));
    let batch = RegistryBatch {
        id: "bench-insurance".into(),
        source: "insurance".into(),
        digest: format!("bench-{}", cards.len()),
        by: "bench".into(),
        changes: cards,
        scope: None,
    };
    let t = Instant::now();
    let out = store.apply_registry(&batch)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "insurance batch: {} cards, {} applied, in {secs:.2} s ({:.0} changes/s), peak RSS {:.0} MB",
        out.changes,
        out.applied,
        out.changes as f64 / secs,
        peak_rss_mb()
    );
    // A station's list: the largest commune's records.
    let biggest = store
        .adoption()?
        .into_iter()
        .max_by_key(|r| r.population)
        .map(|r| r.unit)
        .unwrap_or_default();
    let mut lat = Vec::new();
    let mut size = 0;
    for _ in 0..20 {
        let t = Instant::now();
        size = store.residents(&biggest)?.len();
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "  {}",
        Stats(lat).line(&format!("station list, commune {biggest} ({size} records)"))
    );
    Ok(())
}

pub fn profile_bench(a: ProfileArgs) -> Result<()> {
    let store = open_bench(&a.db)?;
    let counts = store.counts()?;
    println!(
        "store {}: {} persons, {} episodes, {}",
        store.location(),
        counts.persons,
        counts.episodes_current,
        store_size(&a.db)
    );
    if counts.episodes_current == 0 {
        bail!("seed the store with `bench book` first");
    }
    let communes = communes(store.as_ref())?;
    let n = counts.persons as usize;
    // Chunks of 100,000 commit one by one: an interrupted import goes on from the last.
    let have = store.adoption()?.iter().map(|r| r.population).sum::<i64>() as usize;
    if have < n {
        let from = have / 100_000 * 100_000;
        let secs = import_from(store.as_ref(), from, n, &communes)?;
        println!(
            "population: residents {from}..{n}, a person and a record each, in {secs:.1} s ({:.0}/s)",
            (n - from) as f64 / secs
        );
    }
    // A sample of persons, each with a session and a record filled as a station would:
    // parts A and B, two examinations.
    let today = store::vn_now().date();
    let sample = 1_000.min(n);
    let mut people = Vec::with_capacity(sample);
    for s in 0..sample {
        let i = (mix(0x9A0F ^ s as u64) as usize) % n;
        let Some(p) = store.person_by_identifier(IdKind::PersonalId, &personal_id(i))? else {
            bail!("bench person {i} is missing");
        };
        let items: BTreeMap<String, String> = [
            ("a.blood_abo", "O"),
            ("a.blood_rh", "+"),
            ("a.ethnicity", "Kinh"),
            ("a.nationality", "Việt Nam"),
            ("b.allergy.drug", "Penicilin"),
            ("b.disease.hypertension", "1"),
            ("b.family.none", "1"),
            ("b.risk.smoking", "0"),
            ("b.risk.alcohol", "0"),
            ("b.risk.activity", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        store.transaction(true, &mut |tx| {
            let Some(mut r) = tx.health_record(p.id)? else {
                return Ok(());
            };
            if r.version > 1 {
                return Ok(());
            }
            let mut changes = r
                .record
                .apply(&items, book::ehr::Today(today))
                .map_err(|e| store::StoreError::Invalid(format!("{e:?}")))?;
            for (d, w) in [("2025-06-01", "61"), ("2026-06-01", "60")] {
                let exam: BTreeMap<String, String> = [
                    ("weight", w),
                    ("height", "160"),
                    ("bp_sys", "135"),
                    ("bp_dia", "85"),
                    ("diagnosis", "Tăng huyết áp"),
                    ("doctor", "BS Bench"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
                r.record
                    .add_exam(d, &exam, "bench", None, book::ehr::Today(today))
                    .map_err(|e| store::StoreError::Invalid(format!("{e:?}")))?;
                changes.push(book::ehr::Change {
                    key: "exam".into(),
                    before: String::new(),
                    after: d.into(),
                });
            }
            let w = Writer {
                source: "import",
                by_user: "bench",
                by_unit: None,
            };
            tx.save_health_record(&r, w, &changes)?;
            Ok(())
        })?;
        let token = store.create_session(p.id, 3_600_000)?;
        people.push((p.id, token));
    }
    let app = server::App::new(store.clone(), server::Config::default());
    let router = server::router(app);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let call = |uri: String, token: String, cookie: bool| {
            let mut req = Request::get(uri);
            req = if cookie {
                req.header(
                    "cookie",
                    format!("{}={token}", server::citizen::COOKIE_NAME),
                )
            } else {
                req.header("authorization", format!("Bearer {token}"))
            };
            let router = router.clone();
            async move {
                let res = router.oneshot(req.body(Body::empty())?).await?;
                let status = res.status();
                let body = axum::body::to_bytes(res.into_body(), 16 << 20).await?;
                anyhow::Ok((status, body.len()))
            }
        };
        for (label, path, cookie) in [
            (
                "profile JSON (GET /api/v1/persons/{pid}/record)",
                "/api/v1/persons/{pid}/record",
                false,
            ),
            (
                "profile page (GET /so/{pid}/ho-so-suc-khoe)",
                "/so/{pid}/ho-so-suc-khoe",
                true,
            ),
        ] {
            for (pid, token) in people.iter().take(100) {
                call(
                    path.replace("{pid}", &pid.to_string()),
                    token.clone(),
                    cookie,
                )
                .await?;
            }
            let mut lat = Vec::with_capacity(a.requests);
            let mut bytes = 0;
            for r in 0..a.requests {
                let (pid, token) = &people[r % people.len()];
                let t = Instant::now();
                let (s, len) = call(
                    path.replace("{pid}", &pid.to_string()),
                    token.clone(),
                    cookie,
                )
                .await?;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                if s != StatusCode::OK {
                    bail!("{label}: {s}");
                }
                bytes += len;
            }
            println!(
                "  {}  ({} bytes on average)",
                Stats(lat).line(label),
                bytes / a.requests.max(1)
            );
        }
        anyhow::Ok(())
    })
}

//! `healthbook bench book`: the citizen book at national scale. Seeds a store with
//! generated persons and episodes (bulk-loaded, since the gateway path would take
//! hours), then measures the episode list and detail: latency at the handler (the
//! router called in process, one request at a time) and requests/s over real HTTP
//! on loopback.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use book::{EpisodeView, IdKind};
use dossier::{Options, Spec};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use store::{BulkEpisode, BulkPerson, Meta, Payload, Prepared, Source, Store, now_ms};
use synth::{Config, Generator};
use tower::ServiceExt as _;

#[derive(clap::Subcommand)]
pub enum BenchCmd {
    /// Episode list and detail latency with many persons and episodes.
    Book(BookArgs),
    /// Report queries on a store seeded by `bench book`: registers the catalog's units
    /// and facilities and a population registry of its persons, rebuilds the
    /// aggregates, then times the dashboard for the country, a province, a district
    /// and a commune.
    Reports(ReportsArgs),
    /// FHIR: `Patient/$everything` and `$summary` of a person with many episodes, at the
    /// handler; then the bulk export of the largest province (resources/s, peak memory).
    Fhir(FhirArgs),
    /// QĐ 831 records: a population registry imported into a fresh store (a person and a
    /// record each), a population and an insurance delta batch, and a station's list.
    Registry(crate::bench_records::RegistryArgs),
    /// The citizen's health profile (JSON and page) at the handler, on the `bench book`
    /// store with a registry of its persons.
    Profile(crate::bench_records::ProfileArgs),
    /// Input amplification against a running gateway (this version or another): an
    /// envelope of 19,999 sparse XML2 rows (some 26 findings each), sent once and then
    /// three at once; reply time and size, and the server's resident memory before and
    /// after (from /proc, given its pid).
    Amplification(AmplificationArgs),
    /// The reminder queue's throughput: notices queued for many persons, then drained
    /// by one worker through the webhook to a receiver on loopback.
    Notify(crate::bench_notify::NotifyArgs),
    /// Vaccinations: the national immunisation system's export of 1 M doses imported
    /// into a fresh store, and the session list of a commune of 20,000 residents.
    Vaccinations(crate::bench_vaccines::VaccinationsArgs),
    /// Another FHIR server (HFS, say) fed with the visits of a `healthbook fhir export`,
    /// one transaction Bundle per visit from concurrent clients, then its `$export`.
    FhirServer(crate::bench_hfs::Args),
}

#[derive(clap::Args)]
pub struct AmplificationArgs {
    /// Base URL of the gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long, default_value = "bv01001")]
    username: String,
    #[arg(long, default_value = "demo123")]
    password: String,
    #[arg(long, default_value = "01001")]
    facility: String,
    /// The server's process id, to read its memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also write the envelope to this file.
    #[arg(long)]
    write: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct FhirArgs {
    /// Store: a SQLite file or postgres://… (seeded when it holds no episode yet).
    #[arg(long, default_value = "healthbook-bench/fhir.db")]
    db: String,
    #[arg(long, default_value_t = 50_000)]
    persons: usize,
    #[arg(long, default_value_t = 500_000)]
    episodes: usize,
    /// Episodes of the person whose `$everything` is timed.
    #[arg(long, default_value_t = 200)]
    heavy: usize,
    /// Timed runs of each operation.
    #[arg(long, default_value_t = 50)]
    runs: usize,
}

#[derive(clap::Args)]
pub struct ReportsArgs {
    /// Store: a SQLite file or postgres://…, seeded by `bench book`.
    #[arg(long, default_value = "healthbook-bench/book.db")]
    db: String,
    /// Timed runs per scope.
    #[arg(long, default_value_t = 10)]
    runs: usize,
}

#[derive(clap::Args)]
pub struct BookArgs {
    /// Store: a SQLite file or postgres://… (seeded when it holds no episode yet).
    #[arg(long, default_value = "healthbook-bench/book.db")]
    db: String,
    #[arg(long, default_value_t = 1_000_000)]
    persons: usize,
    #[arg(long, default_value_t = 10_000_000)]
    episodes: usize,
    /// Distinct generated dossiers the episodes are drawn from.
    #[arg(long, default_value_t = 4_096)]
    pool: usize,
    /// Requests measured per endpoint at the handler.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent HTTP clients for the throughput run.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of the HTTP throughput run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

pub fn run(c: BenchCmd) -> Result<()> {
    match c {
        BenchCmd::Book(a) => book_bench(a),
        BenchCmd::Reports(a) => reports_bench(a),
        BenchCmd::Fhir(a) => fhir_bench(a),
        BenchCmd::Amplification(a) => amplification_bench(a),
        BenchCmd::Registry(a) => crate::bench_records::registry_bench(a),
        BenchCmd::Profile(a) => crate::bench_records::profile_bench(a),
        BenchCmd::Notify(a) => crate::bench_notify::notify_bench(a),
        BenchCmd::Vaccinations(a) => crate::bench_vaccines::vaccinations_bench(a),
        BenchCmd::FhirServer(a) => crate::bench_hfs::run(a),
    }
}

/// The personal ID of the i-th bench person (synthetic; 12 digits).
pub(crate) fn personal_id(i: usize) -> String {
    format!("079{i:09}")
}

/// A small deterministic mixer (splitmix64), so that runs are repeatable.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

struct PoolEpisode {
    view: EpisodeView,
    facility: String,
    start_at: Option<String>,
    end_at: Option<String>,
    care_type: Option<String>,
    main_icd10: Option<String>,
    appointment_at: Option<String>,
    referral_to: Option<String>,
    insured: bool,
    dq_flags: i64,
}

impl PoolEpisode {
    /// This episode again, as `ma_lk` of the person `name`, ready for a bulk load.
    fn copy_for(&self, ma_lk: String, name: &str) -> BulkEpisode {
        let mut view = self.view.clone();
        view.ma_lk = ma_lk;
        view.patient_name = Some(name.to_string());
        BulkEpisode {
            facility: self.facility.clone(),
            ma_lk: view.ma_lk.clone(),
            start_at: self.start_at.clone(),
            end_at: self.end_at.clone(),
            care_type: self.care_type.clone(),
            main_icd10: self.main_icd10.clone(),
            appointment_at: self.appointment_at.clone(),
            referral_to: self.referral_to.clone(),
            insured: self.insured,
            dq_flags: self.dq_flags,
            body: serde_json::to_string(&view).unwrap_or_default(),
        }
    }
}

fn pool(n: usize) -> Result<Vec<PoolEpisode>> {
    let today = server::vn_now().date();
    let g = Generator::new(Config {
        persons: n,
        episodes: n,
        seed: 7,
        from: today - chrono::Duration::days(7 * 365),
        to: today.pred_opt().unwrap_or(today),
        ..Config::default()
    });
    let out: Vec<PoolEpisode> = (0..n)
        .into_par_iter()
        .filter_map(|i| {
            let episode = g.episode(i);
            let raw = episode.envelope_bytes(Spec::Qd3176);
            let parsed = dossier::parse_envelope(&raw, &Options::default());
            // Sent by its own facility (the sender rules refuse any other).
            let meta = Meta {
                facility: episode.facility.code.into(),
                account: "bench".into(),
                source: Source::Import,
                spec: Spec::Qd3176,
                received_at: now_ms(),
            };
            let Payload::Dossier(ready) = Prepared::envelope(meta, &raw, &parsed).payload else {
                return None;
            };
            let e = ready.into_iter().next()?;
            Some(PoolEpisode {
                view: serde_json::from_str(&e.body).ok()?,
                facility: e.facility,
                start_at: e.start_at,
                end_at: e.end_at,
                care_type: e.care_type,
                main_icd10: e.main_icd10,
                appointment_at: e.appointment_at,
                referral_to: e.referral_to,
                insured: e.insured,
                dq_flags: e.dq_flags,
            })
        })
        .collect();
    if out.len() < n / 2 {
        bail!("only {} of {n} generated dossiers were valid", out.len());
    }
    Ok(out)
}

/// Open a bench store (a SQLite file, its folder made, or a PostgreSQL database).
pub(crate) fn open_bench(db: &str) -> Result<Arc<dyn Store>> {
    if !store::is_postgres(db)
        && let Some(dir) = std::path::Path::new(db).parent()
    {
        std::fs::create_dir_all(dir)?;
    }
    Ok(store::open(db)?)
}

/// Where a bench writes its files: beside a SQLite store, else `healthbook-bench/`.
fn bench_dir(db: &str) -> PathBuf {
    if store::is_postgres(db) {
        PathBuf::from("healthbook-bench")
    } else {
        std::path::Path::new(db)
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .to_path_buf()
    }
}

/// The size of a store: its file, or its PostgreSQL database.
pub(crate) fn store_size(db: &str) -> String {
    if store::is_postgres(db) {
        "a PostgreSQL database".into()
    } else {
        let size = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
        format!("{:.1} GB", size as f64 / 1e9)
    }
}

fn seed(store: &dyn Store, a: &BookArgs) -> Result<()> {
    let t = Instant::now();
    let pool = pool(a.pool)?;
    eprintln!(
        "pool: {} distinct dossiers in {:.1} s",
        pool.len(),
        t.elapsed().as_secs_f64()
    );
    let people = Generator::new(Config {
        persons: a.persons,
        episodes: a.persons,
        seed: 11,
        ..Config::default()
    });
    // Episodes per person vary (0 to 2× the mean), summing to about `episodes`.
    let mean = a.episodes as f64 / a.persons.max(1) as f64;
    let count = |i: usize| -> usize {
        let r = (mix(i as u64) % 10_000) as f64 / 10_000.0;
        (r * 2.0 * mean).round() as usize
    };
    let bar = ProgressBar::new(a.persons as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} persons ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut np, mut ne) = (0u64, 0u64);
    const CHUNK: usize = 20_000;
    for start in (0..a.persons).step_by(CHUNK) {
        let end = (start + CHUNK).min(a.persons);
        let chunk: Vec<BulkPerson> = (start..end)
            .into_par_iter()
            .map(|i| {
                let p = people.person(i);
                let pid = personal_id(i);
                let mut ids = vec![(IdKind::PersonalId, pid.clone())];
                ids.extend(
                    p.cards
                        .first()
                        .map(|c| (IdKind::BhytCard, c.number.clone())),
                );
                let episodes = (0..count(i))
                    .map(|k| {
                        let src = &pool[(mix((i as u64) << 8 | k as u64) as usize) % pool.len()];
                        src.copy_for(format!("BENCH{i:08}{k:03}"), &p.name)
                    })
                    .collect();
                BulkPerson {
                    name: Some(p.name.clone()),
                    birth: Some(p.birth.to_string()),
                    sex: Some(p.sex.to_string()),
                    personal_id: Some(pid),
                    identifiers: ids,
                    episodes,
                }
            })
            .collect();
        let (p, e) = store.bulk_load(chunk)?;
        np += p;
        ne += e;
        bar.set_position(np);
    }
    bar.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "seeded {np} persons, {ne} episodes in {secs:.0} s ({:.0} episodes/s)",
        ne as f64 / secs
    );
    Ok(())
}

pub(crate) struct Stats(pub(crate) Vec<f64>);

impl Stats {
    pub(crate) fn line(mut self, what: &str) -> String {
        self.0.sort_by(|a, b| a.total_cmp(b));
        let n = self.0.len();
        let pct = |p: f64| self.0[((n as f64 * p) as usize).min(n - 1)];
        format!(
            "{what:<28} n={n:>6}  p50 {:>6.3} ms  p99 {:>6.3} ms  max {:>6.3} ms",
            pct(0.50),
            pct(0.99),
            self.0[n - 1]
        )
    }
}

fn book_bench(a: BookArgs) -> Result<()> {
    let store = open_bench(&a.db)?;
    if store.counts()?.episodes_current == 0 {
        seed(store.as_ref(), &a)?;
    }
    let counts = store.counts()?;
    println!(
        "store {}: {} persons, {} episodes, {}",
        store.location(),
        counts.persons,
        counts.episodes_current,
        store_size(&a.db)
    );
    // Sessions for a random sample of persons (the bench persons are 0..persons).
    let sample = 2_000.min(a.persons);
    let mut people = Vec::with_capacity(sample);
    for s in 0..sample {
        let i = (mix(0xB00C ^ s as u64) as usize) % a.persons;
        let Some(p) = store.person_by_identifier(IdKind::PersonalId, &personal_id(i))? else {
            bail!("bench person {i} is missing: was the store seeded by `bench book`?");
        };
        let token = store.create_session(p.id, 3_600_000)?;
        people.push((p.id, token));
    }
    let app = server::App::new(store.clone(), server::Config::default());
    let router = server::router(app.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let call = |uri: String, token: &str| {
            let req = Request::get(uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty());
            let router = router.clone();
            async move {
                let res = router.oneshot(req?).await?;
                let status = res.status();
                let body = axum::body::to_bytes(res.into_body(), 64 << 20).await?;
                anyhow::Ok((status, body))
            }
        };
        // Warm the page cache a little, as a running server would be.
        for (pid, token) in people.iter().take(200) {
            call(format!("/api/v1/persons/{pid}/years"), token).await?;
        }
        let (mut years, mut list, mut detail) = (Vec::new(), Vec::new(), Vec::new());
        let mut bytes = 0usize;
        for r in 0..a.requests {
            let (pid, token) = &people[r % people.len()];
            let t = Instant::now();
            let (s, body) = call(format!("/api/v1/persons/{pid}/years"), token).await?;
            years.push(t.elapsed().as_secs_f64() * 1e3);
            if s != StatusCode::OK {
                bail!("years: {s}");
            }
            let ys: serde_json::Value = serde_json::from_slice(&body)?;
            let Some(year) = ys
                .as_array()
                .and_then(|a| a.first())
                .and_then(|y| y["year"].as_i64())
            else {
                continue;
            };
            let t = Instant::now();
            let (s, body) =
                call(format!("/api/v1/persons/{pid}/episodes?year={year}"), token).await?;
            list.push(t.elapsed().as_secs_f64() * 1e3);
            if s != StatusCode::OK {
                bail!("list: {s}");
            }
            let items: serde_json::Value = serde_json::from_slice(&body)?;
            let Some(id) = items
                .as_array()
                .and_then(|a| a.get(r % a.len().max(1)))
                .and_then(|e| e["id"].as_i64())
            else {
                continue;
            };
            let t = Instant::now();
            let (s, body) = call(format!("/api/v1/persons/{pid}/episodes/{id}"), token).await?;
            detail.push(t.elapsed().as_secs_f64() * 1e3);
            if s != StatusCode::OK {
                bail!("detail: {s}");
            }
            bytes += body.len();
        }
        println!("at the handler, one request at a time:");
        println!("  {}", Stats(years).line("years (GET …/years)"));
        println!("  {}", Stats(list).line("list (GET …/episodes?year)"));
        let n = detail.len().max(1);
        println!("  {}", Stats(detail).line("detail (GET …/episodes/{id})"));
        println!("  detail body: {} bytes on average", bytes / n);

        // Throughput over real HTTP on loopback: list and detail alternately.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(server::serve(listener, app.clone(), async {
            let _ = stop_rx.await;
        }));
        let http = reqwest::Client::new();
        let people = Arc::new(people);
        let deadline = Instant::now() + Duration::from_secs(a.seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..a.clients {
            let (http, people) = (http.clone(), people.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut k = c;
                while Instant::now() < deadline {
                    let (pid, token) = &people[k % people.len()];
                    k += a.clients;
                    let t = Instant::now();
                    let items: serde_json::Value = http
                        .get(format!("http://{addr}/api/v1/persons/{pid}/episodes"))
                        .bearer_auth(token)
                        .send()
                        .await?
                        .error_for_status()?
                        .json()
                        .await?;
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                    let Some(id) = items
                        .as_array()
                        .and_then(|a| a.first())
                        .and_then(|e| e["id"].as_i64())
                    else {
                        continue;
                    };
                    let t = Instant::now();
                    http.get(format!("http://{addr}/api/v1/persons/{pid}/episodes/{id}"))
                        .bearer_auth(token)
                        .send()
                        .await?
                        .error_for_status()?
                        .bytes()
                        .await?;
                    lat.push(t.elapsed().as_secs_f64() * 1e3);
                }
                anyhow::Ok(lat)
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.context("client")??);
        }
        let secs = started.elapsed().as_secs_f64();
        let _ = stop_tx.send(());
        let _ = server.await;
        println!(
            "over HTTP, {} clients, {secs:.0} s: {:.0} requests/s",
            a.clients,
            lat.len() as f64 / secs
        );
        println!("  {}", Stats(lat).line("list + detail (client side)"));
        anyhow::Ok(())
    })
}

fn reports_bench(a: ReportsArgs) -> Result<()> {
    use book::access::Role;
    use store::{Resident, StaffAccount};
    use synth::catalog::PROVINCES;
    let store = open_bench(&a.db)?;
    let counts = store.counts()?;
    println!(
        "store {}: {} persons, {} episodes",
        store.location(),
        counts.persons,
        counts.episodes_current
    );
    if store.units()?.is_empty() {
        crate::demo::seed_registry(store.as_ref())?;
    }
    let population: i64 = store.adoption()?.iter().map(|r| r.population).sum();
    if population == 0 {
        let communes: Vec<&str> = PROVINCES
            .iter()
            .flat_map(|p| {
                p.districts
                    .iter()
                    .flat_map(|d| d.communes.iter().map(|c| c.0))
            })
            .collect();
        let t = Instant::now();
        let n = counts.persons as usize;
        for start in (0..n).step_by(100_000) {
            let chunk: Vec<Resident> = (start..(start + 100_000).min(n))
                .map(|i| Resident {
                    personal_id: personal_id(i),
                    unit: communes[(mix(i as u64) as usize) % communes.len()].into(),
                    status: "alive".into(),
                    ..Resident::default()
                })
                .collect();
            store.import_population(&chunk)?;
        }
        println!(
            "population: {n} residents imported and linked in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    let t = Instant::now();
    store.rebuild_reports()?;
    println!(
        "aggregates rebuilt from the rows in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let district = PROVINCES[0].districts[0].code;
    let commune = PROVINCES[0].districts[0].communes[0].0;
    let mut tokens = Vec::new();
    for (user, role, unit) in [
        ("bench-sa", Role::SystemAdmin, None),
        ("bench-so01", Role::ProvincialOfficer, Some("01")),
    ] {
        store.upsert_staff(
            &StaffAccount {
                username: user.into(),
                full_name: user.into(),
                role,
                unit: unit.map(Into::into),
                facility: None,
                practising_cert: None,
                active: true,
            },
            Some("bench-password"),
        )?;
        tokens.push(store.create_staff_session(user, 3_600_000)?);
    }
    let router = server::router(server::App::new(store, server::Config::default()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        for (label, token, query) in [
            (
                "country (all time)",
                &tokens[0],
                "from=2000-01-01".to_string(),
            ),
            (
                "province 01 (all time)",
                &tokens[1],
                "from=2000-01-01".to_string(),
            ),
            ("province 01 (30 days)", &tokens[1], String::new()),
            (
                "district (all time)",
                &tokens[1],
                format!("unit={district}&from=2000-01-01"),
            ),
            (
                "commune (all time)",
                &tokens[1],
                format!("unit={commune}&from=2000-01-01"),
            ),
        ] {
            let mut lat = Vec::new();
            let mut size = 0;
            for _ in 0..a.runs.max(1) {
                let req = Request::get(format!("/api/v1/reports/dashboard?{query}"))
                    .header("authorization", format!("Bearer {token}"))
                    .body(Body::empty())?;
                let t = Instant::now();
                let res = router.clone().oneshot(req).await?;
                let status = res.status();
                let body = axum::body::to_bytes(res.into_body(), 256 << 20).await?;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                if status != StatusCode::OK {
                    bail!("{label}: {status}: {}", String::from_utf8_lossy(&body));
                }
                size = body.len();
            }
            println!(
                "  {}  ({size} bytes)",
                Stats(lat).line(&format!("dashboard, {label}"))
            );
        }
        anyhow::Ok(())
    })
}

/// The personal ID of the FHIR bench's heavy person.
const HEAVY_ID: &str = "079999999999";

/// Peak resident memory of this process (VmHWM), in MB.
pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// Resident memory of this process now (VmRSS), in MB.
fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

/// A sink that samples resident memory every 10,000 lines, around another.
struct Sampled<'a> {
    inner: &'a mut dyn server::fhir::export::Sink,
    lines: u64,
    max_rss: f64,
}

impl server::fhir::export::Sink for Sampled<'_> {
    fn line(&mut self, ty: &str, json: &[u8]) -> std::io::Result<()> {
        self.lines += 1;
        if self.lines % 10_000 == 0 {
            self.max_rss = self.max_rss.max(rss_mb());
        }
        self.inner.line(ty, json)
    }

    fn finish(&mut self) -> std::io::Result<()> {
        self.inner.finish()
    }
}

fn fhir_bench(a: FhirArgs) -> Result<()> {
    use server::fhir::export::{DirSink, EXPORT_TYPES, Exporter, export_unit};
    let store = open_bench(&a.db)?;
    if store.counts()?.episodes_current == 0 {
        crate::demo::seed_registry(store.as_ref())?;
        seed(
            store.as_ref(),
            &BookArgs {
                db: a.db.clone(),
                persons: a.persons,
                episodes: a.episodes,
                pool: 4_096,
                requests: 0,
                clients: 0,
                seconds: 0,
            },
        )?;
        // One person with exactly `heavy` episodes.
        let pool = pool(a.heavy.max(64))?;
        let episodes = (0..a.heavy)
            .map(|k| pool[k % pool.len()].copy_for(format!("HEAVY{k:06}"), "Bệnh Nhân Nhiều Lượt"))
            .collect();
        store.bulk_load(vec![BulkPerson {
            name: Some("Bệnh Nhân Nhiều Lượt".into()),
            birth: Some("195001010000".into()),
            sex: Some("2".into()),
            personal_id: Some(HEAVY_ID.into()),
            identifiers: vec![(IdKind::PersonalId, HEAVY_ID.into())],
            episodes,
        }])?;
    }
    let counts = store.counts()?;
    println!(
        "store {}: {} persons, {} episodes",
        store.location(),
        counts.persons,
        counts.episodes_current
    );
    let Some(heavy) = store.person_by_identifier(IdKind::PersonalId, HEAVY_ID)? else {
        bail!("the heavy person is missing: was the store seeded by `bench fhir`?");
    };
    let n_eps = store.episodes_of(heavy.id)?.len();
    let token = store.create_session(heavy.id, 3_600_000)?;
    let app = server::App::new(store.clone(), server::Config::default());
    let router = server::router(app);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let call = |uri: String| {
            let req = Request::get(uri)
                .header("authorization", format!("Bearer {token}"))
                .header("host", "bench")
                .body(Body::empty());
            let router = router.clone();
            async move {
                let res = router.oneshot(req?).await?;
                let status = res.status();
                let body = axum::body::to_bytes(res.into_body(), 256 << 20).await?;
                anyhow::Ok((status, body))
            }
        };
        let pid = heavy.id;
        for (what, uri) in [
            ("$everything", format!("/fhir/Patient/{pid}/$everything")),
            ("$summary", format!("/fhir/Patient/{pid}/$summary")),
        ] {
            let (s, body) = call(uri.clone()).await?;
            if s != StatusCode::OK {
                bail!("{what}: {s}");
            }
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            let resources = v["entry"].as_array().map(Vec::len).unwrap_or(0);
            let mut lat = Vec::with_capacity(a.runs);
            for _ in 0..a.runs {
                let t = Instant::now();
                let (s, _) = call(uri.clone()).await?;
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                if s != StatusCode::OK {
                    bail!("{what}: {s}");
                }
            }
            println!(
                "  {}   ({n_eps} episodes → {resources} resources, {:.1} MB)",
                Stats(lat).line(what),
                body.len() as f64 / 1e6
            );
        }
        anyhow::Ok(())
    })?;

    // The export of the province whose facilities sent the most episodes.
    let mut by_province: std::collections::BTreeMap<String, usize> = Default::default();
    for f in store.facilities()? {
        by_province.entry(f.province.clone()).or_default();
    }
    let largest = {
        let mut best = (String::new(), 0u64);
        for p in by_province.keys() {
            let facilities: Vec<String> = store
                .facilities()?
                .into_iter()
                .filter(|f| &f.province == p)
                .map(|f| f.code)
                .collect();
            let mut n = 0u64;
            store.scan_episodes(&facilities, 0, &mut |_| {
                n += 1;
                Ok(true)
            })?;
            if n > best.1 {
                best = (p.clone(), n);
            }
        }
        best
    };
    let out = bench_dir(&a.db).join(format!("fhir-export-{}", largest.0));
    let _ = std::fs::remove_dir_all(&out);
    let mut files = DirSink::new(&out)?;
    let before = rss_mb();
    let mut sink = Sampled {
        inner: &mut files,
        lines: 0,
        max_rss: before,
    };
    let t = Instant::now();
    let stats = export_unit(
        store.as_ref(),
        &largest.0,
        EXPORT_TYPES,
        0,
        &Exporter {
            id: "bench".into(),
            name: "bench".into(),
        },
        &mut sink,
    )?;
    let secs = t.elapsed().as_secs_f64();
    let max_rss = sink.max_rss;
    let bytes: u64 = files
        .files()
        .iter()
        .filter_map(|(_, p)| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "export of province {}: {} persons, {} episodes → {} resources, {:.0} MB NDJSON in {secs:.1} s: {:.0} resources/s, {:.0} episodes/s",
        largest.0,
        stats.persons,
        stats.episodes,
        stats.total(),
        bytes as f64 / 1e6,
        stats.total() as f64 / secs,
        stats.episodes as f64 / secs
    );
    println!(
        "  resident memory: {before:.0} MB before the export, at most {max_rss:.0} MB during it (peak of the whole run {:.0} MB)",
        peak_rss_mb()
    );
    let _ = std::fs::remove_dir_all(&out);

    // The same export over HTTP on loopback, as a system client runs it: kick-off, polls,
    // then every file downloaded.
    let exports = bench_dir(&a.db).join("fhir-http-exports");
    let _ = std::fs::remove_dir_all(&exports);
    let (client, secret) = store.add_fhir_client(
        "bench $export",
        &largest.0,
        &book::access::SmartScopes::parse("system/*.read").map_err(anyhow::Error::msg)?,
        "bench",
    )?;
    let cfg = server::Config {
        export_dir: Some(exports.clone()),
        ..server::Config::default()
    };
    let app = server::App::new(store.clone(), cfg);
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(listener, app, async {
            let _ = stopped.await;
        }));
        let http = reqwest::Client::new();
        let token: serde_json::Value = http
            .post(format!("{base}/fhir/auth/token"))
            .basic_auth(&client.client_id, Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await?
            .json()
            .await?;
        let tok = token["access_token"].as_str().unwrap_or("").to_string();
        let before = rss_mb();
        let mut max_rss = before;
        let t = Instant::now();
        let r = http
            .get(format!("{base}/fhir/$export"))
            .bearer_auth(&tok)
            .header("prefer", "respond-async")
            .send()
            .await?;
        if r.status() != StatusCode::ACCEPTED {
            bail!("$export kick-off: {}", r.status());
        }
        let status_url = r
            .headers()
            .get("content-location")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        let manifest: serde_json::Value = loop {
            let r = http.get(&status_url).bearer_auth(&tok).send().await?;
            max_rss = max_rss.max(rss_mb());
            match r.status() {
                StatusCode::OK => break r.json().await?,
                StatusCode::ACCEPTED => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await
                }
                s => bail!("$export status: {s}"),
            }
        };
        let ready = t.elapsed().as_secs_f64();
        let (mut lines, mut bytes) = (0u64, 0u64);
        for o in manifest["output"].as_array().into_iter().flatten() {
            let mut r = http
                .get(o["url"].as_str().unwrap_or(""))
                .bearer_auth(&tok)
                .send()
                .await?;
            while let Some(chunk) = r.chunk().await? {
                bytes += chunk.len() as u64;
                lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
                max_rss = max_rss.max(rss_mb());
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "HTTP $export of province {} on loopback: {lines} resources, {:.0} MB; manifest after {ready:.1} s, every file downloaded after {secs:.1} s: {:.0} resources/s",
            largest.0,
            bytes as f64 / 1e6,
            lines as f64 / secs
        );
        println!(
            "  resident memory (server and client in this process): {before:.0} MB before, at most {max_rss:.0} MB during it"
        );
        http.delete(&status_url).bearer_auth(&tok).send().await?;
        let _ = stop.send(());
        anyhow::Ok(())
    })?;
    store.disable_fhir_client(&client.client_id)?;
    let _ = std::fs::remove_dir_all(&exports);
    Ok(())
}

/// An envelope of `facility` whose XML2 holds 19,999 rows of four fields each: every
/// other required field missing (the hostile review's 4 MB file).
pub fn sparse_envelope(facility: &str) -> Vec<u8> {
    let g = Generator::new(synth::Config {
        persons: 5,
        episodes: 5,
        seed: 3,
        ..synth::Config::default()
    });
    let e = g.episode(0);
    let mut env = e.envelope();
    env.facility = facility.to_string();
    let d = &mut env.dossiers[0];
    if let Some(s) = d.summary.as_mut() {
        s.ma_cskcb = Some(facility.to_string());
        s.ma_lk = Some("BENCH-SPARSE".into());
    }
    let mut xml2 = String::from("<CHITIEU_CHITIET_THUOC><DSACH_CHI_TIET_THUOC>");
    for i in 1..20_000 {
        xml2.push_str(&format!(
            "<CHI_TIET_THUOC><MA_LK>BENCH-SPARSE</MA_LK><STT>{i}</STT><MA_THUOC>40.{i}</MA_THUOC><TEN_THUOC>Thuốc {i}</TEN_THUOC></CHI_TIET_THUOC>"
        ));
    }
    xml2.push_str("</DSACH_CHI_TIET_THUOC></CHITIEU_CHITIET_THUOC>");
    let mut docs: Vec<(String, String)> = dossier::write::dossier_documents(d, Spec::Qd3176)
        .into_iter()
        .filter(|(t, _)| *t != dossier::Table::Xml2)
        .map(|(t, doc)| (t.code().to_string(), doc))
        .collect();
    docs.push(("XML2".into(), xml2));
    dossier::write::envelope_from_documents(&env, &[docs])
}

/// Resident and peak memory of a process, in MB (Linux /proc).
fn proc_memory(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn amplification_bench(a: AmplificationArgs) -> Result<()> {
    let raw = sparse_envelope(&a.facility);
    if let Some(f) = &a.write {
        std::fs::write(f, &raw)?;
    }
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw);
    println!(
        "envelope: {:.1} MB ({:.1} MB as base64)",
        raw.len() as f64 / 1e6,
        b64.len() as f64 / 1e6
    );
    let mem = |label: &str| {
        if let Some((rss, hwm)) = a.server_pid.and_then(proc_memory) {
            println!("server memory {label}: RSS {rss:.0} MB, peak {hwm:.0} MB");
        }
    };
    mem("before");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let c = reqwest::Client::new();
        let md5 = crate::ops::md5_upper(&a.password);
        let v: serde_json::Value = c
            .post(format!("{}/api/token/take", a.url))
            .form(&[("username", a.username.as_str()), ("password", md5.as_str())])
            .send()
            .await?
            .json()
            .await?;
        let access = v["APIKey"]["access_token"]
            .as_str()
            .context("no token")?
            .to_string();
        let id = v["APIKey"]["id_token"]
            .as_str()
            .context("no token")?
            .to_string();
        for n in [1usize, 3] {
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..n {
                let (c, url, access, id, md5) =
                    (c.clone(), a.url.clone(), access.clone(), id.clone(), md5.clone());
                let form = [
                    ("username", a.username.clone()),
                    ("maCSKCB", a.facility.clone()),
                    ("fileHSBase64", b64.clone()),
                ];
                tasks.push(tokio::spawn(async move {
                    let t = Instant::now();
                    let r = c
                        .post(format!("{url}/api/qd130/guiHoSoXmlQD3176"))
                        .header("accessToken", access)
                        .header("tokenId", id)
                        .header("passwordHash", md5)
                        .form(&form)
                        .send()
                        .await?;
                    let body = r.bytes().await?;
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    let listed = v["dsLoi"].as_array().map_or(0, Vec::len);
                    let counted: u64 = v["dsLoi"].as_array().map_or(0, |l| {
                        l.iter().map(|f| f["count"].as_u64().unwrap_or(1)).sum()
                    });
                    anyhow::Ok((t.elapsed().as_secs_f64(), body.len(), listed, counted))
                }));
            }
            for t in tasks {
                let (secs, bytes, listed, counted) = t.await??;
                println!(
                    "{n} at once: answered in {secs:.2} s, reply {:.2} MB, {listed} findings listed, {counted} counted",
                    bytes as f64 / 1e6
                );
            }
            println!("{n} at once: all answered in {:.2} s", started.elapsed().as_secs_f64());
            mem(&format!("after {n} at once"));
        }
        anyhow::Ok(())
    })
}

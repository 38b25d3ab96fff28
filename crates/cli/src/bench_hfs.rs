//! `healthbook bench fhir-server`: another FHIR server (HFS, the Rust Helios FHIR
//! Server, or any R4 server) fed with the same visits healthbook stores, for a side
//! by side comparison. The visits come from `healthbook fhir export` (NDJSON): each
//! Encounter becomes one transaction Bundle holding its patient and every resource
//! that points at it (the way a facility's software would send a visit to a FHIR
//! server), PUT by id so that a run is idempotent. Shared resources (organizations,
//! practitioners) go first, 100 to a bundle. Then the server's bulk export
//! (`$export`, asynchronous request pattern) is kicked off, polled and downloaded.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

#[derive(clap::Args)]
pub struct Args {
    /// FHIR base URL of the server under test.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// A directory written by `healthbook fhir export` (one NDJSON file per type).
    #[arg(long)]
    from: PathBuf,
    /// Concurrent clients sending visit bundles.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Send at most this many visits (all by default).
    #[arg(long)]
    visits: Option<usize>,
    /// Skip the ingest; only run the bulk export.
    #[arg(long)]
    export_only: bool,
    /// Skip the bulk export.
    #[arg(long)]
    no_export: bool,
}

/// Resources of a type, as read from its NDJSON file.
fn read_ndjson(dir: &Path, ty: &str) -> Result<Vec<Value>> {
    let path = dir.join(format!("{ty}.ndjson"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("a line of {}", path.display())))
        .collect()
}

fn entry(r: Value) -> Value {
    let ty = r["resourceType"].as_str().unwrap_or_default().to_string();
    let id = r["id"].as_str().unwrap_or_default().to_string();
    json!({
        "fullUrl": format!("{ty}/{id}"),
        "resource": r,
        "request": {"method": "PUT", "url": format!("{ty}/{id}")},
    })
}

fn transaction(entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// The reference a resource makes to its encounter, if any (`Encounter/{id}` → id).
fn encounter_of(r: &Value) -> Option<String> {
    let reference = r["encounter"]["reference"]
        .as_str()
        .or_else(|| r["context"]["reference"].as_str())?;
    reference.strip_prefix("Encounter/").map(str::to_string)
}

/// The shared bundles (organizations, practitioners) and one bundle per visit, as
/// request bodies, and the number of resources each visit holds.
/// Request bodies: the shared bundles, then each visit's bundle with its resource count.
type Bodies = (Vec<String>, Vec<(String, usize)>);

fn bundles(dir: &Path, limit: Option<usize>) -> Result<Bodies> {
    let mut shared = Vec::new();
    for ty in ["Organization", "Practitioner"] {
        for chunk in read_ndjson(dir, ty)?.chunks(100) {
            let entries = chunk.iter().cloned().map(entry).collect();
            shared.push(serde_json::to_string(&transaction(entries))?);
        }
    }
    let patients: HashMap<String, Value> = read_ndjson(dir, "Patient")?
        .into_iter()
        .filter_map(|p| Some((p["id"].as_str()?.to_string(), p)))
        .collect();
    let mut encounters = read_ndjson(dir, "Encounter")?;
    if let Some(n) = limit {
        encounters.truncate(n);
    }
    let mut parts: HashMap<String, Vec<Value>> = HashMap::new();
    let types: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".ndjson").map(str::to_string)
        })
        .filter(|t| !["Organization", "Practitioner", "Patient", "Encounter"].contains(&t.as_str()))
        .collect();
    for ty in &types {
        for r in read_ndjson(dir, ty)? {
            if let Some(e) = encounter_of(&r) {
                parts.entry(e).or_default().push(r);
            }
        }
    }
    let mut visits = Vec::with_capacity(encounters.len());
    for enc in encounters {
        let id = enc["id"].as_str().unwrap_or_default().to_string();
        let patient = enc["subject"]["reference"]
            .as_str()
            .and_then(|r| r.strip_prefix("Patient/"))
            .and_then(|p| patients.get(p))
            .cloned();
        let mut entries = Vec::new();
        entries.extend(patient.map(entry));
        entries.push(entry(enc));
        entries.extend(parts.remove(&id).unwrap_or_default().into_iter().map(entry));
        let n = entries.len();
        visits.push((serde_json::to_string(&transaction(entries))?, n));
    }
    Ok((shared, visits))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn run(a: Args) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let base = a.url.trim_end_matches('/').to_string();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()?;
    if !a.export_only {
        let t = Instant::now();
        let (shared, visits) = bundles(&a.from, a.visits)?;
        let resources: usize = visits.iter().map(|(_, n)| n).sum();
        println!(
            "{} visit bundles ({resources} resources) and {} shared bundles built in {:.1} s",
            visits.len(),
            shared.len(),
            t.elapsed().as_secs_f64()
        );
        rt.block_on(async {
            for b in shared {
                post(&client, &base, b).await?;
            }
            anyhow::Ok(())
        })?;
        let visits = Arc::new(visits);
        let next = Arc::new(AtomicUsize::new(0));
        let failures = Arc::new(AtomicUsize::new(0));
        let t = Instant::now();
        let latencies = rt.block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..a.clients.max(1) {
                let (client, base, visits, next, failures) = (
                    client.clone(),
                    base.clone(),
                    visits.clone(),
                    next.clone(),
                    failures.clone(),
                );
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((body, _)) = visits.get(i) else {
                            break;
                        };
                        let t = Instant::now();
                        if post(&client, &base, body.clone()).await.is_err() {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                    lat
                }));
            }
            let mut all = Vec::new();
            for t in tasks {
                all.extend(t.await.unwrap_or_default());
            }
            all
        });
        let secs = t.elapsed().as_secs_f64();
        let mut lat = latencies;
        lat.sort_by(f64::total_cmp);
        println!(
            "ingest: {} visit bundles in {secs:.1} s: {:.0} bundles/s, {:.0} resources/s; latency p50 {:.1} ms, p99 {:.1} ms; {} failed",
            visits.len(),
            visits.len() as f64 / secs,
            resources as f64 / secs,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            failures.load(Ordering::Relaxed)
        );
    }
    if !a.no_export {
        rt.block_on(export(&client, &base))?;
    }
    Ok(())
}

async fn post(client: &reqwest::Client, base: &str, body: String) -> Result<()> {
    let r = client
        .post(format!("{base}/"))
        .header("Content-Type", "application/fhir+json")
        .body(body)
        .send()
        .await?;
    let status = r.status();
    if !status.is_success() {
        let text = r.text().await.unwrap_or_default();
        bail!("{status}: {}", text.chars().take(300).collect::<String>());
    }
    // The answer is read whole, as a client would.
    r.bytes().await?;
    Ok(())
}

/// The bulk export: kick-off, poll every 200 ms, then download every file, counting
/// its lines.
async fn export(client: &reqwest::Client, base: &str) -> Result<()> {
    let t = Instant::now();
    let kick = client
        .get(format!("{base}/$export"))
        .header("Accept", "application/fhir+json")
        .header("Prefer", "respond-async")
        .send()
        .await?;
    if kick.status() != reqwest::StatusCode::ACCEPTED {
        let status = kick.status();
        let text = kick.text().await.unwrap_or_default();
        bail!(
            "$export kick-off answered {status}: {}",
            text.chars().take(300).collect::<String>()
        );
    }
    let status_url = kick
        .headers()
        .get("Content-Location")
        .and_then(|v| v.to_str().ok())
        .context("no Content-Location on the $export kick-off")?
        .to_string();
    let manifest: Value = loop {
        let r = client.get(&status_url).send().await?;
        match r.status().as_u16() {
            202 => tokio::time::sleep(Duration::from_millis(200)).await,
            200 => break r.json().await?,
            s => bail!("$export status answered {s}"),
        }
    };
    let ready = t.elapsed().as_secs_f64();
    let mut resources = 0usize;
    let mut bytes = 0usize;
    for f in manifest["output"].as_array().into_iter().flatten() {
        let Some(url) = f["url"].as_str() else {
            continue;
        };
        let body = client.get(url).send().await?.bytes().await?;
        bytes += body.len();
        resources += body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "export: {resources} resources ({:.0} MB) — manifest after {ready:.1} s, last byte after {secs:.1} s: {:.0} resources/s",
        bytes as f64 / 1e6,
        resources as f64 / secs
    );
    Ok(())
}

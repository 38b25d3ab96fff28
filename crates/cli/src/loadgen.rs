//! `healthbook loadgen`: a load generator for the gateway (benchmarks only): many
//! concurrent clients sending dossier files over HTTP, with latency percentiles.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use axum::body::Bytes;
use base64::Engine as _;

use crate::ops;

#[derive(clap::Args)]
pub struct Args {
    /// Base URL of the gateway.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[arg(long)]
    username: String,
    #[arg(long)]
    password: String,
    /// The facility the account sends for.
    #[arg(long)]
    facility: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Threads of the load generator itself: one leaves the other cores to a server
    /// on the same machine.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Envelope files or directories.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

pub fn run(a: Args) -> Result<()> {
    let files = ops::collect_xml(&a.paths)?;
    // Whole form bodies, encoded once: the client should spend its CPU on sending.
    let form = |b64: &str| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("username", &a.username)
            .append_pair("loaiHoSo", "130")
            .append_pair("maTinh", a.facility.get(..2).unwrap_or_default())
            .append_pair("maCSKCB", &a.facility)
            .append_pair("fileHSBase64", b64);
        s.finish()
    };
    // Shared, not copied, by each request that sends one.
    let bodies: Vec<Bytes> = files
        .iter()
        .map(|f| {
            std::fs::read(f)
                .map(|b| Bytes::from(form(&base64::engine::general_purpose::STANDARD.encode(b))))
        })
        .collect::<std::io::Result<_>>()?;
    if bodies.is_empty() {
        bail!("no files");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(a.threads.max(1))
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let c = reqwest::Client::new();
        let md5 = ops::md5_upper(&a.password);
        let v: serde_json::Value = c
            .post(format!("{}/api/token/take", a.url))
            .form(&[("username", a.username.as_str()), ("password", md5.as_str())])
            .send()
            .await?
            .json()
            .await?;
        let access = v["APIKey"]["access_token"].as_str().context("no token")?.to_string();
        let id = v["APIKey"]["id_token"].as_str().context("no token")?.to_string();
        let bodies = Arc::new(bodies);
        let next = Arc::new(AtomicUsize::new(0));
        // Every request's URL and headers, made once.
        let url = format!("{}/api/qd130/guiHoSoXmlQD3176", a.url);
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in [
            ("accessToken", access.as_str()),
            ("tokenId", id.as_str()),
            ("passwordHash", md5.as_str()),
            ("content-type", "application/x-www-form-urlencoded"),
        ] {
            headers.insert(k, v.parse().context("header value")?);
        }
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..a.clients {
            let (c, bodies, next) = (c.clone(), bodies.clone(), next.clone());
            let (url, headers) = (url.clone(), headers.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut failed = 0usize;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = bodies.get(i) else { break };
                    let t = Instant::now();
                    let r = c
                        .post(&url)
                        .headers(headers.clone())
                        .body(body.clone())
                        .send()
                        .await;
                    // Accepted: the answer says 200 (its whole body is read).
                    let ok = match r {
                        Ok(r) => r.bytes().await.is_ok_and(|t| t.starts_with(b"{\"maKetQua\":\"200\"")),
                        Err(_) => false,
                    };
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    failed += (!ok) as usize;
                }
                (lat, failed)
            }));
        }
        let mut lat = Vec::new();
        let mut failed = 0;
        for t in tasks {
            let (l, f) = t.await?;
            lat.extend(l);
            failed += f;
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
        println!(
            "{} requests, {} clients on {} thread(s), {secs:.1} s: {:.0} requests/s; latency p50 {:.1} ms, p99 {:.1} ms; {failed} not accepted",
            lat.len(),
            a.clients,
            a.threads.max(1),
            lat.len() as f64 / secs,
            pct(0.5),
            pct(0.99)
        );
        Ok(())
    })
}

//! Kill the server (SIGKILL) in the middle of a stream of submissions, then find
//! every acknowledged dossier exactly once.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use dossier::Spec;
use dossier::synth::{Config, Generator};
use md5::Digest;
use store::{SqliteStore, Store};

const PASSWORD: &str = "demo123";
const MD5: &str = "62CC2D8B4BF2D8728120D052163A77DF"; // md5("demo123")

fn healthbook(args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_healthbook"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_server(db: &str, port: u16) -> Child {
    let child = Command::new(env!("CARGO_BIN_EXE_healthbook"))
        .args([
            "serve",
            "--db",
            db,
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

async fn session(base: &str) -> (String, String) {
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/token/take"))
        .form(&[("username", "bv01001"), ("password", MD5)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        v["APIKey"]["access_token"].as_str().unwrap().to_string(),
        v["APIKey"]["id_token"].as_str().unwrap().to_string(),
    )
}

async fn send(
    c: &reqwest::Client,
    base: &str,
    s: &(String, String),
    file: &[u8],
) -> Result<serde_json::Value, reqwest::Error> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(file);
    c.post(format!("{base}/api/qd130/guiHoSoXmlQD3176"))
        .header("accessToken", &s.0)
        .header("tokenId", &s.1)
        .header("passwordHash", MD5)
        .form(&[
            ("username", "bv01001"),
            ("loaiHoSo", "130"),
            ("maTinh", "01"),
            ("maCSKCB", "01001"),
            ("fileHSBase64", &b64),
        ])
        .send()
        .await?
        .json()
        .await
}

#[test]
fn every_acknowledged_dossier_survives_a_kill_exactly_once() {
    let digest: String = md5::Md5::digest(PASSWORD.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    assert_eq!(digest, MD5);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("book.db");
    let db = db.to_str().unwrap();
    healthbook(&[
        "facility",
        "add",
        "--db",
        db,
        "--code",
        "01001",
        "--name",
        "Bệnh viện Mẫu",
    ]);
    healthbook(&[
        "account",
        "add",
        "--db",
        db,
        "--username",
        "bv01001",
        "--facility",
        "01001",
        "--password",
        PASSWORD,
    ]);
    // Dossiers of facility 01001.
    let g = Generator::new(Config {
        persons: 2_000,
        episodes: 40_000,
        seed: 99,
        ..Config::default()
    });
    let files: Vec<(String, Vec<u8>)> = (0..40_000)
        .map(|i| g.episode(i))
        .filter(|e| e.facility.code == "01001")
        .take(1_500)
        .map(|e| (e.ma_lk().to_string(), e.envelope_bytes(Spec::Qd3176)))
        .collect();
    assert!(files.len() >= 500, "only {} dossiers of 01001", files.len());
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = spawn_server(db, port);
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = session(&base).await;
        let files = Arc::new(files.clone());
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (files, next, acked, base, s) = (
                files.clone(),
                next.clone(),
                acked.clone(),
                base.clone(),
                s.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let c = reqwest::Client::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((ma_lk, bytes)) = files.get(i) else {
                        break;
                    };
                    match send(&c, &base, &s, bytes).await {
                        Ok(v) if v["maKetQua"] == "200" => acked
                            .lock()
                            .unwrap()
                            .push((ma_lk.clone(), v["maGiaoDich"].as_str().unwrap().to_string())),
                        Ok(v) => panic!("refused: {v}"),
                        Err(_) => break, // the server is gone
                    }
                }
            }));
        }
        // Kill it mid-stream.
        let t = Instant::now();
        while acked.lock().unwrap().len() < 200 && t.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        for t in tasks {
            let _ = t.await;
        }
    });
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 200 && acked.len() < files.len(),
        "killed after {} of {}",
        acked.len(),
        files.len()
    );
    // Every acknowledged dossier is there, once.
    {
        let s = SqliteStore::open(db).unwrap();
        for (ma_lk, tx) in &acked {
            let sub = s
                .submission(tx)
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged {tx} lost"));
            assert!(sub.accepted);
            let v = s.episode_versions("01001", ma_lk).unwrap();
            assert_eq!(v.len(), 1, "{ma_lk}: {} versions", v.len());
            assert!(v[0].is_current);
        }
    }
    // After a restart, the facility re-sends everything: still once each.
    let mut child = spawn_server(db, port);
    rt.block_on(async {
        let s = session(&base).await;
        let c = reqwest::Client::new();
        for (_, bytes) in &files {
            let v = send(&c, &base, &s, bytes).await.unwrap();
            assert_eq!(v["maKetQua"], "200", "{v}");
        }
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let s = SqliteStore::open(db).unwrap();
    let c = s.counts().unwrap();
    assert_eq!(c.episodes_current as usize, files.len());
    assert_eq!(
        c.episode_versions as usize,
        files.len(),
        "a re-sent identical dossier is not a new version"
    );
}

//! Kill the server (SIGKILL) in the middle of a stream of submissions, then find
//! every acknowledged dossier exactly once.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use dossier::Spec;
use md5::Digest;
use store::{SqliteStore, Store};
use synth::{Config, Generator};

const PASSWORD: &str = "demo123";
const MD5: &str = "62CC2D8B4BF2D8728120D052163A77DF"; // md5("demo123")

fn healthbook(args: &[&str]) {
    healthbook_with(None, args)
}

/// `healthbook`, with the server secret file of a PostgreSQL deployment when given
/// (every process of one deployment reads the same file).
fn healthbook_with(secret: Option<&std::path::Path>, args: &[&str]) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_healthbook"));
    if let Some(s) = secret {
        c.env("HEALTHBOOK_SECRET_FILE", s);
    }
    let o = c.args(args).output().unwrap();
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
    spawn_server_with(None, db, port)
}

fn spawn_server_with(secret: Option<&std::path::Path>, db: &str, port: u16) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_healthbook"));
    if let Some(s) = secret {
        c.env("HEALTHBOOK_SECRET_FILE", s);
    }
    let child = c
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
            t.elapsed() < Duration::from_secs(30),
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

/// Kills its server when the test ends, passed or not.
struct Server(Option<Child>);

impl Server {
    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill(); // SIGKILL
            let _ = c.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Two `healthbook serve` processes on one PostgreSQL database take one facility's
/// stream at once, some dossiers sent to both at the same moment; one is killed
/// (SIGKILL) mid-stream and the facility goes on with the other. Afterwards: every
/// acknowledged dossier is there once, no episode has two current versions, no
/// identity belongs to two persons, and the store holds what a single SQLite server
/// given the same files holds.
#[test]
fn two_servers_on_one_postgres_database_survive_a_kill() {
    let pg = store::testing::TempPostgres::new().unwrap();
    let url = pg.url().to_string();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("healthbook.secret");
    healthbook_with(
        Some(&secret),
        &[
            "facility",
            "add",
            "--db",
            &url,
            "--code",
            "01001",
            "--name",
            "Bệnh viện Mẫu",
        ],
    );
    healthbook_with(
        Some(&secret),
        &[
            "account",
            "add",
            "--db",
            &url,
            "--username",
            "bv01001",
            "--facility",
            "01001",
            "--password",
            PASSWORD,
        ],
    );
    // One facility's dossiers: few persons, many episodes each, so that both servers
    // link episodes of one person at the same time.
    let g = Generator::new(Config {
        persons: 300,
        episodes: 20_000,
        seed: 7,
        ..Config::default()
    });
    let files: Vec<(String, Vec<u8>)> = (0..20_000)
        .map(|i| g.episode(i))
        .filter(|e| e.facility.code == "01001")
        .take(1_000)
        .map(|e| (e.ma_lk().to_string(), e.envelope_bytes(Spec::Qd3176)))
        .collect();
    assert!(files.len() >= 400, "only {} dossiers of 01001", files.len());
    // The jobs: each file to one server, alternately; the first 150 to both, back to
    // back, so that two servers decide the same episode at once.
    let mut jobs: Vec<(usize, usize)> = Vec::new();
    for i in 0..files.len() {
        jobs.push((i, i % 2));
        if i < 150 {
            jobs.push((i, 1 - i % 2));
        }
    }
    let ports = [free_port(), free_port()];
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    let mut a = Server(Some(spawn_server_with(Some(&secret), &url, ports[0])));
    let _b = Server(Some(spawn_server_with(Some(&secret), &url, ports[1])));
    // (file, transaction code, server that acknowledged)
    let acked: Arc<Mutex<Vec<(usize, String, usize)>>> = Arc::default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sessions = Arc::new([session(&bases[0]).await, session(&bases[1]).await]);
        let (files, jobs, bases) = (
            Arc::new(files.clone()),
            Arc::new(jobs.clone()),
            Arc::new(bases.clone()),
        );
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (files, jobs, bases, sessions, next, acked) = (
                files.clone(),
                jobs.clone(),
                bases.clone(),
                sessions.clone(),
                next.clone(),
                acked.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let c = reqwest::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .unwrap();
                loop {
                    let j = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(i, mut server)) = jobs.get(j) else {
                        break;
                    };
                    // A facility whose server is gone sends to the other one.
                    let v = match send(&c, &bases[server], &sessions[server], &files[i].1).await {
                        Ok(v) => v,
                        Err(_) => {
                            server = 1 - server;
                            send(&c, &bases[server], &sessions[server], &files[i].1)
                                .await
                                .expect("the surviving server answers")
                        }
                    };
                    assert_eq!(v["maKetQua"], "200", "{v}");
                    let tx = v["maGiaoDich"].as_str().unwrap().to_string();
                    acked.lock().unwrap().push((i, tx, server));
                }
            }));
        }
        // Kill server A mid-stream.
        let t = Instant::now();
        while acked.lock().unwrap().len() < 300 && t.elapsed() < Duration::from_secs(120) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        a.kill();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let acked = acked.lock().unwrap().clone();
    assert_eq!(
        acked.len(),
        jobs.len(),
        "every job acknowledged by a server"
    );
    let by_a = acked.iter().filter(|x| x.2 == 0).count();
    let by_b = acked.len() - by_a;
    assert!(
        by_a >= 100 && by_b >= jobs.len() / 2,
        "A acknowledged {by_a}, B {by_b} of {}",
        jobs.len()
    );
    // Every acknowledged dossier is there; one current version per episode.
    let s = store::PostgresStore::connect(&url, &secret).unwrap();
    for (i, tx, _) in &acked {
        let sub = s
            .submission(tx)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged {tx} lost"));
        assert!(sub.accepted);
        let v = s.episode_versions("01001", &files[*i].0).unwrap();
        assert_eq!(v.len(), 1, "{}: {} versions", files[*i].0, v.len());
        assert!(v[0].is_current);
    }
    // No identity belongs to two persons; no episode has two current rows.
    assert_eq!(
        pg.number(
            "SELECT count(*) FROM (SELECT kind, value FROM identifiers WHERE active
               GROUP BY kind, value HAVING count(DISTINCT person_id) > 1) t"
        )
        .unwrap(),
        0,
        "an identity linked to two persons"
    );
    assert_eq!(
        pg.number(
            "SELECT count(*) FROM (SELECT facility, ma_lk FROM episodes WHERE is_current
               GROUP BY facility, ma_lk HAVING count(*) > 1) t"
        )
        .unwrap(),
        0,
        "an episode with two current versions"
    );
    // The same as one SQLite server given the same files in order.
    let reference = store::SqliteStore::open(dir.path().join("reference.db")).unwrap();
    for (ma_lk, bytes) in &files {
        let parsed = dossier::parse_envelope(bytes, &dossier::Options::default());
        reference
            .ingest(store::Prepared::envelope(
                store::Meta {
                    facility: "01001".into(),
                    account: "bv01001".into(),
                    source: store::Source::Import,
                    spec: Spec::Qd3176,
                    received_at: store::now_ms(),
                },
                bytes,
                &parsed,
            ))
            .unwrap_or_else(|e| panic!("{ma_lk}: {e}"));
    }
    let (got, want) = (s.counts().unwrap(), reference.counts().unwrap());
    assert_eq!(got.persons, want.persons, "persons");
    assert_eq!(got.episodes_current, want.episodes_current, "episodes");
    assert_eq!(got.episodes_current as usize, files.len());
    assert_eq!(
        got.episode_versions, want.episode_versions,
        "a re-sent identical dossier is not a new version"
    );
    // A server killed after its commit and before its answer leaves a submission that
    // no client saw acknowledged; the client sends it again, to the other server. So
    // at least every acknowledged one, and at most one more per client in flight.
    let stored = got.accepted as usize;
    assert!(
        stored >= acked.len() && stored <= acked.len() + 16,
        "{stored} submissions stored, {} acknowledged",
        acked.len()
    );
}

//! Throwaway PostgreSQL databases for tests (feature `testing`). Each test gets an empty
//! database of its own, made with `CREATE DATABASE` and dropped when its value is
//! dropped, on one of two servers:
//! - `HEALTHBOOK_TEST_DATABASE_URL`'s server, when set;
//! - else one throwaway server per test process: `initdb` into a temporary folder with
//!   the machine's PostgreSQL binaries (as the `postgres` user when run as root, since
//!   PostgreSQL refuses to run as root), started on a Unix socket in that folder with no
//!   TCP listener. A watchdog started with it stops the server and removes the folder
//!   as soon as the test process has exited, however it exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::postgres::PgClient;

/// A PostgreSQL database that lives as long as this value.
pub struct TempPostgres {
    url: String,
    /// The server's maintenance database URL and this database's name.
    admin: (String, String),
    /// The throwaway server's data folder (none on `HEALTHBOOK_TEST_DATABASE_URL`'s).
    data: Option<PathBuf>,
}

struct Cluster {
    /// Kept after the test process: the watchdog removes it.
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The folder of `initdb` and `pg_ctl`: `HEALTHBOOK_PG_BIN`, `pg_config --bindir`, or
/// the newest `/usr/lib/postgresql/*/bin`.
pub fn pg_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HEALTHBOOK_PG_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(p) = found.pop() {
        return Some(p);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    p.join("initdb").exists().then_some(p)
}

impl Cluster {
    fn command(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn start() -> Result<Cluster, String> {
        let bin = pg_bin().ok_or(
            "no PostgreSQL server binaries (install postgresql, or set HEALTHBOOK_PG_BIN or HEALTHBOOK_TEST_DATABASE_URL)",
        )?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("healthbook-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        if as_postgres {
            run(Command::new("chown").args(["postgres:postgres"]).arg(&dir))?;
        }
        let cluster = Cluster {
            dir,
            bin,
            as_postgres,
        };
        let started = cluster.init_and_start();
        if started.is_err() {
            cluster.stop();
        }
        started.map(|()| cluster)
    }

    fn init_and_start(&self) -> Result<(), String> {
        let cluster = self;
        run(cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .arg("-D")
            .arg(cluster.data()))?;
        let opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            cluster.dir.display()
        );
        run(cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(cluster.data())
            .args(["-w", "-o", &opts, "-l"])
            .arg(cluster.dir.join("log"))
            .arg("start"))
    }

    /// Stop the server now (a failed start) and remove its folder.
    fn stop(&self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Cluster {
    /// Stop the server and remove its folder once process `pid` has gone.
    fn watch(&self, pid: u32) -> Result<(), String> {
        let mut stop = self.command("pg_ctl");
        stop.arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"]);
        let mut line: Vec<String> = vec![stop.get_program().to_string_lossy().into_owned()];
        line.extend(stop.get_args().map(|a| a.to_string_lossy().into_owned()));
        let quoted: Vec<String> = line
            .iter()
            .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
            .collect();
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.2; done; {} >/dev/null 2>&1; rm -rf '{}'",
            quoted.join(" "),
            self.dir.display()
        );
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(drop)
            .map_err(|e| format!("watchdog: {e}"))
    }
}

/// The maintenance URL of this process's throwaway server, started on first use.
fn shared_server() -> Result<(String, PathBuf), String> {
    static SERVER: OnceLock<Result<(String, PathBuf), String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let cluster = Cluster::start()?;
            if let Err(e) = cluster.watch(std::process::id()) {
                cluster.stop();
                return Err(e);
            }
            Ok((socket_url(&cluster.dir, "postgres"), cluster.data()))
        })
        .clone()
}

fn run(c: &mut Command) -> Result<(), String> {
    let out = c.output().map_err(|e| format!("{c:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{c:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn socket_url(dir: &Path, db: &str) -> String {
    format!(
        "postgresql://postgres@localhost/{db}?host={}",
        dir.display()
    )
}

impl TempPostgres {
    /// A new empty database: on `HEALTHBOOK_TEST_DATABASE_URL`'s server, or on this
    /// process's throwaway server.
    pub fn new() -> Result<TempPostgres, String> {
        let (base, data) = match std::env::var("HEALTHBOOK_TEST_DATABASE_URL") {
            Ok(url) => (url, None),
            Err(_) => {
                let (url, data) = shared_server()?;
                (url, Some(data))
            }
        };
        let name = create_database(&base)?;
        Ok(TempPostgres {
            url: database_url(&base, &name)?,
            admin: (base, name),
            data,
        })
    }

    /// The database's URL (`postgresql://…`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another empty database on the same server (dropped with the server's other test
    /// databases only when that server is the throwaway one).
    pub fn another(&self) -> Result<String, String> {
        let name = create_database(&self.admin.0)?;
        database_url(&self.admin.0, &name)
    }

    /// The files of the throwaway server (its data folder, WAL included), for tests
    /// that search what reaches the disk; `None` on `HEALTHBOOK_TEST_DATABASE_URL`'s.
    pub fn data_dir(&self) -> Option<&Path> {
        self.data.as_deref()
    }

    /// Run plain SQL on the database (for tests that attack it from outside the store).
    pub fn sql(&self, text: &str) -> Result<(), String> {
        raw_sql(&self.url, text)
    }
}

impl TempPostgres {
    /// The first column of the first row of a query, as a number (for tests that check
    /// the database from outside the store).
    pub fn number(&self, query: &str) -> Result<i64, String> {
        let c = PgClient::connect_url(&self.url).map_err(|e| e.to_string())?;
        let row = c.query_one(query, &[]).map_err(|e| e.to_string())?;
        row.try_get::<_, i64>(0).map_err(|e| e.to_string())
    }
}

/// Run plain SQL on the store at `target` (a SQLite file or `postgres://…`) from outside
/// the store, as someone with access to the database would: for tests that attack it.
/// The database's own message on refusal.
pub fn raw_sql(target: &str, text: &str) -> Result<(), String> {
    if crate::is_postgres(target) {
        let c = PgClient::connect_url(target).map_err(|e| e.to_string())?;
        c.batch_execute(text).map_err(|e| match e.as_db_error() {
            Some(d) => d.message().to_string(),
            None => e.to_string(),
        })
    } else {
        rusqlite::Connection::open(target)
            .and_then(|c| c.execute_batch(text))
            .map_err(|e| e.to_string())
    }
}

fn create_database(base: &str) -> Result<String, String> {
    let name = format!("hb_test_{}", uuid::Uuid::new_v4().simple());
    let c =
        PgClient::connect_url(base).map_err(|e| format!("PostgreSQL test server {base}: {e}"))?;
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .map_err(|e| e.to_string())?;
    Ok(name)
}

/// `base` with its database name replaced by `name` (query string kept).
fn database_url(base: &str, name: &str) -> Result<String, String> {
    let config: tokio_postgres::Config = base.parse().map_err(|e| format!("{e}"))?;
    Ok(match base.split_once('?') {
        Some((head, query)) if config.get_dbname().is_some() => {
            let (root, _) = head.rsplit_once('/').unwrap_or((head, ""));
            format!("{root}/{name}?{query}")
        }
        Some((head, query)) => format!("{}/{name}?{query}", head.trim_end_matches('/')),
        None if config.get_dbname().is_some() => {
            let (root, _) = base.rsplit_once('/').unwrap_or((base, ""));
            format!("{root}/{name}")
        }
        None => format!("{}/{name}", base.trim_end_matches('/')),
    })
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let (base, name) = &self.admin;
        if let Ok(c) = PgClient::connect_url(base) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

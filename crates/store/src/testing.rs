//! Throwaway PostgreSQL servers for tests (feature `testing`): `initdb` into a
//! temporary folder with the machine's PostgreSQL binaries (as the `postgres` user when
//! run as root, since PostgreSQL refuses to run as root), started on a Unix socket in
//! that folder with no TCP listener, and stopped and removed when dropped. With
//! `HEALTHBOOK_TEST_DATABASE_URL` set, a fresh database on that server is used instead.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A PostgreSQL database that lives as long as this value.
pub struct TempPostgres {
    url: String,
    admin: Option<(String, String)>,
    cluster: Option<Cluster>,
}

struct Cluster {
    dir: tempfile::TempDir,
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
        self.dir.path().join("data")
    }

    fn start() -> Result<Cluster, String> {
        let bin = pg_bin().ok_or(
            "no PostgreSQL server binaries (install postgresql, or set HEALTHBOOK_PG_BIN or HEALTHBOOK_TEST_DATABASE_URL)",
        )?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("healthbook-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        if as_postgres {
            run(Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path()))?;
        }
        let cluster = Cluster {
            dir,
            bin,
            as_postgres,
        };
        run(cluster
            .command("initdb")
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
            .arg("-D")
            .arg(cluster.data()))?;
        let opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            cluster.dir.path().display()
        );
        run(cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(cluster.data())
            .args(["-w", "-o", &opts, "-l"])
            .arg(cluster.dir.path().join("log"))
            .arg("start"))?;
        Ok(cluster)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
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
    /// A new empty database: on `HEALTHBOOK_TEST_DATABASE_URL`'s server, or on a
    /// throwaway server of its own.
    pub fn new() -> Result<TempPostgres, String> {
        if let Ok(base) = std::env::var("HEALTHBOOK_TEST_DATABASE_URL") {
            let name = format!("hb_test_{}", uuid::Uuid::new_v4().simple());
            let mut c = postgres::Client::connect(&base, postgres::NoTls)
                .map_err(|e| format!("HEALTHBOOK_TEST_DATABASE_URL: {e}"))?;
            c.batch_execute(&format!("CREATE DATABASE {name}"))
                .map_err(|e| e.to_string())?;
            let config: postgres::Config = base.parse().map_err(|e| format!("{e}"))?;
            let url = match base.rsplit_once('/') {
                Some((head, tail)) if config.get_dbname().is_some() => {
                    let query = tail.split_once('?').map(|(_, q)| format!("?{q}"));
                    format!("{head}/{name}{}", query.unwrap_or_default())
                }
                _ => format!("{}/{name}", base.trim_end_matches('/')),
            };
            return Ok(TempPostgres {
                url,
                admin: Some((base, name)),
                cluster: None,
            });
        }
        let cluster = Cluster::start()?;
        Ok(TempPostgres {
            url: socket_url(cluster.dir.path(), "postgres"),
            admin: None,
            cluster: Some(cluster),
        })
    }

    /// The database's URL (`postgresql://…`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another empty database on the same server.
    pub fn another(&self) -> Result<String, String> {
        let name = format!("hb_test_{}", uuid::Uuid::new_v4().simple());
        let mut c =
            postgres::Client::connect(&self.url, postgres::NoTls).map_err(|e| e.to_string())?;
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(|e| e.to_string())?;
        Ok(match &self.cluster {
            Some(cl) => socket_url(cl.dir.path(), &name),
            None => self
                .url
                .replacen(self.admin.as_ref().map_or("", |a| a.1.as_str()), &name, 1),
        })
    }

    /// Run plain SQL on the database (for tests that attack it from outside the store).
    pub fn sql(&self, text: &str) -> Result<(), String> {
        let mut c =
            postgres::Client::connect(&self.url, postgres::NoTls).map_err(|e| e.to_string())?;
        c.batch_execute(text).map_err(|e| match e.as_db_error() {
            Some(d) => d.message().to_string(),
            None => e.to_string(),
        })
    }
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        if let Some((base, name)) = &self.admin
            && let Ok(mut c) = postgres::Client::connect(base, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

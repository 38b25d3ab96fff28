//! What the fuzz targets that go through the service share: a store with a few generated
//! episodes (on /dev/shm when there is one: every submission commits), the service's
//! router, a gateway session and a citizen's session. Requests run in process, on one
//! runtime, through the same router `serve` uses.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use synth::{Config, Generator};
use dossier::{Options, Spec};
use store::{Access, Meta, Prepared, Source, SqliteStore, Store, Token, now_ms};
use tower::ServiceExt as _;

/// The gateway password (its MD5 form, as the protocol sends it).
pub const PASSWORD_MD5: &str = "0123456789ABCDEF0123456789ABCDEF";
pub const ACCESS_TOKEN: &str = "fuzz-access-token";
pub const ID_TOKEN: &str = "fuzz-id-token";
pub const USERNAME: &str = "fuzz";

pub struct World {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    /// The facility of the gateway account.
    pub facility: String,
    /// A citizen's session token, and their person id.
    pub citizen: String,
    pub person: i64,
    _dir: tempfile::TempDir,
}

pub fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(build)
}

fn build() -> World {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm").unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let store = Arc::new(SqliteStore::open(dir.path().join("book.db")).unwrap());
    let (units, facilities) = server::registry::synthetic_catalog();
    store.import_units(&units).unwrap();
    store.import_facilities(&facilities).unwrap();
    let g = Generator::new(Config {
        persons: 10,
        episodes: 30,
        seed: 5,
        ..Config::default()
    });
    for e in g.episodes() {
        let raw = e.envelope_bytes(Spec::Qd3176);
        let parsed = dossier::parse_envelope(&raw, &Options::default());
        let meta = Meta {
            facility: e.facility.code.into(),
            account: "fuzz-seed".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at: now_ms(),
        };
        store
            .ingest(Prepared::envelope(meta, &raw, &parsed))
            .unwrap();
    }
    let e0 = g.episode(0);
    let facility = e0.facility.code.to_string();
    store
        .upsert_account(USERNAME, &facility, PASSWORD_MD5)
        .unwrap();
    store
        .save_token(
            &Token {
                access_token: ACCESS_TOKEN.into(),
                id_token: ID_TOKEN.into(),
                username: USERNAME.into(),
                expires_at: now_ms() + 365 * 86_400_000,
            },
            PASSWORD_MD5,
        )
        .unwrap();
    let pid = e0
        .dossier
        .summary
        .as_ref()
        .and_then(|s| s.so_cccd.clone())
        .unwrap_or_default();
    let person = store
        .person_by_identifier(book::IdKind::PersonalId, &pid)
        .unwrap()
        .map(|p| p.id)
        .unwrap_or(1);
    let citizen = store.create_session(person, 365 * 86_400_000).unwrap();
    let app = server::App::new(store as Arc<dyn Store>, server::Config::default());
    World {
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        router: server::router(app),
        facility,
        citizen,
        person,
        _dir: dir,
    }
}

impl World {
    /// Run one request through the service; its status and body.
    pub fn call(&self, req: Request<Body>) -> (StatusCode, Vec<u8>) {
        self.rt.block_on(async {
            let res = self.router.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let body = axum::body::to_bytes(res.into_body(), 256 << 20)
                .await
                .unwrap_or_default();
            (status, body.to_vec())
        })
    }
}

/// Bytes as a URL query: letters, digits and the query's own punctuation kept, anything
/// else percent-encoded (so that every input makes a valid URI).
pub fn as_query(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 3);
    for &b in data {
        if b.is_ascii_alphanumeric() || b"-._~&=:,|+/$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

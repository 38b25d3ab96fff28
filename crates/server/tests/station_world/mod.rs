//! The world of the station tests (HTTP and browser): units, residents of two communes
//! (one dead), hospital dossiers of two of them (one with chronic codes, one whose
//! registry name differs), an officer of each commune, a server on loopback.

#![allow(dead_code)]

use std::sync::Arc;

use book::IdKind;
use book::access::Role;
use server::App;
use store::{Resident, StaffAccount, Store, Unit};
use synth::{Config, Generator};

pub const AN: &str = "001050000101";
pub const BINH: &str = "001090000102";
pub const CUONG: &str = "001070000103";
pub const DUNG: &str = "001045000104";

pub struct World {
    pub base: String,
    pub store: Arc<dyn Store>,
    /// The officer of Phường Ba Đình (00004), and of Phường Hoàn Kiếm (00040).
    pub tram01: String,
    pub tram40: String,
    pub an: i64,
    pub binh: i64,
    pub dung: i64,
    /// A person of the dossiers, resident in 00004, with chronic codes in them.
    pub chronic: (i64, Vec<String>),
    /// A person of the dossiers whose registry name differs.
    pub mismatched: i64,
    pub http: reqwest::Client,
    _dir: crate::common::Scratch,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn unit(code: &str, name: &str, level: &str, parent: Option<&str>) -> Unit {
    Unit {
        code: code.into(),
        name: name.into(),
        level: level.into(),
        parent: parent.map(Into::into),
        scheme: "2025".into(),
    }
}

fn commune_staff(username: &str, commune: &str) -> StaffAccount {
    StaffAccount {
        username: username.into(),
        full_name: format!("Cán bộ {username}"),
        role: Role::CommuneStaff,
        unit: Some(commune.into()),
        facility: None,
        practising_cert: None,
        active: true,
    }
}

fn resident(pid: &str, name: &str, birth: &str, sex: &str, unit: &str, status: &str) -> Resident {
    Resident {
        personal_id: pid.into(),
        name: Some(name.into()),
        birth: Some(birth.into()),
        sex: Some(sex.into()),
        unit: unit.into(),
        status: status.into(),
    }
}

pub async fn world() -> World {
    let dir = crate::common::scratch();
    let store = dir.open();
    store
        .upsert_unit(&unit("01", "Thành phố Hà Nội", "province", None))
        .unwrap();
    store
        .upsert_unit(&unit("00004", "Phường Ba Đình", "commune", Some("01")))
        .unwrap();
    store
        .upsert_unit(&unit("00040", "Phường Hoàn Kiếm", "commune", Some("01")))
        .unwrap();
    // Hospital dossiers of some people; two of them live in 00004.
    let g = Generator::new(Config {
        persons: 40,
        episodes: 400,
        seed: 31,
        ..Config::default()
    });
    crate::common::ingest_all(&store, &g);
    let mut with_chronic = Vec::new();
    let mut others = Vec::new();
    for j in 0..40 {
        let Some(pid) = g.person(j).personal_id else {
            continue;
        };
        let Some(p) = store
            .person_by_identifier(IdKind::PersonalId, &pid)
            .unwrap()
        else {
            continue;
        };
        let mut codes: Vec<String> = store
            .episodes_of(p.id)
            .unwrap()
            .iter()
            .flat_map(|e| {
                e.view
                    .main_diagnosis
                    .iter()
                    .chain(&e.view.secondary_diagnoses)
                    .map(|d| d.icd10.trim().to_ascii_uppercase())
                    .collect::<Vec<_>>()
            })
            .filter(|c| book::terms::chronic_group(c).is_some())
            .collect();
        codes.sort();
        codes.dedup();
        if codes.is_empty() {
            others.push((pid, p));
        } else {
            with_chronic.push((pid, p, codes));
        }
    }
    let (chronic_pid, chronic_person, codes) = with_chronic
        .into_iter()
        .max_by_key(|c| c.2.len())
        .expect("a person of the dossiers with a chronic code");
    let (other_pid, other_person) = others.pop().expect("a person without chronic codes");
    let mut residents = vec![
        resident(AN, "Nguyễn Văn An", "19500305", "1", "00004", "alive"),
        resident(BINH, "Trần Thị Bình", "19900412", "2", "00004", "alive"),
        resident(CUONG, "Lê Văn Cường", "19700101", "1", "00040", "alive"),
        resident(DUNG, "Phạm Văn Dũng", "19450101", "1", "00004", "dead"),
    ];
    // The registry agrees with the dossiers on the first; not on the second's name.
    residents.push(Resident {
        personal_id: chronic_pid,
        name: chronic_person.name.clone(),
        birth: chronic_person.birth.clone(),
        sex: chronic_person.sex.clone(),
        unit: "00004".into(),
        status: "alive".into(),
    });
    residents.push(Resident {
        personal_id: other_pid,
        name: Some("Hoàng Thị Khác Tên".into()),
        birth: other_person.birth.clone(),
        sex: other_person.sex.clone(),
        unit: "00004".into(),
        status: "alive".into(),
    });
    store.import_population(&residents).unwrap();
    let id = |pid: &str| {
        store
            .person_by_identifier(IdKind::PersonalId, pid)
            .unwrap()
            .unwrap()
            .id
    };
    let (an, binh, dung) = (id(AN), id(BINH), id(DUNG));
    let mut tokens = Vec::new();
    for (name, commune) in [("tram01", "00004"), ("tram40", "00040")] {
        store
            .upsert_staff(&commune_staff(name, commune), Some("mat-khau-tram"))
            .unwrap();
        tokens.push(store.create_staff_session(name, 3_600_000).unwrap());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel();
    let app = App::new(store.clone() as Arc<dyn Store>, server::Config::default());
    tokio::spawn(server::serve(listener, app, async {
        let _ = rx.await;
    }));
    World {
        base,
        store,
        tram40: tokens.pop().unwrap(),
        tram01: tokens.pop().unwrap(),
        an,
        binh,
        dung,
        chronic: (chronic_person.id, codes),
        mismatched: other_person.id,
        http: reqwest::Client::new(),
        _dir: dir,
        _stop: tx,
    }
}

//! The `healthbook` binary as a user runs it: exit codes, reports, gen → check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_healthbook"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).env("NO_COLOR", "1").output().unwrap()
}

fn samples() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vn-standards/samples");
    assert!(p.is_dir(), "shared samples expected at {}", p.display());
    p
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn synthetic_sample_passes() {
    let p = samples().join("synthetic/GIAMDINHHS_envelope_unsigned.xml");
    let o = run(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("hợp lệ"));
}

#[test]
fn public_sample_fails_and_names_its_faults() {
    let p = samples().join("med-ai-saas-proj_sample-bhxh-bundle.xml");
    let o = run(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    for code in [
        "ENVELOPE.THONGTINDONVI.NGAYLAP.unexpected",
        "ENVELOPE.DANHSACH_FILE.FILEHOSO.unexpected",
        "XML3.root.unexpected",
        "XML2.MA_NHOM.max_length",
    ] {
        assert!(out.contains(code), "{code} missing from:\n{out}");
    }
    // Vietnamese by default, English on request.
    assert!(out.contains("không được phép"));
    let o = run(&["check", "--lang", "en", p.to_str().unwrap()]);
    assert!(stdout(&o).contains("is not allowed inside"));
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(run(&["check"]).status.code(), Some(2));
    assert_eq!(
        run(&["check", "--spec", "999", "x.xml"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["check", "/nonexistent/healthbook.xml"]).status.code(),
        Some(2)
    );
}

#[test]
fn json_report_for_programs() {
    let dir = samples();
    let o = run(&["check", "--json", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let files = v["files"].as_array().unwrap();
    assert!(files.len() >= 8);
    let sample = files
        .iter()
        .find(|f| {
            f["path"]
                .as_str()
                .unwrap()
                .ends_with("GIAMDINHHS_envelope_unsigned.xml")
        })
        .unwrap();
    assert_eq!(sample["valid"], true);
    assert_eq!(sample["kind"], "envelope");
    assert_eq!(sample["dossiers"][0]["ma_lk"], "SYN20261015001");
    let bad = files
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("bhxh-bundle.xml"))
        .unwrap();
    let f = &bad["findings"][0];
    for key in ["severity", "code", "location", "message_vi", "message_en"] {
        assert!(!f[key].is_null(), "{key}");
    }
    assert_eq!(
        v["summary"]["files"].as_u64().unwrap() as usize,
        files.len()
    );
}

fn generate(dir: &Path, extra: &[&str]) {
    let mut args = vec!["gen", "--out", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn ten_thousand_generated_dossiers_check_clean() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &[
            "--persons",
            "1000",
            "--episodes",
            "10000",
            "--seed",
            "1",
            "--checkin",
        ],
    );
    let o = run(&["check", "--json", dir.path().to_str().unwrap()]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{}", v["summary"]);
    assert_eq!(v["summary"]["files"], 20_000);
    assert_eq!(v["summary"]["errors"], 0);
    assert_eq!(v["summary"]["dossiers"], 20_000);
    assert_eq!(v["summary"]["valid_dossiers"], 20_000);
}

#[test]
fn every_invalid_variant_is_flagged_with_its_own_code() {
    let dir = tempfile::tempdir().unwrap();
    generate(
        dir.path(),
        &["--episodes", "84", "--invalid", "--seed", "5"],
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let o = run(&["check", "--json", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let v = json(&o);
    let entries = manifest.as_array().unwrap();
    assert_eq!(entries.len(), 84);
    let mut faults = std::collections::BTreeSet::new();
    for e in entries {
        let file = e["file"].as_str().unwrap();
        let code = e["expected_code"].as_str().unwrap();
        let report = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(file))
            .unwrap();
        assert_eq!(report["valid"], false, "{file}");
        assert!(
            report["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["code"] == code),
            "{file}: expected {code}, got {}",
            report["findings"]
        );
        faults.insert(e["fault"].as_str().unwrap().to_string());
    }
    assert_eq!(faults.len(), synth::FAULTS.len());
}

#[test]
fn generation_is_deterministic_byte_for_byte() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    generate(a.path(), &["--episodes", "30", "--seed", "77"]);
    generate(b.path(), &["--episodes", "30", "--seed", "77"]);
    let mut names: Vec<_> = std::fs::read_dir(a.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 30);
    for n in names {
        assert_eq!(
            std::fs::read(a.path().join(&n)).unwrap(),
            std::fs::read(b.path().join(&n)).unwrap()
        );
    }
}

#[test]
fn billion_laughs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut s =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE GIAMDINHHS [\n <!ENTITY lol \"lol\">\n");
    for i in 1..10 {
        let prev = if i == 1 {
            "lol".to_string()
        } else {
            format!("lol{}", i - 1)
        };
        s.push_str(&format!(
            " <!ENTITY lol{i} \"{}\">\n",
            format!("&{prev};").repeat(10)
        ));
    }
    s.push_str(
        "]>\n<GIAMDINHHS><THONGTINDONVI><MACSKCB>&lol9;</MACSKCB></THONGTINDONVI></GIAMDINHHS>\n",
    );
    let p = dir.path().join("lol.xml");
    std::fs::write(&p, s).unwrap();
    let o = run(&["check", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("ENVELOPE.xml.dtd"));
}

#[test]
fn demo_seeds_a_store_and_prints_a_login_and_a_curl_line() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "demo",
        "--dir",
        dir.path().to_str().unwrap(),
        "--persons",
        "20",
        "--episodes",
        "100",
        "--no-serve",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout(&o);
    assert!(out.contains("100 lượt khám"), "{out}");
    assert!(
        out.contains("bv01001 / demo123")
            && out.contains("curl")
            && out.contains("guiHoSoXmlQD4750"),
        "{out}"
    );
    // A citizen login with a book to read.
    assert!(
        out.contains("mã khóa / passcode: 123456") && out.contains("/api/v1/citizen/login"),
        "{out}"
    );
    // Staff accounts of every role, and where clinicians sign in.
    assert!(
        out.contains("/nhan-vien")
            && out.contains("bs01001")
            && out.contains("qt01001")
            && out.contains("demo12345"),
        "{out}"
    );
    // Seeding twice does not duplicate.
    let o = run(&[
        "demo",
        "--dir",
        dir.path().to_str().unwrap(),
        "--episodes",
        "100",
        "--no-serve",
    ]);
    assert!(
        stdout(&o).contains("100 lượt khám"),
        "{}\n{}",
        stdout(&o),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn import_is_idempotent_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    generate(&files, &["--episodes", "120", "--seed", "8", "--checkin"]);
    let bad = dir.path().join("bad");
    generate(&bad, &["--episodes", "28", "--invalid"]);
    let db = dir.path().join("book.db");
    let db = db.to_str().unwrap();
    let o = run(&[
        "import",
        "--db",
        db,
        files.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = stdout(&o);
    assert!(
        out.contains("Imported 268 files")
            && out.contains("0 already there")
            && out.contains("240 accepted, 28 rejected"),
        "{out}"
    );
    let o = run(&[
        "import",
        "--db",
        db,
        files.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert!(
        stdout(&o).contains("268 already there, 0 accepted, 0 rejected"),
        "{}",
        stdout(&o)
    );
    // The book of one person, from the command line.
    let first = std::fs::read_dir(&files)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.path().is_file())
        .unwrap();
    let bytes = std::fs::read(first.path()).unwrap();
    let p = dossier::parse_envelope(&bytes, &dossier::Options::default());
    let s = p.value.dossiers[0].summary.clone().unwrap();
    let (flag, value) = match (&s.so_cccd, s.ma_the_bhyt.first()) {
        (Some(id), _) => ("--personal-id", id.clone()),
        (None, Some(card)) => ("--card", card.clone()),
        _ => return,
    };
    let o = run(&["book", "--db", db, flag, &value, "--versions"]);
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert!(
        v["episodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["ma_lk"] == s.ma_lk.clone().unwrap())
    );
    // A reader that stops at once (`| head`): the command ends quietly, no panic.
    for args in [
        vec!["book", "--db", db, flag, value.as_str(), "--versions"],
        vec!["person", "issues", "--db", db],
    ] {
        let mut child = bin()
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn registries_import_from_csv_all_or_nothing_and_staff_accounts_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("book.db");
    let db = db.to_str().unwrap();
    let units = dir.path().join("units.csv");
    std::fs::write(
        &units,
        "code,name,level,parent,scheme\n\
         01,Hà Nội,province,,pre2025\n\
         001,Quận Ba Đình,district,01,pre2025\n\
         00004,\"Phường Trúc Bạch, Ba Đình\",commune,001,pre2025\n\
         10105,Phường Ba Đình (mới),commune,01,2025\n",
    )
    .unwrap();
    let o = run(&["unit", "import", "--db", db, units.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&o).contains("4"));
    let listed = stdout(&run(&["unit", "list", "--db", db]));
    assert!(listed.contains("2025\tcommune\t10105\t01\t"), "{listed}");
    // A facility file with one bad line saves none of its lines.
    let facilities = dir.path().join("facilities.csv");
    std::fs::write(
        &facilities,
        "code,name,province,kind,bhyt_contract,unit\n\
         01001,\"Bệnh viện A, cơ sở 1\",01,hospital,1,00004\n\
         01002,Trạm Y tế phường,01,commune_station,1,99999\n",
    )
    .unwrap();
    let o = run(&[
        "facility",
        "import",
        "--db",
        db,
        facilities.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        err.contains("99999") && err.contains("nothing imported"),
        "{err}"
    );
    let o = run(&[
        "staff",
        "add",
        "--db",
        db,
        "--username",
        "bs1",
        "--full-name",
        "BS A",
        "--role",
        "clinician",
        "--facility",
        "01001",
        "--practising-cert",
        "1/CCHN",
        "--password",
        "mat-khau-1",
    ]);
    assert_eq!(o.status.code(), Some(2), "facility 01001 was not imported");
    std::fs::write(
        &facilities,
        "code,name,province,kind,bhyt_contract,unit\n01001,\"Bệnh viện A, cơ sở 1\",01,hospital,1,00004\n",
    )
    .unwrap();
    let o = run(&[
        "facility",
        "import",
        "--db",
        db,
        facilities.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A clinician needs a practising certificate; then the account is made.
    let o = run(&[
        "staff",
        "add",
        "--db",
        db,
        "--username",
        "bs1",
        "--full-name",
        "BS A",
        "--role",
        "clinician",
        "--facility",
        "01001",
        "--password",
        "mat-khau-1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("practising"));
    let o = run(&[
        "staff",
        "add",
        "--db",
        db,
        "--username",
        "bs1",
        "--full-name",
        "BS A",
        "--role",
        "clinician",
        "--facility",
        "01001",
        "--practising-cert",
        "1/CCHN",
        "--password",
        "mat-khau-1",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&run(&["staff", "list", "--db", db])).contains("bs1\tclinician\t01001\tactive"));
    // An empty audit log verifies.
    let o = run(&["audit", "verify", "--db", db]);
    assert_eq!(o.status.code(), Some(0));
}

/// On a SQLite file and on PostgreSQL: a clean log verifies (exit 0); a record edited
/// by someone who dropped the guard trigger is named (exit 1).
#[test]
fn audit_verify_exits_1_and_names_the_tampered_record() {
    use store::Store;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("pg.secret");
    let pg = store::testing::TempPostgres::new().unwrap();
    let file = dir.path().join("book.db");
    let file = file.to_str().unwrap();
    for (db, drop_guard) in [
        (file, "DROP TRIGGER audit_log_no_update;"),
        (pg.url(), "DROP TRIGGER audit_log_no_update ON audit_log;"),
    ] {
        {
            let s: Box<dyn Store> = if store::is_postgres(db) {
                Box::new(store::PostgresStore::connect(db, &secret).unwrap())
            } else {
                Box::new(store::SqliteStore::open(db).unwrap())
            };
            s.upsert_facility(&store::Facility {
                code: "01001".into(),
                name: "Bệnh viện A".into(),
                province: "01".into(),
                kind: "hospital".into(),
                bhyt_contract: true,
                unit: None,
            })
            .unwrap();
            for i in 0..3 {
                s.append_audit(&store::AuditEntry {
                    person_id: 42,
                    actor: "bs1".into(),
                    role: book::access::Role::Clinician,
                    facility: Some("01001".into()),
                    action: "summary".into(),
                    target: Some(i.to_string()),
                    basis: book::access::Basis::Consent,
                    grant_id: Some(7),
                    actor_name: Some("BS. A".into()),
                    actor_cert: Some("1/CCHN".into()),
                })
                .unwrap();
            }
            s.close();
        }
        let verify = || {
            bin()
                .args(["audit", "verify", "--db", db])
                .env("HEALTHBOOK_SECRET_FILE", &secret)
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        };
        let o = verify();
        assert_eq!(o.status.code(), Some(0), "{db}: {}", stdout(&o));
        assert!(stdout(&o).contains("3 records"), "{db}");
        store::testing::raw_sql(
            db,
            &format!("{drop_guard} UPDATE audit_log SET actor = 'someone' WHERE seq = 1;"),
        )
        .unwrap();
        let o = verify();
        assert_eq!(o.status.code(), Some(1), "{db}");
        assert!(
            stdout(&o).contains("person 42: record 1 was changed"),
            "{db}: {}",
            stdout(&o)
        );
    }
}

/// The FHIR recipe of docs/FHIR.md, run as written (bash, curl, jq, node) against a
/// demo server: `$everything` and `$summary` of the demo citizen pass the independent
/// validator, and `healthbook fhir export` writes NDJSON that passes it too.
#[test]
fn fhir_recipes_on_the_demo_pass_the_validator() {
    use std::io::{BufRead, BufReader};
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        root.join("tools/fhir-validate/node_modules/@medplum/core")
            .exists(),
        "the FHIR validator is not installed: run `npm ci --prefix tools/fhir-validate` (.ci/run does)"
    );
    let doc = std::fs::read_to_string(root.join("docs/FHIR.md")).unwrap();
    let block = |name: &str| {
        doc.split(&format!("<!-- {name}:start -->"))
            .nth(1)
            .and_then(|s| s.split(&format!("<!-- {name}:end -->")).next())
            .unwrap_or_else(|| panic!("docs/FHIR.md has the {name} block"))
            .trim()
            .trim_start_matches("```bash")
            .trim_end_matches("```")
            .to_string()
    };
    let script = block("recipe");
    let export_script = block("recipe-export");
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = bin()
        .args([
            "demo",
            "--dir",
            dir.path().join("demo").to_str().unwrap(),
            "--persons",
            "200",
            "--episodes",
            "1500",
            "--listen",
            &listen,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let out = child.stdout.take().unwrap();
    let _guard = Kill(child);
    let mut cccd = None;
    let mut client = None;
    for line in BufReader::new(out).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("personal ID: ").nth(1) {
            cccd = rest.split_whitespace().next().map(str::to_string);
        }
        if let Some(rest) = line.trim().strip_prefix("export CLIENT_ID=")
            && let Some((id, secret)) = rest.split_once(" CLIENT_SECRET=")
        {
            client = Some((id.to_string(), secret.to_string()));
        }
        if line.contains("Đang phục vụ") {
            break;
        }
    }
    let cccd = cccd.expect("the demo prints a citizen");
    // Run from a folder that sees the repository's tools/, as a user at the root would.
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::os::unix::fs::symlink(root.join("tools"), work.join("tools")).unwrap();
    let o = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &script])
        .current_dir(&work)
        .env("HB", format!("http://{listen}"))
        .env("CCCD", &cccd)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "the recipe failed:\n{report}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        report.contains("60591-5") || report.contains("11450-4"),
        "{report}"
    );
    assert!(report.contains(": 0 errors"), "{report}");
    let everything: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("everything.json")).unwrap()).unwrap();
    assert!(everything["total"].as_u64().unwrap() > 10, "{everything}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("summary.json")).unwrap()).unwrap();
    assert_eq!(
        summary["entry"][0]["resource"]["type"]["coding"][0]["code"],
        "60591-5"
    );
    println!("{}", report.lines().last().unwrap_or(""));

    // The HTTP bulk export recipe, as the demo's system client.
    let (client_id, secret) = client.expect("the demo prints its FHIR system client");
    let o = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &export_script])
        .current_dir(&work)
        .env("HB", format!("http://{listen}"))
        .env("CLIENT_ID", &client_id)
        .env("CLIENT_SECRET", &secret)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "the export recipe failed:\n{report}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(report.contains(": 0 errors"), "{report}");
    assert!(report.contains("deleted: 202"), "{report}");
    let http_encounters = std::fs::read_to_string(work.join("bulk/Encounter.ndjson"))
        .unwrap()
        .lines()
        .count();
    assert!(http_encounters > 0, "{report}");
    println!("{}", report.lines().rev().nth(1).unwrap_or(""));

    // The bulk export of province 01, validated the same way.
    let db = dir.path().join("demo/book.db");
    let export = dir.path().join("export");
    let o = run(&[
        "fhir",
        "export",
        "--db",
        db.to_str().unwrap(),
        "--unit",
        "01",
        "--out",
        export.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let files: Vec<PathBuf> = std::fs::read_dir(&export)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("Encounter.ndjson")),
        "{files:?}"
    );
    let v = Command::new("node")
        .arg(root.join("tools/fhir-validate/validate.mjs"))
        .args(&files)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&v.stdout).to_string();
    assert!(v.status.success(), "{report}");
    assert!(report.contains(": 0 errors"), "{report}");
    println!("{}", report.lines().last().unwrap_or(""));
    // The command and the HTTP export hold the same encounters.
    let cli_encounters = std::fs::read_to_string(export.join("Encounter.ndjson"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(cli_encounters, http_encounters);
    // An unknown type is refused, naming it.
    let o = run(&[
        "fhir",
        "export",
        "--db",
        db.to_str().unwrap(),
        "--unit",
        "01",
        "--out",
        export.to_str().unwrap(),
        "--type",
        "Patient,Medication",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("Medication"));
}

/// `keys status`, `keys rotate` and `keys encrypt` as an operator runs them.
#[test]
fn keys_show_rotate_and_seal() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    generate(&files, &["--episodes", "30", "--seed", "4", "--checkin"]);
    let db = dir.path().join("book.db");
    let db = db.to_str().unwrap();
    let o = run(&["import", "--db", db, files.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let key = PathBuf::from(format!("{db}.key"));
    let status = |db: &str| json(&run(&["keys", "status", "--db", db, "--json"]));
    let before = status(db);
    let column = |s: &serde_json::Value, name: &str| {
        s["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["column"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        column(&before, "episodes.body")["sealed"],
        serde_json::json!([[1, 30]])
    );
    assert_eq!(column(&before, "checkins.body")["plain"], 0);
    assert!(
        column(&before, "checkins.body")["sealed"][0][1]
            .as_u64()
            .unwrap()
            > 0
    );
    let o = run(&["keys", "status", "--db", db]);
    assert!(stdout(&o).contains(key.to_str().unwrap()), "{}", stdout(&o));
    // Rotation: a new master key in place, the old one kept beside it.
    let old_key = std::fs::read(&key).unwrap();
    let o = run(&["keys", "rotate", "--db", db, "--data-key"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_ne!(std::fs::read(&key).unwrap(), old_key);
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("book.db.key.") && n.ends_with(".old"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(std::fs::read(dir.path().join(&kept[0])).unwrap(), old_key);
    let after = status(db);
    assert_ne!(after["master"], before["master"]);
    assert_eq!(after["data_keys"].as_array().unwrap().len(), 2);
    // It opened with the new key (above); nothing is left to seal.
    let o = run(&["keys", "encrypt", "--db", db]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout(&o).contains("sealed 0 values"), "{}", stdout(&o));
}

//! README.md's shell sessions, run as written against a demo: every block fenced
//! ```` ```sh demo ```` is run in order, in one shell (a session's variables carry over),
//! with only the demo's address replaced and `cargo run --release --` standing for this
//! build's binary. A curl answering an HTTP error fails the run.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The demo server, stopped when the test ends however it ends.
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The blocks of README.md fenced ```` ```sh demo ````.
fn demo_blocks(readme: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh demo") => current = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(std::mem::take(b));
                current = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until_up(addr: &str, demo: &mut Demo) {
    let t = Instant::now();
    loop {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        if let Some(status) = demo.0.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(e) = demo.0.stderr.as_mut() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the demo stopped ({status}): {err}");
        }
        assert!(
            t.elapsed() < Duration::from_secs(300),
            "the demo did not start serving"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_readme_sessions_run_as_written() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let blocks = demo_blocks(&readme);
    assert!(blocks.len() >= 3, "README.md has its demo sessions");
    for b in &blocks {
        assert!(
            !b.contains("<person>") && !b.contains("<id>") && !b.contains("<ID>"),
            "a session must run as written, without placeholders:\n{b}"
        );
    }
    // A scratch folder standing where the README is run: the demo's folder in it, and
    // the standards folder beside it (the sessions name `../shared/…`).
    let scratch = tempfile::tempdir().unwrap();
    let work = scratch.path().join("healthbook");
    std::fs::create_dir(&work).unwrap();
    std::os::unix::fs::symlink(
        repo().join("../shared").canonicalize().unwrap(),
        scratch.path().join("shared"),
    )
    .unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let bin = env!("CARGO_BIN_EXE_healthbook");
    let mut demo = Demo(
        Command::new(bin)
            .args([
                "demo",
                "--persons",
                "200",
                "--episodes",
                "1000",
                "--listen",
                &addr,
            ])
            .current_dir(&work)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_until_up(&addr, &mut demo);
    let demo_json = work.join("healthbook-demo/demo.json");
    assert!(demo_json.is_file(), "demo.json is written before serving");

    let mut script = String::from(
        "set -euo pipefail\n\
         # An HTTP error answer fails the session.\n\
         curl() { command curl --fail-with-body \"$@\"; }\n",
    );
    for b in &blocks {
        script.push_str(
            &b.replace("http://127.0.0.1:8080", &format!("http://{addr}"))
                .replace("cargo run --release --", bin),
        );
        script.push('\n');
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "README sessions failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- script\n{script}",
        out.status
    );
    // What each session is there to show.
    assert!(
        stdout.contains("\"maKetQua\":\"200\""),
        "the gateway accepted the sample: {stdout}"
    );
    assert!(stdout.contains("\"soHoSoDaLuu\":1"));
    let pdf = std::fs::read(work.join("episode.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF"), "the visit's PDF was downloaded");
    assert!(
        stdout.contains("\"scope\":\"summary\""),
        "the consent was made: {stdout}"
    );
    assert!(
        stdout.contains("\"action\":\"summary\""),
        "the citizen's access log shows the clinician's read"
    );
    drop(demo);
    assert!(Path::new(&work).is_dir());
}

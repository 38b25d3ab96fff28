//! Signature verification per envelope, beside parsing the same envelope.
//! `cargo bench -p healthbook-sign --bench verify`

use std::process::Command;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sh = |args: &[&str]| {
        let ok = Command::new(args[0])
            .args(&args[1..])
            .current_dir(d)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "{args:?}");
    };
    sh(&[
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-days",
        "30",
        "-subj",
        "/CN=Bench facility",
    ]);
    let key = sign::SigningKey::from_pem(
        &std::fs::read(d.join("k.pem")).unwrap(),
        &std::fs::read(d.join("c.pem")).unwrap(),
    )
    .unwrap();
    let generator = synth::Generator::new(synth::Config {
        persons: 50,
        episodes: 100,
        seed: 2026,
        ..synth::Config::default()
    });
    let envelopes: Vec<Vec<u8>> = generator
        .episodes()
        .take(100)
        .map(|e| {
            sign::sign(
                &e.envelope_bytes(dossier::Spec::Qd3176),
                &key,
                sign::Algorithm::RsaSha256,
            )
            .unwrap()
        })
        .collect();
    let bytes: usize = envelopes.iter().map(Vec::len).sum();
    let verifier = sign::Verifier::from_pem(&std::fs::read(d.join("c.pem")).unwrap()).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    let mut g = c.benchmark_group("signed_envelopes_100");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("verify", |b| {
        b.iter(|| {
            for e in &envelopes {
                assert!(verifier.verify(e, now).status.is_verified());
            }
        })
    });
    g.bench_function("verify_without_trust_anchors", |b| {
        let plain_verifier = sign::Verifier::default();
        b.iter(|| {
            for e in &envelopes {
                assert!(plain_verifier.verify(e, now).status.is_verified());
            }
        })
    });
    g.bench_function("parse_and_validate", |b| {
        let opts = dossier::Options::default();
        b.iter(|| {
            for e in &envelopes {
                std::hint::black_box(dossier::parse_envelope(e, &opts));
            }
        })
    });
    g.bench_function("unsigned_fast_path", |b| {
        let plain: Vec<Vec<u8>> = generator
            .episodes()
            .take(100)
            .map(|e| e.envelope_bytes(dossier::Spec::Qd3176))
            .collect();
        b.iter(|| {
            for e in &plain {
                assert_eq!(verifier.verify(e, now).status, sign::Status::Unsigned);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

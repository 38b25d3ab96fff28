//! Parse + validate throughput on one core, for typical outpatient (XML1–4) and
//! inpatient (XML1–5, 7, 8) dossiers. `cargo bench -p healthbook-dossier --bench parse`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dossier::{Options, Spec, Table, parse_envelope};
use synth::{Config, Generator};

/// Generated envelopes whose dossier has exactly the tables wanted (and maybe others
/// of `optional`).
fn corpus(want: &[Table], optional: &[Table], n: usize) -> Vec<Vec<u8>> {
    let g = Generator::new(Config {
        persons: 5_000,
        episodes: 1_000_000,
        seed: 2026,
        ..Config::default()
    });
    let mut out = Vec::new();
    for i in 0..1_000_000 {
        let e = g.episode(i);
        let t = e.dossier.tables();
        if want.iter().all(|w| t.contains(w))
            && t.iter().all(|x| want.contains(x) || optional.contains(x))
        {
            out.push(e.envelope_bytes(Spec::Qd3176));
            if out.len() == n {
                break;
            }
        }
    }
    assert_eq!(out.len(), n, "not enough matching episodes");
    out
}

fn bench(c: &mut Criterion) {
    use Table::*;
    let opts = Options::default();
    let cases = [
        (
            "outpatient_xml1-4",
            corpus(&[Xml1, Xml2, Xml3, Xml4], &[Xml14], 200),
        ),
        (
            "inpatient_xml1-5_7_8",
            corpus(
                &[Xml1, Xml2, Xml3, Xml4, Xml5, Xml7, Xml8],
                &[Xml9, Xml11, Xml14],
                200,
            ),
        ),
    ];
    for (name, docs) in &cases {
        let bytes: usize = docs.iter().map(Vec::len).sum();
        for d in docs {
            assert!(parse_envelope(d, &opts).is_valid());
        }
        let mut g = c.benchmark_group(*name);
        g.sample_size(20);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function("bytes", |b| {
            b.iter(|| {
                for d in docs {
                    std::hint::black_box(parse_envelope(d, &opts));
                }
            })
        });
        g.throughput(Throughput::Elements(docs.len() as u64));
        g.bench_function("dossiers", |b| {
            b.iter(|| {
                for d in docs {
                    std::hint::black_box(parse_envelope(d, &opts));
                }
            })
        });
        // Reference: quick-xml alone reading the decoded inner documents (no
        // validation, no model), to show the ceiling the parser sits under.
        let inner: Vec<String> = docs
            .iter()
            .flat_map(|d| {
                let env = parse_envelope(d, &opts).value;
                env.dossiers
                    .iter()
                    .flat_map(|x| dossier::write::dossier_documents(x, Spec::Qd3176))
                    .map(|(_, doc)| doc)
                    .collect::<Vec<_>>()
            })
            .collect();
        let inner_bytes: usize = inner.iter().map(String::len).sum();
        g.throughput(Throughput::Bytes(inner_bytes as u64));
        g.bench_function("quick_xml_events_only_inner_bytes", |b| {
            b.iter(|| {
                let mut n = 0usize;
                for doc in &inner {
                    let mut r = quick_xml::Reader::from_str(doc);
                    while !matches!(r.read_event(), Ok(quick_xml::events::Event::Eof) | Err(_)) {
                        n += 1;
                    }
                }
                std::hint::black_box(n)
            })
        });
        g.finish();
        eprintln!(
            "{name}: {} dossiers, mean {} bytes",
            docs.len(),
            bytes / docs.len()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Hostile input: entities, huge payloads, deep nesting, garbage. Refused within
//! bounds, never a panic, and one bad HOSO never hides the verdict of the others.

mod common;

use std::time::Instant;

use base64::Engine as _;
use common::codes;
use dossier::{Limits, Options, Spec, parse_envelope, write};
use synth::{Config, Generator};

fn billion_laughs() -> Vec<u8> {
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
    s.into_bytes()
}

#[test]
fn billion_laughs_is_refused_at_the_doctype() {
    let bytes = billion_laughs();
    let t = Instant::now();
    let p = parse_envelope(&bytes, &Options::default());
    // Not a timing test: a sanity bound orders of magnitude above the real cost.
    assert!(t.elapsed().as_secs() < 5);
    assert!(!p.is_valid());
    assert_eq!(codes(&p.findings), vec!["ENVELOPE.xml.dtd"]);
    assert!(p.value.facility.is_empty(), "no entity may be expanded");
}

#[test]
fn doctype_inside_an_inner_document_is_refused() {
    let inner = "<?xml version=\"1.0\"?><!DOCTYPE TONG_HOP [<!ENTITY x \"y\">]><TONG_HOP><MA_LK>&x;</MA_LK></TONG_HOP>";
    let env = format!(
        "<GIAMDINHHS><THONGTINDONVI><MACSKCB>01001</MACSKCB></THONGTINDONVI><THONGTINHOSO><NGAYLAP>20251015</NGAYLAP><SOLUONGHOSO>1</SOLUONGHOSO><DANHSACHHOSO><HOSO><FILEHOSO><LOAIHOSO>XML1</LOAIHOSO><NOIDUNGFILE>{}</NOIDUNGFILE></FILEHOSO></HOSO></DANHSACHHOSO></THONGTINHOSO><CHUKYDONVI/></GIAMDINHHS>",
        base64::engine::general_purpose::STANDARD.encode(inner)
    );
    let p = parse_envelope(env.as_bytes(), &Options::default());
    assert!(
        codes(&p.findings).contains(&"XML1.xml.dtd"),
        "{:#?}",
        p.findings
    );
}

#[test]
fn undefined_entities_are_refused() {
    let env = b"<GIAMDINHHS><THONGTINDONVI><MACSKCB>&ext;</MACSKCB></THONGTINDONVI></GIAMDINHHS>";
    let p = parse_envelope(env, &Options::default());
    assert!(
        codes(&p.findings).contains(&"ENVELOPE.xml.entity"),
        "{:#?}",
        p.findings
    );
}

#[test]
fn limits_are_enforced_before_the_work() {
    let g = Generator::new(Config {
        persons: 1,
        episodes: 1,
        seed: 1,
        ..Config::default()
    });
    let bytes = g.episode(0).envelope_bytes(Spec::Qd3176);
    let tight = |l: Limits| Options {
        spec: Spec::Qd3176,
        limits: l,
    };
    let p = parse_envelope(
        &bytes,
        &tight(Limits {
            max_file_bytes: 100,
            ..Limits::default()
        }),
    );
    assert_eq!(codes(&p.findings), vec!["ENVELOPE.size"]);
    let p = parse_envelope(
        &bytes,
        &tight(Limits {
            max_inner_bytes: 64,
            ..Limits::default()
        }),
    );
    assert!(
        codes(&p.findings).contains(&"XML1.size"),
        "{:#?}",
        p.findings
    );
    let p = parse_envelope(
        &bytes,
        &tight(Limits {
            max_rows: 0,
            ..Limits::default()
        }),
    );
    assert!(
        codes(&p.findings)
            .iter()
            .any(|c| c.ends_with(".rows.limit")),
        "{:#?}",
        p.findings
    );
    let p = parse_envelope(
        &bytes,
        &tight(Limits {
            max_depth: 3,
            ..Limits::default()
        }),
    );
    assert!(
        codes(&p.findings).contains(&"ENVELOPE.xml.depth"),
        "{:#?}",
        p.findings
    );
}

#[test]
fn deep_nesting_is_bounded() {
    let mut s = String::from("<GIAMDINHHS>");
    for _ in 0..100_000 {
        s.push_str("<a>");
    }
    let p = parse_envelope(s.as_bytes(), &Options::default());
    assert!(!p.is_valid());
}

#[test]
fn one_bad_hoso_does_not_hide_the_others() {
    let g = Generator::new(Config {
        persons: 5,
        episodes: 3,
        seed: 5,
        ..Config::default()
    });
    let mut env = g.episode(0).envelope();
    env.dossiers = (0..3).map(|i| g.episode(i).dossier).collect();
    for d in &mut env.dossiers {
        // One facility sends them all.
        if let Some(s) = d.summary.as_mut() {
            s.ma_cskcb = Some(env.facility.clone());
        }
    }
    env.declared_count = Some(3);
    env.dossiers[1].summary.as_mut().unwrap().ho_ten = None;
    let bytes = write::envelope(&env, Spec::Qd3176);
    let p = parse_envelope(&bytes, &Options::default());
    let v: Vec<bool> = p.verdicts().into_iter().map(|(_, _, ok)| ok).collect();
    assert_eq!(v, vec![true, false, true], "{:#?}", p.findings);
    assert!(p.findings.iter().all(|f| f.location.hoso == Some(2)));
}

#[test]
fn garbage_never_panics() {
    let g = Generator::new(Config {
        persons: 3,
        episodes: 3,
        seed: 11,
        ..Config::default()
    });
    let valid = g.episode(0).envelope_bytes(Spec::Qd3176);
    let mut rng = fastrand::Rng::with_seed(99);
    for round in 0..3_000 {
        let mut b = valid.clone();
        match round % 4 {
            0 => {
                for _ in 0..rng.usize(1..20) {
                    let i = rng.usize(..b.len());
                    b[i] = rng.u8(..);
                }
            }
            1 => b.truncate(rng.usize(..b.len())),
            2 => {
                let i = rng.usize(..b.len());
                let j = rng.usize(i..b.len());
                b.drain(i..j);
            }
            _ => {
                b = (0..rng.usize(0..400)).map(|_| rng.u8(..)).collect();
            }
        }
        let _ = dossier::check(&b, &Options::default());
    }
}

/// What real vendors send: inner documents with a UTF-8 BOM (.NET), base64 wrapped
/// at 76 columns, Vietnamese in decomposed form (NFD), CDATA and escaped text.
#[test]
fn vendor_quirks_are_accepted() {
    let g = Generator::new(Config {
        persons: 3,
        episodes: 3,
        seed: 21,
        ..Config::default()
    });
    let e = g.episode(0);
    let docs: Vec<(String, String)> = write::dossier_documents(&e.dossier, Spec::Qd3176)
        .into_iter()
        .map(|(t, d)| {
            let d = if t == dossier::Table::Xml1 {
                // A name in NFD inside CDATA, and an address with an escaped ampersand.
                let name = e.dossier.summary.as_ref().unwrap().ho_ten.clone().unwrap();
                let nfd: String =
                    unicode_normalization::UnicodeNormalization::nfd(name.as_str()).collect();
                d.replace(
                    &format!("<HO_TEN>{name}</HO_TEN>"),
                    &format!("<HO_TEN><![CDATA[{nfd}]]></HO_TEN>"),
                )
            } else {
                d
            };
            (t.code().to_string(), d)
        })
        .collect();
    let env = e.envelope();
    let plain = String::from_utf8(write::envelope_from_documents(
        &env,
        std::slice::from_ref(&docs),
    ))
    .unwrap();
    // Re-encode each NOIDUNGFILE with a BOM and 76-column lines.
    let mut out = String::new();
    let mut rest = plain.as_str();
    let mut k = 0;
    while let Some(i) = rest.find("<NOIDUNGFILE>") {
        let j = i + rest[i..].find("</NOIDUNGFILE>").unwrap();
        out.push_str(&rest[..i + "<NOIDUNGFILE>".len()]);
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend_from_slice(docs[k].1.as_bytes());
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        for chunk in b64.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(chunk).unwrap());
            out.push_str("\r\n");
        }
        rest = &rest[j..];
        k += 1;
    }
    out.push_str(rest);
    let p = parse_envelope(out.as_bytes(), &Options::default());
    assert!(p.is_valid(), "{:#?}", p.findings);
    // NFC at the door: the model holds the composed name.
    assert_eq!(
        p.value.dossiers[0].summary.as_ref().unwrap().ho_ten,
        e.dossier.summary.as_ref().unwrap().ho_ten
    );
}

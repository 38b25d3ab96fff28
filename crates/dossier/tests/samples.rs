//! The shared samples: the synthetic one passes, the public non-conformant one
//! fails with its known faults named.

mod common;

use common::*;
use dossier::{Checked, Options, Spec, Table, parse_checkin, parse_envelope};

#[test]
fn synthetic_envelope_is_valid_in_every_spec_that_has_its_tables() {
    let bytes = synthetic_envelope();
    for spec in [Spec::Qd4750, Spec::Qd3176] {
        let p = parse_envelope(&bytes, &Options::spec(spec));
        assert!(p.is_valid(), "{spec}: {:#?}", p.findings);
        let env = &p.value;
        assert_eq!(env.facility, "01001");
        assert_eq!(env.declared_count, Some(1));
        assert_eq!(env.dossiers.len(), 1);
        let d = &env.dossiers[0];
        assert_eq!(d.ma_lk(), Some("SYN20261015001"));
        assert_eq!(
            d.tables(),
            vec![
                Table::Xml1,
                Table::Xml2,
                Table::Xml3,
                Table::Xml4,
                Table::Xml14
            ]
        );
        let s = d.summary.as_ref().unwrap();
        assert_eq!(s.so_cccd.as_deref(), Some("001090012345"));
        assert_eq!(s.ma_the_bhyt, vec!["DN4010123456789".to_string()]);
        assert_eq!(s.ma_loai_kcb.as_deref(), Some("01"));
        assert_eq!(
            s.t_tongchi_bv.map(|d| d.to_string()).as_deref(),
            Some("81700")
        );
        assert!(!d.drugs.is_empty() && !d.services.is_empty() && !d.results.is_empty());
        assert!(d.appointment.as_ref().unwrap().ngay_hen_kl.is_some());
        assert_eq!(p.verdicts(), vec![(1, Some("SYN20261015001".into()), true)]);
    }
}

#[test]
fn synthetic_envelope_under_qd130_flags_the_4750_only_table() {
    let p = parse_envelope(&synthetic_envelope(), &Options::spec(Spec::Qd130));
    assert!(codes(&p.findings).contains(&"HOSO.LOAIHOSO.not_in_spec"));
}

#[test]
fn synthetic_checkin_is_valid() {
    let bytes =
        std::fs::read(shared().join("samples/synthetic/XML0_checkin_unsigned.xml")).unwrap();
    let p = parse_checkin(&bytes, &Options::default());
    assert!(p.is_valid(), "{:#?}", p.findings);
    assert_eq!(p.value.rows.len(), 1);
    assert_eq!(p.value.rows[0].ma_lk.as_deref(), Some("SYN20261015001"));
}

#[test]
fn decoded_inner_documents_are_recognised_and_valid() {
    for (file, table) in [
        ("inner_XML1.xml", Table::Xml1),
        ("inner_XML2.xml", Table::Xml2),
        ("inner_XML3.xml", Table::Xml3),
        ("inner_XML4.xml", Table::Xml4),
        ("inner_XML14.xml", Table::Xml14),
    ] {
        let bytes = std::fs::read(shared().join("samples/synthetic").join(file)).unwrap();
        match dossier::check(&bytes, &Options::default()) {
            Checked::Table(t, p) => {
                assert_eq!(t, table);
                assert!(p.is_valid(), "{file}: {:#?}", p.findings);
            }
            _ => panic!("{file} not recognised as a table document"),
        }
    }
}

#[test]
fn public_sample_fails_and_names_its_faults() {
    let bytes =
        std::fs::read(shared().join("samples/med-ai-saas-proj_sample-bhxh-bundle.xml")).unwrap();
    let p = parse_envelope(&bytes, &Options::default());
    assert!(!p.is_valid());
    let c = codes(&p.findings);
    // The faults the samples README lists.
    for expected in [
        "ENVELOPE.THONGTINDONVI.NGAYLAP.unexpected",
        "ENVELOPE.DANHSACH_FILE.FILEHOSO.unexpected",
        "XML3.root.unexpected",
        "XML2.MA_NHOM.max_length",
    ] {
        assert!(c.contains(&expected), "missing {expected} in {c:#?}");
    }
    // Every finding says where it is and what is wrong, in both languages.
    for f in &p.findings {
        assert!(!f.message_vi.is_empty() && !f.message_en.is_empty());
    }
    // The three episodes are still found and judged one by one.
    assert_eq!(p.value.dossiers.len(), 3);
}

//! Property tests over the generator: every generated dossier validates, and every
//! planted fault is caught with its own code. Plus: the model covers every field.

mod common;

use dossier::{Options, Spec, Table, parse_envelope};
use proptest::prelude::*;
use synth::{Config, FAULTS, Generator};

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn generated_dossiers_validate(seed in any::<u64>(), index in 0usize..100_000) {
        let g = Generator::new(Config { persons: 10_000, episodes: 100_000, seed, ..Config::default() });
        let e = g.episode(index);
        for spec in [Spec::Qd4750, Spec::Qd3176] {
            let p = parse_envelope(&e.envelope_bytes(spec), &Options::spec(spec));
            let errors: Vec<_> = p.errors().collect();
            prop_assert!(errors.is_empty(), "seed {seed} episode {index} ({spec}): {errors:#?}");
        }
        let c = dossier::parse_checkin(&e.checkin_bytes(Spec::Qd3176), &Options::default());
        prop_assert!(c.is_valid(), "{:#?}", c.findings);
    }

    #[test]
    fn every_fault_is_caught_with_its_code(seed in any::<u64>(), index in 0usize..1_000) {
        let g = Generator::new(Config { persons: 500, episodes: 1_000, seed, ..Config::default() });
        for k in 0..FAULTS.len() {
            let i = index - index % FAULTS.len() + k;
            let (fault, bytes) = g.invalid_episode(i);
            let p = parse_envelope(&bytes, &Options::default());
            let c = common::codes(&p.findings);
            prop_assert!(c.contains(&fault.code), "fault {} (episode {i}): expected {}, got {c:#?}", fault.name, fault.code);
        }
    }
}

#[test]
fn every_fault_has_a_distinct_code() {
    let mut codes: Vec<_> = FAULTS.iter().map(|f| f.code).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), FAULTS.len());
}

/// Every field of every table of fields.json is in the model of every variant
/// (save the documented 3176 XML13 renames and removals, and XML12 which no
/// dossier carries).
#[test]
fn model_covers_every_field_of_fields_json() {
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/fields.json")).unwrap(),
    )
    .unwrap();
    let tables = [
        ("CI", Table::Xml0),
        ("1", Table::Xml1),
        ("2", Table::Xml2),
        ("3", Table::Xml3),
        ("4", Table::Xml4),
        ("5", Table::Xml5),
        ("6", Table::Xml6),
        ("7", Table::Xml7),
        ("8", Table::Xml8),
        ("9", Table::Xml9),
        ("10", Table::Xml10),
        ("11", Table::Xml11),
        ("13", Table::Xml13),
        ("14", Table::Xml14),
        ("15", Table::Xml15),
    ];
    let mut total = 0;
    for (key, table) in tables {
        let fields: Vec<&str> = json[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["code"].as_str().unwrap())
            .collect();
        let layout: Vec<&str> = dossier::spec::fields(Spec::Qd4750, table)
            .iter()
            .map(|f| f.code)
            .collect();
        assert_eq!(
            layout, fields,
            "{table}: QĐ 4750 layout is fields.json in order"
        );
        fn renamed_3176(c: &str) -> Option<&str> {
            match c {
                "MA_NOI_DI" => Some("MA_CSKCB_DI"),
                "MA_NOI_DEN" => Some("MA_CSKCB_DEN"),
                "PP_DIEU_TRI" => Some("TINH_TRANG_CT"),
                "TEN_DICH_VU" | "TEN_THUOC" => None,
                other => Some(other),
            }
        }
        let l3176: Vec<&str> = dossier::spec::fields(Spec::Qd3176, table)
            .iter()
            .map(|f| f.code)
            .collect();
        let expected: Vec<&str> = if table == Table::Xml13 {
            fields.iter().filter_map(|c| renamed_3176(c)).collect()
        } else {
            fields.clone()
        };
        assert_eq!(l3176, expected, "{table}: QĐ 3176 layout");
        // Each field lands in a typed field of the model and comes back out of it.
        for spec in [Spec::Qd4750, Spec::Qd3176] {
            for f in dossier::spec::fields(spec, table) {
                let mut values = vec![None; dossier::spec::fields(Spec::Qd4750, table).len() + 1];
                let sample = sample_value(f.kind);
                values[f.slot] = Some(sample.to_string());
                let back = if table == Table::Xml0 {
                    use dossier::Record;
                    dossier::model::CheckInRow::from_values(values).to_values()
                } else {
                    let mut d = dossier::Dossier::default();
                    d.set_rows(table, vec![values]);
                    d.rows(table).remove(0)
                };
                assert_eq!(
                    back[f.slot].as_deref(),
                    Some(sample),
                    "{table} {} ({spec})",
                    f.code
                );
            }
        }
        total += fields.len();
    }
    assert_eq!(
        total,
        26 + 66 + 39 + 47 + 12 + 9 + 47 + 26 + 22 + 35 + 13 + 23 + 39 + 22 + 20
    );
    assert!(
        json["12"].is_array(),
        "XML12 is in fields.json but never travels in a dossier"
    );
}

fn sample_value(kind: dossier::spec::Kind) -> &'static str {
    use dossier::spec::Kind::*;
    match kind {
        Text | Code => "X1",
        CodeList => "A1;B2",
        Integer => "7",
        Decimal(_) => "1.5",
        DateTime => "202510150830",
        Date => "20251015",
        BirthDate => "199001010000",
        DateOrDateTime => "20251015",
        DateList => "20251015;20251020",
        PersonId => "001090012345",
        BhytCard => "DN4010123456789",
        BhytCardList => "DN4010123456789;HT3010123456789",
        Bhxh => "0123456789",
        Facility => "01001",
        FacilityList => "01001;79560",
        Province => "01",
        Icd10 => "J02.9",
        Icd10List(_) => "J02.9;E11.9",
        BedList => "H001;T002",
        DecimalList => "3100;2900",
        Enum(c) => c.values().first().copied().unwrap_or("01"),
        Package => "G1",
        Departments => "K01;K02",
    }
}

/// QĐ 130 is derived from the 4750 correction notes: no XML13–15, no fields 4750
/// added, the sizes and types before the corrections.
#[test]
fn qd130_variant_is_derived_from_the_corrections() {
    assert!(dossier::spec::fields(Spec::Qd130, Table::Xml13).is_empty());
    let x1 = dossier::spec::fields(Spec::Qd130, Table::Xml1);
    assert!(!x1.iter().any(|f| f.code == "NHOM_MAU"));
    let doituong = dossier::spec::field(Spec::Qd130, Table::Xml1, "MA_DOITUONG_KCB").unwrap();
    // The appendix before 4750 says 3; the portal's QĐ 130 sheet allows 5 ("1.10").
    assert_eq!(doituong.max, Some(5));
    assert_eq!(doituong.appendix_max, Some(Some(3)));
    let x0 = dossier::spec::fields(Spec::Qd130, Table::Xml0);
    assert!(!x0.iter().any(|f| f.code == "NGAY_VAO_NOI_TRU"));
    let khoa = dossier::spec::field(Spec::Qd130, Table::Xml2, "MA_KHOA").unwrap();
    assert_eq!(khoa.max, Some(15));
}

/// The generator produces every shape later issues rely on.
#[test]
fn generator_covers_every_shape() {
    let g = Generator::new(Config {
        persons: 2_000,
        episodes: 4_000,
        seed: 12,
        ..Config::default()
    });
    let mut care = std::collections::BTreeSet::new();
    let (mut uninsured, mut multi_card, mut no_id_child, mut unknown_birthday) = (0, 0, 0, 0);
    let mut tables = std::collections::BTreeMap::<Table, usize>::new();
    for e in g.episodes() {
        let s = e.dossier.summary.as_ref().unwrap();
        care.insert(s.ma_loai_kcb.clone().unwrap());
        uninsured += s.ma_the_bhyt.is_empty() as usize;
        multi_card += (s.ma_the_bhyt.len() > 1) as usize;
        no_id_child += (s.so_cccd.is_none()) as usize;
        unknown_birthday += (s.ngay_sinh.unwrap().month == 0) as usize;
        for t in e.dossier.tables() {
            *tables.entry(t).or_default() += 1;
        }
    }
    let all: std::collections::BTreeSet<String> = (1..=10).map(|c| format!("{c:02}")).collect();
    assert_eq!(care, all, "every care type 01–10");
    assert!(
        uninsured > 100 && multi_card > 0 && no_id_child > 10 && unknown_birthday > 0,
        "uninsured {uninsured}, multi-card {multi_card}, children without ID {no_id_child}, unknown birthdays {unknown_birthday}"
    );
    // Every table of a dossier, the special programmes (XML6 HIV, XML10 pregnancy
    // rest, XML15 TB/HIV) too.
    for t in Table::IN_DOSSIER {
        assert!(tables.get(&t).copied().unwrap_or(0) > 5, "{t}: {tables:?}");
    }
    // Lab results carry values, units and reference ranges; imaging carries reports.
    let e = g
        .episodes()
        .find(|e| e.dossier.results.iter().any(|r| r.gia_tri.is_some()))
        .unwrap();
    let lab = e
        .dossier
        .results
        .iter()
        .find(|r| r.gia_tri.is_some())
        .unwrap();
    assert!(
        lab.don_vi_do.is_some()
            && lab
                .mo_ta
                .as_deref()
                .unwrap()
                .starts_with("Khoảng tham chiếu")
    );
    assert!(g.episodes().any(|e| {
        e.dossier
            .results
            .iter()
            .any(|r| r.gia_tri.is_none() && r.ket_luan.is_some())
    }));
}

/// Letters that only Vietnamese text holds (the English messages must hold none;
/// "QĐ", the name of a decision, is allowed).
fn vietnamese_letter(c: char) -> bool {
    "àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ"
        .contains(c.to_lowercase().next().unwrap_or(c))
}

/// Every field of every table, given a value that breaks its rule, and every planted
/// fault: the English message of each finding is English.
#[test]
fn english_messages_hold_no_vietnamese() {
    let g = Generator::new(Config {
        persons: 50,
        episodes: 200,
        seed: 7,
        ..Config::default()
    });
    let mut bad: Vec<String> = Vec::new();
    let mut check = |findings: &[dossier::Finding]| {
        for f in findings {
            // Values quoted from the file are the file's, in any language.
            let mut text = String::new();
            for (i, part) in f.message_en.replace("QĐ", "").split('"').enumerate() {
                if i % 2 == 0 {
                    text.push_str(part);
                }
            }
            if text.chars().any(vietnamese_letter) && !bad.iter().any(|b| b.starts_with(&f.code)) {
                bad.push(format!("{}: {}", f.code, f.message_en));
            }
        }
    };
    for i in 0..FAULTS.len() * 2 {
        let (_, bytes) = g.invalid_episode(i);
        check(&parse_envelope(&bytes, &Options::default()).findings);
    }
    // A long inpatient episode has most tables.
    let e = g
        .episodes()
        .max_by_key(|e| e.dossier.tables().len())
        .unwrap();
    for table in e.dossier.tables() {
        let rows = e.dossier.rows(table);
        for slot in 0..rows[0].len() {
            let mut d = e.dossier.clone();
            let mut r = rows.clone();
            r[0][slot] = Some("##".into());
            d.set_rows(table, r);
            let mut env = e.envelope();
            env.dossiers = vec![d];
            let raw = dossier::write::envelope(&env, Spec::Qd3176);
            check(&parse_envelope(&raw, &Options::default()).findings);
        }
    }
    let c = {
        let mut c = e.checkin.clone();
        c.rows[0].ma_lk = None;
        c.rows[0].so_cccd = Some("##".into());
        c.rows[0].ma_the_bhyt = Some("##".into());
        dossier::write::checkin(&c, Spec::Qd3176)
    };
    check(&dossier::parse_checkin(&c, &Options::default()).findings);
    assert!(
        bad.is_empty(),
        "English messages with Vietnamese in them:\n{}",
        bad.join("\n")
    );
}

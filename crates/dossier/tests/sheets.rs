//! Single-fault dossiers generated from the portal's rule sheets
//! (`spec/sheets/*.xlsx`, applied through `spec::fields` and `spec::sheet_rules`):
//! for every rule, a dossier that breaks only it must be refused with a finding on
//! its field, and a control that keeps it must not be.

use dossier::model::{Envelope, Values};
use dossier::spec::{Check, Kind, Req, SheetRule, When, fields, sheet_rules};
use dossier::{Finding, Options, Record, Spec, Table, parse_checkin, parse_envelope, write};
use synth::{Config, Generator};

/// A dossier as field texts, table by table.
#[derive(Clone)]
struct Raw {
    facility: String,
    /// Tables filled from field kinds (not the generator's).
    built: Vec<Table>,
    tables: Vec<(Table, Vec<Values>)>,
}

fn slot(table: Table, code: &str) -> Option<usize> {
    dossier::spec::fields(Spec::Qd4750, table)
        .iter()
        .chain(fields(Spec::Qd3176, table))
        .chain(fields(Spec::Qd130, table))
        .find(|f| f.code == code)
        .map(|f| f.slot)
}

impl Raw {
    fn rows(&mut self, table: Table) -> &mut Vec<Values> {
        let i = self.tables.iter().position(|(t, _)| *t == table).unwrap();
        &mut self.tables[i].1
    }
    fn get(&self, table: Table, code: &str) -> Option<String> {
        let s = slot(table, code)?;
        let (_, rows) = self.tables.iter().find(|(t, _)| *t == table)?;
        rows.first()?.get(s)?.clone()
    }
    fn set(&mut self, table: Table, code: &str, v: Option<&str>) {
        let Some(s) = slot(table, code) else {
            return;
        };
        for row in self.rows(table) {
            if row.len() <= s {
                row.resize(s + 1, None);
            }
            row[s] = v.map(str::to_string);
        }
    }
    fn has(&self, table: Table) -> bool {
        self.tables.iter().any(|(t, _)| *t == table)
    }

    /// Check this dossier (or, for XML0, its check-in) as the gateway would.
    fn findings(&self, spec: Spec) -> Vec<Finding> {
        let opts = Options::spec(spec);
        if let Some((_, rows)) = self.tables.iter().find(|(t, _)| *t == Table::Xml0) {
            let doc = write::table_document(Table::Xml0, spec, rows);
            return parse_checkin(doc.as_bytes(), &opts).findings;
        }
        let docs: Vec<(String, String)> = self
            .tables
            .iter()
            .filter(|(t, _)| t.in_spec(spec))
            .map(|(t, rows)| (t.code().to_string(), write::table_document(*t, spec, rows)))
            .collect();
        let env = Envelope {
            facility: self.facility.clone(),
            created: "20251020".into(),
            ..Envelope::default()
        };
        parse_envelope(&write::envelope_from_documents(&env, &[docs]), &opts).findings
    }
}

/// A valid value of a field kind, for rows the generator does not write.
fn sample(kind: Kind, xml1: &Raw, code: &str) -> String {
    if let Some(v) = xml1.get(Table::Xml1, code) {
        return v;
    }
    match kind {
        Kind::Integer => "1".into(),
        Kind::Decimal(_) => "1".into(),
        Kind::DateTime => "202510150830".into(),
        Kind::Date | Kind::DateOrDateTime | Kind::DateList => "20251015".into(),
        Kind::BirthDate => "199001010000".into(),
        Kind::PersonId => "001090012345".into(),
        Kind::BhytCard | Kind::BhytCardList => "DN4010123456789".into(),
        Kind::Bhxh => "0123456789".into(),
        Kind::Facility | Kind::FacilityList => "01001".into(),
        Kind::Province => "01".into(),
        Kind::Icd10 | Kind::Icd10List(_) => "J02.9".into(),
        Kind::BedList => "H001".into(),
        Kind::DecimalList => "3100".into(),
        Kind::Enum(c) => c.values().first().copied().unwrap_or("01").into(),
        Kind::Package => "G1".into(),
        Kind::Departments => "K01".into(),
        Kind::Text | Kind::Code | Kind::CodeList => "X1".into(),
    }
}

/// A generated inpatient dossier, plus one row of every table the generator did not
/// write (filled from the field kinds and XML1), plus its check-in.
fn base(spec: Spec) -> (Raw, Raw) {
    let g = Generator::new(Config {
        persons: 50,
        episodes: 400,
        seed: 5,
        spec,
        ..Config::default()
    });
    let e = g
        .episodes()
        .find(|e| {
            let s = e.dossier.summary.as_ref().unwrap();
            s.ma_loai_kcb.as_deref() == Some("03")
                && e.dossier.discharge.is_some()
                && !e.dossier.drugs.is_empty()
                && !e.dossier.results.is_empty()
        })
        .expect("an inpatient episode with drugs and results");
    let d = &e.dossier;
    let mut raw = Raw {
        facility: e.facility.code.to_string(),
        tables: d.tables().into_iter().map(|t| (t, d.rows(t))).collect(),
        built: Vec::new(),
    };
    for table in Table::IN_DOSSIER {
        if raw.has(table) || !table.in_spec(spec) {
            continue;
        }
        let row: Values = {
            let layout = fields(spec, table);
            let n = layout.iter().map(|f| f.slot + 1).max().unwrap_or(0);
            let mut row = vec![None; n];
            for f in layout {
                if let Some(target) = f.mirrors_xml1 {
                    row[f.slot] = raw.get(Table::Xml1, target);
                } else if f.req == Req::Required {
                    let mut v = sample(f.kind, &raw, f.code);
                    if f.declared == dossier::spec::DeclaredType::Number
                        && matches!(f.kind, Kind::Text | Kind::Code | Kind::CodeList)
                    {
                        v = "1".into();
                    }
                    if let Some(max) = f.max {
                        v.truncate(max as usize);
                    }
                    row[f.slot] = Some(v);
                }
            }
            row
        };
        raw.tables.push((table, vec![row]));
        raw.built.push(table);
    }
    let checkin = Raw {
        facility: e.facility.code.to_string(),
        built: Vec::new(),
        tables: vec![(
            Table::Xml0,
            dossier::parse_checkin(&e.checkin_bytes(spec), &Options::spec(spec))
                .value
                .rows
                .iter()
                .map(Record::to_values)
                .collect(),
        )],
    };
    (raw, checkin)
}

/// Whether an error sits on `field` of `table`.
fn flags(findings: &[Finding], table: Table, field: &str) -> bool {
    findings.iter().any(|f| {
        f.severity == dossier::Severity::Error
            && f.location.table == Some(table)
            && f.location.field == Some(field)
    })
}

/// A value of `v`'s length one day before it (dates and date-times).
fn day_before(v: &str) -> String {
    let d =
        chrono::NaiveDate::parse_from_str(&v[..8], "%Y%m%d").unwrap() - chrono::Duration::days(1);
    format!("{}{}", d.format("%Y%m%d"), &v[8..])
}

/// Make the condition of a rule hold on the row.
fn make_hold(raw: &mut Raw, table: Table, when: When) {
    match when {
        When::In(f, values) => raw.set(table, f, Some(values[0])),
        When::NotIn(f, values) => {
            if raw
                .get(table, f)
                .is_none_or(|v| values.contains(&v.as_str()))
            {
                let other = ["1", "2", "4", "10", "3"]
                    .into_iter()
                    .find(|x| !values.contains(x))
                    .unwrap();
                raw.set(table, f, Some(other));
            }
        }
        When::Present(f) => {
            if raw.get(table, f).is_none() {
                raw.set(
                    table,
                    f,
                    Some(if f.starts_with("NGAY") {
                        "202510150900"
                    } else {
                        "X1"
                    }),
                );
            }
        }
        When::AllAbsent(fs) => {
            for f in fs {
                raw.set(table, f, None);
            }
        }
    }
}

/// The fault and the control of one rule: (fault, control, what must be flagged).
fn cases(rule: &SheetRule, dossier: &Raw, checkin: &Raw) -> Option<(Raw, Raw, String)> {
    let t = rule.table;
    let f = rule.field;
    let start = if t == Table::Xml0 { checkin } else { dossier };
    if !start.has(t) || slot(t, f).is_none() {
        return None;
    }
    let (mut bad, mut good) = (start.clone(), start.clone());
    // One row of the rule's table: the fault and the control are on it alone.
    bad.rows(t).truncate(1);
    good.rows(t).truncate(1);
    let start = &good.clone();
    let code = format!("{}.{f}", t.code());
    match rule.check {
        Check::RequiredWhen(when) => {
            for r in [&mut bad, &mut good] {
                make_hold(r, t, when);
            }
            bad.set(t, f, None);
            if good.get(t, f).is_none() {
                let v = match f {
                    "TUOI_THAI"
                    | "LAN_XN_PCR"
                    | "MA_KQ_XN_PCR"
                    | "MA_BAC_PHAC_DO"
                    | "PHACDO_DTRI_LAO"
                    | "SO_NGAY_CAP_THUOC_ARV" => "1",
                    "THOIGIAN_DINHCHI" | "NGAY_TH_YL" | "NGAY_KQ" => "202510160900",
                    _ if f.contains("NGAY") => "20251016",
                    _ => "X1",
                };
                good.set(t, f, Some(v));
            }
        }
        Check::AllOrNone(others) => {
            for o in others.iter().copied().chain([f]) {
                let v = match o {
                    "SO_NGAY_NGHI" => "5",
                    "NGOAITRU_TUNGAY" => "20251020",
                    _ => "20251024",
                };
                bad.set(t, o, Some(v));
                good.set(t, o, Some(v));
            }
            bad.set(t, f, None);
        }
        Check::NotBefore(other) => {
            let earlier = start
                .get(t, other)
                .or_else(|| start.get(Table::Xml1, other))?;
            let len = start.get(t, f).map_or(earlier.len(), |v| v.len());
            let same = if len == 8 {
                earlier[..8].to_string()
            } else {
                format!("{:0<12}", earlier)
            };
            bad.set(t, f, Some(&day_before(&same)));
            good.set(t, f, Some(&same));
        }
        Check::AtMostDaysBetween(from, to) => {
            for r in [&mut bad, &mut good] {
                r.set(t, from, Some("20250101"));
                r.set(t, to, Some("20250131"));
            }
            bad.set(t, f, Some("31"));
            good.set(t, f, Some("30"));
        }
        Check::OnlyForCareTypes(care) => {
            bad.set(Table::Xml1, "MA_LOAI_KCB", Some("02"));
            good.set(Table::Xml1, "MA_LOAI_KCB", Some(care[0]));
            return Some((bad, good, format!("HOSO.{}.care_type", t.code())));
        }
        Check::EqualsXml1 => {
            let target = dossier::spec::fields(Spec::Qd4750, t)
                .iter()
                .find(|x| x.code == f)?
                .mirrors_xml1?;
            // Compared only when XML1 has a value (see validate::across_tables): when
            // the sample's XML1 leaves it empty, both get one.
            let v = start
                .get(Table::Xml1, target)
                .or_else(|| start.get(t, f))
                .or_else(|| xml1_sample(target).map(str::to_string));
            for r in [&mut bad, &mut good] {
                r.set(Table::Xml1, target, v.as_deref());
            }
            good.set(t, f, v.as_deref());
            let other = match v.as_deref() {
                Some(v) if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() => {
                    let last = (v.as_bytes()[v.len() - 1] - b'0' + 1) % 10;
                    format!("{}{last}", &v[..v.len() - 1])
                }
                Some(v) => format!("{v}X"),
                None => "X1".to_string(),
            };
            bad.set(t, f, Some(&other));
        }
        Check::Field { bad: value } => {
            bad.set(t, f, Some(value));
        }
    }
    Some((bad, good, code))
}

fn codes(f: &[Finding]) -> Vec<String> {
    f.iter()
        .filter(|f| f.severity == dossier::Severity::Error)
        .map(|f| format!("{} {:?}", f.code, f.location.field))
        .collect()
}

fn hit(findings: &[Finding], table: Table, field: &str, expect: &str, check: Check) -> bool {
    if expect.starts_with("HOSO.") {
        findings.iter().any(|f| f.code == expect)
    } else {
        // On the field, or naming it (a formula's finding sits on its result).
        flags(findings, table, field)
            || matches!(check, Check::Field { .. })
                && findings.iter().any(|f| {
                    f.severity == dossier::Severity::Error
                        && f.location.table == Some(table)
                        && f.message_vi.contains(field)
                })
    }
}

#[test]
fn every_sheet_rule_refuses_its_single_fault_and_passes_its_control() {
    let mut report = Vec::new();
    for spec in [Spec::Qd4750, Spec::Qd130] {
        let (dossier, checkin) = base(spec);
        // The bases themselves: the generated parts are valid.
        let f = Raw {
            tables: dossier
                .tables
                .iter()
                .filter(|(t, _)| !dossier.built.contains(t))
                .cloned()
                .collect(),
            ..dossier.clone()
        }
        .findings(spec);
        assert!(
            !f.iter().any(|f| f.severity == dossier::Severity::Error),
            "{spec} base: {f:#?}"
        );
        let f = checkin.findings(spec);
        assert!(
            !f.iter().any(|f| f.severity == dossier::Severity::Error),
            "{spec} check-in base: {f:#?}"
        );

        let (mut faults, mut skipped) = (0, Vec::new());
        for rule in sheet_rules(spec) {
            let Some((bad, good, expect)) = cases(rule, &dossier, &checkin) else {
                skipped.push(format!("{} {}", rule.table, rule.field));
                continue;
            };
            let fb = bad.findings(spec);
            assert!(
                hit(&fb, rule.table, rule.field, &expect, rule.check),
                "{spec} {} {} ({:?}): the fault is not refused: {:?}",
                rule.table,
                rule.field,
                rule.check,
                codes(&fb)
            );
            let fg = good.findings(spec);
            assert!(
                !hit(&fg, rule.table, rule.field, &expect, rule.check),
                "{spec} {} {} ({:?}): the control is refused: {:?}",
                rule.table,
                rule.field,
                rule.check,
                codes(&fg)
            );
            faults += 1;
        }
        // The layout: every required field emptied, every bounded field one
        // character too long.
        let mut layout = 0;
        for (table, _) in &dossier.tables {
            for field in fields(spec, *table) {
                if field.req == Req::Required && field.code != "MA_LK" {
                    let mut bad = dossier.clone();
                    bad.set(*table, field.code, None);
                    let fb = bad.findings(spec);
                    assert!(
                        fb.iter()
                            .any(|f| f.code == format!("{}.{}.required", table.code(), field.code)),
                        "{spec} {table} {}: empty but not refused",
                        field.code
                    );
                    layout += 1;
                }
                if let Some(max) = field.max
                    && max < 5000
                {
                    let mut bad = dossier.clone();
                    bad.set(*table, field.code, Some(&"1".repeat(max as usize + 1)));
                    let fb = bad.findings(spec);
                    assert!(
                        flags(&fb, *table, field.code),
                        "{spec} {table} {}: {} characters not refused",
                        field.code,
                        max + 1
                    );
                    layout += 1;
                }
            }
        }
        assert!(
            skipped.is_empty(),
            "{spec}: rules with no case: {skipped:?}"
        );
        report.push(format!(
            "{spec}: {faults} rule faults and controls, {layout} layout faults"
        ));
    }
    eprintln!("{}", report.join("\n"));
}

/// The check-ins `gen --spec 130 --checkin` writes carry MA_DOITUONG_KCB like
/// "1.1", which the QĐ 130 sheet allows (5 characters).
#[test]
fn qd130_checkins_with_dotted_categories_pass() {
    let (_, checkin) = base(Spec::Qd130);
    let mut c = checkin.clone();
    c.set(Table::Xml0, "MA_DOITUONG_KCB", Some("1.10"));
    let f = c.findings(Spec::Qd130);
    assert!(!flags(&f, Table::Xml0, "MA_DOITUONG_KCB"), "{f:#?}");
}

/// A well-formed value for an XML1 field the sample leaves empty, so that a rule
/// "equal to XML1 when present" can be broken.
fn xml1_sample(code: &str) -> Option<&'static str> {
    Some(match code {
        "MA_BENH_KT" => "I10",
        "MA_BENH_YHCT" => "U50.041",
        "MA_NOI_DI" | "MA_NOI_DEN" => "01001",
        "NGAY_VAO_NOI_TRU" => "202501020800",
        "SO_CCCD" => "001090000001",
        _ => return None,
    })
}

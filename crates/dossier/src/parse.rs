//! Reading files: the `GIAMDINHHS` envelope, its inner table documents, the
//! check-in message, and standalone table documents. Parsing never fails: it
//! returns what it could build and every finding.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use crate::finding::{Finding, Location, has_errors};
use crate::generated;
use crate::model::{CheckIn, CheckInRow, Dossier, Envelope, Record, Texts};
use crate::spec::{Spec, Table, fields};
use crate::validate;
use crate::xml::{Ev, Guarded, XmlError, same, utf8_text};

/// Bounds on what one file may hold. Anything beyond is refused with a finding,
/// before the work it would cost is done.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Bytes of a whole envelope or check-in file.
    pub max_file_bytes: usize,
    /// Bytes of one decoded inner document.
    pub max_inner_bytes: usize,
    /// Rows of one table.
    pub max_rows: usize,
    /// `HOSO` elements in one envelope.
    pub max_dossiers: usize,
    /// Element nesting depth.
    pub max_depth: usize,
    /// Findings listed one by one; the rest are counted per code ([`crate::finding::cap`]).
    pub max_findings: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 64 << 20,
            max_inner_bytes: 16 << 20,
            max_rows: 20_000,
            max_dossiers: 1_000,
            max_depth: 16,
            max_findings: 1_000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub spec: Spec,
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            spec: Spec::Qd3176,
            limits: Limits::default(),
        }
    }
}

impl Options {
    pub fn spec(spec: Spec) -> Self {
        Options {
            spec,
            ..Options::default()
        }
    }
}

/// What a parse produced: the value it could build and everything it found.
#[derive(Clone, Debug, Default)]
pub struct Parsed<T> {
    pub value: T,
    pub findings: Vec<Finding>,
}

impl<T> Parsed<T> {
    /// No error (warnings allowed).
    pub fn is_valid(&self) -> bool {
        !has_errors(&self.findings)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_error())
    }
}

impl Parsed<Envelope> {
    /// The verdict of each `HOSO` on its own: (1-based index, MA_LK, valid).
    /// Envelope-level errors (no HOSO index) make every HOSO invalid.
    pub fn verdicts(&self) -> Vec<(usize, Option<String>, bool)> {
        let envelope_bad = self
            .findings
            .iter()
            .any(|f| f.is_error() && f.location.hoso.is_none());
        self.value
            .dossiers
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let idx = i + 1;
                let bad = envelope_bad
                    || self
                        .findings
                        .iter()
                        .any(|f| f.is_error() && f.location.hoso == Some(idx));
                (idx, d.ma_lk().map(str::to_string), !bad)
            })
            .collect()
    }
}

/// What kind of document a file is, from its root element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DocKind {
    Envelope,
    CheckIn,
    /// A standalone inner table document (as found inside `NOIDUNGFILE`).
    Table(Table),
}

pub fn detect(bytes: &[u8]) -> Option<DocKind> {
    let text = utf8_text(bytes).ok()?;
    let root = crate::xml::root_name(text)?;
    if root == "GIAMDINHHS" {
        return Some(DocKind::Envelope);
    }
    if root == Table::Xml0.shape().root {
        return Some(DocKind::CheckIn);
    }
    Table::IN_DOSSIER
        .into_iter()
        .find(|t| t.shape().root == root)
        .map(DocKind::Table)
}

/// Any checkable document, parsed and validated.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per file, moved once
pub enum Checked {
    Envelope(Parsed<Envelope>),
    CheckIn(Parsed<CheckIn>),
    Table(Table, Parsed<Dossier>),
    /// Not a document we know: the findings say why.
    Unknown(Vec<Finding>),
}

impl Checked {
    pub fn findings(&self) -> &[Finding] {
        match self {
            Checked::Envelope(p) => &p.findings,
            Checked::CheckIn(p) => &p.findings,
            Checked::Table(_, p) => &p.findings,
            Checked::Unknown(f) => f,
        }
    }

    pub fn is_valid(&self) -> bool {
        !has_errors(self.findings())
    }
}

/// Parse and validate any file: envelope, check-in or standalone table document.
pub fn check(bytes: &[u8], opts: &Options) -> Checked {
    if bytes.len() > opts.limits.max_file_bytes {
        return Checked::Unknown(vec![too_big(
            "FILE",
            bytes.len(),
            opts.limits.max_file_bytes,
        )]);
    }
    match detect(bytes) {
        Some(DocKind::Envelope) => Checked::Envelope(parse_envelope(bytes, opts)),
        Some(DocKind::CheckIn) => Checked::CheckIn(parse_checkin(bytes, opts)),
        Some(DocKind::Table(t)) => Checked::Table(t, parse_table_document(bytes, t, opts)),
        None => {
            // Say precisely why: encoding, XML error, or an unknown root.
            let f = match utf8_text(bytes) {
                Err(_) => Finding::error(
                    "FILE.utf8",
                    "Tệp không phải văn bản UTF-8",
                    "The file is not UTF-8 text",
                ),
                Ok(text) => {
                    let mut g = Guarded::new(text, opts.limits.max_depth);
                    match g.next_event() {
                        Err(e) => xml_finding("FILE", &e),
                        Ok(Ev::Start { name, .. }) => Finding::error(
                            "FILE.root.unknown",
                            format!(
                                "Phần tử gốc <{name}> không phải GIAMDINHHS, CHI_TIEU_TRANG_THAI_KCB hay một bảng XML1–XML15"
                            ),
                            format!(
                                "Root element <{name}> is not GIAMDINHHS, CHI_TIEU_TRANG_THAI_KCB or a table XML1–XML15"
                            ),
                        )
                        .value(name),
                        Ok(_) => Finding::error(
                            "FILE.empty",
                            "Tệp không chứa phần tử XML nào",
                            "The file holds no XML element",
                        ),
                    }
                }
            };
            Checked::Unknown(vec![f])
        }
    }
}

fn too_big(scope: &str, got: usize, max: usize) -> Finding {
    Finding::error(
        format!("{scope}.size"),
        format!("Kích thước {got} byte vượt giới hạn {max} byte"),
        format!("Size {got} bytes exceeds the limit of {max} bytes"),
    )
    .value(&got.to_string())
}

fn xml_finding(scope: &str, e: &XmlError) -> Finding {
    Finding::error(
        format!("{scope}.xml.{}", e.code()),
        e.message_vi(),
        format!("XML: {e}"),
    )
}

/// The rows of one table document, as field texts by slot, plus findings.
pub(crate) struct RawTable<'a> {
    pub rows: Vec<Texts<'a>>,
    /// The `CHUKYDONVI` element of a check-in file, raw.
    pub signature: Vec<u8>,
}

/// Read an inner table document of `table` into rows of field texts.
/// `loc` is the location prefix (HOSO index) for findings.
pub(crate) fn read_table<'a>(
    text: &'a str,
    table: Table,
    opts: &Options,
    loc: &Location,
    findings: &mut Vec<Finding>,
) -> RawTable<'a> {
    let mut out = RawTable {
        rows: Vec::new(),
        signature: Vec::new(),
    };
    let tcode = table.code();
    let shape = table.shape();
    let layout = fields(opts.spec, table);
    let nslots = generated::slots(table);
    let at = |field: Option<&'static str>| Location {
        table: Some(table),
        field,
        ..loc.clone()
    };
    let mut g = Guarded::new(text, opts.limits.max_depth);
    let result: Result<(), XmlError> = (|| {
        // Root.
        let root_empty = loop {
            match g.next_event()? {
                Ev::Start { name, empty } => {
                    if name != shape.root {
                        findings.push(
                            Finding::error(
                                format!("{tcode}.root.unexpected"),
                                format!(
                                    "Phần tử gốc của {tcode} phải là <{}>, nhận được <{name}>",
                                    shape.root
                                ),
                                format!(
                                    "The root element of {tcode} must be <{}>, found <{name}>",
                                    shape.root
                                ),
                            )
                            .at(at(None))
                            .value(name),
                        );
                        return Ok(());
                    }
                    break empty;
                }
                Ev::Eof => {
                    findings.push(
                        Finding::error(
                            format!("{tcode}.empty"),
                            format!("Tài liệu {tcode} không có phần tử nào"),
                            format!("The {tcode} document has no element"),
                        )
                        .at(at(None)),
                    );
                    return Ok(());
                }
                _ => {}
            }
        };
        if root_empty {
            if shape.wrapper.is_none() {
                out.rows.push(vec![None; nslots]);
            }
            return Ok(());
        }
        if shape.wrapper.is_none() {
            // The root is the record.
            let row = read_record(&mut g, table, layout, nslots, 1, &at, findings)?;
            out.rows.push(row);
            return Ok(());
        }
        let wrapper = shape.wrapper.unwrap_or_default();
        let mut seen_wrapper = false;
        loop {
            match g.next_event()? {
                Ev::Start { name, empty } if name == wrapper => {
                    if seen_wrapper {
                        findings.push(
                            Finding::error(
                                format!("{tcode}.{wrapper}.duplicate"),
                                format!("<{wrapper}> xuất hiện nhiều lần"),
                                format!("<{wrapper}> appears more than once"),
                            )
                            .at(at(None)),
                        );
                    }
                    seen_wrapper = true;
                    if empty {
                        continue;
                    }
                    loop {
                        match g.next_event()? {
                            Ev::Start { name, empty } if name == shape.record => {
                                if out.rows.len() >= opts.limits.max_rows {
                                    findings.push(
                                        Finding::error(
                                            format!("{tcode}.rows.limit"),
                                            format!(
                                                "Bảng {tcode} có quá {} dòng",
                                                opts.limits.max_rows
                                            ),
                                            format!(
                                                "Table {tcode} has more than {} rows",
                                                opts.limits.max_rows
                                            ),
                                        )
                                        .at(at(None)),
                                    );
                                    return Ok(());
                                }
                                let pos = out.rows.len() as u32 + 1;
                                let row = if empty {
                                    vec![None; nslots]
                                } else {
                                    read_record(&mut g, table, layout, nslots, pos, &at, findings)?
                                };
                                out.rows.push(row);
                                bound(findings, opts);
                            }
                            Ev::Start { name, empty } => {
                                findings.push(unexpected(tcode, wrapper, name, at(None)));
                                if !empty {
                                    g.skip_element()?;
                                }
                            }
                            Ev::Text(t) if is_blank(&t) => {}
                            Ev::Text(t) => findings.push(stray_text(tcode, wrapper, &t, at(None))),
                            Ev::End { .. } => break,
                            Ev::Eof => return Ok(()),
                        }
                    }
                }
                Ev::Start { name, empty } if table == Table::Xml0 && name == "CHUKYDONVI" => {
                    let open = text[..g.position()].rfind('<').unwrap_or(0);
                    if !empty {
                        g.skip_element()?;
                    }
                    out.signature = text.as_bytes()[open..g.position()].to_vec();
                }
                Ev::Start { name, empty } => {
                    findings.push(unexpected(tcode, shape.root, name, at(None)));
                    if !empty {
                        g.skip_element()?;
                    }
                }
                Ev::Text(t) if is_blank(&t) => {}
                Ev::Text(t) => findings.push(stray_text(tcode, shape.root, &t, at(None))),
                Ev::End { .. } => {}
                Ev::Eof => break,
            }
        }
        if !seen_wrapper {
            findings.push(
                Finding::error(
                    format!("{tcode}.{wrapper}.missing"),
                    format!("Thiếu phần tử <{wrapper}> trong <{}>", shape.root),
                    format!("<{wrapper}> is missing from <{}>", shape.root),
                )
                .at(at(None)),
            );
        }
        Ok(())
    })();
    if let Err(e) = result {
        findings.push(xml_finding(tcode, &e).at(at(None)));
    }
    out
}

fn unexpected(tcode: &str, parent: &str, name: &str, loc: Location) -> Finding {
    Finding::error(
        format!("{tcode}.{parent}.unexpected"),
        format!("Phần tử <{name}> không được phép trong <{parent}>"),
        format!("Element <{name}> is not allowed inside <{parent}>"),
    )
    .at(loc)
    .value(name)
}

fn stray_text(tcode: &str, parent: &str, t: &str, loc: Location) -> Finding {
    Finding::error(
        format!("{tcode}.{parent}.text"),
        format!("Có văn bản lạc chỗ trong <{parent}>"),
        format!("Stray text inside <{parent}>"),
    )
    .at(loc)
    .value(t.trim())
}

/// Read the fields of one record whose start tag was just read.
fn read_record<'a>(
    g: &mut Guarded<'a>,
    table: Table,
    layout: &'static [crate::spec::FieldSpec],
    nslots: usize,
    position: u32,
    at: &dyn Fn(Option<&'static str>) -> Location,
    findings: &mut Vec<Finding>,
) -> Result<Texts<'a>, XmlError> {
    let tcode = table.code();
    let first_finding = findings.len();
    let mut row: Texts<'a> = vec![None; nslots];
    // Slots already filled (every table has fewer than 128 fields).
    let mut seen: u128 = 0;
    let mut cursor = 0usize;
    let row_loc = |field| Location {
        row: Some(position),
        ..at(field)
    };
    loop {
        match g.next_event()? {
            Ev::Start { name, empty } => {
                // Fields come in table order: try the next expected one first.
                let idx = if layout.get(cursor).is_some_and(|f| same(f.code, name)) {
                    Some(cursor)
                } else {
                    layout.iter().position(|f| same(f.code, name))
                };
                let Some(i) = idx else {
                    findings.push(
                        Finding::warning(
                            format!("{tcode}.element.unknown"),
                            format!("Phần tử <{name}> không có trong {tcode}, bị bỏ qua"),
                            format!("Element <{name}> is not a field of {tcode}; ignored"),
                        )
                        .at(row_loc(None))
                        .value(name),
                    );
                    if !empty {
                        g.skip_element()?;
                    }
                    continue;
                };
                cursor = i + 1;
                let f = &layout[i];
                let value: Option<Cow<'a, str>> = if empty {
                    None
                } else {
                    match g.text_content()? {
                        Ok(t) => Some(t),
                        Err(_) => {
                            findings.push(
                                Finding::error(
                                    format!("{tcode}.{}.nested", f.code),
                                    format!("Trường {} chứa phần tử con thay vì giá trị", f.code),
                                    format!("{} holds child elements instead of a value", f.code),
                                )
                                .at(row_loc(Some(f.code))),
                            );
                            None
                        }
                    }
                };
                if seen & (1 << f.slot) != 0 {
                    findings.push(
                        Finding::error(
                            format!("{tcode}.{}.duplicate", f.code),
                            format!("Trường {} xuất hiện nhiều lần trong một bản ghi", f.code),
                            format!("{} appears more than once in one record", f.code),
                        )
                        .at(row_loc(Some(f.code))),
                    );
                    continue;
                }
                seen |= 1 << f.slot;
                row[f.slot] = value.and_then(normalize);
            }
            Ev::Text(t) if is_blank(&t) => {}
            Ev::Text(t) => {
                findings.push(stray_text(tcode, table.shape().record, &t, row_loc(None)))
            }
            Ev::End { .. } => break,
            Ev::Eof => break,
        }
    }
    // Report with the row's STT when it has a readable one.
    if findings.len() > first_finding
        && let Some(stt) = generated::slot_codes(table)
            .iter()
            .position(|c| *c == "STT")
            .and_then(|s| row[s].as_deref())
            .and_then(|s| s.parse::<u32>().ok())
    {
        for f in &mut findings[first_finding..] {
            f.location.row = Some(stt);
        }
    }
    Ok(row)
}

/// Text between elements that is only white space (XML's four characters, or any
/// other the format's values would trim away).
fn is_blank(t: &str) -> bool {
    t.bytes().all(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r')) || t.trim().is_empty()
}

/// Trim, turn empty into absent, and bring text to NFC ("NFC at the door"). A value
/// that needs none of it stays borrowed from the document.
fn normalize(v: Cow<'_, str>) -> Option<Cow<'_, str>> {
    // Most values have no white space at either end: skip the Unicode-aware trim.
    fn trim(v: &str) -> &str {
        let b = v.as_bytes();
        let plain = |c: Option<&u8>| c.is_some_and(|&c| c.is_ascii_graphic());
        if plain(b.first()) && plain(b.last()) {
            v
        } else {
            v.trim()
        }
    }
    let t: Cow<'_, str> = match v {
        Cow::Borrowed(v) => Cow::Borrowed(trim(v)),
        Cow::Owned(v) => {
            let t = trim(&v);
            if t.len() == v.len() {
                Cow::Owned(v)
            } else {
                Cow::Owned(t.to_string())
            }
        }
    };
    if t.is_empty() {
        return None;
    }
    if is_nfc(&t) {
        return Some(t);
    }
    Some(Cow::Owned(t.nfc().collect()))
}

/// Whether `t` is in NFC by the quick check. Letters of Latin-1 and Latin Extended A
/// and B (U+0080–U+02FF) and of Latin Extended Additional (U+1E00–U+1EFF, where the
/// precomposed Vietnamese letters are) are starters that are always allowed, like
/// ASCII (a test holds this to the tables): only other characters are looked up.
pub(crate) fn is_nfc(t: &str) -> bool {
    let common = |c: char| c < '\u{0300}' || ('\u{1E00}'..='\u{1EFF}').contains(&c);
    if t.is_ascii() || t.chars().all(common) {
        return true;
    }
    is_nfc_quick(t.chars()) == IsNormalized::Yes
}

/// Parse a `GIAMDINHHS` envelope with every inner table, and validate it.
pub fn parse_envelope(bytes: &[u8], opts: &Options) -> Parsed<Envelope> {
    let mut findings = Vec::new();
    let mut env = Envelope::default();
    if bytes.len() > opts.limits.max_file_bytes {
        findings.push(too_big("ENVELOPE", bytes.len(), opts.limits.max_file_bytes));
        return Parsed {
            value: env,
            findings,
        };
    }
    let text = match utf8_text(bytes) {
        Ok(t) => t,
        Err(e) => {
            findings.push(Finding::error(
                "ENVELOPE.utf8",
                format!("Tệp không phải UTF-8 hợp lệ (byte {})", e.valid_up_to()),
                format!("The file is not valid UTF-8 (byte {})", e.valid_up_to()),
            ));
            return Parsed {
                value: env,
                findings,
            };
        }
    };
    let mut hoso_files: HosoFiles<'_> = Vec::new();
    let mut seen = Seen::default();
    let result = read_envelope(
        text,
        opts,
        &mut env,
        &mut hoso_files,
        &mut seen,
        &mut findings,
    );
    if let Err(e) = result {
        findings.push(xml_finding("ENVELOPE", &e));
    }
    seen.report(&mut findings);
    if let Some(n) = env.declared_count
        && n as usize != hoso_files.len()
    {
        findings.push(
            Finding::error(
                "ENVELOPE.SOLUONGHOSO.mismatch",
                format!(
                    "SOLUONGHOSO = {n} nhưng có {} HOSO trong DANHSACHHOSO",
                    hoso_files.len()
                ),
                format!(
                    "SOLUONGHOSO is {n} but DANHSACHHOSO holds {} HOSO",
                    hoso_files.len()
                ),
            )
            .value(&n.to_string()),
        );
    }
    if seen.danhsach && hoso_files.is_empty() {
        findings.push(Finding::error(
            "ENVELOPE.HOSO.missing",
            "DANHSACHHOSO không có HOSO nào",
            "DANHSACHHOSO holds no HOSO",
        ));
    }
    if !env.facility.is_empty() && !validate::is_facility(&env.facility) {
        findings.push(
            Finding::error(
                "ENVELOPE.MACSKCB.format",
                "MACSKCB phải gồm 5 chữ số",
                "MACSKCB must be 5 digits",
            )
            .value(&env.facility),
        );
    }
    for (i, files) in hoso_files.into_iter().enumerate() {
        let loc = Location {
            hoso: Some(i + 1),
            ..Location::default()
        };
        let d = read_dossier(files, opts, &loc, &mut findings);
        validate::dossier(&d, &env.facility, &loc, &mut findings);
        bound(&mut findings, opts);
        env.dossiers.push(d);
    }
    duplicate_episodes(&env, &mut findings);
    crate::finding::cap(&mut findings, opts.limits.max_findings);
    Parsed {
        value: env,
        findings,
    }
}

/// One envelope sends an episode once: a later HOSO with the MA_LK of an earlier one is
/// refused (it would replace the first within the same submission).
fn duplicate_episodes(env: &Envelope, findings: &mut Vec<Finding>) {
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, d) in env.dossiers.iter().enumerate() {
        let Some(ma_lk) = d.ma_lk() else { continue };
        if let Some(earlier) = first.get(ma_lk) {
            findings.push(
                Finding::error(
                    "HOSO.MA_LK.duplicate",
                    format!("MA_LK {ma_lk} đã có ở HOSO thứ {earlier} của cùng tệp; hồ sơ này không được tiếp nhận"),
                    format!("MA_LK {ma_lk} was already sent in HOSO {earlier} of the same file; this one is refused"),
                )
                .at(Location {
                    hoso: Some(i + 1),
                    ma_lk: Some(ma_lk.to_string()),
                    table: Some(Table::Xml1),
                    field: Some("MA_LK"),
                    ..Location::default()
                })
                .value(ma_lk),
            );
        } else {
            first.insert(ma_lk, i + 1);
        }
    }
}

/// Which envelope elements were seen (to report the missing ones).
#[derive(Default)]
struct Seen {
    root: bool,
    macskcb: bool,
    ngaylap: bool,
    soluong: bool,
    danhsach: bool,
}

impl Seen {
    fn report(&self, findings: &mut Vec<Finding>) {
        if !self.root {
            return;
        }
        for (seen, path) in [
            (self.macskcb, "THONGTINDONVI/MACSKCB"),
            (self.ngaylap, "THONGTINHOSO/NGAYLAP"),
            (self.soluong, "THONGTINHOSO/SOLUONGHOSO"),
            (self.danhsach, "THONGTINHOSO/DANHSACHHOSO"),
        ] {
            if !seen {
                let leaf = path.rsplit('/').next().unwrap_or(path);
                findings.push(Finding::error(
                    format!("ENVELOPE.{leaf}.missing"),
                    format!("Thiếu phần tử {path}"),
                    format!("Element {path} is missing"),
                ));
            }
        }
    }
}

type HosoFiles<'a> = Vec<Vec<(Option<String>, Option<Cow<'a, str>>)>>;

fn read_envelope<'a>(
    text: &'a str,
    opts: &Options,
    env: &mut Envelope,
    hoso: &mut HosoFiles<'a>,
    seen: &mut Seen,
    findings: &mut Vec<Finding>,
) -> Result<(), XmlError> {
    let mut g = Guarded::new(text, opts.limits.max_depth);
    // Open elements below the root: (name, conforming?). A non-conforming element
    // is reported once and then read through, so that the dossiers inside a
    // mis-nested envelope are still found and checked.
    let mut path: Vec<(&'a str, bool)> = Vec::new();
    let mut in_root = false;
    loop {
        let ev = g.next_event()?;
        match ev {
            Ev::Eof => break,
            Ev::Start { name, empty } if !in_root => {
                if name != "GIAMDINHHS" {
                    findings.push(
                        Finding::error(
                            "ENVELOPE.root.unexpected",
                            format!("Phần tử gốc phải là <GIAMDINHHS>, nhận được <{name}>"),
                            format!("The root element must be <GIAMDINHHS>, found <{name}>"),
                        )
                        .value(name),
                    );
                    return Ok(());
                }
                seen.root = true;
                in_root = true;
                if empty {
                    break;
                }
            }
            Ev::Start { name, empty } => {
                let parent = path.last().map_or("GIAMDINHHS", |p| p.0);
                let in_file = path.iter().any(|p| p.0 == "FILEHOSO");
                let allowed = matches!(
                    (parent, name),
                    ("GIAMDINHHS", "THONGTINDONVI")
                        | ("GIAMDINHHS", "THONGTINHOSO")
                        | ("THONGTINDONVI", "MACSKCB")
                        | ("THONGTINHOSO", "NGAYLAP")
                        | ("THONGTINHOSO", "SOLUONGHOSO")
                        | ("THONGTINHOSO", "DANHSACHHOSO")
                        | ("DANHSACHHOSO", "HOSO")
                        | ("HOSO", "FILEHOSO")
                        | ("FILEHOSO", "LOAIHOSO")
                        | ("FILEHOSO", "NOIDUNGFILE")
                );
                if parent == "GIAMDINHHS" && name == "CHUKYDONVI" {
                    let open = text[..g.position()].rfind('<').unwrap_or(0);
                    if !empty {
                        g.skip_element()?;
                    }
                    env.signature = text.as_bytes()[open..g.position()].to_vec();
                    continue;
                }
                if !allowed {
                    findings.push(
                        Finding::error(
                            format!("ENVELOPE.{parent}.{name}.unexpected"),
                            format!("Phần tử <{name}> không được phép trong <{parent}>"),
                            format!("Element <{name}> is not allowed inside <{parent}>"),
                        )
                        .at(hoso_loc(hoso, parent))
                        .value(name),
                    );
                }
                // Whatever its name, a child of DANHSACHHOSO is one episode, and a
                // FILEHOSO below it is one table.
                if parent == "DANHSACHHOSO" {
                    if hoso.len() >= opts.limits.max_dossiers {
                        findings.push(Finding::error(
                            "ENVELOPE.HOSO.limit",
                            format!("Tệp có quá {} HOSO", opts.limits.max_dossiers),
                            format!(
                                "The envelope holds more than {} HOSO",
                                opts.limits.max_dossiers
                            ),
                        ));
                        return Ok(());
                    }
                    hoso.push(Vec::new());
                } else if name == "FILEHOSO" {
                    if hoso.is_empty() {
                        hoso.push(Vec::new());
                    }
                    if let Some(h) = hoso.last_mut() {
                        h.push((None, None));
                    }
                }
                if name == "DANHSACHHOSO" {
                    seen.danhsach = true;
                }
                let leaf = match name {
                    "MACSKCB" | "NGAYLAP" | "SOLUONGHOSO" => !in_file,
                    "LOAIHOSO" | "NOIDUNGFILE" => in_file,
                    _ => false,
                };
                if !leaf {
                    if !empty {
                        path.push((name, allowed));
                    }
                    continue;
                }
                let value: Cow<'a, str> = if empty {
                    Cow::Borrowed("")
                } else {
                    match g.text_content()? {
                        Ok(t) => t,
                        Err(_) => {
                            findings.push(Finding::error(
                                format!("ENVELOPE.{name}.nested"),
                                format!("<{name}> chứa phần tử con thay vì giá trị"),
                                format!("<{name}> holds child elements instead of a value"),
                            ));
                            Cow::Borrowed("")
                        }
                    }
                };
                let v = value.trim();
                match name {
                    "MACSKCB" => {
                        seen.macskcb |= allowed;
                        env.facility = v.to_string();
                    }
                    "NGAYLAP" => {
                        seen.ngaylap |= allowed;
                        env.created = v.to_string();
                    }
                    "SOLUONGHOSO" => {
                        seen.soluong |= allowed;
                        match v.parse::<u32>() {
                            Ok(n) => env.declared_count = Some(n),
                            Err(_) => findings.push(
                                Finding::error(
                                    "ENVELOPE.SOLUONGHOSO.format",
                                    "SOLUONGHOSO phải là số nguyên",
                                    "SOLUONGHOSO must be a whole number",
                                )
                                .value(v),
                            ),
                        }
                    }
                    "LOAIHOSO" => {
                        if let Some(f) = hoso.last_mut().and_then(|h| h.last_mut()) {
                            f.0 = Some(v.to_string());
                        }
                    }
                    _ => {
                        if let Some(f) = hoso.last_mut().and_then(|h| h.last_mut()) {
                            // Usually borrowed from the input; owned when line ends
                            // were normalised.
                            f.1 = Some(value);
                        }
                    }
                }
            }
            Ev::End { .. } => {
                if path.pop().is_none() {
                    in_root = false;
                }
            }
            Ev::Text(t) => {
                // Text inside a non-conforming element was reported with it.
                let conforming = path.last().is_none_or(|p| p.1);
                if conforming && !is_blank(&t) {
                    let parent = path.last().map_or("GIAMDINHHS", |p| p.0);
                    findings.push(stray_text("ENVELOPE", parent, &t, Location::default()));
                }
            }
        }
    }
    Ok(())
}

fn hoso_loc(hoso: &HosoFiles<'_>, parent: &str) -> Location {
    let inside = matches!(parent, "HOSO" | "FILEHOSO");
    Location {
        hoso: (inside && !hoso.is_empty()).then_some(hoso.len()),
        ..Location::default()
    }
}

/// Decode and read every FILEHOSO of one HOSO into a typed dossier.
///
/// Every table is decoded first, one after the other into one buffer, so that the
/// field texts of all of them can be borrowed from it while they are validated
/// (the cross-table rules need every table) and until the typed model is built:
/// only the texts the model keeps are copied, once.
fn read_dossier(
    files: Vec<(Option<String>, Option<Cow<'_, str>>)>,
    opts: &Options,
    loc: &Location,
    findings: &mut Vec<Finding>,
) -> Dossier {
    /// What became of one FILEHOSO in the first pass, in file order.
    enum Step {
        /// Refused before decoding: these findings.
        Refused(Vec<Finding>),
        /// Decoded: its table and where its bytes are in the buffer.
        Decoded(Table, String, std::ops::Range<usize>),
    }
    let mut present: Vec<Table> = Vec::new();
    let mut steps: Vec<Step> = Vec::with_capacity(files.len());
    // One buffer for every decoded table of the dossier.
    let total: usize = files
        .iter()
        .filter_map(|f| f.1.as_ref())
        .map(|c| c.len() / 4 * 3 + 3)
        .sum();
    // (At most three quarters of the envelope, which is bounded.)
    let mut decoded: Vec<u8> = Vec::with_capacity(total);
    for (loai, content) in files {
        let loai = loai.unwrap_or_default();
        let mut refused = Vec::new();
        let Some(table) = Table::from_code(&loai).filter(|t| *t != Table::Xml0) else {
            refused.push(
                Finding::error(
                    "HOSO.LOAIHOSO.unknown",
                    format!("LOAIHOSO \"{loai}\" không hợp lệ (XML1–XML11, XML13–XML15)"),
                    format!("LOAIHOSO \"{loai}\" is not one of XML1–XML11, XML13–XML15"),
                )
                .at(loc.clone())
                .value(&loai),
            );
            steps.push(Step::Refused(refused));
            continue;
        };
        let tloc = Location {
            table: Some(table),
            ..loc.clone()
        };
        if !table.in_spec(opts.spec) {
            refused.push(
                Finding::error(
                    "HOSO.LOAIHOSO.not_in_spec",
                    format!("{loai} không có trong QĐ {}", opts.spec),
                    format!("{loai} is not part of QĐ {}", opts.spec),
                )
                .at(tloc)
                .value(&loai),
            );
            steps.push(Step::Refused(refused));
            continue;
        }
        if present.contains(&table) {
            refused.push(
                Finding::error(
                    "HOSO.LOAIHOSO.duplicate",
                    format!("{loai} xuất hiện nhiều lần trong một HOSO"),
                    format!("{loai} appears more than once in one HOSO"),
                )
                .at(tloc)
                .value(&loai),
            );
            steps.push(Step::Refused(refused));
            continue;
        }
        present.push(table);
        let b64 = content.unwrap_or_default();
        let from = decoded.len();
        if !decode_base64(
            b64.trim(),
            opts.limits.max_inner_bytes,
            &tloc,
            &mut refused,
            &mut decoded,
        ) {
            decoded.truncate(from);
            steps.push(Step::Refused(refused));
            continue;
        }
        steps.push(Step::Decoded(table, loai, from..decoded.len()));
    }
    let mut tables: Vec<(Table, Vec<Texts<'_>>)> = Vec::new();
    for step in steps {
        let (table, loai, range) = match step {
            Step::Refused(f) => {
                findings.extend(f);
                continue;
            }
            Step::Decoded(table, loai, range) => (table, loai, range),
        };
        let tloc = Location {
            table: Some(table),
            ..loc.clone()
        };
        let text = match utf8_text(&decoded[range]) {
            Ok(t) => t,
            Err(e) => {
                findings.push(
                    Finding::error(
                        format!("{loai}.utf8"),
                        format!(
                            "Nội dung {loai} không phải UTF-8 hợp lệ (byte {})",
                            e.valid_up_to()
                        ),
                        format!(
                            "The {loai} document is not valid UTF-8 (byte {})",
                            e.valid_up_to()
                        ),
                    )
                    .at(tloc),
                );
                continue;
            }
        };
        let raw = read_table(text, table, opts, loc, findings);
        validate_rows(&raw.rows, table, opts, loc, findings);
        if !table.is_list() && raw.rows.len() > 1 {
            findings.push(
                Finding::error(
                    format!("{loai}.record.multiple"),
                    format!("{loai} chỉ được có một bản ghi"),
                    format!("{loai} must hold exactly one record"),
                )
                .at(tloc),
            );
        }
        tables.push((table, raw.rows));
    }
    validate::across_tables(&tables, opts.spec, loc, findings);
    let mut d = Dossier::default();
    for (table, rows) in tables {
        d.set_texts(table, rows);
    }
    d
}

fn validate_rows<R: validate::Row>(
    rows: &[R],
    table: Table,
    opts: &Options,
    loc: &Location,
    findings: &mut Vec<Finding>,
) {
    let spec = opts.spec;
    let stt_slot = generated::slot_codes(table)
        .iter()
        .position(|c| *c == "STT");
    let malk_slot = generated::slot_codes(table)
        .iter()
        .position(|c| *c == "MA_LK");
    for (i, row) in rows.iter().enumerate() {
        // The row's location is made only for a finding.
        let rloc = || {
            let row_no = stt_slot
                .and_then(|s| row.text(s))
                .and_then(|s| s.parse().ok())
                .unwrap_or(i as u32 + 1);
            Location {
                ma_lk: loc
                    .ma_lk
                    .clone()
                    .or_else(|| malk_slot.and_then(|s| row.text(s)).map(str::to_string)),
                table: Some(table),
                row: table.is_list().then_some(row_no),
                ..loc.clone()
            }
        };
        validate::fields_at(row, table, spec, rloc, findings);
        bound(findings, opts);
    }
}

/// Keep the findings of a parse in progress bounded: past the limit, fold the excess
/// (in steps, so that folding costs little per finding).
fn bound(findings: &mut Vec<Finding>, opts: &Options) {
    const STEP: usize = 4_096;
    if findings.len() > opts.limits.max_findings + STEP {
        crate::finding::cap(findings, opts.limits.max_findings);
    }
}

fn decode_base64(
    b64: &str,
    max: usize,
    loc: &Location,
    findings: &mut Vec<Finding>,
    out: &mut Vec<u8>,
) -> bool {
    // Decoded after what `out` already holds.
    let from = out.len();
    let t = loc.table.map(Table::code).unwrap_or("HOSO");
    if b64.is_empty() {
        findings.push(
            Finding::error(
                format!("{t}.NOIDUNGFILE.empty"),
                format!("NOIDUNGFILE của {t} bị bỏ trống"),
                format!("NOIDUNGFILE of {t} is empty"),
            )
            .at(loc.clone()),
        );
        return false;
    }
    // Some vendors wrap base64 at 76 columns; the decoder wants none of that. Most
    // do not: decode as is first, and strip only when that fails.
    if b64.len() / 4 * 3 <= max && STANDARD.decode_vec(b64.as_bytes(), out).is_ok() {
        return true;
    }
    out.truncate(from);
    let compact: Cow<'_, str> = if b64.bytes().any(|b| b.is_ascii_whitespace()) {
        Cow::Owned(b64.chars().filter(|c| !c.is_ascii_whitespace()).collect())
    } else {
        Cow::Borrowed(b64)
    };
    if compact.len() / 4 * 3 > max {
        findings.push(
            Finding::error(
                format!("{t}.size"),
                format!("Nội dung {t} vượt giới hạn {max} byte"),
                format!("The {t} document exceeds the limit of {max} bytes"),
            )
            .at(loc.clone())
            .value(&(compact.len() / 4 * 3).to_string()),
        );
        return false;
    }
    match STANDARD.decode_vec(compact.as_bytes(), out) {
        Ok(()) => true,
        Err(e) => {
            findings.push(
                Finding::error(
                    "HOSO.NOIDUNGFILE.base64",
                    format!("NOIDUNGFILE của {t} không phải base64 hợp lệ: {e}"),
                    format!("NOIDUNGFILE of {t} is not valid base64: {e}"),
                )
                .at(loc.clone()),
            );
            false
        }
    }
}

/// Parse and validate a check-in file (XML0).
pub fn parse_checkin(bytes: &[u8], opts: &Options) -> Parsed<CheckIn> {
    let mut findings = Vec::new();
    let mut value = CheckIn::default();
    if bytes.len() > opts.limits.max_file_bytes {
        findings.push(too_big("XML0", bytes.len(), opts.limits.max_file_bytes));
        return Parsed { value, findings };
    }
    let text = match utf8_text(bytes) {
        Ok(t) => t,
        Err(e) => {
            findings.push(Finding::error(
                "XML0.utf8",
                format!("Tệp không phải UTF-8 hợp lệ (byte {})", e.valid_up_to()),
                format!("The file is not valid UTF-8 (byte {})", e.valid_up_to()),
            ));
            return Parsed { value, findings };
        }
    };
    let raw = read_table(text, Table::Xml0, opts, &Location::default(), &mut findings);
    if raw.rows.is_empty() && !crate::finding::has_errors(&findings) {
        findings.push(
            Finding::error(
                "XML0.TRANG_THAI_KCB.missing",
                "Tệp check-in không có bản ghi TRANG_THAI_KCB nào",
                "The check-in file holds no TRANG_THAI_KCB record",
            )
            .at(Location {
                table: Some(Table::Xml0),
                ..Location::default()
            }),
        );
    }
    validate_rows(
        &raw.rows,
        Table::Xml0,
        opts,
        &Location::default(),
        &mut findings,
    );
    for (i, row) in raw.rows.iter().enumerate() {
        let r = CheckInRow::from_texts(row.clone());
        let loc = Location {
            hoso: Some(i + 1),
            ma_lk: r.ma_lk.clone(),
            table: Some(Table::Xml0),
            row: Some(r.stt.unwrap_or(i as u32 + 1)),
            ..Location::default()
        };
        // Its dates in order and its first cost item are rule cells of the sheet.
        validate::sheet(
            Table::Xml0,
            std::slice::from_ref(row),
            None,
            opts.spec,
            &loc,
            &mut findings,
        );
        bound(&mut findings, opts);
        value.rows.push(r);
    }
    value.signature = raw.signature;
    crate::finding::cap(&mut findings, opts.limits.max_findings);
    Parsed { value, findings }
}

/// Parse and validate a standalone inner table document (as decoded from
/// `NOIDUNGFILE`). Cross-table rules need the whole dossier and are not applied.
pub fn parse_table_document(bytes: &[u8], table: Table, opts: &Options) -> Parsed<Dossier> {
    let mut findings = Vec::new();
    let mut d = Dossier::default();
    let loc = Location::default();
    match utf8_text(bytes) {
        Ok(text) => {
            let raw = read_table(text, table, opts, &loc, &mut findings);
            validate_rows(&raw.rows, table, opts, &loc, &mut findings);
            d.set_texts(table, raw.rows);
        }
        Err(e) => findings.push(Finding::error(
            format!("{}.utf8", table.code()),
            format!("Tệp không phải UTF-8 hợp lệ (byte {})", e.valid_up_to()),
            format!("The file is not valid UTF-8 (byte {})", e.valid_up_to()),
        )),
    }
    crate::finding::cap(&mut findings, opts.limits.max_findings);
    Parsed { value: d, findings }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::char::canonical_combining_class;

    /// The characters `is_nfc` lets through without a lookup are starters the quick
    /// check always allows, by the crate's own tables.
    #[test]
    fn nfc_fast_path_matches_the_tables() {
        let common = (0x80u32..0x300).chain(0x1E00..=0x1EFF);
        for c in common.filter_map(char::from_u32) {
            assert_eq!(canonical_combining_class(c), 0, "{c:?}");
            assert_eq!(is_nfc_quick(std::iter::once(c)), IsNormalized::Yes, "{c:?}");
        }
        // Decomposed text is still brought to NFC, and composed text kept as is.
        for (text, nfc) in [
            ("Nguyễn Văn Đức", true),
            ("Nguye\u{302}\u{303}n", false),
            ("Hoà", true),
            ("Ho\u{300}a", false),
            ("Ω", true),
            ("\u{2126}", false),
        ] {
            assert_eq!(is_nfc(text), nfc, "{text:?}");
            let n = normalize(Cow::Borrowed(text)).unwrap();
            assert_eq!(n, text.nfc().collect::<String>());
            assert_eq!(matches!(n, Cow::Borrowed(_)), nfc, "{text:?}");
        }
        assert_eq!(normalize(Cow::Borrowed("  \t")), None);
        assert!(matches!(
            normalize(Cow::Borrowed(" 12 ")),
            Some(Cow::Borrowed("12"))
        ));
    }
}

//! Printable documents. One visit of a health book as a PDF (QĐ 31/2026 lets a person
//! download each one): facility and department by name, dates, diagnoses with their
//! names, medicines, results, the record summary, the appointment or referral, and a
//! QR code of a verification address that staff open to check the document is one
//! healthbook issued. DejaVu Sans is embedded, so every Vietnamese diacritic renders on
//! any reader; the document's title is written as PDF text strings are (UTF-16), so
//! readers show it as it is.

pub mod report;

use std::collections::HashMap;

use book::EpisodeView;
use book::vn::{birth, day, decimal, money, number_text, when};
use printpdf::{IndirectFontRef, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference};
use store::{EpisodeRecord, PersonRecord};

/// DejaVu Sans (licence in `assets/fonts/LICENSE`), for every PDF healthbook prints.
pub const FONT_REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
pub const FONT_BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");
const REGULAR: &[u8] = FONT_REGULAR;
const BOLD: &[u8] = FONT_BOLD;

/// What can go wrong making a PDF.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("pdf: {0}")]
    Pdf(#[from] printpdf::Error),
    #[error("pdf metadata: {0}")]
    Metadata(#[from] printpdf::lopdf::Error),
    #[error("qr: {0}")]
    Qr(#[from] qrcode::types::QrError),
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 16.0;
/// Characters per line at 10 pt on the text width (DejaVu Sans averages ~0.55 em).
const WRAP: usize = 92;

struct Writer {
    doc: PdfDocumentReference,
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    y: f32,
    page: usize,
}

impl Writer {
    fn new(title: &str) -> Result<Writer, PdfError> {
        let (doc, page, layer) = PdfDocument::new(title, Mm(PAGE_W), Mm(PAGE_H), "nội dung");
        let regular = doc.add_external_font(std::io::Cursor::new(REGULAR))?;
        let bold = doc.add_external_font(std::io::Cursor::new(BOLD))?;
        let layer = doc.get_page(page).get_layer(layer);
        Ok(Writer {
            doc,
            layer,
            regular,
            bold,
            y: PAGE_H - MARGIN,
            page: 1,
        })
    }

    fn room(&mut self, height: f32) {
        if self.y - height < MARGIN {
            let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "nội dung");
            self.layer = self.doc.get_page(page).get_layer(layer);
            self.page += 1;
            self.y = PAGE_H - MARGIN;
        }
    }

    fn line(&mut self, text: &str, size: f32, bold: bool, indent: f32) {
        let step = size * 0.45;
        self.room(step);
        let font = if bold { &self.bold } else { &self.regular };
        self.layer
            .use_text(text, size, Mm(MARGIN + indent), Mm(self.y), font);
        self.y -= step;
    }

    /// A paragraph, wrapped at word boundaries.
    fn para(&mut self, text: &str, size: f32, bold: bool, indent: f32) {
        let width = (WRAP as f32 * 10.0 / size) as usize - (indent / 2.0) as usize;
        let mut current = String::new();
        for word in text.split_whitespace() {
            if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
                self.line(&current, size, bold, indent);
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        if !current.is_empty() {
            self.line(&current, size, bold, indent);
        }
    }

    fn heading(&mut self, text: &str) {
        self.y -= 2.0;
        self.room(12.0);
        self.line(text, 12.0, true, 0.0);
        self.y -= 1.0;
    }

    fn field(&mut self, label: &str, value: &str) {
        if !value.trim().is_empty() {
            self.para(&format!("{label}: {value}"), 10.0, false, 0.0);
        }
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("").trim()
}

/// A facility by name with its code, by code alone when its name is unknown.
fn facility(names: &HashMap<String, String>, code: &str) -> String {
    match names.get(code) {
        Some(n) => format!("{n} ({code})"),
        None => code.to_string(),
    }
}

/// One visit to print.
pub struct EpisodeDoc<'a> {
    pub person: &'a PersonRecord,
    pub episode: &'a EpisodeRecord,
    /// Facility code → name, for every facility the visit names.
    pub facility_names: &'a HashMap<String, String>,
    /// Where staff check the document (drawn as a QR code, printed below it).
    pub verify_url: Option<&'a str>,
}

/// The document's title: what a reader's window and a file list show.
pub fn episode_title(d: &EpisodeDoc<'_>) -> String {
    let v = &d.episode.view;
    format!(
        "Lượt khám {} — {} — {}",
        book::vn::date(v.admitted),
        facility(d.facility_names, &d.episode.facility),
        opt(&d.person.name)
    )
}

/// The PDF of one visit of a person's book.
pub fn episode(d: &EpisodeDoc<'_>) -> Result<Vec<u8>, PdfError> {
    let (person, e, names) = (d.person, d.episode, d.facility_names);
    let v: &EpisodeView = &e.view;
    let title = episode_title(d);
    let mut w = Writer::new(&title)?;
    w.line("SỔ SỨC KHỎE ĐIỆN TỬ", 16.0, true, 0.0);
    w.line("Thông tin lượt khám bệnh, chữa bệnh", 11.0, false, 0.0);
    w.y -= 3.0;
    w.field("Họ và tên", opt(&person.name));
    w.field("Số định danh cá nhân", opt(&person.personal_id));
    w.field(
        "Ngày sinh",
        &person.birth.as_deref().map(birth).unwrap_or_default(),
    );
    w.field("Cơ sở khám bệnh, chữa bệnh", &facility(names, &e.facility));
    let departments: Vec<String> = v
        .departments
        .iter()
        .map(|k| match book::terms::department_name(k) {
            Some(n) => format!("{n} ({k})"),
            None => k.clone(),
        })
        .collect();
    w.field("Khoa", &departments.join(", "));
    if let Some(doctor) = v.discharge_paper.as_ref().and_then(|p| p.doctor.as_deref()) {
        w.field("Bác sĩ", doctor);
    }
    w.field("Hình thức", opt(&v.care_type_label));
    w.field("Vào lúc", &when(v.admitted));
    w.field("Ra lúc", &when(v.discharged));
    w.field("Thẻ BHYT sử dụng", &v.cards.join(", "));
    w.field("Lý do đến khám", opt(&v.reason));
    w.field(
        "Mã lượt khám (MA_LK)",
        &format!("{} — phiên bản {}", e.ma_lk, e.version),
    );

    w.heading("Chẩn đoán");
    if let Some(dx) = &v.main_diagnosis {
        let name = dx
            .name
            .as_deref()
            .and_then(|n| n.split(';').next())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .or_else(|| book::terms::icd10_name(&dx.icd10))
            .unwrap_or("");
        w.field("Bệnh chính", &format!("{} {name}", dx.icd10));
    }
    for s in &v.secondary_diagnoses {
        let name = s
            .name
            .as_deref()
            .or_else(|| book::terms::icd10_name(&s.icd10))
            .unwrap_or("");
        w.field("Bệnh kèm theo", &format!("{} {name}", s.icd10));
    }
    w.field("Phương pháp điều trị", opt(&v.treatment));
    if let Some(o) = &v.outcome {
        w.field("Kết quả điều trị", &o.label);
    }
    w.field("Lời dặn", opt(&v.advice));

    if !v.medicines.is_empty() {
        w.heading("Thuốc");
        for m in &v.medicines {
            let name = m.label();
            let qty = m
                .quantity
                .map(|q| format!("{} {}", decimal(q), opt(&m.unit)))
                .unwrap_or_default();
            let detail: Vec<&str> = [qty.trim(), opt(&m.dose)]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect();
            w.para(
                &format!("• {name} — {}", detail.join("; ")),
                10.0,
                false,
                2.0,
            );
        }
    }
    let s = &v.services;
    let services = |title: &str, list: &[book::episode::Service], w: &mut Writer| {
        if !list.is_empty() {
            w.heading(title);
            for x in list {
                w.para(&format!("• {}", opt(&x.name)), 10.0, false, 2.0);
            }
        }
    };
    services("Phẫu thuật", &s.surgery, &mut w);
    services("Thủ thuật", &s.procedures, &mut w);
    if !v.results.is_empty() {
        w.heading("Kết quả cận lâm sàng");
        for r in &v.results {
            let mut text = format!(
                "• {}",
                r.indicator
                    .as_deref()
                    .or(r.service_name.as_deref())
                    .unwrap_or("")
            );
            if let Some(x) = &r.value {
                text.push_str(&format!(": {} {}", number_text(x), opt(&r.unit)));
                if let Some(range) = r.indicator_code.as_deref().and_then(book::terms::lab_range) {
                    text.push_str(&format!(
                        " (tham chiếu {} – {})",
                        decimal(range.low),
                        decimal(range.high)
                    ));
                }
                if let Some(f) = book::terms::flag(r) {
                    text.push_str(&format!(" — {}", f.label()));
                }
            } else if let Some(c) = &r.conclusion {
                text.push_str(&format!(" — {c}"));
            }
            w.para(text.trim_end(), 10.0, false, 2.0);
            if r.value.is_none()
                && let Some(desc) = &r.description
            {
                w.para(desc, 9.0, false, 6.0);
            }
        }
    }
    if let Some(sum) = &v.record_summary {
        let parts: Vec<(&str, String)> = [
            ("Diễn biến", &sum.course),
            ("Kết quả chính", &sum.key_results),
            ("Điều trị", &sum.treatment),
        ]
        .into_iter()
        .map(|(l, t)| (l, book::text::tidy(opt(t))))
        .filter(|(_, t)| !t.is_empty())
        .collect();
        if !parts.is_empty() {
            w.heading("Tóm tắt hồ sơ bệnh án");
            for (label, text) in parts {
                w.field(label, &text);
            }
        }
    }
    if let Some(a) = &v.appointment {
        w.heading("Giấy hẹn khám lại");
        w.field("Số giấy hẹn", opt(&a.number));
        w.field("Hẹn khám lại lúc", &when(a.at));
        w.field(
            "Tại cơ sở",
            &a.facility
                .as_deref()
                .map(|f| facility(names, f))
                .unwrap_or_default(),
        );
        w.field("Ngày cấp", &day(a.issued));
    }
    if let Some(r) = &v.referral {
        w.heading("Giấy chuyển tuyến");
        w.field("Số giấy chuyển tuyến", opt(&r.number));
        w.field(
            "Nơi chuyển đi",
            &r.from_facility
                .as_deref()
                .map(|f| facility(names, f))
                .unwrap_or_default(),
        );
        w.field(
            "Nơi chuyển đến",
            &r.to_facility
                .as_deref()
                .map(|f| facility(names, f))
                .unwrap_or_default(),
        );
        w.field("Dấu hiệu lâm sàng", opt(&r.clinical_signs));
        w.field("Chẩn đoán", opt(&r.diagnosis));
        if let Some(x) = &r.reason {
            w.field("Lý do chuyển tuyến", &x.label);
        }
        w.field("Hướng điều trị", opt(&r.recommendation));
        w.field("Phương tiện vận chuyển", opt(&r.transport));
    }
    let costs: Vec<(&str, String)> = [
        ("Tổng chi phí", v.total_cost),
        ("BHYT chi trả", v.insurance_paid),
        ("Người bệnh trả", v.patient_paid),
    ]
    .into_iter()
    .filter_map(|(l, x)| x.map(|x| (l, money(x))))
    .collect();
    if !costs.is_empty() {
        w.heading("Chi phí");
        for (label, x) in costs {
            w.field(label, &x);
        }
    }
    w.y -= 4.0;
    if let Some(url) = d.verify_url {
        w.qr(url)?;
    }
    w.para(
        "Dữ liệu do cơ sở khám bệnh, chữa bệnh gửi lên Sổ sức khỏe điện tử (QĐ 31/QĐ-BYT: giá trị như bản giấy).",
        8.0,
        false,
        0.0,
    );
    with_title(w.doc.save_to_bytes()?, &title)
}

/// Write the document's title (and producer) as PDF text strings are: UTF-16BE with a
/// byte-order mark (printpdf writes the UTF-8 bytes, which readers show as mojibake).
fn with_title(bytes: Vec<u8>, title: &str) -> Result<Vec<u8>, PdfError> {
    use printpdf::lopdf::{Document, Object, StringFormat};
    let utf16 = |s: &str| -> Object {
        let mut b = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_be_bytes());
        }
        Object::String(b, StringFormat::Hexadecimal)
    };
    let mut doc = Document::load_mem(&bytes)?;
    let info = doc.trailer.get(b"Info").and_then(Object::as_reference)?;
    let dict = doc.get_object_mut(info).and_then(Object::as_dict_mut)?;
    dict.set("Title", utf16(title));
    dict.set("Producer", utf16("healthbook — Sổ sức khỏe điện tử"));
    let mut out = Vec::with_capacity(bytes.len());
    doc.save_to(&mut out)
        .map_err(|e| PdfError::Metadata(e.into()))?;
    Ok(out)
}

impl Writer {
    /// A QR code of `url` at the left margin, with the address printed beside it.
    fn qr(&mut self, url: &str) -> Result<(), PdfError> {
        let code = qrcode::QrCode::new(url.as_bytes())?;
        let n = code.width();
        let module = 32.0 / n as f32;
        self.room(36.0);
        let top = self.y;
        for (i, c) in code.to_colors().into_iter().enumerate() {
            if c == qrcode::Color::Dark {
                let (x, y) = ((i % n) as f32, (i / n) as f32);
                let left = MARGIN + x * module;
                let upper = top - y * module;
                self.layer.add_rect(printpdf::Rect::new(
                    Mm(left),
                    Mm(upper - module),
                    Mm(left + module),
                    Mm(upper),
                ));
            }
        }
        self.y = top - 4.0;
        let text =
            "Mã xác minh: nhân viên y tế quét mã để kiểm tra bản PDF do Sổ sức khỏe điện tử lập.";
        self.para_at(text, 9.0, 36.0);
        self.para_at(url, 7.0, 36.0);
        self.y = self.y.min(top - 38.0);
        Ok(())
    }

    /// A paragraph at `indent` mm, wrapped to the width left.
    fn para_at(&mut self, text: &str, size: f32, indent: f32) {
        let width = ((PAGE_W - 2.0 * MARGIN - indent) / (size * 0.21)) as usize;
        let mut current = String::new();
        for word in text.split_whitespace() {
            // A long address is cut where it must.
            let mut word = word.to_string();
            while word.chars().count() > width {
                let head: String = word.chars().take(width).collect();
                self.line(&head, size, false, indent);
                word = word.chars().skip(width).collect();
            }
            if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
                self.line(&current, size, false, indent);
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(&word);
        }
        if !current.is_empty() {
            self.line(&current, size, false, indent);
        }
    }
}

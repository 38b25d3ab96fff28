//! One episode as a PDF (QĐ 31/2026 lets a person download each episode): facility,
//! dates, diagnoses, medicines, results, and the appointment or referral. DejaVu Sans
//! is embedded, so every Vietnamese diacritic renders on any reader.

use book::EpisodeView;
use printpdf::{IndirectFontRef, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference};
use store::{EpisodeRecord, PersonRecord};

const REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");

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
    fn new(title: &str) -> Result<Writer, printpdf::Error> {
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

fn when(d: Option<chrono::NaiveDateTime>) -> String {
    d.map(|d| d.format("%H:%M %d/%m/%Y").to_string())
        .unwrap_or_default()
}

fn day(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

/// The PDF of one episode of `person`'s book.
pub fn episode_pdf(
    person: &PersonRecord,
    e: &EpisodeRecord,
    facility_name: Option<&str>,
) -> Result<Vec<u8>, printpdf::Error> {
    let v: &EpisodeView = &e.view;
    let mut w = Writer::new(&format!("Sổ sức khỏe điện tử — {}", e.ma_lk))?;
    w.line("SỔ SỨC KHỎE ĐIỆN TỬ", 16.0, true, 0.0);
    w.line("Thông tin lượt khám bệnh, chữa bệnh", 11.0, false, 0.0);
    w.y -= 3.0;
    w.field("Họ và tên", opt(&person.name));
    w.field("Số định danh cá nhân", opt(&person.personal_id));
    w.field("Ngày sinh", &birth(&person.birth));
    let facility = match facility_name {
        Some(n) => format!("{n} ({})", e.facility),
        None => e.facility.clone(),
    };
    w.field("Cơ sở khám bệnh, chữa bệnh", &facility);
    w.field("Hình thức", opt(&v.care_type_label));
    w.field("Vào lúc", &when(v.admitted));
    w.field("Ra lúc", &when(v.discharged));
    w.field("Lý do đến khám", opt(&v.reason));
    w.field(
        "Mã lượt khám (MA_LK)",
        &format!("{} — phiên bản {}", e.ma_lk, e.version),
    );

    w.heading("Chẩn đoán");
    if let Some(d) = &v.main_diagnosis {
        w.field("Bệnh chính", &format!("{} {}", d.icd10, opt(&d.name)));
    }
    if !v.secondary_diagnoses.is_empty() {
        let codes: Vec<&str> = v
            .secondary_diagnoses
            .iter()
            .map(|d| d.icd10.as_str())
            .collect();
        w.field("Bệnh kèm theo", &codes.join(", "));
    }
    w.field("Chẩn đoán ra viện", opt(&v.discharge_diagnosis));
    w.field("Phương pháp điều trị", opt(&v.treatment));
    if let Some(o) = &v.outcome {
        w.field("Kết quả điều trị", &o.label);
    }
    w.field("Lời dặn", opt(&v.advice));

    if !v.medicines.is_empty() {
        w.heading("Thuốc");
        for m in &v.medicines {
            let qty = m
                .quantity
                .map(|q| q.normalize().to_string())
                .unwrap_or_default();
            w.para(
                &format!(
                    "• {} {} — {} {}; {}",
                    opt(&m.name),
                    opt(&m.strength),
                    qty,
                    opt(&m.unit),
                    opt(&m.dose)
                ),
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
            let value = match (&r.value, &r.unit) {
                (Some(x), Some(u)) => format!("{x} {u}"),
                (Some(x), None) => x.clone(),
                _ => String::new(),
            };
            let mut text = format!("• {}", opt(&r.indicator));
            if !value.is_empty() {
                text.push_str(&format!(": {value}"));
            }
            if let Some(c) = &r.conclusion {
                text.push_str(&format!(" — {c}"));
            }
            w.para(&text, 10.0, false, 2.0);
            if r.value.is_none()
                && let Some(d) = &r.description
            {
                w.para(d, 9.0, false, 6.0);
            }
        }
    }
    if let Some(a) = &v.appointment {
        w.heading("Giấy hẹn khám lại");
        w.field("Số giấy hẹn", opt(&a.number));
        w.field("Hẹn khám lại lúc", &when(a.at));
        w.field("Tại cơ sở", opt(&a.facility));
        w.field("Ngày cấp", &day(a.issued));
    }
    if let Some(r) = &v.referral {
        w.heading("Giấy chuyển tuyến");
        w.field("Số giấy chuyển tuyến", opt(&r.number));
        w.field("Nơi chuyển đến", opt(&r.to_facility));
        w.field("Dấu hiệu lâm sàng", opt(&r.clinical_signs));
        w.field("Chẩn đoán", opt(&r.diagnosis));
        if let Some(x) = &r.reason {
            w.field("Lý do chuyển tuyến", &x.label);
        }
        w.field("Hướng điều trị", opt(&r.recommendation));
        w.field("Phương tiện vận chuyển", opt(&r.transport));
    }
    w.y -= 4.0;
    w.para(
        "Dữ liệu do cơ sở khám bệnh, chữa bệnh gửi lên Sổ sức khỏe điện tử (QĐ 31/QĐ-BYT: giá trị như bản giấy).",
        8.0,
        false,
        0.0,
    );
    w.doc.save_to_bytes()
}

fn birth(b: &Option<String>) -> String {
    match b.as_deref() {
        Some(s) if s.len() >= 8 => {
            let (y, m, d) = (&s[..4], &s[4..6], &s[6..8]);
            if m == "00" {
                y.to_string()
            } else {
                format!("{d}/{m}/{y}")
            }
        }
        Some(s) => s.to_string(),
        None => String::new(),
    }
}

/// A table of a report: its heading, header row, rows, and column widths (mm).
pub struct Table {
    pub heading: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub widths: Vec<f32>,
}

/// A printable report: a title, lines of context, then tables (a header row and rows),
/// columns at the given widths (mm). Cells too long for their column are cut with "…".
pub fn report_pdf(
    title: &str,
    context: &[String],
    tables: &[Table],
) -> Result<Vec<u8>, printpdf::Error> {
    let mut w = Writer::new(title)?;
    w.line(title, 14.0, true, 0.0);
    w.y -= 1.0;
    for c in context {
        w.para(c, 10.0, false, 0.0);
    }
    for Table {
        heading,
        header,
        rows,
        widths,
    } in tables
    {
        w.heading(heading);
        let cells = |w: &mut Writer, cells: &[String], bold: bool| {
            let size = 8.5;
            w.room(size * 0.5);
            let mut x = 0.0;
            for (cell, width) in cells.iter().zip(widths) {
                // ~0.5 em per character at this size.
                let fit = (width / (size * 0.22)).max(3.0) as usize;
                let text: String = if cell.chars().count() > fit {
                    cell.chars().take(fit - 1).chain(['…']).collect()
                } else {
                    cell.clone()
                };
                let font = if bold { &w.bold } else { &w.regular };
                w.layer.use_text(&text, size, Mm(MARGIN + x), Mm(w.y), font);
                x += width;
            }
            w.y -= size * 0.5;
        };
        cells(&mut w, header, true);
        for r in rows {
            cells(&mut w, r, false);
        }
    }
    w.doc.save_to_bytes()
}

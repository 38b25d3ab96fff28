//! The monthly report as an administrative document: the agency and the national
//! motto at the top, the title, the table (every cell wrapped, never cut, the header
//! repeated on each page), the units that have not filed, and the signature block
//! with its date line. DejaVu Sans is embedded, so every diacritic renders.

use printpdf::{
    IndirectFontRef, Line, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference, Point,
};

const REGULAR: &[u8] = crate::FONT_REGULAR;
const BOLD: &[u8] = crate::FONT_BOLD;

const PAGE_W: f32 = 297.0;
const PAGE_H: f32 = 210.0;
const MARGIN: f32 = 15.0;
const PT: f32 = 0.3528;

/// The width (mm) of `text` at `size` pt: DejaVu Sans advance widths by class of
/// character (close enough to centre, align and wrap with a little room).
pub fn width(text: &str, size: f32, bold: bool) -> f32 {
    let em: f32 =
        text.chars()
            .map(|c| match c {
                ' ' => 0.32,
                '0'..='9' => 0.636,
                'i' | 'l' | 'j' | 'ì' | 'í' | 'ỉ' | 'ĩ' | 'ị' | 'I' | 'Ì' | 'Í' | 'Ỉ' | 'Ĩ'
                | 'Ị' => 0.30,
                'f' | 'r' | 't' => 0.42,
                'm' | 'w' | 'M' | 'W' => 0.95,
                c if c.is_uppercase() => 0.74,
                c if c.is_lowercase() => 0.62,
                _ => 0.45,
            })
            .sum();
    em * size * PT * if bold { 1.1 } else { 1.0 }
}

/// `text` in lines no wider than `max` mm, broken between words (a word longer than
/// a line is broken where it must).
pub fn wrap(text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if width(&candidate, size, bold) <= max {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // The word alone: split it when it does not fit a line.
        for c in word.chars() {
            current.push(c);
            if width(&current, size, bold) > max && current.chars().count() > 1 {
                let last = current.pop().unwrap_or(' ');
                lines.push(std::mem::take(&mut current));
                current.push(last);
            }
        }
    }
    if !current.is_empty() || lines.is_empty() {
        lines.push(current);
    }
    lines
}

#[derive(Clone, Copy, PartialEq)]
pub enum Align {
    Left,
    Right,
}

pub struct Table {
    pub heading: String,
    pub header: Vec<String>,
    pub widths: Vec<f32>,
    pub align: Vec<Align>,
    pub rows: Vec<Vec<String>>,
    /// The last row is a total (bold).
    pub total: bool,
}

pub struct Document {
    /// The agency above (the people's committee) and the agency (bold).
    pub agency: Vec<String>,
    pub title: String,
    pub subtitle: String,
    pub context: Vec<String>,
    pub tables: Vec<Table>,
    /// "Hà Nội, ngày 05 tháng 12 năm 2026".
    pub date_line: String,
}

struct Writer {
    doc: PdfDocumentReference,
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    y: f32,
}

impl Writer {
    fn font(&self, bold: bool) -> &IndirectFontRef {
        if bold { &self.bold } else { &self.regular }
    }

    fn text(&self, text: &str, size: f32, bold: bool, x: f32, y: f32) {
        self.layer
            .use_text(text, size, Mm(x), Mm(y), self.font(bold));
    }

    fn centred(&self, text: &str, size: f32, bold: bool, centre: f32, y: f32) {
        let x = centre - width(text, size, bold) / 2.0;
        self.text(text, size, bold, x, y);
    }

    fn rule(&self, x1: f32, x2: f32, y: f32, thickness: f32) {
        self.layer.set_outline_thickness(thickness);
        self.layer.add_line(Line {
            points: vec![
                (Point::new(Mm(x1), Mm(y)), false),
                (Point::new(Mm(x2), Mm(y)), false),
            ],
            is_closed: false,
        });
    }

    fn vertical(&self, x: f32, y1: f32, y2: f32) {
        self.layer.set_outline_thickness(0.5);
        self.layer.add_line(Line {
            points: vec![
                (Point::new(Mm(x), Mm(y1)), false),
                (Point::new(Mm(x), Mm(y2)), false),
            ],
            is_closed: false,
        });
    }

    /// A new page when less than `height` mm is left; whether it made one.
    fn room(&mut self, height: f32) -> bool {
        if self.y - height >= MARGIN {
            return false;
        }
        let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "nội dung");
        self.layer = self.doc.get_page(page).get_layer(layer);
        self.y = PAGE_H - MARGIN;
        true
    }

    /// One table row: cells wrapped in their columns, framed.
    fn row(&mut self, t: &Table, cells: &[String], bold: bool, size: f32) {
        let pad = 1.2;
        let step = size * PT * 1.25;
        let wrapped: Vec<Vec<String>> = cells
            .iter()
            .zip(&t.widths)
            .map(|(c, w)| wrap(c, size, bold, w - 2.0 * pad))
            .collect();
        let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let height = lines as f32 * step + 2.0 * pad;
        let top = self.y;
        let mut x = MARGIN;
        for ((cell, w), align) in wrapped.iter().zip(&t.widths).zip(&t.align) {
            for (i, line) in cell.iter().enumerate() {
                let baseline = top - pad - step * (i as f32 + 1.0) + step * 0.25;
                let lx = match align {
                    Align::Left => x + pad,
                    Align::Right => x + w - pad - width(line, size, bold),
                };
                self.text(line, size, bold, lx, baseline);
            }
            self.vertical(x, top, top - height);
            x += w;
        }
        self.vertical(x, top, top - height);
        self.rule(MARGIN, x, top, 0.5);
        self.rule(MARGIN, x, top - height, 0.5);
        self.y = top - height;
    }

    fn row_height(t: &Table, cells: &[String], bold: bool, size: f32) -> f32 {
        let lines = cells
            .iter()
            .zip(&t.widths)
            .map(|(c, w)| wrap(c, size, bold, w - 2.4).len())
            .max()
            .unwrap_or(1);
        lines as f32 * size * PT * 1.25 + 2.4
    }

    fn table(&mut self, t: &Table) {
        let size = 9.0;
        let header_h = Self::row_height(t, &t.header, true, size);
        let first = t
            .rows
            .first()
            .map_or(0.0, |r| Self::row_height(t, r, false, size));
        // The heading stays with the header and the first row.
        self.y -= 4.0;
        self.room(8.0 + header_h + first);
        self.text(&t.heading, 11.0, true, MARGIN, self.y - 4.0);
        self.y -= 7.0;
        self.row(t, &t.header, true, size);
        for (i, r) in t.rows.iter().enumerate() {
            let bold = t.total && i + 1 == t.rows.len();
            let h = Self::row_height(t, r, bold, size);
            if self.room(h) {
                self.row(t, &t.header, true, size);
            }
            self.row(t, r, bold, size);
        }
    }
}

/// The document as a PDF (A4 landscape), titled as readers show it.
pub fn render(d: &Document) -> Result<Vec<u8>, crate::PdfError> {
    let (doc, page, layer) = PdfDocument::new(&d.title, Mm(PAGE_W), Mm(PAGE_H), "nội dung");
    let regular = doc.add_external_font(std::io::Cursor::new(REGULAR))?;
    let bold = doc.add_external_font(std::io::Cursor::new(BOLD))?;
    let layer = doc.get_page(page).get_layer(layer);
    let mut w = Writer {
        doc,
        layer,
        regular,
        bold,
        y: PAGE_H - MARGIN,
    };
    // The agency (left) and the national motto (right), each centred on its column.
    let (left, right) = (MARGIN + 50.0, PAGE_W - MARGIN - 68.0);
    let top = w.y - 4.0;
    let mut y = top;
    for (i, line) in d.agency.iter().enumerate() {
        let last = i + 1 == d.agency.len();
        w.centred(line, 10.5, last, left, y);
        y -= 5.0;
    }
    if let Some(last) = d.agency.last() {
        let half = width(last, 10.5, true).min(60.0) / 4.0;
        w.rule(left - half, left + half, y + 3.2, 0.6);
    }
    w.centred("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 10.5, true, right, top);
    let motto = "Độc lập - Tự do - Hạnh phúc";
    w.centred(motto, 11.0, true, right, top - 5.0);
    let half = width(motto, 11.0, true) / 2.0;
    w.rule(right - half, right + half, top - 6.8, 0.6);
    w.y = y.min(top - 10.0) - 8.0;
    // The title.
    w.centred(&d.title, 14.0, true, PAGE_W / 2.0, w.y);
    w.y -= 6.5;
    for line in wrap(&d.subtitle, 11.0, true, PAGE_W - 2.0 * MARGIN) {
        w.centred(&line, 11.0, true, PAGE_W / 2.0, w.y);
        w.y -= 5.5;
    }
    w.y -= 1.5;
    for c in &d.context {
        for line in wrap(c, 10.0, false, PAGE_W - 2.0 * MARGIN) {
            w.room(5.0);
            w.text(&line, 10.0, false, MARGIN, w.y);
            w.y -= 5.0;
        }
    }
    for t in &d.tables {
        w.table(t);
    }
    // The signature block, kept together (with room to sign below).
    w.y -= 8.0;
    w.room(36.0);
    let (sign_left, sign_right) = (MARGIN + 55.0, PAGE_W - MARGIN - 68.0);
    w.centred(&d.date_line, 10.5, false, sign_right, w.y);
    w.y -= 6.0;
    w.centred("NGƯỜI LẬP BIỂU", 10.5, true, sign_left, w.y);
    w.centred("THỦ TRƯỞNG ĐƠN VỊ", 10.5, true, sign_right, w.y);
    w.y -= 5.0;
    w.centred("(Ký, ghi rõ họ tên)", 9.5, false, sign_left, w.y);
    w.centred("(Ký, ghi rõ họ tên, đóng dấu)", 9.5, false, sign_right, w.y);
    crate::with_title(w.doc.save_to_bytes()?, &d.title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_wraps_between_words_and_nothing_is_lost() {
        let text = "Chưa có điện thoại thông minh; chưa có căn cước công dân gắn chip";
        let lines = wrap(text, 9.0, false, 30.0);
        assert!(lines.len() > 1, "{lines:?}");
        assert!(lines.iter().all(|l| width(l, 9.0, false) <= 30.0));
        assert_eq!(lines.join(" "), text);
        let long = "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(wrap(long, 9.0, false, 20.0).concat(), long);
        assert_eq!(wrap("", 9.0, false, 20.0), vec![String::new()]);
    }
}

//! A guarded XML reader for the documents of this format: a pull parser over a
//! `&str` that was checked as UTF-8 once (no event is checked again), which refuses
//! DTDs (so no entity can be declared, and no billion laughs can expand), resolves
//! the five predefined entities and character references, normalises XML 1.0 line
//! ends in text, checks that every end tag closes the open element, bounds nesting
//! depth, and reports well-formedness errors with their byte offset. Attributes are
//! read for their syntax and ignored: no field of the format is an attribute.
//! Element and text slices are borrowed from the input.

use std::borrow::Cow;

use memchr::{memchr, memchr2, memmem};

/// A simplified event.
#[derive(Debug)]
pub enum Ev<'a> {
    /// A start tag, or an empty-element tag (`empty` true; no matching `End` follows).
    Start {
        name: &'a str,
        empty: bool,
    },
    End {
        name: &'a str,
    },
    /// Character data (references resolved, line ends normalised) up to the next
    /// markup; a CDATA section is one more. White space alone before a tag is not
    /// returned.
    Text(Cow<'a, str>),
    Eof,
}

/// Why a document could not be read to its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("DTD or entity declaration at byte {0}")]
    Dtd(u64),
    #[error("undefined entity &{0};")]
    UndefinedEntity(String),
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    #[error("unsupported encoding {0:?} (only UTF-8)")]
    Encoding(String),
    #[error("not well-formed at byte {pos}: {msg}")]
    Syntax { pos: u64, msg: String },
}

impl XmlError {
    /// Stable suffix for finding codes.
    pub fn code(&self) -> &'static str {
        match self {
            XmlError::Dtd(_) => "dtd",
            XmlError::UndefinedEntity(_) => "entity",
            XmlError::TooDeep(_) => "depth",
            XmlError::Encoding(_) => "encoding",
            XmlError::Syntax { .. } => "malformed",
        }
    }

    pub fn message_vi(&self) -> String {
        match self {
            XmlError::Dtd(_) => {
                "Tài liệu có khai báo DTD/thực thể (<!DOCTYPE>), không được phép".into()
            }
            XmlError::UndefinedEntity(e) => format!("Thực thể &{e}; không được định nghĩa"),
            XmlError::TooDeep(n) => format!("Cấu trúc XML lồng sâu quá {n} cấp"),
            XmlError::Encoding(e) => format!("Bảng mã {e} không được hỗ trợ, chỉ chấp nhận UTF-8"),
            XmlError::Syntax { pos, msg } => {
                format!("XML không đúng cú pháp tại byte {pos}: {msg}")
            }
        }
    }
}

pub struct Guarded<'a> {
    text: &'a str,
    /// Byte offset of the next unread byte.
    pos: usize,
    /// Names of the open elements, outermost first.
    open: Vec<&'a str>,
    max_depth: usize,
    /// Set after the root element closes: anything but white space, comments or
    /// processing instructions after it is an error.
    root_closed: bool,
    /// Step over a DOCTYPE instead of refusing it (only to name the root).
    step_over_dtd: bool,
}

const fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Where a name starting at `from` ends: at white space, `/`, `>` or a byte
/// that cannot be part of a name here.
fn name_end(b: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < b.len()
        && !is_ws(b[i])
        && !matches!(b[i], b'/' | b'>' | b'<' | b'=' | b'"' | b'\'' | b'&')
    {
        i += 1;
    }
    i
}

/// Two names are equal. Names are short: a byte loop beats a call to `memcmp`.
#[inline]
pub fn same(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A name or value quoted in an error message, cut to a readable length.
fn short(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((at, _)) => &s[..at],
        None => s,
    }
}

impl<'a> Guarded<'a> {
    pub fn new(text: &'a str, max_depth: usize) -> Self {
        Guarded {
            text,
            pos: 0,
            open: Vec::with_capacity(8),
            max_depth,
            root_closed: false,
            step_over_dtd: false,
        }
    }

    /// Byte offset just after the last event read.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn depth(&self) -> usize {
        self.open.len()
    }

    fn syntax(&self, at: usize, msg: impl Into<String>) -> XmlError {
        XmlError::Syntax {
            pos: at as u64,
            msg: msg.into(),
        }
    }

    pub fn next_event(&mut self) -> Result<Ev<'a>, XmlError> {
        let text = self.text;
        let b = text.as_bytes();
        loop {
            let start = self.pos;
            let Some(&first) = b.get(start) else {
                if !self.open.is_empty() {
                    return Err(self.syntax(start, "unexpected end of document"));
                }
                return Ok(Ev::Eof);
            };
            if first != b'<' {
                // White space before a tag means nothing in this format (values
                // are trimmed, elements hold values or elements): it is stepped
                // over, not returned. Before a comment, PI or CDATA it may sit
                // inside a value and is kept.
                let mut i = start;
                while i < b.len() && is_ws(b[i]) {
                    i += 1;
                }
                let tag_next =
                    b.get(i) == Some(&b'<') && !matches!(b.get(i + 1), Some(b'!' | b'?'));
                if i == b.len() || tag_next || (b[i] == b'<' && self.open.is_empty()) {
                    self.pos = i;
                    continue;
                }
                let end = memchr(b'<', &b[i..]).map_or(b.len(), |k| i + k);
                self.pos = end;
                if self.open.is_empty() {
                    return Err(self.syntax(start, "text outside the root element"));
                }
                // Both ends are at ASCII bytes (or the ends of the text).
                return self.char_data(&text[start..end], start).map(Ev::Text);
            }
            match b.get(start + 1) {
                Some(b'/') => return self.end_tag(start),
                Some(b'?') => self.processing_instruction(start)?,
                Some(b'!') => {
                    if let Some(t) = self.markup_declaration(start)? {
                        return Ok(Ev::Text(t));
                    }
                }
                _ => return self.start_tag(start),
            }
        }
    }

    /// `<name attr="v" …>` or `<name …/>` at `start`.
    fn start_tag(&mut self, start: usize) -> Result<Ev<'a>, XmlError> {
        let b = self.text.as_bytes();
        let end = name_end(b, start + 1);
        if end == start + 1 {
            return Err(self.syntax(start, "an element without a name"));
        }
        if b.get(end)
            .is_some_and(|&c| !is_ws(c) && c != b'/' && c != b'>')
        {
            return Err(self.syntax(end, "a character not allowed in an element name"));
        }
        let name = &self.text[start + 1..end];
        let mut i = end;
        let empty = loop {
            let gap = i;
            while i < b.len() && is_ws(b[i]) {
                i += 1;
            }
            match b.get(i) {
                None => return Err(self.syntax(start, "a start tag not closed")),
                Some(b'>') => {
                    i += 1;
                    break false;
                }
                Some(b'/') => {
                    if b.get(i + 1) != Some(&b'>') {
                        return Err(self.syntax(i, "'/' not followed by '>' in a start tag"));
                    }
                    i += 2;
                    break true;
                }
                Some(_) if i == gap => {
                    return Err(self.syntax(i, "attributes not separated by white space"));
                }
                Some(_) => i = self.attribute(i)?,
            }
        };
        if self.root_closed {
            return Err(self.syntax(start, "content after the root element"));
        }
        self.pos = i;
        if empty {
            if self.open.is_empty() {
                self.root_closed = true;
            }
        } else {
            if self.open.len() >= self.max_depth {
                return Err(XmlError::TooDeep(self.max_depth));
            }
            self.open.push(name);
        }
        Ok(Ev::Start { name, empty })
    }

    /// One `name="value"` (or single-quoted) at `i`; the offset after it. Read for
    /// its syntax only: no field of the format is an attribute.
    fn attribute(&self, mut i: usize) -> Result<usize, XmlError> {
        let b = self.text.as_bytes();
        let start = i;
        i = name_end(b, i);
        if i == start {
            return Err(self.syntax(i, "an attribute without a name"));
        }
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return Err(self.syntax(i, "an attribute without a value"));
        }
        i += 1;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        let quote = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => q,
            _ => return Err(self.syntax(i, "an attribute value not in quotes")),
        };
        let Some(len) = memchr(quote, &b[i + 1..]) else {
            return Err(self.syntax(i, "an attribute value not closed"));
        };
        if memchr(b'<', &b[i + 1..i + 1 + len]).is_some() {
            return Err(self.syntax(i, "'<' inside an attribute value"));
        }
        Ok(i + len + 2)
    }

    /// `</name>` at `start`: it must close the innermost open element.
    fn end_tag(&mut self, start: usize) -> Result<Ev<'a>, XmlError> {
        let b = self.text.as_bytes();
        let end = name_end(b, start + 2);
        let name = &self.text[start + 2..end];
        let mut i = end;
        while i < b.len() && is_ws(b[i]) {
            i += 1;
        }
        if name.is_empty() || b.get(i) != Some(&b'>') {
            return Err(self.syntax(start, "an end tag not closed"));
        }
        match self.open.pop() {
            Some(open) if same(open, name) => {}
            Some(open) => {
                return Err(self.syntax(
                    start,
                    format!(
                        "end tag </{}> does not close <{}>",
                        short(name),
                        short(open)
                    ),
                ));
            }
            None => {
                return Err(self.syntax(
                    start,
                    format!("end tag </{}> without a start tag", short(name)),
                ));
            }
        }
        if self.open.is_empty() {
            self.root_closed = true;
        }
        self.pos = i + 1;
        Ok(Ev::End { name })
    }

    /// `<?target …?>` at `start`: skipped, except that an XML declaration must
    /// declare UTF-8 if it declares an encoding.
    fn processing_instruction(&mut self, start: usize) -> Result<(), XmlError> {
        let b = self.text.as_bytes();
        let Some(len) = memmem::find(&b[start + 2..], b"?>") else {
            return Err(self.syntax(start, "a processing instruction not closed"));
        };
        let body = &self.text[start + 2..start + 2 + len];
        let target = &body[..name_end(body.as_bytes(), 0)];
        if target.is_empty() || !body[target.len()..].bytes().next().is_none_or(is_ws) {
            return Err(self.syntax(start, "a processing instruction without a valid target"));
        }
        self.pos = start + len + 4;
        if target == "xml"
            && let Some(enc) = declared_encoding(&body[3..])
        {
            let enc = enc.trim().to_ascii_lowercase();
            if enc != "utf-8" && enc != "utf8" {
                return Err(XmlError::Encoding(short(&enc).to_string()));
            }
        }
        Ok(())
    }

    /// `<!…` at `start`: a comment (skipped), a CDATA section (its text), or a DTD
    /// (refused). Anything else is not well-formed.
    fn markup_declaration(&mut self, start: usize) -> Result<Option<Cow<'a, str>>, XmlError> {
        let b = self.text.as_bytes();
        let rest = &b[start + 2..];
        if rest.starts_with(b"--") {
            let Some(len) = memmem::find(&rest[2..], b"-->") else {
                return Err(self.syntax(start, "a comment not closed"));
            };
            self.pos = start + len + 7;
            return Ok(None);
        }
        if rest.starts_with(b"[CDATA[") {
            if self.open.is_empty() {
                return Err(self.syntax(start, "CDATA outside the root element"));
            }
            let from = start + 9;
            let Some(len) = memmem::find(&b[from..], b"]]>") else {
                return Err(self.syntax(start, "a CDATA section not closed"));
            };
            self.pos = from + len + 3;
            return Ok(Some(line_ends(&self.text[from..from + len])));
        }
        if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case(b"DOCTYPE") {
            if self.step_over_dtd {
                self.pos = doctype_end(b, start)
                    .ok_or_else(|| self.syntax(start, "a DOCTYPE not closed"))?;
                return Ok(None);
            }
            return Err(XmlError::Dtd(start as u64));
        }
        Err(self.syntax(start, "markup after '<!' that is not a comment or CDATA"))
    }

    /// Character data: line ends normalised (XML 1.0 §2.11), references resolved.
    /// Borrowed from the input unless either changed something.
    fn char_data(&self, raw: &'a str, at: usize) -> Result<Cow<'a, str>, XmlError> {
        let bytes = raw.as_bytes();
        let Some(mut next) = memchr2(b'&', b'\r', bytes) else {
            return Ok(Cow::Borrowed(raw));
        };
        let mut out = String::with_capacity(raw.len());
        let mut done = 0;
        loop {
            out.push_str(&raw[done..next]);
            if bytes[next] == b'\r' {
                out.push('\n');
                done = next + 1;
                if bytes.get(done) == Some(&b'\n') {
                    done += 1;
                }
            } else {
                let Some(len) = memchr(b';', &bytes[next + 1..]) else {
                    return Err(self.syntax(at + next, "a reference without ';'"));
                };
                let name = &raw[next + 1..next + 1 + len];
                out.push(resolve(name).map_err(|e| match e {
                    Some(e) => e,
                    None => self.syntax(
                        at + next,
                        format!("&{}; is not a valid character reference", short(name)),
                    ),
                })?);
                done = next + len + 2;
            }
            match memchr2(b'&', b'\r', &bytes[done..]) {
                Some(k) => next = done + k,
                None => {
                    out.push_str(&raw[done..]);
                    return Ok(Cow::Owned(out));
                }
            }
        }
    }

    /// Skip the rest of the element whose start was just read (not for empty tags).
    pub fn skip_element(&mut self) -> Result<(), XmlError> {
        let target = self.depth() - 1;
        while self.depth() > target {
            if let Ev::Eof = self.next_event()? {
                return Err(self.syntax(self.pos, "unexpected end of document"));
            }
        }
        Ok(())
    }

    /// Read the text content of the element whose start was just read, up to its
    /// end tag. `Err(Nested)` when it has child elements (they are skipped).
    pub fn text_content(&mut self) -> Result<Result<Cow<'a, str>, Nested>, XmlError> {
        // The usual case, `value</NAME>`, in one step.
        if let Some(&name) = self.open.last() {
            let b = self.text.as_bytes();
            let start = self.pos;
            let end = memchr(b'<', &b[start..]).map_or(b.len(), |i| start + i);
            let close = end + 2 + name.len();
            if b.get(end + 1) == Some(&b'/')
                && b.get(close) == Some(&b'>')
                && same_bytes(&b[end + 2..close], name.as_bytes())
            {
                let t = self.char_data(&self.text[start..end], start)?;
                self.open.pop();
                if self.open.is_empty() {
                    self.root_closed = true;
                }
                self.pos = close + 1;
                return Ok(Ok(t));
            }
        }
        let mut acc: Option<Cow<'a, str>> = None;
        loop {
            match self.next_event()? {
                Ev::Text(t) => {
                    acc = Some(match acc {
                        None => t,
                        Some(mut a) => {
                            a.to_mut().push_str(&t);
                            a
                        }
                    })
                }
                Ev::End { .. } => return Ok(Ok(acc.unwrap_or(Cow::Borrowed("")))),
                Ev::Start { empty, .. } => {
                    if !empty {
                        self.skip_element()?;
                    }
                    // Drain the rest of this element.
                    self.skip_element()?;
                    return Ok(Err(Nested));
                }
                Ev::Eof => return Err(self.syntax(self.pos, "unexpected end of document")),
            }
        }
    }
}

/// The character a reference names: one of the five predefined entities or a
/// character reference to a character XML allows. `Err(Some(_))` for an entity
/// that is not defined (no DTD may define one), `Err(None)` for a bad reference.
fn resolve(name: &str) -> Result<char, Option<XmlError>> {
    Ok(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => {
            let Some(number) = name.strip_prefix('#') else {
                if name.is_empty() || name.bytes().any(is_ws) {
                    return Err(None);
                }
                return Err(Some(XmlError::UndefinedEntity(short(name).to_string())));
            };
            let (digits, radix) = match number.strip_prefix('x') {
                Some(hex) => (hex, 16),
                None => (number, 10),
            };
            if digits.is_empty()
                || digits.len() > 8
                || !digits.bytes().all(|c| c.is_ascii_hexdigit())
            {
                return Err(None);
            }
            let code = u32::from_str_radix(digits, radix).map_err(|_| None)?;
            let allowed = matches!(code, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF);
            char::from_u32(code).filter(|_| allowed).ok_or(None)?
        }
    })
}

/// XML 1.0 line ends: CR LF and a lone CR become LF.
fn line_ends(raw: &str) -> Cow<'_, str> {
    if memchr(b'\r', raw.as_bytes()).is_none() {
        return Cow::Borrowed(raw);
    }
    Cow::Owned(raw.replace("\r\n", "\n").replace('\r', "\n"))
}

/// The `encoding` pseudo-attribute of an XML declaration's body.
fn declared_encoding(decl: &str) -> Option<&str> {
    decl.match_indices("encoding").find_map(|(at, word)| {
        // After white space, or directly after the previous value's quote.
        if !decl[..at].ends_with(|c: char| c.is_ascii_whitespace() || c == '"' || c == '\'') {
            return None;
        }
        let rest = decl[at + word.len()..].trim_start();
        let rest = rest.strip_prefix('=')?.trim_start();
        let quote = rest.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let rest = &rest[1..];
        rest.find(quote).map(|end| &rest[..end])
    })
}

/// The offset after a DOCTYPE at `start`, with its internal subset (`[…]`).
fn doctype_end(b: &[u8], start: usize) -> Option<usize> {
    let close = memchr2(b'[', b'>', &b[start..])? + start;
    if b[close] == b'>' {
        return Some(close + 1);
    }
    let mut i = close;
    loop {
        i = memchr(b']', &b[i + 1..])? + i + 1;
        let mut j = i + 1;
        while j < b.len() && is_ws(b[j]) {
            j += 1;
        }
        if b.get(j) == Some(&b'>') {
            return Some(j + 1);
        }
    }
}

/// An element held child elements where text was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nested;

/// Strip a UTF-8 byte-order mark and check the bytes are UTF-8 (with SIMD; the
/// standard library's check runs again only to say where bad bytes start).
pub fn utf8_text(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    simdutf8::basic::from_utf8(bytes).or_else(|_| std::str::from_utf8(bytes))
}

/// The name of the first element of a document, without parsing the rest. A DTD
/// is stepped over here (nothing in it is read); the parser proper refuses it.
pub fn root_name(text: &str) -> Option<&str> {
    let mut g = Guarded::new(text, usize::MAX);
    g.step_over_dtd = true;
    for _ in 0..64 {
        match g.next_event().ok()? {
            Ev::Start { name, .. } => return Some(name),
            Ev::Eof => return None,
            _ => {}
        }
    }
    None
}

/// Text escaped for element content or a quoted attribute: `< > & ' "`.
pub fn escape(s: &str) -> Cow<'_, str> {
    let special = |c: u8| matches!(c, b'<' | b'>' | b'&' | b'\'' | b'"');
    if !s.bytes().any(special) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

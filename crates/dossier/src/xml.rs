//! A guarded XML event stream over quick-xml: refuses DTDs (so no entity can be
//! declared, and no billion laughs can expand), resolves the five predefined
//! entities and character references, bounds nesting depth, and reports
//! well-formedness errors with their byte offset.

use std::borrow::Cow;

use quick_xml::events::Event;
use quick_xml::reader::Reader;

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
    /// Character data: text, CDATA or a resolved reference. Several may follow
    /// each other inside one element.
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
    reader: Reader<&'a [u8]>,
    depth: usize,
    max_depth: usize,
    /// Set after the root element closes: anything but whitespace, comments or
    /// processing instructions after it is an error.
    root_closed: bool,
}

impl<'a> Guarded<'a> {
    pub fn new(text: &'a str, max_depth: usize) -> Self {
        let mut reader = Reader::from_str(text);
        let cfg = reader.config_mut();
        cfg.check_end_names = true;
        cfg.check_comments = false;
        cfg.expand_empty_elements = false;
        Guarded {
            text,
            reader,
            depth: 0,
            max_depth,
            root_closed: false,
        }
    }

    /// Byte offset just after the last event read.
    pub fn position(&self) -> usize {
        self.reader.buffer_position() as usize
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    fn syntax(&self, e: impl ToString) -> XmlError {
        XmlError::Syntax {
            pos: self.reader.error_position(),
            msg: e.to_string(),
        }
    }

    pub fn next_event(&mut self) -> Result<Ev<'a>, XmlError> {
        loop {
            let ev = self.reader.read_event().map_err(|e| self.syntax(e))?;
            match ev {
                Event::Start(e) => {
                    if self.root_closed {
                        return Err(self.syntax("content after the root element"));
                    }
                    self.depth += 1;
                    if self.depth > self.max_depth {
                        return Err(XmlError::TooDeep(self.max_depth));
                    }
                    return Ok(Ev::Start {
                        name: name_of(self.text, e.name().into_inner())?,
                        empty: false,
                    });
                }
                Event::Empty(e) => {
                    if self.root_closed {
                        return Err(self.syntax("content after the root element"));
                    }
                    if self.depth == 0 {
                        self.root_closed = true;
                    }
                    return Ok(Ev::Start {
                        name: name_of(self.text, e.name().into_inner())?,
                        empty: true,
                    });
                }
                Event::End(e) => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        self.root_closed = true;
                    }
                    return Ok(Ev::End {
                        name: name_of(self.text, e.name().into_inner())?,
                    });
                }
                Event::Text(t) => {
                    let s = t.xml10_content();
                    if self.depth == 0 {
                        if s.trim().is_empty() {
                            continue;
                        }
                        return Err(self.syntax("text outside the root element"));
                    }
                    return Ok(Ev::Text(s));
                }
                Event::CData(c) => {
                    if self.depth == 0 {
                        return Err(self.syntax("CDATA outside the root element"));
                    }
                    return Ok(Ev::Text(c.xml10_content()));
                }
                Event::GeneralRef(r) => {
                    if self.depth == 0 {
                        return Err(self.syntax("reference outside the root element"));
                    }
                    let resolved = match r.resolve_char_ref().map_err(|e| self.syntax(e))? {
                        Some(ch) => ch,
                        None => match &*r {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            other => return Err(XmlError::UndefinedEntity(other.to_string())),
                        },
                    };
                    return Ok(Ev::Text(Cow::Owned(resolved.to_string())));
                }
                Event::DocType(_) => {
                    return Err(XmlError::Dtd(self.reader.buffer_position()));
                }
                Event::Decl(d) => {
                    if let Some(Ok(enc)) = d.encoding() {
                        let enc = enc.trim().to_ascii_lowercase();
                        if enc != "utf-8" && enc != "utf8" {
                            return Err(XmlError::Encoding(enc));
                        }
                    }
                }
                Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    if self.depth != 0 {
                        return Err(self.syntax("unexpected end of document"));
                    }
                    return Ok(Ev::Eof);
                }
            }
        }
    }

    /// Skip the rest of the element whose start was just read (not for empty tags).
    pub fn skip_element(&mut self) -> Result<(), XmlError> {
        let target = self.depth - 1;
        while self.depth > target {
            if let Ev::Eof = self.next_event()? {
                return Err(self.syntax("unexpected end of document"));
            }
        }
        Ok(())
    }

    /// Read the text content of the element whose start was just read, up to its
    /// end tag. `Err(Nested)` when it has child elements (they are skipped).
    pub fn text_content(&mut self) -> Result<Result<Cow<'a, str>, Nested>, XmlError> {
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
                    let target = self.depth - 1;
                    while self.depth > target {
                        if let Ev::Eof = self.next_event()? {
                            return Err(self.syntax("unexpected end of document"));
                        }
                    }
                    return Ok(Err(Nested));
                }
                Ev::Eof => return Err(self.syntax("unexpected end of document")),
            }
        }
    }
}

/// An element held child elements where text was expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nested;

/// The element name as a slice of the input. The reader borrows names from the
/// input, so the name lies inside it; locate it by address.
fn name_of<'a>(text: &'a str, name: &str) -> Result<&'a str, XmlError> {
    let start = (name.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    text.get(start..start + name.len())
        .filter(|s| s.as_ptr() == name.as_ptr())
        .ok_or_else(|| XmlError::Syntax {
            pos: 0,
            msg: "element name not borrowed from the input".into(),
        })
}

/// Strip a UTF-8 byte-order mark and check the bytes are UTF-8.
pub fn utf8_text(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes)
}

/// The name of the first element of a document, without parsing the rest. A DTD
/// is stepped over here (quick-xml never expands one); the parser proper refuses it.
pub fn root_name(text: &str) -> Option<&str> {
    let mut reader = Reader::from_str(text);
    for _ in 0..64 {
        match reader.read_event().ok()? {
            Event::Start(e) | Event::Empty(e) => {
                return name_of(text, e.name().into_inner()).ok();
            }
            Event::Eof => return None,
            _ => {}
        }
    }
    None
}

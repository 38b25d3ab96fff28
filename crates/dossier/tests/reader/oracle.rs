//! The reference for `dossier::xml::Guarded`: quick-xml's reader (what the parser
//! used until December 2026) under the same guards, and both readers' events in one
//! comparable form. Shared by `tests/reader.rs` and the `reader` fuzz target.

use dossier::xml::{Ev, Guarded, XmlError};
use quick_xml::events::Event;
use quick_xml::reader::Reader;

/// An event with the text between two other events merged and trimmed (both
/// readers leave values to be trimmed; ours drops white space before tags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Start(String, bool),
    End(String),
    Text(String),
}

/// Why a reader refused a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Dtd,
    Entity,
    Depth,
    Encoding,
    Malformed,
}

#[derive(Default)]
struct Toks {
    out: Vec<Tok>,
    text: String,
}

impl Toks {
    fn flush(&mut self) {
        let t = self.text.trim();
        if !t.is_empty() {
            self.out.push(Tok::Text(t.to_string()));
        }
        self.text.clear();
    }

    fn push(&mut self, t: Tok) {
        self.flush();
        self.out.push(t);
    }
}

/// Every event of our reader, up to the end or the first refusal.
pub fn ours(text: &str, max_depth: usize) -> Result<Vec<Tok>, Refusal> {
    let mut g = Guarded::new(text, max_depth);
    let mut t = Toks::default();
    loop {
        match g.next_event().map_err(|e| refusal(&e))? {
            Ev::Start { name, empty } => t.push(Tok::Start(name.into(), empty)),
            Ev::End { name } => t.push(Tok::End(name.into())),
            Ev::Text(s) => t.text.push_str(&s),
            Ev::Eof => {
                t.flush();
                return Ok(t.out);
            }
        }
    }
}

/// Our reader's message for a document it refuses as malformed.
pub fn our_message(text: &str, max_depth: usize) -> Option<String> {
    let mut g = Guarded::new(text, max_depth);
    loop {
        match g.next_event() {
            Err(XmlError::Syntax { msg, .. }) => return Some(msg),
            Err(_) | Ok(Ev::Eof) => return None,
            Ok(_) => {}
        }
    }
}

/// Checks of well-formedness (XML 1.0) that quick-xml leaves to its caller and
/// that our reader makes: a document quick-xml reads may be refused for these.
pub const STRICTER: &[&str] = &[
    "a character not allowed in an element name",
    "an element without a name",
    "'/' not followed by '>' in a start tag",
    "a processing instruction without a valid target",
    // Outside the root only XML's four white-space characters (the old guard trimmed
    // any Unicode white space there).
    "text outside the root element",
    "attributes not separated by white space",
    "an attribute without a name",
    "an attribute without a value",
    "an attribute value not in quotes",
    "'<' inside an attribute value",
    "is not a valid character reference",
];

/// How the two readers disagree on `text`, beyond the checks we make and quick-xml
/// does not.
pub fn disagreement(text: &str, depth: usize) -> Option<String> {
    // The parser strips a byte-order mark before reading (`xml::utf8_text`).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let theirs = reference(text, depth);
    let mine = ours(text, depth);
    match (&theirs, &mine) {
        (Ok(a), Ok(b)) if a != b => Some(format!("different events for {text:?}")),
        // Any declaration naming another encoding is refused, even one that
        // quick-xml cannot read the attributes of.
        (Ok(_), Err(Refusal::Encoding)) => None,
        (Ok(_), Err(e)) => {
            let msg = our_message(text, depth).unwrap_or_default();
            (!STRICTER.iter().any(|s| msg.contains(s)))
                .then(|| format!("refused ({e:?}: {msg}) what quick-xml reads: {text:?}"))
        }
        (Err(e), Ok(_)) => Some(format!("read what quick-xml refuses ({e:?}): {text:?}")),
        _ => None,
    }
}

fn refusal(e: &XmlError) -> Refusal {
    match e {
        XmlError::Dtd(_) => Refusal::Dtd,
        XmlError::UndefinedEntity(_) => Refusal::Entity,
        XmlError::TooDeep(_) => Refusal::Depth,
        XmlError::Encoding(_) => Refusal::Encoding,
        XmlError::Syntax { .. } => Refusal::Malformed,
    }
}

/// The same through quick-xml with the guards the parser applied to it.
pub fn reference(text: &str, max_depth: usize) -> Result<Vec<Tok>, Refusal> {
    use Refusal::*;
    let mut r = Reader::from_str(text);
    let cfg = r.config_mut();
    cfg.check_end_names = true;
    cfg.check_comments = false;
    cfg.expand_empty_elements = false;
    let mut t = Toks::default();
    let mut depth = 0usize;
    let mut root_closed = false;
    let name = |n: &str| n.to_string();
    loop {
        match r.read_event().map_err(|_| Malformed)? {
            Event::Start(e) => {
                if root_closed {
                    return Err(Malformed);
                }
                depth += 1;
                if depth > max_depth {
                    return Err(Depth);
                }
                t.push(Tok::Start(name(e.name().into_inner()), false));
            }
            Event::Empty(e) => {
                if root_closed {
                    return Err(Malformed);
                }
                if depth == 0 {
                    root_closed = true;
                }
                t.push(Tok::Start(name(e.name().into_inner()), true));
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    root_closed = true;
                }
                t.push(Tok::End(name(e.name().into_inner())));
            }
            Event::Text(x) => {
                let s = x.xml10_content();
                if depth == 0 {
                    if s.trim().is_empty() {
                        continue;
                    }
                    return Err(Malformed);
                }
                t.text.push_str(&s);
            }
            Event::CData(c) => {
                if depth == 0 {
                    return Err(Malformed);
                }
                t.text.push_str(&c.xml10_content());
            }
            Event::GeneralRef(g) => {
                if depth == 0 {
                    return Err(Malformed);
                }
                let c = match g.resolve_char_ref().map_err(|_| Malformed)? {
                    Some(c) => c,
                    None => match &*g {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return Err(Entity),
                    },
                };
                t.text.push(c);
            }
            Event::DocType(_) => return Err(Dtd),
            Event::Decl(d) => {
                if let Some(Ok(enc)) = d.encoding() {
                    let enc = enc.trim().to_ascii_lowercase();
                    if enc != "utf-8" && enc != "utf8" {
                        return Err(Encoding);
                    }
                }
            }
            Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => {
                if depth != 0 {
                    return Err(Malformed);
                }
                t.flush();
                return Ok(t.out);
            }
        }
    }
}

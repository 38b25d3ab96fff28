//! The XML reader (`dossier::xml::Guarded`) against quick-xml with the guards the
//! parser used to apply to it: on generated documents, on hand-written edge cases and
//! on tens of thousands of mutations of both, every document quick-xml reads is read
//! to the same events, and every refusal of quick-xml is a refusal here.

#[path = "reader/oracle.rs"]
mod oracle;

use dossier::{Spec, write};
use oracle::{Refusal, Tok, disagreement, ours};
use synth::{Config, Generator};

const EDGE_CASES: &[&str] = &[
    "<A/>",
    "<A></A>",
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<A>\r\n <B>x\r\ny\rz</B>\n</A>\n",
    "<?xml version='1.0' encoding='UTF8' standalone='yes'?><A><B>1</B></A>",
    "<A><B>a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;</B></A>",
    "<A><B>&#65;&#x42;&#x1F600;&#9;</B></A>",
    "<A><B><![CDATA[<not a tag> & ]]></B></A>",
    "<A><B>a<!-- note -->b</B><?pi data?></A>",
    "<A x=\"1\" y='2'><B z = \"3\"/></A>",
    "<A><B>Nguyễn Văn A — Hà Nội</B></A>",
    "<!-- before --><A/><!-- after --><?pi?>",
    "<A>  <B> spaced </B>  </A>",
    "<A><B>a <!--c-->  <!--d--> b</B></A>",
    "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X/></ds:Signature>",
    // Refused by both.
    "<!DOCTYPE A [<!ENTITY x \"y\">]><A>&x;</A>",
    "<A>&x;</A>",
    "<A><B></A></B>",
    "<A></A><B/>",
    "text<A/>",
    "<A>",
    "</A>",
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><A/>",
    "<A><B>&#xD800;</B></A>",
    "<A><![CDATA[x</A>",
    "<A><!-- x</A>",
    "<A><B x=\"1></B></A>",
];

/// Small documents of every kind the parser reads.
fn corpus() -> Vec<String> {
    let mut docs: Vec<String> = EDGE_CASES.iter().map(|s| s.to_string()).collect();
    let g = Generator::new(Config {
        persons: 20,
        episodes: 40,
        seed: 11,
        ..Config::default()
    });
    for i in 0..40 {
        let e = g.episode(i);
        for (_, doc) in write::dossier_documents(&e.dossier, Spec::Qd3176) {
            docs.push(doc);
        }
        docs.push(String::from_utf8(e.checkin_bytes(Spec::Qd3176)).expect("utf-8"));
        if i < 3 {
            docs.push(String::from_utf8(e.envelope_bytes(Spec::Qd3176)).expect("utf-8"));
        }
    }
    docs
}

fn agree(text: &str, depth: usize) -> Result<Vec<Tok>, Refusal> {
    if let Some(problem) = disagreement(text, depth) {
        panic!("{problem}");
    }
    ours(text, depth)
}

#[test]
fn generated_documents_read_as_quick_xml_reads_them() {
    let docs = corpus();
    let mut read = 0;
    for d in &docs[EDGE_CASES.len()..] {
        let events = agree(d, 16).expect("a generated document is well-formed");
        assert!(events.len() > 3);
        read += 1;
    }
    assert!(read > 200, "{read}");
}

#[test]
fn edge_cases_read_or_refused_as_quick_xml_does() {
    let refused = EDGE_CASES.iter().filter(|d| agree(d, 16).is_err()).count();
    assert_eq!(refused, 12);
    assert_eq!(
        ours(EDGE_CASES[14], 16),
        Err(Refusal::Dtd),
        "a DTD is refused before any entity"
    );
    assert_eq!(ours(EDGE_CASES[15], 16), Err(Refusal::Entity));
    assert_eq!(ours("<A><A><A/></A></A>", 2).map(|e| e.len()), Ok(5));
    assert_eq!(ours("<A><A><A></A></A></A>", 2), Err(Refusal::Depth));
    assert_eq!(
        ours("<A><B>x\r\ny\rz &#65; <![CDATA[q]]></B></A>", 16),
        Ok(vec![
            Tok::Start("A".into(), false),
            Tok::Start("B".into(), false),
            Tok::Text("x\ny\nz A q".into()),
            Tok::End("B".into()),
            Tok::End("A".into()),
        ])
    );
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "<",
    ">",
    "/",
    "&",
    ";",
    "\"",
    "'",
    "=",
    "!",
    "?",
    "[",
    "]",
    "-",
    " ",
    "\r",
    "\n",
    "#",
    "x",
    "&amp;",
    "&#x41;",
    "&#0;",
    "&bad;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?",
    "?>",
    "<!DOCTYPE x>",
    "</A>",
    "<B>",
    "<B/>",
    "ễ",
    "\r\n",
    "a=\"1\"",
];

/// Cut, insert, replace or repeat a piece of `doc` at a char boundary.
fn mutate(doc: &str, rng: &mut Rng) -> String {
    let at = |rng: &mut Rng| {
        let mut i = rng.below(doc.len() + 1);
        while !doc.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let (mut a, mut b) = (at(rng), at(rng));
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    let piece = PIECES[rng.below(PIECES.len())];
    match rng.below(4) {
        0 => format!("{}{}", &doc[..a], &doc[b..]),
        1 => format!("{}{piece}{}", &doc[..a], &doc[a..]),
        2 => format!("{}{piece}{}", &doc[..a], &doc[b..]),
        _ => format!("{}{}{}", &doc[..b], &doc[a..b], &doc[b..]),
    }
}

#[test]
fn mutated_documents_are_read_or_refused_as_quick_xml_does() {
    let docs = corpus();
    // Mutate small documents (the check-ins and table documents under 4 KB).
    let small: Vec<&String> = docs.iter().filter(|d| d.len() < 4096).collect();
    assert!(small.len() > 50);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut read, mut refused) = (0, 0);
    let mut problems = Vec::new();
    for _ in 0..20_000 {
        let mut d = small[rng.below(small.len())].clone();
        for _ in 0..=rng.below(3) {
            d = mutate(&d, &mut rng);
        }
        if let Some(p) = disagreement(&d, 16) {
            let key: String = p.chars().take(60).collect();
            if !problems.iter().any(|(k, _): &(String, String)| *k == key) {
                problems.push((key, p.chars().take(400).collect()));
            }
        }
        match ours(&d, 16) {
            Ok(_) => read += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // Both outcomes are exercised, not only one.
    assert!(
        read > 1_000 && refused > 1_000,
        "read {read}, refused {refused}"
    );
}

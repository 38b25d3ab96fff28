//! Writing: table documents with every element in table order, envelopes and
//! check-in files. What [`crate::parse`] reads back from these is identical to
//! what was written.

use crate::xml::escape;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::model::{CheckIn, Dossier, Envelope, Record, Values};
use crate::spec::{Spec, Table, fields};

const DECL: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

fn push_record(out: &mut String, table: Table, spec: Spec, row: &Values, indent: &str) {
    let record = table.shape().record;
    out.push_str(indent);
    out.push('<');
    out.push_str(record);
    out.push_str(">\n");
    for f in fields(spec, table) {
        out.push_str(indent);
        out.push_str("  <");
        out.push_str(f.code);
        match row.get(f.slot).and_then(|v| v.as_deref()) {
            Some(v) => {
                out.push('>');
                out.push_str(&escape(v));
                out.push_str("</");
                out.push_str(f.code);
                out.push_str(">\n");
            }
            None => out.push_str(" />\n"),
        }
    }
    out.push_str(indent);
    out.push_str("</");
    out.push_str(record);
    out.push_str(">\n");
}

/// One inner table document (UTF-8 text, with its XML declaration).
pub fn table_document(table: Table, spec: Spec, rows: &[Values]) -> String {
    let shape = table.shape();
    let mut out = String::with_capacity(4096);
    out.push_str(DECL);
    match shape.wrapper {
        None => {
            let empty = Vec::new();
            push_record(&mut out, table, spec, rows.first().unwrap_or(&empty), "");
        }
        Some(wrapper) => {
            out.push_str(&format!("<{}>\n  <{wrapper}>\n", shape.root));
            for row in rows {
                push_record(&mut out, table, spec, row, "    ");
            }
            out.push_str(&format!("  </{wrapper}>\n"));
            if table == Table::Xml0 {
                out.push_str("  <CHUKYDONVI />\n");
            }
            out.push_str(&format!("</{}>\n", shape.root));
        }
    }
    out
}

/// The inner documents of one dossier, in table order.
pub fn dossier_documents(d: &Dossier, spec: Spec) -> Vec<(Table, String)> {
    d.tables()
        .into_iter()
        .filter(|t| t.in_spec(spec))
        .map(|t| (t, table_document(t, spec, &d.rows(t))))
        .collect()
}

/// A complete `GIAMDINHHS` envelope. The signature is written as stored (an
/// empty `<CHUKYDONVI />` when there is none); signing is the facility's job.
pub fn envelope(env: &Envelope, spec: Spec) -> Vec<u8> {
    let docs: Vec<Vec<(String, String)>> = env
        .dossiers
        .iter()
        .map(|d| {
            dossier_documents(d, spec)
                .into_iter()
                .map(|(t, doc)| (t.code().to_string(), doc))
                .collect()
        })
        .collect();
    envelope_from_documents(env, &docs)
}

/// An envelope around ready inner documents: per HOSO, (`LOAIHOSO`, document).
/// `env.dossiers` is ignored; `SOLUONGHOSO` is `env.declared_count` when set.
pub fn envelope_from_documents(env: &Envelope, hoso: &[Vec<(String, String)>]) -> Vec<u8> {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(DECL);
    out.push_str("<GIAMDINHHS xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">\n");
    out.push_str(&format!(
        "  <THONGTINDONVI>\n    <MACSKCB>{}</MACSKCB>\n  </THONGTINDONVI>\n",
        escape(env.facility.as_str())
    ));
    out.push_str(&format!(
        "  <THONGTINHOSO>\n    <NGAYLAP>{}</NGAYLAP>\n    <SOLUONGHOSO>{}</SOLUONGHOSO>\n    <DANHSACHHOSO>\n",
        escape(env.created.as_str()),
        env.declared_count.map_or(hoso.len(), |n| n as usize)
    ));
    for files in hoso {
        out.push_str("      <HOSO>\n");
        for (loai, doc) in files {
            out.push_str("        <FILEHOSO>\n          <LOAIHOSO>");
            out.push_str(&escape(loai.as_str()));
            out.push_str("</LOAIHOSO>\n          <NOIDUNGFILE>");
            STANDARD.encode_string(doc.as_bytes(), &mut out);
            out.push_str("</NOIDUNGFILE>\n        </FILEHOSO>\n");
        }
        out.push_str("      </HOSO>\n");
    }
    out.push_str("    </DANHSACHHOSO>\n  </THONGTINHOSO>\n");
    if env.signature.is_empty() {
        out.push_str("  <CHUKYDONVI />\n");
    } else {
        out.push_str("  ");
        out.push_str(&String::from_utf8_lossy(&env.signature));
        out.push('\n');
    }
    out.push_str("</GIAMDINHHS>\n");
    out.into_bytes()
}

/// A check-in file (XML0).
pub fn checkin(c: &CheckIn, spec: Spec) -> Vec<u8> {
    let rows: Vec<Values> = c.rows.iter().map(Record::to_values).collect();
    table_document(Table::Xml0, spec, &rows).into_bytes()
}

//! How a received file is kept (`submissions.raw_zstd`, before sealing): compressed,
//! and given back byte for byte — it is the facility's signed evidence.
//!
//! A dossier envelope is mostly base64: each table (XML1–XML15) is an XML document
//! encoded in `NOIDUNGFILE`. Compressing the base64 text costs a third more bytes in and
//! gives nearly twice the bytes out of compressing the documents it encodes (zstd
//! level 1 on 2,000 generated envelopes: 51.2 MB → 13.3 MB at 327 MB/s as sent,
//! 38.9 MB → 7.4 MB at 458 MB/s decoded). So a table whose base64 is in the canonical
//! form (standard alphabet, padded, no line breaks: encoding the decoded bytes gives
//! back exactly the bytes sent) is kept decoded, and encoded again when the file is
//! read. Anything else — a check-in without tables, line-wrapped or otherwise unusual
//! base64, a file that is not XML at all — is kept as sent.
//!
//! Stored forms, told apart by their first bytes:
//! - a zstd frame of the file as sent (every file before this form, and every file
//!   with nothing to decode);
//! - [`PACKED`] (`HBP1`, which no zstd frame starts with), then a zstd frame of the
//!   packed file: `literal`, `table`, `literal`, …, `literal`, each a 4-byte
//!   little-endian length and its bytes, where a `table` is the decoded bytes of a
//!   `NOIDUNGFILE`'s base64. The marker is not a zstd frame on purpose: a binary from
//!   before this form (a server not yet upgraded beside others on one PostgreSQL
//!   database, or a rollback), or `zstd -d`, fails on such a row instead of returning the
//!   packed bytes as if they were the file.

use std::io::{Error, ErrorKind};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dossier::Finding;

use crate::OVERSIZED_KEEP;

/// The first bytes of a packed file's stored form (not a zstd frame).
const PACKED: [u8; 4] = *b"HBP1";

const OPEN: &[u8] = b"<NOIDUNGFILE>";
const CLOSE: &[u8] = b"</NOIDUNGFILE>";

/// What of `raw` is stored: all of it, or only its head when it was refused for size.
fn kept<'a>(raw: &'a [u8], findings: &[Finding]) -> &'a [u8] {
    let oversized = findings.iter().any(|f| {
        matches!(
            f.code.as_str(),
            "ENVELOPE.size" | "XML0.size" | "FILE.size" | "GATEWAY.fileHSBase64.size"
        )
    });
    if oversized {
        &raw[..raw.len().min(OVERSIZED_KEEP)]
    } else {
        raw
    }
}

/// The stored form of a received file and its findings: what of it is kept, packed and
/// compressed.
pub(crate) fn stored(raw: &[u8], findings: &[Finding]) -> Vec<u8> {
    compress(kept(raw, findings))
}

/// The stored form of `raw` (see the module's documentation).
fn compress(raw: &[u8]) -> Vec<u8> {
    match pack(raw) {
        Some(packed) => {
            let z = crate::compress(&packed);
            let mut out = Vec::with_capacity(PACKED.len() + z.len());
            out.extend_from_slice(&PACKED);
            out.extend_from_slice(&z);
            out
        }
        None => crate::compress(raw),
    }
}

/// The file as received, from its stored form.
pub(crate) fn decompress(stored: &[u8]) -> std::io::Result<Vec<u8>> {
    match stored.strip_prefix(&PACKED[..]) {
        Some(z) => unpack(&zstd::stream::decode_all(z)?),
        None => zstd::stream::decode_all(stored),
    }
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    // Every length is at most the file's, which `pack` checked fits.
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

/// `raw` with every canonical base64 table decoded, or `None` when there is none.
fn pack(raw: &[u8]) -> Option<Vec<u8>> {
    // Lengths are written in 4 bytes (files are refused far below 4 GiB; the limit is
    // configurable, so a larger one is kept as sent).
    u32::try_from(raw.len()).ok()?;
    let opens = memchr::memmem::Finder::new(OPEN);
    let closes = memchr::memmem::Finder::new(CLOSE);
    let mut out: Vec<u8> = Vec::new();
    let mut check = String::new();
    let mut literal_from = 0;
    let mut at = 0;
    while let Some(o) = opens.find(&raw[at..]) {
        let start = at + o + OPEN.len();
        let Some(c) = closes.find(&raw[start..]) else {
            break;
        };
        let end = start + c;
        at = end + CLOSE.len();
        let text = &raw[start..end];
        if text.is_empty() {
            continue;
        }
        if out.capacity() == 0 {
            out.reserve(raw.len());
        }
        let mark = out.len();
        put_len(&mut out, start - literal_from);
        out.extend_from_slice(&raw[literal_from..start]);
        let len_at = out.len();
        put_len(&mut out, 0);
        let decoded_from = out.len();
        check.clear();
        let canonical = STANDARD.decode_vec(text, &mut out).is_ok() && {
            STANDARD.encode_string(&out[decoded_from..], &mut check);
            check.as_bytes() == text
        };
        if !canonical {
            // Kept as sent, in the next literal.
            out.truncate(mark);
            continue;
        }
        let n = (out.len() - decoded_from) as u32;
        out[len_at..len_at + 4].copy_from_slice(&n.to_le_bytes());
        literal_from = end;
    }
    if literal_from == 0 {
        // No table decoded.
        return None;
    }
    put_len(&mut out, raw.len() - literal_from);
    out.extend_from_slice(&raw[literal_from..]);
    Some(out)
}

fn bad(what: &str) -> Error {
    Error::new(ErrorKind::InvalidData, format!("packed evidence: {what}"))
}

/// The file [`pack`] packed.
fn unpack(packed: &[u8]) -> std::io::Result<Vec<u8>> {
    fn take<'a>(rest: &mut &'a [u8]) -> std::io::Result<&'a [u8]> {
        let (len, tail) = rest.split_at_checked(4).ok_or_else(|| bad("length"))?;
        let n = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (bytes, tail) = tail.split_at_checked(n).ok_or_else(|| bad("short"))?;
        *rest = tail;
        Ok(bytes)
    }
    let mut out = Vec::with_capacity(packed.len() + packed.len() / 3);
    let mut rest = packed;
    loop {
        out.extend_from_slice(take(&mut rest)?);
        if rest.is_empty() {
            return Ok(out);
        }
        let table = take(&mut rest)?;
        let encoded = out.len();
        out.resize(encoded + table.len().div_ceil(3) * 4, 0);
        let n = STANDARD
            .encode_slice(table, &mut out[encoded..])
            .map_err(|_| bad("table"))?;
        out.truncate(encoded + n);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn envelope(tables: &[&[u8]]) -> Vec<u8> {
        let mut s = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<GIAMDINHHS><HOSO>".to_vec();
        for t in tables {
            s.extend_from_slice(b"<FILEHOSO><LOAIHOSO>XML1</LOAIHOSO><NOIDUNGFILE>");
            s.extend_from_slice(t);
            s.extend_from_slice(b"</NOIDUNGFILE></FILEHOSO>");
        }
        s.extend_from_slice(b"</HOSO><CHUKYDONVI>...</CHUKYDONVI></GIAMDINHHS>\r\n");
        s
    }

    fn b64(s: &str) -> Vec<u8> {
        STANDARD.encode(s).into_bytes()
    }

    #[test]
    fn canonical_tables_are_kept_decoded_and_given_back_as_sent() {
        let xml = "<TONG_HOP><MA_LK>SYN1</MA_LK><HO_TEN>Nguyễn Văn A</HO_TEN></TONG_HOP>";
        let raw = envelope(&[&b64(xml), &b64("<a/>"), &b64("<bc/>"), &b64("x")]);
        let stored = compress(&raw);
        assert!(stored.starts_with(&PACKED));
        assert_eq!(decompress(&stored).unwrap(), raw);
        // The packed text holds the document itself.
        let packed = pack(&raw).unwrap();
        assert!(packed.windows(xml.len()).any(|w| w == xml.as_bytes()));
    }

    #[test]
    fn anything_else_is_kept_as_sent() {
        let wrapped = {
            let mut b = b64(&"<X/>".repeat(40));
            b.splice(76..76, *b"\r\n");
            b
        };
        let cases: Vec<Vec<u8>> = vec![
            b"<CHECKIN><MA_LK>1</MA_LK></CHECKIN>".to_vec(),
            envelope(&[b""]),
            envelope(&[&wrapped]),
            envelope(&[b"not base64!"]),
            envelope(&[b"QQ"]),   // unpadded
            envelope(&[b"QR=="]), // trailing bits set: refused by the strict decoder
            b"<NOIDUNGFILE>QUJD".to_vec(),
            Vec::new(),
            vec![0x28, 0xB5, 0x2F, 0xFD, 0, 1, 2],
        ];
        for raw in cases {
            let stored = compress(&raw);
            assert!(!stored.starts_with(&PACKED), "{raw:?}");
            assert_eq!(decompress(&stored).unwrap(), raw);
        }
        // A file that begins with the marker itself comes back as sent.
        let mut raw = PACKED.to_vec();
        raw.extend_from_slice(b"<NOIDUNGFILE>QUJD</NOIDUNGFILE>");
        assert_eq!(decompress(&compress(&raw)).unwrap(), raw);
        // Some tables canonical, some not: each kept as it can be.
        let raw = envelope(&[&b64("<a/>"), &wrapped, &b64("<b/>"), b""]);
        let stored = compress(&raw);
        assert!(stored.starts_with(&PACKED));
        assert_eq!(decompress(&stored).unwrap(), raw);
    }

    #[test]
    fn damaged_packed_text_is_an_error_not_a_panic() {
        let raw = envelope(&[&b64("<a/>")]);
        let packed = pack(&raw).unwrap();
        for cut in 0..packed.len() {
            let _ = unpack(&packed[..cut]);
        }
        assert!(unpack(&packed[..packed.len() - 1]).is_err());
        let mut long = packed.clone();
        long[0] = 0xFF;
        assert!(unpack(&long).is_err());
    }

    #[test]
    fn a_reader_from_before_this_form_fails_on_it_rather_than_misreads_it() {
        let raw = envelope(&[&b64("<a/>")]);
        let stored = compress(&raw);
        assert!(stored.starts_with(&PACKED));
        assert!(zstd::stream::decode_all(&stored[..]).is_err());
    }

    #[test]
    fn files_before_this_form_read_as_they_did() {
        let raw = envelope(&[&b64("<a/>")]);
        let old = zstd::bulk::compress(&raw, 1).unwrap();
        assert_eq!(decompress(&old).unwrap(), raw);
    }

    proptest! {
        #[test]
        fn any_file_comes_back_byte_for_byte(
            parts in proptest::collection::vec((any::<Vec<u8>>(), any::<bool>(), any::<Vec<u8>>()), 0..5),
            tail in any::<Vec<u8>>(),
        ) {
            let mut raw = Vec::new();
            for (before, canonical, table) in parts {
                raw.extend_from_slice(&before);
                raw.extend_from_slice(OPEN);
                if canonical {
                    raw.extend_from_slice(STANDARD.encode(&table).as_bytes());
                } else {
                    raw.extend_from_slice(&table);
                }
                raw.extend_from_slice(CLOSE);
            }
            raw.extend_from_slice(&tail);
            prop_assert_eq!(decompress(&compress(&raw)).unwrap(), raw);
        }
    }
}

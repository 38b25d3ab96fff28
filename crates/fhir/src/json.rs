//! Compact JSON writing, byte for byte what `serde_json::to_writer` writes, with
//! strings scanned eight bytes at a time.
//!
//! serde_json looks at every byte of every string through a table to find the few that
//! need escaping (`"`, `\` and controls); on a bulk export that loop was the largest
//! single cost (11 % of the instructions, callgrind, issue 19). Here a string is read as
//! 64-bit words and a word is looked at byte by byte only when it holds one of those
//! bytes, which in FHIR text is rare. Everything else (numbers through `itoa` and
//! `zmij` as serde_json 1.0.154 writes them, `null` for a non-finite float, map keys,
//! enum variants) is written as serde_json writes it; the tests hold the two to the same
//! bytes, for every kind of value and key and for every episode resource of 1,500
//! generated episodes. It writes into a `Vec<u8>` (all its callers do); errors are
//! `serde_json::Error` (a map key that cannot be a string, or a `Serialize` impl's own).
//! serde_json is held to its version by the lock file; a newer one that writes numbers
//! differently fails these tests rather than changing the output unnoticed.

use serde::ser::{self, Serialize};
use serde_json::Error;

/// Append `value` as compact JSON to `out` (as `serde_json::to_writer` would).
pub fn to_writer<T: ?Sized + Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Serializer { w: out })
}

/// `value` as compact JSON bytes (as `serde_json::to_vec`).
pub fn to_vec<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(128);
    to_writer(&mut out, value)?;
    Ok(out)
}

/// What follows a backslash for each byte that needs escaping (`u` for `\u00XX`), and
/// 0 for a byte written as it is (serde_json's table).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes of `x` is a control byte, `"` or `\` (exact as a
/// yes or no; which byte it is, the caller finds byte by byte).
#[inline]
fn word_needs_escape(x: u64) -> bool {
    let control = x.wrapping_sub(ONES * 0x20) & !x;
    let q = x ^ (ONES * b'"' as u64);
    let quote = q.wrapping_sub(ONES) & !q;
    let b = x ^ (ONES * b'\\' as u64);
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & HIGH != 0
}

/// Where the first byte at or after `from` that needs escaping is, if any: eight bytes
/// at a time, the last few padded to a word, a word looked at byte by byte only when it
/// holds one.
#[inline]
fn first_escape(b: &[u8], from: usize) -> Option<usize> {
    let byte_in = |i: usize, n: usize| (i..i + n).find(|&j| ESCAPE[b[j] as usize] != 0);
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if word_needs_escape(u64::from_le_bytes(word))
            && let Some(j) = byte_in(i, 8)
        {
            return Some(j);
        }
        i += 8;
    }
    let n = b.len() - i;
    if n == 0 {
        return None;
    }
    let mut word = [b'a'; 8];
    if b.len() >= 8 {
        // The last eight bytes (some already looked at): a fixed-size read.
        word.copy_from_slice(&b[b.len() - 8..]);
    } else {
        // Padding with a plain letter leaves the word's verdict to the real bytes.
        word[..n].copy_from_slice(&b[i..]);
    }
    if word_needs_escape(u64::from_le_bytes(word)) {
        byte_in(i, n)
    } else {
        None
    }
}

fn write_escaped(w: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    w.reserve(b.len() + 2);
    w.push(b'"');
    let mut start = 0;
    while let Some(i) = first_escape(b, start) {
        w.extend_from_slice(&b[start..i]);
        let c = b[i];
        match ESCAPE[c as usize] {
            b'u' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                w.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 0xf) as usize],
                ]);
            }
            e => w.extend_from_slice(&[b'\\', e]),
        }
        start = i + 1;
    }
    w.extend_from_slice(&b[start..]);
    w.push(b'"');
}

/// The serializer (compact: no spaces, no new lines).
pub struct Serializer<'o> {
    w: &'o mut Vec<u8>,
}

impl Serializer<'_> {
    #[inline]
    fn raw(&mut self, b: &[u8]) -> Result<(), Error> {
        self.w.extend_from_slice(b);
        Ok(())
    }

    #[inline]
    fn string(&mut self, s: &str) -> Result<(), Error> {
        write_escaped(self.w, s);
        Ok(())
    }

    fn integer<I: itoa::Integer>(&mut self, v: I) -> Result<(), Error> {
        self.raw(itoa::Buffer::new().format(v).as_bytes())
    }

    fn float<F: zmij::Float>(&mut self, v: F, finite: bool) -> Result<(), Error> {
        if finite {
            self.raw(zmij::Buffer::new().format_finite(v).as_bytes())
        } else {
            self.raw(b"null")
        }
    }

    /// `{"variant":` of an enum variant written as an object.
    fn variant_key(&mut self, variant: &str) -> Result<(), Error> {
        self.raw(b"{")?;
        self.string(variant)?;
        self.raw(b":")
    }
}

/// A sequence, map or object being written: whether an element was written yet, and
/// what closes it.
pub struct Compound<'a, 'o> {
    ser: &'a mut Serializer<'o>,
    first: bool,
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) -> Result<(), Error> {
        if self.first {
            self.first = false;
            Ok(())
        } else {
            self.ser.raw(b",")
        }
    }

    fn field<T: ?Sized + Serialize>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        self.comma()?;
        self.ser.string(key)?;
        self.ser.raw(b":")?;
        value.serialize(&mut *self.ser)
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.comma()?;
        value.serialize(&mut *self.ser)
    }

    fn finish(self) -> Result<(), Error> {
        self.ser.raw(self.close)
    }
}

impl<'o> Serializer<'o> {
    fn open<'a>(
        &'a mut self,
        open: &[u8],
        close: &'static [u8],
    ) -> Result<Compound<'a, 'o>, Error> {
        self.raw(open)?;
        Ok(Compound {
            ser: self,
            first: true,
            close,
        })
    }
}

/// Integers, written with `itoa`.
macro_rules! integers {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), Error> {
            self.integer(v)
        }
    )*};
}

impl<'a, 'o> ser::Serializer for &'a mut Serializer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.raw(if v { b"true" } else { b"false" })
    }
    integers!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v, v.is_finite())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v, v.is_finite())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut seq = self.open(b"[", b"]")?;
        for b in v {
            ser::SerializeSeq::serialize_element(&mut seq, b)?;
        }
        seq.finish()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.raw(b"null")
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.variant_key(variant)?;
        value.serialize(&mut *self)?;
        self.raw(b"}")
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        self.open(b"[", b"]")
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a, 'o>, Error> {
        self.open(b"[", b"]")
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.open(b"[", b"]")
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.variant_key(variant)?;
        self.open(b"[", b"]}")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a, 'o>, Error> {
        self.open(b"{", b"}")
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a, 'o>, Error> {
        self.open(b"{", b"}")
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a, 'o>, Error> {
        self.variant_key(variant)?;
        self.open(b"{", b"}}")
    }
}

/// The element-by-element traits, each the same on a [`Compound`].
macro_rules! elements {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The field-by-field traits (an object, an object inside a variant).
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: ?Sized + Serialize>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                self.finish()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.comma()?;
        key.serialize(KeySerializer {
            ser: &mut *self.ser,
        })
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        self.ser.raw(b":")?;
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        self.finish()
    }
}

/// A map key: written as a JSON string, as serde_json writes keys (strings; numbers,
/// booleans and finite floats quoted; anything else refused).
struct KeySerializer<'a, 'o> {
    ser: &'a mut Serializer<'o>,
}

fn key_must_be_a_string() -> Error {
    ser::Error::custom("key must be a string")
}

impl KeySerializer<'_, '_> {
    fn quoted(self, text: &[u8]) -> Result<(), Error> {
        self.ser.raw(b"\"")?;
        self.ser.raw(text)?;
        self.ser.raw(b"\"")
    }
}

macro_rules! quoted_integer_key {
    ($($f:ident: $t:ty),*) => {$(
        fn $f(self, v: $t) -> Result<(), Error> {
            self.quoted(itoa::Buffer::new().format(v).as_bytes())
        }
    )*};
}

impl ser::Serializer for KeySerializer<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    quoted_integer_key!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(if v { b"true" } else { b"false" })
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(ser::Error::custom("float key must be finite"));
        }
        self.quoted(zmij::Buffer::new().format_finite(v).as_bytes())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        if !v.is_finite() {
            return Err(ser::Error::custom("float key must be finite"));
        }
        self.quoted(zmij::Buffer::new().format_finite(v).as_bytes())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.ser.string(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.ser.string(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.ser.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Serialize;
    use serde_json::json;

    use super::*;

    fn same<T: Serialize + ?Sized>(v: &T) {
        let ours = to_vec(v).expect("ours");
        let theirs = serde_json::to_vec(v).expect("serde_json");
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs)
        );
    }

    #[test]
    fn every_byte_at_every_place_of_a_word_is_escaped_as_serde_json_does() {
        // Every ASCII byte, and a multi-byte letter, at each offset of two words, amid
        // plain text and amid bytes of other letters (high bytes must not hide one).
        let fillers = ["abcdefghijklmnopqrstu", "ệệệệệệệệệệệệ", "a\"b\\c"];
        for filler in fillers {
            for c in (0u8..0x80)
                .map(char::from)
                .chain(['ệ', '\u{7f}', '\u{2028}'])
            {
                for at in 0..=filler.chars().count() {
                    let mut s: String = filler.chars().take(at).collect();
                    s.push(c);
                    s.extend(filler.chars().skip(at));
                    same(&s);
                    same(&json!({ s.clone(): s }));
                }
            }
        }
        same("");
        same(&"\u{1}".repeat(40));
        same(&"plain text without anything to escape, longer than a word".to_string());
    }

    #[test]
    fn every_kind_of_value_is_written_as_serde_json_writes_it() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(i32),
            Tuple(u8, String),
            Record { a: Option<f64>, b: Vec<u16> },
        }
        #[derive(Serialize)]
        struct Unit;
        #[derive(Serialize)]
        struct New(&'static str);
        #[derive(Serialize)]
        struct Tuple(i64, bool);
        #[derive(Serialize)]
        struct S<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            skipped: Option<u8>,
            text: &'a str,
            list: Vec<E>,
            empty: Vec<u8>,
            map: BTreeMap<i64, &'a str>,
            bools: BTreeMap<bool, u8>,
            unit: (),
            unit_struct: Unit,
            new: New,
            tuple: Tuple,
            pair: (char, i128, u128),
            bytes: &'a serde_bytes_like::Bytes,
            floats: Vec<f64>,
            f32s: Vec<f32>,
            value: serde_json::Value,
        }
        mod serde_bytes_like {
            pub struct Bytes(pub [u8; 3]);
            impl serde::Serialize for Bytes {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    s.serialize_bytes(&self.0)
                }
            }
        }
        let v = S {
            skipped: None,
            text: "Nguyễn Văn \"A\"\n\t\\/",
            list: vec![
                E::Unit,
                E::New(-7),
                E::Tuple(3, "x".into()),
                E::Record {
                    a: Some(1.5),
                    b: vec![1, 2],
                },
                E::Record { a: None, b: vec![] },
            ],
            empty: vec![],
            map: [(-1, "a"), (2, "b")].into_iter().collect(),
            bools: [(true, 1), (false, 0)].into_iter().collect(),
            unit: (),
            unit_struct: Unit,
            new: New("n"),
            tuple: Tuple(i64::MIN, true),
            pair: ('"', i128::MIN, u128::MAX),
            bytes: &serde_bytes_like::Bytes([0, 127, 255]),
            floats: vec![
                0.0,
                -0.0,
                1.0,
                0.1,
                1e21,
                1e-7,
                f64::MAX,
                f64::MIN_POSITIVE,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                36.6,
            ],
            f32s: vec![0.1, f32::NAN, 3.4e38],
            value: json!({
                "resourceType": "Observation",
                "valueQuantity": {"value": 120, "unit": "mm[Hg]"},
                "n": [-1, 18446744073709551615u64, 2.5, null, true],
                "nested": [[], {}, [{}]],
            }),
        };
        same(&v);
        same(&Some(3));
        same(&None::<u8>);
    }

    #[test]
    fn keys_of_every_kind_are_written_as_serde_json_writes_them() {
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        enum K {
            A,
        }
        #[derive(Serialize, PartialEq, Eq, PartialOrd, Ord)]
        struct N(&'static str);
        let floats: Vec<(f64, u8)> = vec![(1.5, 1), (1e21, 2), (-0.0, 3)];
        let mut m = serde_json::Map::new();
        m.insert("k\"\u{1}".into(), json!(1));
        same(&m);
        same(&[(K::A, 1)].into_iter().collect::<BTreeMap<_, _>>());
        same(&[(N("n\n"), 1)].into_iter().collect::<BTreeMap<_, _>>());
        same(&[(Some("s"), 1)].into_iter().collect::<BTreeMap<_, _>>());
        same(&[('c', 1), ('"', 2)].into_iter().collect::<BTreeMap<_, _>>());
        same(&[(u128::MAX, 1)].into_iter().collect::<BTreeMap<_, _>>());
        same(&[(i8::MIN, 1)].into_iter().collect::<BTreeMap<_, _>>());
        // Floats as keys, through a map serialised entry by entry.
        struct FloatKeys(Vec<(f64, u8)>);
        impl Serialize for FloatKeys {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in &self.0 {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
        same(&FloatKeys(floats));
        let nan = FloatKeys(vec![(f64::NAN, 1)]);
        assert!(serde_json::to_vec(&nan).is_err());
        assert!(to_vec(&nan).is_err());
        let none: BTreeMap<Option<&str>, u8> = [(None, 1)].into_iter().collect();
        assert!(serde_json::to_vec(&none).is_err());
        assert!(to_vec(&none).is_err());
    }

    #[test]
    fn a_key_that_cannot_be_a_string_is_refused_like_serde_json() {
        let m: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        assert!(serde_json::to_vec(&m).is_err());
        assert!(to_vec(&m).is_err());
        let m: BTreeMap<(u8, u8), u8> = [((1, 2), 1)].into_iter().collect();
        assert!(to_vec(&m).is_err());
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(s in any::<String>(), t in "[\\x00-\\x7f]{0,40}") {
            prop_assert_eq!(super::to_vec(&s).unwrap(), serde_json::to_vec(&s).unwrap());
            prop_assert_eq!(super::to_vec(&t).unwrap(), serde_json::to_vec(&t).unwrap());
        }
    }
}

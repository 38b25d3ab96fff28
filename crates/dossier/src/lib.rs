//! The QĐ 130/4750/3176 health-insurance XML dossier: parse, validate and write.
//! Synchronous, with no storage, network or async: a facility can use this crate
//! alone to check its files before sending them. (The synthetic generator is the
//! `healthbook-synth` crate.)
//!
//! ```no_run
//! let bytes = std::fs::read("GIAMDINHHS.xml").unwrap();
//! let parsed = dossier::parse_envelope(&bytes, &dossier::Options::default());
//! for f in &parsed.findings {
//!     println!("{f}");
//! }
//! ```

#[rustfmt::skip]
mod generated;

pub mod finding;
pub mod ids;
pub mod model;
pub mod parse;
pub mod spec;
pub mod validate;
pub mod write;
pub mod xml;

pub use finding::{Finding, Location, Severity};
pub use model::{CheckIn, Dossier, Envelope, Record};
pub use parse::{
    Checked, DocKind, Limits, Options, Parsed, check, detect, parse_checkin, parse_envelope,
    parse_table_document,
};
pub use spec::{Spec, Table};

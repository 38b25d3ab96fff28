//! The health-book domain, pure logic: who a dossier is about (identifiers and the
//! linking rules), and what the citizen sees of it (the episode projection).
//! No storage, no HTTP.

pub mod access;
pub mod ehr;
pub mod episode;
pub mod growth;
pub mod identity;
pub mod immunization;
pub mod ncd;
pub mod notify;
pub mod summary;
pub mod terms;
pub mod text;
pub mod vn;

pub use episode::{EpisodeView, project};
pub use identity::{Claims, Confidence, Conflict, Decision, IdKind, Identifier, decide};

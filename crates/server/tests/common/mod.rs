//! What several test files share.

use dossier::synth::Generator;
use dossier::{Options, Spec};
use store::{Meta, Prepared, Source, SqliteStore, Store, now_ms};

/// Every episode of `g`, received now as imported QĐ 3176 envelopes.
pub fn ingest_all(store: &SqliteStore, g: &Generator) {
    for e in g.episodes() {
        let raw = e.envelope_bytes(Spec::Qd3176);
        let parsed = dossier::parse_envelope(&raw, &Options::default());
        let meta = Meta {
            facility: e.facility.code.into(),
            account: "t".into(),
            source: Source::Import,
            spec: Spec::Qd3176,
            received_at: now_ms(),
        };
        store
            .ingest(Prepared::envelope(meta, &raw, &parsed))
            .unwrap();
    }
}

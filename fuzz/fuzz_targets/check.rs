//! Any bytes, as an envelope, a check-in or a table document: never a panic, and
//! whatever parses writes back and parses again to the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = dossier::Options::default();
    if let dossier::Checked::Envelope(p) = dossier::check(data, &opts) {
        let written = dossier::write::envelope(&p.value, opts.spec);
        let again = dossier::parse_envelope(&written, &opts);
        assert_eq!(again.value.dossiers, p.value.dossiers);
    }
});

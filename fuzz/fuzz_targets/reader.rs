//! The XML reader against quick-xml under the guards the parser used to apply to it:
//! every document quick-xml reads is read to the same events (or refused for a check
//! quick-xml leaves to its caller), every document it refuses is refused.
#![no_main]

#[path = "../../crates/dossier/tests/reader/oracle.rs"]
mod oracle;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(problem) = oracle::disagreement(text, 16) {
        panic!("{problem}");
    }
    let _ = dossier::xml::root_name(text);
});

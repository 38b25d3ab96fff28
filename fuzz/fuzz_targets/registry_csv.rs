//! The CSV imports of the registries (units, facilities, residents): any bytes, never a
//! panic, and an error names its line in a message of bounded size.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, csv)) = data.split_first() else {
        return;
    };
    let err = match which % 3 {
        0 => server::registry::parse_units(csv)
            .err()
            .map(|e| e.to_string()),
        1 => server::registry::parse_facilities(csv)
            .err()
            .map(|e| e.to_string()),
        _ => server::registry::parse_residents(csv)
            .err()
            .map(|e| e.to_string()),
    };
    if let Some(e) = err {
        assert!(e.len() < 4_096, "an error of {} bytes", e.len());
    }
});

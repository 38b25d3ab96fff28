//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared standards reference beside the repository (`../shared/vn-standards`).
pub fn shared() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vn-standards");
    assert!(
        p.is_dir(),
        "the shared standards reference is expected at {} (clone the project beside shared/)",
        p.display()
    );
    p
}

pub fn synthetic_envelope() -> Vec<u8> {
    std::fs::read(shared().join("samples/synthetic/GIAMDINHHS_envelope_unsigned.xml")).unwrap()
}

pub fn codes(findings: &[dossier::Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.code.as_str()).collect()
}

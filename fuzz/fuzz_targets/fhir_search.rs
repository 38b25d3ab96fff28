//! FHIR search parameters, through the service as a citizen reading their own book:
//! any query on any resource type. Never a panic or a 5xx; always a JSON answer (a
//! Bundle or an OperationOutcome).
#![no_main]

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, query)) = data.split_first() else {
        return;
    };
    let w = healthbook_fuzz::world();
    let types = server::fhir::ALL_TYPES;
    let ty = types[which as usize % types.len()];
    let path = if which as usize / types.len() % 4 == 3 {
        format!(
            "/fhir/Patient/{}/$everything?{}",
            w.person,
            healthbook_fuzz::as_query(query)
        )
    } else {
        format!("/fhir/{ty}?{}", healthbook_fuzz::as_query(query))
    };
    let Ok(req) = Request::get(path)
        .header("authorization", format!("Bearer {}", w.citizen))
        .body(Body::empty())
    else {
        return;
    };
    let (status, body) = w.call(req);
    assert!(
        status.as_u16() < 500,
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
    let _: serde_json::Value = serde_json::from_slice(&body).expect("a JSON answer");
});

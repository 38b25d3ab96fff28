//! The gateway's form and base64 handling, through the service: the first byte chooses
//! whether the rest is a whole form body as sent (form decoding, base64, then the
//! parser), or a file that is sent base64-encoded in a proper form (the parser, the
//! sender rules, the store). Never a panic, never a 5xx or a `maKetQua` 500, always a
//! JSON answer of bounded size.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let w = healthbook_fuzz::world();
    let body: Vec<u8> = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let b64 = base64::engine::general_purpose::STANDARD.encode(rest);
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("username", healthbook_fuzz::USERNAME)
            .append_pair("loaiHoSo", "130")
            .append_pair("maTinh", &w.facility[..2])
            .append_pair("maCSKCB", &w.facility)
            .append_pair("fileHSBase64", &b64);
        s.finish().into_bytes()
    };
    let endpoint = if mode % 4 < 2 {
        "guiHoSoXmlQD3176"
    } else {
        "checkInKcbQd3176"
    };
    let req = Request::post(format!("/api/qd130/{endpoint}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accessToken", healthbook_fuzz::ACCESS_TOKEN)
        .header("tokenId", healthbook_fuzz::ID_TOKEN)
        .header("passwordHash", healthbook_fuzz::PASSWORD_MD5)
        .body(Body::from(body))
        .unwrap();
    let (status, body) = w.call(req);
    assert!(status.as_u16() < 500, "{status}");
    if status.is_success() {
        let v: serde_json::Value = serde_json::from_slice(&body).expect("a JSON answer");
        assert_ne!(v["maKetQua"], "500", "{v}");
        assert!(v["dsLoi"].as_array().map_or(0, Vec::len) <= 1_100);
    }
});

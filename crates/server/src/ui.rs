//! What the staff and report pages (still built as strings, until they move to
//! templates as the citizen's pages did) share with the templates: escaping, the
//! stylesheet, the frame, dates.

use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{Html, IntoResponse, Response};

pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub(crate) fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(LOCATION, to.to_string())]).into_response()
}

pub(crate) const CSS: &str = r#"
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#f4f6f8}
header{background:#0b5cad;color:#fff;padding:12px 16px;display:flex;justify-content:space-between;align-items:center}
header a,header button{color:#fff;font:inherit;background:none;border:0;text-decoration:underline;cursor:pointer;padding:8px}
main{max-width:720px;margin:0 auto;padding:12px}h1{font-size:1.35rem;margin:.6em 0}h2{font-size:1.1rem;margin:1em 0 .4em}
.card{background:#fff;border-radius:10px;padding:14px 16px;margin:10px 0;box-shadow:0 1px 2px rgba(0,0,0,.12)}
a.card{display:block;color:inherit;text-decoration:none}a.card:focus,a.card:hover{outline:3px solid #0b5cad}
.muted{color:#4a5561}.big{font-size:1.25rem;font-weight:600}.pill{display:inline-block;background:#e3eefb;color:#0b4a8c;border-radius:99px;padding:2px 10px;font-size:.85rem}
label{display:block;font-weight:600;margin:12px 0 4px}input{width:100%;font:inherit;padding:12px;border:2px solid #687583;border-radius:8px}
input:focus{outline:3px solid #0b5cad;border-color:#0b5cad}button.primary,a.button{display:inline-block;margin-top:16px;background:#0b5cad;color:#fff;border:0;border-radius:8px;padding:12px 18px;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.error{background:#fdecea;color:#8a1c12;border-radius:8px;padding:10px 12px}
details{background:#fff;border-radius:10px;margin:10px 0;box-shadow:0 1px 2px rgba(0,0,0,.12)}summary{padding:14px 16px;font-weight:600;cursor:pointer}details>div{padding:0 16px 14px}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:6px 4px;border-bottom:1px solid #e1e5ea;vertical-align:top}
.abn{color:#8a1c12;font-weight:600}.paper{border:2px solid #0b5cad}
.code{font:700 2rem/1.2 ui-monospace,monospace;letter-spacing:.12em;margin:10px 0}.qr svg{width:200px;height:200px}
fieldset{border:0;padding:0;margin:0}legend{font-weight:600;margin:8px 0}fieldset label{font-weight:400;display:flex;gap:8px;align-items:flex-start}fieldset input{width:auto}
select,textarea{width:100%;font:inherit;padding:12px;border:2px solid #687583;border-radius:8px;background:#fff}
.skip{position:absolute;left:-999px;top:0;background:#fff;color:#0b5cad;padding:8px 12px;z-index:9}.skip:focus{left:8px}
a:focus-visible,button:focus-visible,summary:focus-visible,input:focus-visible{outline:3px solid #f2a900;outline-offset:2px}
form.search{display:flex;gap:8px;align-items:flex-end}form.search div{flex:1}form.search label{margin-top:0}form.search button{margin-top:0}
.actions{display:flex;gap:8px;flex-wrap:wrap}.actions a.button{margin-top:4px}a.button.secondary{background:#fff;color:#0b5cad;border:2px solid #0b5cad}
details.danger-zone{margin-top:28px;border:2px solid #8a1c12;box-shadow:none}details.danger-zone summary{color:#8a1c12}
nav.crumbs{margin:8px 0}.new{background:#fff4d6;color:#6b4a00}input.inline{width:auto}
dl.facts{margin:0;display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:4px 16px}dl.facts div{padding:4px 0;border-bottom:1px solid #e1e5ea}dt{font-size:.85rem;color:#4a5561}dd{margin:0;overflow-wrap:anywhere}
.person h1{margin-top:0}nav.switch{display:flex;gap:8px;flex-wrap:wrap;margin:8px 0}nav.switch a.pill{text-decoration:none}.pill.current{background:#0b5cad;color:#fff}
.pill.warn{background:#fdecea;color:#8a1c12}.pill.live{background:#e6f4ea;color:#1d6b34}
button.danger,a.button.danger{display:inline-block;margin-top:12px;background:#fff;color:#8a1c12;border:2px solid #8a1c12;border-radius:8px;padding:10px 16px;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
.scroll{overflow-x:auto}ul.meds{padding-left:1.1em}ul.meds li{margin:6px 0}.report{margin:8px 0}.flag{font-weight:600}ul.actions-done{margin:6px 0;padding-left:1.1em}
h1,h2,.big{overflow-wrap:anywhere}
"#;

/// The page frame (`templates/frame.html`) around a body built as a string.
pub(crate) fn shell(
    title: &str,
    home: (&'static str, &'static str),
    logout: Option<&'static str>,
    body: &str,
) -> Html<String> {
    use askama::Template;
    let frame = crate::pages::Frame {
        title: title.to_string(),
        home: home.0,
        home_label: home.1,
        logout,
        csrf: None,
        css: CSS,
    };
    Html(
        crate::pages::Raw { frame, body }
            .render()
            .unwrap_or_else(|_| String::from("Lỗi hệ thống")),
    )
}

pub(crate) fn when(d: Option<chrono::NaiveDateTime>) -> String {
    crate::pages::when(d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_from_dossiers_is_escaped() {
        assert_eq!(
            super::esc(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}

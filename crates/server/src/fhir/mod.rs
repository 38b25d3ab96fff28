//! FHIR R4 (4.0.1), read-only, JSON, under `/fhir`: the health book as Patient,
//! Encounter, Condition, MedicationRequest, Observation, DiagnosticReport, Procedure,
//! ServiceRequest, Appointment, Organization and Practitioner, and the QĐ 831 record as
//! AllergyIntolerance, Condition, FamilyMemberHistory, Observation and RelatedPerson;
//! `Patient/$everything`,
//! the International Patient Summary (`Patient/$summary`), and the bulk export of a
//! unit's data (NDJSON, [`export`]).
//!
//! Access is the rest of healthbook's: a person reads their own book and their wards';
//! a clinician reads under a live grant (a summary grant opens `$summary` only); a
//! registered system client reads its unit's data within the SMART-style scopes of its
//! token. Every read of a book by someone other than its owner is in the person's audit
//! chain. Refusals never tell whether a person exists.

pub mod bulk;
pub mod write;

// The resources themselves (no HTTP) are the `fhir` crate's.
pub use ::fhir::{
    ALL_TYPES, BOOK_TYPES, Book, book_resources, each_book_resource, export, ips, map, record,
    terminology, typed,
};
use typed::Resource;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use book::IdKind;
use book::access::{Action, Place, Principal, SmartScopes};
use serde_json::{Value, json};
use store::{EpisodeRecord, FhirClient, PersonRecord, now_ms};

use crate::App;
use crate::http::{ApiError, blocking, token_from, token_of};
use crate::staff::{STAFF_COOKIE, StaffUser};
use map::Context;

/// Access tokens of system clients last this long.
pub const TOKEN_TTL_MS: i64 = 60 * 60 * 1000;
const DEFAULT_COUNT: usize = 50;
const MAX_COUNT: usize = 1000;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/fhir/metadata", get(metadata))
        .route(
            "/fhir/.well-known/smart-configuration",
            get(smart_configuration),
        )
        .route("/fhir/auth/token", post(token))
        .route("/fhir/Patient/{id}/$everything", get(everything))
        .route("/fhir/Patient/{id}/$summary", get(summary))
        .route("/fhir/$export", get(bulk::kick_off))
        .route("/fhir/bulk/{job}", get(bulk::status).delete(bulk::cancel))
        .route("/fhir/bulk/{job}/{file}", get(bulk::file))
        .route("/fhir", post(write::transaction))
        .route(
            "/fhir/Immunization",
            get(search_immunizations).post(write::create),
        )
        .route("/fhir/{ty}", get(search))
        .route("/fhir/{ty}/{id}", get(read))
}

// ---------------------------------------------------------------------------
// Errors: OperationOutcome
// ---------------------------------------------------------------------------

/// A refusal or failure, answered as an OperationOutcome.
#[derive(Debug)]
pub struct FhirError {
    pub status: StatusCode,
    /// The FHIR issue type (not-found, forbidden, login, invalid, not-supported…).
    pub code: &'static str,
    pub text: String,
    /// The request parameter or element at fault.
    pub expression: Option<String>,
}

impl FhirError {
    fn new(status: StatusCode, code: &'static str, text: impl Into<String>) -> FhirError {
        FhirError {
            status,
            code,
            text: text.into(),
            expression: None,
        }
    }

    fn invalid(param: &str, text: impl Into<String>) -> FhirError {
        FhirError {
            expression: Some(param.to_string()),
            ..FhirError::new(StatusCode::BAD_REQUEST, "invalid", text)
        }
    }

    fn not_found() -> FhirError {
        FhirError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Không tìm thấy tài nguyên (resource not found)",
        )
    }
}

impl From<ApiError> for FhirError {
    fn from(e: ApiError) -> FhirError {
        let code = match e.0 {
            StatusCode::UNAUTHORIZED => "login",
            StatusCode::FORBIDDEN => "forbidden",
            StatusCode::NOT_FOUND => "not-found",
            StatusCode::TOO_MANY_REQUESTS => "throttled",
            StatusCode::BAD_REQUEST => "invalid",
            _ => "exception",
        };
        FhirError {
            status: e.0,
            code,
            text: format!("{} ({})", e.2, e.1),
            expression: None,
        }
    }
}

impl From<store::StoreError> for FhirError {
    fn from(e: store::StoreError) -> FhirError {
        FhirError::from(crate::citizen::internal(e))
    }
}

pub fn outcome(code: &str, text: &str, expression: Option<&str>) -> Value {
    let mut issue = json!({
        "severity": "error",
        "code": code,
        "details": { "text": text },
    });
    if let Some(x) = expression {
        issue["expression"] = json!([x]);
    }
    json!({
        "resourceType": "OperationOutcome",
        "text": map::narrative(&[text.to_string()]),
        "issue": [issue],
    })
}

/// An answer that points elsewhere (`header`: `Location`, `Content-Location`) with an
/// informational OperationOutcome that says so, in Vietnamese (the narrative) and English.
fn pointing(
    status: StatusCode,
    header: header::HeaderName,
    url: &str,
    vietnamese: String,
    english: String,
) -> Response {
    let mut r = fhir_json(
        status,
        &json!({
            "resourceType": "OperationOutcome",
            "text": map::narrative(&[vietnamese]),
            "issue": [{
                "severity": "information",
                "code": "informational",
                "details": { "text": english },
            }],
        }),
    );
    if let Ok(v) = HeaderValue::from_str(url) {
        r.headers_mut().insert(header, v);
    }
    r
}

impl IntoResponse for FhirError {
    fn into_response(self) -> Response {
        let mut r = fhir_json(
            self.status,
            &outcome(self.code, &self.text, self.expression.as_deref()),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"healthbook-fhir\""),
            );
        }
        r
    }
}

pub fn fhir_json(status: StatusCode, v: &Value) -> Response {
    fhir_body(status, serde_json::to_vec(v).unwrap_or_default())
}

/// A FHIR JSON answer of a body already written.
pub fn fhir_body(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/fhir+json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------------------
// Who reads
// ---------------------------------------------------------------------------

/// Who is reading, from the bearer token (or the staff cookie, for a browser).
pub enum Reader {
    /// A signed-in person, with the persons they are the active guardian of.
    Person { id: i64, wards: Vec<i64> },
    /// A member of staff (clinicians read under grants; other roles read no book).
    Staff(StaffUser),
    /// A registered system client, its token's scopes, and the place of its unit.
    System {
        client: FhirClient,
        scopes: SmartScopes,
        place: Place,
    },
}

impl Reader {
    /// The reader of a request: a system client's token, else a citizen's session (bearer
    /// or cookie), else a staff session; public routes do not ask.
    async fn from_headers(app: &Arc<App>, headers: &HeaderMap) -> Result<Reader, FhirError> {
        let unauthorized = || {
            FhirError::new(
                StatusCode::UNAUTHORIZED,
                "login",
                "Cần mã truy cập (Authorization: Bearer …)",
            )
        };
        if let Some(token) = token_of(headers) {
            let store = app.store.clone();
            let t = token.clone();
            let now = now_ms();
            let found = blocking(move || {
                if let Some((client, scopes)) = store.fhir_token(&t, now)? {
                    let place = store.place_of_unit(&client.unit)?;
                    return Ok(Some(Err((client, scopes, place))));
                }
                if let Some(person) = store.session_person(&t, now)? {
                    let wards = store.wards(person)?;
                    return Ok(Some(Ok((
                        person,
                        wards.iter().map(|w| w.person.id).collect(),
                    ))));
                }
                Ok(None)
            })
            .await?;
            match found {
                Some(Ok((id, wards))) => return Ok(Reader::Person { id, wards }),
                Some(Err((client, scopes, place))) => {
                    return Ok(Reader::System {
                        client,
                        scopes,
                        place,
                    });
                }
                None => {}
            }
        }
        let token = token_from(headers, STAFF_COOKIE).ok_or_else(unauthorized)?;
        let u = StaffUser::from_token(app, token)
            .await?
            .ok_or_else(unauthorized)?;
        Ok(Reader::Staff(u))
    }
}

/// The refusal of a type outside a system client's scopes (the same for every person).
fn scope_refusal(scopes: &SmartScopes) -> FhirError {
    FhirError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "Phạm vi của mã truy cập không gồm loại tài nguyên này (scopes: {})",
            scopes.to_scope_string()
        ),
    )
}

/// What a read of a book is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need<'a> {
    /// The IPS document: a summary grant is enough.
    Summary,
    /// Resources of these types.
    Types(&'a [&'a str]),
}

impl Reader {
    /// The reader as the service layer knows them.
    fn actor(&self) -> service::Actor {
        match self {
            Reader::Person { id, .. } => service::Actor::Person { id: *id },
            Reader::Staff(u) => u.actor(),
            Reader::System {
                client,
                scopes,
                place,
            } => service::Actor::System {
                client: client.clone(),
                scopes: scopes.clone(),
                place: place.clone(),
            },
        }
    }

    fn principal(&self) -> Principal {
        match self {
            Reader::Person { id, wards } => Principal::Person {
                id: *id,
                wards: wards.clone(),
            },
            Reader::Staff(u) => u.principal(),
            Reader::System {
                client,
                scopes,
                place,
            } => Principal::System {
                client: client.client_id.clone(),
                scopes: scopes.clone(),
                scope: place.clone(),
            },
        }
    }

    /// The persons whose books a search without `patient` covers (a person's own and
    /// their wards'); others must name the patient.
    fn own_books(&self) -> Option<Vec<i64>> {
        match self {
            Reader::Person { id, wards } => {
                Some(std::iter::once(*id).chain(wards.iter().copied()).collect())
            }
            _ => None,
        }
    }

    /// Open `pid`'s book for `need`, recording the read (`target`) in the person's
    /// chain when the reader is not the person.
    async fn open(
        &self,
        app: &Arc<App>,
        pid: i64,
        need: Need<'_>,
        target: &str,
    ) -> Result<Book, FhirError> {
        // Decided, read and recorded in one transaction by the service layer. The IPS
        // (a summary) asks a system client for every type of a book.
        let who = self.actor();
        let (summary, types): (bool, Vec<String>) = match need {
            Need::Summary => (true, BOOK_TYPES.iter().map(|t| t.to_string()).collect()),
            Need::Types(t) => (false, t.iter().map(|t| t.to_string()).collect()),
        };
        let target = target.to_string();
        let opened = crate::http::serve(app, move |s| {
            let types: Vec<&str> = types.iter().map(String::as_str).collect();
            let need = match who {
                service::Actor::System { .. } => service::Need::Types(&types),
                _ if summary => service::Need::Summary,
                _ => service::Need::Types(&types),
            };
            s.open_book(&who, pid, need, service::Audit::on("fhir", target))
        })
        .await?;
        let doses = opened.data.doses;
        // What is due, from every dose the person has that the reader sees.
        let forecast = service::vaccination::subject_of(&opened.data.person)
            .map(|s| {
                let counted = store::counted_doses(&doses);
                ::fhir::immunization::forecast_facts(&book::immunization::forecast(
                    &s,
                    &counted,
                    crate::vn_now().date(),
                ))
            })
            .unwrap_or_default();
        Ok(Book {
            person: opened.data.person,
            episodes: opened.data.episodes,
            record: opened.data.record,
            summary_only: opened.summary_only,
            immunizations: doses
                .iter()
                .map(|d| ::fhir::immunization::dose_facts(d, None))
                .collect(),
            forecast,
        })
    }
}

// ---------------------------------------------------------------------------
// Building resources
// ---------------------------------------------------------------------------

/// The base URL of this server's FHIR endpoint: the configured public URL, else the
/// request's Host.
pub fn base_url(app: &App, headers: &HeaderMap) -> String {
    if let Some(u) = &app.config.public_url {
        return format!("{}/fhir", u.trim_end_matches('/'));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    let proto = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}/fhir")
}

/// Names and registry records that decorate a book's resources.
async fn context_for(app: &Arc<App>, episodes: &[EpisodeRecord]) -> Result<Context, FhirError> {
    context_with(app, episodes, BTreeSet::new()).await
}

/// The context of a whole book: its episodes' and its doses' facilities.
async fn book_context(app: &Arc<App>, book: &Book) -> Result<Context, FhirError> {
    let doses = book
        .immunizations
        .iter()
        .filter_map(|d| d.facility.clone())
        .collect();
    context_with(app, &book.episodes, doses).await
}

async fn context_with(
    app: &Arc<App>,
    episodes: &[EpisodeRecord],
    mut codes: BTreeSet<String>,
) -> Result<Context, FhirError> {
    let mut certs = BTreeSet::new();
    for e in episodes {
        codes.extend(map::facility_codes(e));
        certs.extend(map::certificates(&e.view));
    }
    let store = app.store.clone();
    let (facilities, practitioners) = blocking(move || {
        let mut f = BTreeMap::new();
        for c in &codes {
            if let Some(x) = store.facility(c)? {
                f.insert(c.clone(), x);
            }
        }
        let certs: Vec<String> = certs.into_iter().collect();
        Ok((f, store.practitioner_names(&certs)?))
    })
    .await?;
    let facility_names = facilities
        .iter()
        .map(|(c, f)| (c.clone(), f.name.clone()))
        .collect();
    Ok(Context {
        facilities,
        facility_names,
        practitioners,
        now: crate::vn_now(),
    })
}

// ---------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------

type Params = Query<Vec<(String, String)>>;

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn params_all<'a>(params: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn check_type(ty: &str) -> Result<(), FhirError> {
    if ALL_TYPES.contains(&ty) {
        Ok(())
    } else {
        Err(FhirError {
            expression: Some(ty.to_string()),
            ..FhirError::new(
                StatusCode::NOT_FOUND,
                "not-supported",
                format!("Loại tài nguyên không được hỗ trợ: {ty}"),
            )
        })
    }
}

/// The person a `patient` / `subject` parameter names (`Patient/12` or `12`).
fn patient_param(v: &str, name: &str) -> Result<i64, FhirError> {
    v.trim()
        .trim_start_matches("Patient/")
        .parse()
        .map_err(|_| FhirError::invalid(name, format!("{name}: cần dạng Patient/<id>")))
}

/// When `pid` was merged into another person (through any chain of merges): its own
/// record, and the survivor's id.
async fn merged(app: &Arc<App>, pid: i64) -> Result<Option<(PersonRecord, i64)>, FhirError> {
    let store = app.store.clone();
    Ok(blocking(move || {
        let Some(first) = store.person(pid)? else {
            return Ok(None);
        };
        let mut next = first.merged_into;
        let mut survivor = None;
        // Merges refuse a merged person at either end, so there is no cycle; bounded anyway.
        for _ in 0..64 {
            let Some(m) = next else { break };
            survivor = Some(m);
            next = store.person(m)?.and_then(|p| p.merged_into);
        }
        Ok(survivor.map(|s| (first, s)))
    })
    .await?)
}

/// Where a refused request on a person would go had the person been merged away.
struct Moved<'a> {
    /// What the request needs of the survivor's book.
    need: Need<'a>,
    ty: &'a str,
    /// What follows the person id in the new location (`-12-d0`, `/$summary`…).
    path: String,
    /// The request, for the audit record.
    target: String,
}

/// The answer to a request on `pid` that was `refused`. When `pid` was merged away and
/// the reader may read the survivor's book: `Patient/{old}` answers the old record
/// (inactive, `replaced-by` the survivor), and anything else of theirs, which moved with
/// the merge, answers 301 to its id under the survivor. Otherwise the refusal stands, so
/// nobody else learns where a record went. Asked only on a refusal: a read that succeeds
/// costs nothing more.
async fn moved(
    app: &Arc<App>,
    headers: &HeaderMap,
    reader: &Reader,
    pid: i64,
    refused: FhirError,
    m: Moved<'_>,
) -> Result<Response, FhirError> {
    if !matches!(
        refused.status,
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
    ) {
        return Err(refused);
    }
    let Some((old, survivor)) = merged(app, pid).await? else {
        return Err(refused);
    };
    let Moved {
        need,
        ty,
        path,
        target,
    } = m;
    let book = reader
        .open(app, survivor, need, &target)
        .await
        .map_err(|_| FhirError::not_found())?;
    if ty == "Patient" && path.is_empty() {
        // No more of the old record's identifiers than the reader sees on the survivor
        // (a system client: no facility's patient number outside its unit).
        let mut old = old;
        old.identifiers.retain(|i| {
            book.person
                .identifiers
                .iter()
                .any(|k| k.kind == i.kind && k.value == i.value)
        });
        return Ok(fhir_json(StatusCode::OK, &map::patient(&old)));
    }
    let location = format!("{}/{ty}/{survivor}{path}", base_url(app, headers));
    Ok(pointing(
        StatusCode::MOVED_PERMANENTLY,
        header::LOCATION,
        &location,
        format!("Người bệnh đã được gộp vào Patient/{survivor}: {location}"),
        format!("The patient was merged into Patient/{survivor}; see {location}"),
    ))
}

async fn read(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path((ty, id)): Path<(String, String)>,
    Query(params): Params,
) -> Result<Response, FhirError> {
    check_type(&ty)?;
    // A FHIR id ([A-Za-z0-9.-]{1,64}), or the $summary operation: nothing else is looked
    // up, and nothing else reaches an audit record.
    let valid_id = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if !valid_id && id != "$summary" {
        return Err(FhirError::not_found());
    }
    match ty.as_str() {
        "CodeSystem" | "NamingSystem" => {
            let list = terminology::resources(&ty);
            let r = list
                .into_iter()
                .find(|r| r["id"] == id.as_str())
                .ok_or_else(FhirError::not_found)?;
            return Ok(fhir_json(StatusCode::OK, &r));
        }
        _ => {}
    }
    if ty == "Patient" && id == "$summary" {
        // Patient/$summary?identifier=system|value
        return summary_by_identifier(app, headers, params).await;
    }
    let reader = Reader::from_headers(&app, &headers).await?;
    match ty.as_str() {
        "Organization" if id == "healthbook" => {
            // The author of every IPS document.
            return Ok(fhir_json(StatusCode::OK, &ips::author()));
        }
        "Organization" => {
            let store = app.store.clone();
            let code = id.clone();
            let f = blocking(move || store.facility(&code)).await?;
            let Some(f) = f else {
                return Err(FhirError::not_found());
            };
            let mut ctx = Context::default();
            ctx.facility_names.insert(f.code.clone(), f.name.clone());
            ctx.facilities.insert(f.code.clone(), f.clone());
            return Ok(fhir_json(StatusCode::OK, &map::organization(&f.code, &ctx)));
        }
        "Practitioner" => {
            let store = app.store.clone();
            let staff = blocking(move || store.staff_list()).await?;
            let hit = staff.into_iter().find_map(|s| {
                let c = s.practising_cert?;
                (map::practitioner_id(&c) == id).then_some((c, s.full_name))
            });
            let Some((cert, name)) = hit else {
                return Err(FhirError::not_found());
            };
            let mut ctx = Context::default();
            ctx.practitioners.insert(cert.clone(), name);
            return Ok(fhir_json(StatusCode::OK, &map::practitioner(&cert, &ctx)));
        }
        _ => {}
    }
    // A resource of the person's QĐ 831 record (`<person>-hs-…`), else of an episode.
    let from_record = record::person_of(&id);
    let from_vaccinations = ::fhir::immunization::person_of(&id);
    let (pid, episode) = match from_record.or(from_vaccinations) {
        Some(pid) if ty != "Patient" => (pid, None),
        _ => {
            let Some((pid, episode, _)) = map::parse_id(&id) else {
                return Err(FhirError::not_found());
            };
            if (ty == "Patient") != episode.is_none() {
                return Err(FhirError::not_found());
            }
            (pid, episode)
        }
    };
    let types = [ty.as_str()];
    let target = format!("{ty}/{id}");
    let book = match reader.open(&app, pid, Need::Types(&types), &target).await {
        Ok(book) => book,
        Err(refused) => {
            let m = Moved {
                need: Need::Types(&types),
                ty: &ty,
                path: id[pid.to_string().len()..].to_string(),
                target,
            };
            return moved(&app, &headers, &reader, pid, refused, m).await;
        }
    };
    if ty == "Patient" {
        return Ok(fhir_json(StatusCode::OK, &map::patient(&book.person)));
    }
    if from_vaccinations.is_some() {
        let ctx = book_context(&app, &book).await?;
        let found = book_resources(&book, &ctx)
            .into_iter()
            .find(|r| map::key(r) == (ty.as_str(), id.as_str()))
            .ok_or_else(FhirError::not_found)?;
        return Ok(fhir_json(StatusCode::OK, &found));
    }
    if from_record.is_some() {
        let found = book
            .record
            .as_ref()
            .map(|r| record::record_resources(pid, r))
            .unwrap_or_default()
            .into_iter()
            .find(|r| map::key(r) == (ty.as_str(), id.as_str()))
            .ok_or_else(FhirError::not_found)?;
        return Ok(fhir_json(StatusCode::OK, &found));
    }
    let e = book
        .episodes
        .iter()
        .find(|e| Some(e.id) == episode)
        .ok_or_else(FhirError::not_found)?;
    let ctx = context_for(&app, std::slice::from_ref(e)).await?;
    let found = map::episode_resources(pid, e, &ctx)
        .into_iter()
        .find(|r| map::key(r) == (ty.as_str(), id.as_str()))
        .ok_or_else(FhirError::not_found)?;
    Ok(fhir_json(StatusCode::OK, &found))
}

/// A date search value: an optional prefix and an ISO date or dateTime, as a span at its
/// precision (see [`map::Span::matches`] for what each prefix means).
pub struct DateFilter {
    prefix: String,
    span: map::Span,
}

impl DateFilter {
    fn parse(s: &str) -> Result<DateFilter, FhirError> {
        let (prefix, value) = match s.get(..2) {
            Some(p @ ("eq" | "ne" | "gt" | "lt" | "ge" | "le" | "sa" | "eb")) => {
                (p.to_string(), &s[2..])
            }
            _ => ("eq".to_string(), s),
        };
        // A real date (no 2026-13-45), to the year, month, day, minute or second.
        let span = map::Span::parse(value).ok_or_else(|| {
            FhirError::invalid(
                "date",
                format!(
                    "date: giá trị không hợp lệ \"{s}\" (cần dạng [eq|ne|ge|le|gt|lt|sa|eb]YYYY[-MM[-DD[Thh:mm[:ss][Z|+hh:mm]]]])"
                ),
            )
        })?;
        Ok(DateFilter { prefix, span })
    }

    fn matches(&self, target: Option<map::Span>) -> bool {
        target.is_some_and(|t| self.span.matches(&self.prefix, &t))
    }
}

/// `[system|]code`, comma-separated alternatives.
fn code_matches(filter: &str, codes: &[(&str, &str)]) -> bool {
    filter.split(',').any(|alt| match alt.split_once('|') {
        Some(("", code)) => codes.iter().any(|(_, c)| *c == code),
        Some((system, "")) => codes.iter().any(|(s, _)| *s == system),
        Some((system, code)) => codes.iter().any(|(s, c)| *s == system && *c == code),
        None => codes.iter().any(|(_, c)| *c == alt),
    })
}

/// A searchset entry, the resource moved in (a `json!` would copy it).
fn entry(base: &str, r: Value) -> Value {
    let (t, i) = map::key(&r);
    let full_url = format!("{base}/{t}/{i}");
    let mut m = serde_json::Map::new();
    m.insert("fullUrl".into(), Value::String(full_url));
    m.insert("resource".into(), r);
    m.insert("search".into(), json!({ "mode": "match" }));
    Value::Object(m)
}

/// A searchset Bundle of one page of `matches`.
fn searchset(
    base: &str,
    ty: &str,
    params: &[(String, String)],
    matches: Vec<Value>,
) -> Result<Value, FhirError> {
    let count = match param(params, "_count") {
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| FhirError::invalid("_count", "_count: cần một số nguyên"))?
            .min(MAX_COUNT),
        None => DEFAULT_COUNT,
    };
    let offset = match param(params, "_offset") {
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| FhirError::invalid("_offset", "_offset: cần một số nguyên"))?,
        None => 0,
    };
    let total = matches.len();
    let page: Vec<Value> = matches.into_iter().skip(offset).take(count).collect();
    let link_for = |off: usize| {
        let mut q: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| k != "_offset" && k != "_count")
            .cloned()
            .collect();
        q.push(("_count".into(), count.to_string()));
        q.push(("_offset".into(), off.to_string()));
        let qs = serde_urlencoded::to_string(&q).unwrap_or_default();
        format!("{base}/{ty}?{qs}")
    };
    let mut links = vec![json!({ "relation": "self", "url": link_for(offset) })];
    if offset + count < total && count > 0 {
        links.push(json!({ "relation": "next", "url": link_for(offset + count) }));
    }
    if offset > 0 {
        links
            .push(json!({ "relation": "previous", "url": link_for(offset.saturating_sub(count)) }));
    }
    let entries: Vec<Value> = page.into_iter().map(|r| entry(base, r)).collect();
    Ok(searchset_bundle(total, Value::Array(links), entries))
}

/// A `searchset` Bundle: the entries are moved in, not copied through `json!`.
fn searchset_bundle(total: usize, links: Value, entries: Vec<Value>) -> Value {
    let mut bundle = json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "meta": { "lastUpdated": map::instant(now_ms()) },
        "type": "searchset",
        "total": total,
        "link": links,
    });
    bundle["entry"] = Value::Array(entries);
    bundle
}

/// The value of a token parameter (`system|value`, or a bare value).
fn token_value(p: &str) -> String {
    p.rsplit_once('|').map_or(p, |(_, v)| v).trim().to_string()
}

/// Refuse any search parameter but these (and paging), naming it.
fn only_params(params: &[(String, String)], known: &[&str]) -> Result<(), FhirError> {
    match params.iter().find(|(k, _)| {
        !known.contains(&k.as_str()) && !["_count", "_offset", "_format"].contains(&k.as_str())
    }) {
        Some((k, _)) => Err(FhirError::invalid(
            k,
            format!("Tham số tìm kiếm không được hỗ trợ: {k} (xem /fhir/metadata)"),
        )),
        None => Ok(()),
    }
}

/// Resolve an identifier search (`system|value` or a bare value) to a person.
async fn person_by_identifier(app: &Arc<App>, ident: &str) -> Result<Option<i64>, FhirError> {
    let (system, value) = match ident.split_once('|') {
        Some((s, v)) => (Some(s), v),
        None => (None, ident),
    };
    let kinds: Vec<IdKind> = match system {
        Some(terminology::SID_CCCD) => vec![IdKind::PersonalId],
        Some(terminology::SID_BHYT) => vec![IdKind::BhytCard],
        Some(terminology::SID_BHXH) => vec![IdKind::Bhxh],
        Some(terminology::SID_CMND) => vec![IdKind::Cmnd],
        Some(terminology::SID_PASSPORT) => vec![IdKind::Passport],
        Some(terminology::SID_MA_BN) => vec![IdKind::FacilityPatient],
        Some("") | None => vec![IdKind::PersonalId, IdKind::BhytCard, IdKind::Bhxh],
        Some(other) => {
            return Err(FhirError::invalid(
                "identifier",
                format!(
                    "identifier: hệ định danh không được hỗ trợ \"{other}\" (xem NamingSystem)"
                ),
            ));
        }
    };
    let store = app.store.clone();
    let value = value.trim().to_string();
    Ok(blocking(move || {
        for k in kinds {
            if let Some(p) = store.person_by_identifier(k, &value)? {
                return Ok(Some(p.merged_into.unwrap_or(p.id)));
            }
        }
        Ok(None)
    })
    .await?)
}

async fn search(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(ty): Path<String>,
    Query(params): Params,
) -> Result<Response, FhirError> {
    check_type(&ty)?;
    let base = base_url(&app, &headers);
    let matches: Vec<Value> = match ty.as_str() {
        "CodeSystem" | "NamingSystem" => {
            let list = terminology::resources(&ty);
            let url = param(&params, "url");
            list.into_iter()
                .filter(|r| url.is_none_or(|u| r["url"] == u || r["uniqueId"][0]["value"] == u))
                .collect()
        }
        "Organization" => {
            let _reader = Reader::from_headers(&app, &headers).await?;
            only_params(&params, &["identifier", "name"])?;
            let store = app.store.clone();
            let all = blocking(move || store.facilities()).await?;
            let ident = param(&params, "identifier").map(token_value);
            let name = param(&params, "name").map(book::text::fold);
            let mut ctx = Context::default();
            let chosen: Vec<store::Facility> = all
                .into_iter()
                .filter(|f| ident.as_ref().is_none_or(|i| &f.code == i))
                .filter(|f| {
                    name.as_ref()
                        .is_none_or(|n| book::text::fold(&f.name).contains(n.as_str()))
                })
                .collect();
            for f in &chosen {
                ctx.facility_names.insert(f.code.clone(), f.name.clone());
                ctx.facilities.insert(f.code.clone(), f.clone());
            }
            chosen
                .iter()
                .map(|f| map::organization(&f.code, &ctx))
                .collect()
        }
        "Practitioner" => {
            let _reader = Reader::from_headers(&app, &headers).await?;
            only_params(&params, &["identifier"])?;
            // By certificate only (an index lookup): the directory is not listed.
            let ident = param(&params, "identifier")
                .map(token_value)
                .filter(|i| !i.is_empty())
                .ok_or_else(|| {
                    FhirError::invalid(
                        "identifier",
                        "identifier: cần số chứng chỉ hành nghề (https://healthbook.vn/fhir/sid/cchn|…)",
                    )
                })?;
            let store = app.store.clone();
            let cert = ident.clone();
            let names = blocking(move || store.practitioner_names(&[cert])).await?;
            let ctx = Context {
                practitioners: names,
                ..Context::default()
            };
            ctx.practitioners
                .keys()
                .map(|c| map::practitioner(c, &ctx))
                .collect()
        }
        _ => {
            let reader = Reader::from_headers(&app, &headers).await?;
            search_books(&app, &reader, &ty, &params).await?
        }
    };
    Ok(fhir_json(
        StatusCode::OK,
        &searchset(&base, &ty, &params, matches)?,
    ))
}

/// `GET /fhir/Immunization` (the route that also takes the POST of a dose).
async fn search_immunizations(
    app: State<Arc<App>>,
    headers: HeaderMap,
    params: Params,
) -> Result<Response, FhirError> {
    search(app, headers, Path("Immunization".to_string()), params).await
}

/// Search the books the request names (or the reader's own).
async fn search_books(
    app: &Arc<App>,
    reader: &Reader,
    ty: &str,
    params: &[(String, String)],
) -> Result<Vec<Value>, FhirError> {
    only_params(
        params,
        if ty == "Patient" {
            &["_id", "identifier"]
        } else {
            &[
                "patient",
                "subject",
                "date",
                "code",
                "encounter",
                "status",
                "category",
            ]
        },
    )?;
    let mut persons: Vec<i64> = Vec::new();
    let named = param(params, "patient")
        .map(|v| (v, "patient"))
        .or(param(params, "subject").map(|v| (v, "subject")));
    if ty == "Patient" {
        if let Some(id) = param(params, "_id") {
            persons.push(patient_param(id, "_id")?);
        } else if let Some(ident) = param(params, "identifier") {
            match person_by_identifier(app, ident).await? {
                Some(p) => persons.push(p),
                // No such person: the same empty answer as a person the reader may not see.
                None => return Ok(Vec::new()),
            }
        }
    } else if let Some((v, name)) = named {
        persons.push(patient_param(v, name)?);
    }
    if persons.is_empty() {
        persons = reader.own_books().ok_or_else(|| {
            FhirError::invalid(
                "patient",
                "patient: cần chỉ rõ người bệnh (patient=Patient/<id>) hoặc identifier",
            )
        })?;
    }
    let dates: Vec<DateFilter> = params_all(params, "date")
        .into_iter()
        .map(DateFilter::parse)
        .collect::<Result<_, _>>()?;
    let code = param(params, "code");
    let encounter = param(params, "encounter").map(|e| e.trim_start_matches("Encounter/"));
    let status = param(params, "status");
    let category = param(params, "category");
    let types = [ty];
    let mut out = Vec::new();
    let identifier_search = ty == "Patient" && param(params, "identifier").is_some();
    for pid in persons {
        let target = format!("{ty}?patient={pid}");
        let book = match reader.open(app, pid, Need::Types(&types), &target).await {
            Ok(b) => b,
            // Found by identifier but not the reader's to see: as if absent.
            Err(e)
                if identifier_search
                    && matches!(e.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) =>
            {
                continue;
            }
            Err(e) => return Err(e),
        };
        if ty == "Patient" {
            out.push(map::patient(&book.person));
            continue;
        }
        let ctx = book_context(app, &book).await?;
        for r in book_resources(&book, &ctx) {
            if r["resourceType"] != ty {
                continue;
            }
            if !dates.iter().all(|d| d.matches(map::search_span(&r))) {
                continue;
            }
            if let Some(c) = code
                && !code_matches(c, &map::search_codes(&r))
            {
                continue;
            }
            if let Some(e) = encounter {
                let own = r["encounter"]["reference"]
                    .as_str()
                    .map(|x| x.trim_start_matches("Encounter/"))
                    .or_else(|| (ty == "Encounter").then(|| r["id"].as_str().unwrap_or("")));
                if own != Some(e) {
                    continue;
                }
            }
            if let Some(s) = status
                && !s.split(',').any(|s| r["status"] == s)
            {
                continue;
            }
            if let Some(c) = category {
                let cats = r["category"].clone();
                let list: Vec<Value> = match cats {
                    Value::Array(a) => a,
                    Value::Object(_) => vec![cats],
                    _ => Vec::new(),
                };
                // A CodeableConcept's codings, or a plain code (AllergyIntolerance).
                let mut codes: Vec<(&str, &str)> = list
                    .iter()
                    .flat_map(|cc| cc["coding"].as_array().into_iter().flatten())
                    .filter_map(|x| Some((x["system"].as_str()?, x["code"].as_str()?)))
                    .collect();
                codes.extend(list.iter().filter_map(|c| Some(("", c.as_str()?))));
                if !code_matches(c, &codes) {
                    continue;
                }
            }
            out.push(r);
        }
    }
    Ok(out)
}

async fn everything(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(params): Params,
) -> Result<Response, FhirError> {
    let reader = Reader::from_headers(&app, &headers).await?;
    let pid = patient_param(&id, "id").map_err(|_| FhirError::not_found())?;
    let wanted: Vec<&str> = match param(&params, "_type") {
        Some(t) => {
            let list: Vec<&str> = t.split(',').map(str::trim).collect();
            if let Some(bad) = list.iter().find(|t| !ALL_TYPES.contains(t)) {
                return Err(FhirError::invalid(
                    "_type",
                    format!("_type: loại không hỗ trợ {bad}"),
                ));
            }
            list
        }
        // Everything the reader may read: a system client's scopes may be narrower.
        None => export::EXPORT_TYPES
            .iter()
            .copied()
            .filter(|t| match &reader {
                Reader::System { scopes, .. } => scopes.allows(t),
                _ => true,
            })
            .collect(),
    };
    let since = match param(&params, "_since") {
        Some(s) => Some(DateFilter::parse(&format!("ge{s}")).map_err(|_| {
            FhirError::invalid(
                "_since",
                format!("_since: cần một thời điểm dạng YYYY-MM-DDThh:mm:ss+07:00, nhận \"{s}\""),
            )
        })?),
        None => None,
    };
    let target = format!("Patient/{pid}/$everything");
    let book = match reader.open(&app, pid, Need::Types(&wanted), &target).await {
        Ok(book) => book,
        Err(refused) => {
            let query = serde_urlencoded::to_string(&params).unwrap_or_default();
            let m = Moved {
                need: Need::Types(&["Patient"]),
                ty: "Patient",
                path: if query.is_empty() {
                    "/$everything".to_string()
                } else {
                    format!("/$everything?{query}")
                },
                target,
            };
            return moved(&app, &headers, &reader, pid, refused, m).await;
        }
    };
    let ctx = book_context(&app, &book).await?;
    let base = base_url(&app, &headers);
    // Written on a blocking thread (its episodes on every core), not on the runtime's.
    let wanted: Vec<String> = wanted.into_iter().map(str::to_string).collect();
    let body = tokio::task::spawn_blocking(move || {
        let wanted: Vec<&str> = wanted.iter().map(String::as_str).collect();
        everything_bundle(&book, &ctx, &wanted, since.as_ref(), &base)
    })
    .await
    .map_err(|e| FhirError::from(store::StoreError::Invalid(e.to_string())))?
    .map_err(|e| FhirError::from(store::StoreError::Invalid(e.to_string())))?;
    Ok(fhir_body(StatusCode::OK, body))
}

/// The `$everything` searchset Bundle as JSON text: each entry written straight from its
/// typed resource into the body (no `Value` tree of the book is made), the episodes'
/// entries on every core (each episode's into a buffer of its own, joined in the book's
/// order), the Bundle's head (which holds the count) put before them.
pub fn everything_bundle(
    book: &Book,
    ctx: &Context,
    wanted: &[&str],
    since: Option<&DateFilter>,
    base: &str,
) -> serde_json::Result<Vec<u8>> {
    use rayon::prelude::*;
    let filtered;
    let book = match since {
        None => book,
        Some(since) => {
            filtered = changed_since(book, since);
            &filtered
        }
    };
    let pid = book.person.id;
    let mut head = Entries::new(wanted, base, 4 * 1024);
    ::fhir::each_book_head(book, &mut |r| head.push(r));
    // Oldest first, as `each_book_resource` orders them.
    let episodes: Vec<Entries> = book
        .episodes
        .par_iter()
        .rev()
        .with_min_len(2)
        .map(|e| {
            let mut part = Entries::new(wanted, base, 16 * 1024);
            map::each_episode_resource(pid, e, ctx, &mut |r| part.push(r));
            part
        })
        .collect();
    let mut tail = Entries::new(wanted, base, 4 * 1024);
    ::fhir::each_book_tail(book, ctx, &mut |r| tail.push(r));
    let mut entries: Vec<Entries> = std::iter::once(head)
        .chain(episodes)
        .chain(std::iter::once(tail))
        .collect();
    if let Some(e) = entries.iter_mut().find_map(|p| p.failed.take()) {
        return Err(e);
    }
    let total: usize = entries.iter().map(|p| p.count).sum();
    let size: usize = entries.iter().map(|p| p.out.len()).sum();
    let links = json!([{ "relation": "self", "url": format!("{base}/Patient/{pid}/$everything") }]);
    let mut out = serde_json::to_vec(&searchset_bundle(total, links, Vec::new()))?;
    // `{…,"entry":[]}`: the entries go between the brackets.
    let Some(cut) = out
        .len()
        .checked_sub(2)
        .filter(|c| out.ends_with(b"]}") && *c > 0)
    else {
        return Err(serde::ser::Error::custom(
            "a Bundle's head ends in its entries",
        ));
    };
    out.truncate(cut);
    out.reserve(size + 2);
    for p in &entries {
        out.extend_from_slice(&p.out);
    }
    // Each entry was written with a comma after it.
    if total > 0 {
        out.pop();
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// Bundle entries of the wanted types written as JSON text, each followed by a comma.
struct Entries<'w> {
    wanted: &'w [&'w str],
    base: &'w str,
    out: Vec<u8>,
    count: usize,
    failed: Option<serde_json::Error>,
}

impl<'w> Entries<'w> {
    fn new(wanted: &'w [&'w str], base: &'w str, capacity: usize) -> Self {
        Entries {
            wanted,
            base,
            out: Vec::with_capacity(capacity),
            count: 0,
            failed: None,
        }
    }

    fn push(&mut self, r: Resource<'_>) {
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            #[serde(rename = "fullUrl")]
            full_url: String,
            resource: &'a Resource<'a>,
            search: Search,
        }
        #[derive(serde::Serialize)]
        struct Search {
            mode: &'static str,
        }
        if self.failed.is_some() || !self.wanted.contains(&r.resource_type()) {
            return;
        }
        let e = Entry {
            full_url: format!("{}/{}/{}", self.base, r.resource_type(), r.id()),
            resource: &r,
            search: Search { mode: "match" },
        };
        match serde_json::to_writer(&mut self.out, &e) {
            Ok(()) => {
                self.out.push(b',');
                self.count += 1;
            }
            Err(e) => self.failed = Some(e),
        }
    }
}

/// The part of a book that changed since `since` (`$everything?_since=`): the episodes
/// made visible since, the record when it changed since, the doses recorded since (and
/// the forecast when any is).
fn changed_since(book: &Book, since: &DateFilter) -> Book {
    let at = |ms: i64| {
        let at = crate::vn_wall_clock(ms);
        Some(map::Span {
            low: at,
            high: Some(at + chrono::Duration::milliseconds(1)),
        })
    };
    Book {
        person: book.person.clone(),
        episodes: book
            .episodes
            .iter()
            .filter(|e| since.matches(at(e.visible_at)))
            .cloned()
            .collect(),
        record: book
            .record
            .clone()
            .filter(|r| since.matches(at(r.updated_at))),
        summary_only: book.summary_only,
        immunizations: book
            .immunizations
            .iter()
            .filter(|d| since.matches(at(d.recorded_at)))
            .cloned()
            .collect(),
        forecast: book.forecast.clone(),
    }
}

async fn summary(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, FhirError> {
    let reader = Reader::from_headers(&app, &headers).await?;
    let pid = patient_param(&id, "id").map_err(|_| FhirError::not_found())?;
    match ips_response(&app, &headers, &reader, pid).await {
        Err(refused) => {
            let m = Moved {
                need: Need::Summary,
                ty: "Patient",
                path: "/$summary".into(),
                target: format!("Patient/{pid}/$summary"),
            };
            moved(&app, &headers, &reader, pid, refused, m).await
        }
        answer => answer,
    }
}

async fn summary_by_identifier(
    app: Arc<App>,
    headers: HeaderMap,
    params: Vec<(String, String)>,
) -> Result<Response, FhirError> {
    let reader = Reader::from_headers(&app, &headers).await?;
    let ident = param(&params, "identifier").ok_or_else(|| {
        FhirError::invalid(
            "identifier",
            "identifier: cần số định danh hoặc mã thẻ BHYT",
        )
    })?;
    // Staff learn nothing from an identifier they may not use: only a clinician's lookup
    // is made, and an unknown identifier is refused as a person without consent is. A
    // system client's scopes are checked before the lookup too.
    match &reader {
        Reader::Staff(u) => u.allow(&Action::UseShareCode)?,
        Reader::System { scopes, .. } if !BOOK_TYPES.iter().all(|t| scopes.allows(t)) => {
            return Err(scope_refusal(scopes));
        }
        _ => {}
    }
    let Some(pid) = person_by_identifier(&app, ident).await? else {
        return Err(match reader {
            Reader::Staff(_) => FhirError::from(ApiError(
                StatusCode::FORBIDDEN,
                "no_consent",
                "Chưa có sự đồng ý của người bệnh (mã chia sẻ), giấy chuyển tuyến hoặc truy cập khẩn cấp".into(),
            )),
            _ => FhirError::not_found(),
        });
    };
    ips_response(&app, &headers, &reader, pid).await
}

async fn ips_response(
    app: &Arc<App>,
    headers: &HeaderMap,
    reader: &Reader,
    pid: i64,
) -> Result<Response, FhirError> {
    let book = reader
        .open(app, pid, Need::Summary, &format!("Patient/{pid}/$summary"))
        .await?;
    let ctx = book_context(app, &book).await?;
    let resources = book_resources(&book, &ctx);
    let doc = ips::summary(
        &base_url(app, headers),
        &resources,
        ctx.now,
        now_ms(),
        &uuid::Uuid::new_v4().to_string(),
        book.summary_only,
        book.record.is_some(),
    );
    Ok(fhir_json(StatusCode::OK, &doc))
}

// ---------------------------------------------------------------------------
// Capability, SMART configuration, tokens
// ---------------------------------------------------------------------------

async fn metadata(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    fhir_json(
        StatusCode::OK,
        &capability_statement(&base_url(&app, &headers)),
    )
}

/// The CapabilityStatement of this server.
pub fn capability_statement(base: &str) -> Value {
    let sp =
        |name: &str, ty: &str, doc: &str| json!({ "name": name, "type": ty, "documentation": doc });
    let clinical = |extra: Vec<Value>| {
        let mut v = vec![
            sp(
                "patient",
                "reference",
                "Người bệnh (Patient/<id>); bắt buộc trừ khi người dân đọc sổ của chính mình",
            ),
            sp(
                "date",
                "date",
                "Ngày của tài nguyên (khoảng thời gian theo độ chính xác), tiền tố eq|ne|gt|lt|ge|le|sa|eb; giờ Việt Nam",
            ),
            sp("encounter", "reference", "Lượt khám (Encounter/<id>)"),
        ];
        v.extend(extra);
        v
    };
    let patient = || {
        sp(
            "patient",
            "reference",
            "Người bệnh (Patient/<id>); bắt buộc trừ khi người dân đọc sổ của chính mình",
        )
    };
    let code = || {
        sp(
            "code",
            "token",
            "[system|]code, nhiều giá trị cách nhau bởi dấu phẩy",
        )
    };
    let resource = |ty: &str, params: Vec<Value>, ops: Vec<Value>| {
        let mut r = json!({
            "type": ty,
            "profile": format!("http://hl7.org/fhir/StructureDefinition/{ty}"),
            "interaction": [{ "code": "read" }, { "code": "search-type" }],
            "versioning": "no-version",
            "readHistory": false,
            "searchParam": params,
        });
        if !ops.is_empty() {
            r["operation"] = json!(ops);
        }
        r
    };
    let mut immunization = resource(
        "Immunization",
        clinical(vec![
            sp(
                "code",
                "token",
                "Mã vắc xin (vacxin-tcqg, ATC, CVX): [system|]code",
            ),
            sp("status", "token", "completed | not-done"),
        ]),
        vec![],
    );
    immunization["interaction"] =
        json!([{ "code": "read" }, { "code": "search-type" }, { "code": "create" }]);
    immunization["documentation"] = json!(
        "Hệ thống kết nối có phạm vi system/Immunization.write ghi mũi tiêm của người dân do trạm y tế trong đơn vị quản lý hồ sơ (POST /fhir/Immunization, hoặc Bundle transaction tại POST /fhir: tất cả hoặc không)."
    );
    json!({
        "resourceType": "CapabilityStatement",
        "id": "healthbook",
        "text": map::narrative(&["healthbook FHIR R4: sổ sức khỏe điện tử (đọc; ghi mũi tiêm cho hệ thống kết nối)".to_string()]),
        "url": format!("{}/CapabilityStatement/healthbook", terminology::NS),
        "version": env!("CARGO_PKG_VERSION"),
        "name": "HealthbookFhirServer",
        "title": "healthbook — FHIR R4 của Sổ sức khỏe điện tử",
        "status": "active",
        "date": "2026-11-23",
        "publisher": "healthbook",
        "description": "FHIR R4 view of Vietnam's electronic health book, projected from QĐ 130/4750/3176 dossiers, the QĐ 831 personal health records kept by commune health stations and their vaccinations; registered systems of a unit may write vaccination doses (Immunization).",
        "kind": "instance",
        "software": { "name": "healthbook", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "healthbook FHIR endpoint", "url": base },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Người dân đọc sổ của mình và người được giám hộ; người hành nghề đọc theo sự đồng ý (mã chia sẻ), giấy chuyển tuyến hoặc truy cập khẩn cấp; hệ thống kết nối đọc dữ liệu của đơn vị theo phạm vi (scopes) của mã truy cập. Mọi lượt đọc của người khác được ghi vào nhật ký của người dân.",
            "security": {
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": [{ "url": "token", "valueUri": format!("{base}/auth/token") }],
                }],
                "cors": false,
                "service": [{
                    "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR" }],
                    "text": "Bearer tokens: citizen and staff sessions; system clients by client credentials with system/<Type>.read scopes",
                }],
            },
            "resource": [
                resource("Patient", vec![
                    sp("_id", "token", "Mã người bệnh"),
                    sp("identifier", "token", "Số định danh cá nhân, mã thẻ BHYT, mã số BHXH (system|value)"),
                ], vec![
                    json!({ "name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything" }),
                    json!({ "name": "summary", "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary" }),
                ]),
                resource("Encounter", clinical(vec![code()]), vec![]),
                resource("Condition", clinical(vec![code(), sp("category", "token", "encounter-diagnosis | problem-list-item")]), vec![]),
                resource("MedicationRequest", clinical(vec![code(), sp("status", "token", "active | completed")]), vec![]),
                resource("Observation", clinical(vec![code(), sp("category", "token", "laboratory | vital-signs | social-history")]), vec![]),
                resource("DiagnosticReport", clinical(vec![code(), sp("category", "token", "RAD | OTH")]), vec![]),
                resource("Procedure", clinical(vec![code()]), vec![]),
                resource("ServiceRequest", clinical(vec![sp("status", "token", "active | completed")]), vec![]),
                resource("Appointment", clinical(vec![]), vec![]),
                resource("AllergyIntolerance", vec![patient(), code(), sp("category", "token", "medication | food | environment")], vec![]),
                resource("FamilyMemberHistory", vec![patient(), code(), sp("date", "date", "Ngày ghi nhận")], vec![]),
                resource("RelatedPerson", vec![patient()], vec![]),
                immunization,
                resource("ImmunizationRecommendation", vec![patient(), sp("date", "date", "Ngày lập dự báo")], vec![]),
                resource("Organization", vec![sp("identifier", "token", "Mã cơ sở KCB"), sp("name", "string", "Tên cơ sở")], vec![]),
                resource("Practitioner", vec![sp("identifier", "token", "Số chứng chỉ hành nghề")], vec![]),
                resource("CodeSystem", vec![sp("url", "uri", "URI của hệ mã")], vec![]),
                resource("NamingSystem", vec![sp("url", "uri", "URI của hệ định danh")], vec![]),
            ],
            "interaction": [{
                "code": "transaction",
                "documentation": "Bundle transaction chỉ gồm các Immunization (POST): ghi tất cả hoặc không ghi mũi nào",
            }],
            "operation": [
                { "name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything" },
                { "name": "summary", "definition": "http://hl7.org/fhir/uv/ips/OperationDefinition/summary" },
                { "name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export" },
            ],
        }],
    })
}

async fn smart_configuration(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let base = base_url(&app, &headers);
    let scopes: Vec<String> = ["system/*.read", "system/*.rs"]
        .into_iter()
        .map(String::from)
        .chain(BOOK_TYPES.iter().map(|t| format!("system/{t}.read")))
        .chain([book::access::IMMUNIZATION_WRITE.to_string()])
        .collect();
    let body = json!({
        "token_endpoint": format!("{base}/auth/token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": scopes,
        "capabilities": ["client-confidential-symmetric"],
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&body).unwrap_or_default(),
    )
        .into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        serde_json::to_vec(&json!({ "error": error, "error_description": description }))
            .unwrap_or_default(),
    )
        .into_response()
}

/// The OAuth 2.0 client-credentials grant for registered system clients.
async fn token(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<Vec<(String, String)>>,
) -> Response {
    if param(&form, "grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    // client_secret_basic, else client_secret_post.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(b.trim())
                .ok()
        })
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let (id, secret) = match basic {
        Some(x) => x,
        None => match (param(&form, "client_id"), param(&form, "client_secret")) {
            (Some(a), Some(b)) => (a.to_string(), b.to_string()),
            _ => {
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "client authentication required",
                );
            }
        },
    };
    // The client's credentials first: every failure to authenticate is the same answer.
    let store = app.store.clone();
    let client = match blocking(move || store.check_fhir_client(&id, &secret)).await {
        Ok(Some(c)) => c,
        Ok(None) => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown client or wrong secret",
            );
        }
        Err(e) => return e.into_response(),
    };
    let scopes = match client.scopes.narrowed_to(param(&form, "scope")) {
        Ok(s) => s,
        Err(bad) => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                &format!("scope not granted to this client: {bad}"),
            );
        }
    };
    let store = app.store.clone();
    let cid = client.client_id.clone();
    let granted = scopes.clone();
    match blocking(move || store.issue_fhir_token(&cid, &granted, TOKEN_TTL_MS)).await {
        Ok(t) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            serde_json::to_vec(&json!({
                "access_token": t,
                "token_type": "bearer",
                "expires_in": TOKEN_TTL_MS / 1000,
                "scope": scopes.to_scope_string(),
            }))
            .unwrap_or_default(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use book::episode::project;
    use synth::{Config, Generator};

    /// A book of one person with many generated episodes, newest first as read.
    fn book() -> (Book, Context) {
        let g = Generator::new(Config {
            persons: 3,
            episodes: 60,
            seed: 19,
            ..Config::default()
        });
        let mut ctx = Context {
            now: chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .unwrap_or_default(),
            ..Context::default()
        };
        let mut episodes = Vec::new();
        for (i, e) in g.episodes().enumerate() {
            let view = project(&e.dossier, e.facility.code);
            if i % 3 == 0 {
                ctx.facility_names
                    .insert(view.facility.clone(), format!("Cơ sở {i}"));
            }
            let id = i as i64 + 1;
            episodes.push(EpisodeRecord {
                id,
                person_id: 7,
                facility: view.facility.clone(),
                ma_lk: view.ma_lk.clone(),
                version: 1,
                is_current: true,
                submission_id: id,
                confidence: "exact".into(),
                received_at: 1_700_000_000_000 + id * 60_000,
                validated_at: 1_700_000_000_000 + id * 60_000,
                linked_at: 1_700_000_000_000 + id * 60_000,
                // One episode a day, from 2023-11-15 on.
                visible_at: 1_700_000_000_000 + id * 86_400_000,
                view,
            });
        }
        episodes.reverse();
        let person = PersonRecord {
            id: 7,
            name: Some("Nguyễn Thị Mẫu".into()),
            birth: Some("19800101".into()),
            sex: Some("2".into()),
            personal_id: None,
            merged_into: None,
            identifiers: Vec::new(),
        };
        let book = Book {
            person,
            episodes,
            record: None,
            summary_only: false,
            immunizations: Vec::new(),
            forecast: Vec::new(),
        };
        (book, ctx)
    }

    fn entries(body: &[u8]) -> Vec<Value> {
        let v: Value = serde_json::from_slice(body).expect("a Bundle");
        assert_eq!(
            v["total"].as_u64(),
            v["entry"].as_array().map(|e| e.len() as u64),
            "the count is the entries'"
        );
        v["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"].clone())
            .collect()
    }

    /// `$everything` made on several cores is the book's resources in the book's order
    /// (as made one after another), filtered by type and by `_since`.
    #[test]
    fn everything_on_many_cores_is_the_book_in_order() {
        let (book, ctx) = book();
        assert!(book.episodes.len() >= 20, "a book of many episodes");
        let all = book_resources(&book, &ctx);
        let types: Vec<&str> = ALL_TYPES.to_vec();
        let body = everything_bundle(&book, &ctx, &types, None, "http://x/fhir").unwrap();
        assert_eq!(entries(&body), all);

        let wanted = ["Encounter", "Organization"];
        let body = everything_bundle(&book, &ctx, &wanted, None, "http://x/fhir").unwrap();
        let kept: Vec<Value> = all
            .iter()
            .filter(|r| wanted.contains(&r["resourceType"].as_str().unwrap_or("")))
            .cloned()
            .collect();
        assert!(kept.len() > book.episodes.len());
        assert_eq!(entries(&body), kept);

        // Since the 41st day: the episodes made visible from then on, nothing before.
        let since = DateFilter::parse("ge2023-12-25").unwrap();
        let body = everything_bundle(&book, &ctx, &types, Some(&since), "http://x/fhir").unwrap();
        let later = Book {
            episodes: book
                .episodes
                .iter()
                .filter(|e| {
                    crate::vn_wall_clock(e.visible_at).date()
                        >= chrono::NaiveDate::from_ymd_opt(2023, 12, 25).unwrap()
                })
                .cloned()
                .collect(),
            person: book.person.clone(),
            record: None,
            summary_only: false,
            immunizations: Vec::new(),
            forecast: Vec::new(),
        };
        assert!(!later.episodes.is_empty() && later.episodes.len() < book.episodes.len());
        assert_eq!(entries(&body), book_resources(&later, &ctx));

        // Nothing wanted: an empty searchset.
        let body = everything_bundle(&book, &ctx, &[], None, "http://x/fhir").unwrap();
        assert!(entries(&body).is_empty());
    }
}

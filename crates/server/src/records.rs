//! The personal health record of QĐ 831 over JSON: read (the station of the person's
//! commune, the person or their guardian, a clinician under a grant), edit, add an
//! examination, accept or decline what hospital dossiers propose (the station); and the
//! station's own lists: its residents (filtered: incomplete, examination due), its
//! data-quality records to resolve, and the import of existing records from a file.
//!
//! Every rule is the service layer's (`service::Service::health_record`,
//! `edit_record`, `import_records`); this module only speaks HTTP. A refused edit
//! answers 422 naming each item (`problems`), a stale version or a closed record 409.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use book::access::{Action, Place, Role};
use book::ehr::{self, Item, Part};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use service::{RecordEdit, RecordView, ServiceError};
use store::{ResidentRow, StationIssue};

use crate::App;
use crate::citizen::Viewer;
use crate::http::{ApiError, internal, not_found, wire};
use crate::staff::StaffUser;

/// The largest import file (CSV or JSON lines).
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;
/// Residents on one page of the station's list, by default and at most.
pub const PER_PAGE: usize = 50;
pub const MAX_PER_PAGE: usize = 200;
/// Data-quality records listed at most.
pub const MAX_ISSUES: usize = 500;

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/api/v1/records/{pid}", get(read).put(edit))
        .route("/api/v1/records/{pid}/examinations", post(add_exam))
        .route("/api/v1/records/{pid}/proposals/{code}", post(decide))
        .route("/api/v1/station/residents", get(residents))
        .route("/api/v1/station/issues", get(issues))
        .route("/api/v1/station/issues/{id}/resolve", post(resolve))
        .route(
            "/api/v1/station/records/import",
            post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        )
}

// ---------------------------------------------------------------------------
// Who asks
// ---------------------------------------------------------------------------

/// The reader of a record: a member of staff (session cookie or bearer), else a signed-in
/// person (their own record or a ward's).
pub enum Reader {
    Staff(Box<StaffUser>),
    Person(Viewer),
}

impl Reader {
    pub(crate) fn actor(&self) -> service::Actor {
        match self {
            Reader::Staff(u) => u.actor(),
            Reader::Person(v) => v.actor(),
        }
    }
}

impl FromRequestParts<Arc<App>> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        match StaffUser::from_request_parts(parts, app).await {
            Ok(u) => return Ok(Reader::Staff(Box::new(u))),
            Err(e) if e.0 == StatusCode::UNAUTHORIZED => {}
            Err(e) => return Err(e),
        }
        Viewer::from_request_parts(parts, app)
            .await
            .map(Reader::Person)
    }
}

/// The commune whose station `u` works for: commune staff only, within their scope.
pub(crate) fn station_of(u: &StaffUser) -> Result<String, ApiError> {
    let refused = || {
        ApiError(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Chỉ cán bộ trạm y tế xã quản lý hồ sơ sức khỏe của người dân trong xã".into(),
        )
    };
    if u.account.role != Role::CommuneStaff {
        return Err(refused());
    }
    let commune = u.scope.commune.clone().ok_or_else(refused)?;
    let place = Place {
        commune: Some(commune.clone()),
        ..Place::default()
    };
    u.allow(&Action::KeepRecord { place: &place })?;
    Ok(commune)
}

// ---------------------------------------------------------------------------
// Errors and blocking calls
// ---------------------------------------------------------------------------

/// A service error as the API answers it: a refused edit as 422 naming every item.
pub(crate) fn failure(e: ServiceError) -> Response {
    match e {
        ServiceError::Problems(problems) => {
            let message = problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let problems: Vec<ProblemWire> = problems.iter().map(ProblemWire::of).collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(serde_json::json!({
                    "error": "invalid_record",
                    "message": message,
                    "problems": problems,
                })),
            )
                .into_response()
        }
        e => ApiError::from(e).into_response(),
    }
}

/// Run a use of the service layer on a blocking thread, keeping its error whole.
pub(crate) async fn run<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&service::Service) -> service::Result<T> + Send + 'static,
) -> Result<T, ServiceError> {
    let svc = app.service.clone();
    tokio::task::spawn_blocking(move || f(&svc))
        .await
        .map_err(|e| ServiceError::Store(store::StoreError::Db(e.to_string())))?
}

/// Run a store call on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> store::Result<T> + Send + 'static,
) -> Result<T, Response> {
    crate::http::blocking(f)
        .await
        .map_err(IntoResponse::into_response)
}

// ---------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------

/// What a part lacks to be complete: the required items without a value (named with
/// their group where a label alone is ambiguous: the two addresses) and the statements
/// part B needs ("none" included).
pub(crate) fn missing(record: &ehr::HealthRecord, part: Part) -> Vec<String> {
    let required: Vec<&Item> = ehr::ITEMS
        .iter()
        .filter(|i| i.part == part && i.required)
        .collect();
    let labels: Vec<&str> = required.iter().map(|i| i.label).collect();
    let mut out: Vec<String> = required
        .iter()
        .filter(|i| record.get(i.key).is_none())
        .map(|i| {
            if labels.iter().filter(|l| **l == i.label).count() > 1 {
                format!("{} ({})", i.label, i.group.to_lowercase())
            } else {
                i.label.to_string()
            }
        })
        .collect();
    out.extend(
        record
            .missing(part)
            .into_iter()
            .filter(|m| !labels.contains(m))
            .map(str::to_string),
    );
    out
}

/// A version's change value shown: the item's display when the key is an item's.
pub(crate) fn change_value(key: &str, value: &str) -> String {
    if value.is_empty() {
        return String::new();
    }
    match ehr::item(key).or_else(|| key.strip_prefix("exam.").and_then(ehr::exam_item)) {
        Some(i) => ehr::shown(i, value),
        None if key == "exam" => value.split_once(' ').map_or_else(
            || ehr::day_text(value),
            |(d, rest)| format!("{} {rest}", ehr::day_text(d)),
        ),
        None => value.to_string(),
    }
}

/// Where a version came from, for people.
pub(crate) fn source_label(source: &str) -> &'static str {
    match source {
        "registry" => "Sổ dân cư / BHYT",
        "staff" => "Trạm y tế",
        "import" => "Nhập từ tệp",
        "citizen" => "Người dân",
        _ => "Khác",
    }
}

// ---------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------

#[derive(Serialize)]
struct ProblemWire {
    key: String,
    code: &'static str,
    message: String,
}

impl ProblemWire {
    fn of(p: &ehr::Problem) -> ProblemWire {
        ProblemWire {
            key: p.key.clone(),
            code: p.code,
            message: p.message.clone(),
        }
    }
}

#[derive(Serialize)]
struct ItemWire {
    key: &'static str,
    label: &'static str,
    value: String,
    shown: String,
}

#[derive(Serialize)]
struct GroupWire {
    group: &'static str,
    items: Vec<ItemWire>,
}

#[derive(Serialize)]
struct PartWire {
    part: &'static str,
    label: &'static str,
    complete: bool,
    /// Labels of what is missing for the part to be complete.
    missing: Vec<String>,
    /// The groups of the form with the items that have a value.
    groups: Vec<GroupWire>,
}

#[derive(Serialize)]
struct ExamWire {
    number: u32,
    date: String,
    by: String,
    unit: Option<String>,
    items: Vec<ItemWire>,
}

#[derive(Serialize)]
struct ChangeWire {
    key: String,
    label: String,
    before: String,
    after: String,
}

#[derive(Serialize)]
struct VersionWire {
    version: i64,
    source: String,
    by_user: String,
    by_unit: Option<String>,
    at: i64,
    changes: Vec<ChangeWire>,
}

#[derive(Serialize)]
struct ProposalWire {
    code: String,
    name: String,
    group: String,
    first_seen: String,
    facility: String,
}

#[derive(Serialize)]
struct CardWire {
    card: String,
    bhxh_number: Option<String>,
    valid_from: String,
    valid_to: String,
    first_contact: Option<String>,
    area: Option<String>,
    five_years: Option<String>,
}

#[derive(Serialize)]
struct RecordWire {
    person_id: i64,
    person: wire::Person,
    version: i64,
    /// `open`, or `closed` when the person died (readable, no new data).
    status: String,
    commune: Option<String>,
    created_at: i64,
    updated_at: i64,
    parts: Vec<PartWire>,
    /// Newest first.
    examinations: Vec<ExamWire>,
    /// Newest first.
    versions: Vec<VersionWire>,
    proposals: Vec<ProposalWire>,
    /// ICD-10 codes of hospital dossiers the station declined to add to the history.
    declined: Vec<String>,
    card: Option<CardWire>,
}

fn part_code(p: Part) -> &'static str {
    match p {
        Part::A => "A",
        Part::B => "B",
        Part::C => "C",
        Part::D => "D",
    }
}

fn record_wire(v: RecordView) -> RecordWire {
    let r = &v.stored.record;
    let parts = [Part::A, Part::B, Part::C]
        .into_iter()
        .map(|p| PartWire {
            part: part_code(p),
            label: p.label(),
            complete: r.complete(p),
            missing: missing(r, p),
            groups: ehr::groups(p)
                .into_iter()
                .map(|(group, items)| GroupWire {
                    group,
                    items: items
                        .into_iter()
                        .filter_map(|i| {
                            r.get(i.key).map(|value| ItemWire {
                                key: i.key,
                                label: i.label,
                                value: value.to_string(),
                                shown: ehr::shown(i, value),
                            })
                        })
                        .collect(),
                })
                .filter(|g| !g.items.is_empty())
                .collect(),
        })
        .collect();
    let examinations = r
        .exams
        .iter()
        .rev()
        .map(|e| ExamWire {
            number: e.number,
            date: e.date.clone(),
            by: e.by.clone(),
            unit: e.unit.clone(),
            items: ehr::EXAM_ITEMS
                .iter()
                .filter_map(|i| {
                    e.get(i.key).map(|value| ItemWire {
                        key: i.key,
                        label: i.label,
                        value: value.to_string(),
                        shown: ehr::shown(i, value),
                    })
                })
                .collect(),
        })
        .collect();
    let versions = v
        .versions
        .iter()
        .map(|x| VersionWire {
            version: x.version,
            source: x.source.clone(),
            by_user: x.by_user.clone(),
            by_unit: x.by_unit.clone(),
            at: x.at,
            changes: x
                .changes
                .iter()
                .map(|c| ChangeWire {
                    key: c.key.clone(),
                    label: ehr::label_of(&c.key),
                    before: c.before.clone(),
                    after: c.after.clone(),
                })
                .collect(),
        })
        .collect();
    RecordWire {
        person_id: v.stored.person_id,
        version: v.stored.version,
        status: v.stored.status.clone(),
        commune: v.stored.commune.clone(),
        created_at: v.stored.created_at,
        updated_at: v.stored.updated_at,
        parts,
        examinations,
        versions,
        proposals: v
            .proposals
            .into_iter()
            .map(|p| ProposalWire {
                code: p.code,
                name: p.name,
                group: p.group,
                first_seen: p.first_seen,
                facility: p.facility,
            })
            .collect(),
        declined: r.declined.clone(),
        card: v.card.map(|c| CardWire {
            card: c.card,
            bhxh_number: c.bhxh_number,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            first_contact: c.first_contact,
            area: c.area,
            five_years: c.five_years,
        }),
        person: wire::Person::from(v.person),
    }
}

async fn read(State(app): State<Arc<App>>, who: Reader, Path(pid): Path<i64>) -> Response {
    let actor = who.actor();
    match run(&app, move |s| s.health_record(&actor, pid)).await {
        Ok(v) => Json(record_wire(v)).into_response(),
        Err(e) => failure(e),
    }
}

/// A JSON value as an item's text: strings as they are, numbers written out, `true` a
/// tick, `false` and `null` nothing.
fn text_of(v: &serde_json::Value) -> Result<String, ApiError> {
    Ok(match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(true) => "1".into(),
        serde_json::Value::Bool(false) | serde_json::Value::Null => String::new(),
        _ => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                "invalid_body",
                "Giá trị của mỗi mục là chữ, số hoặc true/false".into(),
            ));
        }
    })
}

fn items_of(
    items: &BTreeMap<String, serde_json::Value>,
) -> Result<BTreeMap<String, String>, ApiError> {
    items
        .iter()
        .map(|(k, v)| Ok((k.clone(), text_of(v)?)))
        .collect()
}

#[derive(Deserialize)]
struct EditBody {
    version: i64,
    #[serde(default)]
    items: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize)]
struct Saved {
    version: i64,
}

/// The answer of a write: the new version.
async fn write(app: &Arc<App>, who: Reader, pid: i64, version: i64, edit: Edit) -> Response {
    match save(app, who.actor(), pid, version, edit).await {
        Ok(version) => Json(Saved { version }).into_response(),
        Err(e) => failure(e),
    }
}

/// An edit, owned (it crosses to a blocking thread).
pub(crate) enum Edit {
    Items(BTreeMap<String, String>),
    Exam {
        date: String,
        items: BTreeMap<String, String>,
    },
    Proposal {
        code: String,
        accept: bool,
    },
}

/// Write `edit` to `pid`'s record as of `version` through the service (the pages' way).
pub(crate) async fn save(
    app: &Arc<App>,
    actor: service::Actor,
    pid: i64,
    version: i64,
    edit: Edit,
) -> Result<i64, ServiceError> {
    run(app, move |s| {
        let edit = match &edit {
            Edit::Items(items) => RecordEdit::Items(items),
            Edit::Exam { date, items } => RecordEdit::Exam { date, items },
            Edit::Proposal { code, accept } => RecordEdit::Proposal {
                code,
                accept: *accept,
            },
        };
        s.edit_record(&actor, pid, version, edit)
    })
    .await
}

async fn edit(
    State(app): State<Arc<App>>,
    who: Reader,
    Path(pid): Path<i64>,
    Json(b): Json<EditBody>,
) -> Response {
    let items = match items_of(&b.items) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    write(&app, who, pid, b.version, Edit::Items(items)).await
}

#[derive(Deserialize)]
struct ExamBody {
    version: i64,
    date: String,
    #[serde(default)]
    items: BTreeMap<String, serde_json::Value>,
}

async fn add_exam(
    State(app): State<Arc<App>>,
    who: Reader,
    Path(pid): Path<i64>,
    Json(b): Json<ExamBody>,
) -> Response {
    let items = match items_of(&b.items) {
        Ok(i) => i,
        Err(e) => return e.into_response(),
    };
    let edit = Edit::Exam {
        date: b.date,
        items,
    };
    write(&app, who, pid, b.version, edit).await
}

#[derive(Deserialize)]
struct ProposalBody {
    version: i64,
    accept: bool,
}

async fn decide(
    State(app): State<Arc<App>>,
    who: Reader,
    Path((pid, code)): Path<(i64, String)>,
    Json(b): Json<ProposalBody>,
) -> Response {
    if code.len() > 10 {
        return not_found().into_response();
    }
    let edit = Edit::Proposal {
        code,
        accept: b.accept,
    };
    write(&app, who, pid, b.version, edit).await
}

// ---------------------------------------------------------------------------
// The station's residents
// ---------------------------------------------------------------------------

/// Which residents a station's list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    All,
    /// Part A or B incomplete (open records).
    Incomplete,
    /// The elderly with no examination this year (open records).
    ExamDue,
}

impl Filter {
    pub fn parse(s: &str) -> Option<Filter> {
        match s {
            "" | "all" => Some(Filter::All),
            "incomplete" => Some(Filter::Incomplete),
            "exam_due" => Some(Filter::ExamDue),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Filter::All => "all",
            Filter::Incomplete => "incomplete",
            Filter::ExamDue => "exam_due",
        }
    }
}

/// Elderly (60 or more today) with an open record and no examination this year.
pub fn exam_due(r: &ResidentRow, today: NaiveDate) -> bool {
    let year = format!("{:04}", today.year());
    r.status == "open"
        && r.birth
            .as_deref()
            .is_some_and(|b| ehr::is_elderly(b, today))
        && !r.last_exam.as_deref().is_some_and(|d| d.starts_with(&year))
}

pub fn incomplete(r: &ResidentRow) -> bool {
    r.status == "open" && !(r.complete_a && r.complete_b)
}

/// A query that is an ID number: digits only (personal ID 12, old ID 9).
fn id_query(q: &str) -> Option<&str> {
    let q = q.trim();
    (q.len() >= 9 && q.bytes().all(|b| b.is_ascii_digit())).then_some(q)
}

/// The residents of `rows` the filter keeps and the query finds (name words, ranked
/// as typed first; or the exact ID), in the order to show.
pub fn select(
    rows: Vec<ResidentRow>,
    filter: Filter,
    q: &str,
    today: NaiveDate,
) -> Vec<ResidentRow> {
    let kept = rows.into_iter().filter(|r| match filter {
        Filter::All => true,
        Filter::Incomplete => incomplete(r),
        Filter::ExamDue => exam_due(r, today),
    });
    let q = book::text::tidy(q);
    if q.is_empty() {
        let mut out: Vec<(String, ResidentRow)> = kept
            .map(|r| (book::text::fold(r.name.as_deref().unwrap_or("")), r))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.person_id.cmp(&b.1.person_id)));
        return out.into_iter().map(|(_, r)| r).collect();
    }
    if let Some(id) = id_query(&q) {
        return kept
            .filter(|r| r.personal_id.as_deref() == Some(id))
            .collect();
    }
    let mut found: Vec<(u8, String, ResidentRow)> = kept
        .filter_map(|r| {
            let name = r.name.clone().unwrap_or_default();
            let rank = book::text::match_rank(&name, &q)?;
            Some((rank, book::text::fold(&name), r))
        })
        .collect();
    found.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.cmp(&b.1))
            .then(a.2.person_id.cmp(&b.2.person_id))
    });
    found.into_iter().map(|(_, _, r)| r).collect()
}

#[derive(Deserialize)]
struct ResidentsQuery {
    #[serde(default)]
    filter: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<usize>,
    #[serde(default)]
    per_page: Option<usize>,
}

#[derive(Serialize)]
struct ResidentWire {
    person_id: i64,
    name: Option<String>,
    personal_id: Option<String>,
    /// `yyyy-mm-dd` or `yyyy`.
    birth: Option<String>,
    sex: Option<String>,
    status: String,
    complete_a: bool,
    complete_b: bool,
    last_exam: Option<String>,
    elderly: bool,
    exam_due: bool,
    version: i64,
}

fn resident_wire(r: ResidentRow, today: NaiveDate) -> ResidentWire {
    ResidentWire {
        elderly: r
            .birth
            .as_deref()
            .is_some_and(|b| ehr::is_elderly(b, today)),
        exam_due: exam_due(&r, today),
        person_id: r.person_id,
        name: r.name,
        personal_id: r.personal_id,
        birth: r.birth,
        sex: r.sex,
        status: r.status,
        complete_a: r.complete_a,
        complete_b: r.complete_b,
        last_exam: r.last_exam,
        version: r.version,
    }
}

/// The residents of the station's commune (every one of them: the caller filters).
pub(crate) async fn commune_residents(
    app: &Arc<App>,
    commune: String,
) -> Result<Vec<ResidentRow>, Response> {
    let store = app.store.clone();
    blocking(move || store.residents(&commune)).await
}

async fn residents(
    State(app): State<Arc<App>>,
    u: StaffUser,
    Query(q): Query<ResidentsQuery>,
) -> Response {
    let commune = match station_of(&u) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(filter) = Filter::parse(&q.filter) else {
        return ApiError(
            StatusCode::BAD_REQUEST,
            "invalid_filter",
            "filter: all, incomplete hoặc exam_due".into(),
        )
        .into_response();
    };
    if q.q.chars().count() > 100 {
        return ApiError(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "Từ khóa tìm kiếm tối đa 100 ký tự".into(),
        )
        .into_response();
    }
    let rows = match commune_residents(&app, commune).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let today = store::vn_now().date();
    let found = select(rows, filter, &q.q, today);
    let per_page = q.per_page.unwrap_or(PER_PAGE).clamp(1, MAX_PER_PAGE);
    let page = q.page.unwrap_or(1).max(1);
    let total = found.len();
    let residents: Vec<ResidentWire> = found
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|r| resident_wire(r, today))
        .collect();
    Json(serde_json::json!({
        "filter": filter.code(),
        "total": total,
        "page": page,
        "per_page": per_page,
        "residents": residents,
    }))
    .into_response()
}

// ---------------------------------------------------------------------------
// Data-quality records of the station
// ---------------------------------------------------------------------------

#[derive(Deserialize)]
struct IssuesQuery {
    /// `open` (default) or `all`.
    #[serde(default)]
    status: String,
}

#[derive(Serialize)]
struct IssueWire {
    id: i64,
    person_id: Option<i64>,
    person_name: Option<String>,
    /// `registry_mismatch` | `citizen_report` | …
    kind: String,
    detail: serde_json::Value,
    created_at: i64,
    status: String,
    resolved_by: Option<String>,
    resolved_at: Option<i64>,
}

/// The station's data-quality records, newest first, with the persons' names.
pub(crate) async fn station_issues(
    app: &Arc<App>,
    commune: String,
    open_only: bool,
) -> Result<Vec<(StationIssue, Option<String>)>, Response> {
    let store = app.store.clone();
    blocking(move || {
        let list = store.station_issues(&commune, open_only, MAX_ISSUES)?;
        let mut ids: Vec<i64> = list.iter().filter_map(|i| i.person_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let persons = store.persons(&ids)?;
        Ok(list
            .into_iter()
            .map(|i| {
                let name = i
                    .person_id
                    .and_then(|p| persons.get(&p))
                    .and_then(|p| p.name.clone());
                (i, name)
            })
            .collect())
    })
    .await
}

async fn issues(
    State(app): State<Arc<App>>,
    u: StaffUser,
    Query(q): Query<IssuesQuery>,
) -> Response {
    let commune = match station_of(&u) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let open_only = match q.status.as_str() {
        "" | "open" => true,
        "all" => false,
        _ => {
            return ApiError(
                StatusCode::BAD_REQUEST,
                "invalid_status",
                "status: open hoặc all".into(),
            )
            .into_response();
        }
    };
    let list = match station_issues(&app, commune, open_only).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let out: Vec<IssueWire> = list
        .into_iter()
        .map(|(i, person_name)| IssueWire {
            id: i.id,
            person_id: i.person_id,
            person_name,
            kind: i.kind,
            detail: i.detail,
            created_at: i.created_at,
            status: i.status,
            resolved_by: i.resolved_by,
            resolved_at: i.resolved_at,
        })
        .collect();
    Json(serde_json::json!({ "issues": out })).into_response()
}

#[derive(Deserialize)]
pub(crate) struct ResolveBody {
    #[serde(default)]
    pub note: String,
}

/// Close an open data-quality record of the station with a note (1–1,000 characters).
pub(crate) async fn resolve_issue(
    app: &Arc<App>,
    u: &StaffUser,
    id: i64,
    note: &str,
) -> Result<(), ApiError> {
    let commune = station_of(u)?;
    let note = book::text::tidy(note);
    let n = note.chars().count();
    if n == 0 || n > 1000 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "invalid_note",
            "Ghi chú cách xử lý: từ 1 đến 1.000 ký tự".into(),
        ));
    }
    let _ = commune;
    let actor = u.actor();
    crate::http::serve(app, move |svc| svc.resolve_issue(&actor, id, &note)).await
}

async fn resolve(
    State(app): State<Arc<App>>,
    u: StaffUser,
    Path(id): Path<i64>,
    Json(b): Json<ResolveBody>,
) -> Response {
    match resolve_issue(&app, &u, id, &b.note).await {
        Ok(()) => Json(serde_json::json!({"resolved": true})).into_response(),
        Err(e) => e.into_response(),
    }
}

// ---------------------------------------------------------------------------
// Import of existing records
// ---------------------------------------------------------------------------

#[derive(Serialize)]
pub(crate) struct RefusalWire {
    pub line: u64,
    pub personal_id: String,
    pub problems: Vec<ProblemOut>,
}

#[derive(Serialize)]
pub(crate) struct ProblemOut {
    pub key: String,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
pub(crate) struct ImportWire {
    pub rows: usize,
    pub applied: usize,
    pub unchanged: usize,
    pub refused: Vec<RefusalWire>,
}

/// The format a content type names.
pub(crate) fn format_of(content_type: &str) -> Option<registry::records::Format> {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "text/csv" => Some(registry::records::Format::Csv),
        "application/x-ndjson" | "application/jsonl" | "application/x-jsonlines" => {
            Some(registry::records::Format::Jsonl)
        }
        _ => None,
    }
}

/// Read a file of records and import it into `u`'s commune: the report, or why the
/// file was refused as a whole (400).
pub(crate) async fn import_file(
    app: &Arc<App>,
    u: &StaffUser,
    bytes: Bytes,
    format: registry::records::Format,
) -> Result<ImportWire, Response> {
    station_of(u).map_err(IntoResponse::into_response)?;
    let rows = tokio::task::spawn_blocking(move || registry::records::parse(&bytes, format))
        .await
        .map_err(|e| internal(e).into_response())?
        .map_err(|e| {
            ApiError(StatusCode::BAD_REQUEST, "invalid_file", e.to_string()).into_response()
        })?;
    let actor = u.actor();
    let report = run(app, move |s| s.import_records(&actor, &rows))
        .await
        .map_err(failure)?;
    Ok(ImportWire {
        rows: report.rows,
        applied: report.applied,
        unchanged: report.unchanged,
        refused: report
            .refused
            .into_iter()
            .map(|r| RefusalWire {
                line: r.line,
                personal_id: r.personal_id,
                problems: r
                    .problems
                    .into_iter()
                    .map(|p| ProblemOut {
                        key: p.key,
                        code: p.code,
                        message: p.message,
                    })
                    .collect(),
            })
            .collect(),
    })
}

async fn import(
    State(app): State<Arc<App>>,
    u: StaffUser,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(format) = format_of(ct) else {
        return ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Gửi tệp CSV (text/csv) hoặc JSON lines (application/x-ndjson)".into(),
        )
        .into_response();
    };
    match import_file(&app, &u, body, format).await {
        Ok(report) => Json(report).into_response(),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        id: i64,
        name: &str,
        pid: &str,
        birth: &str,
        a: bool,
        b: bool,
        exam: Option<&str>,
    ) -> ResidentRow {
        ResidentRow {
            person_id: id,
            name: Some(name.into()),
            personal_id: Some(pid.into()),
            birth: Some(birth.into()),
            sex: Some("1".into()),
            status: "open".into(),
            complete_a: a,
            complete_b: b,
            last_exam: exam.map(Into::into),
            version: 1,
        }
    }

    #[test]
    fn the_station_list_filters_and_finds_by_words_or_id() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        let rows = vec![
            row(
                1,
                "Nguyễn Văn An",
                "001090000001",
                "1950-01-01",
                true,
                true,
                Some("2025-03-01"),
            ),
            row(
                2,
                "Trần Thị Bình",
                "001090000002",
                "1990-01-01",
                true,
                false,
                None,
            ),
            row(
                3,
                "Nguyen Van Anh",
                "001090000003",
                "1940-05-05",
                true,
                true,
                Some("2026-02-01"),
            ),
        ];
        let ids = |v: Vec<ResidentRow>| v.iter().map(|r| r.person_id).collect::<Vec<_>>();
        assert_eq!(
            ids(select(rows.clone(), Filter::Incomplete, "", today)),
            vec![2]
        );
        assert_eq!(
            ids(select(rows.clone(), Filter::ExamDue, "", today)),
            vec![1]
        );
        // Words, the accents as typed first; never inside a word.
        assert_eq!(
            ids(select(rows.clone(), Filter::All, "văn an", today)),
            vec![1, 3]
        );
        assert!(select(rows.clone(), Filter::All, "inh", today).is_empty());
        assert_eq!(
            ids(select(rows.clone(), Filter::All, "001090000003", today)),
            vec![3]
        );
        assert!(select(rows, Filter::All, "00109000000", today).is_empty());
    }

    #[test]
    fn values_are_shown_the_vietnamese_way() {
        let bd = ehr::item("a.birth_date").unwrap();
        assert_eq!(ehr::shown(bd, "1950-03-05"), "05/03/1950");
        let w = ehr::exam_item("weight").unwrap();
        assert_eq!(ehr::shown(w, "60.5"), "60,5");
        let abo = ehr::item("a.blood_rh").unwrap();
        assert_eq!(ehr::shown(abo, "+"), "Rh+ (dương)");
        assert_eq!(
            change_value("exam", "2026-06-01 (lần 2)"),
            "01/06/2026 (lần 2)"
        );
    }

    #[test]
    fn content_types_name_the_format() {
        assert!(matches!(
            format_of("text/csv; charset=utf-8"),
            Some(registry::records::Format::Csv)
        ));
        assert!(matches!(
            format_of("application/x-ndjson"),
            Some(registry::records::Format::Jsonl)
        ));
        assert!(format_of("application/json").is_none());
    }
}

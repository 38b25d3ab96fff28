//! Reminders in the pages (issue 18): the citizen's notification centre
//! (`/so/{pid}/thong-bao`: notices newest first, mark read), the choice of outside
//! channels and the opt-out (`/so/{pid}/thong-bao/cai-dat`), and the station's
//! worklist of the same events for its residents (`/tram/viec-can-lam`: re-exams,
//! vaccinations and follow-ups due or overdue, printable). Every rule is the service
//! layer's (`service::reminders`).

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use book::notify::{Event, Kind};
use serde::Deserialize;
use service::Actor;
use store::now_ms;

use super::{ErrorPage, Frame, redirect, render};
use crate::App;
use crate::http::{ApiError, token_from};
use crate::staff::{STAFF_COOKIE, StaffUser};

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/so/{pid}/thong-bao", get(centre))
        .route("/so/{pid}/thong-bao/da-doc", post(mark_read))
        .route(
            "/so/{pid}/thong-bao/cai-dat",
            get(prefs_page).post(prefs_submit),
        )
        .route("/tram/viec-can-lam", get(worklist))
}

/// The signed-in person, or the answer that sends them to sign in.
async fn person(app: &Arc<App>, headers: &HeaderMap) -> Result<i64, Response> {
    let Some(token) = crate::http::token_of(headers) else {
        return Err(redirect("/dang-nhap"));
    };
    let store = app.store.clone();
    match tokio::task::spawn_blocking(move || store.session_person(&token, now_ms())).await {
        Ok(Ok(Some(p))) => Ok(p),
        _ => Err(redirect("/dang-nhap")),
    }
}

/// Run a service call on a blocking thread.
async fn call<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&service::Service) -> service::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let app = app.clone();
    match tokio::task::spawn_blocking(move || f(&app.service)).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(_) => Err(crate::http::internal("reminders")),
    }
}

/// The unread count of `pid`'s notices for the signed-in `me` (0 when not allowed):
/// the count on the citizen's home page.
pub(crate) async fn unread_count(app: &Arc<App>, me: i64, pid: i64) -> i64 {
    call(app, move |s| s.unread(&Actor::Person { id: me }, pid))
        .await
        .unwrap_or(0)
}

/// Facility names for the texts.
async fn names(app: &Arc<App>, events: &[&Event]) -> crate::citizen::Names {
    let codes: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Appointment { facility, .. } => facility.clone(),
            Event::NewVisit { facility, .. } => Some(facility.clone()),
            _ => None,
        })
        .collect();
    crate::citizen::names_of(app, codes).await
}

fn named(names: &crate::citizen::Names) -> impl Fn(&str) -> String + '_ {
    move |c: &str| {
        names
            .get(c)
            .cloned()
            .unwrap_or_else(|| format!("cơ sở {c}"))
    }
}

fn instant(ms: i64) -> String {
    crate::vn_wall_clock(ms)
        .format("%H:%M %d/%m/%Y")
        .to_string()
}

// ---------------------------------------------------------------------------
// The notification centre
// ---------------------------------------------------------------------------

struct NoticeCard {
    id: i64,
    kind: &'static str,
    title: String,
    text: String,
    at: String,
    read: bool,
    warn: bool,
    href: Option<String>,
}

#[derive(Template)]
#[template(path = "citizen/notifications.html")]
struct CentrePage {
    frame: Frame,
    pid: i64,
    unread: usize,
    items: Vec<NoticeCard>,
}

async fn centre(State(app): State<Arc<App>>, headers: HeaderMap, Path(pid): Path<i64>) -> Response {
    let me = match person(&app, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let list = match call(&app, move |s| s.notices(&Actor::Person { id: me }, pid)).await {
        Ok(l) => l,
        Err(e) => return ErrorPage::citizen(&headers, e),
    };
    let events: Vec<&Event> = list.iter().map(|n| &n.event).collect();
    let names = names(&app, &events).await;
    let name = named(&names);
    let items: Vec<NoticeCard> = list
        .iter()
        .map(|n| NoticeCard {
            id: n.id,
            kind: n.kind.label(),
            title: n.title.clone(),
            text: n.event.text(&name),
            at: instant(n.created_at),
            read: n.read,
            warn: n.event.overdue() || n.kind == Kind::Result,
            href: n.event.episode_id().map(|e| format!("/so/{pid}/luot/{e}")),
        })
        .collect();
    render(&CentrePage {
        frame: Frame::citizen("Thông báo", &headers),
        pid,
        unread: items.iter().filter(|i| !i.read).count(),
        items,
    })
}

#[derive(Deserialize)]
struct ReadForm {
    id: Option<i64>,
}

async fn mark_read(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(f): Form<ReadForm>,
) -> Response {
    let me = match person(&app, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    match call(&app, move |s| {
        s.mark_read(&Actor::Person { id: me }, pid, f.id)
    })
    .await
    {
        Ok(_) => redirect(&format!("/so/{pid}/thong-bao")),
        Err(e) => ErrorPage::citizen(&headers, e),
    }
}

// ---------------------------------------------------------------------------
// Channels and opt-out
// ---------------------------------------------------------------------------

struct ChannelRow {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    input: &'static str,
    address: String,
    on: bool,
}

#[derive(Template)]
#[template(path = "citizen/notify_prefs.html")]
struct PrefsPage {
    frame: Frame,
    pid: i64,
    channels: Vec<ChannelRow>,
    saved: bool,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
struct PrefsQuery {
    #[serde(default)]
    luu: Option<String>,
}

async fn prefs_view(
    app: &Arc<App>,
    headers: &HeaderMap,
    me: i64,
    pid: i64,
    saved: bool,
    error: Option<String>,
) -> Response {
    let prefs = match call(app, move |s| s.notify_prefs(&Actor::Person { id: me }, pid)).await {
        Ok(p) => p,
        Err(e) => return ErrorPage::citizen(headers, e),
    };
    let channels = app
        .config
        .notify
        .channel_names()
        .into_iter()
        .map(|name| {
            let p = prefs.iter().find(|p| p.channel == name);
            let (hint, input) = match name {
                "email" => ("Địa chỉ e-mail, ví dụ ten@example.vn", "email"),
                "sms" => ("Số điện thoại di động, ví dụ 0912 345 678", "tel"),
                _ => ("Mã nhận thông báo của ứng dụng (ứng dụng tự điền)", "text"),
            };
            ChannelRow {
                name,
                label: ::notify::channel_label(name),
                hint,
                input,
                address: p.and_then(|p| p.address.clone()).unwrap_or_default(),
                on: p.is_some_and(|p| !p.opted_out && p.address.is_some()),
            }
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (
        status,
        render(&PrefsPage {
            frame: Frame::citizen("Nhận thông báo", headers),
            pid,
            channels,
            saved,
            error,
        }),
    )
        .into_response()
}

async fn prefs_page(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Query(q): Query<PrefsQuery>,
) -> Response {
    let me = match person(&app, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    prefs_view(&app, &headers, me, pid, q.luu.is_some(), None).await
}

#[derive(Deserialize)]
struct PrefsForm {
    channel: String,
    #[serde(default)]
    address: String,
    /// The checkbox: present when ticked.
    on: Option<String>,
}

async fn prefs_submit(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(pid): Path<i64>,
    Form(f): Form<PrefsForm>,
) -> Response {
    let me = match person(&app, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let names = app.config.notify.channel_names();
    let on = f.on.is_some();
    let done = call(&app, move |s| {
        s.set_notify_pref(
            &Actor::Person { id: me },
            pid,
            &f.channel,
            &f.address,
            on,
            &names,
        )
    })
    .await;
    match done {
        Ok(()) => redirect(&format!("/so/{pid}/thong-bao/cai-dat?luu=1")),
        Err(ApiError(StatusCode::BAD_REQUEST, _, message)) => {
            prefs_view(&app, &headers, me, pid, false, Some(message)).await
        }
        Err(e) => ErrorPage::citizen(&headers, e),
    }
}

// ---------------------------------------------------------------------------
// The station's worklist
// ---------------------------------------------------------------------------

struct WorkRow {
    pid: i64,
    name: String,
    birth: String,
    day: String,
    what: String,
    overdue: bool,
}

struct WorkGroup {
    id: &'static str,
    label: &'static str,
    rows: Vec<WorkRow>,
}

#[derive(Template)]
#[template(path = "station/worklist.html")]
struct WorklistPage {
    frame: Frame,
    commune: String,
    today: String,
    groups: Vec<WorkGroup>,
}

async fn worklist(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let to_login = || redirect("/nhan-vien/dang-nhap?next=%2Ftram%2Fviec-can-lam");
    let Some(token) = token_from(&headers, STAFF_COOKIE) else {
        return to_login();
    };
    let u = match StaffUser::from_token(&app, token).await {
        Ok(Some(u)) => u,
        Ok(None) => return to_login(),
        Err(e) => return super::staff::error_page(&headers, e),
    };
    let commune = match crate::records::station_of(&u) {
        Ok(c) => c,
        Err(e) => return super::staff::error_page(&headers, e),
    };
    let actor = Actor::Staff {
        account: u.account.clone(),
        scope: u.scope.clone(),
    };
    let today = crate::vn_now().date();
    let c = commune.clone();
    let items = match call(&app, move |s| s.worklist(&actor, &c, today)).await {
        Ok(i) => i,
        Err(e) => return super::staff::error_page(&headers, e),
    };
    let events: Vec<&Event> = items.iter().map(|i| &i.event).collect();
    let names = names(&app, &events).await;
    let name = named(&names);
    let mut groups: Vec<WorkGroup> = [
        ("tai-kham", Kind::Appointment),
        ("tiem-chung", Kind::Vaccination),
        ("theo-doi", Kind::FollowUp),
    ]
    .into_iter()
    .map(|(id, k)| WorkGroup {
        id,
        label: k.label(),
        rows: Vec::new(),
    })
    .collect();
    for i in &items {
        let g = match i.kind {
            Kind::Appointment => &mut groups[0],
            Kind::Vaccination => &mut groups[1],
            _ => &mut groups[2],
        };
        g.rows.push(WorkRow {
            pid: i.person_id,
            name: i
                .name
                .clone()
                .unwrap_or_else(|| format!("Người dân {}", i.person_id)),
            birth: i.birth.as_deref().map(birth_text).unwrap_or_default(),
            day: i
                .event
                .day()
                .map(|d| d.format("%d/%m/%Y").to_string())
                .unwrap_or_default(),
            what: i.event.text(&name),
            overdue: i.event.overdue(),
        });
    }
    render(&WorklistPage {
        frame: Frame::staff("Việc cần làm", &headers),
        commune,
        today: today.format("%d/%m/%Y").to_string(),
        groups,
    })
}

/// A birth as stored on the record (`yyyy-mm-dd` or `yyyy`) as people write it.
fn birth_text(b: &str) -> String {
    match chrono::NaiveDate::parse_from_str(b, "%Y-%m-%d") {
        Ok(d) => d.format("%d/%m/%Y").to_string(),
        Err(_) => b.to_string(),
    }
}

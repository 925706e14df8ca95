//! The web app: server-rendered pages (minijinja) with one small script, served by the daemon
//! itself — no build step, nothing to deploy beside it. Pages read through the store like the
//! API does; every change a page makes goes through the API (`static/clerk.js`), so the rules
//! (roles, CSRF, versions) are enforced in one place.

use super::auth::Caller;
use super::problem::Problem;
use super::Service;
use crate::states::{ExceptionKind, ItemState};
use crate::store::{ExceptionFilter, ExceptionItem};
use crate::users::Role;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use minijinja::{context, Environment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::LazyLock;

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("login.html", include_str!("templates/login.html")),
        ("queue.html", include_str!("templates/queue.html")),
        ("item.html", include_str!("templates/item.html")),
        ("runs.html", include_str!("templates/runs.html")),
        ("run.html", include_str!("templates/run.html")),
        ("dashboard.html", include_str!("templates/dashboard.html")),
        ("definitions.html", include_str!("templates/definitions.html")),
        ("audit.html", include_str!("templates/audit.html")),
        ("account.html", include_str!("templates/account.html")),
        ("error.html", include_str!("templates/error.html")),
    ] {
        env.add_template(name, source).expect("the bundled templates parse");
    }
    env
});

/// The pages' routes.
pub fn router() -> Router<Service> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/queue") }))
        .route("/static/clerk.css", get(|| async { static_file("text/css", include_str!("static/clerk.css")) }))
        .route("/static/clerk.js", get(|| async { static_file("text/javascript", include_str!("static/clerk.js")) }))
        .route("/login", get(login_page).post(login))
        .route("/queue", get(queue))
        .route("/items/{id}", get(item))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(run))
        .route("/dashboard", get(dashboard))
        .route("/definitions", get(definitions))
        .route("/audit", get(audit))
        .route("/account", get(account))
        .layer(axum::middleware::map_response(as_page))
}

/// A page's error as a page (a person reads it in a browser, not a problem document), with the
/// same status.
async fn as_page(r: Response) -> Response {
    let is_problem = r.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    if !is_problem {
        return r;
    }
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 64 << 10).await.unwrap_or_default();
    let said: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let detail = said["detail"].as_str().unwrap_or("the page could not be shown").to_string();
    let title = status.canonical_reason().unwrap_or("Error");
    let mut shown = page("error.html", context! { title, detail, user => (), csrf => "" });
    *shown.status_mut() = status;
    shown
}

fn static_file(media: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, media), (header::CACHE_CONTROL, "no-cache")], body).into_response()
}

/// A page, with the headers every page carries: no framing by other sites, no inline script, no
/// guessing its type, and no address of it sent to other sites.
fn page(name: &str, ctx: minijinja::Value) -> Response {
    match TEMPLATES.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => (
            [
                (header::X_FRAME_OPTIONS, "DENY"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "same-origin"),
                (header::CONTENT_SECURITY_POLICY, "default-src 'self'; img-src 'self' data:; style-src 'self'; style-src-attr 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            Html(html),
        )
            .into_response(),
        Err(e) => Problem::internal(format!("page {name}: {e:#}")).into_response(),
    }
}

#[derive(Serialize)]
struct Who {
    name: String,
    role: &'static str,
    /// 0 agent, 1 ops, 2 admin: what the page may offer.
    rank: u8,
}

fn who(c: &Caller) -> Who {
    Who { name: c.0.name.clone(), role: c.0.role.as_str(), rank: c.0.role as u8 }
}

/// The signed-in caller, or the way to the sign-in page (and back here after it). A page's early
/// answer is a whole response; boxing it would only move the allocation.
#[allow(clippy::result_large_err)]
fn signed_in(caller: Result<Caller, Problem>, uri: &Uri) -> Result<Caller, Response> {
    match caller {
        Ok(c) => Ok(c),
        Err(p) if p.status == StatusCode::UNAUTHORIZED => {
            let next = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/queue");
            Err(Redirect::to(&format!("/login?next={}", urlencode(next))).into_response())
        }
        Err(p) => Err(p.into_response()),
    }
}

/// `key=value&…` of the values given and not empty, then `last`: a link to another page of a
/// filtered list.
fn query_string(pairs: &[(&str, Option<&str>)], last: (&str, &str)) -> String {
    let given = pairs.iter().filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (*k, v)));
    given.chain([last]).map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&")
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Only a path on this site is a place to go back to after signing in.
fn local(next: Option<&str>) -> String {
    // Browsers drop tabs and line breaks inside an address (`/\t/evil.example/` becomes
    // `//evil.example/`, another site) and read `\` as `/`: a path holding any of them, or any
    // other control character or space, is not taken.
    let on_this_site = |n: &&str| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n.contains('\\')
            && !n.chars().any(|c| c.is_control() || c.is_whitespace())
    };
    next.filter(on_this_site).unwrap_or("/queue").to_string()
}

const LOGIN_COOKIE: &str = "clerk_login";

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// The sign-in form carries a token also set as a cookie (double submit), so another site cannot
/// sign a browser in as someone else.
async fn login_page(Query(q): Query<Next>) -> Response {
    login_form(&local(q.next.as_deref()), "", "", StatusCode::OK)
}

fn login_form(next: &str, name: &str, error: &str, status: StatusCode) -> Response {
    let token = crate::users::random_secret();
    let mut r = page(
        "login.html",
        context! { title => "Sign in", user => (), csrf => "", login_csrf => &token, next, name, error },
    );
    *r.status_mut() = status;
    let cookie = format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600");
    r.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("a cookie"));
    r
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

async fn login(
    State(s): State<Service>,
    client: super::client::Client,
    headers: axum::http::HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local(f.next.as_deref());
    let cookie = super::auth::cookie_value(&headers, LOGIN_COOKIE);
    if f.csrf.is_empty() || cookie != Some(f.csrf.as_str()) {
        let why = "the sign-in form had expired or did not come from this site; please sign in again";
        return login_form(&next, &f.name, why, StatusCode::FORBIDDEN);
    }
    match super::auth::sign_in(&s, &f.name, &f.password, client).await {
        Ok((_, _, cookie)) => {
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().append(header::SET_COOKIE, cookie.parse().expect("a cookie"));
            r
        }
        Err(refused) => {
            let status = refused.status();
            let body = axum::body::to_bytes(refused.into_body(), 64 << 10).await.unwrap_or_default();
            let detail = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["detail"].as_str().map(str::to_string))
                .unwrap_or_else(|| "cannot sign in".into());
            login_form(&next, &f.name, &detail, status)
        }
    }
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    kind: Option<String>,
    state: Option<String>,
    mine: Option<bool>,
    /// From 1.
    page: Option<i64>,
}

/// Items on one page of the queue.
const PAGE: i64 = 200;

/// "3 min", "5 h", "2 d" since an RFC 3339 time.
fn age(since: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(since) else { return String::new() };
    let minutes = (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_minutes().max(0);
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h", m / 60),
        m => format!("{} d", m / (24 * 60)),
    }
}

#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    item: ExceptionItem,
    age: String,
    /// The learner's type for an unrecognised or ambiguous item, as "supplier-letter 86%".
    suggestion: Option<String>,
}

fn open_filter(caller: &Caller, mine: bool) -> ExceptionFilter {
    ExceptionFilter {
        state: Some(ItemState::Open),
        for_user: mine.then(|| (caller.0.name.clone(), caller.0.groups.clone())),
        ..Default::default()
    }
}

async fn queue(
    caller: Result<Caller, Problem>,
    uri: Uri,
    State(s): State<Service>,
    Query(q): Query<QueueQuery>,
) -> Result<Response, Response> {
    let caller = signed_in(caller, &uri)?;
    let invalid = |e: String| Problem::invalid(e).into_response();
    let state_shown = crate::exceptions::state_choice(q.state.as_deref()).map_err(invalid)?;
    let state = state_shown.map_or("all", ItemState::as_str).to_string();
    let kind = q.kind.as_deref().filter(|k| !k.is_empty()).map(str::parse::<ExceptionKind>).transpose().map_err(invalid)?;
    let page_no = q.page.unwrap_or(1).clamp(1, i64::MAX / PAGE);
    let mut filter = ExceptionFilter {
        kind,
        state: state_shown,
        for_user: q.mine.unwrap_or(false).then(|| (caller.0.name.clone(), caller.0.groups.clone())),
        ..Default::default()
    };
    let fail = |e| Problem::from(e).into_response();
    let counts = s.store.exception_counts(&open_filter(&caller, false)).await.map_err(fail)?;
    // The usual view is every open item: its total is the counts' sum.
    let everything_open = filter.kind.is_none() && filter.state == Some(ItemState::Open) && filter.for_user.is_none();
    let total: i64 = match everything_open {
        true => counts.iter().map(|(_, n)| n).sum(),
        false => s.store.exception_counts(&filter).await.map_err(fail)?.iter().map(|(_, n)| n).sum(),
    };
    (filter.limit, filter.offset) = (Some(PAGE), Some((page_no - 1) * PAGE));
    let active = s.active();
    let mut items = s.queue(&active).list(&filter).await.map_err(fail)?;
    // Overdue first, then oldest first.
    items.sort_by_key(|(i, _)| (!i.overdue, i.id));
    let counts: Vec<_> = counts.into_iter().map(|(kind, n)| context! { kind, n }).collect();
    let first = (page_no - 1) * PAGE + 1;
    let mine = q.mine.unwrap_or(false).then_some("true");
    let link = |n: i64| {
        let query = [("kind", q.kind.as_deref()), ("state", Some(state.as_str())), ("mine", mine)];
        format!("/queue?{}", query_string(&query, ("page", &n.to_string())))
    };
    let shown = context! {
        first, last => first + items.len() as i64 - 1, total,
        previous => (page_no > 1).then(|| link(page_no - 1)),
        next => (page_no * PAGE < total).then(|| link(page_no + 1)),
    };
    let rows: Vec<Row> = items
        .into_iter()
        .map(|(item, suggestion)| Row {
            age: age(&item.created_at),
            suggestion: suggestion.map(|g| format!("{} {:.0}%", g.doctype, g.confidence * 100.0)),
            item,
        })
        .collect();
    let kinds: Vec<&str> = ExceptionKind::ALL.iter().map(|k| k.as_str()).collect();
    Ok(page(
        "queue.html",
        context! {
            title => "Queue", nav => "queue", user => who(&caller), csrf => caller.0.csrf.clone().unwrap_or_default(),
            items => rows, counts, kinds, shown,
            filter => context! { kind => q.kind.unwrap_or_default(), state, mine => q.mine.unwrap_or(false) },
        },
    ))
}

#[derive(Serialize)]
struct FieldView {
    name: String,
    value: String,
    problem: Option<String>,
    /// What was left beside the value in the text it was read from, for the agent to check.
    note: Option<String>,
}

#[derive(Serialize)]
struct TypeView {
    name: String,
    fields: Vec<FieldView>,
}

#[derive(Serialize)]
struct MarkView {
    field: String,
    left: String,
    top: String,
    width: String,
    height: String,
}

#[derive(Serialize)]
struct PageView {
    number: u32,
    image: Option<String>,
    why: Option<String>,
    marks: Vec<MarkView>,
    /// An XML e-invoice has no page: its data written out for people instead.
    rendering: Option<String>,
}

/// Pages drawn with their boxes; past this many, the rest are left out of the item page.
const MAX_PAGES_SHOWN: u32 = 6;

async fn item(
    caller: Result<Caller, Problem>,
    uri: Uri,
    State(s): State<Service>,
    Path(id): Path<i64>,
) -> Result<Response, Response> {
    let caller = signed_in(caller, &uri)?;
    let fail = |e: crate::store::Error| Problem::from(e).into_response();
    let active = s.active();
    let view = s.queue(&active).view(id, caller.viewer()).await.map_err(|e| Problem::from(e).into_response())?;
    let crate::exceptions::ItemView { item, suggestion, document: doc, run } = view;
    // Next and previous in the open queue as the agent sees it.
    let around = s.store.exception_neighbours(&open_filter(&caller, false), id).await.map_err(fail)?;
    let (next, prev) = (around.next, around.previous);

    let mut pages = Vec::new();
    let mut types = Vec::new();
    let mut doctype = String::new();
    if let Some(doc) = &doc {
        let hint = s.store.doctype_hint(doc.id).await.map_err(fail)?;
        let boxes = s.store.document_boxes(doc.id).await.map_err(fail)?.unwrap_or_default();
        doctype = doc.doctype.clone().or(hint).unwrap_or_default();
        let (mut fields, mut problems, mut notes) = (doc.fields.clone(), doc.problems.clone(), doc.notes.clone());
        // A suggested type comes with the fields it finds, for the agent to check: preselected
        // in the form, saved only when the agent resolves.
        let suggested =
            suggestion.as_ref().filter(|_| doc.doctype.is_none()).and_then(|s| active.classifier.get(&s.doctype));
        if let Some(t) = suggested {
            let text = doc.text.as_deref().unwrap_or_default();
            let found = crate::classify::extract_fields(
                t,
                crate::classify::Doc { boxes: Some(&boxes), ..crate::classify::Doc::plain(text) },
                &Default::default(),
            );
            (fields, problems, notes, doctype) = (found.fields, found.problems, found.notes, t.name.clone());
        }
        if active.classifier.get(&doctype).is_none() {
            doctype = active.classifier.types().first().map(|t| t.name.clone()).unwrap_or_default();
        }
        let marks = super::highlight::marks(&fields, &boxes);
        let media_type = doc.media_type.as_deref().unwrap_or_default();
        let text_only = crate::read::shown_as_text(media_type);
        let as_text = |why: Option<String>| PageView {
            number: 1,
            image: None,
            why,
            marks: vec![],
            rendering: doc.text.as_deref().map(|t| t.replace('\u{c}', "\n\n")),
        };
        let mut drawn = if text_only { 0 } else { (doc.pages.unwrap_or(0).max(1) as u32).min(MAX_PAGES_SHOWN) };
        // An Office file's pages are LibreOffice's, as many as it lays out; without them, its text.
        let laid_out = crate::read::libreoffice::lays_out(media_type);
        if laid_out {
            match super::preview::page_image(&s, doc, 1).await {
                Ok(first) => drawn = first.pages.clamp(1, MAX_PAGES_SHOWN),
                Err(p) => pages.push(as_text(Some(p.detail))),
            }
        } else if text_only {
            pages.push(as_text(None));
        }
        for n in 1..=drawn {
            let unread = doc.page_details.iter().find(|p| p.number == n as i64 && !laid_out).and_then(|p| p.unread.clone());
            if let Some(why) = unread {
                pages.push(PageView { number: n, image: None, why: Some(why), marks: vec![], rendering: None });
                continue;
            }
            match super::preview::page_image(&s, doc, n).await {
                Ok(img) => {
                    let pct = |v: f64, of: f64| format!("{:.3}", (v / of * 100.0).clamp(0.0, 100.0));
                    let marks = marks
                        .iter()
                        .filter(|m| m.page == n)
                        .map(|m| MarkView {
                            field: m.field.clone(),
                            left: pct(m.x0, img.width_pt),
                            top: pct(m.y0, img.height_pt),
                            width: pct(m.x1 - m.x0, img.width_pt),
                            height: pct(m.y1 - m.y0, img.height_pt),
                        })
                        .collect();
                    pages.push(PageView {
                        number: n,
                        image: Some(format!("/api/v1/documents/{}/pages/{n}/image", doc.id)),
                        why: None,
                        marks,
                        rendering: None,
                    });
                }
                Err(p) => {
                    pages.push(PageView { number: n, image: None, why: Some(p.detail), marks: vec![], rendering: None })
                }
            }
        }
        for t in active.classifier.types() {
            let same = t.name == doctype;
            let fields = t
                .field_names()
                .into_iter()
                .map(|name| FieldView {
                    value: fields.get(&name).filter(|_| same).map(crate::classify::field_text).unwrap_or_default(),
                    problem: problems.get(&name).filter(|_| same).cloned(),
                    note: notes.get(&name).filter(|_| same).cloned(),
                    name,
                })
                .collect();
            types.push(TypeView { name: t.name.clone(), fields });
        }
    }
    let audit = doc.as_ref().map(|d| d.audit.clone()).unwrap_or_default();
    // The e-invoice's own data beside the page: fields, lines and tax breakdown as the XML has them.
    let einvoice = match &doc {
        Some(d) => s.store.document_einvoice(d.id).await.map_err(fail)?.map(|e| {
            context! { source => e.source, relationship => e.relationship, fields => crate::invoice::fields::flatten(&e.invoice) }
        }),
        None => None,
    };
    // The lines the invoice reader read from the page's table, for the agent to see beside it.
    let read_lines = doc
        .as_ref()
        .filter(|_| einvoice.is_none())
        .and_then(|d| d.fields.get(crate::classify::generic::LINES).cloned())
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()));
    let lines_problem = doc.as_ref().and_then(|d| d.problems.get(crate::classify::generic::LINES).cloned());
    Ok(page(
        "item.html",
        context! {
            title => format!("#{id} {}", item.kind), nav => "queue", user => who(&caller),
            csrf => caller.0.csrf.clone().unwrap_or_default(),
            splittable => doc.as_ref().is_some_and(crate::batches::splittable),
            item, doc, run, pages, types, doctype, next, prev, audit, suggestion, einvoice, read_lines, lines_problem,
        },
    ))
}

async fn runs(caller: Result<Caller, Problem>, uri: Uri, State(s): State<Service>) -> Result<Response, Response> {
    let caller = signed_in(caller, &uri)?;
    caller.require(Role::Ops).map_err(IntoResponse::into_response)?;
    let runs = s.store.runs(None, None, 200).await.map_err(|e| Problem::from(e).into_response())?;
    Ok(page(
        "runs.html",
        context! { title => "Runs", nav => "runs", user => who(&caller), csrf => caller.0.csrf.clone().unwrap_or_default(), runs },
    ))
}

/// A request's or response's first lines, for the journal table (secrets were masked when the
/// journal was written).
fn excerpt(v: &Option<serde_json::Value>) -> String {
    let Some(v) = v else { return String::new() };
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let mut cut: String = text.chars().take(600).collect();
    if cut.len() < text.len() {
        cut.push_str(" …");
    }
    cut
}

async fn run(
    caller: Result<Caller, Problem>,
    uri: Uri,
    State(s): State<Service>,
    Path(id): Path<i64>,
) -> Result<Response, Response> {
    let caller = signed_in(caller, &uri)?;
    caller.require(Role::Ops).map_err(IntoResponse::into_response)?;
    let (run, steps) = s
        .store
        .run(id)
        .await
        .map_err(|e| Problem::from(e).into_response())?
        .ok_or_else(|| Problem::not_found(format!("run {id} does not exist")).into_response())?;
    let steps: Vec<_> = steps
        .iter()
        .map(|st| {
            let mut v = serde_json::to_value(st).unwrap_or_default();
            v["request_excerpt"] = excerpt(&st.request).into();
            v["response_excerpt"] = excerpt(&st.response).into();
            v
        })
        .collect();
    Ok(page(
        "run.html",
        context! {
            title => format!("Run #{id}"), nav => "runs", user => who(&caller),
            csrf => caller.0.csrf.clone().unwrap_or_default(), admin => caller.0.role >= Role::Admin, run, steps,
        },
    ))
}

#[derive(Serialize)]
struct Hour {
    hour: String,
    total: i64,
    /// Status → count.
    by_status: BTreeMap<String, i64>,
    /// Bar width in percent of the busiest hour.
    width: i64,
}

/// The last 24 hours: documents per hour by outcome, the exception rate, queue age, overdue items.
async fn dashboard(caller: Result<Caller, Problem>, uri: Uri, State(s): State<Service>) -> Result<Response, Response> {
    let caller = signed_in(caller, &uri)?;
    let fail = |e: crate::store::Error| Problem::from(e).into_response();
    let since = (chrono::Utc::now() - chrono::Duration::hours(24)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut hours: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for (hour, status, n) in s.store.documents_by_hour(&since).await.map_err(fail)? {
        hours.entry(hour).or_default().insert(status, n);
    }
    let busiest = hours.values().map(|m| m.values().sum::<i64>()).max().unwrap_or(1).max(1);
    let hours: Vec<Hour> = hours
        .into_iter()
        .map(|(hour, by_status)| {
            let total = by_status.values().sum();
            Hour { hour: hour.replace('T', " ") + ":00", total, width: total * 100 / busiest, by_status }
        })
        .collect();
    let (excepted, received) = s.store.exception_rate_since(&since).await.map_err(fail)?;
    let rate = if received > 0 { format!("{:.1}%", excepted as f64 * 100.0 / received as f64) } else { "—".into() };
    let gauges = s.store.gauges().await.map_err(fail)?;
    let overdue = s.queue(&s.active()).overdue_by_kind().await.map_err(fail)?;
    let queue: Vec<_> = gauges
        .exceptions_open
        .iter()
        .map(|(kind, n, oldest)| {
            context! { kind, n, oldest => age_of_seconds(*oldest), overdue => overdue.get(kind).copied().unwrap_or(0) }
        })
        .collect();
    // What is kept how long, and what the last pass removed.
    let span = |s: u64| match s {
        s if s >= 86_400 => format!("{} days", s / 86_400),
        s if s >= 3_600 => format!("{} hours", s / 3_600),
        s => format!("{s} seconds"),
    };
    let keep = |d: Option<std::time::Duration>| d.map_or("kept for good".to_string(), |d| format!("{} once finished", span(d.as_secs())));
    let r = &s.retention;
    let retention = context! {
        originals => keep(r.originals), documents => keep(r.documents), audit => keep(r.audit).replace(" once finished", ""),
        record => s.store.retention().await.map_err(fail)?,
    };
    Ok(page(
        "dashboard.html",
        context! {
            title => "Dashboard", nav => "dashboard", user => who(&caller), csrf => caller.0.csrf.clone().unwrap_or_default(),
            hours, rate, excepted, received, queue, overdue_total => overdue.values().sum::<i64>(), retention,
            runs => gauges.runs_by_state, mail => gauges.mail_accounts,
            down => gauges.targets_down.iter().map(|o| context! {
                target => o.target.clone(), reason => o.error.clone(), waiting => o.waiting_runs,
                since => age_of_seconds((crate::store::now_ms() - o.down_since_ms) as f64 / 1000.0),
            }).collect::<Vec<_>>(),
        },
    ))
}

fn age_of_seconds(seconds: f64) -> String {
    let since = chrono::Utc::now() - chrono::Duration::milliseconds((seconds * 1000.0) as i64);
    age(&since.to_rfc3339())
}

/// What is loaded and what is wrong in the definitions folder (ops).
async fn definitions(
    caller: Result<Caller, Problem>,
    uri: Uri,
    State(s): State<Service>,
) -> Result<Response, Response> {
    let caller = signed_in(caller, &uri)?;
    caller.require(Role::Ops).map_err(IntoResponse::into_response)?;
    let report = super::api::definitions::report(&s).await.map_err(IntoResponse::into_response)?;
    Ok(page(
        "definitions.html",
        context! {
            title => "Definitions", nav => "definitions", user => who(&caller), csrf => caller.0.csrf.clone().unwrap_or_default(),
            loaded => report.loaded, problems => report.problems,
        },
    ))
}

/// The audit trail (admins): who did what and when, newest first, 100 at a time.
async fn audit(
    caller: Result<Caller, Problem>,
    uri: Uri,
    State(s): State<Service>,
    Query(q): Query<crate::audit::AuditQuery>,
) -> Result<Response, Response> {
    let caller = signed_in(caller, &uri)?;
    caller.require(Role::Admin).map_err(IntoResponse::into_response)?;
    let q = crate::audit::AuditQuery { limit: Some(100), ..q };
    let (entries, error) = match crate::audit::trail(&s.store, &q).await {
        Ok(entries) => (entries, None),
        Err(crate::audit::AuditError::Invalid(why)) => (vec![], Some(why)),
        Err(e) => return Err(Problem::from(e).into_response()),
    };
    // The next page: the same filter, before the last entry shown.
    let older = (entries.len() == 100).then(|| {
        let before = entries.last().map_or(0, |e| e.id).to_string();
        let query = [("actor", q.actor.as_deref()), ("action", q.action.as_deref()), ("since", q.since.as_deref())];
        format!("/audit?{}", query_string(&query, ("before", &before)))
    });
    let actions = [
        "signed in",
        "sign-in refused",
        "signed out",
        "user added",
        "user changed",
        "token created",
        "token revoked",
        "password changed",
        "password reset",
        "sessions ended",
        "claimed",
        "released",
        "assigned",
        "resolved",
        "rejected",
    ];
    Ok(page(
        "audit.html",
        context! {
            title => "Audit", nav => "audit", user => who(&caller), csrf => caller.0.csrf.clone().unwrap_or_default(),
            entries, error, older, actions,
            filter => context! {
                actor => q.actor.unwrap_or_default(), action => q.action.unwrap_or_default(), since => q.since.unwrap_or_default(),
            },
        },
    ))
}

/// The signed-in user's own page: who they are, and their password to change.
async fn account(caller: Result<Caller, Problem>, uri: Uri) -> Result<Response, Response> {
    let caller = signed_in(caller, &uri)?;
    Ok(page(
        "account.html",
        context! {
            title => "Your account", nav => "account", user => who(&caller), csrf => caller.0.csrf.clone().unwrap_or_default(),
            groups => caller.0.groups.clone(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::local;

    #[test]
    fn after_sign_in_only_a_path_on_this_site_is_followed() {
        assert_eq!(local(Some("/items/7?x=1")), "/items/7?x=1");
        for other in ["//evil.example/", "/\t/evil.example/", "/\n/evil.example/", "/\r\nSet-Cookie: x=1", "/\\evil.example", "https://evil.example/", "/ /evil"] {
            assert_eq!(local(Some(other)), "/queue", "{other:?}");
        }
        assert_eq!(local(None), "/queue");
    }
}

//! The exception queue: list, show, claim, release, assign, resolve, decide, reject. Every
//! change may name the version the agent saw (`If-Match` or `version`); a change against an
//! older version is refused with 409 and nothing is applied.

use super::{if_match, Page};
use crate::states::ExceptionKind;
use crate::store::{Decision, ExceptionFilter, ExceptionItem};
use crate::users::Role;
use crate::web::auth::Caller;
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize, utoipa::IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    pub kind: Option<ExceptionKind>,
    /// open (the default), claimed, resolved or rejected; `all` for every state.
    pub state: Option<String>,
    /// Items assigned to this user, or to `@group`.
    pub assignee: Option<String>,
    /// `me`: only items for the caller (assigned to them, to one of their groups, or to nobody).
    pub mine: Option<bool>,
    /// Only items older than this many minutes.
    pub older_than_minutes: Option<u32>,
}

/// The queue's items, oldest first, each unrecognised or ambiguous one with the learner's
/// suggestion. Needs the agent role.
#[utoipa::path(get, path = "/exceptions", tag = "queue", params(QueueQuery, Page),
    responses((status = 200, body = [Item]), (status = 401, body = ProblemBody)))]
pub async fn list(
    caller: Caller,
    State(s): State<Service>,
    Query(q): Query<QueueQuery>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<Item>>> {
    caller.require(Role::Agent)?;
    let state = crate::exceptions::state_choice(q.state.as_deref()).map_err(Problem::invalid)?;
    let created_before = q.older_than_minutes.map(|m| {
        (chrono::Utc::now() - chrono::Duration::minutes(m as i64)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    });
    let filter = ExceptionFilter {
        kind: q.kind,
        state,
        assignee: q.assignee,
        for_user: q.mine.unwrap_or(false).then(|| (caller.0.name.clone(), caller.0.groups.clone())),
        created_before,
        limit: Some(page.limit()),
        offset: Some(page.offset()),
        ..Default::default()
    };
    let active = s.active();
    let items = s.queue(&active).list(&filter).await?;
    Ok(Json(items.into_iter().map(|(item, suggestion)| Item { item, suggestion }).collect()))
}

/// An item as an agent opens it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Item {
    #[serde(flatten)]
    pub item: ExceptionItem,
    /// For unrecognised and ambiguous items: the type agents gave the documents most like this
    /// one, how sure the learner is (0–1), and those documents. Never applied on its own.
    pub suggestion: Option<crate::learn::Suggestion>,
}

/// The item with its version as ETag (send it back as If-Match), and the learner's suggestion
/// for its type. Needs the agent role (an agent sees what waits and what they closed).
#[utoipa::path(get, path = "/exceptions/{id}", tag = "queue", params(("id" = i64, Path)),
    responses((status = 200, body = Item), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn show(caller: Caller, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Response> {
    caller.require(Role::Agent)?;
    let active = s.active();
    let crate::exceptions::ItemView { item, suggestion, .. } = s.queue(&active).view(id, caller.viewer()).await?;
    let etag = format!("\"{}\"", item.version);
    Ok(([(header::ETAG, etag)], Json(Item { item, suggestion })).into_response())
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct Versioned {
    /// The version the agent saw (or send If-Match).
    pub version: Option<i64>,
}

/// The item after a change, with its new version as ETag.
async fn changed(s: &Service, caller: &Caller, id: i64) -> ApiResult<Response> {
    let item = s.queue(&s.active()).item(id, caller.viewer()).await?;
    Ok(([(header::ETAG, format!("\"{}\"", item.version))], Json(item)).into_response())
}

fn version(headers: &HeaderMap, body: Option<i64>) -> Option<i64> {
    if_match(headers).or(body)
}

/// Claims the item for the caller for 30 minutes (claiming again renews it). Needs the agent role.
#[utoipa::path(post, path = "/exceptions/{id}/claim", tag = "queue", params(("id" = i64, Path)), request_body(content = Versioned, content_type = "application/json"),
    responses((status = 200, body = ExceptionItem), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn claim(
    caller: Caller,
    State(s): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Option<Json<Versioned>>,
) -> ApiResult<Response> {
    caller.require(Role::Agent)?;
    let v = version(&headers, body.and_then(|b| b.0.version));
    crate::exceptions::claim(&s.store, id, caller.guard(v)).await?;
    changed(&s, &caller, id).await
}

/// Gives the item back to the queue. Needs the agent role.
#[utoipa::path(post, path = "/exceptions/{id}/release", tag = "queue", params(("id" = i64, Path)), request_body(content = Versioned, content_type = "application/json"),
    responses((status = 200, body = ExceptionItem), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn release(
    caller: Caller,
    State(s): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Option<Json<Versioned>>,
) -> ApiResult<Response> {
    caller.require(Role::Agent)?;
    let v = version(&headers, body.and_then(|b| b.0.version));
    crate::exceptions::release(&s.store, id, caller.guard(v)).await?;
    changed(&s, &caller, id).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Assign {
    /// A user name, `@group`, or null for nobody.
    pub to: Option<String>,
    pub version: Option<i64>,
}

/// Assigns the item to a person or a group. Needs the agent role.
#[utoipa::path(post, path = "/exceptions/{id}/assign", tag = "queue", params(("id" = i64, Path)), request_body = Assign,
    responses((status = 200, body = ExceptionItem), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn assign(
    caller: Caller,
    State(s): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<Assign>,
) -> ApiResult<Response> {
    caller.require(Role::Agent)?;
    let v = version(&headers, body.version);
    crate::exceptions::assign(&s.store, id, caller.guard(v), body.to.as_deref().filter(|t| !t.is_empty())).await?;
    changed(&s, &caller, id).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Resolve {
    /// The document type the document is.
    pub doctype: String,
    /// Field values that replace what was found (validated by the type's rules).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    pub version: Option<i64>,
}

/// Resolves a document's item as a type with corrected fields: the answer is validated by the
/// type's rules (422 when it does not), then the document is routed to its bots. Needs the agent role.
#[utoipa::path(post, path = "/exceptions/{id}/resolve", tag = "queue", params(("id" = i64, Path)), request_body = Resolve,
    responses((status = 200, body = ExceptionItem), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn resolve(
    caller: Caller,
    State(s): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<Resolve>,
) -> ApiResult<Response> {
    caller.require(Role::Agent)?;
    let v = version(&headers, body.version);
    let active = s.active();
    let bots = active.definitions.bots();
    crate::exceptions::resolve(&s.store, &active.classifier, id, caller.guard(v), &body.doctype, &body.fields, &bots)
        .await?;
    changed(&s, &caller, id).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Answer {
    pub doctype: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Checked {
    /// Whether resolving with this answer would be accepted.
    pub valid: bool,
    /// The fields as the type would keep them.
    #[schema(value_type = Object)]
    pub fields: crate::classify::Fields,
    /// Each field's problem, in plain words.
    pub problems: BTreeMap<String, String>,
    /// Why the answer as a whole is refused.
    pub reason: Option<String>,
}

/// Validates an answer by the type's rules without resolving (the item page checks fields as
/// they are typed). Needs the agent role.
#[utoipa::path(post, path = "/exceptions/{id}/check", tag = "queue", params(("id" = i64, Path)), request_body = Answer,
    responses((status = 200, body = Checked), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn check(
    caller: Caller,
    State(s): State<Service>,
    Path(id): Path<i64>,
    Json(body): Json<Answer>,
) -> ApiResult<Json<Checked>> {
    caller.require(Role::Agent)?;
    let active = s.active();
    let outcome = crate::exceptions::check(&s.store, &active.classifier, id, &body.doctype, &body.fields).await?;
    Ok(Json(Checked {
        valid: outcome.exception.is_none(),
        reason: outcome.exception.map(|(_, r)| r),
        fields: outcome.fields,
        problems: outcome.problems,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunDecision {
    Retry,
    Continue,
    End,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Decide {
    /// retry: the failed step again (an escalated run: the whole run); continue: after the step; end: stop the run.
    pub decision: RunDecision,
    pub version: Option<i64>,
}

/// Decides a stopped run's item. A business exception (the bot escalated) is the agent's to
/// decide; a system exception (a step failed) retries or ends a run and needs the admin role.
/// Needs the agent role.
#[utoipa::path(post, path = "/exceptions/{id}/decide", tag = "queue", params(("id" = i64, Path)), request_body = Decide,
    responses((status = 200, body = ExceptionItem), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn decide(
    caller: Caller,
    State(s): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<Decide>,
) -> ApiResult<Response> {
    caller.require(Role::Agent)?;
    let decision = match body.decision {
        RunDecision::Retry => Decision::Retry,
        RunDecision::Continue => Decision::Continue,
        RunDecision::End => Decision::End,
    };
    let v = version(&headers, body.version);
    crate::exceptions::decide(&s.store, id, caller.guard(v), caller.0.role, decision).await?;
    changed(&s, &caller, id).await
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct Reject {
    /// Why, in words the next person understands.
    pub reason: String,
    pub version: Option<i64>,
}

/// Rejects the item with a reason: the document goes no further (a run's item ends the run).
/// Needs the agent role.
#[utoipa::path(post, path = "/exceptions/{id}/reject", tag = "queue", params(("id" = i64, Path)), request_body = Reject,
    responses((status = 200, body = ExceptionItem), (status = 401, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn reject(
    caller: Caller,
    State(s): State<Service>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<Reject>,
) -> ApiResult<Response> {
    caller.require(Role::Agent)?;
    let v = version(&headers, body.version);
    crate::exceptions::reject(&s.store, id, caller.guard(v), &body.reason).await?;
    changed(&s, &caller, id).await
}


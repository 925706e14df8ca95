//! Bot runs: the journal step by step (secrets were masked when it was written); admins retry
//! and end stopped runs.

use super::Page;
use crate::store::{Decision, RunSummary, StepRecord};
use crate::users::Role;
use crate::web::auth::Caller;
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    pub bot: Option<String>,
    pub state: Option<crate::states::RunState>,
}

/// Runs, newest first. Needs the ops role.
#[utoipa::path(get, path = "/runs", tag = "runs", params(RunQuery, Page),
    responses((status = 200, body = [RunSummary]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn list(
    caller: Caller,
    State(s): State<Service>,
    Query(q): Query<RunQuery>,
    Query(page): Query<Page>,
) -> ApiResult<Json<Vec<RunSummary>>> {
    caller.require(Role::Ops)?;
    let mut runs = s.store.runs(q.bot.as_deref(), q.state, page.limit() + page.offset()).await?;
    runs.drain(..(page.offset() as usize).min(runs.len()));
    Ok(Json(runs))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RunDetail {
    pub run: RunSummary,
    /// Every attempt of every step, in order, with timings and request/response excerpts.
    pub steps: Vec<StepRecord>,
}

/// A run with its journal. Needs the ops role.
#[utoipa::path(get, path = "/runs/{id}", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, body = RunDetail), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn show(caller: Caller, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Json<RunDetail>> {
    caller.require(Role::Ops)?;
    let (run, steps) = s.store.run(id).await?.ok_or_else(|| Problem::not_found(format!("run {id} does not exist")))?;
    Ok(Json(RunDetail { run, steps }))
}

async fn decide(s: &Service, caller: &Caller, id: i64, decision: Decision) -> ApiResult<Json<RunDetail>> {
    crate::runs::decide(&s.store, id, &caller.0.name, caller.0.role, decision).await?;
    let (run, steps) = s.store.run(id).await?.ok_or_else(|| Problem::not_found(format!("run {id} does not exist")))?;
    Ok(Json(RunDetail { run, steps }))
}

/// Runs a failed run's failed step again (an escalated run: the whole run, its journal kept).
/// Needs the admin role.
#[utoipa::path(post, path = "/runs/{id}/retry", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, body = RunDetail), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn retry(caller: Caller, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Json<RunDetail>> {
    decide(&s, &caller, id, Decision::Retry).await
}

/// Ends a failed or escalated run for good. Needs the admin role.
#[utoipa::path(post, path = "/runs/{id}/end", tag = "runs", params(("id" = i64, Path)),
    responses((status = 200, body = RunDetail), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn end(caller: Caller, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Json<RunDetail>> {
    decide(&s, &caller, id, Decision::End).await
}

//! Trying a file against the loaded definitions without keeping anything: what type it would be,
//! with which fields and problems, and what a bot would send for it. The file is read by a
//! reader, like every document.

use crate::runs::DryDocument;
use crate::pipeline::Report;
use super::upload::Upload;
use crate::web::auth::Ops;
use crate::web::problem::{ApiResult, ProblemBody};
use crate::web::Service;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct FileName {
    /// The file's name (its extension helps tell plain text from other files).
    pub name: Option<String>,
    /// For a bot's dry run with an empty body: a stored document to render the steps against.
    pub document: Option<i64>,
}

/// Classifies an uploaded file (the request body, as is) with the definitions in force, and
/// keeps nothing. Needs the ops role.
#[utoipa::path(post, path = "/classify", tag = "definitions", params(FileName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Report), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 413, body = ProblemBody)))]
pub async fn classify(
    _: Ops,
    State(s): State<Service>,
    Query(q): Query<FileName>,
    upload: Upload,
) -> ApiResult<Json<Report>> {
    let name = q.name.unwrap_or_else(|| "upload".into());
    let active = s.active();
    let classified = crate::pipeline::classify_file(&upload.path, &name, &s.readers, &active.classifier).await;
    Ok(Json(classified.report(&name, &active.classifier)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BotDryRun {
    pub bot: String,
    pub version: String,
    /// The document the steps were rendered against: the uploaded file's type and fields.
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    /// Every step as it would be sent (requests, conditions shown, not evaluated), secrets masked.
    #[schema(value_type = Vec<Object>)]
    pub steps: serde_json::Value,
    /// Secrets the bot uses that are set nowhere.
    pub missing_secrets: Vec<String>,
    /// Whether a step could not be rendered (its `error` says why).
    pub failed: bool,
}

/// A bot's dry run on an uploaded file (the request body, read and classified, kept nowhere) or,
/// with an empty body, on the stored `document` or on none: every step rendered, secrets masked,
/// nothing sent. Needs the ops role.
#[utoipa::path(post, path = "/bots/{name}/dry-run", tag = "definitions", params(("name" = String, Path), FileName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = BotDryRun), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 413, body = ProblemBody)))]
pub async fn bot(
    _: Ops,
    State(s): State<Service>,
    Path(bot): Path<String>,
    Query(q): Query<FileName>,
    upload: Upload,
) -> ApiResult<Json<BotDryRun>> {
    let active = s.active();
    let bot = crate::runs::bot(&active, &bot)?;
    let name = q.name.unwrap_or_else(|| "upload".into());
    let on = match (upload.size, q.document) {
        (0, Some(id)) => DryDocument::Stored(&s.store, id),
        (0, None) => DryDocument::None,
        _ => DryDocument::File(&upload.path, &name),
    };
    let (document, run) = crate::runs::dry(&active, &s.readers, s.secrets_file.as_deref(), &bot, on).await?;
    Ok(Json(BotDryRun {
        bot: bot.name.clone(),
        version: bot.version.clone(),
        document: serde_json::from_str(&run.redactor.redact(&document.to_string())).unwrap_or_default(),
        steps: run.steps_json(),
        failed: run.failed(),
        missing_secrets: run.missing_secrets,
    }))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
pub struct RunNow {
    /// The stored document to run on; none for a bot that needs none.
    pub document: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Started {
    /// The queued run: follow it at /runs/{id}.
    pub run: i64,
}

/// Starts a bot now (a manual run), on a stored document or on none; a daemon's runner executes
/// it like any run (its journal at /runs/{id}). Needs the admin role: the run acts on the legacy
/// systems.
#[utoipa::path(post, path = "/bots/{name}/runs", tag = "runs", params(("name" = String, Path)), request_body = RunNow,
    responses((status = 202, body = Started), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn run_now(
    caller: crate::web::auth::Caller,
    State(s): State<Service>,
    Path(bot): Path<String>,
    body: Option<Json<RunNow>>,
) -> ApiResult<(axum::http::StatusCode, Json<Started>)> {
    caller.require(crate::users::Role::Admin)?;
    let active = s.active();
    let bot = crate::runs::bot(&active, &bot)?;
    let run = crate::runs::start(&s.store, &active, &bot, body.unwrap_or_default().0.document, &caller.0.name).await?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(Started { run })))
}

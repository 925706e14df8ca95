//! Trying a file against the loaded definitions without keeping anything: what type it would be,
//! with which fields and problems, and what a bot would send for it. The file is read by a
//! reader, like every document.

use crate::bots::dry_run;
use crate::pipeline::Report;
use super::upload::Upload;
use crate::web::auth::Ops;
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct FileName {
    /// The file's name (its extension helps tell plain text from other files).
    pub name: Option<String>,
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
/// with an empty body, on no document: every step rendered, secrets masked, nothing sent.
/// Needs the ops role.
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
    let bots = active.definitions.bots();
    let bot = bots.iter().find(|b| b.name == bot).ok_or_else(|| Problem::not_found(format!("no bot named `{bot}` is loaded")))?;
    let document = if upload.size == 0 {
        dry_run::no_doc()
    } else {
        let name = q.name.unwrap_or_else(|| "upload".into());
        let outcome = crate::pipeline::classify_file(&upload.path, &name, &s.readers, &active.classifier).await.outcome;
        dry_run::file_doc(&outcome, &name)
    };
    let run = dry_run::dry_run(bot, document.clone(), s.secrets_file.as_deref()).map_err(Problem::internal)?;
    Ok(Json(BotDryRun {
        bot: bot.name.clone(),
        version: bot.version.clone(),
        document: serde_json::from_str(&run.redactor.redact(&document.to_string())).unwrap_or_default(),
        steps: run.steps_json(),
        failed: run.failed(),
        missing_secrets: run.missing_secrets,
    }))
}

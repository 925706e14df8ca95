//! What the daemon has loaded, and what is wrong in the definitions folder now; mail health.

use crate::store::mail::AccountStatus;
use crate::users::Role;
use crate::web::auth::Caller;
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::State;
use axum::Json;
use serde::Serialize;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Loaded {
    /// `doctype`, `invoice2data` template or `bot`.
    pub kind: String,
    pub name: String,
    /// The hash of its file: what runs and documents record.
    pub version: String,
    pub file: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DefinitionProblem {
    /// `file:line:col: message`, as `clerk check` prints it.
    pub at: String,
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub warning: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DefinitionsReport {
    /// In force now (a broken file's previous good version stays in force).
    pub loaded: Vec<Loaded>,
    /// Every problem in the folder as it is on disk now.
    pub problems: Vec<DefinitionProblem>,
}

/// Loaded document types and bots with their versions, and every problem in the definitions
/// folder as file:line:col. Needs the ops role.
#[utoipa::path(get, path = "/definitions", tag = "definitions",
    responses((status = 200, body = DefinitionsReport), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn list(caller: Caller, State(s): State<Service>) -> ApiResult<Json<DefinitionsReport>> {
    caller.require(Role::Ops)?;
    Ok(Json(report(&s).await?))
}

/// What is loaded, and the folder's problems as `clerk check` finds them now.
pub async fn report(s: &Service) -> ApiResult<DefinitionsReport> {
    let active = s.active();
    let mut loaded: Vec<Loaded> = active
        .classifier
        .types()
        .iter()
        .map(|t| Loaded {
            kind: match t.rules {
                crate::classify::doctype::Rules::Invoice2data(_) => "invoice2data",
                crate::classify::doctype::Rules::Native(_) => "doctype",
                crate::classify::doctype::Rules::EInvoice(_) => "e-invoice",
            }
            .into(),
            name: t.name.clone(),
            version: t.version.clone(),
            file: t.file.display().to_string(),
        })
        .collect();
    loaded.extend(active.definitions.bots().iter().map(|b| Loaded {
        kind: "bot".into(),
        name: b.name.clone(),
        version: b.version.clone(),
        file: b.file.display().to_string(),
    }));
    let dir = s.definitions.clone();
    let checked = tokio::task::spawn_blocking(move || crate::definitions::load_dir(&dir, None))
        .await
        .map_err(Problem::internal)?;
    let problems = checked
        .problems
        .iter()
        .map(|p| DefinitionProblem {
            at: p.to_string(),
            file: p.file.display().to_string(),
            line: p.pos.line,
            col: p.pos.col,
            message: p.message.clone(),
            warning: p.warning,
        })
        .collect();
    Ok(DefinitionsReport { loaded, problems })
}

/// Each mailbox's health and counts. Needs the ops role.
#[utoipa::path(get, path = "/mail", tag = "definitions",
    responses((status = 200, body = [AccountStatus]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn mail(caller: Caller, State(s): State<Service>) -> ApiResult<Json<Vec<AccountStatus>>> {
    caller.require(Role::Ops)?;
    Ok(Json(s.store.mail_status().await?))
}

//! Trying a file against the loaded definitions without keeping anything: what type it would be,
//! with which fields and problems. The file is read by a reader, like every document.

use crate::users::Role;
use crate::web::auth::Caller;
use crate::web::problem::{ApiResult, ProblemBody};
use crate::web::Service;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Deserialize, utoipa::IntoParams, Debug)]
#[into_params(parameter_in = Query)]
pub struct FileName {
    /// The file's name (its extension helps tell plain text from other files).
    pub name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Classified {
    /// The type it would be, if one matched.
    pub doctype: Option<String>,
    #[schema(value_type = Object)]
    pub fields: crate::classify::Fields,
    pub problems: BTreeMap<String, String>,
    /// The exception it would become (unreadable, unrecognised, ambiguous, incomplete) and why.
    pub exception: Option<String>,
    pub reason: Option<String>,
    pub pages: usize,
    pub ocr: bool,
}

/// Classifies an uploaded file (the request body, as is) with the definitions in force, and
/// keeps nothing. Needs the ops role.
#[utoipa::path(post, path = "/classify", tag = "definitions", params(FileName),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = Classified), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 413, body = ProblemBody)))]
pub async fn classify(
    caller: Caller,
    State(s): State<Service>,
    Query(q): Query<FileName>,
    body: Bytes,
) -> ApiResult<Json<Classified>> {
    caller.require(Role::Ops)?;
    let name = q.name.unwrap_or_else(|| "upload".into());
    let active = s.active();
    let (outcome, pages, ocr) = crate::pipeline::classify_bytes(&body, &name, &s.readers, &active.classifier).await;
    Ok(Json(Classified {
        doctype: outcome.doctype,
        fields: outcome.fields,
        problems: outcome.problems,
        exception: outcome.exception.as_ref().map(|(k, _)| k.as_str().to_string()),
        reason: outcome.exception.map(|(_, r)| r),
        pages,
        ocr,
    }))
}

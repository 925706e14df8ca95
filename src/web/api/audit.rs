//! The audit trail for admins.

use crate::audit::{AuditError, AuditQuery};
use crate::store::AuditEntry;
use crate::web::auth::Admin;
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::{Query, State};
use axum::Json;

/// Who did what and when, newest first: changes to items and documents, sign-ins and refused
/// sign-ins (with the client's address), users added and changed, tokens created. Page with
/// `before` = the last entry's id. Needs the admin role.
#[utoipa::path(get, path = "/audit", tag = "users", params(AuditQuery),
    responses((status = 200, body = [AuditEntry]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn list(_: Admin, State(s): State<Service>, Query(q): Query<AuditQuery>) -> ApiResult<Json<Vec<AuditEntry>>> {
    Ok(Json(crate::audit::trail(&s.store, &q).await?))
}

impl From<AuditError> for Problem {
    fn from(e: AuditError) -> Problem {
        match e {
            AuditError::Invalid(why) => Problem::invalid(why),
            AuditError::Db(e) => Problem::from(e),
        }
    }
}

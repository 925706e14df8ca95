//! What agents taught clerk of each vendor's invoices.

use crate::classify::generic::vendor::Vendor;
use crate::store::VendorSummary;
use crate::web::auth::{Admin, Ops};
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;

/// Vendors whose invoices agents corrected or confirmed, with the keys (VAT identifier, IBAN)
/// they are known by and the fields whose place was learned. Needs the ops role.
#[utoipa::path(get, path = "/vendors", tag = "vendors",
    responses((status = 200, body = [VendorSummary]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn list(_: Ops, State(s): State<Service>) -> ApiResult<Json<Vec<VendorSummary>>> {
    Ok(Json(s.store.vendors().await?))
}

/// One vendor: per field, where its value stands (label and place, or a point on the page), the
/// value it was learned from, the document and who showed it. Needs the ops role.
#[utoipa::path(get, path = "/vendors/{id}", tag = "vendors", params(("id" = i64, Path)),
    responses((status = 200, body = Vendor), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn show(_: Ops, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<Json<Vendor>> {
    s.store.vendor(id).await?.map(Json).ok_or_else(|| Problem::not_found(format!("there is no vendor {id}")))
}

/// Forgets all that was learned of a vendor: its next invoices are read by the generic reader
/// alone. Needs the admin role.
#[utoipa::path(delete, path = "/vendors/{id}", tag = "vendors", params(("id" = i64, Path)),
    responses((status = 204), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn forget(admin: Admin, State(s): State<Service>, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    if !s.store.forget_vendor(id, &admin.0 .0.name).await? {
        return Err(Problem::not_found(format!("there is no vendor {id}")));
    }
    Ok(StatusCode::NO_CONTENT)
}

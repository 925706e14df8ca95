//! Managing users (admins).

use crate::store::UserSummary;
use crate::users::Role;
use crate::web::auth::Admin;
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

/// Users with their roles and groups (never their passwords). Needs the admin role.
#[utoipa::path(get, path = "/users", tag = "users",
    responses((status = 200, body = [UserSummary]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn list(_: Admin, State(s): State<Service>) -> ApiResult<Json<Vec<UserSummary>>> {
    Ok(Json(s.store.users().await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub name: String,
    /// agent, ops or admin.
    pub role: String,
    /// At least 12 characters; without one, clerk makes one and returns it once.
    pub password: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Added {
    pub name: String,
    /// The generated password, shown this once.
    pub password: Option<String>,
}

/// Adds a user. Needs the admin role.
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = Added), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn add(_: Admin, State(s): State<Service>, Json(body): Json<NewUser>) -> ApiResult<(StatusCode, Json<Added>)> {
    let role = Role::parse(&body.role).map_err(Problem::invalid)?;
    let password = crate::users::add(&s.store, &body.name, role, body.password.as_deref(), &body.groups)
        .await
        .map_err(|e| Problem::invalid(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(Added { name: body.name, password })))
}

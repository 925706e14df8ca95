//! Managing users (admins).

use crate::store::UserSummary;
use crate::users::Role;
use crate::web::auth::Admin;
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::{Path, State};
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
pub async fn add(admin: Admin, State(s): State<Service>, Json(body): Json<NewUser>) -> ApiResult<(StatusCode, Json<Added>)> {
    let role = Role::parse(&body.role).map_err(Problem::invalid)?;
    let password = crate::users::add(&s.store, &body.name, role, body.password.as_deref(), &body.groups, &admin.0 .0.name)
        .await
        .map_err(|e| Problem::invalid(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(Added { name: body.name, password })))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct UserChange {
    /// agent, ops or admin.
    pub role: Option<String>,
    /// The user's groups, replacing the ones they had.
    pub groups: Option<Vec<String>>,
    /// True: the user can no longer sign in, their sessions end and their tokens are refused.
    pub disabled: Option<bool>,
}

/// Changes a user's role, groups, or whether they may sign in. The last enabled admin cannot be
/// disabled or demoted (409). Needs the admin role.
#[utoipa::path(patch, path = "/users/{name}", tag = "users", params(("name" = String, Path)), request_body = UserChange,
    responses((status = 200, body = UserSummary), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody),
        (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn change(
    admin: Admin,
    State(s): State<Service>,
    Path(name): Path<String>,
    Json(body): Json<UserChange>,
) -> ApiResult<Json<UserSummary>> {
    use crate::users::ChangeError;
    let role = body.role.as_deref().map(Role::parse).transpose().map_err(Problem::invalid)?;
    crate::users::change(&s.store, &name, role, body.groups.as_deref(), body.disabled, &admin.0 .0.name).await.map_err(
        |e| match e {
            ChangeError::NoSuchUser(_) => Problem::not_found(e.to_string()),
            ChangeError::Invalid(_) => Problem::invalid(e.to_string()),
            ChangeError::LastAdmin => Problem::conflict(e.to_string()),
            ChangeError::Db(e) => Problem::from(e),
        },
    )?;
    let users = s.store.users().await?;
    let user = users.into_iter().find(|u| u.name == name).ok_or_else(|| Problem::not_found(format!("there is no user named `{name}`")))?;
    Ok(Json(user))
}

//! Passwords, API tokens and sessions: a user changes their own password; admins reset one,
//! make, list and revoke tokens, and see and end sessions.

use crate::store::{SessionSummary, Sessions, TokenSummary};
use crate::users::PasswordError;
use crate::web::auth::{Admin, Caller, COOKIE};
use crate::web::problem::{ApiResult, Problem, ProblemBody};
use crate::web::Service;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

impl From<PasswordError> for Problem {
    fn from(e: PasswordError) -> Problem {
        match e {
            PasswordError::NoSuchUser(_) => Problem::not_found(e.to_string()),
            PasswordError::WrongPassword => Problem::new(StatusCode::FORBIDDEN, e.to_string()),
            PasswordError::Invalid(_) => Problem::invalid(e.to_string()),
            PasswordError::Db(e) => Problem::from(e),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current: String,
    /// At least 12 characters.
    pub new: String,
}

/// Changes the caller's own password (the current one must be right: 403 otherwise). Their
/// other sessions end; this one goes on, and their tokens stay. Needs the agent role.
#[utoipa::path(post, path = "/me/password", tag = "session", request_body = PasswordChange,
    responses((status = 204), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn change_own(
    caller: Caller,
    State(s): State<Service>,
    headers: HeaderMap,
    Json(body): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    // A token stands for a script: changing a password needs the person (a session) or the
    // current password, which is asked either way.
    let cookie = crate::web::auth::cookie_value(&headers, COOKIE).filter(|_| caller.0.csrf.is_some());
    crate::users::change_password(&s.store, &caller.0.name, &body.current, &body.new, cookie).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordReset {
    /// At least 12 characters; without one, clerk makes one and returns it once.
    pub password: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PasswordSet {
    /// The generated password, shown this once.
    pub password: Option<String>,
}

/// Sets a user's password (a reset); all their sessions end. Needs the admin role.
#[utoipa::path(put, path = "/users/{name}/password", tag = "users", params(("name" = String, Path)), request_body = PasswordReset,
    responses((status = 200, body = PasswordSet), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody),
        (status = 404, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn reset(
    admin: Admin,
    State(s): State<Service>,
    Path(name): Path<String>,
    Json(body): Json<PasswordReset>,
) -> ApiResult<Json<PasswordSet>> {
    let password = crate::users::reset_password(&s.store, &name, body.password.as_deref(), &admin.0 .0.name).await?;
    Ok(Json(PasswordSet { password }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OfUser {
    /// Only this user's.
    pub user: Option<String>,
}

/// API tokens (never the tokens): id, user, label, when made, when they run out, last use.
/// Needs the admin role.
#[utoipa::path(get, path = "/tokens", tag = "users", params(OfUser),
    responses((status = 200, body = [TokenSummary]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn tokens(_: Admin, State(s): State<Service>, Query(q): Query<OfUser>) -> ApiResult<Json<Vec<TokenSummary>>> {
    Ok(Json(s.store.tokens(q.user.as_deref()).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewToken {
    pub user: String,
    #[serde(default)]
    pub label: String,
    /// 90d, 12w, 24h, a day (2027-06-30), or never (default 90d).
    pub expires: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The token, shown this once: send it as `Authorization: Bearer TOKEN`.
    pub token: String,
    pub summary: TokenSummary,
}

/// Creates an API token for a user. Needs the admin role.
#[utoipa::path(post, path = "/tokens", tag = "users", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 422, body = ProblemBody)))]
pub async fn create_token(
    admin: Admin,
    State(s): State<Service>,
    Json(body): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<CreatedToken>)> {
    let expires = body.expires.as_deref().unwrap_or("90d");
    let expires = crate::users::token_expiry(expires).map_err(Problem::invalid)?;
    let token = crate::users::create_token(&s.store, &body.user, &body.label, expires, &admin.0 .0.name)
        .await
        .map_err(|e| Problem::invalid(e.to_string()))?;
    let id = crate::users::token_id(&token);
    let summary = s.store.tokens(Some(&body.user)).await?.into_iter().find(|t| t.id == id).ok_or_else(|| Problem::internal("a token just made is not listed"))?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, summary })))
}

/// Revokes a token at once. Needs the admin role.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn revoke_token(admin: Admin, State(s): State<Service>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    match s.store.revoke_token(&id, &admin.0 .0.name).await? {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(Problem::not_found(format!("no token has the id `{id}`"))),
    }
}

/// Browser sessions that are signed in. Needs the admin role.
#[utoipa::path(get, path = "/sessions", tag = "users", params(OfUser),
    responses((status = 200, body = [SessionSummary]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn sessions(_: Admin, State(s): State<Service>, Query(q): Query<OfUser>) -> ApiResult<Json<Vec<SessionSummary>>> {
    Ok(Json(s.store.sessions(q.user.as_deref()).await?))
}

/// Ends a session: its user must sign in again. Needs the admin role.
#[utoipa::path(delete, path = "/sessions/{id}", tag = "users", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn end_session(admin: Admin, State(s): State<Service>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    match s.store.end_sessions(Sessions::One(&id), &admin.0 .0.name).await? {
        0 => Err(Problem::not_found(format!("no session has the id `{id}`"))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

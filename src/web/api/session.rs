//! Signing in and out of a browser session, and who the caller is.

use crate::web::auth::{Caller, COOKIE};
use crate::web::client::Client;
use crate::web::problem::{ApiResult, ProblemBody};
use crate::web::Service;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    pub name: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub name: String,
    /// agent, ops or admin.
    pub role: String,
    pub groups: Vec<String>,
    /// For a browser session: send it as X-CSRF-Token with every request that changes something.
    pub csrf_token: Option<String>,
}

/// Signs in with a user name and password: sets an HttpOnly, SameSite=Strict session cookie
/// (12 hours) and returns the session's CSRF token. Five failures in 15 minutes from one address,
/// or for one name from one address, lock it out for the rest of that time (429). Needs no role.
#[utoipa::path(post, path = "/session", tag = "session", request_body = SignIn, security(()),
    responses((status = 200, body = Me), (status = 401, body = ProblemBody), (status = 429, body = ProblemBody)))]
pub async fn sign_in(
    State(s): State<Service>,
    client: Client,
    Json(body): Json<SignIn>,
) -> ApiResult<Response> {
    let (role, session, cookie) = match crate::web::auth::sign_in(&s, &body.name, &body.password, client).await {
        Ok(signed) => signed,
        Err(refused) => return Ok(refused.into_response()),
    };
    let me = Me { name: body.name, role: role.as_str().into(), groups: vec![], csrf_token: Some(session.csrf) };
    Ok(([(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

/// Signs out: the session ends on the server and the cookie is cleared. Needs the agent role.
#[utoipa::path(delete, path = "/session", tag = "session",
    responses((status = 204), (status = 401, body = ProblemBody)))]
pub async fn sign_out(caller: Caller, State(s): State<Service>, headers: HeaderMap) -> ApiResult<Response> {
    let _ = caller;
    if let Some(cookie) = crate::web::auth::cookie_value(&headers, COOKIE) {
        crate::users::end_session(&s.store, cookie).await?;
    }
    let clear = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Who the caller is. Needs the agent role.
#[utoipa::path(get, path = "/me", tag = "session", responses((status = 200, body = Me), (status = 401, body = ProblemBody)))]
pub async fn me(caller: Caller) -> Json<Me> {
    let u = caller.0;
    Json(Me { name: u.name, role: u.role.as_str().into(), groups: u.groups, csrf_token: u.csrf })
}

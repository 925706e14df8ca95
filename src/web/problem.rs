//! Errors as the API answers them: a status and a sentence a person understands, as
//! `application/problem+json` (RFC 9457). 404 for what does not exist, 409 for a change the item's
//! state or version refuses, 422 for an answer that does not validate.

use crate::exceptions::ResolveError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub detail: String,
}

/// The body of every error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    /// The HTTP status's name, e.g. "Conflict".
    pub title: String,
    pub status: u16,
    /// What went wrong, in plain words.
    pub detail: String,
}

impl Problem {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Problem {
        Problem { status, detail: detail.into() }
    }
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, detail)
    }
    pub fn invalid(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }
    /// It was here and is no more (an original removed under the retention settings).
    pub fn gone(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::GONE, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, detail)
    }
    /// An internal failure: logged whole, answered without internals.
    pub fn internal(e: impl std::fmt::Display) -> Problem {
        tracing::error!(error = %e, "an API request failed");
        Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "clerk could not answer: its store failed (see the daemon's log)")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, "application/problem+json".parse().expect("a media type"));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, "Bearer realm=\"clerk\"".parse().expect("a header"));
        }
        response
    }
}

impl From<ResolveError> for Problem {
    fn from(e: ResolveError) -> Problem {
        match e {
            ResolveError::NotFound(_) | ResolveError::RunNotFound(_) => Problem::not_found(e.to_string()),
            ResolveError::State(_) => Problem::conflict(e.to_string()),
            ResolveError::UnknownType(..) | ResolveError::Invalid(_) => Problem::invalid(e.to_string()),
            ResolveError::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, e.to_string()),
            ResolveError::Db(e) => Problem::from(e),
        }
    }
}

impl From<crate::runs::RunError> for Problem {
    fn from(e: crate::runs::RunError) -> Problem {
        use crate::runs::RunError;
        match e {
            RunError::NoBot(..) | RunError::NoDocument(_) | RunError::NoRun(_) => Problem::not_found(e.to_string()),
            RunError::Forbidden(_) => Problem::new(StatusCode::FORBIDDEN, e.to_string()),
            RunError::State(_) => Problem::conflict(e.to_string()),
            RunError::Refused(_) => Problem::internal(e),
            RunError::Db(e) => Problem::from(e),
        }
    }
}

impl From<crate::store::Error> for Problem {
    fn from(e: crate::store::Error) -> Problem {
        if e.is_unstorable_text() {
            return Problem::invalid("a value holds a NUL character (\\0, %00), which clerk does not store or search for");
        }
        Problem::internal(e)
    }
}

impl From<anyhow::Error> for Problem {
    fn from(e: anyhow::Error) -> Problem {
        match e.downcast::<crate::store::Error>() {
            Ok(store) => Problem::from(store),
            Err(e) => Problem::internal(e),
        }
    }
}

pub type ApiResult<T> = Result<T, Problem>;

/// An error answered by the framework rather than a handler (a body that is no JSON or does not
/// fit, too large, a method the route lacks) as a problem document, in words for the caller.
pub async fn as_problem(r: Response) -> Response {
    let status = r.status();
    let is_problem = r.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return r;
    }
    let said = axum::body::to_bytes(r.into_body(), 8 << 10).await.unwrap_or_default();
    let said = String::from_utf8_lossy(&said);
    // axum's words name its own types ("Failed to deserialize the JSON body into the target
    // type: …"); what follows the first colon says what was wrong with the body.
    let why = said.split_once(": ").map_or("", |(_, why)| why).trim();
    let detail = match status {
        StatusCode::BAD_REQUEST if why.is_empty() => "the request is malformed".to_string(),
        StatusCode::BAD_REQUEST => format!("the request is malformed: {why}"),
        StatusCode::PAYLOAD_TOO_LARGE => "the request's body is too large for this route".into(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "send the body as JSON, with Content-Type: application/json".into(),
        StatusCode::UNPROCESSABLE_ENTITY if why.is_empty() => "the JSON body does not fit this route".into(),
        StatusCode::UNPROCESSABLE_ENTITY => format!("the JSON body does not fit this route: {why}"),
        StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method (see /api/v1/openapi.json)".into(),
        StatusCode::NOT_FOUND => "there is no such route (see /api/v1/openapi.json)".into(),
        _ => status.canonical_reason().unwrap_or("the request failed").to_string(),
    };
    Problem::new(status, detail).into_response()
}

//! `/api/v1`: every route is listed here once, so the router and the OpenAPI document cannot
//! drift apart. Each handler's description starts with the least role it needs ("Needs the
//! agent role."), which tests/api.rs reads to check every route refuses the roles below.

mod accounts;
mod audit;
pub mod definitions;
mod documents;
mod dry_run;
mod queue;
mod runs;
mod session;
mod upload;
mod users;
mod vendors;

use super::problem::ProblemBody;
use super::Service;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "clerk",
        description = "The exception queue, documents, runs and definitions of a clerk daemon. Sign in with \
            `Authorization: Bearer TOKEN` (`clerk tokens create USER`) or a session cookie from POST /api/v1/session; \
            a session must send its CSRF token in X-CSRF-Token with every request that changes something."
    ),
    components(schemas(ProblemBody)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = []))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(super::auth::COOKIE))),
        );
    }
}

/// The API's routes and their OpenAPI document.
pub fn router() -> (axum::Router<Service>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .routes(routes!(session::sign_in, session::sign_out))
        .routes(routes!(session::me))
        .routes(routes!(accounts::change_own))
        .routes(routes!(accounts::reset))
        .routes(routes!(accounts::tokens, accounts::create_token))
        .routes(routes!(accounts::revoke_token))
        .routes(routes!(accounts::sessions))
        .routes(routes!(accounts::end_session))
        .routes(routes!(queue::list))
        .routes(routes!(queue::show))
        .routes(routes!(queue::claim))
        .routes(routes!(queue::release))
        .routes(routes!(queue::assign))
        .routes(routes!(queue::resolve))
        .routes(routes!(queue::check))
        .routes(routes!(queue::decide))
        .routes(routes!(queue::reject))
        .routes(routes!(documents::list))
        .routes(routes!(documents::show))
        .routes(routes!(documents::original))
        .routes(routes!(documents::text))
        .routes(routes!(documents::page_image))
        .routes(routes!(documents::split))
        .routes(routes!(documents::join))
        .routes(routes!(runs::list))
        .routes(routes!(runs::show))
        .routes(routes!(runs::retry))
        .routes(routes!(runs::end))
        .routes(routes!(definitions::list))
        .routes(routes!(definitions::mail))
        .routes(routes!(users::list, users::add))
        .routes(routes!(users::change))
        .routes(routes!(audit::list))
        .routes(routes!(vendors::list))
        .routes(routes!(vendors::show, vendors::forget))
        // An upload to try may be as large as a document may be (`upload`, to a temporary file);
        // every other body keeps axum's 2 MB limit.
        .routes(routes!(dry_run::classify))
        .routes(routes!(dry_run::bot))
        .routes(routes!(dry_run::run_now));
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/api/v1", v1).split_for_parts();
    let router = router.layer(axum::middleware::map_response(not_kept));
    let json = api.to_pretty_json().expect("the OpenAPI document serialises");
    let router = router.route(
        "/api/v1/openapi.json",
        axum::routing::get(move || async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], json) }),
    );
    (router, api)
}

/// API answers carry session tokens, documents and personal data: no cache keeps them, unless
/// the route said how it may be kept (a page image, private). And every error is a problem
/// document, also those the framework answers itself (a body that is no JSON, too large…).
async fn not_kept(r: axum::response::Response) -> axum::response::Response {
    use axum::http::header::{CACHE_CONTROL, X_CONTENT_TYPE_OPTIONS};
    let mut r = super::problem::as_problem(r).await;
    let headers = r.headers_mut();
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, axum::http::HeaderValue::from_static("nosniff"));
    r
}

/// `If-Match: "3"` (or `3`): the version the caller saw.
fn if_match(headers: &axum::http::HeaderMap) -> Option<i64> {
    headers
        .get(axum::http::header::IF_MATCH)?
        .to_str()
        .ok()?
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
}

/// Paging for lists: at most 500 at a time.
#[derive(serde::Deserialize, utoipa::IntoParams, Debug, Default)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// How many to return (default 100, at most 500).
    pub limit: Option<u32>,
    /// How many to skip.
    pub offset: Option<u32>,
}

impl Page {
    fn limit(&self) -> i64 {
        self.limit.unwrap_or(100).clamp(1, 500) as i64
    }
    fn offset(&self) -> i64 {
        self.offset.unwrap_or(0) as i64
    }
}

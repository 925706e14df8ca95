//! The daemon's HTTP listener: for the system around it `/healthz` (the process answers),
//! `/readyz` (the store answers and definitions are loaded) and `/metrics` (Prometheus text);
//! for people the API and pages of `crate::web`.

use crate::shutdown::Shutdown;
pub use crate::web::Service;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;

/// Binds `listen` now (so a port in use fails the start, with its address), then serves until
/// the stop. Returns the bound address (port 0 picks a free one).
pub async fn start(listen: &str, service: Service, mut stop: Shutdown) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen} ([http] listen, --listen, CLERK_LISTEN): {e}"))?;
    let addr = listener.local_addr()?;
    let (api, _) = crate::web::api::router();
    let app = api
        .merge(crate::web::pages::router())
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(service);
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { stop.requested().await });
        if let Err(e) = served.await {
            tracing::error!(error = %e, "the HTTP listener stopped");
        }
    });
    Ok(addr)
}

async fn ready(State(s): State<Service>) -> impl IntoResponse {
    if let Err(e) = s.store.pending_jobs().await {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("the store does not answer: {e}\n"));
    }
    // The listener starts after the definitions are loaded; say what is in force.
    let active = s.active();
    let (types, bots) = (active.classifier.types().len(), active.definitions.bots().len());
    (StatusCode::OK, format!("ready: {types} document types, {bots} bots\n"))
}

/// Prometheus text, for a scraper on this machine or one that sends `[http] metrics_token`.
async fn metrics(State(s): State<Service>, client: crate::web::client::Client, headers: axum::http::HeaderMap) -> axum::response::Response {
    let token_ok = match (&s.metrics_token, crate::web::auth::bearer(&headers)) {
        (Some(want), Some(sent)) => crate::users::same_secret(want.as_bytes(), sent.as_bytes()),
        _ => false,
    };
    if !client.addr.is_loopback() && !token_ok {
        let why = "/metrics answers on this machine, or to a scraper that sends the token set as [http] metrics_token\n";
        return (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], why).into_response();
    }
    metrics_text(&s).await.into_response()
}

async fn metrics_text(s: &Service) -> impl IntoResponse {
    let overdue = s.overdue_by_kind().await;
    match (s.store.gauges().await, overdue) {
        (Ok(g), Ok(overdue)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            crate::metrics::render(&g, s.readers.restarts()) + &crate::metrics::render_overdue(&overdue),
        ),
        (Err(e), _) | (_, Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("the store does not answer: {e}\n"),
        ),
    }
}

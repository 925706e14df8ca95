//! The daemon's HTTP listener: for the system around it `/healthz` (the process answers),
//! `/readyz` (the store answers and definitions are loaded) and `/metrics` (Prometheus text);
//! for people the API and pages of `crate::web`.

use crate::shutdown::Shutdown;
pub use crate::web::Service;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;

/// Binds `[http] listen` now (so a port in use fails the start, with its address), then serves
/// until the stop. Returns the bound address (port 0 picks a free one).
pub async fn start(
    settings: &crate::config::HttpSettings,
    service: Service,
    stop: Shutdown,
) -> anyhow::Result<std::net::SocketAddr> {
    let listen = &settings.listen;
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
    tokio::spawn(serve(listener, app, settings.header_timeout, stop));
    Ok(addr)
}

/// Accepts connections until the stop, each served by hyper with a deadline for its request
/// headers (axum's own `serve` sets none). At the stop, connections finish the request they are
/// in and close.
async fn serve(listener: tokio::net::TcpListener, app: axum::Router, header_timeout: std::time::Duration, mut stop: Shutdown) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept an HTTP connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.requested() => return,
        };
        // The peer's address, as axum's `ConnectInfo` reads it (the router is shared, not rebuilt).
        let app = tower::ServiceExt::map_request(app.clone(), move |mut r: axum::http::Request<hyper::body::Incoming>| {
            r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
            r
        });
        let service = hyper_util::service::TowerToHyperService::new(app);
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.requested() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
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
    let overdue = s.queue(&s.active()).overdue_by_kind().await;
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

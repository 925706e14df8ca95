//! Who is asking: every route takes a [`Caller`], so a request without a valid bearer token or
//! session cookie is refused with 401 before any handler runs (deny by default), and each
//! handler names the least role it needs. A browser session must also send its CSRF token with
//! every request that changes something; a bearer token is never sent by a browser on its own,
//! so it needs none. Sign-in is rate-limited per user name and per client address.

use super::problem::{ApiResult, Problem};
use super::Service;
use crate::store::Guard;
use crate::users::{Role, User};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const COOKIE: &str = "clerk_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The signed-in user making this request.
#[derive(Debug, Clone)]
pub struct Caller(pub User);

impl Caller {
    /// Refuses (403) a caller whose role is below `role`.
    pub fn require(&self, role: Role) -> ApiResult<()> {
        if self.0.role >= role {
            return Ok(());
        }
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            format!("this needs the {} role; {} is {}", role.as_str(), self.0.name, article(self.0.role)),
        ))
    }

    pub fn guard(&self, version: Option<i64>) -> Guard<'_> {
        Guard { agent: &self.0.name, version }
    }

    /// The caller as the queue's rules see them.
    pub fn viewer(&self) -> crate::exceptions::Viewer<'_> {
        crate::exceptions::Viewer { name: &self.0.name, role: self.0.role }
    }
}

fn article(role: Role) -> String {
    match role {
        Role::Agent | Role::Admin => format!("an {}", role.as_str()),
        Role::Ops => "in ops".to_string(),
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of an `Authorization: Bearer TOKEN` header, if the request has one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

impl FromRequestParts<Service> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Caller, Problem> {
        let unauthorized = |why: &str| Problem::new(StatusCode::UNAUTHORIZED, why.to_string());
        if parts.headers.contains_key(header::AUTHORIZATION) {
            let Some(token) = bearer(&parts.headers) else {
                return Err(unauthorized("the Authorization header must be `Bearer TOKEN`"));
            };
            return match crate::users::authenticate_token(&service.store, token).await? {
                Ok(user) => Ok(Caller(user)),
                Err(why) => Err(unauthorized(&why)),
            };
        }
        let Some(cookie) = cookie_value(&parts.headers, COOKIE) else {
            return Err(unauthorized("sign in first: send `Authorization: Bearer TOKEN` or sign in at /login"));
        };
        let Some(user) = crate::users::authenticate_session(&service.store, cookie).await? else {
            return Err(unauthorized("your session has ended; sign in again"));
        };
        if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if sent.is_none() || sent != user.csrf.as_deref() {
                return Err(Problem::new(
                    StatusCode::FORBIDDEN,
                    "the request lacks this session's CSRF token (header X-CSRF-Token); reload the page and try again",
                ));
            }
        }
        Ok(Caller(user))
    }
}

/// Failed sign-ins per key (a user name, a client address) in a sliding window.
#[derive(Default)]
pub struct Limiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

/// Five failures in 15 minutes lock the key until the oldest of them is 15 minutes old.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_FAILURES: usize = 5;

impl Limiter {
    /// How long until `key` may try again, if it is locked now.
    pub fn locked(&self, key: &str) -> Option<Duration> {
        let mut map = self.failures.lock().expect("limiter lock");
        let list = map.get_mut(key)?;
        list.retain(|t| t.elapsed() < WINDOW);
        (list.len() >= MAX_FAILURES).then(|| WINDOW.saturating_sub(list[0].elapsed()))
    }

    pub fn failed(&self, key: &str) {
        let mut map = self.failures.lock().expect("limiter lock");
        // Bounded memory under a spray of names: forget the quiet keys first.
        if map.len() > 10_000 {
            map.retain(|_, l| l.last().is_some_and(|t| t.elapsed() < WINDOW));
        }
        map.entry(key.to_string()).or_default().push(Instant::now());
    }

    pub fn succeeded(&self, key: &str) {
        self.failures.lock().expect("limiter lock").remove(key);
    }
}

/// A caller with at least the admin role, checked before the request's body is read (so a
/// lower role gets 403 whatever it sent).
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequestParts<Service> for Admin {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Admin, Problem> {
        caller_at_least(parts, service, Role::Admin).await.map(Admin)
    }
}

/// A caller with at least the ops role, checked before the request's body is read (an upload
/// from an agent is refused before it is received).
#[derive(Debug, Clone)]
pub struct Ops(pub Caller);

impl FromRequestParts<Service> for Ops {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, service: &Service) -> Result<Ops, Problem> {
        caller_at_least(parts, service, Role::Ops).await.map(Ops)
    }
}

async fn caller_at_least(parts: &mut Parts, service: &Service, role: Role) -> Result<Caller, Problem> {
    let caller = Caller::from_request_parts(parts, service).await?;
    caller.require(role)?;
    Ok(caller)
}

/// Checks a user name and password under the rate limit and starts a session: the role, the
/// session and its Set-Cookie value. Refused sign-ins are audited.
pub async fn sign_in(
    s: &Service,
    name: &str,
    password: &str,
    client: crate::web::client::Client,
) -> Result<(Role, crate::users::Session, String), axum::response::Response> {
    use axum::response::IntoResponse;
    let addr = client.addr;
    // Failures count per client address (whatever names it tries: a success does not clear
    // them, or an account holder could guess others' passwords between their own sign-ins) and
    // per name from that address. Not per name alone: anyone could then lock anyone out.
    let (from_addr, pair) = (format!("addr:{addr}"), format!("name:{name}|addr:{addr}"));
    let keys = [&from_addr, &pair];
    if let Some(wait) = keys.iter().filter_map(|k| s.logins.locked(k)).max() {
        let mut r = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed sign-ins; try again in {} minutes", wait.as_secs().div_ceil(60)),
        )
        .into_response();
        r.headers_mut().insert(header::RETRY_AFTER, wait.as_secs().max(1).into());
        return Err(r);
    }
    let checked = crate::users::authenticate_password(&s.store, name, password).await;
    let role = match checked {
        Ok(Some(role)) => role,
        Ok(None) => {
            keys.iter().for_each(|k| s.logins.failed(k));
            // In the log too, for tools like fail2ban that watch it.
            tracing::warn!(user = name, client = %addr, "sign-in refused: wrong user name or password");
            if let Err(e) = s.store.audit_refused_login(name, &format!("from {addr}")).await {
                return Err(Problem::from(e).into_response());
            }
            return Err(Problem::new(StatusCode::UNAUTHORIZED, "wrong user name or password").into_response());
        }
        Err(e) => return Err(Problem::from(e).into_response()),
    };
    s.logins.succeeded(&pair);
    let session = crate::users::start_session(&s.store, name, &addr.to_string()).await.map_err(|e| Problem::from(e).into_response())?;
    // Secure when the client came over HTTPS through a trusted proxy (clerk itself speaks plain
    // HTTP, and a Secure cookie would not come back over it).
    let secure = if client.https { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        session.cookie,
        crate::users::SESSION_MS / 1000
    );
    Ok((role, session, cookie))
}

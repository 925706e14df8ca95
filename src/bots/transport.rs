//! How bots reach legacy systems over HTTP: the clients, and what a transport error means.
//!
//! A legacy system that refuses or drops connections is *down*, not wrong: its runs wait for it
//! (see `outage`) instead of spending attempts meant for answers. A request whose connection died
//! before any byte of an answer arrived may be sent again at once on a new connection, when that
//! cannot apply it twice: it is safe by method (GET, HEAD, OPTIONS) or carries an idempotency key.
//! A request that may not be sent twice never rides a kept-alive connection, so it cannot meet
//! one the server closed while it sat idle: that case (the server's keep-alive timer firing as
//! the request goes out) is the common cause of such deaths, and costs only a connect to avoid.

use reqwest::Method;
use std::time::Duration;

/// Idle connections are dropped before the shortest keep-alive timeouts in common use (Apache
/// httpd and Node.js close after 5 s; nginx 75 s, IIS 120 s), so few are closed under a request.
const POOL_IDLE: Duration = Duration::from_secs(4);
/// A host that does not accept a connection in this long is down (the request's own timeout
/// bounds the rest).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The two clients every run shares.
#[derive(Clone)]
pub struct Clients {
    /// Keeps connections alive between requests.
    pub pooled: reqwest::Client,
    /// Opens a new connection for every request: for requests that may not be sent twice, and
    /// for sending a request again after its connection died.
    pub fresh: reqwest::Client,
}

impl Clients {
    pub fn new() -> Clients {
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("clerk/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(CONNECT_TIMEOUT)
        };
        Clients {
            pooled: builder().pool_max_idle_per_host(32).pool_idle_timeout(POOL_IDLE).build().expect("HTTP client"),
            fresh: builder().pool_max_idle_per_host(0).build().expect("HTTP client"),
        }
    }

    /// The client for a request: `replayable` ones may use a kept-alive connection.
    pub fn for_request(&self, replayable: bool) -> &reqwest::Client {
        if replayable {
            &self.pooled
        } else {
            &self.fresh
        }
    }
}

impl Default for Clients {
    fn default() -> Self {
        Clients::new()
    }
}

/// Whether a request may be sent again without being applied twice.
pub fn replayable(method: &Method, idempotency_key: bool) -> bool {
    idempotency_key || matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// What a transport error says about the legacy system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trouble {
    /// No connection could be made: refused, reset or timed out while connecting, no route, or
    /// the name does not resolve. The system is down (or not there yet).
    Down(String),
    /// The connection closed or was reset before any byte of an answer: the request may or may
    /// not have reached the system.
    DiedBeforeAnswer(String),
    /// Anything else (a timeout waiting for the answer, a cut in the middle of one, TLS).
    Other(String),
}

/// Reads a reqwest error's chain.
pub fn trouble(e: &reqwest::Error) -> Trouble {
    let message = chain(e);
    if is_tls(e) {
        return Trouble::Other(message);
    }
    if e.is_connect() {
        return Trouble::Down(down_reason(e, &message));
    }
    if e.is_timeout() {
        return Trouble::Other("timed out".into());
    }
    if e.is_body() || e.is_decode() {
        return Trouble::Other(message);
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(h) = s.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return Trouble::DiedBeforeAnswer(message);
            }
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            if matches!(io.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof) {
                return Trouble::DiedBeforeAnswer(message);
            }
        }
        source = s.source();
    }
    Trouble::Other(message)
}

/// The whole chain of an error in one line (reqwest's own message names only the outer layer).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message.push_str(&format!(": {text}"));
        }
        source = s.source();
    }
    message
}

fn is_tls(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.get_ref().is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some()) {
                return true;
            }
        }
        source = s.source();
    }
    false
}

/// A short reason a person reads: "connection refused", "no such host".
fn down_reason(e: &reqwest::Error, message: &str) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            let reason = match io.kind() {
                ConnectionRefused => Some("connection refused"),
                ConnectionReset | ConnectionAborted => Some("connection reset while connecting"),
                TimedOut => Some("no answer to the connection attempt"),
                HostUnreachable | NetworkUnreachable => Some("no route to the host"),
                _ => None,
            };
            if let Some(r) = reason {
                return r.into();
            }
        }
        source = s.source();
    }
    if e.is_timeout() {
        return "no answer to the connection attempt".into();
    }
    let lower = message.to_lowercase();
    if lower.contains("dns") || lower.contains("resolve") || lower.contains("lookup") {
        return "the host name does not resolve".into();
    }
    message.rsplit(": ").next().unwrap_or(message).to_string()
}

/// The system a URL reaches: scheme, host and port, without credentials or path.
pub fn target_of(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port_or_known_default() {
        Some(p) => format!("{}://{host}:{p}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_is_scheme_host_and_port_without_credentials() {
        let u = reqwest::Url::parse("https://user:pw@erp.example:8443/api/x?y=1").unwrap();
        assert_eq!(target_of(&u), "https://erp.example:8443");
        let u = reqwest::Url::parse("http://erp.example/soap").unwrap();
        assert_eq!(target_of(&u), "http://erp.example:80");
    }

    #[test]
    fn only_safe_methods_and_keyed_requests_are_replayable() {
        assert!(replayable(&Method::GET, false));
        assert!(replayable(&Method::POST, true));
        assert!(!replayable(&Method::POST, false));
        assert!(!replayable(&Method::PUT, false));
    }

    #[tokio::test]
    async fn a_refused_connection_means_down() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = Clients::new().pooled.get(format!("http://127.0.0.1:{port}/")).send().await.unwrap_err();
        assert_eq!(trouble(&e), Trouble::Down("connection refused".into()));
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_answer_died_before_answer() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            // Closed having read the request, without a byte of answer.
        });
        let e = Clients::new().fresh.post(format!("http://127.0.0.1:{port}/")).body("x").send().await.unwrap_err();
        assert!(matches!(trouble(&e), Trouble::DiedBeforeAnswer(_)), "{:?}", trouble(&e));
    }
}

//! `http`: one request to a legacy system — any method, headers, query, JSON/form/XML/raw or
//! multipart bodies (the document's original file among them), basic or bearer auth, the run's
//! cookie jar, redirects followed by hand so every hop's cookies are kept, expected statuses, and
//! values extracted from the answer.

use super::{excerpt, extract_all, Done, Env, Failure, Result};
use crate::bots::extract::Answer;
use crate::bots::kinds::{key, Act, BASE, EXTRACT, Kind, Shape, TIMEOUT, Value};
use crate::bots::render::{map_of, text_of, Context, Renderer};
use crate::bots::render::Place;
use crate::bots::transport::{self, Trouble};
use reqwest::{Method, RequestBuilder, Url};
use serde_json::{json, Value as J};
use std::time::Duration;

pub const HTTP_METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head"];

pub const KIND: Kind = Kind {
    name: "http",
    doc: "An HTTP request to a legacy system (REST, form-based web apps).",
    shape: Shape::Keys(&[
        key("get", Value::Template, "URL to GET"),
        key("post", Value::Template, "URL to POST to"),
        key("put", Value::Template, "URL to PUT to"),
        key("patch", Value::Template, "URL to PATCH"),
        key("delete", Value::Template, "URL to DELETE"),
        key("head", Value::Template, "URL to HEAD"),
        key("headers", Value::Map, "request headers"),
        key("query", Value::Map, "query parameters (percent-encoded)"),
        key("json", Value::Any, "a JSON body; document values land as JSON values"),
        key("form", Value::Map, "an application/x-www-form-urlencoded body"),
        key("xml", Value::Template, "an XML body; document values are XML-escaped"),
        key("body", Value::Template, "a raw body"),
        key("multipart", Value::Map, "a multipart/form-data body; `{{ doc.file }}` is the document's original file"),
        key("auth", Value::Map, "`basic: [user, password]` or `bearer: token`"),
        key("expect", Value::List, "accepted status codes (default: any 2xx)"),
        key("idempotency_key", Value::Template, "Idempotency-Key header value (default: derived from run and step; `false` sends none)"),
        EXTRACT,
        TIMEOUT,
    ]),
    one_of: HTTP_METHODS,
    act: Act::Call(|cfg, env| Box::pin(run(cfg, env))),
    summary,
    keeps_cookies: true,
    ..BASE
};

/// The request as it would be sent.
fn summary(cfg: &J, r: &Renderer, ctx: &Context) -> std::result::Result<J, String> {
    let method = HTTP_METHODS.iter().find(|m| cfg.get(**m).is_some()).copied().unwrap_or("get");
    let mut s = serde_json::Map::new();
    s.insert("method".into(), J::from(method.to_uppercase()));
    s.insert("url".into(), J::from(text_of(r, cfg, method, Place::Url, ctx)?.unwrap_or_default()));
    for key in ["headers", "query", "form", "multipart"] {
        if let Some(m) = map_of(r, cfg, key, ctx)? {
            s.insert(key.into(), m);
        }
    }
    if let Some(j) = cfg.get("json") {
        s.insert("json".into(), r.json(j, ctx)?);
    }
    if let Some(x) = text_of(r, cfg, "xml", Place::Xml, ctx)? {
        s.insert("xml".into(), J::from(x));
    }
    if let Some(b) = text_of(r, cfg, "body", Place::Data, ctx)? {
        s.insert("body".into(), J::from(b));
    }
    Ok(J::Object(s))
}

/// Larger answers are refused rather than held in memory.
const MAX_ANSWER: usize = 16 << 20;
/// How much of a body the run record keeps.
const RECORD_EXCERPT: usize = 2000;
const MAX_REDIRECTS: usize = 10;

pub async fn run(cfg: &J, env: &mut Env<'_>) -> Result {
    let method = HTTP_METHODS.iter().find(|m| cfg.get(**m).is_some()).copied().unwrap_or("get");
    let url = env.text(cfg, method, Place::Url)?.unwrap_or_default();
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("known method");
    let mut headers = env.map(cfg, "headers")?;
    let query = env.map(cfg, "query")?;
    let mut request = json!({ "method": method.as_str(), "url": url });
    if !query.is_empty() {
        request["query"] = pairs(&query);
    }

    let body = Body::from_config(cfg, env, &mut request)?;
    match cfg.get("auth").and_then(J::as_object) {
        Some(a) if a.contains_key("bearer") => {
            let token = env.render(&a["bearer"], Place::Data)?;
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        Some(a) if a.contains_key("basic") => {
            let (user, password) = match &a["basic"] {
                J::Array(v) if v.len() == 2 => (env.render(&v[0], Place::Data)?, env.render(&v[1], Place::Data)?),
                _ => return Err(Failure::fatal("`auth: { basic: [user, password] }` needs a user and a password")),
            };
            headers
                .push(("Authorization".into(), format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))));
        }
        Some(_) => return Err(Failure::fatal("`auth` takes `basic: [user, password]` or `bearer: token`")),
        None => {}
    }
    let key = idempotency_key(cfg, &method, env)?;
    let replayable = transport::replayable(&method, key.is_some());
    if let Some(key) = key {
        headers.push(("Idempotency-Key".into(), key));
    }
    if !headers.is_empty() {
        // Credentials are never recorded, whatever form they take.
        let shown: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| match k.eq_ignore_ascii_case("authorization") {
                true => (k.clone(), format!("{} ***", v.split(' ').next().unwrap_or(""))),
                false => (k.clone(), v.clone()),
            })
            .collect();
        request["headers"] = pairs(&shown);
    }
    let url = Url::parse(&url).map_err(|e| Failure::fatal(format!("`{url}` is not a URL: {e}")))?;
    let reply = exchange(env, method, url, &headers, replayable, |b| body.apply(b.query(&query)), &request).await?;
    check_status(cfg, &reply, &request)?;
    reply.into_done(cfg, request)
}

/// `idempotency_key: false` sends none; a template sends its value; by default steps that change
/// something (not GET/HEAD) send the run's key for this step.
pub(super) fn idempotency_key(cfg: &J, method: &Method, env: &Env) -> std::result::Result<Option<String>, Failure> {
    match cfg.get("idempotency_key") {
        Some(J::Bool(false)) => Ok(None),
        Some(v) => Ok(Some(env.render(v, Place::Data)?)),
        None if method == Method::GET || method == Method::HEAD => Ok(None),
        None => Ok(Some(env.idempotency_key.clone())),
    }
}

enum Body {
    None,
    Json(J),
    Form(Vec<(String, String)>),
    Text(String, &'static str),
    Multipart(Vec<(String, PartValue)>),
}

enum PartValue {
    Text(String),
    File(String, std::sync::Arc<Vec<u8>>),
}

impl Body {
    fn from_config(cfg: &J, env: &Env, request: &mut J) -> std::result::Result<Body, Failure> {
        if let Some(j) = cfg.get("json") {
            let j = env.json(j)?;
            request["json"] = j.clone();
            return Ok(Body::Json(j));
        }
        if cfg.get("form").is_some() {
            let form = env.map(cfg, "form")?;
            request["form"] = pairs(&form);
            return Ok(Body::Form(form));
        }
        if let Some(x) = env.text(cfg, "xml", Place::Xml)? {
            request["body"] = J::from(excerpt(&x, RECORD_EXCERPT));
            return Ok(Body::Text(x, "application/xml; charset=utf-8"));
        }
        if let Some(b) = env.text(cfg, "body", Place::Data)? {
            request["body"] = J::from(excerpt(&b, RECORD_EXCERPT));
            return Ok(Body::Text(b, "text/plain; charset=utf-8"));
        }
        if let Some(m) = cfg.get("multipart").and_then(J::as_object) {
            let mut parts = vec![];
            let mut shown = serde_json::Map::new();
            for (name, v) in m {
                let is_file = v.as_str().is_some_and(|s| s.replace(' ', "") == "{{doc.file}}");
                if is_file {
                    let (file, bytes) = env.original.clone().ok_or_else(|| {
                        Failure::fatal(format!(
                            "multipart `{name}` sends the document's file, but this run has no document"
                        ))
                    })?;
                    shown.insert(name.clone(), J::from(format!("<file {file}, {} bytes>", bytes.len())));
                    parts.push((name.clone(), PartValue::File(file, bytes)));
                } else {
                    let text = env.render(v, Place::Data)?;
                    shown.insert(name.clone(), J::from(text.clone()));
                    parts.push((name.clone(), PartValue::Text(text)));
                }
            }
            request["multipart"] = J::Object(shown);
            return Ok(Body::Multipart(parts));
        }
        Ok(Body::None)
    }

    fn apply(&self, b: RequestBuilder) -> RequestBuilder {
        match self {
            Body::None => b,
            Body::Json(j) => b.json(j),
            Body::Form(f) => b.form(f),
            Body::Text(t, ct) => b.header("Content-Type", *ct).body(t.clone()),
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                for (name, p) in parts {
                    form = match p {
                        PartValue::Text(t) => form.text(name.clone(), t.clone()),
                        PartValue::File(file, bytes) => form.part(
                            name.clone(),
                            reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(file.clone()),
                        ),
                    };
                }
                b.multipart(form)
            }
        }
    }
}

fn pairs(p: &[(String, String)]) -> J {
    J::Object(p.iter().map(|(k, v)| (k.clone(), J::from(v.as_str()))).collect())
}

/// A legacy system's answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub json: Option<J>,
    /// Why the request was sent a second time on a new connection, when it was.
    pub resent: Option<String>,
    /// The system that answered.
    pub target: String,
}

impl Reply {
    pub fn summary(&self) -> J {
        let mut s = json!({ "status": self.status, "body": excerpt(&self.body, RECORD_EXCERPT) });
        if let Some(why) = &self.resent {
            s["resent"] = J::from(format!("sent again on a new connection: the first closed before an answer ({why})"));
        }
        s
    }

    /// The step's output: status, body (parsed when JSON), and the extracted values.
    pub fn into_done(self, cfg: &J, request: J) -> Result {
        let response = self.summary();
        let answer = Answer { body: &self.body, json: self.json.as_ref(), headers: &self.headers };
        let mut output = serde_json::Map::new();
        extract_all(cfg, &answer, &mut output).map_err(|e| Failure {
            request: request.clone(),
            response: response.clone(),
            ..Failure::fatal(e)
        })?;
        output.insert("status".into(), J::from(self.status));
        let body = match self.json {
            Some(j) => j,
            None => J::from(excerpt(&self.body, 64 << 10)),
        };
        output.entry("body").or_insert(body);
        Ok(Done { output, request, response, target: Some(self.target) })
    }
}

/// Sends a request (built by `build` on top of method, URL, headers and cookies), following
/// redirects with GET and keeping cookies from every hop. `replayable`: the request may be sent
/// twice without being applied twice (see `bots::transport`).
pub async fn exchange(
    env: &mut Env<'_>,
    method: Method,
    url: Url,
    headers: &[(String, String)],
    replayable: bool,
    build: impl Fn(RequestBuilder) -> RequestBuilder,
    request: &J,
) -> std::result::Result<Reply, Failure> {
    let fail = |f: Failure| Failure { request: request.clone(), ..f };
    let clients = env.http;
    let start = |client: &reqwest::Client, method: Method, url: &Url, cookies: &crate::bots::cookies::Jar| {
        let mut b = client.request(method, url.clone()).timeout(env.timeout);
        for (k, v) in headers {
            b = b.header(k.as_str(), v.as_str());
        }
        if let Some(c) = cookies.header(url) {
            b = b.header("Cookie", c);
        }
        b
    };
    let mut url = url;
    let client = clients.for_request(replayable);
    let first = send(build(start(client, method.clone(), &url, env.cookies)), &url).await;
    let (mut response, mut resent) = match first {
        // The connection died before any answer: sent again at once on a new one, which is no
        // attempt of the step's (the first may never have reached the system).
        Err(Sent::Died(why)) if replayable => {
            tracing::info!(url = %url, why, "the connection closed before an answer; sending again on a new one");
            let again = resend(build(start(&clients.fresh, method, &url, env.cookies)), &url).await;
            (again.map_err(|s| fail(s.into_failure()))?, Some(why))
        }
        other => (other.map_err(|s| fail(s.into_failure()))?, None),
    };
    for _ in 0..MAX_REDIRECTS {
        env.cookies.store(&url, response.headers());
        if !matches!(response.status().as_u16(), 301..=303) {
            break;
        }
        let Some(next) =
            response.headers().get("location").and_then(|l| l.to_str().ok()).and_then(|l| url.join(l).ok())
        else {
            break;
        };
        url = next;
        response = match send(start(&clients.pooled, Method::GET, &url, env.cookies), &url).await {
            Err(Sent::Died(why)) => {
                let again = resend(start(&clients.fresh, Method::GET, &url, env.cookies), &url).await;
                resent = Some(why);
                again.map_err(|s| fail(s.into_failure()))?
            }
            other => other.map_err(|s| fail(s.into_failure()))?,
        };
    }
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let retry_after = headers.iter().find(|(k, _)| k == "retry-after").and_then(|(_, v)| parse_retry_after(v));
    let bytes = response.bytes().await.map_err(|e| fail(Failure::transient(transport::chain(&e))))?;
    if bytes.len() > MAX_ANSWER {
        return Err(fail(Failure::fatal(format!(
            "the answer is {} bytes, more than clerk keeps ({MAX_ANSWER})",
            bytes.len()
        ))));
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&body).ok();
    let reply = Reply { status, headers, body, json, resent, target: transport::target_of(&url) };
    if status >= 500 || status == 429 || status == 408 {
        return Err(Failure {
            message: format!("{} answered HTTP {status}: {}", url, excerpt(reply.body.trim(), 200)),
            retryable: true,
            retry_after,
            request: request.clone(),
            response: reply.summary(),
            down: None,
        });
    }
    Ok(reply)
}

/// Why a request got no answer.
enum Sent {
    /// The connection closed before any byte of an answer.
    Died(String),
    Failed(Failure),
}

impl Sent {
    fn into_failure(self) -> Failure {
        match self {
            Sent::Died(why) => Failure::transient(why),
            Sent::Failed(f) => f,
        }
    }
}

async fn send(b: RequestBuilder, url: &Url) -> std::result::Result<reqwest::Response, Sent> {
    b.send().await.map_err(|e| match transport::trouble(&e) {
        Trouble::Down(reason) => Sent::Failed(Failure::down(transport::target_of(url), reason)),
        Trouble::DiedBeforeAnswer(why) => Sent::Died(why),
        Trouble::Other(why) => Sent::Failed(Failure::transient(why)),
    })
}

/// A request sent again on a new connection after the first died unanswered. A system killed
/// mid-request may still take a connection while it goes down, and drop that one unanswered
/// too: two in a row is a system going down, waited for like one that refuses.
async fn resend(b: RequestBuilder, url: &Url) -> std::result::Result<reqwest::Response, Sent> {
    match send(b, url).await {
        Err(Sent::Died(_)) => Err(Sent::Failed(Failure::down(
            transport::target_of(url),
            "two connections closed in a row before any answer".into(),
        ))),
        other => other,
    }
}

/// The statuses a step accepts: `expect: [200, 201]`, or any 2xx (3xx too when not followed).
fn check_status(cfg: &J, reply: &Reply, request: &J) -> std::result::Result<(), Failure> {
    let ok = match cfg.get("expect").and_then(J::as_array) {
        Some(codes) => codes.iter().any(|c| c.as_u64() == Some(reply.status as u64)),
        None => (200..400).contains(&reply.status),
    };
    if ok {
        return Ok(());
    }
    Err(Failure {
        message: format!("unexpected HTTP {}: {}", reply.status, excerpt(reply.body.trim(), 200)),
        retryable: false,
        retry_after: None,
        request: request.clone(),
        response: reply.summary(),
        down: None,
    })
}

/// `Retry-After`: seconds, or an HTTP date.
fn parse_retry_after(v: &str) -> Option<Duration> {
    if let Ok(s) = v.trim().parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v.trim()).ok()?;
    let ms = at.timestamp_millis() - chrono::Utc::now().timestamp_millis();
    Some(Duration::from_millis(ms.max(0) as u64))
}

pub fn base64(bytes: &[u8]) -> String {
    crate::bots::redact::base64(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        assert_eq!(super::parse_retry_after("7"), Some(std::time::Duration::from_secs(7)));
        assert_eq!(super::parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(std::time::Duration::ZERO));
        assert_eq!(super::parse_retry_after("soon"), None);
    }
}

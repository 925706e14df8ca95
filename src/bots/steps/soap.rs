//! `soap`: the body wrapped in a SOAP 1.1 envelope, posted with its SOAPAction. A SOAP fault is
//! an error carrying the fault string; a `Server` fault may pass (it is retried), a `Client` fault
//! will not (it is not).

use super::http::{exchange, idempotency_key};
use super::{excerpt, Env, Failure, Result};
use crate::bots::extract::{extract, Answer};
use crate::bots::render::{soap_envelope, Place};
use reqwest::{Method, Url};
use serde_json::{json, Value as J};
use crate::bots::kinds::{key, Act, BASE, EXTRACT, Kind, Shape, TIMEOUT, Value};
use crate::bots::render::{text_of, Context, Renderer};

pub const KIND: Kind = Kind {
    name: "soap",
    doc: "A SOAP call: the body is wrapped in an envelope; a SOAP fault is an error carrying its fault string.",
    shape: Shape::Keys(&[
        key("url", Value::Template, "endpoint URL"),
        key("action", Value::Template, "SOAPAction"),
        key("body", Value::Template, "the XML inside <soap:Body>; document values are XML-escaped"),
        key("headers", Value::Map, "extra HTTP headers"),
        EXTRACT,
        TIMEOUT,
    ]),
    required: &["url", "action", "body"],
    act: Act::Call(|cfg, env| Box::pin(run(cfg, env))),
    summary,
    keeps_cookies: true,
    ..BASE
};

/// The envelope as it would be posted.
fn summary(cfg: &J, r: &Renderer, ctx: &Context) -> std::result::Result<J, String> {
    let body = text_of(r, cfg, "body", Place::Xml, ctx)?.unwrap_or_default();
    Ok(serde_json::json!({
        "method": "POST",
        "url": text_of(r, cfg, "url", Place::Url, ctx)?.unwrap_or_default(),
        "action": text_of(r, cfg, "action", Place::Data, ctx)?.unwrap_or_default(),
        "envelope": soap_envelope(&body),
    }))
}

pub async fn run(cfg: &J, env: &mut Env<'_>) -> Result {
    let url = env.text(cfg, "url", Place::Url)?.unwrap_or_default();
    let action = env.text(cfg, "action", Place::Data)?.unwrap_or_default();
    let body = env.text(cfg, "body", Place::Xml)?.unwrap_or_default();
    let envelope = soap_envelope(&body);
    let mut headers = env.map(cfg, "headers")?;
    headers.push(("SOAPAction".into(), format!("\"{action}\"")));
    headers.push(("Content-Type".into(), "text/xml; charset=utf-8".into()));
    let key = idempotency_key(cfg, &Method::POST, env)?;
    let replayable = crate::bots::transport::replayable(&Method::POST, key.is_some());
    if let Some(key) = key {
        headers.push(("Idempotency-Key".into(), key));
    }
    let request = json!({ "method": "POST", "url": url, "action": action, "body": excerpt(&envelope, 2000) });
    let url = Url::parse(&url).map_err(|e| Failure::fatal(format!("`{url}` is not a URL: {e}")))?;
    // A SOAP 1.1 fault comes back as HTTP 500; look for one before treating the 500 as transient.
    let reply = match exchange(env, Method::POST, url, &headers, replayable, |b| b.body(envelope.clone()), &request).await {
        Ok(r) => r,
        Err(f) => {
            let body = f.response.get("body").and_then(J::as_str).unwrap_or("").to_string();
            return Err(match fault(&body) {
                Some((code, text)) => {
                    Failure { message: format!("SOAP fault {code}: {text}"), retryable: code.ends_with("Server"), ..f }
                }
                None => f,
            });
        }
    };
    if let Some((code, text)) = fault(&reply.body) {
        return Err(Failure {
            message: format!("SOAP fault {code}: {text}"),
            retryable: code.ends_with("Server"),
            retry_after: None,
            request,
            response: reply.summary(),
            down: None,
        });
    }
    reply.into_done(cfg, request)
}

/// (faultcode, faultstring) when the answer is a SOAP fault.
fn fault(body: &str) -> Option<(String, String)> {
    let answer = Answer { body, json: None, headers: &[] };
    extract("//Fault", &answer).ok().filter(|f| !f.is_null())?;
    let text = |path| extract(path, &answer).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    Some((text("//Fault/faultcode"), text("//Fault/faultstring")))
}

//! The step kinds, one file each: what each one's key holds, how it is checked, what a dry run
//! shows of it, and how a run carries it out (see [`Kind`]). A new kind is a new file here and
//! one line in [`KINDS`]. The kinds that talk to legacy systems take their step's configuration
//! (templates not yet rendered) and what the run offers, and return the step's output or an
//! error that says whether trying again could help.

pub mod escalate;
pub mod file;
pub mod foreach;
pub mod http;
pub mod set;
pub mod soap;
pub mod sql;
pub mod wait_until;

use super::kinds::Kind;

/// Every step kind, in the order `clerk check` names them.
pub const KINDS: &[&Kind] =
    &[&http::KIND, &soap::KIND, &sql::KIND, &file::KIND, &wait_until::KIND, &set::KIND, &foreach::KIND, &escalate::KIND];

use super::cookies::Jar;
use super::extract::{self, Answer};
use super::render::{Context, Place, Renderer};
use serde_json::Value as J;
use std::sync::Arc;
use std::time::Duration;

/// What a step may use besides its configuration.
pub struct Env<'a> {
    pub renderer: &'a Renderer,
    pub ctx: &'a Context,
    pub http: &'a crate::bots::transport::Clients,
    pub sql: &'a sql::Pools,
    pub cookies: &'a mut Jar,
    /// Sent as `Idempotency-Key` by steps with side effects: the same for every attempt of this
    /// step in this run, so a legacy system that honours it applies the step once.
    pub idempotency_key: String,
    /// The document's original file (name, bytes), for multipart uploads.
    pub original: Option<(String, Arc<Vec<u8>>)>,
    pub timeout: Duration,
}

/// A step that did its work.
#[derive(Debug, Default)]
pub struct Done {
    /// What later steps read as `steps.<id>`.
    pub output: serde_json::Map<String, J>,
    /// What was sent and what came back, for the run record (masked before it is stored).
    pub request: J,
    pub response: J,
    /// The system the step reached (`bots::transport::target_of`), when it reached one.
    pub target: Option<String>,
}

/// A step that failed.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    /// Timeouts, connection errors, 5xx and 429 are worth retrying; a 4xx or a bad answer is not.
    pub retryable: bool,
    /// The server's `Retry-After`, when it gave one.
    pub retry_after: Option<Duration>,
    pub request: J,
    pub response: J,
    /// Set when the legacy system could not be reached at all: the run waits for it to come
    /// back instead of spending an attempt (see `bots::outage`).
    pub down: Option<Box<Down>>,
}

/// A legacy system found down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    /// Scheme, host and port (`bots::transport::target_of`), never credentials.
    pub target: String,
    /// What a person reads: "connection refused".
    pub reason: String,
}

impl Failure {
    pub fn fatal(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            retryable: false,
            retry_after: None,
            request: J::Null,
            response: J::Null,
            down: None,
        }
    }
    /// The system at `target` could not be reached.
    pub fn down(target: String, reason: String) -> Failure {
        let message = format!("{target} is down: {reason}");
        Failure { down: Some(Box::new(Down { target, reason })), ..Failure::transient(message) }
    }
    pub fn transient(message: impl Into<String>) -> Failure {
        Failure { retryable: true, ..Failure::fatal(message) }
    }
}

pub type Result = std::result::Result<Done, Failure>;

impl Env<'_> {
    /// Renders `cfg[key]` as text for `place`; `None` when the key is absent.
    pub fn text(&self, cfg: &J, key: &str, place: Place) -> std::result::Result<Option<String>, Failure> {
        cfg.get(key).map(|v| self.render(v, place)).transpose()
    }

    pub fn render(&self, v: &J, place: Place) -> std::result::Result<String, Failure> {
        let src = match v {
            J::String(s) => s.clone(),
            other => other.to_string(),
        };
        self.renderer.text(&src, place, self.ctx).map_err(|e| Failure::fatal(format!("template: {e}")))
    }

    /// Renders a mapping of names to templates (headers, form fields…).
    pub fn map(&self, cfg: &J, key: &str) -> std::result::Result<Vec<(String, String)>, Failure> {
        let Some(m) = cfg.get(key).and_then(J::as_object) else { return Ok(vec![]) };
        m.iter().map(|(k, v)| Ok((k.clone(), self.render(v, Place::Data)?))).collect()
    }

    pub fn json(&self, v: &J) -> std::result::Result<J, Failure> {
        self.renderer.json(v, self.ctx).map_err(|e| Failure::fatal(format!("template: {e}")))
    }
}

/// Applies the step's `extract:` expressions to an answer.
pub fn extract_all(cfg: &J, answer: &Answer, out: &mut serde_json::Map<String, J>) -> std::result::Result<(), String> {
    for (name, expr) in cfg.get("extract").and_then(J::as_object).into_iter().flatten() {
        let expr = expr.as_str().unwrap_or("");
        out.insert(name.clone(), extract::extract(expr, answer).map_err(|e| format!("extract `{name}`: {e}"))?);
    }
    Ok(())
}

/// The first `limit` characters of a body, for run records.
pub fn excerpt(body: &str, limit: usize) -> String {
    match body.char_indices().nth(limit) {
        Some((i, _)) => format!("{}… ({} bytes in all)", &body[..i], body.len()),
        None => body.to_string(),
    }
}

//! `escalate`: the run stops and a business item, with this message, waits for a person (who
//! retries, continues after the step, or ends the run).

use crate::bots::kinds::{Act, Kind, Shape, DEFAULT_TIMEOUT};
use crate::bots::render::{Context, Place, Renderer};
use serde_json::Value as J;

pub const KIND: Kind = Kind {
    name: "escalate",
    doc: "Stop the run and put a business exception on the queue with this message.",
    shape: Shape::Message,
    one_of: &[],
    required: &[],
    binds: &[],
    literal: &[],
    act: Act::Escalate,
    summary: |cfg, r, ctx| Ok(serde_json::json!({ "message": message(cfg, r, ctx)? })),
    keeps_cookies: false,
    default_timeout: DEFAULT_TIMEOUT,
};

/// The message for the agent, rendered.
pub fn message(cfg: &J, r: &Renderer, ctx: &Context) -> Result<String, String> {
    r.text(cfg.as_str().unwrap_or(""), Place::Data, ctx)
}

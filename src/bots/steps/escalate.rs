//! `escalate`: the run stops and a business item, with this message, waits for a person (who
//! retries, continues after the step, or ends the run).

use crate::bots::kinds::{Act, Kind, Shape, BASE};
use crate::bots::render::{Context, Place, Renderer};
use serde_json::Value as J;

pub const KIND: Kind = Kind {
    name: "escalate",
    doc: "Stop the run and put a business exception on the queue with this message.",
    shape: Shape::Message,
    act: Act::Escalate,
    summary: |cfg, r, ctx| Ok(serde_json::json!({ "message": message(cfg, r, ctx)? })),
    ..BASE
};

/// The message for the agent, rendered.
pub fn message(cfg: &J, r: &Renderer, ctx: &Context) -> Result<String, String> {
    r.text(cfg.as_str().unwrap_or(""), Place::Data, ctx)
}

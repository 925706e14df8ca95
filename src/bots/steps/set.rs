//! `set`: variables for the steps after it (`{{ vars.NAME }}`), from templates.

use crate::bots::kinds::{Act, Kind, Shape, BASE};
use crate::bots::render::{Context, Renderer};
use serde_json::Value as J;

pub const KIND: Kind = Kind {
    name: "set",
    doc: "Set variables: name → value (templates allowed).",
    shape: Shape::Variables,
    act: Act::Set,
    summary: |cfg, r, ctx| r.json(cfg, ctx),
    ..BASE
};

/// The values `set` gives, rendered.
pub fn values(cfg: &J, r: &Renderer, ctx: &Context) -> Result<serde_json::Map<String, J>, String> {
    Ok(r.json(cfg, ctx)?.as_object().cloned().unwrap_or_default())
}

//! `foreach`: its steps once per item of a list (an invoice's lines), the item under `as`
//! (default `item`) and its position, from 1, as `loop_index`.

use crate::bots::kinds::{key, Act, BASE, Bind, Kind, Shape, Value};
use crate::bots::render::{Context, Renderer};
use serde_json::{json, Value as J};

pub const KIND: Kind = Kind {
    name: "foreach",
    doc: "Run steps once per item of a list (e.g. invoice lines); `loop_index` is the item's position, from 1.",
    shape: Shape::Keys(&[
        key("items", Value::Template, "the list, e.g. \"{{ doc.fields.lines }}\""),
        key("as", Value::Template, "the loop variable's name (default `item`)"),
        key("steps", Value::Steps, "the steps to run for each item"),
    ]),
    required: &["items", "steps"],
    binds: &[Bind { key: Some("as"), default: "item" }, Bind { key: None, default: "loop_index" }],
    act: Act::Foreach,
    summary: |cfg, _, _| Ok(cfg.clone()),
    ..BASE
};

/// The loop variable's name.
pub fn name(cfg: &J) -> String {
    cfg.get("as").and_then(J::as_str).unwrap_or("item").to_string()
}

/// The items, rendered: a list as it is, a mapping as its entries (`key`, `value`), nothing as
/// none, anything else as one item.
pub fn items(cfg: &J, r: &Renderer, ctx: &Context) -> Result<Vec<J>, String> {
    let src = cfg.get("items").cloned().unwrap_or(J::Null);
    Ok(match r.json(&src, ctx)? {
        J::Array(a) => a,
        J::Null => vec![],
        J::Object(m) => m.into_iter().map(|(k, v)| json!({ "key": k, "value": v })).collect(),
        other => vec![other],
    })
}

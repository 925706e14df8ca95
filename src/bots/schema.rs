//! The JSON Schema of definition files (`clerk schema`), generated from the step-kind table so an
//! editor completes and checks bot files exactly as `clerk check` does.

use super::kinds::{Key, Kind, Shape, Value, STEP_KEYS};
use super::steps::KINDS;
use serde_json::{json, Map, Value as J};

fn value_schema(v: Value) -> J {
    match v {
        Value::Template => json!({ "type": "string" }),
        Value::Map => json!({ "type": "object" }),
        Value::Any => json!({}),
        Value::List => json!({ "type": "array" }),
        Value::Duration => json!({ "type": "string", "pattern": "^[0-9.]+(ms|s|m|min|h)?$" }),
        Value::Bool => json!({ "type": "boolean" }),
        Value::Integer => json!({ "type": "integer" }),
        Value::Steps => json!({ "type": "array", "items": { "$ref": "#/$defs/step" } }),
        Value::Step => json!({ "$ref": "#/$defs/step" }),
    }
}

fn described(v: Value, doc: &str) -> J {
    let mut s = value_schema(v);
    s["description"] = J::from(doc);
    s
}

/// JSON Schema properties for a list of keys, with their documentation.
fn properties(keys: &[Key]) -> Map<String, J> {
    keys.iter()
        .map(|key| {
            let mut s = value_schema(key.value);
            s["description"] = J::from(key.doc);
            (key.name.to_string(), s)
        })
        .collect()
}

fn kind_schema(k: &Kind) -> J {
    match k.shape {
        Shape::Message => json!({ "type": "string", "description": k.doc }),
        Shape::Variables => json!({ "type": "object", "description": k.doc }),
        Shape::Keys(keys) => {
            let props = properties(keys);
            let mut s =
                json!({ "type": "object", "description": k.doc, "properties": props, "additionalProperties": false });
            if !k.required.is_empty() {
                s["required"] = json!(k.required);
            }
            if !k.one_of.is_empty() {
                s["oneOf"] = J::Array(k.one_of.iter().map(|m| json!({ "required": [m] })).collect());
            }
            s
        }
    }
}

pub fn schema() -> J {
    let mut step_props = properties(STEP_KEYS);
    for k in KINDS {
        step_props.insert(k.name.to_string(), kind_schema(k));
    }
    let retry = json!({
        "type": "object", "additionalProperties": false,
        "description": "how a failing step is tried again (each step may set its own)",
        "properties": {
            "attempts": { "type": "integer", "minimum": 1, "description": "attempts in all, the first included (default 3)" },
            "backoff": described(Value::Duration, "the wait before the second attempt, doubled for each next one (default 2s)"),
            "max_backoff": described(Value::Duration, "the longest wait between attempts (default 5m)"),
            "while_down": described(Value::Duration, "how long runs wait, queued, for a legacy system that refuses connections before they fail (default 4h)")
        }
    });
    let doctype = json!({
        "type": "object", "required": ["doctype", "match"], "additionalProperties": false,
        "properties": {
            "doctype": { "type": "string", "description": "the document type's name" },
            "description": { "type": "string", "description": "what the type is, for people" },
            "priority": { "type": "integer", "description": "higher wins when several types match" },
            "match": {
                "type": "object", "additionalProperties": false,
                "description": "how a document of this type is recognised: every condition given must hold",
                "properties": {
                    "all": { "type": ["array", "string"], "description": "regexes that must all match (case-insensitive)" },
                    "any": { "type": ["array", "string"], "description": "at least one must match" },
                    "none": { "type": ["array", "string"], "description": "none may match" },
                    "e-invoice": { "enum": ["any", "invoice", "credit-note"], "description": "documents carrying an EN 16931 e-invoice (CII, UBL, Factur-X/ZUGFeRD) of this kind; fields are the invoice model's, checked by the norm's rules" },
                    "reader": { "enum": ["invoice", "credit-note"], "description": "documents the generic invoice reader reads as this kind, by their labels in eight languages (a number's or title's label, and a total)" },
                    "barcode": { "type": "string", "description": "a regex one of the document's barcodes must match (case-sensitive), like ^ASN\\d+$" }
                }
            },
            "extract": {
                "type": "object", "required": ["reader"], "additionalProperties": false,
                "description": "fields read by a built-in reader besides the type's own",
                "properties": {
                    "reader": { "enum": ["invoice"], "description": "the generic invoice reader fills the EN 16931 fields the type's own fields do not" },
                    "required": { "type": "array", "items": { "type": "string" }, "description": "fields that must be found and sure for the document to go straight through" }
                }
            },
            "sla": { "type": "string", "description": "how long a document of this type may wait in the exception queue, like 4h" },
            "auto_apply": { "type": "number", "description": "a confidence from 0.5 to below 1: documents the learner puts under this type that surely are classified without an agent" },
            "fields": {
                "type": "object",
                "description": "field name: a regex whose first group is the value, or { regex | barcode, type, required, date_formats, decimal_separator }",
                "additionalProperties": {
                    "oneOf": [
                        { "type": "string", "description": "a regex; the value is its first capture group" },
                        {
                            "type": "object", "additionalProperties": false,
                            "oneOf": [{ "required": ["regex"] }, { "required": ["barcode"] }],
                            "properties": {
                                "regex": { "type": "string" },
                                "barcode": { "type": "string", "description": "a regex read from the texts of the document's barcodes instead of its text" },
                                "type": { "enum": ["string", "integer", "amount", "date", "iban"] },
                                "required": { "type": "boolean" },
                                "date_formats": { "type": "array", "items": { "type": "string" } },
                                "decimal_separator": { "enum": [",", "."] }
                            }
                        }
                    ]
                }
            }
        }
    });
    let bot = json!({
        "type": "object", "required": ["bot", "steps"], "additionalProperties": false,
        "properties": {
            "bot": { "type": "string", "description": "the bot's name" },
            "description": { "type": "string", "description": "what the bot does, for people" },
            "on": {
                "description": "when it runs: `manual`, { doctype, when } for each recognised document of a type, or { schedule: cron }",
                "oneOf": [
                    { "const": "manual" },
                    { "type": "object", "additionalProperties": false, "required": ["doctype"],
                      "properties": { "doctype": { "type": "string" }, "when": { "type": "string" } } },
                    { "type": "object", "additionalProperties": false, "required": ["schedule"],
                      "properties": { "schedule": { "type": "string", "description": "cron: minute hour day month weekday (UTC)" } } }
                ]
            },
            "concurrency": { "type": "integer", "minimum": 1, "description": "runs of this bot at once (default 1)" },
            "sla": { "type": "string", "description": "how long an item this bot escalates may wait in the exception queue, like 4h" },
            "retry": retry,
            "timeout": described(Value::Duration, "a step attempt's deadline unless the step sets one"),
            "secrets": { "type": "array", "items": { "type": "string", "pattern": "^[A-Z0-9_]+$" }, "description": "secrets the steps use as {{ secrets.NAME }}: from CLERK_SECRET_NAME or the secrets file, masked in every log" },
            "vars": { "type": "object", "description": "values the steps use as {{ vars.NAME }}" },
            "steps": { "type": "array", "items": { "$ref": "#/$defs/step" }, "description": "what the bot does, in order" }
        }
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "clerk definition file",
        "description": "A document type (`doctype:`) or a bot (`bot:`).",
        "oneOf": [ { "$ref": "#/$defs/doctype" }, { "$ref": "#/$defs/bot" } ],
        "$defs": {
            "doctype": doctype,
            "bot": bot,
            "step": { "type": "object", "properties": step_props, "additionalProperties": false }
        }
    })
}

//! invoice2data templates (YAML or JSON, one per supplier) loaded as document types, so a team
//! moving from invoice2data keeps its templates. Mapping:
//! - `keywords` must all be found (case-sensitive, as in invoice2data), `exclude_keywords` none;
//! - `fields`: a regex, a list of regexes (first match wins), `static_*` constants, or
//!   `{parser: regex|static, regex|value, type: float|int|date}`; `date*` fields are dates and
//!   `amount*` fields amounts unless a type says otherwise;
//! - `options`: `currency` becomes a `currency` field, `date_formats` and `decimal_separator` apply
//!   to the fields, `replace`, `remove_whitespace`, `remove_accents` and `lowercase` prepare the text;
//! - `required_fields`, or else those of date, amount and invoice_number the template defines.
//!
//! What clerk does not do yet (line items, `group: sum`…) is a warning naming the key: the rest of
//! the template stays active. A regex Rust's engine cannot run (look-around, back-references) is
//! an error at its position.

use super::doctype::{build_regex, is_identifier, valid_date_format};
use super::yaml::{Node, Value};
use super::Diagnostics;
use crate::classify::doctype::{DocType, FieldDef, Prepare};
use crate::classify::fields::FieldType;
use regex::{Regex, RegexBuilder};

const KEYS: &[&str] = &[
    "issuer",
    "keywords",
    "exclude_keywords",
    "fields",
    "options",
    "priority",
    "required_fields",
    "lines",
    "tables",
    "input_module",
    "country_code",
];
const OPTION_KEYS: &[&str] = &[
    "currency",
    "date_formats",
    "decimal_separator",
    "languages",
    "replace",
    "remove_whitespace",
    "remove_accents",
    "lowercase",
];
const FIELD_KEYS: &[&str] = &["parser", "regex", "value", "type", "group"];

pub fn decode(doc: &Node, name: &str, version: &str, diag: &mut Diagnostics) -> Option<DocType> {
    let before = diag.errors();
    let mut skipped: Vec<String> = vec![];
    for (k, v) in doc.as_map().unwrap_or_default() {
        match k.as_str().unwrap_or("") {
            "lines" | "tables" => {
                skipped.push(k.as_str().unwrap_or("").to_string());
                diag.warn(k.pos, format!("`{}`: line items are not extracted yet; the template's other fields are", k.as_str().unwrap_or("")))
            }
            "input_module" => diag.warn(v.pos, "`input_module` is ignored: clerk always reads the PDF text layer laid out as `pdftotext -layout` does, with OCR for scans"),
            key if !KEYS.contains(&key) => diag.warn(k.pos, format!("unknown invoice2data key `{key}` is ignored")),
            _ => {}
        }
    }
    let issuer = doc.get("issuer").and_then(Node::as_str).map(str::to_string);
    if issuer.is_none() {
        diag.warn(doc.pos, "no `issuer:`; documents of this type get no issuer field");
    }
    // The type is named after the file, with anything unusable in a name made a `-`.
    let name: String =
        name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '-' }).collect();
    if !is_identifier(&name) {
        diag.error(doc.pos, format!("the file name `{name}` cannot name a document type"));
    }
    let keywords = regex_list(doc.get("keywords"), "keywords", diag);
    if keywords.is_empty() {
        diag.error(
            doc.get("keywords").map(|k| k.pos).unwrap_or(doc.pos),
            "`keywords` must list at least one keyword, or the template would match every document",
        );
    }
    let exclude = regex_list(doc.get("exclude_keywords"), "exclude_keywords", diag);
    let priority = match doc.get("priority") {
        None => 5, // invoice2data's default
        Some(n) => n.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            diag.error(n.pos, "`priority` must be a whole number");
            5
        }),
    };

    let options = doc.get("options");
    for (k, _) in options.and_then(Node::as_map).unwrap_or_default() {
        let key = k.as_str().unwrap_or("");
        if !OPTION_KEYS.contains(&key) {
            diag.warn(k.pos, format!("unknown option `{key}` is ignored; clerk knows: {}", OPTION_KEYS.join(", ")));
        }
    }
    let opt = |k: &str| options.and_then(|o| o.get(k));
    let flag = |k: &str, diag: &mut Diagnostics| match opt(k) {
        None => false,
        Some(n) if matches!(n.value, Value::Null) => false,
        // Python reads a non-empty list as true, and some templates write `- True`.
        Some(n) if n.as_seq().is_some() => !n.as_seq().unwrap_or_default().is_empty(),
        Some(n) => match n.as_str() {
            Some("true" | "True") => true,
            Some("false" | "False") => false,
            _ => {
                diag.error(n.pos, format!("`options.{k}` must be true or false"));
                false
            }
        },
    };
    let mut date_formats = vec![];
    for f in opt("date_formats").map(Node::items).unwrap_or_default() {
        match f.as_str() {
            Some(s) if valid_date_format(s) => date_formats.push(s.to_string()),
            _ => diag.error(f.pos, format!("`{}` is not a strftime date format", f.as_str().unwrap_or("?"))),
        }
    }
    let decimal_separator = opt("decimal_separator").and_then(|d| match d.as_str() {
        Some(",") => Some(','),
        Some(".") => Some('.'),
        _ => {
            diag.error(d.pos, "`decimal_separator` must be ',' or '.'");
            None
        }
    });
    let mut prepare = Prepare {
        remove_whitespace: flag("remove_whitespace", diag),
        remove_accents: flag("remove_accents", diag),
        lowercase: flag("lowercase", diag),
        replace: vec![],
    };
    for pair in opt("replace").map(Node::items).unwrap_or_default() {
        match pair.as_seq() {
            Some([from, to]) => {
                if let (Some(re), Some(to)) = (
                    compile(from, "options.replace", diag),
                    to.as_str().or(matches!(to.value, Value::Null).then_some("")),
                ) {
                    // Python's \1 in a replacement is ${1} here.
                    let to = Regex::new(r"\\(\d+)").unwrap().replace_all(to, "$${$1}").into_owned();
                    prepare.replace.push((re, to));
                }
            }
            _ => diag.error(pair.pos, "each `options.replace` entry must be a pair: [pattern, replacement]"),
        }
    }

    let mut fields = Vec::new();
    if let Some(f) = doc.get("fields") {
        match f.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    match decode_field(k, v, &date_formats, decimal_separator, diag) {
                        Some(field) => fields.push(field),
                        None => skipped.push(k.as_str().unwrap_or("").to_string()),
                    }
                }
            }
            None => diag.error(f.pos, format!("`fields` must be a mapping, found {}", f.kind_name())),
        }
    }
    let string_field = |name: &str, value: String| FieldDef {
        name: name.into(),
        regexes: vec![],
        value: Some(value),
        ty: FieldType::String,
        required: false,
        date_formats: vec![],
        decimal_separator: None,
    };
    if let Some(issuer) = &issuer {
        fields.push(string_field("issuer", issuer.clone()));
    }
    if let Some(c) = opt("currency").and_then(Node::as_str) {
        fields.push(string_field("currency", c.to_string()));
    }
    match doc.get("required_fields") {
        Some(r) => {
            for item in r.items() {
                let n = item.as_str().unwrap_or("");
                match fields.iter_mut().find(|f| f.name == n) {
                    Some(f) => f.required = true,
                    None if skipped.iter().any(|s| s == n) => diag
                        .warn(item.pos, format!("required field `{n}` is skipped (see above), so it is not required")),
                    None => diag.error(item.pos, format!("required field `{n}` is not defined in `fields`")),
                }
            }
        }
        None => {
            for f in fields.iter_mut().filter(|f| matches!(f.name.as_str(), "date" | "amount" | "invoice_number")) {
                f.required = true;
            }
        }
    }
    let has_prepare =
        prepare.remove_whitespace || prepare.remove_accents || prepare.lowercase || !prepare.replace.is_empty();
    (diag.errors() == before).then(|| DocType {
        name,
        priority,
        file: diag.file.to_path_buf(),
        defined_at: doc.as_map().and_then(|m| m.first()).map(|(k, _)| (k.pos.line, k.pos.col)).unwrap_or((1, 1)),
        version: version.to_string(),
        match_all: keywords,
        match_any: vec![],
        match_none: exclude,
        fields,
        prepare: has_prepare.then_some(prepare),
    })
}

fn regex_list(node: Option<&Node>, what: &str, diag: &mut Diagnostics) -> Vec<Regex> {
    node.map(Node::items).unwrap_or_default().into_iter().filter_map(|n| compile(n, what, diag)).collect()
}

/// Compiles a Python `re` pattern as invoice2data uses it: case-sensitive, `^`/`$` at the ends of
/// the text. The flags are written into the pattern, so it keeps them inside a shared RegexSet.
fn compile(node: &Node, what: &str, diag: &mut Diagnostics) -> Option<Regex> {
    build_regex(node, what, diag, |src| {
        // Python spells end-of-text `\Z`; Rust `\z`.
        let src = src.replace(r"\Z", r"\z");
        RegexBuilder::new(&format!("(?-im:{src})")).size_limit(16 << 20).build()
    })
}

/// A field definition, or None when it is skipped (with a warning) or wrong (with an error).
fn decode_field(
    key: &Node,
    value: &Node,
    date_formats: &[String],
    decimal_separator: Option<char>,
    diag: &mut Diagnostics,
) -> Option<FieldDef> {
    let raw_name = key.as_str().unwrap_or_default();
    let what = format!("fields.{raw_name}");
    let name = raw_name.strip_prefix("static_").unwrap_or(raw_name).to_string();
    let mut ty = if name.starts_with("date") {
        FieldType::Date
    } else if name.starts_with("amount") {
        FieldType::Amount
    } else {
        FieldType::String
    };
    let mut def = FieldDef {
        name,
        regexes: vec![],
        value: None,
        ty,
        required: false,
        date_formats: date_formats.to_vec(),
        decimal_separator,
    };
    if raw_name.starts_with("static_") {
        def.value = value.as_str().map(str::to_string);
        def.ty = FieldType::String;
        if def.value.is_none() {
            diag.warn(key.pos, format!("`{raw_name}` has no value, so it is skipped"));
            return None;
        }
        return Some(def);
    }
    match &value.value {
        Value::Scalar { .. } | Value::Seq(_) => {
            def.regexes = regex_list(Some(value), &what, diag);
        }
        Value::Map(entries) => {
            if !matches!(value.get("parser").and_then(Node::as_str), Some("lines")) {
                for (k, _) in entries.iter().filter(|(k, _)| !FIELD_KEYS.contains(&k.as_str().unwrap_or(""))) {
                    // invoice2data ignores such keys silently; often they are fields indented too far.
                    diag.warn(
                        k.pos,
                        format!(
                            "unknown key `{}` in field `{raw_name}` is ignored (indented too far?)",
                            k.as_str().unwrap_or("")
                        ),
                    );
                }
            }
            match value.get("parser").and_then(Node::as_str) {
                Some("regex") | None => def.regexes = regex_list(value.get("regex"), &format!("{what}.regex"), diag),
                Some("static") => {
                    def.value = value.get("value").and_then(Node::as_str).map(str::to_string);
                    ty = FieldType::String;
                }
                Some("lines") => {
                    diag.warn(value.pos, format!("field `{raw_name}` uses the `lines` parser: line items are not extracted yet, so it is skipped"));
                    return None;
                }
                Some(other) => {
                    diag.warn(
                        value.pos,
                        format!(
                            "field `{raw_name}` uses the `{other}` parser, which clerk does not have; it is skipped"
                        ),
                    );
                    return None;
                }
            }
            if let Some(t) = value.get("type") {
                ty = match t.as_str() {
                    Some("float") => FieldType::Amount,
                    Some("int") => FieldType::Integer,
                    Some("date") => FieldType::Date,
                    _ => {
                        diag.error(t.pos, "field `type` must be float, int or date");
                        ty
                    }
                };
            }
            def.ty = ty;
            if let Some(g) = value.get("group") {
                if g.as_str() != Some("first") {
                    diag.warn(
                        g.pos,
                        format!("`group: {}` is not supported yet: the first match is used", g.as_str().unwrap_or("?")),
                    );
                }
            }
        }
        Value::Null => {
            diag.error(value.pos, format!("field `{raw_name}` has no regex"));
            return None;
        }
    }
    if def.regexes.is_empty() && def.value.is_none() {
        return None;
    }
    Some(def)
}

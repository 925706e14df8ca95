//! Decoding a `doctype:` definition from its YAML tree, reporting every problem with its place.

use super::yaml::{Node, Value};
use super::Diagnostics;
use crate::classify::doctype::{DocType, EInvoiceKind, Extract, FieldDef, Native, Rules};
use crate::classify::fields::FieldType;
use regex::{Regex, RegexBuilder};

const KEYS: &[&str] = &["doctype", "description", "priority", "match", "fields", "extract", "sla", "auto_apply"];
const EXTRACT_KEYS: &[&str] = &["reader", "required"];
const MATCH_KEYS: &[&str] = &["all", "any", "none", "e-invoice", "reader", "barcode"];
const FIELD_KEYS: &[&str] = &["regex", "barcode", "type", "required", "date_formats", "decimal_separator"];

pub fn decode(doc: &Node, version: &str, diag: &mut Diagnostics) -> Option<DocType> {
    let before = diag.errors();
    diag.unknown_keys(doc, "a document type", KEYS);
    let name_node = doc.get("doctype")?;
    let name = match name_node.as_str() {
        Some(n) if is_identifier(n) => n.to_string(),
        _ => {
            diag.error(name_node.pos, "`doctype` must be a name of letters, digits, `_`, `-` or `.`, like `invoice`");
            String::new()
        }
    };
    let priority = match doc.get("priority") {
        None => 0,
        Some(n) => match n.as_str().and_then(|s| s.parse::<i64>().ok()) {
            Some(p) => p,
            None => {
                diag.error(n.pos, "`priority` must be a whole number (higher wins when several types match)");
                0
            }
        },
    };
    let sla = doc.get("sla").map(|n| super::sla(n, diag));
    let auto_apply = doc.get("auto_apply").and_then(|n| match n.as_str().and_then(|s| s.parse::<f64>().ok()) {
        Some(c) if (0.5..1.0).contains(&c) => Some(c),
        _ => {
            diag.error(
                n.pos,
                "`auto_apply` must be a confidence from 0.5 to below 1, like 0.9: documents the learner \
                 puts under this type at least that surely are classified without an agent",
            );
            None
        }
    });
    let (mut all, mut any, mut none) = (vec![], vec![], vec![]);
    let mut einvoice = None;
    let mut reader = None;
    let mut barcode = None;
    match doc.get("match") {
        None => diag
            .error(doc.pos, format!("document type `{name}` has no `match:` rules, so it could never be recognised")),
        Some(m) if m.get("e-invoice").is_some() => {
            diag.unknown_keys(m, "`match`", MATCH_KEYS);
            let kind = m.get("e-invoice").unwrap();
            einvoice = kind.as_str().and_then(EInvoiceKind::parse);
            if einvoice.is_none() {
                diag.error(kind.pos, "`e-invoice` takes `any`, `invoice` or `credit-note` (by the invoice's type code, BT-3)");
            }
            if let Some(other) = ["all", "any", "none", "reader", "barcode"].iter().find(|k| m.get(k).is_some()) {
                diag.error(m.pos, format!("`match` with `e-invoice` reads the invoice's XML, not its text: `{other}` cannot stand beside it"));
            }
            if let Some(f) = doc.get("fields") {
                diag.error(f.pos, "an e-invoice type's fields are the EN 16931 invoice model's (invoice_number, total, lines, …): `fields` cannot be set");
            }
        }
        Some(m) if m.as_map().is_some() => {
            diag.unknown_keys(m, "`match`", MATCH_KEYS);
            all = patterns(m.get("all"), "match.all", true, diag);
            any = patterns(m.get("any"), "match.any", true, diag);
            none = patterns(m.get("none"), "match.none", true, diag);
            if let Some(r) = m.get("reader") {
                reader = r.as_str().and_then(crate::classify::generic::DocKind::parse);
                if reader.is_none() {
                    diag.error(r.pos, "`reader` takes `invoice` or `credit-note`: what the generic invoice reader must read the document as, by its labels");
                }
            }
            // A barcode's text is matched as it is (case matters: `ASN` is not `asn`).
            barcode = m.get("barcode").and_then(|b| compile(b, "match.barcode", false, diag));
            if all.is_empty()
                && any.is_empty()
                && ["all", "any", "reader", "barcode"].iter().all(|k| m.get(k).is_none())
            {
                diag.error(m.pos, "`match` needs at least one `all:` or `any:` pattern, `reader: invoice` or `barcode:`");
            }
        }
        Some(m) => diag.error(
            m.pos,
            format!("`match` must be a mapping with `all`, `any`, `none`, `reader` and/or `barcode`, found {}", m.kind_name()),
        ),
    }
    let mut fields = Vec::new();
    if let Some(f) = doc.get("fields") {
        match f.as_map() {
            None if matches!(f.value, Value::Null) => {}
            None => diag.error(f.pos, format!("`fields` must be a mapping of field names, found {}", f.kind_name())),
            Some(entries) => {
                for (k, v) in entries {
                    if let Some(field) = decode_field(k, v, diag) {
                        fields.push(field);
                    }
                }
            }
        }
    }
    let extract = doc.get("extract").and_then(|x| decode_extract(x, diag));
    if let (Some(x), Some(_)) = (doc.get("extract"), einvoice) {
        diag.error(x.pos, "an e-invoice type reads the invoice's XML: `extract` cannot be set");
    }
    (diag.errors() == before).then(|| DocType {
        name,
        priority,
        file: diag.file.to_path_buf(),
        defined_at: (name_node.pos.line, name_node.pos.col),
        version: version.to_string(),
        rules: match einvoice {
            Some(kind) => Rules::EInvoice(kind),
            None => Rules::Native(Native {
                match_all: all,
                match_any: any,
                match_none: none,
                match_reader: reader,
                match_barcode: barcode,
                fields,
                extract,
            }),
        },
        sla,
        auto_apply,
    })
}

/// `extract: { reader: invoice, required: [invoice_number, total] }`.
fn decode_extract(node: &Node, diag: &mut Diagnostics) -> Option<Extract> {
    if node.as_map().is_none() {
        diag.error(node.pos, "`extract` must be a mapping like `{ reader: invoice, required: [invoice_number, total] }`");
        return None;
    }
    diag.unknown_keys(node, "`extract`", EXTRACT_KEYS);
    match node.get("reader") {
        Some(r) if r.as_str() == Some("invoice") => {}
        Some(r) => {
            diag.error(r.pos, "`reader` must be `invoice` (the generic invoice reader), the only reader there is");
            return None;
        }
        None => {
            diag.error(node.pos, "`extract` needs `reader: invoice`");
            return None;
        }
    }
    let mut required = vec![];
    if let Some(r) = node.get("required") {
        for item in list_items(r, "`required` must be a list of field names", diag) {
            match item.as_str() {
                Some(name) if crate::classify::generic::FIELDS.contains(&name) || name == crate::classify::generic::LINES => {
                    required.push(name.to_string())
                }
                _ => diag.error(
                    item.pos,
                    format!("the invoice reader fills {} and lines; it has no field {:?}", crate::classify::generic::FIELDS.join(", "), item.as_str().unwrap_or("")),
                ),
            }
        }
    }
    Some(Extract { required })
}

/// A list's items, or a single value as a list of one; anything else is reported with `problem`.
fn list_items<'a>(node: &'a Node, problem: &str, diag: &mut Diagnostics) -> Vec<&'a Node> {
    match &node.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Scalar { .. } => vec![node],
        _ => {
            diag.error(node.pos, problem);
            vec![]
        }
    }
}

pub(super) fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// A list of regexes, or a single one.
fn patterns(node: Option<&Node>, what: &str, case_insensitive: bool, diag: &mut Diagnostics) -> Vec<Regex> {
    let Some(node) = node else { return vec![] };
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Scalar { .. } => vec![node],
        Value::Null => vec![],
        Value::Map(_) => {
            diag.error(node.pos, format!("`{what}` must be a list of regular expressions"));
            return vec![];
        }
    };
    items.into_iter().filter_map(|n| compile(n, what, case_insensitive, diag)).collect()
}

pub(super) fn compile(node: &Node, what: &str, case_insensitive: bool, diag: &mut Diagnostics) -> Option<Regex> {
    build_regex(node, what, diag, |src| {
        RegexBuilder::new(src).case_insensitive(case_insensitive).multi_line(true).size_limit(16 << 20).build()
    })
}

/// Builds the regex in `node` with `build`, reporting a non-text node or a pattern the engine
/// rejects at the node's position, with the engine's own explanation.
pub(super) fn build_regex(
    node: &Node,
    what: &str,
    diag: &mut Diagnostics,
    build: impl FnOnce(&str) -> Result<Regex, regex::Error>,
) -> Option<Regex> {
    let Some(src) = node.as_str() else {
        diag.error(node.pos, format!("`{what}` must be a regular expression (text), found {}", node.kind_name()));
        return None;
    };
    match build(src) {
        Ok(r) => Some(r),
        Err(e) => {
            let detail = e.to_string();
            let last = detail.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("invalid").trim();
            let last = last.trim_start_matches("error: ");
            diag.error(node.pos, format!("invalid regular expression in `{what}`: {last}"));
            None
        }
    }
}

fn decode_field(key: &Node, value: &Node, diag: &mut Diagnostics) -> Option<FieldDef> {
    let name = key.as_str().unwrap_or_default().to_string();
    if !is_identifier(&name) {
        diag.error(key.pos, "a field name must be letters, digits, `_`, `-` or `.`");
        return None;
    }
    let what = format!("fields.{name}");
    // Shorthand: `total: 'Total:\s*(\S+)'`.
    if value.as_str().is_some() {
        let regex = compile(value, &what, false, diag)?;
        return Some(FieldDef {
            name,
            regexes: vec![regex],
            from_barcodes: false,
            ty: FieldType::String,
            required: false,
            date_formats: vec![],
            decimal_separator: None,
        });
    }
    if value.as_map().is_none() {
        diag.error(
            value.pos,
            format!("field `{name}` must be a regex or a mapping with `regex:`, found {}", value.kind_name()),
        );
        return None;
    }
    diag.unknown_keys(value, &format!("field `{name}`"), FIELD_KEYS);
    let before = diag.errors();
    // `regex:` reads the text; `barcode:` reads the texts of the document's barcodes.
    let (regex, from_barcodes) = match (value.get("regex"), value.get("barcode")) {
        (Some(r), None) => (compile(r, &format!("{what}.regex"), false, diag), false),
        (None, Some(b)) => (compile(b, &format!("{what}.barcode"), false, diag), true),
        (Some(_), Some(b)) => {
            diag.error(b.pos, format!("field `{name}` reads either the text (`regex:`) or a barcode (`barcode:`), not both"));
            (None, false)
        }
        (None, None) => {
            diag.error(value.pos, format!("field `{name}` has no `regex:` (or `barcode:`, to read it from a barcode)"));
            (None, false)
        }
    };
    let ty = match value.get("type") {
        None => FieldType::String,
        Some(t) => match t.as_str().and_then(FieldType::parse) {
            Some(ty) => ty,
            None => {
                diag.error(
                    t.pos,
                    format!(
                        "unknown field type `{}`; use one of: {}",
                        t.as_str().unwrap_or("?"),
                        FieldType::NAMES.join(", ")
                    ),
                );
                FieldType::String
            }
        },
    };
    let required = match value.get("required") {
        None => false,
        Some(r) => match r.as_str() {
            Some("true" | "yes" | "True") => true,
            Some("false" | "no" | "False") => false,
            _ => {
                diag.error(r.pos, "`required` must be true or false");
                false
            }
        },
    };
    let mut date_formats = vec![];
    if let Some(f) = value.get("date_formats") {
        for item in list_items(f, "`date_formats` must be a list of strftime formats like '%d.%m.%Y'", diag) {
            match item.as_str() {
                Some(s) if valid_date_format(s) => date_formats.push(s.to_string()),
                _ => diag.error(
                    item.pos,
                    format!(
                        "`{}` is not a date format; use strftime codes like '%d.%m.%Y'",
                        item.as_str().unwrap_or("?")
                    ),
                ),
            }
        }
        if ty != FieldType::Date {
            diag.error(
                f.pos,
                format!("`date_formats` only applies to fields of `type: date`, and `{name}` is not one"),
            );
        }
    }
    let decimal_separator = match value.get("decimal_separator") {
        None => None,
        Some(d) => match d.as_str() {
            Some(",") => Some(','),
            Some(".") => Some('.'),
            _ => {
                diag.error(d.pos, "`decimal_separator` must be ',' or '.'");
                None
            }
        },
    };
    if diag.errors() != before {
        return None;
    }
    Some(FieldDef { name, regexes: vec![regex?], from_barcodes, ty, required, date_formats, decimal_separator })
}

pub(super) fn valid_date_format(f: &str) -> bool {
    use chrono::format::{Item, StrftimeItems};
    f.contains('%') && StrftimeItems::new(f).all(|i| !matches!(i, Item::Error))
}

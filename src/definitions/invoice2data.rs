//! invoice2data templates (YAML or JSON, one per supplier) loaded as document types, read as
//! invoice2data 1.0.1 reads them (its `loader.py` and `InvoiceTemplate`): `keywords` and
//! `exclude_keywords` are plain text, `priority` defaults to 5, `issuer` to the first keyword,
//! `required_fields` to date, amount, invoice_number and issuer. What invoice2data would only
//! trip over while reading a document (a `lines` block without `start`, a regex Python rejects, a
//! language code that is not two letters) is an error here, at its line and column.

use super::yaml::{Node, Pos, Value};
use super::Diagnostics;
use crate::classify::dates;
use crate::classify::doctype::{DocType, Rules};
use crate::classify::invoice2data::area::Area;
use crate::classify::invoice2data::lines::{Rule, Table};
use crate::classify::invoice2data::value::Val;
use crate::classify::invoice2data::{Field, FieldKind, Group, Options, RegexField, Template, Type};
use crate::classify::pyre::{PyRegex, Replacement};
use std::sync::Arc;

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
    "template_name",
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
    "strict_fields",
    "extra_fields",
];
const RULE_KEYS: &[&str] = &["start", "end", "end_match", "line", "first_line", "last_line", "skip_line", "types"];

pub fn decode(doc: &Node, name: &str, file_name: &str, version: &str, diag: &mut Diagnostics) -> Option<DocType> {
    let before = diag.errors();
    for (k, v) in doc.as_map().unwrap_or_default() {
        match k.as_str().unwrap_or("") {
            "input_module" => diag.warn(v.pos, "`input_module` is ignored: clerk always reads the PDF text layer laid out as `pdftotext -layout` does, with OCR for scans"),
            key if !KEYS.contains(&key) => diag.warn(k.pos, format!("unknown invoice2data key `{key}` is ignored")),
            _ => {}
        }
    }
    // The type is named after the file, with anything unusable in a name made a `-`.
    let name: String =
        name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '-' }).collect();
    if !super::doctype::is_identifier(&name) {
        diag.error(doc.pos, format!("the file name `{name}` cannot name a document type"));
    }
    let keywords = texts(doc.get("keywords"));
    if keywords.is_empty() {
        diag.error(
            doc.get("keywords").map(|k| k.pos).unwrap_or(doc.pos),
            "`keywords` must list at least one keyword, or the template would match every document",
        );
    }
    let exclude_keywords = texts(doc.get("exclude_keywords"));
    let priority = match doc.get("priority") {
        None => 5,
        Some(n) => n.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            diag.error(n.pos, "`priority` must be a whole number");
            5
        }),
    };
    let issuer = doc.get("issuer").map(scalar).unwrap_or_else(|| Val::Str(keywords.first().cloned().unwrap_or_default()));
    let options = decode_options(doc.get("options"), diag);

    let mut fields = Vec::new();
    if let Some(f) = doc.get("fields") {
        match f.as_map() {
            Some(entries) => {
                for (k, v) in entries {
                    fields.extend(decode_field(k, v, diag));
                }
            }
            None if matches!(f.value, Value::Null) => {}
            None => diag.error(f.pos, format!("`fields` must be a mapping, found {}", f.kind_name())),
        }
    }
    let lines = doc.get("lines").and_then(|l| decode_rules(l, "lines", diag));
    let mut tables = vec![];
    if let Some(t) = doc.get("tables") {
        for item in t.items() {
            tables.extend(decode_table(item, diag));
        }
    }
    let required: Vec<String> = match doc.get("required_fields") {
        Some(r) => r.items().iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
        None => ["date", "amount", "invoice_number", "issuer"].map(String::from).to_vec(),
    };
    // A required field nothing can produce makes every document incomplete: say so at load.
    let produced = |n: &str| {
        matches!(n, "issuer" | "currency" | "desc")
            || fields.iter().any(|f| f.name == n)
            || (n == "lines" && lines.is_some())
            || tables.iter().any(|t: &Table| t.body.source.contains(&format!("(?P<{n}>")))
    };
    if let Some(r) = doc.get("required_fields") {
        for item in r.items() {
            if let Some(n) = item.as_str().filter(|n| !produced(n)) {
                diag.warn(item.pos, format!("required field `{n}` is extracted by nothing in this template, so every document it matches will be incomplete"));
            }
        }
    }
    let template = Template {
        template_name: file_name.to_string(),
        issuer,
        keywords,
        exclude_keywords,
        options,
        fields,
        lines,
        tables,
        required,
    };
    (diag.errors() == before).then(|| DocType {
        sla: None,
        auto_apply: None,
        name,
        priority,
        file: diag.file.to_path_buf(),
        defined_at: doc.as_map().and_then(|m| m.first()).map(|(k, _)| (k.pos.line, k.pos.col)).unwrap_or((1, 1)),
        version: version.to_string(),
        rules: Rules::Invoice2data(Box::new(template)),
    })
}

/// A scalar as PyYAML's SafeLoader types it (YAML 1.1): null, bool, int, float, date or text.
fn scalar(node: &Node) -> Val {
    let (text, quoted) = match &node.value {
        Value::Null => return Val::Null,
        Value::Scalar { text, quoted } => (text.as_str(), *quoted),
        _ => return Val::Str(String::new()),
    };
    if quoted {
        return Val::Str(text.to_string());
    }
    match text {
        "~" | "null" | "Null" | "NULL" | "" => return Val::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => return Val::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => return Val::Bool(false),
        _ => {}
    }
    // YAML 1.1 integers: decimal, and the octal (`0416…`), hex and binary forms PyYAML reads.
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let int = |s: &str, radix: u32| i64::from_str_radix(&s.replace('_', ""), radix).ok().map(|i| Val::Int(sign * i));
    let all = |s: &str, f: fn(char) -> bool| !s.is_empty() && s.chars().all(|c| f(c) || c == '_');
    if let Some(hex) = digits.strip_prefix("0x").filter(|h| all(h, |c| c.is_ascii_hexdigit())) {
        return int(hex, 16).unwrap_or(Val::Str(text.into()));
    }
    if let Some(bin) = digits.strip_prefix("0b").filter(|b| all(b, |c| c == '0' || c == '1')) {
        return int(bin, 2).unwrap_or(Val::Str(text.into()));
    }
    if digits.len() > 1 && digits.starts_with('0') && all(&digits[1..], |c| ('0'..='7').contains(&c)) {
        return int(&digits[1..], 8).unwrap_or(Val::Str(text.into()));
    }
    if all(digits, |c| c.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0')) {
        if let Some(v) = int(digits, 10) {
            return v;
        }
    }
    if digits.contains('.') && digits.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '_' | 'e' | 'E' | '-' | '+')) {
        if let Ok(f) = text.replace('_', "").parse() {
            return Val::Float(f);
        }
    }
    if let Some(d) = dates::strptime(text, "%Y-%m-%d").filter(|_| text.len() >= 8 && text.as_bytes()[4] == b'-') {
        return Val::Date(d);
    }
    Val::Str(text.to_string())
}

/// A list of texts, or one text standing for a list of one (keywords).
fn texts(node: Option<&Node>) -> Vec<String> {
    node.map(Node::items).unwrap_or_default().into_iter().map(|n| scalar(n).py_str()).filter(|s| s != "None").collect()
}

fn flag(node: Option<&Node>, what: &str, diag: &mut Diagnostics) -> bool {
    match node.map(scalar) {
        None => false,
        Some(v @ (Val::Bool(_) | Val::Null | Val::Int(_))) => v.truthy(),
        // Python reads a non-empty list as true, and some templates write `- True`.
        Some(_) if node.is_some_and(|n| n.as_seq().is_some()) => node.is_some_and(|n| !n.items().is_empty()),
        Some(_) => {
            diag.error(node.map(|n| n.pos).unwrap_or_default(), format!("`options.{what}` must be true or false"));
            false
        }
    }
}

fn decode_options(options: Option<&Node>, diag: &mut Diagnostics) -> Options {
    for (k, _) in options.and_then(Node::as_map).unwrap_or_default() {
        let key = k.as_str().unwrap_or("");
        if !OPTION_KEYS.contains(&key) {
            diag.warn(k.pos, format!("unknown option `{key}` is ignored; invoice2data knows: {}", OPTION_KEYS.join(", ")));
        }
    }
    let opt = |k: &str| options.and_then(|o| o.get(k));
    let mut o = Options {
        remove_whitespace: flag(opt("remove_whitespace"), "remove_whitespace", diag),
        remove_accents: flag(opt("remove_accents"), "remove_accents", diag),
        lowercase: flag(opt("lowercase"), "lowercase", diag),
        currency: opt("currency").map(scalar).unwrap_or(Val::Str("EUR".into())),
        decimal_separator: ".".into(),
        ..Options::default()
    };
    for f in opt("date_formats").map(Node::items).unwrap_or_default() {
        match f.as_str() {
            Some(s) if valid_strptime(s) => o.date_formats.push(s.to_string()),
            _ => diag.error(f.pos, format!("`{}` is not a strptime date format (%d, %m, %Y, %y, %b, %B…)", f.as_str().unwrap_or("?"))),
        }
    }
    for l in opt("languages").map(Node::items).unwrap_or_default() {
        match l.as_str() {
            Some(code) if code.chars().count() == 2 => {
                if !dates::LANGUAGES.contains(&code) {
                    diag.warn(l.pos, format!("clerk reads month names in {} only; dates in `{code}` are read as numbers and English", dates::LANGUAGES.join(", ")));
                }
                o.languages.push(code.to_string());
            }
            _ => diag.error(l.pos, "a language must be a two-letter code such as `de` or `fr` (invoice2data refuses others)"),
        }
    }
    if let Some(d) = opt("decimal_separator") {
        match &d.value {
            Value::Scalar { text, .. } => o.decimal_separator = text.clone(),
            _ => diag.error(d.pos, "`decimal_separator` must be text such as ',' or '.'"),
        }
    }
    if let Some(r) = opt("replace") {
        // A single pair stands for a list of one.
        let pairs: Vec<&Node> = match r.as_seq() {
            Some(items) if items.iter().all(|i| i.as_seq().is_some()) => items.iter().collect(),
            _ => vec![r],
        };
        for pair in pairs {
            o.replace.extend(replacement(pair, "options.replace", diag));
        }
    }
    o
}

/// A format Python's strptime accepts: every `%` names a directive it knows.
fn valid_strptime(f: &str) -> bool {
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c == '%' && !matches!(chars.next(), Some('d' | 'm' | 'Y' | 'y' | 'H' | 'I' | 'M' | 'S' | 'f' | 'p' | 'B' | 'b' | 'h' | 'A' | 'a' | 'j' | 'Z' | 'z' | '%')) {
            return false;
        }
    }
    true
}

/// A `[pattern, replacement]` pair.
fn replacement(pair: &Node, what: &str, diag: &mut Diagnostics) -> Option<(Arc<PyRegex>, Replacement)> {
    let Some([from, to]) = pair.as_seq() else {
        diag.error(pair.pos, format!("each `{what}` entry must be a pair: [pattern, replacement]"));
        return None;
    };
    let re = regex(from, what, diag)?;
    let to_text = match &to.value {
        Value::Null => String::new(),
        _ => scalar(to).py_str(),
    };
    match Replacement::parse(&to_text).and_then(|r| r.check(&re).map(|_| r)) {
        Ok(r) => Some((re, r)),
        Err(why) => {
            diag.error(to.pos, format!("`{what}`: {why}"));
            None
        }
    }
}

/// A Python regex, checked now; an error points into the pattern where the engine says.
fn regex(node: &Node, what: &str, diag: &mut Diagnostics) -> Option<Arc<PyRegex>> {
    let Some(src) = node.as_str() else {
        diag.error(node.pos, format!("`{what}` must be a regular expression (text), found {}", node.kind_name()));
        return None;
    };
    match PyRegex::new(src) {
        Ok(r) => Some(r),
        Err((why, offset)) => {
            let quoted = matches!(node.value, Value::Scalar { quoted: true, .. });
            let pos = match offset {
                Some(o) if !src[..o.min(src.len())].contains('\n') => {
                    Pos { line: node.pos.line, col: node.pos.col + src[..o.min(src.len())].chars().count() + quoted as usize }
                }
                _ => node.pos,
            };
            diag.error(pos, format!("invalid regular expression in `{what}`: {why}"));
            None
        }
    }
}

fn regexes(node: &Node, what: &str, diag: &mut Diagnostics) -> Vec<Arc<PyRegex>> {
    node.items().into_iter().filter_map(|n| regex(n, what, diag)).collect()
}

fn field_type(node: &Node, diag: &mut Diagnostics) -> Option<Type> {
    match node.as_str() {
        Some("int") => Some(Type::Int),
        Some("float") => Some(Type::Float),
        Some("date" | "datetime") => Some(Type::Date),
        _ => {
            diag.error(node.pos, "a field `type` must be int, float or date");
            None
        }
    }
}

fn types(node: Option<&Node>, diag: &mut Diagnostics) -> Vec<(String, Type)> {
    node.and_then(Node::as_map)
        .unwrap_or_default()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), field_type(v, diag)?)))
        .collect()
}

fn decode_field(key: &Node, value: &Node, diag: &mut Diagnostics) -> Option<Field> {
    let raw = key.as_str().unwrap_or_default();
    let what = format!("fields.{raw}");
    if value.as_map().is_some() {
        let area = value.get("area").and_then(|a| area(a, &format!("{what}.area"), diag));
        let Some(parser) = value.get("parser") else {
            diag.warn(value.pos, format!("field `{raw}` has no `parser:`, so invoice2data (and clerk) ignore it"));
            return None;
        };
        let kind = match parser.as_str() {
            Some("regex") => {
                let Some(r) = value.get("regex") else {
                    diag.warn(value.pos, format!("field `{raw}` has no `regex:`, so it gives no value"));
                    return None;
                };
                let mut f = RegexField { regexes: regexes(r, &format!("{what}.regex"), diag), ..Default::default() };
                f.ty = value.get("type").and_then(|t| field_type(t, diag));
                if let Some(g) = value.get("group") {
                    f.group = g.as_str().and_then(Group::parse);
                    if f.group.is_none() {
                        diag.error(g.pos, "`group` must be one of sum, min, max, first, last, join");
                    }
                }
                if let Some(r) = value.get("replace") {
                    let pairs: Vec<&Node> = match r.as_seq() {
                        Some(items) if items.len() == 2 && items.iter().all(|i| i.as_str().is_some()) => vec![r],
                        Some(items) => items.iter().collect(),
                        None => vec![r],
                    };
                    for pair in pairs {
                        f.replace.extend(replacement(pair, &format!("{what}.replace"), diag));
                    }
                }
                f.extract_number = value.get("extract_number").map(scalar).is_some_and(|v| v.truthy());
                FieldKind::Regex(f)
            }
            Some("static") => match value.get("value") {
                Some(v) => FieldKind::Static { value: scalar(v), always: false },
                None => {
                    diag.warn(value.pos, format!("field `{raw}` has no `value:`, so it gives none"));
                    return None;
                }
            },
            Some("lines") => FieldKind::Lines(decode_rules(value, &what, diag)?),
            other => {
                diag.warn(parser.pos, format!("field `{raw}`: invoice2data has no parser `{}`; the field is ignored", other.unwrap_or("?")));
                return None;
            }
        };
        return Some(Field { name: raw.to_string(), kind, area });
    }
    if raw.starts_with("static_") {
        return Some(Field {
            name: raw.replace("static_", ""),
            kind: FieldKind::Static { value: scalar(value), always: true },
            area: None,
        });
    }
    if matches!(value.value, Value::Null) {
        diag.error(value.pos, format!("field `{raw}` has no regex"));
        return None;
    }
    // The legacy syntax: the name says the type.
    let mut f = RegexField { regexes: regexes(value, &what, diag), ..Default::default() };
    let mut name = raw.to_string();
    if raw.starts_with("sum_amount") && value.as_seq().is_some() {
        name = raw[4..].to_string();
        f.ty = Some(Type::Float);
        f.group = Some(Group::Sum);
    } else if raw.starts_with("date") || raw.ends_with("date") {
        f.ty = Some(Type::Date);
    } else if raw.starts_with("amount") {
        f.ty = Some(Type::Float);
    }
    Some(Field { name, kind: FieldKind::Regex(f), area: None })
}

/// `area: {f, l, r, x, y, W, H}`: numbers as Python's `int()` (pages) and `float()` take them.
/// invoice2data finds a missing key only when a document reaches the field, and then gives up
/// on the document; clerk refuses the template at load.
fn area(node: &Node, what: &str, diag: &mut Diagnostics) -> Option<Area> {
    if node.as_map().is_none() {
        diag.error(node.pos, format!("`{what}` must be a mapping with f, l, r, x, y, W and H"));
        return None;
    }
    let before = diag.errors();
    let mut number = |key: &str, whole: bool| -> f64 {
        let Some(v) = node.get(key) else {
            diag.error(node.pos, format!("`{what}` has no `{key}`: an area needs f and l (first and last page), r (resolution in dpi), x, y, W and H (pixels at r dpi)"));
            return 0.0;
        };
        let n = match scalar(v) {
            Val::Int(i) => Some(i as f64),
            Val::Float(f) if whole => Some(f.trunc()),
            Val::Float(f) => Some(f),
            Val::Bool(b) => Some(b as i64 as f64),
            Val::Str(s) if whole => s.trim().parse::<i64>().ok().map(|i| i as f64),
            Val::Str(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n.is_finite() => n,
            _ => {
                let kind = if whole { "a whole number (a page)" } else { "a number" };
                diag.error(v.pos, format!("`{what}.{key}` must be {kind}"));
                0.0
            }
        }
    };
    let a = Area {
        first: number("f", true) as i64,
        last: number("l", true) as i64,
        r: number("r", false),
        x: number("x", false),
        y: number("y", false),
        w: number("W", false),
        h: number("H", false),
    };
    if diag.errors() > before {
        return None;
    }
    if a.r <= 0.0 {
        diag.error(node.get("r").map_or(node.pos, |r| r.pos), format!("`{what}.r` is the resolution in dpi and must be above 0"));
        return None;
    }
    Some(a)
}

/// A `lines` block: one rule from its own keys, or a `rules:` list.
fn decode_rules(node: &Node, what: &str, diag: &mut Diagnostics) -> Option<Vec<Rule>> {
    if node.as_map().is_none() {
        diag.error(node.pos, format!("`{what}` must be a mapping with start, end and line"));
        return None;
    }
    let before = diag.errors();
    let rules: Vec<Rule> = match node.get("rules") {
        Some(list) => list.items().into_iter().filter_map(|r| decode_rule(r, what, true, diag)).collect(),
        None => {
            for key in ["line_separator", "replace"] {
                if let Some(k) = node.as_map().unwrap_or_default().iter().find(|(k, _)| k.as_str() == Some(key)) {
                    diag.warn(k.0.pos, format!("`{key}` here is ignored by invoice2data 1.0.1 (and clerk); put the rule in a `rules:` list to use it"));
                }
            }
            decode_rule(node, what, false, diag).into_iter().collect()
        }
    };
    (diag.errors() == before).then_some(rules)
}

fn decode_rule(node: &Node, what: &str, in_rules: bool, diag: &mut Diagnostics) -> Option<Rule> {
    let need = |k: &str, diag: &mut Diagnostics| {
        let n = node.get(k);
        if n.is_none() {
            diag.error(node.pos, format!("`{what}` needs `{k}:` (a regex)"));
        }
        n
    };
    let start = need("start", diag).and_then(|n| regex(n, &format!("{what}.start"), diag));
    let end = need("end", diag).and_then(|n| regex(n, &format!("{what}.end"), diag));
    let line = need("line", diag).map(|n| regexes(n, &format!("{what}.line"), diag));
    let sep_node = if in_rules { node.get("line_separator") } else { None };
    let line_separator = match sep_node {
        Some(n) => regex(n, &format!("{what}.line_separator"), diag),
        None => PyRegex::new(r"\n").ok(),
    };
    let mut first_line = node.get("first_line").map(|n| regexes(n, &format!("{what}.first_line"), diag));
    let last_line = node.get("last_line").map(|n| regexes(n, &format!("{what}.last_line"), diag));
    if first_line.is_none() && last_line.is_none() {
        first_line = line.clone();
    }
    let end_last = match node.get("end_match").and_then(Node::as_str) {
        None | Some("first") => false,
        Some("last") => true,
        Some(other) => {
            diag.warn(node.get("end_match").map(|n| n.pos).unwrap_or(node.pos), format!("`end_match: {other}` is not first or last; first is used"));
            false
        }
    };
    let mut replace = vec![];
    if in_rules {
        if let Some(r) = node.get("replace") {
            let entries: Vec<&(Node, Node)> = match &r.value {
                Value::Map(m) => m.iter().collect(),
                Value::Seq(items) => items.iter().filter_map(Node::as_map).flatten().collect(),
                _ => vec![],
            };
            for (column, pairs) in entries {
                let list: Vec<&Node> = match pairs.as_seq() {
                    Some(items) if items.len() == 2 && items.iter().all(|i| i.as_str().is_some()) => vec![pairs],
                    Some(items) => items.iter().collect(),
                    None => vec![pairs],
                };
                let compiled = list.into_iter().filter_map(|p| replacement(p, &format!("{what}.replace"), diag)).collect();
                replace.push((column.as_str().unwrap_or_default().to_string(), compiled));
            }
        }
    }
    for (k, _) in node.as_map().unwrap_or_default() {
        let key = k.as_str().unwrap_or("");
        if !RULE_KEYS.contains(&key) && !matches!(key, "parser" | "rules" | "line_separator" | "replace" | "area") {
            diag.warn(k.pos, format!("`{key}` is not a key of a lines rule; it is ignored"));
        }
    }
    Some(Rule {
        start: start?,
        end: end?,
        end_last,
        line: line?,
        first_line,
        last_line,
        skip_line: node.get("skip_line").map(|n| regexes(n, &format!("{what}.skip_line"), diag)).unwrap_or_default(),
        line_separator: line_separator?,
        types: types(node.get("types"), diag),
        replace,
    })
}

fn decode_table(node: &Node, diag: &mut Diagnostics) -> Option<Table> {
    if node.as_map().is_none() {
        diag.error(node.pos, "each of `tables` must be a mapping with start, end and body");
        return None;
    }
    let mut need = |k: &str| match node.get(k) {
        Some(n) => regex(n, &format!("tables.{k}"), diag),
        None => {
            diag.error(node.pos, format!("a table needs `{k}:` (a regex)"));
            None
        }
    };
    let (start, end, body) = (need("start"), need("end"), need("body"));
    let line_separator = match node.get("line_separator") {
        Some(n) => regex(n, "tables.line_separator", diag),
        None => PyRegex::new(r"\n").ok(),
    };
    let mut fields = vec![];
    for (k, v) in node.get("fields").and_then(Node::as_map).unwrap_or_default() {
        let ty = v.get("type").and_then(|t| field_type(t, diag));
        let group = v.get("group").and_then(|g| {
            let parsed = g.as_str().and_then(Group::parse);
            if parsed.is_none() {
                diag.error(g.pos, "`group` must be one of sum, min, max, first, last, join");
            }
            parsed
        });
        fields.push((k.as_str().unwrap_or_default().to_string(), ty, group));
    }
    Some(Table {
        start: start?,
        end: end?,
        body: body?,
        line_separator: line_separator?,
        types: types(node.get("types"), diag),
        fields,
    })
}

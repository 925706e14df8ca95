//! Line items: invoice2data's `lines` parser (blocks between `start` and `end`, rows from
//! `first_line`/`line`/`last_line`), its `tables` plugin (named groups of a `body` regex become
//! top-level fields), and the clean-up it runs on `lines` and `tax_lines` afterwards (canonical
//! names, UNECE unit codes, tax rates carried onto lines).

use super::value::{self, Dict, Val};
use super::{Group, Template, Type};
use crate::classify::pyre::{PyRegex, Replacements};
use std::sync::Arc;

#[derive(Debug)]
pub struct Rule {
    pub start: Arc<PyRegex>,
    pub end: Arc<PyRegex>,
    /// `end_match: last`: the block ends at the last `end` after its start.
    pub end_last: bool,
    pub line: Vec<Arc<PyRegex>>,
    pub first_line: Option<Vec<Arc<PyRegex>>>,
    pub last_line: Option<Vec<Arc<PyRegex>>>,
    pub skip_line: Vec<Arc<PyRegex>>,
    pub line_separator: Arc<PyRegex>,
    pub types: Vec<(String, Type)>,
    /// Per column: replacements applied to its values.
    pub replace: Vec<(String, Replacements)>,
}

#[derive(Debug)]
pub struct Table {
    pub start: Arc<PyRegex>,
    pub end: Arc<PyRegex>,
    pub body: Arc<PyRegex>,
    pub line_separator: Arc<PyRegex>,
    pub types: Vec<(String, Type)>,
    /// The nested form `fields: {name: {type, group}}`.
    pub fields: Vec<(String, Option<Type>, Option<Group>)>,
}

fn first_match<'t>(patterns: &'t [Arc<PyRegex>], line: &'t str) -> Option<super::super::pyre::Found<'t>> {
    patterns.iter().find_map(|p| p.search(line))
}

/// Every row of every block of every rule.
pub fn parse(t: &Template, rules: &[Rule], content: &str) -> Result<Vec<Val>, String> {
    let mut rows = vec![];
    for rule in rules {
        let mut content = content;
        while let Some(start) = rule.start.search(content) {
            content = &content[start.end()..];
            let end = if rule.end_last { rule.end.find_iter(content).pop() } else { rule.end.search(content) };
            let Some(end) = end else { break };
            rows.extend(block(t, rule, &content[..end.start()])?);
            // A `start` and `end` that both match nothing at all would find this block forever
            // (invoice2data loops there); one block is all such a rule gives.
            let stuck = start.end() == 0 && end.end() == 0;
            content = &content[end.end()..];
            if stuck {
                break;
            }
        }
    }
    Ok(rows)
}

fn block(t: &Template, rule: &Rule, content: &str) -> Result<Vec<Val>, String> {
    let mut rows: Vec<Dict> = vec![];
    let mut row = Dict::default();
    let mut in_item = false;
    let strip = |v: Option<&str>| v.map(|s| s.trim().to_string()).unwrap_or_default();
    for line in rule.line_separator.split(content) {
        if line.trim_matches(['\n', '\r']).is_empty() {
            continue;
        }
        if rule.skip_line.iter().any(|p| p.search(line).is_some()) {
            continue;
        }
        if let Some(first) = &rule.first_line {
            if let Some(m) = first_match(first, line) {
                if !row.0.is_empty() {
                    rows.push(std::mem::take(&mut row));
                }
                row = Dict(m.groupdict().into_iter().map(|(k, v)| (k, Val::Str(strip(v)))).collect());
                in_item = true;
                continue;
            }
        }
        if !in_item {
            continue;
        }
        if let Some(last) = &rule.last_line {
            if let Some(m) = first_match(last, line) {
                append(&mut row, m.groupdict());
                if !row.0.is_empty() {
                    rows.push(std::mem::take(&mut row));
                }
                in_item = false;
                continue;
            }
        }
        if let Some(m) = first_match(&rule.line, line) {
            append(&mut row, m.groupdict());
        }
    }
    if !row.0.is_empty() {
        rows.push(row);
    }
    for row in rows.iter_mut() {
        for (column, pairs) in &rule.replace {
            if let Some(Val::Str(s)) = row.get(column) {
                let mut s = s.clone();
                for (p, with) in pairs {
                    s = p.sub(with, &s);
                }
                row.set(column, Val::Str(s));
            }
        }
        for (column, ty) in &rule.types {
            if let Some(v) = row.get(column).cloned() {
                let typed = match t.coerce(&v, *ty) {
                    Ok(v) => v,
                    // invoice2data leaves a date it cannot read as None.
                    Err(_) if *ty == Type::Date => Val::Null,
                    Err(why) => return Err(format!("line item `{column}`: {why}")),
                };
                row.set(column, typed);
            }
        }
    }
    Ok(rows.into_iter().map(Val::Obj).collect())
}

/// A `line` or `last_line` adds its groups to the row, a second value on a new line.
fn append(row: &mut Dict, groups: Vec<(String, Option<&str>)>) {
    for (k, v) in groups {
        let before = match row.get(&k) {
            Some(Val::Str(s)) => s.clone(),
            _ => String::new(),
        };
        let sep = if before.is_empty() { "" } else { "\n" };
        row.set(&k, Val::Str(format!("{before}{sep}{}", v.map(str::trim).unwrap_or(""))));
    }
}

/// The tables plugin: each line of the body that matches gives its named groups as top-level
/// fields; a name seen again makes a list. Err names the field a value of which is unusable.
pub fn table(t: &Template, table: &Table, content: &str, output: &mut Dict) -> Result<(), (String, String)> {
    let (Some(start), Some(end)) = (table.start.search(content), table.end.search(content)) else {
        return Ok(());
    };
    let body = content.get(start.end()..end.start()).unwrap_or("");
    let mut found = Dict::default();
    for line in table.line_separator.split(body) {
        if line.trim_matches('\n').is_empty() || line.chars().all(char::is_whitespace) {
            continue;
        }
        let Some(m) = table.body.search(line) else { continue };
        for (field, v) in m.groupdict() {
            let value = if field.starts_with("date") || field.ends_with("date") {
                match v.filter(|s| !s.is_empty()) {
                    // invoice2data drops the whole table when one date does not parse.
                    Some(s) => t.coerce(&Val::Str(s.into()), Type::Date).map_err(|why| (field.clone(), why))?,
                    None => return Err((field, "the table row has no date here".into())),
                }
            } else if field.starts_with("amount") {
                let s = v.ok_or_else(|| (field.clone(), "the table row has no amount here".to_string()))?;
                Val::Float(t.parse_number(s).map_err(|why| (field.clone(), why))?)
            } else if let Some(ty) = table.types.iter().find(|(n, _)| *n == field).map(|(_, ty)| *ty) {
                t.coerce(&Val::Str(v.unwrap_or("").into()), ty).map_err(|why| (field.clone(), why))?
            } else if let Some(ty) = table.fields.iter().find(|(n, ..)| *n == field).and_then(|(_, ty, _)| *ty) {
                t.coerce(&Val::Str(v.unwrap_or("").into()), ty).map_err(|why| (field.clone(), why))?
            } else {
                v.map(|s| Val::Str(s.into())).unwrap_or(Val::Null)
            };
            match found.0.iter_mut().find(|(k, _)| *k == field) {
                Some((_, Val::List(l))) => l.push(value),
                Some((_, old)) => *old = Val::List(vec![old.clone(), value]),
                None => found.0.push((field, value)),
            }
        }
    }
    for (name, _, group) in &table.fields {
        let Some(g) = group else { continue };
        let values = match found.get(name) {
            Some(Val::List(l)) => l.clone(),
            Some(v) => vec![v.clone()],
            None => continue,
        };
        let kept: Vec<Val> = values.into_iter().filter(Val::truthy).collect();
        if kept.is_empty() {
            found.set(name, Val::List(vec![]));
            continue;
        }
        let v = match g {
            Group::Sum => value::sum(&kept),
            Group::Min => value::extreme(&kept, std::cmp::Ordering::Less),
            Group::Max => value::extreme(&kept, std::cmp::Ordering::Greater),
            Group::First => Ok(kept[0].clone()),
            Group::Last => Ok(kept[kept.len() - 1].clone()),
            Group::Join => Ok(Val::List(vec![Val::Str(kept.iter().map(Val::py_str).collect::<Vec<_>>().join(" "))])),
        };
        found.set(name, v.map_err(|why| (name.clone(), why))?);
    }
    for (k, v) in found.0 {
        output.set(&k, v);
    }
    Ok(())
}

const ALIASES: &[(&str, &str)] = &[
    ("description", "name"),
    ("unit_price", "price_unit"),
    ("unitprice", "price_unit"),
    ("vat_rate", "line_tax_percent"),
    ("tax_percent", "line_tax_percent"),
];

/// UNECE Recommendation 20 codes for printed units (invoice2data's `unece_uom.UNECE_CODES`).
fn unece(uom: &str) -> Option<&'static str> {
    Some(match uom.trim().to_lowercase().as_str() {
        "l" | "ltr" | "lt" | "ℓ" | "liter" | "litre" | "liters" | "litres" => "LTR",
        "ml" | "millilitre" | "milliliter" => "MLT",
        "kg" | "kgm" | "kgs" | "kilogram" | "kilograms" => "KGM",
        "g" | "gr" | "grm" | "gram" | "grams" => "GRM",
        "m" | "mtr" | "meter" | "metre" | "meters" | "metres" => "MTR",
        "cm" => "CMT",
        "mm" => "MMT",
        "km" => "KMT",
        "pcs" | "pc" | "piece" | "pieces" | "ea" | "each" | "ps" | "st" | "stk" | "stuk" | "stuks" | "stück"
        | "stueck" | "stueckliste" | "unit" | "units" | "stk." | "x" => "H87",
        "set" | "sets" => "SET",
        "h" | "hr" | "hrs" | "hour" | "hours" | "uur" | "uren" => "HUR",
        "min" | "minute" | "minutes" => "MIN",
        "d" | "day" | "days" | "dag" | "dagen" => "DAY",
        "month" | "months" | "maand" | "maanden" | "mnd" => "MON",
        "year" | "years" | "jaar" => "ANN",
        _ => return None,
    })
}

fn rows_mut<'a>(output: &'a mut Dict, name: &str) -> Option<&'a mut Vec<Val>> {
    output.0.iter_mut().find(|(k, _)| k == name).and_then(|(_, v)| match v {
        Val::List(l) => Some(l),
        _ => None,
    })
}

fn as_f64(v: Option<&Val>) -> Option<f64> {
    match v? {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        Val::Bool(b) => Some(*b as i64 as f64),
        Val::Str(s) => value::py_float(s),
        _ => None,
    }
}

fn round2(x: f64) -> f64 {
    // Python's round(x, 2) rounds the exact binary value half to even; formatting does the same.
    format!("{x:.2}").parse().unwrap_or(x)
}

/// What invoice2data does to `lines` and `tax_lines` after extraction: canonical column names,
/// `unece_code` from `uom`, the tax summary's rate onto lines, missing tax amounts computed.
pub fn normalise(output: &mut Dict) {
    for name in ["lines", "tax_lines"] {
        for row in rows_mut(output, name).into_iter().flatten() {
            let Val::Obj(row) = row else { continue };
            for (alias, canonical) in ALIASES {
                if row.contains(alias) && !row.contains(canonical) {
                    if let Some(v) = row.remove(alias) {
                        row.set(canonical, v);
                    }
                }
            }
            if !row.get("unece_code").is_some_and(Val::truthy) {
                if let Some(code) = match row.get("uom") {
                    Some(Val::Str(u)) if !u.is_empty() => unece(u),
                    _ => None,
                } {
                    row.set("unece_code", Val::Str(code.into()));
                }
            }
        }
    }
    apply_tax_to_lines(output);
    if let Some(rows) = rows_mut(output, "tax_lines") {
        for row in rows {
            let Val::Obj(row) = row else { continue };
            if !row.contains("line_tax_amount") && row.contains("line_tax_percent") && row.contains("price_subtotal") {
                if let (Some(p), Some(s)) = (as_f64(row.get("line_tax_percent")), as_f64(row.get("price_subtotal"))) {
                    row.set("line_tax_amount", Val::Float(round2(s * p / 100.0)));
                }
            }
        }
    }
}

fn apply_tax_to_lines(output: &mut Dict) {
    let Some(Val::List(tax_rows)) = output.get("tax_lines").cloned() else { return };
    if !matches!(output.get("lines"), Some(Val::List(_))) {
        return;
    }
    let by_code: Vec<(String, Val)> = tax_rows
        .iter()
        .filter_map(|r| match r {
            Val::Obj(d) => Some((d.get("line_tax_code")?.py_str(), d.get("line_tax_percent")?.clone())),
            _ => None,
        })
        .collect();
    // The single non-zero rate that taxed something, if there is exactly one.
    let mut rates: Vec<(f64, Val)> = vec![];
    for r in &tax_rows {
        let Val::Obj(d) = r else { continue };
        let Some(p) = as_f64(d.get("line_tax_percent")).filter(|p| *p != 0.0) else { continue };
        let sub = as_f64(d.get("price_subtotal")).unwrap_or(0.0);
        let amt = as_f64(d.get("line_tax_amount")).unwrap_or(0.0);
        if sub != 0.0 || amt != 0.0 {
            match rates.iter_mut().find(|(q, _)| *q == p) {
                Some(slot) => slot.1 = d.get("line_tax_percent").cloned().unwrap_or(Val::Null),
                None => rates.push((p, d.get("line_tax_percent").cloned().unwrap_or(Val::Null))),
            }
        }
    }
    let single = (rates.len() == 1).then(|| rates[0].1.clone());
    let set_rate = |line: &mut Dict, percent: Val| {
        let rate = as_f64(Some(&percent));
        line.set("line_tax_percent", percent);
        if !line.contains("line_tax_amount") {
            if let (Some(s), Some(r)) = (as_f64(line.get("price_subtotal")), rate) {
                line.set("line_tax_amount", Val::Float(round2(s * r / 100.0)));
            }
        }
    };
    let Some(lines) = rows_mut(output, "lines") else { return };
    for line in lines.iter_mut() {
        let Val::Obj(line) = line else { continue };
        if line.contains("line_tax_percent") {
            continue;
        }
        if let Some(code) = line.get("line_tax_code").map(Val::py_str) {
            if let Some((_, p)) = by_code.iter().find(|(c, _)| *c == code) {
                set_rate(line, p.clone());
            }
        }
    }
    let Some(rate) = single else { return };
    for line in lines.iter_mut() {
        if let Val::Obj(line) = line {
            if !line.contains("line_tax_percent") {
                set_rate(line, rate.clone());
            }
        }
    }
}

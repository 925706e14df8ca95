//! invoice2data templates, run as invoice2data 1.0.1 runs them (its `InvoiceTemplate`,
//! `parsers/*` and `plugins/*` are the specification; the differences that are on purpose are
//! listed in the README). A template is matched by plain substrings of the text as read; its
//! fields are extracted from the text after its `options` prepared it.
//!
//! Where invoice2data gives up on a whole document (a value `float()` cannot read, a date no tier
//! parses), clerk keeps the rest and names the field and the reason as a problem.

pub mod area;
pub mod lines;
pub mod value;

use super::dates;
use super::pyre::{PyRegex, Replacements};
use area::{Area, PageBoxes};
use std::borrow::Cow;
use std::sync::Arc;
use value::{Dict, Val};

#[derive(Debug)]
pub struct Template {
    /// The file name, as invoice2data's `template_name`.
    pub template_name: String,
    pub issuer: Val,
    pub keywords: Vec<String>,
    pub exclude_keywords: Vec<String>,
    pub options: Options,
    pub fields: Vec<Field>,
    /// The top-level `lines:` block (invoice2data's deprecated lines plugin).
    pub lines: Option<Vec<lines::Rule>>,
    pub tables: Vec<lines::Table>,
    pub required: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Options {
    pub remove_whitespace: bool,
    pub remove_accents: bool,
    pub lowercase: bool,
    pub currency: Val,
    pub date_formats: Vec<String>,
    pub languages: Vec<String>,
    pub decimal_separator: String,
    pub replace: Replacements,
}

#[derive(Debug)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    /// Read from this rectangle of the page, as read, instead of the prepared whole text.
    pub area: Option<Area>,
}

#[derive(Debug)]
pub enum FieldKind {
    /// `static_NAME: value` (`always`: set even when empty), or `parser: static`.
    Static { value: Val, always: bool },
    Regex(RegexField),
    Lines(Vec<lines::Rule>),
}

#[derive(Debug, Default)]
pub struct RegexField {
    pub regexes: Vec<Arc<PyRegex>>,
    pub ty: Option<Type>,
    pub group: Option<Group>,
    pub replace: Replacements,
    pub extract_number: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Type {
    Int,
    Float,
    Date,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Group {
    Sum,
    Min,
    Max,
    First,
    Last,
    Join,
}

impl Group {
    pub fn parse(s: &str) -> Option<Group> {
        Some(match s {
            "sum" => Group::Sum,
            "min" => Group::Min,
            "max" => Group::Max,
            "first" => Group::First,
            "last" => Group::Last,
            "join" => Group::Join,
            _ => return None,
        })
    }
}

/// What a template made of a document's text.
#[derive(Debug, Default)]
pub struct Extraction {
    /// invoice2data's output dict, in its order (`desc` only when every required field is there).
    pub output: Dict,
    /// Values found but unusable: field → reason.
    pub problems: Vec<(String, String)>,
    /// Required fields not in the output.
    pub missing: Vec<String>,
}

impl Template {
    /// invoice2data's `matches_input`: every keyword and no exclude keyword in the text as read.
    pub fn matches(&self, text: &str) -> bool {
        self.keywords.iter().all(|k| text.contains(k.as_str()))
            && !self.exclude_keywords.iter().any(|k| text.contains(k.as_str()))
    }

    /// invoice2data's `prepare_input`.
    pub fn prepare<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let o = &self.options;
        let mut t: Cow<str> = Cow::Borrowed(text);
        if o.remove_whitespace {
            // `re.sub(" +", "", …)`: spaces only; newlines stay.
            t = Cow::Owned(t.replace(' ', ""));
        }
        if o.remove_accents {
            use unicode_normalization::UnicodeNormalization;
            t = Cow::Owned(t.nfkd().filter(|c| !('\u{300}'..='\u{362}').contains(c)).collect());
        }
        if o.lowercase {
            t = Cow::Owned(t.to_lowercase());
        }
        for (re, with) in &o.replace {
            t = Cow::Owned(re.sub(with, &t));
        }
        t
    }

    /// invoice2data's `extract` on the text as read (it prepares the text itself). `boxes` are
    /// the pages' words for `area:` fields; without them (plain text) such a field reads the
    /// whole text, as with invoice2data's text reader. `overrides` (an agent's corrections)
    /// replace what was found, typed as the field is.
    pub fn extract(
        &self,
        text: &str,
        boxes: Option<&[PageBoxes]>,
        overrides: &std::collections::BTreeMap<String, String>,
    ) -> Extraction {
        let prepared = self.prepare(text);
        let mut x = Extraction::default();
        x.output.set("issuer", self.issuer.clone());
        for f in &self.fields {
            // invoice2data reads an area raw: the template's options do not prepare it.
            let cropped;
            let prepared: &str = match (&f.area, boxes) {
                (Some(area), Some(pages)) => {
                    cropped = area.crop(pages);
                    &cropped
                }
                _ => &prepared,
            };
            match &f.kind {
                FieldKind::Static { value, always } => {
                    if *always || value.kept() {
                        x.output.set(&f.name, value.clone());
                    }
                }
                FieldKind::Regex(r) => match self.regex_field(r, prepared) {
                    Ok(Some(v)) if v.kept() => x.output.set(&f.name, v),
                    Ok(_) => {}
                    Err(why) => x.problems.push((f.name.clone(), why)),
                },
                FieldKind::Lines(rules) => match lines::parse(self, rules, prepared) {
                    Ok(rows) if !rows.is_empty() => x.output.set(&f.name, Val::List(rows)),
                    Ok(_) => {}
                    Err(why) => x.problems.push((f.name.clone(), why)),
                },
            }
        }
        if !x.output.contains("currency") {
            x.output.set("currency", self.options.currency.clone());
        }
        if let Some(rules) = &self.lines {
            match lines::parse(self, rules, &prepared) {
                Ok(rows) => x.output.set("lines", Val::List(rows)),
                Err(why) => x.problems.push(("lines".into(), why)),
            }
        }
        for table in &self.tables {
            if let Err((field, why)) = lines::table(self, table, &prepared, &mut x.output) {
                x.problems.push((field, why));
            }
        }
        lines::normalise(&mut x.output);
        for (k, v) in overrides {
            x.problems.retain(|(f, _)| f != k);
            let ty = self.fields.iter().find(|f| f.name == *k).and_then(|f| match &f.kind {
                FieldKind::Regex(r) => r.ty,
                _ => None,
            });
            match ty.map(|ty| self.coerce(&Val::Str(v.clone()), ty)).unwrap_or(Ok(Val::Str(v.clone()))) {
                Ok(val) => x.output.set(k, val),
                Err(why) => x.problems.push((k.clone(), why)),
            }
        }
        x.missing = self.required.iter().filter(|r| !x.output.contains(r)).cloned().collect();
        if x.missing.is_empty() {
            x.output.set("desc", Val::Str(format!("Invoice from {}", self.issuer.py_str())));
        }
        x
    }

    /// The regex parser (`parsers/regex.py`): every match of every regex, each value replaced,
    /// typed, grouped, de-duplicated; one value stands alone, several make a list.
    fn regex_field(&self, r: &RegexField, text: &str) -> Result<Option<Val>, String> {
        let mut found: Vec<Val> = vec![];
        for re in &r.regexes {
            let Some(matches) = re.findall(text) else {
                // invoice2data: "Regex can't contain multiple capturing groups" → no value.
                return Err(format!("the regex `{}` has more than one capturing group, so it gives no value (use (?:…) for groups that only group)", re.source));
            };
            found.extend(matches.into_iter().map(|m| {
                let mut s = m.to_string();
                for (p, with) in &r.replace {
                    s = p.sub(with, &s);
                }
                if r.extract_number {
                    s = first_number(&s).unwrap_or(s);
                }
                Val::Str(s)
            }));
        }
        // A date no tier reads is None in invoice2data (the field is lost when nothing else is
        // found); clerk says why.
        let mut unread = None;
        if let Some(ty) = r.ty {
            for v in found.iter_mut() {
                *v = match self.coerce(v, ty) {
                    Ok(v) => v,
                    Err(why) if ty == Type::Date => {
                        unread.get_or_insert(why);
                        Val::Null
                    }
                    Err(why) => return Err(why),
                };
            }
        }
        let value = self.group_and_dedupe(r, found)?;
        match (value, unread) {
            (Some(v), _) if v.kept() => Ok(Some(v)),
            (_, Some(why)) => Err(why),
            (v, None) => Ok(v),
        }
    }

    fn group_and_dedupe(&self, r: &RegexField, found: Vec<Val>) -> Result<Option<Val>, String> {
        let mut result = found;
        if let Some(g) = r.group {
            let kept: Vec<Val> = result.iter().filter(|v| v.truthy()).cloned().collect();
            if !kept.is_empty() {
                let v = match g {
                    Group::Sum => value::sum(&kept)?,
                    Group::Min => value::extreme(&kept, std::cmp::Ordering::Less)?,
                    Group::Max => value::extreme(&kept, std::cmp::Ordering::Greater)?,
                    Group::First => kept[0].clone(),
                    Group::Last => kept[kept.len() - 1].clone(),
                    Group::Join => Val::Str(kept.iter().map(Val::py_str).collect::<Vec<_>>().join(" ")),
                };
                return Ok(Some(v));
            }
            result = kept;
        }
        let mut unique: Vec<Val> = vec![];
        for v in result {
            if !unique.iter().any(|u| u.py_eq(&v)) {
                unique.push(v);
            }
        }
        Ok(match unique.len() {
            0 => None,
            1 => unique.pop(),
            _ => Some(Val::List(unique)),
        })
    }

    /// `coerce_type`: Err when the text is not of the type (a date none of the tiers reads, a
    /// number `float()` refuses), with the reason.
    pub fn coerce(&self, v: &Val, ty: Type) -> Result<Val, String> {
        let Val::Str(s) = v else { return Ok(v.clone()) };
        match ty {
            Type::Int if s.is_empty() => Ok(Val::Int(0)),
            Type::Float if s.is_empty() => Ok(Val::Float(0.0)),
            Type::Int => self.parse_number(s).map(|f| Val::Int(f.trunc() as i64)),
            Type::Float => self.parse_number(s).map(Val::Float),
            Type::Date => dates::parse(s, &self.options.date_formats, &self.options.languages).map(Val::Date),
        }
    }

    /// `parse_number`: the template's decimal separator, the other one and spaces and `'` as
    /// thousands separators.
    pub fn parse_number(&self, value: &str) -> Result<f64, String> {
        let not_a_number = || format!("{value:?} is not a number");
        // invoice2data tests for the characters of r",.'\s" — a backslash and an `s`, not spaces.
        if !value.chars().any(|c| matches!(c, ',' | '.' | '\'' | '\\' | 's')) {
            return value::py_float(value).ok_or_else(not_a_number);
        }
        let dec = self.options.decimal_separator.as_str();
        if !dec.is_empty() && value.matches(dec).count() >= 2 {
            return Err(format!("{value:?} has the decimal separator {dec:?} more than once"));
        }
        let thousands = if dec == "." { "," } else { "." };
        let cleaned: String =
            value.replace(thousands, "").chars().filter(|c| !c.is_whitespace() && *c != '\'').collect();
        let cleaned = if dec.is_empty() { cleaned } else { cleaned.replace(dec, ".") };
        value::py_float(&cleaned).ok_or_else(not_a_number)
    }
}

/// The first number in a text (`extract_number: true`).
fn first_number(s: &str) -> Option<String> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| regex::Regex::new(r"[-+]?\d+(?:[.,\s']\d+)*").expect("valid"));
    re.find(s).map(|m| m.as_str().to_string())
}

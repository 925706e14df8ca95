//! Deciding what a document is: match every document type against its text, pick the winner by
//! priority, extract and validate its fields. Pure and synchronous: no I/O here.

pub mod doctype;
pub mod fields;

use doctype::DocType;
use regex::RegexSet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Kinds of exception items an agent works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionKind {
    Unreadable,
    Unrecognised,
    Ambiguous,
    Incomplete,
    /// A bot's `escalate` step: the business case needs a person.
    Business,
    /// A bot step failed after its retries (the legacy system is down, rejected the request…).
    System,
}

impl ExceptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unreadable => "unreadable",
            Self::Unrecognised => "unrecognised",
            Self::Ambiguous => "ambiguous",
            Self::Incomplete => "incomplete",
            Self::Business => "business",
            Self::System => "system",
        }
    }
}

/// What classification decided for one document.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub doctype: Option<String>,
    /// Valid, normalised field values.
    pub fields: BTreeMap<String, String>,
    /// Fields found but invalid, or required and missing: name → why.
    pub problems: BTreeMap<String, String>,
    pub exception: Option<(ExceptionKind, String)>,
}

impl Outcome {
    pub fn exception(kind: ExceptionKind, reason: impl Into<String>) -> Self {
        Outcome {
            doctype: None,
            fields: BTreeMap::new(),
            problems: BTreeMap::new(),
            exception: Some((kind, reason.into())),
        }
    }
}

/// All document types compiled into a few matchers. Every `match` regex of every type goes into
/// a `RegexSet`, so a document's text is scanned once however many types there are. Types that
/// prepare their text first (invoice2data options) are grouped by identical preparation: the
/// text is prepared once per group and scanned by that group's set.
pub struct Classifier {
    types: Vec<Arc<DocType>>,
    groups: Vec<Group>,
}

struct Group {
    /// A member whose preparation the whole group shares (None: the text as read).
    prepare_like: Option<usize>,
    set: RegexSet,
    /// (type index, its all/any/none pattern indices in `set`).
    members: Vec<(usize, Vec<usize>, Vec<usize>, Vec<usize>)>,
}

impl Classifier {
    pub fn new(types: Vec<Arc<DocType>>) -> Self {
        let mut keyed: Vec<(String, Option<usize>, Vec<String>, Vec<(usize, Vec<usize>, Vec<usize>, Vec<usize>)>)> =
            vec![];
        for (ti, t) in types.iter().enumerate() {
            let key = t.prepare.as_ref().map(|p| format!("{p:?}")).unwrap_or_default();
            let g = match keyed.iter().position(|(k, ..)| *k == key) {
                Some(g) => g,
                None => {
                    keyed.push((key, t.prepare.as_ref().map(|_| ti), vec![], vec![]));
                    keyed.len() - 1
                }
            };
            let patterns = &mut keyed[g].2;
            let mut take = |rs: &[regex::Regex]| {
                rs.iter()
                    .map(|r| {
                        patterns.push(r.as_str().to_string());
                        patterns.len() - 1
                    })
                    .collect::<Vec<_>>()
            };
            let (all, any, none) = (take(&t.match_all), take(&t.match_any), take(&t.match_none));
            keyed[g].3.push((ti, all, any, none));
        }
        let groups = keyed
            .into_iter()
            .map(|(_, prepare_like, patterns, members)| {
                // Patterns were already compiled one by one with these same flags, so this cannot
                // fail except by size; fall back to an empty set with a loud log, not a panic.
                let set = regex::RegexSetBuilder::new(&patterns)
                    .case_insensitive(true)
                    .multi_line(true)
                    .size_limit(256 << 20)
                    .dfa_size_limit(64 << 20)
                    .build()
                    .unwrap_or_else(|e| {
                        tracing::error!(error = %e, "document type patterns do not fit in one matcher");
                        RegexSet::empty()
                    });
                Group { prepare_like, set, members }
            })
            .collect();
        Classifier { types, groups }
    }

    pub fn types(&self) -> &[Arc<DocType>] {
        &self.types
    }

    pub fn get(&self, name: &str) -> Option<&Arc<DocType>> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The types whose match rules hold for `text`.
    pub fn matching(&self, text: &str) -> Vec<&Arc<DocType>> {
        let mut found = vec![];
        for g in &self.groups {
            let prepared = match g.prepare_like {
                Some(ti) => self.types[ti].prepared(text),
                None => std::borrow::Cow::Borrowed(text),
            };
            let hits = g.set.matches(&prepared);
            for (ti, all, any, none) in &g.members {
                if all.iter().all(|&i| hits.matched(i))
                    && (any.is_empty() || any.iter().any(|&i| hits.matched(i)))
                    && !none.iter().any(|&i| hits.matched(i))
                {
                    found.push(*ti);
                }
            }
        }
        found.sort_unstable();
        found.into_iter().map(|ti| &self.types[ti]).collect()
    }

    pub fn classify(&self, text: &str) -> Outcome {
        if text.trim().is_empty() {
            return Outcome::exception(
                ExceptionKind::Unreadable,
                "no text could be read from the document, not even by OCR",
            );
        }
        let mut candidates = self.matching(text);
        if candidates.is_empty() {
            return Outcome::exception(
                ExceptionKind::Unrecognised,
                format!("no document type matched (checked {} types)", self.types.len()),
            );
        }
        candidates.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.name.cmp(&b.name)));
        let top = candidates[0].priority;
        let tied: Vec<_> = candidates.iter().filter(|t| t.priority == top).collect();
        if tied.len() > 1 {
            let names: Vec<_> = tied.iter().map(|t| format!("{} ({})", t.name, t.file.display())).collect();
            return Outcome::exception(
                ExceptionKind::Ambiguous,
                format!("{} document types matched with the same priority {top}: {}; raise the priority of the right one or narrow its match rules", tied.len(), names.join(", ")),
            );
        }
        extract_fields(candidates[0], text, &BTreeMap::new())
    }
}

/// Extracts `doctype`'s fields from `text`; `overrides` (from an agent) replace what was found.
/// Required fields that are missing or invalid make the outcome `incomplete`.
pub fn extract_fields(doctype: &DocType, text: &str, overrides: &BTreeMap<String, String>) -> Outcome {
    let text = doctype.prepared(text);
    let mut fields = BTreeMap::new();
    let mut problems = BTreeMap::new();
    for f in &doctype.fields {
        let raw = match overrides.get(&f.name) {
            Some(v) => Some(v.clone()),
            None => f.find(&text),
        };
        match raw {
            None => {
                if f.required {
                    problems.insert(f.name.clone(), "not found in the text".to_string());
                }
            }
            Some(raw) => match fields::normalise(f.ty, &raw, &f.date_formats, f.decimal_separator) {
                Ok(v) => {
                    fields.insert(f.name.clone(), v);
                }
                Err(why) => {
                    problems.insert(f.name.clone(), why);
                }
            },
        }
    }
    let missing: Vec<String> = doctype
        .fields
        .iter()
        .filter(|f| f.required)
        .filter_map(|f| problems.get(&f.name).map(|why| format!("{}: {why}", f.name)))
        .collect();
    let exception = (!missing.is_empty()).then(|| {
        (ExceptionKind::Incomplete, format!("{} is missing required fields — {}", doctype.name, missing.join("; ")))
    });
    Outcome { doctype: Some(doctype.name.clone()), fields, problems, exception }
}

//! Deciding what a document is: match every document type against its text, pick the winner by
//! priority, extract and validate its fields. Pure and synchronous: no I/O here.

pub mod dates;
pub mod doctype;
pub mod fields;
pub mod generic;
pub mod invoice2data;
pub mod pyre;

use aho_corasick::AhoCorasick;
use doctype::{DocType, Rules};
use regex::RegexSet;
use serde::Serialize;
use crate::states::ExceptionKind;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A document's fields: text values for `doctype:` types; for invoice2data templates the values
/// invoice2data gives (numbers, dates as `YYYY-MM-DD`, line items as lists of objects).
pub type Fields = BTreeMap<String, serde_json::Value>;

/// A field's value as a person reads it: text as it is, anything else as JSON.
pub fn field_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One page's words with their boxes (see [`invoice2data::area`]).
pub use invoice2data::area::PageBoxes;

/// A document as classification reads it: its text and, when it was read from pages (a PDF, an
/// image), every page's words with their boxes, which invoice2data `area:` fields crop.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a> {
    pub text: &'a str,
    pub boxes: Option<&'a [PageBoxes]>,
    /// The e-invoice the document carries, which types with `match: { e-invoice: … }` read.
    pub einvoice: Option<&'a crate::read::EInvoice>,
    /// What agents taught of the document's vendor, read ahead of the generic reader's guess.
    pub vendor: Option<&'a generic::vendor::Vendor>,
    /// The texts of the barcodes on its pages, which `match: { barcode: … }` and fields with
    /// `barcode:` read.
    pub barcodes: &'a [String],
}

impl<'a> Doc<'a> {
    /// A document that is text only (a `.txt` file, or a caller without the pages).
    pub fn plain(text: &'a str) -> Doc<'a> {
        Doc { text, boxes: None, einvoice: None, vendor: None, barcodes: &[] }
    }
}

/// What classification decided for one document.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub doctype: Option<String>,
    /// Valid, normalised field values.
    pub fields: Fields,
    /// Fields found but invalid, or required and missing: name → why.
    pub problems: BTreeMap<String, String>,
    pub exception: Option<(ExceptionKind, String)>,
    /// Set when no rule recognised the document and the type came from what agents filed
    /// before (a type's `auto_apply`): why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned: Option<String>,
    /// What the generic invoice reader found (a type's `extract: { reader: invoice }`): per
    /// field the value, how sure, the evidence and the other candidates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reading: Option<Box<generic::Reading>>,
    /// Fields read from a longer text than their value: name → what was left beside it (OCR
    /// speckles after a date), for people to see rather than silently dropped.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub notes: BTreeMap<String, String>,
}

impl Outcome {
    /// The status a document with this outcome has.
    pub fn status(&self) -> crate::states::DocumentStatus {
        match self.exception {
            Some(_) => crate::states::DocumentStatus::Exception,
            None => crate::states::DocumentStatus::Recognised,
        }
    }

    pub fn exception(kind: ExceptionKind, reason: impl Into<String>) -> Self {
        Outcome {
            doctype: None,
            fields: Fields::new(),
            problems: BTreeMap::new(),
            exception: Some((kind, reason.into())),
            learned: None,
            reading: None,
            notes: BTreeMap::new(),
        }
    }
}

/// All document types compiled into two matchers, so a document's text is scanned once however
/// many types there are: every `match` regex of every `doctype:` type in one `RegexSet`, and
/// every keyword of every invoice2data template in one Aho-Corasick automaton (invoice2data's
/// keywords are plain text).
pub struct Classifier {
    types: Vec<Arc<DocType>>,
    set: RegexSet,
    native: Vec<Members>,
    keywords: Option<AhoCorasick>,
    /// `all`: keyword ids, `none`: exclude keyword ids (`any` is empty).
    templates: Vec<Members>,
    keyword_count: usize,
    /// Some type reads an `area:` (known once: every classification asks).
    uses_area: bool,
    /// Some type matches or reads barcodes.
    uses_barcodes: bool,
}

/// A type's patterns in a shared matcher: the indices of those that must all match, of which one
/// must match, and of which none may.
struct Members {
    ty: usize,
    /// `match: { reader: … }`: what the generic reader must read the document as.
    reader: Option<generic::DocKind>,
    /// `match: { barcode: … }`: one of the document's barcodes must match.
    barcode: Option<regex::Regex>,
    all: Vec<usize>,
    any: Vec<usize>,
    none: Vec<usize>,
}

impl Members {
    fn hold(&self, matched: impl Fn(usize) -> bool) -> bool {
        self.all.iter().all(|&i| matched(i))
            && (self.any.is_empty() || self.any.iter().any(|&i| matched(i)))
            && !self.none.iter().any(|&i| matched(i))
    }
}

impl Classifier {
    pub fn new(types: Vec<Arc<DocType>>) -> Self {
        let mut patterns: Vec<String> = vec![];
        let mut native = vec![];
        let mut words: Vec<String> = vec![];
        let mut templates = vec![];
        let word_id = |w: &String, words: &mut Vec<String>| match words.iter().position(|x| x == w) {
            Some(i) => i,
            None => {
                words.push(w.clone());
                words.len() - 1
            }
        };
        for (ti, t) in types.iter().enumerate() {
            match &t.rules {
                Rules::Native(n) => {
                    let mut take = |rs: &[regex::Regex]| {
                        rs.iter()
                            .map(|r| {
                                patterns.push(r.as_str().to_string());
                                patterns.len() - 1
                            })
                            .collect::<Vec<_>>()
                    };
                    let (all, any, none) = (take(&n.match_all), take(&n.match_any), take(&n.match_none));
                    native.push(Members { ty: ti, reader: n.match_reader, barcode: n.match_barcode.clone(), all, any, none });
                }
                Rules::Invoice2data(tpl) => {
                    let all = tpl.keywords.iter().map(|w| word_id(w, &mut words)).collect();
                    let none = tpl.exclude_keywords.iter().map(|w| word_id(w, &mut words)).collect();
                    templates.push(Members { ty: ti, reader: None, barcode: None, all, any: vec![], none });
                }
                // Matched on the document's e-invoice, never on its text.
                Rules::EInvoice(_) => {}
            }
        }
        // Patterns were already compiled one by one with these same flags, so this cannot fail
        // except by size; fall back to an empty set with a loud log, not a panic.
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
        let keywords = (!words.is_empty()).then(|| AhoCorasick::new(&words).ok()).flatten();
        let uses_area = types.iter().any(|t| t.uses_area());
        let uses_barcodes = types.iter().any(|t| t.uses_barcodes());
        Classifier { types, set, native, keywords, templates, keyword_count: words.len(), uses_area, uses_barcodes }
    }

    pub fn types(&self) -> &[Arc<DocType>] {
        &self.types
    }

    /// Whether some type takes the learner's suggestion on its own (`auto_apply`).
    pub fn auto_applies(&self) -> bool {
        self.types.iter().any(|t| t.auto_apply.is_some())
    }

    pub fn get(&self, name: &str) -> Option<&Arc<DocType>> {
        self.types.iter().find(|t| t.name == name)
    }

    /// The types whose match rules hold for `text`, in load order; a type that asks what the
    /// generic reader reads the document as (`match: { reader: invoice }`) reads its layout text.
    pub fn matching(&self, text: &str) -> Vec<&Arc<DocType>> {
        let mut kind = None;
        self.matching_with(text, &[], &mut || *kind.get_or_insert_with(|| generic::read(&generic::layout::Layout::from_text(text)).kind))
    }

    /// As [`matching`](Self::matching), with `kind` telling what the reader reads the document
    /// as (asked only when a type's text rules hold and it names a kind).
    fn matching_with(
        &self,
        text: &str,
        barcodes: &[String],
        kind: &mut dyn FnMut() -> generic::DocKind,
    ) -> Vec<&Arc<DocType>> {
        let mut found = vec![];
        if !self.native.is_empty() {
            let hits = self.set.matches(text);
            for m in &self.native {
                let barcode = |r: &regex::Regex| barcodes.iter().any(|b| r.is_match(b));
                if m.hold(|i| hits.matched(i)) && m.barcode.as_ref().is_none_or(barcode) && m.reader.is_none_or(|k| k == kind()) {
                    found.push(m.ty);
                }
            }
        }
        if let Some(ac) = &self.keywords {
            let mut present = vec![false; self.keyword_count];
            for m in ac.find_overlapping_iter(text) {
                present[m.pattern().as_usize()] = true;
            }
            found.extend(self.templates.iter().filter(|m| m.hold(|i| present[i])).map(|m| m.ty));
        }
        found.sort_unstable();
        found.into_iter().map(|ti| &self.types[ti]).collect()
    }

    pub fn classify(&self, text: &str) -> Outcome {
        self.classify_doc(Doc::plain(text))
    }

    /// Whether a type reads fields from an area of the page, so classifying needs the pages' word
    /// boxes (which the daemon loads only then).
    pub fn uses_area(&self) -> bool {
        self.uses_area
    }

    /// Whether a type matches or reads barcodes, so classifying needs the pages' barcodes (which
    /// the daemon loads only then).
    pub fn uses_barcodes(&self) -> bool {
        self.uses_barcodes
    }

    /// The type an e-invoice goes under: the highest priority among the types that take its
    /// kind (invoice, credit note). The XML beats any text rule over its printed copy.
    pub fn einvoice_type(&self, e: &crate::read::EInvoice) -> Option<&Arc<DocType>> {
        let mut takes: Vec<&Arc<DocType>> =
            self.types.iter().filter(|t| matches!(t.rules, Rules::EInvoice(k) if k.takes(&e.invoice))).collect();
        takes.sort_by_key(|t| std::cmp::Reverse(t.priority));
        takes.first().copied()
    }

    pub fn classify_doc(&self, doc: Doc) -> Outcome {
        if let Some(t) = doc.einvoice.and_then(|e| self.einvoice_type(e)) {
            return extract_fields(t, doc, &BTreeMap::new());
        }
        let text = doc.text;
        if text.trim().is_empty() && doc.barcodes.is_empty() {
            return Outcome::exception(
                ExceptionKind::Unreadable,
                "no text could be read from the document: it is blank, or its pages are images OCR could not read",
            );
        }
        // The reader reads the document once, for the types that ask what it is and for the
        // fields of the one chosen.
        let mut reading: Option<generic::Reading> = None;
        let mut candidates =
            self.matching_with(text, doc.barcodes, &mut || reading.get_or_insert_with(|| generic_reading(&doc)).kind);
        if candidates.is_empty() {
            // A type asked the reader what the document is: its answer tells the agent why.
            let said = reading.as_ref().map_or(String::new(), |r| format!("; the invoice reader: {}", r.kind_evidence));
            let mut out = Outcome::exception(
                ExceptionKind::Unrecognised,
                format!("no document type matched (checked {} types){said}", self.types.len()),
            );
            out.reading = reading.map(Box::new);
            return out;
        }
        // Stable: among equal priorities the load order (file path) stays.
        candidates.sort_by_key(|t| std::cmp::Reverse(t.priority));
        let top = candidates[0].priority;
        let tied: Vec<_> = candidates.iter().filter(|t| t.priority == top).collect();
        // invoice2data takes the first template that matches; clerk does too among templates,
        // but a `doctype:` type tied with anything is a question for a person.
        let all_templates = tied.iter().all(|t| matches!(t.rules, Rules::Invoice2data(_)));
        if tied.len() > 1 && !all_templates {
            let names: Vec<_> = tied.iter().map(|t| format!("{} ({})", t.name, t.file.display())).collect();
            return Outcome::exception(
                ExceptionKind::Ambiguous,
                format!("{} document types matched with the same priority {top}: {}; raise the priority of the right one or narrow its match rules", tied.len(), names.join(", ")),
            );
        }
        extract_with(candidates[0], doc, &BTreeMap::new(), reading)
    }
}

/// An e-invoice's fields, checked by EN 16931's rules and, for a PDF, against its printed copy.
/// A field an agent gave (`overrides`) replaces the XML's and clears the problems found with it.
fn einvoice_outcome(
    doctype: &DocType,
    e: &crate::read::EInvoice,
    printed: &str,
    overrides: &BTreeMap<String, String>,
) -> Outcome {
    let mut fields: Fields = crate::invoice::fields::flatten(&e.invoice).into_iter().collect();
    let mut found = crate::invoice::rules::check(&e.invoice);
    if e.source != "xml" {
        found.extend(crate::invoice::printed::disagreements(&e.invoice, printed));
    }
    let mut problems: BTreeMap<String, String> = BTreeMap::new();
    let mut blocking = vec![];
    for v in found {
        let top = v.field.split(['[', '.']).next().unwrap_or(&v.field).to_string();
        if overrides.contains_key(&top) {
            continue;
        }
        let message = if v.blocking { v.message.clone() } else { format!("warning: {}", v.message) };
        if v.blocking {
            blocking.push(v.message);
        }
        problems.entry(top).and_modify(|m| m.push_str(&format!("; {message}"))).or_insert(message);
    }
    for (k, val) in overrides {
        fields.insert(k.clone(), serde_json::Value::String(val.clone()));
    }
    let exception = (!blocking.is_empty()).then(|| {
        let n = blocking.len();
        (
            ExceptionKind::Incomplete,
            format!("the e-invoice fails {n} check{}: {}", if n == 1 { "" } else { "s" }, blocking.join("; ")),
        )
    });
    Outcome {
        doctype: Some(doctype.name.clone()),
        fields,
        problems,
        exception,
        learned: None,
        reading: None,
        notes: BTreeMap::new(),
    }
}

/// Extracts `doctype`'s fields from `doc`; `overrides` (from an agent) replace what was found.
/// Required fields that are missing or invalid make the outcome `incomplete`.
pub fn extract_fields(doctype: &DocType, doc: Doc, overrides: &BTreeMap<String, String>) -> Outcome {
    extract_with(doctype, doc, overrides, None)
}

/// As [`extract_fields`], with the generic reader's reading of `doc` when it was already read.
fn extract_with(
    doctype: &DocType,
    doc: Doc,
    overrides: &BTreeMap<String, String>,
    read: Option<generic::Reading>,
) -> Outcome {
    let text = doc.text;
    let mut reading = None;
    let mut notes = BTreeMap::new();
    let (fields, problems, required): (Fields, BTreeMap<String, String>, Vec<String>) = match &doctype.rules {
        Rules::Native(n) => {
            let mut fields = Fields::new();
            let mut problems = BTreeMap::new();
            for f in &n.fields {
                let raw = match overrides.get(&f.name) {
                    Some(v) => Some(v.clone()),
                    None => f.find_in(text, doc.barcodes),
                };
                match raw {
                    None => {
                        if f.required {
                            let place = if f.from_barcodes { "on no barcode of the document" } else { "in the text" };
                            problems.insert(f.name.clone(), format!("not found {place}"));
                        }
                    }
                    Some(raw) => match fields::normalise(f.ty, &raw, &f.date_formats, f.decimal_separator) {
                        Ok(v) => {
                            fields.insert(f.name.clone(), serde_json::Value::String(v.value));
                            if let Some(rest) = v.ignored.filter(|r| !r.is_empty()) {
                                let clip = |s: &str| match s.char_indices().nth(120) {
                                    Some((at, _)) => format!("{}…", &s[..at]),
                                    None => s.to_string(),
                                };
                                notes.insert(
                                    f.name.clone(),
                                    format!("read from {:?}; ignored {:?} beside it", clip(&raw), clip(&rest)),
                                );
                            }
                        }
                        Err(why) => {
                            problems.insert(f.name.clone(), why);
                        }
                    },
                }
            }
            if let Some(x) = &n.extract {
                let r = read.unwrap_or_else(|| generic_reading(&doc));
                generic::fill(&r, &x.required, overrides, &mut fields, &mut problems);
                reading = Some(Box::new(r));
            }
            (fields, problems, doctype.required_fields())
        }
        Rules::Invoice2data(t) => {
            let x = t.extract(text, doc.boxes, overrides);
            let fields = x.output.0.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
            let mut problems: BTreeMap<String, String> = x.problems.into_iter().collect();
            for m in &x.missing {
                problems.entry(m.clone()).or_insert_with(|| "not found in the text".to_string());
            }
            (fields, problems, x.missing)
        }
        Rules::EInvoice(_) => {
            let Some(e) = doc.einvoice else {
                return Outcome::exception(
                    ExceptionKind::Incomplete,
                    format!(
                        "{} reads e-invoices, and this document carries none (no e-invoice XML in it)",
                        doctype.name
                    ),
                );
            };
            return einvoice_outcome(doctype, e, doc.text, overrides);
        }
    };
    let missing: Vec<String> =
        required.iter().filter_map(|f| problems.get(f).map(|why| format!("{f}: {why}"))).collect();
    let exception = (!missing.is_empty()).then(|| {
        (ExceptionKind::Incomplete, format!("{} is missing required fields — {}", doctype.name, missing.join("; ")))
    });
    Outcome { doctype: Some(doctype.name.clone()), fields, problems, exception, learned: None, reading, notes }
}

/// The document as the generic reader sees it: from its word boxes where it has them, else from
/// its layout text.
pub fn generic_layout(doc: &Doc) -> generic::layout::Layout {
    match doc.boxes {
        Some(pages) if pages.iter().any(|(_, b)| !b.is_empty()) => generic::layout::Layout::from_boxes(pages),
        _ => generic::layout::Layout::from_text(doc.text),
    }
}

/// The generic reader's reading, with what agents taught of the vendor read first.
fn generic_reading(doc: &Doc) -> generic::Reading {
    let layout = generic_layout(doc);
    let mut reading = generic::read(&layout);
    if let Some(v) = doc.vendor {
        generic::vendor::apply(&layout, v, &mut reading);
    }
    reading
}

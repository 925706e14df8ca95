//! A document type as loaded from a definition file, ready to match.

use super::fields::FieldType;
use super::invoice2data::Template;
use regex::Regex;
use std::path::PathBuf;

#[derive(Debug)]
pub struct DocType {
    pub name: String,
    pub priority: i64,
    /// The definition file it came from, for messages.
    pub file: PathBuf,
    /// Line and column of the type's name (or first line) in that file.
    pub defined_at: (usize, usize),
    /// Hash of the file's content: the version of this definition.
    pub version: String,
    pub rules: Rules,
    /// How long a document of this type may wait in the exception queue (`sla: 4h`).
    pub sla: Option<std::time::Duration>,
    /// A document no rule recognises, which the learner puts under this type with at least this
    /// confidence, is classified as this type without waiting for an agent (`auto_apply: 0.9`).
    pub auto_apply: Option<f64>,
}

/// How a type recognises a document and extracts its fields.
#[derive(Debug)]
pub enum Rules {
    /// A `doctype:` definition: regexes that must, may and must not match, and fields.
    Native(Native),
    /// An invoice2data template, run with invoice2data's semantics.
    Invoice2data(Box<Template>),
    /// Documents carrying an e-invoice (`match: { e-invoice: invoice }`): fields are the
    /// invoice model's, checked by EN 16931's rules. Tried before any text rule.
    EInvoice(EInvoiceKind),
}

/// Which e-invoices a type takes, by their type code (BT-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EInvoiceKind {
    Any,
    Invoice,
    CreditNote,
}

impl EInvoiceKind {
    pub fn parse(s: &str) -> Option<EInvoiceKind> {
        match s {
            "any" => Some(EInvoiceKind::Any),
            "invoice" => Some(EInvoiceKind::Invoice),
            "credit-note" => Some(EInvoiceKind::CreditNote),
            _ => None,
        }
    }

    pub fn takes(self, invoice: &crate::invoice::Invoice) -> bool {
        match self {
            EInvoiceKind::Any => true,
            EInvoiceKind::Invoice => !invoice.is_credit_note(),
            EInvoiceKind::CreditNote => invoice.is_credit_note(),
        }
    }
}

#[derive(Debug)]
pub struct Native {
    pub match_all: Vec<Regex>,
    pub match_any: Vec<Regex>,
    pub match_none: Vec<Regex>,
    /// `match: { reader: invoice }`: the generic reader must read the document as this kind.
    pub match_reader: Option<crate::classify::generic::DocKind>,
    /// `match: { barcode: '^ASN\d+$' }`: one of the document's barcodes must match.
    pub match_barcode: Option<Regex>,
    pub fields: Vec<FieldDef>,
    /// `extract: { reader: invoice, required: [...] }`: the generic invoice reader fills the
    /// fields `fields:` does not.
    pub extract: Option<Extract>,
}

#[derive(Debug)]
pub struct Extract {
    /// Fields that must be found, and sure, for a document to go through without a person.
    pub required: Vec<String>,
}

impl DocType {
    /// Whether a field is read from an area of the page (and so needs the pages' word boxes).
    pub fn uses_area(&self) -> bool {
        match &self.rules {
            Rules::Invoice2data(t) => t.fields.iter().any(|f| f.area.is_some()),
            // The generic reader reads labels and values by where they stand.
            Rules::Native(n) => n.extract.is_some() || n.match_reader.is_some(),
            Rules::EInvoice(_) => false,
        }
    }

    /// Whether the type matches or reads barcodes (so classifying needs the pages' barcodes).
    pub fn uses_barcodes(&self) -> bool {
        matches!(&self.rules, Rules::Native(n) if n.match_barcode.is_some() || n.fields.iter().any(|f| f.from_barcodes))
    }

    /// The fields without which a document of this type is incomplete: what identifies one
    /// (an e-invoice's are its XML's, checked by its own rules, so none here).
    pub fn required_fields(&self) -> Vec<String> {
        match &self.rules {
            Rules::Native(n) => {
                let mut required: Vec<String> = n.fields.iter().filter(|f| f.required).map(|f| f.name.clone()).collect();
                for f in n.extract.iter().flat_map(|x| &x.required) {
                    if !required.contains(f) {
                        required.push(f.clone());
                    }
                }
                required
            }
            Rules::Invoice2data(t) => t.required.clone(),
            Rules::EInvoice(_) => vec![],
        }
    }

    /// Names of the fields an agent may set for this type.
    pub fn field_names(&self) -> Vec<String> {
        match &self.rules {
            Rules::Native(n) => {
                let mut names: Vec<String> = n.fields.iter().map(|f| f.name.clone()).collect();
                if n.extract.is_some() {
                    for f in crate::classify::generic::FIELDS {
                        if !names.iter().any(|n| n == f) {
                            names.push(f.to_string());
                        }
                    }
                }
                names
            }
            Rules::Invoice2data(t) => {
                let mut names: Vec<String> = t.fields.iter().map(|f| f.name.clone()).collect();
                names.extend(["issuer", "currency"].map(String::from));
                names.extend(t.required.iter().cloned());
                names.sort();
                names.dedup();
                names
            }
            Rules::EInvoice(_) => crate::invoice::fields::NAMES.iter().map(|n| n.to_string()).collect(),
        }
    }
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: String,
    /// Tried in order; the first that matches gives the value (its first capture group).
    pub regexes: Vec<Regex>,
    /// Read from the texts of the document's barcodes (`barcode:`), not from its text.
    pub from_barcodes: bool,
    pub ty: FieldType,
    pub required: bool,
    pub date_formats: Vec<String>,
    pub decimal_separator: Option<char>,
}

impl FieldDef {
    /// The raw text this field captures from the document: from `text`, or from the first of
    /// `barcodes` its pattern matches.
    pub fn find_in(&self, text: &str, barcodes: &[String]) -> Option<String> {
        match self.from_barcodes {
            true => barcodes.iter().find_map(|b| self.find(b)),
            false => self.find(text),
        }
    }

    /// The raw text this field captures from `text`, if any.
    pub fn find(&self, text: &str) -> Option<String> {
        self.regexes.iter().find_map(|r| {
            r.captures(text).map(|c| c.get(1).or_else(|| c.get(0)).map(|m| m.as_str().to_string()).unwrap_or_default())
        })
    }
}


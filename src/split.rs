//! Splitting a scanned batch into its documents. A mail room feeds a stack of documents into the
//! scanner with a separator sheet between them (a PATCH-T patch code, a sheet with an agreed
//! barcode, a blank page) or stamps each first page with an archive-number barcode; the scanner
//! makes one file. From the pages as read (their barcodes and ink, `read::Page`), a [`Rule`] says
//! which pages make which document; cutting the PDF is the reader's (`Readers::part_file`).

use crate::read::Page;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where one document ends and the next begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Separator {
    /// A PATCH-T sheet: the patch code, or a barcode reading `PATCHT`.
    PatchT,
    /// A sheet carrying a barcode with exactly this text.
    Barcode(String),
    /// A blank page.
    Blank,
    /// A barcode whose text starts with this prefix (`ASN00123`) marks a document's first page,
    /// which stays in the document; its text becomes the document's `asn`.
    Asn(String),
}

impl FromStr for Separator {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        match s.split_once(':') {
            None if s.eq_ignore_ascii_case("patch-t") => Ok(Separator::PatchT),
            None if s.eq_ignore_ascii_case("blank") => Ok(Separator::Blank),
            Some((kind, value)) if !value.is_empty() && kind.eq_ignore_ascii_case("barcode") => {
                Ok(Separator::Barcode(value.to_string()))
            }
            Some((kind, value)) if !value.is_empty() && kind.eq_ignore_ascii_case("asn") => Ok(Separator::Asn(value.to_string())),
            _ => Err(format!(
                "`{s}` is no separator: write patch-t, blank, barcode:VALUE (a sheet with that barcode) or asn:PREFIX (a first page whose barcode starts with PREFIX)"
            )),
        }
    }
}

impl fmt::Display for Separator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Separator::PatchT => write!(f, "patch-t"),
            Separator::Blank => write!(f, "blank"),
            Separator::Barcode(v) => write!(f, "barcode:{v}"),
            Separator::Asn(p) => write!(f, "asn:{p}"),
        }
    }
}

impl Serialize for Separator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Separator {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// How a batch is split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The separators, any of which ends a document.
    pub at: Vec<Separator>,
    /// Keep separator sheets, each as the first page of the document after it (they are dropped
    /// by default: a sheet of bars is no part of the letter).
    #[serde(default)]
    pub keep_separators: bool,
    /// Drop blank pages (the backs of a duplex scan) from the documents.
    #[serde(default)]
    pub drop_blank: bool,
    /// A page is blank when less than this share of it, inside its margins, carries ink and OCR
    /// read almost nothing on it. The default, 0.05%, is less than one short line of text.
    #[serde(default = "default_blank_ink")]
    pub blank_ink: f32,
}

fn default_blank_ink() -> f32 {
    0.0005
}

impl Rule {
    pub fn new(at: Vec<Separator>) -> Rule {
        Rule { at, keep_separators: false, drop_blank: false, blank_ink: default_blank_ink() }
    }

    /// A blank page: next to no ink, at most two letters or digits read, no barcode. A page with
    /// a text layer is never blank (it says something), nor one whose ink was not measured.
    pub fn is_blank(&self, page: &Page) -> bool {
        page.ink.is_some_and(|ink| ink < self.blank_ink)
            && page.barcodes.is_empty()
            && page.unread.is_none()
            && page.text.chars().filter(|c| c.is_alphanumeric()).count() <= 2
    }

    fn separates(&self, page: &Page) -> bool {
        self.at.iter().any(|s| match s {
            Separator::PatchT => page.barcodes.iter().any(|b| b.is_patch_t()),
            Separator::Barcode(value) => page.barcodes.iter().any(|b| &b.value == value),
            Separator::Blank => self.is_blank(page),
            Separator::Asn(_) => false,
        })
    }

    /// The archive number this page starts, if an `asn:` separator's barcode is on it.
    fn asn(&self, page: &Page) -> Option<String> {
        self.at.iter().find_map(|s| match s {
            Separator::Asn(prefix) => page.barcodes.iter().find(|b| b.value.starts_with(prefix.as_str())).map(|b| b.value.clone()),
            _ => None,
        })
    }
}

/// One document of a batch: its pages (numbers in the batch, ascending) and its archive number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub pages: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<String>,
}

/// A page of the batch in no document, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    pub page: u32,
    pub why: String,
}

/// What a batch becomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub parts: Vec<Part>,
    pub dropped: Vec<Dropped>,
}

impl Plan {
    /// The batch is one document as it is: nothing to cut.
    pub fn is_whole(&self, pages: usize) -> bool {
        self.dropped.is_empty() && self.parts.len() == 1 && self.parts[0].pages.len() == pages
    }
}

/// Which pages of the batch make which document under `rule`. Every page is in one part or
/// dropped with a reason; parts are never empty.
pub fn plan(pages: &[Page], rule: &Rule) -> Plan {
    let mut parts: Vec<Part> = vec![];
    let mut dropped = vec![];
    // The part being filled, and whether it holds only a kept separator sheet so far.
    let mut current: Option<(Part, bool)> = None;
    let close = |current: &mut Option<(Part, bool)>, parts: &mut Vec<Part>| {
        if let Some((part, _)) = current.take() {
            parts.push(part);
        }
    };
    for page in pages {
        let n = page.number;
        if rule.separates(page) {
            close(&mut current, &mut parts);
            if rule.keep_separators {
                current = Some((Part { pages: vec![n], asn: None }, true));
            } else {
                let why = if rule.is_blank(page) { "blank page separating documents" } else { "separator sheet" };
                dropped.push(Dropped { page: n, why: why.into() });
            }
            continue;
        }
        if rule.drop_blank && rule.is_blank(page) {
            dropped.push(Dropped { page: n, why: "blank page".into() });
            continue;
        }
        if let Some(asn) = rule.asn(page) {
            match &mut current {
                // A kept separator sheet belongs to the document this page starts.
                Some((part, true)) => part.asn = Some(asn),
                _ => {
                    close(&mut current, &mut parts);
                    current = Some((Part { pages: vec![], asn: Some(asn) }, false));
                }
            }
        }
        let (part, only_separator) = current.get_or_insert_with(|| (Part { pages: vec![], asn: None }, false));
        part.pages.push(n);
        *only_separator = false;
    }
    close(&mut current, &mut parts);
    Plan { parts, dropped }
}

/// Page numbers from what [`page_ranges`] writes (`1-3, 5`); what is not a number is skipped.
pub fn parse_ranges(ranges: &str) -> Vec<u32> {
    ranges
        .split(',')
        .flat_map(|r| match r.trim().split_once('-') {
            Some((a, b)) => match (a.trim().parse::<u32>(), b.trim().parse::<u32>()) {
                (Ok(a), Ok(b)) if a <= b && b - a < 100_000 => (a..=b).collect(),
                _ => vec![],
            },
            None => r.trim().parse().ok().into_iter().collect(),
        })
        .collect()
}

/// Page numbers as people write them: `1-3, 5, 7-8`.
pub fn page_ranges(pages: &[u32]) -> String {
    let mut out: Vec<String> = vec![];
    let mut i = 0;
    while i < pages.len() {
        let mut j = i;
        while j + 1 < pages.len() && pages[j + 1] == pages[j] + 1 {
            j += 1;
        }
        out.push(if i == j { pages[i].to_string() } else { format!("{}-{}", pages[i], pages[j]) });
        i = j + 1;
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Barcode;

    fn page(n: u32, text: &str, ink: f32, codes: &[(&str, &str)]) -> Page {
        Page {
            number: n,
            text: text.into(),
            ocr: true,
            ink: Some(ink),
            barcodes: codes.iter().map(|(f, v)| Barcode { format: f.to_string(), value: v.to_string() }).collect(),
            ..Page::default()
        }
    }

    fn letter(n: u32) -> Page {
        page(n, "Dear customer, please find our invoice", 0.03, &[])
    }

    fn blank(n: u32) -> Page {
        page(n, "", 0.0001, &[])
    }

    fn parts(plan: &Plan) -> Vec<Vec<u32>> {
        plan.parts.iter().map(|p| p.pages.clone()).collect()
    }

    #[test]
    fn patch_t_sheets_and_patcht_barcodes_separate_and_are_dropped() {
        let pages = vec![
            letter(1),
            letter(2),
            page(3, "", 0.08, &[("Patch Code", "T")]),
            letter(4),
            page(5, "PATCHT", 0.02, &[("Code 39", "PATCHT")]),
            letter(6),
            letter(7),
        ];
        let plan = plan(&pages, &Rule::new(vec![Separator::PatchT]));
        assert_eq!(parts(&plan), vec![vec![1, 2], vec![4], vec![6, 7]]);
        assert_eq!(plan.dropped.iter().map(|d| d.page).collect::<Vec<_>>(), vec![3, 5]);
        // Another patch code is no PATCH-T.
        let other = vec![letter(1), page(2, "", 0.08, &[("Patch Code", "2")]), letter(3)];
        assert!(super::plan(&other, &Rule::new(vec![Separator::PatchT])).is_whole(3));
    }

    #[test]
    fn kept_separators_start_the_next_document_and_empty_parts_never_appear() {
        let sep = |n| page(n, "", 0.08, &[("QR Code", "NEXT")]);
        let pages = vec![sep(1), letter(2), sep(3), sep(4), letter(5)];
        let mut rule = Rule::new(vec![Separator::Barcode("NEXT".into())]);
        assert_eq!(parts(&plan(&pages, &rule)), vec![vec![2], vec![5]]);
        rule.keep_separators = true;
        assert_eq!(parts(&plan(&pages, &rule)), vec![vec![1, 2], vec![3], vec![4, 5]]);
    }

    #[test]
    fn an_archive_number_starts_a_document_and_stays_in_it() {
        let pages = vec![
            page(1, "invoice", 0.03, &[("Code 128", "ASN00123")]),
            letter(2),
            page(3, "letter", 0.03, &[("Code 128", "ASN00124"), ("QR Code", "https://example.com")]),
            page(4, "other", 0.03, &[("Code 128", "XYZ")]),
        ];
        let plan = plan(&pages, &Rule::new(vec![Separator::Asn("ASN".into())]));
        assert_eq!(parts(&plan), vec![vec![1, 2], vec![3, 4]]);
        assert_eq!(plan.parts[0].asn.as_deref(), Some("ASN00123"));
        assert_eq!(plan.parts[1].asn.as_deref(), Some("ASN00124"));
        assert!(plan.dropped.is_empty());
    }

    #[test]
    fn blank_backs_are_dropped_and_a_page_with_a_few_words_is_never_blank() {
        let footer = page(4, "Page 2 of 2", 0.0002, &[]);
        let pages = vec![letter(1), blank(2), letter(3), footer, letter(5), blank(6)];
        let mut rule = Rule::new(vec![]);
        rule.drop_blank = true;
        let plan = plan(&pages, &rule);
        assert_eq!(parts(&plan), vec![vec![1, 3, 4, 5]]);
        assert_eq!(plan.dropped, vec![Dropped { page: 2, why: "blank page".into() }, Dropped { page: 6, why: "blank page".into() }]);
        // A text-layer page (no ink measured) is never blank.
        let text_layer = Page { number: 1, text: String::new(), ..Page::default() };
        assert!(!rule.is_blank(&text_layer));
    }

    #[test]
    fn blank_pages_as_separators() {
        let pages = vec![letter(1), letter(2), blank(3), letter(4), blank(5), blank(6), letter(7)];
        let plan = plan(&pages, &Rule::new(vec![Separator::Blank]));
        assert_eq!(parts(&plan), vec![vec![1, 2], vec![4], vec![7]]);
        assert!(plan.dropped.iter().all(|d| d.why.starts_with("blank page")));
    }

    #[test]
    fn separators_parse_and_print_and_a_wrong_one_is_a_sentence() {
        for s in ["patch-t", "blank", "barcode:SEP 1", "asn:ASN"] {
            assert_eq!(s.parse::<Separator>().unwrap().to_string(), s);
        }
        assert!("barcode:".parse::<Separator>().unwrap_err().contains("barcode:VALUE"));
        assert!("patch".parse::<Separator>().is_err());
        assert_eq!(page_ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(parse_ranges("1-3, 5, 7-8"), vec![1, 2, 3, 5, 7, 8]);
    }
}

//! The generic invoice reader: any vendor's invoice, no template. A person reads an invoice as a
//! form — a label, and its value to the right or below — and checks what they read: a date is a
//! date, an IBAN's check digits hold, net and tax add up to the total. So does this reader, in
//! eight languages, and it says per field how it found the value and whether it is sure.
//!
//! Fields carry the EN 16931 names the e-invoice model uses, so one bot books both.

pub mod labels;
pub mod layout;
pub mod lines;
pub mod values;
pub mod vendor;

use labels::Term;
use layout::Layout;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;
use std::str::FromStr;

/// A value found for a field, and what it rests on.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Candidate {
    pub value: String,
    pub score: f64,
    /// In words: the label and where the value stood, and the checks it passed.
    pub evidence: String,
    /// The cell it was read from (boxes it on the page).
    #[serde(skip)]
    pub cell: Option<usize>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Field {
    pub value: String,
    pub confidence: f64,
    /// Sure enough to go through without a person.
    pub sure: bool,
    pub evidence: String,
    /// The other candidates, best first.
    pub alternatives: Vec<Candidate>,
    /// The cell it was read from (boxes it on the page).
    #[serde(skip)]
    pub cell: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Reading {
    /// What the document is, as its labels say: a type's `match: { reader: invoice }` asks this.
    pub kind: DocKind,
    /// Why, in words ("an invoice: label \"Rechnungsnummer:\", and a total (1190.00)").
    pub kind_evidence: String,
    pub fields: BTreeMap<String, Field>,
    /// Fields whose label is printed with nothing of the field's kind by it: what stands there,
    /// in words ("its label \"Total Due:\" is printed, but \"to be confirmed\" is not an amount").
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unread: BTreeMap<String, String>,
    /// The invoice's lines, where a table of them was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<lines::Lines>,
}

/// What a document is to the reader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DocKind {
    Invoice,
    CreditNote,
    /// Neither: no invoice's or credit note's number or title with a total.
    #[default]
    Other,
}

impl DocKind {
    pub fn parse(s: &str) -> Option<DocKind> {
        match s {
            "invoice" => Some(DocKind::Invoice),
            "credit-note" => Some(DocKind::CreditNote),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DocKind::Invoice => "invoice",
            DocKind::CreditNote => "credit note",
            DocKind::Other => "neither an invoice nor a credit note",
        }
    }
}

/// A title stands among the first lines of the first page.
const TITLE_LINES: usize = 12;

/// Where a value stood from its label, and how much that placement is worth.
const SAME_CELL: f64 = 1.0;
const RIGHT: f64 = 0.95;
const BELOW: f64 = 0.8;
const BELOW_ALIGNED: f64 = 0.95;

struct Labelled {
    term: Term,
    strength: f64,
    cell: usize,
    /// How many of the cell's words the label took (its value may follow in the cell).
    words: usize,
}

/// The text of `cell` after its first `n` label words, without leading punctuation.
fn rest_after(text: &str, n: usize) -> &str {
    let mut seen = 0;
    let mut end = 0;
    let is_sep = |c: char| c.is_whitespace() || matches!(c, '/' | '-' | '.' | ':' | '(' | ')' | '\'' | '’');
    let mut i = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    while i < chars.len() && seen < n {
        while i < chars.len() && is_sep(chars[i].1) {
            i += 1;
        }
        let start = i;
        while i < chars.len() && !is_sep(chars[i].1) {
            i += 1;
        }
        let word: String = chars[start..i].iter().map(|(_, c)| c).collect();
        if !labels::normalise_word(&word).is_empty() {
            seen += 1;
        }
        end = chars.get(i).map_or(text.len(), |(b, _)| *b);
    }
    text[end..].trim_start_matches(|c: char| c.is_whitespace() || matches!(c, ':' | '.' | '#' | '-' | '/' | 'º' | '°'))
}

pub fn read(layout: &Layout) -> Reading {
    let mut labelled: Vec<Labelled> = vec![];
    for (id, cell) in layout.cells.iter().enumerate() {
        let words = labels::words(&cell.text);
        for f in labels::in_cell_words(&cell.text, &words) {
            // "Gesamtsumme | brutto | 1.801,78": the qualifier may stand in a cell of its own.
            let next_says = (f.words == words.len() && matches!(f.term, Term::Total | Term::TotalNet))
                .then(|| layout.right_of(id))
                .flatten()
                .map(|r| labels::words(&layout.cells[r].text))
                .filter(|w| w.len() == 1)
                .and_then(|w| labels::qualifier(&w[0]));
            let (term, strength) = match next_says {
                Some(term) => (term, f.strength.max(0.95)),
                None => (f.term, f.strength),
            };
            labelled.push(Labelled { term, strength, cell: id, words: f.words });
        }
    }
    // Each labelled cell's value: in the cell after the label, right of it, or below it.
    let sources = |l: &Labelled| -> Vec<(String, f64, &'static str, usize)> {
        let cell = &layout.cells[l.cell];
        let mut out = vec![];
        let rest = rest_after(&cell.text, l.words);
        if !rest.is_empty() {
            out.push((rest.to_string(), SAME_CELL, "after it", l.cell));
        }
        if let Some(r) = layout.right_of(l.cell) {
            out.push((layout.cells[r].text.clone(), RIGHT, "right of it", r));
            // "Total due:  EUR  509.76": a currency or unit may stand between.
            if let Some(r2) = layout.right_of(r) {
                out.push((layout.cells[r2].text.clone(), RIGHT * 0.95, "two cells right of it", r2));
            }
        }
        if let Some(b) = layout.below(l.cell) {
            // A label alone in its cell with its value on the next line, aligned with it, is a
            // form's field ("Invoice no." over "4711"), as sure as one beside its value.
            let v = &layout.cells[b];
            let h = (cell.y1 - cell.y0).max(1.0);
            let aligned = (v.x0 - cell.x0).abs() <= 0.5 * h || (v.x1 - cell.x1).abs() <= 0.5 * h;
            if rest.is_empty() && v.line == cell.line + 1 && aligned {
                out.push((v.text.clone(), BELOW_ALIGNED, "on the next line under it", b));
            } else {
                out.push((v.text.clone(), BELOW, "below it", b));
            }
        }
        out
    };
    let label_text = |l: &Labelled| {
        let c = &layout.cells[l.cell];
        let words: Vec<&str> = c.text.split_whitespace().take(4).collect();
        format!("label \"{}\" on page {}", words.join(" "), c.page)
    };

    // VAT identifiers a label names: any country's, checked or not (the scan below finds the
    // ones whose check digits hold wherever they stand).
    let mut labelled_vats: Vec<(String, usize)> = vec![];
    for l in labelled.iter().filter(|l| l.term == Term::VatId) {
        for (text, _, _, cell) in sources(l) {
            if let Some(v) = values::tax_identifier(&text).filter(|v| !values::in_iban(&text, v)) {
                labelled_vats.push((v, cell));
                break;
            }
        }
    }
    let mut found: BTreeMap<&'static str, Vec<Candidate>> = BTreeMap::new();
    let mut push = |name: &'static str, c: Candidate| found.entry(name).or_default().push(c);

    // Currency first: it says whether numeric dates are American.
    let mut currencies: BTreeMap<String, usize> = BTreeMap::new();
    for cell in &layout.cells {
        if cell.text.len() <= 5
            || cell.text.split_whitespace().any(|w| values::amount(w).is_some_and(|(_, cents)| cents))
        {
            if let Some(c) = values::currency_in(&cell.text) {
                *currencies.entry(c).or_default() += 1;
            }
        }
    }
    let currency = currencies.iter().max_by_key(|(_, n)| **n).map(|(c, n)| (c.clone(), *n));
    let day_first = currency.as_ref().is_none_or(|(c, _)| c != "USD");
    // Europe writes the day first, whatever the separator: a European currency settles
    // "09/01/2015" (an American invoice pays in dollars).
    let day_first_for_sure = currency.as_ref().is_some_and(|(c, _)| EUROPEAN.contains(&c.as_str()));
    if let Some((code, n)) = &currency {
        let others: usize = currencies.values().sum::<usize>() - n;
        let score = match (others, n) {
            (0, 1) => 0.92,
            (0, _) => 1.0,
            _ => 0.6,
        };
        push(
            "currency",
            Candidate {
                value: code.clone(),
                score,
                evidence: format!(
                    "{code} beside {n} amount(s){}",
                    if others > 0 { format!(", another currency beside {others}") } else { String::new() }
                ),
                cell: None,
            },
        );
    }

    // A credit note's own number makes an invoice number beside it the invoice it refers to.
    let credit_numbered = labelled.iter().any(|l| l.term == Term::CreditNote && l.strength >= 1.0);
    for l in &labelled {
        for (text, place, where_, cell) in sources(l) {
            let score = l.strength * place;
            let evidence = |checks: &str| format!("{}, value {where_}{checks}", label_text(l));
            let field = match l.term {
                Term::InvoiceNumber | Term::CreditNote => "invoice_number",
                Term::PurchaseOrder => "purchase_order",
                Term::IssueDate => "issue_date",
                Term::DueDate => "due_date",
                Term::Total => "total",
                Term::TotalNet => "total_net",
                Term::TotalTax => "total_tax",
                Term::AmountDue => "amount_due",
                Term::Bic => "bic",
                Term::Currency => "currency",
                _ => continue,
            };
            match l.term {
                Term::InvoiceNumber | Term::CreditNote | Term::PurchaseOrder => {
                    if let Some(v) = values::identifier(&text) {
                        // One or two characters is more often a misread mark ("n.º" read "n.2")
                        // than a number.
                        let (score, note) =
                            if v.chars().count() < 3 { (score * 0.6, ", very short for a number") } else { (score, "") };
                        let (score, note) = if l.term == Term::InvoiceNumber && credit_numbered {
                            (score * 0.5, ", on a credit note: the invoice it refers to")
                        } else {
                            (score, note)
                        };
                        push(field, Candidate { value: v, score, evidence: evidence(note), cell: Some(cell) });
                    }
                }
                Term::IssueDate | Term::DueDate => {
                    if let Some((d, certain)) = values::date(&text, day_first) {
                        let certain = certain || day_first_for_sure;
                        let (score, note) = if certain {
                            (score, ", a date")
                        } else {
                            (score * 0.7, ", a date whose day and month could swap")
                        };
                        push(
                            field,
                            Candidate { value: d.to_string(), score, evidence: evidence(note), cell: Some(cell) },
                        );
                    }
                }
                Term::Total | Term::TotalNet | Term::TotalTax | Term::AmountDue => {
                    // "VAT 19%: EUR 26.03": the rate stands between a tax's label and its amount.
                    let (text, rate) = values::after_rate(&text);
                    if let Some((v, cents)) = values::amount(text) {
                        let score = if cents { score } else { score * 0.6 };
                        let (score, note) = match (rate, l.term) {
                            (true, Term::TotalTax) => ((score / 0.7).min(score.max(0.9)), ", an amount after a rate"),
                            _ => (score, ", an amount"),
                        };
                        push(field, Candidate { value: v, score, evidence: evidence(note), cell: Some(cell) });
                    }
                }
                // "Währung: EUR": the invoice's currency, whatever other currencies it shows
                // amounts in (a tax total converted for the authorities).
                Term::Currency => {
                    let named = text.split_whitespace().next().and_then(values::currency_in);
                    if let Some(v) = named {
                        push(field, Candidate { value: v, score, evidence: evidence(", a currency"), cell: Some(cell) });
                    }
                }
                Term::Bic => {
                    if let Some(v) = values::bic(&text) {
                        push(field, Candidate { value: v, score, evidence: evidence(", a BIC"), cell: Some(cell) });
                    }
                }
                _ => {}
            }
        }
    }

    // Values that check themselves, wherever they stand.
    let line_text =
        |line: &Vec<usize>| line.iter().map(|&c| layout.cells[c].text.as_str()).collect::<Vec<_>>().join("  ");
    let mut ibans: Vec<(String, usize)> = vec![];
    let mut vats: Vec<(String, usize, bool)> = vec![];
    for line in &layout.lines {
        let text = line_text(line);
        for iban in values::ibans(&text) {
            ibans.push((iban, line[0]));
        }
        for vat in values::vat_ids(&text) {
            let cell = line
                .iter()
                .copied()
                .find(|&c| values::vat_ids(&layout.cells[c].text).contains(&vat))
                .unwrap_or(line[0]);
            vats.push((vat, cell, true));
        }
    }
    // A narrow column wraps a long value onto the next line ("DE7900000000123 / 4567890"): a
    // cell that starts like an IBAN and does not hold one is read with the cell below it.
    for (id, cell) in layout.cells.iter().enumerate() {
        if values::starts_like_iban(&cell.text) && values::ibans(&cell.text).is_empty() {
            if let Some(b) = layout.below(id) {
                let joined = format!("{}{}", cell.text.trim(), layout.cells[b].text.trim());
                for iban in values::ibans(&joined) {
                    if !ibans.iter().any(|(i, _)| *i == iban) {
                        ibans.push((iban, id));
                    }
                }
            }
        }
    }
    for (vat, cell) in labelled_vats {
        if !vats.iter().any(|(v, _, _)| *v == vat) {
            vats.push((vat, cell, false));
        }
    }
    let distinct_ibans: Vec<&String> = {
        let mut d: Vec<&String> = ibans.iter().map(|(i, _)| i).collect();
        d.sort();
        d.dedup();
        d
    };
    for (iban, cell) in &ibans {
        let score = if distinct_ibans.len() == 1 { 1.0 } else { 0.6 };
        push(
            "iban",
            Candidate {
                value: iban.clone(),
                score,
                evidence: format!(
                    "an IBAN whose check digits hold, page {}{}",
                    layout.cells[*cell].page,
                    if distinct_ibans.len() > 1 {
                        format!("; {} different IBANs are printed", distinct_ibans.len())
                    } else {
                        String::new()
                    }
                ),
                cell: Some(*cell),
            },
        );
    }
    attribute_vat_ids(layout, &labelled, &vats, &ibans, &mut push);

    // A field whose label is printed but no value of its kind by it: what stood there, so the
    // person the document goes to is told more than "not found".
    let mut unread: BTreeMap<String, String> = BTreeMap::new();
    for l in &labelled {
        let (field, kind) = match l.term {
            Term::InvoiceNumber => ("invoice_number", "a number"),
            Term::IssueDate => ("issue_date", "a date"),
            Term::DueDate => ("due_date", "a date"),
            Term::Total | Term::AmountDue => ("total", "an amount"),
            _ => continue,
        };
        if found.contains_key(field) || unread.contains_key(field) {
            continue;
        }
        if let Some((text, _, _, _)) = sources(l).into_iter().next() {
            let label: Vec<&str> = layout.cells[l.cell].text.split_whitespace().take(l.words.max(1)).collect();
            let text: String = text.chars().take(40).collect();
            unread.insert(field.into(), format!("its label \"{}\" is printed, but \"{text}\" by it is not {kind}", label.join(" ")));
        }
    }

    let mut fields: BTreeMap<String, Field> = BTreeMap::new();
    for (name, mut candidates) in found {
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        // One candidate per value: the best.
        let mut seen: Vec<String> = vec![];
        candidates.retain(|c| {
            let new = !seen.contains(&c.value);
            seen.push(c.value.clone());
            new
        });
        let best = candidates.remove(0);
        let rival = candidates.first().map_or(0.0, |c| c.score);
        fields.insert(
            name.to_string(),
            Field {
                confidence: best.score,
                sure: false,
                value: best.value,
                evidence: best.evidence,
                alternatives: candidates,
                cell: best.cell,
            }
            .with_margin(rival),
        );
    }
    check_amounts(&mut fields);
    // An amount due is checked against the total it should equal (or fall short of by what was
    // prepaid, which this reader does not read): one that does not equal it is not sure.
    let total = fields.get("total").map(|f| f.value.clone());
    if let Some(due) = fields.get_mut("amount_due") {
        if total.as_deref().and_then(dec) != dec(&due.value) {
            due.confidence = due.confidence.min(0.75);
            due.evidence.push_str("; not the total");
        }
    }
    check_dates(&mut fields);
    for f in fields.values_mut() {
        f.sure = f.confidence + 1e-9 >= SURE;
    }
    unread.retain(|f, _| !fields.contains_key(f));
    let (kind, kind_evidence) = kind_of(layout, &labelled, &fields);
    let value = |name: &str| fields.get(name).map(|f| f.value.as_str());
    let lines = lines::read(layout, value("total_net"), value("total"), value("total_tax"));
    Reading { kind, kind_evidence, fields, unread, lines }
}

/// Whether the document is an invoice, a credit note or neither, by its labels: a credit note's
/// number or title, else an invoice's, and in either case a total. No list of words per type:
/// the same label table that finds the number tells which document it numbers.
fn kind_of(layout: &Layout, labelled: &[Labelled], fields: &BTreeMap<String, Field>) -> (DocKind, String) {
    let quote = |cell: usize| {
        let words: Vec<&str> = layout.cells[cell].text.split_whitespace().take(4).collect();
        format!("\"{}\"", words.join(" "))
    };
    // A title: a cell that is the label alone, near the top of the first page.
    let first_page = layout.cells.first().map_or(1, |c| c.page);
    let first_line = layout.cells.iter().filter(|c| c.page == first_page).map(|c| c.line).min().unwrap_or(0);
    let titled = |term: Term| {
        labelled.iter().find(|l| {
            let c = &layout.cells[l.cell];
            l.term == term
                && c.page == first_page
                && c.line < first_line + TITLE_LINES
                && labels::words(&c.text).len() == l.words
        })
    };
    let evidence_for = |term: Term| -> Option<String> {
        // The number's own label says what the document is, whether or not a number is read by it.
        if let Some(l) = labelled.iter().find(|l| l.term == term && l.strength >= 0.9) {
            return Some(format!("label {}", quote(l.cell)));
        }
        titled(term).map(|l| format!("the title {}", quote(l.cell)))
    };
    // A total read, or at least its label printed (the reader may not make out its value).
    let total = ["total", "amount_due", "total_net"].iter().find_map(|f| fields.get(*f).map(|x| format!("a {} ({})", f.replace('_', " "), x.value)));
    let total = total.or_else(|| {
        labelled
            .iter()
            .find(|l| matches!(l.term, Term::Total | Term::AmountDue | Term::TotalNet))
            .map(|l| format!("a total's label {}", quote(l.cell)))
    });
    let (kind, why) = match (evidence_for(Term::CreditNote), evidence_for(Term::InvoiceNumber)) {
        (Some(why), _) => (DocKind::CreditNote, why),
        (None, Some(why)) => (DocKind::Invoice, why),
        (None, None) => {
            return (DocKind::Other, "no invoice or credit note number or title".into());
        }
    };
    match total {
        Some(total) => (kind, format!("{}: {why}, and {total}", kind.name())),
        None => (DocKind::Other, format!("{why}, but no total")),
    }
}

/// Currencies of countries that write dates day first.
const EUROPEAN: &[&str] =
    &["EUR", "GBP", "CHF", "PLN", "SEK", "DKK", "NOK", "CZK", "HUF", "RON", "BGN", "ISK", "HRK"];

/// The fields this reader fills, as a type's `extract.required` names them.
pub const FIELDS: &[&str] = &[
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "purchase_order",
    "seller_vat_id",
    "buyer_vat_id",
    "iban",
    "bic",
    "total_net",
    "total_tax",
    "total",
    "amount_due",
];

/// The field the invoice's lines fill; a type may require it as it requires [`FIELDS`].
pub const LINES: &str = "lines";

/// Puts what the reader found into a type's fields: a field its own regexes or an agent already
/// set keeps that value. A required field the reader did not find, or found without being sure,
/// is a problem in words (the item then goes to a person with the candidate preselected).
pub fn fill(
    reading: &Reading,
    required: &[String],
    overrides: &BTreeMap<String, String>,
    fields: &mut super::Fields,
    problems: &mut BTreeMap<String, String>,
) {
    for (name, f) in &reading.fields {
        if fields.contains_key(name) || overrides.contains_key(name) {
            continue;
        }
        fields.insert(name.clone(), serde_json::Value::String(f.value.clone()));
        if required.contains(name) && !f.sure {
            problems.insert(
                name.clone(),
                format!("found {} but not sure ({:.0}%: {})", f.value, f.confidence * 100.0, f.evidence),
            );
        }
    }
    // What an agent gave for a field only this reader fills, checked by the field's kind.
    for (name, raw) in overrides {
        if fields.contains_key(name) || problems.contains_key(name) || !FIELDS.contains(&name.as_str()) {
            continue;
        }
        match values::Kind::of(name).given(raw) {
            Ok(v) => {
                fields.insert(name.clone(), serde_json::Value::String(v));
            }
            Err(why) => {
                problems.insert(name.clone(), format!("\"{}\" {why}", raw.trim()));
            }
        }
    }
    // The lines, as an e-invoice's: an array of objects.
    if let Some(lines) = reading.lines.as_ref().filter(|_| !fields.contains_key(LINES)) {
        fields.insert(LINES.into(), serde_json::to_value(&lines.rows).unwrap_or_default());
        if required.iter().any(|r| r == LINES) && !lines.sure {
            problems.insert(LINES.into(), format!("found but not sure ({:.0}%: {})", lines.confidence * 100.0, lines.evidence));
        }
    }
    for name in required {
        if name == LINES && !fields.contains_key(LINES) {
            problems.insert(LINES.into(), "no table of invoice lines found (a header naming a description or quantity and an amount)".into());
            continue;
        }
        if !fields.contains_key(name) && !overrides.contains_key(name) && !problems.contains_key(name) {
            let why = reading.unread.get(name).cloned().unwrap_or_else(|| "not found in the text".into());
            problems.insert(name.clone(), why);
        }
    }
}

/// The confidence from which a field goes through without a person.
pub const SURE: f64 = 0.9;

impl Field {
    /// A rival candidate close behind takes confidence away.
    fn with_margin(mut self, rival: f64) -> Field {
        if rival > 0.0 {
            self.confidence = (self.confidence - 0.5 * rival.min(self.confidence)).max(0.0);
        }
        self
    }
}

fn dec(s: &str) -> Option<Decimal> {
    Decimal::from_str(s).ok()
}

/// Net + tax = total (and the amount due, printed apart, agrees): the amounts that add up are
/// taken, all of them sure; where nothing adds up, none of them is.
fn check_amounts(fields: &mut BTreeMap<String, Field>) {
    let options = |name: &str| -> Vec<String> {
        fields
            .get(name)
            .map(|f| std::iter::once(f.value.clone()).chain(f.alternatives.iter().map(|c| c.value.clone())).collect())
            .unwrap_or_default()
    };
    let taxes = options("total_tax");
    // With nothing prepaid, the amount due is the total: "Total due" labels both. A sum printed
    // as a total before the tax is added is the net ("Gesamtsumme 1.436,50 / Umsatzsteuer
    // 365,28 / Gesamtsumme 1.801,78"): net candidates are tried first, then totals.
    let mut totals = options("total");
    totals.extend(options("amount_due"));
    let no_breakdown = taxes.is_empty()
        && options("total_net").is_empty()
        && fields.get("total").is_some_and(|f| f.alternatives.is_empty());
    let mut nets = options("total_net");
    nets.extend(options("total"));
    let mut agreed = None;
    'search: for n in &nets {
        for t in &totals {
            for x in &taxes {
                if let (Some(tv), Some(nv), Some(xv)) = (dec(t), dec(n), dec(x)) {
                    // Addition proves little where a part is zero (0 + x = x) or where net and
                    // tax could swap: no VAT rate reaches 100%, so the tax is the smaller part.
                    if nv + xv == tv && tv > Decimal::ZERO && n != t && !nv.is_zero() && xv.abs() < nv.abs() {
                        agreed = Some((n.clone(), x.clone(), t.clone()));
                        break 'search;
                    }
                }
            }
        }
    }
    match agreed {
        Some((n, x, t)) => {
            let why = "; net + tax = total";
            adopt(fields, "total_net", &n, &["total"], why);
            adopt(fields, "total_tax", &x, &[], why);
            adopt(fields, "total", &t, &["amount_due"], why);
            if let Some(due) = fields.get_mut("amount_due") {
                if dec(&due.value) == dec(&t) {
                    due.confidence = 1.0;
                    due.evidence.push_str("; equals the total");
                }
            }
        }
        // An invoice with a total alone (no tax shown: a small business, a receipt) has
        // nothing to contradict it; where a net or a tax is printed and nothing adds up, one of
        // them is misread.
        None if no_breakdown => {
            if let Some(f) = fields.get_mut("total") {
                f.evidence.push_str("; no net or tax printed to check it against");
            }
        }
        None => {
            for name in ["total_net", "total_tax", "total"] {
                if let Some(f) = fields.get_mut(name) {
                    f.confidence = f.confidence.min(0.75);
                    f.evidence.push_str("; no net and tax found that add up to a total");
                }
            }
            // A total and an amount due that agree with each other still say something.
            if let (Some(total), Some(due)) =
                (fields.get("total").map(|f| f.value.clone()), fields.get_mut("amount_due"))
            {
                if dec(&due.value) == dec(&total) {
                    due.evidence.push_str("; equals the total");
                }
            }
        }
    }
}

/// Makes `value` the field `name`'s, sure: from its own candidates, else from a candidate of the
/// fields `from` (the net found under a total's label); what it held stays as an alternative.
fn adopt(fields: &mut BTreeMap<String, Field>, name: &str, value: &str, from: &[&str], why: &str) {
    if let Some(f) = fields.get_mut(name) {
        if f.value == value || f.alternatives.iter().any(|c| c.value == value) {
            take(f, value, 1.0, why);
            return;
        }
    }
    let (evidence, cell) = from
        .iter()
        .filter_map(|src| fields.get(*src))
        .find_map(|f| {
            if f.value == value {
                Some((f.evidence.clone(), f.cell))
            } else {
                f.alternatives.iter().find(|c| c.value == value).map(|c| (c.evidence.clone(), c.cell))
            }
        })
        .unwrap_or_default();
    let old = fields.remove(name).map(|f| Candidate {
        value: f.value,
        score: f.confidence,
        evidence: f.evidence,
        cell: f.cell,
    });
    let evidence = format!("{evidence}{why}");
    fields.insert(
        name.to_string(),
        Field {
            value: value.to_string(),
            confidence: 1.0,
            sure: true,
            evidence,
            alternatives: old.into_iter().collect(),
            cell,
        },
    );
}

/// Makes `value` (the best or an alternative) the field's value with `confidence`.
fn take(f: &mut Field, value: &str, confidence: f64, why: &str) {
    if f.value != value {
        if let Some(i) = f.alternatives.iter().position(|c| c.value == value) {
            let c = f.alternatives.remove(i);
            let old = Candidate {
                value: std::mem::take(&mut f.value),
                score: f.confidence,
                evidence: std::mem::take(&mut f.evidence),
                cell: f.cell,
            };
            f.value = c.value;
            f.evidence = c.evidence;
            f.cell = c.cell;
            f.alternatives.insert(0, old);
        }
    }
    f.confidence = confidence;
    f.evidence.push_str(why);
}

/// A due date before the issue date is a misreading of one of them. A date that is the only one
/// any issue-date label points at ("Date: 03.04.2024") is the invoice's, though "date" alone is a
/// weak label.
fn check_dates(fields: &mut BTreeMap<String, Field>) {
    if let Some(f) = fields.get_mut("issue_date") {
        if f.alternatives.is_empty() && f.confidence >= 0.55 && !f.evidence.contains("could swap") {
            f.confidence = (f.confidence + 0.3).min(0.95);
            f.evidence.push_str("; the only date so labelled");
        }
    }
    let issue = fields.get("issue_date").map(|f| f.value.clone());
    if let (Some(issue), Some(due)) = (issue, fields.get_mut("due_date")) {
        if due.value < issue {
            due.confidence = due.confidence.min(0.5);
            due.evidence.push_str("; before the issue date");
        }
    }
}

/// Which party a VAT identifier belongs to: the party label nearest above it (or left of it on
/// its line) decides. Unattributed, the only one printed is the seller's (who must print it).
fn attribute_vat_ids(
    layout: &Layout,
    labelled: &[Labelled],
    vats: &[(String, usize, bool)],
    ibans: &[(String, usize)],
    push: &mut impl FnMut(&'static str, Candidate),
) {
    let party_of = |cell: usize| -> Option<(Term, usize)> {
        let c = &layout.cells[cell];
        labelled
            .iter()
            .filter(|l| matches!(l.term, Term::Seller | Term::Buyer))
            .filter_map(|l| {
                let p = &layout.cells[l.cell];
                let lines_up = c.line.checked_sub(p.line)?;
                // A party's block: lines under its label, starting where it starts (an address
                // is set flush left), within ten lines' height; or right of it on its line.
                let h = (p.y1 - p.y0).max(1.0);
                // ("Bill to:  ACME" sets its address under the name, right of the label).
                let flush = |x0: f64| (c.x0 - x0).abs() <= 3.0 * h;
                let value_x =
                    layout.right_of(l.cell).map(|r| layout.cells[r].x0).filter(|&x| x - p.x1 <= 15.0 * h);
                let under = lines_up > 0 && (flush(p.x0) || value_x.is_some_and(flush)) && c.y0 - p.y1 <= 10.0 * h;
                let beside = lines_up == 0 && p.x1 <= c.x0;
                (p.page == c.page && lines_up <= 12 && (under || beside)).then_some((l.term, lines_up))
            })
            .min_by_key(|(_, up)| *up)
    };
    let mut distinct: Vec<&String> = vats.iter().map(|(v, _, _)| v).collect();
    distinct.sort();
    distinct.dedup();
    let iban_country: Option<&str> = ibans.first().map(|(i, _)| &i[..2]);
    // The seller is the party whose VAT identifier is not the buyer's: one left over when every
    // other is in the buyer's block.
    let buyers: Vec<&String> =
        vats.iter().filter(|(_, c, _)| matches!(party_of(*c), Some((Term::Buyer, _)))).map(|(v, _, _)| v).collect();
    let unplaced: Vec<&String> = distinct.iter().copied().filter(|v| !buyers.contains(v)).collect();
    for (vat, cell, checked) in vats {
        let page = layout.cells[*cell].page;
        // One whose check digits were not verified (an unknown country, or they fail) is a
        // candidate, never sure.
        let (weight, check) = if *checked {
            (1.0, "whose check holds")
        } else {
            (0.7, "after a VAT label, its check digits not verified")
        };
        let mut push = |name: &'static str, mut c: Candidate| {
            c.score *= weight;
            c.evidence = c.evidence.replace("whose check holds", check).replace("its check holds", check);
            push(name, c)
        };
        match party_of(*cell) {
            Some((Term::Buyer, up)) => push(
                "buyer_vat_id",
                Candidate {
                    value: vat.clone(),
                    score: 0.95,
                    evidence: format!(
                        "a VAT identifier whose check holds, {up} line(s) under the buyer's label, page {page}"
                    ),
                    cell: Some(*cell),
                },
            ),
            Some((_, up)) => push(
                "seller_vat_id",
                Candidate {
                    value: vat.clone(),
                    score: 1.0,
                    evidence: format!(
                        "a VAT identifier whose check holds, {up} line(s) under the seller's label, page {page}"
                    ),
                    cell: Some(*cell),
                },
            ),
            None if distinct.len() == 1 => {
                let same_country = iban_country.is_some_and(|c| vat.starts_with(c));
                push(
                    "seller_vat_id",
                    Candidate {
                        value: vat.clone(),
                        score: if same_country { 0.92 } else { 0.8 },
                        evidence: format!(
                            "the only VAT identifier printed, its check holds{}, page {page}",
                            if same_country { ", from the IBAN's country" } else { "" }
                        ),
                        cell: Some(*cell),
                    },
                );
            }
            None if !buyers.is_empty() && unplaced.len() == 1 => push(
                "seller_vat_id",
                Candidate {
                    value: vat.clone(),
                    score: 0.92,
                    evidence: format!("a VAT identifier whose check holds, the one that is not the buyer's, page {page}"),
                    cell: Some(*cell),
                },
            ),
            None => push(
                "seller_vat_id",
                Candidate {
                    value: vat.clone(),
                    score: 0.5,
                    evidence: format!(
                        "one of {} VAT identifiers printed, no party label above it, page {page}",
                        distinct.len()
                    ),
                    cell: Some(*cell),
                },
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'a>(r: &'a Reading, name: &str) -> Option<(&'a str, bool)> {
        r.fields.get(name).map(|f| (f.value.as_str(), f.sure))
    }

    #[test]
    fn what_a_document_is_by_its_labels() {
        let invoice = "Muster GmbH                    Rechnung\nRechnungs-Nr.:  RE-17\n\nGesamtbetrag   119,00 EUR\n";
        let r = read(&Layout::from_text(invoice));
        assert_eq!(r.kind, DocKind::Invoice, "{}", r.kind_evidence);
        // A credit note names the invoice it corrects: its own number is the document's.
        let credit = "Muster GmbH                    Gutschrift\nGutschrift-Nr.:  GS-4\nzu Rechnung Nr.  RE-17\n\nGesamtbetrag   19,00 EUR\n";
        let r = read(&Layout::from_text(credit));
        assert_eq!(r.kind, DocKind::CreditNote, "{}", r.kind_evidence);
        assert_eq!(value(&r, "invoice_number").map(|v| v.0), Some("GS-4"));
        let titled = "AVOIR\n\nClient: Dupont SA\nDate: 03/04/2024\nTotal TTC   120,00 EUR\n";
        assert_eq!(read(&Layout::from_text(titled)).kind, DocKind::CreditNote);
        // A quote has a total but numbers no invoice; a letter has neither.
        let quote = "Angebot Nr. 42\nDatum: 01.02.2024\nGesamtbetrag 500,00 EUR\n";
        assert_eq!(read(&Layout::from_text(quote)).kind, DocKind::Other);
        // Its number's label says what it is, even with no number by it.
        let unnumbered = "Rechnungsnummer:   folgt\nGesamtbetrag   119,00 EUR\n";
        assert_eq!(read(&Layout::from_text(unnumbered)).kind, DocKind::Invoice);
        let reminder = "Invoice no. 4711\nPlease find our terms attached.\n";
        let r = read(&Layout::from_text(reminder));
        assert_eq!(r.kind, DocKind::Other);
        assert!(r.kind_evidence.contains("no total"), "{}", r.kind_evidence);
    }

    #[test]
    fn a_german_invoice_read_as_a_form() {
        let text = "\
Muster GmbH · Hauptstr. 1 · 10115 Berlin                 Rechnung
USt-IdNr.: DE136695976
Rechnungsempfänger:                                       Rechnungs-Nr.:   RE-2024-0815
Beispiel AG                                               Rechnungsdatum:  12.03.2024
USt-IdNr. DE129273398                                     Fällig am:       11.04.2024

Pos   Beschreibung            Menge    Preis       Betrag
1     Beratung                10       100,00      1.000,00

                                    Nettobetrag        1.000,00 EUR
                                    USt 19 %             190,00 EUR
                                    Gesamtbetrag       1.190,00 EUR

IBAN DE89 3704 0044 0532 0130 00   BIC COBADEFFXXX
";
        let r = read(&Layout::from_text(text));
        assert_eq!(value(&r, "invoice_number"), Some(("RE-2024-0815", true)));
        assert_eq!(value(&r, "issue_date"), Some(("2024-03-12", true)));
        assert_eq!(value(&r, "due_date"), Some(("2024-04-11", true)));
        assert_eq!(value(&r, "total"), Some(("1190.00", true)));
        assert_eq!(value(&r, "total_net"), Some(("1000.00", true)));
        assert_eq!(value(&r, "total_tax"), Some(("190.00", true)));
        assert_eq!(value(&r, "currency"), Some(("EUR", true)));
        assert_eq!(value(&r, "iban"), Some(("DE89370400440532013000", true)));
        assert_eq!(value(&r, "seller_vat_id").map(|v| v.0), Some("DE136695976"));
        assert_eq!(value(&r, "buyer_vat_id").map(|v| v.0), Some("DE129273398"));
        assert_eq!(value(&r, "bic").map(|v| v.0), Some("COBADEFFXXX"));
    }

    #[test]
    fn an_iban_a_narrow_column_wrapped_is_read_whole() {
        let text = "Bank:          IBAN:     DE7900000000123\n                          4567890\n";
        let r = read(&Layout::from_text(text));
        assert_eq!(value(&r, "iban"), Some(("DE79000000001234567890", true)));
    }

    #[test]
    fn totals_that_do_not_add_up_are_not_sure() {
        let text = "Invoice No: 4711\nSubtotal   100.00\nVAT   20.00\nTotal   125.00\n";
        let r = read(&Layout::from_text(text));
        assert_eq!(value(&r, "total"), Some(("125.00", false)));
        assert!(r.fields["total"].evidence.contains("add up"));
    }
}

//! What clerk learns of a vendor's invoices from the agents who correct or confirm them: per
//! field, the label its value stood by and where from it (after it in its cell, right of it, two
//! cells right, below it), or where on the page when no label is near. The vendor's next invoice
//! is read at those spots ahead of the generic guess: a layout a person has shown once is read
//! the way they showed it, and a spot that still holds a value of the field's kind is sure.
//!
//! A vendor is known by its VAT identifier or IBAN — values whose check digits hold, so one
//! misread character does not make a different vendor.

use super::labels;
use super::layout::Layout;
use super::values::Kind;
use super::{Candidate, Field, Reading};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Place {
    /// In the label's own cell, after its words ("Invoice no. 4711").
    After,
    Right,
    /// A currency or unit between ("Total  EUR  1,190.00").
    RightTwo,
    Below,
    /// No label near: where on the page the value stood.
    At,
}

/// A point on a page: its number, and the distance from the left and from the top edge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct At {
    pub page: u32,
    pub x: f64,
    pub y: f64,
}

/// Where one field's value stands on the vendor's invoices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Spot {
    /// The label's words as the reader normalises them ("rechnungs nr"); empty for `At`.
    pub label: String,
    /// Which of the cells so labelled, in reading order (a label printed twice).
    pub nth: usize,
    pub place: Place,
    /// For `At`: the page, and the value's left and top edges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<At>,
    /// For an identifier: the words of the value's text it spans (from, to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<(usize, usize)>,
    /// The reader was sure of another value when the agent showed this spot: where the spot
    /// holds nothing, the reader's guess is not trusted either.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overruled: bool,
}

impl Spot {
    /// In words, for `--explain`, the item page and `clerk vendors show`.
    pub fn describe(&self) -> String {
        let nth = if self.nth > 0 { format!(" (its {}. occurrence)", self.nth + 1) } else { String::new() };
        match self.place {
            Place::After => format!("after \"{}\"{nth} in its cell", self.label),
            Place::Right => format!("right of \"{}\"{nth}", self.label),
            Place::RightTwo => format!("two cells right of \"{}\"{nth}", self.label),
            Place::Below => format!("below \"{}\"{nth}", self.label),
            Place::At => match self.at {
                Some(At { page, x, y }) => format!("at {x:.0},{y:.0} on page {page}, no label near"),
                None => "nowhere".into(),
            },
        }
    }
}

/// A field's spots as learned, the newest first (a vendor may print two layouts: a one-page
/// and a longer invoice), the value the agent gave on the newest, and from which document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Learned {
    pub spots: Vec<Spot>,
    pub example: String,
    pub document_id: i64,
    pub by: String,
}

/// How many layouts of one vendor are remembered per field.
pub const MAX_SPOTS: usize = 3;

impl Learned {
    /// `spot`, shown on `document_id` by `by` with `example`, ahead of the spots `earlier` had.
    pub fn new(spot: Spot, example: String, document_id: i64, by: String, earlier: Option<&Learned>) -> Learned {
        let mut spots = vec![spot];
        for s in earlier.map(|e| e.spots.as_slice()).unwrap_or_default() {
            // The same place shown again keeps whether the reader was ever overruled there.
            let same = |t: &Spot| Spot { overruled: s.overruled, ..t.clone() } == *s;
            if let Some(t) = spots.iter_mut().find(|t| same(t)) {
                t.overruled |= s.overruled;
            } else if spots.len() < MAX_SPOTS {
                spots.push(s.clone());
            }
        }
        Learned { spots, example, document_id, by }
    }

    pub fn describe(&self) -> String {
        self.spots.iter().map(Spot::describe).collect::<Vec<_>>().join(", or ")
    }
}

/// What is known of one vendor.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Vendor {
    pub id: i64,
    pub name: String,
    /// `vat:DE136695976`, `iban:DE89…`.
    pub keys: Vec<String>,
    pub fields: BTreeMap<String, Learned>,
}

/// The keys that may name the vendor of a document the reader read: every VAT identifier and
/// IBAN it found, the seller's first (a buyer's identifiers never belong to a vendor learned, as
/// keys are only stored from what an agent accepted as the seller's).
pub fn keys_in(reading: &Reading) -> Vec<String> {
    let mut keys = vec![];
    for (field, prefix) in [("seller_vat_id", "vat:"), ("iban", "iban:"), ("buyer_vat_id", "vat:")] {
        if let Some(f) = reading.fields.get(field) {
            for v in std::iter::once(&f.value).chain(f.alternatives.iter().map(|c| &c.value)) {
                let k = format!("{prefix}{v}");
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
    }
    keys
}

/// The keys a resolved document's fields give its vendor: the seller's VAT identifier and IBAN,
/// each where `trusted` says its field may name the vendor.
pub fn keys_of(fields: &crate::classify::Fields, trusted: impl Fn(&str) -> bool) -> Vec<String> {
    [("seller_vat_id", "vat:"), ("iban", "iban:")]
        .into_iter()
        .filter(|(field, _)| trusted(field))
        .filter_map(|(field, prefix)| {
            let v = fields.get(field).and_then(|v| v.as_str()).filter(|v| !v.is_empty())?;
            Some(format!("{prefix}{v}"))
        })
        .collect()
}

/// Whether numeric dates are read day first (all but American invoices).
pub fn day_first(reading: &Reading) -> bool {
    reading.fields.get("currency").is_none_or(|c| c.value != "USD")
}

fn norm(text: &str) -> String {
    labels::words(text).join(" ")
}

/// A cell that reads as a label: a few words with letters, not itself a value.
fn label_like(text: &str) -> bool {
    let n = norm(text);
    // A currency beside an amount is no label: it stands by every amount.
    let currency = n.len() <= 3 && Kind::Currency.read(text, true).is_some();
    n.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && n.len() <= 60
        && !currency
        && Kind::Amount.read(text, true).is_none()
}

/// The value `kind` reads from `text`, or for an identifier the words it spans.
fn value_in(kind: Kind, text: &str, words: Option<(usize, usize)>, day_first: bool) -> Option<String> {
    match (kind, words) {
        (Kind::Identifier, Some((a, b))) => {
            let w: Vec<&str> = text.split_whitespace().collect();
            (b <= w.len() && a < b).then(|| w[a..b].join(" "))
        }
        _ => kind.read(text, day_first),
    }
}

/// Where in `text` the value stands: for an identifier, the words equal to it; for another
/// kind, whether the text reads as it.
fn holds(kind: Kind, text: &str, value: &str, day_first: bool) -> Option<Option<(usize, usize)>> {
    if kind != Kind::Identifier {
        return (kind.read(text, day_first).as_deref() == Some(value)).then_some(None);
    }
    let w: Vec<&str> = text.split_whitespace().collect();
    let target: Vec<&str> = value.split_whitespace().collect();
    let trim = |s: &str| s.trim_matches(|c: char| matches!(c, ':' | ',' | ';' | '(' | ')' | '#')).to_string();
    (0..w.len())
        .find_map(|a| {
            let b = a + target.len();
            (b <= w.len() && w[a..b].iter().zip(&target).all(|(x, y)| trim(x) == *y)).then_some((a, b))
        })
        .map(Some)
}

/// The cell left of `id` on its line.
fn left_of(layout: &Layout, id: usize) -> Option<usize> {
    let line = &layout.lines[layout.cells[id].line];
    line.iter().position(|&c| c == id).filter(|&i| i > 0).map(|i| line[i - 1])
}

fn above(layout: &Layout, id: usize) -> Option<usize> {
    let c = &layout.cells[id];
    let from = c.line.saturating_sub(2);
    layout.lines[from..c.line].iter().flatten().copied().filter(|&a| layout.below(a) == Some(id)).last()
}

/// Which occurrence of `label` cell `id` is, counting the cells that start with it.
fn nth(layout: &Layout, id: usize, label: &str) -> usize {
    (0..id).filter(|&c| label_at(layout, c, label).is_some()).count()
}

/// Whether cell `c` starts with `label`'s words, and the text after them.
fn label_at(layout: &Layout, c: usize, label: &str) -> Option<String> {
    let text = &layout.cells[c].text;
    let whole = norm(text);
    if whole == label {
        return Some(String::new());
    }
    // Most cells are no match: one normalisation tells, before the cell's prefixes are tried.
    if !whole.starts_with(label) {
        return None;
    }
    let w: Vec<&str> = text.split_whitespace().collect();
    (1..w.len()).find(|&k| norm(&w[..k].join(" ")) == label).map(|k| w[k..].join(" "))
}

/// The label terms that name `field`.
fn terms_of(field: &str) -> &'static [labels::Term] {
    use labels::Term::*;
    match field {
        "invoice_number" => &[InvoiceNumber],
        "issue_date" => &[IssueDate],
        "due_date" => &[DueDate],
        "total" => &[Total, AmountDue],
        "total_net" => &[TotalNet],
        "total_tax" => &[TotalTax],
        "amount_due" => &[AmountDue, Total],
        "purchase_order" => &[PurchaseOrder],
        "seller_vat_id" | "buyer_vat_id" => &[VatId],
        "iban" => &[Iban],
        "bic" => &[Bic],
        _ => &[],
    }
}

/// Where `value` (an agent's, normalised) stands in `layout` as field `field`: the first place
/// the field's own label points at it, else another known label, else any label, else the point
/// on the page where it stands.
pub fn learn(layout: &Layout, field: &str, value: &str, day_first: bool) -> Option<Spot> {
    let kind = Kind::of(field);
    // How well a label suits: 2 when it is the field's own ("Rechnungsnummer" for the number),
    // 1 for another field's, 0 for text no label table knows.
    let own = terms_of(field);
    // Among the field's own labels the surest wins ("Gesamtsumme brutto" over "Summe aller
    // Positionen" for the total): the rank is (how well it suits, the label's strength).
    let rank = |label: &str| -> (u8, u32) {
        let found = labels::in_cell(label);
        // The field's first term before its others: a total's own label before an amount
        // due's, which falls short of the total where something was prepaid.
        let mine = found
            .iter()
            .filter_map(|f| own.iter().position(|t| *t == f.term).map(|i| (3 - i.min(1) as u8, (f.strength * 100.0) as u32)))
            .max();
        match mine {
            Some(rank) => rank,
            None => (u8::from(!found.is_empty()), 0),
        }
    };
    let mut spots: Vec<((u8, u32), Spot)> = vec![];
    for (id, cell) in layout.cells.iter().enumerate() {
        // After a label in the value's own cell.
        let w: Vec<&str> = cell.text.split_whitespace().collect();
        for k in 1..w.len() {
            let prefix = w[..k].join(" ");
            if !label_like(&prefix) {
                continue;
            }
            // Every prefix that is a label: "Taxable invoice num.:" ranks above "Taxable".
            if let Some(words) = holds(kind, &w[k..].join(" "), value, day_first) {
                let label = norm(&prefix);
                let nth = nth(layout, id, &label);
                spots.push((rank(&prefix), Spot { label, nth, place: Place::After, at: None, words, overruled: false }));
            }
        }
        let Some(words) = holds(kind, &cell.text, value, day_first) else { continue };
        let mut from = |label_cell: usize, place: Place| {
            let text = &layout.cells[label_cell].text;
            if label_like(text) {
                let label = norm(text);
                let nth = nth(layout, label_cell, &label);
                spots.push((rank(text), Spot { label, nth, place, at: None, words, overruled: false }));
            }
        };
        if let Some(l) = left_of(layout, id) {
            from(l, Place::Right);
            if let Some(ll) = left_of(layout, l) {
                from(ll, Place::RightTwo);
            }
        }
        if let Some(a) = above(layout, id) {
            from(a, Place::Below);
        }
        let at = Some(At { page: cell.page, x: cell.x0, y: cell.y0 });
        spots.push(((0, 0), Spot { label: String::new(), nth: 0, place: Place::At, at, words, overruled: false }));
    }
    let labelled = |s: &Spot| s.place != Place::At;
    // The best rank, the first in reading order on a tie.
    let best = spots
        .iter()
        .enumerate()
        .filter(|(_, (_, s))| labelled(s))
        .max_by_key(|(i, (rank, _))| (*rank, std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
        .or((!spots.is_empty()).then_some(0));
    best.map(|i| spots.swap_remove(i).1)
}

/// The value at `spot` in `layout`, and the cell it was read from.
pub fn find(layout: &Layout, field: &str, spot: &Spot, day_first: bool) -> Option<(String, usize)> {
    let kind = Kind::of(field);
    if spot.place == Place::At {
        let At { page, x, y } = spot.at?;
        let near = layout.cells.iter().enumerate().filter(|(_, c)| c.page == page).min_by(|(_, a), (_, b)| {
            let d = |c: &super::layout::Cell| (c.x0 - x).abs() + (c.y0 - y).abs();
            d(a).total_cmp(&d(b))
        })?;
        let h = (near.1.y1 - near.1.y0).max(1.0);
        if (near.1.y0 - y).abs() > 1.5 * h || (near.1.x0 - x).abs() > 4.0 * h {
            return None;
        }
        return value_in(kind, &near.1.text, spot.words, day_first).map(|v| (v, near.0));
    }
    // The label's cells: their first words are the label (a value or more text may follow).
    // The occurrence learned is tried first, then the others in reading order: a label printed
    // twice on one invoice may be printed once on the next.
    let mut labelled: Vec<(usize, String)> =
        (0..layout.cells.len()).filter_map(|c| label_at(layout, c, &spot.label).map(|rest| (c, rest))).collect();
    if spot.nth < labelled.len() {
        let learned = labelled.remove(spot.nth);
        labelled.insert(0, learned);
    }
    labelled.into_iter().find_map(|(label_cell, rest)| find_by(layout, kind, spot, day_first, label_cell, rest))
}

/// The value at `spot` from the label in `label_cell` (`rest`: the cell's text after the label).
fn find_by(layout: &Layout, kind: Kind, spot: &Spot, day_first: bool, label_cell: usize, rest: String) -> Option<(String, usize)> {
    let cell_text = |c: usize| (layout.cells[c].text.clone(), c);
    let right = layout.right_of(label_cell);
    let two_right = right.and_then(|r| layout.right_of(r)).map(cell_text);
    let after = (!rest.is_empty()).then(|| (rest, label_cell));
    let below = layout.below(label_cell).map(cell_text);
    // Whether a value stands after its label in the cell or a column right of it depends on
    // how wide it is (a right-aligned amount nears its label as it grows): those places stand
    // in for each other, the learned one tried first.
    let tries = match spot.place {
        // A vendor's forms set a value beside its label on one invoice and under it on another
        // (a long value wraps, a template has two arrangements): the label decides, the learned
        // place is tried first.
        Place::Below => vec![below, after, right.map(cell_text)],
        Place::After => vec![after, right.map(cell_text), two_right, below],
        Place::Right => vec![right.map(cell_text), after, two_right, below],
        Place::RightTwo => vec![two_right, right.map(cell_text), after, below],
        Place::At => unreachable!("handled above"),
    };
    tries.into_iter().flatten().find_map(|(text, cell)| value_in(kind, &text, spot.words, day_first).map(|v| (v, cell)))
}

/// Whether `value` is like `example` where an identifier's shape says something: a number that
/// had digits when the agent showed it has digits, and about its length (else the spot holds
/// other text now).
fn alike(field: &str, value: &str, example: &str) -> bool {
    let digits = |s: &str| s.chars().any(|c| c.is_ascii_digit());
    // A number of several characters is not followed by one of two ("19" is a rate now).
    let long_enough = value.chars().count() >= 3 || example.chars().count() < 3;
    Kind::of(field) != Kind::Identifier || ((!digits(example) || digits(value)) && long_enough)
}

/// Reads the vendor's learned fields into `reading`, ahead of the generic guess: a spot that
/// holds a value of the field's kind gives the field, sure; a spot that holds none leaves the
/// generic guess — not sure where the agent had to overrule a sure guess of the reader's there.
pub fn apply(layout: &Layout, vendor: &Vendor, reading: &mut Reading) {
    let day_first = day_first(reading);
    for (name, learned) in &vendor.fields {
        let source = format!("learned for {} from document #{} ({})", vendor.name, learned.document_id, learned.by);
        let found: Vec<(String, usize, &Spot)> =
            learned.spots.iter().filter_map(|s| find(layout, name, s, day_first).map(|(v, cell)| (v, cell, s))).filter(|(v, _, _)| alike(name, v, &learned.example)).collect();
        // The vendor's layouts may each hold a value here: where they disagree, the one the
        // generic reader is sure of too wins, sure; else the newest, not sure.
        let generic = reading.fields.get(name).filter(|f| f.sure).map(|f| f.value.clone());
        // The reader sure of another value by its own checks (net + tax = total, check
        // digits) where no agent ever had to overrule it: its checks outweigh a spot learned
        // where it had found nothing sure (the amount due learned as a total reads 0.00 once
        // an invoice is prepaid).
        let overruled = learned.spots.iter().any(|s| s.overruled);
        if let (Some(g), false) = (&generic, overruled) {
            if !found.is_empty() && !found.iter().any(|f| &f.0 == g) {
                if let Some(f) = reading.fields.get_mut(name) {
                    f.evidence.push_str(&format!("; {} reads {} {}, which the reader's checks do not bear out", source, found[0].0, found[0].2.describe()));
                }
                continue;
            }
        }
        let agree = found.windows(2).all(|p| p[0].0 == p[1].0);
        let chosen = found.iter().find(|f| Some(&f.0) == generic.as_ref()).or(found.first()).cloned();
        let confirmed = agree || chosen.as_ref().is_some_and(|c| Some(&c.0) == generic.as_ref());
        match chosen {
            Some((value, cell, spot)) => {
                let mut evidence = format!("{source}: {}", spot.describe());
                if !confirmed {
                    evidence.push_str("; the vendor's other layouts read another value here");
                }
                let confidence = if confirmed { 1.0 } else { 0.5 };
                let old = reading.fields.remove(name);
                let mut alternatives = vec![];
                if let Some(old) = old {
                    if old.value != value {
                        alternatives.push(Candidate {
                            value: old.value,
                            score: old.confidence,
                            evidence: old.evidence,
                            cell: None,
                        });
                    }
                    alternatives.extend(old.alternatives.into_iter().filter(|c| c.value != value));
                }
                reading.fields.insert(
                    name.clone(),
                    Field { value, confidence, sure: confirmed, evidence, alternatives, cell: Some(cell) },
                );
            }
            // The reader's own guess stands as it is, unless the agent had to overrule it
            // where it was sure: then it is not trusted here either.
            None if !learned.spots.iter().any(|s| s.overruled) => {
                if let Some(f) = reading.fields.get_mut(name) {
                    f.evidence.push_str(&format!("; nothing readable {} as {source}", learned.describe()));
                }
            }
            None => {
                if let Some(f) = reading.fields.get_mut(name) {
                    f.confidence = f.confidence.min(0.5);
                    f.sure = false;
                    f.evidence.push_str(&format!("; nothing readable {} as {source}", learned.describe()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &str = "\
Kontor Nord GmbH                                   Beleg 2024/117
Steuernummer DE136695976
Datum                Leistung
03.04.2024           Wartung
                                    Endsumme   EUR   1.190,00
IBAN DE89 3704 0044 0532 0130 00
";
    const NEXT: &str = "\
Kontor Nord GmbH                                   Beleg 2024/131
Steuernummer DE136695976
Datum                Leistung
17.05.2024           Reparatur
                                    Endsumme   EUR   238,00
IBAN DE89 3704 0044 0532 0130 00
";

    #[test]
    fn spots_an_agent_showed_read_the_vendors_next_invoice() {
        let first = Layout::from_text(FIRST);
        let number = learn(&first, "invoice_number", "2024/117", true).expect("found");
        assert_eq!((number.place, number.label.as_str(), number.words), (Place::After, "beleg", Some((0, 1))));
        let date = learn(&first, "issue_date", "2024-04-03", true).expect("found");
        assert_eq!((date.place, date.label.as_str()), (Place::Below, "datum"));
        let total = learn(&first, "total", "1190.00", true).expect("found");
        assert_eq!((total.place, total.label.as_str()), (Place::RightTwo, "endsumme"));

        let next = Layout::from_text(NEXT);
        assert_eq!(find(&next, "invoice_number", &number, true).map(|v| v.0).as_deref(), Some("2024/131"));
        assert_eq!(find(&next, "issue_date", &date, true).map(|v| v.0).as_deref(), Some("2024-05-17"));
        assert_eq!(find(&next, "total", &total, true).map(|v| v.0).as_deref(), Some("238.00"));
    }

    #[test]
    fn a_learned_spot_outranks_the_generic_guess_and_an_empty_one_is_not_sure() {
        let first = Layout::from_text(FIRST);
        let spot = |f: &str, v: &str| Learned {
            spots: vec![learn(&first, f, v, true).unwrap()],
            example: v.into(),
            document_id: 7,
            by: "alice".into(),
        };
        let vendor = Vendor {
            id: 1,
            name: "Kontor Nord".into(),
            keys: vec!["iban:DE89370400440532013000".into()],
            fields: BTreeMap::from([("invoice_number".to_string(), spot("invoice_number", "2024/117"))]),
        };
        let next = Layout::from_text(NEXT);
        let mut reading = super::super::read(&next);
        assert!(keys_in(&reading).contains(&"iban:DE89370400440532013000".to_string()));
        apply(&next, &vendor, &mut reading);
        let f = &reading.fields["invoice_number"];
        assert_eq!((f.value.as_str(), f.sure), ("2024/131", true));
        assert!(f.evidence.contains("learned for Kontor Nord from document #7 (alice)"), "{}", f.evidence);

        // Where the spot holds nothing (another layout), the reader's own guess stands as sure
        // as it was — unless the agent had to overrule a sure guess there.
        let changed = Layout::from_text(&NEXT.replace("Beleg 2024/131", "Rechnung Nr. 2024/131"));
        let guess = super::super::read(&changed);
        let mut reading = guess.clone();
        apply(&changed, &vendor, &mut reading);
        assert_eq!(reading.fields["invoice_number"].sure, guess.fields["invoice_number"].sure);
        let mut overruled = vendor.clone();
        overruled.fields.get_mut("invoice_number").unwrap().spots[0].overruled = true;
        let mut reading = guess.clone();
        apply(&changed, &overruled, &mut reading);
        assert!(!reading.fields["invoice_number"].sure);
    }

    #[test]
    fn the_readers_own_checks_outweigh_a_spot_that_disagrees_unless_an_agent_overruled_them() {
        // The total learned where the balance stands: right while nothing was prepaid.
        let next = Layout::from_text(
            "Rechnung Nr. 2024/131\nNettobetrag        1.000,00 EUR\nMwSt. 19 %           190,00 EUR\n\
             Gesamtbetrag       1.190,00 EUR\nRestbetrag             0,00 EUR\n",
        );
        let spot = Spot { label: "restbetrag".into(), nth: 0, place: Place::Right, at: None, words: None, overruled: false };
        let learned = Learned { spots: vec![spot], example: "238.00".into(), document_id: 7, by: "alice".into() };
        let mut vendor = Vendor { id: 1, name: "Kontor Nord".into(), keys: vec![], fields: BTreeMap::from([("total".to_string(), learned)]) };
        let mut reading = super::super::read(&next);
        assert!(reading.fields["total"].sure, "net + tax = total");
        apply(&next, &vendor, &mut reading);
        let total = &reading.fields["total"];
        assert_eq!((total.value.as_str(), total.sure), ("1190.00", true));
        assert!(total.evidence.contains("reads 0.00 right of \"restbetrag\", which the reader's checks do not bear out"), "{}", total.evidence);
        // Where an agent had to overrule the reader's sure guess at that spot, the spot wins.
        vendor.fields.get_mut("total").unwrap().spots[0].overruled = true;
        let mut reading = super::super::read(&next);
        apply(&next, &vendor, &mut reading);
        assert_eq!(reading.fields["total"].value, "0.00");
    }
}

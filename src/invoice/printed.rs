//! A hybrid invoice (Factur-X, ZUGFeRD, XRechnung in a PDF) is two documents in one: the XML a
//! machine books and the page a person reads. When the page does not show the XML's invoice
//! number or total, or shows another total, someone must look: a known attack (the XML edited
//! after printing) and a known mistake (a generator that printed one version and embedded
//! another). No peer checks it.

use super::rules::Violation;
use super::{amount_text, Invoice, Num};
use regex::Regex;
use rust_decimal::Decimal;
use std::sync::LazyLock;

/// Labels a printed total stands beside, in the languages e-invoices are issued in.
const TOTAL_LABELS: &[&str] = &[
    "total", "amount due", "balance due", "gesamt", "summe", "endbetrag", "zu zahlen", "zahlbetrag", "rechnungsbetrag",
    "montant", "à payer", "a payer", "net à payer", "totaal", "te betalen", "totale", "importe", "a pagar", "razem",
    "do zapłaty", "suma", "celkem", "yhteensä", "att betala",
];

static AMOUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"-?\d{1,3}(?:[.,'\u{a0}\u{202f} ]\d{3})+(?:[.,]\d{1,4})?|-?\d+(?:[.,]\d{1,4})?").unwrap()
});

/// Every value an amount as printed may stand for ("1.234" is 1234 or 1.234).
fn readings(token: &str) -> Vec<Decimal> {
    let t: String = token.chars().filter(|c| !matches!(c, '\'' | '\u{a0}' | '\u{202f}' | ' ')).collect();
    let mut out = vec![];
    // The last separator as the decimal mark, the others as thousands marks.
    if let Some(i) = t.rfind(['.', ',']) {
        let (int, frac) = t.split_at(i);
        let int: String = int.chars().filter(|c| *c != '.' && *c != ',').collect();
        if let Ok(d) = format!("{int}.{}", &frac[1..]).parse() {
            out.push(d);
        }
    }
    // Every separator a thousands mark.
    let plain: String = t.chars().filter(|c| *c != '.' && *c != ',').collect();
    if let Ok(d) = plain.parse() {
        out.push(d);
    }
    out
}

fn printed_amounts(line: &str) -> Vec<(String, Vec<Decimal>)> {
    AMOUNT.find_iter(line).map(|m| (m.as_str().trim().to_string(), readings(m.as_str()))).collect()
}

/// Where the printed copy disagrees with the XML: its invoice number and its total.
pub fn disagreements(inv: &Invoice, printed: &str) -> Vec<Violation> {
    let mut found = vec![];
    if printed.trim().is_empty() {
        return found;
    }
    let squeeze = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    let text = squeeze(printed);
    if let Some(number) = inv.invoice_number.as_deref().filter(|n| !n.trim().is_empty()) {
        if !text.contains(&squeeze(number)) && !text.replace(' ', "").contains(&squeeze(number).replace(' ', "")) {
            found.push(Violation {
                rule: "PRINTED".into(),
                field: "invoice_number".into(),
                message: format!("PRINTED: the XML says invoice number {number}; the printed invoice does not show it"),
                blocking: true,
            });
        }
    }
    let Some(Num::Value(total)) = &inv.total else { return found };
    let total = *total;
    let shown = printed.lines().flat_map(printed_amounts).any(|(_, r)| r.contains(&total));
    if shown {
        return found;
    }
    // What the page gives as its total: the largest amount on a line with a total label.
    let labelled: Option<String> = printed
        .lines()
        .filter(|l| {
            let l = l.to_lowercase();
            TOTAL_LABELS.iter().any(|label| l.contains(label))
        })
        .flat_map(printed_amounts)
        .filter(|(t, _)| t.contains(['.', ',']))
        .max_by(|a, b| a.1[0].cmp(&b.1[0]))
        .map(|(t, _)| t);
    let cur = inv.currency.as_deref().map(|c| format!(" {c}")).unwrap_or_default();
    let message = match labelled {
        Some(p) => format!("PRINTED: the XML says total {}{cur}; the printed invoice shows {p}", amount_text(total)),
        None => format!("PRINTED: the XML says total {}{cur}; the printed invoice does not show it", amount_text(total)),
    };
    found.push(Violation { rule: "PRINTED".into(), field: "total".into(), message, blocking: true });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invoice(number: &str, total: &str) -> Invoice {
        Invoice { invoice_number: Some(number.into()), total: Some(Num::parse(total)), currency: Some("EUR".into()), ..Invoice::default() }
    }

    #[test]
    fn the_page_shows_the_xmls_number_and_total_in_its_own_format() {
        let page = "RECHNUNG Nr. RE-2024-17\nNetto 840,34\nGesamtbetrag 1.000,00 EUR\n";
        assert!(disagreements(&invoice("RE-2024-17", "1000.00"), page).is_empty());
        let page = "Invoice INV 17\nTotal: 1,000.00\n";
        assert!(disagreements(&invoice("INV 17", "1000"), page).is_empty());
        let page = "Facture F17\nTotal TTC 1 000,00 €\n";
        assert!(disagreements(&invoice("F17", "1000.00"), page).is_empty());
    }

    #[test]
    fn another_total_on_the_page_is_named() {
        let page = "Invoice 4711\nNet 84.03\nTotal due: 100.00 EUR\n";
        let found = disagreements(&invoice("4711", "1000.00"), page);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].message, "PRINTED: the XML says total 1000.00 EUR; the printed invoice shows 100.00");
        let found = disagreements(&invoice("4712", "100.00"), page);
        assert_eq!(found[0].field, "invoice_number");
    }
}

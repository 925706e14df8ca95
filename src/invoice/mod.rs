//! One invoice model, named after EN 16931 (the CEN semantic model of an electronic invoice).
//! E-invoices in either syntax (UN/CEFACT CII, UBL 2.1; read in `read::einvoice`) fill it, and
//! so will the generic invoice reader: bots and agents see the same field names whatever the
//! invoice came as. Amounts are exact decimals, never floats.
//!
//! `rules` checks a filled model as a receiver must (EN 16931 business rules, code lists,
//! checksums); `fields` flattens it into a document's fields; `render` writes it out for people.

pub mod codes;
pub mod fields;
pub mod printed;
pub mod render;
pub mod rules;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The XML syntax an e-invoice came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Syntax {
    /// UN/CEFACT Cross Industry Invoice D16B (Factur-X, ZUGFeRD 2.x, XRechnung CII).
    #[serde(rename = "CII")]
    Cii,
    /// ZUGFeRD 1.0's Cross Industry Document (CII D13B).
    #[serde(rename = "ZUGFeRD 1.0")]
    Zugferd1,
    /// OASIS UBL 2.1 Invoice or CreditNote (Peppol BIS Billing 3.0, XRechnung UBL).
    #[serde(rename = "UBL")]
    Ubl,
}

impl Syntax {
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Cii => "CII",
            Syntax::Zugferd1 => "ZUGFeRD 1.0",
            Syntax::Ubl => "UBL",
        }
    }
}

/// A monetary amount or quantity as the invoice wrote it: its exact value, or the text when it
/// is no number (which a rule reports).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Num {
    Value(#[serde(with = "rust_decimal::serde::str")] Decimal),
    Bad { text: String },
}

impl Num {
    pub fn parse(text: &str) -> Num {
        let t = text.trim();
        // XML Schema decimals: optional sign, digits, one optional point; no exponent, no
        // thousands marks (a "1,234.50" is the sender's error, not a value to guess at).
        let ok = !t.is_empty()
            && t.trim_start_matches(['+', '-']).chars().all(|c| c.is_ascii_digit() || c == '.')
            && t.matches('.').count() <= 1
            && t.trim_start_matches(['+', '-']).chars().any(|c| c.is_ascii_digit());
        match ok.then(|| t.trim_start_matches('+').parse::<Decimal>().ok()).flatten() {
            Some(d) => Num::Value(d),
            None => Num::Bad { text: t.to_string() },
        }
    }

    pub fn value(&self) -> Option<Decimal> {
        match self {
            Num::Value(d) => Some(*d),
            Num::Bad { .. } => None,
        }
    }
}

/// A seller or buyer (BG-4, BG-7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Party {
    /// BT-27 / BT-44.
    pub name: Option<String>,
    /// BT-31 / BT-48.
    pub vat_id: Option<String>,
    /// BT-32 (seller only): the tax registration that is not a VAT ID.
    pub tax_number: Option<String>,
    /// BT-29 / BT-46: the party's own identifier, e.g. a GLN or a customer number.
    pub id: Option<String>,
    /// BT-35 … BT-40 / BT-50 … BT-55; `address` holds the lines, city and post code joined.
    pub address: Option<String>,
    pub city: Option<String>,
    pub post_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// One invoice line (BG-25).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// BT-126.
    pub position: Option<String>,
    /// BT-155 (the seller's item id), else BT-157 (a standard id such as a GTIN).
    pub item_id: Option<String>,
    /// BT-153.
    pub item_name: Option<String>,
    /// BT-129, with its unit BT-130 (UN/ECE Recommendation 20).
    pub quantity: Option<Num>,
    pub unit: Option<String>,
    /// BT-146 (net price) and BT-149 (the quantity it is the price of, default 1).
    pub unit_price: Option<Num>,
    pub price_base_quantity: Option<Num>,
    /// BT-131.
    pub net_amount: Option<Num>,
    /// BT-151, BT-152.
    pub tax_category: Option<String>,
    pub tax_rate: Option<Num>,
    /// Sums of the line's allowances (BG-27, BT-136) and charges (BG-28, BT-141).
    pub allowances: Vec<Num>,
    pub charges: Vec<Num>,
}

/// One VAT breakdown (BG-23).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tax {
    /// BT-118 (UNTDID 5305).
    pub category: Option<String>,
    /// BT-119.
    pub rate: Option<Num>,
    /// BT-116.
    pub basis: Option<Num>,
    /// BT-117.
    pub amount: Option<Num>,
    /// BT-120.
    pub exemption_reason: Option<String>,
}

/// A document-level allowance (BG-20) or charge (BG-21).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AllowanceCharge {
    pub charge: bool,
    /// BT-92 / BT-99.
    pub amount: Option<Num>,
    /// BT-95 / BT-102, BT-96 / BT-103.
    pub tax_category: Option<String>,
    pub tax_rate: Option<Num>,
    /// BT-97 / BT-104.
    pub reason: Option<String>,
}

impl AllowanceCharge {
    /// A line's allowances and charges as the line keeps them: their amounts, apart (an amount
    /// that is missing counts as malformed).
    pub fn split(all: impl IntoIterator<Item = AllowanceCharge>) -> (Vec<Num>, Vec<Num>) {
        let (mut allowances, mut charges) = (vec![], vec![]);
        for ac in all {
            let amount = ac.amount.unwrap_or(Num::Bad { text: String::new() });
            if ac.charge {
                charges.push(amount);
            } else {
                allowances.push(amount);
            }
        }
        (allowances, charges)
    }
}

/// An electronic invoice in EN 16931 terms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Invoice {
    pub syntax: Option<Syntax>,
    /// BT-24: the specification (guideline) the invoice follows, e.g.
    /// `urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0`.
    pub profile: Option<String>,
    /// BT-1.
    pub invoice_number: Option<String>,
    /// BT-3 (UNTDID 1001): 380 invoice, 381 credit note, 384 corrected invoice, …
    pub type_code: Option<String>,
    /// BT-2, ISO 8601 (YYYY-MM-DD).
    pub issue_date: Option<String>,
    /// BT-9.
    pub due_date: Option<String>,
    /// BT-5, BT-6 (ISO 4217).
    pub currency: Option<String>,
    pub tax_currency: Option<String>,
    /// BT-10 (in Germany: the Leitweg-ID).
    pub buyer_reference: Option<String>,
    /// BT-13.
    pub purchase_order: Option<String>,
    pub seller: Party,
    pub buyer: Party,
    /// BT-81 (UNTDID 4461), BT-84, BT-86, BT-83.
    pub payment_means: Option<String>,
    pub iban: Option<String>,
    pub bic: Option<String>,
    pub payment_reference: Option<String>,
    /// BT-20.
    pub payment_terms: Option<String>,
    /// BG-22: BT-106 … BT-115.
    pub line_total: Option<Num>,
    pub allowance_total: Option<Num>,
    pub charge_total: Option<Num>,
    pub total_net: Option<Num>,
    pub total_tax: Option<Num>,
    pub total: Option<Num>,
    pub prepaid: Option<Num>,
    pub rounding: Option<Num>,
    pub amount_due: Option<Num>,
    /// BG-DEX-09 (XRechnung's extension): amounts third parties are owed through this invoice,
    /// which BT-115 includes (BR-DEX-09).
    pub third_party_payments: Vec<Num>,
    pub lines: Vec<Line>,
    pub taxes: Vec<Tax>,
    pub allowances_charges: Vec<AllowanceCharge>,
    /// BT-22.
    pub notes: Vec<String>,
    /// Values the reader found malformed (a date that is no date, an amount with a thousands
    /// mark): term → the value as written. `rules` reports them.
    pub malformed: Vec<(String, String)>,
}

impl Invoice {
    /// A credit note by its type code (UNTDID 1001: 81, 83, 261, 262, 296, 308, 381, 396, 420,
    /// 458, 532).
    pub fn is_credit_note(&self) -> bool {
        codes::CREDIT_NOTE_TYPES.contains(&self.type_code.as_deref().unwrap_or(""))
    }
}

/// Formats an amount for people and bots: its exact value, with at least two decimals.
pub fn amount_text(d: Decimal) -> String {
    let mut d = d;
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// Formats a quantity or rate: its exact value without trailing zeros.
pub fn number_text(d: Decimal) -> String {
    d.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_exact_and_malformed_ones_kept_as_text() {
        assert_eq!(Num::parse(" 215.07 ").value().unwrap().to_string(), "215.07");
        assert_eq!(Num::parse("-5").value().unwrap().to_string(), "-5");
        assert_eq!(Num::parse("+0.10").value().unwrap().to_string(), "0.10");
        assert!(matches!(Num::parse("1,234.50"), Num::Bad { .. }));
        assert!(matches!(Num::parse("1e3"), Num::Bad { .. }));
        assert!(matches!(Num::parse(""), Num::Bad { .. }));
        assert_eq!(amount_text("19.9".parse().unwrap()), "19.90");
        assert_eq!(amount_text("0.125".parse().unwrap()), "0.125");
        assert_eq!(number_text("2.000".parse().unwrap()), "2");
        // 0.1 + 0.2 is 0.3 here.
        let s = Num::parse("0.1").value().unwrap() + Num::parse("0.2").value().unwrap();
        assert_eq!(s, "0.3".parse::<Decimal>().unwrap());
    }
}

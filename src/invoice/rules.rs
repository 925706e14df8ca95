//! The checks a receiver makes without a Schematron engine: EN 16931's mandatory terms (BR-01 …
//! BR-16, the line and tax-breakdown rules), its arithmetic (BR-CO-10 … BR-CO-17, the per-category
//! bases BR-S-08 and kin, and Peppol's line-net rule), its code lists (BR-CL-*), and the IBAN's
//! and VAT identifiers' check digits. Each violation names the rule and the values, in words an
//! agent acts on: `BR-CO-15: total 215.07 is not net 193.77 + tax 21.40 = 215.17`.
//!
//! Not checked here (they need the whole Schematron or data clerk does not have): the rules on
//! optional groups a receiver does not book (delivery, invoicing period, preceding invoices,
//! attachments), the CIUS-specific rules of XRechnung (BR-DE-*) and Peppol beyond R120, and
//! whether a VAT identifier is registered (VIES).

use super::codes;
use super::{amount_text, Invoice, Num};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// `BR-CO-15`, `BR-CL-04`, `IBAN`…
    pub rule: String,
    /// The field it concerns, by the model's flat name (`total`, `lines[2].net_amount`).
    pub field: String,
    /// The whole sentence, starting with the rule.
    pub message: String,
    /// A violation stops the invoice for a person; a warning is shown beside its fields only.
    pub blocking: bool,
}

struct Checks {
    found: Vec<Violation>,
}

impl Checks {
    fn add(&mut self, rule: &str, field: &str, message: impl AsRef<str>) {
        self.found.push(Violation {
            rule: rule.into(),
            field: field.into(),
            message: format!("{rule}: {}", message.as_ref()),
            blocking: true,
        });
    }

    fn warn(&mut self, rule: &str, field: &str, message: impl AsRef<str>) {
        self.add(rule, field, message);
        self.found.last_mut().unwrap().blocking = false;
    }

    /// A mandatory term: present and not blank.
    fn present(&mut self, rule: &str, field: &str, value: Option<&str>, what: &str) {
        if value.is_none_or(|v| v.trim().is_empty()) {
            self.add(rule, field, format!("the invoice has no {what}"));
        }
    }

    /// A mandatory amount: present and a number.
    fn number(&mut self, rule: &str, field: &str, value: &Option<Num>, what: &str) -> Option<Decimal> {
        match value {
            None => {
                self.add(rule, field, format!("the invoice has no {what}"));
                None
            }
            Some(Num::Bad { text }) => {
                self.add(rule, field, format!("{what} \"{text}\" is not a number"));
                None
            }
            Some(Num::Value(d)) => Some(*d),
        }
    }
}

fn v(n: &Option<Num>) -> Option<Decimal> {
    n.as_ref().and_then(Num::value)
}

/// Rounded to cents as the norm's Schematron rounds (XPath `round`, half up); a stated amount is
/// accepted when it equals the computed one rounded half up or half to even.
fn agrees(stated: Decimal, computed: Decimal) -> bool {
    let up = computed.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let even = computed.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    stated == up || stated == even || stated == computed
}

fn t(d: Decimal) -> String {
    amount_text(d)
}

/// Every violation in `inv`, in the norm's order.
pub fn check(inv: &Invoice) -> Vec<Violation> {
    let mut c = Checks { found: vec![] };
    for (term, text) in &inv.malformed {
        c.add("BR-FORMAT", term, format!("{term} \"{text}\" is not in the format the syntax requires"));
    }
    mandatory(&mut c, inv);
    code_lists(&mut c, inv);
    arithmetic(&mut c, inv);
    identifiers(&mut c, inv);
    c.found
}

fn mandatory(c: &mut Checks, inv: &Invoice) {
    c.present("BR-01", "profile", inv.profile.as_deref(), "specification identifier (BT-24)");
    c.present("BR-02", "invoice_number", inv.invoice_number.as_deref(), "invoice number (BT-1)");
    c.present("BR-03", "issue_date", inv.issue_date.as_deref(), "issue date (BT-2)");
    c.present("BR-04", "type_code", inv.type_code.as_deref(), "type code (BT-3)");
    c.present("BR-05", "currency", inv.currency.as_deref(), "currency code (BT-5)");
    c.present("BR-06", "seller_name", inv.seller.name.as_deref(), "seller name (BT-27)");
    c.present("BR-07", "buyer_name", inv.buyer.name.as_deref(), "buyer name (BT-44)");
    c.present("BR-09", "seller_country", inv.seller.country.as_deref(), "seller country code (BT-40)");
    c.present("BR-11", "buyer_country", inv.buyer.country.as_deref(), "buyer country code (BT-55)");
    c.number("BR-12", "line_total", &inv.line_total, "sum of line net amounts (BT-106)");
    c.number("BR-13", "total_net", &inv.total_net, "total without VAT (BT-109)");
    c.number("BR-14", "total", &inv.total, "total with VAT (BT-112)");
    c.number("BR-15", "amount_due", &inv.amount_due, "amount due for payment (BT-115)");
    if inv.lines.is_empty() {
        c.add("BR-16", "lines", "the invoice has no line (BG-25)");
    }
    for (i, l) in inv.lines.iter().enumerate() {
        let at = |f: &str| format!("lines[{}].{f}", i + 1);
        let what = |w: &str| format!("{w} on line {}", l.position.as_deref().unwrap_or(&(i + 1).to_string()));
        c.present("BR-21", &at("position"), l.position.as_deref(), &what("line identifier (BT-126)"));
        c.number("BR-22", &at("quantity"), &l.quantity, &what("invoiced quantity (BT-129)"));
        c.present("BR-23", &at("unit"), l.unit.as_deref(), &what("unit of measure (BT-130)"));
        c.number("BR-24", &at("net_amount"), &l.net_amount, &what("line net amount (BT-131)"));
        c.present("BR-25", &at("item_name"), l.item_name.as_deref(), &what("item name (BT-153)"));
        if let Some(p) = c.number("BR-26", &at("unit_price"), &l.unit_price, &what("item net price (BT-146)")) {
            if p.is_sign_negative() && !p.is_zero() {
                c.add("BR-27", &at("unit_price"), format!("the item net price {} on line {} is negative", t(p), i + 1));
            }
        }
        c.present("BR-CO-04", &at("tax_category"), l.tax_category.as_deref(), &what("VAT category (BT-151)"));
    }
    if inv.taxes.is_empty() {
        c.add("BR-CO-18", "taxes", "the invoice has no VAT breakdown (BG-23)");
    }
    for (i, x) in inv.taxes.iter().enumerate() {
        let at = |f: &str| format!("taxes[{}].{f}", i + 1);
        let what = |w: &str| format!("{w} in VAT breakdown {}", i + 1);
        c.number("BR-45", &at("basis"), &x.basis, &what("taxable amount (BT-116)"));
        c.number("BR-46", &at("amount"), &x.amount, &what("VAT amount (BT-117)"));
        c.present("BR-47", &at("category"), x.category.as_deref(), &what("VAT category (BT-118)"));
        if x.category.as_deref() != Some("O") {
            c.number("BR-48", &at("rate"), &x.rate, &what("VAT rate (BT-119)"));
        }
    }
    // BR-61: a credit transfer names the account it goes to.
    if matches!(inv.payment_means.as_deref(), Some("30" | "58")) && inv.iban.is_none() {
        c.add("BR-61", "iban", "the payment is by credit transfer but the invoice names no account (BT-84)");
    }
}

fn code_lists(c: &mut Checks, inv: &Invoice) {
    if let Some(code) = inv.type_code.as_deref().filter(|x| !codes::is_document_type(x)) {
        c.add("BR-CL-01", "type_code", format!("type code {code} is not an invoice or credit note type of UNTDID 1001"));
    }
    for (field, cur) in [("currency", &inv.currency), ("tax_currency", &inv.tax_currency)] {
        if let Some(code) = cur.as_deref().filter(|x| !codes::is_currency(x)) {
            c.add("BR-CL-04", field, format!("currency {code} is not an ISO 4217 code"));
        }
    }
    for (field, country) in [("seller_country", &inv.seller.country), ("buyer_country", &inv.buyer.country)] {
        if let Some(code) = country.as_deref().filter(|x| !codes::is_country(x)) {
            c.add("BR-CL-14", field, format!("country {code} is not an ISO 3166-1 code"));
        }
    }
    for (i, l) in inv.lines.iter().enumerate() {
        if let Some(code) = l.tax_category.as_deref().filter(|x| !codes::is_vat_category(x)) {
            c.add("BR-CL-18", &format!("lines[{}].tax_category", i + 1), format!("VAT category {code} on line {} is not a UNTDID 5305 code", i + 1));
        }
    }
    for (i, x) in inv.taxes.iter().enumerate() {
        if let Some(code) = x.category.as_deref().filter(|x| !codes::is_vat_category(x)) {
            c.add("BR-CL-17", &format!("taxes[{}].category", i + 1), format!("VAT category {code} in breakdown {} is not a UNTDID 5305 code", i + 1));
        }
    }
}

fn arithmetic(c: &mut Checks, inv: &Invoice) {
    let lines: Option<Vec<Decimal>> = inv.lines.iter().map(|l| v(&l.net_amount)).collect();
    let line_total = v(&inv.line_total);
    if let (Some(lines), Some(stated)) = (&lines, line_total) {
        let sum: Decimal = lines.iter().sum();
        if !lines.is_empty() && !agrees(stated, sum) {
            c.add("BR-CO-10", "line_total", format!("the sum of line net amounts {} is not the lines' sum {}", t(stated), t(sum)));
        }
    }
    let sum_of = |charge: bool| -> Option<Decimal> {
        inv.allowances_charges.iter().filter(|a| a.charge == charge).map(|a| v(&a.amount)).sum()
    };
    let (allowances, charges) = (sum_of(false), sum_of(true));
    if let (Some(stated), Some(sum)) = (v(&inv.allowance_total), allowances) {
        if !agrees(stated, sum) {
            c.add("BR-CO-11", "allowance_total", format!("allowances total {} is not the allowances' sum {}", t(stated), t(sum)));
        }
    }
    if let (Some(stated), Some(sum)) = (v(&inv.charge_total), charges) {
        if !agrees(stated, sum) {
            c.add("BR-CO-12", "charge_total", format!("charges total {} is not the charges' sum {}", t(stated), t(sum)));
        }
    }
    let (net, tax, total) = (v(&inv.total_net), v(&inv.total_tax), v(&inv.total));
    if let (Some(net), Some(lines)) = (net, line_total) {
        let a = v(&inv.allowance_total).unwrap_or_default();
        let ch = v(&inv.charge_total).unwrap_or_default();
        let computed = lines - a + ch;
        if !agrees(net, computed) {
            c.add("BR-CO-13", "total_net", format!(
                "net total {} is not lines {} − allowances {} + charges {} = {}", t(net), t(lines), t(a), t(ch), t(computed)
            ));
        }
    }
    let breakdown: Option<Decimal> = inv.taxes.iter().map(|x| v(&x.amount)).sum();
    if let (Some(sum), false) = (breakdown, inv.taxes.is_empty()) {
        let stated = tax.unwrap_or_default();
        if !agrees(stated, sum) {
            c.add("BR-CO-14", "total_tax", format!("tax total {} is not the VAT breakdown's sum {}", t(stated), t(sum)));
        }
    }
    if let (Some(total), Some(net)) = (total, net) {
        let tax = tax.unwrap_or_default();
        if !agrees(total, net + tax) {
            c.add("BR-CO-15", "total", format!("total {} is not net {} + tax {} = {}", t(total), t(net), t(tax), t(net + tax)));
        }
    }
    if let (Some(due), Some(total)) = (v(&inv.amount_due), total) {
        let (pre, rnd) = (v(&inv.prepaid).unwrap_or_default(), v(&inv.rounding).unwrap_or_default());
        let third: Decimal = inv.third_party_payments.iter().filter_map(Num::value).sum();
        let computed = total - pre + rnd + third;
        if !agrees(due, computed) {
            let third = if third.is_zero() { String::new() } else { format!(" + third-party payments {} (BR-DEX-09)", t(third)) };
            c.add("BR-CO-16", "amount_due", format!(
                "amount due {} is not total {} − prepaid {} + rounding {}{third} = {}", t(due), t(total), t(pre), t(rnd), t(computed)
            ));
        }
    }
    for (i, x) in inv.taxes.iter().enumerate() {
        let (Some(basis), Some(amount)) = (v(&x.basis), v(&x.amount)) else { continue };
        let rate = v(&x.rate).unwrap_or_default();
        let computed = basis * rate / Decimal::ONE_HUNDRED;
        // The norm's validation artefacts allow one currency unit of slack here (VAT rounded
        // per line or per total).
        if (amount - computed.round_dp(2)).abs() > Decimal::ONE {
            c.add("BR-CO-17", &format!("taxes[{}].amount", i + 1), format!(
                "VAT amount {} of breakdown {} is not {} × {}% = {}", t(amount), i + 1, t(basis), super::number_text(rate), t(computed)
            ));
        }
        // The basis of a category and rate is its lines, charges and allowances (BR-S-08,
        // BR-Z-08, BR-E-08, BR-AE-08, BR-K-08, BR-G-08, BR-O-08, BR-AF-08, BR-AG-08).
        let cat = x.category.as_deref().unwrap_or("");
        let same = |c2: &Option<String>, r2: &Option<Num>| {
            c2.as_deref() == Some(cat) && (cat == "O" || cat == "E" || v(r2).unwrap_or_default() == rate)
        };
        let parts: Option<Decimal> = inv
            .lines
            .iter()
            .filter(|l| same(&l.tax_category, &l.tax_rate))
            .map(|l| v(&l.net_amount))
            .chain(inv.allowances_charges.iter().filter(|a| same(&a.tax_category, &a.tax_rate)).map(|a| {
                v(&a.amount).map(|m| if a.charge { m } else { -m })
            }))
            .sum();
        let code = match cat {
            "S" | "Z" | "E" | "AE" | "K" | "G" | "O" | "L" | "M" => cat,
            _ => continue,
        };
        let code = match code { "L" => "AF", "M" => "AG", other => other };
        if let Some(parts) = parts {
            if !agrees(basis, parts) {
                c.add(&format!("BR-{code}-08"), &format!("taxes[{}].basis", i + 1), format!(
                    "taxable amount {} of category {cat}{} is not its lines, charges and allowances {}",
                    t(basis), if cat == "O" || cat == "E" { String::new() } else { format!(" at {}%", super::number_text(rate)) }, t(parts)
                ));
            }
        }
    }
    // Peppol's rule on the line (PEPPOL-EN16931-R120): net = quantity × price ÷ base quantity +
    // charges − allowances, within its 0.02 slack for rounding. EN 16931 itself has no such rule
    // (its own examples break it), so outside Peppol it is a warning.
    let peppol = inv.profile.as_deref().is_some_and(|p| p.contains("peppol"));
    for (i, l) in inv.lines.iter().enumerate() {
        let (Some(q), Some(p), Some(net)) = (v(&l.quantity), v(&l.unit_price), v(&l.net_amount)) else { continue };
        let base = v(&l.price_base_quantity).filter(|b| !b.is_zero()).unwrap_or(Decimal::ONE);
        let ch: Option<Decimal> = l.charges.iter().map(Num::value).sum();
        let al: Option<Decimal> = l.allowances.iter().map(Num::value).sum();
        let (Some(ch), Some(al)) = (ch, al) else { continue };
        let Some(computed) = q.checked_mul(p).and_then(|x| x.checked_div(base)).map(|x| x + ch - al) else { continue };
        if (computed - net).abs() > Decimal::new(2, 2) {
            let extra = if ch.is_zero() && al.is_zero() { String::new() } else { format!(" + charges {} − allowances {}", t(ch), t(al)) };
            let add = if peppol { Checks::add } else { Checks::warn };
            add(c, "PEPPOL-EN16931-R120", &format!("lines[{}].net_amount", i + 1), format!(
                "net amount {} on line {} is not quantity {} × price {}{}{extra} = {}",
                t(net), l.position.as_deref().unwrap_or(&(i + 1).to_string()), super::number_text(q), super::number_text(p),
                if base == Decimal::ONE { String::new() } else { format!(" ÷ {}", super::number_text(base)) },
                t(computed.round_dp(2))
            ));
        }
    }
}

fn identifiers(c: &mut Checks, inv: &Invoice) {
    if let Some(iban) = &inv.iban {
        let compact: String = iban.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        let looks_like_iban = compact.len() >= 15 && compact.as_bytes()[..2].iter().all(u8::is_ascii_alphabetic);
        if looks_like_iban && !codes::iban_ok(&compact) {
            // A SEPA transfer or direct debit (UNTDID 4461: 58, 59) needs a valid IBAN; under
            // other means BT-84 may be any account identifier, so it is a warning there.
            let sepa = matches!(inv.payment_means.as_deref(), Some("58" | "59"));
            let add = if sepa { Checks::add } else { Checks::warn };
            add(c, "IBAN", "iban", format!("IBAN {iban} fails its ISO 13616 check digits; a payment to it would not arrive"));
        }
    }
    for (field, who, vat) in [("seller_vat_id", "seller", &inv.seller.vat_id), ("buyer_vat_id", "buyer", &inv.buyer.vat_id)] {
        let Some(vat) = vat else { continue };
        if let Some(p) = codes::vat_id_problem(vat) {
            // A missing prefix breaks BR-CO-09; a wrong check digit is the registry's business
            // (VIES), shown as a warning.
            if p.contains("country prefix") {
                c.add("BR-CO-09", field, format!("the {who}'s VAT identifier {vat} {p}"));
            } else {
                c.warn("VAT-ID", field, format!("the {who}'s VAT identifier {vat} {p}"));
            }
        }
    }
}

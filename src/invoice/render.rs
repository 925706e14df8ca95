//! An e-invoice written out for people: what an XML-only invoice shows instead of a page image
//! (the item page, `clerk documents show`) and the text the text rules and the learner read.

use super::{amount_text, number_text, Invoice, Num, Party};
use std::fmt::Write;

fn num(n: &Option<Num>, amount: bool) -> String {
    match n {
        Some(Num::Value(d)) if amount => amount_text(*d),
        Some(Num::Value(d)) => number_text(*d),
        Some(Num::Bad { text }) => text.clone(),
        None => String::new(),
    }
}

fn party(out: &mut String, role: &str, p: &Party) {
    let _ = writeln!(out, "{role}: {}", p.name.as_deref().unwrap_or("—"));
    let place: Vec<&str> =
        [p.address.as_deref(), p.post_code.as_deref(), p.city.as_deref(), p.country.as_deref()].into_iter().flatten().collect();
    if !place.is_empty() {
        let _ = writeln!(out, "  {}", place.join(", "));
    }
    if let Some(v) = &p.vat_id {
        let _ = writeln!(out, "  VAT ID {v}");
    }
    if let Some(v) = &p.tax_number {
        let _ = writeln!(out, "  Tax number {v}");
    }
}

/// The invoice as plain text, in the order a printed invoice has it.
pub fn text(inv: &Invoice) -> String {
    let mut out = String::new();
    let kind = if inv.is_credit_note() { "CREDIT NOTE" } else { "INVOICE" };
    let syntax = inv.syntax.map(|s| s.name()).unwrap_or("XML");
    let _ = writeln!(out, "{kind} {}", inv.invoice_number.as_deref().unwrap_or(""));
    let _ = writeln!(out, "(electronic invoice, {syntax}; type {})", inv.type_code.as_deref().unwrap_or("?"));
    let _ = writeln!(out, "Issue date: {}", inv.issue_date.as_deref().unwrap_or(""));
    if let Some(d) = &inv.due_date {
        let _ = writeln!(out, "Due date: {d}");
    }
    if let Some(r) = &inv.buyer_reference {
        let _ = writeln!(out, "Buyer reference: {r}");
    }
    if let Some(r) = &inv.purchase_order {
        let _ = writeln!(out, "Purchase order: {r}");
    }
    out.push('\n');
    party(&mut out, "Seller", &inv.seller);
    party(&mut out, "Buyer", &inv.buyer);
    out.push('\n');
    let cur = inv.currency.as_deref().unwrap_or("");
    let _ = writeln!(out, "{:<5} {:<40} {:>10} {:>6} {:>12} {:>12} {:>6}", "Pos", "Item", "Quantity", "Unit", "Price", "Net", "VAT");
    for l in &inv.lines {
        let mut name = l.item_name.clone().unwrap_or_default();
        if let Some(id) = &l.item_id {
            name = format!("{name} ({id})");
        }
        let vat = format!("{} {}", l.tax_category.as_deref().unwrap_or(""), num(&l.tax_rate, false));
        let _ = writeln!(
            out,
            "{:<5} {:<40} {:>10} {:>6} {:>12} {:>12} {:>6}",
            l.position.as_deref().unwrap_or(""),
            name,
            num(&l.quantity, false),
            l.unit.as_deref().unwrap_or(""),
            num(&l.unit_price, true),
            num(&l.net_amount, true),
            vat.trim()
        );
    }
    out.push('\n');
    for a in &inv.allowances_charges {
        let what = if a.charge { "Charge" } else { "Allowance" };
        let _ = writeln!(out, "{what}: {} {cur} {}", num(&a.amount, true), a.reason.as_deref().unwrap_or(""));
    }
    for x in &inv.taxes {
        let _ = writeln!(
            out,
            "VAT {} {}%: {} {cur} on {} {cur}",
            x.category.as_deref().unwrap_or(""),
            num(&x.rate, false),
            num(&x.amount, true),
            num(&x.basis, true)
        );
    }
    let rows = [
        ("Sum of lines", &inv.line_total),
        ("Total net", &inv.total_net),
        ("Total VAT", &inv.total_tax),
        ("Total", &inv.total),
        ("Prepaid", &inv.prepaid),
        ("Amount due", &inv.amount_due),
    ];
    for (label, n) in rows {
        if n.is_some() {
            let _ = writeln!(out, "{label}: {} {cur}", num(n, true));
        }
    }
    out.push('\n');
    if let Some(iban) = &inv.iban {
        let _ = writeln!(out, "Pay to IBAN {iban}{}", inv.bic.as_deref().map(|b| format!(", BIC {b}")).unwrap_or_default());
    }
    if let Some(r) = &inv.payment_reference {
        let _ = writeln!(out, "Payment reference: {r}");
    }
    if let Some(t) = &inv.payment_terms {
        let _ = writeln!(out, "Terms: {t}");
    }
    for n in &inv.notes {
        let _ = writeln!(out, "Note: {n}");
    }
    out
}

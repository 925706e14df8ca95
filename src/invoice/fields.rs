//! The model as a document's fields: flat, named after EN 16931's terms, so a bot books an
//! e-invoice (and, later, a paper invoice the generic reader filled) without knowing its syntax.
//! Amounts are strings of exact decimals ("215.07"), never floats; absent terms are left out.

use super::{amount_text, number_text, Invoice, Num};
use serde_json::{json, Map, Value};

/// The flat fields an agent may correct (`lines` and `taxes` are not among them).
pub const NAMES: &[&str] = &[
    "invoice_number", "type_code", "issue_date", "due_date", "currency", "buyer_reference", "purchase_order",
    "seller_name", "seller_vat_id", "seller_tax_number", "seller_country", "buyer_name", "buyer_vat_id", "buyer_country",
    "iban", "bic", "payment_reference", "line_total", "total_net", "total_tax", "total", "prepaid", "amount_due",
];

fn put(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        m.insert(k.into(), Value::from(v));
    }
}

fn amount(n: &Option<Num>) -> Option<String> {
    n.as_ref().map(|n| match n {
        Num::Value(d) => amount_text(*d),
        Num::Bad { text } => text.clone(),
    })
}

fn number(n: &Option<Num>) -> Option<String> {
    n.as_ref().map(|n| match n {
        Num::Value(d) => number_text(*d),
        Num::Bad { text } => text.clone(),
    })
}

/// `invoice_number`, `issue_date`, …, `lines` and `taxes` as arrays of objects.
pub fn flatten(inv: &Invoice) -> Map<String, Value> {
    let mut m = Map::new();
    if let Some(s) = inv.syntax {
        m.insert("syntax".into(), Value::from(s.name()));
    }
    put(&mut m, "profile", &inv.profile);
    put(&mut m, "invoice_number", &inv.invoice_number);
    put(&mut m, "type_code", &inv.type_code);
    put(&mut m, "issue_date", &inv.issue_date);
    put(&mut m, "due_date", &inv.due_date);
    put(&mut m, "currency", &inv.currency);
    put(&mut m, "buyer_reference", &inv.buyer_reference);
    put(&mut m, "purchase_order", &inv.purchase_order);
    put(&mut m, "seller_name", &inv.seller.name);
    put(&mut m, "seller_vat_id", &inv.seller.vat_id);
    put(&mut m, "seller_tax_number", &inv.seller.tax_number);
    put(&mut m, "seller_country", &inv.seller.country);
    put(&mut m, "buyer_name", &inv.buyer.name);
    put(&mut m, "buyer_vat_id", &inv.buyer.vat_id);
    put(&mut m, "buyer_country", &inv.buyer.country);
    put(&mut m, "iban", &inv.iban);
    put(&mut m, "bic", &inv.bic);
    put(&mut m, "payment_reference", &inv.payment_reference);
    put(&mut m, "line_total", &amount(&inv.line_total));
    put(&mut m, "total_net", &amount(&inv.total_net));
    put(&mut m, "total_tax", &amount(&inv.total_tax));
    put(&mut m, "total", &amount(&inv.total));
    put(&mut m, "prepaid", &amount(&inv.prepaid));
    put(&mut m, "amount_due", &amount(&inv.amount_due));
    let lines: Vec<Value> = inv
        .lines
        .iter()
        .map(|l| {
            let mut o = Map::new();
            put(&mut o, "position", &l.position);
            put(&mut o, "item_id", &l.item_id);
            put(&mut o, "item_name", &l.item_name);
            put(&mut o, "quantity", &number(&l.quantity));
            put(&mut o, "unit", &l.unit);
            put(&mut o, "unit_price", &amount(&l.unit_price));
            if l.price_base_quantity.as_ref().and_then(Num::value).is_some_and(|b| b != rust_decimal::Decimal::ONE) {
                put(&mut o, "price_base_quantity", &number(&l.price_base_quantity));
            }
            put(&mut o, "net_amount", &amount(&l.net_amount));
            put(&mut o, "tax_category", &l.tax_category);
            put(&mut o, "tax_rate", &number(&l.tax_rate));
            Value::Object(o)
        })
        .collect();
    m.insert("lines".into(), Value::Array(lines));
    let taxes: Vec<Value> = inv
        .taxes
        .iter()
        .map(|x| {
            let mut o = Map::new();
            put(&mut o, "category", &x.category);
            put(&mut o, "rate", &number(&x.rate));
            put(&mut o, "basis", &amount(&x.basis));
            put(&mut o, "amount", &amount(&x.amount));
            Value::Object(o)
        })
        .collect();
    m.insert("taxes".into(), Value::Array(taxes));
    m.insert("credit_note".into(), json!(inv.is_credit_note()));
    m
}

//! OASIS UBL 2.1 Invoice and CreditNote (Peppol BIS Billing 3.0, XRechnung UBL) into the model.

use super::tree::X;
use crate::invoice::{AllowanceCharge, Invoice, Line, Party, Syntax, Tax};

pub fn read(r: X) -> Invoice {
    let credit_note = r.name() == "CreditNote";
    let mut inv = Invoice { syntax: Some(Syntax::Ubl), ..Invoice::default() };
    inv.profile = r.text("CustomizationID");
    inv.invoice_number = r.text("ID");
    inv.type_code = r.text("InvoiceTypeCode|CreditNoteTypeCode").or_else(|| credit_note.then(|| "381".into()));
    inv.issue_date = date(&mut inv.malformed, "issue_date", r.text("IssueDate"));
    inv.currency = r.text("DocumentCurrencyCode");
    inv.tax_currency = r.text("TaxCurrencyCode");
    inv.buyer_reference = r.text("BuyerReference");
    inv.purchase_order = r.text("OrderReference/ID");
    inv.notes = r.all("Note").into_iter().filter_map(|n| n.text("")).collect();
    inv.seller = party(r.at("AccountingSupplierParty/Party"));
    inv.buyer = party(r.at("AccountingCustomerParty/Party"));
    let means = r.all("PaymentMeans");
    inv.payment_means = means.first().and_then(|m| m.text("PaymentMeansCode"));
    let due = r.text("DueDate").or_else(|| means.iter().find_map(|m| m.text("PaymentDueDate")));
    inv.due_date = date(&mut inv.malformed, "due_date", due);
    if let Some(m) = means.iter().find(|m| m.text("PayeeFinancialAccount/ID").is_some()) {
        inv.iban = m.text("PayeeFinancialAccount/ID").map(|i| i.split_whitespace().collect());
        inv.bic = m.text("PayeeFinancialAccount/FinancialInstitutionBranch/ID");
    }
    inv.payment_reference = means.iter().find_map(|m| m.text("PaymentID"));
    inv.payment_terms = r.text("PaymentTerms/Note");
    // BT-110 is the tax total in the invoice's currency (a second one may give BT-111).
    let cur = inv.currency.clone();
    let totals = r.all("TaxTotal");
    let in_currency = |t: &X| t.at("TaxAmount").and_then(|a| a.attr("currencyID")).is_none_or(|c| Some(c) == cur);
    let tax_total = totals.iter().find(|t| in_currency(t)).or(totals.first());
    if let Some(tt) = tax_total {
        inv.total_tax = tt.num("TaxAmount");
        for s in tt.all("TaxSubtotal") {
            inv.taxes.push(Tax {
                category: s.text("TaxCategory/ID"),
                rate: s.num("TaxCategory/Percent"),
                basis: s.num("TaxableAmount"),
                amount: s.num("TaxAmount"),
                exemption_reason: s.text("TaxCategory/TaxExemptionReason"),
            });
        }
    }
    inv.allowances_charges = r.all("AllowanceCharge").into_iter().map(allowance_charge).collect();
    if let Some(m) = r.at("LegalMonetaryTotal") {
        inv.line_total = m.num("LineExtensionAmount");
        inv.total_net = m.num("TaxExclusiveAmount");
        inv.total = m.num("TaxInclusiveAmount");
        inv.allowance_total = m.num("AllowanceTotalAmount");
        inv.charge_total = m.num("ChargeTotalAmount");
        inv.prepaid = m.num("PrepaidAmount");
        inv.rounding = m.num("PayableRoundingAmount");
        inv.amount_due = m.num("PayableAmount");
    }
    inv.third_party_payments = r.all("PrepaidPayment").into_iter().filter_map(|p| p.num("PaidAmount")).collect();
    for l in r.all("InvoiceLine|CreditNoteLine") {
        inv.lines.push(line(l));
    }
    inv
}

fn party(p: Option<X>) -> Party {
    let Some(p) = p else { return Party::default() };
    let schemes = p.all("PartyTaxScheme");
    let scheme = |vat: bool| {
        schemes.iter().find(|s| (s.text("TaxScheme/ID").as_deref() == Some("VAT")) == vat).and_then(|s| s.text("CompanyID"))
    };
    let addr = p.at("PostalAddress");
    let lines: Vec<String> = addr
        .map(|a| {
            let mut l: Vec<String> = ["StreetName", "AdditionalStreetName"].iter().filter_map(|s| a.text(s)).collect();
            l.extend(a.all("AddressLine").into_iter().filter_map(|x| x.text("Line")));
            l
        })
        .unwrap_or_default();
    Party {
        name: p.text("PartyLegalEntity/RegistrationName").or_else(|| p.text("PartyName/Name")),
        vat_id: scheme(true),
        tax_number: scheme(false),
        id: p.text("PartyIdentification/ID"),
        address: (!lines.is_empty()).then(|| lines.join(", ")),
        city: addr.and_then(|a| a.text("CityName")),
        post_code: addr.and_then(|a| a.text("PostalZone")),
        country: addr.and_then(|a| a.text("Country/IdentificationCode")),
    }
}

fn allowance_charge(ac: X) -> AllowanceCharge {
    AllowanceCharge {
        charge: ac.text("ChargeIndicator").is_some_and(|v| v == "true" || v == "1"),
        amount: ac.num("Amount"),
        tax_category: ac.text("TaxCategory/ID"),
        tax_rate: ac.num("TaxCategory/Percent"),
        reason: ac.text("AllowanceChargeReason"),
    }
}

fn line(l: X) -> Line {
    let quantity = l.at("InvoicedQuantity|CreditedQuantity");
    let item = l.at("Item");
    let tax = item.and_then(|i| i.at("ClassifiedTaxCategory"));
    let (allowances, charges) = AllowanceCharge::split(l.all("AllowanceCharge").into_iter().map(allowance_charge));
    Line {
        position: l.text("ID"),
        item_id: item.and_then(|i| i.text("SellersItemIdentification/ID").or_else(|| i.text("StandardItemIdentification/ID"))),
        item_name: item.and_then(|i| i.text("Name")),
        quantity: quantity.and_then(|q| q.num("")),
        unit: quantity.and_then(|q| q.attr("unitCode")),
        unit_price: l.num("Price/PriceAmount"),
        price_base_quantity: l.num("Price/BaseQuantity"),
        net_amount: l.num("LineExtensionAmount"),
        tax_category: tax.and_then(|t| t.text("ID")),
        tax_rate: tax.and_then(|t| t.num("Percent")),
        allowances,
        charges,
    }
}

/// A UBL date is ISO 8601 already (YYYY-MM-DD); anything else is kept as malformed.
fn date(malformed: &mut Vec<(String, String)>, term: &str, text: Option<String>) -> Option<String> {
    let text = text?;
    match chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
        Ok(_) if text.len() == 10 => Some(text),
        _ => {
            malformed.push((term.to_string(), text));
            None
        }
    }
}

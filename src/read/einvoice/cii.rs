//! UN/CEFACT Cross Industry Invoice D16B (Factur-X, ZUGFeRD 2.x, XRechnung CII) and ZUGFeRD 1.0's
//! Cross Industry Document into the model. The two differ in a few element names (ZUGFeRD 1.0's
//! `ApplicableSupplyChainTrade…` for D16B's `…HeaderTrade…`), written as alternatives.

use super::tree::X;
use crate::invoice::{AllowanceCharge, Invoice, Line, Party, Syntax, Tax};

pub fn read(r: X, syntax: Syntax) -> Invoice {
    let mut inv = Invoice { syntax: Some(syntax), ..Invoice::default() };
    inv.profile = r.text("ExchangedDocumentContext|SpecifiedExchangedDocumentContext/GuidelineSpecifiedDocumentContextParameter/ID");
    let doc = r.at("ExchangedDocument|HeaderExchangedDocument");
    if let Some(d) = doc {
        inv.invoice_number = d.text("ID");
        inv.type_code = d.text("TypeCode");
        inv.issue_date = date(&mut inv.malformed, "issue_date", d.at("IssueDateTime/DateTimeString"));
        inv.notes = d.all("IncludedNote").into_iter().filter_map(|n| n.text("Content")).collect();
    }
    let Some(tx) = r.at("SupplyChainTradeTransaction|SpecifiedSupplyChainTradeTransaction") else { return inv };
    if let Some(a) = tx.at("ApplicableHeaderTradeAgreement|ApplicableSupplyChainTradeAgreement") {
        inv.buyer_reference = a.text("BuyerReference");
        inv.seller = party(a.at("SellerTradeParty"));
        inv.buyer = party(a.at("BuyerTradeParty"));
        inv.purchase_order = a.text("BuyerOrderReferencedDocument/IssuerAssignedID|ID");
    }
    if let Some(s) = tx.at("ApplicableHeaderTradeSettlement|ApplicableSupplyChainTradeSettlement") {
        inv.payment_reference = s.text("PaymentReference");
        inv.currency = s.text("InvoiceCurrencyCode");
        inv.tax_currency = s.text("TaxCurrencyCode");
        let means = s.all("SpecifiedTradeSettlementPaymentMeans");
        inv.payment_means = means.first().and_then(|m| m.text("TypeCode"));
        let account = means.iter().find_map(|m| {
            m.text("PayeePartyCreditorFinancialAccount/IBANID")
                .map(|iban| (iban, m.text("PayeeSpecifiedCreditorFinancialInstitution/BICID")))
        });
        if let Some((iban, bic)) = account {
            inv.iban = Some(iban.split_whitespace().collect());
            inv.bic = bic;
        }
        for t in s.all("ApplicableTradeTax") {
            inv.taxes.push(Tax {
                category: t.text("CategoryCode"),
                rate: t.num("RateApplicablePercent|ApplicablePercent"),
                basis: t.num("BasisAmount"),
                amount: t.num("CalculatedAmount"),
                exemption_reason: t.text("ExemptionReason"),
            });
        }
        for ac in s.all("SpecifiedTradeAllowanceCharge") {
            inv.allowances_charges.push(allowance_charge(ac));
        }
        inv.third_party_payments = s.all("SpecifiedAdvancePayment").into_iter().filter_map(|p| p.num("PaidAmount")).collect();
        if let Some(terms) = s.at("SpecifiedTradePaymentTerms") {
            inv.payment_terms = terms.text("Description");
            inv.due_date = date(&mut inv.malformed, "due_date", terms.at("DueDateDateTime/DateTimeString"));
        }
        if let Some(m) = s.at("SpecifiedTradeSettlementHeaderMonetarySummation|SpecifiedTradeSettlementMonetarySummation") {
            inv.line_total = m.num("LineTotalAmount");
            inv.charge_total = m.num("ChargeTotalAmount");
            inv.allowance_total = m.num("AllowanceTotalAmount");
            inv.total_net = m.num("TaxBasisTotalAmount");
            // BT-110 is the tax total in the invoice's currency; one in the tax currency (BT-111)
            // may stand beside it.
            let cur = inv.currency.clone();
            let totals = m.all("TaxTotalAmount");
            inv.total_tax = totals
                .iter()
                .find(|t| t.attr("currencyID").is_none_or(|c| Some(c) == cur))
                .or(totals.first())
                .and_then(|t| t.num(""));
            inv.rounding = m.num("RoundingAmount");
            inv.total = m.num("GrandTotalAmount");
            inv.prepaid = m.num("TotalPrepaidAmount");
            inv.amount_due = m.num("DuePayableAmount");
        }
    }
    for item in tx.all("IncludedSupplyChainTradeLineItem") {
        inv.lines.push(line(item));
    }
    inv
}

fn party(p: Option<X>) -> Party {
    let Some(p) = p else { return Party::default() };
    let registration = |scheme: &str| {
        p.all("SpecifiedTaxRegistration/ID").into_iter().find(|id| id.attr("schemeID").as_deref() == Some(scheme)).and_then(|id| id.text(""))
    };
    let addr = p.at("PostalTradeAddress");
    let lines: Vec<String> = addr
        .map(|a| ["LineOne", "LineTwo", "LineThree"].iter().filter_map(|l| a.text(l)).collect())
        .unwrap_or_default();
    Party {
        name: p.text("Name"),
        vat_id: registration("VA"),
        tax_number: registration("FC"),
        id: p.text("ID").or_else(|| p.text("GlobalID")),
        address: (!lines.is_empty()).then(|| lines.join(", ")),
        city: addr.and_then(|a| a.text("CityName")),
        post_code: addr.and_then(|a| a.text("PostcodeCode")),
        country: addr.and_then(|a| a.text("CountryID")),
    }
}

fn allowance_charge(ac: X) -> AllowanceCharge {
    AllowanceCharge {
        charge: ac.text("ChargeIndicator/Indicator").is_some_and(|v| v == "true" || v == "1"),
        amount: ac.num("ActualAmount"),
        tax_category: ac.text("CategoryTradeTax/CategoryCode"),
        tax_rate: ac.num("CategoryTradeTax/RateApplicablePercent|ApplicablePercent"),
        reason: ac.text("Reason"),
    }
}

fn line(item: X) -> Line {
    let agreement = item.at("SpecifiedLineTradeAgreement|SpecifiedSupplyChainTradeAgreement");
    let delivery = item.at("SpecifiedLineTradeDelivery|SpecifiedSupplyChainTradeDelivery");
    let settlement = item.at("SpecifiedLineTradeSettlement|SpecifiedSupplyChainTradeSettlement");
    let product = item.at("SpecifiedTradeProduct");
    let price = agreement.and_then(|a| a.at("NetPriceProductTradePrice"));
    let quantity = delivery.and_then(|d| d.at("BilledQuantity"));
    let tax = settlement.and_then(|s| s.at("ApplicableTradeTax"));
    let (allowances, charges) = AllowanceCharge::split(
        settlement.map(|s| s.all("SpecifiedTradeAllowanceCharge")).unwrap_or_default().into_iter().map(allowance_charge),
    );
    Line {
        position: item.text("AssociatedDocumentLineDocument/LineID"),
        item_id: product.and_then(|p| p.text("SellerAssignedID").or_else(|| p.text("GlobalID"))),
        item_name: product.and_then(|p| p.text("Name")),
        quantity: quantity.and_then(|q| q.num("")),
        unit: quantity.and_then(|q| q.attr("unitCode")),
        unit_price: price.and_then(|p| p.num("ChargeAmount")),
        price_base_quantity: price.and_then(|p| p.num("BasisQuantity")),
        net_amount: settlement.and_then(|s| {
            s.num("SpecifiedTradeSettlementLineMonetarySummation/LineTotalAmount")
                .or_else(|| s.num("SpecifiedTradeSettlementMonetarySummation/LineTotalAmount"))
        }),
        tax_category: tax.and_then(|t| t.text("CategoryCode")),
        tax_rate: tax.and_then(|t| t.num("RateApplicablePercent|ApplicablePercent")),
        allowances,
        charges,
    }
}

/// A CII date (`format="102"`: YYYYMMDD) as ISO 8601; anything else is kept as malformed.
fn date(malformed: &mut Vec<(String, String)>, term: &str, d: Option<X>) -> Option<String> {
    let d = d?;
    let text = d.text("")?;
    let format = d.attr("format").unwrap_or_else(|| "102".into());
    let ok = format == "102" && text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit());
    let iso = format!("{}-{}-{}", &text[..4.min(text.len())], text.get(4..6).unwrap_or(""), text.get(6..8).unwrap_or(""));
    if ok && chrono::NaiveDate::parse_from_str(&iso, "%Y-%m-%d").is_ok() {
        Some(iso)
    } else {
        malformed.push((term.to_string(), format!("{text} (format {format})")));
        None
    }
}

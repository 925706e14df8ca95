//! Learning each vendor from the agents: when an agent resolves an invoice the generic reader
//! read, every reader field they corrected, confirmed or let stand is remembered where it stood on the page,
//! for the vendor the invoice's VAT identifier or IBAN names. That vendor's next invoice, in any
//! daemon sharing the store, is read there first (`classify::generic::vendor`).

use crate::classify::generic::{self, vendor};
use crate::classify::{Doc, Outcome};
use crate::store::{Result, Store};
use std::collections::BTreeMap;

/// What agents taught of the vendor an outcome's reading names, if anything.
pub async fn of(store: &Store, outcome: &Outcome) -> Result<Option<vendor::Vendor>> {
    match &outcome.reading {
        Some(r) => store.vendor_for(&vendor::keys_in(r)).await,
        None => Ok(None),
    }
}

/// Remembers where each reader field the agent gave (`given`) or let stand where the reader was
/// sure of it stands on `doc`, for the vendor
/// the resolved `outcome`'s seller VAT identifier or IBAN names. Returns the vendor's id, or
/// None when there is nothing to learn (not read by the generic reader, no field given, or no
/// identifier to know the vendor by).
pub async fn learn(
    store: &Store,
    doc: &Doc<'_>,
    outcome: &Outcome,
    given: &BTreeMap<String, String>,
    document_id: i64,
    by: &str,
) -> Result<Option<i64>> {
    let Some(reading) = &outcome.reading else { return Ok(None) };
    // Only identifiers the agent gave or the reader was sure of name the vendor: a buyer's VAT
    // identifier guessed as the seller's and let stand would name every vendor's invoices.
    let trusted = |name: &str| given.contains_key(name) || reading.fields.get(name).is_some_and(|f| f.sure);
    let keys = vendor::keys_of(&outcome.fields, trusted);
    if keys.is_empty() {
        tracing::info!(document_id, "no VAT identifier or IBAN to know the vendor by: nothing learned");
        return Ok(None);
    }
    let layout = crate::classify::generic_layout(doc);
    let day_first = vendor::day_first(reading);
    // What was learned before stays, behind the newest: a vendor may print more than one layout.
    let known = store.vendor_for(&keys).await?;
    let mut learned = BTreeMap::new();
    // What the agent gave, and what the reader was sure of and the agent let stand: resolving
    // the invoice accepts those too, and where they stood is this vendor's layout.
    let let_stand = reading.fields.iter().filter(|(n, f)| f.sure && !given.contains_key(*n)).map(|(n, _)| n);
    for name in given.keys().chain(let_stand).filter(|n| generic::FIELDS.contains(&n.as_str())) {
        let Some(value) = outcome.fields.get(name).and_then(|v| v.as_str()) else { continue };
        match vendor::learn(&layout, name, value, day_first) {
            Some(mut spot) => {
                spot.overruled = reading.fields.get(name).is_some_and(|f| f.sure && f.value != value);
                let earlier = known.as_ref().and_then(|v| v.fields.get(name));
                let l = vendor::Learned::new(spot, value.to_string(), document_id, by.to_string(), earlier);
                learned.insert(name.clone(), l);
            }
            None => tracing::info!(document_id, field = name.as_str(), "the value given is not printed on the document: not learned"),
        }
    }
    if learned.is_empty() {
        return Ok(None);
    }
    let text = |k: &str| outcome.fields.get(k).and_then(|v| v.as_str()).filter(|v| !v.is_empty());
    let name = text("seller_name").or_else(|| text("seller_vat_id")).or_else(|| text("iban")).unwrap_or("?");
    store.learn_vendor(&keys, name, &learned, document_id, by).await.map(Some)
}

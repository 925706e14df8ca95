//! The human side of the exception queue: resolving an item re-validates the agent's answer
//! against the document type before the document moves on; rejecting records why.

use crate::classify::{extract_fields, Classifier, Doc};
use crate::store::{Decision, Resolution, Store};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}")]
    State(String),
    #[error("unknown document type `{0}`; known types: {1}")]
    UnknownType(String, String),
    #[error("the answer does not validate: {0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] crate::store::Error),
}

/// Resolves exception `id` as document type `doctype`, with `fields` replacing what was found in
/// the text. On success the document is recognised with the validated fields.
pub async fn resolve(
    store: &Store,
    classifier: &Classifier,
    id: i64,
    agent: &str,
    doctype: &str,
    fields: &BTreeMap<String, String>,
    bots: &[std::sync::Arc<crate::bots::Bot>],
) -> Result<crate::classify::Fields, ResolveError> {
    let item =
        store.exception(id).await?.ok_or_else(|| ResolveError::State(format!("exception {id} does not exist")))?;
    if !(item.state == "open" || (item.state == "claimed" && item.claimed_by.as_deref() == Some(agent))) {
        return Err(ResolveError::State(store.describe_state(id).await?));
    }
    let Some(document_id) = item.document_id else {
        return Err(ResolveError::State(format!(
            "exception {id} is about run {}, not a document: decide it with --retry, --continue or --end",
            item.run_id.unwrap_or_default()
        )));
    };
    let t = classifier.get(doctype).ok_or_else(|| {
        let names: Vec<_> = classifier.types().iter().map(|t| t.name.clone()).collect();
        ResolveError::UnknownType(doctype.to_string(), names.join(", "))
    })?;
    let known = t.field_names();
    let unknown: Vec<_> = fields.keys().filter(|k| !known.contains(k)).cloned().collect();
    if !unknown.is_empty() {
        return Err(ResolveError::Invalid(format!("`{doctype}` has no field(s) {}", unknown.join(", "))));
    }
    let (text, _, _) = store.document_text(document_id).await?.unwrap_or_default();
    let boxes = if t.uses_area() { store.document_boxes(document_id).await? } else { None };
    let outcome = extract_fields(t, Doc { text: &text, boxes: boxes.as_deref() }, fields);
    if let Some((_, reason)) = &outcome.exception {
        return Err(ResolveError::Invalid(reason.clone()));
    }
    let summary = format!(
        "as {doctype}: {}",
        outcome.fields.iter().map(|(k, v)| format!("{k}={}", crate::classify::field_text(v))).collect::<Vec<_>>().join(", ")
    );
    let runs = crate::bots::routing::runs_for(document_id, doctype, bots);
    let resolution =
        Resolution { exception: id, agent, summary: &summary, document_id, outcome: &outcome, version: &t.version };
    if !store.resolve_document(&resolution, &runs).await? {
        return Err(ResolveError::State(store.describe_state(id).await?));
    }
    Ok(outcome.fields)
}

/// Decides a run's exception (business or system): retry, continue after the step, or end the
/// run. The run's other open exceptions close with it.
pub async fn decide(store: &Store, id: i64, agent: &str, decision: Decision) -> Result<i64, ResolveError> {
    let item =
        store.exception(id).await?.ok_or_else(|| ResolveError::State(format!("exception {id} does not exist")))?;
    if !(item.state == "open" || (item.state == "claimed" && item.claimed_by.as_deref() == Some(agent))) {
        return Err(ResolveError::State(store.describe_state(id).await?));
    }
    let run = item.run_id.ok_or_else(|| {
        ResolveError::State(format!("exception {id} is about a document, not a run: resolve it with --doctype"))
    })?;
    store.decide_run(run, decision, agent).await?.map_err(ResolveError::State)?;
    Ok(run)
}

/// Rejects exception `id` with a reason; the document is marked rejected and goes no further.
pub async fn reject(store: &Store, id: i64, agent: &str, reason: &str) -> Result<(), ResolveError> {
    if reason.trim().is_empty() {
        return Err(ResolveError::Invalid("a rejection needs a reason".into()));
    }
    let item =
        store.exception(id).await?.ok_or_else(|| ResolveError::State(format!("exception {id} does not exist")))?;
    // Rejecting a run's exception ends the run too.
    if !store.reject_exception(id, agent, reason, item.document_id, item.run_id).await? {
        return Err(ResolveError::State(store.describe_state(id).await?));
    }
    Ok(())
}

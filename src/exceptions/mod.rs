//! The human side of the exception queue, one set of use cases for the command line and the
//! HTTP API: claiming, releasing and assigning an item; resolving it (the agent's answer is
//! re-validated against the document type before the document moves on); deciding a stopped
//! run; rejecting with a reason. Every change is made against the version the agent saw, when
//! they say which, so a stale answer is refused rather than applied.

use crate::classify::{extract_fields, Classifier, Doc};
use crate::states::{ExceptionKind, ItemState};
use crate::users::Role;
use crate::store::{Decision, ExceptionItem, Guard, Resolution, Store};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("exception {0} does not exist")]
    NotFound(i64),
    #[error("run {0} does not exist")]
    RunNotFound(i64),
    /// The item is not in a state for this (someone else holds it, it is closed, it changed).
    #[error("{0}")]
    State(String),
    #[error("unknown document type `{0}`; known types: {1}")]
    UnknownType(String, String),
    #[error("the answer does not validate: {0}")]
    Invalid(String),
    /// The caller's role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Db(#[from] crate::store::Error),
}

/// For an unrecognised or ambiguous item still waiting for an agent: the loaded type agents gave
/// the documents most like this one, with the learner's confidence (see `crate::learn`). Only
/// ever shown; applying it is the agent's call. A store that cannot be read for new filings
/// suggests from what was learned.
pub async fn suggestion(
    store: &Store,
    learner: &std::sync::Arc<crate::learn::Learner>,
    classifier: &Classifier,
    item: &ExceptionItem,
) -> Option<crate::learn::Suggestion> {
    suggestions(store, learner, classifier, std::slice::from_ref(item)).await.pop().flatten()
}

/// [`suggestion`] for each of `items` (a page of the queue), in their order: one look for new
/// filings, one text read per item that can have a suggestion, the model's work off the async
/// threads.
pub async fn suggestions(
    store: &Store,
    learner: &std::sync::Arc<crate::learn::Learner>,
    classifier: &Classifier,
    items: &[ExceptionItem],
) -> Vec<Option<crate::learn::Suggestion>> {
    let asks = |i: &ExceptionItem| {
        i.document_id.filter(|_| {
            matches!(i.kind, ExceptionKind::Unrecognised | ExceptionKind::Ambiguous) && i.state.is_waiting()
        })
    };
    let mut texts = vec![None; items.len()];
    if items.iter().any(|i| asks(i).is_some()) {
        if let Err(e) = learner.refresh(store).await {
            tracing::warn!(error = %e, "cannot read what agents filed; suggesting from what was learned before");
        }
        if !learner.is_empty() {
            for (slot, item) in texts.iter_mut().zip(items) {
                if let Some(document) = asks(item) {
                    *slot = store.document_text(document).await.ok().flatten().map(|(text, _, _)| (text, document));
                }
            }
        }
    }
    let learner = learner.clone();
    let suggested = tokio::task::spawn_blocking(move || {
        texts
            .into_iter()
            .map(|t| t.and_then(|(text, document)| learner.suggest(&text, Some(document))))
            .collect::<Vec<_>>()
    })
    .await
    .expect("a suggestion does not panic");
    // A type filed under once may have been removed from the definitions since.
    suggested.into_iter().map(|s| s.filter(|s| classifier.get(&s.doctype).is_some())).collect()
}

/// The queue as the daemon sees it: the store, the definitions in force, what agents filed
/// (for suggestions) and the default SLA. The command line, the API and the pages list and open
/// items through it, so an item reads the same — due time, suggestion, who may see it — wherever
/// it is opened.
pub struct Queue<'a> {
    pub store: &'a Store,
    pub active: &'a crate::definitions::Active,
    pub learner: &'a std::sync::Arc<crate::learn::Learner>,
    /// `[queue] sla`.
    pub sla: Option<Duration>,
}

/// Who is looking at the queue.
#[derive(Clone, Copy)]
pub struct Viewer<'a> {
    pub name: &'a str,
    pub role: Role,
}

/// An item as a person opens it: with its due time, the learner's suggestion, and what it is
/// about (the document, or the run).
pub struct ItemView {
    pub item: ExceptionItem,
    pub suggestion: Option<crate::learn::Suggestion>,
    pub document: Option<crate::store::Document>,
    pub run: Option<crate::store::RunSummary>,
}

impl Queue<'_> {
    /// Items as `filter` picks them, each with its due time and suggestion.
    pub async fn list(
        &self,
        filter: &crate::store::ExceptionFilter,
    ) -> Result<Vec<(ExceptionItem, Option<crate::learn::Suggestion>)>, crate::store::Error> {
        let mut items = self.store.exceptions(filter).await?;
        self.deadlines(&mut items);
        let suggested = suggestions(self.store, self.learner, &self.active.classifier, &items).await;
        Ok(items.into_iter().zip(suggested).collect())
    }

    /// Sets each item's due time and whether it is overdue (see [`deadlines`]).
    pub fn deadlines(&self, items: &mut [ExceptionItem]) {
        deadlines(items, self.active, self.sla);
    }

    /// One item with its due time, as `viewer` may see it: an agent (below ops) sees what waits
    /// in the queue and what they closed themselves, not what other agents closed.
    pub async fn item(&self, id: i64, viewer: Viewer<'_>) -> Result<ExceptionItem, ResolveError> {
        let mut one = [item(self.store, id).await?];
        if viewer.role < Role::Ops && !open_to_agent(&one[0], viewer.name) {
            return Err(ResolveError::NotFound(id));
        }
        self.deadlines(&mut one);
        let [item] = one;
        Ok(item)
    }

    /// The item, its suggestion, and the document or run it is about.
    pub async fn view(&self, id: i64, viewer: Viewer<'_>) -> Result<ItemView, ResolveError> {
        let item = self.item(id, viewer).await?;
        let suggestion = suggestion(self.store, self.learner, &self.active.classifier, &item).await;
        let document = match item.document_id {
            Some(d) => self.store.document(d).await?,
            None => None,
        };
        let run = match item.run_id {
            Some(r) => self.store.run(r).await?.map(|(run, _)| run),
            None => None,
        };
        Ok(ItemView { item, suggestion, document, run })
    }

    /// Open and claimed items past their SLA, by kind (see [`overdue_by_kind`]).
    pub async fn overdue_by_kind(&self) -> Result<BTreeMap<String, i64>, crate::store::Error> {
        overdue_by_kind(self.store, self.active, self.sla).await
    }
}

/// How long items may wait: a run's bot's `sla`, else its document type's, else the default
/// (`[queue] sla`) — which also covers items with neither, such as unrecognised documents.
struct Slas<'a> {
    bots: Vec<std::sync::Arc<crate::bots::Bot>>,
    classifier: &'a Classifier,
    default: Option<Duration>,
}

impl<'a> Slas<'a> {
    fn new(active: &'a crate::definitions::Active, default: Option<Duration>) -> Self {
        Slas { bots: active.definitions.bots(), classifier: &active.classifier, default }
    }

    fn of(&self, bot: Option<&str>, doctype: Option<&str>) -> Option<Duration> {
        match (bot, doctype) {
            (Some(bot), _) => self.bots.iter().find(|b| b.name == bot).and_then(|b| b.sla),
            (None, Some(t)) => self.classifier.get(t).and_then(|t| t.sla),
            (None, None) => None,
        }
        .or(self.default)
    }

    /// Every SLA in force, each once.
    fn distinct(&self) -> std::collections::BTreeSet<Duration> {
        let types = self.classifier.types().iter().filter_map(|t| t.sla);
        self.bots.iter().filter_map(|b| b.sla).chain(types).chain(self.default).collect()
    }
}

/// Sets each item's due time from its SLA, and whether it is overdue (still open or claimed past
/// it).
pub fn deadlines(items: &mut [ExceptionItem], active: &crate::definitions::Active, default: Option<Duration>) {
    let slas = Slas::new(active, default);
    let now = chrono::Utc::now();
    for item in items {
        let sla = slas.of(item.bot.as_deref(), item.doctype.as_deref());
        let created = chrono::DateTime::parse_from_rfc3339(&item.created_at).ok();
        let (Some(sla), Some(created)) = (sla, created) else { continue };
        let due =
            created.with_timezone(&chrono::Utc) + chrono::Duration::from_std(sla).unwrap_or(chrono::Duration::MAX);
        item.due_at = Some(due.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        item.overdue = item.state.is_waiting() && due < now;
    }
}

/// Open and claimed items past their SLA, by kind. Counted in the store in one query (items
/// older than each SLA in force, grouped by what decides their SLA), not by loading the queue.
pub async fn overdue_by_kind(
    store: &Store,
    active: &crate::definitions::Active,
    default: Option<Duration>,
) -> Result<BTreeMap<String, i64>, crate::store::Error> {
    let slas = Slas::new(active, default);
    let now = chrono::Utc::now();
    // An SLA too long to subtract from now: nothing can be past it.
    let cutoffs: Vec<(Duration, String)> = slas
        .distinct()
        .into_iter()
        .filter_map(|sla| {
            let cutoff = now.checked_sub_signed(chrono::Duration::from_std(sla).ok()?)?;
            Some((sla, cutoff.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)))
        })
        .collect();
    let stamps: Vec<String> = cutoffs.iter().map(|(_, c)| c.clone()).collect();
    let mut by_kind = BTreeMap::new();
    for group in store.waiting_before(&stamps).await? {
        let sla = slas.of(group.bot.as_deref(), group.doctype.as_deref());
        if let Some(i) = cutoffs.iter().position(|(s, _)| Some(*s) == sla) {
            *by_kind.entry(group.kind).or_default() += group.older[i];
        }
    }
    Ok(by_kind)
}

/// The state a queue view shows, from what a person typed: one state, or `all`; without one, the
/// open items (what an agent picks from). The command line, the API and the pages all read it
/// here, so they mean the same by it.
pub fn state_choice(text: Option<&str>) -> Result<Option<ItemState>, String> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(Some(ItemState::Open)),
        Some("all") => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|e: String| format!("{e}, or all")),
    }
}

async fn item(store: &Store, id: i64) -> Result<ExceptionItem, ResolveError> {
    store.exception(id).await?.ok_or(ResolveError::NotFound(id))
}

/// Refuses a change when the item is not the agent's to change, or moved on since they saw it.
async fn changeable(store: &Store, id: i64, guard: Guard<'_>) -> Result<ExceptionItem, ResolveError> {
    let item = item(store, id).await?;
    let mine = item.state == ItemState::Open || (item.state == ItemState::Claimed && item.claimed_by.as_deref() == Some(guard.agent));
    if !mine || guard.version.is_some_and(|v| v != item.version) {
        return Err(ResolveError::State(store.describe_change(id, guard).await?));
    }
    Ok(item)
}

fn refused(r: Result<(), String>) -> Result<(), ResolveError> {
    r.map_err(ResolveError::State)
}

pub async fn claim(store: &Store, id: i64, guard: Guard<'_>) -> Result<(), ResolveError> {
    item(store, id).await?;
    refused(store.claim_exception(id, guard).await?)
}

pub async fn release(store: &Store, id: i64, guard: Guard<'_>) -> Result<(), ResolveError> {
    item(store, id).await?;
    refused(store.release_exception(id, guard).await?)
}

/// Assigns an item to a user or `@group`; the user must exist.
/// Whether an agent (below ops) may see item `i` and its document: while it waits in the queue,
/// and afterwards when they closed it themselves — not what other agents closed.
pub fn open_to_agent(i: &crate::store::ExceptionItem, agent: &str) -> bool {
    i.state.is_waiting() || i.resolved_by.as_deref() == Some(agent)
}

pub async fn assign(store: &Store, id: i64, guard: Guard<'_>, to: Option<&str>) -> Result<(), ResolveError> {
    item(store, id).await?;
    if let Some(to) = to {
        let users = store.users().await?;
        match to.strip_prefix('@') {
            Some(group) if !users.iter().any(|u| u.groups.iter().any(|g| g == group)) => {
                return Err(ResolveError::Invalid(format!(
                    "there is no group `@{group}`: no user belongs to it (give users groups with `clerk users change NAME --group {group}`)"
                )));
            }
            None if !users.iter().any(|u| u.name == to) => {
                return Err(ResolveError::Invalid(format!("there is no user named `{to}` (a group is written @name)")));
            }
            _ => {}
        }
    }
    refused(store.assign_exception(id, guard, to).await?)
}

/// Resolves exception `id` as document type `doctype`, with `fields` replacing what was found in
/// the text. On success the document is recognised with the validated fields.
pub async fn resolve(
    store: &Store,
    classifier: &Classifier,
    id: i64,
    guard: Guard<'_>,
    doctype: &str,
    fields: &BTreeMap<String, String>,
    bots: &[std::sync::Arc<crate::bots::Bot>],
) -> Result<crate::classify::Fields, ResolveError> {
    let item = changeable(store, id, guard).await?;
    let Answer { document_id, t, outcome, text, boxes } = answer(store, classifier, &item, doctype, fields).await?;
    if let Some((_, reason)) = &outcome.exception {
        return Err(ResolveError::Invalid(reason.clone()));
    }
    let summary = format!(
        "as {doctype}: {}",
        outcome
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::classify::field_text(v)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let runs = crate::bots::routing::runs_for(document_id, doctype, bots);
    let resolution =
        Resolution { exception: id, guard, summary: &summary, document_id, outcome: &outcome, version: &t.version };
    if !store.resolve_document(&resolution, &runs).await? {
        return Err(ResolveError::State(store.describe_change(id, guard).await?));
    }
    // What the agent corrected or confirmed is where the vendor's next invoice is read. The
    // resolution has committed: a store that fails now costs the lesson, not the agent's answer.
    let doc = Doc::plain(&text);
    let doc = Doc { boxes: boxes.as_deref(), ..doc };
    if let Err(e) = crate::vendors::learn(store, &doc, &outcome, fields, document_id, guard.agent).await {
        tracing::warn!(document_id, error = %e, "the vendor's layout was not learned");
    }
    Ok(outcome.fields)
}

/// What resolving would give, without resolving: the fields as the type would keep them and
/// each field's problem (for validating an answer as it is typed).
pub async fn check(
    store: &Store,
    classifier: &Classifier,
    id: i64,
    doctype: &str,
    fields: &BTreeMap<String, String>,
) -> Result<crate::classify::Outcome, ResolveError> {
    let item = item(store, id).await?;
    Ok(answer(store, classifier, &item, doctype, fields).await?.outcome)
}

/// An agent's answer as the type reads it, and the document it was read from.
struct Answer<'c> {
    document_id: i64,
    t: &'c std::sync::Arc<crate::classify::doctype::DocType>,
    outcome: crate::classify::Outcome,
    text: String,
    boxes: Option<Vec<crate::classify::PageBoxes>>,
}

/// The document's fields extracted again as `doctype`, with the agent's `fields` in place of
/// what the text gave (and what agents taught of its vendor read first).
async fn answer<'c>(
    store: &Store,
    classifier: &'c Classifier,
    item: &ExceptionItem,
    doctype: &str,
    fields: &BTreeMap<String, String>,
) -> Result<Answer<'c>, ResolveError> {
    let id = item.id;
    let Some(document_id) = item.document_id else {
        return Err(ResolveError::State(format!(
            "exception {id} is about run {}, not a document: decide it with retry, continue or end",
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
    let einvoice = store.document_einvoice(document_id).await?;
    let barcodes = if t.uses_barcodes() { store.document_barcodes(document_id).await? } else { vec![] };
    let doc = Doc { text: &text, boxes: boxes.as_deref(), einvoice: einvoice.as_ref(), vendor: None, barcodes: &barcodes };
    let mut outcome = extract_fields(t, doc, fields);
    if let Some(v) = crate::vendors::of(store, &outcome).await? {
        outcome = extract_fields(t, Doc { vendor: Some(&v), ..doc }, fields);
    }
    Ok(Answer { document_id, t, outcome, text, boxes })
}

/// Decides a run's exception: retry, continue after the step, or end the run; the run's other
/// open exceptions close with it. A business item (the bot escalated) is an agent's to decide;
/// a system item (a step failed: the legacy system refused or was down) needs an admin, since
/// retrying or skipping a failed step acts on that system. The command line, the API and the
/// pages all come here.
pub async fn decide(store: &Store, id: i64, guard: Guard<'_>, role: Role, decision: Decision) -> Result<i64, ResolveError> {
    let item = changeable(store, id, guard).await?;
    let run = item.run_id.ok_or_else(|| {
        ResolveError::State(format!("exception {id} is about a document, not a run: resolve it with a document type"))
    })?;
    if item.kind != ExceptionKind::Business && role < Role::Admin {
        return Err(ResolveError::Forbidden(format!(
            "exception {id} is a {} item: retrying, continuing or ending its run needs the admin role",
            item.kind
        )));
    }
    crate::runs::apply(store, run, decision, guard.agent).await.map_err(|e| match e {
        crate::runs::RunError::Db(e) => ResolveError::Db(e),
        crate::runs::RunError::NoRun(r) => ResolveError::RunNotFound(r),
        other => ResolveError::State(other.to_string()),
    })?;
    Ok(run)
}

/// Rejects exception `id` with a reason; the document is marked rejected and goes no further.
pub async fn reject(store: &Store, id: i64, guard: Guard<'_>, reason: &str) -> Result<(), ResolveError> {
    if reason.trim().is_empty() {
        return Err(ResolveError::Invalid("a rejection needs a reason".into()));
    }
    let item = item(store, id).await?;
    // Rejecting a run's exception ends the run too.
    if !store.reject_exception(id, guard, reason, item.document_id, item.run_id).await? {
        return Err(ResolveError::State(store.describe_change(id, guard).await?));
    }
    Ok(())
}

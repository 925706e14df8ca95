//! What people do with bot runs, for the command line and the API alike: start one now, try one
//! dry (every step rendered, nothing sent), and retry or end a stopped one from the runs list.
//! The runner (`crate::runner`) executes what is queued here.

use crate::bots::{dry_run, Bot};
use crate::definitions::Active;
use crate::store::{Decision, NewRun, Store};
use crate::users::Role;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("there is no bot named `{0}`; bots: {1}")]
    NoBot(String, String),
    #[error("document {0} does not exist")]
    NoDocument(i64),
    #[error("run {0} does not exist")]
    NoRun(i64),
    /// The caller's role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// The run is not in a state for this.
    #[error("{0}")]
    State(String),
    /// The bot's steps could not be prepared (its secrets file cannot be read, say).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Db(#[from] crate::store::Error),
}

/// The bot named `name` among the definitions in force.
pub fn bot(active: &Active, name: &str) -> Result<Arc<Bot>, RunError> {
    let bots = active.definitions.bots();
    bots.iter().find(|b| b.name == name).cloned().ok_or_else(|| {
        let names: Vec<_> = bots.iter().map(|b| b.name.as_str()).collect();
        RunError::NoBot(name.to_string(), names.join(", "))
    })
}

/// Queues a manual run of `bot` (on document `document`, or on none) for `by`; the runner of
/// whichever daemon claims it first executes it. Returns the run's id.
pub async fn start(store: &Store, active: &Active, bot: &Bot, document: Option<i64>, by: &str) -> Result<i64, RunError> {
    if let Some(id) = document {
        store.document_for_bot(id).await?.ok_or(RunError::NoDocument(id))?;
    }
    // The run finishes on the version it started with, whatever is loaded later.
    let source = active.definitions.files.get(&bot.file).map(|f| f.source.clone()).unwrap_or_default();
    store.record_bot_version(&bot.name, &bot.version, &bot.file.display().to_string(), &source).await?;
    let new = NewRun {
        bot: &bot.name,
        version: &bot.version,
        concurrency: bot.concurrency,
        document_id: document,
        trigger: "manual",
        dedupe_key: None,
        by: Some(by),
    };
    Ok(store.queue_run(&new).await?.expect("a run without a dedupe key is always queued"))
}

/// What a dry run renders the steps against.
pub enum DryDocument<'a> {
    None,
    /// A stored document.
    Stored(&'a Store, i64),
    /// A file read and classified for the occasion (kept nowhere): its path and name.
    File(&'a Path, &'a str),
}

/// A dry run of `bot` on `document`: every step rendered with its request (secrets masked),
/// nothing sent. Returns the document as the steps saw it, and the run.
pub async fn dry(
    active: &Active,
    readers: &crate::read::pool::Readers,
    secrets_file: Option<&Path>,
    bot: &Bot,
    document: DryDocument<'_>,
) -> Result<(serde_json::Value, dry_run::DryRun), RunError> {
    let doc = match document {
        DryDocument::None => dry_run::no_doc(),
        DryDocument::Stored(store, id) => store.document_for_bot(id).await?.ok_or(RunError::NoDocument(id))?,
        DryDocument::File(path, name) => {
            let outcome = crate::pipeline::classify_file(path, name, readers, &active.classifier).await.outcome;
            dry_run::file_doc(&outcome, name)
        }
    };
    let run = dry_run::dry_run(bot, doc.clone(), secrets_file).map_err(RunError::Refused)?;
    Ok((doc, run))
}

/// Applies `decision` to stopped run `run` for `actor`. Who may decide is the caller's rule
/// (an item's business run: its agent; a system run, or a run from the runs list: an admin).
/// The run's waiting items close with it.
pub async fn apply(store: &Store, run: i64, decision: Decision, actor: &str) -> Result<(), RunError> {
    let (r, _) = store.run(run).await?.ok_or(RunError::NoRun(run))?;
    let Some((change, note)) = decision.change_for(r.state) else {
        return Err(RunError::State(format!("run {run} is {}; only failed or escalated runs wait for a decision", r.state)));
    };
    if !store.change_stopped_run(run, r.state, change, actor, note).await? {
        return Err(RunError::State(format!("run {run} changed while this was decided (someone else decided it?); look at it again")));
    }
    Ok(())
}

/// Retries or ends a stopped run from the runs list (not through its item): an admin's, since
/// it acts on the legacy system the run talks to.
pub async fn decide(store: &Store, run: i64, actor: &str, role: Role, decision: Decision) -> Result<(), RunError> {
    if role < Role::Admin {
        return Err(RunError::Forbidden("retrying or ending a run needs the admin role".into()));
    }
    apply(store, run, decision, actor).await
}

//! Learning from agents. When an agent files a document no rule recognised (an unrecognised or
//! ambiguous item resolved with a type), the learner remembers its text; for the next document
//! like it, it suggests that type with a confidence ([`model`]). A suggestion is shown to the
//! agent and never applied unless the type says so (`auto_apply:` in its definition).
//! `clerk doctypes suggest TYPE` turns the filed documents into `match` keywords ([`keywords`]).

pub mod keywords;
pub mod model;
pub mod terms;

pub use model::{Model, Neighbour, Suggestion};

use crate::store::Store;
use std::sync::{Arc, RwLock};

/// The model every part of a daemon shares, kept up to date with the store (so what an agent
/// filed through another daemon is learned here too).
#[derive(Default)]
pub struct Learner {
    model: RwLock<Model>,
    /// Where reading the filings stopped (None: not started); held while reading, so one
    /// reader at a time.
    cursor: tokio::sync::Mutex<Option<(String, i64)>>,
}

const BATCH: i64 = 500;

impl Learner {
    /// Learns what agents filed since the last look.
    pub async fn refresh(self: &Arc<Self>, store: &Store) -> crate::store::Result<()> {
        let mut guard = self.cursor.lock().await;
        // A first look reads only the filings the model keeps, not the whole history.
        let cursor = match guard.take() {
            Some(c) => guard.insert(c),
            None => guard.insert(store.filed_start(model::MAX_EXAMPLES as i64).await?.unwrap_or_default()),
        };
        loop {
            let filed = store.filed_since(cursor, BATCH).await?;
            let Some(last) = filed.last() else { break };
            *cursor = last.cursor.clone();
            let full = filed.len() as i64 == BATCH;
            // Splitting texts into words is CPU work: off the async threads.
            let learner = self.clone();
            tokio::task::spawn_blocking(move || {
                let counted: Vec<_> = filed.into_iter().map(|f| (f.document_id, f.doctype, terms::counts(&f.text))).collect();
                let mut model = learner.model.write().expect("learner lock");
                for (id, doctype, counts) in counted {
                    model.file_counts(id, &doctype, counts);
                }
            })
            .await
            .expect("learning a batch does not panic");
            if !full {
                break;
            }
        }
        Ok(())
    }

    /// Nothing filed yet (or nothing learned since the daemon started).
    pub fn is_empty(&self) -> bool {
        self.model.read().expect("learner lock").is_empty()
    }

    /// The suggestion for `text` from what was learned so far (see [`Learner::refresh`]).
    pub fn suggest(&self, text: &str, exclude: Option<i64>) -> Option<Suggestion> {
        self.model.write().expect("learner lock").suggest(text, exclude)
    }
}

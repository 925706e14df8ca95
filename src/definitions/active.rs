//! The definitions in force: what the pipeline classifies with and the runner runs, swapped whole
//! on hot reload so a document or run in flight keeps the set it started with.

use super::Definitions;
use crate::classify::Classifier;
use std::sync::Arc;

pub struct Active {
    pub definitions: Definitions,
    pub classifier: Classifier,
}

impl Active {
    pub fn new(definitions: Definitions) -> Arc<Active> {
        let classifier = definitions.classifier();
        Arc::new(Active { definitions, classifier })
    }
}

impl Active {
    /// Records this set as the one in force, for commands to check against (see
    /// [`Active::in_force`]).
    pub async fn record(&self, store: &crate::store::Store) -> Result<(), crate::store::Error> {
        let files = self.definitions.files.iter();
        let files = files.map(|(path, f)| (path.display().to_string(), f.version.clone(), f.source.clone())).collect();
        store.record_in_force(files).await
    }

    /// The set a daemon recorded as in force on `store` — what the daemon classifies with and
    /// runs — or, before any daemon loaded definitions, the files in `dir`.
    pub async fn in_force(store: &crate::store::Store, dir: &std::path::Path) -> Result<Arc<Active>, crate::store::Error> {
        let files = store.in_force().await?;
        let loaded = if files.is_empty() {
            super::load_dir(dir, None)
        } else {
            super::load_sources(files.into_iter().map(|(f, bytes)| (f.into(), Ok(bytes))).collect(), None)
        };
        Ok(Active::new(loaded.definitions))
    }
}

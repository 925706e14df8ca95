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

//! Which runs a recognised document starts: one for each bot its type triggers, keyed so that
//! routing the same document twice queues nothing new.

use super::{Bot, Trigger};
use crate::store::NewRun;
use std::sync::Arc;

pub fn runs_for<'a>(document_id: i64, doctype: &str, bots: &'a [Arc<Bot>]) -> Vec<NewRun<'a>> {
    bots.iter()
        .filter(|bot| matches!(&bot.trigger, Trigger::Doctype { doctype: d, .. } if d == doctype))
        .map(|bot| NewRun {
            bot: &bot.name,
            version: &bot.version,
            concurrency: bot.concurrency,
            document_id: Some(document_id),
            trigger: "document",
            dedupe_key: Some(format!("document:{document_id}:{}", bot.name)),
            by: None,
        })
        .collect()
}

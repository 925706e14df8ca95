//! A bot's dry run: every step rendered against a document (a stored one, a file read and
//! classified but kept nowhere, or none), secrets masked, nothing sent. `clerk bots run --dry-run`
//! and `POST /api/v1/bots/{name}/dry-run` both call this.

use super::redact::Redactor;
use super::{render, Bot};
use crate::classify::Outcome;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// `doc` for a file that was read and classified, not stored.
pub fn file_doc(outcome: &Outcome, name: &str) -> Value {
    json!({ "id": null, "type": outcome.doctype, "fields": outcome.fields, "file": name, "name": name, "source": "file" })
}

/// `doc` when there is no document (a scheduled bot).
pub fn no_doc() -> Value {
    json!({ "id": null, "type": null, "fields": {}, "file": null, "name": null, "source": null })
}

pub struct DryRun {
    pub steps: Vec<render::Rendered>,
    /// Secrets the bot uses that are set nowhere (rendered as placeholders).
    pub missing_secrets: Vec<String>,
    /// Masks the secrets' values in whatever is shown of the steps.
    pub redactor: Redactor,
}

impl DryRun {
    /// Whether a step could not be rendered (a template error, say).
    pub fn failed(&self) -> bool {
        self.steps.iter().any(|r| r.error.is_some())
    }

    /// The steps as JSON, every secret masked.
    pub fn steps_json(&self) -> Value {
        let text = serde_json::to_string(&self.steps).expect("rendered steps serialise");
        serde_json::from_str(&self.redactor.redact(&text)).unwrap_or(Value::Null)
    }
}

/// Renders `bot` against `doc` with the secrets it would use (from the environment or
/// `secrets_file`); an error when the secrets file cannot be read.
pub fn dry_run(bot: &Bot, doc: Value, secrets_file: Option<&Path>) -> Result<DryRun, String> {
    let (mut secrets, missing) = crate::secrets::resolve(&bot.secrets, secrets_file)?;
    for name in &missing {
        secrets.insert(name.clone(), format!("<secret {name} not set>"));
    }
    let redactor = Redactor::new(secrets.values().map(String::as_str));
    let mut ctx = render::Context {
        doc,
        vars: Default::default(),
        secrets,
        env: Arc::new(std::env::vars().collect()),
        steps: None,
        locals: Default::default(),
        fixed: Default::default(),
    };
    ctx.set_run(0, bot, "dry run");
    let steps = render::dry_run(bot, &mut ctx);
    Ok(DryRun { steps, missing_secrets: missing, redactor })
}

//! Bots: declarative scripts that carry documents into legacy systems. This module holds what a
//! loaded bot is; `definitions::bot` decodes and validates the YAML, `kinds` lists the step kinds.
//! `runner` executes runs, one file per step kind under `steps`.

pub mod cookies;
pub mod cron;
pub mod dry_run;
pub mod extract;
pub mod kinds;
pub mod outage;
pub mod redact;
pub mod render;
pub mod routing;

pub mod schema;

pub mod steps;
pub mod template;
pub mod transport;

use serde::Serialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Trigger {
    /// When a document of this type is recognised (and `when` holds).
    Doctype { doctype: String, when: Option<String> },
    /// On a cron schedule (5 fields, UTC).
    Schedule { cron: String },
    /// Only by hand (`clerk bots run`).
    Manual,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetryPolicy {
    pub attempts: u32,
    #[serde(with = "millis")]
    pub backoff: Duration,
    #[serde(with = "millis")]
    pub max_backoff: Duration,
    /// How long a run waits for a legacy system that is down before it fails (`bots::outage`).
    #[serde(with = "millis")]
    pub while_down: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            while_down: Duration::from_secs(4 * 3600),
        }
    }
}

mod millis {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub id: Option<String>,
    /// Run only when this template is true.
    pub condition: Option<String>,
    /// The step's kind; none for an `if` with `then`/`else` blocks.
    #[serde(serialize_with = "kind_name")]
    pub kind: Option<&'static kinds::Kind>,
    /// The kind's configuration; strings in it are templates.
    pub config: serde_json::Value,
    pub then: Vec<Step>,
    pub otherwise: Vec<Step>,
    /// `foreach`: the steps run per item; `wait_until`: the one step repeated.
    pub body: Vec<Step>,
    pub retry: Option<RetryPolicy>,
    #[serde(skip)]
    pub timeout: Option<Duration>,
    /// Line of the step in its file, for run logs that point back at the definition.
    pub line: usize,
}

impl Step {
    /// The kind's name, `if` for a `then`/`else` block: what journals and dry runs show.
    pub fn kind_name(&self) -> &'static str {
        self.kind.map_or("if", |k| k.name)
    }
}

fn kind_name<S: serde::Serializer>(kind: &Option<&'static kinds::Kind>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(kind.map_or("if", |k| k.name))
}

#[derive(Debug, Clone, Serialize)]
pub struct Bot {
    pub name: String,
    pub description: Option<String>,
    #[serde(skip)]
    pub file: PathBuf,
    /// Hash of the file's content: the version every run records.
    pub version: String,
    pub trigger: Trigger,
    pub concurrency: u32,
    pub retry: RetryPolicy,
    /// How long a stopped run of this bot may wait for an agent (`sla: 4h`).
    #[serde(skip)]
    pub sla: Option<std::time::Duration>,
    pub secrets: Vec<String>,
    pub vars: serde_json::Map<String, serde_json::Value>,
    pub steps: Vec<Step>,
    #[serde(skip)]
    pub defined_at: (usize, usize),
}

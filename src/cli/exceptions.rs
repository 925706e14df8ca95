//! `clerk exceptions …`: the exception queue from the command line.

use clap::{Args, Subcommand};
use anyhow::Context;
use clerk::config::Settings;
use clerk::store::{ExceptionFilter, Guard};
use clerk::definitions::Active;
use clerk::exceptions;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// What to do with a failed or escalated run.
#[derive(Args)]
#[group(id = "run_decision", multiple = false)]
pub struct RunDecision {
    /// Run the failed step again (an escalated run starts over; done side effects are not
    /// repeated, their idempotency keys are kept).
    #[arg(long)]
    retry: bool,
    /// Count the failed step as done and go on after it.
    #[arg(long = "continue")]
    proceed: bool,
    /// End the run.
    #[arg(long)]
    end: bool,
}

impl RunDecision {
    fn get(&self) -> Option<clerk::store::Decision> {
        use clerk::store::Decision;
        [(self.retry, Decision::Retry), (self.proceed, Decision::Continue), (self.end, Decision::End)]
            .into_iter()
            .find_map(|(set, d)| set.then_some(d))
    }
}

#[derive(Args)]
pub struct Agent {
    /// Who is acting (default: $USER).
    #[arg(long = "as", value_name = "NAME")]
    agent: Option<String>,
}

impl Agent {
    fn name(&self) -> String {
        self.agent.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "agent".into())
    }
}

#[derive(Subcommand)]
pub enum ExceptionsCmd {
    List {
        /// The documents' kinds, or a bot run's (business, system).
        #[arg(long)]
        kind: Option<clerk::states::ExceptionKind>,
        /// open (the default), claimed, resolved, rejected, or all.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Take an item so no one else works on it (for 30 minutes; claiming again renews it).
    Claim {
        id: i64,
        #[command(flatten)]
        agent: Agent,
    },
    /// Give back an item you claimed.
    Release {
        id: i64,
        #[command(flatten)]
        agent: Agent,
    },
    /// Mean an item for a user or an @group (`--to ''` for anyone).
    Assign {
        id: i64,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        agent: Agent,
    },
    /// A document's item: give the document its type (and fields); it is re-validated, then
    /// moves on. A run's item (business or system): --retry, --continue or --end the run.
    Resolve {
        id: i64,
        #[arg(long, required_unless_present = "run_decision")]
        doctype: Option<String>,
        #[command(flatten)]
        run_decision: RunDecision,
        /// A field value, `name=value` (repeatable).
        #[arg(long = "field", value_name = "NAME=VALUE")]
        fields: Vec<String>,
        #[command(flatten)]
        agent: Agent,
    },
    /// Close the item without processing the document.
    Reject {
        id: i64,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        agent: Agent,
    },
}

/// Whoever runs clerk on the store's machine can change the store: the queue's rules see an
/// admin.
fn admin(name: &str) -> exceptions::Viewer<'_> {
    exceptions::Viewer { name, role: clerk::users::Role::Admin }
}

pub async fn run(s: &Settings, cmd: ExceptionsCmd) -> anyhow::Result<ExitCode> {
    let store = super::open_store(s).await?;
    // The types the daemon uses, not the files on disk (one may be half edited).
    let active = Active::in_force(&store, &s.definitions).await?;
    let learner = Default::default();
    let queue = exceptions::Queue { store: &store, active: &active, learner: &learner, sla: s.queue.sla };
    match cmd {
        ExceptionsCmd::List { kind, state, json } => {
            let state = exceptions::state_choice(state.as_deref()).map_err(anyhow::Error::msg)?;
            let mut items = store.exceptions(&ExceptionFilter { kind, state, ..Default::default() }).await?;
            queue.deadlines(&mut items);
            if json {
                out!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                for e in items {
                    let about = match (e.run_id, e.document_id) {
                        (Some(r), _) => format!("run {r:<6}"),
                        (None, Some(d)) => format!("doc {d:<6} {}", e.original_name.as_deref().unwrap_or("")),
                        (None, None) => String::new(),
                    };
                    out!("{:>6}  {:<8} {:<12} {about}: {}", e.id, e.state, e.kind, e.reason);
                }
            }
        }
        ExceptionsCmd::Show { id, json } => {
            let exceptions::ItemView { item: e, suggestion, document: d, .. } = queue.view(id, admin("")).await?;
            if json {
                let mut v = serde_json::to_value(&e)?;
                v["document"] = serde_json::to_value(&d)?;
                v["suggestion"] = serde_json::to_value(&suggestion)?;
                out!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                out!("exception {} [{}] {}: {}", e.id, e.state, e.kind, e.reason);
                if let Some(doc) = e.document_id {
                    out!("  document {doc} ({})", e.original_name.as_deref().unwrap_or(""));
                }
                if let Some(run) = e.run_id {
                    out!("  run {run} (`clerk runs show {run}`); decide with --retry, --continue or --end");
                }
                if let Some(detail) = &e.detail {
                    out!("  {detail}");
                }
                if let Some(c) = &e.claimed_by {
                    out!("  claimed by {c}");
                }
                if let Some(r) = &e.resolution {
                    out!("  {} by {}: {r}", e.state, e.resolved_by.as_deref().unwrap_or("?"));
                }
                if let Some(sg) = &suggestion {
                    let like: Vec<String> = sg.like.iter().map(|n| format!("#{}", n.document_id)).collect();
                    out!(
                        "  looks like {} ({:.0}% sure), like documents {} that agents filed so",
                        sg.doctype,
                        sg.confidence * 100.0,
                        like.join(", ")
                    );
                }
                if let Some(d) = d {
                    for (k, v) in &d.fields {
                        out!("  found {k} = {}", clerk::classify::field_text(v));
                    }
                    for (k, v) in &d.problems {
                        out!("  problem {k}: {v}");
                    }
                    let text = d.text.unwrap_or_default();
                    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).take(25).collect();
                    if !lines.is_empty() {
                        out!("  text:");
                        for l in lines {
                            out!("    {l}");
                        }
                    }
                }
            }
        }
        ExceptionsCmd::Claim { id, agent } => {
            exceptions::claim(&store, id, Guard { agent: &agent.name(), version: None }).await?;
            out!("exception {id} claimed by {}", agent.name());
        }
        ExceptionsCmd::Release { id, agent } => {
            exceptions::release(&store, id, Guard { agent: &agent.name(), version: None }).await?;
            out!("exception {id} released");
        }
        ExceptionsCmd::Assign { id, to, agent } => {
            let to = Some(to.as_str()).filter(|t| !t.is_empty());
            exceptions::assign(&store, id, Guard { agent: &agent.name(), version: None }, to).await?;
            out!("exception {id} assigned to {}", to.unwrap_or("anyone"));
        }
        ExceptionsCmd::Resolve { id, run_decision, agent, .. } if run_decision.get().is_some() => {
            let name = agent.name();
            let decision = run_decision.get().unwrap();
            let run = exceptions::decide(&store, id, Guard { agent: &name, version: None }, admin(&name).role, decision).await?;
            out!("exception {id} resolved: run {run} is queued again (or ended); see `clerk runs show {run}`");
        }
        ExceptionsCmd::Resolve { id, doctype, fields, agent, .. } => {
            let doctype = doctype.unwrap_or_default();
            let mut overrides = BTreeMap::new();
            for f in fields {
                let (k, v) = f.split_once('=').with_context(|| format!("--field {f:?} must be NAME=VALUE"))?;
                overrides.insert(k.trim().to_string(), v.to_string());
            }
            let bots = active.definitions.bots();
            let fields = exceptions::resolve(
                &store,
                &active.classifier,
                id,
                Guard { agent: &agent.name(), version: None },
                &doctype,
                &overrides,
                &bots,
            )
            .await?;
            out!("exception {id} resolved: document is {doctype} {}", super::read::fields_line(&fields));
        }
        ExceptionsCmd::Reject { id, reason, agent } => {
            exceptions::reject(&store, id, Guard { agent: &agent.name(), version: None }, &reason).await?;
            out!("exception {id} rejected");
        }
    }
    Ok(ExitCode::SUCCESS)
}

//! `clerk runs …` and `clerk bots run NAME` (a real run).

use clerk::states::RunState;
use anyhow::Context;
use clap::Subcommand;
use clerk::runner::{Runner, LEASE_MS};
use clerk::bots::Bot;
use clerk::config::Settings;
use clerk::definitions::Active;
use clerk::store::{Decision, Store};
use std::process::ExitCode;
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(Subcommand)]
pub enum RunsCmd {
    /// Runs, newest first.
    List {
        #[arg(long)]
        bot: Option<String>,
        #[arg(long)]
        status: Option<clerk::states::RunState>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// One run, step by step: attempts, durations, requests, responses, extracted values, errors.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Retry a failed run's failed step (an escalated run starts over).
    Retry {
        id: i64,
        /// Who is acting (default: $USER).
        #[arg(long = "as", value_name = "NAME")]
        agent: Option<String>,
    },
}

pub async fn run(_s: &Settings, store: Store, cmd: RunsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        RunsCmd::List { bot, status, limit, json } => {
            let runs = store.runs(bot.as_deref(), status, limit).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&runs)?);
                return Ok(ExitCode::SUCCESS);
            }
            for r in runs {
                let doc = r.document_id.map(|d| format!("doc {d}")).unwrap_or_else(|| r.trigger.clone());
                let error = r.error.map(|e| format!("  {e}")).unwrap_or_default();
                out!("{:>6}  {:<10} {:<26} {:<10} {}{error}", r.id, r.state, r.bot, doc, r.created_at);
            }
        }
        RunsCmd::Show { id, json } => {
            let (run, steps) = store.run(id).await?.with_context(|| format!("run {id} does not exist"))?;
            if json {
                let mut v = serde_json::to_value(&run)?;
                v["steps"] = serde_json::to_value(&steps)?;
                out!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(ExitCode::SUCCESS);
            }
            print_run(&store, id).await?;
        }
        RunsCmd::Retry { id, agent } => {
            let agent = agent.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "agent".into());
            // Whoever runs clerk on the store's machine can change the store: an admin.
            clerk::runs::decide(&store, id, &agent, clerk::users::Role::Admin, Decision::Retry).await?;
            out!("run {id} queued again");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn print_run(store: &Store, id: i64) -> anyhow::Result<()> {
    let (run, steps) = store.run(id).await?.with_context(|| format!("run {id} does not exist"))?;
    let on = run.document_id.map(|d| format!(" on document {d}")).unwrap_or_default();
    out!("run {} of {} (version {}){on}: {}", run.id, run.bot, run.bot_version, run.state);
    if let Some(e) = &run.error {
        out!("  {e}");
    }
    if let Some(w) = &run.waiting {
        out!("  {}", w.message);
    }
    for s in steps {
        let id = s.step_id.as_deref().map(|i| format!(" {i}")).unwrap_or_default();
        let took = s.duration_ms.map(|d| format!(" {d} ms")).unwrap_or_default();
        out!("  step {}{id} ({}, line {}) attempt {}: {}{took}", s.path, s.kind, s.line, s.attempt, s.state);
        if let Some(r) = s.request.filter(|r| !r.is_null()) {
            out!("    request  {r}");
        }
        if let Some(r) = s.response.filter(|r| !r.is_null()) {
            out!("    response {r}");
        }
        if let Some(o) = s.output.filter(|o| o.as_object().is_some_and(|m| !m.is_empty())) {
            let mut o = o;
            // The body is in the response; the output line shows what later steps read.
            if let Some(m) = o.as_object_mut() {
                m.remove("body");
            }
            out!("    output   {o}");
        }
        if let Some(e) = s.error {
            out!("    error    {e}");
        }
    }
    Ok(())
}

/// `clerk bots run NAME [--doc ID]`: queues a manual run of a bot in force. With no daemon on
/// the data folder the run executes here and now; with one, the daemon runs it and this waits
/// for the outcome.
pub async fn run_now(
    s: &Settings,
    store: Store,
    active: Arc<Active>,
    bot: Arc<Bot>,
    doc: Option<i64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let by = std::env::var("USER").unwrap_or_else(|_| "clerk".into());
    let id = clerk::runs::start(&store, &active, &bot, doc, &by).await?;

    match clerk::daemon::lock_data_dir(&s.data) {
        Ok(_lock) => {
            let active = Arc::new(RwLock::new(active));
            let runner = Runner::new(store.clone(), active, s.secrets_file.clone(), 1);
            let run = store
                .claim_run_by_id(id, &runner.owner, LEASE_MS)
                .await?
                .context("the run was taken by another process")?;
            // Never stopped: the run ends on its own (the handle lives until it has).
            let (_handle, stop_rx) = clerk::shutdown::Shutdown::new();
            runner.execute(run, stop_rx).await;
        }
        Err(_) => {
            eprintln!("run {id} queued; the running daemon executes it");
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let (r, _) = store.run(id).await?.context("the run vanished")?;
                if !matches!(r.state, RunState::Queued | RunState::Running) {
                    break;
                }
            }
        }
    }
    let (r, steps) = store.run(id).await?.context("the run vanished")?;
    if json {
        let mut v = serde_json::to_value(&r)?;
        v["steps"] = serde_json::to_value(&steps)?;
        out!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print_run(&store, id).await?;
    }
    Ok(if r.state == RunState::Succeeded { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

//! `clerk bots …`: the bots in the definitions folder, run by hand or dry.

use clap::Subcommand;
use anyhow::Context;
use clerk::config::Settings;
use clerk::read::pool::Readers;
use clerk::{definitions, pipeline};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum BotsCmd {
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run a bot by hand. With --dry-run every step's request is rendered (secrets masked) and
    /// nothing is sent.
    Run {
        name: String,
        /// A stored document to run on.
        #[arg(long, conflicts_with = "file")]
        doc: Option<i64>,
        /// A file to read and classify first (nothing is stored).
        #[arg(long)]
        file: Option<PathBuf>,
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

async fn bot_dry_run(
    s: &Settings,
    name: &str,
    doc: Option<i64>,
    file: Option<PathBuf>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use clerk::bots::dry_run;
    let loaded = definitions::load_dir(&s.definitions, None);
    let bots = loaded.definitions.bots();
    let bot = bots.iter().find(|b| b.name == name).with_context(|| {
        let names: Vec<_> = bots.iter().map(|b| b.name.as_str()).collect();
        format!("no bot named `{name}` in {}; bots: {}", s.definitions.display(), names.join(", "))
    })?;
    if !dry_run {
        if file.is_some() {
            anyhow::bail!("--file is for dry runs; a real run works on a stored document (--doc ID)");
        }
        let store = super::open_store(s).await?;
        return super::runs::run_now(s, store, bot.clone(), doc, json).await;
    }
    let doc_json = match (doc, file) {
        (Some(id), _) => {
            let store = super::open_store(s).await?;
            store.document_for_bot(id).await?.with_context(|| format!("document {id} does not exist"))?
        }
        (None, Some(path)) => {
            std::fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let readers = Readers::new(s.reader_settings());
            let classifier = loaded.definitions.classifier();
            let o = pipeline::classify_file(&path, &name, &readers, &classifier).await.outcome;
            readers.stop().await;
            dry_run::file_doc(&o, &name)
        }
        (None, None) => dry_run::no_doc(),
    };
    let run = dry_run::dry_run(bot, doc_json, s.secrets_file.as_deref()).map_err(anyhow::Error::msg)?;
    for name in &run.missing_secrets {
        eprintln!("warning: secret {name} is not set (CLERK_SECRET_{name} or the secrets file)");
    }
    let out = if json {
        serde_json::to_string_pretty(&run.steps_json())?
    } else {
        let mut text = format!("dry run of {} (version {}); nothing is sent\n", bot.name, bot.version);
        for r in &run.steps {
            let id = r.id.as_deref().map(|i| format!(" {i}")).unwrap_or_default();
            let cond = r.condition.as_deref().map(|c| format!(" if {c}")).unwrap_or_default();
            let kind = if r.block { "" } else { r.kind.as_str() };
            text.push_str(&format!("step {}{id}: {kind}{cond}\n", r.number));
            match &r.error {
                Some(e) => text.push_str(&format!("  error: {e}\n")),
                None if r.summary.as_object().is_some_and(|m| m.is_empty()) || r.summary.is_null() => {}
                None => text.push_str(&format!("  {}\n", r.summary)),
            }
        }
        run.redactor.redact(&text)
    };
    out!("{out}");
    Ok(if run.failed() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub async fn run(s: &Settings, cmd: BotsCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        BotsCmd::List { json } => {
            let loaded = definitions::load_dir(&s.definitions, None);
            for p in loaded.problems.iter().filter(|p| !p.warning) {
                eprintln!("{p}");
            }
            let bots = loaded.definitions.bots();
            if json {
                let list: Vec<_> = bots
                    .iter()
                    .map(|b| serde_json::json!({
                        "name": b.name, "description": b.description, "file": b.file, "version": b.version,
                        "trigger": b.trigger, "concurrency": b.concurrency, "steps": b.steps.len(), "secrets": b.secrets,
                    }))
                    .collect();
                out!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for b in bots {
                    let on = match &b.trigger {
                        clerk::bots::Trigger::Doctype { doctype, .. } => format!("on {doctype}"),
                        clerk::bots::Trigger::Schedule { cron } => format!("at \"{cron}\""),
                        clerk::bots::Trigger::Manual => "manual".into(),
                    };
                    out!("{:<28} {:<22} {} step(s)  {}", b.name, on, b.steps.len(), b.file.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        BotsCmd::Run { name, doc, file, dry_run, json } => {
            bot_dry_run(s, &name, doc, file, dry_run, json).await
        }
    }
}

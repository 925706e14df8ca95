//! `clerk bots …`: the bots in the definitions folder, run by hand or dry.

use clap::Subcommand;
use anyhow::Context;
use clerk::config::Settings;
use clerk::read::pool::Readers;
use clerk::definitions;
use clerk::definitions::Active;
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

async fn bot_run(
    s: &Settings,
    name: &str,
    doc: Option<i64>,
    file: Option<PathBuf>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use clerk::runs::{dry, DryDocument};
    if !dry_run {
        if file.is_some() {
            anyhow::bail!("--file is for dry runs; a real run works on a stored document (--doc ID)");
        }
        // A real run runs what the daemon has in force.
        let store = super::open_store(s).await?;
        let active = Active::in_force(&store, &s.definitions).await?;
        let bot = clerk::runs::bot(&active, name)?;
        return super::runs::run_now(s, store, active, bot, doc, json).await;
    }
    // A dry run tries the files as they are on disk, as `clerk check` reads them: what is being
    // written.
    let active = Active::new(definitions::load_dir(&s.definitions, None).definitions);
    let bot = clerk::runs::bot(&active, name).map_err(|e| anyhow::anyhow!("{e} (in {})", s.definitions.display()))?;
    let store = match doc {
        Some(_) => Some(super::open_store(s).await?),
        None => None,
    };
    let readers = Readers::new(s.reader_settings());
    let name_of = |p: &PathBuf| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file_name = file.as_ref().map(name_of).unwrap_or_default();
    let on = match (&store, doc, &file) {
        (Some(store), Some(id), _) => DryDocument::Stored(store, id),
        (_, _, Some(path)) => {
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            DryDocument::File(path, &file_name)
        }
        _ => DryDocument::None,
    };
    let tried = dry(&active, &readers, s.secrets_file.as_deref(), &bot, on).await;
    readers.stop().await;
    let (_, run) = tried?;
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
            bot_run(s, &name, doc, file, dry_run, json).await
        }
    }
}
